/*
 * test_profile.c - end-to-end tests of `gprof-cli profile`: runs the real binary
 * ($GPROF_CLI) on tests/programs/exit_with ($BUILD/tests/programs/exit_with) and checks
 * exit statuses, error lines, files and the report (sqlite3 API); the config file
 * (--config, $GPROF_CLI_CONFIG, --print-config), the session length switches
 * (--duration, --kill, --stop-on-exit, --wait, with tests/programs/session_app), nsys's
 * -t values and what a run did not see (issue 10; tests/programs/capture_app).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/testutil.h"

static char gprof[PATH_MAX];
static char exit_with[PATH_MAX];
static char capture_app[PATH_MAX];
static char libdir[PATH_MAX + 32];

/* Start gprof-cli with args (NULL-terminated) in cwd (NULL = keep); stdout and stderr
 * go to files in dir.  Returns the pid. */
static pid_t spawn(const char *dir, const char *cwd, const char *const *args)
{
	char out[PATH_MAX], err[PATH_MAX];

	return tu_spawn(gprof, args, cwd, tu_pathf(out, dir, ".out"), tu_pathf(err, dir, ".err"));
}

static void finish(const char *dir, pid_t pid, struct tu_run *r)
{
	char out[PATH_MAX], err[PATH_MAX];

	tu_finish(pid, r, tu_pathf(out, dir, ".out"), tu_pathf(err, dir, ".err"));
}

#define RUN(r, dir, cwd, ...)                                                                      \
	do {                                                                                       \
		const char *a_[] = {__VA_ARGS__, NULL};                                            \
		finish(dir, spawn(dir, cwd, a_), r);                                               \
	} while (0)

static void assert_integrity(const char *db)
{
	sqlite3 *h;
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	sqlite3_close(h);
}

/* The report holds the application's process (its pid from GPROF_APP_PID). */
static void assert_app_process(const char *db)
{
	char buf[64];

	assert_int_equal(
	    tu_query_intf(db, "SELECT count(*) FROM PROCESSES WHERE pid = %s",
			  tu_meta(db, "META_DATA_EXPORT", "GPROF_APP_PID", buf, sizeof(buf))),
	    1);
}

static void assert_finished(const char *db, int exit_status, const char *signaled)
{
	char buf[64], want[16];

	assert_integrity(db);
	assert_string_equal(tu_meta(db, "META_DATA_EXPORT", "GPROF_FINISHED_CLEANLY", buf, 64),
			    "true");
	snprintf(want, sizeof(want), "%d", exit_status);
	assert_string_equal(tu_meta(db, "META_DATA_EXPORT", "GPROF_APP_EXIT_STATUS", buf, 64),
			    want);
	assert_string_equal(tu_meta(db, "META_DATA_EXPORT", "GPROF_APP_SIGNALED", buf, 64),
			    signaled);
}

/* --- exit statuses ------------------------------------------------------------------ */

static void test_exit_status_passthrough(void **state)
{
	const char *dir = *state;
	const char *codes[] = {"0", "3", "42"};
	char db[PATH_MAX + 8], o[PATH_MAX];
	struct tu_run r;

	for (int i = 0; i < 3; i++) {
		snprintf(o, sizeof(o), "%s/r%d", dir, i);
		RUN(&r, dir, NULL, "profile", "-t", "nvtx,osrt", "-o", o, exit_with, codes[i]);
		assert_int_equal(r.status, atoi(codes[i]));
		snprintf(db, sizeof(db), "%s.db", o);
		assert_true(tu_exists(db));
		assert_finished(db, atoi(codes[i]), "false");
		assert_non_null(strstr(r.err, "Generated:\n    "));
		assert_non_null(strstr(r.err, db));
	}
}

static void test_sigsegv_139(void **state)
{
	const char *dir = *state;
	char db[PATH_MAX], o[PATH_MAX];
	struct tu_run r;

	RUN(&r, dir, NULL, "profile", "-t", "nvtx,osrt", "-o", tu_pathf(o, dir, "seg"), exit_with,
	    "signal", "11");
	assert_int_equal(r.status, 139);
	assert_finished(tu_pathf(db, dir, "seg.db"), 139, "true");
}

static void test_sigkill_self_137(void **state)
{
	const char *dir = *state;
	char db[PATH_MAX], o[PATH_MAX];
	struct tu_run r;

	RUN(&r, dir, NULL, "profile", "-t", "nvtx,osrt", "-o", tu_pathf(o, dir, "kill"), exit_with,
	    "signal", "9");
	assert_int_equal(r.status, 137);
	tu_pathf(db, dir, "kill.db");
	assert_finished(db, 137, "true");
	/* the osrt library connected from its constructor before the kill */
	assert_app_process(db);
}

/* --- bad input: nothing created ----------------------------------------------------- */

static void test_app_not_found_127(void **state)
{
	const char *dir = *state;
	char o[PATH_MAX];
	struct tu_run r;

	RUN(&r, dir, NULL, "profile", "-o", tu_pathf(o, dir, "r"), "gprof-no-such-command-xyz",
	    "a");
	assert_int_equal(r.status, 127);
	tu_assert_one_error(&r, "'gprof-no-such-command-xyz': command not found");
	assert_int_equal(tu_count_entries(dir), 0);

	RUN(&r, dir, NULL, "profile", "-o", tu_pathf(o, dir, "r"), "./no/such/app");
	assert_int_equal(r.status, 127);
	tu_assert_one_error(&r, "./no/such/app");
	assert_int_equal(tu_count_entries(dir), 0);
}

static void test_app_not_executable_126(void **state)
{
	const char *dir = *state;
	char app[PATH_MAX], o[PATH_MAX];
	struct tu_run r;

	tu_pathf(app, dir, "script");
	tu_write_text(app, "#!/bin/sh\nexit 0\n");
	chmod(app, 0644);
	RUN(&r, dir, NULL, "profile", "-o", tu_pathf(o, dir, "r"), app);
	assert_int_equal(r.status, 126);
	tu_assert_one_error(&r, "not executable");
	assert_false(tu_exists(tu_pathf(o, dir, "r.db")));

	/* a directory is not an application either */
	RUN(&r, dir, NULL, "profile", "-o", tu_pathf(o, dir, "r"), "/tmp");
	assert_int_equal(r.status, 126);
	tu_assert_one_error(&r, "'/tmp'");
	assert_int_equal(tu_count_entries(dir), 1); /* only the script */
}

static void test_unknown_trace_value(void **state)
{
	const char *dir = *state;
	char o[PATH_MAX];
	struct tu_run r;

	RUN(&r, dir, NULL, "profile", "-t", "cuda,bogus", "-o", tu_pathf(o, dir, "r"), exit_with,
	    "0");
	assert_int_equal(r.status, 2);
	tu_assert_one_error(&r, "'bogus'");
	assert_non_null(strstr(r.err, "(traced: cuda, nvtx, osrt, gpu-metrics"));
	assert_int_equal(tu_count_entries(dir), 0);

	RUN(&r, dir, NULL, "profile", "--trace=none,nvtx", "-o", o, exit_with, "0");
	assert_int_equal(r.status, 2);
	assert_int_equal(tu_count_entries(dir), 0);
	/* a value nsys knows does not make none combinable */
	RUN(&r, dir, NULL, "profile", "-t", "opengl,none", "-o", o, exit_with, "0");
	assert_int_equal(r.status, 2);
	tu_assert_one_error(&r, "'none' cannot be combined");
	assert_int_equal(tu_count_entries(dir), 0);
	/* a misspelt value gets the closest one */
	RUN(&r, dir, NULL, "profile", "-t", "nvtx,cudnnn", "-o", o, exit_with, "0");
	assert_int_equal(r.status, 2);
	tu_assert_one_error(&r, "hint: did you mean 'cudnn'?");
	assert_int_equal(tu_count_entries(dir), 0);
}

