// The SRTP protection profiles the relay implements, by their SDES names
// (RFC 4568 §6.2, RFC 7714 §14.2), with the lengths that go with each.
#ifndef TRUNKLINE_SERVICES_MEDIA_SRTP_SUITE_H_
#define TRUNKLINE_SERVICES_MEDIA_SRTP_SUITE_H_

#include <cstddef>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace trunkline::media::srtp {

enum class Suite {
  kAesCm128HmacSha1_80,  // RFC 3711 default: AES-CM, 80-bit HMAC-SHA1 tag
  kAesCm128HmacSha1_32,  // 32-bit RTP tag; SRTCP keeps the 80-bit tag
  kAeadAes128Gcm,        // RFC 7714: AES-128-GCM, 16-octet tag
};

struct SuiteInfo {
  absl::string_view name;  // as in a=crypto
  size_t key_length;       // master key, octets
  size_t salt_length;      // master salt, octets
  size_t rtp_tag_length;   // added to each SRTP packet
  size_t rtcp_tag_length;  // added to each SRTCP packet (plus the index)
};

const SuiteInfo& InfoOf(Suite suite);
absl::string_view SuiteName(Suite suite);
// Case-sensitive, as RFC 4568 registers the names.
absl::StatusOr<Suite> SuiteFromName(absl::string_view name);

}  // namespace trunkline::media::srtp

#endif  // TRUNKLINE_SERVICES_MEDIA_SRTP_SUITE_H_
