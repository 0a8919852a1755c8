#include "services/signaling/media_event_watcher.h"

#include <utility>

#include "grpcpp/client_context.h"
#include "services/common/log.h"
#include "services/signaling/grpc_completion_thread.h"

namespace trunkline::signaling {

// One WatchEvents call on the completion queue: started, read until the
// stream ends, finished; it deletes itself once its status is in.
class MediaEventWatcher::Stream final {
 public:
  Stream(MediaEventWatcher* owner, size_t index)
      : owner_(owner), index_(index) {
    // The stream waits for an instance that is down or not up yet rather
    // than failing at once, and while it waits, its channel's connection
    // attempts are polled with this queue: with gRPC's poll engine nothing
    // else drives a channel that has no call pending, and an instance that
    // came up was then found only by chance, seconds later.
    context_.set_wait_for_ready(true);
  }
  // Outside the owner's lock: the stream may end before this returns.
  void Start() {
    reader_ = owner_->instances_[index_].stub->PrepareAsyncWatchEvents(
        &context_, request_, owner_->queue_);
    reader_->StartCall(&started_);
  }
  // Any thread.
  void Cancel() { context_.TryCancel(); }

 private:
  using Step = GrpcCompletionThread::Step<Stream>;

  void OnStarted(bool ok) {
    if (!ok) {
      reader_->Finish(&status_, &finished_);
      return;
    }
    reader_->Read(&event_, &read_);
  }
  void OnRead(bool ok) {
    if (!ok) {  // the stream has ended; its status follows
      reader_->Finish(&status_, &finished_);
      return;
    }
    owner_->Deliver(event_);
    reader_->Read(&event_, &read_);
  }
  void OnFinished(bool) {
    owner_->Ended(index_, status_.ok() ? std::string("stream ended")
                                       : status_.error_message());
    delete this;
  }

  MediaEventWatcher* owner_;
  size_t index_;
  Step started_{this, &Stream::OnStarted};
  Step read_{this, &Stream::OnRead};
  Step finished_{this, &Stream::OnFinished};
  grpc::ClientContext context_;
  v1::WatchEventsRequest request_;
  v1::MediaEvent event_;
  grpc::Status status_;
  std::unique_ptr<grpc::ClientAsyncReaderInterface<v1::MediaEvent>> reader_;
};

MediaEventWatcher::MediaEventWatcher(std::vector<Instance> instances,
                                     Poster post, Handler handler,
                                     grpc::CompletionQueue* queue,
                                     absl::Duration reconnect)
    : instances_(std::move(instances)),
      post_(std::move(post)),
      handler_(std::move(handler)),
      queue_(queue),
      reconnect_(reconnect),
      streams_(instances_.size(), nullptr) {
  thread_ = std::thread([this] { Run(); });
}

MediaEventWatcher::~MediaEventWatcher() {
  stop_.Notify();
  thread_.join();
  absl::MutexLock lock(&mu_);
  stopping_ = true;
  for (Stream* s : streams_) {
    if (s != nullptr) s->Cancel();
  }
  // OnDone of each stream clears its slot; wait for all of them.
  auto all_done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (Stream* s : streams_) {
      if (s != nullptr) return false;
    }
    return true;
  };
  mu_.Await(absl::Condition(&all_done));
}

void MediaEventWatcher::Run() {
  do {
    std::vector<Stream*> fresh;
    {
      absl::MutexLock lock(&mu_);
      for (size_t i = 0; i < streams_.size(); ++i) {
        if (streams_[i] == nullptr && !stopping_) {
          streams_[i] = new Stream(this, i);
          fresh.push_back(streams_[i]);
        }
      }
    }
    // The destructor cancels streams only after this thread has ended, so
    // each one is started before anyone can cancel it.
    for (Stream* s : fresh) s->Start();
  } while (!stop_.WaitForNotificationWithTimeout(reconnect_));
}

void MediaEventWatcher::Deliver(const v1::MediaEvent& event) {
  post_([handler = handler_, event] { handler(event); });
}

void MediaEventWatcher::Ended(size_t index, const std::string& why) {
  absl::MutexLock lock(&mu_);
  if (!stopping_) {
    TL_LOG(kInfo, "media event stream ended; reopening")
        .With("media", instances_[index].address)
        .With("detail", why);
  }
  streams_[index] = nullptr;
}

int MediaEventWatcher::open_streams() const {
  absl::MutexLock lock(&mu_);
  int n = 0;
  for (Stream* s : streams_) n += s != nullptr;
  return n;
}

}  // namespace trunkline::signaling
