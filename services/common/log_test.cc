#include "services/common/log.h"

#include "gtest/gtest.h"

namespace trunkline {
namespace {

TEST(LogTest, LogfmtQuotesOnlyWhenNeeded) {
  EXPECT_EQ(LogfmtValue("abc"), "abc");
  EXPECT_EQ(LogfmtValue(""), "\"\"");
  EXPECT_EQ(LogfmtValue("a b"), "\"a b\"");
  EXPECT_EQ(LogfmtValue("say \"hi\"\n"), "\"say \\\"hi\\\"\\n\"");
  EXPECT_EQ(LogfmtValue("k=v"), "\"k=v\"");
}

TEST(LogTest, ParsesLevelsAndFilters) {
  EXPECT_EQ(*ParseLogLevel("WARN"), LogLevel::kWarning);
  EXPECT_EQ(*ParseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_FALSE(ParseLogLevel("verbose").ok());
  SetLogLevel(LogLevel::kWarning);
  EXPECT_FALSE(LogEnabled(LogLevel::kInfo));
  EXPECT_TRUE(LogEnabled(LogLevel::kError));
  SetLogLevel(LogLevel::kInfo);
  EXPECT_TRUE(LogEnabled(LogLevel::kInfo));
}

TEST(LogTest, WritesOneStructuredLine) {
  testing::internal::CaptureStderr();
  TL_LOG(kInfo, "topology loaded").With("version", "v1").With("routes", 3);
  TL_LOG(kDebug, "not shown");
  std::string out = testing::internal::GetCapturedStderr();
  EXPECT_NE(out.find(" level=info "), std::string::npos) << out;
  EXPECT_NE(out.find("msg=\"topology loaded\" version=v1 routes=3\n"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("not shown"), std::string::npos);
}

}  // namespace
}  // namespace trunkline
