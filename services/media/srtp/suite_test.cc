#include "services/media/srtp/suite.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace trunkline::media::srtp {
namespace {

using ::testing::HasSubstr;

TEST(SrtpSuiteTest, NamesRoundTrip) {
  for (Suite suite : {Suite::kAesCm128HmacSha1_80, Suite::kAesCm128HmacSha1_32,
                      Suite::kAeadAes128Gcm}) {
    absl::StatusOr<Suite> back = SuiteFromName(SuiteName(suite));
    ASSERT_TRUE(back.ok()) << SuiteName(suite);
    EXPECT_EQ(*back, suite);
  }
}

TEST(SrtpSuiteTest, LengthsFollowTheRfcs) {
  // RFC 4568 §6.2: 128-bit key, 112-bit salt; 80- or 32-bit RTP tag, and
  // SRTCP always 80 bits.
  EXPECT_EQ(InfoOf(Suite::kAesCm128HmacSha1_80).salt_length, 14u);
  EXPECT_EQ(InfoOf(Suite::kAesCm128HmacSha1_80).rtp_tag_length, 10u);
  EXPECT_EQ(InfoOf(Suite::kAesCm128HmacSha1_32).rtp_tag_length, 4u);
  EXPECT_EQ(InfoOf(Suite::kAesCm128HmacSha1_32).rtcp_tag_length, 10u);
  // RFC 7714 §12: 96-bit salt, 16-octet tag.
  EXPECT_EQ(InfoOf(Suite::kAeadAes128Gcm).key_length, 16u);
  EXPECT_EQ(InfoOf(Suite::kAeadAes128Gcm).salt_length, 12u);
  EXPECT_EQ(InfoOf(Suite::kAeadAes128Gcm).rtp_tag_length, 16u);
}

TEST(SrtpSuiteTest, UnknownSuiteSaysWhatIsSupported) {
  absl::StatusOr<Suite> suite = SuiteFromName("AES_256_CM_HMAC_SHA1_80");
  ASSERT_FALSE(suite.ok());
  EXPECT_EQ(suite.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(suite.status().message(),
              HasSubstr("'AES_256_CM_HMAC_SHA1_80' is not supported; use "
                        "AES_CM_128_HMAC_SHA1_80"));
  // Names are case-sensitive (RFC 4568 §10.3.2 registers them so).
  EXPECT_FALSE(SuiteFromName("aes_cm_128_hmac_sha1_80").ok());
}

}  // namespace
}  // namespace trunkline::media::srtp
