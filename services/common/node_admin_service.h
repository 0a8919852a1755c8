// The node part of the admin API that every service serves: status (with the
// node's load), topology reload and drain.
#ifndef TRUNKLINE_SERVICES_COMMON_NODE_ADMIN_SERVICE_H_
#define TRUNKLINE_SERVICES_COMMON_NODE_ADMIN_SERVICE_H_

#include <atomic>
#include <functional>
#include <string>

#include "absl/time/time.h"
#include "services/common/admin_auth.h"
#include "services/common/topology/topology_watcher.h"
#include "trunkline/v1/admin.grpc.pb.h"

namespace trunkline {

class NodeAdminService final : public v1::Admin::CallbackService {
 public:
  // Adds the service's own figures to a status's load; runs on gRPC's
  // threads, so it must be thread-safe and must not block.
  using LoadFiller = std::function<void(v1::NodeLoad*)>;

  // `drain` starts the same drain as SIGTERM (see StartDraining).
  // `fill_load` may be empty (the process's own figures only).
  NodeAdminService(std::string service, TopologyWatcher* watcher,
                   const AdminAuth* auth, std::function<void()> drain,
                   LoadFiller fill_load = nullptr)
      : service_(std::move(service)),
        watcher_(watcher),
        auth_(auth),
        drain_(std::move(drain)),
        fill_load_(std::move(fill_load)),
        started_(absl::Now()) {}

  // True the first time; the caller then drains. Later calls return false.
  bool StartDraining() { return !draining_.exchange(true); }

  grpc::ServerUnaryReactor* GetStatus(grpc::CallbackServerContext* context,
                                      const v1::GetStatusRequest* request,
                                      v1::NodeStatus* response) override;
  grpc::ServerUnaryReactor* ReloadTopology(
      grpc::CallbackServerContext* context,
      const v1::ReloadTopologyRequest* request,
      v1::ReloadTopologyResponse* response) override;
  grpc::ServerUnaryReactor* DrainNode(grpc::CallbackServerContext* context,
                                      const v1::DrainNodeRequest* request,
                                      v1::DrainNodeResponse* response) override;

 private:
  const std::string service_;
  TopologyWatcher* const watcher_;
  const AdminAuth* const auth_;
  const std::function<void()> drain_;
  const LoadFiller fill_load_;
  const absl::Time started_;
  std::atomic<bool> draining_{false};
};

// The version compiled into the binaries.
const char* TrunklineVersion();

}  // namespace trunkline

#endif  // TRUNKLINE_SERVICES_COMMON_NODE_ADMIN_SERVICE_H_
