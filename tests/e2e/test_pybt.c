/*
 * test_pybt.c - Python frames in CUDA API backtraces (--python-backtrace=cuda, nsys's switch;
 * issue 15) and the cuda_gpu_python_sum stats report, on the CPU: python3 (CPython 3.11 or
 * 3.12) runs tests/programs/fakegpu/pybt_app.py, which calls libpybt_ext.so through ctypes
 * from two Python functions: small_step launches 3 fake kernels of 100 us, big_step 2 of
 * 1 ms (the fake runtime and CUPTI of tests/programs/fakegpu/, fake_cupti_kernel()):
 *   - each launch's chain reads cudaLaunchKernel < pybt_launch < (libffi, ctypes, the
 *     interpreter's call path) < "small_step (pybt_app.py:LINE)" or "big_step (...)" <
 *     "main (pybt_app.py:LINE)" < "<module> (...)" < _PyEval_EvalFrameDefault < ...: the
 *     Python frames right before the native frame that runs them, with the script's line
 *     numbers (read from its markers), module the script, originalIP 0, depths without a gap;
 *     META_DATA_EXPORT GPROF_PYTHON_BACKTRACES 5, GPROF_PYTHON_BACKTRACES_UNREAD 0;
 *   - stats -r cuda_gpu_python_sum ranks big_step's line first (2,000,000 ns, 2 kernels),
 *     then small_step's (300,000 ns, 3), with the shares 87.0 and 13.0;
 *   - without --python-backtrace: no Python rows, and the report groups by the innermost
 *     native frame outside the CUDA runtime (pybt_launch: 2,300,000 ns, 5);
 *   - without --cudabacktrace: a warning and its hint, no CUDA_CALLCHAINS, and the report is
 *     SKIPPED as nsys skips a report whose data is missing;
 *   - a bad value: one error line, its hint, exit 2.
 * Real CUDA and PyTorch: tests/gpu/run-cudabt-tests.sh (H200).
 *
 * Environment: GPROF_CLI, BUILD, GPROF_SRCDIR (the source tree; default .).  Skips without
 * the fake runtime (built only with cupti_pmsampling.h) or a python3 of 3.11/3.12.
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

static char gprof[PATH_MAX], fakes[PATH_MAX], script[PATH_MAX], ext[PATH_MAX + 32];
static int small_line, big_line, main_line; /* the script's marked lines */

/* The line of pybt_app.py holding "# <marker>"; fails when none. */
static int marked_line(const char *marker)
{
	char *text = tu_slurp(script, NULL), *p, want[64];
	int line = 1;

	assert_non_null(text);
	snprintf(want, sizeof(want), "# %s\n", marker);
	p = strstr(text, want);
	assert_non_null(p);
	for (char *q = text; q < p; q++)
		line += *q == '\n';
	free(text);
	return line;
}

/* Skips unless python3 is CPython 3.11 or 3.12 and the fake runtime was built. */
static void need_python(void)
{
	char ver[64] = "";
	FILE *p = popen("python3 -c 'import sys; print(\"%d.%d\" % sys.version_info[:2])' "
			"2>/dev/null",
			"r");

	if (p) {
		if (!fgets(ver, sizeof(ver), p))
			ver[0] = 0;
		pclose(p);
	}
	if (strcmp(ver, "3.11\n") && strcmp(ver, "3.12\n"))
		TU_SKIP("python3 is not CPython 3.11 or 3.12 (%s)", ver[0] ? ver : "none");
	if (access(ext, R_OK) != 0)
		TU_SKIP("no fake CUDA runtime (built only with cupti_pmsampling.h)");
}

/* Profile pybt_app.py with -t cuda and the options opt1, opt2 (NULL: none) into dir/r.db;
 * asserts exit 0 and the application's line.  r: the run (its stderr for the caller). */
static void profile(const char *dir, char *db, const char *opt1, const char *opt2, struct tu_run *r)
{
	const char *args[20] = {"profile",	   "-f", "-t", "cuda", "-s", "none",
				"--cpuctxsw=none", "-o", "r"};
	const char *const tail[] = {opt1, opt2, "python3", script, ext};
	int n = 9;

	need_python();
	for (size_t i = 0; i < sizeof(tail) / sizeof(tail[0]); i++)
		if (tail[i]) /* (an option left out) */
			args[n++] = tail[i];
	tu_run_in(r, gprof, dir, args);
	tu_assert_status(r, 0);
	assert_non_null(strstr(r->out, "pybt_app: 5 launches, 0 errors"));
	tu_pathf(db, dir, "r.db");
}

