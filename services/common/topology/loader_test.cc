#include "services/common/topology/loader.h"

#include <cstdlib>
#include <set>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/common/topology/defaults.h"

namespace trunkline {
namespace {

std::string SourcePath(const std::string& relative) {
  const char* root = std::getenv("TRUNKLINE_SOURCE_DIR");
  return root ? absl::StrCat(root, "/", relative) : relative;
}

TEST(LoaderTest, ExampleTopologyIsValid) {
  std::vector<TopologyError> errors;
  auto t =
      LoadTopologyFile(SourcePath("deploy/examples/topology.yaml"), &errors);
  ASSERT_NE(t, nullptr) << ErrorsToStatus(errors);
  EXPECT_EQ(t->version, "contoso-2026-11-24");
  EXPECT_EQ(t->topology.trunks_size(), 4);
  // Defaults are filled in.
  const v1::Trunk& itsp = t->topology.trunks(3);
  EXPECT_EQ(itsp.remote_port(), 5060u);
  EXPECT_EQ(itsp.transport(), v1::TRANSPORT_UDP);
  EXPECT_TRUE(itsp.enabled());
  EXPECT_EQ(t->topology.trunks(2).dial_plan(), "pbx-lon");
}

TEST(LoaderTest, DefaultsFollowLync) {
  std::vector<TopologyError> errors;
  auto t = LoadTopologyFile(SourcePath("tests/topology/minimal.yaml"), &errors);
  ASSERT_NE(t, nullptr) << ErrorsToStatus(errors);
  EXPECT_EQ(t->version.substr(0, 4), "sha-");
  const v1::TrunkConfiguration& c = t->topology.trunk_configurations(0);
  EXPECT_EQ(c.max_early_dialogs(), 20u);
  EXPECT_TRUE(c.rtcp_active_calls());
  EXPECT_TRUE(c.concentrated_topology());
  EXPECT_EQ(c.refer_mode(), v1::REFER_MODE_PASSTHROUGH);
  EXPECT_EQ(c.fast_failover_seconds(), 10u);
  ASSERT_EQ(c.failover_response_codes_size(), 3);
  EXPECT_EQ(c.failover_response_codes(2), 504u);
  EXPECT_EQ(c.keepalive().interval_seconds(), 60u);
  EXPECT_EQ(c.session_timer().min_se_seconds(), 90u);
  const v1::Listener& lan = t->topology.pools(0).listeners(0);
  EXPECT_EQ(lan.port(), 5060u);
  EXPECT_EQ(lan.advertised_address(), "127.0.0.1");
  EXPECT_EQ(t->topology.trunks(0).listener(), "lan");
  EXPECT_EQ(t->topology.uc_side().next_hops(0).listener(), "lan");
  // Same content, same version.
  auto again =
      LoadTopologyFile(SourcePath("tests/topology/minimal.yaml"), &errors);
  EXPECT_EQ(again->version, t->version);
}

// Lync's Enable3pccRefer, carried over without a referMode: we carry out
// the transfer (terminate); a referMode given wins.
TEST(LoaderTest, Enable3pccReferSelectsTerminateUnlessReferModeIsGiven) {
  v1::TrunkConfiguration c;
  c.set_enable_3pcc_refer(true);
  ApplyTrunkConfigurationDefaults(&c);
  EXPECT_EQ(c.refer_mode(), v1::REFER_MODE_TERMINATE);
  v1::TrunkConfiguration given;
  given.set_enable_3pcc_refer(true);
  given.set_refer_mode(v1::REFER_MODE_REJECT);
  ApplyTrunkConfigurationDefaults(&given);
  EXPECT_EQ(given.refer_mode(), v1::REFER_MODE_REJECT);
}

struct BrokenCase {
  const char* fixture;
  const char* expected;  // "line: message"
};

void PrintTo(const BrokenCase& c, std::ostream* os) { *os << c.fixture; }

// One broken fixture per rule, each failing with its own message and line.
const BrokenCase kBroken[] = {
    {"bad_address",
     "13: gateway \"gw\": address \"127.0.0.300\" is not an IPv4 or IPv6 "
     "address"},
    {"bad_enum",
     "25: srtpMode: \"sometimes\" is not one of: required, optional, "
     "not_supported"},
    {"bad_port",
     "22: trunk \"trunk\": localPort 70000 is not a port (1 to 65535)"},
    {"bad_regex",
     "30: voice route \"local\": numberPattern \"^\\+1(\\d{10}$\" is not a "
     "valid RE2 pattern: missing ): ^\\+1(\\d{10}$"},
    {"bad_translation_group",
     "40: dial plan \"global\" rule \"nanp\": translation uses $2 but the "
     "pattern has only 1 capture group"},
    {"dial_plan_scope_target",
     "39: dial plan \"global\": site \"paris\" is not defined"},
    {"dns_srv_trunk_remote_port",
     "24: trunk \"trunk\": gateway \"gw\" is located by dnsSrv, whose records "
     "give the port: remove remotePort"},
    {"dns_srv_with_address",
     "15: gateway \"gw\": dnsSrv locates the gateway by its fqdn: give fqdn "
     "and no address"},
    {"dns_srv_with_port",
     "15: gateway \"gw\": with dnsSrv the SRV records give the port: remove "
     "port (or dnsSrv)"},
    {"duplicate_key",
     "28: \"pstnUsages\" appears twice in one Topology (first at line 26)"},
    {"duplicate_name", "4: site \"hq\" is defined twice (first at line 3)"},
    {"duplicate_trunk_association",
     "23: trunk \"trunk-2\": same pool, listener, ports and gateway as trunk "
     "\"trunk\""},
    {"failover_code",
     "26: trunk configuration \"global\": failover response code 302 is not a "
     "final error response (400 to 699)"},
    {"gateway_without_address",
     "15: gateway \"fe\": fqdn or address is required"},
    {"itsp_private_address",
     "19: trunk \"trunk\": trunk to ITSP \"gw\" would advertise the private "
     "address 127.0.0.1; use a listener with a public advertisedAddress"},
    {"missing_kind",
     "11: gateway \"gw\": kind is required (pstn_gateway, ip_pbx, itsp or "
     "uc_front_end)"},
    {"number_range",
     "45: UC number range #1: first \"+15550001000\" and last \"+1555000199\" "
     "must be numbers of the same length, first <= last"},
    {"not_utf8",
     "4: not valid UTF-8: byte 0xE9 at column 21 (YAML text must be UTF-8; "
     "was the file saved as Latin-1 or Windows-1252?)"},
    {"policy_assignment_policy",
     "42: policy assignment #1: voice policy \"executives\" is not defined"},
    {"registration_without_credentials",
     "26: trunk configuration \"global\": registration needs credentials"},
    {"route_without_trunks",
     "29: voice route \"local\": at least one trunk is required"},
    {"session_timer_min_se",
     "26: trunk configuration \"global\": sessionTimer.minSeSeconds 30 is "
     "below 90, the least RFC 4028 allows"},
    {"sips_uri_without_tls",
     "25: trunk \"trunk\": gateway \"gw\" takes sips: URIs (tls.sipsUri), "
     "which need transport tls"},
    {"tls_without_certificate",
     "10: pool \"pool\" listener \"lan\": TLS needs tls.certificateFile and "
     "tls.privateKeyFile"},
    {"uc_keepalive_interval",
     "48: ucSide: keepalive.intervalSeconds 2 is below 5"},
    {"uc_next_hop_kind",
     "43: UC next hop #1: gateway \"gw\" is not of kind uc_front_end"},
    {"undefined_configuration",
     "23: trunk \"trunk\": trunk configuration \"itsp\" is not defined"},
    {"undefined_gateway",
     "21: trunk \"trunk\": gateway \"gw-missing\" is not defined"},
    {"undefined_listener",
     "22: trunk \"trunk\": pool \"pool\" has no listener \"wan\""},
    {"undefined_policy_usage",
     "35: voice policy \"global\": PSTN usage \"International\" is not "
     "defined"},
    {"undefined_pool",
     "20: trunk \"trunk\": pool \"pool-missing\" is not defined"},
    {"undefined_route_trunk",
     "32: voice route \"local\": trunk \"trunk-missing\" is not defined"},
    {"undefined_usage",
     "31: voice route \"local\": PSTN usage \"Long-Distance\" is not defined"},
    {"unknown_field", "21: unknown field \"gatway\" in Trunk"},
    {"wildcard_without_advertised",
     "9: pool \"pool\" listener \"lan\": a wildcard address needs an "
     "advertisedAddress for Contact and SDP"},
    {"wrong_type",
     "22: localPort: expected a whole number from 0 to 4294967295, found "
     "\"fifty\""},
    {"yaml_syntax", "7: YAML syntax error: end of sequence flow not found"},
};

class BrokenFixtureTest : public testing::TestWithParam<BrokenCase> {};

TEST_P(BrokenFixtureTest, FailsWithItsOwnMessage) {
  const BrokenCase& c = GetParam();
  const std::string path =
      SourcePath(absl::StrCat("tests/topology/broken/", c.fixture, ".yaml"));
  std::vector<TopologyError> errors;
  EXPECT_EQ(LoadTopologyFile(path, &errors), nullptr);
  ASSERT_EQ(errors.size(), 1u) << ErrorsToStatus(errors);
  EXPECT_EQ(errors[0].file, path);
  EXPECT_EQ(absl::StrCat(errors[0].line, ": ", errors[0].message), c.expected);
}

INSTANTIATE_TEST_SUITE_P(All, BrokenFixtureTest, testing::ValuesIn(kBroken),
                         [](const testing::TestParamInfo<BrokenCase>& info) {
                           return std::string(info.param.fixture);
                         });

TEST(LoaderTest, MessagesAreUniquePerFixture) {
  std::set<std::string> seen;
  for (const BrokenCase& c : kBroken) {
    std::string message = c.expected;
    message = message.substr(message.find(": ") + 2);
    EXPECT_TRUE(seen.insert(message).second) << message;
  }
}

TEST(LoaderTest, AllErrorsComeAtOnceInLineOrder) {
  std::vector<TopologyError> errors;
  auto t = LoadTopologyText(R"(
gateways:
  - {name: gw, kind: pstn_gateway, address: 10.0.0.1}
trunks:
  - {name: a, pool: nowhere, gateway: gw}
  - {name: b, pool: nowhere, gateway: ghost}
)",
                            "t.yaml", &errors);
  EXPECT_EQ(t, nullptr);
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0].ToString(),
            "t.yaml:5: trunk \"a\": pool \"nowhere\" is not defined");
  EXPECT_EQ(errors[1].line, 6);
  EXPECT_EQ(errors[2].ToString(),
            "t.yaml:6: trunk \"b\": gateway \"ghost\" is not defined");
}

