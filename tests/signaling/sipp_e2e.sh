#!/bin/bash
# End to end on loopback: the real routing and signaling binaries, with a
# topology derived from deploy/examples/topology.yaml, driven by sipp playing
# the UC front end (127.0.0.11) and the gateways (gw-dub 127.0.0.21, itsp
# 127.0.0.41). Every process this script starts is stopped by its PID.
#
#   sipp_e2e.sh ROUTING_BIN SIGNALING_BIN SOURCE_DIR [TRUNKCTL_BIN]
set -u
ROUTING=$1 SIGNALING=$2 SRC=$3 TRUNKCTL=${4:-}
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
    "$SRC/deploy/examples/topology.yaml" > "$DIR/bypass.yaml"
# No OPTIONS keepalive in the first phase (see derive_topology.py); the
# keepalive phase at the end turns it on for pstn-dub only.
/usr/bin/python3 "$SRC/tests/signaling/derive_topology.py" "$DIR/bypass.yaml" "$DIR/topology.yaml"
/usr/bin/python3 "$SRC/tests/signaling/derive_topology.py" "$DIR/bypass.yaml" \
  "$DIR/keepalive.yaml" --keepalive pstn-dub=5/1

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
# The gateway's release cause reaches the caller in our BYE (RFC 3326).
if grep -q '^Reason: Q.850;cause=16;text="Normal call clearing"' "$DIR/call_callee_hangs_up-uac.msg"; then
  echo "PASS: the gateway's Q.850 cause reached the caller's BYE"; PASSED=$((PASSED+1))
else echo "FAIL: no Q.850 Reason in the caller's BYE"; grep -i '^Reason' "$DIR/call_callee_hangs_up-uac.msg"; FAILED=$((FAILED+1)); fi
run_case cancel_while_ringing 127.0.0.11 uac_cancel.xml 127.0.0.21:uas_ring_cancelled.xml
run_case failover_503_to_itsp 127.0.0.11 uac_call.xml 127.0.0.21:uas_503.xml 127.0.0.41:uas_answer.xml
run_case untrusted_source_403 127.0.0.99 uac_expect_403.xml


