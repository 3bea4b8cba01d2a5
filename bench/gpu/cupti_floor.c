/*
 * cupti_floor.c - the "CUPTI floor": a do-nothing CUPTI client, loaded like gprof-cli's
 * collector (CUDA_INJECTION64_PATH), that enables the same activity kinds with the same
 * settings (system thread ids, CLOCK_MONOTONIC timestamps, API noise filter, periodic
 * flush) and only counts the records CUPTI hands it.  What it costs is what any CUPTI
 * tracer pays; gprof-cli's overhead is measured against it (bench/RESULTS-gpu.md).
 *
 * Build (links libcupti directly; it is a benchmark tool, not shipped):
 *   cc -O2 -shared -fPIC -o libcupti_floor.so bench/gpu/cupti_floor.c \
 *      -I$CUDA_HOME/include -L$CUDA_HOME/lib64 -lcupti -Wl,-rpath,$CUDA_HOME/lib64
 * Prints "cupti-floor: N records" on stderr at exit.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cupti.h>

#define BUF_SIZE (8u << 20)

static atomic_ulong records;

static uint64_t CUPTIAPI now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void CUPTIAPI request(uint8_t **buf, size_t *size, size_t *max)
{
	*buf = aligned_alloc(8, BUF_SIZE);
	*size = *buf ? BUF_SIZE : 0;
	*max = 0;
}

static void CUPTIAPI complete(CUcontext c, uint32_t s, uint8_t *buf, size_t size, size_t valid)
{
	CUpti_Activity *r = NULL;
	unsigned long n = 0;

	(void)c;
	(void)s;
	(void)size;
	while (cuptiActivityGetNextRecord(buf, valid, &r) == CUPTI_SUCCESS)
		n++;
	atomic_fetch_add(&records, n);
	free(buf);
}

static void at_exit(void)
{
	cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
	fprintf(stderr, "cupti-floor: %lu records\n", atomic_load(&records));
}

__attribute__((visibility("default"))) int InitializeInjection(void)
{
	static const CUpti_ActivityKind kinds[] = {
	    CUPTI_ACTIVITY_KIND_RUNTIME,	   CUPTI_ACTIVITY_KIND_DRIVER,
	    CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL, CUPTI_ACTIVITY_KIND_MEMCPY,
	    CUPTI_ACTIVITY_KIND_MEMCPY2,	   CUPTI_ACTIVITY_KIND_MEMSET,
	    CUPTI_ACTIVITY_KIND_SYNCHRONIZATION,   CUPTI_ACTIVITY_KIND_GRAPH_TRACE,
	};
	static const CUpti_CallbackId noisy_driver[] = {
	    CUPTI_DRIVER_TRACE_CBID_cuCtxGetCurrent,
	    CUPTI_DRIVER_TRACE_CBID_cuCtxGetDevice,
	    CUPTI_DRIVER_TRACE_CBID_cuDevicePrimaryCtxGetState,
	    CUPTI_DRIVER_TRACE_CBID_cuKernelGetAttribute,
	    CUPTI_DRIVER_TRACE_CBID_cuPointerGetAttribute,
	    CUPTI_DRIVER_TRACE_CBID_cuPointerGetAttributes,
	    CUPTI_DRIVER_TRACE_CBID_cuDeviceGetAttribute,
	    CUPTI_DRIVER_TRACE_CBID_cuDeviceGet,
	    CUPTI_DRIVER_TRACE_CBID_cuDeviceGetCount,
	    CUPTI_DRIVER_TRACE_CBID_cuDriverGetVersion,
	    CUPTI_DRIVER_TRACE_CBID_cuGetProcAddress,
	    CUPTI_DRIVER_TRACE_CBID_cuGetProcAddress_v2,
	    CUPTI_DRIVER_TRACE_CBID_cuKernelGetName,
	    CUPTI_DRIVER_TRACE_CBID_cuDeviceGetName,
	    CUPTI_DRIVER_TRACE_CBID_cuDeviceGetUuid,
	    CUPTI_DRIVER_TRACE_CBID_cuDeviceGetUuid_v2,
	    CUPTI_DRIVER_TRACE_CBID_cuDeviceTotalMem_v2,
	};
	static const CUpti_CallbackId noisy_runtime[] = {
	    CUPTI_RUNTIME_TRACE_CBID_cudaGetDevice_v3020,
	    CUPTI_RUNTIME_TRACE_CBID_cudaGetLastError_v3020,
	    CUPTI_RUNTIME_TRACE_CBID_cudaPeekAtLastError_v3020,
	    CUPTI_RUNTIME_TRACE_CBID_cudaStreamIsCapturing_v10000,
	    CUPTI_RUNTIME_TRACE_CBID_cudaStreamIsCapturing_ptsz_v10000,
	    CUPTI_RUNTIME_TRACE_CBID_cudaConfigureCall_v3020,
	    CUPTI_RUNTIME_TRACE_CBID_cudaSetupArgument_v3020,
	    CUPTI_RUNTIME_TRACE_CBID_cudaHostGetDevicePointer_v3020,
	};

	cuptiSetThreadIdType(CUPTI_ACTIVITY_THREAD_ID_TYPE_SYSTEM);
	cuptiActivityRegisterTimestampCallback(now_ns);
	cuptiActivityRegisterCallbacks(request, complete);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		cuptiActivityEnable(kinds[i]);
	for (size_t i = 0; i < sizeof(noisy_driver) / sizeof(noisy_driver[0]); i++)
		cuptiActivityEnableDriverApi(noisy_driver[i], 0);
	for (size_t i = 0; i < sizeof(noisy_runtime) / sizeof(noisy_runtime[0]); i++)
		cuptiActivityEnableRuntimeApi(noisy_runtime[i], 0);
	cuptiActivityFlushPeriod(200);
	atexit(at_exit);
	return 1;
}
