#include "services/signaling/b2bua.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/log.h"
#include "services/signaling/example_topology_for_test.h"
#include "services/signaling/fake_sip_stack.h"

namespace trunkline::signaling {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using testing::FakeClientLeg;
using testing::FakeServerLeg;
using testing::FakeSipStack;
using ::testing::HasSubstr;
using ::testing::Not;

class FakeRouting : public RoutingClient {
 public:
  void Route(const v1::RouteRequest& request, Done done) override {
    requests.push_back(request);
    pending.push_back(std::move(done));
  }
  std::vector<v1::RouteRequest> requests;
  std::vector<Done> pending;
};

class FakeMedia : public MediaController {
 public:
  // With `anchors`, the caller's offer comes back rewritten too.
  void Offer(const std::string&, const v1::Candidate&, const std::string& sdp,
             SdpDone done) override {
    if (!anchors) return done(absl::UnavailableError("no media instance"));
    log.push_back("offer from caller: " + sdp);
    if (fail_offers) return done(absl::UnavailableError("deadline exceeded"));
    if (hold_offers) {  // the RPC still on its way
      held.push_back([done, sdp] { done("relay:" + sdp); });
      return;
    }
    done("relay:" + sdp);
  }
  bool hold_offers = false;
  bool fail_offers = false;
  // With `anchors`, a new offer within the call comes back rewritten.
  void Update(const std::string&, MediaLeg from, const std::string& sdp,
              SdpDone done) override {
    if (!anchors) return done(absl::UnavailableError("none"));
    log.push_back(absl::StrCat("update from ",
                               from == MediaLeg::kCaller ? "caller" : "callee",
                               ": ", sdp));
    done("relay:" + sdp);
  }
  // A delayed offer's media: the callee's offer and the caller's answer
  // come back rewritten ("relay:" in front) when `anchors` is set.
  void OfferFromCallee(const std::string&, const v1::Candidate&,
                       const std::string& sdp, SdpDone done) override {
    log.push_back("offer from callee: " + sdp);
    if (!anchors) return done(absl::UnavailableError("none"));
    done("relay:" + sdp);
  }
  // With `hold_answers`, an answer's result waits in `held` (an RPC still
  // on its way).
  void Answer(const std::string&, MediaLeg from, const std::string& sdp,
              SdpDone done) override {
    log.push_back(absl::StrCat("answer from ",
                               from == MediaLeg::kCaller ? "caller" : "callee",
                               ": ", sdp));
    if (!anchors) return done(absl::UnavailableError("none"));
    if (hold_answers) {
      held.push_back([done, sdp] { done("relay:" + sdp); });
      return;
    }
    done("relay:" + sdp);
  }
  bool hold_answers = false;
  std::vector<std::function<void()>> held;
  // `figures`: what Delete hands back (unset: an error, as from a media
  // instance that did not answer).
  void Delete(const std::string&, QueryDone done) override {
    log.push_back("delete");
    if (!done) return;
    if (figures.has_value()) return done(*figures);
    done(absl::UnavailableError("Delete: not reachable"));
  }
  std::optional<v1::QueryResponse> figures;
  void Query(const std::string&, QueryDone done) override {
    done(absl::UnavailableError("none"));
  }
  std::string InstanceOf(const std::string&) const override { return ""; }
  bool anchors = false;
  std::vector<std::string> log;
};

v1::Candidate Gateway(const std::string& trunk, const std::string& host,
                      uint32_t fast_failover = 0) {
  v1::Candidate c;
  c.set_trunk(trunk);
  c.set_called_number("0871234567");
  c.set_calling_number("015551234");
  c.mutable_next_hop()->set_gateway("gw-" + trunk);
  c.mutable_next_hop()->set_host(host);
  c.mutable_next_hop()->set_port(5060);
  c.mutable_next_hop()->set_advertised_address("127.0.0.1");
  c.mutable_next_hop()->set_local_port(5160);
  c.mutable_headers()->set_forward_p_asserted_identity(true);
  c.mutable_failover()->add_failover_response_codes(503);
  c.mutable_failover()->set_fast_failover_seconds(fast_failover);
  auto* rule = c.mutable_failover()->add_response_code_translation_rules();
  rule->set_received_code(434);
  rule->set_translated_code(404);
  return c;
}

v1::Candidate WithSessionTimer(v1::Candidate c, uint32_t expires,
                               v1::SessionRefresher refresher) {
  c.mutable_session_timer()->set_enabled(true);
  c.mutable_session_timer()->set_session_expires_seconds(expires);
  c.mutable_session_timer()->set_refresher(refresher);
  return c;
}

SipResponse Resp(int code, std::string body = "") {
  SipResponse r;
  r.code = code;
  r.phrase = "x";
  r.body = std::move(body);
  if (!r.body.empty()) r.content_type = "application/sdp";
  return r;
}

class B2buaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The ITSP's digest password, from a file as in production.
    const v1::Topology t =
        testing::WithPasswordFile(testing::ExampleTopology());
    auto peers = PeerDirectory::Create(t, "");
    ASSERT_TRUE(peers.ok()) << peers.status();
    b2bua_.SetPeers(std::move(*peers));
  }

  // `request` within the dialog of the leg `observer` watches; what the
  // B2BUA answered it.
  template <typename Observer>
  std::shared_ptr<std::vector<SipResponse>> InDialog(
      Observer* observer, const DialogRequest& request) {
    auto txn = std::make_unique<testing::FakeServerTransaction>();
    auto answers = txn->responses;
    observer->OnDialogRequest(request, std::move(txn));
    return answers;
  }
  // An INVITE from the first UC front end to the pool listener.
  FakeServerLeg* Invite(const std::string& source = "127.0.0.11",
                        uint32_t port = 5060,
                        const std::string& body = "v=0\r\n",
                        const std::string& call_id = "abc@fe") {
    return Invite(InviteRequest(source, port, body, call_id));
  }
  // The INVITE Invite() sends, to be changed before sending it.
  IncomingRequest InviteRequest(const std::string& source = "127.0.0.11",
                                uint32_t port = 5060,
                                const std::string& body = "v=0\r\n",
                                const std::string& call_id = "abc@fe") {
    IncomingRequest r;
    r.method = "INVITE";
    r.request_uri = "sip:0871234567@127.0.0.1:5060";
    r.request_uri_user = "0871234567";
    r.from_uri = "sip:+35315551234@contoso.example";
    r.from_user = "+35315551234";
    r.call_id = call_id;
    if (!body.empty()) r.content_type = "application/sdp";
    r.body = body;
    r.supported = supported_;
    r.source.remote_address = source;
    r.source.local_port = port;
    return r;
  }
  FakeServerLeg* Invite(const IncomingRequest& r) {
    auto leg = std::make_unique<FakeServerLeg>();
    FakeServerLeg* raw = leg.get();
    leg->destroyed = &server_destroyed_;
    b2bua_.OnInvite(r, std::move(leg));
    return raw;
  }

  // An INVITE from the Dublin gateway (127.0.0.21, the trunk's port 5160)
  // that supports session timers and asks for `session_expires`.
  FakeServerLeg* InviteFromGatewayWithTimer(const std::string& session_expires,
                                            const std::string& callee,
                                            const std::string& call_id) {
    IncomingRequest r;
    r.method = "INVITE";
    r.request_uri = absl::StrCat("sip:", callee, "@127.0.0.1:5160");
    r.request_uri_user = callee;
    r.from_uri = "sip:0871234567@127.0.0.21";
    r.from_user = "0871234567";
    r.call_id = call_id;
    r.session_expires = session_expires;
    r.supported = {"timer"};
    r.source.remote_address = "127.0.0.21";
    r.source.local_port = 5160;
    r.content_type = "application/sdp";
    r.body = "v=0\r\n";
    auto leg = std::make_unique<FakeServerLeg>();
    FakeServerLeg* raw = leg.get();
    b2bua_.OnInvite(r, std::move(leg));
    return raw;
  }

  // A delayed offer (INVITE without SDP) from the front end, anchored
  // towards the Dublin gateway: the caller's leg and the callee's.
  std::pair<FakeServerLeg*, FakeClientLeg*> AnchoredDelayedOffer() {
    FakeServerLeg* leg = Invite("127.0.0.11", 5060, /*body=*/"");
    v1::Candidate c = Gateway("pstn-dub", "127.0.0.21");
    c.mutable_media()->set_anchor(true);
    Route({c});
    return {leg, stack_.sent.at(0)};
  }
  // The same from a caller that supports 100rel, whose callee offers in a
  // reliable 183: the caller has the relay's offer and owes the answer.
  std::pair<FakeServerLeg*, FakeClientLeg*>
  EarlyOfferAwaitingTheCallersAnswer() {
    supported_ = {"100rel"};
    media_.anchors = true;
    auto legs = AnchoredDelayedOffer();
    EarlyOffer(legs.second);
    return legs;
  }
  // A call answered by pstn-dub, whose 2xx makes it the refresher of a
  // 120 s session timer (RFC 4028).
  std::pair<FakeServerLeg*, FakeClientLeg*> AnsweredWithTheTrunkRefreshing() {
    FakeServerLeg* leg = Invite();
    Route({WithSessionTimer(Gateway("pstn-dub", "127.0.0.21"), 1800,
                            v1::SESSION_REFRESHER_NEGOTIATE)});
    FakeClientLeg* out = stack_.sent.at(0);
    SipResponse ok = Resp(200, "v=0 answer");
    ok.headers = {{"Session-Expires", "120;refresher=uas"}};
    out->observer->OnResponse(ok);
    leg->observer->OnAck("", "");
    return {leg, out};
  }
  // A delayed offer from a caller that supports 100rel, routed to two
  // anchored gateways: pstn-dub, then pstn-lon.
  FakeServerLeg* DelayedOfferToTwoAnchoredGateways() {
    supported_ = {"100rel"};
    media_.anchors = true;
    FakeServerLeg* leg = Invite("127.0.0.11", 5060, /*body=*/"");
    v1::Candidate dub = Gateway("pstn-dub", "127.0.0.21");
    dub.mutable_media()->set_anchor(true);
    v1::Candidate lon = Gateway("pstn-lon", "127.0.0.22");
    lon.mutable_media()->set_anchor(true);
    Route({dub, lon});
    return leg;
  }
  // An INVITE with SDP routed to an anchored gateway (pstn-dub), then one
  // whose plan bypasses media (pstn-lon).
  FakeServerLeg* OfferToAnchoredThenBypassGateway() {
    media_.anchors = true;
    FakeServerLeg* leg = Invite();
    v1::Candidate dub = Gateway("pstn-dub", "127.0.0.21");
    dub.mutable_media()->set_anchor(true);
    v1::Candidate lon = Gateway("pstn-lon", "127.0.0.22");
    Route({dub, lon});
    return leg;
  }
  // An INVITE with SDP from a caller that supports 100rel, routed to the
  // anchored Dublin gateway: the caller's leg and the callee's.
  std::pair<FakeServerLeg*, FakeClientLeg*>
  AnchoredOfferFromACallerWith100rel() {
    supported_ = {"100rel"};
    media_.anchors = true;
    FakeServerLeg* leg = Invite();
    v1::Candidate c = Gateway("pstn-dub", "127.0.0.21");
    c.mutable_media()->set_anchor(true);
    Route({c});
    return {leg, stack_.sent.at(0)};
  }
  // The callee's offer in a reliable 183.
  static void EarlyOffer(FakeClientLeg* out) {
    SipResponse early = Resp(183, "v=0 early offer");
    early.offer_awaits_prack = true;
    out->observer->OnResponse(early);
  }

  void Route(std::vector<v1::Candidate> candidates) {
    v1::RouteDecision d;
    for (auto& c : candidates) *d.add_candidates() = c;
    ASSERT_FALSE(routing_.pending.empty());
    auto done = std::move(routing_.pending.back());
    routing_.pending.pop_back();
    done(d);
  }

  // The call detail records (msg=cdr lines) written between
  // StartRecords() and Records(), logged at info meanwhile.
  void StartRecords() {
    level_before_records_ = LogEnabled(LogLevel::kDebug)  ? LogLevel::kDebug
                            : LogEnabled(LogLevel::kInfo) ? LogLevel::kInfo
                                                          : LogLevel::kWarning;
    SetLogLevel(LogLevel::kInfo);
    ::testing::internal::CaptureStderr();
  }
  std::vector<std::string> Records() {
    const std::string log = ::testing::internal::GetCapturedStderr();
    SetLogLevel(level_before_records_);
    std::vector<std::string> records;
    for (absl::string_view line : absl::StrSplit(log, '\n')) {
      if (absl::StrContains(line, "msg=cdr")) records.emplace_back(line);
    }
    return records;
  }

  prometheus::Registry registry_;
  SignalingMetrics metrics_{&registry_};
  FakeSipStack stack_;
  FakeRouting routing_;
  FakeMedia media_;
  B2bua b2bua_{&stack_, &routing_, &media_, &metrics_};
  bool server_destroyed_ = false;
  // The option tags of Supported in the caller's INVITEs.
  std::vector<std::string> supported_;
  LogLevel level_before_records_ = LogLevel::kWarning;
};

TEST_F(B2buaTest, UntrustedSourceGets403) {
  FakeServerLeg* leg = Invite("192.0.2.66");
  ASSERT_TRUE(server_destroyed_);  // answered and dropped at once
  (void)leg;
  EXPECT_TRUE(routing_.requests.empty());
}

TEST_F(B2buaTest, OptionsFromPeerAnswered200AndOthersRefused) {
  IncomingRequest r;
  r.method = "OPTIONS";
  r.request_uri = "sip:127.0.0.1:5160";
  r.source.remote_address = "127.0.0.21";
  r.source.local_port = 5160;
  SipResponse ok = b2bua_.OnRequest(r);
  EXPECT_EQ(ok.code, 200);
  EXPECT_THAT(ok.Header("Allow"), HasSubstr("INVITE"));
  r.source.remote_address = "10.9.9.9";
  EXPECT_EQ(b2bua_.OnRequest(r).code, 403);
}

TEST_F(B2buaTest, AsksRoutingWithTheCallersIdentityAndTrying) {
  FakeServerLeg* leg = Invite();
  ASSERT_EQ(leg->responses.size(), 1u);
  EXPECT_EQ(leg->responses[0].code, 100);
  ASSERT_EQ(routing_.requests.size(), 1u);
  const v1::RouteRequest& req = routing_.requests[0];
  EXPECT_EQ(req.origin().user_uri(), "sip:+35315551234@contoso.example");
  EXPECT_EQ(req.caller(), "+35315551234");
  EXPECT_EQ(req.callee(), "0871234567");
  EXPECT_EQ(req.pool(), "med-pool");
}

TEST_F(B2buaTest, CallCompletesAndByeEndsBothLegs) {
  FakeServerLeg* leg = Invite();
  Route({Gateway("pstn-dub", "127.0.0.21")});
  ASSERT_EQ(stack_.sent.size(), 1u);
  FakeClientLeg* out = stack_.sent[0];
  EXPECT_EQ(out->invite.request_uri, "sip:0871234567@127.0.0.21:5060");
  EXPECT_THAT(out->invite.from, HasSubstr("sip:015551234@127.0.0.1"));
  EXPECT_EQ(out->invite.body, "v=0\r\n");  // bypass: SDP passed through
  EXPECT_EQ(b2bua_.CallsOnTrunk("pstn-dub"), 1);
  EXPECT_EQ(b2bua_.published_active_calls(), 1u);
  out->observer->OnResponse(Resp(180));
  out->observer->OnResponse(Resp(200, "v=0 answer"));
  ASSERT_EQ(leg->responses.back().code, 200);
  EXPECT_EQ(leg->responses.back().body, "v=0 answer");
  leg->observer->OnAck("", "");
  EXPECT_EQ(out->acks, 1);
  out->observer->OnBye("");
  EXPECT_EQ(leg->byes.size(), 1u);
  EXPECT_EQ(b2bua_.published_active_calls(), 1u);  // ends on the next turn
  stack_.RunPosted();
  EXPECT_EQ(b2bua_.active_calls(), 0u);
  EXPECT_EQ(b2bua_.published_active_calls(), 0u);
  EXPECT_EQ(b2bua_.CallsOnTrunk("pstn-dub"), 0);
}

