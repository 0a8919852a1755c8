#include "services/media/relay/response_cache.h"

#include <algorithm>

#include "absl/strings/match.h"
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

std::optional<std::string> ResponseCache::Find(
    Method method, v1::Leg leg, absl::string_view request_id,
    absl::Span<const std::string> phrases) const {
  const size_t index = IndexOf(method, leg, request_id);
  if (index == entries_.size()) return std::nullopt;
  const Entry& entry = entries_[index];
  const absl::string_view stored =
      absl::string_view(entry.text).substr(entry.id_length);
  if (!entry.has_phrases) return std::string(stored);
  std::string sdp;
  sdp.reserve(stored.size() + 64);
  for (size_t i = 0; i < stored.size(); ++i) {
    if (stored[i] == kPhraseMark && i + 1 < stored.size()) {
      const size_t phrase = static_cast<uint8_t>(stored[++i]);
      if (phrase < phrases.size()) sdp.append(phrases[phrase]);
      continue;
    }
    sdp.push_back(stored[i]);
  }
  return sdp;
}

void ResponseCache::Put(Method method, v1::Leg leg,
                        absl::string_view request_id, absl::string_view sdp,
                        absl::Span<const std::string> phrases) {
  size_t index = IndexOf(method, leg, request_id);
  if (index == entries_.size()) {
    Entry& entry = entries_.emplace_back();
    entry.method = method;
    entry.leg = uint8_t(leg);
    entry.id_length = uint32_t(request_id.size());
  }
  Entry& entry = entries_[index];
  entry.has_phrases = false;
  std::string text(request_id);
  text.reserve(request_id.size() + sdp.size());
  if (phrases.empty() || absl::StrContains(sdp, kPhraseMark)) {
    text.append(sdp.data(), sdp.size());
  } else {
    const size_t usable = std::min<size_t>(phrases.size(), 256);
    for (size_t at = 0; at < sdp.size();) {
      size_t p = 0;
      while (p < usable && (phrases[p].empty() ||
                            !absl::StartsWith(sdp.substr(at), phrases[p]))) {
        ++p;
      }
      if (p < usable) {
        text.push_back(kPhraseMark);
        text.push_back(static_cast<char>(p));
        at += phrases[p].size();
        entry.has_phrases = true;
      } else {
        text.push_back(sdp[at++]);
      }
    }
  }
  text.shrink_to_fit();
  entry.text = std::move(text);
}

size_t ResponseCache::stored_bytes() const {
  size_t bytes = 0;
  for (const Entry& entry : entries_) bytes += entry.text.size();
  return bytes;
}

}  // namespace trunkline::media::relay
