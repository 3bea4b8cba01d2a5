/*
 * bench_capture.c - what the NVTX collector costs outside a capture range (the "off"
 * path of core/capture.h: the control page says collecting = 0), against NVTX without
 * injection and against collecting.
 *
 * Usage: bench_capture [PAIRS]   (default 200000 nvtxRangePushA + nvtxRangePop pairs)
 *
 * Runs the same loop (PAIRS push/pop pairs, best of 10 repetitions after a warm-up) in
 * three child processes of this binary:
 *   baseline   NVTX not injected (NVTX3's own no-op path)
 *   off        injected, recorder with -c cudaProfilerApi and no cuProfilerStart: every
 *              push only keeps the stack depth, every pop emits nothing
 *   session    injected, recorder of an interactive session (`gprof-cli launch`,
 *              capture_settings.session) with no window open: the same "off" path
 *   on         injected, recorder with capture mode none (collecting all along)
 * and prints ns/pair for each and off - baseline.  The "off" report must hold no
 * NVTX_EVENTS row, and the idle session must write no report (checked).  Same CPU pinning as
 * bench_nvtx.c (children on CPUs 1.., recorder on CPU 0).
 */
#include <limits.h>
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

#define REPS 11

static long g_pairs = 200000;

static int child(void)
{
	printf("%.3f\n", bench_nvtx_pairs_best(g_pairs, REPS, 50000000));
	return 0;
}

/* Run this binary as a child with env additions; returns its ns/pair or -1. */
static double spawn(const char *self, char *const env[])
{
	char narg[32];
	char *args[] = {narg, NULL};

	snprintf(narg, sizeof(narg), "%ld", g_pairs);
	return bench_child_ns(self, args, env);
}

/* Run the injected child under a recorder with capture mode `mode`; *rows gets the
 * report's NVTX_EVENTS count. */
static double injected(const char *self, const char *lib, const char *dir, uint32_t mode,
		       int session, long long *rows)
{
	char report[PATH_MAX];
	struct recorder *rec;
	struct recorder_config cfg;
	struct report_app_status app = {0};
	struct recorder_stats st;

	snprintf(report, sizeof(report), "%s/r%u.db", dir, mode);
	memset(&cfg, 0, sizeof(cfg));
	cfg.report_path = report;
	cfg.force_overwrite = 1;
	cfg.session_start_ns = gp_monotonic_ns();
	cfg.session_start_utc_ns = gp_realtime_ns();
	cfg.capture.mode = mode;
	cfg.capture.end = GP_CAPTURE_END_STOP;
	cfg.capture.session = (uint32_t)session;
	if (recorder_start(&rec, &cfg) < 0)
		return -1;
	char e1[PATH_MAX + 32], e2[] = "GPROF_CLI_TRACE=nvtx", e3[PATH_MAX + 96];
	snprintf(e1, sizeof(e1), "GPROF_CLI_CHANNEL=%s", recorder_channel_path(rec));
	snprintf(e3, sizeof(e3), "NVTX_INJECTION64_PATH=%s", lib);
	char *env[] = {e1, e2, e3, NULL};
	double ns = spawn(self, env);
	app.end_ns = gp_monotonic_ns();
	recorder_finish(rec, &app, 1000, &st);
	if (session) /* no window: no report (-1 when one was written anyway) */
		*rows = st.n_reports ? -1 : 0;
	recorder_stats_release(&st);
	if (!session)
		*rows = bench_query_int(report, "SELECT COUNT(*) FROM NVTX_EVENTS");
	unlink(report);
	return ns;
}

int main(int argc, char **argv)
{
	char self[PATH_MAX], lib[PATH_MAX], dir[] = "/tmp/bench_capture.XXXXXX";
	long long rows_off, rows_on, rows_sess;

	if (argc >= 3 && !strcmp(argv[1], "--child")) {
		g_pairs = atol(argv[2]);
		return child();
	}
	if (argc > 1)
		g_pairs = atol(argv[1]);
	if (g_pairs <= 0) {
		fprintf(stderr, "usage: bench_capture [PAIRS]\n");
		return 2;
	}
	if (bench_find_lib(self, lib, sizeof(lib), "libgprof-inject.so") < 0)
		return 1;
	bench_pin_cpu0();
	if (!mkdtemp(dir))
		die("cannot create a folder in /tmp");
	double base = spawn(self, NULL);
	double off = injected(self, lib, dir, GP_CAPTURE_CUDA, 0, &rows_off);
	double sess = injected(self, lib, dir, GP_CAPTURE_NONE, 1, &rows_sess);
	double on = injected(self, lib, dir, GP_CAPTURE_NONE, 0, &rows_on);
	rmdir(dir);
	if (base < 0 || off < 0 || sess < 0 || on < 0) {
		error("a benchmark child failed");
		return 1;
	}
	printf("nvtx push+pop, ns/pair (best of %d x %ld pairs)\n", REPS - 1, g_pairs);
	printf("  baseline (not injected)      %8.2f\n", base);
	printf("  outside a capture range      %8.2f   (+%.2f over baseline)\n", off, off - base);
	printf("  session, no window open      %8.2f   (+%.2f over baseline)\n", sess, sess - base);
	printf("  collecting                   %8.2f   (+%.2f over baseline)\n", on, on - base);
	printf("  off/on cost ratio            %8.2f\n", (off - base) / (on - base));
	if (rows_off != 0 || rows_sess != 0 || rows_on != (long long)g_pairs * REPS) {
		error("unexpected NVTX_EVENTS rows: off %lld (want 0), session %lld (want 0: no "
		      "report), on %lld (want %lld)",
		      rows_off, rows_sess, rows_on, (long long)g_pairs * REPS);
		return 1;
	}
	return 0;
}
