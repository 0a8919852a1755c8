// A call anchored on the relay: its two sides' plans and the relay's
// presentation to each (ports, keys, o= versions), its streams, the offer
// waiting for an answer, and the answers already given (for idempotent
// retries). Owned by one Worker; see stream_end.h for the graph below.
#ifndef TRUNKLINE_SERVICES_MEDIA_RELAY_SESSION_H_
#define TRUNKLINE_SERVICES_MEDIA_RELAY_SESSION_H_

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "services/media/relay/response_cache.h"
#include "services/media/relay/stream_end.h"
#include "services/media/sdp/rewriter.h"
#include "services/media/sdp/sdp.h"
#include "services/media/srtp/suite.h"
#include "trunkline/v1/media.pb.h"

namespace trunkline::media::relay {

// Index of a leg in the per-leg arrays: caller 0, callee 1.
inline size_t LegIndex(v1::Leg leg) { return leg == v1::LEG_CALLEE ? 1 : 0; }
inline v1::Leg LegAt(size_t index) {
  return index == 0 ? v1::LEG_CALLER : v1::LEG_CALLEE;
}

// One of our SDES master keys towards a side, as octets (key, then salt);
// its "inline:" text is made when an SDP is written (control path). Kept as
// text (a suite name and key parameters, two heap strings each, three keys
// per side) they were about 0.7 KiB of every idle SRTP session.
struct OurKey {
  srtp::Suite suite = srtp::Suite::kAesCm128HmacSha1_80;
  std::array<uint8_t, 30> material{};  // the suites' longest: 16 + 14
};

// What the session keeps of one side: the plan's settings the relay goes on
// applying (v1::SidePlan), our SDES keys towards it and the o= version. The
// rewriter's sdp::RelaySide is built from this for each offer and answer
// (Worker::RelaySideFor, control path): the ports come from the streams,
// the media types from the instance's options, the o= session id from the
// call id. Keeping a whole SidePlan and RelaySide per side (with their own
// copies of the media types and ports) made every idle session ~400
// octets larger.
struct SideState {
  // Empty: the instance's --advertised_address.
  std::string advertised_address;
  // Resolved: SRTP_MODE_UNSPECIFIED is stored as SRTP_MODE_OPTIONAL.
  v1::SrtpMode srtp = v1::SRTP_MODE_OPTIONAL;
  bool rtcp_mux = false;
  bool latching = false;
  bool strict_source = false;
  bool expect_rtcp = false;
  bool expect_rtcp_on_hold = false;
  // 0: the instance's --rtp_timeout_seconds.
  uint32_t rtp_timeout_seconds = 0;
  // Our SRTP master keys towards this side (none when it speaks only plain
  // RTP). They live as long as the session: a re-INVITE that does not rekey
  // keeps both ends' contexts (and their rollover counters).
  std::vector<OurKey> keys;
  // o= version of the last SDP the relay sent this side (RFC 3264 §8).
  uint64_t session_version = 0;
};

// One relayed m-line: the caller's end and the callee's end. The ends are
// part of the Stream (one allocation; a Stream never moves once made, so
// `peer` and the epoll tags stay valid).
struct Stream {
  uint32_t mline = 0;
  std::array<StreamEnd, 2> ends;
};

// An offer kept for its answer, as the text that came: it is parsed again
// when the answer comes (control-plane work), and what the answer needs of
// it (the offerer's addresses, its crypto) is read from it then. A parsed
// SDP is several times the size of its text, and every idle session holds
// one of these.
struct PendingOffer {
  v1::Leg from = v1::LEG_UNSPECIFIED;
  std::string offer_sdp;
};

struct Session {
  std::string call_id;
  int64_t created_ns = 0;  // monotonic
  std::array<SideState, 2> sides;
  // By m-line index; null where the m-line is not relayed.
  std::vector<std::unique_ptr<Stream>> streams;
  std::optional<PendingOffer> pending;
  // The last offer answered: a later answer to it from the same leg (the
  // 200's SDP after a 183's) re-answers it rather than failing.
  std::optional<PendingOffer> answered;
  // The SDP returned for each request, for retries.
  ResponseCache responses;
};

}  // namespace trunkline::media::relay

#endif  // TRUNKLINE_SERVICES_MEDIA_RELAY_SESSION_H_
