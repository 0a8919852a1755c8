#include "services/signaling/dialog_relay.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/signaling/fake_sip_stack.h"

namespace trunkline::signaling {
namespace {

using ::testing::ElementsAre;
using testing::FakeClientLeg;
using testing::FakeServerLeg;
using testing::FakeServerTransaction;
using testing::FakeSipStack;
using ::testing::HasSubstr;
using ::testing::Pair;

// Media that records each Update and Answer; the test completes them.
class RecordingMedia : public MediaController {
 public:
  struct Call {
    std::string method;
    MediaLeg from;
    std::string sdp;
    SdpDone done;
  };
  void Offer(const std::string&, const v1::Candidate&, const std::string&,
             SdpDone done) override {
    done(absl::InternalError("Offer is not the relay's"));
  }
  void OfferFromCallee(const std::string&, const v1::Candidate&,
                       const std::string&, SdpDone done) override {
    done(absl::InternalError("OfferFromCallee is not the relay's"));
  }
  void Update(const std::string& call_id, MediaLeg from, const std::string& sdp,
              SdpDone done) override {
    EXPECT_EQ(call_id, "call-1");
    calls.push_back({"Update", from, sdp, std::move(done)});
  }
  void Answer(const std::string& call_id, MediaLeg from, const std::string& sdp,
              SdpDone done) override {
    EXPECT_EQ(call_id, "call-1");
    calls.push_back({"Answer", from, sdp, std::move(done)});
  }
  void Delete(const std::string&, QueryDone) override {}
  void Query(const std::string&, QueryDone done) override {
    done(absl::UnimplementedError("not the relay's"));
  }
  std::string InstanceOf(const std::string&) const override { return ""; }
  // Completes the oldest pending call with `result`.
  void Complete(absl::StatusOr<std::string> result) {
    ASSERT_FALSE(calls.empty());
    Call c = std::move(calls.front());
    calls.erase(calls.begin());
    c.done(std::move(result));
  }
  std::vector<Call> calls;
};

DialogRequest Req(const std::string& method, const std::string& body = "") {
  DialogRequest r;
  r.method = method;
  r.body = body;
  if (!body.empty()) r.content_type = "application/sdp";
  return r;
}

class DialogRelayTest : public ::testing::Test {
 protected:
  void Make(bool anchored, v1::ReferMode refer = v1::REFER_MODE_PASSTHROUGH) {
    DialogRelay::Options o;
    o.call_id = "call-1";
    o.media = anchored ? &media_ : nullptr;
    o.refer_mode = refer;
    o.sdp_agreed = [this](MediaLeg of, const std::string& sdp) {
      agreed_.emplace_back(of == MediaLeg::kCaller ? "caller" : "callee", sdp);
    };
    relay_ = std::make_unique<DialogRelay>(&stack_, &caller_, &callee_, o);
  }
  // A request from `from`; returns what it was answered.
  std::shared_ptr<std::vector<SipResponse>> Send(MediaLeg from,
                                                 const DialogRequest& r) {
    auto t = std::make_unique<FakeServerTransaction>();
    auto responses = t->responses;
    relay_->OnRequest(from, r, std::move(t));
    return responses;
  }