/* nsys's own command line (issue 10): the values gprof-cli does not trace give one
 * warning line naming them, and the run goes on. */
static void test_nsys_trace_values(void **state)
{
	const char *dir = *state;
	char o[PATH_MAX], db[PATH_MAX], buf[256];
	struct tu_run r;

	/* the command line from the field: all of it is traced now */
	RUN(&r, dir, NULL, "profile", "-t", "cuda,cudnn,cublas,osrt,nvtx", "-o",
	    tu_pathf(o, dir, "r"), exit_with, "args", "ran");
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "ran\n");
	tu_assert_lines(&r, "gprof-cli: warning: --trace values", 0);
	/* the one warning is the CUDA one: exit_with never initialises CUDA */
	tu_assert_lines(&r, "gprof-cli: ", 1);
	tu_pathf(db, dir, "r.db");
	assert_finished(db, 0, "false");
	assert_string_equal(tu_meta(db, "META_DATA_CAPTURE", "GPROF_TRACE", buf, sizeof(buf)),
			    "cuda,nvtx,osrt,cublas,cudnn");
	assert_string_equal(
	    tu_meta(db, "META_DATA_CAPTURE", "GPROF_TRACE_IGNORED", buf, sizeof(buf)), "");

	/* values known but not traced: one warning line naming them */
	RUN(&r, dir, NULL, "profile", "-t", "cuda,cusparse,openacc,osrt,nvtx", "-o",
	    tu_pathf(o, dir, "s"), exit_with, "args", "ran");
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "ran\n");
	tu_assert_lines(&r, "gprof-cli: warning: --trace values", 1);
	assert_non_null(strstr(r.err, "gprof-cli: warning: --trace values not traced by "
				      "gprof-cli: cusparse, openacc (ignored)\n"));
	tu_assert_lines(&r, "gprof-cli: ", 2);
	tu_pathf(db, dir, "s.db");
	assert_finished(db, 0, "false");
	assert_string_equal(tu_meta(db, "META_DATA_CAPTURE", "GPROF_TRACE", buf, sizeof(buf)),
			    "cuda,nvtx,osrt");
	assert_string_equal(
	    tu_meta(db, "META_DATA_CAPTURE", "GPROF_TRACE_IGNORED", buf, sizeof(buf)),
	    "cusparse,openacc");

	/* only ignored values: nothing is traced (as -t none), the run still writes its report */
	RUN(&r, dir, NULL, "profile", "--trace=opengl,vulkan,python-gil", "-o",
	    tu_pathf(o, dir, "g"), exit_with, "0");
	assert_int_equal(r.status, 0);
	tu_assert_lines(&r, "gprof-cli: ", 1);
	assert_non_null(strstr(r.err, "gprof-cli: warning: --trace values not traced by "
				      "gprof-cli: opengl, vulkan, python-gil (ignored)\n"));
	tu_pathf(db, dir, "g.db");
	assert_finished(db, 0, "false");
	assert_string_equal(tu_meta(db, "META_DATA_CAPTURE", "GPROF_TRACE", buf, sizeof(buf)),
			    "none");

	/* the config file's trace key goes through the same table */
	tu_write_text(tu_pathf(o, dir, "c.yaml"), "trace: [nvtx, openmp]\n");
	RUN(&r, dir, dir, "profile", "--config", "c.yaml", "-o", "y", exit_with, "0");
	assert_int_equal(r.status, 0);
	tu_assert_lines(&r, "gprof-cli: ", 1);
	assert_non_null(strstr(r.err, "not traced by gprof-cli: openmp (ignored)\n"));
	assert_finished(tu_pathf(db, dir, "y.db"), 0, "false");
}

/* Say what was not seen (issue 10): -t cuda on a program that never initialises CUDA
 * ends with one warning and a hint, once per run, also with several reports. */
static void test_cuda_not_seen(void **state)
{
	const char *dir = *state;
	char o[PATH_MAX], db[PATH_MAX], buf[256];
	struct tu_run r;

	RUN(&r, dir, NULL, "profile", "-t", "cuda,nvtx", "-o", tu_pathf(o, dir, "c"), exit_with,
	    "0");
	assert_int_equal(r.status, 0);
	tu_assert_lines(&r, "gprof-cli: ", 1);
	assert_int_equal(tu_count_lines(r.err, "gprof-cli: warning: no CUDA events collected "
					       "(-t cuda)\n"),
			 1);
	tu_assert_lines(&r, "hint: does the process use CUDA?", 1);
	/* after the report's name */
	assert_true(strstr(r.err, "Generated:") < strstr(r.err, "no CUDA events"));
	tu_pathf(db, dir, "c.db");
	assert_finished(db, 0, "false");
	assert_string_equal(
	    tu_meta(db, "META_DATA_EXPORT", "GPROF_TRACE_NOT_SEEN", buf, sizeof(buf)), "cuda");

	/* nothing said without cuda */
	RUN(&r, dir, NULL, "profile", "-t", "nvtx,osrt", "-o", tu_pathf(o, dir, "n"), exit_with,
	    "0");
	assert_int_equal(r.status, 0);
	tu_assert_lines(&r, "gprof-cli: ", 0);
	assert_null(strstr(r.err, "CUDA"));
	tu_pathf(db, dir, "n.db");
	assert_string_equal(
	    tu_meta(db, "META_DATA_EXPORT", "GPROF_TRACE_NOT_SEEN", buf, sizeof(buf)), "");

	/* gpu-metrics alike: gprof-cli's sampler process says why it sampled no GPU (here: no
	 * CUDA driver, or no CUPTI), then the run's warning */
	RUN(&r, dir, NULL, "profile", "-t", "nvtx,gpu-metrics", "-o", tu_pathf(o, dir, "m"),
	    exit_with, "0");
	assert_int_equal(r.status, 0);
	tu_assert_lines(&r, "gprof-cli: ", 2);
	tu_assert_lines(&r, "gprof-cli: gpu-metrics: ", 1);
	assert_non_null(strstr(r.err, "gprof-cli: warning: no GPU metrics collected "
				      "(-t gpu-metrics)\nhint: "));
	tu_pathf(db, dir, "m.db");
	assert_string_equal(
	    tu_meta(db, "META_DATA_EXPORT", "GPROF_TRACE_NOT_SEEN", buf, sizeof(buf)),
	    "gpu-metrics");

	/* repeat capture: three reports, one line; each report holds the fact */
	RUN(&r, dir, NULL, "profile", "-t", "cuda,nvtx", "-c", "nvtx", "-p", "step",
	    "--capture-range-end=repeat:3", "-o", tu_pathf(o, dir, "rep"), capture_app, "plain",
	    "5");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.err, "3 capture ranges"));
	tu_assert_lines(&r, "gprof-cli: warning: no CUDA events collected", 1);
	for (int k = 1; k <= 3; k++) {
		snprintf(db, sizeof(db), "%s/rep.%d.db", dir, k);
		assert_string_equal(
		    tu_meta(db, "META_DATA_EXPORT", "GPROF_TRACE_NOT_SEEN", buf, sizeof(buf)),
		    "cuda");
	}
}

