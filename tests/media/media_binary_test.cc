// The media service as signaling uses it: the real `media` binary on
// loopback, driven over gRPC with SDP offers and answers, with real SRTP
// from a libsrtp-based test peer on one side and plain RTP on the other.
// Payloads are compared byte for byte after decryption, in both directions,
// after every offer/answer step of the call (hold, resume, rekey).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "services/media/sdp/attributes.h"
#include "services/media/sdp/sdp.h"
#include "services/media/testing/rtp_peer.h"
#include "tests/e2e/service_process.h"
#include "trunkline/v1/media.grpc.pb.h"

namespace trunkline {
namespace {

using media::testing::RtpPeer;
using trunkline::testing::HttpGet;
using trunkline::testing::RunCommand;
using trunkline::testing::ServiceProcess;

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string PeerSdp(const RtpPeer& peer, const std::string& key_params,
                    const std::string& direction, int version) {
  const bool srtp = !key_params.empty();
  std::string sdp = absl::StrCat(
      "v=0\r\no=peer 7 ", version,
      " IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ",
      peer.rtp_port(), srtp ? " RTP/SAVP" : " RTP/AVP",
      " 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
      "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n");
  if (srtp) {
    absl::StrAppend(&sdp, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 ", key_params,
                    "\r\n");
  }
  absl::StrAppend(&sdp, "a=", direction, "\r\n");
  return sdp;
}

struct RelayView {
  uint16_t port = 0;
  std::string suite, key_params, direction, proto;
};

RelayView View(const std::string& text) {
  RelayView view;
  auto parsed = media::sdp::Parse(text);
  EXPECT_TRUE(parsed.ok()) << text;
  if (!parsed.ok() || parsed->media.empty()) return view;
  const auto& m = parsed->media[0];
  view.port = uint16_t(m.port);
  view.proto = m.proto;
  if (const auto* crypto = m.attributes.Find("crypto")) {
    auto c = media::sdp::ParseCrypto(*crypto->value);
    if (c.ok()) {
      view.suite = c->suite;
      view.key_params = c->key_params[0];
    }
  }
  view.direction = std::string(
      media::sdp::DirectionName(media::sdp::EffectiveDirection(*parsed, m)));
  return view;
}

class MediaBinaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/trunkline-media-e2e-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    log_ = dir_ + "/media.log";
    ASSERT_NO_FATAL_FAILURE(StartMedia({}));
    a_ = *RtpPeer::Create(0xCA11E400);
    b_ = *RtpPeer::Create(0xCA11EE00);
  }
  // The media binary on ports of this test's own, with `extra` flags.
  void StartMedia(const std::vector<std::string>& extra) {
    const int base = 26000 + 400 * (getpid() % 7);  // below 32768
    std::vector<std::string> flags = {
        absl::StrCat("--rtp_port_min=", base),
        absl::StrCat("--rtp_port_max=", base + 399),
        "--workers=2",
        "--rtp_bind_address=127.0.0.1",
        "--advertised_address=127.0.0.1",
        "--rtp_timeout_seconds=0"};
    flags.insert(flags.end(), extra.begin(), extra.end());
    ASSERT_TRUE(media_.Start(
        TRUNKLINE_MEDIA_BIN,
        absl::StrCat(TRUNKLINE_SOURCE_DIR, "/tests/topology/minimal.yaml"),
        log_, flags));
    ASSERT_TRUE(media_.WaitReady()) << Read(log_);
    stub_ = v1::Media::NewStub(grpc::CreateChannel(
        media_.grpc_address(), grpc::InsecureChannelCredentials()));
  }
  void StopMedia() {
    if (media_.pid() <= 0) return;
    // Our channel goes first, so the stop waits for nothing of ours.
    stub_.reset();
    media_.Signal(SIGINT);
    media_.WaitExit();
  }
  void TearDown() override {
    StopWatching();
    if (HasFailure()) std::cerr << "media log:\n" << Read(log_);
    StopMedia();
    std::string ignored;
    RunCommand({"/bin/rm", "-rf", dir_}, &ignored);
  }

