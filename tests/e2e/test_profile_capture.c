/*
 * test_profile_capture.c - end-to-end tests of the capture-range switches of
 * `gprof-cli profile` (-c/--capture-range, -p/--nvtx-capture, --capture-range-end,
 * -y/--delay; nsys-cli.md section 1.2): runs the real binary ($GPROF_CLI) on
 * tests/programs/capture_app ($BUILD/tests/programs/capture_app) with -t nvtx,osrt and
 * checks exit statuses, report files, their contents (sqlite3 API), the error lines of
 * bad values, --print-config and YAML config keys.  Expected numbers: capture_app.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/testutil.h"

#define INNER 3 /* capture_app.c: "inner" ranges per iteration */

static char gprof[PATH_MAX];
static char app[PATH_MAX];

#define RUN(r, dir, ...)                                                                           \
	do {                                                                                       \
		const char *a_[] = {__VA_ARGS__, NULL};                                            \
		tu_run_in(r, gprof, dir, a_);                                                      \
	} while (0)

/* Run a query returning one integer on the report (LLONG_MIN: no row). */
static long long q1(const char *db, const char *sql)
{
	return tu_query_int(db, sql);
}

/* Push/pop ranges named `name`. */
static long long ranges(const char *db, const char *name)
{
	char sql[512];

	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM NVTX_EVENTS e LEFT JOIN StringIds s ON s.id = e.textId "
		 "WHERE e.eventType IN (59, 60) AND coalesce(e.text, s.value) = '%s'",
		 name);
	return q1(db, sql);
}

static long long marks(const char *db, const char *name)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM NVTX_EVENTS WHERE eventType = 34 AND text = '%s'", name);
	return q1(db, sql);
}

static long long sleeps(const char *db)
{
	return q1(db, "SELECT count(*) FROM OSRT_API o JOIN StringIds s ON s.id = o.nameId "
		      "WHERE s.value = 'nanosleep'");
}

/* The report holds exactly one iteration of capture_app; returns its index. */
static long long one_iteration(const char *db)
{
	char buf[64];

	assert_int_equal(ranges(db, "step"), 1);
	assert_int_equal(ranges(db, "inner"), INNER);
	assert_int_equal(ranges(db, "w-inner"), 1);
	assert_int_equal(marks(db, "iter"), 1);
	assert_int_equal(marks(db, "between"), 0);
	assert_int_equal(sleeps(db), 1);
	assert_int_equal(q1(db, "SELECT count(*) FROM PROCESSES"), 1);
	assert_string_equal(tu_meta(db, "META_DATA_EXPORT", "GPROF_FINISHED_CLEANLY", buf, 64),
			    "true");
	return q1(db, "SELECT int64Value FROM NVTX_EVENTS WHERE eventType = 34 AND text = 'iter'");
}

/* One error line (plus at most one hint), naming `what`; exit 2. */
static void assert_usage_error(const struct tu_run *r, const char *what)
{
	if (r->status != 2 || tu_count_lines(r->err, "gprof-cli: ") != 1 || !strstr(r->err, what))
		fail_msg("status %d, stderr:\n%s", r->status, r->err);
	tu_assert_one_error(r, what);
}

/* --- capture ranges ----------------------------------------------------------------- */

/* -c nvtx -p step, default end (stop-shutdown): the first "step" only, then the app
 * gets --kill's default SIGTERM (exit 143); one report, the summary names it. */
static void test_nvtx_stop_shutdown(void **state)
{
	const char *dir = *state;
	char db[PATH_MAX], buf[PATH_MAX];
	struct tu_run r;

	RUN(&r, dir, "profile", "-t", "nvtx,osrt", "-c", "nvtx", "-p", "step", "-o", "cap", app,
	    "plain", "200000", "100");
	tu_assert_status(&r, 143);
	assert_int_equal(tu_count_entries(dir), 1);
	tu_pathf(db, dir, "cap.db");
	assert_true(tu_exists(db));
	assert_int_equal(one_iteration(db), 0);
	assert_non_null(strstr(r.err, "capture ended (--capture-range-end=stop-shutdown); "
				      "sending SIGTERM"));
	assert_non_null(strstr(r.err, "gprof-cli: 1 capture range (-c nvtx, "
				      "--capture-range-end=stop-shutdown)\n"));
	assert_non_null(strstr(r.err, "Generated:\n"));
	assert_non_null(strstr(r.err, "/cap.db\n"));
	assert_string_equal(tu_meta(db, "META_DATA_EXPORT", "GPROF_APP_EXIT_STATUS", buf, 64),
			    "143");
	assert_string_equal(tu_meta(db, "META_DATA_CAPTURE", "GPROF_CAPTURE_MODE", buf, 64),
			    "nvtx");
	assert_string_equal(tu_meta(db, "META_DATA_CAPTURE", "GPROF_NVTX_CAPTURE", buf, 64),
			    "step");
	assert_string_equal(tu_meta(db, "META_DATA_CAPTURE", "START_TRIGGER", buf, 64), "Nvtx");
}

