// The stages of the packet path one at a time, on StreamEnds without
// sockets.
#include "services/media/relay/packet_path.h"

#include <sys/socket.h>

#include <cstring>
#include <vector>

#include "gtest/gtest.h"
#include "services/media/srtp/sdes.h"

namespace trunkline::media::relay {
namespace {

class FakeObserver : public PacketObserver {
 public:
  void OnDtmf(const StreamEnd&, char digit, uint8_t,
              uint32_t duration_ms) override {
    digits.push_back(digit);
    last_duration_ms = duration_ms;
  }
  void OnAuthFailure(StreamEnd&) override { ++auth_failures; }
  std::string digits;
  uint32_t last_duration_ms = 0;
  int auth_failures = 0;
};

Endpoint At(const char* address, uint16_t port) {
  return *MakeEndpoint(address, port, AF_INET);
}

class PacketPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    caller_.leg = v1::LEG_CALLER;
    callee_.leg = v1::LEG_CALLEE;
    caller_.peer = &callee_;
    callee_.peer = &caller_;
    caller_.call_id = callee_.call_id = &call_id_;
    for (StreamEnd* end : {&caller_, &callee_}) {
      end->active = true;
      end->rtp_fd = end == &caller_ ? 10 : 20;
      end->rtcp_fd = end->rtp_fd + 1;
    }
    caller_.sdp_rtp = At("192.0.2.1", 4000);
    caller_.sdp_rtcp = At("192.0.2.1", 4001);
    callee_.sdp_rtp = At("198.51.100.1", 6000);
    callee_.sdp_rtcp = At("198.51.100.1", 6001);
    source_ = caller_.sdp_rtp;
  }

  PacketContext Context(std::vector<uint8_t>& packet,
                        bool rtcp_socket = false) {
    packet.resize(2048);
    PacketContext ctx;
    ctx.data = packet.data();
    ctx.capacity = packet.size();
    ctx.scratch = scratch_;
    ctx.source = &source_;
    ctx.from = &caller_;
    ctx.rtcp_socket = rtcp_socket;
    ctx.now_ns = 1000000000;
    return ctx;
  }

  static std::vector<uint8_t> Rtp(uint8_t pt, uint16_t seq, uint32_t ts,
                                  std::vector<uint8_t> payload) {
    std::vector<uint8_t> p = {0x80,
                              pt,
                              uint8_t(seq >> 8),
                              uint8_t(seq),
                              uint8_t(ts >> 24),
                              uint8_t(ts >> 16),
                              uint8_t(ts >> 8),
                              uint8_t(ts),
                              1,
                              2,
                              3,
                              4};
    p.insert(p.end(), payload.begin(), payload.end());
    return p;
  }

  std::string call_id_ = "call";
  StreamEnd caller_, callee_;
  Endpoint source_;
  uint8_t scratch_[2048];
  FakeObserver observer_;
};

TEST_F(PacketPathTest, PlainRtpGoesToThePeersSdpAddress) {
  std::vector<uint8_t> packet = Rtp(0, 1, 160, std::vector<uint8_t>(160, 7));
  const size_t length = packet.size();
  PacketContext ctx = Context(packet);
  ctx.length = length;
  EXPECT_EQ(caller_.telemetry, nullptr) << "made at the first packet";
  ASSERT_TRUE(RunPacketPath(ctx, observer_));
  EXPECT_EQ(ctx.out_fd, 20);
  EXPECT_EQ(*ctx.destination, callee_.sdp_rtp);
  EXPECT_EQ(ctx.length, length);
  EXPECT_EQ(ctx.mode, CryptoMode::kRtpToRtp);
  EXPECT_EQ(caller_.stats().packets(), 1u);
}

