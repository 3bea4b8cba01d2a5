/*
 * fake_cupti.c - a stand-in libcupti.so.13 (and, built a second time with -DFAKE_CUDA, a
 * libcuda.so.1) for the CPU tests of gprof-cli's GPU metrics sampler process
 * (tests/e2e/test_metrics_process.c): the PM-sampling and profiler-host entry points that
 * collectors/gpu_metrics.c resolves, on one device ("GH100"), with samples made from the
 * clock at the configured interval.  It lets the CI machine, which has no GPU, run the
 * sampler's whole life: start before the application, report ready, decode and evaluate
 * with several workers, stop, and the rows in the report.  Real PM sampling is tested on
 * the H200 (tests/gpu/run-metrics-sampling-tests.sh).
 *
 * Sample values: metric k of global sample s evaluates to 10 * k + s % 7; names with
 * "nvlrx", "nvltx" or "ctc__" are unknown to the fake chip (as NVLink/CTC on a PCIe H200).
 * $FAKE_CUPTI_FAIL=enable makes cuptiPmSamplingEnable fail (CUPTI_ERROR_INSUFFICIENT_PRIVILEGES);
 * =crash kills the process (SIGKILL) in its 5th cuptiPmSamplingDecodeData.
 *
 * API tracing (the CPU tests of the cuda collector's API records and --cudabacktrace,
 * tests/e2e/test_cudabt.c): the subscriber and activity entry points collectors/cuda.c
 * resolves, and fake_cupti_api(), which the fake runtime (fake_cudart.c) calls for each of
 * its API functions as libcuda calls CUPTI for a real one: the subscriber's API callbacks
 * at entry and exit (when its domain or that callback is enabled), the call between them,
 * and a CUpti_ActivityAPI record (CUPTI_ACTIVITY_KIND_RUNTIME enabled, the call not
 * filtered) in a buffer from the client's request callback, handed back by
 * cuptiActivityFlushAll.  Correlation ids count from 1, one counter per process.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef FAKE_CUDA
#define EXPORT __attribute__((visibility("default")))
EXPORT int cuInit(unsigned int flags);
EXPORT int cuDeviceGetCount(int *n);
int cuInit(unsigned int flags)
{
	(void)flags;
	return 0;
}
int cuDeviceGetCount(int *n)
{
	*n = 1;
	return 0;
}
#else
#include <cupti.h>
#include <cupti_pmsampling.h>
#include <cupti_profiler_host.h>
#include <cupti_profiler_target.h>
#include <cupti_target.h>

#define EXPORT __attribute__((visibility("default")))
#define MAXM   64

static uint64_t (*ts_cb)(void);

static uint64_t now_ns(void)
{
	struct timespec t;

	if (ts_cb)
		return ts_cb();
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

struct CUpti_Profiler_Host_Object {
	size_t n;
};

struct CUpti_PmSampling_Object {
	uint64_t interval, start_ns, stop_ns, decoded; /* samples handed out so far */
	size_t max_samples;
	int running;
};

/* counter data image: count, then (index, start, end) per sample */
struct image {
	uint64_t count;
	uint64_t s[][3];
};

EXPORT CUptiResult cuptiGetResultString(CUptiResult r, const char **s)
{
	*s = r == CUPTI_ERROR_INSUFFICIENT_PRIVILEGES ? "CUPTI_ERROR_INSUFFICIENT_PRIVILEGES"
						      : "fake CUPTI error";
	return CUPTI_SUCCESS;
}

EXPORT CUptiResult cuptiActivityRegisterTimestampCallback(CUpti_TimestampCallbackFunc f)
{
	ts_cb = f;
	return CUPTI_SUCCESS;
}

EXPORT CUptiResult cuptiProfilerInitialize(CUpti_Profiler_Initialize_Params *p)
{
	(void)p;
	return CUPTI_SUCCESS;
}

