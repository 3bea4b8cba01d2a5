// metrics_sampling.cu - three phases of known GPU character for the PM-sampling test
// (tests/gpu/run-metrics-sampling-tests.sh), each in its own NVTX push/pop range:
//   copy  a DRAM-bandwidth-bound float4 copy of 1 GiB, relaunched for ~PHASE ms;
//   idle  the host sleeps PHASE ms, nothing runs on the GPU;
//   fma   a compute-bound kernel (independent FMA chains in registers, no memory
//         traffic) on every SM, relaunched for ~PHASE ms.
// Usage: metrics_sampling [PHASE_MS (default 300)]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <nvtx3/nvToolsExt.h>

#include "gpu_common.h"

__global__ void copy_kernel(float4 *__restrict__ dst, const float4 *__restrict__ src, size_t n)
{
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
	     i += (size_t)gridDim.x * blockDim.x)
		dst[i] = src[i];
}

__global__ void fma_kernel(float *out, int iters)
{
	float a = threadIdx.x, b = a + 1, c = a + 2, d = a + 3;
	const float m = 0.9999f, k = 0.0001f;
	for (int i = 0; i < iters; i++) {
		a = fmaf(a, m, k);
		b = fmaf(b, m, k);
		c = fmaf(c, m, k);
		d = fmaf(d, m, k);
	}
	if (a + b + c + d == 12345.0f) // never true; keeps the chains alive
		out[threadIdx.x] = a;
}

static double ms_since(std::chrono::steady_clock::time_point t0)
{
	return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
	    .count();
}

int main(int argc, char **argv)
{
	int phase_ms = argc > 1 ? atoi(argv[1]) : 300;
	size_t bytes = (size_t)1 << 30, n = bytes / sizeof(float4);
	float4 *src, *dst;
	float *out;
	int sms = 0, copies = 0, fmas = 0;

	CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
	CK(cudaMalloc(&src, bytes));
	CK(cudaMalloc(&dst, bytes));
	CK(cudaMalloc(&out, 1024 * sizeof(float)));
	CK(cudaMemset(src, 1, bytes));
	CK(cudaDeviceSynchronize());

	nvtxRangePushA("copy");
	auto t0 = std::chrono::steady_clock::now();
	while (ms_since(t0) < phase_ms) {
		for (int i = 0; i < 20; i++, copies++)
			copy_kernel<<<sms * 8, 512>>>(dst, src, n);
		CK(cudaDeviceSynchronize());
	}
	nvtxRangePop();

	nvtxRangePushA("idle");
	std::this_thread::sleep_for(std::chrono::milliseconds(phase_ms));
	nvtxRangePop();

	nvtxRangePushA("fma");
	t0 = std::chrono::steady_clock::now();
	while (ms_since(t0) < phase_ms) {
		for (int i = 0; i < 4; i++, fmas++)
			fma_kernel<<<sms * 16, 256>>>(out, 1 << 15);
		CK(cudaDeviceSynchronize());
	}
	nvtxRangePop();
	CK(cudaGetLastError());
	printf("phase_ms=%d sms=%d copy_kernels=%d fma_kernels=%d\n", phase_ms, sms, copies, fmas);
	CK(cudaFree(src));
	CK(cudaFree(dst));
	CK(cudaFree(out));
	return 0;
}
