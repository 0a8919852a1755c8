#include "services/media/relay/stream_stats.h"

#include <algorithm>
#include <cstdlib>

namespace trunkline::media::relay {

double EstimateRFactor(double one_way_delay_ms, double jitter_ms,
                       double loss_fraction) {
  // Jitter costs delay in the receiver's buffer; 10 ms for the codec.
  const double delay = one_way_delay_ms + 2 * jitter_ms + 10;
  const double delay_impairment = delay < 160 ? delay / 40 : (delay - 120) / 10;
  // G.711 without PLC: Ie-eff grows ~2.5 points per percent of loss.
  const double loss_impairment =
      2.5 * 100 * std::clamp(loss_fraction, 0.0, 1.0);
  return std::clamp(93.2 - delay_impairment - loss_impairment, 0.0, 100.0);
}

double MosFromRFactor(double r) {
  if (r <= 0) return 1.0;
  if (r >= 100) return 4.5;
  return std::clamp(1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r), 1.0, 4.5);
}

void ReceiveStats::ResetSequence(uint16_t sequence) {
  base_sequence_ = sequence;
  max_sequence_ = sequence;
  cycles_ = 0;
  received_since_base_ = 0;
}

void ReceiveStats::OnRtp(uint32_t ssrc, uint16_t sequence,
                         uint32_t rtp_timestamp, size_t bytes,
                         int64_t arrival_ns, uint32_t clock_rate) {
  ++packets_;
  bytes_ += bytes;
  if (!started_ || ssrc != ssrc_) {
    // A new source (a new SSRC after a re-INVITE or a transfer): keep what
    // the old one lost, start its sequence and jitter afresh.
    if (started_) lost_before_ = lost();
    started_ = true;
    ssrc_ = ssrc;
    ResetSequence(sequence);
    jitter_q4_ = 0;
    clock_rate_ = clock_rate == 0 ? 8000 : clock_rate;
    last_transit_ =
        arrival_ns * int64_t(clock_rate_) / 1000000000 - int64_t(rtp_timestamp);
    received_since_base_ = 1;
    return;
  }
  ++received_since_base_;
  // RFC 3550 A.1, without probation: a forward step wraps the cycle count; a
  // big jump restarts the count (a peer that restarted its sequence).
  const uint16_t max16 = uint16_t(max_sequence_);
  const uint16_t delta = uint16_t(sequence - max16);
  if (delta < 3000) {
    if (sequence < max16) cycles_ += 1 << 16;
    max_sequence_ = sequence;
  } else if (delta <= 65535 - 100) {
    lost_before_ = lost();
    ResetSequence(sequence);
    received_since_base_ = 1;
  }
  // RFC 3550 A.8: transit in timestamp units, |D| smoothed by 1/16.
  if (clock_rate != 0) clock_rate_ = clock_rate;
  const int64_t transit =
      arrival_ns * int64_t(clock_rate_) / 1000000000 - int64_t(rtp_timestamp);
  int64_t d = transit - last_transit_;
  last_transit_ = transit;
  if (d < 0) d = -d;
  // Over a timestamp jump (a new talk spurt after silence suppression) the
  // difference says nothing about the network.
  if (d < int64_t(clock_rate_)) jitter_q4_ += d - ((jitter_q4_ + 8) >> 4);
}

uint64_t ReceiveStats::lost() const {
  if (!started_) return lost_before_;
  const uint64_t extended_max = uint64_t(cycles_) + max_sequence_;
  const uint64_t expected = extended_max - base_sequence_ + 1;
  const uint64_t lost_now =
      expected > received_since_base_ ? expected - received_since_base_ : 0;
  return lost_before_ + lost_now;
}

double ReceiveStats::jitter_ms() const {
  return double(jitter_q4_) / 16.0 * 1000.0 / double(clock_rate_);
}

double ReceiveStats::mos() const {
  if (packets_ == 0) return 0;
  const uint64_t lost_packets = lost();
  const double loss = double(lost_packets) / double(lost_packets + packets_);
  return MosFromRFactor(EstimateRFactor(rtt_ms_ / 2, jitter_ms(), loss));
}

}  // namespace trunkline::media::relay
