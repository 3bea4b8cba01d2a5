/*
 * test_analyze.c - `gprof-cli analyze` through the real binary: on the nsys 2025.3
 * launchbench export, `analyze -r nsys` prints byte for byte what `nsys analyze` printed
 * (../shared/fixtures/nsys-2025.3-launchbench.analyze.txt) and the default run adds our
 * rules' findings (the fixture is 300 NVTX iterations of 100 tiny kernels, each iteration
 * ending in cudaStreamSynchronize: launch_bound and sync_in_loop fire); rule arguments,
 * formats, --timeunit, --fail-on exit statuses, --help-rules, bad input; and a report of
 * a CPU program (`profile -t nvtx,osrt` of demo_app), where every CUDA rule is skipped
 * and nothing fires.
 *
 * Environment: GPROF_CLI (the binary), BUILD (the build folder, for demo_app),
 * GPROF_FIXTURES (tu_fixture_dir); the fixture tests are skipped when it is absent.
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

#include "tests/testutil.h"

#define FIXTURE "nsys-2025.3-launchbench"

static char *dir;
static char gprof[PATH_MAX];

/* Run gprof-cli analyze with args (NULL-terminated) in cwd (NULL: the test folder). */
static void analyze(struct tu_run *r, const char *cwd, ...)
{
	const char *args[64];
	char out[PATH_MAX], err[PATH_MAX];
	va_list ap;
	int n = 0;

	args[n++] = "analyze";
	va_start(ap, cwd);
	while (n < 63 && (args[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	args[n] = NULL;
	tu_pathf(out, dir, "out.txt");
	tu_pathf(err, dir, "err.txt");
	tu_finish(tu_spawn(gprof, args, cwd ? cwd : dir, out, err), r, out, err);
}

/* The fixture's folder, or skip the test. */
static const char *fixture_dir(void)
{
	char buf[PATH_MAX];

	tu_fixture(buf, FIXTURE ".sqlite");
	tu_fixture(buf, FIXTURE ".analyze.txt");
	return tu_fixture_dir();
}

static char *unwrap(char *text)
{
	for (char *p = text; *p; p++)
		if (*p == '\n')
			*p = ' ';
	return text;
}

static void test_fixture_matches_nsys(void **state)
{
	const char *fx = fixture_dir();
	static struct tu_run r;
	char golden[PATH_MAX];
	size_t len;
	char *want;

	tu_pathf(golden, fx, FIXTURE ".analyze.txt");
	want = tu_slurp(golden, &len);
	assert_non_null(want);
	analyze(&r, fx, "-r", "nsys", FIXTURE ".sqlite", NULL);
	tu_assert_status(&r, 0);
	assert_string_equal(r.err, "");
	assert_string_equal(r.out, want);

	/* the rules one by one, by name, give the same text in pieces */
	analyze(&r, fx, "-r", "cuda_memcpy_async,cuda_memcpy_sync", "-r", "cuda_memset_sync",
		"--rule=cuda_api_sync,gpu_gaps,gpu_time_util,dx12_mem_ops", FIXTURE ".sqlite",
		NULL);
	tu_assert_status(&r, 0);
	assert_string_equal(r.out, want);

	/* the default runs every rule: nsys's output, then ours */
	analyze(&r, fx, FIXTURE ".sqlite", NULL);
	tu_assert_status(&r, 0);
	assert_memory_equal(r.out, want, len);
	unwrap(r.out + len);
	assert_non_null(strstr(r.out + len, "Processing [" FIXTURE ".sqlite] with "
					    "[rules/launch_bound]... "));
	assert_non_null(strstr(r.out + len, "NVTX range 'iteration' (300 instances), stream 13 "
					    "of process 732: 30,000 kernels"));
	assert_non_null(strstr(r.out + len, "capture this region in a CUDA graph"));
	assert_non_null(strstr(r.out + len, "'iteration' (process 732): 300 of 300 instances "
					    "call cudaStreamSynchronize"));
	assert_non_null(strstr(r.out + len, "SKIPPED: " FIXTURE ".sqlite could not be analyzed "
					    "because it does not contain CUDA memory usage data."));
	free(want);
}

static void test_fixture_rows_and_formats(void **state)
{
	const char *fx = fixture_dir();
	static struct tu_run r;

	/* rows=3: the three longest synchronizations, csv without banners */
	analyze(&r, fx, "-q", "-f", "csv", "-r", "cuda_api_sync:rows=3", FIXTURE ".sqlite", NULL);
	tu_assert_status(&r, 0);
	assert_string_equal(r.out, "Duration (ns),Start (ns),PID,TID,API Name\n"
				   "22530,468500265,732,732,cudaStreamSynchronize_v3020\n"
				   "20857,519501079,732,732,cudaStreamSynchronize_v3020\n"
				   "16225,520503602,732,732,cudaStreamSynchronize_v3020\n");
	/* the column format says the table was cut */
	analyze(&r, fx, "-r", "cuda_api_sync:rows=1", FIXTURE ".sqlite", NULL);
	assert_non_null(strstr(r.out, "\nOnly the top result is displayed. More data may be "
				      "available.\n\n\n"));
	/* --timeunit and json */
	analyze(&r, fx, "-q", "-f", "csv", "--timeunit", "ms", "-r", "gpu_time_util",
		FIXTURE ".sqlite", NULL);
	assert_string_equal(r.out, "Row#,In-Use (%),Duration (ms),Start (ms),PID,Device ID,"
				   "Context ID\n1,21.7,160.285230,451.099423,732,0,1\n");
	analyze(&r, fx, "-q", "-f", "json", "-r", "gpu_time_util:threshold=10", FIXTURE ".sqlite",
		NULL);
	assert_string_equal(r.out, "[]\n");
	/* chunks=1: the whole span is one chunk */
	analyze(&r, fx, "-q", "-f", "tsv", "-r", "gpu_time_util:chunks=1", FIXTURE ".sqlite", NULL);
	assert_non_null(strstr(r.out, "\n1\t21.7\t160285230\t451099423\t732\t0\t1\n"));
	/* gap=0: every idle interval; the longest first */
	analyze(&r, fx, "-q", "-f", "csv", "-r", "gpu_gaps:gap=0:rows=2", FIXTURE ".sqlite", NULL);
	tu_assert_status(&r, 0);
	assert_int_equal(tu_total_lines(r.out), 3);
	assert_true(
	    !strncmp(r.out, "Row#,Duration (ns),Start (ns),PID,Device ID,Context ID\n1,", 56));
}

static void test_fixture_window(void **state)
{
	const char *fx = fixture_dir();
	static struct tu_run r;
	struct tu_run all;

	/* nvtx=iteration: the first iteration only (the process's main thread: the window
	 * covers the whole process), which ends in one cudaStreamSynchronize */
	analyze(&r, fx, "-q", "-f", "csv", "-r", "cuda_api_sync:nvtx=iteration", FIXTURE ".sqlite",
		NULL);
	tu_assert_status(&r, 0);
	assert_int_equal(tu_total_lines(r.out), 2);
	/* start/end: the same window by hand */
	analyze(&r, fx, "-q", "-f", "csv", "-r", "cuda_api_sync:start=0:end=451110000",
		FIXTURE ".sqlite", NULL);
	/* the sync after the warm-up kernel, before the first iteration */
	assert_non_null(strstr(r.out, "\n5943,451102853,732,732,cudaStreamSynchronize_v3020\n"));
	assert_int_equal(tu_total_lines(r.out), 2);
	analyze(&r, fx, "-r", "cuda_api_sync:nvtx=no-such-range", FIXTURE ".sqlite", NULL);
	tu_assert_status(&r, 0);
	assert_non_null(strstr(r.out, "SKIPPED: NVTX range 'no-such-range' could not be found.\n"));
	/* launch_bound inside the window: 100 kernels, exactly the threshold */
	analyze(&all, fx, "-q", "-f", "csv", "-r", "launch_bound:nvtx=iteration", FIXTURE ".sqlite",
		NULL);
	assert_non_null(strstr(all.out, ",iteration,1,732,0,13,100,"));
}

static void test_fail_on(void **state)
{
	const char *fx = fixture_dir();
	static struct tu_run r;

	analyze(&r, fx, "-q", "--fail-on=launch_bound", FIXTURE ".sqlite", NULL);
	tu_assert_status(&r, 5);
	tu_assert_one_error(&r, "rule 'launch_bound' found 1 problem (--fail-on)");
	analyze(&r, fx, "-q", "--fail-on", "cuda_memcpy_sync,gpu_gaps", FIXTURE ".sqlite", NULL);
	tu_assert_status(&r, 0);
	analyze(&r, fx, "-q", "-r", "nsys", "--fail-on=nsys", FIXTURE ".sqlite", NULL);
	tu_assert_status(&r, 5);
	assert_non_null(strstr(r.err, "rule 'cuda_api_sync' found 50 problems"));
	assert_non_null(strstr(r.err, "rule 'gpu_time_util' found 1 problem"));
	/* a --fail-on rule that does not run is a usage error */
	analyze(&r, fx, "-r", "gpu_gaps", "--fail-on=launch-bound", FIXTURE ".sqlite", NULL);
	tu_assert_status(&r, 2);
	tu_assert_one_error(&r, "--fail-on names rule 'launch-bound', which --rule does not run");
	assert_string_equal(r.out, "");
}

static void test_bad_command_lines(void **state)
{
	static struct tu_run r;
	char missing[PATH_MAX];

	analyze(&r, NULL, "-r", "no_such_rule", "x.db", NULL);
	tu_assert_status(&r, 2);
	tu_assert_one_error(&r, "unknown rule 'no_such_rule'");
	analyze(&r, NULL, "-r", "gpu_gaps:gap=soon", "x.db", NULL);
	tu_assert_status(&r, 2);
	tu_assert_one_error(&r, "rule 'gpu_gaps': bad value 'soon' for argument 'gap'");
	analyze(&r, NULL, "-r", "gpu_gaps:chunks=3", "x.db", NULL);
	tu_assert_status(&r, 2);
	tu_assert_one_error(&r, "rule 'gpu_gaps' has no argument 'chunks'");
	analyze(&r, NULL, "-r", "all:rows=3", "x.db", NULL);
	tu_assert_status(&r, 2);
	analyze(&r, NULL, "-f", "xml", "x.db", NULL);
	tu_assert_status(&r, 2);
	tu_assert_one_error(&r, "unknown format 'xml'");
	analyze(&r, NULL, "--timeunit", "fortnights", "x.db", NULL);
	tu_assert_status(&r, 2);
	analyze(&r, NULL, "--no-such-option", "x.db", NULL);
	tu_assert_status(&r, 2);
	analyze(&r, NULL, NULL);
	tu_assert_status(&r, 2);
	tu_assert_one_error(&r, "no report file given");
	/* a missing report: bad input, nothing printed */
	tu_pathf(missing, dir, "missing.db");
	analyze(&r, NULL, missing, NULL);
	tu_assert_status(&r, 3);
	assert_non_null(strstr(r.err, missing));
	assert_string_equal(r.out, "");
}

static void test_help_rules(void **state)
{
	static const char *const names[] = {
	    "cuda_memcpy_async", "cuda_memcpy_sync", "cuda_memset_sync", "cuda_api_sync",
	    "gpu_gaps",		 "gpu_time_util",    "dx12_mem_ops",	 "launch_bound",
	    "sync_in_loop",	 "gpu_mem_leak",     "gpu_mem_peak",	 "copy_storm",
	    "nvtx_gpu_idle",
	};
	static struct tu_run r;

	analyze(&r, NULL, "--help-rules", NULL);
	tu_assert_status(&r, 0);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_non_null(strstr(r.out, names[i]));
	analyze(&r, NULL, "--help-rules", "gpu_gaps", NULL);
	tu_assert_status(&r, 0);
	assert_true(!strncmp(r.out, "gpu_gaps[:<arg>...] -- GPU Gaps\n", 32));
	assert_non_null(strstr(r.out, "gap=<ms>"));
	analyze(&r, NULL, "--help-rules=ALL", NULL);
	tu_assert_status(&r, 0);
	assert_int_equal(tu_count_lines(r.out, "launch_bound[:<arg>...] -- "), 1);
	assert_int_equal(tu_count_lines(r.out, "dx12_mem_ops[:<arg>...] -- "), 1);
	analyze(&r, NULL, "--help-rules", "nope", NULL);
	tu_assert_status(&r, 2);
	analyze(&r, NULL, "--help", NULL);
	tu_assert_status(&r, 0);
	assert_true(!strncmp(r.out, "usage: gprof-cli analyze", 24));
}

/* A CPU program's report (NVTX and OS runtime, no CUDA): every CUDA rule is skipped with
 * its reason, nothing fires, --fail-on=all passes. */
static void test_cpu_program_report(void **state)
{
	const char *build = getenv("BUILD");
	char app[PATH_MAX], report[PATH_MAX], out[PATH_MAX], err[PATH_MAX];
	static struct tu_run r;
	const char *args[16];
	int n = 0;

	snprintf(app, sizeof(app), "%s/tests/programs/demo_app", build && *build ? build : "build");
	if (!tu_exists(app))
		TU_SKIP("%s is not built", app);
	tu_pathf(report, dir, "cpu");
	args[n++] = "profile";
	args[n++] = "-t";
	args[n++] = "nvtx,osrt";
	args[n++] = "-o";
	args[n++] = report;
	args[n++] = app;
	args[n] = NULL;
	tu_pathf(out, dir, "p.out");
	tu_pathf(err, dir, "p.err");
	tu_finish(tu_spawn(gprof, args, dir, out, err), &r, out, err);
	tu_assert_status(&r, 0);

	analyze(&r, NULL, "--fail-on=all", "cpu.db", NULL);
	tu_assert_status(&r, 0);
	assert_int_equal(tu_count_lines(r.out, "Processing [cpu.db] with [rules/"), 13);
	assert_int_equal(tu_count_lines(r.out, "SKIPPED: cpu.db could not be analyzed"), 13);
	assert_non_null(strstr(r.out, "with [rules/gpu_gaps.py]... \nSKIPPED: cpu.db could not "
				      "be analyzed because it does not contain the required data. "
				      "Does the application launch GPU operations?\n\n"));
	assert_non_null(strstr(r.out,
			       "with [rules/cuda_api_sync.py]... \nSKIPPED: cpu.db could "
			       "not be analyzed because it does not contain the required "
			       "CUDA data. Does the application use CUDA runtime APIs?\n\n"));
	assert_string_equal(r.err, "");
	/* quiet: nothing at all to say */
	analyze(&r, NULL, "-q", "cpu.db", NULL);
	tu_assert_status(&r, 0);
	assert_string_equal(r.out, "");

	/* several reports: each one's rules in turn; --fail-on counts over all of them */
	if (getenv("GPROF_FIXTURES")) {
		char fx[PATH_MAX];

		tu_fixture(fx, FIXTURE ".sqlite");
		analyze(&r, NULL, "-r", "launch_bound", "--fail-on=launch_bound", "cpu.db", fx,
			NULL);
		tu_assert_status(&r, 5);
		assert_int_equal(
		    tu_count_lines(r.out, "Processing [cpu.db] with [rules/launch_bound]"), 1);
		assert_non_null(strstr(r.out, "SKIPPED: cpu.db could not be analyzed"));
		assert_non_null(strstr(r.out, "iteration"));
		assert_true(strstr(r.out, "Processing [cpu.db]") <
			    strstr(r.out, "with [rules/launch_bound]... \n\n ** "));
	}
}

/* A truncated report (the fixture's first 64 KiB): bad input, exit 3, nothing printed;
 * with a good report beside it, nothing is analyzed either. */
static void test_truncated_report(void **state)
{
	char fx[PATH_MAX], cut[PATH_MAX];
	static struct tu_run r;
	static char head[65536];
	size_t n;
	FILE *f;

	tu_fixture(fx, FIXTURE ".sqlite");
	f = fopen(fx, "r");
	assert_non_null(f);
	n = fread(head, 1, sizeof(head), f);
	fclose(f);
	tu_pathf(cut, dir, "cut.db");
	f = fopen(cut, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(head, 1, n, f), n);
	fclose(f);
	analyze(&r, NULL, fx, "cut.db", NULL);
	tu_assert_status(&r, 3);
	assert_non_null(strstr(r.err, "cut.db"));
	assert_string_equal(r.out, "");
}

static int setup(void **state)
{
	const char *g = getenv("GPROF_CLI");

	if (!realpath(g && *g ? g : "build/bin/gprof-cli", gprof))
		return -1;
	dir = tu_mkdtemp("/tmp/gprof-test-analyze-XXXXXX");
	return dir ? 0 : -1;
}

static int teardown(void **state)
{
	int rc = tu_rm_rf(dir);

	free(dir);
	return rc;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fixture_matches_nsys),
	    cmocka_unit_test(test_fixture_rows_and_formats),
	    cmocka_unit_test(test_fixture_window),
	    cmocka_unit_test(test_fail_on),
	    cmocka_unit_test(test_bad_command_lines),
	    cmocka_unit_test(test_help_rules),
	    cmocka_unit_test(test_cpu_program_report),
	    cmocka_unit_test(test_truncated_report),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
