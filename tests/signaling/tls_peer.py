#!/usr/bin/env python3
"""A SIP peer over real TLS for tests/signaling/tls_e2e.sh (python3's ssl).

  tls_peer.py options HOST PORT --bind ADDR --ca CA [--cert PEM --key KEY]
      --expect CODE|handshake-failure
  tls_peer.py call HOST PORT --bind ADDR --ca CA --number N
  tls_peer.py uas --listen ADDR --port PORT --ca CA --cert PEM --key KEY
      --expect-peer NAME --via-port PORT --ready FILE

`options` sends one OPTIONS and checks the final response (or that the TLS
handshake or the first read fails: a refused client certificate).
`call` places a call as a UC front end: INVITE, 100/18x/200 with our Contact
on TLS, ACK, BYE and its 200. `uas` plays a TLS gateway that requires a client
certificate: it answers one INVITE, takes the ACK and the BYE. Every check
that fails exits 1 with the reason; every wait is bounded.
"""
import argparse
import re
import socket
import ssl
import sys
import time

TIMEOUT = 8


def fail(msg):
    print(f'FAIL: {msg}', file=sys.stderr)
    sys.exit(1)


def host_of(addr):
    return f'[{addr}]' if ':' in addr else addr


def family(addr):
    return socket.AF_INET6 if ':' in addr else socket.AF_INET


