#include "services/signaling/gateway_monitor.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "services/common/log.h"
#include "services/signaling/call_plan.h"

namespace trunkline::signaling {

struct GatewayMonitor::Entry {
  TrunkState state;
  std::unique_ptr<Timer> timer;
  std::unique_ptr<ClientTransaction> probe;
  absl::Time probe_sent;
  // The operator's choice, when one was made (it outlives reloads).
  std::optional<bool> operator_enabled;
};

GatewayMonitor::GatewayMonitor(SipStack* stack, SignalingMetrics* metrics)
    : stack_(stack), metrics_(metrics) {}

GatewayMonitor::~GatewayMonitor() = default;

void GatewayMonitor::SetTrunks(const std::vector<TrunkInfo>& trunks) {
  std::map<std::string, std::unique_ptr<Entry>> next;
  order_.clear();
  for (const TrunkInfo& info : trunks) {
    order_.push_back(info.name);
    auto it = trunks_.find(info.name);
    if (it != trunks_.end() && it->second->state.info == info) {
      next[info.name] = std::move(it->second);
      continue;
    }
    auto e = std::make_unique<Entry>();
    if (it != trunks_.end()) e->operator_enabled = it->second->operator_enabled;
    e->state.info = info;
    e->state.enabled = e->operator_enabled.value_or(info.enabled);
    e->state.since = stack_->Now();
    next[info.name] = std::move(e);
  }
  // Entries dropped here cancel their timers and abandon their probes; their
  // series go (those still watched are published again just below).
  for (const auto& [name, old] : trunks_) {
    if (old != nullptr)
      metrics_->ForgetGateway(MetricTrunk(old->state.info),
                              old->state.info.gateway);
  }
  trunks_ = std::move(next);
  for (const std::string& name : order_) {
    Entry& e = *trunks_[name];
    Publish(e);
    if (e.state.info.keepalive && e.timer == nullptr && e.probe == nullptr) {
      Probe(name);
    }
  }
}

bool GatewayMonitor::SetEnabled(const std::string& trunk, bool enabled) {
  auto it = trunks_.find(trunk);
  if (it == trunks_.end()) return false;
  Entry& e = *it->second;
  e.operator_enabled = enabled;
  if (e.state.enabled != enabled) {
    e.state.enabled = enabled;
    e.state.since = stack_->Now();
    TL_LOG(kInfo, enabled ? "trunk enabled" : "trunk disabled (draining)")
        .With("trunk", trunk);
  }
  return true;
}

std::vector<std::string> GatewayMonitor::DownTrunks() const {
  std::vector<std::string> down;
  for (const std::string& name : order_) {
    const TrunkState& s = trunks_.at(name)->state;
    if (!s.up || !s.enabled) down.push_back(name);
  }
  return down;
}

const GatewayMonitor::TrunkState* GatewayMonitor::Find(
    const std::string& trunk) const {
  auto it = trunks_.find(trunk);
  return it == trunks_.end() ? nullptr : &it->second->state;
}

std::vector<const GatewayMonitor::TrunkState*> GatewayMonitor::All() const {
  std::vector<const TrunkState*> all;
  for (const std::string& name : order_)
    all.push_back(&trunks_.at(name)->state);
  return all;
}

void GatewayMonitor::Probe(const std::string& trunk) {
  Entry& e = *trunks_.at(trunk);
  // The previous probe is still unanswered a whole interval later: that is a
  // miss, whatever the transaction layer's own (longer) timeout says.
  if (e.probe != nullptr) {
    e.probe.reset();
    Miss(e, "no answer within the interval");
  }
  const TrunkInfo& t = e.state.info;
  OutgoingRequest r;
  r.method = "OPTIONS";
  const std::string scheme = UriScheme(t.sips);
  r.request_uri = absl::StrCat(scheme, UriHostPort(t.host, t.port));
  r.to = absl::StrCat("<", r.request_uri, ">");
  r.from = absl::StrCat("<", scheme, "trunkline@", UriHost(t.advertised), ">");
  r.contact = OurContact(t.advertised, t.local_port, t.transport, t.sips);
  r.next_hop_host = t.host;
  r.tls_name = t.tls_name;
  r.next_hop_port = t.port;
  r.transport = t.transport;
  r.local_port = t.local_port;
  e.probe_sent = stack_->Now();
  e.probe = stack_->SendRequest(r, [this, trunk](const SipResponse& response) {
    OnFinal(trunk, response);
  });
  e.timer = stack_->StartTimer(absl::Seconds(t.interval_seconds),
                               [this, trunk] { Probe(trunk); });
}

void GatewayMonitor::OnFinal(const std::string& trunk,
                             const SipResponse& response) {
  auto it = trunks_.find(trunk);
  if (it == trunks_.end()) return;
  Entry& e = *it->second;
  // Not reset here: the stack is still inside this transaction's callback;
  // the handle goes with the next probe (a completed one is not a miss).
  std::unique_ptr<ClientTransaction> done = std::move(e.probe);
  stack_->Post([done = std::shared_ptr<ClientTransaction>(std::move(done))] {});
  if (response.local || response.code == 503) {
    // Our own 408 or 503: timeout or transport error (ICMP unreachable...);
    // or the gateway's 503: alive but taking no calls (overloaded, out of
    // channels, draining), which a dispatcher also takes as down.
    Miss(e, absl::StrCat(response.code, " ", response.phrase,
                         response.local ? "" : " (from the gateway)"));
    return;
  }
  e.state.consecutive_misses = 0;
  e.state.rtt_seconds = absl::ToDoubleSeconds(stack_->Now() - e.probe_sent);
  if (!e.state.up) {
    e.state.up = true;
    e.state.since = stack_->Now();
    TL_LOG(kInfo, "gateway up: it answers OPTIONS again")
        .With("trunk", trunk)
        .With("gateway", e.state.info.gateway)
        .With("code", response.code);
  }
  Publish(e);
}

void GatewayMonitor::Miss(Entry& e, const std::string& why) {
  ++e.state.consecutive_misses;
  if (e.state.up && e.state.consecutive_misses >=
                        static_cast<int>(e.state.info.down_threshold)) {
    e.state.up = false;
    e.state.since = stack_->Now();
    TL_LOG(kWarning, "gateway down: OPTIONS keepalive missed")
        .With("trunk", e.state.info.name)
        .With("gateway", e.state.info.gateway)
        .With("misses", e.state.consecutive_misses)
        .With("last", why);
  }
  Publish(e);
}

std::string GatewayMonitor::MetricTrunk(const TrunkInfo& info) {
  // A UC-side next hop is no trunk: its series say so.
  return info.uc_side ? "uc-side" : info.name;
}

void GatewayMonitor::Publish(const Entry& e) {
  metrics_->GatewayState(MetricTrunk(e.state.info), e.state.info.gateway,
                         e.state.up, e.state.rtt_seconds);
}

}  // namespace trunkline::signaling
