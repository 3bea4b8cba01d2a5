/*
 * cmd_profile.c - `gprof-cli profile [<options>] <application> [<arguments>]`: launch
 * the application with the injection libraries, record what they send into a report
 * (Nsight Systems SQLite export schema) and exit with the application's status.
 *
 * Order (nothing is created until everything is validated):
 *   0. load the YAML config (--config FILE, else $GPROF_CLI_CONFIG; core/config.h): its
 *      settings become --name=value words before the command line's, so the command
 *      line wins; errors (FILE:LINE:COLUMN:) exit 2; --print-config prints the
 *      effective options as YAML and exits 0;
 *   1. parse options (profile_options.c); usage errors exit 2;
 *   2. resolve the application like execvp (launch.c): 127 / 126, no report;
 *   3. check the injection libraries for the requested trace;
 *   4. build the application's environment and expand -o (core/outname.c: %q{VAR} from
 *      that environment, %h, %n; errors exit 2);
 *   5. fork the corked child while still single-threaded (its pid completes -o %p);
 *   6. start the recorder (core/recorder.h), which creates the report and the channel;
 *      output errors (exists without -f, missing or unwritable folder) cancel the child
 *      and exit 4;
 *   7. uncork with the channel path, wait for the application (signals forwarded);
 *      the session ends (nsys-cli.md section 1.2):
 *        - when a capture asks for it (--capture-range-end=stop-shutdown after the
 *          first range, repeat-shutdown:N after the N-th; recorder_shutdown_fd()):
 *          handled as an expired duration, below;
 *        - when --duration expires (counted from the end of -y/--delay): the
 *          application's process group gets --kill
 *          (then gprof-cli waits up to KILL_GRACE_MS for it to exit), or with
 *          --kill none it is left running and the report is closed at once;
 *        - when the launched process exits (--stop-on-exit=true): with --wait=all
 *          gprof-cli first waits until every process the application started has
 *          exited (gprof-cli is their subreaper, so they are re-parented to it), or the
 *          duration expires, or gprof-cli gets SIGINT/SIGTERM/SIGHUP/SIGQUIT; with
 *          --wait=primary it goes on at once;
 *        - with --stop-on-exit=false the launched process's exit does not end it: it
 *          ends when the duration expires (or on a signal to gprof-cli);
 *   8. recorder_finish() with a short linger for children still connected (none when
 *      the application was left running), then the end summary on stderr ("Generated:"
 *      as nsys, one line per report: --capture-range-end=repeat writes NAME.1.db,
 *      NAME.2.db, ...; and the number of capture ranges), one warning per -t value that
 *      recorded nothing in the whole session (e.g. "no CUDA events collected" for a
 *      program that never initialised CUDA; also GPROF_TRACE_NOT_SEEN in the reports),
 *      losses, and --stats (of every report).
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cmds.h"
#include "cli/launch.h"
#include "cli/metrics_process.h"
#include "cli/profile_options.h"
#include "cli/session.h"
#include "cli/streams.h"
#include "core/metrics_set.h"
#include "core/config.h"
#include "core/outname.h"
#include "core/recorder.h"
#include "core/report.h"
#include "core/report_session.h"
#include "core/sampler.h"
#include "core/util.h"
#include "core/wire.h"
#include "exporters/stats.h"

#define OSRT_LIB     "libgprof-osrt.so"
#define INJECT_LIB   "libgprof-inject.so"
#define MPI_LIB	     "libgprof-mpi.so"
#define CUDALIBS_LIB "libgprof-cudalibs.so"
#define HOSTMEM_LIB  "libgprof-hostmem.so"
/* How long recorder_finish() waits for processes the application left running that
 * are still connected (ms); $GPROF_CLI_LINGER_MS overrides. */
#define DEFAULT_LINGER_MS 500
/* How long gprof-cli waits for the application to exit after the --kill signal (ms). */
#define KILL_GRACE_MS 5000
/* Broken backtraces said at the end only from this many stacks and this share of the
 * samples (GPROF_CPU_UNWIND_FAILURES holds the exact count either way) */
#define UNWIND_FAILURES_SAID_MIN     20
#define UNWIND_FAILURES_SAID_PERCENT 5

/* A growable NULL-terminated environment ("NAME=VALUE" strings, owned). */
struct envlist {
	char **v;
	size_t n, alloc;
};

static void env_init(struct envlist *e, char **from)
{
	memset(e, 0, sizeof(*e));
	for (size_t i = 0; from && from[i]; i++) {
		if (e->n + 2 > e->alloc) {
			e->alloc = e->alloc ? 2 * e->alloc : 64;
			e->v = xrealloc(e->v, e->alloc * sizeof(*e->v));
		}
		e->v[e->n++] = xstrdup(from[i]);
	}
	if (!e->v)
		e->v = xcalloc(1, sizeof(*e->v));
	e->v[e->n] = NULL;
}

static ssize_t env_index(const struct envlist *e, const char *name, size_t len)
{
	for (size_t i = 0; i < e->n; i++)
		if (!strncmp(e->v[i], name, len) && e->v[i][len] == '=')
			return (ssize_t)i;
	return -1;
}

/* The value of name in e, or NULL. */
static const char *env_get(const struct envlist *e, const char *name)
{
	ssize_t i = env_index(e, name, strlen(name));

	return i < 0 ? NULL : e->v[i] + strlen(name) + 1;
}

/* Set "NAME=VALUE" (takes ownership of kv). */
static void env_put(struct envlist *e, char *kv)
{
	const char *eq = strchr(kv, '=');
	ssize_t i = env_index(e, kv, (size_t)(eq - kv));

	if (i >= 0) {
		free(e->v[i]);
		e->v[i] = kv;
		return;
	}
	if (e->n + 2 > e->alloc) {
		e->alloc = e->alloc ? 2 * e->alloc : 64;
		e->v = xrealloc(e->v, e->alloc * sizeof(*e->v));
	}
	e->v[e->n++] = kv;
	e->v[e->n] = NULL;
}

static void env_set(struct envlist *e, const char *name, const char *value)
{
	env_put(e, xasprintf("%s=%s", name, value));
}

static void env_release(struct envlist *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i]);
	free(e->v);
	memset(e, 0, sizeof(*e));
}

/* Absolute form of the injection library directory (LD_PRELOAD must not depend on
 * the application's working directory). */
static char *abs_libdir(void)
{
	const char *dir = gp_libdir();
	char buf[PATH_MAX];

	if (realpath(dir, buf))
		return xstrdup(buf);
	return xstrdup(dir);
}

static int check_lib(const char *libdir, const char *lib, const char *what)
{
	char *p = xasprintf("%s/%s", libdir, lib);
	int ok = access(p, R_OK) == 0;

	if (!ok) {
		error("cannot trace %s: '%s' not found", what, p);
		hint("build it with 'make', or point GPROF_CLI_LIBDIR at the folder holding %s",
		     lib);
	}
	free(p);
	return ok ? 0 : -1;
}

/* Append s to sb, shell-quoted when it holds anything but safe characters. */
static void add_quoted(struct strbuf *sb, const char *s)
{
	if (*s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
			    "-_./=:,+%@") == strlen(s)) {
		strbuf_addstr(sb, s);
		return;
	}
	strbuf_addch(sb, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			strbuf_addstr(sb, "'\\''");
		else
			strbuf_addch(sb, *s);
	}
	strbuf_addch(sb, '\'');
}

