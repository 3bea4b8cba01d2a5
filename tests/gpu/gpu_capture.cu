// gpu_capture.cu - capture ranges (issue 4): 200 iterations, each launching the same GPU
// work (k_alpha x1, k_beta x2, k_gamma x3 and one device-to-device cudaMemcpyAsync).
//   default:  cudaProfilerStart() before and cudaProfilerStop() after iterations 0, 63
//             and 127 (for -c cudaProfilerApi); 0 and 63 synchronise before the Stop,
//             127 does not, so its kernels (k_gamma spins ~1 ms) complete after the
//             range closed and CUPTI delivers them late.
//   --nvtx:   no profiler API calls; every iteration is an NVTX range "step" (for
//             -c nvtx -p "step@*"), synchronised inside the range.
// Prints the per-report counts ("EXPECT all == N <SQL>", tests/gpu/gpu_common.h): every
// per-range report must hold exactly one iteration's work.
#include <cstring>
#include <cuda_profiler_api.h>
#include <nvtx3/nvToolsExt.h>
#include "gpu_common.h"

// API calls whose CUPTI name (e.g. "cudaLaunchKernel_v7000") matches a LIKE pattern
// (EXPECT prints the SQL as a printf format: write % as %%)
#define API_LIKE(pat)                                                                              \
	"SELECT count(*) FROM CUPTI_ACTIVITY_KIND_RUNTIME r JOIN StringIds s ON s.id = r.nameId "  \
	"WHERE s.value LIKE '" pat "'"

__global__ void k_alpha(float *a, int n)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n)
		a[i] += 1.0f;
}

__global__ void k_beta(float *a, int n)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n)
		a[i] *= 0.5f;
}

// spins for about `cycles` GPU clocks, so the work outlives a Stop without a sync
__global__ void k_gamma(float *a, long long cycles)
{
	long long t0 = clock64();
	while (clock64() - t0 < cycles)
		;
	if (threadIdx.x == 0)
		a[blockIdx.x] += 2.0f;
}

static void iteration(float *a, float *b, int n, cudaStream_t s)
{
	k_alpha<<<(n + 255) / 256, 256, 0, s>>>(a, n);
	for (int j = 0; j < 2; j++)
		k_beta<<<(n + 255) / 256, 256, 0, s>>>(a, n);
	for (int j = 0; j < 3; j++)
		k_gamma<<<1, 32, 0, s>>>(a, 2000000LL); // ~1 ms at ~2 GHz
	CK(cudaMemcpyAsync(b, a, n * sizeof(float), cudaMemcpyDeviceToDevice, s));
}

int main(int argc, char **argv)
{
	const int n = 1 << 16, iters = 200;
	int nvtx = argc > 1 && !strcmp(argv[1], "--nvtx");
	float *a, *b;
	cudaStream_t s;

	CK(cudaMalloc(&a, n * sizeof(float)));
	CK(cudaMalloc(&b, n * sizeof(float)));
	CK(cudaMemset(a, 0, n * sizeof(float)));
	CK(cudaStreamCreate(&s));
	CK(cudaDeviceSynchronize());
	for (int it = 0; it < iters; it++) {
		int captured = it == 0 || it == 63 || it == 127;
		if (nvtx) {
			nvtxRangePushA("step");
			iteration(a, b, n, s);
			CK(cudaStreamSynchronize(s));
			nvtxRangePop();
			continue;
		}
		if (captured)
			CK(cudaProfilerStart());
		iteration(a, b, n, s);
		if (it != 127) // 127: Stop while the GPU is still busy
			CK(cudaStreamSynchronize(s));
		if (captured)
			CK(cudaProfilerStop());
	}
	CK(cudaDeviceSynchronize());
	CK(cudaFree(a));
	CK(cudaFree(b));
	EXPECT("all", "==", 1, KERNELS_NAMED("k_alpha"));
	EXPECT("all", "==", 2, KERNELS_NAMED("k_beta"));
	EXPECT("all", "==", 3, KERNELS_NAMED("k_gamma"));
	EXPECT("all", "==", 6, "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_KERNEL");
	EXPECT("all", "==", 1, "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_MEMCPY");
	EXPECT("all", "==", 6, API_LIKE("cudaLaunchKernel_%%"));
	EXPECT("all", "==", 1, API_LIKE("cudaMemcpyAsync_%%"));
	// every kernel's launch is in the same report
	EXPECT("all", "==", 6,
	       "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN CUPTI_ACTIVITY_KIND_RUNTIME "
	       "r ON r.correlationId = k.correlationId");
	// no API call from before or after the range
	EXPECT("all", "==", 0, API_LIKE("cudaMalloc_%%") " OR s.value LIKE 'cudaFree_%%'");
	return 0;
}
