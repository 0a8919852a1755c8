#!/usr/bin/python3
"""Generates the Helm chart's values.schema.json from the topology proto.

The chart's `.Values.topology` is a Topology message written in the proto's
JSON form, so its JSON Schema is derived from the .proto itself and cannot
drift from it. protoc compiles the .proto into a FileDescriptorSet (with the
comments, which become descriptions); this script decodes that binary with
the standard library alone (a few dozen lines of protobuf wire format) and
writes:

  - one definition per message reachable from the root message: an object
    with additionalProperties false, the fields under their JSON names;
  - one definition per enum: a string, the full value name (SRTP_MODE_REQUIRED)
    or the short one in lower case (required, not_supported) or with hyphens
    (not-supported); the zero value (…_UNSPECIFIED) is left out, since writing
    it means the same as leaving the field out;
  - integers with their range (uint32: 0 to 4294967295), booleans, strings,
    repeated fields as arrays.

The chart's own values (images, replicas, probes, ...) are described by hand
in tools/deploy/values.schema.in.json; the output is that file with
`properties.topology` pointing at the generated Topology definition.

  tools/deploy/proto_to_json_schema.py                 # rewrite the chart's schema
  tools/deploy/proto_to_json_schema.py --check         # exit 1 (with a diff) if stale
  tools/deploy/proto_to_json_schema.py --out FILE      # write elsewhere ("-": stdout)
"""

import argparse
import difflib
import json
import os
import re
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_PROTO = "trunkline/v1/topology.proto"
DEFAULT_ROOT = "trunkline.v1.Topology"
DEFAULT_BASE = os.path.join(REPO, "tools", "deploy", "values.schema.in.json")
DEFAULT_OUT = os.path.join(REPO, "charts", "trunkline", "values.schema.json")

# --- protobuf wire format ---------------------------------------------------


def _varint(buf, pos):
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(buf):
    """Yields (field number, wire type, value) for one encoded message."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError("unsupported wire type %d" % wire)
        yield number, wire, value


def _decode(buf, spec):
    """Decodes `buf` by `spec`: {number: (name, kind, repeated)} where kind is
    "int", "str", "packed" or a nested spec (dict)."""
    out = {name: [] if rep else None for name, _, rep in spec.values()}
    for number, wire, value in _fields(buf):
        if number not in spec:
            continue
        name, kind, repeated = spec[number]
        if kind == "str":
            value = bytes(value).decode("utf-8")
        elif kind == "packed":
            items = []
            if wire == 2:
                pos = 0
                while pos < len(value):
                    item, pos = _varint(value, pos)
                    items.append(item)
            else:
                items.append(value)
            out[name].extend(items)
            continue
        elif isinstance(kind, dict):
            value = _decode(value, kind)
        if repeated:
            out[name].append(value)
        else:
            out[name] = value
    return out


# The parts of google/protobuf/descriptor.proto this script reads.
ENUM_VALUE = {1: ("name", "str", False), 2: ("number", "int", False)}
ENUM = {1: ("name", "str", False), 2: ("value", ENUM_VALUE, True)}
FIELD = {
    1: ("name", "str", False),
    3: ("number", "int", False),
    4: ("label", "int", False),
    5: ("type", "int", False),
    6: ("type_name", "str", False),
    10: ("json_name", "str", False),
    17: ("proto3_optional", "int", False),
}
MESSAGE = {1: ("name", "str", False), 2: ("field", FIELD, True), 4: ("enum_type", ENUM, True)}
MESSAGE[3] = ("nested_type", MESSAGE, True)
LOCATION = {
    1: ("path", "packed", True),
    3: ("leading_comments", "str", False),
    4: ("trailing_comments", "str", False),
}
SOURCE_CODE_INFO = {1: ("location", LOCATION, True)}
FILE = {
    1: ("name", "str", False),
    2: ("package", "str", False),
    4: ("message_type", MESSAGE, True),
    5: ("enum_type", ENUM, True),
    9: ("source_code_info", SOURCE_CODE_INFO, False),
}
FILE_SET = {1: ("file", FILE, True)}

# FieldDescriptorProto.Type and .Label values.
TYPE_DOUBLE, TYPE_FLOAT, TYPE_INT64, TYPE_UINT64, TYPE_INT32 = 1, 2, 3, 4, 5
TYPE_FIXED64, TYPE_FIXED32, TYPE_BOOL, TYPE_STRING, TYPE_GROUP = 6, 7, 8, 9, 10
TYPE_MESSAGE, TYPE_BYTES, TYPE_UINT32, TYPE_ENUM, TYPE_SFIXED32 = 11, 12, 13, 14, 15
TYPE_SFIXED64, TYPE_SINT32, TYPE_SINT64 = 16, 17, 18
LABEL_REPEATED = 3

# Path tags in SourceCodeInfo (field numbers in descriptor.proto).
FILE_MESSAGE, FILE_ENUM = 4, 5
MESSAGE_FIELD, MESSAGE_NESTED, MESSAGE_ENUM = 2, 3, 4
ENUM_VALUE_TAG = 2

# --- descriptors to JSON Schema ---------------------------------------------


def _comment(location):
    if not location:
        return ""
    parts = []
    for text in (location.get("leading_comments"), location.get("trailing_comments")):
        if not text:
            continue
        lines = [line[1:] if line.startswith(" ") else line for line in text.strip("\n").split("\n")]
        parts.append("\n".join(lines).strip())
    return "\n".join(p for p in parts if p)


def _enum_prefix(enum_name):
    """SrtpMode -> SRTP_MODE_, as the topology loader computes it."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", enum_name).upper() + "_"


