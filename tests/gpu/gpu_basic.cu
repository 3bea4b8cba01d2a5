// gpu_basic.cu - templated and extern "C" kernels, several streams, events, copies of
// every kind (pageable, pinned, device, managed), memsets, cudaMalloc/Free and
// cudaMallocAsync/FreeAsync.  Prints the counts the report must hold.
#include <cstring>
#include "gpu_common.h"

template <typename T> __global__ void add(T *a, const T *b, int n)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n)
		a[i] += b[i];
}

extern "C" __global__ void scale_c(float *a, float s, int n)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n)
		a[i] *= s;
}

__global__ void noop()
{
}

int main()
{
	const int n = 1 << 20;
	const size_t bytes = n * sizeof(float);
	float *d_a, *d_b, *h_pin, *m, *d_async;
	int *d_i;
	cudaStream_t s[3];
	cudaEvent_t ev;

	CK(cudaMalloc(&d_a, bytes));
	CK(cudaMalloc(&d_b, bytes));
	CK(cudaMalloc(&d_i, n * sizeof(int)));
	float *h_page = (float *)malloc(bytes);
	memset(h_page, 0, bytes);
	CK(cudaMallocHost(&h_pin, bytes));
	CK(cudaMallocManaged(&m, bytes));
	for (int i = 0; i < 3; i++)
		CK(cudaStreamCreate(&s[i]));
	CK(cudaEventCreate(&ev));

	CK(cudaMemcpy(d_a, h_page, bytes, cudaMemcpyHostToDevice));	      // HtoD pageable
	CK(cudaMemcpyAsync(d_b, h_pin, bytes, cudaMemcpyHostToDevice, s[0])); // HtoD pinned
	CK(cudaStreamSynchronize(s[0]));
	CK(cudaMemcpyAsync(d_a, d_b, bytes, cudaMemcpyDeviceToDevice, s[1])); // DtoD
	CK(cudaStreamSynchronize(s[1]));

	for (int i = 0; i < 10; i++)
		add<float><<<n / 256, 256, 0, s[i % 3]>>>(d_a, d_b, n);
	for (int i = 0; i < 5; i++)
		add<int><<<n / 256, 256, 0, s[1]>>>(d_i, d_i, n);
	for (int i = 0; i < 7; i++)
		scale_c<<<n / 256, 256, 0, s[2]>>>(d_a, 1.0f, n);
	scale_c<<<n / 256, 256>>>(m, 2.0f, n); // managed memory
	for (int i = 0; i < 3; i++)
		noop<<<1, 1>>>();
	CK(cudaGetLastError());

	CK(cudaMemset(d_a, 0, bytes));
	CK(cudaMemsetAsync(d_b, 1, bytes, s[0]));

	CK(cudaEventRecord(ev, s[0]));
	CK(cudaStreamWaitEvent(s[1], ev, 0));
	CK(cudaEventSynchronize(ev));
	for (int i = 0; i < 3; i++)
		CK(cudaStreamSynchronize(s[i]));
	CK(cudaDeviceSynchronize());

	CK(cudaMallocAsync((void **)&d_async, bytes, s[0]));
	CK(cudaMemsetAsync(d_async, 0, bytes, s[0]));
	CK(cudaFreeAsync(d_async, s[0]));
	CK(cudaStreamSynchronize(s[0]));

	CK(cudaMemcpy(h_pin, d_a, bytes, cudaMemcpyDeviceToHost));  // DtoH pinned
	CK(cudaMemcpy(h_page, d_a, bytes, cudaMemcpyDeviceToHost)); // DtoH pageable
	float host_sum = m[0] + h_pin[0] + h_page[0];		    // touch managed memory

	CK(cudaFree(d_a));
	CK(cudaFree(d_b));
	CK(cudaFree(d_i));
	CK(cudaFree(m));
	CK(cudaFreeHost(h_pin));
	free(h_page);
	printf("done %g\n", host_sum);

	EXPECT("all", "==", 15, KERNELS_NAMED("add"));
	EXPECT("all", "==", 10,
	       "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN StringIds s ON s.id = "
	       "k.demangledName WHERE s.value = 'void add<float>(T1 *, const T1 *, int)'");
	EXPECT("all", "==", 8, KERNELS_NAMED("scale_c"));
	EXPECT("all", "==", 8,
	       "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN StringIds s ON s.id = "
	       "k.mangledName WHERE s.value = 'scale_c'");
	EXPECT("all", "==", 3, KERNELS_NAMED("noop"));
	EXPECT("all", "==", 26, "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_KERNEL");
	EXPECT("all", "==", 26, API_NAMED("cudaLaunchKernel_v7000"));
	EXPECT("all", "==", 26,
	       "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN CUPTI_ACTIVITY_KIND_RUNTIME "
	       "r ON r.correlationId = k.correlationId WHERE r.start <= k.start");
	EXPECT("all", "==", 4, "SELECT count(DISTINCT streamId) FROM CUPTI_ACTIVITY_KIND_KERNEL");
	EXPECT("all", "==", 2,
	       "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_MEMCPY WHERE copyKind = 1");
	EXPECT(
	    "all", "==", 1,
	    "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_MEMCPY WHERE copyKind = 1 AND srcKind = 0");
	EXPECT("all", "==", 1,
	       "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_MEMCPY WHERE copyKind = 1 AND srcKind = 1 "
	       "AND dstKind = 2");
	EXPECT("all", "==", 2,
	       "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_MEMCPY WHERE copyKind = 2");
	EXPECT("all", "==", 1,
	       "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_MEMCPY WHERE copyKind = 8");
	EXPECT("all", "==", 5 * (long long)bytes,
	       "SELECT sum(bytes) FROM CUPTI_ACTIVITY_KIND_MEMCPY");
	EXPECT("all", "==", 3, "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_MEMSET");
	EXPECT("all", "==", 3, "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_MEMSET WHERE memKind = 2");
	// syncType as nsys 2025.3 writes it (core/report_cuda.c): the cudaEventSynchronize 1;
	// the cudaStreamWaitEvent and the stream syncs 2: 3 cudaStreamSynchronize + those
	// inside the blocking cudaMemcpy calls (7 in all on the H200 with CUDA 13.0); the
	// cudaDeviceSynchronize 4
	EXPECT("all", "==", 1,
	       "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_SYNCHRONIZATION WHERE syncType = 1");
	EXPECT("all", ">=", 6,
	       "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_SYNCHRONIZATION WHERE syncType = 2");
	EXPECT("all", ">=", 1,
	       "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_SYNCHRONIZATION WHERE syncType = 4");
	EXPECT("all", "==", 0,
	       "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_SYNCHRONIZATION WHERE syncType IN (0, 3)");
	/* one row per device the process sees (CUPTI reports every device, used or not) */
	int ndev = 0;
	CK(cudaGetDeviceCount(&ndev));
	EXPECT("all", "==", ndev, "SELECT count(*) FROM TARGET_INFO_GPU WHERE smCount > 0");
	EXPECT("all", "==", ndev, "SELECT count(*) FROM TARGET_INFO_CUDA_DEVICE");
	EXPECT("all", ">=", 4, "SELECT count(*) FROM TARGET_INFO_CUDA_STREAM");
	EXPECT("all", "==", 0, API_NAMED("cudaGetLastError_v3020"));
	EXPECT("mem", "==", 4,
	       "SELECT count(*) FROM CUDA_GPU_MEMORY_USAGE_EVENTS WHERE memKind = 2 AND "
	       "memoryOperationType = 0");
	EXPECT("mem", "==", 4,
	       "SELECT count(*) FROM CUDA_GPU_MEMORY_USAGE_EVENTS WHERE memKind = 2 AND "
	       "memoryOperationType = 1");
	EXPECT("mem", "==", 1,
	       "SELECT count(*) FROM CUDA_GPU_MEMORY_USAGE_EVENTS WHERE memKind = 2 AND "
	       "memoryOperationType = 0 AND streamId IS NOT NULL");
	return 0;
}
