/*
 * test_session_tables.c - end-to-end: the session tables of a CPU-only `profile` run
 * (core/report_session.h), made by the real gprof-cli on tests/programs/streams_app:
 *
 *   - ProcessStreams holds exactly what the application wrote, stdout and stderr, shown
 *     (-w true) or not (-w false);
 *   - the application sees what it saw without gprof-cli: a terminal stays a terminal
 *     (isatty), a file a non-terminal; a closed reader still ends it with SIGPIPE; a child
 *     still printing after the session keeps its output;
 *   - TARGET_INFO_SYSTEM_ENV names this host; DIAGNOSTIC_EVENT holds gprof-cli's warning,
 *     the collector-style line of the application's stderr and the session's start and
 *     stop; PROFILER_OVERHEAD the osrt library's set-up and exit flush.
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/testutil.h"

static char gprof[PATH_MAX];
static char app[PATH_MAX];

#define RUN(r, dir, ...)                                                                           \
	do {                                                                                       \
		const char *a_[] = {__VA_ARGS__, NULL};                                            \
		char o_[PATH_MAX], e_[PATH_MAX];                                                   \
		tu_pathf(o_, dir, ".out");                                                         \
		tu_pathf(e_, dir, ".err");                                                         \
		tu_finish(tu_spawn(gprof, a_, NULL, o_, e_), r, o_, e_);                           \
	} while (0)

/* The text of the application's stream `name` ("stdout"/"stderr") in report db. */
static const char *stream_text(const char *db, const char *name)
{
	static char buf[4096];
	sqlite3 *h;

	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	snprintf(buf, sizeof(buf), "%s",
		 tu_db_row_text(h, name[3] == 'o' ? "SELECT c.value FROM ProcessStreams p JOIN "
						    "StringIds f ON f.id = p.filenameId JOIN "
						    "StringIds c ON c.id = p.contentId WHERE "
						    "f.value LIKE '%_stdout.log'"
						  : "SELECT c.value FROM ProcessStreams p JOIN "
						    "StringIds f ON f.id = p.filenameId JOIN "
						    "StringIds c ON c.id = p.contentId WHERE "
						    "f.value LIKE '%_stderr.log'"));
	sqlite3_close(h);
	return buf;
}

static void wait_for_file(const char *path)
{
	struct timespec ts = {0, 10000000};

	for (int i = 0; i < 1000 && !tu_exists(path); i++)
		nanosleep(&ts, NULL);
	assert_true(tu_exists(path));
}

/* -w true into files: what the application wrote is shown and stored, byte for byte; the
 * other session tables of the run. */
