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

struct StreamEnd;

// What epoll hands back for a readable socket.
struct SocketRef {
  StreamEnd* end = nullptr;
  bool rtcp_socket = false;
};

// An RTP payload type and its clock, from a=rtpmap (or the static table).
struct PayloadClock {
  uint8_t payload_type = 0;
  uint32_t clock_rate = 0;
};

// An inbound SRTP context and the SDES key parameters it was made from
// (kept across a re-INVITE that repeats the key, with its replay window).
struct InboundKey {
  std::unique_ptr<srtp::InboundSrtp> context;
  std::string key_params;
  explicit operator bool() const { return context != nullptr; }
};

struct StreamEnd {
  v1::Leg leg = v1::LEG_UNSPECIFIED;
  uint32_t mline = 0;
  // The call this end belongs to (for events; owned by the Session).
  const std::string* call_id = nullptr;
  StreamEnd* peer = nullptr;

  // Sockets facing this leg. rtp_port is even; rtcp_fd is on rtp_port + 1.
  int rtp_fd = -1;
  int rtcp_fd = -1;
  uint16_t rtp_port = 0;
  SocketRef rtp_ref{this, false};
  SocketRef rtcp_ref{this, true};

  // Media flows once offer and answer agreed on this stream.
  bool active = false;
  // RTCP with this leg travels on the RTP port (RFC 5761).
  bool rtcp_mux = false;
  // Where this leg wants media (its SDP), and what latching learnt.
  Endpoint sdp_rtp;
  Endpoint sdp_rtcp;
  Endpoint latched_rtp;
  Endpoint latched_rtcp;
  // c=0.0.0.0: send this leg nothing (RFC 2543 hold).
  bool null_address = false;
  bool latching = false;
  bool strict_source = false;

  // SRTP with this leg; no context when the leg speaks plain RTP.
  InboundKey inbound;
  std::unique_ptr<srtp::OutboundSrtp> outbound;
  // Which SDES key `outbound` was made from, to keep it (and its rollover
  // state) across a re-INVITE that does not change it.
  std::string outbound_key_params;
  // Keys the leg may switch to or from around a re-INVITE: the key of the
  // previous offer/answer (packets in flight) and the keys of an offer not
  // yet answered (a peer that starts its new key at once). Tried only when
  // `inbound` fails to authenticate; a candidate that succeeds becomes
  // `inbound`.
  InboundKey inbound_previous;
  std::vector<InboundKey> inbound_candidates;

  // Payload types this leg sends, for jitter and RFC 4733.
  std::array<PayloadClock, 16> clocks{};
  size_t clock_count = 0;
  int telephone_event_pt = -1;
  // The leg's own SDP direction allows it to send (not recvonly/inactive).
  bool expects_rtp = true;
  uint32_t rtp_timeout_seconds = 0;
  bool expect_rtcp = false;

  ReceiveStats stats;
  int64_t last_rtp_ns = 0;   // monotonic; 0: none yet
  int64_t last_rtcp_ns = 0;  // monotonic; 0: none yet
  int64_t last_packet_unix_ms = 0;
  int64_t armed_ns = 0;  // when timeouts started counting (activation)
  bool rtp_timeout_reported = false;
  bool rtcp_timeout_reported = false;
  uint64_t auth_failures_reported = 0;
  int64_t last_auth_event_ns = 0;
  // RFC 4733: the timestamp of the last event reported, so the three end
  // packets of one event make one event.
  uint32_t last_dtmf_timestamp = 0;
  bool dtmf_reported = false;
  // Sender reports the relay forwarded to this leg, for RTT from its
  // receiver reports' LSR/DLSR: (NTP middle 32 bits, monotonic send time).
  std::array<std::pair<uint32_t, int64_t>, 4> sent_reports{};
  size_t next_sent_report = 0;

  uint32_t ClockRate(uint8_t payload_type) const {
    for (size_t i = 0; i < clock_count; ++i) {
      if (clocks[i].payload_type == payload_type) return clocks[i].clock_rate;
    }
    return 8000;
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
