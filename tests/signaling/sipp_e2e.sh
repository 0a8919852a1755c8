#!/bin/bash
# End to end on loopback: the real routing and signaling binaries, with a
# topology derived from deploy/examples/topology.yaml, driven by sipp playing
# the UC front end (127.0.0.11) and the gateways (gw-dub 127.0.0.21, itsp
# 127.0.0.41). Every process this script starts is stopped by its PID.
#
#   sipp_e2e.sh ROUTING_BIN SIGNALING_BIN SOURCE_DIR
set -u
ROUTING=$1 SIGNALING=$2 SRC=$3
SCEN=$SRC/tests/signaling/scenarios
if ! command -v sipp >/dev/null; then
  echo "SKIP: sipp not installed (apt-get install -y sip-tester)"; exit 0
fi
DIR=$(mktemp -d /tmp/trunkline-sig-e2e-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  if [ "${FAILED:-0}" = 0 ]; then rm -rf "$DIR"; else echo "logs kept in $DIR"; fi
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Media bypass on the gateways' trunks: these tests run without a media
# instance (anchored calls are covered by the 503 case in the unit tests).
sed -e 's/^    srtpMode: not_supported$/    srtpMode: optional\n    enableBypass: true/' \
    -e 's/^    referMode: reject$/    referMode: reject\n    enableBypass: true/' \
    "$SRC/deploy/examples/topology.yaml" > "$DIR/topology.yaml"

RG=$(free_port) RA=$(free_port) RM=$(free_port)
SG=$(free_port) SA=$(free_port) SM=$(free_port)
"$ROUTING" --topology="$DIR/topology.yaml" --grpc_address=127.0.0.1:$RG \
  --admin_address=127.0.0.1:$RA --metrics_address=127.0.0.1:$RM 2>"$DIR/routing.log" &
PIDS+=($!)
"$SIGNALING" --topology="$DIR/topology.yaml" --grpc_address=127.0.0.1:$SG \
  --admin_address=127.0.0.1:$SA --metrics_address=127.0.0.1:$SM \
  --routing=127.0.0.1:$RG --media= 2>"$DIR/signaling.log" &
PIDS+=($!)
for _ in $(seq 50); do
  grep -q 'msg=serving' "$DIR/signaling.log" && grep -q 'msg=serving' "$DIR/routing.log" && break
  sleep 0.2
done
if ! grep -q 'msg=serving' "$DIR/signaling.log"; then
  echo "FAIL: signaling did not start"; cat "$DIR/signaling.log"; FAILED=1; exit 1
fi

printf 'SEQUENTIAL\n0871234567;\n' > "$DIR/numbers.csv"
FAILED=0 PASSED=0
sipp_run() {  # name ip scenario [extra args...]
  local name=$1 ip=$2 scen=$3; shift 3
  timeout 30 sipp -sf "$SCEN/$scen" -i "$ip" -p 5060 -m 1 -timeout 15s -nostdin \
    -trace_err -error_file "$DIR/$name.err" -trace_msg -message_file "$DIR/$name.msg" "$@" >"$DIR/$name.out" 2>&1
}
# case NAME UAC_IP UAC_SCENARIO [UAS_IP:UAS_SCENARIO ...]
run_case() {
  local name=$1 uac_ip=$2 uac=$3; shift 3
  local uas_pids=() ok=1
  for spec in "$@"; do
    sipp_run "$name-uas-${spec%%:*}" "${spec%%:*}" "${spec#*:}" &
    uas_pids+=($!)
  done
  sleep 0.5
  sipp_run "$name-uac" "$uac_ip" "$uac" -inf "$DIR/numbers.csv" 127.0.0.1:5060 || ok=0
  for p in "${uas_pids[@]}"; do wait "$p" || ok=0; done
  if [ $ok = 1 ]; then echo "PASS: $name"; PASSED=$((PASSED+1));
  else echo "FAIL: $name (see $DIR/$name-*.err)"; FAILED=$((FAILED+1)); fi
}

run_case call_caller_hangs_up 127.0.0.11 uac_call.xml 127.0.0.21:uas_gw_dub_answer.xml
# What gw-dub received: Dublin user +35315551234 dialing 0871234567 (see
# services/routing/testdata/golden_routes.txt), headers the trunk allows.
for re in '^INVITE sip:0871234567@127\.0\.0\.21:5060 SIP/2\.0' \
          '^From: <sip:015551234@127\.0\.0\.1>;tag=' \
          '^To: <sip:0871234567@127\.0\.0\.21>' \
          '^P-Asserted-Identity: <sip:015551234@127\.0\.0\.1>' \
          '^History-Info: <sip:alice@contoso\.example>;index=1' \
          '^Contact: <sip:127\.0\.0\.1:5160>'; do
  if grep -qE "$re" "$DIR/call_caller_hangs_up-uas-127.0.0.21.msg" 2>/dev/null; then
    echo "PASS: gw-dub got $re"; PASSED=$((PASSED+1))
  else echo "FAIL: gw-dub did not get $re"; FAILED=$((FAILED+1)); fi
done
# Topology hiding: nothing of the caller's leg reaches the gateway.
if sed -n '/^INVITE sip/,/^$/p' "$DIR/call_caller_hangs_up-uas-127.0.0.21.msg" | grep -qE '^(Via|Contact|Call-ID|From|To):.*127\.0\.0\.11'; then
  echo "FAIL: caller's address leaked into the INVITE headers"; FAILED=$((FAILED+1))
else echo "PASS: topology hidden"; PASSED=$((PASSED+1)); fi
run_case call_callee_hangs_up 127.0.0.11 uac_call_callee_hangs_up.xml 127.0.0.21:uas_answer_then_bye.xml
run_case cancel_while_ringing 127.0.0.11 uac_cancel.xml 127.0.0.21:uas_ring_cancelled.xml
run_case failover_503_to_itsp 127.0.0.11 uac_call.xml 127.0.0.21:uas_503.xml 127.0.0.41:uas_answer.xml
run_case untrusted_source_403 127.0.0.99 uac_expect_403.xml

metrics=$(/usr/bin/python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$SM/metrics').read().decode())")
for m in 'trunkline_signaling_calls_answered_total{direction="outbound",trunk="pstn-dub"} 2' \
         'trunkline_signaling_calls_answered_total{direction="outbound",trunk="itsp"} 1' \
         'trunkline_signaling_failovers_total{reason="response_503",trunk="pstn-dub"} 1' \
         'trunkline_signaling_untrusted_requests_total{method="INVITE"} 1'; do
  if grep -qF "$m" <<<"$metrics"; then echo "PASS: metric $m"; PASSED=$((PASSED+1));
  else echo "FAIL: metric $m"; FAILED=$((FAILED+1)); fi
done
kill -0 "${PIDS[1]}" 2>/dev/null || { echo "FAIL: signaling died"; FAILED=$((FAILED+1)); }
echo "sipp e2e: $PASSED passed, $FAILED failed"
[ $FAILED = 0 ]
