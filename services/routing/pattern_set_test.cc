#include "services/routing/pattern_set.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "services/common/topology/number_rule.h"

namespace trunkline::routing {
namespace {

TEST(PatternSetTest, FirstMatchIsTheEarliestPattern) {
  PatternSet set;
  ASSERT_TRUE(set.Build({"^1\\d{3}$", "^\\d+$", "^\\+.*$"}, "test").ok());
  EXPECT_EQ(set.FirstMatch("1234"), 0);
  EXPECT_EQ(set.FirstMatch("2234"), 1);
  EXPECT_EQ(set.FirstMatch("+353"), 2);
  EXPECT_EQ(set.FirstMatch("abc"), -1);
  std::vector<int> all;
  set.MatchAll("1234", &all);
  EXPECT_EQ(all, (std::vector<int>{0, 1}));
  // Whole-number matching even without anchors in the pattern.
  PatternSet unanchored;
  ASSERT_TRUE(unanchored.Build({"12"}, "test").ok());
  EXPECT_EQ(unanchored.FirstMatch("123"), -1);
  EXPECT_EQ(unanchored.FirstMatch("12"), 0);
}

// Patterns of the literal-then-digits shape are matched without RE2; they
// must answer exactly as RE2 does, and other shapes must be left to RE2.
TEST(PatternSetTest, LiteralDigitsPatternsMatchAsRe2Does) {
  const struct {
    const char* pattern;
    bool simple;
  } cases[] = {
      {"^\\+1(\\d{10})$", true},
      {"^\\+1555\\d{6}$", true},
      {"^9\\d+$", true},
      {"^112$", true},
      {"112", true},
      {"^\\*55\\d*$", true},
      {"^0([0-9]{2,4})$", true},
      {"^0\\d{2,}$", true},
      {"^$", true},
      {"^x\\$\\d$", true},
      {"^\\+?1?(\\d{10})$", false},
      {"^1\\d{3}?$", false},
      {"^12+\\d$", false},
      {"^\\d{3}(\\d{4})$", false},
      {"^(?i)a\\d$", false},
      {"^1\\d{3}\\$", false},
      {"^(\\d{4}|\\d{6})$", false},
      {"^.\\d$", false},
      {"^1\\w{2}$", false},
      {"^0\\d{4,2}$", false},
  };
  const char* inputs[] = {
      "+12025550123",  "+1555001234", "9",     "91",     "9123", "112",
      "1123",          "*55",         "*551",  "*55a",   "0",    "01",
      "012",           "0123",        "01234", "012345", "",     "x$1",
      "x$12",          "12025550123", "1234",  "a1",     "1222", "+1202555012",
      "+120255501234", "0123456"};
  for (const auto& c : cases) {
    std::optional<LiteralDigitsPattern> simple =
        LiteralDigitsPattern::Parse(c.pattern);
    EXPECT_EQ(simple.has_value(), c.simple) << c.pattern;
    RE2 re(c.pattern, TopologyRe2Options());
    if (!re.ok()) continue;  // e.g. {4,2}: RE2 refuses it too
    PatternSet set;
    ASSERT_TRUE(set.Build({c.pattern}, "test").ok()) << c.pattern;
    for (const char* input : inputs) {
      const bool expected = RE2::FullMatch(input, re);
      EXPECT_EQ(set.FirstMatch(input) == 0, expected)
          << c.pattern << " on \"" << input << "\"";
      if (simple) {
        EXPECT_EQ(simple->Matches(input), expected)
            << c.pattern << " on \"" << input << "\"";
      }
    }
  }
}

TEST(PatternSetTest, RefusesBadPatternsAndHandlesEmptySets) {
  PatternSet set;
  absl::Status status = set.Build({"(("}, "voice route \"x\"");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("voice route \"x\""), std::string::npos);
  PatternSet empty;
  ASSERT_TRUE(empty.Build({}, "none").ok());
  EXPECT_EQ(empty.FirstMatch("1"), -1);
}

TEST(PatternSetTest, LongListsUseASetAndAgreeWithScanning) {
  std::vector<std::string> patterns;
  for (int i = 0; i < 12; ++i)
    patterns.push_back(absl::StrFormat("^\\+%d\\d*$", i));
  patterns.push_back("^\\+1.*$");
  PatternSet set;
  ASSERT_TRUE(set.Build(patterns, "test").ok());
  std::vector<int> all;
  set.MatchAll("+15", &all);
  EXPECT_EQ(all, (std::vector<int>{1, 12}));
  EXPECT_EQ(set.FirstMatch("+99"), 9);
}

TEST(PatternSetTest, FindsEveryMatchWhateverItsPrefix) {
  PatternSet index;
  ASSERT_TRUE(
      index
          .Build({"^\\+3531\\d{7}$", "^\\+353\\d{8,9}$", "^\\+[1-9]\\d{6,14}$",
                  "^(112|999)$", "12.*", "^\\+44\\d{10}$"},
                 "routes")
          .ok());
  auto match = [&](const std::string& number) {
    std::vector<int> m;
    index.MatchAll(number, &m);
    std::sort(m.begin(), m.end());
    return m;
  };
  EXPECT_EQ(match("+35312345678"), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(match("+442071234567"), (std::vector<int>{2, 5}));
  EXPECT_EQ(match("112"),
            (std::vector<int>{3}));  // "12.*" matches whole numbers only
  EXPECT_EQ(match("1299"), (std::vector<int>{4}));
  EXPECT_EQ(match("999"), (std::vector<int>{3}));
  EXPECT_EQ(match("12"), (std::vector<int>{4}));
  EXPECT_EQ(match("abc"), (std::vector<int>{}));
}

TEST(PatternSetTest, ManyRoutesStillExact) {
  std::vector<std::string> patterns;
  for (int r = 0; r < 2000; ++r) {
    patterns.push_back(absl::StrFormat("^\\+1%04d\\d{6}$", 2000 + r));
  }
  patterns.push_back("^\\+1\\d{10}$");  // a catch-all over all of them
  PatternSet index;
  ASSERT_TRUE(index.Build(patterns, "routes").ok());
  std::vector<int> m;
  index.MatchAll("+13999123456", &m);
  std::sort(m.begin(), m.end());
  EXPECT_EQ(m, (std::vector<int>{1999, 2000}));
  index.MatchAll("+11999123456", &m);
  EXPECT_EQ(m, (std::vector<int>{2000}));
}

}  // namespace
}  // namespace trunkline::routing
