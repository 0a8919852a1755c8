#include "services/signaling/session_timer.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace trunkline::signaling {
namespace {

constexpr uint32_t kDefaultExpires = 1800;
constexpr uint32_t kDefaultMinSe = 90;
// RFC 4028 4: Min-SE is never below 90 s.
constexpr uint32_t kFloor = 90;

std::optional<uint32_t> Seconds(absl::string_view value) {
  const std::vector<absl::string_view> parts = absl::StrSplit(value, ';');
  uint32_t s = 0;
  if (parts.empty() ||
      !absl::SimpleAtoi(absl::StripAsciiWhitespace(parts[0]), &s)) {
    return std::nullopt;
  }
  return s;
}

}  // namespace

std::optional<SessionExpires> ParseSessionExpires(const std::string& value) {
  std::optional<uint32_t> seconds = Seconds(value);
  if (!seconds) return std::nullopt;
  SessionExpires out;
  out.seconds = *seconds;
  for (absl::string_view param : absl::StrSplit(value, ';')) {
    param = absl::StripAsciiWhitespace(param);
    if (absl::StartsWithIgnoreCase(param, "refresher=")) {
      out.refresher = absl::AsciiStrToLower(param.substr(10));
    }
  }
  return out;
}

SessionTimer::SessionTimer(const v1::SessionTimer& settings)
    : min_se_(std::max(kFloor, settings.min_se_seconds()
                                   ? settings.min_se_seconds()
                                   : kDefaultMinSe)),
      preference_(settings.refresher()) {
  wanted_ = std::max(min_se_, settings.session_expires_seconds()
                                  ? settings.session_expires_seconds()
                                  : kDefaultExpires);
}

HeaderList SessionTimer::InviteHeaders() const {
  std::string se = absl::StrCat(wanted_);
  // Asking to refresh ourselves; "negotiate" and "remote" leave it to the
  // answerer (RFC 4028 7.1), which "remote" hopes is the peer.
  if (preference_ == v1::SESSION_REFRESHER_LOCAL) {
    absl::StrAppend(&se, ";refresher=uac");
  }
  return {{"Supported", "timer"},
          {"Session-Expires", se},
          {"Min-SE", absl::StrCat(min_se_)}};
}

bool SessionTimer::On422(const SipResponse& response) {
  std::optional<uint32_t> asked = Seconds(response.Header("Min-SE"));
  if (!asked || *asked <= wanted_) return false;
  wanted_ = *asked;
  min_se_ = std::max(min_se_, *asked);
  return true;
}

void SessionTimer::OnAnswer(const SipResponse& response) {
  std::optional<SessionExpires> se =
      ParseSessionExpires(response.Header("Session-Expires"));
  if (!se || se->seconds == 0) {
    active_ = false;  // the peer does not do session timers
    return;
  }
  active_ = true;
  interval_ = se->seconds;
  // The answerer names the refresher; "uac" is us (RFC 4028 7.2).
  we_refresh_ = se->refresher != "uas";
}

std::optional<SipResponse> SessionTimer::OnInvite(
    const std::string& session_expires, const std::string& min_se,
    bool peer_supports_timer) {
  peer_supports_ = peer_supports_timer;
  std::optional<SessionExpires> se = ParseSessionExpires(session_expires);
  if (se && se->seconds > 0 && se->seconds < min_se_) {
    SipResponse r;
    r.code = 422;
    r.phrase = "Session Interval Too Small";
    r.headers = {{"Min-SE", absl::StrCat(min_se_)}};
    return r;
  }
  active_ = true;
  interval_ = se && se->seconds > 0 ? se->seconds : wanted_;
  if (std::optional<uint32_t> theirs = Seconds(min_se)) {
    interval_ = std::max(interval_, *theirs);
  }
  // The peer may refresh only if it supports timers (RFC 4028 9). Else we
  // choose: a refresher the peer asked for is honoured, then our
  // preference.
  if (!peer_supports_timer) {
    we_refresh_ = true;
  } else if (se && se->refresher == "uac") {
    we_refresh_ = false;
  } else if (se && se->refresher == "uas") {
    we_refresh_ = true;
  } else {
    we_refresh_ = preference_ != v1::SESSION_REFRESHER_REMOTE;
  }
  return std::nullopt;
}

HeaderList SessionTimer::AnswerHeaders() const {
  if (!active_) return {};
  HeaderList h = {{"Session-Expires",
                   absl::StrCat(interval_, we_refresh_ ? ";refresher=uas"
                                                       : ";refresher=uac")}};
  // A peer that refreshes supports timers, and a 2xx naming the UAC the
  // refresher must require them (RFC 4028 9).
  if (peer_supports_ || !we_refresh_) h.emplace_back("Require", "timer");
  return h;
}

absl::Duration SessionTimer::RefreshAfter() const {
  return absl::Seconds(interval_) / 2;
}

absl::Duration SessionTimer::ExpireAfter() const {
  const uint32_t margin = std::min<uint32_t>(32, interval_ / 3);
  return absl::Seconds(interval_ - margin);
}

HeaderList SessionTimer::RefreshHeaders() const {
  // In a refresh, "uac" is the sender of that request: us (RFC 4028 9).
  return {{"Session-Expires", absl::StrCat(interval_, ";refresher=uac")}};
}

}  // namespace trunkline::signaling
