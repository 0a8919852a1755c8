#include "tools/trunkctl/route_commands.h"

#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace trunkline::trunkctl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// An inter-trunk decision: the calling trunk's timer on the caller's leg,
// each candidate's own on the callee's.
TEST(RouteCommandsTest, ExplanationShowsEachLegsSessionTimer) {
  v1::RouteExplanation e;
  v1::RouteDecision* d = e.mutable_decision();
  d->set_topology_version("v1");
  d->mutable_origin_session_timer()->set_enabled(true);
  d->mutable_origin_session_timer()->set_session_expires_seconds(600);
  v1::Candidate* lon = d->add_candidates();
  lon->set_trunk("pstn-lon");
  lon->set_called_number("02071234567");
  v1::Candidate* itsp = d->add_candidates();
  itsp->set_trunk("itsp");
  itsp->mutable_session_timer()->set_enabled(true);
  itsp->mutable_session_timer()->set_session_expires_seconds(900);
  std::ostringstream out;
  PrintExplanation(e, out);
  const std::string text = out.str();
  EXPECT_THAT(text, HasSubstr("SESSION TIMER"));
  EXPECT_THAT(text, HasSubstr("900 s"));
  EXPECT_THAT(text, HasSubstr("caller's leg: session timer 600 s (the calling "
                              "trunk's)"));
  EXPECT_THAT(text, HasSubstr("topology v1"));
}

// What each candidate's INVITE carries: an emergency route's check that
// the caller's location reaches the gateway.
TEST(RouteCommandsTest, ExplanationShowsWhatIsForwarded) {
  v1::RouteExplanation e;
  v1::Candidate* dub = e.mutable_decision()->add_candidates();
  dub->set_trunk("pstn-dub");
  dub->mutable_headers()->set_forward_p_asserted_identity(true);
  dub->mutable_headers()->set_forward_location(true);
  v1::Candidate* itsp = e.mutable_decision()->add_candidates();
  itsp->set_trunk("itsp");
  std::ostringstream out;
  PrintExplanation(e, out);
  EXPECT_THAT(out.str(), HasSubstr("FORWARDS"));
  EXPECT_THAT(out.str(), HasSubstr("PAI,location"));
}

// Where each candidate goes: host and port, or the name a gateway located by
// DNS SRV is looked up by (no port of ours).
TEST(RouteCommandsTest, ExplanationShowsTheNextHop) {
  v1::RouteExplanation e;
  v1::Candidate* dub = e.mutable_decision()->add_candidates();
  dub->set_trunk("pstn-dub");
  dub->mutable_next_hop()->set_gateway("gw-dub");
  dub->mutable_next_hop()->set_host("127.0.0.21");
  dub->mutable_next_hop()->set_port(5060);
  v1::Candidate* itsp = e.mutable_decision()->add_candidates();
  itsp->set_trunk("itsp");
  itsp->mutable_next_hop()->set_gateway("itsp");
  itsp->mutable_next_hop()->set_host("sip.itsp.example");
  itsp->mutable_next_hop()->set_dns_srv(true);
  std::ostringstream out;
  PrintExplanation(e, out);
  EXPECT_THAT(out.str(), HasSubstr("gw-dub 127.0.0.21:5060"));
  EXPECT_THAT(out.str(), HasSubstr("itsp sip.itsp.example (SRV)"));
  EXPECT_THAT(out.str(), Not(HasSubstr("sip.itsp.example:0")));
}

TEST(RouteCommandsTest, RejectAndNoCallerTimer) {
  v1::RouteExplanation e;
  e.mutable_decision()->mutable_reject()->set_sip_code(404);
  e.mutable_decision()->mutable_reject()->set_reason("no route");
  std::ostringstream out;
  PrintExplanation(e, out);
  EXPECT_THAT(out.str(), HasSubstr("REJECT 404 no route"));
  EXPECT_THAT(out.str(), Not(HasSubstr("caller's leg")));
}

}  // namespace
}  // namespace trunkline::trunkctl
