#!/usr/bin/env bash
# Every dashboard and alert expression, evaluated by a real Prometheus that
# scrapes the whole running stack (routing, media, signaling with the example
# topology) while calls flow through it: the London IP-PBX (sipp, 127.0.0.31)
# calls the PSTN through the London gateway (sipp, 127.0.0.22), media
# anchored, RTP both ways. Before Prometheus, the admin API of the same
# stack through trunkctl: an anchored call's media streams with live figures
# (calls show), and every node's load (node status).
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
declare -A METRICS ADMIN
start() {  # service
  local api admin metrics
  read -r api admin metrics < <(ports)
  METRICS[$1]=$metrics
  ADMIN[$1]=$admin
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
# Wait (bounded) until media flows: calls start every 2 s.
relayed=0
for _ in $(seq 40); do
  if curl -s "http://127.0.0.1:${METRICS[media]}/metrics" | grep -q 'trunkline_media_relayed_packets_total{crypto="rtp_to_rtp",direction="to_callee"} [1-9]'; then
    relayed=1; break
  fi
  sleep 0.5
done
[ $relayed = 1 ] ||
  { echo "FAIL: no media relayed through the stack" >&2; tail -n 20 "$WORK/calls.out" "$WORK/signaling.log" >&2; exit 1; }

# --- The admin API while calls flow (trunkctl, as an operator would).
TC=("$BIN/trunkctl" --admin_token_file="$WORK/token")
# An answered call's detail carries its media streams, both legs relaying
# (the gateway echoes): retried, since calls come and go every few seconds.
ok=0
for _ in $(seq 20); do
  id=$("${TC[@]}" --signaling="127.0.0.1:${ADMIN[signaling]}" calls list --output=json 2> /dev/null |
    /usr/bin/python3 -c 'import json,sys
c=[x for x in json.load(sys.stdin).get("calls",[]) if x.get("state")=="CALL_STATE_ANSWERED"]
print(c[0]["callId"] if c else "")' 2> /dev/null || true)
  if [ -n "$id" ] && "${TC[@]}" --signaling="127.0.0.1:${ADMIN[signaling]}" calls show "$id" \
      --output=json > "$WORK/call.json" 2> "$WORK/call.err" &&
    /usr/bin/python3 - "$WORK/call.json" "$MEDIA_API" << 'PY'
import json, sys
d = json.load(open(sys.argv[1]))
streams = d.get("mediaStreams", [])
legs = {s.get("leg") for s in streams if int(s.get("packets", "0")) > 0}
ok = (d.get("mediaInstance") == sys.argv[2] and not d.get("mediaError")
      and legs == {"LEG_CALLER", "LEG_CALLEE"}
      and all(s.get("lastPacketUnixMs") for s in streams))
sys.exit(0 if ok else 1)
PY
  then ok=1; break; fi
  sleep 0.5
done
if [ $ok = 1 ]; then
  echo "PASS: calls show $id: media streams of both legs with packets, from $MEDIA_API"
else
  echo "FAIL: no answered call with relayed media streams in calls show" >&2
  cat "$WORK/call.json" "$WORK/call.err" >&2 2> /dev/null || true
  exit 1
fi
"${TC[@]}" --signaling="127.0.0.1:${ADMIN[signaling]}" calls show "$id" > "$WORK/call.txt" || true
if grep -qE '^LEG +M-LINE +SSRC +PACKETS +LOST +JITTER ms +RTT ms +MOS +LAST PACKET +SRTP AUTH FAILS' "$WORK/call.txt" &&
  grep -qE '^caller +0 +[0-9a-f]{8} +[1-9]' "$WORK/call.txt" && grep -qE '^callee +0 +[0-9a-f]{8} +[1-9]' "$WORK/call.txt"; then
  echo "PASS: calls show prints the streams table"
else
  echo "FAIL: calls show table" >&2; cat "$WORK/call.txt" >&2; exit 1
fi
# Every node's status carries its load: process figures and its own work.
node_load() {  # service unit python-condition-on-load
  local shown=""
  for _ in $(seq 10); do
    if "${TC[@]}" --admin="127.0.0.1:${ADMIN[$1]}" node status "$1" --output=json > "$WORK/node-$1.json" &&
      shown=$(/usr/bin/python3 - "$WORK/node-$1.json" "$2" "$3" << 'PY'
import json, sys
load = json.load(open(sys.argv[1]))[0].get("load", {})
active = load.get("active", 0)
figures = load.get("figures", {})
ok = (load.get("cpuSeconds", 0) > 0 and int(load.get("residentBytes", "0")) > 1 << 20
      and load.get("threads", 0) > 1 and load.get("activeUnit") == sys.argv[2]
      and eval(sys.argv[3]))
print(json.dumps(load, sort_keys=True))
sys.exit(0 if ok else 1)
PY
      ); then
      echo "PASS: node status $1 shows its load: $shown"
      return 0
    fi
    sleep 0.5
  done
  echo "FAIL: node status $1 load: ${shown:-}" >&2
  cat "$WORK/node-$1.json" >&2
  exit 1
}
node_load signaling calls 'active >= 1 and figures.get("trunks", 0) >= 1'
node_load media sessions 'active >= 1 and figures.get("streams", 0) >= 1 and figures.get("packets_per_second", 0) > 0 and figures.get("capacity_left", 0) > 0'
node_load routing requests 'figures.get("decisions", 0) >= 1'
"$BIN/trunkctl" --admin_token_file="$WORK/token" --signaling="127.0.0.1:${ADMIN[signaling]}" node status signaling > "$WORK/node.txt"
if grep -qE '^SERVICE .* ACTIVE +CPU +MEMORY +FIGURES' "$WORK/node.txt" && grep -qE '^signaling .* [0-9]+ calls +[0-9.]+s +[0-9.]+ MiB +.*trunks=' "$WORK/node.txt"; then
  echo "PASS: node status prints the load"
else echo "FAIL: node status table" >&2; cat "$WORK/node.txt" >&2; exit 1; fi

"$HERE/prometheus_live.sh" "trunkline-routing=127.0.0.1:${METRICS[routing]}" \
  "trunkline-media=127.0.0.1:${METRICS[media]}" "trunkline-signaling=127.0.0.1:${METRICS[signaling]}"
