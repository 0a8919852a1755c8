// What goes into a call's detail record (the `msg=cdr` log line) besides
// the call's own facts: the media relay's figures for the call, as Delete
// hands them back when the call ends.
#ifndef TRUNKLINE_SERVICES_SIGNALING_CALL_RECORD_H_
#define TRUNKLINE_SERVICES_SIGNALING_CALL_RECORD_H_

#include "services/common/log.h"
#include "trunkline/v1/media.pb.h"

namespace trunkline::signaling {

// Adds, for each leg that sent the relay media, what the relay received
// from it over all the call's streams: `caller_packets` / `callee_packets`
// (RTP packets), `_lost` and `_loss_pct` (missing by sequence number),
// `_jitter_ms` (RFC 3550, the worst stream), `_rtt_ms` (from RTCP, when
// measured), `_mos` (estimated, the worst stream that had packets) and
// `_srtp_auth_failures` (when any). Quality as voice engineers read it per
// direction: the caller's figures are the audio the callee got.
void AddMediaFigures(const v1::QueryResponse& figures, LogLine& record);

}  // namespace trunkline::signaling

#endif  // TRUNKLINE_SERVICES_SIGNALING_CALL_RECORD_H_
