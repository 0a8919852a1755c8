#include "services/media/srtp/suite.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace trunkline::media::srtp {
namespace {

constexpr SuiteInfo kAesCm80{"AES_CM_128_HMAC_SHA1_80", 16, 14, 10, 10};
constexpr SuiteInfo kAesCm32{"AES_CM_128_HMAC_SHA1_32", 16, 14, 4, 10};
// RFC 7714 §12: 96-bit salt; the GCM tag authenticates as well.
constexpr SuiteInfo kGcm128{"AEAD_AES_128_GCM", 16, 12, 16, 16};

}  // namespace

const SuiteInfo& InfoOf(Suite suite) {
  switch (suite) {
    case Suite::kAesCm128HmacSha1_80:
      return kAesCm80;
    case Suite::kAesCm128HmacSha1_32:
      return kAesCm32;
    case Suite::kAeadAes128Gcm:
      return kGcm128;
  }
  return kAesCm80;
}

absl::string_view SuiteName(Suite suite) { return InfoOf(suite).name; }

absl::StatusOr<Suite> SuiteFromName(absl::string_view name) {
  for (Suite suite : {Suite::kAesCm128HmacSha1_80, Suite::kAesCm128HmacSha1_32,
                      Suite::kAeadAes128Gcm}) {
    if (InfoOf(suite).name == name) return suite;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("SRTP crypto suite '", name,
                   "' is not supported; use AES_CM_128_HMAC_SHA1_80, "
                   "AES_CM_128_HMAC_SHA1_32 or AEAD_AES_128_GCM"));
}

}  // namespace trunkline::media::srtp
