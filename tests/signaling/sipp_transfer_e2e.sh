#!/bin/bash
# REFER in the trunk's terminate mode, end to end on loopback: the real
# routing, media and signaling binaries with the example topology (OPTIONS
# keepalive off; pstn-dub's referMode is terminate), media anchored.
# The UC front end (sipp, 127.0.0.11, SRTP) calls the Dublin gateway
# (127.0.0.21), then transfers it to +442071234567, which routing sends to
# the London gateway (127.0.0.22). Trunkline answers 202, INVITEs the target
# without SDP (Referred-By passed on), re-INVITEs the Dublin gateway with
# the relay's offer made from the target's, ACKs the target with the
# answer, and reports 100, 180 and 200 to the caller in NOTIFYs; the caller
# hangs up and the two gateways stay connected until Dublin hangs up.
# Every process this script starts is stopped by its PID.
#
#   sipp_transfer_e2e.sh ROUTING_BIN MEDIA_BIN SIGNALING_BIN SOURCE_DIR
set -u
ROUTING=$1 MEDIA=$2 SIGNALING=$3 SRC=$4
. "$SRC/tests/signaling/e2e_lib.sh"
/usr/bin/python3 "$SRC/tests/signaling/derive_topology.py" \
  "$SRC/deploy/examples/topology.yaml" "$DIR/topology.yaml"
start_stack

printf 'SEQUENTIAL\n0871234567;+442071234567;\n' > "$DIR/numbers.csv"
sipp_run dub 127.0.0.21 uas_transferee.xml & DUB=$!
sipp_run lon 127.0.0.22 uas_transfer_target.xml & LON=$!
bound 127.0.0.21
bound 127.0.0.22
sipp_run uc 127.0.0.11 uac_transfer.xml -inf "$DIR/numbers.csv" 127.0.0.1:5060
judge uc $? "caller: REFER answered 202, NOTIFYs with 100, 180 and 200 (terminated), then hung up"
wait "$LON"
judge lon $? "target: INVITE without SDP with Referred-By, its offer answered in the ACK, BYE at the end"
wait "$DUB"
judge dub $? "transferee: re-INVITE with the relay's offer answered, then hung up on the target"

# Topology hiding across the transfer: neither gateway sees the other's
# address, nor the caller's.
grep -q '127\.0\.0\.22' "$DIR/dub.msg" && fail "the target's address reached the transferee" \
  || pass "nothing of the target's network reached the transferee"
grep -qE '127\.0\.0\.(11|21)[^0-9]' "$DIR/lon.msg" && fail "another peer's address reached the target" \
  || pass "nothing of the caller's or transferee's network reached the target"
# Our BYE to the caller is not needed: it hung up by itself.
n=$(grep -c '^BYE sip:' "$DIR/uc.msg" 2>/dev/null || true)
[ "$n" = 1 ] && pass "the caller sent the only BYE on its leg" || fail "$n BYEs on the caller's leg"

metrics=$(metrics_of "$SIGNALING_METRICS")
for m in 'trunkline_signaling_transfers_total{outcome="completed",trunk="pstn-dub"} 1' \
         'trunkline_signaling_active_calls{direction="outbound",trunk="pstn-dub"} 0'; do
  grep -qF "$m" <<<"$metrics" && pass "metric $m" || fail "metric $m"
done
media=$(metrics_of "$MEDIA_METRICS")
re='trunkline_media_grpc_server_duration_seconds_count\{method="/trunkline.v1.Media/Update"\} 1'
grep -qE "$re" <<<"$media" && pass "media: the target's offer went through Update (Retarget)" \
  || { fail "media: $re"; grep -E 'grpc_server_duration_seconds_count' <<<"$media"; }
kill -0 "${PIDS[2]}" 2>/dev/null && pass "signaling still serving" || fail "signaling died"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
