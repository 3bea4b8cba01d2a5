/*
 * gpu_metrics.c - the gpu-metrics collector, sampling mode (--gpu-metrics-mode=sample, the
 * default): CUPTI PM sampling (cupti_pmsampling.h) with the profiler host API
 * (cupti_profiler_host.h) as in cupti-design.md §5.  One PM-sampling object per sampled
 * device, each drained by its own decode thread (decoding and evaluating cost tens of µs of
 * CPU per sample, so devices are decoded in parallel); every sample becomes one
 * GP_REC_METRICS_SAMPLE (wire_metrics.h).  Every CUPTI function is resolved with dlsym from the
 * libcupti handle the cuda collector opened; the cuda collector registered its CLOCK_MONOTONIC
 * timestamp callback before gp_metrics_start(), so sample times are on the trace clock.
 *
 * Per device: the metric list is checked in one pass (fresh host object, all metrics,
 * cuptiProfilerHostGetNumOfPasses == 1); when that fails it is rebuilt greedily, keeping
 * each metric that still fits in one pass.  Unknown metrics (with close matches from the
 * chip's base metrics) and metrics that do not fit are one line each; the rest is sampled.
 * The hardware buffer keeps the oldest samples (KEEP_OLDEST), so an overflow is reported
 * instead of silently overwriting; the first sample (start-up, ~0.5 s long) is dropped.
 * Range mode is collectors/gpu_range.c.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
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
F(cuptiProfilerHostGetBaseMetrics);
F(cuptiProfilerHostGetSubMetrics);
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

#define MAX_DEV 16	      /* devices sampled at once */
#ifndef GP_PM_MAX_SAMPLES     /* samples per counter-data image (one decode round); a */
#define GP_PM_MAX_SAMPLES 512 /* compile-time knob for the decode-cost experiments */
#endif
#define HW_BUFFER (64u << 20) /* hardware buffer per device, bytes (kineto uses 64 MiB) */

#define MAX_WORKERS 8 /* evaluation threads per device (the decode thread is one) */

/* One sampled device. */
struct dev {
	int index;			  /* CUDA device ordinal (CUPTI deviceIndex) */
	char chip[32];			  /* "GH100" */
	CUpti_Profiler_Host_Object *host; /* evaluates samples; owns nothing of ours */
	CUpti_PmSampling_Object *obj;	  /* NULL: not sampling */
	uint8_t *avail, *cfg, *data;	  /* counter availability, config, counter data */
	size_t cfg_size, data_size;
	const char *names[GP_METRICS_MAX]; /* accepted metrics, as CUPTI evaluates them (into
					      S.list, the unprefixed parts of it, or a set's
					      literals) */
	const char *shown[GP_METRICS_MAX]; /* their metricName in the report: nsys's name for
					      a metric of nsys's set, else names[i] */
	size_t n;
	uint64_t samples, first_dropped, overflows, decode_errors, eval_errors, restarts;
	uint64_t lost_from_ns, lost_ns; /* time without samples after decode errors */
	CUptiResult first_error;
	uint64_t first_ns, last_ns; /* first / last kept sample's end */
	pthread_t thread;	    /* its decode thread (one per device: decoding and
				     * evaluating cost CPU per sample and device) */
	int has_thread;
	/* Evaluation in parallel: the samples of one decoded counter-data image are split
	 * among nworkers threads (the one that decoded is worker 0), each with its own host
	 * object configured as `host` (whost[0] == host). */
	int nworkers;
	CUpti_Profiler_Host_Object *whost[MAX_WORKERS];
	pthread_t wthread[MAX_WORKERS];
	pthread_barrier_t go, done;	 /* a round's start and end (nworkers threads) */
	sem_t gate;			 /* workers start once the barriers exist */
	int quit;			 /* workers: leave at the next `go` */
	size_t round_n;			 /* samples in the image of this round */
	uint8_t keep[GP_PM_MAX_SAMPLES]; /* sample i is sent (not the start-up one) */
	uint64_t t_start[GP_PM_MAX_SAMPLES], t_end[GP_PM_MAX_SAMPLES]; /* its times, ns */
	_Atomic uint64_t round_sent, round_errors;
};

static struct {
	struct dev dev[MAX_DEV];
	int ndev;
	unsigned hz;
	atomic_int running;
	_Atomic uint64_t decode_cpu_ns;		      /* the decode threads' CPU time */
	_Atomic uint64_t ns_decode, ns_eval, ns_init; /* of it: DecodeData, evaluation, reset */
	int ids[MAX_DEV], nids; /* devices asked for (gp_metrics_parse_devices) */
	char list[4096];	/* the requested metrics, comma list split in place */
	const char *req[GP_METRICS_MAX];
	size_t nreq;
	int no_eval; /* $GPROF_CLI_METRICS_EVAL=0 (benchmarks): decode, count, not evaluate */
} S;

/* A META_DATA_CAPTURE row GPU_METRICS:<key> = value (facts: devices, counts, costs). */
static void fact(const char *key, const char *value)
{
	char k[128];

	snprintf(k, sizeof(k), "GPU_METRICS:%.100s", key);
	gp_metrics_note(k, value);
}

void gp_metrics_problem(const char *key, const char *line)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "gprof-cli: gpu-metrics: %s\n", line);

	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf)) { /* cut: the line still ends */
		n = (int)sizeof(buf) - 1;
		buf[n - 1] = '\n';
	}
	if (write(STDERR_FILENO, buf, (size_t)n) < 0)
		return;
	fact(key, line);
}

/* A device-level failure `what` with CUPTI result r: one error line naming the cause and
 * the fix where there is one. */
