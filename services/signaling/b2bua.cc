#include "services/signaling/b2bua.h"

#include <algorithm>
#include <array>
#include <iterator>
#include <memory>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "services/common/error_table.h"
#include "services/common/log.h"
#include "services/common/utf8.h"
#include "services/signaling/call_plan.h"
#include "services/signaling/call_record.h"
#include "services/signaling/dialog_relay.h"
#include "services/signaling/digest_auth.h"
#include "services/signaling/sdp_origin.h"
#include "services/signaling/session_timer.h"
#include "services/signaling/transfer.h"

namespace trunkline::signaling {
namespace {

// Answers a request with `headers` added to a 2xx.
class WithSuccessHeaders final : public ServerTransaction {
 public:
  WithSuccessHeaders(std::unique_ptr<ServerTransaction> inner,
                     HeaderList headers)
      : inner_(std::move(inner)), headers_(std::move(headers)) {}
  void Respond(const SipResponse& response) override {
    if (response.code < 200 || response.code >= 300) {
      inner_->Respond(response);
      return;
    }
    SipResponse r = response;
    r.headers.insert(r.headers.end(), headers_.begin(), headers_.end());
    inner_->Respond(r);
  }

 private:
  std::unique_ptr<ServerTransaction> inner_;
  const HeaderList headers_;
};

constexpr char kAllow[] =
    "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO, REFER, NOTIFY";

SipResponse Response(int code, std::string phrase) {
  SipResponse r;
  r.code = code;
  r.phrase = std::move(phrase);
  return r;
}

SipResponse Failure(int code, const std::string& phrase,
                    const std::string& reason) {
  SipResponse r = Response(code, phrase);
  r.headers.emplace_back("Reason", reason);
  return r;
}

}  // namespace

// One call: the caller's leg, and one attempt (callee leg) per candidate
// tried. Owned by the B2BUA; lives on the loop thread.
class B2bua::Call final : public ServerLegObserver, public Transfer::Host {
 public:
  Call(B2bua* b2bua, uint64_t id, IncomingRequest request,
       std::unique_ptr<ServerLeg> leg, PeerMatch origin)
      : b2bua_(b2bua),
        id_(id),
        request_(std::move(request)),
        server_(std::move(leg)),
        origin_(std::move(origin)),
        started_(b2bua->stack_->Now()) {
    server_->SetObserver(this);
  }

  const std::string& call_id() const { return request_.call_id; }
  const std::vector<std::string>& leg_call_ids() const { return leg_ids_; }
  std::string trunk() const {
    return current_candidate_ >= 0 ? candidate().trunk() : origin_.trunk;
  }

  // What the admin API shows of this call.
  v1::CallSummary Summary() const {
    v1::CallSummary s;
    s.set_call_id(request_.call_id);
    s.set_direction(direction_ == "outbound"  ? v1::CALL_DIRECTION_OUTBOUND
                    : direction_ == "inbound" ? v1::CALL_DIRECTION_INBOUND
                    : direction_ == "inter_trunk"
                        ? v1::CALL_DIRECTION_INTER_TRUNK
                        : v1::CALL_DIRECTION_UNSPECIFIED);
    s.set_state(state_ == State::kRouting    ? v1::CALL_STATE_ROUTING
                : state_ == State::kAnswered ? v1::CALL_STATE_ANSWERED
                : state_ == State::kDone     ? v1::CALL_STATE_ENDING
                : got_provisional_           ? v1::CALL_STATE_EARLY
                                             : v1::CALL_STATE_PROCEEDING);
    s.set_trunk(current_candidate_ >= 0 ? candidate().trunk() : origin_.trunk);
    s.set_caller(request_.pai_user.empty() ? request_.from_user
                                           : request_.pai_user);
    s.set_callee(request_.request_uri_user);
    s.set_start_unix_ms(absl::ToUnixMillis(started_));
    if (state_ == State::kAnswered) {
      s.set_answer_unix_ms(absl::ToUnixMillis(answered_));
    }
    return s;
  }
  v1::CallDetail Detail() const {
    v1::CallDetail d;
    *d.mutable_summary() = Summary();
    v1::LegDetail* caller = d.add_legs();
    caller->set_role("caller");
    caller->set_call_id(request_.call_id);
    caller->set_remote(absl::StrCat(request_.source.remote_address, ":",
                                    request_.source.remote_port));
    caller->set_local(absl::StrCat(request_.source.local_port));
    if (current_candidate_ >= 0) {
      const v1::Candidate& c = candidate();
      v1::LegDetail* callee = d.add_legs();
      callee->set_role("callee");
      callee->set_remote(
          c.next_hop().dns_srv()
              ? c.next_hop().host()
              : absl::StrCat(c.next_hop().host(), ":", c.next_hop().port()));
      callee->set_local(absl::StrCat(c.next_hop().local_port()));
      if (state_ == State::kAnswered) callee->set_final_status(200);
      d.set_route(absl::StrCat(c.trunk().empty() ? "uc-side" : c.trunk(),
                               " via ", c.next_hop().gateway()));
      d.set_pstn_usage(c.pstn_usage());
    }
    for (const std::string& f : failovers_) d.add_failovers(f);
    if (anchored_) {
      d.set_media_instance(b2bua_->media_->InstanceOf(request_.call_id));
    }
    return d;
  }

  // An operator ends the call: BYE on both legs once answered, else CANCEL
  // downstream and a final failure upstream; `reason` in a Reason header.
  void Hangup(const std::string& text) {
    if (state_ == State::kDone) return;
    const std::string reason =
        SipReason(state_ == State::kAnswered ? 200 : 503,
                  text.empty() ? "operator hangup" : text);
    EndedBy("operator", reason);
    if (state_ == State::kAnswered) {
      EndAnswered(reason);
      return;
    } else {
      if (Attempt* a = current()) a->leg->Cancel();
      server_->Respond(Failure(503, "Service Unavailable", reason));
      b2bua_->metrics_->CallFailed(trunk(), direction_, 503);
    }
    Finish();
  }
  // The relay reports that media stopped (RTP or RTCP timeout): an answered
  // call ends on both legs with a Reason saying which side went quiet.
  // False when the call is not answered (nothing to end yet).
  bool EndForMedia(const v1::MediaEvent& event) {
    if (state_ != State::kAnswered) return false;
    const char* side = event.leg() == v1::LEG_CALLER ? "caller" : "callee";
    const std::string text = absl::StrCat(
        "media timeout: ",
        event.kind() == v1::MediaEvent::KIND_RTCP_TIMEOUT ? "RTCP" : "RTP",
        " from the ", side, " stopped (", event.detail(), ")");
    TL_LOG(kWarning, "call ended on media timeout")
        .With("call_id", request_.call_id)
        .With("trunk", trunk())
        .With("detail", text);
    EndAnswered(SipReason(408, text));
    return true;
  }

  // BYE on both legs of an answered call with `reason`, and the end.
  void EndAnswered(const std::string& reason) {
    EndedBy("trunkline", reason);
    if (transfer_) transfer_->Abandon(reason);
    if (Attempt* a = current(); a != nullptr && !acked_) a->leg->Ack("", "");
    if (DialogLeg* callee = LegOn(MediaLeg::kCallee)) callee->SendBye(reason);
    LegOn(MediaLeg::kCaller)->SendBye(reason);
    Finish();
  }

  ~Call() override {
    // The timers, relay and legs go first: they detach from the stack
    // before we are gone.
    for (LegSessionTimer& t : timers_) t.Stop();
    for (auto& t : transferor_bye_) t.reset();
    relay_.reset();
    early_relay_.reset();
    caller_reoffer_txn_.reset();
    reoffer_retry_.reset();
    transfer_.reset();
    failed_transfer_.reset();
    for (auto& t : moved_) t.reset();
    retired_.clear();
    attempts_.clear();
    server_.reset();
  }

  void Start() {
    if (!OccupyOriginTrunk()) return;
    if (!request_.replaces.empty()) {
      StartReplacing();
      return;
    }
    Route(request_.request_uri_user);
  }

  // A call from a trunk counts against that trunk's maxConcurrentCalls as
  // a call to it does (a trunk's channels carry both directions): past the
  // limit, 503 with Retry-After at once. False when refused.
  bool OccupyOriginTrunk() {
    if (origin_.uc_side()) return true;
    const uint32_t limit = origin_.max_concurrent_calls;
    b2bua_->trunk_limits_[origin_.trunk] = limit;
    if (b2bua_->IsFull(origin_.trunk)) {
      SipResponse r =
          Failure(503, "Service Unavailable",
                  SipReason(503, absl::StrCat("trunk ", origin_.trunk,
                                              " is at its call limit")));
      r.headers.emplace_back("Retry-After", "30");
      b2bua_->metrics_->CallFailed(origin_.trunk, "inbound", 503);
      server_->Respond(r);
      Finish();
      return false;
    }
    b2bua_->Occupy(origin_.trunk, limit);
    origin_occupied_ = origin_.trunk;
    return true;
  }

  void Route(const std::string& callee) {
    v1::RouteRequest req;
    req.set_call_id(request_.call_id);
    if (origin_.uc_side()) {
      req.mutable_origin()->set_user_uri(
          request_.pai_uri.empty() ? request_.from_uri : request_.pai_uri);
    } else {
      req.mutable_origin()->set_trunk(origin_.trunk);
    }
    req.set_caller(CallerNumber());
    req.set_callee(callee);
    AddTrunkStates(req);
    B2bua* b2bua = b2bua_;
    const uint64_t id = id_;
    b2bua_->routing_->Route(
        req, [b2bua, id](absl::StatusOr<v1::RouteDecision> decision) {
          auto it = b2bua->calls_.find(id);
          // The caller may have cancelled while routing thought.
          if (it != b2bua->calls_.end())
            it->second->OnRouted(std::move(decision));
        });
  }

  // An INVITE with Replaces (RFC 3891) from a peer that takes over its
  // side of a call of ours, as in an attended transfer or a call pickup on
  // a PBX: the dialog it names is its peer's dialog with us, unknown on
  // the other side of the call. The new call goes to that call's far party
  // with Replaces naming the far party's own dialog with us; the far party
  // replaces that call and hangs it up, which ends the named leg too.
  // When the named leg is that call's caller, its far party is reached
  // through that call's candidate (no routing); when it is the callee, the
  // far party is that call's caller, routed again by its number.
  void StartReplacing() {
    std::optional<ReplacesValue> replaces =
        ParseReplaces(b2bua_->RevealReplaces(request_.replaces));
    if (!replaces) {
      FailWith(400, "Bad Request",
               SipReason(400,
                         "Replaces without a Call-ID, to-tag and "
                         "from-tag (RFC 3891 6.1)"));
      return;
    }
    // This call is not answered, so it never names itself.
    auto [other, side] = CallNamedBy(*replaces);
    DialogLeg* far = other ? other->LegOn(OtherSide(side)) : nullptr;
    const v1::Candidate* reach =
        far && side == MediaLeg::kCaller ? other->FarCandidate() : nullptr;
    if (far == nullptr || (side == MediaLeg::kCaller && reach == nullptr)) {
      // RFC 3891 3: no match (or not answered), 481.
      FailWith(481, "Call/Transaction Does Not Exist",
               SipReason(481, "Replaces names no answered call of this node"));
      return;
    }
    replaces_out_ = ReplacesFor(far->dialog_id(), replaces->early_only);
    TL_LOG(kInfo, "INVITE with Replaces naming a call of ours")
        .With("call_id", request_.call_id)
        .With("replaced_call_id", other->call_id());
    if (side == MediaLeg::kCallee) {
      Route(other->CallerNumber());
      return;
    }
    v1::RouteDecision decision;
    decision.set_to_uc_side(other->decision_.to_uc_side());
    *decision.add_candidates() = *reach;
    OnRouted(std::move(decision));
  }
  // The caller's number as routing got it.
  std::string CallerNumber() const {
    return request_.pai_user.empty() ? request_.from_user : request_.pai_user;
  }

  // The pool, and the trunks that are down or full, for routing.
  void AddTrunkStates(v1::RouteRequest& req) const {
    req.set_pool(b2bua_->peers_->pool());
    if (b2bua_->monitor_ != nullptr) {
      for (const std::string& t : b2bua_->monitor_->DownTrunks()) {
        req.add_down_trunks(t);
      }
    }
    for (const auto& [trunk, limit] : b2bua_->trunk_limits_) {
      if (b2bua_->IsFull(trunk)) req.add_full_trunks(trunk);
    }
  }

  // A media result for this call, delivered only if the call still exists
  // when it comes (the caller may have hung up meanwhile).
  MediaController::SdpDone ForThisCall(
      std::function<void(Call*, absl::StatusOr<std::string>)> then) {
    B2bua* b2bua = b2bua_;
    const uint64_t id = id_;
    return
        [b2bua, id, then = std::move(then)](absl::StatusOr<std::string> sdp) {
          auto it = b2bua->calls_.find(id);
          if (it != b2bua->calls_.end()) then(it->second.get(), std::move(sdp));
        };
  }

