#!/bin/bash
# Media relay benchmark: our relay, rtpengine (userspace, if installed) and a
# bare recvmmsg/sendmmsg echo, driven by rtpload with the same streams, on
# loopback. Prints one key=value line per run. Usage:
#   tools/rtpload/bench.sh BUILD_DIR [SECONDS]
# Environment (defaults in brackets):
#   STREAMS      streams of the CPU-per-packet and latency runs [200]
#   MAX_STEPS    stream counts the paced (50 pps) search steps through, up to
#                the first that misses p99 < 20 ms or loss < 1 % twice in a
#                row [250 ... 3000]
#   IDLE_STREAMS streams allocated (Offer + Answer, no packets) to measure
#                resident memory per idle stream [2000]
#   WORKERS      worker threads of each relay [1]
#   SRTP_CRYPTO  our relay's --srtp_crypto (openssl or libsrtp) [openssl]
#   PACKET_IO    our relay's --packet_io (uring or epoll) [its default: uring]
#   PIN          1: with two cores or more, the relay under test (every
#                thread of ours, rtpengine's or the echo) runs on CPU 1 and
#                rtpload on CPU 0; 0: both float over every core [1]
#   RT_PRIORITY  SCHED_FIFO priority of both relays' workers in the paced
#                runs (ours: --worker_realtime_priority, rtpengine:
#                --scheduling=fifo --priority) [10; 0: default scheduling]
# The flat-out CPU-per-packet runs use the default scheduling for both
# relays (a real-time worker that shared the cores with the load tool, as
# before PIN, woke for every packet, so its batches and its CPU per packet
# were not those of a relay with cores of its own). The paced runs
# (latency, most streams) give both relays' workers the same real-time
# priority, so neither waits for the time slices of other work (the
# kernel's threads, the relay's own) on its core.
# rtpengine runs under flock /tmp/trunkline-peers.lock (shared with other
# benches and tests that start peers), taken by this script. Starts and
# stops only the processes it starts (by PID).
set -u
. "$(dirname "$0")/../lib.sh"  # round_medians
build=${1:-build}
seconds=${2:-5}
bin=$build/bin
rt=0
paced_rt=${RT_PRIORITY:-10}
out=$(mktemp -d /tmp/trunkline-mediabench-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$out"; }
trap cleanup EXIT

# The relay under test and the load tool each on a core of their own (as
# the routing benchmark does with its server and generator): floating over
# both cores, a relay's worker woke on the core where rtpload was sending
# and took it over (real-time) between the sender's packets of one tick,
# or rtpload's threads ran on the relay's core between its packets; either
# way the tail measured the two sharing a core, not the relay (at 1500
# paced streams, p99 0.3-10 ms floating, 64-152 us pinned; the same for
# every relay).
relay_cpu=() tool_cpu=()
if [ "${PIN:-1}" = 1 ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
  relay_cpu=(taskset -c 1) tool_cpu=(taskset -c 0)
fi

# Every run receives all streams on one socket that rtpload drains each
# millisecond (--shared_receiver): a socket per stream, waited on in epoll,
# cost the tool about 5 µs a packet and every relay a wake-up of the tool's
# receiver in each send, both taken from the two cores the relay under test
# shares with it. SHARED_RECEIVER=0: a socket per stream.
shared=${SHARED_RECEIVER:-1}
receiver_flags=(--shared_receiver="$([ "$shared" = 1 ] && echo true || echo false)")
run() { "${tool_cpu[@]}" "$bin/rtpload" --seconds="$seconds" "${receiver_flags[@]}" "$@" 2>>"$out/rtpload.err" || tail -3 "$out/rtpload.err"; }

# The floor: a bare echo, one thread, at the relays' scheduling. Its ports
# are in our relay's range (20000-32767), which holds no socket while the
# echo runs, and room for 3000 streams each way; the kernel's ephemeral
# range (32768-60999), where rtpload's own sockets are, is left alone.
echo_base=20000
echo_forward_base=26400
start_echo() {
  local sched=()
  [ "$rt" -gt 0 ] && sched=(chrt -f "$rt")
  "${relay_cpu[@]}" "${sched[@]}" "$bin/udp_echo" --listen_base=$echo_base --forward_base=$echo_forward_base --count="$1" --forward_shared="$([ "$shared" = 1 ] && echo true || echo false)" 9>&- & echo_pid=$!; pids+=($echo_pid); sleep 0.3
}
stop_echo() { kill "$echo_pid"; wait "$echo_pid" 2>/dev/null; }

# Our relay: one worker for CPU-per-packet comparisons on one core. Ports
# 20000-32767 (below the kernel's ephemeral range, which rtpload's own
# sockets use): 3192 streams of two pairs each.
start_media() {
  "${relay_cpu[@]}" "$bin/media" --topology=tests/topology/minimal.yaml --grpc_address=127.0.0.1:50971 \
    --admin_address=127.0.0.1:0 --metrics_address=127.0.0.1:0 --workers="${WORKERS:-1}" \
    --rtp_bind_address=127.0.0.1 --advertised_address=127.0.0.1 --rtp_port_min=20000 \
    --rtp_port_max=32767 --port_quarantine_seconds=0 --rtp_timeout_seconds=0 \
    --worker_realtime_priority="$rt" --srtp_crypto="${SRTP_CRYPTO:-openssl}" \
    ${RX_COALESCE_US:+--rx_coalesce_us=$RX_COALESCE_US} ${PACKET_IO:+--packet_io=$PACKET_IO} \
    --log_level=warning 2>>"$out/media.log" 9>&- & media_pid=$!
  pids+=($media_pid)
}

# rtpengine: ports 2000-19999 and no delete delay, so the ports of one run
# are free for the next (with its default 30 s delay and a 10000-port range
# it ran out at 1000 streams).
have_rtpengine=0
if command -v rtpengine >/dev/null; then
  have_rtpengine=1
  # Taken here, for the whole run: wrapping this script in flock on the same
  # file would wait for itself (set PEERS_LOCK_HELD=1 when the caller holds it).
  if [ "${PEERS_LOCK_HELD:-0}" != 1 ]; then
    exec 9>/tmp/trunkline-peers.lock
    echo "waiting for /tmp/trunkline-peers.lock (rtpengine)" >&2
    flock 9
  fi
fi
start_rtpengine() {
  local sched=()
  [ "$rt" -gt 0 ] && sched=(--scheduling=fifo --priority="$rt")
  "${relay_cpu[@]}" rtpengine --table=-1 --interface=127.0.0.1 --listen-ng=127.0.0.1:2223 \
    --port-min=2000 --port-max=19999 --delete-delay=0 --num-threads="${WORKERS:-1}" \
    "${sched[@]}" --foreground --log-stderr --log-level=3 --no-fallback \
    2>>"$out/rtpengine.log" 9>&- & rtpengine_pid=$!
  pids+=($rtpengine_pid)
}
stop() { kill "$1"; wait "$1" 2>/dev/null; }
echo "# $(uptime)"
echo "# relay under test: ${relay_cpu[*]:-any core}; rtpload: ${tool_cpu[*]:-any core}"

# Resident memory per idle stream: VmRSS of a fresh relay before and after
# allocating the streams (Offer + Answer, no packets), one fresh process per
# figure so that no earlier run's freed heap hides the growth.
idle=${IDLE_STREAMS:-2000}
for srtp in false true; do
  start_media; sleep 1.5
  # 50 first, so the process's one-time growth (gRPC, allocator) is not
  # counted per stream.
  run --target=trunkline --media=127.0.0.1:50971 --idle_streams=50 --srtp=$srtp --relay_pid="$media_pid" >/dev/null
  run --target=trunkline --media=127.0.0.1:50971 --idle_streams="$idle" --srtp=$srtp --relay_pid="$media_pid"
  stop "$media_pid"
  if [ $have_rtpengine = 1 ]; then
    start_rtpengine; sleep 1.5
    run --target=rtpengine --rtpengine=127.0.0.1:2223 --idle_streams=50 --srtp=$srtp --relay_pid="$rtpengine_pid" >/dev/null
    run --target=rtpengine --rtpengine=127.0.0.1:2223 --idle_streams="$idle" --srtp=$srtp --relay_pid="$rtpengine_pid"
    stop "$rtpengine_pid"
  fi
done

start_media
[ $have_rtpengine = 1 ] && start_rtpengine
sleep 1.5
echo "# $(uptime)"

streams=${STREAMS:-200}
# CPU per packet (flat out; default scheduling), then latency (paced; real
# time) with the same streams. The RTP->SRTP lines carry
# libsrtp_protect_cpu_us: libsrtp's own cost of one protect, measured by
# rtpload in the same run.
for pps in 0 50; do
  if [ $pps = 50 ]; then  # restart both relays at the paced runs' priority
    stop "$media_pid"; [ $have_rtpengine = 1 ] && stop "$rtpengine_pid"
    rt=$paced_rt; start_media; [ $have_rtpengine = 1 ] && start_rtpengine; sleep 1.5
    echo "# paced runs: relay workers at SCHED_FIFO priority $rt (0: default scheduling)"
  fi
  start_echo "$streams"
  run --target=echo --echo_base=$echo_base --echo_forward_base=$echo_forward_base --streams="$streams" --pps=$pps --relay_pid="$echo_pid"
  stop_echo
  for srtp in false true; do
    run --target=trunkline --media=127.0.0.1:50971 --streams="$streams" --pps=$pps --srtp=$srtp --relay_pid="$media_pid"
    if [ $have_rtpengine = 1 ]; then
      run --target=rtpengine --rtpengine=127.0.0.1:2223 --streams="$streams" --pps=$pps --srtp=$srtp --relay_pid="$rtpengine_pid"
    fi
  done
done

# The most paced streams each relay holds with p99 < 20 ms and loss < 1 %,
# counted only when rtpload really sent 95 % of the step's packets (near
# 3000 streams its sender, sharing its core with its receiver, can fall
# behind: the step then did not test the relay at its stream count).
p99_ok() {  # an rtpload line
  awk '{for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }}
       END { loss = v["loss"]; sub("%", "", loss);
             due = v["streams"] * v["pps_per_stream"];
             exit !(v["latency_p99_us"] != "" && v["latency_p99_us"] < 20000 && loss < 1 &&
                    v["sent_pps"] >= 0.95 * due) }' <<<"$1"
}
# Each step starts from a fresh relay: rtpengine keeps some ports of deleted
# calls for a while even with --delete-delay=0 (it ran out of ports after a
# few steps), and ours is restarted too so both start equal.
restart() {  # target
  if [ "$1" = trunkline ]; then
    stop "$media_pid"; start_media; pid=$media_pid
  else
    stop "$rtpengine_pid"; start_rtpengine; pid=$rtpengine_pid
  fi
  sleep 1.5
}
search() {  # target mode-flag relay-args...
  local target=$1 srtp=$2; shift 2
  local best=0 line
  for n in ${MAX_STEPS:-250 500 1000 1500 2000 2500 3000}; do
    # A step that misses runs once more on a fresh relay (both relays
    # alike): one stall of this shared VM in a 4 s run must not end the
    # search for either.
    local ok=0 try
    for try in 1 2; do
      restart "$target"
      line=$(run --target="$target" "$@" --streams="$n" --pps=50 --srtp="$srtp" --relay_pid="$pid")
      echo "$line"
      if p99_ok "$line"; then ok=1; break; fi
    done
    [ $ok = 1 ] || break
    best=$n
  done
  echo "max_streams target=$target mode=$([ "$srtp" = true ] && echo rtp_to_srtp || echo rtp_to_rtp) streams=$best criterion=p99<20ms,loss<1%"
  found=$best
}
for srtp in false true; do
  search trunkline "$srtp" --media=127.0.0.1:50971
  [ "$srtp" = false ] && our_max=$found
  if [ $have_rtpengine = 1 ]; then
    search rtpengine "$srtp" --rtpengine=127.0.0.1:2223
  fi
done

# Added latency at half of our RTP->RTP maximum, beside the echo and
# rtpengine. Each run on a fresh relay, as each step of the search above:
# the instance left by the search's last step has just been overloaded
# (rtpengine may still hold ports of its deleted calls). HALF_RUNS rounds
# [3], each target in turn within a round; a summary line per target and
# mode gives the median of the rounds' p99 (a 5 s run's p99 on this shared
# VM moves with any stall of a few milliseconds; the median of three is
# the figure, every run is printed; of two, the lower).
half=$(( our_max / 2 ))
if [ "$half" -gt 0 ]; then
  echo "# half load: $half streams x 50 pps, ${HALF_RUNS:-3} rounds"
  : >"$out/half.txt"
  for round in $(seq "${HALF_RUNS:-3}"); do
    start_echo "$half"
    run --target=echo --echo_base=$echo_base --echo_forward_base=$echo_forward_base --streams="$half" --pps=50 --relay_pid="$echo_pid" | tee -a "$out/half.txt"
    stop_echo
    for srtp in false true; do
      restart trunkline
      run --target=trunkline --media=127.0.0.1:50971 --streams="$half" --pps=50 --srtp=$srtp --relay_pid="$pid" | tee -a "$out/half.txt"
      if [ $have_rtpengine = 1 ]; then
        restart rtpengine
        run --target=rtpengine --rtpengine=127.0.0.1:2223 --streams="$half" --pps=50 --srtp=$srtp --relay_pid="$pid" | tee -a "$out/half.txt"
      fi
    done
  done
  round_medians "$out/half.txt" half_load target mode latency_p99_us "streams=$half"
fi

echo "# $(uptime)"
