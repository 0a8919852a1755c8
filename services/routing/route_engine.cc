#include "services/routing/route_engine.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/topology/defaults.h"
#include "services/common/topology/number_rule.h"
#include "services/routing/trunk_order.h"

namespace trunkline::routing {
namespace {

using Stage = v1::ExplainStep::Stage;

// Reject codes. 403: policy forbids; 404: no route for the number; 503: routes
// exist but no trunk can take the call now (Lync answers the same way).
constexpr uint32_t kForbidden = 403;
constexpr uint32_t kNotFound = 404;
constexpr uint32_t kUnavailable = 503;

std::string Q(absl::string_view s) { return absl::StrCat("\"", s, "\""); }

// Writes the steps of an Explain; does nothing (and formats nothing) for a
// plain Route.
class Trace {
 public:
  explicit Trace(v1::RouteExplanation* explanation) : e_(explanation) {}
  bool on() const { return e_ != nullptr; }
  v1::RouteExplanation* explanation() { return e_; }
  void Step(Stage stage, bool accepted, absl::string_view subject,
            std::string message) {
    v1::ExplainStep* step = e_->add_steps();
    step->set_stage(stage);
    step->set_accepted(accepted);
    step->set_subject(std::string(subject));
    step->set_message(std::move(message));
  }

 private:
  v1::RouteExplanation* e_;
};

bool Contains(const google::protobuf::RepeatedPtrField<std::string>& list,
              absl::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

bool IsNumber(absl::string_view s, bool allow_symbols) {
  if (s.empty() || s.size() > 32) return false;
  size_t i = s[0] == '+' ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (absl::ascii_isdigit(c)) continue;
    if (allow_symbols && (c == '*' || c == '#')) continue;
    return false;
  }
  return true;
}

struct Normalized {
  std::string number;
  const CompiledDialPlan* plan = nullptr;
  int rule = -1;
};

Normalized Normalize(const CompiledDialPlan* plan, const std::string& number) {
  Normalized out{number, plan, -1};
  if (plan == nullptr) return out;
  out.rule = plan->patterns.FirstMatch(number);
  if (out.rule >= 0) {
    plan->rules[out.rule].translation.ExpandMatched(
        plan->patterns.regex(out.rule), number, &out.number);
  }
  return out;
}

void TraceNormalization(Trace& trace, absl::string_view what,
                        const std::string& before, const Normalized& n) {
  if (!trace.on()) return;
  if (n.plan == nullptr) {
    trace.Step(
        v1::ExplainStep::STAGE_NORMALIZATION, false, "",
        absl::StrCat(what, " ", before, ": no dial plan applies; used as is"));
  } else if (n.rule < 0) {
    trace.Step(v1::ExplainStep::STAGE_NORMALIZATION, false,
               n.plan->plan->name(),
               absl::StrCat(what, " ", before, ": no rule of dial plan ",
                            Q(n.plan->plan->name()), " matches; used as is"));
  } else {
    trace.Step(v1::ExplainStep::STAGE_NORMALIZATION, true,
               n.plan->rules[n.rule].name,
               absl::StrCat(what, " ", before, " -> ", n.number, " by rule ",
                            Q(n.plan->rules[n.rule].name), " of dial plan ",
                            Q(n.plan->plan->name())));
  }
}

// Applies the first matching translation rule; returns it, or null when
// none matches (`out` is then the number as is).
const CompiledRule* Translate(const CompiledTranslationRules& rules,
                              const std::string& number, std::string* out) {
  int rule = rules.patterns.FirstMatch(number);
  if (rule < 0) {
    *out = number;
    return nullptr;
  }
  rules.rules[rule].translation.ExpandMatched(rules.patterns.regex(rule),
                                              number, out);
  return &rules.rules[rule];
}

void StripPlus(std::string* number) {
  if (!number->empty() && (*number)[0] == '+') number->erase(0, 1);
}

const v1::TrunkConfiguration& DefaultConfiguration() {
  static const v1::TrunkConfiguration* config = [] {
    auto* c = new v1::TrunkConfiguration();
    ApplyTrunkConfigurationDefaults(c);
    return c;
  }();
  return *config;
}

void FillFailover(const v1::TrunkConfiguration& c, v1::Candidate* candidate) {
  v1::FailoverPlan* f = candidate->mutable_failover();
  *f->mutable_failover_response_codes() = c.failover_response_codes();
  *f->mutable_response_code_translation_rules() =
      c.response_code_translation_rules();
  f->set_fast_failover_seconds(
      c.enable_fast_failover_timer() ? c.fast_failover_seconds() : 0);
}

// SRTP required on one side and not supported on the other cannot bypass.
bool SrtpCompatible(v1::SrtpMode a, v1::SrtpMode b) {
  return !((a == v1::SRTP_MODE_REQUIRED && b == v1::SRTP_MODE_NOT_SUPPORTED) ||
           (b == v1::SRTP_MODE_REQUIRED && a == v1::SRTP_MODE_NOT_SUPPORTED));
}

class Decider {
 public:
  Decider(const RoutingSnapshot& s, const v1::RouteRequest& r,
          v1::RouteDecision* d, v1::RouteExplanation* e)
      : s_(s), req_(r), d_(d), trace_(e) {}