static void fail(int dev, const char *what, CUptiResult r)
{
	char line[768];
	const char *why;

	switch (r) {
	case CUPTI_ERROR_INSUFFICIENT_PRIVILEGES:
	case CUPTI_ERROR_VIRTUALIZED_DEVICE_INSUFFICIENT_PRIVILEGES:
		why = "GPU performance counters are restricted to admin users (driver setting "
		      "NVreg_RestrictProfilingToAdminUsers=1); hint: " GP_COUNTERS_FIX;
		break;
	case CUPTI_ERROR_MIG_DEVICE_NOT_SUPPORTED:
		why = "the device is a MIG instance, and PM sampling does not support MIG; "
		      "hint: sample a GPU with MIG disabled";
		break;
	case CUPTI_ERROR_VIRTUALIZED_DEVICE_NOT_SUPPORTED:
	case CUPTI_ERROR_CMP_DEVICE_NOT_SUPPORTED:
	case CUPTI_ERROR_SLI_DEVICE_NOT_SUPPORTED:
	case CUPTI_ERROR_WSL_DEVICE_NOT_SUPPORTED:
	case CUPTI_ERROR_CONFIDENTIAL_COMPUTING_NOT_SUPPORTED:
	case CUPTI_ERROR_NOT_COMPATIBLE:
	case CUPTI_ERROR_NOT_SUPPORTED:
		why = "this device does not support PM sampling (Turing or newer, no vGPU/MIG; "
		      "time-based sampling needs GA10x or newer)";
		break;
	case CUPTI_ERROR_INVALID_OPERATION:
		why = "PM sampling is already in use on this device (another process of the "
		      "application, or another profiler)";
		break;
	case CUPTI_ERROR_INVALID_DEVICE:
		why = "no such CUDA device in the application";
		break;
	default:
		why = gp_cupti_result_text(r);
	}
	if (dev < 0)
		snprintf(line, sizeof(line), "%s failed: %s; no metrics sampled", what, why);
	else
		snprintf(line, sizeof(line), "device %d: %s failed: %s; no metrics sampled there",
			 dev, what, why);
	gp_metrics_problem("ERROR", line);
}

static CUpti_Profiler_Host_Object *host_new(struct dev *d)
{
	CUpti_Profiler_Host_Initialize_Params hi = {
	    .structSize = CUpti_Profiler_Host_Initialize_Params_STRUCT_SIZE};

	hi.profilerType = CUPTI_PROFILER_TYPE_PM_SAMPLING;
	hi.pChipName = d->chip;
	hi.pCounterAvailabilityImage = d->avail;
	if (p_cuptiProfilerHostInitialize(&hi) != CUPTI_SUCCESS)
		return NULL;
	return hi.pHostObject;
}

static void host_free(CUpti_Profiler_Host_Object *h)
{
	CUpti_Profiler_Host_Deinitialize_Params di = {
	    .structSize = CUpti_Profiler_Host_Deinitialize_Params_STRUCT_SIZE};

	if (!h)
		return;
	di.pHostObject = h;
	p_cuptiProfilerHostDeinitialize(&di);
}

/* Add names[0..n) to host h and build the config image (into *cfg, malloc'd).  Returns
 * CUPTI_SUCCESS and sets *passes, or the failing call's result. */
static CUptiResult configure(CUpti_Profiler_Host_Object *h, const char **names, size_t n,
			     uint8_t **cfg, size_t *cfg_size, size_t *passes)
{
	CUpti_Profiler_Host_ConfigAddMetrics_Params am = {
	    .structSize = CUpti_Profiler_Host_ConfigAddMetrics_Params_STRUCT_SIZE};
	CUpti_Profiler_Host_GetConfigImageSize_Params cs = {
	    .structSize = CUpti_Profiler_Host_GetConfigImageSize_Params_STRUCT_SIZE};
	CUpti_Profiler_Host_GetConfigImage_Params ci = {
	    .structSize = CUpti_Profiler_Host_GetConfigImage_Params_STRUCT_SIZE};
	CUpti_Profiler_Host_GetNumOfPasses_Params np = {
	    .structSize = CUpti_Profiler_Host_GetNumOfPasses_Params_STRUCT_SIZE};
	CUptiResult r;

	*cfg = NULL;
	am.pHostObject = h;
	am.ppMetricNames = names;
	am.numMetrics = n;
	if ((r = p_cuptiProfilerHostConfigAddMetrics(&am)) != CUPTI_SUCCESS)
		return r;
	cs.pHostObject = h;
	if ((r = p_cuptiProfilerHostGetConfigImageSize(&cs)) != CUPTI_SUCCESS)
		return r;
	*cfg = calloc(1, cs.configImageSize);
	if (!*cfg)
		return CUPTI_ERROR_OUT_OF_MEMORY;
	ci.pHostObject = h;
	ci.pConfigImage = *cfg;
	ci.configImageSize = cs.configImageSize;
	if ((r = p_cuptiProfilerHostGetConfigImage(&ci)) != CUPTI_SUCCESS)
		goto bad;
	np.pConfigImage = *cfg;
	np.configImageSize = cs.configImageSize;
	if ((r = p_cuptiProfilerHostGetNumOfPasses(&np)) != CUPTI_SUCCESS)
		goto bad;
	*cfg_size = cs.configImageSize;
	*passes = np.numOfPasses;
	return CUPTI_SUCCESS;
bad:
	free(*cfg);
	*cfg = NULL;
	return r;
}

/* Does metric `name` exist on the chip?  (Its own host object; 1 = yes.) */
static int metric_known(struct dev *d, const char *name)
{
	CUpti_Profiler_Host_Object *h = host_new(d);
	uint8_t *cfg = NULL;
	size_t sz, passes;
	int ok = h && configure(h, &name, 1, &cfg, &sz, &passes) == CUPTI_SUCCESS;

	free(cfg);
	host_free(h);
	return ok;
}