/* META_DATA_CAPTURE rows: nsys names where nsys has one, GPROF_* for ours. */
struct meta_list {
	struct report_meta *v;
	char **owned;
	size_t n, alloc, n_owned;
};

static void meta_add(struct meta_list *m, const char *name, const char *value)
{
	if (m->n == m->alloc) {
		m->alloc = m->alloc ? 2 * m->alloc : 64;
		m->v = xrealloc(m->v, m->alloc * sizeof(*m->v));
	}
	m->v[m->n].name = name;
	m->v[m->n].value = value;
	m->n++;
}

/* Add a row whose name and value are heap strings the list frees later. */
static void meta_add_owned(struct meta_list *m, char *name, char *value)
{
	m->owned = xrealloc(m->owned, (m->n_owned + 2) * sizeof(*m->owned));
	m->owned[m->n_owned++] = name;
	m->owned[m->n_owned++] = value;
	meta_add(m, name, value);
}

/* Add a row with a constant name and a heap value the list frees later. */
static void meta_add_value(struct meta_list *m, const char *name, char *value)
{
	m->owned = xrealloc(m->owned, (m->n_owned + 1) * sizeof(*m->owned));
	m->owned[m->n_owned++] = value;
	meta_add(m, name, value);
}

static void meta_release(struct meta_list *m)
{
	for (size_t i = 0; i < m->n_owned; i++)
		free(m->owned[i]);
	free(m->owned);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

static const char *tf(int b)
{
	return b ? "true" : "false";
}

/* The --kill value as given ("none", "sigterm", "sigkill" or the number). */
static char *kill_text(int sig)
{
	if (!sig)
		return xstrdup("none");
	if (sig == SIGTERM)
		return xstrdup("sigterm");
	if (sig == SIGKILL)
		return xstrdup("sigkill");
	return xasprintf("%d", sig);
}

static void build_meta(struct meta_list *m, const struct profile_options *o, int argc, char **argv,
		       const char *app_path, const char *report, const char *libdir,
		       const char *cuda_opts, const char *config_path)
{
	struct strbuf cmd = STRBUF_INIT, envs = STRBUF_INIT;
	const char *nvtx_arg = o->nvtx_capture_text;
	char endbuf[64];

	strbuf_addstr(&cmd, "gprof-cli");
	for (int i = 0; i < argc; i++) {
		strbuf_addch(&cmd, ' ');
		add_quoted(&cmd, argv[i]);
	}
	for (size_t i = 0; i < o->n_env; i++) {
		if (i)
			strbuf_addch(&envs, ',');
		strbuf_addstr(&envs, o->env[i]);
	}

	meta_add(m, "DEVICE_ID", "Local (CLI)");
	meta_add(m, "DEVICE_TYPE", "Unix");
	meta_add(m, "START_TRIGGER",
		 o->capture.mode == GP_CAPTURE_CUDA   ? "CudaProfilerApi"
		 : o->capture.mode == GP_CAPTURE_NVTX ? "Nvtx"
		 : o->capture.delay_ns		      ? "Delay"
						      : "Immediate");
	if (o->trace & PROFILE_TRACE_NVTX)
		meta_add(m, "CAPTURE_EVENT_TYPE", "NvtxEvents");
	if (o->trace & PROFILE_TRACE_CUDA)
		meta_add(m, "CAPTURE_EVENT_TYPE", "Cuda");
	meta_add(m, "PROCESS_0:HOW_TO_ATTACH", "LaunchAnother");
	meta_add(m, "PROCESS_0:LAUNCH_AS_ROOT", "false");
	meta_add(m, "PROCESS_0:COMMAND", app_path);
	for (int i = 1; i < o->app_argc; i++)
		meta_add_owned(m, xasprintf("PROCESS_0:ARGUMENT_%d", i - 1),
			       xstrdup(o->app_argv[i]));
	for (size_t i = 0; i < o->n_env; i++)
		meta_add_owned(m, xasprintf("PROCESS_0:ENVIRONMENT_%zu", i), xstrdup(o->env[i]));
	meta_add(m, "PROCESS_0:COLLECT_NVTX_TRACE", tf(o->trace & PROFILE_TRACE_NVTX));
	meta_add(m, "PROCESS_0:COLLECT_CUDA_TRACE", tf(o->trace & PROFILE_TRACE_CUDA));
	meta_add(m, "PROCESS_0:COLLECT_GPU_MEMORY_USAGE", tf(o->cuda_memory_usage));
	meta_add(m, "PROCESS_0:TRACE_FORK_BEFORE_EXEC", tf(o->trace_fork_before_exec));
	meta_add(m, "PROCESS_0:CUDA_GRAPH_TRACE_OPTIONS:MODE",
		 o->cuda_graph_node ? "Node" : "Graph");
	meta_add(m, "PROCESS_0:CUDA_SKIP_SOME_API_CALLS", tf(!o->cuda_trace_all_apis));
	meta_add_value(m, "PROCESS_0:CUDA_FLUSH_INTERVAL",
		       xasprintf("%u", o->cuda_flush_interval_ms));
	meta_add(m, "OS_RUNTIME_OPTIONS:COLLECT_OS_RUNTIME_TRACE",
		 tf(o->trace & PROFILE_TRACE_OSRT));
	meta_add_value(m, "OS_RUNTIME_OPTIONS:DURATION_THRESHOLD_NS",
		       xasprintf("%llu", (unsigned long long)o->osrt_threshold_ns));
	meta_add_value(m, "GPROF_OSRT_BACKTRACE_THRESHOLD_NS",
		       xasprintf("%llu", (unsigned long long)o->osrt_bt_threshold_ns));
	/* (nsys's report of a run without backtraces has no key for them: ours) */
	meta_add_value(m, "GPROF_CUDA_BACKTRACE", profile_cudabacktrace_text(o->cudabt_ns, 0));
	meta_add(m, "GPU_METRICS_OPTIONS:COLLECT", tf(o->trace & PROFILE_TRACE_GPU_METRICS));
	/* CPU sampling, with nsys's names (its report's META_DATA_CAPTURE) */
	meta_add(m, "LINUX_PERF_OPTIONS:COLLECT_IP_BACKTRACE_SAMPLES", tf(o->sample));
	meta_add(m, "LINUX_PERF_OPTIONS:COLLECT_CPU_CTXSW_TRACE", tf(o->cpuctxsw));
	meta_add_value(m, "LINUX_PERF_OPTIONS:SAMPLING_PERIOD",
		       xasprintf("%llu", (unsigned long long)o->sampling_period_ns));
	meta_add(m, "LINUX_PERF_OPTIONS:COLLECTION_MODE", "ProcessTree");
	meta_add(m, "LINUX_PERF_OPTIONS:CPU_IP_TRIGGER_TYPE", "Software");
	meta_add(m, "USE_FRAME_POINTERS",
		 tf(o->backtrace == SAMPLER_BT_FP || o->backtrace == SAMPLER_BT_LBR));
	meta_add(m, "USE_DWARF", tf(o->backtrace == SAMPLER_BT_DWARF));
	meta_add(m, "USE_LBRS", "false");
	meta_add(m, "GPROF_PYTHON_SAMPLING",
		 tf(o->python_sampling)); /* -b lbr falls back to fp (cpu-clock has no LBR) */
	meta_add(m, "GPROF_PYTHON_BACKTRACE", o->python_backtrace ? "cuda" : "none");

	meta_add_value(m, "GPROF_COMMAND_LINE", strbuf_detach(&cmd, NULL));
	meta_add_value(m, "GPROF_TRACE", xstrdup(profile_trace_text(o->trace)));
	meta_add_value(m, "GPROF_TRACE_IGNORED", profile_trace_ignored_text(o, ","));
	meta_add_value(m, "GPROF_OSRT_THRESHOLD_NS",
		       xasprintf("%llu", (unsigned long long)o->osrt_threshold_ns));
	meta_add_value(m, "GPROF_OPTIONS", xstrdup(cuda_opts));
	meta_add(m, "GPROF_FORCE_OVERWRITE", tf(o->force_overwrite));
	meta_add(m, "GPROF_STATS", tf(o->stats));
	meta_add(m, "GPROF_HOST_MEMORY_USAGE", tf(o->host_memory_usage));
	meta_add_value(m, "GPROF_HOST_MEMORY_THRESHOLD",
		       xasprintf("%llu", (unsigned long long)o->host_memory_threshold));
	meta_add(m, "GPROF_SHOW_OUTPUT", tf(o->show_output));
	meta_add_value(m, "GPROF_ENV_VARS", strbuf_detach(&envs, NULL));
	meta_add_value(m, "GPROF_LIBDIR", xstrdup(libdir));
	meta_add_value(m, "GPROF_CONFIG_FILE", xstrdup(config_path ? config_path : ""));
	meta_add_value(m, "GPROF_DURATION_NS",
		       xasprintf("%llu", (unsigned long long)o->duration_ns));
	meta_add_value(m, "GPROF_KILL", kill_text(o->kill_signal));
	meta_add(m, "GPROF_STOP_ON_EXIT", tf(o->stop_on_exit));
	meta_add(m, "GPROF_WAIT", o->wait_all ? "all" : "primary");
	meta_add(m, "GPROF_CAPTURE_MODE", capture_mode_name(o->capture.mode));
	meta_add_value(m, "GPROF_CAPTURE_RANGE_END",
		       xstrdup(capture_end_name(o->capture.end, o->capture.max_ranges, endbuf,
						sizeof(endbuf))));
	if (o->nvtx_capture_given)
		meta_add_value(m, "GPROF_NVTX_CAPTURE", xstrdup(nvtx_arg ? nvtx_arg : ""));
	meta_add_value(m, "GPROF_DELAY_NS",
		       xasprintf("%llu", (unsigned long long)o->capture.delay_ns));
}

/* The gpu-metrics part of $GPROF_CLI_OPTIONS (collectors/gpu_metrics.c reads it):
 * "<base>;gpu-metrics-mode=..;gpu-metrics-ranges=..;gpu-metrics-frequency=..;
 * gpu-metrics-devices=..;gpu-metrics-metrics=a,b,c".  NULL after printing an error (bad
 * metric set).  Range mode replays kernels: says so on stderr. */
static char *gpu_metrics_opts(const struct profile_options *o, const char *base)
{
	struct strbuf set = STRBUF_INIT;
	int range = o->gpu_metrics_mode == GP_METRICS_MODE_RANGE;
	char *s;

	if (metrics_set_resolve(o->gpu_metrics_set, o->gpu_metrics_mode, &set) < 0) {
		strbuf_release(&set);
		return NULL;
	}
	if (range)
		warning("--gpu-metrics-mode=range replays every %s once per metric pass and "
			"serialises kernels: GPU timings in this report are not comparable with a "
			"trace run",
			o->gpu_metrics_ranges_nvtx ? "NVTX range's kernels" : "kernel");
	s = xasprintf("%s;gpu-metrics-mode=%s;gpu-metrics-ranges=%s;gpu-metrics-frequency=%u;"
		      "gpu-metrics-devices=%s;gpu-metrics-metrics=%s",
		      base, range ? "range" : "sample",
		      o->gpu_metrics_ranges_nvtx ? "nvtx" : "kernel", o->gpu_metrics_frequency,
		      o->gpu_metrics_devices && strcmp(o->gpu_metrics_devices, "none")
			  ? o->gpu_metrics_devices
			  : "cuda-visible",
		      set.buf);
	strbuf_release(&set);
	return s;
}

/* Does gprof-cli's GPU metrics sampler process sample (cli/metrics_process.h), rather than
 * the application?  Sampling mode, unless $GPROF_CLI_METRICS_IN_APP=1. */
static int metrics_in_process(const struct profile_options *o)
{
	const char *e = getenv(METRICS_IN_APP_ENV);

	return (o->trace & PROFILE_TRACE_GPU_METRICS) &&
	       o->gpu_metrics_mode != GP_METRICS_MODE_RANGE && !(e && !strcmp(e, "1"));
}

/* Put the injection environment into e (see issue 2 and man gprof-cli-profile). */
static void build_env(struct envlist *e, const struct profile_options *o, const char *channel,
		      const char *libdir, const char *cuda_opts)
{
	char *inject = xasprintf("%s/%s", libdir, INJECT_LIB);
	char num[32];

	for (size_t i = 0; i < o->n_env; i++)
		env_put(e, xstrdup(o->env[i]));
	env_set(e, GP_ENV_CHANNEL, channel);
	snprintf(num, sizeof(num), "%ld", (long)getpid());
	env_set(e, GP_ENV_SESSION, num);
	env_set(e, GP_ENV_TRACE, profile_trace_text(o->trace));
	snprintf(num, sizeof(num), "%llu", (unsigned long long)o->osrt_threshold_ns);
	env_set(e, GP_ENV_OSRT_THRESHOLD, num);
	env_set(e, GP_ENV_OPTIONS, cuda_opts);

	if (o->trace & PROFILE_TRACE_OSRT) {
		const char *old = env_get(e, "LD_PRELOAD");

		if (old && *old)
			env_put(e, xasprintf("LD_PRELOAD=%s/%s:%s", libdir, OSRT_LIB, old));
		else
			env_put(e, xasprintf("LD_PRELOAD=%s/%s", libdir, OSRT_LIB));
	}
	if (o->trace & PROFILE_TRACE_MPI) { /* PMPI wrappers (collectors/mpi.c) */
		const char *old = env_get(e, "LD_PRELOAD");

		env_put(e, old && *old ? xasprintf("LD_PRELOAD=%s/%s:%s", libdir, MPI_LIB, old)
				       : xasprintf("LD_PRELOAD=%s/%s", libdir, MPI_LIB));
	}
	if (o->trace & (PROFILE_TRACE_CUBLAS | PROFILE_TRACE_CUDNN)) { /* collectors/cudalibs.c */
		const char *old = env_get(e, "LD_PRELOAD");

		env_put(e, old && *old ? xasprintf("LD_PRELOAD=%s/%s:%s", libdir, CUDALIBS_LIB, old)
				       : xasprintf("LD_PRELOAD=%s/%s", libdir, CUDALIBS_LIB));
	}
	if (o->host_memory_usage) { /* collectors/hostmem.c: first, so that its malloc is the
				     * application's and the next one (RTLD_NEXT) is the allocator
				     */
		const char *old = env_get(e, "LD_PRELOAD");

		env_put(e, old && *old ? xasprintf("LD_PRELOAD=%s/%s:%s", libdir, HOSTMEM_LIB, old)
				       : xasprintf("LD_PRELOAD=%s/%s", libdir, HOSTMEM_LIB));
	}
	if (o->trace & (PROFILE_TRACE_NVTX | PROFILE_TRACE_CUDA | PROFILE_TRACE_GPU_METRICS)) {
		const char *old = env_get(e, "NVTX_INJECTION64_PATH");

		if (old && *old && strcmp(old, inject))
			warning("NVTX_INJECTION64_PATH is already set ('%s'); keeping it, so NVTX "
				"is not traced by gprof-cli",
				old);
		else
			env_set(e, "NVTX_INJECTION64_PATH", inject);
	}
	if (o->trace & (PROFILE_TRACE_CUDA | PROFILE_TRACE_GPU_METRICS)) {
		const char *old = env_get(e, "CUDA_INJECTION64_PATH");

		if (old && *old && strcmp(old, inject))
			warning("CUDA_INJECTION64_PATH is already set ('%s'); keeping it, so CUDA "
				"is not traced by gprof-cli",
				old);
		else
			env_set(e, "CUDA_INJECTION64_PATH", inject);
	}
	free(inject);
}

/* $GPROF_CLI_STREAMS: "dev:ino,dev:ino" of the application's stdout and stderr when they
 * are gprof-cli's tee (pipes or a terminal), so that its collectors, finding gprof-cli
 * gone, point them at /dev/null instead of letting the next write kill it (SIGPIPE). */
static void streams_env(struct envlist *e, int out_fd, int err_fd)
{
	struct stat so, se;

	if (out_fd < 0 || err_fd < 0 || fstat(out_fd, &so) != 0 || fstat(err_fd, &se) != 0)
		return;
	env_put(e, xasprintf("%s=%llu:%llu,%llu:%llu", GP_ENV_STREAMS,
			     (unsigned long long)so.st_dev, (unsigned long long)so.st_ino,
			     (unsigned long long)se.st_dev, (unsigned long long)se.st_ino));
}

/* The trace values of o->trace that have an end-of-run check (their table rows' block),
 * one per bit, into out[] (room for 32).  Returns how many; each out[i].name is the
 * canonical row's, *rows[i] that row. */
static size_t trace_expect(const struct profile_options *o, struct recorder_expect *out,
			   const struct profile_trace_value **rows)
{
	const struct profile_trace_value *t;
	unsigned done = 0;
	size_t n = 0, nt;

	t = profile_trace_table(&nt);
	for (size_t i = 0; i < nt && n < 32; i++) {
		if (!t[i].traced || !(o->trace & t[i].bit) || (done & t[i].bit))
			continue;
		done |= t[i].bit;
		if (!t[i].block)
			continue;
		out[n].name = t[i].name;
		out[n].block = t[i].block;
		rows[n++] = &t[i];
	}
	return n;
}

/* Say what was not seen (issue 10): one warning and hint per expected trace value that
 * recorded no event in the whole session (nsys: "No CUDA events collected. Does the
 * process use CUDA?"). */
static void print_not_seen(const struct recorder_stats *st,
			   const struct profile_trace_value *const *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!(st->expect_not_seen & (1u << i)))
			continue;
		warning("no %s collected (-t %s)", rows[i]->what, rows[i]->name);
		hint("%s",
		     st->expect_started & (1u << i) ? rows[i]->hint_idle : rows[i]->hint_unused);
	}
}

