#!/bin/bash
# The call flows of a mediation server that the other end-to-end scripts do
# not place, against sipp peers: the real routing, media and signaling
# binaries on loopback with the example topology (OPTIONS keepalive off but
# where said), media anchored.
# - Fast failover: the Dublin gateway takes the INVITE (100) but never rings;
#   when pstn-dub's fast-failover timer (3 s here) passes, Trunkline cancels
#   it and the ITSP gets the call.
# - CANCEL before anything rings: the caller gives up after the 100; the
#   gateway's INVITE is cancelled and the caller gets 487.
# - Response-code translation: the gateway answers 434, which pstn-dub
#   translates to 404; the caller gets 404 with a Reason naming the 434.
# - INFO from the gateway within the call reaches the caller, and so does
#   one in the early dialog, during early media before the answer.
# - Emergency calls with the caller's location (a PIDF-LO beside the SDP):
#   forwarded to the trunk that takes it, not to the one that does not,
#   sent again without it to a gateway that refuses it (415);
#   gateways that speak SIP-I (ISUP beside their SDP) both ways.
# - REFER passed through from the IP-PBX: its Refer-To and Referred-By reach
#   the caller naming Trunkline, not the PBX.
# - A failover from bypassed early media (pstn-dub made bypassable by a
#   reload) to the anchored ITSP: the caller is moved to the relay by a
#   re-INVITE made through media Update after the answer.
# - Inter-trunk routing: the London IP-PBX dials 9 + a UK number; the call
#   leaves on the London gateway in national format, the PBX extension as
#   the calling number.
# - Session timers on both legs of that inter-trunk call, each its trunk's.
# - Timeout: the London gateway does not answer at all (pstn-lon's fast
#   failover off here): when the INVITE transaction times out (RFC 3261
#   Timer B, 32 s) the ITSP gets the call.
# - Keepalive recovery: OPTIONS keepalive turned on for pstn-lon by a
#   reload; the silent gateway goes down, and once it answers its OPTIONS it
#   is up again and gets calls.
# - UC-side next hops probed (ucSide.keepalive): the silent front end is
#   down and a call from the PSTN goes straight to the other.
# - The media service gone: a call that must be anchored gets 503 with a
#   Reason at once; calls are anchored again once media is back.
# Every process this script starts is stopped by its PID.
#
#   sipp_flows_e2e.sh ROUTING_BIN MEDIA_BIN SIGNALING_BIN SOURCE_DIR
set -u
ROUTING=$1 MEDIA=$2 SIGNALING=$3 SRC=$4
. "$SRC/tests/signaling/e2e_lib.sh"
derive() {  # OUT [derive_topology.py options...]
  local out=$1; shift
  /usr/bin/python3 "$SRC/tests/signaling/derive_topology.py" \
    "$SRC/deploy/examples/topology.yaml" "$out" \
    --set pstn-dub.fastFailoverSeconds=3 \
    --set pstn-lon.enableFastFailoverTimer=false \
    --set 'pbx.sessionTimer={enabled: true, sessionExpiresSeconds: 600}' \
    --set 'pstn-lon.sessionTimer={enabled: true, sessionExpiresSeconds: 300}' "$@"
}
derive "$DIR/topology.yaml"
start_stack

