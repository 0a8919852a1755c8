#include "services/media/relay/stream_end.h"

#include <algorithm>
#include <vector>

namespace trunkline::media::relay {

void PayloadClocks::Assign(const PayloadClock* clocks, size_t count) {
  // Keep the first entry of each type (what a lookup in order finds), and
  // of those only the ones a lookup could not answer with the default.
  std::vector<PayloadClock> kept;
  for (size_t i = 0; i < count; ++i) {
    if (clocks[i].payload_type == kEnd) continue;  // not an RTP type
    bool seen = false;
    for (size_t j = 0; j < i && !seen; ++j) {
      seen = clocks[j].payload_type == clocks[i].payload_type;
    }
    if (!seen && clocks[i].clock_rate != 8000) kept.push_back(clocks[i]);
  }
  entries_.reset();
  if (kept.empty()) return;
  entries_ = std::make_unique<PayloadClock[]>(kept.size() + 1);
  std::copy(kept.begin(), kept.end(), entries_.get());
  entries_[kept.size()] = {kEnd, 0};
}

size_t PayloadClocks::kept() const {
  size_t count = 0;
  if (entries_ == nullptr) return 0;
  while (entries_[count].payload_type != kEnd) ++count;
  return count;
}

}  // namespace trunkline::media::relay
