// The media service's gRPC API (media.proto) over the relay workers, and the
// ServiceApp the shared runtime drives.
//
// Each call is owned by one worker, chosen by a hash of its call id, so
// every request for a call lands on the same thread. Handlers run on gRPC's
// callback threads and never touch a session: they post the work to the
// owning worker and return; the worker finishes the RPC when it has run it
// (Finish does not block). GetLoad reads the workers' atomic counters;
// WatchEvents streams what the EventHub publishes.
#ifndef TRUNKLINE_SERVICES_MEDIA_MEDIA_SERVICE_H_
#define TRUNKLINE_SERVICES_MEDIA_MEDIA_SERVICE_H_

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "services/common/service_runtime.h"
#include "services/media/relay/event_hub.h"
#include "services/media/relay/port_allocator.h"
#include "services/media/relay/relay_metrics.h"
#include "services/media/relay/worker.h"
#include "trunkline/v1/media.grpc.pb.h"

namespace trunkline::media {

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

class MediaService final : public v1::Media::CallbackService {
 public:
  MediaService(std::vector<std::unique_ptr<relay::Worker>>* workers,
               relay::PortAllocator* ports, relay::EventHub* events);

  grpc::ServerUnaryReactor* Offer(grpc::CallbackServerContext* context,
                                  const v1::OfferRequest* request,
                                  v1::SdpResponse* response) override;
  grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* context,
                                   const v1::AnswerRequest* request,
                                   v1::SdpResponse* response) override;
  grpc::ServerUnaryReactor* Update(grpc::CallbackServerContext* context,
                                   const v1::OfferRequest* request,
                                   v1::SdpResponse* response) override;
  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* context,
                                   const v1::DeleteRequest* request,
                                   v1::DeleteResponse* response) override;
  grpc::ServerUnaryReactor* Query(grpc::CallbackServerContext* context,
                                  const v1::QueryRequest* request,
                                  v1::QueryResponse* response) override;
  grpc::ServerUnaryReactor* GetLoad(grpc::CallbackServerContext* context,
                                    const v1::GetLoadRequest* request,
                                    v1::Load* response) override;
  grpc::ServerUnaryReactor* Drain(grpc::CallbackServerContext* context,
                                  const v1::DrainRequest* request,
                                  v1::DrainResponse* response) override;
  grpc::ServerWriteReactor<v1::MediaEvent>* WatchEvents(
      grpc::CallbackServerContext* context,
      const v1::WatchEventsRequest* request) override;

  void StartDraining() { draining_ = true; }
  bool draining() const { return draining_; }
  uint32_t sessions() const;
  // What GetLoad answers; any thread (the workers' atomic counters).
  v1::Load CurrentLoad() const;

 private:
  relay::Worker& WorkerFor(const std::string& call_id);
  grpc::ServerUnaryReactor* PostOffer(grpc::CallbackServerContext* context,
                                      const v1::OfferRequest* request,
                                      v1::SdpResponse* response, bool update);

  std::vector<std::unique_ptr<relay::Worker>>* workers_;
  relay::PortAllocator* ports_;
  relay::EventHub* events_;
  std::atomic<bool> draining_{false};
};

class MediaApp final : public ServiceApp {
 public:
  static absl::StatusOr<std::unique_ptr<MediaApp>> Create(
      const MediaConfig& config, prometheus::Registry* registry);
  ~MediaApp() override;

  absl::Status ApplyTopology(
      std::shared_ptr<const LoadedTopology> topology) override;
  std::vector<grpc::Service*> GrpcServices() override {
    return {service_.get()};
  }
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
