// A worker driven from the test's thread (RunOnce) with real loopback
// sockets: offer/answer through the control operations, then packets from
// test peers through the relay, checked byte for byte after decryption.
// The re-INVITE cases (hold, resume, rekey, new address) check both
// directions after every step: one-way audio is the fault to catch.
#include "services/media/relay/worker.h"

#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/media/sdp/attributes.h"
#include "services/media/sdp/sdp.h"
#include "services/media/testing/rtp_peer.h"

namespace trunkline::media::relay {
namespace {

using ::testing::HasSubstr;
using testing::RtpPeer;

constexpr char k80[] = "AES_CM_128_HMAC_SHA1_80";

struct PeerSdpOptions {
  std::string key_params = "";  // empty: plain RTP/AVP
  std::string suite = k80;
  std::string direction = "sendrecv";
  uint16_t port = 0;  // 0: the peer's own
  bool rtcp_mux = false;
  int version = 1;
  bool null_address = false;
};

std::string PeerSdp(const RtpPeer& peer, const PeerSdpOptions& o) {
  const bool srtp = !o.key_params.empty();
  std::string sdp = absl::StrCat(
      "v=0\r\no=peer 1 ", o.version, " IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 ",
      o.null_address ? "0.0.0.0" : "127.0.0.1", "\r\nt=0 0\r\nm=audio ",
      o.port != 0 ? o.port : peer.rtp_port(), srtp ? " RTP/SAVP" : " RTP/AVP",
      " 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 "
      "telephone-event/8000\r\na=fmtp:101 0-16\r\n");
  if (o.rtcp_mux) absl::StrAppend(&sdp, "a=rtcp-mux\r\n");
  if (srtp) {
    absl::StrAppend(&sdp, "a=crypto:1 ", o.suite, " ", o.key_params, "\r\n");
  }
  absl::StrAppend(&sdp, "a=", o.direction, "\r\n");
  return sdp;
}

// The relay's port and (first) key from an SDP it wrote.
struct RelayView {
  uint16_t port = 0;
  std::string suite;
  std::string key_params;
  std::string direction;
  bool rtcp_mux = false;
};

RelayView View(const std::string& text) {
  RelayView view;
  absl::StatusOr<sdp::SessionDescription> parsed = sdp::Parse(text);
  EXPECT_TRUE(parsed.ok()) << parsed.status() << "\n" << text;
  if (!parsed.ok() || parsed->media.empty()) return view;
  const sdp::MediaDescription& media = parsed->media[0];
  view.port = uint16_t(media.port);
  if (const sdp::Attribute* crypto = media.attributes.Find("crypto")) {
    absl::StatusOr<sdp::Crypto> c = sdp::ParseCrypto(*crypto->value);
    EXPECT_TRUE(c.ok());
    view.suite = c->suite;
    view.key_params = c->key_params[0];
  }
  view.direction =
      std::string(sdp::DirectionName(sdp::EffectiveDirection(*parsed, media)));
  view.rtcp_mux = media.attributes.Has("rtcp-mux");
  return view;
}

class RecordingWatcher : public EventWatcher {
 public:
  void Deliver(const v1::MediaEvent& event) override {
    events.push_back(event);
  }
  std::vector<v1::MediaEvent> events;
};

// Every test runs on both packet paths (io_uring and epoll).
class WorkerTest : public ::testing::TestWithParam<PacketIo> {
 protected:
  void SetUp() override {
    // A range of its own, so parallel test binaries do not collide, below
    // the kernel's ephemeral range (32768-60999), so that sockets bound to
    // port 0 elsewhere on the host cannot take it.
    ports_ = *PortAllocator::Create(20000 + 200 * (getpid() % 20),
                                    20199 + 200 * (getpid() % 20),
                                    absl::Seconds(30));
    worker_ = *Worker::Create(0, Options(), ports_.get(), &hub_, nullptr);
    hub_.Add(&watcher_);
    a_ = *RtpPeer::Create(0xA0A0A0A0);
    b_ = *RtpPeer::Create(0xB0B0B0B0);
  }
  // Loopback, no RTP timeout: what each test starts from.
  WorkerOptions Options() const {
    WorkerOptions options;
    options.packet_io = GetParam();
    options.bind_address = "127.0.0.1";
    options.advertised_address = "127.0.0.1";
    options.rtp_timeout_seconds = 0;
    return options;
  }
  // A fresh worker with `options` in place of SetUp's.
  void Restart(const WorkerOptions& options) {
    worker_.reset();
    worker_ = *Worker::Create(0, options, ports_.get(), &hub_, nullptr);
  }
  void TearDown() override { hub_.Remove(&watcher_); }

