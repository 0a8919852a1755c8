#include "services/signaling/grpc_routing_client.h"

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "services/common/grpc_server.h"

namespace trunkline::signaling {
namespace {

// A routing service that sends every call to one trunk, or answers
// INVALID_ARGUMENT for a request without a callee.
class FakeRouting final : public v1::Routing::Service {
 public:
  grpc::Status Route(grpc::ServerContext*, const v1::RouteRequest* request,
                     v1::RouteDecision* decision) override {
    if (request->callee().empty()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "callee is required");
    }
    decision->add_candidates()->set_trunk("pstn-dub");
    return grpc::Status::OK;
  }
};

// Runs posted closures at once: the test thread plays the SIP loop.
GrpcRoutingClient::Poster Inline() {
  return [](std::function<void()> task) { task(); };
}

struct Outcome {
  absl::StatusOr<v1::RouteDecision> decision;
  absl::Duration took;
};

Outcome RouteAndWait(GrpcRoutingClient& client, const std::string& callee) {
  v1::RouteRequest request;
  request.set_call_id("c1");
  request.set_caller("+35312345678");
  request.set_callee(callee);
  absl::Notification done;
  Outcome outcome{absl::UnknownError("no answer"), absl::ZeroDuration()};
  const absl::Time start = absl::Now();
  client.Route(request, [&](absl::StatusOr<v1::RouteDecision> d) {
    outcome.decision = std::move(d);
    outcome.took = absl::Now() - start;
    done.Notify();
  });
  EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  return outcome;
}

// A port with nothing listening: bound by a server that is then stopped.
int FreePort() {
  FakeRouting routing;
  auto server = GrpcServer::Start("127.0.0.1:0", {&routing});
  EXPECT_TRUE(server.ok());
  return (*server)->port();
}

TEST(GrpcRoutingClientTest, FailsFastWhileRoutingIsGoneAndRoutesOnceItIsBack) {
  const int port = FreePort();
  const absl::Duration timeout = absl::Milliseconds(300);
  GrpcRoutingClient client(absl::StrCat("127.0.0.1:", port), Inline(), timeout);

  // Each of the first Routes waits out its deadline: routing may be
  // restarting.
  for (int i = 0; i < GrpcRoutingClient::kFailFastAfter; ++i) {
    EXPECT_FALSE(client.failing_fast());
    Outcome o = RouteAndWait(client, "+35319876543");
    EXPECT_EQ(o.decision.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_GE(o.took, timeout - absl::Milliseconds(50));
  }
  EXPECT_TRUE(client.failing_fast());

  // Then new calls are refused without waiting, saying why.
  Outcome fast = RouteAndWait(client, "+35319876543");
  EXPECT_EQ(fast.decision.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(fast.decision.status().message().find("not answering"),
            std::string::npos)
      << fast.decision.status();
  EXPECT_LT(fast.took, timeout / 2);

  // Routing comes back on its address: the health probe sees it and calls
  // are routed again, without a call having to wait for it.
  FakeRouting routing;
  auto server = GrpcServer::Start(absl::StrCat("127.0.0.1:", port), {&routing});
  ASSERT_TRUE(server.ok()) << server.status();
  for (int i = 0; i < 100 && client.failing_fast(); ++i) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_FALSE(client.failing_fast());
  Outcome routed = RouteAndWait(client, "+35319876543");
  ASSERT_TRUE(routed.decision.ok()) << routed.decision.status();
  ASSERT_EQ(routed.decision->candidates_size(), 1);
  EXPECT_EQ(routed.decision->candidates(0).trunk(), "pstn-dub");
}

TEST(GrpcRoutingClientTest, RoutingThatAnswersWithAnErrorIsNotFailedFast) {
  FakeRouting routing;
  auto server = GrpcServer::Start("127.0.0.1:0", {&routing});
  ASSERT_TRUE(server.ok());
  GrpcRoutingClient client(absl::StrCat("127.0.0.1:", (*server)->port()),
                           Inline(), absl::Seconds(2));
  for (int i = 0; i < GrpcRoutingClient::kFailFastAfter + 1; ++i) {
    Outcome o = RouteAndWait(client, "");
    EXPECT_EQ(o.decision.status().code(), absl::StatusCode::kInvalidArgument)
        << o.decision.status();
  }
  EXPECT_FALSE(client.failing_fast());
  EXPECT_TRUE(RouteAndWait(client, "+35319876543").decision.ok());
}

}  // namespace
}  // namespace trunkline::signaling
