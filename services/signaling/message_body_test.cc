#include "services/signaling/message_body.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace trunkline::signaling {
namespace {

using ::testing::HasSubstr;
using std::string_literals::operator""s;
using ::testing::SizeIs;

constexpr char kSdp[] =
    "v=0\r\no=uc 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\n"
    "t=0 0\r\nm=audio 40000 RTP/AVP 0\r\n";
constexpr char kPidf[] =
    "<?xml version=\"1.0\"?>\r\n<presence xmlns=\"urn:ietf:params:xml:ns:"
    "pidf\" entity=\"pres:alice@example.com\"/>\r\n";

// An INVITE body as a Lync/Teams-style front end sends it for an
// emergency call (RFC 6442 section 3's shape).
std::string SdpAndPidf(const std::string& boundary) {
  return "--" + boundary + "\r\nContent-Type: application/sdp\r\n\r\n" + kSdp +
         "\r\n--" + boundary +
         "\r\nContent-Type: application/pidf+xml\r\n"
         "Content-ID: <target123@example.com>\r\n"
         "Content-Disposition: render;handling=optional\r\n\r\n" +
         kPidf + "\r\n--" + boundary + "--\r\n";
}

TEST(SplitTest, PlainSdpIsTheSdp) {
  absl::StatusOr<SplitBody> s = Split("application/sdp", kSdp);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->sdp, kSdp);
  EXPECT_THAT(s->others, SizeIs(0));
}

TEST(SplitTest, NoContentTypeIsReadAsSdp) {
  absl::StatusOr<SplitBody> s = Split("", kSdp);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->sdp, kSdp);
}

TEST(SplitTest, EmptyBodyHasNothing) {
  absl::StatusOr<SplitBody> s = Split("multipart/mixed", "");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->sdp.empty());
  EXPECT_THAT(s->others, SizeIs(0));
}

TEST(SplitTest, SdpAndLocationObject) {
  absl::StatusOr<SplitBody> s =
      Split("multipart/mixed; boundary=\"boundary1\"", SdpAndPidf("boundary1"));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->sdp, kSdp);  // the CRLF before the delimiter is the delimiter's
  ASSERT_THAT(s->others, SizeIs(1));
  const BodyPart& pidf = s->others[0];
  EXPECT_EQ(pidf.media_type, "application/pidf+xml");
  EXPECT_EQ(pidf.content_id, "<target123@example.com>");
  EXPECT_EQ(pidf.disposition, "render;handling=optional");
  EXPECT_FALSE(pidf.required);
  EXPECT_EQ(pidf.body, kPidf);
  EXPECT_TRUE(IsLocationPart(pidf));
}

TEST(SplitTest, IsupPartOfASipICarrierWithBareLineFeeds) {
  const std::string body =
      "preamble to ignore\n--XyZ\nContent-Type: application/sdp\n\n"
      "v=0\nm=audio 1 RTP/AVP 8\n--XyZ  \nContent-Type: application/ISUP;"
      "version=itu-t92+\nContent-Disposition: signal; handling=optional\n\n"
      "\x01\x02\x00\x03\n--XyZ--\nepilogue"s;
  absl::StatusOr<SplitBody> s =
      Split("Multipart/Mixed;boundary=XyZ", std::string(body));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->sdp, "v=0\nm=audio 1 RTP/AVP 8");
  ASSERT_THAT(s->others, SizeIs(1));
  EXPECT_EQ(s->others[0].media_type, "application/isup");
  EXPECT_EQ(s->others[0].content_type, "application/ISUP;version=itu-t92+");
  EXPECT_EQ(s->others[0].body, std::string("\x01\x02\x00\x03", 4));
  EXPECT_FALSE(s->others[0].required);
  EXPECT_TRUE(IsKnownPart(s->others[0].media_type));
}

TEST(SplitTest, HandlingIsRequiredWhenAbsent) {
  const std::string body =
      "--b\r\nContent-Type: application/x-vendor\r\n\r\nstuff\r\n--b--\r\n";
  absl::StatusOr<SplitBody> s = Split("multipart/mixed;boundary=b", body);
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_THAT(s->others, SizeIs(1));
  EXPECT_TRUE(s->others[0].required);
  EXPECT_FALSE(IsKnownPart(s->others[0].media_type));
}

TEST(SplitTest, PartWithoutHeadersIsTextPlain) {
  absl::StatusOr<SplitBody> s =
      Split("multipart/mixed;boundary=b", "--b\r\n\r\nhello\r\n--b--");
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_THAT(s->others, SizeIs(1));
  EXPECT_EQ(s->others[0].media_type, "text/plain");
  EXPECT_EQ(s->others[0].body, "hello");
}

TEST(SplitTest, FoldedPartHeader) {
  const std::string body =
      "--b\r\nContent-Type:\r\n application/pidf+xml\r\n\r\n<x/>\r\n--b--";
  absl::StatusOr<SplitBody> s = Split("multipart/mixed;boundary=b", body);
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_THAT(s->others, SizeIs(1));
  EXPECT_EQ(s->others[0].media_type, "application/pidf+xml");
}

