// The node part of the admin API that every service serves: status and
// topology reload.
#ifndef TRUNKLINE_SERVICES_COMMON_NODE_ADMIN_SERVICE_H_
#define TRUNKLINE_SERVICES_COMMON_NODE_ADMIN_SERVICE_H_

#include <atomic>
#include <string>

#include "absl/time/time.h"
#include "services/common/topology/topology_watcher.h"
#include "trunkline/v1/admin.grpc.pb.h"

namespace trunkline {

class NodeAdminService final : public v1::Admin::CallbackService {
 public:
  NodeAdminService(std::string service, TopologyWatcher* watcher)
      : service_(std::move(service)),
        watcher_(watcher),
        started_(absl::Now()) {}

  void set_draining(bool draining) { draining_ = draining; }

  grpc::ServerUnaryReactor* GetStatus(grpc::CallbackServerContext* context,
                                      const v1::GetStatusRequest* request,
                                      v1::NodeStatus* response) override;
  grpc::ServerUnaryReactor* ReloadTopology(
      grpc::CallbackServerContext* context,
      const v1::ReloadTopologyRequest* request,
      v1::ReloadTopologyResponse* response) override;

 private:
  const std::string service_;
  TopologyWatcher* const watcher_;
  const absl::Time started_;
  std::atomic<bool> draining_{false};
};

// The version compiled into the binaries.
const char* TrunklineVersion();

}  // namespace trunkline

#endif  // TRUNKLINE_SERVICES_COMMON_NODE_ADMIN_SERVICE_H_
