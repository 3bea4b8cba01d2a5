/*
 * test_osrt.c - end-to-end tests of the osrt collector (collectors/osrt.c): profiles
 * tests/programs/osrt_app with `$GPROF_CLI profile -t osrt` and checks the OSRT_API rows
 * of the report (names through StringIds, pids from globalTid >> 24) against what the
 * program is known to do (see the comment at the top of osrt_app.c).
 *
 * The app writes its own pid and its two children's pids to a file; it checks return
 * values and errno itself and exits with the failed step's number, so exit status 0 also
 * means "errno and return values were preserved under the preload".
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/testutil.h"

#define MS 1000000LL /* ns */
/* Upper bound added to a known sleep: generous, the test machine may be loaded. */
#define SLACK (500 * MS)

static char gprof[PATH_MAX];
static char app[PATH_MAX + 64];
static char lib[PATH_MAX + 64];

/* The pids osrt_app wrote. */
struct pids {
	long main, fork, exec, spawn;
};

/* Run argv (NULL-terminated) with extra environment entries env (NULL-terminated, may
 * be NULL), output to dir/.log; returns the exit status, or -1 when it did not exit. */
static int run_cmd(const char *dir, const char *const *argv, const char *const *env)
{
	char log[PATH_MAX];
	int ws;

	snprintf(log, sizeof(log), "%s/.log", dir);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			_exit(250);
		dup2(fd, 1);
		dup2(fd, 2);
		for (; env && *env; env++)
			putenv((char *)*env);
		execv(argv[0], (char **)argv);
		_exit(251);
	}
	while (waitpid(pid, &ws, 0) < 0)
		assert_int_equal(errno, EINTR);
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

/* Print the run's log (on failure). */
static void dump_log(const char *dir)
{
	char path[PATH_MAX], buf[4096];

	tu_read_file(tu_pathf(path, dir, ".log"), buf, sizeof(buf));
	print_message("--- output:\n%s\n", buf);
}

/* `gprof-cli profile -t TRACE [--osrt-threshold THR] -o dir/NAME osrt_app dir/NAME.pids`;
 * asserts exit status 0 and reads the pids.  Fills db with the report path. */
/* --trace-fork-before-exec value the next profile() passes (the tests below follow the
 * forked child, so "true" unless a test says otherwise) */
static const char *g_trace_fork = "--trace-fork-before-exec=true";

static void profile(const char *dir, const char *name, const char *trace, const char *thr, char *db,
		    struct pids *p)
{
	char out[PATH_MAX / 2], pidfile[PATH_MAX];
	const char *argv[12];
	int n = 0;

	snprintf(out, sizeof(out), "%s/%s", dir, name);
	snprintf(pidfile, sizeof(pidfile), "%s/%s.pids", dir, name);
	snprintf(db, PATH_MAX, "%s.db", out);
	argv[n++] = gprof;
	argv[n++] = "profile";
	argv[n++] = "-t";
	argv[n++] = trace;
	if (thr) {
		argv[n++] = "--osrt-threshold";
		argv[n++] = thr;
	}
	argv[n++] = g_trace_fork;
	argv[n++] = "-o";
	argv[n++] = out;
	argv[n++] = app;
	argv[n++] = pidfile;
	argv[n] = NULL;
	int st = run_cmd(dir, argv, NULL);
	if (st != 0)
		dump_log(dir);
	assert_int_equal(st, 0);

	FILE *f = fopen(pidfile, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "main=%ld fork=%ld exec=%ld spawn=%ld", &p->main, &p->fork,
				&p->exec, &p->spawn),
			 4);
	fclose(f);
	assert_true(p->main > 0 && p->fork > 0 && p->exec > 0 && p->spawn > 0);
	assert_true(p->main != p->fork && p->main != p->exec && p->fork != p->exec);
	assert_true(p->spawn != p->main && p->spawn != p->fork && p->spawn != p->exec);
}

/* SQL pieces: the row's function name and its process / thread ids. */
#define NAME "(SELECT value FROM StringIds WHERE id = nameId)"
#define PID  "((globalTid >> 24) & 16777215)"
#define TID  "(globalTid & 16777215)"
#define DUR  "(\"end\" - start)"

/* Rows of `name` in process pid matching the extra condition `cond`. */
static long long rows(const char *db, const char *name, long pid, const char *cond)
{
	return tu_query_intf(
	    db, "SELECT count(*) FROM OSRT_API WHERE " NAME " = '%s' AND " PID " = %ld AND %s",
	    name, pid, cond ? cond : "1");
}

