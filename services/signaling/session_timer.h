// RFC 4028 session timers for one leg of a call, as the rules: what our
// INVITE asks for, what a 422 or a 2xx means, what we answer to a peer's
// INVITE, and when the next refresh (or the deadline for the peer's) is.
// The B2BUA keeps one per trunk leg and runs its timers; this class only
// decides, so it is tested without a stack.
#ifndef TRUNKLINE_SERVICES_SIGNALING_SESSION_TIMER_H_
#define TRUNKLINE_SERVICES_SIGNALING_SESSION_TIMER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "services/signaling/sip_stack.h"
#include "trunkline/v1/topology.pb.h"

namespace trunkline::signaling {

// A Session-Expires value: "1800;refresher=uac".
struct SessionExpires {
  uint32_t seconds = 0;
  std::string refresher;  // "uac", "uas" or "" (not said)
};
std::optional<SessionExpires> ParseSessionExpires(const std::string& value);

class SessionTimer {
 public:
  // `settings` from the trunk configuration (defaults applied here: 1800 s,
  // Min-SE 90 s, refresher negotiate). The leg's role shows in which of the
  // calls below it makes: InviteHeaders/On422/OnAnswer when we sent the
  // INVITE on it, OnInvite/AnswerHeaders when we received it.
  explicit SessionTimer(const v1::SessionTimer& settings);

  // --- our INVITE ---
  // Supported: timer, Session-Expires (with refresher=uac when we want to
  // refresh) and Min-SE.
  HeaderList InviteHeaders() const;
  // A 422 from the peer: raise our interval to its Min-SE. False when it
  // has none or asks for less than we already offered (no retry).
  bool On422(const SipResponse& response);
  // The 2xx: the session timer runs when it carries Session-Expires; who
  // refreshes is what it says (uac: us).
  void OnAnswer(const SipResponse& response);

  // --- a peer's INVITE ---
  // 422 with our Min-SE when its Session-Expires is below it; else nothing
  // and the timer is set up from the request.
  std::optional<SipResponse> OnInvite(const std::string& session_expires,
                                      const std::string& min_se,
                                      bool peer_supports_timer);
  // Headers for our 2xx to it, and to the peer's re-INVITEs and UPDATEs
  // on the leg (whichever side sent the INVITE): Session-Expires with the
  // refresher (uac: the peer), and Require: timer when the peer supports
  // it or refreshes.
  HeaderList AnswerHeaders() const;

  // --- once running ---
  bool active() const { return active_; }
  bool we_refresh() const { return we_refresh_; }
  uint32_t interval_seconds() const { return interval_; }
  // When we send the next refresh: half the interval (RFC 4028 7.4).
  absl::Duration RefreshAfter() const;
  // How long to wait for the peer's refresh before ending the session:
  // the interval minus min(32 s, a third of it) (RFC 4028 10).
  absl::Duration ExpireAfter() const;
  // Headers of a refresh we send (UPDATE): Session-Expires naming us (the
  // refresh's UAC).
  HeaderList RefreshHeaders() const;

 private:
  uint32_t wanted_;  // Session-Expires we ask for
  uint32_t min_se_;  // the least we accept
  v1::SessionRefresher preference_;
  bool active_ = false;
  bool we_refresh_ = false;
  uint32_t interval_ = 0;
  bool peer_supports_ = false;
};

}  // namespace trunkline::signaling

#endif  // TRUNKLINE_SERVICES_SIGNALING_SESSION_TIMER_H_
