// The offer/answer rewriter: the SDP half of anchoring a call on the relay.
//
// Leg A sends an offer; the relay sends leg B an offer of its own that points
// every relayed stream at the relay (c=, m= port, a=rtcp), speaks B's SRTP
// policy (profile and a=crypto), and drops what only made sense end to end
// (ICE, DTLS, BUNDLE). Codecs, telephone-event, ptime and the direction pass
// through in order. B's answer is turned into A's answer the same way, but
// shaped by A's offer (RFC 3264: same m-lines, same profile, the crypto tag
// A offered).
//
//   ASSIGN_OR_RETURN(OfferRewrite offer_b, RewriteOffer(offer_a, side_a,
//                                                        side_b));
//   ... send offer_b.sdp to B, receive answer_b ...
//   ASSIGN_OR_RETURN(AnswerRewrite answer_a, RewriteAnswer(offer_a, answer_b,
//                                                           side_b, side_a));
//
// The rewriter is pure: ports and keys are allocated by the caller and given
// in the RelaySide; what the relay must set up (remote endpoints, which
// streams are relayed, the chosen crypto suite and keys, rtcp-mux) comes back
// in the result. Errors: absl::InvalidArgumentError when the plan itself is
// incomplete (a bug in the caller), absl::FailedPreconditionError when the
// SDP cannot be relayed under the plan (the caller answers 488).
#ifndef TRUNKLINE_SERVICES_MEDIA_SDP_REWRITER_H_
#define TRUNKLINE_SERVICES_MEDIA_SDP_REWRITER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/media/sdp/attributes.h"
#include "services/media/sdp/sdp.h"
#include "trunkline/v1/topology.pb.h"

namespace trunkline::media::sdp {

// The SRTP suites the relay implements (services/media/srtp), in the order it
// prefers them when it offers.
inline constexpr absl::string_view kAesCm128HmacSha1_80 =
    "AES_CM_128_HMAC_SHA1_80";
inline constexpr absl::string_view kAesCm128HmacSha1_32 =
    "AES_CM_128_HMAC_SHA1_32";
inline constexpr absl::string_view kAeadAes128Gcm = "AEAD_AES_128_GCM";
bool IsSupportedSuite(absl::string_view suite);

// The relay's ports for one m-line on one side.
struct StreamPorts {
  uint32_t rtp_port = 0;
  // A separate RTCP port, or 0 when this side's RTCP can only be muxed.
  uint32_t rtcp_port = 0;
};

// One of our master keys for a side: `key_params` is the SDES form
// ("inline:<base64 key||salt>", see services/media/srtp/sdes.h).
struct LocalKey {
  std::string suite;
  std::string key_params;
};

// How the relay presents itself to one side of the call: that side's policy
// (trunkline.v1.SidePlan) plus what the caller allocated for it.
struct RelaySide {
  // The address the relay advertises to this side (IPv4 or IPv6).
  std::string address;
  trunkline::v1::SrtpMode srtp = trunkline::v1::SRTP_MODE_UNSPECIFIED;
  // Offer rtcp-mux to this side; accept it when this side offers it.
  bool rtcp_mux = false;
  // The m-line media types the relay relays; others are refused (port 0).
  std::vector<std::string> media_types = {"audio"};
  // By m-line index. Needed for every m-line the relay relays.
  std::vector<StreamPorts> ports;
  // Our SRTP master keys for this side, at most one per suite, in the order
  // we prefer them. Offers carry all of them (tags 1, 2, ...); an answer uses
  // the one whose suite the peer offered first. Needed unless srtp is
  // SRTP_MODE_NOT_SUPPORTED.
  std::vector<LocalKey> keys;
  // o= towards this side. RFC 3264 §8: the version grows with every new
  // offer or answer the relay sends to this side.
  uint64_t session_id = 0;
  uint64_t session_version = 0;
};

// Where a peer wants a stream's media sent, from its SDP.
struct RemoteEndpoint {
  std::string address;
  uint32_t rtp_port = 0;
  // a=rtcp if present (RFC 3605), else the RTP port + 1 (RFC 3550 §11).
  std::string rtcp_address;
  uint32_t rtcp_port = 0;
  // c=0.0.0.0 (RFC 2543 hold): send this peer nothing.
  bool null_address = false;
};

// The relay's view of one m-line of an offer.
struct OfferedStream {
  bool relayed = false;
  // Why the m-line is not relayed (port 0 towards the other side).
  std::string refusal;
  RemoteEndpoint offerer;
  bool offerer_rtcp_mux = false;  // the offerer offered a=rtcp-mux
  // What the relay offered the answerer.
  bool srtp_offered = false;
  bool rtcp_mux_offered = false;
};

struct OfferRewrite {
  SessionDescription sdp;              // for the answerer
  std::vector<OfferedStream> streams;  // by m-line index
};

// The SRTP session of one side, settled by offer/answer.
struct CryptoChoice {
  uint32_t tag = 0;
  std::string suite;
  // The peer's key (for unprotecting what it sends) and ours (for protecting
  // what we send it), both as SDES key parameters.
  std::string remote_key_params;
  std::string local_key_params;
};

// The relay's view of one m-line once the answer is in.
struct AnsweredStream {
  bool relayed = false;
  std::string refusal;
  // The offerer's side (the answer goes there): where it wants media, from
  // the offer (as RewriteOffer's OfferedStream::offerer said).
  RemoteEndpoint offerer;
  std::optional<CryptoChoice> offerer_crypto;  // none: plain RTP
  bool offerer_rtcp_mux = false;
  // The answerer's side.
  RemoteEndpoint answerer;
  std::optional<CryptoChoice> answerer_crypto;  // none: plain RTP
  bool answerer_rtcp_mux = false;
};

struct AnswerRewrite {
  SessionDescription sdp;               // for the offerer
  std::vector<AnsweredStream> streams;  // by m-line index
};

// `offer` came from the side `from`; the result goes to the side `to`. Of
// `from`, only the policy is read (srtp, media_types): an m-line the offering
// side may not use is refused already here. At least one m-line must be
// relayed, else FailedPrecondition.
absl::StatusOr<OfferRewrite> RewriteOffer(const SessionDescription& offer,
                                          const RelaySide& from,
                                          const RelaySide& to);

// `offer` is what the offerer sent (the input of RewriteOffer), `answer` what
// the answerer replied to our rewritten offer, `answerer_side` and
// `offerer_side` the same two RelaySides given to RewriteOffer (as `to` and
// `from`). The result answers `offer`.
absl::StatusOr<AnswerRewrite> RewriteAnswer(const SessionDescription& offer,
                                            const SessionDescription& answer,
                                            const RelaySide& answerer_side,
                                            const RelaySide& offerer_side);

}  // namespace trunkline::media::sdp

#endif  // TRUNKLINE_SERVICES_MEDIA_SDP_REWRITER_H_
