#!/usr/bin/env bash
# Starts the demo's UC side: the UC user (baresip, SRTP mandatory) on an
# address of its own, and a Kamailio at fe-dub-1's address that proxies
# between it and Trunkline. Prints the PIDs it started; stop.sh undoes everything.
#
#   tools/demo/uc/start.sh WORKDIR TRUNKLINE_HOST:PORT
# Needs root (ip link). Addresses: 10.77.0.1 and 10.77.0.2 (the user).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$1
TRUNKLINE=$2
HOST_VETH=10.77.0.1
USER_ADDRESS=10.77.0.2
FE_ADDRESS=127.0.0.11
mkdir -p "$WORK/baresip"

# baresip will not bind the loopback interface, so it gets a veth of its own
# (both ends stay in this namespace: the user reaches 127.0.0.x, where the
# front end, Trunkline and the media relay are, and they reach it).
ip link add tl-demo-host type veth peer name tl-demo-uc
ip addr add "$HOST_VETH/32" dev tl-demo-host
ip addr add "$USER_ADDRESS/32" dev tl-demo-uc
ip link set tl-demo-host up
ip link set tl-demo-uc up

# A throwaway certificate for the front end's TLS listener, valid for its
# address; baresip trusts exactly it.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=fe-pool.contoso.example" \
  -addext "subjectAltName=IP:$FE_ADDRESS,DNS:fe-pool.contoso.example" \
  -keyout "$WORK/fe-key.pem" -out "$WORK/fe-cert.pem" 2> /dev/null
cat > "$WORK/tls.cfg" <<TLS
[server:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
private_key = $WORK/fe-key.pem
certificate = $WORK/fe-cert.pem

[client:default]
verify_certificate = no
require_certificate = no
TLS

fill() {
  sed -e "s|__WORK__|$WORK|g" -e "s/__FE_ADDRESS__/$FE_ADDRESS/g" -e "s/__HOST_VETH__/$HOST_VETH/g" \
      -e "s/__USER_ADDRESS__/$USER_ADDRESS/g" -e "s/__TRUNKLINE__/$TRUNKLINE/g" "$1"
}
fill "$HERE/kamailio.cfg" > "$WORK/kamailio.cfg"
fill "$HERE/baresip-config" > "$WORK/baresip/config"
fill "$HERE/baresip-accounts" > "$WORK/baresip/accounts"
: > "$WORK/baresip/contacts"

kamailio -f "$WORK/kamailio.cfg" -DD -E -P "$WORK/kamailio.pid" \
  > "$WORK/kamailio.log" 2>&1 &
echo "kamailio $!" > "$WORK/uc.pids"
baresip -f "$WORK/baresip" > "$WORK/baresip.log" 2>&1 < /dev/null &
echo "baresip $!" >> "$WORK/uc.pids"
cat "$WORK/uc.pids"
