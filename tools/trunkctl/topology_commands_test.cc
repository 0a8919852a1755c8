#include "tools/trunkctl/topology_commands.h"

#include <cstdlib>
#include <fstream>
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

// A trunk to a gateway located by DNS SRV has no remote port of ours.
TEST(TopologyCommandsTest, ShowNamesAGatewayLocatedBySrvWithoutAPort) {
  const std::string file = testing::TempDir() + "/srv_topology.yaml";
  {
    std::ofstream yaml(file);
    yaml << R"(sites: [{name: hq}]
pools: [{name: pool, site: hq, listeners: [{name: lan, address: 127.0.0.1}]}]
gateways:
  - {name: fe, kind: uc_front_end, address: 127.0.0.11}
  - {name: itsp, kind: pstn_gateway, fqdn: itsp.example, dnsSrv: true, transport: tcp}
trunks: [{name: itsp-trunk, pool: pool, gateway: itsp, localPort: 5170}]
trunkConfigurations: [{name: global, srtpMode: optional}]
pstnUsages: [{name: Local}]
voiceRoutes: [{name: all, numberPattern: '^\+1\d+$', pstnUsages: [Local], trunks: [{trunk: itsp-trunk}]}]
voicePolicies: [{name: global, pstnUsages: [Local]}]
ucSide: {nextHops: [{gateway: fe, pool: pool}]}
)";
  }
  std::ostringstream out, err;
  EXPECT_EQ(ShowTopology(file, OutputFormat::kTable, out, err), kExitOk)
      << err.str();
  EXPECT_NE(out.str().find("itsp.example (SRV)/tcp"), std::string::npos)
      << out.str();
  EXPECT_EQ(out.str().find("itsp.example:0"), std::string::npos) << out.str();
}

}  // namespace
}  // namespace trunkline::trunkctl