/* --kill sigkill with stop-shutdown: 137, and the range's NVTX events are complete (the
 * OS runtime records of the range may be lost: SIGKILL leaves no time to flush). */
static void test_nvtx_stop_shutdown_sigkill(void **state)
{
	const char *dir = *state;
	char db[PATH_MAX];
	struct tu_run r;

	RUN(&r, dir, "profile", "-t", "nvtx,osrt", "-c", "nvtx", "-p", "step", "--kill", "sigkill",
	    "-o", "k", app, "plain", "200000", "100");
	tu_assert_status(&r, 137);
	tu_pathf(db, dir, "k.db");
	assert_int_equal(ranges(db, "step"), 1);
	assert_int_equal(ranges(db, "inner"), INNER);
	assert_int_equal(marks(db, "iter"), 1);
	assert_int_equal(marks(db, "between"), 0);
}

/* --capture-range-end=stop: the app runs to completion (exit 0), one iteration. */
static void test_nvtx_stop(void **state)
{
	const char *dir = *state;
	char db[PATH_MAX];
	struct tu_run r;

	RUN(&r, dir, "profile", "-t", "nvtx,osrt", "-c", "nvtx", "-p", "step",
	    "--capture-range-end=stop", "-o", "st", app, "plain", "20", "100");
	tu_assert_status(&r, 0);
	assert_int_equal(tu_count_entries(dir), 1);
	assert_int_equal(one_iteration(tu_pathf(db, dir, "st.db")), 0);
	assert_null(strstr(r.err, "sending"));
}

/* repeat:3: exactly NAME.1.db .. NAME.3.db, each one iteration (0, 1, 2), all listed. */
static void test_repeat3(void **state)
{
	const char *dir = *state;
	char db[PATH_MAX], name[32];
	struct tu_run r;

	RUN(&r, dir, "profile", "-t", "nvtx,osrt", "-c", "nvtx", "-p", "step",
	    "--capture-range-end=repeat:3", "-o", "rep", app, "plain", "30", "100");
	tu_assert_status(&r, 0);
	assert_int_equal(tu_count_entries(dir), 3);
	assert_false(tu_exists(tu_pathf(db, dir, "rep.db")));
	for (int k = 1; k <= 3; k++) {
		snprintf(name, sizeof(name), "rep.%d.db", k);
		assert_int_equal(one_iteration(tu_pathf(db, dir, name)), k - 1);
		snprintf(name, sizeof(name), "/rep.%d.db\n", k);
		assert_non_null(strstr(r.err, name));
	}
	assert_non_null(strstr(r.err, "gprof-cli: 3 capture ranges (-c nvtx, "
				      "--capture-range-end=repeat:3)\n"));
}

/* repeat-shutdown:2: two reports, then SIGTERM (143). */
static void test_repeat_shutdown2(void **state)
{
	const char *dir = *state;
	char db[PATH_MAX];
	struct tu_run r;

	RUN(&r, dir, "profile", "-t", "nvtx,osrt", "-c", "nvtx", "-p", "step",
	    "--capture-range-end", "repeat-shutdown:2", "-o", "rs", app, "plain", "200000", "100");
	tu_assert_status(&r, 143);
	assert_int_equal(tu_count_entries(dir), 2);
	assert_int_equal(one_iteration(tu_pathf(db, dir, "rs.1.db")), 0);
	assert_int_equal(one_iteration(tu_pathf(db, dir, "rs.2.db")), 1);
}

/* -p step@* matches "step" in domain "dom" too (capture_app dom). */
static void test_nvtx_any_domain(void **state)
{
	const char *dir = *state;
	char db[PATH_MAX];
	struct tu_run r;

	RUN(&r, dir, "profile", "-t", "nvtx,osrt", "--capture-range=nvtx", "--nvtx-capture=step@*",
	    "--capture-range-end=stop", "-o", "d", app, "dom", "10", "100");
	tu_assert_status(&r, 0);
	assert_int_equal(q1(tu_pathf(db, dir, "d.db"),
			    "SELECT count(*) FROM NVTX_EVENTS WHERE eventType = 34 AND "
			    "text = 'iter'"),
			 1);
}

