#include "services/media/relay/port_allocator.h"

#include <memory>

#include "absl/strings/str_cat.h"

namespace trunkline::media::relay {

absl::StatusOr<std::unique_ptr<PortAllocator>> PortAllocator::Create(
    uint32_t min_port, uint32_t max_port, absl::Duration quarantine) {
  if (min_port == 0 || max_port > 65535 || min_port > max_port) {
    return absl::InvalidArgumentError(absl::StrCat(
        "RTP port range ", min_port, "-", max_port,
        " is not within 1..65535 with min <= max: fix --rtp_port_min and "
        "--rtp_port_max"));
  }
  const uint32_t first_even = min_port + (min_port & 1);
  if (first_even + 1 > max_port) {
    return absl::InvalidArgumentError(absl::StrCat(
        "RTP port range ", min_port, "-", max_port,
        " holds no even/odd pair: widen --rtp_port_min..--rtp_port_max"));
  }
  const size_t pairs = (max_port - first_even + 1) / 2;
  return std::unique_ptr<PortAllocator>(
      new PortAllocator(uint16_t(first_even), pairs, quarantine));
}

PortAllocator::PortAllocator(uint16_t first_even, size_t pairs,
                             absl::Duration quarantine)
    : total_pairs_(pairs), quarantine_(quarantine) {
  for (size_t i = 0; i < pairs; ++i)
    free_.push_back(uint16_t(first_even + 2 * i));
}

void PortAllocator::ExpireQuarantine(absl::Time now) {
  while (!quarantined_.empty() && quarantined_.front().first <= now) {
    free_.push_back(quarantined_.front().second);
    quarantined_.pop_front();
  }
}

absl::StatusOr<uint16_t> PortAllocator::Allocate(absl::Time now) {
  absl::MutexLock lock(&mutex_);
  ExpireQuarantine(now);
  if (free_.empty()) {
    return absl::UnavailableError(absl::StrCat(
        "no free RTP port pair: all ", total_pairs_,
        " pairs are in use or in quarantine; widen the port range or add "
        "media instances"));
  }
  const uint16_t port = free_.front();
  free_.pop_front();
  return port;
}

void PortAllocator::Release(uint16_t even_port, absl::Time now) {
  absl::MutexLock lock(&mutex_);
  quarantined_.emplace_back(now + quarantine_, even_port);
}

size_t PortAllocator::free_pairs() const {
  absl::MutexLock lock(&mutex_);
  size_t expired = 0;
  const absl::Time now = absl::Now();
  for (const auto& [until, port] : quarantined_) {
    if (until > now) break;
    ++expired;
  }
  return free_.size() + expired;
}

}  // namespace trunkline::media::relay