  // ServerLegObserver
  void OnCancel() override {
    if (state_ == State::kAnswered || state_ == State::kDone) return;
    EndedBy("caller", "");
    if (Attempt* a = current()) a->leg->Cancel();
    server_->Respond(Response(487, "Request Terminated"));
    b2bua_->metrics_->CallFailed(trunk(), direction_, 487);
    Finish();
  }
  void OnAck(const std::string& content_type,
             const std::string& body) override {
    if (moved_[0]) return;  // the transferor's leg
    if (relay_ && relay_->OnAck(MediaLeg::kCaller, content_type, body)) return;
    if (state_ != State::kAnswered || acked_) return;
    acked_ = true;
    if (delayed_offer_ && anchored_ && !body.empty()) {
      // The caller's answer to the relay's offer: the callee gets the
      // relay's answer in our ACK.
      b2bua_->media_->Answer(request_.call_id, MediaLeg::kCaller, body,
                             ForThisCall([](Call* call, auto sdp) {
                               call->OnDelayedAnswer(std::move(sdp));
                             }));
      return;
    }
    if (!body.empty()) sdp_sent_[1] = body;
    if (Attempt* a = current()) a->leg->Ack(content_type, body);
    if (!caller_reoffer_.empty()) ReofferToCaller();
  }

  // Bypassed, the call failed over after the caller's early offer/answer
  // with an earlier candidate: the caller gets the answering candidate's
  // SDP in a re-INVITE (RFC 3261 14), so that its media goes there. The
  // caller's answer stays on this leg: the candidate's session was made
  // from the caller's own SDP and is unchanged.
  //
  // Anchored, the relay makes that offer: the candidate's SDP goes to media
  // `Update` as if the candidate offered it again (the relay's side towards
  // the candidate keeps its ports and keys), and the caller's answer goes
  // to `Answer`, so the relay learns the caller's keys and address; the
  // candidate gets nothing.
  void ReofferToCaller() {
    if (caller_reoffer_.empty()) return;
    if (state_ != State::kAnswered || !relay_->offer_answer_idle()) {
      caller_reoffer_.clear();  // an exchange of the parties' goes first
      return;
    }
    TL_LOG(kInfo, "re-INVITE to the caller with the answering candidate's SDP")
        .With("call_id", request_.call_id)
        .With("trunk", trunk())
        .With("anchored", anchored_);
    if (!anchored_) {
      SendReoffer(caller_reoffer_);
      return;
    }
    b2bua_->media_->Update(
        request_.call_id, MediaLeg::kCallee, caller_reoffer_,
        ForThisCall([](Call* call, absl::StatusOr<std::string> sdp) {
          if (call->state_ != State::kAnswered ||
              call->caller_reoffer_.empty()) {
            return;
          }
          if (!sdp.ok() || !call->relay_->offer_answer_idle()) {
            TL_LOG(kWarning, "no re-INVITE to the caller after the failover")
                .With("call_id", call->request_.call_id)
                .With("error", sdp.ok() ? "an exchange of the parties' began"
                                        : sdp.status().message());
            call->caller_reoffer_.clear();
            return;
          }
          call->SendReoffer(*sdp);
        }));
  }
  // From here on the caller keeps the origin (o= line) of the SDP it had
  // (RFC 3264 8), whoever's SDP it is sent: the re-INVITE's is a new
  // version of the failed candidate's session, not the answering one's.
  void SendReoffer(const std::string& sdp) {
    DialogRequest reinvite;
    reinvite.method = "INVITE";
    reinvite.content_type = "application/sdp";
    reinvite.body = KeptOrigin(MediaLeg::kCaller, sdp);
    sdp_sent_[0] = reinvite.body;
    caller_reoffer_txn_ = server_->SendRequest(
        reinvite, [this](const SipResponse& r) { OnCallerReoffered(r); });
  }
  void OnCallerReoffered(const SipResponse& r) {
    if (r.code >= 200 && r.code < 300) {
      caller_reoffer_txn_->Ack("", "");
      caller_reoffer_.clear();
      if (anchored_ && !r.body.empty()) {
        b2bua_->media_->Answer(
            request_.call_id, MediaLeg::kCaller, r.body,
            ForThisCall([](Call* call, absl::StatusOr<std::string> sdp) {
              if (sdp.ok())
                return;  // the relay's answer: the candidate's
                         // session is unchanged
              TL_LOG(kWarning, "media refused the caller's answer")
                  .With("call_id", call->request_.call_id)
                  .With("error", sdp.status().message());
            }));
      }
      return;
    }
    if (r.code == 491 && state_ == State::kAnswered) {
      // Crossed a re-INVITE of the caller's (RFC 3261 14.1): again later,
      // if nothing else changed the session meanwhile.
      reoffer_retry_ = b2bua_->stack_->StartTimer(
          absl::Seconds(2), [this] { ReofferToCaller(); });
      return;
    }
    TL_LOG(kWarning,
           "caller refused the re-INVITE with the new candidate's SDP")
        .With("call_id", request_.call_id)
        .With("code", r.code);
    caller_reoffer_.clear();
    // Its media would still go to the gateway that failed: dead air both
    // ways, which a caller can only end by hanging up. End it for them,
    // saying why (as RFC 3261 12.2.1.2 asks anyway after 481 and 408).
    if (state_ == State::kAnswered) {
      EndAnswered(SipReason(
          r.code,
          absl::StrCat("the caller refused the re-INVITE moving its media "
                       "to ",
                       candidate().next_hop().gateway(),
                       " after the failover")));
    }
  }
  void OnDelayedAnswer(absl::StatusOr<std::string> sdp) {
    Attempt* a = current();
    if (state_ != State::kAnswered || a == nullptr) return;
    if (sdp.ok()) {
      sdp_sent_[1] = *sdp;
      a->leg->Ack("application/sdp", *sdp);
      return;
    }
    TL_LOG(kWarning, "media answer failed")
        .With("call_id", request_.call_id)
        .With("error", sdp.status().message());
    a->leg->Ack("", "");
    EndAnswered(
        SipReason(500, absl::StrCat("media: ", sdp.status().message())));
  }
  // The caller hung up. Its Reason (a Q.850 cause, say) goes on in our
  // BYE to the callee (RFC 3326), as a gateway's comes back the other way.
  void OnBye(const std::string& reason) override {
    if (state_ == State::kDone) return;
    if (state_ == State::kAnswered && TransferorLeft(MediaLeg::kCaller)) return;
    EndedBy("caller", reason);
    if (Attempt* a = current(); a != nullptr && state_ == State::kAnswered) {
      if (transfer_) transfer_->Abandon("");
      if (!acked_) a->leg->Ack("", "");
      LegOn(MediaLeg::kCallee)->SendBye(reason);
    } else if (Attempt* b = current()) {
      b->leg->Cancel();
    }
    Finish();
  }
  void OnDialogRequest(const DialogRequest& request,
                       std::unique_ptr<ServerTransaction> txn) override {
    if (moved_[0]) {  // the caller was transferred away: its dialog is over
      txn->Respond(Response(481, "Call/Transaction Does Not Exist"));
      return;
    }
    OnLegRequest(MediaLeg::kCaller, request, std::move(txn));
  }

 private:
  enum class State { kRouting, kTrying, kAnswered, kDone };

  // One candidate tried: its leg, and whether we gave up on it.
  struct Attempt final : ClientLegObserver {
    Call* call = nullptr;
    int candidate = 0;
    bool abandoned = false;
    // The INVITE's Request-URI (digest answers cover it) and how many
    // challenges we answered on this leg.
    std::string request_uri;
    int auth_tries = 0;
    // The INVITE carried the caller's location beside its SDP (a multipart
    // body): a 415 to it is tried again without (OnCalleeResponse).
    bool sent_location = false;
    std::unique_ptr<ClientLeg> leg;
    void OnResponse(const SipResponse& r) override {
      call->OnCalleeResponse(this, r);
    }
    void OnBye(const std::string& reason) override {
      call->OnCalleeBye(this, reason);
    }
    void OnAck(const std::string& content_type,
               const std::string& body) override {
      if (this == call->current() && call->relay_ && !call->moved_[1]) {
        call->relay_->OnAck(MediaLeg::kCallee, content_type, body);
      }
    }
    void OnDialogRequest(const DialogRequest& request,
                         std::unique_ptr<ServerTransaction> txn) override {
      if (this != call->current() || call->moved_[1]) {
        SipResponse r;
        r.code = 481;
        r.phrase = "Call/Transaction Does Not Exist";
        txn->Respond(r);
        return;
      }
      call->OnLegRequest(MediaLeg::kCallee, request, std::move(txn));
    }
  };

  // A request within either leg's dialog: relayed once the call is
  // answered. Before that, a new offer would cross the INVITE's own
  // offer/answer (491, RFC 3311 5.2); anything else may come again later.
  void OnLegRequest(MediaLeg from, const DialogRequest& request,
                    std::unique_ptr<ServerTransaction> txn) {
    b2bua_->metrics_->InDialogRequest(request.method);
    if (!request.body_error.empty()) {
      txn->Respond(
          Failure(400, "Bad Request", SipReason(400, request.body_error)));
      return;
    }
    if (relay_ != nullptr && state_ == State::kAnswered &&
        request.method == "REFER" &&
        candidate().refer_mode() == v1::REFER_MODE_TERMINATE) {
      StartTransfer(from, request, std::move(txn));
      return;
    }
    if (relay_ != nullptr && state_ == State::kAnswered && transfer_ &&
        (request.method == "INVITE" || request.method == "UPDATE")) {
      // The transfer's own re-INVITE is the offer/answer in progress.
      txn->Respond(Response(491, "Request Pending"));
      return;
    }
    if (relay_ != nullptr && state_ == State::kAnswered) {
      const LegSessionTimer& timer = timers_[Index(from)];
      if (timer.rules && timer.rules->active() &&
          (request.method == "INVITE" || request.method == "UPDATE")) {
        // The trunk refreshed the session (RFC 4028): our timer starts over.
        StartSessionTimer(from);
        if (request.method == "UPDATE" && request.body.empty()) {
          // A bare refresh is this leg's business: answered here, not
          // relayed (session timers run per leg).
          SipResponse ok = Response(200, "OK");
          ok.headers = timer.rules->AnswerHeaders();
          txn->Respond(ok);
          return;
        }
        // Relayed (an offer in it): the 2xx from the other side carries
        // this leg's Session-Expires, or the trunk would take the session
        // as without a timer (RFC 4028 7.2) and stop refreshing.
        txn = std::make_unique<WithSuccessHeaders>(
            std::move(txn), timer.rules->AnswerHeaders());
      }
      relay_->OnRequest(from, request, std::move(txn));
      return;
    }
    if (RelaysEarly(request)) {
      if (early_relay_ == nullptr) early_relay_ = MakeRelay();
      if (!request.body.empty() && request.method == "UPDATE") {
        early_renegotiated_ = true;
      }
      early_relay_->OnRequest(from, request, std::move(txn));
      return;
    }
    SipResponse r;
    if (request.method == "INVITE" || request.method == "UPDATE") {
      r = Response(491, "Request Pending");
    } else {
      r = Response(500, "Server Internal Error");
      r.headers = {{"Retry-After", "1"},
                   {"Reason", SipReason(500, "the call is not answered yet")}};
    }
    txn->Respond(r);
  }

  Attempt* current() {
    if (attempts_.empty() || attempts_.back()->abandoned) return nullptr;
    return attempts_.back().get();
  }

  // Early dialogs (RFC 3261 12.1): once the current candidate's provisional
  // opened one (and ours to the caller, relayed, the caller's), an INFO
  // (RFC 6086: DTMF or a package during early media) or an UPDATE without
  // SDP goes to the other leg's early dialog and its answer comes back. An
  // UPDATE with a new offer (a gateway's codec change or hold during early
  // media) crosses once the INVITE's own offer/answer is complete on both
  // legs (RFC 3311 5.1), through media Update and Answer like a
  // re-INVITE's; before that it would cross that offer/answer: 491.
  bool RelaysEarly(const DialogRequest& request) {
    if (state_ != State::kTrying || !got_provisional_ || current() == nullptr ||
        failover_after_prack_ != nullptr) {
      return false;
    }
    if (request.method == "INFO") return true;
    if (request.method != "UPDATE") return false;
    return request.body.empty() ||
           (callee_early_session_ && caller_early_session_ &&
            !caller_answer_in_flight_ &&
            early_offer_ != EarlyOffer::kAwaitingAnswer);
  }

