#!/usr/bin/env bash
# Undoes start.sh: stops the processes it started (by PID) and removes the
# veth pair.
WORK=$1
if [ -f "$WORK/uc.pids" ]; then
  while read -r _ pid; do kill "$pid" 2>/dev/null; done < "$WORK/uc.pids"
  sleep 0.5
  while read -r _ pid; do kill -9 "$pid" 2>/dev/null; done < "$WORK/uc.pids"
fi
ip link del tl-demo-host 2>/dev/null
true