/* "unknown metric" line for `name` on device d, with close matches: base metrics of the
 * chip near name's base (shown with name's suffix), or, when the base exists, its
 * sub-metrics near the suffix. */
static void unknown_metric(struct dev *d, CUpti_Profiler_Host_Object *h, const char *name)
{
	const char *near[4];
	char line[1536], base[256];
	size_t k = 0, bl = gp_metric_base_len(name), off;
	const char *suffix = name + bl;

	snprintf(base, sizeof(base), "%.*s", (int)(bl < 255 ? bl : 255), name);
	off = (size_t)snprintf(line, sizeof(line), "device %d (%s): unknown metric '%s'", d->index,
			       d->chip, name);
	for (int t = 0; t < CUPTI_METRIC_TYPE__COUNT && h; t++) {
		CUpti_Profiler_Host_GetSubMetrics_Params sm = {
		    .structSize = CUpti_Profiler_Host_GetSubMetrics_Params_STRUCT_SIZE};
		sm.pHostObject = h;
		sm.metricType = (CUpti_MetricType)t;
		sm.pMetricName = base;
		if (p_cuptiProfilerHostGetSubMetrics(&sm) != CUPTI_SUCCESS || !sm.numOfSubmetrics)
			continue;
		/* the base metric exists: the suffix is wrong */
		k = gp_metric_suggest(*suffix ? suffix : ".", sm.ppSubMetrics, sm.numOfSubmetrics,
				      near, 4);
		for (size_t i = 0; i < k && off < sizeof(line); i++)
			off += (size_t)snprintf(line + off, sizeof(line) - off, "%s%s%s",
						i ? ", " : "; close matches: ", base, near[i]);
		if (!k)
			snprintf(line + off, sizeof(line) - off,
				 "; '%s' exists, with sub-metrics such as %s%s", base, base,
				 sm.ppSubMetrics[0]);
		gp_metrics_problem("WARNING", line);
		return;
	}
	for (int t = 0; t < CUPTI_METRIC_TYPE__COUNT && h && k < 4; t++) {
		CUpti_Profiler_Host_GetBaseMetrics_Params bm = {
		    .structSize = CUpti_Profiler_Host_GetBaseMetrics_Params_STRUCT_SIZE};
		const char *got[4];
		bm.pHostObject = h;
		bm.metricType = (CUpti_MetricType)t;
		if (p_cuptiProfilerHostGetBaseMetrics(&bm) != CUPTI_SUCCESS)
			continue;
		size_t g = gp_metric_suggest(base, bm.ppMetricNames, bm.numMetrics, got, 4 - k);
		for (size_t i = 0; i < g; i++)
			near[k++] = got[i];
	}
	for (size_t i = 0; i < k && off < sizeof(line); i++)
		off += (size_t)snprintf(line + off, sizeof(line) - off, "%s%s%s",
					i ? ", " : "; close matches: ", near[i], suffix);
	if (!k && off < sizeof(line))
		snprintf(line + off, sizeof(line) - off,
			 "; no close match among the chip's metrics");
	gp_metrics_problem("WARNING", line);
}

/*
 * Choose the metrics of device d: S.req when the user named them (--gpu-metrics-set), else
 * nsys's set for the chip (gp_nsys_metric_set: nsys's names in the report; its optional
 * rows kept only when the chip has them and they fit, as nsys does) or, on a chip without
 * one, gp_metrics_default_sample.  All of them when they are known and fit in one pass
 * (the usual case: one host object), else greedily.  Leaves d->host configured for the
 * accepted set and d->cfg its config image.  0, or -1 when nothing is left.
 */