  // Carries requests between the legs' dialogs: early (RelaysEarly), then
  // for the rest of the call, the same relay (an early UPDATE still in
  // progress at the answer finishes).
  std::unique_ptr<DialogRelay> MakeRelay() {
    DialogRelay::Options relay;
    relay.call_id = request_.call_id;
    relay.media = anchored_ ? b2bua_->media_ : nullptr;
    relay.refer_mode = candidate().refer_mode();
    relay.hide_replaces = [b2bua = b2bua_](const std::string& replaces) {
      return b2bua->HideReplaces(replaces);
    };
    relay.sdp_sent = [this](MediaLeg to, const std::string& sdp) {
      sdp_sent_[Index(to)] = sdp;
      // The current callee's SDP reached the caller in a relayed exchange
      // (early or not): nothing older is to be offered to it.
      if (to == MediaLeg::kCaller) caller_reoffer_.clear();
    };
    relay.rewrite_sdp = [this](MediaLeg to, const std::string& sdp) {
      // Each side's own party keeps its o= line once it was sent another
      // party's SDP (KeepOriginOf).
      return KeptOrigin(to, sdp);
    };
    relay.sdp_agreed = [this](MediaLeg of, const std::string& sdp) {
      if (of == MediaLeg::kCaller && state_ == State::kTrying) {
        caller_sdp_after_update_ = sdp;  // an early UPDATE's, as it came
      }
    };
    return std::make_unique<DialogRelay>(
        b2bua_->stack_, server_.get(), current()->leg.get(), std::move(relay));
  }
  const v1::Candidate& candidate() const {
    return decision_.candidates(current_candidate_);
  }
  // A candidate as operators name it: its trunk, or the UC side's next hop.
  static const std::string& NameOf(const v1::Candidate& c) {
    return c.trunk().empty() ? c.next_hop().gateway() : c.trunk();
  }
  // A candidate given up on, in the metrics and the trunk's counters.
  void CountFailover(const std::string& trunk, const std::string& why) {
    b2bua_->metrics_->Failover(trunk, why);
    if (!trunk.empty()) ++b2bua_->counters_[trunk].failovers_by_reason[why];
  }

  void OnRouted(absl::StatusOr<v1::RouteDecision> decision) {
    if (state_ != State::kRouting) return;
    if (!decision.ok()) {
      const SipError e = SipErrorFor(decision.status().code());
      TL_LOG(kWarning, "routing failed")
          .With("call_id", request_.call_id)
          .With("error", decision.status().message());
      FailWith(e.code, e.reason_phrase,
               SipReason(e.code, std::string(decision.status().message())));
      return;
    }
    decision_ = *std::move(decision);
    if (decision_.candidates().empty()) {
      const int code =
          decision_.reject().sip_code() ? decision_.reject().sip_code() : 404;
      SipResponse r = Failure(code, code == 404 ? "Not Found" : "Rejected",
                              SipReason(code, decision_.reject().reason()));
      if (code == 503) r.headers.emplace_back("Retry-After", "30");
      b2bua_->metrics_->CallFailed("", "rejected", code);
      server_->Respond(r);
      Finish();
      return;
    }
    direction_ = origin_.uc_side()        ? "outbound"
                 : decision_.to_uc_side() ? "inbound"
                                          : "inter_trunk";
    for (const v1::Candidate& c : decision_.candidates()) {
      if (!c.trunk().empty()) {
        b2bua_->trunk_limits_[c.trunk()] = c.limits().max_concurrent_calls();
      }
    }
    b2bua_->metrics_->CallReceived(direction_);
    // A trunk calling in with session timers on: its leg's timer is ours
    // to answer (RFC 4028 as UAS), wherever the call goes (the UC side, or
    // another trunk with a timer of its own on the callee's leg).
    const v1::SessionTimer& st = decision_.origin_session_timer();
    if (!origin_.uc_side() && st.enabled()) {
      std::optional<SessionTimer>& rules =
          timers_[Index(MediaLeg::kCaller)].rules;
      rules.emplace(st);
      const bool supports =
          std::find(request_.supported.begin(), request_.supported.end(),
                    "timer") != request_.supported.end();
      if (std::optional<SipResponse> too_small = rules->OnInvite(
              request_.session_expires, request_.min_se, supports)) {
        b2bua_->metrics_->CallFailed("", direction_, 422);
        server_->Respond(*too_small);
        Finish();
        return;
      }
    }
    state_ = State::kTrying;
    TryNext();
  }

  // Moves to the next candidate, or fails the call when none is left.
  void TryNext() {
    ReleaseTrunk();
    early_relay_.reset();  // the early dialog was the failed candidate's
    if ((early_offer_ == EarlyOffer::kAwaitingAnswer ||
         caller_answer_in_flight_) &&
        next_candidate_ < decision_.candidates_size()) {
      // The candidate that failed offered in a reliable 18x, and the
      // caller's answer (its PRACK) is owed or on its way to the relay. No
      // 2xx may reach the caller before that PRACK (RFC 3262 3; Sofia holds
      // it back), so the next candidate waits for the answer, a few seconds
      // at most, to be offered it (OnEarlyAnswer).
      failover_after_prack_ =
          b2bua_->stack_->StartTimer(kFailoverPrackWait, [this] {
            failover_after_prack_.reset();
            if (state_ != State::kTrying) return;
            // No answer: no other candidate's 2xx could reach the caller.
            // A final error may go before the PRACK (RFC 3262 3).
            FailFinally();
          });
      return;
    }
    while (next_candidate_ < decision_.candidates_size()) {
      const int index = next_candidate_++;
      const v1::Candidate& c = decision_.candidates(index);
      current_candidate_ = index;
      if (!c.trunk().empty() && b2bua_->IsFull(c.trunk())) {
        last_failure_ =
            Failure(503, "Service Unavailable",
                    SipReason(503, absl::StrCat("trunk ", c.trunk(),
                                                " is at its call limit")));
        // As when routing finds every trunk full (OnRouted).
        last_failure_.headers.emplace_back("Retry-After", "30");
        CountFailover(c.trunk(), "full");
        continue;
      }
      // An INVITE without SDP (a delayed offer) goes on without one; the
      // callee's offer in its 2xx is anchored then (Relay), the caller's
      // answer in its ACK (OnAck).
      // Once the caller has SDP from the relay (an 18x's), later candidates
      // go through the relay too, whatever their plan: the caller keeps
      // sending to the relay's ports (bypass is allowed, never required).
      const bool anchor = c.media().anchor() || relay_sdp_to_caller_;
      if ((anchored_ || media_offered_) && !anchor) {
        // From an anchored candidate to one that bypasses media, with
        // nothing of the relay's at the caller: the relay's session has no
        // use now (left, it would end the call on a media timeout), and the
        // next SDP is not the relay's.
        b2bua_->media_->Delete(request_.call_id, nullptr);
        anchored_ = false;
        media_offered_ = false;
      }
      // The caller answered an earlier candidate's offer in its PRACK (RFC
      // 3262): its offer/answer is over, so an anchored candidate now is
      // offered what the caller answered, through the same relay (its
      // caller side keeps its ports and keys), and the caller is sent no
      // second offer (Relay).
      // Bypassed, the next candidate gets the caller's answer as it is.
      // After an early UPDATE, the caller's SDP as it left it.
      const std::string& offer =
          !caller_sdp_after_update_.empty() ? caller_sdp_after_update_
          : !caller_early_answer_.empty()   ? caller_early_answer_
                                            : request_.body;
      delayed_offer_ = anchor && offer.empty();
      early_offer_ = EarlyOffer::kNone;  // each candidate makes its own
      if (anchor && !delayed_offer_) {
        media_offered_ = true;
        b2bua_->media_->Offer(request_.call_id, c, offer,
                              ForThisCall([index](Call* call, auto sdp) {
                                call->OnOffered(index, std::move(sdp));
                              }));
        return;
      }
      Send(offer);
      return;
    }
    FailFinally();
  }

  void OnOffered(int index, absl::StatusOr<std::string> sdp) {
    if (state_ != State::kTrying || index != current_candidate_) return;
    if (!sdp.ok()) {
      last_failure_ = Failure(
          503, "Service Unavailable",
          SipReason(503, absl::StrCat("media: ", sdp.status().message())));
      CountFailover(candidate().trunk(), "media");
      TryNext();
      return;
    }
    anchored_ = true;
    Send(*sdp);
  }

  void Send(const std::string& body) {
    const v1::Candidate& c = candidate();
    auto attempt = std::make_unique<Attempt>();
    attempt->call = this;
    attempt->candidate = current_candidate_;
    Attempt* a = attempt.get();
    attempts_.push_back(std::move(attempt));
    OutgoingInvite invite = BuildInvite(request_, c, body);
    if (invite.transport == v1::TRANSPORT_TLS && b2bua_->peers_) {
      invite.tls_name = b2bua_->peers_->TlsNameOf(c.next_hop().gateway());
    }
    invite.max_early_dialogs = c.limits().max_early_dialogs();
    if (!replaces_out_.empty()) {
      invite.headers.emplace_back("Replaces", replaces_out_);
      invite.headers.emplace_back("Require", "replaces");
    }
    // Reliable provisionals per leg (RFC 3262): offered to the callee when
    // the caller can take them, so early media is not lost on either leg.
    if (CallerTakes100rel()) invite.headers.emplace_back("Supported", "100rel");
    // RFC 4028 towards a trunk that wants it, on this candidate's leg (the
    // caller's leg keeps its own, set up in OnRouted).
    LegSessionTimer& callee_timer = timers_[Index(MediaLeg::kCallee)];
    callee_timer = LegSessionTimer();
    if (!c.trunk().empty() && c.session_timer().enabled()) {
      callee_timer.rules.emplace(c.session_timer());
      for (auto& h : callee_timer.rules->InviteHeaders()) {
        invite.headers.push_back(std::move(h));
      }
    }
    a->request_uri = invite.request_uri;
    a->sent_location = absl::StartsWith(invite.content_type, "multipart/");
    sdp_sent_[1] = body;
    a->leg = b2bua_->stack_->SendInvite(invite, a);
    if (const std::string leg_id = a->leg->call_id(); !leg_id.empty()) {
      leg_ids_.push_back(leg_id);
      b2bua_->IndexLeg(leg_id, id_);
    }
    b2bua_->metrics_->CallAttempted(c.trunk(), direction_);
    if (!c.trunk().empty()) ++b2bua_->counters_[c.trunk()].attempts;
    b2bua_->metrics_->TrunkCalls(c.trunk(), direction_, 1,
                                 c.limits().max_concurrent_calls());
    counted_trunk_ = c.trunk();
    counted_limit_ = c.limits().max_concurrent_calls();
    counting_trunk_ = true;
    if (!c.trunk().empty()) {
      b2bua_->Occupy(c.trunk(), c.limits().max_concurrent_calls());
      occupied_ = c.trunk();
    }
    sent_at_ = absl::Now();
    got_provisional_ = false;
    callee_early_session_ = false;
    early_renegotiated_ = false;
    if (c.failover().fast_failover_seconds() > 0) {
      fast_failover_ = b2bua_->stack_->StartTimer(
          absl::Seconds(c.failover().fast_failover_seconds()),
          [this] { OnFastFailover(); });
    }
  }

  void OnFastFailover() {
    fast_failover_.reset();
    Attempt* a = current();
    if (a == nullptr || state_ != State::kTrying || got_provisional_) return;
    const v1::Candidate& c = candidate();
    TL_LOG(kInfo, "fast failover")
        .With("call_id", request_.call_id)
        .With("trunk", c.trunk());
    a->abandoned = true;
    a->leg->Cancel();
    last_failure_ = Failure(
        408, "Request Timeout",
        SipReason(408,
                  absl::StrCat("no provisional response from ",
                               c.next_hop().gateway(), " within ",
                               c.failover().fast_failover_seconds(), " s")));
    CountFailover(c.trunk(), "fast_failover");
    failovers_.push_back(absl::StrCat(NameOf(c), ": fast_failover"));
    TryNext();
  }

