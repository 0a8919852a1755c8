#!/bin/bash
# Calls with media anchored, end to end on loopback: the real routing, media
# and signaling binaries with the example topology (OPTIONS keepalive off),
# sipp as the UC front end (127.0.0.11, SRTP), the Dublin gateway
# (127.0.0.21) and the ITSP (127.0.0.41).
# - Requests within a call: the caller holds and resumes with re-INVITEs,
#   sends a DTMF INFO, the gateway re-INVITEs back; every SDP each side gets
#   names the relay, and the media service saw each offer/answer.
# - Digest: the ITSP registrar challenges Trunkline's REGISTER and its
#   refresh, and the ITSP challenges INVITEs (401 with MD5, and 407 with
#   SHA-256 from its proxy in the early-offer failover call); Trunkline
#   answers with
#   the trunk's credentials (password from its file), which sipp verifies.
# - Session timer (RFC 4028): the IP-PBX asks for a longer interval (422),
#   makes Trunkline the refresher and gets its UPDATE half-way (50 s), which
#   it refuses (501), then the same refresh as a re-INVITE (this
#   call runs alongside the others).
# - Reliable early media (RFC 3262): the gateway's 183 with SDP comes with
#   Require: 100rel; Trunkline PRACKs it and sends the caller its own
#   reliable 183 with the relay's SDP, which the caller PRACKs; then 200.
#   Again with the gateway changing codec by UPDATE before it answers.
# - Lost ACK: the gateway sends its 200 again after our ACK and gets it again.
# - Delayed offer: an INVITE without SDP, the gateway's offer in its 200
#   anchored, the caller's answer in its ACK; and the gateway's offer in a
#   reliable 183, answered in the PRACKs of both legs.
# - Forking: two forks of the Dublin gateway ring, the second answers:
#   Trunkline ACKs and BYEs the one that answered; with maxEarlyDialogs 1
#   the caller hears only the first fork's ringing. Again with reliable
#   provisionals: each fork's PRACKed within its own early dialog.
# - Media timeout: a call to the London gateway where nobody sends RTP ends
#   (BYE on both legs, with a Reason) when the relay reports the trunk's
#   media timeout (2 s here) through WatchEvents.
# Every process this script starts is stopped by its PID.
#
#   sipp_dialog_e2e.sh ROUTING_BIN MEDIA_BIN SIGNALING_BIN SOURCE_DIR
set -u
ROUTING=$1 MEDIA=$2 SIGNALING=$3 SRC=$4
. "$SRC/tests/signaling/e2e_lib.sh"

# gateway_call NAME GW_SCENARIO UC_SCENARIO UC_CHECK GW_CHECK [UC_ARGS...]:
# one call from the UC side (127.0.0.11, numbers.csv) to the Dublin gateway
# (127.0.0.21), each side's scenario passing or failing as one check; logs
# in $DIR/{gw,uc}NAME.{err,msg}.
gateway_call() {
  local name=$1 gw_scenario=$2 uc_scenario=$3 uc_check=$4 gw_check=$5 gw
  shift 5
  sipp_run "gw$name" 127.0.0.21 "$gw_scenario" & gw=$!
  bound 127.0.0.21
  if sipp_run "uc$name" 127.0.0.11 "$uc_scenario" "$@" -inf "$DIR/numbers.csv" 127.0.0.1:5060; then
    pass "UC side: $uc_check"
  else fail "UC side $name call (see $DIR/uc$name.err)"; tail -20 "$DIR/uc$name.err" 2>/dev/null; fi
  if wait "$gw"; then pass "gateway: $gw_check"
  else fail "gateway $name call (see $DIR/gw$name.err)"; tail -20 "$DIR/gw$name.err" 2>/dev/null; fi
}

/usr/bin/python3 "$SRC/tests/signaling/derive_topology.py" \
  "$SRC/deploy/examples/topology.yaml" "$DIR/derived.yaml" --register itsp
