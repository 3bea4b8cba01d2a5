/*
 * bench_nvtx.c - added cost per NVTX push+pop pair of the nvtx collector
 * (libgprof-inject.so through the producer runtime), target <= 60 ns.
 *
 * Usage: bench_nvtx [PAIRS [THREADS]]   (default 100000 pairs, 1 thread)
 *
 * Runs the same loop (nvtxRangePushA("bench") + nvtxRangePop(), PAIRS times, best of 10
 * repetitions after a warm-up, per thread; 100 ms pauses between repetitions so that the
 * recorder drains what one burst produced and the figure is the producer's own cost,
 * not SQLite's ingest rate) in two child processes of this binary:
 *   baseline  NVTX not injected (NVTX3's own no-op path)
 *   injected  NVTX_INJECTION64_PATH=libgprof-inject.so, GPROF_CLI_TRACE=nvtx, with an
 *             in-process recorder (core/recorder.h) writing a real report
 * and prints ns/pair for both and the difference.  The injection library is found next
 * to this binary ($BUILD/bench/../lib/gprof-cli/), the same layout `make` builds.
 * It also checks that the report holds every range (PAIRS x 11 x THREADS rows).
 * With 2+ CPUs the children run on CPUs 1.. and the recorder on CPU 0, so the figure is
 * the cost on the application's own CPU (on a 2-core VM, unpinned runs vary 2x with
 * how the scheduler places the recorder's threads).
 */
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nvtx3/nvToolsExt.h>

#include "bench/benchutil.h"
#include "core/recorder.h"
#include "core/util.h"

#define REPS 11 /* first is a warm-up (page faults, interning) */

static long g_pairs = 100000;

/* Best ns/pair over the repetitions (after the warm-up). */
static void *loop(void *arg)
{
	*(double *)arg = bench_nvtx_pairs_best(g_pairs, REPS, 100000000);
	return NULL;
}

/* Child: run the loop on THREADS threads, print the mean of the per-thread bests. */
static int child(int threads)
{
	pthread_t t[64];
	double best[64], sum = 0;
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, loop, &best[i]);
	for (int i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		sum += best[i];
	}
	printf("%.3f\n", sum / threads);
	return 0;
}

/* Run this binary as a child with env additions; returns its ns/pair or -1. */
static double spawn(const char *self, int threads, char *const env[])
{
	char targ[16], narg[32];
	char *args[] = {narg, targ, NULL};

	snprintf(targ, sizeof(targ), "%d", threads);
	snprintf(narg, sizeof(narg), "%ld", g_pairs);
	return bench_child_ns(self, args, env);
}

int main(int argc, char **argv)
{
	char self[PATH_MAX], lib[PATH_MAX], dir[] = "/tmp/bench_nvtx.XXXXXX";
	int threads = 1;

	if (argc >= 4 && !strcmp(argv[1], "--child")) {
		g_pairs = atol(argv[2]);
		return child(atoi(argv[3]));
	}
	if (argc > 1)
		g_pairs = atol(argv[1]);
	if (argc > 2)
		threads = atoi(argv[2]);
	if (g_pairs <= 0 || threads < 1 || threads > 64) {
		fprintf(stderr, "usage: bench_nvtx [PAIRS [THREADS]]\n");
		return 2;
	}
	if (bench_find_lib(self, lib, sizeof(lib), "libgprof-inject.so") < 0)
		return 1;
	bench_pin_cpu0(); /* the recorder's threads inherit this */
	double base = spawn(self, threads, NULL);

	if (!mkdtemp(dir))
		die("cannot create a folder in /tmp");
	char report[sizeof(dir) + 16];
	snprintf(report, sizeof(report), "%s/r.db", dir);
	struct recorder *rec;
	struct recorder_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.report_path = report;
	cfg.session_start_ns = gp_monotonic_ns();
	cfg.session_start_utc_ns = gp_realtime_ns();
	if (recorder_start(&rec, &cfg) < 0)
		return 1;
	char e1[PATH_MAX + 32], e2[] = "GPROF_CLI_TRACE=nvtx", e3[PATH_MAX + 96];
	snprintf(e1, sizeof(e1), "GPROF_CLI_CHANNEL=%s", recorder_channel_path(rec));
	snprintf(e3, sizeof(e3), "NVTX_INJECTION64_PATH=%s", lib);
	char *env[] = {e1, e2, e3, NULL};
	double inj = spawn(self, threads, env);
	struct recorder_app_status app = {0};
	struct recorder_stats st;
	app.end_ns = gp_monotonic_ns();
	recorder_finish(rec, &app, 1000, &st);

	long long rows = bench_query_int(report, "SELECT COUNT(*) FROM NVTX_EVENTS");
	unlink(report);
	rmdir(dir);

	if (base < 0 || inj < 0) {
		error("a benchmark child failed");
		return 1;
	}
	long long want = (long long)g_pairs * REPS * threads;
	printf("nvtx push+pop pair (%ld pairs x %d reps, %d thread%s, best rep):\n", g_pairs,
	       REPS - 1, threads, threads > 1 ? "s" : "");
	printf("  baseline (not injected)  %8.1f ns/pair\n", base);
	printf("  injected (gprof-cli)     %8.1f ns/pair\n", inj);
	printf("  added cost               %8.1f ns/pair   (target <= 60)  %s\n", inj - base,
	       inj - base <= 60 ? "ok" : "OVER");
	printf("  report rows %lld of %lld, dropped %llu, lost frames %llu\n", rows, want,
	       (unsigned long long)st.dropped_records, (unsigned long long)st.lost_frames);
	return 0;
}
