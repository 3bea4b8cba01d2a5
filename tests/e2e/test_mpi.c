/*
 * test_mpi.c - gprof-cli under a real Open MPI launcher (issue 4, "MPI and many ranks"):
 *
 *   mpirun --allow-run-as-root --oversubscribe -np 4 gprof-cli profile -t nvtx,osrt \
 *          -o DIR/r.%q{OMPI_COMM_WORLD_RANK} $BUILD/tests/programs/mpi_app K SLOW_MS
 *
 * gives exactly r.0.db .. r.3.db, each finished cleanly and holding only its own rank's
 * NVTX ranges (K "rank<r>:iter" and K "rank<r>:wait", one pid); rank 1 sleeps SLOW_MS in
 * each "iter" range, so its iter ranges last >= SLOW_MS, and the others wait for it in
 * MPI_Allreduce/Barrier: each of their "wait" ranges ends after rank 1's "iter" range of
 * the same iteration (report times are made comparable across the ranks' reports with
 * each one's session start; see abs_rows), and at least one lasts SLOW_MS/2.
 * Then `stats` over the four (labelled blocks, --merge, one bad file among several) and
 * scripts/mpi-profile-rank0.sh (exactly one report, local rank 0's).
 *
 * MPI tracing (issue 10, -t mpi): the same 4 ranks under `profile -t mpi,nvtx` with
 * mpi_app's "calls" phase give, per rank, exactly the rows that phase makes in nsys's
 * tables (MPI_P2P_EVENTS, MPI_COLLECTIVES_EVENTS, MPI_START_WAIT_EVENTS, MPI_OTHER_EVENTS:
 * function, count, peer, root, tag, sizes, request handles that join a wait to its send
 * or receive) and one MPI_RANKS row; the fast ranks' MPI_Allreduce rows hold the wait for
 * slow rank 1 (none ends before rank 1's of the same iteration starts), inside their
 * "wait" NVTX ranges; the mpi_event_sum, mpi_event_trace and
 * mpi_msg_size_sum reports; MPI loaded with dlopen(RTLD_LOCAL) by a program that does not
 * link it (mpi_dlopen, as Python loads mpi4py); and, when MPICH is installed (mpicc.mpich,
 * mpirun.mpich), the same rows from the MPICH-built mpi_app under --mpi-impl=mpich.
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
/* How far two processes' report times may disagree: each process converts the TSC on its
 * own calibration, which stays within 1 ms of CLOCK_MONOTONIC (collectors/producer.c "the
 * clock").  Within one process every collector reads the same clock: no tolerance. */
#define CLOCK_TOL_NS 2000000LL

static const char *gprof;
static char app[PATH_MAX], srcdir[PATH_MAX];
static char dir[] = "/tmp/gprof-test-mpi-XXXXXX";
static int have_mpi, profiled;

