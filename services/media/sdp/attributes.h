// Typed views of the SDP attributes the relay reads or writes.
//
// Each Parse* takes the attribute value (what follows "a=<name>:") and returns
// the typed form or an absl::InvalidArgumentError saying what is wrong; the
// SDP parser adds the line number. Format* is the inverse where the relay
// writes the attribute itself.
#ifndef TRUNKLINE_SERVICES_MEDIA_SDP_ATTRIBUTES_H_
#define TRUNKLINE_SERVICES_MEDIA_SDP_ATTRIBUTES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/media/sdp/sdp.h"

namespace trunkline::media::sdp {

// a=rtpmap:<payload type> <encoding name>/<clock rate>[/<parameters>]
struct RtpMap {
  int payload_type = 0;
  std::string encoding;  // as written: "PCMU", "telephone-event", ...
  uint32_t clock_rate = 0;
  std::string parameters;  // channels for audio, empty when absent
};
absl::StatusOr<RtpMap> ParseRtpMap(absl::string_view value);

// a=fmtp:<format> <format specific parameters>
struct Fmtp {
  std::string format;
  std::string parameters;
};
absl::StatusOr<Fmtp> ParseFmtp(absl::string_view value);

// a=crypto:<tag> <crypto-suite> <key-params>[;<key-params>...] [<session
// params>...] (RFC 4568 §9.1). The key parameters stay strings here
// ("inline:<key||salt>|2^31|1:4"): decoding them is the SRTP layer's job
// (services/media/srtp/sdes.h), which knows each suite's key lengths.
struct Crypto {
  uint32_t tag = 0;
  std::string suite;
  std::vector<std::string> key_params;
  std::vector<std::string> session_params;
};
absl::StatusOr<Crypto> ParseCrypto(absl::string_view value);
std::string FormatCrypto(const Crypto& crypto);

// a=rtcp:<port>[ <nettype> <addrtype> <address>] (RFC 3605).
struct Rtcp {
  uint32_t port = 0;
  std::optional<Connection> connection;
};
absl::StatusOr<Rtcp> ParseRtcp(absl::string_view value);

// a=ptime:<milliseconds>. Some stacks write a fraction ("20.0"); it is
// accepted and rounded down.
absl::StatusOr<uint32_t> ParsePtime(absl::string_view value);

// a=candidate (RFC 8839 §5.1). The relay does not do ICE: it strips these,
// so the typed form exists to describe a peer's offer, not to act on it.
struct Candidate {
  std::string foundation;
  uint32_t component = 0;
  std::string transport;
  uint64_t priority = 0;
  std::string address;
  uint32_t port = 0;
  std::string type;                     // host, srflx, prflx, relay
  std::vector<std::string> extensions;  // raddr/rport and the rest, verbatim
};
absl::StatusOr<Candidate> ParseCandidate(absl::string_view value);

// True for the attributes of ICE (RFC 8839) and DTLS-SRTP (RFC 5763/8842),
// which describe the peer's transport and mean nothing once the relay
// terminates the media.
bool IsIceOrDtlsAttribute(absl::string_view name);

// Checks one attribute the way Parse() does: the attributes above must parse,
// direction and rtcp-mux must not carry a value. Unknown attributes pass.
absl::Status ValidateAttribute(const Attribute& attribute);

}  // namespace trunkline::media::sdp

#endif  // TRUNKLINE_SERVICES_MEDIA_SDP_ATTRIBUTES_H_
