#include "services/common/node_admin_service.h"

namespace trunkline {

const char* TrunklineVersion() { return TRUNKLINE_VERSION; }

grpc::ServerUnaryReactor* NodeAdminService::GetStatus(
    grpc::CallbackServerContext* context, const v1::GetStatusRequest* request,
    v1::NodeStatus* response) {
  response->set_service(service_);
  response->set_version(TrunklineVersion());
  response->set_topology_version(watcher_->current()->version);
  response->set_uptime_seconds(absl::ToInt64Seconds(absl::Now() - started_));
  response->set_draining(draining_);
  for (const std::string& e : watcher_->last_errors()) {
    response->add_last_reload_errors(e);
  }
  auto* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* NodeAdminService::ReloadTopology(
    grpc::CallbackServerContext* context,
    const v1::ReloadTopologyRequest* request,
    v1::ReloadTopologyResponse* response) {
  // A reload reads a file: small and rare enough for a callback thread.
  ReloadOutcome outcome = watcher_->Reload();
  response->set_applied(outcome.applied);
  response->set_topology_version(outcome.version);
  for (const std::string& e : outcome.errors) response->add_errors(e);
  auto* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace trunkline
