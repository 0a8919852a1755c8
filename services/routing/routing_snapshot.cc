#include "services/routing/routing_snapshot.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/common/status_macros.h"
#include "services/common/topology/defaults.h"
#include "services/common/topology/number_rule.h"
#include "services/routing/trunk_order.h"

namespace trunkline::routing {
namespace {

re2::StringPiece Piece(absl::string_view s) {
  return re2::StringPiece(s.data(), s.size());
}

// A budget per RE2::Set big enough for thousands of number patterns; when a
// DFA still runs out, matching falls back to trying each pattern (correct,
// slower) rather than failing the call.
constexpr int64_t kSetMaxMem = 64 << 20;

}  // namespace

absl::Status PatternSet::Build(const std::vector<std::string>& patterns,
                               absl::string_view what) {
  RE2::Options options = TopologyRe2Options();
  options.set_max_mem(kSetMaxMem);
  set_ = std::make_unique<RE2::Set>(options, RE2::ANCHOR_BOTH);
  for (const std::string& pattern : patterns) {
    auto re = std::make_unique<RE2>(pattern, TopologyRe2Options());
    if (!re->ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": pattern \"", pattern, "\": ", re->error()));
    }
    std::string error;
    if (set_->Add(Piece(pattern), &error) < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": pattern \"", pattern, "\": ", error));
    }
    regexes_.push_back(std::move(re));
  }
  if (!regexes_.empty() && !set_->Compile()) {
    return absl::ResourceExhaustedError(
        absl::StrCat(what, ": the patterns together exceed RE2's memory budget"));
  }
  return absl::OkStatus();
}

void PatternSet::MatchAll(absl::string_view text,
                          std::vector<int>* matches) const {
  matches->clear();
  if (regexes_.empty()) return;
  RE2::Set::ErrorInfo info;
  if (!set_->Match(Piece(text), matches, &info) &&
      info.kind != RE2::Set::kNoError) {
    // Out of DFA memory: try each pattern. Still linear per pattern.
    matches->clear();
    for (size_t i = 0; i < regexes_.size(); ++i) {
      if (RE2::FullMatch(Piece(text), *regexes_[i])) {
        matches->push_back(static_cast<int>(i));
      }
    }
  }
  std::sort(matches->begin(), matches->end());
}

int PatternSet::FirstMatch(absl::string_view text) const {
  if (regexes_.empty()) return -1;
  thread_local std::vector<int> matches;
  MatchAll(text, &matches);
  return matches.empty() ? -1 : matches.front();
}

absl::StatusOr<std::shared_ptr<const RoutingSnapshot>> RoutingSnapshot::Build(
    std::shared_ptr<const LoadedTopology> topology) {
  auto snapshot = std::shared_ptr<RoutingSnapshot>(new RoutingSnapshot());
  snapshot->topology_ = std::move(topology);
  RETURN_IF_ERROR(snapshot->Compile());
  return std::shared_ptr<const RoutingSnapshot>(std::move(snapshot));
}

