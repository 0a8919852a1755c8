#include "services/routing/route_engine.h"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace trunkline::routing {
namespace {

std::shared_ptr<const RoutingSnapshot> FromFile(const std::string& relative) {
  const char* root = std::getenv("TRUNKLINE_SOURCE_DIR");
  std::vector<TopologyError> errors;
  auto t =
      LoadTopologyFile(absl::StrCat(root ? root : ".", "/", relative), &errors);
  EXPECT_NE(t, nullptr) << ErrorsToStatus(errors);
  return *RoutingSnapshot::Build(t);
}

std::shared_ptr<const RoutingSnapshot> FromText(const std::string& text) {
  std::vector<TopologyError> errors;
  auto t = LoadTopologyText(text, "inline.yaml", &errors);
  EXPECT_NE(t, nullptr) << ErrorsToStatus(errors);
  return *RoutingSnapshot::Build(t);
}

class RouteEngineTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    example_ = new std::shared_ptr<const RoutingSnapshot>(
        FromFile("deploy/examples/topology.yaml"));
  }
  static v1::RouteRequest User(const std::string& uri,
                               const std::string& caller,
                               const std::string& callee) {
    v1::RouteRequest r;
    r.set_call_id("call-1@test");
    r.mutable_origin()->set_user_uri(uri);
    r.set_caller(caller);
    r.set_callee(callee);
    return r;
  }
  static v1::RouteRequest Trunk(const std::string& trunk,
                                const std::string& caller,
                                const std::string& callee) {
    v1::RouteRequest r;
    r.set_call_id("call-1@test");
    r.mutable_origin()->set_trunk(trunk);
    r.set_caller(caller);
    r.set_callee(callee);
    return r;
  }
  v1::RouteDecision Decided(const v1::RouteRequest& r,
                            v1::RouteExplanation* e = nullptr) {
    v1::RouteDecision d;
    absl::Status status = Decide(**example_, r, &d, e);
    EXPECT_TRUE(status.ok()) << status;
    return d;
  }
  static std::vector<std::string> Trunks(const v1::RouteDecision& d) {
    std::vector<std::string> out;
    for (const auto& c : d.candidates()) out.push_back(c.trunk());
    return out;
  }
  static std::shared_ptr<const RoutingSnapshot>* example_;
};
std::shared_ptr<const RoutingSnapshot>* RouteEngineTest::example_ = nullptr;

TEST_F(RouteEngineTest, BadRequestsNameTheField) {
  struct Case {
    v1::RouteRequest request;
    std::string field;
  };
  v1::RouteRequest no_call_id =
      User("sip:a@contoso.example", "+35315551234", "0");
  no_call_id.clear_call_id();
  std::vector<Case> cases = {
      {no_call_id, "call_id:"},
      {User("sip:a@contoso.example", "+35315551234", ""), "callee:"},
      {User("sip:a@contoso.example", "+35315551234", "01 234"), "callee:"},
      {User("sip:a@contoso.example", "+3531555abc", "01234"), "caller:"},
      {Trunk("pstn-dub", "", "01234"), "caller:"},
      {Trunk("no-such-trunk", "0123", "01234"), "origin.trunk:"},
      {User("", "", "01234"), "origin:"},
      {[] {
         v1::RouteRequest r = User("sip:a@contoso.example", "0871234567", "0");
         r.set_policy_caller("+3531555 1234");
         return r;
       }(),
       "policy_caller:"},
  };
  for (const Case& c : cases) {
    v1::RouteDecision d;
    absl::Status status = Decide(**example_, c.request, &d);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_EQ(status.message().substr(0, c.field.size()), c.field) << status;
  }
}

