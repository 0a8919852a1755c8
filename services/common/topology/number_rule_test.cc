#include "services/common/topology/number_rule.h"

#include "gtest/gtest.h"

namespace trunkline {
namespace {

TEST(NumberRuleTest, TranslatesWholeMatchesOnly) {
  RE2 re("^0(\\d{9})$", TopologyRe2Options());
  std::string out;
  ASSERT_TRUE(ApplyTranslation(re, "+353$1", "012345678", &out) ||
              ApplyTranslation(re, "+353$1", "0123456789", &out));
  EXPECT_EQ(out, "+353123456789");
  EXPECT_FALSE(ApplyTranslation(re, "+353$1", "00123456789", &out));
  RE2 unanchored("1(\\d)", TopologyRe2Options());
  EXPECT_FALSE(ApplyTranslation(unanchored, "$1", "123", &out))
      << "patterns match the whole number";
  EXPECT_TRUE(ApplyTranslation(unanchored, "x$1$$", "12", &out));
  EXPECT_EQ(out, "x2$");
}

TEST(NumberRuleTest, BracedGroupsAndErrors) {
  RE2 re("(1)(2)(3)(4)(5)(6)(7)(8)(9)(0)", TopologyRe2Options());
  std::string out;
  ASSERT_TRUE(ApplyTranslation(re, "${10}$1", "1234567890", &out));
  EXPECT_EQ(out, "01");
  EXPECT_TRUE(CheckTranslation(re, "${10}").ok());
  EXPECT_FALSE(CheckTranslation(re, "${11}").ok());
  RE2 one("(\\d+)", TopologyRe2Options());
  EXPECT_EQ(CheckTranslation(one, "+$2").message(),
            "translation uses $2 but the pattern has only 1 capture group");
  EXPECT_FALSE(CheckTranslation(one, "$").ok());
  EXPECT_FALSE(CheckTranslation(one, "$x").ok());
  EXPECT_FALSE(CheckTranslation(one, "${1").ok());
}

TEST(NumberRuleTest, HostilePatternsStayLinear) {
  // Catastrophic for a backtracking engine; RE2 answers at once.
  RE2 re("(a+)+$", TopologyRe2Options());
  ASSERT_TRUE(re.ok());
  std::string input(5000, 'a');
  input += '!';
  std::string out;
  EXPECT_FALSE(ApplyTranslation(re, "$1", input, &out));
}

// The prepared expansion must give exactly what the capturing regex gives,
// for the shapes it computes directly and for those it hands to RE2.
TEST(PreparedTranslationTest, AgreesWithTheCapturingRegex) {
  struct Case {
    const char* pattern;
    const char* translation;
    bool direct;
  };
  const Case cases[] = {
      {"^\\+1(\\d{10})$", "1$1", true},
      {"^\\+1(\\d{10})$", "$1", true},
      {"^\\+?1?(\\d{10})$", "+1$1", true},
      {"^9(\\d+)$", "$1", true},
      {"^(\\d{4})$", "+35312345$1", true},
      {"^\\*55(\\d*)$", "$0#$1", true},
      {"^0?(?:1)?(\\d{9})$", "+353$1", false},  // two "(": not computed
      {"^\\+?1?([0-9]{10})$", "+1$1", true},
      {"^(\\d{3})(\\d{4})$", "$2$1", false},
      {"^0(\\d{2}|\\d{3})$", "$1", false},
      {"^[01]?(\\d{3})$", "$1", false},
      {"^\\+44(\\d+)5$", "$1", false},
      {"^\\*5\\d$", "+15550001234", true},
      {"^.(\\d{2})$", "$1", true},
      {"^x\\$(\\d+)$", "$1", true},
  };
  const char* inputs[] = {"+12025550123",  "12025550123", "2025550123",
                          "+442071234567", "1234",        "*55",
                          "*5512",         "*50",         "0123456789",
                          "01234",         "123",         "9123",
                          "x$12",          "+1",          "",
                          "+4412345",      "0123",        "5550123"};
  for (const Case& c : cases) {
    RE2 re(c.pattern, TopologyRe2Options());
    ASSERT_TRUE(re.ok()) << c.pattern;
    absl::StatusOr<PreparedTranslation> prepared =
        PreparedTranslation::Prepare(re, c.translation);
    ASSERT_TRUE(prepared.ok()) << c.pattern;
    EXPECT_EQ(prepared->direct(), c.direct) << c.pattern;
    int matched = 0;
    for (const char* input : inputs) {
      std::string expected, actual;
      if (!ApplyTranslation(re, c.translation, input, &expected)) continue;
      ++matched;
      prepared->ExpandMatched(re, input, &actual);
      EXPECT_EQ(actual, expected) << c.pattern << " on " << input;
    }
    EXPECT_GT(matched, 0) << c.pattern << " matched none of the inputs";
  }
}

TEST(PreparedTranslationTest, RefusesWhatCheckTranslationRefuses) {
  RE2 one("(\\d+)", TopologyRe2Options());
  EXPECT_FALSE(PreparedTranslation::Prepare(one, "+$2").ok());
  EXPECT_FALSE(PreparedTranslation::Prepare(one, "$x").ok());
}

}  // namespace
}  // namespace trunkline
