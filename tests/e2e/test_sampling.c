/*
 * test_sampling.c - end-to-end tests of CPU sampling and context switches (`profile -s
 * process-tree -b fp|dwarf --cpuctxsw=process-tree`; core/sampler.c,
 * core/report_sampling.c) on tests/programs/cpu_hot, whose hot function and callers are
 * known (its header comment):
 *   - fp and dwarf: >= 80 % of the samples of the process land in hot_burn, and >= 90 % of
 *     those have its callers in order (hot_middle, hot_run, main);
 *   - every thread (two pthreads) and a forked child are sampled, each with its own stack;
 *   - code with no symbol and no file (a JIT's) is kept, unresolved ("0x<ip>", //anon);
 *   - the tables have nsys's columns (compared with the nsys export in shared/fixtures)
 *     and NVIDIA's documented SQLite examples for them run unchanged (Nsight Systems
 *     Analysis Guide, "Common SQLite Examples": "Thread Summary", "Function Table" top-down
 *     and bottom-up; listed in nvidia_queries[] below);
 *   - -s none --cpuctxsw=none writes none of the tables; bad values are usage errors;
 *   - --cpuctxsw: the switches of a program that sleeps 300 times, against
 *     `perf stat -e context-switches` on the same program;
 *   - --osrt-backtrace-threshold: the OSRT_API row of a long nanosleep has a callchain
 *     (OSRT_CALLCHAINS) naming nanosleep, then its caller hot_sleeper, then main, and
 *     NVIDIA's documented "Backtraces for OSRT Ranges" query runs unchanged;
 *   - Python frames (CPython 3.11 or 3.12): a Python hot loop (tests/programs/py_hot.py) has
 *     py_burn (py_hot.py:LINE) <- py_middle <- main in most samples, between the native
 *     frames it runs in and _PyEval_EvalFrameDefault;
 *   - `export --type folded` (collapsed stacks) and the stats reports cpu_func_sum (flat)
 *     and cpu_func_bottomup (bottom-up) per thread.
 *
 * The machine must allow perf_event_open on the child (root, or
 * kernel.perf_event_paranoid <= 2): otherwise profile says so once and the tests skip.
 *
 * Environment: GPROF_CLI, BUILD (make check sets them).
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

static char g_cli[PATH_MAX], g_app[PATH_MAX + 64];

/* Run gprof-cli with args in dir and expect success; its stderr in err (sizeof
 * tu_run.err) when not NULL, the report dir/r.db in db (PATH_MAX).  Skips the test when
 * the machine does not allow sampling. */
static void run_profile(const char *dir, char *db, const char *const *args, char *err)
{
	struct tu_run *r = malloc(sizeof(*r));

	assert_non_null(r);
	tu_run_in(r, g_cli, dir, args);
	if (strstr(r->err, "CPU sampling and context switches off")) {
		free(r);
		TU_SKIP("perf_event_open is not allowed here");
	}
	if (r->status != 0)
		print_message("%s\n", r->err);
	tu_assert_status(r, 0);
	if (err)
		memcpy(err, r->err, sizeof(r->err));
	free(r);
	tu_pathf(db, dir, "r.db");
}

/* profile `extra...` -o dir/r cpu_hot MS MODE; returns the report path in db (PATH_MAX).
 * Skips the test when the machine does not allow sampling. */
static void profile(const char *dir, char *db, const char *const *extra, const char *ms,
		    const char *mode)
{
	const char *args[24];
	size_t n = 0;

	args[n++] = "profile";
	args[n++] = "-t";
	args[n++] = "none";
	for (; extra && *extra; extra++)
		args[n++] = *extra;
	args[n++] = "-o";
	args[n++] = "r";
	args[n++] = g_app;
	args[n++] = ms;
	if (mode)
		args[n++] = mode;
	args[n] = NULL;
	run_profile(dir, db, args, NULL);
}

/* Samples whose stack (leaf first) starts with the `n` symbols given. */
static long long stacks_like(const char *db, const char *const *syms, int n)
{
	char sql[2048];
	size_t len;

	len = (size_t)snprintf(sql, sizeof(sql), "SELECT count(*) FROM COMPOSITE_EVENTS e WHERE 1");
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(
		    sql + len, sizeof(sql) - len,
		    " AND (SELECT s.value FROM SAMPLING_CALLCHAINS c JOIN StringIds s "
		    "ON s.id = c.symbol WHERE c.id = e.id AND c.stackDepth = %d) = "
		    "'%s'",
		    i, syms[i]);
	return tu_query_int(db, sql);
}

static long long samples(const char *db)
{
	return tu_query_int(db, "SELECT count(*) FROM COMPOSITE_EVENTS");
}

static long long leaf(const char *db, const char *sym)
{
	return tu_query_intf(db,
			     "SELECT count(*) FROM SAMPLING_CALLCHAINS c JOIN StringIds s ON "
			     "s.id = c.symbol WHERE c.stackDepth = 0 AND s.value = '%s'",
			     sym);
}

