/*
 * test_diff.c - `gprof-cli diff` through the real binary ($GPROF_CLI):
 *   - hand-made reports (SQLite files in the nsys schema written here) with known
 *     durations, so that totals, medians, p95, deltas, ratios, statuses and noise
 *     verdicts are exact: golden outputs in tests/fixtures/diff/ (column, csv, json,
 *     --timeunit us) and the values asserted one by one;
 *   - --fail-on: exit 5 and one line naming each regressed name; per-kind and per-name
 *     thresholds; --metric median/p95; a change within the run-to-run spread of several
 *     runs does not fail;
 *   - the nsys fixture against itself (every ratio 1.000) and against a modified copy
 *     (kernels twice as long, an API call renamed, one removed);
 *   - reports recorded here from CPU programs (capture_app's capture ranges rep.1.db vs
 *     rep.2.db, nvtx_app run twice): the deterministic columns (counts, kind, name)
 *     against goldens, and a report against itself;
 *   - bad command lines (exit 2) and bad reports (exit 3).
 *
 * Environment: GPROF_CLI, BUILD (the test programs), GPROF_FIXTURES (the nsys fixture);
 * the goldens are read from tests/fixtures/diff (make check runs in the source tree).
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

#include "tests/testutil.h"

#define GOLDEN_DIR "tests/fixtures/diff"

static char gprof[PATH_MAX];
static char build[PATH_MAX];

#define RUN(r, dir, ...)                                                                           \
	do {                                                                                       \
		const char *a_[] = {__VA_ARGS__, NULL};                                            \
		tu_run_in(r, gprof, dir, a_);                                                      \
	} while (0)

/* r's stdout must equal the golden file tests/fixtures/diff/<name>.  With
 * GPROF_UPDATE_GOLDEN=1 the file is (re)written instead, to be reviewed by hand. */
static void assert_golden(const struct tu_run *r, const char *name)
{
	char path[PATH_MAX];
	const char *update = getenv("GPROF_UPDATE_GOLDEN");
	char *want;

	snprintf(path, sizeof(path), "%s/%s", GOLDEN_DIR, name);
	if (update && !strcmp(update, "1")) {
		tu_write_text(path, r->out);
		print_message("wrote golden %s\n", path);
		return;
	}
	want = tu_slurp(path, NULL);
	if (!want)
		fail_msg("golden file '%s' is missing", path);
	if (strcmp(want, r->out)) {
		print_message("--- want (%s):\n%s--- got:\n%s--- stderr:\n%s", path, want, r->out,
			      r->err);
		free(want);
		fail_msg("output differs from %s", path);
	}
	free(want);
}

/* ---- hand-made reports ------------------------------------------------------------- */

/* One timed item: kind ('k' kernel, 'a' CUDA API, 'm' memcpy HtoD, 'n' NVTX push/pop,
 * 'o' OS runtime), its name and its durations in ns (0-terminated). */
struct item {
	char kind;
	const char *name;
	long long dur[8];
};