  grpc::Status Offer(v1::Leg from, const std::string& sdp,
                     const std::string& request_id, bool update,
                     std::string* out, v1::SidePlan from_side = {},
                     v1::SidePlan to_side = {}) {
    v1::OfferRequest request;
    request.set_call_id(call_id_);
    request.set_from_leg(from);
    request.set_request_id(request_id);
    request.set_sdp(sdp);
    *request.mutable_from_side() = from_side;
    *request.mutable_to_side() = to_side;
    v1::SdpResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(5));
    grpc::Status status = update ? stub_->Update(&context, request, &response)
                                 : stub_->Offer(&context, request, &response);
    *out = response.sdp();
    return status;
  }
  grpc::Status Answer(v1::Leg from, const std::string& sdp,
                      const std::string& request_id, std::string* out) {
    v1::AnswerRequest request;
    request.set_call_id(call_id_);
    request.set_from_leg(from);
    request.set_request_id(request_id);
    request.set_sdp(sdp);
    v1::SdpResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(5));
    grpc::Status status = stub_->Answer(&context, request, &response);
    *out = response.sdp();
    return status;
  }

  // One packet each way; exact bytes after decryption.
  void ExpectBothWays(const std::string& when, int packets = 5) {
    for (int i = 0; i < packets; ++i) {
      std::vector<uint8_t> payload(160);
      for (size_t j = 0; j < payload.size(); ++j) {
        payload[j] = uint8_t(j ^ (i * 31) ^ counter_);
      }
      ++counter_;
      auto sent = a_->SendRtp(relay_a_, 0, payload);
      auto got = b_->Receive(1000);
      ASSERT_TRUE(got.has_value()) << "caller->callee lost " << when;
      EXPECT_EQ(got->data, sent) << "caller->callee " << when;
      EXPECT_EQ(got->from_port, relay_b_) << "relay hides the caller";
      sent = b_->SendRtp(relay_b_, 0, payload);
      got = a_->Receive(1000);
      ASSERT_TRUE(got.has_value()) << "callee->caller lost " << when;
      EXPECT_EQ(got->data, sent) << "callee->caller " << when;
    }
  }

  void StartWatching() {
    watch_context_ = std::make_unique<grpc::ClientContext>();
    watcher_ = std::thread([this] {
      auto reader = stub_->WatchEvents(watch_context_.get(), {});
      v1::MediaEvent event;
      while (reader->Read(&event)) {
        absl::MutexLock lock(&events_mutex_);
        events_.push_back(event);
      }
      reader->Finish();
    });
  }
  void StopWatching() {
    if (!watcher_.joinable()) return;
    watch_context_->TryCancel();
    watcher_.join();
  }
  bool SawEvent(v1::MediaEvent::Kind kind, const std::string& digit = "") {
    absl::MutexLock lock(&events_mutex_);
    for (const auto& e : events_) {
      if (e.kind() == kind && (digit.empty() || e.digit() == digit)) {
        return true;
      }
    }
    return false;
  }

  std::string dir_, log_;
  std::string call_id_ = "e2e-call@example";
  ServiceProcess media_;
  std::unique_ptr<v1::Media::Stub> stub_;
  std::unique_ptr<RtpPeer> a_, b_;
  uint16_t relay_a_ = 0, relay_b_ = 0;
  int counter_ = 0;
  std::unique_ptr<grpc::ClientContext> watch_context_;
  std::thread watcher_;
  absl::Mutex events_mutex_;
  std::vector<v1::MediaEvent> events_;
};

