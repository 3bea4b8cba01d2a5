/*
 * gpu_range.c - the gpu-metrics collector, range mode (--gpu-metrics-mode=range): CUPTI
 * range profiler (cupti_range_profiler.h) + profiler host API (cupti_profiler_host.h),
 * following ../shared/reference/cupti-design.md §4.  Every CUPTI entry point is resolved
 * with dlsym from the libcupti handle the cuda collector opened; the cuda collector owns
 * the subscription and forwards context and launch callbacks here (gpu_metrics.h).
 * Verified on an H200 (GH100, CUDA 13.0): tests/gpu/run-metrics-range-tests.sh.
 *
 * Per CUDA context (set up in its CONTEXT_CREATED callback): profiler initialise, host
 * object with the metric list (added in one call: separate calls cost extra passes),
 * config image, range-profiler object, counter-data image for a batch of RP_BATCH
 * ranges, SetConfig, Start.
 *
 * --gpu-metrics-ranges=kernel (auto range, kernel replay): each kernel launch is one range
 *   that CUPTI replays once per pass.  The launch callbacks (runtime launches, and driver
 *   launches not made by a runtime launch; launches recorded by stream capture run no
 *   kernel and are skipped) record the launch order per context with the correlationId,
 *   kernel name (symbolName), thread and host times; range i of a batch is launch i of
 *   the batch (the auto-range names are execution-order numbers).  A batch is decoded
 *   (Stop, DecodeData, EvaluateToGpuValues per range, re-initialise, SetConfig, Start)
 *   when RP_BATCH launches were counted, at every graph launch, at context destruction
 *   and at exit.  A graph launch makes one range per kernel node: after the launch the
 *   context is synchronised and the batch decoded, so the ranges after the batch's stream
 *   launches are the graph's; they are recorded with the graph launch's correlationId and
 *   the name "[CUDA graph kernel node]" (node kernels are not joined by name; rangeIndex
 *   gives their order).
 * --gpu-metrics-ranges=nvtx (user range, user replay): NVTX push/pop (collectors/nvtx.c)
 *   drive cuptiRangeProfilerPushRange/PopRange on the calling thread's current context.
 *   The application cannot be replayed, so only a single-pass metric set works: metrics
 *   that would need a second pass are left out (said once on stderr and in
 *   GPU_METRICS:METRICS_LEFT_OUT).  Ranges are pushed with unique names (their sequence
 *   number) so each decoded range joins its NVTX push whatever order CUPTI decodes in.
 *   The profiler's range stack is per context: push/pop from one thread per context.
 *
 * Errors: one line on stderr (plus hint), a GPU_METRICS:ERROR note; range mode is then off
 * for that context and the rest of the profile goes on.  Unknown metrics are dropped with
 * close matches from the chip's base metrics and submetrics.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cupti_profiler_host.h>
#include <cupti_profiler_target.h>
#include <cupti_range_profiler.h>
#include <cupti_target.h>

#include "../core/metrics_names.h"
#include "gpu_metrics.h"

#define RP_BATCH      64 /* ranges per counter-data image (Stop/Decode/Start per batch) */
#define RP_NEST	      4	 /* NVTX nesting levels profiled */
#define RP_MAX_CTX    32 /* contexts profiled at once */
#define RP_MAX_DEV    64 /* devices whose metric names were announced */
#define RP_GRAPH_NAME "[CUDA graph kernel node]"

#define RP_FUNCS(X)                                                                                \
	X(cuptiProfilerInitialize)                                                                 \
	X(cuptiProfilerDeInitialize)                                                               \
	X(cuptiProfilerGetCounterAvailability)                                                     \
	X(cuptiDeviceGetChipName)                                                                  \
	X(cuptiProfilerHostInitialize)                                                             \
	X(cuptiProfilerHostDeinitialize)                                                           \
	X(cuptiProfilerHostConfigAddMetrics)                                                       \
	X(cuptiProfilerHostGetConfigImageSize)                                                     \
	X(cuptiProfilerHostGetConfigImage)                                                         \
	X(cuptiProfilerHostGetNumOfPasses)                                                         \
	X(cuptiProfilerHostGetBaseMetrics)                                                         \
	X(cuptiProfilerHostGetSubMetrics)                                                          \
	X(cuptiProfilerHostEvaluateToGpuValues)                                                    \
	X(cuptiRangeProfilerEnable)                                                                \
	X(cuptiRangeProfilerDisable)                                                               \
	X(cuptiRangeProfilerSetConfig)                                                             \
	X(cuptiRangeProfilerStart)                                                                 \
	X(cuptiRangeProfilerStop)                                                                  \
	X(cuptiRangeProfilerPushRange)                                                             \
	X(cuptiRangeProfilerPopRange)                                                              \
	X(cuptiRangeProfilerDecodeData)                                                            \
	X(cuptiRangeProfilerGetCounterDataSize)                                                    \
	X(cuptiRangeProfilerCounterDataImageInitialize)                                            \
	X(cuptiRangeProfilerGetCounterDataInfo)                                                    \
	X(cuptiRangeProfilerCounterDataGetRangeInfo)                                               \
	X(cuptiEnableCallback)                                                                     \
	X(cuptiGetContextId)                                                                       \
	X(cuptiGetDeviceId)

#define RP_DECLARE(name) static __typeof__(&name) rp_##name;
RP_FUNCS(RP_DECLARE)
#undef RP_DECLARE
static CUresult (*rp_cuCtxGetCurrent)(CUcontext *);
static CUresult (*rp_cuCtxSynchronize)(void);
static CUresult (*rp_cuStreamIsCapturing)(CUstream, CUstreamCaptureStatus *);

/* One profiled range waiting for its batch to be decoded. */
struct rp_pending {
	uint64_t start_ns, end_ns; /* host times: launch enter/exit, or push/pop */
	uint32_t corr;		   /* launch correlationId (0 for NVTX) */
	uint32_t tid;
	uint32_t name_sid; /* mangled kernel name / NVTX message; 0 = unknown */
	uint32_t seq;	   /* NVTX: the unique range name pushed to CUPTI */
	uint16_t graph;	   /* a graph launch (its kernel nodes follow) */
	uint16_t done;	   /* NVTX: popped (end_ns valid) / joined */
	int16_t depth;	   /* NVTX nesting depth, 0 = top level */
};