/* -y 0.2 (mode none): nothing before 0.2 s after the launch is recorded; the rest is. */
static void test_delay(void **state)
{
	const char *dir = *state;
	char db[PATH_MAX], buf[64];
	struct tu_run r;

	RUN(&r, dir, "profile", "-t", "nvtx,osrt", "-y", "0.2", "-o", "dl", app, "plain", "60",
	    "10000");
	tu_assert_status(&r, 0);
	tu_pathf(db, dir, "dl.db");
	assert_true(marks(db, "iter") >= 1);
	assert_true(q1(db, "SELECT min(start) FROM NVTX_EVENTS") >= 200000000);
	assert_true(q1(db, "SELECT min(start) FROM OSRT_API") >= 200000000);
	assert_string_equal(tu_meta(db, "META_DATA_CAPTURE", "GPROF_DELAY_NS", buf, 64),
			    "200000000");
	assert_non_null(strstr(r.err, "collection started 0.2 s after the launch (--delay)"));
}

/* Bad values and conflicts: one line (and a hint), exit 2, nothing created. */
static void test_bad_values(void **state)
{
	const char *dir = *state;
	struct tu_run r;

	RUN(&r, dir, "profile", "-c", "nvtx", "-p", "step", "--capture-range-end=repeat:x", app);
	assert_usage_error(&r, "invalid value 'repeat:x' for --capture-range-end: ");
	RUN(&r, dir, "profile", "--capture-range-end=repeat:0", app);
	assert_usage_error(&r, "invalid value 'repeat:0' for --capture-range-end: ");
	RUN(&r, dir, "profile", "--capture-range-end=repeat-shutdown", app);
	assert_usage_error(&r, "for --capture-range-end: repeat-shutdown needs the number");
	RUN(&r, dir, "profile", "-c", "nvtx", "-p", "", app);
	assert_usage_error(&r, "invalid value '' for --nvtx-capture: ");
	RUN(&r, dir, "profile", "-c", "nvtx", "-p", "-o", "x", app);
	assert_usage_error(&r, "option '--nvtx-capture' needs a value (got the option '-o')");
	RUN(&r, dir, "profile", "-c", "nvtx", "-p");
	assert_usage_error(&r, "option '--nvtx-capture' needs a value");
	RUN(&r, dir, "profile", "-c", "nvtx", "-p", "@dom", app);
	assert_usage_error(&r, "for --nvtx-capture: the range name before '@' is empty");
	RUN(&r, dir, "profile", "-y", "-1", app);
	assert_usage_error(&r, "invalid value '-1' for --delay: ");
	RUN(&r, dir, "profile", "--delay=soon", app);
	assert_usage_error(&r, "invalid value 'soon' for --delay: ");
	RUN(&r, dir, "profile", "-p", "step", app);
	assert_usage_error(&r, "--nvtx-capture needs --capture-range=nvtx");
	RUN(&r, dir, "profile", "-c", "cudaProfilerApi", "-p", "step", app);
	assert_usage_error(&r, "--nvtx-capture needs --capture-range=nvtx");
	RUN(&r, dir, "profile", "-c", "nvtx", app);
	assert_usage_error(&r, "--capture-range=nvtx needs --nvtx-capture");
	RUN(&r, dir, "profile", "-c", "hotkey", app);
	assert_usage_error(&r, "invalid value 'hotkey' for --capture-range: ");
	RUN(&r, dir, "profile", "-c", "NVTX", "-p", "step", app);
	assert_usage_error(&r, "invalid value 'NVTX' for --capture-range: ");
	assert_int_equal(tu_count_entries(dir), 0);
}

/* --print-config shows the four keys: defaults, then given values. */
static void test_print_config(void **state)
{
	const char *dir = *state;
	struct tu_run r;

	RUN(&r, dir, "profile", "--print-config");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "\ncapture-range: none\n"));
	assert_non_null(strstr(r.out, "\ncapture-range-end: stop-shutdown\n"));
	assert_null(strstr(r.out, "nvtx-capture"));
	assert_non_null(strstr(r.out, "\ndelay: 0\n"));
	RUN(&r, dir, "profile", "-c", "nvtx", "-p", "step@*", "--capture-range-end=repeat:3", "-y",
	    "0.5", "--print-config");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "\ncapture-range: nvtx\n"));
	assert_non_null(strstr(r.out, "\ncapture-range-end: repeat:3\n"));
	assert_non_null(strstr(r.out, "\nnvtx-capture: "));
	assert_non_null(strstr(r.out, "step@*"));
	assert_non_null(strstr(r.out, "\ndelay: 0.5\n"));
	assert_int_equal(tu_count_entries(dir), 0);
}

