// The routing service's gRPC API (Route, Explain) over the current snapshot,
// and the ServiceApp that the shared runtime drives.
//
// Requests run on gRPC's callback threads; each takes the current snapshot
// (one atomic shared_ptr load) and decides without locks. A reload builds the
// new snapshot off the request path and swaps it in.
#ifndef TRUNKLINE_SERVICES_ROUTING_ROUTING_SERVICE_H_
#define TRUNKLINE_SERVICES_ROUTING_ROUTING_SERVICE_H_

#include <memory>

#include "prometheus/counter.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "services/common/service_runtime.h"
#include "services/routing/arena_allocator.h"
#include "services/routing/routing_snapshot.h"
#include "trunkline/v1/routing.grpc.pb.h"

namespace trunkline::routing {

// Holds the snapshot in use. Readers never block writers or each other
// beyond the atomic load.
class SnapshotStore {
 public:
  std::shared_ptr<const RoutingSnapshot> Get() const {
    return std::atomic_load(&snapshot_);
  }
  void Set(std::shared_ptr<const RoutingSnapshot> snapshot) {
    std::atomic_store(&snapshot_, std::move(snapshot));
  }

 private:
  std::shared_ptr<const RoutingSnapshot> snapshot_;
};

class RoutingService final : public v1::Routing::CallbackService {
 public:
  RoutingService(const SnapshotStore* store, prometheus::Registry* registry);

  grpc::ServerUnaryReactor* Route(grpc::CallbackServerContext* context,
                                  const v1::RouteRequest* request,
                                  v1::RouteDecision* response) override;
  grpc::ServerUnaryReactor* Explain(grpc::CallbackServerContext* context,
                                    const v1::RouteRequest* request,
                                    v1::RouteExplanation* response) override;

 private:
  void Count(const v1::RouteDecision& decision, const absl::Status& status,
             double seconds);

  const SnapshotStore* store_;
  ArenaAllocator<v1::RouteRequest, v1::RouteDecision> route_allocator_;
  ArenaAllocator<v1::RouteRequest, v1::RouteExplanation> explain_allocator_;
  prometheus::Counter* routed_;
  prometheus::Counter* to_uc_;
  prometheus::Counter* rejected_;
  prometheus::Counter* invalid_;
  prometheus::Histogram* latency_;
};

class RoutingApp final : public ServiceApp {
 public:
  explicit RoutingApp(prometheus::Registry* registry)
      : service_(&store_, registry) {}
  absl::Status ApplyTopology(
      std::shared_ptr<const LoadedTopology> topology) override;
  std::vector<grpc::Service*> GrpcServices() override { return {&service_}; }

 private:
  SnapshotStore store_;
  RoutingService service_;
};

absl::StatusOr<std::unique_ptr<ServiceApp>> CreateRoutingApp(
    const ServiceContext& context);

}  // namespace trunkline::routing

#endif  // TRUNKLINE_SERVICES_ROUTING_ROUTING_SERVICE_H_
