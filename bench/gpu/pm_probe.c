/*
 * pm_probe.c - CUPTI PM sampling from a process that is not the application (issue 21):
 * can a helper process sample a device while another process runs the kernels, which
 * metric names exist on the chip, and on which clock its sample times are.
 *
 *   pm_probe list OUTFILE              base metrics of device 0 (PM sampling), one per line
 *                                      "TYPE NAME" (TYPE counter/ratio/throughput)
 *   pm_probe sample SECONDS HZ M1,M2,. sample device 0 for SECONDS at HZ; prints, per
 *                                      metric, samples/mean/max and the clocks of the first
 *                                      and last samples next to CLOCK_MONOTONIC/REALTIME
 *   pm_probe check M1,M2,...           for each name: known on the chip, passes alone
 *
 * Environment: PM_PROBE_CONTEXT=1 creates a context before enabling (default: none),
 * PM_PROBE_TSCB=1 registers a CLOCK_MONOTONIC timestamp callback first.
 * Build: cc -O2 -Icollectors/compat -o pm_probe pm_probe.c -I$CUDA/include -L$CUDA/lib64 -lcupti
 *        -L$CUDA/lib64/stubs -lcuda.  A probe for the GPU machine, not part of gprof-cli.
 */
#include <cuda.h>
#include <cupti.h>
#include <cupti_pmsampling.h>
#include <cupti_profiler_host.h>
#include <cupti_profiler_target.h>
#include <cupti_target.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CK(x)                                                                                      \
	do {                                                                                       \
		CUptiResult r_ = (x);                                                              \
		if (r_ != CUPTI_SUCCESS) {                                                         \
			const char *s_ = "?";                                                      \
			cuptiGetResultString(r_, &s_);                                             \
			fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, s_);             \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

static uint64_t clk(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
static uint64_t mono(void)
{
	return clk(CLOCK_MONOTONIC);
}

static char chip[64];
static uint8_t *avail;

static CUpti_Profiler_Host_Object *host_new(void)
{
	CUpti_Profiler_Host_Initialize_Params hi = {
	    .structSize = CUpti_Profiler_Host_Initialize_Params_STRUCT_SIZE};
	hi.profilerType = CUPTI_PROFILER_TYPE_PM_SAMPLING;
	hi.pChipName = chip;
	hi.pCounterAvailabilityImage = avail;
	CK(cuptiProfilerHostInitialize(&hi));
	return hi.pHostObject;
}

static CUptiResult config(CUpti_Profiler_Host_Object *h, const char **m, size_t n, uint8_t **cfg,
			  size_t *sz, size_t *passes)
{
	CUpti_Profiler_Host_ConfigAddMetrics_Params am = {
	    .structSize = CUpti_Profiler_Host_ConfigAddMetrics_Params_STRUCT_SIZE};
	am.pHostObject = h;
	am.ppMetricNames = m;
	am.numMetrics = n;
	CUptiResult r = cuptiProfilerHostConfigAddMetrics(&am);
	if (r)
		return r;
	CUpti_Profiler_Host_GetConfigImageSize_Params cs = {
	    .structSize = CUpti_Profiler_Host_GetConfigImageSize_Params_STRUCT_SIZE};
	cs.pHostObject = h;
	if ((r = cuptiProfilerHostGetConfigImageSize(&cs)))
		return r;
	*cfg = calloc(1, cs.configImageSize);
	CUpti_Profiler_Host_GetConfigImage_Params ci = {
	    .structSize = CUpti_Profiler_Host_GetConfigImage_Params_STRUCT_SIZE};
	ci.pHostObject = h;
	ci.pConfigImage = *cfg;
	ci.configImageSize = cs.configImageSize;
	if ((r = cuptiProfilerHostGetConfigImage(&ci)))
		return r;
	CUpti_Profiler_Host_GetNumOfPasses_Params np = {
	    .structSize = CUpti_Profiler_Host_GetNumOfPasses_Params_STRUCT_SIZE};
	np.pConfigImage = *cfg;
	np.configImageSize = cs.configImageSize;
	if ((r = cuptiProfilerHostGetNumOfPasses(&np)))
		return r;
	*sz = cs.configImageSize;
	*passes = np.numOfPasses;
	return CUPTI_SUCCESS;
}

static size_t split(char *s, const char **out, size_t max)
{
	size_t n = 0;
	for (char *sv, *p = strtok_r(s, ",", &sv); p && n < max; p = strtok_r(NULL, ",", &sv))
		out[n++] = p;
	return n;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return fprintf(stderr, "usage: see pm_probe.c\n"), 2;
	uint64_t t0 = mono();
	if (cuInit(0) != CUDA_SUCCESS)
		return fprintf(stderr, "cuInit failed\n"), 1;
	uint64_t t1 = mono();
	CUcontext ctx = NULL;
	if (getenv("PM_PROBE_CONTEXT")) {
		CUdevice dev;
		cuDeviceGet(&dev, 0);
		cuDevicePrimaryCtxRetain(&ctx, dev);
		cuCtxSetCurrent(ctx);
	}
	if (getenv("PM_PROBE_TSCB"))
		CK(cuptiActivityRegisterTimestampCallback(mono));
	CUpti_Profiler_Initialize_Params ip = {.structSize =
						   CUpti_Profiler_Initialize_Params_STRUCT_SIZE};
	CK(cuptiProfilerInitialize(&ip));
	CUpti_Device_GetChipName_Params cn = {.structSize =
						  CUpti_Device_GetChipName_Params_STRUCT_SIZE};
	cn.deviceIndex = 0;
	CK(cuptiDeviceGetChipName(&cn));
	snprintf(chip, sizeof(chip), "%s", cn.pChipName);
	CUpti_PmSampling_GetCounterAvailability_Params ca = {
	    .structSize = CUpti_PmSampling_GetCounterAvailability_Params_STRUCT_SIZE};
	ca.deviceIndex = 0;
	CK(cuptiPmSamplingGetCounterAvailability(&ca));
	avail = calloc(1, ca.counterAvailabilityImageSize);
	ca.pCounterAvailabilityImage = avail;
	CK(cuptiPmSamplingGetCounterAvailability(&ca));
	printf("chip %s context %s cuInit %.3f s init total %.3f s\n", chip, ctx ? "yes" : "no",
	       (t1 - t0) / 1e9, (mono() - t0) / 1e9);

	if (!strcmp(argv[1], "list")) {
		FILE *f = fopen(argv[2], "w");
		CUpti_Profiler_Host_Object *h = host_new();
		static const char *tn[] = {"counter", "ratio", "throughput"};
		for (int t = 0; t < CUPTI_METRIC_TYPE__COUNT; t++) {
			CUpti_Profiler_Host_GetBaseMetrics_Params bm = {
			    .structSize = CUpti_Profiler_Host_GetBaseMetrics_Params_STRUCT_SIZE};
			bm.pHostObject = h;
			bm.metricType = (CUpti_MetricType)t;
			if (cuptiProfilerHostGetBaseMetrics(&bm))
				continue;
			for (size_t i = 0; i < bm.numMetrics; i++) {
				fprintf(f, "%s %s", t < 3 ? tn[t] : "?", bm.ppMetricNames[i]);
				CUpti_Profiler_Host_GetSubMetrics_Params sm = {
				    .structSize =
					CUpti_Profiler_Host_GetSubMetrics_Params_STRUCT_SIZE};
				sm.pHostObject = h;
				sm.metricType = (CUpti_MetricType)t;
				sm.pMetricName = bm.ppMetricNames[i];
				if (!cuptiProfilerHostGetSubMetrics(&sm))
					for (size_t j = 0; j < sm.numOfSubmetrics && j < 400; j++)
						fprintf(f, " %s", sm.ppSubMetrics[j]);
				fputc('\n', f);
			}
		}
		fclose(f);
		return 0;
	}
	const char *names[64];
	size_t n = split(argv[argc - 1], names, 64);
	if (!strcmp(argv[1], "check")) {
		for (size_t i = 0; i < n; i++) {
			CUpti_Profiler_Host_Object *h = host_new();
			uint8_t *cfg = NULL;
			size_t sz = 0, passes = 0;
			CUptiResult r = config(h, &names[i], 1, &cfg, &sz, &passes);
			const char *s = "ok";
			if (r)
				cuptiGetResultString(r, &s);
			printf("check %-90s %s passes=%zu\n", names[i], s, passes);
		}
		CUpti_Profiler_Host_Object *h = host_new();
		uint8_t *cfg = NULL;
		size_t sz = 0, passes = 0;
		CUptiResult r = config(h, names, n, &cfg, &sz, &passes);
		printf("check all %zu: result %d passes=%zu\n", n, (int)r, passes);
		return 0;
	}
	/* sample SECONDS HZ LIST */
	double secs = atof(argv[2]);
	unsigned hz = (unsigned)atoi(argv[3]);
	CUpti_Profiler_Host_Object *h = host_new();
	uint8_t *cfg = NULL;
	size_t cfgsz = 0, passes = 0;
	CK(config(h, names, n, &cfg, &cfgsz, &passes));
	printf("metrics %zu passes %zu\n", n, passes);
	CUpti_PmSampling_Enable_Params en = {.structSize =
						 CUpti_PmSampling_Enable_Params_STRUCT_SIZE};
	en.deviceIndex = 0;
	CK(cuptiPmSamplingEnable(&en));
	CUpti_PmSampling_SetConfig_Params sc = {.structSize =
						    CUpti_PmSampling_SetConfig_Params_STRUCT_SIZE};
	sc.pPmSamplingObject = en.pPmSamplingObject;
	sc.configSize = cfgsz;
	sc.pConfig = cfg;
	sc.hardwareBufferSize = 256u << 20;
	sc.samplingInterval = 1000000000ull / hz;
	sc.triggerMode = CUPTI_PM_SAMPLING_TRIGGER_MODE_GPU_TIME_INTERVAL;
	sc.hwBufferAppendMode = CUPTI_PM_SAMPLING_HARDWARE_BUFFER_APPEND_MODE_KEEP_OLDEST;
	CK(cuptiPmSamplingSetConfig(&sc));
	CUpti_PmSampling_GetCounterDataSize_Params gs = {
	    .structSize = CUpti_PmSampling_GetCounterDataSize_Params_STRUCT_SIZE};
	gs.pPmSamplingObject = en.pPmSamplingObject;
	gs.pMetricNames = names;
	gs.numMetrics = n;
	gs.maxSamples = 4096;
	CK(cuptiPmSamplingGetCounterDataSize(&gs));
	uint8_t *data = calloc(1, gs.counterDataSize);
	CUpti_PmSampling_CounterDataImage_Initialize_Params ii = {
	    .structSize = CUpti_PmSampling_CounterDataImage_Initialize_Params_STRUCT_SIZE};
	ii.pPmSamplingObject = en.pPmSamplingObject;
	ii.counterDataSize = gs.counterDataSize;
	ii.pCounterData = data;
	CK(cuptiPmSamplingCounterDataImageInitialize(&ii));
	CUpti_PmSampling_Start_Params st = {.structSize =
						CUpti_PmSampling_Start_Params_STRUCT_SIZE};
	st.pPmSamplingObject = en.pPmSamplingObject;
	uint64_t m0 = mono(), r0 = clk(CLOCK_REALTIME), c0 = 0;
	cuptiGetTimestamp(&c0);
	CK(cuptiPmSamplingStart(&st));
	printf("started: mono %llu realtime %llu cuptiGetTimestamp %llu (after %.3f s)\n",
	       (unsigned long long)m0, (unsigned long long)r0, (unsigned long long)c0,
	       (mono() - t0) / 1e9);
	fflush(stdout);
	double sum[64] = {0}, mx[64] = {0};
	uint64_t cnt = 0, nonzero[64] = {0}, first_end = 0, last_end = 0, dec_ns = 0, ev_ns = 0;
	uint64_t end = mono() + (uint64_t)(secs * 1e9);
	int stopping = 0;
	for (;;) {
		if (!stopping && mono() >= end) {
			CUpti_PmSampling_Stop_Params sp = {
			    .structSize = CUpti_PmSampling_Stop_Params_STRUCT_SIZE};
			sp.pPmSamplingObject = en.pPmSamplingObject;
			CK(cuptiPmSamplingStop(&sp));
			stopping = 1;
		}
		usleep(20000);
		CUpti_PmSampling_DecodeData_Params dd = {
		    .structSize = CUpti_PmSampling_DecodeData_Params_STRUCT_SIZE};
		dd.pPmSamplingObject = en.pPmSamplingObject;
		dd.pCounterDataImage = data;
		dd.counterDataImageSize = gs.counterDataSize;
		uint64_t a = clk(CLOCK_THREAD_CPUTIME_ID);
		CUptiResult r = cuptiPmSamplingDecodeData(&dd);
		uint64_t b = clk(CLOCK_THREAD_CPUTIME_ID);
		dec_ns += b - a;
		if (r) {
			const char *s = "?";
			cuptiGetResultString(r, &s);
			printf("decode: %s\n", s);
			break;
		}
		CUpti_PmSampling_GetCounterDataInfo_Params gi = {
		    .structSize = CUpti_PmSampling_GetCounterDataInfo_Params_STRUCT_SIZE};
		gi.pCounterDataImage = data;
		gi.counterDataImageSize = gs.counterDataSize;
		CK(cuptiPmSamplingGetCounterDataInfo(&gi));
		for (size_t i = 0; i < gi.numCompletedSamples; i++) {
			CUpti_PmSampling_CounterData_GetSampleInfo_Params si = {
			    .structSize =
				CUpti_PmSampling_CounterData_GetSampleInfo_Params_STRUCT_SIZE};
			si.pPmSamplingObject = en.pPmSamplingObject;
			si.pCounterDataImage = data;
			si.counterDataImageSize = gs.counterDataSize;
			si.sampleIndex = i;
			if (cuptiPmSamplingCounterDataGetSampleInfo(&si))
				continue;
			double v[64];
			CUpti_Profiler_Host_EvaluateToGpuValues_Params ev = {
			    .structSize =
				CUpti_Profiler_Host_EvaluateToGpuValues_Params_STRUCT_SIZE};
			ev.pHostObject = h;
			ev.pCounterDataImage = data;
			ev.counterDataImageSize = gs.counterDataSize;
			ev.rangeIndex = i;
			ev.ppMetricNames = names;
			ev.numMetrics = n;
			ev.pMetricValues = v;
			if (cuptiProfilerHostEvaluateToGpuValues(&ev))
				continue;
			if (!first_end) {
				first_end = si.endTimestamp;
				printf("first sample: start %llu end %llu\n",
				       (unsigned long long)si.startTimestamp,
				       (unsigned long long)si.endTimestamp);
				continue;
			}
			last_end = si.endTimestamp;
			cnt++;
			for (size_t k = 0; k < n; k++) {
				sum[k] += v[k];
				if (v[k] > mx[k])
					mx[k] = v[k];
				nonzero[k] += v[k] != 0;
			}
		}
		ev_ns += clk(CLOCK_THREAD_CPUTIME_ID) - b;
		CK(cuptiPmSamplingCounterDataImageInitialize(&ii));
		if (stopping &&
		    dd.decodeStopReason == CUPTI_PM_SAMPLING_DECODE_STOP_REASON_END_OF_RECORDS)
			break;
	}
	uint64_t m1 = mono(), r1 = clk(CLOCK_REALTIME), c1 = 0;
	cuptiGetTimestamp(&c1);
	printf("stopped: mono %llu realtime %llu cuptiGetTimestamp %llu\n", (unsigned long long)m1,
	       (unsigned long long)r1, (unsigned long long)c1);
	printf("samples %llu, last end %llu, decode cpu %.1f us/sample, evaluate %.1f us/sample\n",
	       (unsigned long long)cnt, (unsigned long long)last_end,
	       cnt ? dec_ns / 1e3 / cnt : 0.0, cnt ? ev_ns / 1e3 / cnt : 0.0);
	for (size_t k = 0; k < n; k++)
		printf("  %-90s mean %.4g max %.4g nonzero %llu\n", names[k],
		       cnt ? sum[k] / cnt : 0.0, mx[k], (unsigned long long)nonzero[k]);
	return 0;
}
