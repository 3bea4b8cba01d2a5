/*
 * test_capture.c - end-to-end tests of capture ranges (core/capture.h): the control
 * page, the nvtx collector's -p triggers, gating in the producer runtime, repeat
 * captures (one report per range), -y/--delay and the shutdown signal.
 *
 * The `profile` switches are wired by another part of the CLI, so these tests drive the
 * recorder API directly, the way cmd_profile does: recorder_start() with the capture
 * settings, fork/exec tests/programs/capture_app with the injection environment of
 * `-t nvtx,osrt`, poll recorder_shutdown_fd() alongside waitpid() (sending SIGTERM as
 * --kill's default when it fires), recorder_finish().  Expected numbers: capture_app.c.
 *
 * Environment: BUILD (build dir, default "build").
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/capture.h"
#include "core/recorder.h"
#include "core/util.h"

#define INNER 3 /* capture_app.c */

static char g_tmp[256];
static char g_build[1024];
static int g_kill_sig = SIGTERM; /* what run_app sends when the shutdown fd fires */

struct run {
	struct recorder_stats st;
	int shutdown;	/* recorder_shutdown_fd fired */
	int app_status; /* exit code or 128+signal */
	char base[PATH_MAX];
};

/* Profile `capture_app variant iters gap` with the given capture settings into
 * $tmp/NAME(.db). */
static void run_app(struct run *out, const char *name, const struct capture_settings *cs,
		    const char *variant, const char *iters, const char *gap, const char *extra_env)
{
	struct recorder_config cfg;
	struct recorder *rec;
	struct report_app_status app;
	char path[PATH_MAX + 8], exe[PATH_MAX];
	pid_t pid;
	int st = 0, fd;

	memset(out, 0, sizeof(*out));
	snprintf(out->base, sizeof(out->base), "%s/%s", g_tmp, name);
	snprintf(path, sizeof(path), "%s.db", out->base);
	snprintf(exe, sizeof(exe), "%s/tests/programs/capture_app", g_build);
	memset(&cfg, 0, sizeof(cfg));
	cfg.report_path = path;
	cfg.force_overwrite = 1;
	cfg.session_start_ns = gp_monotonic_ns();
	cfg.session_start_utc_ns = gp_realtime_ns();
	if (cs)
		cfg.capture = *cs;
	assert_int_equal(recorder_start(&rec, &cfg), 0);

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *env[16], buf[8][PATH_MAX + 64];
		int n = 0;

		snprintf(buf[0], sizeof(buf[0]), "GPROF_CLI_CHANNEL=%s",
			 recorder_channel_path(rec));
		snprintf(buf[1], sizeof(buf[1]), "LD_PRELOAD=%s/lib/gprof-cli/libgprof-osrt.so",
			 g_build);
		snprintf(buf[2], sizeof(buf[2]),
			 "NVTX_INJECTION64_PATH=%s/lib/gprof-cli/libgprof-inject.so", g_build);
		env[n++] = buf[0];
		env[n++] = buf[1];
		env[n++] = buf[2];
		env[n++] = "GPROF_CLI_TRACE=nvtx,osrt";
		env[n++] = "GPROF_CLI_OSRT_THRESHOLD_NS=1000";
		env[n++] = "PATH=/usr/bin:/bin";
		if (extra_env)
			env[n++] = (char *)extra_env;
		env[n] = NULL;
		fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		dup2(fd, 2);
		execle(exe, exe, variant, iters, gap, (char *)NULL, env);
		_exit(127);
	}
	for (;;) {
		struct pollfd p = {recorder_shutdown_fd(rec), POLLIN, 0};
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid)
			break;
		if (p.fd >= 0 && !out->shutdown && poll(&p, 1, 5) > 0) {
			out->shutdown = 1;
			assert_true(recorder_shutdown_requested(rec));
			kill(pid, g_kill_sig); /* what profile does for --kill */
		} else if (p.fd < 0) {
			usleep(5000);
		}
	}
	memset(&app, 0, sizeof(app));
	app.pid = pid;
	app.exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	app.signaled = WIFSIGNALED(st);
	app.end_ns = gp_monotonic_ns();
	out->app_status = app.exit_status;
	assert_int_equal(recorder_finish(rec, &app, 2000, &out->st), 0);
}