// Every call ends with its detail record (CDR) in the log: where it went,
// what came of it, who ended it and why.
TEST_F(B2buaTest, EachCallEndsWithItsRecord) {
  StartRecords();
  FakeServerLeg* leg = Invite();
  Route({Gateway("pstn-dub", "127.0.0.21"), Gateway("itsp", "127.0.0.41")});
  stack_.sent[0]->observer->OnResponse(Resp(503));
  ASSERT_EQ(stack_.sent.size(), 2u);
  stack_.sent[1]->observer->OnResponse(Resp(180));
  stack_.sent[1]->observer->OnResponse(Resp(200, "v=0 answer"));
  leg->observer->OnAck("", "");
  // The gateway's cause (RFC 3326) goes on to the caller, and into the
  // record.
  stack_.sent[1]->observer->OnBye(
      "Q.850;cause=16;text=\"Normal call clearing\"");
  ASSERT_EQ(leg->byes.size(), 1u);
  EXPECT_EQ(leg->byes[0], "Q.850;cause=16;text=\"Normal call clearing\"");
  stack_.RunPosted();

  FakeServerLeg* failed = Invite();
  Route({Gateway("pstn-dub", "127.0.0.21")});
  stack_.sent[2]->observer->OnResponse(Resp(486));
  EXPECT_EQ(failed->final_status(), 486);
  stack_.RunPosted();  // the call, and its legs, go
  const std::vector<std::string> records = Records();
  ASSERT_EQ(records.size(), 2u);
  for (const char* field :
       {"direction=outbound", "origin=uc", "callee=0871234567",
        "called=", "trunk=itsp", "gateway=gw-itsp", "status=200",
        "ended_by=callee", "attempts=2", "failovers=\"pstn-dub: response_503\"",
        "media=direct", "post_dial_delay_ms=", "duration_s=",
        "reason=\"Q.850;cause=16;text=\\\"Normal call clearing\\\"\""}) {
    EXPECT_THAT(records[0], HasSubstr(field));
  }
  for (const char* field :
       {"trunk=pstn-dub", "status=486", "ended_by=trunkline",
        "reason=\"SIP;cause=486;", "attempts=1"}) {
    EXPECT_THAT(records[1], HasSubstr(field));
  }
  EXPECT_THAT(records[1], Not(HasSubstr("duration_s=")));
}

// An anchored call's record carries what the relay measured on each leg
// (from Delete's answer); without that answer it is written all the same.
TEST_F(B2buaTest, AnchoredCallsRecordCarriesTheMediaFigures) {
  StartRecords();
  media_.anchors = true;
  v1::QueryResponse figures;
  v1::StreamStats* from_caller = figures.add_streams();
  from_caller->set_leg(v1::LEG_CALLER);
  from_caller->set_packets(2500);
  from_caller->set_mos(4.32);
  v1::StreamStats* from_callee = figures.add_streams();
  from_callee->set_leg(v1::LEG_CALLEE);
  from_callee->set_packets(2400);
  from_callee->set_packets_lost(100);
  from_callee->set_mos(3.9);
  media_.figures = figures;
  for (int call = 0; call < 2; ++call) {
    if (call == 1) media_.figures.reset();
    FakeServerLeg* leg = Invite();
    v1::Candidate c = Gateway("pstn-dub", "127.0.0.21");
    c.mutable_media()->set_anchor(true);
    Route({c});
    FakeClientLeg* out = stack_.sent.back();
    out->observer->OnResponse(Resp(200, "v=0 answer"));
    leg->observer->OnAck("", "");
    out->observer->OnBye("");
    stack_.RunPosted();
  }
  const std::vector<std::string> records = Records();
  ASSERT_EQ(records.size(), 2u);
  for (const char* field :
       {"media=anchored", "caller_packets=2500 ", "caller_mos=4.32",
        "callee_packets=2400 ", "callee_lost=100 ", "callee_loss_pct=4.00 ",
        "callee_mos=3.90"}) {
    EXPECT_THAT(records[0], HasSubstr(field));
  }
  EXPECT_THAT(records[1], HasSubstr("media=anchored"));
  EXPECT_THAT(records[1], HasSubstr("ended_by=callee"));
  EXPECT_THAT(records[1], Not(HasSubstr("caller_packets")));

  // The trunk's quality metrics: the audio pstn-dub sent (the callee's
  // leg), once (the second call had no figures); the UC side has none.
  const auto observed = [&](const std::string& name, const std::string& trunk,
                            double* sum) {
    for (const prometheus::MetricFamily& f : registry_.Collect()) {
      if (f.name != name) continue;
      for (const prometheus::ClientMetric& m : f.metric) {
        if (m.label.size() == 1 && m.label[0].value == trunk) {
          *sum = m.histogram.sample_sum;
          return m.histogram.sample_count;
        }
      }
    }
    return uint64_t{0};
  };
  double sum = 0;
  EXPECT_EQ(observed("trunkline_signaling_trunk_media_mos", "pstn-dub", &sum),
            1u);
  EXPECT_DOUBLE_EQ(sum, 3.9);
  EXPECT_EQ(
      observed("trunkline_signaling_trunk_media_loss_ratio", "pstn-dub", &sum),
      1u);
  EXPECT_DOUBLE_EQ(sum, 0.04);
  EXPECT_EQ(observed("trunkline_signaling_trunk_media_mos", "uc-side", &sum),
            0u);
}

// Over TLS the INVITE names what the gateway's certificate must carry (its
// FQDN in the topology) beside the address it goes to.
TEST_F(B2buaTest, TlsCandidateCarriesTheNameItsCertificateMustHave) {
  Invite();
  v1::Candidate tls = Gateway("dub", "127.0.0.21");
  tls.mutable_next_hop()->set_transport(v1::TRANSPORT_TLS);
  v1::Candidate udp = Gateway("lon", "127.0.0.22");
  udp.mutable_failover()->add_failover_response_codes(500);
  Route({tls, udp});
  ASSERT_EQ(stack_.sent.size(), 1u);
  EXPECT_EQ(stack_.sent[0]->invite.next_hop_host, "127.0.0.21");
  EXPECT_EQ(stack_.sent[0]->invite.tls_name, "gw-dub.contoso.example");
  stack_.sent[0]->observer->OnResponse(Resp(503));
  ASSERT_EQ(stack_.sent.size(), 2u);
  EXPECT_EQ(stack_.sent[1]->invite.tls_name, "") << "not over TLS";
}

TEST_F(B2buaTest, DelayedOfferIsAnchoredFromTheCalleesOffer) {
  media_.anchors = true;
  FakeServerLeg* leg = Invite("127.0.0.11", 5060, /*body=*/"");
  v1::Candidate c = Gateway("pstn-dub", "127.0.0.21");
  c.mutable_media()->set_anchor(true);
  Route({c});
  ASSERT_EQ(stack_.sent.size(), 1u);
  FakeClientLeg* out = stack_.sent[0];
  EXPECT_EQ(out->invite.body, "") << "no offer to make: the INVITE has none";
  // Early SDP cannot be anchored yet: the caller hears ringing only.
  out->observer->OnResponse(Resp(183, "v=0 early"));
  ASSERT_EQ(leg->responses.back().code, 183);
  EXPECT_EQ(leg->responses.back().body, "");
  out->observer->OnResponse(Resp(200, "v=0 callee offer"));
  ASSERT_EQ(leg->responses.back().code, 200);
  EXPECT_EQ(leg->responses.back().body, "relay:v=0 callee offer");
  EXPECT_EQ(out->acks, 0) << "the ACK waits for the caller's answer";
  leg->observer->OnAck("application/sdp", "v=0 caller answer");
  EXPECT_EQ(out->acks, 1);
  EXPECT_EQ(out->ack_body, "relay:v=0 caller answer");
  EXPECT_THAT(media_.log,
              ::testing::ElementsAre("offer from callee: v=0 callee offer",
                                     "answer from caller: v=0 caller answer"));
  out->observer->OnBye("");
  stack_.RunPosted();
  EXPECT_EQ(media_.log.back(), "delete");
}

// RFC 3262: the callee's offer in a reliable 18x is answered in its PRACK,
// with the relay's answer made from the caller's answer in the caller's
// PRACK of our reliable 18x; the 2xx and the ACKs then carry no SDP.
TEST_F(B2buaTest, DelayedOfferMadeInAReliable18xIsAnsweredInThePrack) {
  auto [leg, out] = EarlyOfferAwaitingTheCallersAnswer();
  ASSERT_EQ(leg->responses.back().code, 183);
  EXPECT_EQ(leg->responses.back().body, "relay:v=0 early offer");
  EXPECT_TRUE(out->pracks.empty()) << "the PRACK waits for the answer";
  leg->observer->OnPrack("application/sdp", "v=0 caller answer", true,
                         /*of_sdp=*/true);
  EXPECT_THAT(out->pracks, ElementsAre("relay:v=0 caller answer"));
  // A later 18x and the 2xx repeat the callee's SDP: not a new offer.
  out->observer->OnResponse(Resp(180, "v=0 early offer"));
  EXPECT_EQ(leg->responses.back().body, "");
  out->observer->OnResponse(Resp(200, "v=0 early offer"));
  ASSERT_EQ(leg->responses.back().code, 200);
  EXPECT_EQ(leg->responses.back().body, "");
  leg->observer->OnAck("", "");
  EXPECT_EQ(out->acks, 1);
  EXPECT_EQ(out->ack_body, "");
  EXPECT_THAT(media_.log, ElementsAre("offer from callee: v=0 early offer",
                                      "answer from caller: v=0 caller answer"));
  // A PRACK that comes again changes nothing.
  leg->observer->OnPrack("application/sdp", "v=0 caller answer", true,
                         /*of_sdp=*/true);
  EXPECT_EQ(out->pracks.size(), 1u);
}

// The early offer/answer belongs to its candidate, but the caller's
// offer/answer is over once it answered in its PRACK: after a failover the
// next candidate is offered what the caller answered (through the relay),
// and the caller gets no second offer.
TEST_F(B2buaTest, FailoverAfterAnEarlyOfferOffersTheCallersAnswer) {
  FakeServerLeg* leg = DelayedOfferToTwoAnchoredGateways();
  EarlyOffer(stack_.sent.at(0));
  leg->observer->OnPrack("application/sdp", "v=0 caller answer", true,
                         /*of_sdp=*/true);
  stack_.sent[0]->observer->OnResponse(Resp(503));
  ASSERT_EQ(stack_.sent.size(), 2u) << "failed over";
  FakeClientLeg* next = stack_.sent[1];
  EXPECT_EQ(next->invite.body, "relay:v=0 caller answer");
  next->observer->OnResponse(Resp(183, "v=0 lon answer"));
  ASSERT_EQ(leg->responses.back().code, 183);
  EXPECT_EQ(leg->responses.back().body, "") << "no second offer or answer";
  next->observer->OnResponse(Resp(200, "v=0 lon answer"));
  ASSERT_EQ(leg->responses.back().code, 200);
  EXPECT_EQ(leg->responses.back().body, "");
  leg->observer->OnAck("", "");
  EXPECT_EQ(next->acks, 1);
  EXPECT_EQ(next->ack_body, "") << "the callee answered in its 2xx";
  EXPECT_THAT(media_.log, ElementsAre("offer from callee: v=0 early offer",
                                      "answer from caller: v=0 caller answer",
                                      "offer from caller: v=0 caller answer",
                                      "answer from callee: v=0 lon answer",
                                      "answer from callee: v=0 lon answer"));
}

// A failover before the caller's PRACK waits for it (no 2xx may reach the
// caller before it, RFC 3262 3): the next candidate is offered what the
// caller answers.
TEST_F(B2buaTest, FailoverBeforeTheCallersPrackWaitsForItsAnswer) {
  FakeServerLeg* leg = DelayedOfferToTwoAnchoredGateways();
  EarlyOffer(stack_.sent.at(0));
  stack_.sent[0]->observer->OnResponse(Resp(503));
  EXPECT_EQ(stack_.sent.size(), 1u) << "the next candidate waits";
  leg->observer->OnPrack("application/sdp", "v=0 caller answer", true,
                         /*of_sdp=*/true);
  ASSERT_EQ(stack_.sent.size(), 2u);
  EXPECT_EQ(stack_.sent[1]->invite.body, "relay:v=0 caller answer");
  EXPECT_TRUE(stack_.sent[0]->pracks.empty()) << "the failed callee gets none";
  stack_.sent[1]->observer->OnResponse(Resp(200, "v=0 lon answer"));
  ASSERT_EQ(leg->responses.back().code, 200);
  EXPECT_EQ(leg->responses.back().body, "");
}

// A caller that never PRACKs: Sofia would hold any 2xx back until it does
// (RFC 3262 3), so after a few seconds the call fails with the candidate's
// failure instead of trying a next candidate that could not answer it.
TEST_F(B2buaTest, FailoverWithoutTheCallersPrackFailsTheCall) {
  FakeServerLeg* leg = DelayedOfferToTwoAnchoredGateways();
  EarlyOffer(stack_.sent.at(0));
  stack_.sent[0]->observer->OnResponse(Resp(503));
  stack_.Advance(absl::Seconds(3));
  EXPECT_EQ(stack_.sent.size(), 1u);
  EXPECT_EQ(leg->responses.back().code, 183);
  stack_.Advance(absl::Seconds(2));
  EXPECT_EQ(stack_.sent.size(), 1u) << "no next candidate";
  EXPECT_EQ(leg->responses.back().code, 503);
}

// The PRACK of another reliable response (a 180 without SDP) while our
// 18x's offer waits for its answer: the answer is still to come.
TEST_F(B2buaTest, PrackOfAnotherResponseDoesNotAnswerTheEarlyOffer) {
  auto [leg, out] = EarlyOfferAwaitingTheCallersAnswer();
  leg->observer->OnPrack("", "", /*of_our_offer=*/false, /*of_sdp=*/false);
  EXPECT_TRUE(out->pracks.empty());
  EXPECT_EQ(out->cancels, 0);
  leg->observer->OnPrack("application/sdp", "v=0 caller answer", true,
                         /*of_sdp=*/true);
  EXPECT_THAT(out->pracks, ElementsAre("relay:v=0 caller answer"));
}

// The PRACK of the 18x with our offer must carry the answer (RFC 3262 5):
// without it no media can flow, so the callee is cancelled and the caller
// gets 488 with a Reason saying why, at once rather than when the callee
// gives up waiting for its PRACK.
TEST_F(B2buaTest, PrackOfTheEarlyOfferWithoutAnAnswerFailsTheCall) {
  auto [leg, out] = EarlyOfferAwaitingTheCallersAnswer();
  ASSERT_EQ(leg->responses.back().code, 183);
  EXPECT_TRUE(leg->responses.back().our_offer)
      << "the stack must know which PRACK answers it";
  leg->observer->OnPrack("", "", /*of_our_offer=*/true, /*of_sdp=*/true);
  EXPECT_EQ(out->cancels, 0) << "not before the PRACK is answered";
  EXPECT_EQ(leg->responses.back().code, 183);
  stack_.RunFirstPosted();  // after the stack's 200 to the PRACK
  EXPECT_EQ(out->cancels, 1);
  EXPECT_TRUE(out->pracks.empty());
  ASSERT_FALSE(leg->responses.empty());
  EXPECT_EQ(leg->responses.back().code, 488);
  EXPECT_THAT(leg->responses.back().Header("Reason"),
              HasSubstr("carried no answer"));
  EXPECT_THAT(media_.log, Not(Contains(HasSubstr("answer from caller"))));
}

// A callee that answers before we PRACK its early offer (against RFC 3262
// 3): our 200 to the caller went (after its PRACK), so a PRACK without the
// answer ends both legs, with the Reason.
TEST_F(B2buaTest, PrackWithoutAnAnswerAfterTheCalleeAnsweredEndsBothLegs) {
  auto [leg, out] = EarlyOfferAwaitingTheCallersAnswer();
  out->observer->OnResponse(Resp(200));
  ASSERT_EQ(leg->responses.back().code, 200);
  leg->observer->OnPrack("", "", /*of_our_offer=*/true, /*of_sdp=*/true);
  stack_.RunFirstPosted();
  EXPECT_EQ(out->byes, 1);
  ASSERT_EQ(leg->byes.size(), 1u);
  EXPECT_THAT(leg->byes[0], HasSubstr("carried no answer"));
}

// The candidate already failed and the call waits for the caller's answer
// to offer the next one: a PRACK without it fails the call with that
// candidate's failure.
TEST_F(B2buaTest, PrackWithoutAnAnswerWhileTheFailoverWaitsFailsTheCall) {
  FakeServerLeg* leg = DelayedOfferToTwoAnchoredGateways();
  std::vector<SipResponse> got;  // the leg goes with the call
  leg->sink = &got;
  EarlyOffer(stack_.sent.at(0));
  stack_.sent[0]->observer->OnResponse(Resp(503));
  EXPECT_EQ(stack_.sent.size(), 1u) << "the failover waits for the answer";
  leg->observer->OnPrack("", "", /*of_our_offer=*/true, /*of_sdp=*/true);
  stack_.RunPosted();
  EXPECT_EQ(stack_.sent.size(), 1u) << "no next candidate";
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.back().code, 503);
  EXPECT_EQ(b2bua_.active_calls(), 0u);
}

