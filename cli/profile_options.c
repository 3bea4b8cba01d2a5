/*
 * profile_options.c - option table, parser and --help text of `gprof-cli profile`
 * (nsys profile switch names and defaults: nsys-cli.md section 1.2).
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/profile_options.h"
#include "core/sampler.h"
#include "core/metrics_names.h"
#include "core/util.h"
#include "core/wire.h"

/* -t/--trace values: nsys 2025's list (nsys-cli.md section 1.2), cuda-hw of its 2024-2025
 * releases, and our gpu-metrics.  See struct profile_trace_value; to turn a value on, set
 * its row's `traced` to 1 (and, for the end-of-run check, `block` and the texts). */
static const struct profile_trace_value trace_table[] = {
    {.name = "cuda",
     .bit = PROFILE_TRACE_CUDA,
     .traced = 1,
     .block = 3,
     .what = "CUDA events",
     .hint_unused = "does the process use CUDA? It never initialised CUDA; for a CPU-only "
		    "program leave cuda out, e.g. -t nvtx,osrt",
     .hint_idle = "the process initialised CUDA but no CUDA API call or GPU activity was "
		  "recorded; with -c, check that its CUDA work falls inside a capture range"},
    {.name = "nvtx", .bit = PROFILE_TRACE_NVTX, .traced = 1},
    {.name = "osrt", .bit = PROFILE_TRACE_OSRT, .traced = 1},
    {.name = "gpu-metrics",
     .bit = PROFILE_TRACE_GPU_METRICS,
     .traced = 1,
     .block = 4,
     .what = "GPU metrics",
     .hint_unused = "sampled GPU metrics come from gprof-cli's sampler process, range-mode "
		    "ones from a process that initialises CUDA on a supported GPU; none sent "
		    "any",
     .hint_idle = "no GPU was sampled; the gpu-metrics line above says why"},
    {.name = "mpi",
     .bit = PROFILE_TRACE_MPI,
     .traced = 1,
     .block = 5,
     .what = "MPI events",
     .hint_unused = "does the process use MPI? It never called MPI_Init (or its MPI is not "
		    "one of --mpi-impl's); for a program without MPI leave mpi out",
     .hint_idle = "the process initialised MPI but made no traced MPI call; with -c, check "
		  "that its MPI calls fall inside a capture range"},
    /* library API calls: NVTX push/pop ranges in the domains cuBLAS and cuDNN, as nsys
     * 2025.3 exports them (collectors/cudalibs.c, LD_PRELOAD'd) */
    {.name = "cublas", .bit = PROFILE_TRACE_CUBLAS, .traced = 1, .implies = PROFILE_TRACE_CUDA},
    {.name = "cudnn", .bit = PROFILE_TRACE_CUDNN, .traced = 1, .implies = PROFILE_TRACE_CUDA},
    /* aliases and variants of the above */
    {.name = "cuda-sw", .bit = PROFILE_TRACE_CUDA, .traced = 1}, /* CUPTI software trace: ours */
    {.name = "cuda-hw", .bit = PROFILE_TRACE_CUDA, .traced = 1}, /* hardware trace: software here */
    /* the calls are traced as with cublas; their arguments (nsys's verbose part) are not:
     * the warning names cublas-verbose */
    {.name = "cublas-verbose",
     .bit = PROFILE_TRACE_CUBLAS,
     .traced = 0,
     .implies = PROFILE_TRACE_CUDA | PROFILE_TRACE_CUBLAS},
    /* known to nsys, not traced by gprof-cli (openacc and the cuXXX libraries turn on cuda,
     * as in nsys) */
    {.name = "cusolver", .implies = PROFILE_TRACE_CUDA},
    {.name = "cusolver-verbose", .implies = PROFILE_TRACE_CUDA},
    {.name = "cusparse", .implies = PROFILE_TRACE_CUDA},
    {.name = "cusparse-verbose", .implies = PROFILE_TRACE_CUDA},
    {.name = "cudla", .implies = PROFILE_TRACE_CUDA},
    {.name = "cudla-verbose", .implies = PROFILE_TRACE_CUDA},
    {.name = "openacc", .implies = PROFILE_TRACE_CUDA},
    {.name = "openmp"},
    {.name = "nccl"},
    {.name = "ucx"},
    {.name = "oshmem"},
    {.name = "opengl"},
    {.name = "opengl-annotations"},
    {.name = "vulkan"},
    {.name = "vulkan-annotations"},
    {.name = "openxr"},
    {.name = "openxr-annotations"},
    {.name = "dx11"},
    {.name = "dx11-annotations"},
    {.name = "dx12"},
    {.name = "dx12-annotations"},
    {.name = "wddm"},
    {.name = "nvvideo"},
    {.name = "tegra-accelerators"},
    {.name = "python-gil"},
    {.name = "syscall"},
    {.name = "gds"},
    {.name = "s3"},
    {.name = "s3-verbose"},
};
#define N_TRACE (sizeof(trace_table) / sizeof(trace_table[0]))
_Static_assert(N_TRACE <= 64, "struct profile_options.trace_ignored holds 64 rows");

const struct profile_trace_value *profile_trace_table(size_t *n)
{
	*n = N_TRACE;
	return trace_table;
}

const struct profile_trace_value *profile_trace_find(const char *name, size_t len)
{
	for (size_t i = 0; i < N_TRACE; i++)
		if (strlen(trace_table[i].name) == len && !strncmp(name, trace_table[i].name, len))
			return &trace_table[i];
	return NULL;
}

int profile_parse_bool(const char *name, const char *value)
{
	if (!value || !strcmp(value, "true"))
		return 1;
	if (!strcmp(value, "false"))
		return 0;
	error("invalid value '%s' for '--%s'", value, name);
	hint("use --%s=true or --%s=false", name, name);
	return -1;
}

const char *profile_trace_text(unsigned trace)
{
	static char buf[160];
	unsigned done = 0;
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < N_TRACE; i++) {
		unsigned bit = trace_table[i].bit;

		if (!trace_table[i].traced || !(trace & bit) || (done & bit))
			continue;
		done |= bit;
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", len ? "," : "",
					trace_table[i].name);
	}
	return len ? buf : "none";
}

char *profile_trace_ignored_text(const struct profile_options *o, const char *sep)
{
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < N_TRACE; i++)
		if (o->trace_ignored & (1ull << i)) {
			if (sb.len)
				strbuf_addstr(&sb, sep);
			strbuf_addstr(&sb, trace_table[i].name);
		}
	return strbuf_detach(&sb, NULL);
}

/* The values gprof-cli traces, canonical names only: "cuda, nvtx, osrt, gpu-metrics". */
static void add_traced_values(struct strbuf *sb)
{
	unsigned done = 0;

	for (size_t i = 0; i < N_TRACE; i++)
		if (trace_table[i].traced && !(done & trace_table[i].bit)) {
			strbuf_addf(sb, "%s%s", done ? ", " : "", trace_table[i].name);
			done |= trace_table[i].bit;
		}
}

/* The hint for an unknown -t word (`len` bytes at p): the closest known value when one
 * is near (at most 2 edits, 1 for words under 4 letters), else where the list is. */
static void add_unknown_trace_hint(struct strbuf *sb, const char *p, size_t len)
{
	const char *best = NULL;
	unsigned best_d = len >= 4 ? 3 : 2;
	char word[64];

	if (!len) {
		strbuf_addstr(sb, "separate the values with single commas, no spaces");
		return;
	}
	snprintf(word, sizeof(word), "%.*s", (int)(len < 63 ? len : 63), p);
	for (size_t i = 0; i < N_TRACE; i++) {
		unsigned d = gp_metric_distance(word, trace_table[i].name);

		if (d < best_d) {
			best_d = d;
			best = trace_table[i].name;
		}
	}
	if (best)
		strbuf_addf(sb, "did you mean '%s'?", best);
	else
		strbuf_addstr(sb, "give a comma list without spaces, e.g. -t nvtx,osrt; nsys's "
				  "other values are accepted and ignored (man gprof-cli-profile)");
}

