#include "services/media/relay/rtp_packet.h"

namespace trunkline::media::relay {
namespace {

uint16_t Read16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
uint32_t Read32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 |
         uint32_t(p[3]);
}

constexpr uint8_t kRtcpSenderReport = 200;
constexpr uint8_t kRtcpReceiverReport = 201;

}  // namespace

PacketKind Classify(const uint8_t* data, size_t length, bool rtcp_port) {
  // RFC 7983: 128..191 is RTP/RTCP; 0..3 STUN, 20..63 DTLS.
  if (length < 2 || (data[0] & 0xC0) != 0x80) return PacketKind::kNotRtp;
  if (rtcp_port) return PacketKind::kRtcp;
  const uint8_t second = data[1];
  if (second >= 192 && second <= 223) return PacketKind::kRtcp;
  return PacketKind::kRtp;
}

std::optional<RtpHeader> ParseRtp(const uint8_t* data, size_t length) {
  if (length < kRtpFixedHeader || (data[0] & 0xC0) != 0x80) return {};
  RtpHeader header;
  const bool padding = data[0] & 0x20;
  const bool extension = data[0] & 0x10;
  const size_t csrc_count = data[0] & 0x0F;
  header.marker = data[1] & 0x80;
  header.payload_type = data[1] & 0x7F;
  header.sequence = Read16(data + 2);
  header.timestamp = Read32(data + 4);
  header.ssrc = Read32(data + 8);
  size_t offset = kRtpFixedHeader + 4 * csrc_count;
  if (offset > length) return {};
  if (extension) {
    if (offset + 4 > length) return {};
    const size_t words = Read16(data + offset + 2);
    offset += 4 + 4 * words;
    if (offset > length) return {};
  }
  size_t end = length;
  if (padding) {
    const uint8_t pad = data[length - 1];
    if (pad == 0 || pad > end - offset) return {};
    end -= pad;
  }
  header.header_length = offset;
  header.payload_length = end - offset;
  return header;
}

std::optional<uint32_t> RtcpSenderSsrc(const uint8_t* data, size_t length) {
  if (length < kRtcpFixedHeader || (data[0] & 0xC0) != 0x80) return {};
  return Read32(data + 4);
}

bool ParseRtcp(const uint8_t* data, size_t length, RtcpInfo* info) {
  *info = RtcpInfo();
  size_t offset = 0;
  if (length < kRtcpFixedHeader) return false;
  while (offset < length) {
    if (length - offset < 4) return false;
    const uint8_t* packet = data + offset;
    if ((packet[0] & 0xC0) != 0x80) return false;
    const size_t count = packet[0] & 0x1F;
    const uint8_t type = packet[1];
    const size_t packet_length = (size_t(Read16(packet + 2)) + 1) * 4;
    if (packet_length > length - offset) return false;
    size_t blocks_at = 0;
    if (type == kRtcpSenderReport && packet_length >= 28) {
      info->has_sender_report = true;
      // NTP timestamp at 8..15; LSR is its middle 32 bits (RFC 3550 §6.4.1).
      info->sr_ntp_middle = Read32(packet + 10);
      blocks_at = 28;
    } else if (type == kRtcpReceiverReport && packet_length >= 8) {
      blocks_at = 8;
    }
    if (blocks_at != 0 && count > 0 && !info->has_report_block &&
        blocks_at + 24 <= packet_length) {
      const uint8_t* block = packet + blocks_at;
      info->has_report_block = true;
      info->lsr = Read32(block + 16);
      info->dlsr = Read32(block + 20);
    }
    offset += packet_length;
  }
  return true;
}

std::optional<TelephoneEvent> ParseTelephoneEvent(const uint8_t* payload,
                                                  size_t length) {
  if (length < 4) return {};
  TelephoneEvent event;
  event.event = payload[0];
  event.end = payload[1] & 0x80;
  event.volume = payload[1] & 0x3F;
  event.duration = Read16(payload + 2);
  return event;
}

char DtmfDigit(uint8_t event) {
  if (event <= 9) return char('0' + event);
  if (event == 10) return '*';
  if (event == 11) return '#';
  if (event <= 15) return char('A' + event - 12);
  return '\0';
}

}  // namespace trunkline::media::relay