static int linger_ms(void)
{
	const char *s = getenv("GPROF_CLI_LINGER_MS");
	uint64_t v;

	if (s && *s && gp_parse_u64(s, &v) == 0 && v <= 600000)
		return (int)v;
	return DEFAULT_LINGER_MS;
}

/* report_losses() callback: one warning and its hint. */
static void print_loss(void *ctx, const char *message, const char *fix)
{
	(void)ctx;
	warning("%s", message);
	if (fix)
		hint("%s", fix);
}

/* Losses, each with the setting that would have avoided it (habit #9); the same lines
 * are in the reports' DIAGNOSTIC_EVENT (core/report_session.c). */
static void print_losses(const struct recorder_stats *st)
{
	report_losses(&st->report, print_loss, NULL);
}

/* The report file name: -o (or report%n) expanded by core/outname.c.  Before the fork
 * (pid 0) errors are caught and %p stays pending; after it, %p becomes the pid.
 * Returns 0 / OUTNAME_PID_PENDING, or -1 after printing the error. */
static int expand_output(const char *pattern, char *const *envp, pid_t pid, char **out)
{
	struct strbuf name = STRBUF_INIT, err = STRBUF_INIT, fix = STRBUF_INIT;
	struct outname_ctx ctx;
	int r;

	memset(&ctx, 0, sizeof(ctx));
	ctx.envp = envp;
	ctx.pid = pid;
	ctx.hint = &fix;
	r = outname_expand(pattern, &ctx, &name, &err);
	if (r < 0) {
		error("%s", err.buf);
		if (fix.len)
			hint("%s", fix.buf);
		strbuf_release(&name);
	} else {
		*out = strbuf_detach(&name, NULL);
	}
	strbuf_release(&err);
	strbuf_release(&fix);
	return r;
}

