#include "services/routing/trunk_order.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace trunkline::routing {
namespace {

TEST(TrunkOrderTest, PriorityFirstThenDeterministicWeight) {
  std::vector<WeightedItem> items = {
      {1, 1, StableHash("backup"), 0},
      {0, 1, StableHash("a"), 1},
      {0, 1, StableHash("b"), 2},
  };
  for (int call = 0; call < 50; ++call) {
    const uint64_t hash = StableHash(absl::StrCat("call-", call));
    std::vector<int> order = OrderByPriorityAndWeight(items, hash);
    ASSERT_EQ(order.size(), 3u);
    EXPECT_EQ(order[2], 0) << "the priority-1 trunk is always last";
    // The same Call-ID always gives the same order.
    EXPECT_EQ(order, OrderByPriorityAndWeight(items, hash));
  }
}

TEST(TrunkOrderTest, WeightsShareCallsProportionally) {
  std::vector<WeightedItem> items = {
      {0, 2, StableHash("itsp"), 0},
      {0, 1, StableHash("pstn"), 1},
  };
  int first_itsp = 0;
  constexpr int kCalls = 30000;
  for (int call = 0; call < kCalls; ++call) {
    if (OrderByPriorityAndWeight(
            items, StableHash(absl::StrCat("id", call)))[0] == 0) {
      ++first_itsp;
    }
  }
  // Weight 2 of 3: two calls in three go to the ITSP first.
  EXPECT_NEAR(first_itsp / double(kCalls), 2.0 / 3.0, 0.02);
}

TEST(TrunkOrderTest, ZeroWeightCountsAsOne) {
  std::vector<WeightedItem> items = {{0, 0, StableHash("a"), 0},
                                     {0, 1, StableHash("b"), 1}};
  int a_first = 0;
  for (int call = 0; call < 10000; ++call) {
    a_first +=
        OrderByPriorityAndWeight(items, StableHash(absl::StrCat(call)))[0] == 0;
  }
  EXPECT_NEAR(a_first / 10000.0, 0.5, 0.03);
}

TEST(TrunkOrderTest, StableHashIsFnv1a) {
  // Known FNV-1a 64 values: replicas must agree across builds.
  EXPECT_EQ(StableHash(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(StableHash("a"), 0xaf63dc4c8601ec8cull);
}

}  // namespace
}  // namespace trunkline::routing