# The ITSP's digest password, from a file as a Secret mount would give it.
ITSP_PASSWORD="e2e-$$-secret"
echo "$ITSP_PASSWORD" > "$DIR/itsp-password"
sed "s|passwordFile: .*|passwordFile: $DIR/itsp-password|" "$DIR/derived.yaml" > "$DIR/with-password.yaml"
/usr/bin/python3 - "$DIR/with-password.yaml" "$DIR/topology.yaml" <<'PY'
import sys, yaml
t = yaml.safe_load(open(sys.argv[1]))
for c in t["trunkConfigurations"]:
    if c["name"] == "pstn-lon":
        c["mediaTimeoutSeconds"] = 2
    if c["name"] == "pstn-dub":
        c["maxEarlyDialogs"] = 1
    if c["name"] == "pbx":
        c["sessionTimer"] = {"enabled": True, "sessionExpiresSeconds": 90,
                             "refresher": "local"}
yaml.safe_dump(t, open(sys.argv[2], "w"), sort_keys=False)
PY
printf 'SEQUENTIAL\n%s;\n' "$ITSP_PASSWORD" > "$DIR/password.csv"
# The ITSP's registrar is up before signaling starts: it registers at once.
sipp_run registrar 127.0.0.41 uas_registrar.xml -inf "$DIR/password.csv" & REGISTRAR=$!
bound 127.0.0.41
start_stack

printf 'SEQUENTIAL\n0871234567;\n' > "$DIR/numbers.csv"
# The session-timer call lasts ~56 s: it starts first and is checked last.
# +442079461234 goes to the London IP-PBX (127.0.0.31), media bypassed.
printf 'SEQUENTIAL\n+442079461234;\n' > "$DIR/pbx.csv"
timeout 90 sipp -sf "$SCEN/uas_session_timer.xml" -i 127.0.0.31 -p 5060 -m 1 -timeout 80s -nostdin \
  -trace_err -error_file "$DIR/pbx.err" -trace_msg -message_file "$DIR/pbx.msg" >"$DIR/pbx.out" 2>&1 & PBX=$!
bound 127.0.0.31
timeout 90 sipp -sf "$SCEN/uac_long_call.xml" -i 127.0.0.11 -p 5072 -m 1 -d 56000 -timeout 80s -nostdin \
  -inf "$DIR/pbx.csv" -trace_err -error_file "$DIR/longcall.err" 127.0.0.1:5060 >"$DIR/longcall.out" 2>&1 & LONGCALL=$!
sipp_run gw 127.0.0.21 uas_reinvite.xml & GW=$!
bound 127.0.0.21
if sipp_run uc 127.0.0.11 uac_reinvite.xml -inf "$DIR/numbers.csv" 127.0.0.1:5060; then
  pass "UC side: hold, resume, INFO and the gateway's re-INVITE, each answer from the relay"
else
  fail "UC side scenario (see $DIR/uc.err)"; cat "$DIR/uc.err" 2>/dev/null | tail -20
fi
if wait "$GW"; then
  pass "gateway: got the hold (sendonly) and resume from the relay's address, the INFO, its re-INVITE answered"
else
  fail "gateway scenario (see $DIR/gw.err)"; cat "$DIR/gw.err" 2>/dev/null | tail -20
fi

[ -s "$DIR/gw.msg" ] && [ -s "$DIR/uc.msg" ] || { fail "sipp left no message log"; exit 1; }
# Reliable early media, both legs.
gateway_call prack uas_prack.xml uac_prack.xml \
  "reliable 183 with the relay's SDP, PRACKed, then answered" \
  "its reliable 183 was PRACKed (RAck 1 <CSeq> INVITE)"

# An UPDATE with a new offer in the early dialog (RFC 3311 5.1), once both
# legs completed their offer/answer in reliable 183s: the gateway's codec
# change goes through media Update to the caller, whose answer comes back
# through the relay; the 200 then carries no SDP to the caller.
gateway_call prackupdate uas_prack_update.xml uac_prack_update.xml \
  "the gateway's early UPDATE arrived with the relay's SRTP offer (PCMA), answered; a 200 without SDP" \
  "its early UPDATE (PCMA) answered by the relay, then answered the call"