  void OnCalleeResponse(Attempt* a, const SipResponse& r) {
    if (a != current() || state_ == State::kDone) {
      // A leg we gave up on answered after all: end it at once.
      if (r.code >= 200 && r.code < 300) {
        a->leg->Ack("", "");
        a->leg->SendBye(SipReason(200, "call already moved to another trunk"));
      }
      return;
    }
    if (r.code < 101) return;
    if (r.code < 200) {
      if (!got_provisional_) {
        got_provisional_ = true;
        fast_failover_.reset();
        post_dial_delay_ = absl::ToDoubleSeconds(absl::Now() - sent_at_);
      }
      Relay(r);
      return;
    }
    fast_failover_.reset();
    if (r.code < 300) {
      if (state_ == State::kAnswered) return;  // a retransmission
      state_ = State::kAnswered;
      answered_ = b2bua_->stack_->Now();
      if (!got_provisional_) {
        post_dial_delay_ = absl::ToDoubleSeconds(absl::Now() - sent_at_);
      }
      b2bua_->metrics_->CallAnswered(trunk(), direction_, post_dial_delay_);
      if (!trunk().empty()) ++b2bua_->counters_[trunk()].answered;
      // A delayed offer is anchored from the callee's offer in this 2xx.
      if (delayed_offer_ && !r.body.empty()) anchored_ = true;
      if (early_relay_ != nullptr) {
        // The early dialogs' relay goes on (an UPDATE it carries may still
        // be waiting for its answer); a delayed offer may have been
        // anchored by this 2xx.
        relay_ = std::move(early_relay_);
        relay_->set_media(anchored_ ? b2bua_->media_ : nullptr);
      } else {
        relay_ = MakeRelay();
      }
      if (auto& rules = timers_[Index(MediaLeg::kCallee)].rules) {
        rules->OnAnswer(r);
      }
      StartSessionTimer(MediaLeg::kCaller);
      StartSessionTimer(MediaLeg::kCallee);
      Relay(r);
      Compact();
      return;
    }
    std::optional<SessionTimer>& callee_rules =
        timers_[Index(MediaLeg::kCallee)].rules;
    if (r.code == 422 && !r.local && callee_rules && callee_rules->On422(r) &&
        a->leg->Resend(callee_rules->InviteHeaders())) {
      return;  // again, with the interval the trunk asks for
    }
    if ((r.code == 401 || r.code == 407) && !r.local && Authenticate(a, r)) {
      return;  // the INVITE goes again with our credentials
    }
    if (r.code == 415 && !r.local && a->sent_location) {
      RetryWithoutLocation(a);
      return;
    }
    const v1::Candidate& c = candidate();
    if (IsFailover(r, c.failover())) {
      TL_LOG(kInfo, "failover")
          .With("call_id", request_.call_id)
          .With("trunk", c.trunk())
          .With("code", r.code);
      const std::string why = r.local
                                  ? (r.code == 408 ? "timeout" : "transport")
                                  : absl::StrCat("response_", r.code);
      CountFailover(c.trunk(), why);
      failovers_.push_back(absl::StrCat(NameOf(c), ": ", why));
      last_failure_ = r;
      last_failure_from_candidate_ = current_candidate_;
      a->abandoned = true;
      TryNext();
      return;
    }
    last_failure_ = r;
    last_failure_from_candidate_ = current_candidate_;
    FailFinally();
  }

  // The trunk refused the multipart body that carried the caller's
  // location (415: `enablePidfLoSupport` set for a gateway that takes no
  // such body). An emergency call must not fail on that: the same
  // candidate is tried next, without the location (RFC 3261 21.4.13: again
  // with only the types the 415's Accept lists), before any other.
  void RetryWithoutLocation(Attempt* a) {
    const v1::Candidate& c = candidate();
    TL_LOG(kWarning, "trunk refused the caller's location: sent again without")
        .With("call_id", request_.call_id)
        .With("trunk", c.trunk());
    v1::Candidate again = c;
    again.mutable_headers()->set_forward_location(false);
    *decision_.add_candidates() = std::move(again);
    for (int i = decision_.candidates_size() - 1; i > next_candidate_; --i) {
      decision_.mutable_candidates()->SwapElements(i, i - 1);
    }
    CountFailover(c.trunk(), "location_refused");
    failovers_.push_back(absl::StrCat(NameOf(c), ": location_refused"));
    a->abandoned = true;
    TryNext();
  }

  // A trunk's digest challenge (RFC 3261 22.2): answered with the trunk's
  // credentials once, and once more if the nonce was only stale. False when
  // it cannot or should not be answered: the response then counts as the
  // candidate's failure.
  bool Authenticate(Attempt* a, const SipResponse& r) {
    const v1::Candidate& c = candidate();
    if (c.credentials().empty()) return false;
    const DigestCredential* credential =
        b2bua_->peers_->credentials().Find(c.credentials());
    if (credential == nullptr) {
      TL_LOG(kWarning, "challenge not answered: credential unavailable")
          .With("trunk", c.trunk())
          .With("credential", c.credentials());
      b2bua_->metrics_->AuthChallenge(c.trunk(), "unanswerable");
      return false;
    }
    const ChallengeAnswer answer = AnswerChallenge(
        r, *credential, "INVITE", a->request_uri, a->auth_tries,
        absl::StrFormat("%016x", absl::Uniform<uint64_t>(b2bua_->random_)));
    switch (answer.outcome) {
      case ChallengeAnswer::Outcome::kAnswer:
        if (!a->leg->Resend(answer.authorization)) return false;
        ++a->auth_tries;
        b2bua_->metrics_->AuthChallenge(c.trunk(), "answered");
        return true;
      case ChallengeAnswer::Outcome::kRefused:
        TL_LOG(kWarning, "trunk refused our credentials")
            .With("call_id", request_.call_id)
            .With("trunk", c.trunk())
            .With("realm", answer.detail);
        b2bua_->metrics_->AuthChallenge(c.trunk(), "refused");
        return false;
      case ChallengeAnswer::Outcome::kUnanswerable:
        TL_LOG(kWarning, "challenge not answered")
            .With("trunk", c.trunk())
            .With("why", answer.detail);
        b2bua_->metrics_->AuthChallenge(c.trunk(), "unanswerable");
        return false;
    }
    return false;
  }

  // Answered: what was kept to try other candidates (their part of the
  // decision, the caller's SDP and call history) is not needed for the rest
  // of the call, which may be hours; 10,000 calls make it count.
  void Compact() {
    if (decision_.candidates_size() > 1) {
      v1::Candidate kept =
          std::move(*decision_.mutable_candidates(current_candidate_));
      decision_.clear_candidates();
      *decision_.add_candidates() = std::move(kept);
      current_candidate_ = 0;
      next_candidate_ = 1;
      last_failure_from_candidate_ = -1;
      caller_session_from_ = -1;  // an index into the candidates gone
      for (auto& attempt : attempts_) attempt->candidate = 0;
    }
    std::string().swap(request_.body);
    std::string().swap(caller_early_answer_);
    std::string().swap(caller_sdp_after_update_);
    HeaderList().swap(request_.call_history);
    std::vector<BodyPart>().swap(request_.body_parts);
    HeaderList().swap(request_.geolocation);
  }

  // (Re)arms the session timer of a trunk's leg: our next refresh, or the
  // deadline for the trunk's.
  void StartSessionTimer(MediaLeg leg) {
    LegSessionTimer& timer = timers_[Index(leg)];
    timer.tick.reset();
    if (!timer.rules || !timer.rules->active() || state_ != State::kAnswered) {
      return;
    }
    if (timer.rules->we_refresh()) {
      timer.tick = b2bua_->stack_->StartTimer(
          timer.rules->RefreshAfter(), [this, leg] { SendRefresh(leg); });
    } else {
      timer.tick =
          b2bua_->stack_->StartTimer(timer.rules->ExpireAfter(), [this, leg] {
            const LegSessionTimer& t = timers_[Index(leg)];
            b2bua_->metrics_->SessionTimerEnded(TrunkOn(leg), "expired");
            EndAnswered(SipReason(
                408,
                absl::StrCat("session timer expired: no refresh from the ",
                             leg == MediaLeg::kCaller ? "caller" : "callee",
                             " within ", t.rules->interval_seconds(), " s")));
          });
    }
  }

  // The trunk a leg faces (empty for the UC side).
  std::string TrunkOn(MediaLeg leg) const {
    if (leg == MediaLeg::kCaller) return origin_.trunk;
    return current_candidate_ >= 0 ? candidate().trunk() : std::string();
  }

  // Our refresh on a trunk's leg (RFC 4028 9): a bare UPDATE, or, once the
  // trunk has refused UPDATE, a re-INVITE with the session description it
  // last got from us, unchanged (same o= version: RFC 3264 8).
  void SendRefresh(MediaLeg leg) {
    LegSessionTimer& timer = timers_[Index(leg)];
    DialogRequest refresh;
    refresh.method = timer.refresh_by_invite ? "INVITE" : "UPDATE";
    refresh.headers = timer.rules->RefreshHeaders();
    if (timer.refresh_by_invite) {
      refresh.content_type = "application/sdp";
      refresh.body = sdp_sent_[Index(leg)];
    }
    auto on_final = [this, leg](const SipResponse& r) {
      OnRefreshAnswered(leg, r);
    };
    if (DialogLeg* dialog = LegOn(leg)) {
      timer.refresh = dialog->SendRequest(refresh, on_final);
    }
  }

  void OnRefreshAnswered(MediaLeg leg, const SipResponse& r) {
    if (state_ != State::kAnswered) return;
    LegSessionTimer& timer = timers_[Index(leg)];
    // A re-INVITE's 2xx is ACKed (its SDP is the session we already have).
    if (timer.refresh_by_invite && r.code >= 200 && r.code < 300 &&
        timer.refresh) {
      timer.refresh->Ack("", "");
    }
    if (r.code >= 200 && r.code < 300) {
      if (!r.Header("Session-Expires").empty()) timer.rules->OnAnswer(r);
      StartSessionTimer(leg);
      return;
    }
    if (r.code == 491) {  // crossed a re-INVITE: try again shortly
      timer.tick = b2bua_->stack_->StartTimer(
          absl::Seconds(2), [this, leg] { SendRefresh(leg); });
      return;
    }
    if (r.local || r.code == 408 || r.code == 481) {
      // The trunk's side of the session is gone (RFC 4028 10).
      b2bua_->metrics_->SessionTimerEnded(TrunkOn(leg), "refresh_failed");
      EndAnswered(SipReason(408, absl::StrCat("session refresh failed: ",
                                              r.code, " ", r.phrase)));
      return;
    }
    if ((r.code == 405 || r.code == 501) && !timer.refresh_by_invite &&
        !sdp_sent_[Index(leg)].empty()) {
      // The trunk takes no UPDATE: refresh with re-INVITE (RFC 4028 7.4),
      // from the loop's next turn (we are inside the refused one's
      // callback).
      TL_LOG(kInfo, "trunk refused UPDATE; refreshing with re-INVITE")
          .With("call_id", request_.call_id)
          .With("trunk", TrunkOn(leg))
          .With("code", r.code);
      timer.refresh_by_invite = true;
      timer.tick = b2bua_->stack_->StartTimer(
          absl::ZeroDuration(), [this, leg] { SendRefresh(leg); });
      return;
    }
    // Refused even so: the call goes on without our refreshes rather than
    // dropping.
    TL_LOG(kWarning, "session refresh refused; the session timer stops")
        .With("call_id", request_.call_id)
        .With("trunk", TrunkOn(leg))
        .With("code", r.code);
    timer.tick.reset();
  }

  // The caller's INVITE supports or requires RFC 3262's reliable
  // provisionals.
  bool CallerTakes100rel() const {
    auto is_100rel = [](const std::string& t) {
      return absl::EqualsIgnoreCase(t, "100rel");
    };
    return std::any_of(request_.supported.begin(), request_.supported.end(),
                       is_100rel) ||
           std::any_of(request_.require.begin(), request_.require.end(),
                       is_100rel);
  }

