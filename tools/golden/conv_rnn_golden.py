#!/usr/bin/env python3
"""Writes tests/Reinforce.Tests/Data/pytorch-golden-conv-rnn.jsonl: forward values and gradients from real PyTorch
(float64) for the engine's convolution, pooling and recurrent layers.

Run with Debian's python3-torch (1.13): /usr/bin/python3 tools/golden/conv_rnn_golden.py
The format follows pytorch-golden.jsonl (see tests/Reinforce.Tests/Data/REFERENCE.md): tensors are
{"shape": [...], "data": [...]} row-major; single-output cases have inputs/outputs.y/upstream/grads, where grads are
the gradients of sum(y * upstream). Recurrent cases have several outputs, so "upstream" is an object with one tensor
per output and the grads are those of the sum over outputs of sum(output * upstream[output]); their parameters are
under "params" with PyTorch's own names (weight_ih_l0, ...), in state_dict order.
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

torch.manual_seed(20261204)
torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "Reinforce.Tests", "Data", "pytorch-golden-conv-rnn.jsonl")


def t(x):
    x = x.detach()
    return {"shape": list(x.shape), "data": x.reshape(-1).tolist()}


def randn(*shape):
    return torch.randn(*shape, requires_grad=True)


cases = []


def conv_case(name, n, c, h, w, o, kh, kw, stride, padding, dilation, bias=True):
    x = randn(n, c, h, w)
    weight = (torch.randn(o, c, kh, kw) * 0.5).requires_grad_()
    b = randn(o) if bias else None
    y = F.conv2d(x, weight, b, stride=stride, padding=padding, dilation=dilation)
    u = torch.randn_like(y)
    (y * u).sum().backward()
    inputs = {"x": t(x), "weight": t(weight)}
    grads = {"x": t(x.grad), "weight": t(weight.grad)}
    if bias:
        inputs["bias"] = t(b)
        grads["bias"] = t(b.grad)
    cases.append({"name": name, "stride": list(stride), "padding": list(padding), "dilation": list(dilation),
                  "inputs": inputs, "outputs": {"y": t(y)}, "upstream": t(u), "grads": grads,
                  "note": "F.conv2d, NCHW input, weight [out, in, kh, kw]"})


conv_case("conv2d_3x3", 2, 3, 6, 5, 4, 3, 3, (1, 1), (0, 0), (1, 1))
conv_case("conv2d_stride_pad_dilation", 2, 2, 9, 8, 3, 3, 2, (2, 1), (1, 2), (2, 1))
conv_case("conv2d_nature_first_layer_small", 1, 4, 20, 20, 5, 8, 8, (4, 4), (0, 0), (1, 1))
conv_case("conv2d_1x1_no_bias", 3, 5, 4, 3, 2, 1, 1, (1, 1), (0, 0), (1, 1), bias=False)
conv_case("conv2d_pad_larger_than_kernel_edge", 1, 1, 3, 4, 2, 2, 2, (3, 2), (2, 1), (1, 1))


def pool_case(name, fn, n, c, h, w, kernel, stride, padding, **kw):
    x = randn(n, c, h, w)
    y = fn(x, kernel, stride, padding, **kw)
    u = torch.randn_like(y)
    (y * u).sum().backward()
    cases.append({"name": name, "kernel": list(kernel), "stride": list(stride), "padding": list(padding),
                  "inputs": {"x": t(x)}, "outputs": {"y": t(y)}, "upstream": t(u), "grads": {"x": t(x.grad)}})


pool_case("max_pool2d_3_s2_p1", F.max_pool2d, 2, 3, 7, 6, (3, 3), (2, 2), (1, 1))
pool_case("max_pool2d_2x3_s2x1", F.max_pool2d, 1, 2, 6, 7, (2, 3), (2, 1), (0, 1))
pool_case("avg_pool2d_3_s2_p1", F.avg_pool2d, 2, 3, 7, 6, (3, 3), (2, 2), (1, 1), count_include_pad=True)
pool_case("avg_pool2d_2x2", F.avg_pool2d, 1, 2, 5, 4, (2, 2), (2, 2), (0, 0), count_include_pad=True)


def recurrent_case(name, module, inputs, outputs_fn, note):
    params = dict(module.named_parameters())
    outs = outputs_fn()
    ups = {k: torch.randn_like(v) for k, v in outs.items()}
    sum((outs[k] * ups[k]).sum() for k in outs).backward()
    grads = {k: t(v.grad) for k, v in inputs.items()}
    grads.update({k: t(p.grad) for k, p in params.items()})
    cases.append({"name": name, "note": note, "inputs": {k: t(v) for k, v in inputs.items()},
                  "params": {k: t(p) for k, p in params.items()}, "outputs": {k: t(v) for k, v in outs.items()},
                  "upstream": {k: t(v) for k, v in ups.items()}, "grads": grads})


lstm = torch.nn.LSTM(3, 4, num_layers=2)
x, h0, c0 = randn(5, 2, 3), randn(2, 2, 4), randn(2, 2, 4)
def run_lstm():
    y, (hn, cn) = lstm(x, (h0, c0))
    return {"y": y, "h_n": hn, "c_n": cn}
recurrent_case("lstm_2_layers", lstm, {"x": x, "h0": h0, "c0": c0}, run_lstm,
               "nn.LSTM(3, 4, num_layers=2), x [seq 5, batch 2, 3], h0/c0 [layers 2, batch 2, 4]; gates i, f, g, o")

gru = torch.nn.GRU(3, 4, num_layers=2)
x2, g0 = randn(5, 2, 3), randn(2, 2, 4)
def run_gru():
    y, hn = gru(x2, g0)
    return {"y": y, "h_n": hn}
recurrent_case("gru_2_layers", gru, {"x": x2, "h0": g0}, run_gru,
               "nn.GRU(3, 4, num_layers=2), x [seq 5, batch 2, 3], h0 [layers 2, batch 2, 4]; gates r, z, n")

lstm_cell = torch.nn.LSTMCell(5, 3)
x3, h3, c3 = randn(4, 5), randn(4, 3), randn(4, 3)
def run_lstm_cell():
    h, c = lstm_cell(x3, (h3, c3))
    return {"h": h, "c": c}
recurrent_case("lstm_cell", lstm_cell, {"x": x3, "h0": h3, "c0": c3}, run_lstm_cell, "nn.LSTMCell(5, 3), batch 4")

gru_cell = torch.nn.GRUCell(5, 3)
x4, h4 = randn(4, 5), randn(4, 3)
def run_gru_cell():
    return {"h": gru_cell(x4, h4)}
recurrent_case("gru_cell", gru_cell, {"x": x4, "h0": h4}, run_gru_cell, "nn.GRUCell(5, 3), batch 4")

with open(OUT, "w") as f:
    f.write(json.dumps({"name": "_meta", "torch": torch.__version__, "python": sys.version.split()[0],
                        "generator": "tools/golden/conv_rnn_golden.py", "seed": 20261204, "dtype": "float64"}) + "\n")
    for c in cases:
        f.write(json.dumps(c) + "\n")
print(f"wrote {len(cases)} cases to {os.path.normpath(OUT)} with torch {torch.__version__}")
