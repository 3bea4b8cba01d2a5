/*
 * report_session.h - the report tables about the session rather than the application's own
 * events, in the Nsight Systems export schema (nsys-sqlite-schema.md; rows as the nsys
 * 2025.3 fixture holds them):
 *
 *   TARGET_INFO_SYSTEM_ENV  the host: name, OS, kernel, CPU, NVIDIA driver, read from uname(2),
 *                           /proc, /sys and /etc/os-release when the report is created
 *                           (core/report_sysenv.c);
 *   ProcessStreams          the launched application's stdout and stderr, as tee'd by
 *                           `profile` (cli/streams.c), one row per stream;
 *   DIAGNOSTIC_EVENT        what the run said: gprof-cli's own warnings and errors, the
 *                           collectors' "gprof-cli: ..." lines on the application's stderr,
 *                           the loss counters, and the session's start and stop;
 *   PROFILER_OVERHEAD       time the profiler spent: GP_REC_OVERHEAD ranges from the
 *                           collectors (wire.h) and the recorder's own commits.
 *
 * Tables are created with their first row, as nsys creates its tables lazily (a report
 * without a diagnostic has no DIAGNOSTIC_EVENT).  The ENUM_DIAGNOSTIC_* tables are
 * core/report_enums.c's.  Writer thread / report_finish only, like the rest of report.h.
 */
#ifndef GPROF_REPORT_SESSION_H
#define GPROF_REPORT_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "report.h"
#include "wire.h"

/* DIAGNOSTIC_EVENT.severity: ENUM_DIAGNOSTIC_SEVERITY_LEVEL ids. */
enum report_diag_severity {
	REPORT_DIAG_INFO = 1,
	REPORT_DIAG_WARNING = 2,
	REPORT_DIAG_ERROR = 3,
};

/* DIAGNOSTIC_EVENT.source: ENUM_DIAGNOSTIC_SOURCE_TYPE ids.  nsys's "Injection" is the
 * library inside the application (our collectors), "Daemon" the process that launched it
 * and records (gprof-cli profile), "Analysis" what is computed from the whole session
 * (start, stop, totals). */
enum report_diag_source {
	REPORT_DIAG_INJECTION = 1,
	REPORT_DIAG_DAEMON = 2,
	REPORT_DIAG_ANALYSIS = 3,
};

/* DIAGNOSTIC_EVENT.timestampType: ENUM_DIAGNOSTIC_TIMESTAMP_SOURCE ids.  Every gprof-cli
 * time is the target's CLOCK_MONOTONIC; the host kind is kept for the rows nsys computes on
 * the host (loss totals), as nsys marks its "Number of ... collected" rows. */
enum report_diag_timestamp {
	REPORT_DIAG_TS_TARGET = 1,
	REPORT_DIAG_TS_HOST = 2,
};

/* globalPid nsys writes on session-level rows ("Profiling has started." / "...stopped."):
 * 0xFE00000000000000 as a signed 64-bit value (fixture). */
#define REPORT_DIAG_SESSION_GPID INT64_C(-144115188075855872)

/* One message for DIAGNOSTIC_EVENT. */
struct report_diag {
	uint64_t ts_ns;	  /* CLOCK_MONOTONIC ns; before the session start gives a negative
			   * timestamp, as nsys's own pre-launch rows have */
	uint8_t source;	  /* enum report_diag_source */
	uint8_t severity; /* enum report_diag_severity */
	uint8_t ts_type;  /* enum report_diag_timestamp */
	uint32_t pid;	  /* process it is about (globalPid); 0: gprof-cli's own (vmId only) */
	const char *text; /* borrowed, NUL-terminated */
};

/* One captured output stream of the launched application. */
struct report_stream {
	const char *name; /* "stdout" or "stderr": filenameId "pid_<pid>_<name>.log" */
	const char *data; /* borrowed; need not be NUL-terminated */
	size_t len;	  /* bytes in data */
};

/* What `profile` knows about the session that no record carries: handed to report_finish()
 * through struct report_app_status.session (report.h).  Everything is borrowed
 * for the duration of recorder_finish(). */
struct report_session {
	uint32_t app_pid;      /* the launched process (ProcessStreams.globalPid); 0 = none */
	uint64_t app_start_ns; /* CLOCK_MONOTONIC ns of its launch; 0 = unknown */
	const struct report_stream *streams; /* stdout then stderr; NULL = not captured */
	size_t nstreams;
	const struct report_diag *diags; /* in any order (written sorted by time) */
	size_t ndiags;
};

struct report_stats;

/* Write TARGET_INFO_SYSTEM_ENV (core/report_sysenv.c): one row per property this host
 * answers, in nsys's nameEnum order, globalVid = vmId 1, devStateName "Local (CLI)".
 * Properties that cannot be read are left out.  Called by report_open(). */
void report_sysenv_write(struct report *r);

/* Call fn once per TARGET_INFO_SYSTEM_ENV property this host answers (name, nsys's
 * nameEnum, value), in nameEnum order.  value is borrowed for the call. */
void report_sysenv_rows(void (*fn)(void *ctx, const char *name, int name_enum, const char *value),
			void *ctx);

/* Add a PROFILER_OVERHEAD row: [start_ns, end_ns] (CLOCK_MONOTONIC) spent on thread
 * global_tid (report_global_tid(); NULL column when 0) on `name` (interned in StringIds),
 * returnValue 0. */
void report_overhead(struct report *r, int64_t global_tid, uint64_t start_ns, uint64_t end_ns,
		     const char *name);

/* Decode one GP_REC_OVERHEAD of connection c (report.c dispatches it).  0, or -1 when the
 * record is too short. */
int report_overhead_record(struct report *r, struct report_conn *c, const struct gp_rec_hdr *rec);

/* Call fn(ctx, message, hint) for each non-zero loss counter of st, in a fixed order: the
 * one wording of the losses, printed by `profile` (cli/cmd_profile.c) and stored as
 * DIAGNOSTIC_EVENT warnings.  hint (the setting that would have avoided the loss) may be
 * NULL.  Both strings are valid for the call only. */
void report_losses(const struct report_stats *st,
		   void (*fn)(void *ctx, const char *message, const char *hint), void *ctx);

/* End of the report (report_finish): write ProcessStreams (s->streams), DIAGNOSTIC_EVENT
 * (s->diags, the losses of st and its not_seen -t values, "Profiling has started." at 0 and
 * "...stopped." at stop (report time), "Process was launched by the profiler" at
 * s->app_start_ns), then release the module's statements.  s may be NULL (no session data:
 * only start, stop and st's rows). */
void report_session_finish(struct report *r, const struct report_session *s,
			   const struct report_stats *st, int64_t stop);
/* Free the statements this file keeps in the report, writing nothing (report_discard). */
void report_session_release(struct report *r);

#endif
