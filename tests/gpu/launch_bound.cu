// launch_bound.cu - a launch-bound loop for `gprof-cli analyze`'s launch_bound rule
// (tests/gpu/run-analyze-tests.sh): ITERS iterations, each an NVTX range "iteration"
// holding PER tiny kernels on one stream, either launched one by one (eager: the GPU
// idles between kernels while the CPU launches the next) or replayed as one CUDA graph
// captured once before the loop (graph: the same kernels, back to back on the GPU).
//
// Usage: launch_bound eager|graph [ITERS (300)] [PER (200)]
// Prints "KERNELS <n>" (kernels run in the loop), "ELAPSED <mode> <ms> ms
// <us per kernel> us/kernel" (host wall time of the loop, to the final synchronize) and
// fails (exit 1) when the result is wrong (every kernel adds 1 to each element).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <nvtx3/nvToolsExt.h>

#include "gpu_common.h"

__global__ void tiny(float *x)
{
	x[threadIdx.x] += 1.0f;
}

int main(int argc, char **argv)
{
	int graph = argc > 1 && !strcmp(argv[1], "graph");
	int iters = argc > 2 ? atoi(argv[2]) : 300, per = argc > 3 ? atoi(argv[3]) : 200;
	cudaGraphExec_t exec = nullptr;
	cudaGraph_t g = nullptr;
	cudaStream_t s;
	float *d, h[32];

	if (argc < 2 || (!graph && strcmp(argv[1], "eager")) || iters < 1 || per < 1) {
		fprintf(stderr, "usage: launch_bound eager|graph [iters] [per]\n");
		return 2;
	}
	CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
	CK(cudaMalloc(&d, sizeof(h)));
	CK(cudaMemsetAsync(d, 0, sizeof(h), s));
	tiny<<<1, 32, 0, s>>>(d); // warm-up: module load, first launch
	CK(cudaStreamSynchronize(s));
	if (graph) {
		CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
		for (int k = 0; k < per; k++)
			tiny<<<1, 32, 0, s>>>(d);
		CK(cudaStreamEndCapture(s, &g));
		CK(cudaGraphInstantiateWithFlags(&exec, g, 0));
	}
	auto t0 = std::chrono::steady_clock::now();
	for (int it = 0; it < iters; it++) {
		nvtxRangePushA("iteration");
		if (graph)
			CK(cudaGraphLaunch(exec, s));
		else
			for (int k = 0; k < per; k++)
				tiny<<<1, 32, 0, s>>>(d);
		nvtxRangePop();
	}
	CK(cudaStreamSynchronize(s));
	auto t1 = std::chrono::steady_clock::now();
	CK(cudaGetLastError());
	CK(cudaMemcpy(h, d, sizeof(h), cudaMemcpyDeviceToHost));
	double ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
	long long n = (long long)iters * per;
	printf("KERNELS %lld\n", n);
	printf("ELAPSED %s %.3f ms %.3f us/kernel\n", graph ? "graph" : "eager", ms,
	       ms * 1000.0 / (double)n);
	if (h[0] != (float)(n + 1) || h[31] != (float)(n + 1)) {
		fprintf(stderr, "launch_bound: wrong result %f, want %lld\n", h[0], n + 1);
		return 1;
	}
	if (graph) {
		CK(cudaGraphExecDestroy(exec));
		CK(cudaGraphDestroy(g));
	}
	CK(cudaFree(d));
	CK(cudaStreamDestroy(s));
	return 0;
}