/* A YAML config with capture-range: nvtx + nvtx-capture: step works; the command line
 * wins over its capture-range-end. */
static void test_yaml_config(void **state)
{
	const char *dir = *state;
	char cfg[PATH_MAX], db[PATH_MAX], name[32];
	struct tu_run r;

	snprintf(cfg, sizeof(cfg), "%s.yaml", dir);
	tu_write_text(cfg, "trace: [nvtx, osrt]\n"
			   "capture-range: nvtx\n"
			   "nvtx-capture: step\n"
			   "capture-range-end: stop\n"
			   "output: y\n");
	RUN(&r, dir, "profile", "--config", cfg, app, "plain", "20", "100");
	tu_assert_status(&r, 0);
	assert_int_equal(tu_count_entries(dir), 1);
	assert_int_equal(one_iteration(tu_pathf(db, dir, "y.db")), 0);
	unlink(db);
	RUN(&r, dir, "profile", "--config", cfg, "--capture-range-end=repeat:2", app, "plain", "20",
	    "100");
	tu_assert_status(&r, 0);
	assert_int_equal(tu_count_entries(dir), 2);
	for (int k = 1; k <= 2; k++) {
		snprintf(name, sizeof(name), "y.%d.db", k);
		assert_int_equal(one_iteration(tu_pathf(db, dir, name)), k - 1);
	}
	unlink(cfg);
}

/* Bad capture values in YAML: one FILE:LINE:COLUMN: line, exit 2, nothing created. */
static void test_yaml_bad_values(void **state)
{
	const char *dir = *state;
	char cfg[PATH_MAX], want[PATH_MAX + 64];
	struct tu_run r;

	snprintf(cfg, sizeof(cfg), "%s.yaml", dir);
	tu_write_text(cfg, "capture-range: nvtx\n"
			   "nvtx-capture: step\n"
			   "capture-range-end: repeat:x\n");
	RUN(&r, dir, "profile", "--config", cfg, app);
	snprintf(want, sizeof(want), "%s:3:", cfg);
	assert_usage_error(&r, want);
	assert_non_null(strstr(r.err, "repeat:x"));
	tu_write_text(cfg, "delay: -1\n");
	RUN(&r, dir, "profile", "--config", cfg, app);
	snprintf(want, sizeof(want), "%s:1:", cfg);
	assert_usage_error(&r, want);
	tu_write_text(cfg, "capture-range: nvtx\n");
	RUN(&r, dir, "profile", "--config", cfg, app);
	assert_usage_error(&r, "--capture-range=nvtx needs --nvtx-capture");
	assert_int_equal(tu_count_entries(dir), 0);
	unlink(cfg);
}

/* examples/llm-capture.yaml loads (when the tests run from the source tree). */
static void test_example_llm_capture(void **state)
{
	const char *dir = *state;
	char example[PATH_MAX];
	struct tu_run r;

	if (!realpath("examples/llm-capture.yaml", example))
		skip();
	RUN(&r, dir, "profile", "--config", example, "--print-config");
	tu_assert_status(&r, 0);
	assert_non_null(strstr(r.out, "\ncapture-range: cudaProfilerApi\n"));
	assert_non_null(strstr(r.out, "\ncapture-range-end: repeat:3\n"));
}

int main(void)
{
	const char *g = getenv("GPROF_CLI");
	const char *b = getenv("BUILD");
	char buf[PATH_MAX];

	if (!realpath(g && *g ? g : "build/bin/gprof-cli", gprof)) {
		fprintf(stderr, "test_profile_capture: gprof-cli not found (set GPROF_CLI)\n");
		return 1;
	}
	snprintf(buf, sizeof(buf), "%s/tests/programs/capture_app", b && *b ? b : "build");
	if (!realpath(buf, app)) {
		fprintf(stderr, "test_profile_capture: '%s' not found (set BUILD)\n", buf);
		return 1;
	}

	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, tu_setup_tmpdir, tu_teardown_tmpdir)
	    T(test_nvtx_stop_shutdown),
	    T(test_nvtx_stop_shutdown_sigkill),
	    T(test_nvtx_stop),
	    T(test_repeat3),
	    T(test_repeat_shutdown2),
	    T(test_nvtx_any_domain),
	    T(test_delay),
	    T(test_bad_values),
	    T(test_print_config),
	    T(test_yaml_config),
	    T(test_yaml_bad_values),
	    T(test_example_llm_capture),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
