#!/usr/bin/python3
"""A gateway that does not answer: binds UDP ADDRESS:PORT, writes the first
line of every datagram it receives to LOG, never replies. Exits after
SECONDS (bounded; the e2e also stops it by PID)."""
import socket
import sys
import time

address, port, log, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((address, port))
deadline = time.time() + seconds
with open(log, "a", buffering=1) as out:
    out.write("listening\n")
    while time.time() < deadline:
        s.settimeout(max(0.1, deadline - time.time()))
        try:
            data, _ = s.recvfrom(65535)
        except socket.timeout:
            break
        out.write(data.split(b"\r\n", 1)[0].decode("latin-1") + "\n")
