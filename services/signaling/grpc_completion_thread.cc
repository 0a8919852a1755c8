#include "services/signaling/grpc_completion_thread.h"

#include "grpc/grpc.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

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

}  // namespace trunkline::signaling
