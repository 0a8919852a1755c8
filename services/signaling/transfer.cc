#include "services/signaling/transfer.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/common/error_table.h"
#include "services/common/log.h"
#include "services/common/utf8.h"
#include "services/signaling/call_plan.h"
#include "services/signaling/uri_rehome.h"

namespace trunkline::signaling {
namespace {

MediaLeg Other(MediaLeg leg) {
  return leg == MediaLeg::kCaller ? MediaLeg::kCallee : MediaLeg::kCaller;
}

// The reason phrase RFC 3261 21 gives a code, for a sipfrag whose response
// came without one (a translated code).
const char* DefaultPhrase(int code) {
  switch (code) {
    case 100:
      return "Trying";
    case 180:
      return "Ringing";
    case 183:
      return "Session Progress";
    case 200:
      return "OK";
    case 404:
      return "Not Found";
    case 408:
      return "Request Timeout";
    case 480:
      return "Temporarily Unavailable";
    case 486:
      return "Busy Here";
    case 487:
      return "Request Terminated";
    case 488:
      return "Not Acceptable Here";
    case 500:
      return "Server Internal Error";
    case 503:
      return "Service Unavailable";
    case 603:
      return "Decline";
    default:
      return code < 300 ? "OK" : "Failed";
  }
}

SipResponse Response(int code, std::string phrase) {
  SipResponse r;
  r.code = code;
  r.phrase = std::move(phrase);
  return r;
}

}  // namespace

absl::StatusOr<ReferTarget> ParseReferTo(const HeaderList& headers) {
  const std::string* value = nullptr;
  for (const auto& [name, v] : headers) {
    if (!absl::EqualsIgnoreCase(name, "Refer-To") &&
        !absl::EqualsIgnoreCase(name, "r")) {
      continue;
    }
    if (value != nullptr) {
      return absl::InvalidArgumentError(
          "more than one Refer-To header (RFC 3515 2.4.1 allows one)");
    }
    value = &v;
  }
  if (value == nullptr) {
    return absl::InvalidArgumentError("REFER without a Refer-To header");
  }
  absl::string_view v = absl::StripAsciiWhitespace(*value);
  absl::string_view uri;
  if (size_t open = v.find('<'); open != absl::string_view::npos) {
    size_t close = v.find('>', open);
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("Refer-To has '<' without '>': ", *value));
    }
    uri = v.substr(open + 1, close - open - 1);
  } else {
    // Without angle brackets, parameters belong to the header, not the URI,
    // and the URI cannot carry headers (RFC 3261 20).
    uri = v.substr(0, v.find(';'));
  }
  ReferTarget target;
  absl::string_view uri_headers;
  if (size_t q = uri.find('?'); q != absl::string_view::npos) {
    uri_headers = uri.substr(q + 1);
    uri = uri.substr(0, q);
  }
  target.uri = std::string(uri);
  for (absl::string_view h : absl::StrSplit(uri_headers, '&')) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(h, absl::MaxSplits('=', 1));
    if (absl::EqualsIgnoreCase(kv.first, "Replaces")) {
      target.replaces = PercentDecode(kv.second);
    }
  }
  const std::string lower = absl::AsciiStrToLower(uri);
  absl::string_view rest;
  std::string missing;  // why there is no user part
  if (absl::StartsWith(lower, "sip:") || absl::StartsWith(lower, "sips:")) {
    rest = uri.substr(uri.find(':') + 1);
    size_t at = rest.find('@');
    if (at == absl::string_view::npos || at == 0) {
      missing = "Refer-To URI has no user part to route on: ";
    } else {
      target.user = std::string(rest.substr(0, std::min(at, rest.find(';'))));
    }
  } else if (absl::StartsWith(lower, "tel:")) {
    rest = uri.substr(4);
    target.user = std::string(rest.substr(0, rest.find(';')));
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("Refer-To is not a sip, sips or tel URI: ", *value));
  }
  target.user = PercentDecode(target.user);
  // The user part is routed (a protobuf string): octets that are not UTF-8,
  // raw or escaped, are refused here rather than failing routing's request.
  if (!IsValidUtf8(target.user)) {
    return absl::InvalidArgumentError(
        "Refer-To's user part has octets that are not UTF-8");
  }
  if (target.user.empty() && missing.empty()) {
    missing = "Refer-To URI has an empty user part: ";
  }
  if (!missing.empty() && target.replaces.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(missing, target.uri));
  }
  return target;
}

