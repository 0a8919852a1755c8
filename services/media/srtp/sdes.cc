#include "services/media/srtp/sdes.h"

#include <sys/random.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/common/status_macros.h"

namespace trunkline::media::srtp {
namespace {

// RFC 3711 §9.2: no SRTP master key may protect more than 2^48 packets.
constexpr uint64_t kMaxLifetime = uint64_t{1} << 48;
// RFC 4568 §6.1: mki-length = 1*3DIGIT, at most 128 octets.
constexpr uint32_t kMaxMkiLength = 128;

bool IsDigits(absl::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Strict base64 (RFC 4648 alphabet, '=' only as trailing padding): Abseil's
// decoder skips characters a key must not contain.
absl::StatusOr<std::string> DecodeBase64(absl::string_view text) {
  size_t padding = 0;
  while (padding < 2 && padding < text.size() &&
         text[text.size() - 1 - padding] == '=') {
    ++padding;
  }
  absl::string_view body = text.substr(0, text.size() - padding);
  for (char c : body) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '+' &&
        c != '/') {
      return absl::InvalidArgumentError(
          absl::StrCat("SDES key has a character that is not base64: '",
                       absl::CEscape(absl::string_view(&c, 1)), "'"));
    }
  }
  if (padding > 0 && text.size() % 4 != 0) {
    return absl::InvalidArgumentError("SDES key has misplaced '=' padding");
  }
  std::string decoded;
  if (!absl::Base64Unescape(text, &decoded)) {
    return absl::InvalidArgumentError("SDES key is not valid base64");
  }
  return decoded;
}

absl::StatusOr<uint64_t> ParseLifetime(absl::string_view text) {
  uint64_t lifetime = 0;
  if (absl::ConsumePrefix(&text, "2^")) {
    uint32_t exponent = 0;
    if (!IsDigits(text) || !absl::SimpleAtoi(text, &exponent) ||
        exponent > 48) {
      return absl::InvalidArgumentError(absl::StrCat(
          "SDES key lifetime '2^", text, "' must be 2^0 to 2^48 packets"));
    }
    return uint64_t{1} << exponent;
  }
  if (!IsDigits(text) || text.size() > 15 ||
      !absl::SimpleAtoi(text, &lifetime) || lifetime == 0 ||
      lifetime > kMaxLifetime) {
    return absl::InvalidArgumentError(
        absl::StrCat("SDES key lifetime '", text,
                     "' must be a number of packets from 1 to 2^48"));
  }
  return lifetime;
}

absl::StatusOr<Mki> ParseMki(absl::string_view text) {
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(text, absl::MaxSplits(':', 1));
  Mki mki;
  if (!IsDigits(parts.second) || parts.second.size() > 3 ||
      !absl::SimpleAtoi(parts.second, &mki.length) || mki.length == 0 ||
      mki.length > kMaxMkiLength) {
    return absl::InvalidArgumentError(absl::StrCat(
        "SDES MKI length '", parts.second, "' must be 1 to 128 octets"));
  }
  if (!IsDigits(parts.first) || parts.first.size() > 19 ||
      !absl::SimpleAtoi(parts.first, &mki.value)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "SDES MKI value '", parts.first, "' is not a decimal number"));
  }
  if (mki.length < 8 && mki.value >> (8 * mki.length) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("SDES MKI value ", mki.value,
                                                   " does not fit in ",
                                                   mki.length, " octet(s)"));
  }
  return mki;
}

absl::Status FillRandom(std::string& out) {
  size_t filled = 0;
  while (filled < out.size()) {
    ssize_t got = getrandom(out.data() + filled, out.size() - filled, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError(absl::StrCat(
          "getrandom failed, no key material: ", std::strerror(errno)));
    }
    filled += static_cast<size_t>(got);
  }
  return absl::OkStatus();
}

bool IsPowerOfTwo(uint64_t n) { return n != 0 && (n & (n - 1)) == 0; }

int Log2(uint64_t n) {
  int log = 0;
  while (n > 1) {
    n >>= 1;
    ++log;
  }
  return log;
}

}  // namespace

absl::StatusOr<MasterKey> ParseSdesKeyParams(Suite suite,
                                             absl::string_view key_params) {
  const SuiteInfo& info = InfoOf(suite);
  absl::string_view rest = key_params;
  if (!absl::ConsumePrefix(&rest, "inline:")) {
    return absl::InvalidArgumentError(
        absl::StrCat("SDES key parameter must start with 'inline:', got '",
                     key_params.substr(0, key_params.find(':')), ":...'"));
  }
  std::vector<absl::string_view> fields = absl::StrSplit(rest, '|');
  if (fields.size() > 3) {
    return absl::InvalidArgumentError(
        "SDES key parameter has more than '<key>|<lifetime>|<MKI>:<length>'");
  }

  MasterKey key;
  key.suite = suite;
  ASSIGN_OR_RETURN(std::string material, DecodeBase64(fields[0]));
  const size_t expected = info.key_length + info.salt_length;
  if (material.size() != expected) {
    return absl::InvalidArgumentError(absl::StrCat(
        info.name, " needs ", info.key_length, " key + ", info.salt_length,
        " salt = ", expected, " octets, the inline key has ", material.size()));
  }
  key.key = material.substr(0, info.key_length);
  key.salt = material.substr(info.key_length);

  for (size_t i = 1; i < fields.size(); ++i) {
    // RFC 4568 §9.2: the lifetime comes first; an MKI contains ':'.
    if (absl::StrContains(fields[i], ':')) {
      if (key.mki.has_value()) {
        return absl::InvalidArgumentError("SDES key parameter has two MKIs");
      }
      ASSIGN_OR_RETURN(key.mki, ParseMki(fields[i]));
    } else {
      if (key.lifetime.has_value() || key.mki.has_value()) {
        return absl::InvalidArgumentError(
            "SDES key lifetime must come once, before the MKI");
      }
      ASSIGN_OR_RETURN(key.lifetime, ParseLifetime(fields[i]));
    }
  }
  return key;
}

absl::StatusOr<MasterKey> ParseSdesKeyParams(absl::string_view suite_name,
                                             absl::string_view key_params) {
  ASSIGN_OR_RETURN(Suite suite, SuiteFromName(suite_name));
  return ParseSdesKeyParams(suite, key_params);
}

std::string FormatSdesKeyParams(const MasterKey& key) {
  std::string out =
      absl::StrCat("inline:", absl::Base64Escape(key.key + key.salt));
  if (key.lifetime.has_value()) {
    if (IsPowerOfTwo(*key.lifetime)) {
      absl::StrAppend(&out, "|2^", Log2(*key.lifetime));
    } else {
      absl::StrAppend(&out, "|", *key.lifetime);
    }
  }
  if (key.mki.has_value()) {
    absl::StrAppend(&out, "|", key.mki->value, ":", key.mki->length);
  }
  return out;
}

absl::StatusOr<MasterKey> GenerateMasterKey(Suite suite) {
  const SuiteInfo& info = InfoOf(suite);
  MasterKey key;
  key.suite = suite;
  key.key.resize(info.key_length);
  key.salt.resize(info.salt_length);
  RETURN_IF_ERROR(FillRandom(key.key));
  RETURN_IF_ERROR(FillRandom(key.salt));
  return key;
}

}  // namespace trunkline::media::srtp
