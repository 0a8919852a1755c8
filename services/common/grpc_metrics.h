// gRPC latency metrics, as interceptors so that every method of every
// service (and every client channel that asks for it) is measured the same
// way, without code in each handler:
//
//   trunkline_<service>_grpc_server_duration_seconds{method}
//   trunkline_<service>_grpc_client_duration_seconds{method}
//
// From the request's arrival (its initial metadata) to the status being
// sent on the server; from the call's start to its status on the client.
#ifndef TRUNKLINE_SERVICES_COMMON_GRPC_METRICS_H_
#define TRUNKLINE_SERVICES_COMMON_GRPC_METRICS_H_

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "grpcpp/channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "grpcpp/support/client_interceptor.h"
#include "grpcpp/support/server_interceptor.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace trunkline {

// One histogram family; histograms per method are made on first use.
//
// Observe runs on every RPC, on any thread. gRPC names a method by a
// pointer into the generated code's static table, the same pointer for
// every call of that method, so each method's histogram is found by that
// pointer in a small fixed table read without a lock (its slots are written
// once, under a mutex, the first time a method is seen). The family's own
// lookup (a mutex and a hash of the labels) runs once per method, and for
// every call only when the table is full.
class GrpcLatency {
 public:
  GrpcLatency(prometheus::Registry* registry, const std::string& name,
              const std::string& help);
  GrpcLatency(const GrpcLatency&) = delete;
  GrpcLatency& operator=(const GrpcLatency&) = delete;

  void Observe(const char* method, double seconds);
  // The histogram of `method` (nullptr: "unknown"), made on first use.
  prometheus::Histogram& For(const char* method);

  // Method pointers the table holds; further ones take the family's lookup.
  static constexpr size_t kCachedMethods = 128;

 private:
  struct Slot {
    // Set once, after `name` and `histogram`, with release order: a reader
    // that sees the pointer sees the rest.
    std::atomic<const char*> method{nullptr};
    std::string name;
    prometheus::Histogram* histogram = nullptr;
  };
  prometheus::Histogram* Cached(const char* method) const;
  static size_t Home(const char* method);

  prometheus::Family<prometheus::Histogram>* family_;
  std::array<Slot, kCachedMethods> slots_;
  absl::Mutex insert_mu_;  // serializes writers of slots_
};

// Server side: pass to ServerBuilder::experimental().SetInterceptorCreators.
std::vector<
    std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
ServerLatencyInterceptors(GrpcLatency* latency);

// Client side: a channel whose every call is measured into `latency`.
std::shared_ptr<grpc::Channel> InstrumentedChannel(
    const std::string& address,
    const std::shared_ptr<grpc::ChannelCredentials>& credentials,
    GrpcLatency* latency,
    const grpc::ChannelArguments& args = grpc::ChannelArguments());

}  // namespace trunkline

#endif  // TRUNKLINE_SERVICES_COMMON_GRPC_METRICS_H_
