/*
 * test_mpi.c - gprof-cli under a real Open MPI launcher (issue 4, "MPI and many ranks"):
 *
 *   mpirun --allow-run-as-root --oversubscribe -np 4 gprof-cli profile -t nvtx,osrt \
 *          -o DIR/r.%q{OMPI_COMM_WORLD_RANK} $BUILD/tests/programs/mpi_app K SLOW_MS
 *
 * gives exactly r.0.db .. r.3.db, each finished cleanly and holding only its own rank's
 * NVTX ranges (K "rank<r>:iter" and K "rank<r>:wait", one pid); rank 1 sleeps SLOW_MS in
 * each "iter" range, so its iter ranges average >= SLOW_MS and the others' "wait" ranges
 * add up to at least (K-1)*SLOW_MS/2 (they wait for rank 1 in MPI_Allreduce/Barrier).
 * Then `stats` over the four (labelled blocks, --merge, one bad file among several) and
 * scripts/mpi-profile-rank0.sh (exactly one report, local rank 0's).
 *
 * Needs Open MPI (openmpi-bin, libopenmpi-dev): without mpirun on PATH or the mpicc-built
 * $BUILD/tests/programs/mpi_app every test is skipped with a message.  Runs as root need
 * --allow-run-as-root; --oversubscribe lets 4 ranks run on a 2-core machine; no network
 * is needed (Open MPI 4.1's default shared-memory/self transports on one host).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/testutil.h"

#include <sqlite3.h>

#define NRANKS	4
#define ITERS	5
#define SLOW_MS 40

static const char *gprof;
static char app[PATH_MAX], srcdir[PATH_MAX];
static char dir[] = "/tmp/gprof-test-mpi-XXXXXX";
static int have_mpi, profiled;

/* Run a shell command in dir; stdout to dir/out, stderr to dir/err; the exit status. */
static int sh(const char *fmt, ...)
{
	char cmd[8192], full[9000];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "cd '%s' && ( %s ) >'%s/out' 2>'%s/err'", dir, cmd, dir, dir);
	st = system(full);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static char *out_text(const char *which)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", dir, which);
	char *text = tu_slurp(p, NULL);

	return text ? text : strdup("");
}

/* Number of files in d whose name ends with ".db". */
static int count_db(const char *d)
{
	DIR *dp = opendir(d);
	struct dirent *e;
	int n = 0;

	if (!dp)
		return -1;
	while ((e = readdir(dp))) {
		size_t len = strlen(e->d_name);
		n += len > 3 && !strcmp(e->d_name + len - 3, ".db");
	}
	closedir(dp);
	return n;
}

static int setup(void **state)
{
	const char *b = getenv("BUILD");
	char bdir[PATH_MAX];

	gprof = getenv("GPROF_CLI");
	if (!gprof || !*gprof)
		gprof = "build/bin/gprof-cli";
	if (!b || !*b)
		b = "build";
	snprintf(app, sizeof(app), "%s/tests/programs/mpi_app", b);
	snprintf(bdir, sizeof(bdir), "%s", b);
	/* the source tree: the build dir's parent when BUILD is absolute, else "." */
	if (!realpath(bdir, srcdir) || !strcmp(dirname(srcdir), "/"))
		snprintf(srcdir, sizeof(srcdir), ".");
	if (!realpath(app, bdir))
		bdir[0] = '\0';
	snprintf(app, sizeof(app), "%s", bdir);
	have_mpi =
	    app[0] && access(app, X_OK) == 0 && system("command -v mpirun >/dev/null 2>&1") == 0;
	if (!have_mpi) {
		fprintf(stderr, "test_mpi: Open MPI (mpirun, mpicc-built mpi_app) not found: "
				"skipping; install openmpi-bin libopenmpi-dev\n");
		return 0;
	}
	if (!mkdtemp(dir))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	if (have_mpi) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			return -1;
	}
	return 0;
}

#define MPIRUN "mpirun --allow-run-as-root --oversubscribe -np 4"

/* Profile the 4 ranks once; the later tests read the reports. */
static void profile_ranks(void)
{
	int rc;

	if (profiled)
		return;
	rc = sh(MPIRUN " '%s' profile -t nvtx,osrt -o '%s/r.%%q{OMPI_COMM_WORLD_RANK}' '%s' %d %d",
		gprof, dir, app, ITERS, SLOW_MS);
	if (rc != 0) {
		char *e = out_text("err");
		fprintf(stderr, "mpirun exited %d:\n%s\n", rc, e);
		free(e);
	}
	assert_int_equal(rc, 0);
	profiled = 1;
}

