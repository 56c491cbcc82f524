#!/usr/bin/env python3
"""The peer of `reinforce lm bench --config gpt2` in PyTorch on this machine (Debian's python3-torch 1.13, CPU).

A nanoGPT-style GPT-2 of our own (token and position embeddings, pre-LayerNorm blocks, causal self-attention, a GELU
(tanh) MLP, final LayerNorm, head tied to the token embedding) at GPT-2 small's shape: vocabulary 50,257, context 1,024,
12 layers, 768 wide, 12 heads, random weights. It measures what the C# bench measures, the same way:
- training: full steps on a batch of random tokens over the whole context (forward, cross-entropy, backward, global
  gradient-norm clipping to 1, AdamW with weight decay on the matrices), median wall time after warm-up → tokens/s;
  with --lora R only rank-R adapters on c_attn train (the base frozen, requires_grad False);
- the process's peak resident memory (ru_maxrss) right after training, before sampling;
- sampling: pure sampling (multinomial from the softmax) through a key/value cache, from one-token prompts, at each
  batch size, median of --repeats → generated tokens/s.

Usage: /usr/bin/python3 tools/bench/gpt2_torch.py [--threads 2] [--batch 1] [--steps 3] [--sample-batch 1,16]
       [--sample-tokens 128] [--lora 0]
Run full fine-tuning and --lora in separate processes (peak memory is per process), interleaved with the C# runs.
"""
import argparse
import math
import resource
import statistics
import time

import torch
from torch import nn
from torch.nn import functional as F


class LoraLinear(nn.Module):
    """y = x W^T + b + (alpha/r) x A^T B^T, with A [r, in] (Kaiming-uniform as PEFT), B [out, r] zero; W frozen."""

    def __init__(self, base, rank, alpha):
        super().__init__()
        self.base = base
        for p in self.base.parameters():
            p.requires_grad = False
        self.lora_A = nn.Parameter(torch.empty(rank, base.in_features).uniform_(-1 / math.sqrt(base.in_features), 1 / math.sqrt(base.in_features)))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, rank))
        self.scale = alpha / rank

    def forward(self, x):
        return self.base(x) + (x @ self.lora_A.t() @ self.lora_B.t()) * self.scale


class Attention(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.c_attn = nn.Linear(width, 3 * width)
        self.c_proj = nn.Linear(width, width)
        self.heads = heads

    def forward(self, x, cache=None):
        b, t, c = x.shape
        h = self.heads
        q, k, v = self.c_attn(x).split(c, dim=2)
        q = q.view(b, t, h, c // h).transpose(1, 2)
        k = k.view(b, t, h, c // h).transpose(1, 2)
        v = v.view(b, t, h, c // h).transpose(1, 2)
        past = 0
        if cache is not None:
            if cache.get("k") is not None:
                past = cache["k"].shape[2]
                k = torch.cat([cache["k"], k], dim=2)
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        if t > 1:
            mask = torch.ones(t, past + t, dtype=torch.bool).tril(diagonal=past)
            att = att.masked_fill(~mask, float("-inf"))
        y = F.softmax(att, dim=-1) @ v
        return self.c_proj(y.transpose(1, 2).contiguous().view(b, t, c))


class Block(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = Attention(width, heads)
        self.ln_2 = nn.LayerNorm(width)
        self.c_fc = nn.Linear(width, 4 * width)
        self.c_proj = nn.Linear(4 * width, width)

    def forward(self, x, cache=None):
        x = x + self.attn(self.ln_1(x), cache)
        return x + self.c_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class Gpt(nn.Module):
    def __init__(self, vocab, context, layers, width, heads):
        super().__init__()
        self.wte = nn.Embedding(vocab, width)
        self.wpe = nn.Embedding(context, width)
        self.h = nn.ModuleList([Block(width, heads) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(width)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, idx, caches=None, past=0):
        t = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(past, past + t))
        for i, block in enumerate(self.h):
            x = block(x, None if caches is None else caches[i])
        return self.ln_f(x) @ self.wte.weight.t()


def train_speed(model, params, batch, context, vocab, steps, warmup):
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}], lr=1e-4, betas=(0.9, 0.99))
    g = torch.Generator().manual_seed(1)
    x = torch.randint(0, vocab, (batch, context), generator=g)
    y = torch.randint(0, vocab, (batch, context), generator=g)
    times = []
    for s in range(warmup + steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        logits = model(x)
        loss = F.cross_entropy(logits.view(-1, vocab), y.view(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if s >= warmup:
            times.append(time.perf_counter() - t0)
    return sorted(times)


@torch.no_grad()
def sample_speed(model, batch, tokens, vocab, repeats):
    def once(seed):
        g = torch.Generator().manual_seed(seed)
        caches = [dict() for _ in model.h]
        idx = (torch.arange(batch) % vocab).view(batch, 1)
        logits = model(idx, caches, 0)
        produced = 0
        for i in range(tokens):
            nxt = torch.multinomial(F.softmax(logits[:, -1, :], dim=-1), 1, generator=g)
            produced += batch
            if i == tokens - 1:
                break
            logits = model(nxt, caches, 1 + i)
        return produced

    once(0)
    times = []
    produced = 0
    for r in range(repeats):
        t0 = time.perf_counter()
        produced = once(1 + r)
        times.append(time.perf_counter() - t0)
    return produced / statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--sample-batch", default="1,16")
    ap.add_argument("--sample-tokens", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--lora", type=int, default=0)
    ap.add_argument("--vocab", type=int, default=50257)
    ap.add_argument("--context", type=int, default=1024)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--width", type=int, default=768)
    ap.add_argument("--heads", type=int, default=12)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = Gpt(a.vocab, a.context, a.layers, a.width, a.heads)
    total = sum(p.numel() for p in model.parameters())
    if a.lora > 0:
        for p in model.parameters():
            p.requires_grad = False
        for block in model.h:
            block.attn.c_attn = LoraLinear(block.attn.c_attn, a.lora, 2 * a.lora)
    params = [p for p in model.parameters() if p.requires_grad]
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads; GPT {a.layers} layers, {a.width} wide, {a.heads} heads, "
          f"context {a.context}, vocabulary {a.vocab}, {total:,} parameters; training batch {a.batch} x {a.context}, "
          f"{'every weight' if a.lora == 0 else f'LoRA rank {a.lora} on c_attn'}")
    times = train_speed(model, params, a.batch, a.context, a.vocab, a.steps, a.warmup)
    tokens = a.batch * a.context
    median = times[len(times) // 2]
    print(f"training: {tokens / median:8,.0f} tokens/s (median step {median * 1000:.1f} ms; best {tokens / times[0]:,.0f} tokens/s; "
          f"{sum(p.numel() for p in params):,} parameters trained)")
    print(f"peak memory (RSS) after training: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")
    model.eval()
    for b in [int(s) for s in a.sample_batch.split(",") if s]:
        tps = sample_speed(model, b, min(a.sample_tokens, a.context - 1), a.vocab, a.repeats)
        print(f"sampling: {tps:8,.0f} tokens/s ({b} sequence{'' if b == 1 else 's'} at once, {min(a.sample_tokens, a.context - 1)} tokens each, key/value cache)")


if __name__ == "__main__":
    main()
