#!/usr/bin/env python3
"""torch_engine.py - what an LLM engine does, for capture-range tests (issue 10).

A small fp16 transformer (6 nn.TransformerEncoderLayer: cuBLAS GEMMs, fused attention,
layer norms) plus a Conv1d front end (cuDNN) runs ITERS "decode steps".  Steps 2, 5 and 8
are bracketed for capture: --mark cuda (torch.cuda.profiler.start()/stop(), i.e.
cudaProfilerStart/Stop, for -c cudaProfilerApi) or --mark nvtx (an NVTX range "iter"
around those steps only, for -c nvtx -p iter).  Every step is also inside an NVTX range
"step".

  --graph none      eager steps
  --graph replay    the step is captured once into a torch.cuda.CUDAGraph during warm-up
                    (before any range) and replayed in every step: graph-exec creation
                    outside the ranges, launch inside them (the TensorRT-LLM recipe)
  --graph capture   the graph is captured and instantiated inside the first range, then
                    replayed (also in the later ranges)
  --streams 2       each step also runs a GEMM on a second stream, joined by events
  --compile         the feed-forward head goes through torch.compile (Triton kernels
                    loaded with the driver API); warmed up before any range
  --iters N         steps (default 10); with N > 9 the steps after the last range are
                    timed: "ms_per_step=" (the cost of the profiler outside its ranges)
  --memory          each captured step allocates and frees fresh tensors of a size the
                    caching allocator has not seen (cudaMalloc/cudaFree inside the range)

The captured steps do identical GPU work, so every per-range report holds the same
kernels per name; run-engine-matrix.sh checks that, and compares with nsys.
"""
import argparse

import torch

ap = argparse.ArgumentParser()
ap.add_argument("--graph", choices=("none", "replay", "capture"), default="none")
ap.add_argument("--streams", type=int, choices=(1, 2), default=1)
ap.add_argument("--mark", choices=("cuda", "nvtx"), default="cuda")
ap.add_argument("--compile", action="store_true")
ap.add_argument("--memory", action="store_true")
ap.add_argument("--iters", type=int, default=10)
a = ap.parse_args()

MARKED = (2, 5, 8)
dev = torch.device("cuda")
torch.manual_seed(0)
D, L, B, T = 256, 6, 8, 64
layers = torch.nn.TransformerEncoder(
    torch.nn.TransformerEncoderLayer(D, nhead=8, dim_feedforward=4 * D, batch_first=True),
    num_layers=L, enable_nested_tensor=False).to(dev).half().eval()
conv = torch.nn.Conv1d(D, D, kernel_size=3, padding=1).to(dev).half().eval()
head = torch.nn.Sequential(torch.nn.Linear(D, 2 * D), torch.nn.GELU(),
                           torch.nn.Linear(2 * D, D)).to(dev).half().eval()
if a.compile:
    head = torch.compile(head)
side_w = torch.randn(512, 512, device=dev, dtype=torch.half)
side_x = torch.randn(512, 512, device=dev, dtype=torch.half)
side = torch.cuda.Stream() if a.streams == 2 else None
static_x = torch.randn(B, T, D, device=dev, dtype=torch.half)


def step_body(x):
    h = conv(x.transpose(1, 2)).transpose(1, 2)
    h = layers(h)
    return head(h)


def side_work():
    if side is None:
        return None
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        r = side_x @ side_w
    torch.cuda.current_stream().wait_stream(side)
    return r


graph = None
static_out = None


def capture_graph():
    global graph, static_out
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):  # warm-up on a side stream, as PyTorch's docs do
        for _ in range(2):
            step_body(static_x)
    torch.cuda.current_stream().wait_stream(s)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        static_out = step_body(static_x)


def step(it):
    if a.memory and it in MARKED:
        n = (1 << 20) * (3 + it)  # a size the caching allocator has not cached
        tmp = torch.empty(n, device=dev, dtype=torch.uint8)
        tmp.fill_(1)
        del tmp
        torch.cuda.empty_cache()  # cudaFree inside the range
    if a.graph == "capture" and graph is None and it in MARKED:
        capture_graph()
    if graph is not None:
        graph.replay()
        out = static_out
    else:
        out = step_body(static_x)
    side_work()
    return out


with torch.no_grad():
    for _ in range(3):  # warm-up outside every range: cuBLAS/cuDNN handles, Triton, allocator
        step_body(static_x)
        side_work()
    if a.graph == "replay":
        capture_graph()
        graph.replay()
    torch.cuda.synchronize()
    import time
    free_s, free_n = 0.0, 0  # wall time of the steps outside every range
    for it in range(a.iters):
        t0 = time.perf_counter()
        torch.cuda.nvtx.range_push("step")
        marked = it in MARKED
        if marked and a.mark == "cuda":
            torch.cuda.profiler.start()
        if marked and a.mark == "nvtx":
            torch.cuda.nvtx.range_push("iter")
        step(it)
        torch.cuda.synchronize()
        if marked and a.mark == "nvtx":
            torch.cuda.nvtx.range_pop()
        if marked and a.mark == "cuda":
            torch.cuda.profiler.stop()
        torch.cuda.nvtx.range_pop()
        if not marked and it > max(MARKED):
            free_s += time.perf_counter() - t0
            free_n += 1
torch.cuda.synchronize()
print("torch_engine: %d steps done (graph=%s streams=%d mark=%s compile=%s memory=%s)"
      % (a.iters, a.graph, a.streams, a.mark, a.compile, a.memory))
if free_n:
    print("ms_per_step=%.4f (%d steps after the last range)" % (1e3 * free_s / free_n, free_n))
