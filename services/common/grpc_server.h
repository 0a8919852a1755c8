// A gRPC server with what every Trunkline API needs: the standard health
// service (for Kubernetes probes) and server reflection (so any gRPC tool can
// explore the API).
#ifndef TRUNKLINE_SERVICES_COMMON_GRPC_SERVER_H_
#define TRUNKLINE_SERVICES_COMMON_GRPC_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"

namespace trunkline {

class GrpcServer {
 public:
  using Configure = std::function<void(grpc::ServerBuilder*)>;
  // Binds `address` ("host:port"; port 0 picks a free one) and serves
  // `services`, which must outlive the server. `configure`, when set, adds
  // to the builder (async services and their completion queues).
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(
      const std::string& address, const std::vector<grpc::Service*>& services,
      const std::shared_ptr<grpc::ServerCredentials>& credentials = nullptr,
      const Configure& configure = nullptr);
  ~GrpcServer();

  // The port actually bound.
  int port() const { return port_; }
  // Health: SERVING or NOT_SERVING (while draining).
  void SetServing(bool serving);
  // Stops taking calls; in-flight calls get up to `grace` to finish.
  void Shutdown(absl::Duration grace);

 private:
  GrpcServer(std::unique_ptr<grpc::Server> server, int port)
      : server_(std::move(server)), port_(port) {}
  std::unique_ptr<grpc::Server> server_;
  int port_;
  bool shut_down_ = false;
};

}  // namespace trunkline

#endif  // TRUNKLINE_SERVICES_COMMON_GRPC_SERVER_H_