TEST_F(RouteEngineTest, DialPlanPrecedenceUserPoolSiteGlobal) {
  auto s = FromText(R"(
sites: [{name: hq}]
pools:
  - {name: p1, site: hq, listeners: [{name: lan, address: 127.0.0.1}]}
  - {name: p2, site: hq, listeners: [{name: lan, address: 127.0.0.2}]}
gateways: [{name: gw, kind: pstn_gateway, address: 127.0.0.9}]
trunks: [{name: t, pool: p1, gateway: gw}]
trunkConfigurations: [{name: global, srtpMode: optional}]
pstnUsages: [{name: U}]
voiceRoutes: [{name: r, numberPattern: '^\+.*$', pstnUsages: [U], trunks: [{trunk: t}]}]
voicePolicies: [{name: global, pstnUsages: [U]}]
dialPlans:
  - {name: g, scope: global, normalizationRules: [{name: g, pattern: '^(\d+)$', translation: '+1$1'}]}
  - {name: site, scope: site, target: hq, normalizationRules: [{name: s, pattern: '^(\d+)$', translation: '+2$1'}]}
  - {name: pool, scope: pool, target: p1, normalizationRules: [{name: p, pattern: '^(\d+)$', translation: '+3$1'}]}
  - {name: user, scope: user, normalizationRules: [{name: u, pattern: '^(\d+)$', translation: '+4$1'}]}
policyAssignments:
  - {uriPattern: '^sip:vip@.*$', voicePolicy: global, dialPlan: user, pool: p1}
  - {uriPattern: '^sip:p1@.*$', voicePolicy: global, pool: p1}
)");
  auto normalized = [&](const std::string& uri, const std::string& pool) {
    v1::RouteRequest r = User(uri, "", "555");
    r.set_pool(pool);
    v1::RouteDecision d;
    EXPECT_TRUE(Decide(*s, r, &d).ok());
    return d.normalized_callee();
  };
  EXPECT_EQ(normalized("sip:vip@x", ""), "+4555");      // user plan
  EXPECT_EQ(normalized("sip:p1@x", ""), "+3555");       // pool plan
  EXPECT_EQ(normalized("sip:other@x", "p2"), "+2555");  // site plan
  EXPECT_EQ(normalized("sip:other@x", "p1"), "+3555");
}

// A gateway that takes sips: URIs: its TLS trunk's candidate says so; a
// trunk to it over TCP would be refused by the loader, a plain gateway's
// TLS trunk does not.
// A topology of two gateways, `gw` and `gw2` (given in `gateways`), a trunk
// to each (t, then t2 at a lower priority) and one route for every number.
std::shared_ptr<const RoutingSnapshot> TwoGateways(
    const std::string& gateways) {
  return FromText(absl::StrCat(R"(
sites: [{name: hq}]
pools: [{name: p1, site: hq, listeners: [{name: lan, address: 127.0.0.1}]}]
gateways:
)",
                               gateways, R"(
trunks: [{name: t, pool: p1, gateway: gw}, {name: t2, pool: p1, gateway: gw2}]
trunkConfigurations: [{name: global, srtpMode: optional}]
pstnUsages: [{name: U}]
voiceRoutes: [{name: r, numberPattern: '^\+.*$', pstnUsages: [U], trunks: [{trunk: t}, {trunk: t2, priority: 1}]}]
voicePolicies: [{name: global, pstnUsages: [U]}]
)"));
}

TEST_F(RouteEngineTest, SipsUrisForGatewaysThatTakeThem) {
  auto s = TwoGateways(R"(
  - {name: gw, kind: pstn_gateway, address: 127.0.0.9, transport: tls, tls: {sipsUri: true}}
  - {name: gw2, kind: pstn_gateway, address: 127.0.0.10, transport: tls})");
  v1::RouteDecision d;
  ASSERT_TRUE(Decide(*s, User("sip:a@x", "+15550001", "+15550002"), &d).ok());
  ASSERT_EQ(d.candidates_size(), 2);
  EXPECT_EQ(d.candidates(0).next_hop().transport(), v1::TRANSPORT_TLS);
  EXPECT_TRUE(d.candidates(0).next_hop().sips());
  EXPECT_FALSE(d.candidates(1).next_hop().sips());
}

TEST_F(RouteEngineTest, GatewaysLocatedBySrvHaveNoPort) {
  auto s = TwoGateways(R"(
  - {name: gw, kind: pstn_gateway, fqdn: sbc.carrier.example, dnsSrv: true, transport: tcp}
  - {name: gw2, kind: pstn_gateway, fqdn: gw2.carrier.example})");
  v1::RouteDecision d;
  ASSERT_TRUE(Decide(*s, User("sip:a@x", "+15550001", "+15550002"), &d).ok());
  ASSERT_EQ(d.candidates_size(), 2);
  const v1::NextHop& srv = d.candidates(0).next_hop();
  EXPECT_EQ(srv.host(), "sbc.carrier.example");
  EXPECT_TRUE(srv.dns_srv());
  EXPECT_EQ(srv.port(), 0u);
  EXPECT_EQ(srv.transport(), v1::TRANSPORT_TCP);
  const v1::NextHop& named = d.candidates(1).next_hop();
  EXPECT_FALSE(named.dns_srv());
  EXPECT_EQ(named.port(), 5060u);
}

