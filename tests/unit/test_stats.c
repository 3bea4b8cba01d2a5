/*
 * test_stats.c - stats reports: aggregate functions, the fixture's nvtx numbers
 * against nsys's own output, nvtx_pushpop_trace nesting, osrt_sum, option parsing.
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

#include "exporters/report_open.h"
#include "exporters/stats.h"

static sqlite3 *memdb(const char *sql)
{
	sqlite3 *db;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(stats_register_functions(db), 0);
	if (sql && sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("sql: %s", msg);
	return db;
}

static double scalar(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	double v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_type(st, 0) == SQLITE_NULL ? -12345.0 : sqlite3_column_double(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void test_aggregates(void **state)
{
	sqlite3 *db = memdb("CREATE TABLE t(g, x);"
			    "INSERT INTO t VALUES (1, 4), (1, 1), (1, 3), (1, 2),"
			    " (2, 10), (2, NULL), (2, 30), (2, 20), (3, 7);");

	/* even count: mean of the two middle values */
	assert_true(scalar(db, "SELECT median(x) FROM t WHERE g = 1") == 2.5);
	/* odd count, NULL ignored */
	assert_true(scalar(db, "SELECT median(x) FROM t WHERE g = 2") == 20.0);
	assert_true(scalar(db, "SELECT median(x) FROM t WHERE g = 3") == 7.0);
	/* sample standard deviation of 1,2,3,4 = sqrt(5/3) */
	assert_float_equal(scalar(db, "SELECT stdev(x) FROM t WHERE g = 1"), 1.2909944487358056,
			   1e-12);
	assert_float_equal(scalar(db, "SELECT stdev(x) FROM t WHERE g = 2"), 10.0, 1e-12);
	assert_true(scalar(db, "SELECT stdev(x) FROM t WHERE g = 3") == 0.0);
	/* linear-interpolation quartiles of 1,2,3,4: 1.75 and 3.25 */
	assert_float_equal(scalar(db, "SELECT lower_quartile(x) FROM t WHERE g = 1"), 1.75, 1e-12);
	assert_float_equal(scalar(db, "SELECT upper_quartile(x) FROM t WHERE g = 1"), 3.25, 1e-12);
	assert_float_equal(scalar(db, "SELECT lower_quartile(x) FROM t WHERE g = 2"), 15.0, 1e-12);
	/* no rows: NULL */
	assert_true(scalar(db, "SELECT median(x) FROM t WHERE g = 9") == -12345.0);
	assert_true(scalar(db, "SELECT stdev(x) FROM t WHERE g = 9") == -12345.0);
	/* per group */
	assert_true(scalar(db, "SELECT sum(m) FROM (SELECT median(x) AS m FROM t GROUP BY g)") ==
		    29.5);
	sqlite3_close(db);
}

/* Run one report into a string (caller frees). */
static char *run(sqlite3 *db, const char *name, enum stats_format f, int banners, const char *label,
		 int *rc)
{
	struct stats_fmt_opts o = {.format = f, .banners = banners, .label = label};
	struct stats_args none = {0};
	const struct stats_report *r = stats_find(name);
	char *buf = NULL;
	size_t len = 0;
	FILE *mem;

	assert_non_null(r);
	mem = open_memstream(&buf, &len);
	*rc = stats_run_report(db, r, &none, &o, mem);
	fclose(mem);
	return buf;
}

/* The block nsys printed for report `name`: from its Processing line up to the next. */
static char *nsys_block(const char *text, const char *name)
{
	char key[128], *start, *end;

	snprintf(key, sizeof(key), "with [reports/%s.py]", name);
	start = strstr(text, key);
	assert_non_null(start);
	while (start > text && start[-1] != '\n')
		start--;
	end = strstr(start + 1, "Processing [");
	return strndup(start, end ? (size_t)(end - start) : strlen(start));
}

static void check_fixture_rc(const char *name, enum stats_format f, const char *file, int want_rc)
{
	char path[PATH_MAX], db_path[PATH_MAX], *expect_all, *expect, *got;
	sqlite3 *db;
	int rc;

	tu_fixture(db_path, "nsys-2025.3-launchbench.sqlite"); /* before anything is allocated */
	expect_all = tu_slurp(tu_fixture(path, file), NULL);
	assert_non_null(expect_all);
	db = report_open_read(db_path);
	assert_non_null(db);
	expect = nsys_block(expect_all, name);
	got = run(db, name, f, 1, "nsys-2025.3-launchbench.sqlite", &rc);
	assert_int_equal(rc, want_rc);
	assert_string_equal(got, expect);
	free(got);
	free(expect);
	free(expect_all);
	sqlite3_close(db);
}

