#include "services/media/media_service.h"

#include <deque>
#include <functional>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "services/common/error_table.h"
#include "services/common/log.h"

namespace trunkline::media {
namespace {

// One WatchEvents stream: events queue here (the hub calls Deliver with its
// lock held) and are written one at a time, as gRPC's flow control allows.
class EventStream final : public grpc::ServerWriteReactor<v1::MediaEvent>,
                          public relay::EventWatcher {
 public:
  explicit EventStream(relay::EventHub* hub) : hub_(hub) { hub_->Add(this); }

  void Deliver(const v1::MediaEvent& event) override {
    absl::MutexLock lock(&mutex_);
    if (finished_) return;
    // A client that does not read loses the oldest events, not our memory.
    if (queue_.size() >= kMaxQueued) queue_.pop_front();
    queue_.push_back(event);
    if (!writing_) WriteNext();
  }
  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mutex_);
    writing_ = false;
    if (!ok) {
      Finish();
      return;
    }
    queue_.pop_front();
    if (!queue_.empty()) WriteNext();
  }
  void OnCancel() override {
    absl::MutexLock lock(&mutex_);
    Finish();
  }
  void OnDone() override {
    hub_->Remove(this);
    delete this;
  }

 private:
  static constexpr size_t kMaxQueued = 10000;
  void WriteNext() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    if (finished_ || queue_.empty()) return;
    writing_ = true;
    StartWrite(&queue_.front());
  }
  void Finish() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    if (finished_) return;
    finished_ = true;
    grpc::ServerWriteReactor<v1::MediaEvent>::Finish(grpc::Status::OK);
  }

  relay::EventHub* hub_;
  absl::Mutex mutex_;
  std::deque<v1::MediaEvent> queue_ ABSL_GUARDED_BY(mutex_);
  bool writing_ ABSL_GUARDED_BY(mutex_) = false;
  bool finished_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace

MediaService::MediaService(std::vector<std::unique_ptr<relay::Worker>>* workers,
                           relay::PortAllocator* ports, relay::EventHub* events)
    : workers_(workers), ports_(ports), events_(events) {}

relay::Worker& MediaService::WorkerFor(const std::string& call_id) {
  return *(*workers_)[std::hash<std::string>()(call_id) % workers_->size()];
}

uint32_t MediaService::sessions() const {
  uint32_t total = 0;
  for (const auto& worker : *workers_) total += worker->sessions();
  return total;
}

grpc::ServerUnaryReactor* MediaService::PostOffer(
    grpc::CallbackServerContext* context, const v1::OfferRequest* request,
    v1::SdpResponse* response, bool update) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  relay::Worker& worker = WorkerFor(request->call_id());
  const bool draining = draining_;
  worker.Post([&worker, request, response, reactor, update, draining] {
    absl::StatusOr<std::string> sdp = worker.Offer(*request, update, draining);
    if (sdp.ok()) response->set_sdp(*std::move(sdp));
    reactor->Finish(ToGrpcStatus(sdp.status()));
  });
  return reactor;
}

grpc::ServerUnaryReactor* MediaService::Offer(
    grpc::CallbackServerContext* context, const v1::OfferRequest* request,
    v1::SdpResponse* response) {
  return PostOffer(context, request, response, /*update=*/false);
}

grpc::ServerUnaryReactor* MediaService::Update(
    grpc::CallbackServerContext* context, const v1::OfferRequest* request,
    v1::SdpResponse* response) {
  return PostOffer(context, request, response, /*update=*/true);
}

grpc::ServerUnaryReactor* MediaService::Answer(
    grpc::CallbackServerContext* context, const v1::AnswerRequest* request,
    v1::SdpResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  relay::Worker& worker = WorkerFor(request->call_id());
  worker.Post([&worker, request, response, reactor] {
    absl::StatusOr<std::string> sdp = worker.Answer(*request);
    if (sdp.ok()) response->set_sdp(*std::move(sdp));
    reactor->Finish(ToGrpcStatus(sdp.status()));
  });
  return reactor;
}

