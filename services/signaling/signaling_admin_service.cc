#include "services/signaling/signaling_admin_service.h"

#include <atomic>
#include <chrono>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
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

// A Trace stream that ends at once with `status`.
class FinishedStream final : public grpc::ServerWriteReactor<v1::TraceEvent> {
 public:
  explicit FinishedStream(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

// One Trace subscriber. The hub (loop thread) pushes matching events into
// a bounded queue; one write at a time drains it on gRPC's threads. When
// the client cancels or goes away, the subscription is dropped on the loop
// and only then is the stream finished, so the hub never holds a pointer to
// a finished reactor; OnDone deletes it.
class TraceStream final : public grpc::ServerWriteReactor<v1::TraceEvent>,
                          public TraceSubscriber {
 public:
  TraceStream(SipStack* stack, SipTraceHub* hub, TraceFilter filter)
      : stack_(stack), hub_(hub), queue_(kCapacity) {
    stack_->Post([this, filter = std::move(filter)] {
      id_ = hub_->Subscribe(filter, this);
    });
  }

  // Loop thread.
  void OnTraceEvent(v1::TraceEvent event) override {
    queue_.Push(std::move(event));
    MaybeWrite();
  }

  void OnWriteDone(bool ok) override {
    bool finish = false;
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (finishing_ && !finished_) finish = finished_ = true;
    }
    if (finish) {
      Finish(grpc::Status::OK);
      return;
    }
    if (!ok) {
      Stop();  // the client is gone
      return;
    }
    MaybeWrite();
  }
  void OnCancel() override { Stop(); }
  void OnDone() override { delete this; }

 private:
  static constexpr size_t kCapacity =
      SignalingAdminService::kTraceQueueCapacity;

  void MaybeWrite() {
    {
      absl::MutexLock lock(&mu_);
      if (writing_ || finishing_) return;
      // Tell the reader what it missed before what comes next.
      if (const uint64_t dropped = queue_.dropped(); dropped > reported_) {
        current_.Clear();
        current_.set_unix_ms(absl::ToUnixMillis(absl::Now()));
        current_.set_summary(absl::StrCat(dropped - reported_,
                                          " messages dropped: the client "
                                          "reads too slowly"));
        reported_ = dropped;
      } else if (std::optional<v1::TraceEvent> e = queue_.Pop()) {
        current_ = *std::move(e);
      } else {
        return;
      }
      writing_ = true;
    }
    // Outside the lock: a reaction may run before StartWrite returns.
    StartWrite(&current_);
  }

  // Any thread, once: unsubscribe on the loop, then finish.
  void Stop() {
    if (stopping_.exchange(true)) return;
    stack_->Post([this] {
      hub_->Unsubscribe(id_);
      bool finish = false;
      {
        absl::MutexLock lock(&mu_);
        finishing_ = true;
        if (!writing_ && !finished_) finish = finished_ = true;
      }
      if (finish) Finish(grpc::Status::OK);
    });
  }

  SipStack* const stack_;
  SipTraceHub* const hub_;
  TraceQueue queue_;
  int id_ = 0;  // loop thread
  std::atomic<bool> stopping_{false};
  absl::Mutex mu_;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t reported_ ABSL_GUARDED_BY(mu_) = 0;
  // The event being written; changed only while no write is pending.
  v1::TraceEvent current_;
};

}  // namespace

