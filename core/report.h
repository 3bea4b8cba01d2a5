/*
 * report.h - the report writer: an SQLite database in the Nsight Systems export schema
 * (../shared/reference/nsys-sqlite-schema.md, nsys-cli.md section 3).
 *
 * Encodings (as nsys):
 *   - time columns are integer ns since session start, measured on CLOCK_MONOTONIC
 *     (report_time()); TARGET_INFO_SESSION_START_TIME.utcEpochNs is the wall-clock
 *     instant of time 0, and META_DATA_CAPTURE holds SESSION_START_MONOTONIC_NS;
 *   - globalTid = (hwId << 56) | (vmId << 48) | (pid << 24) | tid with hwId 0 and
 *     vmId 1 (the local machine); globalPid = the same with tid 0;
 *   - strings are interned in StringIds(id, value) and referenced by *Id columns;
 *   - ENUM_* tables are (id INTEGER PRIMARY KEY, name TEXT, label TEXT) with nsys's rows.
 *
 * Writing is done by the recorder's writer thread only (not thread-safe).  Record
 * types are handled by table modules (struct report_module), one per collector:
 * core/report_nvtx.c, core/report_osrt.c, core/report_cuda.c.
 */
#ifndef GPROF_REPORT_H
#define GPROF_REPORT_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "wire.h"

#define GP_VM_ID 1ull

/* nsys globalPid / globalTid encodings. */
static inline int64_t report_global_pid(uint32_t pid)
{
	return (int64_t)((GP_VM_ID << 48) | ((uint64_t)(pid & 0xFFFFFFu) << 24));
}
static inline int64_t report_global_tid(uint32_t pid, uint32_t tid)
{
	return report_global_pid(pid) | (int64_t)(tid & 0xFFFFFFu);
}

struct report;	    /* the open report database (owned by the recorder) */
struct report_conn; /* per-connection decoding state (owned by the report) */

/* Product identity written to META_DATA_EXPORT. */
#define GP_PRODUCT_NAME	   "gprof-cli"
#define GP_PRODUCT_VERSION "0.1.0"
/* Version of the nsys export schema whose tables and columns we write. */
#define GP_NSYS_SCHEMA_VERSION "3.20.3"
/* Version of our own additions (GPROF_* tables and META rows). */
#define GP_SCHEMA_VERSION "1"

/* The report's SQLite handle (for modules' CREATE/prepare). */
sqlite3 *report_db(struct report *r);

/* The report's file name (owned by the report). */
const char *report_path(const struct report *r);

/* The parallel writers of the report's bulk tables (core/report_par.h): the slot where
 * report_par.c keeps them (NULL: off).  report_finish() stops them (their rows merged)
 * before the modules' finish; report_discard() drops them. */
struct report_par;
struct report_par **report_par_slot(struct report *r);
/* Run every module's flush() (their batched rows to SQLite or to the parallel writers). */
void report_flush_modules(struct report *r);
/* Non-zero once a write failed for want of space ("Disk full" below). */
int report_is_full(const struct report *r);
/* Count data rows written elsewhere (the parallel writers) and lost: `rows` to SQLite
 * errors (report_stats.write_errors), `rows_full` for want of space
 * (report_stats.disk_full_lost; the report is then not "finished cleanly"). */
void report_count_lost_rows(struct report *r, uint64_t rows, uint64_t rows_full);

/* Convert a producer CLOCK_MONOTONIC timestamp to report time (ns since session start). */
int64_t report_time(const struct report *r, uint64_t monotonic_ns);

/* Intern `len` bytes of text in StringIds and return its id (>= 0).  Same text, same id. */
int64_t report_string(struct report *r, const char *s, size_t len);

/* Map a string id sent on `c` (GP_REC_STRING) to its StringIds id; -1 when 0 or unknown. */
int64_t report_conn_string(struct report_conn *c, uint32_t sid);
/* The text of a string id sent on `c`, or NULL (borrowed; valid while c lives). */
const char *report_conn_string_text(struct report_conn *c, uint32_t sid);

