/*
 * test_sessions.c - end-to-end tests of the interactive sessions (issue 11; nsys launch,
 * start, stop, cancel, shutdown, sessions list, status): a `gprof-cli launch` of
 * tests/programs/serve_app runs in the background, and this process drives it as a
 * second shell would, with the real binary ($GPROF_CLI).  serve_app serves requests
 * only when told to (through a FIFO) and answers when they are done, so each window's
 * requests are known exactly: each request is one NVTX range "request", one mark "req"
 * carrying its number, and one nanosleep (an OSRT_API row).  Every test waits on
 * conditions (the FIFO answers, the commands' exits), never on fixed sleeps.
 *
 * The sessions live under a private XDG_RUNTIME_DIR in the test's folder.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/testutil.h"

static char gprof[PATH_MAX];
static char app[PATH_MAX];

#define RUN(r, dir, ...)                                                                           \
	do {                                                                                       \
		const char *a_[] = {__VA_ARGS__, NULL};                                            \
		tu_run_in(r, gprof, dir, a_);                                                      \
	} while (0)

/* A launched session: the daemon's pid and the FIFOs to its serve_app. */
struct sess {
	pid_t pid;
	char out[PATH_MAX], err[PATH_MAX];
	FILE *cmd, *ack;
};

/* `gprof-cli launch --session-new=name -t nvtx,osrt serve_app CMD ACK` in dir (join:
 * --session=name, the session `start --session-new` made); returns once serve_app has
 * opened both FIFOs (or fails the test when the launch exited). */
