/*
 * bench_nvtx.c - added cost per NVTX push+pop pair of the nvtx collector
 * (libgprof-inject.so through the producer runtime and a real recorder writing a report).
 *
 * Usage: bench_nvtx [PAIRS [THREADS]]                      burst mode (issue 2)
 *        bench_nvtx -s PAIRS [THREADS [ROUNDS [UNIQUE]]]   sustained mode (issue 17)
 *        bench_nvtx -p RATE SECONDS [THREADS]              paced mode (issue 17)
 *
 * Burst mode (default 100000 pairs, 1 thread): the loop nvtxRangePushA("bench") +
 * nvtxRangePop(), PAIRS times, best of 10 repetitions after a warm-up, per thread, with
 * 100 ms pauses between repetitions so that the recorder drains each burst: the
 * producer's own cost when nothing is behind.
 *
 * Sustained mode: every thread runs PAIRS pairs once, back to back, and the figure is
 * that whole run's application time per pair (wall time from the first thread's start
 * to the last one's end, times min(THREADS, the children's CPUs), over all pairs), so
 * whatever the recorder cannot absorb at the rate the application produces shows up in
 * it (the application waiting for the report); "added cpu" is the same from the
 * threads' own CPU time (the wall figure also holds time other processes took on the
 * application's CPUs: on a shared machine, compare the two).  "spool": the bytes that
 * went through the recorder's spool file.  Each
 * of ROUNDS rounds (default 3) runs the bare child then the injected one; printed per
 * round and as the median: ns/pair bare and injected, the added cost and the ratio, the
 * added CPU time, the time from the application's exit to the finished report
 * (recorder_finish), and at the end the recorder's peak RSS (VmHWM of this
 * process, which runs nothing but the recorder).  UNIQUE > 0 names each range
 * "op_<i mod UNIQUE>" (snprintf'd into a buffer the thread reuses, as PyTorch's
 * emit_nvtx names every op: in the bare run too, so the difference is the profiler's).
 * Each thread's first pair, which loads and sets up the collector (the first NVTX call of
 * a process: dlopen, connection, ring, membarrier registration), runs before the timed
 * loop, as burst mode's warm-up does; its time is the report's PROFILER_OVERHEAD
 * "Profiler connection set-up" row, printed with each round ("set-up").
 * Each round also runs the floor child: per pair, what any tracer must do at the least
 * (two time-stamp reads, rdtsc on x86-64, and one 32-byte record with both stored into a
 * 64 KiB buffer it reuses), without NVTX; "over floor" is the injected run less that
 * (the host's price of rdtsc differs: ~7 ns on one VM, ~18 ns on the H200 host).  The
 * application's waits for the recorder (GPROF_APP_WAITS, GPROF_APP_WAIT_NS of the
 * report) are printed with each round.
 *
 * Paced mode: sustained mode's one round, each thread making RATE pairs per second (2 *
 * RATE NVTX calls) for SECONDS, as a long-running application would: it sleeps
 * (clock_nanosleep to the absolute time) when it is ahead of that schedule, checked
 * every 4096 pairs.  Printed: whether bare and injected runs kept the pace (their wall
 * time against SECONDS), the added CPU time per pair (sleeps excluded), and what
 * sustained mode prints of the report (every range, losses, the application's waits,
 * exit -> report, the recorder's peak RSS).  No floor child.
 *
 * Both modes run the loop in child processes of this binary:
 *   baseline  NVTX not injected (NVTX3's own no-op path)
 *   injected  NVTX_INJECTION64_PATH=libgprof-inject.so, GPROF_CLI_TRACE=nvtx, with an
 *             in-process recorder (core/recorder.h) writing a real report
 * and check that the report holds every range.  The injection library is found next
 * to this binary ($BUILD/bench/../lib/gprof-cli/), the same layout `make` builds.
 * With 2+ CPUs the children run on CPUs 1.. and the recorder on CPU 0, so the figure is
 * the cost on the application's own CPUs (on a 2-core VM, unpinned runs vary 2x with
 * how the scheduler places the recorder's threads).
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
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

#define REPS	   11 /* burst mode: the first is a warm-up (page faults, interning) */
#define MAX_ROUNDS 15