/* Range-profiler state of one context. */
struct rp_ctx {
	CUcontext ctx;
	uint32_t ctx_id, dev;
	CUpti_RangeProfiler_Object *obj;
	CUpti_Profiler_Host_Object *host;
	uint8_t *config, *image;
	size_t config_size, image_size, passes;
	const char *names[GP_METRICS_MAX];
	size_t nnames;
	struct rp_pending pend[RP_BATCH * 2];
	size_t npend;
	uint32_t next_index; /* range index of the next decoded range (per context) */
	int depth;	     /* NVTX: open pushes on this context */
};

static struct {
	int wanted, nvtx, initialised, failed_once;
	CUpti_SubscriberHandle subscriber;
	char metric_list[4096];
	const char *req[GP_METRICS_MAX]; /* requested metric names (into metric_list) */
	size_t nreq;
	struct rp_ctx *ctx[RP_MAX_CTX];
	uint8_t dev_announced[RP_MAX_DEV];
	uint64_t dropped, unjoined, ranges;
	uint32_t next_seq;
	int passes_said, stopped;
} R;

static pthread_mutex_t rp_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread int rp_busy;	      /* inside our own CUPTI calls: ignore callbacks */
static __thread int rp_rt_launch;     /* inside a runtime launch: skip nested driver launches */
static __thread uint64_t rp_pushmask; /* NVTX depth d pushed to CUPTI: bit d */
static __thread int rp_tdepth;	      /* NVTX push depth of this thread */

GP_HIDDEN volatile int gp_range_nvtx_on;
GP_HIDDEN int gp_range_serial_kernels;

/* ---- messages ------------------------------------------------------------------------ */

void gp_metrics_note(const char *key, const char *value)
{
	struct gp_rec_metrics_note note = {.key_sid = gp_intern(key),
					   .value_sid = gp_intern(value ? value : "")};
	struct gp_rec_metrics_note *rec = gp_rec_begin(GP_REC_METRICS_NOTE, sizeof(note));

	if (!rec)
		return;
	note.h = rec->h;
	*rec = note;
	gp_rec_commit(rec);
}

static void rp_say(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n + 1) < 0)
		return;
}

/* A CUPTI call `what` failed with r: one line (+ hint for privileges) and a note. */
static void rp_fail(const char *what, CUptiResult r)
{
	char line[512];

	snprintf(line, sizeof(line), "gpu-metrics range mode disabled: %s: %s (%d)", what,
		 gp_cupti_result_text(r), (int)r);
	rp_say("gprof-cli: %s", line);
	if (r == CUPTI_ERROR_INSUFFICIENT_PRIVILEGES)
		rp_say("hint: GPU performance counters are restricted to admin "
		       "users: " GP_COUNTERS_FIX);
	else if (r == CUPTI_ERROR_MIG_DEVICE_NOT_SUPPORTED)
		rp_say("hint: the range profiler does not support MIG instances; profile on a "
		       "GPU without MIG");
	if (!R.failed_once++)
		gp_metrics_note("GPU_METRICS:ERROR", line);
}

/* ---- options ------------------------------------------------------------------------- */

