// libFuzzer entry point for the packet path: RTP, RTCP, SRTP and SRTCP as a
// peer could send them, through every stage, under the stream settings the
// first input octet picks. Nothing may crash, read out of bounds or leak.
//
// Octet 0 selects: bit 0 the sender's side is SRTP, bit 1 the packet is
// protected with the sender's key first (so the decrypt-success path and
// everything after it is reached), bit 2 arrived on the RTCP port, bit 3
// the receiver's side is SRTP, bit 4 rtcp-mux, bit 5 strict source, bit 6
// latching, bit 7 AEAD-GCM instead of AES-CM. The rest is the datagram.
#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <memory>

#include "absl/types/span.h"
#include "services/media/relay/packet_path.h"
#include "services/media/relay/rtp_packet.h"
#include "services/media/srtp/sdes.h"
#include "services/media/srtp/srtp_session.h"

namespace trunkline::media::relay {
namespace {

class NullObserver : public PacketObserver {
 public:
  void OnDtmf(const StreamEnd&, char, uint8_t, uint32_t) override {}
  void OnAuthFailure(StreamEnd&) override {}
};

srtp::MasterKey FixedKey(bool gcm, uint8_t fill) {
  srtp::MasterKey key;
  key.suite =
      gcm ? srtp::Suite::kAeadAes128Gcm : srtp::Suite::kAesCm128HmacSha1_80;
  const srtp::SuiteInfo& info = srtp::InfoOf(key.suite);
  key.key.assign(info.key_length, char(fill));
  key.salt.assign(info.salt_length, char(fill + 1));
  return key;
}

}  // namespace
}  // namespace trunkline::media::relay

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace trunkline::media::relay;
  namespace srtp = trunkline::media::srtp;
  if (size < 1 || size > 1500) return 0;
  const uint8_t mode = data[0];
  const bool gcm = mode & 0x80;

  std::string call_id = "fuzz";
  StreamEnd from, to;
  from.leg = trunkline::v1::LEG_CALLER;
  to.leg = trunkline::v1::LEG_CALLEE;
  from.peer = &to;
  to.peer = &from;
  from.call_id = to.call_id = &call_id;
  from.active = to.active = true;
  from.rtp_fd = 3;
  from.rtcp_fd = 4;
  to.rtp_fd = 5;
  to.rtcp_fd = 6;
  from.sdp_rtp = *MakeEndpoint("192.0.2.1", 4000, AF_INET);
  from.sdp_rtcp = *MakeEndpoint("192.0.2.1", 4001, AF_INET);
  to.sdp_rtp = *MakeEndpoint("198.51.100.1", 6000, AF_INET);
  to.sdp_rtcp = *MakeEndpoint("198.51.100.1", 6001, AF_INET);
  to.rtcp_mux = mode & 0x10;
  from.strict_source = mode & 0x20;
  from.latching = mode & 0x40;
  from.telephone_event_pt = 101;
  const srtp::MasterKey sender_key = FixedKey(gcm, 0x11);
  if (mode & 0x01) {
    from.MutableSrtp().inbound = {*srtp::InboundSrtp::Create(sender_key)};
    // A candidate with another key exercises the fallback path too.
    from.srtp->inbound_candidates.push_back(
        {*srtp::InboundSrtp::Create(FixedKey(!gcm, 0x33))});
  }
  if (mode & 0x08)
    to.MutableSrtp().outbound =
        *srtp::OutboundSrtp::Create(FixedKey(gcm, 0x22));

  static uint8_t buffer[2048];
  static uint8_t scratch[2048];
  size_t length = size - 1;
  std::memcpy(buffer, data + 1, length);
  const bool rtcp_port = mode & 0x04;
  if (mode & 0x02) {
    auto sender = *srtp::OutboundSrtp::Create(sender_key);
    const PacketKind kind = Classify(buffer, length, rtcp_port);
    absl::Span<uint8_t> span(buffer, sizeof(buffer) - 64);
    auto protected_length = kind == PacketKind::kRtcp
                                ? sender->ProtectRtcp(span, length)
                                : sender->ProtectRtp(span, length);
    if (protected_length.ok()) length = *protected_length;
  }
  Endpoint source = from.sdp_rtp;
  NullObserver observer;
  for (int round = 0; round < 2; ++round) {  // the second one is a replay
    uint8_t copy[2048];
    std::memcpy(copy, buffer, length);
    PacketContext ctx;
    ctx.data = copy;
    ctx.length = length;
    ctx.capacity = sizeof(copy);
    ctx.scratch = scratch;
    ctx.source = &source;
    ctx.from = &from;
    ctx.rtcp_socket = rtcp_port;
    ctx.now_ns = 1000000000LL * (round + 1);
    if (RunPacketPath(ctx, observer)) {
      if (ctx.length > ctx.capacity || ctx.destination == nullptr)
        __builtin_trap();
    }
  }
  RtcpInfo info;
  ParseRtcp(data + 1, size - 1, &info);
  ParseTelephoneEvent(data + 1, size - 1);
  return 0;
}
