// The control half of a Worker: Offer, Answer, Update, Delete and Query on
// the sessions it owns. Runs on the worker's thread, between packet batches;
// this is where allocation is allowed (sockets, SRTP contexts, SDP).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <functional>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/status_macros.h"
#include "services/media/relay/clock.h"
#include "services/media/relay/udp_socket.h"
#include "services/media/relay/worker.h"
#include "services/media/sdp/attributes.h"
#include "services/media/srtp/sdes.h"

namespace trunkline::media::relay {
namespace {

absl::Status CheckIds(absl::string_view call_id, v1::Leg leg,
                      absl::string_view request_id) {
  if (call_id.empty()) {
    return absl::InvalidArgumentError("call_id is required");
  }
  if (leg != v1::LEG_CALLER && leg != v1::LEG_CALLEE) {
    return absl::InvalidArgumentError(
        "from_leg must be LEG_CALLER or LEG_CALLEE");
  }
  if (request_id.empty()) {
    return absl::InvalidArgumentError(
        "request_id is required (it makes retries safe)");
  }
  return absl::OkStatus();
}

bool IsSetPlan(const v1::SidePlan& plan) { return plan.ByteSizeLong() != 0; }

// The SDES key parameters ("inline:...") of one of our keys.
std::string KeyParamsOf(const OurKey& ours) {
  const srtp::SuiteInfo& info = srtp::InfoOf(ours.suite);
  srtp::MasterKey key;
  key.suite = ours.suite;
  const char* material = reinterpret_cast<const char*>(ours.material.data());
  key.key.assign(material, info.key_length);
  key.salt.assign(material + info.key_length, info.salt_length);
  return srtp::FormatSdesKeyParams(key);
}

// Our keys' SDES texts, the phrases the session's ResponseCache abbreviates:
// side s's key k at index 3 * s + k (a side has no keys or one per suite, in
// a fixed order), so an index keeps its meaning when a side gets keys later.
constexpr size_t kKeysPerSide = 3;
std::array<std::string, 2 * kKeysPerSide> KeyPhrases(const Session& session) {
  std::array<std::string, 2 * kKeysPerSide> phrases;
  for (size_t side = 0; side < 2; ++side) {
    const std::vector<OurKey>& keys = session.sides[side].keys;
    for (size_t k = 0; k < keys.size() && k < kKeysPerSide; ++k) {
      phrases[side * kKeysPerSide + k] = KeyParamsOf(keys[k]);
    }
  }
  return phrases;
}

// RFC 3551 static payload types whose clock is not 8000.
uint32_t StaticClock(int payload_type) {
  switch (payload_type) {
    case 6:
      return 16000;
    case 10:
    case 11:
      return 44100;
    case 14:
    case 25:
    case 26:
    case 28:
    case 31:
    case 32:
    case 33:
    case 34:
      return 90000;
    default:
      return 8000;
  }
}

}  // namespace

absl::Status Worker::OpenSockets(StreamEnd& end) {
  // A port of the range may be taken by another process: try a few pairs.
  absl::Status last_error;
  for (int attempt = 0; attempt < 8; ++attempt) {
    ASSIGN_OR_RETURN(const uint16_t port, ports_->Allocate(absl::Now()));
    absl::StatusOr<int> rtp = BindUdp(family_, options_.bind_address, port);
    absl::StatusOr<int> rtcp =
        rtp.ok() ? BindUdp(family_, options_.bind_address, port + 1)
                 : absl::StatusOr<int>(rtp.status());
    if (!rtp.ok() || !rtcp.ok()) {
      if (rtp.ok()) close(*rtp);
      last_error = rtcp.status();
      ports_->Release(port, absl::Now());
      continue;
    }
    end.rtp_fd = *rtp;
    end.rtcp_fd = *rtcp;
    end.rtp_port = port;
    WatchSocket(end, /*rtcp_socket=*/false);
    WatchSocket(end, /*rtcp_socket=*/true);
    return absl::OkStatus();
  }
  return absl::UnavailableError(absl::StrCat(
      "no bindable RTP port pair after 8 tries: ", last_error.message()));
}

void Worker::CloseSockets(StreamEnd& end) {
  if (end.rtp_fd >= 0) UnwatchSocket(end.rtp_fd);
  if (end.rtcp_fd >= 0) UnwatchSocket(end.rtcp_fd);
  FinishUnwatching();
  if (end.rtp_fd >= 0) close(end.rtp_fd);
  if (end.rtcp_fd >= 0) close(end.rtcp_fd);
  if (end.rtp_port != 0) ports_->Release(end.rtp_port, absl::Now());
  end.rtp_fd = end.rtcp_fd = -1;
  end.rtp_port = 0;
}

absl::Status Worker::EnsureStream(Session& session, uint32_t mline) {
  if (session.streams.size() <= mline) session.streams.resize(mline + 1);
  if (session.streams[mline] != nullptr) return absl::OkStatus();
  auto stream = std::make_unique<Stream>();
  stream->mline = mline;
  for (size_t i = 0; i < 2; ++i) {
    StreamEnd& end = stream->ends[i];
    end.leg = LegAt(i);
    end.mline = static_cast<uint16_t>(mline);
    end.call_id = &session.call_id;
    absl::Status opened = OpenSockets(end);
    if (!opened.ok()) {
      for (size_t j = 0; j < i; ++j) CloseSockets(stream->ends[j]);
      return opened;
    }
  }
  stream->ends[0].peer = &stream->ends[1];
  stream->ends[1].peer = &stream->ends[0];
  session.streams[mline] = std::move(stream);
  return absl::OkStatus();
}

absl::Status Worker::PrepareSide(Session& session, size_t side,
                                 const v1::SidePlan& plan) {
  SideState& state = session.sides[side];
  state.advertised_address = plan.advertised_address();
  state.srtp = plan.srtp() == v1::SRTP_MODE_UNSPECIFIED ? v1::SRTP_MODE_OPTIONAL
                                                        : plan.srtp();
  state.rtcp_mux = plan.rtcp_mux();
  state.latching = plan.latching();
  state.strict_source = plan.strict_source();
  state.expect_rtcp = plan.expect_rtcp();
  state.expect_rtcp_on_hold = plan.expect_rtcp_on_hold();
  state.rtp_timeout_seconds = plan.rtp_timeout_seconds();
  // Our keys towards a side live as long as the session: a re-INVITE that
  // does not rekey keeps both ends' contexts (and their rollover counters).
  if (state.keys.empty() && state.srtp != v1::SRTP_MODE_NOT_SUPPORTED) {
    constexpr std::array<srtp::Suite, kKeysPerSide> kSuites = {
        srtp::Suite::kAesCm128HmacSha1_80, srtp::Suite::kAesCm128HmacSha1_32,
        srtp::Suite::kAeadAes128Gcm};
    state.keys.reserve(kSuites.size());
    for (srtp::Suite suite : kSuites) {
      ASSIGN_OR_RETURN(srtp::MasterKey key, srtp::GenerateMasterKey(suite));
      OurKey& ours = state.keys.emplace_back();
      ours.suite = suite;
      static_assert(sizeof(ours.material) >= 16 + 14);
      std::copy(key.key.begin(), key.key.end(), ours.material.begin());
      std::copy(key.salt.begin(), key.salt.end(),
                ours.material.begin() + key.key.size());
    }
  }
  return absl::OkStatus();
}

sdp::RelaySide Worker::RelaySideFor(const Session& session, size_t side,
                                    size_t mlines) const {
  const SideState& state = session.sides[side];
  sdp::RelaySide relay;
  relay.address = state.advertised_address.empty() ? options_.advertised_address
                                                   : state.advertised_address;
  relay.srtp = state.srtp;
  relay.rtcp_mux = state.rtcp_mux;
  relay.media_types = options_.media_types;
  // An m-line's ports are its stream's, from the first offer that relayed
  // it on; the rewriter reads those of the m-lines of the SDP at hand.
  relay.ports.resize(std::max(mlines, session.streams.size()));
  for (size_t i = 0; i < session.streams.size(); ++i) {
    if (session.streams[i] == nullptr) continue;
    const uint16_t port = session.streams[i]->ends[side].rtp_port;
    relay.ports[i] = {port, uint32_t(port) + 1};
  }
  relay.keys.reserve(state.keys.size());
  for (const OurKey& ours : state.keys) {
    relay.keys.push_back(
        {std::string(srtp::SuiteName(ours.suite)), KeyParamsOf(ours)});
  }
  // Stable for the call without being stored: the same call id gives the
  // same hash.
  relay.session_id =
      (std::hash<std::string>()(session.call_id) & 0xFFFFFFFF) + side + 1;
  relay.session_version = state.session_version;
  return relay;
}

absl::StatusOr<std::string> Worker::Offer(const v1::OfferRequest& request,
                                          bool update, bool draining) {
  RETURN_IF_ERROR(
      CheckIds(request.call_id(), request.from_leg(), request.request_id()));
  auto found = sessions_.find(request.call_id());
  if (found != sessions_.end()) {
    if (std::optional<std::string> cached = found->second->responses.Find(
            ResponseCache::Method::kOffer, request.from_leg(),
            request.request_id(), KeyPhrases(*found->second))) {
      return *std::move(cached);
    }
  } else if (update) {
    return absl::NotFoundError(absl::StrCat("no media session for call ",
                                            request.call_id(),
                                            ": Update needs an earlier Offer"));
  } else if (draining) {
    return absl::UnavailableError(
        "this media instance is draining: pick another one");
  }
  ASSIGN_OR_RETURN(sdp::SessionDescription offer, sdp::Parse(request.sdp()));

  const bool created = found == sessions_.end();
  if (created) {
    auto session = std::make_unique<Session>();
    session->call_id = request.call_id();
    session->created_ns = MonotonicNs();
    // The table's key is a view of the session's own call id (which neither
    // changes nor moves): one copy of it per call, not two.
    const absl::string_view id = session->call_id;
    found = sessions_.emplace(id, std::move(session)).first;
  }
  Session& session = *found->second;
  auto fail = [&](absl::Status status) {
    if (created) {
      DestroySession(session);
      sessions_.erase(request.call_id());
      UpdateCounts();
    }
    return status;
  };
  const size_t from = LegIndex(request.from_leg());
  const size_t to = 1 - from;
  if (created || IsSetPlan(request.from_side())) {
    if (absl::Status s = PrepareSide(session, from, request.from_side());
        !s.ok()) {
      return fail(s);
    }
  }
  if (created || IsSetPlan(request.to_side())) {
    if (absl::Status s = PrepareSide(session, to, request.to_side()); !s.ok()) {
      return fail(s);
    }
  }
  // Ports for every m-line the relay can carry; kept across re-offers.
  for (uint32_t i = 0; i < offer.media.size(); ++i) {
    const sdp::MediaDescription& media = offer.media[i];
    const auto& types = options_.media_types;
    if (media.port == 0 ||
        std::find(types.begin(), types.end(), media.media) == types.end()) {
      continue;
    }
    if (absl::Status s = EnsureStream(session, i); !s.ok()) return fail(s);
  }
  const sdp::RelaySide from_relay =
      RelaySideFor(session, from, offer.media.size());
  sdp::RelaySide to_relay = RelaySideFor(session, to, offer.media.size());
  ++to_relay.session_version;
  absl::StatusOr<sdp::OfferRewrite> rewrite =
      sdp::RewriteOffer(offer, from_relay, to_relay);
  if (!rewrite.ok()) return fail(rewrite.status());
  session.sides[to].session_version = to_relay.session_version;
  // A peer may switch to the key of its new offer before the answer: be
  // ready to accept it (stream_end.h, inbound_candidates).
  for (uint32_t i = 0; i < offer.media.size() && i < session.streams.size();
       ++i) {
    if (session.streams[i] == nullptr) continue;
    SetCandidateKeys(session.streams[i]->ends[from], offer.media[i]);
  }
  std::string response = sdp::Serialize(rewrite->sdp);
  session.pending = PendingOffer{request.from_leg(), request.sdp()};
  session.responses.Put(ResponseCache::Method::kOffer, request.from_leg(),
                        request.request_id(), response, KeyPhrases(session));
  UpdateCounts();
  return response;
}

void Worker::SetCandidateKeys(StreamEnd& end,
                              const sdp::MediaDescription& media) {
  if (end.srtp != nullptr) end.srtp->inbound_candidates.clear();
  if (!end.active) return;
  for (const sdp::Attribute* attribute : media.attributes.FindAll("crypto")) {
    if (!attribute->value) continue;
    absl::StatusOr<sdp::Crypto> crypto = sdp::ParseCrypto(*attribute->value);
    if (!crypto.ok() || crypto->key_params.size() != 1) continue;
    absl::StatusOr<srtp::MasterKey> key =
        srtp::ParseSdesKeyParams(crypto->suite, crypto->key_params[0]);
    if (!key.ok()) continue;
    if (end.srtp != nullptr && end.srtp->inbound &&
        end.srtp->inbound.context->UsesKey(*key)) {
      continue;
    }
    absl::StatusOr<std::unique_ptr<srtp::InboundSrtp>> context =
        srtp::InboundSrtp::Create(*key);
    if (!context.ok()) continue;
    end.MutableSrtp().inbound_candidates.push_back({*std::move(context)});
  }
}

absl::Status Worker::ConfigureEnd(
    StreamEnd& end, const sdp::RemoteEndpoint& remote,
    const std::optional<sdp::CryptoChoice>& crypto, bool rtcp_mux,
    const sdp::SessionDescription& sdp, const sdp::MediaDescription& media,
    const SideState& side) {
  // Build everything that can fail first, then commit: a refused answer
  // leaves the stream as it was, still relaying.
  InboundKey inbound;
  std::unique_ptr<srtp::OutboundSrtp> outbound;
  if (crypto) {
    // Key parameters are never empty ("inline:..."): no SRTP state yet
    // means new keys.
    const SrtpState* current = end.srtp.get();
    ASSIGN_OR_RETURN(
        srtp::MasterKey remote_key,
        srtp::ParseSdesKeyParams(crypto->suite, crypto->remote_key_params));
    if (current == nullptr || !current->inbound ||
        !current->inbound.context->UsesKey(remote_key)) {
      ASSIGN_OR_RETURN(inbound.context, srtp::InboundSrtp::Create(remote_key));
    }
    ASSIGN_OR_RETURN(
        srtp::MasterKey local_key,
        srtp::ParseSdesKeyParams(crypto->suite, crypto->local_key_params));
    if (current == nullptr || current->outbound == nullptr ||
        !current->outbound->UsesKey(local_key)) {
      ASSIGN_OR_RETURN(outbound, srtp::OutboundSrtp::Create(local_key));
    }
  }
  Endpoint rtp_endpoint, rtcp_endpoint;
  if (!remote.null_address) {
    ASSIGN_OR_RETURN(
        rtp_endpoint,
        MakeEndpoint(remote.address, uint16_t(remote.rtp_port), family_));
    ASSIGN_OR_RETURN(
        rtcp_endpoint,
        MakeEndpoint(
            remote.rtcp_address.empty() ? remote.address : remote.rtcp_address,
            uint16_t(remote.rtcp_port), family_));
  }

  // Commit.
  if (!crypto) {
    // Cleared rather than freed: an end that had SRTP keeps its rate limit
    // of SRTP failure events if it gets keys again.
    if (end.srtp != nullptr) {
      SrtpState& keys = *end.srtp;
      keys.inbound = {};
      keys.inbound_previous = {};
      keys.outbound.reset();
      keys.inbound_candidates.clear();
    }
  } else {
    SrtpState& keys = end.MutableSrtp();
    if (inbound) {
      // The old key stays acceptable for the packets still in flight.
      if (keys.inbound) keys.inbound_previous = std::move(keys.inbound);
      keys.inbound = std::move(inbound);
    }
    if (outbound) keys.outbound = std::move(outbound);
    keys.inbound_candidates.clear();
  }
  end.rtcp_mux = rtcp_mux;
  end.null_address = remote.null_address;
  if (!remote.null_address) {
    // A new address forgets what latching learnt; the same address (hold
    // and resume, a codec change) keeps it, so a NATed peer keeps its audio.
    if (rtp_endpoint != end.sdp_rtp) end.latched_rtp = Endpoint();
    if (rtcp_endpoint != end.sdp_rtcp) end.latched_rtcp = Endpoint();
    end.sdp_rtp = rtp_endpoint;
    end.sdp_rtcp = rtcp_endpoint;
  }
  end.latching = side.latching;
  end.strict_source = side.strict_source;
  // The clocks of the first 16 payload types: from the static table, then
  // a=rtpmap.
  std::array<PayloadClock, 16> clocks;
  size_t clock_count = 0;
  end.telephone_event_pt = -1;
  for (const std::string& format : media.formats) {
    int payload_type = 0;
    if (!absl::SimpleAtoi(format, &payload_type) || payload_type < 0 ||
        payload_type > 127 || clock_count == clocks.size()) {
      continue;
    }
    clocks[clock_count++] = {uint8_t(payload_type), StaticClock(payload_type)};
  }
  for (const sdp::Attribute* attribute : media.attributes.FindAll("rtpmap")) {
    if (!attribute->value) continue;
    absl::StatusOr<sdp::RtpMap> map = sdp::ParseRtpMap(*attribute->value);
    if (!map.ok()) continue;
    for (size_t i = 0; i < clock_count; ++i) {
      if (clocks[i].payload_type == map->payload_type) {
        clocks[i].clock_rate = map->clock_rate;
      }
    }
    if (absl::EqualsIgnoreCase(map->encoding, "telephone-event") &&
        end.telephone_event_pt < 0) {
      end.telephone_event_pt = int16_t(map->payload_type);
    }
  }
  end.clocks.Assign(clocks.data(), clock_count);
  const sdp::Direction direction = sdp::EffectiveDirection(sdp, media);
  end.expects_rtp = direction == sdp::Direction::kSendRecv ||
                    direction == sdp::Direction::kSendOnly;
  end.rtp_timeout_seconds = side.rtp_timeout_seconds != 0
                                ? side.rtp_timeout_seconds
                                : options_.rtp_timeout_seconds;
  end.expect_rtcp = side.expect_rtcp;
  end.expect_rtcp_on_hold = side.expect_rtcp_on_hold;
  end.sendrecv = direction == sdp::Direction::kSendRecv;
  end.armed_ns = MonotonicNs();
  end.rtp_timeout_reported = false;
  end.rtcp_timeout_reported = false;
  end.active = true;
  return absl::OkStatus();
}

absl::StatusOr<std::string> Worker::Answer(const v1::AnswerRequest& request) {
  RETURN_IF_ERROR(
      CheckIds(request.call_id(), request.from_leg(), request.request_id()));
  auto found = sessions_.find(request.call_id());
  if (found == sessions_.end()) {
    return absl::NotFoundError(
        absl::StrCat("no media session for call ", request.call_id(),
                     ": send Offer first (or the session was deleted)"));
  }
  Session& session = *found->second;
  if (std::optional<std::string> cached = session.responses.Find(
          ResponseCache::Method::kAnswer, request.from_leg(),
          request.request_id(), KeyPhrases(session))) {
    return *std::move(cached);
  }
  if (!session.pending && session.answered &&
      session.answered->from != request.from_leg()) {
    // Early media then the final answer: a 183 with SDP was answered, now
    // the 200 brings its own. The relay follows the latest answer.
    session.pending = session.answered;
  }
  if (!session.pending) {
    return absl::FailedPreconditionError(absl::StrCat(
        "call ", request.call_id(), " has no offer waiting for an answer"));
  }
  if (session.pending->from == request.from_leg()) {
    return absl::FailedPreconditionError(
        absl::StrCat("call ", request.call_id(),
                     ": the answer must come from the leg the "
                     "offer went to, not from ",
                     v1::Leg_Name(request.from_leg())));
  }
  ASSIGN_OR_RETURN(sdp::SessionDescription answer, sdp::Parse(request.sdp()));
  PendingOffer& pending = *session.pending;
  ASSIGN_OR_RETURN(const sdp::SessionDescription offer,
                   sdp::Parse(pending.offer_sdp));
  const size_t offerer = LegIndex(pending.from);
  const size_t answerer = 1 - offerer;
  sdp::RelaySide offerer_relay =
      RelaySideFor(session, offerer, offer.media.size());
  const sdp::RelaySide answerer_relay =
      RelaySideFor(session, answerer, offer.media.size());
  ++offerer_relay.session_version;
  absl::StatusOr<sdp::AnswerRewrite> rewrite =
      sdp::RewriteAnswer(offer, answer, answerer_relay, offerer_relay);
  if (!rewrite.ok()) return rewrite.status();
  session.sides[offerer].session_version = offerer_relay.session_version;
  for (uint32_t i = 0; i < rewrite->streams.size(); ++i) {
    Stream* stream =
        i < session.streams.size() ? session.streams[i].get() : nullptr;
    if (stream == nullptr) continue;
    const sdp::AnsweredStream& answered = rewrite->streams[i];
    // RewriteAnswer gives one entry per m-line of the offer, which the
    // answer has as many of.
    if (!answered.relayed || i >= answer.media.size()) {
      // Refused (port 0) in this round: stop relaying, keep the ports.
      stream->ends[0].active = stream->ends[1].active = false;
      continue;
    }
    RETURN_IF_ERROR(ConfigureEnd(stream->ends[offerer], answered.offerer,
                                 answered.offerer_crypto,
                                 answered.offerer_rtcp_mux, offer,
                                 offer.media[i], session.sides[offerer]));
    RETURN_IF_ERROR(ConfigureEnd(stream->ends[answerer], answered.answerer,
                                 answered.answerer_crypto,
                                 answered.answerer_rtcp_mux, answer,
                                 answer.media[i], session.sides[answerer]));
  }
  std::string response = sdp::Serialize(rewrite->sdp);
  session.answered = std::move(session.pending);
  session.pending.reset();
  session.responses.Put(ResponseCache::Method::kAnswer, request.from_leg(),
                        request.request_id(), response, KeyPhrases(session));
  return response;
}

void Worker::DestroySession(Session& session) {
  for (auto& stream : session.streams) {
    if (stream == nullptr) continue;
    for (StreamEnd& end : stream->ends) {
      if (metrics_ != nullptr && end.stats().packets() > 0) {
        const ReceiveStats& s = end.stats();
        metrics_->jitter->Observe(s.jitter_ms());
        metrics_->loss->Observe(double(s.lost()) /
                                double(s.lost() + s.packets()));
        metrics_->mos->Observe(s.mos());
      }
      CloseSockets(end);
    }
  }
  session.streams.clear();
}

void Worker::Delete(
    const std::string& call_id,
    google::protobuf::RepeatedPtrField<v1::StreamStats>* final_streams) {
  auto found = sessions_.find(call_id);
  if (found == sessions_.end()) return;
  if (final_streams != nullptr) AddStreamFigures(*found->second, final_streams);
  DestroySession(*found->second);
  sessions_.erase(found);
  UpdateCounts();
}

void Worker::DeleteAll() {
  for (auto& [id, session] : sessions_) DestroySession(*session);
  sessions_.clear();
  UpdateCounts();
}

absl::Status Worker::Query(const std::string& call_id,
                           v1::QueryResponse* response) {
  auto found = sessions_.find(call_id);
  if (found == sessions_.end()) {
    return absl::NotFoundError(
        absl::StrCat("no media session for call ", call_id));
  }
  AddStreamFigures(*found->second, response->mutable_streams());
  return absl::OkStatus();
}

void Worker::AddStreamFigures(
    const Session& session,
    google::protobuf::RepeatedPtrField<v1::StreamStats>* streams) const {
  for (const auto& stream : session.streams) {
    if (stream == nullptr) continue;
    for (const StreamEnd& end : stream->ends) {
      const ReceiveStats& s = end.stats();
      v1::StreamStats* out = streams->Add();
      out->set_leg(end.leg);
      out->set_mline(end.mline);
      out->set_ssrc(s.ssrc());
      out->set_packets(s.packets());
      out->set_bytes(s.bytes());
      out->set_packets_lost(s.lost());
      out->set_jitter_ms(s.jitter_ms());
      out->set_rtt_ms(s.rtt_ms());
      out->set_mos(s.mos());
      out->set_last_packet_unix_ms(end.last_packet_unix_ms);
      out->set_srtp_auth_failures(s.auth_failures());
      out->set_rtcp_packets(s.rtcp_packets());
      out->set_dropped(s.dropped());
    }
  }
}

}  // namespace trunkline::media::relay