static void check_fixture(const char *name, enum stats_format f, const char *file)
{
	check_fixture_rc(name, f, file, 0);
}

static void test_fixture_nvtx_sum_column(void **state)
{
	check_fixture("nvtx_sum", STATS_FMT_COLUMN, "nsys-2025.3-launchbench.stats.txt");
}

static void test_fixture_nvtx_pushpop_sum_column(void **state)
{
	check_fixture("nvtx_pushpop_sum", STATS_FMT_COLUMN, "nsys-2025.3-launchbench.stats.txt");
}

static void test_fixture_nvtx_sum_csv(void **state)
{
	check_fixture("nvtx_sum", STATS_FMT_CSV, "nsys-2025.3-launchbench.stats.csv.txt");
	check_fixture("nvtx_pushpop_sum", STATS_FMT_CSV, "nsys-2025.3-launchbench.stats.csv.txt");
}

static void test_fixture_osrt_skipped(void **state)
{
	check_fixture_rc("osrt_sum", STATS_FMT_COLUMN, "nsys-2025.3-launchbench.stats.txt", 1);
}

/* Minimal nsys-schema tables for hand-made reports. */
#define SCHEMA                                                                                     \
	"CREATE TABLE StringIds (id INTEGER NOT NULL PRIMARY KEY, value TEXT NOT NULL);"           \
	"CREATE TABLE NVTX_EVENTS (start INTEGER NOT NULL, end INTEGER, eventType INTEGER "        \
	"NOT NULL, rangeId INTEGER, category INTEGER, color INTEGER, text TEXT, globalTid "        \
	"INTEGER, endGlobalTid INTEGER, textId INTEGER, domainId INTEGER);"

/* globalTid of pid 100, tid t */
#define GTID(t) ((1ll << 48) | (100ll << 24) | (t))

