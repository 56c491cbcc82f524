"""PPO with MinAtar's small CNN in PyTorch, CleanRL-style, on the real MinAtar Breakout: the throughput reference for
`reinforce train MinAtar/Breakout-v1` (presets/MinAtar_Breakout-v1.json).

The same network as our policy (policy.cnn small, hidden_sizes [64], relu; Reinforce.Algorithms.EncoderPolicy):
  features: Conv2d(4, 16, 3, stride 1) -> ReLU -> Flatten (16*8*8 = 1024) -> Linear(1024, 128) -> ReLU
  actor:    Linear(128, 64) -> ReLU -> Linear(64, 3)      (the minimal action set: noop, left, right)
  critic:   Linear(128, 64) -> ReLU -> Linear(64, 1)
and the same PPO settings as the preset: 32 environments x 128 steps, 4 epochs of 8 minibatches of 512, Adam lr 1e-3
(eps 1e-5) annealed linearly to 0, gamma 0.99, GAE lambda 0.95, clip 0.2, no value clipping, entropy 0.01, value
coefficient 0.5, gradient norm 0.5, advantages normalised per minibatch, orthogonal init (sqrt 2 hidden, 0.01 policy
head, 1 value head). The environments are MinAtar's own Python games (minatar.Environment('breakout'), sticky
actions 0.1, difficulty ramping), stepped one after the other as SB3's DummyVecEnv does, reset when an episode ends.

Usage (Debian's torch 1.13 and numpy; MinAtar's source from github.com/kenjyoung/MinAtar at 4241f24, not committed):
    PYTHONPATH=/path/to/MinAtar /usr/bin/python3 tools/bench/minatar_ppo_torch.py --steps 131072 --threads 1

Prints one line: steps, seconds (training loop only: rollouts and updates, not imports or network construction),
steps/s, the split between rollout (environment + acting) and update, and the mean return of the last 100 episodes.
"""
import argparse
import time
from collections import deque

import numpy as np
import torch
import torch.nn as nn
from minatar import Environment


def layer(module, gain):
    nn.init.orthogonal_(module.weight, gain)
    nn.init.zeros_(module.bias)
    return module


class Policy(nn.Module):
    def __init__(self, channels, actions):
        super().__init__()
        g = np.sqrt(2)
        self.features = nn.Sequential(
            layer(nn.Conv2d(channels, 16, 3, stride=1), g), nn.ReLU(), nn.Flatten(),
            layer(nn.Linear(16 * 8 * 8, 128), g), nn.ReLU())
        self.actor = nn.Sequential(layer(nn.Linear(128, 64), g), nn.ReLU(), layer(nn.Linear(64, actions), 0.01))
        self.critic = nn.Sequential(layer(nn.Linear(128, 64), g), nn.ReLU(), layer(nn.Linear(64, 1), 1.0))

    def value(self, x):
        return self.critic(self.features(x)).squeeze(-1)

    def act(self, x, action=None):
        f = self.features(x)
        dist = torch.distributions.Categorical(logits=self.actor(f))
        if action is None:
            action = dist.sample()
        return action, dist.log_prob(action), dist.entropy(), self.critic(f).squeeze(-1)