class Registry:
    def __init__(self, file_set):
        self.messages = {}  # full name -> (descriptor, path, file)
        self.enums = {}
        for f in file_set["file"]:
            comments = {}
            if f["source_code_info"]:
                for loc in f["source_code_info"]["location"]:
                    comments[tuple(loc["path"])] = loc
            scope = "." + f["package"] if f["package"] else ""
            for i, m in enumerate(f["message_type"]):
                self._add_message(m, scope, (FILE_MESSAGE, i), comments)
            for i, e in enumerate(f["enum_type"]):
                self.enums[scope + "." + e["name"]] = (e, (FILE_ENUM, i), comments)

    def _add_message(self, m, scope, path, comments):
        name = scope + "." + m["name"]
        self.messages[name] = (m, path, comments)
        for i, nested in enumerate(m["nested_type"]):
            self._add_message(nested, name, path + (MESSAGE_NESTED, i), comments)
        for i, e in enumerate(m["enum_type"]):
            self.enums[name + "." + e["name"]] = (e, path + (MESSAGE_ENUM, i), comments)


def _scalar_schema(field):
    t = field["type"]
    if t == TYPE_STRING:
        return {"type": "string"}
    if t == TYPE_BYTES:
        return {"type": "string", "contentEncoding": "base64"}
    if t == TYPE_BOOL:
        return {"type": "boolean"}
    if t in (TYPE_UINT32, TYPE_FIXED32):
        return {"type": "integer", "minimum": 0, "maximum": 2**32 - 1}
    if t in (TYPE_INT32, TYPE_SINT32, TYPE_SFIXED32):
        return {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1}
    if t in (TYPE_UINT64, TYPE_FIXED64):
        return {"type": "integer", "minimum": 0, "maximum": 2**64 - 1}
    if t in (TYPE_INT64, TYPE_SINT64, TYPE_SFIXED64):
        return {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1}
    if t in (TYPE_DOUBLE, TYPE_FLOAT):
        return {"type": "number"}
    raise ValueError("field %s: unsupported type %d" % (field["name"], t))