static void test_streams_shown_and_kept(void **state)
{
	const char *dir = *state;
	char o[PATH_MAX], db[PATH_MAX], host[256], pid[32];
	struct tu_run r;

	/* a gprof-cli warning before the launch (as test_profile.c's injection test) */
	setenv("NVTX_INJECTION64_PATH", "/opt/other/libinject.so", 1);
	RUN(&r, dir, "profile", "-t", "nvtx,osrt", "-o", tu_pathf(o, dir, "r"), app, "print");
	unsetenv("NVTX_INJECTION64_PATH");
	tu_assert_status(&r, 0);
	assert_string_equal(r.out, "out: isatty=0\n");
	assert_non_null(strstr(r.err, "err: isatty=0\ngprof-cli: warning: streams_app: a "
				      "collector's message\nhint: the fix it names\n"));
	tu_pathf(db, dir, "r.db");
	tu_meta(db, "META_DATA_EXPORT", "GPROF_APP_PID", pid, sizeof(pid));

	/* ProcessStreams: the launched process, both streams, exactly the bytes */
	assert_int_equal(tu_query_int(db, "SELECT count(*) FROM ProcessStreams"), 2);
	assert_int_equal(tu_query_intf(db,
				       "SELECT count(*) FROM ProcessStreams WHERE globalPid / "
				       "16777216 %% 16777216 = %s",
				       pid),
			 2);
	assert_string_equal(stream_text(db, "stdout"), "out: isatty=0\n");
	assert_string_equal(stream_text(db, "stderr"),
			    "err: isatty=0\ngprof-cli: warning: streams_app: a collector's "
			    "message\nhint: the fix it names\n");

	/* DIAGNOSTIC_EVENT: gprof-cli's warning (Daemon, before the launch), the
	 * collector-style line with its hint (Injection, the app's pid), start and stop */
	assert_int_equal(tu_query_int(db,
				      "SELECT count(*) FROM DIAGNOSTIC_EVENT WHERE source = 2 "
				      "AND severity = 2 AND text LIKE "
				      "'NVTX_INJECTION64_PATH is already set%' AND timestamp < 0"),
			 1);
	assert_int_equal(
	    tu_query_intf(db,
			  "SELECT count(*) FROM DIAGNOSTIC_EVENT WHERE source = 1 AND "
			  "severity = 2 AND text = 'streams_app: a collector''s message; "
			  "hint: the fix it names' AND globalPid / 16777216 %% 16777216 "
			  "= %s",
			  pid),
	    1);
	assert_int_equal(tu_query_int(db, "SELECT count(*) FROM DIAGNOSTIC_EVENT WHERE text IN "
					  "('Profiling has started.', 'Profiling has stopped.')"),
			 2);
	assert_int_equal(tu_query_int(db, "SELECT count(*) FROM DIAGNOSTIC_EVENT d1, "
					  "DIAGNOSTIC_EVENT d2 WHERE d2.rowid = d1.rowid + 1 AND "
					  "d2.timestamp < d1.timestamp"),
			 0);

	/* TARGET_INFO_SYSTEM_ENV: this host */
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	host[sizeof(host) - 1] = '\0';
	assert_int_equal(tu_query_intf(db,
				       "SELECT count(*) FROM TARGET_INFO_SYSTEM_ENV WHERE name = "
				       "'Hostname' AND nameEnum = 619 AND value = '%s'",
				       host),
			 1);
	assert_int_equal(tu_query_intf(db,
				       "SELECT CAST(value AS INTEGER) FROM TARGET_INFO_SYSTEM_ENV "
				       "WHERE name = 'CpuCores'"),
			 sysconf(_SC_NPROCESSORS_ONLN));

	/* PROFILER_OVERHEAD: the osrt library's connection set-up and exit flush, on the
	 * application's threads */
	assert_int_equal(
	    tu_query_intf(db,
			  "SELECT count(*) FROM PROFILER_OVERHEAD o JOIN StringIds s ON "
			  "s.id = o.nameId WHERE s.value IN ('Profiler connection set-up "
			  "(libgprof-osrt.so)', 'Profiling data flush on process exit') "
			  "AND o.globalTid / 16777216 %% 16777216 = %s AND o.end >= "
			  "o.start",
			  pid),
	    2);
}

/* -w false: nothing shown, everything kept. */
static void test_streams_hidden_but_kept(void **state)
{
	const char *dir = *state;
	char o[PATH_MAX], db[PATH_MAX];
	struct tu_run r;

	RUN(&r, dir, "profile", "-t", "none", "-w", "false", "-o", tu_pathf(o, dir, "q"), app,
	    "print");
	tu_assert_status(&r, 0);
	assert_string_equal(r.out, "");
	assert_null(strstr(r.err, "isatty"));
	tu_pathf(db, dir, "q.db");
	assert_string_equal(stream_text(db, "stdout"), "out: isatty=0\n");
	assert_int_equal(strncmp(stream_text(db, "stderr"), "err: isatty=0\n", 14), 0);
}

