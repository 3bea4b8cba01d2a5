/*
 * cmd_profile.c - `gprof-cli profile [<options>] <application> [<arguments>]`: launch
 * the application with the injection libraries, record what they send into a report
 * (Nsight Systems SQLite export schema) and exit with the application's status.
 *
 * Order (nothing is created until everything is validated):
 *   1. parse options (profile_options.c); usage errors exit 2;
 *   2. resolve the application like execvp (launch.c): 127 / 126, no report;
 *   3. check the injection libraries for the requested trace;
 *   4. start the recorder (core/recorder.h), which creates the report and the channel;
 *      output errors (exists without -f, missing or unwritable folder) exit 4;
 *   5. fork the corked child, build nothing after fork, uncork, wait (signals forwarded);
 *   6. recorder_finish() with a short linger for children the application left behind,
 *      then the end summary on stderr ("Generated:" as nsys), losses, and --stats.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cmds.h"
#include "cli/launch.h"
#include "cli/profile_options.h"
#include "core/recorder.h"
#include "core/util.h"
#include "core/wire.h"
#include "exporters/stats.h"

#define OSRT_LIB   "libgprof-osrt.so"
#define INJECT_LIB "libgprof-inject.so"
/* How long recorder_finish() waits for processes the application left running that
 * are still connected (ms); $GPROF_CLI_LINGER_MS overrides. */
#define DEFAULT_LINGER_MS 500

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

static int path_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 || errno != ENOENT;
}

/* The report file: -o with ".db" appended when it has no .db/.sqlite suffix, or
 * report<N>.db in the working directory with N the smallest free number. */
