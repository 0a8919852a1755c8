#!/usr/bin/env bash
# Every dashboard and alert expression, evaluated by a real Prometheus that
# scrapes the whole running stack (routing, media, signaling with the example
# topology) while calls flow through it: the London IP-PBX (sipp, 127.0.0.31)
# calls the PSTN through the London gateway (sipp, 127.0.0.22), media
# anchored, RTP both ways.
#
#   tests/operate/prometheus_live_stack.sh BUILD_BIN_DIR
# Binds the example's fixed SIP ports: run serially (ctest RUN_SERIAL).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BIN=${1:?usage: $0 BUILD_BIN_DIR}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/trunkline-live-stack-XXXXXX")
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -INT "$pid" 2> /dev/null || true; done
  sleep 1
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2> /dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
. "$REPO/tools/lib.sh"

ports() { /usr/bin/python3 -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])'; }
declare -A METRICS
start() {  # service
  local api admin metrics
  read -r api admin metrics < <(ports)
  METRICS[$1]=$metrics
  eval "${1^^}_API=127.0.0.1:$api"
  shift_flags=()
  [ "$1" = signaling ] && shift_flags=(--routing="$ROUTING_API" --media="$MEDIA_API")
  "$BIN/$1" --topology="$REPO/deploy/examples/topology.yaml" --grpc_address="127.0.0.1:$api" \
    --admin_address="127.0.0.1:$admin" --metrics_address="127.0.0.1:$metrics" \
    --admin_token_file="$WORK/token" "${shift_flags[@]}" > "$WORK/$1.log" 2>&1 &
  PIDS+=($!)
  wait_port "$api" 100 || { cat "$WORK/$1.log" >&2; echo "FAIL: $1 did not start" >&2; exit 1; }
}
start routing
start media
start signaling

for peer in gw-lon:127.0.0.22; do
  timeout 120 sipp -sf "$REPO/tools/demo/peers/gateway.xml" -i "${peer#*:}" -p 5060 -rtp_echo \
    -nostdin > "$WORK/${peer%%:*}.out" 2>&1 &
  PIDS+=($!)
done
sleep 1
# Calls keep flowing while Prometheus scrapes: one every 2 s, each with 5 s
# of audio, for at most 100 s.
timeout 100 sipp -sf "$REPO/tools/demo/peers/pstn_caller.xml" -i 127.0.0.31 -p 15071 \
  -set caller 1234 -s 902071234567 -r 1 -rp 2000 -m 50 -nostdin 127.0.0.1:5164 \
  > "$WORK/calls.out" 2>&1 &
PIDS+=($!)
# A failover and a failure, so those series exist too: an international
# call tries the ITSP and the Dublin gateway (not running: transport errors)
# before gw-lon answers; a number no route of the PBX's usages takes is
# rejected.
sleep 2
timeout 30 sipp -sf "$REPO/tools/demo/peers/pstn_caller.xml" -i 127.0.0.31 -p 15072 \
  -set caller 1234 -s 90033142685300 -m 1 -nostdin 127.0.0.1:5164 > "$WORK/failover.out" 2>&1 &
PIDS+=($!)
timeout 30 sipp -sf "$REPO/tools/demo/peers/pstn_caller.xml" -i 127.0.0.31 -p 15073 \
  -set caller 1234 -s 900353871234567 -m 1 -nostdin 127.0.0.1:5164 > "$WORK/rejected.out" 2>&1 &
PIDS+=($!)
sleep 8
curl -s "http://127.0.0.1:${METRICS[media]}/metrics" | grep -q 'trunkline_media_relayed_packets_total{crypto="rtp_to_rtp",direction="to_callee"} [1-9]' ||
  { echo "FAIL: no media relayed through the stack" >&2; tail -5 "$WORK/calls.out" "$WORK/signaling.log" >&2; exit 1; }
"$HERE/prometheus_live.sh" "trunkline-routing=127.0.0.1:${METRICS[routing]}" \
  "trunkline-media=127.0.0.1:${METRICS[media]}" "trunkline-signaling=127.0.0.1:${METRICS[signaling]}"