/* --print-config: the effective options in table order, defaults included. */
static int print_config(const struct config *eff, const struct config_schema *schema)
{
	struct config_entry *v = xcalloc(eff->n + schema->n + 1, sizeof(*v));
	size_t n = 0;
	int r;

	for (size_t i = 0; i < schema->n; i++) {
		const struct config_option *opt = &schema->options[i];
		size_t before = n;

		for (size_t k = 0; k < eff->n; k++)
			if (eff->entries[k].opt == opt)
				v[n++] = eff->entries[k];
		if (n == before && opt->default_value) {
			v[n].opt = opt;
			v[n].value = (char *)opt->default_value;
			n++;
		}
	}
	r = config_print(stdout, v, n);
	free(v);
	return r < 0 ? GP_EXIT_ERROR : GP_EXIT_OK;
}

/* After the launched process exited: wait until `deadline_ns` (0: none), or, when
 * `until_idle`, until no descendant is left (subreaper; without one: until no producer
 * is connected), or until gprof-cli gets a signal, or the capture asks for the end of
 * the session (a descendant closed the last range).  Re-parented descendants that exit
 * are reaped meanwhile.  Returns 0 (idle), 1 (deadline passed or capture shutdown) or
 * 2 (signal). */
static int wait_session(struct recorder *rec, uint64_t deadline_ns, int until_idle, int subreaper,
			unsigned own_conns, pid_t sampler_pid)
{
	for (;;) {
		uint64_t now = gp_monotonic_ns();
		int ms = 10, left = subreaper ? launch_reap_orphans(sampler_pid) : 0;

		if (until_idle && !left &&
		    (subreaper || recorder_open_connections(rec) <= own_conns))
			return 0;
		if (launch_take_signal())
			return 2;
		if ((deadline_ns && now >= deadline_ns) || recorder_shutdown_requested(rec))
			return 1;
		if (deadline_ns && deadline_ns - now < 10000000ull)
			ms = (int)((deadline_ns - now + 999999) / 1000000);
		poll(NULL, 0, ms);
	}
}

