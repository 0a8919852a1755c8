#!/bin/bash
# A gateway located by DNS SRV (its dnsSrv), end to end on loopback: dnsmasq
# serves the records on 127.0.0.153, and the signaling binary runs in a
# mount namespace of its own whose /etc/resolv.conf names that server (the
# machine's is not touched). sipp plays the UC front end (127.0.0.11) and
# the ITSP's two SBCs, the records' targets: sbc1.itsp.test (127.0.0.51,
# priority 10) and sbc2.itsp.test (127.0.0.52, priority 20). Checks: a call
# out goes to the first target's port from the records with no port in the
# Request-URI; with the first target gone, to the second; calls in from a
# target are trusted, from elsewhere refused; a carrier with no SRV records
# (plain.test) is reached and trusted at its A record (RFC 3263's
# fallback). Every process this script starts is stopped by its PID.
#
#   dns_srv_e2e.sh ROUTING_BIN SIGNALING_BIN SOURCE_DIR
set -u
ROUTING=$1 SIGNALING=$2 SRC=$3
. "$SRC/tests/signaling/e2e_lib.sh"
DNSMASQ=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
[ -x "$DNSMASQ" ] || { fail "dnsmasq not installed (Debian: dnsmasq-base)"; exit 1; }
command -v unshare >/dev/null || { fail "unshare not installed (Debian: util-linux)"; exit 1; }
if [ "$(id -u)" != 0 ]; then
  # A mount namespace needs root (CI and make test run as root).
  echo "SKIP: not root: cannot give signaling a resolv.conf of its own"; exit 77
fi
if ! unshare --mount -- /bin/true 2>/dev/null; then
  # A container without CAP_SYS_ADMIN: no mount namespace to be had.
  echo "SKIP: unshare --mount is not permitted here"; exit 77
fi

# The ITSP's zone: SIP over UDP at two SBCs; the domain's own A record (its
# web site, 127.0.0.60) is not where SIP goes. A second carrier, plain.test,
# has no SRV records, only an A record (127.0.0.61): RFC 3263's fallback.
DNS=127.0.0.153
"$DNSMASQ" --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
  --user=root --listen-address=$DNS --bind-interfaces --port=53 \
  --local=/test/ --no-negcache --log-queries --log-facility="$DIR/dnsmasq.log" \
  --srv-host=_sip._udp.itsp.test,sbc1.itsp.test,5197,10,50 \
  --srv-host=_sip._udp.itsp.test,sbc2.itsp.test,5198,20,50 \
  --host-record=sbc1.itsp.test,127.0.0.51 \
  --host-record=sbc2.itsp.test,127.0.0.52 \
  --host-record=itsp.test,127.0.0.60 \
  --host-record=plain.test,127.0.0.61 &
PIDS+=($!)
printf 'nameserver %s\noptions timeout:1 attempts:1\n' "$DNS" > "$DIR/resolv.conf"

# No OPTIONS keepalive: probes sent before the sipp targets listen would
# fail, and Sofia-SIP then lowers the silent target's priority in its SRV
# cache (RFC 3263 failover remembered), which would reorder the calls below.
cat > "$DIR/topology.yaml" <<'EOF'
sites: [{name: hq}]
pools:
  - name: pool
    site: hq
    listeners: [{name: lan, address: 127.0.0.1}]
gateways:
  - {name: fe, kind: uc_front_end, address: 127.0.0.11}
  - {name: itsp, kind: pstn_gateway, fqdn: itsp.test, dnsSrv: true, site: hq}
  - {name: plain, kind: pstn_gateway, fqdn: plain.test, dnsSrv: true, site: hq}
trunks:
  - {name: itsp-trunk, pool: pool, gateway: itsp, localPort: 5170}
  - {name: plain-trunk, pool: pool, gateway: plain, localPort: 5171}
trunkConfigurations:
  - {name: global, srtpMode: optional, enableBypass: true, keepalive: {enabled: false}}
pstnUsages: [{name: Local}]
voiceRoutes:
  - {name: all, numberPattern: '^\+1\d+$', pstnUsages: [Local], trunks: [{trunk: itsp-trunk}]}
  - {name: uk, numberPattern: '^\+44\d+$', pstnUsages: [Local], trunks: [{trunk: plain-trunk}]}
voicePolicies: [{name: global, pstnUsages: [Local]}]
dialPlans:
  - name: global
    scope: global
    normalizationRules: [{name: e164, pattern: '^\+(\d+)$', translation: '+$1'}]
