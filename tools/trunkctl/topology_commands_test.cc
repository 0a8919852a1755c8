#include "tools/trunkctl/topology_commands.h"

#include <cstdlib>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace trunkline::trunkctl {
namespace {

std::string SourcePath(const std::string& relative) {
  const char* root = std::getenv("TRUNKLINE_SOURCE_DIR");
  return root ? absl::StrCat(root, "/", relative) : relative;
}

TEST(TopologyCommandsTest, ValidExampleExitsZero) {
  std::ostringstream out, err;
  const std::string file = SourcePath("deploy/examples/topology.yaml");
  EXPECT_EQ(ValidateTopology(file, OutputFormat::kTable, out, err), kExitOk);
  EXPECT_EQ(out.str().rfind(file + ": valid (version contoso-2026-11-24", 0),
            0u)
      << out.str();
  EXPECT_EQ(err.str(), "");
}

TEST(TopologyCommandsTest, BrokenFileExitsOneWithFileAndLine) {
  std::ostringstream out, err;
  const std::string file =
      SourcePath("tests/topology/broken/undefined_gateway.yaml");
  EXPECT_EQ(ValidateTopology(file, OutputFormat::kTable, out, err),
            kExitFailed);
  EXPECT_NE(
      err.str().find(file + ":21: trunk \"trunk\": gateway \"gw-missing\" "
                            "is not defined"),
      std::string::npos)
      << err.str();
  EXPECT_EQ(out.str(), "");
}

TEST(TopologyCommandsTest, ShowPrintsProtoJsonWithDefaults) {
  std::ostringstream out, err;
  EXPECT_EQ(ShowTopology(SourcePath("tests/topology/minimal.yaml"),
                         OutputFormat::kJson, out, err),
            kExitOk);
  EXPECT_NE(out.str().find("\"maxEarlyDialogs\": 20"), std::string::npos)
      << out.str();
  EXPECT_NE(out.str().find("\"srtpMode\": \"SRTP_MODE_OPTIONAL\""),
            std::string::npos);
}

}  // namespace
}  // namespace trunkline::trunkctl