static int choose_metrics(struct dev *d)
{
	const char *want[GP_METRICS_MAX], *label[GP_METRICS_MAX];
	int optional[GP_METRICS_MAX];
	size_t nwant = 0, passes = 0, nset = 0, dropped = 0;
	const char *alias = NULL;
	const struct gp_nsys_metric *set =
	    S.nreq ? NULL : gp_nsys_metric_set(d->chip, &nset, &alias);
	CUptiResult r;

	if (S.nreq) {
		for (size_t i = 0; i < S.nreq; i++, nwant++) {
			want[nwant] = label[nwant] = S.req[i];
			optional[nwant] = 0;
		}
	} else if (set) {
		for (size_t i = 0; i < nset && nwant < GP_METRICS_MAX; i++, nwant++) {
			want[nwant] = set[i].cupti;
			label[nwant] = set[i].name;
			optional[nwant] = set[i].optional;
		}
	} else {
		for (size_t i = 0; gp_metrics_default_sample[i]; i++, nwant++) {
			want[nwant] = label[nwant] = gp_metrics_default_sample[i];
			optional[nwant] = 0;
		}
	}
	d->host = host_new(d);
	if (!d->host)
		return fail(d->index, "profiler host initialisation", CUPTI_ERROR_NOT_SUPPORTED),
		       -1;
	r = configure(d->host, want, nwant, &d->cfg, &d->cfg_size, &passes);
	if (r == CUPTI_SUCCESS && passes == 1) {
		memcpy(d->names, want, nwant * sizeof(*want));
		memcpy(d->shown, label, nwant * sizeof(*label));
		d->n = nwant;
		goto chosen;
	}
	free(d->cfg);
	d->cfg = NULL;
	/* greedy: unknown names first (with the unprefixed fallback), then one pass */
	size_t nk = 0;
	for (size_t i = 0; i < nwant; i++) {
		const char *m = want[i], *u = gp_metric_unprefixed(m);
		label[nk] = label[i];
		optional[nk] = optional[i];
		if (metric_known(d, m)) {
			want[nk++] = m;
		} else if (u && metric_known(d, u)) {
			want[nk++] = u;
		} else if (optional[i]) {
			dropped++;
		} else {
			unknown_metric(d, d->host, m);
		}
	}
	host_free(d->host);
	d->host = NULL;
	d->n = 0;
	for (size_t i = 0; i < nk; i++) {
		CUpti_Profiler_Host_Object *h = host_new(d);
		uint8_t *cfg = NULL;
		size_t sz = 0;
		d->names[d->n] = want[i];
		d->shown[d->n] = label[i];
		r = h ? configure(h, d->names, d->n + 1, &cfg, &sz, &passes)
		      : CUPTI_ERROR_NOT_SUPPORTED;
		if (r == CUPTI_SUCCESS && passes == 1) {
			d->n++;
			host_free(d->host);
			free(d->cfg);
			d->host = h;
			d->cfg = cfg;
			d->cfg_size = sz;
			continue;
		}
		free(cfg);
		host_free(h);
		if (optional[i]) {
			dropped++;
			continue;
		}
		char line[768];
		if (r == CUPTI_SUCCESS)
			snprintf(
			    line, sizeof(line),
			    "device %d (%s): metric '%s' is not sampled: with it the set (%zu "
			    "metrics kept so far) needs %zu passes, and PM sampling takes one; "
			    "hint: sample fewer metrics, or use --gpu-metrics-mode=range",
			    d->index, d->chip, want[i], d->n, passes);
		else
			snprintf(line, sizeof(line),
				 "device %d (%s): metric '%s' is not sampled: %s", d->index,
				 d->chip, want[i], gp_cupti_result_text(r));
		gp_metrics_problem("WARNING", line);
	}
	if (!d->n) {
		char line[256];
		snprintf(line, sizeof(line), "device %d (%s): no metric left to sample", d->index,
			 d->chip);
		gp_metrics_problem("ERROR", line);
		return -1;
	}
chosen:;
	char k[48], v[160];
	snprintf(k, sizeof(k), "SET_DEVICE_%d", d->index);
	if (S.nreq)
		snprintf(v, sizeof(v), "custom (%zu metrics)", d->n);
	else if (set)
		snprintf(v, sizeof(v),
			 "nsys %s (%zu metrics; %zu optional ones the chip lacks or "
			 "that do not fit left out, as nsys does)",
			 alias, d->n, dropped);
	else
		snprintf(v, sizeof(v),
			 "gprof-cli default for %s (no nsys set known for this chip; "
			 "CUPTI metric names)",
			 d->chip);
	fact(k, v);
	return 0;
}

/* Reset d's counter-data image for the next decode round. */
static CUptiResult image_reset(struct dev *d)
{
	CUpti_PmSampling_CounterDataImage_Initialize_Params ii = {
	    .structSize = CUpti_PmSampling_CounterDataImage_Initialize_Params_STRUCT_SIZE};

	ii.pPmSamplingObject = d->obj;
	ii.counterDataSize = d->data_size;
	ii.pCounterData = d->data;
	return p_cuptiPmSamplingCounterDataImageInitialize(&ii);
}

/* Set up and start PM sampling on device d (d->index set).  0 or -1 (said why). */
static int dev_start(struct dev *d)
{
	CUptiResult r;
	CUpti_Device_GetChipName_Params cn = {.structSize =
						  CUpti_Device_GetChipName_Params_STRUCT_SIZE};

	cn.deviceIndex = (size_t)d->index;
	if ((r = p_cuptiDeviceGetChipName(&cn)) != CUPTI_SUCCESS)
		return fail(d->index, "chip name", r), -1;
	snprintf(d->chip, sizeof(d->chip), "%s", cn.pChipName);
	CUpti_PmSampling_GetCounterAvailability_Params ca = {
	    .structSize = CUpti_PmSampling_GetCounterAvailability_Params_STRUCT_SIZE};
	ca.deviceIndex = (size_t)d->index;
	if ((r = p_cuptiPmSamplingGetCounterAvailability(&ca)) != CUPTI_SUCCESS)
		return fail(d->index, "counter availability", r), -1;
	d->avail = calloc(1, ca.counterAvailabilityImageSize);
	ca.pCounterAvailabilityImage = d->avail;
	if (!d->avail || (r = p_cuptiPmSamplingGetCounterAvailability(&ca)) != CUPTI_SUCCESS)
		return fail(d->index, "counter availability", r), -1;
	if (choose_metrics(d) < 0)
		return -1;
	CUpti_PmSampling_Enable_Params en = {.structSize =
						 CUpti_PmSampling_Enable_Params_STRUCT_SIZE};
	en.deviceIndex = (size_t)d->index;
	if ((r = p_cuptiPmSamplingEnable(&en)) != CUPTI_SUCCESS)
		return fail(d->index, "enabling PM sampling", r), -1;
	d->obj = en.pPmSamplingObject;
	CUpti_PmSampling_SetConfig_Params sc = {.structSize =
						    CUpti_PmSampling_SetConfig_Params_STRUCT_SIZE};
	sc.pPmSamplingObject = d->obj;
	sc.configSize = d->cfg_size;
	sc.pConfig = d->cfg;
	sc.hardwareBufferSize = HW_BUFFER;
	sc.samplingInterval = 1000000000ull / S.hz;
	sc.triggerMode = CUPTI_PM_SAMPLING_TRIGGER_MODE_GPU_TIME_INTERVAL;
	sc.hwBufferAppendMode = CUPTI_PM_SAMPLING_HARDWARE_BUFFER_APPEND_MODE_KEEP_OLDEST;
	if ((r = p_cuptiPmSamplingSetConfig(&sc)) != CUPTI_SUCCESS)
		goto bad_cfg;
	CUpti_PmSampling_GetCounterDataSize_Params gs = {
	    .structSize = CUpti_PmSampling_GetCounterDataSize_Params_STRUCT_SIZE};
	gs.pPmSamplingObject = d->obj;
	gs.pMetricNames = d->names;
	gs.numMetrics = d->n;
	gs.maxSamples = GP_PM_MAX_SAMPLES;
	if ((r = p_cuptiPmSamplingGetCounterDataSize(&gs)) != CUPTI_SUCCESS)
		goto bad_data;
	d->data_size = gs.counterDataSize;
	d->data = calloc(1, gs.counterDataSize);
	if (!d->data || (r = image_reset(d)) != CUPTI_SUCCESS)
		goto bad_data;
	uint32_t chip = gp_intern(d->chip);
	for (size_t i = 0; i < d->n; i++) {
		uint32_t sid = gp_intern(d->shown[i]);
		struct gp_rec_metrics_metric *m = gp_rec_begin(GP_REC_METRICS_METRIC, sizeof(*m));
		if (!m)
			continue;
		m->device_id = (uint32_t)d->index;
		m->mode = GP_METRICS_MODE_SAMPLE;
		m->index = (uint16_t)i;
		m->name_sid = sid;
		m->chip_sid = chip;
		gp_rec_commit(m);
	}
	CUpti_PmSampling_Start_Params st = {.structSize =
						CUpti_PmSampling_Start_Params_STRUCT_SIZE};
	st.pPmSamplingObject = d->obj;
	if ((r = p_cuptiPmSamplingStart(&st)) != CUPTI_SUCCESS)
		goto bad_start;
	char v[128];
	snprintf(v, sizeof(v), "%s, %zu metrics, %u Hz", d->chip, d->n, S.hz);
	char k[32];
	snprintf(k, sizeof(k), "DEVICE_%d", d->index);
	fact(k, v);
	return 0;
bad_cfg:
	fail(d->index, "PM sampling configuration", r);
	goto disable;
bad_data:
	fail(d->index, "counter data image", r);
	goto disable;
bad_start:
	fail(d->index, "starting PM sampling", r);
disable:;
	CUpti_PmSampling_Disable_Params di = {.structSize =
						  CUpti_PmSampling_Disable_Params_STRUCT_SIZE};
	di.pPmSamplingObject = d->obj;
	p_cuptiPmSamplingDisable(&di);
	d->obj = NULL;
	return -1;
}

