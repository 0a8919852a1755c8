#include "services/common/node_admin_service.h"

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "services/common/grpc_server.h"

namespace trunkline {
namespace {

class NodeAdminServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/trunkline-node-admin-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    files_.token_file = dir_ + "/admin.token";
    auto auth = AdminAuth::Create(files_, &registry_, "test");
    ASSERT_TRUE(auth.ok()) << auth.status();
    auth_ = *std::move(auth);
    const char* root = std::getenv("TRUNKLINE_SOURCE_DIR");
    auto watcher = TopologyWatcher::Create(
        absl::StrCat(root ? root : ".", "/tests/topology/minimal.yaml"),
        [](const std::shared_ptr<const LoadedTopology>&) {
          return absl::OkStatus();
        },
        &registry_, "test");
    ASSERT_TRUE(watcher.ok()) << watcher.status();
    watcher_ = *std::move(watcher);
  }
  void TearDown() override {
    if (server_) server_->Shutdown(absl::ZeroDuration());
    std::remove(files_.token_file.c_str());
    std::remove(dir_.c_str());
  }

  // Serves `service` and asks it for its status with the right token.
  grpc::Status GetStatus(NodeAdminService* service, v1::NodeStatus* status) {
    auto server = GrpcServer::Start("127.0.0.1:0", {service});
    if (!server.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, "");
    server_ = *std::move(server);
    auto stub = v1::Admin::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                            grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    if (!AddAdminToken(files_, &context).ok()) {
      return grpc::Status(grpc::StatusCode::INTERNAL, "no token");
    }
    return stub->GetStatus(&context, {}, status);
  }

  prometheus::Registry registry_;
  std::string dir_;
  AdminCredentialFiles files_;
  std::unique_ptr<AdminAuth> auth_;
  std::unique_ptr<TopologyWatcher> watcher_;
  std::unique_ptr<GrpcServer> server_;
};

TEST_F(NodeAdminServiceTest, StatusCarriesTheProcessAndTheServiceLoad) {
  NodeAdminService service(
      "signaling", watcher_.get(), auth_.get(), [] {},
      [](v1::NodeLoad* load) {
        load->set_active(7);
        load->set_active_unit("calls");
        (*load->mutable_figures())["call_limit"] = 40;
      });
  v1::NodeStatus status;
  grpc::Status rpc = GetStatus(&service, &status);
  ASSERT_TRUE(rpc.ok()) << rpc.error_message();
  EXPECT_EQ(status.service(), "signaling");
  EXPECT_FALSE(status.topology_version().empty());
  const v1::NodeLoad& load = status.load();
  // This test process: it has run (loading the topology, starting a
  // server), holds more than a MiB, and gRPC's threads besides this one.
  EXPECT_GT(load.cpu_seconds(), 0.0);
  EXPECT_GT(load.resident_bytes(), 1u << 20);
  EXPECT_GT(load.threads(), 1u);
  EXPECT_EQ(load.active(), 7u);
  EXPECT_EQ(load.active_unit(), "calls");
  ASSERT_EQ(load.figures().count("call_limit"), 1u);
  EXPECT_EQ(load.figures().at("call_limit"), 40);
}

TEST_F(NodeAdminServiceTest, WithoutAServiceFillerOnlyTheProcessFigures) {
  NodeAdminService service("routing", watcher_.get(), auth_.get(), [] {});
  v1::NodeStatus status;
  ASSERT_TRUE(GetStatus(&service, &status).ok());
  EXPECT_GT(status.load().resident_bytes(), 0u);
  EXPECT_EQ(status.load().active(), 0u);
  EXPECT_TRUE(status.load().active_unit().empty());
  EXPECT_TRUE(status.load().figures().empty());
}

TEST_F(NodeAdminServiceTest, NoLoadWithoutCredentials) {
  bool asked = false;
  NodeAdminService service(
      "media", watcher_.get(), auth_.get(), [] {},
      [&asked](v1::NodeLoad*) { asked = true; });
  auto server = GrpcServer::Start("127.0.0.1:0", {&service});
  ASSERT_TRUE(server.ok());
  server_ = *std::move(server);
  auto stub = v1::Admin::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                          grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  v1::NodeStatus status;
  EXPECT_EQ(stub->GetStatus(&context, {}, &status).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_FALSE(asked);
  EXPECT_FALSE(status.has_load());
}

}  // namespace
}  // namespace trunkline