  // 18x and 2xx to the caller: the callee's SDP (through media when
  // anchored), never its Contact or Record-Route.
  void Relay(const SipResponse& r) {
    SipResponse up = Response(r.code, r.phrase);
    if (const auto& rules = timers_[Index(MediaLeg::kCaller)].rules;
        r.code >= 200 && r.code < 300 && rules) {
      up.headers = rules->AnswerHeaders();
    }
    if (r.code < 200 && r.reliable && !r.body.empty() &&
        !r.offer_awaits_prack && !delayed_offer_) {
      callee_early_session_ = true;  // its answer to our offer
    }
    if (early_offer_ != EarlyOffer::kNone) {
      // Offer and answer were made in a reliable 18x and its PRACK (RFC
      // 3262): the caller has the relay's SDP already, and a 2xx or 18x
      // after that carries none on either leg.
      server_->Respond(up);
      return;
    }
    if (early_renegotiated_) {
      // An early UPDATE changed the session that both legs agreed in
      // reliable 18x (RFC 3311 5.1): SDP in a later response can only
      // repeat the 18x's answer (RFC 6337 3.1.1), which would set the relay
      // back to it; the caller has its session already.
      server_->Respond(up);
      return;
    }
    if (!r.body.empty() && !r.offer_awaits_prack && caller_session_from_ >= 0 &&
        caller_session_from_ != current_candidate_) {
      // After a failover, the caller's early offer/answer was made with an
      // earlier, bypassed candidate's SDP: this one's (or, anchored, the
      // relay's made from it) goes to the caller in a re-INVITE once the
      // call is answered (OnAck). Anchored, its answer sets up the relay's
      // side towards it first.
      caller_reoffer_ = r.body;
      KeepOriginOf(MediaLeg::kCaller);
      if (!anchored_) {
        server_->Respond(up);
        return;
      }
      RespondOnceAnchored(up, r.body);
      return;
    }
    if (!caller_early_answer_.empty() && anchored_) {
      // A candidate after one whose early offer the caller answered: its
      // answer sets up the relay's side towards it, and the caller, whose
      // offer/answer is over, gets the response without SDP.
      if (r.body.empty()) {
        server_->Respond(up);
        return;
      }
      RespondOnceAnchored(up, r.body);
      return;
    }
    if (r.code < 200 && r.offer_awaits_prack && !CallerTakes100rel()) {
      // The callee's offer in a reliable 18x, sent though we did not offer
      // 100rel: the caller cannot answer early, so the callee's PRACK goes
      // without an answer and the 2xx decides (anchored or bypassed).
      if (Attempt* a = current()) a->leg->Prack("", "");
      server_->Respond(up);
      return;
    }
    if (delayed_offer_ && !r.body.empty()) {
      if (r.code < 200 && r.offer_awaits_prack) {
        // The callee's offer in a reliable 18x: the caller, which supports
        // 100rel (else the callee was not offered it), gets the relay's
        // offer in a reliable 18x and answers in its PRACK; the callee's
        // PRACK carries the relay's answer (OnPrack).
        early_offer_ = EarlyOffer::kAwaitingAnswer;
        anchored_ = true;
        b2bua_->media_->OfferFromCallee(
            request_.call_id, candidate(), r.body,
            ForThisCall([up, index = current_candidate_](Call* call, auto sdp) {
              call->OnEarlyOffer(index, up, std::move(sdp));
            }));
        return;
      }
      if (r.code < 200) {
        // An offer in an unreliable 18x is only a preview of the 2xx's
        // (RFC 3261 13.2.1 lets no offer/answer complete there): the caller
        // hears ringing, and the 2xx's offer is anchored.
        server_->Respond(up);
        return;
      }
      // The callee's offer (anchored_ is set): the caller gets the relay's
      // offer and answers in its ACK.
      b2bua_->media_->OfferFromCallee(request_.call_id, candidate(), r.body,
                                      ForThisCall([up](Call* call, auto sdp) {
                                        call->OnMediaAnswer(up, std::move(sdp));
                                      }));
      return;
    }
    if (r.code < 200 && r.offer_awaits_prack) {
      // Media bypassed and our INVITE without SDP: the callee's offer in a
      // reliable 18x goes to the caller as it is, as an offer of ours that
      // its PRACK answers; that answer goes to the callee in the PRACK the
      // stack holds back for it (OnPrack).
      early_offer_ = EarlyOffer::kAwaitingAnswer;
      up.body = r.body;
      up.content_type = r.content_type;
      up.our_offer = true;
      sdp_sent_[0] = up.body;
      caller_session_from_ = current_candidate_;
      server_->Respond(up);
      return;
    }
    if (r.body.empty() || !anchored_) {
      if (r.code < 200 && !r.body.empty() && CallerTakes100rel()) {
        caller_session_from_ = current_candidate_;  // goes reliably
        sdp_sent_[0] = r.body;
      }
      up.body = r.body;
      up.content_type = r.content_type;
      if (r.code >= 200 && !r.body.empty()) sdp_sent_[0] = r.body;
      server_->Respond(up);
      return;
    }
    // Anchored: the caller gets the relay's answer (its address, our SRTP
    // keys), made from the callee's by media Answer.
    b2bua_->media_->Answer(request_.call_id, MediaLeg::kCallee, r.body,
                           ForThisCall([up](Call* call, auto sdp) {
                             call->OnMediaAnswer(up, std::move(sdp));
                           }));
  }

  // The callee's answer sets up the relay's side towards it; the caller,
  // whose offer/answer is over, then gets `up` without SDP (or, if media
  // refuses the answer, what OnMediaAnswer makes of that).
  void RespondOnceAnchored(const SipResponse& up, const std::string& answer) {
    b2bua_->media_->Answer(request_.call_id, MediaLeg::kCallee, answer,
                           ForThisCall([up](Call* call, auto sdp) {
                             if (!sdp.ok()) {
                               call->OnMediaAnswer(up, std::move(sdp));
                             } else if (call->state_ != State::kDone) {
                               call->server_->Respond(up);
                             }
                           }));
  }

  // The relay's offer for the caller, made from the callee's offer in a
  // reliable 18x.
  void OnEarlyOffer(int index, SipResponse up,
                    absl::StatusOr<std::string> sdp) {
    // Stale once the call moved on to another candidate or ended.
    if (state_ == State::kDone || index != current_candidate_) return;
    Attempt* a = current();
    if (a == nullptr && failover_after_prack_) {
      // The candidate failed before its offer reached the caller, who owes
      // nothing then: on to the next candidate now.
      failover_after_prack_.reset();
      early_offer_ = EarlyOffer::kNone;
      TryNext();
      return;
    }
    if (sdp.ok() && a != nullptr) {
      up.body = *std::move(sdp);
      up.content_type = "application/sdp";
      up.our_offer = true;
      sdp_sent_[0] = up.body;
      relay_sdp_to_caller_ = true;
      server_->Respond(up);
      return;
    }
    // No relay for the callee's early offer: its PRACK goes without an
    // answer and the call carries on as ringing; the 2xx decides.
    TL_LOG(kWarning, "media offer from the callee's 18x failed")
        .With("call_id", request_.call_id)
        .With("error", sdp.status().message());
    early_offer_ = EarlyOffer::kNone;
    anchored_ = false;
    if (a != nullptr) a->leg->Prack("", "");
    server_->Respond(up);
  }

  // ServerLegObserver: the caller's PRACK of our reliable 18x.
  void OnPrack(const std::string& content_type, const std::string& body,
               bool of_our_offer, bool of_sdp) override {
    if (of_sdp && (!of_our_offer || !body.empty())) {
      caller_early_session_ = true;
    }
    if (early_offer_ != EarlyOffer::kAwaitingAnswer || state_ == State::kDone) {
      return;
    }
    // The PRACK of another reliable response (a 180 before the offer)
    // leaves the answer still to come.
    if (!of_our_offer) return;
    if (body.empty()) {
      // The PRACK of a reliable 18x with an offer must carry the answer
      // (RFC 3262 5): without one no media can flow, and the callee waits
      // for its own PRACK's answer. The call fails on the next turn of the
      // loop, after the stack has answered this PRACK.
      std::weak_ptr<B2bua*> weak = b2bua_->self_;
      const uint64_t id = id_;
      b2bua_->stack_->Post([weak, id] {
        std::shared_ptr<B2bua*> b2bua = weak.lock();
        if (b2bua == nullptr) return;  // stopping
        auto it = (*b2bua)->calls_.find(id);
        if (it != (*b2bua)->calls_.end()) {
          it->second->CallerGaveNoEarlyAnswer();
        }
      });
      return;
    }
    early_offer_ = EarlyOffer::kAnswered;
    if (!anchored_) {
      // Bypassed: the caller's answer is the callee's, as it is.
      caller_early_answer_ = body;
      if (failover_after_prack_) {
        // The candidate that offered failed meanwhile (TryNext waits): the
        // next one is offered the caller's answer.
        failover_after_prack_.reset();
        early_offer_ = EarlyOffer::kNone;
        TryNext();
        return;
      }
      if (Attempt* a = current()) {
        sdp_sent_[1] = body;
        a->leg->Prack(content_type, body);
        callee_early_session_ = true;
      }
      return;
    }
    caller_answer_in_flight_ = true;
    b2bua_->media_->Answer(
        request_.call_id, MediaLeg::kCaller, body,
        ForThisCall([index = current_candidate_, body](Call* call, auto sdp) {
          call->OnEarlyAnswer(index, body, std::move(sdp));
        }));
  }

  void CallerGaveNoEarlyAnswer() {
    if (early_offer_ != EarlyOffer::kAwaitingAnswer ||
        (state_ != State::kTrying && state_ != State::kAnswered)) {
      return;
    }
    TL_LOG(kWarning, "caller's PRACK of our early offer carried no answer")
        .With("call_id", request_.call_id);
    early_offer_ = EarlyOffer::kNone;
    const std::string reason =
        SipReason(488,
                  "the PRACK of the 18x with our offer carried no answer "
                  "(RFC 3262 5)");
    if (state_ == State::kAnswered) {
      // The callee answered before its PRACK (against RFC 3262 3) and our
      // 200, held back by the stack behind that 18x, went after the PRACK:
      // both legs are up without media; end them.
      EndAnswered(reason);
      return;
    }
    if (failover_after_prack_) {
      // The candidate already failed and the call waited only for this
      // answer: the caller gets that failure.
      failover_after_prack_.reset();
      FailFinally();
      return;
    }
    if (Attempt* a = current(); a != nullptr) a->leg->Cancel();
    server_->Respond(Failure(488, "Not Acceptable Here", reason));
    b2bua_->metrics_->CallFailed(trunk(), direction_, 488);
    Finish();
  }

  // The relay's answer for the callee, made from the caller's
  // (`caller_answer`) in its PRACK.
  void OnEarlyAnswer(int index, const std::string& caller_answer,
                     absl::StatusOr<std::string> sdp) {
    caller_answer_in_flight_ = false;
    if (state_ == State::kDone) return;
    if (sdp.ok()) caller_early_answer_ = caller_answer;
    if (failover_after_prack_) {
      // The candidate that offered failed meanwhile (TryNext waits): the
      // next one is offered the caller's answer; without a relay for it,
      // no other candidate can answer the caller either.
      failover_after_prack_.reset();
      if (!sdp.ok()) {
        TL_LOG(kWarning, "media answer to the caller's early answer failed")
            .With("call_id", request_.call_id)
            .With("error", sdp.status().message());
        FailFinally();
        return;
      }
      early_offer_ = EarlyOffer::kNone;
      TryNext();
      return;
    }
    Attempt* a = current();
    if (a == nullptr || index != current_candidate_) return;
    if (sdp.ok()) {
      sdp_sent_[1] = *sdp;
      a->leg->Prack("application/sdp", *sdp);
      callee_early_session_ = true;
      return;
    }
    TL_LOG(kWarning, "media answer to the callee's early offer failed")
        .With("call_id", request_.call_id)
        .With("error", sdp.status().message());
    a->leg->Prack("", "");
    const std::string reason =
        SipReason(500, absl::StrCat("media: ", sdp.status().message()));
    a->leg->Cancel();
    server_->Respond(Failure(500, "Server Internal Error", reason));
    b2bua_->metrics_->CallFailed(trunk(), direction_, 500);
    Finish();
  }

  void OnMediaAnswer(SipResponse up, absl::StatusOr<std::string> sdp) {
    if (state_ == State::kDone) return;
    if (sdp.ok()) {
      up.body = *std::move(sdp);
      up.content_type = "application/sdp";
      if (up.code >= 200) sdp_sent_[0] = up.body;
      relay_sdp_to_caller_ = true;
      server_->Respond(up);
      return;
    }
    TL_LOG(kWarning, "media answer failed")
        .With("call_id", request_.call_id)
        .With("error", sdp.status().message());
    if (up.code < 200) {  // early media cannot be relayed; ringing still can
      server_->Respond(up);
      return;
    }
    // The callee answered but its media cannot be anchored: end its leg and
    // fail the caller's with the reason.
    const std::string reason =
        SipReason(500, absl::StrCat("media: ", sdp.status().message()));
    if (Attempt* a = current()) {
      a->leg->Ack("", "");
      a->leg->SendBye(reason);
    }
    server_->Respond(Failure(500, "Server Internal Error", reason));
    b2bua_->metrics_->CallFailed(trunk(), direction_, 500);
    Finish();
  }

  void OnCalleeBye(Attempt* a, const std::string& reason) {
    if (a != current() || state_ == State::kDone) return;
    if (state_ == State::kAnswered && TransferorLeft(MediaLeg::kCallee)) return;
    EndedBy("callee", reason);
    if (transfer_) transfer_->Abandon("");
    LegOn(MediaLeg::kCaller)->SendBye(reason);
    Finish();
  }

  // From now on the party on `side`'s original leg keeps the o= line of
  // the SDP it had (RFC 3264 8), whoever's SDP it is sent.
  void KeepOriginOf(MediaLeg side) {
    std::optional<SdpOriginKeeper>& keeper = sdp_origin_[Index(side)];
    if (keeper || moved_[Index(side)]) return;
    keeper.emplace();
    keeper->Apply(sdp_sent_[Index(side)]);
  }
  // `sdp` as the party on `to`'s original leg must see it (KeepOriginOf);
  // as it is for a transfer's new party, or before any party switch.
  std::string KeptOrigin(MediaLeg to, const std::string& sdp) {
    std::optional<SdpOriginKeeper>& keeper = sdp_origin_[Index(to)];
    return keeper && !moved_[Index(to)] ? keeper->Apply(sdp) : sdp;
  }

  // --- Transfers (REFER in the trunk's terminate mode) ---

  static int Index(MediaLeg side) { return side == MediaLeg::kCaller ? 0 : 1; }
  static MediaLeg OtherSide(MediaLeg side) {
    return side == MediaLeg::kCaller ? MediaLeg::kCallee : MediaLeg::kCaller;
  }

  // The leg on `side` now: the original one, or the last transfer's.
  DialogLeg* LegOn(MediaLeg side) override {
    if (const auto& moved = moved_[Index(side)]) return moved->leg();
    if (side == MediaLeg::kCaller) return server_.get();
    Attempt* a = current();
    return a != nullptr ? a->leg.get() : nullptr;
  }

