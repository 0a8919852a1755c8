#include "services/routing/pattern_set.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"

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
