// A generated topology at the scale of a large enterprise or a carrier's
// hosted platform, for the routing benchmarks: `routes` voice routes,
// `trunks` trunks (one gateway each), `dial_plans` dial plans with ten rules
// each, spread over PSTN usages and voice policies. Deterministic, so every
// run measures the same thing.
#ifndef TRUNKLINE_SERVICES_ROUTING_BENCH_TOPOLOGY_H_
#define TRUNKLINE_SERVICES_ROUTING_BENCH_TOPOLOGY_H_

#include <string>
#include <vector>

#include "trunkline/v1/routing.pb.h"

namespace trunkline::routing {

struct BenchScale {
  int routes = 10000;
  int trunks = 1000;
  int dial_plans = 200;
  int usages = 100;
  int policies = 50;
};

// The topology as YAML (so loading it exercises the real loader).
std::string GenerateBenchTopology(const BenchScale& scale);

// `count` requests that route (most) or are rejected (a few), mixing UC
// users and inter-trunk calls.
std::vector<v1::RouteRequest> GenerateBenchRequests(const BenchScale& scale,
                                                    int count);

}  // namespace trunkline::routing

#endif  // TRUNKLINE_SERVICES_ROUTING_BENCH_TOPOLOGY_H_