/* gprof-cli on a terminal: the application is on a terminal too. */
static void test_terminal_stays_terminal(void **state)
{
	const char *dir = *state;
	char o[PATH_MAX], db[PATH_MAX], name[128], shown[8192];
	int m, s, status;
	size_t len = 0;
	pid_t pid;

	m = posix_openpt(O_RDWR | O_NOCTTY);
	assert_true(m >= 0);
	assert_int_equal(grantpt(m), 0);
	assert_int_equal(unlockpt(m), 0);
	assert_int_equal(ptsname_r(m, name, sizeof(name)), 0);
	s = open(name, O_RDWR | O_NOCTTY);
	assert_true(s >= 0);
	tu_pathf(o, dir, "t");
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(s, 1);
		dup2(s, 2);
		close(m);
		execl(gprof, gprof, "profile", "-t", "none", "-o", o, app, "print", (char *)NULL);
		_exit(251);
	}
	close(s);
	for (;;) {
		struct pollfd p = {m, POLLIN, 0};
		ssize_t n;

		if (poll(&p, 1, 20000) <= 0)
			break;
		n = read(m, shown + len, sizeof(shown) - 1 - len);
		if (n <= 0)
			break; /* EIO: every slave closed */
		len += (size_t)n;
	}
	shown[len] = '\0';
	close(m);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* as the terminal shows it (its own \r\n), and as the report keeps it (no \r) */
	assert_non_null(strstr(shown, "out: isatty=1\r\n"));
	assert_non_null(strstr(shown, "err: isatty=1\r\n"));
	tu_pathf(db, dir, "t.db");
	assert_string_equal(stream_text(db, "stdout"), "out: isatty=1\n");
}

/* A child that prints after the session ended (--wait=primary, no linger) keeps its
 * output and is not killed by a closed stdout. */
static void test_late_output_kept(void **state)
{
	const char *dir = *state;
	char o[PATH_MAX], ready[PATH_MAX], out[PATH_MAX], err[PATH_MAX], text[256];
	const char *args[] = {"profile",
			      "-t",
			      "none",
			      "--wait=primary",
			      "-o",
			      tu_pathf(o, dir, "l"),
			      app,
			      "late",
			      tu_pathf(ready, dir, "ready"),
			      NULL};
	pid_t pid;

	setenv("GPROF_CLI_LINGER_MS", "0", 1);
	pid = tu_spawn(gprof, args, NULL, tu_pathf(out, dir, ".out"), tu_pathf(err, dir, ".err"));
	assert_int_equal(tu_wait(pid), 0);
	unsetenv("GPROF_CLI_LINGER_MS");
	assert_false(tu_exists(ready)); /* gprof-cli did not wait for it */
	wait_for_file(ready);		/* so the child was not killed writing */
	for (int i = 0; i < 100; i++) {
		struct timespec ts = {0, 10000000};

		tu_read_file(out, text, sizeof(text));
		if (strstr(text, "late"))
			break;
		nanosleep(&ts, NULL);
	}
	assert_string_equal(text, "late\n");
}

/* Nobody reads stdout: the application still dies of SIGPIPE (status 141), as without
 * gprof-cli, and gprof-cli says so and exits with that status. */
static void test_sigpipe_reaches_app(void **state)
{
	const char *dir = *state;
	char o[PATH_MAX], err[PATH_MAX], text[4096];
	int p[2], status;
	pid_t pid;

	tu_pathf(o, dir, "p");
	tu_pathf(err, dir, ".err");
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		signal(SIGPIPE, SIG_DFL);
		dup2(p[1], 1);
		dup2(fd, 2);
		close(p[0]);
		close(p[1]);
		execl(gprof, gprof, "profile", "-t", "none", "-o", o, app, "flood", (char *)NULL);
		_exit(251);
	}
	close(p[1]);
	close(p[0]); /* the reader goes away */
	assert_int_equal(waitpid(pid, &status, 0), pid);
	tu_read_file(err, text, sizeof(text));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 128 + SIGPIPE);
	assert_non_null(strstr(text, "application was killed by signal 13"));
}

int main(void)
{
	const char *g = getenv("GPROF_CLI");
	const char *b = getenv("BUILD");
	char path[PATH_MAX];

	if (!realpath(g && *g ? g : "build/bin/gprof-cli", gprof)) {
		fprintf(stderr, "test_session_tables: gprof-cli not found (set GPROF_CLI)\n");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/tests/programs/streams_app", b && *b ? b : "build");
	if (!realpath(path, app)) {
		fprintf(stderr, "test_session_tables: '%s' not found (set BUILD)\n", path);
		return 1;
	}
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, tu_setup_tmpdir, tu_teardown_tmpdir)
	    T(test_streams_shown_and_kept),  T(test_streams_hidden_but_kept),
	    T(test_terminal_stays_terminal), T(test_late_output_kept),
	    T(test_sigpipe_reaches_app),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
