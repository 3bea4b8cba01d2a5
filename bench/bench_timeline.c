/*
 * bench_timeline.c - speed, size and memory of `export --type perfetto|chrome-json`
 * (exporters/timeline.h; figures in bench/RESULTS.md, issue 14).
 *
 * Makes a report of N events in nsys's tables (NVTX_EVENTS, CUPTI_ACTIVITY_KIND_RUNTIME and
 * CUPTI_ACTIVITY_KIND_KERNEL with their full nsys columns, as a CUDA launch loop records
 * them: per iteration an NVTX range, a cudaLaunchKernel and its kernel, one flow each),
 * then in a child process each (one core, the parent waits) exports it:
 *   - baseline: the same SQLite queries stepped to the end, nothing written (the floor the
 *     export stands on: reading and sorting the rows);
 *   - perfetto and chrome-json: timeline_export() to a file.
 * Prints per run: events/s of wall time and per CPU second (user + sys of the child), the
 * child's peak RSS, bytes per event of the output and of the report file.  Run twice, with
 * N and 4N events, the peak RSS shows whether memory grows with the report.
 *
 * usage: bench_timeline [N]   (default 1000000 events)
 * BENCH_KEEP=1: only N, and the report is kept (its path printed).
 */
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

/* The baseline: the walk's three queries, stepped, nothing written. */
static long scan(sqlite3 *db)
{
	static const char *const q[] = {
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
	};
	long rows = 0;

	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		sqlite3_stmt *st;

		if (sqlite3_prepare_v2(db, q[i], -1, &st, NULL) != SQLITE_OK)
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

struct result {
	double wall, cpu;
	long rss_kb;
	long long bytes;
};

/* Run one export (mode 0 baseline, 1 perfetto, 2 chrome-json) in a child. */
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

		if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
			_exit(1);
		if (mode == 0) {
			scan(db);
			_exit(0);
		}
		o.type = mode == 1 ? TIMELINE_PERFETTO : TIMELINE_CHROME_JSON;
		_exit(timeline_export(&db, paths, 1, &o));
	}
	if (wait4(pid, &st, 0, &ru) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		die("bench_timeline: export %d failed", mode);
	r.wall = now() - t0;
	r.cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec +
		ru.ru_stime.tv_usec * 1e-6;
	r.rss_kb = ru.ru_maxrss;
	if (mode && stat(out, &sb) == 0)
		r.bytes = sb.st_size;
	return r;
}

static void bench(long n)
{
	char db[] = "/tmp/bench-timeline-XXXXXX";
	char path[64], out[64];
	struct stat sb;
	int fd = mkstemp(db);
	long events = (n / 3) * 3;
	static const char *const names[] = {"sqlite scan (baseline)", "perfetto", "chrome-json"};
	struct result res[3];

	if (fd < 0)
		die("bench_timeline: mkstemp failed");
	close(fd);
	unlink(db);
	snprintf(path, sizeof(path), "%s.db", db);
	bench_make_launch_report(path, n);
	stat(path, &sb);
	printf("%ld events (NVTX range, cudaLaunchKernel, kernel per iteration); report %.1f MB,"
	       " %.1f bytes/event\n",
	       events, sb.st_size / 1e6, (double)sb.st_size / (double)events);
	for (int m = 0; m < 3; m++) {
		snprintf(out, sizeof(out), "%s.%s", db, m == 1 ? "pftrace" : "json");
		res[m] = run(path, out, m);
		printf("  %-24s %6.2f s wall %6.2f s cpu  %5.2f M events/s wall  %5.2f M/cpu-s"
		       "  peak RSS %6.1f MB",
		       names[m], res[m].wall, res[m].cpu, events / res[m].wall / 1e6,
		       events / res[m].cpu / 1e6, res[m].rss_kb / 1024.0);
		if (m)
			printf("  %6.1f bytes/event (%.2fx the report)  %.2fx the baseline's cpu",
			       (double)res[m].bytes / (double)events,
			       (double)res[m].bytes / (double)sb.st_size, res[m].cpu / res[0].cpu);
		printf("\n");
		unlink(out);
	}
	if (!getenv("BENCH_KEEP"))
		unlink(path);
	else
		printf("  kept %s\n", path);
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
