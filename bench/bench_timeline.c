/*
 * bench_timeline.c - speed, size and memory of `export --type perfetto|chrome-json`
 * (exporters/timeline.h; figures in bench/RESULTS.md, issue 14).
 *
 * Makes a report of N events in nsys's tables (NVTX_EVENTS, CUPTI_ACTIVITY_KIND_RUNTIME and
 * CUPTI_ACTIVITY_KIND_KERNEL with their full nsys columns, as a CUDA launch loop records
 * them: per iteration an NVTX range, a cudaLaunchKernel and its kernel, one flow each;
 * rows in time order, as nsys's exports hold them) and a copy of it with the rows of those
 * tables shuffled (the walk must sort them), then on each, in a child process each (one
 * core, the parent waits):
 *   - scan, storage order: the columns the walk reads, stepped in rowid order, nothing
 *     written (the floor of a report in time order);
 *   - scan, sorted + join: the same sorted by (start, end DESC) with the kernel -> API join
 *     (the walk's queries before it read in storage order; the floor of a sorting reader);
 *   - perfetto and chrome-json: timeline_export() to a file.
 * Prints per run: events/s of wall time and per CPU second (user + sys of the child), the
 * child's peak RSS, bytes per event of the output and of the report file.  Run twice, with
 * N and 4N events, the peak RSS shows whether memory grows with the report.  The reports
 * go to $TMPDIR (default /tmp).
 *
 * usage: bench_timeline [N]   (default 1000000 events)
 * BENCH_KEEP=1: only N, and the report is kept (its path printed).
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bench/benchutil.h"
#include "core/util.h"
#include "exporters/timeline.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The baselines: the reads the walk stands on, stepped, nothing written.  sorted = 1: the
 * three tables each sorted by (start, end DESC) with the kernel -> API join (the walk's
 * queries before issue 14's rework, and what any reader of an unordered report pays);
 * sorted = 0: the same columns in storage order, no join (the floor for a report written
 * in time order). */
static long scan(sqlite3 *db, int sorted)
{
	static const char *const q[2][3] = {
	    {
		"SELECT e.start, e.end, e.eventType, COALESCE(e.text, s.value), e.globalTid,"
		" e.domainId, e.color, e.category FROM NVTX_EVENTS e LEFT JOIN StringIds s ON"
		" s.id = e.textId WHERE e.eventType IN (34, 59, 60) ORDER BY e.rowid",
		"SELECT r.start, r.end, r.globalTid, r.correlationId, s.value FROM"
		" CUPTI_ACTIVITY_KIND_RUNTIME r LEFT JOIN StringIds s ON s.id = r.nameId"
		" ORDER BY r.rowid",
		"SELECT g.start, g.end, g.deviceId, g.streamId, s.value, g.correlationId,"
		" g.globalPid FROM CUPTI_ACTIVITY_KIND_KERNEL g LEFT JOIN StringIds s ON s.id ="
		" g.demangledName ORDER BY g.rowid",
	    },
	    {
		"SELECT e.start, e.end, e.eventType, COALESCE(e.text, s.value), e.globalTid,"
		" e.domainId, e.color, e.category FROM NVTX_EVENTS e LEFT JOIN StringIds s ON"
		" s.id = e.textId WHERE e.eventType IN (34, 59, 60) ORDER BY e.start, e.end DESC",
		"SELECT r.start, r.end, r.globalTid, r.correlationId, s.value FROM"
		" CUPTI_ACTIVITY_KIND_RUNTIME r LEFT JOIN StringIds s ON s.id = r.nameId"
		" ORDER BY r.start, r.end DESC",
		"SELECT g.start, g.end, g.deviceId, g.streamId, s.value, r.start, r.globalTid FROM"
		" CUPTI_ACTIVITY_KIND_KERNEL g LEFT JOIN StringIds s ON s.id = g.demangledName"
		" LEFT JOIN CUPTI_ACTIVITY_KIND_RUNTIME r ON r.correlationId = g.correlationId"
		" ORDER BY g.start, g.end DESC",
	    },
	};
	long rows = 0;

	for (size_t i = 0; i < 3; i++) {
		sqlite3_stmt *st;

		if (sqlite3_prepare_v2(db, q[sorted][i], -1, &st, NULL) != SQLITE_OK)
			die("bench_timeline: %s", sqlite3_errmsg(db));
		while (sqlite3_step(st) == SQLITE_ROW) {
			(void)sqlite3_column_int64(st, 0);
			(void)sqlite3_column_text(st, 4);
			rows++;
		}
		sqlite3_finalize(st);
	}
	return rows;
}

/* A copy of report src at dst with the rows of the three event tables in random storage
 * order (same schema, same rows): a report the walk must sort. */
