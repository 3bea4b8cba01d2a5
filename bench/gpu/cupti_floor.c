/*
 * cupti_floor.c - the "CUPTI floor": a do-nothing CUPTI client, loaded like gprof-cli's
 * collector (CUDA_INJECTION64_PATH), that enables the same activity kinds with the same
 * settings (system thread ids, CLOCK_MONOTONIC timestamps, the API noise filter of
 * collectors/cuda_noise.h, periodic flush) and only counts the records CUPTI hands it.  What it
 * costs is what any CUPTI tracer pays; gprof-cli's overhead is measured against it
 * (bench/RESULTS-gpu.md).
 *
 * Build (links libcupti directly; it is a benchmark tool, not shipped):
 *   cc -O2 -shared -fPIC -o libcupti_floor.so bench/gpu/cupti_floor.c \
 *      -I. -I$CUDA_HOME/include -L$CUDA_HOME/lib64 -lcupti -Wl,-rpath,$CUDA_HOME/lib64
 * Prints "cupti-floor: N records" on stderr at exit.
 *
 * Knobs (environment, for taking the cost apart; default = the full floor):
 *   FLOOR_KINDS=all|api|kernel  all kinds / RUNTIME+DRIVER only / CONCURRENT_KERNEL only
 *   FLOOR_PINNED=1              CUPTI_ACTIVITY_ATTR_MEM_ALLOCATION_TYPE_HOST_PINNED = 1
 *                               (kernel timestamps written to pinned host memory)
 *   FLOOR_DEVBUF=BYTES          CUPTI_ACTIVITY_ATTR_DEVICE_BUFFER_SIZE
 *   FLOOR_TSCB=0                no timestamp callback (CUPTI's own clock)
 *   FLOOR_HW=1                  cuptiActivityEnableHWTrace(1) (Blackwell only; result printed)
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cupti.h>

#include "collectors/cuda_noise.h"

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

static int env_is(const char *name, const char *value)
{
	const char *v = getenv(name);
	return v && strcmp(v, value) == 0;
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
	const char *devbuf = getenv("FLOOR_DEVBUF");
	int api = !env_is("FLOOR_KINDS", "kernel"), kernel = !env_is("FLOOR_KINDS", "api");

	cuptiSetThreadIdType(CUPTI_ACTIVITY_THREAD_ID_TYPE_SYSTEM);
	if (!env_is("FLOOR_TSCB", "0"))
		cuptiActivityRegisterTimestampCallback(now_ns);
	if (env_is("FLOOR_PINNED", "1")) {
		uint8_t one = 1;
		size_t sz = sizeof(one);
		fprintf(stderr, "cupti-floor: host pinned: %d\n",
			(int)cuptiActivitySetAttribute(
			    CUPTI_ACTIVITY_ATTR_MEM_ALLOCATION_TYPE_HOST_PINNED, &sz, &one));
	}
	if (devbuf) {
		size_t v = strtoull(devbuf, NULL, 0), sz = sizeof(v);
		fprintf(stderr, "cupti-floor: device buffer %zu: %d\n", v,
			(int)cuptiActivitySetAttribute(CUPTI_ACTIVITY_ATTR_DEVICE_BUFFER_SIZE, &sz,
						       &v));
	}
	cuptiActivityRegisterCallbacks(request, complete);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		int is_api = kinds[i] == CUPTI_ACTIVITY_KIND_RUNTIME ||
			     kinds[i] == CUPTI_ACTIVITY_KIND_DRIVER;
		int is_kernel = kinds[i] == CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL;
		if ((is_api && api) || (is_kernel && kernel) ||
		    (!is_api && !is_kernel && api && kernel))
			cuptiActivityEnable(kinds[i]);
	}
	if (env_is("FLOOR_HW", "1"))
		fprintf(stderr, "cupti-floor: HW trace: %d\n", (int)cuptiActivityEnableHWTrace(1));
	for (size_t i = 0; i < sizeof(gp_cuda_noisy_driver) / sizeof(gp_cuda_noisy_driver[0]); i++)
		cuptiActivityEnableDriverApi(gp_cuda_noisy_driver[i], 0);
	for (size_t i = 0; i < sizeof(gp_cuda_noisy_runtime) / sizeof(gp_cuda_noisy_runtime[0]);
	     i++)
		cuptiActivityEnableRuntimeApi(gp_cuda_noisy_runtime[i], 0);
	cuptiActivityFlushPeriod(200);
	atexit(at_exit);
	return 1;
}
