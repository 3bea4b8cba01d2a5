/*
 * test_diff_core.c - the pieces of `diff` below the command line (exporters/diff.h,
 * exporters/stats_funcs.c): --fail-on rules (parsing, names holding colons, which rule
 * applies to a name), the kind and metric names, the percentile() aggregate, and the
 * comparison itself on statistics loaded from two small in-memory reports.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"
#include "exporters/diff.h"
#include "exporters/stats.h"

static void test_parse_rule(void **state)
{
	struct diff_rule r;

	assert_int_equal(diff_parse_rule("ratio:1.05", &r), 0);
	assert_int_equal(r.kind, -1);
	assert_true(fabs(r.ratio - 1.05) < 1e-12);
	assert_null(r.name);
	assert_string_equal(r.spec, "ratio:1.05");

	assert_int_equal(diff_parse_rule("kernels:ratio:2", &r), 0);
	assert_int_equal(r.kind, DIFF_KERNEL);
	assert_true(r.ratio == 2.0);

	/* the name is the rest: colons and commas belong to it */
	assert_int_equal(diff_parse_rule("nvtx:ratio:1.1::step", &r), 0);
	assert_int_equal(r.kind, DIFF_NVTX);
	assert_string_equal(r.name, ":step");
	assert_int_equal(diff_parse_rule("ratio:1.2:void f<int, float>(A::B)", &r), 0);
	assert_int_equal(r.kind, -1);
	assert_string_equal(r.name, "void f<int, float>(A::B)");

	/* errors (each prints one error and a hint) */
	assert_int_equal(diff_parse_rule("ratio", &r), -1);
	assert_int_equal(diff_parse_rule("ratio:", &r), -1);
	assert_int_equal(diff_parse_rule("ratio:-1", &r), -1);
	assert_int_equal(diff_parse_rule("ratio:nan", &r), -1);
	assert_int_equal(diff_parse_rule("ratio:inf", &r), -1);
	assert_int_equal(diff_parse_rule("ratio:1.1x", &r), -1);
	assert_int_equal(diff_parse_rule("ratio:1.1:", &r), -1);
	assert_int_equal(diff_parse_rule("gpu:ratio:1.1", &r), -1);
	assert_int_equal(diff_parse_rule("kernel:delta:5", &r), -1);
	assert_int_equal(diff_parse_rule("averyveryverylongkind:ratio:1", &r), -1);
}

/* The most specific matching rule wins; the later one of two equally specific. */
static void test_rule_for(void **state)
{
	struct diff_rule rules[6];

	assert_int_equal(diff_parse_rule("ratio:1.5", &rules[0]), 0);
	assert_int_equal(diff_parse_rule("kernel:ratio:1.05", &rules[1]), 0);
	assert_int_equal(diff_parse_rule("ratio:1.3:*nccl*", &rules[2]), 0);
	assert_int_equal(diff_parse_rule("kernel:ratio:1.2:gemm", &rules[3]), 0);
	assert_int_equal(diff_parse_rule("kernel:ratio:1.01", &rules[4]), 0);
	assert_int_equal(diff_parse_rule("api:ratio:9:[CUDA memset]", &rules[5]), 0);

	/* kind and name > name > kind > neither */
	assert_ptr_equal(diff_rule_for(rules, 6, DIFF_KERNEL, "gemm"), &rules[3]);
	assert_ptr_equal(diff_rule_for(rules, 6, DIFF_KERNEL, "ncclAllReduce"), &rules[2]);
	assert_ptr_equal(diff_rule_for(rules, 6, DIFF_API, "ncclAllReduce"), &rules[2]);
	/* two kind rules: the later one */
	assert_ptr_equal(diff_rule_for(rules, 6, DIFF_KERNEL, "other"), &rules[4]);
	assert_ptr_equal(diff_rule_for(rules, 6, DIFF_OSRT, "read"), &rules[0]);
	/* an exact name matches even where it is not a glob of itself ('[' ... ']') */
	assert_ptr_equal(diff_rule_for(rules, 6, DIFF_API, "[CUDA memset]"), &rules[5]);
	assert_ptr_equal(diff_rule_for(rules, 6, DIFF_MEMCPY, "[CUDA memset]"), &rules[0]);
	/* no rule for kernels only: none */
	assert_null(diff_rule_for(&rules[1], 1, DIFF_NVTX, ":step"));
	assert_null(diff_rule_for(rules, 0, DIFF_KERNEL, "gemm"));
}

