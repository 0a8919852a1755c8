// Fan-out of MediaEvents from the workers to every WatchEvents stream.
//
// Workers publish rarely (a timeout, a DTMF digit, at most one SRTP failure
// event per stream per second), so a mutex here costs the data path nothing
// measurable; packets themselves never come near it.
#ifndef TRUNKLINE_SERVICES_MEDIA_RELAY_EVENT_HUB_H_
#define TRUNKLINE_SERVICES_MEDIA_RELAY_EVENT_HUB_H_

#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "trunkline/v1/media.pb.h"

namespace trunkline::media::relay {

class EventWatcher {
 public:
  virtual ~EventWatcher() = default;
  // Called on the publishing thread with the hub's lock held: queue and
  // return, never block.
  virtual void Deliver(const v1::MediaEvent& event) = 0;
  // The service is stopping: end the stream (same rules as Deliver).
  virtual void Close() {}
};

class EventHub {
 public:
  void Add(EventWatcher* watcher);
  void Remove(EventWatcher* watcher);
  void Publish(const v1::MediaEvent& event);
  // Closes every watcher (they leave through Remove as they end).
  void CloseAll();
  size_t watchers() const;

 private:
  mutable absl::Mutex mutex_;
  std::vector<EventWatcher*> watchers_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace trunkline::media::relay

#endif  // TRUNKLINE_SERVICES_MEDIA_RELAY_EVENT_HUB_H_
