// Load generator for the routing service's gRPC API: sends Route requests
// over loopback at a fixed rate (open loop: a slow server does not slow the
// sender, so queueing shows up in the latency), and reports the rate
// achieved and latency percentiles. With --method=health it sends the
// standard gRPC health check to the same server instead: the bare cost of a
// unary call, measured in the same run as the floor to compare against.
//
//   routing_load --target=127.0.0.1:50061 --rate=20000 --seconds=10
//                [--method=route|health]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "services/routing/bench_topology.h"
#include "trunkline/v1/routing.grpc.pb.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50061", "routing service address");
ABSL_FLAG(int, rate, 20000, "requests per second");
ABSL_FLAG(int, seconds, 10, "duration");
ABSL_FLAG(std::string, method, "route", "route or health");
ABSL_FLAG(int, channels, 2, "gRPC channels (connections) to spread over");

namespace {

using Clock = std::chrono::steady_clock;

// Requests are serialized once up front and replies are not decoded: the
// generator shares the machine with the server, so it should spend as
// little CPU per call as it can.
struct Call {
  grpc::ClientContext context;
  grpc::ByteBuffer reply;
  grpc::Status status;
  Clock::time_point start;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> reader;
};

grpc::ByteBuffer Serialized(const google::protobuf::Message& message) {
  std::string bytes = message.SerializeAsString();
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  // As the services do (see services/common/service_runtime.cc).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const int rate = absl::GetFlag(FLAGS_rate);
  const int seconds = absl::GetFlag(FLAGS_seconds);
  const bool health = absl::GetFlag(FLAGS_method) == "health";
  std::vector<std::unique_ptr<grpc::GenericStub>> generic;
  for (int i = 0; i < absl::GetFlag(FLAGS_channels); ++i) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.channel_id", i);  // distinct connections
    auto channel = grpc::CreateCustomChannel(
        absl::GetFlag(FLAGS_target), grpc::InsecureChannelCredentials(), args);
    if (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                   std::chrono::seconds(5))) {
      std::fprintf(stderr, "routing_load: cannot connect to %s\n",
                   absl::GetFlag(FLAGS_target).c_str());
      return 3;
    }
    generic.push_back(std::make_unique<grpc::GenericStub>(channel));
  }
  std::vector<grpc::ByteBuffer> requests;
  for (const auto& r : trunkline::routing::GenerateBenchRequests({}, 20000)) {
    requests.push_back(Serialized(r));
  }
  // An empty HealthCheckRequest (service "") serialises to zero bytes.
  grpc::ByteBuffer empty_health_request;
  {
    grpc::Slice slice("", 0);
    empty_health_request = grpc::ByteBuffer(&slice, 1);
  }
  const char* method = health ? "/grpc.health.v1.Health/Check"
                              : "/trunkline.v1.Routing/Route";

  grpc::CompletionQueue cq;
  std::vector<double> micros;
  micros.reserve(static_cast<size_t>(rate) * seconds);
  std::atomic<long> failed{0};
  std::atomic<bool> sending_done{false};
  std::atomic<long> sent{0};
  std::thread receiver([&] {
    void* tag;
    bool ok;
    long received = 0;
    while (cq.Next(&tag, &ok)) {
      auto* call = static_cast<Call*>(tag);
      micros.push_back(
          std::chrono::duration<double, std::micro>(Clock::now() - call->start)
              .count());
      if (!ok || !call->status.ok()) ++failed;
      delete call;
      ++received;
      if (sending_done && received == sent) break;
    }
  });

  const auto interval = std::chrono::nanoseconds(1000000000LL / rate);
  const auto begin = Clock::now();
  const long total = static_cast<long>(rate) * seconds;
  for (long i = 0; i < total; ++i) {
    // Sleep (never spin: the server shares these two cores) until this
    // request is due; requests that fell due meanwhile go out back to back.
    const auto due = begin + i * interval;
    if (Clock::now() < due) std::this_thread::sleep_until(due);
    auto* call = new Call();
    call->start = Clock::now();
    call->context.set_deadline(std::chrono::system_clock::now() +
                               std::chrono::seconds(5));
    const size_t channel = static_cast<size_t>(i) % generic.size();
    call->reader = generic[channel]->PrepareUnaryCall(
        &call->context, method,
        health ? empty_health_request
               : requests[static_cast<size_t>(i) % requests.size()],
        &cq);
    call->reader->StartCall();
    call->reader->Finish(&call->reply, &call->status, call);
    ++sent;
  }
  const double send_seconds =
      std::chrono::duration<double>(Clock::now() - begin).count();
  sending_done = true;
  receiver.join();
  const double all_seconds =
      std::chrono::duration<double>(Clock::now() - begin).count();
  cq.Shutdown();
  std::sort(micros.begin(), micros.end());
  auto pct = [&](double p) {
    return micros[static_cast<size_t>(p * (micros.size() - 1))];
  };
  std::printf(
      "routing_load method=%s offered=%d/s achieved=%.0f/s requests=%ld "
      "failed=%ld "
      "p50=%.0fus p99=%.0fus p999=%.0fus max=%.0fus\n",
      health ? "health" : "route", rate, sent / all_seconds, sent.load(),
      failed.load(), pct(0.5), pct(0.99), pct(0.999), micros.back());
  (void)send_seconds;
  return failed > 0 ? 1 : 0;
}