/*
 * Parse a -t list through the trace table into *trace (enum profile_trace bits) and
 * *ignored (rows known but not traced).  Errors (an unknown or empty word, none with
 * others) return -1 with one line in err and its hint in fix, worded for the command
 * line (apply_trace) or, with `config`, for the config file's 'trace' key
 * (validate_trace): both go through this table and these rules.
 */
static int parse_trace(const char *value, int config, unsigned *trace, uint64_t *ignored,
		       struct strbuf *err, struct strbuf *fix)
{
	int none = 0, others = 0;
	const char *p = value;

	*trace = 0;
	*ignored = 0;
	for (;;) {
		size_t len = strcspn(p, ",");
		const struct profile_trace_value *v = profile_trace_find(p, len);

		if (len == 4 && !strncmp(p, "none", 4)) {
			none = 1;
		} else if (!v) {
			if (!len)
				strbuf_addf(err, "empty item in %s value '%s' (traced: ",
					    config ? "'trace'" : "--trace", value);
			else if (config)
				strbuf_addf(
				    err, "invalid value '%.*s' for 'trace' (traced: ", (int)len, p);
			else
				strbuf_addf(err, "unknown --trace value '%.*s' (traced: ", (int)len,
					    p);
			add_traced_values(err);
			strbuf_addstr(err, "; or none)");
			add_unknown_trace_hint(fix, p, len);
			return -1;
		} else {
			if (v->traced)
				*trace |= v->bit;
			else
				*ignored |= 1ull << (v - trace_table);
			*trace |= v->implies;
			others = 1;
		}
		if (!p[len])
			break;
		p += len + 1;
	}
	if (none && others) {
		strbuf_addf(err, "%s 'none' cannot be combined with other values in '%s'",
			    config ? "'trace' value" : "--trace value", value);
		strbuf_addstr(fix, config ? "use either none or a list such as nvtx,osrt"
					  : "use either -t none or a list such as -t nvtx,osrt");
		return -1;
	}
	return 0;
}

static int apply_trace(struct profile_options *o, const char *value)
{
	struct strbuf err = STRBUF_INIT, fix = STRBUF_INIT;
	unsigned trace;
	uint64_t ignored;
	int r = parse_trace(value, 0, &trace, &ignored, &err, &fix);

	if (r < 0) {
		error("%s", err.buf);
		hint("%s", fix.buf);
	} else {
		o->trace = trace;
		o->trace_ignored = ignored;
	}
	strbuf_release(&err);
	strbuf_release(&fix);
	return r;
}

static int apply_output(struct profile_options *o, const char *value)
{
	if (!*value) {
		error("empty --output file name");
		hint("give a file name, e.g. -o myreport (writes myreport.db)");
		return -1;
	}
	o->output = value;
	return 0;
}

static int apply_force(struct profile_options *o, const char *value)
{
	int b = profile_parse_bool("force-overwrite", value);

	if (b < 0)
		return -1;
	o->force_overwrite = b;
	return 0;
}

/* Does s start with an environment variable name followed by '='? */
static int starts_with_assignment(const char *s)
{
	const char *p = s;

	if (!(isalpha((unsigned char)*p) || *p == '_'))
		return 0;
	while (isalnum((unsigned char)*p) || *p == '_')
		p++;
	return *p == '=';
}

/* -e A=B[,C=D...]: a comma starts a new assignment only when NAME= follows it, so that
 * values may hold commas (-e LIST=a,b). */
static int apply_env(struct profile_options *o, const char *value)
{
	const char *p = value;

	if (!starts_with_assignment(p)) {
		error("invalid --env-var value '%s'", value);
		hint("use NAME=VALUE, e.g. -e OMP_NUM_THREADS=4 (several as A=B,C=D)");
		return -1;
	}
	while (*p) {
		const char *q = p + 1;
		const char *next = NULL;

		while ((q = strchr(q, ',')) != NULL) {
			if (starts_with_assignment(q + 1)) {
				next = q;
				break;
			}
			q++;
		}
		size_t len = next ? (size_t)(next - p) : strlen(p);
		char *item = xmalloc(len + 1);

		memcpy(item, p, len);
		item[len] = '\0';
		o->env = xrealloc(o->env, (o->n_env + 1) * sizeof(*o->env));
		o->env[o->n_env++] = item;
		if (!next)
			break;
		p = next + 1;
	}
	return 0;
}

static int apply_threshold(struct profile_options *o, const char *value)
{
	uint64_t v;

	if (gp_parse_u64(value, &v) < 0) {
		error("invalid --osrt-threshold value '%s'", value);
		hint("give a duration in nanoseconds, e.g. --osrt-threshold=10000");
		return -1;
	}
	o->osrt_threshold_ns = v;
	return 0;
}

static int apply_bt_threshold(struct profile_options *o, const char *value)
{
	if (gp_parse_u64(value, &o->osrt_bt_threshold_ns) < 0) {
		error("invalid --osrt-backtrace-threshold value '%s'", value);
		hint("give a duration in nanoseconds, e.g. --osrt-backtrace-threshold=80000; 0: "
		     "no backtraces");
		return -1;
	}
	return 0;
}

static const char *const cudabt_names[PROFILE_CUDABT_CLASSES] = {"kernel", "memory", "sync",
								 "other"};

int profile_parse_cudabacktrace(const char *value, uint64_t *ns, struct strbuf *err,
				struct strbuf *hint)
{
	const char *p = value;

	for (int i = 0; i < PROFILE_CUDABT_CLASSES; i++)
		ns[i] = PROFILE_CUDABT_OFF;
	if (!strcmp(value, "none"))
		return 0;
	for (;;) {
		size_t len = strcspn(p, ",:");
		uint64_t thr = PROFILE_CUDABT_DEFAULT_NS;
		int cls = -1;
		const char *next;

		for (int i = 0; i < PROFILE_CUDABT_CLASSES; i++)
			if (len == strlen(cudabt_names[i]) && !strncmp(p, cudabt_names[i], len))
				cls = i;
		if (cls < 0 && !(len == 3 && !strncmp(p, "all", 3))) {
			strbuf_addf(err, "invalid --cudabacktrace value '%.*s' in '%s'", (int)len,
				    p, value);
			strbuf_addstr(hint,
				      "give a comma list of all, kernel, memory, sync, other, "
				      "each with an optional :<ns> threshold "
				      "(e.g. --cudabacktrace=kernel:500,sync), or none");
			return -1;
		}
		next = p + len;
		if (*next == ':') {
			char num[24];
			size_t nl = strcspn(next + 1, ",");

			snprintf(num, sizeof(num), "%.*s", (int)(nl < sizeof(num) ? nl : 0),
				 next + 1);
			if (nl >= sizeof(num) || gp_parse_u64(num, &thr) < 0 || thr == UINT64_MAX) {
				strbuf_addf(err, "invalid --cudabacktrace threshold '%.*s' in '%s'",
					    (int)nl, next + 1, value);
				strbuf_addstr(hint, "give the threshold in nanoseconds, e.g. "
						    "--cudabacktrace=all:80000");
				return -1;
			}
			next += 1 + nl;
		}
		for (int i = 0; i < PROFILE_CUDABT_CLASSES; i++)
			if (cls < 0 || cls == i)
				ns[i] = thr;
		if (!*next)
			return 0;
		p = next + 1; /* (a ','; "kernel," ends in an empty item: an error) */
	}
}