  v1::OfferRequest OfferFrom(v1::Leg leg, const std::string& sdp,
                             const std::string& request_id) {
    v1::OfferRequest request;
    request.set_call_id("call-1");
    request.set_from_leg(leg);
    request.set_request_id(request_id);
    request.set_sdp(sdp);
    return request;
  }
  v1::AnswerRequest AnswerFrom(v1::Leg leg, const std::string& sdp,
                               const std::string& request_id) {
    v1::AnswerRequest request;
    request.set_call_id("call-1");
    request.set_from_leg(leg);
    request.set_request_id(request_id);
    request.set_sdp(sdp);
    return request;
  }

  // Sends one packet from `from` to the relay port and checks that `to`
  // gets exactly the same plain packet. Pumps the worker meanwhile.
  bool Relays(RtpPeer& from, uint16_t relay_port, RtpPeer& to, uint8_t pt = 0) {
    std::vector<uint8_t> payload(160);
    for (size_t i = 0; i < payload.size(); ++i) {
      payload[i] = uint8_t(i * 7 + counter_);
    }
    ++counter_;
    const std::vector<uint8_t> sent = from.SendRtp(relay_port, pt, payload);
    for (int i = 0; i < 50; ++i) {
      worker_->RunOnce(5);
      if (auto got = to.Receive(0)) {
        EXPECT_EQ(got->data, sent) << "payload changed in the relay";
        return got->data == sent;
      }
    }
    return false;
  }
  void Pump(int rounds = 5) {
    for (int i = 0; i < rounds; ++i) worker_->RunOnce(2);
  }

  // A (SRTP, caller) <-> relay <-> B (plain or SRTP, callee).
  // A re-INVITE from the caller with its SDP's `caller_direction`,
  // answered by the callee with `callee_direction`; `version` of both.
  void Reinvite(const std::string& caller_direction,
                const std::string& callee_direction, int version) {
    const std::string id = absl::StrCat("reinvite-", version);
    ASSERT_TRUE(
        worker_
            ->Offer(OfferFrom(v1::LEG_CALLER,
                              PeerSdp(*a_, {.key_params = a_key_,
                                            .direction = caller_direction,
                                            .version = version}),
                              id),
                    true, false)
            .ok());
    ASSERT_TRUE(
        worker_
            ->Answer(AnswerFrom(v1::LEG_CALLEE,
                                PeerSdp(*b_, {.direction = callee_direction,
                                              .version = version}),
                                id))
            .ok());
  }
  void Establish(bool b_srtp, v1::SidePlan a_plan = {},
                 v1::SidePlan b_plan = {}) {
    a_key_ = *a_->NewSendKey(srtp::Suite::kAesCm128HmacSha1_80);
    a_plan.set_srtp(v1::SRTP_MODE_REQUIRED);
    b_plan.set_srtp(b_srtp ? v1::SRTP_MODE_REQUIRED
                           : v1::SRTP_MODE_NOT_SUPPORTED);
    v1::OfferRequest offer = OfferFrom(
        v1::LEG_CALLER, PeerSdp(*a_, {.key_params = a_key_}), "invite-1");
    *offer.mutable_from_side() = a_plan;
    *offer.mutable_to_side() = b_plan;
    absl::StatusOr<std::string> to_b = worker_->Offer(offer, false, false);
    ASSERT_TRUE(to_b.ok()) << to_b.status();
    RelayView b_view = View(*to_b);
    relay_b_port_ = b_view.port;
    first_to_b_ = *to_b;
    PeerSdpOptions b_options;
    if (b_srtp) {
      ASSERT_FALSE(b_view.key_params.empty()) << *to_b;
      ASSERT_TRUE(b_->SetReceiveKey(b_view.suite, b_view.key_params).ok());
      b_key_ = *b_->NewSendKey(srtp::Suite::kAesCm128HmacSha1_80);
      b_options.key_params = b_key_;
    } else {
      EXPECT_THAT(*to_b, Not(HasSubstr("a=crypto")));
      EXPECT_THAT(*to_b, HasSubstr("RTP/AVP"));
    }
    absl::StatusOr<std::string> to_a = worker_->Answer(
        AnswerFrom(v1::LEG_CALLEE, PeerSdp(*b_, b_options), "invite-1"));
    ASSERT_TRUE(to_a.ok()) << to_a.status();
    RelayView a_view = View(*to_a);
    relay_a_port_ = a_view.port;
    first_to_a_ = *to_a;
    first_b_answer_ = PeerSdp(*b_, b_options);
    ASSERT_FALSE(a_view.key_params.empty()) << *to_a;
    ASSERT_TRUE(a_->SetReceiveKey(a_view.suite, a_view.key_params).ok());
  }

  void ExpectBothWays(const std::string& when) {
    for (int i = 0; i < 3; ++i) {
      EXPECT_TRUE(Relays(*a_, relay_a_port_, *b_)) << "caller->callee " << when;
      EXPECT_TRUE(Relays(*b_, relay_b_port_, *a_)) << "callee->caller " << when;
    }
  }

