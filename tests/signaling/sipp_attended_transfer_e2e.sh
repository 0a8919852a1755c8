#!/bin/bash
# Attended transfer between two calls of ours (REFER with Replaces in the
# trunk's terminate mode), end to end on loopback: the real routing, media
# and signaling binaries with the example topology (OPTIONS keepalive off;
# pstn-dub's referMode is terminate), media anchored.
# The UC front end (sipp, 127.0.0.11, SRTP) calls the Dublin gateway
# (127.0.0.21), then, from a second sipp on another port, consults
# +442071234567 on the London gateway (127.0.0.22), and transfers Dublin to
# that call: Refer-To is our Contact as the UC side knows it, with its own
# dialog with us in Replaces. Trunkline finds that dialog, INVITEs London
# through the consultation call's candidate with the Replaces translated to
# London's dialog with us, re-INVITEs Dublin with London's offer; London
# hangs up the replaced call, which ends on the UC side too; the UC side
# hangs up the transferred one; Dublin and London stay connected until
# Dublin hangs up. Every process this script starts is stopped by its PID.
#
#   sipp_attended_transfer_e2e.sh ROUTING_BIN MEDIA_BIN SIGNALING_BIN SOURCE_DIR
set -u
ROUTING=$1 MEDIA=$2 SIGNALING=$3 SRC=$4
. "$SRC/tests/signaling/e2e_lib.sh"
/usr/bin/python3 "$SRC/tests/signaling/derive_topology.py" \
  "$SRC/deploy/examples/topology.yaml" "$DIR/topology.yaml"
start_stack

sipp_run dub 127.0.0.21 uas_transferee.xml & DUB=$!
sipp_run lon 127.0.0.22 uas_consulted.xml -m 2 & LON=$!
bound 127.0.0.21
bound 127.0.0.22
printf 'SEQUENTIAL\n+442071234567;\n' > "$DIR/consult.csv"
sipp_run consult 127.0.0.11 uac_consult.xml -inf "$DIR/consult.csv" -p 5064 \
  127.0.0.1:5060 & CONSULT=$!

# The consultation call's dialog as the UC side knows it, once answered:
# Replaces with our tag as to-tag and the UC side's as from-tag (RFC 3891).
answered_or_exit "$DIR/consult.msg" "consultation call"
c_cid=$DIALOG_CALL_ID c_to=$DIALOG_TO_TAG c_from=$DIALOG_FROM_TAG
replaces=$(/usr/bin/python3 -c 'import sys, urllib.parse as u; print(u.quote(sys.argv[1], safe=""))' \
  "$c_cid;to-tag=$c_to;from-tag=$c_from")
printf 'SEQUENTIAL\n0871234567;sip:127.0.0.1:5060?Replaces=%s;\n' "$replaces" > "$DIR/numbers.csv"

sipp_run uc 127.0.0.11 uac_attended_transfer.xml -inf "$DIR/numbers.csv" 127.0.0.1:5060
judge uc $? "transferor: REFER with Replaces answered 202, NOTIFYs 100 and 200 (terminated), then hung up"
wait "$CONSULT"
judge consult $? "consultation call ended on the UC side once London hung up the replaced call"
wait "$LON"
judge lon $? "London: consultation call, then the INVITE with Replaces answered with an offer, BYE at the end"
wait "$DUB"
judge dub $? "Dublin: re-INVITE with the relay's offer made from London's, then hung up"

# London's second INVITE names London's own dialog of the first call.
replaces_names_first "$DIR/lon.msg" \
  "London's INVITE carries Replaces naming its own dialog with us, Require: replaces, Referred-By, no SDP" \
  --no-sdp --header "Referred-By: <sip:+35315551234@contoso.example>"
grep -q "$c_cid" "$DIR/lon.msg" && fail "the UC side's Call-ID reached London" \
  || pass "nothing of the UC side's dialog reached London"
grep -qE '127\.0\.0\.(11|21)[^0-9]' "$DIR/lon.msg" && fail "another peer's address reached London" \
  || pass "nothing of the UC side's or Dublin's network reached London"
grep -q '127\.0\.0\.22' "$DIR/dub.msg" && fail "London's address reached Dublin" \
  || pass "nothing of London's network reached Dublin"

metrics=$(metrics_of "$SIGNALING_METRICS")
for m in 'trunkline_signaling_transfers_total{outcome="completed",trunk="pstn-dub"} 1' \
         'trunkline_signaling_active_calls{direction="outbound",trunk="pstn-dub"} 0' \
         'trunkline_signaling_active_calls{direction="outbound",trunk="pstn-lon"} 0'; do
  grep -qF "$m" <<<"$metrics" && pass "metric $m" || fail "metric $m"
done
kill -0 "${PIDS[2]}" 2>/dev/null && pass "signaling still serving" || fail "signaling died"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
