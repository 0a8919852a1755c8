#include "services/signaling/signaling_admin_service.h"

#include <atomic>
#include <cstdlib>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "services/common/grpc_server.h"
#include "services/common/topology/loader.h"
#include "services/signaling/example_topology_for_test.h"
#include "services/signaling/fake_sip_stack.h"

namespace trunkline::signaling {
namespace {

// A fake stack whose Post() is safe from gRPC's threads; the test thread
// plays the loop with PumpUntil().
class LoopStack : public testing::FakeSipStack {
 public:
  void Post(std::function<void()> task) override {
    absl::MutexLock lock(&mu_);
    queue_.push_back(std::move(task));
  }
  // Runs what was posted until `done` holds (false after ~5 s).
  bool PumpUntil(const std::function<bool()>& done) {
    for (int i = 0; i < 500; ++i) {
      std::deque<std::function<void()>> tasks;
      {
        absl::MutexLock lock(&mu_);
        tasks.swap(queue_);
      }
      for (auto& t : tasks) t();
      if (done()) return true;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return false;
  }

 private:
  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
};

SipTraceRecord Message(const std::string& call_id) {
  return {
      absl::Now(), true, "127.0.0.11:5060/udp",
      absl::StrCat("OPTIONS sip:a SIP/2.0\r\nCall-ID: ", call_id, "\r\n\r\n")};
}

class TraceApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = *GrpcServer::Start("127.0.0.1:0", {&service_});
    stub_ = v1::SignalingAdmin::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                            grpc::InsecureChannelCredentials()));
  }
  void TearDown() override { server_->Shutdown(absl::ZeroDuration()); }

  LoopStack stack_;
  SipTraceHub hub_{nullptr, nullptr};
  SignalingAdminService service_{nullptr, &stack_, nullptr,
                                 nullptr, nullptr, &hub_};
  std::unique_ptr<GrpcServer> server_;
  std::unique_ptr<v1::SignalingAdmin::Stub> stub_;
};

TEST_F(TraceApiTest, ACallIdAndATrunkTogetherAreInvalid) {
  grpc::ClientContext context;
  v1::TraceRequest request;
  request.set_call_id("a");
  request.set_trunk("b");
  auto reader = stub_->Trace(&context, request);
  v1::TraceEvent event;
  EXPECT_FALSE(reader->Read(&event));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(TraceApiTest, StreamsTheFilteredMessagesUntilTheClientCancels) {
  grpc::ClientContext context;
  v1::TraceRequest request;
  request.set_call_id("wanted");
  absl::Mutex mu;
  std::vector<v1::TraceEvent> got;
  std::atomic<bool> ended{false};
  grpc::Status status;
  std::thread client([&] {
    auto reader = stub_->Trace(&context, request);
    v1::TraceEvent event;
    while (reader->Read(&event)) {
      absl::MutexLock lock(&mu);
      got.push_back(event);
    }
    status = reader->Finish();
    ended = true;
  });
  ASSERT_TRUE(stack_.PumpUntil([&] { return hub_.active(); }));
  hub_.Publish(Message("wanted"));
  hub_.Publish(Message("other"));
  hub_.Publish(Message("wanted"));
  ASSERT_TRUE(stack_.PumpUntil([&] {
    absl::MutexLock lock(&mu);
    return got.size() == 2;
  }));
  context.TryCancel();
  // The subscription goes on the loop before the stream finishes.
  EXPECT_TRUE(stack_.PumpUntil([&] { return ended && !hub_.active(); }));
  client.join();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].call_id(), "wanted");
  EXPECT_EQ(got[0].direction(), "in");
  EXPECT_EQ(got[0].summary(), "OPTIONS sip:a SIP/2.0");
}

// --- GetCall: the call from the B2BUA, its media figures from the
// MediaController, both on the loop.

class FakeRouting : public RoutingClient {
 public:
  void Route(const v1::RouteRequest&, Done done) override {
    pending.push_back(std::move(done));
  }
  std::vector<Done> pending;
};

