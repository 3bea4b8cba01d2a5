// gpu_subscriber.cu - an application that is itself a CUPTI client: it subscribes to
// CUPTI (cuptiSubscribe_v2, subscriber name "gpu_subscriber_test") before its first CUDA
// call, then runs 3 kernels inside an NVTX range "sub_work" and exits with status 3.
// Under `gprof-cli profile -t cuda,nvtx` the cuda collector cannot subscribe: it must say
// so in one line naming "gpu_subscriber_test", NVTX must still be traced and profile must
// exit with the application's status 3 (tests/gpu/run-gpu-tests.sh, "subscriber").
// CUPTI is dlopen'd (libcupti.so.13, else $CUDA_HOME or /usr/local/cuda extras/CUPTI).
#include <cupti.h>
#include <dlfcn.h>
#include <nvtx3/nvToolsExt.h>

#include "gpu_common.h"

typedef CUptiResult (*subscribe_fn)(CUpti_SubscriberHandle *, CUpti_CallbackFunc, void *,
				    CUpti_SubscriberParams *);

static void CUPTIAPI on_callback(void *, CUpti_CallbackDomain, CUpti_CallbackId, const void *)
{
}

static void *open_cupti()
{
	const char *home = getenv("CUDA_HOME");
	char path[4096];
	void *h = dlopen("libcupti.so.13", RTLD_NOW);

	if (!h && home) {
		snprintf(path, sizeof(path), "%s/extras/CUPTI/lib64/libcupti.so.13", home);
		h = dlopen(path, RTLD_NOW);
	}
	if (!h)
		h = dlopen("/usr/local/cuda/extras/CUPTI/lib64/libcupti.so.13", RTLD_NOW);
	return h;
}

__global__ void sub_kernel(float *x)
{
	x[threadIdx.x] += 1.0f;
}

int main()
{
	void *h = open_cupti();
	subscribe_fn sub = h ? (subscribe_fn)dlsym(h, "cuptiSubscribe_v2") : NULL;
	CUpti_SubscriberHandle handle;
	CUpti_SubscriberParams sp = {};
	float *d;

	if (!sub) {
		fprintf(stderr, "gpu_subscriber: cannot load libcupti.so.13: %s\n", dlerror());
		return 1;
	}
	sp.structSize = CUpti_SubscriberParams_STRUCT_SIZE;
	sp.subscriberName = "gpu_subscriber_test";
	CUptiResult r = sub(&handle, on_callback, NULL, &sp);
	printf("app subscribed: %d\n", (int)r);
	nvtxRangePushA("sub_work");
	CK(cudaMalloc(&d, 256 * sizeof(float)));
	for (int i = 0; i < 3; i++)
		sub_kernel<<<1, 256>>>(d);
	CK(cudaDeviceSynchronize());
	CK(cudaFree(d));
	nvtxRangePop();
	return r == CUPTI_SUCCESS ? 3 : 1;
}
