#include "services/signaling/grpc_routing_client.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "services/common/grpc_server.h"

namespace trunkline::signaling {
namespace {

// A routing service that sends every call to one trunk, answers
// INVALID_ARGUMENT for a request without a callee, and with `hang` set
// answers nothing (a stuck routing service) until the caller gives up.
class FakeRouting final : public v1::Routing::Service {
 public:
  grpc::Status Route(grpc::ServerContext* context,
                     const v1::RouteRequest* request,
                     v1::RouteDecision* decision) override {
    ++routes;
    // Bounded: the clients' deadlines are far shorter.
    for (int i = 0; i < 500 && hang && !context->IsCancelled(); ++i) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    if (request->callee().empty()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "callee is required");
    }
    decision->add_candidates()->set_trunk("pstn-dub");
    return grpc::Status::OK;
  }
  std::atomic<bool> hang{false};
  std::atomic<int> routes{0};
};

// Runs posted closures at once: the test thread plays the SIP loop.
GrpcRoutingClient::Poster Inline() {
  return [](std::function<void()> task) { task(); };
}

// One Route; Wait() gives its result and how long it took.
class PendingRoute {
 public:
  PendingRoute(GrpcRoutingClient& client, const std::string& callee)
      : start_(absl::Now()) {
    v1::RouteRequest request;
    request.set_call_id("c1");
    request.set_caller("+35312345678");
    request.set_callee(callee);
    client.Route(request, [this](absl::StatusOr<v1::RouteDecision> d) {
      decision_ = std::move(d);
      took_ = absl::Now() - start_;
      done_.Notify();
    });
  }
  const absl::StatusOr<v1::RouteDecision>& Wait() {
    EXPECT_TRUE(done_.WaitForNotificationWithTimeout(absl::Seconds(10)));
    return decision_;
  }
  absl::Duration took() const { return took_; }

 private:
  const absl::Time start_;
  absl::Notification done_;
  absl::StatusOr<v1::RouteDecision> decision_ = absl::UnknownError("none");
  absl::Duration took_;
};

TEST(GrpcRoutingClientTest, FailsFastWhileRoutingDoesNotAnswerTryingOneCall) {
  FakeRouting routing;
  auto server = GrpcServer::Start("127.0.0.1:0", {&routing});
  ASSERT_TRUE(server.ok());
  routing.hang = true;
  const absl::Duration timeout = absl::Milliseconds(300);
  std::vector<bool> changes;
  GrpcRoutingClient client(
      absl::StrCat("127.0.0.1:", (*server)->port()), Inline(), timeout, nullptr,
      nullptr, [&](bool answering) { changes.push_back(answering); });

  // Each of the first Routes waits out its deadline: routing may only be
  // slow for a moment.
  for (int i = 0; i < GrpcRoutingClient::kFailFastAfter; ++i) {
    EXPECT_FALSE(client.failing_fast());
    PendingRoute r(client, "+35319876543");
    EXPECT_EQ(r.Wait().status().code(), absl::StatusCode::kUnavailable);
    EXPECT_GE(r.took(), timeout - absl::Milliseconds(50));
  }
  EXPECT_TRUE(client.failing_fast());
  EXPECT_EQ(changes, std::vector<bool>{false});

  // Then one call at a time is tried (and waits); the others are refused
  // without waiting, saying why.
  const int sent = routing.routes;
  PendingRoute trial(client, "+35319876543");
  PendingRoute refused(client, "+35319876543");
  EXPECT_EQ(refused.Wait().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(refused.Wait().status().message().find("not answering"),
            std::string::npos)
      << refused.Wait().status();
  EXPECT_LT(refused.took(), timeout / 2);
  EXPECT_EQ(trial.Wait().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(routing.routes, sent + 1) << "the refused call never reached it";
  EXPECT_TRUE(client.failing_fast());

  // Routing answers again: the next call, tried, is routed, and so are
  // the ones after it.
  routing.hang = false;
  PendingRoute tried(client, "+35319876543");
  ASSERT_TRUE(tried.Wait().ok()) << tried.Wait().status();
  EXPECT_FALSE(client.failing_fast());
  EXPECT_EQ(changes, (std::vector<bool>{false, true}));
  PendingRoute next(client, "+35319876543");
  ASSERT_TRUE(next.Wait().ok());
  ASSERT_EQ(next.Wait()->candidates_size(), 1);
  EXPECT_EQ(next.Wait()->candidates(0).trunk(), "pstn-dub");
}

TEST(GrpcRoutingClientTest, RoutingThatAnswersWithAnErrorIsNotFailedFast) {
  FakeRouting routing;
  auto server = GrpcServer::Start("127.0.0.1:0", {&routing});
  ASSERT_TRUE(server.ok());
  GrpcRoutingClient client(absl::StrCat("127.0.0.1:", (*server)->port()),
                           Inline(), absl::Seconds(2));
  for (int i = 0; i < GrpcRoutingClient::kFailFastAfter + 1; ++i) {
    PendingRoute r(client, "");
    EXPECT_EQ(r.Wait().status().code(), absl::StatusCode::kInvalidArgument)
        << r.Wait().status();
  }
  EXPECT_FALSE(client.failing_fast());
  EXPECT_TRUE(PendingRoute(client, "+35319876543").Wait().ok());
}

}  // namespace
}  // namespace trunkline::signaling
