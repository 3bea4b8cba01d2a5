/*
 * report_par.h - parallel writers for the bulk tables of a report (issue 17: "report
 * ready" after a long run at several cores' rate).  Writer layer.
 *
 * One SQLite connection inserts ~1.8-2.6 M rows per CPU second, and nearly all of it is
 * SQLite's own work (perf: sqlite3VdbeExec, the B-tree, binding), not decoding.  So for
 * the backlog that recorder_finish() writes after the application exited, the decoding
 * stays on the one thread that writes the report (it keeps every piece of state: the
 * StringIds intern table, connections' strings, NVTX push/pop stacks and start/end maps,
 * OSRT callchain ids, PROCESSES/ThreadNames rowids), and only the rows of the bulk tables
 * go elsewhere: a module hands each row's values to report_par_row() instead of stepping
 * its statement, batches of them go to K writer threads, each inserting into its own
 * temporary database, and report_par_stop() appends the K tables to the report's with
 * `INSERT INTO ... SELECT *` (SQLite's transfer optimisation: records copied as they
 * are, ~7.5 M rows/s on the development VM).  No row gets or refers to an id another
 * thread assigns: the bulk tables' rows carry only values the main thread computed
 * (StringIds ids, globalTids, callchain ids); their own rowids are not referred to.
 *
 * Bulk tables: NVTX_EVENTS rows of the batched path (no payload, no rangeId: what nearly
 * every range is; rows with a payload or a start/end range id stay on the report's
 * connection) and OSRT_API.  Rows of one table come back in part order (all of writer 0's,
 * then writer 1's, ...), not in arrival order: the same rows as one writer, another
 * rowid order (nsys's own exports are not in time order either; every reader sorts).
 *
 * Temporary databases: "<report>.drain<i>" next to the report (same disk, no /tmp
 * quota), created O_EXCL, journal_mode=OFF, synchronous=OFF, and unlinked as soon as
 * they are open, so a killed recorder leaves nothing behind.  The report's connection is
 * not touched by the writers; report_par_stop() merges from each writer's connection
 * with the report ATTACHed, one transaction per table and writer through the report's
 * rollback journal: a recorder killed during the merge leaves the report as it was at
 * its last commit (the merge transaction is rolled back when it is next opened).
 *
 * Memory: at most 2 K + REPORT_PAR_TABLES batches of PAR_BATCH_BYTES (~0.4 MB each) and
 * each writer's SQLite page cache (2 MB): K = 8 adds ~24 MB to the recorder.
 *
 * Every function runs on the report's writing thread (report.h), except the writers.
 */
#ifndef GPROF_REPORT_PAR_H
#define GPROF_REPORT_PAR_H

#include <stddef.h>
#include <stdint.h>

#include "report.h"

#define REPORT_PAR_MAX 8 /* writers at most */
/* Fewer CPUs than this: one writer by default.  With 2 (the development VM) the decoding
 * thread and the writers share them and the merge (serial, ~7.5 M rows/s) eats the gain:
 * bench_recorder -d gave 1.25x the rows per second, bench_nvtx's runs 0.8-1.3x
 * (bench/RESULTS.md, issue 17). */
#define REPORT_PAR_MIN_CPUS 4
/* Environment: the number of writers (1 to REPORT_PAR_MAX; 1 = one writer, the report's
 * connection, as before), for benchmarks and to rule the drain out. */
#define REPORT_PAR_ENV "GPROF_CLI_DRAIN_WRITERS"

/* The kinds of bulk rows.  The values of a row are given in the order of their column
 * lists: NVTX_EVENTS (start, end, eventType, text, textId, globalTid, domainId, color,
 * category); NVTX_EVENTS of a push/pop range of the default domain with a text and an
 * end, no textId, colour or category (start, end, text, globalTid: eventType
 * NVTX_EV_PUSHPOP and domainId 0 are written for it); OSRT_API (start, end, eventClass,
 * globalTid, nameId, returnValue, nestingLevel, callchainId). */
enum report_par_table {
	REPORT_PAR_NVTX = 0,
	REPORT_PAR_NVTX_PUSHPOP = 1,
	REPORT_PAR_OSRT = 2,
	REPORT_PAR_TABLES = 3
};

/* One value of a row: kind 0 NULL, 1 integer (v), 2 text (len bytes at offset v of the
 * batch's text; set with report_par_text()). */
struct report_par_cell {
	int64_t v;
	uint32_t kind;
	uint32_t len;
};

/* How many writers the drain of a backlog should use: $GPROF_CLI_DRAIN_WRITERS when set
 * (1..REPORT_PAR_MAX; another value: one warning, then the default), else the CPUs this
 * process may run on (sched_getaffinity; sysconf(_SC_NPROCESSORS_ONLN) when that fails),
 * capped at REPORT_PAR_MAX, and 1 below REPORT_PAR_MIN_CPUS.  1 means: no parallel
 * writers. */
unsigned report_par_writers(void);

/* Start k (2..REPORT_PAR_MAX) writers for report r: the bulk tables' rows go to them
 * until report_par_stop().  Commits r's open transaction first.  0, or -1 when a
 * temporary database cannot be made (one warning; nothing started, r writes on alone). */
int report_par_start(struct report *r, unsigned k);

/* Non-zero while writers are started for r (modules: hand rows to report_par_row()). */
int report_par_on(struct report *r);

/* A new row of table t whose texts take at most `text_bytes` bytes (each text's length,
 * NUL not counted): its cells, every one NULL, valid until the next call.  Blocks while
 * every batch is with a writer. */
struct report_par_cell *report_par_row(struct report *r, enum report_par_table t,
				       size_t text_bytes);
/* Set cell `col` of the row report_par_row() returned to an integer / to a copy of n
 * bytes of text (within the row's text_bytes). */
void report_par_int(struct report_par_cell *row, unsigned col, int64_t v);
void report_par_text(struct report *r, struct report_par_cell *row, unsigned col, const char *s,
		     size_t n);

/*
 * Flush the modules' batched rows and r's transaction, wait for the writers and append
 * their rows to r's tables (see the file comment); r then writes alone again.  A row a
 * writer or the merge could not write is counted exactly: disk full as
 * report_stats.disk_full_lost (one error line and a hint), other SQLite errors as
 * write_errors.  *cpu_ns (may be NULL) gets the CPU time the writers took, for ingest
 * figures.  0, or -1 when some rows were lost.  Nothing to do when not started.
 */
int report_par_stop(struct report *r, uint64_t *cpu_ns);

/* Error paths (report_discard): stop the writers and drop their rows, writing nothing. */
void report_par_abort(struct report *r);

#endif
