"""torch_nccl_payload.py - NCCL's NVTX extended payloads on one GPU (issue 13), for
tests/gpu/run-nccl-tests.sh: a one-rank NCCL process group (NCCL accepts one rank per
device) runs 5 all_reduce of 1 MiB (262,144 float32) and 3 broadcast of 8 KiB (1,024
float64), each of which NCCL 2.19+ annotates with an NVTX range in domain "NCCL" carrying
its communicator and message size as an extended payload."""
import os

import torch
import torch.distributed as dist

os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
os.environ.setdefault("MASTER_PORT", "29531")
torch.cuda.set_device(0)
dist.init_process_group("nccl", rank=0, world_size=1)
x = torch.ones(262144, device="cuda")
for _ in range(5):
    dist.all_reduce(x)
y = torch.ones(1024, device="cuda", dtype=torch.float64)
for _ in range(3):
    dist.broadcast(y, 0)
torch.cuda.synchronize()
dist.destroy_process_group()
print("allreduce_bytes", 262144 * 4, "broadcast_bytes", 1024 * 8)