/* "SIGTERM", or "signal N" for signals without a short name. */
static const char *signal_name(int sig, char *buf, size_t size)
{
	const char *abbrev = sigabbrev_np(sig);

	if (abbrev)
		snprintf(buf, size, "SIG%s", abbrev);
	else
		snprintf(buf, size, "signal %d", sig);
	return buf;
}

/* Can the capture end the session (--capture-range-end=stop-shutdown / repeat-shutdown:N
 * with a trigger mode)? */
static int capture_can_shutdown(const struct capture_settings *c)
{
	return c->mode != GP_CAPTURE_NONE &&
	       (c->end == GP_CAPTURE_END_STOP_SHUTDOWN || c->end == GP_CAPTURE_END_REPEAT_SHUTDOWN);
}

static void format_seconds(char *buf, size_t size, uint64_t ns)
{
	snprintf(buf, size, "%.9g", (double)ns / 1e9);
}

int cmd_profile(int argc, char **argv)
{
	return profile_run(argc, argv, NULL);
}

/* launch: refuse the profile switches that describe a collection (they belong to
 * `start`; cmd_launch.c already refused them on its command line, this catches a config
 * file).  0, or -1 after an error line and a hint. */
static int session_check_options(const struct profile_options *o)
{
	const char *opt = o->output		? "--output"
			  : o->stats		? "--stats"
			  : o->force_overwrite	? "--force-overwrite"
			  : o->duration_ns	? "--duration"
			  : o->capture.delay_ns ? "--delay"
						: NULL;

	if (!opt)
		return 0;
	error("option '%s' belongs to 'gprof-cli start' in a session", opt);
	hint("launch the application, then give %s to 'gprof-cli start'", opt);
	return -1;
}

/* launch: create the session's control socket (cli/session.h) before anything else.
 * The default name is nsys's profile-<id>-<application>. */
static int session_begin(struct session_server *srv, const struct session_launch *sl,
			 const struct profile_options *o, const char *app_path)
{
	struct session_info si;
	struct strbuf app = STRBUF_INIT;
	char name[SESSION_NAME_MAX + 1];
	const char *base = strrchr(app_path, '/') ? strrchr(app_path, '/') + 1 : app_path;
	size_t i;

	memset(&si, 0, sizeof(si));
	if (sl->name) {
		snprintf(name, sizeof(name), "%s", sl->name);
	} else {
		snprintf(name, sizeof(name), "profile-%ld-%s", (long)getpid(), base);
		for (i = 0; name[i]; i++)
			if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789._+-",
				    name[i]))
				name[i] = '_';
	}
	snprintf(si.name, sizeof(si.name), "%s", name);
	si.id = (long)getpid();
	si.created = (long long)(gp_realtime_ns() / 1000000000);
	snprintf(si.trace, sizeof(si.trace), "%s", profile_trace_text(o->trace));
	for (int k = 0; k < o->app_argc; k++) {
		if (k)
			strbuf_addch(&app, ' ');
		add_quoted(&app, o->app_argv[k]);
	}
	for (i = 0; i < app.len; i++)
		if (app.buf[i] == '\n')
			app.buf[i] = ' ';
	snprintf(si.app, sizeof(si.app), "%s", app.buf);
	strbuf_release(&app);
	return session_server_open(srv, name, &si);
}