TEST_F(PacketPathTest, RtcpFollowsThePeersMuxChoice) {
  std::vector<uint8_t> packet = {0x80, 201, 0, 1, 1, 2, 3, 4};
  PacketContext ctx = Context(packet, /*rtcp_socket=*/true);
  ctx.length = 8;
  ASSERT_TRUE(RunPacketPath(ctx, observer_));
  EXPECT_EQ(ctx.out_fd, 21);
  EXPECT_EQ(*ctx.destination, callee_.sdp_rtcp);
  callee_.rtcp_mux = true;
  ctx = Context(packet, true);
  ctx.length = 8;
  ASSERT_TRUE(RunPacketPath(ctx, observer_));
  EXPECT_EQ(ctx.out_fd, 20);
  EXPECT_EQ(*ctx.destination, callee_.sdp_rtp);
}

TEST_F(PacketPathTest, DropsBeforeTheAnswerAndOnHold) {
  std::vector<uint8_t> packet = Rtp(0, 1, 160, {1, 2, 3});
  caller_.active = false;
  PacketContext ctx = Context(packet);
  ctx.length = 15;
  EXPECT_FALSE(RunPacketPath(ctx, observer_));
  EXPECT_EQ(ctx.drop, DropReason::kNotNegotiated);
  caller_.active = true;
  callee_.null_address = true;
  ctx = Context(packet);
  ctx.length = 15;
  EXPECT_FALSE(RunPacketPath(ctx, observer_));
  EXPECT_EQ(ctx.drop, DropReason::kNoDestination);
}

TEST_F(PacketPathTest, StrictSourceAndLatching) {
  caller_.strict_source = true;
  std::vector<uint8_t> packet = Rtp(0, 1, 160, {1, 2, 3});
  source_ = At("203.0.113.9", 5555);
  PacketContext ctx = Context(packet);
  ctx.length = 15;
  EXPECT_FALSE(CheckSource(ctx));
  EXPECT_EQ(ctx.drop, DropReason::kUnexpectedSource);
  // Latching: the first packet teaches the address, then strict holds it.
  caller_.latching = true;
  ctx = Context(packet);
  ctx.length = 15;
  ASSERT_TRUE(RunPacketPath(ctx, observer_));
  EXPECT_EQ(caller_.latched_rtp, source_);
  EXPECT_EQ(*callee_.peer->RtpDestination(), source_);
  source_ = At("203.0.113.10", 5555);
  ctx = Context(packet);
  ctx.length = 15;
  EXPECT_FALSE(RunPacketPath(ctx, observer_));
  EXPECT_EQ(ctx.drop, DropReason::kUnexpectedSource);
}

TEST_F(PacketPathTest, DecryptsWithACandidateKeyAndPromotesIt) {
  srtp::MasterKey old_key =
      *srtp::GenerateMasterKey(srtp::Suite::kAesCm128HmacSha1_80);
  srtp::MasterKey new_key =
      *srtp::GenerateMasterKey(srtp::Suite::kAeadAes128Gcm);
  caller_.MutableSrtp().inbound = {*srtp::InboundSrtp::Create(old_key)};
  caller_.srtp->inbound_candidates.push_back(
      {*srtp::InboundSrtp::Create(new_key)});
  auto sender = *srtp::OutboundSrtp::Create(new_key);
  std::vector<uint8_t> plain = Rtp(0, 1, 160, std::vector<uint8_t>(50, 9));
  std::vector<uint8_t> packet = plain;
  packet.resize(2048);
  const size_t length =
      *sender->ProtectRtp(absl::MakeSpan(packet), plain.size());
  PacketContext ctx = Context(packet);
  ctx.length = length;
  ASSERT_TRUE(RunPacketPath(ctx, observer_)) << DropReasonName(ctx.drop);
  EXPECT_EQ(ctx.length, plain.size());
  EXPECT_EQ(std::memcmp(ctx.data, plain.data(), plain.size()), 0);
  EXPECT_TRUE(caller_.srtp->inbound.context->UsesKey(new_key));
  EXPECT_TRUE(caller_.srtp->inbound_previous.context->UsesKey(old_key));
  EXPECT_TRUE(caller_.srtp->inbound_candidates.empty());
  EXPECT_EQ(ctx.mode, CryptoMode::kSrtpToRtp);
}