# call NAME UC_SCENARIO NUMBER [IP:SCENARIO ...]: one call from the UC side
# (127.0.0.11) to NUMBER, with sipp peers on the gateways named; each side's
# scenario is one check.
call() {
  local name=$1 uc=$2 number=$3 pids=() names=(); shift 3
  printf 'SEQUENTIAL\n%s;\n' "$number" > "$DIR/$name.csv"
  for spec in "$@"; do
    sipp_run "$name-${spec%%:*}" "${spec%%:*}" "${spec#*:}" & pids+=($!)
    names+=("$name-${spec%%:*}")
    bound "${spec%%:*}"
  done
  sipp_run "$name-uc" 127.0.0.11 "$uc" -inf "$DIR/$name.csv" 127.0.0.1:5060
  judge "$name-uc" $? "$name: the UC side's scenario"
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}"; judge "${names[$i]}" $? "$name: ${names[$i]#$name-}'s scenario"
  done
}
# placed NAME CALLER IP SCENARIO NUMBER TARGET PEER IP SCENARIO [PEER ARGS...]:
# one call from a sipp caller other than call()'s (a gateway, the IP-PBX,
# the UC side with a caller of its own) to TARGET (our socket), with one
# sipp peer answering; logs $DIR/NAME-CALLER.* and $DIR/NAME-PEER.*, each
# side's scenario one check.
placed() {
  local name=$1 caller=$2 caller_ip=$3 caller_scenario=$4 number=$5 target=$6
  local peer=$7 peer_ip=$8 peer_scenario=$9 pid; shift 9
  printf 'SEQUENTIAL\n%s;\n' "$number" > "$DIR/$name.csv"
  sipp_run "$name-$peer" "$peer_ip" "$peer_scenario" "$@" & pid=$!
  bound "$peer_ip"
  sipp_run "$name-$caller" "$caller_ip" "$caller_scenario" -inf "$DIR/$name.csv" "$target"
  judge "$name-$caller" $? "$name: the $caller's scenario"
  wait $pid; judge "$name-$peer" $? "$name: the $peer's scenario"
}
failovers() {  # TRUNK REASON: trunkline_signaling_failovers_total's value
  metrics_of "$SIGNALING_METRICS" | awk -v want="trunkline_signaling_failovers_total{reason=\"$2\",trunk=\"$1\"}" \
    '$1 == want { print $2 }'
}

# --- Fast failover: 0871234567 goes to pstn-dub, then the ITSP.
start_s=$(date +%s.%N)
call fast_failover uac_srtp_call.xml 0871234567 \
  127.0.0.21:uas_trying_cancelled.xml 127.0.0.41:uas_answer.xml
took=$(echo "$(date +%s.%N) - $start_s" | bc)
if [ "$(failovers pstn-dub fast_failover)" = 1 ] && [ "$(echo "$took >= 3" | bc)" = 1 ]; then
  pass "fast failover: pstn-dub given up after its 3 s without a ringing ($took s), counted"
else fail "fast failover: took $took s, counter '$(failovers pstn-dub fast_failover)'"; fi
if grep -q '^INVITE sip:+353871234567@127\.0\.0\.41' "$DIR/fast_failover-127.0.0.41.msg"; then
  pass "fast failover: the ITSP got the number in its own format"
else fail "fast failover: the ITSP's INVITE"; grep -m1 '^INVITE' "$DIR/fast_failover-127.0.0.41.msg"; fi

# --- CANCEL before anything rings (within pstn-dub's 3 s).
call cancel_early uac_cancel_before_ringing.xml 0871234567 \
  127.0.0.21:uas_trying_cancelled.xml
if [ -z "$(failovers pstn-dub response_487)" ] && [ "$(failovers pstn-dub fast_failover)" = 1 ]; then
  pass "cancel before ringing: no failover, no further candidate"
else fail "cancel before ringing moved the call on"; metrics_of "$SIGNALING_METRICS" | grep failovers_total; fi

# --- Response-code translation: 434 from gw-dub is a final failure
# (pstn-dub fails over on 408, 503 and 504), translated to 404.
call code_translation uac_expect_404.xml 0871234567 127.0.0.21:uas_434.xml

# --- INFO from the gateway.
call info_from_gateway uac_srtp_call_info.xml 0871234567 \
  127.0.0.21:uas_answer_then_info.xml
if ! grep -q '127\.0\.0\.11' "$DIR/info_from_gateway-127.0.0.21.msg" &&
   ! grep -q '127\.0\.0\.21' "$DIR/info_from_gateway-uc.msg"; then
  pass "INFO from the gateway: neither side saw the other's address"
