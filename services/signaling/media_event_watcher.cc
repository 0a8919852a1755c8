#include "services/signaling/media_event_watcher.h"

#include <utility>

#include "grpcpp/client_context.h"
#include "services/common/log.h"

namespace trunkline::signaling {

// One WatchEvents call; deletes itself when gRPC is done with it.
class MediaEventWatcher::Stream final
    : public grpc::ClientReadReactor<v1::MediaEvent> {
 public:
  Stream(MediaEventWatcher* owner, size_t index)
      : owner_(owner), index_(index) {}
  // Outside the owner's lock: gRPC may report OnDone before this returns.
  void Start() {
    owner_->instances_[index_].stub->async()->WatchEvents(&context_, &request_,
                                                          this);
    StartRead(&event_);
    StartCall();
  }
  void Cancel() { context_.TryCancel(); }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows with the status
    owner_->Deliver(event_);
    StartRead(&event_);
  }
  void OnDone(const grpc::Status& status) override {
    owner_->Ended(index_, status.ok() ? std::string("stream ended")
                                      : status.error_message());
    delete this;
  }

 private:
  MediaEventWatcher* owner_;
  size_t index_;
  grpc::ClientContext context_;
  v1::WatchEventsRequest request_;
  v1::MediaEvent event_;
};

MediaEventWatcher::MediaEventWatcher(std::vector<Instance> instances,
                                     Poster post, Handler handler,
                                     absl::Duration reconnect)
    : instances_(std::move(instances)),
      post_(std::move(post)),
      handler_(std::move(handler)),
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