static void test_output_missing_folder(void **state)
{
	const char *dir = *state;
	char o[PATH_MAX];
	struct tu_run r;

	RUN(&r, dir, NULL, "profile", "-t", "nvtx,osrt", "-o", tu_pathf(o, dir, "missing/r"),
	    exit_with, "0");
	assert_int_equal(r.status, 4);
	tu_assert_one_error(&r, "missing");
	assert_int_equal(tu_count_entries(dir), 0);
}

static void test_output_unwritable_folder(void **state)
{
	const char *dir = *state;
	struct tu_run r;

	/* under a regular file: not writable even for root */
	RUN(&r, dir, NULL, "profile", "-t", "nvtx,osrt", "-o", "/etc/passwd/x", exit_with, "0");
	assert_int_equal(r.status, 4);
	tu_assert_one_error(&r, "/etc/passwd/x");
	assert_int_equal(tu_count_entries(dir), 0);

	if (geteuid() != 0) { /* a read-only folder stops everyone but root */
		char ro[PATH_MAX], o[PATH_MAX];

		mkdir(tu_pathf(ro, dir, "ro"), 0555);
		RUN(&r, dir, NULL, "profile", "-o", tu_pathf(o, dir, "ro/r"), exit_with, "0");
		assert_int_equal(r.status, 4);
		assert_int_equal(tu_count_entries(ro), 0);
	}
}

static void test_output_exists_without_force(void **state)
{
	const char *dir = *state;
	const char precious[] = "precious bytes, not a report\n";
	struct timespec times[2] = {{1000000, 0}, {1000000, 0}};
	char db[PATH_MAX], o[PATH_MAX], buf[256];
	struct stat st;
	struct tu_run r;

	tu_pathf(db, dir, "r.db");
	tu_write_text(db, precious);
	assert_int_equal(utimensat(AT_FDCWD, db, times, 0), 0);

	RUN(&r, dir, NULL, "profile", "-t", "nvtx,osrt", "-o", tu_pathf(o, dir, "r"), exit_with,
	    "0");
	assert_int_equal(r.status, 4);
	tu_assert_one_error(&r, "already exists");
	assert_non_null(strstr(r.err, "hint: "));
	tu_read_file(db, buf, sizeof(buf));
	assert_string_equal(buf, precious);
	assert_int_equal(stat(db, &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, 1000000);
	assert_int_equal(tu_count_entries(dir), 1);
}

static void test_force_overwrites(void **state)
{
	const char *dir = *state;
	const char *forms[][2] = {{"-f", NULL}, {"-f", "true"}, {"--force-overwrite=true", NULL}};
	char db[PATH_MAX], o[PATH_MAX];
	struct tu_run r;

	tu_pathf(db, dir, "r.db");
	tu_pathf(o, dir, "r");
	for (int i = 0; i < 3; i++) {
		tu_write_text(db, "old\n");
		if (forms[i][1])
			RUN(&r, dir, NULL, "profile", forms[i][0], forms[i][1], "-t", "nvtx,osrt",
			    "-o", o, exit_with, "5");
		else
			RUN(&r, dir, NULL, "profile", forms[i][0], "-t", "nvtx,osrt", "-o", o,
			    exit_with, "5");
		assert_int_equal(r.status, 5);
		assert_finished(db, 5, "false");
	}
	/* --force-overwrite=false keeps the refusal */
	RUN(&r, dir, NULL, "profile", "--force-overwrite=false", "-o", o, exit_with, "0");
	assert_int_equal(r.status, 4);
}

static void test_default_names(void **state)
{
	const char *dir = *state;
	char p[PATH_MAX], want[PATH_MAX + 16];
	struct tu_run r;

	RUN(&r, dir, dir, "profile", "-t", "nvtx,osrt", exit_with, "0");
	assert_int_equal(r.status, 0);
	assert_true(tu_exists(tu_pathf(p, dir, "report1.db")));
	snprintf(want, sizeof(want), "Generated:\n    %s\n", p);
	assert_non_null(strstr(r.err, want));

	RUN(&r, dir, dir, "profile", "-t", "nvtx,osrt", exit_with, "0");
	assert_int_equal(r.status, 0);
	assert_true(tu_exists(tu_pathf(p, dir, "report2.db")));
	assert_finished(tu_pathf(p, dir, "report1.db"), 0, "false");
	assert_finished(tu_pathf(p, dir, "report2.db"), 0, "false");
	assert_int_equal(tu_count_entries(dir), 2);
}

static void test_db_appended(void **state)
{
	const char *dir = *state;
	char p[PATH_MAX], o[PATH_MAX];
	struct tu_run r;

	RUN(&r, dir, NULL, "profile", "-t", "nvtx,osrt", "-o", tu_pathf(o, dir, "name"), exit_with,
	    "0");
	assert_int_equal(r.status, 0);
	assert_true(tu_exists(tu_pathf(p, dir, "name.db")));

	RUN(&r, dir, NULL, "profile", "-t", "nvtx,osrt", "-o", tu_pathf(o, dir, "x.db"), exit_with,
	    "0");
	assert_int_equal(r.status, 0);
	assert_true(tu_exists(tu_pathf(p, dir, "x.db")));
	assert_false(tu_exists(tu_pathf(p, dir, "x.db.db")));
	assert_int_equal(tu_count_entries(dir), 2);
}

static void test_output_patterns(void **state)
{
	const char *dir = *state;
	char p[PATH_MAX + 32], o[PATH_MAX], buf[64];
	struct tu_run r;

	/* %q{VAR} from the application's environment, -e included */
	RUN(&r, dir, NULL, "profile", "-t", "none", "-e", "GP_TEST_RANK=3", "-o",
	    tu_pathf(o, dir, "r.%q{GP_TEST_RANK}"), exit_with, "0");
	assert_int_equal(r.status, 0);
	assert_true(tu_exists(tu_pathf(p, dir, "r.3.db")));

	/* %p is the application's pid */
	RUN(&r, dir, NULL, "profile", "-t", "nvtx,osrt", "-o", tu_pathf(o, dir, "p.%p"), exit_with,
	    "0");
	assert_int_equal(r.status, 0);
	assert_int_equal(tu_count_entries(dir), 2);
	{
		char cmd[PATH_MAX + 64];
		FILE *f;

		snprintf(cmd, sizeof(cmd), "ls '%s' | grep '^p\\.[0-9]*\\.db$'", dir);
		f = popen(cmd, "r");
		assert_non_null(f);
		assert_non_null(fgets(buf, sizeof(buf), f));
		pclose(f);
		buf[strcspn(buf, "\n")] = '\0';
		snprintf(p, sizeof(p), "%s/%s", dir, buf);
		tu_meta(p, "META_DATA_EXPORT", "GPROF_APP_PID", o, sizeof(o));
		snprintf(cmd, sizeof(cmd), "p.%s.db", o);
		assert_string_equal(buf, cmd);
	}

	/* %n counts up, %% is a percent sign */
	RUN(&r, dir, NULL, "profile", "-t", "none", "-o", tu_pathf(o, dir, "n%n"), exit_with, "0");
	RUN(&r, dir, NULL, "profile", "-t", "none", "-o", tu_pathf(o, dir, "n%n"), exit_with, "0");
	assert_true(tu_exists(tu_pathf(p, dir, "n1.db")));
	assert_true(tu_exists(tu_pathf(p, dir, "n2.db")));
	RUN(&r, dir, NULL, "profile", "-t", "none", "-o", tu_pathf(o, dir, "pct%%"), exit_with,
	    "0");
	assert_true(tu_exists(tu_pathf(p, dir, "pct%.db")));
	assert_int_equal(tu_count_entries(dir), 5);

	/* errors: usage status, one line, nothing created */
	RUN(&r, dir, NULL, "profile", "-t", "none", "-o", tu_pathf(o, dir, "bad%x"), exit_with,
	    "0");
	assert_int_equal(r.status, 2);
	tu_assert_one_error(&r, "%x");
	RUN(&r, dir, NULL, "profile", "-t", "none", "-o",
	    tu_pathf(o, dir, "r.%q{GP_TEST_UNSET_VAR}"), exit_with, "0");
	assert_int_equal(r.status, 2);
	tu_assert_one_error(&r, "GP_TEST_UNSET_VAR");
	assert_int_equal(tu_count_entries(dir), 5);
}

/* --- the application's command line and environment -------------------------------- */

static void test_options_after_app_belong_to_app(void **state)
{
	const char *dir = *state;
	char o[PATH_MAX];
	struct tu_run r;

	RUN(&r, dir, NULL, "profile", "-t", "nvtx,osrt", "-o", tu_pathf(o, dir, "r"), exit_with,
	    "args", "-o", "--trace=x", "-f", "--", "last word");
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "-o\n--trace=x\n-f\n--\nlast word\n");

	/* "--" ends gprof-cli's options too */
	RUN(&r, dir, NULL, "profile", "-f", "-t", "none", "-o", o, "--", exit_with, "args", "x");
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "x\n");
}