// UTF-8 text loads, a BOM and characters of every length included; what is
// not UTF-8 (utf8_test.cc has the forms) is refused at its line.
TEST(LoaderTest, TextMustBeUtf8) {
  const std::string valid =
      "\xEF\xBB\xBFsites:\n  - {name: hq, description: \"Z\xC3\xBCrich "
      "\xE2\x82\xAC \xF0\x9D\x84\x9E\"}\n";
  std::vector<TopologyError> errors;
  EXPECT_NE(LoadTopologyText(valid, "t.yaml", &errors), nullptr)
      << ErrorsToStatus(errors);
  errors.clear();
  EXPECT_EQ(LoadTopologyText("sites:\n  - {name: \"hq\xED\xA0\x80\"}\n",
                             "t.yaml", &errors),
            nullptr);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].ToString(),
            "t.yaml:2: not valid UTF-8: byte 0xED at column 15 (YAML text "
            "must be UTF-8; was the file saved as Latin-1 or Windows-1252?)");
}

TEST(LoaderTest, MissingFile) {
  std::vector<TopologyError> errors;
  EXPECT_EQ(LoadTopologyFile("/nonexistent/t.yaml", &errors), nullptr);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].ToString(), "/nonexistent/t.yaml: cannot open the file");
}

}  // namespace
}  // namespace trunkline
