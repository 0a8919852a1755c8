#include "services/signaling/signaling_app.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "services/common/log.h"
#include "services/common/status_macros.h"
#include "services/signaling/call_plan.h"
#include "services/signaling/grpc_media_controller.h"
#include "services/signaling/grpc_routing_client.h"

namespace trunkline::signaling {

absl::StatusOr<std::unique_ptr<SignalingApp>> SignalingApp::Create(
    const ServiceContext& context, const SignalingOptions& options) {
  auto app = std::unique_ptr<SignalingApp>(new SignalingApp());
  app->options_ = options;
  ASSIGN_OR_RETURN(app->stack_, SofiaSipStack::Create());
  app->metrics_ = std::make_unique<SignalingMetrics>(context.registry.get());
  app->certificates_ = std::make_unique<CertificateWatcher>(
      context.registry.get(), options.certificate_check);
  app->client_latency_ = std::make_unique<GrpcLatency>(
      context.registry.get(),
      "trunkline_signaling_grpc_client_duration_seconds",
      "Time from a gRPC call to routing or media to its status, by method.");
  GrpcLatency* latency = app->client_latency_.get();
  SofiaSipStack* stack = app->stack_.get();
  app->completions_ = std::make_shared<GrpcCompletionThread>();
  SignalingMetrics* metrics = app->metrics_.get();
  app->routing_ = std::make_unique<GrpcRoutingClient>(
      context.flags.routing,
      [stack](std::function<void()> task) { stack->Post(std::move(task)); },
      options.routing_timeout, latency, app->completions_,
      [metrics](bool answering) { metrics->RoutingAnswering(answering); });
  if (context.flags.media.empty()) {
    app->media_ = std::make_unique<NoMediaController>(
        "no media instance configured (--media is empty)");
  } else {
    app->media_ = std::make_unique<GrpcMediaController>(
        context.flags.media,
        [stack](std::function<void()> task) { stack->Post(std::move(task)); },
        options.routing_timeout, latency, app->completions_);
  }
  app->monitor_ = std::make_unique<GatewayMonitor>(stack, app->metrics_.get());
  app->registrar_ =
      std::make_unique<TrunkRegistrar>(stack, app->metrics_.get());
  app->b2bua_ = std::make_unique<B2bua>(stack, app->routing_.get(),
                                        app->media_.get(), app->metrics_.get());
  app->b2bua_->SetGatewayMonitor(app->monitor_.get());
  SignalingApp* self = app.get();
  app->resolver_ = std::make_unique<HostResolver>(
      options.gateway_dns_refresh, &HostResolver::SystemLookup,
      [stack, self](const ResolvedNames& resolved) {
        stack->Post([self, resolved] {
          self->resolved_ = resolved;
          self->TrustPeers();
        });
      },
      [stack, self](const std::vector<std::string>& failing) {
        stack->Post([self, failing] {
          self->failing_names_ = failing;
          self->TrustPeers();
        });
      });
  // The SIP trace: the stack's messages, tagged by the B2BUA with their call
  // and trunk, to the admin API's Trace streams. All of it on the loop.
  B2bua* b2bua = app->b2bua_.get();
  app->trace_ = std::make_unique<SipTraceHub>(
      [b2bua](const std::string& call_id, const std::string& address) {
        return b2bua->TraceTagFor(call_id, address);
      },
      [stack](bool on) { stack->EnableTrace(on); });
  SipTraceHub* trace = app->trace_.get();
  stack->RunAndWait([stack, trace] {
    stack->SetTraceTap([trace](const SipTraceRecord& r) { trace->Publish(r); });
  });
  app->admin_ = std::make_unique<SignalingAdminService>(
      context.admin_auth, stack, app->b2bua_.get(), app->monitor_.get(),
      context.flags.routing.empty()
          ? nullptr
          : std::shared_ptr<v1::Routing::StubInterface>(
                v1::Routing::NewStub(InstrumentedChannel(
                    context.flags.routing, grpc::InsecureChannelCredentials(),
                    latency))),
      trace, app->media_.get(), app->registrar_.get());
  return app;
}

SignalingApp::~SignalingApp() {
  // No resolution is posted from here on (those posted run on the loop
  // below, before the B2BUA goes).
  resolver_.reset();
  if (drain_thread_.joinable()) drain_thread_.join();
  // Registrations end while the sockets are still open: an un-REGISTER per
  // registered trunk, its answer awaited for a bounded time (a registrar
  // that does not answer leaves the binding to run out).
  absl::Notification unregistered;
  stack_->RunAndWait([&] {
    registrar_->UnregisterAll([&unregistered] { unregistered.Notify(); });
  });
  unregistered.WaitForNotificationWithTimeout(options_.unregister_limit);
  // Calls hold Sofia objects: they end on the loop, before it stops.
  stack_->RunAndWait([this] {
    stack_->SetTraceTap(nullptr);
    trace_.reset();
    b2bua_.reset();
    registrar_.reset();
    monitor_.reset();
  });
  stack_->Stop();
}

absl::Status SignalingApp::ApplyTopology(
    std::shared_ptr<const LoadedTopology> topology) {
  ASSIGN_OR_RETURN(std::shared_ptr<const PeerDirectory> peers,
                   PeerDirectory::Create(topology->topology, options_.pool));
  for (const std::string& problem : peers->problems()) {
    TL_LOG(kWarning, "topology applied with a problem").With("detail", problem);
  }
  const TrunkFigures figures = FiguresOf(peers->trunks());
  trunk_count_ = figures.trunks;
  call_limit_ = figures.call_limit;
  if (!started_) {
    stack_->RunAndWait([&] {
      topology_peers_ = peers;
      TrustPeers();
    });
    RETURN_IF_ERROR(stack_->Start(peers->listen_specs(), b2bua_.get()));
    // Only a topology in use has its names resolved: a refused one must not
    // make the resolver forget the names of the one that stays.
    resolver_->SetNames(peers->NamesToResolve());
    started_ = true;
    listening_ = peers->listen_specs();
    WatchCertificates(listening_);
    // Keepalive only once the sockets exist: probes leave from them.
    stack_->RunAndWait([&] {
      monitor_->SetTrunks(peers->monitored());
      registrar_->SetPeers(peers);
    });
    for (const ListenSpec& s : listening_) {
      TL_LOG(kInfo, "SIP listener")
          .With("address", s.address)
          .With("port", s.port)
          .With("transport", s.transport == v1::TRANSPORT_TCP   ? "tcp"
                             : s.transport == v1::TRANSPORT_TLS ? "tls"
                                                                : "udp")
          .With("advertised", s.advertised);
    }
    return absl::OkStatus();
  }
  // New sockets are bound now; sockets the topology no longer names stay
  // open until a restart (Sofia cannot close one transport alone).
  std::vector<ListenSpec> added;
  for (const ListenSpec& s : peers->listen_specs()) {
    if (std::find(listening_.begin(), listening_.end(), s) ==
        listening_.end()) {
      added.push_back(s);
    }
  }
  if (!added.empty()) {
    RETURN_IF_ERROR(stack_->AddListeners(added));
    WatchCertificates(added);
    for (const ListenSpec& s : added) {
      listening_.push_back(s);
      TL_LOG(kInfo, "SIP listener added")
          .With("address", s.address)
          .With("port", s.port)
          .With("advertised", s.advertised);
    }
  }
  for (const ListenSpec& s : listening_) {
    if (std::find(peers->listen_specs().begin(), peers->listen_specs().end(),
                  s) == peers->listen_specs().end()) {
      TL_LOG(kWarning,
             "a listener left the topology; its socket stays open until "
             "signaling restarts (no peer is trusted on it any more)")
          .With("address", s.address)
          .With("port", s.port);
    }
  }
  stack_->RunAndWait([&] {
    topology_peers_ = peers;
    TrustPeers();
    monitor_->SetTrunks(peers->monitored());
    registrar_->SetPeers(peers);
  });
  resolver_->SetNames(peers->NamesToResolve());
  return absl::OkStatus();
}

void SignalingApp::TrustPeers() {
  if (topology_peers_ == nullptr) return;
  const std::vector<std::string> names = topology_peers_->NamesToResolve();
  for (const std::string& gone : fqdn_names_) {
    if (std::find(names.begin(), names.end(), gone) == names.end()) {
      metrics_->ForgetFqdn(gone);
    }
  }
  for (const std::string& name : names) {
    auto it = resolved_.find(name);
    metrics_->FqdnAddresses(name, it == resolved_.end() ? 0 : it->second.size(),
                            !std::binary_search(failing_names_.begin(),
                                                failing_names_.end(), name));
  }
  fqdn_names_ = names;
  b2bua_->SetPeers(names.empty()
                       ? topology_peers_
                       : topology_peers_->WithResolvedNames(resolved_));
}

void SignalingApp::WatchCertificates(const std::vector<ListenSpec>& bound) {
  for (const ListenSpec& s : bound) {
    if (s.transport != v1::TRANSPORT_TLS) continue;
    certificates_->Watch(absl::StrCat(UriHost(s.address), ":", s.port), s.tls);
  }
}

SignalingApp::TrunkFigures SignalingApp::FiguresOf(
    const std::vector<TrunkInfo>& trunks) {
  TrunkFigures figures;
  figures.trunks = static_cast<uint32_t>(trunks.size());
  int64_t sum = 0;
  for (const TrunkInfo& t : trunks) {
    if (t.max_concurrent_calls == 0) return figures;  // one unlimited trunk
    sum += t.max_concurrent_calls;
  }
  if (!trunks.empty()) figures.call_limit = sum;
  return figures;
}

void SignalingApp::FillLoad(v1::NodeLoad* load) {
  // The count the loop publishes: no call state is read here.
  load->set_active(b2bua_->published_active_calls());
  load->set_active_unit("calls");
  auto& figures = *load->mutable_figures();
  figures["trunks"] = trunk_count_.load();
  if (const int64_t limit = call_limit_.load(); limit >= 0) {
    figures["call_limit"] = static_cast<double>(limit);
  }
}

void SignalingApp::Drain(const std::function<void()>& done) {
  stack_->RunAndWait([this] { b2bua_->SetDraining(true); });
  drain_thread_ = std::thread([this, done] {
    auto active_calls = [this] {
      size_t active = 0;
      stack_->RunAndWait([&] { active = b2bua_->active_calls(); });
      return active;
    };
    const absl::Time deadline = absl::Now() + options_.drain_limit;
    while (absl::Now() < deadline && active_calls() > 0) {
      absl::SleepFor(absl::Milliseconds(200));
    }
    if (const size_t left = active_calls(); left > 0) {
      // Ended, not dropped: a call destroyed with the process would leave
      // both peers in a dialog nobody ends (and the trunk billing it).
      TL_LOG(kWarning, "drain limit reached: ending the calls left")
          .With("calls", left);
      stack_->RunAndWait([this] {
        b2bua_->EndAll("signaling instance stopping: drain limit reached");
      });
      // Their BYEs are out; a moment for the last clean-ups.
      const absl::Time bye_deadline = absl::Now() + absl::Seconds(2);
      while (absl::Now() < bye_deadline && active_calls() > 0) {
        absl::SleepFor(absl::Milliseconds(50));
      }
    }
    done();
  });
}

}  // namespace trunkline::signaling
