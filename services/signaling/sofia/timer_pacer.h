// Keeps Sofia-SIP's event loop from spinning before a timer.
//
// su_root_run() waits for socket events for the milliseconds left until
// the next timer, truncated: with a timer due in 0.4 ms it waits 0 ms, and
// calls epoll_wait(0) again and again until the timer is due. Under load
// the transaction layer nearly always has a timer due within the next
// millisecond, and the SIP loop spun: 64,000 epoll_wait calls a second at
// 200 calls/s. Installed as the root's prepoll hook, the pacer waits out
// that fraction of a millisecond with a microsecond timeout on Sofia's own
// epoll descriptor instead (polling the descriptor does not take its
// events), so a SIP message arriving meanwhile is handled at once.
#ifndef TRUNKLINE_SERVICES_SIGNALING_SOFIA_TIMER_PACER_H_
#define TRUNKLINE_SERVICES_SIGNALING_SOFIA_TIMER_PACER_H_

#include <sofia-sip/su_wait.h>

#include <cstdint>

namespace trunkline::signaling {

// Microseconds until the root's next timer when it is due within the next
// millisecond (0 when due now), or -1 when no timer is that close. Runs the
// timers already due (which the loop would run next anyway).
int64_t MicrosUntilImminentTimer(su_root_t* root);

// The epoll descriptor of this process in which `registered_fd` is
// registered (read from /proc/self/fdinfo), or -1.
int EpollFdWatching(int registered_fd);

class TimerPacer {
 public:
  // `epoll_fd`: the root's epoll descriptor (EpollFdWatching of a
  // descriptor registered on the root).
  TimerPacer(su_root_t* root, int epoll_fd)
      : root_(root), epoll_fd_(epoll_fd) {}
  // Installs the hook (on the root's thread). False if the root already has
  // a prepoll hook.
  bool Install();
  // One pass of the hook: waits until the imminent timer is due or the
  // epoll descriptor has an event. Returns the microseconds waited for.
  int64_t WaitForImminentTimer();

 private:
  su_root_t* root_;
  int epoll_fd_;
};

}  // namespace trunkline::signaling

#endif  // TRUNKLINE_SERVICES_SIGNALING_SOFIA_TIMER_PACER_H_