  void Run() {
    d_->set_topology_version(s_.version());
    if (req_.origin().has_trunk()) {
      FromTrunk();
    } else {
      FromUser();
    }
    if (d_->candidates_size() == 0 && !d_->has_reject()) {
      Reject(kNotFound,
             absl::StrCat("no voice route matches ", d_->normalized_callee()));
    }
    if (trace_.on()) {
      if (d_->candidates_size() > 0) {
        std::vector<std::string> names;
        for (const v1::Candidate& c : d_->candidates()) {
          names.push_back(c.trunk().empty() ? c.next_hop().gateway()
                                            : c.trunk());
        }
        trace_.Step(v1::ExplainStep::STAGE_RESULT, true, "",
                    absl::StrCat("try in order: ", absl::StrJoin(names, ", ")));
      } else {
        trace_.Step(v1::ExplainStep::STAGE_RESULT, false, "",
                    absl::StrCat("reject ", d_->reject().sip_code(), ": ",
                                 d_->reject().reason()));
      }
    }
  }

 private:
  void Reject(uint32_t code, std::string reason) {
    d_->mutable_reject()->set_sip_code(code);
    d_->mutable_reject()->set_reason(std::move(reason));
  }

  void SetNormalized(const Normalized& callee) {
    d_->set_normalized_callee(callee.number);
    if (!trace_.on()) return;
    v1::RouteExplanation* e = trace_.explanation();
    e->set_callee_before(req_.callee());
    e->set_callee_after(callee.number);
    if (callee.plan) e->set_dial_plan(callee.plan->plan->name());
    if (callee.rule >= 0) {
      e->set_normalization_rule(callee.plan->rules[callee.rule].name);
    }
  }

