// Orders the trunks of a route: by priority (lower first), and within a
// priority by weight, deterministically on the Call-ID so that a retry of the
// same call sees the same order while different calls spread by weight.
//
// The weighted order is a weighted random permutation (Efraimidis-Spirakis:
// sort by u^(1/w), u uniform) whose "random" u comes from a hash of the
// Call-ID and the trunk, so no state and no clock are involved.
#ifndef TRUNKLINE_SERVICES_ROUTING_TRUNK_ORDER_H_
#define TRUNKLINE_SERVICES_ROUTING_TRUNK_ORDER_H_

#include <cstdint>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace trunkline::routing {

struct WeightedItem {
  uint32_t priority;
  uint32_t weight;    // 0 is treated as 1
  uint64_t identity;  // stable per item, e.g. a hash of the trunk name
  int index;          // returned in the order chosen
};

// 64-bit FNV-1a: stable across processes and replicas (absl::Hash is not).
uint64_t StableHash(absl::string_view text);

// Returns the `index` of each item in the order to try.
std::vector<int> OrderByPriorityAndWeight(
    const std::vector<WeightedItem>& items, uint64_t call_hash);

// The same into `order` (replaced), allocating nothing for a route's few
// trunks: the form the request path uses.
using TrunkOrder = absl::InlinedVector<int, 8>;
void OrderByPriorityAndWeight(absl::Span<const WeightedItem> items,
                              uint64_t call_hash, TrunkOrder* order);

}  // namespace trunkline::routing

#endif  // TRUNKLINE_SERVICES_ROUTING_TRUNK_ORDER_H_
