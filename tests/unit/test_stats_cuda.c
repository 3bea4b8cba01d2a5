/* test_stats_cuda.c - the CUDA stats reports (exporters/stats/cuda_*.c, nvtx_kern_sum.c,
 * nvtx_gpu_proj_*.c): on the nsys 2025.3 launchbench fixture each report nsys printed
 * must print the same text (column and csv), the trace reports must agree with the
 * summaries, the :base/:mangled/:nvtx-name arguments must pick the documented names,
 * cuda_gpu_mem_peak is checked on a hand-made database, and reports on a database
 * without CUDA tables are skipped with nsys's message.
 *
 * The fixture is in tu_fixture_dir() (../shared/fixtures beside the checkout, or
 * $GPROF_FIXTURES); the fixture tests are skipped, saying so, when it is absent. */
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

#include "exporters/stats.h"
#include "tests/testutil.h"

#define FIXTURE "nsys-2025.3-launchbench"

static char tmpdir[64];

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static sqlite3 *open_db(const char *path)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(stats_register_functions(db), 0);
	return db;
}

/* The fixture report; skips the test when it is absent. */
static sqlite3 *open_fixture(void)
{
	char p[PATH_MAX];

	return open_db(tu_fixture(p, FIXTURE ".sqlite"));
}

static void parse_args(const char *spec, char *buf, size_t n, const char **name,
		       struct stats_args *a)
{
	snprintf(buf, n, "%s", spec);
	memset(a, 0, sizeof(*a));
	assert_int_equal(stats_split_spec(buf, name, a), 0);
}

/* Run a report with nsys's banners; returns the printed text (caller frees). */
static char *run_report(sqlite3 *db, const char *spec, enum stats_format fmt, int *ret)
{
	const char *name;
	struct stats_args a;
	char buf[256];
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	struct stats_fmt_opts o = {
	    .format = fmt, .timeunit = STATS_TU_NS, .banners = 1, .label = FIXTURE ".sqlite"};
	const struct stats_report *r;

	parse_args(spec, buf, sizeof(buf), &name, &a);
	r = stats_find(name);
	assert_non_null(r);
	*ret = stats_run_report(db, r, &a, &o, f);
	fclose(f);
	return out;
}

/* The section of an nsys stats transcript for one report: from its "Processing" line
 * up to the next "Processing" line (heap string). */
static char *section(const char *text, const char *report)
{
	char key[160];
	const char *s, *e;
	char *r;

	snprintf(key, sizeof(key), "with [reports/%s.py]... ", report);
	s = strstr(text, key);
	assert_non_null(s);
	while (s > text && s[-1] != '\n')
		s--;
	e = strstr(s + 1, "\nProcessing [");
	e = e ? e + 1 : s + strlen(s);
	r = strndup(s, (size_t)(e - s));
	assert_non_null(r);
	return r;
}

static const char *const nsys_printed[] = {
    "cuda_api_sum",
    "cuda_gpu_kern_sum",
    "cuda_gpu_kern_gb_sum",
    "cuda_gpu_mem_time_sum",
    "cuda_gpu_mem_size_sum",
    "cuda_gpu_sum",
    "cuda_api_gpu_sum",
    "nvtx_kern_sum",
    "nvtx_gpu_proj_sum",
    "cuda_kern_exec_sum",
    NULL,
};

static void compare_transcript(const char *file, enum stats_format fmt)
{
	char p[PATH_MAX];
	char *text;
	sqlite3 *db;

	db = open_fixture();
	text = read_file(tu_fixture(p, file));
	for (const char *const *n = nsys_printed; *n; n++) {
		int ret;
		char *want = section(text, *n);
		char *got = run_report(db, *n, fmt, &ret);

		assert_int_equal(ret, 0);
		if (strcmp(want, got))
			fail_msg("%s differs from nsys:\n--- nsys\n%s--- gprof-cli\n%s", *n, want,
				 got);
		free(want);
		free(got);
	}
	sqlite3_close(db);
	free(text);
}