/* Frame `depth` of chain `id`: its symbol into out ("" when none). */
static void frame_at(const char *db, long long id, long long depth, char *out, size_t size)
{
	sqlite3 *d;
	const char *v;

	assert_int_equal(sqlite3_open(db, &d), SQLITE_OK);
	{
		char sql[256];

		snprintf(
		    sql, sizeof(sql),
		    "SELECT s.value FROM CUDA_CALLCHAINS c JOIN StringIds s ON s.id = c.symbol "
		    "WHERE c.id = %lld AND c.stackDepth = %lld",
		    id, depth);
		v = tu_db_row_text(d, sql);
		snprintf(out, size, "%s", v ? v : "");
	}
	sqlite3_close(d);
}

static void test_python_frames(void **state)
{
	static const char *const meta[][3] = {
	    {"META_DATA_CAPTURE", "GPROF_PYTHON_BACKTRACE", "cuda"},
	    {"META_DATA_EXPORT", "GPROF_PYTHON_BACKTRACES", "5"},
	    {"META_DATA_EXPORT", "GPROF_PYTHON_BACKTRACES_UNREAD", "0"},
	};
	char db[PATH_MAX], want[160], got[256], buf[64];
	struct tu_run *r = malloc(sizeof(*r));

	assert_non_null(r);
	profile(*state, db, "--cudabacktrace=all:0", "--python-backtrace=cuda", r);
	free(r);
	/* the choice, the backtraces with Python frames, none unread */
	for (size_t i = 0; i < sizeof(meta) / sizeof(meta[0]); i++)
		assert_string_equal(tu_meta(db, meta[i][0], meta[i][1], buf, 64), meta[i][2]);
	/* every launch has a chain: cudaLaunchKernel, then the extension's function */
	assert_int_equal(tu_query_int(db, "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_RUNTIME r "
					  "JOIN StringIds s ON s.id = r.nameId WHERE s.value = "
					  "'cudaLaunchKernel_v7000' AND r.callchainId IS NOT NULL"),
			 5);
	for (long long id = 1; id <= 5; id++) {
		long long py0, nat;

		frame_at(db, id, 0, got, sizeof(got));
		assert_string_equal(got, "cudaLaunchKernel");
		frame_at(db, id, 1, got, sizeof(got));
		assert_string_equal(got, "pybt_launch");
		/* the innermost Python frame: the step function at its line (3 small, 2 big,
		 * in the script's order), then main and <module>, without a gap */
		py0 = tu_query_intf(db,
				    "SELECT min(stackDepth) FROM CUDA_CALLCHAINS WHERE id = %lld "
				    "AND originalIP = 0",
				    id);
		assert_true(py0 > 2);
		frame_at(db, id, py0, got, sizeof(got));
		snprintf(want, sizeof(want), "%s (pybt_app.py:%d)",
			 id <= 3 ? "small_step" : "big_step", id <= 3 ? small_line : big_line);
		assert_string_equal(got, want);
		frame_at(db, id, py0 + 1, got, sizeof(got));
		snprintf(want, sizeof(want), "main (pybt_app.py:%d)",
			 id <= 3 ? main_line : main_line + 1);
		assert_string_equal(got, want);
		frame_at(db, id, py0 + 2, got, sizeof(got));
		assert_true(strncmp(got, "<module> (pybt_app.py:", 22) == 0);
		/* where they belong: right before the native frame that runs them, and the
		 * native frame before them is not the interpreter's loop */
		frame_at(db, id, py0 + 3, got, sizeof(got));
		assert_string_equal(got, "_PyEval_EvalFrameDefault");
		frame_at(db, id, py0 - 1, got, sizeof(got));
		assert_string_not_equal(got, "_PyEval_EvalFrameDefault");
		/* three Python frames, module the script, resolved; depths 0..n-1 */
		assert_int_equal(
		    tu_query_intf(db,
				  "SELECT count(*) FROM CUDA_CALLCHAINS c JOIN "
				  "StringIds m ON m.id = c.module WHERE c.id = %lld AND "
				  "c.originalIP = 0 AND c.unresolved = 0 AND m.value = "
				  "'%s'",
				  id, script),
		    3);
		nat = tu_query_intf(db,
				    "SELECT count(*) - max(stackDepth) - 1 FROM CUDA_CALLCHAINS "
				    "WHERE id = %lld",
				    id);
		assert_int_equal(nat, 0);
	}
}

/* The report's rows as CSV ("Time,Total Time,...\n..."), after profile; status 0. */
static void stats_csv(const char *dir, struct tu_run *r)
{
	const char *args[] = {"stats", "-q",  "-r",   "cuda_gpu_python_sum",
			      "-f",    "csv", "r.db", NULL};

	tu_run_in(r, gprof, dir, args);
	tu_assert_status(r, 0);
}

