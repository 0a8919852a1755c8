#!/usr/bin/env bash
# The topology.yaml the chart renders into its ConfigMap, for each example,
# is accepted by `trunkctl topology validate` (the services' own loader and
# validator); and examples/contoso.yaml carries exactly the topology of
# deploy/examples/topology.yaml: `trunkctl topology show --output json` of
# both is the same once the addresses (which the example changes to
# cluster ones) are set aside.
#
#   tests/deploy/topology_configmap.sh CACHE_DIR TRUNKCTL
. "$(dirname "$0")/lib.sh"
deploy_init "${1:-}"
TRUNKCTL=${2:-}
if [ -z "$TRUNKCTL" ] || [ ! -x "$TRUNKCTL" ]; then
  fail "usage: $0 CACHE_DIR TRUNKCTL (trunkctl binary: '$TRUNKCTL')"
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/trunkline-topology-cm-XXXXXX")
trap 'rm -rf "$WORK"' EXIT

for example in "${EXAMPLES[@]}"; do
  render "$example" "$WORK/$example.yaml" -f "$CHART/examples/$example.yaml"
  node "$DEPLOY_TESTS/validate_manifests.js" "$WORK/$example.yaml" --topology-out "$WORK/$example-topology.yaml" > /dev/null ||
    fail "examples/$example.yaml: the rendering does not validate (run tests/deploy/manifests.sh)"
  note "trunkctl topology validate (ConfigMap of examples/$example.yaml)"
  "$TRUNKCTL" topology validate "$WORK/$example-topology.yaml" ||
    fail "examples/$example.yaml: trunkctl refuses the rendered topology.yaml (errors above)"
done

note "examples/contoso.yaml carries deploy/examples/topology.yaml"
"$TRUNKCTL" topology show --output json "$REPO/deploy/examples/topology.yaml" > "$WORK/reference.json" ||
  fail "trunkctl topology show deploy/examples/topology.yaml failed"
"$TRUNKCTL" topology show --output json "$WORK/contoso-topology.yaml" > "$WORK/contoso.json" ||
  fail "trunkctl topology show of the contoso ConfigMap failed"
node - "$WORK/reference.json" "$WORK/contoso.json" << 'EOF' || fail "examples/contoso.yaml differs from deploy/examples/topology.yaml (beyond addresses)"
const fs = require('fs');
const [reference, chart] = process.argv.slice(2).map((f) => JSON.parse(fs.readFileSync(f, 'utf8')));
// Addresses are what the example may change: where things are, not what.
const strip = (t) => {
  for (const pool of t.pools || []) for (const l of pool.listeners || []) { delete l.address; delete l.advertisedAddress; }
  for (const gw of t.gateways || []) { delete gw.address; delete gw.trustedSources; }
  return t;
};
const a = JSON.stringify(strip(reference), null, 1).split('\n');
const b = JSON.stringify(strip(chart), null, 1).split('\n');
let differ = a.length !== b.length;
for (let i = 0; i < Math.max(a.length, b.length); i++) {
  if (a[i] !== b[i]) {
    console.error(`first difference at line ${i + 1} of the normalized JSON:\n  deploy/examples: ${a[i]}\n  chart example:   ${b[i]}`);
    differ = true;
    break;
  }
}
const kinds = ['sites', 'pools', 'gateways', 'trunks', 'trunkConfigurations', 'dialPlans', 'voicePolicies',
  'policyAssignments', 'pstnUsages', 'voiceRoutes', 'credentials'];
console.log(kinds.map((k) => `${(reference[k] || []).length} ${k}`).join(', '));
process.exit(differ ? 1 : 0);
EOF
echo "topology ConfigMap: ${#EXAMPLES[@]} examples accepted by trunkctl; contoso matches deploy/examples/topology.yaml"
