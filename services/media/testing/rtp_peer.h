// A test stand-in for a phone or gateway: one UDP socket pair on loopback
// that sends RTP (or SRTP through our libsrtp wrapper) with a known payload
// and receives what the relay sends back, decrypting it when keyed. Used by
// the worker tests and the end-to-end test against the real binary.
#ifndef TRUNKLINE_SERVICES_MEDIA_TESTING_RTP_PEER_H_
#define TRUNKLINE_SERVICES_MEDIA_TESTING_RTP_PEER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/media/srtp/sdes.h"
#include "services/media/srtp/srtp_session.h"

namespace trunkline::media::testing {

struct ReceivedPacket {
  std::vector<uint8_t> data;  // plain RTP/RTCP (after unprotect if keyed)
  uint16_t from_port = 0;
};

class RtpPeer {
 public:
  // Binds 127.0.0.1 on an even/odd pair of free ports.
  static absl::StatusOr<std::unique_ptr<RtpPeer>> Create(uint32_t ssrc);
  ~RtpPeer();

  uint16_t rtp_port() const { return rtp_port_; }
  uint16_t rtcp_port() const { return uint16_t(rtp_port_ + 1); }
  uint32_t ssrc() const { return ssrc_; }

  // This peer's own SRTP key (what it puts in its SDP) and the key it uses
  // to decrypt what the relay sends it (from the relay's SDP). Empty
  // key_params: plain RTP.
  absl::Status SetSendKey(const std::string& suite,
                          const std::string& key_params);
  absl::Status SetReceiveKey(const std::string& suite,
                             const std::string& key_params);
  // A fresh key for `suite`, installed as the send key; returns key_params.
  absl::StatusOr<std::string> NewSendKey(srtp::Suite suite);

  // Sends one RTP packet (payload type `pt`, next sequence number) to
  // 127.0.0.1:port. Returns the plain packet sent.
  std::vector<uint8_t> SendRtp(uint16_t port, uint8_t pt,
                               const std::vector<uint8_t>& payload,
                               bool marker = false);
  // Sends a raw datagram from the RTP (or RTCP) socket.
  void SendRaw(uint16_t port, const std::vector<uint8_t>& data,
               bool from_rtcp_socket = false);
  // Sends an RTCP packet (protected when keyed) from the RTCP socket, or
  // from the RTP socket when `muxed`.
  void SendRtcp(uint16_t port, const std::vector<uint8_t>& plain, bool muxed);

  // Waits up to timeout_ms for a datagram on the RTP (RTCP) socket;
  // unprotects it when a receive key is set (nullopt if that fails).
  std::optional<ReceivedPacket> Receive(int timeout_ms, bool rtcp = false);
  // Discards what is queued.
  void Flush();

  uint64_t auth_failures() const { return auth_failures_; }

 private:
  RtpPeer() = default;
  int rtp_fd_ = -1;
  int rtcp_fd_ = -1;
  uint16_t rtp_port_ = 0;
  uint32_t ssrc_ = 0;
  uint16_t sequence_ = 1000;
  uint32_t timestamp_ = 160000;
  std::unique_ptr<srtp::OutboundSrtp> send_;
  std::unique_ptr<srtp::InboundSrtp> receive_;
  uint64_t auth_failures_ = 0;
};

// A sender report (28 octets) with `ntp_middle` as the middle of its NTP
// timestamp, or a receiver report with one block echoing `lsr`/`dlsr`.
std::vector<uint8_t> SenderReport(uint32_t ssrc, uint32_t ntp_middle);
std::vector<uint8_t> ReceiverReport(uint32_t ssrc, uint32_t lsr, uint32_t dlsr);

}  // namespace trunkline::media::testing

#endif  // TRUNKLINE_SERVICES_MEDIA_TESTING_RTP_PEER_H_