TEST_F(MediaBinaryTest, SrtpCallerToPlainCalleeThroughHoldResumeAndRekey) {
  StartWatching();
  // INVITE from the UC side: SRTP required there, none towards the PSTN.
  std::string a_key = *a_->NewSendKey(media::srtp::Suite::kAesCm128HmacSha1_80);
  v1::SidePlan uc_side, pstn_side;
  uc_side.set_srtp(v1::SRTP_MODE_REQUIRED);
  pstn_side.set_srtp(v1::SRTP_MODE_NOT_SUPPORTED);
  std::string to_b, to_a;
  ASSERT_TRUE(Offer(v1::LEG_CALLER, PeerSdp(*a_, a_key, "sendrecv", 1),
                    "invite", false, &to_b, uc_side, pstn_side)
                  .ok());
  RelayView b_view = View(to_b);
  EXPECT_EQ(b_view.proto, "RTP/AVP");
  EXPECT_TRUE(b_view.key_params.empty());
  EXPECT_FALSE(absl::StrContains(to_b, std::to_string(a_->rtp_port())))
      << "the caller's address leaks to the callee";
  relay_b_ = b_view.port;

  // A retried Offer returns the same allocation.
  std::string again;
  ASSERT_TRUE(Offer(v1::LEG_CALLER, PeerSdp(*a_, a_key, "sendrecv", 1),
                    "invite", false, &again, uc_side, pstn_side)
                  .ok());
  EXPECT_EQ(again, to_b);

  ASSERT_TRUE(
      Answer(v1::LEG_CALLEE, PeerSdp(*b_, "", "sendrecv", 1), "invite", &to_a)
          .ok());
  RelayView a_view = View(to_a);
  EXPECT_EQ(a_view.proto, "RTP/SAVP");
  ASSERT_FALSE(a_view.key_params.empty()) << to_a;
  relay_a_ = a_view.port;
  ASSERT_TRUE(a_->SetReceiveKey(a_view.suite, a_view.key_params).ok());
  ExpectBothWays("after the answer");

  // Hold from the caller (sendonly / recvonly), then resume.
  std::string sdp;
  ASSERT_TRUE(Offer(v1::LEG_CALLER, PeerSdp(*a_, a_key, "sendonly", 2), "hold",
                    true, &sdp)
                  .ok());
  EXPECT_EQ(View(sdp).direction, "sendonly");
  ASSERT_TRUE(
      Answer(v1::LEG_CALLEE, PeerSdp(*b_, "", "recvonly", 2), "hold", &sdp)
          .ok());
  EXPECT_EQ(View(sdp).direction, "recvonly");
  ASSERT_TRUE(Offer(v1::LEG_CALLER, PeerSdp(*a_, a_key, "sendrecv", 3),
                    "resume", true, &sdp)
                  .ok());
  ASSERT_TRUE(
      Answer(v1::LEG_CALLEE, PeerSdp(*b_, "", "sendrecv", 3), "resume", &sdp)
          .ok());
  ExpectBothWays("after resume");

  // Rekey from the caller, who starts the new key with its offer.
  a_key = *a_->NewSendKey(media::srtp::Suite::kAesCm128HmacSha1_80);
  ASSERT_TRUE(Offer(v1::LEG_CALLER, PeerSdp(*a_, a_key, "sendrecv", 4), "rekey",
                    true, &sdp)
                  .ok());
  ExpectBothWays("between the rekey offer and its answer");
  ASSERT_TRUE(
      Answer(v1::LEG_CALLEE, PeerSdp(*b_, "", "sendrecv", 4), "rekey", &sdp)
          .ok());
  ASSERT_TRUE(a_->SetReceiveKey(View(sdp).suite, View(sdp).key_params).ok());
  ExpectBothWays("after the rekey");

  // A DTMF digit from the PSTN side: relayed and reported.
  std::vector<uint8_t> event = {0x80, 101,  0x7F, 0x00, 0, 0,    0x40, 0,
                                0xCA, 0x11, 0xEE, 0x00, 9, 0x8A, 0x03, 0x20};
  for (int i = 0; i < 3; ++i) {
    event[3] = uint8_t(i);
    b_->SendRaw(relay_b_, event);
    auto got = a_->Receive(1000);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->data, event);
  }

  // Quality figures.
  v1::QueryRequest query_request;
  query_request.set_call_id(call_id_);
  v1::QueryResponse query;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->Query(&context, query_request, &query).ok());
  }
  ASSERT_EQ(query.streams_size(), 2);
  EXPECT_EQ(query.streams(0).leg(), v1::LEG_CALLER);
  EXPECT_GE(query.streams(0).packets(), 15u);
  EXPECT_EQ(query.streams(0).srtp_auth_failures(), 0u);
  EXPECT_GT(query.streams(1).last_packet_unix_ms(), 0);
  EXPECT_GT(query.streams(1).mos(), 1.0);

  v1::Load load;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->GetLoad(&context, {}, &load).ok());
  }
  EXPECT_EQ(load.sessions(), 1u);
  EXPECT_EQ(load.streams(), 1u);
  EXPECT_GT(load.capacity_left(), 0u);

  for (int i = 0; i < 50 && !SawEvent(v1::MediaEvent::KIND_DTMF, "9"); ++i) {
    usleep(20000);
  }
  EXPECT_TRUE(SawEvent(v1::MediaEvent::KIND_DTMF, "9"));

  // Metrics once the workers have flushed (every 250 ms).
  usleep(400000);
  const std::string metrics = HttpGet(media_.metrics_port(), "/metrics");
  EXPECT_TRUE(absl::StrContains(
      metrics,
      "trunkline_media_relayed_packets_total{crypto=\"srtp_to_rtp\","
      "direction=\"to_callee\"}"))
      << metrics;
  EXPECT_TRUE(absl::StrContains(metrics, "trunkline_media_sessions 1"));

  // The operator's view of the same call: trunkctl media query.
  std::string out;
  EXPECT_EQ(RunCommand({TRUNKLINE_TRUNKCTL_BIN, "media", "query", call_id_,
                        "--media=" + media_.grpc_address()},
                       &out),
            0)
      << out;
  EXPECT_TRUE(absl::StrContains(out, "on media " + media_.grpc_address()))
      << out;
  EXPECT_TRUE(absl::StrContains(out, "caller")) << out;
  EXPECT_TRUE(absl::StrContains(out, "callee")) << out;
  EXPECT_EQ(RunCommand({TRUNKLINE_TRUNKCTL_BIN, "media", "query",
                        "no-such-call", "--media=" + media_.grpc_address()},
                       &out),
            1)
      << out;
  EXPECT_TRUE(absl::StrContains(out, "no media instance anchors call")) << out;

  {
    grpc::ClientContext context;
    v1::DeleteRequest request;
    request.set_call_id(call_id_);
    v1::DeleteResponse response;
    ASSERT_TRUE(stub_->Delete(&context, request, &response).ok());
    // The session's last figures, for the call's record: at least what
    // Query counted before.
    uint64_t from_caller = 0;
    for (const v1::StreamStats& s : response.streams()) {
      if (s.leg() == v1::LEG_CALLER) from_caller += s.packets();
    }
    EXPECT_GE(from_caller, query.streams(0).packets())
        << response.DebugString();
  }
  a_->SendRtp(relay_a_, 0, {1, 2, 3});
  EXPECT_FALSE(b_->Receive(200).has_value()) << "relayed after Delete";
}

