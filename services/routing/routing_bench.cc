// Routing benchmark (make bench, never make test): in-process decisions over
// a generated topology of 10,000 routes, 1,000 trunks and 200 dial plans.
// Reports decisions per second on one core (Google Benchmark), latency
// percentiles, and the memory one snapshot takes.
//
//   routing_bench [--write_topology=FILE] [benchmark flags]
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "benchmark/benchmark.h"
#include "google/protobuf/arena.h"
#include "services/routing/bench_topology.h"
#include "services/routing/route_engine.h"

namespace trunkline::routing {
namespace {

struct Fixture {
  std::shared_ptr<const RoutingSnapshot> snapshot;
  std::vector<v1::RouteRequest> requests;
  double load_seconds = 0;
  size_t snapshot_bytes = 0;
};

Fixture& Get() {
  static Fixture* fixture = [] {
    auto* f = new Fixture();
    BenchScale scale;
    const std::string yaml = GenerateBenchTopology(scale);
    const size_t before = mallinfo2().uordblks;
    auto start = std::chrono::steady_clock::now();
    std::vector<TopologyError> errors;
    auto topology = LoadTopologyText(yaml, "bench.yaml", &errors);
    if (!topology) {
      std::fprintf(stderr, "generated topology invalid: %s\n",
                   errors.empty() ? "?" : errors[0].ToString().c_str());
      std::exit(1);
    }
    f->snapshot = *RoutingSnapshot::Build(topology);
    f->load_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    f->snapshot_bytes = mallinfo2().uordblks - before;
    f->requests = GenerateBenchRequests(scale, 20000);
    return f;
  }();
  return *fixture;
}

void BM_Route(benchmark::State& state) {
  Fixture& f = Get();
  size_t i = 0;
  int64_t routed = 0;
  // As the service does: each decision on its own arena whose first block
  // is preallocated (see routing_service.cc).
  alignas(8) static char block[8192];
  for (auto _ : state) {
    google::protobuf::ArenaOptions options;
    options.initial_block = block;
    options.initial_block_size = sizeof(block);
    google::protobuf::Arena arena(options);
    auto* decision =
        google::protobuf::Arena::CreateMessage<v1::RouteDecision>(&arena);
    (void)Decide(*f.snapshot, f.requests[i], decision);
    routed += decision->candidates_size() > 0;
    benchmark::DoNotOptimize(decision);
    if (++i == f.requests.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["routed_fraction"] =
      static_cast<double>(routed) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_Route);

void BM_Explain(benchmark::State& state) {
  Fixture& f = Get();
  size_t i = 0;
  for (auto _ : state) {
    google::protobuf::Arena arena;
    auto* explanation =
        google::protobuf::Arena::CreateMessage<v1::RouteExplanation>(&arena);
    (void)Decide(*f.snapshot, f.requests[i], explanation->mutable_decision(),
                 explanation);
    benchmark::DoNotOptimize(explanation);
    if (++i == f.requests.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Explain);

// Per-decision latency percentiles (Google Benchmark reports means).
void PrintPercentiles() {
  Fixture& f = Get();
  std::vector<double> micros;
  micros.reserve(f.requests.size() * 5);
  alignas(8) static char block[8192];  // as BM_Route and the service
  for (int pass = 0; pass < 5; ++pass) {
    for (const v1::RouteRequest& r : f.requests) {
      auto start = std::chrono::steady_clock::now();
      google::protobuf::ArenaOptions options;
      options.initial_block = block;
      options.initial_block_size = sizeof(block);
      google::protobuf::Arena arena(options);
      auto* decision =
          google::protobuf::Arena::CreateMessage<v1::RouteDecision>(&arena);
      (void)Decide(*f.snapshot, r, decision);
      micros.push_back(std::chrono::duration<double, std::micro>(
                           std::chrono::steady_clock::now() - start)
                           .count());
    }
  }
  std::sort(micros.begin(), micros.end());
  auto pct = [&](double p) {
    return micros[static_cast<size_t>(p * (micros.size() - 1))];
  };
  std::printf(
      "routing_bench: topology 10000 routes / 1000 trunks / 200 dial plans: "
      "load+compile %.2f s, snapshot %.1f MiB\n"
      "routing_bench: decision latency p50 %.2f us, p99 %.2f us, max %.2f us "
      "(%zu decisions)\n",
      f.load_seconds, f.snapshot_bytes / 1048576.0, pct(0.5), pct(0.99),
      micros.back(), micros.size());
}

}  // namespace
}  // namespace trunkline::routing

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--write_topology=", 17) == 0) {
      std::ofstream(argv[i] + 17)
          << trunkline::routing::GenerateBenchTopology({});
      std::printf("wrote %s\n", argv[i] + 17);
      return 0;
    }
  }
  benchmark::Initialize(&argc, argv);
  trunkline::routing::PrintPercentiles();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
