#include "services/signaling/media_event_watcher.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "services/signaling/grpc_completion_thread.h"

namespace trunkline::signaling {
namespace {

// A media instance whose first two WatchEvents streams each carry one event
// and end (as a restarting instance would); the third stays open until the
// client cancels.
class FlakyEvents final : public v1::Media::CallbackService {
 public:
  grpc::ServerWriteReactor<v1::MediaEvent>* WatchEvents(
      grpc::CallbackServerContext*, const v1::WatchEventsRequest*) override {
    int n;
    {
      absl::MutexLock lock(&mu_);
      n = ++streams_;
    }
    return new Stream(n, /*finish=*/n <= 2);
  }
  int streams() {
    absl::MutexLock lock(&mu_);
    return streams_;
  }

 private:
  class Stream final : public grpc::ServerWriteReactor<v1::MediaEvent> {
   public:
    Stream(int n, bool finish) : finish_(finish) {
      event_.set_kind(v1::MediaEvent::KIND_RTP_TIMEOUT);
      event_.set_call_id("call-" + std::to_string(n));
      StartWrite(&event_);
    }
    void OnWriteDone(bool) override {
      if (finish_) Finish(grpc::Status::OK);
    }
    void OnCancel() override { Finish(grpc::Status::CANCELLED); }
    void OnDone() override { delete this; }

   private:
    bool finish_;
    v1::MediaEvent event_;
  };
  absl::Mutex mu_;
  int streams_ ABSL_GUARDED_BY(mu_) = 0;
};

TEST(MediaEventWatcherTest, DeliversEventsReopensEndedStreamsAndStopsClean) {
  FlakyEvents service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(port, 0);
  auto stub = v1::Media::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));

  absl::Mutex mu;
  std::vector<std::string> seen;
  int posted = 0;
  GrpcCompletionThread completions;
  auto watcher = std::make_unique<MediaEventWatcher>(
      std::vector<MediaEventWatcher::Instance>{
          {"127.0.0.1:" + std::to_string(port), stub.get()}},
      [&](std::function<void()> task) {
        {
          absl::MutexLock lock(&mu);
          ++posted;
        }
        task();  // the test's "loop" runs it at once
      },
      [&](const v1::MediaEvent& e) {
        absl::MutexLock lock(&mu);
        seen.push_back(e.call_id());
      },
      completions.queue(), absl::Milliseconds(50));

  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  for (;;) {
    {
      absl::MutexLock lock(&mu);
      if (seen.size() >= 3 || absl::Now() > deadline) break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  {
    absl::MutexLock lock(&mu);
    ASSERT_EQ(seen.size(), 3u) << "each reopened stream's event arrives";
    EXPECT_EQ(seen[0], "call-1");
    EXPECT_EQ(seen[1], "call-2");
    EXPECT_EQ(seen[2], "call-3");
    EXPECT_EQ(posted, 3) << "events reach the handler through the poster";
  }
  EXPECT_EQ(service.streams(), 3);
  EXPECT_EQ(watcher->open_streams(), 1);
  // The third stream is still open: destruction cancels it and waits.
  watcher.reset();
  server->Shutdown();
}

}  // namespace
}  // namespace trunkline::signaling
