#include "services/signaling/sdp_origin.h"

#include "gtest/gtest.h"

namespace trunkline::signaling {
namespace {

constexpr char kFirst[] =
    "v=0\r\no=gw 4 1 IN IP4 127.0.0.21\r\ns=-\r\nc=IN IP4 127.0.0.21\r\n"
    "t=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
constexpr char kSecond[] =
    "v=0\r\no=itsp 900 1 IN IP4 127.0.0.41\r\ns=-\r\nc=IN IP4 127.0.0.41\r\n"
    "t=0 0\r\nm=audio 6000 RTP/AVP 0\r\n";

// The first SDP sets the origin; another party's SDP then goes with that
// origin, one version higher (RFC 3264 8), even where its own version is
// the same; a repeat keeps the version.
TEST(SdpOriginKeeperTest, KeepsTheFirstOriginAndCountsChanges) {
  SdpOriginKeeper keeper;
  EXPECT_EQ(keeper.Apply(kFirst), kFirst);
  EXPECT_EQ(keeper.Apply(kSecond),
            "v=0\r\no=gw 4 2 IN IP4 127.0.0.21\r\ns=-\r\nc=IN IP4 "
            "127.0.0.41\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n");
  EXPECT_EQ(keeper.Apply(kSecond),
            "v=0\r\no=gw 4 2 IN IP4 127.0.0.21\r\ns=-\r\nc=IN IP4 "
            "127.0.0.41\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n")
      << "a refresh repeats the version";
  // That party's own next SDP (its hold, its version 2) is a change: 3.
  const std::string hold =
      "v=0\r\no=itsp 900 2 IN IP4 127.0.0.41\r\ns=-\r\nc=IN IP4 127.0.0.41\r\n"
      "t=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=sendonly\r\n";
  EXPECT_EQ(keeper.Apply(hold),
            "v=0\r\no=gw 4 3 IN IP4 127.0.0.21\r\ns=-\r\nc=IN IP4 "
            "127.0.0.41\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=sendonly\r\n");
}

TEST(SdpOriginKeeperTest, BareLineFeedsAndMalformedOrigins) {
  SdpOriginKeeper keeper;
  EXPECT_EQ(keeper.Apply("v=0\no=a 1 7 IN IP6 ::1\nm=audio 1 RTP/AVP 0\n"),
            "v=0\no=a 1 7 IN IP6 ::1\nm=audio 1 RTP/AVP 0\n");
  EXPECT_EQ(keeper.Apply("v=0\no=b 2 1 IN IP4 10.0.0.1\nm=audio 2 RTP/AVP 0\n"),
            "v=0\no=a 1 8 IN IP6 ::1\nm=audio 2 RTP/AVP 0\n");
  // Without a usable o= line the SDP goes as it came.
  EXPECT_EQ(keeper.Apply("v=0\r\nm=audio 3 RTP/AVP 0\r\n"),
            "v=0\r\nm=audio 3 RTP/AVP 0\r\n");
  EXPECT_EQ(keeper.Apply("v=0\r\no=x y\r\n"), "v=0\r\no=x y\r\n");
  EXPECT_EQ(keeper.Apply("v=0\r\no=x 1 v2 IN IP4 1.2.3.4\r\n"),
            "v=0\r\no=x 1 v2 IN IP4 1.2.3.4\r\n");
}

}  // namespace
}  // namespace trunkline::signaling
