// The routing service's gRPC API (Route, Explain) over the current snapshot,
// and the ServiceApp that the shared runtime drives.
//
// It uses gRPC's asynchronous completion-queue API: by default one queue and
// one polling thread, and each request is decided on that thread, on an
// arena of its own. No thread hand-off per call: at tens of thousands of
// calls per second on two cores the hand-offs (a futex wake and a context
// switch each), not the decisions, were the cost (queue_api.h says why the
// port then serves nothing from other threads). Each decision takes the
// current snapshot (one atomic shared_ptr load) and needs no lock; a reload
// builds the next snapshot off the request path and swaps it in.
#ifndef TRUNKLINE_SERVICES_ROUTING_ROUTING_SERVICE_H_
#define TRUNKLINE_SERVICES_ROUTING_ROUTING_SERVICE_H_

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "grpcpp/server_builder.h"
#include "prometheus/counter.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "services/common/queue_api.h"
#include "services/common/service_runtime.h"
#include "services/routing/routing_snapshot.h"
#include "trunkline/v1/routing.grpc.pb.h"

namespace trunkline::routing {

// Holds the snapshot in use. Readers never block writers or each other
// beyond the atomic load.
class SnapshotStore {
 public:
  std::shared_ptr<const RoutingSnapshot> Get() const {
    return std::atomic_load(&snapshot_);
  }
  void Set(std::shared_ptr<const RoutingSnapshot> snapshot) {
    std::atomic_store(&snapshot_, std::move(snapshot));
  }

 private:
  std::shared_ptr<const RoutingSnapshot> snapshot_;
};

// trunkline_routing_decisions_total{result} and the decision latency; and
// for the node status, the requests in flight.
class RoutingMetrics {
 public:
  explicit RoutingMetrics(prometheus::Registry* registry);
  void Count(const v1::RouteDecision& decision, const absl::Status& status,
             double seconds);
  // A request arrived / was answered (or abandoned after it arrived).
  void Started() { in_flight_.fetch_add(1, std::memory_order_relaxed); }
  void Ended() { in_flight_.fetch_sub(1, std::memory_order_relaxed); }

  // Any thread.
  uint32_t in_flight() const {
    return in_flight_.load(std::memory_order_relaxed);
  }
  // Requests decided since start, every result.
  uint64_t decisions() const;

 private:
  prometheus::Counter* routed_;
  prometheus::Counter* to_uc_;
  prometheus::Counter* rejected_;
  prometheus::Counter* invalid_;
  prometheus::Histogram* latency_;
  std::atomic<uint32_t> in_flight_{0};
};

// Route, Explain and the health check on completion queues polled by
// `threads` threads (one each).
class AsyncRoutingServer {
 public:
  AsyncRoutingServer(const SnapshotStore* store, RoutingMetrics* metrics,
                     int threads);
  ~AsyncRoutingServer();
  // Before the server is built.
  void Configure(grpc::ServerBuilder* builder);
  // Once it runs: starts the threads.
  void Start();
  // Once it has shut down: drains the queues and joins the threads.
  void Stop();

 private:
  const SnapshotStore* store_;
  RoutingMetrics* metrics_;
  const int thread_count_;
  v1::Routing::AsyncService service_;
  QueueHealthService health_;
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues_;
  std::vector<std::thread> threads_;
};

class RoutingApp final : public ServiceApp {
 public:
  // `threads`: queues, each with its polling thread (see the top comment
  // for why one).
  RoutingApp(prometheus::Registry* registry, int threads = 1);
  absl::Status ApplyTopology(
      std::shared_ptr<const LoadedTopology> topology) override;
  void ConfigureServer(grpc::ServerBuilder* builder) override {
    server_.Configure(builder);
  }
  void ServerStarted() override { server_.Start(); }
  void ServerStopped() override { server_.Stop(); }
  // Requests in flight and decisions since start.
  void FillLoad(v1::NodeLoad* load) override;

 private:
  SnapshotStore store_;
  RoutingMetrics metrics_;
  AsyncRoutingServer server_;
};

absl::StatusOr<std::unique_ptr<ServiceApp>> CreateRoutingApp(
    const ServiceContext& context);

}  // namespace trunkline::routing

#endif  // TRUNKLINE_SERVICES_ROUTING_ROUTING_SERVICE_H_
