/*
 * session.h - interactive sessions (nsys launch / start / stop / cancel / shutdown /
 * sessions list / status): where a session lives, how its commands reach it, and the
 * daemon's end of that channel.
 *
 * A session is the `gprof-cli launch` process that runs the application (the daemon: it
 * owns the recorder, core/recorder.h, with capture_settings.session set, so collection is
 * off until a window opens).  It lives in the session directory of the user:
 *     $XDG_RUNTIME_DIR/gprof-cli   when XDG_RUNTIME_DIR is set (an absolute path), else
 *     /tmp/gprof-cli-<uid>
 * created 0700 and refused unless it is a real directory (not a link) owned by the user
 * with no group or other permission.  Session NAME has two files there:
 *     NAME.sock  the daemon's control socket (AF_UNIX SOCK_STREAM, 0600); the daemon
 *                checks every peer's credentials (SO_PEERCRED): another uid gets one
 *                error line and nothing else; the client checks the daemon's uid too;
 *     NAME.info  what `sessions list` shows without asking the daemon (text lines
 *                "key=value": id, name, pid, app_pid, trace, app, created), replaced
 *                atomically; with "state=exited" and "exit=N" once the application
 *                ended (a tombstone: `start` then says so; `sessions list` shows it
 *                once and removes it).
 * A session made by `start --session-new=NAME` before its application (nsys's start
 * before launch) is only NAME.info with "state=pending" and the start's output, force
 * and stats; `launch --session=NAME` takes it over and collects into that output from
 * the application's first instruction.
 * A session whose NAME.sock refuses connections (its daemon was killed) is stale: the
 * commands that look for it say so and remove its files.
 *
 * Requests (one per connection; client -> daemon, then the daemon answers and closes):
 * "key=value" lines, the first being "cmd=start|stop|cancel|shutdown|status"; values hold
 * no newline.  Answers are "key=value" lines too: "error=..." and "hint=..." for a
 * refusal, otherwise the command's results (status: state, windows, output, ...;
 * stop: generated=PATH, stats=0|1).  A `stop` answer comes once the report is complete.
 */
#ifndef GPROF_SESSION_H
#define GPROF_SESSION_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "core/util.h"

#define SESSION_NAME_MAX 64 /* bytes of a session name, NUL excluded */

/* Fill buf (size bytes) with the user's session directory, creating it (0700) when
 * missing.  Returns 0, or -1 after printing one error line and a hint (cannot create
 * it, or it is unsafe: a link, another owner, group/other permissions). */
int session_dir(char *buf, size_t size);

/*
 * Expand and check a --session / --session-new value: %q{VAR}, %h and %% as nsys (via
 * core/outname.c); the result must be 1..SESSION_NAME_MAX bytes of [A-Za-z0-9._+-]
 * not starting with '.'.  `opt` names the switch for the error line.  Returns 0 with
 * the name in out (SESSION_NAME_MAX + 1 bytes), or -1 after printing an error and a
 * hint (exit GP_EXIT_USAGE).
 */
int session_name_parse(const char *opt, const char *value, char *out);

/* A parsed NAME.info file, and what the daemon answered when asked (live sessions). */
struct session_info {
	char name[SESSION_NAME_MAX + 1];
	long id;	   /* the daemon's pid (nsys shows a numeric session ID) */
	long app_pid;	   /* the application's pid; 0 before it started */
	char trace[128];   /* -t as the daemon traces it, e.g. "nvtx,osrt" */
	char app[512];	   /* the application's command line, shortened */
	long long created; /* seconds since the epoch */
	char state[16];	   /* "idle", "collecting", "exited", "stale", "pending" */
	int exit_status;   /* state "exited": the application's status */
	unsigned windows;  /* collection windows so far (live sessions) */
	char output[1024]; /* "collecting": the report being written; "pending": the
			    * report its launch will write */
	int force, stats;  /* "pending": the start's -f and --stats */
};

/*
 * Every session of the user, live or not, sorted by name, into a new array *out
 * (caller frees) of *n entries.  Live sessions are asked for their state; a session
 * whose daemon is gone is reported with state "stale" (or "exited" for a tombstone) and
 * its files are removed (cleanup; listed this once).  Returns 0, or -1 after an error.
 */
int session_list(struct session_info **out, size_t *n);

/*
 * Find the session a command means: `name` (already parsed), or, when NULL, the only
 * live session of the user.  Returns a connected socket to its daemon (peer uid checked)
 * and fills *info from NAME.info; or -1 after printing one line and a hint:
 * unknown session, stale session (its files are removed), application exited
 * (tombstone), several sessions and no --session, another user's daemon.  The caller
 * sends one request (session_request) on the socket.
 */
int session_find(const char *name, struct session_info *info);

/*
 * Send request `req` ("key=value\n" lines, the first cmd=...) on fd, read the whole
 * answer into `answer` and close fd.  Returns 0; or, after printing one error line and a
 * hint, the exit status to end with: a refusal's ("error=", "hint=", "exit=" lines; exit
 * GP_EXIT_SESSION when it gives none), or GP_EXIT_SESSION when no answer came (the
 * daemon ended).
 */
