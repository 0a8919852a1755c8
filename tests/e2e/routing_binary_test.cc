// The routing service as operators run it: the real binary on loopback,
// driven over gRPC, by trunkctl, by signals and by edits to its topology
// file, with its /metrics checked by promtool.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "tests/e2e/service_process.h"
#include "trunkline/v1/admin.grpc.pb.h"
#include "trunkline/v1/routing.grpc.pb.h"

namespace trunkline {
namespace {

using testing::FreePort;
using testing::HttpGet;
using testing::RunCommand;
using testing::ServiceProcess;

std::string Source(const std::string& relative) {
  return absl::StrCat(TRUNKLINE_SOURCE_DIR, "/", relative);
}

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class RoutingBinaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/trunkline-routing-e2e-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    topology_ = dir_ + "/topology.yaml";
    log_ = dir_ + "/routing.log";
    example_ = Read(Source("deploy/examples/topology.yaml"));
    WriteTopology(example_);
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << "routing log:\n" << Read(log_);
    std::string ignored;
    RunCommand({"/bin/rm", "-rf", dir_}, &ignored);
  }
  // Write-and-rename, as a ConfigMap volume update does.
  void WriteTopology(const std::string& text) {
    const std::string tmp = topology_ + ".tmp";
    std::ofstream(tmp) << text;
    ASSERT_EQ(rename(tmp.c_str(), topology_.c_str()), 0);
  }
  std::string WithVersion(const std::string& version) {
    return absl::StrReplaceAll(
        example_, {{"version: contoso-2026-11-24", "version: " + version}});
  }
  std::string TokenFlag() const {
    return "--admin_token_file=" + dir_ + "/admin.token";
  }
  std::string Token() const {
    std::string token = Read(dir_ + "/admin.token");
    while (!token.empty() && token.back() == '\n') token.pop_back();
    return token;
  }
  void StartRouting() {
    ASSERT_TRUE(
        routing_.Start(TRUNKLINE_ROUTING_BIN, topology_, log_, {TokenFlag()}));
    ASSERT_TRUE(routing_.WaitReady()) << Read(log_);
    auto channel = grpc::CreateChannel(routing_.grpc_address(),
                                       grpc::InsecureChannelCredentials());
    stub_ = v1::Routing::NewStub(channel);
    admin_ = v1::Admin::NewStub(grpc::CreateChannel(
        routing_.admin_address(), grpc::InsecureChannelCredentials()));
  }
  v1::RouteRequest Emergency() {
    v1::RouteRequest r;
    r.set_call_id("e2e-1");
    r.mutable_origin()->set_user_uri("sip:alice@contoso.example");
    r.set_caller("+35315551234");
    r.set_callee("112");
    return r;
  }
  v1::NodeStatus Status() {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + Token());
    v1::NodeStatus status;
    EXPECT_TRUE(
        admin_->GetStatus(&context, v1::GetStatusRequest(), &status).ok());
    return status;
  }
  bool WaitForVersion(const std::string& version) {
    for (int i = 0; i < 100; ++i) {
      if (Status().topology_version() == version) return true;
      usleep(50 * 1000);
    }
    return false;
  }

  std::string dir_, topology_, log_, example_;
  ServiceProcess routing_;
  std::unique_ptr<v1::Routing::Stub> stub_;
  std::unique_ptr<v1::Admin::Stub> admin_;
};