// Anchors every offer on "media-1:7300"; Query answers as the test says,
// at once or when the test calls the stored callback.
class FakeMediaController : public MediaController {
 public:
  void Offer(const std::string& call_id, const v1::Candidate&,
             const std::string&, SdpDone done) override {
    anchored.push_back(call_id);
    done(std::string("v=0 relay\r\n"));
  }
  void OfferFromCallee(const std::string& call_id, const v1::Candidate& c,
                       const std::string& sdp, SdpDone done) override {
    Offer(call_id, c, sdp, std::move(done));
  }
  void Update(const std::string&, MediaLeg, const std::string&,
              SdpDone done) override {
    done(std::string("v=0 relay update\r\n"));
  }
  void Answer(const std::string&, MediaLeg, const std::string&,
              SdpDone done) override {
    done(std::string("v=0 relay answer\r\n"));
  }
  void Delete(const std::string&, QueryDone) override {}
  void Query(const std::string& call_id, QueryDone done) override {
    queried.push_back(call_id);
    if (hold) {
      held.push_back(std::move(done));
    } else {
      done(answer);
    }
  }
  std::string InstanceOf(const std::string& call_id) const override {
    for (const std::string& id : anchored) {
      if (id == call_id) return "media-1:7300";
    }
    return "";
  }

  std::vector<std::string> anchored, queried;
  absl::StatusOr<v1::QueryResponse> answer;
  bool hold = false;
  std::vector<QueryDone> held;
};

v1::QueryResponse TwoStreams() {
  v1::QueryResponse r;
  v1::StreamStats* caller = r.add_streams();
  caller->set_leg(v1::LEG_CALLER);
  caller->set_packets(480);
  caller->set_mos(4.4);
  v1::StreamStats* callee = r.add_streams();
  callee->set_leg(v1::LEG_CALLEE);
  callee->set_packets(470);
  return r;
}

class GetCallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto peers = PeerDirectory::Create(testing::ExampleTopology(), "");
    ASSERT_TRUE(peers.ok()) << peers.status();
    b2bua_.SetPeers(std::move(*peers));
    server_ = *GrpcServer::Start("127.0.0.1:0", {&service_});
    stub_ = v1::SignalingAdmin::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                            grpc::InsecureChannelCredentials()));
  }
  void TearDown() override { server_->Shutdown(absl::ZeroDuration()); }

  // A call from the UC front end, routed to pstn-dub; the test thread plays
  // the loop.
  void PlaceCall(bool anchor) {
    IncomingRequest r;
    r.method = "INVITE";
    r.request_uri = "sip:0871234567@127.0.0.1:5060";
    r.request_uri_user = "0871234567";
    r.from_uri = "sip:+35315551234@contoso.example";
    r.from_user = "+35315551234";
    r.call_id = "abc@fe";
    r.content_type = "application/sdp";
    r.body = "v=0\r\n";
    r.source.remote_address = "127.0.0.11";
    r.source.local_port = 5060;
    b2bua_.OnInvite(r, std::make_unique<testing::FakeServerLeg>());
    ASSERT_EQ(routing_.pending.size(), 1u);
    v1::RouteDecision d;
    v1::Candidate* c = d.add_candidates();
    c->set_trunk("pstn-dub");
    c->mutable_next_hop()->set_gateway("gw-dub");
    c->mutable_next_hop()->set_host("127.0.0.21");
    c->mutable_next_hop()->set_port(5060);
    c->mutable_media()->set_anchor(anchor);
    routing_.pending[0](d);
    ASSERT_EQ(stack_.sent.size(), 1u);  // the INVITE to the gateway
  }

  // GetCall from a client thread, the loop pumped until it answers.
  struct Reply {
    grpc::Status status;
    v1::CallDetail detail;
  };
  Reply GetCall(const std::string& call_id) {
    Reply reply;
    grpc::ClientContext context;
    v1::GetCallRequest request;
    request.set_call_id(call_id);
    std::atomic<bool> done{false};
    stub_->async()->GetCall(&context, &request, &reply.detail,
                            [&](grpc::Status s) {
                              reply.status = std::move(s);
                              done = true;
                            });
    EXPECT_TRUE(stack_.PumpUntil([&] { return done.load(); }));
    return reply;
  }

  LoopStack stack_;
  prometheus::Registry registry_;
  SignalingMetrics metrics_{&registry_};
  FakeRouting routing_;
  FakeMediaController media_;
  B2bua b2bua_{&stack_, &routing_, &media_, &metrics_};
  SignalingAdminService service_{nullptr, &stack_, &b2bua_, nullptr,
                                 nullptr, nullptr, &media_};
  std::unique_ptr<GrpcServer> server_;
  std::unique_ptr<v1::SignalingAdmin::Stub> stub_;
};

