#!/usr/bin/env python3
"""Prints the field table of Unity ML-Agents' communicator: every message, field, enum value and rpc reachable
from the gRPC service UnityToExternalProto, one line each, sorted. Wire compatibility is exactly this table
(field numbers, types, labels; names are kept too, as ML-Agents' JSON and our code read them).

Usage (Debian's python3-grpc-tools and python3-protobuf):
  /usr/bin/python3 tools/unity_protocol/proto_table.py PROTO_ROOT [--api-version-from ENVIRONMENT_PY] [--check TABLE]

PROTO_ROOT is the folder that holds mlagents_envs/communicator_objects/*.proto, e.g. ML-Agents'
protobuf-definitions/proto (a checkout of github.com/Unity-Technologies/ml-agents) or our protos/unity.
--api-version-from reads API_VERSION (the communication version the trainer announces) from ML-Agents'
ml-agents-envs/mlagents_envs/environment.py and adds it as a line. --check compares with a committed table and exits 1 listing the differences. The table committed at
tests/Reinforce.Tests/Data/unity/mlagents-communicator-table.txt was produced from ML-Agents' protos and is
what Reinforce.Tests compares our compiled C# descriptors with (UnityProtocolTableTests).
"""
import glob
import os
import subprocess
import sys
import tempfile

from google.protobuf import descriptor_pb2

SERVICE = "communicator_objects.UnityToExternalProto"

TYPES = {v: k[len("TYPE_"):].lower() for k, v in descriptor_pb2.FieldDescriptorProto.Type.items()}


def compile_set(root):
    files = sorted(os.path.relpath(p, root) for p in glob.glob(os.path.join(root, "mlagents_envs", "communicator_objects", "*.proto")))
    if not files:
        sys.exit(f"no .proto files under {root}/mlagents_envs/communicator_objects")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "set.desc")
        cmd = [sys.executable, "-m", "grpc_tools.protoc", f"-I{root}", f"--descriptor_set_out={out}", "--include_imports", *files]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("protoc failed:\n" + r.stdout + r.stderr)
        with open(out, "rb") as f:
            return descriptor_pb2.FileDescriptorSet.FromString(f.read())


def index(file_set):
    messages, enums, services = {}, {}, {}

    def add_message(prefix, m):
        full = f"{prefix}.{m.name}"
        messages[full] = m
        for n in m.nested_type:
            add_message(full, n)
        for e in m.enum_type:
            enums[f"{full}.{e.name}"] = e

    for f in file_set.file:
        for m in f.message_type:
            add_message(f.package, m)
        for e in f.enum_type:
            enums[f"{f.package}.{e.name}"] = e
        for s in f.service:
            services[f"{f.package}.{s.name}"] = s
    return messages, enums, services


def table(file_set):
    messages, enums, services = index(file_set)
    if SERVICE not in services:
        sys.exit(f"service {SERVICE} not found")
    lines, seen, todo = [], set(), []
    for method in services[SERVICE].method:
        lines.append(f"rpc {SERVICE}.{method.name} {method.input_type.lstrip('.')} -> {method.output_type.lstrip('.')}")
        todo += [method.input_type.lstrip("."), method.output_type.lstrip(".")]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in enums:
            for v in enums[name].value:
                lines.append(f"enum {name} {v.number} {v.name}")
            continue
        m = messages[name]
        if m.options.map_entry:
            continue
        for fld in m.field:
            type_name = fld.type_name.lstrip(".")
            label = "repeated" if fld.label == fld.LABEL_REPEATED else "single"
            kind = TYPES[fld.type]
            if kind == "message" and messages[type_name].options.map_entry:
                entry = messages[type_name]
                key, value = entry.field[0], entry.field[1]
                vt = value.type_name.lstrip(".") or TYPES[value.type]
                kind, label = f"map<{TYPES[key.type]},{vt}>", "map"
                if value.type_name:
                    todo.append(vt)
            elif type_name:
                kind = f"{kind} {type_name}"
                todo.append(type_name)
            oneof = f" oneof={m.oneof_decl[fld.oneof_index].name}" if fld.HasField("oneof_index") else ""
            lines.append(f"field {name} {fld.number} {fld.name} {label} {kind}{oneof}")
    return sorted(lines)


def api_version(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line.startswith("API_VERSION") and "=" in line:
                return line.split("=", 1)[1].strip().strip('"\'')
    sys.exit(f"no API_VERSION in {path}")


def main(argv):
    import argparse
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root")
    parser.add_argument("--api-version-from")
    parser.add_argument("--check")
    args = parser.parse_args(argv[1:])
    lines = table(compile_set(args.root))
    if args.api_version_from:
        lines.insert(0, f"communication_version {api_version(args.api_version_from)}")
    if args.check:
        with open(args.check, encoding="utf-8") as f:
            expected = [l for l in f.read().splitlines() if l and not l.startswith("#")]
        if not args.api_version_from:
            expected = [l for l in expected if not l.startswith("communication_version ")]
        missing = sorted(set(expected) - set(lines))
        extra = sorted(set(lines) - set(expected))
        for l in missing:
            print(f"- {l}")
        for l in extra:
            print(f"+ {l}")
        print(f"{len(lines)} lines; {len(missing)} missing, {len(extra)} different or extra")
        return 1 if missing or extra else 0
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
