/*
 * cmd_launch.c - `gprof-cli launch [<options>] <application> [<arguments>]` (nsys launch):
 * run the application under a session with collection off, and serve the session's
 * commands (start, stop, cancel, shutdown, status; cli/session.h) until it exits.
 *
 * The run itself is profile's (cmd_profile.c profile_run(): environment, injection,
 * recorder, signals, --wait, the end summary) with capture_settings.session set: no
 * report is written unless a `start` opens a collection window; each window is one
 * report.  Options: launch's own --session-new=NAME (default profile-<id>-<application>,
 * as nsys) and the profile switches that set up tracing; the ones that describe a
 * collection (-o, -f, --stats, -d, --capture-range-end, -y) belong to `start` and are
 * refused here with a hint, as is --kill (shutdown --kill says how it ends).  -c
 * cudaProfilerApi|nvtx (-p) are taken: the collectors must know the trigger from the
 * application's start; each `start` then arms one range (the application's trigger
 * opens it, its end closes it) and `stop` writes it.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/cmds.h"
#include "cli/launch.h"
#include "cli/profile_options.h"
#include "cli/session.h"
#include "cli/streams.h"
#include "core/outname.h"
#include "core/recorder.h"
#include "core/util.h"
#include "exporters/stats.h"

/* Profile switches that describe one collection: `start` takes them, not `launch`. */
static const char *const start_only[] = {
    "output", "force-overwrite", "stats", "duration", "capture-range-end",
    "delay",  "print-config",	 "kill",  NULL};

static int is_start_only(const char *name)
{
	for (size_t i = 0; start_only[i]; i++)
		if (!strcmp(start_only[i], name))
			return 1;
	return 0;
}

static int keep_row(const struct profile_option *op)
{
	return !is_start_only(op->name);
}

static void launch_help(FILE *f)
{
	fprintf(
	    f,
	    "usage: gprof-cli launch [<options>] <application> [<application-arguments>]\n"
	    "\n"
	    "Run <application> in a session with collection off (nsys launch).  From another\n"
	    "shell, 'gprof-cli start' opens a collection window, 'gprof-cli stop' closes it\n"
	    "and writes its report, 'gprof-cli shutdown' ends the session.  A window open when\n"
	    "the application exits is closed and written.  Options end at the application\n"
	    "name.\n"
	    "\n"
	    "options:\n"
	    "      --session-new=<name>      name of the new session (default\n"
	    "                                profile-<id>-<application>); expands %%q{VAR}, %%h\n"
	    "                                and %%%%\n"
	    "      --session=<name>          run the session that 'gprof-cli start\n"
	    "                                --session-new=<name>' made, collecting from the\n"
	    "                                application's start into its -o\n");
	profile_options_help_rows(f, keep_row);
	fprintf(f, "\n"
		   "The exit status is the application's, as with profile; before it runs, 1, 2,\n"
		   "or 6 (a session of that name exists).  See 'man gprof-cli-launch'.\n");
}

/* Messages printed while one request is served go back to its client too. */
struct relay {
	struct session_log *log;
	struct strbuf err, fix;
};

static void relay_hook(void *ctx, int kind, const char *msg)
{
	struct relay *r = ctx;

	if (r->log)
		session_log_hook(r->log, kind, msg);
	if (kind == 'e' && !r->err.len)
		strbuf_addstr(&r->err, msg);
	else if (kind == 'h' && !r->fix.len)
		strbuf_addstr(&r->fix, msg);
}

/* The application's status while it runs (the report of a window closed by `stop`). */
static void running_status(struct report_app_status *app, pid_t pid)
{
	memset(app, 0, sizeof(*app));
	app->pid = pid;
	app->exit_status = -1;
	app->end_ns = gp_monotonic_ns();
}

