"""Runs CleanRL's ppo.py (its defaults: CartPole-v1, 4 environments x 128 steps, 500k steps) unchanged, with two shims
for packages Debian does not ship, installed here in sys.modules before the script runs:

- tyro (CleanRL's argument parser): a small stand-in that builds an argparse parser from the Args dataclass, so
  `--total-timesteps 100000` and the other flags work as with tyro;
- torch.utils.tensorboard.SummaryWriter (needs the tensorboard package): a writer that discards what it is given.

CleanRL prints "SPS: n" after every iteration; the last one is its figure. Usage (setup_and_run.sh sets PYTHONPATH):
    /usr/bin/python3 cleanrl_ppo.py /tmp/peers/cleanrl/cleanrl/ppo.py [ppo.py flags...]
"""
import argparse
import dataclasses
import runpy
import sys
import types


def _tyro_cli(cls):
    parser = argparse.ArgumentParser()
    for field in dataclasses.fields(cls):
        flag = "--" + field.name.replace("_", "-")
        default = field.default
        if isinstance(default, bool):
            parser.add_argument(flag, type=lambda s: s.lower() in ("1", "true", "yes"), nargs="?", const=True, default=default)
        elif default is None or isinstance(default, str):
            parser.add_argument(flag, type=str, default=default)
        else:
            parser.add_argument(flag, type=type(default), default=default)
    return cls(**vars(parser.parse_args()))


class _SummaryWriter:
    def __init__(self, *args, **kwargs):
        pass

    def add_scalar(self, *args, **kwargs):
        pass

    def add_text(self, *args, **kwargs):
        pass

    def close(self):
        pass


def main():
    tyro = types.ModuleType("tyro")
    tyro.cli = _tyro_cli
    sys.modules.setdefault("tyro", tyro)
    tensorboard = types.ModuleType("torch.utils.tensorboard")
    tensorboard.SummaryWriter = _SummaryWriter
    sys.modules["torch.utils.tensorboard"] = tensorboard
    script = sys.argv[1]
    sys.argv = [script] + sys.argv[2:]
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
