#!/usr/bin/env bash
# make demo: the whole stack on this machine with the example topology
# (deploy/examples/topology.yaml), real peers, real calls, media included.
#
#   UC user (baresip, TLS + SRTP, on a veth address of its own) -> Kamailio front end
#   (127.0.0.11) -> signaling (127.0.0.1:5060) -> routing -> media -> the
#   PSTN gateways, IP-PBX and ITSP (sipp at 127.0.0.21/.22/.31/.41, plain RTP
#   echoed back).
#
# It starts everything itself, stops only what it started (by PID), removes
# the veth pair it adds, and needs no network beyond this machine. Run as
# root (for the veth pair); `make demo` installs and builds first.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tools/lib.sh
BUILD=${1:-build}
BIN=$BUILD/bin
TOPOLOGY=deploy/examples/topology.yaml
WORK=$(mktemp -d /tmp/trunkline-demo-XXXXXX)
TOKEN_FLAG="--admin_token_file=$WORK/admin.token"
PIDS=()

cleanup() {
  tools/demo/uc/stop.sh "$WORK" 2>/dev/null
  # SIGINT: stop now (SIGTERM would drain, waiting for calls to end).
  for pid in "${PIDS[@]}"; do kill -INT "$pid" 2>/dev/null; done
  # Bounded: signaling waits up to 2 s for its un-REGISTER's answer and
  # media up to 5 s for signaling's event stream to close.
  for _ in $(seq 40); do
    alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.2
  done
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null; done
  echo "demo: stopped everything it started; logs were in $WORK (removed)"
  rm -rf "$WORK"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }
fail() { echo "demo: $*" >&2; exit 1; }
ctl() { "$BIN/trunkctl" "$TOKEN_FLAG" "$@"; }
uc() { /usr/bin/python3 tools/demo/uc/ctrl.py 10.77.0.2:4444 "$@"; }

[ "$(id -u)" = 0 ] || fail "needs root to add the UC user's veth pair (ip link)"
for bin in routing media signaling trunkctl; do
  [ -x "$BIN/$bin" ] || fail "$BIN/$bin is missing: run make build"
