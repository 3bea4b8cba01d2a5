/*
 * recorder_sink.h - where the recorder's writer thread sends the records it decodes (record
 * layer; README "Architecture").
 *
 * The model is perf's `struct perf_tool` (tools/perf/util/tool.h): one decoder
 * (core/wire_decode.c) and a table of callbacks that takes what it decodes.  The recorder
 * (core/recorder.c) knows only this interface; two sinks implement it:
 *
 *   - the report sink (core/recorder_sink.c, report_sink_open()): one report (core/report.h),
 *     the whole session, or one capture window;
 *   - the capture router (core/capture.c, capture_router_sink()): --capture-range-end=repeat
 *     and interactive sessions; it picks each record's capture window and fans it out to the
 *     report sink of that window (state records: to every window's).
 *
 * Calls come from one thread at a time (the writer thread, then recorder_finish()), in
 * this order: conn_open, then for each of the connection's frames begin and record per
 * record, conn_close; commit now and then; finish or discard once at the end.
 */
#ifndef GPROF_RECORDER_SINK_H
#define GPROF_RECORDER_SINK_H

#include <stdint.h>

#include "report.h"
#include "wire.h"

struct gp_control;
struct recorder_stats;
struct record_sink;

/* The callbacks of a sink.  `conn` is what conn_open returned for the connection. */
struct record_sink_ops {
	/* A producer connection of process `pid` opened: the sink's state for it (never NULL). */
	void *(*conn_open)(struct record_sink *s, uint32_t pid);
	/* One decoded record of conn (rec->size >= 8, a multiple of 8, inside its frame).  As
	 * report_record(): 0, REPORT_REC_REFUSED (counted by the report; the caller goes on),
	 * or -1 when the type is unknown or the record malformed (the caller counts a bad
	 * frame and skips the rest of it). */
	int (*record)(struct record_sink *s, void *conn, const struct gp_rec_hdr *rec);
	/* The connection closed: flush and free its state (conn is invalid after). */
	void (*conn_close)(struct record_sink *s, void *conn);
	/* Optional: a write transaction starts (before the records of a frame, a close).  NULL
	 * when the sink starts its transactions itself (the router: per window). */
	void (*begin)(struct record_sink *s);
	/* Commit what was written since begin.  0, or -1 on an SQLite error (counted). */
	int (*commit)(struct record_sink *s);
	/* Optional: data rows in the open transaction, for the recorder's commit every
	 * GP_REPORT_TXN_ROWS rows (report.h "Disk full"); NULL: not bounded by rows. */
	uint64_t (*txn_rows)(struct record_sink *s);
	/* End of the session: complete every report with the session's counters st->report
	 * (the report's own are added into them), append the files written to
	 * st->report_paths / n_reports (owned by st: recorder_stats_release()) and free the
	 * sink.  0, or -1 when a report could not be completed (error printed). */
	int (*finish)(struct record_sink *s, const struct report_app_status *app,
		      struct recorder_stats *st);
	/* Error paths: remove every report made so far and free the sink. */
	void (*discard)(struct record_sink *s);
	/* Optional (NULL: the sink always writes alone, as the capture router): a backlog is
	 * written now (recorder_finish(), a tap replay): k >= 2 starts k parallel writers for
	 * the bulk tables (core/report_par.h report_par_start(): it commits first), k = 0
	 * stops them, their rows merged, and sets *cpu_ns to the CPU time they took.  0, or -1
	 * when not started / rows were lost (said and counted). */
	int (*drain)(struct record_sink *s, unsigned k, uint64_t *cpu_ns);
};

/* A backlog of at least this many frame bytes is written with parallel writers
 * (record_sink_ops.drain, core/report_par.h: report_par_writers() of them, when that is 2
 * or more); a smaller one by the report's connection alone, unless
 * $GPROF_CLI_DRAIN_WRITERS asks for 2 or more (then any backlog). */
#define RECORD_SINK_DRAIN_BYTES (4u << 20)

/* How many writers a backlog of `bytes` frame bytes gets (1: the sink alone); see
 * RECORD_SINK_DRAIN_BYTES. */
unsigned record_sink_drain_writers(uint64_t bytes);

/* A sink: embed it first in the sink's own struct. */
struct record_sink {
	const struct record_sink_ops *ops;
};

/* The window of a report sink whose capture-range rows (GPROF_CAPTURE_RANGE, _START,
 * _STOP in META_DATA_CAPTURE) it writes at finish: window 0 when the session opened a
 * capture range (recorder_stats.capture_ranges at finish), else none: the single report
 * of a session (-c/-y with --capture-range-end=stop, or no capture range at all). */
#define REPORT_SINK_FIRST_RANGE (-1)

/*
 * A sink that writes one report: report_open(cfg); `window` (>= 0, or
 * REPORT_SINK_FIRST_RANGE) names the capture window of ctl whose range rows it writes at
 * finish (capture_window_meta(); ctl NULL: none).  NULL after printing one error line and a
 * hint when the report cannot be created (report_open()).  ctl is borrowed and must
 * outlive the sink.  Its finish appends cfg->path to st->report_paths even when the report
 * could not be completed.
 */
struct record_sink *report_sink_open(const struct report_config *cfg, const struct gp_control *ctl,
				     int window);

/*
 * Frames in, rows out: write the report report_path (force: replace an existing file)
 * from the raw-frame tap tap_path (core/wire_tap.h), as the recorder would have from the
 * same frames: the session start of the tap's header, each connection opened, its frames
 * decoded (gp_decode_frame) and closed in the tap's order, then the report finished with
 * app (NULL: no application status; its stop time is then the time of the call).  *st
 * (zeroed by the caller) gets the counters (records, bad and lost frames, the report's
 * own) and the report's path.  0, or -1 after an error line (the tap cannot be read: no
 * report is left; the report cannot be created or completed).
 */
int recorder_replay_tap(const char *tap_path, const char *report_path, int force,
			const struct report_app_status *app, struct recorder_stats *st);

/* Append a copy of path to st->report_paths (st->n_reports + 1 entries, NULL-ended). */
void record_sink_add_path(struct recorder_stats *st, const char *path);

#endif
