#include "services/signaling/signaling_admin_service.h"

#include <atomic>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "services/common/grpc_server.h"
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

}  // namespace
}  // namespace trunkline::signaling
