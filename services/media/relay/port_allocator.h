// The relay's UDP ports: even/odd pairs (RTP on the even port, RTCP on the
// odd one, RFC 3550 §11) from a configured range, handed out round robin,
// and held in quarantine for a while after release so that late packets of
// an ended call never reach the next call that gets the same port.
//
// Shared by the workers; allocation is control-plane work (a few per call),
// so a mutex is fine here. The data path never touches it.
#ifndef TRUNKLINE_SERVICES_MEDIA_RELAY_PORT_ALLOCATOR_H_
#define TRUNKLINE_SERVICES_MEDIA_RELAY_PORT_ALLOCATOR_H_

#include <cstdint>
#include <deque>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace trunkline::media::relay {

class PortAllocator {
 public:
  // Pairs from [min_port rounded up to even, max_port]. Fails when the range
  // holds no pair.
  static absl::StatusOr<std::unique_ptr<PortAllocator>> Create(
      uint32_t min_port, uint32_t max_port, absl::Duration quarantine);

  // The even port of a free pair; kUnavailable when every pair is in use or
  // in quarantine.
  absl::StatusOr<uint16_t> Allocate(absl::Time now);
  // Returns a pair (by its even port); reusable after the quarantine.
  void Release(uint16_t even_port, absl::Time now);

  size_t free_pairs() const;
  size_t total_pairs() const { return total_pairs_; }

 private:
  PortAllocator(uint16_t first_even, size_t pairs, absl::Duration quarantine);
  void ExpireQuarantine(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const size_t total_pairs_;
  const absl::Duration quarantine_;
  mutable absl::Mutex mutex_;
  std::deque<uint16_t> free_ ABSL_GUARDED_BY(mutex_);
  // In release order, so the front expires first.
  std::deque<std::pair<absl::Time, uint16_t>> quarantined_
      ABSL_GUARDED_BY(mutex_);
};

}  // namespace trunkline::media::relay

#endif  // TRUNKLINE_SERVICES_MEDIA_RELAY_PORT_ALLOCATOR_H_
