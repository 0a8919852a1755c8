#include "services/signaling/grpc_completion_thread.h"

#include "grpc/grpc.h"

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
  return args;
}

}  // namespace trunkline::signaling
