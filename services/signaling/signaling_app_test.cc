#include "services/signaling/signaling_app.h"

#include "gtest/gtest.h"

namespace trunkline::signaling {
namespace {

TrunkInfo Trunk(const std::string& name, uint32_t limit) {
  TrunkInfo t;
  t.name = name;
  t.max_concurrent_calls = limit;
  return t;
}

TEST(SignalingAppTest, CallLimitIsTheSumOnlyWhenEveryTrunkHasOne) {
  SignalingApp::TrunkFigures limited =
      SignalingApp::FiguresOf({Trunk("pstn-dub", 30), Trunk("itsp", 10)});
  EXPECT_EQ(limited.trunks, 2u);
  EXPECT_EQ(limited.call_limit, 40);
  // One trunk without a limit: the node has none.
  SignalingApp::TrunkFigures open = SignalingApp::FiguresOf(
      {Trunk("pstn-dub", 30), Trunk("pbx", 0), Trunk("itsp", 10)});
  EXPECT_EQ(open.trunks, 3u);
  EXPECT_EQ(open.call_limit, -1);
  EXPECT_EQ(SignalingApp::FiguresOf({}).call_limit, -1);
}

}  // namespace
}  // namespace trunkline::signaling
