#include "services/routing/trunk_order.h"

#include <algorithm>
#include <cmath>

namespace trunkline::routing {
namespace {

// SplitMix64 finalizer: spreads the bits of a combined hash evenly.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

uint64_t StableHash(absl::string_view text) {
  uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a 64 offset basis
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

void OrderByPriorityAndWeight(absl::Span<const WeightedItem> items,
                              uint64_t call_hash, TrunkOrder* order) {
  struct Keyed {
    uint32_t priority;
    double key;  // larger first
    int index;
  };
  absl::InlinedVector<Keyed, 8> keyed;
  for (const WeightedItem& item : items) {
    // u in (0, 1): 53 random bits, never exactly 0.
    const uint64_t bits = Mix(call_hash ^ Mix(item.identity)) >> 11;
    const double u = (static_cast<double>(bits) + 0.5) / 9007199254740992.0;
    const double weight = item.weight == 0 ? 1.0 : item.weight;
    // log(u)/w orders the same as u^(1/w) without the pow.
    keyed.push_back({item.priority, std::log(u) / weight, item.index});
  }
  std::sort(keyed.begin(), keyed.end(), [](const Keyed& a, const Keyed& b) {
    if (a.priority != b.priority) return a.priority < b.priority;
    if (a.key != b.key) return a.key > b.key;
    return a.index < b.index;
  });
  order->clear();
  for (const Keyed& k : keyed) order->push_back(k.index);
}

std::vector<int> OrderByPriorityAndWeight(
    const std::vector<WeightedItem>& items, uint64_t call_hash) {
  TrunkOrder order;
  OrderByPriorityAndWeight(absl::MakeConstSpan(items), call_hash, &order);
  return std::vector<int>(order.begin(), order.end());
}

}  // namespace trunkline::routing
