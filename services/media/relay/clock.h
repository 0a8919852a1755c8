// The clocks the relay reads: monotonic nanoseconds (timeouts, jitter) and
// wall-clock milliseconds (event and report times).
#ifndef TRUNKLINE_SERVICES_MEDIA_RELAY_CLOCK_H_
#define TRUNKLINE_SERVICES_MEDIA_RELAY_CLOCK_H_

#include <time.h>

#include <cstdint>

namespace trunkline::media::relay {

inline int64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

inline int64_t UnixMs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace trunkline::media::relay

#endif  // TRUNKLINE_SERVICES_MEDIA_RELAY_CLOCK_H_