TEST_F(PacketPathTest, AuthFailuresAndReplaysAreToldApart) {
  srtp::MasterKey key =
      *srtp::GenerateMasterKey(srtp::Suite::kAesCm128HmacSha1_80);
  caller_.MutableSrtp().inbound = {*srtp::InboundSrtp::Create(key)};
  auto sender = *srtp::OutboundSrtp::Create(key);
  std::vector<uint8_t> plain = Rtp(0, 1, 160, std::vector<uint8_t>(50, 9));
  std::vector<uint8_t> wire = plain;
  wire.resize(2048);
  const size_t length = *sender->ProtectRtp(absl::MakeSpan(wire), plain.size());
  std::vector<uint8_t> copy = wire;
  PacketContext ctx = Context(wire);
  ctx.length = length;
  ASSERT_TRUE(RunPacketPath(ctx, observer_));
  ctx = Context(copy);
  ctx.length = length;
  EXPECT_FALSE(RunPacketPath(ctx, observer_));
  EXPECT_EQ(ctx.drop, DropReason::kSrtpReplay);
  std::vector<uint8_t> tampered = Rtp(0, 2, 320, std::vector<uint8_t>(60, 1));
  ctx = Context(tampered);
  ctx.length = 72;
  EXPECT_FALSE(RunPacketPath(ctx, observer_));
  EXPECT_EQ(ctx.drop, DropReason::kSrtpAuth);
  EXPECT_EQ(observer_.auth_failures, 1);
  EXPECT_EQ(caller_.stats().auth_failures(), 1u);
}

TEST_F(PacketPathTest, EncryptsTowardsAnSrtpPeer) {
  srtp::MasterKey key = *srtp::GenerateMasterKey(srtp::Suite::kAeadAes128Gcm);
  callee_.MutableSrtp().outbound = *srtp::OutboundSrtp::Create(key);
  auto receiver = *srtp::InboundSrtp::Create(key);
  std::vector<uint8_t> plain = Rtp(0, 1, 160, std::vector<uint8_t>(80, 3));
  std::vector<uint8_t> packet = plain;
  PacketContext ctx = Context(packet);
  ctx.length = plain.size();
  ASSERT_TRUE(RunPacketPath(ctx, observer_));
  EXPECT_EQ(ctx.mode, CryptoMode::kRtpToSrtp);
  EXPECT_EQ(ctx.length, plain.size() + 16);
  auto length = receiver->UnprotectRtp(absl::MakeSpan(ctx.data, ctx.length));
  ASSERT_TRUE(length.ok());
  EXPECT_EQ(std::memcmp(ctx.data, plain.data(), plain.size()), 0);
}

TEST_F(PacketPathTest, ReportsEachTelephoneEventOnce) {
  caller_.telephone_event_pt = 101;
  for (int i = 0; i < 3; ++i) {
    std::vector<uint8_t> packet = Rtp(101, uint16_t(10 + i), 8000,
                                      {11, 0x80, 0x06, 0x40});  // '#', 200 ms
    PacketContext ctx = Context(packet);
    ctx.length = 16;
    ASSERT_TRUE(RunPacketPath(ctx, observer_));
  }
  EXPECT_EQ(observer_.digits, "#");
  EXPECT_EQ(observer_.last_duration_ms, 200u);
}

TEST_F(PacketPathTest, MalformedAndForeignPacketsAreDropped) {
  std::vector<uint8_t> stun = {0, 1, 0, 0, 0x21, 0x12, 0xA4, 0x42};
  PacketContext ctx = Context(stun);
  ctx.length = 8;
  EXPECT_FALSE(RunPacketPath(ctx, observer_));
  EXPECT_EQ(ctx.drop, DropReason::kNotRtp);
  std::vector<uint8_t> short_rtp = {0x80, 0, 0, 1};
  ctx = Context(short_rtp);
  ctx.length = 4;
  EXPECT_FALSE(RunPacketPath(ctx, observer_));
  EXPECT_EQ(ctx.drop, DropReason::kMalformed);
  EXPECT_EQ(caller_.stats().dropped(), 2u);
}

}  // namespace
}  // namespace trunkline::media::relay
