// What every Trunkline service does around its own job, in one place: read
// the shared flags, set up logging and metrics, load and watch the topology,
// serve the API and the admin API (health and reflection included), handle
// signals, drain and stop. A service's main.cc is then flags and wiring:
//
//   int main(int argc, char** argv) {
//     trunkline::BlockServiceSignals();
//     absl::ParseCommandLine(argc, argv);
//     return trunkline::RunService("routing", trunkline::kRoutingDefaults,
//                                  &routing::CreateRoutingApp);
//   }
#ifndef TRUNKLINE_SERVICES_COMMON_SERVICE_RUNTIME_H_
#define TRUNKLINE_SERVICES_COMMON_SERVICE_RUNTIME_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/impl/codegen/service_type.h"
#include "grpcpp/server_builder.h"
#include "prometheus/registry.h"
#include "services/common/admin_auth.h"
#include "services/common/flags.h"
#include "services/common/topology/loader.h"
#include "trunkline/v1/admin.pb.h"

namespace trunkline {

// One service's own logic, as the runtime sees it.
class ServiceApp {
 public:
  virtual ~ServiceApp() = default;
  // A new, valid topology: build and swap the service's snapshot, or refuse
  // it (the previous one stays). Called at start and on every reload.
  virtual absl::Status ApplyTopology(
      std::shared_ptr<const LoadedTopology> topology) = 0;
  // Services served on --grpc_address.
  virtual std::vector<grpc::Service*> GrpcServices() { return {}; }
  // For services on the async API: register them and add completion queues
  // before the server is built; poll them once it runs; shut the queues down
  // and join their threads once it has stopped.
  virtual void ConfigureServer(grpc::ServerBuilder* builder) {}
  virtual void ServerStarted() {}
  // Just before the API server shuts down (it waits a grace period for
  // calls in flight): end what would otherwise hold it, such as streams.
  virtual void ServerStopping() {}
  virtual void ServerStopped() {}
  // Services served on --admin_address besides the node Admin service (the
  // signaling service's call and trunk administration). They must check
  // credentials with ServiceContext::admin_auth on every call.
  virtual std::vector<grpc::Service*> AdminServices() { return {}; }
  // Called on SIGTERM; the runtime stops once `done` runs.
  virtual void Drain(const std::function<void()>& done) { done(); }
  // The service's part of the node status's load (admin GetStatus): its
  // work in progress (`active`, `active_unit`) and its own figures; the
  // runtime has filled in the process's. Runs on a gRPC thread while the
  // service works: read only what is safe to read from any thread (atomics,
  // immutable snapshots), never wait for another thread.
  virtual void FillLoad(v1::NodeLoad* load) {}
};

struct ServiceContext {
  std::string service;
  ServiceFlags flags;
  std::shared_ptr<prometheus::Registry> registry;
  // Checks admin credentials; lives as long as the service runs.
  const AdminAuth* admin_auth = nullptr;
};

using ServiceAppFactory =
    std::function<absl::StatusOr<std::unique_ptr<ServiceApp>>(
        const ServiceContext&)>;

// Runs the service until SIGINT, or SIGTERM and the drain. Returns the exit
// code: 0 after a clean stop, 1 when the flags or the topology are bad or a
// port cannot be bound (with the reasons on stderr).
int RunService(absl::string_view service, const ServiceAddresses& defaults,
               const ServiceAppFactory& factory);

}  // namespace trunkline

#endif  // TRUNKLINE_SERVICES_COMMON_SERVICE_RUNTIME_H_