EXPORT CUptiResult cuptiDeviceGetChipName(CUpti_Device_GetChipName_Params *p)
{
	if (p->deviceIndex != 0)
		return CUPTI_ERROR_INVALID_DEVICE;
	p->pChipName = "GH100";
	return CUPTI_SUCCESS;
}

EXPORT CUptiResult
cuptiPmSamplingGetCounterAvailability(CUpti_PmSampling_GetCounterAvailability_Params *p)
{
	if (p->pCounterAvailabilityImage)
		memset(p->pCounterAvailabilityImage, 1, 16);
	p->counterAvailabilityImageSize = 16;
	return CUPTI_SUCCESS;
}

EXPORT CUptiResult cuptiProfilerHostInitialize(CUpti_Profiler_Host_Initialize_Params *p)
{
	p->pHostObject = calloc(1, sizeof(struct CUpti_Profiler_Host_Object));
	return p->pHostObject ? CUPTI_SUCCESS : CUPTI_ERROR_OUT_OF_MEMORY;
}

EXPORT CUptiResult cuptiProfilerHostDeinitialize(CUpti_Profiler_Host_Deinitialize_Params *p)
{
	free(p->pHostObject);
	return CUPTI_SUCCESS;
}

EXPORT CUptiResult cuptiProfilerHostGetBaseMetrics(CUpti_Profiler_Host_GetBaseMetrics_Params *p)
{
	p->numMetrics = 0;
	return CUPTI_SUCCESS;
}

EXPORT CUptiResult cuptiProfilerHostGetSubMetrics(CUpti_Profiler_Host_GetSubMetrics_Params *p)
{
	(void)p;
	return CUPTI_ERROR_INVALID_METRIC_NAME;
}

EXPORT CUptiResult cuptiProfilerHostConfigAddMetrics(CUpti_Profiler_Host_ConfigAddMetrics_Params *p)
{
	for (size_t i = 0; i < p->numMetrics; i++)
		if (strstr(p->ppMetricNames[i], "nvlrx") || strstr(p->ppMetricNames[i], "nvltx") ||
		    strstr(p->ppMetricNames[i], "ctc__"))
			return CUPTI_ERROR_INVALID_METRIC_NAME;
	p->pHostObject->n += p->numMetrics;
	return CUPTI_SUCCESS;
}

EXPORT CUptiResult
cuptiProfilerHostGetConfigImageSize(CUpti_Profiler_Host_GetConfigImageSize_Params *p)
{
	p->configImageSize = 8;
	return CUPTI_SUCCESS;
}

EXPORT CUptiResult cuptiProfilerHostGetConfigImage(CUpti_Profiler_Host_GetConfigImage_Params *p)
{
	memset(p->pConfigImage, 0, p->configImageSize);
	return CUPTI_SUCCESS;
}

EXPORT CUptiResult cuptiProfilerHostGetNumOfPasses(CUpti_Profiler_Host_GetNumOfPasses_Params *p)
{
	p->numOfPasses = 1;
	return CUPTI_SUCCESS;
}

EXPORT CUptiResult
cuptiProfilerHostEvaluateToGpuValues(CUpti_Profiler_Host_EvaluateToGpuValues_Params *p)
{
	const struct image *im = (const void *)p->pCounterDataImage;

	if (p->rangeIndex >= im->count)
		return CUPTI_ERROR_INVALID_PARAMETER;
	for (size_t k = 0; k < p->numMetrics; k++)
		p->pMetricValues[k] = 10.0 * (double)k + (double)(im->s[p->rangeIndex][0] % 7);
	return CUPTI_SUCCESS;
}

EXPORT CUptiResult cuptiPmSamplingEnable(CUpti_PmSampling_Enable_Params *p)
{
	const char *f = getenv("FAKE_CUPTI_FAIL");

	if (f && !strcmp(f, "enable"))
		return CUPTI_ERROR_INSUFFICIENT_PRIVILEGES;
	if (p->deviceIndex != 0)
		return CUPTI_ERROR_INVALID_DEVICE;
	p->pPmSamplingObject = calloc(1, sizeof(struct CUpti_PmSampling_Object));
	return p->pPmSamplingObject ? CUPTI_SUCCESS : CUPTI_ERROR_OUT_OF_MEMORY;
}