TEST_F(RouteEngineTest, FirstMatchingNormalizationRuleWins) {
  v1::RouteExplanation e;
  v1::RouteDecision d =
      Decided(User("sip:a@contoso.example", "+35315551234", "1234"), &e);
  EXPECT_EQ(d.normalized_callee(), "+35315551234");
  EXPECT_EQ(e.dial_plan(), "dublin");
  EXPECT_EQ(e.normalization_rule(), "extension");
  EXPECT_EQ(e.callee_before(), "1234");
}

TEST_F(RouteEngineTest, PolicyAssignmentOrderAndGlobalFallback) {
  v1::RouteExplanation e;
  Decided(User("sip:boss@exec.contoso.example", "+35315551900", "0871234567"),
          &e);
  EXPECT_EQ(e.voice_policy(), "dublin-users")
      << "the URI assignment comes first";
  EXPECT_EQ(e.dial_plan(), "executive");
  e.Clear();
  Decided(User("sip:lobby@contoso.example", "+35315551900", "0871234567"), &e);
  EXPECT_EQ(e.voice_policy(), "lobby");
  e.Clear();
  v1::RouteDecision d =
      Decided(User("sip:guest@contoso.example", "+15550100", "0871234567"), &e);
  EXPECT_EQ(e.voice_policy(), "global");
  // The global policy has no national usage: no route for a mobile number.
  EXPECT_EQ(d.reject().sip_code(), 404u);
}

TEST_F(RouteEngineTest, TransferUsesTheTransferorsPolicyAndShowsTheTransferee) {
  // A Dublin user transfers a mobile caller (0871234567) to a London number:
  // by the caller's number alone the global policy would refuse it.
  v1::RouteRequest r =
      User("sip:a@contoso.example", "0871234567", "+442071234567");
  EXPECT_EQ(Decided(r).reject().sip_code(), 404u);
  r.set_policy_caller("+35315551234");
  v1::RouteExplanation e;
  v1::RouteDecision d = Decided(r, &e);
  EXPECT_EQ(e.voice_policy(), "dublin-users");
  EXPECT_EQ(Trunks(d), (std::vector<std::string>{"pstn-lon", "itsp"}));
  EXPECT_EQ(d.normalized_caller(), "0871234567");
}

TEST_F(RouteEngineTest, ExceptionsAndUsageOrderMakeTheFailover) {
  // A UK national number from Dublin: National-UK usage first, its route
  // lists pstn-lon then the ITSP.
  v1::RouteDecision d =
      Decided(User("sip:a@contoso.example", "+35315551234", "+442071234567"));
  EXPECT_EQ(Trunks(d), (std::vector<std::string>{"pstn-lon", "itsp"}));
  // Premium-rate numbers are an exception of uk-national.
  d = Decided(User("sip:a@contoso.example", "+35315551234", "+449098790000"));
  EXPECT_EQ(d.reject().sip_code(), 404u);
  EXPECT_EQ(d.candidates_size(), 0);
}

TEST_F(RouteEngineTest, SkipsDownFullDisabledAndOutOfSiteTrunks) {
  v1::RouteRequest r =
      User("sip:a@contoso.example", "+35315551234", "+442071234567");
  r.add_down_trunks("pstn-lon");
  v1::RouteExplanation e;
  v1::RouteDecision d = Decided(r, &e);
  EXPECT_EQ(Trunks(d), (std::vector<std::string>{"itsp"}));
  r.add_full_trunks("itsp");
  d = Decided(r);
  EXPECT_EQ(d.reject().sip_code(), 503u);
  // dublin-local allows only Dublin trunks: pstn-lon is never a candidate.
  d = Decided(User("sip:a@contoso.example", "+35315551234", "2345678"), &e);
  EXPECT_EQ(Trunks(d), (std::vector<std::string>{"pstn-dub", "itsp"}));
  bool saw_site_skip = false;
  for (const auto& step : e.steps()) {
    saw_site_skip |=
        step.subject() == "pstn-lon" && !step.accepted() &&
        step.message().find("outside the route's sites") != std::string::npos;
  }
  EXPECT_TRUE(saw_site_skip);
}