static void test_stats_by_line(void **state)
{
	char db[PATH_MAX], want[512];
	struct tu_run *r = malloc(sizeof(*r));

	assert_non_null(r);
	profile(*state, db, "--cudabacktrace=all:0", "--python-backtrace=cuda", r);
	stats_csv(*state, r);
	/* the line that launched the most GPU time first, with its totals */
	snprintf(want, sizeof(want),
		 "Time (%%),Total Time (ns),Instances,Avg (ns),Med (ns),Min (ns),Max (ns),"
		 "StdDev (ns),Name\n"
		 "87.0,2000000,2,1000000.0,1000000.0,1000000,1000000,0.0,"
		 "big_step (pybt_app.py:%d)\n"
		 "13.0,300000,3,100000.0,100000.0,100000,100000,0.0,"
		 "small_step (pybt_app.py:%d)\n",
		 big_line, small_line);
	assert_non_null(strstr(r->out, want));
	assert_int_equal(tu_count_lines(r->out, ""), 3);
	free(r);
}

static void test_native_only(void **state)
{
	char db[PATH_MAX], buf[64];
	struct tu_run *r = malloc(sizeof(*r));

	assert_non_null(r);
	profile(*state, db, "--cudabacktrace=all:0", NULL, r);
	assert_int_equal(tu_query_int(db, "SELECT count(*) FROM CUDA_CALLCHAINS WHERE "
					  "originalIP = 0"),
			 0);
	assert_string_equal(tu_meta(db, "META_DATA_CAPTURE", "GPROF_PYTHON_BACKTRACE", buf, 64),
			    "none");
	assert_string_equal(tu_meta(db, "META_DATA_EXPORT", "GPROF_PYTHON_BACKTRACES", buf, 64),
			    "");
	stats_csv(*state, r);
	assert_non_null(strstr(r->out, "\n100.0,2300000,5,460000.0,100000.0,100000,1000000,"));
	assert_non_null(strstr(r->out, ",pybt_launch\n"));
	free(r);
}

static void test_needs_cudabacktrace(void **state)
{
	char db[PATH_MAX];
	const char *args[] = {"stats", "-r", "cuda_gpu_python_sum", "r.db", NULL};
	struct tu_run *r = malloc(sizeof(*r));

	assert_non_null(r);
	profile(*state, db, "--python-backtrace=cuda", NULL, r);
	assert_int_equal(tu_count_lines(r->err, "gprof-cli: warning: --python-backtrace=cuda"), 1);
	assert_non_null(strstr(r->err, "hint: add -t cuda and --cudabacktrace=all"));
	assert_int_equal(tu_query_int(db, "SELECT count(*) FROM sqlite_master WHERE name = "
					  "'CUDA_CALLCHAINS'"),
			 0);
	tu_run_in(r, gprof, *state, args);
	tu_assert_status(r, 0);
	assert_non_null(strstr(r->out, "SKIPPED: "));
	assert_non_null(strstr(r->out, "r.db does not contain CUDA backtrace data."));
	free(r);
}

static void test_bad_value(void **state)
{
	const char *args[] = {"profile", "-o", "bad", "--python-backtrace=yes", "true", NULL};
	struct tu_run *r = malloc(sizeof(*r));

	assert_non_null(r);
	tu_run_in(r, gprof, *state, args);
	tu_assert_status(r, 2);
	tu_assert_one_error(r, "--python-backtrace");
	assert_non_null(strstr(r->err, "hint: "));
	assert_int_equal(tu_count_entries(*state), 0); /* nothing created */
	free(r);
}

int main(void)
{
	const char *g = getenv("GPROF_CLI"), *src = getenv("GPROF_SRCDIR");
	char rel[PATH_MAX];

	/* the tests run in a temporary folder: absolute paths */
	if (!realpath(g ? g : "build/bin/gprof-cli", gprof))
		snprintf(gprof, sizeof(gprof), "%s", g ? g : "build/bin/gprof-cli");
	snprintf(ext, sizeof(ext), "%s/libpybt_ext.so", tu_fakegpu_dir(fakes));
	snprintf(rel, sizeof(rel), "%s/tests/programs/fakegpu/pybt_app.py",
		 src && *src ? src : ".");
	if (!realpath(rel, script))
		snprintf(script, sizeof(script), "%s", rel);
	small_line = marked_line("SMALL_LINE");
	big_line = marked_line("BIG_LINE");
	main_line = marked_line("MAIN_SMALL_LINE");
#define T(f) cmocka_unit_test_setup_teardown(f, tu_setup_tmpdir, tu_teardown_tmpdir)
	const struct CMUnitTest tests[] = {T(test_python_frames), T(test_stats_by_line),
					   T(test_native_only), T(test_needs_cudabacktrace),
					   T(test_bad_value)};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
