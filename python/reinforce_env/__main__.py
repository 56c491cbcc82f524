"""python3 -m reinforce_env TARGET [--port N] [--bind ADDRESS] [--copies K]

TARGET is either gymnasium:ID (an environment made with gymnasium.make(ID), e.g. gymnasium:CartPole-v1) or
module:function (a function of no arguments returning an environment, e.g. my_envs:make_corridor; the
current folder is on the import path).
"""
import argparse
import importlib
import os
import sys

from .server import serve


def _factory(target):
    module_name, sep, name = target.partition(":")
    if not sep or not name:
        raise SystemExit(f"error: '{target}' is not gymnasium:ID or module:function (e.g. gymnasium:CartPole-v1).")
    if module_name == "gymnasium":
        import gymnasium
        return (lambda: gymnasium.make(name)), name
    sys.path.insert(0, os.getcwd())
    module = importlib.import_module(module_name)
    fn = getattr(module, name, None)
    if fn is None:
        raise SystemExit(f"error: module {module_name} has no '{name}'.")
    return fn, None


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m reinforce_env", description="Serve a Gymnasium-API environment to a Reinforce learner.")
    parser.add_argument("target", help="gymnasium:ID or module:function")
    parser.add_argument("--port", type=int, default=50052, help="port to listen on (0: any free port, printed)")
    parser.add_argument("--bind", default="0.0.0.0", help="address to listen on (127.0.0.1: this machine only)")
    parser.add_argument("--copies", type=int, default=1, help="copies per session when the learner leaves it to the server")
    args = parser.parse_args(argv)
    make_env, env_id = _factory(args.target)
    serve(make_env, port=args.port, bind=args.bind, env_id=env_id, default_copies=args.copies)


if __name__ == "__main__":
    main()
