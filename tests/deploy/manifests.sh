#!/usr/bin/env bash
# Every manifest the chart renders, for each example and switch, validates
# against the Kubernetes schemas (kubernetes-models, Kubernetes 1.27) and
# passes the explicit checks of validate_manifests.js (non-root, nothing
# privileged, capabilities dropped, gRPC probes, resources, preStop, flags,
# selectors). Also: the monitoring templates render nothing until
# files/grafana and files/prometheus hold something, and valid objects when
# they do.
#
#   tests/deploy/manifests.sh CACHE_DIR
. "$(dirname "$0")/lib.sh"
deploy_init "${1:-}"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/trunkline-manifests-XXXXXX")
trap 'rm -rf "$WORK"' EXIT

validate() {
  node "$DEPLOY_TESTS/validate_manifests.js" "$@" || fail "$1: manifests do not validate (problems above)"
}
count() { grep -c "^kind: $1\$" "$2" || true; }

for example in "${EXAMPLES[@]}"; do
  for variant in "${VARIANTS[@]}"; do
    read -r -a words <<< "$variant"
    out=$WORK/$example-${words[0]}.yaml
    render "$example" "$out" -f "$CHART/examples/$example.yaml" "${words[@]:1}"
    validate "$out"
  done
done

# The switches do what they say.
lb=$(grep -c "type: LoadBalancer" "$WORK/contoso-default.yaml" || true)
[ "$lb" = 2 ] || fail "contoso: expected a LoadBalancer Service per listener (2), found $lb"
grep -q "loadBalancerIP: 203.0.113.10" "$WORK/contoso-default.yaml" || fail "contoso: the internet listener's load balancer does not get its advertisedAddress"
[ "$(grep -c "type: LoadBalancer" "$WORK/contoso-hostnetwork.yaml" || true)" = 0 ] || fail "hostNetwork: LoadBalancer Services rendered"
[ "$(grep -c "hostNetwork: true" "$WORK/contoso-hostnetwork.yaml" || true)" = 2 ] || fail "hostNetwork: signaling and media should both be on hostNetwork"
[ "$(grep -c "hostNetwork: true" "$WORK/contoso-default.yaml" || true)" = 1 ] || fail "default: only media should be on hostNetwork"
grep -q "terminationGracePeriodSeconds: 3600" "$WORK/contoso-default.yaml" || fail "signaling's default terminationGracePeriodSeconds is not 3600"
grep -q -- "--drain_seconds=3580" "$WORK/contoso-default.yaml" || fail "signaling's --drain_seconds is not the grace period less the preStop sleep and 10 s (3580)"
[ "$(count ServiceMonitor "$WORK/contoso-default.yaml")" = 0 ] || fail "a ServiceMonitor is rendered while monitoring is off"
[ "$(count ServiceMonitor "$WORK/contoso-monitoring.yaml")" = 1 ] || fail "monitoring.serviceMonitor.enabled renders no ServiceMonitor"
[ "$(count PrometheusRule "$WORK/contoso-monitoring.yaml")" = 1 ] || fail "monitoring.prometheusRule.enabled renders no PrometheusRule for files/prometheus/alerts.yaml"
grep -q "alert: TrunklineGatewayDown" "$WORK/contoso-monitoring.yaml" || fail "the PrometheusRule lacks the rules of files/prometheus/alerts.yaml"
for dashboard in "$CHART"/files/grafana/*.json; do
  grep -q "^  $(basename "$dashboard"): |-" "$WORK/contoso-monitoring.yaml" ||
    fail "monitoring.grafanaDashboards.enabled renders no ConfigMap for files/grafana/$(basename "$dashboard")"
done

# With rule and dashboard files (as deploy/prometheus and deploy/grafana will
# provide), the chart renders them as valid objects.
note "monitoring with rule and dashboard files"
cp -r "$CHART" "$WORK/chart"
mkdir -p "$WORK/chart/files/grafana" "$WORK/chart/files/prometheus"
cat > "$WORK/chart/files/prometheus/sample.yaml" << 'YAML'
groups:
  - name: trunkline-sample
    rules:
      - alert: TrunklineTopologyReloadFailed
        expr: trunkline_routing_topology_last_reload_success == 0
        for: 5m
        labels: {severity: warning}
YAML
echo '{"title": "Trunkline sample", "panels": [], "schemaVersion": 39}' > "$WORK/chart/files/grafana/trunkline-sample.json"
out=$WORK/with-files.yaml
if ! "$HELM" template files "$WORK/chart" -f "$CHART/examples/lab.yaml" --set monitoring.serviceMonitor.enabled=true \
    --set monitoring.prometheusRule.enabled=true --set monitoring.grafanaDashboards.enabled=true > "$out" 2> "$out.err"; then
  cat "$out.err" >&2
  fail "helm template with monitoring files failed"
fi
validate "$out"
[ "$(count PrometheusRule "$out")" = 1 ] || fail "files/prometheus/*.yaml renders no PrometheusRule"
grep -q "alert: TrunklineTopologyReloadFailed" "$out" || fail "the PrometheusRule does not carry the file's rules"
grep -q "trunkline-sample.json:" "$out" || fail "files/grafana/*.json renders no dashboard ConfigMap"
echo "manifests: ${#EXAMPLES[@]} examples x ${#VARIANTS[@]} variants and the monitoring files valid"