# Forking: the second fork answers.
gateway_call fork uas_fork.xml uac_srtp_call.xml \
  "the forked call was answered and hung up" \
  "ACK and BYE went to the fork that answered"
n=$(grep -c '^SIP/2.0 180' "$DIR/ucfork.msg" 2>/dev/null || true)
[ "$n" = 1 ] && pass "maxEarlyDialogs 1: the caller got one fork's 180" || fail "caller got $n 180s"
# The same with reliable provisionals: each fork PRACKed in its own dialog.
gateway_call fork100rel uas_fork_100rel.xml uac_srtp_call.xml \
  "the forked call with reliable provisionals was answered and hung up" \
  "each fork's reliable 180 PRACKed within its own dialog, once"

# A lost ACK: our ACK is sent statelessly and the INVITE transaction is let
# go, so a 200 that the gateway sends again must be ACKed again from the
# dialog (SofiaClientLeg::AckAgain).
gateway_call lostack uas_lost_ack.xml uac_long_call.xml \
  "the call whose ACK the gateway missed went on and was hung up" \
  "its 200 sent again after the ACK was ACKed again" -d 3000
n=$(grep -c '^ACK sip:' "$DIR/gwlostack.msg" 2>/dev/null || true)
[ "$n" = 2 ] && pass "gateway got 2 ACKs for its two 200s" || fail "gateway got $n ACKs"

# A delayed offer (INVITE without SDP), media anchored: the gateway offers
# in its 200, the caller gets the relay's SRTP offer and answers in its ACK,
# the gateway gets the relay's answer in ours.
gateway_call delayed uas_delayed_offer.xml uac_delayed_offer.xml \
  "delayed offer, the relay's SRTP offer in the 200, our answer in the ACK" \
  "INVITE without SDP, the relay's RTP answer in the ACK"
# The same, with the gateway's offer in a reliable 183 (RFC 3262): the
# caller gets the relay's offer reliably and answers in its PRACK; the
# gateway's PRACK carries the relay's answer; the 200s carry no SDP.
gateway_call early uas_early_offer.xml uac_early_offer.xml \
  "delayed offer, the relay's SRTP offer in a reliable 183, our answer in the PRACK, a 200 without SDP" \
  "INVITE without SDP, its offer in a reliable 183, the relay's RTP answer in the PRACK"

# Topology hiding within the call: no address of the caller's network in
# anything the gateway received, and none of the gateway's at the caller.
if grep -q '127\.0\.0\.11' "$DIR/gw.msg"; then fail "the caller's address reached the gateway"
else pass "nothing of the caller's network reached the gateway"; fi
if sed -n '/^SIP\/2.0 200\|^INVITE/,/^$/p;/^v=0/,/^$/p' "$DIR/uc.msg" | grep -q '127\.0\.0\.21'; then
  fail "the gateway's address reached the caller"
else pass "nothing of the gateway's network reached the caller"; fi
# Both re-INVITEs relayed with their ACKs: each leg's INVITE count.
n=$(grep -c '^INVITE sip:' "$DIR/gw.msg")
[ "$n" -ge 3 ] && pass "gateway got 3 INVITEs (call, hold, resume)" || fail "gateway got $n INVITEs"

# Digest: an international number goes to the ITSP first (see
# services/routing/testdata/golden_routes.txt), which challenges.
printf 'SEQUENTIAL\n0033142685300;\n' > "$DIR/intl.csv"
if wait "$REGISTRAR"; then
  pass "ITSP registrar: REGISTER and its refresh (same Call-ID) answered our digest"
