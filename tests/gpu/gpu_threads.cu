// gpu_threads.cu - 4 threads, each launching 250 kernels on its own stream; ends with
// cudaDeviceReset (the collector must flush before the context goes).
#include <thread>
#include <vector>
#include "gpu_common.h"

__global__ void tk(int *x, int v)
{
	x[threadIdx.x] = v;
}

int main()
{
	const int threads = 4, per = 250;
	std::vector<std::thread> ts;
	CK(cudaFree(0));
	for (int t = 0; t < threads; t++)
		ts.emplace_back([t] {
			int *d;
			cudaStream_t s;
			CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
			CK(cudaMalloc(&d, 64 * sizeof(int)));
			for (int i = 0; i < per; i++)
				tk<<<1, 64, 0, s>>>(d, t * 1000 + i);
			CK(cudaStreamSynchronize(s));
			CK(cudaFree(d));
			CK(cudaStreamDestroy(s));
		});
	for (auto &t : ts)
		t.join();
	CK(cudaDeviceReset());
	printf("done\n");

	EXPECT("all", "==", threads * per, KERNELS_NAMED("tk"));
	EXPECT("all", "==", threads,
	       "SELECT count(DISTINCT globalTid) FROM CUPTI_ACTIVITY_KIND_RUNTIME r JOIN StringIds "
	       "s ON s.id = r.nameId WHERE s.value = 'cudaLaunchKernel_v7000'");
	EXPECT("all", "==", per,
	       "SELECT min(c) FROM (SELECT count(*) c FROM CUPTI_ACTIVITY_KIND_RUNTIME r JOIN "
	       "StringIds s ON s.id = r.nameId WHERE s.value = 'cudaLaunchKernel_v7000' GROUP BY "
	       "globalTid)");
	EXPECT("all", "==", per,
	       "SELECT max(c) FROM (SELECT count(*) c FROM CUPTI_ACTIVITY_KIND_RUNTIME r JOIN "
	       "StringIds s ON s.id = r.nameId WHERE s.value = 'cudaLaunchKernel_v7000' GROUP BY "
	       "globalTid)");
	EXPECT("all", "==", threads,
	       "SELECT count(DISTINCT streamId) FROM CUPTI_ACTIVITY_KIND_KERNEL");
	EXPECT("all", ">=", threads, "SELECT count(*) FROM TARGET_INFO_CUDA_STREAM WHERE flag = 2");
	return 0;
}