static void test_env_var_reaches_app(void **state)
{
	const char *dir = *state;
	char o[PATH_MAX];
	struct tu_run r;

	tu_pathf(o, dir, "r");
	RUN(&r, dir, NULL, "profile", "-f", "-t", "none", "-o", o, "-e", "GP_TEST_A=hello world",
	    exit_with, "env", "GP_TEST_A");
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "hello world\n");

	/* nsys's comma list; a comma not followed by NAME= stays in the value */
	RUN(&r, dir, NULL, "profile", "-f", "-t", "none", "-o", o, "-e",
	    "GP_TEST_B=1,GP_TEST_C=x,y", exit_with, "env", "GP_TEST_C");
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "x,y\n");
	RUN(&r, dir, NULL, "profile", "-f", "-t", "none", "-o", o,
	    "--env-var=GP_TEST_B=1,GP_TEST_C=2", exit_with, "env", "GP_TEST_B");
	assert_string_equal(r.out, "1\n");

	RUN(&r, dir, NULL, "profile", "-f", "-o", o, "-e", "no-equals", exit_with, "0");
	assert_int_equal(r.status, 2);
}

static void test_injection_environment(void **state)
{
	const char *dir = *state;
	char o[PATH_MAX], want[PATH_MAX + 64];
	struct tu_run r;

	tu_pathf(o, dir, "r");
	/* osrt goes in front of an existing LD_PRELOAD */
	RUN(&r, dir, NULL, "profile", "-f", "-t", "osrt", "-o", o, "-e", "LD_PRELOAD=libc.so.6",
	    exit_with, "env", "LD_PRELOAD");
	assert_int_equal(r.status, 0);
	snprintf(want, sizeof(want), "%s/libgprof-osrt.so:libc.so.6\n", libdir);
	assert_string_equal(r.out, want);

	RUN(&r, dir, NULL, "profile", "-f", "-t", "nvtx", "-o", o, exit_with, "env",
	    "NVTX_INJECTION64_PATH");
	snprintf(want, sizeof(want), "%s/libgprof-inject.so\n", libdir);
	assert_string_equal(r.out, want);

	RUN(&r, dir, NULL, "profile", "-f", "-t", "nvtx", "--osrt-threshold=5000",
	    "--cuda-graph-trace=node", "-o", o, exit_with, "env", "GPROF_CLI_OPTIONS");
	assert_string_equal(r.out,
			    "cuda-memory-usage=0;cuda-graph-trace=node;cuda-trace-all-apis=0;"
			    "trace-fork-before-exec=0;cuda-flush-interval=200;"
			    "osrt-backtrace-threshold=80000\n");
	RUN(&r, dir, NULL, "profile", "-f", "-t", "nvtx", "--osrt-threshold=5000", "-o", o,
	    exit_with, "env", "GPROF_CLI_OSRT_THRESHOLD_NS");
	assert_string_equal(r.out, "5000\n");
	{
		char db[PATH_MAX], buf[64];

		tu_pathf(db, dir, "r.db");
		assert_string_equal(tu_meta(db, "META_DATA_CAPTURE",
					    "OS_RUNTIME_OPTIONS:DURATION_THRESHOLD_NS", buf, 64),
				    "5000");
		assert_string_equal(tu_meta(db, "META_DATA_CAPTURE", "GPROF_TRACE", buf, 64),
				    "nvtx");
	}

	/* the user's own injection path is kept, with one warning naming it */
	RUN(&r, dir, NULL, "profile", "-f", "-t", "nvtx", "-o", o, "-e",
	    "NVTX_INJECTION64_PATH=/opt/other/libinject.so", exit_with, "env",
	    "NVTX_INJECTION64_PATH");
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "/opt/other/libinject.so\n");
	tu_assert_lines(&r, "gprof-cli: warning: NVTX_INJECTION64_PATH", 1);
}

static void test_show_output_false(void **state)
{
	const char *dir = *state;
	char o[PATH_MAX];
	struct tu_run r;

	tu_pathf(o, dir, "r");
	RUN(&r, dir, NULL, "profile", "-f", "-t", "none", "-w", "false", "-o", o, exit_with, "args",
	    "hidden");
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "");
	RUN(&r, dir, NULL, "profile", "-f", "-t", "none", "--show-output=false", "-o", o, exit_with,
	    "args", "hidden");
	assert_string_equal(r.out, "");
	RUN(&r, dir, NULL, "profile", "-f", "-t", "none", "-w", "true", "-o", o, exit_with, "args",
	    "shown");
	assert_string_equal(r.out, "shown\n");
}