/* The hot function and its callers, for one unwind method. */
static void check_hot(void **state, const char *bt, int method)
{
	const char *dir = *state;
	const char *extra[] = {"-b", bt, NULL};
	const char *chain[] = {"hot_burn", "hot_middle", "hot_run", "main"};
	char db[PATH_MAX];
	long long n, hot, chained;

	profile(dir, db, extra, "300", NULL);
	n = samples(db);
	hot = leaf(db, "hot_burn");
	chained = stacks_like(db, chain, 4);
	print_message("-b %s: %lld samples, %lld in hot_burn, %lld with its callers\n", bt, n, hot,
		      chained);
	/* 300 ms of CPU time at one sample per ms of CPU time */
	assert_true(n >= 150);
	assert_true(hot * 100 >= n * 80);
	assert_true(chained * 100 >= hot * 90);
	assert_int_equal(
	    tu_query_intf(db,
			  "SELECT count(*) FROM SAMPLING_CALLCHAINS WHERE stackDepth > 0 "
			  "AND unwindMethod != %d AND originalIP IS NOT NULL",
			  method),
	    0);
	/* one process, one thread, cpuCycles 1 and threadState Running as nsys */
	assert_int_equal(tu_query_int(db, "SELECT count(DISTINCT globalTid) FROM COMPOSITE_EVENTS"),
			 1);
	assert_int_equal(tu_query_int(db, "SELECT count(*) FROM COMPOSITE_EVENTS WHERE "
					  "cpuCycles != 1 OR threadState != 1"),
			 0);
	assert_int_equal(tu_query_int(db,
				      "SELECT value = 'true' FROM META_DATA_CAPTURE WHERE "
				      "name = 'LINUX_PERF_OPTIONS:COLLECT_IP_BACKTRACE_SAMPLES'"),
			 1);
	assert_int_equal(tu_query_int(db, "SELECT CAST(value AS INTEGER) FROM META_DATA_EXPORT "
					  "WHERE name = 'GPROF_CPU_SAMPLES'"),
			 n);
	/* the sampler thread's own CPU time, outside the application */
	assert_true(tu_query_int(db, "SELECT CAST(value AS INTEGER) FROM META_DATA_EXPORT WHERE "
				     "name = 'GPROF_SAMPLER_CPU_NS'") > 0);
}

static void test_fp(void **state)
{
	check_hot(state, "fp", 1); /* FramePointer */
}

static void test_dwarf(void **state)
{
	const char *chain[] = {"hot_burn", "hot_middle", "hot_run", "main"};
	char db[PATH_MAX];

	check_hot(state, "dwarf", 7); /* DWARF_DF */
	/* dwarf also unwinds libc (no frame pointers) down to _start */
	tu_pathf(db, *state, "r.db");
	assert_true(tu_query_int(db, "SELECT count(*) FROM SAMPLING_CALLCHAINS c JOIN StringIds s "
				     "ON s.id = c.symbol WHERE s.value = '_start'") *
			100 >=
		    stacks_like(db, chain, 4) * 90);
}

static void test_threads(void **state)
{
	const char *chain[] = {"hot_burn", "hot_middle", "hot_thread"};
	char db[PATH_MAX];

	profile(*state, db, NULL, "200", "threads");
	/* three threads, each with at least half of its 200 ms sampled in hot_burn */
	assert_int_equal(
	    tu_query_int(db, "SELECT count(*) FROM (SELECT e.globalTid FROM "
			     "COMPOSITE_EVENTS e JOIN SAMPLING_CALLCHAINS c ON c.id = e.id "
			     "AND c.stackDepth = 0 JOIN StringIds s ON s.id = c.symbol "
			     "WHERE s.value = 'hot_burn' GROUP BY 1 HAVING count(*) >= 100)"),
	    3);
	assert_true(stacks_like(db, chain, 3) >= 200);
	assert_int_equal(
	    tu_query_int(db, "SELECT count(DISTINCT globalTid >> 24) FROM COMPOSITE_EVENTS"), 1);
}

/* Capture ranges (here --delay 0.4 s): the sampler's events are on only in the range (a
 * dummy event keeps the module maps meanwhile), and nothing outside it is kept: every
 * sample and switch at or after 0.4 s, the stacks still resolved, the count of the
 * samples read the count kept. */
static void test_delay_window(void **state)
{
	const char *extra[] = {"--delay=0.4", NULL};
	const char *chain[] = {"hot_burn", "hot_middle", "hot_run"};
	char db[PATH_MAX];
	long long n, early, resolved;

	profile(*state, db, extra, "900", NULL);
	n = tu_query_int(db, "SELECT count(*) FROM COMPOSITE_EVENTS");
	early = tu_query_int(db, "SELECT count(*) FROM COMPOSITE_EVENTS WHERE start < 400000000");
	resolved = stacks_like(db, chain, 3);
	print_message("--delay 0.4: %lld samples, %lld before 0.4 s, %lld in hot_burn < "
		      "hot_middle < hot_run\n",
		      n, early, resolved);
	assert_true(n >= 200); /* at least 500 ms of CPU time after the delay */
	assert_int_equal(early, 0);
	assert_int_equal(tu_query_int(db, "SELECT count(*) FROM SCHED_EVENTS WHERE start < "
					  "400000000"),
			 0);
	assert_true(resolved * 100 >= n * 90);
	assert_int_equal(tu_query_int(db, "SELECT CAST(value AS INTEGER) FROM META_DATA_EXPORT "
					  "WHERE name = 'GPROF_CPU_SAMPLES'"),
			 n);
}

/* GPROF_LOST_CPU_SAMPLES of a report. */
static long long lost_records(const char *db)
{
	return tu_query_int(db, "SELECT CAST(value AS INTEGER) FROM META_DATA_EXPORT WHERE "
				"name = 'GPROF_LOST_CPU_SAMPLES'");
}

/* profile -b dwarf [--cpuctxsw=none when !switches] cpu_hot 1000 with the test-only knobs
 * `slow_us` and `queue_mb` (NULL: unset); its stderr in err (sizeof tu_run.err). */
static void profile_knobs(const char *dir, char *db, const char *slow_us, const char *queue_mb,
			  int switches, char *err)
{
	const char *ctxsw = switches ? "--cpuctxsw=process-tree" : "--cpuctxsw=none";
	const char *args[] = {"profile", "-t", "none", "-b",   "dwarf", ctxsw,
			      "-o",	 "r",  g_app,  "1000", NULL};

	if (slow_us)
		setenv("GPROF_CLI_SAMPLER_SLOW_US", slow_us, 1);
	if (queue_mb)
		setenv("GPROF_CLI_SAMPLER_QUEUE_MB", queue_mb, 1);
	run_profile(dir, db, args, err);
	unsetenv("GPROF_CLI_SAMPLER_SLOW_US");
	unsetenv("GPROF_CLI_SAMPLER_QUEUE_MB");
}