EXPORT CUptiResult cuptiPmSamplingSetConfig(CUpti_PmSampling_SetConfig_Params *p)
{
	p->pPmSamplingObject->interval = p->samplingInterval ? p->samplingInterval : 100000;
	return CUPTI_SUCCESS;
}

EXPORT CUptiResult cuptiPmSamplingGetCounterDataSize(CUpti_PmSampling_GetCounterDataSize_Params *p)
{
	p->pPmSamplingObject->max_samples = p->maxSamples;
	p->counterDataSize = sizeof(struct image) + p->maxSamples * 3 * sizeof(uint64_t);
	return CUPTI_SUCCESS;
}

EXPORT CUptiResult
cuptiPmSamplingCounterDataImageInitialize(CUpti_PmSampling_CounterDataImage_Initialize_Params *p)
{
	memset(p->pCounterData, 0, p->counterDataSize);
	return CUPTI_SUCCESS;
}

EXPORT CUptiResult cuptiPmSamplingStart(CUpti_PmSampling_Start_Params *p)
{
	p->pPmSamplingObject->start_ns = now_ns();
	p->pPmSamplingObject->decoded = 0;
	p->pPmSamplingObject->running = 1;
	return CUPTI_SUCCESS;
}

EXPORT CUptiResult cuptiPmSamplingStop(CUpti_PmSampling_Stop_Params *p)
{
	p->pPmSamplingObject->stop_ns = now_ns();
	p->pPmSamplingObject->running = 0;
	return CUPTI_SUCCESS;
}

EXPORT CUptiResult cuptiPmSamplingDecodeData(CUpti_PmSampling_DecodeData_Params *p)
{
	struct CUpti_PmSampling_Object *o = p->pPmSamplingObject;
	struct image *im = (void *)p->pCounterDataImage;
	uint64_t end = o->running ? now_ns() : o->stop_ns;
	uint64_t avail = end > o->start_ns ? (end - o->start_ns) / o->interval : 0;
	uint64_t n = avail > o->decoded ? avail - o->decoded : 0;
	const char *f = getenv("FAKE_CUPTI_FAIL");
	static int calls;

	if (f && !strcmp(f, "crash") && ++calls == 5)
		kill(getpid(), SIGKILL);

	p->overflow = 0;
	p->decodeStopReason = CUPTI_PM_SAMPLING_DECODE_STOP_REASON_END_OF_RECORDS;
	if (im->count + n > o->max_samples) {
		n = o->max_samples - im->count;
		p->decodeStopReason = CUPTI_PM_SAMPLING_DECODE_STOP_REASON_COUNTER_DATA_FULL;
	}
	for (uint64_t i = 0; i < n; i++, o->decoded++) {
		uint64_t *s = im->s[im->count++];
		s[0] = o->decoded;
		s[1] = o->start_ns + o->decoded * o->interval;
		s[2] = s[1] + o->interval;
	}
	return CUPTI_SUCCESS;
}

EXPORT CUptiResult cuptiPmSamplingGetCounterDataInfo(CUpti_PmSampling_GetCounterDataInfo_Params *p)
{
	const struct image *im = (const void *)p->pCounterDataImage;

	p->numTotalSamples = im->count;
	p->numPopulatedSamples = im->count;
	p->numCompletedSamples = im->count;
	return CUPTI_SUCCESS;
}

EXPORT CUptiResult
cuptiPmSamplingCounterDataGetSampleInfo(CUpti_PmSampling_CounterData_GetSampleInfo_Params *p)
{
	const struct image *im = (const void *)p->pCounterDataImage;

	if (p->sampleIndex >= im->count)
		return CUPTI_ERROR_INVALID_PARAMETER;
	p->startTimestamp = im->s[p->sampleIndex][1];
	p->endTimestamp = im->s[p->sampleIndex][2];
	return CUPTI_SUCCESS;
}

