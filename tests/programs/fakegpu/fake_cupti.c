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
 */
#include <signal.h>
#include <stdint.h>
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
#endif