/* A slow unwinder (3 ms a sample, 3x the rate at which the program's one thread makes
 * them): the reader thread still empties the kernel's rings (4 MiB a CPU, ~490 dwarf
 * samples), the worker's backlog is queued and used fully at the end, with a notice.  Every
 * sample of the program's 1000 ms of CPU time is in the report, none lost.  (Before the
 * reader and the worker were split, the same run lost ~half of them: bench/RESULTS.md,
 * "Issue 15", "The sampler's queue".) */
static void test_slow_unwinder_loses_nothing(void **state)
{
	const char *chain[] = {"hot_burn", "hot_middle", "hot_run", "main"};
	char db[PATH_MAX], *err = malloc(sizeof(((struct tu_run *)0)->err));
	long long n, lost, chained;

	assert_non_null(err);
	profile_knobs(*state, db, "3000", NULL, 1, err);
	n = samples(db);
	lost = lost_records(db);
	chained = stacks_like(db, chain, 4);
	print_message("slow unwinder: %lld samples, %lld lost, %lld with hot_burn's callers\n", n,
		      lost, chained);
	assert_int_equal(lost, 0);
	assert_null(strstr(err, "records lost"));
	/* one sample per ms of the thread's user CPU time: 1000 ms of work, and start-up */
	assert_true(n >= 900 && n <= 1200);
	assert_true(chained * 100 >= n * 80);
	/* ~3 s of backlog after the exit: said, with what was left */
	assert_non_null(strstr(err, "CPU sampling: unwinding the "));
	assert_non_null(strstr(err, "samples still queued"));
	free(err);
}

/* The queue's bound (1 MiB here, ~120 dwarf samples) with the slow unwinder: the samples
 * past it are dropped and counted, the kernel drops none, and the report's samples plus
 * the counted losses are every sample the program's 1000 ms of CPU time made (no
 * context switches: the losses count records, and would count dropped switches too). */
static void test_queue_bound_counts_drops(void **state)
{
	char db[PATH_MAX], *err = malloc(sizeof(((struct tu_run *)0)->err));
	unsigned long long total = 0, ring = 1, queue = 0, unsent = 1;
	const char *w;
	long long n, lost;

	assert_non_null(err);
	profile_knobs(*state, db, "3000", "1", 0, err);
	n = samples(db);
	lost = lost_records(db);
	w = strstr(err, "CPU sampling: ");
	while (w && !strstr(w, "records lost"))
		w = strstr(w + 1, "CPU sampling: ");
	assert_non_null(w);
	assert_int_equal(sscanf(w,
				"CPU sampling: %llu records lost (%llu perf ring buffer full, "
				"%llu sampler queue full), %llu not sent",
				&total, &ring, &queue, &unsent),
			 4);
	print_message("queue of 1 MiB: %lld samples, %lld lost (%llu ring, %llu queue)\n", n, lost,
		      ring, queue);
	assert_int_equal(ring, 0);
	assert_int_equal(unsent, 0);
	assert_true(queue >= 300); /* most of them: the worker takes 1 in 3 */
	assert_int_equal((long long)queue, lost);
	assert_int_equal((long long)total, lost);
	assert_true(n + lost >= 900 && n + lost <= 1200);
	assert_int_equal(tu_query_int(db, "SELECT CAST(value AS INTEGER) FROM META_DATA_EXPORT "
					  "WHERE name = 'GPROF_CPU_SAMPLES'"),
			 n);
	free(err);
}

static void test_fork_child(void **state)
{
	const char *child[] = {"hot_burn", "hot_middle", "hot_child"};
	const char *parent[] = {"hot_burn", "hot_middle", "hot_run"};
	char db[PATH_MAX];

	profile(*state, db, NULL, "200", "fork");
	assert_int_equal(tu_query_int(db, "SELECT count(DISTINCT globalTid >> 24) FROM "
					  "COMPOSITE_EVENTS"),
			 2);
	assert_true(stacks_like(db, child, 3) >= 100);
	assert_true(stacks_like(db, parent, 3) >= 100);
	/* each process's stacks are its own */
	assert_int_equal(
	    tu_query_int(db, "SELECT count(DISTINCT e.globalTid >> 24) FROM "
			     "COMPOSITE_EVENTS e JOIN SAMPLING_CALLCHAINS c ON c.id = e.id "
			     "JOIN StringIds s ON s.id = c.symbol WHERE s.value = "
			     "'hot_child'"),
	    1);
}

static void test_jit_unresolved(void **state)
{
	char db[PATH_MAX];
	long long n, anon;

#if !defined(__x86_64__)
	TU_SKIP("the JIT mode of cpu_hot is x86-64 code");
#endif
	profile(*state, db, NULL, "200", "jit");
	n = samples(db);
	anon = tu_query_int(db, "SELECT count(*) FROM SAMPLING_CALLCHAINS c JOIN StringIds s ON "
				"s.id = c.symbol JOIN StringIds m ON m.id = c.module WHERE "
				"c.stackDepth = 0 AND c.unresolved = 1 AND m.value = '//anon' AND "
				"s.value = printf('0x%x', c.originalIP)");
	print_message("%lld samples, %lld in the JIT code\n", n, anon);
	assert_true(anon * 100 >= n * 80);
}

/* NVIDIA's documented SQLite examples for the sampling tables (Nsight Systems Analysis
 * Guide, "Common SQLite Examples"), run unchanged. */
