#!/usr/bin/env bash
# make bench: the benchmarks, each beside a peer measured in the same run.
# Results are printed and written to BUILD/bench/results.md; the figures in
# docs/performance.md come from here. Never part of `make test`.
#
#   tools/bench/run.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
BIN=$BUILD/bin
OUT=$BUILD/bench
mkdir -p "$OUT"
RESULTS=$OUT/results.md
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

. tools/lib.sh
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

{
  echo "# Benchmark run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores ($(uname -m))"
  echo
} > "$RESULTS"

echo "== routing: in-process decisions (one core)"
"$BIN/routing_bench" --benchmark_min_time=2 | tee "$OUT/routing_bench.txt"
{
  echo "## routing, in process"
  echo '```'
  grep -E 'routing_bench:|BM_' "$OUT/routing_bench.txt"
  echo '```'
} >> "$RESULTS"

echo "== routing: gRPC Route over loopback, load generator on the same machine"
TOPO=$OUT/bench-topology.yaml
"$BIN/routing_bench" --write_topology="$TOPO" > /dev/null
GRPC=$(free_port); ADMIN=$(free_port); METRICS=$(free_port)
# The server and the load generator each get a core of their own (when
# there are two): sharing one, each waits for the other's time slice, which
# is what the p99 then measures (docs/performance.md#routing).
# On its own core the generator spins (routing_load --spin): a sleeping one
# sends up to a millisecond's requests at once and takes replies late (gRPC
# rounds its waits up to whole milliseconds), which the p99 then counts
# (docs/performance.md#routing). Sharing the cores, it sleeps.
SERVER_CPU=() CLIENT_CPU=() SPIN=false
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
  SERVER_CPU=(taskset -c 1) CLIENT_CPU=(taskset -c 0) SPIN=true
fi
"${SERVER_CPU[@]}" "$BIN/routing" --topology="$TOPO" --grpc_address=127.0.0.1:$GRPC \
  --admin_address=127.0.0.1:$ADMIN --metrics_address=127.0.0.1:$METRICS \
  --log_level=warning &
ROUTING=$!; PIDS+=("$ROUTING")
wait_port "$GRPC"
"$BIN/routing_load" --target=127.0.0.1:$GRPC --rate=2000 --seconds=2 > /dev/null  # warm up
HZ=$(getconf CLK_TCK)
measure() {  # method rate seconds [spin]
  local before after line
  before=$(cpu_ticks "$ROUTING")
  line=$("${CLIENT_CPU[@]}" "$BIN/routing_load" --target=127.0.0.1:$GRPC --method="$1" --rate="$2" --seconds="$3" \
    --spin="${4:-$SPIN}" || true)
  after=$(cpu_ticks "$ROUTING")
  local cpu_us
  cpu_us=$(awk -v t=$((after - before)) -v hz="$HZ" -v n=$(( $2 * $3 )) 'BEGIN{printf "%.1f", t/hz*1e6/n}')
  echo "$line server_cpu_per_request=${cpu_us}us"
}
{
  echo
  echo "## routing, gRPC over loopback (server and load generator on the same machine)"
  echo '```'
} >> "$RESULTS"
# ROUTING_ROUNDS (3) rounds of every rate, the health check and Route in
# turn; a line per method and rate gives the median p99 of the rounds (µs): one
# 10 s run's p99 on this VM moves with any stall of a few milliseconds (the
# median of three is the figure, every run is printed), as the media
# benchmark's half-load step does.
: > "$OUT/routing_grpc.txt"
for round in $(seq "${ROUTING_ROUNDS:-3}"); do
  for rate in 5000 10000 20000; do
    measure health "$rate" 10 | tee -a "$RESULTS" "$OUT/routing_grpc.txt"
    measure route "$rate" 10 | tee -a "$RESULTS" "$OUT/routing_grpc.txt"
  done
done
round_medians "$OUT/routing_grpc.txt" routing_grpc method offered p99 "spin=$SPIN" | tee -a "$RESULTS"
# One round at 20,000/s with the generator sleeping, as every run before
# the spinning generator measured: the two side by side show what is the
# generator's.
if [ "$SPIN" = true ]; then
  measure health 20000 10 false | tee -a "$RESULTS"
  measure route 20000 10 false | tee -a "$RESULTS"
fi
echo '```' >> "$RESULTS"
kill "$ROUTING"; wait "$ROUTING" 2>/dev/null || true
PIDS=()

echo "== media: relay vs rtpengine and a bare recvmmsg/sendmmsg echo"
tools/rtpload/bench.sh "$BUILD" 5 | tee "$OUT/media_bench.txt"
{
  echo
  echo "## media"
  echo '```'
  cat "$OUT/media_bench.txt"
  echo '```'
} >> "$RESULTS"
echo "== signaling: sipp through Trunkline and through Kamailio + rtpengine"
tools/bench/signaling_bench.sh "$BIN" "$OUT"
{
  echo
  cat "$OUT/signaling.md"
} >> "$RESULTS"
echo
echo "results: $RESULTS"
