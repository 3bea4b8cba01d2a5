/*
 * bench_hostmem.c - added cost per malloc/free pair of the host memory collector
 * (libgprof-hostmem.so, --host-memory-usage=true; issue 20).
 *
 * Usage: bench_hostmem [PAIRS]      (default 2000000 pairs per measurement)
 *
 * Children of this binary run one loop each and print the fastest of 7 repetitions, in
 * ns per malloc + free pair (the pointer goes through an empty asm so the compiler keeps
 * the pair):
 *   small   malloc(64) + free: below the default threshold (4096), only counted;
 *   big     malloc(65536) + free: at least the threshold, both calls recorded (two
 *           GP_REC_HOSTMEM_EVENT records, the address table);
 *   small4  small on 4 threads at once (ns per pair per thread): the process-wide
 *           atomic counter's cache line moves between cores.
 * Under:
 *   bare     no LD_PRELOAD (the allocator alone: glibc);
 *   counted  LD_PRELOAD=libgprof-hostmem.so without gprof-cli (no records; the counting
 *            path every call takes);
 *   profiled `gprof-cli profile -t none --host-memory-usage=true`: a real recorder
 *            writing a report, the default threshold.
 * The three run interleaved, ROUNDS times; printed: the median ns per pair of each and
 * the difference from bare, measured in the same run (target:
 * <= 20 ns added below the threshold).  Environment: GPROF_CLI (default: gprof-cli next to
 * the bench folder, $BUILD/bin/gprof-cli).
 */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/benchutil.h"

#define ROUNDS 5 /* interleaved rounds per loop; the median is printed */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double loop(long n, size_t size)
{
	uint64_t t0 = now_ns();

	for (long i = 0; i < n; i++) {
		void *p = malloc(size);
		__asm__ volatile("" : : "r"(p) : "memory");
		free(p);
	}
	return (double)(now_ns() - t0) / (double)n;
}

struct mt_arg {
	long n;
	double ns;
};

static void *mt_thread(void *arg)
{
	struct mt_arg *a = arg;

	a->ns = loop(a->n, 64);
	return NULL;
}

static double loop_mt(long n)
{
	pthread_t t[4];
	struct mt_arg a[4];
	double worst = 0;

	for (int i = 0; i < 4; i++) {
		a[i].n = n;
		pthread_create(&t[i], NULL, mt_thread, &a[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		worst = a[i].ns > worst ? a[i].ns : worst;
	}
	return worst;
}

static int child(const char *what, long n)
{
	double best = 1e30;

	for (int rep = 0; rep < 8; rep++) {
		double v = !strcmp(what, "small") ? loop(n, 64)
			   : !strcmp(what, "big") ? loop(n / 10, 65536)
						  : loop_mt(n / 4);
		if (rep > 0 && v < best) /* the first is a warm-up */
			best = v;
	}
	printf("%.3f\n", best);
	return 0;
}

/* Run `prefix self --child what n` through the shell; its figure, or -1. */
static double run(const char *prefix, const char *self, const char *what, long n)
{
	char cmd[3 * PATH_MAX + 256], line[128] = "";
	FILE *p;
	double v = -1;

	snprintf(cmd, sizeof(cmd), "%s '%s' --child %s %ld", prefix, self, what, n);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p))
		if (sscanf(line, "%lf", &v) == 1)
			break;
	if (pclose(p) != 0)
		return -1;
	return v;
}

int main(int argc, char **argv)
{
	char self[PATH_MAX], lib[PATH_MAX], gprof[PATH_MAX], tmp[] = "/tmp/bench-hostmem-XXXXXX";
	char pre_counted[PATH_MAX + 32], pre_prof[3 * PATH_MAX + 160];
	const char *what[] = {"small", "big", "small4"};
	long n = 2000000;

	if (argc >= 4 && !strcmp(argv[1], "--child"))
		return child(argv[2], atol(argv[3]));
	if (argc > 1)
		n = atol(argv[1]);
	if (bench_find_lib(self, lib, sizeof(lib), "libgprof-hostmem.so") < 0)
		return 1;
	if (getenv("GPROF_CLI"))
		snprintf(gprof, sizeof(gprof), "%s", getenv("GPROF_CLI"));
	else
		snprintf(gprof, sizeof(gprof), "%.*s/bin/gprof-cli",
			 (int)(strstr(self, "/bench/") ? strstr(self, "/bench/") - self : 0), self);
	if (!mkdtemp(tmp)) {
		perror("bench_hostmem: mkdtemp");
		return 1;
	}
	snprintf(pre_counted, sizeof(pre_counted), "LD_PRELOAD='%s'", lib);
	snprintf(pre_prof, sizeof(pre_prof),
		 "'%s' profile -t none --host-memory-usage=true -f -o '%s/r' 2>/dev/null", gprof,
		 tmp);
	printf("host memory collector: ns per malloc+free pair (best of 7 in a child, median of "
	       "%d interleaved rounds), %ld pairs\n",
	       ROUNDS, n);
	printf("  %-7s %9s %9s %9s %9s %9s\n", "loop", "bare", "counted", "+ns", "profiled", "+ns");
	for (size_t i = 0; i < sizeof(what) / sizeof(what[0]); i++) {
		double b[ROUNDS], c[ROUNDS], p[ROUNDS];

		/* interleaved rounds, the median of each: the machine's noise hits all three */
		for (int k = 0; k < ROUNDS; k++) {
			b[k] = run("", self, what[i], n);
			c[k] = run(pre_counted, self, what[i], n);
			p[k] = run(pre_prof, self, what[i], n);
			if (b[k] < 0 || c[k] < 0 || p[k] < 0) {
				fprintf(stderr, "bench_hostmem: the %s loop failed\n", what[i]);
				return 1;
			}
		}
		qsort(b, ROUNDS, sizeof(double), bench_cmp_double);
		qsort(c, ROUNDS, sizeof(double), bench_cmp_double);
		qsort(p, ROUNDS, sizeof(double), bench_cmp_double);
		double mb = b[ROUNDS / 2], mc = c[ROUNDS / 2], mp = p[ROUNDS / 2];
		printf("  %-7s %9.1f %9.1f %+9.1f %9.1f %+9.1f\n", what[i], mb, mc, mc - mb, mp,
		       mp - mb);
	}
	char db[PATH_MAX + 8];
	snprintf(db, sizeof(db), "%s/r.db", tmp);
	printf("  last profiled report: %lld event rows, %lld lost\n",
	       bench_query_int(db, "SELECT count(*) FROM GPROF_HOST_MEMORY_EVENTS"),
	       bench_query_int(db, "SELECT value FROM META_DATA_EXPORT WHERE name = "
				   "'GPROF_LOST_DROPPED_RECORDS'"));
	unlink(db);
	rmdir(tmp);
	return 0;
}
