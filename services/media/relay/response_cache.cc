#include "services/media/relay/response_cache.h"

#include "absl/strings/str_cat.h"

namespace trunkline::media::relay {

size_t ResponseCache::IndexOf(Method method, v1::Leg leg,
                              absl::string_view request_id) const {
  for (size_t i = 0; i < entries_.size(); ++i) {
    const Entry& entry = entries_[i];
    if (entry.method == method && entry.leg == uint8_t(leg) &&
        absl::string_view(entry.text).substr(0, entry.id_length) ==
            request_id) {
      return i;
    }
  }
  return entries_.size();
}

std::optional<absl::string_view> ResponseCache::Find(
    Method method, v1::Leg leg, absl::string_view request_id) const {
  const size_t index = IndexOf(method, leg, request_id);
  if (index == entries_.size()) return std::nullopt;
  const Entry& entry = entries_[index];
  return absl::string_view(entry.text).substr(entry.id_length);
}

void ResponseCache::Put(Method method, v1::Leg leg,
                        absl::string_view request_id, absl::string_view sdp) {
  const size_t index = IndexOf(method, leg, request_id);
  if (index == entries_.size()) {
    Entry& entry = entries_.emplace_back();
    entry.method = method;
    entry.leg = uint8_t(leg);
    entry.id_length = uint32_t(request_id.size());
  }
  entries_[index].text = absl::StrCat(request_id, sdp);
}

}  // namespace trunkline::media::relay
