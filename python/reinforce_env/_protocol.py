"""The message classes of the Reinforce environment protocol (protos/reinforce/env/v1/env.proto).

They are generated when first needed: Debian's grpc_tools (python3-grpc-tools) compiles the .proto into a
descriptor set, and the classes are built from it with the protobuf runtime's message factory. This works with
any protobuf runtime from 3.20 on, whichever protoc Debian ships (its 3.5 protoc writes _pb2 modules that
protobuf 4 refuses to load). The descriptor set is cached next to this file (env.desc); delete it after
changing the .proto. Regenerate by hand with:  python3 -m reinforce_env._protocol
"""
import os
import subprocess
import sys
import tempfile

from google.protobuf import descriptor_pb2, descriptor_pool

try:  # protobuf >= 4.21
    from google.protobuf.message_factory import GetMessageClass as _get_class
except ImportError:  # pragma: no cover - protobuf 3.20
    from google.protobuf.message_factory import MessageFactory as _MF

    _factory = _MF()

    def _get_class(descriptor):
        return _factory.GetPrototype(descriptor)

PROTOCOL_VERSION = "reinforce.env.v1"
SERVICE = "reinforce.env.v1.EnvironmentService"

_HERE = os.path.dirname(os.path.abspath(__file__))
_CACHE = os.path.join(_HERE, "env.desc")


def _proto_root():
    """The repository's protos/ folder (python/ and protos/ are siblings), or REINFORCE_PROTOS."""
    root = os.environ.get("REINFORCE_PROTOS") or os.path.join(_HERE, "..", "..", "protos")
    path = os.path.join(root, "reinforce", "env", "v1", "env.proto")
    if not os.path.exists(path):
        raise FileNotFoundError(f"reinforce_env: cannot find {path}; set REINFORCE_PROTOS to the repository's protos/ folder.")
    return os.path.abspath(root)


def generate(out_path=_CACHE):
    """Compiles env.proto into a serialized FileDescriptorSet at out_path with grpc_tools' protoc."""
    root = _proto_root()
    fd, tmp = tempfile.mkstemp(suffix=".desc", dir=os.path.dirname(out_path))
    os.close(fd)
    cmd = [sys.executable, "-m", "grpc_tools.protoc", f"-I{root}", f"--descriptor_set_out={tmp}", "reinforce/env/v1/env.proto"]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        os.unlink(tmp)
        raise RuntimeError(
            "reinforce_env: compiling env.proto failed (install Debian's python3-grpc-tools: apt-get install python3-grpc-tools):\n"
            + result.stdout + result.stderr)
    os.replace(tmp, out_path)  # written whole, then renamed
    return out_path


def _load():
    if not os.path.exists(_CACHE):
        generate()
    with open(_CACHE, "rb") as f:
        file_set = descriptor_pb2.FileDescriptorSet.FromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for file_proto in file_set.file:
        pool.Add(file_proto)
    classes = {}
    for file_proto in file_set.file:
        for message in file_proto.message_type:
            full = f"{file_proto.package}.{message.name}"
            classes[message.name] = _get_class(pool.FindMessageTypeByName(full))
    enum = pool.FindEnumTypeByName("reinforce.env.v1.DType")
    return classes, {v.name: v.number for v in enum.values}


_classes, DTYPE = _load()
globals().update(_classes)

if __name__ == "__main__":
    print(generate())
