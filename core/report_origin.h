/*
 * report_origin.h - where a report came from: the launcher's rank of the profiled process,
 * the host, and a clock anchor that puts reports of one run on one timeline (issue 13).
 *
 * nsys keeps no rank in its export (its recipes number reports by sorted file name) and
 * its host rows are TARGET_INFO_SYSTEM_ENV (Hostname, written by report_sysenv.c) and
 * TARGET_INFO_SESSION_START_TIME (utcEpochNs); what it lacks is written as gprof-cli's own
 * META_DATA_CAPTURE rows, documented in man gprof-cli-profile (FILES) and the README:
 *
 *   GPROF_RANK, GPROF_WORLD_SIZE, GPROF_LOCAL_RANK   decimal; each only when the launcher
 *                                 set it
 *   GPROF_RANK_SOURCE             the variable the rank was read from ("OMPI_COMM_WORLD_RANK")
 *   GPROF_BOOT_ID                 /proc/sys/kernel/random/boot_id: reports with the same
 *                                 value share CLOCK_MONOTONIC (same host, same boot)
 *   GPROF_CLOCK_ANCHOR_MONOTONIC_NS, GPROF_CLOCK_ANCHOR_REALTIME_NS
 *                                 one instant read on both clocks (CLOCK_MONOTONIC,
 *                                 CLOCK_REALTIME; ns)
 *   GPROF_CLOCK_ANCHOR_UNCERTAINTY_NS
 *                                 half the width of the tightest monotonic-realtime-monotonic
 *                                 bracket of REPORT_ANCHOR_TRIES reads: how far the two
 *                                 values of the pair may be from one instant
 *   GPROF_CLOCK_SYNC_MAXERROR_NS, GPROF_CLOCK_SYNC_ESTERROR_NS, GPROF_CLOCK_SYNC_STATE
 *                                 the kernel's NTP/PTP discipline (adjtimex(2): maxerror,
 *                                 esterror in us, as ns; "synchronized" or
 *                                 "unsynchronized" from TIME_ERROR): how far this host's
 *                                 CLOCK_REALTIME may be from UTC, hence from another host's
 *
 * A report time t (ns since the session start, SESSION_START_MONOTONIC_NS) is on this
 * host's CLOCK_MONOTONIC as t + SESSION_START_MONOTONIC_NS, and on the common (UTC) one as
 * that - ANCHOR_MONOTONIC + ANCHOR_REALTIME.  Readers: exporters/recipe.c.
 */
#ifndef GPROF_REPORT_ORIGIN_H
#define GPROF_REPORT_ORIGIN_H

#include <stdint.h>

struct report;

/* Number of bracketed clock reads report_clock_anchor() makes; it keeps the tightest. */
#define REPORT_ANCHOR_TRIES 16

/* The launcher's view of this process, from its environment. */
struct report_origin {
	long rank;		 /* -1: no launcher variable found */
	long world_size;	 /* -1: unknown */
	long local_rank;	 /* -1: unknown */
	const char *rank_source; /* the variable the rank came from (static string); NULL */
};

/*
 * Fill o from the environment as getenv_fn reads it (getenv in the profiler; a table in
 * tests), first family that gives a rank wins: Open MPI (OMPI_COMM_WORLD_RANK, _SIZE,
 * _LOCAL_RANK), PMI / MPICH Hydra (PMI_RANK, PMI_SIZE, MPI_LOCALRANKID), Slurm
 * (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID), torchrun (RANK, WORLD_SIZE, LOCAL_RANK).  A
 * value that is not a non-negative decimal integer counts as unset.  Returns 1 when a
 * rank was found, else 0 (o->rank = -1).
 */
int report_origin_from_env(const char *(*getenv_fn)(const char *name), struct report_origin *o);

/* One instant on CLOCK_MONOTONIC and CLOCK_REALTIME. */
struct report_clock_anchor {
	uint64_t monotonic_ns;	 /* middle of the tightest bracket */
	int64_t realtime_ns;	 /* CLOCK_REALTIME read inside it */
	uint64_t uncertainty_ns; /* half the bracket's width */
};

/* Read the anchor: REPORT_ANCHOR_TRIES times monotonic, realtime, monotonic; keep the
 * read with the narrowest bracket.  Cannot fail (clock_gettime on these clocks). */
void report_clock_anchor(struct report_clock_anchor *a);

/* Write the GPROF_* rows above into r's META_DATA_CAPTURE (rank rows only when the
 * environment has them; the sync rows only when adjtimex answers).  Called by
 * report_open() in the profiler process, whose environment is the application's. */
void report_origin_write(struct report *r);

#endif