/* --- tests ------------------------------------------------------------------------- */

/* Default threshold (1000 ns): the known waits, their counts, durations, return values,
 * threads, nesting and the three processes. */
static void test_default_threshold(void **state)
{
	const char *dir = *state;
	char db[PATH_MAX], cond[256];
	struct pids p;

	profile(dir, "def", "osrt", NULL, db, &p);

	/* four processes: the app, its forked child, its exec'd child (execve with an
	 * environment lacking the injection variables) and its posix_spawn'd child (empty
	 * environment) */
	assert_int_equal(tu_query_intf(db,
				       "SELECT count(DISTINCT pid) FROM PROCESSES WHERE pid IN "
				       "(%ld, %ld, %ld, %ld)",
				       p.main, p.fork, p.exec, p.spawn),
			 4);
	assert_int_equal(
	    tu_query_intf(db,
			  "SELECT count(*) FROM PROCESSES WHERE pid IN (%ld, %ld) AND name = "
			  "'osrt_exec_child'",
			  p.exec, p.spawn),
	    2);
	assert_int_equal(tu_query_intf(db,
				       "SELECT count(*) FROM PROCESSES WHERE pid = %ld AND name = "
				       "'osrt_app'",
				       p.main),
			 1);
	assert_int_equal(tu_query_intf(db, "SELECT count(DISTINCT " PID ") FROM OSRT_API"), 4);

	/* every row: nsys's constant columns, a real interval; a backtrace only for the calls
	 * of at least --osrt-backtrace-threshold (80 us) */
	assert_int_equal(tu_query_intf(db,
				       "SELECT count(*) FROM OSRT_API WHERE eventClass != 27 OR "
				       "(callchainId != 0 AND \"end\" - start < 80000) OR "
				       "\"end\" < start OR start < 0"),
			 0);

	/* usleep: 5 x 10 ms on main, 1 x 20 ms in the forked child, 2 x 30 ms exec'd */
	snprintf(cond, sizeof(cond), DUR " >= %lld AND " DUR " < %lld", 10 * MS, 10 * MS + SLACK);
	assert_int_equal(rows(db, "usleep", p.main, cond), 5);
	assert_int_equal(rows(db, "usleep", p.fork, NULL), 1);
	assert_int_equal(rows(db, "usleep", p.fork, DUR " >= 20000000"), 1);
	assert_int_equal(rows(db, "usleep", p.exec, NULL), 2);
	assert_int_equal(rows(db, "usleep", p.exec, DUR " >= 30000000 AND returnValue = 0"), 2);
	assert_int_equal(rows(db, "usleep", p.spawn, DUR " >= 30000000 AND returnValue = 0"), 2);
	assert_int_equal(rows(db, "usleep", p.spawn, NULL), 2);

	/* nanosleep: 4 x 15 ms at level 0 on main, 1 x 2 ms nested in sigsuspend */
	snprintf(cond, sizeof(cond), "nestingLevel = 0 AND " DUR " >= %lld AND " DUR " < %lld",
		 15 * MS, 15 * MS + SLACK);
	assert_int_equal(rows(db, "nanosleep", p.main, cond), 4);
	assert_int_equal(rows(db, "nanosleep", p.main, NULL), 5);
	assert_int_equal(rows(db, "nanosleep", p.main, "nestingLevel = 1 AND " DUR " >= 2000000"),
			 1);
	assert_int_equal(tu_query_intf(db, "SELECT count(*) FROM OSRT_API WHERE nestingLevel != 0"),
			 1);
	assert_int_equal(rows(db, "sigsuspend", p.main,
			      "returnValue = -1 AND nestingLevel = 0 AND " DUR " >= 2000000"),
			 1);
	/* the nested call lies inside the sigsuspend call */
	assert_int_equal(
	    tu_query_intf(db,
			  "SELECT count(*) FROM OSRT_API n, OSRT_API s WHERE n.nestingLevel = 1 "
			  "AND s.nameId = (SELECT id FROM StringIds WHERE value = 'sigsuspend') "
			  "AND n.globalTid = s.globalTid AND n.start >= s.start AND n.\"end\" <= "
			  "s.\"end\""),
	    1);

	/* mutex contention: 3 waits of ~20 ms, all on the main thread */
	snprintf(cond, sizeof(cond), DUR " >= 5000000 AND " TID " = %ld", p.main);
	assert_int_equal(rows(db, "pthread_mutex_lock", p.main, cond), 3);
	assert_int_equal(rows(db, "pthread_mutex_lock", p.main, DUR " >= 5000000"), 3);
	/* the holder's and the pipe writer's clock_nanosleep, on other threads */
	snprintf(cond, sizeof(cond), DUR " >= 20000000 AND " TID " != %ld", p.main);
	assert_int_equal(rows(db, "clock_nanosleep", p.main, cond), 4);
	assert_int_equal(rows(db, "clock_nanosleep", p.main, NULL), 4);

	/* the blocked pipe read returns the 5 bytes written */
	assert_int_equal(rows(db, "read", p.main, "returnValue = 5 AND " DUR " >= 20000000"), 1);
	/* condvar, semaphore, select, poll: one wait each */
	assert_int_equal(rows(db, "pthread_cond_wait", p.main, DUR " >= 5000000"), 1);
	assert_int_equal(rows(db, "sem_wait", p.main, DUR " >= 5000000 AND returnValue = 0"), 1);
	assert_int_equal(rows(db, "select", p.main, DUR " >= 20000000 AND returnValue = 0"), 1);
	assert_int_equal(rows(db, "poll", p.main, DUR " >= 20000000 AND returnValue = 0"), 1);

	/* waitpid returned each child's pid */
	assert_int_equal(rows(db, "waitpid", p.main, NULL), 3);
	snprintf(cond, sizeof(cond), "returnValue = %ld", p.spawn);
	assert_int_equal(rows(db, "waitpid", p.main, cond), 1);
	snprintf(cond, sizeof(cond), "returnValue = %ld AND " DUR " >= 20000000", p.fork);
	assert_int_equal(rows(db, "waitpid", p.main, cond), 1);
	snprintf(cond, sizeof(cond), "returnValue = %ld AND " DUR " >= 60000000", p.exec);
	assert_int_equal(rows(db, "waitpid", p.main, cond), 1);

	/* nothing recorded under the threshold */
	assert_int_equal(tu_query_intf(db, "SELECT count(*) FROM OSRT_API WHERE " DUR " < 1000"),
			 0);
}

