#!/usr/bin/env python3
"""The shapes of benchmarks/Reinforce.Benchmarks/Engine/CnnBenchmarks.cs in PyTorch on this machine (Debian's
python3-torch 1.13, CPU): Nature CNN (SB3's NatureCNN: 32 8x8 s4, 64 4x4 s2, 64 3x3 s1, Linear 3136->512, ReLUs) on
84x84x4 and MinAtar's small CNN (16 3x3 s1, Linear 1024->128) on 10x10x4; forward under no_grad and forward+backward of
the features' mean, at the batch sizes PPO uses. Prints the median over repeats (after warm-up) in microseconds.

Usage: /usr/bin/python3 tools/bench/cnn_torch.py [--threads 2] [--repeats 30]
"""
import argparse
import statistics
import time

import torch
from torch import nn


def nature(c):
    return nn.Sequential(nn.Conv2d(c, 32, 8, 4), nn.ReLU(), nn.Conv2d(32, 64, 4, 2), nn.ReLU(), nn.Conv2d(64, 64, 3, 1), nn.ReLU(),
                         nn.Flatten(), nn.Linear(3136, 512), nn.ReLU())


def small(c):
    return nn.Sequential(nn.Conv2d(c, 16, 3, 1), nn.ReLU(), nn.Flatten(), nn.Linear(16 * 8 * 8, 128), nn.ReLU())


def median_us(fn, repeats):
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=30)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, mkldnn {torch.backends.mkldnn.is_available()}")
    for case in ["nature-8", "nature-256", "minatar-64", "minatar-1024"]:
        name, batch = case.split("-")
        batch = int(batch)
        net = nature(4) if name == "nature" else small(4)
        size = 84 if name == "nature" else 10
        x = torch.rand(batch, 4, size, size)

        def forward():
            with torch.no_grad():
                net(x)

        def forward_backward():
            net.zero_grad()
            net(x).mean().backward()

        print(f"{case:14s} forward {median_us(forward, args.repeats):10.1f} us   forward+backward {median_us(forward_backward, args.repeats):10.1f} us")


if __name__ == "__main__":
    main()
