#include "services/signaling/call_plan.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace trunkline::signaling {
namespace {

using ::testing::Contains;
using ::testing::Pair;

v1::Candidate Dublin() {
  v1::Candidate c;
  c.set_trunk("pstn-dub");
  c.set_called_number("0871234567");
  c.set_calling_number("015551234");
  auto* hop = c.mutable_next_hop();
  hop->set_host("127.0.0.21");
  hop->set_port(5060);
  hop->set_advertised_address("127.0.0.1");
  hop->set_local_port(5160);
  return c;
}

TEST(CallPlanTest, TranslatedNumbersAtTheGateway) {
  IncomingRequest in;
  OutgoingInvite out = BuildInvite(in, Dublin(), "sdp");
  EXPECT_EQ(out.request_uri, "sip:0871234567@127.0.0.21:5060");
  EXPECT_EQ(out.to, "<sip:0871234567@127.0.0.21>");
  EXPECT_EQ(out.from, "<sip:015551234@127.0.0.1>");
  EXPECT_EQ(out.contact, "<sip:127.0.0.1:5160>");
  EXPECT_EQ(out.local_port, 5160u);
  EXPECT_EQ(out.content_type, "application/sdp");
  EXPECT_TRUE(out.headers.empty());  // no PAI, no history unless allowed
}

// A gateway located by DNS SRV: no port anywhere, so the SIP stack looks up
// the records for the transport.
TEST(CallPlanTest, NoPortForAGatewayLocatedBySrv) {
  IncomingRequest in;
  v1::Candidate c = Dublin();
  c.mutable_next_hop()->set_host("itsp.example");
  c.mutable_next_hop()->set_port(0);
  c.mutable_next_hop()->set_dns_srv(true);
  c.mutable_next_hop()->set_transport(v1::TRANSPORT_TCP);
  OutgoingInvite out = BuildInvite(in, c, "sdp");
  EXPECT_EQ(out.request_uri, "sip:0871234567@itsp.example;transport=tcp");
  EXPECT_EQ(out.to, "<sip:0871234567@itsp.example>");
  EXPECT_EQ(out.next_hop_host, "itsp.example");
  EXPECT_EQ(out.next_hop_port, 0u);
  EXPECT_EQ(UriHostPort("itsp.example", 0), "itsp.example");
  EXPECT_EQ(UriHostPort("2001:db8::1", 5060), "[2001:db8::1]:5060");
}

// Each INVITE we forward has one hop less than the caller's, so a loop
// through us runs out.
TEST(CallPlanTest, MaxForwardsOneLessThanTheCallers) {
  IncomingRequest in;
  in.max_forwards = 5;
  EXPECT_THAT(BuildInvite(in, Dublin(), "sdp").headers,
              Contains(Pair("Max-Forwards", "4")));
}

// A gateway that takes sips: URIs gets them in every URI we make, without
// ;transport=tls (the scheme says TLS).
TEST(CallPlanTest, SipsUrisForAGatewayThatTakesThem) {
  IncomingRequest in;
  v1::Candidate c = Dublin();
  c.mutable_next_hop()->set_port(5061);
  c.mutable_next_hop()->set_transport(v1::TRANSPORT_TLS);
  EXPECT_EQ(BuildInvite(in, c, "").request_uri,
            "sip:0871234567@127.0.0.21:5061;transport=tls");
  c.mutable_next_hop()->set_sips(true);
  OutgoingInvite out = BuildInvite(in, c, "");
  EXPECT_EQ(out.request_uri, "sips:0871234567@127.0.0.21:5061");
  EXPECT_EQ(out.to, "<sips:0871234567@127.0.0.21>");
  EXPECT_EQ(out.from, "<sips:015551234@127.0.0.1>");
  EXPECT_EQ(out.contact, "<sips:127.0.0.1:5160>");
  EXPECT_EQ(out.transport, v1::TRANSPORT_TLS);
  c.mutable_headers()->set_anonymous(true);
  c.mutable_headers()->set_forward_p_asserted_identity(true);
  in.from_user = "+35315551234";
  out = BuildInvite(in, c, "");
  EXPECT_EQ(out.from, "\"Anonymous\" <sips:anonymous@anonymous.invalid>");
  // The trusted peer is told the number routing made for it.
  EXPECT_THAT(out.headers, Contains(Pair("P-Asserted-Identity",
                                         "<sips:015551234@127.0.0.1>")));
}

TEST(CallPlanTest, HeadersOnlyWhenThePlanAllows) {
  IncomingRequest in;
  in.call_history = {{"History-Info", "<sip:1@x>;index=1"}};
  v1::Candidate c = Dublin();
  c.mutable_headers()->set_forward_p_asserted_identity(true);
  c.mutable_headers()->set_forward_call_history(true);
  OutgoingInvite out = BuildInvite(in, c, "");
  EXPECT_THAT(out.headers, Contains(Pair("P-Asserted-Identity",
                                         "<sip:015551234@127.0.0.1>")));
  EXPECT_THAT(out.headers, Contains(Pair("History-Info", "<sip:1@x>;index=1")));
  EXPECT_TRUE(out.body.empty());
}

// An emergency call's location (RFC 6442): a trunk with
// enable_pidf_lo_support gets the PIDF-LO beside the SDP we send and the
// Geolocation headers; any other trunk the SDP alone; other parts (ISUP)
// go to nobody.
TEST(CallPlanTest, LocationOnlyToATrunkThatTakesIt) {
  IncomingRequest in;
  in.content_type = "application/sdp";
  BodyPart pidf;
  pidf.content_type = "application/pidf+xml";
  pidf.media_type = "application/pidf+xml";
  pidf.content_id = "<loc@fe>";
  pidf.disposition = "render;handling=optional";
  pidf.body = "<presence/>";
  BodyPart isup;
  isup.content_type = "application/isup";
  isup.media_type = "application/isup";
  isup.body = "ISUP";
  in.body_parts = {pidf, isup};
  in.geolocation = {{"Geolocation", "<cid:loc@fe>"},
                    {"Geolocation-Routing", "yes"}};
  const std::string relay_sdp = "v=0\r\nc=IN IP4 127.0.0.1\r\n";

  v1::Candidate without = Dublin();
  OutgoingInvite out = BuildInvite(in, without, relay_sdp);
  EXPECT_EQ(out.content_type, "application/sdp");
  EXPECT_EQ(out.body, relay_sdp);
  for (const auto& [name, value] : out.headers) {
    EXPECT_NE(name.rfind("Geolocation", 0), 0u) << name;
  }

  v1::Candidate with = Dublin();
  with.mutable_headers()->set_forward_location(true);
  out = BuildInvite(in, with, relay_sdp);
  EXPECT_EQ(out.content_type, "multipart/mixed;boundary=trunkline-part");
  absl::StatusOr<SplitBody> sent = Split(out.content_type, out.body);
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_EQ(sent->sdp, relay_sdp);     // the SDP we made, not the caller's
  ASSERT_EQ(sent->others.size(), 1u);  // no ISUP
  EXPECT_EQ(sent->others[0].media_type, "application/pidf+xml");
  EXPECT_EQ(sent->others[0].content_id, "<loc@fe>");
  EXPECT_EQ(sent->others[0].body, "<presence/>");
  EXPECT_THAT(out.headers, Contains(Pair("Geolocation", "<cid:loc@fe>")));
  EXPECT_THAT(out.headers, Contains(Pair("Geolocation-Routing", "yes")));

  // A delayed offer: no SDP to carry it, so neither the part nor the
  // headers pointing at it.
  out = BuildInvite(in, with, "");
  EXPECT_TRUE(out.body.empty());
  for (const auto& [name, value] : out.headers) {
    EXPECT_NE(name.rfind("Geolocation", 0), 0u) << name;
  }
  // A location by reference (no part) travels in its header alone.
  IncomingRequest by_reference;
  by_reference.geolocation = {{"Geolocation", "<https://lis.example/l/1>"}};
  out = BuildInvite(by_reference, with, relay_sdp);
  EXPECT_EQ(out.content_type, "application/sdp");
  EXPECT_THAT(out.headers,
              Contains(Pair("Geolocation", "<https://lis.example/l/1>")));
}

TEST(CallPlanTest, AnonymousCallerGetsPrivacyId) {
  IncomingRequest in;
  in.from_user = "+35315551801";
  v1::Candidate c = Dublin();
  c.set_calling_number("anonymous");
  c.mutable_headers()->set_forward_p_asserted_identity(true);
  OutgoingInvite out = BuildInvite(in, c, "");
  EXPECT_EQ(out.from, "\"Anonymous\" <sip:anonymous@anonymous.invalid>");
  EXPECT_THAT(out.headers, Contains(Pair("Privacy", "id")));
  EXPECT_THAT(out.headers, Contains(Pair("P-Asserted-Identity",
                                         "<sip:+35315551801@127.0.0.1>")));
}

// The caller withholds its number (Privacy: id, its real one in P-Asserted-
// Identity): an untrusted trunk gets an anonymous From and no number at
// all; a trusted one also gets the translated number asserted.
TEST(CallPlanTest, CallerPrivacyIsKeptTowardsEveryTrunk) {
  IncomingRequest in;
  in.from_user = "anonymous";
  in.pai_user = "+35315551234";
  in.privacy = {"id"};
  v1::Candidate untrusted = Dublin();
  OutgoingInvite out = BuildInvite(in, untrusted, "");
  EXPECT_EQ(out.from, "\"Anonymous\" <sip:anonymous@anonymous.invalid>");
  EXPECT_THAT(out.headers, Contains(Pair("Privacy", "id")));
  for (const auto& [name, value] : out.headers) {
    EXPECT_EQ(value.find("5551234"), std::string::npos) << name;
  }
  v1::Candidate trusted = Dublin();
  trusted.mutable_headers()->set_forward_p_asserted_identity(true);
  out = BuildInvite(in, trusted, "");
  EXPECT_EQ(out.from, "\"Anonymous\" <sip:anonymous@anonymous.invalid>");
  EXPECT_THAT(out.headers, Contains(Pair("P-Asserted-Identity",
                                         "<sip:015551234@127.0.0.1>")));
  // An anonymous From alone says the same; Privacy: none does not.
  IncomingRequest from_only;
  from_only.from_user = "Anonymous";
  EXPECT_TRUE(CallerWithholdsIdentity(from_only));
  IncomingRequest none;
  none.from_user = "+35315551234";
  none.privacy = {"none"};
  EXPECT_FALSE(CallerWithholdsIdentity(none));
  EXPECT_EQ(BuildInvite(none, untrusted, "").from, "<sip:015551234@127.0.0.1>");
}

TEST(CallPlanTest, FailoverOnPlanCodesAndOwnTimeouts) {
  v1::FailoverPlan plan;
  plan.add_failover_response_codes(503);
  SipResponse r;
  r.code = 503;
  EXPECT_TRUE(IsFailover(r, plan));
  r.code = 486;
  EXPECT_FALSE(IsFailover(r, plan));
  r.code = 408;
  EXPECT_FALSE(IsFailover(r, plan));
  r.local = true;
  EXPECT_TRUE(IsFailover(r, plan));
}

TEST(CallPlanTest, TranslationKeyedOnQ850Cause) {
  v1::FailoverPlan plan;
  auto* rule = plan.add_response_code_translation_rules();
  rule->set_received_code(480);
  rule->set_translated_code(486);
  rule->set_received_q850_cause(17);
  SipResponse r;
  r.code = 480;
  EXPECT_EQ(TranslateCode(r, plan), 480);
  r.headers = {{"Reason", "Q.850;cause=17;text=\"busy\""}};
  EXPECT_EQ(TranslateCode(r, plan), 486);
}

TEST(CallPlanTest, ReasonEscapesQuotes) {
  EXPECT_EQ(SipReason(503, "a \"b\""), "SIP;cause=503;text=\"a \\\"b\\\"\"");
}

TEST(CallPlanTest, Ipv6HostsAreBracketed) {
  EXPECT_EQ(UriHost("2001:db8::1"), "[2001:db8::1]");
  EXPECT_EQ(UriHost("gw.example"), "gw.example");
}

}  // namespace
}  // namespace trunkline::signaling
