#include "services/signaling/sofia/sip_message.h"

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace trunkline::signaling {
namespace {

using ::testing::ElementsAre;

std::string Seed(const std::string& name) {
  const char* dir = std::getenv("TRUNKLINE_SOURCE_DIR");
  std::ifstream in(
      std::string(dir ? dir : ".") + "/tests/signaling/fuzz_seeds/" + name,
      std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(SipMessageTest, DescribesAnInviteAsTheB2buaSeesIt) {
  std::optional<IncomingRequest> r = ParseDatagram(Seed("invite_sdp.sip"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->method, "INVITE");
  EXPECT_EQ(r->request_uri, "sip:0871234567@127.0.0.1:5060");
  EXPECT_EQ(r->request_uri_user, "0871234567");
  EXPECT_EQ(r->from_user, "+35315551234");
  EXPECT_EQ(r->pai_user, "+35315551234");
  EXPECT_EQ(r->call_id, "seed-1@127.0.0.11");
  EXPECT_EQ(r->content_type, "application/sdp");
  EXPECT_THAT(r->body, ::testing::StartsWith("v=0\r\n"));
  ASSERT_EQ(r->call_history.size(), 1u);
  EXPECT_TRUE(r->has_accept);
  EXPECT_THAT(r->accept, ElementsAre("application/sdp"));
  EXPECT_TRUE(r->require.empty());
}

TEST(SipMessageTest, DialogRequestKeepsBodyAndOnlyEndToEndHeaders) {
  std::optional<DialogRequest> info =
      ParseDialogDatagram(Seed("info_in_dialog.sip"));
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->method, "INFO");
  EXPECT_EQ(info->content_type, "application/dtmf-relay");
  EXPECT_EQ(info->body, "Signal=5\r\nDuration=160\r\n");
  // Via, From, To, Call-ID, CSeq, P-Asserted-Identity stay on their leg.
  EXPECT_THAT(
      info->headers,
      ElementsAre(::testing::Pair("Info-Package", "dtmf"),
                  ::testing::Pair("Content-Disposition", "Info-Package")));

  std::optional<DialogRequest> refer =
      ParseDialogDatagram(Seed("refer_in_dialog.sip"));
  ASSERT_TRUE(refer.has_value());
  EXPECT_EQ(refer->method, "REFER");
  EXPECT_TRUE(refer->body.empty());
  EXPECT_THAT(
      refer->headers,
      ElementsAre(
          ::testing::Pair("Refer-To", "<sip:+35318889999@127.0.0.21>"),
          ::testing::Pair("Referred-By", "<sip:0871234567@127.0.0.21>")));
}

TEST(SipMessageTest, ReadsRequireAndCompactForms) {
  std::optional<IncomingRequest> r = ParseDatagram(Seed("invite_require.sip"));
  ASSERT_TRUE(r.has_value());
  EXPECT_THAT(r->require, ElementsAre("100rel", "timer"));
  // A body that is not SDP is a part of its own (the B2BUA answers 415).
  EXPECT_TRUE(r->content_type.empty());
  EXPECT_TRUE(r->body.empty());
  ASSERT_EQ(r->body_parts.size(), 1u);
  EXPECT_EQ(r->body_parts[0].media_type, "application/unknownformat");
  EXPECT_TRUE(r->body_parts[0].required);
  EXPECT_FALSE(r->has_accept);
  r = ParseDatagram(Seed("register.sip"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->method, "REGISTER");
  EXPECT_EQ(r->call_id, "seed-4@127.0.0.11");
}

// An emergency call from the UC side: SDP and the caller's location
// (PIDF-LO) in a multipart/mixed body, with RFC 6442's headers.
TEST(SipMessageTest, SplitsSdpFromALocationObject) {
  std::optional<IncomingRequest> r =
      ParseDatagram(Seed("invite_multipart_pidf.sip"));
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->body_error.empty()) << r->body_error;
  EXPECT_EQ(r->content_type, "application/sdp");
  EXPECT_TRUE(absl::StartsWith(r->body, "v=0\r\n")) << r->body;
  EXPECT_TRUE(absl::EndsWith(r->body, "a=rtpmap:0 PCMU/8000\r\n")) << r->body;
  ASSERT_EQ(r->body_parts.size(), 1u);
  EXPECT_EQ(r->body_parts[0].media_type, "application/pidf+xml");
  EXPECT_EQ(r->body_parts[0].content_id, "<alice-loc@contoso.example>");
  EXPECT_FALSE(r->body_parts[0].required);
  EXPECT_THAT(r->body_parts[0].body, ::testing::HasSubstr("<ca:country>IE"));
  EXPECT_THAT(r->geolocation,
              ElementsAre(::testing::Pair("Geolocation",
                                          "<cid:alice-loc@contoso.example>"),
                          ::testing::Pair("Geolocation-Routing", "yes")));
}

// A SIP-I carrier's INVITE: SDP and a binary ISUP IAM.
TEST(SipMessageTest, SplitsSdpFromAnIsupMessage) {
  std::optional<IncomingRequest> r =
      ParseDatagram(Seed("invite_sipi_isup.sip"));
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->body_error.empty()) << r->body_error;
  EXPECT_EQ(r->content_type, "application/sdp");
  EXPECT_TRUE(absl::StartsWith(r->body, "v=0\r\n"));
  ASSERT_EQ(r->body_parts.size(), 1u);
  EXPECT_EQ(r->body_parts[0].media_type, "application/isup");
  EXPECT_EQ(r->body_parts[0].body.size(), 17u);  // NUL octets included
  EXPECT_FALSE(r->body_parts[0].required);
}

// A multipart body that cannot be taken apart is reported, not guessed at;
// in a re-INVITE the SDP is taken out, in an INFO the body travels as it
// came, its boundary with it.
TEST(SipMessageTest, MultipartInDialogAndBroken) {
  std::string broken = Seed("invite_multipart_pidf.sip");
  const size_t close = broken.find("--loc-boundary--");
  ASSERT_NE(close, std::string::npos);
  broken.replace(close, 16, "--loc-boundarX--");
  std::optional<IncomingRequest> r = ParseDatagram(broken);
  ASSERT_TRUE(r.has_value());
  EXPECT_THAT(r->body_error, ::testing::HasSubstr("no closing delimiter"));

  std::optional<DialogRequest> d = ParseDialogDatagram(broken);
  ASSERT_TRUE(d.has_value());
  EXPECT_THAT(d->body_error, ::testing::HasSubstr("no closing delimiter"));
  EXPECT_TRUE(d->body.empty()) << "nothing of it to relay";

  std::string reinvite = Seed("invite_multipart_pidf.sip");
  d = ParseDialogDatagram(reinvite);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->content_type, "application/sdp");
  EXPECT_TRUE(absl::StartsWith(d->body, "v=0\r\n"));

  std::string info = reinvite;
  info.replace(0, 6, "INFO  ");
  const size_t cseq = info.find("CSeq: 1 INVITE");
  ASSERT_NE(cseq, std::string::npos);
  info.replace(cseq, 14, "CSeq: 1 INFO  ");
  d = ParseDialogDatagram(info);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->method, "INFO");
  EXPECT_THAT(d->content_type, ::testing::HasSubstr("boundary=loc-boundary"));
  EXPECT_TRUE(absl::StartsWith(d->body, "--loc-boundary"));
}

// A withheld number: anonymous From, the number in P-Asserted-Identity,
// Privacy values and Max-Forwards as the B2BUA needs them.
TEST(SipMessageTest, ReadsPrivacyAndMaxForwards) {
  std::optional<IncomingRequest> r = ParseDatagram(Seed("invite_private.sip"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->from_user, "anonymous");
  EXPECT_EQ(r->pai_user, "+35319876543");
  EXPECT_THAT(r->privacy, ElementsAre("id", "user"));
  EXPECT_EQ(r->max_forwards, 69);
  r = ParseDatagram(Seed("invite_sdp.sip"));
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->privacy.empty());
}

TEST(SipMessageTest, RefusesWhatNtaWouldNotHandOn) {
  EXPECT_FALSE(ParseDatagram(Seed("response.sip")).has_value());
  EXPECT_FALSE(ParseDatagram(Seed("garbage.bin")).has_value());
  EXPECT_FALSE(ParseDatagram("").has_value());
  EXPECT_FALSE(ParseDatagram("OPTIONS sip:a SIP/2.0\r\n\r\n").has_value());
}

}  // namespace
}  // namespace trunkline::signaling
