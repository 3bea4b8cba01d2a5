/*
 * capture.h - capture ranges (nsys `profile -c/--capture-range`, `-p/--nvtx-capture`,
 * `--capture-range-end`, `-y/--delay`; ../shared/reference/nsys-cli.md section 1.2):
 * the settings `profile` passes to the recorder, the parsers for the switch values, and
 * the per-range report file names.
 *
 * How a capture works (design; wire.h "The control page" has the shared layout):
 *   - the recorder creates the control page next to the channel socket; producers map
 *     it; with mode != none it starts with collecting = 0, and gp_rec_begin() refuses
 *     event records until a trigger opens a window;
 *   - triggers run in the application: the nvtx collector on the push/start of the -p
 *     range (and its pop/end), the cuda collector on cuProfilerStart/Stop.  They call
 *     gp_capture_start()/gp_capture_stop() (producer.h), which flip the page and send
 *     GP_REC_CAPTURE;
 *   - -y/--delay: with mode none the recorder opens the one window itself when the delay
 *     expires; with a trigger mode, triggers before the delay are ignored (armed_ns);
 *   - --capture-range-end=repeat[:N] / repeat-shutdown:N: one report per window; the
 *     recorder routes each event record into the window that holds its time (the time
 *     at which the producer let it pass the gate: the end of a range or call, the time
 *     of a mark or start), so records that other threads still had buffered when the
 *     window closed land in the right report; records without a time follow the latest
 *     window; state records (strings, process and thread names, NVTX domains, CUDA
 *     devices/contexts/streams) go into every report.  A table module may route its
 *     records itself (struct report_module.route, report.h: e.g. CUDA kernels by their
 *     launch's correlationId);
 *   - stop-shutdown / repeat-shutdown:N: when the last range closes, the page's
 *     `shutdown` is set and the recorder makes recorder_shutdown_fd() readable; `profile`
 *     then sends --kill's signal to the application.
 */
#ifndef GPROF_CAPTURE_H
#define GPROF_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* A parsed -p/--nvtx-capture value (nsys rules: "msg", "msg@domain", "msg@*"; the last
 * unescaped '@' separates the domain; "\@" is a literal '@'; "msg" alone means the
 * default domain). */
struct capture_nvtx_pattern {
	char message[GP_CAPTURE_TEXT_MAX]; /* unescaped, non-empty */
	char domain[GP_CAPTURE_TEXT_MAX];  /* unescaped; "" = the default domain */
	int any_domain;			   /* "msg@*" */
};

/* The capture settings of a session (recorder_config.capture).  All-zero = mode none,
 * end stop-shutdown, no delay. */
struct capture_settings {
	uint32_t mode;			  /* enum gp_capture_mode (-c) */
	uint32_t end;			  /* enum gp_capture_end (--capture-range-end) */
	uint32_t max_ranges;		  /* N of repeat:N / repeat-shutdown:N; 0 = unlimited */
	struct capture_nvtx_pattern nvtx; /* -p (mode nvtx) */
	uint64_t delay_ns;		  /* -y/--delay, ns after session start */
	/* Interactive session (`gprof-cli launch`, cli/session.h), with mode
	 * GP_CAPTURE_SESSION (or cudaProfilerApi / nvtx: a start arms one range of the
	 * application's trigger); no window opens by itself: recorder_window_start()/_stop()
	 * open and close them on request, each written to a report of its own (the router,
	 * with a path per window).  0 for profile. */
	uint32_t session;
};

/*
 * Parsers for the switch values.  Each returns 0 and fills the output, or -1 and points
 * *why at a static lower-case phrase saying what is expected (for the caller's error
 * line, e.g. error("invalid --capture-range-end '%s': %s", arg, why)).
 */
/* "none" | "cudaProfilerApi" | "nvtx" (nsys's spelling; "hotkey" is refused: graphics
 * apps only). */
int capture_parse_mode(const char *s, uint32_t *mode, const char **why);
/* "none" | "stop" | "stop-shutdown" | "repeat" | "repeat:N" | "repeat-shutdown:N" with N a
 * decimal integer >= 1 (repeat-shutdown needs N).  nsys's optional ":mode" suffix
 * (defer|sync|async) is accepted and ignored: reports are always written at the end. */
int capture_parse_end(const char *s, uint32_t *end, uint32_t *max_ranges, const char **why);
/* The -p value; errors: empty, empty message, a part longer than
 * GP_CAPTURE_TEXT_MAX - 1 bytes. */
int capture_parse_nvtx(const char *s, struct capture_nvtx_pattern *p, const char **why);

/* Does the settings' end mode write one report per range? */
static inline int capture_is_repeat(const struct capture_settings *s)
{
	return s->mode != GP_CAPTURE_NONE &&
	       (s->end == GP_CAPTURE_END_REPEAT || s->end == GP_CAPTURE_END_REPEAT_SHUTDOWN);
}

/*
 * The report file of capture range `index` (1-based) under --capture-range-end=repeat:
 * the report path with its ".db" suffix (if any) replaced by ".<index>.db", e.g.
 * "out/report1.db" -> "out/report1.1.db", "run" -> "run.1.db".  nsys numbers the files
 * of a repeat capture after the range the same way (<name>.<range>.nsys-rep).  Returns
 * a new string (caller frees).
 */
char *capture_range_path(const char *report_path, unsigned index);

/* Text of the values, as nsys spells them (for META_DATA_CAPTURE and --print-config). */
const char *capture_mode_name(uint32_t mode);
/* e.g. "repeat:3", "stop-shutdown"; writes into buf (n >= 32). */
const char *capture_end_name(uint32_t end, uint32_t max_ranges, char *buf, size_t n);

/* Recorder side: create `dir`/GP_CONTROL_NAME, map it and fill the settings (mode none
 * without delay starts collecting; otherwise not).  Returns the mapping (unmap with
 * capture_control_destroy) or NULL after printing an error line. */
struct gp_control *capture_control_create(const char *dir, const struct capture_settings *s,
					  uint64_t session_start_ns);
/* Unmap the page and remove its file. */
void capture_control_destroy(struct gp_control *c, const char *dir);
/* Open window 0 now (the recorder's -y/--delay timer, mode none).  Returns 0 or -1. */
int capture_control_open_delay_window(struct gp_control *c, uint64_t now_ns);
/* The window of c that holds time ts_ns (CLOCK_MONOTONIC; start and stop included, an
 * open window to now), or -1 when none does.  Atomic loads only: any thread. */
int capture_control_window_at(const struct gp_control *c, uint64_t ts_ns);

/*
 * Interactive sessions (capture_settings.session), recorder side, one caller at a time
 * (the session's control thread).  Both flip the page under its spin lock as the
 * producers' gp_capture_start/stop do, then make a flush request (flush_epoch + 1 and a
 * FUTEX_WAKE), so that every producer's flusher sees the change at once (the cuda
 * collector switches CUPTI's activity kinds there) and, at a close, sends everything the
 * window recorded followed by GP_REC_FLUSH_ACK.
 *   open:  publish win[n] (start now_ns, reason GP_CAPTURE_REASON_SESSION), set
 *          collecting; returns n, or -1 when a window is open or GP_CAPTURE_MAX_WINDOWS
 *          were opened;
 *   close: set the open window's stop (now_ns), clear collecting; returns its index and
 *          the flush epoch to wait for in *epoch, or -1 when no window is open.
 */
int capture_control_session_open(struct gp_control *c, uint64_t now_ns);
int capture_control_session_close(struct gp_control *c, uint64_t now_ns, uint32_t *epoch);

#endif