std::optional<ReplacesValue> ParseReplaces(absl::string_view value) {
  ReplacesValue r;
  std::vector<absl::string_view> parts = absl::StrSplit(value, ';');
  r.call_id = std::string(absl::StripAsciiWhitespace(parts[0]));
  for (size_t i = 1; i < parts.size(); ++i) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(parts[i], absl::MaxSplits('=', 1));
    const absl::string_view name = absl::StripAsciiWhitespace(kv.first);
    const std::string v(absl::StripAsciiWhitespace(kv.second));
    if (absl::EqualsIgnoreCase(name, "to-tag")) {
      r.to_tag = v;
    } else if (absl::EqualsIgnoreCase(name, "from-tag")) {
      r.from_tag = v;
    } else if (absl::EqualsIgnoreCase(name, "early-only")) {
      r.early_only = true;
    }
  }
  if (r.call_id.empty() || r.to_tag.empty() || r.from_tag.empty()) {
    return std::nullopt;
  }
  return r;
}

bool Names(const ReplacesValue& replaces, const DialogId& dialog) {
  // Call-IDs compare exactly, tags case-insensitively (RFC 3261 19.3).
  return !dialog.call_id.empty() && replaces.call_id == dialog.call_id &&
         absl::EqualsIgnoreCase(replaces.to_tag, dialog.local_tag) &&
         absl::EqualsIgnoreCase(replaces.from_tag, dialog.remote_tag);
}

std::string ReplacesFor(const DialogId& dialog, bool early_only) {
  // At the peer, its own tag is our remote one.
  return absl::StrCat(dialog.call_id, ";to-tag=", dialog.remote_tag,
                      ";from-tag=", dialog.local_tag,
                      early_only ? ";early-only" : "");
}

Transfer::Transfer(SipStack* stack, RoutingClient* routing, Host* host,
                   Plan plan)
    : stack_(stack),
      routing_(routing),
      host_(host),
      plan_(std::move(plan)),
      self_(std::make_shared<Transfer*>(this)) {}

Transfer::~Transfer() { self_.reset(); }

template <typename Arg>
std::function<void(Arg)> Transfer::Guard(void (Transfer::*step)(Arg)) {
  std::weak_ptr<Transfer*> weak = self_;
  return [weak, step](Arg arg) {
    if (std::shared_ptr<Transfer*> self = weak.lock()) {
      ((*self)->*step)(std::forward<Arg>(arg));
    }
  };
}

void Transfer::Start() {
  TL_LOG(kInfo, "transfer started")
      .With("call_id", plan_.call_id)
      .With("target", plan_.target.uri)
      .With("from", plan_.side == MediaLeg::kCaller ? "caller" : "callee");
  Notify(100, "Trying", /*final=*/false);
  if (plan_.direct) {
    v1::RouteDecision decision;
    *decision.add_candidates() = *plan_.direct;
    OnRouted(std::move(decision));
    return;
  }
  routing_->Route(plan_.route, Guard(&Transfer::OnRouted));
}

const v1::Candidate* Transfer::candidate() const {
  return current_candidate_ >= 0 ? &decision_.candidates(current_candidate_)
                                 : nullptr;
}

void Transfer::OnRouted(absl::StatusOr<v1::RouteDecision> decision) {
  if (state_ != State::kRouting) return;
  if (!decision.ok()) {
    const SipError e = SipErrorFor(decision.status().code());
    TL_LOG(kWarning, "transfer not routed")
        .With("call_id", plan_.call_id)
        .With("error", decision.status().message());
    Fail(e.code, e.reason_phrase);
    return;
  }
  decision_ = *std::move(decision);
  if (decision_.candidates().empty()) {
    const int code =
        decision_.reject().sip_code() ? decision_.reject().sip_code() : 404;
    TL_LOG(kInfo, "transfer target has no route")
        .With("call_id", plan_.call_id)
        .With("target", plan_.target.user)
        .With("reason", decision_.reject().reason());
    Fail(code, DefaultPhrase(code));
    return;
  }
  state_ = State::kInviting;
  TryNext();
}

