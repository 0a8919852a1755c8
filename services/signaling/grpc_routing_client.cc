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
#include "trunkline/v1/health_check.grpc.pb.h"

namespace trunkline::signaling {

using HealthStub = grpc::health::v1::Health::Stub;
using grpc::health::v1::HealthCheckResponse;

// What the calls in flight and the probes share with the client. The
// counters are the completion thread's; the flags are read on the SIP loop.
struct GrpcRoutingClient::Reachability
    : std::enable_shared_from_this<Reachability> {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Routing::Stub> routing;
  std::unique_ptr<HealthStub> health;
  grpc::CompletionQueue* queue = nullptr;
  absl::Duration timeout;
  std::string address;
  AnsweringChanged answering_changed;

  std::atomic<bool> stopped{false};
  std::atomic<bool> failing_fast{false};
  int unanswered = 0;    // Routes in a row that routing did not answer
  bool probing = false;  // a health check in flight

  // On the completion thread: a Route or probe that routing answered.
  void Answered() {
    unanswered = 0;
    if (failing_fast.exchange(false)) {
      // A warning like the one that said it stopped: whoever filters on
      // warnings sees both.
      TL_LOG(kWarning, "routing service answers again: new calls are routed")
          .With("routing", address);
      if (answering_changed) answering_changed(true);
    }
  }

  // On the completion thread: a Route that routing did not answer.
  void Unanswered(const grpc::Status& status) {
    if (++unanswered < kFailFastAfter || failing_fast.exchange(true)) return;
    TL_LOG(kWarning,
           "routing service not answering: new calls get 503 at once until "
           "it answers a health check")
        .With("routing", address)
        .With("routes_unanswered", unanswered)
        .With("error", status.error_message());
    if (answering_changed) answering_changed(false);
    StartProbe();
  }

  void StartProbe();
  void Probed(const grpc::Status& status, const HealthCheckResponse& response) {
    probing = false;
    if (status.ok() && response.status() == HealthCheckResponse::SERVING) {
      Answered();
    } else if (failing_fast.load()) {
      StartProbe();
    }
  }
};

namespace {

bool Unanswered(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
         status.error_code() == grpc::StatusCode::UNAVAILABLE;
}

// One Route in flight; the completion thread deletes it once finished.
struct RouteCall final : GrpcCompletionThread::Call {
  grpc::ClientContext context;
  v1::RouteDecision decision;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<v1::RouteDecision>> reader;
  RoutingClient::Done done;
  GrpcRoutingClient::Poster post;
  std::shared_ptr<GrpcRoutingClient::Reachability> reachability;

  void Finished() override {
    if (Unanswered(status)) {
      reachability->Unanswered(status);
    } else {
      reachability->Answered();
    }
    // No answer within the deadline, whether routing is slow or gone (the
    // call waited for it), is routing being unavailable: 503, not 504.
    const absl::StatusCode code =
        status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED
            ? absl::StatusCode::kUnavailable
            : FromGrpcStatus(status).code();
    absl::StatusOr<v1::RouteDecision> result =
        status.ok() ? absl::StatusOr<v1::RouteDecision>(std::move(decision))
                    : absl::StatusOr<v1::RouteDecision>(absl::Status(
                          code, absl::StrCat("routing service: ",
                                             status.error_message())));
    post([done = std::move(done), result = std::move(result)]() {
      done(result);
    });
  }
};

// One health check of routing while calls fail fast.
struct ProbeCall final : GrpcCompletionThread::Call {
  grpc::ClientContext context;
  HealthCheckResponse response;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<HealthCheckResponse>> reader;
  std::shared_ptr<GrpcRoutingClient::Reachability> reachability;

  void Finished() override { reachability->Probed(status, response); }
};

}  // namespace

void GrpcRoutingClient::Reachability::StartProbe() {
  if (probing || stopped.load()) return;
  probing = true;
  auto* probe = new ProbeCall;
  // The probe holds the state (and so the stubs and channel) alive.
  probe->reachability = shared_from_this();
  probe->context.set_deadline(std::chrono::system_clock::now() +
                              absl::ToChronoMilliseconds(timeout));
  // Waiting for the channel is what makes gRPC's poll engine reconnect it.
  probe->context.set_wait_for_ready(true);
  probe->reader = health->AsyncCheck(
      &probe->context, grpc::health::v1::HealthCheckRequest(), queue);
  probe->reader->Finish(&probe->response, &probe->status,
                        static_cast<GrpcCompletionThread::Tag*>(probe));
}

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
  r.channel = latency != nullptr
                  ? InstrumentedChannel(
                        address, grpc::InsecureChannelCredentials(), latency,
                        GrpcCompletionThread::CallPathArguments())
                  : grpc::CreateCustomChannel(
                        address, grpc::InsecureChannelCredentials(),
                        GrpcCompletionThread::CallPathArguments());
  r.routing = v1::Routing::NewStub(r.channel);
  r.health = grpc::health::v1::Health::NewStub(r.channel);
  r.queue = completions_->queue();
  r.timeout = timeout;
  r.address = address;
  r.answering_changed = std::move(answering_changed);
}

GrpcRoutingClient::~GrpcRoutingClient() { reachability_->stopped = true; }

bool GrpcRoutingClient::failing_fast() const {
  return reachability_->failing_fast.load();
}

void GrpcRoutingClient::Route(const v1::RouteRequest& request, Done done) {
  if (reachability_->failing_fast.load()) {
    // Later, on the loop, as every answer comes.
    post_([done = std::move(done), address = reachability_->address] {
      done(absl::UnavailableError(absl::StrCat(
          "routing service at ", address,
          " is not answering; calls are refused until it answers again")));
    });
    return;
  }
  auto* call = new RouteCall;
  call->done = std::move(done);
  call->post = post_;
  call->reachability = reachability_;
  call->context.set_deadline(
      std::chrono::system_clock::now() +
      absl::ToChronoMilliseconds(reachability_->timeout));
  // A routing service that is restarting is waited for, up to the
  // deadline, rather than failing the call at once; and under gRPC's poll
  // engine a waiting call is what drives the channel's reconnection (a
  // channel with no call pending is not polled, so calls failed fast for
  // seconds after routing was back).
  call->context.set_wait_for_ready(true);
  call->reader = reachability_->routing->AsyncRoute(&call->context, request,
                                                    completions_->queue());
  call->reader->Finish(&call->decision, &call->status,
                       static_cast<GrpcCompletionThread::Tag*>(call));
}

}  // namespace trunkline::signaling