EXPORT CUptiResult cuptiPmSamplingDisable(CUpti_PmSampling_Disable_Params *p)
{
	free(p->pPmSamplingObject);
	return CUPTI_SUCCESS;
}

/* ---- API tracing (see the header) ---------------------------------------------------- */

#define FAKE_MAX_CBID 4096
static CUpti_CallbackFunc sub_fn;
static void *sub_ud;
static unsigned char dom_on[CUPTI_CB_DOMAIN_SIZE];
static unsigned char cb_on[CUPTI_CB_DOMAIN_SIZE][FAKE_MAX_CBID];
static unsigned char rt_filtered[FAKE_MAX_CBID]; /* cuptiActivityEnableRuntimeApi(cbid, 0) */
static const char *cb_names[FAKE_MAX_CBID];	 /* runtime cbid -> callback name */
static int runtime_kind_on, kernel_kind_on;
static __thread uint32_t last_corr; /* the calling thread's last call (fake_cupti_kernel()) */
static CUpti_BuffersCallbackRequestFunc buf_req;
static CUpti_BuffersCallbackCompleteFunc buf_done;
static pthread_mutex_t buf_mu = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *buf;
static size_t buf_size, buf_used;
static uint32_t next_corr;

EXPORT CUptiResult cuptiGetVersion(uint32_t *v)
{
	*v = CUPTI_API_VERSION;
	return CUPTI_SUCCESS;
}

EXPORT CUptiResult cuptiSubscribe_v2(CUpti_SubscriberHandle *h, CUpti_CallbackFunc fn, void *ud,
				     CUpti_SubscriberParams *p)
{
	(void)p;
	sub_fn = fn;
	sub_ud = ud;
	*h = (CUpti_SubscriberHandle)&sub_fn;
	return CUPTI_SUCCESS;
}

EXPORT CUptiResult cuptiEnableCallback(uint32_t on, CUpti_SubscriberHandle h,
				       CUpti_CallbackDomain d, CUpti_CallbackId cbid)
{
	(void)h;
	if ((unsigned)d < CUPTI_CB_DOMAIN_SIZE && cbid < FAKE_MAX_CBID)
		cb_on[d][cbid] = (unsigned char)on;
	return CUPTI_SUCCESS;
}

EXPORT CUptiResult cuptiEnableDomain(uint32_t on, CUpti_SubscriberHandle h, CUpti_CallbackDomain d)
{
	(void)h;
	if ((unsigned)d < CUPTI_CB_DOMAIN_SIZE)
		dom_on[d] = (unsigned char)on;
	return CUPTI_SUCCESS;
}

EXPORT CUptiResult cuptiGetCallbackName(CUpti_CallbackDomain d, uint32_t cbid, const char **name)
{
	if (d != CUPTI_CB_DOMAIN_RUNTIME_API || cbid >= FAKE_MAX_CBID || !cb_names[cbid])
		return CUPTI_ERROR_INVALID_PARAMETER;
	*name = cb_names[cbid];
	return CUPTI_SUCCESS;
}

EXPORT CUptiResult cuptiSetThreadIdType(CUpti_ActivityThreadIdType t)
{
	(void)t;
	return CUPTI_SUCCESS;
}

EXPORT CUptiResult cuptiActivityRegisterCallbacks(CUpti_BuffersCallbackRequestFunc req,
						  CUpti_BuffersCallbackCompleteFunc done)
{
	buf_req = req;
	buf_done = done;
	return CUPTI_SUCCESS;
}

EXPORT CUptiResult cuptiActivitySetAttribute(CUpti_ActivityAttribute a, size_t *sz, void *v)
{
	(void)a, (void)sz, (void)v;
	return CUPTI_SUCCESS;
}

/* The activity kinds this fake records: runtime calls and kernels. */
static CUptiResult set_kind(CUpti_ActivityKind k, int on)
{
	if (k == CUPTI_ACTIVITY_KIND_RUNTIME)
		runtime_kind_on = on;
	if (k == CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL)
		kernel_kind_on = on;
	return CUPTI_SUCCESS;
}

