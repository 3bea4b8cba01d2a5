/*
 * recorder.h - the recorder: the gprof-cli side of the record channel.
 *
 * recorder_start() creates a private channel directory ($TMPDIR/gprof-cli-<pid>-XXXXXX,
 * mkdtemp, 0700; first removing the folders of this user's recorders that were killed:
 * pid gone, no listener, older than a minute) with a SOCK_SEQPACKET listening socket,
 * creates the report (report.h) and a spool file next to it, and starts two threads:
 *   - the reader accepts producer connections and takes their frames (from the socket,
 *     or from a producer's shared-memory ring: wire.h "Rings") into an in-memory queue
 *     of at most GP_RECORDER_QUEUE_MAX bytes; past that it appends them to the spool
 *     file (disk, not memory), so it never waits for the writer and the producers never
 *     wait for it (a spool append that fails, e.g. disk full, drops that frame, counted
 *     in recorder_stats.report.spool_lost);
 *   - the writer validates frames, decodes records and inserts them into SQLite in
 *     large transactions with prepared statements, committing at least every
 *     GP_RECORDER_COMMIT_MS so that a killed recorder leaves a report holding
 *     everything up to its last commit.
 * Whatever the producers send, the recorder's memory stays bounded (about 64 MB: the
 * queue, the rings it maps (GP_RING_SLOTS x GP_RING_BYTES at most),
 * GP_REPORT_STRING_MEM_MAX of strings, SQLite's cache, the open-range limit of
 * core/report_nvtx.c); what it refuses or drops is counted (recorder_stats).
 * The application never waits for SQLite.
 *
 * recorder_finish() is called once the application has exited: it waits for the
 * remaining connections to close (at most `linger_ms`), writes what the queue and the
 * spool still hold on the calling thread (at its priority; a progress line on stderr
 * when that is a terminal and it takes over half a second), writes the session
 * metadata (exit status, loss counts, clean-finish flag), creates the indexes and
 * closes the report.
 */
#ifndef GPROF_RECORDER_H
#define GPROF_RECORDER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "capture.h"
#include "report.h"

#define GP_RECORDER_QUEUE_MAX (8u << 20) /* bytes of undecoded frames held in memory */
#define GP_RECORDER_COMMIT_MS 500	 /* longest time between commits */

/* A trace value whose records the session should see (`profile` lists the values of -t
 * that have a check, cli/profile_options.h struct profile_trace_value): it was seen when
 * at least one event record (wire.h gp_rec_is_state() false) of its record type block
 * arrived during the session. */
struct recorder_expect {
	const char *name; /* the trace value, e.g. "cuda" */
	unsigned block;	  /* its wire record type block, type >> 8 (3: cuda, 4: gpu-metrics) */
};

/* What the recorder needs to know about the session.  Strings are borrowed for the
 * duration of recorder_start() only (the recorder copies what it keeps). */
struct recorder_config {
	const char *report_path;      /* report file to create, e.g. "report1.db" */
	int force_overwrite;	      /* replace an existing file (else fail, nothing touched) */
	uint64_t session_start_ns;    /* CLOCK_MONOTONIC at session start: report time 0 */
	int64_t session_start_utc_ns; /* CLOCK_REALTIME at the same instant */
	const struct report_meta *capture_meta; /* META_DATA_CAPTURE rows */
	size_t n_capture_meta;
	/* Capture ranges (-c, -p, --capture-range-end, -y; core/capture.h).  All zero =
	 * collect everything from the start into report_path.  With a repeat end mode the
	 * reports are capture_range_path(report_path, 1..n) and report_path itself is not
	 * written. */
	struct capture_settings capture;
	/* Trace values to check (at most 32), or NULL: then reports get no
	 * GPROF_TRACE_NOT_SEEN row and recorder_stats.report.not_seen stays NULL. */
	const struct recorder_expect *expect;
	size_t n_expect;
	/* The raw-frame tap (core/wire_tap.h): a file to create (an existing one is an error)
	 * where the writer appends every connection's open, frames (as received, before
	 * decoding) and close, for `gprof-cli dump`; NULL or "": none (GPROF_CLI_DUMP_FRAMES
	 * in `profile`). */
	const char *tap_path;
};

/* Counters of a finished session: printed at the end of `profile`; those in `report` are
 * stored in META_DATA_EXPORT (GPROF_LOST_*, GPROF_RECORDS, ...; core/report.h). */
struct recorder_stats {
	/* what every report says (with a repeat capture: the largest per-report figure of
	 * the producer's loss counters and processes, the sum of the writers' counts) */
	struct report_stats report;
	uint64_t connections;	   /* producer connections seen */
	uint64_t frames;	   /* valid frames decoded */
	uint64_t bytes;		   /* frame bytes received */
	uint64_t reader_stalls;	   /* times the reader paused because the queue was full (only
				      without a spool file) */
	uint64_t spool_peak;	   /* largest spool backlog (bytes written, not yet read back) */
	uint64_t writer_cpu_ns;	   /* CPU time of the writer thread (ns), for ingest-rate figures */
	uint64_t capture_unrouted; /* repeat captures: records no window's report could take */
	uint32_t capture_ranges;   /* capture windows opened (0 with mode none and no delay) */
	/* Report files written, in range order (one, or one per range with repeat; none when
	 * a repeat capture saw no range).  Owned by the caller: recorder_stats_release(). */
	char **report_paths;
	size_t n_reports;
	/* What the session saw of recorder_config.expect, over the whole session (every
	 * report of a repeat capture together): bit i of expect_not_seen is set when
	 * expect[i] got no event record, bit i of expect_started when any record of its
	 * block came (a state record, e.g. a CUDA device: its collector started).  The names
	 * of expect_not_seen are report.not_seen (NULL without an expect list). */
	uint32_t expect_not_seen;
	uint32_t expect_started;
};