static int rp_resolve(void *h)
{
#define RP_RESOLVE(name)                                                                           \
	if (!(*(void **)&rp_##name = dlsym(h, #name)))                                             \
		return -1;
	RP_FUNCS(RP_RESOLVE)
#undef RP_RESOLVE
	void *cu = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
	if (cu) {
		*(void **)&rp_cuCtxGetCurrent = dlsym(cu, "cuCtxGetCurrent");
		*(void **)&rp_cuCtxSynchronize = dlsym(cu, "cuCtxSynchronize");
		*(void **)&rp_cuStreamIsCapturing = dlsym(cu, "cuStreamIsCapturing");
	}
	return 0;
}

/* Launch callbacks wanted (runtime, then driver). */
static const CUpti_CallbackId rp_rt_cbids[] = {
    CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000,
    CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_ptsz_v7000,
    CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernelExC_v11060,
    CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernelExC_ptsz_v11060,
    CUPTI_RUNTIME_TRACE_CBID_cudaLaunchCooperativeKernel_v9000,
    CUPTI_RUNTIME_TRACE_CBID_cudaLaunchCooperativeKernel_ptsz_v9000,
    CUPTI_RUNTIME_TRACE_CBID___cudaLaunchKernel_v13000,
    CUPTI_RUNTIME_TRACE_CBID___cudaLaunchKernel_ptsz_v13000,
    CUPTI_RUNTIME_TRACE_CBID_cudaGraphLaunch_v10000,
    CUPTI_RUNTIME_TRACE_CBID_cudaGraphLaunch_ptsz_v10000,
};
static const CUpti_CallbackId rp_drv_cbids[] = {
    CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel,
    CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel_ptsz,
    CUPTI_DRIVER_TRACE_CBID_cuLaunchKernelEx,
    CUPTI_DRIVER_TRACE_CBID_cuLaunchKernelEx_ptsz,
    CUPTI_DRIVER_TRACE_CBID_cuLaunchCooperativeKernel,
    CUPTI_DRIVER_TRACE_CBID_cuLaunchCooperativeKernel_ptsz,
    CUPTI_DRIVER_TRACE_CBID_cuGraphLaunch,
    CUPTI_DRIVER_TRACE_CBID_cuGraphLaunch_ptsz,
};
#define RP_N(a) (sizeof(a) / sizeof((a)[0]))

static int rp_is_graph(CUpti_CallbackDomain domain, CUpti_CallbackId cbid)
{
	if (domain == CUPTI_CB_DOMAIN_RUNTIME_API)
		return cbid == CUPTI_RUNTIME_TRACE_CBID_cudaGraphLaunch_v10000 ||
		       cbid == CUPTI_RUNTIME_TRACE_CBID_cudaGraphLaunch_ptsz_v10000;
	return cbid == CUPTI_DRIVER_TRACE_CBID_cuGraphLaunch ||
	       cbid == CUPTI_DRIVER_TRACE_CBID_cuGraphLaunch_ptsz;
}

void gp_range_init(void *cupti_handle, CUpti_SubscriberHandle subscriber)
{
	char v[32];

	if (!gp_traced("gpu-metrics", 0) || !gp_option("gpu-metrics-mode", v, sizeof(v)) ||
	    strcmp(v, "range"))
		return;
	if (!cupti_handle || rp_resolve(cupti_handle) < 0) {
		rp_fail("libcupti.so.13 lacks the range profiler API (CUDA 12.8 or later)",
			CUPTI_ERROR_NOT_SUPPORTED);
		return;
	}
	R.nvtx = gp_option("gpu-metrics-ranges", v, sizeof(v)) && !strcmp(v, "nvtx");
	if (gp_option("gpu-metrics-metrics", R.metric_list, sizeof(R.metric_list)))
		for (char *save = NULL, *p = strtok_r(R.metric_list, ",", &save);
		     p && R.nreq < GP_METRICS_MAX; p = strtok_r(NULL, ",", &save))
			R.req[R.nreq++] = p;
	if (!R.nreq)
		for (size_t i = 0; gp_metrics_default_range[i] && R.nreq < GP_METRICS_MAX; i++)
			R.req[R.nreq++] = gp_metrics_default_range[i];
	R.subscriber = subscriber;
	if (!R.nvtx) {
		for (size_t i = 0; i < RP_N(rp_rt_cbids); i++)
			rp_cuptiEnableCallback(1, subscriber, CUPTI_CB_DOMAIN_RUNTIME_API,
					       rp_rt_cbids[i]);
		for (size_t i = 0; i < RP_N(rp_drv_cbids); i++)
			rp_cuptiEnableCallback(1, subscriber, CUPTI_CB_DOMAIN_DRIVER_API,
					       rp_drv_cbids[i]);
	}
	R.wanted = 1;
	gp_metrics_note("GPU_METRICS:MODE", "range");
	gp_metrics_note("GPU_METRICS:RANGES", R.nvtx ? "nvtx" : "kernel");
	if (R.nvtx)
		gp_range_nvtx_on = 1;
	else
		gp_range_serial_kernels = 1;
}

/* ---- metric configuration -------------------------------------------------------------- */

/* Is `name` known on this chip?  When not, print it with close matches. */
static int rp_metric_known(CUpti_Profiler_Host_Object *host, const char *name, const char *chip)
{
	size_t base_len = strcspn(name, ".");
	char base[256];
	const char *near[4];
	size_t k = 0;

	if (base_len >= sizeof(base))
		base_len = sizeof(base) - 1;
	memcpy(base, name, base_len);
	base[base_len] = 0;
	for (int type = 0; type < CUPTI_METRIC_TYPE__COUNT; type++) {
		CUpti_Profiler_Host_GetBaseMetrics_Params bm = {
		    .structSize = CUpti_Profiler_Host_GetBaseMetrics_Params_STRUCT_SIZE,
		    .pHostObject = host,
		    .metricType = (CUpti_MetricType)type};
		if (rp_cuptiProfilerHostGetBaseMetrics(&bm) != CUPTI_SUCCESS)
			continue;
		for (size_t i = 0; i < bm.numMetrics; i++) {
			if (strcmp(bm.ppMetricNames[i], base))
				continue;
			/* the base exists: the rollup/submetric part was wrong */
			CUpti_Profiler_Host_GetSubMetrics_Params sm = {
			    .structSize = CUpti_Profiler_Host_GetSubMetrics_Params_STRUCT_SIZE,
			    .pHostObject = host,
			    .metricType = (CUpti_MetricType)type,
			    .pMetricName = base};
			const char *full[256];
			static char fbuf[256][512];
			size_t nf = 0;
			if (rp_cuptiProfilerHostGetSubMetrics(&sm) == CUPTI_SUCCESS)
				for (size_t j = 0; j < sm.numOfSubmetrics && nf < 256; j++, nf++) {
					snprintf(fbuf[nf], sizeof(fbuf[nf]), "%s%s%s", base,
						 sm.ppSubMetrics[j][0] == '.' ? "" : ".",
						 sm.ppSubMetrics[j]);
					full[nf] = fbuf[nf];
				}
			k = gp_metric_suggest(name, full, nf, near, 4);
			if (!k && nf)
				near[k++] = full[0];
			goto unknown;
		}
		k += gp_metric_suggest(base, bm.ppMetricNames, bm.numMetrics, near + k, 4 - k);
		if (k >= 4)
			k = 4;
	}
unknown:;
	char list[800] = "";
	size_t used = 0;
	for (size_t i = 0; i < k && used < sizeof(list); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "",
					 near[i]);
	rp_say("gprof-cli: gpu-metrics: metric '%s' is not available on %s; left out", name,
	       chip ? chip : "this GPU");
	if (k)
		rp_say("hint: did you mean: %s", list);
	char note[1024];
	snprintf(note, sizeof(note), "unknown metric '%s'%s%s", name, k ? "; close: " : "", list);
	gp_metrics_note("GPU_METRICS:ERROR", note);
	return 0;
}

/* Passes needed by the config of host (after metrics were added); 0 on error. */
static size_t rp_config(struct rp_ctx *c)
{
	CUpti_Profiler_Host_GetConfigImageSize_Params cs = {
	    .structSize = CUpti_Profiler_Host_GetConfigImageSize_Params_STRUCT_SIZE,
	    .pHostObject = c->host};
	CUptiResult r;

	if ((r = rp_cuptiProfilerHostGetConfigImageSize(&cs)) != CUPTI_SUCCESS) {
		rp_fail("cuptiProfilerHostGetConfigImageSize", r);
		return 0;
	}
	free(c->config);
	c->config = malloc(cs.configImageSize);
	c->config_size = cs.configImageSize;
	CUpti_Profiler_Host_GetConfigImage_Params ci = {
	    .structSize = CUpti_Profiler_Host_GetConfigImage_Params_STRUCT_SIZE,
	    .pHostObject = c->host,
	    .configImageSize = c->config_size,
	    .pConfigImage = c->config};
	if (!c->config || (r = rp_cuptiProfilerHostGetConfigImage(&ci)) != CUPTI_SUCCESS) {
		rp_fail("cuptiProfilerHostGetConfigImage", r);
		return 0;
	}
	CUpti_Profiler_Host_GetNumOfPasses_Params np = {
	    .structSize = CUpti_Profiler_Host_GetNumOfPasses_Params_STRUCT_SIZE,
	    .configImageSize = c->config_size,
	    .pConfigImage = c->config};
	if ((r = rp_cuptiProfilerHostGetNumOfPasses(&np)) != CUPTI_SUCCESS) {
		rp_fail("cuptiProfilerHostGetNumOfPasses", r);
		return 0;
	}
	return np.numOfPasses;
}

/* Add n metrics to c's host object in one call: separate calls schedule their counters
 * apart (on GH100 the default set took 16 passes added one by one, 8 added at once). */
static CUptiResult rp_add(struct rp_ctx *c, const char **names, size_t n)
{
	CUpti_Profiler_Host_ConfigAddMetrics_Params am = {
	    .structSize = CUpti_Profiler_Host_ConfigAddMetrics_Params_STRUCT_SIZE,
	    .pHostObject = c->host,
	    .ppMetricNames = names,
	    .numMetrics = n};
	return rp_cuptiProfilerHostConfigAddMetrics(&am);
}

static void rp_host_free(struct rp_ctx *c)
{
	if (c->host) {
		CUpti_Profiler_Host_Deinitialize_Params hd = {
		    .structSize = CUpti_Profiler_Host_Deinitialize_Params_STRUCT_SIZE,
		    .pHostObject = c->host};
		rp_cuptiProfilerHostDeinitialize(&hd);
		c->host = NULL;
	}
}

static CUpti_Profiler_Host_Object *rp_host_new(const char *chip, const uint8_t *avail)
{
	CUpti_Profiler_Host_Initialize_Params hi = {
	    .structSize = CUpti_Profiler_Host_Initialize_Params_STRUCT_SIZE,
	    .profilerType = CUPTI_PROFILER_TYPE_RANGE_PROFILER,
	    .pChipName = chip,
	    .pCounterAvailabilityImage = avail};
	CUptiResult r = rp_cuptiProfilerHostInitialize(&hi);

	if (r != CUPTI_SUCCESS) {
		rp_fail("cuptiProfilerHostInitialize", r);
		return NULL;
	}
	return hi.pHostObject;
}

/* A fresh host object holding c's kept metrics plus `extra` (NULL: none), added in one
 * call; NULL on error (*r: the result of adding them). */
static CUpti_Profiler_Host_Object *rp_host_with(struct rp_ctx *c, const char *chip,
						const uint8_t *avail, const char *extra,
						CUptiResult *r)
{
	const char *all[GP_METRICS_MAX + 1];

	*r = CUPTI_SUCCESS;
	if (!(c->host = rp_host_new(chip, avail)))
		return NULL;
	memcpy(all, c->names, c->nnames * sizeof(all[0]));
	all[c->nnames] = extra;
	*r = rp_add(c, all, c->nnames + (extra != NULL));
	return c->host;
}

/*
 * Build c's host object and config: every requested metric the chip knows (kernel
 * ranges), or those that keep the config at one pass (NVTX ranges).  Each candidate is
 * tried on a fresh host object with the metrics kept so far (a host object whose config
 * image was taken does not take more metrics).  Returns 0 or -1.
 */
static int rp_build_config(struct rp_ctx *c, const char *chip, const uint8_t *avail)
{
	char left_out[1024] = "";
	size_t lo = 0;
	CUptiResult r;

	for (size_t i = 0; i < R.nreq; i++) {
		if (!rp_host_with(c, chip, avail, R.req[i], &r))
			return -1;
		if (r != CUPTI_SUCCESS)
			rp_metric_known(c->host, R.req[i], chip);
		else if (R.nvtx && rp_config(c) > 1) {
			if (lo < sizeof(left_out) - 1)
				lo += (size_t)snprintf(left_out + lo, sizeof(left_out) - lo, "%s%s",
						       lo ? "," : "", R.req[i]);
		} else {
			c->names[c->nnames++] = R.req[i];
		}
		rp_host_free(c);
	}
	if (lo >= sizeof(left_out))
		lo = sizeof(left_out) - 1;
	if (lo && !R.passes_said) {
		rp_say("gprof-cli: gpu-metrics: NVTX ranges cannot be replayed, so only metrics "
		       "that fit one pass are collected; left out: %s",
		       left_out);
		rp_say("hint: use --gpu-metrics-ranges=kernel (kernel replay) for them");
		gp_metrics_note("GPU_METRICS:METRICS_LEFT_OUT", left_out);
	}
	if (!c->nnames) {
		rp_fail("no metric of the set can be collected", CUPTI_ERROR_INVALID_METRIC_NAME);
		return -1;
	}
	if (!rp_host_with(c, chip, avail, NULL, &r))
		return -1;
	c->passes = rp_config(c);
	return c->passes ? 0 : -1;
}

/* ---- per-context life ------------------------------------------------------------------ */

static int rp_image_init(struct rp_ctx *c)
{
	CUpti_RangeProfiler_CounterDataImage_Initialize_Params ii = {
	    .structSize = CUpti_RangeProfiler_CounterDataImage_Initialize_Params_STRUCT_SIZE,
	    .pRangeProfilerObject = c->obj,
	    .counterDataSize = c->image_size,
	    .pCounterData = c->image};
	CUptiResult r = rp_cuptiRangeProfilerCounterDataImageInitialize(&ii);

	if (r != CUPTI_SUCCESS) {
		rp_fail("cuptiRangeProfilerCounterDataImageInitialize", r);
		return -1;
	}
	return 0;
}

static int rp_set_config_start(struct rp_ctx *c)
{
	CUpti_RangeProfiler_SetConfig_Params sc = {
	    .structSize = CUpti_RangeProfiler_SetConfig_Params_STRUCT_SIZE,
	    .pRangeProfilerObject = c->obj,
	    .configSize = c->config_size,
	    .pConfig = c->config,
	    .counterDataImageSize = c->image_size,
	    .pCounterDataImage = c->image,
	    .range = R.nvtx ? CUPTI_UserRange : CUPTI_AutoRange,
	    .replayMode = R.nvtx ? CUPTI_UserReplay : CUPTI_KernelReplay,
	    .maxRangesPerPass = RP_BATCH,
	    .numNestingLevels = R.nvtx ? RP_NEST : 1,
	    .minNestingLevel = 1,
	    .passIndex = 0,
	    .targetNestingLevel = 1};
	CUpti_RangeProfiler_Start_Params st = {.structSize =
						   CUpti_RangeProfiler_Start_Params_STRUCT_SIZE,
					       .pRangeProfilerObject = c->obj};
	CUptiResult r;

	if ((r = rp_cuptiRangeProfilerSetConfig(&sc)) != CUPTI_SUCCESS) {
		rp_fail("cuptiRangeProfilerSetConfig", r);
		return -1;
	}
	if ((r = rp_cuptiRangeProfilerStart(&st)) != CUPTI_SUCCESS) {
		rp_fail("cuptiRangeProfilerStart", r);
		return -1;
	}
	return 0;
}

/* Announce dev's metric names (once per device), flushed before any range uses them. */
static void rp_announce(struct rp_ctx *c, const char *chip)
{
	uint32_t chip_sid = chip ? gp_intern(chip) : 0;

	if (c->dev < RP_MAX_DEV && R.dev_announced[c->dev])
		return;
	for (size_t i = 0; i < c->nnames; i++) {
		uint32_t sid = gp_intern(c->names[i]);
		struct gp_rec_metrics_metric *m = gp_rec_begin(GP_REC_METRICS_METRIC, sizeof(*m));
		if (!m)
			continue;
		m->device_id = c->dev;
		m->mode = GP_METRICS_MODE_RANGE;
		m->index = (uint16_t)i;
		m->name_sid = sid;
		m->chip_sid = chip_sid;
		gp_rec_commit(m);
	}
	if (c->dev < RP_MAX_DEV)
		R.dev_announced[c->dev] = 1;
	gp_flush_thread();
}

static void rp_ctx_free(struct rp_ctx *c)
{
	if (c->obj) {
		CUpti_RangeProfiler_Disable_Params di = {
		    .structSize = CUpti_RangeProfiler_Disable_Params_STRUCT_SIZE,
		    .pRangeProfilerObject = c->obj};
		rp_cuptiRangeProfilerDisable(&di);
	}
	rp_host_free(c);
	free(c->config);
	free(c->image);
	free(c);
}

static struct rp_ctx *rp_setup(CUcontext ctx)
{
	struct rp_ctx *c = calloc(1, sizeof(*c));
	uint8_t *avail = NULL;
	const char *chip = NULL;
	CUptiResult r;

	if (!c)
		return NULL;
	c->ctx = ctx;
	rp_cuptiGetContextId(ctx, &c->ctx_id);
	rp_cuptiGetDeviceId(ctx, &c->dev);
	if (!R.initialised) {
		CUpti_Profiler_Initialize_Params pi = {
		    .structSize = CUpti_Profiler_Initialize_Params_STRUCT_SIZE};
		if ((r = rp_cuptiProfilerInitialize(&pi)) != CUPTI_SUCCESS) {
			rp_fail("cuptiProfilerInitialize", r);
			goto fail;
		}
		R.initialised = 1;
	}
	CUpti_Device_GetChipName_Params cn = {
	    .structSize = CUpti_Device_GetChipName_Params_STRUCT_SIZE, .deviceIndex = c->dev};
	if ((r = rp_cuptiDeviceGetChipName(&cn)) != CUPTI_SUCCESS) {
		rp_fail("cuptiDeviceGetChipName", r);
		goto fail;
	}
	chip = cn.pChipName;
	CUpti_Profiler_GetCounterAvailability_Params ca = {
	    .structSize = CUpti_Profiler_GetCounterAvailability_Params_STRUCT_SIZE, .ctx = ctx};
	if ((r = rp_cuptiProfilerGetCounterAvailability(&ca)) != CUPTI_SUCCESS) {
		rp_fail("cuptiProfilerGetCounterAvailability", r);
		goto fail;
	}
	avail = malloc(ca.counterAvailabilityImageSize);
	ca.pCounterAvailabilityImage = avail;
	if (!avail || (r = rp_cuptiProfilerGetCounterAvailability(&ca)) != CUPTI_SUCCESS) {
		rp_fail("cuptiProfilerGetCounterAvailability", r);
		goto fail;
	}
	if (rp_build_config(c, chip, avail) < 0)
		goto fail;
	CUpti_RangeProfiler_Enable_Params en = {
	    .structSize = CUpti_RangeProfiler_Enable_Params_STRUCT_SIZE, .ctx = ctx};
	if ((r = rp_cuptiRangeProfilerEnable(&en)) != CUPTI_SUCCESS) {
		rp_fail("cuptiRangeProfilerEnable", r);
		goto fail;
	}
	c->obj = en.pRangeProfilerObject;
	CUpti_RangeProfiler_GetCounterDataSize_Params ds = {
	    .structSize = CUpti_RangeProfiler_GetCounterDataSize_Params_STRUCT_SIZE,
	    .pRangeProfilerObject = c->obj,
	    .pMetricNames = c->names,
	    .numMetrics = c->nnames,
	    .maxNumOfRanges = RP_BATCH,
	    .maxNumRangeTreeNodes = RP_BATCH};
	if ((r = rp_cuptiRangeProfilerGetCounterDataSize(&ds)) != CUPTI_SUCCESS) {
		rp_fail("cuptiRangeProfilerGetCounterDataSize", r);
		goto fail;
	}
	c->image_size = ds.counterDataSize;
	if (!(c->image = calloc(1, c->image_size))) {
		rp_fail("cannot allocate the counter-data image", CUPTI_ERROR_OUT_OF_MEMORY);
		goto fail;
	}
	if (rp_image_init(c) < 0 || rp_set_config_start(c) < 0)
		goto fail;
	rp_announce(c, chip);
	if (!R.passes_said) {
		char v[32];
		R.passes_said = 1;
		snprintf(v, sizeof(v), "%zu", c->passes);
		gp_metrics_note("GPU_METRICS:REPLAY_PASSES", v);
		if (R.nvtx) {
			gp_metrics_note(
			    "GPU_METRICS:REPLAY",
			    "NVTX user ranges, single pass, no replay: kernels run once; the "
			    "profiler still serialises the work it measures");
			rp_say("gprof-cli: gpu-metrics range mode: %zu metrics per NVTX range on "
			       "GPU %u (%s), one pass",
			       c->nnames, c->dev, chip);
		} else {
			char txt[256];
			snprintf(txt, sizeof(txt),
				 "every kernel launch is serialised and replayed %zu time(s); GPU "
				 "timings are not comparable with a trace run",
				 c->passes);
			gp_metrics_note("GPU_METRICS:REPLAY", txt);
			rp_say(
			    "gprof-cli: gpu-metrics range mode: %zu metrics per kernel on GPU %u "
			    "(%s); %s",
			    c->nnames, c->dev, chip, txt);
		}
	}
	free(avail);
	return c;
fail:
	free(avail);
	rp_ctx_free(c);
	return NULL;
}

static struct rp_ctx *rp_find(CUcontext ctx)
{
	for (int i = 0; i < RP_MAX_CTX; i++)
		if (R.ctx[i] && R.ctx[i]->ctx == ctx)
			return R.ctx[i];
	return NULL;
}

void gp_range_context_created(CUcontext ctx)
{
	if (!R.wanted || R.stopped)
		return;
	pthread_mutex_lock(&rp_lock);
	rp_busy++;
	if (!rp_find(ctx)) {
		int slot = -1;
		for (int i = 0; i < RP_MAX_CTX && slot < 0; i++)
			if (!R.ctx[i])
				slot = i;
		if (slot < 0)
			rp_say("gprof-cli: gpu-metrics: more than %d CUDA contexts; context not "
			       "profiled",
			       RP_MAX_CTX);
		else
			R.ctx[slot] = rp_setup(ctx);
	}
	rp_busy--;
	pthread_mutex_unlock(&rp_lock);
}

/* ---- decoding ------------------------------------------------------------------------ */

static void rp_emit(struct rp_ctx *c, const struct rp_pending *p, uint32_t index,
		    const double *vals)
{
	struct gp_rec_metrics_range *m =
	    gp_rec_begin(GP_REC_METRICS_RANGE, sizeof(*m) + c->nnames * sizeof(double));

	if (!m)
		return;
	if (p)
		m->h.tid = p->tid;
	m->start_ns = p ? p->start_ns : 0;
	m->end_ns = p ? p->end_ns : 0;
	m->device_id = c->dev;
	m->context_id = c->ctx_id;
	m->correlation_id = p ? p->corr : 0;
	m->range_index = index;
	m->name_sid = p ? p->name_sid : 0;
	m->kind = R.nvtx ? GP_METRICS_RANGE_NVTX : GP_METRICS_RANGE_KERNEL;
	m->passes = (uint16_t)(c->passes > 65535 ? 65535 : c->passes);
	m->nvalues = (uint32_t)c->nnames;
	m->pad = 0;
	memcpy(m->values, vals, c->nnames * sizeof(double));
	gp_rec_commit(m);
}

/* NVTX: the pending push whose unique CUPTI name ends range path `name`. */
static struct rp_pending *rp_nvtx_match(struct rp_ctx *c, const char *name)
{
	const char *last = strrchr(name, '/');
	unsigned long seq = strtoul(last ? last + 1 : name, NULL, 10);

	for (size_t i = 0; i < c->npend; i++)
		if (c->pend[i].seq == seq && c->pend[i].done == 1)
			return &c->pend[i];
	return NULL;
}

/*
 * Stop c's profiler, decode the batch, send one record per range, re-arm.  Kernel mode:
 * pending launch i is range i; ranges after the last stream launch belong to a trailing
 * graph launch.  `restart`: start the next batch (0 at context end / exit).
 */
static void rp_flush(struct rp_ctx *c, int restart)
{
	CUpti_RangeProfiler_Stop_Params sp = {.structSize =
						  CUpti_RangeProfiler_Stop_Params_STRUCT_SIZE,
					      .pRangeProfilerObject = c->obj};
	CUptiResult r;
	double vals[GP_METRICS_MAX];

	if (!c->obj)
		return;
	if ((r = rp_cuptiRangeProfilerStop(&sp)) != CUPTI_SUCCESS) {
		rp_fail("cuptiRangeProfilerStop", r);
		return;
	}
	CUpti_RangeProfiler_DecodeData_Params dd = {
	    .structSize = CUpti_RangeProfiler_DecodeData_Params_STRUCT_SIZE,
	    .pRangeProfilerObject = c->obj};
	if ((r = rp_cuptiRangeProfilerDecodeData(&dd)) != CUPTI_SUCCESS) {
		rp_fail("cuptiRangeProfilerDecodeData", r);
		return;
	}
	R.dropped += dd.numOfRangeDropped;
	CUpti_RangeProfiler_GetCounterDataInfo_Params gi = {
	    .structSize = CUpti_RangeProfiler_GetCounterDataInfo_Params_STRUCT_SIZE,
	    .pCounterDataImage = c->image,
	    .counterDataImageSize = c->image_size};
	if ((r = rp_cuptiRangeProfilerGetCounterDataInfo(&gi)) != CUPTI_SUCCESS) {
		rp_fail("cuptiRangeProfilerGetCounterDataInfo", r);
		return;
	}
	/* kernel mode: launches [0, nstream) are stream launches, one range each */
	size_t nstream = c->npend;
	const struct rp_pending *graph = NULL;
	if (!R.nvtx && nstream && c->pend[nstream - 1].graph)
		graph = &c->pend[--nstream];
	for (size_t i = 0; i < gi.numTotalRanges; i++) {
		CUpti_Profiler_Host_EvaluateToGpuValues_Params ev = {
		    .structSize = CUpti_Profiler_Host_EvaluateToGpuValues_Params_STRUCT_SIZE,
		    .pHostObject = c->host,
		    .pCounterDataImage = c->image,
		    .counterDataImageSize = c->image_size,
		    .rangeIndex = i,
		    .ppMetricNames = c->names,
		    .numMetrics = c->nnames,
		    .pMetricValues = vals};
		if ((r = rp_cuptiProfilerHostEvaluateToGpuValues(&ev)) != CUPTI_SUCCESS) {
			rp_fail("cuptiProfilerHostEvaluateToGpuValues", r);
			continue;
		}
		struct rp_pending *p = NULL, gp;
		if (R.nvtx) {
			CUpti_RangeProfiler_CounterData_GetRangeInfo_Params ri = {
			    .structSize =
				CUpti_RangeProfiler_CounterData_GetRangeInfo_Params_STRUCT_SIZE,
			    .pCounterDataImage = c->image,
			    .counterDataImageSize = c->image_size,
			    .rangeIndex = i,
			    .rangeDelimiter = "/"};
			if (rp_cuptiRangeProfilerCounterDataGetRangeInfo(&ri) == CUPTI_SUCCESS &&
			    ri.rangeName && (p = rp_nvtx_match(c, ri.rangeName)))
				p->done = 2;
		} else if (i < nstream) {
			p = &c->pend[i];
		} else if (graph) {
			gp = *graph;
			gp.name_sid = gp_intern(RP_GRAPH_NAME);
			p = &gp;
		}
		if (!p)
			R.unjoined++;
		rp_emit(c, p, c->next_index++, vals);
		R.ranges++;
	}
	if (!R.nvtx && gi.numTotalRanges < nstream)
		R.unjoined += nstream - gi.numTotalRanges; /* launches without a range */
	c->npend = 0;
	if (restart && (rp_image_init(c) < 0 || rp_set_config_start(c) < 0)) {
		CUpti_RangeProfiler_Disable_Params di = {
		    .structSize = CUpti_RangeProfiler_Disable_Params_STRUCT_SIZE,
		    .pRangeProfilerObject = c->obj};
		rp_cuptiRangeProfilerDisable(&di);
		c->obj = NULL;
	}
}

/* ---- callbacks ------------------------------------------------------------------------- */

/* The stream launch cbid (parameters p) goes to; 0 when this launch API's parameters are
 * not known here (then the launch counts as not captured). */
static int rp_launch_stream(CUpti_CallbackDomain domain, CUpti_CallbackId cbid, const void *p,
			    CUstream *s)
{
	if (!p)
		return 0;
	if (domain == CUPTI_CB_DOMAIN_RUNTIME_API) {
		switch (cbid) { /* the _ptsz forms have the same parameters */
		case CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000:
		case CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_ptsz_v7000:
			*s = (CUstream)((const cudaLaunchKernel_v7000_params *)p)->stream;
			return 1;
		case CUPTI_RUNTIME_TRACE_CBID_cudaLaunchCooperativeKernel_v9000:
		case CUPTI_RUNTIME_TRACE_CBID_cudaLaunchCooperativeKernel_ptsz_v9000:
			*s =
			    (CUstream)((const cudaLaunchCooperativeKernel_v9000_params *)p)->stream;
			return 1;
		case CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernelExC_v11060:
		case CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernelExC_ptsz_v11060: {
			const cudaLaunchConfig_t *cfg =
			    ((const cudaLaunchKernelExC_v11060_params *)p)->config;
			*s = cfg ? (CUstream)cfg->stream : NULL;
			return cfg != NULL;
		}
		}
		return 0;
	}
	switch (cbid) {
	case CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel:
	case CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel_ptsz:
		*s = ((const cuLaunchKernel_params *)p)->hStream;
		return 1;
	case CUPTI_DRIVER_TRACE_CBID_cuLaunchCooperativeKernel:
	case CUPTI_DRIVER_TRACE_CBID_cuLaunchCooperativeKernel_ptsz:
		*s = ((const cuLaunchCooperativeKernel_params *)p)->hStream;
		return 1;
	case CUPTI_DRIVER_TRACE_CBID_cuLaunchKernelEx:
	case CUPTI_DRIVER_TRACE_CBID_cuLaunchKernelEx_ptsz: {
		const CUlaunchConfig *cfg = ((const cuLaunchKernelEx_params *)p)->config;
		*s = cfg ? cfg->hStream : NULL;
		return cfg != NULL;
	}
	}
	return 0;
}

/* Was this launch recorded into a graph by stream capture (no kernel ran, no range)? */
static int rp_captured(CUpti_CallbackDomain domain, CUpti_CallbackId cbid, const void *p)
{
	CUstream s = NULL;
	CUstreamCaptureStatus st = CU_STREAM_CAPTURE_STATUS_NONE;
	CUresult r;

	if (!rp_cuStreamIsCapturing || !rp_launch_stream(domain, cbid, p, &s))
		return 0;
	r = rp_cuStreamIsCapturing(s, &st);
	return r == CUDA_ERROR_STREAM_CAPTURE_IMPLICIT ||
	       (r == CUDA_SUCCESS && st != CU_STREAM_CAPTURE_STATUS_NONE);
}

int gp_range_wants(CUpti_CallbackDomain domain, CUpti_CallbackId cbid)
{
	if (!R.wanted || R.nvtx)
		return 0;
	if (domain == CUPTI_CB_DOMAIN_RUNTIME_API) {
		for (size_t i = 0; i < RP_N(rp_rt_cbids); i++)
			if (rp_rt_cbids[i] == cbid)
				return 1;
	} else if (domain == CUPTI_CB_DOMAIN_DRIVER_API) {
		for (size_t i = 0; i < RP_N(rp_drv_cbids); i++)
			if (rp_drv_cbids[i] == cbid)
				return 1;
	}
	return 0;
}

void gp_range_api_callback(CUpti_CallbackDomain domain, CUpti_CallbackId cbid, const void *data)
{
	const CUpti_CallbackData *cd = data;
	int rt = domain == CUPTI_CB_DOMAIN_RUNTIME_API;

	if (rp_busy || R.stopped)
		return;
	if (cd->callbackSite == CUPTI_API_ENTER) {
		if (!rt && rp_rt_launch)
			return; /* the runtime launch that made this one is recorded */
		rp_rt_launch += rt;
		if (cd->correlationData)
			*cd->correlationData = gp_now_ns();
		return;
	}
	if (rt && rp_rt_launch > 0)
		rp_rt_launch--;
	else if (!rt && rp_rt_launch)
		return;
	int failed = rt ? *(const int *)cd->functionReturnValue != 0
			: *(const CUresult *)cd->functionReturnValue != CUDA_SUCCESS;
	if (failed || !cd->context || rp_captured(domain, cbid, cd->functionParams))
		return;
	struct rp_pending p = {.start_ns = cd->correlationData ? *cd->correlationData : 0,
			       .end_ns = gp_now_ns(),
			       .corr = cd->correlationId,
			       .tid = gp_tid(),
			       .name_sid = cd->symbolName ? gp_intern(cd->symbolName) : 0,
			       .graph = (uint16_t)rp_is_graph(domain, cbid)};
	pthread_mutex_lock(&rp_lock);
	rp_busy++;
	struct rp_ctx *c = rp_find(cd->context);
	if (c && c->obj) {
		c->pend[c->npend++] = p;
		/* a graph's node kernels may still run when cuGraphLaunch returns: wait for
		 * them so that their ranges are in this batch (the launch's context is current) */
		if (p.graph && rp_cuCtxSynchronize)
			rp_cuCtxSynchronize();
		if (p.graph || c->npend >= RP_BATCH)
			rp_flush(c, 1);
	}
	rp_busy--;
	pthread_mutex_unlock(&rp_lock);
}

/* The context NVTX ranges of this thread go to (its current one; the only one). */
static struct rp_ctx *rp_nvtx_ctx(void)
{
	CUcontext cur = NULL;
	struct rp_ctx *only = NULL;
	int n = 0;

	if (rp_cuCtxGetCurrent && rp_cuCtxGetCurrent(&cur) == CUDA_SUCCESS && cur)
		return rp_find(cur);
	for (int i = 0; i < RP_MAX_CTX; i++)
		if (R.ctx[i] && R.ctx[i]->obj) {
			only = R.ctx[i];
			n++;
		}
	return n == 1 ? only : NULL;
}

void gp_range_nvtx_push(uint32_t name_sid)
{
	int d = rp_tdepth++;

	if (d >= 64)
		return;
	rp_pushmask &= ~(1ull << d);
	if (rp_busy || R.stopped)
		return;
	pthread_mutex_lock(&rp_lock);
	rp_busy++;
	struct rp_ctx *c = rp_nvtx_ctx();
	if (c && c->obj && c->npend < RP_N(c->pend)) {
		char name[16];
		struct rp_pending *p = &c->pend[c->npend];
		snprintf(name, sizeof(name), "%u", ++R.next_seq);
		CUpti_RangeProfiler_PushRange_Params pr = {
		    .structSize = CUpti_RangeProfiler_PushRange_Params_STRUCT_SIZE,
		    .pRangeProfilerObject = c->obj,
		    .pRangeName = name};
		CUptiResult r = rp_cuptiRangeProfilerPushRange(&pr);
		if (r == CUPTI_SUCCESS) {
			*p = (struct rp_pending){.start_ns = gp_now_ns(),
						 .tid = gp_tid(),
						 .name_sid = name_sid,
						 .seq = R.next_seq,
						 .depth = (int16_t)c->depth};
			c->npend++;
			c->depth++;
			rp_pushmask |= 1ull << d;
		} else {
			rp_fail("cuptiRangeProfilerPushRange", r);
		}
	}
	rp_busy--;
	pthread_mutex_unlock(&rp_lock);
}

void gp_range_nvtx_pop(void)
{
	if (rp_tdepth <= 0)
		return;
	int d = --rp_tdepth;
	if (d >= 64 || !(rp_pushmask & (1ull << d)) || rp_busy)
		return;
	rp_pushmask &= ~(1ull << d);
	pthread_mutex_lock(&rp_lock);
	rp_busy++;
	struct rp_ctx *c = rp_nvtx_ctx();
	if (c && c->obj && c->depth > 0) {
		CUpti_RangeProfiler_PopRange_Params pr = {
		    .structSize = CUpti_RangeProfiler_PopRange_Params_STRUCT_SIZE,
		    .pRangeProfilerObject = c->obj};
		CUptiResult r = rp_cuptiRangeProfilerPopRange(&pr);
		if (r != CUPTI_SUCCESS)
			rp_fail("cuptiRangeProfilerPopRange", r);
		c->depth--;
		/* the innermost open push of this context */
		for (size_t i = c->npend; i-- > 0;)
			if (!c->pend[i].done) {
				c->pend[i].done = 1;
				c->pend[i].end_ns = gp_now_ns();
				break;
			}
		if (c->depth == 0 && c->npend >= RP_BATCH / 2)
			rp_flush(c, 1);
	}
	rp_busy--;
	pthread_mutex_unlock(&rp_lock);
}

/* ---- end ------------------------------------------------------------------------------ */

static void rp_end_ctx(int slot)
{
	struct rp_ctx *c = R.ctx[slot];

	if (!c)
		return;
	if (c->depth > 0)
		rp_say("gprof-cli: gpu-metrics: %d NVTX range(s) still open on context %u at its "
		       "end are not measured",
		       c->depth, c->ctx_id);
	rp_flush(c, 0);
	rp_ctx_free(c);
	R.ctx[slot] = NULL;
}

void gp_range_context_destroy(CUcontext ctx)
{
	if (!R.wanted)
		return;
	pthread_mutex_lock(&rp_lock);
	rp_busy++;
	for (int i = 0; i < RP_MAX_CTX; i++)
		if (R.ctx[i] && R.ctx[i]->ctx == ctx)
			rp_end_ctx(i);
	rp_busy--;
	pthread_mutex_unlock(&rp_lock);
}

void gp_range_stop(void)
{
	char v[32];

	if (!R.wanted || R.stopped)
		return;
	pthread_mutex_lock(&rp_lock);
	rp_busy++;
	R.stopped = 1;
	gp_range_nvtx_on = 0;
	for (int i = 0; i < RP_MAX_CTX; i++)
		rp_end_ctx(i);
	if (R.initialised) {
		CUpti_Profiler_DeInitialize_Params pd = {
		    .structSize = CUpti_Profiler_DeInitialize_Params_STRUCT_SIZE};
		rp_cuptiProfilerDeInitialize(&pd);
	}
	snprintf(v, sizeof(v), "%llu", (unsigned long long)R.ranges);
	gp_metrics_note("GPU_METRICS:RANGES_MEASURED", v);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)R.dropped);
	gp_metrics_note("GPU_METRICS:RANGES_DROPPED", v);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)R.unjoined);
	gp_metrics_note("GPU_METRICS:RANGES_UNJOINED", v);
	if (R.dropped)
		rp_say("gprof-cli: warning: gpu-metrics: CUPTI dropped %llu range(s) (more than %d "
		       "in one batch, e.g. a large CUDA graph or deep NVTX nesting)",
		       (unsigned long long)R.dropped, RP_BATCH);
	rp_busy--;
	pthread_mutex_unlock(&rp_lock);
}
