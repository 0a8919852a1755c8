#include "services/signaling/grpc_completion_thread.h"

#include "absl/strings/str_cat.h"
#include "grpc/grpc.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "services/common/error_table.h"
#include "services/common/log.h"

namespace trunkline::signaling {

GrpcCompletionThread::GrpcCompletionThread() : thread_([this] { Run(); }) {}

GrpcCompletionThread::~GrpcCompletionThread() {
  queue_.Shutdown();
  thread_.join();
}

void GrpcCompletionThread::Run() {
  void* tag = nullptr;
  bool ok = false;
  // Next returns false once the queue is shut down and drained.
  while (queue_.Next(&tag, &ok)) static_cast<Tag*>(tag)->Proceed(ok);
}

grpc::ChannelArguments GrpcCompletionThread::CallPathArguments() {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  args.SetInt(GRPC_ARG_MINIMAL_STACK, 1);
  // The minimal stack would drop deadline checking too: a call must still
  // end at its deadline when the peer does not answer.
  args.SetInt(GRPC_ARG_ENABLE_DEADLINE_CHECKS, 1);
  // A routing or media instance that was not up yet, or restarted, is
  // tried again within a second: gRPC's default backoff (1 s growing to
  // 120 s) left calls failing for long after it came up. (The minimum,
  // which is also each attempt's connect timeout, stays at its 20 s.)
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  return args;
}

std::shared_ptr<grpc::Channel> GrpcCompletionThread::CallPathChannel(
    const std::string& address, GrpcLatency* latency) {
  return latency != nullptr
             ? InstrumentedChannel(address, grpc::InsecureChannelCredentials(),
                                   latency, CallPathArguments())
             : grpc::CreateCustomChannel(address,
                                         grpc::InsecureChannelCredentials(),
                                         CallPathArguments());
}

absl::Status GrpcCompletionThread::CallFailure(absl::string_view what,
                                               const std::string& address,
                                               const grpc::Status& status) {
  const absl::StatusCode code = FromGrpcStatus(status).code();
  TL_LOG(kWarning, "call to another service failed")
      .With("call", what)
      .With("address", address)
      .With("code", absl::StatusCodeToString(code))
      .With("error", status.error_message());
  switch (code) {
    case absl::StatusCode::kDeadlineExceeded:
      return absl::Status(code, absl::StrCat(what, ": no answer in time"));
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kCancelled:
      return absl::Status(code, absl::StrCat(what, ": not reachable"));
    default:
      // The service's own answer (a malformed SDP, an unknown call): its
      // words, which name no address.
      return absl::Status(code,
                          absl::StrCat(what, ": ", status.error_message()));
  }
}

}  // namespace trunkline::signaling
