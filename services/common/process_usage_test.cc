#include "services/common/process_usage.h"

#include <chrono>
#include <cstring>
#include <memory>

#include "gtest/gtest.h"

namespace trunkline {
namespace {

// A real /proc/<pid>/stat line whose command name holds a space and both
// parentheses; utime 150, stime 50 ticks, 7 threads.
constexpr char kStat[] =
    "4242 (sip (loop) 1) S 1 4242 4242 0 -1 4194560 1000 0 0 0 150 50 0 0 "
    "20 0 7 0 123456 300000000 9000 18446744073709551615 1 1 0 0 0 0 0 0 0 "
    "0 0 0 17 1 0 0 0 0 0\n";

TEST(ProcessUsageTest, ParsesCpuMemoryAndThreadsAfterTheCommandName) {
  absl::StatusOr<ProcessUsage> usage =
      ParseProcessUsage(kStat, "73000 9000 800 5 0 60000 0\n", 100, 4096);
  ASSERT_TRUE(usage.ok()) << usage.status();
  EXPECT_DOUBLE_EQ(usage->cpu_seconds, 2.0);
  EXPECT_EQ(usage->resident_bytes, 9000u * 4096u);
  EXPECT_EQ(usage->threads, 7u);
}

TEST(ProcessUsageTest, RefusesTextThatIsNotProcFormat) {
  EXPECT_EQ(ParseProcessUsage("4242 sip S 1", "1 2", 100, 4096).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      ParseProcessUsage("4242 (sip) S 1 2 3", "1 2", 100, 4096).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseProcessUsage(kStat, "73000", 100, 4096).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseProcessUsage(kStat, "73000 x", 100, 4096).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ProcessUsageTest, ReadsThisProcessAsItWorksAndGrows) {
  absl::StatusOr<ProcessUsage> before = ReadProcessUsage();
  ASSERT_TRUE(before.ok()) << before.status();
  // Burn CPU for ~300 ms and touch 64 MiB.
  const auto end =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  volatile uint64_t sink = 0;
  while (std::chrono::steady_clock::now() < end) sink = sink + 1;
  constexpr size_t kBytes = 64 << 20;
  auto block = std::make_unique<char[]>(kBytes);
  std::memset(block.get(), 1, kBytes);
  absl::StatusOr<ProcessUsage> after = ReadProcessUsage();
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_GE(after->cpu_seconds - before->cpu_seconds, 0.2);
  EXPECT_GE(after->resident_bytes, before->resident_bytes + kBytes / 2);
  EXPECT_GE(after->threads, 1u);
  EXPECT_EQ(block[kBytes - 1], 1);
}

}  // namespace
}  // namespace trunkline
