#include "services/common/node_admin_service.h"

#include "services/common/log.h"
#include "services/common/process_usage.h"

namespace trunkline {

const char* TrunklineVersion() { return TRUNKLINE_VERSION; }

grpc::ServerUnaryReactor* NodeAdminService::GetStatus(
    grpc::CallbackServerContext* context, const v1::GetStatusRequest* request,
    v1::NodeStatus* response) {
  auto* reactor = context->DefaultReactor();
  if (grpc::Status denied = auth_->Check(*context, "GetStatus"); !denied.ok()) {
    reactor->Finish(denied);
    return reactor;
  }
  response->set_service(service_);
  response->set_version(TrunklineVersion());
  response->set_topology_version(watcher_->current()->version);
  response->set_uptime_seconds(absl::ToInt64Seconds(absl::Now() - started_));
  response->set_draining(draining_);
  for (const std::string& e : watcher_->last_errors()) {
    response->add_last_reload_errors(e);
  }
  v1::NodeLoad* load = response->mutable_load();
  // Two small reads of /proc: cheap enough for a callback thread.
  if (absl::StatusOr<ProcessUsage> usage = ReadProcessUsage(); usage.ok()) {
    load->set_cpu_seconds(usage->cpu_seconds);
    load->set_resident_bytes(usage->resident_bytes);
    load->set_threads(usage->threads);
  } else {
    TL_LOG(kDebug, "no process figures for the node status")
        .With("error", std::string(usage.status().message()));
  }
  if (fill_load_) fill_load_(load);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* NodeAdminService::ReloadTopology(
    grpc::CallbackServerContext* context,
    const v1::ReloadTopologyRequest* request,
    v1::ReloadTopologyResponse* response) {
  auto* reactor = context->DefaultReactor();
  if (grpc::Status denied = auth_->Check(*context, "ReloadTopology");
      !denied.ok()) {
    reactor->Finish(denied);
    return reactor;
  }
  // A reload reads a file: small and rare enough for a callback thread.
  ReloadOutcome outcome = watcher_->Reload();
  response->set_applied(outcome.applied);
  response->set_topology_version(outcome.version);
  for (const std::string& e : outcome.errors) response->add_errors(e);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* NodeAdminService::DrainNode(
    grpc::CallbackServerContext* context, const v1::DrainNodeRequest* request,
    v1::DrainNodeResponse* response) {
  auto* reactor = context->DefaultReactor();
  if (grpc::Status denied = auth_->Check(*context, "DrainNode"); !denied.ok()) {
    reactor->Finish(denied);
    return reactor;
  }
  response->set_already_draining(draining_);
  // Answer first: the drain may end the process soon after.
  reactor->Finish(grpc::Status::OK);
  drain_();
  return reactor;
}

}  // namespace trunkline
