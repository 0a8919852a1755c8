#include "services/media/relay/port_allocator.h"

#include <set>

#include "gtest/gtest.h"

namespace trunkline::media::relay {
namespace {

TEST(PortAllocatorTest, HandsOutEvenPortsOfTheRange) {
  auto ports = PortAllocator::Create(30001, 30010, absl::Seconds(30));
  ASSERT_TRUE(ports.ok());
  EXPECT_EQ((*ports)->total_pairs(), 4u);  // 30002, 30004, 30006, 30008
  std::set<uint16_t> seen;
  const absl::Time now = absl::Now();
  for (int i = 0; i < 4; ++i) {
    auto port = (*ports)->Allocate(now);
    ASSERT_TRUE(port.ok());
    EXPECT_EQ(*port % 2, 0);
    EXPECT_GE(*port, 30002);
    EXPECT_LE(*port + 1, 30010);
    seen.insert(*port);
  }
  EXPECT_EQ(seen.size(), 4u);
  auto full = (*ports)->Allocate(now);
  EXPECT_EQ(full.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(full.status().message().find("widen the port range"),
            std::string::npos);
}

TEST(PortAllocatorTest, QuarantinesReleasedPorts) {
  auto ports = *PortAllocator::Create(30000, 30001, absl::Seconds(30));
  const absl::Time start = absl::Now();
  const uint16_t port = *ports->Allocate(start);
  ports->Release(port, start);
  EXPECT_FALSE(ports->Allocate(start + absl::Seconds(29)).ok());
  auto again = ports->Allocate(start + absl::Seconds(30));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, port);
}

TEST(PortAllocatorTest, RefusesEmptyRanges) {
  EXPECT_FALSE(PortAllocator::Create(30001, 30001, absl::Seconds(1)).ok());
  EXPECT_FALSE(PortAllocator::Create(0, 10, absl::Seconds(1)).ok());
  EXPECT_FALSE(PortAllocator::Create(40000, 30000, absl::Seconds(1)).ok());
  EXPECT_FALSE(PortAllocator::Create(30000, 70000, absl::Seconds(1)).ok());
}

}  // namespace
}  // namespace trunkline::media::relay