class Stream:
    """SIP messages over one TLS connection (RFC 3261 18.3 framing)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b''

    def send(self, text):
        self.sock.sendall(text.replace('\n', '\r\n').encode())

    def recv(self, deadline=TIMEOUT):
        end = time.time() + deadline
        while True:
            head, sep, rest = self.buf.partition(b'\r\n\r\n')
            if sep:
                m = re.search(rb'(?im)^(?:content-length|l)\s*:\s*(\d+)', head)
                n = int(m.group(1)) if m else 0
                if len(rest) >= n:
                    self.buf = rest[n:]
                    return (head + b'\r\n\r\n' + rest[:n]).decode(errors='replace')
            if time.time() > end:
                fail(f'no complete SIP message within {deadline}s')
            self.sock.settimeout(max(0.1, end - time.time()))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                raise ConnectionError('connection closed')
            self.buf += data


def status(msg):
    m = re.match(r'SIP/2\.0 (\d{3})', msg)
    return int(m.group(1)) if m else 0


def header(msg, name):
    m = re.search(rf'(?im)^{name}\s*:\s*(.*)$', msg)
    return m.group(1).strip() if m else ''


def client_context(args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(args.ca)
    # We reach signaling by address; its certificate names the address too,
    # but the test does not depend on it.
    ctx.check_hostname = False
    if args.cert:
        ctx.load_cert_chain(args.cert, args.key)
    return ctx


def connect(args):
    raw = socket.socket(family(args.host))
    raw.settimeout(TIMEOUT)
    raw.bind((args.bind, 0))
    raw.connect((args.host, args.port))
    return client_context(args).wrap_socket(raw)


def request(method, ruri, local, lport, call_id, cseq, to_tag='', extra='',
            body=''):
    to = f'<{ruri}>' + (f';tag={to_tag}' if to_tag else '')
    ctype = 'Content-Type: application/sdp\n' if body else ''
    return (f'{method} {ruri} SIP/2.0\n'
            f'Via: SIP/2.0/TLS {host_of(local)}:{lport};branch=z9hG4bK{call_id}{cseq}{method}\n'
            f'Max-Forwards: 70\n'
            f'From: <sip:+15550001234@contoso.example>;tag=fe{call_id}\n'
            f'To: {to}\n'
            f'Call-ID: {call_id}@tls-peer\n'
            f'CSeq: {cseq} {method}\n'
            f'Contact: <sip:fe@{host_of(local)}:{lport};transport=tls>\n'
            f'{extra}{ctype}Content-Length: {len(body.replace(chr(10), chr(13) + chr(10)))}\n\n{body}')


def sdp(addr):
    ip = 'IP6' if ':' in addr else 'IP4'
    return (f'v=0\no=peer 1 1 IN {ip} {addr}\ns=-\nc=IN {ip} {addr}\nt=0 0\n'
            f'm=audio 40000 RTP/AVP 0\na=rtpmap:0 PCMU/8000\n')


def cmd_options(args):
    try:
        tls = connect(args)
        s = Stream(tls)
        local, lport = tls.getsockname()[:2]
        ruri = f'sip:{host_of(args.host)}:{args.port};transport=tls'
        s.send(request('OPTIONS', ruri, local, lport, f'o{lport}', 1))
        msg = s.recv()
    except (ssl.SSLError, ConnectionError, OSError) as e:
        if args.expect == 'handshake-failure':
            print(f'refused as expected: {e}')
            return
        fail(f'TLS or connection error: {e}')
    if args.expect == 'handshake-failure':
        fail(f'expected the TLS session to be refused, got: {msg.splitlines()[0]}')
    if status(msg) != int(args.expect):
        fail(f'expected {args.expect}, got: {msg.splitlines()[0]}')
    print(f'{status(msg)} over {tls.version()}')


def cmd_call(args):
    tls = connect(args)
    s = Stream(tls)
    local, lport = tls.getsockname()[:2]
    cid = f'c{lport}'
    if args.sips:
        ruri = f'sips:{args.number}@{host_of(args.host)}:{args.port}'
    else:
        ruri = f'sip:{args.number}@{host_of(args.host)}:{args.port};transport=tls'
    s.send(request('INVITE', ruri, local, lport, cid, 1, body=sdp(local)))
    seen = []
    while True:
        msg = s.recv()
        code = status(msg)
        seen.append(code)
        if code >= 200:
            break
    if code != 200:
        fail(f'INVITE got {code} (responses {seen})')
    contact_value = header(msg, 'Contact') or header(msg, 'm')
    if args.sips:
        # RFC 3261 12.1.1: a dialog asked for with a SIPS URI gets a SIPS
        # Contact.
        if not re.search(r'<sips:', contact_value, re.I):
            fail(f'200 Contact is not a SIPS URI: {contact_value}')
    elif not re.search(r';transport=tls', contact_value, re.I):
        fail(f'200 Contact is not on TLS: {contact_value}')
    if not header(msg, 'Via').upper().startswith('SIP/2.0/TLS'):
        fail(f'200 Via is not ours: {header(msg, "Via")}')
    to_tag = re.search(r'tag=([^;>\s]+)', header(msg, 'To')).group(1)
    contact = re.search(r'<([^>]+)>', header(msg, 'Contact')).group(1)
    s.send(request('ACK', contact, local, lport, cid, 1, to_tag))
    time.sleep(0.3)
    s.send(request('BYE', contact, local, lport, cid, 2, to_tag))
    msg = s.recv()
    if status(msg) != 200:
        fail(f'BYE got: {msg.splitlines()[0]}')
    print(f'call over {tls.version()}: responses {seen}, Contact {contact}, BYE 200')


def cmd_uas(args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    ctx.load_verify_locations(args.ca)
    ctx.verify_mode = ssl.CERT_REQUIRED  # mutual TLS: signaling must present one
    srv = socket.socket(family(args.listen))
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((args.listen, args.port))
    srv.listen(4)
    srv.settimeout(args.wait)
    open(args.ready, 'w').close()
    try:
        raw, peer = srv.accept()
    except socket.timeout:
        fail(f'no TLS connection within {args.wait}s')
    raw.settimeout(TIMEOUT)
    if args.refused:
        # Our certificate does not name what signaling meant to reach: it
        # must end the connection after the handshake, sending nothing.
        try:
            tls = ctx.wrap_socket(raw, server_side=True)
            msg = Stream(tls).recv()
        except (ssl.SSLError, ConnectionError, OSError) as e:
            print(f'signaling connected and left without a request: {e}')
            return
        fail(f'signaling sent a request to the wrong name: {msg.splitlines()[0]}')
    try:
        tls = ctx.wrap_socket(raw, server_side=True)
    except ssl.SSLError as e:
        fail(f'handshake with signaling failed: {e}')
    cert = tls.getpeercert()
    names = [v for k, v in cert.get('subjectAltName', ())] + [
        v for rdn in cert.get('subject', ()) for k, v in rdn if k == 'commonName']
    if args.expect_peer not in names:
        fail(f'signaling presented {names}, expected {args.expect_peer}')
    s = Stream(tls)
    inv = s.recv()
    if not inv.startswith('INVITE '):
        fail(f'expected INVITE, got {inv.splitlines()[0]}')
    if args.sips:
        # A gateway that takes sips: URIs: the scheme says TLS by itself.
        uris = {
            'Request-URI': inv.splitlines()[0].split(' ')[1],
            'To': header(inv, 'To'), 'From': header(inv, 'From'),
            'Contact': header(inv, 'Contact'),
        }
        tls_checks = {f'{what} is sips:': re.search(r'(^|<)sips:', uri) is not None
                      for what, uri in uris.items()}
    else:
        tls_checks = {
            'Contact on TLS': ';transport=tls' in header(inv, 'Contact').lower(),
            'Request-URI on TLS': ';transport=tls' in inv.splitlines()[0].lower(),
        }
    checks = {
        'Via on TLS': header(inv, 'Via').upper().startswith('SIP/2.0/TLS'),
        **tls_checks,
        f'Via from the trunk\'s port {args.via_port}':
            f':{args.via_port};' in header(inv, 'Via') + ';',
    }
    for what, ok in checks.items():
        if not ok:
            fail(f'{what}: {inv.splitlines()[0]} / Via {header(inv, "Via")} / Contact {header(inv, "Contact")}')
    local, lport = tls.getsockname()[:2]
    base = '\n'.join(f'{h}: {header(inv, h)}' for h in ('Via', 'From'))
    to = header(inv, 'To') + ';tag=gw1'
    common = (f'{base}\nTo: {to}\nCall-ID: {header(inv, "Call-ID")}\n'
              f'CSeq: {header(inv, "CSeq")}\n'
              + (f'Contact: <sips:gw@{host_of(local)}:{args.port}>\n' if args.sips else
                 f'Contact: <sip:gw@{host_of(local)}:{args.port};transport=tls>\n'))
    s.send(f'SIP/2.0 100 Trying\n{common}Content-Length: 0\n\n')
    body = sdp(local)
    s.send(f'SIP/2.0 200 OK\n{common}Content-Type: application/sdp\n'
           f'Content-Length: {len(body.replace(chr(10), chr(13) + chr(10)))}\n\n{body}')
    got = []
    while 'BYE' not in got:
        msg = s.recv(15)
        method = msg.split(' ', 1)[0]
        got.append(method)
        if method == 'BYE':
            s.send(f'SIP/2.0 200 OK\nVia: {header(msg, "Via")}\nFrom: {header(msg, "From")}\n'
                   f'To: {header(msg, "To")}\nCall-ID: {header(msg, "Call-ID")}\n'
                   f'CSeq: {header(msg, "CSeq")}\nContent-Length: 0\n\n')
    if got[0] != 'ACK':
        fail(f'expected ACK then BYE, got {got}')
    time.sleep(0.3)
    print(f'gateway over {tls.version()}: signaling presented {args.expect_peer}; got {got}')


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest='cmd', required=True)
    for name in ('options', 'call'):
        c = sub.add_parser(name)
        c.add_argument('host')
        c.add_argument('port', type=int)
        c.add_argument('--bind', required=True)
        c.add_argument('--ca', required=True)
        c.add_argument('--cert')
        c.add_argument('--key')
        if name == 'options':
            c.add_argument('--expect', required=True)
        else:
            c.add_argument('--number', required=True)
            c.add_argument('--sips', action='store_true',
                           help='a sips: Request-URI; expect a sips: Contact')
    u = sub.add_parser('uas')
    u.add_argument('--listen', required=True)
    u.add_argument('--port', type=int, required=True)
    u.add_argument('--ca', required=True)
    u.add_argument('--cert', required=True)
    u.add_argument('--key', required=True)
    u.add_argument('--expect-peer', required=True)
    u.add_argument('--ready', required=True)
    u.add_argument('--via-port', type=int, required=True)
    u.add_argument('--wait', type=float, default=20)
    u.add_argument('--sips', action='store_true',
                   help='expect sips: URIs (and answer with a sips: Contact)')
    u.add_argument('--refused', action='store_true',
                   help='expect signaling to drop the connection unused')
    args = p.parse_args()
    {'options': cmd_options, 'call': cmd_call, 'uas': cmd_uas}[args.cmd](args)


if __name__ == '__main__':
    main()
