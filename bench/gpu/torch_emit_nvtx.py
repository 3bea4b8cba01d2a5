#!/usr/bin/env python3
"""torch_emit_nvtx.py - the PyTorch emit_nvtx model of issue 17: training steps of a small
Transformer encoder under torch.autograd.profiler.emit_nvtx(), which pushes one NVTX range
per operator (forward and backward) whose message is unique per operator call ("aten::addmm,
seq = 1234, ..."), as engines profiled with nsys's emit_nvtx recipe do.  The per-range cost
of the profiler's NVTX path shows in the time per step: the model is small enough that the
host (Python, dispatch, NVTX) paces it, not the GPU.

Usage: torch_emit_nvtx.py [STEPS (60)] [WARMUP (10)]
Prints "MS_PER_STEP <ms>" over the STEPS timed steps (after WARMUP steps;
torch.cuda.synchronize() before and after), and exits 1 when the loss is not finite.
"""
import math
import sys
import time

import torch
from torch import nn

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 60
warmup = int(sys.argv[2]) if len(sys.argv) > 2 else 10
torch.manual_seed(0)
dev = torch.device("cuda")
layer = nn.TransformerEncoderLayer(d_model=256, nhead=8, dim_feedforward=1024,
                                   batch_first=True)
model = nn.Sequential(nn.TransformerEncoder(layer, num_layers=4), nn.Linear(256, 16)).to(dev)
opt = torch.optim.SGD(model.parameters(), lr=1e-3)
x = torch.randn(16, 64, 256, device=dev)
y = torch.randint(0, 16, (16 * 64,), device=dev)
lossf = nn.CrossEntropyLoss()


def step():
    opt.zero_grad(set_to_none=True)
    out = model(x).reshape(-1, 16)
    loss = lossf(out, y)
    loss.backward()
    opt.step()
    return loss


with torch.autograd.profiler.emit_nvtx():
    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = step()
    torch.cuda.synchronize()
    ms = (time.perf_counter() - t0) * 1e3 / steps
print("MS_PER_STEP %.3f" % ms)
if not math.isfinite(float(loss)):
    sys.exit("loss is not finite")