// The candidate fails while the caller's answer is on its way through
// media: the failover waits for it, and the next candidate is offered it.
TEST_F(B2buaTest, FailoverWhileTheCallersAnswerIsWithMedia) {
  FakeServerLeg* leg = DelayedOfferToTwoAnchoredGateways();
  EarlyOffer(stack_.sent.at(0));
  media_.hold_answers = true;
  leg->observer->OnPrack("application/sdp", "v=0 caller answer", true,
                         /*of_sdp=*/true);
  stack_.sent[0]->observer->OnResponse(Resp(503));
  EXPECT_EQ(stack_.sent.size(), 1u);
  ASSERT_EQ(media_.held.size(), 1u);
  media_.hold_answers = false;
  media_.held[0]();
  ASSERT_EQ(stack_.sent.size(), 2u);
  EXPECT_EQ(stack_.sent[1]->invite.body, "relay:v=0 caller answer");
  EXPECT_TRUE(stack_.sent[0]->pracks.empty());
}

// Once the caller has the relay's SDP (here its answer in a 183), a later
// candidate whose plan bypasses media is anchored all the same: the caller
// keeps sending to the relay.
TEST_F(B2buaTest, BypassCandidateAfterRelaySdpReachedTheCallerIsAnchored) {
  FakeServerLeg* leg = OfferToAnchoredThenBypassGateway();
  stack_.sent.at(0)->observer->OnResponse(Resp(183, "v=0 dub answer"));
  ASSERT_EQ(leg->responses.back().code, 183);
  EXPECT_EQ(leg->responses.back().body, "relay:v=0 dub answer");
  stack_.sent[0]->observer->OnResponse(Resp(503));
  ASSERT_EQ(stack_.sent.size(), 2u);
  EXPECT_EQ(stack_.sent[1]->invite.body, "relay:v=0\r\n");
  stack_.sent[1]->observer->OnResponse(Resp(200, "v=0 lon answer"));
  EXPECT_EQ(leg->responses.back().body, "relay:v=0 lon answer");
  EXPECT_THAT(media_.log, ::testing::Not(::testing::Contains("delete")));
}

// A caller that ends the call while the failover waits: nothing more goes.
TEST_F(B2buaTest, CancelWhileTheFailoverWaitsForThePrack) {
  FakeServerLeg* leg = DelayedOfferToTwoAnchoredGateways();
  EarlyOffer(stack_.sent.at(0));
  stack_.sent[0]->observer->OnResponse(Resp(503));
  leg->observer->OnCancel();
  stack_.Advance(absl::Seconds(5));
  EXPECT_EQ(stack_.sent.size(), 1u);
}

// From an anchored candidate to one that bypasses media: the relay's
// session is deleted and the next candidate's answer reaches the caller as
// it is.
TEST_F(B2buaTest, FailoverFromAnchoredToBypassDropsTheRelay) {
  FakeServerLeg* leg = OfferToAnchoredThenBypassGateway();
  ASSERT_EQ(stack_.sent.size(), 1u);
  EXPECT_EQ(stack_.sent[0]->invite.body, "relay:v=0\r\n");
  stack_.sent[0]->observer->OnResponse(Resp(503));
  ASSERT_EQ(stack_.sent.size(), 2u);
  EXPECT_EQ(stack_.sent[1]->invite.body, "v=0\r\n") << "the caller's own";
  stack_.sent[1]->observer->OnResponse(Resp(200, "v=0 lon answer"));
  ASSERT_EQ(leg->responses.back().code, 200);
  EXPECT_EQ(leg->responses.back().body, "v=0 lon answer");
  EXPECT_THAT(media_.log, ElementsAre("offer from caller: v=0\r\n", "delete"));
}

TEST_F(B2buaTest, EarlyOfferThatMediaRefusesIsPrackedWithoutAnAnswer) {
  supported_ = {"100rel"};
  auto [leg, out] = AnchoredDelayedOffer();
  EarlyOffer(out);
  // The caller hears ringing; the callee's PRACK goes, and the 2xx's SDP
  // decides (here media refuses that too: 500 with the reason).
  ASSERT_EQ(leg->responses.back().code, 183);
  EXPECT_EQ(leg->responses.back().body, "");
  EXPECT_THAT(out->pracks, ElementsAre(""));
  out->observer->OnResponse(Resp(200, "v=0 callee offer"));
  ASSERT_EQ(leg->responses.back().code, 500);
}

TEST_F(B2buaTest, EarlyOfferToACallerWithout100relIsPrackedWithoutAnswer) {
  media_.anchors = true;
  auto [leg, out] = AnchoredDelayedOffer();
  for (const auto& [name, value] : out->invite.headers) {
    EXPECT_FALSE(name == "Supported" && value == "100rel");
  }
  EarlyOffer(out);
  EXPECT_THAT(out->pracks, ElementsAre(""));
  EXPECT_EQ(leg->responses.back().body, "");
  out->observer->OnResponse(Resp(200, "v=0 callee offer"));
  EXPECT_EQ(leg->responses.back().body, "relay:v=0 callee offer");
}

TEST_F(B2buaTest, CallerAnswerThatMediaRefusesCancelsTheCalleeAndFails500) {
  auto [leg, out] = EarlyOfferAwaitingTheCallersAnswer();
  media_.anchors = false;
  leg->observer->OnPrack("application/sdp", "v=0 caller answer", true,
                         /*of_sdp=*/true);
  EXPECT_THAT(out->pracks, ElementsAre(""));
  EXPECT_EQ(out->cancels, 1);
  ASSERT_EQ(leg->responses.back().code, 500);
  EXPECT_THAT(leg->responses.back().Header("Reason"), HasSubstr("media"));
}

TEST_F(B2buaTest, DelayedOfferThatMediaRefusesEndsTheCalleeAndFails500) {
  FakeServerLeg* leg = Invite("127.0.0.11", 5060, /*body=*/"");
  v1::Candidate c = Gateway("pstn-dub", "127.0.0.21");
  c.mutable_media()->set_anchor(true);
  Route({c});
  FakeClientLeg* out = stack_.sent[0];
  out->observer->OnResponse(Resp(200, "v=0 callee offer"));
  EXPECT_EQ(out->acks, 1);
  EXPECT_EQ(out->byes, 1);
  ASSERT_EQ(leg->responses.back().code, 500);
  EXPECT_THAT(leg->responses.back().Header("Reason"), HasSubstr("media"));
}

TEST_F(B2buaTest, RequestsWithinTheCallCrossOnceAnswered) {
  FakeServerLeg* leg = Invite();
  v1::Candidate c = Gateway("pstn-dub", "127.0.0.21");
  c.set_refer_mode(v1::REFER_MODE_REJECT);
  Route({c});
  FakeClientLeg* out = stack_.sent[0];

  // Before any provisional there is no early dialog: INFO may come later.
  auto info_answers =
      InDialog(leg->observer, DialogRequest{"INFO", "", "", {}});
  ASSERT_EQ(info_answers->size(), 1u);
  EXPECT_EQ((*info_answers)[0].code, 500);
  EXPECT_EQ((*info_answers)[0].Header("Retry-After"), "1");

  out->observer->OnResponse(Resp(180));
  // Early: a new offer would cross the INVITE's own.
  auto early_answers =
      InDialog(leg->observer,
               DialogRequest{"UPDATE", "application/sdp", "v=0 early", {}});
  ASSERT_EQ(early_answers->size(), 1u);
  EXPECT_EQ((*early_answers)[0].code, 491);
  EXPECT_TRUE(out->dialog.requests.empty());
  // An INFO from the callee during early media (DTMF) reaches the caller's
  // early dialog, and its answer comes back.
  auto early_info_answers =
      InDialog(out->observer,
               DialogRequest{"INFO", "application/dtmf-relay", "Signal=5", {}});
  ASSERT_EQ(leg->dialog.requests.size(), 1u);
  EXPECT_EQ(leg->dialog.requests[0]->request.body, "Signal=5");
  leg->dialog.requests[0]->Answer(200);
  ASSERT_EQ(early_info_answers->size(), 1u);
  EXPECT_EQ((*early_info_answers)[0].code, 200);
  // An UPDATE without SDP from the caller reaches the callee's early dialog.
  auto bare_answers =
      InDialog(leg->observer, DialogRequest{"UPDATE", "", "", {}});
  ASSERT_EQ(out->dialog.requests.size(), 1u);
  EXPECT_EQ(out->dialog.requests[0]->request.method, "UPDATE");
  out->dialog.requests[0]->Answer(200);
  ASSERT_EQ(bare_answers->size(), 1u);
  EXPECT_EQ((*bare_answers)[0].code, 200);

  out->observer->OnResponse(Resp(200, "v=0 answer"));
  leg->observer->OnAck("", "");
  ASSERT_EQ(out->acks, 1);

  // Hold from the caller: the re-INVITE reaches the callee's dialog, its
  // 2xx comes back, and the caller's ACK goes on (not the first ACK again).
  auto hold_answers =
      InDialog(leg->observer,
               DialogRequest{"INVITE", "application/sdp", "v=0 sendonly", {}});
  ASSERT_EQ(out->dialog.requests.size(), 2u);
  EXPECT_EQ(out->dialog.requests[1]->request.body, "v=0 sendonly");
  out->dialog.requests[1]->Answer(200, "v=0 recvonly");
  ASSERT_EQ(hold_answers->size(), 1u);
  EXPECT_EQ((*hold_answers)[0].body, "v=0 recvonly");
  leg->observer->OnAck("", "");
  EXPECT_EQ(out->acks, 1) << "the first ACK is not sent again";
  EXPECT_EQ(out->dialog.requests[1]->acks.size(), 1u);

  // A REFER from the gateway on a trunk that rejects transfers.
  auto refer_answers =
      InDialog(out->observer,
               DialogRequest{"REFER", "", "", {{"Refer-To", "<sip:1@x>"}}});
  ASSERT_EQ(refer_answers->size(), 1u);
  EXPECT_EQ((*refer_answers)[0].code, 603);
  EXPECT_EQ(leg->dialog.requests.size(), 1u) << "only the early INFO";
}

// Media bypassed, a delayed offer: the callee's offer in its reliable 183
// reaches the caller as it is, as an offer whose answer its PRACK carries,
// and that answer goes on in the PRACK the stack held back for it.
TEST_F(B2buaTest, BypassedDelayedOfferMadeInAReliable18xIsAnsweredInThePrack) {
  supported_ = {"100rel"};
  FakeServerLeg* leg = Invite("127.0.0.11", 5060, /*body=*/"");
  Route({Gateway("pstn-dub", "127.0.0.21")});  // media bypassed
  FakeClientLeg* out = stack_.sent.at(0);
  EXPECT_EQ(out->invite.body, "");
  EarlyOffer(out);
  ASSERT_EQ(leg->responses.back().code, 183);
  EXPECT_EQ(leg->responses.back().body, "v=0 early offer");
  EXPECT_TRUE(leg->responses.back().our_offer)
      << "the caller's PRACK must carry the answer";
  leg->observer->OnPrack("application/sdp", "v=0 caller answer", true,
                         /*of_sdp=*/true);
  EXPECT_THAT(out->pracks, ElementsAre("v=0 caller answer"));
  out->observer->OnResponse(Resp(200));
  EXPECT_EQ(leg->responses.back().code, 200);
  EXPECT_EQ(leg->responses.back().body, "");
  EXPECT_TRUE(media_.log.empty());
}

// The same when that callee then fails before the caller's PRACK: the
// failover waits for it, and the next (bypassed) candidate is offered the
// caller's answer as it is.
TEST_F(B2buaTest, BypassedFailoverBeforeTheCallersPrackOffersItsAnswer) {
  supported_ = {"100rel"};
  FakeServerLeg* leg = Invite("127.0.0.11", 5060, /*body=*/"");
  v1::Candidate lon = Gateway("pstn-lon", "127.0.0.22");
  Route({Gateway("pstn-dub", "127.0.0.21"), lon});
  EarlyOffer(stack_.sent.at(0));
  stack_.sent[0]->observer->OnResponse(Resp(503));
  ASSERT_EQ(stack_.sent.size(), 1u) << "waits for the caller's answer";
  leg->observer->OnPrack("application/sdp", "v=0 caller answer", true,
                         /*of_sdp=*/true);
  ASSERT_EQ(stack_.sent.size(), 2u) << "failed over";
  EXPECT_EQ(stack_.sent[1]->invite.body, "v=0 caller answer");
  EXPECT_TRUE(media_.log.empty());
}

// Media bypassed, the caller's early offer/answer made with the first
// gateway's SDP (a reliable 183, PRACKed), then a failover: the answering
// gateway's SDP cannot go in the 200 (RFC 6337 3.1.1), so once the caller
// ACKs it gets a re-INVITE offering that SDP, and its media goes there.
TEST_F(B2buaTest, BypassedFailoverAfterEarlyMediaReoffersToTheCaller) {
  supported_ = {"100rel"};
  FakeServerLeg* leg = Invite();
  Route({Gateway("pstn-dub", "127.0.0.21"), Gateway("pstn-lon", "127.0.0.22")});
  FakeClientLeg* dub = stack_.sent.at(0);
  dub->observer->OnResponse(Resp(183, "v=0 dub"));
  ASSERT_EQ(leg->responses.back().body, "v=0 dub");
  leg->observer->OnPrack("", "", /*of_our_offer=*/false, /*of_sdp=*/true);
  dub->observer->OnResponse(Resp(503));
  ASSERT_EQ(stack_.sent.size(), 2u);
  FakeClientLeg* lon = stack_.sent[1];
  EXPECT_EQ(lon->invite.body, "v=0\r\n") << "the caller's own offer";
  lon->observer->OnResponse(Resp(183, "v=0 lon"));
  EXPECT_EQ(leg->responses.back().code, 183);
  EXPECT_EQ(leg->responses.back().body, "") << "not a second answer";
  lon->observer->OnResponse(Resp(200, "v=0 lon"));
  EXPECT_EQ(leg->responses.back().code, 200);
  EXPECT_EQ(leg->responses.back().body, "");
  EXPECT_TRUE(leg->dialog.requests.empty()) << "not before the ACK";
  leg->observer->OnAck("", "");
  EXPECT_EQ(lon->acks, 1);
  ASSERT_EQ(leg->dialog.requests.size(), 1u);
  EXPECT_EQ(leg->dialog.requests[0]->request.method, "INVITE");
  EXPECT_EQ(leg->dialog.requests[0]->request.body, "v=0 lon");
  leg->dialog.requests[0]->Answer(200, "v=0 caller again");
  EXPECT_EQ(leg->dialog.requests[0]->acks.size(), 1u);
  EXPECT_TRUE(lon->dialog.requests.empty())
      << "the gateway's session, made from the caller's SDP, is unchanged";
  EXPECT_TRUE(media_.log.empty());
  // The call goes on as usual: the gateway's re-INVITE reaches the caller.
  InDialog(lon->observer,
           DialogRequest{"INVITE", "application/sdp", "v=0 lon hold", {}});
  ASSERT_EQ(leg->dialog.requests.size(), 2u);
  EXPECT_EQ(leg->dialog.requests[1]->request.body, "v=0 lon hold");
}

// A re-INVITE whose multipart body cannot be taken apart: 400 saying why,
// nothing of it relayed.
TEST_F(B2buaTest, InDialogRequestWithABrokenBodyGets400) {
  FakeServerLeg* leg = Invite();
  Route({Gateway("pstn-dub", "127.0.0.21")});
  FakeClientLeg* out = stack_.sent.at(0);
  out->observer->OnResponse(Resp(200, "v=0 gw"));
  leg->observer->OnAck("", "");
  DialogRequest reinvite{"INVITE", "", "", {}};
  reinvite.body_error = "multipart body: no closing delimiter \"--b--\"";
  auto answers = InDialog(leg->observer, reinvite);
  ASSERT_EQ(answers->size(), 1u);
  EXPECT_EQ((*answers)[0].code, 400);
  EXPECT_THAT((*answers)[0].Header("Reason"),
              HasSubstr("no closing delimiter"));
  EXPECT_TRUE(out->dialog.requests.empty());
}

// An emergency call with the caller's location to a trunk configured to
// take it whose gateway refuses the multipart body (415): sent to the same
// gateway again at once, SDP alone, before any other candidate.
TEST_F(B2buaTest, LocationRefusedWith415IsSentAgainWithout) {
  IncomingRequest r = InviteRequest();
  BodyPart pidf;
  pidf.content_type = pidf.media_type = "application/pidf+xml";
  pidf.body = "<presence/>";
  r.body_parts.push_back(pidf);
  r.geolocation = {{"Geolocation", "<cid:loc@fe>"}};
  FakeServerLeg* leg = Invite(r);
  v1::Candidate dub = Gateway("pstn-dub", "127.0.0.21");
  dub.mutable_headers()->set_forward_location(true);
  Route({dub, Gateway("itsp", "127.0.0.41")});
  ASSERT_EQ(stack_.sent.size(), 1u);
  EXPECT_THAT(stack_.sent[0]->invite.content_type, HasSubstr("multipart/"));
  SipResponse refused = Resp(415);
  refused.headers = {{"Accept", "application/sdp"}};
  stack_.sent[0]->observer->OnResponse(refused);
  ASSERT_EQ(stack_.sent.size(), 2u);
  const OutgoingInvite& again = stack_.sent[1]->invite;
  EXPECT_EQ(again.next_hop_host, "127.0.0.21") << "the same gateway";
  EXPECT_EQ(again.content_type, "application/sdp");
  EXPECT_EQ(again.body, "v=0\r\n");
  for (const auto& [name, value] : again.headers) {
    EXPECT_NE(name, "Geolocation");
  }
  // Refused again (SDP alone): a failure of the candidate as usual, here
  // final (415 is not one of its failover codes), not a third try.
  stack_.sent[1]->observer->OnResponse(Resp(415));
  EXPECT_EQ(stack_.sent.size(), 2u);
  ASSERT_FALSE(leg->responses.empty());
  EXPECT_EQ(leg->responses.back().code, 415);
}

