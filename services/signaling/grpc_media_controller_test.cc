#include "services/signaling/grpc_media_controller.h"

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/server_builder.h"
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
    if (hang_queries_) {  // hangs Answer too, until ReleaseQueries()
      hung_.push_back(c->DefaultReactor());
      return hung_.back();
    }
    response->set_sdp("relay-answer");
    return Done(c);
  }
  grpc::ServerUnaryReactor* GetLoad(grpc::CallbackServerContext* c,
                                    const v1::GetLoadRequest*,
                                    v1::Load* load) override {
    load->set_capacity_left(capacity_);
    return Done(c);
  }
  // Query: the figures of a call it was offered; with HangQueries(), no
  // answer (nor to Answer) until ReleaseQueries().
  grpc::ServerUnaryReactor* Query(grpc::CallbackServerContext* c,
                                  const v1::QueryRequest* request,
                                  v1::QueryResponse* response) override {
    absl::MutexLock lock(&mu_);
    ++queries_;
    auto* reactor = c->DefaultReactor();
    if (hang_queries_) {
      hung_.push_back(reactor);
      return reactor;
    }
    bool known = false;
    for (const auto& o : offers_) known |= o.call_id() == request->call_id();
    if (!known) {
      reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND, "no session"));
      return reactor;
    }
    v1::StreamStats* s = response->add_streams();
    s->set_leg(v1::LEG_CALLER);
    s->set_packets(250);
    response->add_streams()->set_leg(v1::LEG_CALLEE);
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  // Delete: the last figures of the call.
  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* c,
                                   const v1::DeleteRequest* request,
                                   v1::DeleteResponse* response) override {
    absl::MutexLock lock(&mu_);
    deleted_.push_back(request->call_id());
    v1::StreamStats* s = response->add_streams();
    s->set_leg(v1::LEG_CALLER);
    s->set_packets(300);
    return Done(c);
  }
  std::vector<std::string> deleted() {
    absl::MutexLock lock(&mu_);
    return deleted_;
  }
  void HangQueries() {
    absl::MutexLock lock(&mu_);
    hang_queries_ = true;
  }
  void ReleaseQueries() {
    absl::MutexLock lock(&mu_);
    for (auto* r : hung_) r->Finish(grpc::Status::OK);
    hung_.clear();
  }
  int queries() {
    absl::MutexLock lock(&mu_);
    return queries_;
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
  int queries_ ABSL_GUARDED_BY(mu_) = 0;
  bool hang_queries_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<grpc::ServerUnaryReactor*> hung_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> deleted_ ABSL_GUARDED_BY(mu_);
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

// Until the controller has the instance's load (its first GetLoad).
void WaitForLoads(GrpcMediaController& media) {
  for (int i = 0; i < 100 && media.PickInstance() != 0; ++i) {
    absl::SleepFor(absl::Milliseconds(20));
  }
}

v1::Candidate PstnCandidate() {
  v1::Candidate c;
  c.set_trunk("pstn-dub");
  c.mutable_next_hop()->set_advertised_address("127.0.0.1");
  c.mutable_media()->set_anchor(true);
  c.mutable_media()->set_caller_srtp(v1::SRTP_MODE_REQUIRED);
  c.mutable_media()->set_callee_srtp(v1::SRTP_MODE_NOT_SUPPORTED);
  c.mutable_media()->set_callee_latching(true);
  c.mutable_media()->set_callee_strict_source(true);
  c.mutable_media()->set_callee_rtcp_mux(true);
  c.mutable_media()->set_media_timeout_seconds(30);
  return c;
}

// One media instance (capacity 500) and a controller that uses it, once
// the controller has its load.
class OneInstanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = GrpcServer::Start("127.0.0.1:0", {&instance});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    controller_ = std::make_unique<GrpcMediaController>(
        std::vector<std::string>{absl::StrCat("127.0.0.1:", server_->port())},
        Inline(), absl::Seconds(2));
    WaitForLoads(*controller_);
  }
  GrpcMediaController& media() { return *controller_; }

  FakeMedia instance{500};

 private:
  std::unique_ptr<GrpcServer> server_;
  std::unique_ptr<GrpcMediaController> controller_;
};

TEST_F(OneInstanceTest, DelayedOfferComesFromTheCalleeWithSidesSwapped) {
  absl::StatusOr<std::string> offer = Wait([&](auto done) {
    media().OfferFromCallee("call-d", PstnCandidate(), "callee-offer",
                            std::move(done));
  });
  ASSERT_TRUE(offer.ok()) << offer.status();
  ASSERT_EQ(instance.offers().size(), 1u);
  const v1::OfferRequest sent = instance.offers()[0];
  EXPECT_EQ(sent.from_leg(), v1::LEG_CALLEE);
  EXPECT_EQ(sent.sdp(), "callee-offer");
  // The offering side is the callee's (plain RTP, latching); the caller's
  // plan (SRTP required) is for the side the relay's offer goes to.
  EXPECT_EQ(sent.from_side().srtp(), v1::SRTP_MODE_NOT_SUPPORTED);
  EXPECT_TRUE(sent.from_side().latching());
  EXPECT_EQ(sent.to_side().srtp(), v1::SRTP_MODE_REQUIRED);
  // The caller's answer goes to the same session.
  absl::StatusOr<std::string> answer = Wait([&](auto done) {
    media().Answer("call-d", MediaLeg::kCaller, "caller-answer",
                   std::move(done));
  });
  ASSERT_TRUE(answer.ok()) << answer.status();
  ASSERT_EQ(instance.answers().size(), 1u);
  EXPECT_EQ(instance.answers()[0].from_leg(), v1::LEG_CALLER);
}