  // What Establish sent and got, for retries.
  std::string first_to_b_, first_to_a_, first_b_answer_;
  std::unique_ptr<PortAllocator> ports_;
  EventHub hub_;
  RecordingWatcher watcher_;
  std::unique_ptr<Worker> worker_;
  std::unique_ptr<RtpPeer> a_, b_;
  std::string a_key_, b_key_;
  uint16_t relay_a_port_ = 0, relay_b_port_ = 0;
  int counter_ = 0;
};

TEST_P(WorkerTest, SrtpToRtpBothWaysByteForByte) {
  Establish(/*b_srtp=*/false);
  ExpectBothWays("after the answer");
  v1::QueryResponse query;
  ASSERT_TRUE(worker_->Query("call-1", &query).ok());
  ASSERT_EQ(query.streams_size(), 2);
  EXPECT_EQ(query.streams(0).leg(), v1::LEG_CALLER);
  EXPECT_EQ(query.streams(0).packets(), 3u);
  EXPECT_EQ(query.streams(0).ssrc(), 0xA0A0A0A0u);
  EXPECT_EQ(query.streams(1).packets(), 3u);
  EXPECT_GT(query.streams(0).mos(), 4.0);
  EXPECT_EQ(query.streams(0).packets_lost(), 0u);
}

// Interrupt moderation on (from the first packet: no busy threshold): the
// worker's own thread waits between turns, and a burst sent meanwhile is
// relayed in order, every packet, byte for byte, both ways.
TEST_P(WorkerTest, CoalescedWakeUpsRelayEveryPacketOfABurst) {
  WorkerOptions options = Options();
  options.coalesce_us = 2000;
  options.coalesce_busy_percent = 0;
  Restart(options);
  Establish(/*b_srtp=*/false);
  worker_->Start();
  for (auto [from, port, to] :
       {std::make_tuple(a_.get(), relay_a_port_, b_.get()),
        std::make_tuple(b_.get(), relay_b_port_, a_.get())}) {
    std::vector<std::vector<uint8_t>> sent;
    for (int i = 0; i < 20; ++i) {
      std::vector<uint8_t> payload(160, uint8_t(i));
      sent.push_back(from->SendRtp(port, 0, payload));
    }
    for (int i = 0; i < 20; ++i) {
      auto got = to->Receive(2000);
      ASSERT_TRUE(got.has_value()) << "packet " << i << " of the burst";
      EXPECT_EQ(got->data, sent[i]) << "packet " << i;
    }
  }
  worker_->Stop();
}

TEST_P(WorkerTest, SrtpToSrtpWithDifferentKeysEachSide) {
  Establish(/*b_srtp=*/true);
  ExpectBothWays("after the answer");
}

TEST_P(WorkerTest, RetriedOfferAndAnswerReturnTheSameAllocation) {
  Establish(false);
  v1::OfferRequest offer = OfferFrom(
      v1::LEG_CALLER, PeerSdp(*a_, {.key_params = a_key_}), "invite-1");
  absl::StatusOr<std::string> again = worker_->Offer(offer, false, false);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(View(*again).port, relay_b_port_);
  EXPECT_EQ(worker_->streams(), 1u);
  ExpectBothWays("after a retried offer");
}

TEST_P(WorkerTest, RetriesGetTheSameSdpWithOurKeysOnBothSides) {
  // Both sides SRTP: the cached answers hold our keys abbreviated
  // (response_cache.h) and must come back octet for octet.
  Establish(true);
  ASSERT_THAT(first_to_b_, HasSubstr("a=crypto:3 "));
  absl::StatusOr<std::string> offer_again = worker_->Offer(
      OfferFrom(v1::LEG_CALLER, PeerSdp(*a_, {.key_params = a_key_}),
                "invite-1"),
      false, false);
  ASSERT_TRUE(offer_again.ok()) << offer_again.status();
  EXPECT_EQ(*offer_again, first_to_b_);
  absl::StatusOr<std::string> answer_again =
      worker_->Answer(AnswerFrom(v1::LEG_CALLEE, first_b_answer_, "invite-1"));
  ASSERT_TRUE(answer_again.ok()) << answer_again.status();
  EXPECT_EQ(*answer_again, first_to_a_);
  ASSERT_THAT(first_to_a_, HasSubstr("a=crypto:"));
  ExpectBothWays("after the retries");
}

TEST_P(WorkerTest, HoldAndResumeKeepAudioBothWays) {
  Establish(false);
  ExpectBothWays("before hold");
  // Caller holds: sendonly; callee answers recvonly. Music on hold still
  // flows caller->callee.
  absl::StatusOr<std::string> hold =
      worker_->Offer(OfferFrom(v1::LEG_CALLER,
                               PeerSdp(*a_, {.key_params = a_key_,
                                             .direction = "sendonly",
                                             .version = 2}),
                               "reinvite-hold"),
                     true, false);
  ASSERT_TRUE(hold.ok()) << hold.status();
  EXPECT_EQ(View(*hold).direction, "sendonly");
  EXPECT_EQ(View(*hold).port, relay_b_port_);
  EXPECT_TRUE(Relays(*a_, relay_a_port_, *b_)) << "MoH during the re-INVITE";
  absl::StatusOr<std::string> held = worker_->Answer(AnswerFrom(
      v1::LEG_CALLEE, PeerSdp(*b_, {.direction = "recvonly", .version = 2}),
      "reinvite-hold"));
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(View(*held).direction, "recvonly");
  EXPECT_EQ(View(*held).port, relay_a_port_);
  EXPECT_TRUE(Relays(*a_, relay_a_port_, *b_)) << "MoH on hold";
  // Resume.
  ASSERT_TRUE(
      worker_
          ->Offer(OfferFrom(v1::LEG_CALLER,
                            PeerSdp(*a_, {.key_params = a_key_, .version = 3}),
                            "reinvite-resume"),
                  true, false)
          .ok());
  ExpectBothWays("between resume offer and answer");
  absl::StatusOr<std::string> resumed = worker_->Answer(AnswerFrom(
      v1::LEG_CALLEE, PeerSdp(*b_, {.version = 3}), "reinvite-resume"));
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ(View(*resumed).direction, "sendrecv");
  ExpectBothWays("after resume");
}

TEST_P(WorkerTest, LegacyHoldWithNullAddressThenResume) {
  Establish(false);
  ASSERT_TRUE(
      worker_
          ->Offer(OfferFrom(v1::LEG_CALLEE,
                            PeerSdp(*b_, {.version = 2, .null_address = true}),
                            "hold"),
                  true, false)
          .ok());
  ASSERT_TRUE(
      worker_
          ->Answer(AnswerFrom(
              v1::LEG_CALLER,
              PeerSdp(*a_, {.key_params = a_key_, .version = 2}), "hold"))
          .ok());
  // Nothing goes to a c=0.0.0.0 leg.
  EXPECT_FALSE(Relays(*a_, relay_a_port_, *b_));
  ASSERT_TRUE(worker_
                  ->Offer(OfferFrom(v1::LEG_CALLEE,
                                    PeerSdp(*b_, {.version = 3}), "resume"),
                          true, false)
                  .ok());
  ASSERT_TRUE(
      worker_
          ->Answer(AnswerFrom(
              v1::LEG_CALLER,
              PeerSdp(*a_, {.key_params = a_key_, .version = 3}), "resume"))
          .ok());
  ExpectBothWays("after resume from legacy hold");
}

TEST_P(WorkerTest, RekeyByOffererWhoSwitchesBeforeTheAnswer) {
  Establish(false);
  ExpectBothWays("before rekey");
  const std::string old_key = a_key_;
  const std::string new_key =
      *a_->NewSendKey(srtp::Suite::kAesCm128HmacSha1_80);  // now in use
  ASSERT_TRUE(
      worker_
          ->Offer(OfferFrom(v1::LEG_CALLER,
                            PeerSdp(*a_, {.key_params = new_key, .version = 2}),
                            "rekey"),
                  true, false)
          .ok());
  ExpectBothWays("after the rekey offer, before the answer");
  absl::StatusOr<std::string> answer = worker_->Answer(
      AnswerFrom(v1::LEG_CALLEE, PeerSdp(*b_, {.version = 2}), "rekey"));
  ASSERT_TRUE(answer.ok());
  ASSERT_TRUE(
      a_->SetReceiveKey(View(*answer).suite, View(*answer).key_params).ok());
  ExpectBothWays("after the rekey answer");
}

TEST_P(WorkerTest, RekeyByAnswererOnBothSrtpSides) {
  Establish(true);
  // The caller re-offers with the same key; the callee answers with a new
  // one and starts using it.
  ASSERT_TRUE(
      worker_
          ->Offer(OfferFrom(v1::LEG_CALLER,
                            PeerSdp(*a_, {.key_params = a_key_, .version = 2}),
                            "reoffer"),
                  true, false)
          .ok());
  b_key_ = *b_->NewSendKey(srtp::Suite::kAesCm128HmacSha1_80);
  ASSERT_TRUE(
      worker_
          ->Answer(AnswerFrom(
              v1::LEG_CALLEE,
              PeerSdp(*b_, {.key_params = b_key_, .version = 2}), "reoffer"))
          .ok());
  ExpectBothWays("after the answerer's rekey");
}

TEST_P(WorkerTest, NewAddressFromCallee) {
  Establish(false);
  std::unique_ptr<RtpPeer> moved = *RtpPeer::Create(0xB1B1B1B1);
  ASSERT_TRUE(worker_
                  ->Offer(OfferFrom(v1::LEG_CALLEE,
                                    PeerSdp(*moved, {.version = 2}), "move"),
                          true, false)
                  .ok());
  ASSERT_TRUE(
      worker_
          ->Answer(AnswerFrom(
              v1::LEG_CALLER,
              PeerSdp(*a_, {.key_params = a_key_, .version = 2}), "move"))
          .ok());
  b_ = std::move(moved);
  ExpectBothWays("after the callee moved");
}

TEST_P(WorkerTest, FinalAnswerAfterEarlyMediaAnswerTakesOver) {
  // Establish answers with the 183's SDP; the 200 then brings another
  // answer (here from another address): the relay follows it.
  Establish(false);
  ExpectBothWays("early media");
  std::unique_ptr<RtpPeer> final_peer = *RtpPeer::Create(0xB2B2B2B2);
  absl::StatusOr<std::string> to_a = worker_->Answer(
      AnswerFrom(v1::LEG_CALLEE, PeerSdp(*final_peer, {.version = 2}), "200"));
  ASSERT_TRUE(to_a.ok()) << to_a.status();
  RelayView a_view = View(*to_a);
  EXPECT_EQ(a_view.port, relay_a_port_) << "the caller keeps its relay port";
  ASSERT_TRUE(a_->SetReceiveKey(a_view.suite, a_view.key_params).ok());
  b_ = std::move(final_peer);
  ExpectBothWays("after the 200's answer");
  // Only the leg the offer went to may answer it.
  EXPECT_FALSE(worker_
                   ->Answer(AnswerFrom(v1::LEG_CALLER,
                                       PeerSdp(*a_, {.key_params = a_key_}),
                                       "wrong-side"))
                   .ok());
}

TEST_P(WorkerTest, CodecChangeKeepsAudio) {
  Establish(false);
  std::string sdp = PeerSdp(*a_, {.key_params = a_key_, .version = 2});
  sdp = absl::StrReplaceAll(
      sdp,
      {{" 0 101", " 8 101"}, {"a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000"}});
  ASSERT_TRUE(
      worker_->Offer(OfferFrom(v1::LEG_CALLER, sdp, "codec"), true, false)
          .ok());
  std::string b_sdp = absl::StrReplaceAll(
      PeerSdp(*b_, {.version = 2}),
      {{" 0 101", " 8 101"}, {"a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000"}});
  ASSERT_TRUE(worker_->Answer(AnswerFrom(v1::LEG_CALLEE, b_sdp, "codec")).ok());
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(Relays(*a_, relay_a_port_, *b_, 8));
    EXPECT_TRUE(Relays(*b_, relay_b_port_, *a_, 8));
  }
}

TEST_P(WorkerTest, LatchingSendsToWhereThePeerSendsFrom) {
  v1::SidePlan b_plan;
  b_plan.set_latching(true);
  // The callee's SDP names a port nobody listens on (a NAT's inside).
  a_key_ = *a_->NewSendKey(srtp::Suite::kAesCm128HmacSha1_80);
  v1::OfferRequest offer = OfferFrom(
      v1::LEG_CALLER, PeerSdp(*a_, {.key_params = a_key_}), "invite-1");
  offer.mutable_from_side()->set_srtp(v1::SRTP_MODE_REQUIRED);
  b_plan.set_srtp(v1::SRTP_MODE_NOT_SUPPORTED);
  *offer.mutable_to_side() = b_plan;
  relay_b_port_ = View(*worker_->Offer(offer, false, false)).port;
  absl::StatusOr<std::string> to_a = worker_->Answer(
      AnswerFrom(v1::LEG_CALLEE, PeerSdp(*b_, {.port = 9}), "invite-1"));
  ASSERT_TRUE(to_a.ok());
  relay_a_port_ = View(*to_a).port;
  ASSERT_TRUE(
      a_->SetReceiveKey(View(*to_a).suite, View(*to_a).key_params).ok());
  EXPECT_TRUE(Relays(*b_, relay_b_port_, *a_));
  EXPECT_TRUE(Relays(*a_, relay_a_port_, *b_)) << "not latched";
}

TEST_P(WorkerTest, StrictSourceDropsStrangers) {
  v1::SidePlan b_plan;
  b_plan.set_strict_source(true);
  Establish(false, {}, b_plan);
  std::unique_ptr<RtpPeer> stranger = *RtpPeer::Create(0xDEADBEEF);
  EXPECT_FALSE(Relays(*stranger, relay_b_port_, *a_));
  ExpectBothWays("with strict source");
  v1::QueryResponse query;
  ASSERT_TRUE(worker_->Query("call-1", &query).ok());
  EXPECT_EQ(query.streams(1).dropped(), 1u);
}

TEST_P(WorkerTest, RtcpMuxOnOneSideSeparateOnTheOther) {
  v1::SidePlan a_plan;
  a_plan.set_rtcp_mux(true);
  a_key_ = *a_->NewSendKey(srtp::Suite::kAesCm128HmacSha1_80);
  v1::OfferRequest offer = OfferFrom(
      v1::LEG_CALLER, PeerSdp(*a_, {.key_params = a_key_, .rtcp_mux = true}),
      "invite-1");
  a_plan.set_srtp(v1::SRTP_MODE_REQUIRED);
  *offer.mutable_from_side() = a_plan;
  offer.mutable_to_side()->set_srtp(v1::SRTP_MODE_NOT_SUPPORTED);
  absl::StatusOr<std::string> to_b = worker_->Offer(offer, false, false);
  ASSERT_TRUE(to_b.ok());
  EXPECT_FALSE(View(*to_b).rtcp_mux);
  relay_b_port_ = View(*to_b).port;
  absl::StatusOr<std::string> to_a =
      worker_->Answer(AnswerFrom(v1::LEG_CALLEE, PeerSdp(*b_, {}), "invite-1"));
  ASSERT_TRUE(to_a.ok());
  EXPECT_TRUE(View(*to_a).rtcp_mux) << *to_a;
  relay_a_port_ = View(*to_a).port;
  ASSERT_TRUE(
      a_->SetReceiveKey(View(*to_a).suite, View(*to_a).key_params).ok());
  ExpectBothWays("mux on one side");

  // SRTCP muxed from A arrives as RTCP on B's RTCP port, and back.
  const std::vector<uint8_t> sr = testing::SenderReport(a_->ssrc(), 0x11112222);
  a_->SendRtcp(relay_a_port_, sr, /*muxed=*/true);
  std::optional<testing::ReceivedPacket> at_b;
  for (int i = 0; i < 50 && !at_b; ++i) {
    worker_->RunOnce(5);
    at_b = b_->Receive(0, /*rtcp=*/true);
  }
  ASSERT_TRUE(at_b.has_value());
  EXPECT_EQ(at_b->data, sr);
  const std::vector<uint8_t> rr = testing::ReceiverReport(b_->ssrc(), 0, 0);
  b_->SendRtcp(relay_b_port_ + 1, rr, /*muxed=*/false);
  std::optional<testing::ReceivedPacket> at_a;
  for (int i = 0; i < 50 && !at_a; ++i) {
    worker_->RunOnce(5);
    at_a = a_->Receive(0);  // muxed: on A's RTP port
  }
  ASSERT_TRUE(at_a.has_value());
  EXPECT_EQ(at_a->data, rr);
}

TEST_P(WorkerTest, RttFromSenderAndReceiverReports) {
  Establish(false);
  // B sends an SR; the relay forwards it to A; A's RR echoes it as LSR.
  b_->SendRtcp(relay_b_port_ + 1, testing::SenderReport(b_->ssrc(), 0x0BADCAFE),
               false);
  Pump();
  ASSERT_TRUE(a_->Receive(100, true).has_value());
  usleep(20000);
  a_->SendRtcp(relay_a_port_ + 1,
               testing::ReceiverReport(a_->ssrc(), 0x0BADCAFE, 0), false);
  Pump();
  v1::QueryResponse query;
  ASSERT_TRUE(worker_->Query("call-1", &query).ok());
  EXPECT_GE(query.streams(0).rtt_ms(), 15.0);
  EXPECT_LT(query.streams(0).rtt_ms(), 1000.0);
  EXPECT_EQ(query.streams(0).rtcp_packets(), 1u);
}

TEST_P(WorkerTest, TelephoneEventsPassThroughAndAreReportedOnce) {
  Establish(false);
  // Digit 5, end bit set, duration 800: the end packet is sent three times
  // with the same timestamp (RFC 4733 §2.5.1.4).
  // The RTP header (payload type 101), then the event: digit 5, the end
  // bit and volume 10, duration 800.
  std::vector<uint8_t> raw = {0x80, 101,  0,    1,    0, 0,    0x10, 0,
                              0xB0, 0xB0, 0xB0, 0xB0, 5, 0x8A, 0x03, 0x20};
  for (int i = 0; i < 3; ++i) {
    raw[3] = uint8_t(1 + i);  // sequence advances, timestamp does not
    b_->SendRaw(relay_b_port_, raw);
  }
  for (int i = 0; i < 3; ++i) {
    std::optional<testing::ReceivedPacket> got;
    for (int j = 0; j < 50 && !got; ++j) {
      worker_->RunOnce(5);
      got = a_->Receive(0);
    }
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->data[1] & 0x7F, 101);
  }
  int dtmf = 0;
  for (const auto& event : watcher_.events) {
    if (event.kind() != v1::MediaEvent::KIND_DTMF) continue;
    ++dtmf;
    EXPECT_EQ(event.digit(), "5");
    EXPECT_EQ(event.leg(), v1::LEG_CALLEE);
    EXPECT_EQ(event.duration_ms(), 100u);  // 800 units at 8 kHz
    EXPECT_EQ(event.call_id(), "call-1");
  }
  EXPECT_EQ(dtmf, 1);
}

