"""Records MinAtar trajectories from the original Python package for the C# replay tests.

Usage (numpy from Debian's python3-numpy; MinAtar's source fetched from github.com/kenjyoung/MinAtar, not committed):
    PYTHONPATH=/path/to/MinAtar /usr/bin/python3 tools/minatar/record_minatar.py tests/Reinforce.Tests/Data/minatar-trajectories.jsonl.gz

For each game it plays seeded runs through minatar.Environment (sticky actions and difficulty ramping as given)
and writes one JSON object per run (gzipped JSON lines):
  game, seed (an int, or [low word, high word] for numpy's array seeding), sticky, ramping,
  episodes: a list of {"initial": state, "steps": [[action, reward, terminal, ramp, state], ...]}
where action is the full-set action passed to Environment.act (0-5: n l u r d f), ramp is
env.env.difficulty_ramp() (-1 when the game does not ramp) and state is the boolean state transposed to
channels-first [C, 10, 10], bit-packed (np.packbits) and hex-encoded. Episodes after the first start with
env.reset() and no new seed, so the generator's stream continues as in the original.
A final object {"draws": ...} holds raw RandomState draws used to test the C# copy of numpy's generator.
"""
import gzip
import json
import sys

import numpy as np
from minatar import Environment


def pack(state):
    return np.packbits(state.transpose(2, 0, 1).astype(np.uint8).ravel()).tobytes().hex()


def policy(game, env, chooser):
    """Random play with a bias that keeps episodes going long enough to reach refills and difficulty ramps."""
    g = env.env
    u = chooser.rand()
    if game == "breakout" and u < 0.97:
        return 3 if g.ball_x > g.pos else 1 if g.ball_x < g.pos else 0
    if game == "freeway" and u < 0.7:
        return 2
    if game == "space_invaders" and u < 0.9:
        # Dodge a bullet right above, fire under an alien, otherwise move toward the nearest column with aliens.
        if g.e_bullet_map[8, g.pos] or g.e_bullet_map[7, g.pos]:
            return 1 if g.pos > 0 else 3
        columns = [c for c in range(10) if g.alien_map[:, c].any()]
        target = min(columns, key=lambda c: abs(c - g.pos))
        return 5 if target == g.pos else 3 if target > g.pos else 1
    if game == "seaquest" and u < 0.3:
        # Dive, fire, and go back up when oxygen runs low (to exercise surfacing and the ramp).
        if g.oxygen < 60 or g.diver_count >= 1 and chooser.rand() < 0.05:
            return 2
        return [4, 5, 1, 3][chooser.randint(4)]
    return chooser.randint(6)


def record(game, seed, sticky, ramping, steps):
    env = Environment(game, sticky_action_prob=sticky, difficulty_ramping=ramping)
    env.seed(np.array(seed, dtype=np.uint32) if isinstance(seed, list) else seed)
    chooser = np.random.RandomState(1000 + (seed if isinstance(seed, int) else seed[0]))
    env.reset()
    episodes = [{"initial": pack(env.state()), "steps": []}]
    for _ in range(steps):
        a = int(policy(game, env, chooser))
        r, terminal = env.act(a)
        ramp = env.env.difficulty_ramp()
        episodes[-1]["steps"].append([a, int(r), int(bool(terminal)), -1 if ramp is None else int(ramp), pack(env.state())])
        if terminal:
            env.reset()
            episodes.append({"initial": pack(env.state()), "steps": []})
    if not episodes[-1]["steps"]:
        episodes.pop()
    return {"game": game, "seed": seed, "sticky": sticky, "ramping": ramping, "episodes": episodes}


def draws():
    out = {}
    for seed in (0, 5, [7, 3]):
        rs = np.random.RandomState(np.array(seed, dtype=np.uint32) if isinstance(seed, list) else seed)
        out[json.dumps(seed)] = {
            "rand": [float(rs.rand()) for _ in range(3)],
            "randint7": [int(rs.randint(7)) for _ in range(6)],
            "randint1_9": [int(rs.randint(low=1, high=9)) for _ in range(4)],
            "randint1_6x8": [int(v) for v in rs.randint(1, 6, 8)],
            "randint1": int(rs.randint(1)),
            "rand8": [float(v) for v in rs.rand(8)],
        }
    return out


def main():
    out_path = sys.argv[1]
    runs = []
    for game in ["asterix", "breakout", "freeway", "seaquest", "space_invaders"]:
        runs.append(record(game, 1, 0.1, True, 1500 if game in ("breakout", "space_invaders") else 900))
        runs.append(record(game, [2654435769, 3], 0.25, False, 250))
    with gzip.open(out_path, "wt", encoding="utf-8", compresslevel=9) as f:
        for run in runs:
            f.write(json.dumps(run, separators=(",", ":")) + "\n")
        f.write(json.dumps({"draws": draws(), "numpy": np.__version__}, separators=(",", ":")) + "\n")
    for run in runs:
        lengths = [len(e["steps"]) for e in run["episodes"]]
        rewards = sum(s[1] for e in run["episodes"] for s in e["steps"])
        ramp = max(s[3] for e in run["episodes"] for s in e["steps"])
        print(run["game"], run["seed"], "episodes", len(lengths), "lengths", lengths[:8], "reward", rewards, "max ramp", ramp)


if __name__ == "__main__":
    main()
