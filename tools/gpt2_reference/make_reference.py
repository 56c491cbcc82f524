#!/usr/bin/env python3
"""Reference values for Reinforce's GPT-2 (forward, backward, greedy KV-cache sampling) from PyTorch.

The model code below is our own nanoGPT-style GPT-2 (Karpathy's nanoGPT `model.py` layout: Conv1D-shaped weights
read into nn.Linear by transposing, pre-LayerNorm blocks, GELU tanh, tied head). It builds a small random GPT-2,
writes it as a Hugging Face folder (config.json + model.safetensors with the `transformer.` prefix and the
attention-mask buffers, as older `save_pretrained` wrote them; vocab.json + merges.txt of the small test BPE), and
records logits, the loss, every parameter's gradient and greedy completions into gpt2-reference.json.

    /usr/bin/python3 tools/gpt2_reference/make_reference.py tests/Reinforce.Tests/Data/gpt2

Needs Debian's python3-torch (1.13) and python3-numpy. Deterministic: torch.manual_seed(0).
"""
import json
import math
import os
import shutil
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIG = dict(vocab_size=512, n_positions=16, n_embd=16, n_layer=2, n_head=2)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["n_embd"]
        self.n_head = c["n_head"]
        self.ln_1 = nn.LayerNorm(d, eps=1e-5)
        self.c_attn = nn.Linear(d, 3 * d)
        self.attn_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d, eps=1e-5)
        self.c_fc = nn.Linear(d, 4 * d)
        self.mlp_proj = nn.Linear(4 * d, d)

    def attention(self, x, cache=None):
        b, t, d = x.shape
        q, k, v = self.c_attn(x).split(d, dim=2)
        hd = d // self.n_head
        q, k, v = (z.view(b, t, self.n_head, hd).transpose(1, 2) for z in (q, k, v))
        if cache is not None:
            if "k" in cache:
                k = torch.cat([cache["k"], k], dim=2)
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        total = k.shape[2]
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hd)
        # query i (at absolute position total - t + i) sees keys 0 … total - t + i
        mask = torch.ones(t, total, dtype=torch.bool).tril(diagonal=total - t)
        att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(b, t, d)
        return self.attn_proj(y)

    def forward(self, x, cache=None):
        x = x + self.attention(self.ln_1(x), cache)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class Gpt2(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.wte = nn.Embedding(c["vocab_size"], c["n_embd"])
        self.wpe = nn.Embedding(c["n_positions"], c["n_embd"])
        self.h = nn.ModuleList([Block(c) for _ in range(c["n_layer"])])
        self.ln_f = nn.LayerNorm(c["n_embd"], eps=1e-5)

    def forward(self, idx, cache=None, start=0):
        t = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(start, start + t))
        for i, block in enumerate(self.h):
            x = block(x, None if cache is None else cache[i])
        return self.ln_f(x) @ self.wte.weight.T  # tied head

    def hf_state(self):
        """Hugging Face names and Conv1D layout ([in, out]) for the four projections."""
        out = {}
        for name, p in self.named_parameters():
            key = name.replace("attn_proj", "attn.c_proj").replace("c_attn", "attn.c_attn").replace("c_fc", "mlp.c_fc").replace("mlp_proj", "mlp.c_proj")
            if key.endswith(".weight") and any(s in key for s in ("c_attn", "c_proj", "c_fc")):
                out[key] = (p.detach().T.contiguous(), name)
            else:
                out[key] = (p.detach(), name)
        return out


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name], dtype=np.float32)
        data = arr.tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)


def main():
    out = sys.argv[1]
    torch.manual_seed(0)
    model = Gpt2(CONFIG)
    with torch.no_grad():  # GPT-2-like scale, but non-trivial LayerNorm gains and biases
        for name, p in model.named_parameters():
            if name.endswith("weight") and p.dim() == 2:
                p.normal_(0.0, 0.2 if "wte" in name or "wpe" in name else 0.3)
            else:
                p.normal_(1.0 if "ln" in name and name.endswith("weight") else 0.0, 0.1)
    model.eval()

    folder = os.path.join(out, "tiny-gpt2")
    os.makedirs(folder, exist_ok=True)
    c = CONFIG
    config = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "activation_function": "gelu_new",
              "layer_norm_epsilon": 1e-05, "n_ctx": c["n_positions"], "n_inner": None, **c,
              "bos_token_id": 511, "eos_token_id": 511, "tie_word_embeddings": True}
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    state = {"transformer." + k: v.numpy() for k, (v, _) in model.hf_state().items()}
    t = c["n_positions"]
    for i in range(c["n_layer"]):  # the buffers older transformers saved; a loader must ignore them
        state[f"transformer.h.{i}.attn.bias"] = np.tril(np.ones((t, t), dtype=np.float32)).reshape(1, 1, t, t)
        state[f"transformer.h.{i}.attn.masked_bias"] = np.array(-1e4, dtype=np.float32)
    write_safetensors(os.path.join(folder, "model.safetensors"), state, {"format": "pt"})
    for name in ("vocab.json", "merges.txt"):
        shutil.copy(os.path.join(out, "small-bpe", name), os.path.join(folder, name))

    # Forward and backward on a fixed batch.
    g = torch.Generator().manual_seed(1)
    inputs = torch.randint(0, c["vocab_size"], (2, 12), generator=g)
    targets = torch.randint(0, c["vocab_size"], (2, 12), generator=g)
    targets[1, :3] = -100  # ignored positions
    logits = model(inputs)
    loss = F.cross_entropy(logits.view(-1, c["vocab_size"]), targets.view(-1), ignore_index=-100)
    loss.backward()
    conv1d = lambda k: k.endswith(".weight") and any(s in k for s in ("c_attn", "c_proj", "c_fc"))
    grads = {k: model.get_parameter(name).grad.T.contiguous() if conv1d(k) else model.get_parameter(name).grad
             for k, (_, name) in model.hf_state().items()}

    # Greedy continuation, with a key/value cache, checked against recomputing the whole sequence.
    prompts = [[5, 17, 300, 42], [7]]
    greedy = []
    with torch.no_grad():
        for p in prompts:
            cache = [{} for _ in range(c["n_layer"])]
            seq = list(p)
            step_logits = model(torch.tensor([p]), cache, 0)[0, -1]
            for _ in range(8):
                nxt = int(step_logits.argmax())
                full = model(torch.tensor([seq]))[0, -1]
                assert torch.allclose(full, step_logits, atol=1e-5), "KV cache disagrees with the full forward"
                seq.append(nxt)
                step_logits = model(torch.tensor([[nxt]]), cache, len(seq) - 1)[0, -1]
            greedy.append(seq[len(p):])

    def flat(x):
        return [round(float(v), 7) for v in x.detach().reshape(-1).tolist()]

    ref = {
        "generator": "tools/gpt2_reference/make_reference.py",
        "torch": torch.__version__,
        "folder": "tiny-gpt2",
        "inputs": inputs.tolist(), "targets": targets.tolist(),
        "logits": flat(logits), "loss": float(loss),
        "grads": {k: flat(v) for k, v in sorted(grads.items())},
        "prompts": prompts, "greedy": greedy,
    }
    with open(os.path.join(out, "gpt2-reference.json"), "w") as f:
        json.dump(ref, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