static void serve_start(struct session_server *s, struct recorder *rec, struct relay *rl, int fd,
			const char *req)
{
	char output[4096], v[16];
	int force = 0, k;

	if (s->output[0]) {
		char fix[160];

		snprintf(fix, sizeof(fix), "stop it first: 'gprof-cli stop --session=%s'", s->name);
		session_server_refuse(fd, GP_EXIT_SESSION, fix,
				      "session '%s' is already collecting into '%s'", s->name,
				      s->output);
		return;
	}
	if (!session_kv(req, "output", output, sizeof(output)) || output[0] != '/') {
		session_server_refuse(fd, GP_EXIT_USAGE, "give an absolute output path",
				      "start request without an output file");
		return;
	}
	if (session_kv(req, "force", v, sizeof(v)))
		force = atoi(v);
	gp_set_message_hook(relay_hook, rl);
	k = recorder_window_start(rec, output, force);
	gp_set_message_hook(rl->log ? session_log_hook : NULL, rl->log);
	if (k < 0) {
		session_server_refuse(fd, GP_EXIT_OUTPUT,
				      rl->fix.len ? rl->fix.buf : "check the output path", "%s",
				      rl->err.len ? rl->err.buf : "cannot open a window");
		return;
	}
	s->windows++;
	s->stats = session_kv(req, "stats", v, sizeof(v)) && atoi(v);
	snprintf(s->output, sizeof(s->output), "%s", output);
	{
		char *ans = xasprintf("window=%d\noutput=%s\n", k + 1, output);

		session_server_answer(fd, ans);
		free(ans);
	}
}

static void serve_stop(struct session_server *s, struct recorder *rec, struct relay *rl, int fd,
		       pid_t app_pid, int cancel)
{
	struct report_app_status app;
	char *path = NULL, *ans;
	int r;

	if (!s->output[0]) {
		char fix[160];

		snprintf(fix, sizeof(fix), "start one first: 'gprof-cli start --session=%s'",
			 s->name);
		session_server_refuse(fd, GP_EXIT_SESSION, fix,
				      "session '%s' is not collecting: nothing to %s", s->name,
				      cancel ? "cancel" : "stop");
		return;
	}
	running_status(&app, app_pid);
	gp_set_message_hook(relay_hook, rl);
	r = recorder_window_stop(rec, &app, cancel, &path);
	gp_set_message_hook(rl->log ? session_log_hook : NULL, rl->log);
	if (r > 0 && !cancel) {
		session_server_refuse(fd, GP_EXIT_SESSION,
				      "the application's cudaProfilerStart or -p range opens the "
				      "window after 'gprof-cli start'",
				      "session '%s' saw no capture range since the start: nothing "
				      "written",
				      s->name);
	} else if (r > 0) {
		session_server_answer(fd, "cancelled=\n");
	} else if (r < 0) {
		session_server_refuse(
		    fd, GP_EXIT_ERROR, rl->fix.len ? rl->fix.buf : "see the session's terminal",
		    "%s", rl->err.len ? rl->err.buf : "cannot complete the report");
	} else {
		ans = cancel ? xasprintf("cancelled=%s\n", path ? path : "")
			     : xasprintf("generated=%s\nstats=%d\n", path ? path : "", s->stats);
		session_server_answer(fd, ans);
		free(ans);
	}
	free(path);
	s->output[0] = '\0';
}

/* SIGUSR1 toggles collection (for scripts that cannot run a second command): the
 * handler sends "cmd=toggle" to the session's own socket, so that the request is served
 * by the loop like any other.  Only async-signal-safe calls; a full backlog drops it. */
static struct sockaddr_un toggle_addr;

static void on_toggle_signal(int sig)
{
	int e = errno, fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	(void)sig;
	if (fd >= 0) {
		if (connect(fd, (struct sockaddr *)&toggle_addr, sizeof(toggle_addr)) == 0 &&
		    send(fd, "cmd=toggle\n", 11, MSG_NOSIGNAL) == 11)
			shutdown(fd, SHUT_WR);
		close(fd);
	}
	errno = e;
}

/* cmd=toggle (SIGUSR1): stop the open window (its report written, "Generated:" on this
 * process's stderr), or open one into report%n in this process's working directory. */
static void serve_toggle(struct session_server *s, struct recorder *rec, struct relay *rl, int fd,
			 pid_t app_pid)
{
	struct strbuf name = STRBUF_INIT, err = STRBUF_INIT;
	struct outname_ctx ctx = {.pid = app_pid};
	char cwd[PATH_MAX];

	session_server_answer(fd, "toggle=1\n"); /* (nobody waits for it) */
	if (s->output[0]) {
		struct report_app_status app;
		char *path = NULL;

		running_status(&app, app_pid);
		if (recorder_window_stop(rec, &app, 0, &path) == 0 && path)
			fprintf(stderr,
				"gprof-cli: session '%s': collection stopped (SIGUSR1)\n"
				"Generated:\n    %s\n",
				s->name, path);
		free(path);
		s->output[0] = '\0';
		return;
	}
	if (getcwd(cwd, sizeof(cwd)) && outname_expand(OUTNAME_DEFAULT, &ctx, &name, &err) == 0) {
		char *out = xasprintf("%s/%s", cwd, name.buf);

		gp_set_message_hook(relay_hook, rl);
		if (recorder_window_start(rec, out, 0) >= 0) {
			s->windows++;
			s->stats = 0;
			snprintf(s->output, sizeof(s->output), "%s", out);
			fprintf(stderr, "gprof-cli: session '%s': collecting into %s (SIGUSR1)\n",
				s->name, out);
		}
		gp_set_message_hook(rl->log ? session_log_hook : NULL, rl->log);
		free(out);
	}
	strbuf_release(&name);
	strbuf_release(&err);
}

