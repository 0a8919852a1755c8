#include "services/routing/routing_snapshot.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace trunkline::routing {
namespace {

std::shared_ptr<const RoutingSnapshot> Example() {
  const char* root = std::getenv("TRUNKLINE_SOURCE_DIR");
  std::vector<TopologyError> errors;
  auto topology = LoadTopologyFile(
      absl::StrCat(root ? root : ".", "/deploy/examples/topology.yaml"),
      &errors);
  EXPECT_NE(topology, nullptr);
  auto snapshot = RoutingSnapshot::Build(topology);
  EXPECT_TRUE(snapshot.ok()) << snapshot.status();
  return *snapshot;
}

TEST(RoutingSnapshotTest, ResolvesTheExample) {
  auto s = Example();
  const CompiledTrunk* pstn = s->FindTrunk("pstn-lon");
  ASSERT_NE(pstn, nullptr);
  EXPECT_EQ(pstn->site, "london");
  EXPECT_EQ(pstn->configuration->name(), "pstn-lon");
  EXPECT_EQ(pstn->dial_plan->plan->name(), "pstn-lon-in");
  EXPECT_EQ(s->SiteDialPlan("dublin")->plan->name(), "dublin");
  EXPECT_EQ(s->global_dial_plan()->plan->name(), "global");
  const CompiledUsage* intl = s->FindUsage("International");
  ASSERT_NE(intl, nullptr);
  ASSERT_EQ(intl->routes.size(), 1u);
  EXPECT_EQ(intl->routes[0]->route->name(), "international");
  EXPECT_EQ(s->FindTrunk("nope"), nullptr);
}

TEST(RoutingSnapshotTest, UcNumbersByRangeAndPattern) {
  auto s = Example();
  EXPECT_TRUE(s->IsUcNumber("+35315551000"));
  EXPECT_TRUE(s->IsUcNumber("+35315551999"));
  EXPECT_FALSE(s->IsUcNumber("+35315552000"));
  EXPECT_FALSE(s->IsUcNumber("+3531555100"));
  EXPECT_TRUE(s->IsUcNumber("+442079462123"));
  EXPECT_FALSE(s->IsUcNumber("+442079461123"));
}

}  // namespace
}  // namespace trunkline::routing