ucSide:
  nextHops: [{gateway: fe, pool: pool}]
  numberRanges: [{first: '+15550001000', last: '+15550001999'}]
EOF

# Signaling in a mount namespace of its own: unshare and sh exec the
# binary, so the PID `start` keeps is its own; the namespace's mounts are
# private (unshare's default), so the bind mount is seen by signaling alone.
printf '#!/bin/sh\nexec unshare --mount -- /bin/sh -c %s %s %s "$@"\n' \
  "'mount --bind \"\$0\" /etc/resolv.conf && exec \"\$@\"'" \
  "$DIR/resolv.conf" "$SIGNALING" > "$DIR/signaling-with-test-dns"
chmod +x "$DIR/signaling-with-test-dns"
start routing "$ROUTING"
start signaling "$DIR/signaling-with-test-dns" --routing="$ROUTING_API" --media= \
  --gateway_dns_refresh_seconds=2
for _ in $(seq 50); do grep -q 'msg=serving' "$DIR/signaling.log" && break; sleep 0.2; done
if ! grep -q "nameserver $DNS" /etc/resolv.conf 2>/dev/null; then
  pass "the machine's /etc/resolv.conf is untouched"
else
  fail "the machine's /etc/resolv.conf names the test's DNS server"
fi

metric() { curl -s "http://127.0.0.1:$SIGNALING_METRICS/metrics"; }
# Trust comes from the records' targets: wait for both SRV names' addresses.
for _ in $(seq 50); do
  m=$(metric)
  grep -qE '^trunkline_signaling_gateway_fqdn_addresses\{name="_sip._udp.itsp.test"\} 2$' <<<"$m" &&
    grep -qE '^trunkline_signaling_gateway_fqdn_addresses\{name="_sip._udp.plain.test"\} 1$' <<<"$m" && break
  sleep 0.2
done
if metric | grep -qE '^trunkline_signaling_gateway_fqdn_addresses\{name="_sip._udp.itsp.test"\} 2$'; then
  pass "the SRV name resolves to both targets' addresses"
else
  fail "SRV trust: $(metric | grep fqdn_ | tr '\n' ' '); $(grep -i 'fqdn\|resolv' "$DIR/signaling.log" | tail -3)"
fi

if metric | grep -qE '^trunkline_signaling_gateway_fqdn_addresses\{name="_sip._udp.plain.test"\} 1$'; then
  pass "a name without SRV records is trusted from its own A record"
else
  fail "SRV fallback trust: $(metric | grep 'plain' | tr '\n' ' ')"
fi

printf 'SEQUENTIAL\n+15550002000;\n' > "$DIR/out.csv"
printf 'SEQUENTIAL\n+442071234567;\n' > "$DIR/uk.csv"
printf 'SEQUENTIAL\n+15550001500;\n' > "$DIR/in.csv"
# sipp_at NAME IP PORT SCENARIO [ARGS...]: one sipp in the background, its
# PID (timeout's: it passes a TERM on to sipp) in SIPP_PID and in PIDS, so
# that the exit trap stops it if the script ends early.
sipp_at() {
  local name=$1 ip=$2 port=$3 scen=$4; shift 4
  (exec timeout 40 sipp -sf "$SCEN/$scen" -i "$ip" -p "$port" -m 1 -timeout 30s -nostdin \
    -trace_err -error_file "$DIR/$name.err" -trace_msg -message_file "$DIR/$name.msg" "$@" \
    >"$DIR/$name.out" 2>&1) &
  SIPP_PID=$!
  PIDS+=("$SIPP_PID")
}
# finished PID: waits for one of sipp_at's, and forgets it (a PID is not
# signalled once it may belong to another process).
finished() {
  local rc=0 p keep=()
  wait "$1" || rc=$?
  for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  PIDS=("${keep[@]}")
  return $rc
}
# listening IP PORT: waits (bounded) until a sipp has bound IP:PORT/udp.
listening() {
  for _ in $(seq 50); do
    ss -Hlun "src $1:$2" 2>/dev/null | grep -q . && return 0
    sleep 0.1
  done
  return 1
}
# call NAME UAC_IP UAC_PORT UAC_SCENARIO CSV TARGET UAS_IP UAS_PORT UAS_SCENARIO
call() {
  local name=$1 uac_ip=$2 uac_port=$3 uac=$4 csv=$5 target=$6 uas_ip=$7 uas_port=$8 uas=$9
  local ok=1 uas_pid=""
  if [ -n "$uas_ip" ]; then
    sipp_at "$name-uas" "$uas_ip" "$uas_port" "$uas"; uas_pid=$SIPP_PID
    listening "$uas_ip" "$uas_port" || ok=0
  fi
  sipp_at "$name-uac" "$uac_ip" "$uac_port" "$uac" -inf "$DIR/$csv" "$target"
  finished "$SIPP_PID" || ok=0
  if [ -n "$uas_pid" ]; then finished "$uas_pid" || ok=0; fi
  return $((1 - ok))
}

