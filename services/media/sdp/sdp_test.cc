#include "services/media/sdp/sdp.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace trunkline::media::sdp {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Canonical CRLF SDP with every kind of line the model keeps.
constexpr char kFull[] =
    "v=0\r\n"
    "o=jdoe 2890844526 2890842807 IN IP4 10.47.16.5\r\n"
    "s=SDP Seminar\r\n"
    "i=A Seminar on the session description protocol\r\n"
    "u=http://www.example.com/seminars/sdp.pdf\r\n"
    "e=j.doe@example.com (Jane Doe)\r\n"
    "c=IN IP4 224.2.17.12/127\r\n"
    "b=AS:128\r\n"
    "t=2873397496 2873404696\r\n"
    "r=7d 1h 0 25h\r\n"
    "y=an unknown type letter\r\n"
    "a=recvonly\r\n"
    "a=x-vendor:opaque value\r\n"
    "m=audio 49170/2 RTP/AVP 0 101\r\n"
    "i=voice\r\n"
    "c=IN IP6 2001:db8::1\r\n"
    "b=TIAS:64000\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-15\r\n"
    "a=x-unknown\r\n"
    "a=ptime:20\r\n"
    "m=video 51372 RTP/AVPF 99\r\n"
    "a=rtpmap:99 h263-1998/90000\r\n"
    "a=sendonly\r\n";

TEST(SdpParseTest, RoundTripsEveryLineInOrder) {
  absl::StatusOr<SessionDescription> sdp = Parse(kFull);
  ASSERT_TRUE(sdp.ok()) << sdp.status();
  EXPECT_EQ(Serialize(*sdp), kFull);
}

TEST(SdpParseTest, LfAndCrlfParseTheSame) {
  std::string lf = absl::StrReplaceAll(kFull, {{"\r\n", "\n"}});
  absl::StatusOr<SessionDescription> sdp = Parse(lf);
  ASSERT_TRUE(sdp.ok()) << sdp.status();
  EXPECT_EQ(Serialize(*sdp), kFull);
}

TEST(SdpParseTest, ToleratesMissingFinalNewlineAndBlankLines) {
  absl::StatusOr<SessionDescription> sdp = Parse(
      "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\n\nt=0 0\nm=audio 1 RTP/AVP 0"
      "\n\n\n");
  ASSERT_TRUE(sdp.ok()) << sdp.status();
  ASSERT_EQ(sdp->media.size(), 1u);
  EXPECT_EQ(sdp->media[0].port, 1u);
}

TEST(SdpParseTest, ModelsSessionAndMediaFields) {
  absl::StatusOr<SessionDescription> sdp = Parse(kFull);
  ASSERT_TRUE(sdp.ok()) << sdp.status();
  EXPECT_EQ(sdp->origin.username, "jdoe");
  EXPECT_EQ(sdp->origin.session_id, "2890844526");
  EXPECT_EQ(sdp->origin.session_version, "2890842807");
  EXPECT_EQ(sdp->origin.address, "10.47.16.5");
  EXPECT_EQ(sdp->session_name, "SDP Seminar");
  ASSERT_TRUE(sdp->connection.has_value());
  EXPECT_EQ(sdp->connection->address_type, "IP4");
  EXPECT_EQ(sdp->connection->address, "224.2.17.12/127");
  EXPECT_EQ(sdp->attributes.direction(), Direction::kRecvOnly);

  ASSERT_EQ(sdp->media.size(), 2u);
  const MediaDescription& audio = sdp->media[0];
  EXPECT_EQ(audio.media, "audio");
  EXPECT_EQ(audio.port, 49170u);
  EXPECT_EQ(audio.port_count, 2u);
  EXPECT_EQ(audio.proto, "RTP/AVP");
  EXPECT_THAT(audio.formats, ElementsAre("0", "101"));
  ASSERT_TRUE(audio.connection.has_value());
  EXPECT_EQ(audio.connection->address_type, "IP6");
  EXPECT_EQ(audio.connection->address, "2001:db8::1");
  EXPECT_THAT(audio.other_lines,
              ElementsAre(Line{'i', "voice"}, Line{'b', "TIAS:64000"}));
  ASSERT_EQ(audio.attributes.items().size(), 5u);
  EXPECT_EQ(audio.attributes.items()[2],
            (Attribute{"fmtp", std::string("101 0-15")}));
  EXPECT_EQ(audio.attributes.items()[3],
            (Attribute{"x-unknown", std::nullopt}));
  EXPECT_EQ(audio.attributes.FindAll("rtpmap").size(), 2u);

  const MediaDescription& video = sdp->media[1];
  EXPECT_FALSE(video.port_count.has_value());
  EXPECT_EQ(video.proto, "RTP/AVPF");
  EXPECT_EQ(video.attributes.direction(), Direction::kSendOnly);
}

