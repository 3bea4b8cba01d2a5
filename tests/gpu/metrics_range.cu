// metrics_range.cu - kernels of known character for the range-profiler tests
// (tests/gpu/run-metrics-range-tests.sh, issue 5):
//   copy_kernel  bandwidth-bound: streams 2 x 512 MiB (far more than the 60 MB L2), so
//                DRAM throughput is high and SM throughput low;
//   fma_kernel   compute-bound: a long dependent FMA chain per thread on registers, so SM
//                throughput is high and DRAM throughput near zero;
//   a CUDA graph of two small kernel nodes (graph_node_a, graph_node_b), launched once.
// Each phase runs inside an NVTX push/pop range ("copy_phase", "fma_phase", "graph_phase")
// on the default domain, so --gpu-metrics-ranges=nvtx gives one range per phase.
// Usage: metrics_range [ITERATIONS [nograph]]  (default 3; nograph: no graph launch).  Prints
// "LAUNCHES <name> <n>" per kernel, "RANGES <name> <n>" per NVTX range and "GRAPH_NODES <n>" for
// the checks.
#include <nvtx3/nvToolsExt.h>

#include <cstring>

#include "gpu_common.h"

__global__ void copy_kernel(const float4 *__restrict__ in, float4 *__restrict__ out, size_t n)
{
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
	     i += (size_t)gridDim.x * blockDim.x)
		out[i] = in[i];
}

__global__ void fma_kernel(float *out, int iters)
{
	float a = threadIdx.x * 1e-3f, b = 1.0001f, c = 0.9999f, d = blockIdx.x * 1e-4f;
	for (int i = 0; i < iters; i++) {
		a = fmaf(a, b, c);
		d = fmaf(d, c, b);
		b = fmaf(b, a, d);
		c = fmaf(c, d, a);
	}
	if (a + b + c + d == 1234.5f) // never true; keeps the chain alive
		out[blockIdx.x] = a;
}

__global__ void graph_node_a(float *x)
{
	x[threadIdx.x] += 1.0f;
}

__global__ void graph_node_b(float *x)
{
	x[threadIdx.x] *= 2.0f;
}

int main(int argc, char **argv)
{
	int iters = argc > 1 ? atoi(argv[1]) : 3;
	int graph = !(argc > 2 && !strcmp(argv[2], "nograph"));
	const size_t n = (512ull << 20) / sizeof(float4);
	float4 *in, *out;
	float *small;
	int sms = 0;

	CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
	CK(cudaMalloc(&in, n * sizeof(float4)));
	CK(cudaMalloc(&out, n * sizeof(float4)));
	CK(cudaMalloc(&small, 1024 * sizeof(float)));
	CK(cudaMemset(in, 0, n * sizeof(float4)));
	CK(cudaMemset(small, 0, 1024 * sizeof(float)));

	nvtxRangePushA("copy_phase");
	for (int i = 0; i < iters; i++)
		copy_kernel<<<sms * 8, 512>>>(in, out, n);
	CK(cudaDeviceSynchronize());
	nvtxRangePop();

	nvtxRangePushA("fma_phase");
	for (int i = 0; i < iters; i++)
		fma_kernel<<<sms * 16, 256>>>(small, 20000);
	CK(cudaDeviceSynchronize());
	nvtxRangePop();

	cudaStream_t s;
	cudaGraph_t g;
	cudaGraphExec_t ge;
	CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
	CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
	graph_node_a<<<1, 256, 0, s>>>(small);
	graph_node_b<<<1, 256, 0, s>>>(small);
	CK(cudaStreamEndCapture(s, &g));
	CK(cudaGraphInstantiate(&ge, g, 0));
	nvtxRangePushA("graph_phase");
	if (graph)
		CK(cudaGraphLaunch(ge, s));
	CK(cudaStreamSynchronize(s));
	nvtxRangePop();

	printf("LAUNCHES copy_kernel %d\n", iters);
	printf("LAUNCHES fma_kernel %d\n", iters);
	printf("GRAPH_NODES %d\n", graph ? 2 : 0);
	printf("RANGES copy_phase 1\nRANGES fma_phase 1\nRANGES graph_phase 1\n");
	CK(cudaGraphExecDestroy(ge));
	CK(cudaGraphDestroy(g));
	CK(cudaStreamDestroy(s));
	CK(cudaFree(in));
	CK(cudaFree(out));
	CK(cudaFree(small));
	return 0;
}