static const char *const nvidia_queries[] = {
    /* "Thread Summary": CPU utilization per thread */
    "SELECT\n"
    "    globalTid / 0x1000000 % 0x1000000 AS PID,\n"
    "    globalTid % 0x1000000 AS TID,\n"
    "    ROUND(100.0 * SUM(cpuCycles) /\n"
    "            (\n"
    "                SELECT SUM(cpuCycles) FROM COMPOSITE_EVENTS\n"
    "                GROUP BY globalTid / 0x1000000000000 % 0x100\n"
    "            ),\n"
    "        2\n"
    "    ) as CPU_utilization,\n"
    "    (SELECT value FROM StringIds WHERE id =\n"
    "            (\n"
    "                SELECT nameId FROM ThreadNames\n"
    "                WHERE ThreadNames.globalTid = COMPOSITE_EVENTS.globalTid\n"
    "            )\n"
    "    ) as thread_name\n"
    "FROM COMPOSITE_EVENTS\n"
    "GROUP BY globalTid\n"
    "ORDER BY CPU_utilization DESC\n"
    "LIMIT 10;",
    /* "Function Table": the name columns, then self time (bottom-up) and total time
     * (top-down) per function */
    "ALTER TABLE SAMPLING_CALLCHAINS ADD COLUMN symbolName TEXT;\n"
    "UPDATE SAMPLING_CALLCHAINS SET symbolName = (SELECT value FROM StringIds WHERE symbol = "
    "StringIds.id);\n"
    "ALTER TABLE SAMPLING_CALLCHAINS ADD COLUMN moduleName TEXT;\n"
    "UPDATE SAMPLING_CALLCHAINS SET moduleName = (SELECT value FROM StringIds WHERE module = "
    "StringIds.id);",
    "SELECT symbolName, moduleName, ROUND(100.0 * sum(cpuCycles) /\n"
    "    (SELECT SUM(cpuCycles) FROM COMPOSITE_EVENTS), 2) AS selfTimePercentage\n"
    "FROM SAMPLING_CALLCHAINS\n"
    "LEFT JOIN COMPOSITE_EVENTS ON SAMPLING_CALLCHAINS.id == COMPOSITE_EVENTS.id\n"
    "WHERE stackDepth == 0\n"
    "GROUP BY symbol, module\n"
    "ORDER BY selfTimePercentage DESC\n"
    "LIMIT 5;",
    "SELECT symbolName, moduleName, ROUND(100.0 * sum(cpuCycles) /\n"
    "    (SELECT SUM(cpuCycles) FROM COMPOSITE_EVENTS), 2) AS totalTimePercentage\n"
    "FROM SAMPLING_CALLCHAINS\n"
    "LEFT JOIN COMPOSITE_EVENTS ON SAMPLING_CALLCHAINS.id == COMPOSITE_EVENTS.id\n"
    "GROUP BY symbol, module\n"
    "ORDER BY totalTimePercentage DESC\n"
    "LIMIT 5;",
};

/* The first row's first two columns of sql (text), or "" */
static void first_row(sqlite3 *db, const char *sql, char *a, char *b, double *pct)
{
	sqlite3_stmt *st;

	*a = *b = 0;
	*pct = -1;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(a, 256, "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(b, 256, "%s", (const char *)sqlite3_column_text(st, 1));
		*pct = sqlite3_column_double(st, 2);
	}
	sqlite3_finalize(st);
}

static void test_nvidia_queries(void **state)
{
	char path[PATH_MAX], a[256], b[256];
	sqlite3 *db;
	double pct;

	profile(*state, path, NULL, "300", NULL);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	/* Thread Summary: the one thread has all of the CPU time */
	first_row(db, nvidia_queries[0], a, b, &pct);
	assert_true(pct > 99.9);
	assert_int_equal(sqlite3_exec(db, nvidia_queries[1], NULL, NULL, NULL), SQLITE_OK);
	/* bottom-up: hot_burn first, >= 80 % self time, in cpu_hot */
	first_row(db, nvidia_queries[2], a, b, &pct);
	print_message("self: %s %s %.2f\n", a, b, pct);
	assert_string_equal(a, "hot_burn");
	assert_non_null(strstr(b, "cpu_hot"));
	assert_true(pct >= 80);
	/* top-down: main's total time covers hot_burn's */
	first_row(db, nvidia_queries[3], a, b, &pct);
	assert_true(pct >= 80);
	sqlite3_close(db);
}

/* Our tables have the columns, in order, of nsys's export (shared/fixtures). */
static void test_nsys_columns(void **state)
{
	static const char *const tables[] = {"COMPOSITE_EVENTS", "SAMPLING_CALLCHAINS",
					     "SCHED_EVENTS"};
	char db[PATH_MAX], fx[PATH_MAX];

	tu_fixture(fx, "nsys-2025.3-launchbench.sqlite");
	profile(*state, db, NULL, "100", "sleep");
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		char sql[256];
		sqlite3 *d;
		sqlite3_stmt *st;
		char ours[1024] = "", theirs[1024] = "";

		snprintf(
		    sql, sizeof(sql),
		    "SELECT group_concat(name || ' ' || type || ' ' || \"notnull\" || ' ' || pk, "
		    "', ') FROM pragma_table_info('%s')",
		    tables[i]);
		for (int k = 0; k < 2; k++) {
			assert_int_equal(
			    sqlite3_open_v2(k ? fx : db, &d, SQLITE_OPEN_READONLY, NULL),
			    SQLITE_OK);
			assert_int_equal(sqlite3_prepare_v2(d, sql, -1, &st, NULL), SQLITE_OK);
			assert_int_equal(sqlite3_step(st), SQLITE_ROW);
			snprintf(k ? theirs : ours, sizeof(ours), "%s",
				 (const char *)sqlite3_column_text(st, 0));
			sqlite3_finalize(st);
			sqlite3_close(d);
		}
		assert_string_equal(ours, theirs);
	}
}

