#include "services/signaling/signaling_metrics.h"

#include "absl/strings/str_cat.h"

namespace trunkline::signaling {
namespace {

// Post-dial delay: from our INVITE to the first ringing or answer. Buckets
// from LAN gateways (tens of ms) to slow mobile networks (10 s and more).
const prometheus::Histogram::BucketBoundaries& PostDialDelayBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 20};
  return *buckets;
}

// Per-call quality of the audio from a trunk: MOS around the toll-quality
// and "users complain" thresholds, loss and jitter from LAN-clean to bad.
const prometheus::Histogram::BucketBoundaries& MosBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      1.0, 2.0, 2.5, 3.0, 3.5, 3.8, 4.0, 4.2, 4.3, 4.4};
  return *buckets;
}
const prometheus::Histogram::BucketBoundaries& LossBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.0005, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2};
  return *buckets;
}
const prometheus::Histogram::BucketBoundaries& JitterBuckets() {
  static const auto* buckets =
      new prometheus::Histogram::BucketBoundaries{1, 2, 5, 10, 20, 30, 50, 100};
  return *buckets;
}

std::string Label(const std::string& trunk) {
  return trunk.empty() ? "uc-side" : trunk;
}

}  // namespace

SignalingMetrics::SignalingMetrics(prometheus::Registry* registry)
    : received_(prometheus::BuildCounter()
                    .Name("trunkline_signaling_calls_received_total")
                    .Help("Calls taken from a trusted peer and routed")
                    .Register(*registry)),
      attempted_(prometheus::BuildCounter()
                     .Name("trunkline_signaling_calls_attempted_total")
                     .Help("INVITEs sent towards a candidate, by trunk "
                           "(uc-side for the UC next hops)")
                     .Register(*registry)),
      answered_(prometheus::BuildCounter()
                    .Name("trunkline_signaling_calls_answered_total")
                    .Help("Calls answered, by the trunk that answered")
                    .Register(*registry)),
      failed_(prometheus::BuildCounter()
                  .Name("trunkline_signaling_calls_failed_total")
                  .Help("Calls that ended before an answer, by final code "
                        "class sent to the caller")
                  .Register(*registry)),
      active_(prometheus::BuildGauge()
                  .Name("trunkline_signaling_active_calls")
                  .Help("Calls occupying a trunk, from the INVITE sent to "
                        "the end of the call")
                  .Register(*registry)),
      max_concurrent_(prometheus::BuildGauge()
                          .Name("trunkline_signaling_max_concurrent_calls")
                          .Help("The trunk's concurrent-call limit (0: none)")
                          .Register(*registry)),
      failovers_(prometheus::BuildCounter()
                     .Name("trunkline_signaling_failovers_total")
                     .Help("Candidates given up, by trunk and reason")
                     .Register(*registry)),
      untrusted_(prometheus::BuildCounter()
                     .Name("trunkline_signaling_untrusted_requests_total")
                     .Help("Requests refused with 403: not from a "
                           "configured peer")
                     .Register(*registry)),
      post_dial_delay_(
          prometheus::BuildHistogram()
              .Name("trunkline_signaling_post_dial_delay_seconds")
              .Help("From the INVITE we sent to the first 18x or 200")
              .Register(*registry)),
      options_(prometheus::BuildCounter()
                   .Name("trunkline_signaling_options_answered_total")
                   .Help("OPTIONS answered 200")
                   .Register(*registry)
                   .Add({})),
      refused_(prometheus::BuildCounter()
                   .Name("trunkline_signaling_refused_requests_total")
                   .Help("Requests from peers refused before processing "
                         "(501, 416, 420, 415, 406)")
                   .Register(*registry)),
      in_dialog_(prometheus::BuildCounter()
                     .Name("trunkline_signaling_in_dialog_requests_total")
                     .Help("Requests within a call's dialog from either leg "
                           "(re-INVITE, UPDATE, INFO, REFER, NOTIFY)")
                     .Register(*registry)),
      transfers_(prometheus::BuildCounter()
                     .Name("trunkline_signaling_transfers_total")
                     .Help("REFERs carried out by us (trunk referMode "
                           "terminate), by outcome")
                     .Register(*registry)),
      auth_challenges_(
          prometheus::BuildCounter()
              .Name("trunkline_signaling_auth_challenges_total")
              .Help("Digest challenges (401/407) from trunks, by what we did")
              .Register(*registry)),
      registered_(prometheus::BuildGauge()
                      .Name("trunkline_signaling_trunk_registered")
                      .Help("1 while the trunk is registered with its ITSP")
                      .Register(*registry)),
      media_timeouts_(prometheus::BuildCounter()
                          .Name("trunkline_signaling_media_timeouts_total")
                          .Help("Answered calls ended because the relay saw "
                                "no RTP (or RTCP) from one side")
                          .Register(*registry)),
      session_timer_ended_(
          prometheus::BuildCounter()
              .Name("trunkline_signaling_session_timer_ended_total")
              .Help("Answered calls ended by their RFC 4028 session timer")
              .Register(*registry)),
      gateway_up_(prometheus::BuildGauge()
                      .Name("trunkline_signaling_gateway_up")
                      .Help("1 while the trunk's gateway answers OPTIONS")
                      .Register(*registry)),
      options_rtt_(prometheus::BuildGauge()
                       .Name("trunkline_signaling_options_rtt_seconds")
                       .Help("Last OPTIONS keepalive round trip")
                       .Register(*registry)),
      fqdn_addresses_(prometheus::BuildGauge()
                          .Name("trunkline_signaling_gateway_fqdn_addresses")
                          .Help("Addresses requests are taken from for a "
                                "gateway given by FQDN only (0: its name "
                                "never resolved; requests from it get 403)")
                          .Register(*registry)),
      fqdn_resolving_(prometheus::BuildGauge()
                          .Name("trunkline_signaling_gateway_fqdn_resolving")
                          .Help("0 while the last lookup of a gateway's FQDN "
                                "failed (its last addresses, if any, stay "
                                "trusted)")
                          .Register(*registry)),
      routing_answering_(
          prometheus::BuildGauge()
              .Name("trunkline_signaling_routing_answering")
              .Help("0 while routing does not answer and new calls get 503 "
                    "at once")
              .Register(*registry)
              .Add({})),
      trunk_mos_(prometheus::BuildHistogram()
                     .Name("trunkline_signaling_trunk_media_mos")
                     .Help("Estimated MOS of the audio each anchored call got "
                           "from the trunk, as the relay measured it")
                     .Register(*registry)),
      trunk_loss_(prometheus::BuildHistogram()
                      .Name("trunkline_signaling_trunk_media_loss_ratio")
                      .Help("RTP packets lost over expected, per anchored "
                            "call, from the trunk")
                      .Register(*registry)),
      trunk_jitter_(
          prometheus::BuildHistogram()
              .Name("trunkline_signaling_trunk_media_jitter_milliseconds")
              .Help("Worst RFC 3550 jitter per anchored call of the "
                    "audio from the trunk, milliseconds")
              .Register(*registry)) {
  routing_answering_.Set(1);
}

