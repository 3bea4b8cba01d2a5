#!/usr/bin/env python3
"""torch_launch_bound.py - a launch-bound PyTorch loop for analyze's launch_bound rule
(tests/gpu/run-analyze-tests.sh): STEPS NVTX ranges "step" (torch.cuda.nvtx), each
OPS tiny element-wise operations on a 1024-element tensor, run eagerly (one kernel per
operation, Python and PyTorch's dispatch between them) or replayed as one CUDA graph
(torch.cuda.CUDAGraph) captured once before the loop.

Usage: torch_launch_bound.py eager|graph [STEPS (200)] [OPS (100)]
One warm-up step runs first inside an NVTX range "warmup" (fewer kernels than the rule
needs).  Prints "KERNELS <n>" (operations in the loop) and "ELAPSED <mode> <ms> ms
<us per op> us/op", and exits 1 when the result is wrong.
"""
import sys
import time

import torch

mode = sys.argv[1] if len(sys.argv) > 1 else ""
if mode not in ("eager", "graph"):
    sys.exit("usage: torch_launch_bound.py eager|graph [steps] [ops]")
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 200
ops = int(sys.argv[3]) if len(sys.argv) > 3 else 100
dev = torch.device("cuda")
x = torch.zeros(1024, device=dev)


def body():
    # each in-place add is one small kernel
    for _ in range(ops):
        x.add_(1.0)


s = torch.cuda.Stream()
s.wait_stream(torch.cuda.current_stream())
with torch.cuda.stream(s):
    torch.cuda.nvtx.range_push("warmup")
    body()
    torch.cuda.nvtx.range_pop()
torch.cuda.current_stream().wait_stream(s)
torch.cuda.synchronize()
done = ops
g = None
if mode == "graph":
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        body()
torch.cuda.synchronize()
t0 = time.perf_counter()
for _ in range(steps):
    torch.cuda.nvtx.range_push("step")
    if g is not None:
        g.replay()
    else:
        body()
    torch.cuda.nvtx.range_pop()
torch.cuda.synchronize()
ms = (time.perf_counter() - t0) * 1e3
n = steps * ops
print("KERNELS %d" % n)
print("ELAPSED %s %.3f ms %.3f us/op" % (mode, ms, ms * 1e3 / n))
want = float(done + n)
if x[0].item() != want or x[-1].item() != want:
    sys.exit("torch_launch_bound: wrong result %f, want %f" % (x[0].item(), want))
