#include "services/media/relay/udp_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gtest/gtest.h"

namespace trunkline::media::relay {
namespace {

int Option(int fd, int level, int name) {
  int value = -1;
  socklen_t length = sizeof(value);
  EXPECT_EQ(getsockopt(fd, level, name, &value, &length), 0);
  return value;
}

uint16_t PortOf(int fd) {
  sockaddr_storage local{};
  socklen_t length = sizeof(local);
  getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length);
  return ntohs(reinterpret_cast<sockaddr_in&>(local).sin_port);
}

TEST(BindUdpTest, BindsTheAddressAndPortAsked) {
  absl::StatusOr<int> any = BindUdp(AF_INET, "127.0.0.1", 0);
  ASSERT_TRUE(any.ok()) << any.status();
  const uint16_t port = PortOf(*any);
  close(*any);
  absl::StatusOr<int> fd = BindUdp(AF_INET, "127.0.0.1", port);
  ASSERT_TRUE(fd.ok()) << fd.status();
  EXPECT_EQ(PortOf(*fd), port);
  EXPECT_NE(Option(*fd, SOL_SOCKET, SO_TYPE), -1);
  // Taken: the error names what could not be bound.
  absl::StatusOr<int> again = BindUdp(AF_INET, "127.0.0.1", port);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(again.status().message().find("127.0.0.1"), std::string::npos);
  close(*fd);
}

TEST(BindUdpTest, DatagramsLeaveWithDontFragmentAndNoPathMtuDiscovery) {
  absl::StatusOr<int> fd = BindUdp(AF_INET, "127.0.0.1", 0);
  ASSERT_TRUE(fd.ok()) << fd.status();
  EXPECT_EQ(Option(*fd, IPPROTO_IP, IP_MTU_DISCOVER), IP_PMTUDISC_PROBE);
  close(*fd);
}

TEST(BindUdpTest, ADualStackSocketSetsItForBothFamilies) {
  absl::StatusOr<int> fd = BindUdp(AF_INET6, "::", 0);
  if (!fd.ok()) GTEST_SKIP() << "no IPv6 here: " << fd.status();
  EXPECT_EQ(Option(*fd, IPPROTO_IPV6, IPV6_V6ONLY), 0);
  EXPECT_EQ(Option(*fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER), IPV6_PMTUDISC_PROBE);
  EXPECT_EQ(Option(*fd, IPPROTO_IP, IP_MTU_DISCOVER), IP_PMTUDISC_PROBE);
  close(*fd);
}

}  // namespace
}  // namespace trunkline::media::relay
