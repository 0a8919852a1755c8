#include "services/common/grpc_metrics.h"

#include "absl/hash/hash.h"
#include "absl/time/clock.h"
#include "grpcpp/create_channel.h"
#include "services/common/metrics.h"

namespace trunkline {
namespace {

using grpc::experimental::InterceptionHookPoints;

// Measures one call: started at `start_point`, ended at `end_point`.
class LatencyInterceptor final : public grpc::experimental::Interceptor {
 public:
  LatencyInterceptor(GrpcLatency* latency, const char* method,
                     InterceptionHookPoints start_point,
                     InterceptionHookPoints end_point)
      : latency_(latency),
        method_(method),
        start_point_(start_point),
        end_point_(end_point) {}

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(start_point_)) start_ = absl::Now();
    if (methods->QueryInterceptionHookPoint(end_point_) &&
        start_ != absl::InfinitePast()) {
      latency_->Observe(method_, absl::ToDoubleSeconds(absl::Now() - start_));
    }
    methods->Proceed();
  }

 private:
  GrpcLatency* const latency_;
  const char* const method_;
  const InterceptionHookPoints start_point_;
  const InterceptionHookPoints end_point_;
  absl::Time start_ = absl::InfinitePast();
};

class ServerFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit ServerFactory(GrpcLatency* latency) : latency_(latency) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new LatencyInterceptor(
        latency_, info->method(),
        InterceptionHookPoints::POST_RECV_INITIAL_METADATA,
        InterceptionHookPoints::PRE_SEND_STATUS);
  }

 private:
  GrpcLatency* const latency_;
};

class ClientFactory final
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit ClientFactory(GrpcLatency* latency) : latency_(latency) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* info) override {
    return new LatencyInterceptor(
        latency_, info->method(),
        InterceptionHookPoints::PRE_SEND_INITIAL_METADATA,
        InterceptionHookPoints::POST_RECV_STATUS);
  }

 private:
  GrpcLatency* const latency_;
};

}  // namespace

GrpcLatency::GrpcLatency(prometheus::Registry* registry,
                         const std::string& name, const std::string& help)
    : family_(&prometheus::BuildHistogram().Name(name).Help(help).Register(
          *registry)) {}

size_t GrpcLatency::Home(const char* method) {
  return absl::Hash<const void*>()(method) % kCachedMethods;
}

prometheus::Histogram* GrpcLatency::Cached(const char* method) const {
  // Linear probing; slots are never emptied, so an empty one ends the
  // search. The name is compared too: a pointer that is not gRPC's static
  // name (a generic call's) may come again later at the same address with
  // another name.
  for (size_t i = 0, slot = Home(method); i < kCachedMethods;
       ++i, slot = (slot + 1) % kCachedMethods) {
    const Slot& s = slots_[slot];
    const char* cached = s.method.load(std::memory_order_acquire);
    if (cached == nullptr) return nullptr;
    if (cached == method && s.name == method) return s.histogram;
  }
  return nullptr;
}

prometheus::Histogram& GrpcLatency::For(const char* method) {
  if (method == nullptr) method = "unknown";
  if (prometheus::Histogram* h = Cached(method)) return *h;
  absl::MutexLock lock(&insert_mu_);
  // Family::Add returns the existing histogram for known labels.
  prometheus::Histogram& histogram =
      family_->Add({{"method", method}}, FastRpcLatencyBuckets());
  if (Cached(method) != nullptr) return histogram;  // another thread won
  for (size_t i = 0, slot = Home(method); i < kCachedMethods;
       ++i, slot = (slot + 1) % kCachedMethods) {
    Slot& s = slots_[slot];
    if (s.method.load(std::memory_order_relaxed) != nullptr) continue;
    s.name = method;
    s.histogram = &histogram;
    s.method.store(method, std::memory_order_release);
    break;
  }
  // A full table: this method goes through Family::Add every time.
  return histogram;
}

void GrpcLatency::Observe(const char* method, double seconds) {
  For(method).Observe(seconds);
}

std::vector<
    std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
ServerLatencyInterceptors(GrpcLatency* latency) {
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      creators;
  creators.push_back(std::make_unique<ServerFactory>(latency));
  return creators;
}

std::shared_ptr<grpc::Channel> InstrumentedChannel(
    const std::string& address,
    const std::shared_ptr<grpc::ChannelCredentials>& credentials,
    GrpcLatency* latency, const grpc::ChannelArguments& args) {
  std::vector<
      std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
      creators;
  creators.push_back(std::make_unique<ClientFactory>(latency));
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      address, credentials, args, std::move(creators));
}

}  // namespace trunkline