# Out: to the priority-10 target, on the records' port, with no port (and
# the domain) in the Request-URI; the priority-20 target, listening too,
# gets nothing.
sipp_at out_first-idle 127.0.0.52 5198 uas_answer.xml; idle=$SIPP_PID
idle_listening=0
listening 127.0.0.52 5198 && idle_listening=1
first_ok=0
if call out_first 127.0.0.11 5060 uac_call.xml out.csv 127.0.0.1:5060 127.0.0.51 5197 uas_answer.xml &&
   grep -qE '^INVITE sip:\+15550002000@itsp\.test SIP/2\.0' "$DIR/out_first-uas.msg"; then
  pass "a call out goes to the first SRV target, sip:+15550002000@itsp.test"
  first_ok=1
else
  fail "out_first: $(grep -m1 '^INVITE' "$DIR/out_first-uas.msg" 2>/dev/null); see $DIR/out_first-*"
fi
kill "$idle" 2>/dev/null; finished "$idle"
if [ $first_ok = 1 ] && [ $idle_listening = 1 ] && ! grep -q '^INVITE' "$DIR/out_first-idle.msg" 2>/dev/null; then
  pass "the second SRV target, listening, got nothing while the first answered"
else
  fail "the priority-20 target: listening=$idle_listening, first call ok=$first_ok, or it got the INVITE (see $DIR/out_first-idle.msg)"
fi
# The INVITE above reached port 5197, which only the SRV records name; the
# log shows the server answered SRV queries for the name (the trust side's
# and Sofia-SIP's alike).
if grep -q 'query\[SRV\] _sip._udp.itsp.test' "$DIR/dnsmasq.log"; then
  pass "dnsmasq answered SRV queries for _sip._udp.itsp.test"
else
  fail "no SRV query in dnsmasq's log"
fi

# Out, with nothing at the first target: the transaction layer moves on to
# the second (RFC 3263 section 4.3) after the first's timeout or ICMP error.
if call out_second 127.0.0.11 5060 uac_call.xml out.csv 127.0.0.1:5060 127.0.0.52 5198 uas_answer.xml &&
   grep -qE '^INVITE sip:\+15550002000@itsp\.test SIP/2\.0' "$DIR/out_second-uas.msg"; then
  pass "with the first target silent, the call goes to the second"
else
  fail "out_second: see $DIR/out_second-*"
fi

# Out to the carrier without SRV records: its own address, on 5060.
if call out_fallback 127.0.0.11 5060 uac_call.xml uk.csv 127.0.0.1:5060 127.0.0.61 5060 uas_answer.xml &&
   grep -qE '^INVITE sip:\+442071234567@plain\.test SIP/2\.0' "$DIR/out_fallback-uas.msg"; then
  pass "without SRV records the call goes to the name's A record on 5060"
else
  fail "out_fallback: see $DIR/out_fallback-*"
fi

# In: from a target, to a UC number, trusted and routed to the front end.
if call in_trusted 127.0.0.52 5198 uac_call.xml in.csv 127.0.0.1:5170 127.0.0.11 5060 uas_answer.xml; then
  pass "a call in from an SRV target is trusted and reaches the UC side"
else
  fail "in_trusted: see $DIR/in_trusted-*"
fi
# The domain's own address and any other are not the gateway's.
for ip in 127.0.0.60 127.0.0.59; do
  if call "in_refused_$ip" "$ip" 5199 uac_expect_403.xml in.csv 127.0.0.1:5170 "" "" ""; then
    pass "a call in from $ip (not an SRV target) gets 403"
  else
    fail "in_refused from $ip: see $DIR/in_refused_$ip-*"
  fi
done

echo "dns_srv_e2e: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
