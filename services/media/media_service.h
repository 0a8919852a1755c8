// The media service's gRPC API (media.proto) over the relay workers, and the
// ServiceApp the shared runtime drives.
//
// Each call is owned by one worker, chosen by a hash of its call id, so
// every request for a call lands on the same thread. The API is served on
// one gRPC completion queue with one thread (queue_api.h says why): it reads
// each request, posts the work to the owning worker and goes on; the worker
// runs it and finishes the RPC (Finish does not block, and its completion
// comes back to the queue thread). The queue thread never touches a
// session. GetLoad reads the workers' atomic counters; WatchEvents streams
// what the EventHub publishes.
#ifndef TRUNKLINE_SERVICES_MEDIA_MEDIA_SERVICE_H_
#define TRUNKLINE_SERVICES_MEDIA_MEDIA_SERVICE_H_

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/server_builder.h"
#include "services/common/queue_api.h"
#include "services/common/service_runtime.h"
#include "services/media/relay/event_hub.h"
#include "services/media/relay/port_allocator.h"
#include "services/media/relay/relay_metrics.h"
#include "services/media/relay/worker.h"
#include "trunkline/v1/media.grpc.pb.h"

namespace trunkline::media {

template <typename Request, typename Response>
class UnaryCall;

// What main.cc reads from the media flags.
struct MediaConfig {
  uint32_t rtp_port_min = 30000;
  uint32_t rtp_port_max = 39999;
  absl::Duration port_quarantine = absl::Seconds(30);
  // 0: one per core.
  uint32_t workers = 0;
  relay::WorkerOptions worker;
  // SIGTERM waits this long for the calls to end.
  absl::Duration drain_timeout = absl::Minutes(10);
};

class MediaService {
 public:
  MediaService(std::vector<std::unique_ptr<relay::Worker>>* workers,
               relay::PortAllocator* ports, relay::EventHub* events);
  ~MediaService();

  // Before the server is built: the API, its health check, one queue.
  void Configure(grpc::ServerBuilder* builder);
  // Once it runs: the queue's thread.
  void Start();
  // Once the server has shut down, in this order: no more work goes to the
  // workers (a request still read gets UNAVAILABLE); the caller stops the
  // workers, which runs what was posted, so every RPC is finished; then
  // StopQueue() drains the queue and joins its thread.
  void StopPosting();
  void StopQueue();
  // Before the server shuts down: ends the event streams (clients see OK
  // and reconnect elsewhere), so the shutdown does not wait for them.
  void CloseStreams() {
    closing_streams_ = true;
    events_->CloseAll();
  }

  void StartDraining() { draining_ = true; }
  bool draining() const { return draining_; }
  uint32_t sessions() const;
  // What GetLoad answers; any thread (the workers' atomic counters).
  v1::Load CurrentLoad() const;

  // The methods, on the queue thread; each finishes `call` (here or on a
  // worker).
  void Offer(UnaryCall<v1::OfferRequest, v1::SdpResponse>* call);
  void Update(UnaryCall<v1::OfferRequest, v1::SdpResponse>* call);
  void Answer(UnaryCall<v1::AnswerRequest, v1::SdpResponse>* call);
  void Delete(UnaryCall<v1::DeleteRequest, v1::DeleteResponse>* call);
  void Query(UnaryCall<v1::QueryRequest, v1::QueryResponse>* call);
  void GetLoad(UnaryCall<v1::GetLoadRequest, v1::Load>* call);
  void Drain(UnaryCall<v1::DrainRequest, v1::DrainResponse>* call);

 private:
  relay::Worker& WorkerFor(const std::string& call_id);
  void PostOffer(UnaryCall<v1::OfferRequest, v1::SdpResponse>* call,
                 bool update);
  // Runs `work` on the call's worker; false once StopPosting() has run.
  bool PostTo(relay::Worker& worker, std::function<void()> work);

  std::vector<std::unique_ptr<relay::Worker>>* workers_;
  relay::PortAllocator* ports_;
  relay::EventHub* events_;
  std::atomic<bool> draining_{false};
  std::atomic<bool> closing_streams_{false};
  v1::Media::AsyncService service_;
  QueueHealthService health_;
  std::unique_ptr<grpc::ServerCompletionQueue> queue_;
  std::thread queue_thread_;
  absl::Mutex posting_mu_;
  bool posting_ ABSL_GUARDED_BY(posting_mu_) = true;
};

class MediaApp final : public ServiceApp {
 public:
  static absl::StatusOr<std::unique_ptr<MediaApp>> Create(
      const MediaConfig& config, prometheus::Registry* registry);
  ~MediaApp() override;

  absl::Status ApplyTopology(
      std::shared_ptr<const LoadedTopology> topology) override;
  void ConfigureServer(grpc::ServerBuilder* builder) override {
    service_->Configure(builder);
  }
  void ServerStarted() override { service_->Start(); }
  void ServerStopping() override { service_->CloseStreams(); }
  void ServerStopped() override;
  void Drain(const std::function<void()>& done) override;
  // Sessions, streams, packets per second and capacity left (GetLoad's).
  void FillLoad(v1::NodeLoad* load) override;

 private:
  MediaApp() = default;
  void StopWorkers();

  MediaConfig config_;
  std::unique_ptr<relay::RelayMetrics> metrics_;
  std::unique_ptr<relay::PortAllocator> ports_;
  relay::EventHub events_;
  std::vector<std::unique_ptr<relay::Worker>> workers_;
  std::unique_ptr<MediaService> service_;
  std::thread drain_thread_;
  std::atomic<bool> stopping_{false};
};

}  // namespace trunkline::media

#endif  // TRUNKLINE_SERVICES_MEDIA_MEDIA_SERVICE_H_