TEST(SdpParseTest, EffectiveConnectionAndDirectionFallBackToSession) {
  absl::StatusOr<SessionDescription> sdp = Parse(kFull);
  ASSERT_TRUE(sdp.ok()) << sdp.status();
  EXPECT_EQ(EffectiveConnection(*sdp, sdp->media[0])->address, "2001:db8::1");
  EXPECT_EQ(EffectiveConnection(*sdp, sdp->media[1])->address,
            "224.2.17.12/127");
  // Audio has no direction of its own: the session's recvonly applies.
  EXPECT_EQ(EffectiveDirection(*sdp, sdp->media[0]), Direction::kRecvOnly);
  EXPECT_EQ(EffectiveDirection(*sdp, sdp->media[1]), Direction::kSendOnly);

  SessionDescription bare;
  bare.media.emplace_back();
  EXPECT_EQ(EffectiveConnection(bare, bare.media[0]), nullptr);
  EXPECT_EQ(EffectiveDirection(bare, bare.media[0]), Direction::kSendRecv);
}

TEST(SdpParseTest, NullAddressesMeanHold) {
  EXPECT_TRUE(Connection::ForAddress("0.0.0.0").IsNullAddress());
  EXPECT_TRUE(Connection::ForAddress("::").IsNullAddress());
  EXPECT_FALSE(Connection::ForAddress("192.0.2.1").IsNullAddress());
  EXPECT_EQ(Connection::ForAddress("::").address_type, "IP6");
  EXPECT_EQ(Connection::ForAddress("192.0.2.1").address_type, "IP4");
}

TEST(SdpAttributeListTest, SetDirectionReplacesInPlaceAndDropsDuplicates) {
  AttributeList list;
  list.Add("rtpmap", "0 PCMU/8000");
  list.Add("sendrecv");
  list.Add("ptime", "20");
  list.Add("inactive");  // a second direction: invalid, and dropped
  list.SetDirection(Direction::kSendOnly);
  EXPECT_THAT(list.items(),
              ElementsAre(Attribute{"rtpmap", std::string("0 PCMU/8000")},
                          Attribute{"sendonly", std::nullopt},
                          Attribute{"ptime", std::string("20")}));

  AttributeList empty;
  empty.SetDirection(Direction::kInactive);
  EXPECT_THAT(empty.items(), ElementsAre(Attribute{"inactive", std::nullopt}));
}

TEST(SdpAttributeListTest, RemoveAllAndRemoveIfCount) {
  AttributeList list;
  list.Add("crypto", "1 X inline:a");
  list.Add("rtpmap", "0 PCMU/8000");
  list.Add("crypto", "2 Y inline:b");
  EXPECT_EQ(list.RemoveAll("crypto"), 2);
  EXPECT_EQ(list.RemoveAll("crypto"), 0);
  EXPECT_EQ(list.items().size(), 1u);
  EXPECT_EQ(
      list.RemoveIf([](const Attribute& a) { return a.name == "rtpmap"; }), 1);
  EXPECT_TRUE(list.empty());
}