static void test_usage_errors(void **state)
{
	const char *dir = *state;
	struct tu_run r;

	RUN(&r, dir, NULL, "profile");
	assert_int_equal(r.status, 2);
	tu_assert_one_error(&r, "no application");
	RUN(&r, dir, NULL, "profile", "--stats=maybe", exit_with, "0");
	assert_int_equal(r.status, 2);
	tu_assert_one_error(&r, "'maybe'");
	RUN(&r, dir, NULL, "profile", "--no-such-option", exit_with, "0");
	assert_int_equal(r.status, 2);
	tu_assert_one_error(&r, "--no-such-option");
	RUN(&r, dir, NULL, "profile", "--osrt-threshold=1ms", exit_with, "0");
	assert_int_equal(r.status, 2);
	RUN(&r, dir, NULL, "profile", "--cuda-graph-trace=edge", exit_with, "0");
	assert_int_equal(r.status, 2);
	RUN(&r, dir, NULL, "profile", "--cuda-flush-interval=abc", exit_with, "0");
	assert_int_equal(r.status, 2);
	tu_assert_one_error(&r, "'abc'");
	assert_int_equal(tu_count_entries(dir), 0);

	RUN(&r, dir, NULL, "profile", "--help");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "--trace"));
	assert_string_equal(r.err, "");
}

/* --- targets that end badly --------------------------------------------------------- */

static void test_exits_at_once(void **state)
{
	const char *dir = *state;
	char db[PATH_MAX], o[PATH_MAX];
	struct tu_run r;

	RUN(&r, dir, NULL, "profile", "-t", "nvtx,osrt", "-o", tu_pathf(o, dir, "r"), exit_with,
	    "0");
	assert_int_equal(r.status, 0);
	tu_pathf(db, dir, "r.db");
	assert_finished(db, 0, "false");
	assert_app_process(db);
}

static void test_closes_all_fds(void **state)
{
	const char *dir = *state;
	char db[PATH_MAX], o[PATH_MAX];
	struct tu_run r;

	RUN(&r, dir, NULL, "profile", "-t", "nvtx,osrt", "-o", tu_pathf(o, dir, "r"), exit_with,
	    "closefds", "5");
	assert_int_equal(r.status, 0);
	tu_pathf(db, dir, "r.db");
	assert_finished(db, 0, "false");
	/* recorded after the app closed the inherited connection */
	assert_int_equal(tu_query_int(db,
				      "SELECT count(*) FROM NVTX_EVENTS e LEFT JOIN StringIds s "
				      "ON s.id = e.textId WHERE "
				      "coalesce(e.text, s.value) = 'exit_with:work'"),
			 5);
	assert_true(tu_query_int(db, "SELECT count(*) FROM OSRT_API o JOIN StringIds s ON s.id = "
				     "o.nameId WHERE s.value LIKE '%nanosleep%'") >= 5);
}

/* One clock per process: an OS runtime call right inside an NVTX range lies inside it in
 * the report, though two libraries (libgprof-inject.so, libgprof-osrt.so) time them, each
 * with its own copy of the producer runtime and its rdtsc conversion.  100000 ranges, 20 ms
 * flush periods: many recalibrations, many calls taken while one is published. */
static void test_one_clock(void **state)
{
	const char *dir = *state;
	char db[PATH_MAX], o[PATH_MAX];
	struct tu_run r;

	setenv("GPROF_CLI_FLUSH_MS", "20", 1);
	RUN(&r, dir, NULL, "profile", "-t", "nvtx,osrt", "--osrt-threshold", "0", "-o",
	    tu_pathf(o, dir, "r"), exit_with, "nest", "100000");
	unsetenv("GPROF_CLI_FLUSH_MS");
	assert_int_equal(r.status, 0);
	tu_pathf(db, dir, "r.db");
	/* the i-th read() with the i-th range (one thread, in order) */
	assert_int_equal(tu_query_int(db,
				      "WITH o AS (SELECT row_number() OVER (ORDER BY o.start) "
				      "i, o.start, o.end FROM OSRT_API o JOIN StringIds s ON "
				      "s.id = o.nameId WHERE s.value = 'read'), n AS (SELECT "
				      "row_number() OVER (ORDER BY e.start) i, e.start, e.end "
				      "FROM NVTX_EVENTS e LEFT JOIN StringIds s ON s.id = "
				      "e.textId WHERE coalesce(e.text, s.value) = "
				      "'exit_with:nest') SELECT count(*) FROM o JOIN n USING (i) "
				      "WHERE o.start >= n.start AND o.end <= n.end"),
			 100000);
}

static void test_sigterm_forwarded(void **state)
{
	const char *dir = *state;
	char db[PATH_MAX], o[PATH_MAX], ready[PATH_MAX];
	struct timespec ts = {0, 10000000};
	struct tu_run r;
	pid_t pid;
	int i;

	tu_pathf(ready, dir, "ready");
	{
		const char *a[] = {"profile", "-t",    "nvtx,osrt", "-o",  tu_pathf(o, dir, "r"),
				   exit_with, "sleep", "20000",	    ready, NULL};
		pid = spawn(dir, NULL, a);
	}
	for (i = 0; i < 1000 && !tu_exists(ready); i++)
		nanosleep(&ts, NULL);
	assert_true(tu_exists(ready));
	assert_int_equal(kill(pid, SIGTERM), 0);
	finish(dir, pid, &r);
	assert_int_equal(r.status, 143);
	assert_finished(tu_pathf(db, dir, "r.db"), 143, "true");
	assert_non_null(strstr(r.err, "Generated:"));
}

static void test_stats_prints_reports(void **state)
{
	const char *dir = *state;
	char o[PATH_MAX];
	struct tu_run r;

	RUN(&r, dir, NULL, "profile", "--stats", "-t", "nvtx,osrt", "-o", tu_pathf(o, dir, "r"),
	    exit_with, "nvtx", "3");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "(nvtx_sum)"));
	assert_non_null(strstr(r.out, "(osrt_sum)"));
	assert_non_null(strstr(r.out, "exit_with:work"));

	RUN(&r, dir, NULL, "profile", "-f", "--stats=false", "-t", "nvtx", "-o", o, exit_with,
	    "nvtx", "1");
	assert_int_equal(r.status, 0);
	assert_null(strstr(r.out, "(nvtx_sum)"));
}

/* --- config file (--config, $GPROF_CLI_CONFIG, --print-config) ------------------------ */

/* The stderr line starting with "gprof-cli: " (without it), for exact checks. */
static const char *error_line(const struct tu_run *r, char *buf, size_t size)
{
	const char *p = strstr(r->err, "gprof-cli: ");

	buf[0] = '\0';
	if (p) {
		p += strlen("gprof-cli: ");
		snprintf(buf, size, "%.*s", (int)strcspn(p, "\n"), p);
	}
	return buf;
}

