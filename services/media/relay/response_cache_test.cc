#include "services/media/relay/response_cache.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace trunkline::media::relay {
namespace {

using Method = ResponseCache::Method;

TEST(ResponseCacheTest, FindsWhatWasPutByMethodLegAndRequestId) {
  ResponseCache cache;
  EXPECT_FALSE(cache.Find(Method::kOffer, v1::LEG_CALLER, "1").has_value());
  cache.Put(Method::kOffer, v1::LEG_CALLER, "1", "v=0 offer");
  cache.Put(Method::kAnswer, v1::LEG_CALLEE, "1", "v=0 answer");
  EXPECT_EQ(cache.Find(Method::kOffer, v1::LEG_CALLER, "1"), "v=0 offer");
  EXPECT_EQ(cache.Find(Method::kAnswer, v1::LEG_CALLEE, "1"), "v=0 answer");
  // Each of the three parts tells requests apart.
  EXPECT_FALSE(cache.Find(Method::kAnswer, v1::LEG_CALLER, "1").has_value());
  EXPECT_FALSE(cache.Find(Method::kOffer, v1::LEG_CALLEE, "1").has_value());
  EXPECT_FALSE(cache.Find(Method::kOffer, v1::LEG_CALLER, "2").has_value());
  EXPECT_EQ(cache.size(), 2u);
}

TEST(ResponseCacheTest, RequestIdsDoNotRunIntoTheSdp) {
  // The id and the SDP share one string: an id that is a prefix of another,
  // or that continues into the SDP's text, must not match.
  ResponseCache cache;
  cache.Put(Method::kOffer, v1::LEG_CALLER, "ab", "cd");
  EXPECT_FALSE(cache.Find(Method::kOffer, v1::LEG_CALLER, "a").has_value());
  EXPECT_FALSE(cache.Find(Method::kOffer, v1::LEG_CALLER, "abc").has_value());
  EXPECT_FALSE(cache.Find(Method::kOffer, v1::LEG_CALLER, "abcd").has_value());
  EXPECT_EQ(cache.Find(Method::kOffer, v1::LEG_CALLER, "ab"), "cd");
  cache.Put(Method::kOffer, v1::LEG_CALLER, "", "empty id");
  EXPECT_EQ(cache.Find(Method::kOffer, v1::LEG_CALLER, ""), "empty id");
  EXPECT_EQ(cache.Find(Method::kOffer, v1::LEG_CALLER, "ab"), "cd");
}

TEST(ResponseCacheTest, PutReplacesTheSameRequest) {
  ResponseCache cache;
  cache.Put(Method::kOffer, v1::LEG_CALLEE, "7", "first");
  cache.Put(Method::kOffer, v1::LEG_CALLEE, "7", "second, longer");
  EXPECT_EQ(cache.Find(Method::kOffer, v1::LEG_CALLEE, "7"), "second, longer");
  EXPECT_EQ(cache.size(), 1u);
}

TEST(ResponseCacheTest, KeepsEveryRequestOfALongCall) {
  // Re-INVITEs add entries; the early ones still answer their retries.
  ResponseCache cache;
  for (int i = 0; i < 50; ++i) {
    cache.Put(Method::kOffer, v1::LEG_CALLER, std::to_string(i),
              "sdp " + std::to_string(i));
  }
  EXPECT_EQ(cache.size(), 50u);
  EXPECT_EQ(cache.Find(Method::kOffer, v1::LEG_CALLER, "0"), "sdp 0");
  EXPECT_EQ(cache.Find(Method::kOffer, v1::LEG_CALLER, "49"), "sdp 49");
}

TEST(ResponseCacheTest, OurKeysAreStoredAsTwoOctetsAndPutBack) {
  const std::string key_a = "inline:" + std::string(40, 'A');
  const std::string key_b = "inline:" + std::string(40, 'B');
  const std::vector<std::string> phrases = {"", key_a, key_b};
  const std::string sdp = "m=audio 4000 RTP/SAVP 0\r\na=crypto:1 X " + key_a +
                          "\r\na=crypto:2 Y " + key_b + "\r\na=crypto:3 Z " +
                          key_a + "|2^20\r\n";
  ResponseCache cache;
  cache.Put(Method::kOffer, v1::LEG_CALLER, "7", sdp, phrases);
  EXPECT_EQ(cache.Find(Method::kOffer, v1::LEG_CALLER, "7", phrases), sdp);
  // Three keys of 47 octets each went in as 2 octets each.
  EXPECT_EQ(cache.stored_bytes(), 1 + sdp.size() - 3 * 45);
  // A later Put of the same request replaces the packed text.
  cache.Put(Method::kOffer, v1::LEG_CALLER, "7", "v=0 plain", phrases);
  EXPECT_EQ(cache.Find(Method::kOffer, v1::LEG_CALLER, "7", phrases),
            "v=0 plain");
}

TEST(ResponseCacheTest, AnSdpHoldingTheMarkIsStoredAsItIs) {
  const std::vector<std::string> phrases = {"inline:K"};
  const std::string sdp = std::string("a=x:") + ResponseCache::kPhraseMark +
                          "\r\na=crypto:1 S inline:K";
  ResponseCache cache;
  cache.Put(Method::kAnswer, v1::LEG_CALLEE, "1", sdp, phrases);
  EXPECT_EQ(cache.Find(Method::kAnswer, v1::LEG_CALLEE, "1", phrases), sdp);
  EXPECT_EQ(cache.stored_bytes(), 1 + sdp.size());
}

}  // namespace
}  // namespace trunkline::media::relay