def build_definitions(registry, root):
    definitions = {}
    pending = ["." + root]
    while pending:
        full = pending.pop()
        key = full.lstrip(".")
        if key in definitions:
            continue
        if full in registry.enums:
            enum, path, comments = registry.enums[full]
            prefix = _enum_prefix(enum["name"])
            names = []
            for value in enum["value"]:
                if value["number"] == 0:
                    continue
                short = value["name"][len(prefix):] if value["name"].startswith(prefix) else value["name"]
                for spelling in (value["name"], short.lower(), short.lower().replace("_", "-")):
                    if spelling not in names:
                        names.append(spelling)
            schema = {"type": "string", "enum": names}
            text = _comment(comments.get(path))
            if text:
                schema = {"description": text, **schema}
            definitions[key] = schema
            continue
        message, path, comments = registry.messages[full]
        properties = {}
        for i, field in enumerate(message["field"]):
            if field["type"] in (TYPE_MESSAGE, TYPE_ENUM):
                pending.append(field["type_name"])
                item = {"$ref": "#/definitions/" + field["type_name"].lstrip(".")}
            else:
                item = _scalar_schema(field)
            if field["label"] == LABEL_REPEATED:
                item = {"type": "array", "items": item}
            text = _comment(comments.get(path + (MESSAGE_FIELD, i)))
            if text:
                # Beside a $ref, draft-07 validators ignore every other keyword,
                # so a description there is for people and editors only.
                item = {"description": text, **item}
            json_name = field["json_name"] or re.sub(r"_([a-z0-9])", lambda g: g.group(1).upper(), field["name"])
            properties[json_name] = item
        schema = {"type": "object", "additionalProperties": False, "properties": properties}
        text = _comment(comments.get(path))
        if text:
            schema = {"description": text, **schema}
        definitions[key] = schema
    return dict(sorted(definitions.items()))


def generate(protoc, proto_root, proto, root, base_path):
    with tempfile.TemporaryDirectory() as tmp:
        descriptor_set = os.path.join(tmp, "descriptor.pb")
        subprocess.run(
            [protoc, "--proto_path=" + proto_root, "--include_source_info", "--include_imports",
             "--descriptor_set_out=" + descriptor_set, os.path.join(proto_root, proto)],
            check=True)
        with open(descriptor_set, "rb") as f:
            file_set = _decode(f.read(), FILE_SET)
    registry = Registry(file_set)
    if "." + root not in registry.messages:
        raise SystemExit("proto_to_json_schema: no message %s in %s" % (root, proto))
    with open(base_path) as f:
        schema = json.load(f)
    definitions = schema.setdefault("definitions", {})
    for name, definition in build_definitions(registry, root).items():
        if name in definitions:
            raise SystemExit("proto_to_json_schema: %s defines %s already" % (base_path, name))
        definitions[name] = definition
    schema["properties"]["topology"] = {
        "description": "The topology in the schema of %s (message %s), JSON field names."
                       % (os.path.join("proto", proto), root.split(".")[-1]),
        "$ref": "#/definitions/" + root,
    }
    schema["$comment"] = ("Generated by tools/deploy/proto_to_json_schema.py from proto/%s and "
                          "tools/deploy/values.schema.in.json: edit those, then run the script." % proto)
    schema = {"$schema": schema.pop("$schema"), "$comment": schema.pop("$comment"), **schema}
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--protoc", default="protoc")
    parser.add_argument("--proto-root", default=os.path.join(REPO, "proto"))
    parser.add_argument("--proto", default=DEFAULT_PROTO)
    parser.add_argument("--root", default=DEFAULT_ROOT, help="root message (full name)")
    parser.add_argument("--base", default=DEFAULT_BASE, help="hand-written schema of the other values")
    parser.add_argument("--out", default=DEFAULT_OUT, help='output file, "-" for stdout')
    parser.add_argument("--check", action="store_true",
                        help="compare with --out instead of writing; exit 1 with a diff if it differs")
    args = parser.parse_args()

    text = generate(args.protoc, args.proto_root, args.proto, args.root, args.base)
    if args.check:
        try:
            with open(args.out) as f:
                current = f.read()
        except FileNotFoundError:
            current = ""
        if current == text:
            print("%s is up to date with proto/%s" % (os.path.relpath(args.out), args.proto))
            return 0
        sys.stdout.writelines(difflib.unified_diff(
            current.splitlines(True), text.splitlines(True),
            fromfile=os.path.relpath(args.out) + " (committed)", tofile="generated from the proto"))
        print("\n%s is stale: run tools/deploy/proto_to_json_schema.py and commit the result"
              % os.path.relpath(args.out), file=sys.stderr)
        return 1
    if args.out == "-":
        sys.stdout.write(text)
    else:
        with open(args.out, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
