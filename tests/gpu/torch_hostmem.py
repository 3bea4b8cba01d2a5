#!/usr/bin/env python3
"""torch_hostmem.py - host and GPU memory peaks in different NVTX ranges (issue 20), for
`gprof-cli profile --host-memory-usage=true --cuda-memory-usage=true` and
`stats -r cpu_mem_peak,mem_peak` (tests/gpu/run-hostmem-tests.sh checks the report).

  "stage": a 256 MiB pinned staging buffer (pin_memory=True: cudaHostAlloc through
           PyTorch's caching host allocator), filled and copied to the GPU
  "host":  a 512 MiB pageable CPU tensor (posix_memalign in c10), filled, then freed:
           the host (malloc/mmap) peak
  "gpu":   a 1 GiB GPU tensor, filled, then freed with empty_cache(): the GPU peak

Prints the sizes it used as "key value" lines.
"""
import torch

MiB = 1 << 20
dev = torch.device("cuda")
torch.cuda.init()
torch.zeros(1, device=dev)  # context, caching allocator, lazy modules: outside the ranges
torch.cuda.synchronize()

torch.cuda.nvtx.range_push("stage")
pinned = torch.empty(256 * MiB, dtype=torch.uint8, pin_memory=True)
pinned.fill_(1)
staged = pinned.to(dev, non_blocking=True)
torch.cuda.synchronize()
torch.cuda.nvtx.range_pop()

torch.cuda.nvtx.range_push("host")
host = torch.empty(512 * MiB, dtype=torch.uint8)
host.fill_(2)
s = int(host[::4096].sum())
del host
torch.cuda.nvtx.range_pop()

torch.cuda.nvtx.range_push("gpu")
big = torch.empty(1024 * MiB, dtype=torch.uint8, device=dev)
big.fill_(3)
torch.cuda.synchronize()
del big, staged
torch.cuda.empty_cache()
torch.cuda.nvtx.range_pop()

print("pinned_bytes", 256 * MiB)
print("host_bytes", 512 * MiB)
print("gpu_bytes", 1024 * MiB)
print("checksum", s)