TEST_F(RoutingBinaryTest, RoutesOverGrpcAndExplainsThroughTrunkctl) {
  StartRouting();
  grpc::ClientContext context;
  v1::RouteDecision decision;
  ASSERT_TRUE(stub_->Route(&context, Emergency(), &decision).ok());
  ASSERT_EQ(decision.candidates_size(), 1);
  EXPECT_EQ(decision.candidates(0).trunk(), "pstn-dub");

  std::string out;
  const std::string routing_flag = "--routing=" + routing_.grpc_address();
  EXPECT_EQ(RunCommand(
                {TRUNKLINE_TRUNKCTL_BIN, "route", "explain", routing_flag,
                 "--from-user", "sip:alice@contoso.example", "--caller",
                 "+35315551234", "--callee", "0033142685300", "--down", "itsp"},
                &out),
            0)
      << out;
  EXPECT_NE(
      out.find(
          "callee 0033142685300 -> +33142685300 by rule \"international\""),
      std::string::npos)
      << out;
  EXPECT_NE(out.find("trunk \"itsp\" skipped: reported down"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("pstn-dub"), std::string::npos);

  EXPECT_EQ(
      RunCommand({TRUNKLINE_TRUNKCTL_BIN, "route", "explain", routing_flag,
                  "--from-trunk=pstn-dub", "--caller=0871234567",
                  "--callee=015551234", "--output=json"},
                 &out),
      0)
      << out;
  EXPECT_NE(out.find("\"toUcSide\": true"), std::string::npos) << out;

  // A rejected call: exit 1 with the reason.
  EXPECT_EQ(RunCommand({TRUNKLINE_TRUNKCTL_BIN, "route", "explain",
                        routing_flag, "--from-user=sip:alice@contoso.example",
                        "--caller=+35315551234", "--callee=+449098790000"},
                       &out),
            1);
  EXPECT_NE(out.find("REJECT 404"), std::string::npos) << out;
  // A bad number: the field named, exit 1.
  EXPECT_EQ(
      RunCommand({TRUNKLINE_TRUNKCTL_BIN, "route", "explain", routing_flag,
                  "--from-user=sip:a@b", "--caller=+1", "--callee=12ab"},
                 &out),
      1);
  EXPECT_NE(out.find("callee: \"12ab\" is not a number"), std::string::npos)
      << out;
  // Nothing listening: exit 3 and a clear message.
  EXPECT_EQ(RunCommand({TRUNKLINE_TRUNKCTL_BIN, "route", "explain",
                        absl::StrCat("--routing=127.0.0.1:", FreePort()),
                        "--from-user=sip:a@b", "--caller=+1", "--callee=112"},
                       &out),
            3);
  EXPECT_NE(out.find("cannot reach the routing service"), std::string::npos)
      << out;
}

TEST_F(RoutingBinaryTest, ReloadsGoodFilesAndKeepsTheLastGoodOne) {
  StartRouting();
  EXPECT_EQ(Status().topology_version(), "contoso-2026-11-24");

  // A bad file through SIGHUP: refused, old topology still routes.
  WriteTopology(example_ + "\nbogus: true\n");
  routing_.Signal(SIGHUP);
  for (int i = 0; i < 100 && Status().last_reload_errors_size() == 0; ++i) {
    usleep(50 * 1000);
  }
  v1::NodeStatus status = Status();
  ASSERT_EQ(status.last_reload_errors_size(), 1);
  EXPECT_NE(status.last_reload_errors(0).find("unknown field \"bogus\""),
            std::string::npos);
  EXPECT_EQ(status.topology_version(), "contoso-2026-11-24");
  {
    grpc::ClientContext context;
    v1::RouteDecision decision;
    EXPECT_TRUE(stub_->Route(&context, Emergency(), &decision).ok());
    EXPECT_EQ(decision.topology_version(), "contoso-2026-11-24");
  }
  const std::string metrics = HttpGet(routing_.metrics_port(), "/metrics");
  EXPECT_NE(metrics.find("trunkline_routing_topology_last_reload_success 0"),
            std::string::npos)
      << metrics;
  EXPECT_NE(Read(log_).find("topology refused; keeping the last good one"),
            std::string::npos);

  // A good file, noticed without a signal.
  WriteTopology(WithVersion("v2"));
  EXPECT_TRUE(WaitForVersion("v2"));
  EXPECT_EQ(Status().last_reload_errors_size(), 0);

  // Through the admin API.
  WriteTopology(WithVersion("v3"));
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + Token());
  v1::ReloadTopologyResponse reload;
  ASSERT_TRUE(
      admin_->ReloadTopology(&context, v1::ReloadTopologyRequest(), &reload)
          .ok());
  EXPECT_TRUE(reload.applied());
  EXPECT_EQ(reload.topology_version(), "v3");
}

TEST_F(RoutingBinaryTest, ReloadUnderLoadLosesNoRequest) {
  StartRouting();
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      for (int i = 0; i < 100000 && !stop; ++i) {  // bounded
        grpc::ClientContext context;
        v1::RouteDecision decision;
        grpc::Status s = stub_->Route(&context, Emergency(), &decision);
        (s.ok() && decision.candidates_size() == 1 ? ok : failed)++;
      }
    });
  }
  for (int round = 0; round < 6; ++round) {
    WriteTopology(round % 2 ? example_ + "\nbroken: [\n"
                            : WithVersion(absl::StrCat("load-", round)));
    routing_.Signal(SIGHUP);
    usleep(150 * 1000);
  }
  stop = true;
  for (auto& c : clients) c.join();
  EXPECT_EQ(failed, 0);
  EXPECT_GT(ok, 100);
  EXPECT_EQ(Status().topology_version(), "load-4");
}