// A caller that refuses that re-INVITE would keep sending to the gateway
// that failed: the call is ended on both legs, with a Reason saying so.
TEST_F(B2buaTest, BypassedFailoverRefusedByTheCallerEndsTheCall) {
  supported_ = {"100rel"};
  FakeServerLeg* leg = Invite();
  Route({Gateway("pstn-dub", "127.0.0.21"), Gateway("pstn-lon", "127.0.0.22")});
  stack_.sent.at(0)->observer->OnResponse(Resp(183, "v=0 dub"));
  leg->observer->OnPrack("", "", /*of_our_offer=*/false, /*of_sdp=*/true);
  stack_.sent[0]->observer->OnResponse(Resp(503));
  FakeClientLeg* lon = stack_.sent.at(1);
  lon->observer->OnResponse(Resp(200, "v=0 lon"));
  leg->observer->OnAck("", "");
  ASSERT_EQ(leg->dialog.requests.size(), 1u);
  EXPECT_TRUE(leg->byes.empty());
  leg->dialog.requests[0]->Answer(488, "");
  EXPECT_EQ(lon->byes, 1);
  ASSERT_EQ(leg->byes.size(), 1u);
  EXPECT_THAT(leg->byes[0], HasSubstr("cause=488"));
  EXPECT_THAT(leg->byes[0], HasSubstr("refused the re-INVITE"));
  stack_.RunPosted();
  EXPECT_EQ(b2bua_.active_calls(), 0u);
}

// The caller keeps the o= line of the session it had (RFC 3264 8): the
// re-INVITE carries the answering gateway's SDP as a new version of the
// first gateway's origin, and so does that gateway's own re-INVITE later.
TEST_F(B2buaTest, BypassedFailoverKeepsTheCallersOrigin) {
  supported_ = {"100rel"};
  FakeServerLeg* leg = Invite();
  Route({Gateway("pstn-dub", "127.0.0.21"), Gateway("pstn-lon", "127.0.0.22")});
  stack_.sent.at(0)->observer->OnResponse(Resp(
      183, "v=0\r\no=dub 7 1 IN IP4 127.0.0.21\r\nc=IN IP4 127.0.0.21\r\n"));
  leg->observer->OnPrack("", "", /*of_our_offer=*/false, /*of_sdp=*/true);
  stack_.sent[0]->observer->OnResponse(Resp(503));
  FakeClientLeg* lon = stack_.sent.at(1);
  lon->observer->OnResponse(Resp(
      200, "v=0\r\no=lon 40 1 IN IP4 127.0.0.22\r\nc=IN IP4 127.0.0.22\r\n"));
  leg->observer->OnAck("", "");
  ASSERT_EQ(leg->dialog.requests.size(), 1u);
  EXPECT_EQ(leg->dialog.requests[0]->request.body,
            "v=0\r\no=dub 7 2 IN IP4 127.0.0.21\r\nc=IN IP4 127.0.0.22\r\n");
  leg->dialog.requests[0]->Answer(200, "v=0 caller");
  InDialog(lon->observer,
           DialogRequest{"INVITE",
                         "application/sdp",
                         "v=0\r\no=lon 40 2 IN IP4 127.0.0.22\r\nc=IN IP4 "
                         "127.0.0.22\r\na=sendonly\r\n",
                         {}});
  ASSERT_EQ(leg->dialog.requests.size(), 2u);
  EXPECT_EQ(leg->dialog.requests[1]->request.body,
            "v=0\r\no=dub 7 3 IN IP4 127.0.0.21\r\nc=IN IP4 "
            "127.0.0.22\r\na=sendonly\r\n");
}

// The same after a delayed offer: the first gateway offered in its
// reliable 183 and the caller answered in its PRACK; the next gateway is
// offered that answer, and its answer reaches the caller in a re-INVITE.
// A re-INVITE crossing one of the caller's (491) is tried again later.
TEST_F(B2buaTest, BypassedFailoverAfterAnEarlyOfferReoffersToTheCaller) {
  supported_ = {"100rel"};
  FakeServerLeg* leg = Invite("127.0.0.11", 5060, /*body=*/"");
  Route({Gateway("pstn-dub", "127.0.0.21"), Gateway("pstn-lon", "127.0.0.22")});
  EarlyOffer(stack_.sent.at(0));
  leg->observer->OnPrack("application/sdp", "v=0 caller answer", true,
                         /*of_sdp=*/true);
  stack_.sent[0]->observer->OnResponse(Resp(503));
  ASSERT_EQ(stack_.sent.size(), 2u);
  FakeClientLeg* lon = stack_.sent[1];
  EXPECT_EQ(lon->invite.body, "v=0 caller answer");
  lon->observer->OnResponse(Resp(200, "v=0 lon"));
  EXPECT_EQ(leg->responses.back().body, "");
  leg->observer->OnAck("", "");
  ASSERT_EQ(leg->dialog.requests.size(), 1u);
  EXPECT_EQ(leg->dialog.requests[0]->request.body, "v=0 lon");
  leg->dialog.requests[0]->Answer(491);
  stack_.Advance(absl::Seconds(2));
  ASSERT_EQ(leg->dialog.requests.size(), 2u) << "tried again";
  EXPECT_EQ(leg->dialog.requests[1]->request.body, "v=0 lon");
  leg->dialog.requests[1]->Answer(200, "v=0 caller again");
  EXPECT_EQ(leg->dialog.requests[1]->acks.size(), 1u);
}

// The same when the next candidate is anchored (its plan says so): the
// relay's side towards it is set up from its answer, and the caller's
// re-INVITE carries the relay's offer, made by media Update from that
// answer; the caller's answer goes to media Answer (its keys, its address).
TEST_F(B2buaTest, FailoverFromBypassedEarlyMediaToAnAnchoredCandidate) {
  supported_ = {"100rel"};
  media_.anchors = true;
  FakeServerLeg* leg = Invite();
  v1::Candidate lon = Gateway("pstn-lon", "127.0.0.22");
  lon.mutable_media()->set_anchor(true);
  Route({Gateway("pstn-dub", "127.0.0.21"), lon});
  stack_.sent.at(0)->observer->OnResponse(Resp(183, "v=0 dub"));
  ASSERT_EQ(leg->responses.back().body, "v=0 dub") << "bypassed";
  leg->observer->OnPrack("", "", /*of_our_offer=*/false, /*of_sdp=*/true);
  stack_.sent[0]->observer->OnResponse(Resp(503));
  ASSERT_EQ(stack_.sent.size(), 2u);
  EXPECT_EQ(stack_.sent[1]->invite.body, "relay:v=0\r\n");
  stack_.sent[1]->observer->OnResponse(Resp(200, "v=0 lon"));
  EXPECT_EQ(leg->responses.back().code, 200);
  EXPECT_EQ(leg->responses.back().body, "");
  leg->observer->OnAck("", "");
  ASSERT_EQ(leg->dialog.requests.size(), 1u);
  EXPECT_EQ(leg->dialog.requests[0]->request.body, "relay:v=0 lon");
  leg->dialog.requests[0]->Answer(200, "v=0 caller again");
  EXPECT_EQ(leg->dialog.requests[0]->acks.size(), 1u);
  EXPECT_THAT(media_.log, ElementsAre("offer from caller: v=0\r\n",
                                      "answer from callee: v=0 lon",
                                      "update from callee: v=0 lon",
                                      "answer from caller: v=0 caller again"));
  EXPECT_TRUE(stack_.sent[1]->dialog.requests.empty());
}

// Without the caller's early offer/answer (no 100rel: the 183 was only a
// preview) the answering gateway's SDP goes in the 200, as usual.
TEST_F(B2buaTest, BypassedFailoverAfterAnUnreliable183AnswersInThe200) {
  FakeServerLeg* leg = Invite();
  Route({Gateway("pstn-dub", "127.0.0.21"), Gateway("pstn-lon", "127.0.0.22")});
  stack_.sent.at(0)->observer->OnResponse(Resp(183, "v=0 dub"));
  stack_.sent[0]->observer->OnResponse(Resp(503));
  stack_.sent.at(1)->observer->OnResponse(Resp(200, "v=0 lon"));
  EXPECT_EQ(leg->responses.back().body, "v=0 lon");
  leg->observer->OnAck("", "");
  EXPECT_TRUE(leg->dialog.requests.empty());
}

// Media bypassed, an early UPDATE changed the caller's session with the
// first gateway; that gateway fails: the next is offered the caller's SDP
// as the UPDATE left it, not the INVITE's.
TEST_F(B2buaTest, BypassedFailoverAfterAnEarlyUpdateOffersTheCallersNewSdp) {
  supported_ = {"100rel"};
  FakeServerLeg* leg = Invite();
  Route({Gateway("pstn-dub", "127.0.0.21"), Gateway("pstn-lon", "127.0.0.22")});
  FakeClientLeg* dub = stack_.sent.at(0);
  SipResponse early = Resp(183, "v=0 dub");
  early.reliable = true;
  dub->observer->OnResponse(early);
  leg->observer->OnPrack("", "", /*of_our_offer=*/false, /*of_sdp=*/true);
  auto update = InDialog(
      leg->observer,
      DialogRequest{"UPDATE", "application/sdp", "v=0 caller moved", {}});
  ASSERT_EQ(dub->dialog.requests.size(), 1u);
  EXPECT_EQ(dub->dialog.requests[0]->request.body, "v=0 caller moved");
  dub->dialog.requests[0]->Answer(200, "v=0 dub again");
  ASSERT_EQ(update->size(), 1u);
  EXPECT_EQ((*update)[0].code, 200);
  dub->observer->OnResponse(Resp(503));
  ASSERT_EQ(stack_.sent.size(), 2u);
  EXPECT_EQ(stack_.sent[1]->invite.body, "v=0 caller moved");
}

// Anchored, the same: the next candidate's offer is made by media from the
// caller's SDP as the early UPDATE left it (the relay's side towards the
// caller takes its new address or keys), not from the INVITE's.
TEST_F(B2buaTest, AnchoredFailoverAfterAnEarlyUpdateOffersTheCallersNewSdp) {
  supported_ = {"100rel"};
  media_.anchors = true;
  FakeServerLeg* leg = Invite();
  v1::Candidate dub = Gateway("pstn-dub", "127.0.0.21");
  dub.mutable_media()->set_anchor(true);
  v1::Candidate lon = Gateway("pstn-lon", "127.0.0.22");
  lon.mutable_media()->set_anchor(true);
  Route({dub, lon});
  SipResponse early = Resp(183, "v=0 dub");
  early.reliable = true;
  stack_.sent.at(0)->observer->OnResponse(early);
  leg->observer->OnPrack("", "", /*of_our_offer=*/false, /*of_sdp=*/true);
  InDialog(leg->observer,
           DialogRequest{"UPDATE", "application/sdp", "v=0 caller moved", {}});
  ASSERT_EQ(stack_.sent[0]->dialog.requests.size(), 1u);
  stack_.sent[0]->dialog.requests[0]->Answer(200, "v=0 dub again");
  stack_.sent[0]->observer->OnResponse(Resp(503));
  ASSERT_EQ(stack_.sent.size(), 2u);
  EXPECT_EQ(stack_.sent[1]->invite.body, "relay:v=0 caller moved");
  EXPECT_EQ(media_.log.back(), "offer from caller: v=0 caller moved");
}

// RFC 3311 5.1: an UPDATE with a new offer within the early dialogs, once
// the INVITE's offer/answer is complete on both legs (the gateway answered
// in a reliable 183, the caller PRACKed ours), goes through media like a
// re-INVITE; the 2xx that then repeats the 183's SDP does not set the relay
// back to it.
TEST_F(B2buaTest, EarlyUpdateWithAnOfferCrossesOnceBothLegsHaveAnswered) {
  auto [leg, out] = AnchoredOfferFromACallerWith100rel();
  SipResponse early = Resp(183, "v=0 early answer");
  early.reliable = true;
  out->observer->OnResponse(early);
  ASSERT_EQ(leg->responses.back().code, 183);
  EXPECT_EQ(leg->responses.back().body, "relay:v=0 early answer");

  // The caller has not PRACKed our 183 yet: its offer/answer is not known
  // to be complete, so a new offer would cross it.
  auto too_soon = InDialog(
      out->observer, DialogRequest{"UPDATE", "application/sdp", "v=0 g1", {}});
  ASSERT_EQ(too_soon->size(), 1u);
  EXPECT_EQ((*too_soon)[0].code, 491);
  EXPECT_TRUE(leg->dialog.requests.empty());

  leg->observer->OnPrack("", "", /*of_our_offer=*/false, /*of_sdp=*/true);
  // The gateway changes codec during early media.
  auto update =
      InDialog(out->observer,
               DialogRequest{"UPDATE", "application/sdp", "v=0 pcma", {}});
  ASSERT_EQ(leg->dialog.requests.size(), 1u);
  EXPECT_EQ(leg->dialog.requests[0]->request.method, "UPDATE");
  EXPECT_EQ(leg->dialog.requests[0]->request.body, "relay:v=0 pcma");
  leg->dialog.requests[0]->Answer(200, "v=0 caller pcma");
  ASSERT_EQ(update->size(), 1u);
  EXPECT_EQ((*update)[0].code, 200);
  EXPECT_EQ((*update)[0].body, "relay:v=0 caller pcma");

  // The caller's own UPDATE the other way (RFC 3311 lets either side).
  auto back = InDialog(
      leg->observer,
      DialogRequest{"UPDATE", "application/sdp", "v=0 caller hold", {}});
  ASSERT_EQ(out->dialog.requests.size(), 1u);
  EXPECT_EQ(out->dialog.requests[0]->request.body, "relay:v=0 caller hold");
  out->dialog.requests[0]->Answer(200, "v=0 gw held");
  ASSERT_EQ(back->size(), 1u);
  EXPECT_EQ((*back)[0].body, "relay:v=0 gw held");

  // The 200 repeats the 183's SDP: the caller's 200 has none, and media
  // is not given the stale answer again.
  out->observer->OnResponse(Resp(200, "v=0 early answer"));
  ASSERT_EQ(leg->responses.back().code, 200);
  EXPECT_EQ(leg->responses.back().body, "");
  EXPECT_THAT(media_.log, ElementsAre("offer from caller: v=0\r\n",
                                      "answer from callee: v=0 early answer",
                                      "update from callee: v=0 pcma",
                                      "answer from caller: v=0 caller pcma",
                                      "update from caller: v=0 caller hold",
                                      "answer from callee: v=0 gw held"));
  leg->observer->OnAck("", "");
  EXPECT_EQ(out->acks, 1);
  // The same relay carries the answered call's re-INVITEs, through media.
  InDialog(leg->observer,
           DialogRequest{"INVITE", "application/sdp", "v=0 resume", {}});
  ASSERT_EQ(out->dialog.requests.size(), 2u);
  EXPECT_EQ(out->dialog.requests[1]->request.body, "relay:v=0 resume");
}

// The same after a delayed offer made early: the gateway offered in its
// reliable 183, the caller answered in its PRACK, ours carried the relay's
// answer; then the gateway's UPDATE crosses.
TEST_F(B2buaTest, EarlyUpdateAfterAnEarlyOfferAnsweredInThePracks) {
  auto [leg, out] = EarlyOfferAwaitingTheCallersAnswer();
  auto too_soon = InDialog(
      out->observer, DialogRequest{"UPDATE", "application/sdp", "v=0 g1", {}});
  EXPECT_EQ((*too_soon)[0].code, 491) << "the caller's answer is still owed";
  leg->observer->OnPrack("application/sdp", "v=0 caller answer", true,
                         /*of_sdp=*/true);
  ASSERT_THAT(out->pracks, ElementsAre("relay:v=0 caller answer"));
  auto update = InDialog(
      out->observer, DialogRequest{"UPDATE", "application/sdp", "v=0 g2", {}});
  ASSERT_EQ(leg->dialog.requests.size(), 1u);
  EXPECT_EQ(leg->dialog.requests[0]->request.body, "relay:v=0 g2");
  leg->dialog.requests[0]->Answer(200, "v=0 c2");
  ASSERT_EQ(update->size(), 1u);
  EXPECT_EQ((*update)[0].body, "relay:v=0 c2");
  out->observer->OnResponse(Resp(200));
  EXPECT_EQ(leg->responses.back().code, 200);
  EXPECT_EQ(leg->responses.back().body, "");
}

