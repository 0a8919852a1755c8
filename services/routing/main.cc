// The routing service: stateless voice routing over gRPC.
#include <cstdlib>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "services/common/service_runtime.h"
#include "services/common/signals.h"
#include "services/routing/routing_service.h"

int main(int argc, char** argv) {
  // gRPC's default Linux poller (epoll1) shares one epoll set between every
  // thread of the process that waits on any completion queue, so the admin
  // server's threads take turns reading the API port's connections and hand
  // each request to the routing thread (a wake-up and a context switch per
  // call; a third of the server's CPU per call in profiles). The poll engine
  // polls each queue's own connections: the API port is read by the routing
  // thread alone. Set before gRPC starts; an operator's own choice wins.
  setenv("GRPC_POLL_STRATEGY", "poll", /*overwrite=*/0);
  trunkline::BlockServiceSignals();
  absl::SetProgramUsageMessage(
      "Trunkline routing: decides where each call goes.\n"
      "  routing --topology=FILE [--grpc_address=H:P] [--admin_address=H:P]\n"
      "          [--metrics_address=H:P] [--log_level=info] "
      "[--queue_threads=1]");
  absl::ParseCommandLine(argc, argv);
  return trunkline::RunService("routing", trunkline::kRoutingDefaults,
                               &trunkline::routing::CreateRoutingApp);
}
