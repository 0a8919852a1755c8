#include "services/signaling/trunk_registrar.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/common/log.h"
#include "services/signaling/call_plan.h"
#include "services/signaling/digest_auth.h"

namespace trunkline::signaling {
namespace {

// The URI inside <...> of a Contact value, or the value.
absl::string_view ContactUri(absl::string_view contact) {
  const size_t open = contact.find('<');
  const size_t close = contact.find('>');
  if (open != absl::string_view::npos && close != absl::string_view::npos &&
      close > open) {
    return contact.substr(open + 1, close - open - 1);
  }
  return contact;
}

// The refresh point of a registration granted for `granted` seconds.
absl::Duration RefreshAfter(uint32_t granted) {
  if (granted > 60) return absl::Seconds(granted - 30);
  return std::max(absl::Seconds(1), absl::Seconds(granted) / 2);
}

}  // namespace

uint32_t GrantedExpiry(const SipResponse& r, const std::string& contact,
                       uint32_t asked) {
  const absl::string_view ours = ContactUri(contact);
  bool found = false;
  uint32_t granted = 0;
  for (const auto& [name, value] : r.headers) {
    if (!absl::EqualsIgnoreCase(name, "Contact")) continue;
    if (!absl::EqualsIgnoreCase(ContactUri(value), ours)) continue;
    const std::string lower = absl::AsciiStrToLower(value);
    const size_t at = lower.find("expires=");
    uint32_t e = 0;
    if (at == std::string::npos) continue;
    size_t end = at + 8;
    while (end < lower.size() && absl::ascii_isdigit(lower[end])) ++end;
    if (absl::SimpleAtoi(lower.substr(at + 8, end - at - 8), &e)) {
      granted = found ? std::min(granted, e) : e;
      found = true;
    }
  }
  if (found) return granted;
  uint32_t expires = 0;
  if (absl::SimpleAtoi(r.Header("Expires"), &expires)) return expires;
  return asked;
}

struct TrunkRegistrar::Entry {
  Registration state;
  std::string call_id;
  uint32_t cseq = 0;
  std::string contact;
  // Challenges answered since the last final success.
  int auth_tries = 0;
  // Un-REGISTERing: its answer ends the entry.
  bool leaving = false;
  std::unique_ptr<ClientTransaction> transaction;
  std::unique_ptr<Timer> timer;
};

TrunkRegistrar::TrunkRegistrar(SipStack* stack, SignalingMetrics* metrics)
    : stack_(stack), metrics_(metrics) {}

TrunkRegistrar::~TrunkRegistrar() = default;

void TrunkRegistrar::SetPeers(std::shared_ptr<const PeerDirectory> peers) {
  peers_ = std::move(peers);
  std::map<std::string, std::unique_ptr<Entry>> next;
  for (const TrunkInfo& t : peers_->trunks()) {
    if (!t.registration) continue;
    auto it = trunks_.find(t.name);
    if (it != trunks_.end() && it->second->state.info == t) {
      next[t.name] = std::move(it->second);
      continue;
    }
    auto e = std::make_unique<Entry>();
    e->state.info = t;
    e->call_id = absl::StrFormat(
        "%016x-reg@%s", absl::Uniform<uint64_t>(random_), t.advertised);
    e->contact = OurContact(t.advertised, t.local_port, t.transport, t.sips);
    Entry& ref = *e;
    next[t.name] = std::move(e);
    metrics_->TrunkRegistered(t.name, false);
    Register(ref, {});
  }
  for (auto& [name, e] : trunks_) {
    if (next.find(name) != next.end()) continue;
    TL_LOG(kInfo, "trunk no longer registers").With("trunk", name);
    metrics_->TrunkRegistered(name, false);
    // A changed trunk registers anew (above) and is not un-REGISTERed: the
    // two could reach the registrar in either order and the un-REGISTER
    // remove the new binding. One that no longer registers at all is.
    if (e->state.registered) Unregister(std::move(e));
  }
  trunks_ = std::move(next);
}

void TrunkRegistrar::UnregisterAll(std::function<void()> done) {
  all_left_ = std::move(done);
  for (auto& [name, e] : trunks_) {
    if (e->state.registered) {
      Unregister(std::move(e));
    } else {
      metrics_->TrunkRegistered(name, false);
    }
  }
  trunks_.clear();
  if (leaving_.empty() && all_left_) std::exchange(all_left_, nullptr)();
}

void TrunkRegistrar::Unregister(std::unique_ptr<Entry> e) {
  e->timer.reset();
  e->transaction.reset();  // a refresh in flight is superseded
  e->leaving = true;
  e->auth_tries = 0;
  Entry& ref = *e;
  leaving_.push_back(std::move(e));
  Register(ref, {});
}

void TrunkRegistrar::OnLeft(Entry* e, const SipResponse& r) {
  e->transaction.reset();
  const std::string& trunk = e->state.info.name;
  if (r.code == 401 || r.code == 407) {
    absl::StatusOr<HeaderList> authorization = CountedAnswer(*e, r);
    if (authorization.ok()) {
      Register(*e, *authorization);
      return;
    }
  }
  if (r.code >= 200 && r.code < 300) {
    TL_LOG(kInfo, "trunk unregistered")
        .With("trunk", trunk)
        .With("registrar", e->state.info.registrar_uri);
  } else {
    // Nothing more to do: the binding runs out at its expiry.
    TL_LOG(kWarning, "trunk un-REGISTER failed")
        .With("trunk", trunk)
        .With("registrar", e->state.info.registrar_uri)
        .With("code", r.code)
        .With("phrase", r.phrase);
  }
  metrics_->TrunkRegistered(trunk, false);
  leaving_.erase(std::find_if(
      leaving_.begin(), leaving_.end(),
      [e](const std::unique_ptr<Entry>& l) { return l.get() == e; }));
  if (leaving_.empty() && all_left_) std::exchange(all_left_, nullptr)();
}

const TrunkRegistrar::Registration* TrunkRegistrar::Find(
    const std::string& trunk) const {
  auto it = trunks_.find(trunk);
  return it == trunks_.end() ? nullptr : &it->second->state;
}

void TrunkRegistrar::Register(Entry& e, const HeaderList& authorization) {
  const TrunkInfo& t = e.state.info;
  OutgoingRequest r;
  r.method = "REGISTER";
  r.call_id = e.call_id;
  r.cseq = ++e.cseq;
  r.request_uri = t.registrar_uri;
  r.from = absl::StrCat("<", t.aor, ">");
  r.to = r.from;
  r.contact = e.contact;
  r.next_hop_host = t.host;
  r.tls_name = t.tls_name;
  r.next_hop_port = t.port;
  r.transport = t.transport;
  r.local_port = t.local_port;
  r.headers = {
      {"Expires", absl::StrCat(e.leaving ? 0 : t.register_expires_seconds)}};
  r.headers.insert(r.headers.end(), authorization.begin(), authorization.end());
  e.timer.reset();
  if (e.leaving) {
    Entry* leaving = &e;
    e.transaction =
        stack_->SendRequest(r, [this, leaving](const SipResponse& response) {
          OnLeft(leaving, response);
        });
    return;
  }
  const std::string trunk = t.name;
  e.transaction = stack_->SendRequest(
      r,
      [this, trunk](const SipResponse& response) { OnFinal(trunk, response); });
}

absl::StatusOr<HeaderList> TrunkRegistrar::Answer(Entry& e,
                                                  const SipResponse& r) {
  const TrunkInfo& t = e.state.info;
  if (t.credentials.empty()) {
    return absl::FailedPreconditionError(
        "the registrar asks for credentials and the trunk configuration "
        "names none (credentials)");
  }
  const DigestCredential* credential =
      peers_ ? peers_->credentials().Find(t.credentials) : nullptr;
  if (credential == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("credential \"", t.credentials,
                     "\" is unavailable (is its passwordFile readable?)"));
  }
  ChallengeAnswer answer = AnswerChallenge(
      r, *credential, "REGISTER", t.registrar_uri, e.auth_tries,
      absl::StrFormat("%016x", absl::Uniform<uint64_t>(random_)));
  switch (answer.outcome) {
    case ChallengeAnswer::Outcome::kAnswer:
      ++e.auth_tries;
      return std::move(answer.authorization);
    case ChallengeAnswer::Outcome::kRefused:
      return absl::PermissionDeniedError(
          absl::StrCat("the registrar refused the credentials of \"",
                       t.credentials, "\" (realm ", answer.detail, ")"));
    case ChallengeAnswer::Outcome::kUnanswerable:
      break;
  }
  return absl::FailedPreconditionError(answer.detail);
}

