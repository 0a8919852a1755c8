#!/usr/bin/env bash
# Starts the demo's UC side: a network namespace for the UC user (baresip,
# SRTP mandatory) and a Kamailio at fe-dub-1's address that proxies between
# it and Trunkline. Prints the PIDs it started; stop.sh undoes everything.
#
#   tools/demo/uc/start.sh WORKDIR TRUNKLINE_HOST:PORT
# Needs root (ip netns). Addresses: 10.77.0.1 (host end), 10.77.0.2 (user).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$1
TRUNKLINE=$2
NS=tl-demo-uc
HOST_VETH=10.77.0.1
USER_ADDRESS=10.77.0.2
FE_ADDRESS=127.0.0.11
mkdir -p "$WORK/baresip"

ip netns add "$NS"
ip link add tl-demo-host type veth peer name tl-demo-uc
ip link set tl-demo-uc netns "$NS"
ip addr add "$HOST_VETH/30" dev tl-demo-host
ip link set tl-demo-host up
ip netns exec "$NS" ip addr add "$USER_ADDRESS/30" dev tl-demo-uc
ip netns exec "$NS" ip link set tl-demo-uc up
ip netns exec "$NS" ip link set lo up
# The user reaches the front end and the media relay (on loopback) through
# the host end.
ip netns exec "$NS" ip route add default via "$HOST_VETH"

fill() {
  sed -e "s/__FE_ADDRESS__/$FE_ADDRESS/g" -e "s/__HOST_VETH__/$HOST_VETH/g" \
      -e "s/__USER_ADDRESS__/$USER_ADDRESS/g" -e "s/__TRUNKLINE__/$TRUNKLINE/g" "$1"
}
fill "$HERE/kamailio.cfg" > "$WORK/kamailio.cfg"
fill "$HERE/baresip-config" > "$WORK/baresip/config"
fill "$HERE/baresip-accounts" > "$WORK/baresip/accounts"
: > "$WORK/baresip/contacts"

kamailio -f "$WORK/kamailio.cfg" -DD -E -P "$WORK/kamailio.pid" \
  > "$WORK/kamailio.log" 2>&1 &
echo "kamailio $!" > "$WORK/uc.pids"
ip netns exec "$NS" baresip -f "$WORK/baresip" > "$WORK/baresip.log" 2>&1 < /dev/null &
echo "baresip $!" >> "$WORK/uc.pids"
cat "$WORK/uc.pids"