TEST_F(GetCallTest, AnchoredCallCarriesItsMediaStreams) {
  PlaceCall(/*anchor=*/true);
  media_.answer = TwoStreams();
  Reply r = GetCall("abc@fe");
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.detail.summary().call_id(), "abc@fe");
  EXPECT_EQ(r.detail.media_instance(), "media-1:7300");
  ASSERT_EQ(r.detail.media_streams_size(), 2);
  EXPECT_EQ(r.detail.media_streams(0).leg(), v1::LEG_CALLER);
  EXPECT_EQ(r.detail.media_streams(0).packets(), 480u);
  EXPECT_DOUBLE_EQ(r.detail.media_streams(0).mos(), 4.4);
  EXPECT_EQ(r.detail.media_streams(1).packets(), 470u);
  EXPECT_TRUE(r.detail.media_error().empty());
  EXPECT_THAT(media_.queried, ::testing::ElementsAre("abc@fe"));
}

TEST_F(GetCallTest, MediaThatCannotBeAskedStillGivesTheCall) {
  PlaceCall(/*anchor=*/true);
  media_.answer = absl::DeadlineExceededError(
      "media Query at media-1:7300: Deadline Exceeded");
  Reply r = GetCall("abc@fe");
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.detail.legs_size(), 2);
  EXPECT_EQ(r.detail.route(), "pstn-dub via gw-dub");
  EXPECT_EQ(r.detail.media_instance(), "media-1:7300");
  EXPECT_EQ(r.detail.media_streams_size(), 0);
  EXPECT_EQ(r.detail.media_error(),
            "media Query at media-1:7300: Deadline Exceeded");
}

TEST_F(GetCallTest, BypassedCallAsksNoMediaInstance) {
  PlaceCall(/*anchor=*/false);
  Reply r = GetCall("abc@fe");
  ASSERT_TRUE(r.status.ok());
  EXPECT_TRUE(r.detail.media_instance().empty());
  EXPECT_EQ(r.detail.media_streams_size(), 0);
  EXPECT_TRUE(r.detail.media_error().empty());
  EXPECT_TRUE(media_.queried.empty());
}

TEST_F(GetCallTest, UnknownCallIsNotFoundWithoutAskingMedia) {
  Reply r = GetCall("nope");
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(media_.queried.empty());
  EXPECT_EQ(GetCall("").status.error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(GetCallTest, TheLoopKeepsServingWhileMediaAnswers) {
  PlaceCall(/*anchor=*/true);
  media_.hold = true;
  grpc::ClientContext get_context;
  v1::GetCallRequest request;
  request.set_call_id("abc@fe");
  v1::CallDetail detail;
  std::atomic<bool> got{false};
  grpc::Status get_status;
  stub_->async()->GetCall(&get_context, &request, &detail, [&](grpc::Status s) {
    get_status = std::move(s);
    got = true;
  });
  ASSERT_TRUE(stack_.PumpUntil([&] { return media_.held.size() == 1; }));
  // The media instance has not answered: GetCall waits, yet the loop runs
  // other work (ListCalls) meanwhile.
  grpc::ClientContext list_context;
  v1::ListCallsRequest list_request;
  v1::ListCallsResponse calls;
  std::atomic<bool> listed{false};
  stub_->async()->ListCalls(&list_context, &list_request, &calls,
                            [&](const grpc::Status&) { listed = true; });
  ASSERT_TRUE(stack_.PumpUntil([&] { return listed.load(); }));
  EXPECT_EQ(calls.calls_size(), 1);
  EXPECT_FALSE(got);
  // The answer comes back on the loop and finishes the call.
  media_.held[0](TwoStreams());
  ASSERT_TRUE(stack_.PumpUntil([&] { return got.load(); }));
  ASSERT_TRUE(get_status.ok());
  EXPECT_EQ(detail.media_streams_size(), 2);
}

}  // namespace
}  // namespace trunkline::signaling
