#!/bin/bash
# An attended transfer that an IP-PBX makes through Trunkline with its
# trunk's REFER passed through (pbx-lon's referMode), end to end on
# loopback: the real routing, media and signaling binaries with the example
# topology (OPTIONS keepalive off; pbx-lon bypasses media), sipp peers.
# The PBX (127.0.0.31) calls UC user 2002 (the consultation call), then UC
# user 2001, and transfers 2001 to 2002: REFER on the second call with
# Refer-To naming 2002 and, in its Replaces, the PBX's own dialog of the
# consultation call. The UC side (sipp, 127.0.0.11) must get a Replaces of
# Trunkline's (a Call-ID and tags of ours: topology hiding) in a Refer-To
# at Trunkline's UC listener; the referee then INVITEs that URI with that
# Replaces (from another port of the UC side), Trunkline maps it back to
# the consultation call and INVITEs its far party (2002) with Replaces
# naming 2002's own dialog with us; 2002 takes the new call and hangs up
# the consultation call, which ends on the PBX's line too. The referee's
# NOTIFY reaches the PBX, which hangs up. Every process this script starts
# is stopped by its PID.
#
#   sipp_passthrough_transfer_e2e.sh ROUTING_BIN MEDIA_BIN SIGNALING_BIN SOURCE_DIR
set -u
ROUTING=$1 MEDIA=$2 SIGNALING=$3 SRC=$4
. "$SRC/tests/signaling/e2e_lib.sh"
/usr/bin/python3 "$SRC/tests/signaling/derive_topology.py" \
  "$SRC/deploy/examples/topology.yaml" "$DIR/topology.yaml"
start_stack
CHECK="$SRC/tests/signaling/replaces_check.py"

sipp_run uc 127.0.0.11 uas_uc_transfer_parties.xml -m 3 & UC=$!
bound 127.0.0.11
printf 'SEQUENTIAL\n2002;\n' > "$DIR/consult.csv"
sipp_run consult 127.0.0.31 uac_gw_held.xml -inf "$DIR/consult.csv" -p 5064 127.0.0.1:5164 & CONSULT=$!
answered_or_exit "$DIR/consult.msg" "consultation call: the PBX's call to UC user 2002"
c_cid=$DIALOG_CALL_ID c_to=$DIALOG_TO_TAG c_from=$DIALOG_FROM_TAG

printf 'SEQUENTIAL\n2001;%s;%s;%s;\n' "$c_cid" "$c_to" "$c_from" > "$DIR/transferor.csv"
sipp_run transferor 127.0.0.31 uac_pbx_attended_refer.xml -inf "$DIR/transferor.csv" 127.0.0.1:5164 & XFER=$!

# The REFER as the referee got it (bounded wait).
refer=""
for _ in $(seq 100); do
  [ -f "$DIR/uc.msg" ] && refer=$(/usr/bin/python3 "$CHECK" refer-to "$DIR/uc.msg")
  [ -n "$refer" ] && break
  sleep 0.1
done
if [ -z "$refer" ]; then
  fail "no REFER with a Replaces in Refer-To reached the UC side (see $DIR/uc.msg, $DIR/transferor.err)"
  echo "$PASSED passed, $FAILED failed"; exit 1
fi
read -r r_user r_host r_port r_cid r_to r_from <<<"$refer"
if [[ "$r_cid" =~ ^tl-[0-9a-f]{32}$ ]] && [ "$r_cid" != "$c_cid" ] &&
   [ "$r_to" != "$c_to" ] && [ "$r_from" != "$c_from" ]; then
  pass "the referee's Refer-To carries a Replaces of Trunkline's ($r_cid), not the PBX's dialog"
else fail "Refer-To's Replaces towards the UC side: $refer (the PBX's: $c_cid $c_to $c_from)"; fi
if [ "$r_user" = 2002 ] && [ "$r_host:$r_port" = 127.0.0.1:5060 ]; then
  pass "the Refer-To URI names 2002 at Trunkline's UC listener ($r_host:$r_port)"
else fail "Refer-To URI: $r_user@$r_host:$r_port"; fi

# The referee acts on it: INVITE with that Replaces to the Refer-To URI.
printf 'SEQUENTIAL\n%s;%s;%s;%s;\n' "$r_user" "$r_cid" "$r_to" "$r_from" > "$DIR/referee.csv"
sipp_run referee 127.0.0.11 uac_gw_replaces.xml -inf "$DIR/referee.csv" -p 5066 "$r_host:$r_port"
judge referee $? "referee: INVITE with Trunkline's Replaces answered (by the transfer target), then hung up"
wait "$CONSULT"
judge consult $? "PBX's consultation line: ended by BYE once the target hung up the replaced call"
wait "$XFER"
judge transferor $? "PBX: REFER accepted (202), the referee's NOTIFY (200) relayed back, then hung up"
wait "$UC"
judge uc $? "UC side: both calls answered, the REFER, the INVITE with Replaces, each call ended"

# The target's INVITE with Replaces names its own consultation dialog.
replaces_names_first "$DIR/uc.msg" \
  "the target's INVITE carries Replaces naming its own consultation dialog with us"
grep -q "$c_cid" "$DIR/uc.msg" "$DIR/referee.msg" && fail "the PBX's Call-ID reached the UC side" \
  || pass "nothing of the PBX's dialogs reached the UC side"
# The PBX's trunk bypasses media (its SDP's o= and c= cross by design);
# no SIP header may name it.
grep -hE '127\.0\.0\.31[^0-9]' "$DIR/uc.msg" "$DIR/referee.msg" | grep -qvE '^[oc]=' &&
  fail "the PBX's address reached the UC side in a header" \
  || pass "no SIP header towards the UC side names the PBX's address"

metrics=$(metrics_of "$SIGNALING_METRICS")
if ! grep -qE '^trunkline_signaling_active_calls\{[^}]*\} [1-9]' <<<"$metrics"; then
  pass "no call left active"
else fail "calls still active"; grep active_calls <<<"$metrics"; fi
kill -0 "${PIDS[2]}" 2>/dev/null && pass "signaling still serving" || fail "signaling died"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