static void test_names(void **state)
{
	enum diff_kind k;
	enum diff_metric m;

	for (int i = 0; i < DIFF_NKINDS; i++) {
		assert_int_equal(diff_parse_kind(diff_kind_name((enum diff_kind)i), &k), 0);
		assert_int_equal(k, i);
	}
	assert_int_equal(diff_parse_kind("memcpys", &k), 0);
	assert_int_equal(k, DIFF_MEMCPY);
	assert_int_equal(diff_parse_kind("gpu", &k), -1);
	assert_int_equal(diff_parse_metric("med", &m), 0);
	assert_int_equal(m, DIFF_METRIC_MEDIAN);
	assert_string_equal(diff_metric_name(m), "median");
	assert_int_equal(diff_parse_metric("p95", &m), 0);
	assert_string_equal(diff_metric_name(m), "p95");
	assert_int_equal(diff_parse_metric("total", &m), 0);
	assert_string_equal(diff_metric_name(m), "total");
	assert_int_equal(diff_parse_metric("p99", &m), -1);
}

static double query_double(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	double v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_type(st, 0) == SQLITE_NULL ? -1.0 : sqlite3_column_double(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* percentile(x, p): linear interpolation at p/100 * (n - 1), numpy's default. */
static void test_percentile(void **state)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(stats_register_functions(db), 0);
	assert_int_equal(sqlite3_exec(db,
				      "CREATE TABLE t (x); INSERT INTO t VALUES (500), (100), "
				      "(300), (NULL), (200), (400)",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	/* sorted 100..500: 95 -> 3.8 -> 480; 50 -> the median; 0 and 100 -> min, max */
	assert_true(query_double(db, "SELECT percentile(x, 95) FROM t") == 480.0);
	assert_true(query_double(db, "SELECT percentile(x, 50) FROM t") == 300.0);
	assert_true(query_double(db, "SELECT percentile(x, 25) FROM t") ==
		    query_double(db, "SELECT lower_quartile(x) FROM t"));
	assert_true(query_double(db, "SELECT percentile(x, 0) FROM t") == 100.0);
	assert_true(query_double(db, "SELECT percentile(x, 100) FROM t") == 500.0);
	assert_true(query_double(db, "SELECT percentile(x, 95) FROM t WHERE x < 250") == 195.0);
	/* p out of range or NULL, or no rows: NULL */
	assert_true(query_double(db, "SELECT percentile(x, 101) FROM t") == -1.0);
	assert_true(query_double(db, "SELECT percentile(x, NULL) FROM t") == -1.0);
	assert_true(query_double(db, "SELECT percentile(x, 95) FROM t WHERE 0") == -1.0);
	sqlite3_close(db);
}

/* An in-memory "report" with OS runtime calls: name -> durations (0-terminated). */
static sqlite3 *osrt_report(const char *const *names, const long long (*durs)[4], int n)
{
	sqlite3 *db;
	char sql[256];

	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(stats_register_functions(db), 0);
	assert_int_equal(sqlite3_exec(db,
				      "CREATE TABLE StringIds (id INTEGER PRIMARY KEY, value TEXT);"
				      "CREATE TABLE OSRT_API (start INTEGER, end INTEGER, nameId "
				      "INTEGER)",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	for (int i = 0; i < n; i++) {
		snprintf(sql, sizeof(sql), "INSERT INTO StringIds VALUES (%d, '%s')", i + 1,
			 names[i]);
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
		for (int k = 0; k < 4 && durs[i][k]; k++) {
			snprintf(sql, sizeof(sql), "INSERT INTO OSRT_API VALUES (%d, %lld, %d)",
				 k * 1000, k * 1000 + durs[i][k], i + 1);
			assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
		}
	}
	return db;
}

/* diff_add_report / diff_compute / diff_prepare_rows: one report per side, OS runtime
 * calls only; the row values and the order, and the kinds the reports hold. */
static void test_compare(void **state)
{
	static const char *const names[] = {"read", "write", "poll"};
	static const long long base[][4] = {{100, 300}, {1000}, {0}};
	static const long long new[][4] = {{100, 500}, {0}, {40, 40, 40}};
	sqlite3 *b = osrt_report(names, base, 3), *a = osrt_report(names, new, 3);
	struct diff d;
	sqlite3_stmt *st;
	const char *want[][4] = {
	    /* Delta, Ratio, Status, Name */
	    {"-1000", NULL, "vanished", "write"},
	    {"200", "1.5", "slower", "read"},
	    {"120", NULL, "new", "poll"},
	};

	assert_int_equal(diff_init(&d), 0);
	assert_int_equal(diff_add_report(&d, 0, b, "b"), 0);
	assert_int_equal(diff_add_report(&d, 1, a, "a"), 0);
	assert_int_equal(d.nruns[0], 1);
	assert_int_equal(d.nruns[1], 1);
	assert_int_equal(d.has_kind[0][DIFF_OSRT], 1);
	assert_int_equal(d.has_kind[1][DIFF_KERNEL], 0);
	assert_int_equal(diff_compute(&d, DIFF_METRIC_TOTAL), 0);
	assert_int_equal(diff_prepare_rows(&d, DIFF_KIND_ALL, &st), 0);
	assert_string_equal(sqlite3_column_name(st, 0), "Delta:dur_ns");
	assert_string_equal(sqlite3_column_name(st, 1), "Ratio:factor");
	for (int i = 0; i < 3; i++) {
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(st, 0), want[i][0]);
		if (want[i][1])
			assert_true(sqlite3_column_double(st, 1) == 1.5);
		else
			assert_int_equal(sqlite3_column_type(st, 1), SQLITE_NULL);
		assert_int_equal(sqlite3_column_type(st, 10), SQLITE_NULL); /* Noise: 1 run */
		assert_string_equal((const char *)sqlite3_column_text(st, 11), want[i][2]);
		assert_string_equal((const char *)sqlite3_column_text(st, 12), "osrt");
		assert_string_equal((const char *)sqlite3_column_text(st, 13), want[i][3]);
	}
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	/* the kinds mask leaves out what it does not name */
	assert_int_equal(diff_prepare_rows(&d, DIFF_KIND_BIT(DIFF_KERNEL), &st), 0);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	/* by p95: read {100, 300} -> 290, {100, 500} -> 480 */
	assert_int_equal(diff_compute(&d, DIFF_METRIC_P95), 0);
	assert_int_equal(diff_prepare_rows(&d, DIFF_KIND_ALL, &st), 0);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW); /* write: 0 - 1000 */
	assert_string_equal((const char *)sqlite3_column_text(st, 13), "write");
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 13), "read");
	assert_int_equal(sqlite3_column_int(st, 0), 190);
	assert_true(fabs(sqlite3_column_double(st, 1) - 480.0 / 290.0) < 1e-12);
	sqlite3_finalize(st);
	diff_release(&d);
	sqlite3_close(a);
	sqlite3_close(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_rule), cmocka_unit_test(test_rule_for),
	    cmocka_unit_test(test_names),      cmocka_unit_test(test_percentile),
	    cmocka_unit_test(test_compare),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
