#!/usr/bin/python3
"""A gateway that does not answer: binds UDP ADDRESS:PORT, writes the first
line of every datagram it receives to LOG, never replies. Exits after
SECONDS (bounded; the e2e also stops it by PID).

After SIGUSR1 it is a gateway back in service that takes no calls: OPTIONS
get 200 and INVITEs 503 (a failover code), so a keepalive sees it up and a
call that reaches it moves on."""
import signal
import socket
import sys
import time

address, port, log, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
answering = False


def start_answering(*_):
    global answering
    answering = True


signal.signal(signal.SIGUSR1, start_answering)


def response(request, code, phrase):
    """A response to REQUEST (bytes): its Via, From, To (with our tag),
    Call-ID and CSeq copied, as RFC 3261 8.2.6 has them."""
    head = request.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    lines = [f"SIP/2.0 {code} {phrase}"]
    for line in head[1:]:
        name = line.split(":", 1)[0].strip().lower()
        if name in ("via", "v", "from", "f", "call-id", "i", "cseq"):
            lines.append(line)
        elif name in ("to", "t"):
            lines.append(line if ";tag=" in line else line + ";tag=peer1")
    lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((address, port))
deadline = time.time() + seconds
with open(log, "a", buffering=1) as out:
    out.write("listening\n")
    while time.time() < deadline:
        s.settimeout(max(0.1, min(0.5, deadline - time.time())))
        try:
            data, peer = s.recvfrom(65535)
        except socket.timeout:
            continue
        first = data.split(b"\r\n", 1)[0].decode("latin-1")
        out.write(first + "\n")
        if not answering:
            continue
        if first.startswith("OPTIONS "):
            s.sendto(response(data, 200, "OK"), peer)
        elif first.startswith("INVITE "):
            s.sendto(response(data, 503, "Service Unavailable"), peer)
