#include "services/media/relay/wakeup_moderation.h"

#include <algorithm>

namespace trunkline::media {

WakeupModeration::WakeupModeration(uint32_t busy_percent)
    : on_(std::min(busy_percent, 100u) / 100.0),
      off_(on_ / 2),
      active_(busy_percent == 0) {}

bool WakeupModeration::Sample(int64_t wall_ns, int64_t thread_cpu_ns) {
  if (last_wall_ns_ != 0 && wall_ns > last_wall_ns_) {
    busy_ = std::clamp(
        double(thread_cpu_ns - last_cpu_ns_) / double(wall_ns - last_wall_ns_),
        0.0, 1.0);
    busy_samples_ = busy_ >= on_ ? busy_samples_ + 1 : 0;
    if (on_ == 0) {
      active_ = true;
    } else if (!active_ && busy_samples_ >= kSustained) {
      active_ = true;
    } else if (active_ && busy_ < off_) {
      active_ = false;
    }
  }
  last_wall_ns_ = wall_ns;
  last_cpu_ns_ = thread_cpu_ns;
  return active_;
}

}  // namespace trunkline::media
