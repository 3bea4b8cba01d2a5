/*
 * test_analyze.c - the `analyze` rules on hand-made reports in the nsys schema
 * (exporters/analyze*.c): launch_bound fires on many short kernels launched one by one
 * with the GPU mostly idle, and not when the kernels run back to back, when the same
 * work is replayed by a CUDA graph, or when there are too few kernels; sync_in_loop fires
 * on a sync call in every iteration and not on one in a few; gpu_mem_leak fires on a
 * block leaked per iteration and not on one allocated once or freed each time;
 * gpu_mem_peak fires when the peak comes within share= % of the device's memory;
 * copy_storm fires on thousands of 4-byte copies, 40 per iteration, and not on one 64 KB
 * copy per iteration.  Also the
 * message wrapping (nsys's 79 columns) and the argument checks.
 *
 * Each report is an SQLite file made here with the columns the rules read; the rules run
 * through analyze_run_rule() as `gprof-cli analyze` runs them, into a memory stream.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exporters/analyze.h"
#include "exporters/report_open.h"
#include "tests/testutil.h"

#define GPID(p)	   ((int64_t)(p) << 24)
#define GTID(p, t) (GPID(p) | (t))
#define PID	   4242
#define STREAM	   7

/* String ids of the hand-made reports. */
enum { S_LAUNCH = 1, S_GRAPH, S_SYNC, S_KERNEL, S_MALLOC, S_STEP };