/* The process (pid) that owns connection c. */
uint32_t report_conn_pid(const struct report_conn *c);

/* Per-connection private slot for a module (index = module's position). */
void **report_conn_slot(struct report_conn *c, unsigned module_index);

/* Prepare a statement on the report db; dies on SQL errors (they are our bugs), except
 * for a table whose CREATE the full disk refused (then a statement that writes nothing). */
sqlite3_stmt *report_prepare(struct report *r, const char *sql);
/* Run DDL/SQL text (several statements).  0, or -1 when the disk is full (see "Disk
 * full"; nothing is run then); dies on other errors (they are our bugs). */
int report_exec(struct report *r, const char *sql);
/* Step a bound insert (a data row: an event of a table module) and reset it.  0, or -1:
 * a write error (counted), or the disk is full (the row counted as lost: "Disk full"). */
int report_step(struct report *r, sqlite3_stmt *st);
/* The same for a row that is not an event (strings, threads, processes, metadata, the
 * profiler's overhead, diagnostics): not counted as a lost data row. */
int report_step_state(struct report *r, sqlite3_stmt *st);
/* report_step() of a statement that inserts `rows` data rows at once. */
int report_step_rows(struct report *r, sqlite3_stmt *st, unsigned rows);

/*
 * Disk full (issue 18).  A write that fails for want of space (SQLITE_FULL, or an I/O
 * error while writing, e.g. EFBIG) rolls the open transaction back and stops writing: one
 * error line and a hint; the recorder goes on reading the producers (the application is
 * not affected and its exit status passes through `profile`).  Every data row not written
 * is counted: those of the rolled-back transaction and every later one until writing
 * resumes (report_stats.disk_full_lost; GPROF_LOST_DISK_FULL, one warning at the end, a
 * DIAGNOSTIC_EVENT row).
 *
 * Writing resumes when space comes back: at most every GP_REPORT_RESUME_CHECK_MS, when
 * records come, the report's folder is checked for GP_REPORT_RESUME_FREE_BYTES more free
 * than just after the rollback (which gives some back: else it fills up again at once); then
 * what the rollback took and what came while full is put back first, so that every later
 * row finds its strings, processes, threads and tables: the StringIds rows interned since
 * the last commit (from the intern table) and the state log (every non-data statement of
 * the lost transaction and of the full time, values inlined: ThreadNames, PROCESSES,
 * metadata, CREATE TABLE/INDEX; ThreadNames and PROCESSES rows carry explicit rowids so
 * that their maps stay right).  A table a module creates while full is made TEMP (in
 * memory) until then.  One warning line says the resume.  A log past
 * GP_REPORT_STATE_LOG_MAX is dropped: no resume before report_finish.
 *
 * report_open() holds GP_REPORT_RESERVE_BYTES back in an unlinked file next to the
 * report; report_finish() releases it, puts back what it can (all or nothing) and writes
 * the closing rows (counters, exit status, diagnostics, GPROF_LOST_DISK_FULL,
 * GPROF_DISK_FULL_RESUMES) with GPROF_FINISHED_CLEANLY left 'false', so the report opens,
 * holds what was committed and says what it lost.  When even the closing rows do not
 * fit, the report is removed (one error line).  Full at creation: one error line, nothing
 * left behind.
 */
#define GP_REPORT_RESERVE_BYTES (1u << 20)
/* While full: how often the free space is looked at (ms), how much must be free to try
 * again (bytes), and the most the state log may hold (bytes). */
#define GP_REPORT_RESUME_CHECK_MS   1000u
#define GP_REPORT_RESUME_FREE_BYTES (4u << 20)
#define GP_REPORT_STATE_LOG_MAX	    (16u << 20)
/* The recorder commits at least every GP_REPORT_TXN_ROWS data rows (and every
 * GP_RECORDER_COMMIT_MS): what a full disk rolls back is bounded. */
