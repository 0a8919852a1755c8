// Every metric the signaling service exports, declared in one place:
// trunkline_signaling_<what>_<unit>, labelled by trunk, direction and result
// (all low-cardinality: trunks come from the topology).
#ifndef TRUNKLINE_SERVICES_SIGNALING_SIGNALING_METRICS_H_
#define TRUNKLINE_SERVICES_SIGNALING_SIGNALING_METRICS_H_

#include <string>

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace trunkline::signaling {

class SignalingMetrics {
 public:
  explicit SignalingMetrics(prometheus::Registry* registry);

  // direction: "outbound" (UC side to a trunk), "inbound" (a trunk to the UC
  // side) or "inter_trunk".
  // A call taken from a trusted peer and routed.
  void CallReceived(const std::string& direction);
  // An INVITE sent towards a candidate (a trunk, or "" for the UC side).
  void CallAttempted(const std::string& trunk, const std::string& direction);
  void CallAnswered(const std::string& trunk, const std::string& direction,
                    double post_dial_delay_seconds);
  // `code`: the final code sent to the caller; counted by class ("4xx").
  void CallFailed(const std::string& trunk, const std::string& direction,
                  int code);
  // Calls occupying `trunk` (from the INVITE sent to the end), and its
  // concurrent-call limit (0: none).
  void TrunkCalls(const std::string& trunk, const std::string& direction,
                  double delta, uint32_t limit);
  // reason: "response_<code>", "fast_failover", "timeout", "transport",
  // "media".
  void Failover(const std::string& trunk, const std::string& reason);
  // A request from a source that is no configured peer.
  void Untrusted(const std::string& method);
  void OptionsAnswered();
  // A request from a trusted peer refused before processing (RFC 3261 8.2:
  // 501, 416, 420, 415, 406), by method and code.
  void Refused(const std::string& method, int code);
  // A request within a call's dialog (re-INVITE, UPDATE, INFO, REFER, ...)
  // from either leg, by method.
  void InDialogRequest(const std::string& method);
  // A REFER carried out in terminate mode: "completed" or "failed".
  void Transfer(const std::string& trunk, const std::string& outcome);
  // A trunk's 401/407 digest challenge: "answered" (INVITE sent again with
  // our credentials), "refused" (challenged again: wrong credentials),
  // "unanswerable" (no credential, unreadable password, unknown algorithm).
  void AuthChallenge(const std::string& trunk, const std::string& result);
  // 1 while the trunk is registered with its ITSP, 0 while not (only trunks
  // whose configuration registers).
  void TrunkRegistered(const std::string& trunk, bool registered);
  // An answered call ended because media stopped; kind "rtp" or "rtcp".
  void MediaTimeout(const std::string& trunk, const std::string& kind);
  // An answered call ended by its session timer: "expired" (no refresh
  // from the trunk in time) or "refresh_failed" (ours got 408/481/none).
  void SessionTimerEnded(const std::string& trunk, const std::string& why);
  // The OPTIONS keepalive's view of a trunk's gateway: up (1) or down (0),
  // and the last round trip (0 before the first answer).
  // Drops the series of a gateway no longer watched (its trunk left the
  // topology, or its keepalive was turned off): a last 0 left behind would
  // say "down" for ever.
  void ForgetGateway(const std::string& trunk, const std::string& gateway);
  void GatewayState(const std::string& trunk, const std::string& gateway,
                    bool up, double rtt_seconds);
  // 0 while new calls are refused at once because routing does not answer
  // (GrpcRoutingClient); any thread.
  void RoutingAnswering(bool answering);
  // The addresses trusted for gateway FQDN `name` (0: it never resolved)
  // and whether its last lookup succeeded; ForgetFqdn when the topology no
  // longer names it.
  void FqdnAddresses(const std::string& name, size_t addresses, bool resolving);
  void ForgetFqdn(const std::string& name);
  // The audio a trunk sent us over one anchored call, as the relay measured
  // it (estimated MOS, loss ratio, worst jitter): a carrier's quality by
  // trunk. Any thread (the media Delete's answer).
  void TrunkMediaQuality(const std::string& trunk, double mos,
                         double loss_ratio, double jitter_ms);

 private:
  prometheus::Family<prometheus::Counter>& received_;
  prometheus::Family<prometheus::Counter>& attempted_;
  prometheus::Family<prometheus::Counter>& answered_;
  prometheus::Family<prometheus::Counter>& failed_;
  prometheus::Family<prometheus::Gauge>& active_;
  prometheus::Family<prometheus::Gauge>& max_concurrent_;
  prometheus::Family<prometheus::Counter>& failovers_;
  prometheus::Family<prometheus::Counter>& untrusted_;
  prometheus::Family<prometheus::Histogram>& post_dial_delay_;
  prometheus::Counter& options_;
  prometheus::Family<prometheus::Counter>& refused_;
  prometheus::Family<prometheus::Counter>& in_dialog_;
  prometheus::Family<prometheus::Counter>& transfers_;
  prometheus::Family<prometheus::Counter>& auth_challenges_;
  prometheus::Family<prometheus::Gauge>& registered_;
  prometheus::Family<prometheus::Counter>& media_timeouts_;
  prometheus::Family<prometheus::Counter>& session_timer_ended_;
  prometheus::Family<prometheus::Gauge>& gateway_up_;
  prometheus::Family<prometheus::Gauge>& options_rtt_;
  prometheus::Family<prometheus::Gauge>& fqdn_addresses_;
  prometheus::Family<prometheus::Gauge>& fqdn_resolving_;
  prometheus::Gauge& routing_answering_;
  prometheus::Family<prometheus::Histogram>& trunk_mos_;
  prometheus::Family<prometheus::Histogram>& trunk_loss_;
  prometheus::Family<prometheus::Histogram>& trunk_jitter_;
};

}  // namespace trunkline::signaling

#endif  // TRUNKLINE_SERVICES_SIGNALING_SIGNALING_METRICS_H_
