// RoutingClient over gRPC's asynchronous API: the RPC finishes on the
// completion thread and its result is posted into the SIP loop, so the loop
// never waits on it.
#ifndef TRUNKLINE_SERVICES_SIGNALING_GRPC_ROUTING_CLIENT_H_
#define TRUNKLINE_SERVICES_SIGNALING_GRPC_ROUTING_CLIENT_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "services/common/grpc_metrics.h"
#include "services/signaling/grpc_completion_thread.h"
#include "services/signaling/routing_client.h"
#include "trunkline/v1/routing.grpc.pb.h"

namespace trunkline::signaling {

class GrpcRoutingClient final : public RoutingClient {
 public:
  using Poster = std::function<void(std::function<void()>)>;
  // `post` hands a closure to the SIP loop. `timeout` bounds each RPC: a slow
  // or absent routing service fails the call with 503 once it has passed
  // (a restarting one is waited for within it); it does not hang the call.
  // `latency`, when set, measures every call
  // (trunkline_signaling_grpc_client_duration_seconds). `completions`: the
  // thread that finishes the RPCs (shared with the media client); null: one
  // of its own.
  GrpcRoutingClient(const std::string& address, Poster post,
                    absl::Duration timeout, GrpcLatency* latency = nullptr,
                    std::shared_ptr<GrpcCompletionThread> completions = {});
  void Route(const v1::RouteRequest& request, Done done) override;

 private:
  std::shared_ptr<GrpcCompletionThread> completions_;
  std::unique_ptr<v1::Routing::Stub> stub_;
  Poster post_;
  absl::Duration timeout_;
};

}  // namespace trunkline::signaling

#endif  // TRUNKLINE_SERVICES_SIGNALING_GRPC_ROUTING_CLIENT_H_