static long g_pairs = 100000;
static int g_sustained; /* 1: sustained mode; 2: its floor loop (child only) */
static long g_unique;
static long g_rate; /* paced mode: pairs per second per thread (0: as fast as it goes) */

/* Burst mode: best ns/pair over the repetitions (after the warm-up). */
static void *loop(void *arg)
{
	*(double *)arg = bench_nvtx_pairs_best(g_pairs, REPS, 100000000);
	return NULL;
}

/* The floor loop (file comment): g_pairs pairs, each two time-stamp reads and one
 * 32-byte record (type, start, end, index) into a 64 KiB buffer of the thread's. */
static void floor_loop(void)
{
	uint64_t *buf = xcalloc(8192, sizeof(uint64_t));
	unsigned pos = 0;

	for (long i = 0; i < g_pairs; i++) {
		uint64_t start = bench_tsc(), *r;

		__asm__ volatile("" ::: "memory"); /* (the push, then the pop) */
		r = &buf[pos];
		r[0] = 0x106;
		r[1] = start;
		r[2] = bench_tsc();
		r[3] = (uint64_t)i;
		pos = (pos + 4) & 8191;
		__asm__ volatile("" ::"r"(r) : "memory");
	}
	free(buf);
}

/* Sustained mode: every thread runs g_pairs pairs once; the threads start together. */
static pthread_barrier_t g_start;
static uint64_t g_t0[64], g_t1[64], g_cpu[64];

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *loop_sustained(void *arg)
{
	int k = (int)(intptr_t)arg;
	char msg[32];

	if (g_sustained == 1) { /* the one-time set-up, untimed (file comment) */
		nvtxRangePushA("bench");
		nvtxRangePop();
	}
	pthread_barrier_wait(&g_start);
	g_cpu[k] = thread_cpu_ns();
	g_t0[k] = gp_monotonic_ns();
	if (g_unique > 0) {
		memcpy(msg, "op_", 3);
		for (long i = 0; i < g_pairs; i++) {
			long v = i % g_unique;
			char d[24];
			int n = 0;

			do /* the digits of v after "op_" (snprintf costs more than NVTX here) */
				d[n++] = (char)('0' + v % 10);
			while ((v /= 10) > 0);
			for (int j = 0; j < n; j++)
				msg[3 + j] = d[n - 1 - j];
			msg[3 + n] = '\0';
			nvtxRangePushA(msg);
			nvtxRangePop();
		}
	} else if (g_sustained == 2) {
		floor_loop();
	} else if (g_rate > 0) {
		uint64_t start = gp_monotonic_ns();

		for (long i = 0; i < g_pairs; i++) {
			if ((i & 4095) == 0) { /* on schedule: sleep while ahead */
				uint64_t due = start + (uint64_t)((double)i * 1e9 / (double)g_rate);

				if (gp_monotonic_ns() < due) {
					struct timespec ts = {(time_t)(due / 1000000000u),
							      (long)(due % 1000000000u)};

					while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts,
							       NULL) == EINTR)
						;
				}
			}
			nvtxRangePushA("bench");
			nvtxRangePop();
		}
	} else {
		for (long i = 0; i < g_pairs; i++) {
			nvtxRangePushA("bench");
			nvtxRangePop();
		}
	}
	g_t1[k] = gp_monotonic_ns();
	g_cpu[k] = thread_cpu_ns() - g_cpu[k];
	return NULL;
}

/* Child: run the loop on THREADS threads and print ns/pair.  Burst mode: the mean of the
 * per-thread bests.  Sustained mode: application time per pair, the wall time from the
 * first thread's start to the last one's end times the CPUs the threads could use
 * (min(THREADS, CPUs of this process)), over every thread's pairs (on one CPU or one
 * thread, the wall time per pair); then the threads' own CPU time per pair (what the
 * loop cost where it ran: the wall figure also holds waits and other processes' time
 * on those CPUs). */
