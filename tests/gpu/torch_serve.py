"""torch_serve.py - a PyTorch "server" for the interactive-session GPU test
(tests/gpu/run-session-tests.sh, issue 11): it serves requests only when told to, so the
driver knows exactly which requests fall inside a collection window.

usage: torch_serve.py CMD_FIFO ACK_FIFO
  Opens CMD_FIFO for reading, then ACK_FIFO for writing, then reads one command a line:
    req N   serve N requests; request i (numbered from 1 over the run) is one NVTX range
            "request" around a forward pass of a small MLP on the GPU (two matmuls, a
            ReLU) and a synchronize; then writes "ok I MEAN_US" (I: the last request's
            number, MEAN_US: mean wall time per request of this batch, microseconds);
    graph   capture the request's forward pass as a CUDA graph (torch.cuda.graph, on a
            side stream as engines do); writes "ok 0 0";
    greq N  as req, each request one replay of that graph;
    prof N  cudaProfilerStart, greq N, cudaProfilerStop (the -c cudaProfilerApi trigger
            of an engine's profiling window);
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
    graph = None
    y = None

    def serve(n, replay):
        nonlocal served, y
        for _ in range(n):
            served += 1
            torch.cuda.nvtx.range_push("request")
            if replay:
                graph.replay()
            else:
                y = torch.relu(x @ w1) @ w2
            torch.cuda.synchronize()
            torch.cuda.nvtx.range_pop()

    for line in cmd:
        words = line.split()
        if not words:
            continue
        if words[0] == "quit":
            ack.write("bye\n")
            ack.flush()
            return 0
        if words[0] == "graph":
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):  # warm-up outside the capture, as documented
                y = torch.relu(x @ w1) @ w2
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                y = torch.relu(x @ w1) @ w2
            torch.cuda.synchronize()
            ack.write("ok 0 0\n")
            ack.flush()
            continue
        n = int(words[1])
        t0 = time.perf_counter()
        if words[0] == "prof":
            torch.cuda.profiler.start()
            serve(n, True)
            torch.cuda.profiler.stop()
        else:
            serve(n, words[0] == "greq")
        dt = time.perf_counter() - t0
        ack.write("ok %d %.1f\n" % (served, dt * 1e6 / max(n, 1)))
        ack.flush()
    del y
    return 0


if __name__ == "__main__":
    sys.exit(main())