static void test_fixture_column(void **state)
{
	compare_transcript(FIXTURE ".stats.txt", STATS_FMT_COLUMN);
}

static void test_fixture_csv(void **state)
{
	compare_transcript(FIXTURE ".stats.csv.txt", STATS_FMT_CSV);
}

/* The report's own SQL, wrapped: SELECT <agg> FROM (<report>). */
static sqlite3_stmt *wrap(sqlite3 *db, const char *spec, const char *agg)
{
	const char *name;
	struct stats_args a;
	char buf[256];
	struct strbuf sql = STRBUF_INIT, w = STRBUF_INIT;
	const struct stats_report *r;
	sqlite3_stmt *st = NULL;

	parse_args(spec, buf, sizeof(buf), &name, &a);
	r = stats_find(name);
	assert_non_null(r);
	assert_int_equal(r->query(db, &a, &sql), 0);
	strbuf_addf(&w, "SELECT %s FROM (%s)", agg, sql.buf);
	if (sqlite3_prepare_v2(db, w.buf, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", spec, sqlite3_errmsg(db));
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	strbuf_release(&sql);
	strbuf_release(&w);
	return st;
}

static void check_i64(sqlite3 *db, const char *spec, const char *agg, int64_t want)
{
	sqlite3_stmt *st = wrap(db, spec, agg);

	if (sqlite3_column_int64(st, 0) != want)
		fail_msg("%s: %s = %lld, want %lld", spec, agg,
			 (long long)sqlite3_column_int64(st, 0), (long long)want);
	sqlite3_finalize(st);
}

static void check_text(sqlite3 *db, const char *spec, const char *agg, const char *want)
{
	sqlite3_stmt *st = wrap(db, spec, agg);
	const char *got = (const char *)sqlite3_column_text(st, 0);

	if (!got || strcmp(got, want))
		fail_msg("%s: %s = '%s', want '%s'", spec, agg, got ? got : "(null)", want);
	sqlite3_finalize(st);
}

static void test_traces(void **state)
{
	sqlite3 *db;

	db = open_fixture();
	/* 30,001 kernels + 300 + 300 copies; sums equal the summaries' totals */
	check_i64(db, "cuda_gpu_trace", "count(*)", 30601);
	check_i64(db, "cuda_gpu_trace", "sum(\"Duration:dur_ns\")", 30761887 + 2108758 + 1857010);
	check_i64(db, "cuda_gpu_trace", "count(\"GrdX\")", 30001);
	check_i64(db, "cuda_gpu_trace", "sum(\"Bytes:mem_B\")", 2 * 78643200);
	check_i64(db, "cuda_gpu_trace", "count(DISTINCT \"CorrId\")", 30601);
	check_text(db, "cuda_gpu_trace", "min(\"Device\")", "NVIDIA H200 (0)");
	check_text(db, "cuda_gpu_trace",
		   "group_concat(DISTINCT \"SrcMemKd\" || '>' || \"DstMemKd\")",
		   "Pinned>Device,Device>Pinned");

	check_i64(db, "cuda_api_trace", "count(*)", 60909);
	check_i64(db, "cuda_api_trace", "sum(\"Duration:dur_ns\")",
		  139477820LL + 117888599 + 3399239 + 2577343 + 1885115 + 875639 + 97036 + 48969 +
		      1066 + 318);
	check_i64(db, "cuda_api_trace", "count(*) FILTER (WHERE \"Name\" = 'cudaLaunchKernel')",
		  30001);
	check_i64(db, "cuda_api_trace", "count(DISTINCT \"Pid\" || '/' || \"Tid\")", 1);

	check_i64(db, "cuda_kern_exec_trace", "count(*)", 30001);
	check_i64(db, "cuda_kern_exec_trace", "sum(\"Kernel Dur:dur_ns\")", 30761887);
	check_i64(db, "cuda_kern_exec_trace", "sum(\"API Dur:dur_ns\")", 139477820);
	check_i64(db, "cuda_kern_exec_trace", "count(\"Queue Dur:dur_ns\")", 29950);
	check_i64(db, "cuda_kern_exec_trace", "max(\"Total Dur:dur_ns\")", 359059);

	check_i64(db, "nvtx_gpu_proj_trace", "count(*)", 300);
	check_i64(db, "nvtx_gpu_proj_trace", "sum(\"Projected Duration:dur_ns\")", 157325919);
	check_i64(db, "nvtx_gpu_proj_trace", "sum(\"Orig Duration:dur_ns\")", 159980270);
	check_i64(db, "nvtx_gpu_proj_trace", "sum(\"NumGPUOps\")", 30600);
	check_i64(db, "nvtx_gpu_proj_trace", "max(\"Lvl\") + max(\"NumChild\")", 0);
	check_i64(db, "nvtx_gpu_proj_trace", "count(\"ParentId\")", 0);
	check_i64(db, "nvtx_gpu_proj_trace",
		  "count(*) FILTER (WHERE \"RangeStack\" = ':' || \"RangeId\")", 300);
	/* projection lies inside the GPU work: starts no earlier than the range */
	check_i64(db, "nvtx_gpu_proj_trace",
		  "count(*) FILTER (WHERE \"Projected Start:ts_ns\" < \"Orig Start:ts_ns\")", 0);
	sqlite3_close(db);
}

static void test_kernel_name_args(void **state)
{
	sqlite3 *db;

	db = open_fixture();
	check_text(db, "cuda_gpu_kern_sum", "group_concat(\"Name\", '|')", "tiny(float *, int)");
	check_text(db, "cuda_gpu_kern_sum:base", "group_concat(\"Name\", '|')", "tiny");
	check_text(db, "cuda_gpu_kern_sum:mangled", "group_concat(\"Name\", '|')", "_Z4tinyPfi");
	check_text(db, "cuda_gpu_kern_gb_sum:mangled", "group_concat(\"Name\", '|')", "_Z4tinyPfi");
	/* 30,000 launches inside ":iteration", one before it */
	check_text(db, "cuda_gpu_kern_sum:nvtx-name",
		   "group_concat(\"Name\" || '=' || \"Instances\", '|')",
		   ":iteration/tiny(float *, int)=30000|tiny(float *, int)=1");
	check_text(db, "cuda_gpu_kern_sum:nvtx-name:base",
		   "group_concat(\"Name\" || '=' || \"Total Time:dur_ns\", '|')",
		   ":iteration/tiny=30760127|tiny=1760");
	check_text(db, "cuda_gpu_trace:base", "group_concat(DISTINCT \"Name\")",
		   "tiny,[CUDA memcpy Host-to-Device],[CUDA memcpy Device-to-Host]");
	check_i64(db, "cuda_gpu_trace:nvtx-name",
		  "count(*) FILTER (WHERE \"Name\" = ':iteration/tiny(float *, int)')", 30000);
	check_text(db, "cuda_kern_exec_sum:mangled", "group_concat(\"Kernel Name\")", "_Z4tinyPfi");
	check_text(db, "nvtx_kern_sum:base",
		   "group_concat(\"Kernel Name\" || '=' || \"Kern Inst\")", "tiny=1,tiny=30000");
	check_text(db, "cuda_api_gpu_sum:nvtx-name",
		   "group_concat(\"Operation\", '|') FILTER (WHERE \"Category\" = 'CUDA_KERNEL')",
		   ":iteration/tiny(float *, int)|tiny(float *, int)");
	check_text(db, "cuda_gpu_sum:mangled",
		   "group_concat(\"Operation\", '|') FILTER (WHERE \"Category\" = 'CUDA_KERNEL')",
		   "_Z4tinyPfi");
	sqlite3_close(db);
}

/* ---- cuda_gpu_mem_peak on a hand-made database --------------------------------------- */

#define GPID(p)	   ((int64_t)(p) << 24)
#define GTID(p, t) (GPID(p) | (t))

static void exec_ok(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

static void make_mem_db(const char *path)
{
	sqlite3 *db;
	char sql[512];
	/* start, globalPid, deviceId, bytes, memKind, memoryOperationType */
	static const int64_t ev[][6] = {
	    {10, 100, 0, 1000, 2, 0},	 {20, 100, 0, 500, 2, 0},
	    {30, 100, 0, 1000, 2, 1},	 {40, 100, 0, 3000, 2, 0},
	    {45, 100, 0, 1 << 30, 1, 0}, /* pinned host: ignored */
	    {50, 100, 0, 500, 2, 1},	 {60, 100, 0, 3000, 2, 1},
	    {42, 200, 0, 9000, 2, 0}, /* another process */
	};
	/* start, end, eventType, pid, tid, text */
	static const struct {
		int64_t s, e, type, pid, tid;
		const char *text;
	} nv[] = {
	    {5, 100, 59, 100, 100, "outer"},	{15, 35, 59, 100, 100, "phaseA"},
	    {38, 55, 59, 100, 100, "phaseB"},	{39, 41, 59, 100, 101, "loader"},
	    {30, 50, 60, 100, 100, "startend"}, /* start/end: not counted */
	    {1, 99, 59, 200, 200, "other"},	/* other process */
	};

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	exec_ok(db,
		"CREATE TABLE StringIds (id INTEGER NOT NULL PRIMARY KEY, value TEXT NOT NULL);"
		"CREATE TABLE NVTX_EVENTS (start INTEGER NOT NULL, end INTEGER, eventType "
		"INTEGER NOT NULL, rangeId INTEGER, category INTEGER, color INTEGER, text TEXT, "
		"globalTid INTEGER, endGlobalTid INTEGER, textId INTEGER, domainId INTEGER, "
		"uint64Value INTEGER, int64Value INTEGER, doubleValue REAL, uint32Value "
		"INTEGER, int32Value INTEGER, floatValue REAL, jsonTextId INTEGER, jsonText "
		"TEXT);"
		"CREATE TABLE CUDA_GPU_MEMORY_USAGE_EVENTS (start INTEGER NOT NULL, globalPid "
		"INTEGER NOT NULL, deviceId INTEGER NOT NULL, contextId INTEGER NOT NULL, "
		"address INTEGER NOT NULL, pc INTEGER NOT NULL, bytes INTEGER NOT NULL, "
		"memKind INTEGER NOT NULL, memoryOperationType INTEGER NOT NULL, name TEXT, "
		"correlationId INTEGER, streamId INTEGER, localMemoryPoolAddress INTEGER, "
		"localMemoryPoolReleaseThreshold INTEGER, localMemoryPoolSize INTEGER, "
		"localMemoryPoolUtilizedSize INTEGER, importedMemoryPoolAddress INTEGER, "
		"importedMemoryPoolProcessId INTEGER);");
	for (size_t i = 0; i < sizeof(ev) / sizeof(ev[0]); i++) {
		snprintf(sql, sizeof(sql),
			 "INSERT INTO CUDA_GPU_MEMORY_USAGE_EVENTS (start, globalPid, deviceId, "
			 "contextId, address, pc, bytes, memKind, memoryOperationType) VALUES "
			 "(%lld, %lld, %lld, 1, %zu, 0, %lld, %lld, %lld)",
			 (long long)ev[i][0], (long long)GPID(ev[i][1]), (long long)ev[i][2],
			 4096 * i, (long long)ev[i][3], (long long)ev[i][4], (long long)ev[i][5]);
		exec_ok(db, sql);
	}
	for (size_t i = 0; i < sizeof(nv) / sizeof(nv[0]); i++) {
		snprintf(sql, sizeof(sql),
			 "INSERT INTO NVTX_EVENTS (start, end, eventType, text, globalTid, "
			 "domainId) VALUES (%lld, %lld, %lld, '%s', %lld, 0)",
			 (long long)nv[i].s, (long long)nv[i].e, (long long)nv[i].type, nv[i].text,
			 (long long)GTID(nv[i].pid, nv[i].tid));
		exec_ok(db, sql);
	}
	sqlite3_close(db);
}

static void test_mem_peak(void **state)
{
	char path[128];
	sqlite3 *db;
	sqlite3_stmt *st;
	const char *rows;

	snprintf(path, sizeof(path), "%s/mem.sqlite", tmpdir);
	make_mem_db(path);
	db = open_db(path);

	/* process 100: 1000, 1500, 500, 3500 (peak at 40), 3000, 0 */
	st = wrap(db, "cuda_gpu_mem_peak",
		  "\"PID\", \"DevId\", \"Range\", \"Peak:mem_B\", \"Peak Time:ts_ns\", "
		  "\"Allocs\", \"Frees\", \"Open At Peak\"");
	assert_int_equal(sqlite3_column_int64(st, 0), 100);
	assert_int_equal(sqlite3_column_int64(st, 1), 0);
	assert_int_equal(sqlite3_column_type(st, 2), SQLITE_NULL);
	assert_int_equal(sqlite3_column_int64(st, 3), 3500);
	assert_int_equal(sqlite3_column_int64(st, 4), 40);
	assert_int_equal(sqlite3_column_int64(st, 5), 3);
	assert_int_equal(sqlite3_column_int64(st, 6), 3);
	/* innermost first; the other process's range and the start/end range are out */
	assert_string_equal((const char *)sqlite3_column_text(st, 7), ":loader < :phaseB < :outer");
	sqlite3_finalize(st);

	rows = NULL;
	st = wrap(db, "cuda_gpu_mem_peak",
		  "group_concat(\"PID\" || ',' || ifnull(\"Range\", '-') || ',' || "
		  "ifnull(\"Instances\", '-') || ',' || \"Peak:mem_B\" || ',' || "
		  "\"Peak Time:ts_ns\" || ',' || \"Allocs\" || ',' || \"Frees\" || ',' || "
		  "ifnull(\"Owns Peak\", '-'), '|')");
	rows = (const char *)sqlite3_column_text(st, 0);
	assert_string_equal(rows, "100,-,-,3500,40,3,3,-|"
				  "100,:loader,1,3500,40,1,0,Yes|"
				  "100,:outer,1,3500,40,3,3,Yes|"
				  "100,:phaseB,1,3500,40,1,1,Yes|"
				  "100,:phaseA,1,1500,20,1,1,No|"
				  "200,-,-,9000,42,1,0,-|"
				  "200,:other,1,9000,42,1,0,Yes");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* ---- skipping ------------------------------------------------------------------------ */

static void test_skip_without_cuda(void **state)
{
	char path[128];
	sqlite3 *db;
	int ret;
	char *out;

	snprintf(path, sizeof(path), "%s/nocuda.sqlite", tmpdir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	exec_ok(db,
		"CREATE TABLE StringIds (id INTEGER NOT NULL PRIMARY KEY, value TEXT NOT NULL)");
	sqlite3_close(db);
	db = open_db(path);

	out = run_report(db, "cuda_api_sum", STATS_FMT_COLUMN, &ret);
	assert_int_equal(ret, 1);
	assert_non_null(strstr(out, "SKIPPED: " FIXTURE ".sqlite does not contain CUDA trace "
				    "data.\n"));
	free(out);
	out = run_report(db, "cuda_api_trace", STATS_FMT_COLUMN, &ret);
	assert_int_equal(ret, 1);
	assert_non_null(strstr(out, "does not contain CUDA trace data.\n"));
	free(out);
	out = run_report(db, "cuda_gpu_kern_sum", STATS_FMT_COLUMN, &ret);
	assert_int_equal(ret, 1);
	assert_non_null(strstr(out, "does not contain CUDA kernel data.\n"));
	free(out);
	out = run_report(db, "cuda_kern_exec_sum:base", STATS_FMT_COLUMN, &ret);
	assert_int_equal(ret, 1);
	assert_non_null(strstr(out, "does not contain CUDA kernel data.\n"));
	free(out);
	out = run_report(db, "cuda_gpu_mem_peak", STATS_FMT_COLUMN, &ret);
	assert_int_equal(ret, 1);
	assert_non_null(strstr(out, "does not contain CUDA memory usage data.\n"));
	free(out);
	sqlite3_close(db);
}

/* Reports that need one of several tables (needs_any) or name the missing table
 * (needs_what) are skipped with nsys 2025.3's wording (seen running nsys stats on a
 * gprof-cli report without those tables). */
static void test_any_tables_absent(void **state)
{
	static const char *const reps[][2] = {
	    {"cuda_gpu_mem_time_sum", "GPU memory data"},
	    {"cuda_gpu_mem_size_sum", "GPU memory data"},
	    {"cuda_gpu_sum", "GPU kernel/memory operations data"},
	    {"cuda_api_gpu_sum", "CUDA API, GPU kernel, nor memory operations data"},
	    {"cuda_gpu_trace", "GPU trace data"},
	    {"nvtx_gpu_proj_sum", "NV Tools Extension (NVTX) data"},
	    {"nvtx_kern_sum", "NV Tools Extension (NVTX) data"},
	    {NULL, NULL},
	};
	char path[128];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/nocuda2.sqlite", tmpdir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	exec_ok(db, "CREATE TABLE StringIds (id INTEGER NOT NULL PRIMARY KEY, value TEXT NOT NULL);"
		    "CREATE TABLE TARGET_INFO_GPU (vmId INTEGER NOT NULL, id INTEGER NOT NULL, "
		    "name TEXT)");
	sqlite3_close(db);
	db = open_db(path);
	for (size_t i = 0; reps[i][0]; i++) {
		int ret;
		char want[160];
		char *out = run_report(db, reps[i][0], STATS_FMT_CSV, &ret);

		snprintf(want, sizeof(want), "SKIPPED: " FIXTURE ".sqlite does not contain %s.\n",
			 reps[i][1]);
		assert_int_equal(ret, 1);
		if (!strstr(out, want))
			fail_msg("%s: got '%s', want '%s'", reps[i][0], out, want);
		free(out);
		/* the query itself copes with the missing tables: no rows, no error */
		if (strncmp(reps[i][0], "nvtx_", 5))
			check_i64(db, reps[i][0], "count(*)", 0);
	}
	sqlite3_close(db);

	/* without TARGET_INFO_GPU, cuda_gpu_trace names the table as nsys does */
	snprintf(path, sizeof(path), "%s/nocuda3.sqlite", tmpdir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	exec_ok(db,
		"CREATE TABLE StringIds (id INTEGER NOT NULL PRIMARY KEY, value TEXT NOT NULL)");
	sqlite3_close(db);
	db = open_db(path);
	{
		int ret;
		char *out = run_report(db, "cuda_gpu_trace", STATS_FMT_CSV, &ret);

		assert_int_equal(ret, 1);
		assert_non_null(strstr(out, "does not contain TARGET_INFO_GPU table.\n"));
		free(out);
	}
	sqlite3_close(db);
}

static int setup(void **state)
{
	strcpy(tmpdir, "/tmp/gprof-stats-cuda-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fixture_column),
	    cmocka_unit_test(test_fixture_csv),
	    cmocka_unit_test(test_traces),
	    cmocka_unit_test(test_kernel_name_args),
	    cmocka_unit_test(test_mem_peak),
	    cmocka_unit_test(test_skip_without_cuda),
	    cmocka_unit_test(test_any_tables_absent),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
