// When a worker moderates its wake-ups (interrupt moderation, as a NIC's
// adaptive rx-usecs does it): only while relaying keeps its thread busy.
//
// Paced audio arrives one packet at a time. A worker that wakes for each
// adds no delay, but on a VM each wake-up costs several times what relaying
// the packet does, so near saturation it runs out of CPU long before it runs
// out of packets to relay. Waiting a little after each turn lets one
// wake-up carry many packets, at the price of that wait in latency. The
// trade is worth it only when CPU is what runs short, so the trigger is the
// share of the worker thread's time spent running: moderation starts when it
// has stayed at or above the threshold for a second (a burst of call set-ups
// is not load) and stops once it falls below half of it (the hysteresis
// keeps the lower CPU that moderation itself brings from switching it off
// again). A packet rate would not do: what a core can carry differs by
// machine.
#ifndef TRUNKLINE_SERVICES_MEDIA_RELAY_WAKEUP_MODERATION_H_
#define TRUNKLINE_SERVICES_MEDIA_RELAY_WAKEUP_MODERATION_H_

#include <cstdint>

namespace trunkline::media {

class WakeupModeration {
 public:
  // `busy_percent`: the share of wall time the thread runs (0-100) from
  // which moderation starts; 0 moderates always.
  explicit WakeupModeration(uint32_t busy_percent);

  // Samples at or above the threshold in a row that start moderation (a
  // second at the worker's 250 ms tick).
  static constexpr int kSustained = 4;

  // One sample, every tick: the thread's CPU time and the wall clock, both
  // in nanoseconds. Returns whether to moderate until the next sample.
  bool Sample(int64_t wall_ns, int64_t thread_cpu_ns);

  bool active() const { return active_; }
  // The share of the last sample's interval the thread ran (0-1).
  double busy() const { return busy_; }

 private:
  const double on_;
  const double off_;
  bool active_;
  double busy_ = 0;
  int busy_samples_ = 0;  // in a row at or above the threshold
  int64_t last_wall_ns_ = 0;
  int64_t last_cpu_ns_ = 0;
};

}  // namespace trunkline::media

#endif  // TRUNKLINE_SERVICES_MEDIA_RELAY_WAKEUP_MODERATION_H_