char *profile_cudabacktrace_text(const uint64_t *ns, int rec)
{
	struct strbuf b = STRBUF_INIT;
	int on = 0, same = 1;

	for (int i = 0; i < PROFILE_CUDABT_CLASSES; i++) {
		on += ns[i] != PROFILE_CUDABT_OFF;
		same &= ns[i] == ns[0];
	}
	for (int i = 0; rec && i < PROFILE_CUDABT_CLASSES; i++) {
		if (ns[i] == PROFILE_CUDABT_OFF)
			strbuf_addf(&b, "%s-", i ? "," : "");
		else
			strbuf_addf(&b, "%s%llu", i ? "," : "", (unsigned long long)ns[i]);
	}
	if (rec)
		return strbuf_detach(&b, NULL);
	if (!on)
		return xstrdup("none");
	if (same)
		return xasprintf("all:%llu", (unsigned long long)ns[0]);
	for (int i = 0; i < PROFILE_CUDABT_CLASSES; i++)
		if (ns[i] != PROFILE_CUDABT_OFF)
			strbuf_addf(&b, "%s%s:%llu", b.len ? "," : "", cudabt_names[i],
				    (unsigned long long)ns[i]);
	return strbuf_detach(&b, NULL);
}

static int apply_cudabacktrace(struct profile_options *o, const char *value)
{
	struct strbuf err = STRBUF_INIT, fix = STRBUF_INIT;
	int r = profile_parse_cudabacktrace(value, o->cudabt_ns, &err, &fix);

	if (r < 0) {
		error("%s", err.buf);
		hint("%s", fix.buf);
	}
	strbuf_release(&err);
	strbuf_release(&fix);
	return r;
}

static int validate_cudabacktrace(const struct config_option *opt, const char *value,
				  struct strbuf *err, struct strbuf *hint)
{
	uint64_t ns[PROFILE_CUDABT_CLASSES];

	return profile_parse_cudabacktrace(value, ns, err, hint);
}

static const char *const python_backtrace_values[] = {"cuda", "none", "false", NULL};

static int apply_python_backtrace(struct profile_options *o, const char *value)
{
	if (strcmp(value, "cuda") && strcmp(value, "none") && strcmp(value, "false")) {
		error("invalid --python-backtrace value '%s' (valid: cuda, none, false)", value);
		hint("use --python-backtrace=cuda (with --cudabacktrace) or =none");
		return -1;
	}
	o->python_backtrace = !strcmp(value, "cuda");
	return 0;
}

static int apply_python_sampling(struct profile_options *o, const char *value)
{
	int b = profile_parse_bool("python-sampling", value);

	if (b < 0)
		return -1;
	o->python_sampling = b;
	return 0;
}

static int apply_stats(struct profile_options *o, const char *value)
{
	int b = profile_parse_bool("stats", value);

	if (b < 0)
		return -1;
	o->stats = b;
	return 0;
}

static int apply_show_output(struct profile_options *o, const char *value)
{
	int b = profile_parse_bool("show-output", value);

	if (b < 0)
		return -1;
	o->show_output = b;
	return 0;
}

static int apply_cuda_memory_usage(struct profile_options *o, const char *value)
{
	int b = profile_parse_bool("cuda-memory-usage", value);

	if (b < 0)
		return -1;
	o->cuda_memory_usage = b;
	return 0;
}

static int apply_host_memory_usage(struct profile_options *o, const char *value)
{
	int b = profile_parse_bool("host-memory-usage", value);

	if (b < 0)
		return -1;
	o->host_memory_usage = b;
	return 0;
}

static int apply_host_memory_threshold(struct profile_options *o, const char *value)
{
	uint64_t v;

	if (gp_parse_u64(value, &v) < 0) {
		error("invalid --host-memory-threshold value '%s'", value);
		hint("give a size in bytes, e.g. --host-memory-threshold=65536");
		return -1;
	}
	o->host_memory_threshold = v;
	return 0;
}

static int apply_trace_fork(struct profile_options *o, const char *value)
{
	int b = profile_parse_bool("trace-fork-before-exec", value);

	if (b < 0)
		return -1;
	o->trace_fork_before_exec = b;
	return 0;
}

static int apply_mpi_impl(struct profile_options *o, const char *value)
{
	if (strcmp(value, "openmpi") && strcmp(value, "mpich")) {
		error("invalid --mpi-impl value '%s' (valid: openmpi, mpich)", value);
		hint("use --mpi-impl=mpich for MPICH, Intel MPI, MVAPICH and Cray MPICH, else "
		     "--mpi-impl=openmpi");
		return -1;
	}
	o->mpi_impl = value;
	return 0;
}

static int apply_cuda_graph_trace(struct profile_options *o, const char *value)
{
	if (!strcmp(value, "graph")) {
		o->cuda_graph_node = 0;
	} else if (!strcmp(value, "node")) {
		o->cuda_graph_node = 1;
	} else {
		error("invalid --cuda-graph-trace value '%s' (valid: graph, node)", value);
		hint("use --cuda-graph-trace=graph (whole graphs) or =node (each node)");
		return -1;
	}
	return 0;
}

/* ---- GPU metrics (issue 5) ---- */

static int validate_gpu_devices(const struct config_option *opt, const char *value,
				struct strbuf *err, struct strbuf *hint)
{
	const char *p = value;

	if (!strcmp(value, "all") || !strcmp(value, "none") || !strcmp(value, "cuda-visible"))
		return 0;
	while (*p >= '0' && *p <= '9') {
		while (*p >= '0' && *p <= '9')
			p++;
		if (*p == ',' && p[1] >= '0' && p[1] <= '9')
			p++;
	}
	if (p != value && !*p)
		return 0;
	strbuf_addf(err, "invalid value '%s' for '%s'", value, opt->name);
	strbuf_addstr(hint, "valid values: all, none, cuda-visible, or device ids such as 0,1");
	return -1;
}

static int validate_gpu_frequency(const struct config_option *opt, const char *value,
				  struct strbuf *err, struct strbuf *hint)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(value, &end, 10);
	if (value[0] >= '0' && value[0] <= '9' && !*end && !errno && v >= 10 && v <= 200000)
		return 0;
	strbuf_addf(err, "invalid value '%s' for '%s'", value, opt->name);
	strbuf_addstr(hint, "give a sampling rate in Hz from 10 to 200000 (default 10000)");
	return -1;
}

static int run_validator(config_validate_fn *fn, const char *name, const char *value)
{
	struct strbuf err = STRBUF_INIT, h = STRBUF_INIT;
	struct config_option opt = {.name = name};
	int rc = fn(&opt, value, &err, &h);

	if (rc < 0) {
		error("%s", err.buf);
		if (h.len)
			hint("%s", h.buf);
	}
	strbuf_release(&err);
	strbuf_release(&h);
	return rc;
}

static int apply_gpu_devices(struct profile_options *o, const char *value)
{
	if (run_validator(validate_gpu_devices, "gpu-metrics-devices", value) < 0)
		return -1;
	o->gpu_metrics_devices = value;
	if (strcmp(value, "none"))
		o->trace |= PROFILE_TRACE_GPU_METRICS;
	return 0;
}

static int apply_gpu_frequency(struct profile_options *o, const char *value)
{
	if (run_validator(validate_gpu_frequency, "gpu-metrics-frequency", value) < 0)
		return -1;
	o->gpu_metrics_frequency = (unsigned)strtoul(value, NULL, 10);
	return 0;
}

static int apply_gpu_set(struct profile_options *o, const char *value)
{
	if (!*value) {
		error("empty value for --gpu-metrics-set");
		hint("give default, gh100, minimal or file:metrics.yaml");
		return -1;
	}
	o->gpu_metrics_set = value;
	return 0;
}

static const char *const gpu_mode_values[] = {"sample", "range", NULL};
static const char *const gpu_ranges_values[] = {"kernel", "nvtx", NULL};

static int apply_gpu_mode(struct profile_options *o, const char *value)
{
	if (!strcmp(value, "sample")) {
		o->gpu_metrics_mode = GP_METRICS_MODE_SAMPLE;
	} else if (!strcmp(value, "range")) {
		o->gpu_metrics_mode = GP_METRICS_MODE_RANGE;
	} else {
		error("invalid --gpu-metrics-mode value '%s' (valid: sample, range)", value);
		hint("use sample (metrics over time) or range (metrics per kernel or NVTX range)");
		return -1;
	}
	return 0;
}