  // --- from a UC user ----------------------------------------------------
  void FromUser() {
    const std::string& uri = req_.origin().user_uri();
    const CompiledAssignment* assignment = s_.MatchAssignment(
        req_.policy_caller().empty() ? req_.caller() : req_.policy_caller(),
        uri);
    const CompiledPolicy* compiled_policy =
        assignment ? assignment->policy : s_.global_policy();
    const v1::VoicePolicy* policy =
        compiled_policy ? compiled_policy->policy : nullptr;
    const v1::Pool* pool =
        assignment && assignment->pool ? assignment->pool : RequestPool();
    if (trace_.on()) {
      trace_.Step(
          v1::ExplainStep::STAGE_ORIGIN, true, uri,
          absl::StrCat("from UC user ", uri.empty() ? "(no URI)" : uri,
                       " caller ",
                       req_.caller().empty() ? "(none)" : req_.caller(),
                       req_.policy_caller().empty()
                           ? ""
                           : absl::StrCat(" (policy of transferor ",
                                          req_.policy_caller(), ")"),
                       pool ? absl::StrCat(" at pool ", pool->name()) : ""));
    }
    // User, then pool, then site, then global.
    const CompiledDialPlan* plan =
        assignment && assignment->dial_plan ? assignment->dial_plan : nullptr;
    if (!plan && pool) plan = s_.PoolDialPlan(pool->name());
    if (!plan && pool) plan = s_.SiteDialPlan(pool->site());
    if (!plan) plan = s_.global_dial_plan();
    Normalized callee = Normalize(plan, req_.callee());
    TraceNormalization(trace_, "callee", req_.callee(), callee);
    SetNormalized(callee);
    d_->set_normalized_caller(req_.caller());
    if (s_.IsUcNumber(callee.number)) {
      // The UC platform resolves its own numbers (Lync's reverse number
      // lookup); one that reaches us is unassigned there, and sending it
      // back would loop.
      if (trace_.on()) {
        trace_.Step(v1::ExplainStep::STAGE_POLICY, false, "uc_side",
                    absl::StrCat(callee.number, " belongs to the UC side"));
      }
      Reject(kNotFound, absl::StrCat(callee.number,
                                     " belongs to the UC side and is not "
                                     "assigned there"));
      return;
    }

    if (policy == nullptr) {
      Reject(kForbidden,
             absl::StrCat("caller ", uri.empty() ? req_.caller() : uri,
                          " has no voice policy: no assignment matches and "
                          "there is no global policy"));
      return;
    }
    if (trace_.on()) {
      trace_.explanation()->set_voice_policy(policy->name());
      for (const std::string& u : policy->pstn_usages()) {
        trace_.explanation()->add_pstn_usages(u);
      }
      trace_.Step(
          v1::ExplainStep::STAGE_POLICY, true, policy->name(),
          absl::StrCat(
              "voice policy ", Q(policy->name()),
              assignment ? " (assigned)" : " (global: no assignment matches)",
              ": usages ", absl::StrJoin(policy->pstn_usages(), ", ")));
    }
    if (policy->pstn_usages_size() == 0) {
      Reject(kForbidden, absl::StrCat("voice policy ", Q(policy->name()),
                                      " has no PSTN usages"));
      return;
    }
    CallerId caller_id;
    switch (policy->caller_id().mode()) {
      case v1::CALLER_ID_MODE_ANONYMOUS:
        caller_id.anonymous = true;
        break;
      case v1::CALLER_ID_MODE_SERVICE_NUMBER:
        caller_id.number = policy->caller_id().service_number();
        break;
      default:
        caller_id.number = req_.caller();
    }
    const v1::SrtpMode caller_srtp = s_.uc_next_hops().empty()
                                         ? v1::SRTP_MODE_REQUIRED
                                         : s_.uc_next_hops()[0]->srtp_mode();
    WalkUsages(compiled_policy->usages, callee.number, caller_id, caller_srtp,
               /*caller_bypass=*/true);
  }

  const v1::Pool* RequestPool() const {
    if (!req_.pool().empty()) return s_.FindPool(req_.pool());
    return s_.topology().pools_size() ? &s_.topology().pools(0) : nullptr;
  }

  // --- from a trunk --------------------------------------------------------
  void FromTrunk() {
    const CompiledTrunk* origin = s_.FindTrunk(req_.origin().trunk());
    origin_ = origin;
    if (trace_.on()) {
      trace_.Step(
          v1::ExplainStep::STAGE_ORIGIN, true, origin->trunk->name(),
          absl::StrCat("from trunk ", Q(origin->trunk->name()), " (gateway ",
                       origin->gateway->name(), ") caller ", req_.caller()));
    }
    const CompiledDialPlan* plan =
        origin->dial_plan ? origin->dial_plan : s_.global_dial_plan();
    Normalized callee = Normalize(plan, req_.callee());
    TraceNormalization(trace_, "callee", req_.callee(), callee);
    Normalized caller = Normalize(plan, req_.caller());
    TraceNormalization(trace_, "caller", req_.caller(), caller);
    SetNormalized(callee);
    d_->set_normalized_caller(caller.number);
    if (!origin->trunk->enabled()) {
      Reject(kUnavailable,
             absl::StrCat("trunk ", Q(origin->trunk->name()), " is disabled"));
      return;
    }
    const v1::TrunkConfiguration& config = *origin->configuration;
    if (config.session_timer().enabled()) {
      *d_->mutable_origin_session_timer() = config.session_timer();
    }
    if (s_.IsUcNumber(callee.number)) {
      if (trace_.on()) {
        trace_.Step(v1::ExplainStep::STAGE_POLICY, true, "uc_side",
                    absl::StrCat(callee.number, " belongs to the UC side"));
      }
      ToUcSide(callee.number, caller.number, config);
      return;
    }
    if (trace_.on()) {
      for (const std::string& u : config.pstn_usages()) {
        trace_.explanation()->add_pstn_usages(u);
      }
      trace_.Step(
          v1::ExplainStep::STAGE_POLICY, config.pstn_usages_size() > 0,
          config.name(),
          absl::StrCat(callee.number,
                       " is not a UC number; inter-trunk "
                       "routing with the usages of trunk configuration ",
                       Q(config.name()), ": ",
                       config.pstn_usages_size()
                           ? absl::StrJoin(config.pstn_usages(), ", ")
                           : "(none)"));
    }
    if (config.pstn_usages_size() == 0) {
      Reject(kNotFound,
             absl::StrCat(callee.number, " is not a UC number and trunk ",
                          Q(origin->trunk->name()),
                          " has no PSTN usages for inter-trunk routing"));
      return;
    }
    CallerId caller_id;
    caller_id.number = caller.number;
    WalkUsages(origin->compiled_configuration->usages, callee.number, caller_id,
               config.srtp_mode(), config.enable_bypass());
  }