TEST_P(WorkerTest, GarbageIsDroppedAndCounted) {
  Establish(false);
  b_->SendRaw(relay_b_port_, {});
  b_->SendRaw(relay_b_port_, {0x00, 0x01, 0x00, 0x00});  // STUN-ish
  b_->SendRaw(relay_b_port_, {0x80});                    // truncated
  b_->SendRaw(relay_b_port_, {0x8F, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0});
  a_->SendRaw(relay_a_port_, std::vector<uint8_t>(40, 0x80));  // bad auth
  Pump(10);
  ExpectBothWays("after garbage");
  v1::QueryResponse query;
  ASSERT_TRUE(worker_->Query("call-1", &query).ok());
  EXPECT_EQ(query.streams(0).srtp_auth_failures(), 1u);
  EXPECT_GE(query.streams(1).dropped(), 3u);
  bool srtp_failure_event = false;
  for (const auto& event : watcher_.events) {
    srtp_failure_event |= event.kind() == v1::MediaEvent::KIND_SRTP_FAILURE;
  }
  EXPECT_TRUE(srtp_failure_event);
}

TEST_P(WorkerTest, RtpTimeoutIsReported) {
  v1::SidePlan b_plan;
  b_plan.set_rtp_timeout_seconds(1);
  Establish(false, {}, b_plan);
  for (int i = 0; i < 15; ++i) worker_->RunOnce(100);
  bool timeout = false;
  for (const auto& event : watcher_.events) {
    if (event.kind() == v1::MediaEvent::KIND_RTP_TIMEOUT &&
        event.leg() == v1::LEG_CALLEE) {
      timeout = true;
    }
  }
  EXPECT_TRUE(timeout);
}

