#include "services/common/metrics.h"

#include <exception>

#include "absl/strings/str_cat.h"

namespace trunkline {

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(
    const std::string& address,
    const std::shared_ptr<prometheus::Registry>& registry) {
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    // prometheus-cpp reports a failed bind by throwing.
    exposer = std::make_unique<prometheus::Exposer>(address, /*threads=*/1);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", address, ": ", e.what()));
  }
  exposer->RegisterCollectable(registry);
  return std::unique_ptr<MetricsEndpoint>(
      new MetricsEndpoint(std::move(exposer)));
}

int MetricsEndpoint::port() const {
  auto ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

const std::vector<double>& FastRpcLatencyBuckets() {
  static const std::vector<double>* buckets = new std::vector<double>{
      0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005,
      0.001,   0.0025,   0.005,   0.01,   0.025,   0.1};
  return *buckets;
}

}  // namespace trunkline
