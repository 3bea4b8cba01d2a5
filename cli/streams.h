/*
 * streams.h - what `profile` keeps of the session besides the records: the application's
 * stdout and stderr (-> ProcessStreams) and the messages of the run (-> DIAGNOSTIC_EVENT),
 * handed to the report through struct report_session (core/report_session.h).
 *
 * Output streams (struct stream_tee).  nsys saves the launched process's stdout and stderr
 * in the report whatever -w/--show-output says; so does `profile`, with a tee inside
 * gprof-cli: the application's fd 1 and 2 are the write ends of two channels that one
 * thread reads, forwarding every byte at once to gprof-cli's own stdout / stderr (unless -w
 * false: then nothing is shown, as before) and keeping a copy.  What the application
 * sees is kept as it was:
 *   - when gprof-cli's stream is a terminal, the channel is a pseudo-terminal (raw output,
 *     the terminal's modes and window size), so isatty() stays true and stdio keeps line
 *     buffering (a pipe would make a Python print wait for 4 KiB); otherwise a pipe, as a
 *     file or pipe was before (same buffering);
 *   - when gprof-cli's stream is closed, or a channel cannot be made, that stream is passed
 *     through untouched (not captured);
 *   - when the reader of gprof-cli's stream goes away (EPIPE: `profile ... | head`), the
 *     channel is closed, so the application gets its EPIPE / SIGPIPE as it would have;
 *   - processes that still hold the channels when the session ends (left running with
 *     --wait=primary, --kill none, ...) keep their output: stream_tee_finish() hands the
 *     channels to a small forwarding process that runs until they close.
 * At most STREAM_TEE_MAX bytes per stream are kept (the rest is shown, counted and said in
 * a DIAGNOSTIC_EVENT warning).  Lines the collectors print on the application's stderr
 * ("gprof-cli: ...", with a following "hint: ..." line) become DIAGNOSTIC_EVENT rows of
 * source Injection.
 *
 * Session messages (struct session_log): every error(), warning() and hint() gprof-cli
 * prints while `profile` runs (core/util.h gp_set_message_hook), source Daemon.
 *
 * Threads: the tee's reader thread and the recorder's threads add messages; everything
 * else is called from the main thread.
 */
#ifndef GPROF_STREAMS_H
#define GPROF_STREAMS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/report_session.h"
#include "core/util.h"

#define STREAM_TEE_MAX (64u << 20) /* bytes kept per stream */

/* Messages for DIAGNOSTIC_EVENT, thread-safe.  Zero-initialise with SESSION_LOG_INIT. */
struct session_log {
	pthread_mutex_t mu;
	struct report_diag *v; /* text owned (malloc'd) */
	size_t n, alloc;
	int last_open; /* the last message may still take a "hint:" line */
};
#define SESSION_LOG_INIT                                                                           \
	{                                                                                          \
		PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, 0                                           \
	}

/* Add a message (text copied) at ts_ns (CLOCK_MONOTONIC).  A severity of 0 is a hint
 * line: appended to the previous message as "; hint: <text>" when that one takes hints
 * (added with hintable != 0 and no message in between), else dropped. */
void session_log_add(struct session_log *log, uint64_t ts_ns, int source, int severity,
		     uint32_t pid, const char *text, int hintable);

/* gp_set_message_hook() callback (core/util.h): ctx is the struct session_log; messages
 * become source Daemon, pid 0, error -> Error, warning -> Warning, hint -> appended. */
void session_log_hook(void *ctx, int kind, const char *msg);

/* A copy of the messages so far (texts copied), in *n; free with session_log_free_copy().
 * Messages added later (the recorder's threads still run) are not in it. */
struct report_diag *session_log_copy(struct session_log *log, size_t *n);
void session_log_free_copy(struct report_diag *v, size_t n);

/* Free the messages (the log may be used again). */
void session_log_release(struct session_log *log);

/* One captured stream. */
struct stream_chan {
	const char *name; /* "stdout" / "stderr" */
	int out_fd;	  /* gprof-cli's fd the bytes are forwarded to; -1: not shown (-w false) */
	int child_fd;	  /* the application's end (dup2'd onto fd 1 / 2), -1 once started */
	int read_fd;	  /* our end; -1: this stream is not captured (passed through) */
	int is_pty;
	int eof;	    /* the channel closed (every writer gone) or was closed by us */
	struct strbuf data; /* the first STREAM_TEE_MAX bytes */
	uint64_t total;	    /* bytes read */
	struct strbuf line; /* stderr: the line being scanned for collector messages */
};

/* The tee of the application's stdout (ch[0]) and stderr (ch[1]). */
struct stream_tee {
	struct stream_chan ch[2];
	int wake_fd; /* eventfd: stream_tee_stop() wakes the reader */
	pthread_t thread;
	int running;
	uint64_t stop_deadline_ns; /* set by stream_tee_stop (read under mu) */
	int stopping;
	pthread_mutex_t mu;
	uint32_t app_pid;
	struct session_log *log; /* collector lines of stderr go here */
};

/* Make the channels: a pseudo-terminal for a stream whose gprof-cli fd is a terminal (and
 * shown), else a pipe; `quiet` (-w false): nothing is forwarded.  Never fails: a stream
 * whose channel cannot be made is passed through (its child fd is -1, and a warning says
 * so).  Call before launch_fork(); then give the application stream_tee_child_fd(t, 1)
 * and (t, 2). */
void stream_tee_open(struct stream_tee *t, int quiet);

/* The fd the application must have as `fd` (1 or 2), or -1 to leave fd as inherited. */
int stream_tee_child_fd(const struct stream_tee *t, int fd);

/* After launch_fork(): close the application's ends in gprof-cli and start the reader
 * thread (all signals blocked in it).  app_pid: the launched process (collector lines are
 * about it); log: where they go (may be NULL).  Returns 0, or -1 after a warning (the
 * thread could not start: the streams are then not captured, their bytes are dropped
 * when the channels fill, so the caller should not launch). */
int stream_tee_start(struct stream_tee *t, uint32_t app_pid, struct session_log *log);

/* The session ended: let the reader take what comes until every channel has closed or
 * wait_ms passed, then what is already there, and stop it.  Idempotent. */
void stream_tee_stop(struct stream_tee *t, int wait_ms);

/* The streams for ProcessStreams after stream_tee_stop(): fills out[0..1] (data borrowed
 * from t) for the captured ones and returns how many (0 when none was captured).  Adds to
 * log a warning for a stream longer than STREAM_TEE_MAX. */
size_t stream_tee_streams(struct stream_tee *t, struct report_stream out[2]);

/* After the report was written: hand channels still open to a forwarding process (see
 * above), close gprof-cli's ends and free everything.  Safe after stream_tee_open() alone
 * (launch failed) and idempotent. */
void stream_tee_finish(struct stream_tee *t);

/* The session data for the report (struct report_app_status.session), owning the copy
 * of the messages. */
struct session_capture {
	struct report_session s;
	struct report_stream streams[2];
	struct report_diag *diags;
	size_t ndiags;
};

/* Fill c after stream_tee_stop(): t's streams (borrowed: keep t until the report is
 * written), a copy of log's messages (the stream warnings included), the launched
 * process and its launch time (CLOCK_MONOTONIC).  t may be NULL (nothing captured). */
void session_capture_fill(struct session_capture *c, struct stream_tee *t, struct session_log *log,
			  uint32_t app_pid, uint64_t app_start_ns);
/* Free what session_capture_fill() copied. */
void session_capture_release(struct session_capture *c);

#endif