  void ToUcSide(const std::string& callee, const std::string& caller,
                const v1::TrunkConfiguration& origin_config) {
    d_->set_to_uc_side(true);
    const auto& hops = s_.uc_next_hops();
    std::vector<WeightedItem> items;
    for (size_t i = 0; i < hops.size(); ++i) {
      items.push_back({hops[i]->priority(), hops[i]->weight(),
                       StableHash(hops[i]->gateway()), static_cast<int>(i)});
    }
    for (int i : OrderByPriorityAndWeight(items, CallHash())) {
      const v1::UcNextHop& hop = *hops[i];
      if (Contains(req_.down_trunks(), hop.gateway())) {
        if (trace_.on()) {
          trace_.Step(v1::ExplainStep::STAGE_TRUNK, false, hop.gateway(),
                      absl::StrCat("UC next hop ", Q(hop.gateway()),
                                   " skipped: reported down"));
        }
        continue;
      }
      const v1::Gateway* gw = s_.FindGateway(hop.gateway());
      const v1::Pool* pool = s_.FindPool(hop.pool());
      const v1::Listener* listener =
          pool ? s_.FindListener(*pool, hop.listener()) : nullptr;
      v1::Candidate* c = d_->add_candidates();
      FillNextHop(*gw, pool, listener, listener ? listener->port() : 0,
                  gw->port(), gw->transport(), c->mutable_next_hop());
      c->set_called_number(callee);
      c->set_calling_number(caller);
      c->mutable_headers()->set_forward_p_asserted_identity(true);
      c->mutable_headers()->set_forward_call_history(true);
      c->mutable_headers()->set_forward_location(true);
      v1::MediaPlan* m = c->mutable_media();
      m->set_caller_srtp(origin_config.srtp_mode());
      m->set_callee_srtp(hop.srtp_mode());
      m->set_anchor(
          !(origin_config.enable_bypass() &&
            SrtpCompatible(origin_config.srtp_mode(), hop.srtp_mode())));
      // The UC leg: RTP silence there ends the call too; RTCP is the
      // trunk's setting, for the trunk's leg (FillCallerSide).
      m->set_media_timeout_seconds(origin_config.media_timeout_seconds());
      FillCallerSide(m);
      FillFailover(DefaultConfiguration(), c);
      c->set_refer_mode(origin_config.refer_mode());
      *c->mutable_session_timer() = origin_config.session_timer();
      if (trace_.on()) {
        trace_.Step(
            v1::ExplainStep::STAGE_TRUNK, true, hop.gateway(),
            absl::StrCat("UC next hop ", Q(hop.gateway()), " (priority ",
                         hop.priority(), ", weight ", hop.weight(), ")"));
      }
    }
    if (d_->candidates_size() == 0) {
      Reject(hops.empty() ? kNotFound : kUnavailable,
             hops.empty() ? "the topology has no UC next hop"
                          : "every UC next hop is down");
    }
  }

  // --- usages, routes, trunks ------------------------------------------
  struct CallerId {
    std::string number;
    bool anonymous = false;
  };