// The trunk's RTCP settings (Lync's RTCPActiveCalls, RTCPCallsOnHold): a
// gateway that stops RTCP while the call is on hold is not reported then,
// when only active calls must carry RTCP; once resumed, its silence is.
TEST_P(WorkerTest, RtcpTimeoutFollowsTheActiveAndOnHoldSettings) {
  WorkerOptions options = Options();
  options.rtcp_timeout_seconds = 1;
  Restart(options);
  v1::SidePlan b_plan;
  b_plan.set_expect_rtcp(true);
  b_plan.set_expect_rtcp_on_hold(false);
  auto rtcp_timeouts = [this] {
    int n = 0;
    for (const auto& event : watcher_.events) {
      n += event.kind() == v1::MediaEvent::KIND_RTCP_TIMEOUT &&
           event.leg() == v1::LEG_CALLEE;
    }
    return n;
  };
  Establish(false, {}, b_plan);
  // On hold at once (caller sendonly, callee recvonly): no RTCP from the
  // gateway for 1.5 s, and none expected.
  Reinvite("sendonly", "recvonly", 2);
  for (int i = 0; i < 15; ++i) worker_->RunOnce(100);
  EXPECT_EQ(rtcp_timeouts(), 0) << "on hold: RTCP not expected";
  // Resumed: the gateway's missing RTCP is reported.
  Reinvite("sendrecv", "sendrecv", 3);
  for (int i = 0; i < 15; ++i) worker_->RunOnce(100);
  EXPECT_EQ(rtcp_timeouts(), 1) << "active: RTCP expected";
}