/* Run a shell command in dir; stdout to dir/out, stderr to dir/err; the exit status. */
static int sh(const char *fmt, ...)
{
	va_list ap;
	int st;

	va_start(ap, fmt);
	st = tu_vsh_in(dir, fmt, ap);
	va_end(ap);
	return st;
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

/* The rows (start, end) of `from` (a table expression; printf format) in report
 * DIR/<prefix>.<r>.db, in start order, as CLOCK_MONOTONIC times: a report's times are
 * relative to its own session start, and each rank has a session of its own, so times
 * of two ranks compare only once each report's SESSION_START_MONOTONIC_NS is added.
 * Asserts there are exactly `n` rows (t holds n). */
static void abs_rows(const char *prefix, int r, long long t[][2], int n, const char *from, ...)
{
	char p[PATH_MAX], tab[1536], sql[2048];
	sqlite3 *db = NULL;
	sqlite3_stmt *st;
	va_list ap;
	int k = 0;

	va_start(ap, from);
	vsnprintf(tab, sizeof(tab), from, ap);
	va_end(ap);
	snprintf(
	    sql, sizeof(sql),
	    "SELECT t.start + b.v, t.end + b.v FROM (SELECT * FROM %s) t, (SELECT CAST(value "
	    "AS INTEGER) v FROM META_DATA_CAPTURE WHERE name = 'SESSION_START_MONOTONIC_NS') b "
	    "ORDER BY t.start",
	    tab);
	snprintf(p, sizeof(p), "%s/%s.%d.db", dir, prefix, r);
	assert_int_equal(sqlite3_open_v2(p, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	while (sqlite3_step(st) == SQLITE_ROW) {
		assert_true(k < n);
		assert_int_equal(sqlite3_column_type(st, 1), SQLITE_INTEGER);
		t[k][0] = sqlite3_column_int64(st, 0);
		t[k][1] = sqlite3_column_int64(st, 1);
		k++;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	assert_int_equal(k, n);
}

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
	long long slow[ITERS][2], wait[ITERS][2];

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
		/* each iter range holds the sleep */
		assert_int_equal(query_num(db,
					   "SELECT count(*) FROM " RANGES " WHERE name = "
					   "'rank1:iter' AND end - start >= %.0f",
					   slow_ns),
				 ITERS);
		sqlite3_close(db);
	}
	assert_true(slow_iter >= slow_ns);
	abs_rows("r", 1, slow, ITERS, RANGES " WHERE name = 'rank1:iter'");
	for (int r = 0; r < NRANKS; r++) {
		sqlite3 *db;
		double iter;
		long long longest = 0;

		if (r == 1)
			continue;
		db = open_rank(r);
		iter = query_num(
		    db, "SELECT avg(end - start) FROM " RANGES " WHERE name = 'rank%d:iter'", r);
		sqlite3_close(db);
		/* the fast ranks do no work in their iter ranges; they wait for rank 1 */
		assert_true(iter < slow_iter);
		/* Its MPI_Allreduce cannot return before rank 1 called it, after its sleep: every
		 * "wait" range ends after rank 1's "iter" range of the same iteration, however
		 * the ranks were scheduled.  How long the range lasts depends on when this rank
		 * got there: about SLOW_MS in an iteration where it was not held up itself. */
		abs_rows("r", r, wait, ITERS, RANGES " WHERE name = 'rank%d:wait'", r);
		for (int i = 0; i < ITERS; i++) {
			assert_true(wait[i][1] + CLOCK_TOL_NS >= slow[i][1]);
			if (wait[i][1] - wait[i][0] > longest)
				longest = wait[i][1] - wait[i][0];
		}
		assert_true(longest >= slow_ns / 2);
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

/* ---- -t mpi ------------------------------------------------------------------------- */

static int mpi_profiled;

/* Profile the 4 ranks once with -t mpi,nvtx and mpi_app's "calls" phase: m.<rank>.db. */
static void profile_mpi(void)
{
	int rc;

	if (mpi_profiled)
		return;
	rc = sh(MPIRUN " '%s' profile -t mpi,nvtx -o '%s/m.%%q{OMPI_COMM_WORLD_RANK}' '%s' %d %d "
		       "calls",
		gprof, dir, app, ITERS, SLOW_MS);
	if (rc != 0) {
		char *e = out_text("err");
		fprintf(stderr, "mpirun exited %d:\n%s\n", rc, e);
		free(e);
	}
	assert_int_equal(rc, 0);
	mpi_profiled = 1;
}

static sqlite3 *open_report(const char *prefix, int r)
{
	char p[PATH_MAX];
	sqlite3 *db = NULL;

	snprintf(p, sizeof(p), "%s/%s.%d.db", dir, prefix, r);
	assert_int_equal(access(p, R_OK), 0);
	assert_int_equal(sqlite3_open_v2(p, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	return db;
}

/* Rows of `table` for function `fn` on db. */
static int fn_rows(sqlite3 *db, const char *table, const char *fn)
{
	return (int)query_num(db,
			      "SELECT count(*) FROM %s e JOIN StringIds s ON s.id = e.textId "
			      "WHERE s.value = '%s'",
			      table, fn);
}

/* One expected row count: `count` rows of `fn` in `table` on every rank (only == -1), or on
 * rank `only`. */
struct mpi_expect {
	const char *table, *fn;
	int count, only;
};

#define P2P  "MPI_P2P_EVENTS"
#define COLL "MPI_COLLECTIVES_EVENTS"
#define SW   "MPI_START_WAIT_EVENTS"
#define OTH  "MPI_OTHER_EVENTS"

/* Every row of mpi_app's loop (iters) and "calls" phase on 4 ranks (its header comment). */
static int mpi_expected(const struct mpi_expect **out, int iters)
{
	static struct mpi_expect e[] = {
	    {P2P, "MPI_Sendrecv", 4, -1}, /* 2 calls, send and receive halves differ */
	    {P2P, "MPI_Isend", 3, -1},	    {P2P, "MPI_Irecv", 3, -1},
	    {P2P, "MPI_Recv", 3, 0},	    {P2P, "MPI_Send", 1, 1},
	    {P2P, "MPI_Send", 1, 2},	    {P2P, "MPI_Send", 1, 3},
	    {COLL, "MPI_Allreduce", 0, -1}, /* iters + 1, set below */
	    {COLL, "MPI_Barrier", 0, -1},   /* iters */
	    {COLL, "MPI_Bcast", 1, -1},	    {COLL, "MPI_Reduce", 1, -1},
	    {COLL, "MPI_Allgather", 1, -1}, {COLL, "MPI_Alltoall", 1, -1},
	    {COLL, "MPI_Gather", 1, -1},    {COLL, "MPI_Scatter", 1, -1},
	    {COLL, "MPI_Ibarrier", 1, -1},  {SW, "MPI_Waitall", 6, -1}, /* 3 calls x 2 requests */
	    {SW, "MPI_Wait", 1, -1},	    {OTH, "MPI_Wait", 1, -1},	/* on MPI_REQUEST_NULL */
	    {OTH, "MPI_Init", 1, -1},	    {OTH, "MPI_Finalize", 1, -1},
	    {OTH, "MPI_Comm_split", 1, -1}, {OTH, "MPI_Comm_free", 1, -1},
	};
	e[7].count = iters + 1;
	e[8].count = iters;
	*out = e;
	return (int)(sizeof(e) / sizeof(e[0]));
}

/* Exact rows per table and function on each rank of reports <prefix>.<r>.db. */
static void check_mpi_rows(const char *prefix, int iters)
{
	const struct mpi_expect *e;
	int n = mpi_expected(&e, iters);
	const char *tables[] = {P2P, COLL, SW, OTH};

	for (int r = 0; r < NRANKS; r++) {
		sqlite3 *db = open_report(prefix, r);
		int total[4] = {0};

		for (int i = 0; i < n; i++) {
			if (e[i].only >= 0 && e[i].only != r)
				continue;
			if (fn_rows(db, e[i].table, e[i].fn) != e[i].count)
				fail_msg("%s.%d.db: %d rows of %s in %s, want %d", prefix, r,
					 fn_rows(db, e[i].table, e[i].fn), e[i].fn, e[i].table,
					 e[i].count);
			for (int t = 0; t < 4; t++)
				total[t] += !strcmp(e[i].table, tables[t]) ? e[i].count : 0;
		}
		/* nothing else (MPI_Comm_rank, MPI_Comm_size are not traced) */
		for (int t = 0; t < 4; t++)
			assert_int_equal(query_num(db, "SELECT count(*) FROM %s", tables[t]),
					 total[t]);
		assert_int_equal(
		    query_num(db,
			      "SELECT count(*) FROM %s e JOIN StringIds s ON "
			      "s.id = e.textId WHERE s.value IN ('MPI_Comm_rank', 'MPI_Comm_size')",
			      OTH),
		    0);
		/* MPI_RANKS: this rank, for the one thread that made the calls */
		assert_int_equal(query_num(db, "SELECT count(*) FROM MPI_RANKS"), 1);
		assert_int_equal(query_num(db, "SELECT rank FROM MPI_RANKS"), r);
		assert_int_equal(query_num(db,
					   "SELECT count(*) FROM (SELECT globalTid FROM %s UNION "
					   "SELECT globalTid FROM %s UNION SELECT globalTid FROM "
					   "%s UNION SELECT globalTid FROM %s) WHERE globalTid "
					   "NOT IN (SELECT globalTid FROM MPI_RANKS)",
					   P2P, COLL, SW, OTH),
				 0);
		assert_int_equal(query_num(db,
					   "SELECT count(*) FROM (SELECT start, end FROM %s UNION "
					   "ALL SELECT start, end FROM %s) WHERE end < start",
					   P2P, COLL),
				 0);
		sqlite3_close(db);
	}
}

/* "<value>" of the first row of sql, as text, into a static buffer ("NULL" for NULL). */
static const char *query_text(sqlite3 *db, const char *fmt, ...)
{
	static char buf[1024];
	char sql[2048];
	sqlite3_stmt *st;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	snprintf(buf, sizeof(buf), "NULL");
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		snprintf(buf, sizeof(buf), "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return buf;
}

/* P2P rows of fn as "peer/tag/size/has-request" in start order, joined with ' '. */
#define P2P_COLS(fn)                                                                               \
	"SELECT group_concat(v, ' ') FROM (SELECT remoteRank || '/' || tag || '/' || size || '/' " \
	"|| (requestHandle IS NOT NULL) AS v FROM " P2P " e JOIN StringIds s ON s.id = e.textId "  \
	"WHERE s.value = '" fn "' ORDER BY start, v)"
/* Collective rows of fn as "root/size/recvSize/has-request". */
#define COLL_COLS(fn)                                                                              \
	"SELECT group_concat(v, ' ') FROM (SELECT coalesce(rootRank, '-') || '/' || "              \
	"coalesce(size, '-') || '/' || coalesce(recvSize, '-') || '/' || (requestHandle IS NOT "   \
	"NULL) AS v FROM " COLL " e JOIN StringIds s ON s.id = e.textId WHERE s.value = '" fn      \
	"' ORDER BY start)"

/* The columns of the "calls" phase's rows on each rank (mpi_app.c's header comment). */
static void check_mpi_columns(const char *prefix)
{
	char want[256];

	for (int r = 0; r < NRANKS; r++) {
		sqlite3 *db = open_report(prefix, r);
		int left = (r + NRANKS - 1) % NRANKS, right = (r + 1) % NRANKS;

		/* point to point: peers, tags, bytes; Isend/Irecv carry their request */
		/* each call's two rows have the same start: in peer order */
		int lo = left < right ? left : right, hi = left < right ? right : left;
		snprintf(want, sizeof(want), "%d/7/1024/0 %d/7/1024/0 %d/7/1024/0 %d/7/1024/0", lo,
			 hi, lo, hi);
		assert_string_equal(query_text(db, P2P_COLS("MPI_Sendrecv")), want);
		snprintf(want, sizeof(want), "%d/9/800/1 %d/9/800/1 %d/9/800/1", right, right,
			 right);
		assert_string_equal(query_text(db, P2P_COLS("MPI_Isend")), want);
		snprintf(want, sizeof(want), "%d/9/800/1 %d/9/800/1 %d/9/800/1", left, left, left);
		assert_string_equal(query_text(db, P2P_COLS("MPI_Irecv")), want);
		if (r == 0) {
			/* MPI_ANY_SOURCE / MPI_ANY_TAG: the matched sender and tag */
			assert_string_equal(
			    query_text(db,
				       "SELECT group_concat(v, ' ') FROM (SELECT remoteRank || "
				       "'/' || tag || '/' || size AS v FROM %s e JOIN StringIds s "
				       "ON s.id = e.textId WHERE s.value = 'MPI_Recv' ORDER BY v)",
				       P2P),
			    "1/101/16 2/102/16 3/103/16");
		} else {
			snprintf(want, sizeof(want), "0/%d/16/0", 100 + r);
			assert_string_equal(query_text(db, P2P_COLS("MPI_Send")), want);
		}
		/* collectives: root, bytes sent, bytes received (NULL where none) */
		assert_string_equal(query_text(db, COLL_COLS("MPI_Bcast")),
				    r == 2 ? "2/40/-/0" : "2/-/40/0");
		assert_string_equal(query_text(db, COLL_COLS("MPI_Reduce")),
				    r == 0 ? "0/24/24/0" : "0/24/-/0");
		assert_string_equal(query_text(db, COLL_COLS("MPI_Allgather")), "-/8/32/0");
		assert_string_equal(query_text(db, COLL_COLS("MPI_Alltoall")), "-/16/16/0");
		assert_string_equal(query_text(db, COLL_COLS("MPI_Gather")),
				    r == 1 ? "1/4/16/0" : "1/4/-/0");
		assert_string_equal(query_text(db, COLL_COLS("MPI_Scatter")),
				    r == 3 ? "3/32/8/0" : "3/-/8/0");
		assert_string_equal(query_text(db, COLL_COLS("MPI_Barrier")),
				    "-/-/-/0 -/-/-/0 -/-/-/0 -/-/-/0 -/-/-/0");
		assert_string_equal(query_text(db, COLL_COLS("MPI_Ibarrier")), "-/-/-/1");
		/* every MPI_Allreduce moves one long; the last one is on the MPI_Comm_split half */
		assert_int_equal(query_num(db,
					   "SELECT count(*) FROM %s e JOIN StringIds s ON s.id = "
					   "e.textId WHERE s.value = 'MPI_Allreduce' AND size = 8 "
					   "AND recvSize = 8 AND rootRank IS NULL",
					   COLL),
				 ITERS + 1);
		assert_int_equal(query_num(db,
					   "SELECT count(DISTINCT commHandle) FROM %s e JOIN "
					   "StringIds s ON s.id = e.textId WHERE s.value = "
					   "'MPI_Allreduce'",
					   COLL),
				 2);
		/* a wait's request is the one its MPI_Isend/MPI_Irecv/MPI_Ibarrier returned */
		assert_int_equal(
		    query_num(db,
			      "SELECT count(*) FROM %s w WHERE EXISTS (SELECT 1 FROM "
			      "%s p WHERE p.requestHandle = w.requestHandle AND "
			      "p.start < w.start) OR EXISTS (SELECT 1 FROM %s c WHERE "
			      "c.requestHandle = w.requestHandle AND c.start < w.start)",
			      SW, P2P, COLL),
		    7);
		/* each MPI_Waitall call: its 2 rows share the call's times */
		assert_int_equal(query_num(db,
					   "SELECT count(*) FROM (SELECT start, end FROM %s e "
					   "JOIN StringIds s ON s.id = e.textId WHERE s.value = "
					   "'MPI_Waitall' GROUP BY start, end HAVING count(*) = 2)",
					   SW),
				 3);
		sqlite3_close(db);
	}
}

static void test_mpi_rows(void **state)
{
	if (!have_mpi)
		skip();
	profile_mpi();
	assert_int_equal(count_db(dir), 2 * NRANKS);
	check_mpi_rows("m", ITERS);
}

static void test_mpi_columns(void **state)
{
	if (!have_mpi)
		skip();
	profile_mpi();
	check_mpi_columns("m");
	/* -t mpi,nvtx: the NVTX ranges are still there */
	for (int r = 0; r < NRANKS; r++) {
		sqlite3 *db = open_report("m", r);
		assert_int_equal(query_num(db, "SELECT count(*) FROM " RANGES), 2 * ITERS);
		sqlite3_close(db);
	}
}

/* MPI_Allreduce on MPI_COMM_WORLD (the loop's: the commHandle of MPI_Barrier's rows). */
#define WORLD_ALLREDUCE                                                                            \
	"(SELECT e.* FROM MPI_COLLECTIVES_EVENTS e JOIN StringIds s ON s.id = e.textId WHERE "     \
	"s.value = 'MPI_Allreduce' AND e.commHandle = (SELECT b.commHandle FROM "                  \
	"MPI_COLLECTIVES_EVENTS b JOIN StringIds t ON t.id = b.textId WHERE t.value = "            \
	"'MPI_Barrier' LIMIT 1))"

static void test_mpi_slow_rank(void **state)
{
	double slow_ns = SLOW_MS * 1e6;
	long long a[NRANKS][ITERS][2], iter1[ITERS][2];
	int last = 0;

	if (!have_mpi)
		skip();
	profile_mpi();
	/* each rank's loop MPI_Allreduce calls, and rank 1's iter ranges (its sleeps) */
	for (int r = 0; r < NRANKS; r++)
		abs_rows("m", r, a[r], ITERS, WORLD_ALLREDUCE);
	abs_rows("m", 1, iter1, ITERS, RANGES " WHERE name = 'rank1:iter'");
	for (int i = 0; i < ITERS; i++) {
		int late = 1;

		/* rank 1 calls MPI_Allreduce after its iter range, which holds the sleep (one
		 * process: the MPI and NVTX collectors read one clock) */
		assert_true(iter1[i][1] - iter1[i][0] >= slow_ns);
		assert_true(a[1][i][0] >= iter1[i][1]);
		for (int r = 0; r < NRANKS; r++) {
			if (r == 1)
				continue;
			/* a collective returns on no rank before every rank called it: rank r
			 * waits in its MPI_Allreduce until rank 1 arrives, and rank 1 (in the
			 * rare iteration where r was held up longer than the sleep) until r */
			assert_true(a[r][i][1] + CLOCK_TOL_NS >= a[1][i][0]);
			assert_true(a[1][i][1] + CLOCK_TOL_NS >= a[r][i][0]);
			late &= a[1][i][0] - a[r][i][0] >= slow_ns / 2;
		}
		/* an iteration where rank 1 arrived last by SLOW_MS/2 or more: its peers hold
		 * the wait (by the above), rank 1 hardly waits */
		if (late && a[1][i][1] - a[1][i][0] < slow_ns / 2)
			last++;
	}
	/* rank 1 arrives last and its peers wait for it: true of every iteration where no
	 * rank was kept off a CPU for SLOW_MS/2 by the machine's load, so of one at least */
	assert_true(last >= 1);
	for (int r = 0; r < NRANKS; r++) {
		sqlite3 *db;
		if (r == 1)
			continue;
		db = open_report("m", r);
		/* the fast ranks' MPI_Allreduce calls lie inside their "wait" NVTX ranges, on the
		 * same thread */
		assert_int_equal(
		    query_num(db,
			      "SELECT count(*) FROM " WORLD_ALLREDUCE " a WHERE EXISTS "
			      "(SELECT 1 FROM " RANGES " n WHERE n.name = 'rank%d:wait' "
			      "AND n.globalTid = a.globalTid AND a.start >= n.start AND "
			      "a.end <= n.end)",
			      r),
		    ITERS);
		sqlite3_close(db);
	}
}

static void test_mpi_stats(void **state)
{
	char *o;

	if (!have_mpi)
		skip();
	profile_mpi();
	assert_int_equal(sh("'%s' stats -q -f csv -r mpi_event_sum m.0.db", gprof), 0);
	o = out_text("out");
	assert_true(!strncmp(o,
			     "Time (%),Total Time (ns),Instances,Avg (ns),Med (ns),Min (ns),"
			     "Max (ns),StdDev (ns),Source,Name\n",
			     91));
	assert_non_null(strstr(o, ",6,")); /* the Waitall rows */
	assert_non_null(strstr(o, ",start-wait,MPI_Waitall\n"));
	assert_non_null(strstr(o, ",collectives,MPI_Allreduce\n"));
	assert_non_null(strstr(o, ",p2p,MPI_Recv\n"));
	assert_non_null(strstr(o, ",other,MPI_Init\n"));
	free(o);
	assert_int_equal(sh("'%s' stats -q -f csv -r mpi_msg_size_sum m.0.db", gprof), 0);
	o = out_text("out");
	assert_true(
	    !strncmp(o, "Total Message Volume,Instances,Avg,Med,Min,Max,StdDev,Source,Name\n", 66));
	assert_non_null(strstr(o, "\n4096,4,1024.0,1024.0,1024,1024,0.0,p2p,MPI_Sendrecv\n"));
	assert_non_null(strstr(o, "\n2400,3,800.0,800.0,800,800,0.0,p2p,MPI_Isend\n"));
	assert_non_null(strstr(o, "\n24,1,24.0,24.0,24,24,0.0,coll_recv,MPI_Reduce\n"));
	assert_non_null(strstr(o, "\n16,1,16.0,16.0,16,16,0.0,coll_send,MPI_Alltoall\n"));
	assert_null(strstr(o, "MPI_Barrier")); /* no data moved */
	free(o);
	assert_int_equal(sh("'%s' stats -q -f csv -r mpi_event_trace m.3.db", gprof), 0);
	o = out_text("out");
	assert_true(!strncmp(o,
			     "Start (ns),End (ns),Duration (ns),Event,Pid,Tid,Tag,Rank,PeerRank,"
			     "RootRank,Size,CollSendSize,CollRecvSize\n",
			     106));
	/* 40 rows of rank 3, the header line */
	assert_int_equal(tu_total_lines(o),
			 1 + 4 + 3 + 3 + 1 + (ITERS + 1) + ITERS + 7 + 6 + 1 + 5);
	assert_non_null(strstr(o, ",MPI_Send,"));
	assert_non_null(strstr(o, ",103,3,0,,16,,\n"));
	assert_non_null(strstr(o, ",MPI_Scatter,"));
	assert_non_null(strstr(o, ",,3,,3,,32,8\n"));
	free(o);
	/* a report without MPI data: skipped with nsys's words */
	assert_int_equal(sh("'%s' stats -r mpi_event_sum r.0.db", gprof), 0);
	o = out_text("out");
	assert_non_null(strstr(o, "SKIPPED: r.0.db does not contain MPI event data."));
	free(o);
}

/* "<folder of mpi_app>/name" into buf (PATH_MAX + 32 bytes). */
static char *program(char *buf, const char *name)
{
	snprintf(buf, PATH_MAX + 32, "%.*s/%s", (int)(strrchr(app, '/') - app), app, name);
	return buf;
}

static void test_mpi_dlopen(void **state)
{
	char dl[PATH_MAX + 32], mod[PATH_MAX + 32];

	if (!have_mpi)
		skip();
	program(dl, "mpi_dlopen");
	program(mod, "mpi_dlmod.so");
	assert_int_equal(sh("mpirun --allow-run-as-root --oversubscribe -np 2 '%s' profile -t mpi "
			    "-o '%s/dl.%%q{OMPI_COMM_WORLD_RANK}' '%s' '%s' 3",
			    gprof, dir, dl, mod),
			 0);
	for (int r = 0; r < 2; r++) {
		sqlite3 *db = open_report("dl", r);
		assert_int_equal(fn_rows(db, COLL, "MPI_Allreduce"), 3);
		assert_int_equal(fn_rows(db, COLL, "MPI_Barrier"), 1);
		assert_int_equal(fn_rows(db, OTH, "MPI_Init"), 1);
		assert_int_equal(fn_rows(db, OTH, "MPI_Finalize"), 1);
		assert_int_equal(query_num(db, "SELECT count(*) FROM MPI_COLLECTIVES_EVENTS WHERE "
					       "size = 4 AND recvSize = 4"),
				 3);
		assert_int_equal(query_num(db, "SELECT rank FROM MPI_RANKS"), r);
		sqlite3_close(db);
	}
}

/* The same rows from mpi_app built with MPICH (int handles, MPICH's status and constants),
 * when MPICH is installed next to Open MPI. */
static void test_mpi_mpich(void **state)
{
	char mp[PATH_MAX + 32];

	if (!have_mpi)
		skip();
	program(mp, "mpi_app_mpich");
	if (access(mp, X_OK) != 0 || system("command -v mpirun.mpich >/dev/null 2>&1") != 0) {
		fprintf(stderr, "test_mpi: MPICH (mpicc.mpich, mpirun.mpich) not found: skipping "
				"the --mpi-impl=mpich run; install mpich libmpich-dev\n");
		skip();
	}
	assert_int_equal(sh("mpirun.mpich -np 4 '%s' profile -t mpi,nvtx --mpi-impl=mpich -o "
			    "'%s/c.%%q{PMI_RANK}' '%s' %d %d calls",
			    gprof, dir, mp, ITERS, SLOW_MS),
			 0);
	check_mpi_rows("c", ITERS);
	check_mpi_columns("c");
	{
		sqlite3 *db = open_report("c", 0);
		/* MPICH's MPI_COMM_WORLD handle, 0x44000000 */
		assert_int_equal(query_num(db, "SELECT commHandle FROM MPI_COLLECTIVES_EVENTS "
					       "ORDER BY start LIMIT 1"),
				 0x44000000);
		sqlite3_close(db);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_four_reports),  cmocka_unit_test(test_slow_rank),
	    cmocka_unit_test(test_stats_several), cmocka_unit_test(test_stats_merge),
	    cmocka_unit_test(test_rank0_script),  cmocka_unit_test(test_mpi_rows),
	    cmocka_unit_test(test_mpi_columns),	  cmocka_unit_test(test_mpi_slow_rank),
	    cmocka_unit_test(test_mpi_stats),	  cmocka_unit_test(test_mpi_dlopen),
	    cmocka_unit_test(test_mpi_mpich),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
