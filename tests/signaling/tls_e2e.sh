#!/bin/bash
# TLS and IPv6 end to end on loopback: the real routing and signaling
# binaries with a topology of their own (TLS listeners on 127.0.0.1 and ::1,
# one of them asking for client certificates, a TLS trunk whose gateway asks
# for mutual TLS, a trunk to an IPv6 gateway), against python3's ssl module
# playing TLS peers and sipp playing UDP peers over IPv4 and IPv6. The CA and
# every certificate are made here, in a temporary directory, by openssl.
# Every process this script starts is stopped by its PID.
#
#   tls_e2e.sh ROUTING_BIN SIGNALING_BIN SOURCE_DIR
#
# SIP ports (fixed, outside the example topology's): 15060-15063, 15070-15072,
# 15080, 15160-15162.
set -u
ROUTING=$1 SIGNALING=$2 SRC=$3
SCEN=$SRC/tests/signaling/scenarios
PEER="/usr/bin/python3 $SRC/tests/signaling/tls_peer.py"
for tool in sipp openssl; do
  if ! command -v $tool >/dev/null; then echo "SKIP: $tool not installed"; exit 0; fi
done
if ! /usr/bin/python3 -c 'import socket; s=socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(("::1", 0))' 2>/dev/null; then
  echo "SKIP: no IPv6 loopback"; exit 0
fi
source "$SRC/tools/lib.sh"
DIR=$(mktemp -d /tmp/trunkline-tls-e2e-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  if [ "${FAILED:-0}" = 0 ]; then rm -rf "$DIR"; else echo "logs kept in $DIR"; fi
}
trap cleanup EXIT

