#include "services/signaling/grpc_routing_client.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "services/common/error_table.h"
#include "services/common/log.h"

namespace trunkline::signaling {

// What the Routes in flight share with the client (they may outlive it).
// `unanswered` is the completion thread's; the flags are also read and set
// on the SIP loop.
struct GrpcRoutingClient::Reachability {
  std::unique_ptr<v1::Routing::Stub> routing;  // on the call-path channel
  absl::Duration timeout;
  std::string address;
  AnsweringChanged answering_changed;

  std::atomic<bool> failing_fast{false};
  // While failing fast: a Route let through to see whether routing answers.
  std::atomic<bool> trial_in_flight{false};
  int unanswered = 0;  // Routes in a row that routing did not answer

  // On the completion thread, for each Route finished.
  void Finished(const grpc::Status& status, bool trial) {
    if (trial) trial_in_flight = false;
    const bool answered =
        status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED &&
        status.error_code() != grpc::StatusCode::UNAVAILABLE;
    if (answered) {
      unanswered = 0;
      if (failing_fast.exchange(false)) {
        // A warning like the one that said it stopped: whoever filters on
        // warnings sees both.
        TL_LOG(kWarning, "routing service answers again: new calls are routed")
            .With("routing", address);
        if (answering_changed) answering_changed(true);
      }
      return;
    }
    if (++unanswered < kFailFastAfter || failing_fast.exchange(true)) return;
    TL_LOG(kWarning,
           "routing service not answering: new calls get 503 at once, one at "
           "a time is tried")
        .With("routing", address)
        .With("routes_unanswered", unanswered)
        .With("error", status.error_message());
    if (answering_changed) answering_changed(false);
  }
};

namespace {

// One Route in flight; the completion thread deletes it once finished.
struct RouteCall final : GrpcCompletionThread::Call {
  grpc::ClientContext context;
  v1::RouteDecision decision;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<v1::RouteDecision>> reader;
  RoutingClient::Done done;
  GrpcRoutingClient::Poster post;
  std::shared_ptr<GrpcRoutingClient::Reachability> reachability;
  bool trial = false;

  void Finished() override {
    reachability->Finished(status, trial);
    // No answer within the deadline, whether routing is slow or gone (the
    // call waited for it), is routing being unavailable: 503, not 504.
    absl::StatusOr<v1::RouteDecision> result(std::move(decision));
    if (!status.ok()) {
      absl::Status failure = GrpcCompletionThread::CallFailure(
          "routing service", reachability->address, status);
      result = absl::Status(
          status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED
              ? absl::StatusCode::kUnavailable
              : failure.code(),
          failure.message());
    }
    post([done = std::move(done), result = std::move(result)]() {
      done(result);
    });
  }
};

}  // namespace

GrpcRoutingClient::GrpcRoutingClient(
    const std::string& address, Poster post, absl::Duration timeout,
    GrpcLatency* latency, std::shared_ptr<GrpcCompletionThread> completions,
    AnsweringChanged answering_changed)
    : completions_(completions != nullptr
                       ? std::move(completions)
                       : std::make_shared<GrpcCompletionThread>()),
      reachability_(std::make_shared<Reachability>()),
      post_(std::move(post)) {
  Reachability& r = *reachability_;
  r.routing = v1::Routing::NewStub(
      GrpcCompletionThread::CallPathChannel(address, latency));
  r.timeout = timeout;
  r.address = address;
  r.answering_changed = std::move(answering_changed);
}

bool GrpcRoutingClient::failing_fast() const {
  return reachability_->failing_fast.load();
}

void GrpcRoutingClient::Route(const v1::RouteRequest& request, Done done) {
  Reachability& r = *reachability_;
  bool trial = false;
  if (r.failing_fast.load()) {
    trial = !r.trial_in_flight.exchange(true);
    if (!trial) {
      // Later, on the loop, as every answer comes.
      // No address: the text reaches the caller in a Reason header.
      post_([done = std::move(done)] {
        done(absl::UnavailableError(
            "routing service is not answering; calls are refused until it "
            "answers again"));
      });
      return;
    }
  }
  auto* call = new RouteCall;
  call->done = std::move(done);
  call->post = post_;
  call->reachability = reachability_;
  call->trial = trial;
  call->context.set_deadline(std::chrono::system_clock::now() +
                             absl::ToChronoMilliseconds(r.timeout));
  // A routing service that is restarting is waited for, up to the
  // deadline, rather than failing the call at once; and under gRPC's poll
  // engine a waiting call is what drives the channel's reconnection (a
  // channel with no call pending is not polled, so calls failed fast for
  // seconds after routing was back).
  call->context.set_wait_for_ready(true);
  call->reader =
      r.routing->AsyncRoute(&call->context, request, completions_->queue());
  call->reader->Finish(&call->decision, &call->status,
                       static_cast<GrpcCompletionThread::Tag*>(call));
}

}  // namespace trunkline::signaling
