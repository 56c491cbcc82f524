"""The gRPC server: sessions of environment copies, batched reset and step."""
import itertools
import sys
import threading
from concurrent import futures

import grpc
import numpy as np

from . import _protocol as pb

DT = pb.DTYPE


def _is_dict(space):
    spaces = getattr(space, "spaces", None)
    return hasattr(spaces, "keys") and hasattr(spaces, "items")


def _is_tuple(space):
    spaces = getattr(space, "spaces", None)
    return isinstance(spaces, (tuple, list))


def _space_to_proto(space, depth=0):
    """A Space message for a Gymnasium-like space (duck-typed: Discrete, Box (float or uint8), MultiDiscrete, Dict, Tuple).

    A Dict's entries go in sorted key order (as Gymnasium sorts them, and as Reinforce flattens them)."""
    kind = type(space).__name__
    if depth > 16:
        raise TypeError("reinforce_env: spaces nest deeper than 16 levels")
    if _is_dict(space):
        entries = [pb.DictEntry(key=str(k), space=_space_to_proto(v, depth + 1)) for k, v in sorted(space.spaces.items(), key=lambda kv: str(kv[0]))]
        return pb.Space(dict=pb.DictSpace(entries=entries))
    if _is_tuple(space):
        return pb.Space(tuple=pb.TupleSpace(spaces=[_space_to_proto(s, depth + 1) for s in space.spaces]))
    if hasattr(space, "nvec"):
        return pb.Space(multi_discrete=pb.MultiDiscreteSpace(nvec=[int(n) for n in np.asarray(space.nvec).ravel()]))
    if hasattr(space, "n"):
        return pb.Space(discrete=pb.DiscreteSpace(n=int(space.n), start=int(getattr(space, "start", 0))))
    if hasattr(space, "low") and hasattr(space, "high"):
        shape = tuple(int(d) for d in space.shape)
        if np.dtype(getattr(space, "dtype", np.float32)) == np.uint8:
            # An image (channels first, [C, H, W]): one bound each, as bytes.
            low = int(np.min(np.asarray(space.low))) if np.size(space.low) else 0
            high = int(np.max(np.asarray(space.high))) if np.size(space.high) else 255
            return pb.Space(box=pb.BoxSpace(shape=list(shape), low=[low], high=[high], dtype=DT["DTYPE_UINT8"]))
        low = np.broadcast_to(np.asarray(space.low, dtype=np.float64), shape).astype(np.float32).ravel()
        high = np.broadcast_to(np.asarray(space.high, dtype=np.float64), shape).astype(np.float32).ravel()
        return pb.Space(box=pb.BoxSpace(shape=list(shape), low=low.tolist(), high=high.tolist(), dtype=DT["DTYPE_FLOAT32"]))
    raise TypeError(f"reinforce_env: cannot describe the space {space!r} ({kind}); serve Discrete, Box, MultiDiscrete, Dict or Tuple spaces.")


def _leaves(proto, path=()):
    """The leaves of a Space message in wire order: (path of keys/indices, numpy dtype, shape of one value)."""
    kind = proto.WhichOneof("kind")
    if kind == "dict":
        return [leaf for e in proto.dict.entries for leaf in _leaves(e.space, path + (e.key,))]
    if kind == "tuple":
        return [leaf for i, s in enumerate(proto.tuple.spaces) for leaf in _leaves(s, path + (i,))]
    if kind == "box":
        dtype = ("DTYPE_UINT8", np.uint8) if proto.box.dtype == DT["DTYPE_UINT8"] else ("DTYPE_FLOAT32", np.float32)
        return [(path, dtype, tuple(proto.box.shape))]
    if kind == "discrete":
        return [(path, ("DTYPE_INT32", np.int32), ())]
    return [(path, ("DTYPE_INT32", np.int32), (len(proto.multi_discrete.nvec),))]


def _tensor(array, dtype_name):
    array = np.ascontiguousarray(array)
    return pb.Tensor(dtype=DT[dtype_name], shape=list(array.shape), data=array.tobytes())


