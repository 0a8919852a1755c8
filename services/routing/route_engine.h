// The routing decision, modelled on Lync Server 2013 outbound and
// inter-trunk routing with Teams Direct Routing's additions:
//
//   1. origin: a UC user (by SIP URI) or a trunk;
//   2. normalization: the dial plan that applies (user, pool, site, global;
//      a trunk's own for calls from it), first matching rule wins;
//   3. policy: the caller's voice policy, or the trunk's PSTN usages for
//      inter-trunk routing; a UC number from a trunk goes to the UC side;
//   4. routes: per usage in order, every matching route whose exceptions do
//      not match; its trunks by priority and weight (hashed on the Call-ID);
//      down, full, disabled and out-of-site trunks skipped;
//   5. per candidate: translated numbers, caller ID, headers, media,
//      failover and limits;
//   6. no candidate: a reject with the SIP code and reason.
//
// Stateless: the answer depends only on the snapshot and the request.
#ifndef TRUNKLINE_SERVICES_ROUTING_ROUTE_ENGINE_H_
#define TRUNKLINE_SERVICES_ROUTING_ROUTE_ENGINE_H_

#include "absl/status/status.h"
#include "services/routing/routing_snapshot.h"
#include "trunkline/v1/routing.pb.h"

namespace trunkline::routing {

// Checks the request: INVALID_ARGUMENT naming the field when a number is
// missing or malformed or the origin trunk does not exist.
absl::Status ValidateRouteRequest(const RoutingSnapshot& snapshot,
                                  const v1::RouteRequest& request);

// Decides. `explanation`, when not null, receives every step (its
// `decision` is not filled; `decision` is). Fails only for a bad request; a
// call that cannot be routed is a decision with a reject.
absl::Status Decide(const RoutingSnapshot& snapshot,
                    const v1::RouteRequest& request,
                    v1::RouteDecision* decision,
                    v1::RouteExplanation* explanation = nullptr);

}  // namespace trunkline::routing

#endif  // TRUNKLINE_SERVICES_ROUTING_ROUTE_ENGINE_H_