// Without a reliable 18x there is no early offer/answer to build on: an
// UPDATE with an offer before the answer still gets 491.
TEST_F(B2buaTest, EarlyUpdateWithAnOfferAfterAnUnreliable183Gets491) {
  auto [leg, out] = AnchoredOfferFromACallerWith100rel();
  out->observer->OnResponse(Resp(183, "v=0 early answer"));  // not reliable
  leg->observer->OnPrack("", "", /*of_our_offer=*/false, /*of_sdp=*/true);
  auto answers = InDialog(
      out->observer, DialogRequest{"UPDATE", "application/sdp", "v=0 g1", {}});
  ASSERT_EQ(answers->size(), 1u);
  EXPECT_EQ((*answers)[0].code, 491);
  EXPECT_TRUE(leg->dialog.requests.empty());
  // Nor from the caller.
  answers = InDialog(leg->observer,
                     DialogRequest{"UPDATE", "application/sdp", "v=0 c1", {}});
  EXPECT_EQ((*answers)[0].code, 491);
  // The 200's SDP is then the answer, as before.
  out->observer->OnResponse(Resp(200, "v=0 final answer"));
  EXPECT_EQ(leg->responses.back().body, "relay:v=0 final answer");
}

// An answered call UC user -> gw-dub on a trunk whose REFERs we carry out.
class TransferTest : public B2buaTest {
 protected:
  void SetUp() override {
    B2buaTest::SetUp();
    caller_ = Invite();
    v1::Candidate c = Gateway("pstn-dub", "127.0.0.21");
    c.set_refer_mode(v1::REFER_MODE_TERMINATE);
    Route({c});
    callee_ = stack_.sent[0];
    callee_->observer->OnResponse(Resp(200, "v=0 callee"));
    caller_->observer->OnAck("", "");
  }
  // A REFER from the caller: what we answered it.
  SipResponse Refer(const HeaderList& headers) {
    auto answers =
        InDialog(caller_->observer, DialogRequest{"REFER", "", "", headers});
    EXPECT_EQ(answers->size(), 1u);
    return answers->empty() ? SipResponse() : answers->front();
  }
  // The sipfrag of the caller's NOTIFY `i`, and its Subscription-State.
  std::pair<std::string, std::string> Notified(size_t i) {
    if (i >= caller_->dialog.requests.size()) return {"none", ""};
    const DialogRequest& r = caller_->dialog.requests[i]->request;
    EXPECT_EQ(r.method, "NOTIFY");
    EXPECT_EQ(r.content_type, "message/sipfrag;version=2.0");
    std::string state;
    for (const auto& [name, value] : r.headers) {
      if (name == "Subscription-State") state = value;
    }
    return {r.body, state};
  }
  FakeServerLeg* caller_ = nullptr;
  FakeClientLeg* callee_ = nullptr;
};

// The transferee keeps the o= line of its session (RFC 3264 8): media
// bypassed, the target's offer reaches it as a new version of the origin
// of the SDP it had (the caller's, from our INVITE).
TEST_F(B2buaTest, TransfereeKeepsItsSessionsOrigin) {
  FakeServerLeg* caller =
      Invite("127.0.0.11", 5060,
             "v=0\r\no=fe 3 1 IN IP4 127.0.0.11\r\nc=IN IP4 127.0.0.11\r\n");
  v1::Candidate c = Gateway("pstn-dub", "127.0.0.21");
  c.set_refer_mode(v1::REFER_MODE_TERMINATE);
  Route({c});
  FakeClientLeg* callee = stack_.sent.at(0);
  callee->observer->OnResponse(Resp(200, "v=0 callee"));
  caller->observer->OnAck("", "");
  InDialog(
      caller->observer,
      DialogRequest{"REFER", "", "", {{"Refer-To", "<sip:+35318881234@x>"}}});
  Route({Gateway("pstn-cork", "127.0.0.22")});
  ASSERT_EQ(stack_.sent.size(), 2u);
  stack_.sent[1]->observer->OnResponse(Resp(
      200, "v=0\r\no=cork 50 1 IN IP4 127.0.0.22\r\nc=IN IP4 127.0.0.22\r\n"));
  ASSERT_EQ(callee->dialog.requests.size(), 1u);
  EXPECT_EQ(callee->dialog.requests[0]->request.body,
            "v=0\r\no=fe 3 2 IN IP4 127.0.0.11\r\nc=IN IP4 127.0.0.22\r\n");
}

TEST_F(TransferTest, CallerTransfersTheCalleeToANumberRoutingChooses) {
  SipResponse accepted = Refer(
      {{"Refer-To",
        "<sip:+35318881234@contoso.example?Replaces=a%40fe%3Bto-tag%3D1%3B"
        "from-tag%3D2>"},
       {"Referred-By", "<sip:alice@contoso.example>"}});
  EXPECT_EQ(accepted.code, 202);
  EXPECT_EQ(Notified(0), std::make_pair(std::string("SIP/2.0 100 Trying\r\n"),
                                        std::string("active;expires=60")));
  // Routed as a call from the transferor, showing the transferee's number.
  ASSERT_EQ(routing_.requests.size(), 2u);
  const v1::RouteRequest& route = routing_.requests[1];
  EXPECT_EQ(route.callee(), "+35318881234");
  EXPECT_EQ(route.caller(), "0871234567");
  EXPECT_EQ(route.origin().user_uri(), "sip:+35315551234@contoso.example");
  EXPECT_EQ(route.policy_caller(), "+35315551234") << "the transferor's policy";
  v1::Candidate target = Gateway("pstn-cork", "127.0.0.22");
  target.set_called_number("018881234");
  Route({target});

  ASSERT_EQ(stack_.sent.size(), 2u);
  FakeClientLeg* leg = stack_.sent[1];
  EXPECT_EQ(leg->invite.body, "") << "3pcc: the target makes the offer";
  EXPECT_EQ(leg->invite.next_hop_host, "127.0.0.22");
  EXPECT_THAT(leg->invite.request_uri, HasSubstr("sip:018881234@"));
  EXPECT_THAT(leg->invite.headers,
              ::testing::IsSupersetOf(
                  {std::make_pair(std::string("Referred-By"),
                                  std::string("<sip:alice@contoso.example>")),
                   std::make_pair(std::string("Replaces"),
                                  std::string("a@fe;to-tag=1;from-tag=2"))}));
  leg->observer->OnResponse(Resp(180));
  EXPECT_EQ(Notified(1).first, "SIP/2.0 180 x\r\n");

  // The target's offer goes to the transferee in a re-INVITE; the answer
  // comes back in our ACK.
  leg->observer->OnResponse(Resp(200, "v=0 target offer"));
  ASSERT_EQ(callee_->dialog.requests.size(), 1u);
  EXPECT_EQ(callee_->dialog.requests[0]->request.method, "INVITE");
  EXPECT_EQ(callee_->dialog.requests[0]->request.body, "v=0 target offer");
  EXPECT_EQ(leg->acks, 0);
  callee_->dialog.requests[0]->Answer(200, "v=0 callee answer");
  EXPECT_EQ(callee_->dialog.requests[0]->acks.size(), 1u);
  EXPECT_EQ(leg->acks, 1);
  EXPECT_EQ(leg->ack_body, "v=0 callee answer");
  EXPECT_EQ(Notified(2),
            std::make_pair(std::string("SIP/2.0 200 OK\r\n"),
                           std::string("terminated;reason=noresource")));

  // The transferor hangs up: the call stays.
  caller_->observer->OnBye("");
  stack_.RunPosted();
  EXPECT_EQ(b2bua_.active_calls(), 1u);
  EXPECT_EQ(callee_->byes, 0);
  stack_.Advance(absl::Seconds(10));
  EXPECT_TRUE(caller_->byes.empty()) << "it left by itself";

  // Requests now cross between the transferee and the target.
  InDialog(callee_->observer, DialogRequest{"INFO", "", "", {}});
  ASSERT_EQ(leg->dialog.requests.size(), 1u);
  EXPECT_EQ(leg->dialog.requests[0]->request.method, "INFO");
  EXPECT_EQ(caller_->dialog.requests.size(), 3u) << "only the NOTIFYs";

  // The target hangs up: the transferee gets the BYE and the call ends.
  leg->observer->OnBye("");
  EXPECT_EQ(callee_->byes, 1);
  stack_.RunPosted();
  EXPECT_EQ(b2bua_.active_calls(), 0u);
}

// Attended transfer between two calls of ours: the UC user has the Dublin
// gateway on hold (this call) and has consulted a Cork number in a second
// call; it REFERs Dublin to that call's dialog. The INVITE goes to Cork
// through the second call's candidate, without routing, and its Replaces
// names Cork's dialog with us, which is what Cork can match.
class AttendedTransferTest : public TransferTest {
 protected:
  void SetUp() override {
    TransferTest::SetUp();
    caller_->ids = {"abc@fe", "tl-1", "uc-1"};
    callee_->ids.local_tag = "tl-1b";
    callee_->ids.remote_tag = "dub-1";
    consult_caller_ = Invite("127.0.0.11", 5060, "v=0\r\n", "consult@fe");
    consult_caller_->ids = {"consult@fe", "tl-2", "uc-2"};
    cork_ = Gateway("pstn-cork", "127.0.0.22");
    cork_.set_called_number("0218881234");
    Route({cork_});
    consult_callee_ = stack_.sent.back();
    consult_callee_->ids.local_tag = "tl-2b";
    consult_callee_->ids.remote_tag = "cork-2";
    consult_callee_->observer->OnResponse(Resp(200, "v=0 cork"));
    consult_caller_->observer->OnAck("", "");
  }
  FakeServerLeg* consult_caller_ = nullptr;
  FakeClientLeg* consult_callee_ = nullptr;
  v1::Candidate cork_;
};

TEST_F(AttendedTransferTest, ReplacesNamingOurDialogGoesToItsFarParty) {
  const size_t routed = routing_.requests.size();
  // The UC side's Refer-To is the Cork party as it knows it: our Contact
  // (no user part), with its own dialog with us in Replaces.
  EXPECT_EQ(Refer({{"Refer-To",
                    "<sip:192.0.2.1:5060?Replaces=consult%40fe%3Bto-tag%3D"
                    "tl-2%3Bfrom-tag%3Duc-2>"}})
                .code,
            202);
  EXPECT_EQ(routing_.requests.size(), routed) << "no routing: the far leg";
  FakeClientLeg* leg = stack_.sent.back();
  ASSERT_NE(leg, consult_callee_);
  EXPECT_EQ(leg->invite.next_hop_host, "127.0.0.22");
  EXPECT_THAT(leg->invite.request_uri, HasSubstr("sip:0218881234@"));
  EXPECT_EQ(leg->invite.body, "");
  EXPECT_THAT(
      leg->invite.headers,
      ::testing::IsSupersetOf(
          {std::make_pair(
               std::string("Replaces"),
               consult_callee_->id + ";to-tag=cork-2;from-tag=tl-2b"),
           std::make_pair(std::string("Require"), std::string("replaces"))}));
  // Cork takes it: the transferee is re-INVITEd with Cork's offer.
  leg->observer->OnResponse(Resp(200, "v=0 cork again"));
  ASSERT_EQ(callee_->dialog.requests.size(), 1u);
  EXPECT_EQ(callee_->dialog.requests[0]->request.body, "v=0 cork again");
  callee_->dialog.requests[0]->Answer(200, "v=0 dub answer");
  EXPECT_EQ(leg->ack_body, "v=0 dub answer");
  // Cork hangs up the replaced call: it ends on the UC side too, and the
  // transferred call goes on.
  consult_callee_->observer->OnBye("");
  EXPECT_EQ(consult_caller_->byes.size(), 1u);
  stack_.RunPosted();
  EXPECT_EQ(b2bua_.active_calls(), 1u);
}

// A Replaces naming the callee's leg of a call (as when the transferor
// answered the consultation call; here the consultation call's callee leg
// stands in for it): the far party is that call's caller, reached by
// routing its number again.
TEST_F(AttendedTransferTest, ReplacesNamingACallWeReceivedRoutesToItsCaller) {
  SipResponse accepted =
      Refer({{"Refer-To", "<sip:192.0.2.1?Replaces=" + consult_callee_->id +
                              "%3Bto-tag%3Dtl-2b%3Bfrom-tag%3Dcork-2>"}});
  EXPECT_EQ(accepted.code, 202);
  ASSERT_FALSE(routing_.requests.empty());
  EXPECT_EQ(routing_.requests.back().callee(), "+35315551234")
      << "the consultation call's caller";
  Route({Gateway("pstn-dub", "127.0.0.21")});
  EXPECT_THAT(stack_.sent.back()->invite.headers,
              ::testing::Contains(std::make_pair(
                  std::string("Replaces"),
                  std::string("consult@fe;to-tag=uc-2;from-tag=tl-2"))));
}

TEST_F(AttendedTransferTest, ReplacesThatCannotBeCarriedOutIsRefused) {
  // The call being transferred itself.
  SipResponse refused =
      Refer({{"Refer-To",
              "<sip:192.0.2.1?Replaces=abc%40fe%3Bto-tag%3Dtl-1%3B"
              "from-tag%3Duc-1>"}});
  EXPECT_EQ(refused.code, 400);
  // Wrong tags name nothing of ours; without a user part there is nothing
  // to route either.
  refused = Refer({{"Refer-To",
                    "<sip:192.0.2.1?Replaces=consult%40fe%3Bto-tag%3Dtl-2%3B"
                    "from-tag%3Dsomeone-else>"}});
  EXPECT_EQ(refused.code, 400);
  EXPECT_THAT(refused.Header("Reason"), HasSubstr("no user part"));
  EXPECT_EQ(stack_.sent.back(), consult_callee_) << "no INVITE went out";
  EXPECT_EQ(b2bua_.active_calls(), 2u);
}

TEST_F(TransferTest, TransferorThatStaysIsSentBye) {
  ASSERT_EQ(Refer({{"Refer-To", "<sip:2001@contoso.example>"},
                   {"Refer-Sub", "false"}})
                .Header("Refer-Sub"),
            "false");
  Route({Gateway("pstn-cork", "127.0.0.22")});
  FakeClientLeg* leg = stack_.sent[1];
  leg->observer->OnResponse(Resp(200, "v=0 target offer"));
  callee_->dialog.requests[0]->Answer(200, "v=0 callee answer");
  EXPECT_TRUE(caller_->dialog.requests.empty()) << "Refer-Sub: false";
  stack_.Advance(absl::Seconds(3));
  EXPECT_TRUE(caller_->byes.empty());
  stack_.Advance(absl::Seconds(2));
  ASSERT_EQ(caller_->byes.size(), 1u);
  EXPECT_THAT(caller_->byes[0], HasSubstr("call transferred"));
  EXPECT_EQ(b2bua_.active_calls(), 1u);
}

TEST_F(TransferTest, CallEndingBeforeTheTransferorLeftByesItToo) {
  EXPECT_EQ(Refer({{"Refer-To", "<sip:2001@contoso.example>"}}).code, 202);
  Route({Gateway("pstn-cork", "127.0.0.22")});
  FakeClientLeg* leg = stack_.sent[1];
  leg->observer->OnResponse(Resp(200, "v=0 target offer"));
  callee_->dialog.requests[0]->Answer(200, "v=0 callee answer");
  // The transferee hangs up at once: the target and the transferor both
  // get a BYE (the transferor's would otherwise never come).
  callee_->observer->OnBye("");
  EXPECT_EQ(leg->byes, 1);
  ASSERT_EQ(caller_->byes.size(), 1u);
  EXPECT_THAT(caller_->byes[0], HasSubstr("call transferred"));
  stack_.RunPosted();
  EXPECT_EQ(b2bua_.active_calls(), 0u);
}

TEST_F(TransferTest, FailedTransferLeavesTheCallAsItWas) {
  EXPECT_EQ(Refer({{"Refer-To", "<sip:2001@contoso.example>"}}).code, 202);
  v1::Candidate first = Gateway("pstn-cork", "127.0.0.22");
  v1::Candidate second = Gateway("pstn-lim", "127.0.0.23");
  Route({first, second});
  stack_.sent[1]->observer->OnResponse(Resp(503));  // a failover code
  ASSERT_EQ(stack_.sent.size(), 3u);
  EXPECT_EQ(stack_.sent[2]->invite.next_hop_host, "127.0.0.23");
  stack_.sent[2]->observer->OnResponse(Resp(486));
  EXPECT_EQ(Notified(1),
            std::make_pair(std::string("SIP/2.0 486 x\r\n"),
                           std::string("terminated;reason=noresource")));
  EXPECT_TRUE(callee_->dialog.requests.empty()) << "no re-INVITE";
  // The caller is still talking to the callee, and may hang up as usual.
  caller_->observer->OnBye("");
  EXPECT_EQ(callee_->byes, 1);
  stack_.RunPosted();
  EXPECT_EQ(b2bua_.active_calls(), 0u);
}

