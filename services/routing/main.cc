// The routing service: stateless voice routing over gRPC.
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "services/common/service_runtime.h"
#include "services/common/signals.h"
#include "services/routing/routing_service.h"

int main(int argc, char** argv) {
  trunkline::BlockServiceSignals();
  absl::SetProgramUsageMessage(
      "Trunkline routing: decides where each call goes.\n"
      "  routing --topology=FILE [--grpc_address=H:P] [--admin_address=H:P]\n"
      "          [--metrics_address=H:P] [--log_level=info]");
  absl::ParseCommandLine(argc, argv);
  return trunkline::RunService("routing", trunkline::kRoutingDefaults,
                               &trunkline::routing::CreateRoutingApp);
}