static uint64_t thread_cpu_ns(void);

/* Worker w of `stride`: evaluate samples w, w + stride, ... of this round's image with host
 * object h and send each as a GP_REC_METRICS_SAMPLE. */
static void eval_slice(struct dev *d, CUpti_Profiler_Host_Object *h, int w, int stride)
{
	double vals[GP_METRICS_MAX];
	uint64_t sent = 0, errors = 0, t0 = thread_cpu_ns();

	for (size_t i = (size_t)w; i < d->round_n; i += (size_t)stride) {
		if (!d->keep[i])
			continue;
		if (S.no_eval) { /* the benchmark's "decode only" variant: no values, no rows */
			sent++;
			continue;
		}
		CUpti_Profiler_Host_EvaluateToGpuValues_Params ev = {
		    .structSize = CUpti_Profiler_Host_EvaluateToGpuValues_Params_STRUCT_SIZE};
		ev.pHostObject = h;
		ev.pCounterDataImage = d->data;
		ev.counterDataImageSize = d->data_size;
		ev.rangeIndex = i;
		ev.ppMetricNames = d->names;
		ev.numMetrics = d->n;
		ev.pMetricValues = vals;
		if (p_cuptiProfilerHostEvaluateToGpuValues(&ev) != CUPTI_SUCCESS) {
			errors++;
			continue;
		}
		struct gp_rec_metrics_sample *rec =
		    gp_rec_begin(GP_REC_METRICS_SAMPLE, sizeof(*rec) + d->n * sizeof(double));
		if (!rec)
			continue;
		rec->start_ns = d->t_start[i];
		rec->end_ns = d->t_end[i];
		rec->device_id = (uint32_t)d->index;
		rec->nvalues = (uint32_t)d->n;
		memcpy(rec->values, vals, d->n * sizeof(double));
		gp_rec_commit(rec);
		sent++;
	}
	d->round_sent += sent;
	d->round_errors += errors;
	if (w) /* (worker 0's time is counted by its caller) */
		S.ns_eval += thread_cpu_ns() - t0;
}

/* An evaluation worker of device d (index w >= 1): one slice per round until quit. */
struct worker_arg {
	struct dev *d;
	int w;
};

static void *worker_thread(void *arg)
{
	struct worker_arg a = *(struct worker_arg *)arg;
	uint64_t cpu0 = thread_cpu_ns();

	free(arg);
	sem_wait(&a.d->gate); /* until the barriers count the workers that exist */
	for (;;) {
		pthread_barrier_wait(&a.d->go);
		if (a.d->quit)
			break;
		eval_slice(a.d, a.d->whost[a.w], a.w, a.d->nworkers);
		pthread_barrier_wait(&a.d->done);
	}
	gp_flush_thread();
	S.decode_cpu_ns += thread_cpu_ns() - cpu0;
	return NULL;
}

/* Evaluation threads for d: $GPROF_CLI_METRICS_WORKERS (1..MAX_WORKERS; for the
 * benchmarks), else 4 in gprof-cli's sampler process on a machine of >= 8 CPUs (2 from 4),
 * 1 inside the application. */