// SDP whose free text is not UTF-8 (a Latin-1 session name) still reaches
// media, those octets as '?': a protobuf string would not parse.
TEST_F(OneInstanceTest, SdpOctetsThatAreNotUtf8GoAsQuestionMarks) {
  absl::StatusOr<std::string> offer = Wait([&](auto done) {
    media().Offer("call-l", PstnCandidate(),
                  "v=0\r\ns=Caf\xE9 \xE2\x82\xAC\r\n", std::move(done));
  });
  ASSERT_TRUE(offer.ok()) << offer.status();
  ASSERT_EQ(instance.offers().size(), 1u);
  EXPECT_EQ(instance.offers()[0].sdp(), "v=0\r\ns=Caf? \xE2\x82\xAC\r\n");
}

// A call from a trunk: the caller's side gets that trunk's settings and
// its listener's address, the callee's (the UC side) its own; the RTCP
// expectations are per side, active and on hold.
TEST_F(OneInstanceTest, EachSideGetsItsLegsSettings) {
  v1::Candidate to_uc;
  to_uc.mutable_next_hop()->set_advertised_address("10.0.0.5");
  v1::MediaPlan* plan = to_uc.mutable_media();
  plan->set_anchor(true);
  plan->set_caller_latching(true);
  plan->set_caller_advertised_address("203.0.113.10");
  plan->set_caller_media_timeout_seconds(45);
  plan->set_caller_rtcp_active_calls(true);
  plan->set_caller_rtcp_calls_on_hold(false);
  plan->set_caller_strict_source(true);
  plan->set_caller_rtcp_mux(true);
  plan->set_media_timeout_seconds(60);
  ASSERT_TRUE(Wait([&](auto done) {
                media().Offer("call-in", to_uc, "trunk-offer", std::move(done));
              }).ok());
  ASSERT_EQ(instance.offers().size(), 1u);
  const v1::OfferRequest sent = instance.offers()[0];
  EXPECT_TRUE(sent.from_side().latching());
  EXPECT_EQ(sent.from_side().advertised_address(), "203.0.113.10");
  EXPECT_EQ(sent.from_side().rtp_timeout_seconds(), 45u);
  EXPECT_TRUE(sent.from_side().expect_rtcp());
  EXPECT_FALSE(sent.from_side().expect_rtcp_on_hold());
  EXPECT_TRUE(sent.from_side().strict_source());
  EXPECT_TRUE(sent.from_side().rtcp_mux());
  EXPECT_FALSE(sent.to_side().latching());
  EXPECT_FALSE(sent.to_side().strict_source());
  EXPECT_FALSE(sent.to_side().rtcp_mux());
  EXPECT_EQ(sent.to_side().advertised_address(), "10.0.0.5");
  EXPECT_EQ(sent.to_side().rtp_timeout_seconds(), 60u);
  EXPECT_FALSE(sent.to_side().expect_rtcp());
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
  EXPECT_TRUE(sent.to_side().strict_source());
  EXPECT_TRUE(sent.to_side().rtcp_mux());
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

absl::StatusOr<v1::QueryResponse> WaitQuery(GrpcMediaController& media,
                                            const std::string& call_id) {
  absl::Notification done;
  absl::StatusOr<v1::QueryResponse> result;
  media.Query(call_id, [&](absl::StatusOr<v1::QueryResponse> r) {
    result = std::move(r);
    done.Notify();
  });
  done.WaitForNotificationWithTimeout(absl::Seconds(10));
  return result;
}

TEST(GrpcMediaControllerTest, QueriesTheInstanceThatAnchorsTheCall) {
  FakeMedia other(10), anchor(500);
  auto other_server = GrpcServer::Start("127.0.0.1:0", {&other});
  auto anchor_server = GrpcServer::Start("127.0.0.1:0", {&anchor});
  ASSERT_TRUE(other_server.ok() && anchor_server.ok());
  const std::string anchor_address =
      absl::StrCat("127.0.0.1:", (*anchor_server)->port());
  GrpcMediaController media(
      {absl::StrCat("127.0.0.1:", (*other_server)->port()), anchor_address},
      Inline(), absl::Seconds(2));
  for (int i = 0; i < 100 && media.PickInstance() != 1; ++i) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_EQ(media.PickInstance(), 1);

  // Not anchored yet: no instance, NOT_FOUND without asking anyone.
  EXPECT_EQ(media.InstanceOf("call-q"), "");
  EXPECT_EQ(WaitQuery(media, "call-q").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(anchor.queries() + other.queries(), 0);

  ASSERT_TRUE(Wait([&](auto done) {
                media.Offer("call-q", PstnCandidate(), "sdp", std::move(done));
              }).ok());
  EXPECT_EQ(media.InstanceOf("call-q"), anchor_address);
  absl::StatusOr<v1::QueryResponse> q = WaitQuery(media, "call-q");
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_EQ(q->streams_size(), 2);
  EXPECT_EQ(q->streams(0).packets(), 250u);
  EXPECT_EQ(anchor.queries(), 1);
  EXPECT_EQ(other.queries(), 0);

  // Deleted: the last figures come back (for the call's record), and the
  // call is no longer anchored anywhere.
  absl::Notification deleted;
  absl::StatusOr<v1::QueryResponse> last;
  media.Delete("call-q", [&](absl::StatusOr<v1::QueryResponse> r) {
    last = std::move(r);
    deleted.Notify();
  });
  EXPECT_EQ(media.InstanceOf("call-q"), "");
  ASSERT_TRUE(deleted.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(last.ok()) << last.status();
  ASSERT_EQ(last->streams_size(), 1);
  EXPECT_EQ(last->streams(0).packets(), 300u);
  EXPECT_EQ(anchor.deleted(), std::vector<std::string>{"call-q"});
  EXPECT_TRUE(other.deleted().empty());
  // A call anchored nowhere: NOT_FOUND at once, nothing sent.
  absl::StatusOr<v1::QueryResponse> none;
  media.Delete("call-q", [&](absl::StatusOr<v1::QueryResponse> r) {
    none = std::move(r);
  });
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
}

TEST(GrpcMediaControllerTest, AQueryThatHangsEndsAtTheShortDeadline) {
  FakeMedia slow(500);
  auto server = GrpcServer::Start("127.0.0.1:0", {&slow});
  ASSERT_TRUE(server.ok());
  // The other calls may take 10 s; an operator's query gets 1 s.
  GrpcMediaController media({absl::StrCat("127.0.0.1:", (*server)->port())},
                            Inline(), absl::Seconds(10));
  for (int i = 0; i < 100 && media.PickInstance() != 0; ++i) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_TRUE(Wait([&](auto done) {
                media.Offer("call-h", PstnCandidate(), "sdp", std::move(done));
              }).ok());
  slow.HangQueries();
  const absl::Time start = absl::Now();
  absl::StatusOr<v1::QueryResponse> q = WaitQuery(media, "call-h");
  const absl::Duration took = absl::Now() - start;
  slow.ReleaseQueries();
  EXPECT_EQ(q.status().code(), absl::StatusCode::kDeadlineExceeded);
  // What may reach a SIP peer names no address (it is logged instead).
  EXPECT_EQ(q.status().message(), "Query: no answer in time");
  EXPECT_GE(took, GrpcMediaController::kQueryTimeout - absl::Milliseconds(50));
  EXPECT_LT(took, absl::Seconds(5));
}

// Offer, Answer and Delete finish on the completion thread, on channels with
// the minimal filter stack: the call's deadline must still end a call that
// gets no answer, and the routing client shares the thread.
TEST(GrpcMediaControllerTest, AnAnswerThatHangsEndsAtTheCallsDeadline) {
  FakeMedia slow(500);
  // A server that does not end late calls itself (no deadline filter): the
  // client's deadline alone must end the Answer.
  auto server = GrpcServer::Start(
      "127.0.0.1:0", {&slow}, nullptr, [](grpc::ServerBuilder* b) {
        b->AddChannelArgument(GRPC_ARG_MINIMAL_STACK, 1);
      });
  ASSERT_TRUE(server.ok());
  auto completions = std::make_shared<GrpcCompletionThread>();
  GrpcMediaController media({absl::StrCat("127.0.0.1:", (*server)->port())},
                            Inline(), absl::Milliseconds(300), nullptr,
                            completions);
  for (int i = 0; i < 100 && media.PickInstance() != 0; ++i) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_TRUE(Wait([&](auto done) {
                media.Offer("call-a", PstnCandidate(), "sdp", std::move(done));
              }).ok());
  slow.HangQueries();
  const absl::Time start = absl::Now();
  absl::StatusOr<std::string> answer = Wait([&](auto done) {
    media.Answer("call-a", MediaLeg::kCallee, "callee-sdp", std::move(done));
  });
  const absl::Duration took = absl::Now() - start;
  slow.ReleaseQueries();
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(answer.status().message(), "Answer: no answer in time");
  EXPECT_GE(took, absl::Milliseconds(250));
  EXPECT_LT(took, absl::Seconds(5));
  media.Delete("call-a", nullptr);
}

}  // namespace
}  // namespace trunkline::signaling