static void exec_ok(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

static void execf(sqlite3 *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void execf(sqlite3 *db, const char *fmt, ...)
{
	char sql[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	exec_ok(db, sql);
}

/* An empty report with the tables the CUDA rules read (nsys 2025.3's columns). */
static sqlite3 *new_report(const char *path)
{
	sqlite3 *db;

	remove(path);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	exec_ok(db,
		"CREATE TABLE StringIds (id INTEGER NOT NULL PRIMARY KEY, value TEXT NOT NULL);"
		"INSERT INTO StringIds VALUES (1, 'cudaLaunchKernel_v7000'), "
		"(2, 'cudaGraphLaunch_v10000'), (3, 'cudaStreamSynchronize_v3020'), "
		"(4, 'tiny'), (5, 'cudaMalloc_v3020'), (6, 'step');"
		"CREATE TABLE NVTX_EVENTS (start INTEGER NOT NULL, end INTEGER, eventType "
		"INTEGER NOT NULL, rangeId INTEGER, category INTEGER, color INTEGER, text TEXT, "
		"globalTid INTEGER, endGlobalTid INTEGER, textId INTEGER, domainId INTEGER, "
		"uint64Value INTEGER, int64Value INTEGER, doubleValue REAL, uint32Value "
		"INTEGER, int32Value INTEGER, floatValue REAL, jsonTextId INTEGER, jsonText "
		"TEXT);"
		"CREATE TABLE CUPTI_ACTIVITY_KIND_RUNTIME (start INTEGER NOT NULL, end INTEGER "
		"NOT NULL, eventClass INTEGER NOT NULL, globalTid INTEGER, correlationId "
		"INTEGER, nameId INTEGER NOT NULL, returnValue INTEGER NOT NULL, callchainId "
		"INTEGER);"
		"CREATE TABLE CUPTI_ACTIVITY_KIND_KERNEL (start INTEGER NOT NULL, end INTEGER "
		"NOT NULL, deviceId INTEGER NOT NULL, contextId INTEGER NOT NULL, greenContextId "
		"INTEGER, streamId INTEGER NOT NULL, correlationId INTEGER, globalPid INTEGER, "
		"demangledName INTEGER NOT NULL, shortName INTEGER NOT NULL, mangledName "
		"INTEGER, graphNodeId INTEGER);");
	exec_ok(db, "BEGIN");
	return db;
}

static void close_report(sqlite3 *db)
{
	exec_ok(db, "COMMIT");
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* One launch loop: iters iterations, each an NVTX push/pop range "step" (when nvtx) on
 * the main thread holding k launch calls of call_ns every ivl_ns, each launching one
 * kernel of kern_ns on STREAM, which starts when the call ends or the previous kernel
 * ends, whichever is later; sync: a cudaStreamSynchronize ending the iterations for
 * which (i % sync) == 0 (0: none); api: the launch's name id (S_LAUNCH or S_GRAPH). */
struct loop {
	int iters, k, nvtx, sync, api;
	int64_t call_ns, ivl_ns, kern_ns;
};

static void add_loop(sqlite3 *db, const struct loop *l)
{
	int64_t t = 1000000, gpu_free = 0, corr = 1;

	for (int i = 0; i < l->iters; i++) {
		int64_t start = t;

		for (int j = 0; j < l->k; j++, corr++) {
			int64_t ks = t + l->call_ns > gpu_free ? t + l->call_ns : gpu_free;

			execf(
			    db,
			    "INSERT INTO CUPTI_ACTIVITY_KIND_RUNTIME VALUES (%lld, %lld, 1, %lld, "
			    "%lld, %d, 0, NULL)",
			    (long long)t, (long long)(t + l->call_ns), (long long)GTID(PID, PID),
			    (long long)corr, l->api);
			execf(db,
			      "INSERT INTO CUPTI_ACTIVITY_KIND_KERNEL VALUES (%lld, %lld, 0, 1, "
			      "NULL, "
			      "%d, %lld, %lld, %d, %d, NULL, %s)",
			      (long long)ks, (long long)(ks + l->kern_ns), STREAM, (long long)corr,
			      (long long)GPID(PID), S_KERNEL, S_KERNEL,
			      l->api == S_GRAPH ? "1" : "NULL");
			gpu_free = ks + l->kern_ns;
			t += l->ivl_ns;
		}
		if (l->sync && i % l->sync == 0) {
			int64_t end = gpu_free > t ? gpu_free : t;
			execf(
			    db,
			    "INSERT INTO CUPTI_ACTIVITY_KIND_RUNTIME VALUES (%lld, %lld, 1, %lld, "
			    "%lld, %d, 0, NULL)",
			    (long long)t, (long long)(end + 500), (long long)GTID(PID, PID),
			    (long long)corr++, S_SYNC);
			t = end + 600;
		}
		if (l->nvtx)
			execf(db,
			      "INSERT INTO NVTX_EVENTS (start, end, eventType, textId, globalTid, "
			      "domainId) VALUES (%lld, %lld, 59, %d, %lld, 0)",
			      (long long)start, (long long)t, S_STEP, (long long)GTID(PID, PID));
		t += 2000;
	}
}

/* Run rule `spec` ("name:arg=..") on path; returns its rows (>= 0); *text (caller frees)
 * gets what it printed in format fmt. */
static int64_t run_rule(const char *path, const char *spec, enum stats_format fmt, char **text)
{
	struct analyze_opts o = {.format = fmt, .timeunit = STATS_TU_NS, .quiet = 1};
	const struct analyze_rule *ru;
	struct stats_args args;
	char copy[256], *buf = NULL;
	const char *name;
	size_t len = 0;
	sqlite3 *db;
	FILE *f;
	int64_t n;

	snprintf(copy, sizeof(copy), "%s", spec);
	assert_int_equal(stats_split_spec(copy, &name, &args), 0);
	ru = analyze_find(name);
	assert_non_null(ru);
	assert_int_equal(analyze_check_args(ru, &args), 0);
	db = report_open_read(path);
	assert_non_null(db);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	n = analyze_run_rule(db, path, ru, &args, &o, f);
	fclose(f);
	sqlite3_close(db);
	assert_true(n >= 0);
	if (text)
		*text = buf;
	else
		free(buf);
	return n;
}

static char path[256];

/* text with its line breaks as blanks: the messages are wrapped at 79 columns */
static char *unwrap(char *text)
{
	for (char *p = text; *p; p++)
		if (*p == '\n')
			*p = ' ';
	return text;
}

/* ---- launch_bound ------------------------------------------------------------------------ */

/* 50 iterations x 40 kernels of 1 us, one launch call of 4 us every 5 us: the GPU runs
 * 1 us in each 5 us. */
static const struct loop launch_bound_loop = {.iters = 50,
					      .k = 40,
					      .nvtx = 1,
					      .api = S_LAUNCH,
					      .call_ns = 4000,
					      .ivl_ns = 5000,
					      .kern_ns = 1000};

static void test_launch_bound_fires(void **state)
{
	sqlite3 *db = new_report(path);
	char *text;
	int64_t n;

	add_loop(db, &launch_bound_loop);
	close_report(db);
	n = run_rule(path, "launch_bound", STATS_FMT_CSV, &text);
	assert_int_equal(n, 1);
	/* each instance: 40 launches, 5 us apart; the last kernel ends 4 us + 1 us after the
	 * last call started, with the range (200 us): wall 50 x 200 us = 10 ms, kernel time
	 * 2,000 x 1 us = 2 ms (20 %), saving 8 ms; 2,000 kernels in 10 ms = 200 per ms; each
	 * kernel starts 4 us after the previous one ended */
	assert_non_null(strstr(text, "Savings (ns),Range,Instances,PID,Device ID,Stream ID,"
				     "Kernels,Med Kernel (ns),Med Launch (ns),Med Interval (ns),"
				     "Med Gap (ns),Rate (/ms),GPU Busy (%),Wall (ns),Kernel Time "
				     "(ns)\n"));
	assert_non_null(strstr(text, "\n8000000,step,50,4242,0,7,2000,1000.0,4000.0,5000.0,"
				     "4000.0,200.0,20.0,10000000,2000000\n"));
	free(text);

	/* column format: the plain-words message names the range, stream and saving */
	n = run_rule(path, "launch_bound", STATS_FMT_COLUMN, &text);
	unwrap(text);
	assert_int_equal(n, 1);
	assert_non_null(strstr(text, "NVTX range 'step' (50 instances), stream 7 of process 4242"));
	assert_non_null(strstr(text, "2,000 kernels of 1.0 us (median)"));
	assert_non_null(strstr(text, "would save up to 8.0 ms"));
	assert_non_null(strstr(text, "CUDA graph"));
	free(text);

	/* the thresholds are the rule's arguments */
	assert_int_equal(run_rule(path, "launch_bound:kernels=2001", STATS_FMT_CSV, NULL), 0);
	assert_int_equal(run_rule(path, "launch_bound:busy=19", STATS_FMT_CSV, NULL), 0);
	assert_int_equal(run_rule(path, "launch_bound:rate=201", STATS_FMT_CSV, NULL), 0);
	assert_int_equal(run_rule(path, "launch_bound:gap=3999", STATS_FMT_CSV, NULL), 0);
	assert_int_equal(
	    run_rule(path, "launch_bound:busy=21:rate=200:gap=4000", STATS_FMT_CSV, NULL), 1);
}

/* A range name is the application's bytes: the message shows its control characters
 * as escapes, as the table does. */
static void test_message_escapes_names(void **state)
{
	sqlite3 *db = new_report(path);
	char *text;

	add_loop(db, &launch_bound_loop);
	exec_ok(db, "UPDATE StringIds SET value = 'st' || char(27) || '[2Jep' WHERE id = 6");
	close_report(db);
	assert_int_equal(run_rule(path, "launch_bound", STATS_FMT_COLUMN, &text), 1);
	assert_null(strchr(text, 27));
	assert_non_null(strstr(text, "NVTX range 'st\\e[2Jep'"));
	free(text);
}

static void test_launch_bound_without_nvtx(void **state)
{
	struct loop l = launch_bound_loop;
	sqlite3 *db = new_report(path);
	char *text;

	l.nvtx = 0;
	add_loop(db, &l);
	close_report(db);
	assert_int_equal(run_rule(path, "launch_bound", STATS_FMT_COLUMN, &text), 1);
	unwrap(text);
	assert_non_null(strstr(text, "stream 7 of process 4242 (no NVTX range around its "
				     "launches)"));
	assert_non_null(strstr(text, "[no NVTX range]"));
	free(text);
}

static void test_launch_bound_back_to_back(void **state)
{
	/* kernels of 20 us launched every 5 us: they queue up and run back to back */
	struct loop l = launch_bound_loop;
	sqlite3 *db = new_report(path);
	char *text;

	l.kern_ns = 20000;
	add_loop(db, &l);
	close_report(db);
	assert_int_equal(run_rule(path, "launch_bound", STATS_FMT_COLUMN, &text), 0);
	unwrap(text);
	assert_non_null(strstr(text, "No launch-bound region found"));
	free(text);
	/* even with the busy threshold lifted: the kernels are longer than the interval */
	assert_int_equal(run_rule(path, "launch_bound:busy=100", STATS_FMT_CSV, NULL), 0);
}

static void test_launch_bound_graph_replay(void **state)
{
	/* the same kernels, each launched by cudaGraphLaunch (graph node kernels) */
	struct loop l = launch_bound_loop;
	sqlite3 *db = new_report(path);

	l.api = S_GRAPH;
	add_loop(db, &l);
	close_report(db);
	assert_int_equal(run_rule(path, "launch_bound", STATS_FMT_CSV, NULL), 0);
}

static void test_launch_bound_few_kernels(void **state)
{
	struct loop l = launch_bound_loop;
	sqlite3 *db = new_report(path);

	l.iters = 2; /* 80 kernels < 100 */
	add_loop(db, &l);
	close_report(db);
	assert_int_equal(run_rule(path, "launch_bound", STATS_FMT_CSV, NULL), 0);
	assert_int_equal(run_rule(path, "launch_bound:kernels=80", STATS_FMT_CSV, NULL), 1);
}

static void test_launch_bound_skips_without_kernels(void **state)
{
	struct analyze_opts o = {.format = STATS_FMT_COLUMN};
	const struct analyze_rule *ru = analyze_find("launch-bound");
	sqlite3 *db = new_report(path);
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	exec_ok(db, "DROP TABLE CUPTI_ACTIVITY_KIND_KERNEL");
	close_report(db);
	assert_non_null(ru);
	db = report_open_read(path);
	f = open_memstream(&buf, &len);
	assert_int_equal(analyze_run_rule(db, "r.db", ru, NULL, &o, f), 0);
	fclose(f);
	sqlite3_close(db);
	assert_string_equal(buf, "Processing [r.db] with [rules/launch_bound]... \n"
				 "SKIPPED: r.db could not be analyzed because it does not contain "
				 "CUDA kernel data. Does the application launch CUDA kernels "
				 "(profile -t cuda)?\n\n");
	free(buf);
}

/* ---- sync_in_loop ----------------------------------------------------------------------- */

static void test_sync_in_loop(void **state)
{
	struct loop l = launch_bound_loop;
	sqlite3 *db;
	char *text;

	l.sync = 1; /* every iteration */
	db = new_report(path);
	add_loop(db, &l);
	close_report(db);
	assert_int_equal(run_rule(path, "sync_in_loop", STATS_FMT_CSV, &text), 1);
	/* each sync returns 500 ns after the last kernel, which ends as it starts */
	assert_non_null(strstr(text, "\nstep,4242,50,50,50,25000,10030000,0.2,"));
	assert_non_null(strstr(text, ",cudaStreamSynchronize\n"));
	free(text);
	assert_int_equal(run_rule(path, "sync_in_loop", STATS_FMT_COLUMN, &text), 1);
	unwrap(text);
	assert_non_null(strstr(text, "'step' (process 4242): 50 of 50 instances call"));
	assert_non_null(strstr(text, "cudaStreamSynchronize, 50 calls taking 25.0 us"));
	assert_non_null(strstr(text, "move the synchronization out of the loop"));
	free(text);
	assert_int_equal(run_rule(path, "sync_in_loop:iterations=51", STATS_FMT_CSV, NULL), 0);
	assert_int_equal(run_rule(path, "sync_in_loop:time=1", STATS_FMT_CSV, NULL), 0);

	/* a sync in one iteration of five: not a sync per iteration */
	l.sync = 5;
	db = new_report(path);
	add_loop(db, &l);
	close_report(db);
	assert_int_equal(run_rule(path, "sync_in_loop", STATS_FMT_CSV, NULL), 0);
	assert_int_equal(run_rule(path, "sync_in_loop:share=20", STATS_FMT_CSV, NULL), 1);
}

/* ---- gpu_mem_leak ------------------------------------------------------------------------ */

/* iters NVTX ranges "step" of 1000 ns; in each, an allocation of 1 MB at its own address,
 * freed inside the range unless leak; plus one 64 MB block allocated at start-up inside
 * a range "init" (once) and never freed. */
static void make_mem_report(int iters, int leak)
{
	sqlite3 *db = new_report(path);

	exec_ok(db, "CREATE TABLE CUDA_GPU_MEMORY_USAGE_EVENTS (start INTEGER NOT NULL, globalPid "
		    "INTEGER NOT NULL, deviceId INTEGER NOT NULL, contextId INTEGER NOT NULL, "
		    "address INTEGER NOT NULL, pc INTEGER NOT NULL, bytes INTEGER NOT NULL, "
		    "memKind INTEGER NOT NULL, memoryOperationType INTEGER NOT NULL, name TEXT, "
		    "correlationId INTEGER, streamId INTEGER);");
	execf(db,
	      "INSERT INTO NVTX_EVENTS (start, end, eventType, text, globalTid, domainId) "
	      "VALUES (10, 90, 59, 'init', %lld, 0)",
	      (long long)GTID(PID, PID));
	execf(db,
	      "INSERT INTO CUDA_GPU_MEMORY_USAGE_EVENTS VALUES (50, %lld, 0, 1, 65536, 0, "
	      "64000000, 2, 0, NULL, 1, NULL)",
	      (long long)GPID(PID));
	execf(db,
	      "INSERT INTO CUPTI_ACTIVITY_KIND_RUNTIME VALUES (40, 60, 1, %lld, 1, %d, 0, NULL)",
	      (long long)GTID(PID, PID), S_MALLOC);
	for (int i = 0; i < iters; i++) {
		int64_t s = 1000 + 2000 * i;

		execf(db,
		      "INSERT INTO NVTX_EVENTS (start, end, eventType, textId, globalTid, "
		      "domainId) VALUES (%lld, %lld, 59, %d, %lld, 0)",
		      (long long)s, (long long)(s + 1000), S_STEP, (long long)GTID(PID, PID));
		execf(db,
		      "INSERT INTO CUDA_GPU_MEMORY_USAGE_EVENTS VALUES (%lld, %lld, 0, 1, %d, 0, "
		      "1000000, 2, 0, NULL, %d, NULL)",
		      (long long)(s + 100), (long long)GPID(PID), 1 << 30 | i << 20, i + 2);
		execf(
		    db,
		    "INSERT INTO CUPTI_ACTIVITY_KIND_RUNTIME VALUES (%lld, %lld, 1, %lld, %d, %d, "
		    "0, NULL)",
		    (long long)(s + 50), (long long)(s + 150), (long long)GTID(PID, PID), i + 2,
		    S_MALLOC);
		if (!leak)
			execf(db,
			      "INSERT INTO CUDA_GPU_MEMORY_USAGE_EVENTS VALUES (%lld, %lld, 0, 1, "
			      "%d, 0, 1000000, 2, 1, NULL, NULL, NULL)",
			      (long long)(s + 900), (long long)GPID(PID), 1 << 30 | i << 20);
	}
	close_report(db);
}

static void test_gpu_mem_leak(void **state)
{
	char *text;

	make_mem_report(5, 1);
	assert_int_equal(run_rule(path, "gpu_mem_leak", STATS_FMT_CSV, &text), 1);
	/* the start-up block (one instance of "init") is not a leak */
	assert_string_equal(text, "Range,PID,Device ID,Instances,Leaking,Allocations,Leaked Bytes "
				  "(MB),Largest (MB),First (ns)\n"
				  "step,4242,0,5,5,5,5.000,1.000,1100\n");
	free(text);
	assert_int_equal(run_rule(path, "gpu_mem_leak", STATS_FMT_COLUMN, &text), 1);
	unwrap(text);
	assert_non_null(
	    strstr(text, "NVTX range 'step' (process 4242, device 0): 5 of 5 instances"));
	assert_non_null(strstr(text, "did not free 5 blocks, 5.000 MB in all"));
	free(text);
	assert_int_equal(run_rule(path, "gpu_mem_leak:instances=6", STATS_FMT_CSV, NULL), 0);
	assert_int_equal(run_rule(path, "gpu_mem_leak:instances=1", STATS_FMT_CSV, NULL), 2);

	make_mem_report(5, 0); /* each iteration frees its block */
	assert_int_equal(run_rule(path, "gpu_mem_leak", STATS_FMT_CSV, NULL), 0);
}

/* gpu_mem_peak: make_mem_report's leaking run holds 64 MB + 5 x 1 MB at its end, the
 * peak (69 MB, first at 9100 ns, inside the fifth "step"); the device is said to have
 * 72 MB (95.8 %) or 100 MB (69 %). */
static void test_gpu_mem_peak(void **state)
{
	sqlite3 *db;
	char *text;

	make_mem_report(5, 1);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	exec_ok(db, "CREATE TABLE TARGET_INFO_GPU (vmId INTEGER NOT NULL, id INTEGER NOT NULL, "
		    "name TEXT, totalMemory INTEGER); "
		    "INSERT INTO TARGET_INFO_GPU VALUES (0, 0, 'GPU', 72000000)");
	sqlite3_close(db);
	assert_int_equal(run_rule(path, "gpu_mem_peak", STATS_FMT_CSV, &text), 1);
	assert_string_equal(text, "Peak (MB),Device Memory (MB),Share (%),PID,Device ID,Peak "
				  "Time (ns),Open At Peak\n"
				  "69.000,72.000,95.8,4242,0,9100,step\n");
	free(text);
	assert_int_equal(run_rule(path, "gpu_mem_peak", STATS_FMT_COLUMN, &text), 1);
	unwrap(text);
	assert_non_null(strstr(text, "process 4242 uses up to 0.069 GB of device 0's 0.072 GB "
				     "(95.8%), first at 0.000 s, inside NVTX range 'step'"));
	free(text);
	assert_int_equal(run_rule(path, "gpu_mem_peak:share=96", STATS_FMT_CSV, NULL), 0);

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	exec_ok(db, "UPDATE TARGET_INFO_GPU SET totalMemory = 100000000");
	sqlite3_close(db);
	assert_int_equal(run_rule(path, "gpu_mem_peak", STATS_FMT_CSV, NULL), 0);
	assert_int_equal(run_rule(path, "gpu_mem_peak:share=69", STATS_FMT_CSV, NULL), 1);
}

/* ---- copy_storm -------------------------------------------------------------------------- */

/* iters NVTX ranges "step", each with per host-to-device copies of `bytes` bytes, one
 * cudaMemcpyAsync call of 3 us each (GPU: 1 us). */
static void make_copy_report(int iters, int per, int bytes)
{
	sqlite3 *db = new_report(path);
	int64_t t = 1000, corr = 1;

	exec_ok(db, "CREATE TABLE CUPTI_ACTIVITY_KIND_MEMCPY (start INTEGER NOT NULL, end "
		    "INTEGER NOT NULL, deviceId INTEGER NOT NULL, contextId INTEGER NOT NULL, "
		    "greenContextId INTEGER, streamId INTEGER NOT NULL, correlationId INTEGER, "
		    "globalPid INTEGER, bytes INTEGER NOT NULL, copyKind INTEGER NOT NULL, "
		    "srcKind INTEGER, dstKind INTEGER, srcDeviceId INTEGER, dstDeviceId INTEGER);"
		    "INSERT INTO StringIds VALUES (7, 'cudaMemcpyAsync_v3020')");
	for (int i = 0; i < iters; i++) {
		int64_t start = t;

		for (int j = 0; j < per; j++, corr++) {
			execf(
			    db,
			    "INSERT INTO CUPTI_ACTIVITY_KIND_RUNTIME VALUES (%lld, %lld, 1, %lld, "
			    "%lld, 7, 0, NULL)",
			    (long long)t, (long long)(t + 3000), (long long)GTID(PID, PID),
			    (long long)corr);
			execf(db,
			      "INSERT INTO CUPTI_ACTIVITY_KIND_MEMCPY VALUES (%lld, %lld, 0, 1, "
			      "NULL, "
			      "%d, %lld, %lld, %d, 1, 0, 2, NULL, 0)",
			      (long long)(t + 2000), (long long)(t + 3000), STREAM, (long long)corr,
			      (long long)GPID(PID), bytes);
			t += 3500;
		}
		execf(
		    db,
		    "INSERT INTO NVTX_EVENTS (start, end, eventType, textId, globalTid, domainId) "
		    "VALUES (%lld, %lld, 59, %d, %lld, 0)",
		    (long long)start, (long long)t, S_STEP, (long long)GTID(PID, PID));
		t += 1000;
	}
	close_report(db);
}

static void test_copy_storm(void **state)
{
	char *text;

	make_copy_report(50, 40, 4);
	assert_int_equal(run_rule(path, "copy_storm", STATS_FMT_CSV, &text), 1);
	assert_string_equal(text, "API Time (ns),Range,PID,Operation,Count,Instances,Per "
				  "Instance,Med Size,Total Size (MB),Med API (ns),GPU Time (ns)\n"
				  "6000000,step,4242,[CUDA memcpy Host-to-Device],2000,50,40.0,4.0,"
				  "0.008,3000.0,2000000\n");
	free(text);
	assert_int_equal(run_rule(path, "copy_storm", STATS_FMT_COLUMN, &text), 1);
	unwrap(text);
	assert_non_null(strstr(text, "NVTX range 'step' (process 4242): 2,000 [CUDA memcpy "
				     "Host-to-Device] of 4 bytes (median), 40.0 per instance, "
				     "costing 6.0 ms of CUDA calls (3.0 us each)"));
	assert_non_null(strstr(text, "batch them"));
	free(text);
	assert_int_equal(run_rule(path, "copy_storm:count=2001", STATS_FMT_CSV, NULL), 0);
	assert_int_equal(run_rule(path, "copy_storm:per=41", STATS_FMT_CSV, NULL), 0);
	assert_int_equal(run_rule(path, "copy_storm:bytes=3", STATS_FMT_CSV, NULL), 0);

	/* one 64 KB copy per step is data loading, not a storm */
	make_copy_report(1000, 1, 65536);
	assert_int_equal(run_rule(path, "copy_storm", STATS_FMT_CSV, NULL), 0);
	assert_int_equal(run_rule(path, "copy_storm:bytes=65536:per=1", STATS_FMT_CSV, NULL), 1);
}

/* ---- nvtx_gpu_idle ----------------------------------------------------------------------- */

/* 10 iterations of an NVTX range "load" (1 ms, no GPU work) then "compute" (1 ms, one
 * kernel of 0.9 ms and, on another stream, one of 0.5 ms inside it). */
static void test_nvtx_gpu_idle(void **state)
{
	sqlite3 *db = new_report(path);
	int64_t t = 1000000;
	char *text;

	exec_ok(db, "INSERT INTO StringIds VALUES (8, 'load'), (9, 'compute')");
	for (int i = 0; i < 10; i++, t += 2000000) {
		execf(
		    db,
		    "INSERT INTO NVTX_EVENTS (start, end, eventType, textId, globalTid, domainId) "
		    "VALUES (%lld, %lld, 59, 8, %lld, 0), (%lld, %lld, 59, 9, %lld, 0)",
		    (long long)t, (long long)(t + 1000000), (long long)GTID(PID, PID),
		    (long long)(t + 1000000), (long long)(t + 2000000), (long long)GTID(PID, PID));
		execf(db,
		      "INSERT INTO CUPTI_ACTIVITY_KIND_KERNEL VALUES (%lld, %lld, 0, 1, NULL, 7, "
		      "%d, %lld, 4, 4, NULL, NULL), (%lld, %lld, 0, 1, NULL, 8, %d, %lld, 4, 4, "
		      "NULL, NULL)",
		      (long long)(t + 1050000), (long long)(t + 1950000), 2 * i + 1,
		      (long long)GPID(PID), (long long)(t + 1100000), (long long)(t + 1600000),
		      2 * i + 2, (long long)GPID(PID));
	}
	close_report(db);
	assert_int_equal(run_rule(path, "nvtx_gpu_idle", STATS_FMT_CSV, &text), 1);
	/* the GPU span: first kernel start to last kernel end = 18.9 ms; 'load' 10 ms of it,
	 * of which the GPU ran nothing (the kernels of 'compute' overlap: counted once) */
	assert_string_equal(text, "Idle Time (ns),Range,PID,Instances,Range Time (ns),GPU Busy "
				  "Time (ns),GPU Busy (%),Span Share (%)\n"
				  "10000000,load,4242,10,10000000,0,0.0,52.9\n");
	free(text);
	assert_int_equal(run_rule(path, "nvtx_gpu_idle:busy=91", STATS_FMT_CSV, &text), 2);
	assert_non_null(strstr(text, "\n1000000,compute,4242,10,10000000,9000000,90.0,52.9\n"));
	free(text);
	assert_int_equal(run_rule(path, "nvtx_gpu_idle", STATS_FMT_COLUMN, &text), 1);
	unwrap(text);
	assert_non_null(strstr(text, "'load' (process 4242, 10 instances): 10.0 ms in all, 52.9% "
				     "of the GPU's active span; the GPU was busy 0.0% of it"));
	free(text);
	assert_int_equal(run_rule(path, "nvtx_gpu_idle:instances=11", STATS_FMT_CSV, NULL), 0);
	assert_int_equal(run_rule(path, "nvtx_gpu_idle:time=53", STATS_FMT_CSV, NULL), 0);
}

/* ---- the framework ------------------------------------------------------------------------ */

static void test_wrap(void **state)
{
	struct strbuf sb = STRBUF_INIT;

	analyze_wrap(&sb, "aaa bbb ccc\n   dd ee ff\n\nx", 7);
	assert_string_equal(sb.buf, "aaa bbb\nccc\n   dd ee\nff\n\nx");
	strbuf_reset(&sb);
	/* a word longer than the width stays whole; runs of blanks are one separator */
	analyze_wrap(&sb, "abcdefghij  k", 4);
	assert_string_equal(sb.buf, "abcdefghij\nk");
	strbuf_release(&sb);
}

static void test_check_args(void **state)
{
	static const struct {
		const char *spec;
		int ok;
	} cases[] = {
	    {"gpu_gaps:gap=100:rows=-1", 1},
	    {"gpu_gaps:gap=x", 0},
	    {"gpu_gaps:gap", 0},
	    {"gpu_gaps:threshold=5", 0},
	    {"gpu_time_util:chunks=1000", 1},
	    {"gpu_time_util:chunks=1001", 0},
	    {"gpu_time_util:chunks=0", 0},
	    {"cuda_api_sync:nvtx=step@dom", 1},
	    {"cuda_api_sync:nvtx=", 0},
	    {"cuda_api_sync:start=10:end=5", 0},
	    {"cuda_api_sync:rows=-2", 0},
	    {"launch_bound:busy=101", 0},
	    {"sync_in_loop:share=50", 1},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char copy[128];
		const char *name;
		struct stats_args args;

		snprintf(copy, sizeof(copy), "%s", cases[i].spec);
		assert_int_equal(stats_split_spec(copy, &name, &args), 0);
		if ((analyze_check_args(analyze_find(name), &args) == 0) != cases[i].ok)
			fail_msg("'%s' should be %s", cases[i].spec,
				 cases[i].ok ? "ok" : "refused");
	}
	assert_null(analyze_find("no_such_rule"));
	assert_ptr_equal(analyze_find("gpu-mem-leak"), &analyze_rule_gpu_mem_leak);
}

static int setup(void **state)
{
	static char dir[64];

	strcpy(dir, "/tmp/gprof-analyze-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/r.sqlite", dir);
	*state = dir;
	return 0;
}

static int teardown(void **state)
{
	return tu_rm_rf(*state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_launch_bound_fires),
	    cmocka_unit_test(test_message_escapes_names),
	    cmocka_unit_test(test_launch_bound_without_nvtx),
	    cmocka_unit_test(test_launch_bound_back_to_back),
	    cmocka_unit_test(test_launch_bound_graph_replay),
	    cmocka_unit_test(test_launch_bound_few_kernels),
	    cmocka_unit_test(test_launch_bound_skips_without_kernels),
	    cmocka_unit_test(test_sync_in_loop),
	    cmocka_unit_test(test_gpu_mem_leak),
	    cmocka_unit_test(test_gpu_mem_peak),
	    cmocka_unit_test(test_copy_storm),
	    cmocka_unit_test(test_nvtx_gpu_idle),
	    cmocka_unit_test(test_wrap),
	    cmocka_unit_test(test_check_args),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
