/*
 * gpu_metrics.c - the gpu-metrics collector, sampling mode: CUPTI PM sampling
 * (cupti_pmsampling.h + the profiler host API, cupti-design.md §5) on a decode thread,
 * one GP_REC_METRICS_SAMPLE per sample (wire_metrics.h).  Every CUPTI function is
 * resolved with dlsym from the libcupti handle the cuda collector opened.
 *
 * Written against the CUDA 13.0 U1 headers; NOT YET RUN ON A GPU.  Range mode (range
 * profiler, kernel replay) is not implemented here yet: it says so and records nothing.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cupti_pmsampling.h>
#include <cupti_profiler_host.h>
#include <cupti_profiler_target.h>
#include <cupti_target.h>

#include "../core/metrics_names.h"
#include "gpu_metrics.h"

#define F(name) static __typeof__(&name) p_##name
F(cuptiProfilerInitialize);
F(cuptiDeviceGetChipName);
F(cuptiPmSamplingGetCounterAvailability);
F(cuptiProfilerHostInitialize);
F(cuptiProfilerHostDeinitialize);
F(cuptiProfilerHostConfigAddMetrics);
F(cuptiProfilerHostGetConfigImageSize);
F(cuptiProfilerHostGetConfigImage);
F(cuptiProfilerHostGetNumOfPasses);
F(cuptiProfilerHostEvaluateToGpuValues);
F(cuptiPmSamplingEnable);
F(cuptiPmSamplingSetConfig);
F(cuptiPmSamplingGetCounterDataSize);
F(cuptiPmSamplingCounterDataImageInitialize);
F(cuptiPmSamplingStart);
F(cuptiPmSamplingStop);
F(cuptiPmSamplingDecodeData);
F(cuptiPmSamplingGetCounterDataInfo);
F(cuptiPmSamplingCounterDataGetSampleInfo);
F(cuptiPmSamplingDisable);
#undef F
static CUptiResult(CUPTIAPI *p_cuptiGetResultString)(CUptiResult, const char **);

#define MAX_SAMPLES 4096

static struct {
	CUpti_PmSampling_Object *obj;
	CUpti_Profiler_Host_Object *host;
	uint8_t *counter_data;
	size_t counter_data_size;
	const char *names[GP_METRICS_MAX];
	size_t n;
	int device;
	pthread_t thread;
	volatile int running;
} S;

static char metric_buf[4096];

static void say(const char *what, CUptiResult r)
{
	const char *s = NULL;
	char line[512];

	if (p_cuptiGetResultString)
		p_cuptiGetResultString(r, &s);
	snprintf(line, sizeof(line), "gprof-cli: gpu-metrics disabled: %s: %s\n", what,
		 s ? s : "CUPTI error");
	if (write(STDERR_FILENO, line, strlen(line)) < 0)
		return;
	if (r == CUPTI_ERROR_INSUFFICIENT_PRIVILEGES) {
		static const char h[] =
		    "hint: GPU counters are restricted to admin users: load the nvidia module "
		    "with NVreg_RestrictProfilingToAdminUsers=0, or run with CAP_PERFMON / "
		    "CAP_SYS_ADMIN (https://developer.nvidia.com/ERR_NVGPUCTRPERM)\n";
		if (write(STDERR_FILENO, h, sizeof(h) - 1) < 0)
			return;
	}
	uint32_t k = gp_intern("GPU_METRICS:ERROR"), v = gp_intern(line);
	struct gp_rec_metrics_note *n = gp_rec_begin(GP_REC_METRICS_NOTE, sizeof(*n));
	if (n) {
		n->key_sid = k;
		n->value_sid = v;
		gp_rec_commit(n);
	}
}

static const char *opt(const char *key)
{
	const char *s = getenv(GP_ENV_OPTIONS);
	size_t kl = strlen(key);

	while (s && *s) {
		const char *e = strchr(s, ';');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		if (len > kl && !strncmp(s, key, kl) && s[kl] == '=') {
			size_t vl = len - kl - 1 < sizeof(metric_buf) - 1 ? len - kl - 1
									  : sizeof(metric_buf) - 1;
			memcpy(metric_buf, s + kl + 1, vl);
			metric_buf[vl] = 0;
			return metric_buf;
		}
		s = e ? e + 1 : NULL;
	}
	return NULL;
}

static void decode_once(void)
{
	double vals[GP_METRICS_MAX];
	CUpti_PmSampling_DecodeData_Params dd = {
	    .structSize = CUpti_PmSampling_DecodeData_Params_STRUCT_SIZE};
	dd.pPmSamplingObject = S.obj;
	dd.pCounterDataImage = S.counter_data;
	dd.counterDataImageSize = S.counter_data_size;
	if (p_cuptiPmSamplingDecodeData(&dd) != CUPTI_SUCCESS)
		return;
	CUpti_PmSampling_GetCounterDataInfo_Params gi = {
	    .structSize = CUpti_PmSampling_GetCounterDataInfo_Params_STRUCT_SIZE};
	gi.pCounterDataImage = S.counter_data;
	gi.counterDataImageSize = S.counter_data_size;
	if (p_cuptiPmSamplingGetCounterDataInfo(&gi) != CUPTI_SUCCESS)
		return;
	for (size_t i = 0; i < gi.numCompletedSamples; i++) {
		CUpti_PmSampling_CounterData_GetSampleInfo_Params si = {
		    .structSize = CUpti_PmSampling_CounterData_GetSampleInfo_Params_STRUCT_SIZE};
		si.pPmSamplingObject = S.obj;
		si.pCounterDataImage = S.counter_data;
		si.counterDataImageSize = S.counter_data_size;
		si.sampleIndex = i;
		if (p_cuptiPmSamplingCounterDataGetSampleInfo(&si) != CUPTI_SUCCESS)
			continue;
		CUpti_Profiler_Host_EvaluateToGpuValues_Params ev = {
		    .structSize = CUpti_Profiler_Host_EvaluateToGpuValues_Params_STRUCT_SIZE};
		ev.pHostObject = S.host;
		ev.pCounterDataImage = S.counter_data;
		ev.counterDataImageSize = S.counter_data_size;
		ev.rangeIndex = i;
		ev.ppMetricNames = S.names;
		ev.numMetrics = S.n;
		ev.pMetricValues = vals;
		if (p_cuptiProfilerHostEvaluateToGpuValues(&ev) != CUPTI_SUCCESS)
			continue;
		struct gp_rec_metrics_sample *r =
		    gp_rec_begin(GP_REC_METRICS_SAMPLE, sizeof(*r) + S.n * sizeof(double));
		if (!r)
			continue;
		r->start_ns = si.startTimestamp;
		r->end_ns = si.endTimestamp;
		r->device_id = (uint32_t)S.device;
		r->nvalues = (uint32_t)S.n;
		memcpy(r->values, vals, S.n * sizeof(double));
		gp_rec_commit(r);
	}
	CUpti_PmSampling_CounterDataImage_Initialize_Params ii = {
	    .structSize = CUpti_PmSampling_CounterDataImage_Initialize_Params_STRUCT_SIZE};
	ii.pPmSamplingObject = S.obj;
	ii.counterDataSize = S.counter_data_size;
	ii.pCounterData = S.counter_data;
	p_cuptiPmSamplingCounterDataImageInitialize(&ii);
}

static void *decode_thread(void *arg)
{
	(void)arg;
	while (S.running) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
		decode_once();
	}
	return NULL;
}

static int resolve(void *h)
{
#define R(name)                                                                                    \
	if (!(*(void **)&p_##name = dlsym(h, #name)))                                              \
		return -1;
	R(cuptiProfilerInitialize)
	    R(cuptiDeviceGetChipName) R(cuptiPmSamplingGetCounterAvailability)
		R(cuptiProfilerHostInitialize) R(cuptiProfilerHostDeinitialize)
		    R(cuptiProfilerHostConfigAddMetrics) R(cuptiProfilerHostGetConfigImageSize)
			R(cuptiProfilerHostGetConfigImage) R(cuptiProfilerHostGetNumOfPasses)
			    R(cuptiProfilerHostEvaluateToGpuValues) R(cuptiPmSamplingEnable)
				R(cuptiPmSamplingSetConfig) R(cuptiPmSamplingGetCounterDataSize)
				    R(cuptiPmSamplingCounterDataImageInitialize)
					R(cuptiPmSamplingStart) R(cuptiPmSamplingStop)
					    R(cuptiPmSamplingDecodeData)
						R(cuptiPmSamplingGetCounterDataInfo)
						    R(cuptiPmSamplingCounterDataGetSampleInfo)
							R(cuptiPmSamplingDisable)
#undef R
	    * (void **)&p_cuptiGetResultString = dlsym(h, "cuptiGetResultString");
	return 0;
}

void gp_metrics_start(void *h)
{
	const char *t = getenv(GP_ENV_TRACE), *v;
	CUptiResult r;
	static char list[4096];
	unsigned hz = 10000;

	if (!t || !strstr(t, "gpu-metrics") || !h)
		return;
	if (resolve(h) < 0) {
		say("libcupti.so.13 lacks the PM sampling API", CUPTI_ERROR_NOT_SUPPORTED);
		return;
	}
	if ((v = opt("gpu-metrics-mode")) && !strcmp(v, "range")) {
		say("range mode is not implemented in this build", CUPTI_ERROR_NOT_SUPPORTED);
		return;
	}
	if ((v = opt("gpu-metrics-frequency")))
		hz = (unsigned)strtoul(v, NULL, 10);
	if ((v = opt("gpu-metrics-devices")) && v[0] >= '0' && v[0] <= '9')
		S.device = atoi(v); /* first listed device; several devices: not yet */
	snprintf(list, sizeof(list), "%s", (v = opt("gpu-metrics-metrics")) ? v : "");
	for (char *p = strtok(list, ","); p && S.n < GP_METRICS_MAX; p = strtok(NULL, ","))
		S.names[S.n++] = p;
	if (!S.n)
		for (; gp_metrics_default_sample[S.n]; S.n++)
			S.names[S.n] = gp_metrics_default_sample[S.n];

	CUpti_Profiler_Initialize_Params ip = {.structSize =
						   CUpti_Profiler_Initialize_Params_STRUCT_SIZE};
	if ((r = p_cuptiProfilerInitialize(&ip)) != CUPTI_SUCCESS)
		return say("cuptiProfilerInitialize", r);
	CUpti_Device_GetChipName_Params cn = {.structSize =
						  CUpti_Device_GetChipName_Params_STRUCT_SIZE};
	cn.deviceIndex = (size_t)S.device;
	if ((r = p_cuptiDeviceGetChipName(&cn)) != CUPTI_SUCCESS)
		return say("no GPU or unsupported device", r);
	CUpti_PmSampling_GetCounterAvailability_Params ca = {
	    .structSize = CUpti_PmSampling_GetCounterAvailability_Params_STRUCT_SIZE};
	ca.deviceIndex = (size_t)S.device;
	if ((r = p_cuptiPmSamplingGetCounterAvailability(&ca)) != CUPTI_SUCCESS)
		return say("counter availability", r);
	ca.pCounterAvailabilityImage = calloc(1, ca.counterAvailabilityImageSize);
	if ((r = p_cuptiPmSamplingGetCounterAvailability(&ca)) != CUPTI_SUCCESS)
		return say("counter availability", r);
	CUpti_Profiler_Host_Initialize_Params hi = {
	    .structSize = CUpti_Profiler_Host_Initialize_Params_STRUCT_SIZE};
	hi.profilerType = CUPTI_PROFILER_TYPE_PM_SAMPLING;
	hi.pChipName = cn.pChipName;
	hi.pCounterAvailabilityImage = ca.pCounterAvailabilityImage;
	if ((r = p_cuptiProfilerHostInitialize(&hi)) != CUPTI_SUCCESS)
		return say("profiler host", r);
	S.host = hi.pHostObject;
	CUpti_Profiler_Host_ConfigAddMetrics_Params am = {
	    .structSize = CUpti_Profiler_Host_ConfigAddMetrics_Params_STRUCT_SIZE};
	am.pHostObject = S.host;
	am.ppMetricNames = S.names;
	am.numMetrics = S.n;
	if ((r = p_cuptiProfilerHostConfigAddMetrics(&am)) != CUPTI_SUCCESS)
		return say("unknown metric name in --gpu-metrics-set", r);
	CUpti_Profiler_Host_GetNumOfPasses_Params np = {
	    .structSize = CUpti_Profiler_Host_GetNumOfPasses_Params_STRUCT_SIZE};
	CUpti_Profiler_Host_GetConfigImageSize_Params cs = {
	    .structSize = CUpti_Profiler_Host_GetConfigImageSize_Params_STRUCT_SIZE};
	cs.pHostObject = S.host;
	if ((r = p_cuptiProfilerHostGetConfigImageSize(&cs)) != CUPTI_SUCCESS)
		return say("config image", r);
	uint8_t *cfg = calloc(1, cs.configImageSize);
	CUpti_Profiler_Host_GetConfigImage_Params ci = {
	    .structSize = CUpti_Profiler_Host_GetConfigImage_Params_STRUCT_SIZE};
	ci.pHostObject = S.host;
	ci.pConfigImage = cfg;
	ci.configImageSize = cs.configImageSize;
	if ((r = p_cuptiProfilerHostGetConfigImage(&ci)) != CUPTI_SUCCESS)
		return say("config image", r);
	np.pConfigImage = cfg;
	np.configImageSize = cs.configImageSize;
	if (p_cuptiProfilerHostGetNumOfPasses(&np) == CUPTI_SUCCESS && np.numOfPasses > 1)
		return say("too many metrics for one pass in sampling mode (use fewer metrics "
			   "or --gpu-metrics-mode=range)",
			   CUPTI_ERROR_NOT_SUPPORTED);
	CUpti_PmSampling_Enable_Params en = {.structSize =
						 CUpti_PmSampling_Enable_Params_STRUCT_SIZE};
	en.deviceIndex = (size_t)S.device;
	if ((r = p_cuptiPmSamplingEnable(&en)) != CUPTI_SUCCESS)
		return say(r == CUPTI_ERROR_INSUFFICIENT_PRIVILEGES
			       ? "insufficient privileges"
			       : "PM sampling on this device (MIG?)",
			   r);
	S.obj = en.pPmSamplingObject;
	CUpti_PmSampling_SetConfig_Params sc = {.structSize =
						    CUpti_PmSampling_SetConfig_Params_STRUCT_SIZE};
	sc.pPmSamplingObject = S.obj;
	sc.configSize = cs.configImageSize;
	sc.pConfig = cfg;
	sc.hardwareBufferSize = 64u << 20;
	sc.samplingInterval = 1000000000ull / (hz ? hz : 10000);
	sc.triggerMode = CUPTI_PM_SAMPLING_TRIGGER_MODE_GPU_TIME_INTERVAL;
	sc.hwBufferAppendMode = CUPTI_PM_SAMPLING_HARDWARE_BUFFER_APPEND_MODE_KEEP_OLDEST;
	if ((r = p_cuptiPmSamplingSetConfig(&sc)) != CUPTI_SUCCESS)
		return say("PM sampling config (more than one pass?)", r);
	CUpti_PmSampling_GetCounterDataSize_Params gs = {
	    .structSize = CUpti_PmSampling_GetCounterDataSize_Params_STRUCT_SIZE};
	gs.pPmSamplingObject = S.obj;
	gs.pMetricNames = S.names;
	gs.numMetrics = S.n;
	gs.maxSamples = MAX_SAMPLES;
	if ((r = p_cuptiPmSamplingGetCounterDataSize(&gs)) != CUPTI_SUCCESS)
		return say("counter data size", r);
	S.counter_data_size = gs.counterDataSize;
	S.counter_data = calloc(1, gs.counterDataSize);
	CUpti_PmSampling_CounterDataImage_Initialize_Params ii = {
	    .structSize = CUpti_PmSampling_CounterDataImage_Initialize_Params_STRUCT_SIZE};
	ii.pPmSamplingObject = S.obj;
	ii.counterDataSize = S.counter_data_size;
	ii.pCounterData = S.counter_data;
	if ((r = p_cuptiPmSamplingCounterDataImageInitialize(&ii)) != CUPTI_SUCCESS)
		return say("counter data image", r);
	for (size_t i = 0; i < S.n; i++) {
		uint32_t sid = gp_intern(S.names[i]), chip = gp_intern(cn.pChipName);
		struct gp_rec_metrics_metric *m = gp_rec_begin(GP_REC_METRICS_METRIC, sizeof(*m));
		if (!m)
			continue;
		m->device_id = (uint32_t)S.device;
		m->mode = GP_METRICS_MODE_SAMPLE;
		m->index = (uint16_t)i;
		m->name_sid = sid;
		m->chip_sid = chip;
		gp_rec_commit(m);
	}
	CUpti_PmSampling_Start_Params st = {.structSize =
						CUpti_PmSampling_Start_Params_STRUCT_SIZE};
	st.pPmSamplingObject = S.obj;
	if ((r = p_cuptiPmSamplingStart(&st)) != CUPTI_SUCCESS)
		return say("PM sampling start", r);
	S.running = 1;
	if (pthread_create(&S.thread, NULL, decode_thread, NULL) != 0)
		S.running = 0;
}

void gp_metrics_stop(void)
{
	if (!S.obj)
		return;
	if (S.running) {
		S.running = 0;
		pthread_join(S.thread, NULL);
	}
	CUpti_PmSampling_Stop_Params sp = {.structSize = CUpti_PmSampling_Stop_Params_STRUCT_SIZE};
	sp.pPmSamplingObject = S.obj;
	p_cuptiPmSamplingStop(&sp);
	decode_once();
	CUpti_PmSampling_Disable_Params di = {.structSize =
						  CUpti_PmSampling_Disable_Params_STRUCT_SIZE};
	di.pPmSamplingObject = S.obj;
	p_cuptiPmSamplingDisable(&di);
	S.obj = NULL;
}
