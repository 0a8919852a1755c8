#include "services/media/relay/event_hub.h"

#include <algorithm>

namespace trunkline::media::relay {

void EventHub::Add(EventWatcher* watcher) {
  absl::MutexLock lock(&mutex_);
  watchers_.push_back(watcher);
}

void EventHub::Remove(EventWatcher* watcher) {
  absl::MutexLock lock(&mutex_);
  watchers_.erase(std::remove(watchers_.begin(), watchers_.end(), watcher),
                  watchers_.end());
}

void EventHub::Publish(const v1::MediaEvent& event) {
  absl::MutexLock lock(&mutex_);
  for (EventWatcher* watcher : watchers_) watcher->Deliver(event);
}

void EventHub::CloseAll() {
  absl::MutexLock lock(&mutex_);
  for (EventWatcher* watcher : watchers_) watcher->Close();
}

size_t EventHub::watchers() const {
  absl::MutexLock lock(&mutex_);
  return watchers_.size();
}

}  // namespace trunkline::media::relay