#define GP_REPORT_TXN_ROWS 65536u
/* Data rows written in the open transaction. */
uint64_t report_txn_rows(const struct report *r);

/* Fixed positions of the table modules: the index passed to report_conn_slot() and
 * report_module_state().  report.c holds the module table in this order. */
enum report_module_index {
	REPORT_MOD_NVTX = 0,
	REPORT_MOD_OSRT = 1,
	REPORT_MOD_CUDA = 2,
	REPORT_MOD_GPU_METRICS = 3,
	REPORT_MOD_MPI = 4,
	REPORT_MOD_SAMPLING = 5, /* core/report_sampling.c */
	REPORT_MOD_HOSTMEM = 6,	 /* core/report_hostmem.c (GPROF_HOST_MEMORY_*) */
	/* not a record-type module: the state slot of core/report_session.c (common
	 * GP_REC_OVERHEAD records, ProcessStreams, DIAGNOSTIC_EVENT) */
	REPORT_MOD_SESSION = 7,
	REPORT_MOD_MAX = 8
};

/* Per-report private slot for a module's state (statements, maps), NULL at create;
 * the module frees what it put there in release() (finish() ends with it). */
void **report_module_state(struct report *r, unsigned module_index);

/* Add a META_DATA_EXPORT (name, value) row (value may be NULL). */
void report_meta_export(struct report *r, const char *name, const char *value);
/* Add a META_DATA_CAPTURE (name, value) row. */
void report_meta_capture(struct report *r, const char *name, const char *value);

/*
 * Hostile or damaged producers (issue 18): every field of a record is range-checked
 * before it is written.  A record that fails a check is refused: not written, counted
 * once in report_stats.bad_records (META_DATA_EXPORT GPROF_LOST_BAD_RECORDS), and the
 * rest of its frame is still decoded.  A record dropped because a recorder memory limit
 * was reached is counted in report_stats.over_limit (GPROF_LOST_OVER_LIMIT).
 * Handlers return REPORT_REC_REFUSED for both (the value the two counters return).
 */
#define REPORT_REC_REFUSED 1
/* Largest report time and duration accepted (ns, about 52 days): sums of a few such
 * values, and of a session's worth of real ones, stay far from int64 overflow.  Times
 * before the session start are accepted down to -GP_REPORT_TIME_BEFORE (10 s: the
 * application starts after the session; a producer's clock is the recorder's). */
#define GP_REPORT_TIME_MAX    (1ll << 52)
#define GP_REPORT_TIME_BEFORE 10000000000ll
/* Bytes of string text (and per-string bookkeeping) a report keeps in memory: strings
 * defined on the open connections plus the StringIds intern table.  Past it a connection
 * string is refused (over_limit; records naming it get no text) and report_string()
 * writes rows without keeping them for de-duplication. */
#define GP_REPORT_STRING_MEM_MAX (16u << 20)

/* Count one refused record; returns REPORT_REC_REFUSED (return it from the handler). */
int report_count_bad_record(struct report *r);
/* Count n records dropped at a memory limit; returns REPORT_REC_REFUSED. */
int report_count_over_limit(struct report *r, uint64_t n);
/* Count NVTX extended payloads (wire.h "NVTX extended payloads") that did not become
 * jsonText: `undecoded` reached the recorder but their schema was unknown or not
 * supported (core/report_nvtx.c), `unsent` the collector did not copy (GP_REC_NVTX_UNSENT).
 * -> report_stats.nvtx_payloads_undecoded / _unsent. */
void report_count_nvtx_payloads(struct report *r, uint64_t undecoded, uint64_t unsent);
/* Count one wait of the application for the recorder (GP_OVERHEAD_RECORDER_WAIT) of ns
 * nanoseconds -> report_stats.app_waits / app_wait_ns. */
