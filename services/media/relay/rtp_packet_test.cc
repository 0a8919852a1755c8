#include "services/media/relay/rtp_packet.h"

#include <vector>

#include "gtest/gtest.h"

namespace trunkline::media::relay {
namespace {

std::vector<uint8_t> Rtp(uint8_t first = 0x80, uint8_t second = 0) {
  std::vector<uint8_t> p = {first, second, 0x12, 0x34, 0,    0,
                            0x10,  0,      0xAA, 0xBB, 0xCC, 0xDD};
  p.resize(p.size() + 20, 0x55);
  return p;
}

TEST(ClassifyTest, TellsRtpRtcpAndOthersApart) {
  auto rtp = Rtp();
  EXPECT_EQ(Classify(rtp.data(), rtp.size(), false), PacketKind::kRtp);
  EXPECT_EQ(Classify(rtp.data(), rtp.size(), true), PacketKind::kRtcp);
  auto sr = Rtp(0x80, 200);
  EXPECT_EQ(Classify(sr.data(), sr.size(), false), PacketKind::kRtcp);
  auto marked_pt0 = Rtp(0x80, 0x80);  // marker bit, PT 0: RTP
  EXPECT_EQ(Classify(marked_pt0.data(), marked_pt0.size(), false),
            PacketKind::kRtp);
  const uint8_t stun[] = {0x00, 0x01, 0, 0};
  EXPECT_EQ(Classify(stun, sizeof(stun), false), PacketKind::kNotRtp);
  const uint8_t dtls[] = {22, 0xFE, 0xFD};
  EXPECT_EQ(Classify(dtls, sizeof(dtls), false), PacketKind::kNotRtp);
  EXPECT_EQ(Classify(stun, 1, false), PacketKind::kNotRtp);
}

TEST(ParseRtpTest, ReadsTheFixedHeader) {
  auto p = Rtp(0x80, 0x80 | 101);
  auto header = ParseRtp(p.data(), p.size());
  ASSERT_TRUE(header);
  EXPECT_TRUE(header->marker);
  EXPECT_EQ(header->payload_type, 101);
  EXPECT_EQ(header->sequence, 0x1234);
  EXPECT_EQ(header->timestamp, 0x1000u);
  EXPECT_EQ(header->ssrc, 0xAABBCCDDu);
  EXPECT_EQ(header->header_length, 12u);
  EXPECT_EQ(header->payload_length, 20u);
}

TEST(ParseRtpTest, CsrcsExtensionAndPadding) {
  // 2 CSRCs, an extension of 1 word, 4 octets of padding.
  std::vector<uint8_t> p = {0xB2, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1};
  p.insert(p.end(), 8, 0x11);                   // CSRCs
  p.insert(p.end(), {0xBE, 0xDE, 0x00, 0x01});  // extension header
  p.insert(p.end(), 4, 0x22);                   // extension data
  p.insert(p.end(), 10, 0x33);                  // payload
  p.insert(p.end(), {0, 0, 0, 4});              // padding
  auto header = ParseRtp(p.data(), p.size());
  ASSERT_TRUE(header);
  EXPECT_EQ(header->header_length, 12u + 8 + 8);
  EXPECT_EQ(header->payload_length, 10u);
}

TEST(ParseRtpTest, RefusesWhatDoesNotFit) {
  auto p = Rtp();
  EXPECT_FALSE(ParseRtp(p.data(), 11));
  p[0] = 0x8F;  // 15 CSRCs do not fit in 32 octets
  EXPECT_FALSE(ParseRtp(p.data(), p.size()));
  p = Rtp(0x90);  // extension header claims 0x5555 words
  EXPECT_FALSE(ParseRtp(p.data(), p.size()));
  p = Rtp(0xA0);
  p.back() = 200;  // padding longer than the payload
  EXPECT_FALSE(ParseRtp(p.data(), p.size()));
  p.back() = 0;  // zero padding count is invalid
  EXPECT_FALSE(ParseRtp(p.data(), p.size()));
  p = Rtp(0x40);
  EXPECT_FALSE(ParseRtp(p.data(), p.size()));
}

TEST(ParseRtcpTest, SenderReportAndReceiverReportBlocks) {
  std::vector<uint8_t> sr(28 + 24, 0);
  sr[0] = 0x81;
  sr[1] = 200;
  sr[3] = 12;
  sr[10] = 0x12;
  sr[11] = 0x34;
  sr[12] = 0x56;
  sr[13] = 0x78;
  sr[28 + 16] = 0xAB;  // LSR
  sr[28 + 23] = 0x10;  // DLSR
  std::vector<uint8_t> bye = {0x81, 203, 0, 1, 1, 2, 3, 4};
  sr.insert(sr.end(), bye.begin(), bye.end());
  RtcpInfo info;
  ASSERT_TRUE(ParseRtcp(sr.data(), sr.size(), &info));
  EXPECT_TRUE(info.has_sender_report);
  EXPECT_EQ(info.sr_ntp_middle, 0x12345678u);
  EXPECT_TRUE(info.has_report_block);
  EXPECT_EQ(info.lsr, 0xAB000000u);
  EXPECT_EQ(info.dlsr, 0x10u);
  // Lengths that do not tile the datagram.
  EXPECT_FALSE(ParseRtcp(sr.data(), sr.size() - 1, &info));
  sr[3] = 200;
  EXPECT_FALSE(ParseRtcp(sr.data(), sr.size(), &info));
}

TEST(TelephoneEventTest, ParsesAndNamesDigits) {
  const uint8_t payload[] = {11, 0x8A, 0x03, 0x20};
  auto event = ParseTelephoneEvent(payload, sizeof(payload));
  ASSERT_TRUE(event);
  EXPECT_EQ(event->event, 11);
  EXPECT_TRUE(event->end);
  EXPECT_EQ(event->volume, 10);
  EXPECT_EQ(event->duration, 800);
  EXPECT_FALSE(ParseTelephoneEvent(payload, 3));
  EXPECT_EQ(DtmfDigit(0), '0');
  EXPECT_EQ(DtmfDigit(9), '9');
  EXPECT_EQ(DtmfDigit(10), '*');
  EXPECT_EQ(DtmfDigit(11), '#');
  EXPECT_EQ(DtmfDigit(12), 'A');
  EXPECT_EQ(DtmfDigit(15), 'D');
  EXPECT_EQ(DtmfDigit(16), '\0');
}

}  // namespace
}  // namespace trunkline::media::relay
