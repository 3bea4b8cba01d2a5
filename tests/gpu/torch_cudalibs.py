"""torch_cudalibs.py - the PyTorch workload of the cuBLAS/cuDNN tracing check
(tests/gpu/cudalibs_check.py, -t cublas,cudnn): cuBLAS and cuDNN calls in NVTX ranges of
their own, on the main thread.

  matmul  ITERS x fp16 256x256 @ 256x256 (torch.mm: cuBLAS / cuBLASLt GEMM)
  linear  ITERS x fp16 nn.Linear with bias (addmm: cuBLASLt with a bias epilogue)
  bmm     ITERS x fp32 batched 8 x 64x64 (strided-batched GEMM)
  conv    ITERS x fp16 nn.Conv2d(16, 32, 3) on 8x16x32x32 (cuDNN v9: backend API)

Each phase is one NVTX push/pop range ("matmul", "linear", "bmm", "conv") that ends after a
torch.cuda.synchronize().  Usage: torch_cudalibs.py OUT.json [ITERS]; OUT.json gets the
versions, the main thread's id, the cuBLAS/cuDNN files mapped in the process and whether
libgprof-cudalibs.so was mapped (the collector is preloaded only with -t cublas/cudnn).
"""
import json
import os
import sys
import threading
import time

import torch


def mapped(*names):
    """Files mapped in this process whose name contains one of names."""
    out = set()
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and any(n in os.path.basename(parts[5]) for n in names):
                out.add(parts[5])
    return sorted(out)


def main():
    out = sys.argv[1]
    iters = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    torch.backends.cudnn.benchmark = False
    dev = torch.device("cuda")
    a = torch.randn(256, 256, device=dev, dtype=torch.float16)
    b = torch.randn(256, 256, device=dev, dtype=torch.float16)
    lin = torch.nn.Linear(256, 128, bias=True).to(dev, torch.float16)
    x = torch.randn(64, 256, device=dev, dtype=torch.float16)
    p = torch.randn(8, 64, 64, device=dev)
    r = torch.randn(8, 64, 64, device=dev)
    conv = torch.nn.Conv2d(16, 32, 3, padding=1).to(dev, torch.float16)
    img = torch.randn(8, 16, 32, 32, device=dev, dtype=torch.float16)
    torch.cuda.synchronize()

    t0 = time.perf_counter()
    with torch.no_grad():
        for name, fn in (("matmul", lambda: a @ b), ("linear", lambda: lin(x)),
                         ("bmm", lambda: torch.bmm(p, r)), ("conv", lambda: conv(img))):
            torch.cuda.nvtx.range_push(name)
            for _ in range(iters):
                fn()
            torch.cuda.synchronize()
            torch.cuda.nvtx.range_pop()
    wall = time.perf_counter() - t0

    info = {
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version(),
        "iters": iters,
        "main_tid": threading.get_native_id(),
        "pid": os.getpid(),
        "cublas_files": mapped("libcublas"),
        "cudnn_files": mapped("libcudnn"),
        "preloaded": bool(mapped("libgprof-cudalibs.so")),
        "phases_s": wall,
    }
    with open(out, "w") as f:
        json.dump(info, f, indent=1)


if __name__ == "__main__":
    main()