  // A BYE from the party on `side`'s original leg (or an earlier transfer's)
  // while that side has been, or is being, transferred: it leaves and the
  // call stays. False when the BYE ends the call as usual.
  bool TransferorLeft(MediaLeg side) {
    const int i = Index(side);
    if (moved_[i]) {
      transferor_bye_[i].reset();  // it left by itself
      transferor_leg_[i] = nullptr;
      return true;
    }
    if (transfer_ && transfer_->side() == side) {
      // Some phones hang up right after the 202: the transfer goes on.
      transfer_->TransferorLeft();
      transferor_gone_ = true;
      return true;
    }
    return false;
  }

  void StartTransfer(MediaLeg from, const DialogRequest& refer,
                     std::unique_ptr<ServerTransaction> txn) {
    if (transfer_ || !relay_->offer_answer_idle()) {
      txn->Respond(Response(491, "Request Pending"));
      return;
    }
    absl::StatusOr<ReferTarget> target = ParseReferTo(refer.headers);
    if (!target.ok()) {
      txn->Respond(
          Failure(400, "Bad Request",
                  SipReason(400, std::string(target.status().message()))));
      return;
    }
    Transfer::Plan plan;
    plan.call_id = request_.call_id;
    plan.media = anchored_ ? b2bua_->media_ : nullptr;
    plan.side = from;
    plan.target = *std::move(target);
    if (std::optional<SipResponse> refused = ResolveReplaces(&plan)) {
      txn->Respond(*refused);
      return;
    }
    if (plan.target.user.empty() && !plan.direct) {
      txn->Respond(Failure(
          400, "Bad Request",
          SipReason(400, absl::StrCat("Refer-To URI has no user part to "
                                      "route on, and its Replaces names no "
                                      "call of this node: ",
                                      plan.target.uri))));
      return;
    }
    plan.sdp_sent = [this](MediaLeg to, const std::string& sdp) {
      sdp_sent_[Index(to)] = sdp;
    };
    // The party that stays gets the target's SDP (or the relay's) as a new
    // version of the session it had.
    plan.rewrite_sdp = [this](MediaLeg to, const std::string& sdp) {
      KeepOriginOf(to);
      return KeptOrigin(to, sdp);
    };
    std::string refer_sub;
    for (const auto& [name, value] : refer.headers) {
      if (absl::EqualsIgnoreCase(name, "Referred-By") ||
          absl::EqualsIgnoreCase(name, "b")) {
        plan.referred_by = value;
      } else if (absl::EqualsIgnoreCase(name, "Refer-Sub")) {
        refer_sub = absl::AsciiStrToLower(value);
      }
    }
    plan.notify = refer_sub != "false";  // RFC 4488
    // Routing decides where the target is, as for a call from the
    // transferor's side: its user's policy or its trunk's PSTN usages.
    // The target sees the transferee's number.
    const v1::Candidate& c = candidate();
    v1::RouteRequest& route = plan.route;
    route.set_call_id(request_.call_id);
    if (from == MediaLeg::kCaller) {
      if (origin_.uc_side()) {
        route.mutable_origin()->set_user_uri(
            request_.pai_uri.empty() ? request_.from_uri : request_.pai_uri);
        route.set_policy_caller(request_.pai_user.empty() ? request_.from_user
                                                          : request_.pai_user);
      } else {
        route.mutable_origin()->set_trunk(origin_.trunk);
      }
      route.set_caller(request_.request_uri_user);
    } else {
      if (c.trunk().empty()) {
        route.mutable_origin()->set_user_uri(
            absl::StrCat("sip:", c.called_number(), "@", c.next_hop().host()));
        route.set_policy_caller(c.called_number());
      } else {
        route.mutable_origin()->set_trunk(c.trunk());
      }
      route.set_caller(c.calling_number());
    }
    route.set_callee(plan.target.user);
    AddTrunkStates(route);
    plan.as_if.call_id = request_.call_id;
    plan.as_if.from_user = route.caller();
    plan.as_if.request_uri_user = plan.target.user;
    SipResponse accepted = Response(202, "Accepted");
    if (!plan.notify) accepted.headers = {{"Refer-Sub", "false"}};
    txn->Respond(accepted);
    transferor_gone_ = false;
    failed_transfer_.reset();
    transfer_ = std::make_unique<Transfer>(b2bua_->stack_, b2bua_->routing_,
                                           this, std::move(plan));
    transfer_->Start();
  }

  // An attended transfer between two calls of ours: Refer-To's Replaces
  // names the transferor's dialog with us in the other (consultation) call,
  // which the target cannot match, since topology hiding gave it a dialog of
  // its own with us. Replaces then names the target's dialog with us
  // instead, and the INVITE goes to the target through the candidate of that
  // call, without routing (the transferor placed that call), or by routing
  // that call's caller's number (the transferor answered it); the target
  // replaces that call (RFC 3891) and hangs it up. A Replaces naming no
  // dialog of ours passes as received.
  // The response refusing the REFER, or nothing.
  std::optional<SipResponse> ResolveReplaces(Transfer::Plan* plan) {
    std::optional<ReplacesValue> replaces =
        ParseReplaces(plan->target.replaces);
    if (!replaces) return std::nullopt;
    auto [other, side] = CallNamedBy(*replaces);
    if (other == nullptr) return std::nullopt;
    if (other == this) {
      return Failure(
          400, "Bad Request",
          SipReason(400, "Replaces names the call being transferred"));
    }
    if (side == MediaLeg::kCallee) {
      // The transferor answered that call: its far party called in, and
      // is reached by routing its number again, as the transferor's side
      // would call it.
      DialogLeg* caller = other->LegOn(MediaLeg::kCaller);
      plan->target.replaces =
          ReplacesFor(caller->dialog_id(), replaces->early_only);
      plan->target.user = other->CallerNumber();
      TL_LOG(kInfo, "attended transfer to the caller of a call of ours")
          .With("call_id", request_.call_id)
          .With("replaced_call_id", other->call_id());
      return std::nullopt;
    }
    const v1::Candidate* reach = other->FarCandidate();
    DialogLeg* far = other->LegOn(MediaLeg::kCallee);
    if (reach == nullptr || far == nullptr) {
      return Failure(
          480, "Temporarily Unavailable",
          SipReason(480, "the call that Replaces names is not answered"));
    }
    plan->target.replaces = ReplacesFor(far->dialog_id(), replaces->early_only);
    plan->direct = *reach;
    TL_LOG(kInfo, "attended transfer between two calls of ours")
        .With("call_id", request_.call_id)
        .With("replaced_call_id", other->call_id())
        .With("trunk", reach->trunk());
    return std::nullopt;
  }
  // The answered call of ours (this one included) with the leg whose
  // dialog `replaces` names, and that leg's side; null when none.
  std::pair<Call*, MediaLeg> CallNamedBy(const ReplacesValue& replaces) {
    for (const auto& [id, call] : b2bua_->calls_) {
      if (std::optional<MediaLeg> side = call->SideNamedBy(replaces)) {
        return {call.get(), *side};
      }
    }
    return {nullptr, MediaLeg::kCaller};
  }
  // Which of our legs of this answered call `replaces` names, as the party
  // on that leg sees its dialog with us.
  std::optional<MediaLeg> SideNamedBy(const ReplacesValue& replaces) {
    if (state_ != State::kAnswered) return std::nullopt;
    for (MediaLeg side : {MediaLeg::kCaller, MediaLeg::kCallee}) {
      const DialogLeg* leg = LegOn(side);
      if (leg == nullptr) continue;
      // The peer's Replaces: its to-tag is our tag, its from-tag its own.
      const DialogId ours = leg->dialog_id();
      if (Names(replaces, ours)) return side;
    }
    return std::nullopt;
  }
  // The candidate that reaches the callee side now (a transfer's, or the
  // call's own); null before an answer.
  const v1::Candidate* FarCandidate() const {
    if (const auto& moved = moved_[Index(MediaLeg::kCallee)]) {
      return moved->candidate();
    }
    return current_candidate_ >= 0 ? &candidate() : nullptr;
  }

  // Transfer::Host
  void Transferred(Transfer* t) override {
    const MediaLeg side = t->side();
    const int i = Index(side);
    DialogLeg* transferor = LegOn(side);
    if (moved_[i]) retired_.push_back(std::move(moved_[i]));
    moved_[i] = std::move(transfer_);
    relay_->ReplaceLeg(side, moved_[i]->leg());
    if (const v1::Candidate* c = moved_[i]->candidate();
        c != nullptr && !c->trunk().empty()) {
      b2bua_->Occupy(c->trunk(), c->limits().max_concurrent_calls());
      transfer_trunks_.push_back(c->trunk());
    }
    // A timer on this leg was negotiated with the party that left.
    timers_[Index(side)] = LegSessionTimer();
    b2bua_->metrics_->Transfer(trunk(), "completed");
    if (transferor_gone_) return;
    // RFC 5589: the transferor hangs up once told; if it does not, we do.
    transferor_leg_[i] = transferor;
    transferor_bye_[i] = b2bua_->stack_->StartTimer(
        absl::Seconds(4), [this, i] { ByeTransferor(i); });
  }
  // The transferor that did not hang up after its transfer gets our BYE.
  void ByeTransferor(int i) {
    transferor_bye_[i].reset();
    if (transferor_leg_[i] != nullptr) {
      transferor_leg_[i]->SendBye(SipReason(200, "call transferred"));
    }
    transferor_leg_[i] = nullptr;
  }

  void TransferFailed(Transfer* t) override {
    (void)t;
    b2bua_->metrics_->Transfer(trunk(), "failed");
    failed_transfer_ = std::move(transfer_);  // it is inside its callback
    if (transferor_gone_) {
      // Nobody is left to take the call back.
      EndAnswered(SipReason(480, "transfer failed and the transferor left"));
    }
  }
  void OnTransferredBye(Transfer* t) override {
    if (state_ == State::kDone || t != moved_[Index(t->side())].get()) return;
    if (transfer_) transfer_->Abandon("");
    LegOn(OtherSide(t->side()))->SendBye("");
    Finish();
  }
  void OnTransferredRequest(Transfer* t, const DialogRequest& request,
                            std::unique_ptr<ServerTransaction> txn) override {
    if (state_ != State::kAnswered || t != moved_[Index(t->side())].get()) {
      txn->Respond(Response(481, "Call/Transaction Does Not Exist"));
      return;
    }
    OnLegRequest(t->side(), request, std::move(txn));
  }
  void OnTransferredAck(Transfer* t, const std::string& content_type,
                        const std::string& body) override {
    if (relay_ && t == moved_[Index(t->side())].get()) {
      relay_->OnAck(t->side(), content_type, body);
    }
  }

  // Every candidate failed: the last failure, translated, with a Reason.
  void FailFinally() {
    int code = 503;
    std::string phrase = "Service Unavailable";
    std::string reason = SipReason(503, "no trunk could take the call");
    if (last_failure_.code >= 300) {
      code = last_failure_.code;
      phrase = last_failure_.phrase;
      if (last_failure_from_candidate_ >= 0) {
        const v1::Candidate& c =
            decision_.candidates(last_failure_from_candidate_);
        code = TranslateCode(last_failure_, c.failover());
        if (code != last_failure_.code) phrase = "";
        reason = last_failure_.Header("Reason");
        if (reason.empty()) {
          reason = SipReason(
              last_failure_.code,
              absl::StrCat(!last_failure_.local ? "answered by "
                           : last_failure_.code == 408
                               ? "no answer from "
                               // The connection failed, was refused or was
                               // closed (a TLS certificate refused).
                               : "cannot reach ",
                           c.next_hop().gateway(), ": ", last_failure_.code,
                           " ", last_failure_.phrase));
        }
      } else {
        reason = last_failure_.Header("Reason");
      }
    }
    b2bua_->metrics_->CallFailed(trunk(), direction_, code);
    EndedBy("trunkline", reason);
    SipResponse r = Failure(code, phrase, reason);
    // A 503's Retry-After (ours for a full trunk, or the gateway's) goes
    // with it.
    if (const std::string after = last_failure_.Header("Retry-After");
        code == 503 && !after.empty()) {
      r.headers.emplace_back("Retry-After", after);
    }
    server_->Respond(r);
    Finish();
  }

  void FailWith(int code, const std::string& phrase,
                const std::string& reason) {
    EndedBy("trunkline", reason);
    server_->Respond(Failure(code, phrase, reason));
    Finish();
  }

  void ReleaseTrunk() {
    if (!occupied_.empty()) b2bua_->Release(occupied_);
    occupied_.clear();
    for (const std::string& t : transfer_trunks_) b2bua_->Release(t);
    transfer_trunks_.clear();
    if (counting_trunk_) {
      b2bua_->metrics_->TrunkCalls(counted_trunk_, direction_, -1,
                                   counted_limit_);
      counting_trunk_ = false;
    }
  }