TEST_P(WorkerTest, DeleteFreesThePortsIntoQuarantine) {
  const size_t free_before = ports_->free_pairs();
  Establish(false);
  EXPECT_EQ(ports_->free_pairs(), free_before - 2);
  worker_->Delete("call-1");
  EXPECT_EQ(worker_->sessions(), 0u);
  EXPECT_EQ(ports_->free_pairs(), free_before - 2) << "quarantined";
  EXPECT_FALSE(Relays(*a_, relay_a_port_, *b_));
}

// Delete hands back what the session measured (the call's record carries
// it), per leg as Query does; an unknown call adds nothing.
TEST_P(WorkerTest, DeleteGivesTheSessionsLastFigures) {
  Establish(false);
  ASSERT_TRUE(Relays(*a_, relay_a_port_, *b_));
  ASSERT_TRUE(Relays(*a_, relay_a_port_, *b_));
  ASSERT_TRUE(Relays(*b_, relay_b_port_, *a_));
  google::protobuf::RepeatedPtrField<v1::StreamStats> figures;
  worker_->Delete("call-1", &figures);
  EXPECT_EQ(worker_->sessions(), 0u);
  ASSERT_EQ(figures.size(), 2);
  for (const v1::StreamStats& s : figures) {
    EXPECT_EQ(s.packets(), s.leg() == v1::LEG_CALLER ? 2u : 1u)
        << v1::Leg_Name(s.leg());
    EXPECT_GT(s.mos(), 4.0);
    EXPECT_EQ(s.ssrc(), s.leg() == v1::LEG_CALLER ? 0xA0A0A0A0u : 0xB0B0B0B0u);
  }
  worker_->Delete("call-1", &figures);
  EXPECT_EQ(figures.size(), 2) << "a second Delete finds nothing";
}