else fail "INFO from the gateway: an address leaked across"; fi

# --- INFO in the early dialog: the gateway plays early media and sends a
# DTMF INFO before it answers; the caller gets it in its early dialog.
call early_info uac_srtp_call_early_info.xml 0871234567 \
  127.0.0.21:uas_early_info.xml

# --- Emergency calls with the caller's location (RFC 6442, RFC 5621): the
# front end's INVITE carries a PIDF-LO beside its SDP. A Dublin user's 112
# leaves on pstn-dub, which takes location (enablePidfLoSupport): gw-dub
# gets the PIDF-LO beside the relay's SDP, with the Geolocation headers. A
# London user's 999 leaves on pstn-lon, which does not: the SDP alone. Both
# gateways answer as SIP-I gateways do (ISUP beside the SDP in 183 and 200);
# the caller gets the SDP alone.
call location_dub uac_emergency_location.xml '112;+35315551234' \
  127.0.0.21:uas_sipi_answer.xml
got=$(sed -n '/^INVITE sip:112@/,/^--trunkline-part--/p' "$DIR/location_dub-127.0.0.21.msg")
for re in '^Content-Type: multipart/mixed;boundary=trunkline-part' \
          '^Geolocation: <cid:loc-1@fe\.contoso\.example>' '^Geolocation-Routing: yes' \
          '^Content-Type: application/pidf\+xml' '^Content-ID: <loc-1@fe\.contoso\.example>' \
          '<ca:country>IE</ca:country>' '^c=IN IP4 127\.0\.0\.1'; do
  grep -qE "$re" <<<"$got" && pass "location to pstn-dub: $re" \
    || fail "location to pstn-dub: no $re in gw-dub's INVITE"
done
call location_lon uac_emergency_location.xml '999;+442079462001' \
  127.0.0.22:uas_sipi_answer.xml
got=$(sed -n '/^INVITE sip:999@/,/^-----/p' "$DIR/location_lon-127.0.0.22.msg")
if grep -q '^Content-Type: application/sdp' <<<"$got" &&
   ! grep -qiE 'geolocation|pidf|multipart' <<<"$got"; then
  pass "location to pstn-lon (no enablePidfLoSupport): the SDP alone, no Geolocation"
else fail "location to pstn-lon: $(grep -iE '^(Content-Type|Geolocation)' "$DIR/location_lon-127.0.0.22.msg")"; fi
answer=$(sed -n '/^SIP\/2.0 200/,$p' "$DIR/location_dub-uc.msg" 2>/dev/null)
if grep -q '^m=audio' <<<"$answer" && ! grep -qE 'ISUP|ANM|multipart' <<<"$answer"; then
  pass "SIP-I answers: the caller got the SDP without the ISUP part"
else fail "SIP-I answers: the ISUP part reached the caller"; fi

# --- A gateway that refuses the location (415): the same call again at
# once with the SDP alone, answered there, not moved to the ITSP.
# (gw-dub's sipp sees the second INVITE, a new Call-ID, as a second call.)
placed location_415 uc 127.0.0.11 uac_emergency_location.xml '112;+35315551234' \
  127.0.0.1:5060 gw 127.0.0.21 uas_415_location.xml -m 2
if [ "$(grep -c '^INVITE sip:112@' "$DIR/location_415-gw.msg")" = 2 ]; then
  pass "location refused with 415: gw-dub got the call twice (no other peer runs)"
else fail "location refused with 415: $(grep -c '^INVITE' "$DIR/location_415-gw.msg") INVITEs at gw-dub"; fi
if metrics_of "$SIGNALING_METRICS" | grep -q 'trunkline_signaling_failovers_total{reason="location_refused",trunk="pstn-dub"} 1'; then
  pass "location refused with 415: counted as location_refused"
else fail "location refused: $(metrics_of "$SIGNALING_METRICS" | grep location_refused)"; fi