void SignalingMetrics::CallReceived(const std::string& direction) {
  received_.Add({{"direction", direction}}).Increment();
}

void SignalingMetrics::CallAttempted(const std::string& trunk,
                                     const std::string& direction) {
  attempted_.Add({{"trunk", Label(trunk)}, {"direction", direction}})
      .Increment();
}

void SignalingMetrics::CallAnswered(const std::string& trunk,
                                    const std::string& direction, double pdd) {
  answered_.Add({{"trunk", Label(trunk)}, {"direction", direction}})
      .Increment();
  post_dial_delay_
      .Add({{"trunk", Label(trunk)}, {"direction", direction}},
           PostDialDelayBuckets())
      .Observe(pdd);
}

void SignalingMetrics::CallFailed(const std::string& trunk,
                                  const std::string& direction, int code) {
  failed_
      .Add({{"trunk", Label(trunk)},
            {"direction", direction},
            {"sip_class", absl::StrCat(code / 100, "xx")}})
      .Increment();
}

void SignalingMetrics::TrunkCalls(const std::string& trunk,
                                  const std::string& direction, double delta,
                                  uint32_t limit) {
  active_.Add({{"trunk", Label(trunk)}, {"direction", direction}})
      .Increment(delta);
  max_concurrent_.Add({{"trunk", Label(trunk)}}).Set(limit);
}

void SignalingMetrics::Failover(const std::string& trunk,
                                const std::string& reason) {
  failovers_.Add({{"trunk", Label(trunk)}, {"reason", reason}}).Increment();
}

