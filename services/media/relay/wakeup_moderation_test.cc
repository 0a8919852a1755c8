#include "services/media/relay/wakeup_moderation.h"

#include "gtest/gtest.h"

namespace trunkline::media {
namespace {

constexpr int64_t kTick = 250'000'000;  // ns

// Feeds samples of `busy` (0-1) over one tick each; returns the last state.
bool Feed(WakeupModeration& m, int64_t& wall, int64_t& cpu, double busy,
          int ticks = 1) {
  bool active = m.active();
  for (int i = 0; i < ticks; ++i) {
    wall += kTick;
    cpu += int64_t(busy * kTick);
    active = m.Sample(wall, cpu);
  }
  return active;
}

TEST(WakeupModerationTest, StartsAtTheThresholdAndStopsBelowHalfOfIt) {
  WakeupModeration m(60);
  int64_t wall = 1, cpu = 0;
  EXPECT_FALSE(m.Sample(wall, cpu)) << "no interval yet";
  EXPECT_FALSE(Feed(m, wall, cpu, 0.45, 4))
      << "a worker 45% busy wakes per packet";
  EXPECT_NEAR(m.busy(), 0.45, 1e-6);
  EXPECT_FALSE(Feed(m, wall, cpu, 0.95, WakeupModeration::kSustained - 1))
      << "a burst shorter than a second is not load";
  EXPECT_FALSE(Feed(m, wall, cpu, 0.10));
  EXPECT_FALSE(Feed(m, wall, cpu, 0.80, WakeupModeration::kSustained - 1));
  EXPECT_TRUE(Feed(m, wall, cpu, 0.80)) << "80% busy for a second: moderate";
  // Moderation lowers the CPU it needs: that alone must not switch it off.
  EXPECT_TRUE(Feed(m, wall, cpu, 0.40, 4));
  EXPECT_TRUE(Feed(m, wall, cpu, 0.31));
  EXPECT_FALSE(Feed(m, wall, cpu, 0.29)) << "below half the threshold: stop";
  EXPECT_FALSE(Feed(m, wall, cpu, 0.59, 8));
  EXPECT_TRUE(Feed(m, wall, cpu, 0.60, WakeupModeration::kSustained));
}

TEST(WakeupModerationTest, ZeroModeratesAlways) {
  WakeupModeration m(0);
  int64_t wall = 1, cpu = 0;
  EXPECT_TRUE(m.active());
  EXPECT_TRUE(Feed(m, wall, cpu, 0.0, 3));
}

TEST(WakeupModerationTest, ClockThatDoesNotMoveChangesNothing) {
  WakeupModeration m(50);
  int64_t wall = 1, cpu = 0;
  m.Sample(wall, cpu);
  EXPECT_TRUE(Feed(m, wall, cpu, 0.9, WakeupModeration::kSustained));
  EXPECT_TRUE(m.Sample(wall, cpu + 5)) << "same wall time: no new figure";
  EXPECT_NEAR(m.busy(), 0.9, 1e-6);
}

}  // namespace
}  // namespace trunkline::media
