"""Stable-Baselines3 PPO on CartPole-v1 with rl-baselines3-zoo's settings (hyperparams/ppo.yml), one torch thread.

The zoo's entry: n_envs 8, n_timesteps 1e5, MlpPolicy, n_steps 32, batch_size 256, gae_lambda 0.8, gamma 0.98,
n_epochs 20, ent_coef 0.0, learning_rate lin_0.001, clip_range lin_0.2 (DummyVecEnv, as the zoo uses by default).
Prints the training time and steps/s, and the mean return of the last 100 episodes.
Run through setup_and_run.sh (it puts SB3 and Gymnasium sources on PYTHONPATH).
"""
import argparse
import time

import torch

torch.set_num_threads(1)

import gymnasium as gym  # noqa: E402
from stable_baselines3 import PPO  # noqa: E402
from stable_baselines3.common.env_util import make_vec_env  # noqa: E402


def linear(initial):
    return lambda progress_remaining: progress_remaining * initial


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    env = make_vec_env("CartPole-v1", n_envs=8, seed=args.seed)
    model = PPO("MlpPolicy", env, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0,
                learning_rate=linear(0.001), clip_range=linear(0.2), seed=args.seed, verbose=0, device="cpu")
    start = time.perf_counter()
    model.learn(total_timesteps=args.steps)
    seconds = time.perf_counter() - start
    returns = [info["r"] for info in model.ep_info_buffer]
    mean = sum(returns) / max(len(returns), 1)
    print(f"sb3 ppo CartPole-v1 {args.steps} steps: {seconds:.2f} s training, {args.steps / seconds:,.0f} steps/s, "
          f"last-100 mean return {mean:.1f} (gymnasium {gym.__version__}, torch {torch.__version__}, 1 thread)")


if __name__ == "__main__":
    main()
