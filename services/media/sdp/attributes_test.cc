#include "services/media/sdp/attributes.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace trunkline::media::sdp {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(SdpRtpMapTest, ParsesEncodingClockAndChannels) {
  absl::StatusOr<RtpMap> opus = ParseRtpMap("111 opus/48000/2");
  ASSERT_TRUE(opus.ok()) << opus.status();
  EXPECT_EQ(opus->payload_type, 111);
  EXPECT_EQ(opus->encoding, "opus");
  EXPECT_EQ(opus->clock_rate, 48000u);
  EXPECT_EQ(opus->parameters, "2");

  absl::StatusOr<RtpMap> dtmf = ParseRtpMap("101 telephone-event/8000");
  ASSERT_TRUE(dtmf.ok()) << dtmf.status();
  EXPECT_EQ(dtmf->encoding, "telephone-event");
  EXPECT_EQ(dtmf->parameters, "");
}

TEST(SdpRtpMapTest, RejectsWhatTheRelayCannotUse) {
  EXPECT_THAT(ParseRtpMap("128 PCMU/8000").status().message(),
              HasSubstr("payload type '128' is not in 0..127"));
  EXPECT_THAT(ParseRtpMap("x PCMU/8000").status().message(),
              HasSubstr("payload type 'x'"));
  EXPECT_THAT(ParseRtpMap("0 PCMU").status().message(),
              HasSubstr("needs '<pt> <encoding>/<clock rate>'"));
  EXPECT_THAT(ParseRtpMap("0 PCMU/0").status().message(),
              HasSubstr("clock rate '0' is not a positive number"));
  EXPECT_THAT(ParseRtpMap("0 /8000").status().message(),
              HasSubstr("needs '<pt> <encoding>/<clock rate>'"));
}

TEST(SdpFmtpTest, SplitsFormatAndParameters) {
  absl::StatusOr<Fmtp> fmtp = ParseFmtp("101 0-16");
  ASSERT_TRUE(fmtp.ok());
  EXPECT_EQ(fmtp->format, "101");
  EXPECT_EQ(fmtp->parameters, "0-16");
  EXPECT_FALSE(ParseFmtp(" 0-16").ok());
}

TEST(SdpCryptoTest, ParsesRfc4568Example) {
  // RFC 4568 §9.1 (with a session parameter added).
  absl::StatusOr<Crypto> crypto = ParseCrypto(
      "1 AES_CM_128_HMAC_SHA1_80 "
      "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32 KDR=1");
  ASSERT_TRUE(crypto.ok()) << crypto.status();
  EXPECT_EQ(crypto->tag, 1u);
  EXPECT_EQ(crypto->suite, "AES_CM_128_HMAC_SHA1_80");
  EXPECT_THAT(crypto->key_params,
              ElementsAre("inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^"
                          "20|1:32"));
  EXPECT_THAT(crypto->session_params, ElementsAre("KDR=1"));
}

TEST(SdpCryptoTest, KeepsSeveralKeysAndFormatsBack) {
  const std::string value =
      "42 AES_CM_128_HMAC_SHA1_32 inline:QUFB|2^20|1:4;inline:QkJC|2^20|2:4 "
      "UNENCRYPTED_SRTCP WSH=64";
  absl::StatusOr<Crypto> crypto = ParseCrypto(value);
  ASSERT_TRUE(crypto.ok()) << crypto.status();
  EXPECT_EQ(crypto->tag, 42u);
  EXPECT_EQ(crypto->key_params.size(), 2u);
  EXPECT_EQ(crypto->session_params.size(), 2u);
  EXPECT_EQ(FormatCrypto(*crypto), value);
}

TEST(SdpCryptoTest, RejectsMalformedLines) {
  EXPECT_THAT(ParseCrypto("1 AES_CM_128_HMAC_SHA1_80").status().message(),
              HasSubstr("needs '<tag> <crypto-suite> <key-params>'"));
  EXPECT_THAT(ParseCrypto("1234567890 AES_CM_128_HMAC_SHA1_80 inline:x")
                  .status()
                  .message(),
              HasSubstr("tag '1234567890' is not a number of 1 to 9 digits"));
  EXPECT_THAT(
      ParseCrypto("a AES_CM_128_HMAC_SHA1_80 inline:x").status().message(),
      HasSubstr("tag 'a'"));
  EXPECT_THAT(ParseCrypto("1 AES_CM_128_HMAC_SHA1_80 QUFB").status().message(),
              HasSubstr("key parameter 'QUFB' is not '<method>:<key info>'"));
  EXPECT_THAT(
      ParseCrypto("1 AES_CM_128_HMAC_SHA1_80 inline:").status().message(),
      HasSubstr("key parameter 'inline:'"));
}

