/*
 * test_cudabt.c - backtraces of CUDA API calls (--cudabacktrace, nsys's switch; issue 15) on
 * the CPU, with the fake CUDA runtime and CUPTI of tests/programs/fakegpu/ on
 * LD_LIBRARY_PATH (fake_cudart.c: cudaLaunchKernel, cudaMemcpy, cudaDeviceSynchronize,
 * cudaEventCreate, each going through an internal function of the runtime to the fake
 * CUPTI's API callbacks and activity records) and its application cudabt_app (main ->
 * launch_step -> cudaLaunchKernel x N, main -> copy_step -> cudaMemcpy x N, then one sync
 * and one event from main):
 *   - all:0: every API row has a callchain, frame 0 the API function (not the runtime's
 *     internal frame above it), then the calling function, then main, in order; the
 *     chains are in nsys's CUDA_CALLCHAINS columns; all joined (GPROF_CUDA_CALLCHAINS*);
 *   - kernel:0 selects only the launches, memory,sync only copies and syncs;
 *   - the threshold: a class's default (1000 ns) and 19 us keep the 20 us calls, 200 ms
 *     drops them; a 10 s threshold gives none (and no CUDA_CALLCHAINS table, as nsys writes no
 * empty table); the default (none) writes no callchainId, no table, and asks the collector for
 * nothing; META_DATA_CAPTURE GPROF_CUDA_BACKTRACE spells the choice;
 *   - NVIDIA's "Select CUDA calls with backtraces" (Nsight Systems export docs, Common
 *     SQLite examples) runs unchanged;
 *   - bad values: one error line, its hint, exit 2.
 * Real CUDA and PyTorch: tests/gpu/run-cudabt-tests.sh (H200).
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
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/testutil.h"

#define N_CALLS "4" /* launches and copies each */

static char gprof[PATH_MAX], fakes[PATH_MAX], app[PATH_MAX + 16];

/* Profile cudabt_app with -t cuda and `opt` (NULL: none) into dir/r.db; `env`: an -e for
 * the application (NULL: none).  Asserts exit 0 and the application's line. */
static void profile(const char *dir, char *db, const char *opt, const char *env)
{
	const char *args[16] = {"profile",	   "-f", "-t", "cuda", "-s", "none",
				"--cpuctxsw=none", "-o", "r"};
	int n = 9;
	struct tu_run r;
	char p[PATH_MAX + 32];

	snprintf(p, sizeof(p), "%s/libcudart.so.13", fakes);
	if (access(p, R_OK) != 0 || access(app, X_OK) != 0)
		TU_SKIP("no fake CUDA runtime (built only with cupti_pmsampling.h)");
	if (opt)
		args[n++] = opt;
	if (env) {
		args[n++] = "-e";
		args[n++] = env;
	}
	args[n++] = app;
	args[n++] = N_CALLS;
	tu_run_in(&r, gprof, dir, args);
	tu_assert_status(&r, 0);
	assert_non_null(strstr(r.out, "cudabt_app: " N_CALLS " launches"));
	tu_pathf(db, dir, "r.db");
}

static int has_chains_table(const char *db)
{
	return (int)tu_query_int(db, "SELECT count(*) FROM sqlite_master WHERE name = "
				     "'CUDA_CALLCHAINS'");
}

/* The symbols of chain `id`, innermost first, joined by " < " (e.g. "cudaMemcpy < copy_step
 * < main"), the first `depth` frames. */