else fail "registrar scenario (see $DIR/registrar.err)"; tail -20 "$DIR/registrar.err" 2>/dev/null; fi
reg=$("$(dirname "$SIGNALING")/trunkctl" --admin_token_file="$DIR/admin.token" \
  --signaling="$SIGNALING_ADMIN" trunks show itsp 2>&1)
grep -qE "registered, [0-9]+s left" <<<"$reg" && pass "trunkctl trunks show itsp: registered, with the time left" \
  || fail "trunkctl trunks show itsp said: $reg"
c1=$(grep -m1 '^CSeq: [0-9]* REGISTER' "$DIR/registrar.msg" | awk '{print $2}')
c4=$(grep '^CSeq: [0-9]* REGISTER' "$DIR/registrar.msg" | tail -1 | awk '{print $2}')
[ -n "$c1" ] && [ "$c4" = $((c1+3)) ] && pass "REGISTER CSeq rose by one each time ($c1..$c4)" \
  || fail "REGISTER CSeqs: $c1..$c4"
sipp_run itsp 127.0.0.41 uas_digest.xml -inf "$DIR/password.csv" & ITSP=$!
bound 127.0.0.41
if sipp_run intl 127.0.0.11 uac_srtp_call.xml -inf "$DIR/intl.csv" 127.0.0.1:5060; then
  pass "UC side: the international call through the ITSP was answered"
else fail "UC side international call (see $DIR/intl.err)"; tail -20 "$DIR/intl.err" 2>/dev/null; fi
if wait "$ITSP"; then pass "ITSP: our answer to its 401 verified (digest MD5, qop=auth)"
else fail "ITSP digest scenario (see $DIR/itsp.err)"; tail -20 "$DIR/itsp.err" 2>/dev/null; fi

# Failover after the caller answered an early offer: the Dublin gateway
# offers in a reliable 183, gets the relay's answer in the PRACK, then fails
# with 503; the call moves on to the ITSP (0871234567: pstn-dub, then itsp),
# which is offered what the caller answered (through the same relay), and
# the caller's 200 carries no second offer. This ITSP's proxy challenges
# with 407 and SHA-256 (RFC 7616): our INVITE goes again with a
# Proxy-Authorization, checked by digest_check.py.
sipp_run gwfail 127.0.0.21 uas_early_offer_503.xml & GWFAIL=$!
sipp_run itspnext 127.0.0.41 uas_digest_407.xml -inf "$DIR/password.csv" & ITSPNEXT=$!
bound 127.0.0.21; bound 127.0.0.41
if sipp_run ucfail 127.0.0.11 uac_early_offer.xml -inf "$DIR/numbers.csv" 127.0.0.1:5060; then
  pass "UC side: early offer answered in the PRACK, then a 200 from the next candidate without a second offer"
else fail "UC side early-offer failover (see $DIR/ucfail.err)"; tail -20 "$DIR/ucfail.err" 2>/dev/null; fi
if wait "$GWFAIL"; then pass "gateway: answered in the PRACK, then failed the call with 503"
else fail "gateway early-offer 503 (see $DIR/gwfail.err)"; tail -20 "$DIR/gwfail.err" 2>/dev/null; fi
if wait "$ITSPNEXT"; then pass "next candidate (ITSP): an INVITE with the relay's offer after its 407, answered in its 200"
else fail "ITSP after failover (see $DIR/itspnext.err)"; tail -20 "$DIR/itspnext.err" 2>/dev/null; fi
if out=$(/usr/bin/python3 "$SRC/tests/signaling/digest_check.py" "$DIR/itspnext.msg" \
           "$(tail -1 "$DIR/password.csv" | tr -d ';')" Proxy-Authorization 2>&1); then
  pass "ITSP: our answer to its 407 verified ($out)"
else fail "ITSP 407: $out"; fi

