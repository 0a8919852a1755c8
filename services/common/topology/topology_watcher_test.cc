#include "services/common/topology/topology_watcher.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace trunkline {
namespace {

std::string ReadSource(const std::string& relative) {
  const char* root = std::getenv("TRUNKLINE_SOURCE_DIR");
  std::ifstream in(root ? absl::StrCat(root, "/", relative) : relative);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class TopologyWatcherTest : public testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/trunkline-watcher-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/topology.yaml";
    good_ = ReadSource("tests/topology/minimal.yaml");
    Write(good_);
  }
  void TearDown() override {
    std::remove(path_.c_str());
    std::remove(dir_.c_str());
  }
  void Write(const std::string& text) {
    // Write-and-rename, as Kubernetes updates a ConfigMap volume.
    std::string tmp = path_ + ".tmp";
    std::ofstream(tmp) << text;
    std::rename(tmp.c_str(), path_.c_str());
  }
  std::unique_ptr<TopologyWatcher> Make() {
    auto watcher = TopologyWatcher::Create(
        path_,
        [this](std::shared_ptr<const LoadedTopology> t) {
          applied_.push_back(t->version);
          return absl::OkStatus();
        },
        &registry_, "test");
    EXPECT_TRUE(watcher.ok()) << watcher.status();
    return std::move(*watcher);
  }

  std::string dir_, path_, good_;
  prometheus::Registry registry_;
  std::vector<std::string> applied_;
};

TEST_F(TopologyWatcherTest, BadReloadKeepsTheLastGoodTopology) {
  auto watcher = Make();
  const std::string first = watcher->current()->version;
  Write(good_ + "version: v2\n");
  ReloadOutcome ok = watcher->Reload();
  EXPECT_TRUE(ok.applied);
  EXPECT_EQ(ok.version, "v2");
  Write(good_ + "version: v3\nbogus: 1\n");
  ReloadOutcome bad = watcher->Reload();
  EXPECT_FALSE(bad.applied);
  EXPECT_EQ(bad.version, "v2");
  ASSERT_EQ(bad.errors.size(), 1u);
  EXPECT_NE(bad.errors[0].find("unknown field \"bogus\""), std::string::npos);
  EXPECT_EQ(watcher->current()->version, "v2");
  EXPECT_EQ(watcher->last_errors(), bad.errors);
  EXPECT_EQ(applied_, (std::vector<std::string>{first, "v2"}));
}

TEST_F(TopologyWatcherTest, RefusedByTheServiceKeepsTheOldOne) {
  auto watcher = Make();
  Write(good_ + "version: v2\n");
  auto refusing = TopologyWatcher::Create(
      path_,
      [](std::shared_ptr<const LoadedTopology> t) {
        return t->version == "v3" ? absl::FailedPreconditionError("too big")
                                  : absl::OkStatus();
      },
      &registry_, "refusing");
  ASSERT_TRUE(refusing.ok());
  Write(good_ + "version: v3\n");
  ReloadOutcome outcome = (*refusing)->Reload();
  EXPECT_FALSE(outcome.applied);
  EXPECT_EQ((*refusing)->current()->version, "v2");
}

TEST_F(TopologyWatcherTest, NoticesAChangedFile) {
  auto watcher = Make();
  watcher->StartWatching(absl::Milliseconds(20));
  Write(good_ + "version: watched\n");
  for (int i = 0; i < 250 && watcher->current()->version != "watched"; ++i) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(watcher->current()->version, "watched");
}

TEST_F(TopologyWatcherTest, StartRefusesABadFile) {
  Write("trunks: [{name: t, pool: p, gateway: g}]\n");
  auto watcher = TopologyWatcher::Create(
      path_, [](auto) { return absl::OkStatus(); }, &registry_, "start");
  ASSERT_FALSE(watcher.ok());
  EXPECT_NE(watcher.status().message().find(":1: trunk \"t\": pool \"p\" is "
                                            "not defined"),
            std::string::npos)
      << watcher.status();
}

}  // namespace
}  // namespace trunkline
