// Load generator for the routing service's gRPC API: sends Route requests
// over loopback at a fixed rate (open loop: a slow server does not slow the
// sender, so queueing shows up in the latency), and reports the rate
// achieved and latency percentiles. With --method=health it sends the
// standard gRPC health check to the same server instead: the bare cost of a
// unary call, measured in the same run as the floor to compare against.
//
//   routing_load --target=127.0.0.1:50061 --rate=20000 --seconds=10
//                [--method=route|health]
//
// One thread sends and reaps, on one completion queue: it waits on the queue
// until the next request is due, so it is the only thread polling gRPC's
// transport and no completion is handed from one thread to another (each
// hand-off is a futex wake and a context switch, on the two cores the
// server also runs on).
//
// --spin: the thread polls the queue without ever sleeping. gRPC rounds a
// wait's deadline up to a whole millisecond, so a sleeping generator sends
// up to a millisecond's requests at once and takes each reply only when it
// wakes; spinning, every request goes out when due and every reply is
// taken as it arrives, so the figures are the server's and the loopback's,
// not the generator's sleep. It takes the whole of a core: use it when the
// generator has one of its own (tools/bench/run.sh pins it), never on the
// server's.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/synchronization/mutex.h"
#include "grpc/grpc.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "services/routing/bench_topology.h"
#include "trunkline/v1/routing.grpc.pb.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50061", "routing service address");
ABSL_FLAG(int, rate, 20000, "requests per second");
ABSL_FLAG(int, seconds, 10, "duration");
ABSL_FLAG(std::string, method, "route", "route or health");
ABSL_FLAG(int, channels, 1, "gRPC channels (connections) to spread over");
ABSL_FLAG(int, max_in_flight, 5000,
          "requests outstanding at most; when reached, sending waits (the "
          "report counts how often)");
ABSL_FLAG(bool, spin, false,
          "poll the completion queue without sleeping (takes a whole core; "
          "see the comment at the top)");
ABSL_FLAG(bool, minimal_stack, true,
          "channels without gRPC's optional filters (grpc.minimal_stack)");

namespace {

using Clock = std::chrono::steady_clock;

// Requests are serialized once up front and replies are not decoded: the
// generator shares the machine with the server, so it should spend as
// little CPU per call as it can. Calls carry no deadline (a deadline is a
// timer per call on both sides); the run is bounded instead by cancelling
// whatever is still outstanding after kStallLimit without a reply.
constexpr auto kStallLimit = std::chrono::seconds(10);

struct Call {
  grpc::ClientContext context;
  grpc::ByteBuffer reply;
  grpc::Status status;
  Clock::time_point due, start;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> reader;
  Call* prev = nullptr;  // outstanding calls, for cancelling on a stall
  Call* next = nullptr;
};

grpc::ByteBuffer Serialized(const google::protobuf::Message& message) {
  std::string bytes = message.SerializeAsString();
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) /
             1e6;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  // As the services do (see services/common/service_runtime.cc): Debian's
  // Abseil would check every gRPC lock for lock-order cycles.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const int rate = absl::GetFlag(FLAGS_rate);
  const int seconds = absl::GetFlag(FLAGS_seconds);
  const bool health = absl::GetFlag(FLAGS_method) == "health";
  const bool spin = absl::GetFlag(FLAGS_spin);
  const long max_in_flight = std::max(1, absl::GetFlag(FLAGS_max_in_flight));
  std::vector<std::unique_ptr<grpc::GenericStub>> generic;
  for (int i = 0; i < absl::GetFlag(FLAGS_channels); ++i) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.channel_id", i);  // distinct connections
    // Nothing here retries: no retry filter and its per-call state.
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
    if (absl::GetFlag(FLAGS_minimal_stack)) {
      args.SetInt(GRPC_ARG_MINIMAL_STACK, 1);
    }
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
  const char* method =
      health ? "/grpc.health.v1.Health/Check" : "/trunkline.v1.Routing/Route";

