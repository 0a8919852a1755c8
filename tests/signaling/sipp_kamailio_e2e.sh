#!/bin/bash
# The UC side as it is deployed: a Kamailio proxy in front (at fe-dub-1's
# address, 127.0.0.11, record-routing every dialog) and the UC user behind
# it (sipp at 127.0.0.13, not a peer of ours). The real routing, media and
# signaling binaries on loopback with the example topology, media anchored;
# sipp plays the Dublin gateway.
# - The user calls out: Trunkline takes the INVITE from the proxy, answers
#   with the proxy in the route set, and the user's ACK and BYE come back
#   through it.
# - The gateway calls the user, who hangs up: the user's BYE comes through
#   the proxy.
# - The gateway calls the user and hangs up: Trunkline's BYE to the user
#   follows the route set (it reaches the user through the proxy, whose Via
#   is on top).
# Nothing of either side reaches the other. Every process this script
# starts is stopped by its PID.
#
#   sipp_kamailio_e2e.sh ROUTING_BIN MEDIA_BIN SIGNALING_BIN SOURCE_DIR
set -u
ROUTING=$1 MEDIA=$2 SIGNALING=$3 SRC=$4
if ! command -v kamailio >/dev/null; then
  echo "SKIP: kamailio not installed (apt-get install -y kamailio)"; exit 0
fi
. "$SRC/tests/signaling/e2e_lib.sh"
USER_IP=127.0.0.13
/usr/bin/python3 "$SRC/tests/signaling/derive_topology.py" \
  "$SRC/deploy/examples/topology.yaml" "$DIR/topology.yaml"
start_stack

sed -e "s/__USER__/$USER_IP/g" -e "s/__TRUNKLINE__/127.0.0.1:5060/g" \
  "$SRC/tests/signaling/kamailio/front_end.cfg" > "$DIR/kamailio.cfg"
kamailio -f "$DIR/kamailio.cfg" -DD -E -P "$DIR/kamailio.pid" >"$DIR/kamailio.log" 2>&1 &
PIDS+=($!)
bound 127.0.0.11
kill -0 "${PIDS[-1]}" 2>/dev/null || { fail "kamailio did not start"; tail "$DIR/kamailio.log"; exit 1; }

# hidden NAME LOG ADDRESS: nothing in LOG (a sipp message log) names ADDRESS.
hidden() {
  if grep -q "${3//./\\.}" "$2"; then fail "$1: $3 seen (in $2)"; grep -m3 "${3//./\\.}" "$2"
  else pass "$1: $3 never seen"; fi
}

# --- The user calls out (0871234567: the Dublin gateway first).
printf 'SEQUENTIAL\n0871234567;\n' > "$DIR/out.csv"
sipp_run out-gw 127.0.0.21 uas_answer.xml & GW=$!
bound 127.0.0.21
sipp_run out-user $USER_IP uac_via_proxy.xml -inf "$DIR/out.csv" 127.0.0.11:5060
judge out-user $? "user calls out: answered with the proxy record-routing; ACK and BYE through it"
wait $GW; judge out-gw $? "user calls out: the gateway answered and got the BYE"
hidden "user calls out, gateway's view" "$DIR/out-gw.msg" $USER_IP
hidden "user calls out, gateway's view" "$DIR/out-gw.msg" 127.0.0.11
hidden "user calls out, user's view" "$DIR/out-user.msg" 127.0.0.21

# --- The gateway calls the user (1234: +35315551234), who hangs up.
printf 'SEQUENTIAL\n1234;\n' > "$DIR/in.csv"
sipp_run in1-user $USER_IP uas_uc_answer_hangs_up.xml & USER=$!
bound $USER_IP
sipp_run in1-gw 127.0.0.21 uac_gw_held.xml -inf "$DIR/in.csv" 127.0.0.1:5160
judge in1-gw $? "gateway calls in, user hangs up: the gateway got the BYE"
wait $USER; judge in1-user $? "gateway calls in, user hangs up: the BYE went through the proxy"
hidden "gateway calls in, gateway's view" "$DIR/in1-gw.msg" $USER_IP
hidden "gateway calls in, user's view" "$DIR/in1-user.msg" 127.0.0.21

# --- The gateway calls the user and hangs up.
sipp_run in2-user $USER_IP uas_uc_answer.xml & USER=$!
bound $USER_IP
sipp_run in2-gw 127.0.0.21 uac_pbx_call.xml -inf "$DIR/in.csv" 127.0.0.1:5160
judge in2-gw $? "gateway calls in and hangs up"
wait $USER; judge in2-user $? "gateway calls in and hangs up: our BYE reached the user through the proxy"

kill -0 "${PIDS[2]}" 2>/dev/null || fail "signaling died"
echo "sipp kamailio e2e: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
