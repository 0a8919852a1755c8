#include "services/signaling/transfer.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace trunkline::signaling {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<ReferTarget> Parse(const std::string& value) {
  return ParseReferTo({{"Refer-To", value}});
}

TEST(ParseReferToTest, TakesTheUriInsideAngleBrackets) {
  absl::StatusOr<ReferTarget> t =
      Parse("\"Reception\" <sip:+35318881234@contoso.example;user=phone>;x=1");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->uri, "sip:+35318881234@contoso.example;user=phone");
  EXPECT_EQ(t->user, "+35318881234");
  EXPECT_EQ(t->replaces, "");
}

TEST(ParseReferToTest, WithoutBracketsParametersBelongToTheHeader) {
  absl::StatusOr<ReferTarget> t = Parse("sip:2001@10.0.0.5;method=INVITE");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->uri, "sip:2001@10.0.0.5");
  EXPECT_EQ(t->user, "2001");
}

TEST(ParseReferToTest, TelUrisAndEscapedUsers) {
  absl::StatusOr<ReferTarget> tel = Parse("<tel:+35318881234;phone-context=x>");
  ASSERT_TRUE(tel.ok()) << tel.status();
  EXPECT_EQ(tel->user, "+35318881234");
  absl::StatusOr<ReferTarget> escaped = Parse("<sips:%2B3531888@example>");
  ASSERT_TRUE(escaped.ok()) << escaped.status();
  EXPECT_EQ(escaped->user, "+3531888");
}

TEST(ParseReferToTest, EmbeddedReplacesIsUnescaped) {
  // RFC 3891 7's example of an attended transfer.
  absl::StatusOr<ReferTarget> t = Parse(
      "<sip:bob@example.com?Replaces=12345%40192.168.118.3%3Bto-tag%3D12345%"
      "3Bfrom-tag%3D5FFE-3994&Require=replaces>");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->uri, "sip:bob@example.com");
  EXPECT_EQ(t->user, "bob");
  EXPECT_EQ(t->replaces, "12345@192.168.118.3;to-tag=12345;from-tag=5FFE-3994");
}

TEST(ParseReferToTest, RefusesWhatCannotBeRouted) {
  EXPECT_THAT(ParseReferTo({}).status().message(), HasSubstr("without"));
  EXPECT_THAT(
      ParseReferTo({{"Refer-To", "<sip:a@b>"}, {"Refer-To", "<sip:c@d>"}})
          .status()
          .message(),
      HasSubstr("more than one"));
  EXPECT_THAT(Parse("<http://example.com/x>").status().message(),
              HasSubstr("not a sip, sips or tel URI"));
  EXPECT_THAT(Parse("<sip:example.com>").status().message(),
              HasSubstr("no user part"));
  EXPECT_THAT(Parse("<sip:a@b").status().message(), HasSubstr("without '>'"));
  EXPECT_EQ(Parse("<tel:>").status().code(),
            absl::StatusCode::kInvalidArgument);
  // Routing takes only UTF-8, escaped or not.
  EXPECT_THAT(Parse("<sip:caf%E9@example>").status().message(),
              HasSubstr("not UTF-8"));
  EXPECT_THAT(Parse("<sip:caf\xE9@example>").status().message(),
              HasSubstr("not UTF-8"));
  EXPECT_TRUE(Parse("<sip:caf%C3%A9@example>").ok());
}

// An attended transfer's target is the peer's Contact, which may have no
// user part: with a Replaces, the B2BUA decides whether it can be reached.
TEST(ParseReferToTest, NoUserPartIsKeptWithReplaces) {
  absl::StatusOr<ReferTarget> t =
      Parse("<sip:192.0.2.1:5060?Replaces=x%40y%3Bto-tag%3D1%3Bfrom-tag%3D2>");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->user, "");
  EXPECT_EQ(t->replaces, "x@y;to-tag=1;from-tag=2");
}

TEST(ReplacesTest, ParsesMatchesAndTranslates) {
  std::optional<ReplacesValue> r =
      ParseReplaces("a@b ; from-tag=F ;to-tag=T;early-only");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->call_id, "a@b");
  EXPECT_EQ(r->to_tag, "T");
  EXPECT_EQ(r->from_tag, "F");
  EXPECT_TRUE(r->early_only);
  EXPECT_FALSE(ParseReplaces("a@b;to-tag=T").has_value()) << "no from-tag";
  EXPECT_FALSE(ParseReplaces(";to-tag=T;from-tag=F").has_value());
  // Its to-tag is the matching side's own tag (tags compare without case).
  EXPECT_TRUE(Names(*r, DialogId{"a@b", "t", "F"}));
  EXPECT_FALSE(Names(*r, DialogId{"a@b", "F", "T"}));
  EXPECT_FALSE(Names(*r, DialogId{"A@b", "T", "F"})) << "Call-ID is exact";
  // What the peer of our leg matches: its own tag is our remote one.
  EXPECT_EQ(ReplacesFor(DialogId{"c@d", "ours", "theirs"}, false),
            "c@d;to-tag=theirs;from-tag=ours");
  EXPECT_EQ(ReplacesFor(DialogId{"c@d", "ours", "theirs"}, true),
            "c@d;to-tag=theirs;from-tag=ours;early-only");
}

}  // namespace
}  // namespace trunkline::signaling