# A caller that PRACKs the relay's early offer without an answer (against
# RFC 3262 5): the gateway's INVITE is cancelled and the caller gets 488
# with a Reason at once (not when the gateway gives up on its PRACK).
sipp_run gwcancel 127.0.0.21 uas_early_offer_cancelled.xml & GWCANCEL=$!
bound 127.0.0.21
if sipp_run noanswer 127.0.0.11 uac_early_offer_no_answer.xml -inf "$DIR/numbers.csv" 127.0.0.1:5060; then
  pass "UC side: a PRACK of the early offer without an answer gets 488 with a Reason"
else fail "UC side PRACK without answer (see $DIR/noanswer.err)"; tail -20 "$DIR/noanswer.err" 2>/dev/null; fi
if wait "$GWCANCEL"; then pass "gateway: its INVITE with an unanswered early offer was cancelled"
else fail "gateway early offer cancelled (see $DIR/gwcancel.err)"; tail -20 "$DIR/gwcancel.err" 2>/dev/null; fi

# Media timeout: +442071234567 goes to gw-lon (127.0.0.22) first.
printf 'SEQUENTIAL\n+442071234567;\n' > "$DIR/london.csv"
sipp_run gwlon 127.0.0.22 uas_silent_answer.xml & GWLON=$!
bound 127.0.0.22
if sipp_run quiet 127.0.0.11 uac_wait_bye.xml -inf "$DIR/london.csv" 127.0.0.1:5060; then
  pass "UC side: the silent call was hung up by Trunkline with a media-timeout Reason"
else fail "UC side silent call (see $DIR/quiet.err)"; tail -20 "$DIR/quiet.err" 2>/dev/null; fi
if wait "$GWLON"; then pass "gateway: got our BYE naming the callee's missing RTP"
else fail "gateway silent call (see $DIR/gwlon.err)"; tail -20 "$DIR/gwlon.err" 2>/dev/null; fi

if wait "$LONGCALL" && wait "$PBX"; then
  pass "session timer: 422 honoured, our UPDATE refresh half-way, refused 501, then refreshed by re-INVITE with the same session"
else fail "session timer call (see $DIR/pbx.err, $DIR/longcall.err)"; tail -20 "$DIR/pbx.err" "$DIR/longcall.err" 2>/dev/null; fi

metrics=$(metrics_of "$SIGNALING_METRICS")
# Challenges answered: the REGISTER's, its refresh's and two INVITEs'.
for m in 'trunkline_signaling_in_dialog_requests_total{method="INVITE"} 3' \
         'trunkline_signaling_in_dialog_requests_total{method="INFO"} 1' \
         'trunkline_signaling_auth_challenges_total{result="answered",trunk="itsp"} 4' \
         'trunkline_signaling_trunk_registered{trunk="itsp"} 1' \
         'trunkline_signaling_media_timeouts_total{kind="rtp",trunk="pstn-lon"} 1'; do
  grep -qF "$m" <<<"$metrics" && pass "metric $m" || fail "metric $m"
done
media=$(metrics_of "$MEDIA_METRICS")
# The media service saw every offer/answer: the hold, resume and gateway
# re-INVITEs and the early UPDATE through Update, and one Offer per
# candidate tried by the twelve
# anchored calls (the delayed offers' from the callee). The international call's trunks share a priority and are
# ordered by a hash of its Call-ID: when gw-dub (no sipp by then) comes
# first, its transport failure moves the call on with one more Offer.
failovers=$(awk '/^trunkline_signaling_failovers_total\{/ {n += $2} END {printf "%d", n}' <<<"$metrics")
for re in 'trunkline_media_grpc_server_duration_seconds_count\{method="/trunkline.v1.Media/Update"\} 4' \
          "trunkline_media_grpc_server_duration_seconds_count\\{method=\"/trunkline.v1.Media/Offer\"\\} $((12 + failovers))"; do
  grep -qE "$re" <<<"$media" && pass "media: $re" || { fail "media: $re"; grep -E 'grpc_server_duration_seconds_count' <<<"$media"; grep -E 'failovers_total' <<<"$metrics"; }
done
kill -0 "${PIDS[2]}" 2>/dev/null && pass "signaling still serving" || fail "signaling died"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