static int child(int threads)
{
	pthread_t t[64];
	double best[64], sum = 0;

	if (g_sustained) {
		cpu_set_t set;
		int ncpu = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
		uint64_t t0 = UINT64_MAX, t1 = 0, cpu = 0;

		pthread_barrier_init(&g_start, NULL, (unsigned)threads);
		for (int i = 0; i < threads; i++)
			pthread_create(&t[i], NULL, loop_sustained, (void *)(intptr_t)i);
		for (int i = 0; i < threads; i++) {
			pthread_join(t[i], NULL);
			t0 = g_t0[i] < t0 ? g_t0[i] : t0;
			t1 = g_t1[i] > t1 ? g_t1[i] : t1;
			cpu += g_cpu[i];
		}
		printf("%.3f %.3f\n",
		       (double)(t1 - t0) * (threads < ncpu ? threads : ncpu) /
			   ((double)g_pairs * threads),
		       (double)cpu / ((double)g_pairs * threads));
		return 0;
	}
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, loop, &best[i]);
	for (int i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		sum += best[i];
	}
	printf("%.3f\n", sum / threads);
	return 0;
}

/* Run this binary as a child in mode (g_sustained's values) with env additions; returns
 * its ns/pair or -1, and in *cpu its CPU ns/pair (sustained mode; -1 otherwise). */
static double spawn_mode(const char *self, int mode, int threads, char *const env[], double *cpu)
{
	char targ[16], narg[32], sarg[8], uarg[32], rarg[32];
	char *args[] = {narg, targ, sarg, uarg, rarg, NULL};

	snprintf(targ, sizeof(targ), "%d", threads);
	snprintf(narg, sizeof(narg), "%ld", g_pairs);
	snprintf(sarg, sizeof(sarg), "%d", mode);
	snprintf(uarg, sizeof(uarg), "%ld", g_unique);
	snprintf(rarg, sizeof(rarg), "%ld", g_rate);
	return bench_child_ns2(self, args, env, cpu);
}

/* spawn_mode() in this run's mode. */
static double spawn2(const char *self, int threads, char *const env[], double *cpu)
{
	return spawn_mode(self, g_sustained, threads, env, cpu);
}

static double spawn(const char *self, int threads, char *const env[])
{
	double cpu;

	return spawn2(self, threads, env, &cpu);
}

/* One injected run with a fresh recorder and report: fills the ns/pair, the exit ->
 * report-ready seconds, the rows and the loss counters.  -1 when something failed. */
struct inj_run {
	double ns, cpu, tail_s;
	long long rows;
	long long setup_us; /* the collector's set-up (PROFILER_OVERHEAD), us */
	struct recorder_stats st;
};

static int run_injected(const char *self, const char *lib, int threads, struct inj_run *out)
{
	char dir[] = "/tmp/bench_nvtx.XXXXXX";
	struct recorder *rec;
	struct recorder_config cfg;

	if (!mkdtemp(dir))
		die("cannot create a folder in /tmp");
	char report[sizeof(dir) + 16];
	snprintf(report, sizeof(report), "%s/r.db", dir);
	memset(&cfg, 0, sizeof(cfg));
	cfg.report_path = report;
	cfg.session_start_ns = gp_monotonic_ns();
	cfg.session_start_utc_ns = gp_realtime_ns();
	if (recorder_start(&rec, &cfg) < 0)
		return -1;
	char e1[PATH_MAX + 32], e2[] = "GPROF_CLI_TRACE=nvtx", e3[PATH_MAX + 96];
	snprintf(e1, sizeof(e1), "GPROF_CLI_CHANNEL=%s", recorder_channel_path(rec));
	snprintf(e3, sizeof(e3), "NVTX_INJECTION64_PATH=%s", lib);
	char *env[] = {e1, e2, e3, NULL};
	out->ns = spawn2(self, threads, env, &out->cpu);
	struct report_app_status app = {0};
	app.end_ns = gp_monotonic_ns();
	bench_unpin(); /* the application is gone: the report is written as profile would */
	recorder_finish(rec, &app, 1000, &out->st);
	bench_pin_cpu0();
	out->tail_s = (double)(gp_monotonic_ns() - app.end_ns) / 1e9;
	out->rows = bench_query_int(report, "SELECT COUNT(*) FROM NVTX_EVENTS");
	out->setup_us = bench_query_int(report, "SELECT max(o.end - o.start) / 1000 FROM "
						"PROFILER_OVERHEAD o JOIN StringIds s ON "
						"s.id = o.nameId WHERE s.value LIKE "
						"'Profiler connection set-up%'");
	recorder_stats_release(&out->st);
	unlink(report);
	rmdir(dir);
	return out->ns < 0 ? -1 : 0;
}

