/*
 * test_nvtx.c - end-to-end tests of the nvtx collector and the producer runtime:
 * profile tests/programs/nvtx_app and nvtx_stress with `gprof-cli profile -t nvtx` and
 * check the report (NVTX_EVENTS, ThreadNames, StringIds, PROCESSES, META_DATA_EXPORT)
 * with the SQLite API.  The expected numbers are documented in nvtx_app.c.
 *
 * Environment: GPROF_CLI (absolute path of the binary), BUILD (build dir); defaults
 * build/bin/gprof-cli and build.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char g_tmp[256];
static char g_cli[PATH_MAX];
static char g_build[1024];
static char *g_profile_opt; /* one more profile option (before -o), or NULL */

/* ---- helpers ------------------------------------------------------------------------- */

/* Run argv (NULL-terminated) with stdout/stderr to /dev/null; returns the exit status,
 * 128+N for signal N. */
static int run(char *const argv[])
{
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void prog_path(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/tests/programs/%s", g_build, name);
}

/* Profile `prog args...` with -t TRACE into $tmp/NAME.db; returns gprof-cli's status
 * and opens the report in *db. */
static int profile(sqlite3 **db, const char *name, const char *trace, const char *prog, ...)
{
	char out[PATH_MAX], exe[PATH_MAX], dbpath[PATH_MAX + 8];
	char *argv[32];
	int n = 0;
	va_list ap;

	snprintf(out, sizeof(out), "%s/%s", g_tmp, name);
	prog_path(exe, sizeof(exe), prog);
	argv[n++] = g_cli;
	argv[n++] = "profile";
	argv[n++] = "-t";
	argv[n++] = (char *)trace;
	if (g_profile_opt)
		argv[n++] = g_profile_opt;
	argv[n++] = "-o";
	argv[n++] = out;
	argv[n++] = exe;
	va_start(ap, prog);
	for (char *a; (a = va_arg(ap, char *)) && n < 31;)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	int rc = run(argv);
	snprintf(dbpath, sizeof(dbpath), "%s.db", out);
	*db = NULL;
	if (sqlite3_open_v2(dbpath, db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close(*db);
		*db = NULL;
	}
	return rc;
}

/* First column of the first row of a query, as an integer (-1 when no row). */
static int64_t q(sqlite3 *db, const char *fmt, ...)
{
	char sql[2048];
	va_list ap;
	sqlite3_stmt *st;
	int64_t v = -1;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		print_error("bad query %s: %s\n", sql, sqlite3_errmsg(db));
		fail();
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Same, as a double. */
static double qd(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	double v = -1;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_double(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int64_t meta(sqlite3 *db, const char *name)
{
	return q(db, "SELECT CAST(value AS INTEGER) FROM META_DATA_EXPORT WHERE name = '%s'", name);
}

/* The text of an event: non-registered `text`, or the registered string via textId. */
#define TXT "COALESCE(e.text, (SELECT value FROM StringIds s WHERE s.id = e.textId))"
/* globalTid of the thread named N. */
#define TID_OF(n)                                                                                  \
	"(SELECT t.globalTid FROM ThreadNames t JOIN StringIds s ON s.id = t.nameId "              \
	"WHERE s.value = '" n "')"

enum { PUSHPOP = 59, STARTEND = 60, MARK = 34, CATEGORY = 33, DCREATE = 75, DDESTROY = 76 };

/* The counts every nvtx_app run must show (nvtx_app.c's header). */
static void check_app_counts(sqlite3 *db, int64_t pushpop)
{
	assert_int_equal(q(db, "SELECT COUNT(*) FROM NVTX_EVENTS WHERE eventType = %d", PUSHPOP),
			 pushpop);
	assert_int_equal(q(db, "SELECT COUNT(*) FROM NVTX_EVENTS WHERE eventType = %d", MARK), 6);
	assert_int_equal(q(db, "SELECT COUNT(*) FROM NVTX_EVENTS WHERE eventType = %d", STARTEND),
			 6);
	assert_int_equal(q(db, "SELECT COUNT(*) FROM NVTX_EVENTS WHERE eventType = %d", CATEGORY),
			 3);
	assert_int_equal(q(db, "SELECT COUNT(*) FROM NVTX_EVENTS WHERE eventType = %d", DCREATE),
			 2);
	assert_int_equal(q(db, "SELECT COUNT(*) FROM NVTX_EVENTS WHERE eventType = %d", DDESTROY),
			 1);
	assert_int_equal(meta(db, "GPROF_LOST_DROPPED_RECORDS"), 0);
	assert_int_equal(meta(db, "GPROF_LOST_FRAMES"), 0);
	assert_int_equal(meta(db, "GPROF_LOST_BAD_FRAMES"), 0);
	assert_int_equal(meta(db, "GPROF_LOST_FAILED_SENDS"), 0);
}

/* ---- nvtx_app ---------------------------------------------------------------------- */

static sqlite3 *g_app; /* the plain nvtx_app report, shared by several tests */

static int app_setup(void **state)
{
	(void)state;
	if (!g_app && profile(&g_app, "app", "nvtx", "nvtx_app", NULL) != 0)
		return -1;
	return g_app ? 0 : -1;
}

static void test_counts(void **state)
{
	(void)state;
	/* main 30 nested + sleep20 + wide + ex-range + open-at-exit; workers 4 x 301 */
	check_app_counts(g_app, 34 + 4 * 301);
	assert_int_equal(q(g_app, "SELECT COUNT(*) FROM PROCESSES"), 1);
}

static void test_nesting(void **state)
{
	(void)state;
	sqlite3 *db = g_app;
	assert_int_equal(q(db, "SELECT COUNT(*) FROM NVTX_EVENTS WHERE text = 'outer'"), 10);
	assert_int_equal(q(db, "SELECT COUNT(*) FROM NVTX_EVENTS WHERE text = 'inner'"), 10);
	/* every inner lies inside a middle, every middle inside an outer, same thread */
	assert_int_equal(q(db,
			   "SELECT COUNT(*) FROM NVTX_EVENTS i WHERE i.text = 'inner' AND "
			   "EXISTS (SELECT 1 FROM NVTX_EVENTS m WHERE m.text = 'middle' AND "
			   "m.globalTid = i.globalTid AND m.start <= i.start AND m.end >= i.end)"),
			 10);
	assert_int_equal(q(db,
			   "SELECT COUNT(*) FROM NVTX_EVENTS m WHERE m.text = 'middle' AND "
			   "EXISTS (SELECT 1 FROM NVTX_EVENTS o WHERE o.text = 'outer' AND "
			   "o.globalTid = m.globalTid AND o.start <= m.start AND o.end >= m.end)"),
			 10);
	/* outers do not overlap each other */
	assert_int_equal(q(db, "SELECT COUNT(*) FROM NVTX_EVENTS a JOIN NVTX_EVENTS b ON "
			       "a.text = 'outer' AND b.text = 'outer' AND a.rowid < b.rowid AND "
			       "a.start < b.end AND b.start < a.end"),
			 0);
	/* per-domain stacks on the workers: domB inside w-default inside domA */
	assert_int_equal(q(db, "SELECT COUNT(*) FROM NVTX_EVENTS b WHERE b.textId = (SELECT id "
			       "FROM StringIds WHERE value = 'reg-b') AND EXISTS (SELECT 1 FROM "
			       "NVTX_EVENTS w WHERE w.text = 'w-default' AND w.globalTid = "
			       "b.globalTid AND w.start <= b.start AND w.end >= b.end)"),
			 400);
}

static void test_names_domains(void **state)
{
	(void)state;
	sqlite3 *db = g_app;
	/* registered strings go to textId, in their domain */
	assert_int_equal(q(db,
			   "SELECT COUNT(*) FROM NVTX_EVENTS e WHERE e.eventType = %d AND "
			   "e.text IS NULL AND " TXT " = 'reg-a' AND e.domainId = (SELECT "
			   "domainId FROM NVTX_EVENTS WHERE eventType = %d AND text = 'domA')",
			   PUSHPOP, DCREATE),
			 400);
	assert_int_equal(q(db,
			   "SELECT COUNT(*) FROM NVTX_EVENTS e WHERE " TXT " = 'reg-b' AND "
			   "e.domainId = (SELECT domainId FROM NVTX_EVENTS WHERE eventType = %d "
			   "AND text = 'domB')",
			   DCREATE),
			 400);
	assert_int_equal(q(db,
			   "SELECT COUNT(DISTINCT domainId) FROM NVTX_EVENTS WHERE "
			   "eventType = %d",
			   DCREATE),
			 2);
	assert_int_equal(q(db,
			   "SELECT COUNT(*) FROM NVTX_EVENTS WHERE eventType = %d AND "
			   "domainId = (SELECT domainId FROM NVTX_EVENTS WHERE eventType = %d "
			   "AND text = 'domB')",
			   DDESTROY, DCREATE),
			 1);
	/* default-domain ranges */
	assert_int_equal(q(db, "SELECT COUNT(*) FROM NVTX_EVENTS WHERE text = 'w-default' AND "
			       "domainId = 0"),
			 400);
	/* categories: names and the domain they belong to */
	assert_int_equal(q(db,
			   "SELECT COUNT(*) FROM NVTX_EVENTS WHERE eventType = %d AND "
			   "((category = 7 AND text = 'cat-seven' AND domainId = 0) OR "
			   "(category = 1 AND text = 'domA-cat1') OR "
			   "(category = 2 AND text = 'domB-cat2'))",
			   CATEGORY),
			 3);
	assert_int_equal(q(db,
			   "SELECT COUNT(*) FROM NVTX_EVENTS WHERE category = 1 AND "
			   "eventType = %d",
			   PUSHPOP),
			 400);
	/* Unicode (nvtxRangePushW) arrives as UTF-8 */
	assert_int_equal(
	    q(db, "SELECT COUNT(*) FROM NVTX_EVENTS WHERE text = 'wide-\xc3\xbc\xc3\xaf'"), 1);
	assert_int_equal(q(db,
			   "SELECT COUNT(*) FROM NVTX_EVENTS WHERE text = 'mark-w' AND "
			   "eventType = %d",
			   MARK),
			 1);
	/* marks: no end, text, domain */
	assert_int_equal(q(db,
			   "SELECT COUNT(*) FROM NVTX_EVENTS WHERE eventType = %d AND end IS "
			   "NULL AND text = 'mark-a'",
			   MARK),
			 3);
	assert_int_equal(q(db,
			   "SELECT COUNT(*) FROM NVTX_EVENTS WHERE eventType = %d AND text = "
			   "'domB-mark' AND domainId = (SELECT domainId FROM NVTX_EVENTS WHERE "
			   "eventType = %d AND text = 'domB')",
			   MARK, DCREATE),
			 1);
}

static void test_attributes(void **state)
{
	(void)state;
	sqlite3 *db = g_app;
	assert_int_equal(q(db, "SELECT color FROM NVTX_EVENTS WHERE text = 'ex-range'"),
			 0xff00ff00);
	assert_int_equal(q(db, "SELECT category FROM NVTX_EVENTS WHERE text = 'ex-range'"), 7);
	assert_int_equal(q(db, "SELECT uint64Value FROM NVTX_EVENTS WHERE text = 'ex-range'"), 42);
	assert_int_equal(
	    q(db, "SELECT COUNT(*) FROM NVTX_EVENTS WHERE text = 'outer' AND "
		  "(color IS NOT NULL OR category IS NOT NULL OR uint64Value IS NOT NULL)"),
	    0);
	assert_true(qd(db, "SELECT doubleValue FROM NVTX_EVENTS WHERE text = 'mark-ex'") == 2.5);
	/* int32 payloads 0..99 on each worker's domB ranges */
	assert_int_equal(q(db, "SELECT SUM(int32Value) FROM NVTX_EVENTS e WHERE " TXT " = 'reg-b'"),
			 4 * 4950);
	assert_int_equal(q(db, "SELECT COUNT(*) FROM NVTX_EVENTS WHERE int32Value IS NOT NULL"),
			 400);
}

static void test_threads(void **state)
{
	(void)state;
	sqlite3 *db = g_app;
	/* the nvtxNameOsThread names are the ones kept */
	assert_int_equal(q(db, "SELECT COUNT(DISTINCT t.globalTid) FROM ThreadNames t JOIN "
			       "StringIds s ON s.id = t.nameId WHERE s.value IN ('nvtx-main', "
			       "'worker-0', 'worker-1', 'worker-2', 'worker-3')"),
			 5);
	const char *w[] = {TID_OF("worker-0"), TID_OF("worker-1"), TID_OF("worker-2"),
			   TID_OF("worker-3")};
	for (int i = 0; i < 4; i++) {
		assert_int_equal(q(db,
				   "SELECT COUNT(*) FROM NVTX_EVENTS WHERE text = 'w-default' "
				   "AND globalTid = %s",
				   w[i]),
				 100);
		assert_int_equal(
		    q(db, "SELECT COUNT(*) FROM NVTX_EVENTS WHERE globalTid = %s", w[i]),
		    301 + 1); /* + its worker-se start/end */
	}
	assert_int_equal(q(db, "SELECT COUNT(*) FROM NVTX_EVENTS WHERE text = 'outer' AND "
			       "globalTid = " TID_OF("nvtx-main")),
			 10);
	/* globalTid encodes the process: all threads belong to the one PROCESSES row */
	assert_int_equal(q(db, "SELECT COUNT(DISTINCT globalTid / 16777216) FROM NVTX_EVENTS"), 1);
	assert_int_equal(q(db, "SELECT COUNT(*) FROM NVTX_EVENTS e JOIN PROCESSES p ON "
			       "e.globalTid / 16777216 = p.globalPid / 16777216"),
			 q(db, "SELECT COUNT(*) FROM NVTX_EVENTS"));
}

static void test_start_end(void **state)
{
	(void)state;
	sqlite3 *db = g_app;
	/* started on the main thread, ended on worker-0 */
	assert_int_equal(q(db,
			   "SELECT COUNT(*) FROM NVTX_EVENTS WHERE text = 'cross-thread' AND "
			   "eventType = %d AND end IS NOT NULL AND end >= start AND "
			   "globalTid = " TID_OF("nvtx-main") " AND endGlobalTid = " TID_OF(
			       "worker-0") " AND globalTid <> endGlobalTid",
			   STARTEND),
			 1);
	assert_int_equal(q(db,
			   "SELECT COUNT(*) FROM NVTX_EVENTS WHERE text = 'worker-se' AND "
			   "eventType = %d AND globalTid = endGlobalTid AND end >= start",
			   STARTEND),
			 4);
	assert_int_equal(q(db,
			   "SELECT COUNT(DISTINCT rangeId) FROM NVTX_EVENTS WHERE eventType "
			   "= %d",
			   STARTEND),
			 6);
}

/* NVTX extended payloads (NCCL's NVTX3_FUNC_WITH_PARAMS shape): tests/programs/nccl_like.c
 * registers NCCL's schemas and reduction enum in domain "NCCL" and pushes its ranges with
 * payloads; "extra" adds the other entry kinds and the cases that are counted.  The exact
 * jsonText of each range, the counters and the warnings. */
#define COMM_S "17293822569102704642" /* nccl_like.c COMM, above 2^63: exact */
#define JS_INIT                                                                                    \
	"{\"NCCL communicator ID\":" COMM_S ",\"No. of ranks\":3,\"Rank\":2,\"CUDA device\":2}"
#define JS_ALLREDUCE(bytes, op)                                                                    \
	"{\"NCCL communicator ID\":" COMM_S ",\"Message size [bytes]\":" bytes                     \
	",\"Reduction operation\":\"" op "\"}"
#define JS_BCAST(bytes, root)                                                                      \
	"{\"NCCL communicator ID\":" COMM_S ",\"Message size [bytes]\":" bytes ",\"Root\":" root "}"
#define JS_MIXED "{\"i8\":-5,\"u16\":65535,\"dbl\":0.25,\"name\":\"ring\",\"op\":7,\"arr\":[1,2,3]}"

static void test_ext_payloads(void **state)
{
	sqlite3 *db;
	int64_t nccl;

	(void)state;
	setenv("RANK", "2", 1);
	setenv("WORLD_SIZE", "3", 1);
	assert_int_equal(profile(&db, "payloads", "nvtx", "nccl_like", "3", "100", "extra", NULL),
			 0);
	unsetenv("RANK");
	unsetenv("WORLD_SIZE");
	assert_non_null(db);
	nccl = q(db, "SELECT domainId FROM NVTX_EVENTS WHERE eventType = 75 AND text = 'NCCL'");
	assert_true(nccl > 0);
	/* NCCL's ranges: registered names, domain NCCL, each with its payload */
	assert_int_equal(q(db,
			   "SELECT COUNT(*) FROM NVTX_EVENTS e WHERE " TXT " = 'ncclCommInitRank' "
			   "AND eventType = 59 AND domainId = %lld AND textId IS NOT NULL AND "
			   "jsonText = '" JS_INIT "'",
			   (long long)nccl),
			 1);
	assert_int_equal(q(db,
			   "SELECT COUNT(*) FROM NVTX_EVENTS e WHERE " TXT " = 'ncclAllReduce' "
			   "AND eventType = 59 AND domainId = %lld AND jsonText = '" JS_ALLREDUCE(
			       "1048576", "Sum") "'",
			   (long long)nccl),
			 3);
	assert_int_equal(
	    q(db,
	      "SELECT COUNT(*) FROM NVTX_EVENTS e WHERE " TXT " = 'ncclBroadcast' "
	      "AND eventType = 59 AND domainId = %lld AND jsonText = '" JS_BCAST("4096", "0") "'",
	      (long long)nccl),
	    3);
	/* the numbers as SQLite reads them: json_extract and the exact id */
	assert_int_equal(q(db, "SELECT SUM(json_extract(jsonText, '$.\"Message size [bytes]\"')) "
			       "FROM NVTX_EVENTS e WHERE " TXT " = 'ncclAllReduce'"),
			 3 * 1048576);
	assert_int_equal(q(db, "SELECT COUNT(*) FROM NVTX_EVENTS WHERE jsonText -> "
			       "'$.\"NCCL communicator ID\"' = '" COMM_S "'"),
			 1 + 3 + 3 + 2);
	/* the other kinds: natural offsets, int8, uint16, double, char[8], an enum value
	 * the enum does not name, a fixed-size array, a hidden entry left out */
	assert_int_equal(q(db, "SELECT COUNT(*) FROM NVTX_EVENTS e WHERE " TXT " = 'mixed' AND "
			       "eventType = 59 AND jsonText = '" JS_MIXED "'"),
			 1);
	/* a start/end range and a mark (nvtxMarkPayload: no message) */
	assert_int_equal(
	    q(db, "SELECT COUNT(*) FROM NVTX_EVENTS WHERE text = 'startend' AND "
		  "eventType = 60 AND end >= start AND jsonText = '" JS_ALLREDUCE("64", "Max") "'"),
	    1);
	assert_int_equal(
	    q(db,
	      "SELECT COUNT(*) FROM NVTX_EVENTS WHERE eventType = 34 AND text IS NULL "
	      "AND textId IS NULL AND domainId = %lld AND jsonText = '" JS_BCAST("8", "2") "'",
	      (long long)nccl),
	    1);
	/* unknown schema, union schema (not decoded), 300 bytes (not copied): the ranges
	 * are there, without jsonText */
	assert_int_equal(q(db,
			   "SELECT COUNT(*) FROM NVTX_EVENTS e WHERE " TXT " IN ('unknown', 'big', "
			   "'union') AND eventType = 59 AND jsonText IS NULL AND end >= start"),
			 3);
	/* nothing else has a payload, and no other column took it */
	assert_int_equal(q(db, "SELECT COUNT(*) FROM NVTX_EVENTS WHERE jsonText IS NOT NULL"),
			 1 + 3 + 3 + 3);
	assert_int_equal(q(db, "SELECT COUNT(*) FROM NVTX_EVENTS WHERE jsonTextId IS NOT NULL OR "
			       "binaryData IS NOT NULL OR uint64Value IS NOT NULL"),
			 0);
	assert_int_equal(meta(db, "GPROF_NVTX_PAYLOADS"), 1 + 3 + 3 + 3);
	assert_int_equal(meta(db, "GPROF_NVTX_PAYLOADS_UNDECODED"), 2);
	assert_int_equal(meta(db, "GPROF_NVTX_PAYLOADS_UNSENT"), 1);
	/* one warning each (said at the end of profile too) */
	assert_int_equal(q(db, "SELECT COUNT(*) FROM DIAGNOSTIC_EVENT WHERE severity = 2 AND (text "
			       "LIKE '2 NVTX extended payloads not decoded:%%' OR text LIKE "
			       "'1 NVTX extended payloads not recorded:%%')"),
			 2);
	sqlite3_close(db);
}

/* A report of NVTX without payloads says so: the counters are there, at 0. */
static void test_no_payloads(void **state)
{
	(void)state;
	assert_int_equal(meta(g_app, "GPROF_NVTX_PAYLOADS"), 0);
	assert_int_equal(meta(g_app, "GPROF_NVTX_PAYLOADS_UNDECODED"), 0);
	assert_int_equal(meta(g_app, "GPROF_NVTX_PAYLOADS_UNSENT"), 0);
	assert_int_equal(q(g_app, "SELECT COUNT(*) FROM NVTX_EVENTS WHERE jsonText IS NOT NULL"),
			 0);
}

static void test_durations(void **state)
{
	(void)state;
	sqlite3 *db = g_app;
	int64_t d = q(db, "SELECT end - start FROM NVTX_EVENTS WHERE text = 'sleep20'");
	assert_true(d >= 20000000);
	assert_true(d < 2000000000);
	assert_int_equal(q(db,
			   "SELECT COUNT(*) FROM NVTX_EVENTS WHERE eventType = %d AND end IS "
			   "NOT NULL AND end < start",
			   PUSHPOP),
			 0);
	/* report time is relative to the session start */
	assert_int_equal(q(db, "SELECT COUNT(*) FROM NVTX_EVENTS WHERE start < 0"), 0);
}

static void test_open_at_exit(void **state)
{
	(void)state;
	sqlite3 *db = g_app;
	assert_int_equal(q(db,
			   "SELECT COUNT(*) FROM NVTX_EVENTS WHERE text = 'open-at-exit' AND "
			   "end IS NULL AND eventType = %d AND globalTid = " TID_OF("nvtx-main"),
			   PUSHPOP),
			 1);
	assert_int_equal(q(db,
			   "SELECT COUNT(*) FROM NVTX_EVENTS WHERE text = "
			   "'open-at-thread-exit' AND end IS NULL AND eventType = %d",
			   PUSHPOP),
			 4);
	assert_int_equal(q(db, "SELECT COUNT(DISTINCT globalTid) FROM NVTX_EVENTS WHERE text = "
			       "'open-at-thread-exit'"),
			 4);
	assert_int_equal(q(db,
			   "SELECT COUNT(*) FROM NVTX_EVENTS WHERE text = 'never-ended' AND "
			   "end IS NULL AND eventType = %d",
			   STARTEND),
			 1);
	assert_int_equal(q(db,
			   "SELECT COUNT(*) FROM NVTX_EVENTS WHERE end IS NULL AND eventType "
			   "IN (%d, %d)",
			   PUSHPOP, STARTEND),
			 6);
}

/* ---- variants ------------------------------------------------------------------------ */

/* A forked child that never execs: by default (nsys: --trace-fork-before-exec=false) it is
 * not traced; with --trace-fork-before-exec=true it is a process of its own. */
static void test_fork_child(void **state)
{
	(void)state;
	sqlite3 *db;
	assert_int_equal(profile(&db, "fork-default", "nvtx", "nvtx_app", "--fork", NULL), 0);
	assert_non_null(db);
	assert_int_equal(q(db, "SELECT value = 'false' FROM META_DATA_CAPTURE WHERE name = "
			       "'PROCESS_0:TRACE_FORK_BEFORE_EXEC'"),
			 1);
	assert_int_equal(q(db, "SELECT COUNT(*) FROM NVTX_EVENTS WHERE text = 'child-range'"), 0);
	assert_int_equal(q(db, "SELECT COUNT(*) FROM PROCESSES"), 1);
	check_app_counts(db, 34 + 4 * 301);
	sqlite3_close(db);

	g_profile_opt = "--trace-fork-before-exec=true";
	int rc = profile(&db, "fork", "nvtx", "nvtx_app", "--fork", NULL);
	g_profile_opt = NULL;
	assert_int_equal(rc, 0);
	assert_non_null(db);
	check_app_counts(db, 34 + 4 * 301 + 10);
	assert_int_equal(q(db, "SELECT COUNT(*) FROM PROCESSES"), 2);
	/* the child's ranges carry the child's pid, on one thread */
	assert_int_equal(q(db, "SELECT COUNT(*) FROM NVTX_EVENTS WHERE text = 'child-range' AND "
			       "globalTid / 16777216 <> " TID_OF("nvtx-main") " / 16777216"),
			 10);
	assert_int_equal(q(db, "SELECT COUNT(DISTINCT globalTid) FROM NVTX_EVENTS WHERE text = "
			       "'child-range'"),
			 1);
	sqlite3_close(db);
}

static void test_abort(void **state)
{
	(void)state;
	sqlite3 *db;
	/* gprof-cli exits with the app's status: 128 + SIGABRT */
	assert_int_equal(profile(&db, "abort", "nvtx", "nvtx_app", "--abort", NULL), 134);
	assert_non_null(db);
	/* everything before the abort is there, flushed by the signal handler */
	check_app_counts(db, 34 + 4 * 301 + 1);
	assert_int_equal(q(db, "SELECT COUNT(*) FROM NVTX_EVENTS WHERE end IS NULL AND text IN "
			       "('open-at-exit', 'open-at-abort')"),
			 2);
	sqlite3_close(db);
}

static void test_close_fds(void **state)
{
	(void)state;
	sqlite3 *db;
	/* the app closes our socket: the producer reconnects by path and loses nothing */
	assert_int_equal(profile(&db, "closefds", "nvtx", "nvtx_app", "--close-fds", NULL), 0);
	assert_non_null(db);
	check_app_counts(db, 34 + 4 * 301);
	assert_int_equal(q(db, "SELECT COUNT(*) FROM PROCESSES"), 1);
	assert_int_equal(q(db, "SELECT COUNT(*) FROM NVTX_EVENTS WHERE text = 'w-default'"), 400);
	sqlite3_close(db);
}

/* nvtx_app --texts: messages read a word at a time by the collector (once as text, a
 * second sighting interned, lengths around its 64-byte inline limit, ending at a page
 * whose next page faults, bytes after the NUL, UTF-8) all reach the report exactly. */
static void test_message_texts(void **state)
{
	(void)state;
	sqlite3 *db;
	char want[96];

	assert_int_equal(profile(&db, "texts", "nvtx", "nvtx_app", "--texts", NULL), 0);
	assert_non_null(db);
	for (int len = 1; len <= 80; len++) {
		for (int i = 0; i < len; i++)
			want[i] = (char)('a' + (len + i) % 26);
		want[len] = '\0';
		if (q(db, "SELECT COUNT(*) FROM NVTX_EVENTS WHERE text = '%s'", want) != 2)
			fail_msg("text of %d bytes: %lld ranges, want 2", len,
				 (long long)q(db,
					      "SELECT COUNT(*) FROM NVTX_EVENTS WHERE text = '%s'",
					      want));
	}
	assert_int_equal(q(db, "SELECT COUNT(DISTINCT text) FROM NVTX_EVENTS WHERE text GLOB "
			       "'op_[0-9]*'"),
			 1000);
	assert_int_equal(q(db, "SELECT COUNT(*) FROM NVTX_EVENTS WHERE text GLOB 'op_[0-9]*'"),
			 1000);
	assert_int_equal(q(db, "SELECT COUNT(*) FROM NVTX_EVENTS WHERE text = 'op_999'"), 1);
	assert_int_equal(q(db, "SELECT COUNT(*) FROM NVTX_EVENTS WHERE text = 'abc'"), 2);
	assert_int_equal(q(db, "SELECT COUNT(*) FROM NVTX_EVENTS WHERE text = "
			       "'gr\xc3\xbc\xc3\x9f"
			       "e-\xc3\xbcn\xc3\xaf"
			       "c\xc3\xb6"
			       "d\xc3\xa9'"),
			 2);
	assert_int_equal(q(db, "SELECT COUNT(*) FROM NVTX_EVENTS"), 2 * 80 + 1000 + 2 + 2);
	sqlite3_close(db);
}

/* A second NVTX instance: nvtx_app.c built as a shared library and dlopen'd. */
static void test_two_instances(void **state)
{
	(void)state;
	char so[PATH_MAX], src[PATH_MAX], cmd[3 * PATH_MAX];
	const char *cuda = getenv("CUDA_HOME");
	snprintf(so, sizeof(so), "%s/libnvtxdso.so", g_tmp);
	snprintf(src, sizeof(src), "%s", __FILE__);
	char *slash = strrchr(src, '/');
	if (!slash)
		skip();
	strcpy(slash, "/../programs/nvtx_app.c");
	if (access(src, R_OK) != 0)
		skip();
	snprintf(cmd, sizeof(cmd),
		 "cc -shared -fPIC -O1 -DNVTX_APP_DSO -I%s/include -o %s %s >/dev/null 2>&1",
		 cuda ? cuda : "/usr/local/cuda", so, src);
	if (system(cmd) != 0)
		skip();
	sqlite3 *db;
	assert_int_equal(profile(&db, "dso", "nvtx", "nvtx_app", "--dso", so, NULL), 0);
	assert_non_null(db);
	check_app_counts(db, 34 + 4 * 301 + 7);
	assert_int_equal(q(db, "SELECT COUNT(*) FROM NVTX_EVENTS WHERE text = 'dso-range' AND "
			       "globalTid = " TID_OF("nvtx-main")),
			 7);
	sqlite3_close(db);
}

static void test_not_traced(void **state)
{
	(void)state;
	sqlite3 *db;
	/* without nvtx in -t the injection declines and NVTX stays a no-op */
	assert_int_equal(profile(&db, "osrt-only", "osrt", "nvtx_app", NULL), 0);
	assert_non_null(db);
	int64_t n = q(db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'NVTX_EVENTS'");
	if (n == 1)
		assert_int_equal(q(db, "SELECT COUNT(*) FROM NVTX_EVENTS"), 0);
	sqlite3_close(db);
}

/* >= 3 processes x >= 32 threads in total, 10,000 ranges each: exact counts, no loss. */
static void test_stress(void **state)
{
	(void)state;
	sqlite3 *db;
	assert_int_equal(profile(&db, "stress", "nvtx", "nvtx_stress", "3", "12", "10000", NULL),
			 0);
	assert_non_null(db);
	assert_int_equal(q(db, "SELECT COUNT(*) FROM NVTX_EVENTS WHERE eventType = %d", PUSHPOP),
			 3 * 12 * 10000);
	assert_int_equal(q(db, "SELECT COUNT(*) FROM PROCESSES"), 3);
	assert_int_equal(q(db, "SELECT COUNT(DISTINCT globalTid) FROM NVTX_EVENTS"), 36);
	assert_int_equal(q(db, "SELECT MIN(c) FROM (SELECT COUNT(*) c FROM NVTX_EVENTS GROUP BY "
			       "globalTid)"),
			 10000);
	assert_int_equal(q(db, "SELECT MAX(c) FROM (SELECT COUNT(*) c FROM NVTX_EVENTS GROUP BY "
			       "globalTid)"),
			 10000);
	/* unique names interned concurrently: 100 per thread, same in each process */
	assert_int_equal(q(db, "SELECT COUNT(DISTINCT text) FROM NVTX_EVENTS WHERE text LIKE "
			       "'t%%-i%%'"),
			 12 * 100);
	assert_int_equal(q(db, "SELECT COUNT(*) FROM NVTX_EVENTS WHERE text LIKE 't%%-i%%'"),
			 36 * 100);
	assert_int_equal(q(db, "SELECT COUNT(*) FROM NVTX_EVENTS WHERE text IS NULL"), 0);
	assert_int_equal(meta(db, "GPROF_LOST_DROPPED_RECORDS"), 0);
	assert_int_equal(meta(db, "GPROF_LOST_FRAMES"), 0);
	assert_int_equal(meta(db, "GPROF_LOST_BAD_FRAMES"), 0);
	assert_int_equal(meta(db, "GPROF_LOST_FAILED_SENDS"), 0);
	sqlite3_close(db);
}

/* More processes than the recorder has shared-memory rings (wire.h GP_RING_SLOTS): the
 * first ones move their frames through rings, the others through the socket, all of them
 * at full speed - exact counts, nothing lost.  Then the socket alone (GPROF_CLI_RING=0). */
static void test_rings_and_sockets(void **state)
{
	(void)state;
	sqlite3 *db;
	assert_int_equal(profile(&db, "rings", "nvtx", "nvtx_stress", "10", "2", "20000", NULL), 0);
	assert_non_null(db);
	assert_int_equal(q(db, "SELECT COUNT(*) FROM NVTX_EVENTS WHERE eventType = %d", PUSHPOP),
			 10 * 2 * 20000);
	assert_int_equal(q(db, "SELECT COUNT(*) FROM PROCESSES"), 10);
	assert_int_equal(meta(db, "GPROF_LOST_DROPPED_RECORDS"), 0);
	assert_int_equal(meta(db, "GPROF_LOST_FRAMES"), 0);
	assert_int_equal(meta(db, "GPROF_LOST_BAD_FRAMES"), 0);
	assert_int_equal(meta(db, "GPROF_LOST_FAILED_SENDS"), 0);
	sqlite3_close(db);

	setenv("GPROF_CLI_RING", "0", 1);
	int rc = profile(&db, "socket", "nvtx", "nvtx_app", NULL);
	unsetenv("GPROF_CLI_RING");
	assert_int_equal(rc, 0);
	assert_non_null(db);
	check_app_counts(db, 34 + 4 * 301);
	sqlite3_close(db);
}

/* ---- main ---------------------------------------------------------------------------- */

static void rm_rf(const char *dir)
{
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "test_nvtx: cannot remove %s\n", dir);
}

int main(void)
{
	const char *cli = getenv("GPROF_CLI"), *build = getenv("BUILD");
	snprintf(g_cli, sizeof(g_cli), "%s", cli && *cli ? cli : "build/bin/gprof-cli");
	snprintf(g_build, sizeof(g_build), "%s", build && *build ? build : "build");
	strcpy(g_tmp, "/tmp/test_nvtx.XXXXXX");
	if (!mkdtemp(g_tmp)) {
		perror("test_nvtx: mkdtemp");
		return 1;
	}
	const struct CMUnitTest app[] = {
	    cmocka_unit_test(test_counts),	  cmocka_unit_test(test_nesting),
	    cmocka_unit_test(test_names_domains), cmocka_unit_test(test_attributes),
	    cmocka_unit_test(test_threads),	  cmocka_unit_test(test_start_end),
	    cmocka_unit_test(test_durations),	  cmocka_unit_test(test_ext_payloads),
	    cmocka_unit_test(test_no_payloads),	  cmocka_unit_test(test_open_at_exit),
	    cmocka_unit_test(test_fork_child),	  cmocka_unit_test(test_abort),
	    cmocka_unit_test(test_close_fds),	  cmocka_unit_test(test_message_texts),
	    cmocka_unit_test(test_two_instances), cmocka_unit_test(test_not_traced),
	    cmocka_unit_test(test_stress),	  cmocka_unit_test(test_rings_and_sockets),
	};
	int rc = cmocka_run_group_tests_name("nvtx", app, app_setup, NULL);
	if (g_app)
		sqlite3_close(g_app);
	rm_rf(g_tmp);
	return rc;
}
