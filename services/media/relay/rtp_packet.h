// Reading RTP and RTCP headers in place (RFC 3550, RFC 5761, RFC 4733).
//
// Everything here works on a borrowed byte span, never copies and never
// allocates: it runs once per packet on a media worker. Packets come from the
// network, so every function checks lengths before it reads and reports a
// malformed packet as `false` / std::nullopt instead of reading past the end.
#ifndef TRUNKLINE_SERVICES_MEDIA_RELAY_RTP_PACKET_H_
#define TRUNKLINE_SERVICES_MEDIA_RELAY_RTP_PACKET_H_

#include <cstddef>
#include <cstdint>
#include <optional>

namespace trunkline::media::relay {

inline constexpr size_t kRtpFixedHeader = 12;
inline constexpr size_t kRtcpFixedHeader = 8;

// What a datagram on a media port is. RFC 7983 §7 byte ranges: STUN and DTLS
// are not ours (the relay does no ICE or DTLS) and are dropped.
enum class PacketKind { kRtp, kRtcp, kNotRtp };

// Demultiplexes a datagram: on an RTCP-only port everything of version 2 is
// RTCP; on an RTP port (muxed or not) RFC 5761 §4 tells them apart by the
// second octet (RTCP packet types 192..223 share the range of RTP payload
// types 64..95 with the marker bit set, which RTP must not use).
PacketKind Classify(const uint8_t* data, size_t length, bool rtcp_port);

struct RtpHeader {
  uint8_t payload_type = 0;
  bool marker = false;
  uint16_t sequence = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
  // Octets before the payload: fixed header, CSRCs, extension.
  size_t header_length = 0;
  // Octets of payload (padding excluded).
  size_t payload_length = 0;
};

// Parses the header of a plain RTP packet; nullopt when it is malformed
// (wrong version, CSRC list, extension or padding beyond the end). Call it on
// SRTP too: the header is in the clear, only the payload length then includes
// the SRTP trailer.
std::optional<RtpHeader> ParseRtp(const uint8_t* data, size_t length);

// The SSRC of the first RTCP packet of a compound packet (its sender).
std::optional<uint32_t> RtcpSenderSsrc(const uint8_t* data, size_t length);

// What the relay reads from a compound RTCP packet for RTT.
struct RtcpInfo {
  // Sender report: the middle 32 bits of its NTP timestamp (what a receiver
  // echoes as LSR).
  bool has_sender_report = false;
  uint32_t sr_ntp_middle = 0;
  // The first report block's LSR and DLSR (1/65536 s), if any.
  bool has_report_block = false;
  uint32_t lsr = 0;
  uint32_t dlsr = 0;
};

// Walks a compound RTCP packet (plain, after SRTCP unprotect). False when the
// length fields do not tile the datagram.
bool ParseRtcp(const uint8_t* data, size_t length, RtcpInfo* info);

// An RFC 4733 telephone-event payload.
struct TelephoneEvent {
  uint8_t event = 0;  // 0-9, 10 '*', 11 '#', 12-15 A-D, others
  bool end = false;
  uint8_t volume = 0;
  uint16_t duration = 0;  // timestamp units
};
std::optional<TelephoneEvent> ParseTelephoneEvent(const uint8_t* payload,
                                                  size_t length);
// '0'..'9', '*', '#', 'A'..'D', or '\0' for other events.
char DtmfDigit(uint8_t event);

}  // namespace trunkline::media::relay

#endif  // TRUNKLINE_SERVICES_MEDIA_RELAY_RTP_PACKET_H_