TEST_F(RouteEngineTest, TranslatesNumbersPerTrunk) {
  v1::RouteDecision d =
      Decided(User("sip:a@contoso.example", "+35315551234", "+442071234567"));
  ASSERT_EQ(d.candidates_size(), 2);
  // pstn-lon: national format, no "+".
  EXPECT_EQ(d.candidates(0).called_number(), "02071234567");
  EXPECT_EQ(d.candidates(0).calling_number(), "0035315551234");
  // The ITSP takes E.164 as is.
  EXPECT_EQ(d.candidates(1).called_number(), "+442071234567");
  EXPECT_EQ(d.candidates(1).calling_number(), "+35315551234");
}

TEST_F(RouteEngineTest, CallerIdPolicies) {
  // Lobby phones show the switchboard.
  v1::RouteDecision d =
      Decided(User("sip:lobby@contoso.example", "+35315551901", "2345678"));
  ASSERT_GT(d.candidates_size(), 0);
  EXPECT_EQ(d.candidates(0).calling_number(), "015551000");
  // Anonymous policy + withheld route with an alternate number.
  d = Decided(User("sip:x@contoso.example", "+35315551801", "+33142685300"));
  ASSERT_EQ(d.candidates_size(), 1);
  EXPECT_EQ(d.candidates(0).route(), "international-withheld");
  EXPECT_EQ(d.candidates(0).calling_number(), "015551000");
  EXPECT_FALSE(d.candidates(0).headers().anonymous());
  // Anonymous policy on a normal route: anonymous.
  d = Decided(User("sip:x@contoso.example", "+35315551801", "2345678"));
  ASSERT_GT(d.candidates_size(), 0);
  EXPECT_EQ(d.candidates(0).calling_number(), "anonymous");
  EXPECT_TRUE(d.candidates(0).headers().anonymous());
}

TEST_F(RouteEngineTest, MediaAndFailoverPlans) {
  v1::RouteDecision d =
      Decided(User("sip:a@contoso.example", "+35315551234", "+442071234567"));
  const v1::Candidate& pstn = d.candidates(0);
  EXPECT_TRUE(pstn.media().anchor());
  EXPECT_EQ(pstn.media().caller_srtp(), v1::SRTP_MODE_REQUIRED);
  EXPECT_EQ(pstn.media().callee_srtp(), v1::SRTP_MODE_NOT_SUPPORTED);
  EXPECT_EQ(pstn.failover().fast_failover_seconds(), 5u);
  EXPECT_EQ(pstn.limits().max_concurrent_calls(), 30u);
  EXPECT_EQ(pstn.refer_mode(), v1::REFER_MODE_TERMINATE);
  const v1::Candidate& itsp = d.candidates(1);
  EXPECT_TRUE(itsp.media().callee_latching());
  EXPECT_EQ(itsp.failover().failover_response_codes_size(), 5);
  EXPECT_EQ(itsp.credentials(), "itsp-account");
  EXPECT_EQ(itsp.next_hop().advertised_address(), "203.0.113.10");
  EXPECT_EQ(itsp.next_hop().local_port(), 5166u);
  // The PBX trunk allows bypass and SRTP optional: media bypasses.
  d = Decided(User("sip:a@contoso.example", "+35315551234", "+442079461234"));
  ASSERT_EQ(d.candidates_size(), 1);
  EXPECT_EQ(d.candidates(0).trunk(), "pbx-lon");
  EXPECT_FALSE(d.candidates(0).media().anchor());
}

// The caller's location (an emergency call's PIDF-LO) goes to a trunk
// with enable_pidf_lo_support (pstn-dub in the example) and to the UC side,
// to no other trunk.
TEST_F(RouteEngineTest, LocationOnlyWhereTheTrunkTakesIt) {
  v1::RouteDecision d =
      Decided(User("sip:a@contoso.example", "+35315551234", "112"));
  ASSERT_EQ(Trunks(d), (std::vector<std::string>{"pstn-dub"}));
  EXPECT_TRUE(d.candidates(0).headers().forward_location());
  d = Decided(User("sip:b@contoso.example", "+442079462001", "999"));
  ASSERT_EQ(Trunks(d), (std::vector<std::string>{"pstn-lon"}));
  EXPECT_FALSE(d.candidates(0).headers().forward_location());
  d = Decided(Trunk("pstn-lon", "02071234567", "02079462001"));
  ASSERT_TRUE(d.to_uc_side());
  ASSERT_GT(d.candidates_size(), 0);
  EXPECT_TRUE(d.candidates(0).headers().forward_location());
}