int profile_run(int argc, char **argv, const struct session_launch *sl)
{
	struct profile_options o;
	struct recorder_config cfg;
	struct recorder *rec = NULL;
	struct sampler *smp = NULL;
	struct sampler_stats sst;
	struct metrics_process mproc = {0, -1};
	struct recorder_stats st;
	struct report_app_status app;
	struct launch_spec spec;
	struct launch l;
	struct meta_list meta = {0};
	struct envlist env = {0};
	extern char **environ;
	char *app_path = NULL, *report = NULL, *libdir = NULL, *cuda_opts = NULL;
	char *pattern = NULL;
	char abs_report[PATH_MAX], secs[64], signame[32], endbuf[64];
	int rc, err, status = 0, signaled = 0, finish_rc, pending, w;
	int running = 0, expired = 0, linger, subreaper;
	const struct config_schema *schema = profile_config_schema();
	struct config file_cfg, eff;
	const char *config_path;
	char **nargv = NULL;
	int nargc;
	uint64_t session_end_ns;
	struct recorder_expect expect[32];
	const struct profile_trace_value *expect_rows[32];
	/* the app's output and the run's messages, for ProcessStreams / DIAGNOSTIC_EVENT */
	struct session_log log = SESSION_LOG_INIT;
	struct session_capture cap;
	struct stream_tee tee;
	int tee_open = 0;
	uint64_t app_start_ns = 0;
	/* launch: the session (cli/session.h) */
	struct session_server srv;
	struct session_info pend;
	int srv_open = 0, shut_kill = 0, app_ended = 0;

	memset(&srv, 0, sizeof(srv));
	srv.lfd = srv.shutdown_fd = -1;
	gp_set_message_hook(session_log_hook, &log);
	config_init(&file_cfg);
	config_init(&eff);
	profile_options_init(&o);
	/* the config file's settings go first, so that the command line wins */
	config_path = profile_options_find_config(argc, argv);
	if (!config_path)
		config_path = config_default_path();
	if (config_path && config_load(config_path, schema, &file_cfg) < 0) {
		gp_set_message_hook(NULL, NULL);
		session_log_release(&log);
		config_release(&file_cfg);
		return GP_EXIT_USAGE;
	}
	nargv = config_argv(&file_cfg, argc, argv, &nargc);
	o.record = &eff;
	rc = profile_options_parse(&o, nargc, nargv);
	if (rc == 0 && o.print_config)
		rc = print_config(&eff, schema);
	else if (rc != 0)
		rc = rc > 0 ? GP_EXIT_OK : GP_EXIT_USAGE;
	else
		rc = -1;
	if (rc >= 0) {
		gp_set_message_hook(NULL, NULL);
		session_log_release(&log);
		profile_options_release(&o);
		config_free_argv(nargv, file_cfg.n);
		config_release(&file_cfg);
		config_release(&eff);
		return rc;
	}
	if (sl && session_check_options(&o) < 0) {
		rc = GP_EXIT_USAGE;
		goto out;
	}
	rc = launch_resolve(o.app_argv[0], &app_path);
	if (rc != 0)
		goto out;
	if (sl) {
		/* launch --session=NAME: the pending session of start --session-new */
		if (sl->join && session_pending_take(sl->name, &pend) < 0) {
			rc = GP_EXIT_SESSION;
			goto out;
		}
		if (session_begin(&srv, sl, &o, app_path) < 0) {
			rc = GP_EXIT_SESSION;
			goto out;
		}
		srv_open = 1;
	}
	libdir = abs_libdir();
	if (((o.trace & PROFILE_TRACE_OSRT) && check_lib(libdir, OSRT_LIB, "osrt") < 0) ||
	    ((o.trace & PROFILE_TRACE_MPI) && check_lib(libdir, MPI_LIB, "mpi") < 0) ||
	    (o.host_memory_usage && check_lib(libdir, HOSTMEM_LIB, "host memory") < 0) ||
	    ((o.trace & (PROFILE_TRACE_CUBLAS | PROFILE_TRACE_CUDNN)) &&
	     check_lib(libdir, CUDALIBS_LIB, "cublas/cudnn") < 0) ||
	    ((o.trace & ~(PROFILE_TRACE_OSRT | PROFILE_TRACE_MPI)) &&
	     check_lib(libdir, INJECT_LIB,
		       profile_trace_text(o.trace & ~(PROFILE_TRACE_OSRT | PROFILE_TRACE_MPI))) <
		 0)) {
		rc = GP_EXIT_ERROR;
		goto out;
	}
	cuda_opts =
	    xasprintf("cuda-memory-usage=%d;cuda-graph-trace=%s;cuda-trace-all-apis=%d;"
		      "trace-fork-before-exec=%d;cuda-flush-interval=%u%s%s",
		      o.cuda_memory_usage, o.cuda_graph_node ? "node" : "graph",
		      o.cuda_trace_all_apis, o.trace_fork_before_exec, o.cuda_flush_interval_ms,
		      (o.trace & PROFILE_TRACE_MPI) ? ";mpi-impl=" : "",
		      (o.trace & PROFILE_TRACE_MPI) ? (o.mpi_impl ? o.mpi_impl : "auto") : "");
	if (o.trace & PROFILE_TRACE_GPU_METRICS) {
		/* sampling: collectors/gpu_metrics.c; range mode: collectors/gpu_range.c (each
		 * says on stderr, and in the report, what it could not do) */
		char *more = gpu_metrics_opts(&o, cuda_opts);
		if (!more) {
			rc = GP_EXIT_USAGE;
			goto out;
		}
		free(cuda_opts);
		cuda_opts = more;
		if (metrics_in_process(&o)) { /* the application's collector leaves it to us;
					       * its cuda collector still loads (GPU rows) */
			more = xasprintf("%s;gpu-metrics-sampler=process", cuda_opts);
			free(cuda_opts);
			cuda_opts = more;
		}
	}
	if (o.python_backtrace) { /* its frames ride on --cudabacktrace's chains */
		int bt = 0;

		for (int i = 0; i < PROFILE_CUDABT_CLASSES; i++)
			bt |= o.cudabt_ns[i] != PROFILE_CUDABT_OFF;
		if (!(o.trace & PROFILE_TRACE_CUDA) || !bt) {
			warning("--python-backtrace=cuda adds Python frames to the CUDA API "
				"backtraces, and %s: there will be none",
				!(o.trace & PROFILE_TRACE_CUDA) ? "-t has no cuda"
								: "--cudabacktrace is none");
			hint("add -t cuda and --cudabacktrace=all (all:0 for every call)");
		}
	}
	{ /* collectors/osrt.c: backtraces of the calls at least this long */
		char *more = xasprintf("%s;osrt-backtrace-threshold=%llu", cuda_opts,
				       (unsigned long long)o.osrt_bt_threshold_ns);
		free(cuda_opts);
		cuda_opts = more;
	}
	for (int i = 0; i < PROFILE_CUDABT_CLASSES; i++)
		if (o.cudabt_ns[i] != PROFILE_CUDABT_OFF) { /* collectors/cuda.c: --cudabacktrace */
			char *bt = profile_cudabacktrace_text(o.cudabt_ns, 1);
			char *more = xasprintf("%s;cudabacktrace=%s%s", cuda_opts, bt,
					       o.python_backtrace ? ";python-backtrace=1" : "");

			free(bt);
			free(cuda_opts);
			cuda_opts = more;
			break;
		}
	if (o.host_memory_usage) { /* collectors/hostmem.c reads them */
		char *more = xasprintf("%s;host-memory-usage=1;host-memory-threshold=%llu",
				       cuda_opts, (unsigned long long)o.host_memory_threshold);
		free(cuda_opts);
		cuda_opts = more;
	}
	/* The application's environment, with an empty channel entry the child fills in
	 * once the recorder exists. */
	env_init(&env, environ);
	build_env(&env, &o, "", libdir, cuda_opts);
	if (sl) /* no report of its own: each window names one (the spool goes here) */
		pattern =
		    xasprintf("%s/gprof-cli-session-%ld.db",
			      getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
			      (long)getpid());
	pending = sl ? 0 : expand_output(o.output ? o.output : OUTNAME_DEFAULT, env.v, 0, &pattern);
	if (pending < 0) {
		rc = GP_EXIT_USAGE;
		goto out;
	}

	spec.path = app_path;
	spec.argv = o.app_argv;
	spec.envp = env.v;
	spec.quiet = !o.show_output;
	stream_tee_open(&tee, !o.show_output); /* -w false: kept, not shown */
	tee_open = 1;
	spec.stdout_fd = stream_tee_child_fd(&tee, 1);
	spec.stderr_fd = stream_tee_child_fd(&tee, 2);
	streams_env(&env, spec.stdout_fd, spec.stderr_fd);
	spec.envp = env.v;
	spec.channel_var = GP_ENV_CHANNEL;
	spec.channel_index = (int)env_index(&env, GP_ENV_CHANNEL, strlen(GP_ENV_CHANNEL));
	/* the session may end before the application: signal its whole process group */
	spec.new_pgrp =
	    ((o.duration_ns || capture_can_shutdown(&o.capture)) && o.kill_signal) || sl;

	/* Block the forwarded signals before the recorder's threads exist, so that they
	 * inherit the block and the signals reach the main thread's handler.  Fork while
	 * single-threaded; the child waits for the recorder. */
	/* --wait=all / -x false: processes the application leaves running are re-parented
	 * to gprof-cli, which waits for (and reaps) them */
	subreaper = (o.wait_all || !o.stop_on_exit) && launch_subreaper() == 0;
	launch_signals_begin();
	if (launch_fork(&l, &spec) < 0) {
		launch_signals_end();
		rc = GP_EXIT_ERROR;
		goto out;
	}
	if (stream_tee_start(&tee, (uint32_t)l.pid, &log) < 0) {
		launch_cancel(&l);
		launch_signals_end();
		rc = GP_EXIT_ERROR;
		goto out;
	}
	if (pending & OUTNAME_PID_PENDING) {
		if (expand_output(pattern, env.v, l.pid, &report) < 0) {
			launch_cancel(&l);
			launch_signals_end();
			rc = GP_EXIT_USAGE;
			goto out;
		}
	} else {
		report = pattern;
		pattern = NULL;
	}
	build_meta(&meta, &o, argc, argv, app_path, report, libdir, cuda_opts, config_path);

	memset(&cfg, 0, sizeof(cfg));
	cfg.report_path = report;
	cfg.force_overwrite = o.force_overwrite;
	cfg.capture_meta = meta.v;
	cfg.n_capture_meta = meta.n;
	cfg.session_start_ns = gp_monotonic_ns();
	cfg.session_start_utc_ns = gp_realtime_ns();
	cfg.capture = o.capture;
	cfg.capture.session = sl != NULL;
	if (sl) { /* windows from start / stop; with -c, one range per start (session.h) */
		cfg.capture.end = GP_CAPTURE_END_STOP;
		if (o.capture.mode == GP_CAPTURE_NONE)
			cfg.capture.mode = GP_CAPTURE_SESSION;
	}
	cfg.expect = expect;
	cfg.n_expect = trace_expect(&o, expect, expect_rows);
	cfg.tap_path = getenv("GPROF_CLI_DUMP_FRAMES"); /* (core/wire_tap.h; `gprof-cli dump`) */
	/* CPU sampling and context switches: perf events on the corked child, enabled at its
	 * exec (core/sampler.h); opened before the recorder counts its file descriptors; with
	 * capture ranges or session windows (launch), on only while the recorder collects */
	{
		struct sampler_config sc = {.pid = l.pid,
					    .sample = o.sample,
					    .cpuctxsw = o.cpuctxsw,
					    .backtrace = (enum sampler_backtrace)o.backtrace,
					    .period_ns = o.sampling_period_ns,
					    .python = o.python_sampling};

		if (sl || o.capture.mode != GP_CAPTURE_NONE || o.capture.delay_ns) {
			sc.collecting = recorder_collecting;
			sc.flush_epoch = recorder_flush_epoch;
		}
		sampler_open(&smp, &sc);
	}
	if (recorder_start(&rec, &cfg) < 0) {
		sampler_stop(smp, &sst);
		smp = NULL;
		launch_cancel(&l);
		launch_signals_end();
		rc = GP_EXIT_OUTPUT;
		goto out;
	}
	memset(&app, 0, sizeof(app));
	if (sl && sl->join) { /* collect from the application's start (nsys start, launch) */
		if (recorder_window_start(rec, pend.output, pend.force) < 0) {
			memset(&st, 0, sizeof(st));
			recorder_finish(rec, &app, 0, &st);
			recorder_stats_release(&st);
			launch_cancel(&l);
			launch_signals_end();
			rc = GP_EXIT_OUTPUT;
			goto out;
		}
		srv.windows = 1;
		srv.stats = pend.stats;
		snprintf(srv.output, sizeof(srv.output), "%s", pend.output);
	}

	if (sampler_start(&smp, recorder_channel_path(rec), rec) == 0 && smp && o.sample &&
	    o.backtrace == SAMPLER_BT_LBR)
		warning(
		    "-b lbr needs a hardware PMU event; the cpu-clock samples use frame pointers "
		    "(-b fp) instead");
	/* GPU metrics: sampling from the launch (nsys's coverage), so started first */
	if (metrics_in_process(&o) &&
	    metrics_process_start(&mproc, env.v, recorder_channel_path(rec), libdir,
				  o.gpu_metrics_devices) < 0)
		warning("profiling without GPU metrics");
	err = launch_go(&l, recorder_channel_path(rec));
	if (err) {
		metrics_process_stop(&mproc);
		sampler_stop(smp, &sst);
		smp = NULL;
		memset(&st, 0, sizeof(st));
		recorder_finish(rec, &app, 0, &st);
		for (size_t i = 0; i < st.n_reports; i++)
			report_unlink_files(st.report_paths[i]);
		recorder_stats_release(&st);
		report_unlink_files(report);
		launch_signals_end();
		error("cannot run '%s': %s", o.app_argv[0], strerror(err));
		rc = err == ENOENT ? GP_EXIT_NOTFOUND : GP_EXIT_NOEXEC;
		goto out;
	}
	app_start_ns = gp_monotonic_ns();

	/* --duration counts from the end of -y/--delay (nsys) */
	session_end_ns = o.duration_ns ? gp_monotonic_ns() + o.capture.delay_ns + o.duration_ns : 0;
	format_seconds(secs, sizeof(secs), o.duration_ns);
	app.pid = l.pid;
	if (sl) {
		srv.info.app_pid = (long)l.pid;
		session_server_write_info(&srv);
		if (sl->join)
			fprintf(
			    stderr,
			    "gprof-cli: session '%s' ready (id %ld); collecting into %s since the "
			    "launch\n",
			    srv.name, srv.info.id, srv.output);
		else
			fprintf(stderr,
				"gprof-cli: session '%s' ready (id %ld); collection is off until "
				"'gprof-cli start --session=%s'\n",
				srv.name, srv.info.id, srv.name);
		w = session_serve(&srv, rec, &l, &log, &status, &signaled, &shut_kill);
	} else {
		w = launch_wait_event(&l, session_end_ns, recorder_shutdown_fd(rec), &status,
				      &signaled, NULL);
	}
	if (w == 3) { /* gprof-cli shutdown --kill=...: as an expired duration */
		o.kill_signal = shut_kill;
		w = 1;
	}
	if (w == 1 || w == 2) {
		/* --duration expired, or the capture ended the session, while the
		 * application runs */
		char why[96];

		if (w == 1 && sl)
			snprintf(why, sizeof(why), "session '%s' shut down", srv.name);
		else if (w == 1)
			snprintf(why, sizeof(why), "--duration %s s expired", secs);
		else
			snprintf(why, sizeof(why), "capture ended (--capture-range-end=%s)",
				 capture_end_name(o.capture.end, o.capture.max_ranges, endbuf,
						  sizeof(endbuf)));
		expired = 1;
		if (o.kill_signal) {
			fprintf(stderr,
				"gprof-cli: %s; sending %s to the application's process "
				"group\n",
				why, signal_name(o.kill_signal, signame, sizeof(signame)));
			launch_kill(&l, o.kill_signal);
			w = launch_wait_until(&l, gp_monotonic_ns() + KILL_GRACE_MS * 1000000ull,
					      &status, &signaled, NULL);
			if (w == 1) {
				warning("application (pid %d) still running %d s after %s; "
					"leaving it running",
					(int)l.pid, KILL_GRACE_MS / 1000, signame);
				hint("end it with --kill sigkill");
				running = 1;
			}
		} else {
			fprintf(stderr,
				"gprof-cli: %s; leaving the application (pid %d) running "
				"(--kill none)\n",
				why, (int)l.pid);
			running = 1;
		}
	}
	if (w < 0) {
		status = GP_EXIT_ERROR;
		signaled = 0;
	}
	app.end_ns = gp_monotonic_ns();
	app.exit_status = running ? -1 : status;
	app.signaled = running ? 0 : signaled;
	app_ended = w >= 0 && !running;
	if (sl) { /* the session ends with the application: later commands are told so */
		session_finish(&srv, rec, &app);
		session_server_close(&srv, app_ended ? status : -1);
		srv_open = 0;
	}

	if (w == 0 && !expired && (!o.stop_on_exit || o.wait_all)) {
		/* the launched process exited first: -x false records on until the duration
		 * expires, --wait=all until every process it started has exited */
		int ended = wait_session(rec, session_end_ns, o.stop_on_exit, subreaper,
					 (smp ? 1u : 0u) + (mproc.pid ? 1u : 0u), mproc.pid);

		app.end_ns = gp_monotonic_ns(); /* the report's stop time covers them */
		if (ended == 1) {
			expired = 1;
			if (o.kill_signal && launch_group_alive(&l)) {
				if (recorder_shutdown_requested(rec))
					fprintf(
					    stderr,
					    "gprof-cli: capture ended (--capture-range-end=%s); "
					    "sending %s to the application's process group\n",
					    capture_end_name(o.capture.end, o.capture.max_ranges,
							     endbuf, sizeof(endbuf)),
					    signal_name(o.kill_signal, signame, sizeof(signame)));
				else
					fprintf(
					    stderr,
					    "gprof-cli: --duration %s s expired; sending %s to "
					    "the application's process group\n",
					    secs,
					    signal_name(o.kill_signal, signame, sizeof(signame)));
				launch_kill(&l, o.kill_signal);
			}
		}
	}
	/* children still connected get a short linger, unless collection ended with the
	 * application (or its group, --kill none) left running */
	linger = running || (expired && !o.kill_signal) ? 0 : linger_ms();

	memset(&st, 0, sizeof(st));
	/* its last samples, then its connection closes; before the run's messages are taken
	 * for the report (a sampler that died says so) */
	metrics_process_stop(&mproc);
	stream_tee_stop(&tee, linger); /* what the app and its children wrote */
	session_capture_fill(&cap, &tee, &log, (uint32_t)l.pid, app_start_ns);
	app.session = &cap.s;
	sampler_stop(smp, &sst); /* (its connection closes before the recorder waits) */
	smp = NULL;
	finish_rc = recorder_finish(rec, &app, linger, &st);
	session_capture_release(&cap);
	stream_tee_finish(&tee); /* writers still running keep their output */
	if (subreaper)
		launch_reap_orphans(0); /* those that ended meanwhile leave no zombie */
	launch_signals_end();

	fflush(stdout);
	if (signaled)
		fprintf(stderr, "gprof-cli: application was killed by signal %d (%s)\n",
			status - 128, strsignal(status - 128));
	format_seconds(secs, sizeof(secs), o.capture.delay_ns);
	if (o.capture.mode == GP_CAPTURE_NONE && o.capture.delay_ns)
		fprintf(stderr, "gprof-cli: collection started %s s after the launch (--delay)\n",
			secs);
	else if (o.capture.mode != GP_CAPTURE_NONE && !sl)
		fprintf(
		    stderr, "gprof-cli: %u capture range%s (-c %s, --capture-range-end=%s)\n",
		    st.capture_ranges, st.capture_ranges == 1 ? "" : "s",
		    capture_mode_name(o.capture.mode),
		    capture_end_name(o.capture.end, o.capture.max_ranges, endbuf, sizeof(endbuf)));
	if (st.n_reports) {
		int said = 0;

		for (size_t i = 0; i < st.n_reports; i++) {
			if (access(st.report_paths[i], F_OK) != 0)
				continue; /* removed: the disk was full (said) */
			if (!said++)
				fprintf(stderr, "Generated:\n");
			if (!realpath(st.report_paths[i], abs_report))
				snprintf(abs_report, sizeof(abs_report), "%s", st.report_paths[i]);
			fprintf(stderr, "    %s\n", abs_report);
		}
	} else if (sl) {
		fprintf(stderr, "gprof-cli: session '%s' ended: %u collection window%s\n", srv.name,
			srv.windows, srv.windows == 1 ? "" : "s");
	} else if (o.capture.mode == GP_CAPTURE_NONE) {
		if (!realpath(report, abs_report))
			snprintf(abs_report, sizeof(abs_report), "%s", report);
		fprintf(stderr, "Generated:\n    %s\n", abs_report);
	} else {
		warning("no report written: no capture range was seen");
		hint("check that the application reaches the range (-c %s%s%s)",
		     capture_mode_name(o.capture.mode), o.nvtx_capture_text ? " -p " : "",
		     o.nvtx_capture_text ? o.nvtx_capture_text : "");
	}
	if (st.n_reports) /* once per run, whatever the number of reports */
		print_not_seen(&st, expect_rows, cfg.n_expect);
	print_losses(&st);
	if (st.report.app_waits) { /* not a loss: every record was kept */
		fprintf(
		    stderr,
		    "gprof-cli: the application waited %llu time%s for the recorder to take its "
		    "records, %.1f ms in all (nothing lost; PROFILER_OVERHEAD \"%s\")\n",
		    (unsigned long long)st.report.app_waits, st.report.app_waits == 1 ? "" : "s",
		    (double)st.report.app_wait_ns / 1e6, GP_OVERHEAD_RECORDER_WAIT);
		hint("leave the recorder a CPU (fewer busy application threads than CPUs), or "
		     "lower the report writer's priority further (GPROF_CLI_WRITER_NICE=10)");
	}
	if (sst.lost_samples || sst.queue_dropped || sst.lost_sends)
		warning("CPU sampling: %llu records lost (%llu perf ring buffer full, %llu "
			"sampler queue full), %llu not sent (GPROF_LOST_CPU_SAMPLES)",
			(unsigned long long)(sst.lost_samples + sst.queue_dropped),
			(unsigned long long)sst.lost_samples, (unsigned long long)sst.queue_dropped,
			(unsigned long long)sst.lost_sends);
	if (sst.python_unread)
		warning("CPU sampling: %llu samples of Python threads without their Python frames: "
			"the process had ended, or the thread had left that code, when the "
			"sampler read them "
			"(GPROF_PYTHON_FRAMES_UNREAD)",
			(unsigned long long)sst.python_unread);
	/* A broken backtrace keeps its sample (nsys's [Broken backtraces]); the count is always
	 * stored, and said only where it changes the picture: a few stacks caught in ld.so or
	 * libc start-up code, which has no frame pointers, are no news. */
	if (sst.unwind_failures >= UNWIND_FAILURES_SAID_MIN &&
	    sst.unwind_failures * 100 >= sst.samples * UNWIND_FAILURES_SAID_PERCENT)
		fprintf(
		    stderr,
		    "gprof-cli: CPU sampling: %llu of %llu stacks not unwound to their outermost "
		    "frame (they end in [Broken backtraces]; GPROF_CPU_UNWIND_FAILURES)\n",
		    (unsigned long long)sst.unwind_failures, (unsigned long long)sst.samples);

	if (o.stats && finish_rc == 0) {
		for (size_t i = 0; i < st.n_reports; i++) {
			if (!realpath(st.report_paths[i], abs_report))
				snprintf(abs_report, sizeof(abs_report), "%s", st.report_paths[i]);
			if (st.n_reports > 1)
				printf("%s==> %s <==\n\n", i ? "\n" : "", abs_report);
			stats_print_default(abs_report, stdout);
		}
		fflush(stdout);
	}
	recorder_stats_release(&st);
	/* The application's status, so scripts see the truth; a report that could not
	 * be completed turns a success into a failure. */
	rc = running ? GP_EXIT_OK : status;
	if (finish_rc < 0 && rc == 0)
		rc = GP_EXIT_ERROR;
out:
	if (srv_open)
		session_server_close(&srv, app_ended ? status : -1);
	if (tee_open)
		stream_tee_finish(&tee);
	gp_set_message_hook(NULL, NULL);
	session_log_release(&log);
	env_release(&env);
	meta_release(&meta);
	free(pattern);
	free(cuda_opts);
	free(libdir);
	free(report);
	free(app_path);
	profile_options_release(&o);
	config_free_argv(nargv, file_cfg.n);
	config_release(&file_cfg);
	config_release(&eff);
	return rc;
}