TEST(SdpParseTest, ErrorsNameTheLineAndTheReason) {
  struct {
    std::string sdp;
    std::string error;
  } cases[] = {
      {"", "SDP is empty"},
      {"\n\n", "SDP is empty"},
      {"v=0\n", "SDP has no o= line"},
      {"v=0\no=- 1 1 IN IP4 h\n", "SDP has no s= line"},
      {"v=1\n", "SDP line 1: unsupported SDP version '1'"},
      {"v=0\ns=-\n", "SDP line 2: expected o= after v="},
      {"v=0\no=- 1 1 IN IP4 h\nt=0 0\n", "SDP line 3: expected s= after o="},
      {"v=0\no=- x 1 IN IP4 h\n", "o= session id and version must be numbers"},
      {"v=0\no=- 1 1 IN IP4 h\ns=-\nv=0\n", "SDP line 4: duplicate v= line"},
      {"v=0\no=- 1 1 IN IP4 h\ns=-\nA=x\n", "SDP line 4: expected '<letter>"},
      {"v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 h\nc=IN IP4 h\n",
       "SDP line 5: second c= line at session level"},
      {"v=0\no=- 1 1 IN IP4 h\ns=-\nc=ATM NSAP x\n",
       "c= network type 'ATM' is not IN"},
      {"v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4\n", "c= needs '<nettype>"},
      {"v=0\no=- 1 1 IN IP4 h\ns=-\nm=audio -1 RTP/AVP 0\n",
       "m= port '-1' is not in 0..65535"},
      {"v=0\no=- 1 1 IN IP4 h\ns=-\nm=audio 99999999999999999999 RTP/AVP 0\n",
       "m= port '99999999999999999999'"},
      {"v=0\no=- 1 1 IN IP4 h\ns=-\nm=audio 5/0 RTP/AVP 0\n",
       "m= port count '0' is not a number >= 1"},
      {"v=0\no=- 1 1 IN IP4 h\ns=-\na=\n", "SDP line 4: a= has no name"},
      {"v=0\no=- 1 1 IN IP4 h\ns=-\na=rtcp-mux:1\n",
       "a=rtcp-mux is a flag and takes no value"},
      {"v=0\no=- 1 1 IN IP4 h\ns=-\na=rtpmap\n",
       "a=rtpmap needs a value (a=rtpmap:...)"},
      {"v=0\no=- 1 1 IN IP4 h\ns=-\na=ptime:0\n", "a=ptime '0'"},
      {"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\rt=0 0\r\n",
       "SDP line 3: control character 0x0d"},
  };
  for (const auto& c : cases) {
    absl::StatusOr<SessionDescription> sdp = Parse(c.sdp);
    ASSERT_FALSE(sdp.ok()) << c.sdp;
    EXPECT_EQ(sdp.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(sdp.status().message()), HasSubstr(c.error))
        << c.sdp;
  }
}

TEST(SdpParseTest, ArbitraryBytesNeverCrash) {
  // A cheap, deterministic cousin of the fuzz target: every truncation and a
  // byte flip at every offset must return, ok or not.
  const std::string base = kFull;
  for (size_t cut = 0; cut <= base.size(); ++cut) {
    (void)Parse(base.substr(0, cut));
  }
  for (size_t i = 0; i < base.size(); ++i) {
    std::string flipped = base;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x5a);
    absl::StatusOr<SessionDescription> sdp = Parse(flipped);
    if (sdp.ok()) {
      // Whatever parses serializes to something that parses back the same.
      std::string out = Serialize(*sdp);
      absl::StatusOr<SessionDescription> again = Parse(out);
      ASSERT_TRUE(again.ok()) << again.status() << "\n" << out;
      EXPECT_EQ(Serialize(*again), out);
    }
  }
}

}  // namespace
}  // namespace trunkline::media::sdp
