#!/usr/bin/env bash
# Evaluates every Grafana dashboard expression (deploy/grafana) and every
# alert rule expression (deploy/prometheus/alerts.yml) on a real Prometheus
# (Debian's `prometheus`, on 127.0.0.1, a free port, a temporary directory)
# that scrapes the given targets every second. Reports which expressions
# return data; fails when one whose metrics all exist in the scraped targets
# returns nothing, or when Prometheus refuses one. Comparisons are evaluated
# with `bool` and dashboard variables as ".+" (see promql_exprs.py).
#
#   tests/operate/prometheus_live.sh [JOB=]HOST:PORT...
#       JOB defaults to trunkline-live; name targets as the real jobs do
#       (trunkline-signaling, trunkline-routing, trunkline-media).
#   LIVE_TIMEOUT=SECONDS (default 90) bounds the whole run.
#
# With only the routing binary:
#   build/bin/routing --topology=deploy/examples/topology.yaml --grpc_address=127.0.0.1:P1 \
#     --admin_address=127.0.0.1:P2 --metrics_address=127.0.0.1:P3 --admin_token_file=TOKEN &
#   tests/operate/prometheus_live.sh trunkline-routing=127.0.0.1:P3
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PY=/usr/bin/python3
TIMEOUT=${LIVE_TIMEOUT:-90}
[ $# -gt 0 ] || { sed -n '2,/^set -e/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 2; }
command -v prometheus > /dev/null || { echo "FAIL: prometheus is not installed (Debian 12: apt-get install prometheus)" >&2; exit 1; }
command -v curl > /dev/null || { echo "FAIL: curl is not installed" >&2; exit 1; }
deadline=$((SECONDS + TIMEOUT))

WORK=$(mktemp -d "${TMPDIR:-/tmp}/trunkline-prometheus-live-XXXXXX")
PROM_PID=
cleanup() {
  if [ -n "$PROM_PID" ] && kill -0 "$PROM_PID" 2> /dev/null; then
    kill "$PROM_PID" 2> /dev/null || true
    wait "$PROM_PID" 2> /dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# The scrape configuration: one job per JOB=, in the order given.
"$PY" - "$WORK/prometheus.yml" "$@" << 'EOF_PY'
import json, sys
jobs = {}
for arg in sys.argv[2:]:
    job, _, target = arg.rpartition("=")
    jobs.setdefault(job or "trunkline-live", []).append(target)
config = {"global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
          "scrape_configs": [{"job_name": j, "static_configs": [{"targets": t}]} for j, t in jobs.items()]}
json.dump(config, open(sys.argv[1], "w"), indent=1)  # JSON is YAML
EOF_PY
promtool check config "$WORK/prometheus.yml" > /dev/null

PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
echo "--- prometheus on $URL scraping $*"
timeout "$TIMEOUT" prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/data" \
  --web.listen-address="127.0.0.1:$PORT" > "$WORK/prometheus.log" 2>&1 &
PROM_PID=$!

fail() {
  echo "FAIL: $*" >&2
  tail -20 "$WORK/prometheus.log" >&2
  exit 1
}
until curl -sf "$URL/-/ready" > /dev/null; do
  kill -0 "$PROM_PID" 2> /dev/null || fail "prometheus exited"
  [ $SECONDS -lt $deadline ] || fail "prometheus not ready in ${TIMEOUT}s"
  sleep 0.5
done

# Every target up with at least 5 scrapes, so that rate() has samples.
echo "--- waiting for $# targets to be scraped 5 times"
want=$#
while :; do
  got=$(curl -sf "$URL/api/v1/query" --data-urlencode 'query=count(count_over_time(up[5m]) >= 5 and up == 1)' |
    "$PY" -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)')
  [ "$got" -ge "$want" ] && break
  if [ $SECONDS -ge $deadline ]; then
    curl -s "$URL/api/v1/targets" | "$PY" -c 'import json,sys
for t in json.load(sys.stdin)["data"]["activeTargets"]:
    print("  %s %s %s %s" % (t["labels"]["job"], t["scrapeUrl"], t["health"], t.get("lastError", "")))' >&2
    fail "only $got of $want targets scraped 5 times in ${TIMEOUT}s"
  fi
  sleep 1
done

echo "--- evaluating the dashboards' and alert rules' expressions"
"$PY" "$HERE/promql_exprs.py" live --alerts "$REPO/deploy/prometheus/alerts.yml" "$URL" "$REPO"/deploy/grafana/*.json ||
  { echo "FAIL: expressions return nothing although their metrics are scraped, or fail (above)" >&2; exit 1; }
echo "live PromQL OK"