  const long total = static_cast<long>(rate) * seconds;
  // Latency from the request's send, and from when it was due (which also
  // counts any lag of the sender itself).
  std::vector<double> micros, micros_from_due;
  micros.reserve(static_cast<size_t>(total));
  micros_from_due.reserve(static_cast<size_t>(total));
  long sent = 0, received = 0, failed = 0, in_flight = 0, throttled = 0;
  Call outstanding;  // list head
  outstanding.prev = outstanding.next = &outstanding;
  grpc::CompletionQueue cq;
  const double setup_cpu = CpuSeconds();
  const auto interval = std::chrono::nanoseconds(1000000000LL / rate);
  const auto begin = Clock::now();
  auto last_progress = begin;
  bool cancelled = false;
  while (received < total) {
    const auto now = Clock::now();
    const auto due = begin + sent * interval;
    if (sent < total && due <= now) {
      if (in_flight >= max_in_flight) {
        ++throttled;
      } else {
        auto* call = new Call();
        call->due = due;
        call->start = now;
        call->next = outstanding.next;
        call->prev = &outstanding;
        outstanding.next->prev = call;
        outstanding.next = call;
        const size_t channel = static_cast<size_t>(sent) % generic.size();
        call->reader = generic[channel]->PrepareUnaryCall(
            &call->context, method,
            health ? empty_health_request
                   : requests[static_cast<size_t>(sent) % requests.size()],
            &cq);
        call->reader->StartCall();
        call->reader->Finish(&call->reply, &call->status, call);
        ++sent;
        ++in_flight;
        continue;  // anything else due goes out back to back
      }
    }
    // Reap until the next request is due (or, with nothing left to send or
    // no room to send it, for a while).
    auto wait_until = now + std::chrono::milliseconds(100);
    if (sent < total && in_flight < max_in_flight) {
      wait_until = std::min(wait_until, begin + sent * interval);
    }
    void* tag;
    bool ok;
    // gRPC takes system_clock deadlines and rounds them up to the next
    // millisecond: a deadline of "now" still sleeps up to 1 ms, so spinning
    // asks for one in the past (a poll that does not wait).
    const auto deadline =
        spin ? std::chrono::system_clock::now() - std::chrono::seconds(1)
             : std::chrono::system_clock::now() +
                   std::chrono::duration_cast<std::chrono::nanoseconds>(
                       wait_until - now);
    switch (cq.AsyncNext(&tag, &ok, deadline)) {
      case grpc::CompletionQueue::GOT_EVENT: {
        const auto done = Clock::now();
        auto* call = static_cast<Call*>(tag);
        micros.push_back(
            std::chrono::duration<double, std::micro>(done - call->start)
                .count());
        micros_from_due.push_back(
            std::chrono::duration<double, std::micro>(done - call->due)
                .count());
        if (!ok || !call->status.ok()) ++failed;
        call->prev->next = call->next;
        call->next->prev = call->prev;
        delete call;
        ++received;
        --in_flight;
        last_progress = done;
        break;
      }
      case grpc::CompletionQueue::TIMEOUT:
        if (!cancelled && in_flight > 0 &&
            Clock::now() - last_progress > kStallLimit) {
          std::fprintf(stderr,
                       "routing_load: no reply for %lld s; cancelling %ld "
                       "calls\n",
                       static_cast<long long>(kStallLimit.count()), in_flight);
          for (Call* c = outstanding.next; c != &outstanding; c = c->next) {
            c->context.TryCancel();
          }
          cancelled = true;
        }
        break;
      case grpc::CompletionQueue::SHUTDOWN:
        received = total;
        break;
    }
  }
  const double all_seconds =
      std::chrono::duration<double>(Clock::now() - begin).count();
  const double cpu_seconds = CpuSeconds() - setup_cpu;
  cq.Shutdown();
  {
    void* tag;
    bool ok;
    while (cq.Next(&tag, &ok)) {
    }
  }
  std::sort(micros.begin(), micros.end());
  std::sort(micros_from_due.begin(), micros_from_due.end());
  auto pct = [](const std::vector<double>& v, double p) {
    return v.empty() ? 0.0 : v[static_cast<size_t>(p * (v.size() - 1))];
  };
  // The generator's own CPU (every thread, user + system) per request: it
  // shares the two cores with the server. Spinning, it is the whole core's
  // time divided by the requests.
  std::printf(
      "routing_load method=%s offered=%d/s achieved=%.0f/s requests=%ld "
      "failed=%ld p50=%.0fus p99=%.0fus p999=%.0fus max=%.0fus "
      "p99_from_due=%.0fus throttled=%ld client_cpu_per_request=%.1fus "
      "spin=%d\n",
      health ? "health" : "route", rate,
      static_cast<double>(sent) / all_seconds, sent, failed, pct(micros, 0.5),
      pct(micros, 0.99), pct(micros, 0.999),
      micros.empty() ? 0.0 : micros.back(), pct(micros_from_due, 0.99),
      throttled, cpu_seconds * 1e6 / static_cast<double>(std::max(sent, 1L)),
      spin ? 1 : 0);
  return failed > 0 ? 1 : 0;
}