TEST_F(TransferTest, BadReferToGets400AndOneTransferAtATime) {
  SipResponse bad = Refer({{"Refer-To", "<http://example.com>"}});
  EXPECT_EQ(bad.code, 400);
  EXPECT_THAT(bad.Header("Reason"), HasSubstr("not a sip, sips or tel URI"));
  EXPECT_EQ(Refer({{"Refer-To", "<sip:2001@x>"}}).code, 202);
  EXPECT_EQ(Refer({{"Refer-To", "<sip:2002@x>"}}).code, 491);
  // While it runs, a re-INVITE would cross the transfer's own.
  auto answers = InDialog(
      callee_->observer, DialogRequest{"INVITE", "application/sdp", "v=0", {}});
  ASSERT_EQ(answers->size(), 1u);
  EXPECT_EQ((*answers)[0].code, 491);
}

TEST_F(TransferTest, TransfereeHangingUpAbandonsTheTransfer) {
  EXPECT_EQ(Refer({{"Refer-To", "<sip:2001@x>"}}).code, 202);
  Route({Gateway("pstn-cork", "127.0.0.22")});
  FakeClientLeg* leg = stack_.sent[1];
  leg->observer->OnResponse(Resp(180));
  callee_->observer->OnBye("");
  EXPECT_EQ(leg->cancels, 1);
  EXPECT_EQ(caller_->byes.size(), 1u);
  stack_.RunPosted();
  EXPECT_EQ(b2bua_.active_calls(), 0u);
}

SipResponse Challenge(int code, const std::string& nonce, bool stale = false) {
  SipResponse r = Resp(code);
  r.headers.emplace_back(
      code == 401 ? "WWW-Authenticate" : "Proxy-Authenticate",
      absl::StrCat("Digest realm=\"itsp.example\", nonce=\"", nonce,
                   "\", algorithm=SHA-256, qop=\"auth\"",
                   stale ? ", stale=true" : ""));
  return r;
}

TEST_F(B2buaTest, TrunkChallengeIsAnsweredWithItsCredentialsOnce) {
  FakeServerLeg* leg = Invite();
  v1::Candidate itsp = Gateway("itsp", "127.0.0.41");
  itsp.set_credentials("itsp-account");
  itsp.mutable_failover()->add_failover_response_codes(407);
  Route({itsp, Gateway("pstn-dub", "127.0.0.21")});
  FakeClientLeg* out = stack_.sent[0];
  out->observer->OnResponse(Challenge(407, "n1"));
  ASSERT_EQ(out->resent.size(), 1u);
  ASSERT_EQ(out->resent[0].size(), 1u);
  EXPECT_EQ(out->resent[0][0].first, "Proxy-Authorization");
  const std::string& auth = out->resent[0][0].second;
  EXPECT_THAT(auth, HasSubstr("username=\"contoso-trunk\""));
  EXPECT_THAT(auth, HasSubstr("realm=\"itsp.example\""));
  EXPECT_THAT(auth, HasSubstr("uri=\"sip:0871234567@127.0.0.41:5060\""));
  EXPECT_THAT(auth, HasSubstr("algorithm=SHA-256"));
  EXPECT_EQ(stack_.sent.size(), 1u) << "no failover on a challenge";
  // A stale nonce is answered once more; a fresh challenge after that means
  // the credentials are wrong: the next candidate gets the call.
  out->observer->OnResponse(Challenge(407, "n2", /*stale=*/true));
  EXPECT_EQ(out->resent.size(), 2u);
  out->observer->OnResponse(Challenge(407, "n3"));
  EXPECT_EQ(out->resent.size(), 2u);
  ASSERT_EQ(stack_.sent.size(), 2u) << "407 is a failover code here";
  EXPECT_EQ(stack_.sent[1]->invite.next_hop_host, "127.0.0.21");
  EXPECT_LT(leg->responses.back().code, 200);  // the caller still waits
}

TEST_F(B2buaTest, ChallengeWithoutCredentialsIsTheCandidatesFailure) {
  FakeServerLeg* leg = Invite();
  Route({Gateway("pstn-dub", "127.0.0.21")});  // no credentials
  FakeClientLeg* out = stack_.sent[0];
  out->observer->OnResponse(Challenge(401, "n1"));
  EXPECT_TRUE(out->resent.empty());
  EXPECT_EQ(leg->responses.back().code, 401);
}

std::string HeaderOf(const HeaderList& headers, const std::string& name) {
  for (const auto& [n, v] : headers) {
    if (n == name) return v;
  }
  return "";
}

TEST_F(B2buaTest, SessionTimerTowardsTheTrunk422ThenWeRefreshWithUpdate) {
  FakeServerLeg* leg = Invite();
  Route({WithSessionTimer(Gateway("itsp", "127.0.0.41"), 90,
                          v1::SESSION_REFRESHER_LOCAL)});
  FakeClientLeg* out = stack_.sent[0];
  EXPECT_EQ(HeaderOf(out->invite.headers, "Session-Expires"),
            "90;refresher=uac");
  EXPECT_EQ(HeaderOf(out->invite.headers, "Supported"), "timer");
  // The trunk wants at least 120 s: the INVITE goes again, asking for it.
  SipResponse too_small = Resp(422);
  too_small.headers = {{"Min-SE", "120"}};
  out->observer->OnResponse(too_small);
  ASSERT_EQ(out->resent.size(), 1u);
  EXPECT_EQ(HeaderOf(out->resent[0], "Session-Expires"), "120;refresher=uac");
  EXPECT_EQ(stack_.sent.size(), 1u);

  SipResponse ok = Resp(200, "v=0 answer");
  ok.headers = {{"Session-Expires", "120;refresher=uac"}};
  out->observer->OnResponse(ok);
  leg->observer->OnAck("", "");
  stack_.Advance(absl::Seconds(59));
  EXPECT_TRUE(out->dialog.requests.empty());
  stack_.Advance(absl::Seconds(1));  // half the interval
  ASSERT_EQ(out->dialog.requests.size(), 1u);
  EXPECT_EQ(out->dialog.requests[0]->request.method, "UPDATE");
  EXPECT_EQ(
      HeaderOf(out->dialog.requests[0]->request.headers, "Session-Expires"),
      "120;refresher=uac");
  EXPECT_TRUE(leg->dialog.requests.empty()) << "per leg: not the caller's";
  out->dialog.requests[0]->Answer(200);
  stack_.Advance(absl::Seconds(60));
  ASSERT_EQ(out->dialog.requests.size(), 2u) << "refreshed again";
  // The trunk lost the dialog: the call ends on both legs, with a Reason.
  out->dialog.requests[1]->Answer(481);
  EXPECT_EQ(out->byes, 1);
  ASSERT_EQ(leg->byes.size(), 1u);
  EXPECT_THAT(leg->byes[0], HasSubstr("session refresh failed"));
}

TEST_F(B2buaTest, SessionTimerFallsBackToReInviteWhenTheTrunkRefusesUpdate) {
  FakeServerLeg* leg = Invite();
  Route({WithSessionTimer(Gateway("itsp", "127.0.0.41"), 120,
                          v1::SESSION_REFRESHER_LOCAL)});
  FakeClientLeg* out = stack_.sent[0];
  EXPECT_EQ(out->invite.body, "v=0\r\n");
  SipResponse ok = Resp(200, "v=0 answer");
  ok.headers = {{"Session-Expires", "120;refresher=uac"}};
  out->observer->OnResponse(ok);
  leg->observer->OnAck("", "");
  // The caller puts the call on hold: the trunk's leg now has that offer.
  InDialog(leg->observer,
           DialogRequest{"INVITE", "application/sdp", "v=0 sendonly", {}});
  out->dialog.requests[0]->Answer(200, "v=0 recvonly");
  leg->observer->OnAck("", "");
  stack_.Advance(absl::Seconds(60));
  ASSERT_EQ(out->dialog.requests.size(), 2u);
  EXPECT_EQ(out->dialog.requests[1]->request.method, "UPDATE");
  out->dialog.requests[1]->Answer(501);
  stack_.Advance(absl::Milliseconds(1));
  ASSERT_EQ(out->dialog.requests.size(), 3u);
  const DialogRequest& reinvite = out->dialog.requests[2]->request;
  EXPECT_EQ(reinvite.method, "INVITE");
  EXPECT_EQ(reinvite.body, "v=0 sendonly") << "the session as the trunk has it";
  EXPECT_EQ(HeaderOf(reinvite.headers, "Session-Expires"), "120;refresher=uac");
  out->dialog.requests[2]->Answer(200, "v=0 recvonly");
  EXPECT_EQ(out->dialog.requests[2]->acks.size(), 1u);
  EXPECT_TRUE(leg->dialog.requests.empty()) << "per leg: not relayed";
  // And the next refresh is a re-INVITE straight away.
  stack_.Advance(absl::Seconds(60));
  ASSERT_EQ(out->dialog.requests.size(), 4u);
  EXPECT_EQ(out->dialog.requests[3]->request.method, "INVITE");
  EXPECT_TRUE(leg->byes.empty());
}

TEST_F(B2buaTest, SessionTimerTrunkRefreshesOrTheCallEnds) {
  auto [leg, out] = AnsweredWithTheTrunkRefreshing();
  // The trunk refreshes with a bare UPDATE at 60 s: answered here.
  stack_.Advance(absl::Seconds(60));
  EXPECT_TRUE(out->dialog.requests.empty()) << "the trunk refreshes, not us";
  auto answers = InDialog(out->observer, DialogRequest{"UPDATE", "", "", {}});
  ASSERT_EQ(answers->size(), 1u);
  EXPECT_EQ((*answers)[0].code, 200);
  EXPECT_EQ((*answers)[0].Header("Session-Expires"), "120;refresher=uac");
  EXPECT_TRUE(leg->dialog.requests.empty()) << "not relayed to the caller";
  // Then nothing: 120 - 32 s after that refresh, the call ends.
  stack_.Advance(absl::Seconds(87));
  EXPECT_TRUE(leg->byes.empty());
  stack_.Advance(absl::Seconds(1));
  ASSERT_EQ(leg->byes.size(), 1u);
  EXPECT_THAT(leg->byes[0], HasSubstr("session timer expired"));
  EXPECT_EQ(out->byes, 1);
}

// The trunk refreshes with a re-INVITE carrying SDP: relayed, and the 2xx
// from the other side goes back with this leg's Session-Expires (and
// Require: timer, the trunk being the refresher), or the trunk would take
// the session as without a timer (RFC 4028 7.2) and stop refreshing.
TEST_F(B2buaTest, SessionTimerTrunksReInviteRefreshGetsSessionExpiresBack) {
  auto [leg, out] = AnsweredWithTheTrunkRefreshing();
  stack_.Advance(absl::Seconds(60));
  auto answers = InDialog(
      out->observer, DialogRequest{"INVITE",
                                   "application/sdp",
                                   "v=0 refresh",
                                   {{"Session-Expires", "120;refresher=uac"}}});
  ASSERT_EQ(leg->dialog.requests.size(), 1u) << "the offer is relayed";
  leg->dialog.requests[0]->Answer(200, "v=0 caller answer");
  ASSERT_EQ(answers->size(), 1u);
  EXPECT_EQ((*answers)[0].code, 200);
  EXPECT_EQ((*answers)[0].Header("Session-Expires"), "120;refresher=uac");
  EXPECT_EQ((*answers)[0].Header("Require"), "timer");
  // The refresh counted: 120 - 32 s after it, not after the 2xx.
  stack_.Advance(absl::Seconds(87));
  EXPECT_TRUE(leg->byes.empty());
}

TEST_F(B2buaTest, SessionTimerFromATrunkBelowOurMinSeGets422) {
  FakeServerLeg* raw =
      InviteFromGatewayWithTimer("60", "+35315551234", "in@gw");
  v1::RouteDecision d;
  d.set_to_uc_side(true);
  d.mutable_origin_session_timer()->set_enabled(true);
  *d.add_candidates() = Gateway("", "127.0.0.11");
  ASSERT_FALSE(routing_.pending.empty());
  routing_.pending.back()(d);
  ASSERT_FALSE(raw->responses.empty());
  EXPECT_EQ(raw->responses.back().code, 422);
  EXPECT_EQ(raw->responses.back().Header("Min-SE"), "90");
  EXPECT_TRUE(stack_.sent.empty());
}

// An inter-trunk call between two trunks with session timers on: each leg
// keeps its own (RFC 4028 per leg), negotiated with its own trunk. The
// callee's trunk makes us the refresher of its leg; the calling trunk
// refreshes its own, and when it stops the call ends on both legs.
TEST_F(B2buaTest, SessionTimerOnEachLegOfAnInterTrunkCall) {
  FakeServerLeg* leg = InviteFromGatewayWithTimer(
      "300;refresher=uac", "+442071234567", "transit@gw");
  v1::RouteDecision d;
  d.mutable_origin_session_timer()->set_enabled(true);
  d.mutable_origin_session_timer()->set_session_expires_seconds(1800);
  *d.add_candidates() = WithSessionTimer(Gateway("pstn-lon", "127.0.0.22"), 120,
                                         v1::SESSION_REFRESHER_LOCAL);
  ASSERT_FALSE(routing_.pending.empty());
  routing_.pending.back()(d);
  ASSERT_EQ(stack_.sent.size(), 1u);
  FakeClientLeg* out = stack_.sent[0];
  EXPECT_EQ(HeaderOf(out->invite.headers, "Session-Expires"),
            "120;refresher=uac");
  SipResponse ok = Resp(200, "v=0 answer");
  ok.headers = {{"Session-Expires", "120;refresher=uac"}};
  out->observer->OnResponse(ok);
  ASSERT_FALSE(leg->responses.empty());
  EXPECT_EQ(leg->responses.back().code, 200);
  EXPECT_EQ(leg->responses.back().Header("Session-Expires"),
            "300;refresher=uac")
      << "the calling trunk's own interval, not the other trunk's";
  leg->observer->OnAck("", "");

  // Our refreshes on the callee's leg, every 60 s.
  stack_.Advance(absl::Seconds(60));
  ASSERT_EQ(out->dialog.requests.size(), 1u);
  EXPECT_EQ(out->dialog.requests[0]->request.method, "UPDATE");
  EXPECT_TRUE(leg->dialog.requests.empty()) << "not on the caller's leg";
  out->dialog.requests[0]->Answer(200);
  // The calling trunk refreshes its leg with a bare UPDATE: answered here.
  auto answers = InDialog(leg->observer, DialogRequest{"UPDATE", "", "", {}});
  ASSERT_EQ(answers->size(), 1u);
  EXPECT_EQ((*answers)[0].code, 200);
  EXPECT_EQ((*answers)[0].Header("Session-Expires"), "300;refresher=uac");
  EXPECT_EQ(out->dialog.requests.size(), 1u) << "not relayed to the callee";
  // Then the calling trunk goes silent: 300 - 32 s after its refresh the
  // call ends, while our refreshes of the other leg went on meanwhile.
  stack_.Advance(absl::Seconds(60));
  ASSERT_EQ(out->dialog.requests.size(), 2u);
  out->dialog.requests[1]->Answer(200);
  stack_.Advance(absl::Seconds(60));
  ASSERT_EQ(out->dialog.requests.size(), 3u);
  out->dialog.requests[2]->Answer(200);
  stack_.Advance(absl::Seconds(60));
  ASSERT_EQ(out->dialog.requests.size(), 4u);
  out->dialog.requests[3]->Answer(200);
  stack_.Advance(absl::Seconds(87));
  EXPECT_TRUE(leg->byes.empty());
  stack_.Advance(absl::Seconds(1));
  ASSERT_EQ(leg->byes.size(), 1u);
  EXPECT_THAT(leg->byes[0],
              HasSubstr("no refresh from the caller within 300 s"));
  EXPECT_EQ(out->byes, 1);
}

