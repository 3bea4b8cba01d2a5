#!/usr/bin/env python3
"""torch_capture.py - capture ranges with PyTorch (issue 4): 200 identical small
training steps (a 3-layer MLP, plain SGD: no optimizer state, so every step launches
the same kernels) on the GPU.

  default:  torch.cuda.profiler.start() before and .stop() after steps 0, 63 and 127
            (cudaProfilerStart/Stop, for -c cudaProfilerApi); each step ends with
            torch.cuda.synchronize() except 127, whose kernels finish after the Stop.
  --nvtx:   every step is an NVTX range "step" (torch.cuda.nvtx), synchronised inside.

Three warm-up steps run first, outside every range (cuBLAS handles, the caching
allocator, lazy module loading), so the captured steps are alike.  The kernels a step
launches are not known here: run-gpu-tests.sh checks that the 3 reports hold the same
kernels (per name) and that each report's kernels all have their launch in that report.
"""
import sys

import torch

nvtx = "--nvtx" in sys.argv[1:]
dev = torch.device("cuda")
torch.manual_seed(0)
model = torch.nn.Sequential(
    torch.nn.Linear(256, 512), torch.nn.ReLU(),
    torch.nn.Linear(512, 512), torch.nn.ReLU(),
    torch.nn.Linear(512, 10)).to(dev)
opt = torch.optim.SGD(model.parameters(), lr=1e-3)
x = torch.randn(128, 256, device=dev)
y = torch.randint(0, 10, (128,), device=dev)
loss_fn = torch.nn.CrossEntropyLoss()


def step():
    opt.zero_grad(set_to_none=False)
    loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()


for _ in range(3):
    step()
torch.cuda.synchronize()

for it in range(200):
    captured = it in (0, 63, 127)
    if nvtx:
        torch.cuda.nvtx.range_push("step")
        step()
        torch.cuda.synchronize()
        torch.cuda.nvtx.range_pop()
        continue
    if captured:
        torch.cuda.profiler.start()
    step()
    if it != 127:
        torch.cuda.synchronize()
    if captured:
        torch.cuda.profiler.stop()
torch.cuda.synchronize()
print("torch_capture: 200 steps done")
