/*
 * recorder_internal.h - pieces of the recorder (record layer: core/recorder.c,
 * core/capture.c) shared with their unit tests (tests/unit/test_recorder.c,
 * test_capture_router.c).  Not an interface for other parts of gprof-cli.  Frame
 * decoding is in wire_decode.h, the table modules' list in report.h.
 */
#ifndef GPROF_RECORDER_INTERNAL_H
#define GPROF_RECORDER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "report.h"
#include "wire.h"
#include "wire_decode.h"

/* Test knobs of the recorder (tests/unit/test_recorder.c); 0 = the defaults.  Set them
 * before recorder_start().  queue_max: bytes of frames the in-memory queue holds
 * (GP_RECORDER_QUEUE_MAX); spool_max: spool appends fail, as on a full disk, once this
 * many bytes went to the spool in the session. */
extern uint64_t recorder_test_queue_max, recorder_test_spool_max;
/* Test and benchmark knob: non-zero = the writer thread writes nothing; the whole session
 * is the backlog recorder_finish() writes (its parallel writers: core/report_par.h). */
extern int recorder_test_hold_writer;
/* Test knob of the repeat-capture router (core/capture.c): bytes of state log kept
 * (CAPTURE_LOG_MAX); 0 = the default. */
extern uint64_t capture_test_log_max;

/*
 * The capture router (core/capture.c): with --capture-range-end=repeat and in interactive
 * sessions the recorder's sink (recorder_sink.h) is the router, capture_router_sink(); it
 * keeps one report sink per capture window (created at the window's first record, files
 * capture_range_path()), one connection state per (connection, window), and each
 * connection's state records, replayed into a window's report when the connection
 * first appears there.  Writer thread only (capture_router_session_* and _disarm: the
 * control thread).
 */
struct capture_conn;
struct report_app_status;
struct recorder_stats;
struct gp_control;

/* A router writing the reports of cfg (capture_range_path(cfg->path, k) for window k;
 * session: interactive, the reports made by capture_router_session_open).  NULL after
 * printing an error when the first range's report cannot be created. */
struct report_router *capture_router_new(const struct report_config *cfg, int session,
					 struct gp_control *ctl);
void capture_router_free(struct report_router *rt);
/* The router as a record_sink (recorder_sink.h); its finish is capture_router_finish() and
 * its discard capture_router_discard(), each followed by capture_router_free(). */
struct record_sink *capture_router_sink(struct report_router *rt);
struct capture_conn *capture_conn_open(struct report_router *rt, uint32_t pid);
/* Route and decode one record: 0, or -1 when malformed (as report_record). */
int capture_record(struct report_router *rt, struct capture_conn *cc, const struct gp_rec_hdr *rec);
void capture_conn_close(struct report_router *rt, struct capture_conn *cc);
/* Commit every open window report. */
void capture_commit(struct report_router *rt);
/* Finish every window's report (an empty window still gets one), fill *st (recorder
 * counters in, per-report counters merged) and append the files written to
 * st->report_paths.  0, or -1 when a report could not be completed.  The router stays
 * allocated (capture_router_free()). */
int capture_router_finish(struct report_router *rt, const struct report_app_status *app,
			  struct recorder_stats *st);
/* Error path: remove every window report created so far. */
void capture_router_discard(struct report_router *rt);
/* Interactive sessions (capture_settings.session; control thread): create the report of
 * the next window at `path` (force: replace an existing file; errors printed, e.g. it
 * exists without force), then open the window on the page (capture_control_session_open).
 * Returns the window index, or -1 (nothing opened: a window is open already, or the report
 * could not be created). */
int capture_router_session_open(struct report_router *rt, const char *path, int force,
				uint64_t now_ns);
/* Session with a trigger mode (-c cudaProfilerApi|nvtx): capture_router_session_open
 * arms the next window (the application's trigger opens it; one range per start)
 * instead of opening it.  Disarm (control thread): no further range opens.  Returns the
 * armed window's index when a range opened since (*open: it is still open, the caller
 * closes it), or -1 when none did (the report made for it is removed) or nothing was
 * armed. */
int capture_router_session_disarm(struct report_router *rt, int *open);
/* Writer thread: finish window k's report now (cancel: discard it, unlinking the file),
 * closing every connection's state in it; records that reach window k later are dropped
 * (recorder_stats.capture_unrouted).  *path = the report's file (caller frees; NULL when
 * none).  0, or -1 when the report could not be completed or k is no window left to write. */
int capture_router_finish_window(struct report_router *rt, unsigned k,
				 const struct report_app_status *app, struct recorder_stats *st,
				 int cancel, char **path);

/* Add META_DATA_CAPTURE rows GPROF_CAPTURE_RANGE (1-based index),
 * GPROF_CAPTURE_RANGE_START and _STOP (report time ns) for window `index` of ctl (the
 * report sink's finish, core/recorder_sink.c). */
void capture_window_meta(struct report *rep, const struct gp_control *ctl, uint64_t session_start,
			 unsigned index);

#endif