absl::Status RoutingSnapshot::Compile() {
  const v1::Topology& t = topology_->topology;
  for (const v1::Pool& pool : t.pools()) pools_[pool.name()] = &pool;
  for (const v1::Gateway& gw : t.gateways()) gateways_[gw.name()] = &gw;
  for (const v1::VoicePolicy& vp : t.voice_policies()) {
    policies_[vp.name()] = &vp;
    if (vp.name() == kGlobalName) global_policy_ = &vp;
  }

  for (const v1::DialPlan& dp : t.dial_plans()) {
    auto compiled = std::make_unique<CompiledDialPlan>();
    compiled->plan = &dp;
    std::vector<std::string> patterns;
    for (const v1::NormalizationRule& rule : dp.normalization_rules()) {
      patterns.push_back(rule.pattern());
      compiled->rules.push_back(
          {rule.name(), rule.translation(), rule.is_internal_extension()});
    }
    RETURN_IF_ERROR(compiled->patterns.Build(
        patterns, absl::StrCat("dial plan \"", dp.name(), "\"")));
    switch (dp.scope()) {
      case v1::DIAL_PLAN_SCOPE_GLOBAL:
        if (global_dial_plan_ == nullptr) global_dial_plan_ = compiled.get();
        break;
      case v1::DIAL_PLAN_SCOPE_SITE:
        site_dial_plans_.emplace(dp.target(), compiled.get());
        break;
      case v1::DIAL_PLAN_SCOPE_POOL:
        pool_dial_plans_.emplace(dp.target(), compiled.get());
        break;
      default:
        break;
    }
    dial_plans_[dp.name()] = std::move(compiled);
  }

  absl::flat_hash_map<std::string, const v1::TrunkConfiguration*> configs;
  for (const v1::TrunkConfiguration& c : t.trunk_configurations()) {
    configs[c.name()] = &c;
  }
  auto compile_rules = [](const auto& rules, CompiledTranslationRules* out,
                          const std::string& what) {
    std::vector<std::string> patterns;
    for (const v1::TranslationRule& rule : rules) {
      patterns.push_back(rule.pattern());
      out->rules.push_back({rule.name(), rule.translation(), false});
    }
    return out->patterns.Build(patterns, what);
  };
  for (const v1::Trunk& trunk : t.trunks()) {
    auto compiled = std::make_unique<CompiledTrunk>();
    compiled->trunk = &trunk;
    compiled->gateway = gateways_.at(trunk.gateway());
    compiled->pool = pools_.at(trunk.pool());
    compiled->listener = FindListener(*compiled->pool, trunk.listener());
    compiled->configuration = configs.at(trunk.configuration());
    compiled->dial_plan =
        trunk.dial_plan().empty() ? nullptr : FindDialPlan(trunk.dial_plan());
    compiled->site = compiled->gateway->site().empty() ? compiled->pool->site()
                                                       : compiled->gateway->site();
    compiled->identity = StableHash(trunk.name());
    const std::string what = absl::StrCat("trunk \"", trunk.name(), "\"");
    RETURN_IF_ERROR(compile_rules(
        compiled->configuration->outbound_called_number_rules(),
        &compiled->called_rules, what));
    RETURN_IF_ERROR(compile_rules(
        compiled->configuration->outbound_calling_number_rules(),
        &compiled->calling_rules, what));
    trunks_[trunk.name()] = std::move(compiled);
  }

  for (const v1::PstnUsage& usage : t.pstn_usages()) {
    auto compiled = std::make_unique<CompiledUsage>();
    compiled->name = usage.name();
    usages_[usage.name()] = std::move(compiled);
  }
  for (const v1::VoiceRoute& route : t.voice_routes()) {
    auto compiled = std::make_unique<CompiledRoute>();
    compiled->route = &route;
    std::vector<std::string> exceptions(route.exceptions().begin(),
                                        route.exceptions().end());
    RETURN_IF_ERROR(compiled->exceptions.Build(
        exceptions, absl::StrCat("voice route \"", route.name(), "\"")));
    for (const v1::RouteTrunk& rt : route.trunks()) {
      compiled->trunks.push_back(trunks_.at(rt.trunk()).get());
    }
    for (const std::string& usage : route.pstn_usages()) {
      usages_.at(usage)->routes.push_back(compiled.get());
    }
    routes_[route.name()] = std::move(compiled);
  }
  for (auto& [name, usage] : usages_) {
    // Stable: equal priorities keep the file's order.
    std::stable_sort(usage->routes.begin(), usage->routes.end(),
                     [](const CompiledRoute* a, const CompiledRoute* b) {
                       return a->route->priority() < b->route->priority();
                     });
    std::vector<std::string> patterns;
    for (const CompiledRoute* r : usage->routes) {
      patterns.push_back(r->route->number_pattern());
    }
    RETURN_IF_ERROR(usage->route_patterns.Build(
        patterns, absl::StrCat("PSTN usage \"", name, "\"")));
  }

  for (const v1::PolicyAssignment& pa : t.policy_assignments()) {
    CompiledAssignment compiled;
    compiled.assignment = &pa;
    if (!pa.number_pattern().empty()) {
      compiled.number = std::make_unique<RE2>(pa.number_pattern(), TopologyRe2Options());
    }
    if (!pa.uri_pattern().empty()) {
      compiled.uri = std::make_unique<RE2>(pa.uri_pattern(), TopologyRe2Options());
    }
    compiled.policy = policies_.at(pa.voice_policy());
    compiled.dial_plan =
        pa.dial_plan().empty() ? nullptr : FindDialPlan(pa.dial_plan());
    compiled.pool = pa.pool().empty() ? nullptr : pools_.at(pa.pool());
    assignments_.push_back(std::move(compiled));
  }

  std::vector<std::string> uc_patterns;
  for (const v1::NumberRange& range : t.uc_side().number_ranges()) {
    if (!range.pattern().empty()) {
      uc_patterns.push_back(range.pattern());
    } else {
      uc_ranges_.push_back({range.first(), range.last()});
    }
  }
  RETURN_IF_ERROR(uc_patterns_.Build(uc_patterns, "UC number ranges"));
  for (const v1::UcNextHop& hop : t.uc_side().next_hops()) {
    uc_next_hops_.push_back(&hop);
  }
  return absl::OkStatus();
}