/* Context switches: SCHED_EVENTS's switch-outs of the program against the kernel's own
 * count, `perf stat -e context-switches` (also counted from the exec, every thread) on a
 * run of the same program.  Both count every switch-out of the program's threads: its 300
 * voluntary ones (nanosleep) and the involuntary ones (preemption), which vary from run to
 * run with the machine's load; hence the tolerance: 10 % + 10 of the larger count.  Each
 * switch-out is followed by a switch-in (the last one's, at exit, excepted). */
static void test_cpuctxsw_vs_perf_stat(void **state)
{
	char db[PATH_MAX], cmd[PATH_MAX * 2 + 64], buf[256] = "";
	long long ours, outs_in, perf = -1, diff, tol;
	FILE *p;

	profile(*state, db, NULL, "300", "naps");
	ours = tu_query_int(db, "SELECT count(*) FROM SCHED_EVENTS WHERE isSchedIn = 0");
	outs_in = tu_query_int(db, "SELECT count(*) FROM SCHED_EVENTS WHERE isSchedIn = 1");
	snprintf(cmd, sizeof(cmd),
		 "perf stat -x, -e context-switches -- '%s' 300 naps 2>&1 >/dev/null", g_app);
	p = popen(cmd, "r");
	while (p && fgets(buf, sizeof(buf), p))
		if (strstr(buf, "context-switches") && buf[0] >= '0' && buf[0] <= '9')
			perf = atoll(buf);
	if (p)
		pclose(p);
	if (perf < 0)
		TU_SKIP("perf stat -e context-switches does not run here");
	diff = ours > perf ? ours - perf : perf - ours;
	tol = (ours > perf ? ours : perf) / 10 + 10;
	print_message("switch-outs: SCHED_EVENTS %lld (ins %lld), perf stat %lld\n", ours, outs_in,
		      perf);
	/* (a sleep whose timer has already expired when the thread would block returns
	 * without a switch: a few of the 300 may have none) */
	assert_true(ours >= 290 && perf >= 290);
	assert_true(diff <= tol);
	assert_true(outs_in >= ours - 2 && outs_in <= ours + 2);
	/* the thread's last switch-out is nsys's Terminated (5); the others 0 */
	assert_int_equal(
	    tu_query_int(db, "SELECT count(*) FROM SCHED_EVENTS WHERE threadState = 5"), 1);
	assert_int_equal(tu_query_int(db, "SELECT count(*) FROM SCHED_EVENTS WHERE threadState "
					  "NOT IN (0, 5) OR threadBlock IS NOT NULL"),
			 0);
}

/* NVIDIA's "Backtraces for OSRT Ranges" (Common SQLite Examples), run unchanged but for the
 * id of the range: the name columns, then one range's stack (a printf format: %% is %) */
static const char *const nvidia_osrt_names =
    "ALTER TABLE OSRT_API ADD COLUMN name TEXT;\n"
    "UPDATE OSRT_API SET name = (SELECT value FROM StringIds WHERE OSRT_API.nameId = "
    "StringIds.id);\n"
    "ALTER TABLE OSRT_CALLCHAINS ADD COLUMN symbolName TEXT;\n"
    "UPDATE OSRT_CALLCHAINS SET symbolName = (SELECT value FROM StringIds WHERE symbol = "
    "StringIds.id);\n"
    "ALTER TABLE OSRT_CALLCHAINS ADD COLUMN moduleName TEXT;\n"
    "UPDATE OSRT_CALLCHAINS SET moduleName = (SELECT value FROM StringIds WHERE module = "
    "StringIds.id);";
static const char *const nvidia_osrt_stack =
    "SELECT globalTid / 0x1000000 %% 0x1000000 AS PID, globalTid %% 0x1000000 AS TID,\n"
    "    start, end, name, callchainId, stackDepth, symbolName, moduleName\n"
    "FROM OSRT_API LEFT JOIN OSRT_CALLCHAINS ON callchainId == OSRT_CALLCHAINS.id\n"
    "WHERE OSRT_API.rowid == %lld\n"
    "ORDER BY stackDepth\n"
    "LIMIT 10;";

/* A 200 ms nanosleep (osrt, default --osrt-backtrace-threshold 80 us): its row has a
 * callchain whose frames are nanosleep (libc), hot_sleeper, main, ... */
