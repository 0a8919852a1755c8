// An immutable, compiled form of a topology for routing: every pattern
// compiled once into RE2 (and RE2::Set per PSTN usage and per dial plan, so
// that matching does not try each regex in turn), every reference resolved
// to a pointer. Built off the request path on each (re)load, then shared by
// all request threads through std::shared_ptr<const RoutingSnapshot>.
#ifndef TRUNKLINE_SERVICES_ROUTING_ROUTING_SNAPSHOT_H_
#define TRUNKLINE_SERVICES_ROUTING_ROUTING_SNAPSHOT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "services/common/topology/loader.h"
#include "services/common/topology/number_rule.h"
#include "services/routing/pattern_set.h"

namespace trunkline::routing {

struct CompiledRule {
  std::string name;
  PreparedTranslation translation;  // for the rule's pattern
  bool is_internal_extension = false;
};

struct CompiledDialPlan {
  const v1::DialPlan* plan = nullptr;
  PatternSet patterns;
  std::vector<CompiledRule> rules;  // parallel to patterns
};

struct CompiledTranslationRules {
  PatternSet patterns;
  std::vector<CompiledRule> rules;
};

struct CompiledUsage;

// A trunk configuration's parts that routing runs, shared by its trunks.
struct CompiledConfiguration {
  const v1::TrunkConfiguration* configuration = nullptr;
  CompiledTranslationRules called_rules;
  CompiledTranslationRules calling_rules;
  std::vector<const CompiledUsage*> usages;  // inter-trunk routing
};

struct CompiledTrunk {
  const v1::Trunk* trunk = nullptr;
  const v1::Gateway* gateway = nullptr;
  const v1::Pool* pool = nullptr;
  const v1::Listener* listener = nullptr;
  const v1::TrunkConfiguration* configuration = nullptr;
  const CompiledConfiguration* compiled_configuration = nullptr;
  const CompiledDialPlan* dial_plan = nullptr;  // inbound normalization
  std::string site;                             // gateway's, else pool's
  uint64_t identity = 0;                        // hash of the name
  bool enabled = true;                          // trunk->enabled()
};

// What a decision reads of a matching route sits in this one object (inline
// vectors), not behind the topology's protobuf pointers: with thousands of
// routes, each of those is a cache miss on the request path.
struct CompiledRoute {
  const v1::VoiceRoute* route = nullptr;
  PatternSet exceptions;
  struct Trunk {
    const CompiledTrunk* trunk;
    uint32_t priority;
    uint32_t weight;
  };
  absl::InlinedVector<Trunk, 4> trunks;  // parallel to route->trunks()
  bool has_allowed_sites = false;
  // Where the route sits in each usage it belongs to.
  struct Membership {
    const CompiledUsage* usage;
    int position;  // in usage->routes
  };
  absl::InlinedVector<Membership, 2> memberships;
};

struct CompiledUsage {
  std::string name;
  // Routes of this usage in trial order: priority, then file order.
  std::vector<const CompiledRoute*> routes;
};

struct CompiledPolicy {
  const v1::VoicePolicy* policy = nullptr;
  std::vector<const CompiledUsage*> usages;  // in order
};

struct CompiledAssignment {
  const v1::PolicyAssignment* assignment = nullptr;
  std::unique_ptr<RE2> number;  // null when not set
  std::unique_ptr<RE2> uri;
  const CompiledPolicy* policy = nullptr;
  const CompiledDialPlan* dial_plan = nullptr;
  const v1::Pool* pool = nullptr;
};

struct UcNumberRange {
  std::string first, last;  // same length; compared as strings
};

class RoutingSnapshot {
 public:
  static absl::StatusOr<std::shared_ptr<const RoutingSnapshot>> Build(
      std::shared_ptr<const LoadedTopology> topology);

  const std::string& version() const { return topology_->version; }
  const v1::Topology& topology() const { return topology_->topology; }

  const CompiledTrunk* FindTrunk(absl::string_view name) const;
  const CompiledUsage* FindUsage(absl::string_view name) const;
  const CompiledDialPlan* FindDialPlan(absl::string_view name) const;
  const CompiledPolicy* FindPolicy(absl::string_view name) const;
  const v1::Pool* FindPool(absl::string_view name) const;

  const CompiledDialPlan* global_dial_plan() const { return global_dial_plan_; }
  const CompiledDialPlan* SiteDialPlan(absl::string_view site) const;
  const CompiledDialPlan* PoolDialPlan(absl::string_view pool) const;
  const std::vector<CompiledAssignment>& assignments() const {
    return assignments_;
  }
  // The first policy assignment matching the caller's number and URI, or
  // null. Both pattern lists are matched as RE2::Sets, not one by one.
  const CompiledAssignment* MatchAssignment(absl::string_view number,
                                            absl::string_view uri) const;
  const CompiledPolicy* global_policy() const { return global_policy_; }

  // Every route whose number pattern matches `number` (one RE2::Set pass
  // over all routes of the topology), in no particular order.
  void MatchRoutes(absl::string_view number,
                   std::vector<const CompiledRoute*>* routes) const;

  // True when `number` belongs to the UC side.
  bool IsUcNumber(absl::string_view number) const;
  const std::vector<const v1::UcNextHop*>& uc_next_hops() const {
    return uc_next_hops_;
  }
  const v1::Gateway* FindGateway(absl::string_view name) const;
  const v1::Listener* FindListener(const v1::Pool& pool,
                                   absl::string_view name) const;

 private:
  RoutingSnapshot() = default;
  absl::Status Compile();

  std::shared_ptr<const LoadedTopology> topology_;
  absl::flat_hash_map<std::string, std::unique_ptr<CompiledTrunk>> trunks_;
  std::vector<std::unique_ptr<CompiledRoute>> routes_;  // file order
  PatternSet route_patterns_;                           // parallel to routes_
  absl::flat_hash_map<std::string, std::unique_ptr<CompiledConfiguration>>
      configurations_;
  absl::flat_hash_map<std::string, std::unique_ptr<CompiledUsage>> usages_;
  absl::flat_hash_map<std::string, std::unique_ptr<CompiledDialPlan>>
      dial_plans_;
  absl::flat_hash_map<std::string, std::unique_ptr<CompiledPolicy>> policies_;
  absl::flat_hash_map<std::string, const v1::Pool*> pools_;
  absl::flat_hash_map<std::string, const v1::Gateway*> gateways_;
  absl::flat_hash_map<std::string, const CompiledDialPlan*> site_dial_plans_;
  absl::flat_hash_map<std::string, const CompiledDialPlan*> pool_dial_plans_;
  const CompiledDialPlan* global_dial_plan_ = nullptr;
  std::vector<CompiledAssignment> assignments_;
  PatternSet assignment_numbers_;  // patterns of assignments that have one
  std::vector<int> assignment_number_owner_;  // set index -> assignment
  PatternSet assignment_uris_;
  std::vector<int> assignment_uri_owner_;
  const CompiledPolicy* global_policy_ = nullptr;
  std::vector<UcNumberRange> uc_ranges_;
  PatternSet uc_patterns_;
  std::vector<const v1::UcNextHop*> uc_next_hops_;
};

}  // namespace trunkline::routing

#endif  // TRUNKLINE_SERVICES_ROUTING_ROUTING_SNAPSHOT_H_