const CompiledTrunk* RoutingSnapshot::FindTrunk(absl::string_view name) const {
  auto it = trunks_.find(name);
  return it == trunks_.end() ? nullptr : it->second.get();
}
const CompiledUsage* RoutingSnapshot::FindUsage(absl::string_view name) const {
  auto it = usages_.find(name);
  return it == usages_.end() ? nullptr : it->second.get();
}
const CompiledDialPlan* RoutingSnapshot::FindDialPlan(
    absl::string_view name) const {
  auto it = dial_plans_.find(name);
  return it == dial_plans_.end() ? nullptr : it->second.get();
}
const v1::VoicePolicy* RoutingSnapshot::FindPolicy(absl::string_view name) const {
  auto it = policies_.find(name);
  return it == policies_.end() ? nullptr : it->second;
}
const v1::Pool* RoutingSnapshot::FindPool(absl::string_view name) const {
  auto it = pools_.find(name);
  return it == pools_.end() ? nullptr : it->second;
}
const v1::Gateway* RoutingSnapshot::FindGateway(absl::string_view name) const {
  auto it = gateways_.find(name);
  return it == gateways_.end() ? nullptr : it->second;
}
const v1::Listener* RoutingSnapshot::FindListener(
    const v1::Pool& pool, absl::string_view name) const {
  for (const v1::Listener& l : pool.listeners()) {
    if (l.name() == name) return &l;
  }
  return pool.listeners_size() ? &pool.listeners(0) : nullptr;
}
const CompiledDialPlan* RoutingSnapshot::SiteDialPlan(
    absl::string_view site) const {
  auto it = site_dial_plans_.find(site);
  return it == site_dial_plans_.end() ? nullptr : it->second;
}
const CompiledDialPlan* RoutingSnapshot::PoolDialPlan(
    absl::string_view pool) const {
  auto it = pool_dial_plans_.find(pool);
  return it == pool_dial_plans_.end() ? nullptr : it->second;
}

bool RoutingSnapshot::IsUcNumber(absl::string_view number) const {
  for (const UcNumberRange& range : uc_ranges_) {
    if (number.size() == range.first.size() && number >= range.first &&
        number <= range.last) {
      return true;
    }
  }
  return uc_patterns_.FirstMatch(number) >= 0;
}

}  // namespace trunkline::routing
