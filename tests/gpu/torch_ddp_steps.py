# torch_ddp_steps.py - a data-parallel training loop in miniature for the recipe tests on
# one GPU (tests/gpu/run-recipe-tests.sh; issue 13): torchrun starts WORLD_SIZE processes,
# all on cuda:0, joined by torch.distributed on gloo (NCCL refuses two ranks on one
# device).  Each of STEPS steps is an NVTX range "step" holding "forward" (matmuls on
# the GPU) and "allreduce" (dist.all_reduce of a CUDA tensor on gloo).
#
# Made slow in known steps:
#   rank 1, steps 3 and 4: 8x the matmuls (more GPU kernel time, the same kernel);
#   rank 2, step 6: a 150 ms sleep before the all_reduce (a stalled data loader).
# usage: torchrun --nproc_per_node 4 --no-python gprof-cli profile ... python3 \
#            torch_ddp_steps.py [STEPS]
import os
import sys
import time

import torch
import torch.distributed as dist


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    rank = int(os.environ["RANK"])
    dist.init_process_group("gloo")
    dev = torch.device("cuda:0")
    a = torch.randn(2048, 2048, device=dev)
    b = torch.randn(2048, 2048, device=dev)
    g = torch.zeros(1 << 20, device=dev)
    for _ in range(3):  # warm-up outside the steps: cuBLAS handles, gloo pairs
        a @ b
        dist.all_reduce(g)
    torch.cuda.synchronize()
    for s in range(steps):
        torch.cuda.nvtx.range_push("step")
        torch.cuda.nvtx.range_push("forward")
        reps = 8 * 20 if rank == 1 and s in (3, 4) else 20
        for _ in range(reps):
            c = a @ b
        g += c[0, 0]
        torch.cuda.synchronize()
        torch.cuda.nvtx.range_pop()
        if rank == 2 and s == 6:
            time.sleep(0.15)
        torch.cuda.nvtx.range_push("allreduce")
        dist.all_reduce(g)
        torch.cuda.synchronize()
        torch.cuda.nvtx.range_pop()
        torch.cuda.nvtx.range_pop()
    dist.destroy_process_group()
    print(f"rank {rank}: {steps} steps")


if __name__ == "__main__":
    main()