grpc::ServerUnaryReactor* MediaService::Delete(
    grpc::CallbackServerContext* context, const v1::DeleteRequest* request,
    v1::DeleteResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (request->call_id().empty()) {
    reactor->Finish(
        ToGrpcStatus(absl::InvalidArgumentError("call_id is required")));
    return reactor;
  }
  relay::Worker& worker = WorkerFor(request->call_id());
  worker.Post([&worker, request, reactor] {
    worker.Delete(request->call_id());
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* MediaService::Query(
    grpc::CallbackServerContext* context, const v1::QueryRequest* request,
    v1::QueryResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  relay::Worker& worker = WorkerFor(request->call_id());
  worker.Post([&worker, request, response, reactor] {
    reactor->Finish(ToGrpcStatus(worker.Query(request->call_id(), response)));
  });
  return reactor;
}

v1::Load MediaService::CurrentLoad() const {
  uint32_t sessions = 0, streams = 0;
  double pps = 0;
  for (const auto& worker : *workers_) {
    sessions += worker->sessions();
    streams += worker->streams();
    pps += worker->packets_per_second();
  }
  v1::Load load;
  load.set_sessions(sessions);
  load.set_streams(streams);
  load.set_packets_per_second(pps);
  load.set_draining(draining_);
  // Two sides with one audio stream each is two pairs per call; keep as
  // much again in reserve for video and re-offers.
  load.set_capacity_left(draining_ ? 0 : uint32_t(ports_->free_pairs() / 4));
  return load;
}

grpc::ServerUnaryReactor* MediaService::GetLoad(
    grpc::CallbackServerContext* context, const v1::GetLoadRequest* request,
    v1::Load* response) {
  *response = CurrentLoad();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* MediaService::Drain(
    grpc::CallbackServerContext* context, const v1::DrainRequest* request,
    v1::DrainResponse* response) {
  StartDraining();
  TL_LOG(kInfo, "draining: new sessions are refused");
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerWriteReactor<v1::MediaEvent>* MediaService::WatchEvents(
    grpc::CallbackServerContext* context,
    const v1::WatchEventsRequest* request) {
  return new EventStream(events_);
}

absl::StatusOr<std::unique_ptr<MediaApp>> MediaApp::Create(
    const MediaConfig& config, prometheus::Registry* registry) {
  std::unique_ptr<MediaApp> app(new MediaApp());
  app->config_ = config;
  app->metrics_ = std::make_unique<relay::RelayMetrics>(*registry);
  absl::StatusOr<std::unique_ptr<relay::PortAllocator>> ports =
      relay::PortAllocator::Create(config.rtp_port_min, config.rtp_port_max,
                                   config.port_quarantine);
  if (!ports.ok()) return ports.status();
  app->ports_ = *std::move(ports);
  app->metrics_->port_pairs_total->Set(double(app->ports_->total_pairs()));
  uint32_t count = config.workers;
  if (count == 0) count = std::max(1u, std::thread::hardware_concurrency());
  for (uint32_t i = 0; i < count; ++i) {
    absl::StatusOr<std::unique_ptr<relay::Worker>> worker =
        relay::Worker::Create(int(i), config.worker, app->ports_.get(),
                              &app->events_, app->metrics_.get());
    if (!worker.ok()) return worker.status();
    app->workers_.push_back(*std::move(worker));
  }
  app->service_ = std::make_unique<MediaService>(
      &app->workers_, app->ports_.get(), &app->events_);
  for (auto& worker : app->workers_) worker->Start();
  // Gauges refresh on every worker's tick would race; one poster is enough.
  return app;
}

MediaApp::~MediaApp() { StopWorkers(); }

absl::Status MediaApp::ApplyTopology(
    std::shared_ptr<const LoadedTopology> topology) {
  // Per-call plans come with each Offer; the topology holds nothing the
  // relay needs yet.
  return absl::OkStatus();
}

void MediaApp::ServerStopped() { StopWorkers(); }

void MediaApp::FillLoad(v1::NodeLoad* load) {
  const v1::Load now = service_->CurrentLoad();
  load->set_active(now.sessions());
  load->set_active_unit("sessions");
  auto& figures = *load->mutable_figures();
  figures["streams"] = now.streams();
  figures["packets_per_second"] = now.packets_per_second();
  figures["capacity_left"] = now.capacity_left();
}

void MediaApp::StopWorkers() {
  stopping_ = true;
  if (drain_thread_.joinable()) drain_thread_.join();
  for (auto& worker : workers_) worker->Stop();
  for (auto& worker : workers_) {
    relay::Worker* w = worker.get();
    w->DeleteAll();  // the thread has stopped: safe from here
  }
}

void MediaApp::Drain(const std::function<void()>& done) {
  service_->StartDraining();
  if (drain_thread_.joinable()) return;
  drain_thread_ = std::thread([this, done] {
    const absl::Time deadline = absl::Now() + config_.drain_timeout;
    while (!stopping_ && service_->sessions() > 0 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(100));
    }
    TL_LOG(kInfo, "drained").With("sessions_left", service_->sessions());
    done();
  });
}

}  // namespace trunkline::media
