#!/bin/bash
# Media relay benchmark: our relay, rtpengine (userspace, if installed) and a
# bare recvmmsg/sendmmsg echo, driven by rtpload with the same streams, on
# loopback. Prints one key=value line per run. Usage:
#   tools/rtpload/bench.sh BUILD_DIR [SECONDS]
# Starts and stops only the processes it starts (by PID).
set -u
build=${1:-build}
seconds=${2:-5}
bin=$build/bin
out=$(mktemp -d /tmp/trunkline-mediabench-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$out"; }
trap cleanup EXIT

run() { "$bin/rtpload" --seconds="$seconds" "$@" 2>>"$out/rtpload.err" || tail -3 "$out/rtpload.err"; }

# The floor: a bare echo, one thread.
start_echo() {
  "$bin/udp_echo" --listen_base=61000 --forward_base=63000 --count="$1" & echo_pid=$!; pids+=($echo_pid); sleep 0.3
}
stop_echo() { kill "$echo_pid"; wait "$echo_pid" 2>/dev/null; }

# Our relay: one worker for CPU-per-packet comparisons on one core.
"$bin/media" --topology=tests/topology/minimal.yaml --grpc_address=127.0.0.1:50971 \
  --admin_address=127.0.0.1:0 --metrics_address=127.0.0.1:0 --workers="${WORKERS:-1}" \
  --rtp_bind_address=127.0.0.1 --advertised_address=127.0.0.1 --rtp_port_min=20000 \
  --rtp_port_max=29999 --port_quarantine_seconds=0 --rtp_timeout_seconds=0 \
  --log_level=warning 2>"$out/media.log" & media_pid=$!; pids+=($media_pid)

have_rtpengine=0
if command -v rtpengine >/dev/null; then
  rtpengine --table=-1 --interface=127.0.0.1 --listen-ng=127.0.0.1:2223 \
    --port-min=10000 --port-max=19999 --num-threads="${WORKERS:-1}" --foreground \
    --log-stderr --log-level=3 --no-fallback 2>"$out/rtpengine.log" & rtpengine_pid=$!
  pids+=($rtpengine_pid); have_rtpengine=1
fi
sleep 1.5

for streams in ${STREAMS:-100 500}; do
  for pps in 50 0; do
    start_echo "$streams"
    run --target=echo --streams="$streams" --pps=$pps --relay_pid="$echo_pid"
    stop_echo
    for srtp in false true; do
      run --target=trunkline --media=127.0.0.1:50971 --streams="$streams" --pps=$pps --srtp=$srtp --relay_pid="$media_pid"
      if [ $have_rtpengine = 1 ]; then
        run --target=rtpengine --rtpengine=127.0.0.1:2223 --streams="$streams" --pps=$pps --srtp=$srtp --relay_pid="$rtpengine_pid"
      fi
    done
  done
done
