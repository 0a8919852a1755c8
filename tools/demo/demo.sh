#!/usr/bin/env bash
# make demo: the stack on this machine with the example topology, and what it
# decides for the calls a voice engineer cares about.
#
# Today the stack is the routing service; signaling (calls over SIP) and
# media (RTP/SRTP) join it as they are built, and the demo grows with them.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tools/lib.sh
BUILD=${1:-build}
BIN=$BUILD/bin
TOPOLOGY=deploy/examples/topology.yaml
WORK=$(mktemp -d /tmp/trunkline-demo-XXXXXX)
ROUTING_PID=""
cleanup() {
  [ -n "$ROUTING_PID" ] && kill "$ROUTING_PID" 2>/dev/null && wait "$ROUTING_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@" || true; }

step "The example enterprise (Contoso: Dublin and London, a UC pool, two PSTN gateways, an IP-PBX, an ITSP)"
show "$BIN/trunkctl" topology validate "$TOPOLOGY"
show "$BIN/trunkctl" topology show "$TOPOLOGY"

step "Starting routing on loopback"
cp "$TOPOLOGY" "$WORK/topology.yaml"
GRPC=$(free_port); ADMIN=$(free_port); METRICS=$(free_port)
"$BIN/routing" --topology="$WORK/topology.yaml" --grpc_address=127.0.0.1:$GRPC \
  --admin_address=127.0.0.1:$ADMIN --metrics_address=127.0.0.1:$METRICS \
  2> "$WORK/routing.log" &
ROUTING_PID=$!
wait_port "$GRPC"
echo "routing: pid $ROUTING_PID, gRPC 127.0.0.1:$GRPC, metrics http://127.0.0.1:$METRICS/metrics"
R="--routing=127.0.0.1:$GRPC"

step "A Dublin user dials a Paris number (0033...): international route, weighted between the ITSP and the Dublin gateway"
show "$BIN/trunkctl" route explain "$R" --from-user sip:alice@contoso.example --caller +35315551234 --callee 0033142685300

step "The ITSP stops answering OPTIONS: the same call fails over to the gateways"
show "$BIN/trunkctl" route explain "$R" --from-user sip:alice@contoso.example --caller +35315551234 --callee 0033142685300 --down itsp

step "The PSTN calls a Dublin DID: to the UC side's front ends"
show "$BIN/trunkctl" route explain "$R" --from-trunk pstn-dub --caller 0871234567 --callee 015551234

step "Inter-trunk: the London IP-PBX dials 9 + a UK number, out through the London gateway"
show "$BIN/trunkctl" route explain "$R" --from-trunk pbx-lon --caller 1234 --callee 902071234567

step "A lobby phone may not call mobiles (voice policy)"
show "$BIN/trunkctl" route explain "$R" --from-user sip:lobby@contoso.example --caller +35315551901 --callee 0871234567

step "A broken topology edit is refused; the running service keeps the last good one"
printf '\ntrunks:\n  - {name: extra, pool: med-pool, gateway: no-such-gateway}\n' >> "$WORK/topology.yaml"
kill -HUP "$ROUTING_PID"
sleep 1
grep -E 'topology refused' "$WORK/routing.log" | tail -3 || true
curl -s "http://127.0.0.1:$METRICS/metrics" | grep -E '^trunkline_routing_(topology|decisions)' || true

step "Done"
echo "Calls over SIP with media through the stack join this demo with the signaling and media services."
echo "Run the stack yourself with: make run   (then: $BIN/trunkctl route explain --callee 112 --from-user sip:a@contoso.example --caller +35315551234)"
