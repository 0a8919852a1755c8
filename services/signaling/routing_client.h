// Asks the routing service where a call goes.
//
// Implementations never block the caller: the answer comes later through
// `done`, always on the SIP loop thread (GrpcRoutingClient posts it there).
#ifndef TRUNKLINE_SERVICES_SIGNALING_ROUTING_CLIENT_H_
#define TRUNKLINE_SERVICES_SIGNALING_ROUTING_CLIENT_H_

#include <functional>

#include "absl/status/statusor.h"
#include "trunkline/v1/routing.pb.h"

namespace trunkline::signaling {

class RoutingClient {
 public:
  using Done = std::function<void(absl::StatusOr<v1::RouteDecision>)>;
  virtual ~RoutingClient() = default;
  virtual void Route(const v1::RouteRequest& request, Done done) = 0;
};

}  // namespace trunkline::signaling

#endif  // TRUNKLINE_SERVICES_SIGNALING_ROUTING_CLIENT_H_
