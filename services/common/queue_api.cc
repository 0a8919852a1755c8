#include "services/common/queue_api.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "grpcpp/ext/health_check_service_server_builder_option.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"

namespace trunkline {
namespace {

// One grpc.health.v1.Health/Check on the port's queue.
class HealthCall final : public QueueTag {
 public:
  using Health = grpc::health::v1::Health;
  using Response = grpc::health::v1::HealthCheckResponse;

  HealthCall(Health::AsyncService* service, grpc::ServerCompletionQueue* cq,
             const QueueHealthStatus* status)
      : service_(service), cq_(cq), status_(status), writer_(&context_) {
    service_->RequestCheck(&context_, &request_, &writer_, cq_, cq_, this);
  }

  void Proceed(bool ok) override {
    if (finishing_ || !ok) {
      delete this;
      return;
    }
    new HealthCall(service_, cq_, status_);
    finishing_ = true;
    Response response;
    Response::ServingStatus serving;
    if (!status_->Get(request_.service(), &serving)) {
      // As gRPC's own health service answers an unknown service.
      writer_.FinishWithError(
          grpc::Status(grpc::StatusCode::NOT_FOUND, "service name unknown"),
          this);
      return;
    }
    response.set_status(serving);
    writer_.Finish(response, grpc::Status::OK, this);
  }

 private:
  Health::AsyncService* const service_;
  grpc::ServerCompletionQueue* const cq_;
  const QueueHealthStatus* const status_;
  grpc::ServerContext context_;
  grpc::health::v1::HealthCheckRequest request_;
  grpc::ServerAsyncResponseWriter<Response> writer_;
  bool finishing_ = false;
};

// Keeps server reflection (a synchronous service: a thread pool polling
// with the queue's thread) off the port; the admin port serves it.
class NoReflectionOption final : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>*
                         plugins) override {
    plugins->erase(
        std::remove_if(
            plugins->begin(), plugins->end(),
            [](const std::unique_ptr<grpc::ServerBuilderPlugin>& p) {
              return dynamic_cast<
                         grpc::reflection::ProtoServerReflectionPlugin*>(
                         p.get()) != nullptr;
            }),
        plugins->end());
  }
};

}  // namespace

void PollQueue(grpc::ServerCompletionQueue* cq) {
  void* tag;
  bool ok;
  while (cq->Next(&tag, &ok)) static_cast<QueueTag*>(tag)->Proceed(ok);
}

QueueHealthStatus::QueueHealthStatus() { serving_[""] = true; }

void QueueHealthStatus::SetServingStatus(const std::string& service,
                                         bool serving) {
  absl::MutexLock lock(&mu_);
  serving_[service] = serving && !shut_down_;
}

void QueueHealthStatus::SetServingStatus(bool serving) {
  absl::MutexLock lock(&mu_);
  for (auto& [name, value] : serving_) value = serving && !shut_down_;
}

void QueueHealthStatus::Shutdown() {
  absl::MutexLock lock(&mu_);
  shut_down_ = true;
  for (auto& [name, value] : serving_) value = false;
}

bool QueueHealthStatus::Get(
    const std::string& service,
    grpc::health::v1::HealthCheckResponse::ServingStatus* status) const {
  absl::MutexLock lock(&mu_);
  auto it = serving_.find(service);
  if (it == serving_.end()) return false;
  *status = it->second ? grpc::health::v1::HealthCheckResponse::SERVING
                       : grpc::health::v1::HealthCheckResponse::NOT_SERVING;
  return true;
}

void QueueHealthService::Configure(grpc::ServerBuilder* builder) {
  builder->RegisterService(&service_);
  auto status = std::make_unique<QueueHealthStatus>();
  status_ = status.get();
  builder->SetOption(
      std::make_unique<grpc::HealthCheckServiceServerBuilderOption>(
          std::move(status)));
  builder->SetOption(std::make_unique<NoReflectionOption>());
}

void QueueHealthService::Start(grpc::ServerCompletionQueue* cq) {
  // Two waiting, so a second check does not wait for the first's repost.
  for (int i = 0; i < 2; ++i) new HealthCall(&service_, cq, status_);
}

}  // namespace trunkline
