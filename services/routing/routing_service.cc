#include "services/routing/routing_service.h"

#include <algorithm>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/arena.h"
#include "services/common/error_table.h"
#include "services/common/metrics.h"
#include "services/routing/route_engine.h"

ABSL_FLAG(int, queue_threads, 1,
          "completion queues of the API port, each with its polling thread; "
          "more than one only when a core cannot keep up (each extra thread "
          "takes turns reading the connections: a hand-off per call)");

namespace trunkline::routing {
namespace {

// The first block of each call's arena lives in the call object: a typical
// request and decision fit in it, so a call costs one allocation.
constexpr size_t kArenaBlock = 8192;

// The memory of finished calls of one type, reused by the thread that
// finishes them (a call is made and deleted on its queue's thread): a call
// holds its 8 KiB arena block, and allocating and freeing that much per
// call made malloc grow and trim its heap over and over (page faults and
// mprotect calls in the server's profile).
template <typename T>
class Recycled {
 public:
  static void* operator new(size_t size) {
    FreeList& list = Free();
    if (size == sizeof(T) && !list.blocks.empty()) {
      void* block = list.blocks.back();
      list.blocks.pop_back();
      return block;
    }
    return ::operator new(size);
  }
  static void operator delete(void* block, size_t size) {
    FreeList& list = Free();
    if (size == sizeof(T) && list.blocks.size() < kKept) {
      list.blocks.push_back(block);
      return;
    }
    ::operator delete(block);
  }

