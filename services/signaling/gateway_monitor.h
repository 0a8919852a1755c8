// The state of this pool's trunks: whether each trunk's gateway answers the
// OPTIONS keepalive, and whether an operator has disabled the trunk.
//
// Per trunk with keepalive enabled, an OPTIONS goes to the gateway every
// intervalSeconds from the trunk's own socket. A probe that gets no final
// response before the next one is due, or fails with a timeout or transport
// error, is a miss; downThreshold consecutive misses mark the gateway down.
// Any final response from the gateway, even 4xx/5xx, proves it alive (as
// Lync and Teams treat it) and brings it up again at once.
//
// Down and disabled trunks are passed to routing with every Route request
// (RouteRequest.down_trunks), so new calls avoid them; active calls go on.
// The UC side's next hops are watched the same way when ucSide.keepalive
// says so (PeerDirectory::monitored), under their gateway's name, which is
// how routing skips a next hop reported down.
// Runs on the SIP loop thread only, like the B2BUA.
#ifndef TRUNKLINE_SERVICES_SIGNALING_GATEWAY_MONITOR_H_
#define TRUNKLINE_SERVICES_SIGNALING_GATEWAY_MONITOR_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "services/signaling/peer_directory.h"
#include "services/signaling/signaling_metrics.h"
#include "services/signaling/sip_stack.h"

namespace trunkline::signaling {

class GatewayMonitor {
 public:
  // What the admin API shows of one trunk.
  struct TrunkState {
    TrunkInfo info;
    bool up = true;          // the gateway answers (or is not probed)
    bool enabled = true;     // not disabled by an operator
    double rtt_seconds = 0;  // last OPTIONS round trip; 0 before any
    absl::Time since;        // last change of up/enabled
    int consecutive_misses = 0;
  };

  GatewayMonitor(SipStack* stack, SignalingMetrics* metrics);
  ~GatewayMonitor();

  // The pool's trunks from a new topology. Trunks whose settings did not
  // change keep their state and their probe schedule; new or changed ones
  // start up and are probed at once; removed ones stop. An operator's
  // enable/disable survives a reload.
  void SetTrunks(const std::vector<TrunkInfo>& trunks);
  // Disables (drain: no new calls) or enables a trunk. False if unknown.
  bool SetEnabled(const std::string& trunk, bool enabled);

  // Trunks routing must skip: gateway down, or disabled.
  std::vector<std::string> DownTrunks() const;
  const TrunkState* Find(const std::string& trunk) const;
  std::vector<const TrunkState*> All() const;

 private:
  struct Entry;
  void Probe(const std::string& trunk);
  void OnFinal(const std::string& trunk, const SipResponse& response);
  void Miss(Entry& e, const std::string& why);
  void Publish(const Entry& e);
  // The `trunk` label of a watched gateway's series.
  static std::string MetricTrunk(const TrunkInfo& info);

  SipStack* stack_;
  SignalingMetrics* metrics_;
  std::vector<std::string> order_;  // topology order, for listings
  std::map<std::string, std::unique_ptr<Entry>> trunks_;
};

}  // namespace trunkline::signaling

#endif  // TRUNKLINE_SERVICES_SIGNALING_GATEWAY_MONITOR_H_
