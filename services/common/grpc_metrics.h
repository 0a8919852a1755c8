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

#include <memory>
#include <string>
#include <vector>

#include "grpcpp/channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/client_interceptor.h"
#include "grpcpp/support/server_interceptor.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace trunkline {

// One histogram family; histograms per method are made on first use.
class GrpcLatency {
 public:
  GrpcLatency(prometheus::Registry* registry, const std::string& name,
              const std::string& help);
  void Observe(const char* method, double seconds);

 private:
  prometheus::Family<prometheus::Histogram>* family_;
};

// Server side: pass to ServerBuilder::experimental().SetInterceptorCreators.
std::vector<
    std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
ServerLatencyInterceptors(GrpcLatency* latency);

// Client side: a channel whose every call is measured into `latency`.
std::shared_ptr<grpc::Channel> InstrumentedChannel(
    const std::string& address,
    const std::shared_ptr<grpc::ChannelCredentials>& credentials,
    GrpcLatency* latency);

}  // namespace trunkline

#endif  // TRUNKLINE_SERVICES_COMMON_GRPC_METRICS_H_
