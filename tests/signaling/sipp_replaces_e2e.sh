#!/bin/bash
# An incoming INVITE with Replaces (RFC 3891) naming a call of ours, end to
# end on loopback: the real routing, media and signaling binaries with the
# example topology (OPTIONS keepalive off), media anchored.
# The Dublin gateway (sipp, 127.0.0.21) calls UC number 1234; the UC front
# end (sipp, 127.0.0.11) answers. Another line of the gateway (a second
# sipp on another port) sends INVITE with Replaces naming its first call's
# dialog with us, as a PBX does after an attended transfer or a pickup.
# Trunkline finds that call and INVITEs its far party (the UC user) through
# that call's candidate, with Replaces naming the UC user's own dialog with
# us; the UC user takes the new call and hangs up the replaced one, which
# then ends on the gateway's first line too. Every process this script
# starts is stopped by its PID.
#
#   sipp_replaces_e2e.sh ROUTING_BIN MEDIA_BIN SIGNALING_BIN SOURCE_DIR
set -u
ROUTING=$1 MEDIA=$2 SIGNALING=$3 SRC=$4
. "$SRC/tests/signaling/e2e_lib.sh"
/usr/bin/python3 "$SRC/tests/signaling/derive_topology.py" \
  "$SRC/deploy/examples/topology.yaml" "$DIR/topology.yaml"
start_stack

sipp_run uc 127.0.0.11 uas_uc_replaced.xml -m 2 & UC=$!
bound 127.0.0.11
printf 'SEQUENTIAL\n1234;\n' > "$DIR/first.csv"
sipp_run first 127.0.0.21 uac_gw_held.xml -inf "$DIR/first.csv" 127.0.0.1:5160 & FIRST=$!

# The first call's dialog as the gateway knows it, once answered (RFC 3891:
# to-tag is ours, from-tag the gateway's).
answered_or_exit "$DIR/first.msg" "the gateway's first call, to the UC side,"
f_cid=$DIALOG_CALL_ID f_to=$DIALOG_TO_TAG f_from=$DIALOG_FROM_TAG
printf 'SEQUENTIAL\n1234;%s;%s;%s;\n' "$f_cid" "$f_to" "$f_from" > "$DIR/second.csv"

sipp_run second 127.0.0.21 uac_gw_replaces.xml -inf "$DIR/second.csv" -p 5064 127.0.0.1:5160
judge second $? "gateway's second line: INVITE with Replaces answered, then hung up"
wait "$FIRST"
judge first $? "gateway's first line: ended by BYE once the UC user hung up the replaced call"
wait "$UC"
judge uc $? "UC side: first call answered, then the INVITE with Replaces, the replaced call hung up"

# The UC side's second INVITE names its own dialog of the first call.
replaces_names_first "$DIR/uc.msg" \
  "the UC side's INVITE carries Replaces naming its own dialog with us, Require: replaces"
grep -q "$f_cid" "$DIR/uc.msg" && fail "the gateway's Call-ID reached the UC side" \
  || pass "nothing of the gateway's dialog reached the UC side"
grep -qE '127\.0\.0\.21[^0-9]' "$DIR/uc.msg" && fail "the gateway's address reached the UC side" \
  || pass "nothing of the gateway's network reached the UC side"

metrics=$(metrics_of "$SIGNALING_METRICS")
m='trunkline_signaling_active_calls{direction="inbound",trunk="uc-side"} 0'
if grep -qF "$m" <<<"$metrics" && ! grep -q 'active_calls{direction="inter_trunk"' <<<"$metrics"; then
  pass "metric $m (both calls counted inbound, both ended)"
else fail "metric $m"; grep active_calls <<<"$metrics"; fi
kill -0 "${PIDS[2]}" 2>/dev/null && pass "signaling still serving" || fail "signaling died"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