absl::StatusOr<HeaderList> TrunkRegistrar::CountedAnswer(Entry& e,
                                                         const SipResponse& r) {
  absl::StatusOr<HeaderList> authorization = Answer(e, r);
  metrics_->AuthChallenge(
      e.state.info.name,
      authorization.ok() ? "answered"
      : authorization.status().code() == absl::StatusCode::kPermissionDenied
          ? "refused"
          : "unanswerable");
  return authorization;
}

void TrunkRegistrar::OnFinal(const std::string& trunk, const SipResponse& r) {
  auto it = trunks_.find(trunk);
  if (it == trunks_.end()) return;
  Entry& e = *it->second;
  e.transaction.reset();
  if (r.code == 401 || r.code == 407) {
    absl::StatusOr<HeaderList> authorization = CountedAnswer(e, r);
    if (authorization.ok()) {
      Register(e, *authorization);
      return;
    }
    Failed(e, std::string(authorization.status().message()),
           kRetryAfterFailure);
    return;
  }
  e.auth_tries = 0;
  if (r.code >= 200 && r.code < 300) {
    const uint32_t granted =
        GrantedExpiry(r, e.contact, e.state.info.register_expires_seconds);
    if (!e.state.registered) {
      TL_LOG(kInfo, "trunk registered")
          .With("trunk", trunk)
          .With("registrar", e.state.info.registrar_uri)
          .With("expires", granted);
    }
    e.state.registered = granted > 0;
    e.state.expires = stack_->Now() + absl::Seconds(granted);
    e.state.last_error.clear();
    metrics_->TrunkRegistered(trunk, e.state.registered);
    Schedule(e, RefreshAfter(granted));
    return;
  }
  uint32_t retry_after = 0;
  const bool has_retry =
      absl::SimpleAtoi(r.Header("Retry-After"), &retry_after);
  Failed(e,
         absl::StrCat(r.local ? "no answer: " : "refused: ", r.code, " ",
                      r.phrase),
         has_retry ? absl::Seconds(retry_after) : kRetryAfterFailure);
}

void TrunkRegistrar::Failed(Entry& e, const std::string& why,
                            absl::Duration retry) {
  // A registration still running stays usable until it expires.
  if (e.state.registered && stack_->Now() >= e.state.expires) {
    e.state.registered = false;
  }
  TL_LOG(kWarning, "trunk registration failed")
      .With("trunk", e.state.info.name)
      .With("registrar", e.state.info.registrar_uri)
      .With("error", why)
      .With("retry_seconds", absl::ToInt64Seconds(retry));
  e.state.last_error = why;
  e.auth_tries = 0;
  metrics_->TrunkRegistered(e.state.info.name, e.state.registered);
  Schedule(e, retry);
}

void TrunkRegistrar::Schedule(Entry& e, absl::Duration delay) {
  if (!e.state.registered) e.state.expires = stack_->Now() + delay;
  const std::string trunk = e.state.info.name;
  e.timer = stack_->StartTimer(delay, [this, trunk] {
    auto it = trunks_.find(trunk);
    if (it != trunks_.end()) Register(*it->second, {});
  });
}

}  // namespace trunkline::signaling
