#include "services/signaling/grpc_routing_client.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "services/common/error_table.h"

namespace trunkline::signaling {
namespace {

// One Route in flight; the completion thread deletes it once finished.
struct RouteCall final : GrpcCompletionThread::Call {
  grpc::ClientContext context;
  v1::RouteDecision decision;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<v1::RouteDecision>> reader;
  RoutingClient::Done done;
  GrpcRoutingClient::Poster post;

  void Finished() override {
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

}  // namespace

GrpcRoutingClient::GrpcRoutingClient(
    const std::string& address, Poster post, absl::Duration timeout,
    GrpcLatency* latency, std::shared_ptr<GrpcCompletionThread> completions)
    : completions_(completions != nullptr
                       ? std::move(completions)
                       : std::make_shared<GrpcCompletionThread>()),
      stub_(v1::Routing::NewStub(
          latency != nullptr
              ? InstrumentedChannel(address, grpc::InsecureChannelCredentials(),
                                    latency,
                                    GrpcCompletionThread::CallPathArguments())
              : grpc::CreateCustomChannel(
                    address, grpc::InsecureChannelCredentials(),
                    GrpcCompletionThread::CallPathArguments()))),
      post_(std::move(post)),
      timeout_(timeout) {}

void GrpcRoutingClient::Route(const v1::RouteRequest& request, Done done) {
  auto* call = new RouteCall;
  call->done = std::move(done);
  call->post = post_;
  call->context.set_deadline(std::chrono::system_clock::now() +
                             absl::ToChronoMilliseconds(timeout_));
  // A routing service that is restarting is waited for, up to the
  // deadline, rather than failing the call at once; and under gRPC's poll
  // engine a waiting call is what drives the channel's reconnection (a
  // channel with no call pending is not polled, so calls failed fast for
  // seconds after routing was back).
  call->context.set_wait_for_ready(true);
  call->reader =
      stub_->AsyncRoute(&call->context, request, completions_->queue());
  call->reader->Finish(&call->decision, &call->status,
                       static_cast<GrpcCompletionThread::Tag*>(call));
}

}  // namespace trunkline::signaling