static void workers_start(struct dev *d)
{
	const char *e = getenv("GPROF_CLI_METRICS_WORKERS");
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int want = e && *e		   ? atoi(e)
		   : getenv(GP_ENV_HELPER) ? (cpus >= 8	  ? 4
					      : cpus >= 4 ? 2
							  : 1)
					   : 1;

	if (want > MAX_WORKERS)
		want = MAX_WORKERS;
	d->nworkers = 1;
	d->whost[0] = d->host;
	for (int w = 1; w < want; w++) {
		CUpti_Profiler_Host_Object *h = host_new(d);
		uint8_t *cfg = NULL;
		size_t sz, passes;
		if (!h || configure(h, d->names, d->n, &cfg, &sz, &passes) != CUPTI_SUCCESS) {
			free(cfg);
			host_free(h);
			break;
		}
		free(cfg);
		d->whost[d->nworkers++] = h;
	}
	if (d->nworkers == 1)
		return;
	/* the workers wait at the gate until the barriers are made for those that started */
	int started = 1;
	sem_init(&d->gate, 0, 0);
	for (int w = 1; w < d->nworkers; w++) {
		struct worker_arg *a = malloc(sizeof(*a));
		if (!a)
			break;
		a->d = d;
		a->w = w;
		if (pthread_create(&d->wthread[w], NULL, worker_thread, a) != 0) {
			free(a);
			break;
		}
		started++;
	}
	for (int w = started; w < d->nworkers; w++)
		host_free(d->whost[w]);
	d->nworkers = started;
	if (started == 1) {
		sem_destroy(&d->gate);
		return;
	}
	pthread_barrier_init(&d->go, NULL, (unsigned)started);
	pthread_barrier_init(&d->done, NULL, (unsigned)started);
	for (int w = 1; w < started; w++)
		sem_post(&d->gate);
}

static void workers_stop(struct dev *d)
{
	if (d->nworkers > 1) {
		d->quit = 1;
		pthread_barrier_wait(&d->go);
		for (int w = 1; w < d->nworkers; w++)
			pthread_join(d->wthread[w], NULL);
		pthread_barrier_destroy(&d->go);
		pthread_barrier_destroy(&d->done);
		sem_destroy(&d->gate);
		for (int w = 1; w < d->nworkers; w++)
			host_free(d->whost[w]);
	}
	d->nworkers = 0;
}

/* Evaluate and send the completed samples of d's counter-data image: their times first
 * (and which to keep), then the values, split among d's workers. */
static void send_samples(struct dev *d)
{
	CUpti_PmSampling_GetCounterDataInfo_Params gi = {
	    .structSize = CUpti_PmSampling_GetCounterDataInfo_Params_STRUCT_SIZE};

	gi.pCounterDataImage = d->data;
	gi.counterDataImageSize = d->data_size;
	if (p_cuptiPmSamplingGetCounterDataInfo(&gi) != CUPTI_SUCCESS)
		return;
	size_t n =
	    gi.numCompletedSamples < GP_PM_MAX_SAMPLES ? gi.numCompletedSamples : GP_PM_MAX_SAMPLES;
	uint64_t first = 0, last = 0;
	for (size_t i = 0; i < n; i++) {
		CUpti_PmSampling_CounterData_GetSampleInfo_Params si = {
		    .structSize = CUpti_PmSampling_CounterData_GetSampleInfo_Params_STRUCT_SIZE};
		si.pPmSamplingObject = d->obj;
		si.pCounterDataImage = d->data;
		si.counterDataImageSize = d->data_size;
		si.sampleIndex = i;
		d->keep[i] = 0;
		if (p_cuptiPmSamplingCounterDataGetSampleInfo(&si) != CUPTI_SUCCESS) {
			d->eval_errors++;
			continue;
		}
		if (!d->first_dropped) { /* covers the start-up, not a sampling interval */
			d->first_dropped = 1;
			if (d->lost_from_ns && si.endTimestamp > d->last_ns)
				d->lost_ns += si.endTimestamp - d->last_ns;
			d->lost_from_ns = 0;
			continue;
		}
		d->keep[i] = 1;
		d->t_start[i] = si.startTimestamp;
		d->t_end[i] = si.endTimestamp;
		if (!first)
			first = si.endTimestamp;
		last = si.endTimestamp;
	}
	d->round_n = n;
	d->round_sent = 0;
	d->round_errors = 0;
	if (d->nworkers > 1) {
		pthread_barrier_wait(&d->go);
		eval_slice(d, d->whost[0], 0, d->nworkers);
		pthread_barrier_wait(&d->done);
	} else {
		eval_slice(d, d->host, 0, 1);
	}
	uint64_t sent = d->round_sent;
	d->eval_errors += d->round_errors;
	if (sent) {
		if (!d->samples)
			d->first_ns = first;
		d->last_ns = last;
		d->samples += sent;
	}
}

/* After a failed decode (CUPTI fails DecodeData once the KEEP_OLDEST hardware buffer has
 * overflowed): stop and start sampling again so that the rest of the run is sampled; the
 * gap is counted as lost.  At most 1000 restarts per device. */
static void restart(struct dev *d, CUptiResult r)
{
	CUpti_PmSampling_Stop_Params sp = {.structSize = CUpti_PmSampling_Stop_Params_STRUCT_SIZE};
	CUpti_PmSampling_Start_Params st = {.structSize =
						CUpti_PmSampling_Start_Params_STRUCT_SIZE};

	if (!d->decode_errors++)
		d->first_error = r;
	if (d->restarts >= 1000)
		return;
	d->restarts++;
	d->lost_from_ns = gp_now_ns();
	sp.pPmSamplingObject = d->obj;
	p_cuptiPmSamplingStop(&sp);
	image_reset(d);
	st.pPmSamplingObject = d->obj;
	if (p_cuptiPmSamplingStart(&st) != CUPTI_SUCCESS)
		d->restarts = 1000; /* cannot restart: stop trying */
	d->first_dropped = 0;	    /* the first sample after a start covers the gap */
}