// A session whose call's signaling instance is gone (no Delete after the
// media timeout event) is deleted here orphan_seconds after the timeout;
// while one leg still sends, it is kept.
TEST_P(WorkerTest, OrphanIsDeletedAfterItsMediaTimedOut) {
  WorkerOptions options = Options();
  options.orphan_seconds = 1;
  Restart(options);
  const size_t free_before = ports_->free_pairs();
  v1::SidePlan a_plan, b_plan;
  a_plan.set_rtp_timeout_seconds(1);
  b_plan.set_rtp_timeout_seconds(1);
  Establish(false, a_plan, b_plan);
  // A talks for 2.5 s (past timeout and orphan time): B's silence is
  // reported, the session kept.
  const absl::Time talking_until = absl::Now() + absl::Milliseconds(2500);
  while (absl::Now() < talking_until) {
    ASSERT_TRUE(Relays(*a_, relay_a_port_, *b_));
    worker_->RunOnce(100);
  }
  EXPECT_EQ(worker_->sessions(), 1u);
  // Both silent: A's timeout after 1 s, the session deleted 1 s later.
  const absl::Time silent = absl::Now();
  for (int i = 0; i < 60 && worker_->sessions() == 1; ++i) {
    worker_->RunOnce(100);
  }
  EXPECT_EQ(worker_->sessions(), 0u);
  EXPECT_GE(absl::Now() - silent, absl::Milliseconds(1900));
  EXPECT_EQ(ports_->free_pairs(), free_before - 2) << "quarantined";
}

