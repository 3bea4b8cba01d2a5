/*
 * fake_cudart.c - a stand-in libcudart.so.13 for the CPU tests of the cuda collector's API
 * tracing and --cudabacktrace (tests/e2e/test_cudabt.c): four runtime API functions, one of
 * each --cudabacktrace class (cudaLaunchKernel: kernel, cudaMemcpy: memory,
 * cudaDeviceSynchronize: sync, cudaEventCreate: other), with CUPTI's callback ids and names.
 * The first call loads $CUDA_INJECTION64_PATH and calls its InitializeInjection, as libcuda
 * does in cuInit.  Each API function calls an internal function of this library, which
 * calls the fake CUPTI (fake_cupti_api(): entry and exit callbacks, the activity record) as
 * the real runtime's internals go through libcuda to CUPTI: the frames above the API
 * function that the backtrace must leave out.  A call lasts about $FAKE_CUDA_API_NS ns
 * (default 20000) of sleep.  A launch whose args[0] points to a length (ns) gets a kernel
 * record of that length (tests/e2e/test_pybt.c).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdint.h>
#include <time.h>

#include <cupti_runtime_cbid.h> /* CUPTI's callback ids (the full headers declare the real API) */

#define EXPORT __attribute__((visibility("default")))

int fake_cupti_api(uint32_t cbid, const char *name, const char *cbname, int (*fn)(void *),
		   void *arg);
void fake_cupti_kernel(uint64_t ns);

EXPORT int cudaLaunchKernel(const void *func, void **args);
EXPORT int cudaMemcpy(void *dst, const void *src, size_t n, int kind);
EXPORT int cudaDeviceSynchronize(void);
EXPORT int cudaEventCreate(void **event);

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void inject(void)
{
	const char *p = getenv("CUDA_INJECTION64_PATH");
	void *h = p && *p ? dlopen(p, RTLD_NOW) : NULL;
	int (*init)(void) = h ? (int (*)(void))dlsym(h, "InitializeInjection") : NULL;

	if (init)
		init();
}

/* the call's work: a sleep of $FAKE_CUDA_API_NS */
static int work(void *arg)
{
	const char *v = getenv("FAKE_CUDA_API_NS");
	long ns = v && *v ? atol(v) : 20000;
	struct timespec t = {ns / 1000000000, ns % 1000000000};

	(void)arg;
	nanosleep(&t, NULL);
	return 0;
}

/* the runtime's internal path to CUPTI (kept as a frame of its own) */
static __attribute__((noinline)) int rt_call(uint32_t cbid, const char *name, const char *cbname)
{
	int r;

	pthread_once(&once, inject);
	r = fake_cupti_api(cbid, name, cbname, work, NULL);
	__asm__ volatile("" ::: "memory"); /* no tail call: this frame stays */
	return r;
}

/* args[0], when given, points to the kernel's length in ns (a long): the fake CUPTI then
 * records a kernel of that length for this launch (fake_cupti_kernel()) */
int cudaLaunchKernel(const void *func, void **args)
{
	int r = rt_call(CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000, "cudaLaunchKernel",
			"cudaLaunchKernel_v7000");

	if (args && args[0])
		fake_cupti_kernel((uint64_t) * (const long *)args[0]);
	(void)func;
	__asm__ volatile("" ::: "memory");
	return r;
}

int cudaMemcpy(void *dst, const void *src, size_t n, int kind)
{
	int r =
	    rt_call(CUPTI_RUNTIME_TRACE_CBID_cudaMemcpy_v3020, "cudaMemcpy", "cudaMemcpy_v3020");

	(void)dst, (void)src, (void)n, (void)kind;
	__asm__ volatile("" ::: "memory");
	return r;
}

int cudaDeviceSynchronize(void)
{
	int r = rt_call(CUPTI_RUNTIME_TRACE_CBID_cudaDeviceSynchronize_v3020,
			"cudaDeviceSynchronize", "cudaDeviceSynchronize_v3020");

	__asm__ volatile("" ::: "memory");
	return r;
}

int cudaEventCreate(void **event)
{
	int r = rt_call(CUPTI_RUNTIME_TRACE_CBID_cudaEventCreate_v3020, "cudaEventCreate",
			"cudaEventCreate_v3020");

	*event = NULL;
	__asm__ volatile("" ::: "memory");
	return r;
}
