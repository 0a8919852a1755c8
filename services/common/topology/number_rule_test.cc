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

}  // namespace
}  // namespace trunkline
