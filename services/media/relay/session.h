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

#include "absl/container/flat_hash_map.h"
#include "services/media/relay/stream_end.h"
#include "services/media/sdp/rewriter.h"
#include "services/media/sdp/sdp.h"
#include "trunkline/v1/media.pb.h"

namespace trunkline::media::relay {

// Index of a leg in the per-leg arrays: caller 0, callee 1.
inline size_t LegIndex(v1::Leg leg) { return leg == v1::LEG_CALLEE ? 1 : 0; }
inline v1::Leg LegAt(size_t index) {
  return index == 0 ? v1::LEG_CALLER : v1::LEG_CALLEE;
}

struct SideState {
  v1::SidePlan plan;
  // How the relay presents itself to this side (rewriter input).
  sdp::RelaySide relay;
};

// One relayed m-line: the caller's end and the callee's end. The ends are
// part of the Stream (one allocation; a Stream never moves once made, so
// `peer` and the epoll tags stay valid).
struct Stream {
  uint32_t mline = 0;
  std::array<StreamEnd, 2> ends;
};

// An offer kept for its answer. The offer is kept as the text that came
// (parsed again when the answer comes: control-plane work) and only the
// per-stream outcome of the rewrite: a parsed SDP is several times the size
// of its text, and every idle session holds one of these.
struct PendingOffer {
  v1::Leg from = v1::LEG_UNSPECIFIED;
  std::string offer_sdp;
  std::vector<sdp::OfferedStream> streams;  // by m-line index
};

struct Session {
  std::string call_id;
  std::array<SideState, 2> sides;
  // By m-line index; null where the m-line is not relayed.
  std::vector<std::unique_ptr<Stream>> streams;
  std::optional<PendingOffer> pending;
  // The last offer answered: a later answer to it from the same leg (the
  // 200's SDP after a 183's) re-answers it rather than failing.
  std::optional<PendingOffer> answered;
  // "<method>/<leg>/<request id>" -> the SDP returned, for retries.
  absl::flat_hash_map<std::string, std::string> responses;
};

}  // namespace trunkline::media::relay

#endif  // TRUNKLINE_SERVICES_MEDIA_RELAY_SESSION_H_