  void WalkUsages(const std::vector<const CompiledUsage*>& usages,
                  const std::string& callee, const CallerId& caller_id,
                  v1::SrtpMode caller_srtp, bool caller_bypass) {
    // One pass over every route pattern of the topology, then the matches
    // are walked usage by usage in the policy's order.
    thread_local std::vector<const CompiledRoute*> matched;
    thread_local std::vector<std::pair<int, const CompiledRoute*>> in_usage;
    s_.MatchRoutes(callee, &matched);
    bool any_route = false;
    for (const CompiledUsage* usage : usages) {
      in_usage.clear();
      for (const CompiledRoute* route : matched) {
        for (const CompiledRoute::Membership& m : route->memberships) {
          if (m.usage == usage) in_usage.emplace_back(m.position, route);
        }
      }
      std::sort(in_usage.begin(), in_usage.end());
      if (trace_.on()) TraceUnmatched(*usage, in_usage.size(), callee);
      for (const auto& [position, route_ptr] : in_usage) {
        const CompiledRoute& route = *route_ptr;
        const int exception = route.exceptions.FirstMatch(callee);
        if (exception >= 0) {
          if (trace_.on()) {
            trace_.Step(
                v1::ExplainStep::STAGE_ROUTE, false, route.route->name(),
                absl::StrCat("usage ", Q(usage->name), ": route ",
                             Q(route.route->name()), " matches but exception ",
                             Q(route.route->exceptions(exception)),
                             " excludes ", callee));
          }
          continue;
        }
        any_route = true;
        if (trace_.on()) {
          trace_.Step(
              v1::ExplainStep::STAGE_ROUTE, true, route.route->name(),
              absl::StrCat("usage ", Q(usage->name), ": route ",
                           Q(route.route->name()), " matches ", callee,
                           " (pattern ", route.route->number_pattern(), ")"));
        }
        AddRouteTrunks(usage->name, route, callee, caller_id, caller_srtp,
                       caller_bypass);
      }
    }
    if (d_->candidates_size() > 0) return;
    if (any_route) {
      Reject(kUnavailable,
             absl::StrCat("routes match ", callee,
                          " but every trunk is down, full, disabled or outside "
                          "the route's sites"));
    } else {
      Reject(kNotFound, absl::StrCat("no voice route in usages ",
                                     absl::StrJoin(usages, ", ",
                                                   [](std::string* out,
                                                      const CompiledUsage* u) {
                                                     out->append(u->name);
                                                   }),
                                     " matches ", callee));
    }
  }

  // Says which routes of a usage did not match: by name when there are few,
  // in one summary line for a usage of a large topology.
  static constexpr size_t kListedUnmatched = 20;
  void TraceUnmatched(const CompiledUsage& usage, size_t matched,
                      const std::string& callee) {
    if (usage.routes.empty()) {
      trace_.Step(v1::ExplainStep::STAGE_ROUTE, false, usage.name,
                  absl::StrCat("usage ", Q(usage.name), " has no routes"));
      return;
    }
    const size_t unmatched = usage.routes.size() - matched;
    if (unmatched > kListedUnmatched) {
      trace_.Step(
          v1::ExplainStep::STAGE_ROUTE, false, usage.name,
          absl::StrCat("usage ", Q(usage.name), ": ", unmatched, " of ",
                       usage.routes.size(), " routes do not match ", callee));
      return;
    }
    // Explain only: a second pass is fine here.
    std::vector<const CompiledRoute*> matched_routes;
    s_.MatchRoutes(callee, &matched_routes);
    for (const CompiledRoute* route : usage.routes) {
      if (std::find(matched_routes.begin(), matched_routes.end(), route) !=
          matched_routes.end()) {
        continue;
      }
      trace_.Step(v1::ExplainStep::STAGE_ROUTE, false, route->route->name(),
                  absl::StrCat("usage ", Q(usage.name), ": route ",
                               Q(route->route->name()), " pattern ",
                               route->route->number_pattern(),
                               " does not match ", callee));
    }
  }