// An INVITE with Replaces (RFC 3891) from a PBX that takes over its side of
// a call of ours. The call: the Dublin gateway (caller) to a UC user.
class IncomingReplacesTest : public B2buaTest {
 protected:
  void SetUp() override {
    B2buaTest::SetUp();
    gw_ = InviteFrom("127.0.0.21", "in@gw", "");
    gw_->ids = {"in@gw", "tl-a", "gw-a"};
    uc_ = Gateway("", "127.0.0.11");
    uc_.set_called_number("+35315551234");
    v1::RouteDecision d;
    d.set_to_uc_side(true);
    *d.add_candidates() = uc_;
    ASSERT_FALSE(routing_.pending.empty());
    routing_.pending.back()(d);
    routing_.pending.clear();
    user_ = stack_.sent.back();
    user_->ids.local_tag = "tl-b";
    user_->ids.remote_tag = "uc-b";
    user_->observer->OnResponse(Resp(200, "v=0 uc"));
    gw_->observer->OnAck("", "");
  }
  FakeServerLeg* InviteFrom(const std::string& source,
                            const std::string& call_id,
                            const std::string& replaces) {
    IncomingRequest r;
    r.method = "INVITE";
    r.request_uri = "sip:127.0.0.1:5160";
    r.from_uri = "sip:0871234567@127.0.0.21";
    r.from_user = "0871234567";
    r.call_id = call_id;
    r.content_type = "application/sdp";
    r.body = "v=0 pbx";
    r.replaces = replaces;
    if (!replaces.empty()) r.require = {"replaces"};
    r.source.remote_address = source;
    r.source.local_port = 5160;
    auto leg = std::make_unique<FakeServerLeg>();
    FakeServerLeg* raw = leg.get();
    b2bua_.OnInvite(r, std::move(leg));
    return raw;
  }
  FakeServerLeg* gw_ = nullptr;
  FakeClientLeg* user_ = nullptr;
  v1::Candidate uc_;
};

TEST_F(IncomingReplacesTest, NamingTheCallersDialogGoesToItsFarParty) {
  const size_t routed = routing_.requests.size();
  FakeServerLeg* pbx =
      InviteFrom("127.0.0.21", "new@gw", "in@gw;to-tag=tl-a;from-tag=gw-a");
  EXPECT_EQ(routing_.requests.size(), routed) << "no routing: the far party";
  FakeClientLeg* out = stack_.sent.back();
  ASSERT_NE(out, user_);
  const std::vector<v1::CallSummary> calls = b2bua_.ListCalls({});
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1].direction(), v1::CALL_DIRECTION_INBOUND)
      << "towards the UC side, as the call it replaces";
  EXPECT_EQ(out->invite.next_hop_host, "127.0.0.11");
  EXPECT_EQ(out->invite.body, "v=0 pbx");
  EXPECT_THAT(
      out->invite.headers,
      ::testing::IsSupersetOf(
          {std::make_pair(std::string("Replaces"),
                          user_->id + ";to-tag=uc-b;from-tag=tl-b"),
           std::make_pair(std::string("Require"), std::string("replaces"))}));
  // The user takes it and hangs up the replaced call: the old call ends on
  // the gateway's side too, and the new one is answered.
  out->observer->OnResponse(Resp(200, "v=0 uc again"));
  EXPECT_EQ(pbx->responses.back().code, 200);
  user_->observer->OnBye("");
  EXPECT_EQ(gw_->byes.size(), 1u);
  stack_.RunPosted();
  EXPECT_EQ(b2bua_.active_calls(), 1u);
}

TEST_F(IncomingReplacesTest, NamingTheCalleesDialogRoutesToItsCaller) {
  // As the user's side would name its dialog with us.
  InviteFrom("127.0.0.11", "new@uc", user_->id + ";to-tag=tl-b;from-tag=uc-b");
  ASSERT_FALSE(routing_.requests.empty());
  EXPECT_EQ(routing_.requests.back().callee(), "0871234567")
      << "the replaced call's caller, routed again";
  v1::Candidate dub = Gateway("pstn-dub", "127.0.0.21");
  Route({dub});
  FakeClientLeg* out = stack_.sent.back();
  EXPECT_THAT(out->invite.headers,
              ::testing::Contains(std::make_pair(
                  std::string("Replaces"),
                  std::string("in@gw;to-tag=gw-a;from-tag=tl-a"))));
}

TEST_F(IncomingReplacesTest, NamingNothingOfOursOrMalformedIsRefused) {
  FakeServerLeg* none =
      InviteFrom("127.0.0.21", "x@gw", "in@gw;to-tag=tl-a;from-tag=other");
  ASSERT_FALSE(none->responses.empty());
  EXPECT_EQ(none->responses.back().code, 481);
  FakeServerLeg* bad = InviteFrom("127.0.0.21", "y@gw", "in@gw;to-tag=tl-a");
  EXPECT_EQ(bad->responses.back().code, 400);
  EXPECT_THAT(bad->responses.back().Header("Reason"), HasSubstr("from-tag"));
  stack_.RunPosted();
  EXPECT_EQ(b2bua_.active_calls(), 1u);
}

// Attended transfer through a PBX in passthrough mode: the PBX's REFER
// names, in Refer-To's Replaces, its dialog with us of another call. The
// UC side must not see that dialog's Call-ID and tags (topology hiding):
// it gets ones of ours, and its INVITE with them reaches the named call as
// if it had named the dialog itself.
class PassedThroughReplacesTest : public IncomingReplacesTest {
 protected:
  // A UC call to the PBX (passthrough), whose REFER names the gateway's
  // call as the gateway names its dialog with us; the Replaces the UC side
  // got, unescaped.
  // A UC call to the PBX (passthrough), answered: the PBX's leg; the UC
  // side's in `uc`.
  FakeClientLeg* AnsweredCallToThePbx(FakeServerLeg** uc) {
    *uc = Invite("127.0.0.11", 5060, "v=0\r\n", "consult@fe");
    v1::Candidate pbx = Gateway("pbx-lon", "127.0.0.31");
    pbx.set_refer_mode(v1::REFER_MODE_PASSTHROUGH);
    Route({pbx});
    FakeClientLeg* to_pbx = stack_.sent.back();
    to_pbx->observer->OnResponse(Resp(200, "v=0 pbx"));
    (*uc)->observer->OnAck("", "");
    return to_pbx;
  }
  std::string ReplacesTheUcSideGets() {
    FakeServerLeg* uc = nullptr;
    FakeClientLeg* to_pbx = AnsweredCallToThePbx(&uc);
    InDialog(to_pbx->observer,
             DialogRequest{"REFER",
                           "",
                           "",
                           {{"Refer-To",
                             "<sip:0871234567@10.20.0.5?Replaces=in%40gw%3Bto-"
                             "tag%3Dtl-a%3Bfrom-tag%3Dgw-a>"}}});
    EXPECT_EQ(uc->dialog.requests.size(), 1u);
    if (uc->dialog.requests.empty()) return "";
    const std::string refer_to =
        HeaderOf(uc->dialog.requests[0]->request.headers, "Refer-To");
    EXPECT_THAT(refer_to, ::testing::Not(HasSubstr("in%40gw")));
    EXPECT_THAT(refer_to, ::testing::Not(HasSubstr("gw-a")));
    EXPECT_THAT(refer_to, ::testing::Not(HasSubstr("10.20.0.5")));
    const size_t at = refer_to.find("?Replaces=");
    EXPECT_NE(at, std::string::npos) << refer_to;
    if (at == std::string::npos) return "";
    std::string token = refer_to.substr(at + 10);
    token = token.substr(0, token.find('>'));
    return absl::StrReplaceAll(token, {{"%3B", ";"}, {"%3D", "="}});
  }
  // What our INVITE to the gateway call's far party (the first call's UC
  // user) carries when the Replaces reached that call.
  std::string ReplacesToTheFarParty() const {
    return user_->id + ";to-tag=uc-b;from-tag=tl-b";
  }
};

TEST_F(PassedThroughReplacesTest, HiddenAndMappedBack) {
  const std::string token = ReplacesTheUcSideGets();
  ASSERT_THAT(token, ::testing::StartsWith("tl-"));
  // The same Call-ID with other tags names nothing.
  FakeServerLeg* forged =
      InviteFrom("127.0.0.11", "forged@uc",
                 token.substr(0, token.find(';')) + ";to-tag=x;from-tag=y");
  ASSERT_FALSE(forged->responses.empty());
  EXPECT_EQ(forged->responses.back().code, 481);
  // The UC user's INVITE with what it got reaches the gateway's call.
  const size_t sent = stack_.sent.size();
  InviteFrom("127.0.0.11", "xfer@uc", token);
  ASSERT_EQ(stack_.sent.size(), sent + 1);
  EXPECT_THAT(stack_.sent.back()->invite.headers,
              ::testing::Contains(std::make_pair(std::string("Replaces"),
                                                 ReplacesToTheFarParty())));
}

TEST_F(PassedThroughReplacesTest, ForgottenAfterFiveMinutes) {
  const std::string token = ReplacesTheUcSideGets();
  ASSERT_THAT(token, ::testing::StartsWith("tl-"));
  stack_.Advance(absl::Minutes(5) + absl::Seconds(1));
  FakeServerLeg* late = InviteFrom("127.0.0.11", "late@uc", token);
  ASSERT_FALSE(late->responses.empty());
  EXPECT_EQ(late->responses.back().code, 481);
  // The gateway's call is still there: named as the gateway names it, it
  // is reached.
  const size_t sent = stack_.sent.size();
  InviteFrom("127.0.0.11", "direct@uc", "in@gw;to-tag=tl-a;from-tag=gw-a");
  ASSERT_EQ(stack_.sent.size(), sent + 1);
  EXPECT_THAT(stack_.sent.back()->invite.headers,
              ::testing::Contains(std::make_pair(std::string("Replaces"),
                                                 ReplacesToTheFarParty())));
}

// A Replaces that names no dialog cannot be hidden: the REFER is refused
// (400 with a Reason) rather than passed on with the PBX's Call-ID.
TEST_F(PassedThroughReplacesTest, OneNamingNoDialogIsRefusedNotPassedOn) {
  FakeServerLeg* uc = nullptr;
  FakeClientLeg* to_pbx = AnsweredCallToThePbx(&uc);
  auto responses = InDialog(
      to_pbx->observer,
      DialogRequest{
          "REFER",
          "",
          "",
          {{"Refer-To", "<sip:0871234567@10.20.0.5?Replaces=in%40gw>"}}});
  EXPECT_TRUE(uc->dialog.requests.empty()) << "passed on unhidden";
  ASSERT_FALSE(responses->empty());
  EXPECT_EQ(responses->back().code, 400);
  EXPECT_THAT(responses->back().Header("Reason"), HasSubstr("names no dialog"));
}

TEST_F(B2buaTest, FailsOverOn503ToTheNextCandidate) {
  FakeServerLeg* leg = Invite();
  Route({Gateway("pstn-dub", "127.0.0.21"), Gateway("itsp", "127.0.0.41")});
  stack_.sent[0]->observer->OnResponse(Resp(503));
  ASSERT_EQ(stack_.sent.size(), 2u);
  EXPECT_THAT(stack_.sent[1]->invite.request_uri, HasSubstr("127.0.0.41"));
  stack_.sent[1]->observer->OnResponse(Resp(486));
  EXPECT_EQ(leg->responses.back().code, 486);
  EXPECT_THAT(leg->responses.back().Header("Reason"), HasSubstr("cause=486"));
}

TEST_F(B2buaTest, LastFailureIsTranslatedAndCarriesReason) {
  FakeServerLeg* leg = Invite();
  Route({Gateway("pstn-dub", "127.0.0.21")});
  stack_.sent[0]->observer->OnResponse(Resp(434));
  EXPECT_EQ(leg->responses.back().code, 404);
  EXPECT_THAT(leg->responses.back().Header("Reason"),
              HasSubstr("SIP;cause=434"));
}

TEST_F(B2buaTest, FastFailoverCancelsAndMovesOn) {
  Invite();
  Route({Gateway("pstn-dub", "127.0.0.21", 5), Gateway("itsp", "127.0.0.41")});
  stack_.FireTimers();
  EXPECT_EQ(stack_.sent[0]->cancels, 1);
  ASSERT_EQ(stack_.sent.size(), 2u);
}

TEST_F(B2buaTest, ProvisionalStopsFastFailover) {
  FakeServerLeg* leg = Invite();
  Route({Gateway("pstn-dub", "127.0.0.21", 5), Gateway("itsp", "127.0.0.41")});
  stack_.sent[0]->observer->OnResponse(Resp(183, "v=0 early"));
  EXPECT_EQ(leg->responses.back().code, 183);
  EXPECT_EQ(leg->responses.back().body, "v=0 early");
  stack_.FireTimers();
  EXPECT_EQ(stack_.sent.size(), 1u);
}

TEST_F(B2buaTest, CancelWhileRingingCancelsDownstreamAnd487s) {
  FakeServerLeg* leg = Invite();
  Route({Gateway("pstn-dub", "127.0.0.21")});
  stack_.sent[0]->observer->OnResponse(Resp(180));
  leg->observer->OnCancel();
  EXPECT_EQ(stack_.sent[0]->cancels, 1);
  EXPECT_EQ(leg->responses.back().code, 487);
  stack_.RunPosted();
  EXPECT_EQ(b2bua_.active_calls(), 0u);
}

// The caller cancels while media is making the relay's offer: the session
// media makes must not outlive the call (only Delete frees it).
TEST_F(B2buaTest, CancelWhileTheOfferIsWithMediaDeletesTheSession) {
  media_.anchors = true;
  media_.hold_offers = true;
  FakeServerLeg* leg = Invite();
  v1::Candidate c = Gateway("pstn-dub", "127.0.0.21");
  c.mutable_media()->set_anchor(true);
  Route({c});
  ASSERT_EQ(media_.held.size(), 1u);
  leg->observer->OnCancel();
  EXPECT_EQ(leg->responses.back().code, 487);
  EXPECT_EQ(media_.log.back(), "delete");
  media_.held[0]();  // the offer's late result changes nothing
  stack_.RunPosted();
  EXPECT_TRUE(stack_.sent.empty());
  EXPECT_EQ(b2bua_.active_calls(), 0u);
}

// Media's answer to the offer comes after signaling's deadline (the session
// may have been made): the call moves on to a candidate that bypasses
// media, and the session is deleted then, not left to end the call on a
// media timeout.
TEST_F(B2buaTest, OfferPastItsDeadlineIsDeletedWhenTheCallBypasses) {
  media_.anchors = true;
  FakeServerLeg* leg = Invite();
  (void)leg;
  v1::Candidate dub = Gateway("pstn-dub", "127.0.0.21");
  dub.mutable_media()->set_anchor(true);
  media_.fail_offers = true;
  Route({dub, Gateway("pstn-lon", "127.0.0.22")});
  ASSERT_EQ(stack_.sent.size(), 1u);
  EXPECT_EQ(stack_.sent[0]->invite.next_hop_host, "127.0.0.22");
  EXPECT_THAT(media_.log, ElementsAre("offer from caller: v=0\r\n", "delete"));
}

TEST_F(B2buaTest, CancelWhileRoutingIgnoresTheLateDecision) {
  FakeServerLeg* leg = Invite();
  leg->observer->OnCancel();
  EXPECT_EQ(leg->responses.back().code, 487);
  stack_.RunPosted();
  Route({Gateway("pstn-dub", "127.0.0.21")});
  EXPECT_TRUE(stack_.sent.empty());
}

TEST_F(B2buaTest, RoutingFailureGives503WithReason) {
  FakeServerLeg* leg = Invite();
  routing_.pending.back()(absl::UnavailableError("routing service: gone"));
  EXPECT_EQ(leg->responses.back().code, 503);
  EXPECT_THAT(leg->responses.back().Header("Reason"), HasSubstr("gone"));
}

TEST_F(B2buaTest, AnchoredCandidateWithoutMediaFailsOverThen503) {
  FakeServerLeg* leg = Invite();
  v1::Candidate anchored = Gateway("pstn-dub", "127.0.0.21");
  anchored.mutable_media()->set_anchor(true);
  Route({anchored});
  EXPECT_TRUE(stack_.sent.empty());
  EXPECT_EQ(leg->responses.back().code, 503);
  EXPECT_THAT(leg->responses.back().Header("Reason"), HasSubstr("media"));
}

TEST_F(B2buaTest, FullTrunkIsReportedToRoutingAndSkipped) {
  v1::Candidate limited = Gateway("pstn-dub", "127.0.0.21");
  limited.mutable_limits()->set_max_concurrent_calls(1);
  Invite();
  Route({limited});
  Invite();
  ASSERT_EQ(routing_.requests.size(), 2u);
  EXPECT_THAT(routing_.requests[1].full_trunks(),
              ::testing::ElementsAre("pstn-dub"));
}

// Routing still offers a trunk that is full by the time the call gets to
// it (two calls routed at once): skipped, and with no other candidate the
// caller gets 503 with Retry-After and the reason.
TEST_F(B2buaTest, FullTrunkFoundBySignalingGives503WithRetryAfter) {
  v1::Candidate limited = Gateway("pstn-dub", "127.0.0.21");
  limited.mutable_limits()->set_max_concurrent_calls(1);
  Invite();
  FakeServerLeg* second = Invite();
  ASSERT_EQ(routing_.pending.size(), 2u);
  v1::RouteDecision d;
  *d.add_candidates() = limited;
  routing_.pending[0](d);
  routing_.pending[1](d);
  EXPECT_EQ(stack_.sent.size(), 1u);
  ASSERT_FALSE(second->responses.empty());
  EXPECT_EQ(second->responses.back().code, 503);
  EXPECT_EQ(second->responses.back().Header("Retry-After"), "30");
  EXPECT_THAT(second->responses.back().Header("Reason"),
              HasSubstr("at its call limit"));
}

