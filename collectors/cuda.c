/*
 * cuda.c - the cuda collector: CUPTI activity tracing inside the application, sent to
 * the recorder as GP_REC_CUDA_* records (core/wire_cuda.h).
 *
 * Loading: `gprof-cli profile -t cuda` sets CUDA_INJECTION64_PATH to libgprof-inject.so;
 * the CUDA driver calls InitializeInjection() inside cuInit.  CUPTI is never a link-time
 * dependency: it is dlopen'd there (an already loaded libcupti.so.13 first, so an app
 * such as PyTorch that ships its own copy shares it) and every function is resolved
 * with dlsym.  Follows ../shared/reference/cupti-design.md (CUPTI 13.0 U1):
 *   - thread ids as gettid() (CUPTI_ACTIVITY_THREAD_ID_TYPE_SYSTEM) and timestamps on
 *     CLOCK_MONOTONIC (timestamp callback = gp_now_ns()), the clock of every collector;
 *   - activity kinds RUNTIME, DRIVER (noise APIs filtered unless cuda-trace-all-apis=1),
 *     CONCURRENT_KERNEL (never KERNEL, which serialises), MEMCPY, MEMCPY2, MEMSET,
 *     SYNCHRONIZATION, MEMORY2 (cuda-memory-usage=1), GRAPH_TRACE (cuda-graph-trace=graph,
 *     the default; node gives per-node kernel records), DEVICE/CONTEXT/STREAM;
 *   - --cudabacktrace: the backtrace of the API calls of the chosen classes lasting at
 *     least their threshold, taken in CUPTI's API-exit callback (see cudabt_exit()); with
 *     --python-backtrace=cuda the calling thread's Python frames too (cudabt_python());
 *   - host buffers from a pool of pre-zeroed 4 MiB buffers (no allocation on the app's
 *     launch path while the pool lasts), CUPTI's periodic flush, and a forced flush at
 *     exit (atexit, re-registered after each context creation so it runs before CUPTI's
 *     own exit handlers), before cudaDeviceReset and when a context is destroyed;
 *   - the buffer-completed callback converts records into wire records on the thread
 *     that CUPTI calls it on; kernel names are sent mangled (demangled by the recorder).
 * Options come from $GPROF_CLI_OPTIONS ("key=value;key=value").
 * A forked child (no exec) never touches the parent's CUPTI state.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cupti.h>
#include <cupti_target.h>

#include "collectors/cuda_noise.h"
#include "collectors/cupti.h"
#include "collectors/gpu_metrics.h"
#include "collectors/producer.h"
#include "core/wire_python.h"

#define GP_EXPORT __attribute__((visibility("default")))

/* ---- CUPTI entry points (dlsym) --------------------------------------------------- */

#define CUPTI_FUNCS(X)                                                                             \
	X(cuptiGetVersion, (uint32_t *))                                                           \
	X(cuptiSubscribe_v2,                                                                       \
	  (CUpti_SubscriberHandle *, CUpti_CallbackFunc, void *, CUpti_SubscriberParams *))        \
	X(cuptiEnableCallback,                                                                     \
	  (uint32_t, CUpti_SubscriberHandle, CUpti_CallbackDomain, CUpti_CallbackId))              \
	X(cuptiGetCallbackName, (CUpti_CallbackDomain, uint32_t, const char **))                   \
	X(cuptiSetThreadIdType, (CUpti_ActivityThreadIdType))                                      \
	X(cuptiActivityRegisterTimestampCallback, (CUpti_TimestampCallbackFunc))                   \
	X(cuptiActivityRegisterCallbacks,                                                          \
	  (CUpti_BuffersCallbackRequestFunc, CUpti_BuffersCallbackCompleteFunc))                   \
	X(cuptiActivitySetAttribute, (CUpti_ActivityAttribute, size_t *, void *))                  \
	X(cuptiActivityEnable, (CUpti_ActivityKind))                                               \
	X(cuptiActivityDisable, (CUpti_ActivityKind))                                              \
	X(cuptiActivityEnableAndDump, (CUpti_ActivityKind))                                        \
	X(cuptiActivityEnableRuntimeApi, (CUpti_CallbackId, uint8_t))                              \
	X(cuptiActivityEnableDriverApi, (CUpti_CallbackId, uint8_t))                               \
	X(cuptiActivityGetNextRecord, (uint8_t *, size_t, CUpti_Activity **))                      \
	X(cuptiActivityFlushAll, (uint32_t))                                                       \
	X(cuptiActivityFlushPeriod, (uint32_t))                                                    \
	X(cuptiActivityGetNumDroppedRecords, (CUcontext, uint32_t, size_t *))                      \
	X(cuptiGetContextId, (CUcontext, uint32_t *))                                              \
	X(cuptiGetDeviceId, (CUcontext, uint32_t *))

#define DECLARE_PTR(name, args) static CUptiResult(CUPTIAPI *p_##name) args;
CUPTI_FUNCS(DECLARE_PTR)
#undef DECLARE_PTR
/* optional (profiler target API; may be missing or refuse without profiler init) */
static CUptiResult(CUPTIAPI *p_cuptiDeviceGetChipName)(CUpti_Device_GetChipName_Params *);
/* optional (graph creation events are left out without them) */
static CUptiResult(CUPTIAPI *p_cuptiGetGraphId)(CUgraph, uint32_t *);
static CUptiResult(CUPTIAPI *p_cuptiGetGraphNodeId)(CUgraphNode, uint64_t *);
static CUptiResult(CUPTIAPI *p_cuptiGetGraphExecId)(CUgraphExec, uint32_t *);
/* optional (--cudabacktrace is off without it, said once) */
static CUptiResult(CUPTIAPI *p_cuptiEnableDomain)(uint32_t, CUpti_SubscriberHandle,
						  CUpti_CallbackDomain);

/* driver entry points for PCI location queries (libcuda is loaded: it called us) */
static CUresult (*p_cuDeviceGetCount)(int *);
static CUresult (*p_cuDeviceGet)(CUdevice *, int);
static CUresult (*p_cuDeviceGetAttribute)(int *, CUdevice_attribute, CUdevice);

/* ---- state ------------------------------------------------------------------------ */

static atomic_int init_done;	  /* InitializeInjection ran (once per process) */
static int active;		  /* CUPTI set up and tracing */
static pid_t init_pid;		  /* the process that set CUPTI up */
static volatile int forked_child; /* set in a forked child: never touch CUPTI */
static atomic_int torn_down;	  /* final flush done */
static CUpti_SubscriberHandle subscriber;

/* options */
static int opt_all_apis, opt_memory, opt_graph_node;
static int opt_trace_cuda = 1; /* 0: loaded for gpu-metrics only (no activity tracing) */
static void *cupti_handle;     /* gp_cupti_open()'s, once set up */
static unsigned opt_flush_ms = 200;

/* --cudabacktrace: the API classes (nsys's words) and each one's threshold in ns,
 * UINT64_MAX: off (the default: every class off) */
enum bt_class { BT_KERNEL, BT_MEMORY, BT_SYNC, BT_OTHER, BT_CLASSES };
static uint64_t bt_thr[BT_CLASSES] = {UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX};
static int bt_on;    /* some class is on (and the API domains' callbacks are enabled) */
static int opt_pybt; /* --python-backtrace=cuda: Python frames in those backtraces */

/* loss counters since the last report to the producer */
static atomic_ulong zero_ts;

/* Devices: PCI location and chip name, filled after cuInit (CU_INIT_FINISHED). */
#define MAX_DEVICES 64
struct dev_info {
	int valid;
	int pci_domain, pci_bus, pci_device, shmem_optin;
	const char *chip;
};
static struct dev_info devices[MAX_DEVICES];
static atomic_ullong devices_sent; /* bitmap: GP_REC_CUDA_DEVICE sent for device id */

/* contextId -> deviceId (synchronisation records carry no device). */
#define MAX_CONTEXTS 256
static atomic_uint ctx_ids[MAX_CONTEXTS]; /* contextId + 1; 0 = empty */
static atomic_uint ctx_devs[MAX_CONTEXTS];

static void ctx_remember(uint32_t ctx, uint32_t dev)
{
	for (unsigned i = 0; i < MAX_CONTEXTS; i++) {
		unsigned cur = atomic_load(&ctx_ids[i]);
		if (cur == ctx + 1)
			return;
		if (cur == 0) {
			unsigned zero = 0;
			atomic_store(&ctx_devs[i], dev);
			if (atomic_compare_exchange_strong(&ctx_ids[i], &zero, ctx + 1))
				return;
			if (zero == ctx + 1)
				return;
		}
	}
}

static uint32_t ctx_device(uint32_t ctx)
{
	for (unsigned i = 0; i < MAX_CONTEXTS; i++) {
		unsigned cur = atomic_load(&ctx_ids[i]);
		if (cur == ctx + 1)
			return atomic_load(&ctx_devs[i]);
		if (cur == 0)
			break;
	}
	return 0;
}

/* ---- messages ---------------------------------------------------------------------- */