int session_serve(struct session_server *s, struct recorder *rec, struct launch *l,
		  struct session_log *log, int *status, int *signaled, int *kill_sig)
{
	struct strbuf req = STRBUF_INIT;
	struct relay rl = {log, STRBUF_INIT, STRBUF_INIT};
	struct sigaction sa, old_sa;
	int w;

	memset(&toggle_addr, 0, sizeof(toggle_addr));
	toggle_addr.sun_family = AF_UNIX;
	{
		char *path = xasprintf("%s/%s.sock", s->dir, s->name);

		if (strlen(path) < sizeof(toggle_addr.sun_path)) /* (session_server_open checked) */
			memcpy(toggle_addr.sun_path, path, strlen(path) + 1);
		free(path);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_toggle_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, &old_sa);
	for (;;) {
		char cmd[32], v[32];
		int fd;

		w = launch_wait_event(l, 0, s->lfd, status, signaled, NULL);
		if (w != 2)
			break;
		fd = session_server_accept(s, &req);
		if (fd < 0)
			continue;
		strbuf_reset(&rl.err);
		strbuf_reset(&rl.fix);
		if (!session_kv(req.buf, "cmd", cmd, sizeof(cmd))) {
			session_server_refuse(fd, GP_EXIT_USAGE, "the first line is cmd=<command>",
					      "request without a command");
		} else if (!strcmp(cmd, "status")) {
			char *ans = xasprintf("state=%s\nwindows=%u\napp_pid=%ld\noutput=%s\n",
					      !s->output[0]		  ? "idle"
					      : recorder_window_open(rec) ? "collecting"
									  : "armed",
					      s->windows, (long)l->pid, s->output);

			session_server_answer(fd, ans);
			free(ans);
		} else if (!strcmp(cmd, "start")) {
			serve_start(s, rec, &rl, fd, req.buf);
		} else if (!strcmp(cmd, "stop") || !strcmp(cmd, "cancel")) {
			serve_stop(s, rec, &rl, fd, l->pid, !strcmp(cmd, "cancel"));
		} else if (!strcmp(cmd, "toggle")) {
			serve_toggle(s, rec, &rl, fd, l->pid);
		} else if (!strcmp(cmd, "shutdown")) {
			/* nsys: shutdown cancels the collection that is open */
			if (s->output[0]) {
				struct report_app_status app;
				char *path = NULL;

				running_status(&app, l->pid);
				recorder_window_stop(rec, &app, 1, &path);
				free(path);
				s->output[0] = '\0';
			}
			*kill_sig = session_kv(req.buf, "kill", v, sizeof(v)) ? atoi(v) : SIGTERM;
			s->shutdown_fd = fd; /* answered when the session has ended */
			sigaction(SIGUSR1, &old_sa, NULL);
			strbuf_release(&req);
			strbuf_release(&rl.err);
			strbuf_release(&rl.fix);
			return 3;
		} else {
			session_server_refuse(fd, GP_EXIT_USAGE,
					      "the commands are start, stop, cancel, shutdown and "
					      "status",
					      "unknown session command '%s'", cmd);
		}
	}
	sigaction(SIGUSR1, &old_sa, NULL);
	strbuf_release(&req);
	strbuf_release(&rl.err);
	strbuf_release(&rl.fix);
	return w;
}

/* Is argv[i] (an option word of the profile table) followed by its value as a separate
 * word?  (-t nvtx, --trace nvtx, -f true) */
