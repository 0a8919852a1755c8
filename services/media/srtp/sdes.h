// SDES master keys (RFC 4568): the "inline:" key parameters of a=crypto.
//
//   inline:<base64(master key || master salt)>[|<lifetime>][|<MKI>:<length>]
//
//   ASSIGN_OR_RETURN(MasterKey key, ParseSdesKeyParams(Suite::kAeadAes128Gcm,
//                                                      "inline:..."));
//   ASSIGN_OR_RETURN(MasterKey ours, GenerateMasterKey(suite));
//   std::string key_params = FormatSdesKeyParams(ours);  // for a=crypto
//
// Key lengths are checked against the suite, so a key meant for another
// suite is an error here rather than an authentication failure on every
// packet later.
#ifndef TRUNKLINE_SERVICES_MEDIA_SRTP_SDES_H_
#define TRUNKLINE_SERVICES_MEDIA_SRTP_SDES_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/media/srtp/suite.h"

namespace trunkline::media::srtp {

// RFC 4568 §6.1: an MKI value (decimal) carried in `length` octets.
struct Mki {
  uint64_t value = 0;
  uint32_t length = 0;  // 1..128 octets

  bool operator==(const Mki& other) const {
    return value == other.value && length == other.length;
  }
};

struct MasterKey {
  Suite suite = Suite::kAesCm128HmacSha1_80;
  std::string key;   // binary, InfoOf(suite).key_length octets
  std::string salt;  // binary, InfoOf(suite).salt_length octets
  // Packets the key may protect, as signalled. Informational: libsrtp
  // enforces the RFC 3711 maxima (2^48 SRTP, 2^31 SRTCP) itself.
  std::optional<uint64_t> lifetime;
  std::optional<Mki> mki;
};

// Parses one key parameter (RFC 4568 §6.1; "inline:" only).
absl::StatusOr<MasterKey> ParseSdesKeyParams(Suite suite,
                                             absl::string_view key_params);
// The same with the suite by name, as read from a=crypto.
absl::StatusOr<MasterKey> ParseSdesKeyParams(absl::string_view suite_name,
                                             absl::string_view key_params);

// "inline:<base64>" with the lifetime ("|2^n" when a power of two) and MKI
// when present.
std::string FormatSdesKeyParams(const MasterKey& key);

// A fresh key and salt from the kernel's CSPRNG (getrandom(2)); no lifetime,
// no MKI.
absl::StatusOr<MasterKey> GenerateMasterKey(Suite suite);

}  // namespace trunkline::media::srtp

#endif  // TRUNKLINE_SERVICES_MEDIA_SRTP_SDES_H_
