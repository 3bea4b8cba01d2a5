/*
 * report_origin.c - the rank, host and clock-anchor rows of a report (report_origin.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>
#include <time.h>

#include "report.h"
#include "report_origin.h"
#include "util.h"

/* A non-negative decimal integer, else -1. */
static long env_long(const char *(*getenv_fn)(const char *), const char *name)
{
	const char *v = getenv_fn(name);
	char *end;
	long n;

	if (!v || *v < '0' || *v > '9')
		return -1;
	n = strtol(v, &end, 10);
	return *end || n < 0 ? -1 : n;
}

int report_origin_from_env(const char *(*getenv_fn)(const char *name), struct report_origin *o)
{
	static const char *const fam[][3] = {
	    {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK"},
	    {"PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID"},
	    {"SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID"},
	    {"RANK", "WORLD_SIZE", "LOCAL_RANK"},
	};

	o->rank = o->world_size = o->local_rank = -1;
	o->rank_source = NULL;
	for (size_t i = 0; i < sizeof(fam) / sizeof(fam[0]); i++) {
		long r = env_long(getenv_fn, fam[i][0]);

		if (r < 0)
			continue;
		o->rank = r;
		o->world_size = env_long(getenv_fn, fam[i][1]);
		o->local_rank = env_long(getenv_fn, fam[i][2]);
		o->rank_source = fam[i][0];
		return 1;
	}
	return 0;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void report_clock_anchor(struct report_clock_anchor *a)
{
	uint64_t best = UINT64_MAX;

	for (int i = 0; i < REPORT_ANCHOR_TRIES; i++) {
		uint64_t m0 = clock_ns(CLOCK_MONOTONIC);
		int64_t rt = (int64_t)clock_ns(CLOCK_REALTIME);
		uint64_t m1 = clock_ns(CLOCK_MONOTONIC);

		if (m1 - m0 < best) {
			best = m1 - m0;
			a->monotonic_ns = m0 + (m1 - m0) / 2;
			a->realtime_ns = rt;
			a->uncertainty_ns = (m1 - m0 + 1) / 2;
		}
	}
}

static const char *getenv_const(const char *name)
{
	return getenv(name);
}

static void capture_i64(struct report *r, const char *name, long long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", v);
	report_meta_capture(r, name, buf);
}

void report_origin_write(struct report *r)
{
	struct report_origin o;
	struct report_clock_anchor a;
	struct timex tx;
	char boot[64];
	int state;

	if (report_origin_from_env(getenv_const, &o)) {
		capture_i64(r, "GPROF_RANK", o.rank);
		if (o.world_size >= 0)
			capture_i64(r, "GPROF_WORLD_SIZE", o.world_size);
		if (o.local_rank >= 0)
			capture_i64(r, "GPROF_LOCAL_RANK", o.local_rank);
		report_meta_capture(r, "GPROF_RANK_SOURCE", o.rank_source);
	}
	if (gp_read_line("/proc/sys/kernel/random/boot_id", boot, sizeof(boot))) {
		boot[strcspn(boot, "\n")] = '\0';
		report_meta_capture(r, "GPROF_BOOT_ID", boot);
	}
	report_clock_anchor(&a);
	capture_i64(r, "GPROF_CLOCK_ANCHOR_MONOTONIC_NS", (long long)a.monotonic_ns);
	capture_i64(r, "GPROF_CLOCK_ANCHOR_REALTIME_NS", (long long)a.realtime_ns);
	capture_i64(r, "GPROF_CLOCK_ANCHOR_UNCERTAINTY_NS", (long long)a.uncertainty_ns);
	memset(&tx, 0, sizeof(tx));
	state = adjtimex(&tx);
	if (state >= 0) {
		capture_i64(r, "GPROF_CLOCK_SYNC_MAXERROR_NS", (long long)tx.maxerror * 1000);
		capture_i64(r, "GPROF_CLOCK_SYNC_ESTERROR_NS", (long long)tx.esterror * 1000);
		report_meta_capture(r, "GPROF_CLOCK_SYNC_STATE",
				    state == TIME_ERROR ? "unsynchronized" : "synchronized");
	}
}