// Calls from a trunk count against its maxConcurrentCalls (pstn-dub: 30)
// as calls to it do: the 31st gets 503 with Retry-After before routing is
// asked; once one ends, the next is taken.
TEST_F(B2buaTest, CallsFromATrunkCountAgainstItsLimit) {
  auto inbound = [this](int n, std::vector<SipResponse>* sink) {
    IncomingRequest r;
    r.method = "INVITE";
    r.request_uri = "sip:+35315551234@127.0.0.1:5160";
    r.request_uri_user = "+35315551234";
    r.from_uri = "sip:0871234567@127.0.0.21";
    r.from_user = "0871234567";
    r.call_id = absl::StrCat("in-", n, "@gw");
    r.source.remote_address = "127.0.0.21";
    r.source.local_port = 5160;
    auto leg = std::make_unique<FakeServerLeg>();
    FakeServerLeg* raw = leg.get();
    leg->sink = sink;
    b2bua_.OnInvite(r, std::move(leg));
    return raw;
  };
  std::vector<FakeServerLeg*> up;
  for (int i = 0; i < 30; ++i) up.push_back(inbound(i, nullptr));
  EXPECT_EQ(routing_.requests.size(), 30u);
  std::vector<SipResponse> refused;
  inbound(30, &refused);
  EXPECT_EQ(routing_.requests.size(), 30u) << "refused before routing";
  ASSERT_FALSE(refused.empty());
  EXPECT_EQ(refused.back().code, 503);
  EXPECT_EQ(refused.back().Header("Retry-After"), "30");
  EXPECT_THAT(refused.back().Header("Reason"),
              HasSubstr("pstn-dub is at its call limit"));
  stack_.RunPosted();
  up[0]->observer->OnCancel();  // one call ends
  stack_.RunPosted();
  inbound(31, nullptr);
  EXPECT_EQ(routing_.requests.size(), 31u);
}

TEST_F(B2buaTest, DownAndDisabledTrunksArePassedToRouting) {
  GatewayMonitor monitor(&stack_, &metrics_);
  TrunkInfo dub;
  dub.name = "pstn-dub";
  dub.gateway = "gw-dub";
  dub.host = "127.0.0.21";
  dub.interval_seconds = 5;
  dub.down_threshold = 1;
  TrunkInfo itsp = dub;
  itsp.name = "itsp";
  itsp.keepalive = false;
  monitor.SetTrunks({dub, itsp});
  monitor.SetEnabled("itsp", false);
  b2bua_.SetGatewayMonitor(&monitor);
  stack_.Advance(absl::Seconds(5));  // gw-dub missed its one OPTIONS
  Invite();
  ASSERT_EQ(routing_.requests.size(), 1u);
  EXPECT_THAT(routing_.requests[0].down_trunks(),
              ::testing::ElementsAre("pstn-dub", "itsp"));
  b2bua_.SetGatewayMonitor(nullptr);
}

TEST_F(B2buaTest, AdminListsShowsAndHangsUpCalls) {
  FakeServerLeg* leg = Invite();
  Route({Gateway("pstn-dub", "127.0.0.21"), Gateway("itsp", "127.0.0.41")});
  stack_.sent[0]->observer->OnResponse(Resp(503));
  stack_.sent[1]->observer->OnResponse(Resp(200, "v=0"));
  leg->observer->OnAck("", "");
  auto calls = b2bua_.ListCalls({});
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].call_id(), "abc@fe");
  EXPECT_EQ(calls[0].state(), v1::CALL_STATE_ANSWERED);
  EXPECT_EQ(calls[0].direction(), v1::CALL_DIRECTION_OUTBOUND);
  EXPECT_EQ(calls[0].trunk(), "itsp");
  v1::ListCallsRequest other;
  other.set_trunk("pstn-dub");
  EXPECT_TRUE(b2bua_.ListCalls(other).empty());
  auto detail = b2bua_.GetCall("abc@fe");
  ASSERT_TRUE(detail.ok()) << detail.status();
  EXPECT_EQ(detail->legs_size(), 2);
  EXPECT_THAT(detail->failovers(),
              ::testing::ElementsAre("pstn-dub: response_503"));
  EXPECT_EQ(b2bua_.GetCall("nope").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(b2bua_.Hangup("nope", "").code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(b2bua_.Hangup("abc@fe", "maintenance").ok());
  EXPECT_EQ(stack_.sent[1]->byes, 1);
  ASSERT_EQ(leg->byes.size(), 1u);
  EXPECT_THAT(leg->byes[0], HasSubstr("maintenance"));
  EXPECT_TRUE(b2bua_.ListCalls({}).empty());
  stack_.RunPosted();
  EXPECT_EQ(b2bua_.active_calls(), 0u);
}

TEST_F(B2buaTest, AdminHangupBeforeAnswerCancelsAndFails) {
  FakeServerLeg* leg = Invite();
  Route({Gateway("pstn-dub", "127.0.0.21")});
  stack_.sent[0]->observer->OnResponse(Resp(180));
  EXPECT_EQ(b2bua_.ListCalls({})[0].state(), v1::CALL_STATE_EARLY);
  ASSERT_TRUE(b2bua_.Hangup("abc@fe", "").ok());
  EXPECT_EQ(stack_.sent[0]->cancels, 1);
  EXPECT_EQ(leg->responses.back().code, 503);
  EXPECT_THAT(leg->responses.back().Header("Reason"),
              HasSubstr("operator hangup"));
}

// Draining: new calls get 503 with Retry-After, and so do OPTIONS (peers
// that ping us take us out of rotation); the calls up go on until EndAll,
// which ends them on both legs with the Reason.
TEST_F(B2buaTest, DrainingRefusesNewCallsAndOptionsThenEndAllEndsTheRest) {
  FakeServerLeg* up = Invite();
  Route({Gateway("pstn-dub", "127.0.0.21")});
  stack_.sent[0]->observer->OnResponse(Resp(200, "v=0 answer"));
  up->observer->OnAck("", "");
  b2bua_.SetDraining(true);
  IncomingRequest late;
  late.method = "INVITE";
  late.request_uri = "sip:0871234567@127.0.0.1:5060";
  late.call_id = "late@fe";
  late.source.remote_address = "127.0.0.11";
  late.source.local_port = 5060;
  std::vector<SipResponse> refused;
  auto late_leg = std::make_unique<FakeServerLeg>();
  late_leg->sink = &refused;  // the B2BUA drops the leg once it answered
  b2bua_.OnInvite(late, std::move(late_leg));
  EXPECT_EQ(routing_.requests.size(), 1u) << "the new call is not routed";
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].code, 503);
  EXPECT_FALSE(refused[0].Header("Retry-After").empty());
  IncomingRequest options;
  options.method = "OPTIONS";
  options.request_uri = "sip:127.0.0.1:5160";
  options.source.remote_address = "127.0.0.21";
  options.source.local_port = 5160;
  const SipResponse ping = b2bua_.OnRequest(options);
  EXPECT_EQ(ping.code, 503);
  EXPECT_FALSE(ping.Header("Retry-After").empty());
  EXPECT_TRUE(up->byes.empty()) << "the call up goes on";
  EXPECT_EQ(b2bua_.active_calls(), 1u);
  b2bua_.EndAll("signaling instance stopping: drain limit reached");
  ASSERT_EQ(up->byes.size(), 1u);
  EXPECT_THAT(up->byes[0], HasSubstr("drain limit reached"));
  EXPECT_EQ(stack_.sent[0]->byes, 1);
  stack_.RunPosted();
  EXPECT_EQ(b2bua_.active_calls(), 0u);
}

TEST_F(B2buaTest, TrunkCountersCountAttemptsAnswersAndFailovers) {
  Invite();
  Route({Gateway("pstn-dub", "127.0.0.21"), Gateway("itsp", "127.0.0.41")});
  stack_.sent[0]->observer->OnResponse(Resp(503));
  stack_.sent[1]->observer->OnResponse(Resp(200, "v=0 answer"));
  Invite();
  Route({Gateway("itsp", "127.0.0.41")});
  stack_.sent[2]->observer->OnResponse(Resp(486));

  const B2bua::TrunkCounters dub = b2bua_.CountersFor("pstn-dub");
  EXPECT_EQ(dub.attempts, 1u);
  EXPECT_EQ(dub.answered, 0u);
  EXPECT_EQ(dub.failovers_by_reason.at("response_503"), 1u);
  const B2bua::TrunkCounters itsp = b2bua_.CountersFor("itsp");
  EXPECT_EQ(itsp.attempts, 2u);
  EXPECT_EQ(itsp.answered, 1u);
  EXPECT_TRUE(itsp.failovers_by_reason.empty());
  EXPECT_EQ(b2bua_.CountersFor("nope").attempts, 0u);
}

TEST_F(B2buaTest, EitherLegsCallIdNamesTheCallForTheTrace) {
  Invite();
  Route({Gateway("pstn-dub", "127.0.0.21")});
  const std::string callee_leg = stack_.sent[0]->call_id();
  ASSERT_FALSE(callee_leg.empty());
  auto by_caller = b2bua_.TraceTagFor("abc@fe", "127.0.0.11");
  ASSERT_TRUE(by_caller.has_value());
  EXPECT_EQ(by_caller->call_id, "abc@fe");
  EXPECT_EQ(by_caller->trunk, "pstn-dub");
  auto by_callee = b2bua_.TraceTagFor(callee_leg, "127.0.0.21");
  ASSERT_TRUE(by_callee.has_value());
  EXPECT_EQ(by_callee->call_id, "abc@fe");

  // Still known once the call is over (the 200 to the last BYE).
  stack_.sent[0]->observer->OnResponse(Resp(200, "v=0"));
  stack_.sent[0]->observer->OnBye("");
  stack_.RunPosted();
  EXPECT_EQ(b2bua_.active_calls(), 0u);
  by_callee = b2bua_.TraceTagFor(callee_leg, "127.0.0.21");
  ASSERT_TRUE(by_callee.has_value());
  EXPECT_EQ(by_callee->call_id, "abc@fe");
  EXPECT_EQ(by_callee->trunk, "pstn-dub");

  // No call: a gateway's address names its trunk; anything else, nothing.
  auto options = b2bua_.TraceTagFor("keepalive@x", "127.0.0.41");
  ASSERT_TRUE(options.has_value());
  EXPECT_EQ(options->trunk, "itsp");
  EXPECT_EQ(options->call_id, "");
  EXPECT_FALSE(b2bua_.TraceTagFor("unknown", "127.0.0.99").has_value());
}

TEST_F(B2buaTest, RefusesWhatRfc3261Section8_2Refuses) {
  IncomingRequest r;
  r.method = "OPTIONS";
  r.request_uri = "sip:127.0.0.1";
  r.source.remote_address = "127.0.0.11";
  r.source.local_port = 5060;
  EXPECT_EQ(b2bua_.OnRequest(r).code, 200);

  // A re-INVITE for no dialog of ours: 481 to a peer, 403 to anyone else.
  IncomingRequest reinvite = r;
  reinvite.method = "INVITE";
  EXPECT_EQ(b2bua_.OnRequest(reinvite).code, 481);
  reinvite.source.remote_address = "10.9.9.9";
  EXPECT_EQ(b2bua_.OnRequest(reinvite).code, 403);
  IncomingRequest unknown = r;
  unknown.method = "NEWMETHOD";
  EXPECT_EQ(b2bua_.OnRequest(unknown).code, 501);
  IncomingRequest known = r;
  known.method = "REGISTER";
  EXPECT_EQ(b2bua_.OnRequest(known).code, 405);
  IncomingRequest scheme = r;
  scheme.request_uri = "soap.beep://192.0.2.103:3002";
  EXPECT_EQ(b2bua_.OnRequest(scheme).code, 416);
  scheme.request_uri = "tel:+35315551234";
  EXPECT_EQ(b2bua_.OnRequest(scheme).code, 200);
  IncomingRequest require = r;
  require.require = {"nothingSupportsThis", "nothingSupportsThisEither"};
  const SipResponse bad_extension = b2bua_.OnRequest(require);
  EXPECT_EQ(bad_extension.code, 420);
  EXPECT_EQ(bad_extension.Header("Unsupported"),
            "nothingSupportsThis, nothingSupportsThisEither");

  // INVITE: a body we cannot read, or an Accept we cannot answer, is
  // refused before routing is asked.
  auto from_fe = [](const std::string& call_id) {
    IncomingRequest i;
    i.method = "INVITE";
    i.request_uri = "sip:0871234567@127.0.0.1";
    i.request_uri_user = "0871234567";
    i.call_id = call_id;
    i.source.remote_address = "127.0.0.11";
    i.source.local_port = 5060;
    return i;
  };
  auto answers = [this](const IncomingRequest& i) {
    std::vector<SipResponse> responses;
    auto leg = std::make_unique<FakeServerLeg>();
    leg->sink = &responses;
    b2bua_.OnInvite(i, std::move(leg));
    return responses;
  };
  auto invite = [&](const std::string& type, std::vector<std::string> accept,
                    bool has_accept) {
    IncomingRequest i = from_fe("refused@fe");
    i.content_type = type;
    i.body = "v=0\r\n";
    i.accept = std::move(accept);
    i.has_accept = has_accept;
    return answers(i);
  };
  const size_t routed = routing_.requests.size();
  {  // Max-Forwards 0: a loop, 483 (RFC 3261 16.3).
    IncomingRequest looped = from_fe("looped@fe");
    looped.max_forwards = 0;
    std::vector<SipResponse> responses = answers(looped);
    ASSERT_EQ(responses.size(), 1u);
    EXPECT_EQ(responses[0].code, 483);
    EXPECT_THAT(responses[0].Header("Reason"), HasSubstr("Max-Forwards"));
  }
  {  // Octets that are not UTF-8 where RFC 3261 allows only escaped ones:
     // 400 naming the header, before routing is asked.
    IncomingRequest latin1 = from_fe("latin1@fe");
    latin1.from_uri = "sip:caf\xE9@contoso.example";
    std::vector<SipResponse> responses = answers(latin1);
    ASSERT_EQ(responses.size(), 1u);
    EXPECT_EQ(responses[0].code, 400);
    EXPECT_THAT(responses[0].Header("Reason"),
                HasSubstr("From has octets that are not UTF-8"));
    // UTF-8 (escaped or not) is taken.
    IncomingRequest utf8 = from_fe("utf8@fe");
    utf8.from_uri = "sip:caf\xC3\xA9@contoso.example";
    responses = answers(utf8);
    ASSERT_FALSE(responses.empty());
    EXPECT_EQ(responses[0].code, 100);
    EXPECT_EQ(routing_.requests.size(), routed + 1);
  }
  // The stack hands a body that is not SDP over as a part (message_body.h).
  auto with_part = [&](const std::string& call_id, const std::string& type,
                       bool required) {
    IncomingRequest i = from_fe(call_id);
    BodyPart part;
    part.content_type = type;
    part.media_type = type;
    part.required = required;
    part.body = "x";
    i.body_parts.push_back(part);
    return answers(i);
  };
  std::vector<SipResponse> got =
      with_part("unknown@fe", "application/unknownformat", true);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].code, 415);
  EXPECT_EQ(got[0].Header("Accept"),
            "application/sdp, application/pidf+xml, multipart/mixed");
  EXPECT_THAT(got[0].Header("Reason"), HasSubstr("application/unknownformat"));
  {  // A multipart body that cannot be taken apart: 400 saying why.
    IncomingRequest broken = from_fe("broken@fe");
    broken.body_error = "multipart body: no closing delimiter \"--b--\"";
    std::vector<SipResponse> responses = answers(broken);
    ASSERT_EQ(responses.size(), 1u);
    EXPECT_EQ(responses[0].code, 400);
    EXPECT_THAT(responses[0].Header("Reason"),
                HasSubstr("no closing delimiter"));
  }
  got = invite("application/sdp", {"text/nobodyknowsthis"}, true);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].code, 406);
  EXPECT_EQ(routing_.requests.size(), routed + 1);
  got = invite("application/sdp", {"application/sdp"}, true);
  EXPECT_EQ(got[0].code, 100);
  EXPECT_EQ(routing_.requests.size(), routed + 2);
  // Parts that may be ignored, and those we know (ISUP from a SIP-I
  // carrier, a location object), are taken: the call is routed.
  got = with_part("optional@fe", "application/x-vendor", false);
  EXPECT_EQ(got[0].code, 100);
  got = with_part("isup@fe", "application/isup", true);
  EXPECT_EQ(got[0].code, 100);
  got = with_part("pidf@fe", "application/pidf+xml", true);
  EXPECT_EQ(got[0].code, 100);
  EXPECT_EQ(routing_.requests.size(), routed + 5);
}

}  // namespace
}  // namespace trunkline::signaling
