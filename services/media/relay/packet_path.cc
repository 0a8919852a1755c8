#include "services/media/relay/packet_path.h"

#include <cstring>

#include "absl/types/span.h"

namespace trunkline::media::relay {
namespace {

absl::StatusOr<size_t> Unprotect(srtp::InboundSrtp& context, bool rtcp,
                                 uint8_t* data, size_t length) {
  absl::Span<uint8_t> packet(data, length);
  return rtcp ? context.UnprotectRtcp(packet) : context.UnprotectRtp(packet);
}

DropReason DropFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kUnauthenticated:
      return DropReason::kSrtpAuth;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kOutOfRange:
      return DropReason::kSrtpReplay;
    case absl::StatusCode::kInvalidArgument:
      return DropReason::kMalformed;
    default:
      return DropReason::kSrtpError;
  }
}

bool Drop(PacketContext& ctx, DropReason reason) {
  ctx.drop = reason;
  return false;
}

}  // namespace

absl::string_view DropReasonName(DropReason reason) {
  switch (reason) {
    case DropReason::kNone:
      return "none";
    case DropReason::kNotRtp:
      return "not_rtp";
    case DropReason::kMalformed:
      return "malformed";
    case DropReason::kNotNegotiated:
      return "not_negotiated";
    case DropReason::kUnexpectedSource:
      return "unexpected_source";
    case DropReason::kSrtpAuth:
      return "srtp_auth";
    case DropReason::kSrtpReplay:
      return "srtp_replay";
    case DropReason::kSrtpError:
      return "srtp_error";
    case DropReason::kNoDestination:
      return "no_destination";
    case DropReason::kProtectFailed:
      return "protect_failed";
    case DropReason::kSendFailed:
      return "send_failed";
    case DropReason::kCount:
      break;
  }
  return "unknown";
}

absl::string_view CryptoModeName(CryptoMode mode) {
  switch (mode) {
    case CryptoMode::kRtpToRtp:
      return "rtp_to_rtp";
    case CryptoMode::kRtpToSrtp:
      return "rtp_to_srtp";
    case CryptoMode::kSrtpToRtp:
      return "srtp_to_rtp";
    case CryptoMode::kSrtpToSrtp:
      return "srtp_to_srtp";
  }
  return "unknown";
}

bool Demux(PacketContext& ctx) {
  ctx.kind = Classify(ctx.data, ctx.length, ctx.rtcp_socket);
  if (ctx.kind == PacketKind::kNotRtp) return Drop(ctx, DropReason::kNotRtp);
  if (!ctx.from->active) return Drop(ctx, DropReason::kNotNegotiated);
  return true;
}

bool Parse(PacketContext& ctx) {
  if (ctx.kind == PacketKind::kRtp) {
    std::optional<RtpHeader> header = ParseRtp(ctx.data, ctx.length);
    if (!header) return Drop(ctx, DropReason::kMalformed);
    ctx.rtp = *header;
    return true;
  }
  if (ctx.length < kRtcpFixedHeader) return Drop(ctx, DropReason::kMalformed);
  return true;
}

bool CheckSource(PacketContext& ctx) {
  const StreamEnd& end = *ctx.from;
  if (!end.strict_source) return true;
  const bool rtcp_port = ctx.rtcp_socket && !end.rtcp_mux;
  const Endpoint* expected;
  if (end.latching) {
    const Endpoint& latched = rtcp_port ? end.latched_rtcp : end.latched_rtp;
    // Not latched yet: the first authentic packet will latch (Account).
    if (!latched.known()) return true;
    expected = &latched;
  } else {
    expected = rtcp_port ? &end.sdp_rtcp : &end.sdp_rtp;
  }
  if (!expected->known() || *expected != *ctx.source) {
    return Drop(ctx, DropReason::kUnexpectedSource);
  }
  return true;
}

bool Decrypt(PacketContext& ctx, PacketObserver& observer) {
  StreamEnd& end = *ctx.from;
  if (end.inbound_srtp() == nullptr) return true;
  SrtpState& keys = *end.srtp;
  const bool rtcp = ctx.kind == PacketKind::kRtcp;
  const size_t length = ctx.length;
  const bool has_alternates =
      keys.inbound_previous || !keys.inbound_candidates.empty();
  // libsrtp may leave the buffer changed when a key fails (AEAD decrypts in
  // place): keep the original for the next key.
  if (has_alternates) std::memcpy(ctx.scratch, ctx.data, length);
  absl::StatusOr<size_t> plain =
      Unprotect(*keys.inbound.context, rtcp, ctx.data, length);
  if (!plain.ok() && has_alternates &&
      plain.status().code() == absl::StatusCode::kUnauthenticated) {
    if (keys.inbound_previous) {
      std::memcpy(ctx.data, ctx.scratch, length);
      plain = Unprotect(*keys.inbound_previous.context, rtcp, ctx.data, length);
    }
    for (size_t i = 0; !plain.ok() && i < keys.inbound_candidates.size(); ++i) {
      std::memcpy(ctx.data, ctx.scratch, length);
      plain = Unprotect(*keys.inbound_candidates[i].context, rtcp, ctx.data,
                        length);
      if (plain.ok()) {
        // The leg moved to the key of its new offer before the answer came.
        keys.inbound_previous = std::move(keys.inbound);
        keys.inbound = std::move(keys.inbound_candidates[i]);
        keys.inbound_candidates.erase(keys.inbound_candidates.begin() + i);
      }
    }
  }
  if (!plain.ok()) {
    const DropReason reason = DropFor(plain.status().code());
    if (reason == DropReason::kSrtpAuth) {
      end.MutableStats().OnAuthFailure();
      observer.OnAuthFailure(end);
    }
    return Drop(ctx, reason);
  }
  ctx.length = *plain;
  if (!rtcp) {
    std::optional<RtpHeader> header = ParseRtp(ctx.data, ctx.length);
    if (!header) return Drop(ctx, DropReason::kMalformed);
    ctx.rtp = *header;
  }
  return true;
}

