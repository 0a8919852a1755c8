#include "services/media/srtp/srtp_session.h"

#include <malloc.h>

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace trunkline::media::srtp {
namespace {

using ::testing::HasSubstr;

constexpr uint32_t kSsrc = 0x11223344;

// An RTP packet (PCMU, 160 octets of payload) in a buffer with room to spare.
struct Packet {
  std::vector<uint8_t> buffer;
  size_t length = 0;

  absl::Span<uint8_t> span() { return absl::MakeSpan(buffer); }
  absl::Span<uint8_t> wire() { return absl::MakeSpan(buffer.data(), length); }
  std::vector<uint8_t> bytes() const {
    return {buffer.begin(), buffer.begin() + length};
  }
};

Packet Rtp(uint16_t seq, uint32_t ssrc = kSsrc, size_t room = 64) {
  Packet p;
  p.length = 12 + 160;
  p.buffer.assign(p.length + room, 0);
  p.buffer[0] = 0x80;
  p.buffer[1] = 0;  // PCMU
  p.buffer[2] = seq >> 8;
  p.buffer[3] = seq & 0xff;
  const uint32_t timestamp = seq * 160u;
  for (int i = 0; i < 4; ++i) {
    p.buffer[4 + i] = timestamp >> (24 - 8 * i);
    p.buffer[8 + i] = ssrc >> (24 - 8 * i);
  }
  for (size_t i = 12; i < p.length; ++i) p.buffer[i] = uint8_t(seq + i);
  return p;
}

// A minimal RTCP receiver report.
Packet Rtcp(uint32_t ssrc = kSsrc, size_t room = 64) {
  Packet p;
  p.length = 8;
  p.buffer.assign(p.length + room, 0);
  p.buffer[0] = 0x80;
  p.buffer[1] = 201;  // RR
  p.buffer[3] = 1;    // length in words - 1
  for (int i = 0; i < 4; ++i) p.buffer[4 + i] = ssrc >> (24 - 8 * i);
  return p;
}

MasterKey Key(Suite suite) {
  absl::StatusOr<MasterKey> key = GenerateMasterKey(suite);
  EXPECT_TRUE(key.ok()) << key.status();
  return *key;
}

struct Pair {
  std::unique_ptr<OutboundSrtp> out;
  std::unique_ptr<InboundSrtp> in;
};

Pair MakePair(const MasterKey& key) {
  absl::StatusOr<std::unique_ptr<OutboundSrtp>> out = OutboundSrtp::Create(key);
  absl::StatusOr<std::unique_ptr<InboundSrtp>> in = InboundSrtp::Create(key);
  EXPECT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(in.ok()) << in.status();
  return {out.ok() ? *std::move(out) : nullptr,
          in.ok() ? *std::move(in) : nullptr};
}

void Protect(OutboundSrtp& out, Packet& p) {
  absl::StatusOr<size_t> length = out.ProtectRtp(p.span(), p.length);
  ASSERT_TRUE(length.ok()) << length.status();
  p.length = *length;
}

class SrtpPerSuiteTest : public ::testing::TestWithParam<Suite> {};

TEST_P(SrtpPerSuiteTest, RtpRoundTripsInPlace) {
  const Suite suite = GetParam();
  Pair pair = MakePair(Key(suite));
  ASSERT_NE(pair.out, nullptr);
  EXPECT_EQ(pair.out->rtp_overhead(), InfoOf(suite).rtp_tag_length);
  for (uint16_t seq = 1000; seq < 1010; ++seq) {
    Packet p = Rtp(seq);
    const std::vector<uint8_t> plain = p.bytes();
    Protect(*pair.out, p);
    ASSERT_EQ(p.length, plain.size() + InfoOf(suite).rtp_tag_length);
    // The header stays readable, the payload does not.
    EXPECT_TRUE(
        std::equal(plain.begin(), plain.begin() + 12, p.buffer.begin()));
    EXPECT_FALSE(
        std::equal(plain.begin() + 12, plain.end(), p.buffer.begin() + 12));

    absl::StatusOr<size_t> length = pair.in->UnprotectRtp(p.wire());
    ASSERT_TRUE(length.ok()) << length.status();
    p.length = *length;
    EXPECT_EQ(p.bytes(), plain);
  }
}

TEST_P(SrtpPerSuiteTest, RtcpRoundTripsWithTheIndexAppended) {
  const Suite suite = GetParam();
  Pair pair = MakePair(Key(suite));
  ASSERT_NE(pair.out, nullptr);
  EXPECT_EQ(pair.out->rtcp_overhead(), 4 + InfoOf(suite).rtcp_tag_length);
  for (uint32_t index = 1; index <= 3; ++index) {
    Packet p = Rtcp();
    const std::vector<uint8_t> plain = p.bytes();
    absl::StatusOr<size_t> length = pair.out->ProtectRtcp(p.span(), p.length);
    ASSERT_TRUE(length.ok()) << length.status();
    ASSERT_EQ(*length, plain.size() + 4 + InfoOf(suite).rtcp_tag_length);
    // E flag and the SRTCP index (RFC 3711 §3.4), counted from 1.
    const uint8_t* e_index =
        p.buffer.data() + plain.size() +
        (suite == Suite::kAeadAes128Gcm ? InfoOf(suite).rtcp_tag_length : 0);
    EXPECT_EQ(e_index[0], 0x80);
    EXPECT_EQ(e_index[3], index);
    p.length = *length;

    absl::StatusOr<size_t> back = pair.in->UnprotectRtcp(p.wire());
    ASSERT_TRUE(back.ok()) << back.status();
    p.length = *back;
    EXPECT_EQ(p.bytes(), plain);
  }
}

TEST_P(SrtpPerSuiteTest, TamperingFailsAuthentication) {
  Pair pair = MakePair(Key(GetParam()));
  ASSERT_NE(pair.out, nullptr);
  Packet p = Rtp(7);
  Protect(*pair.out, p);
  for (size_t offset : {size_t{1}, size_t{20}, p.length - 1}) {
    Packet tampered = p;
    tampered.buffer[offset] ^= 0x01;
    absl::StatusOr<size_t> length = pair.in->UnprotectRtp(tampered.wire());
    ASSERT_FALSE(length.ok()) << "offset " << offset;
    EXPECT_EQ(length.status().code(), absl::StatusCode::kUnauthenticated)
        << length.status();
    EXPECT_THAT(length.status().message(), HasSubstr("authentication failed"));
  }
  // The original still passes: failed packets do not poison the stream.
  EXPECT_TRUE(pair.in->UnprotectRtp(p.wire()).ok());

  // So does SRTCP.
  Packet r = Rtcp();
  r.length = *pair.out->ProtectRtcp(r.span(), r.length);
  r.buffer[10] ^= 0x80;
  EXPECT_EQ(pair.in->UnprotectRtcp(r.wire()).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_P(SrtpPerSuiteTest, WrongKeyFailsAuthentication) {
  Pair sender = MakePair(Key(GetParam()));
  Pair receiver = MakePair(Key(GetParam()));
  ASSERT_NE(sender.out, nullptr);
  ASSERT_NE(receiver.in, nullptr);
  Packet p = Rtp(1);
  Protect(*sender.out, p);
  EXPECT_EQ(receiver.in->UnprotectRtp(p.wire()).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_P(SrtpPerSuiteTest, ReplayedAndTooOldPacketsAreDropped) {
  Pair pair = MakePair(Key(GetParam()));
  ASSERT_NE(pair.out, nullptr);
  Packet old = Rtp(10);
  Protect(*pair.out, old);
  Packet recent = Rtp(10 + kReplayWindow + 100);
  Protect(*pair.out, recent);

  Packet first = recent;
  ASSERT_TRUE(pair.in->UnprotectRtp(first.wire()).ok());
  Packet again = recent;
  absl::Status replay = pair.in->UnprotectRtp(again.wire()).status();
  EXPECT_EQ(replay.code(), absl::StatusCode::kAlreadyExists) << replay;
  EXPECT_THAT(replay.message(), HasSubstr("already received"));

  absl::Status too_old = pair.in->UnprotectRtp(old.wire()).status();
  EXPECT_EQ(too_old.code(), absl::StatusCode::kOutOfRange) << too_old;

  // SRTCP keeps its own replay list.
  Packet r = Rtcp();
  r.length = *pair.out->ProtectRtcp(r.span(), r.length);
  Packet r_again = r;
  ASSERT_TRUE(pair.in->UnprotectRtcp(r.wire()).ok());
  EXPECT_EQ(pair.in->UnprotectRtcp(r_again.wire()).status().code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_P(SrtpPerSuiteTest, OutOfOrderWithinTheWindowIsAccepted) {
  Pair pair = MakePair(Key(GetParam()));
  ASSERT_NE(pair.out, nullptr);
  std::vector<Packet> packets;
  for (uint16_t seq = 100; seq < 105; ++seq) {
    packets.push_back(Rtp(seq));
    Protect(*pair.out, packets.back());
  }
  for (int i : {4, 0, 2, 1, 3}) {
    EXPECT_TRUE(pair.in->UnprotectRtp(packets[i].wire()).ok()) << i;
  }
}

TEST_P(SrtpPerSuiteTest, SequenceWrapAdvancesTheRolloverCounter) {
  // RFC 3711 §3.3.1: 0xffff -> 0x0000 bumps the ROC on both ends; if the
  // receiver did not follow, every packet after the wrap would fail.
  Pair pair = MakePair(Key(GetParam()));
  ASSERT_NE(pair.out, nullptr);
  for (uint32_t n = 0xfffd; n < 0x10003; ++n) {
    Packet p = Rtp(static_cast<uint16_t>(n));
    const std::vector<uint8_t> plain = p.bytes();
    Protect(*pair.out, p);
    absl::StatusOr<size_t> length = pair.in->UnprotectRtp(p.wire());
    ASSERT_TRUE(length.ok()) << "seq " << n << ": " << length.status();
    p.length = *length;
    EXPECT_EQ(p.bytes(), plain);
  }
}

TEST_P(SrtpPerSuiteTest, NewSsrcsShareTheContext) {
  // The relay does not know a peer's SSRCs in advance, and they change
  // (e.g. after a transfer): one context serves them all.
  Pair pair = MakePair(Key(GetParam()));
  ASSERT_NE(pair.out, nullptr);
  const struct {
    uint32_t ssrc;
    uint16_t seq;
  } packets[] = {{0x1, 5}, {0xdeadbeef, 6}, {0x1, 7}};
  for (const auto& packet : packets) {
    Packet p = Rtp(packet.seq, packet.ssrc);
    Protect(*pair.out, p);
    EXPECT_TRUE(pair.in->UnprotectRtp(p.wire()).ok()) << packet.ssrc;
  }
}

INSTANTIATE_TEST_SUITE_P(AllSuites, SrtpPerSuiteTest,
                         ::testing::Values(Suite::kAesCm128HmacSha1_80,
                                           Suite::kAesCm128HmacSha1_32,
                                           Suite::kAeadAes128Gcm),
                         [](const ::testing::TestParamInfo<Suite>& info) {
                           std::string name(SuiteName(info.param));
                           return name;
                         });

TEST(SrtpSessionTest, ProtectingTheSameIndexTwiceIsRefused) {
  // A resend would reuse the keystream (fatal for GCM); the relay drops it.
  Pair pair = MakePair(Key(Suite::kAeadAes128Gcm));
  Packet p = Rtp(42);
  Packet copy = p;
  Protect(*pair.out, p);
  EXPECT_EQ(pair.out->ProtectRtp(copy.span(), copy.length).status().code(),
            absl::StatusCode::kAlreadyExists);
}

TEST(SrtpSessionTest, BufferWithoutRoomForTheTagIsRefusedUntouched) {
  Pair pair = MakePair(Key(Suite::kAesCm128HmacSha1_80));
  Packet p = Rtp(1, kSsrc, /*room=*/9);  // the tag needs 10
  const std::vector<uint8_t> before = p.buffer;
  absl::Status status = pair.out->ProtectRtp(p.span(), p.length).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_EQ(p.buffer, before);

  Packet r = Rtcp(kSsrc, /*room=*/13);  // index + tag need 14
  EXPECT_EQ(pair.out->ProtectRtcp(r.span(), r.length).status().code(),
            absl::StatusCode::kResourceExhausted);

  Packet exact = Rtp(2, kSsrc, /*room=*/10);
  EXPECT_TRUE(pair.out->ProtectRtp(exact.span(), exact.length).ok());
}

TEST(SrtpSessionTest, NonRtpAndTruncatedPacketsAreMalformed) {
  Pair pair = MakePair(Key(Suite::kAesCm128HmacSha1_80));
  std::vector<uint8_t> short_packet(11, 0x80);
  EXPECT_EQ(
      pair.out->ProtectRtp(absl::MakeSpan(short_packet), 11).status().code(),
      absl::StatusCode::kInvalidArgument);
  Packet v1 = Rtp(1);
  v1.buffer[0] = 0x40;  // version 1
  EXPECT_EQ(pair.out->ProtectRtp(v1.span(), v1.length).status().code(),
            absl::StatusCode::kInvalidArgument);
  Packet longer = Rtp(1);
  EXPECT_EQ(pair.out->ProtectRtp(longer.span(), longer.buffer.size() + 1)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);

  // SRTP shorter than header + tag, SRTCP shorter than 8 + index + tag.
  std::vector<uint8_t> srtp(12 + 9, 0x80);
  EXPECT_EQ(pair.in->UnprotectRtp(absl::MakeSpan(srtp)).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<uint8_t> srtcp(8 + 4 + 9, 0x80);
  EXPECT_EQ(pair.in->UnprotectRtcp(absl::MakeSpan(srtcp)).status().code(),
            absl::StatusCode::kInvalidArgument);

  // A CSRC count pointing past the end (the CVE-2015-6360 class): rejected,
  // never read beyond the packet (the sanitizer build checks the latter).
  Packet csrc = Rtp(3);
  Protect(*pair.out, csrc);
  csrc.buffer[0] = 0x8f;  // 15 CSRCs = 60 octets, more than the packet has
  csrc.length = 12 + 12 + 10;
  EXPECT_FALSE(pair.in->UnprotectRtp(csrc.wire()).ok());
}

TEST(SrtpSessionTest, MkiIsWrittenAndChecked) {
  MasterKey key = Key(Suite::kAesCm128HmacSha1_80);
  key.mki = Mki{0x0102, 2};
  Pair pair = MakePair(key);
  ASSERT_NE(pair.out, nullptr);
  EXPECT_EQ(pair.out->rtp_overhead(), 10u + 2u);
  Packet p = Rtp(9);
  const size_t plain_length = p.length;
  Protect(*pair.out, p);
  ASSERT_EQ(p.length, plain_length + 2 + 10);
  // RFC 3711 §3.1: the MKI sits between the payload and the tag.
  EXPECT_EQ(p.buffer[plain_length], 0x01);
  EXPECT_EQ(p.buffer[plain_length + 1], 0x02);
  // An MKI this context does not know (checked before the packet is
  // accepted, so the genuine one still passes afterwards).
  Packet unknown = p;
  unknown.buffer[plain_length + 1] = 0x03;
  absl::Status status = pair.in->UnprotectRtp(unknown.wire()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
  EXPECT_TRUE(pair.in->UnprotectRtp(p.wire()).ok());
}

TEST(SrtpSessionTest, CreateChecksKeyLengths) {
  MasterKey key = Key(Suite::kAeadAes128Gcm);
  key.salt.push_back('x');  // 13 octets
  absl::Status status = OutboundSrtp::Create(key).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              HasSubstr("AEAD_AES_128_GCM needs a 16-octet key and a 12-octet "
                        "salt, got 16 and 13"));
}

#if defined(__SANITIZE_ADDRESS__)
#define TRUNKLINE_HEAP_IS_MALLOC 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TRUNKLINE_HEAP_IS_MALLOC 0
#endif
#endif
#ifndef TRUNKLINE_HEAP_IS_MALLOC
#define TRUNKLINE_HEAP_IS_MALLOC 1
#endif

// An idle SRTP stream must stay small (a relay holds thousands that carry
// nothing yet): the libsrtp session is made at the first packet.
TEST(SrtpSessionTest, AKeyCostsLittleUntilItsFirstPacket) {
  if (!TRUNKLINE_HEAP_IS_MALLOC) GTEST_SKIP() << "heap is the sanitizer's";
  constexpr int kPairs = 200;
  const MasterKey key = Key(Suite::kAesCm128HmacSha1_80);
  ASSERT_TRUE(InitSrtpLibrary().ok());
  std::vector<Pair> pairs;
  pairs.reserve(kPairs);
  const size_t before = mallinfo2().uordblks;
  for (int i = 0; i < kPairs; ++i) pairs.push_back(MakePair(key));
  const size_t idle = mallinfo2().uordblks - before;
  EXPECT_LT(idle / kPairs, 256u) << "bytes per idle inbound+outbound pair";

  for (Pair& pair : pairs) {
    Packet p = Rtp(1);
    Protect(*pair.out, p);
    ASSERT_TRUE(pair.in->UnprotectRtp(p.wire()).ok());
  }
  const size_t busy = mallinfo2().uordblks - before;
  // What the first packets cost shows the measure sees libsrtp's sessions.
  EXPECT_GT(busy / kPairs, 2048u) << "bytes per pair after a packet";
}

TEST(SrtpSessionTest, InitIsSafeFromManyThreads) {
  std::vector<std::thread> threads;
  std::vector<absl::Status> results(8);
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&results, i] { results[i] = InitSrtpLibrary(); });
  }
  for (std::thread& thread : threads) thread.join();
  for (const absl::Status& status : results) EXPECT_TRUE(status.ok()) << status;
}

TEST(SrtpSessionTest, DropStatusesAreSharedNotRebuilt) {
  // The drop path must not allocate: the same status object backs every
  // auth failure, so copies compare equal and share their payload.
  Pair pair = MakePair(Key(Suite::kAesCm128HmacSha1_80));
  Packet p = Rtp(1);
  Protect(*pair.out, p);
  p.buffer[p.length - 1] ^= 1;
  Packet q = p;
  absl::Status first = pair.in->UnprotectRtp(p.wire()).status();
  absl::Status second = pair.in->UnprotectRtp(q.wire()).status();
  EXPECT_EQ(first, second);
  EXPECT_EQ(first.message().data(), second.message().data());
}

}  // namespace
}  // namespace trunkline::media::srtp
