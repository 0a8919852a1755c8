#include "services/media/media_service.h"

#include <deque>
#include <functional>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "services/common/error_table.h"
#include "services/common/log.h"

namespace trunkline::media {

// One unary call: requested on the queue, handed to its MediaService method
// when it arrives, finished by that method (on the queue thread or a
// worker), deleted on the queue thread when the finish completes. Its tag is
// itself.
template <typename Request, typename Response>
class UnaryCall final : public QueueTag {
 public:
  using RequestMethod = void (v1::Media::AsyncService::*)(
      grpc::ServerContext*, Request*,
      grpc::ServerAsyncResponseWriter<Response>*, grpc::CompletionQueue*,
      grpc::ServerCompletionQueue*, void*);
  using Handler = void (MediaService::*)(UnaryCall*);

  UnaryCall(v1::Media::AsyncService* api, grpc::ServerCompletionQueue* cq,
            RequestMethod method, MediaService* service, Handler handler)
      : api_(api),
        cq_(cq),
        method_(method),
        service_(service),
        handler_(handler),
        writer_(&context_) {
    (api_->*method_)(&context_, &request_, &writer_, cq_, cq_, this);
  }

  void Proceed(bool ok) override {
    if (finishing_ || !ok) {  // finished, or the server is shutting down
      delete this;
      return;
    }
    // Take the next call of this kind before handling this one.
    new UnaryCall(api_, cq_, method_, service_, handler_);
    // Set before the handler: a worker may finish the call, and its
    // completion reach this thread, before the handler returns.
    finishing_ = true;
    (service_->*handler_)(this);
  }

  const Request& request() const { return request_; }
  Response* response() { return &response_; }
  // Exactly once, from any thread.
  void Finish(const absl::Status& status) {
    if (status.ok()) {
      writer_.Finish(response_, grpc::Status::OK, this);
    } else {
      writer_.FinishWithError(ToGrpcStatus(status), this);
    }
  }

 private:
  v1::Media::AsyncService* const api_;
  grpc::ServerCompletionQueue* const cq_;
  const RequestMethod method_;
  MediaService* const service_;
  const Handler handler_;
  grpc::ServerContext context_;
  Request request_;
  Response response_;
  grpc::ServerAsyncResponseWriter<Response> writer_;
  bool finishing_ = false;
};

namespace {

// One WatchEvents stream. Events queue here (the hub calls Deliver on a
// worker with its lock held) and are written one at a time, as gRPC's flow
// control allows; writes complete on the queue thread. The stream ends when
// the client goes away, or when the service stops (Close: finished with
// OK after the write in progress, so the server's shutdown need not wait
// out its grace for it); the object goes once the done notification has
// come and neither a write nor the finish is outstanding.
class EventStream final : public relay::EventWatcher {
 public:
  // `closing`: the service is stopping; a stream that starts then ends at
  // once.
  EventStream(v1::Media::AsyncService* api, grpc::ServerCompletionQueue* cq,
              relay::EventHub* hub, const std::atomic<bool>* closing)
      : api_(api), cq_(cq), hub_(hub), closing_(closing), writer_(&context_) {
    // Only delivered once the call has started (gRPC issue 10136).
    context_.AsyncNotifyWhenDone(&done_);
    api_->RequestWatchEvents(&context_, &request_, &writer_, cq_, cq_,
                             &started_);
  }

  void Deliver(const v1::MediaEvent& event) override {
    absl::MutexLock lock(&mutex_);
    if (ended_) return;
    // A client that does not read loses the oldest events, not our memory
    // (the one being written stays: its completion pops it).
    if (queue_.size() >= kMaxQueued) {
      queue_.erase(queue_.begin() + (writing_ ? 1 : 0));
    }
    queue_.push_back(event);
    if (!writing_) WriteNext();
  }
  void Close() override {
    absl::MutexLock lock(&mutex_);
    if (ended_) return;
    ended_ = true;
    if (!writing_) StartFinish();
  }

 private:
  static constexpr size_t kMaxQueued = 10000;

  // A tag that calls one of the stream's steps.
  class Step final : public QueueTag {
   public:
    Step(EventStream* stream, void (EventStream::*step)(bool))
        : stream_(stream), step_(step) {}
    void Proceed(bool ok) override { (stream_->*step_)(ok); }

   private:
    EventStream* const stream_;
    void (EventStream::*const step_)(bool);
  };