TEST_F(MediaBinaryTest, SrtpFailuresAndBadRequestsAreReported) {
  StartWatching();
  std::string a_key = *a_->NewSendKey(media::srtp::Suite::kAeadAes128Gcm);
  std::string sdp = PeerSdp(*a_, a_key, "sendrecv", 1);
  sdp = absl::StrReplaceAll(sdp,
                            {{"AES_CM_128_HMAC_SHA1_80", "AEAD_AES_128_GCM"}});
  v1::SidePlan srtp_side;
  srtp_side.set_srtp(v1::SRTP_MODE_REQUIRED);
  std::string to_b, to_a;
  ASSERT_TRUE(
      Offer(v1::LEG_CALLER, sdp, "1", false, &to_b, srtp_side, srtp_side).ok());
  RelayView b_view = View(to_b);
  relay_b_ = b_view.port;
  ASSERT_TRUE(b_->SetReceiveKey(b_view.suite, b_view.key_params).ok());
  std::string b_key = *b_->NewSendKey(media::srtp::Suite::kAesCm128HmacSha1_80);
  ASSERT_TRUE(
      Answer(v1::LEG_CALLEE, PeerSdp(*b_, b_key, "sendrecv", 1), "1", &to_a)
          .ok());
  RelayView a_view = View(to_a);
  EXPECT_EQ(a_view.suite, "AEAD_AES_128_GCM");
  relay_a_ = a_view.port;
  ASSERT_TRUE(a_->SetReceiveKey(a_view.suite, a_view.key_params).ok());
  ExpectBothWays("SRTP (GCM) to SRTP (AES-CM)");

  // A sender with the wrong key: dropped, counted, reported.
  auto intruder = *RtpPeer::Create(0x0BADBAD0);
  ASSERT_TRUE(intruder->NewSendKey(media::srtp::Suite::kAeadAes128Gcm).ok());
  intruder->SendRtp(relay_a_, 0, std::vector<uint8_t>(160, 1));
  EXPECT_FALSE(b_->Receive(200).has_value());
  for (int i = 0; i < 50 && !SawEvent(v1::MediaEvent::KIND_SRTP_FAILURE); ++i) {
    usleep(20000);
  }
  EXPECT_TRUE(SawEvent(v1::MediaEvent::KIND_SRTP_FAILURE));
  ExpectBothWays("after the intruder", 2);

  // Bad requests get codes signaling can act on.
  std::string ignored;
  EXPECT_EQ(Offer(v1::LEG_CALLER, "garbage", "2", true, &ignored).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  call_id_ = "unknown-call";
  EXPECT_EQ(Answer(v1::LEG_CALLEE, to_a, "1", &ignored).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // Drain: no new calls, the existing one goes on.
  {
    grpc::ClientContext context;
    v1::DrainResponse response;
    ASSERT_TRUE(stub_->Drain(&context, {}, &response).ok());
  }
  call_id_ = "after-drain";
  EXPECT_EQ(
      Offer(v1::LEG_CALLER, sdp, "1", false, &ignored, srtp_side, srtp_side)
          .error_code(),
      grpc::StatusCode::UNAVAILABLE);
  v1::Load load;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->GetLoad(&context, {}, &load).ok());
  }
  EXPECT_TRUE(load.draining());
  EXPECT_EQ(load.capacity_left(), 0u);
  ExpectBothWays("while draining", 2);
}