static void test_osrt_backtrace(void **state)
{
	const char *extra[] = {"-t", "osrt", "-s", "none", NULL};
	const char *want[] = {"nanosleep", "hot_sleeper", "main"};
	char db[PATH_MAX], sql[1024];
	long long row;
	sqlite3 *d;
	sqlite3_stmt *st;
	int depth = 0;

	profile(*state, db, extra, "200", "sleep");
	row = tu_query_int(db, "SELECT o.rowid FROM OSRT_API o JOIN StringIds s ON s.id = o.nameId "
			       "WHERE s.value = 'nanosleep' AND o.end - o.start >= 150000000");
	assert_true(row > 0);
	assert_true(tu_query_intf(db, "SELECT callchainId FROM OSRT_API WHERE rowid = %lld", row) >
		    0);
	/* short calls (under 80 us) have none */
	assert_int_equal(tu_query_int(db, "SELECT count(*) FROM OSRT_API WHERE end - start < "
					  "80000 AND callchainId != 0"),
			 0);
	assert_int_equal(sqlite3_open(db, &d), SQLITE_OK);
	assert_int_equal(sqlite3_exec(d, nvidia_osrt_names, NULL, NULL, NULL), SQLITE_OK);
	snprintf(sql, sizeof(sql), nvidia_osrt_stack, row);
	assert_int_equal(sqlite3_prepare_v2(d, sql, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW && depth < 3) {
		const char *sym = (const char *)sqlite3_column_text(st, 7);

		print_message("  %d %s %s\n", sqlite3_column_int(st, 6), sym,
			      (const char *)sqlite3_column_text(st, 8));
		assert_int_equal(sqlite3_column_int(st, 6), depth);
		assert_non_null(sym);
		/* frame 0: libc's nanosleep (glibc may name it __nanosleep) */
		assert_non_null(strstr(sym, want[depth]));
		depth++;
	}
	assert_int_equal(depth, 3);
	sqlite3_finalize(st);
	sqlite3_close(d);
}

/* Python frames: python3 (3.11 or 3.12) tests/programs/py_hot.py, 300 ms in py_burn's loop */
static void test_python_frames(void **state)
{
	char db[PATH_MAX], py[PATH_MAX + 32], ver[64] = "";
	const char *args[] = {"profile", "-t", "none",	  "--python-sampling=true",
			      "-o",	 "r",  "python3", py,
			      "300",	 NULL};
	struct tu_run *r = malloc(sizeof(*r));
	FILE *p = popen("python3 -c 'import sys; print(\"%d.%d\" % sys.version_info[:2])' "
			"2>/dev/null",
			"r");
	long long n, burn, chained, interleaved, unread, missing;
	const char *src = getenv("GPROF_SRCDIR");

	assert_non_null(r);
	if (p) {
		if (!fgets(ver, sizeof(ver), p))
			ver[0] = 0;
		pclose(p);
	}
	if (strcmp(ver, "3.11\n") && strcmp(ver, "3.12\n")) {
		free(r);
		TU_SKIP("python3 is not CPython 3.11 or 3.12 (%s)", ver[0] ? ver : "none");
	}
	snprintf(db, sizeof(db), "%s/tests/programs/py_hot.py", src && *src ? src : ".");
	if (!realpath(db, py)) /* (profile runs in the test's folder) */
		snprintf(py, sizeof(py), "%s", db);
	tu_run_in(r, g_cli, *state, args);
	if (strstr(r->err, "CPU sampling and context switches off")) {
		free(r);
		TU_SKIP("perf_event_open is not allowed here");
	}
	tu_assert_status(r, 0);
	free(r);
	tu_pathf(db, *state, "r.db");
	/* the samples of the Python process (the one whose stacks hold py_hot.py) */
	n = tu_query_int(db, "SELECT count(*) FROM COMPOSITE_EVENTS WHERE globalTid IN (SELECT "
			     "e.globalTid FROM COMPOSITE_EVENTS e JOIN SAMPLING_CALLCHAINS c ON "
			     "c.id = e.id JOIN StringIds m ON m.id = c.module WHERE m.value LIKE "
			     "'%py_hot.py')");
	burn =
	    tu_query_int(db, "SELECT count(DISTINCT c.id) FROM SAMPLING_CALLCHAINS c JOIN "
			     "StringIds s ON s.id = c.symbol JOIN StringIds m ON m.id = c.module "
			     "WHERE s.value LIKE 'py_burn (py_hot.py:%)' AND m.value LIKE "
			     "'%/py_hot.py'");
	/* py_burn, then py_middle, then main further out */
	chained = tu_query_int(
	    db, "SELECT count(*) FROM (SELECT c.id, min(CASE WHEN s.value LIKE 'py_burn (%' THEN "
		"c.stackDepth END) AS b, min(CASE WHEN s.value LIKE 'py_middle (%' THEN "
		"c.stackDepth END) AS m, min(CASE WHEN s.value LIKE 'main (py_hot.py:%' THEN "
		"c.stackDepth END) AS a FROM SAMPLING_CALLCHAINS c JOIN StringIds s ON s.id = "
		"c.symbol GROUP BY c.id) WHERE b < m AND m < a");
	/* interleaved: the native _PyEval_EvalFrameDefault that runs them comes after them */
	interleaved = tu_query_int(
	    db, "SELECT count(*) FROM (SELECT c.id, max(CASE WHEN s.value LIKE '%(py_hot.py:%' "
		"THEN c.stackDepth END) AS py, max(CASE WHEN s.value = '_PyEval_EvalFrameDefault' "
		"THEN c.stackDepth END) AS ev FROM SAMPLING_CALLCHAINS c JOIN StringIds s ON s.id "
		"= c.symbol GROUP BY c.id) WHERE py < ev");
	print_message("python: %lld samples, %lld in py_burn, %lld with its callers, %lld "
		      "interleaved\n",
		      n, burn, chained, interleaved);
	/* the frames of samples the sampler reached after the process ended are not there
	 * (GPROF_PYTHON_FRAMES_UNREAD; many on a loaded machine): the checks are on those read,
	 * and every missing one is counted */
	unread = tu_query_int(db, "SELECT CAST(value AS INTEGER) FROM META_DATA_EXPORT WHERE name "
				  "= 'GPROF_PYTHON_FRAMES_UNREAD'");
	/* samples whose native stack runs the script (after the interpreter's start-up, whose
	 * frozen importlib frames are not py_hot.py's) and that have none of its frames: each
	 * one counted */
	missing = tu_query_int(
	    db, "SELECT count(*) FROM (SELECT c.id, max(s.value LIKE '%(py_hot.py:%') AS py, "
		"max(s.value = '_PyRun_SimpleFileObject') AS script, max(s.value = "
		"'_PyEval_EvalFrameDefault') AS ev FROM SAMPLING_CALLCHAINS c JOIN StringIds s ON "
		"s.id = c.symbol GROUP BY c.id) WHERE script AND ev AND NOT py");
	print_message("python: %lld samples without their Python frames (unread), %lld of the "
		      "script's without py_hot.py frames\n",
		      unread, missing);
	assert_true(n >= 150);
	assert_true(interleaved >= 30);
	assert_true(burn * 100 >= interleaved * 60);
	assert_true(chained * 100 >= burn * 90);
	assert_true(missing <= unread);
}

/* export --type folded: one line per (thread, stack), root first, counts adding up to the
 * samples; the stats reports' flat and bottom-up tables per thread */
static void test_folded_and_stats(void **state)
{
	const char *dir = *state;
	char db[PATH_MAX], out[PATH_MAX + 16], *text, *line, *save = NULL;
	struct tu_run *r = malloc(sizeof(*r));
	long long sum = 0, n, threads = 0, mainline = 0;

	assert_non_null(r);
	profile(dir, db, NULL, "200", "threads");
	snprintf(out, sizeof(out), "%s/r.folded", dir);
	{
		const char *args[] = {"export", "--type", "folded", db, NULL};

		tu_run_in(r, g_cli, dir, args);
		tu_assert_status(r, 0);
	}
	text = tu_slurp(out, NULL);
	assert_non_null(text);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *sp = strrchr(line, ' ');

		assert_non_null(sp);
		n = atoll(sp + 1);
		assert_true(n > 0);
		sum += n;
		if (strstr(line, ";hot_thread;hot_middle;hot_burn ") && n >= 100)
			threads++;
		if (strstr(line, ";_start;__libc_start_main;") &&
		    strstr(line, ";main;hot_run;hot_middle;hot_burn ") && n >= 100)
			mainline++;
		assert_non_null(strncmp(line, "pid ", 4) ? strstr(line, " (") : line);
	}
	free(text);
	assert_int_equal(sum, samples(db));
	assert_int_equal(threads, 2);
	assert_int_equal(mainline, 1);
	{ /* flat: every thread's first function is hot_burn, >= 80 % self */
		const char *args[] = {"stats", "-r", "cpu_func_sum", "-f", "csv", "-q", db, NULL};
		int rows = 0;

		tu_run_in(r, g_cli, dir, args);
		tu_assert_status(r, 0);
		assert_non_null(strstr(r->out, "PID,TID,Self (%),Total (%),Self Samples,Total "
					       "Samples,Function,Module"));
		for (line = strtok_r(r->out, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			double self = 0;

			if (strstr(line, ",hot_burn,") &&
			    sscanf(line, "%*[^,],%*[^,],%lf", &self) == 1 && self >= 80)
				rows++;
		}
		assert_int_equal(rows, 3);
	}
	{ /* bottom-up: hot_burn with its callers, innermost first */
		const char *args[] = {"stats", "-r", "cpu_func_bottomup", "-f", "csv", "-q",
				      db,      NULL};

		tu_run_in(r, g_cli, dir, args);
		tu_assert_status(r, 0);
		assert_non_null(strstr(r->out, ",hot_burn,hot_middle <- hot_thread <- "));
		assert_non_null(strstr(r->out, ",hot_burn,hot_middle <- hot_run <- main <- "));
	}
	{ /* a report without samples: one error, exit 3, nothing written */
		const char *extra[] = {"-s", "none", NULL};
		const char *args[] = {"export", "--type", "folded", "-f", db, NULL};

		unlink(db);
		unlink(out);
		profile(dir, db, extra, "10", NULL);
		tu_run_in(r, g_cli, dir, args);
		tu_assert_status(r, 3);
		tu_assert_one_error(r, "no CPU samples");
		assert_false(tu_exists(out));
	}
	free(r);
}

/* The samples in the timeline export: perfetto (a PerfSample per sample, its callstack
 * interned outermost first: decoded with protoc against tests/proto/perfetto_subset.proto)
 * and chrome-json (a "P" event per sample whose "sf" leads through "stackFrames" from the
 * leaf to the outermost frame); in both, most stacks end main, hot_run, hot_middle,
 * hot_burn, as the report's. */
#define MAXIDS 4096

static void test_timeline_samples(void **state)
{
	const char *dir = *state, *src = getenv("GPROF_SRCDIR");
	char db[PATH_MAX], cmd[4 * PATH_MAX], line[1024], block[64] = "";
	static long long fn_of_frame[MAXIDS], stack_len[MAXIDS], stack_frames[MAXIDS][64];
	static char fname[MAXIDS][64];
	long long iid = 0, fid = 0, nsamples = 0, hot = 0, total;
	struct tu_run *r = malloc(sizeof(*r));
	FILE *f;

	assert_non_null(r);
	profile(dir, db, NULL, "300", NULL);
	total = samples(db);
	assert_true(total >= 100);
	if (system("protoc --version >/dev/null 2>&1") == 0) {
		const char *args[] = {"export", "-t", "perfetto", "-o", "s.pftrace", db, NULL};

		tu_run_in(r, g_cli, dir, args);
		tu_assert_status(r, 0);
		snprintf(cmd, sizeof(cmd),
			 "protoc --decode=gprof.perfetto.Trace -I '%s/tests/proto' "
			 "'%s/tests/proto/perfetto_subset.proto' < '%s/s.pftrace' > '%s/s.txt'",
			 src && *src ? src : ".", src && *src ? src : ".", dir, dir);
		assert_int_equal(system(cmd), 0);
		snprintf(cmd, sizeof(cmd), "%s/s.txt", dir);
		f = fopen(cmd, "r");
		assert_non_null(f);
		while (fgets(line, sizeof(line), f)) {
			char *p = line, *colon;

			while (*p == ' ')
				p++;
			if (*p == '}') {
				block[0] = '\0';
				continue;
			}
			if (!(colon = strchr(p, ':'))) { /* "name {" */
				snprintf(block, sizeof(block), "%.*s", (int)strcspn(p, " {"), p);
				continue;
			}
			*colon = '\0';
			if (!strcmp(p, "iid"))
				iid = atoll(colon + 1);
			if (!strcmp(block, "function_names") && !strcmp(p, "str") && iid > 0 &&
			    iid < MAXIDS)
				sscanf(colon + 1, " \"%63[^\"]", fname[iid]);
			else if (!strcmp(block, "frames") && !strcmp(p, "function_name_id") &&
				 iid > 0 && iid < MAXIDS)
				fn_of_frame[iid] = atoll(colon + 1);
			else if (!strcmp(block, "callstacks") && !strcmp(p, "frame_ids") &&
				 iid > 0 && iid < MAXIDS && stack_len[iid] < 64)
				stack_frames[iid][stack_len[iid]++] = atoll(colon + 1);
			else if (!strcmp(block, "perf_sample") && !strcmp(p, "callstack_iid")) {
				long long cs = atoll(colon + 1), n;

				nsamples++;
				assert_true(cs > 0 && cs < MAXIDS);
				n = stack_len[cs];
				assert_true(n > 0); /* interned before (or in) its first use */
				fid = stack_frames[cs][n - 1];
				if (n >= 4 && !strcmp(fname[fn_of_frame[fid]], "hot_burn") &&
				    !strcmp(fname[fn_of_frame[stack_frames[cs][n - 2]]],
					    "hot_middle") &&
				    !strcmp(fname[fn_of_frame[stack_frames[cs][n - 3]]],
					    "hot_run") &&
				    !strcmp(fname[fn_of_frame[stack_frames[cs][n - 4]]], "main"))
					hot++;
			}
		}
		fclose(f);
		assert_int_equal(nsamples, total);
		assert_true(hot * 10 >= total * 8); /* >= 80 % in hot_burn, callers in order */
	}
	{ /* chrome-json, checked with python3's json module */
		const char *args[] = {"export", "-t", "chrome-json", "-o", "s.json", db, NULL};

		tu_run_in(r, g_cli, dir, args);
		tu_assert_status(r, 0);
		snprintf(cmd, sizeof(cmd),
			 "python3 -c 'import json,sys\n"
			 "d=json.load(open(sys.argv[1]))\n"
			 "P=[e for e in d[\"traceEvents\"] if e[\"ph\"]==\"P\"]\n"
			 "sf=d[\"stackFrames\"]\n"
			 "hot=0\n"
			 "for e in P:\n"
			 "  c=[];n=str(e[\"sf\"])\n"
			 "  while n: c.append(sf[n][\"name\"]);n=sf[n].get(\"parent\")\n"
			 "  assert c[0]==e[\"name\"]\n"
			 "  hot+=c[:4]==[\"hot_burn\",\"hot_middle\",\"hot_run\",\"main\"]\n"
			 "print(len(P),hot)' '%s/s.json' > '%s/s.json.txt'",
			 dir, dir);
		assert_int_equal(system(cmd), 0);
		snprintf(cmd, sizeof(cmd), "%s/s.json.txt", dir);
		tu_read_file(cmd, line, sizeof(line));
		assert_int_equal(sscanf(line, "%lld %lld", &nsamples, &hot), 2);
		assert_int_equal(nsamples, total);
		assert_true(hot * 10 >= total * 8);
	}
	free(r);
}

static void test_none(void **state)
{
	const char *extra[] = {"-s", "none", "--cpuctxsw=none", NULL};
	char db[PATH_MAX];

	profile(*state, db, extra, "50", NULL);
	assert_int_equal(
	    tu_query_int(db, "SELECT count(*) FROM sqlite_master WHERE name IN "
			     "('COMPOSITE_EVENTS', 'SAMPLING_CALLCHAINS', 'SCHED_EVENTS')"),
	    0);
	assert_int_equal(tu_query_int(db, "SELECT value = 'false' FROM META_DATA_CAPTURE WHERE "
					  "name = 'LINUX_PERF_OPTIONS:COLLECT_CPU_CTXSW_TRACE'"),
			 1);
}

static void test_bad_values(void **state)
{
	static const char *const bad[][3] = {
	    {"-s", "system-wide", "--sample"},
	    {"--sampling-period", "1000", "--sampling-period"},
	    {"--sampling-frequency", "9000", "--sampling-frequency"},
	    {"-b", "stack", "--backtrace"},
	    {"--cpuctxsw", "all", "--cpuctxsw"}};
	struct tu_run *r = malloc(sizeof(*r));

	assert_non_null(r);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *args[] = {"profile", bad[i][0], bad[i][1], g_app, "1", NULL};

		tu_run_in(r, g_cli, *state, args);
		tu_assert_status(r, 2);
		tu_assert_one_error(r, bad[i][2]);
		assert_int_equal(tu_count_entries(*state), 0);
	}
	free(r);
}

