#include "services/signaling/trunk_registrar.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "services/signaling/b2bua.h"
#include "services/signaling/example_topology_for_test.h"
#include "services/signaling/fake_sip_stack.h"
#include "services/signaling/signaling_admin_service.h"

namespace trunkline::signaling {
namespace {

using testing::FakeSipStack;
using ::testing::HasSubstr;

SipResponse Resp(int code, HeaderList headers = {}) {
  SipResponse r;
  r.code = code;
  r.phrase = "x";
  r.headers = std::move(headers);
  return r;
}

SipResponse Challenge(const std::string& nonce, bool stale = false) {
  return Resp(401, {{"WWW-Authenticate",
                     absl::StrCat("Digest realm=\"itsp.example\", nonce=\"",
                                  nonce, "\"", stale ? ", stale=true" : "")}});
}

class TrunkRegistrarTest : public ::testing::Test {
 protected:
  void SetUp() override {
    topology_ = testing::WithPasswordFile(testing::ExampleTopology());
    auto peers = PeerDirectory::Create(topology_, "");
    ASSERT_TRUE(peers.ok()) << peers.status();
    registrar_.SetPeers(std::move(*peers));
  }
  std::string Metrics() {
    std::string out;
    for (const auto& family : registry_.Collect()) {
      if (family.name != "trunkline_signaling_trunk_registered") continue;
      for (const auto& m : family.metric) {
        out += absl::StrCat(m.label[0].value, "=", m.gauge.value, " ");
      }
    }
    return out;
  }
  // trunkline_signaling_auth_challenges_total, "result=n ...".
  std::string Challenges() {
    std::string out;
    for (const auto& family : registry_.Collect()) {
      if (family.name != "trunkline_signaling_auth_challenges_total") continue;
      for (const auto& m : family.metric) {
        for (const auto& l : m.label) {
          if (l.name == "result") {
            out += absl::StrCat(l.value, "=", m.counter.value, " ");
          }
        }
      }
    }
    return out;
  }
  // A reload in which no trunk configuration registers any more.
  void ReloadWithoutRegistration() {
    for (v1::TrunkConfiguration& c :
         *topology_.mutable_trunk_configurations()) {
      c.mutable_registration()->set_enabled(false);
    }
    auto off = PeerDirectory::Create(topology_, "");
    ASSERT_TRUE(off.ok()) << off.status();
    registrar_.SetPeers(std::move(*off));
  }
  const OutgoingRequest& Sent(size_t i) {
    return stack_.requests.at(i)->request;
  }
  void Reply(size_t i, const SipResponse& r) {
    stack_.requests.at(i)->abandoned = true;
    stack_.requests.at(i)->on_final(r);
  }

