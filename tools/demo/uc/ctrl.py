#!/usr/bin/python3
"""Sends one command to baresip's ctrl_tcp (netstring JSON) and prints the
events and the response it gets within a few seconds.

  ctrl.py HOST:PORT COMMAND [PARAMS] [--wait SECONDS]
"""
import json
import socket
import sys
import time


def netstring(data: bytes) -> bytes:
    return str(len(data)).encode() + b":" + data + b","


def read_netstrings(sock, seconds):
    sock.settimeout(0.2)
    buffer = b""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            chunk = sock.recv(65536)
            if not chunk:
                break
            buffer += chunk
        except socket.timeout:
            pass
        while b":" in buffer:
            length, rest = buffer.split(b":", 1)
            if not length.isdigit() or len(rest) < int(length) + 1:
                break
            yield json.loads(rest[: int(length)])
            buffer = rest[int(length) + 1:]


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    command = sys.argv[2]
    params = sys.argv[3] if len(sys.argv) > 3 and not sys.argv[3].startswith("--") else ""
    wait = float(sys.argv[sys.argv.index("--wait") + 1]) if "--wait" in sys.argv else 2.0
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(netstring(json.dumps(
            {"command": command, "params": params, "token": "demo"}).encode()))
        for message in read_netstrings(sock, wait):
            print(json.dumps(message))


if __name__ == "__main__":
    main()
