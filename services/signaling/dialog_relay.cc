#include "services/signaling/dialog_relay.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/log.h"
#include "services/signaling/call_plan.h"
#include "services/signaling/uri_rehome.h"

namespace trunkline::signaling {
namespace {

MediaLeg Other(MediaLeg leg) {
  return leg == MediaLeg::kCaller ? MediaLeg::kCallee : MediaLeg::kCaller;
}

const char* Name(MediaLeg leg) {
  return leg == MediaLeg::kCaller ? "caller" : "callee";
}

bool IsSdp(const std::string& content_type, const std::string& body) {
  return !body.empty() &&
         (content_type.empty() ||
          absl::EqualsIgnoreCase(content_type, "application/sdp"));
}

SipResponse Response(int code, std::string phrase, std::string reason = "") {
  SipResponse r;
  r.code = code;
  r.phrase = std::move(phrase);
  if (!reason.empty()) r.headers.emplace_back("Reason", std::move(reason));
  return r;
}

// What of the far side's final response goes back to the requester.
SipResponse Relayed(const SipResponse& r) {
  SipResponse up = Response(r.code, r.phrase);
  for (const auto& [name, value] : r.headers) {
    if (absl::EqualsIgnoreCase(name, "Reason") ||
        absl::EqualsIgnoreCase(name, "Retry-After")) {
      up.headers.emplace_back(name, value);
    }
  }
  if (r.local && up.headers.empty()) {
    up.headers.emplace_back(
        "Reason",
        SipReason(r.code, r.code == 408 ? "no answer from the other side"
                                        : "the other side is unreachable"));
  }
  return up;
}

}  // namespace

struct DialogRelay::Exchange {
  uint64_t id = 0;
  MediaLeg from = MediaLeg::kCaller;
  DialogRequest request;
  std::unique_ptr<ServerTransaction> incoming;
  std::unique_ptr<DialogTransaction> outgoing;
  // INVITE or UPDATE: the exchange may carry an offer and an answer.
  bool offer_answer = false;
  bool invite = false;
  bool offer_in_request = false;
  // The 2xx carried the offer (a re-INVITE without SDP); the requester's
  // ACK carries the answer.
  bool late_offer = false;
  // A re-INVITE answered 2xx upstream, waiting for the requester's ACK.
  bool awaiting_ack = false;
  std::unique_ptr<Timer> ack_timer;
  // The final response being prepared for the requester.
  SipResponse final;
};

DialogRelay::DialogRelay(SipStack* stack, DialogLeg* caller, DialogLeg* callee,
                         Options options)
    : stack_(stack),
      caller_(caller),
      callee_(callee),
      options_(std::move(options)),
      self_(std::make_shared<DialogRelay*>(this)) {}

DialogRelay::~DialogRelay() {
  self_.reset();
  // Unanswered requests get 500 from their transactions; the call is ending.
  exchanges_.clear();
}

void DialogRelay::OnRequest(MediaLeg from, const DialogRequest& request,
                            std::unique_ptr<ServerTransaction> transaction) {
  const std::string& method = request.method;
  if (method == "REFER" && options_.refer_mode == v1::REFER_MODE_REJECT) {
    transaction->Respond(
        Response(603, "Decline", SipReason(603, "transfers are not allowed")));
    return;
  }
  auto exchange = std::make_unique<Exchange>();
  Exchange* e = exchange.get();
  e->id = next_id_++;
  e->from = from;
  e->request = request;
  e->incoming = std::move(transaction);
  e->invite = method == "INVITE";
  e->offer_answer = e->invite || method == "UPDATE";
  e->offer_in_request = IsSdp(request.content_type, request.body);
  if (e->offer_answer && OfferAnswerInProgress()) {
    e->incoming->Respond(Response(491, "Request Pending"));
    return;
  }
  exchanges_.push_back(std::move(exchange));
  if (e->offer_answer && e->offer_in_request && options_.media != nullptr) {
    options_.media->Update(options_.call_id, from, request.body,
                           Resume(e, &DialogRelay::OnOfferRewritten));
    return;
  }
  SendOn(e, request.content_type, request.body);
}

void DialogRelay::SendOn(Exchange* e, const std::string& content_type,
                         const std::string& body) {
  DialogRequest out = e->request;
  out.content_type = content_type;
  out.body = body;
  std::weak_ptr<DialogRelay*> weak = self_;
  const uint64_t id = e->id;
  auto on_final = [weak, id](const SipResponse& r) {
    std::shared_ptr<DialogRelay*> self = weak.lock();
    if (self == nullptr) return;
    if (Exchange* found = (*self)->Find(id)) (*self)->OnFinal(found, r);
  };
  DialogLeg* to = Other(e->from) == MediaLeg::kCaller ? caller_ : callee_;
  if (out.method == "REFER") {
    // Passed through: the target (and the referrer) named at us on the
    // referee's side, not at addresses of the referrer's network, which
    // the referee should neither see nor could reach. Its INVITE then
    // comes to us and is routed like any call.
    // An attended transfer's Replaces names the referrer's dialog with us:
    // its Call-ID and tags are swapped for ones of ours (topology hiding),
    // mapped back when the referee's INVITE brings them.
    // A Replaces that cannot be hidden (it names no dialog) is refused
    // rather than passed on as the referrer wrote it.
    bool replaces_unusable = false;
    std::function<std::string(const std::string&)> hide;
    if (options_.hide_replaces) {
      hide = [this, &replaces_unusable](const std::string& replaces) {
        std::string hidden = options_.hide_replaces(replaces);
        if (hidden.empty()) replaces_unusable = true;
        return hidden;
      };
    }
    for (auto& [name, value] : out.headers) {
      if (absl::EqualsIgnoreCase(name, "Refer-To") ||
          absl::EqualsIgnoreCase(name, "r")) {
        value = RehomeUri(value, to->contact(), hide);
      } else if (absl::EqualsIgnoreCase(name, "Referred-By") ||
                 absl::EqualsIgnoreCase(name, "b")) {
        value = RehomeUri(value, to->contact());
      }
    }
    if (replaces_unusable) {
      e->incoming->Respond(Response(
          400, "Bad Request",
          SipReason(400,
                    "the Replaces in Refer-To names no dialog (Call-ID, "
                    "to-tag and from-tag, RFC 3891)")));
      Forget(e);
      return;
    }
  }
  out.body = Outgoing(Other(e->from), content_type, std::move(out.body));
  e->outgoing = to->SendRequest(out, std::move(on_final));
}

void DialogRelay::OnFinal(Exchange* e, const SipResponse& r) {
  if (r.code < 200 || e->awaiting_ack) return;
  SipResponse up = Relayed(r);
  if (r.code >= 300) {
    TL_LOG(kInfo, "in-dialog request refused")
        .With("call_id", options_.call_id)
        .With("method", e->request.method)
        .With("from", Name(e->from))
        .With("code", r.code);
    e->incoming->Respond(up);
    Forget(e);
    return;
  }
  const bool sdp = IsSdp(r.content_type, r.body);
  if (e->offer_answer) {
    if (e->offer_in_request) {
      SdpAgreed(e->from, e->request.content_type, e->request.body);
    }
    SdpAgreed(Other(e->from), r.content_type, r.body);
  }
  if (sdp && e->offer_answer && options_.media != nullptr &&
      (e->offer_in_request || e->invite)) {
    up.content_type = "application/sdp";
    e->final = std::move(up);
    const MediaLeg answerer = Other(e->from);
    if (e->offer_in_request) {
      options_.media->Answer(options_.call_id, answerer, r.body,
                             Resume(e, &DialogRelay::OnAnswerRewritten));
    } else {
      options_.media->Update(options_.call_id, answerer, r.body,
                             Resume(e, &DialogRelay::OnLateOfferRewritten));
    }
    return;
  }
  up.content_type = r.content_type;
  up.body = r.body;
  e->late_offer = e->invite && !e->offer_in_request && sdp;
  Answered(e, std::move(up));
}

void DialogRelay::Answered(Exchange* e, SipResponse up) {
  up.body = Outgoing(e->from, up.content_type, std::move(up.body));
  e->incoming->Respond(up);
  if (!e->invite) {
    Forget(e);
    return;
  }
  // The ACK comes from the requester; if it never does, the far side must
  // still get one (else it resends its 2xx and gives up on the dialog).
  e->awaiting_ack = true;
  const uint64_t id = e->id;
  e->ack_timer = stack_->StartTimer(options_.ack_timeout, [this, id] {
    if (Exchange* found = Find(id)) {
      TL_LOG(kWarning, "no ACK for a relayed re-INVITE")
          .With("call_id", options_.call_id);
      found->outgoing->Ack("", "");
      Forget(found);
    }
  });
}

bool DialogRelay::OnAck(MediaLeg from, const std::string& content_type,
                        const std::string& body) {
  for (const auto& exchange : exchanges_) {
    Exchange* e = exchange.get();
    if (!e->awaiting_ack || e->from != from) continue;
    e->ack_timer.reset();
    if (e->late_offer) SdpAgreed(from, content_type, body);
    if (e->late_offer && options_.media != nullptr &&
        IsSdp(content_type, body)) {
      e->awaiting_ack = false;  // the exchange ends with the media answer
      options_.media->Answer(options_.call_id, from, body,
                             Resume(e, &DialogRelay::OnLateAnswerRewritten));
      return true;
    }
    e->outgoing->Ack(content_type, Outgoing(Other(from), content_type, body));
    Forget(e);
    return true;
  }
  return false;
}

MediaController::SdpDone DialogRelay::Resume(Exchange* e, SdpStep then) {
  std::weak_ptr<DialogRelay*> weak = self_;
  const uint64_t id = e->id;
  return [weak, id, then](absl::StatusOr<std::string> sdp) {
    std::shared_ptr<DialogRelay*> self = weak.lock();
    if (self == nullptr) return;
    DialogRelay* relay = *self;
    if (Exchange* found = relay->Find(id))
      (relay->*then)(found, std::move(sdp));
  };
}

void DialogRelay::OnOfferRewritten(Exchange* e,
                                   absl::StatusOr<std::string> sdp) {
  if (!sdp.ok()) {
    TL_LOG(kWarning, "media refused a new offer")
        .With("call_id", options_.call_id)
        .With("error", sdp.status().message());
    e->incoming->Respond(Response(
        488, "Not Acceptable Here",
        SipReason(488, absl::StrCat("media: ", sdp.status().message()))));
    Forget(e);
    return;
  }
  SendOn(e, "application/sdp", *sdp);
}

void DialogRelay::OnAnswerRewritten(Exchange* e,
                                    absl::StatusOr<std::string> sdp) {
  if (!sdp.ok()) {
    // The far side took the new session and we cannot relay it: the
    // requester keeps the old one (the relay still has it).
    TL_LOG(kWarning, "media refused an answer")
        .With("call_id", options_.call_id)
        .With("error", sdp.status().message());
    SipResponse failed = Response(
        500, "Server Internal Error",
        SipReason(500, absl::StrCat("media: ", sdp.status().message())));
    failed.headers.emplace_back("Retry-After", "1");
    e->incoming->Respond(failed);
    if (e->invite) e->outgoing->Ack("", "");
    Forget(e);
    return;
  }
  e->final.body = *std::move(sdp);
  Answered(e, e->final);
}

void DialogRelay::OnLateOfferRewritten(Exchange* e,
                                       absl::StatusOr<std::string> sdp) {
  if (!sdp.ok()) {
    TL_LOG(kWarning, "media refused a late offer")
        .With("call_id", options_.call_id)
        .With("error", sdp.status().message());
    e->incoming->Respond(Response(
        500, "Server Internal Error",
        SipReason(500, absl::StrCat("media: ", sdp.status().message()))));
    e->outgoing->Ack("", "");
    Forget(e);
    return;
  }
  e->late_offer = true;
  e->final.body = *std::move(sdp);
  Answered(e, e->final);
}

void DialogRelay::OnLateAnswerRewritten(Exchange* e,
                                        absl::StatusOr<std::string> sdp) {
  if (sdp.ok()) {
    e->outgoing->Ack(
        "application/sdp",
        Outgoing(Other(e->from), "application/sdp", *std::move(sdp)));
  } else {
    TL_LOG(kWarning, "media refused a late answer")
        .With("call_id", options_.call_id)
        .With("error", sdp.status().message());
    e->outgoing->Ack("", "");
  }
  Forget(e);
}

void DialogRelay::SdpAgreed(MediaLeg of, const std::string& content_type,
                            const std::string& body) {
  if (options_.sdp_agreed && IsSdp(content_type, body)) {
    options_.sdp_agreed(of, body);
  }
}

std::string DialogRelay::Outgoing(MediaLeg to, const std::string& content_type,
                                  std::string body) {
  if (!IsSdp(content_type, body)) return body;
  if (options_.rewrite_sdp) body = options_.rewrite_sdp(to, body);
  if (options_.sdp_sent) options_.sdp_sent(to, body);
  return body;
}

bool DialogRelay::OfferAnswerInProgress() const {
  for (const auto& e : exchanges_) {
    if (e->offer_answer) return true;
  }
  return false;
}

DialogRelay::Exchange* DialogRelay::Find(uint64_t id) {
  for (const auto& e : exchanges_) {
    if (e->id == id) return e.get();
  }
  return nullptr;
}

void DialogRelay::Forget(Exchange* e) {
  exchanges_.remove_if(
      [e](const std::unique_ptr<Exchange>& x) { return x.get() == e; });
}

}  // namespace trunkline::signaling