TEST_F(RouteEngineTest, InboundAndInterTrunk) {
  // PSTN to a UC user: to the UC side, first front end first.
  v1::RouteDecision d = Decided(Trunk("pstn-dub", "0871234567", "015551234"));
  EXPECT_TRUE(d.to_uc_side());
  EXPECT_EQ(d.normalized_callee(), "+35315551234");
  EXPECT_EQ(d.normalized_caller(), "+353871234567");
  ASSERT_EQ(d.candidates_size(), 2);
  EXPECT_EQ(d.candidates(0).next_hop().gateway(), "fe-dub-1");
  EXPECT_EQ(d.candidates(0).media().callee_srtp(), v1::SRTP_MODE_REQUIRED);
  EXPECT_EQ(d.candidates(0).media().caller_srtp(), v1::SRTP_MODE_NOT_SUPPORTED);
  // The PBX dials 9 + a UK national number: inter-trunk to the PSTN.
  d = Decided(Trunk("pbx-lon", "1234", "902071234567"));
  EXPECT_FALSE(d.to_uc_side());
  EXPECT_EQ(d.normalized_caller(), "+442079461234");
  EXPECT_EQ(Trunks(d), (std::vector<std::string>{"pstn-lon", "itsp"}));
  EXPECT_EQ(d.candidates(0).calling_number(), "02079461234");
  // The Dublin gateway has no usages: no inter-trunk routing.
  d = Decided(Trunk("pstn-dub", "0871234567", "+442071234567"));
  EXPECT_EQ(d.reject().sip_code(), 404u);
  EXPECT_NE(d.reject().reason().find("no PSTN usages"), std::string::npos);
}

// A call from a trunk: its leg (the caller's) gets its trunk
// configuration's media settings and its listener's advertised address;
// the UC leg is not held to the trunk's RTCP settings. A call from the UC
// side sets none of the caller's.
TEST_F(RouteEngineTest, CallerLegMediaSettingsComeFromTheOriginTrunk) {
  v1::RouteDecision d = Decided(Trunk("itsp", "+33142685300", "+35315551234"));
  ASSERT_TRUE(d.to_uc_side());
  ASSERT_GT(d.candidates_size(), 0);
  const v1::MediaPlan& in = d.candidates(0).media();
  EXPECT_TRUE(in.caller_latching()) << "the itsp configuration latches";
  EXPECT_EQ(in.caller_advertised_address(), "203.0.113.10");
  EXPECT_FALSE(in.callee_latching());
  EXPECT_FALSE(in.rtcp_active_calls());
  EXPECT_FALSE(in.rtcp_calls_on_hold());
  // Inter-trunk: both legs are trunks, each with its own settings.
  d = Decided(Trunk("pbx-lon", "1234", "902071234567"));
  ASSERT_GT(d.candidates_size(), 0);
  EXPECT_FALSE(d.candidates(0).media().caller_latching());
  EXPECT_EQ(d.candidates(0).media().caller_advertised_address(), "127.0.0.1")
      << "the lan listener's";
  // From the UC side.
  d = Decided(User("sip:a@contoso.example", "+35315551234", "+442071234567"));
  ASSERT_GT(d.candidates_size(), 0);
  EXPECT_FALSE(d.candidates(0).media().caller_latching());
  EXPECT_EQ(d.candidates(0).media().caller_media_timeout_seconds(), 0u);
  EXPECT_EQ(d.candidates(0).media().caller_advertised_address(), "");
}