void report_count_app_wait(struct report *r, uint64_t ns);
/* 1 when the producer timestamp ts_ns (CLOCK_MONOTONIC ns) lies between
 * GP_REPORT_TIME_BEFORE before and GP_REPORT_TIME_MAX after the session start, else 0
 * (the caller refuses the record). */
int report_time_ok(const struct report *r, uint64_t ts_ns);
/* 1 when both ends are report_time_ok(), end_ns >= start_ns, and the duration is at
 * most GP_REPORT_TIME_MAX; else 0. */
int report_span_ok(const struct report *r, uint64_t start_ns, uint64_t end_ns);

/*
 * Capture-window routing (--capture-range-end=repeat: one report per capture range; see
 * core/capture.h).  The recorder places each record into the window (report) that holds
 * its time; a module whose records need another rule (e.g. CUDA GPU records that arrive
 * after the window closed and carry GPU times: route them by their launch's
 * correlationId) sets report_module.route.  Windows are 0-based; times are the
 * producers' CLOCK_MONOTONIC ns.  Writer thread only, like the rest of this file.
 */
struct report_router;
#define REPORT_ROUTE_DEFAULT (-1) /* let the recorder decide (by gate time / latest window) */
#define REPORT_ROUTE_ALL     (-2) /* a state record: every window's report, and later ones */
#define REPORT_ROUTE_DROP    (-3) /* belongs to no window: not written */
/* state from window k on: window k's report and every later one's (k >= 0); a route
 * result r <= REPORT_ROUTE_FROM(0) names k = REPORT_ROUTE_FROM_WINDOW(r) */
#define REPORT_ROUTE_FROM(k)	    (-16 - (int)(k))
#define REPORT_ROUTE_FROM_WINDOW(r) ((size_t)(-16 - (r)))

/* The window holding ts_ns, else the nearest one (gaps: the closer boundary); -1 when
 * no window has opened yet. */
int report_route_window_near(struct report_router *rt, uint64_t ts_ns);
/* The window that holds time ts_ns (CLOCK_MONOTONIC; its start and stop included, an open
 * window to now), or REPORT_ROUTE_DROP when none does: for records the collector takes
 * whether or not a window is open (CPU samples, context switches: core/sampler.h). */
int report_route_window_at(struct report_router *rt, uint64_t ts_ns);

/* A table module: owns a collector's tables and decodes its record types. */
struct report_module {
	const char *name;    /* "nvtx", "osrt", "cuda" */
	uint16_t first_type; /* record types [first_type, last_type] go to handle() */
	uint16_t last_type;
	/* Create tables / ENUMs and prepare statements.  0 or -1. */
	int (*create)(struct report *r);
	/* Decode one record (size already checked against the header).  0, REPORT_REC_REFUSED
	 * (a field failed a range check: report_count_bad_record()), or -1 = bad record. */
	int (*handle)(struct report *r, struct report_conn *c, const struct gp_rec_hdr *rec);
	/* Connection closed: flush state kept for it (e.g. start/end ranges never ended). */
	void (*conn_close)(struct report *r, struct report_conn *c);
	/* End of session: write what is left, create indexes, free the state (as release()).
	 * 0 or -1. */
	int (*finish)(struct report *r);
	/* Free what the module keeps in report_module_state() (statements, maps) and write
	 * nothing: report_discard() calls it for a report that is not finished (the probe
	 * of a repeat capture, error paths).  Also with the state partly made or NULL. */
	void (*release)(struct report *r);
	/* Optional: write rows the module batches in memory (called before every commit,
	 * before a connection's strings are freed or redefined, and before finish). */
	void (*flush)(struct report *r);
	/* Optional, repeat captures only: the window (>= 0) of a record of this module, or
	 * REPORT_ROUTE_DEFAULT / _ALL / _DROP / _LATER.  `pid` is the connection's process.
	 * Example (report_cuda.c): a kernel the collector tagged with the range that
	 * launched it goes to that window even when CUPTI delivers it after the range closed;
	 * untagged records get REPORT_ROUTE_DEFAULT. */
	int (*route)(struct report_router *rt, uint32_t pid, const struct gp_rec_hdr *rec);
};

