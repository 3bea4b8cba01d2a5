/*
 * capture_app - an NVTX3 + OS-runtime program with a fixed amount of work per
 * iteration, for the capture-range tests (tests/e2e/test_capture.c).
 *
 * usage: capture_app VARIANT [ITERATIONS] [GAP_US]
 *   VARIANT  how the per-iteration range "step" is opened:
 *              plain     nvtxRangePushA("step") / nvtxRangePop   (default domain)
 *              reg       nvtxRangePushEx with the registered string "step" (default domain)
 *              dom       nvtxDomainRangePushEx in domain "dom", ASCII "step"
 *              startend  nvtxRangeStartA("step") / nvtxRangeEnd
 *              at        nvtxRangePushA("a@b") (a message holding '@')
 *   ITERATIONS  default 200;  GAP_US  sleep between iterations, default 100 us.
 *
 * Per iteration i, inside "step" (the numbers the tests assert):
 *   - a mark "iter" with int64 payload i (NVTX_EVENTS eventType 34, int64Value = i);
 *   - INNER push/pop ranges "inner" on the main thread (default domain);
 *   - one push/pop range "w-inner" on the worker thread (its records sit in the
 *     worker's buffer when the range closes);
 *   - one nanosleep() of 200 us on the main thread (an OSRT_API row, over the 1 us
 *     threshold).
 * Outside "step": one nanosleep(GAP_US) and a mark "between" per iteration (never
 * inside a capture range).  The worker synchronises by spinning on atomics, so it makes
 * no OS runtime calls of its own.
 *
 * With CAPTURE_APP_TIMES=FILE in the environment, FILE gets one line per iteration at
 * exit, "I BEFORE AFTER": CLOCK_MONOTONIC ns right before and right after the call that
 * opens "step" (the tests compare them with -y/--delay; the file is written after the
 * loop, outside any capture range of the tests that ask for it).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nvtx3/nvToolsExt.h>

#define INNER 3

static _Atomic int g_go, g_done, g_quit;

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_us(long us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
	nanosleep(&ts, NULL);
}

static void *worker(void *arg)
{
	int seen = 0;
	(void)arg;
	for (;;) {
		int go;
		while ((go = atomic_load(&g_go)) == seen && !atomic_load(&g_quit))
			;
		if (atomic_load(&g_quit))
			return NULL;
		seen = go;
		nvtxRangePushA("w-inner");
		nvtxRangePop();
		atomic_store(&g_done, go);
	}
}

static void mark_iter(int i)
{
	nvtxEventAttributes_t a;
	memset(&a, 0, sizeof(a));
	a.version = NVTX_VERSION;
	a.size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
	a.messageType = NVTX_MESSAGE_TYPE_ASCII;
	a.message.ascii = "iter";
	a.payloadType = NVTX_PAYLOAD_TYPE_INT64;
	a.payload.llValue = i;
	nvtxMarkEx(&a);
}

int main(int argc, char **argv)
{
	const char *variant = argc > 1 ? argv[1] : "plain";
	int iters = argc > 2 ? atoi(argv[2]) : 200;
	long gap = argc > 3 ? atol(argv[3]) : 100;
	nvtxDomainHandle_t dom = NULL;
	nvtxStringHandle_t reg = NULL;
	pthread_t th;
	const char *times_path = getenv("CAPTURE_APP_TIMES");
	long long(*times)[2] =
	    times_path && iters > 0 ? calloc((size_t)iters, sizeof(*times)) : NULL;

	if (!strcmp(variant, "dom"))
		dom = nvtxDomainCreateA("dom");
	if (!strcmp(variant, "reg"))
		reg = nvtxDomainRegisterStringA(NULL, "step");
	pthread_create(&th, NULL, worker, NULL);

	for (int i = 0; i < iters; i++) {
		nvtxEventAttributes_t a;
		nvtxRangeId_t id = 0;

		memset(&a, 0, sizeof(a));
		a.version = NVTX_VERSION;
		a.size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
		if (times)
			times[i][0] = now_ns();
		if (!strcmp(variant, "reg")) {
			a.messageType = NVTX_MESSAGE_TYPE_REGISTERED;
			a.message.registered = reg;
			nvtxRangePushEx(&a);
		} else if (!strcmp(variant, "dom")) {
			a.messageType = NVTX_MESSAGE_TYPE_ASCII;
			a.message.ascii = "step";
			nvtxDomainRangePushEx(dom, &a);
		} else if (!strcmp(variant, "startend")) {
			id = nvtxRangeStartA("step");
		} else if (!strcmp(variant, "at")) {
			nvtxRangePushA("a@b");
		} else {
			nvtxRangePushA("step");
		}
		if (times)
			times[i][1] = now_ns();

		mark_iter(i);
		for (int k = 0; k < INNER; k++) {
			nvtxRangePushA("inner");
			nvtxRangePop();
		}
		atomic_store(&g_go, i + 1);
		while (atomic_load(&g_done) != i + 1)
			;
		sleep_us(200);

		if (!strcmp(variant, "dom"))
			nvtxDomainRangePop(dom);
		else if (!strcmp(variant, "startend"))
			nvtxRangeEnd(id);
		else
			nvtxRangePop();

		nvtxMarkA("between");
		sleep_us(gap);
	}
	atomic_store(&g_quit, 1);
	pthread_join(th, NULL);
	if (times) {
		FILE *f = fopen(times_path, "w");

		for (int i = 0; f && i < iters; i++)
			fprintf(f, "%d %lld %lld\n", i, times[i][0], times[i][1]);
		free(times);
		if (!f || fclose(f) != 0)
			return 1;
	}
	return 0;
}