// RFC 4028 per leg: the caller's leg gets the calling trunk's session
// timer (origin_session_timer), the callee's leg its candidate's.
TEST_F(RouteEngineTest, SessionTimersComeFromEachLegsTrunk) {
  // The Dublin gateway (timers on, 1800 s) to a UC user.
  v1::RouteDecision d = Decided(Trunk("pstn-dub", "0871234567", "015551234"));
  ASSERT_TRUE(d.to_uc_side());
  EXPECT_TRUE(d.origin_session_timer().enabled());
  EXPECT_EQ(d.origin_session_timer().session_expires_seconds(), 1800u);
  // The UC side calls out: no caller's-leg timer; the ITSP's (900 s) on its
  // candidate.
  d = Decided(User("sip:a@contoso.example", "+35315551234", "+33142685300"));
  EXPECT_FALSE(d.origin_session_timer().enabled());
  int itsp = 0;
  for (const v1::Candidate& c : d.candidates()) {
    if (c.trunk() != "itsp") continue;
    ++itsp;
    EXPECT_EQ(c.session_timer().session_expires_seconds(), 900u);
  }
  EXPECT_EQ(itsp, 1) << "the ITSP is a candidate for an international call";
  // Inter-trunk from the PBX (timers off) to London, then the ITSP.
  d = Decided(Trunk("pbx-lon", "1234", "902071234567"));
  EXPECT_FALSE(d.origin_session_timer().enabled());
  ASSERT_EQ(Trunks(d), (std::vector<std::string>{"pstn-lon", "itsp"}));
  EXPECT_FALSE(d.candidates(0).session_timer().enabled());
  EXPECT_TRUE(d.candidates(1).session_timer().enabled());
  EXPECT_EQ(d.candidates(1).session_timer().session_expires_seconds(), 900u);

  // With the PBX's timers on, both legs of that call have one, each its
  // own trunk's.
  const char* root = std::getenv("TRUNKLINE_SOURCE_DIR");
  std::ifstream in(
      absl::StrCat(root ? root : ".", "/deploy/examples/topology.yaml"));
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  const std::string anchor = "    referMode: passthrough\n";
  ASSERT_NE(text.find(anchor), std::string::npos);
  text.replace(text.find(anchor), anchor.size(),
               anchor +
                   "    sessionTimer: {enabled: true, "
                   "sessionExpiresSeconds: 600}\n");
  std::shared_ptr<const RoutingSnapshot> timed = FromText(text);
  v1::RouteDecision both;
  ASSERT_TRUE(
      Decide(*timed, Trunk("pbx-lon", "1234", "902071234567"), &both).ok());
  EXPECT_TRUE(both.origin_session_timer().enabled());
  EXPECT_EQ(both.origin_session_timer().session_expires_seconds(), 600u);
  ASSERT_EQ(both.candidates_size(), 2);
  EXPECT_EQ(both.candidates(1).session_timer().session_expires_seconds(), 900u);
}

// Strict source and rtcp-mux are per trunk (the example's ITSP has both):
// the candidate's for the leg towards it, the calling trunk's for the
// caller's leg.
TEST_F(RouteEngineTest, StrictSourceAndRtcpMuxComeFromEachLegsTrunk) {
  v1::RouteDecision d =
      Decided(User("sip:a@contoso.example", "+35315551234", "+33142685300"));
  int itsp = 0;
  for (const v1::Candidate& c : d.candidates()) {
    EXPECT_EQ(c.media().callee_strict_source(), c.trunk() == "itsp")
        << c.trunk();
    EXPECT_EQ(c.media().callee_rtcp_mux(), c.trunk() == "itsp") << c.trunk();
    EXPECT_FALSE(c.media().caller_strict_source()) << "from the UC side";
    EXPECT_FALSE(c.media().caller_rtcp_mux()) << "from the UC side";
    itsp += c.trunk() == "itsp";
  }
  EXPECT_EQ(itsp, 1);
  // From the ITSP to a UC user: the caller's leg is the ITSP's.
  d = Decided(Trunk("itsp", "+33142685300", "+35315551234"));
  ASSERT_TRUE(d.to_uc_side());
  ASSERT_GT(d.candidates_size(), 0);
  EXPECT_TRUE(d.candidates(0).media().caller_strict_source());
  EXPECT_TRUE(d.candidates(0).media().caller_rtcp_mux());
  EXPECT_FALSE(d.candidates(0).media().callee_strict_source());
  // From the Dublin gateway (neither set): off on both legs.
  d = Decided(Trunk("pstn-dub", "0871234567", "015551234"));
  ASSERT_GT(d.candidates_size(), 0);
  EXPECT_FALSE(d.candidates(0).media().caller_strict_source());
  EXPECT_FALSE(d.candidates(0).media().caller_rtcp_mux());
}

TEST_F(RouteEngineTest, ExplainMatchesRoute) {
  v1::RouteRequest r =
      User("sip:a@contoso.example", "+35315551234", "0033142685300");
  v1::RouteExplanation e;
  v1::RouteDecision explained;
  ASSERT_TRUE(Decide(**example_, r, &explained, &e).ok());
  v1::RouteDecision routed = Decided(r);
  EXPECT_EQ(explained.SerializeAsString(), routed.SerializeAsString());
  EXPECT_GT(e.steps_size(), 4);
  EXPECT_EQ(e.steps(e.steps_size() - 1).stage(), v1::ExplainStep::STAGE_RESULT);
}

}  // namespace
}  // namespace trunkline::routing