  // Why trunk `t` of `route` cannot take the call, or "" when it can. Only
  // the cheap tests of Skipped() run for a trunk that is taken.
  bool Skipped(const CompiledRoute& route, const CompiledTrunk& t) const {
    if (&t == origin_ || !t.enabled) return true;
    for (const CompiledTrunk* chosen : chosen_) {
      if (chosen == &t) return true;
    }
    return !req_.down_trunks().empty() || !req_.full_trunks().empty() ||
           route.has_allowed_sites;  // SkipReason decides
  }
  std::string SkipReason(const CompiledRoute& route, const CompiledTrunk& t) {
    const std::string& name = t.trunk->name();
    for (const CompiledTrunk* chosen : chosen_) {
      if (chosen == &t) return "already a candidate";
    }
    if (origin_ == &t) return "it is the trunk the call came from";
    if (!t.enabled) return "disabled";
    if (Contains(req_.down_trunks(), name)) return "reported down";
    if (Contains(req_.full_trunks(), name))
      return "at its concurrent-call limit";
    if (route.route->allowed_sites_size() > 0 &&
        !Contains(route.route->allowed_sites(), t.site)) {
      return absl::StrCat("at site ", t.site.empty() ? "(none)" : t.site,
                          ", outside the route's sites ",
                          absl::StrJoin(route.route->allowed_sites(), ", "));
    }
    return "";
  }

  void AddRouteTrunks(const std::string& usage, const CompiledRoute& route,
                      const std::string& callee, const CallerId& caller_id,
                      v1::SrtpMode caller_srtp, bool caller_bypass) {
    absl::InlinedVector<WeightedItem, 8> items;
    for (size_t i = 0; i < route.trunks.size(); ++i) {
      const CompiledRoute::Trunk& rt = route.trunks[i];
      items.push_back(
          {rt.priority, rt.weight, rt.trunk->identity, static_cast<int>(i)});
    }
    TrunkOrder order;
    OrderByPriorityAndWeight(absl::MakeConstSpan(items), CallHash(), &order);
    for (int i : order) {
      const CompiledRoute::Trunk& rt = route.trunks[i];
      const CompiledTrunk& t = *rt.trunk;
      std::string skip;
      if (Skipped(route, t)) skip = SkipReason(route, t);
      if (!skip.empty()) {
        if (trace_.on()) {
          trace_.Step(
              v1::ExplainStep::STAGE_TRUNK, false, t.trunk->name(),
              absl::StrCat("trunk ", Q(t.trunk->name()), " skipped: ", skip));
        }
        continue;
      }
      if (trace_.on()) {
        trace_.Step(v1::ExplainStep::STAGE_TRUNK, true, t.trunk->name(),
                    absl::StrCat("trunk ", Q(t.trunk->name()), " (priority ",
                                 rt.priority, ", weight ", rt.weight,
                                 ") via route ", Q(route.route->name())));
      }
      AddTrunkCandidate(usage, route, t, callee, caller_id, caller_srtp,
                        caller_bypass);
    }
  }