static void test_config_file_and_override(void **state)
{
	const char *dir = *state;
	char cfg[PATH_MAX], text[2 * PATH_MAX], db[PATH_MAX], o[PATH_MAX], buf[PATH_MAX];
	struct tu_run r;

	tu_pathf(cfg, dir, "c.yaml");
	snprintf(text, sizeof(text),
		 "# test config\n"
		 "trace: [nvtx]\n"
		 "output: %s/fromfile\n"
		 "env-var:\n"
		 "  GP_TEST_A: from-file\n"
		 "  GP_TEST_B: \"x,y\"\n",
		 dir);
	tu_write_text(cfg, text);

	/* every setting of the file applies */
	RUN(&r, dir, NULL, "profile", "--config", cfg, exit_with, "env", "GP_TEST_B");
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "x,y\n");
	tu_pathf(db, dir, "fromfile.db");
	assert_finished(db, 0, "false");
	assert_string_equal(tu_meta(db, "META_DATA_CAPTURE", "GPROF_TRACE", buf, sizeof(buf)),
			    "nvtx");
	assert_string_equal(tu_meta(db, "META_DATA_CAPTURE", "GPROF_CONFIG_FILE", buf, sizeof(buf)),
			    cfg);
	assert_string_equal(
	    tu_meta(db, "META_DATA_CAPTURE", "PROCESS_0:ENVIRONMENT_1", buf, sizeof(buf)),
	    "GP_TEST_B=x,y");

	/* the command line wins: -o, one -e variable and -t; the file's other variable stays */
	RUN(&r, dir, NULL, "profile", "--config=c.yaml", "-o", tu_pathf(o, dir, "cli"), "-e",
	    "GP_TEST_B=cli", "-t", "osrt", exit_with, "env", "GP_TEST_B");
	assert_int_equal(r.status, 2); /* c.yaml is relative to the cwd, which is not dir */
	tu_assert_one_error(&r, "c.yaml");
	RUN(&r, dir, dir, "profile", "--config=c.yaml", "-o", o, "-e", "GP_TEST_B=cli", "-t",
	    "osrt", exit_with, "env", "GP_TEST_B");
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "cli\n");
	tu_pathf(db, dir, "cli.db");
	assert_finished(db, 0, "false");
	assert_string_equal(tu_meta(db, "META_DATA_CAPTURE", "GPROF_TRACE", buf, sizeof(buf)),
			    "osrt");
	RUN(&r, dir, dir, "profile", "--config=c.yaml", "-f", "-o", o, exit_with, "env",
	    "GP_TEST_A");
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "from-file\n");
	assert_int_equal(tu_count_entries(dir), 3); /* c.yaml, fromfile.db, cli.db */
}

static void test_print_config_round_trip(void **state)
{
	const char *dir = *state;
	char cfg[PATH_MAX], printed[PATH_MAX], first[65536];
	struct tu_run r;

	tu_pathf(cfg, dir, "c.yaml");
	tu_write_text(cfg, "trace: cuda,nvtx\n"
			   "output: run-%h\n"
			   "stats: TRUE\n"
			   "env-var: [A=1, B=2]\n"
			   "duration: 2.5\n"
			   "kill: none\n");
	/* no application needed; -t and -e on the command line replace the file's */
	RUN(&r, dir, NULL, "profile", "--config", cfg, "-t", "osrt", "-e", "B=3", "--wait",
	    "primary", "--print-config");
	assert_int_equal(r.status, 0);
	assert_string_equal(r.err, "");
	assert_string_equal(r.out, "trace: [osrt]\n"
				   "output: run-%h\n"
				   "force-overwrite: false\n"
				   "env-var:\n"
				   "  A: 1\n"
				   "  B: 3\n"
				   "osrt-threshold: 1000\n"
				   "osrt-backtrace-threshold: 80000\n"
				   "sample: process-tree\n"
				   "sampling-period: 1000000\n"
				   "backtrace: auto\n"
				   "python-sampling: false\n"
				   "cpuctxsw: process-tree\n"
				   "stats: true\n"
				   "show-output: true\n"
				   "trace-fork-before-exec: false\n"
				   "cuda-memory-usage: false\n"
				   "host-memory-usage: false\n"
				   "host-memory-threshold: 4096\n"
				   "cuda-graph-trace: graph\n"
				   "cuda-trace-all-apis: false\n"
				   "cuda-flush-interval: 200\n"
				   "cudabacktrace: none\n"
				   "python-backtrace: none\n"
				   "gpu-metrics-frequency: 10000\n"
				   "gpu-metrics-set: default\n"
				   "gpu-metrics-mode: sample\n"
				   "gpu-metrics-ranges: kernel\n"
				   "duration: 2.5\n"
				   "kill: none\n"
				   "stop-on-exit: true\n"
				   "wait: primary\n"
				   "capture-range: none\n"
				   "capture-range-end: stop-shutdown\n"
				   "delay: 0\n");
	snprintf(first, sizeof(first), "%s", r.out);

	/* what it prints loads back to the same options */
	tu_pathf(printed, dir, "printed.yaml");
	tu_write_text(printed, first);
	RUN(&r, dir, NULL, "profile", "--conf", printed,
	    "--print-config"); /* a prefix, as getopt */
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, first);

	/* without a file: the defaults */
	RUN(&r, dir, NULL, "profile", "--print-config");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "trace: [cuda, nvtx, osrt]\noutput: report%n\n"));
	assert_non_null(strstr(r.out, "kill: sigterm\nstop-on-exit: true\nwait: all\n"));
	assert_null(strstr(r.out, "duration"));
	assert_int_equal(tu_count_entries(dir), 2); /* nothing but the two files */
}

static void test_config_errors(void **state)
{
	const char *dir = *state;
	char cfg[PATH_MAX], want[PATH_MAX + 128], line[PATH_MAX + 128];
	struct tu_run r;

	tu_pathf(cfg, dir, "bad.yaml");

	/* YAML syntax error: FILE:LINE:COLUMN: and exit 2 */
	tu_write_text(cfg, "trace: [nvtx\noutput: x\n");
	RUN(&r, dir, NULL, "profile", "--config", cfg, exit_with, "0");
	assert_int_equal(r.status, 2);
	tu_assert_lines(&r, "gprof-cli: ", 1);
	snprintf(want, sizeof(want), "%s:2:7: ", cfg);
	assert_ptr_equal(strstr(error_line(&r, line, sizeof(line)), want), line);

	/* unknown key, with the closest valid one */
	tu_write_text(cfg, "trace: nvtx\ntrce: osrt\n");
	RUN(&r, dir, NULL, "profile", "--config", cfg, exit_with, "0");
	assert_int_equal(r.status, 2);
	tu_assert_one_error(&r, "hint: did you mean 'trace'?");
	snprintf(want, sizeof(want), "%s:2:1: unknown key 'trce'", cfg);
	assert_string_equal(error_line(&r, line, sizeof(line)), want);

	/* bad values: the option's own validator, at the value's position */
	tu_write_text(cfg, "duration: 0\n");
	RUN(&r, dir, NULL, "profile", "--config", cfg, exit_with, "0");
	assert_int_equal(r.status, 2);
	snprintf(want, sizeof(want), "%s:1:11: invalid value '0' for 'duration'", cfg);
	assert_string_equal(error_line(&r, line, sizeof(line)), want);
	tu_write_text(cfg, "\n  kill: sigfoo\n");
	RUN(&r, dir, NULL, "profile", "--config", cfg, exit_with, "0");
	assert_int_equal(r.status, 2);
	snprintf(want, sizeof(want), "%s:2:9: invalid value 'sigfoo' for 'kill'", cfg);
	assert_string_equal(error_line(&r, line, sizeof(line)), want);
	tu_write_text(cfg, "stats: yes\n");
	RUN(&r, dir, NULL, "profile", "--config", cfg, exit_with, "0");
	assert_int_equal(r.status, 2);
	tu_assert_one_error(&r, ":1:8: ");
	tu_write_text(cfg, "trace: [nvtx, none]\n");
	RUN(&r, dir, NULL, "profile", "--config", cfg, exit_with, "0");
	assert_int_equal(r.status, 2);
	tu_assert_one_error(&r, "'none' cannot be combined");
	/* options that are not config keys */
	tu_write_text(cfg, "print-config: true\n");
	RUN(&r, dir, NULL, "profile", "--config", cfg, exit_with, "0");
	assert_int_equal(r.status, 2);
	tu_assert_one_error(&r, "unknown key 'print-config'");

	/* a missing file */
	RUN(&r, dir, NULL, "profile", "--config", "/nonexistent/gprof.yaml", exit_with, "0");
	assert_int_equal(r.status, 2);
	tu_assert_one_error(&r, "/nonexistent/gprof.yaml");
	assert_int_equal(tu_count_entries(dir), 1); /* no report */
}