# --- A SIP-I gateway calls a UC user: its INVITE's ISUP IAM stays here,
# the front end gets the relay's SDP alone.
placed sipi_in gw 127.0.0.21 uac_gw_sipi_call.xml 015551234 127.0.0.1:5160 \
  uc 127.0.0.11 uas_uc_answer_hangs_up.xml
got=$(sed -n '/^INVITE sip:/,/^m=audio/p' "$DIR/sipi_in-uc.msg")
if grep -q '^Content-Type: application/sdp' <<<"$got" && ! grep -qE 'ISUP|IAM' "$DIR/sipi_in-uc.msg"; then
  pass "SIP-I call: the front end got the SDP without the ISUP part"
else fail "SIP-I call: $(grep -E '^Content-Type|ISUP' "$DIR/sipi_in-uc.msg")"; fi

# --- REFER passed through (pbx-lon's referMode): the IP-PBX transfers the
# caller to its extension 1001; the caller's REFER names it at Trunkline.
call refer_passthrough uac_srtp_call_referred.xml +442079461234 \
  127.0.0.31:uas_answer_then_refer.xml

# --- Media bypassed (pbx-lon), a delayed offer: the IP-PBX offers in a
# reliable 183; the caller gets that offer as it is and answers in its
# PRACK, whose answer must reach the IP-PBX in ours (RFC 3262 5).
call bypass_early_offer uac_early_offer_bypass.xml +442079461234 \
  127.0.0.31:uas_early_offer.xml
if awk '/^PRACK sip/,/^a=rtpmap/' "$DIR/bypass_early_offer-127.0.0.31.msg" |
     grep -q '^c=IN IP4 127\.0\.0\.11'; then
  pass "bypassed early offer: the IP-PBX's PRACK carried the caller's answer as it is"
else fail "bypassed early offer: the IP-PBX's PRACK"; grep -A12 '^PRACK' "$DIR/bypass_early_offer-127.0.0.31.msg" | head -20; fi

# --- A failover from bypassed early media to an anchored trunk: a reload
# lets pstn-dub bypass media (SRTP optional); gw-dub's reliable 183 (its
# own SDP) completes the caller's offer/answer, then gw-dub fails (503);
# the ITSP is anchored. The caller's 200 has no SDP, and after its ACK a
# re-INVITE offers the relay's SDP (made by media Update from the ITSP's
# answer), whose answer goes to media Answer; the ITSP gets nothing more.
updates() {
  metrics_of "$MEDIA_METRICS" | awk '$1 == "trunkline_media_grpc_server_duration_seconds_count{method=\"/trunkline.v1.Media/Update\"}" { print $2 }'
}
derive "$DIR/bypass-dub.yaml" --set pstn-dub.enableBypass=true --set pstn-dub.srtpMode=optional
cp "$DIR/topology.yaml" "$DIR/base.yaml"
reload_both() {  # FILE: routing and signaling take FILE as the topology
  local r s
  r=$(grep -c 'topology reloaded' "$DIR/routing.log")
  s=$(grep -c 'topology reloaded' "$DIR/signaling.log")
  cp "$1" "$DIR/topology.yaml"
  kill -HUP "${PIDS[0]}" "${PIDS[2]}"
  for _ in $(seq 50); do
    [ "$(grep -c 'topology reloaded' "$DIR/routing.log")" -gt "$r" ] &&
      [ "$(grep -c 'topology reloaded' "$DIR/signaling.log")" -gt "$s" ] && return 0
    sleep 0.1
  done
  fail "reload of $1 not seen in the logs"
}
reload_both "$DIR/bypass-dub.yaml"
updates_before=$(updates)
call reoffer_anchored uac_failover_reoffer_relay.xml 0871234567 \
  127.0.0.21:uas_early_answer_503.xml 127.0.0.41:uas_answer.xml
if [ "$(updates)" = "$(( ${updates_before:-0} + 1 ))" ]; then
  pass "failover to an anchored trunk: the caller's re-INVITE was made by media Update"
