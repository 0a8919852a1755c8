#!/bin/bash
# RFC 4475's torture messages against the real signaling binary on loopback
# (see rfc4475_torture.py), over UDP, then over TCP. The topology is the e2e's, derived from
# deploy/examples/topology.yaml; 127.0.0.11 is a UC next hop there, so every
# message comes from a trusted source. Routing is not running: INVITEs that
# are processed end in 503 (routing unavailable), which counts as handled.
# Every process this script starts is stopped by its PID.
#
# With TRUNKCTL_BIN, the whole run is traced (trunkctl trace) into the logs
# kept on failure: what the service answered, and where to.
#
#   rfc4475_torture.sh SIGNALING_BIN SOURCE_DIR [CORPUS_DIR] [TRUNKCTL_BIN]
set -u
SIGNALING=$1 SRC=$2
CORPUS=${3:-$SRC/../shared/corpus/rfc4475}
# A clone elsewhere than beside the shared corpus: the workspace's copy.
[ -d "$CORPUS" ] || CORPUS=/work/shared/corpus/rfc4475
TRUNKCTL=${4:-}
if [ ! -f "$CORPUS/INDEX.md" ]; then
  echo "SKIP: RFC 4475 corpus not found at $CORPUS"; exit 0
fi
DIR=$(mktemp -d /tmp/trunkline-rfc4475-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  if [ "${FAILED:-0}" = 0 ]; then rm -rf "$DIR"; else echo "logs kept in $DIR"; fi
}
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

/usr/bin/python3 "$SRC/tests/signaling/derive_topology.py" \
  "$SRC/deploy/examples/topology.yaml" "$DIR/topology.yaml"
SG=$(free_port) SA=$(free_port) SM=$(free_port) NOROUTING=$(free_port)
"$SIGNALING" --topology="$DIR/topology.yaml" --grpc_address=127.0.0.1:$SG \
  --admin_address=127.0.0.1:$SA --metrics_address=127.0.0.1:$SM \
  --routing=127.0.0.1:$NOROUTING --media= --admin_token_file="$DIR/admin.token" \
  2>"$DIR/signaling.log" &
PIDS+=($!); SIG=$!
for _ in $(seq 50); do
  grep -q 'msg=serving' "$DIR/signaling.log" && break
  sleep 0.2
done
if ! grep -q 'msg=serving' "$DIR/signaling.log"; then
  echo "FAIL: signaling did not start"; cat "$DIR/signaling.log"; FAILED=1; exit 1
fi
FAILED=0
if [ -n "$TRUNKCTL" ]; then
  "$TRUNKCTL" --signaling=127.0.0.1:$SA --admin_token_file="$DIR/admin.token" \
    trace --seconds 600 >"$DIR/trace.txt" 2>&1 &
  PIDS+=($!)
  sleep 0.5
fi
/usr/bin/python3 "$SRC/tests/signaling/rfc4475_torture.py" "$CORPUS" 127.0.0.1 5060 127.0.0.11 || FAILED=1
# The same messages again, each over a TCP connection of its own (the
# listener takes UDP and TCP): framing by Content-Length, and the
# connection's end, must leave the service serving just the same.
/usr/bin/python3 "$SRC/tests/signaling/rfc4475_torture.py" "$CORPUS" 127.0.0.1 5060 127.0.0.11 tcp || FAILED=1
if ! kill -0 "$SIG" 2>/dev/null; then echo "FAIL: signaling died"; FAILED=1; fi
exit $FAILED
