#include "services/media/sdp/attributes.h"

#include <array>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace trunkline::media::sdp {
namespace {

bool IsDigits(absl::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::vector<absl::string_view> Words(absl::string_view text) {
  return absl::StrSplit(text, ' ', absl::SkipEmpty());
}

// Numbers in SDP are decimal digits only: SimpleAtoi alone would also take
// "+5" or " 5".
template <typename T>
bool ParseNumber(absl::string_view text, T* out) {
  return IsDigits(text) && text.size() <= 20 && absl::SimpleAtoi(text, out);
}

absl::StatusOr<uint32_t> ParseRtcpPort(absl::string_view text) {
  uint32_t port = 0;
  if (!ParseNumber(text, &port) || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("a=rtcp port '", text, "' is not in 0..65535"));
  }
  return port;
}

}  // namespace

absl::StatusOr<RtpMap> ParseRtpMap(absl::string_view value) {
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(value, absl::MaxSplits(' ', 1));
  RtpMap map;
  if (!ParseNumber(parts.first, &map.payload_type) || map.payload_type > 127) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a=rtpmap payload type '", parts.first, "' is not in 0..127"));
  }
  std::vector<absl::string_view> encoding = absl::StrSplit(
      absl::StripAsciiWhitespace(parts.second), absl::MaxSplits('/', 2));
  if (encoding.size() < 2 || encoding[0].empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a=rtpmap needs '<pt> <encoding>/<clock rate>', got '", value, "'"));
  }
  if (!ParseNumber(encoding[1], &map.clock_rate) || map.clock_rate == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a=rtpmap clock rate '", encoding[1], "' is not a positive number"));
  }
  map.encoding = std::string(encoding[0]);
  if (encoding.size() == 3) map.parameters = std::string(encoding[2]);
  return map;
}

absl::StatusOr<Fmtp> ParseFmtp(absl::string_view value) {
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(value, absl::MaxSplits(' ', 1));
  if (parts.first.empty()) {
    return absl::InvalidArgumentError(
        "a=fmtp needs '<format> <parameters>', the format is missing");
  }
  return Fmtp{std::string(parts.first),
              std::string(absl::StripAsciiWhitespace(parts.second))};
}

absl::StatusOr<Crypto> ParseCrypto(absl::string_view value) {
  std::vector<absl::string_view> words = Words(value);
  if (words.size() < 3) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a=crypto needs '<tag> <crypto-suite> <key-params>', got '", value,
        "'"));
  }
  Crypto crypto;
  // RFC 4568 §9.1: tag = 1*9DIGIT.
  if (words[0].size() > 9 || !ParseNumber(words[0], &crypto.tag)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a=crypto tag '", words[0], "' is not a number of 1 to 9 digits"));
  }
  crypto.suite = std::string(words[1]);
  for (absl::string_view key_param : absl::StrSplit(words[2], ';')) {
    // key-param = key-method ":" key-info; SDES defines only "inline".
    size_t colon = key_param.find(':');
    if (colon == absl::string_view::npos || colon == 0 ||
        colon + 1 == key_param.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "a=crypto key parameter '", key_param,
          "' is not '<method>:<key info>' (e.g. 'inline:<base64>')"));
    }
    crypto.key_params.emplace_back(key_param);
  }
  for (size_t i = 3; i < words.size(); ++i) {
    crypto.session_params.emplace_back(words[i]);
  }
  return crypto;
}

std::string FormatCrypto(const Crypto& crypto) {
  std::string out = absl::StrCat(crypto.tag, " ", crypto.suite, " ",
                                 absl::StrJoin(crypto.key_params, ";"));
  for (const std::string& param : crypto.session_params) {
    absl::StrAppend(&out, " ", param);
  }
  return out;
}

absl::StatusOr<Rtcp> ParseRtcp(absl::string_view value) {
  std::vector<absl::string_view> words = Words(value);
  if (words.size() != 1 && words.size() != 4) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a=rtcp needs '<port>' or '<port> IN <IP4|IP6> <address>', got '",
        value, "'"));
  }
  Rtcp rtcp;
  absl::StatusOr<uint32_t> port = ParseRtcpPort(words[0]);
  if (!port.ok()) return port.status();
  rtcp.port = *port;
  if (words.size() == 4) {
    if (words[1] != "IN" || (words[2] != "IP4" && words[2] != "IP6")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "a=rtcp address must be 'IN IP4|IP6 <address>', got '", value, "'"));
    }
    Connection connection;
    connection.address_type = std::string(words[2]);
    connection.address = std::string(words[3]);
    rtcp.connection = std::move(connection);
  }
  return rtcp;
}

