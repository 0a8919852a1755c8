// The signaling service: the Sofia-SIP B2BUA between the UC side and the
// trunks.
#include <algorithm>
#include <cstdlib>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "services/common/service_runtime.h"
#include "services/common/signals.h"
#include "services/signaling/signaling_app.h"

ABSL_FLAG(std::string, pool, "",
          "Pool of the topology this instance serves (default: the first)");
ABSL_FLAG(int32_t, drain_seconds, 30,
          "On SIGTERM (or the admin API's DrainNode): new calls get 503 and "
          "OPTIONS 503, active calls go on for up to this many seconds; "
          "then those left are ended with BYE and a Reason");

ABSL_FLAG(int32_t, tls_certificate_check_seconds, 60,
          "How often the TLS sockets' certificate files are read again to "
          "see whether a renewed certificate waits for a restart (0: never)");

ABSL_FLAG(int32_t, gateway_dns_refresh_seconds, 60,
          "How often the FQDNs of gateways given without an address are "
          "resolved again, for trusting requests from them by source "
          "address (0: only at start and when the topology changes)");

int main(int argc, char** argv) {
  // gRPC's default poller (epoll1) lets every thread that waits on any
  // completion queue (the admin server's, gRPC's callback threads) read the
  // routing and media channels and hand each result over to the completion
  // thread: more wake-ups per call. The poll engine polls each queue's own
  // calls' connections. Before gRPC starts; an operator's own choice wins.
  setenv("GRPC_POLL_STRATEGY", "poll", /*overwrite=*/0);
  trunkline::BlockServiceSignals();
  absl::SetProgramUsageMessage(
      "Trunkline signaling: the B2BUA for every call.\n"
      "  signaling --topology=FILE [--pool=NAME] [--routing=H:P] "
      "[--media=H:P,...]\n"
      "            [--grpc_address=H:P] [--admin_address=H:P] "
      "[--metrics_address=H:P]");
  absl::ParseCommandLine(argc, argv);
  trunkline::signaling::SignalingOptions options;
  options.pool = absl::GetFlag(FLAGS_pool);
  options.drain_limit =
      absl::Seconds(std::max(0, absl::GetFlag(FLAGS_drain_seconds)));
  options.certificate_check = absl::Seconds(
      std::max(0, absl::GetFlag(FLAGS_tls_certificate_check_seconds)));
  const int32_t dns_refresh = absl::GetFlag(FLAGS_gateway_dns_refresh_seconds);
  options.gateway_dns_refresh =
      dns_refresh > 0 ? absl::Seconds(dns_refresh) : absl::InfiniteDuration();
  return trunkline::RunService(
      "signaling", trunkline::kSignalingDefaults,
      [&options](const trunkline::ServiceContext& context)
          -> absl::StatusOr<std::unique_ptr<trunkline::ServiceApp>> {
        auto app = trunkline::signaling::SignalingApp::Create(context, options);
        if (!app.ok()) return app.status();
        return std::unique_ptr<trunkline::ServiceApp>(std::move(*app));
      });
}
