// RoutingClient over gRPC's asynchronous API: the RPC finishes on the
// completion thread and its result is posted into the SIP loop, so the loop
// never waits on it.
//
// When routing stops answering (kFailFastAfter Routes in a row end at their
// deadline or unavailable), waiting out the deadline for every new call
// only piles up calls that will get 503 anyway, and keeps the UC side's
// INVITEs from failing over to another mediation server for seconds. The
// client then fails new calls at once with UNAVAILABLE (503 with a Reason),
// except one at a time, whose Route is sent as usual (waiting for the
// channel, which drives its reconnection): the first Route that routing
// answers lets calls through again. So calls, not a timer, probe routing:
// no traffic, no probing, and no state to change.
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
  // Told (on the completion thread) when new calls start and stop failing
  // fast: false while routing does not answer.
  using AnsweringChanged = std::function<void(bool answering)>;
  // Routes in a row that routing did not answer before new calls fail at
  // once. More than one, so a single lost answer does not refuse calls.
  static constexpr int kFailFastAfter = 2;

  // `post` hands a closure to the SIP loop. `timeout` bounds each RPC: a slow
  // or absent routing service fails the call with 503 once it has passed
  // (a restarting one is waited for within it); it does not hang the call.
  // `latency`, when set, measures every call
  // (trunkline_signaling_grpc_client_duration_seconds). `completions`: the
  // thread that finishes the RPCs (shared with the media client); null: one
  // of its own. `answering_changed`, when set, is told when routing stops
  // and starts answering; it runs on the completion thread, possibly after
  // the client is gone, so what it uses must outlive `completions`.
  GrpcRoutingClient(const std::string& address, Poster post,
                    absl::Duration timeout, GrpcLatency* latency = nullptr,
                    std::shared_ptr<GrpcCompletionThread> completions = {},
                    AnsweringChanged answering_changed = nullptr);
  void Route(const v1::RouteRequest& request, Done done) override;

  // Whether new calls are failed at once (routing not answering). For
  // tests and the admin view; any thread.
  bool failing_fast() const;

  // Shared with the calls in flight, which may outlive the client.
  struct Reachability;

 private:
  std::shared_ptr<GrpcCompletionThread> completions_;
  std::shared_ptr<Reachability> reachability_;
  Poster post_;
};

}  // namespace trunkline::signaling

#endif  // TRUNKLINE_SERVICES_SIGNALING_GRPC_ROUTING_CLIENT_H_
