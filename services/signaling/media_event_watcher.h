// Subscribes to every media instance's WatchEvents stream and hands each
// event to the SIP loop, so that the B2BUA can end a call whose media
// stopped (RTP or RTCP timeout). A stream that ends (the instance restarts,
// the network fails) is opened again a second later, for as long as the
// watcher lives. The streams run on gRPC's threads; events cross to the
// loop through `post`, never a lock around call state.
#ifndef TRUNKLINE_SERVICES_SIGNALING_MEDIA_EVENT_WATCHER_H_
#define TRUNKLINE_SERVICES_SIGNALING_MEDIA_EVENT_WATCHER_H_

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "grpcpp/completion_queue.h"
#include "trunkline/v1/media.grpc.pb.h"

namespace trunkline::signaling {

class MediaEventWatcher {
 public:
  using Poster = std::function<void(std::function<void()>)>;
  using Handler = std::function<void(const v1::MediaEvent&)>;
  struct Instance {
    std::string address;
    v1::Media::StubInterface* stub;  // outlives the watcher
  };

  // Starts watching at once. `handler` runs on the loop, through `post`.
  // `queue` is drained by a thread that outlives the watcher and runs
  // GrpcCompletionThread tags.
  MediaEventWatcher(std::vector<Instance> instances, Poster post,
                    Handler handler, grpc::CompletionQueue* queue,
                    absl::Duration reconnect = absl::Seconds(1));
  // Cancels the streams and waits until gRPC has let go of them.
  ~MediaEventWatcher();

  // Streams open now (tests).
  int open_streams() const;

 private:
  class Stream;
  void Run();
  void Deliver(const v1::MediaEvent& event);
  void Ended(size_t index, const std::string& why);

  std::vector<Instance> instances_;
  Poster post_;
  Handler handler_;
  grpc::CompletionQueue* queue_;
  absl::Duration reconnect_;
  mutable absl::Mutex mu_;
  std::vector<Stream*> streams_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace trunkline::signaling

#endif  // TRUNKLINE_SERVICES_SIGNALING_MEDIA_EVENT_WATCHER_H_
