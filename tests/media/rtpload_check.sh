#!/usr/bin/env bash
# The load tool that the media figures in docs/performance.md rest on
# (tools/rtpload), checked for what it counts, not for speed: a few streams
# at 50 pps for one second through our relay (RTP and RTP->SRTP) and
# through udp_echo, with a socket per stream and with the shared receiving
# socket. Every line must show the packets relayed, no loss, and (SRTP) no
# verification failure; with the shared receiver, every packet found its
# stream by SSRC (in SRTP mode a packet credited to the wrong stream fails
# the check of its send stamp against that stream's record, so the SRTP
# lines also test the mapping). Loopback only; stops only what it starts.
#   rtpload_check.sh BUILD_BIN_DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:?usage: $0 BUILD_BIN_DIR}
. tools/lib.sh
WORK=$(mktemp -d /tmp/trunkline-rtpload-check-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

API=$(free_port)
"$BIN/media" --topology=tests/topology/minimal.yaml --grpc_address=127.0.0.1:$API \
  --admin_address=127.0.0.1:0 --metrics_address=127.0.0.1:0 --workers=1 \
  --rtp_bind_address=127.0.0.1 --advertised_address=127.0.0.1 \
  --rtp_port_min=41000 --rtp_port_max=41999 --port_quarantine_seconds=0 \
  --log_level=warning 2>"$WORK/media.log" &
MEDIA=$!; PIDS+=($MEDIA)
wait_port "$API" 100

field() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k { print $2 }'; }
# check LINE WANT_SHARED WANT_SRTP: the line's counts are those of a clean run.
check() {
  local line=$1 shared=$2 srtp=$3 sent relayed loss
  echo "$line"
  sent=$(field "$line" sent_pps); relayed=$(field "$line" relayed_pps); loss=$(field "$line" loss)
  [ -n "$sent" ] || { fail "no result line"; return; }
  awk -v s="$sent" 'BEGIN { exit !(s >= 190 && s <= 210) }' || fail "sent $sent/s, not the 200/s due"
  awk -v s="$sent" -v r="$relayed" 'BEGIN { exit !(r >= 0.98 * s) }' || fail "relayed $relayed/s of $sent/s"
  [ "$loss" = "0.0000%" ] || fail "loss $loss"
  [ "$(field "$line" latency_p50_us)" -gt 0 ] || fail "no latency measured"
  if [ "$srtp" = true ]; then
    [ "$(field "$line" verify_failures)" = 0 ] || fail "SRTP verification failures"
  fi
  if [ "$shared" = true ]; then
    [ "$(field "$line" shared_receiver)" = 1 ] || fail "not the shared receiver"
    [ "$(field "$line" unknown_ssrc)" = 0 ] || fail "packets whose SSRC named no stream"
  else
    [ -z "$(field "$line" shared_receiver)" ] || fail "shared receiver reported when off"
  fi
}

for shared in false true; do
  for srtp in false true; do
    check "$("$BIN/rtpload" --target=trunkline --media=127.0.0.1:$API --streams=4 --pps=50 \
      --seconds=1 --srtp=$srtp --shared_receiver=$shared --relay_pid=$MEDIA)" "$shared" "$srtp"
  done
  "$BIN/udp_echo" --listen_base=42000 --forward_base=42400 --count=4 --forward_shared=$shared &
  ECHO=$!; PIDS+=($ECHO); sleep 0.3
  check "$("$BIN/rtpload" --target=echo --echo_base=42000 --echo_forward_base=42400 --streams=4 \
    --pps=50 --seconds=1 --shared_receiver=$shared --relay_pid=$ECHO)" "$shared" false
  kill "$ECHO"; wait "$ECHO" 2>/dev/null || true
done

[ "$failures" = 0 ] || { echo "$failures check(s) failed"; exit 1; }
echo "rtpload: all checks passed"