class Envs:
    """n copies of MinAtar's Environment, auto-reset, observations as float [n, C, 10, 10] (channels first)."""

    def __init__(self, game, n, seed):
        self.envs = []
        for i in range(n):
            e = Environment(game, sticky_action_prob=0.1, difficulty_ramping=True)
            e.seed(seed + i)
            e.reset()
            self.envs.append(e)
        self.actions = self.envs[0].minimal_action_set()
        self.returns = np.zeros(n)
        self.finished = deque(maxlen=100)

    def observe(self):
        return np.stack([e.state() for e in self.envs]).transpose(0, 3, 1, 2).astype(np.float32)

    def step(self, actions):
        rewards = np.zeros(len(self.envs), dtype=np.float32)
        dones = np.zeros(len(self.envs), dtype=np.float32)
        for i, (e, a) in enumerate(zip(self.envs, actions)):
            r, terminal = e.act(self.actions[a])
            rewards[i] = r
            self.returns[i] += r
            if terminal:
                dones[i] = 1.0
                self.finished.append(self.returns[i])
                self.returns[i] = 0.0
                e.reset()
        return self.observe(), rewards, dones


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--game", default="breakout")
    p.add_argument("--steps", type=int, default=131072, help="environment steps (a multiple of n_envs * n_steps)")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--n-envs", type=int, default=32)
    p.add_argument("--n-steps", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--epochs", type=int, default=4)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    gamma, lam, clip, ent_coef, vf_coef, max_grad_norm, lr = 0.99, 0.95, 0.2, 0.01, 0.5, 0.5, 1e-3

    envs = Envs(a.game, a.n_envs, a.seed)
    channels = envs.observe().shape[1]
    policy = Policy(channels, len(envs.actions))
    optimizer = torch.optim.Adam(policy.parameters(), lr=lr, eps=1e-5)
    n, t_max = a.n_envs, a.n_steps
    obs_buf = torch.zeros((t_max, n, channels, 10, 10))
    act_buf = torch.zeros((t_max, n), dtype=torch.long)
    logp_buf = torch.zeros((t_max, n))
    rew_buf = torch.zeros((t_max, n))
    done_buf = torch.zeros((t_max, n))
    val_buf = torch.zeros((t_max, n))
    iterations = a.steps // (n * t_max)
    obs = torch.from_numpy(envs.observe())
    done = torch.zeros(n)
    rollout_seconds = update_seconds = 0.0
    start = time.perf_counter()
    for it in range(iterations):
        optimizer.param_groups[0]["lr"] = lr * (1.0 - it / iterations)
        t0 = time.perf_counter()
        for t in range(t_max):
            obs_buf[t] = obs
            done_buf[t] = done
            with torch.no_grad():
                action, logp, _, value = policy.act(obs)
            act_buf[t], logp_buf[t], val_buf[t] = action, logp, value
            next_obs, reward, next_done = envs.step(action.numpy())
            rew_buf[t] = torch.from_numpy(reward)
            obs, done = torch.from_numpy(next_obs), torch.from_numpy(next_done)
        with torch.no_grad():
            next_value = policy.value(obs)
            advantages = torch.zeros((t_max, n))
            last = torch.zeros(n)
            for t in reversed(range(t_max)):
                not_done = 1.0 - (done if t == t_max - 1 else done_buf[t + 1])
                following = next_value if t == t_max - 1 else val_buf[t + 1]
                delta = rew_buf[t] + gamma * following * not_done - val_buf[t]
                last = delta + gamma * lam * not_done * last
                advantages[t] = last
            returns = advantages + val_buf
        t1 = time.perf_counter()
        b_obs, b_act, b_logp = obs_buf.reshape(-1, channels, 10, 10), act_buf.reshape(-1), logp_buf.reshape(-1)
        b_adv, b_ret = advantages.reshape(-1), returns.reshape(-1)
        total = n * t_max
        for _ in range(a.epochs):
            order = torch.randperm(total)
            for s in range(0, total, a.batch_size):
                mb = order[s:s + a.batch_size]
                _, logp, entropy, value = policy.act(b_obs[mb], b_act[mb])
                ratio = (logp - b_logp[mb]).exp()
                adv = b_adv[mb]
                adv = (adv - adv.mean()) / (adv.std() + 1e-8)
                pg_loss = torch.max(-adv * ratio, -adv * ratio.clamp(1 - clip, 1 + clip)).mean()
                v_loss = ((value - b_ret[mb]) ** 2).mean()   # SB3: F.mse_loss(returns, values)
                loss = pg_loss - ent_coef * entropy.mean() + vf_coef * v_loss
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(policy.parameters(), max_grad_norm)
                optimizer.step()
        t2 = time.perf_counter()
        rollout_seconds += t1 - t0
        update_seconds += t2 - t1
    seconds = time.perf_counter() - start
    steps = iterations * n * t_max
    mean = np.mean(envs.finished) if envs.finished else float("nan")
    print(f"torch {torch.__version__} threads {a.threads}: {steps} steps in {seconds:.2f} s = {steps / seconds:.0f} steps/s "
          f"(rollout {rollout_seconds:.2f} s, update {update_seconds:.2f} s); last {len(envs.finished)} episodes mean {mean:.2f}")


if __name__ == "__main__":
    main()