done
for port in 5060 5160 5162 5164 5166 50051 50061 50071; do
  (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && fail "port $port is in use: stop what uses it (make run?)"
done

step "The topology: Contoso, Dublin and London"
show "$BIN/trunkctl" topology validate "$TOPOLOGY" || fail "the example topology does not validate"

step "Starting routing, media and signaling (the addresses make run uses)"
start() {  # name args...
  local name=$1; shift
  "$BIN/$name" --topology="$TOPOLOGY" "$TOKEN_FLAG" "$@" > "$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  echo "$name: pid $!"
}
start routing
start media
start signaling
wait_port 50061 && wait_port 50071 && wait_port 50051 || fail "a service did not start; see $WORK/*.log"

step "Starting the peers: PSTN gateways, IP-PBX and ITSP (sipp, plain RTP echoed back)"
for peer in gw-dub:127.0.0.21 gw-lon:127.0.0.22 pbx-lon:127.0.0.31 itsp:127.0.0.41; do
  name=${peer%%:*}; ip=${peer#*:}
  timeout 600 sipp -sf tools/demo/peers/gateway.xml -i "$ip" -p 5060 -rtp_echo -nostdin \
    -trace_msg -message_file "$WORK/$name.msg" > "$WORK/$name.out" 2>&1 &
  PIDS+=($!)
  [ "$name" = gw-dub ] && GW_DUB_PID=$!
  echo "$name: sipp at $ip:5060, pid $!"
done

step "Starting the UC side: baresip (SIP over TLS, SRTP mandatory) at 10.77.0.2, Kamailio as the front end at 127.0.0.11"
tools/demo/uc/start.sh "$WORK" 127.0.0.1:5060 || fail "cannot start the UC side"
sleep 2
for p in $(awk '{print $2}' "$WORK/uc.pids"); do
  kill -0 "$p" 2>/dev/null || fail "the UC side did not start (Kamailio's TLS needs the package kamailio-tls-modules): $(grep -h -m2 -E 'ERROR|CRITICAL|error' "$WORK/kamailio.log" "$WORK/baresip.log" 2>/dev/null)"
done

step "Call 1: Dublin user +35315551234 dials 0871234567 (a mobile): UC side -> PSTN gateway gw-dub"
show ctl route explain --from-user sip:+35315551234@contoso.example --caller +35315551234 --callee 0871234567
ctl trace --seconds 10 > "$WORK/ladder.txt" 2>&1 &
TRACE_PID=$!
sleep 1
uc dial sip:0871234567@contoso.example --wait 4 | grep -o '"type": "CALL_[A-Z_]*"' | sort -u
sleep 4
show ctl calls list
call_id=$(ctl calls list --output json 2>/dev/null | /usr/bin/python3 -c 'import json,sys; c=json.load(sys.stdin).get("calls",[]); print(c[0]["callId"] if c else "")')
[ -n "$call_id" ] && show ctl calls show "$call_id"
echo "Media of both legs, from the relay (SRTP from the UC user, plain RTP from the gateway):"
[ -n "$call_id" ] && show "$BIN/trunkctl" media query "$call_id"
echo "What gw-dub received (numbers translated for the trunk, no UC-side address):"
sed -n '/^INVITE sip/,/^$/p' "$WORK/gw-dub.msg" | grep -E '^(INVITE|From|To|P-Asserted|m=audio|c=IN)' | head -6
uc hangup --wait 2 | grep -o '"type": "CALL_CLOSED"' | head -1
wait "$TRACE_PID" 2> /dev/null
echo "The ladder (trunkctl trace):"
cat "$WORK/ladder.txt"

step "Call 2: the PSTN calls Dublin DID 015551234 through gw-dub: PSTN -> UC user (baresip answers)"
timeout 30 sipp -sf tools/demo/peers/pstn_caller.xml -i 127.0.0.21 -p 15061 -set caller 0871234567 \
  -s 015551234 -m 1 -nostdin 127.0.0.1:5160 > "$WORK/call2.out" 2>&1 && echo "call 2: answered, 5 s of audio, hung up" || echo "call 2 failed: $(tail -3 "$WORK/call2.out")"

step "Call 3: inter-trunk: the London IP-PBX (ext. 1234) dials 9 02071234567: IP-PBX -> London PSTN gateway"
show ctl route explain --from-trunk pbx-lon --caller 1234 --callee 902071234567
timeout 30 sipp -sf tools/demo/peers/pstn_caller.xml -i 127.0.0.31 -p 15062 -set caller 1234 \
  -s 902071234567 -m 1 -nostdin 127.0.0.1:5164 > "$WORK/call3.out" 2>&1 && echo "call 3: answered by gw-lon, 5 s of audio, hung up" || echo "call 3 failed: $(tail -3 "$WORK/call3.out")"

step "Failover: gw-dub stops answering; the next call to a mobile goes to the ITSP"
kill "$GW_DUB_PID" 2>/dev/null
show ctl route explain --from-user sip:+35315551234@contoso.example --caller +35315551234 --callee 0871234567
uc dial sip:0871234567@contoso.example --wait 12 | grep -o '"type": "CALL_[A-Z_]*"' | sort -u
grep -c '^INVITE sip:+353871234567@127.0.0.41' "$WORK/itsp.msg" > /dev/null && echo "the ITSP got the call: +353871234567 (E.164, as the ITSP trunk wants)"
uc hangup --wait 2 > /dev/null
show ctl trunks list

step "Media and call figures"
curl -s http://127.0.0.1:9471/metrics | grep -E '^trunkline_media_(relayed_packets_total|sessions|dropped)' | head -8
curl -s http://127.0.0.1:9451/metrics | grep -E '^trunkline_signaling_(calls_answered_total|failovers_total)' | head -8
echo "Audio quality each trunk delivered (calls measured, mean estimated MOS):"
curl -s http://127.0.0.1:9451/metrics | awk -F'[{}" ]+' '
  /^trunkline_signaling_trunk_media_mos_count\{/ { n[$3] = $NF }
  /^trunkline_signaling_trunk_media_mos_sum\{/ { s[$3] = $NF }
  END { for (t in n) if (n[t] > 0) printf "  %-10s %d calls, MOS %.2f\n", t, n[t], s[t] / n[t] }'

echo "The calls' detail records (signaling's log, msg=cdr):"
grep 'msg=cdr' "$WORK/signaling.log" | sed -e 's/^ts=[^ ]* level=info service=signaling msg=cdr /  /'

# Every call above was answered once: from the UC user, to the UC user,
# inter-trunk, and the failover to the ITSP.
answered=$(curl -s http://127.0.0.1:9451/metrics |
  awk '/^trunkline_signaling_calls_answered_total\{/ {n += $2} END {printf "%d", n}')
[ "$answered" -ge 4 ] || fail "only $answered of the demo's 4 calls were answered (see above)"
# Audio flowed both ways in every answered, anchored call: its record
# carries what the relay received from each leg (packets, loss, jitter, MOS).
silent=$(grep 'msg=cdr' "$WORK/signaling.log" | grep ' status=200 ' | grep ' media=anchored' |
  grep -v -E 'caller_packets=[1-9][0-9]* .*callee_packets=[1-9]' | grep -o 'call_id=[^ ]*' || true)
[ -z "$silent" ] || fail "answered calls without audio both ways through the relay: $silent"

step "Done"
echo "Point trunkctl at the running stack yourself with: make run, then build/bin/trunkctl node status"
echo "Prometheus: deploy/prometheus/prometheus.yml scrapes 127.0.0.1:9451/9461/9471; dashboards: deploy/grafana/"
