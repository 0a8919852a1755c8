#include "services/media/relay/stream_stats.h"

#include "gtest/gtest.h"

namespace trunkline::media::relay {
namespace {

constexpr int64_t kMs = 1000000;

TEST(ReceiveStatsTest, SteadyStreamHasNoLossNoJitter) {
  ReceiveStats stats;
  for (int i = 0; i < 100; ++i) {
    stats.OnRtp(1, uint16_t(100 + i), uint32_t(160 * i), 172, i * 20 * kMs,
                8000);
  }
  EXPECT_EQ(stats.packets(), 100u);
  EXPECT_EQ(stats.bytes(), 17200u);
  EXPECT_EQ(stats.lost(), 0u);
  EXPECT_NEAR(stats.jitter_ms(), 0, 0.01);
  EXPECT_NEAR(stats.mos(), 4.4, 0.05);
}

TEST(ReceiveStatsTest, CountsLossAcrossSequenceWrap) {
  ReceiveStats stats;
  uint16_t seq = 65500;
  for (int i = 0; i < 100; ++i, ++seq) {
    if (i % 10 == 3) continue;  // 10 % loss
    stats.OnRtp(1, seq, uint32_t(160 * i), 172, i * 20 * kMs, 8000);
  }
  EXPECT_EQ(stats.lost(), 10u);
  EXPECT_LT(stats.mos(), 3.6);
}

TEST(ReceiveStatsTest, JitterFollowsRfc3550) {
  ReceiveStats stats;
  // Every other packet 10 ms late: |D| alternates 80 units (10 ms at 8 kHz).
  for (int i = 0; i < 400; ++i) {
    const int64_t late = (i % 2) ? 10 * kMs : 0;
    stats.OnRtp(1, uint16_t(i), uint32_t(160 * i), 172, i * 20 * kMs + late,
                8000);
  }
  EXPECT_NEAR(stats.jitter_ms(), 10.0, 0.5);
}

TEST(ReceiveStatsTest, NewSsrcRestartsTheSequence) {
  ReceiveStats stats;
  stats.OnRtp(1, 10, 0, 100, 0, 8000);
  stats.OnRtp(1, 12, 320, 100, 40 * kMs, 8000);  // one lost
  stats.OnRtp(2, 5000, 0, 100, 60 * kMs, 8000);
  stats.OnRtp(2, 5001, 160, 100, 80 * kMs, 8000);
  EXPECT_EQ(stats.lost(), 1u);
  EXPECT_EQ(stats.ssrc(), 2u);
}

TEST(EModelTest, MapsToKnownPoints) {
  EXPECT_NEAR(MosFromRFactor(93.2), 4.41, 0.01);
  EXPECT_NEAR(MosFromRFactor(50), 2.58, 0.01);
  EXPECT_EQ(MosFromRFactor(0), 1.0);
  EXPECT_GT(EstimateRFactor(20, 1, 0), EstimateRFactor(300, 1, 0));
  EXPECT_GT(EstimateRFactor(20, 1, 0), EstimateRFactor(20, 1, 0.05));
}

}  // namespace
}  // namespace trunkline::media::relay
