// The relay's object graph below a session:
//
//   Session (call id)            owned by one Worker
//     └─ Stream (one per relayed m-line)
//          └─ StreamEnd × 2 (caller side, callee side)
//               └─ sockets: RTP, and RTCP unless that side muxes
//
// A StreamEnd is everything the relay knows about one leg of one stream: the
// sockets that leg sends to, where the relay sends that leg's media, the
// SRTP contexts with that leg, and what that leg's packets measured. Its
// `peer` is the other leg's end of the same stream: a packet received on an
// end leaves through its peer. Only the owning worker thread touches these.
#ifndef TRUNKLINE_SERVICES_MEDIA_RELAY_STREAM_END_H_
#define TRUNKLINE_SERVICES_MEDIA_RELAY_STREAM_END_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "services/media/relay/endpoint.h"
#include "services/media/relay/stream_stats.h"
#include "services/media/srtp/srtp_session.h"
#include "trunkline/v1/media.pb.h"

namespace trunkline::media::relay {

// An RTP payload type and its clock, from a=rtpmap (or the static table).
struct PayloadClock {
  uint8_t payload_type = 0;
  uint32_t clock_rate = 0;
};

// The RTP clock of each payload type a leg sends, for jitter and RFC 4733
// durations. Only the types whose clock is not 8000 are kept, out of line:
// 8000 is also what a type not kept reads, so a narrowband stream (PCMU,
// PCMA, telephone-event/8000) keeps nothing, where the fixed table of 16
// types inline cost every stream end 136 octets.
class PayloadClocks {
 public:
  // Replaces the table with `clocks` (the first entry of a payload type is
  // the one that counts, as in a lookup in order). Control path only:
  // allocates.
  void Assign(const PayloadClock* clocks, size_t count);
  // The clock of `payload_type`, 8000 for a type not in the table.
  uint32_t ClockRate(uint8_t payload_type) const {
    if (entries_ == nullptr) return 8000;
    for (const PayloadClock* entry = entries_.get();
         entry->payload_type != kEnd; ++entry) {
      if (entry->payload_type == payload_type) return entry->clock_rate;
    }
    return 8000;
  }
  // How many types are kept (those whose clock is not 8000).
  size_t kept() const;

 private:
  // Ends the table: RTP payload types are 0-127. A terminator rather than a
  // count keeps this one pointer.
  static constexpr uint8_t kEnd = 0xFF;
  std::unique_ptr<PayloadClock[]> entries_;  // null: nothing kept
};

// An inbound SRTP context (kept across a re-INVITE that repeats the key,
// with its replay window: InboundSrtp::UsesKey tells).
struct InboundKey {
  std::unique_ptr<srtp::InboundSrtp> context;
  explicit operator bool() const { return context != nullptr; }
};

// SRTP with one leg. Out of line, because most streams are plain RTP and
// these ~150 octets (contexts, their SDES text, the alternates) were in
// every idle StreamEnd. Created on the control path (an answer with keys,
// or a re-offer with candidate keys), never by a packet.
struct SrtpState {
  InboundKey inbound;
  // Kept (with its rollover state) across a re-INVITE that does not change
  // our key: OutboundSrtp::UsesKey tells.
  std::unique_ptr<srtp::OutboundSrtp> outbound;
  // Keys the leg may switch to or from around a re-INVITE: the key of the
  // previous offer/answer (packets in flight) and the keys of an offer not
  // yet answered (a peer that starts its new key at once). Tried only when
  // `inbound` fails to authenticate; a candidate that succeeds becomes
  // `inbound`.
  InboundKey inbound_previous;
  std::vector<InboundKey> inbound_candidates;
  // When the last KIND_SRTP_FAILURE of this leg was published (monotonic;
  // 0: none), to publish at most one a second. Only an end with an inbound
  // key can fail authentication, so this lives here.
  int64_t last_auth_event_ns = 0;
};

// What the relay measured of one leg's packets (RFC 3550 figures) and the
// sender reports it forwarded to that leg (for RTT from its receiver
// reports). Out of line, made at the end's first packet: an idle end (a
// ringing call, a held one, a fork that lost) would otherwise carry these
// ~180 octets for nothing. One allocation per end, never one per packet.
struct EndTelemetry {
  ReceiveStats stats;
  // The NTP middle 32 bits and the monotonic send time of each (two arrays:
  // pairs would pad each entry to 16).
  std::array<uint32_t, 4> sent_report_ntp{};
  std::array<int64_t, 4> sent_report_ns{};
  // The next slot of sent_report_ntp/sent_report_ns to overwrite.
  uint8_t next_sent_report = 0;
};

struct StreamEnd {
  v1::Leg leg = v1::LEG_UNSPECIFIED;
  // Index of the m-line (an SDP has a handful; 16 bits leave room for the
  // two flags below in what was padding).
  uint16_t mline = 0;
  // Its direction is sendrecv: a stream with an end that is not is on hold.
  bool sendrecv = true;
  // KIND_RTCP_TIMEOUT from this end while the stream is on hold (and
  // `expect_rtcp` while it is active).
  bool expect_rtcp_on_hold = false;
  // The call this end belongs to (for events; owned by the Session).
  const std::string* call_id = nullptr;
  StreamEnd* peer = nullptr;

