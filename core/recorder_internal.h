/*
 * recorder_internal.h - pieces of the recorder and report writer shared between
 * core/recorder.c, core/report*.c and their unit tests (tests/unit/test_wire.c,
 * tests/unit/test_recorder.c).  Not an interface for other parts of gprof-cli.
 */
#ifndef GPROF_RECORDER_INTERNAL_H
#define GPROF_RECORDER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "report.h"
#include "wire.h"

/* int64 key -> int64 value, open addressing (core/report.c); key INT64_MIN is the empty
 * marker and cannot be stored.  Zero-initialise; release with i64map_free. */
struct i64map {
	int64_t *keys;
	int64_t *vals;
	size_t cap, n; /* slots (a power of two), keys stored */
};
#define I64_EMPTY INT64_MIN

/* A pointer to key's value, valid until the next i64map_get; inserts `init` when key is
 * absent.  *found: 1 when it was there.  Never fails (xmalloc dies on OOM). */
int64_t *i64map_get(struct i64map *m, int64_t key, int64_t init, int *found);
/* A pointer to key's value (valid until the next i64map_get), or NULL when absent. */
int64_t *i64map_find(const struct i64map *m, int64_t key);
/* Free the map's memory and zero it (it may be used again). */
void i64map_free(struct i64map *m);

/* Record type blocks counted per block by gp_decode_frame(): type >> 8 below this
 * (wire.h: 0 common, 1 nvtx, 2 osrt, 3 cuda, 4 gpu-metrics, ...). */
#define GP_DECODE_BLOCKS 16

/* Counters updated by gp_decode_frame(). */
struct gp_decode_counts {
	uint64_t frames;      /* frames whose header was valid */
	uint64_t records;     /* records the callback accepted (not those it refused) */
	uint64_t bad_frames;  /* bad header, or a torn / unknown / short record */
	uint64_t lost_frames; /* frames missing by sequence number (see gp_seq_close) */
	/* accepted records per type block (type >> 8), and of those the events (records
	 * for which wire.h gp_rec_is_state() is false): what a collector saw at all */
	uint64_t block_records[GP_DECODE_BLOCKS];
	uint64_t block_events[GP_DECODE_BLOCKS];
};

/* Per-connection sequence tracking.  Frames of one connection may arrive out of order
 * (several producer threads send on one socket, each frame's seq taken before its
 * send), so loss is counted when the connection closes: frames missing below the
 * highest sequence number seen. */
struct gp_seq {
	uint64_t end;	 /* highest seq seen + 1 */
	uint64_t frames; /* valid frames received */
};

/* A frame whose seq is this far or more past the highest seen so far is refused as bad
 * (a producer numbers its frames 0, 1, 2, ...: a crafted seq would claim 2^64 lost). */
#define GP_SEQ_JUMP_MAX (1ull << 20)

/* Add the frames a closed connection lost (seq->end - seq->frames) to cnt. */
void gp_seq_close(const struct gp_seq *seq, struct gp_decode_counts *cnt);

/* Callback for one framed record; returns 0 (accepted), a positive value when it refused
 * the record and counted that itself (report.h REPORT_REC_REFUSED: the record is skipped,
 * the frame goes on), or -1 when the record is unknown or bad (a bad frame). */
typedef int (*gp_rec_fn)(void *ctx, const struct gp_rec_hdr *rec);

/*
 * Validate one received frame and hand its records to fn in order.
 *   buf, nbytes: the message as received (nbytes is the real message length, which may
 *                exceed GP_FRAME_MAX when recv() truncated it: only min(nbytes,
 *                GP_FRAME_MAX) bytes of buf are read);
 *   seq:         the connection's sequence tracking (see struct gp_seq).
 * Frame checks: size >= header, <= GP_FRAME_MAX, magic, version, type,
 * header.length == nbytes - header, and seq < seq->end + GP_SEQ_JUMP_MAX.  Record
 * checks: size >= 8, multiple of 8, fits in the frame, and >= gp_rec_min_size() for the
 * types it knows; then fn decides.
 * Returns 0 when the whole frame was good, -1 when it counted a bad frame (records
 * before the bad one were delivered; the rest of the frame is skipped).
 */
int gp_decode_frame(const void *buf, size_t nbytes, struct gp_seq *seq,
		    struct gp_decode_counts *cnt, gp_rec_fn fn, void *ctx);

/* Smallest valid size (bytes, header included) of a common/nvtx/osrt record type from
 * wire.h, or 0 for a type this table does not know (e.g. cuda: its module checks). */
size_t gp_rec_min_size(uint16_t type);

/* Test knobs of the recorder (tests/unit/test_recorder.c); 0 = the defaults.  Set them
 * before recorder_start().  queue_max: bytes of frames the in-memory queue holds
 * (GP_RECORDER_QUEUE_MAX); spool_max: spool appends fail, as on a full disk, once this
 * many bytes went to the spool in the session. */
extern uint64_t recorder_test_queue_max, recorder_test_spool_max;
/* Test knob of the repeat-capture router (core/capture.c): bytes of state log kept
 * (CAPTURE_LOG_MAX); 0 = the default. */
extern uint64_t capture_test_log_max;

/* Create and fill every ENUM_* table (core/report_enums.c).  0 or -1. */
int report_create_enums(struct report *r);

/* Table modules (core/report_<name>.c; report_module_cuda and report_module_metrics
 * are declared in report_cuda.h and report_metrics.h); report.c's setup_modules() lists
 * them all. */
extern const struct report_module report_module_nvtx;
extern const struct report_module report_module_osrt;
extern const struct report_module report_module_mpi; /* core/report_mpi.c */

/* The table module that handles record type `type` (NULL: none / a common type). */
const struct report_module *report_module_for_type(uint16_t type);

/*
 * The capture router (core/capture.c): with --capture-range-end=repeat the recorder's
 * writer hands every record to capture_record() instead of report_record(); the router
 * keeps one report per capture window (created at the window's first record, files
 * capture_range_path()), one report_conn per (connection, window), and each
 * connection's state records, replayed into a window's report when the connection
 * first appears there.  Writer thread only.
 */
struct capture_conn;
struct recorder_app_status;
struct recorder_stats;
struct gp_control;

/* NULL after printing an error when the first range's report cannot be created. */
struct report_router *capture_router_new(const struct recorder_config *cfg, struct gp_control *ctl);
void capture_router_free(struct report_router *rt);
struct capture_conn *capture_conn_open(struct report_router *rt, uint32_t pid);
/* Route and decode one record: 0, or -1 when malformed (as report_record). */
int capture_record(struct report_router *rt, struct capture_conn *cc, const struct gp_rec_hdr *rec);
void capture_conn_close(struct report_router *rt, struct capture_conn *cc);
/* Commit every open window report. */
void capture_commit(struct report_router *rt);
/* Finish every window's report (an empty window still gets one), fill *st (recorder
 * counters in, per-report counters merged) and the list of files written (caller frees
 * each and the array).  0, or -1 when a report could not be completed. */
int capture_router_finish(struct report_router *rt, const struct recorder_app_status *app,
			  struct recorder_stats *st, char ***paths, size_t *npaths);
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
				 const struct recorder_app_status *app, struct recorder_stats *st,
				 int cancel, char **path);

/* Add META_DATA_CAPTURE rows GPROF_CAPTURE_RANGE (1-based index),
 * GPROF_CAPTURE_RANGE_START and _STOP (report time ns) for window `index` of ctl. */
void capture_window_meta(struct report *rep, const struct gp_control *ctl, uint64_t session_start,
			 unsigned index);

#endif