static double median(const double *v, int n)
{
	double s[MAX_ROUNDS];
	memcpy(s, v, (size_t)n * sizeof(*v));
	qsort(s, (size_t)n, sizeof(*s), bench_cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static int sustained(const char *self, const char *lib, int threads, int rounds)
{
	double base[MAX_ROUNDS], inj[MAX_ROUNDS], add[MAX_ROUNDS], tail[MAX_ROUNDS];
	double bcpu[MAX_ROUNDS], icpu[MAX_ROUNDS], acpu[MAX_ROUNDS];
	double flo[MAX_ROUNDS], fcpu[MAX_ROUNDS], over[MAX_ROUNDS], ocpu[MAX_ROUNDS];
	long long want = (long long)(g_pairs + 1) * threads; /* (+ the set-up pair) */
	int bad = 0;

	printf("nvtx push+pop, sustained: %ld pairs per thread, %d thread%s, %d round%s%s\n",
	       g_pairs, threads, threads > 1 ? "s" : "", rounds, rounds > 1 ? "s" : "",
	       g_unique > 0 ? ", unique messages" : "");
	printf("  %-6s %10s %10s %10s %10s %8s %10s %10s %s\n", "round", "bare ns", "floor ns",
	       "inj ns", "added ns", "ratio", "added cpu", "tail s", "rows / lost");
	for (int i = 0; i < rounds; i++) {
		struct inj_run r;

		base[i] = spawn2(self, threads, NULL, &bcpu[i]);
		flo[i] =
		    g_unique > 0 || g_rate > 0 ? 0 : spawn_mode(self, 2, threads, NULL, &fcpu[i]);
		fcpu[i] = flo[i] ? fcpu[i] : 0;
		if (base[i] < 0 || flo[i] < 0 || run_injected(self, lib, threads, &r) < 0) {
			error("a benchmark child failed");
			return 1;
		}
		inj[i] = r.ns;
		add[i] = inj[i] - base[i];
		icpu[i] = r.cpu;
		acpu[i] = icpu[i] - bcpu[i];
		tail[i] = r.tail_s;
		over[i] = inj[i] - flo[i];
		ocpu[i] = icpu[i] - (g_unique > 0 ? 0 : fcpu[i]);
		bad |= r.rows != want;
		printf("  %-6d %10.1f %10.1f %10.1f %10.1f %8.1f %10.1f %10.3f %lld of %lld; "
		       "dropped %llu, lost frames %llu, bad frames %llu; spool %.0f MB; app waits "
		       "%llu (%.1f ms); set-up %.1f ms\n",
		       i + 1, base[i], flo[i], inj[i], add[i], inj[i] / base[i], acpu[i], tail[i],
		       r.rows, want, (unsigned long long)r.st.report.dropped_records,
		       (unsigned long long)r.st.report.lost_frames,
		       (unsigned long long)r.st.report.bad_frames,
		       (double)r.st.report.spool_bytes / 1e6,
		       (unsigned long long)r.st.report.app_waits,
		       (double)r.st.report.app_wait_ns / 1e6, (double)r.setup_us / 1e3);
	}
	if (g_rate <= 0)
		printf(
		    "  median bare %.1f ns/pair, injected %.1f, added %.1f ns/pair (target <= 40) "
		    "%s, added CPU %.1f ns/pair; exit -> report %.3f s\n",
		    median(base, rounds), median(inj, rounds), median(add, rounds),
		    median(add, rounds) <= 40 ? "ok" : "OVER", median(acpu, rounds),
		    median(tail, rounds));
	if (g_rate > 0) /* (wall ns/pair = 1e9 / rate when the pace was kept) */
		printf("  paced at %ld pairs/s per thread for %.1f s: bare took %.2f s, injected "
		       "%.2f s (%s); added CPU %.1f ns per pair\n",
		       g_rate, (double)g_pairs / (double)g_rate, base[0] * (double)g_pairs / 1e9,
		       inj[0] * (double)g_pairs / 1e9,
		       inj[0] * (double)g_rate <= 1.01e9 ? "kept the pace" : "FELL BEHIND",
		       acpu[0]);
	else if (g_unique <= 0)
		printf("  median floor (2 time-stamp reads + a 32-byte record) %.1f ns/pair, CPU "
		       "%.1f; gprof-cli over the floor %.1f ns/pair, CPU %.1f\n",
		       median(flo, rounds), median(fcpu, rounds), median(over, rounds),
		       median(ocpu, rounds));
	printf("  recorder peak RSS (VmHWM) %.1f MB (target <= 64)%s\n", bench_vm_hwm_kb() / 1024.0,
	       bad ? "; ROWS MISSING" : "");
	return bad;
}

int main(int argc, char **argv)
{
	char self[PATH_MAX], lib[PATH_MAX];
	int threads = 1, rounds = 3;

	if (argc >= 6 && !strcmp(argv[1], "--child")) {
		g_pairs = atol(argv[2]);
		g_sustained = atoi(argv[4]);
		g_unique = atol(argv[5]);
		g_rate = argc > 6 ? atol(argv[6]) : 0;
		return child(atoi(argv[3]));
	}
	if (argc > 3 && !strcmp(argv[1], "-p")) {
		double secs = atof(argv[3]);

		g_sustained = 1;
		g_rate = atol(argv[2]);
		g_pairs = (long)((double)g_rate * secs);
		threads = argc > 4 ? atoi(argv[4]) : 1;
		if (g_rate <= 0 || g_pairs <= 0 || threads < 1 || threads > 64) {
			fprintf(stderr, "usage: bench_nvtx -p RATE SECONDS [THREADS]\n");
			return 2;
		}
		if (bench_find_lib(self, lib, sizeof(lib), "libgprof-inject.so") < 0)
			return 1;
		bench_pin_cpu0();
		bench_print_clock();
		return sustained(self, lib, threads, 1);
	}
	if (argc > 1 && !strcmp(argv[1], "-s")) {
		g_sustained = 1;
		argv++;
		argc--;
		g_pairs = 2000000;
	}
	if (argc > 1)
		g_pairs = atol(argv[1]);
	if (argc > 2)
		threads = atoi(argv[2]);
	if (g_sustained && argc > 3)
		rounds = atoi(argv[3]);
	if (g_sustained && argc > 4)
		g_unique = atol(argv[4]);
	if (g_pairs <= 0 || threads < 1 || threads > 64 || rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: bench_nvtx [PAIRS [THREADS]]\n"
				"       bench_nvtx -s PAIRS [THREADS [ROUNDS [UNIQUE]]]\n"
				"       bench_nvtx -p RATE SECONDS [THREADS]\n");
		return 2;
	}
	if (bench_find_lib(self, lib, sizeof(lib), "libgprof-inject.so") < 0)
		return 1;
	bench_pin_cpu0(); /* the recorder's threads inherit this */
	bench_print_clock();
	if (g_sustained)
		return sustained(self, lib, threads, rounds);

	double base = spawn(self, threads, NULL);
	struct inj_run r;
	if (base < 0 || run_injected(self, lib, threads, &r) < 0) {
		error("a benchmark child failed");
		return 1;
	}
	long long want = (long long)g_pairs * REPS * threads;
	printf("nvtx push+pop pair (%ld pairs x %d reps, %d thread%s, best rep):\n", g_pairs,
	       REPS - 1, threads, threads > 1 ? "s" : "");
	printf("  baseline (not injected)  %8.1f ns/pair\n", base);
	printf("  injected (gprof-cli)     %8.1f ns/pair\n", r.ns);
	printf("  added cost               %8.1f ns/pair   (target <= 40)  %s\n", r.ns - base,
	       r.ns - base <= 40 ? "ok" : "OVER");
	printf("  report rows %lld of %lld, dropped %llu, lost frames %llu, bad frames %llu\n",
	       r.rows, want, (unsigned long long)r.st.report.dropped_records,
	       (unsigned long long)r.st.report.lost_frames,
	       (unsigned long long)r.st.report.bad_frames);
	return 0;
}