bool Account(PacketContext& ctx, PacketObserver& observer) {
  StreamEnd& end = *ctx.from;
  if (end.latching) {
    Endpoint& latched =
        ctx.rtcp_socket && !end.rtcp_mux ? end.latched_rtcp : end.latched_rtp;
    if (!latched.known()) latched = *ctx.source;
  }
  end.last_packet_unix_ms = ctx.now_unix_ms;
  if (ctx.kind == PacketKind::kRtp) {
    const uint32_t clock = end.ClockRate(ctx.rtp.payload_type);
    end.MutableStats().OnRtp(ctx.rtp.ssrc, ctx.rtp.sequence, ctx.rtp.timestamp,
                             ctx.length, ctx.now_ns, clock);
    end.last_rtp_ns = ctx.now_ns;
    end.rtp_timeout_reported = false;
    if (ctx.rtp.payload_type == end.telephone_event_pt) {
      std::optional<TelephoneEvent> event = ParseTelephoneEvent(
          ctx.data + ctx.rtp.header_length, ctx.rtp.payload_length);
      // RFC 4733 §2.5.1.4: the end packet is sent three times; one event.
      if (event && event->end &&
          !(end.dtmf_reported &&
            end.last_dtmf_timestamp == ctx.rtp.timestamp)) {
        end.dtmf_reported = true;
        end.last_dtmf_timestamp = ctx.rtp.timestamp;
        observer.OnDtmf(end, DtmfDigit(event->event), event->event,
                        uint32_t(uint64_t(event->duration) * 1000 / clock));
      }
    }
    return true;
  }
  EndTelemetry& telemetry = end.MutableTelemetry();
  telemetry.stats.OnRtcp();
  end.last_rtcp_ns = ctx.now_ns;
  end.rtcp_timeout_reported = false;
  RtcpInfo info;
  if (!ParseRtcp(ctx.data, ctx.length, &info)) return true;  // relay anyway
  if (info.has_report_block && info.lsr != 0) {
    // RFC 3550 §6.4.1: RTT = arrival - LSR - DLSR, with our own send time of
    // the sender report standing in for LSR.
    for (size_t i = 0; i < telemetry.sent_report_ns.size(); ++i) {
      const int64_t sent_ns = telemetry.sent_report_ns[i];
      if (sent_ns == 0 || telemetry.sent_report_ntp[i] != info.lsr) continue;
      const double rtt_ms = double(ctx.now_ns - sent_ns) / 1e6 -
                            double(info.dlsr) * 1000.0 / 65536.0;
      if (rtt_ms >= 0) telemetry.stats.OnRttSample(rtt_ms);
      break;
    }
  }
  if (info.has_sender_report && end.peer != nullptr) {
    EndTelemetry& to = end.peer->MutableTelemetry();
    to.sent_report_ntp[to.next_sent_report] = info.sr_ntp_middle;
    to.sent_report_ns[to.next_sent_report] = ctx.now_ns;
    to.next_sent_report =
        uint8_t((to.next_sent_report + 1) % to.sent_report_ns.size());
  }
  return true;
}

bool Route(PacketContext& ctx) {
  const StreamEnd* to = ctx.from->peer;
  if (to == nullptr || !to->active) {
    return Drop(ctx, DropReason::kNoDestination);
  }
  if (ctx.kind == PacketKind::kRtp) {
    ctx.destination = to->RtpDestination();
    ctx.out_fd = to->rtp_fd;
  } else {
    ctx.destination = to->RtcpDestination();
    ctx.out_fd = to->RtcpSendFd();
  }
  if (ctx.destination == nullptr || ctx.out_fd < 0) {
    return Drop(ctx, DropReason::kNoDestination);
  }
  ctx.mode = CryptoMode((ctx.from->inbound_srtp() != nullptr ? 2 : 0) +
                        (to->outbound_srtp() != nullptr ? 1 : 0));
  return true;
}

bool Encrypt(PacketContext& ctx) {
  srtp::OutboundSrtp* outbound = ctx.from->peer->outbound_srtp();
  if (outbound == nullptr) return true;
  absl::Span<uint8_t> buffer(ctx.data, ctx.capacity);
  absl::StatusOr<size_t> protected_length =
      ctx.kind == PacketKind::kRtp ? outbound->ProtectRtp(buffer, ctx.length)
                                   : outbound->ProtectRtcp(buffer, ctx.length);
  if (!protected_length.ok()) return Drop(ctx, DropReason::kProtectFailed);
  ctx.length = *protected_length;
  return true;
}

bool RunPacketPath(PacketContext& ctx, PacketObserver& observer) {
  ctx.drop = DropReason::kNone;
  if (!Demux(ctx) || !Parse(ctx) || !CheckSource(ctx)) {
    if (ctx.drop != DropReason::kNotNegotiated)
      ctx.from->MutableStats().OnDrop();
    return false;
  }
  if (!Decrypt(ctx, observer)) {
    if (ctx.drop != DropReason::kSrtpAuth) ctx.from->MutableStats().OnDrop();
    return false;
  }
  if (!Account(ctx, observer)) return false;
  if (!Route(ctx) || !Encrypt(ctx)) {
    ctx.from->MutableStats().OnDrop();
    return false;
  }
  return true;
}

}  // namespace trunkline::media::relay
