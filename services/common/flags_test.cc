#include "services/common/flags.h"

#include "absl/flags/flag.h"
#include "gtest/gtest.h"

namespace trunkline {
namespace {

TEST(FlagsTest, ValidatesAddresses) {
  EXPECT_TRUE(ValidateListenAddress("grpc_address", "127.0.0.1:0").ok());
  EXPECT_TRUE(ValidateListenAddress("grpc_address", "[::1]:50061").ok());
  EXPECT_TRUE(ValidateListenAddress("grpc_address", "localhost:1").ok());
  absl::Status bad = ValidateListenAddress("grpc_address", "127.0.0.1");
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("--grpc_address=127.0.0.1"), std::string::npos);
  EXPECT_FALSE(ValidateListenAddress("x", "h:70000").ok());
  EXPECT_FALSE(ValidateListenAddress("x", ":80").ok());
}

TEST(FlagsTest, EmptyAddressesTakeTheServiceDefaults) {
  absl::SetFlag(&FLAGS_grpc_address, "");
  absl::SetFlag(&FLAGS_media, "127.0.0.1:1,127.0.0.1:2");
  absl::StatusOr<ServiceFlags> flags = ReadServiceFlags(kRoutingDefaults);
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->grpc_address, kRoutingDefaults.grpc);
  EXPECT_EQ(flags->media.size(), 2u);
  absl::SetFlag(&FLAGS_log_level, "loud");
  EXPECT_FALSE(ReadServiceFlags(kRoutingDefaults).ok());
  absl::SetFlag(&FLAGS_log_level, "info");
}

}  // namespace
}  // namespace trunkline
