// The signaling service as the shared runtime sees it: the Sofia loop, the
// B2BUA on it, the routing and media clients, and topology reloads.
#ifndef TRUNKLINE_SERVICES_SIGNALING_SIGNALING_APP_H_
#define TRUNKLINE_SERVICES_SIGNALING_SIGNALING_APP_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "services/common/grpc_metrics.h"
#include "services/common/service_runtime.h"
#include "services/signaling/b2bua.h"
#include "services/signaling/gateway_monitor.h"
#include "services/signaling/grpc_completion_thread.h"
#include "services/signaling/host_resolver.h"
#include "services/signaling/media_controller.h"
#include "services/signaling/routing_client.h"
#include "services/signaling/signaling_admin_service.h"
#include "services/signaling/signaling_metrics.h"
#include "services/signaling/sofia/sofia_sip_stack.h"
#include "services/signaling/tls_files.h"
#include "services/signaling/trunk_registrar.h"

namespace trunkline::signaling {

struct SignalingOptions {
  // The pool of the topology this instance serves; empty: the first.
  std::string pool;
  absl::Duration routing_timeout = absl::Seconds(2);
  // How long SIGTERM waits for active calls; those left are then ended
  // (BYE with a Reason) before the service stops.
  absl::Duration drain_limit = absl::Seconds(30);
  // How long stopping waits for the registrars to answer our un-REGISTERs.
  absl::Duration unregister_limit = absl::Seconds(2);
  // How often the TLS sockets' certificate files are read again
  // (CertificateWatcher); zero: never.
  absl::Duration certificate_check = absl::Seconds(60);
  // How often the FQDNs of gateways given by name only are resolved again
  // (HostResolver); infinite: only when the topology changes.
  absl::Duration gateway_dns_refresh = absl::Seconds(60);
};

class SignalingApp final : public ServiceApp {
 public:
  static absl::StatusOr<std::unique_ptr<SignalingApp>> Create(
      const ServiceContext& context, const SignalingOptions& options);
  ~SignalingApp() override;

  // Binds the listeners on the first topology; later ones update trust (a
  // listener change needs a restart, and says so).
  absl::Status ApplyTopology(
      std::shared_ptr<const LoadedTopology> topology) override;
  void Drain(const std::function<void()>& done) override;
  std::vector<grpc::Service*> AdminServices() override {
    return {admin_.get()};
  }
  // Calls in progress, the pool's trunks and their summed call limit.
  void FillLoad(v1::NodeLoad* load) override;

  // The node status's figures of a pool's trunks (FillLoad).
  struct TrunkFigures {
    uint32_t trunks = 0;
    // The trunks' limits summed; -1 when a trunk has none.
    int64_t call_limit = -1;
  };
  static TrunkFigures FiguresOf(const std::vector<TrunkInfo>& trunks);

 private:
  SignalingApp() = default;
  // TLS sockets just bound: their certificates are watched.
  void WatchCertificates(const std::vector<ListenSpec>& bound);
  // On the loop: the B2BUA trusts the topology's peers, the gateways given
  // by FQDN from the addresses last resolved.
  void TrustPeers();

  SignalingOptions options_;
  std::unique_ptr<SofiaSipStack> stack_;
  std::unique_ptr<SignalingMetrics> metrics_;
  // Before the clients that use it, so it outlives them.
  std::unique_ptr<GrpcLatency> client_latency_;
  // Finishes the routing and media calls of the call path.
  std::shared_ptr<GrpcCompletionThread> completions_;
  std::unique_ptr<RoutingClient> routing_;
  std::unique_ptr<MediaController> media_;
  std::unique_ptr<GatewayMonitor> monitor_;
  std::unique_ptr<TrunkRegistrar> registrar_;
  std::unique_ptr<B2bua> b2bua_;
  std::unique_ptr<SipTraceHub> trace_;
  std::unique_ptr<SignalingAdminService> admin_;
  // The loop's: the topology's peers and what their FQDNs resolved to.
  std::shared_ptr<const PeerDirectory> topology_peers_;
  ResolvedNames resolved_;
  std::vector<std::string> failing_names_;  // sorted: last lookup failed
  std::vector<std::string> fqdn_names_;     // in the metrics
  std::vector<ListenSpec> listening_;
  std::unique_ptr<CertificateWatcher> certificates_;
  // Last member but one: stopped first, before what its results reach.
  std::unique_ptr<HostResolver> resolver_;
  bool started_ = false;
  std::thread drain_thread_;
  // FiguresOf the topology in use, for FillLoad on gRPC's threads.
  std::atomic<uint32_t> trunk_count_{0};
  std::atomic<int64_t> call_limit_{-1};
};

}  // namespace trunkline::signaling

#endif  // TRUNKLINE_SERVICES_SIGNALING_SIGNALING_APP_H_