TEST_P(WorkerTest, OfferNeverAnsweredIsDeletedAfterOrphanSeconds) {
  WorkerOptions options = Options();
  options.orphan_seconds = 1;
  Restart(options);
  ASSERT_TRUE(
      worker_
          ->Offer(OfferFrom(v1::LEG_CALLER, PeerSdp(*a_, {}), "invite-1"),
                  false, false)
          .ok());
  const absl::Time offered = absl::Now();
  for (int i = 0; i < 40 && worker_->sessions() == 1; ++i) {
    worker_->RunOnce(100);
  }
  EXPECT_EQ(worker_->sessions(), 0u);
  EXPECT_GE(absl::Now() - offered, absl::Milliseconds(900));
}

// Both legs inactive (a call parked on hold): no RTP is expected, so the
// silence makes no orphan.
TEST_P(WorkerTest, CallOnHoldBothWaysIsNotAnOrphan) {
  WorkerOptions options = Options();
  options.orphan_seconds = 1;
  Restart(options);
  v1::SidePlan a_plan, b_plan;
  a_plan.set_rtp_timeout_seconds(1);
  b_plan.set_rtp_timeout_seconds(1);
  Establish(false, a_plan, b_plan);
  Reinvite("inactive", "inactive", 2);
  for (int i = 0; i < 30; ++i) worker_->RunOnce(100);
  EXPECT_EQ(worker_->sessions(), 1u);
}

TEST_P(WorkerTest, ErrorsSayWhatToDo) {
  EXPECT_EQ(
      worker_->Answer(AnswerFrom(v1::LEG_CALLEE, "v=0", "x")).status().code(),
      absl::StatusCode::kNotFound);
  EXPECT_EQ(
      worker_->Offer(OfferFrom(v1::LEG_CALLER, "not sdp", "x"), false, false)
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(worker_->sessions(), 0u);
  EXPECT_EQ(worker_
                ->Offer(OfferFrom(v1::LEG_CALLER, PeerSdp(*a_, {}), "x"), false,
                        /*draining=*/true)
                .status()
                .code(),
            absl::StatusCode::kUnavailable);
}

INSTANTIATE_TEST_SUITE_P(PacketIo, WorkerTest,
                         ::testing::Values(PacketIo::kUring, PacketIo::kEpoll),
                         [](const ::testing::TestParamInfo<PacketIo>& info) {
                           return info.param == PacketIo::kUring ? "Uring"
                                                                 : "Epoll";
                         });

}  // namespace
}  // namespace trunkline::media::relay