  void OnStarted(bool ok) {
    if (!ok) {  // the server is shutting down; done will not come
      delete this;
      return;
    }
    new EventStream(api_, cq_, hub_, closing_);
    hub_->Add(this);
    if (closing_->load()) Close();
  }
  void OnWritten(bool ok) {
    bool gone;
    {
      absl::MutexLock lock(&mutex_);
      writing_ = false;
      if (ok && !queue_.empty()) queue_.pop_front();
      // A failed write: the call is broken, done follows.
      if (!ok) {
        broken_ = true;
        ended_ = true;
      }
      if (!ended_ && !queue_.empty()) WriteNext();
      if (ended_ && !broken_ && !writing_ && !done_seen_) StartFinish();
      gone = Gone();
    }
    if (gone) delete this;
  }
  void OnFinished(bool) {
    bool gone;
    {
      absl::MutexLock lock(&mutex_);
      finishing_ = false;
      gone = Gone();
    }
    if (gone) delete this;
  }
  void StartFinish() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    if (finish_started_) return;
    finish_started_ = true;
    finishing_ = true;
    writer_.Finish(grpc::Status::OK, &finished_);
  }
  bool Gone() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return done_seen_ && !writing_ && !finishing_;
  }
  void OnDone(bool) {
    // No Deliver after this returns.
    hub_->Remove(this);
    bool gone;
    {
      absl::MutexLock lock(&mutex_);
      ended_ = true;
      done_seen_ = true;
      gone = Gone();
    }
    if (gone) delete this;
  }
  void WriteNext() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    writing_ = true;
    writer_.Write(queue_.front(), &written_);
  }

  v1::Media::AsyncService* const api_;
  grpc::ServerCompletionQueue* const cq_;
  relay::EventHub* const hub_;
  const std::atomic<bool>* const closing_;
  Step started_{this, &EventStream::OnStarted};
  Step written_{this, &EventStream::OnWritten};
  Step done_{this, &EventStream::OnDone};
  Step finished_{this, &EventStream::OnFinished};
  grpc::ServerContext context_;
  v1::WatchEventsRequest request_;
  grpc::ServerAsyncWriter<v1::MediaEvent> writer_;
  absl::Mutex mutex_;
  std::deque<v1::MediaEvent> queue_ ABSL_GUARDED_BY(mutex_);
  bool writing_ ABSL_GUARDED_BY(mutex_) = false;
  bool ended_ ABSL_GUARDED_BY(mutex_) = false;
  bool done_seen_ ABSL_GUARDED_BY(mutex_) = false;
  // A write failed: the call is broken, no finish.
  bool broken_ ABSL_GUARDED_BY(mutex_) = false;
  bool finish_started_ ABSL_GUARDED_BY(mutex_) = false;
  bool finishing_ ABSL_GUARDED_BY(mutex_) = false;
};

template <typename Request, typename Response>
void Await(v1::Media::AsyncService* api, grpc::ServerCompletionQueue* cq,
           typename UnaryCall<Request, Response>::RequestMethod method,
           MediaService* service,
           typename UnaryCall<Request, Response>::Handler handler,
           int waiting) {
  for (int i = 0; i < waiting; ++i) {
    new UnaryCall<Request, Response>(api, cq, method, service, handler);
  }
}

}  // namespace

MediaService::MediaService(std::vector<std::unique_ptr<relay::Worker>>* workers,
                           relay::PortAllocator* ports, relay::EventHub* events)
    : workers_(workers), ports_(ports), events_(events) {}

MediaService::~MediaService() {
  StopPosting();
  StopQueue();
}

void MediaService::Configure(grpc::ServerBuilder* builder) {
  builder->RegisterService(&service_);
  health_.Configure(builder);
  queue_ = builder->AddCompletionQueue();
}

void MediaService::Start() {
  using Api = v1::Media::AsyncService;
  grpc::ServerCompletionQueue* cq = queue_.get();
  // A few calls of the per-call kinds waiting, so a burst does not wait for
  // the next request to be posted.
  Await<v1::OfferRequest, v1::SdpResponse>(&service_, cq, &Api::RequestOffer,
                                           this, &MediaService::Offer, 4);
  Await<v1::AnswerRequest, v1::SdpResponse>(&service_, cq, &Api::RequestAnswer,
                                            this, &MediaService::Answer, 4);
  Await<v1::DeleteRequest, v1::DeleteResponse>(
      &service_, cq, &Api::RequestDelete, this, &MediaService::Delete, 4);
  Await<v1::OfferRequest, v1::SdpResponse>(&service_, cq, &Api::RequestUpdate,
                                           this, &MediaService::Update, 2);
  Await<v1::QueryRequest, v1::QueryResponse>(&service_, cq, &Api::RequestQuery,
                                             this, &MediaService::Query, 2);
  Await<v1::GetLoadRequest, v1::Load>(&service_, cq, &Api::RequestGetLoad, this,
                                      &MediaService::GetLoad, 1);
  Await<v1::DrainRequest, v1::DrainResponse>(&service_, cq, &Api::RequestDrain,
                                             this, &MediaService::Drain, 1);
  new EventStream(&service_, cq, events_, &closing_streams_);
  health_.Start(cq);
  queue_thread_ = std::thread([cq] { PollQueue(cq); });
}