void Transfer::TryNext() {
  if (next_candidate_ >= decision_.candidates_size()) {
    Fail(last_failure_.code >= 300 ? last_failure_.code : 503,
         last_failure_.code >= 300 ? last_failure_.phrase : "");
    return;
  }
  current_candidate_ = next_candidate_++;
  const v1::Candidate& c = decision_.candidates(current_candidate_);
  // No SDP: the target's 2xx makes the offer (3pcc), whatever it can do.
  OutgoingInvite invite = BuildInvite(plan_.as_if, c, "");
  invite.max_early_dialogs = c.limits().max_early_dialogs();
  if (!plan_.referred_by.empty()) {
    invite.headers.emplace_back("Referred-By", plan_.referred_by);
  }
  if (!plan_.target.replaces.empty()) {
    invite.headers.emplace_back("Replaces", plan_.target.replaces);
    invite.headers.emplace_back("Require", "replaces");
  }
  if (leg_ != nullptr) dropped_.push_back(std::move(leg_));
  leg_ = stack_->SendInvite(invite, this);
}

void Transfer::OnResponse(const SipResponse& r) {
  if (state_ == State::kDone) {
    // Answered after we gave up (the call ended meanwhile): end it at once.
    if (r.code >= 200 && r.code < 300 && leg_ != nullptr) {
      leg_->Ack("", "");
      leg_->SendBye(SipReason(200, "the transferred call has ended"));
    }
    return;
  }
  if (state_ != State::kInviting) return;  // a retransmitted 2xx
  if (r.code < 200) {
    if (r.code >= 180 && last_notified_ < 180) Notify(r.code, r.phrase, false);
    return;
  }
  if (r.code < 300) {
    state_ = State::kConnecting;
    if (r.body.empty()) {
      // RFC 3261 13.2.1: a 2xx to an INVITE without an offer must carry one.
      leg_->Ack("", "");
      leg_->SendBye(SipReason(488, "no SDP offer in the 2xx"));
      Fail(488, "Not Acceptable Here");
      return;
    }
    if (plan_.media != nullptr) {
      plan_.media->Retarget(plan_.call_id, plan_.side, *candidate(), r.body,
                            Guard(&Transfer::OnOfferForTransferee));
    } else {
      OnOfferForTransferee(r.body);
    }
    return;
  }
  last_failure_ = r;
  TL_LOG(kInfo, "transfer target refused")
      .With("call_id", plan_.call_id)
      .With("trunk", candidate()->trunk())
      .With("code", r.code);
  if (IsFailover(r, candidate()->failover())) {
    TryNext();
    return;
  }
  Fail(r.code, r.phrase);
}

void Transfer::OnOfferForTransferee(absl::StatusOr<std::string> sdp) {
  if (state_ != State::kConnecting) return;
  if (!sdp.ok()) {
    TL_LOG(kWarning, "media refused the transfer target's offer")
        .With("call_id", plan_.call_id)
        .With("error", sdp.status().message());
    leg_->Ack("", "");
    leg_->SendBye(
        SipReason(488, absl::StrCat("media: ", sdp.status().message())));
    Fail(488, "Not Acceptable Here");
    return;
  }
  DialogRequest reinvite;
  reinvite.method = "INVITE";
  reinvite.content_type = "application/sdp";
  reinvite.body = plan_.rewrite_sdp ? plan_.rewrite_sdp(Other(plan_.side), *sdp)
                                    : *std::move(sdp);
  if (plan_.sdp_sent) plan_.sdp_sent(Other(plan_.side), reinvite.body);
  reinvite_ = host_->LegOn(Other(plan_.side))
                  ->SendRequest(reinvite, Guard(&Transfer::OnTransfereeAnswer));
}

