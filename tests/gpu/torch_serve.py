"""torch_serve.py - a PyTorch "server" for the interactive-session GPU test
(tests/gpu/run-session-tests.sh, issue 11): it serves requests only when told to, so the
driver knows exactly which requests fall inside a collection window.

usage: torch_serve.py CMD_FIFO ACK_FIFO
  Opens CMD_FIFO for reading, then ACK_FIFO for writing, then reads one command a line:
    req N   serve N requests; request i (numbered from 1 over the run) is one NVTX range
            "request" around a forward pass of a small MLP on the GPU (two matmuls, a
            ReLU) and a synchronize; then writes "ok I MEAN_US" (I: the last request's
            number, MEAN_US: mean wall time per request of this batch, microseconds);
    quit    write "bye" and exit 0.
"""
import sys
import time

import torch


def main():
    cmd = open(sys.argv[1], "r")
    ack = open(sys.argv[2], "w")
    dev = torch.device("cuda")
    torch.manual_seed(0)
    w1 = torch.randn(1024, 1024, device=dev)
    w2 = torch.randn(1024, 1024, device=dev)
    x = torch.randn(64, 1024, device=dev)
    served = 0
    for line in cmd:
        words = line.split()
        if not words:
            continue
        if words[0] == "quit":
            ack.write("bye\n")
            ack.flush()
            return 0
        n = int(words[1])
        t0 = time.perf_counter()
        for _ in range(n):
            served += 1
            torch.cuda.nvtx.range_push("request")
            y = torch.relu(x @ w1) @ w2
            torch.cuda.synchronize()
            torch.cuda.nvtx.range_pop()
        dt = time.perf_counter() - t0
        ack.write("ok %d %.1f\n" % (served, dt * 1e6 / max(n, 1)))
        ack.flush()
    del y
    return 0


if __name__ == "__main__":
    sys.exit(main())