static sqlite3 *open_db(const char *path)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	return db;
}

static long long q1(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	long long v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		print_error("bad sql %s: %s\n", sql, sqlite3_errmsg(db));
		fail();
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Push/pop ranges named `name` (plain text or registered textId). */
static long long ranges(sqlite3 *db, const char *name)
{
	char sql[512];

	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM NVTX_EVENTS e LEFT JOIN StringIds s ON s.id = e.textId "
		 "WHERE e.eventType IN (59, 60) AND coalesce(e.text, s.value) = '%s'",
		 name);
	return q1(db, sql);
}

static long long marks(sqlite3 *db, const char *name)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM NVTX_EVENTS WHERE eventType = 34 AND text = '%s'", name);
	return q1(db, sql);
}

static long long sleeps(sqlite3 *db)
{
	return q1(db, "SELECT count(*) FROM OSRT_API o JOIN StringIds s ON s.id = o.nameId "
		      "WHERE s.value = 'nanosleep'");
}

/* Exactly one iteration's events: returns its index (the "iter" mark's payload). */
static long long one_iteration(sqlite3 *db, const char *step)
{
	assert_int_equal(ranges(db, step), 1);
	assert_int_equal(ranges(db, "inner"), INNER);
	assert_int_equal(ranges(db, "w-inner"), 1);
	assert_int_equal(marks(db, "iter"), 1);
	assert_int_equal(marks(db, "between"), 0);
	assert_int_equal(sleeps(db), 1);
	/* a complete report: the process, the thread names, the strings */
	assert_int_equal(q1(db, "SELECT count(*) FROM PROCESSES"), 1);
	assert_true(q1(db, "SELECT count(*) FROM ThreadNames") >= 1);
	assert_true(q1(db, "SELECT count(*) FROM ENUM_NSYS_EVENT_TYPE") > 0);
	assert_int_equal(q1(db, "SELECT count(*) FROM META_DATA_EXPORT WHERE name = "
				"'GPROF_FINISHED_CLEANLY' AND value = 'true'"),
			 1);
	return q1(db, "SELECT int64Value FROM NVTX_EVENTS WHERE eventType = 34 AND text = 'iter'");
}

static void settings_nvtx(struct capture_settings *cs, const char *pattern, const char *end)
{
	const char *why = NULL;

	memset(cs, 0, sizeof(*cs));
	cs->mode = GP_CAPTURE_NVTX;
	assert_int_equal(capture_parse_nvtx(pattern, &cs->nvtx, &why), 0);
	assert_int_equal(capture_parse_end(end, &cs->end, &cs->max_ranges, &why), 0);
}

static int exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

/* ---- tests ------------------------------------------------------------------------------ */

/* -c nvtx -p step, default end (stop-shutdown): the first step only, then shutdown. */
static void test_default_end(void **state)
{
	struct capture_settings cs;
	struct run r;
	char path[PATH_MAX + 8];
	sqlite3 *db;

	(void)state;
	settings_nvtx(&cs, "step", "stop-shutdown");
	run_app(&r, "default", &cs, "plain", "200", "100", NULL);
	assert_int_equal(r.shutdown, 1);
	assert_int_equal(r.st.capture_ranges, 1);
	assert_int_equal(r.st.n_reports, 1);
	snprintf(path, sizeof(path), "%s.db", r.base);
	assert_string_equal(r.st.report_paths[0], path);
	db = open_db(path);
	assert_int_equal(one_iteration(db, "step"), 0);
	assert_int_equal(q1(db, "SELECT value FROM META_DATA_CAPTURE WHERE name = "
				"'GPROF_CAPTURE_RANGE'"),
			 1);
	sqlite3_close(db);
	recorder_stats_release(&r.st);
}

/* repeat:3: three reports, each exactly one iteration (0, 1, 2); worker records that
 * were still buffered when each range closed are in the right report. */
