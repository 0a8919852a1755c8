#include "services/common/service_runtime.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "services/common/admin_auth.h"
#include "services/common/grpc_metrics.h"
#include "services/common/grpc_server.h"
#include "services/common/log.h"
#include "services/common/metrics.h"
#include "services/common/node_admin_service.h"
#include "services/common/signals.h"
#include "services/common/topology/topology_watcher.h"

namespace trunkline {
namespace {

constexpr absl::Duration kTopologyPollInterval = absl::Seconds(1);
constexpr absl::Duration kShutdownGrace = absl::Seconds(5);

int Fail(const absl::Status& status) {
  // Multi-line messages (a topology's errors) go out as written, so a person
  // reads file:line: reason on each line.
  std::fprintf(stderr, "%s\n", std::string(status.message()).c_str());
  TL_LOG(kError, "cannot start")
      .With("code", absl::StatusCodeToString(status.code()));
  return 1;
}

}  // namespace

int RunService(absl::string_view service, const ServiceAddresses& defaults,
               const ServiceAppFactory& factory) {
  // Debian's Abseil checks every absl::Mutex acquisition for lock-order
  // cycles; gRPC takes absl::Mutex on every call, and the check was a large
  // share of a request's CPU. Our own code takes no lock on a hot path.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  SetLogService(service);
  absl::StatusOr<ServiceFlags> flags = ReadServiceFlags(defaults);
  if (!flags.ok()) return Fail(flags.status());
  SetLogLevel(flags->log_level);

  ServiceContext context{std::string(service), *flags,
                         std::make_shared<prometheus::Registry>()};
  absl::StatusOr<std::unique_ptr<AdminAuth>> admin_auth = AdminAuth::Create(
      flags->admin_credentials, context.registry.get(), context.service);
  if (!admin_auth.ok()) return Fail(admin_auth.status());
  context.admin_auth = admin_auth->get();
  absl::StatusOr<std::unique_ptr<ServiceApp>> app = factory(context);
  if (!app.ok()) return Fail(app.status());

  absl::StatusOr<std::unique_ptr<TopologyWatcher>> watcher =
      TopologyWatcher::Create(
          flags->topology,
          [app = app->get()](std::shared_ptr<const LoadedTopology> t) {
            return app->ApplyTopology(std::move(t));
          },
          context.registry.get(), context.service);
  if (!watcher.ok()) return Fail(watcher.status());
  (*watcher)->StartWatching(kTopologyPollInterval);

  absl::StatusOr<std::unique_ptr<MetricsEndpoint>> metrics =
      MetricsEndpoint::Start(flags->metrics_address, context.registry);
  if (!metrics.ok()) return Fail(metrics.status());

  // Every API and admin call's latency, by method.
  GrpcLatency server_latency(
      context.registry.get(),
      absl::StrCat("trunkline_", context.service,
                   "_grpc_server_duration_seconds"),
      "Time from a gRPC request's arrival to its status, by method.");
  absl::StatusOr<std::unique_ptr<GrpcServer>> api = GrpcServer::Start(
      flags->grpc_address, (*app)->GrpcServices(), nullptr,
      [app = app->get(), &server_latency](grpc::ServerBuilder* b) {
        app->ConfigureServer(b);
        b->experimental().SetInterceptorCreators(
            ServerLatencyInterceptors(&server_latency));
      });
  if (!api.ok()) return Fail(api.status());
  (*app)->ServerStarted();

  absl::Notification stop;
  auto request_stop = [&stop] {
    if (!stop.HasBeenNotified()) stop.Notify();
  };
  // SIGTERM and the admin API's DrainNode: stop taking work, let the app
  // finish what it has, then stop.
  NodeAdminService* node_admin_ptr = nullptr;
  auto drain = [&] {
    if (!node_admin_ptr->StartDraining()) return;
    TL_LOG(kInfo, "draining");
    (*api)->SetServing(false);
    (*app)->Drain(request_stop);
  };
  NodeAdminService node_admin(
      context.service, watcher->get(), admin_auth->get(), drain,
      [app = app->get()](v1::NodeLoad* load) { app->FillLoad(load); });
  node_admin_ptr = &node_admin;
  std::vector<grpc::Service*> admin_services = (*app)->AdminServices();
  admin_services.push_back(&node_admin);
  absl::StatusOr<std::unique_ptr<GrpcServer>> admin = GrpcServer::Start(
      flags->admin_address, admin_services, (*admin_auth)->server_credentials(),
      [&server_latency](grpc::ServerBuilder* b) {
        b->experimental().SetInterceptorCreators(
            ServerLatencyInterceptors(&server_latency));
      });
  if (!admin.ok()) {
    (*api)->Shutdown(absl::ZeroDuration());
    (*app)->ServerStopped();
    return Fail(admin.status());
  }

  TL_LOG(kInfo, "serving")
      .With("version", TrunklineVersion())
      .With("grpc", flags->grpc_address)
      .With("admin", flags->admin_address)
      .With("metrics", flags->metrics_address)
      .With("topology_version", (*watcher)->current()->version);

  {
    SignalThread signals({
        .reload = [&] { (*watcher)->Reload(); },
        .drain = drain,
        .stop = request_stop,
    });
    stop.WaitForNotification();
  }
  (*app)->ServerStopping();
  (*api)->Shutdown(kShutdownGrace);
  (*app)->ServerStopped();
  (*admin)->Shutdown(absl::ZeroDuration());
  TL_LOG(kInfo, "stopped");
  return 0;
}

}  // namespace trunkline