static void exec_ok(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

/* Write a report in the nsys schema (the tables and columns diff reads) holding items;
 * each item's instances start 10 us apart. */
static void make_report(const char *path, const struct item *items, size_t n)
{
	sqlite3 *db;
	char sql[1024];
	long long t = 1000000;

	remove(path);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	exec_ok(db, "BEGIN;"
		    "CREATE TABLE StringIds (id INTEGER PRIMARY KEY, value TEXT NOT NULL);"
		    "CREATE TABLE CUPTI_ACTIVITY_KIND_KERNEL (start INTEGER NOT NULL, end INTEGER "
		    "NOT NULL, deviceId INTEGER, streamId INTEGER, correlationId INTEGER, "
		    "globalPid INTEGER, demangledName INTEGER, shortName INTEGER, mangledName "
		    "INTEGER);"
		    "CREATE TABLE CUPTI_ACTIVITY_KIND_RUNTIME (start INTEGER NOT NULL, end INTEGER "
		    "NOT NULL, eventClass INTEGER, globalTid INTEGER, correlationId INTEGER, "
		    "nameId INTEGER, returnValue INTEGER, callchainId INTEGER);"
		    "CREATE TABLE CUPTI_ACTIVITY_KIND_MEMCPY (start INTEGER NOT NULL, end INTEGER "
		    "NOT NULL, deviceId INTEGER, streamId INTEGER, correlationId INTEGER, "
		    "globalPid INTEGER, bytes INTEGER, copyKind INTEGER);"
		    "CREATE TABLE NVTX_EVENTS (start INTEGER NOT NULL, end INTEGER, eventType "
		    "INTEGER NOT NULL, rangeId INTEGER, category INTEGER, color INTEGER, text "
		    "TEXT, globalTid INTEGER, endGlobalTid INTEGER, textId INTEGER, domainId "
		    "INTEGER);"
		    "CREATE TABLE OSRT_API (start INTEGER NOT NULL, end INTEGER NOT NULL, "
		    "eventClass INTEGER, globalTid INTEGER, correlationId INTEGER, nameId INTEGER, "
		    "returnValue INTEGER, nestingLevel INTEGER, callchainId INTEGER);");
	for (size_t i = 0; i < n; i++) {
		const struct item *it = &items[i];
		int id = (int)i + 1;

		snprintf(sql, sizeof(sql), "INSERT INTO StringIds VALUES (%d, '%s')", id, it->name);
		exec_ok(db, sql);
		for (int k = 0; k < 8 && it->dur[k]; k++, t += 10000) {
			long long e = t + it->dur[k];
			switch (it->kind) {
			case 'k':
				snprintf(
				    sql, sizeof(sql),
				    "INSERT INTO CUPTI_ACTIVITY_KIND_KERNEL VALUES (%lld, %lld, "
				    "0, 7, %lld, 1, %d, %d, NULL)",
				    t, e, t, id, id);
				break;
			case 'a':
				snprintf(sql, sizeof(sql),
					 "INSERT INTO CUPTI_ACTIVITY_KIND_RUNTIME VALUES (%lld, "
					 "%lld, 0, 1, %lld, %d, 0, NULL)",
					 t, e, t, id);
				break;
			case 'm':
				snprintf(
				    sql, sizeof(sql),
				    "INSERT INTO CUPTI_ACTIVITY_KIND_MEMCPY VALUES (%lld, %lld, "
				    "0, 7, %lld, 1, 4096, 1)",
				    t, e, t);
				break;
			case 'n':
				snprintf(sql, sizeof(sql),
					 "INSERT INTO NVTX_EVENTS VALUES (%lld, %lld, 59, NULL, "
					 "NULL, NULL, '%s', 1, NULL, NULL, 0)",
					 t, e, it->name);
				break;
			default:
				snprintf(sql, sizeof(sql),
					 "INSERT INTO OSRT_API VALUES (%lld, %lld, 0, 1, 0, %d, 0, "
					 "0, NULL)",
					 t, e, id);
			}
			exec_ok(db, sql);
		}
	}
	exec_ok(db, "COMMIT");
	sqlite3_close(db);
}

/*
 * base.db / new.db: one run each, every kind.  Expected (ns; p95 by linear interpolation
 * at 0.95 * (n - 1)):
 *   k_a    5 x {100..500} -> 5 x {110..550}: total 1500 -> 1650 (+150, 1.100),
 *          med 300 -> 330, p95 480 -> 528
 *   k_b    2 x 1000 -> 3 x 1000: total 2000 -> 3000 (+1000, 1.500), med and p95 1000
 *   k_new  new, 70;  k_gone  vanished, 50
 *   cudaLaunchKernel (as cudaLaunchKernel_v7000) {10, 20} both sides: same
 *   [CUDA memcpy Host-to-Device] {30} -> {30, 30}: +30, 2.000
 *   :step  {1000} -> {900}: -100, 0.900, faster
 *   nanosleep {2000} both sides: same
 */
static void make_pair(const char *dir)
{
	char p[PATH_MAX];
	const struct item base[] = {
	    {'k', "k_a", {100, 200, 300, 400, 500}},
	    {'k', "k_b", {1000, 1000}},
	    {'k', "k_gone", {50}},
	    {'a', "cudaLaunchKernel_v7000", {10, 20}},
	    {'m', "memcpy", {30}},
	    {'n', "step", {1000}},
	    {'o', "nanosleep", {2000}},
	};
	const struct item new[] = {
	    {'k', "k_a", {550, 440, 330, 220, 110}},
	    {'k', "k_b", {1000, 1000, 1000}},
	    {'k', "k_new", {70}},
	    {'a', "cudaLaunchKernel_v7000", {20, 10}},
	    {'m', "memcpy", {30, 30}},
	    {'n', "step", {900}},
	    {'o', "nanosleep", {2000}},
	};

	make_report(tu_pathf(p, dir, "base.db"), base, sizeof(base) / sizeof(base[0]));
	make_report(tu_pathf(p, dir, "new.db"), new, sizeof(new) / sizeof(new[0]));
}

/* The csv line of name (from the start of its line to its end), or fail. */
static void assert_csv_row(const char *out, const char *row)
{
	char want[512];

	snprintf(want, sizeof(want), "\n%s\n", row);
	if (!strstr(out, want))
		fail_msg("row '%s' not in:\n%s", row, out);
}

static const char csv_header[] =
    "Delta (ns),Ratio,Total Before (ns),Total After (ns),Count Before,Count After,"
    "Med Before (ns),Med After (ns),P95 Before (ns),P95 After (ns),Noise,Status,Kind,Name\n";

/* One run per side: every statistic and status exact, rows sorted by |Delta|. */
static void test_pair_values(void **state)
{
	const char *dir = *state;
	struct tu_run r;

	make_pair(dir);
	RUN(&r, dir, "diff", "--format=csv", "base.db", "new.db");
	tu_assert_status(&r, 0);
	assert_string_equal(r.err, "");
	assert_int_equal(strncmp(r.out, csv_header, strlen(csv_header)), 0);
	assert_csv_row(r.out,
		       "1000,1.500,2000,3000,2,3,1000.0,1000.0,1000.0,1000.0,,slower,kernel,k_b");
	assert_csv_row(r.out, "150,1.100,1500,1650,5,5,300.0,330.0,480.0,528.0,,slower,kernel,k_a");
	assert_csv_row(r.out,
		       "-100,0.900,1000,900,1,1,1000.0,900.0,1000.0,900.0,,faster,nvtx,:step");
	assert_csv_row(r.out, "70,,0,70,0,1,,70.0,,70.0,,new,kernel,k_new");
	assert_csv_row(r.out, "-50,,50,0,1,0,50.0,,50.0,,,vanished,kernel,k_gone");
	assert_csv_row(r.out, "30,2.000,30,60,1,2,30.0,30.0,30.0,30.0,,slower,memcpy,"
			      "[CUDA memcpy Host-to-Device]");
	assert_csv_row(r.out, "0,1.000,30,30,2,2,15.0,15.0,19.5,19.5,,same,api,cudaLaunchKernel");
	assert_csv_row(r.out,
		       "0,1.000,2000,2000,1,1,2000.0,2000.0,2000.0,2000.0,,same,osrt,nanosleep");
	assert_int_equal(tu_total_lines(r.out), 9);
	/* sorted by |Delta|: k_b, k_a, :step, k_new, k_gone, memcpy, then the zeros */
	assert_true(strstr(r.out, ",k_b\n") < strstr(r.out, ",k_a\n"));
	assert_true(strstr(r.out, ",k_a\n") < strstr(r.out, ",:step\n"));
	assert_true(strstr(r.out, ",:step\n") < strstr(r.out, ",k_new\n"));
	assert_true(strstr(r.out, ",k_new\n") < strstr(r.out, ",k_gone\n"));
	assert_true(strstr(r.out, ",k_gone\n") < strstr(r.out, "memcpy,"));
	assert_golden(&r, "pair.csv");
}

/* The same comparison in the other formats and units, against goldens. */
static void test_pair_formats(void **state)
{
	const char *dir = *state;
	struct tu_run r;

	make_pair(dir);
	RUN(&r, dir, "diff", "base.db", "new.db");
	tu_assert_status(&r, 0);
	assert_golden(&r, "pair.txt");
	RUN(&r, dir, "diff", "-f", "json", "base.db", "new.db");
	tu_assert_status(&r, 0);
	assert_non_null(strstr(r.out, "\"Delta (ns)\": 150, \"Ratio\": 1.100, "));
	assert_non_null(strstr(r.out, "\"Noise\": null, \"Status\": \"new\", \"Kind\": "
				      "\"kernel\", \"Name\": \"k_new\"}"));
	assert_golden(&r, "pair.json");
	RUN(&r, dir, "diff", "--timeunit", "us", "--kind", "kernel,memcpy", "-f", "csv", "base.db",
	    "new.db");
	tu_assert_status(&r, 0);
	assert_csv_row(r.out,
		       "0.150,1.100,1.500,1.650,5,5,0.300,0.330,0.480,0.528,,slower,kernel,k_a");
	assert_null(strstr(r.out, "nvtx"));
	assert_null(strstr(r.out, "cudaLaunchKernel"));
	assert_int_equal(tu_total_lines(r.out), 6);
	assert_golden(&r, "pair-us-kernel-memcpy.csv");
	/* --metric: Delta and Ratio follow the median, and so does the order */
	RUN(&r, dir, "diff", "--metric=median", "-f", "csv", "--kind=kernels", "base.db", "new.db");
	tu_assert_status(&r, 0);
	assert_csv_row(r.out, "30,1.100,1500,1650,5,5,300.0,330.0,480.0,528.0,,slower,kernel,k_a");
	assert_csv_row(r.out, "0,1.000,2000,3000,2,3,1000.0,1000.0,1000.0,1000.0,,same,kernel,k_b");
	RUN(&r, dir, "diff", "--metric=p95", "-f", "csv", "--kind=kernel", "base.db", "new.db");
	tu_assert_status(&r, 0);
	assert_csv_row(r.out, "48,1.100,1500,1650,5,5,300.0,330.0,480.0,528.0,,slower,kernel,k_a");
}

/* --fail-on: exit 5 and one line per regressed name; per-kind and per-name rules. */
static void test_fail_on(void **state)
{
	const char *dir = *state;
	struct tu_run r;

	make_pair(dir);
	/* a 5 % gate on kernels: k_b (1.5) and k_a (1.1) */
	RUN(&r, dir, "diff", "-q", "--fail-on=kernel:ratio:1.05", "base.db", "new.db");
	tu_assert_status(&r, 5);
	assert_non_null(strstr(r.err,
			       "gprof-cli: regression: kernel 'k_b': total 2,000 ns -> "
			       "3,000 ns, ratio 1.500 > 1.05 (--fail-on=kernel:ratio:1.05)\n"));
	assert_non_null(strstr(r.err,
			       "gprof-cli: regression: kernel 'k_a': total 1,500 ns -> "
			       "1,650 ns, ratio 1.100 > 1.05 (--fail-on=kernel:ratio:1.05)\n"));
	assert_non_null(strstr(r.err, "gprof-cli: 2 regressions past the --fail-on thresholds\n"));
	tu_assert_lines(&r, "gprof-cli: ", 3);
	/* the table is printed all the same */
	assert_non_null(strstr(r.out, "k_b"));
	/* a looser threshold for k_b by name: only k_a */
	RUN(&r, dir, "diff", "-f", "csv", "--fail-on=kernel:ratio:1.05", "--fail-on=ratio:2:k_b",
	    "base.db", "new.db");
	tu_assert_status(&r, 5);
	assert_null(strstr(r.err, "'k_b'"));
	assert_non_null(strstr(r.err, "regression: kernel 'k_a'"));
	assert_non_null(strstr(r.err, "gprof-cli: 1 regression past the --fail-on thresholds\n"));
	/* a glob: k_* at 1.6 leaves no kernel; the memcpy (2.0) still trips ratio:1.6 */
	RUN(&r, dir, "diff", "-f", "csv", "--fail-on=ratio:1.6", "--fail-on=kernel:ratio:9:k_*",
	    "base.db", "new.db");
	tu_assert_status(&r, 5);
	assert_non_null(strstr(r.err, "regression: memcpy '[CUDA memcpy Host-to-Device]': total "
				      "30 ns -> 60 ns, ratio 2.000 > 1.6 (--fail-on=ratio:1.6)\n"));
	tu_assert_lines(&r, "gprof-cli: ", 2);
	/* by median: k_b's median did not move, k_a's grew 10 % */
	RUN(&r, dir, "diff", "-f", "csv", "--metric", "median", "--fail-on=kernel:ratio:1.05",
	    "base.db", "new.db");
	tu_assert_status(&r, 5);
	assert_non_null(strstr(r.err, "regression: kernel 'k_a': median 300 ns -> 330 ns, "
				      "ratio 1.100 > 1.05"));
	assert_null(strstr(r.err, "'k_b'"));
	/* thresholds not reached (the ratio must be above R), new and vanished names never
	 * fail a ratio, --kind restricts the check too */
	RUN(&r, dir, "diff", "-f", "csv", "--fail-on=ratio:2", "base.db", "new.db");
	tu_assert_status(&r, 0);
	assert_string_equal(r.err, "");
	RUN(&r, dir, "diff", "-f", "csv", "--kind=nvtx,osrt,api", "--fail-on=ratio:1.0", "base.db",
	    "new.db");
	tu_assert_status(&r, 0);
	assert_string_equal(r.err, "");
}

/* A name with control characters (NVTX messages are the application's bytes) reaches
 * the terminal escaped in the regression line. */
static void test_fail_on_escapes(void **state)
{
	const char *dir = *state;
	char p[PATH_MAX];
	struct tu_run r;
	const struct item base[] = {{'n', "esc\x1b[31mred\n", {100}}};
	const struct item new[] = {{'n', "esc\x1b[31mred\n", {200}}};

	make_report(tu_pathf(p, dir, "b.db"), base, 1);
	make_report(tu_pathf(p, dir, "n.db"), new, 1);
	RUN(&r, dir, "diff", "-f", "csv", "--fail-on=nvtx:ratio:1.5", "b.db", "n.db");
	tu_assert_status(&r, 5);
	assert_non_null(strstr(r.err, "gprof-cli: regression: nvtx ':esc\\e[31mred\\n': total "
				      "100 ns -> 200 ns, ratio 2.000 > 1.5"));
	assert_null(strchr(r.err, '\x1b'));
}

/*
 * Three runs per side: medians over the runs and the noise verdicts.
 *   k  totals base {1000, 1100, 1050}, new {1200, 1300, 1250}: median 1050 -> 1250,
 *      ratio 1.190, ranges apart: outside -> fails a 5 % gate
 *   j  totals base {1000, 1100, 1050}, new {1040, 1200, 1150}: 1050 -> 1150, ratio
 *      1.095 past 1.05 but the ranges overlap: within -> a warning, no failure
 *   s  in base runs 1 and 3 only (500 each), new {500, 500, 500}: counts {1, 0, 1} ->
 *      median 1, totals {500, 0, 500} -> median 500; ranges touch: within
 */
static void make_groups(const char *dir)
{
	static const long long k0[] = {1000, 1100, 1050}, k1[] = {1200, 1300, 1250};
	static const long long j0[] = {1000, 1100, 1050}, j1[] = {1040, 1200, 1150};
	char p[PATH_MAX], name[32];

	for (int side = 0; side < 2; side++) {
		for (int i = 0; i < 3; i++) {
			struct item items[3] = {
			    {'k', "k", {side ? k1[i] : k0[i]}},
			    {'k', "j", {side ? j1[i] : j0[i]}},
			    {'k', "s", {500}},
			};
			size_t n = side == 0 && i == 1 ? 2 : 3;

			snprintf(name, sizeof(name), "%s-%d.db", side ? "new" : "base", i + 1);
			make_report(tu_pathf(p, dir, name), items, n);
		}
	}
}

static void test_groups_noise(void **state)
{
	const char *dir = *state;
	struct tu_run r;

	make_groups(dir);
	RUN(&r, dir, "diff", "-f", "csv", "base-1.db", "base-2.db", "base-3.db", "--", "new-1.db",
	    "new-2.db", "new-3.db");
	tu_assert_status(&r, 0);
	assert_csv_row(r.out, "200,1.190,1050,1250,1,1,1050.0,1250.0,1050.0,1250.0,outside,slower,"
			      "kernel,k");
	assert_csv_row(r.out, "100,1.095,1050,1150,1,1,1050.0,1150.0,1050.0,1150.0,within,slower,"
			      "kernel,j");
	assert_csv_row(r.out, "0,1.000,500,500,1,1,500.0,500.0,500.0,500.0,within,same,kernel,s");
	assert_golden(&r, "groups.csv");
	RUN(&r, dir, "diff", "base-1.db", "base-2.db", "base-3.db", "--", "new-1.db", "new-2.db",
	    "new-3.db");
	tu_assert_status(&r, 0);
	assert_golden(&r, "groups.txt");

	/* options before "--"; the gate fails on k only, j is reported as within the spread */
	RUN(&r, dir, "diff", "-f", "csv", "--fail-on=kernel:ratio:1.05", "base-1.db", "base-2.db",
	    "base-3.db", "--", "new-1.db", "new-2.db", "new-3.db");
	tu_assert_status(&r, 5);
	assert_non_null(strstr(r.err, "gprof-cli: regression: kernel 'k': total 1,050 ns -> "
				      "1,250 ns, ratio 1.190 > 1.05"));
	assert_non_null(strstr(r.err,
			       "gprof-cli: warning: within the run-to-run spread, not "
			       "failing: kernel 'j': total 1,050 ns -> 1,150 ns, ratio 1.095 "
			       "> 1.05"));
	assert_non_null(strstr(r.err, "gprof-cli: 1 regression past the --fail-on thresholds\n"));

	/* one run against three: no spread to judge (Noise empty), j fails then */
	RUN(&r, dir, "diff", "-f", "csv", "--fail-on=kernel:ratio:1.05", "base-1.db", "--",
	    "new-1.db", "new-2.db", "new-3.db");
	tu_assert_status(&r, 5);
	assert_csv_row(r.out,
		       "250,1.250,1000,1250,1,1,1000.0,1250.0,1000.0,1250.0,,slower,kernel,k");
	assert_non_null(strstr(r.err, "regression: kernel 'j'"));
	assert_non_null(strstr(r.err, "regression: kernel 'k'"));
}

/* ---- the nsys fixture ---------------------------------------------------------------- */

/* The fixture against itself: every name same, ratio 1.000, delta 0. */
static void test_nsys_fixture_self(void **state)
{
	const char *dir = *state;
	char fx[PATH_MAX];
	struct tu_run r;
	const char *p;
	int rows = 0;

	tu_fixture(fx, "nsys-2025.3-launchbench.sqlite");
	RUN(&r, dir, "diff", "-f", "csv", "--fail-on=ratio:1.0", fx, fx);
	tu_assert_status(&r, 0);
	assert_string_equal(r.err, "");
	p = strchr(r.out, '\n');
	assert_non_null(p);
	for (p++; *p; p = strchr(p, '\n') + 1, rows++)
		if (strncmp(p, "0,1.000,", 8) || !strstr(p, ",same,"))
			fail_msg("row %d is not unchanged: %.*s", rows, (int)strcspn(p, "\n"), p);
	assert_int_equal(rows, 14);
	/* what nsys's own stats print for the fixture (.stats.txt) */
	assert_csv_row(r.out, "0,1.000,30761887,30761887,30001,30001,1024.0,1024.0,1056.0,1056.0,"
			      ",same,kernel,\"tiny(float *, int)\"");
	assert_csv_row(r.out, "0,1.000,159980270,159980270,300,300,517379.5,517379.5,667638.1,"
			      "667638.1,,same,nvtx,:iteration");
	/* -q: the title line would hold the fixture's path */
	RUN(&r, dir, "diff", "-q", fx, fx);
	tu_assert_status(&r, 0);
	assert_golden(&r, "nsys-self.txt");
}

/* The fixture against a copy with every kernel twice as long, cudaMalloc renamed to
 * cudaMallocAsync and cudaHostAlloc removed. */
static void test_nsys_fixture_modified(void **state)
{
	const char *dir = *state;
	char fx[PATH_MAX], mod[PATH_MAX], cmd[3 * PATH_MAX + 64];
	struct tu_run r;
	sqlite3 *db;

	tu_fixture(fx, "nsys-2025.3-launchbench.sqlite");
	tu_pathf(mod, dir, "mod.sqlite");
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && chmod u+w '%s'", fx, mod, mod);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(sqlite3_open(mod, &db), SQLITE_OK);
	exec_ok(db, "UPDATE CUPTI_ACTIVITY_KIND_KERNEL SET end = end + (end - start);"
		    "INSERT INTO StringIds (id, value) SELECT max(id) + 1, 'cudaMallocAsync' "
		    "FROM StringIds;"
		    "UPDATE CUPTI_ACTIVITY_KIND_RUNTIME SET nameId = (SELECT id FROM StringIds "
		    "WHERE value = 'cudaMallocAsync') WHERE nameId IN (SELECT id FROM StringIds "
		    "WHERE value LIKE 'cudaMalloc\\_v%' ESCAPE '\\');"
		    "DELETE FROM CUPTI_ACTIVITY_KIND_RUNTIME WHERE nameId IN (SELECT id FROM "
		    "StringIds WHERE value LIKE 'cudaHostAlloc%');");
	sqlite3_close(db);

	RUN(&r, dir, "diff", "-f", "csv", fx, mod);
	tu_assert_status(&r, 0);
	assert_csv_row(r.out, "30761887,2.000,30761887,61523774,30001,30001,1024.0,2048.0,1056.0,"
			      "2112.0,,slower,kernel,\"tiny(float *, int)\"");
	assert_csv_row(r.out, "117888599,,0,117888599,0,1,,117888599.0,,117888599.0,,new,api,"
			      "cudaMallocAsync");
	assert_csv_row(r.out, "-117888599,,117888599,0,1,0,117888599.0,,117888599.0,,,vanished,"
			      "api,cudaMalloc");
	assert_csv_row(r.out, "-875639,,875639,0,1,0,875639.0,,875639.0,,,vanished,api,"
			      "cudaHostAlloc");
	assert_csv_row(r.out, "0,1.000,139477820,139477820,30001,30001,4419.0,4419.0,6470.0,"
			      "6470.0,,same,api,cudaLaunchKernel");
	assert_golden(&r, "nsys-modified.csv");

	/* the CI gate: a 5 % kernel-time regression fails, naming the kernel */
	RUN(&r, dir, "diff", "-f", "csv", "--kind", "kernel", "--fail-on=kernel:ratio:1.05", fx,
	    mod);
	tu_assert_status(&r, 5);
	assert_non_null(strstr(r.err, "gprof-cli: regression: kernel 'tiny(float *, int)': total "
				      "30,761,887 ns -> 61,523,774 ns, ratio 2.000 > 1.05"));
	/* the other way round it got faster: no failure */
	RUN(&r, dir, "diff", "-f", "csv", "--fail-on=kernel:ratio:1.05", mod, fx);
	tu_assert_status(&r, 0);
	assert_csv_row(r.out, "-30761887,0.500,61523774,30761887,30001,30001,2048.0,1024.0,2112.0,"
			      "1056.0,,faster,kernel,\"tiny(float *, int)\"");
}

/* ---- reports recorded from CPU programs --------------------------------------------- */

/* Split one csv line (RFC 4180 quoting) into at most max fields, in place; returns the
 * number of fields. */
static int csv_split(char *line, char **field, int max)
{
	int n = 0;
	char *w = line, *r = line;

	while (n < max) {
		field[n++] = w;
		if (*r == '"') {
			for (r++; *r; r++) {
				if (*r == '"' && r[1] == '"')
					*w++ = *r++;
				else if (*r == '"')
					break;
				else
					*w++ = *r;
			}
			if (*r)
				r++;
		}
		while (*r && *r != ',')
			*w++ = *r++;
		if (!*r) {
			*w = '\0';
			break;
		}
		*w++ = '\0';
		r++;
	}
	return n;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The columns of a diff csv that do not depend on timing, "Kind|Name|Count Before|Count
 * After" with "|Status" when keep_status, one line per row, sorted; caller frees. */
static char *deterministic_columns(const char *csv, int keep_status)
{
	char *copy = strdup(csv), *save = NULL, *line, *lines[512];
	size_t n = 0, len = 1;
	char *res;

	assert_non_null(copy);
	line = strtok_r(copy, "\n", &save); /* the header */
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		char *f[14], buf[1024];

		assert_int_equal(csv_split(line, f, 14), 14);
		snprintf(buf, sizeof(buf), "%s|%s|%s|%s%s%s\n", f[12], f[13], f[4], f[5],
			 keep_status ? "|" : "", keep_status ? f[11] : "");
		assert_true(n < sizeof(lines) / sizeof(lines[0]));
		lines[n] = strdup(buf);
		len += strlen(buf);
		n++;
	}
	qsort(lines, n, sizeof(*lines), cmp_str);
	res = calloc(1, len);
	assert_non_null(res);
	for (size_t i = 0; i < n; i++) {
		strcat(res, lines[i]);
		free(lines[i]);
	}
	free(copy);
	return res;
}

/* The deterministic columns of r's csv must equal the golden file. */
static void assert_golden_columns(const struct tu_run *r, int keep_status, const char *name)
{
	struct tu_run cols;

	cols.status = r->status;
	char *c = deterministic_columns(r->out, keep_status);
	snprintf(cols.out, sizeof(cols.out), "%s", c);
	snprintf(cols.err, sizeof(cols.err), "%s", r->err);
	free(c);
	assert_golden(&cols, name);
}

/* capture_app with -c nvtx -p step --capture-range-end=repeat:3: three reports of one
 * iteration each.  rep.1.db vs rep.2.db (different capture ranges): the same names and
 * counts (capture_app.c: 1 step, 3 inner, 1 w-inner, 1 nanosleep); the group of the first
 * two against the third; a report against itself is unchanged. */
static void test_capture_ranges(void **state)
{
	const char *dir = *state;
	char app[PATH_MAX + 32];
	struct tu_run r;
	const char *p;

	snprintf(app, sizeof(app), "%s/tests/programs/capture_app", build);
	RUN(&r, dir, "profile", "-t", "nvtx,osrt", "-c", "nvtx", "-p", "step",
	    "--capture-range-end=repeat:3", "-o", "rep", app, "plain", "30", "100");
	tu_assert_status(&r, 0);

	RUN(&r, dir, "diff", "-f", "csv", "rep.1.db", "rep.2.db");
	tu_assert_status(&r, 0);
	assert_golden_columns(&r, 0, "capture.cols");
	RUN(&r, dir, "diff", "-f", "csv", "rep.1.db", "rep.2.db", "--", "rep.3.db");
	tu_assert_status(&r, 0);
	assert_golden_columns(&r, 0, "capture.cols");

	RUN(&r, dir, "diff", "-f", "csv", "--fail-on=ratio:1.0", "rep.2.db", "rep.2.db");
	tu_assert_status(&r, 0);
	assert_golden_columns(&r, 1, "capture-self.cols");
	for (p = strchr(r.out, '\n') + 1; *p; p = strchr(p, '\n') + 1)
		if (strncmp(p, "0,1.000,", 8))
			fail_msg("not unchanged: %.*s", (int)strcspn(p, "\n"), p);
}

/* nvtx_app twice (deterministic NVTX counts, nvtx_app.c): the same ranges with the same
 * counts; the column format prints; a gprof-cli report against the nsys fixture: the
 * fixture's names are new, the app's vanished. */
static void test_nvtx_app_runs(void **state)
{
	const char *dir = *state;
	char app[PATH_MAX + 32], fx[PATH_MAX];
	struct tu_run r;

	snprintf(app, sizeof(app), "%s/tests/programs/nvtx_app", build);
	RUN(&r, dir, "profile", "-t", "nvtx", "-o", "a", app);
	tu_assert_status(&r, 0);
	RUN(&r, dir, "profile", "-t", "nvtx", "-o", "b", app);
	tu_assert_status(&r, 0);
	RUN(&r, dir, "diff", "-f", "csv", "a.db", "b.db");
	tu_assert_status(&r, 0);
	assert_golden_columns(&r, 0, "nvtx_app.cols");
	RUN(&r, dir, "diff", "--kind=nvtx", "a.db", "b.db");
	tu_assert_status(&r, 0);
	assert_int_equal(strncmp(r.out, " ** Diff by total (diff): a.db -> b.db\n\n", 40), 0);

	tu_fixture(fx, "nsys-2025.3-launchbench.sqlite");
	RUN(&r, dir, "diff", "-f", "csv", "--kind=nvtx,kernel", fx, "a.db");
	tu_assert_status(&r, 0);
	assert_non_null(strstr(r.err, "gprof-cli: warning: the NEW reports do not contain CUDA "
				      "kernel data: its names show as vanished\n"));
	assert_golden_columns(&r, 1, "nsys-vs-nvtx_app.cols");
}

/* ---- bad command lines and reports ------------------------------------------------- */

static void assert_error(const struct tu_run *r, int status, const char *what)
{
	if (r->status != status)
		fail_msg("status %d (want %d), stderr:\n%s", r->status, status, r->err);
	tu_assert_one_error(r, what);
	assert_string_equal(r->out, "");
}

static void test_bad_usage(void **state)
{
	const char *dir = *state;
	struct tu_run r;

	make_pair(dir);
	RUN(&r, dir, "diff", "base.db");
	assert_error(&r, 2, "diff needs two reports, BASE and NEW");
	RUN(&r, dir, "diff", "base.db", "new.db", "base.db");
	assert_error(&r, 2, "needs '--' between the BASE and the NEW ones");
	RUN(&r, dir, "diff", "base.db", "--");
	assert_error(&r, 2, "no NEW report given after '--'");
	RUN(&r, dir, "diff", "--", "new.db");
	assert_error(&r, 2, "no BASE report given before '--'");
	RUN(&r, dir, "diff", "base.db", "--", "new.db", "--fail-on=ratio:1.1");
	assert_error(&r, 2, "option '--fail-on=ratio:1.1' after '--': only NEW reports go there");
	RUN(&r, dir, "diff", "base.db", "base.db", "--", "new.db");
	assert_error(&r, 2, "report 'base.db' given twice among the BASE reports");
	RUN(&r, dir, "diff", "--fail-on=ratio", "base.db", "new.db");
	assert_error(&r, 2, "bad --fail-on 'ratio': expected 'ratio:R'");
	RUN(&r, dir, "diff", "--fail-on=gpu:ratio:1.1", "base.db", "new.db");
	assert_error(&r, 2, "unknown kind 'gpu'");
	RUN(&r, dir, "diff", "--fail-on=ratio:0", "base.db", "new.db");
	assert_error(&r, 2, "the ratio must be a number above 0");
	RUN(&r, dir, "diff", "--fail-on=ratio:1.1x", "base.db", "new.db");
	assert_error(&r, 2, "the ratio must be a number above 0");
	RUN(&r, dir, "diff", "--fail-on=ratio:1.1:", "base.db", "new.db");
	assert_error(&r, 2, "empty name after the ratio");
	RUN(&r, dir, "diff", "--metric=mean", "base.db", "new.db");
	assert_error(&r, 2, "unknown metric 'mean'");
	RUN(&r, dir, "diff", "--kind=kernel,gpu", "base.db", "new.db");
	assert_error(&r, 2, "unknown kind 'gpu' for --kind");
	RUN(&r, dir, "diff", "--format=xml", "base.db", "new.db");
	assert_error(&r, 2, "unknown format 'xml'");
	RUN(&r, dir, "diff", "--timeunit=h", "base.db", "new.db");
	assert_error(&r, 2, "unknown time unit 'h'");
	RUN(&r, dir, "diff", "--bogus", "base.db", "new.db");
	assert_error(&r, 2, "unknown option '--bogus'");
	RUN(&r, dir, "diff", "--help");
	tu_assert_status(&r, 0);
	assert_non_null(strstr(r.out, "usage: gprof-cli diff [<options>] BASE.db NEW.db\n"));
}

static void test_bad_report(void **state)
{
	const char *dir = *state;
	char p[PATH_MAX];
	struct tu_run r;

	make_pair(dir);
	RUN(&r, dir, "diff", "base.db", "missing.db");
	assert_error(&r, 3, "missing.db");
	tu_write_text(tu_pathf(p, dir, "text.db"), "not a database\n");
	RUN(&r, dir, "diff", "text.db", "--", "base.db", "new.db");
	assert_error(&r, 3, "text.db");
}

int main(void)
{
	const char *g = getenv("GPROF_CLI"), *b = getenv("BUILD");
#define T(f) cmocka_unit_test_setup_teardown(f, tu_setup_tmpdir, tu_teardown_tmpdir)
	const struct CMUnitTest tests[] = {
	    T(test_pair_values),
	    T(test_pair_formats),
	    T(test_fail_on),
	    T(test_fail_on_escapes),
	    T(test_groups_noise),
	    T(test_nsys_fixture_self),
	    T(test_nsys_fixture_modified),
	    T(test_capture_ranges),
	    T(test_nvtx_app_runs),
	    T(test_bad_usage),
	    T(test_bad_report),
	};

	/* the tests run gprof-cli in their own folders: absolute paths */
	if (!realpath(g && *g ? g : "build/bin/gprof-cli", gprof) ||
	    !realpath(b && *b ? b : "build", build)) {
		fprintf(stderr, "test_diff: gprof-cli or the build folder not found\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