else fail "failover to an anchored trunk: Update count ${updates_before:-0} -> $(updates)"; fi
reload_both "$DIR/base.yaml"
sleep 0.5  # routing's file watcher may reload the same file once more

# --- Inter-trunk routing: pbx-lon (127.0.0.31, trunk port 5164) calls out.
placed inter_trunk pbx 127.0.0.31 uac_pbx_call.xml 902071234567 127.0.0.1:5164 \
  gw 127.0.0.22 uas_answer.xml
if grep -q '^INVITE sip:02071234567@127\.0\.0\.22' "$DIR/inter_trunk-gw.msg" &&
   grep -qi '^From:.*sip:02079461001@' "$DIR/inter_trunk-gw.msg"; then
  pass "inter-trunk: called 02071234567 and calling 02079461001 (pstn-lon's national format)"
else fail "inter-trunk numbers"; grep -m2 -iE '^(INVITE|From:)' "$DIR/inter_trunk-gw.msg"; fi
# Session timers per leg (both trunks' configurations turn them on here):
# the gateway is asked for its trunk's 300 s, and the IP-PBX's answer
# carries its own trunk's 600 s (the PBX does not support timers, so we
# refresh its leg: refresher=uas).
if grep -qiE '^Session-Expires: *300' "$DIR/inter_trunk-gw.msg" &&
   grep -qiE '^Session-Expires: *600;refresher=uas' "$DIR/inter_trunk-pbx.msg"; then
  pass "inter-trunk: a session timer on each leg, each its own trunk's (300 s to the gateway, 600 s to the IP-PBX)"
else fail "inter-trunk session timers"; grep -iE '^Session-Expires' "$DIR/inter_trunk-gw.msg" "$DIR/inter_trunk-pbx.msg"; fi

# --- Timeout: 00442071234567 goes to pstn-lon, then the ITSP. gw-lon is
# silent; the caller and the ITSP wait past Timer B.
/usr/bin/python3 "$SRC/tests/signaling/silent_peer.py" 127.0.0.22 5060 "$DIR/gw-lon-silent.log" 90 &
SILENT=$!; PIDS+=($SILENT)
for _ in $(seq 50); do grep -q listening "$DIR/gw-lon-silent.log" 2>/dev/null && break; sleep 0.1; done
printf 'SEQUENTIAL\n00442071234567;\n' > "$DIR/timeout.csv"
timeout 60 sipp -sf "$SCEN/uas_answer.xml" -i 127.0.0.41 -p 5060 -m 1 -timeout 50s -nostdin \
  -trace_err -error_file "$DIR/timeout-itsp.err" -trace_msg -message_file "$DIR/timeout-itsp.msg" \
  >"$DIR/timeout-itsp.out" 2>&1 & ITSP=$!
bound 127.0.0.41
timeout 60 sipp -sf "$SCEN/uac_srtp_call.xml" -i 127.0.0.11 -p 5060 -m 1 -timeout 50s -nostdin \
  -inf "$DIR/timeout.csv" -trace_err -error_file "$DIR/timeout-uc.err" -trace_msg \
  -message_file "$DIR/timeout-uc.msg" 127.0.0.1:5060 >"$DIR/timeout-uc.out" 2>&1
judge timeout-uc $? "timeout: the call answered by the ITSP after pstn-lon's INVITE timed out"
wait $ITSP; judge timeout-itsp $? "timeout: the ITSP answered"
if [ "$(failovers pstn-lon timeout)" = 1 ] && grep -q '^INVITE sip:02071234567@127\.0\.0\.22' "$DIR/gw-lon-silent.log"; then
  pass "timeout: gw-lon got the INVITE, its timeout was counted as such"
else fail "timeout: counter '$(failovers pstn-lon timeout)'"; cat "$DIR/gw-lon-silent.log"; fi