 private:
  static constexpr size_t kKept = 64;
  struct FreeList {
    std::vector<void*> blocks;
    ~FreeList() {
      for (void* block : blocks) ::operator delete(block);
    }
  };
  static FreeList& Free() {
    thread_local FreeList list;
    return list;
  }
};

template <typename Response>
class DecisionCall final : public QueueTag,
                           public Recycled<DecisionCall<Response>> {
 public:
  using Request = v1::RouteRequest;
  using RequestMethod = void (v1::Routing::AsyncService::*)(
      grpc::ServerContext*, Request*,
      grpc::ServerAsyncResponseWriter<Response>*, grpc::CompletionQueue*,
      grpc::ServerCompletionQueue*, void*);

  DecisionCall(v1::Routing::AsyncService* service,
               grpc::ServerCompletionQueue* cq, RequestMethod method,
               const SnapshotStore* store, RoutingMetrics* metrics)
      : service_(service),
        cq_(cq),
        method_(method),
        store_(store),
        metrics_(metrics),
        arena_(ArenaOptions(block_)),
        request_(google::protobuf::Arena::CreateMessage<Request>(&arena_)),
        response_(google::protobuf::Arena::CreateMessage<Response>(&arena_)),
        writer_(&context_) {
    (service_->*method_)(&context_, request_, &writer_, cq_, cq_, this);
  }

  void Proceed(bool ok) override {
    if (finishing_ || !ok) {  // sent, or the server is shutting down
      if (finishing_) metrics_->Ended();
      delete this;
      return;
    }
    metrics_->Started();
    // Take the next call of this kind before deciding this one.
    new DecisionCall(service_, cq_, method_, store_, metrics_);
    const absl::Time start = absl::Now();
    absl::Status status = DecideInto(response_);
    metrics_->Count(DecisionOf(*response_), status,
                    absl::ToDoubleSeconds(absl::Now() - start));
    finishing_ = true;
    if (status.ok()) {
      writer_.Finish(*response_, grpc::Status::OK, this);
    } else {
      writer_.FinishWithError(ToGrpcStatus(status), this);
    }
  }

 private:
  static google::protobuf::ArenaOptions ArenaOptions(char* block) {
    google::protobuf::ArenaOptions options;
    options.initial_block = block;
    options.initial_block_size = kArenaBlock;
    return options;
  }
  absl::Status DecideInto(v1::RouteDecision* decision) {
    return Decide(*store_->Get(), *request_, decision);
  }
  absl::Status DecideInto(v1::RouteExplanation* explanation) {
    return Decide(*store_->Get(), *request_, explanation->mutable_decision(),
                  explanation);
  }
  static const v1::RouteDecision& DecisionOf(const v1::RouteDecision& d) {
    return d;
  }
  static const v1::RouteDecision& DecisionOf(const v1::RouteExplanation& e) {
    return e.decision();
  }

  v1::Routing::AsyncService* const service_;
  grpc::ServerCompletionQueue* const cq_;
  const RequestMethod method_;
  const SnapshotStore* const store_;
  RoutingMetrics* const metrics_;
  alignas(8) char block_[kArenaBlock];
  google::protobuf::Arena arena_;
  Request* request_;
  Response* response_;
  grpc::ServerContext context_;
  grpc::ServerAsyncResponseWriter<Response> writer_;
  bool finishing_ = false;
};

}  // namespace

RoutingMetrics::RoutingMetrics(prometheus::Registry* registry) {
  auto& decisions = prometheus::BuildCounter()
                        .Name("trunkline_routing_decisions_total")
                        .Help(
                            "Routing decisions by result: routed (to a "
                            "trunk), uc_side, rejected, invalid (bad "
                            "request).")
                        .Register(*registry);
  routed_ = &decisions.Add({{"result", "routed"}});
  to_uc_ = &decisions.Add({{"result", "uc_side"}});
  rejected_ = &decisions.Add({{"result", "rejected"}});
  invalid_ = &decisions.Add({{"result", "invalid"}});
  latency_ = &prometheus::BuildHistogram()
                  .Name("trunkline_routing_decision_duration_seconds")
                  .Help("Time to decide one Route or Explain request.")
                  .Register(*registry)
                  .Add({}, FastRpcLatencyBuckets());
}

void RoutingMetrics::Count(const v1::RouteDecision& decision,
                           const absl::Status& status, double seconds) {
  if (!status.ok()) {
    invalid_->Increment();
  } else if (decision.candidates_size() == 0) {
    rejected_->Increment();
  } else if (decision.to_uc_side()) {
    to_uc_->Increment();
  } else {
    routed_->Increment();
  }
  latency_->Observe(seconds);
}

uint64_t RoutingMetrics::decisions() const {
  return static_cast<uint64_t>(routed_->Value() + to_uc_->Value() +
                               rejected_->Value() + invalid_->Value());
}

AsyncRoutingServer::AsyncRoutingServer(const SnapshotStore* store,
                                       RoutingMetrics* metrics, int threads)
    : store_(store),
      metrics_(metrics),
      thread_count_(threads > 0
                        ? threads
                        : std::max(1u, std::thread::hardware_concurrency())) {}

AsyncRoutingServer::~AsyncRoutingServer() { Stop(); }

void AsyncRoutingServer::Configure(grpc::ServerBuilder* builder) {
  builder->RegisterService(&service_);
  health_.Configure(builder);
  for (int i = 0; i < thread_count_; ++i) {
    queues_.push_back(builder->AddCompletionQueue());
  }
}

void AsyncRoutingServer::Start() {
  for (auto& queue : queues_) {
    grpc::ServerCompletionQueue* cq = queue.get();
    // A few calls of each kind waiting per queue, so a burst does not wait
    // for the next request to be posted.
    for (int i = 0; i < 4; ++i) {
      new DecisionCall<v1::RouteDecision>(
          &service_, cq, &v1::Routing::AsyncService::RequestRoute, store_,
          metrics_);
    }
    new DecisionCall<v1::RouteExplanation>(
        &service_, cq, &v1::Routing::AsyncService::RequestExplain, store_,
        metrics_);
    health_.Start(cq);
    threads_.emplace_back([cq] { PollQueue(cq); });
  }
}

void AsyncRoutingServer::Stop() {
  for (auto& queue : queues_) queue->Shutdown();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  queues_.clear();
}

RoutingApp::RoutingApp(prometheus::Registry* registry, int threads)
    : metrics_(registry), server_(&store_, &metrics_, threads) {}

absl::Status RoutingApp::ApplyTopology(
    std::shared_ptr<const LoadedTopology> topology) {
  absl::StatusOr<std::shared_ptr<const RoutingSnapshot>> snapshot =
      RoutingSnapshot::Build(std::move(topology));
  if (!snapshot.ok()) return snapshot.status();
  store_.Set(*std::move(snapshot));
  return absl::OkStatus();
}

void RoutingApp::FillLoad(v1::NodeLoad* load) {
  load->set_active(metrics_.in_flight());
  load->set_active_unit("requests");
  (*load->mutable_figures())["decisions"] =
      static_cast<double>(metrics_.decisions());
}

absl::StatusOr<std::unique_ptr<ServiceApp>> CreateRoutingApp(
    const ServiceContext& context) {
  const int threads = absl::GetFlag(FLAGS_queue_threads);
  if (threads < 1 || threads > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("--queue_threads=", threads,
                     ": give 1 to 64 (1 unless one core "
                     "cannot keep up; see routing_service.h)"));
  }
  return std::make_unique<RoutingApp>(context.registry.get(), threads);
}

}  // namespace trunkline::routing
