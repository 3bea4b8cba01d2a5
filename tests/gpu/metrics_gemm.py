# metrics_gemm.py - a tensor-core GEMM for the range-profiler tests (issue 5,
# tests/gpu/run-metrics-range-tests.sh): fp16 8192x8192 matrix products through PyTorch
# (cuBLAS), inside the NVTX range "gemm".  Usage: python3 metrics_gemm.py [ITERATIONS]
import sys

import torch

iters = int(sys.argv[1]) if len(sys.argv) > 1 else 2
n = 8192
a = torch.randn(n, n, device="cuda", dtype=torch.float16)
b = torch.randn(n, n, device="cuda", dtype=torch.float16)
torch.cuda.synchronize()
torch.cuda.nvtx.range_push("gemm")
for _ in range(iters):
    c = a @ b
torch.cuda.synchronize()
torch.cuda.nvtx.range_pop()
print("GEMM %d %dx%d checksum %.3f" % (iters, n, n, float(c[0, 0])))
