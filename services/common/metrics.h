// Prometheus metrics: a registry per process, served on --metrics_address by
// prometheus-cpp's exposer at /metrics.
//
// Names follow trunkline_<service>_<what>_<unit>, counters end in _total.
#ifndef TRUNKLINE_SERVICES_COMMON_METRICS_H_
#define TRUNKLINE_SERVICES_COMMON_METRICS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "prometheus/exposer.h"
#include "prometheus/registry.h"

namespace trunkline {

class MetricsEndpoint {
 public:
  // Serves `registry` on `address` ("host:port"; port 0 picks a free one).
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(
      const std::string& address,
      const std::shared_ptr<prometheus::Registry>& registry);

  int port() const;

 private:
  explicit MetricsEndpoint(std::unique_ptr<prometheus::Exposer> exposer)
      : exposer_(std::move(exposer)) {}
  std::unique_ptr<prometheus::Exposer> exposer_;
};

// Latency buckets in seconds, named by purpose so every service uses the same.
const std::vector<double>& FastRpcLatencyBuckets();  // 10 us .. 100 ms

}  // namespace trunkline

#endif  // TRUNKLINE_SERVICES_COMMON_METRICS_H_
