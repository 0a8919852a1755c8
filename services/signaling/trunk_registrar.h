// Registration of this pool's ITSP trunks (RFC 3261 section 10), where the
// trunk configuration's `registration` says so.
//
// Per trunk: REGISTER to the registrar URI (sent to the trunk's gateway from
// the trunk's own socket), To and From the address of record, our Contact
// on the trunk's socket, the expiry asked for. A 401/407 is answered with
// the trunk's digest credentials (once, and once more on a stale nonce).
// A 2xx registers the trunk until the expiry the registrar granted (the
// Contact's `expires`, else Expires, else what we asked); we refresh before
// it runs out: 30 s early for long registrations, half-way for short ones.
// A failure, refusal or timeout retries after the registrar's Retry-After,
// else 30 s. Refreshes keep the Call-ID and raise the CSeq by one.
//
// A registration ends with a REGISTER of the same Call-ID and Expires: 0
// (RFC 3261 10.2.2), challenges answered as above, when its trunk leaves
// the topology or registration is turned off for it, and for every trunk
// at shutdown (UnregisterAll): a registrar would otherwise keep sending
// calls to a Contact nobody serves until the binding runs out.
//
// Runs on the SIP loop thread only, like the B2BUA.
#ifndef TRUNKLINE_SERVICES_SIGNALING_TRUNK_REGISTRAR_H_
#define TRUNKLINE_SERVICES_SIGNALING_TRUNK_REGISTRAR_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/time/time.h"
#include "services/signaling/peer_directory.h"
#include "services/signaling/signaling_metrics.h"
#include "services/signaling/sip_stack.h"

namespace trunkline::signaling {

class TrunkRegistrar {
 public:
  struct Registration {
    TrunkInfo info;
    bool registered = false;
    // When the current registration runs out (registered) or the next
    // attempt is due (not registered).
    absl::Time expires;
    // The last failure, for the admin API and logs ("" when none).
    std::string last_error;
  };

  TrunkRegistrar(SipStack* stack, SignalingMetrics* metrics);
  ~TrunkRegistrar();

  // A new topology: trunks whose registration settings did not change keep
  // their registration; new or changed ones register at once; removed ones
  // stop refreshing.
  void SetPeers(std::shared_ptr<const PeerDirectory> peers);

  // The registration of `trunk`, or null when it does not register.
  const Registration* Find(const std::string& trunk) const;

  // Ends every registration and stops refreshing. `done` runs once each
  // registrar has answered its un-REGISTER (or at once when no trunk is
  // registered); a caller that cannot wait destroys the registrar, and
  // `done` is then never called.
  void UnregisterAll(std::function<void()> done);

  // Retry delay after a failure without Retry-After.
  static constexpr absl::Duration kRetryAfterFailure = absl::Seconds(30);

 private:
  struct Entry;
  // A REGISTER for `e`: a refresh, or an un-REGISTER once `e` is leaving.
  void Register(Entry& e, const HeaderList& authorization);
  void OnFinal(const std::string& trunk, const SipResponse& r);
  // `e` un-REGISTERs; it is kept in `leaving_` until its answer (OnLeft).
  void Unregister(std::unique_ptr<Entry> e);
  void OnLeft(Entry* e, const SipResponse& r);
  // The challenge of `r` answered for `e`, counted; or why not.
  absl::StatusOr<HeaderList> CountedAnswer(Entry& e, const SipResponse& r);
  void Failed(Entry& e, const std::string& why, absl::Duration retry);
  void Schedule(Entry& e, absl::Duration delay);
  // The Authorization answering `r`'s challenge, or why not.
  absl::StatusOr<HeaderList> Answer(Entry& e, const SipResponse& r);

  SipStack* stack_;
  SignalingMetrics* metrics_;
  std::shared_ptr<const PeerDirectory> peers_;
  std::map<std::string, std::unique_ptr<Entry>> trunks_;
  std::vector<std::unique_ptr<Entry>> leaving_;
  std::function<void()> all_left_;
  absl::BitGen random_;
};

// What a registrar granted in `r` (a 2xx to our REGISTER): the smallest
// `expires` of the Contacts naming `contact`'s address, else Expires, else
// `asked`.
uint32_t GrantedExpiry(const SipResponse& r, const std::string& contact,
                       uint32_t asked);

}  // namespace trunkline::signaling

#endif  // TRUNKLINE_SERVICES_SIGNALING_TRUNK_REGISTRAR_H_