/* One line on stderr, "gprof-cli: cuda trace disabled: <why>", once per process. */
static void say_disabled(const char *fmt, const char *arg)
{
	char line[512];
	int n = snprintf(line, sizeof(line), "gprof-cli: cuda trace disabled: ");

	n += snprintf(line + n, sizeof(line) - (size_t)n, fmt, arg ? arg : "");
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

/* ---- options ----------------------------------------------------------------------- */

static int option_bool(const char *key, int def)
{
	char buf[16];
	const char *v = gp_option(key, buf, sizeof(buf));

	if (!v)
		return def;
	return !strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on");
}

static void read_options(void)
{
	char buf[32];
	const char *v;

	opt_all_apis = option_bool("cuda-trace-all-apis", 0);
	opt_memory = option_bool("cuda-memory-usage", 0);
	v = gp_option("cuda-graph-trace", buf, sizeof(buf));
	opt_graph_node = v && !strcmp(v, "node");
	v = gp_option("cuda-flush-interval", buf, sizeof(buf));
	if (v) {
		unsigned long ms = strtoul(v, NULL, 10);
		opt_flush_ms = ms > 3600000 ? 3600000 : (unsigned)ms;
	}
	/* "cudabacktrace=K,M,S,O": the thresholds (ns) of kernel, memory, sync and other, "-"
	 * for a class that is off (cli/cmd_profile.c writes it; absent: all off) */
	opt_pybt = option_bool("python-backtrace", 0);
	v = gp_option("cudabacktrace", buf, sizeof(buf));
	for (int i = 0; v && *v && i < BT_CLASSES; i++) {
		char *end;

		if (*v == '-') {
			end = (char *)v + 1;
		} else {
			bt_thr[i] = strtoull(v, &end, 10);
			bt_on = 1;
		}
		v = *end == ',' ? end + 1 : NULL;
	}
}

/* ---- buffer pool ------------------------------------------------------------------- */

#define BUF_SIZE  (4u << 20)
#define POOL_MAX  64 /* at most 256 MiB of host buffers; beyond, CUPTI drops (counted) */
#define POOL_INIT 4  /* pre-faulted at start */

static uint8_t *_Atomic pool_buf[POOL_MAX];
static atomic_int pool_busy[POOL_MAX];
static atomic_int pool_n;

static uint8_t *pool_new(int populate)
{
	return gp_map_anon(BUF_SIZE, populate);
}

static void pool_init(void)
{
	for (int i = 0; i < POOL_INIT; i++) {
		uint8_t *b = pool_new(1);
		if (!b)
			break;
		atomic_store(&pool_buf[i], b);
		atomic_store(&pool_n, i + 1);
	}
}

static void CUPTIAPI buf_request(uint8_t **buffer, size_t *size, size_t *max_records)
{
	int n = atomic_load(&pool_n), i;

	*max_records = 0;
	for (i = 0; i < n; i++) {
		int zero = 0;
		if (atomic_load(&pool_buf[i]) &&
		    atomic_compare_exchange_strong(&pool_busy[i], &zero, 1)) {
			*buffer = atomic_load(&pool_buf[i]);
			*size = BUF_SIZE;
			return;
		}
	}
	/* pool exhausted: grow (the one allocation the app thread may pay) */
	i = atomic_fetch_add(&pool_n, 1);
	if (i < POOL_MAX) {
		uint8_t *b = pool_new(0);
		if (b) {
			atomic_store(&pool_busy[i], 1);
			atomic_store(&pool_buf[i], b);
			*buffer = b;
			*size = BUF_SIZE;
			return;
		}
	} else {
		atomic_store(&pool_n, POOL_MAX);
	}
	*buffer = NULL;
	*size = 0;
}

static void pool_release(uint8_t *b, size_t used)
{
	int n = atomic_load(&pool_n);

	memset(b, 0, used); /* CUPTI_ACTIVITY_ATTR_ZEROED_OUT_ACTIVITY_BUFFER = 1 */
	for (int i = 0; i < n && i < POOL_MAX; i++)
		if (atomic_load(&pool_buf[i]) == b) {
			atomic_store(&pool_busy[i], 0);
			return;
		}
}

/* ---- string caches ----------------------------------------------------------------- */

#define MAX_CBID 2048
static atomic_uint api_sid[2][MAX_CBID]; /* [runtime/driver][cbid] -> string id */

static uint32_t api_name_sid(int driver, uint32_t cbid)
{
	uint32_t sid;
	const char *name = NULL;
	char tmp[32];

	if (cbid < MAX_CBID &&
	    (sid = atomic_load_explicit(&api_sid[driver][cbid], memory_order_relaxed)))
		return sid;
	if (p_cuptiGetCallbackName(driver ? CUPTI_CB_DOMAIN_DRIVER_API
					  : CUPTI_CB_DOMAIN_RUNTIME_API,
				   cbid, &name) != CUPTI_SUCCESS ||
	    !name) {
		snprintf(tmp, sizeof(tmp), "%s_cbid_%u", driver ? "cu" : "cuda", cbid);
		name = tmp;
	}
	sid = gp_intern(name);
	if (cbid < MAX_CBID)
		atomic_store_explicit(&api_sid[driver][cbid], sid, memory_order_relaxed);
	return sid;
}

/* Kernel names: CUPTI's name pointers are stable, so cache pointer -> string id. */
#define KCACHE 4096
static struct {
	const char *ptr;
	uint32_t sid;
} kcache[KCACHE];
static atomic_flag kcache_lock = ATOMIC_FLAG_INIT;

static uint32_t kernel_name_sid(const char *name)
{
	size_t h;
	uint32_t sid;

	if (!name)
		return gp_intern("<unknown>");
	h = ((uintptr_t)name >> 4) * 0x9E3779B97F4A7C15ull >> 52;
	while (atomic_flag_test_and_set_explicit(&kcache_lock, memory_order_acquire))
		;
	if (kcache[h].ptr == name) {
		sid = kcache[h].sid;
		atomic_flag_clear_explicit(&kcache_lock, memory_order_release);
		return sid;
	}
	atomic_flag_clear_explicit(&kcache_lock, memory_order_release);
	sid = gp_intern(name);
	while (atomic_flag_test_and_set_explicit(&kcache_lock, memory_order_acquire))
		;
	kcache[h].ptr = name;
	kcache[h].sid = sid;
	atomic_flag_clear_explicit(&kcache_lock, memory_order_release);
	return sid;
}

/* ---- record conversion ------------------------------------------------------------- */

#define BEGIN(var, type, code)                                                                     \
	struct type *var = gp_rec_begin(code, sizeof(struct type));                                \
	if (!var)                                                                                  \
		return;                                                                            \
	memset((char *)var + sizeof(struct gp_rec_hdr), 0,                                         \
	       sizeof(struct type) - sizeof(struct gp_rec_hdr))

/*
 * Capture ranges (-c cudaProfilerApi / -c nvtx, core/capture.h).  CUPTI delivers a
 * range's records after the fact (buffers complete every flush period, GPU work after it
 * ran), so event records go past the capture gate (gp_rec_begin_ungated) with a window
 * tag (wire_cuda.h) when they belong to a window, and are dropped when they do not:
 *   - an API call (or a synchronisation) belongs to the window whose [start, stop] holds
 *     its [start, end]; its correlationId is remembered with the window;
 *   - GPU work (kernel, memcpy, memset, memory, graph) belongs to the window of the API
 *     call with its correlationId, else to the window holding its own [start, end].
 * The window times are the control page's (producer.h gp_ctl), in CLOCK_MONOTONIC ns
 * like CUPTI's (the timestamp callback is gp_now_ns).  Mode none keeps the gated path.
 */
#define WIN_GATED (-1) /* no capture mode: gp_rec_begin() */
#define WIN_DROP  (-2) /* outside every capture window */
/* win <= WIN_FROM(0): state for window k and every later one (GP_CUDA_WINDOW_FROM | k) */
#define WIN_FROM(k)	  (-16 - (int)(k))
#define WIN_FROM_INDEX(w) ((uint32_t)(-16 - (w)))

/* correlationId -> window + 1, direct-mapped by the low bits (ids increase) */
#define CORR_MAP_SIZE (1u << 16)
static _Atomic uint64_t corr_map[CORR_MAP_SIZE];

/* -c cudaProfilerApi: the correlationIds of window k are (corr_lo[k], corr_hi[k]]: the
 * ids of cuProfilerStart and cuProfilerStop (CUPTI numbers runtime and driver calls from
 * one process-wide counter); corr_hi = 0 while the window is open. */
static _Atomic uint32_t corr_lo[GP_CAPTURE_MAX_WINDOWS], corr_hi[GP_CAPTURE_MAX_WINDOWS];
static _Atomic int corr_nwin;

/* The window whose correlationId range holds corr, or -1. */
static int window_of_corr(uint32_t corr)
{
	for (int k = atomic_load(&corr_nwin); k-- > 0;) {
		uint32_t lo = atomic_load(&corr_lo[k]), hi = atomic_load(&corr_hi[k]);

		if (lo && corr > lo)
			return (!hi || corr < hi) ? k : -1;
	}
	return -1;
}

/* The window whose [start, stop] holds [t0, t1] (an open window has no stop), or -1. */
static int window_holding(uint64_t t0, uint64_t t1)
{
	uint32_t n = atomic_load_explicit(&gp_ctl->nwindows, memory_order_acquire);

	if (n > GP_CAPTURE_MAX_WINDOWS)
		n = GP_CAPTURE_MAX_WINDOWS;
	for (uint32_t k = n; k-- > 0;) {
		uint64_t start = atomic_load(&gp_ctl->win[k].start_ns);
		uint64_t stop;

		if (!start || t0 < start)
			continue;
		stop = atomic_load(&gp_ctl->win[k].stop_ns);
		return (!stop || t1 <= stop) ? (int)k : -1;
	}
	return -1;
}

/* The window of an event record (api: an API call or synchronisation), WIN_GATED or
 * WIN_DROP. */
static int event_window(int api, uint32_t corr, uint64_t t0, uint64_t t1)
{
	uint64_t e;
	int k;

	if (gp_capture_mode() == GP_CAPTURE_NONE)
		return WIN_GATED;
	if (api && corr && gp_capture_mode() == GP_CAPTURE_CUDA) {
		/* the cuProfilerStart call that opened window k is in k's report, as in nsys */
		for (k = atomic_load(&corr_nwin); k-- > 0;)
			if (atomic_load(&corr_lo[k]) == corr)
				return k;
	}
	if (!api && corr) {
		e = atomic_load_explicit(&corr_map[corr & (CORR_MAP_SIZE - 1)],
					 memory_order_relaxed);
		if (e && (uint32_t)(e >> 32) == corr)
			return (int)(uint32_t)e - 1;
		/* a launch whose API record CUPTI has not delivered yet */
		if (gp_capture_mode() == GP_CAPTURE_CUDA && (k = window_of_corr(corr)) >= 0)
			return k;
	}
	k = window_holding(t0, t1);
	if (k < 0)
		return WIN_DROP;
	if (api && corr)
		atomic_store_explicit(&corr_map[corr & (CORR_MAP_SIZE - 1)],
				      ((uint64_t)corr << 32) | (uint32_t)(k + 1),
				      memory_order_relaxed);
	return k;
}

/* Reserve an event record: gated (mode none) or ungated with a window tag after it. */
static void *event_begin(uint16_t code, size_t size, int win)
{
	char *p;

	if (win == WIN_GATED)
		p = gp_rec_begin(code, size);
	else
		p = gp_rec_begin_ungated(code, size + sizeof(struct gp_cuda_window_tag));
	if (!p)
		return NULL;
	memset(p + sizeof(struct gp_rec_hdr), 0, size - sizeof(struct gp_rec_hdr));
	if (win != WIN_GATED) {
		struct gp_cuda_window_tag t = {
		    win <= WIN_FROM(0) ? GP_CUDA_WINDOW_FROM | WIN_FROM_INDEX(win) : (uint32_t)win,
		    GP_CUDA_WINDOW_MAGIC};
		memcpy(p + size, &t, sizeof(t));
	}
	return p;
}

#define BEGIN_EV(var, type, code, api, corr, t0, t1)                                               \
	int win_ = event_window(api, corr, t0, t1);                                                \
	if (win_ == WIN_DROP)                                                                      \
		return;                                                                            \
	struct type *var = event_begin(code, sizeof(struct type), win_);                           \
	if (!var)                                                                                  \
	return

static void conv_api(const CUpti_ActivityAPI *a, int driver)
{
	uint32_t sid;

	if (!a->start || !a->end)
		return;
	sid = api_name_sid(driver, a->cbid);
	BEGIN_EV(r, gp_rec_cuda_api, GP_REC_CUDA_API, 1, a->correlationId, a->start, a->end);
	r->h.tid = a->threadId;
	r->start_ns = a->start;
	r->end_ns = a->end;
	r->correlation_id = a->correlationId;
	r->name_sid = sid;
	r->return_value = (int32_t)a->returnValue;
	r->event_class = driver ? GP_CUDA_API_DRIVER : GP_CUDA_API_RUNTIME;
	r->cbid = (uint16_t)a->cbid;
	gp_rec_commit(r);
}

static void conv_kernel(const CUpti_ActivityKernel10 *k)
{
	uint32_t sid;

	if (!k->start || !k->end) {
		atomic_fetch_add(&zero_ts, 1);
		return;
	}
	sid = kernel_name_sid(k->name);
	BEGIN_EV(r, gp_rec_cuda_kernel, GP_REC_CUDA_KERNEL, 0, k->correlationId, k->start, k->end);
	r->h.tid = 0;
	r->start_ns = k->start;
	r->end_ns = k->end;
	r->grid_id = k->gridId;
	r->graph_node_id = k->graphNodeId;
	r->local_memory_total =
	    k->localMemoryTotal_v2 ? k->localMemoryTotal_v2 : k->localMemoryTotal;
	r->device_id = k->deviceId;
	r->context_id = k->contextId;
	r->stream_id = k->streamId;
	r->correlation_id = k->correlationId;
	r->name_sid = sid;
	r->graph_id = k->graphId;
	r->grid_x = k->gridX;
	r->grid_y = k->gridY;
	r->grid_z = k->gridZ;
	r->block_x = k->blockX;
	r->block_y = k->blockY;
	r->block_z = k->blockZ;
	r->static_shared_memory = k->staticSharedMemory;
	r->dynamic_shared_memory = k->dynamicSharedMemory;
	r->local_memory_per_thread = k->localMemoryPerThread;
	r->shared_memory_executed = k->sharedMemoryExecuted;
	r->registers_per_thread = k->registersPerThread;
	r->launch_type = k->launchType;
	r->cache_config = k->cacheConfig.both;
	r->shmem_limit_config = (uint8_t)k->shmemLimitConfig;
	r->is_device_launched = k->isDeviceLaunched;
	gp_rec_commit(r);
}

static void conv_memcpy(const CUpti_ActivityMemcpy6 *m)
{
	if (!m->start || !m->end) {
		atomic_fetch_add(&zero_ts, 1);
		return;
	}
	BEGIN_EV(r, gp_rec_cuda_memcpy, GP_REC_CUDA_MEMCPY, 0, m->correlationId, m->start, m->end);
	r->h.tid = 0;
	r->start_ns = m->start;
	r->end_ns = m->end;
	r->bytes = m->bytes;
	r->graph_node_id = m->graphNodeId;
	r->copy_count = m->copyCount ? m->copyCount : 1;
	r->device_id = m->deviceId;
	r->context_id = m->contextId;
	r->stream_id = m->streamId;
	r->correlation_id = m->correlationId;
	r->graph_id = m->graphId;
	r->copy_kind = m->copyKind;
	r->src_kind = m->srcKind;
	r->dst_kind = m->dstKind;
	r->flags = (m->flags & CUPTI_ACTIVITY_FLAG_MEMCPY_ASYNC) ? GP_CUDA_MEMCPY_ASYNC : 0;
	gp_rec_commit(r);
}

static void conv_ptop(const CUpti_ActivityMemcpyPtoP4 *m)
{
	if (!m->start || !m->end) {
		atomic_fetch_add(&zero_ts, 1);
		return;
	}
	BEGIN_EV(r, gp_rec_cuda_memcpy, GP_REC_CUDA_MEMCPY, 0, m->correlationId, m->start, m->end);
	r->h.tid = 0;
	r->start_ns = m->start;
	r->end_ns = m->end;
	r->bytes = m->bytes;
	r->graph_node_id = m->graphNodeId;
	r->copy_count = 1;
	r->device_id = m->deviceId;
	r->context_id = m->contextId;
	r->stream_id = m->streamId;
	r->correlation_id = m->correlationId;
	r->src_device_id = m->srcDeviceId;
	r->src_context_id = m->srcContextId;
	r->dst_device_id = m->dstDeviceId;
	r->dst_context_id = m->dstContextId;
	r->graph_id = m->graphId;
	r->copy_kind = m->copyKind;
	r->src_kind = m->srcKind;
	r->dst_kind = m->dstKind;
	r->flags = GP_CUDA_MEMCPY_PTOP |
		   ((m->flags & CUPTI_ACTIVITY_FLAG_MEMCPY_ASYNC) ? GP_CUDA_MEMCPY_ASYNC : 0);
	gp_rec_commit(r);
}

static void conv_memset(const CUpti_ActivityMemset4 *m)
{
	if (!m->start || !m->end) {
		atomic_fetch_add(&zero_ts, 1);
		return;
	}
	BEGIN_EV(r, gp_rec_cuda_memset, GP_REC_CUDA_MEMSET, 0, m->correlationId, m->start, m->end);
	r->h.tid = 0;
	r->start_ns = m->start;
	r->end_ns = m->end;
	r->bytes = m->bytes;
	r->graph_node_id = m->graphNodeId;
	r->device_id = m->deviceId;
	r->context_id = m->contextId;
	r->stream_id = m->streamId;
	r->correlation_id = m->correlationId;
	r->value = m->value;
	r->memory_kind = m->memoryKind;
	r->flags = m->flags;
	gp_rec_commit(r);
}

static void conv_sync(const CUpti_ActivitySynchronization2 *s)
{
	if (!s->start || !s->end) {
		atomic_fetch_add(&zero_ts, 1);
		return;
	}
	BEGIN_EV(r, gp_rec_cuda_sync, GP_REC_CUDA_SYNC, 1, s->correlationId, s->start, s->end);
	r->h.tid = 0;
	r->start_ns = s->start;
	r->end_ns = s->end;
	r->cuda_event_sync_id = s->cudaEventSyncId;
	r->device_id = ctx_device(s->contextId);
	r->context_id = s->contextId;
	r->stream_id = s->streamId;
	r->correlation_id = s->correlationId;
	r->cuda_event_id = s->cudaEventId;
	r->type = s->type;
	gp_rec_commit(r);
}

/* cudaEventRecord (CUPTI_ACTIVITY_KIND_CUDA_EVENT): no host time; the window is its API
 * call's (correlationId), as for GPU work. */
static void conv_cuda_event(const CUpti_ActivityCudaEvent2 *e)
{
	BEGIN_EV(r, gp_rec_cuda_event, GP_REC_CUDA_EVENT, 0, e->correlationId, e->deviceTimestamp,
		 e->deviceTimestamp);
	r->h.tid = 0;
	r->device_ts_ns = e->deviceTimestamp;
	r->cuda_event_sync_id = e->cudaEventSyncId;
	r->device_id = e->deviceId;
	r->context_id = e->contextId;
	r->stream_id = e->streamId;
	r->correlation_id = e->correlationId;
	r->event_id = e->eventId;
	gp_rec_commit(r);
}

/*
 * GPU memory live at a range start (--cuda-memory-usage under -c): nsys writes into each
 * range's report the allocation events of the memory still allocated when the range
 * starts, with their own times, then the range's own events (engine matrix,
 * bench/RESULTS-gpu.md).  The collector keeps the allocation records of live memory
 * (address and device -> the wire record), updated by every memory record in or out of
 * the ranges, and sends a copy of each, tagged with the window, at the range start
 * (live_snapshot(), after a flush so that allocations made just before are in).  The
 * table grows by doubling; allocations it cannot hold are counted as CUPTI losses.
 */
static void cuda_flush(int forced);

struct live_alloc {
	uint64_t key; /* address ^ device << 56; 0 = empty, LIVE_TOMB = deleted */
	struct gp_rec_cuda_memory rec;
};
#define LIVE_TOMB UINT64_MAX
static pthread_mutex_t live_mu = PTHREAD_MUTEX_INITIALIZER;
static struct live_alloc *live;
static size_t live_cap, live_used; /* slots, slots not empty (live + tombstones) */
static int live_snapped = -1;	   /* the last window that got its snapshot */

static uint64_t live_key(const struct gp_rec_cuda_memory *r)
{
	uint64_t k = r->address ^ ((uint64_t)r->device_id << 56);

	return k == 0 || k == LIVE_TOMB ? 1 : k;
}

static struct live_alloc *live_slot(uint64_t key, int insert)
{
	size_t i = (size_t)(key * 0x9E3779B97F4A7C15ull) & (live_cap - 1);
	struct live_alloc *tomb = NULL;

	for (size_t n = 0; n < live_cap; n++, i = (i + 1) & (live_cap - 1)) {
		if (live[i].key == key)
			return &live[i];
		if (live[i].key == LIVE_TOMB && !tomb)
			tomb = &live[i];
		if (live[i].key == 0)
			return insert ? (tomb ? tomb : &live[i]) : NULL;
	}
	return insert ? tomb : NULL;
}

/* Keep the live set in step with one memory record (live_mu held by the caller). */
static void live_update(const struct gp_rec_cuda_memory *r)
{
	uint64_t key = live_key(r);
	struct live_alloc *a;

	if (r->operation_type != CUPTI_ACTIVITY_MEMORY_OPERATION_TYPE_ALLOCATION) {
		if (live_cap && (a = live_slot(key, 0)))
			a->key = LIVE_TOMB;
		return;
	}
	if ((live_used + 1) * 2 > live_cap) { /* rehash into twice the room (or start) */
		size_t ocap = live_cap, ncap = live_cap ? live_cap * 2 : 1024;
		struct live_alloc *old = live, *n = gp_map_anon(ncap * sizeof(*n), 0);
		if (!n) {
			gp_count_cupti_loss(1, 0);
			return;
		}
		live = n;
		live_cap = ncap;
		live_used = 0;
		for (size_t i = 0; i < ocap; i++)
			if (old[i].key && old[i].key != LIVE_TOMB) {
				*live_slot(old[i].key, 1) = old[i];
				live_used++;
			}
		if (old)
			munmap(old, ocap * sizeof(*old));
	}
	a = live_slot(key, 1);
	if (a->key == 0)
		live_used++;
	a->key = key;
	a->rec = *r;
}

/* A range (window k) started: send the allocation records of the memory live now into
 * its report, once per window. */
static void live_snapshot(int k)
{
	if (!opt_memory || k < 0 || gp_capture_mode() == GP_CAPTURE_NONE)
		return;
	cuda_flush(0); /* allocations made just before the start */
	pthread_mutex_lock(&live_mu);
	if (k > live_snapped) {
		live_snapped = k;
		for (size_t i = 0; i < live_cap; i++) {
			struct gp_rec_cuda_memory *r;
			if (!live[i].key || live[i].key == LIVE_TOMB ||
			    live[i].rec.ts_ns >= atomic_load(&gp_ctl->win[k].start_ns))
				continue;
			r = event_begin(GP_REC_CUDA_MEMORY, sizeof(*r), k);
			if (!r)
				break;
			memcpy((char *)r + sizeof(r->h), (const char *)&live[i].rec + sizeof(r->h),
			       sizeof(*r) - sizeof(r->h));
			r->h.tid = 0;
			/* the live set as of the range start: stamped with it, as nsys does */
			r->ts_ns = atomic_load(&gp_ctl->win[k].start_ns);
			gp_rec_commit(r);
		}
	}
	pthread_mutex_unlock(&live_mu);
}

static void conv_memory(const CUpti_ActivityMemory4 *m)
{
	uint32_t name = m->name ? gp_intern(m->name) : 0;
	struct gp_rec_cuda_memory v;
	int win = event_window(0, m->correlationId, m->timestamp, m->timestamp);

	memset(&v, 0, sizeof(v));
	v.ts_ns = m->timestamp;
	v.address = m->address;
	v.bytes = m->bytes;
	v.pc = m->PC;
	v.pool_address = m->memoryPoolConfig.address;
	v.pool_release_threshold = m->memoryPoolConfig.releaseThreshold;
	v.pool_size = m->memoryPoolConfig.pool.size;
	v.pool_utilized_size = m->memoryPoolConfig.utilizedSize;
	v.device_id = m->deviceId;
	v.context_id = m->contextId;
	v.stream_id = m->streamId;
	v.correlation_id = m->correlationId;
	v.name_sid = name;
	v.operation_type = (uint8_t)m->memoryOperationType;
	v.memory_kind = (uint8_t)m->memoryKind;
	v.pool_type = (uint8_t)m->memoryPoolConfig.memoryPoolType;
	v.is_async = (uint8_t)m->isAsync;
	if (win != WIN_GATED) {
		pthread_mutex_lock(&live_mu);
		live_update(&v);
		pthread_mutex_unlock(&live_mu);
	}
	if (win == WIN_DROP)
		return;
	struct gp_rec_cuda_memory *r = event_begin(GP_REC_CUDA_MEMORY, sizeof(*r), win);
	if (!r)
		return;
	memcpy((char *)r + sizeof(r->h), (const char *)&v + sizeof(v.h), sizeof(v) - sizeof(v.h));
	r->h.tid = 0;
	gp_rec_commit(r);
}

static void conv_graph(const CUpti_ActivityGraphTrace2 *g)
{
	if (!g->start || !g->end) {
		atomic_fetch_add(&zero_ts, 1);
		return;
	}
	BEGIN_EV(r, gp_rec_cuda_graph_trace, GP_REC_CUDA_GRAPH_TRACE, 0, g->correlationId, g->start,
		 g->end);
	r->h.tid = 0;
	r->start_ns = g->start;
	r->end_ns = g->end;
	r->device_id = g->deviceId;
	r->context_id = g->contextId;
	r->stream_id = g->streamId;
	r->correlation_id = g->correlationId;
	r->graph_id = g->graphId;
	r->end_device_id = g->endDeviceId;
	gp_rec_commit(r);
}

/* A graph / graph exec / graph node creation or clone (resource callback on the thread
 * that made the API call), as nsys records them: CUDA_GRAPH_EVENTS with
 * cuda-graph-trace=graph, CUDA_GRAPH_NODE_EVENTS with =node (wire_cuda.h). */
/* Does nsys write this creation event with the cuda-graph-trace mode in force? */
static int graph_event_wanted(CUpti_CallbackId cbid)
{
	int node = cbid == CUPTI_CBID_RESOURCE_GRAPHNODE_CREATED ||
		   cbid == CUPTI_CBID_RESOURCE_GRAPHNODE_CLONED;

	return node == !!opt_graph_node;
}

static void graph_event(CUpti_CallbackId cbid, const CUpti_GraphData *g)
{
	uint64_t ts = gp_now_ns(), node = 0, onode = 0;
	uint32_t graph = 0, ograph = 0, exec = 0;
	uint16_t cls;

	if (!g || !p_cuptiGetGraphId || !p_cuptiGetGraphNodeId || !p_cuptiGetGraphExecId ||
	    !graph_event_wanted(cbid) || (gp_capture_mode() == GP_CAPTURE_NONE && !gp_collecting()))
		return;
	switch (cbid) {
	case CUPTI_CBID_RESOURCE_GRAPH_CREATED:
		cls = GP_CUDA_GRAPH_CREATION;
		break;
	case CUPTI_CBID_RESOURCE_GRAPH_CLONED:
		cls = GP_CUDA_GRAPH_CLONE;
		if (g->originalGraph)
			p_cuptiGetGraphId(g->originalGraph, &ograph);
		break;
	case CUPTI_CBID_RESOURCE_GRAPHEXEC_CREATED:
		cls = GP_CUDA_GRAPHEXEC_CREATION;
		if (g->graphExec)
			p_cuptiGetGraphExecId(g->graphExec, &exec);
		break;
	case CUPTI_CBID_RESOURCE_GRAPHNODE_CREATED:
	case CUPTI_CBID_RESOURCE_GRAPHNODE_CLONED:
		cls = GP_CUDA_GRAPH_NODE_CREATION;
		if (!g->node || p_cuptiGetGraphNodeId(g->node, &node) != CUPTI_SUCCESS)
			return;
		if (g->originalNode)
			p_cuptiGetGraphNodeId(g->originalNode, &onode);
		break;
	default:
		return;
	}
	if (g->graph)
		p_cuptiGetGraphId(g->graph, &graph);
	/* nsys writes a graph's creation into the report of the range it was made in (or the
	 * next one, when made between ranges) and of every later range: launches there refer
	 * to it.  In a session `done` only says that no start has armed a window now: a
	 * graph made then is in the report of every window a later start arms */
	int win = WIN_GATED;
	if (gp_capture_mode() != GP_CAPTURE_NONE) {
		uint32_t next = atomic_load_explicit(&gp_ctl->nwindows, memory_order_acquire);
		int open = window_holding(ts, ts);

		if ((atomic_load(&gp_ctl->done) && !gp_ctl->session) ||
		    (open < 0 && next >= GP_CAPTURE_MAX_WINDOWS))
			return;
		win = WIN_FROM(open >= 0 ? (uint32_t)open : next);
	}
	struct gp_rec_cuda_graph_event *r =
	    event_begin(GP_REC_CUDA_GRAPH_EVENT, sizeof(struct gp_rec_cuda_graph_event), win);
	if (!r)
		return;
	r->h.tid = gp_tid();
	r->ts_ns = ts;
	r->graph_node_id = node;
	r->original_graph_node_id = onode;
	r->graph_id = graph;
	r->original_graph_id = ograph;
	r->graph_exec_id = exec;
	r->event_class = cls;
	gp_rec_commit(r);
}

static void conv_device(const CUpti_ActivityDevice5 *d)
{
	const struct dev_info *di = d->id < MAX_DEVICES ? &devices[d->id] : NULL;
	uint32_t name, chip;

	if (d->id < 64 && (atomic_fetch_or(&devices_sent, 1ull << d->id) & (1ull << d->id)))
		return;
	name = gp_intern(d->name ? d->name : "unknown");
	chip = di && di->valid && di->chip ? gp_intern(di->chip) : 0;
	BEGIN(r, gp_rec_cuda_device, GP_REC_CUDA_DEVICE);
	r->h.tid = 0;
	r->global_memory_bandwidth = d->globalMemoryBandwidth;
	r->global_memory_size = d->globalMemorySize;
	r->id = d->id;
	r->name_sid = name;
	r->chip_sid = chip;
	r->constant_memory_size = d->constantMemorySize;
	r->l2_cache_size = d->l2CacheSize;
	r->threads_per_warp = d->numThreadsPerWarp;
	r->core_clock_rate = d->coreClockRate;
	r->num_memcpy_engines = d->numMemcpyEngines;
	r->num_multiprocessors = d->numMultiprocessors;
	r->max_ipc = d->maxIPC;
	r->max_warps_per_mp = d->maxWarpsPerMultiprocessor;
	r->max_blocks_per_mp = d->maxBlocksPerMultiprocessor;
	r->max_shared_memory_per_mp = d->maxSharedMemoryPerMultiprocessor;
	r->max_registers_per_mp = d->maxRegistersPerMultiprocessor;
	r->max_registers_per_block = d->maxRegistersPerBlock;
	r->max_shared_memory_per_block = d->maxSharedMemoryPerBlock;
	r->max_threads_per_block = d->maxThreadsPerBlock;
	r->max_block_dim[0] = d->maxBlockDimX;
	r->max_block_dim[1] = d->maxBlockDimY;
	r->max_block_dim[2] = d->maxBlockDimZ;
	r->max_grid_dim[0] = d->maxGridDimX;
	r->max_grid_dim[1] = d->maxGridDimY;
	r->max_grid_dim[2] = d->maxGridDimZ;
	r->cc_major = d->computeCapabilityMajor;
	r->cc_minor = d->computeCapabilityMinor;
	if (di && di->valid) {
		r->pci_domain = (uint32_t)di->pci_domain;
		r->pci_bus = (uint32_t)di->pci_bus;
		r->pci_device = (uint32_t)di->pci_device;
		r->max_shared_memory_per_block_optin = (uint32_t)di->shmem_optin;
	} else {
		r->pci_domain = r->pci_bus = r->pci_device = UINT32_MAX;
	}
	memcpy(r->uuid, d->uuid.bytes, 16);
	gp_rec_commit(r);
}

static void conv_context(const CUpti_ActivityContext3 *c)
{
	ctx_remember(c->contextId, c->deviceId);
	BEGIN(r, gp_rec_cuda_context, GP_REC_CUDA_CONTEXT);
	r->h.tid = 0;
	r->context_id = c->contextId;
	r->device_id = c->deviceId;
	r->parent_context_id = c->parentContextId;
	r->null_stream_id = c->nullStreamId;
	r->is_green_context = c->isGreenContext;
	gp_rec_commit(r);
}

static void conv_stream(const CUpti_ActivityStream *s)
{
	BEGIN(r, gp_rec_cuda_stream, GP_REC_CUDA_STREAM);
	r->h.tid = 0;
	r->stream_id = s->streamId;
	r->context_id = s->contextId;
	r->priority = s->priority;
	r->flag = (uint32_t)s->flag;
	gp_rec_commit(r);
}

static void CUPTIAPI buf_complete(CUcontext ctx, uint32_t stream, uint8_t *buffer, size_t size,
				  size_t valid)
{
	CUpti_Activity *rec = NULL;
	unsigned long z;

	(void)ctx;
	(void)stream;
	(void)size;
	if (!buffer)
		return;
	if (forked_child || getpid() != init_pid) /* never in a forked child, but be sure */
		return;
	/* under a capture mode, API records first: GPU work finds its launch's window */
	int two_pass = gp_capture_mode() != GP_CAPTURE_NONE;
	for (int pass = two_pass ? 0 : 1; pass < 2; pass++) {
		rec = NULL;
		while (valid &&
		       p_cuptiActivityGetNextRecord(buffer, valid, &rec) == CUPTI_SUCCESS) {
			int api = rec->kind == CUPTI_ACTIVITY_KIND_RUNTIME ||
				  rec->kind == CUPTI_ACTIVITY_KIND_DRIVER;
			if (two_pass && api != (pass == 0))
				continue;
			switch (rec->kind) {
			case CUPTI_ACTIVITY_KIND_RUNTIME:
				conv_api((const CUpti_ActivityAPI *)rec, 0);
				break;
			case CUPTI_ACTIVITY_KIND_DRIVER:
				conv_api((const CUpti_ActivityAPI *)rec, 1);
				break;
			case CUPTI_ACTIVITY_KIND_KERNEL:
			case CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL:
				conv_kernel((const CUpti_ActivityKernel10 *)rec);
				break;
			case CUPTI_ACTIVITY_KIND_MEMCPY:
				conv_memcpy((const CUpti_ActivityMemcpy6 *)rec);
				break;
			case CUPTI_ACTIVITY_KIND_MEMCPY2:
				conv_ptop((const CUpti_ActivityMemcpyPtoP4 *)rec);
				break;
			case CUPTI_ACTIVITY_KIND_MEMSET:
				conv_memset((const CUpti_ActivityMemset4 *)rec);
				break;
			case CUPTI_ACTIVITY_KIND_SYNCHRONIZATION:
				conv_sync((const CUpti_ActivitySynchronization2 *)rec);
				break;
			case CUPTI_ACTIVITY_KIND_CUDA_EVENT:
				conv_cuda_event((const CUpti_ActivityCudaEvent2 *)rec);
				break;
			case CUPTI_ACTIVITY_KIND_MEMORY2:
				conv_memory((const CUpti_ActivityMemory4 *)rec);
				break;
			case CUPTI_ACTIVITY_KIND_GRAPH_TRACE:
				conv_graph((const CUpti_ActivityGraphTrace2 *)rec);
				break;
			case CUPTI_ACTIVITY_KIND_DEVICE:
				conv_device((const CUpti_ActivityDevice5 *)rec);
				break;
			case CUPTI_ACTIVITY_KIND_CONTEXT:
				conv_context((const CUpti_ActivityContext3 *)rec);
				break;
			case CUPTI_ACTIVITY_KIND_STREAM:
				conv_stream((const CUpti_ActivityStream *)rec);
				break;
			default:
				break;
			}
		}
	}
	z = atomic_exchange(&zero_ts, 0);
	if (z)
		gp_count_cupti_loss(0, z);
	pool_release(buffer, valid);
}

/* ---- flush / teardown -------------------------------------------------------------- */

static void cuda_flush(int forced)
{
	if (!active || forked_child || getpid() != init_pid)
		return;
	p_cuptiActivityFlushAll(forced ? CUPTI_ACTIVITY_FLAG_FLUSH_FORCED : 0);
}

/* gp_at_flush_request() hook: a capture range ended (possibly with a shutdown to follow):
 * hand every completed CUPTI buffer to the producer now, so the range's GPU records are
 * sent with the flush and its ack. */
static void cuda_flush_request(void)
{
	cuda_flush(0);
}

/* Final flush: at exit (atexit, LIFO before CUPTI's handlers) or the producer's shutdown. */
static void cuda_teardown(void)
{
	size_t dropped = 0;

	if (!active || forked_child || getpid() != init_pid)
		return;
	if (atomic_exchange(&torn_down, 1))
		return;
	p_cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
	gp_range_stop();
	gp_metrics_stop();
	if (p_cuptiActivityGetNumDroppedRecords(NULL, 0, &dropped) == CUPTI_SUCCESS && dropped)
		gp_count_cupti_loss(dropped, 0);
	gp_flush_all();
}

static void cuda_shutdown(int in_signal)
{
	if (!in_signal) /* CUPTI is not async-signal-safe */
		cuda_teardown();
}

static void at_fork_child(void)
{
	forked_child = 1;
}

/* ---- --cudabacktrace --------------------------------------------------------------- */

/*
 * The class of an API function by its name, the way nsys's values read (nsys does not list
 * its sets): kernel = launches (cudaLaunch*, cuLaunch*, cudaGraphLaunch, cuGraphLaunch; not
 * the host-function launches); memory = copies, sets, allocations and frees (names with
 * Memcpy, Memset, Malloc, MemAlloc, HostAlloc, Free, MemPrefetch, MemAdvise); sync = waits
 * (Synchronize, WaitEvent); other = every other call.
 */
static enum bt_class bt_classify(const char *name)
{
	static const char *const memory[] = {"Memcpy",	  "Memset",	 "Malloc",    "MemAlloc",
					     "HostAlloc", "MemPrefetch", "MemAdvise", "Free"};

	if (!name)
		return BT_OTHER;
	if ((!strncmp(name, "cudaLaunch", 10) || !strncmp(name, "cuLaunch", 8) ||
	     strstr(name, "GraphLaunch")) &&
	    !strstr(name, "HostFunc"))
		return BT_KERNEL;
	for (size_t i = 0; i < sizeof(memory) / sizeof(memory[0]); i++)
		if (strstr(name, memory[i]))
			return BT_MEMORY;
	if (strstr(name, "Synchronize") || strstr(name, "WaitEvent"))
		return BT_SYNC;
	return BT_OTHER;
}

/* [runtime/driver][cbid] -> the call's bt_class + 1; BT_NOISE: never (the noise filter
 * leaves the call out of the report: no row to join); 0: not classified yet */
#define BT_NOISE 0xff
static _Atomic unsigned char bt_cls[2][MAX_CBID];
static const void *bt_skip[2];	      /* load addresses of this library and of libcupti */
static __thread int bt_runtime_depth; /* runtime calls this thread is inside of */

/* Set-up (before the domains' callbacks are enabled): the noise filter's calls are never
 * backtraced, the modules to leave out are known, and libgcc's unwinder is loaded now, not
 * inside the application's first slow call. */
static void cudabt_init(void)
{
	Dl_info di;
	struct gp_osrt_frame f[2];

	if (!opt_all_apis) {
		for (size_t j = 0;
		     j < sizeof(gp_cuda_noisy_runtime) / sizeof(gp_cuda_noisy_runtime[0]); j++)
			if (gp_cuda_noisy_runtime[j] < MAX_CBID)
				atomic_store(&bt_cls[0][gp_cuda_noisy_runtime[j]], BT_NOISE);
		for (size_t j = 0;
		     j < sizeof(gp_cuda_noisy_driver) / sizeof(gp_cuda_noisy_driver[0]); j++)
			if (gp_cuda_noisy_driver[j] < MAX_CBID)
				atomic_store(&bt_cls[1][gp_cuda_noisy_driver[j]], BT_NOISE);
	}
	if (dladdr((void *)cudabt_init, &di))
		bt_skip[0] = di.dli_fbase;
	if (dladdr(*(void **)&p_cuptiSubscribe_v2, &di))
		bt_skip[1] = di.dli_fbase;
	gp_backtrace(f, 2, bt_skip, 2);
}

/* --python-backtrace=cuda: the process's CPython, found at its first backtrace (a Python
 * program has its interpreter loaded before any CUDA call): _PyRuntime and the layout of
 * its version (core/wire_python.h); py_state GP_CUDA_PY_OFF when the process runs none.
 * py_named: the frames named so far (the texts interned), by their py_code_ref: a loop's
 * launches name their frames once, and each later backtrace costs two reads per frame
 * (the frame, its code object) instead of the texts' and the line table's. */
#define PY_NAMED 1024 /* entries, direct-mapped */
struct py_named {
	struct py_code_ref ref;
	uint32_t name_sid, file_sid;
	int32_t line;
	int valid;
};
static pthread_once_t py_once = PTHREAD_ONCE_INIT;
static uint64_t py_runtime;
static const struct py_offsets *py_layout;
static enum gp_cuda_py_state py_state = GP_CUDA_PY_OFF;
static struct py_named *py_named; /* PY_NAMED entries, under py_named_mu (held for a whole
				     backtrace: one lock per backtrace, not per frame) */
static pthread_mutex_t py_named_mu = PTHREAD_MUTEX_INITIALIZER;

static void py_find(void)
{
	void *rt = dlsym(RTLD_DEFAULT, "_PyRuntime");
	void *ver = dlsym(RTLD_DEFAULT, "Py_Version");
	Dl_info di;
	unsigned long hex;

	if (!rt)
		return;
	py_runtime = (uint64_t)(uintptr_t)rt;
	py_layout =
	    py_offsets_of_process(getpid(), (uint64_t)(uintptr_t)ver,
				  dladdr(rt, &di) && di.dli_fname ? di.dli_fname : "", &hex);
	py_named = py_layout ? calloc(PY_NAMED, sizeof(*py_named)) : NULL;
	py_state = py_named ? GP_CUDA_PY_OK : py_layout ? GP_CUDA_PY_UNREAD : GP_CUDA_PY_VERSION;
}

/* The wire frame of `ref`: from py_named, else read (py_describe()), interned and kept.
 * The caller holds py_named_mu (a miss reads the process's memory under it: rare, a
 * frame's first backtrace). */
static void py_name(const struct py_frame_ref *fr, struct gp_cuda_py_frame *out)
{
	const struct py_code_ref *ref = &fr->ref;
	struct py_named *e =
	    &py_named[((ref->code >> 4) ^ (uint64_t)ref->addr * 0x9e3779b1u) & (PY_NAMED - 1)];
	struct py_frame f;

	out->flags = fr->is_entry ? GP_CUDA_PY_ENTRY : 0;
	if (!e->valid || memcmp(&e->ref, ref, sizeof(*ref))) {
		py_describe(getpid(), py_layout, ref, &f);
		e->ref = *ref;
		e->name_sid = gp_intern(f.name);
		e->file_sid = gp_intern(f.file);
		e->line = f.line;
		e->valid = 1;
	}
	out->name_sid = e->name_sid;
	out->file_sid = e->file_sid;
	out->line = e->line;
}

/* The calling thread's Python frames into out[GP_CUDA_PY_FRAMES_MAX] as wire frames; their
 * number, 0 when none or not read, *state how it went.  Its own memory is read with
 * process_vm_readv(2) (core/wire_python.h): an address gone fails the read, not the
 * application. */
static int cudabt_python(struct gp_cuda_py_frame *out, enum gp_cuda_py_state *state)
{
	struct py_frame_ref fr[GP_CUDA_PY_FRAMES_MAX];
	int n;

	pthread_once(&py_once, py_find);
	*state = py_state;
	if (py_state != GP_CUDA_PY_OK)
		return 0;
	n = py_walk(getpid(), py_layout, py_runtime, (pid_t)gp_tid(), NULL, fr,
		    GP_CUDA_PY_FRAMES_MAX);
	if (n < 0) {
		*state = GP_CUDA_PY_UNREAD;
		return 0;
	}
	pthread_mutex_lock(&py_named_mu);
	for (int i = 0; i < n; i++)
		py_name(&fr[i], &out[i]);
	pthread_mutex_unlock(&py_named_mu);
	return n;
}

/* The backtrace of the API call `cd` that has just ended (its thread, its stack), with
 * --python-backtrace=cuda the thread's Python frames: sent as a GP_REC_CUDA_CALLCHAIN for
 * window `win` (event_window()). */
static __attribute__((noinline, cold)) void cudabt_take(const CUpti_CallbackData *cd, int win)
{
	struct gp_osrt_frame fr[GP_CUDA_FRAMES_MAX];
	struct gp_cuda_py_frame py[GP_CUDA_PY_FRAMES_MAX];
	enum gp_cuda_py_state pst = GP_CUDA_PY_OFF;
	int k = gp_backtrace(fr, GP_CUDA_FRAMES_MAX, bt_skip, 2);
	int np = opt_pybt ? cudabt_python(py, &pst) : 0;
	size_t size = sizeof(struct gp_rec_cuda_callchain) + (size_t)k * sizeof(fr[0]) +
		      (size_t)np * sizeof(py[0]);
	struct gp_rec_cuda_callchain *r = event_begin(GP_REC_CUDA_CALLCHAIN, size, win);

	if (!r)
		return;
	r->h.tid = gp_tid();
	r->correlation_id = cd->correlationId;
	r->api_sid = cd->functionName ? gp_intern(cd->functionName) : 0;
	r->nframes = (uint32_t)k;
	r->npy = (uint16_t)np;
	r->py_state = (uint16_t)pst;
	memcpy(r->frames, fr, (size_t)k * sizeof(fr[0]));
	memcpy((char *)(r->frames + k), py, (size_t)np * sizeof(py[0]));
	gp_rec_commit(r);
}

/*
 * CUPTI's API callbacks with --cudabacktrace (both API domains enabled).  Entry: the time,
 * in the call's correlationData (CUPTI keeps it from entry to exit).  Exit: the stack is
 * still the caller's, and the call's length is known, so a call under its class's threshold
 * costs two clock reads and nothing more; one at or over it gets its backtrace
 * (cudabt_take()), frames of this library and of libcupti left out; the recorder drops
 * those above the API function (libcuda's, the runtime's internals), which becomes frame 0.
 * Driver calls made inside a runtime call (by the runtime) get none: their row, if CUPTI
 * writes one, is not the application's call.
 */
static void cudabt_callback(CUpti_CallbackDomain domain, CUpti_CallbackId cbid,
			    const CUpti_CallbackData *cd)
{
	int driver = domain == CUPTI_CB_DOMAIN_DRIVER_API;
	uint64_t t0, now;
	unsigned c;
	int win;

	if (cd->callbackSite == CUPTI_API_ENTER) {
		if (!driver)
			bt_runtime_depth++;
		else if (bt_runtime_depth > 0)
			return;
		if (cd->correlationData)
			*cd->correlationData = gp_now_ns();
		return;
	}
	if (!driver) {
		if (bt_runtime_depth > 0)
			bt_runtime_depth--;
	} else if (bt_runtime_depth > 0) {
		return;
	}
	if (cbid >= MAX_CBID || !cd->correlationData || !(t0 = *cd->correlationData))
		return;
	c = atomic_load_explicit(&bt_cls[driver][cbid], memory_order_relaxed);
	if (!c) {
		c = (unsigned)bt_classify(cd->functionName) + 1;
		atomic_store_explicit(&bt_cls[driver][cbid], (unsigned char)c,
				      memory_order_relaxed);
	}
	if (c == BT_NOISE || bt_thr[c - 1] == UINT64_MAX)
		return;
	now = gp_now_ns();
	if (now < t0 || now - t0 < bt_thr[c - 1])
		return;
	win = event_window(1, cd->correlationId, t0, now);
	if (win != WIN_DROP)
		cudabt_take(cd, win);
}

/* ---- callbacks --------------------------------------------------------------------- */

static void graph_created(void);

/* After cuInit: PCI locations and chip names of the devices (driver calls are fine here). */
static void query_devices(void)
{
	int n = 0;

	if (!p_cuDeviceGetCount || p_cuDeviceGetCount(&n) != CUDA_SUCCESS)
		return;
	if (n == 0) {
		say_disabled("no CUDA device found%s", NULL);
		return;
	}
	for (int i = 0; i < n && i < MAX_DEVICES; i++) {
		CUdevice d;
		struct dev_info *di = &devices[i];
		if (p_cuDeviceGet(&d, i) != CUDA_SUCCESS)
			continue;
		p_cuDeviceGetAttribute(&di->pci_domain, CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID, d);
		p_cuDeviceGetAttribute(&di->pci_bus, CU_DEVICE_ATTRIBUTE_PCI_BUS_ID, d);
		p_cuDeviceGetAttribute(&di->pci_device, CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID, d);
		p_cuDeviceGetAttribute(&di->shmem_optin,
				       CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, d);
		if (p_cuptiDeviceGetChipName) {
			CUpti_Device_GetChipName_Params cp;
			memset(&cp, 0, sizeof(cp));
			cp.structSize = CUpti_Device_GetChipName_Params_STRUCT_SIZE;
			cp.deviceIndex = (size_t)i;
			if (p_cuptiDeviceGetChipName(&cp) == CUPTI_SUCCESS)
				di->chip = cp.pChipName;
		}
		di->valid = 1;
	}
}

static void CUPTIAPI cupti_callback(void *ud, CUpti_CallbackDomain domain, CUpti_CallbackId cbid,
				    const void *data)
{
	(void)ud;
	if (forked_child || getpid() != init_pid)
		return;
	if (bt_on &&
	    (domain == CUPTI_CB_DOMAIN_DRIVER_API || domain == CUPTI_CB_DOMAIN_RUNTIME_API))
		cudabt_callback(domain, cbid, data);
	if (domain == CUPTI_CB_DOMAIN_RESOURCE) {
		const CUpti_ResourceData *rd = data;
		if (cbid == CUPTI_CBID_RESOURCE_CU_INIT_FINISHED) {
			query_devices();
			gp_metrics_ready(0);
		} else if (cbid == CUPTI_CBID_RESOURCE_CONTEXT_CREATED) {
			uint32_t id = 0, dev = 0;
			if (p_cuptiGetContextId(rd->context, &id) == CUPTI_SUCCESS &&
			    p_cuptiGetDeviceId(rd->context, &dev) == CUPTI_SUCCESS)
				ctx_remember(id, dev);
			gp_metrics_ready(1); /* PM sampling, unless started at cuInit's end */
			gp_range_context_created(rd->context);
			/* CUPTI registers its exit handlers lazily: stay ahead of them (LIFO) */
			atexit(cuda_teardown);
		} else if (cbid == CUPTI_CBID_RESOURCE_CONTEXT_DESTROY_STARTING) {
			gp_range_context_destroy(rd->context);
			cuda_flush(1);
		} else {
			if (cbid >= CUPTI_CBID_RESOURCE_GRAPH_CREATED &&
			    cbid <= CUPTI_CBID_RESOURCE_GRAPHNODE_CLONED)
				graph_created();
			graph_event(cbid, rd->resourceDescriptor);
		}
	} else if ((domain == CUPTI_CB_DOMAIN_DRIVER_API ||
		    domain == CUPTI_CB_DOMAIN_RUNTIME_API) &&
		   gp_range_wants(domain, cbid)) {
		gp_range_api_callback(domain, cbid, data);
	} else if (domain == CUPTI_CB_DOMAIN_DRIVER_API &&
		   cbid == CUPTI_DRIVER_TRACE_CBID_cuProfilerStart) {
		/* -c cudaProfilerApi: the range opens when cuProfilerStart returns */
		const CUpti_CallbackData *cd = data;
		int k;
		if (cd->callbackSite == CUPTI_API_EXIT && gp_capture_mode() == GP_CAPTURE_CUDA &&
		    (k = gp_capture_start(gp_now_ns(), GP_CAPTURE_REASON_CUDA)) >= 0 &&
		    k < GP_CAPTURE_MAX_WINDOWS) {
			atomic_store(&corr_hi[k], 0);
			atomic_store(&corr_lo[k], cd->correlationId);
			if (atomic_load(&corr_nwin) <= k)
				atomic_store(&corr_nwin, k + 1);
		}
	} else if (domain == CUPTI_CB_DOMAIN_DRIVER_API &&
		   cbid == CUPTI_DRIVER_TRACE_CBID_cuProfilerStop) {
		/* ... and closes when cuProfilerStop is entered, after the range's completed
		 * records were delivered (those still running on the GPU come later, tagged) */
		const CUpti_CallbackData *cd = data;
		int k;
		if (cd->callbackSite == CUPTI_API_ENTER && gp_capture_mode() == GP_CAPTURE_CUDA &&
		    gp_collecting()) {
			/* not FORCED: a forced flush hands over records of work still running
			 * with zero timestamps (lost); those arrive later, tagged */
			cuda_flush(0);
			k = gp_capture_stop(gp_now_ns(), GP_CAPTURE_REASON_CUDA);
			if (k >= 0 && k < GP_CAPTURE_MAX_WINDOWS)
				atomic_store(&corr_hi[k], cd->correlationId);
		}
	} else if (domain == CUPTI_CB_DOMAIN_RUNTIME_API &&
		   cbid == CUPTI_RUNTIME_TRACE_CBID_cudaDeviceReset_v3020) {
		const CUpti_CallbackData *cd = data;
		if (cd->callbackSite == CUPTI_API_ENTER)
			cuda_flush(1);
	}
}

/* ---- set-up ------------------------------------------------------------------------ */

static int resolve(void *h)
{
#define RESOLVE(name, args)                                                                        \
	if (!(*(void **)&p_##name = dlsym(h, #name))) {                                            \
		say_disabled("'%s' missing from libcupti.so.13", #name);                           \
		return -1;                                                                         \
	}
	CUPTI_FUNCS(RESOLVE)
#undef RESOLVE
	*(void **)&p_cuptiDeviceGetChipName = dlsym(h, "cuptiDeviceGetChipName");
	*(void **)&p_cuptiGetGraphId = dlsym(h, "cuptiGetGraphId");
	*(void **)&p_cuptiGetGraphNodeId = dlsym(h, "cuptiGetGraphNodeId");
	*(void **)&p_cuptiGetGraphExecId = dlsym(h, "cuptiGetGraphExecId");
	*(void **)&p_cuptiEnableDomain = dlsym(h, "cuptiEnableDomain");

	void *cu = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
	if (cu) {
		*(void **)&p_cuDeviceGetCount = dlsym(cu, "cuDeviceGetCount");
		*(void **)&p_cuDeviceGet = dlsym(cu, "cuDeviceGet");
		*(void **)&p_cuDeviceGetAttribute = dlsym(cu, "cuDeviceGetAttribute");
		if (!p_cuDeviceGet || !p_cuDeviceGetAttribute)
			p_cuDeviceGetCount = NULL;
	}
	return 0;
}

static int enable_kind(CUpti_ActivityKind kind, const char *what)
{
	CUptiResult r = p_cuptiActivityEnable(kind);

	if (r != CUPTI_SUCCESS && what) {
		char msg[160];
		snprintf(msg, sizeof(msg), "gprof-cli: warning: cuda: cannot trace %s: %s\n", what,
			 gp_cupti_result_text(r));
		if (write(STDERR_FILENO, msg, strlen(msg)) < 0)
			return -1;
		return -1;
	}
	return r == CUPTI_SUCCESS ? 0 : -1;
}

/*
 * The event kinds (API calls, kernels, copies, sets, syncs, memory, graphs) under
 * -c cudaProfilerApi / -c nvtx.  Outside capture ranges they are disabled
 * (cuptiActivityDisable) so that a launch there costs what it costs without CUPTI activity
 * (bench/RESULTS-gpu.md: +0.39 us per launch instead of +1.66 with the kinds on), and
 * re-enabled at a range start (gp_at_capture_change: synchronously for a start in this
 * process, e.g. inside the cuProfilerStart callback, within one flush period for one in
 * another process), noise filter re-applied.
 *
 * CUDA graphs forbid toggling the GPU-work kinds (issue 10): a graph instantiated while
 * they were disabled and launched after they were enabled made CUPTI 13.0 crash the
 * application in cudaGraphLaunch (PyTorch CUDAGraph.replay() inside a capture range;
 * H200, CUPTI 2025.3.1).  Toggling only the API kinds is safe, toggling only the GPU-work
 * kinds crashes (bench/RESULTS-gpu.md, "issue 10").  So the first graph, graph node or
 * graph exec the application creates (resource callbacks, always subscribed under a
 * capture mode, on the creating thread before the graph can be instantiated) turns the
 * GPU-work kinds on for good; the API kinds keep following the ranges (their records are
 * most of CUPTI's cost on the launching thread).  GPU records outside the ranges are
 * then dropped on arrival (event_window()); the switch only ever enables, so no record of
 * a range is lost to it.
 *
 * GPROF_CUDA_CAPTURE_TOGGLE (a developer knob for that experiment, not a user option):
 * GPU memory allocations (MEMORY2, --cuda-memory-usage) are never switched off under a
 * capture mode: each range's report starts with the memory live at its start
 * (live_snapshot()), which needs the allocations made before it.
 *
 * "auto" (the default, as above), "all" (toggle every kind even with graphs: the old
 * behaviour), "api" (toggle only the API kinds), "gpu" (only the GPU-work kinds), "none"
 * (every kind on from the start).  Devices, contexts and streams stay enabled (state
 * records).
 */
#define KIND_API    1u /* runtime / driver API records */
#define KIND_GPU    2u /* GPU work: kernels, copies, sets, syncs, graphs */
#define KIND_ALWAYS 4u /* never toggled: memory allocations (the live set, live_snapshot()) */

static pthread_mutex_t kinds_mu = PTHREAD_MUTEX_INITIALIZER;
static int kinds_ready;				     /* setup() reached the event kinds */
static unsigned toggle_groups = KIND_API | KIND_GPU; /* kinds that follow the ranges */
static int toggle_auto = 1;			     /* graphs seen -> toggle_groups = 0 */
static atomic_int graphs_seen;			     /* the application created a CUDA graph */

static const struct kind_row {
	CUpti_ActivityKind kind;
	const char *what;
	int *only_if, *unless;
	unsigned group;
} kind_rows[] = {
    {CUPTI_ACTIVITY_KIND_RUNTIME, "runtime API calls", NULL, NULL, KIND_API},
    {CUPTI_ACTIVITY_KIND_DRIVER, "driver API calls", NULL, NULL, KIND_API},
    /* kernel-range metrics serialise every kernel anyway: the serial kind there */
    {CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL, "kernels", NULL, &gp_range_serial_kernels, KIND_GPU},
    {CUPTI_ACTIVITY_KIND_KERNEL, "kernels", &gp_range_serial_kernels, NULL, KIND_GPU},
    {CUPTI_ACTIVITY_KIND_MEMCPY, "memory copies", NULL, NULL, KIND_GPU},
    {CUPTI_ACTIVITY_KIND_MEMCPY2, "peer-to-peer copies", NULL, NULL, KIND_GPU},
    {CUPTI_ACTIVITY_KIND_MEMSET, "memsets", NULL, NULL, KIND_GPU},
    {CUPTI_ACTIVITY_KIND_SYNCHRONIZATION, "synchronisations", NULL, NULL, KIND_GPU},
    {CUPTI_ACTIVITY_KIND_CUDA_EVENT, "CUDA event records", NULL, NULL, KIND_API},
    {CUPTI_ACTIVITY_KIND_MEMORY2, "memory allocations", &opt_memory, NULL, KIND_ALWAYS},
    {CUPTI_ACTIVITY_KIND_GRAPH_TRACE, "graph launches", NULL, &opt_graph_node, KIND_GPU},
};
#define N_KIND_ROWS (sizeof(kind_rows) / sizeof(kind_rows[0]))
static unsigned char kind_on[N_KIND_ROWS];     /* the row's kind is enabled */
static unsigned char kind_warned[N_KIND_ROWS]; /* its failure to enable was said */

/* Enable (on = 1) or disable row i's kind; say once when it cannot be traced. */
static void kind_set(size_t i, int on)
{
	const struct kind_row *k = &kind_rows[i];

	if (!on) {
		p_cuptiActivityDisable(k->kind);
		kind_on[i] = 0;
		return;
	}
	if (enable_kind(k->kind, kind_warned[i] ? NULL : k->what) < 0) {
		kind_warned[i] = 1;
		return;
	}
	kind_warned[i] = 1;
	kind_on[i] = 1;
	if (opt_all_apis)
		return;
	/* the noise filter, re-applied after each enable */
	if (k->kind == CUPTI_ACTIVITY_KIND_RUNTIME)
		for (size_t j = 0;
		     j < sizeof(gp_cuda_noisy_runtime) / sizeof(gp_cuda_noisy_runtime[0]); j++)
			p_cuptiActivityEnableRuntimeApi(gp_cuda_noisy_runtime[j], 0);
	else if (k->kind == CUPTI_ACTIVITY_KIND_DRIVER)
		for (size_t j = 0;
		     j < sizeof(gp_cuda_noisy_driver) / sizeof(gp_cuda_noisy_driver[0]); j++)
			p_cuptiActivityEnableDriverApi(gp_cuda_noisy_driver[j], 0);
}

/* Bring the event kinds in line with gp_collecting() (gp_at_capture_change hook; also the
 * end of setup and the first graph creation).  Mode none: always on.  Idempotent. */
static void kinds_sync(void)
{
	int collecting;

	if (forked_child || getpid() != init_pid)
		return;
	pthread_mutex_lock(&kinds_mu);
	if (toggle_auto && atomic_load(&graphs_seen))
		toggle_groups = KIND_API;
	collecting = gp_capture_mode() == GP_CAPTURE_NONE || gp_collecting();
	for (size_t i = 0; kinds_ready && i < N_KIND_ROWS; i++) {
		const struct kind_row *k = &kind_rows[i];
		int want;
		if ((k->only_if && !*k->only_if) || (k->unless && *k->unless))
			continue;
		want = (k->group & toggle_groups) ? collecting : 1;
		if (want != kind_on[i]) /* a failed enable is retried, said once */
			kind_set(i, want);
	}
	pthread_mutex_unlock(&kinds_mu);
	if (collecting && gp_capture_mode() != GP_CAPTURE_NONE)
		live_snapshot((int)atomic_load(&gp_ctl->nwindows) - 1);
}

/* A graph, graph node or graph exec is being created (resource callback, app thread):
 * under a capture mode with the auto policy, every event kind stays on from now on. */
static void graph_created(void)
{
	if (gp_capture_mode() == GP_CAPTURE_NONE || !toggle_auto || atomic_load(&graphs_seen))
		return;
	atomic_store(&graphs_seen, 1);
	kinds_sync();
}

/* GPROF_CUDA_CAPTURE_TOGGLE: the developer knob described above. */
static void read_toggle_policy(void)
{
	const char *v = getenv("GPROF_CUDA_CAPTURE_TOGGLE");

	if (!v || !*v || !strcmp(v, "auto"))
		return;
	toggle_auto = 0;
	if (!strcmp(v, "api"))
		toggle_groups = KIND_API;
	else if (!strcmp(v, "gpu"))
		toggle_groups = KIND_GPU;
	else if (!strcmp(v, "none"))
		toggle_groups = 0;
	/* "all" and anything else: the old behaviour */
}

static int setup(void)
{
	CUpti_SubscriberParams sp;
	char old[CUPTI_OLD_SUBSCRIBER_NAME_MIN_LEN * 2] = "";
	uint32_t version = 0;
	size_t sz;
	uint8_t one = 1;
	CUptiResult r;
	void *h = gp_cupti_open();

	if (!h) {
		say_disabled("cannot load libcupti.so.13 (%s)",
			     "set CUDA_HOME to the CUDA toolkit that has extras/CUPTI/lib64");
		return -1;
	}
	if (resolve(h) < 0)
		return -1;
	cupti_handle = h;
	if (p_cuptiGetVersion(&version) != CUPTI_SUCCESS || version < 130000) {
		char v[32];
		snprintf(v, sizeof(v), "%u", version);
		say_disabled("CUPTI API version %s is older than 13.0", v);
		return -1;
	}

	memset(&sp, 0, sizeof(sp));
	sp.structSize = CUpti_SubscriberParams_STRUCT_SIZE;
	sp.subscriberName = "gprof-cli";
	sp.oldSubscriberName = old;
	sp.oldSubscriberSize = sizeof(old);
	r = p_cuptiSubscribe_v2(&subscriber, cupti_callback, NULL, &sp);
	if (r == CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED) {
		say_disabled("another CUPTI client is subscribed (%s)", old[0] ? old : "unknown");
		return -1;
	}
	if (r != CUPTI_SUCCESS) {
		say_disabled("cannot subscribe to CUPTI: %s", gp_cupti_result_text(r));
		return -1;
	}

	p_cuptiSetThreadIdType(CUPTI_ACTIVITY_THREAD_ID_TYPE_SYSTEM);
	p_cuptiActivityRegisterTimestampCallback(gp_now_ns);
	sz = sizeof(one);
	p_cuptiActivitySetAttribute(CUPTI_ACTIVITY_ATTR_ZEROED_OUT_ACTIVITY_BUFFER, &sz, &one);
	pool_init();
	r = p_cuptiActivityRegisterCallbacks(buf_request, buf_complete);
	if (r != CUPTI_SUCCESS) {
		say_disabled("cannot register CUPTI buffers: %s", gp_cupti_result_text(r));
		return -1;
	}

	p_cuptiEnableCallback(1, subscriber, CUPTI_CB_DOMAIN_RESOURCE,
			      CUPTI_CBID_RESOURCE_CU_INIT_FINISHED);
	p_cuptiEnableCallback(1, subscriber, CUPTI_CB_DOMAIN_RESOURCE,
			      CUPTI_CBID_RESOURCE_CONTEXT_CREATED);
	p_cuptiEnableCallback(1, subscriber, CUPTI_CB_DOMAIN_RESOURCE,
			      CUPTI_CBID_RESOURCE_CONTEXT_DESTROY_STARTING);
	p_cuptiEnableCallback(1, subscriber, CUPTI_CB_DOMAIN_RUNTIME_API,
			      CUPTI_RUNTIME_TRACE_CBID_cudaDeviceReset_v3020);
	if (gp_capture_mode() == GP_CAPTURE_CUDA) {
		p_cuptiEnableCallback(1, subscriber, CUPTI_CB_DOMAIN_DRIVER_API,
				      CUPTI_DRIVER_TRACE_CBID_cuProfilerStart);
		p_cuptiEnableCallback(1, subscriber, CUPTI_CB_DOMAIN_DRIVER_API,
				      CUPTI_DRIVER_TRACE_CBID_cuProfilerStop);
	}

	gp_range_init(h, subscriber);
	if (gp_range_serial_kernels) /* GRAPH_TRACE is not compatible with the KERNEL kind */
		opt_graph_node = 1;

	if (p_cuptiActivityEnableAndDump(CUPTI_ACTIVITY_KIND_DEVICE) != CUPTI_SUCCESS)
		enable_kind(CUPTI_ACTIVITY_KIND_DEVICE, "devices");
	if (p_cuptiActivityEnableAndDump(CUPTI_ACTIVITY_KIND_CONTEXT) != CUPTI_SUCCESS)
		enable_kind(CUPTI_ACTIVITY_KIND_CONTEXT, "contexts");
	if (p_cuptiActivityEnableAndDump(CUPTI_ACTIVITY_KIND_STREAM) != CUPTI_SUCCESS)
		enable_kind(CUPTI_ACTIVITY_KIND_STREAM, "streams");

	if (!opt_trace_cuda)
		return 0; /* -t gpu-metrics without cuda: devices and contexts only */
	pthread_mutex_lock(&kinds_mu);
	kinds_ready = 1;
	pthread_mutex_unlock(&kinds_mu);
	kinds_sync();
	/* graph creation events: graphs, execs and clones (graph) or nodes (node), as nsys;
	 * under a capture mode all of them, for graph_created() */
	if (p_cuptiGetGraphId && p_cuptiGetGraphNodeId && p_cuptiGetGraphExecId) {
		static const CUpti_CallbackId graph_cb[] = {
		    CUPTI_CBID_RESOURCE_GRAPH_CREATED, CUPTI_CBID_RESOURCE_GRAPH_CLONED,
		    CUPTI_CBID_RESOURCE_GRAPHEXEC_CREATED, CUPTI_CBID_RESOURCE_GRAPHNODE_CREATED,
		    CUPTI_CBID_RESOURCE_GRAPHNODE_CLONED,
		    /* the earliest signs of a graph (capture modes only) */
		    CUPTI_CBID_RESOURCE_GRAPHNODE_CREATE_STARTING,
		    CUPTI_CBID_RESOURCE_GRAPHEXEC_CREATE_STARTING};
		int capture = gp_capture_mode() != GP_CAPTURE_NONE;
		for (size_t i = 0; i < sizeof(graph_cb) / sizeof(graph_cb[0]); i++)
			if (capture || (i < 5 && graph_event_wanted(graph_cb[i])))
				p_cuptiEnableCallback(1, subscriber, CUPTI_CB_DOMAIN_RESOURCE,
						      graph_cb[i]);
	}
	if (opt_flush_ms)
		p_cuptiActivityFlushPeriod(opt_flush_ms);
	if (bt_on) { /* --cudabacktrace: every API call's entry and exit */
		cudabt_init();
		if (!p_cuptiEnableDomain ||
		    p_cuptiEnableDomain(1, subscriber, CUPTI_CB_DOMAIN_RUNTIME_API) !=
			CUPTI_SUCCESS ||
		    p_cuptiEnableDomain(1, subscriber, CUPTI_CB_DOMAIN_DRIVER_API) !=
			CUPTI_SUCCESS) {
			static const char msg[] =
			    "gprof-cli: warning: cuda: no backtraces of CUDA calls "
			    "(--cudabacktrace): CUPTI refused the API callbacks\n";
			bt_on = 0;
			if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
				return 0;
		}
	}
	return 0;
}

/*
 * Called by the CUDA driver inside cuInit when CUDA_INJECTION64_PATH names this library.
 * Returns 1 (success for the driver) in every case: when tracing cannot start, one line on
 * stderr says why and the application runs untraced for CUDA.  No header declares it (the
 * driver finds it by name).
 */
GP_EXPORT int InitializeInjection(void);
GP_EXPORT int InitializeInjection(void)
{
	if (atomic_exchange(&init_done, 1))
		return 1;
	opt_trace_cuda = gp_traced("cuda", 1);
	if (!opt_trace_cuda && !gp_traced("gpu-metrics", 0))
		return 1;
	if (gp_producer_init(GP_COLLECTOR_INJECT) < 0)
		return 1;
	init_pid = getpid();
	read_options();
	read_toggle_policy();
	pthread_atfork(NULL, NULL, at_fork_child);
	if (setup() < 0)
		return 1;
	active = 1;
	gp_at_shutdown(cuda_shutdown);
	gp_at_flush_request(cuda_flush_request);
	gp_at_capture_change(kinds_sync);
	/* registered after every CUPTI feature was enabled: runs before CUPTI's own exit
	 * handlers (atexit is LIFO); re-registered at each context creation */
	atexit(cuda_teardown);
	gp_metrics_start(cupti_handle);
	return 1;
}