void MediaService::StopPosting() {
  absl::MutexLock lock(&posting_mu_);
  posting_ = false;
}

void MediaService::StopQueue() {
  if (queue_ == nullptr) return;
  queue_->Shutdown();
  if (queue_thread_.joinable()) {
    queue_thread_.join();
  } else {
    PollQueue(queue_.get());  // never started: drain it here
  }
  queue_.reset();
}

relay::Worker& MediaService::WorkerFor(const std::string& call_id) {
  return *(*workers_)[std::hash<std::string>()(call_id) % workers_->size()];
}

bool MediaService::PostTo(relay::Worker& worker, std::function<void()> work) {
  absl::MutexLock lock(&posting_mu_);
  if (!posting_) return false;
  worker.Post(std::move(work));
  return true;
}

namespace {
absl::Status Stopping() {
  return absl::UnavailableError("the media service is stopping");
}
}  // namespace

uint32_t MediaService::sessions() const {
  uint32_t total = 0;
  for (const auto& worker : *workers_) total += worker->sessions();
  return total;
}

void MediaService::PostOffer(UnaryCall<v1::OfferRequest, v1::SdpResponse>* call,
                             bool update) {
  relay::Worker& worker = WorkerFor(call->request().call_id());
  const bool draining = draining_;
  if (!PostTo(worker, [&worker, call, update, draining] {
        absl::StatusOr<std::string> sdp =
            worker.Offer(call->request(), update, draining);
        if (sdp.ok()) call->response()->set_sdp(*std::move(sdp));
        call->Finish(sdp.status());
      })) {
    call->Finish(Stopping());
  }
}

void MediaService::Offer(UnaryCall<v1::OfferRequest, v1::SdpResponse>* call) {
  PostOffer(call, /*update=*/false);
}

void MediaService::Update(UnaryCall<v1::OfferRequest, v1::SdpResponse>* call) {
  PostOffer(call, /*update=*/true);
}

void MediaService::Answer(UnaryCall<v1::AnswerRequest, v1::SdpResponse>* call) {
  relay::Worker& worker = WorkerFor(call->request().call_id());
  if (!PostTo(worker, [&worker, call] {
        absl::StatusOr<std::string> sdp = worker.Answer(call->request());
        if (sdp.ok()) call->response()->set_sdp(*std::move(sdp));
        call->Finish(sdp.status());
      })) {
    call->Finish(Stopping());
  }
}

void MediaService::Delete(
    UnaryCall<v1::DeleteRequest, v1::DeleteResponse>* call) {
  if (call->request().call_id().empty()) {
    call->Finish(absl::InvalidArgumentError("call_id is required"));
    return;
  }
  relay::Worker& worker = WorkerFor(call->request().call_id());
  if (!PostTo(worker, [&worker, call] {
        worker.Delete(call->request().call_id(),
                      call->response()->mutable_streams());
        call->Finish(absl::OkStatus());
      })) {
    call->Finish(Stopping());
  }
}

void MediaService::Query(UnaryCall<v1::QueryRequest, v1::QueryResponse>* call) {
  relay::Worker& worker = WorkerFor(call->request().call_id());
  if (!PostTo(worker, [&worker, call] {
        call->Finish(worker.Query(call->request().call_id(), call->response()));
      })) {
    call->Finish(Stopping());
  }
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

void MediaService::GetLoad(UnaryCall<v1::GetLoadRequest, v1::Load>* call) {
  *call->response() = CurrentLoad();
  call->Finish(absl::OkStatus());
}

void MediaService::Drain(UnaryCall<v1::DrainRequest, v1::DrainResponse>* call) {
  StartDraining();
  TL_LOG(kInfo, "draining: new sessions are refused");
  call->Finish(absl::OkStatus());
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

void MediaApp::ServerStopped() {
  service_->StopPosting();
  StopWorkers();
  service_->StopQueue();
}

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
