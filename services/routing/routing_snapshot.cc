#include "services/routing/routing_snapshot.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/common/status_macros.h"
#include "services/common/topology/defaults.h"
#include "services/common/topology/number_rule.h"
#include "services/routing/trunk_order.h"

namespace trunkline::routing {
namespace {

absl::StatusOr<PreparedTranslation> PrepareTranslation(
    const RE2& pattern, const std::string& translation,
    const std::string& what) {
  absl::StatusOr<PreparedTranslation> prepared =
      PreparedTranslation::Prepare(pattern, translation);
  if (!prepared.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": pattern \"", pattern.pattern(), "\", translation \"",
        translation, "\": ", prepared.status().message()));
  }
  return prepared;
}

}  // namespace

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

  for (const v1::DialPlan& dp : t.dial_plans()) {
    auto compiled = std::make_unique<CompiledDialPlan>();
    compiled->plan = &dp;
    std::vector<std::string> patterns;
    for (const v1::NormalizationRule& rule : dp.normalization_rules()) {
      patterns.push_back(rule.pattern());
    }
    const std::string what = absl::StrCat("dial plan \"", dp.name(), "\"");
    RETURN_IF_ERROR(compiled->patterns.Build(patterns, what));
    for (int i = 0; i < dp.normalization_rules_size(); ++i) {
      const v1::NormalizationRule& rule = dp.normalization_rules(i);
      ASSIGN_OR_RETURN(PreparedTranslation translation,
                       PrepareTranslation(compiled->patterns.regex(i),
                                          rule.translation(), what));
      compiled->rules.push_back(
          {rule.name(), std::move(translation), rule.is_internal_extension()});
    }
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

  for (const v1::PstnUsage& usage : t.pstn_usages()) {
    auto compiled = std::make_unique<CompiledUsage>();
    compiled->name = usage.name();
    usages_[usage.name()] = std::move(compiled);
  }
  auto usage_list = [this](const auto& names) {
    std::vector<const CompiledUsage*> out;
    for (const std::string& name : names) out.push_back(usages_.at(name).get());
    return out;
  };
  for (const v1::VoicePolicy& vp : t.voice_policies()) {
    auto compiled = std::make_unique<CompiledPolicy>();
    compiled->policy = &vp;
    compiled->usages = usage_list(vp.pstn_usages());
    if (vp.name() == kGlobalName) global_policy_ = compiled.get();
    policies_[vp.name()] = std::move(compiled);
  }
  auto compile_rules = [](const auto& rules, CompiledTranslationRules* out,
                          const std::string& what) -> absl::Status {
    std::vector<std::string> patterns;
    for (const v1::TranslationRule& rule : rules) {
      patterns.push_back(rule.pattern());
    }
    RETURN_IF_ERROR(out->patterns.Build(patterns, what));
    int i = 0;
    for (const v1::TranslationRule& rule : rules) {
      ASSIGN_OR_RETURN(PreparedTranslation translation,
                       PrepareTranslation(out->patterns.regex(i++),
                                          rule.translation(), what));
      out->rules.push_back({rule.name(), std::move(translation), false});
    }
    return absl::OkStatus();
  };
  for (const v1::TrunkConfiguration& c : t.trunk_configurations()) {
    auto compiled = std::make_unique<CompiledConfiguration>();
    compiled->configuration = &c;
    const std::string what =
        absl::StrCat("trunk configuration \"", c.name(), "\"");
    RETURN_IF_ERROR(compile_rules(c.outbound_called_number_rules(),
                                  &compiled->called_rules, what));
    RETURN_IF_ERROR(compile_rules(c.outbound_calling_number_rules(),
                                  &compiled->calling_rules, what));
    compiled->usages = usage_list(c.pstn_usages());
    configurations_[c.name()] = std::move(compiled);
  }
  for (const v1::Trunk& trunk : t.trunks()) {
    auto compiled = std::make_unique<CompiledTrunk>();
    compiled->trunk = &trunk;
    compiled->gateway = gateways_.at(trunk.gateway());
    compiled->pool = pools_.at(trunk.pool());
    compiled->listener = FindListener(*compiled->pool, trunk.listener());
    compiled->compiled_configuration =
        configurations_.at(trunk.configuration()).get();
    compiled->configuration = compiled->compiled_configuration->configuration;
    compiled->dial_plan =
        trunk.dial_plan().empty() ? nullptr : FindDialPlan(trunk.dial_plan());
    compiled->site = compiled->gateway->site().empty()
                         ? compiled->pool->site()
                         : compiled->gateway->site();
    compiled->identity = StableHash(trunk.name());
    compiled->enabled = trunk.enabled();
    trunks_[trunk.name()] = std::move(compiled);
  }

  std::vector<std::string> route_patterns;
  for (const v1::VoiceRoute& route : t.voice_routes()) {
    auto compiled = std::make_unique<CompiledRoute>();
    compiled->route = &route;
    std::vector<std::string> exceptions(route.exceptions().begin(),
                                        route.exceptions().end());
    RETURN_IF_ERROR(compiled->exceptions.Build(
        exceptions, absl::StrCat("voice route \"", route.name(), "\"")));
    for (const v1::RouteTrunk& rt : route.trunks()) {
      compiled->trunks.push_back(
          {trunks_.at(rt.trunk()).get(), rt.priority(), rt.weight()});
    }
    compiled->has_allowed_sites = route.allowed_sites_size() > 0;
    for (const std::string& usage : route.pstn_usages()) {
      usages_.at(usage)->routes.push_back(compiled.get());
    }
    route_patterns.push_back(route.number_pattern());
    routes_.push_back(std::move(compiled));
  }
  RETURN_IF_ERROR(route_patterns_.Build(route_patterns, "voice routes"));
  for (auto& [name, usage] : usages_) {
    // Stable: equal priorities keep the file's order.
    std::stable_sort(usage->routes.begin(), usage->routes.end(),
                     [](const CompiledRoute* a, const CompiledRoute* b) {
                       return a->route->priority() < b->route->priority();
                     });
    for (size_t i = 0; i < usage->routes.size(); ++i) {
      const_cast<CompiledRoute*>(usage->routes[i])
          ->memberships.push_back({usage.get(), static_cast<int>(i)});
    }
  }

  for (const v1::PolicyAssignment& pa : t.policy_assignments()) {
    CompiledAssignment compiled;
    compiled.assignment = &pa;
    if (!pa.number_pattern().empty()) {
      compiled.number =
          std::make_unique<RE2>(pa.number_pattern(), TopologyRe2Options());
    }
    if (!pa.uri_pattern().empty()) {
      compiled.uri =
          std::make_unique<RE2>(pa.uri_pattern(), TopologyRe2Options());
    }
    compiled.policy = policies_.at(pa.voice_policy()).get();
    compiled.dial_plan =
        pa.dial_plan().empty() ? nullptr : FindDialPlan(pa.dial_plan());
    compiled.pool = pa.pool().empty() ? nullptr : pools_.at(pa.pool());
    assignments_.push_back(std::move(compiled));
  }
  std::vector<std::string> numbers, uris;
  for (size_t i = 0; i < assignments_.size(); ++i) {
    const v1::PolicyAssignment& pa = *assignments_[i].assignment;
    if (!pa.number_pattern().empty()) {
      numbers.push_back(pa.number_pattern());
      assignment_number_owner_.push_back(static_cast<int>(i));
    }
    if (!pa.uri_pattern().empty()) {
      uris.push_back(pa.uri_pattern());
      assignment_uri_owner_.push_back(static_cast<int>(i));
    }
  }
  RETURN_IF_ERROR(assignment_numbers_.Build(numbers, "policy assignments"));
  RETURN_IF_ERROR(assignment_uris_.Build(uris, "policy assignments"));

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
const CompiledPolicy* RoutingSnapshot::FindPolicy(
    absl::string_view name) const {
  auto it = policies_.find(name);
  return it == policies_.end() ? nullptr : it->second.get();
}

void RoutingSnapshot::MatchRoutes(
    absl::string_view number, std::vector<const CompiledRoute*>* routes) const {
  thread_local std::vector<int> matches;
  route_patterns_.MatchAll(number, &matches);
  routes->clear();
  for (int m : matches) routes->push_back(routes_[m].get());
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

const CompiledAssignment* RoutingSnapshot::MatchAssignment(
    absl::string_view number, absl::string_view uri) const {
  if (assignments_.empty()) return nullptr;
  thread_local std::vector<int> matches;
  thread_local std::vector<char> number_ok, uri_ok;
  number_ok.assign(assignments_.size(), 0);
  uri_ok.assign(assignments_.size(), 0);
  assignment_numbers_.MatchAll(number, &matches);
  for (int m : matches) number_ok[assignment_number_owner_[m]] = 1;
  assignment_uris_.MatchAll(uri, &matches);
  for (int m : matches) uri_ok[assignment_uri_owner_[m]] = 1;
  for (size_t i = 0; i < assignments_.size(); ++i) {
    const CompiledAssignment& a = assignments_[i];
    if ((a.number == nullptr || number_ok[i]) &&
        (a.uri == nullptr || uri_ok[i])) {
      return &a;
    }
  }
  return nullptr;
}

}  // namespace trunkline::routing
