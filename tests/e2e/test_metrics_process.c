/*
 * test_metrics_process.c - gprof-cli's GPU metrics sampler process (cli/metrics_process.h,
 * issue 21) on the CPU, with the CUPTI and driver stand-ins of
 * tests/programs/fakegpu/fake_cupti.c on LD_LIBRARY_PATH (a "GH100" whose samples come from
 * the clock): the sampler starts before the application and covers its run, writes nsys's
 * GH100 metric names (NVIDIA's documented query finds "SMs Active"), is no process of the
 * report, passes the application's exit status through, samples with several evaluation
 * threads, keeps only the samples of a --delay window, says in one line why it samples
 * nothing when CUPTI refuses, and says (and stores) that samples are lost when it dies.  Real PM
 * sampling is tested on the H200 (tests/gpu/run-metrics-sampling-tests.sh).
 *
 * Environment: GPROF_CLI, BUILD (make check sets them).  Skips when the stand-ins were not
 * built (no CUPTI PM-sampling headers).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/testutil.h"

static char gprof[PATH_MAX], fakes[PATH_MAX], exit_with[PATH_MAX];

#define RUN(r, dir, ...)                                                                           \
	do {                                                                                       \
		const char *a_[] = {__VA_ARGS__, NULL};                                            \
		tu_run_in(r, gprof, dir, a_);                                                      \
	} while (0)

/* Skip the running test when the stand-ins were not built. */
static void need_fakes(void)
{
	char p[PATH_MAX + 32];

	snprintf(p, sizeof(p), "%s/libcupti.so.13", fakes);
	if (access(p, R_OK) != 0)
		TU_SKIP("no CUPTI stand-ins (built only with cupti_pmsampling.h)");
}

/* The whole run sampled, under nsys's names, by a process that is not in the report. */
static void test_sampled_from_launch(void **state)
{
	const char *dir = *state;
	char db[PATH_MAX], buf[256];
	struct tu_run run, *r = &run;

	need_fakes();
	RUN(r, dir, "profile", "-t", "nvtx,gpu-metrics", "--gpu-metrics-frequency=1000", "-o", "m",
	    "sleep", "0.5");
	tu_assert_status(r, 0);
	tu_assert_lines(r, "gprof-cli: ", 0);
	tu_pathf(db, dir, "m.db");
	assert_int_equal(tu_query_int(db, "SELECT count(*) FROM TARGET_INFO_GPU_METRICS"), 22);
	assert_int_equal(tu_query_int(db, "SELECT metricId FROM TARGET_INFO_GPU_METRICS WHERE "
					  "metricName = 'GPC Clock Frequency [MHz]'"),
			 0);
	assert_int_equal(tu_query_int(db, "SELECT metricId FROM TARGET_INFO_GPU_METRICS WHERE "
					  "metricName = 'PCIe TX Throughput [Throughput %]'"),
			 21);
	/* NVIDIA's documented query, unchanged */
	assert_true(tu_query_int(db,
				 "SELECT count(*) FROM (SELECT timestamp, value FROM "
				 "GPU_METRICS JOIN TARGET_INFO_GPU_METRICS USING (metricId) "
				 "WHERE value != 0 AND metricName LIKE \"SMs Active%\")") > 300);
	/* 0.5 s at 1 kHz, from before the application started to its end */
	long long n = tu_query_int(db, "SELECT count(*) FROM GPU_METRICS WHERE metricId = 0");
	assert_true(n >= 450 && n <= 5000); /* (slow machines stop later) */
	/* sampling started before the application ran (its first context switch): the first
	 * sample kept ends two intervals (2 ms) after the start, the first being dropped */
	assert_true(tu_query_int(db, "SELECT min(timestamp) - 2000000 FROM GPU_METRICS") <
		    tu_query_int(db, "SELECT min(start) FROM SCHED_EVENTS"));
	assert_true(tu_query_int(db, "SELECT max(timestamp) - min(timestamp) FROM GPU_METRICS") >=
		    450000000);
	/* the fake's value of metric k is 10 k + sample % 7 */
	assert_int_equal(tu_query_int(db, "SELECT max(value) FROM GPU_METRICS WHERE metricId = 3"),
			 36);
	/* the sampler is gprof-cli's, not the application's */
	assert_int_equal(tu_query_int(db, "SELECT count(*) FROM PROCESSES WHERE name LIKE "
					  "'%gprof-cli%'"),
			 0);
	assert_int_equal(tu_query_int(db, "SELECT count(*) FROM ThreadNames"), 0);
	assert_string_equal(
	    tu_meta(db, "META_DATA_CAPTURE", "GPU_METRICS:SET_DEVICE_0", buf, sizeof(buf)),
	    "nsys gh100 (22 metrics; 10 optional ones the chip lacks or that do "
	    "not fit left out, as nsys does)");
	assert_string_equal(
	    tu_meta(db, "META_DATA_EXPORT", "GPROF_TRACE_NOT_SEEN", buf, sizeof(buf)), "");
}