static char *report_path(const struct profile_options *o)
{
	if (o->output) {
		size_t len = strlen(o->output);

		if ((len > 3 && !strcmp(o->output + len - 3, ".db")) ||
		    (len > 7 && !strcmp(o->output + len - 7, ".sqlite")))
			return xstrdup(o->output);
		return xasprintf("%s.db", o->output);
	}
	for (unsigned n = 1;; n++) {
		char *p = xasprintf("report%u.db", n);

		if (!path_exists(p))
			return p;
		free(p);
	}
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
	struct recorder_meta *v;
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

static void build_meta(struct meta_list *m, const struct profile_options *o, int argc, char **argv,
		       const char *app_path, const char *report, const char *libdir,
		       const char *cuda_opts)
{
	struct strbuf cmd = STRBUF_INIT, envs = STRBUF_INIT;

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
	meta_add(m, "START_TRIGGER", "Immediate");
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
	meta_add(m, "PROCESS_0:CUDA_GRAPH_TRACE_OPTIONS:MODE",
		 o->cuda_graph_node ? "Node" : "Graph");
	meta_add(m, "PROCESS_0:CUDA_SKIP_SOME_API_CALLS", tf(!o->cuda_trace_all_apis));
	meta_add(m, "OS_RUNTIME_OPTIONS:COLLECT_OS_RUNTIME_TRACE",
		 tf(o->trace & PROFILE_TRACE_OSRT));
	meta_add_value(m, "OS_RUNTIME_OPTIONS:DURATION_THRESHOLD_NS",
		       xasprintf("%llu", (unsigned long long)o->osrt_threshold_ns));
	meta_add(m, "GPU_METRICS_OPTIONS:COLLECT", tf(o->trace & PROFILE_TRACE_GPU_METRICS));

	meta_add_value(m, "GPROF_COMMAND_LINE", strbuf_detach(&cmd, NULL));
	meta_add_value(m, "GPROF_TRACE", xstrdup(profile_trace_text(o->trace)));
	meta_add_value(m, "GPROF_OSRT_THRESHOLD_NS",
		       xasprintf("%llu", (unsigned long long)o->osrt_threshold_ns));
	meta_add_value(m, "GPROF_OPTIONS", xstrdup(cuda_opts));
	meta_add_value(m, "GPROF_OUTPUT", xstrdup(report));
	meta_add(m, "GPROF_FORCE_OVERWRITE", tf(o->force_overwrite));
	meta_add(m, "GPROF_STATS", tf(o->stats));
	meta_add(m, "GPROF_SHOW_OUTPUT", tf(o->show_output));
	meta_add_value(m, "GPROF_ENV_VARS", strbuf_detach(&envs, NULL));
	meta_add_value(m, "GPROF_LIBDIR", xstrdup(libdir));
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

static int linger_ms(void)
{
	const char *s = getenv("GPROF_CLI_LINGER_MS");
	uint64_t v;

	if (s && *s && gp_parse_u64(s, &v) == 0 && v <= 600000)
		return (int)v;
	return DEFAULT_LINGER_MS;
}

/* Losses, each with the setting that would have avoided it (habit #9). */
static void print_losses(const struct recorder_stats *st)
{
	if (st->dropped_records) {
		warning("%llu records dropped by the collectors (per-thread buffers full)",
			(unsigned long long)st->dropped_records);
		hint("flush more often with GPROF_CLI_FLUSH_MS=20, or raise --osrt-threshold");
	}
	if (st->failed_sends) {
		warning("%llu frames could not be sent to gprof-cli",
			(unsigned long long)st->failed_sends);
		hint("the application closed or replaced the channel socket; keep "
		     "GPROF_CLI_CHANNEL's folder in place while it runs");
	}
	if (st->lost_frames) {
		warning("%llu frames lost in transit", (unsigned long long)st->lost_frames);
		hint("a process was killed while sending; its last buffer is incomplete");
	}
	if (st->bad_frames) {
		warning("%llu malformed frames rejected", (unsigned long long)st->bad_frames);
		hint("the injection libraries do not match this gprof-cli; rebuild, or set "
		     "GPROF_CLI_LIBDIR to the matching folder");
	}
	if (st->cupti_dropped) {
		warning("%llu CUDA activity records dropped by CUPTI",
			(unsigned long long)st->cupti_dropped);
		hint("flush more often with GPROF_CLI_FLUSH_MS=20, or leave "
		     "--cuda-trace-all-apis=false");
	}
	if (st->zero_timestamps)
		warning("%llu GPU records skipped for zero timestamps",
			(unsigned long long)st->zero_timestamps);
	if (st->write_errors) {
		warning("%llu records could not be written to the report",
			(unsigned long long)st->write_errors);
		hint("check free space in the report's folder");
	}
}

static void remove_report(const char *path)
{
	char *p;

	unlink(path);
	p = xasprintf("%s-wal", path);
	unlink(p);
	free(p);
	p = xasprintf("%s-shm", path);
	unlink(p);
	free(p);
	p = xasprintf("%s-journal", path);
	unlink(p);
	free(p);
}

int cmd_profile(int argc, char **argv)
{
	struct profile_options o;
	struct recorder_config cfg;
	struct recorder *rec = NULL;
	struct recorder_stats st;
	struct recorder_app_status app;
	struct launch_spec spec;
	struct launch l;
	struct meta_list meta = {0};
	struct envlist env;
	extern char **environ;
	char *app_path = NULL, *report = NULL, *libdir = NULL, *cuda_opts = NULL;
	char abs_report[PATH_MAX];
	int rc, err, status = 0, signaled = 0, finish_rc;

	profile_options_init(&o);
	rc = profile_options_parse(&o, argc, argv);
	if (rc != 0) {
		profile_options_release(&o);
		return rc > 0 ? GP_EXIT_OK : GP_EXIT_USAGE;
	}
	rc = launch_resolve(o.app_argv[0], &app_path);
	if (rc != 0)
		goto out;
	libdir = abs_libdir();
	if (((o.trace & PROFILE_TRACE_OSRT) && check_lib(libdir, OSRT_LIB, "osrt") < 0) ||
	    ((o.trace & ~PROFILE_TRACE_OSRT) &&
	     check_lib(libdir, INJECT_LIB, profile_trace_text(o.trace & ~PROFILE_TRACE_OSRT)) <
		 0)) {
		rc = GP_EXIT_ERROR;
		goto out;
	}
	report = report_path(&o);
	cuda_opts = xasprintf("cuda-memory-usage=%d;cuda-graph-trace=%s;cuda-trace-all-apis=%d",
			      o.cuda_memory_usage, o.cuda_graph_node ? "node" : "graph",
			      o.cuda_trace_all_apis);
	build_meta(&meta, &o, argc, argv, app_path, report, libdir, cuda_opts);

	memset(&cfg, 0, sizeof(cfg));
	cfg.report_path = report;
	cfg.force_overwrite = o.force_overwrite;
	cfg.capture_meta = meta.v;
	cfg.n_capture_meta = meta.n;

	/* Block the forwarded signals before the recorder's threads exist, so that they
	 * inherit the block and the signals reach the main thread's handler. */
	launch_signals_begin();
	cfg.session_start_ns = gp_monotonic_ns();
	cfg.session_start_utc_ns = gp_realtime_ns();
	if (recorder_start(&rec, &cfg) < 0) {
		launch_signals_end();
		rc = GP_EXIT_OUTPUT;
		goto out;
	}

	env_init(&env, environ);
	build_env(&env, &o, recorder_channel_path(rec), libdir, cuda_opts);
	spec.path = app_path;
	spec.argv = o.app_argv;
	spec.envp = env.v;
	spec.quiet = !o.show_output;

	memset(&app, 0, sizeof(app));
	if (launch_fork(&l, &spec) < 0) {
		recorder_finish(rec, &app, 0, &st);
		remove_report(report);
		launch_signals_end();
		env_release(&env);
		rc = GP_EXIT_ERROR;
		goto out;
	}
	err = launch_go(&l);
	if (err) {
		recorder_finish(rec, &app, 0, &st);
		remove_report(report);
		launch_signals_end();
		env_release(&env);
		error("cannot run '%s': %s", o.app_argv[0], strerror(err));
		rc = err == ENOENT ? GP_EXIT_NOTFOUND : GP_EXIT_NOEXEC;
		goto out;
	}
	env_release(&env);

	app.pid = l.pid;
	if (launch_wait(&l, &status, &signaled, NULL) < 0) {
		status = GP_EXIT_ERROR;
		signaled = 0;
	}
	app.end_ns = gp_monotonic_ns();
	app.exit_status = status;
	app.signaled = signaled;

	memset(&st, 0, sizeof(st));
	finish_rc = recorder_finish(rec, &app, linger_ms(), &st);
	launch_signals_end();

	if (!realpath(report, abs_report))
		snprintf(abs_report, sizeof(abs_report), "%s", report);
	fflush(stdout);
	if (signaled)
		fprintf(stderr, "gprof-cli: application was killed by signal %d (%s)\n",
			status - 128, strsignal(status - 128));
	fprintf(stderr, "Generated:\n    %s\n", abs_report);
	print_losses(&st);

	if (o.stats && finish_rc == 0) {
		stats_print_default(abs_report, stdout);
		fflush(stdout);
	}
	/* The application's status, so scripts see the truth; a report that could not
	 * be completed turns a success into a failure. */
	rc = status;
	if (finish_rc < 0 && rc == 0)
		rc = GP_EXIT_ERROR;
out:
	meta_release(&meta);
	free(cuda_opts);
	free(libdir);
	free(report);
	free(app_path);
	profile_options_release(&o);
	return rc;
}