void Transfer::OnTransfereeAnswer(const SipResponse& r) {
  if (state_ != State::kConnecting || r.code < 200) return;
  if (r.code >= 300 || r.body.empty()) {
    if (r.code < 300) reinvite_->Ack("", "");
    TL_LOG(kWarning, "transferee refused the new session")
        .With("call_id", plan_.call_id)
        .With("code", r.code);
    leg_->Ack("", "");
    leg_->SendBye(SipReason(r.code < 300 ? 488 : r.code,
                            "the transferred party refused the session"));
    Fail(r.code < 300 ? 488 : r.code, r.code < 300 ? "" : r.phrase);
    return;
  }
  reinvite_->Ack("", "");
  if (plan_.media != nullptr) {
    plan_.media->Answer(plan_.call_id, Other(plan_.side), r.body,
                        Guard(&Transfer::OnAnswerForTarget));
  } else {
    OnAnswerForTarget(r.body);
  }
}

void Transfer::OnAnswerForTarget(absl::StatusOr<std::string> sdp) {
  if (state_ != State::kConnecting) return;
  if (!sdp.ok()) {
    TL_LOG(kWarning, "media refused the transferee's answer")
        .With("call_id", plan_.call_id)
        .With("error", sdp.status().message());
    leg_->Ack("", "");
    leg_->SendBye(
        SipReason(500, absl::StrCat("media: ", sdp.status().message())));
    Fail(500, "Server Internal Error");
    return;
  }
  if (plan_.sdp_sent) plan_.sdp_sent(plan_.side, *sdp);
  leg_->Ack("application/sdp", *sdp);
  state_ = State::kConnected;
  TL_LOG(kInfo, "transfer completed")
      .With("call_id", plan_.call_id)
      .With("target", plan_.target.uri)
      .With("trunk", candidate()->trunk());
  Notify(200, "OK", /*final=*/true);
  host_->Transferred(this);  // last: the host takes over the new leg
}

void Transfer::Fail(int code, const std::string& phrase) {
  state_ = State::kDone;
  Notify(code, phrase, /*final=*/true);
  host_->TransferFailed(this);  // last: the host may keep or drop us
}

void Transfer::Abandon(const std::string& reason) {
  const State was = state_;
  state_ = State::kDone;
  reinvite_.reset();
  if (leg_ == nullptr) return;
  if (was == State::kInviting) {
    leg_->Cancel();
  } else if (was == State::kConnecting) {
    leg_->Ack("", "");
    leg_->SendBye(reason);
  }
}

void Transfer::Notify(int code, const std::string& phrase, bool final) {
  if (!plan_.notify) return;
  last_notified_ = code;
  DialogRequest notify;
  notify.method = "NOTIFY";
  notify.headers = {
      {"Event", "refer"},
      {"Subscription-State",
       final ? "terminated;reason=noresource" : "active;expires=60"}};
  notify.content_type = "message/sipfrag;version=2.0";
  notify.body =
      absl::StrCat("SIP/2.0 ", code, " ",
                   phrase.empty() ? DefaultPhrase(code) : phrase, "\r\n");
  DialogLeg* transferor = host_->LegOn(plan_.side);
  if (transferor == nullptr) return;
  notifies_.push_back(
      transferor->SendRequest(notify, [](const SipResponse&) {}));
}

void Transfer::OnBye(const std::string&) {
  if (state_ == State::kConnected) {
    host_->OnTransferredBye(this);
    return;
  }
  // The target hung up before the transfer completed.
  if (state_ == State::kConnecting) {
    reinvite_.reset();
    Fail(487, "Request Terminated");
  }
}

void Transfer::OnAck(const std::string& content_type, const std::string& body) {
  if (state_ == State::kConnected) {
    host_->OnTransferredAck(this, content_type, body);
  }
}

void Transfer::OnDialogRequest(const DialogRequest& request,
                               std::unique_ptr<ServerTransaction> txn) {
  if (state_ == State::kConnected) {
    host_->OnTransferredRequest(this, request, std::move(txn));
    return;
  }
  if (request.method == "INVITE" || request.method == "UPDATE") {
    txn->Respond(Response(491, "Request Pending"));
    return;
  }
  SipResponse r = Response(500, "Server Internal Error");
  r.headers = {{"Retry-After", "1"},
               {"Reason", SipReason(500, "the transfer is not complete yet")}};
  txn->Respond(r);
}

}  // namespace trunkline::signaling