/*
 * Recorder side (core/recorder.c and core/capture.c drive these; modules don't call them).
 * The writer's settings, counters and the application's status are its own structs: the
 * recorder (core/recorder.h) fills them from its recorder_config and recorder_stats.
 */

/* One name/value pair for META_DATA_CAPTURE (nsys's capture-settings table).  Borrowed. */
struct report_meta {
	const char *name;
	const char *value; /* NULL: an SQL NULL value */
};

/* What report_open() needs.  Strings are borrowed for the call (the report copies the
 * path). */
struct report_config {
	const char *path;	      /* report file to create, e.g. "report1.db" */
	int force_overwrite;	      /* replace an existing file (else fail, nothing touched) */
	uint64_t session_start_ns;    /* CLOCK_MONOTONIC at session start: report time 0 */
	int64_t session_start_utc_ns; /* CLOCK_REALTIME at the same instant (ns since 1970) */
	const struct report_meta *capture_meta; /* META_DATA_CAPTURE rows, in order */
	size_t n_capture_meta;
};

/* The session's counters a report stores in META_DATA_EXPORT (GPROF_RECORDS, GPROF_LOST_*,
 * ...) and DIAGNOSTIC_EVENT, and that `profile` prints (report_losses()).  The recorder
 * fills what it counts on the frames (records, bad_frames, lost_frames, spool_*,
 * recovered, abrupt_exits, accept_waits, not_seen); report_finish() adds the report's own
 * (processes, producer loss records, refused rows, write errors, disk full) before writing
 * them.  Counts of records unless said otherwise. */
struct report_stats {
	uint64_t processes;	  /* distinct processes (PROCESSES rows) */
	uint64_t records;	  /* records decoded and written */
	uint64_t bad_frames;	  /* frames with bad magic/version/length or torn records */
	uint64_t bad_records;	  /* records refused by a range check ("Hostile" below) */
	uint64_t over_limit;	  /* records dropped at a recorder memory limit (below) */
	uint64_t lost_frames;	  /* frames missing by sequence-number gap */
	uint64_t dropped_records; /* producer-side drops (sum of GP_REC_LOSS) */
	uint64_t failed_sends;	  /* producer-side failed sends (sum of GP_REC_LOSS) */
	uint64_t cupti_dropped;	  /* CUPTI dropped records (sum of GP_REC_LOSS) */
	uint64_t zero_timestamps; /* GPU records skipped for zero timestamps */
	uint64_t write_errors;	  /* records SQLite refused */
	uint64_t disk_full_lost;  /* data rows not written because the disk filled up (the
				     open transaction's, rolled back, and every later one;
				     "Disk full" above) */
	uint64_t spool_bytes;	  /* bytes that went through the recorder's spool file (frames +
				     16 each) */
	uint64_t spool_lost;	  /* records of frames the spool could not take (disk full; not
				     in lost_frames) */
	uint64_t recovered;	  /* records read from the thread buffers of processes that
				     ended without their exit flush (wire.h "Thread buffers") */
	uint64_t abrupt_exits;	  /* processes they came from */
	uint64_t accept_waits;	  /* times the recorder was out of fds for a new connection
				     (it waited 20 ms, the producer in connect()) */
	uint64_t app_waits;	  /* hand-offs where an application thread waited for room in
				     its ring (GP_OVERHEAD_RECORDER_WAIT rows; nothing lost) */
	uint64_t app_wait_ns;	  /* their time in all (ns) */
	uint64_t nvtx_payloads_undecoded; /* NVTX extended payloads not decoded to jsonText
					     (schema unknown or unsupported) */
	uint64_t nvtx_payloads_unsent;	  /* NVTX extended payloads the collector did not copy
					     (GP_REC_NVTX_UNSENT) */
	/* -t values that recorded nothing, joined with ',' ("" when every one was seen), stored
	 * as META_DATA_EXPORT GPROF_TRACE_NOT_SEEN and DIAGNOSTIC_EVENT warnings; NULL: no
	 * check.  Owned by whoever owns the struct (recorder_stats_release()). */
	char *not_seen;
};