TEST_F(RoutingBinaryTest, MetricsPassPromtool) {
  StartRouting();
  for (int i = 0; i < 5; ++i) {
    grpc::ClientContext context;
    v1::RouteDecision decision;
    ASSERT_TRUE(stub_->Route(&context, Emergency(), &decision).ok());
  }
  const std::string metrics = HttpGet(routing_.metrics_port(), "/metrics");
  EXPECT_NE(
      metrics.find("trunkline_routing_decisions_total{result=\"routed\"} 5"),
      std::string::npos)
      << metrics;
  EXPECT_NE(
      metrics.find(
          "trunkline_routing_topology_info{version=\"contoso-2026-11-24\"} 1"),
      std::string::npos);
  // gRPC server latency by method, the async Route method included.
  EXPECT_NE(metrics.find("trunkline_routing_grpc_server_duration_seconds_count{"
                         "method=\"/trunkline.v1.Routing/Route\"} 5"),
            std::string::npos)
      << metrics;
  const std::string file = dir_ + "/metrics.txt";
  std::ofstream(file) << metrics;
  std::string out;
  EXPECT_EQ(
      RunCommand({"/bin/sh", "-c", "promtool check metrics < " + file}, &out),
      0)
      << out;
}

TEST_F(RoutingBinaryTest, RefusesABadTopologyAtStartWithEveryError) {
  WriteTopology(Read(Source("tests/topology/broken/undefined_gateway.yaml")) +
                "voiceRoutes: []\nbogus: 1\n");
  ServiceProcess bad;
  ASSERT_TRUE(bad.Start(TRUNKLINE_ROUTING_BIN, topology_, log_));
  EXPECT_EQ(bad.WaitExit(), 1);
  const std::string log = Read(log_);
  EXPECT_NE(log.find(topology_ + ":"), std::string::npos) << log;
  EXPECT_NE(log.find("unknown field \"bogus\""), std::string::npos) << log;
}

TEST_F(RoutingBinaryTest, SigtermDrainsAndExitsZero) {
  StartRouting();
  routing_.Signal(SIGTERM);
  EXPECT_EQ(routing_.WaitExit(), 0);
}

TEST_F(RoutingBinaryTest, AdminApiNeedsCredentials) {
  StartRouting();
  for (const std::string& header :
       {std::string(""), std::string("Bearer wrong")}) {
    grpc::ClientContext context;
    if (!header.empty()) context.AddMetadata("authorization", header);
    v1::NodeStatus status;
    grpc::Status rpc =
        admin_->GetStatus(&context, v1::GetStatusRequest(), &status);
    EXPECT_EQ(rpc.error_code(), grpc::StatusCode::UNAUTHENTICATED) << header;
  }
  EXPECT_NE(HttpGet(routing_.metrics_port(), "/metrics")
                .find("trunkline_routing_admin_denied_total 2"),
            std::string::npos);
  EXPECT_NE(Read(log_).find("admin request denied"), std::string::npos);
  // trunkctl: one readable line and exit 1 for a wrong token.
  std::ofstream(dir_ + "/wrong.token") << "nope\n";
  std::string out;
  EXPECT_EQ(RunCommand({TRUNKLINE_TRUNKCTL_BIN, "node", "status", "routing",
                        "--admin=" + routing_.admin_address(),
                        "--admin_token_file=" + dir_ + "/wrong.token"},
                       &out),
            1);
  EXPECT_NE(out.find("routing refused the credentials"), std::string::npos)
      << out;
}

TEST_F(RoutingBinaryTest, TrunkctlNodeStatusReloadAndDrain) {
  StartRouting();
  const std::string admin = "--admin=" + routing_.admin_address();
  std::string out;
  ASSERT_EQ(RunCommand({TRUNKLINE_TRUNKCTL_BIN, "node", "status", "routing",
                        admin, TokenFlag()},
                       &out),
            0)
      << out;
  EXPECT_NE(out.find("contoso-2026-11-24"), std::string::npos) << out;
  EXPECT_NE(out.find("serving"), std::string::npos) << out;

  WriteTopology(example_ + "\nbogus: 1\n");
  EXPECT_EQ(RunCommand({TRUNKLINE_TRUNKCTL_BIN, "node", "reload", "routing",
                        admin, TokenFlag()},
                       &out),
            1);
  EXPECT_NE(out.find("unknown field \"bogus\""), std::string::npos) << out;

  EXPECT_EQ(RunCommand({TRUNKLINE_TRUNKCTL_BIN, "node", "drain", "routing",
                        admin, TokenFlag()},
                       &out),
            0)
      << out;
  EXPECT_NE(out.find("draining"), std::string::npos) << out;
  EXPECT_EQ(routing_.WaitExit(), 0);
  // Gone: exit 3 and a clear message.
  EXPECT_EQ(RunCommand({TRUNKLINE_TRUNKCTL_BIN, "node", "status", "routing",
                        admin, TokenFlag()},
                       &out),
            3);
  EXPECT_NE(out.find("cannot reach routing"), std::string::npos) << out;
}

}  // namespace
}  // namespace trunkline
