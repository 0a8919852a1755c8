// Finding topology objects by name, for the loader's passes (validation,
// defaults) that run before any index is built. Linear: a topology is read
// once per load, and these are not on any request path.
#ifndef TRUNKLINE_SERVICES_COMMON_TOPOLOGY_LOOKUP_H_
#define TRUNKLINE_SERVICES_COMMON_TOPOLOGY_LOOKUP_H_

#include "absl/strings/string_view.h"
#include "trunkline/v1/topology.pb.h"

namespace trunkline {

inline const v1::Pool* FindPool(const v1::Topology& t, absl::string_view name) {
  for (const v1::Pool& pool : t.pools()) {
    if (pool.name() == name) return &pool;
  }
  return nullptr;
}

inline const v1::Gateway* FindGateway(const v1::Topology& t,
                                      absl::string_view name) {
  for (const v1::Gateway& gateway : t.gateways()) {
    if (gateway.name() == name) return &gateway;
  }
  return nullptr;
}

// The pool's listener named `name`; the pool's first when `name` is empty
// (a trunk's default).
inline const v1::Listener* FindListener(const v1::Pool& pool,
                                        absl::string_view name) {
  if (name.empty()) {
    return pool.listeners_size() > 0 ? &pool.listeners(0) : nullptr;
  }
  for (const v1::Listener& listener : pool.listeners()) {
    if (listener.name() == name) return &listener;
  }
  return nullptr;
}

}  // namespace trunkline

#endif  // TRUNKLINE_SERVICES_COMMON_TOPOLOGY_LOOKUP_H_
