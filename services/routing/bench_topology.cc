#include "services/routing/bench_topology.h"

#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace trunkline::routing {

// Numbering: route r owns the prefix +1 (2000 + r) i.e. "+1" and four digits,
// then six more digits. Policy p's users are +1555 p(2 digits) xxxx.
std::string GenerateBenchTopology(const BenchScale& s) {
  std::string y;
  y.reserve(8 << 20);
  absl::StrAppend(&y, "version: bench\nsites:\n");
  for (int i = 0; i < 20; ++i) absl::StrAppend(&y, "  - name: site", i, "\n");
  absl::StrAppend(&y,
                  "pools:\n  - name: pool\n    site: site0\n    listeners:\n"
                  "      - {name: lan, address: 10.0.0.1}\n"
                  "gateways:\n");
  for (int i = 0; i < s.trunks; ++i) {
    absl::StrAppendFormat(&y,
                          "  - {name: gw%d, kind: pstn_gateway, address: "
                          "10.%d.%d.%d, site: site%d}\n",
                          i, 1 + i / 65536, (i / 256) % 256, i % 256, i % 20);
  }
  absl::StrAppend(&y,
                  "  - {name: fe, kind: uc_front_end, address: 10.9.9.9}\n");
  absl::StrAppend(
      &y, "trunkConfigurations:\n  - {name: global, srtpMode: optional}\n");
  absl::StrAppend(
      &y,
      "  - name: national\n    srtpMode: not_supported\n"
      "    removePlusFromUri: true\n"
      "    pstnUsages: [usage0, usage1]\n"
      "    outboundCalledNumberRules:\n"
      "      - {name: n, pattern: '^\\+1(\\d{10})$', translation: '1$1'}\n"
      "    outboundCallingNumberRules:\n"
      "      - {name: n, pattern: '^\\+1(\\d{10})$', translation: '$1'}\n");
  absl::StrAppend(&y, "trunks:\n");
  for (int i = 0; i < s.trunks; ++i) {
    absl::StrAppendFormat(
        &y,
        "  - {name: t%d, pool: pool, gateway: gw%d, localPort: "
        "%d, configuration: %s}\n",
        i, i, 10000 + i, i % 2 ? "national" : "global");
  }
  absl::StrAppend(&y, "pstnUsages:\n");
  for (int i = 0; i < s.usages; ++i)
    absl::StrAppend(&y, "  - {name: usage", i, "}\n");
  absl::StrAppend(&y, "voiceRoutes:\n");
  for (int r = 0; r < s.routes; ++r) {
    absl::StrAppendFormat(
        &y,
        "  - name: r%d\n    numberPattern: '^\\+1%04d\\d{6}$'\n"
        "    exceptions: ['^\\+1%04d999\\d{3}$']\n"
        "    pstnUsages: [usage%d]\n"
        "    trunks: [{trunk: t%d, weight: 2}, {trunk: t%d}, {trunk: t%d, "
        "priority: 1}]\n",
        r, 2000 + r, 2000 + r, r % s.usages, r % s.trunks, (r + 1) % s.trunks,
        (r + 7) % s.trunks);
  }
  absl::StrAppend(&y,
                  "voicePolicies:\n  - {name: global, pstnUsages: [usage0]}\n");
  for (int p = 0; p < s.policies; ++p) {
    absl::StrAppend(&y, "  - {name: policy", p, ", pstnUsages: [");
    for (int k = 0; k < 10; ++k) {
      absl::StrAppend(&y, k ? ", " : "", "usage", (p * 10 + k) % s.usages);
    }
    absl::StrAppend(&y, "]}\n");
  }
  absl::StrAppend(&y, "dialPlans:\n");
  for (int d = 0; d < s.dial_plans; ++d) {
    absl::StrAppendFormat(&y, "  - name: dp%d\n    scope: %s\n", d,
                          d == 0 ? "global" : "user");
    absl::StrAppend(&y, "    normalizationRules:\n");
    for (int k = 0; k < 9; ++k) {
      absl::StrAppendFormat(&y,
                            "      - {name: speed%d, pattern: '^\\*%d%d$', "
                            "translation: '+1555%02d%04d'}\n",
                            k, d % 10, k, d % 100, k);
    }
    absl::StrAppend(&y,
                    "      - {name: nanp, pattern: '^\\+?1?(\\d{10})$', "
                    "translation: '+1$1'}\n");
  }
  absl::StrAppend(&y, "policyAssignments:\n");
  for (int p = 0; p < s.policies; ++p) {
    absl::StrAppendFormat(&y,
                          "  - {numberPattern: '^\\+1555%02d\\d{4}$', "
                          "voicePolicy: policy%d, dialPlan: dp%d}\n",
                          p, p, 1 + p % (s.dial_plans - 1));
  }
  absl::StrAppend(&y,
                  "ucSide:\n  nextHops: [{gateway: fe, pool: pool}]\n"
                  "  numberRanges: [{pattern: '^\\+1555\\d{6}$'}]\n");
  return y;
}

std::vector<v1::RouteRequest> GenerateBenchRequests(const BenchScale& s,
                                                    int count) {
  std::mt19937 rng(42);
  std::vector<v1::RouteRequest> requests;
  requests.reserve(count);
  for (int i = 0; i < count; ++i) {
    v1::RouteRequest r;
    r.set_call_id(absl::StrCat("bench-", i, "@10.0.0.1"));
    const int policy = rng() % s.policies;
    // A route reachable through the policy's usages: usage u holds routes
    // u, u + usages, ...
    const int usage = (policy * 10 + static_cast<int>(rng() % 10)) % s.usages;
    const int route =
        usage + s.usages * static_cast<int>(rng() % (s.routes / s.usages));
    const bool inter_trunk = rng() % 10 == 0;
    if (inter_trunk) {
      r.mutable_origin()->set_trunk(
          absl::StrCat("t", 2 * (rng() % (s.trunks / 2)) + 1));
      r.set_caller(
          absl::StrFormat("1%010d", static_cast<int>(rng() % 1000000000)));
    } else {
      r.mutable_origin()->set_user_uri(
          absl::StrCat("sip:user", i, "@bench.example"));
      r.set_caller(absl::StrFormat("+1555%02d%04d", policy,
                                   static_cast<int>(rng() % 10000)));
    }
    r.set_callee(absl::StrFormat("+1%04d%06d", 2000 + route,
                                 static_cast<int>(rng() % 1000000)));
    requests.push_back(std::move(r));
  }
  return requests;
}

}  // namespace trunkline::routing