# --- Keepalive recovery: a reload turns OPTIONS on for pstn-lon (every
# 5 s, down after 1 miss); gw-lon (still silent) goes down, then answers.
gateway_up() {  # GATEWAY TRUNK: the gauge's value
  metrics_of "$SIGNALING_METRICS" | awk -v want="trunkline_signaling_gateway_up{gateway=\"$1\",trunk=\"$2\"}" \
    '$1 == want { print $2 }'
}
wait_up() {  # VALUE: waits up to 15 s for gw-lon's gauge to read VALUE
  for _ in $(seq 75); do [ "$(gateway_up gw-lon pstn-lon)" = "$1" ] && return 0; sleep 0.2; done
  return 1
}
derive "$DIR/keepalive.yaml" --keepalive pstn-lon=5/1
cp "$DIR/keepalive.yaml" "$DIR/topology.yaml"
kill -HUP "${PIDS[2]}"
if wait_up 0 && grep -q '^OPTIONS sip:127\.0\.0\.22:5060' "$DIR/gw-lon-silent.log"; then
  pass "keepalive: the silent gw-lon is down after a missed OPTIONS"
else fail "keepalive: gw-lon not down ('$(gateway_up gw-lon pstn-lon)')"; fi
# gw-lon answers again: OPTIONS 200, but INVITEs 503 (see silent_peer.py),
# so the next call shows that it is a candidate again and moves on.
kill -USR1 $SILENT
if wait_up 1; then pass "keepalive: gw-lon up again once it answers OPTIONS"
else fail "keepalive: gw-lon not up again ('$(gateway_up gw-lon pstn-lon)')"; fi
seen=$(wc -l < "$DIR/gw-lon-silent.log")
call recovered uac_srtp_call.xml 00442071234567 127.0.0.41:uas_answer.xml
if tail -n +$((seen + 1)) "$DIR/gw-lon-silent.log" | grep -q '^INVITE sip:02071234567@127\.0\.0\.22'; then
  pass "keepalive: gw-lon, up again, was the next call's first candidate"
else fail "keepalive: the call after recovery did not reach gw-lon"; tail -n +$((seen + 1)) "$DIR/gw-lon-silent.log"; fi
kill $SILENT 2>/dev/null

# --- UC-side next hops probed (a reload turns ucSide.keepalive on, 5 s, down
# after 1 miss): fe-dub-1 (127.0.0.11) is silent and goes down; a call from
# the PSTN to a UC user goes straight to fe-dub-2 (127.0.0.12, which answers
# OPTIONS and refuses the INVITE with 503), not to fe-dub-1 first.
derive "$DIR/uc-keepalive.yaml" --keepalive pstn-lon=5/1 --uc-keepalive 5/1
/usr/bin/python3 "$SRC/tests/signaling/silent_peer.py" 127.0.0.11 5060 "$DIR/fe1.log" 40 &
FE1=$!; PIDS+=($FE1)
/usr/bin/python3 "$SRC/tests/signaling/silent_peer.py" 127.0.0.12 5060 "$DIR/fe2.log" 40 &
FE2=$!; PIDS+=($FE2)
# Both bound before the reload's first probes: an OPTIONS sent before
# fe-dub-1 listens is refused by the kernel (ICMP), and fe-dub-1 is down
# without having seen it.
for _ in $(seq 50); do
  grep -q listening "$DIR/fe1.log" 2>/dev/null && grep -q listening "$DIR/fe2.log" 2>/dev/null && break
  sleep 0.1
done
kill -USR1 $FE2
cp "$DIR/uc-keepalive.yaml" "$DIR/topology.yaml"
kill -HUP "${PIDS[2]}"
uc_down=0
for _ in $(seq 75); do
  if metrics_of "$SIGNALING_METRICS" | grep -qF 'trunkline_signaling_gateway_up{gateway="fe-dub-1",trunk="uc-side"} 0'; then
    uc_down=1; break
  fi
  sleep 0.2