static void test_pushpop_trace_nesting(void **state)
{
	char sql[4096];
	sqlite3 *db;
	sqlite3_stmt *st;
	struct strbuf q = STRBUF_INIT;
	struct stats_args none = {0};
	const struct stats_report *r = stats_find("nvtx_pushpop_trace");
	/* thread 1: A[0,100] { B[10,40] { C[20,30] }, D[50,90] }; thread 2: E[15,60] { F[20,25] }
	 * (E overlaps A and B in time but is on another thread: not their child);
	 * a start/end range on thread 1 is ignored; G is in domain "dom" and never ends. */
	snprintf(sql, sizeof(sql),
		 SCHEMA "INSERT INTO StringIds VALUES (1, 'regD');"
			"INSERT INTO NVTX_EVENTS (start, end, eventType, text, globalTid, textId, "
			"domainId) VALUES"
			" (0, 100, 59, 'A', %lld, NULL, 0),"
			" (10, 40, 59, 'B', %lld, NULL, 0),"
			" (20, 30, 59, 'C', %lld, NULL, 0),"
			" (50, 90, 59, NULL, %lld, 1, 0),"
			" (15, 60, 59, 'E', %lld, NULL, 0),"
			" (20, 25, 59, 'F', %lld, NULL, 0),"
			" (5, 95, 60, 'SE', %lld, NULL, 0),"
			" (1, NULL, 75, 'dom', %lld, NULL, 7),"
			" (200, NULL, 59, 'G', %lld, NULL, 7);",
		 GTID(1), GTID(1), GTID(1), GTID(1), GTID(2), GTID(2), GTID(1), GTID(3), GTID(3));
	db = memdb(sql);
	assert_non_null(r);
	assert_int_equal(r->query(db, &none, &q), 0);
	assert_int_equal(sqlite3_prepare_v2(db, q.buf, -1, &st, NULL), SQLITE_OK);
	static const struct {
		long long start, end, dur, durchild, durnonchild;
		const char *name;
		int tid, lvl, nchild, id, parent;
		const char *stack, *tree;
	} want[] = {
	    {0, 100, 100, 70, 30, ":A", 1, 0, 2, 1, 0, ":1", ":A"},
	    {10, 40, 30, 10, 20, ":B", 1, 1, 1, 2, 1, ":1:2", "--:B"},
	    {15, 60, 45, 5, 40, ":E", 2, 0, 1, 5, 0, ":5", ":E"},
	    {20, 25, 5, 0, 5, ":F", 2, 1, 0, 6, 5, ":5:6", "--:F"},
	    {20, 30, 10, 0, 10, ":C", 1, 2, 0, 3, 2, ":1:2:3", "----:C"},
	    {50, 90, 40, 0, 40, ":regD", 1, 1, 0, 4, 1, ":1:4", "--:regD"},
	    /* never ended: lasts to the last timestamp (200, its own start) */
	    {200, 200, 0, 0, 0, "dom:G", 3, 0, 0, 9, 0, ":9", "dom:G"},
	};
	size_t n = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		assert_true(n < sizeof(want) / sizeof(want[0]));
		assert_int_equal(sqlite3_column_int64(st, 0), want[n].start);
		assert_int_equal(sqlite3_column_int64(st, 1), want[n].end);
		assert_int_equal(sqlite3_column_int64(st, 2), want[n].dur);
		assert_int_equal(sqlite3_column_int64(st, 3), want[n].durchild);
		assert_int_equal(sqlite3_column_int64(st, 4), want[n].durnonchild);
		assert_string_equal(sqlite3_column_text(st, 5), want[n].name);
		assert_int_equal(sqlite3_column_int(st, 6), 100);
		assert_int_equal(sqlite3_column_int(st, 7), want[n].tid);
		assert_int_equal(sqlite3_column_int(st, 8), want[n].lvl);
		assert_int_equal(sqlite3_column_int(st, 9), want[n].nchild);
		assert_int_equal(sqlite3_column_int(st, 10), want[n].id);
		if (want[n].parent)
			assert_int_equal(sqlite3_column_int(st, 11), want[n].parent);
		else
			assert_int_equal(sqlite3_column_type(st, 11), SQLITE_NULL);
		assert_string_equal(sqlite3_column_text(st, 12), want[n].stack);
		assert_string_equal(sqlite3_column_text(st, 13), want[n].tree);
		n++;
	}
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	assert_string_equal(sqlite3_column_name(st, 0), "Start:ts_ns");
	assert_string_equal(sqlite3_column_name(st, 13), "NameTree");
	sqlite3_finalize(st);
	strbuf_release(&q);

	/* nvtx_sum on the same data: styles, domains, registered strings */
	int rc;
	char *out = run(db, "nvtx_startend_sum", STATS_FMT_CSV, 0, "x", &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "Time (%),Total Time (ns),Instances,Avg (ns),Med (ns),Min (ns),"
				 "Max (ns),StdDev (ns),Range\n"
				 "100.0,90,1,90.0,90.0,90,90,0.0,:SE\n");
	free(out);
	out = run(db, "nvtx_sum", STATS_FMT_CSV, 0, "x", &rc);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "\n31.3,100,1,100.0,100.0,100,100,0.0,PushPop,:A\n"));
	assert_non_null(strstr(out, "\n28.1,90,1,90.0,90.0,90,90,0.0,StartEnd,:SE\n"));
	assert_non_null(strstr(out, ",PushPop,:regD\n"));
	assert_non_null(strstr(out, "\n0.0,0,1,0.0,0.0,0,0,0.0,PushPop,dom:G\n"));
	free(out);
	sqlite3_close(db);
}

