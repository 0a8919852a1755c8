#include "services/media/srtp/sdes.h"

#include <set>
#include <string>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace trunkline::media::srtp {
namespace {

using ::testing::HasSubstr;

std::string Bytes(absl::string_view hex) { return absl::HexStringToBytes(hex); }

// RFC 3711 B.3 master key and salt; libsrtp's KAT gives their inline form.
constexpr char kB3Inline[] = "inline:4fl6DT4Bi+DWT6MsBt5BOQ7Gda1Jiv7rtpYLOqvm";

TEST(SrtpSdesTest, SplitsInlineKeyIntoMasterKeyAndSalt) {
  absl::StatusOr<MasterKey> key =
      ParseSdesKeyParams(Suite::kAesCm128HmacSha1_80, kB3Inline);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->key, Bytes("E1F97A0D3E018BE0D64FA32C06DE4139"));
  EXPECT_EQ(key->salt, Bytes("0EC675AD498AFEEBB6960B3AABE6"));
  EXPECT_FALSE(key->lifetime.has_value());
  EXPECT_FALSE(key->mki.has_value());
  EXPECT_EQ(FormatSdesKeyParams(*key), kB3Inline);
}

TEST(SrtpSdesTest, GcmKeysAre16PlusTwelveOctets) {
  // RFC 7714 §16 key and salt as one inline key (28 octets, padded base64).
  const std::string material =
      Bytes("000102030405060708090a0b0c0d0e0f517569642070726f2071756f");
  const std::string params = "inline:" + absl::Base64Escape(material);
  absl::StatusOr<MasterKey> key =
      ParseSdesKeyParams("AEAD_AES_128_GCM", params);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->suite, Suite::kAeadAes128Gcm);
  EXPECT_EQ(key->key, Bytes("000102030405060708090a0b0c0d0e0f"));
  EXPECT_EQ(key->salt, "Quid pro quo");
  EXPECT_EQ(FormatSdesKeyParams(*key), params);
  // The same 28 octets are too short for an AES-CM suite.
  EXPECT_THAT(ParseSdesKeyParams(Suite::kAesCm128HmacSha1_80, params)
                  .status()
                  .message(),
              HasSubstr("AES_CM_128_HMAC_SHA1_80 needs 16 key + 14 salt = 30 "
                        "octets, the inline key has 28"));
}

TEST(SrtpSdesTest, ParsesLifetimeAndMki) {
  // RFC 4568 §6.1 example form.
  absl::StatusOr<MasterKey> key = ParseSdesKeyParams(
      Suite::kAesCm128HmacSha1_32,
      "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4");
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->lifetime, uint64_t{1} << 20);
  ASSERT_TRUE(key->mki.has_value());
  EXPECT_EQ(key->mki->value, 1u);
  EXPECT_EQ(key->mki->length, 4u);
  EXPECT_EQ(FormatSdesKeyParams(*key),
            "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4");

  absl::StatusOr<MasterKey> decimal = ParseSdesKeyParams(
      Suite::kAesCm128HmacSha1_80,
      "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|1000");
  ASSERT_TRUE(decimal.ok()) << decimal.status();
  EXPECT_EQ(decimal->lifetime, 1000u);
  EXPECT_EQ(FormatSdesKeyParams(*decimal),
            "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|1000");

  absl::StatusOr<MasterKey> mki_only = ParseSdesKeyParams(
      Suite::kAesCm128HmacSha1_80,
      "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|255:1");
  ASSERT_TRUE(mki_only.ok()) << mki_only.status();
  EXPECT_FALSE(mki_only->lifetime.has_value());
  EXPECT_EQ(mki_only->mki, (Mki{255, 1}));
}

TEST(SrtpSdesTest, RejectsBadKeysWithTheReason) {
  constexpr char kKey[] = "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR";
  const Suite suite = Suite::kAesCm128HmacSha1_80;
  struct {
    std::string params;
    std::string error;
  } cases[] = {
      {std::string("uri:") + kKey, "must start with 'inline:'"},
      {"inline:", "the inline key has 0"},
      {"inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVB",
       "30 octets, the inline key has 29"},
      {"inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBRAAAA",
       "the inline key has 33"},
      {"inline:PS1uQCVeeCFCanVmcjkp*ywjNWhcYD0mXXtxaVBR",
       "character that is not base64: '*'"},
      {"inline:PS1uQCVeeCFCanVmcjkp ywjNWhcYD0mXXtxaVBR", "not base64: ' '"},
      {"inline:PS1uQCVeeCFCanVmcjkpPy=jNWhcYD0mXXtxaVBR", "not base64: '='"},
      {std::string("inline:") + kKey + "|2^49", "2^0 to 2^48"},
      {std::string("inline:") + kKey + "|0", "from 1 to 2^48"},
      {std::string("inline:") + kKey + "|281474976710657", "from 1 to 2^48"},
      {std::string("inline:") + kKey + "|1:0", "MKI length '0'"},
      {std::string("inline:") + kKey + "|1:129", "MKI length '129'"},
      {std::string("inline:") + kKey + "|256:1", "does not fit in 1 octet"},
      {std::string("inline:") + kKey + "|x:1", "MKI value 'x'"},
      {std::string("inline:") + kKey + "|1:4|2^20",
       "lifetime must come once, before the MKI"},
      {std::string("inline:") + kKey + "|1:4|2:4", "two MKIs"},
      {std::string("inline:") + kKey + "|2^20|1:4|x", "more than"},
  };
  for (const auto& c : cases) {
    absl::StatusOr<MasterKey> key = ParseSdesKeyParams(suite, c.params);
    ASSERT_FALSE(key.ok()) << c.params;
    EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(key.status().message()), HasSubstr(c.error))
        << c.params;
  }
  EXPECT_THAT(
      ParseSdesKeyParams("NULL_HMAC_SHA1_80", std::string("inline:") + kKey)
          .status()
          .message(),
      HasSubstr("'NULL_HMAC_SHA1_80' is not supported"));
}

TEST(SrtpSdesTest, GeneratedKeysHaveSuiteLengthsAndDiffer) {
  std::set<std::string> seen;
  for (Suite suite : {Suite::kAesCm128HmacSha1_80, Suite::kAesCm128HmacSha1_32,
                      Suite::kAeadAes128Gcm}) {
    for (int i = 0; i < 4; ++i) {
      absl::StatusOr<MasterKey> key = GenerateMasterKey(suite);
      ASSERT_TRUE(key.ok()) << key.status();
      EXPECT_EQ(key->key.size(), InfoOf(suite).key_length);
      EXPECT_EQ(key->salt.size(), InfoOf(suite).salt_length);
      EXPECT_TRUE(seen.insert(key->key + key->salt).second)
          << "the CSPRNG repeated itself";
      // What we put in SDP reads back as the same key.
      absl::StatusOr<MasterKey> back =
          ParseSdesKeyParams(suite, FormatSdesKeyParams(*key));
      ASSERT_TRUE(back.ok()) << back.status();
      EXPECT_EQ(back->key, key->key);
      EXPECT_EQ(back->salt, key->salt);
    }
  }
}

}  // namespace
}  // namespace trunkline::media::srtp
