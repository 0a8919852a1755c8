#include "services/signaling/sofia/timer_pacer.h"

#include <dirent.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace trunkline::signaling {
namespace {

// `t` moved back by `micros` (0..1,000,000).
su_time_t Earlier(su_time_t t, int64_t micros) {
  if (t.tv_usec >= static_cast<unsigned long>(micros)) {
    t.tv_usec -= static_cast<unsigned long>(micros);
  } else {
    t.tv_sec -= 1;
    t.tv_usec += static_cast<unsigned long>(1000000 - micros);
  }
  return t;
}

// Sofia's only public way to read the timer queue is su_timer_expire(),
// which runs what is due at the time it is given and lowers `timeout` to the
// whole milliseconds from then to the next timer. Asked from `k` µs in the
// past, it answers floor((r + k) / 1000) for a timer `r` µs away.
su_duration_t MillisFrom(su_timer_queue_t* timers, su_time_t now, int64_t k) {
  su_duration_t timeout = SU_WAIT_FOREVER;
  su_timer_expire(timers, &timeout, Earlier(now, k));
  return timeout;
}

void Pace(su_prepoll_magic_t* magic, su_root_t*) {
  static_cast<TimerPacer*>(magic)->WaitForImminentTimer();
}

}  // namespace

int64_t MicrosUntilImminentTimer(su_root_t* root) {
  su_timer_queue_t* timers = su_task_timers(su_root_task(root));
  if (timers == nullptr) return -1;
  const su_time_t now = su_now();
  // From 1 ms back (running what was due by then): 1 means 0 <= r < 1000
  // µs, the spin; 0 means overdue by less than 1 ms; more, or none, is not
  // close.
  const su_duration_t from_ms_back = MillisFrom(timers, now, 1000);
  if (from_ms_back == 0) return 0;
  if (from_ms_back != 1) return -1;
  // The smallest k with floor((r + k) / 1000) >= 1 is ceil(1000 - r).
  int64_t low = 0, high = 1000;  // f(low) == 0, f(high) >= 1
  while (high - low > 1) {
    const int64_t k = (low + high) / 2;
    if (MillisFrom(timers, now, k) >= 1) {
      high = k;
    } else {
      low = k;
    }
  }
  return 1000 - high;
}

int EpollFdWatching(int registered_fd) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int found = -1;
  const std::string wanted = absl::StrCat(registered_fd);
  while (dirent* entry = readdir(dir)) {
    int fd;
    if (!absl::SimpleAtoi(entry->d_name, &fd) || fd == dirfd(dir)) continue;
    char target[64] = {};
    const std::string link = absl::StrCat("/proc/self/fd/", fd);
    if (readlink(link.c_str(), target, sizeof target - 1) <= 0 ||
        !absl::StrContains(target, "[eventpoll]")) {
      continue;
    }
    std::ifstream info(absl::StrCat("/proc/self/fdinfo/", fd));
    std::string line;
    while (std::getline(info, line)) {
      // "tfd:        7 events:       19 data: ..." (spaces vary).
      const std::vector<absl::string_view> fields =
          absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
      if (fields.size() >= 2 && fields[0] == "tfd:" && fields[1] == wanted) {
        found = fd;
        break;
      }
    }
    if (found >= 0) break;
  }
  closedir(dir);
  return found;
}

bool TimerPacer::Install() {
  return su_root_add_prepoll(root_, &Pace, this) == 0;
}

int64_t TimerPacer::WaitForImminentTimer() {
  const int64_t micros = MicrosUntilImminentTimer(root_);
  // Below that the wait costs more than the few turns it saves.
  if (micros < 20) return 0;
  pollfd ready{epoll_fd_, POLLIN, 0};
  const timespec timeout{0, static_cast<long>(micros) * 1000};
  const absl::Time start = absl::Now();
  ppoll(&ready, 1, &timeout, nullptr);
  return absl::ToInt64Microseconds(absl::Now() - start);
}

}  // namespace trunkline::signaling