static int apply_gpu_ranges(struct profile_options *o, const char *value)
{
	if (!strcmp(value, "kernel")) {
		o->gpu_metrics_ranges_nvtx = 0;
	} else if (!strcmp(value, "nvtx")) {
		o->gpu_metrics_ranges_nvtx = 1;
	} else {
		error("invalid --gpu-metrics-ranges value '%s' (valid: kernel, nvtx)", value);
		hint("use kernel (one range per launch) or nvtx (one per NVTX push/pop range)");
		return -1;
	}
	return 0;
}

static int apply_cuda_trace_all_apis(struct profile_options *o, const char *value)
{
	int b = profile_parse_bool("cuda-trace-all-apis", value);

	if (b < 0)
		return -1;
	o->cuda_trace_all_apis = b;
	return 0;
}

static int apply_cuda_flush_interval(struct profile_options *o, const char *value)
{
	uint64_t ms;

	if (gp_parse_u64(value, &ms) < 0 || ms > 3600000) {
		error("invalid --cuda-flush-interval value '%s' (0 to 3600000 ms)", value);
		hint("use --cuda-flush-interval=0 to flush only when CUPTI's buffers fill");
		return -1;
	}
	o->cuda_flush_interval_ms = (unsigned)ms;
	return 0;
}

static int apply_help(struct profile_options *o, const char *value)
{
	o->help = 1;
	return 0;
}

/* --- values checked by the config validators (core/config.h) --------------------- */

static const char *const graph_values[] = {"graph", "node", NULL};

/* ---- CPU sampling (issue 15; core/sampler.h) ---- */
static const char *const sample_values[] = {"process-tree", "none", NULL};
static const char *const backtrace_values[] = {"auto", "fp", "dwarf", "lbr", "none", NULL};

static int apply_sample_scope(const char *opt, const char *value, int *out)
{
	if (!strcmp(value, "process-tree")) {
		*out = 1;
	} else if (!strcmp(value, "none")) {
		*out = 0;
	} else {
		error("invalid --%s value '%s' (valid: process-tree, none)", opt, value);
		hint("system-wide is nsys's and not gprof-cli's: use --%s=process-tree or =none",
		     opt);
		return -1;
	}
	return 0;
}

static int apply_sample(struct profile_options *o, const char *value)
{
	return apply_sample_scope("sample", value, &o->sample);
}

static int apply_cpuctxsw(struct profile_options *o, const char *value)
{
	return apply_sample_scope("cpuctxsw", value, &o->cpuctxsw);
}

static int apply_backtrace(struct profile_options *o, const char *value)
{
	static const int ids[] = {SAMPLER_BT_DWARF, SAMPLER_BT_FP, SAMPLER_BT_DWARF, SAMPLER_BT_LBR,
				  SAMPLER_BT_NONE};

	for (size_t i = 0; backtrace_values[i]; i++)
		if (!strcmp(value, backtrace_values[i])) {
			o->backtrace = ids[i];
			return 0;
		}
	error("invalid --backtrace value '%s' (valid: auto, fp, dwarf, lbr, none)", value);
	hint("-b dwarf unwinds any code with unwind tables; -b fp needs -fno-omit-frame-pointer");
	return -1;
}

/* value as an integer in [lo, hi]; else one error line (and the example as hint), -1 */
static int parse_u64_range(const char *opt, const char *value, uint64_t lo, uint64_t hi,
			   const char *unit, const char *example, uint64_t *v)
{
	if (gp_parse_u64(value, v) == 0 && *v >= lo && *v <= hi)
		return 0;
	error("invalid --%s value '%s' (valid: %llu to %llu %s)", opt, value,
	      (unsigned long long)lo, (unsigned long long)hi, unit);
	hint("%s", example);
	return -1;
}

static int apply_sampling_period(struct profile_options *o, const char *value)
{
	return parse_u64_range(
	    "sampling-period", value, PROFILE_SAMPLING_PERIOD_MIN, PROFILE_SAMPLING_PERIOD_MAX,
	    "ns of CPU time",
	    "e.g. --sampling-period=1000000 samples each thread every 1 ms it runs",
	    &o->sampling_period_ns);
}

static int apply_sampling_frequency(struct profile_options *o, const char *value)
{
	uint64_t v;

	if (parse_u64_range("sampling-frequency", value, 100, 8000, "Hz",
			    "e.g. --sampling-frequency=1000 (the default)", &v) < 0)
		return -1;
	o->sampling_period_ns = 1000000000ull / v;
	return 0;
}
static const char *const mpi_impl_values[] = {"openmpi", "mpich", NULL};
static const char *const wait_values[] = {"primary", "all", NULL};

/* trace: the same table and rules as -t (parse_trace). */
static int validate_trace(const struct config_option *opt, const char *value, struct strbuf *err,
			  struct strbuf *hint)
{
	unsigned trace;
	uint64_t ignored;

	return parse_trace(value, 1, &trace, &ignored, err, hint);
}

static int validate_nonempty(const struct config_option *opt, const char *value, struct strbuf *err,
			     struct strbuf *hint)
{
	if (*value)
		return 0;
	strbuf_addf(err, "empty value for '%s'", opt->name);
	strbuf_addstr(hint, "give a file name, e.g. myreport (writes myreport.db)");
	return -1;
}

int profile_parse_seconds(const char *s, uint64_t *ns)
{
	uint64_t whole = 0, frac = 0, scale = 1000000000ull;
	const char *p = s;
	int digits = 0;

	while (*p >= '0' && *p <= '9') {
		if (whole > (UINT64_MAX / 1000000000ull - 9) / 10)
			return -1;
		whole = whole * 10 + (uint64_t)(*p++ - '0');
		digits++;
	}
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9') {
			if (scale > 1) {
				scale /= 10;
				frac += (uint64_t)(*p - '0') * scale;
			}
			p++;
			digits++;
		}
	}
	if (!digits || *p || whole * 1000000000ull + frac > PROFILE_SECONDS_NS_MAX)
		return -1;
	*ns = whole * 1000000000ull + frac;
	return 0;
}

/* duration: seconds > 0, fractions allowed (0.5). */
static int validate_seconds(const struct config_option *opt, const char *value, struct strbuf *err,
			    struct strbuf *hint)
{
	uint64_t ns;

	if (!profile_parse_seconds(value, &ns) && ns > 0)
		return 0;
	strbuf_addf(err, "invalid value '%s' for '%s'", value, opt->name);
	strbuf_addf(hint, "give a number of seconds > 0 and at most %llu, e.g. 30 or 0.5",
		    PROFILE_SECONDS_NS_MAX / 1000000000ull);
	return -1;
}

int profile_parse_kill(const char *s, int *sig)
{
	uint64_t n;

	if (!strcmp(s, "none")) {
		*sig = 0;
	} else if (!strcmp(s, "sigterm")) {
		*sig = SIGTERM;
	} else if (!strcmp(s, "sigkill")) {
		*sig = SIGKILL;
	} else if (!gp_parse_u64(s, &n) && n >= 1 && n <= (uint64_t)SIGRTMAX) {
		*sig = (int)n;
	} else {
		return -1;
	}
	return 0;
}

/* kill: none, sigterm, sigkill or a signal number. */
static int validate_kill(const struct config_option *opt, const char *value, struct strbuf *err,
			 struct strbuf *hint)
{
	int sig;

	if (!profile_parse_kill(value, &sig))
		return 0;
	strbuf_addf(err, "invalid value '%s' for '%s'", value, opt->name);
	strbuf_addf(hint, "valid values: none, sigterm, sigkill, or a signal number 1-%d",
		    SIGRTMAX);
	return -1;
}

/* Run the row's validator on a command-line value: one error line naming the switch,
 * and the validator's hint.  Returns 0 or -1. */
static int cli_validate(const char *name, const char *value)
{
	const struct profile_option *op = profile_option_find(name);
	struct strbuf err = STRBUF_INIT, fix = STRBUF_INIT;
	struct config_option co;
	int r;

	memset(&co, 0, sizeof(co));
	co.name = op->name;
	co.short_name = op->short_name;
	co.data = op->data;
	r = op->validate(&co, value, &err, &fix);
	if (r < 0) {
		error("invalid --%s value '%s'", name, value);
		if (fix.len)
			hint("%s", fix.buf);
	}
	strbuf_release(&err);
	strbuf_release(&fix);
	return r;
}