static void test_repeat3(void **state)
{
	struct capture_settings cs;
	struct run r;
	char path[PATH_MAX + 8];

	(void)state;
	settings_nvtx(&cs, "step", "repeat:3");
	run_app(&r, "rep3", &cs, "plain", "200", "100", NULL);
	assert_int_equal(r.shutdown, 0);
	assert_int_equal(r.app_status, 0);
	assert_int_equal(r.st.capture_ranges, 3);
	assert_int_equal(r.st.n_reports, 3);
	for (int k = 1; k <= 3; k++) {
		sqlite3 *db;

		snprintf(path, sizeof(path), "%s.%d.db", r.base, k);
		assert_string_equal(r.st.report_paths[k - 1], path);
		db = open_db(path);
		assert_int_equal(one_iteration(db, "step"), k - 1);
		sqlite3_close(db);
	}
	snprintf(path, sizeof(path), "%s.db", r.base);
	assert_false(exists(path));
	snprintf(path, sizeof(path), "%s.4.db", r.base);
	assert_false(exists(path));
	recorder_stats_release(&r.st);
}

/* repeat (unlimited) over 5 iterations: 5 reports; start/end ranges trigger too. */
static void test_repeat_all(void **state)
{
	static const char *variants[] = {"plain", "startend"};
	struct capture_settings cs;
	struct run r;
	char path[PATH_MAX + 8];

	(void)state;
	for (int v = 0; v < 2; v++) {
		settings_nvtx(&cs, "step", "repeat");
		run_app(&r, variants[v], &cs, variants[v], "5", "2000", NULL);
		assert_int_equal(r.st.capture_ranges, 5);
		assert_int_equal(r.st.n_reports, 5);
		for (int k = 1; k <= 5; k++) {
			sqlite3 *db;

			snprintf(path, sizeof(path), "%s.%d.db", r.base, k);
			db = open_db(path);
			assert_int_equal(one_iteration(db, "step"), k - 1);
			sqlite3_close(db);
		}
		recorder_stats_release(&r.st);
	}
}

/* repeat-shutdown:2: two reports, then the shutdown signal. */
static void test_repeat_shutdown(void **state)
{
	struct capture_settings cs;
	struct run r;

	(void)state;
	settings_nvtx(&cs, "step", "repeat-shutdown:2");
	run_app(&r, "repsd", &cs, "plain", "200", "100", NULL);
	assert_int_equal(r.shutdown, 1);
	assert_int_equal(r.st.capture_ranges, 2);
	assert_int_equal(r.st.n_reports, 2);
	recorder_stats_release(&r.st);
}

/* stop-shutdown with --kill sigkill: the signal leaves no time to flush, so every
 * producer of the process must have flushed before the recorder asks for the shutdown.
 * The range's nanosleep sits in the osrt library's buffer, which the nvtx library (whose
 * pop closed the range) cannot flush itself; a 10 s flush period rules out the osrt
 * flusher's periodic flush: only the flush request (wire.h) brings it in time. */
static void test_sigkill_keeps_all_producers(void **state)
{
	struct capture_settings cs;
	struct run r;
	char path[PATH_MAX + 8];
	sqlite3 *db;

	(void)state;
	settings_nvtx(&cs, "step", "stop-shutdown");
	g_kill_sig = SIGKILL;
	/* 20 ms between iterations: the app cannot run to its end (4 s) before the
	 * shutdown signal, however the machine schedules it */
	run_app(&r, "sigkill", &cs, "plain", "200", "20000", "GPROF_CLI_FLUSH_MS=10000");
	g_kill_sig = SIGTERM;
	assert_int_equal(r.shutdown, 1);
	assert_int_equal(r.app_status, 128 + SIGKILL);
	assert_int_equal(r.st.capture_ranges, 1);
	snprintf(path, sizeof(path), "%s.db", r.base);
	db = open_db(path);
	assert_int_equal(one_iteration(db, "step"), 0); /* the nanosleep included */
	assert_int_equal(q1(db,
			    "SELECT count(*) FROM OSRT_API o JOIN StringIds s ON s.id = "
			    "o.nameId WHERE s.value = 'nanosleep' AND o.end - o.start >= 200000"),
			 1);
	sqlite3_close(db);
	recorder_stats_release(&r.st);
}