  void Finish() {
    if (state_ == State::kDone) return;
    state_ = State::kDone;
    // A transferor still waiting for our BYE gets it now.
    for (int i = 0; i < 2; ++i) {
      if (transferor_bye_[i]) ByeTransferor(i);
    }
    fast_failover_.reset();
    failover_after_prack_.reset();
    ReleaseTrunk();
    if (!origin_occupied_.empty()) b2bua_->Release(origin_occupied_);
    origin_occupied_.clear();
    std::shared_ptr<LogLine> record = MakeRecord();
    if (anchored_ || media_offered_) {
      // What the relay measured, which Delete hands back, goes into each
      // trunk's quality metrics and the call's record: the line is written
      // when the last copy of `done` goes (after the figures are in, or
      // without them on error). `done` may run on another thread: it holds
      // copies, nothing of the call.
      MediaController::QueryDone done;
      if (anchored_) {
        const v1::Candidate* far = FarCandidate();
        done = [record, metrics = b2bua_->metrics_,
                caller_trunk = origin_.uc_side() ? "" : origin_.trunk,
                callee_trunk = far != nullptr ? far->trunk() : ""](
                   absl::StatusOr<v1::QueryResponse> figures) {
          if (!figures.ok()) return;
          const CallQuality quality = Summarize(*figures);
          if (record != nullptr) AddMediaFigures(quality, *record);
          for (const auto& [q, trunk] :
               {std::pair{&quality.caller, &caller_trunk},
                std::pair{&quality.callee, &callee_trunk}}) {
            if (trunk->empty() || q->packets == 0) continue;
            metrics->TrunkMediaQuality(*trunk, q->mos, q->loss_ratio(),
                                       q->jitter_ms);
          }
        };
      }
      b2bua_->media_->Delete(request_.call_id, std::move(done));
    }
    record.reset();
    b2bua_->Finished(id_);
  }

  // Who ended the call and why (a Reason header value), for its record:
  // the first to say so (a failure's Reason is kept over a later BYE's).
  void EndedBy(const char* who, const std::string& reason) {
    if (ended_by_ != nullptr) return;
    ended_by_ = who;
    end_reason_ = reason;
  }

  // The call's detail record (CDR), one logfmt line when it ends, as
  // Kamailio's acc module or a Mediation Server's CDR: what the caller
  // sent, where it went, what came of it and how long each part took.
  // Null when info lines are not logged.
  std::shared_ptr<LogLine> MakeRecord() const {
    if (!LogEnabled(LogLevel::kInfo)) return nullptr;
    const absl::Time now = b2bua_->stack_->Now();
    const int status = server_->final_status();
    const bool answered = answered_ != absl::Time();
    auto record = std::make_shared<LogLine>(LogLevel::kInfo, "cdr");
    LogLine& line = *record;
    line.With("call_id", request_.call_id)
        .With("direction", direction_)
        .With("origin", origin_.uc_side() ? "uc" : origin_.trunk)
        .With("caller", request_.pai_user.empty() ? request_.from_user
                                                  : request_.pai_user)
        .With("callee", request_.request_uri_user)
        .With("normalized_callee", decision_.normalized_callee())
        .With("called",
              current_candidate_ >= 0 ? candidate().called_number() : "")
        .With("trunk", current_candidate_ >= 0 ? candidate().trunk() : "")
        .With("gateway",
              current_candidate_ >= 0 ? candidate().next_hop().gateway() : "")
        .With("status", status)
        .With("ended_by", ended_by_ != nullptr ? ended_by_ : "")
        .With("reason", end_reason_)
        .With("attempts", attempts_.size())
        .With("failovers", absl::StrJoin(failovers_, ";"))
        .With("media", anchored_ ? "anchored" : "direct")
        .With("start_unix_ms", absl::ToUnixMillis(started_))
        .With("setup_ms", absl::ToInt64Milliseconds(
                              (answered ? answered_ : now) - started_));
    if (got_provisional_ || answered) {
      line.With("post_dial_delay_ms", int64_t(post_dial_delay_ * 1000));
    }
    if (answered) {
      line.With(
          "duration_s",
          absl::StrFormat("%.3f", absl::ToDoubleSeconds(now - answered_)));
    }
    return record;
  }

  B2bua* b2bua_;
  const uint64_t id_;
  // Not const: its SDP and call history go once the call is answered.
  IncomingRequest request_;
  std::unique_ptr<ServerLeg> server_;
  const PeerMatch origin_;
  State state_ = State::kRouting;
  std::string direction_ = "unrouted";
  v1::RouteDecision decision_;
  int next_candidate_ = 0;
  int current_candidate_ = -1;
  std::vector<std::unique_ptr<Attempt>> attempts_;
  std::unique_ptr<Timer> fast_failover_;
  // A failover waiting for the caller's PRACK (TryNext).
  std::unique_ptr<Timer> failover_after_prack_;
  static constexpr absl::Duration kFailoverPrackWait = absl::Seconds(4);
  // Requests within the dialogs once the call is answered.
  std::unique_ptr<DialogRelay> relay_;
  // Requests within the early dialogs, until the answer (RelaysEarly).
  std::unique_ptr<DialogRelay> early_relay_;
  // RFC 4028 on each leg that faces a trunk with session timers on (the
  // caller's for a call from one, the callee's for a call to one, both for
  // an inter-trunk call), by Index(MediaLeg): its rules, its timer, our
  // refresh. The legs' timers run apart, as their trunks negotiated them.
  struct LegSessionTimer {
    std::optional<SessionTimer> rules;
    std::unique_ptr<Timer> tick;
    std::unique_ptr<DialogTransaction> refresh;
    bool refresh_by_invite = false;
    void Stop() {
      tick.reset();
      refresh.reset();
    }
  };
  std::array<LegSessionTimer, 2> timers_;
  // The last session description each leg got from us (the refresh
  // re-INVITE repeats it).
  std::string sdp_sent_[2];
  std::string occupied_;
  // The trunk the call came from, counted against its limit until the end.
  std::string origin_occupied_;
  absl::Time sent_at_;
  bool got_provisional_ = false;
  double post_dial_delay_ = 0;
  // For the call's record (MakeRecord): who ended it ("caller", "callee",
  // "trunkline"; null until known) and the Reason header value, if any.
  const char* ended_by_ = nullptr;
  std::string end_reason_;
  bool acked_ = false;
  bool anchored_ = false;
  // An Offer went to media for this call, answered or not (the caller
  // cancelled first, or its deadline passed while media made the session):
  // the session may exist, so the call's end deletes it. Media takes the
  // Delete after the Offer (same channel, same worker), and a Delete of no
  // session is harmless.
  bool media_offered_ = false;
  // The current candidate is anchored and the caller's INVITE had no SDP.
  bool delayed_offer_ = false;
  // A delayed offer's offer/answer made early, in a reliable 18x and its
  // PRACK (RFC 3262), rather than in the 2xx and ACK.
  enum class EarlyOffer { kNone, kAwaitingAnswer, kAnswered };
  EarlyOffer early_offer_ = EarlyOffer::kNone;
  // The caller's answer in its PRACK to a candidate's early offer, once the
  // relay took it: the caller's offer/answer is over, for every later
  // candidate too.
  std::string caller_early_answer_;
  // The caller's answer in its PRACK is with media (OnEarlyAnswer).
  bool caller_answer_in_flight_ = false;
  // The caller has had SDP made by the relay (in an 18x): later candidates
  // are anchored too.
  bool relay_sdp_to_caller_ = false;
  // Early offer/answer complete on each leg (RFC 3311 5.1), so that an
  // UPDATE with a new offer may cross before the answer: the current
  // candidate answered our offer in a reliable 18x, or got our answer to
  // its own in our PRACK; the caller PRACKed a reliable 18x of ours with
  // SDP (our answer, or our offer with its answer in the PRACK).
  bool callee_early_session_ = false;
  bool caller_early_session_ = false;
  // An early UPDATE offer went to a leg: the session is no longer the one
  // of the reliable 18x, and the 2xx's SDP (a repeat of that 18x's, RFC
  // 6337 3.1.1) is not passed on (Relay).
  bool early_renegotiated_ = false;
  // Media bypassed: the candidate whose SDP the caller got in a reliable
  // 18x (its offer/answer is complete with that SDP once it PRACKs); -1
  // for none. A later candidate's SDP (bypassed, or the relay's, anchored)
  // cannot go in a response to the caller's INVITE (RFC 6337 3.1.1: only a
  // repeat of the first answer), so that candidate's waits in
  // `caller_reoffer_` and goes to the caller in a re-INVITE once the call
  // is answered and ACKed (ReofferToCaller); until then the caller would
  // keep sending to the failed candidate's address.
  int caller_session_from_ = -1;
  std::string caller_reoffer_;
  std::unique_ptr<DialogTransaction> caller_reoffer_txn_;
  std::unique_ptr<Timer> reoffer_retry_;
  // Per side (Index), once that side's party is to get another party's SDP
  // (a later candidate's after a failover, a transfer target's): the o=
  // line it keeps seeing, from the SDP it had (KeepOriginOf).
  std::optional<SdpOriginKeeper> sdp_origin_[2];
  // The caller's SDP as an early UPDATE left it (its offer, or its answer
  // to the callee's, as the caller sent it), which a later candidate is
  // offered (through media when anchored: the relay's side towards the
  // caller takes it) rather than the INVITE's; "" while no early UPDATE
  // completed.
  std::string caller_sdp_after_update_;
  // The Replaces our INVITE carries (StartReplacing), "" for none.
  std::string replaces_out_;
  // The candidate counted in trunkline_signaling_active_calls.
  bool counting_trunk_ = false;
  std::string counted_trunk_;
  uint32_t counted_limit_ = 0;
  SipResponse last_failure_;
  int last_failure_from_candidate_ = -1;
  const absl::Time started_;
  absl::Time answered_;
  std::vector<std::string> failovers_;
  // The Call-IDs of our legs towards candidates (the caller's is
  // request_.call_id).
  std::vector<std::string> leg_ids_;
  // REFER in terminate mode: the transfer in progress; per side, the last
  // completed one (its leg is that side's now) and the timer that ends the
  // transferor's leg if it does not hang up; earlier completed transfers
  // (their parties may still say BYE); the last failed one (kept: it may
  // still be inside its own callback).
  std::unique_ptr<Transfer> transfer_;
  std::unique_ptr<Transfer> moved_[2];
  std::unique_ptr<Timer> transferor_bye_[2];
  DialogLeg* transferor_leg_[2] = {nullptr, nullptr};
  std::vector<std::unique_ptr<Transfer>> retired_;
  std::unique_ptr<Transfer> failed_transfer_;
  bool transferor_gone_ = false;
  // Trunks that transfers reached, counted against their limits.
  std::vector<std::string> transfer_trunks_;
};

B2bua::B2bua(SipStack* stack, RoutingClient* routing, MediaController* media,
             SignalingMetrics* metrics)
    : stack_(stack), routing_(routing), media_(media), metrics_(metrics) {
  // Events reach us on the loop; once we are gone they find nobody.
  std::weak_ptr<B2bua*> weak = self_;
  media_->WatchEvents([weak](const v1::MediaEvent& event) {
    if (std::shared_ptr<B2bua*> self = weak.lock())
      (*self)->OnMediaEvent(event);
  });
}

B2bua::~B2bua() = default;

void B2bua::OnMediaEvent(const v1::MediaEvent& event) {
  if (event.kind() != v1::MediaEvent::KIND_RTP_TIMEOUT &&
      event.kind() != v1::MediaEvent::KIND_RTCP_TIMEOUT) {
    return;  // DTMF and SRTP failures are the relay's metrics' business
  }
  Call* call = FindCall(event.call_id());
  if (call == nullptr) return;  // ended meanwhile
  const std::string trunk = call->trunk();
  if (call->EndForMedia(event)) {
    metrics_->MediaTimeout(
        trunk,
        event.kind() == v1::MediaEvent::KIND_RTCP_TIMEOUT ? "rtcp" : "rtp");
  }
}

void B2bua::SetPeers(std::shared_ptr<const PeerDirectory> peers) {
  peers_ = std::move(peers);
}

int B2bua::CallsOnTrunk(const std::string& trunk) const {
  auto it = trunk_calls_.find(trunk);
  return it == trunk_calls_.end() ? 0 : it->second;
}

void B2bua::OnInvite(const IncomingRequest& request,
                     std::unique_ptr<ServerLeg> leg) {
  std::optional<PeerMatch> peer =
      peers_ ? peers_->Match(request.source) : std::nullopt;
  if (!peer) {
    metrics_->Untrusted("INVITE");
    TL_LOG(kWarning, "untrusted INVITE refused")
        .With("source", request.source.remote_address)
        .With("local_port", request.source.local_port);
    leg->Respond(Failure(403, "Forbidden",
                         SipReason(403, "source is not a configured peer")));
    return;
  }
  if (std::optional<SipResponse> refused = Refuse(request)) {
    metrics_->Refused(request.method, refused->code);
    leg->Respond(*refused);
    return;
  }
  if (draining_) {
    SipResponse r = Failure(503, "Service Unavailable",
                            SipReason(503, "signaling instance is draining"));
    r.headers.emplace_back("Retry-After", "5");
    leg->Respond(r);
    return;
  }
  leg->Respond(Response(100, "Trying"));
  const uint64_t id = next_id_++;
  auto call = std::make_unique<Call>(this, id, request, std::move(leg), *peer);
  Call* c = call.get();
  calls_.emplace(id, std::move(call));
  published_calls_.store(calls_.size(), std::memory_order_relaxed);
  IndexLeg(request.call_id, id);
  c->Start();
}

SipResponse B2bua::OnRequest(const IncomingRequest& request) {
  const bool trusted = peers_ && peers_->Match(request.source);
  if (!trusted) {
    metrics_->Untrusted(request.method);
    return Failure(403, "Forbidden",
                   SipReason(403, "source is not a configured peer"));
  }
  if (std::optional<SipResponse> refused = Refuse(request)) {
    metrics_->Refused(request.method, refused->code);
    return *refused;
  }
  if (request.method == "OPTIONS" && draining_) {
    // Peers that ping us (a front end, a proxy's dispatcher, a gateway)
    // take us out of their rotation for new calls.
    SipResponse r = Failure(503, "Service Unavailable",
                            SipReason(503, "signaling instance is draining"));
    r.headers.emplace_back("Retry-After", "5");
    return r;
  }
  if (request.method == "OPTIONS") {
    metrics_->OptionsAnswered();
    SipResponse r = Response(200, "OK");
    r.headers = {{"Allow", kAllow},
                 {"Accept", "application/sdp"},
                 // RFC 4028 session timers, RFC 3262 reliable
                 // provisionals, RFC 3891 Replaces.
                 {"Supported", "timer, 100rel, replaces"}};
    return r;
  }
  // Requests within a dialog that reach us here name none of ours (a
  // re-INVITE included: new INVITEs go to OnInvite).
  if (request.method == "BYE" || request.method == "CANCEL" ||
      request.method == "INFO" || request.method == "UPDATE" ||
      request.method == "PRACK" || request.method == "INVITE") {
    return Response(481, "Call/Transaction Does Not Exist");
  }
  SipResponse r = Response(405, "Method Not Allowed");
  r.headers = {{"Allow", kAllow}};
  return r;
}

std::optional<SipResponse> B2bua::Refuse(const IncomingRequest& request) const {
  // Methods we know; those we do not serve get 405, the rest 501.
  static constexpr absl::string_view kKnown[] = {
      "INVITE",   "ACK",       "CANCEL", "BYE",    "OPTIONS",
      "REGISTER", "INFO",      "UPDATE", "PRACK",  "REFER",
      "MESSAGE",  "SUBSCRIBE", "NOTIFY", "PUBLISH"};
  if (std::find(std::begin(kKnown), std::end(kKnown), request.method) ==
      std::end(kKnown)) {
    SipResponse r = Response(501, "Not Implemented");
    r.headers = {{"Allow", kAllow}};
    return r;
  }
  const absl::string_view uri = request.request_uri;
  if (!absl::StartsWithIgnoreCase(uri, "sip:") &&
      !absl::StartsWithIgnoreCase(uri, "sips:") &&
      !absl::StartsWithIgnoreCase(uri, "tel:")) {
    return Response(416, "Unsupported URI Scheme");
  }
  // The extensions we support are RFC 4028's "timer" and RFC 3262's
  // "100rel" (see OPTIONS' Supported); any other Require is one we cannot
  // honour. CANCEL and ACK
  // are never refused so.
  std::vector<std::string> unsupported;
  for (const std::string& tag : request.require) {
    if (!absl::EqualsIgnoreCase(tag, "timer") &&
        !absl::EqualsIgnoreCase(tag, "100rel") &&
        !absl::EqualsIgnoreCase(tag, "replaces")) {
      unsupported.push_back(tag);
    }
  }
  if (!unsupported.empty() && request.method != "CANCEL" &&
      request.method != "ACK") {
    SipResponse r = Response(420, "Bad Extension");
    r.headers = {{"Unsupported", absl::StrJoin(unsupported, ", ")}};
    return r;
  }
  if (request.method != "INVITE") return std::nullopt;
  // What routing and media are given of the request (Request-URI, From,
  // P-Asserted-Identity, Call-ID, Replaces) is ASCII in RFC 3261's grammar
  // (25.1: other octets only %-escaped); raw octets that are not even UTF-8
  // cannot go in their protobuf strings, so the call could only fail later
  // with an internal error. It is the request that is malformed: 400.
  const std::pair<absl::string_view, const std::string*> identities[] = {
      {"Request-URI", &request.request_uri},
      {"From", &request.from_uri},
      {"P-Asserted-Identity", &request.pai_uri},
      {"Call-ID", &request.call_id},
      {"Replaces", &request.replaces}};
  for (const auto& [name, value] : identities) {
    if (!IsValidUtf8(*value)) {
      return Failure(
          400, "Bad Request",
          SipReason(400, absl::StrCat(name,
                                      " has octets that are not UTF-8 "
                                      "(RFC 3261 25.1: escape them)")));
    }
  }
  // We forward it: a loop through trunks and UC side (a misrouted
  // inter-trunk route, two nodes routing to each other) ends here rather
  // than taking calls, trunk slots and media sessions round and round.
  if (request.max_forwards == 0) {
    return Failure(483, "Too Many Hops",
                   SipReason(483, "Max-Forwards reached 0: a routing loop?"));
  }
  if (!request.body_error.empty()) {
    return Failure(400, "Bad Request", SipReason(400, request.body_error));
  }
  // RFC 3261 20.11, RFC 5621 9.1: a part we cannot handle and may not
  // ignore. Known parts other than SDP are forwarded (location) or end
  // here on purpose (ISUP, QSIG: SIP-I and SIP-T stop at the border).
  for (const BodyPart& part : request.body_parts) {
    if (part.required && !IsKnownPart(part.media_type)) {
      SipResponse r = Failure(
          415, "Unsupported Media Type",
          SipReason(415, absl::StrCat("a body part of type ", part.media_type,
                                      " that is required (handling)")));
      r.headers.emplace_back("Accept", kAcceptedBodies);
      return r;
    }
  }
  if (request.has_accept) {
    const bool sdp = std::any_of(
        request.accept.begin(), request.accept.end(), [](const std::string& t) {
          return t == "application/sdp" || t == "application/*" || t == "*/*";
        });
    if (!sdp) {
      SipResponse r = Response(406, "Not Acceptable");
      r.headers = {{"Accept", "application/sdp"}};
      return r;
    }
  }
  return std::nullopt;
}

std::vector<v1::CallSummary> B2bua::ListCalls(
    const v1::ListCallsRequest& filter) const {
  std::vector<v1::CallSummary> out;
  const int64_t now_ms = absl::ToUnixMillis(stack_->Now());
  for (const auto& [id, call] : calls_) {
    v1::CallSummary s = call->Summary();
    if (s.state() == v1::CALL_STATE_ENDING) continue;
    if (!filter.trunk().empty() && s.trunk() != filter.trunk()) continue;
    if (filter.direction() != v1::CALL_DIRECTION_UNSPECIFIED &&
        s.direction() != filter.direction()) {
      continue;
    }
    if (filter.state() != v1::CALL_STATE_UNSPECIFIED &&
        s.state() != filter.state()) {
      continue;
    }
    if (now_ms - s.start_unix_ms() <
        static_cast<int64_t>(filter.min_age_seconds()) * 1000) {
      continue;
    }
    out.push_back(std::move(s));
  }
  return out;
}

B2bua::Call* B2bua::FindCall(const std::string& call_id) const {
  for (const auto& [id, call] : calls_) {
    if (call->call_id() == call_id &&
        call->Summary().state() != v1::CALL_STATE_ENDING) {
      return call.get();
    }
  }
  return nullptr;
}

absl::StatusOr<v1::CallDetail> B2bua::GetCall(
    const std::string& call_id) const {
  const Call* call = FindCall(call_id);
  if (call == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("no call with id \"", call_id, "\" in progress"));
  }
  return call->Detail();
}