/* The application's exit status passes through; four evaluation threads lose nothing. */
static void test_workers_and_status(void **state)
{
	const char *dir = *state;
	char db[PATH_MAX], buf[64];
	struct tu_run run, *r = &run;

	need_fakes();
	setenv("GPROF_CLI_METRICS_WORKERS", "4", 1);
	RUN(r, dir, "profile", "-t", "gpu-metrics", "-o", "w", exit_with, "3");
	unsetenv("GPROF_CLI_METRICS_WORKERS");
	tu_assert_status(r, 3);
	tu_pathf(db, dir, "w.db");
	assert_string_equal(
	    tu_meta(db, "META_DATA_CAPTURE", "GPU_METRICS:WORKERS_DEVICE_0", buf, sizeof(buf)),
	    "4");
	long long kept = atoll(
	    tu_meta(db, "META_DATA_CAPTURE", "GPU_METRICS:SAMPLES_DEVICE_0", buf, sizeof(buf)));
	assert_true(kept > 0);
	/* every kept sample, once, with all 22 values */
	assert_int_equal(tu_query_int(db, "SELECT count(DISTINCT timestamp) FROM GPU_METRICS"),
			 kept);
	assert_int_equal(tu_query_int(db, "SELECT count(*) FROM GPU_METRICS"), 22 * kept);
}

/* -y: the samples before the window are not in the report. */
static void test_delay_window(void **state)
{
	const char *dir = *state;
	char db[PATH_MAX];
	struct tu_run run, *r = &run;

	need_fakes();
	RUN(r, dir, "profile", "-t", "gpu-metrics", "--gpu-metrics-frequency=1000", "-y", "0.4",
	    "-o", "d", "sleep", "0.9");
	tu_assert_status(r, 0);
	tu_pathf(db, dir, "d.db");
	long long n = tu_query_int(db, "SELECT count(*) FROM GPU_METRICS WHERE metricId = 0");
	assert_true(n >= 300 && n <= 3000);
	/* nothing from the first 0.4 s (report time: from about the session start) */
	assert_true(tu_query_int(db, "SELECT min(timestamp) FROM GPU_METRICS") >= 300000000);
}

/* CUPTI refuses (counters restricted to admin users): one line with the fix, the profile
 * goes on. */
static void test_refused(void **state)
{
	const char *dir = *state;
	char db[PATH_MAX];
	struct tu_run run, *r = &run;

	need_fakes();
	setenv("FAKE_CUPTI_FAIL", "enable", 1);
	RUN(r, dir, "profile", "-t", "nvtx,gpu-metrics", "-o", "x", exit_with, "0");
	unsetenv("FAKE_CUPTI_FAIL");
	tu_assert_status(r, 0);
	tu_assert_lines(r, "gprof-cli: gpu-metrics: device 0: enabling PM sampling failed: ", 1);
	assert_non_null(strstr(r->err, "NVreg_RestrictProfilingToAdminUsers"));
	tu_assert_lines(r, "gprof-cli: warning: no GPU metrics collected", 1);
	tu_pathf(db, dir, "x.db");
	assert_int_equal(tu_query_int(db, "SELECT count(*) FROM META_DATA_CAPTURE WHERE name = "
					  "'GPU_METRICS:ERROR'"),
			 1);
}

/* The sampler dies during the run: the application goes on, one warning says the samples
 * after that are lost, and the report stores it. */
static void test_sampler_dies(void **state)
{
	const char *dir = *state;
	char db[PATH_MAX];
	struct tu_run run, *r = &run;

	need_fakes();
	setenv("FAKE_CUPTI_FAIL", "crash", 1);
	RUN(r, dir, "profile", "-t", "gpu-metrics", "-o", "k", "sleep", "0.5");
	unsetenv("FAKE_CUPTI_FAIL");
	tu_assert_status(r, 0);
	tu_assert_lines(r,
			"gprof-cli: warning: the GPU metrics sampler process ended during the "
			"run; the samples after that are lost",
			1);
	tu_pathf(db, dir, "k.db");
	assert_int_equal(tu_query_int(db, "SELECT count(*) FROM DIAGNOSTIC_EVENT WHERE text LIKE "
					  "'%sampler process ended during the run%'"),
			 1);
}

int main(void)
{
	const char *g = getenv("GPROF_CLI"), *b = getenv("BUILD");
	char abs[PATH_MAX];

	snprintf(gprof, sizeof(gprof), "%s", g ? g : "build/bin/gprof-cli");
	snprintf(exit_with, sizeof(exit_with), "%s/tests/programs/exit_with", b ? b : "build");
	/* the tests run in a temporary folder: absolute paths */
	if (realpath(gprof, abs))
		snprintf(gprof, sizeof(gprof), "%s", abs);
	if (realpath(exit_with, abs))
		snprintf(exit_with, sizeof(exit_with), "%s", abs);
	tu_fakegpu_dir(fakes);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sampled_from_launch, tu_setup_tmpdir,
					    tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_workers_and_status, tu_setup_tmpdir,
					    tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_delay_window, tu_setup_tmpdir, tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_refused, tu_setup_tmpdir, tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_sampler_dies, tu_setup_tmpdir, tu_teardown_tmpdir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
