#include "services/media/testing/rtp_peer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "services/common/status_macros.h"

namespace trunkline::media::testing {
namespace {

int BindLoopback(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

void SendTo(int fd, uint16_t port, const uint8_t* data, size_t length) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sendto(fd, data, length, 0, reinterpret_cast<sockaddr*>(&sin), sizeof(sin));
}

void Put32(uint8_t* p, uint32_t v) {
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RtpPeer>> RtpPeer::Create(uint32_t ssrc) {
  std::unique_ptr<RtpPeer> peer(new RtpPeer());
  peer->ssrc_ = ssrc;
  // Ask the kernel for a port, then try to get its odd neighbour too.
  for (int attempt = 0; attempt < 200; ++attempt) {
    const int probe = BindLoopback(0);
    sockaddr_in sin{};
    socklen_t length = sizeof(sin);
    getsockname(probe, reinterpret_cast<sockaddr*>(&sin), &length);
    const uint16_t port = ntohs(sin.sin_port) & ~1u;
    close(probe);
    const int rtp = BindLoopback(port);
    if (rtp < 0) continue;
    const int rtcp = BindLoopback(port + 1);
    if (rtcp < 0) {
      close(rtp);
      continue;
    }
    peer->rtp_fd_ = rtp;
    peer->rtcp_fd_ = rtcp;
    peer->rtp_port_ = port;
    return peer;
  }
  return absl::UnavailableError("no free loopback port pair for a test peer");
}

RtpPeer::~RtpPeer() {
  if (rtp_fd_ >= 0) close(rtp_fd_);
  if (rtcp_fd_ >= 0) close(rtcp_fd_);
}

absl::Status RtpPeer::SetSendKey(const std::string& suite,
                                 const std::string& key_params) {
  if (key_params.empty()) {
    send_.reset();
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(srtp::MasterKey key,
                   srtp::ParseSdesKeyParams(suite, key_params));
  ASSIGN_OR_RETURN(send_, srtp::OutboundSrtp::Create(key));
  return absl::OkStatus();
}

absl::Status RtpPeer::SetReceiveKey(const std::string& suite,
                                    const std::string& key_params) {
  if (key_params.empty()) {
    receive_.reset();
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(srtp::MasterKey key,
                   srtp::ParseSdesKeyParams(suite, key_params));
  ASSIGN_OR_RETURN(receive_, srtp::InboundSrtp::Create(key));
  return absl::OkStatus();
}

absl::StatusOr<std::string> RtpPeer::NewSendKey(srtp::Suite suite) {
  ASSIGN_OR_RETURN(srtp::MasterKey key, srtp::GenerateMasterKey(suite));
  ASSIGN_OR_RETURN(send_, srtp::OutboundSrtp::Create(key));
  return srtp::FormatSdesKeyParams(key);
}

std::vector<uint8_t> RtpPeer::SendRtp(uint16_t port, uint8_t pt,
                                      const std::vector<uint8_t>& payload,
                                      bool marker) {
  std::vector<uint8_t> packet(12 + payload.size());
  packet[0] = 0x80;
  packet[1] = uint8_t((marker ? 0x80 : 0) | pt);
  ++sequence_;
  timestamp_ += 160;
  packet[2] = sequence_ >> 8;
  packet[3] = sequence_ & 0xFF;
  Put32(&packet[4], timestamp_);
  Put32(&packet[8], ssrc_);
  std::memcpy(packet.data() + 12, payload.data(), payload.size());
  std::vector<uint8_t> wire(packet);
  if (send_ != nullptr) {
    wire.resize(packet.size() + send_->rtp_overhead());
    absl::StatusOr<size_t> length =
        send_->ProtectRtp(absl::MakeSpan(wire), packet.size());
    if (!length.ok()) return {};
    wire.resize(*length);
  }
  SendTo(rtp_fd_, port, wire.data(), wire.size());
  return packet;
}

void RtpPeer::SendRaw(uint16_t port, const std::vector<uint8_t>& data,
                      bool from_rtcp_socket) {
  SendTo(from_rtcp_socket ? rtcp_fd_ : rtp_fd_, port, data.data(), data.size());
}

void RtpPeer::SendRtcp(uint16_t port, const std::vector<uint8_t>& plain,
                       bool muxed) {
  std::vector<uint8_t> wire(plain);
  if (send_ != nullptr) {
    wire.resize(plain.size() + send_->rtcp_overhead());
    absl::StatusOr<size_t> length =
        send_->ProtectRtcp(absl::MakeSpan(wire), plain.size());
    if (!length.ok()) return;
    wire.resize(*length);
  }
  SendTo(muxed ? rtp_fd_ : rtcp_fd_, port, wire.data(), wire.size());
}

std::optional<ReceivedPacket> RtpPeer::Receive(int timeout_ms, bool rtcp) {
  const int fd = rtcp ? rtcp_fd_ : rtp_fd_;
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) <= 0) return std::nullopt;
  uint8_t buffer[2048];
  sockaddr_in from{};
  socklen_t from_length = sizeof(from);
  const ssize_t n = recvfrom(fd, buffer, sizeof(buffer), 0,
                             reinterpret_cast<sockaddr*>(&from), &from_length);
  if (n <= 0) return std::nullopt;
  size_t length = size_t(n);
  if (receive_ != nullptr) {
    // RFC 5761: RTCP on a muxed port is told apart by its packet type.
    const bool is_rtcp =
        rtcp || (length > 1 && buffer[1] >= 192 && buffer[1] <= 223);
    absl::Span<uint8_t> packet(buffer, length);
    absl::StatusOr<size_t> plain = is_rtcp ? receive_->UnprotectRtcp(packet)
                                           : receive_->UnprotectRtp(packet);
    if (!plain.ok()) {
      ++auth_failures_;
      return std::nullopt;
    }
    length = *plain;
  }
  ReceivedPacket received;
  received.data.assign(buffer, buffer + length);
  received.from_port = ntohs(from.sin_port);
  return received;
}

void RtpPeer::Flush() {
  while (Receive(0)) {
  }
  while (Receive(0, true)) {
  }
}

std::vector<uint8_t> SenderReport(uint32_t ssrc, uint32_t ntp_middle) {
  std::vector<uint8_t> packet(28, 0);
  packet[0] = 0x80;
  packet[1] = 200;
  packet[3] = 6;  // length in words - 1
  Put32(&packet[4], ssrc);
  Put32(&packet[8], ntp_middle >> 16);         // NTP seconds (high half)
  Put32(&packet[12], (ntp_middle << 16) | 1);  // NTP fraction
  return packet;
}

std::vector<uint8_t> ReceiverReport(uint32_t ssrc, uint32_t lsr,
                                    uint32_t dlsr) {
  std::vector<uint8_t> packet(32, 0);
  packet[0] = 0x81;
  packet[1] = 201;
  packet[3] = 7;
  Put32(&packet[4], ssrc);
  Put32(&packet[8], 0x12345678);  // reportee
  Put32(&packet[24], lsr);
  Put32(&packet[28], dlsr);
  return packet;
}

}  // namespace trunkline::media::testing
