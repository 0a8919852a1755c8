#include "services/routing/routing_service.h"

#include "absl/time/clock.h"
#include "services/common/error_table.h"
#include "services/common/metrics.h"
#include "services/routing/route_engine.h"

namespace trunkline::routing {

RoutingService::RoutingService(const SnapshotStore* store,
                               prometheus::Registry* registry)
    : store_(store) {
  SetMessageAllocatorFor_Route(&route_allocator_);
  SetMessageAllocatorFor_Explain(&explain_allocator_);
  auto& decisions = prometheus::BuildCounter()
                        .Name("trunkline_routing_decisions_total")
                        .Help(
                            "Routing decisions by result: routed (to a "
                            "trunk), uc_side, rejected, invalid (bad request).")
                        .Register(*registry);
  routed_ = &decisions.Add({{"result", "routed"}});
  to_uc_ = &decisions.Add({{"result", "uc_side"}});
  rejected_ = &decisions.Add({{"result", "rejected"}});
  invalid_ = &decisions.Add({{"result", "invalid"}});
  latency_ = &prometheus::BuildHistogram()
                  .Name("trunkline_routing_decision_duration_seconds")
                  .Help("Time to decide one Route or Explain request.")
                  .Register(*registry)
                  .Add({}, FastRpcLatencyBuckets());
}

void RoutingService::Count(const v1::RouteDecision& decision,
                           const absl::Status& status, double seconds) {
  if (!status.ok()) {
    invalid_->Increment();
  } else if (decision.candidates_size() == 0) {
    rejected_->Increment();
  } else if (decision.to_uc_side()) {
    to_uc_->Increment();
  } else {
    routed_->Increment();
  }
  latency_->Observe(seconds);
}

grpc::ServerUnaryReactor* RoutingService::Route(
    grpc::CallbackServerContext* context, const v1::RouteRequest* request,
    v1::RouteDecision* response) {
  const absl::Time start = absl::Now();
  absl::Status status = Decide(*store_->Get(), *request, response);
  Count(*response, status, absl::ToDoubleSeconds(absl::Now() - start));
  auto* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

grpc::ServerUnaryReactor* RoutingService::Explain(
    grpc::CallbackServerContext* context, const v1::RouteRequest* request,
    v1::RouteExplanation* response) {
  const absl::Time start = absl::Now();
  absl::Status status =
      Decide(*store_->Get(), *request, response->mutable_decision(), response);
  Count(response->decision(), status,
        absl::ToDoubleSeconds(absl::Now() - start));
  auto* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

absl::Status RoutingApp::ApplyTopology(
    std::shared_ptr<const LoadedTopology> topology) {
  absl::StatusOr<std::shared_ptr<const RoutingSnapshot>> snapshot =
      RoutingSnapshot::Build(std::move(topology));
  if (!snapshot.ok()) return snapshot.status();
  store_.Set(*std::move(snapshot));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ServiceApp>> CreateRoutingApp(
    const ServiceContext& context) {
  return std::make_unique<RoutingApp>(context.registry.get());
}

}  // namespace trunkline::routing
