#!/usr/bin/env bash
# prometheus_live.sh against the one service binary that exists today:
# starts routing on loopback (free ports, the example topology, a temporary
# admin token), runs prometheus_live.sh with it as job trunkline-routing,
# and stops it.
#
#   tests/operate/prometheus_live_routing.sh ROUTING_BIN
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
ROUTING=${1:?usage: $0 ROUTING_BIN}
[ -x "$ROUTING" ] || { echo "FAIL: $ROUTING is not an executable" >&2; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/trunkline-live-routing-XXXXXX")
PID=
cleanup() {
  if [ -n "$PID" ] && kill -0 "$PID" 2> /dev/null; then
    kill "$PID" 2> /dev/null || true
    wait "$PID" 2> /dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

read -r GRPC ADMIN METRICS < <(/usr/bin/python3 -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$WORK/token"
"$ROUTING" --topology="$REPO/deploy/examples/topology.yaml" --grpc_address="127.0.0.1:$GRPC" \
  --admin_address="127.0.0.1:$ADMIN" --metrics_address="127.0.0.1:$METRICS" \
  --admin_token_file="$WORK/token" > "$WORK/routing.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$METRICS/metrics" > /dev/null && break
  kill -0 "$PID" 2> /dev/null || { cat "$WORK/routing.log" >&2; echo "FAIL: routing exited" >&2; exit 1; }
  sleep 0.1
done
curl -sf "http://127.0.0.1:$METRICS/metrics" > /dev/null ||
  { cat "$WORK/routing.log" >&2; echo "FAIL: routing serves no /metrics on 127.0.0.1:$METRICS" >&2; exit 1; }
"$HERE/prometheus_live.sh" "trunkline-routing=127.0.0.1:$METRICS"