/* Number of capture ranges for `variant` under pattern `p` (end stop: the app runs on). */
static unsigned ranges_for(const char *name, const char *variant, const char *p, const char *env)
{
	struct capture_settings cs;
	struct run r;
	unsigned n;

	settings_nvtx(&cs, p, "stop");
	run_app(&r, name, &cs, variant, "20", "100", env);
	assert_int_equal(r.shutdown, 0);
	assert_int_equal(r.app_status, 0);
	n = r.st.capture_ranges;
	if (n) {
		char path[PATH_MAX + 8];
		sqlite3 *db;

		snprintf(path, sizeof(path), "%s.db", r.base);
		db = open_db(path);
		one_iteration(db, !strcmp(variant, "at") ? "a@b" : "step");
		sqlite3_close(db);
	}
	recorder_stats_release(&r.st);
	return n;
}

static void test_matching(void **state)
{
	(void)state;
	assert_int_equal(ranges_for("m1", "dom", "step@dom", NULL), 1);
	assert_int_equal(ranges_for("m2", "dom", "step@*", NULL), 1);
	assert_int_equal(ranges_for("m3", "dom", "step", NULL), 0);
	assert_int_equal(ranges_for("m4", "dom", "step@other", NULL), 0);
	assert_int_equal(ranges_for("m5", "plain", "step@dom", NULL), 0);
	assert_int_equal(ranges_for("m6", "plain", "step@*", NULL), 1);
	assert_int_equal(ranges_for("m7", "reg", "step", NULL), 1);
	/* nsys's registered-only matching, on request */
	assert_int_equal(ranges_for("m8", "plain", "step", "NSYS_NVTX_PROFILER_REGISTER_ONLY=1"),
			 0);
	assert_int_equal(ranges_for("m9", "reg", "step", "NSYS_NVTX_PROFILER_REGISTER_ONLY=1"), 1);
	/* "a\@b" is the message a@b in the default domain; "a@b" is message a in domain b */
	assert_int_equal(ranges_for("m10", "at", "a\\@b", NULL), 1);
	assert_int_equal(ranges_for("m11", "at", "a@b", NULL), 0);
}

/* Mode none: everything. */
static void test_mode_none(void **state)
{
	struct run r;
	char path[PATH_MAX + 8];
	sqlite3 *db;

	(void)state;
	run_app(&r, "none", NULL, "plain", "200", "0", NULL);
	assert_int_equal(r.st.capture_ranges, 0);
	assert_int_equal(r.st.n_reports, 1);
	snprintf(path, sizeof(path), "%s.db", r.base);
	db = open_db(path);
	assert_int_equal(ranges(db, "step"), 200);
	assert_int_equal(ranges(db, "inner"), 200 * INNER);
	assert_int_equal(ranges(db, "w-inner"), 200);
	assert_int_equal(marks(db, "between"), 200);
	assert_int_equal(sleeps(db), 400);
	sqlite3_close(db);
	recorder_stats_release(&r.st);
}

/* -y/--delay with mode none: nothing before the delay, the rest after it. */
static void test_delay(void **state)
{
	struct capture_settings cs;
	struct run r;
	char path[PATH_MAX + 8];
	sqlite3 *db;
	long long start, n;

	(void)state;
	memset(&cs, 0, sizeof(cs));
	cs.delay_ns = 150 * 1000000ull;
	run_app(&r, "delay", &cs, "plain", "300", "1000", NULL);
	assert_int_equal(r.st.capture_ranges, 1);
	snprintf(path, sizeof(path), "%s.db", r.base);
	db = open_db(path);
	start = q1(db, "SELECT value FROM META_DATA_CAPTURE WHERE name = "
		       "'GPROF_CAPTURE_RANGE_START'");
	assert_true(start >= 150 * 1000000ll);
	n = ranges(db, "step");
	assert_true(n > 0 && n < 300);
	assert_int_equal(ranges(db, "inner"), n * INNER);
	{
		char sql[256];

		snprintf(sql, sizeof(sql), "SELECT count(*) FROM NVTX_EVENTS WHERE start < %lld",
			 start);
		assert_int_equal(q1(db, sql), 0);
		/* a call in progress when collection began is kept: it ended inside */
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM OSRT_API WHERE end < %lld", start);
		assert_int_equal(q1(db, sql), 0);
	}
	sqlite3_close(db);
	recorder_stats_release(&r.st);
}

