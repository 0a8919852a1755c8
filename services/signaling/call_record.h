// What goes into a call's detail record (the `msg=cdr` log line) besides
// the call's own facts: the media relay's figures for the call, as Delete
// hands them back when the call ends.
#ifndef TRUNKLINE_SERVICES_SIGNALING_CALL_RECORD_H_
#define TRUNKLINE_SERVICES_SIGNALING_CALL_RECORD_H_

#include <cstdint>

#include "services/common/log.h"
#include "trunkline/v1/media.pb.h"

namespace trunkline::signaling {

// What the relay received from one leg over all of a call's streams.
struct LegQuality {
  bool seen = false;  // the leg has a stream
  uint64_t packets = 0;
  uint64_t lost = 0;
  double jitter_ms = 0;  // the worst stream's
  double rtt_ms = 0;     // the worst stream's; 0: not measured
  double mos = 0;        // the worst stream's with packets; 0: none
  uint64_t auth_failures = 0;
  // Lost over expected (packets + lost); 0 when nothing was expected.
  double loss_ratio() const {
    return packets + lost == 0 ? 0 : double(lost) / double(packets + lost);
  }
};
// Both legs' figures, each summed over the call's streams (one pass).
struct CallQuality {
  LegQuality caller;
  LegQuality callee;
};
CallQuality Summarize(const v1::QueryResponse& figures);

// Adds, for each leg that sent the relay media, what the relay received
// from it over all the call's streams: `caller_packets` / `callee_packets`
// (RTP packets), `_lost` and `_loss_pct` (missing by sequence number),
// `_jitter_ms` (RFC 3550, the worst stream), `_rtt_ms` (from RTCP, when
// measured), `_mos` (estimated, the worst stream that had packets) and
// `_srtp_auth_failures` (when any). Quality as voice engineers read it per
// direction: the caller's figures are the audio the callee got.
void AddMediaFigures(const CallQuality& quality, LogLine& record);

}  // namespace trunkline::signaling

#endif  // TRUNKLINE_SERVICES_SIGNALING_CALL_RECORD_H_