# metric: the signaling instance's /metrics text ($SM: whichever runs now).
metric() { /usr/bin/python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$SM/metrics').read().decode())" 2>/dev/null; }
metrics=$(metric)
for m in 'trunkline_signaling_calls_answered_total{direction="outbound",trunk="pstn-dub"} 2' \
         'trunkline_signaling_calls_answered_total{direction="outbound",trunk="itsp"} 1' \
         'trunkline_signaling_failovers_total{reason="response_503",trunk="pstn-dub"} 1' \
         'trunkline_signaling_untrusted_requests_total{method="INVITE"} 1'; do
  if grep -qF "$m" <<<"$metrics"; then echo "PASS: metric $m"; PASSED=$((PASSED+1));
  else echo "FAIL: metric $m"; FAILED=$((FAILED+1)); fi
done
# gRPC client latency: the calls to routing.
for re in '^trunkline_signaling_grpc_client_duration_seconds_count\{method="/trunkline.v1.Routing/Route"\} [1-9]'; do
  if grep -qE "$re" <<<"$metrics"; then echo "PASS: metric $re"; PASSED=$((PASSED+1));
  else echo "FAIL: metric $re"; FAILED=$((FAILED+1)); fi
done
kill -0 "${PIDS[1]}" 2>/dev/null || { echo "FAIL: signaling died"; FAILED=$((FAILED+1)); }

# --- A SIP-I gateway that gives its cause only in the ISUP Release of its
# body (no Reason header): a 486 with the Release alone, then a BYE with it
# in multipart/mixed. The caller gets the Q.850 cause as a Reason both times.
/usr/bin/python3 "$SRC/tests/signaling/sipi_gateway.py" 127.0.0.21 5060 "$DIR/sipi-gw.log" 30 &
SIPI=$!; PIDS+=($SIPI)
sleep 0.3
if sipp_run sipi_busy 127.0.0.11 uac_expect_486_isup.xml -inf "$DIR/numbers.csv" 127.0.0.1:5060; then
  echo "PASS: a SIP-I 486's ISUP cause reached the caller as a Reason"; PASSED=$((PASSED+1))
else echo "FAIL: SIP-I 486 (see $DIR/sipi_busy.err)"; FAILED=$((FAILED+1)); fi
sipp_run sipi_bye 127.0.0.11 uac_call_callee_hangs_up.xml -inf "$DIR/numbers.csv" 127.0.0.1:5060
if grep -q '^Reason: Q.850;cause=31;text="Normal, unspecified"' "$DIR/sipi_bye.msg"; then
  echo "PASS: a SIP-I BYE's ISUP cause reached the caller's BYE"; PASSED=$((PASSED+1))
else echo "FAIL: no Q.850 Reason from the SIP-I BYE"; grep -i '^Reason\|^BYE' "$DIR/sipi_bye.msg"; FAILED=$((FAILED+1)); fi
wait "$SIPI" 2>/dev/null

# --- Media bypassed, a failover after early media: gw-dub's reliable 183
# (its SDP) completes the caller's offer/answer, then gw-dub fails (503);
# the ITSP's SDP reaches the caller in a re-INVITE after the ACK, not as a
# second answer in the 200 (the scenarios check both).
run_case bypass_failover_reoffer 127.0.0.11 uac_bypass_failover_reoffer.xml \
  127.0.0.21:uas_early_answer_503.xml 127.0.0.41:uas_answer.xml

# --- A reload that adds a trunk on a new port binds it without a restart:
# gw-dub gets a second trunk on 127.0.0.1:5190 (SIGHUP), and its OPTIONS
# there are answered 200.
/usr/bin/python3 - "$DIR/topology.yaml" <<'PY'
import sys, yaml
t = yaml.safe_load(open(sys.argv[1]))
t["trunks"].append({"name": "pstn-dub-b", "pool": "med-pool", "listener": "lan",
                    "gateway": "gw-dub", "localPort": 5190,
                    "configuration": "pstn-dub"})
# A gateway given by FQDN only: trusted from what the name resolves to
# (localhost: 127.0.0.1 and ::1, from /etc/hosts).
t["gateways"].append({"name": "gw-named", "kind": "pstn_gateway",
                      "fqdn": "localhost", "port": 5098})
t["trunks"].append({"name": "named", "pool": "med-pool", "listener": "lan",
                    "gateway": "gw-named", "localPort": 5192,
                    "configuration": "pstn-dub"})
yaml.safe_dump(t, open(sys.argv[1] + ".new", "w"), sort_keys=False)
PY
# Before the reload 127.0.0.1 is no peer: its OPTIONS get 403.
if timeout 20 sipp -sf "$SCEN/uac_options_403.xml" -i 127.0.0.1 -p 5098 -m 1 -timeout 10s -nostdin \
     127.0.0.1:5160 >"$DIR/named-before.out" 2>&1; then
  echo "PASS: 127.0.0.1 refused before it is a gateway's address"; PASSED=$((PASSED+1))
else echo "FAIL: OPTIONS from 127.0.0.1 before the reload"; FAILED=$((FAILED+1)); fi
mv "$DIR/topology.yaml.new" "$DIR/topology.yaml"
kill -HUP "${PIDS[1]}"
# options_after NAME LOG_REGEX SOURCE_IP SOURCE_PORT TARGET: once signaling's
# log matches LOG_REGEX (up to 10 s), one OPTIONS from SOURCE_IP:SOURCE_PORT
# to TARGET must be answered 200. Logs NAME's result.
options_after() {
  local name=$1 logged=$2 ip=$3 port=$4 target=$5
  for _ in $(seq 50); do grep -q "$logged" "$DIR/signaling.log" && break; sleep 0.2; done
  if grep -q "$logged" "$DIR/signaling.log" &&
     timeout 20 sipp -sf "$SCEN/uac_options.xml" -i "$ip" -p "$port" -m 1 -timeout 10s -nostdin \
       "$target" >"$DIR/options-$port-${target##*:}.out" 2>&1; then
    echo "PASS: $name"; PASSED=$((PASSED+1))
  else echo "FAIL: $name"; grep -i "listener\|reload\|topology\|fqdn" "$DIR/signaling.log" | tail -5; FAILED=$((FAILED+1)); fi
}
options_after "a reloaded topology's new trunk port answers without a restart" \
  'msg="SIP listener added".*port=5190' 127.0.0.21 5060 127.0.0.1:5190
options_after "a gateway given by FQDN is trusted from the address it resolves to" \
  'msg="gateway FQDN resolved".*name=localhost.*127\.0\.0\.1' 127.0.0.1 5098 127.0.0.1:5192
fqdn_metric=$(metric | grep '^trunkline_signaling_gateway_fqdn_addresses')
if grep -qE '^trunkline_signaling_gateway_fqdn_addresses\{name="localhost"\} [1-9]' <<<"$fqdn_metric"; then
  echo "PASS: metric: the addresses trusted for localhost"; PASSED=$((PASSED+1))
else echo "FAIL: fqdn metric: $fqdn_metric"; FAILED=$((FAILED+1)); fi
# Then a gateway whose name cannot resolve (.invalid, RFC 6761), in a reload
# of its own: its lookup goes to DNS, however slow that is here (the
# resolver reports each name's answer as it comes, so localhost's checks
# above never waited for it). Which names resolve: localhost does,
# sbc.nowhere.invalid does not (and has no address to fall back on).
/usr/bin/python3 - "$DIR/topology.yaml" <<'PY'
import sys, yaml
t = yaml.safe_load(open(sys.argv[1]))
t["gateways"].append({"name": "gw-nowhere", "kind": "pstn_gateway",
                      "fqdn": "sbc.nowhere.invalid", "port": 5060})
t["trunks"].append({"name": "nowhere", "pool": "med-pool", "listener": "lan",
                    "gateway": "gw-nowhere", "localPort": 5193,
                    "configuration": "pstn-dub"})
yaml.safe_dump(t, open(sys.argv[1] + ".new", "w"), sort_keys=False)
PY
mv "$DIR/topology.yaml.new" "$DIR/topology.yaml"
kill -HUP "${PIDS[1]}"
for _ in $(seq 150); do  # up to 30 s for its lookup to fail
  fqdn_state=$(metric | grep '^trunkline_signaling_gateway_fqdn_')
  grep -qF 'trunkline_signaling_gateway_fqdn_resolving{name="sbc.nowhere.invalid"} 0' <<<"$fqdn_state" && break
  sleep 0.2
done
if grep -qE '^trunkline_signaling_gateway_fqdn_resolving\{name="localhost"\} 1' <<<"$fqdn_state" &&
   grep -qE '^trunkline_signaling_gateway_fqdn_resolving\{name="sbc.nowhere.invalid"\} 0' <<<"$fqdn_state" &&
   grep -qE '^trunkline_signaling_gateway_fqdn_addresses\{name="sbc.nowhere.invalid"\} 0' <<<"$fqdn_state"; then
  echo "PASS: metric: a gateway FQDN that does not resolve shows as such"; PASSED=$((PASSED+1))
else echo "FAIL: fqdn state: $fqdn_state"; FAILED=$((FAILED+1)); fi

# --- OPTIONS keepalive: gw-dub (127.0.0.21) receives but never answers. With
# intervalSeconds 5 and downThreshold 1 it is down after the first interval,
# and a call goes straight to the next candidate (itsp).
SIG1=${PIDS[1]}
kill "$SIG1"; wait "$SIG1" 2>/dev/null
/usr/bin/python3 "$SRC/tests/signaling/silent_peer.py" 127.0.0.21 5060 "$DIR/gw-dub-silent.log" 60 &
PIDS+=($!); SILENT=$!
SG=$(free_port) SA=$(free_port) SM=$(free_port)
"$SIGNALING" --topology="$DIR/keepalive.yaml" --grpc_address=127.0.0.1:$SG \
  --admin_address=127.0.0.1:$SA --metrics_address=127.0.0.1:$SM \
  --routing=127.0.0.1:$RG --media= --admin_token_file="$DIR/admin.token" \
  --drain_seconds=3 2>"$DIR/signaling-keepalive.log" &
PIDS+=($!); SIG2=$!
down=0
for _ in $(seq 60); do  # up to 12 s: one 5 s interval plus start-up
  if metric | grep -qF 'trunkline_signaling_gateway_up{gateway="gw-dub",trunk="pstn-dub"} 0'; then down=1; break; fi
  sleep 0.2
done
if [ $down = 1 ]; then echo "PASS: gw-dub down after missing its OPTIONS"; PASSED=$((PASSED+1));
else echo "FAIL: gw-dub not reported down"; metric | grep gateway_up; FAILED=$((FAILED+1)); fi
run_case keepalive_down_skips_gw_dub 127.0.0.11 uac_call.xml 127.0.0.41:uas_answer.xml
if grep -q '^OPTIONS sip:127\.0\.0\.21:5060 SIP/2\.0' "$DIR/gw-dub-silent.log"; then
  echo "PASS: gw-dub got OPTIONS"; PASSED=$((PASSED+1))
else echo "FAIL: gw-dub got no OPTIONS"; FAILED=$((FAILED+1)); fi
if grep -q '^INVITE' "$DIR/gw-dub-silent.log"; then
  echo "FAIL: an INVITE reached the down gateway"; FAILED=$((FAILED+1))
else echo "PASS: no INVITE reached the down gateway"; PASSED=$((PASSED+1)); fi
kill "$SILENT" 2>/dev/null

# --- trunkctl against signaling's admin API (SignalingAdmin).
check() {  # name expected_exit command...
  local name=$1 want=$2; shift 2
  "$@" >"$DIR/$name.stdout" 2>"$DIR/$name.stderr"; local got=$?
  if [ "$got" = "$want" ]; then echo "PASS: $name"; PASSED=$((PASSED+1)); return 0; fi
  echo "FAIL: $name (exit $got, wanted $want)"; cat "$DIR/$name.stderr"; FAILED=$((FAILED+1)); return 1
}
if [ -n "$TRUNKCTL" ]; then
  TC=("$TRUNKCTL" --signaling=127.0.0.1:$SA --admin_token_file="$DIR/admin.token")
  echo wrong > "$DIR/wrong.token"
  check trunkctl_no_credentials 1 "$TRUNKCTL" --signaling=127.0.0.1:$SA --admin_token_file="$DIR/wrong.token" trunks list
  check trunkctl_trunks_list 0 "${TC[@]}" trunks list
  grep -qE '^pstn-dub +gw-dub +down' "$DIR/trunkctl_trunks_list.stdout" \
    && { echo "PASS: trunks list shows pstn-dub down"; PASSED=$((PASSED+1)); } \
    || { echo "FAIL: trunks list"; cat "$DIR/trunkctl_trunks_list.stdout"; FAILED=$((FAILED+1)); }
  check trunkctl_disable_pbx 0 "${TC[@]}" trunks disable pbx-lon
  check trunkctl_show_pbx 0 "${TC[@]}" trunks show pbx-lon --output=json
  grep -q '"state": "TRUNK_STATE_DISABLED"' "$DIR/trunkctl_show_pbx.stdout" \
    && { echo "PASS: pbx-lon disabled"; PASSED=$((PASSED+1)); } \
    || { echo "FAIL: pbx-lon not disabled"; FAILED=$((FAILED+1)); }
  check trunkctl_enable_pbx 0 "${TC[@]}" trunks enable pbx-lon
  # The live SIP trace: a call while `trunkctl trace` watches shows both
  # legs' INVITEs, the 200s, the ACKs and the BYEs as a ladder.
  "${TC[@]}" trace --seconds 8 >"$DIR/trace.stdout" 2>"$DIR/trace.stderr" & TRACE=$!
  "${TC[@]}" trace --seconds 8 --output=json >"$DIR/trace.json" 2>&1 & TRACEJ=$!
  sleep 1
  run_case traced_call 127.0.0.11 uac_call.xml 127.0.0.41:uas_answer.xml
  wait $TRACE; trace_exit=$?; wait $TRACEJ
  if [ "$trace_exit" = 0 ]; then echo "PASS: trunkctl trace exits 0 when its time is up"; PASSED=$((PASSED+1));
  else echo "FAIL: trunkctl trace exit $trace_exit"; cat "$DIR/trace.stderr"; FAILED=$((FAILED+1)); fi
  for re in '<- 127\.0\.0\.11:5060/udp +INVITE sip:' \
            '-> 127\.0\.0\.41:5060/udp +INVITE sip:' \
            '<- 127\.0\.0\.41:5060/udp +SIP/2\.0 200' \
            '-> 127\.0\.0\.11:5060/udp +SIP/2\.0 200' \
            '<- 127\.0\.0\.11:5060/udp +ACK sip:' \
            '-> 127\.0\.0\.41:5060/udp +ACK sip:' \
            '<- 127\.0\.0\.11:5060/udp +BYE sip:' \
            '-> 127\.0\.0\.41:5060/udp +BYE sip:.*trunk itsp'; do
    if grep -qE -- "$re" "$DIR/trace.stdout"; then echo "PASS: trace shows $re"; PASSED=$((PASSED+1));
    else echo "FAIL: trace lacks $re"; FAILED=$((FAILED+1)); fi
  done
  if /usr/bin/python3 -c 'import json,sys; e=[json.loads(l) for l in open(sys.argv[1]) if l.strip()]; sys.exit(0 if any(x.get("direction")=="in" and x.get("summary","").startswith("INVITE") and "\r\n" in x.get("message","") for x in e) else 1)' "$DIR/trace.json"; then
    echo "PASS: trace --output=json has the raw INVITE"; PASSED=$((PASSED+1))
  else echo "FAIL: trace json"; head -c 2000 "$DIR/trace.json"; FAILED=$((FAILED+1)); fi
  check trunkctl_trace_both 2 "${TC[@]}" trace --call x --trunk y
  # An argument that is not UTF-8 (a Latin-1 terminal) is refused by
  # trunkctl itself, not sent for the service to fail parsing.
  if check trunkctl_not_utf8 2 "${TC[@]}" calls show $'caf\xe9' &&
     ! grep -q 'not valid UTF-8' "$DIR/trunkctl_not_utf8.stderr"; then
    echo "FAIL: trunkctl_not_utf8 says why"; FAILED=$((FAILED+1))
  fi
  # TrunkStatus counters: itsp took the keepalive case's call and this one.
  check trunkctl_show_itsp 0 "${TC[@]}" trunks show itsp --output=json
  if grep -q '"answered": "2"' "$DIR/trunkctl_show_itsp.stdout" && grep -q '"answerSeizureRatio": 1' "$DIR/trunkctl_show_itsp.stdout"; then
    echo "PASS: itsp counters (2 answered, ASR 1)"; PASSED=$((PASSED+1))
  else echo "FAIL: itsp counters"; cat "$DIR/trunkctl_show_itsp.stdout"; FAILED=$((FAILED+1)); fi
  check trunkctl_unknown_trunk 1 "${TC[@]}" trunks show nope
  check trunkctl_unknown_call 1 "${TC[@]}" calls show nope
  check trunkctl_bad_verb 2 "${TC[@]}" calls frobnicate
  # A call held up until the operator hangs it up: both sides get our BYE.
  sipp_run hangup-uas 127.0.0.41 uas_answer.xml & UAS=$!
  sleep 0.5
  sipp_run hangup-uac 127.0.0.11 uac_call_callee_hangs_up.xml -inf "$DIR/numbers.csv" 127.0.0.1:5060 & UAC=$!
  id=""
  for _ in $(seq 50); do
    id=$("${TC[@]}" calls list --output=json 2>/dev/null | /usr/bin/python3 -c \
      'import json,sys; c=[x for x in json.load(sys.stdin).get("calls",[]) if x.get("state")=="CALL_STATE_ANSWERED"]; print(c[0]["callId"] if c else "")' 2>/dev/null)
    [ -n "$id" ] && break; sleep 0.2
  done
  if [ -n "$id" ]; then echo "PASS: calls list shows the answered call"; PASSED=$((PASSED+1));
  else echo "FAIL: calls list shows no answered call"; FAILED=$((FAILED+1)); fi
  check trunkctl_calls_show 0 "${TC[@]}" calls show "$id"
  grep -q '^route *itsp via itsp' "$DIR/trunkctl_calls_show.stdout" \
    && { echo "PASS: calls show names the route"; PASSED=$((PASSED+1)); } \
    || { echo "FAIL: calls show"; cat "$DIR/trunkctl_calls_show.stdout"; FAILED=$((FAILED+1)); }
  check trunkctl_calls_hangup 0 "${TC[@]}" calls hangup "$id"
  ok=1; wait $UAC || ok=0; wait $UAS || ok=0
  if [ $ok = 1 ]; then echo "PASS: operator hangup ended both legs"; PASSED=$((PASSED+1));
  else echo "FAIL: operator hangup (see $DIR/hangup-*)"; FAILED=$((FAILED+1)); fi
fi
if [ -n "$TRUNKCTL" ]; then
  # gRPC server latency: the admin calls trunkctl made above.
  metrics=$(metric)
  re='^trunkline_signaling_grpc_server_duration_seconds_count\{method="/trunkline.v1.SignalingAdmin/ListCalls"\} [1-9]'
  if grep -qE "$re" <<<"$metrics"; then echo "PASS: metric $re"; PASSED=$((PASSED+1));
  else echo "FAIL: metric $re"; FAILED=$((FAILED+1)); fi
fi
# Routing restarts on the same address: while it is gone the first calls
# get 503 with the routing service's Reason once their Route's 2 s deadline
# passed; after two such, new calls get 503 at once, but for one at a time
# whose Route is tried (and waits), and the metric says so. A call placed
# as soon as routing serves again is that one: its Route waits for the
# channel (which drives the reconnection) and the call is routed.
kill "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null
if sipp_run routing_gone-uac 127.0.0.11 uac_expect_503.xml -m 2 -inf "$DIR/numbers.csv" 127.0.0.1:5060 &&
   [ "$(grep -c 'text="routing service' "$DIR/routing_gone-uac.msg")" -ge 2 ]; then
  echo "PASS: routing gone: 503 with the routing service's Reason"; PASSED=$((PASSED+1))
else echo "FAIL: routing gone (see $DIR/routing_gone-uac.*)"; FAILED=$((FAILED+1)); fi
# Two calls 0.1 s apart: the first is tried (503 after the deadline), the
# second refused at once.
if sipp_run routing_fast-uac 127.0.0.11 uac_expect_503.xml -m 2 -inf "$DIR/numbers.csv" 127.0.0.1:5060 &&
   grep -q 'text="routing service: no answer in time' "$DIR/routing_fast-uac.msg" &&
   grep -q 'text="routing service is not answering' "$DIR/routing_fast-uac.msg" &&
   ! grep -q "text=\"[^\"]*127\.0\.0\.1:$RG" "$DIR/routing_gone-uac.msg" "$DIR/routing_fast-uac.msg" &&
   metric | grep -qx 'trunkline_signaling_routing_answering 0'; then
  echo "PASS: routing not answering: one call tried, the other refused at once"; PASSED=$((PASSED+1))
else echo "FAIL: routing not answering (see $DIR/routing_fast-uac.*)"; grep -o 'text="[^"]*"' "$DIR/routing_fast-uac.msg"; FAILED=$((FAILED+1)); fi
"$ROUTING" --topology="$DIR/topology.yaml" --grpc_address=127.0.0.1:$RG \
  --admin_address=127.0.0.1:$RA --metrics_address=127.0.0.1:$RM 2>"$DIR/routing-again.log" &
PIDS+=($!)
for _ in $(seq 50); do grep -q 'msg=serving' "$DIR/routing-again.log" && break; sleep 0.1; done
run_case routing_back 127.0.0.11 uac_call.xml 127.0.0.41:uas_answer.xml
if metric | grep -qx 'trunkline_signaling_routing_answering 1' &&
   grep -q 'routing service answers again' "$DIR/signaling-keepalive.log"; then
  echo "PASS: routing answers again: calls routed, metric back to 1"; PASSED=$((PASSED+1))
else echo "FAIL: routing answering again not noticed"; FAILED=$((FAILED+1)); fi
kill -0 "$SIG2" 2>/dev/null || { echo "FAIL: signaling died"; FAILED=$((FAILED+1)); }

# --- SIGTERM drains (--drain_seconds=3): a call that is up goes on, a new
# call gets 503, and when the limit passes the call left is ended with BYE
# on both legs and a Reason; then the process exits cleanly.
sipp_run drain-uas 127.0.0.41 uas_answer.xml & DRAIN_UAS=$!
sleep 0.5
sipp_run drain-uac 127.0.0.11 uac_drained.xml -inf "$DIR/numbers.csv" 127.0.0.1:5060 & DRAIN_UAC=$!
for _ in $(seq 50); do grep -q '^ACK' "$DIR/drain-uas.msg" 2>/dev/null && break; sleep 0.1; done
kill -TERM "$SIG2"
sleep 0.5
if sipp_run drain-new 127.0.0.11 uac_expect_503.xml -p 5064 -inf "$DIR/numbers.csv" 127.0.0.1:5060 &&
   grep -q 'text="signaling instance is draining' "$DIR/drain-new.msg"; then
  echo "PASS: draining: a new call gets 503"; PASSED=$((PASSED+1))
else echo "FAIL: draining: new call (see $DIR/drain-new.*)"; FAILED=$((FAILED+1)); fi
if wait "$DRAIN_UAC" && wait "$DRAIN_UAS"; then
  echo "PASS: draining: the call up was ended on both legs at the drain limit, with a Reason"; PASSED=$((PASSED+1))
else echo "FAIL: draining: the call up (see $DIR/drain-uac.*, $DIR/drain-uas.*)"; FAILED=$((FAILED+1)); fi
exited=0
for _ in $(seq 50); do kill -0 "$SIG2" 2>/dev/null || { exited=1; break; }; sleep 0.1; done
if [ $exited = 1 ] && wait "$SIG2"; then
  echo "PASS: draining: signaling exited cleanly"; PASSED=$((PASSED+1))
else echo "FAIL: draining: signaling did not exit cleanly"; FAILED=$((FAILED+1)); fi
echo "sipp e2e: $PASSED passed, $FAILED failed"
[ $FAILED = 0 ]
