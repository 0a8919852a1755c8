#include "services/routing/routing_service.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "services/common/grpc_server.h"

namespace trunkline::routing {
namespace {

TEST(RoutingServiceTest, ServesRouteAndExplainOverGrpc) {
  prometheus::Registry registry;
  RoutingApp app(&registry);
  const char* root = std::getenv("TRUNKLINE_SOURCE_DIR");
  std::vector<TopologyError> errors;
  ASSERT_TRUE(
      app
          .ApplyTopology(LoadTopologyFile(
              absl::StrCat(root ? root : ".", "/deploy/examples/topology.yaml"),
              &errors))
          .ok());
  auto server = GrpcServer::Start(
      "127.0.0.1:0", app.GrpcServices(), nullptr,
      [&](grpc::ServerBuilder* builder) { app.ConfigureServer(builder); });
  ASSERT_TRUE(server.ok()) << server.status();
  app.ServerStarted();
  auto stub = v1::Routing::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*server)->port()),
                          grpc::InsecureChannelCredentials()));

  v1::RouteRequest request;
  request.set_call_id("c1");
  request.mutable_origin()->set_user_uri("sip:a@contoso.example");
  request.set_caller("+35315551234");
  request.set_callee("112");
  {
    grpc::ClientContext context;
    v1::RouteDecision decision;
    ASSERT_TRUE(stub->Route(&context, request, &decision).ok());
    ASSERT_EQ(decision.candidates_size(), 1);
    EXPECT_EQ(decision.candidates(0).trunk(), "pstn-dub");
    EXPECT_EQ(decision.topology_version(), "contoso-2026-11-24");
  }
  {
    grpc::ClientContext context;
    v1::RouteExplanation explanation;
    ASSERT_TRUE(stub->Explain(&context, request, &explanation).ok());
    EXPECT_EQ(explanation.decision().candidates(0).route(), "emergency-dublin");
    EXPECT_EQ(explanation.voice_policy(), "dublin-users");
  }
  {
    request.set_callee("not a number");
    grpc::ClientContext context;
    v1::RouteDecision decision;
    grpc::Status status = stub->Route(&context, request, &decision);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(status.error_message().rfind("callee:", 0), 0u);
  }
  // The node status's load: three decisions (the invalid one included),
  // none in flight once the last answer has gone out.
  v1::NodeLoad load;
  for (int i = 0; i < 200; ++i) {
    load.Clear();
    app.FillLoad(&load);
    if (load.active() == 0) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(load.active(), 0u);
  EXPECT_EQ(load.active_unit(), "requests");
  ASSERT_EQ(load.figures().count("decisions"), 1u);
  EXPECT_EQ(load.figures().at("decisions"), 3);
  (*server)->Shutdown(absl::ZeroDuration());
  app.ServerStopped();
}

// The API port answers grpc.health.v1 Check itself (on the routing queue):
// SERVING, NOT_FOUND for a service it does not know, NOT_SERVING once the
// runtime drains it; Watch is not offered.
TEST(RoutingServiceTest, AnswersHealthChecksOnItsOwnQueue) {
  prometheus::Registry registry;
  RoutingApp app(&registry);
  auto server = GrpcServer::Start(
      "127.0.0.1:0", app.GrpcServices(), nullptr,
      [&](grpc::ServerBuilder* builder) { app.ConfigureServer(builder); });
  ASSERT_TRUE(server.ok()) << server.status();
  app.ServerStarted();
  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*server)->port()),
                          grpc::InsecureChannelCredentials());
  auto stub = grpc::health::v1::Health::NewStub(channel);
  using Response = grpc::health::v1::HealthCheckResponse;
  auto check = [&](const std::string& service, Response* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(5));
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    return stub->Check(&context, request, response);
  };
  Response response;
  ASSERT_TRUE(check("", &response).ok());
  EXPECT_EQ(response.status(), Response::SERVING);
  EXPECT_EQ(check("no.such.Service", &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
  (*server)->SetServing(false);
  ASSERT_TRUE(check("", &response).ok());
  EXPECT_EQ(response.status(), Response::NOT_SERVING);
  {
    // Watch is not a method of this server.
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(5));
    grpc::GenericStub generic(channel);
    grpc::CompletionQueue cq;
    grpc::ByteBuffer request, reply;
    grpc::Status status;
    auto call = generic.PrepareUnaryCall(
        &context, "/grpc.health.v1.Health/Watch", request, &cq);
    call->StartCall();
    call->Finish(&reply, &status, nullptr);
    void* tag;
    bool ok;
    ASSERT_TRUE(cq.Next(&tag, &ok));
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
    cq.Shutdown();
    while (cq.Next(&tag, &ok)) {
    }
  }
  (*server)->Shutdown(absl::ZeroDuration());
  app.ServerStopped();
}

TEST(RoutingMetricsTest, CountsRequestsInFlightAndDecisions) {
  prometheus::Registry registry;
  RoutingMetrics metrics(&registry);
  metrics.Started();
  metrics.Started();
  EXPECT_EQ(metrics.in_flight(), 2u);
  v1::RouteDecision routed;
  routed.add_candidates()->set_trunk("pstn-dub");
  metrics.Count(routed, absl::OkStatus(), 0.001);
  metrics.Count(v1::RouteDecision(), absl::InvalidArgumentError("x"), 0.001);
  metrics.Ended();
  EXPECT_EQ(metrics.in_flight(), 1u);
  EXPECT_EQ(metrics.decisions(), 2u);
}

}  // namespace
}  // namespace trunkline::routing