/* -y with a trigger mode: ranges before the delay do not trigger; the first one after it
 * does.  The producer compares each range's start (its record's timestamp) with the end
 * of the delay, so that is what the test checks, from the report (the captured range
 * began after the delay) and from capture_app's own clock readings around each "step"
 * push (CAPTURE_APP_TIMES: every earlier one was pushed before the delay ended), not from
 * a count of the iterations a loaded machine runs in 100 ms. */
static void test_delay_nvtx(void **state)
{
	struct capture_settings cs;
	struct run r;
	char path[PATH_MAX + 8], times[PATH_MAX + 16], env[PATH_MAX + 40];
	long long t[100][2], it, armed, start;
	/* the producer's clock (the calibrated TSC) against the app's clock_gettime: within
	 * 1 ms by design (collectors/producer.c "the clock"); iterations are >= 5.2 ms apart */
	const long long tol = 2000000;
	sqlite3 *db;
	FILE *f;

	(void)state;
	settings_nvtx(&cs, "step", "stop");
	cs.delay_ns = 100 * 1000000ull;
	snprintf(times, sizeof(times), "%s/delaynvtx.times", g_tmp);
	snprintf(env, sizeof(env), "CAPTURE_APP_TIMES=%s", times);
	run_app(&r, "delaynvtx", &cs, "plain", "100", "5000", env);
	assert_int_equal(r.app_status, 0);
	assert_int_equal(r.st.capture_ranges, 1);
	f = fopen(times, "r");
	assert_non_null(f);
	for (int i = 0; i < 100; i++) {
		int k = -1;

		assert_int_equal(fscanf(f, "%d %lld %lld", &k, &t[i][0], &t[i][1]), 3);
		assert_int_equal(k, i);
	}
	fclose(f);
	snprintf(path, sizeof(path), "%s.db", r.base);
	db = open_db(path);
	it = one_iteration(db, "step");
	assert_true(it >= 0 && it < 100);
	armed = q1(db, "SELECT value FROM META_DATA_CAPTURE WHERE name = "
		       "'SESSION_START_MONOTONIC_NS'") +
		(long long)cs.delay_ns;
	start = q1(db, "SELECT value FROM META_DATA_CAPTURE WHERE name = "
		       "'GPROF_CAPTURE_RANGE_START'");
	/* the captured range (the window's start) began after the delay (report time, ns
	 * from the session start)... */
	assert_int_equal(q1(db, "SELECT e.start FROM NVTX_EVENTS e LEFT JOIN StringIds s ON "
				"s.id = e.textId WHERE e.eventType = 59 AND coalesce(e.text, "
				"s.value) = 'step'"),
			 start);
	assert_true(start >= (long long)cs.delay_ns);
	assert_true(t[it][1] + tol >= armed);
	/* ...and every earlier one before it: those did not trigger */
	for (long long i = 0; i < it; i++)
		assert_true(t[i][0] < armed + tol);
	sqlite3_close(db);
	recorder_stats_release(&r.st);
}

static int setup(void **state)
{
	const char *b = getenv("BUILD");

	(void)state;
	snprintf(g_build, sizeof(g_build), "%s", b && *b ? b : "build");
	strcpy(g_tmp, "/tmp/gprof-test-capture-XXXXXX");
	return mkdtemp(g_tmp) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[512];

	(void)state;
	if (getenv("GPROF_TEST_KEEP"))
		return 0;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_tmp);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_end),
	    cmocka_unit_test(test_repeat3),
	    cmocka_unit_test(test_repeat_all),
	    cmocka_unit_test(test_repeat_shutdown),
	    cmocka_unit_test(test_matching),
	    cmocka_unit_test(test_mode_none),
	    cmocka_unit_test(test_delay),
	    cmocka_unit_test(test_delay_nvtx),
	    cmocka_unit_test(test_sigkill_keeps_all_producers),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