static void test_config_env_default(void **state)
{
	const char *dir = *state;
	char cfg[PATH_MAX], other[PATH_MAX], text[PATH_MAX + 64], db[PATH_MAX];
	struct tu_run r;

	tu_pathf(cfg, dir, "env.yaml");
	snprintf(text, sizeof(text), "output: %s/from-env\ntrace: none\n", dir);
	tu_write_text(cfg, text);
	tu_pathf(other, dir, "other.yaml");
	snprintf(text, sizeof(text), "output: %s/from-option\ntrace: none\n", dir);
	tu_write_text(other, text);

	setenv("GPROF_CLI_CONFIG", cfg, 1);
	RUN(&r, dir, NULL, "profile", exit_with, "0");
	assert_int_equal(r.status, 0);
	assert_finished(tu_pathf(db, dir, "from-env.db"), 0, "false");
	/* an explicit --config wins over the variable */
	RUN(&r, dir, NULL, "profile", "--config", other, exit_with, "0");
	assert_int_equal(r.status, 0);
	assert_finished(tu_pathf(db, dir, "from-option.db"), 0, "false");
	/* and the variable's file is checked like any other */
	tu_write_text(cfg, "output: [a, b]\n");
	RUN(&r, dir, NULL, "profile", exit_with, "0");
	unsetenv("GPROF_CLI_CONFIG");
	assert_int_equal(r.status, 2);
	tu_assert_one_error(&r, "env.yaml:1:9: ");
	/* empty: ignored */
	setenv("GPROF_CLI_CONFIG", "", 1);
	RUN(&r, dir, NULL, "profile", "-t", "none", "-o", tu_pathf(db, dir, "plain"), exit_with,
	    "0");
	unsetenv("GPROF_CLI_CONFIG");
	assert_int_equal(r.status, 0);
	assert_int_equal(tu_count_entries(dir), 5);
}

/* --- session length: --duration, --kill, --stop-on-exit, --wait ------------------------ */

static char session_app[PATH_MAX];

static long long count_ticks(const char *db)
{
	return tu_query_int(db,
			    "SELECT count(*) FROM NVTX_EVENTS e LEFT JOIN StringIds s ON s.id = "
			    "e.textId WHERE coalesce(e.text, s.value) = 'session:tick'");
}

static void wait_for_file(const char *path)
{
	struct timespec ts = {0, 10000000};

	for (int i = 0; i < 3000 && !tu_exists(path); i++)
		nanosleep(&ts, NULL);
	assert_true(tu_exists(path));
}

/* 1 when process pid is gone or a zombie (it was killed; nobody may reap it here). */
static int process_ended(int pid)
{
	char path[64], stat[256];
	const char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	tu_read_file(path, stat, sizeof(stat));
	p = strrchr(stat, ')');
	return !p || p[2] == 'Z' || p[2] == 'X';
}

static void test_session_bad_values(void **state)
{
	const char *dir = *state;
	struct tu_run r;

	RUN(&r, dir, NULL, "profile", "-d", "0", exit_with, "0");
	assert_int_equal(r.status, 2);
	tu_assert_one_error(&r, "invalid --duration value '0'");
	RUN(&r, dir, NULL, "profile", "--duration=-1", exit_with, "0");
	assert_int_equal(r.status, 2);
	tu_assert_one_error(&r, "'-1'");
	RUN(&r, dir, NULL, "profile", "-d", "1s", exit_with, "0");
	assert_int_equal(r.status, 2);
	tu_assert_one_error(&r, "'1s'");
	RUN(&r, dir, NULL, "profile", "-d", "0.0", exit_with, "0");
	assert_int_equal(r.status, 2);
	RUN(&r, dir, NULL, "profile", "--kill=sigfoo", exit_with, "0");
	assert_int_equal(r.status, 2);
	tu_assert_one_error(&r, "invalid --kill value 'sigfoo'");
	RUN(&r, dir, NULL, "profile", "--kill", "0", exit_with, "0");
	assert_int_equal(r.status, 2);
	RUN(&r, dir, NULL, "profile", "--kill", "65", exit_with, "0");
	assert_int_equal(r.status, 2);
	RUN(&r, dir, NULL, "profile", "--wait=some", exit_with, "0");
	assert_int_equal(r.status, 2);
	tu_assert_one_error(&r, "valid values: primary, all");
	RUN(&r, dir, NULL, "profile", "--stop-on-exit=maybe", exit_with, "0");
	assert_int_equal(r.status, 2);
	RUN(&r, dir, NULL, "profile", "-x", "false", exit_with, "0");
	assert_int_equal(r.status, 2);
	tu_assert_one_error(&r, "--stop-on-exit=false needs --duration");
	RUN(&r, dir, NULL, "profile", "--stop-on-exit=false", "--kill", "none", exit_with, "0");
	assert_int_equal(r.status, 2);
	/* -y/--delay takes seconds >= 0 (more in test_profile_capture.c) */
	RUN(&r, dir, NULL, "profile", "-y", "-1", exit_with, "0");
	assert_int_equal(r.status, 2);
	tu_assert_one_error(&r, "invalid value '-1' for --delay");
	assert_int_equal(tu_count_entries(dir), 0);
}

static void test_duration_sigterm(void **state)
{
	const char *dir = *state;
	char db[PATH_MAX], o[PATH_MAX], ready[PATH_MAX], buf[64];
	struct tu_run r;
	long long ticks;

	/* an app that would tick for 10 s */
	RUN(&r, dir, NULL, "profile", "-t", "nvtx", "--duration", "0.3", "-o",
	    tu_pathf(o, dir, "r"), session_app, "work", "10000", tu_pathf(ready, dir, "ready"));
	assert_int_equal(r.status, 143);
	tu_pathf(db, dir, "r.db");
	assert_finished(db, 143, "true");
	assert_non_null(strstr(r.err, "--duration 0.3 s expired; sending SIGTERM"));
	assert_non_null(strstr(r.err, "Generated:"));
	ticks = count_ticks(db);
	assert_true(ticks >= 1);   /* flushed when SIGTERM ended it */
	assert_true(ticks < 1000); /* ended long before its 1000 ticks */
	assert_string_equal(tu_meta(db, "META_DATA_CAPTURE", "GPROF_DURATION_NS", buf, sizeof(buf)),
			    "300000000");
	assert_string_equal(tu_meta(db, "META_DATA_CAPTURE", "GPROF_KILL", buf, sizeof(buf)),
			    "sigterm");
}