static void shuffle_report(const char *src, const char *dst)
{
	static const char *const tables[] = {"NVTX_EVENTS", "CUPTI_ACTIVITY_KIND_RUNTIME",
					     "CUPTI_ACTIVITY_KIND_KERNEL"};
	sqlite3 *db;
	char *err = NULL, *sql;

	unlink(dst);
	if (sqlite3_open(dst, &db) != SQLITE_OK)
		die("bench_timeline: cannot create '%s'", dst);
	sql = sqlite3_mprintf("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
			      " ATTACH %Q AS src;",
			      src);
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		die("bench_timeline: %s", err);
	sqlite3_free(sql);
	if (sqlite3_exec(db, "BEGIN;", NULL, NULL, &err) != SQLITE_OK)
		die("bench_timeline: %s", err);
	{
		sqlite3_stmt *st;

		if (sqlite3_prepare_v2(
			db, "SELECT name, sql FROM src.sqlite_master WHERE type = 'table'", -1, &st,
			NULL) != SQLITE_OK)
			die("bench_timeline: %s", sqlite3_errmsg(db));
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *name = (const char *)sqlite3_column_text(st, 0);
			int shuffle = 0;

			for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
				shuffle |= !strcmp(name, tables[i]);
			sql = sqlite3_mprintf(
			    "%s; INSERT INTO main.\"%w\" SELECT * FROM src.\"%w\"%s;",
			    (const char *)sqlite3_column_text(st, 1), name, name,
			    shuffle ? " ORDER BY random()" : "");
			if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
				die("bench_timeline: %s", err);
			sqlite3_free(sql);
		}
		sqlite3_finalize(st);
	}
	if (sqlite3_exec(db, "COMMIT; DETACH src;", NULL, NULL, &err) != SQLITE_OK)
		die("bench_timeline: %s", err);
	sqlite3_close(db);
}

struct result {
	double wall, cpu;
	long rss_kb;
	long long bytes;
};

enum { M_SCAN, M_SORT, M_PERFETTO, M_JSON, M_COUNT };

/* Run one mode on report db_path in a child. */
static struct result run(const char *db_path, const char *out, int mode)
{
	struct result r = {0};
	struct rusage ru;
	struct stat sb;
	int st;
	double t0 = now();
	pid_t pid = fork();

	if (pid < 0)
		die("bench_timeline: fork failed");
	if (pid == 0) {
		sqlite3 *db;
		const char *paths[1] = {db_path};
		struct timeline_opts o = {.end = INT64_MAX, .force = 1, .quiet = 1, .output = out};

		if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
				    NULL) != SQLITE_OK)
			_exit(1);
		if (mode == M_SCAN || mode == M_SORT) {
			scan(db, mode == M_SORT);
			_exit(0);
		}
		o.type = mode == M_PERFETTO ? TIMELINE_PERFETTO : TIMELINE_CHROME_JSON;
		_exit(timeline_export(&db, paths, 1, &o));
	}
	if (wait4(pid, &st, 0, &ru) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		die("bench_timeline: run %d on '%s' failed (status %d)", mode, db_path, st);
	r.wall = now() - t0;
	r.cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec +
		ru.ru_stime.tv_usec * 1e-6;
	r.rss_kb = ru.ru_maxrss;
	if (mode >= M_PERFETTO && stat(out, &sb) == 0)
		r.bytes = sb.st_size;
	return r;
}

static void bench(long n)
{
	static const char *const names[M_COUNT] = {"scan, storage order", "scan, sorted + join",
						   "perfetto", "chrome-json"};
	static const char *const kinds[2] = {"in time order", "shuffled"};
	const char *dir = getenv("TMPDIR");
	char db[PATH_MAX], path[2][PATH_MAX + 16], out[PATH_MAX + 16];
	struct stat sb;
	int fd;
	long events = (n / 3) * 3;

	snprintf(db, sizeof(db), "%s/bench-timeline-XXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkstemp(db);
	if (fd < 0)
		die("bench_timeline: mkstemp failed");
	close(fd);
	unlink(db);
	snprintf(path[0], sizeof(path[0]), "%s.db", db);
	snprintf(path[1], sizeof(path[1]), "%s-shuffled.db", db);
	bench_make_launch_report(path[0], n);
	shuffle_report(path[0], path[1]);
	stat(path[0], &sb);
	printf("%ld events (NVTX range, cudaLaunchKernel, kernel per iteration); report %.1f MB,"
	       " %.1f bytes/event\n",
	       events, sb.st_size / 1e6, (double)sb.st_size / (double)events);
	for (int k = 0; k < 2; k++) {
		struct result res[M_COUNT];

		printf(" report %s:\n", kinds[k]);
		for (int m = 0; m < M_COUNT; m++) {
			snprintf(out, sizeof(out), "%s.%s", db,
				 m == M_PERFETTO ? "pftrace" : "json");
			res[m] = run(path[k], out, m);
			printf(
			    "  %-22s %6.2f s wall %6.2f s cpu  %5.2f M events/s wall  %5.2f M/cpu-s"
			    "  peak RSS %6.1f MB",
			    names[m], res[m].wall, res[m].cpu, events / res[m].wall / 1e6,
			    events / res[m].cpu / 1e6, res[m].rss_kb / 1024.0);
			if (m >= M_PERFETTO)
				printf("  %6.1f bytes/event (%.2fx the report)  %.2fx the sorted "
				       "scan's cpu",
				       (double)res[m].bytes / (double)events,
				       (double)res[m].bytes / (double)sb.st_size,
				       res[m].cpu / res[M_SORT].cpu);
			printf("\n");
			unlink(out);
		}
	}
	unlink(path[1]);
	if (!getenv("BENCH_KEEP"))
		unlink(path[0]);
	else
		printf("  kept %s\n", path[0]);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;

	if (n < 3) {
		fprintf(stderr, "usage: bench_timeline [EVENTS]\n");
		return 2;
	}
	bench(n);
	if (!getenv("BENCH_KEEP")) /* BENCH_KEEP=1: one size, its report kept to look at */
		bench(4 * n);
	return 0;
}
