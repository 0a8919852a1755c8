# Shared by the signaling end-to-end scripts that run the real routing,
# media and signaling binaries with sipp peers on the example's loopback
# addresses. Source it after setting SRC (the source tree); it sets DIR (a
# fresh work directory), SCEN, PIDS and PASSED/FAILED, and stops every
# process started through it by PID on exit. Without sipp it skips the
# script (exit 77, which ctest reports as skipped).
if ! command -v sipp >/dev/null; then
  echo "SKIP: sipp not installed (apt-get install -y sip-tester)"; exit 77
fi
. "$SRC/tools/lib.sh"
SCEN=$SRC/tests/signaling/scenarios
DIR=$(mktemp -d /tmp/trunkline-e2e-XXXXXX)
PIDS=()
FAILED=0 PASSED=0
e2e_cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  if [ "$FAILED" = 0 ] && [ -z "${KEEP_LOGS:-}" ]; then rm -rf "$DIR"; else echo "logs kept in $DIR"; fi
}
trap e2e_cleanup EXIT
pass() { echo "PASS: $1"; PASSED=$((PASSED+1)); }
fail() { echo "FAIL: $1"; FAILED=$((FAILED+1)); }

# start NAME BINARY [FLAGS...]: a service on free loopback ports with
# $DIR/topology.yaml; sets NAME_API and NAME_ADMIN (host:port) and
# NAME_METRICS (port). The admin token is $DIR/admin.token.
start() {
  local name=$1 bin=$2; shift 2
  local api admin metrics
  api=$(free_port) admin=$(free_port) metrics=$(free_port)
  eval "${name^^}_API=127.0.0.1:$api ${name^^}_ADMIN=127.0.0.1:$admin ${name^^}_METRICS=$metrics"
  "$bin" --topology="$DIR/topology.yaml" --grpc_address=127.0.0.1:$api \
    --admin_address=127.0.0.1:$admin --metrics_address=127.0.0.1:$metrics \
    --admin_token_file="$DIR/admin.token" "$@" 2>"$DIR/$name.log" &
  PIDS+=($!)
  wait_port "$api" 100 || { fail "$name did not start"; cat "$DIR/$name.log"; exit 1; }
}

# start_stack: routing, media and signaling wired together, once signaling
# serves and has polled the media instance's load (it picks one by load).
start_stack() {
  start routing "$ROUTING"
  start media "$MEDIA"
  start signaling "$SIGNALING" --routing="$ROUTING_API" --media="$MEDIA_API"
  for _ in $(seq 50); do grep -q 'msg=serving' "$DIR/signaling.log" && break; sleep 0.2; done
  sleep 2.5
}

# sipp_run NAME IP SCENARIO [ARGS...]: one call of a scenario on IP:5060,
# its errors and messages logged in $DIR/NAME.{err,msg}.
sipp_run() {
  local name=$1 ip=$2 scen=$3; shift 3
  timeout 40 sipp -sf "$SCEN/$scen" -i "$ip" -p 5060 -m 1 -timeout 30s -nostdin \
    -trace_err -error_file "$DIR/$name.err" -trace_msg -message_file "$DIR/$name.msg" "$@" >"$DIR/$name.out" 2>&1
}

# bound IP: waits (bounded) until a sipp peer has bound IP:5060/udp: an
# INVITE sent before would fail over to the next candidate.
bound() {
  for _ in $(seq 50); do
    ss -Hlun "src $1:5060" 2>/dev/null | grep -q . && return 0
    sleep 0.1
  done
  echo "no sipp bound $1:5060 yet"
}

# judge NAME STATUS WHAT: a sipp peer's scenario as one check: WHAT passed
# (STATUS 0), or NAME's scenario failed, with the end of its error log.
judge() {
  if [ "$2" = 0 ]; then pass "$3"
  else fail "$1 scenario (see $DIR/$1.err)"; tail -20 "$DIR/$1.err" 2>/dev/null; fi
}

# answered_dialog LOG: waits (bounded) until a sipp message log shows the
# 200 to its first INVITE; prints "CALL-ID TO-TAG FROM-TAG" (nothing if it
# never came).
answered_dialog() {
  local dialog=""
  for _ in $(seq 100); do
    [ -f "$1" ] && dialog=$(/usr/bin/python3 "$SRC/tests/signaling/replaces_check.py" dialog "$1")
    [ -n "$dialog" ] && break
    sleep 0.1
  done
  echo "$dialog"
}

# answered_or_exit LOG WHAT: answered_dialog LOG into DIALOG_CALL_ID,
# DIALOG_TO_TAG and DIALOG_FROM_TAG, passing the check "WHAT answered"; when
# it never came, that check fails and the script ends (what follows needs
# the dialog).
answered_or_exit() {
  local dialog
  dialog=$(answered_dialog "$1")
  if [ -z "$dialog" ]; then
    fail "$2 was not answered (see $1 and the .err files in $DIR)"
    echo "$PASSED passed, $FAILED failed"; exit 1
  fi
  read -r DIALOG_CALL_ID DIALOG_TO_TAG DIALOG_FROM_TAG <<<"$dialog"
  pass "$2 answered (Call-ID $DIALOG_CALL_ID)"
}

# replaces_names_first LOG WHAT [ARGS...]: one check that the INVITE with
# Replaces in LOG names the log's first dialog (replaces_check.py
# names-first LOG ARGS...), with what it wanted and got when not.
replaces_names_first() {
  local log=$1 what=$2 out; shift 2
  if out=$(/usr/bin/python3 "$SRC/tests/signaling/replaces_check.py" names-first "$log" "$@"); then
    pass "$what"
  else fail "$what: $out"; fi
}

# metrics_of PORT: a service's /metrics text.
metrics_of() {
  /usr/bin/python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$1/metrics').read().decode())"
}