SignalingAdminService::SignalingAdminService(
    const AdminAuth* auth, SipStack* stack, B2bua* b2bua,
    GatewayMonitor* monitor,
    std::shared_ptr<v1::Routing::StubInterface> routing, SipTraceHub* trace,
    MediaController* media, const TrunkRegistrar* registrar)
    : auth_(auth),
      stack_(stack),
      b2bua_(b2bua),
      monitor_(monitor),
      routing_(std::move(routing)),
      trace_(trace),
      media_(media),
      registrar_(registrar) {}

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
    const GatewayMonitor::TrunkState& state, const B2bua& b2bua,
    const TrunkRegistrar* registrar) {
  v1::TrunkStatus t;
  t.set_trunk(state.info.name);
  t.set_gateway(state.info.gateway);
  t.set_state(!state.enabled ? v1::TRUNK_STATE_DISABLED
              : state.up     ? v1::TRUNK_STATE_UP
                             : v1::TRUNK_STATE_DOWN);
  t.set_options_rtt_ms(state.rtt_seconds * 1000);
  t.set_state_since_unix_ms(absl::ToUnixMillis(state.since));
  t.set_active_calls(b2bua.CallsOnTrunk(state.info.name));
  // The topology's limit; else the one routing last applied.
  t.set_max_concurrent_calls(state.info.max_concurrent_calls > 0
                                 ? state.info.max_concurrent_calls
                                 : b2bua.LimitFor(state.info.name));
  const B2bua::TrunkCounters c = b2bua.CountersFor(state.info.name);
  t.set_attempts(c.attempts);
  t.set_answered(c.answered);
  t.set_answer_seizure_ratio(c.attempts == 0
                                 ? 0.0
                                 : static_cast<double>(c.answered) /
                                       static_cast<double>(c.attempts));
  for (const auto& [reason, n] : c.failovers_by_reason) {
    (*t.mutable_failovers_by_reason())[reason] = n;
  }
  if (const TrunkRegistrar::Registration* r =
          registrar != nullptr ? registrar->Find(state.info.name) : nullptr) {
    v1::TrunkRegistration* out = t.mutable_registration();
    out->set_registrar(r->info.registrar_uri);
    out->set_aor(r->info.aor);
    out->set_registered(r->registered);
    out->set_expires_unix_ms(absl::ToUnixMillis(r->expires));
    out->set_last_error(r->last_error);
  }
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
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (auth_ != nullptr) {
    if (grpc::Status s = auth_->Check(*context, "GetCall"); !s.ok()) {
      reactor->Finish(s);
      return reactor;
    }
  }
  if (request->call_id().empty()) {
    reactor->Finish(Invalid("call_id is required"));
    return reactor;
  }
  // On the loop: the call, then (anchored calls) its media instance's
  // figures, whose answer comes back on the loop and finishes the reactor.
  // Nothing waits: not the loop, not this gRPC thread.
  stack_->Post([this, request, response, reactor] {
    absl::StatusOr<v1::CallDetail> call = b2bua_->GetCall(request->call_id());
    if (!call.ok()) {
      reactor->Finish(ToGrpcStatus(call.status()));
      return;
    }
    *response = *std::move(call);
    if (response->media_instance().empty() || media_ == nullptr) {
      reactor->Finish(grpc::Status::OK);
      return;
    }
    media_->Query(request->call_id(), [response, reactor](
                                          absl::StatusOr<v1::QueryResponse> q) {
      if (q.ok()) {
        *response->mutable_media_streams() = std::move(*q->mutable_streams());
      } else {
        // Partial data beats none: the call as signaling
        // knows it, and why its media figures are missing.
        response->set_media_error(std::string(q.status().message()));
      }
      reactor->Finish(grpc::Status::OK);
    });
  });
  return reactor;
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
      *response->add_trunks() = ToStatus(*s, *b2bua_, registrar_);
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
    *response = ToStatus(*s, *b2bua_, registrar_);
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
    *response =
        ToStatus(*monitor_->Find(request->trunk()), *b2bua_, registrar_);
    return grpc::Status::OK;
  });
}

grpc::ServerWriteReactor<v1::TraceEvent>* SignalingAdminService::Trace(
    grpc::CallbackServerContext* context, const v1::TraceRequest* request) {
  if (auth_ != nullptr) {
    if (grpc::Status s = auth_->Check(*context, "Trace"); !s.ok()) {
      return new FinishedStream(s);
    }
  }
  absl::StatusOr<TraceFilter> filter = TraceFilter::FromRequest(*request);
  if (!filter.ok()) return new FinishedStream(ToGrpcStatus(filter.status()));
  if (trace_ == nullptr) {
    return new FinishedStream(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                           "SIP trace is not available"));
  }
  return new TraceStream(stack_, trace_, *std::move(filter));
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