  void AddTrunkCandidate(const std::string& usage, const CompiledRoute& route,
                         const CompiledTrunk& t, const std::string& callee,
                         const CallerId& caller, v1::SrtpMode caller_srtp,
                         bool caller_bypass) {
    const v1::TrunkConfiguration& config = *t.configuration;
    chosen_.push_back(&t);
    v1::Candidate* c = d_->add_candidates();
    c->set_trunk(t.trunk->name());
    c->set_route(route.route->name());
    c->set_pstn_usage(usage);
    FillNextHop(*t.gateway, t.pool, t.listener, t.trunk->local_port(),
                t.trunk->remote_port(), t.trunk->transport(),
                c->mutable_next_hop());

    const bool suppress = route.route->suppress_caller_id();
    const bool anonymous = suppress ? route.route->alternate_caller_id().empty()
                                    : caller.anonymous;
    const std::string& caller_number =
        suppress ? route.route->alternate_caller_id() : caller.number;
    const CompiledConfiguration& rules = *t.compiled_configuration;
    const CompiledRule* called_rule =
        Memoized(rules.called_rules, callee, c->mutable_called_number());
    if (config.remove_plus_from_uri()) StripPlus(c->mutable_called_number());
    const CompiledRule* calling_rule = nullptr;
    if (anonymous) {
      c->set_calling_number("anonymous");
      c->mutable_headers()->set_anonymous(true);
    } else {
      calling_rule = Memoized(rules.calling_rules, caller_number,
                              c->mutable_calling_number());
      if (config.remove_plus_from_uri()) {
        StripPlus(c->mutable_calling_number());
      }
    }
    if (trace_.on()) {
      trace_.Step(v1::ExplainStep::STAGE_TRANSLATION, true, t.trunk->name(),
                  absl::StrCat(
                      "to ", Q(t.trunk->name()), ": called ", callee, " -> ",
                      c->called_number(),
                      called_rule == nullptr
                          ? ""
                          : absl::StrCat(" (rule ", Q(called_rule->name), ")"),
                      ", calling ", anonymous ? "anonymous" : caller_number,
                      " -> ", c->calling_number(),
                      calling_rule == nullptr
                          ? ""
                          : absl::StrCat(" (rule ", Q(calling_rule->name), ")"),
                      config.remove_plus_from_uri() ? ", \"+\" removed" : ""));
    }
    c->mutable_headers()->set_forward_p_asserted_identity(
        config.forward_p_asserted_identity());
    c->mutable_headers()->set_forward_call_history(
        config.forward_call_history());
    c->mutable_headers()->set_forward_location(config.enable_pidf_lo_support());
    v1::MediaPlan* m = c->mutable_media();
    m->set_caller_srtp(caller_srtp);
    m->set_callee_srtp(config.srtp_mode());
    m->set_anchor(!(caller_bypass && config.enable_bypass() &&
                    SrtpCompatible(caller_srtp, config.srtp_mode())));
    m->set_callee_latching(config.enable_rtp_latching());
    m->set_callee_strict_source(config.strict_media_source());
    m->set_callee_rtcp_mux(config.rtcp_mux());
    m->set_media_timeout_seconds(config.media_timeout_seconds());
    m->set_rtcp_active_calls(config.rtcp_active_calls());
    m->set_rtcp_calls_on_hold(config.rtcp_calls_on_hold());
    FillCallerSide(m);
    FillFailover(config, c);
    c->mutable_limits()->set_max_concurrent_calls(
        config.max_concurrent_calls());
    c->mutable_limits()->set_max_early_dialogs(config.max_early_dialogs());
    c->set_refer_mode(config.refer_mode());
    *c->mutable_session_timer() = config.session_timer();
    // An empty string is the default: setting one would still allocate.
    if (!config.credentials().empty()) c->set_credentials(config.credentials());
  }

  // For a call from a trunk, its leg's media settings from its trunk
  // configuration, and the address of its listener towards it.
  void FillCallerSide(v1::MediaPlan* m) const {
    if (origin_ == nullptr) return;
    const v1::TrunkConfiguration& config = *origin_->configuration;
    m->set_caller_latching(config.enable_rtp_latching());
    m->set_caller_strict_source(config.strict_media_source());
    m->set_caller_rtcp_mux(config.rtcp_mux());
    m->set_caller_media_timeout_seconds(config.media_timeout_seconds());
    m->set_caller_rtcp_active_calls(config.rtcp_active_calls());
    m->set_caller_rtcp_calls_on_hold(config.rtcp_calls_on_hold());
    if (origin_->listener != nullptr &&
        !origin_->listener->advertised_address().empty()) {
      m->set_caller_advertised_address(origin_->listener->advertised_address());
    }
  }

  static void FillNextHop(const v1::Gateway& gw, const v1::Pool* pool,
                          const v1::Listener* listener, uint32_t local_port,
                          uint32_t remote_port, v1::Transport transport,
                          v1::NextHop* hop) {
    hop->set_gateway(gw.name());
    hop->set_host(gw.address().empty() ? gw.fqdn() : gw.address());
    hop->set_port(remote_port);  // 0 with dnsSrv: the records give it
    hop->set_transport(transport);
    if (gw.dns_srv()) hop->set_dns_srv(true);
    if (transport == v1::TRANSPORT_TLS && gw.tls().sips_uri()) {
      hop->set_sips(true);
    }
    if (pool) hop->set_pool(pool->name());
    if (listener) {
      hop->set_listener(listener->name());
      if (!listener->advertised_address().empty()) {
        hop->set_advertised_address(listener->advertised_address());
      }
    }
    hop->set_local_port(local_port);
  }

