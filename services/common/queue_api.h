// What an API port served on gRPC completion queues needs besides its own
// methods (routing's and media's ports).
//
// Why queues: gRPC hands the transport's poller role between every thread
// that waits on a queue of the server, so a port whose methods are a
// callback service is read by gRPC's callback threads and each request is
// handed to another thread (a futex wake and a context switch per call).
// A port served on one queue by one thread reads and answers on that
// thread, and serves nothing from other threads: its health check is
// answered on the same queue (not by gRPC's built-in health service, which
// has threads of its own) and server reflection is on the admin port only
// (a synchronous service, with a thread pool).
#ifndef TRUNKLINE_SERVICES_COMMON_QUEUE_API_H_
#define TRUNKLINE_SERVICES_COMMON_QUEUE_API_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server_builder.h"
#include "trunkline/v1/health_check.grpc.pb.h"

namespace trunkline {

// A completion queue tag: the object an operation was started for.
class QueueTag {
 public:
  virtual ~QueueTag() = default;
  // `ok` as the completion queue reported it.
  virtual void Proceed(bool ok) = 0;
};

// Runs the tags of `cq` until it is shut down and drained.
void PollQueue(grpc::ServerCompletionQueue* cq);

// The port's grpc.health.v1 status, as gRPC's built-in service keeps it:
// "" (the whole server) is known from the start and SERVING; a named service
// is known once set; after Shutdown() everything is NOT_SERVING for good.
// Set from any thread; read by the queue thread answering Check.
class QueueHealthStatus final : public grpc::HealthCheckServiceInterface {
 public:
  QueueHealthStatus();
  void SetServingStatus(const std::string& service, bool serving) override;
  void SetServingStatus(bool serving) override;
  void Shutdown() override;
  // False when `service` is unknown.
  bool Get(const std::string& service,
           grpc::health::v1::HealthCheckResponse::ServingStatus* status) const;

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, bool> serving_ ABSL_GUARDED_BY(mu_);
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

// grpc.health.v1 Check on the port's queue (Watch answers UNIMPLEMENTED,
// which the health protocol tells clients to read as "no health checking"),
// and no reflection on the port.
class QueueHealthService {
 public:
  // Before the server is built. GrpcServer::SetServing then reaches the
  // status through grpc::Server::GetHealthCheckService().
  void Configure(grpc::ServerBuilder* builder);
  // Once the server runs: Check requests wait on `cq`.
  void Start(grpc::ServerCompletionQueue* cq);

 private:
  grpc::health::v1::Health::AsyncService service_;
  QueueHealthStatus* status_ = nullptr;  // owned by the server
};

}  // namespace trunkline

#endif  // TRUNKLINE_SERVICES_COMMON_QUEUE_API_H_
