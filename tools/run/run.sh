#!/usr/bin/env bash
# make run: the Trunkline stack in the foreground on this machine, with the
# example topology or TOPOLOGY=FILE. Prints each address; Ctrl-C stops all.
#
#   tools/run/run.sh BUILD_DIR TOPOLOGY
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
TOPOLOGY=${2:-deploy/examples/topology.yaml}
BIN=$BUILD/bin

"$BIN/trunkctl" topology validate "$TOPOLOGY" || exit 1

PIDS=()
stop() {
  trap - INT TERM
  echo
  echo "stopping: ${PIDS[*]}"
  for pid in "${PIDS[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
  wait "${PIDS[@]}" 2>/dev/null || true
  exit 0
}
trap stop INT TERM

# service grpc admin metrics: the local stack's addresses, which every
# service and trunkctl use by default.
declare -A ADDRESSES=(
  [routing]="127.0.0.1:50061 127.0.0.1:50062 127.0.0.1:9461"
  [media]="127.0.0.1:50071 127.0.0.1:50072 127.0.0.1:9471"
  [signaling]="127.0.0.1:50051 127.0.0.1:50052 127.0.0.1:9451"
)
for service in routing media signaling; do
  if [ ! -x "$BIN/$service" ]; then
    echo "$service: not in this build yet"
    continue
  fi
  read -r grpc admin metrics <<< "${ADDRESSES[$service]}"
  "$BIN/$service" --topology="$TOPOLOGY" --grpc_address="$grpc" \
    --admin_address="$admin" --metrics_address="$metrics" &
  PIDS+=($!)
  echo "$service: pid $! api $grpc admin $admin metrics http://$metrics/metrics"
done
[ ${#PIDS[@]} -gt 0 ] || { echo "nothing to run: build first (make build)"; exit 1; }
echo "topology: $TOPOLOGY (edit it or send SIGHUP to reload). Ctrl-C stops."
wait "${PIDS[@]}"
