// The back-to-back user agent: for every INVITE from a trusted peer it asks
// routing where the call goes, then tries the candidates in order on a new
// leg each, relays provisional and final responses, ACK, BYE and CANCEL
// between the two legs, and fails over on the candidate's failover plan.
//
// Plain C++ over the SipStack seam: the unit tests drive it with a fake
// stack, routing client and media controller. Single-threaded: everything
// runs on the stack's loop thread, which owns every call (no locks).
#ifndef TRUNKLINE_SERVICES_SIGNALING_B2BUA_H_
#define TRUNKLINE_SERVICES_SIGNALING_B2BUA_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/signaling/gateway_monitor.h"
#include "services/signaling/media_controller.h"
#include "services/signaling/peer_directory.h"
#include "services/signaling/routing_client.h"
#include "services/signaling/signaling_metrics.h"
#include "services/signaling/sip_stack.h"
#include "services/signaling/sip_trace.h"
#include "trunkline/v1/admin.pb.h"

namespace trunkline::signaling {

class B2bua final : public InviteHandler {
 public:
  B2bua(SipStack* stack, RoutingClient* routing, MediaController* media,
        SignalingMetrics* metrics);
  ~B2bua() override;

  // A new topology's peers (trust) for this pool.
  void SetPeers(std::shared_ptr<const PeerDirectory> peers);
  // Down and disabled trunks, passed to routing with every request. May be
  // null (no keepalive).
  void SetGatewayMonitor(const GatewayMonitor* monitor) { monitor_ = monitor; }
  // While draining, new calls get 503 with Retry-After; active calls go on.
  void SetDraining(bool draining) { draining_ = draining; }
  size_t active_calls() const { return calls_.size(); }
  // active_calls() for other threads (the node status): what the loop last
  // stored, without touching the calls.
  uint32_t published_active_calls() const {
    return published_calls_.load(std::memory_order_relaxed);
  }
  // Calls in progress on `trunk` (from our INVITE to the end).
  int CallsOnTrunk(const std::string& trunk) const;

  // What the admin API shows of a trunk's traffic since start.
  struct TrunkCounters {
    uint64_t attempts = 0;  // INVITEs sent to it
    uint64_t answered = 0;  // 2xx received from it
    // "response_503", "timeout", "transport", "fast_failover", "media",
    // "full": why calls moved on from it.
    std::map<std::string, uint64_t> failovers_by_reason;
  };
  TrunkCounters CountersFor(const std::string& trunk) const;
  // The concurrent-call limit routing last gave for `trunk` (0: none/unknown).
  uint32_t LimitFor(const std::string& trunk) const;

  // The call and trunk that a Call-ID of either leg belongs to, for the SIP
  // trace; calls that ended recently are still known, so that the last
  // BYE's 200 is traced with its call. Without a call, a trunk gateway's
  // address names the trunk.
  std::optional<TraceTag> TraceTagFor(const std::string& call_id,
                                      const std::string& peer_address) const;

  // The admin API's view (loop thread only, like everything here).
  std::vector<v1::CallSummary> ListCalls(
      const v1::ListCallsRequest& filter) const;
  // NOT_FOUND for a call id that is not in progress.
  absl::StatusOr<v1::CallDetail> GetCall(const std::string& call_id) const;
  absl::Status Hangup(const std::string& call_id, const std::string& reason);
  // Ends every call as Hangup does (the end of a drain).
  void EndAll(const std::string& reason);

  // A media event (loop thread): an RTP or RTCP timeout ends its call.
  void OnMediaEvent(const v1::MediaEvent& event);

  void OnInvite(const IncomingRequest& request,
                std::unique_ptr<ServerLeg> leg) override;
  SipResponse OnRequest(const IncomingRequest& request) override;

 private:
  class Call;
  friend class Call;

  // RFC 3261 8.2's checks, in its order, for a request from a trusted peer:
  // an unknown method (501), a Request-URI scheme we do not serve (416), a
  // Require we do not support (420), and for INVITE a body we cannot read
  // (415) or an Accept we cannot answer (406). The response, or nothing.
  std::optional<SipResponse> Refuse(const IncomingRequest& request) const;

  // Called by a call that is over; it is destroyed on the next loop turn,
  // never inside the stack callback that ended it.
  void Finished(uint64_t id);
  Call* FindCall(const std::string& call_id) const;
  void Occupy(const std::string& trunk, uint32_t limit);
  void Release(const std::string& trunk);
  bool IsFull(const std::string& trunk) const;

  // A leg's Call-ID belongs to call `id` (trace).
  void IndexLeg(const std::string& leg_call_id, uint64_t id);

  SipStack* stack_;
  RoutingClient* routing_;
  MediaController* media_;
  SignalingMetrics* metrics_;
  std::shared_ptr<const PeerDirectory> peers_;
  const GatewayMonitor* monitor_ = nullptr;
  bool draining_ = false;
  uint64_t next_id_ = 1;
  std::map<uint64_t, std::unique_ptr<Call>> calls_;
  std::map<std::string, int> trunk_calls_;
  // Each trunk's concurrent-call limit as routing last told us (0: none), so
  // the next Route request can name the trunks that are full.
  std::map<std::string, uint32_t> trunk_limits_;
  std::map<std::string, TrunkCounters> counters_;
  // Every live leg's Call-ID -> its call; and the legs of calls that ended
  // lately (bounded, oldest forgotten first).
  std::map<std::string, uint64_t> leg_calls_;
  std::map<std::string, TraceTag> ended_legs_;
  std::deque<std::string> ended_order_;
  // Client nonces of digest answers, and the Call-IDs and tags of hidden
  // Replaces.
  absl::BitGen random_;
  // The Replaces of REFERs we passed through (attended transfers), as the
  // referee got them: a Call-ID and tags of ours in place of the
  // referrer's dialog's, which the other side must not see. The referee's
  // INVITE brings them back and they are mapped to what the referrer named
  // (HideReplaces, RevealReplaces). Kept for kIssuedReplacesLifetime.
  struct IssuedReplaces {
    std::string to_tag;
    std::string from_tag;
    std::string original;
    absl::Time issued;
  };
  std::map<std::string, IssuedReplaces> issued_replaces_;
  static constexpr absl::Duration kIssuedReplacesLifetime = absl::Minutes(5);
  // Empty when `replaces` names no dialog (no Call-ID or tags).
  std::string HideReplaces(const std::string& replaces);
  // The Replaces an INVITE carries, as its referrer wrote it when it is one
  // we issued; `replaces` itself otherwise.
  std::string RevealReplaces(const std::string& replaces) const;
  // What media events posted to the loop find us through (expired once we
  // are destroyed).
  std::shared_ptr<B2bua*> self_ = std::make_shared<B2bua*>(this);
  // calls_.size(), stored by the loop whenever it changes.
  std::atomic<uint32_t> published_calls_{0};
};

}  // namespace trunkline::signaling

#endif  // TRUNKLINE_SERVICES_SIGNALING_B2BUA_H_
