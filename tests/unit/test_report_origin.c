/*
 * test_report_origin.c - the rank, boot and clock-anchor rows (core/report_origin.c):
 * each launcher family's variables and their precedence, values that are not ranks, the
 * anchor's bracket, and the rows a real recorder writes under OMPI_COMM_WORLD_* (issue 13).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/report_origin.h"
#include "core/util.h"
#include "tests/testutil.h"

/* the environment of one case: NAME=VALUE strings, NULL-terminated */
static const char *const *env_table;

static const char *table_getenv(const char *name)
{
	size_t n = strlen(name);

	for (const char *const *e = env_table; e && *e; e++)
		if (!strncmp(*e, name, n) && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

static void origin_of(const char *const *env, struct report_origin *o, int want_found)
{
	env_table = env;
	assert_int_equal(report_origin_from_env(table_getenv, o), want_found);
}

static void test_families(void **state)
{
	struct report_origin o;
	static const char *const ompi[] = {"OMPI_COMM_WORLD_RANK=3", "OMPI_COMM_WORLD_SIZE=8",
					   "OMPI_COMM_WORLD_LOCAL_RANK=1", "RANK=7", NULL};
	static const char *const pmi[] = {"PMI_RANK=5", "PMI_SIZE=6", NULL};
	static const char *const slurm[] = {"SLURM_PROCID=12", "SLURM_NTASKS=16", "SLURM_LOCALID=4",
					    NULL};
	static const char *const torch[] = {"RANK=2", "WORLD_SIZE=4", "LOCAL_RANK=0", NULL};

	(void)state;
	origin_of(ompi, &o, 1); /* Open MPI wins over torchrun's RANK */
	assert_int_equal(o.rank, 3);
	assert_int_equal(o.world_size, 8);
	assert_int_equal(o.local_rank, 1);
	assert_string_equal(o.rank_source, "OMPI_COMM_WORLD_RANK");
	origin_of(pmi, &o, 1);
	assert_int_equal(o.rank, 5);
	assert_int_equal(o.world_size, 6);
	assert_int_equal(o.local_rank, -1);
	assert_string_equal(o.rank_source, "PMI_RANK");
	origin_of(slurm, &o, 1);
	assert_int_equal(o.rank, 12);
	assert_int_equal(o.world_size, 16);
	assert_int_equal(o.local_rank, 4);
	assert_string_equal(o.rank_source, "SLURM_PROCID");
	origin_of(torch, &o, 1);
	assert_int_equal(o.rank, 2);
	assert_int_equal(o.world_size, 4);
	assert_int_equal(o.local_rank, 0);
	assert_string_equal(o.rank_source, "RANK");
}

static void test_not_ranks(void **state)
{
	struct report_origin o;
	static const char *const none[] = {"HOME=/root", NULL};
	/* not decimal: the next family is tried */
	static const char *const bad[] = {"OMPI_COMM_WORLD_RANK=-1",
					  "PMI_RANK=x",
					  "SLURM_PROCID=3a",
					  "RANK=",
					  "LOCAL_RANK=1",
					  NULL};
	static const char *const badsize[] = {"RANK=1", "WORLD_SIZE=four", NULL};

	(void)state;
	origin_of(none, &o, 0);
	assert_int_equal(o.rank, -1);
	assert_null(o.rank_source);
	origin_of(bad, &o, 0);
	assert_int_equal(o.rank, -1);
	origin_of(badsize, &o, 1);
	assert_int_equal(o.rank, 1);
	assert_int_equal(o.world_size, -1);
}

static void test_anchor(void **state)
{
	struct report_clock_anchor a;
	struct timespec m, r;

	(void)state;
	report_clock_anchor(&a);
	clock_gettime(CLOCK_MONOTONIC, &m);
	clock_gettime(CLOCK_REALTIME, &r);
	uint64_t mono = (uint64_t)m.tv_sec * 1000000000ull + (uint64_t)m.tv_nsec;
	int64_t real = (int64_t)r.tv_sec * 1000000000ll + r.tv_nsec;
	/* the anchor's pair keeps the clocks' offset: the offset now is the same within
	 * a millisecond (nothing steps the clock in a test run) */
	int64_t off_anchor = a.realtime_ns - (int64_t)a.monotonic_ns;
	int64_t off_now = real - (int64_t)mono;
	assert_true(llabs((long long)(off_anchor - off_now)) < 1000000);
	assert_true(a.monotonic_ns <= mono);
	/* the tightest of 16 brackets: two vDSO clock reads, well under 100 us even under load */
	assert_true(a.uncertainty_ns < 100000);
}

static void send_nothing(int fd)
{
	(void)fd;
}

static void test_rows_in_report(void **state)
{
	char *dir = tu_mkdtemp("/tmp/gprof-test-origin-XXXXXX"), path[512], buf[128];

	(void)state;
	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/r.db", dir);
	setenv("OMPI_COMM_WORLD_RANK", "2", 1);
	setenv("OMPI_COMM_WORLD_SIZE", "4", 1);
	setenv("OMPI_COMM_WORLD_LOCAL_RANK", "2", 1);
	tu_record_session(path, 3000000000ull, 77, send_nothing);
	unsetenv("OMPI_COMM_WORLD_RANK");
	unsetenv("OMPI_COMM_WORLD_SIZE");
	unsetenv("OMPI_COMM_WORLD_LOCAL_RANK");
	assert_string_equal(tu_meta(path, "META_DATA_CAPTURE", "GPROF_RANK", buf, sizeof(buf)),
			    "2");
	assert_string_equal(
	    tu_meta(path, "META_DATA_CAPTURE", "GPROF_WORLD_SIZE", buf, sizeof(buf)), "4");
	assert_string_equal(
	    tu_meta(path, "META_DATA_CAPTURE", "GPROF_LOCAL_RANK", buf, sizeof(buf)), "2");
	assert_string_equal(
	    tu_meta(path, "META_DATA_CAPTURE", "GPROF_RANK_SOURCE", buf, sizeof(buf)),
	    "OMPI_COMM_WORLD_RANK");
	tu_meta(path, "META_DATA_CAPTURE", "GPROF_BOOT_ID", buf, sizeof(buf));
	assert_int_equal(strlen(buf), 36); /* a UUID */
	assert_true(tu_query_int(path, "SELECT CAST(value AS INTEGER) FROM META_DATA_CAPTURE "
				       "WHERE name = 'GPROF_CLOCK_ANCHOR_MONOTONIC_NS'") > 0);
	assert_true(tu_query_int(path, "SELECT CAST(value AS INTEGER) FROM META_DATA_CAPTURE "
				       "WHERE name = 'GPROF_CLOCK_ANCHOR_REALTIME_NS'") >
		    1700000000000000000ll);
	assert_true(tu_query_int(path, "SELECT count(*) FROM META_DATA_CAPTURE WHERE name IN "
				       "('GPROF_CLOCK_ANCHOR_UNCERTAINTY_NS', "
				       "'GPROF_CLOCK_SYNC_STATE')") == 2);
	assert_int_equal(tu_rm_rf(dir), 0);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_families),
	    cmocka_unit_test(test_not_ranks),
	    cmocka_unit_test(test_anchor),
	    cmocka_unit_test(test_rows_in_report),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