/* Threshold 0: every interposed call is recorded, so the file I/O and the failing calls
 * give exact counts and return values. */
static void test_threshold_zero(void **state)
{
	const char *dir = *state;
	char db[PATH_MAX], cond[128];
	struct pids p;

	profile(dir, "zero", "osrt", "0", db, &p);

	assert_int_equal(rows(db, "open", p.main, NULL), 2);
	assert_int_equal(rows(db, "open", p.main, "returnValue >= 3"), 1);
	assert_int_equal(rows(db, "open", p.main, "returnValue = -1"), 1);
	assert_int_equal(rows(db, "write", p.main, "returnValue = 65536"), 4);
	assert_int_equal(rows(db, "write", p.main, "returnValue = 5"), 1);
	assert_int_equal(rows(db, "write", p.main, NULL), 5);
	assert_int_equal(rows(db, "fsync", p.main, "returnValue = 0"), 1);
	assert_int_equal(rows(db, "close", p.main, NULL), 4);
	assert_int_equal(rows(db, "close", p.main, "returnValue = -1"), 1);
	assert_int_equal(rows(db, "read", p.main, NULL), 2);
	assert_int_equal(rows(db, "read", p.main, "returnValue = -1"), 1);
	assert_int_equal(rows(db, "fcntl", p.main, "returnValue = -1"), 1);
	assert_int_equal(rows(db, "fopen", p.main, "returnValue != 0"), 2);
	assert_int_equal(rows(db, "fread", p.main, "returnValue = 65536"), 4);
	assert_int_equal(rows(db, "fclose", p.main, "returnValue = 0"), 2);
	assert_int_equal(rows(db, "unlink", p.main, "returnValue = 0"), 1);
	assert_int_equal(rows(db, "pipe", p.main, "returnValue = 0"), 1);
	assert_int_equal(rows(db, "usleep", p.main, NULL), 6);
	assert_int_equal(rows(db, "pthread_create", p.main, "returnValue = 0"), 3);
	/* every mutex lock, uncontended ones included: 4 on main, 3 + 1 on the helpers */
	assert_int_equal(rows(db, "pthread_mutex_lock", p.main, NULL), 8);
	snprintf(cond, sizeof(cond), TID " = %ld", p.main);
	assert_int_equal(rows(db, "pthread_mutex_lock", p.main, cond), 4);
	assert_int_equal(tu_query_intf(db, "SELECT count(*) FROM OSRT_API WHERE nestingLevel != 0"),
			 1);
	assert_int_equal(rows(db, "usleep", p.fork, NULL), 1);
	assert_int_equal(rows(db, "usleep", p.exec, NULL), 2);
	assert_int_equal(rows(db, "usleep", p.spawn, NULL), 2);
}

