#include "services/common/topology/yaml_to_proto.h"

#include "gtest/gtest.h"
#include "trunkline/v1/topology.pb.h"

namespace trunkline {
namespace {

TEST(YamlToProtoTest, AcceptsJsonAndProtoNamesAndShortEnums) {
  v1::Topology t;
  SourceMap map;
  std::vector<SourceError> errors;
  YamlTextToMessage(R"(
trunkConfigurations:
  - name: a
    srtp_mode: NotSupported
    enableBypass: yes
    failoverResponseCodes: [408, 503]
  - name: b
    srtpMode: SRTP_MODE_REQUIRED
gateways:
  - {name: g, kind: pstn-gateway}
)",
                    &t, &map, &errors);
  ASSERT_TRUE(errors.empty()) << errors[0].message;
  EXPECT_EQ(t.trunk_configurations(0).srtp_mode(), v1::SRTP_MODE_NOT_SUPPORTED);
  EXPECT_TRUE(t.trunk_configurations(0).enable_bypass());
  EXPECT_EQ(t.trunk_configurations(0).failover_response_codes(1), 503u);
  EXPECT_EQ(t.trunk_configurations(1).srtp_mode(), v1::SRTP_MODE_REQUIRED);
  EXPECT_EQ(t.gateways(0).kind(), v1::GATEWAY_KIND_PSTN_GATEWAY);
  EXPECT_EQ(map.LineOf("trunk_configurations[1].srtp_mode"), 8);
  EXPECT_EQ(map.LineOf("gateways[0].name"), 10);
  // Unrecorded paths fall back to the closest ancestor.
  EXPECT_EQ(map.LineOf("trunk_configurations[1].srtp_mode.nothing"), 8);
}

TEST(YamlToProtoTest, ReportsEveryProblemWithItsLine) {
  v1::Topology t;
  SourceMap map;
  std::vector<SourceError> errors;
  YamlTextToMessage(R"(sites:
  - name: a
    colour: blue
trunks:
  - name: t
    localPort: -1
gateways: {name: g}
)",
                    &t, &map, &errors);
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0].line, 3);
  EXPECT_EQ(errors[0].message, "unknown field \"colour\" in Site");
  EXPECT_EQ(errors[1].line, 6);
  EXPECT_NE(errors[1].message.find("localPort"), std::string::npos);
  EXPECT_EQ(errors[2].line, 7);
  EXPECT_NE(errors[2].message.find("expected a list"), std::string::npos);
}

TEST(YamlToProtoTest, SyntaxErrorsAndEmptyFiles) {
  v1::Topology t;
  SourceMap map;
  std::vector<SourceError> errors;
  YamlTextToMessage("sites: [a\nb: c\n", &t, &map, &errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_GT(errors[0].line, 0);
  errors.clear();
  YamlTextToMessage("", &t, &map, &errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].message, "the file is empty");
}

TEST(YamlToProtoTest, NormalizesEnumSpellings) {
  EXPECT_EQ(NormalizeEnumSpelling("NotSupported"), "NOT_SUPPORTED");
  EXPECT_EQ(NormalizeEnumSpelling("not-supported"), "NOT_SUPPORTED");
  EXPECT_EQ(NormalizeEnumSpelling("ipPbx"), "IP_PBX");
  EXPECT_EQ(NormalizeEnumSpelling("UDP"), "UDP");
}

}  // namespace
}  // namespace trunkline
