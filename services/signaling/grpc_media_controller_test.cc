#include "services/signaling/grpc_media_controller.h"

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "services/common/grpc_server.h"

namespace trunkline::signaling {
namespace {

// A media instance that records what it is asked and answers with a marker.
class FakeMedia final : public v1::Media::CallbackService {
 public:
  explicit FakeMedia(uint32_t capacity) : capacity_(capacity) {}
  grpc::ServerUnaryReactor* Offer(grpc::CallbackServerContext* c,
                                  const v1::OfferRequest* request,
                                  v1::SdpResponse* response) override {
    absl::MutexLock lock(&mu_);
    offers_.push_back(*request);
    response->set_sdp("relay-offer");
    return Done(c);
  }
  grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* c,
                                   const v1::AnswerRequest* request,
                                   v1::SdpResponse* response) override {
    absl::MutexLock lock(&mu_);
    answers_.push_back(*request);
    response->set_sdp("relay-answer");
    return Done(c);
  }
  grpc::ServerUnaryReactor* GetLoad(grpc::CallbackServerContext* c,
                                    const v1::GetLoadRequest*,
                                    v1::Load* load) override {
    load->set_capacity_left(capacity_);
    return Done(c);
  }
  std::vector<v1::OfferRequest> offers() {
    absl::MutexLock lock(&mu_);
    return offers_;
  }
  std::vector<v1::AnswerRequest> answers() {
    absl::MutexLock lock(&mu_);
    return answers_;
  }

 private:
  static grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* c) {
    auto* reactor = c->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  const uint32_t capacity_;
  absl::Mutex mu_;
  std::vector<v1::OfferRequest> offers_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::AnswerRequest> answers_ ABSL_GUARDED_BY(mu_);
};

// Runs posted closures at once: the test thread plays the SIP loop.
GrpcMediaController::Poster Inline() {
  return [](std::function<void()> task) { task(); };
}

absl::StatusOr<std::string> Wait(
    const std::function<void(MediaController::SdpDone)>& call) {
  absl::Notification done;
  absl::StatusOr<std::string> result;
  call([&](absl::StatusOr<std::string> sdp) {
    result = std::move(sdp);
    done.Notify();
  });
  done.WaitForNotificationWithTimeout(absl::Seconds(10));
  return result;
}

v1::Candidate PstnCandidate() {
  v1::Candidate c;
  c.set_trunk("pstn-dub");
  c.mutable_next_hop()->set_advertised_address("127.0.0.1");
  c.mutable_media()->set_anchor(true);
  c.mutable_media()->set_caller_srtp(v1::SRTP_MODE_REQUIRED);
  c.mutable_media()->set_callee_srtp(v1::SRTP_MODE_NOT_SUPPORTED);
  c.mutable_media()->set_callee_latching(true);
  c.mutable_media()->set_media_timeout_seconds(30);
  return c;
}

TEST(GrpcMediaControllerTest, AnchorsOnTheLeastLoadedInstance) {
  FakeMedia busy(10), idle(500);
  auto busy_server = GrpcServer::Start("127.0.0.1:0", {&busy});
  auto idle_server = GrpcServer::Start("127.0.0.1:0", {&idle});
  ASSERT_TRUE(busy_server.ok() && idle_server.ok());
  GrpcMediaController media(
      {absl::StrCat("127.0.0.1:", (*busy_server)->port()),
       absl::StrCat("127.0.0.1:", (*idle_server)->port())},
      Inline(), absl::Seconds(2));
  for (int i = 0; i < 100 && media.PickInstance() != 1; ++i) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_EQ(media.PickInstance(), 1);

  absl::StatusOr<std::string> offer = Wait([&](auto done) {
    media.Offer("call-1", PstnCandidate(), "caller-sdp", std::move(done));
  });
  ASSERT_TRUE(offer.ok()) << offer.status();
  EXPECT_EQ(*offer, "relay-offer");
  ASSERT_EQ(idle.offers().size(), 1u);
  EXPECT_TRUE(busy.offers().empty());
  const v1::OfferRequest sent = idle.offers()[0];
  EXPECT_EQ(sent.call_id(), "call-1");
  EXPECT_EQ(sent.from_leg(), v1::LEG_CALLER);
  EXPECT_EQ(sent.sdp(), "caller-sdp");
  EXPECT_EQ(sent.from_side().srtp(), v1::SRTP_MODE_REQUIRED);
  EXPECT_EQ(sent.to_side().srtp(), v1::SRTP_MODE_NOT_SUPPORTED);
  EXPECT_TRUE(sent.to_side().latching());
  EXPECT_EQ(sent.to_side().advertised_address(), "127.0.0.1");
  EXPECT_EQ(sent.to_side().rtp_timeout_seconds(), 30u);

  // The answer goes to the same instance, from the callee's leg.
  absl::StatusOr<std::string> answer = Wait([&](auto done) {
    media.Answer("call-1", MediaLeg::kCallee, "callee-sdp", std::move(done));
  });
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(*answer, "relay-answer");
  ASSERT_EQ(idle.answers().size(), 1u);
  EXPECT_EQ(idle.answers()[0].from_leg(), v1::LEG_CALLEE);
  EXPECT_NE(idle.answers()[0].request_id(), sent.request_id());

  // A second candidate is a new offer in the same session, new request id.
  ASSERT_TRUE(Wait([&](auto done) {
                media.Offer("call-1", PstnCandidate(), "caller-sdp",
                            std::move(done));
              }).ok());
  ASSERT_EQ(idle.offers().size(), 2u);
  EXPECT_NE(idle.offers()[1].request_id(), idle.offers()[0].request_id());
}

TEST(GrpcMediaControllerTest, NoReachableInstanceFailsTheOffer) {
  GrpcMediaController media({"127.0.0.1:1"}, Inline(), absl::Milliseconds(200));
  absl::StatusOr<std::string> offer = Wait([&](auto done) {
    media.Offer("call-2", PstnCandidate(), "sdp", std::move(done));
  });
  EXPECT_EQ(offer.status().code(), absl::StatusCode::kUnavailable);
  absl::StatusOr<std::string> answer = Wait([&](auto done) {
    media.Answer("call-2", MediaLeg::kCallee, "sdp", std::move(done));
  });
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace trunkline::signaling