TEST(SdpRtcpTest, ParsesPortAndOptionalAddress) {
  absl::StatusOr<Rtcp> port_only = ParseRtcp("53020");
  ASSERT_TRUE(port_only.ok());
  EXPECT_EQ(port_only->port, 53020u);
  EXPECT_FALSE(port_only->connection.has_value());

  // RFC 3605 §2.1 example.
  absl::StatusOr<Rtcp> with_address =
      ParseRtcp("53020 IN IP6 2001:2345:6789:ABCD:EF01:2345:6789:ABCD");
  ASSERT_TRUE(with_address.ok());
  ASSERT_TRUE(with_address->connection.has_value());
  EXPECT_EQ(with_address->connection->address_type, "IP6");
  EXPECT_EQ(with_address->connection->address,
            "2001:2345:6789:ABCD:EF01:2345:6789:ABCD");

  EXPECT_FALSE(ParseRtcp("65536").ok());
  EXPECT_FALSE(ParseRtcp("53020 IN IP4").ok());
  EXPECT_FALSE(ParseRtcp("53020 XX IP4 192.0.2.1").ok());
}

TEST(SdpPtimeTest, AcceptsWholeAndFractionalMilliseconds) {
  EXPECT_EQ(*ParsePtime("20"), 20u);
  EXPECT_EQ(*ParsePtime("20.0"), 20u);
  EXPECT_FALSE(ParsePtime("0").ok());
  EXPECT_FALSE(ParsePtime("20.").ok());
  EXPECT_FALSE(ParsePtime("twenty").ok());
  EXPECT_FALSE(ParsePtime("").ok());
}

TEST(SdpCandidateTest, ParsesHostAndReflexiveCandidates) {
  absl::StatusOr<Candidate> host =
      ParseCandidate("1 1 UDP 2130706431 10.0.1.1 8998 typ host");
  ASSERT_TRUE(host.ok()) << host.status();
  EXPECT_EQ(host->component, 1u);
  EXPECT_EQ(host->transport, "UDP");
  EXPECT_EQ(host->priority, 2130706431u);
  EXPECT_EQ(host->address, "10.0.1.1");
  EXPECT_EQ(host->port, 8998u);
  EXPECT_EQ(host->type, "host");
  EXPECT_TRUE(host->extensions.empty());

  absl::StatusOr<Candidate> srflx = ParseCandidate(
      "2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 10.0.1.1 rport "
      "8998");
  ASSERT_TRUE(srflx.ok()) << srflx.status();
  EXPECT_EQ(srflx->type, "srflx");
  EXPECT_THAT(srflx->extensions,
              ElementsAre("raddr", "10.0.1.1", "rport", "8998"));

  EXPECT_FALSE(ParseCandidate("1 1 UDP 1 10.0.1.1 8998 host").ok());
  EXPECT_FALSE(ParseCandidate("1 0 UDP 1 10.0.1.1 8998 typ host").ok());
  EXPECT_FALSE(ParseCandidate("1 1 UDP 1 10.0.1.1 99999 typ host").ok());
}

TEST(SdpIceOrDtlsTest, NamesTheTransportAttributes) {
  for (const char* name :
       {"candidate", "ice-ufrag", "ice-pwd", "ice-options", "end-of-candidates",
        "ice-lite", "fingerprint", "setup"}) {
    EXPECT_TRUE(IsIceOrDtlsAttribute(name)) << name;
  }
  for (const char* name : {"rtpmap", "crypto", "mid", "ssrc", "rtcp-mux"}) {
    EXPECT_FALSE(IsIceOrDtlsAttribute(name)) << name;
  }
}

TEST(SdpValidateAttributeTest, ChecksOnlyWhatTheRelayReads) {
  EXPECT_TRUE(ValidateAttribute({"x-anything", std::string("at all")}).ok());
  EXPECT_TRUE(ValidateAttribute({"candidate", std::string("garbage")}).ok());
  EXPECT_TRUE(ValidateAttribute({"sendrecv", std::nullopt}).ok());
  EXPECT_FALSE(ValidateAttribute({"sendrecv", std::string("")}).ok());
  EXPECT_FALSE(ValidateAttribute({"crypto", std::nullopt}).ok());
  EXPECT_FALSE(ValidateAttribute({"rtcp", std::string("x")}).ok());
}

}  // namespace
}  // namespace trunkline::media::sdp
