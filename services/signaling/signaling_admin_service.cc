#include "services/signaling/signaling_admin_service.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/common/error_table.h"

namespace trunkline::signaling {
namespace {

grpc::Status UnknownTrunk(const std::string& trunk) {
  return grpc::Status(grpc::StatusCode::NOT_FOUND,
                      absl::StrCat("no trunk \"", trunk, "\" in this pool"));
}

grpc::Status Invalid(const std::string& why) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, why);
}

}  // namespace

SignalingAdminService::SignalingAdminService(
    const AdminAuth* auth, SipStack* stack, B2bua* b2bua,
    GatewayMonitor* monitor,
    std::shared_ptr<v1::Routing::StubInterface> routing)
    : auth_(auth),
      stack_(stack),
      b2bua_(b2bua),
      monitor_(monitor),
      routing_(std::move(routing)) {}

grpc::ServerUnaryReactor* SignalingAdminService::OnLoop(
    grpc::CallbackServerContext* context, const char* method,
    std::function<grpc::Status()> work) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (auth_ != nullptr) {
    if (grpc::Status s = auth_->Check(*context, method); !s.ok()) {
      reactor->Finish(s);
      return reactor;
    }
  }
  // The response object lives until Finish, which the loop calls.
  stack_->Post([reactor, work = std::move(work)] { reactor->Finish(work()); });
  return reactor;
}

v1::TrunkStatus SignalingAdminService::ToStatus(
    const GatewayMonitor::TrunkState& state, const B2bua& b2bua) {
  v1::TrunkStatus t;
  t.set_trunk(state.info.name);
  t.set_gateway(state.info.gateway);
  t.set_state(!state.enabled ? v1::TRUNK_STATE_DISABLED
              : state.up     ? v1::TRUNK_STATE_UP
                             : v1::TRUNK_STATE_DOWN);
  t.set_options_rtt_ms(state.rtt_seconds * 1000);
  t.set_state_since_unix_ms(absl::ToUnixMillis(state.since));
  t.set_active_calls(b2bua.CallsOnTrunk(state.info.name));
  t.set_max_concurrent_calls(state.info.max_concurrent_calls);
  return t;
}

grpc::ServerUnaryReactor* SignalingAdminService::ListCalls(
    grpc::CallbackServerContext* context, const v1::ListCallsRequest* request,
    v1::ListCallsResponse* response) {
  if (!v1::CallDirection_IsValid(request->direction()) ||
      !v1::CallState_IsValid(request->state())) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    if (auth_ != nullptr) {
      if (grpc::Status s = auth_->Check(*context, "ListCalls"); !s.ok()) {
        reactor->Finish(s);
        return reactor;
      }
    }
    reactor->Finish(Invalid("unknown direction or state in the filter"));
    return reactor;
  }
  return OnLoop(context, "ListCalls", [this, request, response] {
    for (v1::CallSummary& c : b2bua_->ListCalls(*request)) {
      *response->add_calls() = std::move(c);
    }
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* SignalingAdminService::GetCall(
    grpc::CallbackServerContext* context, const v1::GetCallRequest* request,
    v1::CallDetail* response) {
  return OnLoop(context, "GetCall", [this, request, response] {
    if (request->call_id().empty()) return Invalid("call_id is required");
    absl::StatusOr<v1::CallDetail> call = b2bua_->GetCall(request->call_id());
    if (!call.ok()) return ToGrpcStatus(call.status());
    *response = *std::move(call);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* SignalingAdminService::HangupCall(
    grpc::CallbackServerContext* context, const v1::HangupCallRequest* request,
    v1::HangupCallResponse*) {
  return OnLoop(context, "HangupCall", [this, request] {
    if (request->call_id().empty()) return Invalid("call_id is required");
    return ToGrpcStatus(b2bua_->Hangup(request->call_id(), request->reason()));
  });
}

grpc::ServerUnaryReactor* SignalingAdminService::ListTrunks(
    grpc::CallbackServerContext* context, const v1::ListTrunksRequest*,
    v1::ListTrunksResponse* response) {
  return OnLoop(context, "ListTrunks", [this, response] {
    for (const GatewayMonitor::TrunkState* s : monitor_->All()) {
      *response->add_trunks() = ToStatus(*s, *b2bua_);
    }
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* SignalingAdminService::GetTrunk(
    grpc::CallbackServerContext* context, const v1::GetTrunkRequest* request,
    v1::TrunkStatus* response) {
  return OnLoop(context, "GetTrunk", [this, request, response] {
    const GatewayMonitor::TrunkState* s = monitor_->Find(request->trunk());
    if (s == nullptr) return UnknownTrunk(request->trunk());
    *response = ToStatus(*s, *b2bua_);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* SignalingAdminService::SetTrunkEnabled(
    grpc::CallbackServerContext* context,
    const v1::SetTrunkEnabledRequest* request, v1::TrunkStatus* response) {
  return OnLoop(context, "SetTrunkEnabled", [this, request, response] {
    if (!monitor_->SetEnabled(request->trunk(), request->enabled())) {
      return UnknownTrunk(request->trunk());
    }
    *response = ToStatus(*monitor_->Find(request->trunk()), *b2bua_);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* SignalingAdminService::Explain(
    grpc::CallbackServerContext* context, const v1::RouteRequest* request,
    v1::RouteExplanation* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (auth_ != nullptr) {
    if (grpc::Status s = auth_->Check(*context, "Explain"); !s.ok()) {
      reactor->Finish(s);
      return reactor;
    }
  }
  if (routing_ == nullptr) {
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                 "no routing service configured"));
    return reactor;
  }
  // Our own client context: the server's cannot be reused for an outgoing
  // call. It lives until routing answers.
  auto* client = new grpc::ClientContext;
  client->set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(5));
  routing_->async()->Explain(client, request, response,
                             [reactor, client](grpc::Status status) {
                               delete client;
                               reactor->Finish(status);
                             });
  return reactor;
}

}  // namespace trunkline::signaling
