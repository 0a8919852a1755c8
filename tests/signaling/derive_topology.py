#!/usr/bin/python3
"""Derives the e2e topologies from the example: OPTIONS keepalive off on every
trunk configuration (sipp peers only live for one case, and an OPTIONS would
be an unexpected message for them), except those named with --keepalive
NAME=INTERVAL/THRESHOLD.

  derive_topology.py IN OUT [--keepalive pstn-dub=5/1 ...]
"""
import sys

import yaml

src, dst = sys.argv[1], sys.argv[2]
keepalive = {}
args = sys.argv[3:]
while args:
    if args[0] != "--keepalive" or len(args) < 2:
        sys.exit("usage: derive_topology.py IN OUT [--keepalive NAME=I/T]")
    name, spec = args[1].split("=")
    interval, threshold = spec.split("/")
    keepalive[name] = {"enabled": True, "intervalSeconds": int(interval),
                       "downThreshold": int(threshold)}
    args = args[2:]
with open(src) as f:
    topology = yaml.safe_load(f)
for config in topology.get("trunkConfigurations", []):
    config["keepalive"] = keepalive.get(config["name"], {"enabled": False})
with open(dst, "w") as f:
    yaml.safe_dump(topology, f, sort_keys=False)