/* Free stats->report_paths and stats->report.not_seen. */
void recorder_stats_release(struct recorder_stats *stats);

struct recorder;

/* Create the channel and the report and start the reader and writer threads.
 * Returns 0 and sets *out, or -1 after printing one error line (and a hint) when the
 * report cannot be created (exists without force, folder missing or unwritable) or
 * the channel cannot be set up.  On failure no file is left behind. */
int recorder_start(struct recorder **out, const struct recorder_config *cfg);

/* The channel socket path to pass to the application in $GPROF_CLI_CHANNEL.
 * Owned by the recorder; valid until recorder_finish(). */
const char *recorder_channel_path(const struct recorder *r);

/* Producer connections open right now (accepted and not yet closed), e.g. to wait for
 * the application's children before recorder_finish() (`profile --wait=all`).
 * Thread-safe; connections not yet accepted are not counted. */
unsigned recorder_open_connections(struct recorder *r);

/*
 * Capture sessions: a file descriptor that becomes readable (an eventfd; do not read
 * it) once the capture asks for the session to end: the first range closed under
 * --capture-range-end=stop-shutdown, or the N-th under repeat-shutdown:N.  `profile`
 * polls it alongside the application and then sends --kill's signal.  -1 when the
 * settings can never ask for it (mode none, or an end mode without shutdown).  Owned by
 * the recorder, valid until recorder_finish().
 */
int recorder_shutdown_fd(struct recorder *r);
/* Non-zero once the capture asked for the session to end (see recorder_shutdown_fd). */
int recorder_shutdown_requested(struct recorder *r);
/* Non-zero when records are taken at time ts_ns (CLOCK_MONOTONIC; 0: now): always
 * without capture ranges; inside a capture range or a session's window otherwise (the
 * control page's `collecting` and windows; thread-safe).  r is a struct recorder *
 * (void *: sampler_config.collecting's signature). */
int recorder_collecting(void *r, uint64_t ts_ns);
/* The control page's flush_epoch (wire.h "Flush requests"; 0 without one): a connection
 * that is not a collector (the CPU sampler) answers each new value with a
 * GP_REC_FLUSH_ACK frame once it sent what it had, as the collectors' flushers do, so
 * that a capture range or session window does not wait GP_FLUSH_ACK_WAIT_MS for it.
 * Thread-safe; r is a struct recorder * (void *: sampler_config.flush_epoch). */
uint32_t recorder_flush_epoch(void *r);
/* Capture windows opened so far (reads the control page; thread-safe). */
unsigned recorder_capture_ranges(struct recorder *r);

/*
 * Interactive sessions (recorder_config.capture.session; `gprof-cli launch`, cli/session.h):
 * collection is off until recorder_window_start(); each window is a report of its own.
 * Call these from one thread (the session's control loop), between recorder_start() and
 * recorder_finish().
 *
 * recorder_window_start: create the report at `path` (force: replace an existing file;
 * otherwise an existing file is an error) and open a window now; with capture mode
 * GP_CAPTURE_SESSION it returns once every producer connection acknowledged the flush
 * request that announced the window (their collectors run with it open; at most
 * GP_FLUSH_ACK_WAIT_MS, for one without a flusher thread yet).  Returns the 0-based
 * window index, or -1 after printing one error line and a hint (the report cannot be
 * created) or without printing when a window is open already or the session is not
 * interactive.
 *
 * recorder_window_stop: close the open window now and wait until its report is complete:
 * every producer connection open at the close has sent what it recorded in the window
 * (flush acknowledged, at most GP_FLUSH_ACK_WAIT_MS), and the writer has written it and
 * closed the report (cancel: removed it instead).  app: the application's status for the
 * report's META_DATA_EXPORT (exit_status -1 while it runs); borrowed for the call.
 * *path = the report file (caller frees; NULL when no window was open).  Returns 0, or -1
 * when no window was open or the report could not be completed (error printed).
 *
 * With a trigger mode (capture.mode cudaProfilerApi or nvtx in a session), start arms
 * the next range instead (the application's trigger opens it and its end closes it; one
 * range per start), and stop ends the start: it closes the range if still open and writes
 * its report, or returns 1 (nothing written, the report removed) when no range opened
 * since the start.
 *
 * recorder_window_open: 1 while a window is open.  Thread-safe.
 */
int recorder_window_start(struct recorder *r, const char *path, int force);
int recorder_window_stop(struct recorder *r, const struct report_app_status *app, int cancel,
			 char **path);
int recorder_window_open(struct recorder *r);

/* Finish the session (see above), fill *stats, free the recorder and remove the
 * channel directory.  Returns 0, or -1 when the report could not be completed
 * (the error has been printed; what was committed stays readable). */
int recorder_finish(struct recorder *r, const struct report_app_status *app, int linger_ms,
		    struct recorder_stats *stats);

#endif
