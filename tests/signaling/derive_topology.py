#!/usr/bin/python3
"""Derives the e2e topologies from the example: OPTIONS keepalive and ITSP
registration off on every trunk configuration (sipp peers only live for one
case, and an OPTIONS or a REGISTER would be an unexpected message for them),
except keepalive on those named with --keepalive NAME=INTERVAL/THRESHOLD and
registration on those named with --register NAME, any field of a trunk
configuration set with --set NAME.FIELD=VALUE (VALUE in YAML), and the UC
side's next hops probed with --uc-keepalive INTERVAL/THRESHOLD.

  derive_topology.py IN OUT [--keepalive pstn-dub=5/1 ...] [--register itsp]
                            [--set pstn-dub.fastFailoverSeconds=3 ...]
                            [--uc-keepalive 5/1]
"""
import sys

import yaml

src, dst = sys.argv[1], sys.argv[2]
keepalive = {}
register = set()
overrides = []
uc_keepalive = None
args = sys.argv[3:]
while args:
    if args[0] == "--register" and len(args) >= 2:
        register.add(args[1])
        args = args[2:]
        continue
    if args[0] == "--uc-keepalive" and len(args) >= 2:
        interval, threshold = args[1].split("/")
        uc_keepalive = {"enabled": True, "intervalSeconds": int(interval),
                        "downThreshold": int(threshold)}
        args = args[2:]
        continue
    if args[0] == "--set" and len(args) >= 2:
        target, value = args[1].split("=", 1)
        name, field = target.split(".", 1)
        overrides.append((name, field, yaml.safe_load(value)))
        args = args[2:]
        continue
    if args[0] != "--keepalive" or len(args) < 2:
        sys.exit("usage: derive_topology.py IN OUT [--keepalive NAME=I/T] "
                 "[--register NAME] [--set NAME.FIELD=VALUE] [--uc-keepalive I/T]")
    name, spec = args[1].split("=")
    interval, threshold = spec.split("/")
    keepalive[name] = {"enabled": True, "intervalSeconds": int(interval),
                       "downThreshold": int(threshold)}
    args = args[2:]
with open(src) as f:
    topology = yaml.safe_load(f)
for config in topology.get("trunkConfigurations", []):
    config["keepalive"] = keepalive.get(config["name"], {"enabled": False})
    if "registration" in config and config["name"] not in register:
        config["registration"]["enabled"] = False
names = {c["name"]: c for c in topology.get("trunkConfigurations", [])}
for name, field, value in overrides:
    if name not in names:
        sys.exit(f"derive_topology.py: no trunk configuration {name}")
    names[name][field] = value
if uc_keepalive:
    topology.setdefault("ucSide", {})["keepalive"] = uc_keepalive
with open(dst, "w") as f:
    yaml.safe_dump(topology, f, sort_keys=False)
