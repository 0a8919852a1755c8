// The golden routing table over deploy/examples/topology.yaml: every row is
// a call (origin, Call-ID, caller, callee, trunks reported down) and what
// routing must decide (normalized number, policy, usage, route, trunk
// order, translated numbers, or the reject). The table is the
// specification: each row was checked by hand against the topology.
//
// To see what the engine decides for every row (when changing the topology
// on purpose), run with TRUNKLINE_GOLDEN_ACTUAL=/tmp/actual.txt and diff.
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "services/routing/route_engine.h"

namespace trunkline::routing {
namespace {

std::string Root() {
  const char* root = std::getenv("TRUNKLINE_SOURCE_DIR");
  return root ? root : ".";
}

std::vector<std::string> Split(absl::string_view line) {
  std::vector<std::string> fields;
  for (absl::string_view f : absl::StrSplit(line, '|')) {
    fields.emplace_back(absl::StripAsciiWhitespace(f));
  }
  return fields;
}

v1::RouteRequest RequestOf(const std::vector<std::string>& in) {
  v1::RouteRequest r;
  absl::string_view origin = in[0];
  if (absl::ConsumePrefix(&origin, "trunk:")) {
    r.mutable_origin()->set_trunk(std::string(origin));
  } else {
    absl::ConsumePrefix(&origin, "user:");
    r.mutable_origin()->set_user_uri(std::string(origin));
  }
  if (in[1] != "-") r.set_call_id(in[1]);
  if (in[2] != "-") r.set_caller(in[2]);
  if (in[3] != "-") r.set_callee(in[3]);
  if (in[4] != "-") {
    for (absl::string_view t : absl::StrSplit(in[4], ',')) {
      r.add_down_trunks(std::string(t));
    }
  }
  return r;
}

// The outcome columns for a request.
std::string Outcome(const RoutingSnapshot& snapshot,
                    const v1::RouteRequest& r) {
  v1::RouteDecision d;
  v1::RouteExplanation e;
  absl::Status status = Decide(snapshot, r, &d, &e);
  if (!status.ok()) {
    return absl::StrCat("- | - | - | - | - | - | - | invalid: ",
                        status.message());
  }
  const std::string policy = e.voice_policy().empty()
                                 ? (d.to_uc_side() ? "uc-side" : "-")
                                 : e.voice_policy();
  if (d.candidates_size() == 0) {
    return absl::StrCat(d.normalized_callee(), " | ", policy,
                        " | - | - | - | - | - | reject ", d.reject().sip_code(),
                        ": ", d.reject().reason());
  }
  const v1::Candidate& first = d.candidates(0);
  std::vector<std::string> order;
  for (const v1::Candidate& c : d.candidates()) {
    order.push_back(c.trunk().empty() ? c.next_hop().gateway() : c.trunk());
  }
  auto dash = [](const std::string& s) {
    return s.empty() ? std::string("-") : s;
  };
  return absl::StrCat(
      d.normalized_callee(), " | ", policy, " | ", dash(first.pstn_usage()),
      " | ", dash(first.route()), " | ", absl::StrJoin(order, ","), " | ",
      first.called_number(), " | ", first.calling_number(), " | ok");
}

TEST(RouteGoldenTest, ExampleTopologyTable) {
  std::vector<TopologyError> errors;
  auto topology =
      LoadTopologyFile(Root() + "/deploy/examples/topology.yaml", &errors);
  ASSERT_NE(topology, nullptr) << ErrorsToStatus(errors);
  auto snapshot = RoutingSnapshot::Build(topology);
  ASSERT_TRUE(snapshot.ok());

  std::ifstream in(Root() + "/services/routing/testdata/golden_routes.txt");
  ASSERT_TRUE(in) << "cannot open the golden table";
  std::ostringstream actual;
  std::string line;
  int rows = 0;
  int line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.empty() || line[0] == '#') {
      actual << line << "\n";
      continue;
    }
    std::vector<std::string> fields = Split(line);
    ASSERT_EQ(fields.size(), 13u) << "line " << line_number << ": " << line;
    const std::string expected = absl::StrJoin(
        std::vector<std::string>(fields.begin() + 5, fields.end()), " | ");
    const std::string got = Outcome(**snapshot, RequestOf(fields));
    EXPECT_EQ(got, expected) << "golden_routes.txt:" << line_number;
    actual << absl::StrJoin(
                  std::vector<std::string>(fields.begin(), fields.begin() + 5),
                  " | ")
           << " | " << got << "\n";
    ++rows;
  }
  EXPECT_GE(rows, 60) << "the table must cover at least 60 calls";
  if (const char* out = std::getenv("TRUNKLINE_GOLDEN_ACTUAL")) {
    std::ofstream(out) << actual.str();
  }
}

}  // namespace
}  // namespace trunkline::routing