struct report_session;

/* How the application ended, for META_DATA_EXPORT (GPROF_APP_*) and ANALYSIS_DETAILS. */
struct report_app_status {
	pid_t pid;	 /* pid of the launched process */
	int exit_status; /* exit code, or 128+N when killed by signal N; -1 while it runs */
	int signaled;	 /* non-zero when killed by a signal */
	uint64_t end_ns; /* CLOCK_MONOTONIC when it was reaped (0: now) */
	/* ProcessStreams and DIAGNOSTIC_EVENT rows that no record carries (streams, messages;
	 * core/report_session.h), written into every report; NULL: none.  Borrowed. */
	const struct report_session *session;
};

/* Create the report file described by cfg (tables, ENUMs, session start, capture meta,
 * GPROF_FINISHED_CLEANLY=false) and leave it committed (rollback journal, PERSIST).  Returns NULL
 * after printing one error line and a hint when the file exists without force_overwrite, the folder
 * is missing or unwritable, or SQLite fails; nothing is left behind then. */
struct report *report_open(const struct report_config *cfg);
/* Open the decoding state of a new connection from process `pid`. */
struct report_conn *report_conn_open(struct report *r, uint32_t pid);
/* The connection closed: let the modules flush its state, add its last GP_REC_LOSS
 * counters to the totals and free it. */
void report_conn_close(struct report *r, struct report_conn *c);
/* Decode one framed record (rec->size >= 8, multiple of 8, inside its frame).  Returns 0,
 * REPORT_REC_REFUSED when a field failed a range check or a memory limit was reached
 * (counted by the report; the caller skips the record and goes on), or -1 when the type
 * is unknown or the record is malformed (the caller counts a bad frame and skips the rest
 * of it). */
int report_record(struct report *r, struct report_conn *c, const struct gp_rec_hdr *rec);
/* Start a write transaction unless one is open. */
void report_begin(struct report *r);
/* Commit the open transaction (if any).  0, or -1 on SQLite error (counted). */
int report_commit(struct report *r);
/* Complete the report: META_DATA_EXPORT counters and app status, ANALYSIS_DETAILS,
 * modules' finish, GPROF_FINISHED_CLEANLY=true, journal_mode
 * DELETE, close.  Adds the report's own counters (processes, producer loss, write
 * errors) into *st before writing it.  Frees r.  0, or -1 after printing an error. */
int report_finish(struct report *r, const struct report_app_status *app, struct report_stats *st);
/* Abandon a report that is not finished (error paths, the first range's probe in a repeat
 * capture): free the modules' state (release()), close and unlink it. */
void report_discard(struct report *r);
/* Unlink the report file path and its SQLite side files (path-wal, path-shm,
 * path-journal); a file that is not there is no error. */
void report_unlink_files(const char *path);

/* Create and fill every ENUM_* table (core/report_enums.c).  0 or -1. */
int report_create_enums(struct report *r);

/* Table modules (core/report_<name>.c; report_module_cuda and report_module_metrics
 * are declared in report_cuda.h and report_metrics.h); report.c's setup_modules() lists
 * them all. */
extern const struct report_module report_module_nvtx;
extern const struct report_module report_module_osrt;
extern const struct report_module report_module_mpi;	 /* core/report_mpi.c */
extern const struct report_module report_module_hostmem; /* core/report_hostmem.c */
/* CPU samples and context switches (core/report_sampling.c) */
extern const struct report_module report_module_sampling;

/* The table module that handles record type `type` (NULL: none / a common type). */
const struct report_module *report_module_for_type(uint16_t type);

#endif