EXPORT CUptiResult cuptiActivityEnable(CUpti_ActivityKind k)
{
	return set_kind(k, 1);
}

EXPORT CUptiResult cuptiActivityDisable(CUpti_ActivityKind k)
{
	return set_kind(k, 0);
}

EXPORT CUptiResult cuptiActivityEnableAndDump(CUpti_ActivityKind k)
{
	(void)k; /* no devices, contexts or streams to dump */
	return CUPTI_SUCCESS;
}

EXPORT CUptiResult cuptiActivityEnableRuntimeApi(CUpti_CallbackId cbid, uint8_t on)
{
	if (cbid < FAKE_MAX_CBID)
		rt_filtered[cbid] = !on;
	return CUPTI_SUCCESS;
}

EXPORT CUptiResult cuptiActivityEnableDriverApi(CUpti_CallbackId cbid, uint8_t on)
{
	(void)cbid, (void)on;
	return CUPTI_SUCCESS;
}

/* a record's size by its kind: the API records and fake_cupti_kernel()'s kernels */
static size_t rec_size(const CUpti_Activity *a)
{
	return a->kind == CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL ? sizeof(CUpti_ActivityKernel10)
								: sizeof(CUpti_ActivityAPI);
}

EXPORT CUptiResult cuptiActivityGetNextRecord(uint8_t *b, size_t valid, CUpti_Activity **rec)
{
	uint8_t *next = *rec ? (uint8_t *)*rec + rec_size(*rec) : b;

	if (next + sizeof(CUpti_ActivityAPI) > b + valid ||
	    next + rec_size((const CUpti_Activity *)next) > b + valid)
		return CUPTI_ERROR_MAX_LIMIT_REACHED;
	*rec = (CUpti_Activity *)next;
	return CUPTI_SUCCESS;
}

EXPORT CUptiResult cuptiActivityFlushAll(uint32_t flag)
{
	uint8_t *b;
	size_t size, used;

	(void)flag;
	pthread_mutex_lock(&buf_mu);
	b = buf, size = buf_size, used = buf_used;
	buf = NULL, buf_used = 0;
	pthread_mutex_unlock(&buf_mu);
	if (b && buf_done)
		buf_done(NULL, 0, b, size, used);
	return CUPTI_SUCCESS;
}

EXPORT CUptiResult cuptiActivityFlushPeriod(uint32_t ms)
{
	(void)ms; /* records are handed back at cuptiActivityFlushAll only */
	return CUPTI_SUCCESS;
}

EXPORT CUptiResult cuptiActivityGetNumDroppedRecords(CUcontext c, uint32_t s, size_t *n)
{
	(void)c, (void)s;
	*n = 0;
	return CUPTI_SUCCESS;
}

EXPORT CUptiResult cuptiGetContextId(CUcontext c, uint32_t *id)
{
	(void)c;
	*id = 1;
	return CUPTI_SUCCESS;
}

EXPORT CUptiResult cuptiGetDeviceId(CUcontext c, uint32_t *id)
{
	(void)c;
	*id = 0;
	return CUPTI_SUCCESS;
}

static void fake_callback(CUpti_CallbackDomain d, CUpti_CallbackId cbid, CUpti_CallbackData *cd)
{
	if (sub_fn && (dom_on[d] || (cbid < FAKE_MAX_CBID && cb_on[d][cbid])))
		sub_fn(sub_ud, d, cbid, cd);
}

/* Room for a record of `size` bytes in the current buffer (taken from the client when none),
 * under buf_mu; NULL when the client gave none. */
static uint8_t *buf_room(size_t size)
{
	uint8_t *p;

	if (buf && buf_used + size > buf_size) { /* full: hand it back first */
		uint8_t *b = buf;
		size_t size = buf_size, used = buf_used;
		buf = NULL, buf_used = 0;
		pthread_mutex_unlock(&buf_mu);
		buf_done(NULL, 0, b, size, used);
		pthread_mutex_lock(&buf_mu);
	}
	if (!buf) {
		size_t max = 0;
		buf_req(&buf, &buf_size, &max);
		buf_used = 0;
	}
	if (!buf)
		return NULL;
	p = buf + buf_used;
	memset(p, 0, size);
	buf_used += size;
	return p;
}

