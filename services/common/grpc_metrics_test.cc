#include "services/common/grpc_metrics.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "services/common/grpc_server.h"
#include "trunkline/v1/admin.grpc.pb.h"

namespace trunkline {
namespace {

// Count of the histogram labelled method=`method`, -1 when there is none.
int64_t Count(prometheus::Registry& registry, const std::string& method) {
  for (const prometheus::MetricFamily& f : registry.Collect()) {
    for (const prometheus::ClientMetric& m : f.metric) {
      for (const prometheus::ClientMetric::Label& l : m.label) {
        if (l.name == "method" && l.value == method) {
          return static_cast<int64_t>(m.histogram.sample_count);
        }
      }
    }
  }
  return -1;
}

size_t Series(prometheus::Registry& registry) {
  size_t n = 0;
  for (const prometheus::MetricFamily& f : registry.Collect()) {
    n += f.metric.size();
  }
  return n;
}

TEST(GrpcLatencyTest, OneHistogramPerMethodNameWhateverThePointer) {
  prometheus::Registry registry;
  GrpcLatency latency(&registry, "test_grpc_duration_seconds", "help");
  static const char kGet[] = "/trunkline.v1.Admin/GetStatus";
  latency.Observe(kGet, 0.001);
  latency.Observe(kGet, 0.002);
  // The same name at another address (a generic call's own string).
  std::string copy = kGet;
  latency.Observe(copy.c_str(), 0.003);
  latency.Observe("/trunkline.v1.Admin/DrainNode", 0.001);
  latency.Observe(nullptr, 0.001);
  EXPECT_EQ(Count(registry, kGet), 3);
  EXPECT_EQ(Count(registry, "/trunkline.v1.Admin/DrainNode"), 1);
  EXPECT_EQ(Count(registry, "unknown"), 1);
  EXPECT_EQ(Series(registry), 3u);
  EXPECT_EQ(&latency.For(kGet), &latency.For(copy.c_str()));
}

TEST(GrpcLatencyTest, AReusedAddressWithAnotherNameIsAnotherMethod) {
  prometheus::Registry registry;
  GrpcLatency latency(&registry, "test_grpc_duration_seconds", "help");
  char name[64] = "/a.A/First";
  latency.Observe(name, 0.001);
  std::snprintf(name, sizeof(name), "/a.A/Second");
  latency.Observe(name, 0.001);
  EXPECT_EQ(Count(registry, "/a.A/First"), 1);
  EXPECT_EQ(Count(registry, "/a.A/Second"), 1);
}

TEST(GrpcLatencyTest, MoreMethodsThanTheTableHoldsAreStillCounted) {
  prometheus::Registry registry;
  GrpcLatency latency(&registry, "test_grpc_duration_seconds", "help");
  std::vector<std::string> names;
  for (size_t i = 0; i < GrpcLatency::kCachedMethods + 20; ++i) {
    names.push_back(absl::StrCat("/m.M/Method", i));
  }
  for (int round = 0; round < 2; ++round) {
    for (const std::string& n : names) latency.Observe(n.c_str(), 0.001);
  }
  for (const std::string& n : names) EXPECT_EQ(Count(registry, n), 2) << n;
}

TEST(GrpcLatencyTest, ConcurrentCallsLoseNoObservation) {
  prometheus::Registry registry;
  GrpcLatency latency(&registry, "test_grpc_duration_seconds", "help");
  static const char* const kMethods[] = {"/a.A/One", "/a.A/Two", "/a.A/Three"};
  constexpr int kThreads = 4, kEach = 20000;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&latency, t] {
      for (int i = 0; i < kEach; ++i) {
        latency.Observe(kMethods[(i + t) % 3], 0.0001);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  int64_t total = 0;
  for (const char* m : kMethods) total += Count(registry, m);
  EXPECT_EQ(total, kThreads * kEach);
  EXPECT_EQ(Series(registry), 3u);
}

// The interceptors through a real server and channel: each side measures
// the method by its full name.
class StatusOnly final : public v1::Admin::CallbackService {
  grpc::ServerUnaryReactor* GetStatus(grpc::CallbackServerContext* context,
                                      const v1::GetStatusRequest*,
                                      v1::NodeStatus* status) override {
    status->set_service("test");
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

TEST(GrpcLatencyTest, InterceptorsMeasureServerAndClientCallsByMethod) {
  prometheus::Registry registry;
  GrpcLatency server_latency(&registry, "test_server_seconds", "help");
  GrpcLatency client_latency(&registry, "test_client_seconds", "help");
  StatusOnly service;
  auto server =
      GrpcServer::Start("127.0.0.1:0", {&service}, nullptr,
                        [&server_latency](grpc::ServerBuilder* b) {
                          b->experimental().SetInterceptorCreators(
                              ServerLatencyInterceptors(&server_latency));
                        });
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = v1::Admin::NewStub(
      InstrumentedChannel(absl::StrCat("127.0.0.1:", (*server)->port()),
                          grpc::InsecureChannelCredentials(), &client_latency));
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext context;
    v1::NodeStatus status;
    ASSERT_TRUE(stub->GetStatus(&context, {}, &status).ok());
  }
  (*server)->Shutdown(absl::ZeroDuration());
  // Both histograms carry the method; 3 calls each side (6 in all).
  EXPECT_EQ(Count(registry, "/trunkline.v1.Admin/GetStatus"), 3);
  int64_t total = 0;
  for (const prometheus::MetricFamily& f : registry.Collect()) {
    for (const prometheus::ClientMetric& m : f.metric) {
      total += static_cast<int64_t>(m.histogram.sample_count);
    }
  }
  EXPECT_EQ(total, 6);
}

}  // namespace
}  // namespace trunkline
