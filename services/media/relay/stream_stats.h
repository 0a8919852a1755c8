// What the relay measures about the RTP one leg sends it: packets, loss by
// sequence number and interarrival jitter as RFC 3550 (A.1, A.8) computes
// them, RTT from RTCP, and an estimated MOS.
//
// A ReceiveStats belongs to the worker that owns the stream; it is updated
// once per packet and allocates nothing.
#ifndef TRUNKLINE_SERVICES_MEDIA_RELAY_STREAM_STATS_H_
#define TRUNKLINE_SERVICES_MEDIA_RELAY_STREAM_STATS_H_

#include <cstddef>
#include <cstdint>

namespace trunkline::media::relay {

// ITU-T G.107 E-model, simplified for a narrowband codec without PLC
// information: the R-factor from one-way delay and loss, and the MOS it maps
// to (1.0..4.5). `loss_fraction` is 0..1.
double EstimateRFactor(double one_way_delay_ms, double jitter_ms,
                       double loss_fraction);
double MosFromRFactor(double r);

class ReceiveStats {
 public:
  // One accepted RTP packet. `arrival_ns` is a monotonic clock; `clock_rate`
  // the payload type's RTP clock (8000 for PCMU).
  void OnRtp(uint32_t ssrc, uint16_t sequence, uint32_t rtp_timestamp,
             size_t bytes, int64_t arrival_ns, uint32_t clock_rate);
  void OnRtcp() { ++rtcp_packets_; }
  void OnRttSample(double rtt_ms) { rtt_ms_ = rtt_ms; }
  void OnAuthFailure() { ++auth_failures_; }
  void OnDrop() { ++dropped_; }

  uint32_t ssrc() const { return ssrc_; }
  uint64_t packets() const { return packets_; }
  uint64_t bytes() const { return bytes_; }
  uint64_t rtcp_packets() const { return rtcp_packets_; }
  uint64_t auth_failures() const { return auth_failures_; }
  uint64_t dropped() const { return dropped_; }
  // Cumulative, RFC 3550 A.3: expected minus received, never negative.
  uint64_t lost() const;
  double jitter_ms() const;
  double rtt_ms() const { return rtt_ms_; }
  // 0 before the first packet.
  double mos() const;

 private:
  void ResetSequence(uint16_t sequence);

  // The 32-bit fields first and together: every stream end holds one of
  // these, and interleaving them with the 64-bit ones padded it by 8.
  uint32_t ssrc_ = 0;
  uint32_t base_sequence_ = 0;
  uint32_t max_sequence_ = 0;
  uint32_t cycles_ = 0;
  uint32_t clock_rate_ = 8000;
  bool started_ = false;
  uint64_t packets_ = 0;
  uint64_t bytes_ = 0;
  uint64_t rtcp_packets_ = 0;
  uint64_t auth_failures_ = 0;
  uint64_t dropped_ = 0;
  // Packets counted towards loss since the last SSRC change.
  uint64_t received_since_base_ = 0;
  uint64_t lost_before_ = 0;  // loss of earlier SSRCs
  // Jitter in RTP timestamp units scaled by 16 (RFC 3550 A.8's integer form).
  int64_t jitter_q4_ = 0;
  int64_t last_transit_ = 0;
  double rtt_ms_ = 0;
};

}  // namespace trunkline::media::relay

#endif  // TRUNKLINE_SERVICES_MEDIA_RELAY_STREAM_STATS_H_