static void chain_text(const char *db, long long id, int depth, char *out, size_t size)
{
	sqlite3 *d;
	sqlite3_stmt *st;
	size_t len = 0;
	int k = 0;

	out[0] = 0;
	assert_int_equal(sqlite3_open(db, &d), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(d,
					    "SELECT stackDepth, s.value FROM CUDA_CALLCHAINS c "
					    "JOIN StringIds s ON s.id = c.symbol WHERE c.id = ? "
					    "ORDER BY stackDepth",
					    -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_int64(st, 1, id);
	while (sqlite3_step(st) == SQLITE_ROW && k < depth) {
		assert_int_equal(sqlite3_column_int(st, 0), k); /* 0, 1, 2, ...: no gap */
		len += (size_t)snprintf(out + len, size - len, "%s%s", k ? " < " : "",
					(const char *)sqlite3_column_text(st, 1));
		k++;
	}
	sqlite3_finalize(st);
	sqlite3_close(d);
}

/* Every call of name `api` has a chain whose first frames read `want` ("a < b < c": frame
 * 0 is a, 1 is b, 2 is c). */
static void assert_chains(const char *db, const char *api, const char *want)
{
	char sql[512], got[512];
	sqlite3 *d;
	sqlite3_stmt *st;
	int n = 0, depth = 1;

	for (const char *p = want; (p = strstr(p, " < ")); p += 3)
		depth++;
	snprintf(sql, sizeof(sql),
		 "SELECT r.callchainId FROM CUPTI_ACTIVITY_KIND_RUNTIME r JOIN StringIds s "
		 "ON s.id = r.nameId WHERE s.value = '%s' ORDER BY r.start",
		 api);
	assert_int_equal(sqlite3_open(db, &d), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(d, sql, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		assert_int_equal(sqlite3_column_type(st, 0), SQLITE_INTEGER);
		chain_text(db, sqlite3_column_int64(st, 0), depth, got, sizeof(got));
		if (strcmp(got, want))
			fail_msg("%s: chain %lld is '%s', want '%s'", api,
				 (long long)sqlite3_column_int64(st, 0), got, want);
		n++;
	}
	sqlite3_finalize(st);
	sqlite3_close(d);
	assert_true(n > 0);
}

/* API rows of the report with (`with` 1) or without a callchainId. */
static long long rows_chained(const char *db, int with)
{
	return tu_query_intf(
	    db, "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_RUNTIME WHERE callchainId %s",
	    with ? "IS NOT NULL" : "IS NULL");
}

static long long calls_with_chain(const char *db, const char *api)
{
	return tu_query_intf(
	    db,
	    "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_RUNTIME r JOIN StringIds s "
	    "ON s.id = r.nameId WHERE s.value = '%s' AND r.callchainId IS NOT NULL",
	    api);
}

static void test_all(void **state)
{
	char db[PATH_MAX], buf[64];

	profile(*state, db, "--cudabacktrace=all:0", NULL);
	assert_int_equal(rows_chained(db, 0) + rows_chained(db, 1), 10);
	assert_int_equal(rows_chained(db, 0), 0);
	assert_chains(db, "cudaLaunchKernel_v7000", "cudaLaunchKernel < launch_step < main");
	assert_chains(db, "cudaMemcpy_v3020", "cudaMemcpy < copy_step < main");
	assert_chains(db, "cudaDeviceSynchronize_v3020", "cudaDeviceSynchronize < main");
	/* one chain per call, each its own id; frame 0 in the runtime, the callers in the app */
	assert_int_equal(tu_query_int(db, "SELECT count(DISTINCT callchainId) FROM "
					  "CUPTI_ACTIVITY_KIND_RUNTIME"),
			 10);
	assert_int_equal(tu_query_int(db, "SELECT count(*) FROM CUDA_CALLCHAINS c JOIN StringIds m "
					  "ON m.id = c.module WHERE c.stackDepth = 0 AND m.value "
					  "NOT LIKE '%/libcudart.so.13'"),
			 0);
	assert_int_equal(tu_query_int(db, "SELECT count(*) FROM CUDA_CALLCHAINS c JOIN StringIds m "
					  "ON m.id = c.module WHERE c.stackDepth = 1 AND m.value "
					  "NOT LIKE '%/cudabt_app'"),
			 0);
	/* the runtime's internal function above the API entry and the profiler's frames are
	 * not in any chain */
	assert_int_equal(tu_query_int(db,
				      "SELECT count(*) FROM CUDA_CALLCHAINS c JOIN StringIds s "
				      "ON s.id = c.symbol JOIN StringIds m ON m.id = c.module "
				      "WHERE s.value IN ('rt_call', 'fake_cupti_api') OR "
				      "m.value LIKE '%libgprof-%' OR m.value LIKE '%libcupti%'"),
			 0);
	/* originalIP is the address; symbols resolved for the app's frames */
	assert_int_equal(tu_query_int(db, "SELECT count(*) FROM CUDA_CALLCHAINS WHERE stackDepth < "
					  "2 AND (unresolved != 0 OR originalIP IS NULL OR "
					  "originalIP = 0)"),
			 0);
	/* nsys's columns, in nsys's order */
	assert_int_equal(tu_query_int(db,
				      "SELECT count(*) FROM pragma_table_info('CUDA_CALLCHAINS') "
				      "WHERE (cid, name) IN (VALUES (0, 'id'), (1, 'symbol'), "
				      "(2, 'module'), (3, 'unresolved'), (4, 'originalIP'), "
				      "(5, 'stackDepth'))"),
			 6);
	assert_int_equal(
	    tu_query_int(db, "SELECT count(*) FROM pragma_table_info('CUDA_CALLCHAINS')"), 6);
	assert_string_equal(tu_meta(db, "META_DATA_CAPTURE", "GPROF_CUDA_BACKTRACE", buf, 64),
			    "all:0");
	assert_string_equal(tu_meta(db, "META_DATA_EXPORT", "GPROF_CUDA_CALLCHAINS", buf, 64),
			    "10");
	assert_string_equal(
	    tu_meta(db, "META_DATA_EXPORT", "GPROF_CUDA_CALLCHAINS_UNJOINED", buf, 64), "0");
}

static void test_classes(void **state)
{
	char db[PATH_MAX], buf[64];

	profile(*state, db, "--cudabacktrace=kernel:0", NULL);
	assert_int_equal(calls_with_chain(db, "cudaLaunchKernel_v7000"), 4);
	assert_int_equal(rows_chained(db, 1), 4);
	assert_chains(db, "cudaLaunchKernel_v7000", "cudaLaunchKernel < launch_step < main");
	assert_string_equal(tu_meta(db, "META_DATA_CAPTURE", "GPROF_CUDA_BACKTRACE", buf, 64),
			    "kernel:0");

	profile(*state, db, "--cudabacktrace=memory:0,sync:0", NULL);
	assert_int_equal(calls_with_chain(db, "cudaLaunchKernel_v7000"), 0);
	assert_int_equal(calls_with_chain(db, "cudaMemcpy_v3020"), 4);
	assert_int_equal(calls_with_chain(db, "cudaDeviceSynchronize_v3020"), 1);
	assert_int_equal(calls_with_chain(db, "cudaEventCreate_v3020"), 0);

	profile(*state, db, "--cudabacktrace=other:0", NULL);
	assert_int_equal(calls_with_chain(db, "cudaEventCreate_v3020"), 1);
	assert_int_equal(rows_chained(db, 1), 1);
}

static void test_threshold(void **state)
{
	char db[PATH_MAX], buf[64];

	/* memory's default threshold (1000 ns, nsys 2025): 20 us copies have chains ... */
	profile(*state, db, "--cudabacktrace=memory", "FAKE_CUDA_API_NS=20000");
	assert_int_equal(calls_with_chain(db, "cudaMemcpy_v3020"), 4);
	assert_string_equal(tu_meta(db, "META_DATA_CAPTURE", "GPROF_CUDA_BACKTRACE", buf, 64),
			    "memory:1000");
	/* a threshold just under the calls' length (they sleep 20 us): all; far over it: none */
	profile(*state, db, "--cudabacktrace=memory:19000", NULL);
	assert_int_equal(calls_with_chain(db, "cudaMemcpy_v3020"), 4);
	profile(*state, db, "--cudabacktrace=memory:200000000", NULL);
	assert_int_equal(calls_with_chain(db, "cudaMemcpy_v3020"), 0);
	/* a 10 s threshold: none, and no table (nsys writes no empty table) */
	profile(*state, db, "--cudabacktrace=all:10000000000", NULL);
	assert_int_equal(rows_chained(db, 1), 0);
	assert_int_equal(rows_chained(db, 0) + rows_chained(db, 1), 10);
	assert_int_equal(has_chains_table(db), 0);
}

static void test_default_none(void **state)
{
	char db[PATH_MAX], buf[256];

	profile(*state, db, NULL, NULL);
	assert_int_equal(rows_chained(db, 0) + rows_chained(db, 1), 10);
	assert_int_equal(rows_chained(db, 1), 0);
	assert_int_equal(has_chains_table(db), 0);
	assert_string_equal(tu_meta(db, "META_DATA_CAPTURE", "GPROF_CUDA_BACKTRACE", buf, 64),
			    "none");
	/* the collector is asked for nothing */
	assert_null(strstr(tu_meta(db, "META_DATA_CAPTURE", "GPROF_OPTIONS", buf, sizeof(buf)),
			   "cudabacktrace"));
	profile(*state, db, "--cudabacktrace=none", NULL);
	assert_int_equal(has_chains_table(db), 0);
}

/* NVIDIA's "Select CUDA calls with backtraces" (Nsight Systems export documentation,
 * Common SQLite examples), run unchanged: the name columns, then the calls' frames. */
static const char *const nvidia_cuda_bt =
    "ALTER TABLE CUPTI_ACTIVITY_KIND_RUNTIME ADD COLUMN name TEXT;\n"
    "UPDATE CUPTI_ACTIVITY_KIND_RUNTIME SET name = (SELECT value FROM StringIds WHERE "
    "CUPTI_ACTIVITY_KIND_RUNTIME.nameId = StringIds.id);\n"
    "ALTER TABLE CUDA_CALLCHAINS ADD COLUMN symbolName TEXT;\n"
    "UPDATE CUDA_CALLCHAINS SET symbolName = (SELECT value FROM StringIds WHERE symbol = "
    "StringIds.id);";
static const char *const nvidia_cuda_bt_select =
    "SELECT name, symbolName\n"
    "FROM CUPTI_ACTIVITY_KIND_RUNTIME JOIN CUDA_CALLCHAINS ON callchainId == id\n"
    "ORDER BY callchainId, stackDepth\n"
    "LIMIT 11;";

static void test_nvidia_query(void **state)
{
	char db[PATH_MAX];
	sqlite3 *d;
	sqlite3_stmt *st;
	int rows = 0, tops = 0;

	profile(*state, db, "--cudabacktrace=all:0", NULL);
	assert_int_equal(sqlite3_open(db, &d), SQLITE_OK);
	assert_int_equal(sqlite3_exec(d, nvidia_cuda_bt, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(d, nvidia_cuda_bt_select, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const char *sym = (const char *)sqlite3_column_text(st, 1);

		assert_non_null(name);
		assert_non_null(sym);
		print_message("  %s %s\n", name, sym);
		if (rows == 0) { /* the first call: the first launch, from launch_step */
			assert_string_equal(name, "cudaLaunchKernel_v7000");
			assert_string_equal(sym, "cudaLaunchKernel");
		}
		if (rows == 1)
			assert_string_equal(sym, "launch_step");
		if (rows == 2)
			assert_string_equal(sym, "main");
		/* each call's first frame is the function of its name ("cudaX_v1234") */
		tops += !strncmp(name, sym, strlen(sym)) && name[strlen(sym)] == '_';
		rows++;
	}
	sqlite3_finalize(st);
	sqlite3_close(d);
	assert_int_equal(rows, 11);
	assert_true(tops >= 2); /* 11 rows hold the whole first chain and part of the next */
}

static void test_bad_values(void **state)
{
	const char *bad[] = {"--cudabacktrace=kernal",	"--cudabacktrace=all:x",
			     "--cudabacktrace=kernel,", "--cudabacktrace=none,sync",
			     "--cudabacktrace=sync:-5", "--cudabacktrace="};
	struct tu_run r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *args[] = {"profile", "-o", "bad", bad[i], "true", NULL};

		tu_run_in(&r, gprof, *state, args);
		tu_assert_status(&r, 2);
		tu_assert_one_error(&r, "--cudabacktrace");
		assert_non_null(strstr(r.err, "hint: "));
	}
	assert_int_equal(tu_count_entries(*state), 0); /* nothing created */
}

int main(void)
{
	const char *g = getenv("GPROF_CLI");

	/* the tests run in a temporary folder: absolute paths */
	if (!realpath(g ? g : "build/bin/gprof-cli", gprof))
		snprintf(gprof, sizeof(gprof), "%s", g ? g : "build/bin/gprof-cli");
	snprintf(app, sizeof(app), "%s/cudabt_app", tu_fakegpu_dir(fakes));
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_all, tu_setup_tmpdir, tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_classes, tu_setup_tmpdir, tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_threshold, tu_setup_tmpdir, tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_default_none, tu_setup_tmpdir, tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_nvidia_query, tu_setup_tmpdir, tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_bad_values, tu_setup_tmpdir, tu_teardown_tmpdir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
