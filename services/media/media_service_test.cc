#include "services/media/media_service.h"

#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "services/common/grpc_server.h"
#include "trunkline/v1/health_check.grpc.pb.h"

namespace trunkline::media {
namespace {

constexpr char kOffer[] =
    "v=0\r\no=peer 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
    "t=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

std::chrono::system_clock::time_point Soon() {
  return std::chrono::system_clock::now() + std::chrono::seconds(5);
}

// The API served on its completion queue by the real workers: the per-call
// methods go through the owning worker, the event stream carries what the
// hub publishes, the health check is answered on the queue, and a request
// read after StopPosting() is refused instead of left unanswered.
class MediaServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A range of its own, so parallel test binaries do not collide, below
    // the kernel's ephemeral range (see worker_test.cc).
    const uint32_t base = 24000 + 100 * uint32_t(getpid() % 20);
    ports_ = *relay::PortAllocator::Create(base, base + 99, absl::Seconds(30));
    relay::WorkerOptions options;
    options.bind_address = "127.0.0.1";
    options.rtp_timeout_seconds = 0;
    for (int i = 0; i < 2; ++i) {
      workers_.push_back(
          *relay::Worker::Create(i, options, ports_.get(), &hub_, nullptr));
    }
    service_ = std::make_unique<MediaService>(&workers_, ports_.get(), &hub_);
    auto server = GrpcServer::Start(
        "127.0.0.1:0", {}, nullptr,
        [this](grpc::ServerBuilder* builder) { service_->Configure(builder); });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    for (auto& worker : workers_) worker->Start();
    service_->Start();
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::Media::NewStub(channel_);
  }
  void TearDown() override {
    // The runtime's order (MediaApp::ServerStopped).
    if (server_ != nullptr) server_->Shutdown(absl::ZeroDuration());
    service_->StopPosting();
    for (auto& worker : workers_) worker->Stop();
    service_->StopQueue();
  }

  grpc::Status Offer(const std::string& call_id, std::string* sdp) {
    v1::OfferRequest request;
    request.set_call_id(call_id);
    request.set_from_leg(v1::LEG_CALLER);
    request.set_request_id("1");
    request.set_sdp(kOffer);
    grpc::ClientContext context;
    context.set_deadline(Soon());
    v1::SdpResponse response;
    grpc::Status status = stub_->Offer(&context, request, &response);
    *sdp = response.sdp();
    return status;
  }

  relay::EventHub hub_;
  std::unique_ptr<relay::PortAllocator> ports_;
  std::vector<std::unique_ptr<relay::Worker>> workers_;
  std::unique_ptr<MediaService> service_;
  std::unique_ptr<GrpcServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Media::Stub> stub_;
};

TEST_F(MediaServiceTest, ServesCallsEventsLoadAndHealthOnItsQueue) {
  std::string sdp;
  ASSERT_TRUE(Offer("call-1", &sdp).ok());
  EXPECT_NE(sdp.find("m=audio "), std::string::npos) << sdp;
  EXPECT_EQ(sdp.find("m=audio 40000 "), std::string::npos)
      << "the port is the relay's:\n"
      << sdp;
  // A retried Offer is the same allocation.
  std::string again;
  ASSERT_TRUE(Offer("call-1", &again).ok());
  EXPECT_EQ(again, sdp);
  {
    grpc::ClientContext context;
    context.set_deadline(Soon());
    v1::Load load;
    ASSERT_TRUE(stub_->GetLoad(&context, {}, &load).ok());
    EXPECT_EQ(load.sessions(), 1u);
  }
  {
    grpc::ClientContext context;
    context.set_deadline(Soon());
    v1::QueryRequest request;
    request.set_call_id("no-such-call");
    v1::QueryResponse response;
    EXPECT_EQ(stub_->Query(&context, request, &response).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext context;
    context.set_deadline(Soon());
    v1::DeleteResponse response;
    EXPECT_EQ(stub_->Delete(&context, {}, &response).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT)
        << "a Delete without call_id";
  }
  {
    grpc::ClientContext context;
    context.set_deadline(Soon());
    v1::DeleteRequest request;
    request.set_call_id("call-1");
    v1::DeleteResponse response;
    ASSERT_TRUE(stub_->Delete(&context, request, &response).ok());
  }
  EXPECT_EQ(service_->sessions(), 0u);

  // Two streams, each gets every event published after it opened. The
  // request has no fields: a stream is every event of the instance.
  const v1::WatchEventsRequest every_event;
  grpc::ClientContext watch[2];
  std::unique_ptr<grpc::ClientReader<v1::MediaEvent>> readers[2];
  for (int i = 0; i < 2; ++i) {
    readers[i] = stub_->WatchEvents(&watch[i], every_event);
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (hub_.watchers() < 2 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_EQ(hub_.watchers(), 2u);
  for (int n = 0; n < 3; ++n) {
    v1::MediaEvent event;
    event.set_kind(v1::MediaEvent::KIND_DTMF);
    event.set_call_id(absl::StrCat("call-", n));
    hub_.Publish(event);
  }
  for (int i = 0; i < 2; ++i) {
    for (int n = 0; n < 3; ++n) {
      v1::MediaEvent event;
      ASSERT_TRUE(readers[i]->Read(&event)) << "stream " << i;
      EXPECT_EQ(event.call_id(), absl::StrCat("call-", n));
    }
  }
  // A client that goes away leaves the hub.
  watch[0].TryCancel();
  readers[0]->Finish();
  while (hub_.watchers() > 1 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(hub_.watchers(), 1u);

  auto health = grpc::health::v1::Health::NewStub(channel_);
  grpc::health::v1::HealthCheckResponse response;
  {
    grpc::ClientContext context;
    context.set_deadline(Soon());
    ASSERT_TRUE(health->Check(&context, {}, &response).ok());
    EXPECT_EQ(response.status(),
              grpc::health::v1::HealthCheckResponse::SERVING);
  }
  server_->SetServing(false);
  {
    grpc::ClientContext context;
    context.set_deadline(Soon());
    ASSERT_TRUE(health->Check(&context, {}, &response).ok());
    EXPECT_EQ(response.status(),
              grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  }
  // The service stops: the open stream ends with OK, and the server's
  // shutdown does not wait out its grace for it.
  service_->CloseStreams();
  v1::MediaEvent event;
  EXPECT_FALSE(readers[1]->Read(&event));
  EXPECT_TRUE(readers[1]->Finish().ok());
  {
    // One that opens meanwhile ends at once too.
    grpc::ClientContext late;
    late.set_deadline(Soon());
    auto reader = stub_->WatchEvents(&late, every_event);
    EXPECT_FALSE(reader->Read(&event));
    EXPECT_TRUE(reader->Finish().ok());
  }
  const absl::Time stopping = absl::Now();
  server_->Shutdown(absl::Seconds(5));
  EXPECT_LT(absl::Now() - stopping, absl::Seconds(2));
  while (hub_.watchers() > 0 && absl::Now() < deadline + absl::Seconds(5)) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(hub_.watchers(), 0u);
}

TEST_F(MediaServiceTest, RefusesWorkOnceStopping) {
  service_->StopPosting();
  std::string sdp;
  grpc::Status status = Offer("call-2", &sdp);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(status.error_message().find("stopping"), std::string::npos)
      << status.error_message();
  EXPECT_EQ(service_->sessions(), 0u);
}

}  // namespace
}  // namespace trunkline::media