  v1::Topology topology_;
  prometheus::Registry registry_;
  SignalingMetrics metrics_{&registry_};
  FakeSipStack stack_;
  TrunkRegistrar registrar_{&stack_, &metrics_};
};

TEST_F(TrunkRegistrarTest, RegistersAnswersTheChallengeAndRefreshes) {
  // Only the ITSP's configuration registers in the example.
  ASSERT_EQ(stack_.requests.size(), 1u);
  const OutgoingRequest& first = Sent(0);
  EXPECT_EQ(first.method, "REGISTER");
  EXPECT_EQ(first.request_uri, "sip:sip.itsp.example");
  EXPECT_EQ(first.from, "<sip:+35315550000@itsp.example>");
  EXPECT_EQ(first.to, first.from);
  EXPECT_EQ(first.next_hop_host, "127.0.0.41");
  EXPECT_EQ(first.local_port, 5166u);
  EXPECT_THAT(first.contact, HasSubstr(":5166>"));
  EXPECT_EQ(first.cseq, 1u);
  EXPECT_FALSE(first.call_id.empty());
  EXPECT_THAT(Metrics(), HasSubstr("itsp=0"));
  ASSERT_NE(registrar_.Find("itsp"), nullptr);
  EXPECT_EQ(registrar_.Find("pstn-dub"), nullptr);

  Reply(0, Challenge("n1"));
  ASSERT_EQ(stack_.requests.size(), 2u);
  const OutgoingRequest& answered = Sent(1);
  EXPECT_EQ(answered.call_id, first.call_id);
  EXPECT_EQ(answered.cseq, 2u);
  std::string authorization;
  for (const auto& [name, value] : answered.headers) {
    if (name == "Authorization") authorization = value;
  }
  EXPECT_THAT(authorization, HasSubstr("username=\"contoso-trunk\""));
  EXPECT_THAT(authorization, HasSubstr("uri=\"sip:sip.itsp.example\""));

  // Granted 120 s for our Contact (another binding's expiry is not ours).
  Reply(1, Resp(200,
                {{"Contact", "<sip:other@192.0.2.1>;expires=10"},
                 {"Contact", absl::StrCat(answered.contact, ";expires=120")}}));
  EXPECT_TRUE(registrar_.Find("itsp")->registered);
  EXPECT_THAT(Metrics(), HasSubstr("itsp=1"));
  stack_.Advance(absl::Seconds(89));
  EXPECT_EQ(stack_.requests.size(), 2u);
  stack_.Advance(absl::Seconds(1));  // 30 s before it runs out
  ASSERT_EQ(stack_.requests.size(), 3u);
  EXPECT_EQ(Sent(2).call_id, first.call_id);
  EXPECT_EQ(Sent(2).cseq, 3u);
}

TEST_F(TrunkRegistrarTest, RefusedCredentialsAreNotRetriedAtOnce) {
  Reply(0, Challenge("n1"));
  Reply(1, Challenge("n2"));  // fresh nonce, not stale: refused
  EXPECT_EQ(stack_.requests.size(), 2u);
  const auto* reg = registrar_.Find("itsp");
  EXPECT_FALSE(reg->registered);
  EXPECT_THAT(reg->last_error, HasSubstr("refused the credentials"));
  EXPECT_THAT(Challenges(), HasSubstr("answered=1"));
  EXPECT_THAT(Challenges(), HasSubstr("refused=1"));
  stack_.Advance(TrunkRegistrar::kRetryAfterFailure);
  ASSERT_EQ(stack_.requests.size(), 3u);
  // A new round answers the next challenge again.
  Reply(2, Challenge("n3"));
  EXPECT_EQ(stack_.requests.size(), 4u);
}

class NoRouting : public RoutingClient {
 public:
  void Route(const v1::RouteRequest&, Done) override {}
};

TEST_F(TrunkRegistrarTest, AdminApiShowsTheRegistration) {
  NoRouting routing;
  NoMediaController media("none");
  B2bua b2bua(&stack_, &routing, &media, &metrics_);
  GatewayMonitor::TrunkState state;
  state.info.name = "itsp";
  // Failed first: not registered, why, and when we try again.
  Reply(0, Resp(503, {{"Retry-After", "10"}}));
  v1::TrunkStatus status =
      SignalingAdminService::ToStatus(state, b2bua, &registrar_);
  ASSERT_TRUE(status.has_registration());
  EXPECT_EQ(status.registration().registrar(), "sip:sip.itsp.example");
  EXPECT_FALSE(status.registration().registered());
  EXPECT_THAT(status.registration().last_error(), HasSubstr("503"));
  EXPECT_EQ(status.registration().expires_unix_ms(),
            absl::ToUnixMillis(stack_.Now() + absl::Seconds(10)));
  stack_.Advance(absl::Seconds(10));
  Reply(1, Resp(200, {{"Expires", "600"}}));
  status = SignalingAdminService::ToStatus(state, b2bua, &registrar_);
  EXPECT_TRUE(status.registration().registered());
  EXPECT_EQ(status.registration().last_error(), "");
  EXPECT_EQ(status.registration().expires_unix_ms(),
            absl::ToUnixMillis(stack_.Now() + absl::Seconds(600)));
  // A trunk that does not register has no registration.
  state.info.name = "pstn-dub";
  EXPECT_FALSE(SignalingAdminService::ToStatus(state, b2bua, &registrar_)
                   .has_registration());
}

TEST_F(TrunkRegistrarTest, StaleNonceIsAnsweredOnceMore) {
  Reply(0, Challenge("n1"));
  Reply(1, Challenge("n2", /*stale=*/true));
  EXPECT_EQ(stack_.requests.size(), 3u);
}

TEST_F(TrunkRegistrarTest, FailureRetriesAfterRetryAfter) {
  Reply(0, Resp(503, {{"Retry-After", "10"}}));
  EXPECT_FALSE(registrar_.Find("itsp")->registered);
  EXPECT_THAT(registrar_.Find("itsp")->last_error, HasSubstr("503"));
  stack_.Advance(absl::Seconds(9));
  EXPECT_EQ(stack_.requests.size(), 1u);
  stack_.Advance(absl::Seconds(1));
  EXPECT_EQ(stack_.requests.size(), 2u);
}

TEST_F(TrunkRegistrarTest, UnchangedTopologyKeepsTheRegistration) {
  Reply(0, Challenge("n1"));
  Reply(1, Resp(200, {{"Expires", "3600"}}));
  auto again = PeerDirectory::Create(topology_, "");
  ASSERT_TRUE(again.ok());
  registrar_.SetPeers(std::move(*again));
  EXPECT_EQ(stack_.requests.size(), 2u) << "no new REGISTER on a reload";
  EXPECT_TRUE(registrar_.Find("itsp")->registered);
  // Registration turned off: the trunk is forgotten.
  ReloadWithoutRegistration();
  EXPECT_EQ(registrar_.Find("itsp"), nullptr);
  EXPECT_THAT(Metrics(), HasSubstr("itsp=0"));
}

std::string ExpiresOf(const OutgoingRequest& r) {
  for (const auto& [name, value] : r.headers) {
    if (name == "Expires") return value;
  }
  return "";
}

TEST_F(TrunkRegistrarTest, UnregisterAllEndsTheRegistrationWithExpiresZero) {
  Reply(0, Resp(200, {{"Expires", "3600"}}));
  ASSERT_TRUE(registrar_.Find("itsp")->registered);
  bool done = false;
  registrar_.UnregisterAll([&] { done = true; });
  ASSERT_EQ(stack_.requests.size(), 2u);
  const OutgoingRequest& bye = Sent(1);
  EXPECT_EQ(bye.method, "REGISTER");
  EXPECT_EQ(bye.call_id, Sent(0).call_id);
  EXPECT_EQ(bye.cseq, 2u);
  EXPECT_EQ(bye.contact, Sent(0).contact);
  EXPECT_EQ(ExpiresOf(bye), "0");
  EXPECT_EQ(ExpiresOf(Sent(0)), "3600");
  EXPECT_FALSE(done) << "waits for the registrar's answer";
  // The registrar challenges the un-REGISTER too: answered, then done.
  Reply(1, Challenge("n1"));
  ASSERT_EQ(stack_.requests.size(), 3u);
  EXPECT_EQ(ExpiresOf(Sent(2)), "0");
  EXPECT_EQ(Sent(2).cseq, 3u);
  EXPECT_FALSE(done);
  Reply(2, Resp(200));
  EXPECT_TRUE(done);
  EXPECT_THAT(Metrics(), HasSubstr("itsp=0"));
  EXPECT_EQ(registrar_.Find("itsp"), nullptr);
  // No refresh after that.
  stack_.Advance(absl::Seconds(7200));
  EXPECT_EQ(stack_.requests.size(), 3u);
}

TEST_F(TrunkRegistrarTest, UnregisterAllWithNothingRegisteredIsDoneAtOnce) {
  // The first REGISTER is still out: nothing to end.
  bool done = false;
  registrar_.UnregisterAll([&] { done = true; });
  EXPECT_TRUE(done);
  EXPECT_EQ(stack_.requests.size(), 1u);
  EXPECT_TRUE(stack_.requests[0]->abandoned);
  stack_.Advance(absl::Seconds(60));
  EXPECT_EQ(stack_.requests.size(), 1u);
}

TEST_F(TrunkRegistrarTest, AFailedUnregisterStillEnds) {
  Reply(0, Resp(200, {{"Expires", "3600"}}));
  bool done = false;
  registrar_.UnregisterAll([&] { done = true; });
  Reply(1, Resp(408));
  EXPECT_TRUE(done);
  EXPECT_EQ(stack_.requests.size(), 2u);
}

TEST_F(TrunkRegistrarTest, ATrunkThatStopsRegisteringIsUnregistered) {
  Reply(0, Resp(200, {{"Expires", "3600"}}));
  ReloadWithoutRegistration();
  EXPECT_EQ(registrar_.Find("itsp"), nullptr);
  ASSERT_EQ(stack_.requests.size(), 2u);
  EXPECT_EQ(ExpiresOf(Sent(1)), "0");
  EXPECT_EQ(Sent(1).call_id, Sent(0).call_id);
  Reply(1, Resp(200));
  EXPECT_THAT(Metrics(), HasSubstr("itsp=0"));
}

TEST(GrantedExpiryTest, ContactThenExpiresThenWhatWeAsked) {
  SipResponse r;
  r.headers = {{"Contact", "<sip:127.0.0.1:5166>;expires=300"},
               {"Expires", "600"}};
  EXPECT_EQ(GrantedExpiry(r, "<sip:127.0.0.1:5166>", 3600), 300u);
  EXPECT_EQ(GrantedExpiry(r, "<sip:127.0.0.1:5999>", 3600), 600u);
  EXPECT_EQ(GrantedExpiry(SipResponse{}, "<sip:x>", 3600), 3600u);
}

}  // namespace
}  // namespace trunkline::signaling
