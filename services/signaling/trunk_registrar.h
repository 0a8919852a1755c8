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
// Runs on the SIP loop thread only, like the B2BUA.
#ifndef TRUNKLINE_SERVICES_SIGNALING_TRUNK_REGISTRAR_H_
#define TRUNKLINE_SERVICES_SIGNALING_TRUNK_REGISTRAR_H_

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

  // Retry delay after a failure without Retry-After.
  static constexpr absl::Duration kRetryAfterFailure = absl::Seconds(30);

 private:
  struct Entry;
  void Register(Entry& e, const HeaderList& authorization);
  void OnFinal(const std::string& trunk, const SipResponse& r);
  void Failed(Entry& e, const std::string& why, absl::Duration retry);
  void Schedule(Entry& e, absl::Duration delay);
  // The Authorization answering `r`'s challenge, or why not.
  absl::StatusOr<HeaderList> Answer(Entry& e, const SipResponse& r);

  SipStack* stack_;
  SignalingMetrics* metrics_;
  std::shared_ptr<const PeerDirectory> peers_;
  std::map<std::string, std::unique_ptr<Entry>> trunks_;
  absl::BitGen random_;
};

// What a registrar granted in `r` (a 2xx to our REGISTER): the smallest
// `expires` of the Contacts naming `contact`'s address, else Expires, else
// `asked`.
uint32_t GrantedExpiry(const SipResponse& r, const std::string& contact,
                       uint32_t asked);

}  // namespace trunkline::signaling

#endif  // TRUNKLINE_SERVICES_SIGNALING_TRUNK_REGISTRAR_H_