/* Decode everything the hardware buffer of d holds: one counter-data image at a time
 * until CUPTI says END_OF_RECORDS. */
static void drain(struct dev *d)
{
	for (int round = 0; round < 1000; round++) {
		CUpti_PmSampling_DecodeData_Params dd = {
		    .structSize = CUpti_PmSampling_DecodeData_Params_STRUCT_SIZE};
		uint64_t t0 = thread_cpu_ns(), t1, t2;
		CUptiResult r;
		dd.pPmSamplingObject = d->obj;
		dd.pCounterDataImage = d->data;
		dd.counterDataImageSize = d->data_size;
		r = p_cuptiPmSamplingDecodeData(&dd);
		t1 = thread_cpu_ns();
		S.ns_decode += t1 - t0;
		if (r != CUPTI_SUCCESS) {
			if (d->restarts < 1000)
				restart(d, r);
			return;
		}
		if (dd.overflow)
			d->overflows++;
		send_samples(d);
		t2 = thread_cpu_ns();
		S.ns_eval += t2 - t1;
		image_reset(d);
		S.ns_init += thread_cpu_ns() - t2;
		if (dd.decodeStopReason != CUPTI_PM_SAMPLING_DECODE_STOP_REASON_COUNTER_DATA_FULL)
			return;
	}
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *decode_thread(void *arg)
{
	struct dev *d = arg;
	uint64_t cpu0 = thread_cpu_ns();

	while (atomic_load(&S.running)) {
		/* 20 ms at <= 10 kHz (<= 200 samples per device and round), 5 ms above */
		struct timespec ts = {0, (S.hz > 10000 ? 5 : 20) * 1000 * 1000};
		/* raw syscall: the osrt collector must not see our own sleeps */
		syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &ts, NULL);
		drain(d);
		gp_flush_thread();
	}
	S.decode_cpu_ns += thread_cpu_ns() - cpu0;
	return NULL;
}