void B2bua::EndAll(const std::string& reason) {
  // Hangup may end a call at once; the map is changed only on later turns.
  std::vector<uint64_t> ids;
  for (const auto& [id, call] : calls_) ids.push_back(id);
  for (uint64_t id : ids) {
    if (auto it = calls_.find(id); it != calls_.end())
      it->second->Hangup(reason);
  }
}

absl::Status B2bua::Hangup(const std::string& call_id,
                           const std::string& reason) {
  Call* call = FindCall(call_id);
  if (call == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("no call with id \"", call_id, "\" in progress"));
  }
  TL_LOG(kInfo, "operator hangup").With("call_id", call_id);
  call->Hangup(reason);
  return absl::OkStatus();
}

void B2bua::Finished(uint64_t id) {
  stack_->Post([this, id] {
    auto it = calls_.find(id);
    if (it == calls_.end()) return;
    // Remember the legs for a while: the last messages of a call (the 200
    // to a BYE, retransmissions) arrive after it is gone.
    constexpr size_t kEndedLegsKept = 4096;
    const TraceTag tag{it->second->call_id(), it->second->trunk()};
    std::vector<std::string> legs = it->second->leg_call_ids();
    legs.push_back(it->second->call_id());
    for (const std::string& leg : legs) {
      auto live = leg_calls_.find(leg);
      if (live != leg_calls_.end() && live->second == id)
        leg_calls_.erase(live);
      if (ended_legs_.insert_or_assign(leg, tag).second) {
        ended_order_.push_back(leg);
      }
    }
    while (ended_order_.size() > kEndedLegsKept) {
      ended_legs_.erase(ended_order_.front());
      ended_order_.pop_front();
    }
    calls_.erase(it);
    published_calls_.store(calls_.size(), std::memory_order_relaxed);
  });
}

std::string B2bua::HideReplaces(const std::string& replaces) {
  const absl::Time now = stack_->Now();
  for (auto it = issued_replaces_.begin(); it != issued_replaces_.end();) {
    it = now - it->second.issued > kIssuedReplacesLifetime
             ? issued_replaces_.erase(it)
             : std::next(it);
  }
  std::optional<ReplacesValue> value = ParseReplaces(replaces);
  if (!value) return "";  // names no dialog: the REFER is refused
  auto hex = [this] {
    return absl::StrFormat("%016x", absl::Uniform<uint64_t>(random_));
  };
  const std::string call_id = absl::StrCat("tl-", hex(), hex());
  IssuedReplaces& issued = issued_replaces_[call_id];
  issued.to_tag = hex();
  issued.from_tag = hex();
  issued.original = replaces;
  issued.issued = now;
  return absl::StrCat(call_id, ";to-tag=", issued.to_tag,
                      ";from-tag=", issued.from_tag,
                      value->early_only ? ";early-only" : "");
}

std::string B2bua::RevealReplaces(const std::string& replaces) const {
  std::optional<ReplacesValue> value = ParseReplaces(replaces);
  if (!value) return replaces;
  auto it = issued_replaces_.find(value->call_id);
  if (it == issued_replaces_.end() || it->second.to_tag != value->to_tag ||
      it->second.from_tag != value->from_tag ||
      stack_->Now() - it->second.issued > kIssuedReplacesLifetime) {
    return replaces;
  }
  return it->second.original;
}

void B2bua::IndexLeg(const std::string& leg_call_id, uint64_t id) {
  if (!leg_call_id.empty()) leg_calls_[leg_call_id] = id;
}

B2bua::TrunkCounters B2bua::CountersFor(const std::string& trunk) const {
  auto it = counters_.find(trunk);
  return it == counters_.end() ? TrunkCounters{} : it->second;
}

uint32_t B2bua::LimitFor(const std::string& trunk) const {
  auto it = trunk_limits_.find(trunk);
  return it == trunk_limits_.end() ? 0 : it->second;
}

std::optional<TraceTag> B2bua::TraceTagFor(
    const std::string& call_id, const std::string& peer_address) const {
  if (!call_id.empty()) {
    if (auto it = leg_calls_.find(call_id); it != leg_calls_.end()) {
      if (auto c = calls_.find(it->second); c != calls_.end()) {
        return TraceTag{c->second->call_id(), c->second->trunk()};
      }
    }
    if (auto it = ended_legs_.find(call_id); it != ended_legs_.end()) {
      return it->second;
    }
  }
  // Outside any call (OPTIONS keepalive, strays): the gateway's trunk.
  if (peers_ != nullptr) {
    for (const TrunkInfo& t : peers_->trunks()) {
      if (t.host == peer_address) return TraceTag{"", t.name};
    }
  }
  return std::nullopt;
}

void B2bua::Occupy(const std::string& trunk, uint32_t limit) {
  ++trunk_calls_[trunk];
  trunk_limits_[trunk] = limit;
}

void B2bua::Release(const std::string& trunk) {
  auto it = trunk_calls_.find(trunk);
  if (it != trunk_calls_.end() && --it->second <= 0) trunk_calls_.erase(it);
}

bool B2bua::IsFull(const std::string& trunk) const {
  auto it = trunk_limits_.find(trunk);
  return it != trunk_limits_.end() && it->second > 0 &&
         CallsOnTrunk(trunk) >= static_cast<int>(it->second);
}

}  // namespace trunkline::signaling