static int apply_duration(struct profile_options *o, const char *value)
{
	if (cli_validate("duration", value) < 0)
		return -1;
	return profile_parse_seconds(value, &o->duration_ns);
}

static int apply_kill(struct profile_options *o, const char *value)
{
	if (cli_validate("kill", value) < 0)
		return -1;
	return profile_parse_kill(value, &o->kill_signal);
}

static int apply_stop_on_exit(struct profile_options *o, const char *value)
{
	int b = profile_parse_bool("stop-on-exit", value);

	if (b < 0)
		return -1;
	o->stop_on_exit = b;
	return 0;
}

static int apply_wait(struct profile_options *o, const char *value)
{
	if (cli_validate("wait", value) < 0)
		return -1;
	o->wait_all = !strcmp(value, "all");
	return 0;
}

/* --- capture ranges (core/capture.h; nsys-cli.md section 1.2) ------------------------ */

#define HINT_CAPTURE_RANGE "use -c none, -c cudaProfilerApi or -c nvtx (with -p <range>)"
#define HINT_CAPTURE_END                                                                           \
	"use none, stop, stop-shutdown, repeat, repeat:N or repeat-shutdown:N (N >= 1), "          \
	"e.g. --capture-range-end=repeat:3"
#define HINT_NVTX_CAPTURE "give the NVTX range as range, range@domain or range@*, e.g. -p 'step@*'"
#define HINT_DELAY	  "give a number of seconds >= 0, e.g. -y 0.5"

/* Parse one capture switch value into *c.  Returns 0, or -1 with *why set. */
static int parse_capture(const char *name, const char *value, struct capture_settings *c,
			 const char **why)
{
	if (!strcmp(name, "capture-range"))
		return capture_parse_mode(value, &c->mode, why);
	if (!strcmp(name, "capture-range-end"))
		return capture_parse_end(value, &c->end, &c->max_ranges, why);
	if (!strcmp(name, "nvtx-capture"))
		return capture_parse_nvtx(value, &c->nvtx, why);
	if (profile_parse_seconds(value, &c->delay_ns) == 0)
		return 0;
	*why = "expected a number of seconds >= 0 (at most 4611686018)";
	return -1;
}

static const char *capture_hint(const char *name)
{
	if (!strcmp(name, "capture-range"))
		return HINT_CAPTURE_RANGE;
	if (!strcmp(name, "capture-range-end"))
		return HINT_CAPTURE_END;
	if (!strcmp(name, "nvtx-capture"))
		return HINT_NVTX_CAPTURE;
	return HINT_DELAY;
}

/* Config-file validator of the four capture keys. */
static int validate_capture(const struct config_option *opt, const char *value, struct strbuf *err,
			    struct strbuf *hint)
{
	struct capture_settings c;
	const char *why = NULL;

	memset(&c, 0, sizeof(c));
	if (parse_capture(opt->name, value, &c, &why) == 0)
		return 0;
	strbuf_addf(err, "invalid value '%s' for '%s': %s", value, opt->name, why);
	strbuf_addstr(hint, capture_hint(opt->name));
	return -1;
}

/* Command-line form: one error line naming the switch, then the hint. */
static int apply_capture(struct profile_options *o, const char *name, const char *value)
{
	const char *why = NULL;

	if (parse_capture(name, value, &o->capture, &why) == 0)
		return 0;
	error("invalid value '%s' for --%s: %s", value, name, why);
	hint("%s", capture_hint(name));
	return -1;
}

static int apply_capture_range(struct profile_options *o, const char *value)
{
	return apply_capture(o, "capture-range", value);
}

static int apply_capture_range_end(struct profile_options *o, const char *value)
{
	return apply_capture(o, "capture-range-end", value);
}

static int apply_nvtx_capture(struct profile_options *o, const char *value)
{
	if (apply_capture(o, "nvtx-capture", value) < 0)
		return -1;
	o->nvtx_capture_given = 1;
	o->nvtx_capture_text = value;
	return 0;
}

static int apply_delay(struct profile_options *o, const char *value)
{
	return apply_capture(o, "delay", value);
}

static int apply_config(struct profile_options *o, const char *value)
{
	o->config_path = value; /* read before parsing, see profile_options_find_config() */
	return 0;
}

static int apply_print_config(struct profile_options *o, const char *value)
{
	o->print_config = 1;
	return 0;
}

#define BOOL_ROW .validate = config_validate_bool