absl::StatusOr<uint32_t> ParsePtime(absl::string_view value) {
  absl::string_view whole = value.substr(0, value.find('.'));
  absl::string_view fraction =
      whole.size() < value.size() ? value.substr(whole.size() + 1) : "";
  uint32_t ptime = 0;
  if (!ParseNumber(whole, &ptime) || ptime == 0 ||
      (whole.size() < value.size() && !IsDigits(fraction))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a=ptime '", value, "' is not a positive number of milliseconds"));
  }
  return ptime;
}

absl::StatusOr<Candidate> ParseCandidate(absl::string_view value) {
  std::vector<absl::string_view> words = Words(value);
  if (words.size() < 8 || words[6] != "typ") {
    return absl::InvalidArgumentError(absl::StrCat(
        "a=candidate needs '<foundation> <component> <transport> <priority> "
        "<address> <port> typ <type>', got '",
        value, "'"));
  }
  Candidate candidate;
  candidate.foundation = std::string(words[0]);
  if (!ParseNumber(words[1], &candidate.component) ||
      candidate.component == 0 || candidate.component > 256) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a=candidate component '", words[1], "' is not in 1..256"));
  }
  candidate.transport = std::string(words[2]);
  if (!ParseNumber(words[3], &candidate.priority)) {
    return absl::InvalidArgumentError(
        absl::StrCat("a=candidate priority '", words[3], "' is not a number"));
  }
  candidate.address = std::string(words[4]);
  if (!ParseNumber(words[5], &candidate.port) || candidate.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("a=candidate port '", words[5], "' is not in 0..65535"));
  }
  candidate.type = std::string(words[7]);
  for (size_t i = 8; i < words.size(); ++i) {
    candidate.extensions.emplace_back(words[i]);
  }
  return candidate;
}

bool IsIceOrDtlsAttribute(absl::string_view name) {
  static constexpr std::array<absl::string_view, 13> kNames = {
      // ICE, RFC 8839 (and the ICE options of RFC 8840 / 8445).
      "candidate", "remote-candidates", "end-of-candidates", "ice-ufrag",
      "ice-pwd", "ice-options", "ice-lite", "ice-mismatch", "ice-pacing",
      // DTLS-SRTP, RFC 5763 / 8122 / 8842 / 4145.
      "fingerprint", "setup", "tls-id", "connection"};
  for (absl::string_view known : kNames) {
    if (name == known) return true;
  }
  return false;
}

absl::Status ValidateAttribute(const Attribute& attribute) {
  const std::string& name = attribute.name;
  const bool property = DirectionFromName(name).has_value() ||
                        name == "rtcp-mux" || name == "end-of-candidates";
  if (property) {
    if (attribute.value.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("a=", name, " is a flag and takes no value, got '",
                       *attribute.value, "'"));
    }
    return absl::OkStatus();
  }

  // The attributes below the relay reads: they need a value that parses.
  absl::Status status;
  if (name == "rtpmap") {
    status = attribute.value ? ParseRtpMap(*attribute.value).status()
                             : absl::InvalidArgumentError("");
  } else if (name == "fmtp") {
    status = attribute.value ? ParseFmtp(*attribute.value).status()
                             : absl::InvalidArgumentError("");
  } else if (name == "crypto") {
    status = attribute.value ? ParseCrypto(*attribute.value).status()
                             : absl::InvalidArgumentError("");
  } else if (name == "rtcp") {
    status = attribute.value ? ParseRtcp(*attribute.value).status()
                             : absl::InvalidArgumentError("");
  } else if (name == "ptime") {
    status = attribute.value ? ParsePtime(*attribute.value).status()
                             : absl::InvalidArgumentError("");
  }
  if (!status.ok() && status.message().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("a=", name, " needs a value (a=", name, ":...)"));
  }
  return status;
}

}  // namespace trunkline::media::sdp