class _Session:
    def __init__(self, envs, leaves):
        self.envs = envs
        self.leaves = leaves
        self.lock = threading.Lock()

    def batch(self, observations):
        """One block per leaf: the leaf's value of every observation stacked (a dict observation is looked up by key)."""
        blocks = []
        for path, (dtype_name, np_dtype), shape in self.leaves:
            values = []
            for o in observations:
                for key in path:
                    o = o[key]
                values.append(np.asarray(o, dtype=np_dtype).reshape(shape))
            blocks.append(_tensor(np.stack(values), dtype_name))
        return pb.Batch(leaves=blocks)


def _info_message(index, info):
    numbers, texts = {}, {}
    for key, value in (info or {}).items():
        if key.startswith("_"):
            continue
        if isinstance(value, (bool, int, float, np.integer, np.floating)) or (isinstance(value, np.ndarray) and value.size == 1):
            numbers[str(key)] = float(np.asarray(value).ravel()[0]) if isinstance(value, np.ndarray) else float(value)
        elif isinstance(value, str):
            texts[str(key)] = value
    if not numbers and not texts:
        return None
    return pb.Info(env_index=index, numbers=numbers, texts=texts)


class EnvServer:
    """Serves copies of the environments made by make_env (a function of no arguments) over gRPC."""

    def __init__(self, make_env, env_id=None, default_copies=1, max_copies=4096, max_episode_steps=0, reward_threshold=None, log=sys.stderr):
        self.make_env = make_env
        probe = make_env()
        spec = getattr(probe, "spec", None)
        self.env_id = env_id or (getattr(spec, "id", None) if spec is not None else None) or type(getattr(probe, "unwrapped", probe)).__name__
        self.observation_space = _space_to_proto(probe.observation_space)
        self.action_space = _space_to_proto(probe.action_space)
        self.leaves = _leaves(self.observation_space)
        self.max_episode_steps = max_episode_steps or int(getattr(spec, "max_episode_steps", None) or 0)
        self.reward_threshold = reward_threshold if reward_threshold is not None else getattr(spec, "reward_threshold", None)
        if hasattr(probe, "close"):
            probe.close()
        self.default_copies = default_copies
        self.max_copies = max_copies
        self.log = log
        self._sessions = {}
        self._ids = itertools.count(1)
        try:
            import gymnasium  # noqa: F401
            gym = f"gymnasium {gymnasium.__version__}"
        except Exception:  # noqa: BLE001 - gymnasium is optional
            gym = "no gymnasium"
        self.server_name = f"python reinforce_env serving {self.env_id} (python {sys.version.split()[0]}, {gym})"
        self._grpc = None
        self.port = None

    # --- the four calls ---------------------------------------------------------------------------------------

    def handshake(self, request, context):
        if request.protocol != pb.PROTOCOL_VERSION:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                          f"this server ({self.server_name}) speaks protocol '{pb.PROTOCOL_VERSION}', the client asked for '{request.protocol}'. "
                          "Use a client and a server of the same protocol version.")
        if request.env_id and request.env_id != self.env_id:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"this server serves '{self.env_id}', not '{request.env_id}'.")
        count = request.num_envs or self.default_copies
        if count < 1 or count > self.max_copies:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{count} copies asked for; this server opens 1 to {self.max_copies} per session.")
        session_id = str(next(self._ids))
        self._sessions[session_id] = _Session([self.make_env() for _ in range(count)], self.leaves)
        if self.log:
            print(f"session {session_id}: {count} copies of {self.env_id} for {request.client or 'a client'} at {context.peer()}", file=self.log, flush=True)
        response = pb.HandshakeResponse(protocol=pb.PROTOCOL_VERSION, server=self.server_name, env_id=self.env_id, session=session_id,
                                        num_envs=count, observation_space=self.observation_space, action_space=self.action_space,
                                        max_episode_steps=self.max_episode_steps)
        if self.reward_threshold is not None:
            response.has_reward_threshold = True
            response.reward_threshold = float(self.reward_threshold)
        return response

    def reset(self, request, context):
        session = self._find(request.session, context)
        with session.lock:
            if len(request.seeds) != len(session.envs):
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"reset sent {len(request.seeds)} seeds for {len(session.envs)} copies; send one per copy.")
            observations, infos = [], []
            for i, (env, seed) in enumerate(zip(session.envs, request.seeds)):
                obs, info = env.reset(seed=int(seed))
                observations.append(obs)
                message = _info_message(i, info)
                if message is not None:
                    infos.append(message)
            return pb.ResetResponse(observations=session.batch(observations), infos=infos)

    def step(self, request, context):
        session = self._find(request.session, context)
        with session.lock:
            n = len(session.envs)
            actions = self._decode_actions(request.actions, n, context)
            observations, rewards, terminated, truncated, final_indices, finals, infos = [], [], [], [], [], [], []
            for i, env in enumerate(session.envs):
                action = actions[i]
                if self.action_space.WhichOneof("kind") == "discrete":
                    action = int(action)
                obs, reward, term, trunc, info = env.step(action)
                rewards.append(float(reward))
                terminated.append(bool(term))
                truncated.append(bool(trunc))
                message = _info_message(i, info)
                if term or trunc:
                    final_indices.append(i)
                    finals.append(obs)
                    obs, reset_info = env.reset()
                    if message is None:
                        message = _info_message(i, reset_info)
                if message is not None:
                    infos.append(message)
                observations.append(obs)
            response = pb.StepResponse(observations=session.batch(observations), rewards=rewards, terminated=terminated,
                                       truncated=truncated, final_indices=final_indices, infos=infos)
            if finals:
                response.final_observations.CopyFrom(session.batch(finals))
            return response

    def close(self, request, context):
        session = self._sessions.pop(request.session, None)
        if session is not None:
            with session.lock:
                for env in session.envs:
                    if hasattr(env, "close"):
                        env.close()
            if self.log:
                print(f"session {request.session}: closed", file=self.log, flush=True)
        return pb.CloseResponse()

    # --- helpers ----------------------------------------------------------------------------------------------

    def _find(self, session_id, context):
        session = self._sessions.get(session_id)
        if session is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"no session '{session_id}' is open on this server (it was closed, or the server restarted); shake hands again.")
        return session

    def _decode_actions(self, tensor, n, context):
        kind = self.action_space.WhichOneof("kind")
        if kind == "box":
            if tensor.dtype != DT["DTYPE_FLOAT32"]:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Box actions must be float32.")
            shape = (n,) + tuple(self.action_space.box.shape)
            values = np.frombuffer(tensor.data, dtype="<f4")
        else:
            if tensor.dtype != DT["DTYPE_INT32"]:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Discrete and MultiDiscrete actions must be int32.")
            shape = (n,) if kind == "discrete" else (n, len(self.action_space.multi_discrete.nvec))
            values = np.frombuffer(tensor.data, dtype="<i4")
        if values.size != int(np.prod(shape)):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{values.size} action values sent where {int(np.prod(shape))} were expected (shape {shape}).")
        return values.reshape(shape)

    # --- serving ----------------------------------------------------------------------------------------------

    def start(self, port=50052, bind="0.0.0.0"):
        """Starts serving on port (0: any free port); returns the port."""
        def unary(fn, request_class, response_class):
            return grpc.unary_unary_rpc_method_handler(fn, request_deserializer=request_class.FromString,
                                                       response_serializer=response_class.SerializeToString)
        handlers = {
            "Handshake": unary(self.handshake, pb.HandshakeRequest, pb.HandshakeResponse),
            "Reset": unary(self.reset, pb.ResetRequest, pb.ResetResponse),
            "Step": unary(self.step, pb.StepRequest, pb.StepResponse),
            "Close": unary(self.close, pb.CloseRequest, pb.CloseResponse),
        }
        self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=8),
                                 options=[("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)])
        self._grpc.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(pb.SERVICE, handlers),))
        self.port = self._grpc.add_insecure_port(f"{bind}:{port}")
        if self.port == 0:
            raise OSError(f"reinforce_env: cannot listen on {bind}:{port} (is the port taken?); pick another port.")
        self._grpc.start()
        return self.port

    def wait(self):
        self._grpc.wait_for_termination()

    def stop(self, grace=None):
        if self._grpc is not None:
            self._grpc.stop(grace)


def serve(make_env, port=50052, bind="0.0.0.0", **kwargs):
    """Serves make_env's environments on port until interrupted. Prints the port it listens on."""
    server = EnvServer(make_env, **kwargs)
    actual = server.start(port, bind)
    print(f"Serving {server.env_id} on port {actual} (protocol {pb.PROTOCOL_VERSION}). "
          f"Train on it with: reinforce train --env remote://HOST:{actual}", flush=True)
    try:
        server.wait()
    except KeyboardInterrupt:
        server.stop(0)
