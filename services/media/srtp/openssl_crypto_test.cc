#include "services/media/srtp/openssl_crypto.h"

#include <cstdint>
#include <memory>
#include <vector>

#include "gtest/gtest.h"
#include "services/media/srtp/sdes.h"
#include "services/media/srtp/srtp_session.h"

namespace trunkline::media::srtp {
namespace {

// An RTP packet (PCMU) and an RTCP receiver report, with room for the
// trailer.
std::vector<uint8_t> Rtp(uint16_t seq) {
  std::vector<uint8_t> p(12 + 160 + 64, 0);
  p[0] = 0x80;
  p[2] = seq >> 8;
  p[3] = seq & 0xff;
  p[8] = 0x12;
  p[9] = 0x34;
  p[10] = 0x56;
  p[11] = 0x78;
  for (size_t i = 12; i < 172; ++i) p[i] = uint8_t(seq * 7 + i);
  return p;
}
std::vector<uint8_t> Rtcp() {
  std::vector<uint8_t> p(8 + 64, 0);
  p[0] = 0x80;
  p[1] = 201;
  p[3] = 1;
  p[7] = 0x78;
  return p;
}

// What one implementation protects, under one key: the packets as sent.
struct Protected {
  std::vector<std::vector<uint8_t>> rtp;
  std::vector<uint8_t> rtcp;
};
Protected ProtectWith(SrtpCrypto crypto, const MasterKey& key) {
  EXPECT_TRUE(UseSrtpCrypto(crypto).ok());
  Protected out;
  auto context = OutboundSrtp::Create(key);
  EXPECT_TRUE(context.ok()) << context.status();
  if (!context.ok()) return out;
  for (uint16_t seq : {1, 2, 65535}) {
    std::vector<uint8_t> p = Rtp(seq);
    absl::StatusOr<size_t> n = (*context)->ProtectRtp(absl::MakeSpan(p), 172);
    EXPECT_TRUE(n.ok()) << n.status();
    p.resize(n.ok() ? *n : 0);
    out.rtp.push_back(p);
  }
  out.rtcp = Rtcp();
  absl::StatusOr<size_t> n =
      (*context)->ProtectRtcp(absl::MakeSpan(out.rtcp), 8);
  EXPECT_TRUE(n.ok()) << n.status();
  out.rtcp.resize(n.ok() ? *n : 0);
  return out;
}

// Ours and libsrtp's own (NSS in Debian) give the same octets for the same
// key, packets and indexes, so a peer on either interoperates; and each
// unprotects what the other protected. (The RFC 3711 and RFC 7714 vectors
// in srtp_vectors_test.cc run through ours, the default.)
TEST(OpenSslCryptoTest, SameOctetsAsLibsrtpsOwnBothWays) {
  ASSERT_TRUE(InitSrtpLibrary().ok());
  for (Suite suite :
       {Suite::kAesCm128HmacSha1_80, Suite::kAesCm128HmacSha1_32}) {
    absl::StatusOr<MasterKey> key = GenerateMasterKey(suite);
    ASSERT_TRUE(key.ok());
    const Protected ours = ProtectWith(SrtpCrypto::kOpenSsl, *key);
    const Protected theirs = ProtectWith(SrtpCrypto::kLibsrtp, *key);
    ASSERT_EQ(ours.rtp.size(), 3u);
    EXPECT_EQ(ours.rtp, theirs.rtp);
    EXPECT_EQ(ours.rtcp, theirs.rtcp);
    EXPECT_NE(ours.rtp[0], Rtp(1)) << "encrypted";

    for (SrtpCrypto crypto : {SrtpCrypto::kOpenSsl, SrtpCrypto::kLibsrtp}) {
      ASSERT_TRUE(UseSrtpCrypto(crypto).ok());
      auto in = InboundSrtp::Create(*key);
      ASSERT_TRUE(in.ok());
      const Protected& other = crypto == SrtpCrypto::kOpenSsl ? theirs : ours;
      std::vector<uint8_t> p = other.rtp[0];
      absl::StatusOr<size_t> n = (*in)->UnprotectRtp(absl::MakeSpan(p));
      ASSERT_TRUE(n.ok()) << n.status();
      const std::vector<uint8_t> sent = Rtp(1);
      EXPECT_EQ(std::vector<uint8_t>(p.begin(), p.begin() + *n),
                std::vector<uint8_t>(sent.begin(), sent.begin() + 172));
      // A flipped payload bit fails the tag.
      p = other.rtp[1];
      p[20] ^= 1;
      EXPECT_EQ((*in)->UnprotectRtp(absl::MakeSpan(p)).status().code(),
                absl::StatusCode::kUnauthenticated);
      std::vector<uint8_t> rtcp = other.rtcp;
      ASSERT_TRUE((*in)->UnprotectRtcp(absl::MakeSpan(rtcp)).ok());
    }
  }
  ASSERT_TRUE(UseSrtpCrypto(SrtpCrypto::kOpenSsl).ok());
}

}  // namespace
}  // namespace trunkline::media::srtp