/* nsys's default --trace-fork-before-exec=false: the forked child that never execs leaves
 * no rows and no process; the exec'd and spawned children are traced from their exec on. */
static void test_fork_default(void **state)
{
	const char *dir = *state;
	char db[PATH_MAX];
	struct pids p;

	g_trace_fork = "--trace-fork-before-exec=false";
	profile(dir, "forkdef", "osrt", NULL, db, &p);
	g_trace_fork = "--trace-fork-before-exec=true";
	assert_int_equal(
	    tu_query_intf(db, "SELECT count(*) FROM PROCESSES WHERE pid IN (%ld, %ld, %ld, %ld)",
			  p.main, p.fork, p.exec, p.spawn),
	    3);
	assert_int_equal(
	    tu_query_intf(db, "SELECT count(*) FROM OSRT_API WHERE " PID " = %ld", p.fork), 0);
	assert_int_equal(rows(db, "usleep", p.main, NULL), 6);
	assert_int_equal(rows(db, "usleep", p.exec, NULL), 2);
	assert_int_equal(rows(db, "usleep", p.spawn, NULL), 2);
}

/* A threshold above every call's duration: nothing is recorded, the app still runs. */
static void test_threshold_high(void **state)
{
	const char *dir = *state;
	char db[PATH_MAX];
	struct pids p;

	profile(dir, "high", "osrt", "1000000000", db, &p);
	long long n =
	    tu_query_intf(db, "SELECT count(*) FROM sqlite_master WHERE name = 'OSRT_API'");
	if (n == 1)
		assert_int_equal(tu_query_intf(db, "SELECT count(*) FROM OSRT_API"), 0);
	assert_int_equal(
	    tu_query_intf(db, "SELECT count(*) FROM PROCESSES WHERE pid IN (%ld, %ld, %ld, %ld)",
			  p.main, p.fork, p.exec, p.spawn),
	    4);
}

/* Without osrt in -t, nothing is interposed: no OSRT_API rows. */
static void test_not_traced(void **state)
{
	const char *dir = *state;
	char db[PATH_MAX];
	struct pids p;

	profile(dir, "nvtx", "nvtx", NULL, db, &p);
	long long n =
	    tu_query_intf(db, "SELECT count(*) FROM sqlite_master WHERE name = 'OSRT_API'");
	if (n == 1)
		assert_int_equal(tu_query_intf(db, "SELECT count(*) FROM OSRT_API"), 0);
}

/* The library preloaded outside gprof-cli is a pass-through: no channel, an unreachable
 * channel, or osrt not in the trace list; the app's own checks (errno, return values,
 * condvars through the versioned symbols) pass. */
static void test_passthrough(void **state)
{
	const char *dir = *state;
	char pre[PATH_MAX + 80], pidfile[PATH_MAX];
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", lib);
	snprintf(pidfile, sizeof(pidfile), "%s/pt.pids", dir);
	const char *argv[] = {app, pidfile, NULL};
	const char *env_none[] = {pre, NULL};
	const char *env_bad[] = {pre, "GPROF_CLI_TRACE=osrt", "GPROF_CLI_CHANNEL=/nonexistent/ch",
				 NULL};
	const char *env_off[] = {pre, "GPROF_CLI_TRACE=nvtx", NULL};

	assert_int_equal(access(lib, R_OK), 0);
	assert_int_equal(run_cmd(dir, argv, env_none), 0);
	assert_int_equal(run_cmd(dir, argv, env_bad), 0);
	assert_int_equal(run_cmd(dir, argv, env_off), 0);
}

int main(void)
{
	const char *g = getenv("GPROF_CLI");
	const char *b = getenv("BUILD");

	if (!b)
		b = "build";
	if (g)
		snprintf(gprof, sizeof(gprof), "%s", g);
	else if (!realpath("build/bin/gprof-cli", gprof))
		snprintf(gprof, sizeof(gprof), "build/bin/gprof-cli");
	snprintf(app, sizeof(app), "%s/tests/programs/osrt_app", b);
	snprintf(lib, sizeof(lib), "%s/lib/gprof-cli/libgprof-osrt.so", b);

	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_default_threshold, tu_setup_tmpdir,
					    tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_threshold_zero, tu_setup_tmpdir,
					    tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_threshold_high, tu_setup_tmpdir,
					    tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_fork_default, tu_setup_tmpdir, tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_not_traced, tu_setup_tmpdir, tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_passthrough, tu_setup_tmpdir, tu_teardown_tmpdir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