# --- Certificates: a CA; signaling's (sig.test, and the loopback addresses);
# the UC front end's (fe.test) and the TLS gateway's (gw.test), each usable
# as client and server; another name from the same CA; a rogue CA's fe.test.
cert() {  # NAME CN SAN CA
  openssl req -newkey rsa:2048 -nodes -keyout "$DIR/$1.key" -out "$DIR/$1.csr" \
    -subj "/CN=$2" 2>/dev/null &&
  printf 'subjectAltName=%s\n' "$3" > "$DIR/$1.ext" &&
  openssl x509 -req -in "$DIR/$1.csr" -CA "$DIR/$4.pem" -CAkey "$DIR/$4.key" \
    -CAcreateserial -days 2 -extfile "$DIR/$1.ext" -out "$DIR/$1.pem" 2>/dev/null
}
ca() {  # NAME CN
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$DIR/$1.key" -out "$DIR/$1.pem" \
    -days 2 -subj "/CN=$2" 2>/dev/null
}
ca ca "Trunkline Test CA" && ca rogue "Rogue CA" &&
cert server sig.test "DNS:sig.test,IP:127.0.0.1,IP:::1" ca &&
cert fe fe.test "DNS:fe.test" ca &&
cert gw gw.test "DNS:gw.test" ca &&
cert other other.test "DNS:other.test" ca &&
cert roguefe fe.test "DNS:fe.test" rogue || { echo "FAIL: openssl could not make the certificates"; exit 1; }
chmod 600 "$DIR"/*.key

cat > "$DIR/topology.yaml" <<EOF
sites: [{name: hq}]
pools:
  - name: pool
    site: hq
    listeners:
      - {name: udp4, address: 127.0.0.1, port: 15060, transports: [udp]}
      - name: tls4
        address: 127.0.0.1
        port: 15061
        transports: [tls]
        tls: {certificateFile: $DIR/server.pem, privateKeyFile: $DIR/server.key, caFile: $DIR/ca.pem}
      - name: mtls4
        address: 127.0.0.1
        port: 15063
        transports: [tls]
        tls: {certificateFile: $DIR/server.pem, privateKeyFile: $DIR/server.key, caFile: $DIR/ca.pem,
              requireClientCertificate: true}
      - name: v6
        address: '::1'
        port: 15062
        transports: [udp, tls]
        tls: {certificateFile: $DIR/server.pem, privateKeyFile: $DIR/server.key, caFile: $DIR/ca.pem}
gateways:
  - {name: fe, kind: uc_front_end, address: 127.0.0.11, fqdn: fe.test, port: 15080}
  - {name: gw, kind: pstn_gateway, address: 127.0.0.21, port: 15070, site: hq}
  - name: gwtls
    kind: pstn_gateway
    address: 127.0.0.22
    fqdn: gw.test
    port: 15071
    transport: tls
    site: hq
    tls: {caFile: $DIR/ca.pem, requireClientCertificate: true}
  - {name: gw6, kind: ip_pbx, address: '::1', port: 15072, site: hq}
  - name: gwsips
    kind: pstn_gateway
    address: 127.0.0.23
    fqdn: gw.test
    port: 15073
    transport: tls
    site: hq
    tls: {caFile: $DIR/ca.pem, sipsUri: true}
trunks:
  - {name: pstn, pool: pool, listener: udp4, gateway: gw, localPort: 15160}
  - {name: pstn-tls, pool: pool, listener: tls4, gateway: gwtls, localPort: 15161}
  - {name: pbx6, pool: pool, listener: v6, gateway: gw6, localPort: 15162}
  - {name: pstn-sips, pool: pool, listener: tls4, gateway: gwsips, localPort: 15164}
trunkConfigurations:
  - name: global
    srtpMode: optional
    enableBypass: true
    keepalive: {enabled: false}
pstnUsages: [{name: Local}]
voiceRoutes:
  - {name: udp, numberPattern: '^\+1555100\d{4}$', pstnUsages: [Local], trunks: [{trunk: pstn}]}
  - {name: tls, numberPattern: '^\+1555200\d{4}$', pstnUsages: [Local], trunks: [{trunk: pstn-tls}]}
  - {name: v6, numberPattern: '^\+1555300\d{4}$', pstnUsages: [Local], trunks: [{trunk: pbx6}]}
  - {name: sips, numberPattern: '^\+1555400\d{4}$', pstnUsages: [Local], trunks: [{trunk: pstn-sips}]}
voicePolicies: [{name: global, pstnUsages: [Local]}]
dialPlans:
  - name: global
    scope: global
    normalizationRules:
      - {name: nanp, pattern: '^1?(\d{10})$', translation: '+1\$1'}
ucSide:
  nextHops: [{gateway: fe, pool: pool, listener: udp4}]
  numberRanges: [{first: '+15550001000', last: '+15550001999'}]
EOF

RG=$(free_port) RA=$(free_port) RM=$(free_port)
SG=$(free_port) SA=$(free_port) SM=$(free_port)
"$ROUTING" --topology="$DIR/topology.yaml" --grpc_address=127.0.0.1:$RG \
  --admin_address=127.0.0.1:$RA --metrics_address=127.0.0.1:$RM 2>"$DIR/routing.log" &
PIDS+=($!)
"$SIGNALING" --topology="$DIR/topology.yaml" --grpc_address=127.0.0.1:$SG \
  --admin_address=127.0.0.1:$SA --metrics_address=127.0.0.1:$SM \
  --routing=127.0.0.1:$RG --media= --tls_certificate_check_seconds=1 \
  2>"$DIR/signaling.log" &
PIDS+=($!)
for _ in $(seq 50); do
  grep -q 'msg=serving' "$DIR/signaling.log" && grep -q 'msg=serving' "$DIR/routing.log" && break
  sleep 0.2
done
if ! grep -q 'msg=serving' "$DIR/signaling.log"; then
  echo "FAIL: signaling did not start"; cat "$DIR/signaling.log" "$DIR/routing.log"; FAILED=1; exit 1
fi

FAILED=0 PASSED=0
check() {  # NAME COMMAND...: one case, its output kept in $DIR/NAME.out
  local name=$1; shift
  if timeout 40 "$@" >"$DIR/$name.out" 2>&1; then
    echo "PASS: $name ($(tail -1 "$DIR/$name.out"))"; PASSED=$((PASSED+1))
  else
    echo "FAIL: $name"; sed 's/^/    /' "$DIR/$name.out"; FAILED=$((FAILED+1))
  fi
}
sipp_run() {  # NAME LOCAL_IP LOCAL_PORT(0: any) SCENARIO [args...]
  local name=$1 ip=$2 port=$3 scen=$4; shift 4
  [ "$port" = 0 ] || set -- -p "$port" "$@"
  timeout 30 sipp -sf "$SCEN/$scen" -i "$ip" -m 1 -timeout 15s -nostdin \
    -trace_err -error_file "$DIR/$name.err" -trace_msg -message_file "$DIR/$name.msg" \
    "$@" >"$DIR/$name.out" 2>&1
}
numbers() { printf 'SEQUENTIAL\n%s;\n' "$1" > "$DIR/numbers-$1.csv"; echo "$DIR/numbers-$1.csv"; }
# call NAME UAC_IP UAC_TARGET NUMBER UAS_IP UAS_PORT: sipp on both sides (UDP).
call() {
  local name=$1 uac_ip=$2 target=$3 number=$4 uas_ip=$5 uas_port=$6 ok=1
  sipp_run "$name-uas" "$uas_ip" "$uas_port" uas_answer.xml & local uas=$!
  sleep 0.5
  sipp_run "$name-uac" "$uac_ip" 0 uac_call.xml -inf "$(numbers "$number")" "$target" || ok=0
  wait $uas || ok=0
  if [ $ok = 1 ]; then echo "PASS: $name"; PASSED=$((PASSED+1))
  else echo "FAIL: $name (see $DIR/$name-*.err, *.msg)"; FAILED=$((FAILED+1)); fi
}
TLS="--ca $DIR/ca.pem"

# (1) Trust over TLS: a configured peer's address gets 200, another 403.
check tls_options_trusted $PEER options 127.0.0.1 15061 --bind 127.0.0.11 $TLS --expect 200
check tls_options_untrusted $PEER options 127.0.0.1 15061 --bind 127.0.0.99 $TLS --expect 403

# (2) Client certificates where the listener asks for them: none, or one from
# another CA, and the session is refused; the CA's fe.test gets 200 from the
# front end's address and, by its certificate's name, from any address;
# another name from the same CA at an unknown address gets 403.
check mtls_no_certificate $PEER options 127.0.0.1 15063 --bind 127.0.0.11 $TLS \
  --expect handshake-failure
check mtls_rogue_ca $PEER options 127.0.0.1 15063 --bind 127.0.0.11 $TLS \
  --cert "$DIR/roguefe.pem" --key "$DIR/roguefe.key" --expect handshake-failure
check mtls_client_certificate $PEER options 127.0.0.1 15063 --bind 127.0.0.11 $TLS \
  --cert "$DIR/fe.pem" --key "$DIR/fe.key" --expect 200
check mtls_trusted_by_name $PEER options 127.0.0.1 15063 --bind 127.0.0.98 $TLS \
  --cert "$DIR/fe.pem" --key "$DIR/fe.key" --expect 200
check mtls_other_name_untrusted $PEER options 127.0.0.1 15063 --bind 127.0.0.98 $TLS \
  --cert "$DIR/other.pem" --key "$DIR/other.key" --expect 403
# The TLS trunk's gateway asks for mutual TLS: on its port its address alone
# is not enough, its certificate must name it.
check trunk_mtls_gateway $PEER options 127.0.0.1 15161 --bind 127.0.0.22 $TLS \
  --cert "$DIR/gw.pem" --key "$DIR/gw.key" --expect 200
check trunk_mtls_wrong_name $PEER options 127.0.0.1 15161 --bind 127.0.0.22 $TLS \
  --cert "$DIR/other.pem" --key "$DIR/other.key" --expect 403
check trunk_mtls_no_certificate $PEER options 127.0.0.1 15161 --bind 127.0.0.22 $TLS \
  --expect handshake-failure
# That gateway is reached over TLS: an INVITE from its address over UDP
# (which anyone can send with its source address) is refused with 403.
sipp_run tls_gateway_over_udp 127.0.0.22 0 uac_expect_403.xml \
  -inf "$(numbers 5550001234)" 127.0.0.1:15060 &&
  { echo "PASS: tls_gateway_over_udp"; PASSED=$((PASSED+1)); } ||
  { echo "FAIL: tls_gateway_over_udp (see $DIR/tls_gateway_over_udp.*)"; FAILED=$((FAILED+1)); }

# (3) Calls over TLS. In: the UC front end calls over TLS, the gateway (sipp,
# UDP) answers. Out: the front end calls over UDP (sipp) a number routed to
# the TLS trunk; the gateway is python over TLS, requires signaling's client
# certificate (sig.test) and checks Via, Contact and Request-URI say TLS
# and the INVITE left from the trunk's own socket (15161).
sipp_run tls_call_in-uas 127.0.0.21 15070 uas_answer.xml & UAS=$!
sleep 0.5
check tls_call_in $PEER call 127.0.0.1 15061 --bind 127.0.0.11 $TLS --number 5551000001
if wait $UAS; then echo "PASS: tls_call_in reached the UDP gateway"; PASSED=$((PASSED+1))
else echo "FAIL: tls_call_in: the gateway's sipp failed (see $DIR/tls_call_in-uas.*)"; FAILED=$((FAILED+1)); fi
# The same with a sips: Request-URI: our 200's Contact must be a SIPS URI
# (RFC 3261 12.1.1), and the ACK and BYE sent to it reach the call.
sipp_run tls_call_in_sips-uas 127.0.0.21 15070 uas_answer.xml & UAS=$!
sleep 0.5
check tls_call_in_sips $PEER call 127.0.0.1 15061 --bind 127.0.0.11 $TLS --number 5551000002 --sips
if wait $UAS; then echo "PASS: tls_call_in_sips reached the UDP gateway"; PASSED=$((PASSED+1))
else echo "FAIL: tls_call_in_sips: the gateway's sipp failed (see $DIR/tls_call_in_sips-uas.*)"; FAILED=$((FAILED+1)); fi

# gateway_call NAME ADDRESS PORT VIA_PORT NUMBER [UAS_ARGS...]: the python
# gateway over TLS (certificate gw.test) at ADDRESS:PORT, expecting our
# INVITE from the trunk's VIA_PORT; a sipp caller over UDP dials NUMBER.
gateway_call() {
  local name=$1 address=$2 port=$3 via_port=$4 number=$5 ok=1; shift 5
  rm -f "$DIR/uas.ready"
  $PEER uas --listen "$address" --port "$port" $TLS --cert "$DIR/gw.pem" --key "$DIR/gw.key" \
    --expect-peer sig.test --via-port "$via_port" --ready "$DIR/uas.ready" "$@" \
    >"$DIR/$name-uas.out" 2>&1 & UAS=$!
  for _ in $(seq 50); do [ -e "$DIR/uas.ready" ] && break; sleep 0.1; done
  sipp_run "$name-uac" 127.0.0.11 0 uac_call.xml -inf "$(numbers "$number")" 127.0.0.1:15060 || ok=0
  wait $UAS || ok=0
  if [ $ok = 1 ]; then echo "PASS: $name ($(tail -1 "$DIR/$name-uas.out"))"; PASSED=$((PASSED+1))
  else echo "FAIL: $name"; cat "$DIR/$name-uas.out"; FAILED=$((FAILED+1)); fi
}
gateway_call tls_call_out 127.0.0.22 15071 15161 5552000001

# A gateway that takes sips: URIs (tls.sipsUri): the INVITE's Request-URI,
# To, From and Contact are sips: URIs, and the ACK and BYE reach the
# gateway's sips: Contact.
gateway_call tls_call_sips 127.0.0.23 15073 15164 5554000001 --sips

# The same call when the gateway's certificate (from the trusted CA) names
# another host than gw.test: signaling must drop the connection after the
# handshake without sending the INVITE; closing it fails the request that
# waited for it (TPTAG_SDWN_ERROR), so the caller gets 503 at once with a
# Reason saying the gateway could not be reached.
rm -f "$DIR/uas.ready"
$PEER uas --listen 127.0.0.22 --port 15071 $TLS --cert "$DIR/other.pem" --key "$DIR/other.key" \
  --expect-peer sig.test --via-port 15161 --ready "$DIR/uas.ready" --refused \
  >"$DIR/tls_wrong_name-uas.out" 2>&1 & UAS=$!
for _ in $(seq 50); do [ -e "$DIR/uas.ready" ] && break; sleep 0.1; done
sipp_run tls_wrong_name-uac 127.0.0.11 0 uac_expect_503.xml -inf "$(numbers 5552000002)" 127.0.0.1:15060
uac=$?
grep -q 'Reason: SIP;cause=503;text="cannot reach gwtls' "$DIR/tls_wrong_name-uac.msg" 2>/dev/null || uac=1
if wait $UAS && [ $uac = 0 ]; then
  echo "PASS: tls_wrong_name ($(tail -1 "$DIR/tls_wrong_name-uas.out"); the caller got $(grep -o 'SIP/2.0 [0-9]*' "$DIR/tls_wrong_name-uac.msg" 2>/dev/null | tail -1))"; PASSED=$((PASSED+1))
else echo "FAIL: tls_wrong_name (uac exit $uac)"; cat "$DIR/tls_wrong_name-uas.out"; tail -5 "$DIR/tls_wrong_name-uac.err" 2>/dev/null; FAILED=$((FAILED+1)); fi

# (4) IPv6 loopback: OPTIONS over UDP (sipp) and TLS (python) to the ::1
# listener; a call from the front end to the trunk whose gateway is ::1; and
# a call from that gateway over IPv6 to a UC number.
sipp_run v6_options ::1 0 uac_options.xml '[::1]:15062' &&
  { echo "PASS: v6_options (udp)"; PASSED=$((PASSED+1)); } ||
  { echo "FAIL: v6_options (see $DIR/v6_options.*)"; FAILED=$((FAILED+1)); }
check v6_tls_options $PEER options ::1 15062 --bind ::1 $TLS --expect 200
call v6_call_out 127.0.0.11 127.0.0.1:15060 5553000001 ::1 15072
call v6_call_in ::1 '[::1]:15162' 5550001234 127.0.0.11 15080
# What the IPv6 gateway received: our bracketed address in Via and Contact.
if grep -q '^Via: SIP/2.0/UDP \[::1\]:15162' "$DIR/v6_call_out-uas.msg" &&
   grep -q '^Contact: <sip:\[::1\]:15162>' "$DIR/v6_call_out-uas.msg"; then
  echo "PASS: v6_call_out headers"; PASSED=$((PASSED+1))
else echo "FAIL: v6_call_out headers (see $DIR/v6_call_out-uas.msg)"; FAILED=$((FAILED+1)); fi

# The certificates the TLS sockets present, for the operator: when each
# expires, and a renewed file waiting for a restart (cert-manager rewrites
# the files in place; Sofia-SIP reads them only when a socket is bound).
metrics() {
  /usr/bin/python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$SM/metrics').read().decode())"
}
gauge() {  # NAME SOCKET: the gauge's value as an integer, or nothing
  metrics | awk -v want="$1{socket=\"$2\"}" '$1 == want { printf "%d", $2 }'
}
expires=$(date -d "$(openssl x509 -enddate -noout -in "$DIR/server.pem" | cut -d= -f2)" +%s)
if [ "$(gauge trunkline_signaling_tls_certificate_expiry_timestamp_seconds 127.0.0.1:15061)" = "$expires" ] &&
   [ "$(gauge trunkline_signaling_tls_certificate_expiry_timestamp_seconds '[::1]:15062')" = "$expires" ] &&
   [ "$(gauge trunkline_signaling_tls_certificate_renewed 127.0.0.1:15061)" = 0 ]; then
  echo "PASS: certificate_expiry (each TLS socket's notAfter, $expires)"; PASSED=$((PASSED+1))
else echo "FAIL: certificate_expiry (want $expires)"; metrics | grep tls_certificate; FAILED=$((FAILED+1)); fi
cert renewed sig.test "DNS:sig.test,IP:127.0.0.1,IP:::1" ca &&
  cat "$DIR/renewed.pem" > "$DIR/server.pem" && cat "$DIR/renewed.key" > "$DIR/server.key"
renewed=""
for _ in $(seq 50); do
  renewed=$(gauge trunkline_signaling_tls_certificate_renewed 127.0.0.1:15061)
  [ "$renewed" = 1 ] && break
  sleep 0.1
done
if [ "$renewed" = 1 ] && grep -q 'renewed TLS certificate is on disk' "$DIR/signaling.log"; then
  echo "PASS: certificate_renewed (reported, and logged, within a check period)"; PASSED=$((PASSED+1))
else echo "FAIL: certificate_renewed ($renewed)"; metrics | grep tls_certificate; FAILED=$((FAILED+1)); fi

if ! kill -0 "${PIDS[1]}" 2>/dev/null; then
  echo "FAIL: signaling died"; FAILED=$((FAILED+1))
fi

# A certificate file that is not there stops start-up, naming the file (on
# the same ports: the signaling above stops first).
kill "${PIDS[1]}"; wait "${PIDS[1]}" 2>/dev/null
sed "s|$DIR/server.pem|$DIR/missing.pem|" "$DIR/topology.yaml" > "$DIR/missing.yaml"
timeout 20 "$SIGNALING" --topology="$DIR/missing.yaml" --grpc_address=127.0.0.1:$(free_port) \
  --admin_address=127.0.0.1:$(free_port) --metrics_address=127.0.0.1:$(free_port) \
  --routing=127.0.0.1:$RG --media= 2>"$DIR/missing.log"
rc=$?
if [ $rc != 0 ] && [ $rc != 124 ] &&
   grep -q "cannot read tls.certificateFile $DIR/missing.pem: No such file" "$DIR/missing.log"; then
  echo "PASS: missing_certificate (exit $rc, the file named)"; PASSED=$((PASSED+1))
else echo "FAIL: missing_certificate (exit $rc)"; cat "$DIR/missing.log"; FAILED=$((FAILED+1)); fi

echo "passed $PASSED, failed $FAILED"
[ $FAILED = 0 ]