static sqlite3 *open_rank(int r)
{
	char p[PATH_MAX];
	sqlite3 *db = NULL;

	snprintf(p, sizeof(p), "%s/r.%d.db", dir, r);
	assert_int_equal(access(p, R_OK), 0);
	assert_int_equal(sqlite3_open_v2(p, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	return db;
}

static double query_num(sqlite3 *db, const char *fmt, ...)
{
	char sql[2048];
	sqlite3_stmt *st;
	va_list ap;
	double v = -1;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_double(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* NVTX push/pop ranges with their text resolved (inline text or StringIds). */
#define RANGES                                                                                     \
	"(SELECT start, end, globalTid, COALESCE(text, (SELECT value FROM StringIds "              \
	"WHERE id = textId)) AS name FROM NVTX_EVENTS WHERE eventType = 59)"

static void test_four_reports(void **state)
{
	if (!have_mpi)
		skip();
	profile_ranks();
	assert_int_equal(count_db(dir), NRANKS);
	for (int r = 0; r < NRANKS; r++) {
		sqlite3 *db = open_rank(r);
		sqlite3_stmt *st;

		assert_int_equal(sqlite3_prepare_v2(db,
						    "SELECT value FROM META_DATA_EXPORT WHERE "
						    "name = 'GPROF_FINISHED_CLEANLY'",
						    -1, &st, NULL),
				 SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(st, 0), "true");
		sqlite3_finalize(st);
		/* only this rank's ranges, exactly ITERS of each kind, one process */
		assert_int_equal(query_num(db, "SELECT count(*) FROM " RANGES), 2 * ITERS);
		assert_int_equal(
		    query_num(db, "SELECT count(*) FROM " RANGES " WHERE name = 'rank%d:iter'", r),
		    ITERS);
		assert_int_equal(
		    query_num(db, "SELECT count(*) FROM " RANGES " WHERE name = 'rank%d:wait'", r),
		    ITERS);
		assert_int_equal(
		    query_num(db, "SELECT count(DISTINCT globalTid >> 24) FROM " RANGES), 1);
		assert_int_equal(query_num(db, "SELECT count(*) FROM " RANGES " WHERE end IS NULL "
					       "OR end < start"),
				 0);
		sqlite3_close(db);
	}
}

static void test_slow_rank(void **state)
{
	double slow_iter, slow_ns = SLOW_MS * 1e6;

	if (!have_mpi)
		skip();
	profile_ranks();
	{
		sqlite3 *db = open_rank(1);
		slow_iter = query_num(db, "SELECT avg(end - start) FROM " RANGES
					  " WHERE name = 'rank1:iter'");
		/* rank 1's nanosleeps are in its OS runtime trace, one per iteration */
		assert_true(query_num(db,
				      "SELECT count(*) FROM OSRT_API o JOIN StringIds s ON "
				      "s.id = o.nameId WHERE s.value IN ('nanosleep', "
				      "'clock_nanosleep') AND o.end - o.start >= %.0f",
				      slow_ns) >= ITERS);
		sqlite3_close(db);
	}
	assert_true(slow_iter >= slow_ns);
	for (int r = 0; r < NRANKS; r++) {
		sqlite3 *db;
		double iter, wait;
		if (r == 1)
			continue;
		db = open_rank(r);
		iter = query_num(
		    db, "SELECT avg(end - start) FROM " RANGES " WHERE name = 'rank%d:iter'", r);
		wait = query_num(
		    db, "SELECT sum(end - start) FROM " RANGES " WHERE name = 'rank%d:wait'", r);
		sqlite3_close(db);
		/* the fast ranks do no work in their iter ranges; they wait for rank 1 */
		assert_true(iter < slow_iter);
		assert_true(wait >= (ITERS - 1) * slow_ns / 2);
	}
}

static void test_stats_several(void **state)
{
	char *o, *e;

	if (!have_mpi)
		skip();
	profile_ranks();
	/* each input's tables in turn, labelled by the Processing banner */
	assert_int_equal(sh("'%s' stats -r nvtx_sum r.0.db r.1.db r.2.db r.3.db", gprof), 0);
	o = out_text("out");
	for (int r = 0; r < NRANKS; r++) {
		char want[128];
		snprintf(want, sizeof(want), "Processing [r.%d.db] with [reports/nvtx_sum.py]", r);
		assert_non_null(strstr(o, want));
		snprintf(want, sizeof(want), ":rank%d:iter", r);
		assert_non_null(strstr(o, want));
	}
	free(o);
	/* --quiet: a head(1)-style label per input */
	assert_int_equal(sh("'%s' stats -q -f csv -r nvtx_sum r.0.db r.2.db", gprof), 0);
	o = out_text("out");
	assert_true(!strncmp(o, "==> r.0.db <==\n", 15));
	assert_non_null(strstr(o, "\n\n==> r.2.db <==\n"));
	assert_null(strstr(o, "r.1.db"));
	free(o);
	/* files: PREFIX_<input>_<report>.csv, one per input */
	assert_int_equal(
	    sh("'%s' stats -r nvtx_sum -o out r.0.db r.1.db && cat out_r.0_nvtx_sum.csv "
	       "out_r.1_nvtx_sum.csv",
	       gprof),
	    0);
	o = out_text("out");
	assert_non_null(strstr(o, ",:rank0:iter\n"));
	assert_non_null(strstr(o, ",:rank1:iter\n"));
	free(o);
	/* one bad file among several: named, exit 3, nothing printed */
	assert_int_equal(sh("echo not a report > bad.db && '%s' stats r.0.db bad.db r.1.db; "
			    "s=$?; rm -f bad.db; exit $s",
			    gprof),
			 3);
	o = out_text("out");
	e = out_text("err");
	assert_string_equal(o, "");
	assert_non_null(strstr(e, "'bad.db'"));
	free(o);
	free(e);
}

static void test_stats_merge(void **state)
{
	char *o, line[512];
	int rows = 0, seen[NRANKS] = {0};
	FILE *f;

	if (!have_mpi)
		skip();
	profile_ranks();
	assert_int_equal(
	    sh("'%s' stats --merge -q -f csv -r nvtx_sum r.0.db r.1.db r.2.db r.3.db", gprof), 0);
	snprintf(line, sizeof(line), "%s/out", dir);
	f = fopen(line, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_true(!strncmp(line, "Report,Time (%),Total Time (ns),Instances,", 42));
	while (fgets(line, sizeof(line), f)) {
		int r;
		char kind[8];
		assert_int_equal(sscanf(line, "r.%d.db,", &r), 1);
		assert_true(r >= 0 && r < NRANKS);
		/* the row's range belongs to the row's report */
		snprintf(kind, sizeof(kind), "%d:", r);
		assert_non_null(strstr(line, ",:rank"));
		assert_non_null(strstr(strstr(line, ",:rank") + 6, kind));
		seen[r]++;
		rows++;
	}
	fclose(f);
	assert_int_equal(rows, 2 * NRANKS);
	for (int r = 0; r < NRANKS; r++)
		assert_int_equal(seen[r], 2);
	/* column format: one banner naming all four, one table */
	assert_int_equal(sh("'%s' stats --merge -r nvtx_sum r.0.db r.1.db r.2.db r.3.db", gprof),
			 0);
	o = out_text("out");
	assert_non_null(strstr(o, "Processing [r.0.db, r.1.db, r.2.db, r.3.db] with "
				  "[reports/nvtx_sum.py]"));
	assert_non_null(strstr(o, " ** NVTX Range Summary (nvtx_sum):"));
	assert_null(strstr(strstr(o, "(nvtx_sum):") + 1, "(nvtx_sum):"));
	assert_non_null(strstr(o, " r.3.db "));
	free(o);
	/* --merge and --output .: one file per report cannot be named after one input */
	assert_int_equal(sh("'%s' stats --merge -o . -r nvtx_sum r.0.db r.1.db", gprof), 2);
}

static void test_rank0_script(void **state)
{
	char sub[PATH_MAX + 8];

	if (!have_mpi)
		skip();
	snprintf(sub, sizeof(sub), "%s/rank0", dir);
	assert_int_equal(sh("mkdir rank0 && GPROF_CLI='%s' " MPIRUN
			    " '%s/scripts/mpi-profile-rank0.sh' -t nvtx -o "
			    "'rank0/s.%%q{OMPI_COMM_WORLD_RANK}' -- '%s' 3 5",
			    gprof, srcdir, app),
			 0);
	assert_int_equal(count_db(sub), 1);
	snprintf(sub, sizeof(sub), "%s/rank0/s.0.db", dir);
	assert_int_equal(access(sub, R_OK), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_four_reports),  cmocka_unit_test(test_slow_rank),
	    cmocka_unit_test(test_stats_several), cmocka_unit_test(test_stats_merge),
	    cmocka_unit_test(test_rank0_script),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