static const struct profile_option options[] = {
    {"trace", 't', PROFILE_OPT_VALUE, "<list>",
     "what to trace: a comma list of cuda, nvtx, osrt, gpu-metrics, or none "
     "(default " PROFILE_DEFAULT_TRACE_TEXT
     "); nsys's other values (cublas, cudnn, mpi, opengl, ...) are accepted, named in one "
     "warning and ignored; openacc and the cuXXX libraries also turn on cuda, as in nsys",
     apply_trace, .validate = validate_trace, .default_value = PROFILE_DEFAULT_TRACE_TEXT},
    {"output", 'o', PROFILE_OPT_VALUE, "<file>",
     "report file; expands %q{VAR} (from the application's environment), %h (host), "
     "%p (application pid), %n (smallest free number) and %%; .db is appended when "
     "missing (default report%n: report1.db, report2.db, ...)",
     apply_output, .validate = validate_nonempty, .default_value = "report%n"},
    {"force-overwrite", 'f', PROFILE_OPT_BOOL, NULL,
     "overwrite an existing report file (default false)", apply_force, BOOL_ROW,
     .default_value = "false"},
    {"env-var", 'e', PROFILE_OPT_VALUE, "<A=B>",
     "set an environment variable for the application; repeatable, several as A=B,C=D", apply_env,
     .validate = NULL},
    {"osrt-threshold", 0, PROFILE_OPT_VALUE, "<ns>",
     "record OS runtime calls lasting at least this many nanoseconds (default 1000)",
     apply_threshold, .validate = config_validate_uint, .default_value = "1000"},
    {"osrt-backtrace-threshold", 0, PROFILE_OPT_VALUE, "<ns>",
     "take the backtrace of OS runtime calls lasting at least this many nanoseconds "
     "(OSRT_CALLCHAINS); 0: none (default 80000)",
     apply_bt_threshold, .validate = config_validate_uint, .default_value = "80000"},
    {"sample", 's', PROFILE_OPT_VALUE, "process-tree|none",
     "sample the CPU: the call stacks of every thread of the application's process tree, "
     "user space, every --sampling-period of CPU time (default process-tree)",
     apply_sample, .validate = config_validate_enum, .data = sample_values,
     .default_value = "process-tree"},
    {"sampling-period", 0, PROFILE_OPT_VALUE, "<ns>",
     "CPU time between two samples of a thread, in ns of the cpu-clock event, "
     "125000-16000000 (default 1000000: 1000 Hz)",
     apply_sampling_period, .validate = config_validate_uint, .default_value = "1000000"},
    {"sampling-frequency", 0, PROFILE_OPT_VALUE, "<Hz>",
     "the same as a rate, 100-8000 Hz (default 1000)", apply_sampling_frequency,
     .validate = config_validate_uint},
    {"backtrace", 'b', PROFILE_OPT_VALUE, "auto|fp|dwarf|lbr|none",
     "how samples get their call stacks: dwarf (unwind tables, libdw), fp (frame "
     "pointers), lbr (falls back to fp), none (the sampled function only); auto: dwarf "
     "(default auto)",
     apply_backtrace, .validate = config_validate_enum, .data = backtrace_values,
     .default_value = "auto"},
    {"python-sampling", 0, PROFILE_OPT_BOOL, NULL,
     "add the Python frames (function, file, line) of CPython 3.11 and 3.12 threads to their "
     "CPU samples, between the native frames that run them (default false)",
     apply_python_sampling, BOOL_ROW, .default_value = "false"},
    {"cpuctxsw", 0, PROFILE_OPT_VALUE, "process-tree|none",
     "record the context switches of the application's threads into SCHED_EVENTS "
     "(default process-tree)",
     apply_cpuctxsw, .validate = config_validate_enum, .data = sample_values,
     .default_value = "process-tree"},
    {"stats", 0, PROFILE_OPT_BOOL, NULL,
     "print the default stats reports after the run (default false)", apply_stats, BOOL_ROW,
     .default_value = "false"},
    {"show-output", 'w', PROFILE_OPT_BOOL, NULL,
     "let the application write to this terminal; false sends its stdout and stderr "
     "to /dev/null (default true)",
     apply_show_output, BOOL_ROW, .default_value = "true"},
    {"trace-fork-before-exec", 0, PROFILE_OPT_BOOL, NULL,
     "also trace a forked child before it calls exec (default false: a child is traced "
     "from its exec on)",
     apply_trace_fork, BOOL_ROW, .default_value = "false"},
    {"cuda-memory-usage", 0, PROFILE_OPT_BOOL, NULL,
     "trace GPU memory allocations and frees (default false)", apply_cuda_memory_usage, BOOL_ROW,
     .default_value = "false"},
    {"host-memory-usage", 0, PROFILE_OPT_BOOL, NULL,
     "trace host memory: malloc, calloc, realloc, free, the aligned allocators and anonymous "
     "mmap/munmap/mremap, with exact totals and peaks (gprof-cli's own; nsys has no such "
     "switch; default false)",
     apply_host_memory_usage, BOOL_ROW, .default_value = "false"},
    {"host-memory-threshold", 0, PROFILE_OPT_VALUE, "<bytes>",
     "with --host-memory-usage, record each call on a block of at least this many bytes; "
     "smaller ones only update exact per-thread and process totals (default 4096)",
     apply_host_memory_threshold, .validate = config_validate_uint, .default_value = "4096"},
    {"cuda-graph-trace", 0, PROFILE_OPT_VALUE, "graph|node",
     "trace CUDA graph launches as whole graphs or node by node (default graph)",
     apply_cuda_graph_trace, .validate = config_validate_enum, .data = graph_values,
     .default_value = "graph"},
    {"cuda-trace-all-apis", 0, PROFILE_OPT_BOOL, NULL,
     "also record the high-volume CUDA API calls filtered out by default "
     "(default false)",
     apply_cuda_trace_all_apis, BOOL_ROW, .default_value = "false"},
    {"cuda-flush-interval", 0, PROFILE_OPT_VALUE, "<ms>",
     "hand CUPTI's buffered CUDA records over every this many milliseconds; 0: only when "
     "a buffer fills and at exit (default 200)",
     apply_cuda_flush_interval, .validate = config_validate_uint, .default_value = "200"},
    {"cudabacktrace", 0, PROFILE_OPT_VALUE, "all|kernel|memory|sync|other|none[:<ns>]",
     "take the backtrace of the CUDA API calls of these classes (a comma list) lasting at "
     "least the threshold (default 1000 ns) into CUDA_CALLCHAINS, e.g. kernel:500,sync "
     "(default none)",
     apply_cudabacktrace, .validate = validate_cudabacktrace, .default_value = "none"},
    {"python-backtrace", 0, PROFILE_OPT_VALUE, "cuda|none|false",
     "cuda: add the calling thread's Python frames (function, file, line; CPython 3.11 and "
     "3.12) to each CUDA API backtrace --cudabacktrace takes, before the native frames that "
     "run them; needs -t cuda and --cudabacktrace, not --python-sampling (default none)",
     apply_python_backtrace, .validate = config_validate_enum, .data = python_backtrace_values,
     .default_value = "none"},
    {"mpi-impl", 0, PROFILE_OPT_VALUE, "openmpi|mpich",
     "the MPI implementation's ABI for -t mpi: openmpi, or mpich for MPICH and its "
     "derivatives (default: detected from the MPI library the application loads)",
     apply_mpi_impl, .validate = config_validate_enum, .data = mpi_impl_values},
    {"gpu-metrics-devices", 0, PROFILE_OPT_VALUE, "all|none|cuda-visible|<ids>",
     "GPU devices whose metrics are collected; anything but none turns on -t gpu-metrics "
     "(default none; cuda-visible when -t gpu-metrics is given)",
     apply_gpu_devices, .validate = validate_gpu_devices},
    {"gpu-metrics-frequency", 0, PROFILE_OPT_VALUE, "<Hz>",
     "GPU metrics sampling rate, 10 to 200000 Hz (default 10000)", apply_gpu_frequency,
     .validate = validate_gpu_frequency, .default_value = "10000"},
    {"gpu-metrics-set", 0, PROFILE_OPT_VALUE, "<name>|file:<yaml>",
     "GPU metrics to collect: default (sampling: nsys's set for the chip, gh100 on H100/H200), "
     "gh100, minimal, or a YAML list (default default)",
     apply_gpu_set, .default_value = "default"},
    {"gpu-metrics-mode", 0, PROFILE_OPT_VALUE, "sample|range",
     "sample: PM sampling over time (GPU_METRICS); range: per kernel or NVTX range with "
     "kernel replay (GPROF_RANGE_METRICS) (default sample)",
     apply_gpu_mode, .validate = config_validate_enum, .data = gpu_mode_values,
     .default_value = "sample"},
    {"gpu-metrics-ranges", 0, PROFILE_OPT_VALUE, "kernel|nvtx",
     "range mode: one range per kernel launch or per NVTX push/pop range (default kernel)",
     apply_gpu_ranges, .validate = config_validate_enum, .data = gpu_ranges_values,
     .default_value = "kernel"},
    {"duration", 'd', PROFILE_OPT_VALUE, "<seconds>",
     "end the session this many seconds (> 0, fractions allowed) after the launch (after "
     "--delay, when given); the "
     "application's process group then gets the --kill signal (default: no limit)",
     apply_duration, .validate = validate_seconds},
    {"kill", 0, PROFILE_OPT_VALUE, "<signal>",
     "signal sent to the application's process group when the session ends before it "
     "(--duration, --capture-range-end=stop-shutdown or repeat-shutdown:N): "
     "none, sigterm, sigkill or a signal number (default sigterm)",
     apply_kill, .validate = validate_kill, .default_value = "sigterm"},
    {"stop-on-exit", 'x', PROFILE_OPT_BOOL, NULL,
     "end the session when the launched process exits; false keeps recording until "
     "--duration expires, which it then requires (default true)",
     apply_stop_on_exit, BOOL_ROW, .default_value = "true"},
    {"wait", 0, PROFILE_OPT_VALUE, "primary|all",
     "after the launched process exits: primary waits at most 0.5 s for its children's "
     "data; all also waits until every process it started has exited (default all)",
     apply_wait, .validate = config_validate_enum, .data = wait_values, .default_value = "all"},
    {"capture-range", 'c', PROFILE_OPT_VALUE, "none|cudaProfilerApi|nvtx",
     "collect only inside capture ranges: between cudaProfilerStart/cuProfilerStart and "
     "the matching Stop, or inside the NVTX range named by -p; every selected collector "
     "waits for the range (default none: collect from the launch)",
     apply_capture_range, .validate = validate_capture, .default_value = "none"},
    {"capture-range-end", 0, PROFILE_OPT_VALUE, "<mode>",
     "what the end of a capture range does: none (ignore it), stop (stop collecting, the "
     "application runs on), stop-shutdown (stop, then end the application with --kill), "
     "repeat[:N] (one report per range, NAME.1.db, NAME.2.db, ..., at most N), "
     "repeat-shutdown:N (the same, then end the application after N) "
     "(default stop-shutdown)",
     apply_capture_range_end, .validate = validate_capture, .default_value = "stop-shutdown"},
    {"nvtx-capture", 'p', PROFILE_OPT_VALUE, "<range[@domain|@*]>",
     "the NVTX push/pop or start/end range that opens a capture range with -c nvtx: "
     "range (default domain), range@domain, or range@* (any domain); \\@ is a literal @",
     apply_nvtx_capture, .validate = validate_capture},
    {"delay", 'y', PROFILE_OPT_VALUE, "<seconds>",
     "start collecting this many seconds (>= 0, fractions allowed) after the launch; "
     "with -c, ranges that start earlier are ignored; --duration counts from the end of "
     "the delay (default 0)",
     apply_delay, .validate = validate_capture, .default_value = "0"},
    {"config", 0, PROFILE_OPT_VALUE, "<file.yaml>",
     "read options from a YAML file (keys are these long names); the command line wins "
     "(default $" CONFIG_ENV_VAR ")",
     apply_config, .no_config = 1},
    {"print-config", 0, PROFILE_OPT_FLAG, NULL,
     "print the effective options (config file, command line and defaults) as YAML and "
     "exit; no application needed",
     apply_print_config, .no_config = 1},
    {"help", 'h', PROFILE_OPT_FLAG, NULL, "print this help and exit", apply_help, .no_config = 1},
};
#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

