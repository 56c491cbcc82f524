"""A pure-Python environment for the remote-environment tests (no Gymnasium needed): a corridor of 5 cells.

The agent starts in cell 0; action 1 moves right, action 0 moves left. Each step costs 0.1; reaching cell 4
gives +1 and ends the episode (terminated); after 20 steps it is cut short (truncated). The best return is
0.7 (four steps right); a random walk is usually truncated near -2. Observations: [position / 4, steps / 20].
"""
import numpy as np


class Discrete:
    def __init__(self, n):
        self.n = n
        self.start = 0


class Box:
    def __init__(self, low, high, shape):
        self.low = np.full(shape, low, dtype=np.float32)
        self.high = np.full(shape, high, dtype=np.float32)
        self.shape = shape
        self.dtype = np.float32


class Corridor:
    length = 5
    limit = 20

    def __init__(self):
        self.observation_space = Box(0.0, 1.0, (2,))
        self.action_space = Discrete(2)
        self.position = 0
        self.steps = 0
        self.rng = np.random.default_rng()

    def _obs(self):
        return np.array([self.position / (self.length - 1), self.steps / self.limit], dtype=np.float32)

    def reset(self, seed=None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.position = 0
        self.steps = 0
        return self._obs(), {}

    def step(self, action):
        if action not in (0, 1):
            raise ValueError(f"action {action!r} is not 0 or 1")
        self.position = min(max(self.position + (1 if action == 1 else -1), 0), self.length - 1)
        self.steps += 1
        terminated = self.position == self.length - 1
        truncated = not terminated and self.steps >= self.limit
        reward = 1.0 if terminated else -0.1
        return self._obs(), reward, terminated, truncated, {"position": self.position}


def make():
    return Corridor()


class NanCorridor(Corridor):
    """Sends a NaN observation at its 7th step (for the fault test)."""

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        if self.steps == 7:
            obs = np.array([np.nan, 0.0], dtype=np.float32)
        return obs, reward, terminated, truncated, info


def make_nan():
    return NanCorridor()


class DyingCorridor(Corridor):
    """Ends its own process at the 40th step of a copy (for the fault test: a server that dies mid-rollout)."""

    def step(self, action):
        self.total = getattr(self, "total", 0) + 1
        if self.total >= 40:
            import os
            os._exit(3)
        return super().step(action)


def make_dying():
    return DyingCorridor()


class Dict:
    def __init__(self, spaces):
        self.spaces = dict(spaces)


class ImageBox:
    def __init__(self, shape):
        self.low = np.zeros(shape, dtype=np.uint8)
        self.high = np.full(shape, 255, dtype=np.uint8)
        self.shape = shape
        self.dtype = np.uint8


class ImageCorridor(Corridor):
    """The corridor seen as a Dict: "camera" a uint8 image [1, 2, 5] (row 0: 255 at the agent's cell; row 1: the
    step count), "progress" the Box [position / 4, steps / 20], "cell" the Discrete(5) position. Given in unsorted
    key order on purpose: the server sorts the entries."""

    def __init__(self):
        super().__init__()
        self.observation_space = Dict({"progress": Box(0.0, 1.0, (2,)), "camera": ImageBox((1, 2, 5)), "cell": Discrete(5)})

    def _obs(self):
        camera = np.zeros((1, 2, 5), dtype=np.uint8)
        camera[0, 0, self.position] = 255
        camera[0, 1, :] = self.steps
        return {"progress": super()._obs(), "camera": camera, "cell": self.position}


def make_image():
    return ImageCorridor()