  // Sockets facing this leg. rtp_port is even; rtcp_fd is on rtp_port + 1.
  // epoll reports them with this end's address (Worker::SocketTag).
  int rtp_fd = -1;
  int rtcp_fd = -1;
  uint16_t rtp_port = 0;
  // Which opening of these sockets this is, per worker: io_uring
  // completions carry it, so one of a socket closed since is told apart
  // from one of a new socket that got the same fd number.
  uint16_t io_generation = 0;

  // Media flows once offer and answer agreed on this stream.
  bool active = false;
  // RTCP with this leg travels on the RTP port (RFC 5761).
  bool rtcp_mux = false;
  // c=0.0.0.0: send this leg nothing (RFC 2543 hold).
  bool null_address = false;
  bool latching = false;
  bool strict_source = false;
  // The leg's own SDP direction allows it to send (not recvonly/inactive).
  bool expects_rtp = true;
  bool expect_rtcp = false;
  bool rtp_timeout_reported = false;
  bool rtcp_timeout_reported = false;
  // RFC 4733: whether an event was reported, and the timestamp of the last
  // one, so the three end packets of one event make one event.
  bool dtmf_reported = false;
  int16_t telephone_event_pt = -1;
  uint32_t last_dtmf_timestamp = 0;
  uint32_t rtp_timeout_seconds = 0;

  // Where this leg wants media (its SDP), and what latching learnt.
  Endpoint sdp_rtp;
  Endpoint sdp_rtcp;
  Endpoint latched_rtp;
  Endpoint latched_rtcp;

  // SRTP with this leg; null while the leg speaks plain RTP (and has never
  // been offered keys).
  std::unique_ptr<SrtpState> srtp;

  // Payload types this leg sends, for jitter and RFC 4733.
  PayloadClocks clocks;

  // Null until the first packet from this leg (or SR to it).
  std::unique_ptr<EndTelemetry> telemetry;
  int64_t last_rtp_ns = 0;   // monotonic; 0: none yet
  int64_t last_rtcp_ns = 0;  // monotonic; 0: none yet
  int64_t last_packet_unix_ms = 0;
  int64_t armed_ns = 0;  // when timeouts started counting (activation)

  // The SRTP contexts the packet path uses; null for plain RTP.
  srtp::InboundSrtp* inbound_srtp() const {
    return srtp != nullptr ? srtp->inbound.context.get() : nullptr;
  }
  srtp::OutboundSrtp* outbound_srtp() const {
    return srtp != nullptr ? srtp->outbound.get() : nullptr;
  }
  // The figures of this leg's packets; all zero before the first one.
  const ReceiveStats& stats() const {
    static const ReceiveStats* const kNone = new ReceiveStats();
    return telemetry != nullptr ? telemetry->stats : *kNone;
  }
  // The telemetry, made at the first packet (data path: allocates once per
  // end).
  EndTelemetry& MutableTelemetry() {
    if (telemetry == nullptr) telemetry = std::make_unique<EndTelemetry>();
    return *telemetry;
  }
  ReceiveStats& MutableStats() { return MutableTelemetry().stats; }
  // The SRTP state, created if there is none. Control path only: allocates.
  SrtpState& MutableSrtp() {
    if (srtp == nullptr) srtp = std::make_unique<SrtpState>();
    return *srtp;
  }

  uint32_t ClockRate(uint8_t payload_type) const {
    return clocks.ClockRate(payload_type);
  }
  // Where RTP (RTCP) for this leg goes and through which socket; nullptr
  // when not known or on hold.
  const Endpoint* RtpDestination() const {
    if (null_address) return nullptr;
    if (latching && latched_rtp.known()) return &latched_rtp;
    return sdp_rtp.known() ? &sdp_rtp : nullptr;
  }
  const Endpoint* RtcpDestination() const {
    if (null_address) return nullptr;
    if (rtcp_mux) return RtpDestination();
    if (latching && latched_rtcp.known()) return &latched_rtcp;
    return sdp_rtcp.known() ? &sdp_rtcp : nullptr;
  }
  int RtcpSendFd() const { return rtcp_mux || rtcp_fd < 0 ? rtp_fd : rtcp_fd; }
};

}  // namespace trunkline::media::relay

#endif  // TRUNKLINE_SERVICES_MEDIA_RELAY_STREAM_END_H_