int main(void)
{
	const char *cli = getenv("GPROF_CLI"), *build = getenv("BUILD");
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_fp, tu_setup_tmpdir, tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_dwarf, tu_setup_tmpdir, tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_threads, tu_setup_tmpdir, tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_delay_window, tu_setup_tmpdir, tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_slow_unwinder_loses_nothing, tu_setup_tmpdir,
					    tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_queue_bound_counts_drops, tu_setup_tmpdir,
					    tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_fork_child, tu_setup_tmpdir, tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_jit_unresolved, tu_setup_tmpdir,
					    tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_nvidia_queries, tu_setup_tmpdir,
					    tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_nsys_columns, tu_setup_tmpdir, tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_cpuctxsw_vs_perf_stat, tu_setup_tmpdir,
					    tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_osrt_backtrace, tu_setup_tmpdir,
					    tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_python_frames, tu_setup_tmpdir,
					    tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_folded_and_stats, tu_setup_tmpdir,
					    tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_timeline_samples, tu_setup_tmpdir,
					    tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_none, tu_setup_tmpdir, tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_bad_values, tu_setup_tmpdir, tu_teardown_tmpdir),
	};

	snprintf(g_cli, sizeof(g_cli), "%s", cli && *cli ? cli : "build/bin/gprof-cli");
	snprintf(g_app, sizeof(g_app), "%s/tests/programs/cpu_hot",
		 build && *build ? build : "build");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
