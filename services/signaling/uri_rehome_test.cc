#include "services/signaling/uri_rehome.h"

#include "gtest/gtest.h"

namespace trunkline::signaling {
namespace {

constexpr char kUdp[] = "<sip:127.0.0.1:5164>";
constexpr char kTcp[] = "<sip:203.0.113.10:5070;transport=tcp>";

TEST(RehomeUriTest, NumberAtAPeerBecomesTheNumberAtUs) {
  EXPECT_EQ(RehomeUri("<sip:+442079461234@10.20.0.5:5060;user=phone>", kUdp),
            "<sip:+442079461234@127.0.0.1:5164;user=phone>");
}

TEST(RehomeUriTest, OurTransportReplacesTheirs) {
  EXPECT_EQ(RehomeUri("<sip:1234@pbx.example;transport=udp;user=phone>", kTcp),
            "<sip:1234@203.0.113.10:5070;user=phone;transport=tcp>");
  EXPECT_EQ(RehomeUri("<sips:1234@pbx.example;maddr=10.0.0.9>", kUdp),
            "<sip:1234@127.0.0.1:5164>");
}

TEST(RehomeUriTest, DisplayNameHeaderParamsAndEmbeddedHeadersKept) {
  EXPECT_EQ(RehomeUri("\"Reception\" <sip:2001@[2001:db8::5]:5060?Replaces="
                      "abc%40pbx%3Bto-tag%3D1%3Bfrom-tag%3D2>;x=1",
                      kUdp),
            "\"Reception\" <sip:2001@127.0.0.1:5164?Replaces="
            "abc%40pbx%3Bto-tag%3D1%3Bfrom-tag%3D2>;x=1");
}

TEST(RehomeUriTest, EmbeddedReplacesGoesThroughTheMapping) {
  std::string seen;
  auto hide = [&seen](const std::string& replaces) {
    seen = replaces;
    return std::string("tl-9@x;to-tag=a b;from-tag=c");
  };
  EXPECT_EQ(RehomeUri("<sip:2001@10.1.1.5?Subject=x&Replaces="
                      "abc%40pbx%3Bto-tag%3D1%3Bfrom-tag%3D2>",
                      kUdp, hide),
            "<sip:2001@127.0.0.1:5164?Subject=x&Replaces="
            "tl-9%40x%3Bto-tag%3Da%20b%3Bfrom-tag%3Dc>");
  EXPECT_EQ(seen, "abc@pbx;to-tag=1;from-tag=2") << "given unescaped";
  // No Replaces: the mapping is not asked.
  seen.clear();
  EXPECT_EQ(RehomeUri("<sip:2001@10.1.1.5>", kUdp, hide),
            "<sip:2001@127.0.0.1:5164>");
  EXPECT_TRUE(seen.empty());
}

TEST(RehomeUriTest, AddrSpecKeepsItsHeaderParameters) {
  EXPECT_EQ(RehomeUri("sip:alice@fe.contoso.example;tag=x", kUdp),
            "<sip:alice@127.0.0.1:5164>;tag=x");
  EXPECT_EQ(RehomeUri("sip:alice@fe.contoso.example", kTcp),
            "<sip:alice@203.0.113.10:5070;transport=tcp>");
}

TEST(RehomeUriTest, UserlessUriNamesUs) {
  EXPECT_EQ(RehomeUri("<sip:10.20.0.5:5060?Replaces=a%3Bto-tag%3D1>", kUdp),
            "<sip:127.0.0.1:5164?Replaces=a%3Bto-tag%3D1>");
}

TEST(RehomeUriTest, WhatNamesNoAddressIsLeftAlone) {
  EXPECT_EQ(RehomeUri("<tel:+35315551234>", kUdp), "<tel:+35315551234>");
  EXPECT_EQ(RehomeUri("<sip:1234@pbx", kUdp), "<sip:1234@pbx");
  EXPECT_EQ(RehomeUri("<sip:1234@pbx>", ""), "<sip:1234@pbx>");
  EXPECT_EQ(RehomeUri("garbage", kUdp), "garbage");
}

}  // namespace
}  // namespace trunkline::signaling