static void fake_record(CUpti_CallbackId cbid, uint32_t corr, uint64_t t0, uint64_t t1, int ret)
{
	CUpti_ActivityAPI *a;

	pthread_mutex_lock(&buf_mu);
	a = (CUpti_ActivityAPI *)buf_room(sizeof(*a));
	if (a) {
		a->kind = CUPTI_ACTIVITY_KIND_RUNTIME;
		a->cbid = cbid;
		a->start = t0;
		a->end = t1;
		a->processId = (uint32_t)getpid();
		a->threadId = (uint32_t)syscall(SYS_gettid);
		a->correlationId = corr;
		a->returnValue = (uint32_t)ret;
	}
	pthread_mutex_unlock(&buf_mu);
}

/* A kernel of `ns` nanoseconds, starting now, launched by the calling thread's last API call
 * (its correlation id): a CUpti_ActivityKernel10 "fake_kernel" on device 0, context 1,
 * stream 7, when CONCURRENT_KERNEL is enabled (the fake runtime's cudaLaunchKernel, whose
 * args[0] points to the length: tests/e2e/test_pybt.c). */
EXPORT void fake_cupti_kernel(uint64_t ns);
void fake_cupti_kernel(uint64_t ns)
{
	CUpti_ActivityKernel10 *k;
	uint64_t t = now_ns();

	if (!kernel_kind_on || !buf_req)
		return;
	pthread_mutex_lock(&buf_mu);
	k = (CUpti_ActivityKernel10 *)buf_room(sizeof(*k));
	if (k) {
		k->kind = CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL;
		k->start = t;
		k->end = t + ns;
		k->deviceId = 0;
		k->contextId = 1;
		k->streamId = 7;
		k->correlationId = last_corr;
		k->gridX = k->gridY = k->gridZ = 1;
		k->blockX = 32, k->blockY = k->blockZ = 1;
		k->name = "fake_kernel";
	}
	pthread_mutex_unlock(&buf_mu);
}

/* One runtime API call of the fake runtime: `name` as CUpti_CallbackData.functionName
 * (e.g. "cudaMemcpy"), `cbname` as cuptiGetCallbackName spells it ("cudaMemcpy_v3020"),
 * fn(arg) the call itself.  Returns fn's value. */
EXPORT int fake_cupti_api(CUpti_CallbackId cbid, const char *name, const char *cbname,
			  int (*fn)(void *), void *arg);
int fake_cupti_api(CUpti_CallbackId cbid, const char *name, const char *cbname, int (*fn)(void *),
		   void *arg)
{
	CUpti_CallbackDomain d = CUPTI_CB_DOMAIN_RUNTIME_API;
	CUpti_CallbackData cd;
	uint64_t cdata = 0, t0, t1;
	int ret;

	if (cbid < FAKE_MAX_CBID)
		cb_names[cbid] = cbname;
	memset(&cd, 0, sizeof(cd));
	cd.callbackSite = CUPTI_API_ENTER;
	cd.functionName = name;
	cd.symbolName = name;
	cd.correlationId = __atomic_add_fetch(&next_corr, 1, __ATOMIC_RELAXED);
	last_corr = cd.correlationId;
	cd.correlationData = &cdata;
	fake_callback(d, cbid, &cd);
	t0 = now_ns();
	ret = fn(arg);
	t1 = now_ns();
	cd.callbackSite = CUPTI_API_EXIT;
	fake_callback(d, cbid, &cd);
	if (runtime_kind_on && buf_req && cbid < FAKE_MAX_CBID && !rt_filtered[cbid])
		fake_record(cbid, cd.correlationId, t0, t1, ret);
	return ret;
}
#endif
