#include "services/common/error_table.h"

#include "gtest/gtest.h"

namespace trunkline {
namespace {

TEST(ErrorTableTest, MapsToSip) {
  EXPECT_EQ(SipErrorFor(absl::StatusCode::kNotFound).code, 404);
  EXPECT_EQ(SipErrorFor(absl::StatusCode::kUnavailable).code, 503);
  EXPECT_EQ(SipErrorFor(absl::StatusCode::kResourceExhausted).code, 503);
  EXPECT_EQ(SipErrorFor(absl::StatusCode::kDeadlineExceeded).code, 504);
  EXPECT_EQ(SipErrorFor(absl::StatusCode::kPermissionDenied).code, 403);
  EXPECT_EQ(SipErrorFor(absl::StatusCode::kInternal).code, 500);
}

TEST(ErrorTableTest, GrpcRoundTripKeepsCodeAndMessage) {
  const absl::StatusCode codes[] = {
      absl::StatusCode::kInvalidArgument, absl::StatusCode::kNotFound,
      absl::StatusCode::kUnavailable, absl::StatusCode::kUnauthenticated,
      absl::StatusCode::kDeadlineExceeded};
  for (absl::StatusCode code : codes) {
    absl::Status original(code, "callee: not a number");
    grpc::Status wire = ToGrpcStatus(original);
    EXPECT_EQ(static_cast<int>(wire.error_code()), static_cast<int>(code));
    EXPECT_EQ(FromGrpcStatus(wire), original);
  }
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

}  // namespace
}  // namespace trunkline