done
if [ $uc_down = 1 ] && metrics_of "$SIGNALING_METRICS" | grep -qF 'trunkline_signaling_gateway_up{gateway="fe-dub-2",trunk="uc-side"} 1'; then
  pass "UC next hops probed: the silent fe-dub-1 is down, fe-dub-2 up"
else fail "UC next hops: $(metrics_of "$SIGNALING_METRICS" | grep 'gateway_up{gateway="fe-dub')"; fi
printf 'SEQUENTIAL\n1234;\n' > "$DIR/did.csv"
sipp_run uc_down 127.0.0.21 uac_expect_503.xml -inf "$DIR/did.csv" 127.0.0.1:5160
judge uc_down $? "UC next hop down: the PSTN call got fe-dub-2's 503"
if grep -q '^INVITE ' "$DIR/fe2.log" && ! grep -q '^INVITE ' "$DIR/fe1.log" &&
   grep -q '^OPTIONS ' "$DIR/fe1.log"; then
  pass "UC next hop down: the INVITE went to fe-dub-2 only"
else fail "UC next hop down: fe-dub-1 got $(grep -c '^INVITE' "$DIR/fe1.log") INVITEs, fe-dub-2 $(grep -c '^INVITE' "$DIR/fe2.log")"; fi
kill $FE1 $FE2 2>/dev/null; wait $FE1 $FE2 2>/dev/null
# Keepalive off again (a reload): the front ends' series go, rather than a
# last 0 that would alert for ever.
cp "$DIR/keepalive.yaml" "$DIR/topology.yaml"
kill -HUP "${PIDS[2]}"
gone=0
for _ in $(seq 50); do
  if ! metrics_of "$SIGNALING_METRICS" | grep -q 'trunkline_signaling_gateway_up{gateway="fe-dub-'; then
    gone=1; break
  fi
  sleep 0.1
done
[ $gone = 1 ] && pass "UC keepalive off: the front ends' gateway_up series are gone" \
  || fail "UC keepalive off: stale series $(metrics_of "$SIGNALING_METRICS" | grep 'gateway_up{gateway="fe-dub')"

# --- The media service gone (killed, as a crash): a call that must be
# anchored on every candidate gets 503 with a Reason naming media (not its
# address, which the caller must not learn), at once,
# and signaling keeps serving; once a media instance answers again on the
# same address, calls are anchored again.
kill -KILL "${PIDS[1]}"; wait "${PIDS[1]}" 2>/dev/null
start_s=$(date +%s.%N)
sipp_run media_gone 127.0.0.11 uac_expect_503.xml -inf "$DIR/fast_failover.csv" 127.0.0.1:5060
judge media_gone $? "media gone: the call got 503 with a Reason"
took=$(echo "$(date +%s.%N) - $start_s" | bc)
if grep -q 'text="media: Offer: not reachable"' "$DIR/media_gone.msg" &&
   ! grep -q "text=\"[^\"]*127\.0\.0\.1:${MEDIA_API##*:}" "$DIR/media_gone.msg" &&
   [ "$(echo "$took < 5" | bc)" = 1 ]; then
  pass "media gone: the Reason says media could not be reached (not where it is), after $took s"
else fail "media gone: Reason or delay ($took s)"; grep -i '^Reason' "$DIR/media_gone.msg"; fi
"$MEDIA" --topology="$DIR/topology.yaml" --grpc_address="$MEDIA_API" \
  --admin_address="$MEDIA_ADMIN" --metrics_address=127.0.0.1:$MEDIA_METRICS \
  --admin_token_file="$DIR/admin.token" 2>"$DIR/media-again.log" &
PIDS+=($!)
wait_port "${MEDIA_API##*:}" 100 || fail "media did not start again"
sleep 3  # signaling's next poll of the instance's load finds it
call media_back uac_srtp_call.xml 0871234567 127.0.0.21:uas_answer.xml

kill -0 "${PIDS[2]}" 2>/dev/null || fail "signaling died"
echo "sipp flows e2e: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
