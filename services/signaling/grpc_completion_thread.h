// One thread that finishes the asynchronous gRPC calls the SIP loop makes
// (Route, Offer, Update, Answer, Delete, Query), runs the media event
// streams, and posts the results back to the loop.
//
// gRPC's callback API runs completions on a pool of threads that take turns
// polling; every call then costs wake-ups and futex hand-offs between them
// before the result reaches the loop. A single completion queue drained by a
// single thread costs one wake-up per finished call, and the routing and
// media clients share it.
#ifndef TRUNKLINE_SERVICES_SIGNALING_GRPC_COMPLETION_THREAD_H_
#define TRUNKLINE_SERVICES_SIGNALING_GRPC_COMPLETION_THREAD_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/channel.h"
#include "grpcpp/completion_queue.h"
#include "grpcpp/support/channel_arguments.h"
#include "services/common/grpc_metrics.h"

namespace trunkline::signaling {

class GrpcCompletionThread {
 public:
  // What the thread runs for each tag gRPC returns.
  class Tag {
   public:
    virtual ~Tag() = default;
    virtual void Proceed(bool ok) = 0;
  };
  // A unary call in flight. Its address is the tag given to gRPC; Finished
  // runs on the completion thread once gRPC is done with the call, and the
  // call is deleted right after.
  class Call : public Tag {
   public:
    virtual void Finished() = 0;
    void Proceed(bool) final {
      Finished();
      delete this;
    }
  };
  // A tag that runs one step of an object with several operations in
  // flight (a stream); the object decides when it goes.
  template <typename T>
  class Step final : public Tag {
   public:
    Step(T* owner, void (T::*step)(bool)) : owner_(owner), step_(step) {}
    void Proceed(bool ok) override { (owner_->*step_)(ok); }

   private:
    T* const owner_;
    void (T::*const step_)(bool);
  };

  GrpcCompletionThread();
  // Waits for the calls still in flight (each one has a deadline).
  ~GrpcCompletionThread();
  GrpcCompletionThread(const GrpcCompletionThread&) = delete;
  GrpcCompletionThread& operator=(const GrpcCompletionThread&) = delete;

  grpc::CompletionQueue* queue() { return &queue_; }

  // Channel settings for the call path: no transparent retries (each call
  // has its own deadline and the B2BUA decides what a failure means; the
  // retry layer costs allocations on every call), and the minimal filter
  // stack with deadline checking kept on.
  static grpc::ChannelArguments CallPathArguments();
  // A channel to `address` with those settings, measured by `latency` when
  // set (insecure: routing and media are on the cluster's network).
  static std::shared_ptr<grpc::Channel> CallPathChannel(
      const std::string& address, GrpcLatency* latency);

  // A failed call `what` ("media Offer") to the service at `address`, as
  // the B2BUA gets it: the status code, and a message that may reach a SIP
  // peer in a Reason header, so it names what failed and why but never the
  // service's address, nor gRPC's transport detail (an UNAVAILABLE lists
  // the addresses it tried): a trunk's carrier must not learn the
  // cluster's addresses. Those go to the log, here.
  static absl::Status CallFailure(absl::string_view what,
                                  const std::string& address,
                                  const grpc::Status& status);

 private:
  void Run();

  grpc::CompletionQueue queue_;
  std::thread thread_;
};

}  // namespace trunkline::signaling

#endif  // TRUNKLINE_SERVICES_SIGNALING_GRPC_COMPLETION_THREAD_H_