  // Candidates that share a trunk configuration translate the same numbers
  // the same way; capture matching is the costliest regex work of a
  // decision, so a decision remembers its last few translations.
  const CompiledRule* Memoized(const CompiledTranslationRules& rules,
                               const std::string& number, std::string* out) {
    if (rules.patterns.empty()) {
      *out = number;
      return nullptr;
    }
    for (int i = 0; i < memo_count_; ++i) {
      const Memo& m = memos_[i];
      if (m.rules == &rules && m.input == number) {
        *out = m.output;
        return m.rule;
      }
    }
    Memo& memo = memos_[memo_count_ < kMemos ? memo_count_++ : 0];
    memo.rules = &rules;
    memo.input = number;
    memo.rule = Translate(rules, number, &memo.output);
    *out = memo.output;
    return memo.rule;
  }
  struct Memo {
    const CompiledTranslationRules* rules = nullptr;
    std::string input, output;
    const CompiledRule* rule = nullptr;
  };
  static constexpr int kMemos = 4;
  Memo memos_[kMemos];
  int memo_count_ = 0;

  uint64_t CallHash() {
    if (!call_hash_set_) {
      call_hash_ = StableHash(req_.call_id());
      call_hash_set_ = true;
    }
    return call_hash_;
  }

  const RoutingSnapshot& s_;
  const v1::RouteRequest& req_;
  v1::RouteDecision* d_;
  Trace trace_;
  const CompiledTrunk* origin_ = nullptr;
  // Trunks already made candidates of this decision.
  absl::InlinedVector<const CompiledTrunk*, 8> chosen_;
  uint64_t call_hash_ = 0;
  bool call_hash_set_ = false;
};

}  // namespace

absl::Status ValidateRouteRequest(const RoutingSnapshot& snapshot,
                                  const v1::RouteRequest& request) {
  if (request.call_id().empty()) {
    return absl::InvalidArgumentError(
        "call_id: required (the Call-ID of the "
        "incoming leg)");
  }
  if (request.callee().empty()) {
    return absl::InvalidArgumentError("callee: required (the dialed number)");
  }
  if (!IsNumber(request.callee(), /*allow_symbols=*/true)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "callee: \"", request.callee(),
        "\" is not a number (digits, an optional leading +, * and #)"));
  }
  const bool from_trunk = request.origin().has_trunk();
  if (from_trunk && request.caller().empty()) {
    return absl::InvalidArgumentError(
        "caller: required for a call from a trunk");
  }
  if (!request.caller().empty() &&
      !IsNumber(request.caller(), /*allow_symbols=*/false) &&
      request.caller() != "anonymous") {
    return absl::InvalidArgumentError(absl::StrCat(
        "caller: \"", request.caller(),
        "\" is not a number (digits with an optional leading +, or "
        "\"anonymous\")"));
  }
  if (!request.policy_caller().empty() &&
      !IsNumber(request.policy_caller(), /*allow_symbols=*/false)) {
    return absl::InvalidArgumentError(
        absl::StrCat("policy_caller: \"", request.policy_caller(),
                     "\" is not a number (digits with an optional leading +)"));
  }
  if (from_trunk && snapshot.FindTrunk(request.origin().trunk()) == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "origin.trunk: no trunk named \"", request.origin().trunk(),
        "\" in topology ", snapshot.version()));
  }
  if (!from_trunk && request.origin().user_uri().empty() &&
      request.caller().empty()) {
    return absl::InvalidArgumentError(
        "origin: give origin.trunk, or origin.user_uri and/or caller for a UC "
        "user");
  }
  if (!request.pool().empty() && snapshot.FindPool(request.pool()) == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("pool: no pool named \"", request.pool(), "\""));
  }
  return absl::OkStatus();
}

absl::Status Decide(const RoutingSnapshot& snapshot,
                    const v1::RouteRequest& request,
                    v1::RouteDecision* decision,
                    v1::RouteExplanation* explanation) {
  absl::Status valid = ValidateRouteRequest(snapshot, request);
  if (!valid.ok()) return valid;
  Decider(snapshot, request, decision, explanation).Run();
  return absl::OkStatus();
}

}  // namespace trunkline::routing
