#!/bin/bash
# Trunk registration ends when Trunkline stops: the real routing, media and
# signaling binaries with the example topology (the ITSP trunk registering),
# sipp as the ITSP's registrar (127.0.0.41). Signaling registers; on SIGTERM
# it sends the registrar an un-REGISTER (same Call-ID, Expires: 0) before
# its sockets close, and logs it. Every process is stopped by its PID.
#
#   register_e2e.sh ROUTING_BIN MEDIA_BIN SIGNALING_BIN SOURCE_DIR
set -u
ROUTING=$1 MEDIA=$2 SIGNALING=$3 SRC=$4
. "$SRC/tests/signaling/e2e_lib.sh"

/usr/bin/python3 "$SRC/tests/signaling/derive_topology.py" \
  "$SRC/deploy/examples/topology.yaml" "$DIR/topology.yaml" --register itsp
timeout 60 sipp -sf "$SCEN/uas_registrar_unregister.xml" -i 127.0.0.41 -p 5060 -m 1 \
  -timeout 50s -nostdin -trace_err -error_file "$DIR/registrar.err" \
  -trace_msg -message_file "$DIR/registrar.msg" >"$DIR/registrar.out" 2>&1 & REGISTRAR=$!
bound 127.0.0.41
start_stack

registered=""
for _ in $(seq 50); do
  metrics_of "$SIGNALING_METRICS" | grep -qF 'trunkline_signaling_trunk_registered{trunk="itsp"} 1' \
    && { registered=1; break; }
  sleep 0.2
done
[ -n "$registered" ] && pass "the ITSP trunk registered" || fail "the ITSP trunk did not register"

SIG_PID=${PIDS[2]}
kill -TERM "$SIG_PID"
for _ in $(seq 100); do kill -0 "$SIG_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$SIG_PID" 2>/dev/null; then fail "signaling still running 10 s after SIGTERM"
else pass "signaling stopped on SIGTERM"; fi
if wait "$REGISTRAR"; then
  pass "registrar: got the un-REGISTER (same Call-ID, Expires: 0) and answered it"
else fail "registrar scenario (see $DIR/registrar.err)"; tail -20 "$DIR/registrar.err" 2>/dev/null; fi
n=$(grep -c '^REGISTER sip:' "$DIR/registrar.msg" 2>/dev/null || true)
[ "$n" = 2 ] && pass "registrar got 2 REGISTERs (register, un-REGISTER)" || fail "registrar got $n REGISTERs"
grep -q 'trunk unregistered' "$DIR/signaling.log" && pass "signaling logged the un-REGISTER's answer" \
  || { fail "no 'trunk unregistered' in the signaling log"; tail -5 "$DIR/signaling.log"; }
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