static int resolve(void *h)
{
#define R(name)                                                                                    \
	if (!(*(void **)&p_##name = dlsym(h, #name)))                                              \
		return -1;
	R(cuptiProfilerInitialize)
	R(cuptiDeviceGetChipName)
	R(cuptiPmSamplingGetCounterAvailability)
	R(cuptiProfilerHostInitialize)
	R(cuptiProfilerHostDeinitialize)
	R(cuptiProfilerHostGetBaseMetrics)
	R(cuptiProfilerHostGetSubMetrics)
	R(cuptiProfilerHostConfigAddMetrics)
	R(cuptiProfilerHostGetConfigImageSize)
	R(cuptiProfilerHostGetConfigImage)
	R(cuptiProfilerHostGetNumOfPasses)
	R(cuptiProfilerHostEvaluateToGpuValues)
	R(cuptiPmSamplingEnable)
	R(cuptiPmSamplingSetConfig)
	R(cuptiPmSamplingGetCounterDataSize)
	R(cuptiPmSamplingCounterDataImageInitialize)
	R(cuptiPmSamplingStart)
	R(cuptiPmSamplingStop)
	R(cuptiPmSamplingDecodeData)
	R(cuptiPmSamplingGetCounterDataInfo)
	R(cuptiPmSamplingCounterDataGetSampleInfo)
	R(cuptiPmSamplingDisable)
#undef R
	return 0;
}

static int armed; /* gp_metrics_start() parsed the options; not started yet */

void gp_metrics_start(void *h)
{
	char v[64], devs[256];

	if (!h || !gp_traced("gpu-metrics", 0) || armed || S.ndev)
		return;
	if (gp_option("gpu-metrics-mode", v, sizeof(v)) && !strcmp(v, "range"))
		return; /* collectors/gpu_range.c */
	if (!getenv(GP_ENV_HELPER) && gp_option("gpu-metrics-sampler", v, sizeof(v)) &&
	    !strcmp(v, "process"))
		return; /* gprof-cli's sampler process samples (gpu_metrics_process.c) */
	if (resolve(h) < 0)
		return gp_metrics_problem(
		    "ERROR", "this libcupti lacks the PM sampling API (CUDA 12.6 or newer "
			     "is needed); no metrics sampled");
	S.hz =
	    gp_option("gpu-metrics-frequency", v, sizeof(v)) ? (unsigned)strtoul(v, NULL, 10) : 0;
	if (S.hz < 10 || S.hz > 200000)
		S.hz = 10000;
	const char *ev = getenv("GPROF_CLI_METRICS_EVAL");
	S.no_eval = ev && !strcmp(ev, "0");
	if (S.no_eval)
		fact("EVALUATION", "skipped (GPROF_CLI_METRICS_EVAL=0, a benchmark variant)");
	S.nids = gp_metrics_parse_devices(gp_option("gpu-metrics-devices", devs, sizeof(devs)),
					  S.ids, MAX_DEV);
	if (S.nids == 0)
		return;
	if (S.nids == -2)
		return gp_metrics_problem("ERROR",
					  "bad gpu-metrics-devices value; no metrics sampled");
	if (gp_option("gpu-metrics-metrics", S.list, sizeof(S.list)))
		for (char *save, *p = strtok_r(S.list, ",", &save); p && S.nreq < GP_METRICS_MAX;
		     p = strtok_r(NULL, ",", &save))
			if (strcmp(p, "gpu__time_duration.sum")) /* a timestamp when sampled */
				S.req[S.nreq++] = p;
	armed = 1;
}

void gp_metrics_ready(int last_chance)
{
	int *ids = S.ids, nids = S.nids;
	CUptiResult r;

	if (!armed)
		return;
	CUpti_Profiler_Initialize_Params ip = {.structSize =
						   CUpti_Profiler_Initialize_Params_STRUCT_SIZE};
	if ((r = p_cuptiProfilerInitialize(&ip)) != CUPTI_SUCCESS) {
		if (last_chance) {
			armed = 0;
			fail(-1, "profiler initialisation", r);
		}
		return;
	}
	armed = 0;
	/* the devices the process sees (cuInit has finished; the chip-name query succeeds
	 * for ordinals that do not exist, so it cannot count them) */
	int count = -1;
	void *cu = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
	int (*get_count)(int *) = cu ? (int (*)(int *))dlsym(cu, "cuDeviceGetCount") : NULL;
	if (get_count && get_count(&count) != 0)
		count = -1;
	if (cu)
		dlclose(cu);
	if (nids < 0) { /* all / cuda-visible */
		for (nids = 0; nids < count && nids < MAX_DEV; nids++)
			ids[nids] = nids;
		if (!nids)
			return gp_metrics_problem(
			    "ERROR", "no CUDA device found in the application; no metrics "
				     "sampled");
	}
	int started = 0;
	for (int i = 0; i < nids; i++) {
		struct dev *d = &S.dev[S.ndev++];
		d->index = ids[i];
		if (count >= 0 && ids[i] >= count) {
			char line[256];
			snprintf(line, sizeof(line),
				 "device %d: no such CUDA device (the application sees %d: 0..%d); "
				 "no metrics sampled there",
				 ids[i], count, count - 1);
			gp_metrics_problem("ERROR", line);
			continue;
		}
		started += dev_start(d) == 0;
	}
	if (!started)
		return;
	atomic_store(&S.running, 1);
	for (int i = 0; i < S.ndev; i++) {
		struct dev *d = &S.dev[i];
		if (!d->obj)
			continue;
		workers_start(d);
		d->has_thread = pthread_create(&d->thread, NULL, decode_thread, d) == 0;
		if (!d->has_thread)
			gp_metrics_problem(
			    "ERROR", "cannot start a decode thread; that device's samples are "
				     "decoded at exit only");
	}
}

void gp_metrics_stop(void)
{
	char line[512], v[128];

	atomic_store(&S.running, 0);
	for (int i = 0; i < S.ndev; i++)
		if (S.dev[i].has_thread) {
			pthread_join(S.dev[i].thread, NULL);
			S.dev[i].has_thread = 0;
		}
	for (int i = 0; i < S.ndev; i++) {
		struct dev *d = &S.dev[i];
		if (!d->obj)
			continue;
		CUpti_PmSampling_Stop_Params sp = {.structSize =
						       CUpti_PmSampling_Stop_Params_STRUCT_SIZE};
		sp.pPmSamplingObject = d->obj;
		p_cuptiPmSamplingStop(&sp);
		uint64_t cpu0 = thread_cpu_ns();
		drain(d);
		S.decode_cpu_ns += thread_cpu_ns() - cpu0;
		CUpti_PmSampling_Disable_Params di = {
		    .structSize = CUpti_PmSampling_Disable_Params_STRUCT_SIZE};
		di.pPmSamplingObject = d->obj;
		p_cuptiPmSamplingDisable(&di);
		d->obj = NULL;
		snprintf(line, sizeof(line), "WORKERS_DEVICE_%d", d->index);
		snprintf(v, sizeof(v), "%d", d->nworkers);
		fact(line, v);
		workers_stop(d);
		snprintf(v, sizeof(v), "%llu", (unsigned long long)d->samples);
		snprintf(line, sizeof(line), "SAMPLES_DEVICE_%d", d->index);
		fact(line, v);
		if (d->overflows || d->decode_errors || d->eval_errors) {
			uint64_t span = d->last_ns > d->first_ns ? d->last_ns - d->first_ns : 0;
			uint64_t expect = span / (1000000000ull / S.hz) + 1;
			snprintf(
			    line, sizeof(line),
			    "device %d: samples lost: %llu kept of about %llu over %.3f s, "
			    "%.3f s without samples after %llu hardware-buffer overflows "
			    "(decode: %s; sampling restarted %llu times), %llu evaluation "
			    "errors; hint: lower --gpu-metrics-frequency or sample fewer "
			    "metrics",
			    d->index, (unsigned long long)d->samples,
			    (unsigned long long)(expect > d->samples ? expect : d->samples),
			    (double)span / 1e9, (double)d->lost_ns / 1e9,
			    (unsigned long long)(d->decode_errors + d->overflows),
			    d->decode_errors ? gp_cupti_result_text(d->first_error) : "no error",
			    (unsigned long long)d->restarts, (unsigned long long)d->eval_errors);
			gp_metrics_problem("LOSS", line);
		}
		host_free(d->host);
		d->host = NULL;
		free(d->avail);
		free(d->cfg);
		free(d->data);
		d->avail = d->cfg = d->data = NULL;
	}
	if (S.decode_cpu_ns) {
		snprintf(v, sizeof(v), "%llu", (unsigned long long)atomic_load(&S.decode_cpu_ns));
		fact("DECODE_CPU_NS", v);
		snprintf(v, sizeof(v), "decode %llu, evaluate+send %llu, image reset %llu",
			 (unsigned long long)atomic_load(&S.ns_decode),
			 (unsigned long long)atomic_load(&S.ns_eval),
			 (unsigned long long)atomic_load(&S.ns_init));
		fact("DECODE_CPU_SPLIT_NS", v);
	}
	gp_flush_thread();
}

int gp_metrics_devices_sampling(void)
{
	int n = 0;

	for (int i = 0; i < S.ndev; i++)
		n += S.dev[i].obj != NULL;
	return n;
}