TEST(SplitTest, NestedMultipartIsFlattened) {
  const std::string inner = SdpAndPidf("inner");
  const std::string body =
      "--outer\r\nContent-Type: multipart/mixed;boundary=inner\r\n\r\n" +
      inner +
      "\r\n--outer\r\nContent-Type: application/isup\r\n"
      "Content-Disposition: signal;handling=optional\r\n\r\nI\r\n--outer--";
  absl::StatusOr<SplitBody> s = Split("multipart/mixed;boundary=outer", body);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->sdp, kSdp);
  ASSERT_THAT(s->others, SizeIs(2));
  EXPECT_EQ(s->others[0].content_id, "<target123@example.com>");
  EXPECT_EQ(s->others[1].media_type, "application/isup");
}

TEST(SplitTest, AlternativeKeepsTheSdp) {
  const std::string body =
      "--a\r\nContent-Type: text/plain\r\n\r\nno SDP here\r\n--a\r\n"
      "Content-Type: application/sdp\r\n\r\nv=0\r\n\r\n--a--";
  absl::StatusOr<SplitBody> s = Split("multipart/alternative;boundary=a", body);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->sdp, "v=0\r\n");
  EXPECT_THAT(s->others, SizeIs(0));
}

TEST(SplitTest, NonSdpBodyAloneIsOnePart) {
  absl::StatusOr<SplitBody> s =
      Split("application/pidf+xml", kPidf, "render;handling=optional");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->sdp.empty());
  ASSERT_THAT(s->others, SizeIs(1));
  EXPECT_FALSE(s->others[0].required);
}

TEST(SplitTest, MalformedBodiesAreRefusedWithTheReason) {
  struct Case {
    std::string content_type, body, reason;
  };
  const Case cases[] = {
      {"multipart/mixed", SdpAndPidf("b"), "no boundary parameter"},
      {"multipart/mixed;boundary=zz", SdpAndPidf("b"), "does not occur"},
      {"multipart/mixed;boundary=b",
       "--b\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n",
       "no closing delimiter"},
      {"multipart/mixed;boundary=b",
       "--b\r\nContent-Type: application/sdp\r\n--b--", "no blank line"},
      {"multipart/mixed;boundary=b", "--b\r\nnot a header\r\n\r\nx\r\n--b--",
       "without a name and colon"},
      {"multipart/mixed;boundary=b",
       "--b\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n--b\r\n"
       "Content-Type: application/sdp\r\n\r\nv=0\r\n--b--",
       "more than one application/sdp"},
      {"multipart/mixed;boundary=b", "--bX\r\n\r\nx\r\n--b--",
       "is not a delimiter"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<SplitBody> s = Split(c.content_type, c.body);
    ASSERT_FALSE(s.ok()) << c.body;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(s.status().message()), HasSubstr(c.reason))
        << c.body;
  }
}

TEST(SplitTest, DeepNestingIsRefused) {
  std::string body = "v=0\r\n";
  std::string type = "application/sdp";
  for (int level = 0; level < 6; ++level) {
    const std::string b = "n" + std::to_string(level);
    body = "--" + b + "\r\nContent-Type: " + type + "\r\n\r\n" + body +
           "\r\n--" + b + "--";
    type = "multipart/mixed;boundary=" + b;
  }
  absl::StatusOr<SplitBody> s = Split(type, body);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("nested"));
}

TEST(JoinMultipartTest, RoundTripsThroughSplit) {
  BodyPart pidf;
  pidf.content_type = "application/pidf+xml";
  pidf.media_type = "application/pidf+xml";
  pidf.content_id = "<target123@example.com>";
  pidf.disposition = "render;handling=optional";
  pidf.required = false;
  pidf.body = kPidf;
  std::string type;
  const std::string body = JoinMultipart(kSdp, {pidf}, &type);
  EXPECT_EQ(type, "multipart/mixed;boundary=trunkline-part");
  absl::StatusOr<SplitBody> s = Split(type, body);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->sdp, kSdp);
  ASSERT_THAT(s->others, SizeIs(1));
  EXPECT_EQ(s->others[0].body, kPidf);
  EXPECT_EQ(s->others[0].content_id, pidf.content_id);
  EXPECT_EQ(s->others[0].disposition, pidf.disposition);
}

TEST(JoinMultipartTest, BoundaryAvoidsTheParts) {
  BodyPart part;
  part.content_type = "text/plain";
  part.media_type = "text/plain";
  part.body = "--trunkline-part and --trunkline-part-1 inside";
  std::string type;
  const std::string body = JoinMultipart("", {part}, &type);
  EXPECT_EQ(type, "multipart/mixed;boundary=trunkline-part-2");
  absl::StatusOr<SplitBody> s = Split(type, body);
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_THAT(s->others, SizeIs(1));
  EXPECT_EQ(s->others[0].body, part.body);
}

TEST(MediaTypeOfTest, LowercaseWithoutParameters) {
  EXPECT_EQ(MediaTypeOf(" Application/SDP ; charset=x"), "application/sdp");
  EXPECT_EQ(MediaTypeOf(""), "");
}

}  // namespace
}  // namespace trunkline::signaling
