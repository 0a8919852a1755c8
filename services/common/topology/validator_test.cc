#include "services/common/topology/validator.h"

#include "gtest/gtest.h"

namespace trunkline {
namespace {

TEST(ValidatorTest, Addresses) {
  EXPECT_TRUE(IsIpAddress("127.0.0.1"));
  EXPECT_TRUE(IsIpAddress("2001:db8::1"));
  EXPECT_FALSE(IsIpAddress("127.0.0.300"));
  EXPECT_FALSE(IsIpAddress("gw.example"));
  for (const char* ip :
       {"10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "127.0.0.1",
        "169.254.1.1", "100.64.0.1", "fd00::1", "fe80::1", "::1"}) {
    EXPECT_TRUE(IsPrivateAddress(ip)) << ip;
  }
  for (const char* ip : {"203.0.113.10", "172.32.0.1", "8.8.8.8", "2001:db8::1",
                         "100.128.0.1"}) {
    EXPECT_FALSE(IsPrivateAddress(ip)) << ip;
  }
}

TEST(ValidatorTest, HostNames) {
  EXPECT_TRUE(IsHostName("sip.itsp.example"));
  EXPECT_TRUE(IsHostName("gw-1"));
  EXPECT_FALSE(IsHostName("-gw"));
  EXPECT_FALSE(IsHostName("gw-.example"));
  EXPECT_FALSE(IsHostName("a..b"));
  EXPECT_FALSE(IsHostName("under_score.example"));
  EXPECT_FALSE(IsHostName(std::string(64, 'a') + ".example"));
}

}  // namespace
}  // namespace trunkline