int session_request(int fd, const char *name, const char *req, struct strbuf *answer);

/*
 * The whole front of a session command whose only option is --session=NAME (stop,
 * cancel): parse argv (getopt_long; -h/--help prints help(stdout)), find the session
 * (session_find) and send it `req` (session_request), the answer into *answer.  Returns
 * the command's exit status: GP_EXIT_OK after --help (*answer left empty) or when the
 * request succeeded; GP_EXIT_USAGE for a bad command line (one line + hint naming
 * `cmd`), GP_EXIT_SESSION or a refusal's status otherwise.
 */
int session_command(int argc, char **argv, const char *cmd, void (*help)(FILE *f), const char *req,
		    struct strbuf *answer);

/* The value of key in "key=value" lines `kv` copied into buf (size bytes), or NULL when
 * absent. */
const char *session_kv(const char *kv, const char *key, char *buf, size_t size);

/*
 * `start --session-new=NAME` before the application: write NAME.info as a pending session
 * holding `output` (absolute), force and stats.  Refused (error + hint, -1) when a
 * session of that name is running or pending; a stale one or a tombstone is replaced.
 */
int session_pending_create(const char *name, const char *output, int force, int stats);

/*
 * `launch --session=NAME`: take the pending session NAME (its files are removed; the
 * launch makes the session anew with session_server_open) and fill *info with what its
 * start asked for.  Returns 0, or -1 after an error and a hint: no such session, or it
 * is not pending (running, ended).
 */
int session_pending_take(const char *name, struct session_info *info);

/* ---- daemon side (`gprof-cli launch`) ---------------------------------------------- */

/* The daemon's end: listening socket and files.  Zero-initialise. */
struct session_server {
	int lfd;	/* listening socket, -1 when closed */
	char dir[4096]; /* the session directory */
	char name[SESSION_NAME_MAX + 1];
	struct session_info info; /* what NAME.info holds */
	/* the daemon's state (cli/cmd_launch.c session_serve) */
	unsigned windows;  /* collection windows opened */
	int stats;	   /* the open window's start asked for --stats */
	char output[4096]; /* the open window's report */
	int shutdown_fd;   /* `shutdown`'s connection, answered by session_server_close; -1 */
};

/*
 * Create session `name`: refuse it when a live session has that name (error "session
 * 'NAME' already exists" + hint), replace a stale one, then bind NAME.sock and write
 * NAME.info (info: name, id, trace and app filled by the caller; other fields may be 0).
 * Returns 0, or -1 after printing an error and a hint.
 */
int session_server_open(struct session_server *s, const char *name,
			const struct session_info *info);
/* Rewrite NAME.info from s->info (after app_pid or the state changed). */
void session_server_write_info(struct session_server *s);
/*
 * Accept one pending connection and read its request (at most 64 KiB, 5 s).  A peer of
 * another uid is answered with an error line and closed here.  Returns the connected fd
 * with the request in req, or -1 when there was nothing to serve.
 */
int session_server_accept(struct session_server *s, struct strbuf *req);
/* Write the answer `kv` ("key=value\n" lines) on fd and close it. */
void session_server_answer(int fd, const char *kv);
/* Answer fd with a refusal: "error=<msg>", "hint=<fix>" and "exit=<status>" (the
 * client's exit status, enum gp_exit; printf-style msg), and close it. */
void session_server_refuse(int fd, int status, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
struct recorder;
struct launch;
struct session_log;
struct report_app_status;
/*
 * The daemon's loop (cli/cmd_launch.c): wait for the application (launch_wait_event)
 * while serving the session's requests on s->lfd, one at a time: status; start (opens a
 * window into the request's output, recorder_window_start); stop / cancel (closes it,
 * recorder_window_stop, answering once the report is complete or removed); shutdown
 * (cancels an open window, keeps the connection in s->shutdown_fd and returns).
 * Messages printed while a request is served also go to log (DIAGNOSTIC_EVENT) and, for
 * a refusal, back to the client.  Returns 0 when the application exited (*status,
 * *signaled filled), 3 on shutdown (*kill_sig: the signal asked for, 0 = none), -1 when
 * waiting failed.
 */
int session_serve(struct session_server *s, struct recorder *rec, struct launch *l,
		  struct session_log *log, int *status, int *signaled, int *kill_sig);
/* The application has exited (or was left running by shutdown --kill none): close the
 * window still open, write its report with the application's status `app` and print
 * "Generated:" and the path (and the stats when its start asked for --stats). */
void session_finish(struct session_server *s, struct recorder *rec,
		    const struct report_app_status *app);

/* Stop listening and remove NAME.sock; with exit_status >= 0 leave NAME.info as a
 * tombstone (state exited, exit=N), otherwise remove it too.  A `shutdown` client still
 * waiting (shutdown_fd) is answered "ended=1" and "app_status=N" (-1: left running). */
void session_server_close(struct session_server *s, int exit_status);

#endif
