#!/usr/bin/env bash
# charts/trunkline/values.schema.json is what tools/deploy/proto_to_json_schema.py
# generates now from proto/trunkline/v1/topology.proto and
# tools/deploy/values.schema.in.json: a proto change without regenerating
# the schema fails here, with the diff.
#
#   tests/deploy/schema_up_to_date.sh [PROTOC]
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
PROTOC=${1:-protoc}
command -v "$PROTOC" > /dev/null || { echo "FAIL: protoc ($PROTOC) not found (Debian: protobuf-compiler)" >&2; exit 1; }
[ -x /usr/bin/python3 ] || { echo "FAIL: /usr/bin/python3 not found (Debian: python3)" >&2; exit 1; }
/usr/bin/python3 "$REPO/tools/deploy/proto_to_json_schema.py" --protoc "$PROTOC" --check ||
  { echo "FAIL: charts/trunkline/values.schema.json is stale: run tools/deploy/proto_to_json_schema.py" >&2; exit 1; }

# The generator itself: every field of every message reachable from Topology
# is in the schema under its JSON name, and nothing else is.
/usr/bin/python3 - "$REPO" "$PROTOC" << 'EOF'
import json, os, re, subprocess, sys, tempfile
repo, protoc = sys.argv[1], sys.argv[2]
schema = json.load(open(os.path.join(repo, "charts/trunkline/values.schema.json")))
proto = open(os.path.join(repo, "proto/trunkline/v1/topology.proto")).read()
proto = re.sub(r"//[^\n]*", "", proto)
problems = []
messages = dict(re.findall(r"message\s+(\w+)\s*\{([^{}]*)\}", proto))
enums = dict(re.findall(r"enum\s+(\w+)\s*\{([^{}]*)\}", proto))
camel = lambda s: re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), s)
for name, body in messages.items():
    definition = schema["definitions"].get("trunkline.v1." + name)
    if definition is None:
        problems.append("message %s has no definition" % name)
        continue
    fields = [camel(f) for f in re.findall(r"(?:^|;|\n)\s*(?:repeated\s+|optional\s+)?[\w.]+\s+(\w+)\s*=\s*\d+", body)]
    if sorted(fields) != sorted(definition["properties"]):
        problems.append("message %s: proto fields %s, schema properties %s" % (name, sorted(fields), sorted(definition["properties"])))
    if definition.get("additionalProperties") is not False:
        problems.append("message %s: additionalProperties is not false" % name)
for name, body in enums.items():
    definition = schema["definitions"].get("trunkline.v1." + name)
    values = [v for v, n in re.findall(r"(\w+)\s*=\s*(\d+)", body) if n != "0"]
    if definition is None or not set(values) <= set(definition["enum"]):
        problems.append("enum %s: values %s not all accepted" % (name, values))
if problems:
    print("\n".join("FAIL: " + p for p in problems), file=sys.stderr)
    sys.exit(1)
print("schema covers %d messages and %d enums of topology.proto" % (len(messages), len(enums)))
EOF