static void test_osrt_sum(void **state)
{
	int rc;
	char *out;
	sqlite3 *db = memdb(
	    "CREATE TABLE StringIds (id INTEGER PRIMARY KEY, value TEXT NOT NULL);"
	    "CREATE TABLE OSRT_API (start INTEGER NOT NULL, end INTEGER NOT NULL, eventClass "
	    "INTEGER NOT NULL, globalTid INTEGER, nameId INTEGER NOT NULL, returnValue INTEGER "
	    "NOT NULL, nestingLevel INTEGER, callchainId INTEGER NOT NULL, argumentsId INTEGER "
	    "NOT NULL);"
	    "INSERT INTO StringIds VALUES (1, 'pthread_mutex_lock'), (2, 'read'), (3, 'usleep');"
	    "INSERT INTO OSRT_API VALUES (0, 1000, 27, 1, 1, 0, 0, 0, 0),"
	    " (0, 3000, 27, 1, 1, 0, 0, 0, 0), (0, 2000, 27, 1, 1, 0, 0, 0, 0),"
	    " (0, 4000, 27, 1, 1, 0, 0, 0, 0), (0, 1500, 27, 1, 2, 5, 0, 0, 0),"
	    " (0, 1500000, 27, 1, 3, 0, 0, 0, 0);");

	out = run(db, "osrt_sum", STATS_FMT_CSV, 0, "x", &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "Time (%),Total Time (ns),Num Calls,Avg (ns),Med (ns),Min (ns),"
				 "Max (ns),StdDev (ns),Name\n"
				 "99.2,1500000,1,1500000.0,1500000.0,1500000,1500000,0.0,usleep\n"
				 "0.7,10000,4,2500.0,2500.0,1000,4000,1291.0,pthread_mutex_lock\n"
				 "0.1,1500,1,1500.0,1500.0,1500,1500,0.0,read\n");
	free(out);
	out = run(db, "osrt_sum", STATS_FMT_COLUMN, 1, "r.db", &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(
	    out, "Processing [r.db] with [reports/osrt_sum.py]... \n\n"
		 " ** OS Runtime Summary (osrt_sum):\n\n"
		 " Time (%)  Total Time (ns)  Num Calls   Avg (ns)     Med (ns)    Min (ns)   "
		 "Max (ns)   StdDev (ns)         Name       \n"
		 " --------  ---------------  ---------  -----------  -----------  ---------  "
		 "---------  -----------  ------------------\n"
		 "     99.2        1,500,000          1  1,500,000.0  1,500,000.0  1,500,000  "
		 "1,500,000          0.0  usleep            \n"
		 "      0.7           10,000          4      2,500.0      2,500.0      1,000  "
		 "    4,000      1,291.0  pthread_mutex_lock\n"
		 "      0.1            1,500          1      1,500.0      1,500.0      1,500  "
		 "    1,500          0.0  read              \n\n");
	free(out);
	/* timeunit us: titles and 3 decimals */
	struct stats_fmt_opts o = {.format = STATS_FMT_CSV, .timeunit = STATS_TU_US};
	struct stats_args none = {0};
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	assert_int_equal(stats_run_report(db, stats_find("osrt_sum"), &none, &o, mem), 0);
	fclose(mem);
	assert_non_null(strstr(buf, "Time (%),Total Time (us),Num Calls,Avg (us),"));
	assert_non_null(
	    strstr(buf, "\n0.7,10.000,4,2.500,2.500,1.000,4.000,1.291,pthread_mutex_lock\n"));
	free(buf);
	/* skipped without the table */
	sqlite3_exec(db, "DROP TABLE OSRT_API", NULL, NULL, NULL);
	out = run(db, "osrt_sum", STATS_FMT_COLUMN, 1, "r.db", &rc);
	assert_int_equal(rc, 1);
	assert_string_equal(out, "Processing [r.db] with [reports/osrt_sum.py]... \n"
				 "SKIPPED: r.db does not contain OS Runtime trace data.\n\n");
	free(out);
	sqlite3_close(db);
}

/* stats_run_merged(): one table, "Report" first, per-input rows in input order; an
 * input without the tables is left out (SKIPPED line), all without it -> 1. */
static sqlite3 *osrt_db(const char *rows)
{
	char sql[2048];
	snprintf(sql, sizeof(sql),
		 "CREATE TABLE StringIds (id INTEGER PRIMARY KEY, value TEXT NOT NULL);"
		 "CREATE TABLE OSRT_API (start INTEGER NOT NULL, end INTEGER NOT NULL, eventClass "
		 "INTEGER NOT NULL, globalTid INTEGER, nameId INTEGER NOT NULL, returnValue "
		 "INTEGER NOT NULL, nestingLevel INTEGER, callchainId INTEGER NOT NULL, "
		 "argumentsId INTEGER NOT NULL);"
		 "INSERT INTO StringIds VALUES (1, 'read'), (2, 'usleep');"
		 "INSERT INTO OSRT_API VALUES %s;",
		 rows);
	return memdb(sql);
}

static char *merged(sqlite3 **dbs, const char **labels, size_t n, enum stats_format f, int banners,
		    int *rc)
{
	struct stats_fmt_opts o = {.format = f, .banners = banners, .label = "a.db, b.db, c.db"};
	struct stats_args none = {0};
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);

	*rc = stats_run_merged(dbs, labels, n, stats_find("osrt_sum"), &none, &o, mem);
	fclose(mem);
	return buf;
}