/* The config schema, and for each option row its schema row (NULL: no config key). */
static struct config_option schema_rows[N_OPTIONS];
static const struct config_option *schema_of[N_OPTIONS];
static struct config_schema schema;

const struct config_schema *profile_config_schema(void)
{
	size_t n = 0;

	if (schema.options)
		return &schema;
	for (size_t i = 0; i < N_OPTIONS; i++) {
		const struct profile_option *op = &options[i];
		struct config_option *co = &schema_rows[n];

		if (op->no_config)
			continue;
		co->name = op->name;
		co->short_name = op->short_name;
		co->type = op->kind == PROFILE_OPT_BOOL	  ? CONFIG_BOOL
			   : !strcmp(op->name, "trace")	  ? CONFIG_LIST
			   : !strcmp(op->name, "env-var") ? CONFIG_ENV
							  : CONFIG_STRING;
		co->validate = op->validate;
		co->data = op->data;
		co->default_value = op->default_value;
		schema_of[i] = co;
		n++;
	}
	schema.options = schema_rows;
	schema.n = n;
	return &schema;
}

const struct profile_option *profile_option_find(const char *name)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (!strcmp(options[i].name, name))
			return &options[i];
	return NULL;
}

void profile_options_init(struct profile_options *o)
{
	memset(o, 0, sizeof(*o));
	o->trace = PROFILE_DEFAULT_TRACE;
	o->gpu_metrics_frequency = 10000;
	o->gpu_metrics_mode = GP_METRICS_MODE_SAMPLE;
	o->osrt_threshold_ns = PROFILE_DEFAULT_OSRT_THRESH;
	o->osrt_bt_threshold_ns = 80000; /* nsys's --osrt-backtrace-threshold */
	for (int i = 0; i < PROFILE_CUDABT_CLASSES; i++)
		o->cudabt_ns[i] = PROFILE_CUDABT_OFF; /* nsys's --cudabacktrace=none */
	o->host_memory_threshold = PROFILE_DEFAULT_HOSTMEM_THR;
	o->sample = 1;
	o->cpuctxsw = 1;
	o->backtrace = SAMPLER_BT_DWARF;
	o->sampling_period_ns = SAMPLER_DEFAULT_PERIOD_NS;
	o->cuda_flush_interval_ms = PROFILE_DEFAULT_CUDA_FLUSH_MS;
	o->show_output = 1;
	o->kill_signal = PROFILE_DEFAULT_KILL;
	o->stop_on_exit = 1;
	o->wait_all = 1;
}

void profile_options_release(struct profile_options *o)
{
	for (size_t i = 0; i < o->n_env; i++)
		free(o->env[i]);
	free(o->env);
	o->env = NULL;
	o->n_env = 0;
}

/* Print `text` word-wrapped from column `col` to `width`, continuing at `indent`. */
static void print_wrapped(FILE *f, const char *text, int col, int indent, int width)
{
	const char *p = text;

	while (*p) {
		const char *word_end = p;
		int len;

		while (*word_end && *word_end != ' ')
			word_end++;
		len = (int)(word_end - p);
		if (col > indent && col + 1 + len > width) {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', f);
			col++;
		}
		fwrite(p, 1, (size_t)len, f);
		col += len;
		p = word_end;
		while (*p == ' ')
			p++;
	}
	fputc('\n', f);
}

const struct profile_option *profile_option_short(int c)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (options[i].short_name && options[i].short_name == c)
			return &options[i];
	return NULL;
}

void profile_options_help(FILE *f)
{
	fprintf(f, "usage: gprof-cli profile [<options>] <application> [<application-arguments>]\n"
		   "\n"
		   "Launch <application>, trace it, and write a report (an SQLite database in the\n"
		   "Nsight Systems export schema).  Options end at the application name.\n"
		   "\n"
		   "options:\n");
	profile_options_help_rows(f, NULL);
	fprintf(f,
		"\n"
		"Boolean options also take nsys's forms --stats true and -f true.  The exit\n"
		"status is the application's (128+N when signal N killed it); 126 and 127 when\n"
		"it cannot be run; before it runs, 1 (internal failure, missing library), 2 (bad\n"
		"command line) or 4 (report exists without -f).  See 'man gprof-cli-profile'.\n");
}

void profile_options_help_rows(FILE *f, int (*keep)(const struct profile_option *op))
{
	const int indent = 32;

	for (size_t i = 0; i < N_OPTIONS; i++) {
		const struct profile_option *op = &options[i];
		char head[96];
		int n;

		if (keep && !keep(op))
			continue;

		if (op->short_name)
			n = snprintf(head, sizeof(head), "  -%c, --%s", op->short_name, op->name);
		else
			n = snprintf(head, sizeof(head), "      --%s", op->name);
		if (op->kind == PROFILE_OPT_BOOL)
			n += snprintf(head + n, sizeof(head) - (size_t)n, "[=true|false]");
		else if (op->kind == PROFILE_OPT_VALUE)
			n += snprintf(head + n, sizeof(head) - (size_t)n, "=%s", op->arg);
		fputs(head, f);
		if (n >= indent - 1) {
			fprintf(f, "\n%*s", indent, "");
			n = indent;
		} else {
			fprintf(f, "%*s", indent - n, "");
			n = indent;
		}
		print_wrapped(f, op->help, n, indent, 80);
	}
}

/* The row a long option word names as getopt_long reads it: the exact name, or a
 * prefix of exactly one name (--conf = --config).  NULL when unknown or ambiguous. */
static const struct profile_option *long_option(const char *word, size_t len)
{
	const struct profile_option *found = NULL;

	for (size_t k = 0; k < N_OPTIONS; k++) {
		if (strncmp(options[k].name, word, len))
			continue;
		if (strlen(options[k].name) == len)
			return &options[k];
		if (found)
			return NULL;
		found = &options[k];
	}
	return found;
}

const char *profile_options_find_config(int argc, char **argv)
{
	const char *path = NULL;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const struct profile_option *op = NULL;

		if (!strcmp(a, "--") || a[0] != '-' || !a[1])
			break;
		if (a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);

			op = long_option(a + 2, len);
			if (op && !strcmp(op->name, "config")) {
				if (eq)
					path = eq + 1;
				else if (i + 1 < argc)
					path = argv[++i];
				continue;
			}
			if (eq || !op)
				continue;
		} else {
			/* a cluster of short switches: only the last may take a value */
			const char *c = a + 1;

			for (; *c; c++) {
				op = NULL;
				for (size_t k = 0; k < N_OPTIONS; k++)
					if (options[k].short_name == *c)
						op = &options[k];
				if (!op || op->kind != PROFILE_OPT_FLAG)
					break;
			}
			if (!op || c[1])
				continue; /* unknown, or the value is attached (-tnvtx) */
		}
		if (op->kind == PROFILE_OPT_VALUE)
			i++;
		else if (op->kind == PROFILE_OPT_BOOL && i + 2 < argc &&
			 (!strcmp(argv[i + 1], "true") || !strcmp(argv[i + 1], "false")))
			i++;
	}
	return path;
}