namespace {

// A method as a label: the methods SIP defines, else "other", since the
// method comes off the wire and labels must stay few.
std::string MethodLabel(const std::string& method) {
  static const char* const kMethods[] = {
      "INVITE",   "ACK",       "CANCEL", "BYE",    "OPTIONS",
      "REGISTER", "INFO",      "UPDATE", "PRACK",  "REFER",
      "MESSAGE",  "SUBSCRIBE", "NOTIFY", "PUBLISH"};
  for (const char* m : kMethods) {
    if (method == m) return method;
  }
  return "other";
}

}  // namespace

void SignalingMetrics::Untrusted(const std::string& method) {
  untrusted_.Add({{"method", MethodLabel(method)}}).Increment();
}

void SignalingMetrics::Refused(const std::string& method, int code) {
  refused_
      .Add({{"method", MethodLabel(method)}, {"code", std::to_string(code)}})
      .Increment();
}

void SignalingMetrics::InDialogRequest(const std::string& method) {
  in_dialog_.Add({{"method", MethodLabel(method)}}).Increment();
}

void SignalingMetrics::Transfer(const std::string& trunk,
                                const std::string& outcome) {
  transfers_.Add({{"trunk", trunk}, {"outcome", outcome}}).Increment();
}

void SignalingMetrics::AuthChallenge(const std::string& trunk,
                                     const std::string& result) {
  auth_challenges_.Add({{"trunk", trunk}, {"result", result}}).Increment();
}

void SignalingMetrics::TrunkRegistered(const std::string& trunk,
                                       bool registered) {
  registered_.Add({{"trunk", trunk}}).Set(registered ? 1 : 0);
}

void SignalingMetrics::FqdnAddresses(const std::string& name, size_t addresses,
                                     bool resolving) {
  fqdn_addresses_.Add({{"name", name}}).Set(static_cast<double>(addresses));
  fqdn_resolving_.Add({{"name", name}}).Set(resolving ? 1 : 0);
}

void SignalingMetrics::ForgetFqdn(const std::string& name) {
  const std::map<std::string, std::string> labels = {{"name", name}};
  if (fqdn_addresses_.Has(labels)) {
    fqdn_addresses_.Remove(&fqdn_addresses_.Add(labels));
  }
  if (fqdn_resolving_.Has(labels)) {
    fqdn_resolving_.Remove(&fqdn_resolving_.Add(labels));
  }
}

void SignalingMetrics::RoutingAnswering(bool answering) {
  routing_answering_.Set(answering ? 1 : 0);
}

void SignalingMetrics::TrunkMediaQuality(const std::string& trunk, double mos,
                                         double loss_ratio, double jitter_ms) {
  const prometheus::Labels labels{{"trunk", Label(trunk)}};
  if (mos > 0) trunk_mos_.Add(labels, MosBuckets()).Observe(mos);
  trunk_loss_.Add(labels, LossBuckets()).Observe(loss_ratio);
  trunk_jitter_.Add(labels, JitterBuckets()).Observe(jitter_ms);
}

void SignalingMetrics::MediaTimeout(const std::string& trunk,
                                    const std::string& kind) {
  media_timeouts_.Add({{"trunk", trunk}, {"kind", kind}}).Increment();
}

void SignalingMetrics::SessionTimerEnded(const std::string& trunk,
                                         const std::string& why) {
  session_timer_ended_.Add({{"trunk", trunk}, {"reason", why}}).Increment();
}

void SignalingMetrics::OptionsAnswered() { options_.Increment(); }

void SignalingMetrics::ForgetGateway(const std::string& trunk,
                                     const std::string& gateway) {
  const std::map<std::string, std::string> labels = {{"trunk", trunk},
                                                     {"gateway", gateway}};
  if (gateway_up_.Has(labels)) gateway_up_.Remove(&gateway_up_.Add(labels));
  if (options_rtt_.Has(labels)) options_rtt_.Remove(&options_rtt_.Add(labels));
}

void SignalingMetrics::GatewayState(const std::string& trunk,
                                    const std::string& gateway, bool up,
                                    double rtt_seconds) {
  gateway_up_.Add({{"trunk", trunk}, {"gateway", gateway}}).Set(up ? 1 : 0);
  options_rtt_.Add({{"trunk", trunk}, {"gateway", gateway}}).Set(rtt_seconds);
}

}  // namespace trunkline::signaling