static void test_merge(void **state)
{
	sqlite3 *dbs[3];
	const char *labels[] = {"a.db", "b.db", "c.db"};
	char *out;
	int rc;

	dbs[0] = osrt_db("(0, 3000, 27, 1, 2, 0, 0, 0, 0), (0, 1000, 27, 1, 1, 0, 0, 0, 0)");
	dbs[1] = memdb("CREATE TABLE StringIds (id INTEGER PRIMARY KEY, value TEXT NOT NULL);");
	dbs[2] = osrt_db("(0, 500, 27, 1, 1, 0, 0, 0, 0), (0, 1500, 27, 1, 1, 0, 0, 0, 0)");
	out = merged(dbs, labels, 3, STATS_FMT_CSV, 0, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "Report,Time (%),Total Time (ns),Num Calls,Avg (ns),Med (ns),"
				 "Min (ns),Max (ns),StdDev (ns),Name\n"
				 "a.db,75.0,3000,1,3000.0,3000.0,3000,3000,0.0,usleep\n"
				 "a.db,25.0,1000,1,1000.0,1000.0,1000,1000,0.0,read\n"
				 "c.db,100.0,2000,2,1000.0,1000.0,500,1500,707.1,read\n");
	free(out);
	out = merged(dbs, labels, 3, STATS_FMT_COLUMN, 1, &rc);
	assert_int_equal(rc, 0);
	assert_true(!strncmp(out,
			     "Processing [a.db, b.db, c.db] with [reports/osrt_sum.py]... \n"
			     "SKIPPED: b.db does not contain OS Runtime trace data.\n\n"
			     " ** OS Runtime Summary (osrt_sum):\n\n Report  Time (%)",
			     150));
	assert_non_null(strstr(out, "\n c.db       100.0"));
	free(out);
	/* every input lacks the table: skipped */
	out = merged(&dbs[1], &labels[1], 1, STATS_FMT_CSV, 1, &rc);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(out, "SKIPPED: a.db, b.db, c.db does not contain OS Runtime"));
	free(out);
	for (int i = 0; i < 3; i++)
		sqlite3_close(dbs[i]);
}

static void test_parse(void **state)
{
	enum stats_timeunit tu;
	enum stats_format f;
	struct stats_args a;
	const char *name;
	char spec[] = "cuda_gpu_kern_sum:base:nvtx-name";

	assert_int_equal(stats_parse_timeunit("ns", &tu), 0);
	assert_int_equal(tu, STATS_TU_NS);
	assert_int_equal(stats_parse_timeunit("usec", &tu), 0);
	assert_int_equal(tu, STATS_TU_US);
	assert_int_equal(stats_parse_timeunit("milli", &tu), 0);
	assert_int_equal(tu, STATS_TU_MS);
	assert_int_equal(stats_parse_timeunit("nanoseconds", &tu), 0);
	assert_int_equal(tu, STATS_TU_NS);
	assert_int_equal(stats_parse_timeunit("seconds", &tu), 0);
	assert_int_equal(tu, STATS_TU_S);
	assert_int_equal(stats_parse_timeunit("s", &tu), 0);
	assert_int_equal(tu, STATS_TU_S);
	assert_int_equal(stats_parse_timeunit("m", &tu), -1); /* msec or microseconds */
	assert_int_equal(stats_parse_timeunit("hours", &tu), -1);
	assert_int_equal(stats_parse_format("json", &f), 0);
	assert_int_equal(f, STATS_FMT_JSON);
	assert_int_equal(stats_parse_format("xml", &f), -1);
	assert_int_equal(stats_split_spec(spec, &name, &a), 0);
	assert_string_equal(name, "cuda_gpu_kern_sum");
	assert_int_equal(a.nargs, 2);
	assert_string_equal(a.args[0], "base");
	assert_true(stats_has_arg(&a, "nvtx-name"));
	assert_false(stats_has_arg(&a, "mangled"));
	assert_non_null(stats_find("nvtx_sum"));
	assert_non_null(stats_find("nvtx_pushpop_trace"));
	assert_null(stats_find("nvtx_summ"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_aggregates),
	    cmocka_unit_test(test_fixture_nvtx_sum_column),
	    cmocka_unit_test(test_fixture_nvtx_pushpop_sum_column),
	    cmocka_unit_test(test_fixture_nvtx_sum_csv),
	    cmocka_unit_test(test_fixture_osrt_skipped),
	    cmocka_unit_test(test_pushpop_trace_nesting),
	    cmocka_unit_test(test_osrt_sum),
	    cmocka_unit_test(test_merge),
	    cmocka_unit_test(test_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
