"""Serve any environment with Gymnasium's API to a Reinforce learner over gRPC (protocol reinforce.env.v1).

    from reinforce_env import serve
    serve(lambda: MyEnv(), port=50052)           # blocks; Ctrl+C stops

The learner trains on it with:  reinforce train --env remote://HOST:50052

An environment is any object with reset(seed=...) -> (obs, info), step(action) -> (obs, reward, terminated,
truncated, info), observation_space and action_space (Gymnasium's Discrete, Box or MultiDiscrete, or
objects with the same attributes: n/start, low/high/shape/dtype, nvec). Each learner session makes its own
copies with the factory; a copy whose episode ends is reset in the same step and its last observation is sent
as the final observation (Gymnasium's same-step autoreset, as Stable-Baselines3 does it).
"""
from .server import EnvServer, serve  # noqa: F401

__all__ = ["EnvServer", "serve"]