static void launch_args(struct sess *s, const char *dir, const char *name, int join,
			const char *extra1, const char *extra2)
{
	char cmd[PATH_MAX], ack[PATH_MAX], opt[128];
	const char *args[12];
	int n = 0;
	int fd = -1, ws;
	time_t t0 = time(NULL);

	snprintf(cmd, sizeof(cmd), "%s/%s.cmd", dir, name);
	snprintf(ack, sizeof(ack), "%s/%s.ack", dir, name);
	snprintf(s->out, sizeof(s->out), "%s/%s.launch.out", dir, name);
	snprintf(s->err, sizeof(s->err), "%s/%s.launch.err", dir, name);
	snprintf(opt, sizeof(opt), "--session%s=%s", join ? "" : "-new", name);
	assert_int_equal(mkfifo(cmd, 0600), 0);
	assert_int_equal(mkfifo(ack, 0600), 0);
	args[n++] = "launch";
	args[n++] = opt;
	args[n++] = "-t";
	args[n++] = "nvtx,osrt";
	if (extra1)
		args[n++] = extra1;
	if (extra2)
		args[n++] = extra2;
	args[n++] = app;
	args[n++] = cmd;
	args[n++] = ack;
	args[n] = NULL;
	s->pid = tu_spawn(gprof, args, dir, s->out, s->err);
	/* serve_app opens CMD for reading first: a non-blocking writer open succeeds then */
	while ((fd = open(cmd, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
		struct timespec ts = {0, 2000000};

		assert_int_equal(errno, ENXIO);
		if (waitpid(s->pid, &ws, WNOHANG) == s->pid) {
			char err[4096];

			tu_read_file(s->err, err, sizeof(err));
			fail_msg("launch exited early: %s", err);
		}
		assert_true(time(NULL) - t0 < 120);
		nanosleep(&ts, NULL);
	}
	assert_int_equal(fcntl(fd, F_SETFL, 0), 0);
	s->cmd = fdopen(fd, "w");
	fd = open(ack, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	s->ack = fdopen(fd, "r");
	assert_non_null(s->cmd);
	assert_non_null(s->ack);
}

static void launch_as(struct sess *s, const char *dir, const char *name, int join)
{
	launch_args(s, dir, name, join, NULL, NULL);
}

static void launch(struct sess *s, const char *dir, const char *name)
{
	launch_as(s, dir, name, 0);
}

/* Have serve_app serve n requests; returns the last request's number. */
static long serve(struct sess *s, long n)
{
	char line[64];
	long last = -1;

	fprintf(s->cmd, "req %ld\n", n);
	fflush(s->cmd);
	assert_non_null(fgets(line, sizeof(line), s->ack));
	assert_int_equal(sscanf(line, "ok %ld", &last), 1);
	return last;
}

/* Tell serve_app to exit and wait for the launch; returns its exit status. */
static int quit(struct sess *s, char *err, size_t size)
{
	char line[64];
	int st;

	fprintf(s->cmd, "quit\n");
	fflush(s->cmd);
	assert_non_null(fgets(line, sizeof(line), s->ack));
	fclose(s->cmd);
	fclose(s->ack);
	st = tu_wait(s->pid);
	tu_read_file(s->err, err, size);
	return st;
}

static long long q(const char *db, const char *sql)
{
	return tu_query_int(db, sql);
}

/* The window's report holds exactly requests first..last: ranges, marks, sleeps. */
static void assert_requests(const char *db, long first, long last)
{
	long n = last - first + 1;

	assert_int_equal(q(db, "SELECT count(*) FROM NVTX_EVENTS e LEFT JOIN StringIds s ON "
			       "s.id = e.textId WHERE e.eventType = 59 AND "
			       "coalesce(e.text, s.value) = 'request'"),
			 n);
	assert_int_equal(q(db, "SELECT count(*) FROM NVTX_EVENTS WHERE eventType = 34"), n);
	assert_int_equal(q(db, "SELECT min(int64Value) FROM NVTX_EVENTS WHERE eventType = 34"),
			 first);
	assert_int_equal(q(db, "SELECT max(int64Value) FROM NVTX_EVENTS WHERE eventType = 34"),
			 last);
	assert_int_equal(q(db, "SELECT count(*) FROM OSRT_API o JOIN StringIds s ON s.id = "
			       "o.nameId WHERE s.value = 'nanosleep'"),
			 n);
}

static int setup(void **state)
{
	char run[PATH_MAX];

	if (tu_setup_tmpdir(state) < 0)
		return -1;
	snprintf(run, sizeof(run), "%s/run", (char *)*state);
	if (mkdir(run, 0700) < 0)
		return -1;
	setenv("XDG_RUNTIME_DIR", run, 1);
	return 0;
}

/* start / stop twice, requests outside the windows, cancel, the errors of a running
 * session, and a window left open at the application's exit. */
static void test_windows(void **state)
{
	const char *dir = *state;
	char db[PATH_MAX], err[8192];
	struct tu_run r;
	struct sess s;
	long last;

	launch(&s, dir, "srv");
	RUN(&r, dir, "sessions", "list");
	tu_assert_status(&r, 0);
	assert_non_null(strstr(r.out, "srv"));
	assert_non_null(strstr(r.out, "idle"));
	assert_non_null(strstr(r.out, "nvtx,osrt"));

	serve(&s, 2); /* before any window: in no report */
	RUN(&r, dir, "start", "--session=srv", "-o", "warm");
	tu_assert_status(&r, 0);
	setenv("SESSIONS_TEST_NAME", "srv", 1); /* --session expands %q{VAR} as nsys */
	RUN(&r, dir, "status", "--session=%q{SESSIONS_TEST_NAME}");
	tu_assert_status(&r, 0);
	assert_non_null(strstr(r.out, "collecting"));
	assert_non_null(strstr(r.out, "/warm.db"));
	RUN(&r, dir, "sessions", "list", "--show-header=false");
	tu_assert_status(&r, 0);
	assert_int_equal(tu_total_lines(r.out), 1);
	assert_non_null(strstr(r.out, "collecting"));
	last = serve(&s, 5);
	assert_int_equal(last, 7);
	RUN(&r, dir, "stop", "--session=srv");
	tu_assert_status(&r, 0);
	assert_non_null(strstr(r.err, "Generated:"));
	assert_non_null(strstr(r.err, "/warm.db"));
	tu_pathf(db, dir, "warm.db");
	assert_requests(db, 3, 7); /* complete when stop returned */
	/* CPU sampling in a session (on by default): context switches of the window only */
	assert_true(tu_query_int(db, "SELECT count(*) FROM SCHED_EVENTS") > 0);
	assert_int_equal(tu_query_int(db, "SELECT count(*) FROM SCHED_EVENTS WHERE start < "
					  "(SELECT CAST(value AS INTEGER) FROM META_DATA_CAPTURE "
					  "WHERE name = 'GPROF_CAPTURE_RANGE_START') OR start > "
					  "(SELECT CAST(value AS INTEGER) FROM META_DATA_CAPTURE "
					  "WHERE name = 'GPROF_CAPTURE_RANGE_STOP')"),
			 0);

	serve(&s, 3);					/* 8..10: between windows */
	RUN(&r, dir, "start", "-o", "peak", "--stats"); /* the only session: no --session */
	tu_assert_status(&r, 0);
	serve(&s, 7); /* 11..17 */
	RUN(&r, dir, "stop");
	tu_assert_status(&r, 0);
	assert_non_null(strstr(r.out, "nvtx_sum")); /* start --stats */
	tu_pathf(db, dir, "peak.db");
	assert_requests(db, 11, 17);
	tu_pathf(db, dir, "warm.db");
	assert_requests(db, 3, 7); /* untouched */

	/* errors: nothing to stop; report exists; already collecting */
	RUN(&r, dir, "stop", "--session=srv");
	tu_assert_status(&r, 6);
	tu_assert_one_error(&r, "not collecting");
	RUN(&r, dir, "start", "--session=srv", "-o", "warm");
	tu_assert_status(&r, 4);
	tu_assert_one_error(&r, "already exists");
	RUN(&r, dir, "start", "--session=srv", "-o", "w3");
	tu_assert_status(&r, 0);
	serve(&s, 2); /* 18..19, cancelled */
	RUN(&r, dir, "start", "--session=srv", "-o", "w4");
	tu_assert_status(&r, 6);
	tu_assert_one_error(&r, "already collecting");
	RUN(&r, dir, "cancel", "--session=srv");
	tu_assert_status(&r, 0);
	assert_false(tu_exists(tu_pathf(db, dir, "w3.db")));
	assert_false(tu_exists(tu_pathf(db, dir, "w4.db")));
	RUN(&r, dir, "stop", "--session=nosuch");
	tu_assert_status(&r, 6);
	tu_assert_one_error(&r, "no session named 'nosuch'");

	/* a window open when the application exits is closed and written */
	RUN(&r, dir, "start", "--session=srv", "-o", "last");
	tu_assert_status(&r, 0);
	serve(&s, 4); /* 20..23 */
	assert_int_equal(quit(&s, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "/last.db"));
	tu_pathf(db, dir, "last.db");
	assert_requests(db, 20, 23);
	RUN(&r, dir, "start", "--session=srv", "-o", "late");
	tu_assert_status(&r, 6);
	tu_assert_one_error(&r, "has ended");
	assert_false(tu_exists(tu_pathf(db, dir, "late.db")));
}

/* Two sessions with one name; shutdown (cancels the open window, SIGTERM); a session
 * whose daemon was killed is stale, listed once and cleaned up. */
static void test_lifecycle(void **state)
{
	const char *dir = *state;
	char db[PATH_MAX], cmd[PATH_MAX], ack[PATH_MAX];
	struct tu_run r;
	struct sess a, b;

	launch(&a, dir, "one");
	snprintf(cmd, sizeof(cmd), "%s/x.cmd", dir);
	snprintf(ack, sizeof(ack), "%s/x.ack", dir);
	RUN(&r, dir, "launch", "--session-new=one", "-t", "nvtx", app, cmd, ack);
	tu_assert_status(&r, 6);
	tu_assert_one_error(&r, "session 'one' already exists");

	launch(&b, dir, "two");
	RUN(&r, dir, "stop"); /* two sessions: which one? */
	tu_assert_status(&r, 6);
	tu_assert_one_error(&r, "2 sessions are running");
	RUN(&r, dir, "sessions", "list", "-f", "json", "-p", "false");
	tu_assert_status(&r, 0);
	assert_int_equal(tu_count_lines(r.out, "{\"id\":"), 2);

	/* shutdown: the open window is cancelled, the application gets SIGTERM */
	RUN(&r, dir, "start", "--session=one", "-o", "gone");
	tu_assert_status(&r, 0);
	serve(&a, 3);
	RUN(&r, dir, "shutdown", "--session=one", "--kill=sigterm");
	tu_assert_status(&r, 0);
	assert_int_equal(tu_wait(a.pid), 128 + SIGTERM);
	fclose(a.cmd);
	fclose(a.ack);
	assert_false(tu_exists(tu_pathf(db, dir, "gone.db")));

	/* status -e: what the machine allows, without a session */
	RUN(&r, dir, "status", "-e");
	tu_assert_status(&r, 0);
	assert_non_null(strstr(r.out, "CUDA driver"));
	assert_non_null(strstr(r.out, "perf_event_paranoid:"));
	assert_non_null(strstr(r.out, "session directory:"));

	/* a bad name; a session directory open to other users */
	RUN(&r, dir, "stop", "--session=bad/name");
	tu_assert_status(&r, 2);
	tu_assert_one_error(&r, "invalid --session 'bad/name'");
	{
		char sdir[PATH_MAX + 32];

		snprintf(sdir, sizeof(sdir), "%.*s/run/gprof-cli", PATH_MAX - 64, dir);
		assert_int_equal(chmod(sdir, 0755), 0);
		RUN(&r, dir, "sessions", "list");
		tu_assert_status(&r, 1);
		tu_assert_one_error(&r, "is open to other users");
		assert_int_equal(chmod(sdir, 0700), 0);
	}

	/* a killed daemon: stale */
	assert_int_equal(kill(b.pid, SIGKILL), 0);
	tu_wait(b.pid);
	fclose(b.cmd); /* serve_app sees the end of its input and exits */
	fclose(b.ack);
	RUN(&r, dir, "stop", "--session=two");
	tu_assert_status(&r, 6);
	tu_assert_one_error(&r, "session 'two' is stale");
	RUN(&r, dir, "sessions", "list");
	tu_assert_status(&r, 0);
	assert_null(strstr(r.out, " two "));
}

/* start --session-new before the application (nsys's start, then launch --session):
 * collection from the application's start into the start's -o. */
static void test_start_before_launch(void **state)
{
	const char *dir = *state;
	char db[PATH_MAX], err[8192];
	struct tu_run r;
	struct sess s;

	RUN(&r, dir, "start", "--session-new=early", "-o", "early");
	tu_assert_status(&r, 0);
	RUN(&r, dir, "sessions", "list");
	assert_non_null(strstr(r.out, "pending"));
	RUN(&r, dir, "stop", "--session=early");
	tu_assert_status(&r, 6);
	tu_assert_one_error(&r, "has not launched its application yet");
	RUN(&r, dir, "start", "--session-new=early", "-o", "other");
	tu_assert_status(&r, 6);
	tu_assert_one_error(&r, "already waiting for its launch");
	RUN(&r, dir, "launch", "--session=nope", "-t", "nvtx", app, "x", "y");
	tu_assert_status(&r, 6);
	tu_assert_one_error(&r, "no session named 'nope' waits for a launch");
	launch_as(&s, dir, "early", 1);
	serve(&s, 4); /* 1..4: the window is open since the launch */
	RUN(&r, dir, "stop", "--session=early");
	tu_assert_status(&r, 0);
	assert_non_null(strstr(r.err, "/early.db"));
	serve(&s, 2); /* 5..6: outside */
	tu_pathf(db, dir, "early.db");
	assert_requests(db, 1, 4);
	assert_int_equal(quit(&s, err, sizeof(err)), 0);
	assert_false(tu_exists(tu_pathf(db, dir, "other.db")));
}

/* launch -c nvtx -p request: each start arms one range, the application's next
 * "request" range; stop writes it, or says that none came (nothing written). */
static void test_trigger(void **state)
{
	const char *dir = *state;
	char db[PATH_MAX], err[8192];
	struct tu_run r;
	struct sess s;

	launch_args(&s, dir, "trig", 0, "--capture-range=nvtx", "--nvtx-capture=request");
	serve(&s, 2); /* 1..2: not armed */
	RUN(&r, dir, "start", "-o", "t1");
	tu_assert_status(&r, 0);
	RUN(&r, dir, "status");
	assert_non_null(strstr(r.out, "armed"));
	serve(&s, 3); /* 3 opens and closes the range; 4..5 are not captured */
	RUN(&r, dir, "stop");
	tu_assert_status(&r, 0);
	assert_non_null(strstr(r.err, "/t1.db"));
	tu_pathf(db, dir, "t1.db");
	assert_requests(db, 3, 3);
	RUN(&r, dir, "start", "-o", "t2");
	tu_assert_status(&r, 0);
	RUN(&r, dir, "stop"); /* no range since the start */
	tu_assert_status(&r, 6);
	tu_assert_one_error(&r, "saw no capture range");
	assert_false(tu_exists(tu_pathf(db, dir, "t2.db")));
	RUN(&r, dir, "start", "-o", "t3");
	tu_assert_status(&r, 0);
	serve(&s, 2); /* 6 captured */
	assert_int_equal(quit(&s, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "/t3.db"));
	tu_pathf(db, dir, "t3.db");
	assert_requests(db, 6, 6);
}

/* Wait until `status --session=name` says `state` (a condition, not a fixed sleep). */
static void wait_state(const char *dir, const char *name, const char *state)
{
	char opt[128], want[64];
	time_t t0 = time(NULL);
	struct tu_run r;

	snprintf(opt, sizeof(opt), "--session=%s", name);
	snprintf(want, sizeof(want), "state:        %s", state);
	for (;;) {
		RUN(&r, dir, "status", opt);
		tu_assert_status(&r, 0);
		if (strstr(r.out, want))
			return;
		assert_true(time(NULL) - t0 < 120);
	}
}

/* SIGUSR1 to the launch toggles collection: a window into report%n of the launch's
 * working directory, closed and written by the next SIGUSR1. */
static void test_signal_toggle(void **state)
{
	const char *dir = *state;
	char db[PATH_MAX], err[8192];
	struct sess s;

	launch(&s, dir, "sig");
	serve(&s, 1); /* 1: outside */
	assert_int_equal(kill(s.pid, SIGUSR1), 0);
	wait_state(dir, "sig", "collecting");
	serve(&s, 3); /* 2..4 */
	assert_int_equal(kill(s.pid, SIGUSR1), 0);
	wait_state(dir, "sig", "idle");
	serve(&s, 2); /* 5..6: outside */
	tu_pathf(db, dir, "report1.db");
	assert_requests(db, 2, 4);
	assert_int_equal(quit(&s, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "/report1.db"));
	assert_requests(db, 2, 4);
}

/* Another user can neither reach the session directory nor talk to the daemon, even
 * through a socket it can open (root only: the test drops to uid 65534). */
static void test_other_user(void **state)
{
	const char *dir = *state;
	char sock[PATH_MAX + 32], run[PATH_MAX + 32], sdir[PATH_MAX + 32];
	struct sess s;
	pid_t pid;

	if (geteuid() != 0)
		TU_SKIP("needs root to act as another user");
	snprintf(run, sizeof(run), "%.*s/run", PATH_MAX - 64, dir);
	snprintf(sdir, sizeof(sdir), "%.*s/gprof-cli", PATH_MAX - 64, run);
	snprintf(sock, sizeof(sock), "%.*s/mine.sock", PATH_MAX - 64, sdir);
	if (strlen(sock) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		TU_SKIP("socket path too long: %s", sock);
	launch(&s, dir, "mine");
	/* the client refuses a session directory that is not the user's */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const char *args[] = {"sessions", "list", NULL};
		char out[PATH_MAX], err[PATH_MAX];

		if (chmod(dir, 0755) < 0 || chmod(run, 0755) < 0 || setgid(65534) < 0 ||
		    setuid(65534) < 0)
			_exit(90);
		snprintf(out, sizeof(out), "/dev/null");
		snprintf(err, sizeof(err), "/dev/null");
		_exit(tu_wait(tu_spawn(gprof, args, "/", out, err)) == 0 ? 91 : 0);
	}
	assert_int_equal(tu_wait(pid), 0);
	/* the daemon refuses a peer of another uid (SO_PEERCRED), even with the folder and
	 * socket opened up */
	assert_int_equal(chmod(sdir, 0755), 0);
	assert_int_equal(chmod(sock, 0777), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sockaddr_un a;
		char buf[512];
		ssize_t n, got = 0;
		int fd;

		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(90);
		memset(&a, 0, sizeof(a));
		a.sun_family = AF_UNIX;
		memcpy(a.sun_path, sock, strlen(sock) + 1);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
			_exit(92);
		/* (the daemon may answer and close before this is written) */
		if (write(fd, "cmd=status\n", 11) == 11)
			shutdown(fd, SHUT_WR);
		while ((n = read(fd, buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
			got += n;
		buf[got] = '\0';
		_exit(strstr(buf, "error=session 'mine' belongs to another user") &&
			      !strstr(buf, "state=")
			  ? 0
			  : 94);
	}
	assert_int_equal(tu_wait(pid), 0);
	assert_int_equal(chmod(sdir, 0700), 0);
	{
		char err[4096];

		assert_int_equal(quit(&s, err, sizeof(err)), 0);
	}
}

int main(void)
{
	const char *g = getenv("GPROF_CLI"), *b = getenv("BUILD");
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_windows, setup, tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_lifecycle, setup, tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_signal_toggle, setup, tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_start_before_launch, setup, tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_trigger, setup, tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_other_user, setup, tu_teardown_tmpdir),
	};

	snprintf(gprof, sizeof(gprof), "%s", g ? g : "build/bin/gprof-cli");
	snprintf(app, sizeof(app), "%s/tests/programs/serve_app", b ? b : "build");
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