static void test_duration_kill_group(void **state)
{
	const char *dir = *state;
	char o[PATH_MAX], pidfile[PATH_MAX], text[64], ready[PATH_MAX];
	struct tu_run r;
	int child;

	/* the whole process group gets the signal: the app's forked child too */
	RUN(&r, dir, NULL, "profile", "-t", "nvtx", "-d", "0.3", "-o", tu_pathf(o, dir, "r"),
	    session_app, "fork-sleep", "20000", tu_pathf(pidfile, dir, "pid"));
	assert_int_equal(r.status, 143);
	tu_read_file(pidfile, text, sizeof(text));
	child = atoi(text);
	assert_true(child > 0);
	{
		struct timespec ts = {0, 10000000};

		for (int i = 0; i < 500 && !process_ended(child); i++)
			nanosleep(&ts, NULL);
	}
	assert_true(process_ended(child));

	/* a signal number; SIGKILL ends an app that ignores SIGTERM */
	RUN(&r, dir, NULL, "profile", "-f", "-t", "nvtx", "-d", "0.3", "--kill", "9", "-o", o,
	    session_app, "ignore-term", "20000", tu_pathf(ready, dir, "ready"));
	assert_int_equal(r.status, 137);
	assert_finished(tu_pathf(o, dir, "r.db"), 137, "true");
}

static void test_duration_kill_none(void **state)
{
	const char *dir = *state;
	char db[PATH_MAX], o[PATH_MAX], ready[PATH_MAX], buf[64];
	struct tu_run r;
	int pid;

	RUN(&r, dir, NULL, "profile", "-t", "nvtx", "-d", "0.3", "--kill", "none", "-o",
	    tu_pathf(o, dir, "r"), session_app, "work", "20000", tu_pathf(ready, dir, "ready"));
	assert_int_equal(r.status, 0);
	tu_pathf(db, dir, "r.db");
	assert_finished(db, -1, "false");
	assert_non_null(strstr(r.err, "leaving the application"));
	pid = atoi(tu_meta(db, "META_DATA_EXPORT", "GPROF_APP_PID", buf, sizeof(buf)));
	assert_true(pid > 0);
	/* still running, untouched; end it here */
	assert_false(process_ended(pid));
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_true(count_ticks(db) >= 1);
}

static void test_wait_all_and_primary(void **state)
{
	const char *dir = *state;
	char db[PATH_MAX], o[PATH_MAX], ready[PATH_MAX];
	struct tu_run r;

	/* all (default): the child's 30 ticks after its parent exited are all recorded */
	RUN(&r, dir, NULL, "profile", "-t", "nvtx", "-o", tu_pathf(o, dir, "all"), session_app,
	    "fork", "30", tu_pathf(ready, dir, "ready"));
	assert_int_equal(r.status, 0);
	assert_true(tu_exists(ready)); /* gprof-cli waited for the child */
	tu_pathf(db, dir, "all.db");
	assert_finished(db, 0, "false");
	assert_int_equal(count_ticks(db), 30);
	assert_int_equal(tu_query_int(db, "SELECT count(*) FROM PROCESSES"), 2);
	unlink(ready);

	/* primary without linger: gprof-cli is done before the child's 300 ticks */
	setenv("GPROF_CLI_LINGER_MS", "0", 1);
	RUN(&r, dir, NULL, "profile", "-t", "nvtx", "--wait=primary", "-o", tu_pathf(o, dir, "pri"),
	    session_app, "fork", "300", ready);
	unsetenv("GPROF_CLI_LINGER_MS");
	assert_int_equal(r.status, 0);
	tu_pathf(db, dir, "pri.db");
	assert_finished(db, 0, "false");
	assert_true(count_ticks(db) < 300);
	wait_for_file(ready); /* let the child finish */
	unlink(ready);

	/* -x false: the session goes on after the launched process's exit until -d */
	RUN(&r, dir, NULL, "profile", "-t", "nvtx", "-x", "false", "-d", "1.5", "--wait", "primary",
	    "-o", tu_pathf(o, dir, "x"), session_app, "fork", "30", ready);
	assert_int_equal(r.status, 0);
	tu_pathf(db, dir, "x.db");
	assert_finished(db, 0, "false");
	assert_int_equal(count_ticks(db), 30);
}

int main(void)
{
	const char *g = getenv("GPROF_CLI");
	const char *b = getenv("BUILD");
	char exe_dir[PATH_MAX];

	if (!realpath(g && *g ? g : "build/bin/gprof-cli", gprof)) {
		fprintf(stderr, "test_profile: gprof-cli not found (set GPROF_CLI)\n");
		return 1;
	}
	snprintf(exit_with, sizeof(exit_with), "%s/tests/programs/exit_with",
		 b && *b ? b : "build");
	if (!realpath(exit_with, exe_dir)) {
		fprintf(stderr, "test_profile: '%s' not found (set BUILD)\n", exit_with);
		return 1;
	}
	snprintf(exit_with, sizeof(exit_with), "%s", exe_dir);
	snprintf(session_app, sizeof(session_app), "%s/tests/programs/session_app",
		 b && *b ? b : "build");
	if (!realpath(session_app, exe_dir)) {
		fprintf(stderr, "test_profile: '%s' not found (set BUILD)\n", session_app);
		return 1;
	}
	snprintf(session_app, sizeof(session_app), "%s", exe_dir);
	snprintf(capture_app, sizeof(capture_app), "%s/tests/programs/capture_app",
		 b && *b ? b : "build");
	if (!realpath(capture_app, exe_dir)) {
		fprintf(stderr, "test_profile: '%s' not found (set BUILD)\n", capture_app);
		return 1;
	}
	snprintf(capture_app, sizeof(capture_app), "%s", exe_dir);
	snprintf(exe_dir, sizeof(exe_dir), "%s", gprof);
	*strrchr(exe_dir, '/') = '\0';
	snprintf(libdir, sizeof(libdir), "%s/../lib/gprof-cli", exe_dir);
	if (getenv("GPROF_CLI_LIBDIR"))
		snprintf(libdir, sizeof(libdir), "%s", getenv("GPROF_CLI_LIBDIR"));
	if (!realpath(libdir, exe_dir)) {
		fprintf(stderr, "test_profile: '%s' not found\n", libdir);
		return 1;
	}
	snprintf(libdir, sizeof(libdir), "%s", exe_dir);

	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, tu_setup_tmpdir, tu_teardown_tmpdir)
	    T(test_exit_status_passthrough),
	    T(test_sigsegv_139),
	    T(test_sigkill_self_137),
	    T(test_app_not_found_127),
	    T(test_app_not_executable_126),
	    T(test_unknown_trace_value),
	    T(test_nsys_trace_values),
	    T(test_cuda_not_seen),
	    T(test_output_missing_folder),
	    T(test_output_unwritable_folder),
	    T(test_output_exists_without_force),
	    T(test_force_overwrites),
	    T(test_default_names),
	    T(test_db_appended),
	    T(test_output_patterns),
	    T(test_options_after_app_belong_to_app),
	    T(test_env_var_reaches_app),
	    T(test_injection_environment),
	    T(test_show_output_false),
	    T(test_usage_errors),
	    T(test_exits_at_once),
	    T(test_closes_all_fds),
	    T(test_one_clock),
	    T(test_sigterm_forwarded),
	    T(test_stats_prints_reports),
	    T(test_config_file_and_override),
	    T(test_print_config_round_trip),
	    T(test_config_errors),
	    T(test_config_env_default),
	    T(test_session_bad_values),
	    T(test_duration_sigterm),
	    T(test_duration_kill_group),
	    T(test_duration_kill_none),
	    T(test_wait_all_and_primary),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