/* Record an applied option in o->record (see profile_options.h). */
static void record_option(struct profile_options *o, const struct profile_option *op,
			  const char *value)
{
	const struct config_option *co;

	if (!o->record)
		return;
	profile_config_schema();
	co = schema_of[op - options];
	if (!co)
		return;
	if (co->type == CONFIG_BOOL) {
		config_set(o->record, co, value && !strcmp(value, "false") ? "false" : "true", NULL,
			   0, 0);
	} else if (co->type == CONFIG_ENV) {
		struct strbuf err = STRBUF_INIT;
		char **items;
		size_t n;

		if (config_env_split(value, &items, &n, &err) == 0) {
			for (size_t i = 0; i < n; i++) {
				config_set(o->record, co, items[i], NULL, 0, 0);
				free(items[i]);
			}
			free(items);
		}
		strbuf_release(&err);
	} else {
		config_set(o->record, co, value, NULL, 0, 0);
	}
}

/* Could `word` be the application: a path (it holds '/'), or a file found in $PATH? */
static int word_is_command(const char *word)
{
	const char *p = getenv("PATH");

	if (strchr(word, '/'))
		return 1;
	if (!p)
		p = "/bin:/usr/bin";
	for (;;) {
		const char *end = strchr(p, ':');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char *cand = xasprintf("%.*s%s%s", (int)len, p, len ? "/" : "", word);
		int found = access(cand, F_OK) == 0;

		free(cand);
		if (found)
			return 1;
		if (!end)
			return 0;
		p = end + 1;
	}
}

/* Is `word` one of this table's switches ("--name[=...]", a unique prefix of a long
 * name, or "-x..." with x a short switch)? */
static int looks_like_option(const char *word)
{
	if (word[0] != '-' || !word[1])
		return 0;
	if (word[1] == '-') {
		const char *eq = strchr(word + 2, '=');
		size_t len = eq ? (size_t)(eq - word - 2) : strlen(word + 2);

		return len > 0 && long_option(word + 2, len) != NULL;
	}
	for (size_t k = 0; k < N_OPTIONS; k++)
		if (options[k].short_name == word[1])
			return 1;
	return 0;
}

/* Find the row for a getopt return value. */
static const struct profile_option *row_for(int c)
{
	if (c >= 1000 && c < 1000 + (int)N_OPTIONS)
		return &options[c - 1000];
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (options[i].short_name && options[i].short_name == c)
			return &options[i];
	return NULL;
}

int profile_options_parse(struct profile_options *o, int argc, char **argv)
{
	struct option longopts[N_OPTIONS + 1];
	char shortopts[3 * N_OPTIONS + 3];
	size_t ns = 0;
	int c;

	shortopts[ns++] = '+';
	shortopts[ns++] = ':';
	for (size_t i = 0; i < N_OPTIONS; i++) {
		const struct profile_option *op = &options[i];

		longopts[i].name = op->name;
		longopts[i].has_arg = op->kind == PROFILE_OPT_VALUE  ? required_argument
				      : op->kind == PROFILE_OPT_BOOL ? optional_argument
								     : no_argument;
		longopts[i].flag = NULL;
		longopts[i].val = op->short_name ? op->short_name : 1000 + (int)i;
		if (op->short_name) {
			shortopts[ns++] = (char)op->short_name;
			if (op->kind == PROFILE_OPT_VALUE)
				shortopts[ns++] = ':';
			else if (op->kind == PROFILE_OPT_BOOL) {
				shortopts[ns++] = ':';
				shortopts[ns++] = ':';
			}
		}
	}
	memset(&longopts[N_OPTIONS], 0, sizeof(longopts[N_OPTIONS]));
	shortopts[ns] = '\0';

	opterr = 0;
	optind = 0; /* full re-initialisation (GNU getopt) */
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		const struct profile_option *op;
		const char *value;

		if (c == '?') {
			if (optopt && row_for(optopt))
				error("option '%s' takes no value", argv[optind - 1]);
			else if (optopt && optopt < 1000)
				error("unknown option '-%c'", optopt);
			else
				error("unknown option '%s'", argv[optind - 1]);
			hint("see 'gprof-cli profile --help'");
			return -1;
		}
		if (c == ':') {
			op = row_for(optopt);
			error("option '--%s' needs a value", op ? op->name : "?");
			hint("see 'gprof-cli profile --help'");
			return -1;
		}
		op = row_for(c);
		if (!op)
			die("internal error: getopt returned %d", c);
		value = optarg;
		/* "-p -o x ./app": the switch lost its value to the next option */
		if (op->kind == PROFILE_OPT_VALUE && value && optind > 1 &&
		    value == argv[optind - 1] && looks_like_option(value)) {
			error("option '--%s' needs a value (got the option '%s')", op->name, value);
			hint("give the value right after the switch, e.g. --%s=<value>", op->name);
			return -1;
		}
		/* nsys's space-separated boolean form: --stats true ./app, -f false ./app */
		if (op->kind == PROFILE_OPT_BOOL && !value && optind + 1 < argc &&
		    (!strcmp(argv[optind], "true") || !strcmp(argv[optind], "false")))
			value = argv[optind++];
		/* "-w maybe": a word after a bare boolean switch that is no command either was
		 * meant as its value (nsys: -w true|false), not as the application */
		if (op->kind == PROFILE_OPT_BOOL && !value && optind < argc &&
		    argv[optind][0] != '-' && strcmp(argv[optind], "true") &&
		    strcmp(argv[optind], "false") && !word_is_command(argv[optind])) {
			error("invalid value '%s' for '--%s'", argv[optind], op->name);
			hint("use --%s=true or --%s=false ('%s' is not a command in $PATH either)",
			     op->name, op->name, argv[optind]);
			return -1;
		}
		if (op->apply(o, value) < 0)
			return -1;
		record_option(o, op, value);
		if (o->help) {
			profile_options_help(stdout);
			return 1;
		}
	}
	if (!o->stop_on_exit && !o->duration_ns) {
		error("--stop-on-exit=false needs --duration");
		hint("give the session's length, e.g. -x false -d 60");
		return -1;
	}
	if (o->capture.mode == GP_CAPTURE_NVTX && !o->nvtx_capture_given) {
		error("--capture-range=nvtx needs --nvtx-capture");
		hint("name the NVTX range that opens a capture range, e.g. -c nvtx -p step");
		return -1;
	}
	if (o->nvtx_capture_given && o->capture.mode != GP_CAPTURE_NVTX) {
		error("--nvtx-capture needs --capture-range=nvtx");
		hint("add -c nvtx, e.g. -c nvtx -p step");
		return -1;
	}
	if (o->capture.mode == GP_CAPTURE_CUDA && !(o->trace & PROFILE_TRACE_CUDA)) {
		warning("-c cudaProfilerApi without cuda in --trace: cudaProfilerStart is not "
			"seen, so nothing will be collected");
		hint("add cuda to the list, e.g. -t cuda,nvtx");
	}
	if (o->capture.mode == GP_CAPTURE_NVTX && !(o->trace & PROFILE_TRACE_NVTX)) {
		warning("-c nvtx without nvtx in --trace: the -p range is not seen, so nothing "
			"will be collected");
		hint("add nvtx to the list, e.g. -t nvtx,osrt");
	}
	if (optind >= argc && !o->print_config) {
		error("no application given");
		hint("usage: gprof-cli profile [<options>] <application> [<arguments>]");
		return -1;
	}
	if (o->trace_ignored) {
		char *names = profile_trace_ignored_text(o, ", ");

		warning("--trace values not traced by gprof-cli: %s (ignored)", names);
		free(names);
	}
	if (optind >= argc) {
		o->app_argc = 0;
		o->app_argv = argv + argc;
		return 0;
	}
	o->app_argc = argc - optind;
	o->app_argv = argv + optind;
	return 0;
}
