// gpu_driver.cu - an application that uses the CUDA driver API only (no runtime call):
// cuInit, its own context, a module JIT-compiled from PTX text, cuMemAlloc, copies
// host->device and device->host, cuMemsetD32, cuLaunchKernel from the host thread, a
// stream and cuStreamSynchronize.  The cuda collector must see it as it sees a runtime
// application: kernels joined to their cuLaunchKernel (driver) calls by correlationId,
// the copies, the set and the synchronisation.
#include <cstdio>
#include <cstdlib>
#include <cuda.h>

#include "gpu_common.h" // EXPECT (the runtime-API helpers there go unused)

#define CU(x)                                                                                      \
	do {                                                                                       \
		CUresult r_ = (x);                                                                 \
		if (r_ != CUDA_SUCCESS) {                                                          \
			const char *s_ = "?";                                                      \
			cuGetErrorString(r_, &s_);                                                 \
			fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #x, s_);            \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

// inc(p, n): p[i] += 1 for i < n (one block)
static const char ptx[] = ".version 8.0\n"
			  ".target sm_90\n"
			  ".address_size 64\n"
			  ".visible .entry inc(.param .u64 p, .param .u32 n)\n"
			  "{\n"
			  "  .reg .pred q;\n"
			  "  .reg .b32 r<4>;\n"
			  "  .reg .b64 d<4>;\n"
			  "  ld.param.u64 d1, [p];\n"
			  "  ld.param.u32 r1, [n];\n"
			  "  mov.u32 r2, %tid.x;\n"
			  "  setp.ge.u32 q, r2, r1;\n"
			  "  @q bra DONE;\n"
			  "  cvta.to.global.u64 d2, d1;\n"
			  "  mul.wide.u32 d3, r2, 4;\n"
			  "  add.s64 d2, d2, d3;\n"
			  "  ld.global.u32 r3, [d2];\n"
			  "  add.u32 r3, r3, 1;\n"
			  "  st.global.u32 [d2], r3;\n"
			  "DONE:\n"
			  "  ret;\n"
			  "}\n";

int main()
{
	const unsigned n = 256, launches = 7;
	unsigned host[256];
	CUdevice dev;
	CUcontext ctx;
	CUmodule mod;
	CUfunction fn;
	CUdeviceptr d;
	CUstream st;

	CU(cuInit(0));
	CU(cuDeviceGet(&dev, 0));
	CU(cuDevicePrimaryCtxRetain(&ctx, dev));
	CU(cuCtxSetCurrent(ctx));
	CU(cuModuleLoadData(&mod, ptx));
	CU(cuModuleGetFunction(&fn, mod, "inc"));
	CU(cuMemAlloc(&d, n * sizeof(unsigned)));
	CU(cuStreamCreate(&st, CU_STREAM_NON_BLOCKING));
	for (unsigned i = 0; i < n; i++)
		host[i] = i;
	CU(cuMemcpyHtoD(d, host, sizeof(host)));
	CU(cuMemsetD32Async(d, 5, n, st));
	for (unsigned i = 0; i < launches; i++) {
		void *args[] = {&d, (void *)&n};
		CU(cuLaunchKernel(fn, 1, 1, 1, n, 1, 1, 0, st, args, NULL));
	}
	CU(cuStreamSynchronize(st));
	CU(cuMemcpyDtoH(host, d, sizeof(host)));
	for (unsigned i = 0; i < n; i++)
		if (host[i] != 5 + launches) {
			fprintf(stderr, "wrong result at %u: %u\n", i, host[i]);
			return 1;
		}
	CU(cuMemFree(d));
	CU(cuStreamDestroy(st));
	CU(cuModuleUnload(mod));
	CU(cuDevicePrimaryCtxRelease(dev));
	printf("done\n");

	EXPECT("all", "==", launches,
	       "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN StringIds s ON s.id = "
	       "k.shortName WHERE s.value = 'inc'");
	// not mangled: all three name columns are the name as it is
	EXPECT("all", "==", launches,
	       "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_KERNEL WHERE shortName = demangledName "
	       "AND demangledName = mangledName");
	// driver calls: eventClass 1 (nsys: driver API), names as the driver spells them
	EXPECT("all", "==", launches,
	       "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_RUNTIME r JOIN StringIds s ON s.id = "
	       "r.nameId WHERE s.value LIKE 'cuLaunchKernel%%' AND r.eventClass = 1");
	EXPECT("all", "==", 0,
	       "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_RUNTIME r JOIN StringIds s ON s.id = "
	       "r.nameId WHERE s.value LIKE 'cuda%%'");
	// every kernel joins its cuLaunchKernel, which started before it
	EXPECT(
	    "all", "==", launches,
	    "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN CUPTI_ACTIVITY_KIND_RUNTIME r "
	    "ON r.correlationId = k.correlationId WHERE r.start <= k.start");
	// one copy each way (copyKind 1 = HtoD, 2 = DtoH), one memset of n * 4 bytes
	EXPECT("all", "==", 1,
	       "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_MEMCPY WHERE copyKind = 1");
	EXPECT("all", "==", 1,
	       "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_MEMCPY WHERE copyKind = 2");
	EXPECT("all", "==", 1, "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_MEMSET WHERE bytes = %u",
	       (unsigned)(n * sizeof(unsigned)));
	// the stream synchronisation (syncType 2 as nsys numbers cuStreamSynchronize)
	EXPECT("all", ">=", 1,
	       "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_SYNCHRONIZATION WHERE syncType = 2");
	return 0;
}