  FakeSipStack stack_;
  FakeServerLeg caller_;
  FakeClientLeg callee_;
  RecordingMedia media_;
  std::unique_ptr<DialogRelay> relay_;
  // (leg, its own SDP) per sdp_agreed call.
  std::vector<std::pair<std::string, std::string>> agreed_;
};

TEST_F(DialogRelayTest, AnchoredReinviteGoesThroughMediaUpdateAndAnswer) {
  Make(/*anchored=*/true);
  auto up = Send(MediaLeg::kCaller, Req("INVITE", "caller-hold-offer"));
  ASSERT_EQ(media_.calls.size(), 1u);
  EXPECT_EQ(media_.calls[0].method, "Update");
  EXPECT_EQ(media_.calls[0].from, MediaLeg::kCaller);
  EXPECT_EQ(media_.calls[0].sdp, "caller-hold-offer");
  EXPECT_TRUE(callee_.dialog.requests.empty()) << "sent before media said";
  media_.Complete(std::string("relay-offer-to-callee"));

  ASSERT_EQ(callee_.dialog.requests.size(), 1u);
  auto& sent = callee_.dialog.requests[0];
  EXPECT_EQ(sent->request.method, "INVITE");
  EXPECT_EQ(sent->request.body, "relay-offer-to-callee");
  EXPECT_EQ(sent->request.content_type, "application/sdp");
  sent->Answer(200, "callee-answer");

  ASSERT_EQ(media_.calls.size(), 1u);
  EXPECT_EQ(media_.calls[0].method, "Answer");
  EXPECT_EQ(media_.calls[0].from, MediaLeg::kCallee);
  EXPECT_EQ(media_.calls[0].sdp, "callee-answer");
  EXPECT_TRUE(up->empty());
  media_.Complete(std::string("relay-answer-to-caller"));
  ASSERT_EQ(up->size(), 1u);
  EXPECT_EQ((*up)[0].code, 200);
  EXPECT_EQ((*up)[0].body, "relay-answer-to-caller");

  // The caller's ACK goes on to the callee's 2xx; the exchange is over.
  EXPECT_TRUE(sent->acks.empty());
  EXPECT_TRUE(relay_->OnAck(MediaLeg::kCaller, "", ""));
  EXPECT_THAT(sent->acks, ElementsAre(Pair("", "")));
  EXPECT_EQ(relay_->in_progress(), 0u);
  EXPECT_FALSE(relay_->OnAck(MediaLeg::kCaller, "", "")) << "not ours twice";
}

TEST_F(DialogRelayTest, ReinviteFromCalleeGoesToCaller) {
  Make(/*anchored=*/true);
  auto down = Send(MediaLeg::kCallee, Req("INVITE", "callee-offer"));
  ASSERT_EQ(media_.calls.size(), 1u);
  EXPECT_EQ(media_.calls[0].from, MediaLeg::kCallee);
  media_.Complete(std::string("offer-to-caller"));
  ASSERT_EQ(caller_.dialog.requests.size(), 1u);
  EXPECT_EQ(caller_.dialog.requests[0]->request.body, "offer-to-caller");
  caller_.dialog.requests[0]->Answer(200, "caller-answer");
  ASSERT_EQ(media_.calls.size(), 1u);
  EXPECT_EQ(media_.calls[0].from, MediaLeg::kCaller);
  media_.Complete(std::string("answer-to-callee"));
  ASSERT_EQ(down->size(), 1u);
  EXPECT_EQ((*down)[0].body, "answer-to-callee");
  EXPECT_TRUE(relay_->OnAck(MediaLeg::kCallee, "", ""));
  EXPECT_EQ(caller_.dialog.requests[0]->acks.size(), 1u);
}

TEST_F(DialogRelayTest, SecondOfferWhileOneIsInProgressGets491) {
  Make(/*anchored=*/false);
  auto first = Send(MediaLeg::kCaller, Req("INVITE", "offer-1"));
  auto glare = Send(MediaLeg::kCallee, Req("UPDATE", "offer-2"));
  ASSERT_EQ(glare->size(), 1u);
  EXPECT_EQ((*glare)[0].code, 491);
  // INFO is no offer: it crosses while the re-INVITE is in progress.
  auto info = Send(MediaLeg::kCallee, Req("INFO"));
  EXPECT_TRUE(info->empty());
  EXPECT_EQ(caller_.dialog.requests.size(), 1u);

  // Refused downstream: the caller learns why; a new offer is taken.
  callee_.dialog.requests[0]->Answer(488);
  ASSERT_EQ(first->size(), 1u);
  EXPECT_EQ((*first)[0].code, 488);
  auto again = Send(MediaLeg::kCaller, Req("INVITE", "offer-3"));
  EXPECT_TRUE(again->empty());
  EXPECT_EQ(callee_.dialog.requests.size(), 2u);
}

TEST_F(DialogRelayTest, BypassedCallPassesSdpUnchanged) {
  Make(/*anchored=*/false);
  auto up = Send(MediaLeg::kCaller, Req("UPDATE", "caller-sdp"));
  ASSERT_EQ(callee_.dialog.requests.size(), 1u);
  EXPECT_EQ(callee_.dialog.requests[0]->request.body, "caller-sdp");
  callee_.dialog.requests[0]->Answer(200, "callee-sdp");
  ASSERT_EQ(up->size(), 1u);
  EXPECT_EQ((*up)[0].code, 200);
  EXPECT_EQ((*up)[0].body, "callee-sdp");
  EXPECT_TRUE(media_.calls.empty());
  // UPDATE has no ACK: nothing is left in progress.
  EXPECT_EQ(relay_->in_progress(), 0u);
}

// Each leg's own SDP (as it sent it, not the relay's) is reported once its
// exchange completed: not for an offer refused, nor before the answer.
TEST_F(DialogRelayTest, EachLegsOwnSdpIsReportedOnceAgreed) {
  Make(/*anchored=*/true);
  Send(MediaLeg::kCaller, Req("UPDATE", "caller-1"));
  media_.Complete(std::string("relay-offer"));
  callee_.dialog.requests[0]->Answer(488);
  EXPECT_TRUE(agreed_.empty()) << "a refused offer agrees nothing";
  Send(MediaLeg::kCaller, Req("UPDATE", "caller-2"));
  media_.Complete(std::string("relay-offer"));
  EXPECT_TRUE(agreed_.empty()) << "not before the answer";
  callee_.dialog.requests[1]->Answer(200, "callee-2");
  EXPECT_THAT(agreed_, ElementsAre(Pair("caller", "caller-2"),
                                   Pair("callee", "callee-2")));
  media_.Complete(std::string("relay-answer"));
  // A late offer: the callee's in its 2xx, the caller's answer in its ACK.
  agreed_.clear();
  Send(MediaLeg::kCaller, Req("INVITE"));
  callee_.dialog.requests[2]->Answer(200, "callee-offer");
  media_.Complete(std::string("offer-to-caller"));
  relay_->OnAck(MediaLeg::kCaller, "application/sdp", "caller-answer");
  EXPECT_THAT(agreed_, ElementsAre(Pair("callee", "callee-offer"),
                                   Pair("caller", "caller-answer")));
}

// rewrite_sdp makes what a leg gets (the call keeps its o= line), and
// sdp_sent hears of that; bodies that are not SDP are left alone.
TEST(DialogRelayRewriteTest, EachLegGetsTheRewrittenSdp) {
  FakeSipStack stack;
  FakeServerLeg caller;
  FakeClientLeg callee;
  std::vector<std::pair<std::string, std::string>> sent;
  DialogRelay::Options o;
  o.call_id = "call-1";
  o.rewrite_sdp = [](MediaLeg to, const std::string& sdp) {
    return (to == MediaLeg::kCaller ? "to-caller:" : "to-callee:") + sdp;
  };
  o.sdp_sent = [&](MediaLeg to, const std::string& sdp) {
    sent.emplace_back(to == MediaLeg::kCaller ? "caller" : "callee", sdp);
  };
  DialogRelay relay(&stack, &caller, &callee, o);
  auto txn = std::make_unique<FakeServerTransaction>();
  auto up = txn->responses;
  relay.OnRequest(MediaLeg::kCallee, Req("INVITE", "hold"), std::move(txn));
  ASSERT_EQ(caller.dialog.requests.size(), 1u);
  EXPECT_EQ(caller.dialog.requests[0]->request.body, "to-caller:hold");
  caller.dialog.requests[0]->Answer(200, "held");
  ASSERT_EQ(up->size(), 1u);
  EXPECT_EQ((*up)[0].body, "to-callee:held");
  EXPECT_THAT(sent, ElementsAre(Pair("caller", "to-caller:hold"),
                                Pair("callee", "to-callee:held")));
  auto info = std::make_unique<FakeServerTransaction>();
  DialogRequest dtmf = Req("INFO");
  dtmf.content_type = "application/dtmf-relay";
  dtmf.body = "Signal=5";
  relay.OnRequest(MediaLeg::kCallee, dtmf, std::move(info));
  ASSERT_EQ(caller.dialog.requests.size(), 2u);
  EXPECT_EQ(caller.dialog.requests[1]->request.body, "Signal=5");
}

TEST_F(DialogRelayTest, LateOfferReinviteAnswersInTheAck) {
  Make(/*anchored=*/true);
  auto up = Send(MediaLeg::kCaller, Req("INVITE"));
  EXPECT_TRUE(media_.calls.empty());
  ASSERT_EQ(callee_.dialog.requests.size(), 1u);
  EXPECT_TRUE(callee_.dialog.requests[0]->request.body.empty());
  // The callee's 2xx carries the offer: through media Update.
  callee_.dialog.requests[0]->Answer(200, "callee-offer");
  ASSERT_EQ(media_.calls.size(), 1u);
  EXPECT_EQ(media_.calls[0].method, "Update");
  EXPECT_EQ(media_.calls[0].from, MediaLeg::kCallee);
  media_.Complete(std::string("offer-to-caller"));
  ASSERT_EQ(up->size(), 1u);
  EXPECT_EQ((*up)[0].body, "offer-to-caller");
  // The caller's ACK carries the answer: through media Answer, then on.
  EXPECT_TRUE(relay_->OnAck(MediaLeg::kCaller, "application/sdp", "ans"));
  ASSERT_EQ(media_.calls.size(), 1u);
  EXPECT_EQ(media_.calls[0].method, "Answer");
  EXPECT_EQ(media_.calls[0].from, MediaLeg::kCaller);
  EXPECT_TRUE(callee_.dialog.requests[0]->acks.empty());
  media_.Complete(std::string("answer-to-callee"));
  EXPECT_THAT(callee_.dialog.requests[0]->acks,
              ElementsAre(Pair("application/sdp", "answer-to-callee")));
}

TEST_F(DialogRelayTest, MediaRefusingTheOfferGives488AndSendsNothing) {
  Make(/*anchored=*/true);
  auto up = Send(MediaLeg::kCaller, Req("INVITE", "bad-offer"));
  media_.Complete(absl::InvalidArgumentError("no m-line"));
  ASSERT_EQ(up->size(), 1u);
  EXPECT_EQ((*up)[0].code, 488);
  EXPECT_THAT((*up)[0].Header("Reason"), HasSubstr("no m-line"));
  EXPECT_TRUE(callee_.dialog.requests.empty());
  EXPECT_EQ(relay_->in_progress(), 0u);
}

TEST_F(DialogRelayTest, InfoCrossesWithItsHeadersAndTheAnswerComesBack) {
  Make(/*anchored=*/true);
  DialogRequest info = Req("INFO");
  info.content_type = "application/dtmf-relay";
  info.body = "Signal=5\r\nDuration=160\r\n";
  info.headers = {{"Info-Package", "dtmf"}};
  auto up = Send(MediaLeg::kCallee, info);
  ASSERT_EQ(caller_.dialog.requests.size(), 1u);
  const DialogRequest& sent = caller_.dialog.requests[0]->request;
  EXPECT_EQ(sent.body, info.body);
  EXPECT_EQ(sent.content_type, "application/dtmf-relay");
  EXPECT_THAT(sent.headers, ElementsAre(Pair("Info-Package", "dtmf")));
  EXPECT_TRUE(media_.calls.empty()) << "INFO is no offer";
  caller_.dialog.requests[0]->Answer(469);
  ASSERT_EQ(up->size(), 1u);
  EXPECT_EQ((*up)[0].code, 469);
}

TEST_F(DialogRelayTest, ReferFollowsTheTrunksMode) {
  Make(/*anchored=*/false, v1::REFER_MODE_REJECT);
  DialogRequest refer = Req("REFER");
  refer.headers = {{"Refer-To", "<sip:+35318881234@10.1.1.5;user=phone>"},
                   {"Referred-By", "<sip:2001@10.1.1.5>"}};
  auto rejected = Send(MediaLeg::kCaller, refer);
  ASSERT_EQ(rejected->size(), 1u);
  EXPECT_EQ((*rejected)[0].code, 603);
  EXPECT_TRUE(callee_.dialog.requests.empty());

  Make(/*anchored=*/false, v1::REFER_MODE_PASSTHROUGH);
  auto passed = Send(MediaLeg::kCaller, refer);
  ASSERT_EQ(callee_.dialog.requests.size(), 1u);
  // Target and referrer named at us on the callee's leg (its Contact,
  // transport included), not at the caller's network.
  EXPECT_THAT(
      callee_.dialog.requests[0]->request.headers,
      ElementsAre(
          Pair("Refer-To",
               "<sip:+35318881234@192.0.2.20:5160;user=phone;transport=tcp>"),
          Pair("Referred-By", "<sip:2001@192.0.2.20:5160;transport=tcp>")));
  callee_.dialog.requests[0]->Answer(202);
  ASSERT_EQ(passed->size(), 1u);
  EXPECT_EQ((*passed)[0].code, 202);
}

TEST_F(DialogRelayTest, ReplacedLegGetsTheOtherSidesRequests) {
  Make(/*anchored=*/false);
  FakeClientLeg transfer_target;
  relay_->ReplaceLeg(MediaLeg::kCaller, &transfer_target);
  auto up = Send(MediaLeg::kCallee, Req("INFO"));
  EXPECT_TRUE(caller_.dialog.requests.empty());
  ASSERT_EQ(transfer_target.dialog.requests.size(), 1u);
  EXPECT_EQ(transfer_target.dialog.requests[0]->request.method, "INFO");
  transfer_target.dialog.requests[0]->Answer(200);
  ASSERT_EQ(up->size(), 1u);
  EXPECT_EQ((*up)[0].code, 200);
}

TEST_F(DialogRelayTest, MissingAckIsSentByUsAfterTheTimeout) {
  Make(/*anchored=*/false);
  auto up = Send(MediaLeg::kCaller, Req("INVITE", "offer"));
  callee_.dialog.requests[0]->Answer(200, "answer");
  ASSERT_EQ(up->size(), 1u);
  stack_.Advance(absl::Seconds(31));
  EXPECT_TRUE(callee_.dialog.requests[0]->acks.empty());
  stack_.Advance(absl::Seconds(2));
  EXPECT_EQ(callee_.dialog.requests[0]->acks.size(), 1u);
  EXPECT_EQ(relay_->in_progress(), 0u);
  // The next offer is taken.
  auto next = Send(MediaLeg::kCaller, Req("INVITE", "offer"));
  EXPECT_TRUE(next->empty());
}

TEST_F(DialogRelayTest, ResultsAfterTheRelayIsGoneAreIgnored) {
  Make(/*anchored=*/true);
  auto up = Send(MediaLeg::kCaller, Req("INVITE", "offer"));
  relay_.reset();  // the call ended meanwhile
  media_.Complete(std::string("late"));
  EXPECT_TRUE(callee_.dialog.requests.empty());
}

TEST_F(DialogRelayTest, FarSideTimeoutBecomesA408WithAReason) {
  Make(/*anchored=*/false);
  auto up = Send(MediaLeg::kCaller, Req("INFO"));
  SipResponse timeout;
  timeout.code = 408;
  timeout.local = true;
  callee_.dialog.requests[0]->on_final(timeout);
  ASSERT_EQ(up->size(), 1u);
  EXPECT_EQ((*up)[0].code, 408);
  EXPECT_THAT((*up)[0].Header("Reason"), HasSubstr("no answer"));
}

}  // namespace
}  // namespace trunkline::signaling
