#!/usr/bin/env bash
# Checks the PromQL of the Grafana dashboards (deploy/grafana) offline:
#  1. every expression (panel targets, PromQL template variable queries),
#     with the Grafana variables substituted ($__rate_interval -> 5m,
#     $__interval -> 1m, $trunk and other dashboard variables -> "example"),
#     goes into a temporary rules file that `promtool check rules` parses:
#     a syntax error fails;
#  2. every metric name, in the dashboards and in
#     deploy/prometheus/alerts.yml, and every label matcher on it must be in
#     the metric contract written in tests/operate/promql_exprs.py (CONTRACT).
#
#   tests/operate/promql_offline.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PY=/usr/bin/python3 # Debian's, for python3-yaml
command -v promtool > /dev/null || { echo "FAIL: promtool is not installed (Debian 12: apt-get install prometheus)" >&2; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/trunkline-promql-XXXXXX")
trap 'rm -rf "$WORK"' EXIT

shopt -s nullglob
dashboards=("$REPO"/deploy/grafana/*.json)
[ ${#dashboards[@]} -gt 0 ] || { echo "FAIL: no dashboards in deploy/grafana" >&2; exit 1; }

echo "--- promtool check rules on the dashboards' expressions"
"$PY" "$HERE/promql_exprs.py" rules "$WORK/dashboards.rules.yml" "${dashboards[@]}"
if ! promtool check rules "$WORK/dashboards.rules.yml" > "$WORK/promtool.out" 2>&1; then
  cat "$WORK/promtool.out" >&2
  # Which panel each failing rule comes from.
  grep -o 'trunkline_dashboard:expr_[0-9]*' "$WORK/promtool.out" | sort -u | while read -r record; do
    "$PY" -c 'import json,sys; r=[r for r in json.load(open(sys.argv[1]))["groups"][0]["rules"] if r["record"]==sys.argv[2]][0]; print("  %s: %s\n    %s" % (sys.argv[2], r["labels"]["source"], r["expr"]))' \
      "$WORK/dashboards.rules.yml" "$record" >&2 || true
  done
  echo "FAIL: a dashboard expression is not valid PromQL (above)" >&2
  exit 1
fi
cat "$WORK/promtool.out"

echo "--- metric names against the contract"
"$PY" "$HERE/promql_exprs.py" contract --alerts "$REPO/deploy/prometheus/alerts.yml" "${dashboards[@]}" ||
  { echo "FAIL: expressions use metrics or labels outside the contract (above)" >&2; exit 1; }
echo "PromQL OK"
