// gpu_multi.cu - several GPUs: device d runs (d + 1) * 3 launches of k_on_dev, and with two
// or more devices, device 0 and device 1 exchange 1 MiB with cudaMemcpyPeer (0 -> 1) and
// cudaMemcpyPeerAsync (1 -> 0), twice each.  The EXPECT lines check the kernel count per
// deviceId and the peer copies' srcDeviceId/dstDeviceId.  With a single GPU the peer part
// is skipped (a "SKIP" line says so) and only device 0's kernels are checked.
#include "gpu_common.h"

__global__ void k_on_dev(float *x)
{
	x[threadIdx.x] += 1.0f;
}

int main()
{
	const size_t bytes = 1 << 20;
	int ndev = 0;
	float *buf[2] = {NULL, NULL};

	CK(cudaGetDeviceCount(&ndev));
	if (ndev > 8)
		ndev = 8;
	for (int dev = 0; dev < ndev; dev++) {
		float *x;
		CK(cudaSetDevice(dev));
		CK(cudaMalloc(&x, bytes));
		for (int r = 0; r < (dev + 1) * 3; r++)
			k_on_dev<<<1, 256>>>(x);
		CK(cudaDeviceSynchronize());
		if (dev < 2)
			buf[dev] = x;
		else
			CK(cudaFree(x));
	}
	if (ndev >= 2) {
		int can01 = 0, can10 = 0;
		cudaStream_t s;
		CK(cudaDeviceCanAccessPeer(&can01, 0, 1));
		CK(cudaDeviceCanAccessPeer(&can10, 1, 0));
		if (can01 && can10) {
			CK(cudaSetDevice(0));
			CK(cudaDeviceEnablePeerAccess(1, 0));
			CK(cudaSetDevice(1));
			CK(cudaDeviceEnablePeerAccess(0, 0));
		}
		CK(cudaSetDevice(1));
		CK(cudaStreamCreate(&s));
		for (int r = 0; r < 2; r++) {
			CK(cudaMemcpyPeer(buf[1], 1, buf[0], 0, bytes));
			CK(cudaMemcpyPeerAsync(buf[0], 0, buf[1], 1, bytes, s));
		}
		CK(cudaStreamSynchronize(s));
		CK(cudaStreamDestroy(s));
		printf("peer access %s\n", can01 && can10 ? "enabled" : "not available (staged)");
	} else {
		printf("SKIP peer-to-peer copies: %d CUDA device(s), need 2\n", ndev);
	}
	for (int dev = 0; dev < 2 && dev < ndev; dev++) {
		CK(cudaSetDevice(dev));
		CK(cudaFree(buf[dev]));
	}
	printf("devices %d\n", ndev);

	for (int dev = 0; dev < ndev; dev++)
		EXPECT(
		    "all", "==", (dev + 1) * 3,
		    "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN StringIds s ON s.id = "
		    "k.shortName WHERE s.value = 'k_on_dev' AND k.deviceId = %d",
		    dev);
	EXPECT("all", "==", ndev,
	       "SELECT count(DISTINCT deviceId) FROM CUPTI_ACTIVITY_KIND_KERNEL");
	if (ndev >= 2) {
		EXPECT("all", "==", 2, API_NAMED("cudaMemcpyPeer_v4000"));
		EXPECT("all", "==", 2, API_NAMED("cudaMemcpyPeerAsync_v4000"));
		EXPECT("all", ">=", 2,
		       "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_MEMCPY WHERE srcDeviceId = 0 AND "
		       "dstDeviceId = 1 AND bytes > 0");
		EXPECT("all", ">=", 2,
		       "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_MEMCPY WHERE srcDeviceId = 1 AND "
		       "dstDeviceId = 0 AND bytes > 0");
		EXPECT("all", ">=", 4 * bytes,
		       "SELECT sum(bytes) FROM CUPTI_ACTIVITY_KIND_MEMCPY WHERE srcDeviceId IS NOT "
		       "NULL AND srcDeviceId != dstDeviceId");
	}
	return 0;
}