static int takes_next(const char *word, const char *next)
{
	const struct profile_option *op = NULL;

	if (!strncmp(word, "--", 2)) {
		char name[64];
		size_t n = strcspn(word + 2, "=");

		if (word[2 + n] == '=' || n >= sizeof(name))
			return 0;
		memcpy(name, word + 2, n);
		name[n] = '\0';
		op = profile_option_find(name);
	} else if (word[1] && !word[2]) {
		op = profile_option_short((unsigned char)word[1]);
	}
	if (!op || !next)
		return 0;
	if (op->kind == PROFILE_OPT_VALUE)
		return 1;
	return op->kind == PROFILE_OPT_BOOL && (!strcmp(next, "true") || !strcmp(next, "false"));
}

int cmd_launch(int argc, char **argv)
{
	char **nargv = xcalloc((size_t)argc + 1, sizeof(char *));
	char name[SESSION_NAME_MAX + 1];
	const char *session_new = NULL, *session_join = NULL;
	struct session_launch sl;
	int nargc = 0, i, rc;

	nargv[nargc++] = "profile";
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] != '-' || !strcmp(a, "--"))
			break;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			launch_help(stdout);
			free(nargv);
			return GP_EXIT_OK;
		}
		if (!strncmp(a, "--session-new=", 14) || !strcmp(a, "--session-new")) {
			session_new = a[13] == '=' ? a + 14 : (i + 1 < argc ? argv[++i] : NULL);
			if (!session_new) {
				free(nargv);
				return gp_option_error("launch", 1, a);
			}
			continue;
		}
		if (!strncmp(a, "--session=", 10) || !strcmp(a, "--session")) {
			session_join = a[9] == '=' ? a + 10 : (i + 1 < argc ? argv[++i] : NULL);
			if (!session_join) {
				free(nargv);
				return gp_option_error("launch", 1, a);
			}
			continue;
		}
		{
			char nm[64];
			size_t n = strcspn(a + 2, "=");
			const struct profile_option *op =
			    a[1] == '-' ? (n < sizeof(nm) ? (memcpy(nm, a + 2, n), nm[n] = '\0',
							     profile_option_find(nm))
							  : NULL)
					: profile_option_short((unsigned char)a[1]);

			if (op && is_start_only(op->name)) {
				const char *cmd = strcmp(op->name, "kill") ? "start" : "shutdown";

				error("option '%s' belongs to 'gprof-cli %s' in a session", a, cmd);
				hint("launch the application, then give --%s to 'gprof-cli %s'",
				     op->name, cmd);
				free(nargv);
				return GP_EXIT_USAGE;
			}
		}
		nargv[nargc++] = argv[i];
		if (takes_next(a, i + 1 < argc ? argv[i + 1] : NULL))
			nargv[nargc++] = argv[++i];
	}
	for (; i < argc; i++)
		nargv[nargc++] = argv[i];
	nargv[nargc] = NULL;
	memset(&sl, 0, sizeof(sl));
	if (session_new && session_join) {
		error("--session and --session-new name two sessions");
		hint("--session=NAME runs the session that 'gprof-cli start --session-new=NAME' "
		     "made; --session-new=NAME makes one here");
		free(nargv);
		return GP_EXIT_USAGE;
	}
	if (session_join) {
		if (session_name_parse("--session", session_join, name) < 0) {
			free(nargv);
			return GP_EXIT_USAGE;
		}
		sl.name = name;
		sl.join = 1;
	} else if (session_new) {
		if (session_name_parse("--session-new", session_new, name) < 0) {
			free(nargv);
			return GP_EXIT_USAGE;
		}
		sl.name = name;
	}
	rc = profile_run(nargc, nargv, &sl);
	free(nargv);
	return rc;
}

void session_finish(struct session_server *s, struct recorder *rec,
		    const struct report_app_status *app)
{
	char *path = NULL;
	int r;

	if (!s->output[0])
		return;
	r = recorder_window_stop(rec, app, 0, &path);
	if (r > 0)
		warning("session '%s': no capture range was seen since the start; nothing written",
			s->name);
	if (r == 0 && path) {
		char abs[PATH_MAX];

		if (!realpath(path, abs))
			snprintf(abs, sizeof(abs), "%s", path);
		fprintf(stderr,
			"gprof-cli: session '%s': the application exited while collecting\n"
			"Generated:\n    %s\n",
			s->name, abs);
		if (s->stats) {
			fflush(stderr);
			stats_print_default(abs, stdout);
			fflush(stdout);
		}
	}
	free(path);
	s->output[0] = '\0';
}