// A call whose signaling instance went away: no Answer ever comes for one
// session's offer, no Delete for another's that timed out. The relay deletes
// both itself --orphan_seconds later and counts them.
TEST_F(MediaBinaryTest, OrphanedSessionsAreDeletedAndCounted) {
  StopMedia();
  ASSERT_NO_FATAL_FAILURE(
      StartMedia({"--orphan_seconds=1", "--rtp_timeout_seconds=1"}));
  std::string out;
  call_id_ = "never-answered@example";
  ASSERT_TRUE(Offer(v1::LEG_CALLER, PeerSdp(*a_, "", "sendrecv", 1), "invite-1",
                    false, &out)
                  .ok());
  call_id_ = "timed-out@example";
  ASSERT_TRUE(Offer(v1::LEG_CALLER, PeerSdp(*a_, "", "sendrecv", 1), "invite-1",
                    false, &out)
                  .ok());
  ASSERT_TRUE(
      Answer(v1::LEG_CALLEE, PeerSdp(*b_, "", "sendrecv", 1), "invite-1", &out)
          .ok());
  auto exists = [this](const std::string& call_id) {
    v1::QueryRequest request;
    request.set_call_id(call_id);
    v1::QueryResponse response;
    grpc::ClientContext context;
    return stub_->Query(&context, request, &response).error_code() !=
           grpc::StatusCode::NOT_FOUND;
  };
  EXPECT_TRUE(exists("never-answered@example"));
  EXPECT_TRUE(exists("timed-out@example"));
  // Never answered: gone after 1 s; timed out: 1 s of silence, then 1 s.
  for (int i = 0; i < 60 && exists("timed-out@example"); ++i) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_FALSE(exists("never-answered@example"));
  EXPECT_FALSE(exists("timed-out@example"));
  absl::SleepFor(absl::Milliseconds(300));  // the workers' metrics flush
  const std::string metrics = HttpGet(media_.metrics_port(), "/metrics");
  EXPECT_TRUE(absl::StrContains(
      metrics,
      "trunkline_media_orphaned_sessions_deleted_total{reason=\"never_"
      "answered\"} 1"))
      << metrics;
  EXPECT_TRUE(absl::StrContains(
      metrics,
      "trunkline_media_orphaned_sessions_deleted_total{reason=\"media_"
      "timeout\"} 1"))
      << metrics;
  EXPECT_TRUE(absl::StrContains(metrics, "trunkline_media_sessions 0"));
}

TEST_F(MediaBinaryTest, SigtermWaitsForCallsThenExits) {
  media_.Signal(SIGTERM);
  EXPECT_EQ(media_.WaitExit(), 0);
}

}  // namespace
}  // namespace trunkline
