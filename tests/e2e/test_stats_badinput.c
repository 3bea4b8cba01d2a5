/*
 * test_stats_badinput.c - `stats` and `export` on bad input, through the real binary:
 * missing, empty, non-SQLite, truncated (the fixture's first 64 KiB), SQLite without
 * report tables, unknown report, unknown option, output exists.  Each: the exit
 * status, one error line naming the file, a hint where there is a fix, and nothing
 * written.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "tests/testutil.h"

static char dir[] = "/tmp/gprof-test-badinput-XXXXXX";
static const char *gprof;

static char *path(const char *name)
{
	static char buf[8][512];
	static int k;
	k = (k + 1) % 8;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, name);
	return buf[k];
}

static void write_file(const char *name, const void *data, size_t n)
{
	FILE *f = fopen(path(name), "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	fclose(f);
}

static const char *fixture(void)
{
	static char buf[PATH_MAX];

	return tu_pathf(buf, tu_fixture_dir(), "nsys-2025.3-launchbench.sqlite");
}

static int setup(void **state)
{
	sqlite3 *db;

	gprof = getenv("GPROF_CLI");
	if (!gprof || !*gprof)
		gprof = "build/bin/gprof-cli";
	if (!mkdtemp(dir))
		return -1;
	write_file("empty.db", "", 0);
	write_file("text.db",
		   "this is not a database, just some text that is long enough to "
		   "fill an SQLite header of one hundred bytes........\n",
		   112);
	if (sqlite3_open(path("plain.db"), &db) != SQLITE_OK)
		return -1;
	sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES (1);", NULL, NULL, NULL);
	sqlite3_close(db);
	if (sqlite3_open(path("ok.db"), &db) != SQLITE_OK)
		return -1;
	sqlite3_exec(db,
		     "CREATE TABLE StringIds (id INTEGER PRIMARY KEY, value TEXT NOT NULL);"
		     "CREATE TABLE META_DATA_EXPORT (name TEXT NOT NULL, value TEXT);"
		     "INSERT INTO META_DATA_EXPORT VALUES ('GPROF_FINISHED_CLEANLY', 'false');"
		     "CREATE TABLE NVTX_EVENTS (start INTEGER NOT NULL, end INTEGER, eventType "
		     "INTEGER NOT NULL, text TEXT, globalTid INTEGER, textId INTEGER, domainId "
		     "INTEGER);"
		     "INSERT INTO NVTX_EVENTS VALUES (0, 10, 59, 'a', 1, NULL, 0);",
		     NULL, NULL, NULL);
	sqlite3_close(db);
	/* the fixture's first 64 KiB */
	FILE *in = fopen(fixture(), "r");
	if (in) {
		static char buf[65536];
		size_t n = fread(buf, 1, sizeof(buf), in);
		fclose(in);
		write_file("trunc.db", buf, n);
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

/* Run gprof-cli with args; stderr and stdout captured; returns the exit status. */
static int run(char *out, size_t outsz, char *err, size_t errsz, const char *const *args)
{
	char *argv[32];
	int n = 0, status;
	pid_t pid;

	argv[n++] = (char *)gprof;
	for (; *args; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int o = open(path("stdout.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(path("stderr.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (chdir(dir) != 0)
			_exit(99);
		dup2(o, 1);
		dup2(e, 2);
		execv(argv[0], argv);
		_exit(98);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	FILE *f = fopen(path("stdout.txt"), "r");
	size_t k = fread(out, 1, outsz - 1, f);
	out[k] = '\0';
	fclose(f);
	f = fopen(path("stderr.txt"), "r");
	k = fread(err, 1, errsz - 1, f);
	err[k] = '\0';
	fclose(f);
	unlink(path("stdout.txt"));
	unlink(path("stderr.txt"));
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* Entries of dir other than the inputs made by setup. */
static int stray_files(void)
{
	static const char *const known[] = {"empty.db", "text.db",  "plain.db",
					    "ok.db",	"trunc.db", NULL};
	char cmd[700], line[512];
	int n = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ls -A '%s'", dir);
	p = popen(cmd, "r");
	while (fgets(line, sizeof(line), p)) {
		int k = 0;
		line[strcspn(line, "\n")] = '\0';
		for (const char *const *s = known; *s; s++)
			k |= !strcmp(*s, line);
		if (!k) {
			print_message("stray output: %s\n", line);
			n++;
		}
	}
	pclose(p);
	return n;
}

static void expect(int want_status, const char *want_err, const char *want_hint,
		   const char *const *args)
{
	char out[8192], err[8192];
	int st = run(out, sizeof(out), err, sizeof(err), args);

	if (st != want_status || !strstr(err, want_err))
		print_message("status %d, stderr: %s", st, err);
	assert_int_equal(st, want_status);
	assert_non_null(strstr(err, want_err));
	if (want_hint)
		assert_non_null(strstr(err, want_hint));
	assert_string_equal(out, "");
	assert_int_equal(stray_files(), 0);
}

static void test_missing(void **state)
{
	expect(3, "gprof-cli: cannot open report 'nosuch.db': No such file or directory\n",
	       "hint: ", (const char *[]){"stats", "nosuch.db", NULL});
	expect(3, "cannot open report 'nosuch.db'", NULL,
	       (const char *[]){"export", "nosuch.db", NULL});
}

static void test_empty(void **state)
{
	expect(3, "gprof-cli: report 'empty.db' is empty\n",
	       "hint: ", (const char *[]){"stats", "empty.db", NULL});
	expect(3, "report 'empty.db' is empty", NULL,
	       (const char *[]){"export", "--csv", "empty.db", NULL});
}

static void test_not_sqlite(void **state)
{
	expect(3, "gprof-cli: 'text.db' is not an SQLite database\n",
	       "hint: ", (const char *[]){"stats", "text.db", NULL});
	expect(3, "'text.db' is not an SQLite database", NULL,
	       (const char *[]){"export", "--type", "json", "text.db", NULL});
}

static void test_truncated(void **state)
{
	char p[PATH_MAX];

	if (access(path("trunc.db"), F_OK) != 0) /* made from the fixture: skip, saying so */
		tu_fixture(p, "nsys-2025.3-launchbench.sqlite");
	expect(3, "gprof-cli: report 'trunc.db' is truncated (65536 of 4706304 bytes)\n",
	       "hint: ", (const char *[]){"stats", "trunc.db", NULL});
	expect(3, "report 'trunc.db' is truncated", NULL,
	       (const char *[]){"export", "trunc.db", NULL});
}

static void test_no_tables(void **state)
{
	expect(
	    3,
	    "gprof-cli: 'plain.db' is not a gprof-cli or nsys report: it has no StringIds table\n",
	    "hint: ", (const char *[]){"stats", "plain.db", NULL});
	expect(3, "'plain.db' is not a gprof-cli or nsys report", NULL,
	       (const char *[]){"export", "plain.db", NULL});
}

static void test_unknown_report(void **state)
{
	expect(2, "gprof-cli: unknown report 'nvtx_summ'\n", "hint: did you mean: nvtx_sum",
	       (const char *[]){"stats", "-r", "nvtx_summ", "ok.db", NULL});
	expect(2, "gprof-cli: report 'nvtx_sum' has no argument 'base'\n",
	       "--help-reports nvtx_sum",
	       (const char *[]){"stats", "-r", "nvtx_sum:base", "ok.db", NULL});
	expect(2, "unknown format 'xml'", NULL,
	       (const char *[]){"stats", "-f", "xml", "ok.db", NULL});
	expect(2, "unknown time unit 'hours'", NULL,
	       (const char *[]){"stats", "--timeunit", "hours", "ok.db", NULL});
	expect(2, "unknown option '--bogus'", NULL,
	       (const char *[]){"stats", "--bogus", "ok.db", NULL});
	expect(2, "unknown export type 'xml'", NULL,
	       (const char *[]){"export", "--type", "xml", "ok.db", NULL});
}

static void test_output_exists(void **state)
{
	char out[8192], err[8192];

	/* first run writes ok_nvtx_sum.csv and warns about the unclean report */
	assert_int_equal(
	    run(out, sizeof(out), err, sizeof(err),
		(const char *[]){"stats", "-q", "-r", "nvtx_sum", "-o", ".", "ok.db", NULL}),
	    0);
	assert_non_null(strstr(err, "warning: report 'ok.db' was not finished cleanly; data "
				    "may be incomplete"));
	struct stat sb;
	assert_int_equal(stat(path("ok_nvtx_sum.csv"), &sb), 0);
	time_t before = sb.st_mtime;
	FILE *f = fopen(path("ok_nvtx_sum.csv"), "r");
	char text[512];
	size_t k = fread(text, 1, sizeof(text) - 1, f);
	text[k] = '\0';
	fclose(f);
	assert_string_equal(text, "Time (%),Total Time (ns),Instances,Avg (ns),Med (ns),Min (ns),"
				  "Max (ns),StdDev (ns),Style,Range\n"
				  "100.0,10,1,10.0,10.0,10,10,0.0,PushPop,:a\n");
	/* second run: refused, exit 4, nothing else written */
	assert_int_equal(run(out, sizeof(out), err, sizeof(err),
			     (const char *[]){"stats", "-r", "nvtx_sum,nvtx_pushpop_sum", "-o",
					      "ok", "ok.db", NULL}),
			 4);
	assert_non_null(strstr(err, "gprof-cli: output 'ok_nvtx_sum.csv' exists\n"));
	assert_non_null(strstr(err, "hint: use --force-overwrite"));
	assert_string_equal(out, "");
	assert_int_equal(access(path("ok_nvtx_pushpop_sum.csv"), F_OK), -1);
	assert_int_equal(stat(path("ok_nvtx_sum.csv"), &sb), 0);
	assert_int_equal(sb.st_mtime, before);
	/* with --force-overwrite both are written */
	assert_int_equal(
	    run(out, sizeof(out), err, sizeof(err),
		(const char *[]){"stats", "-q", "--force-overwrite", "-r",
				 "nvtx_sum,nvtx_pushpop_sum", "-o", "ok", "ok.db", NULL}),
	    0);
	assert_int_equal(access(path("ok_nvtx_pushpop_sum.csv"), F_OK), 0);
	unlink(path("ok_nvtx_sum.csv"));
	unlink(path("ok_nvtx_pushpop_sum.csv"));

	/* export: existing directory file refused */
	assert_int_equal(run(out, sizeof(out), err, sizeof(err),
			     (const char *[]){"export", "-q", "ok.db", NULL}),
			 0);
	assert_int_equal(access(path("ok_csv/NVTX_EVENTS.csv"), F_OK), 0);
	assert_int_equal(
	    run(out, sizeof(out), err, sizeof(err), (const char *[]){"export", "ok.db", NULL}), 4);
	assert_non_null(strstr(err, "exists"));
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path("ok_csv"));
	assert_int_equal(system(cmd), 0);
}

static void test_help_consistent(void **state)
{
	char out[8192], err[8192];

	assert_int_equal(run(out, sizeof(out), err, sizeof(err),
			     (const char *[]){"stats", "--help-reports", NULL}),
			 0);
	assert_non_null(strstr(out, "nvtx_pushpop_trace"));
	assert_non_null(strstr(out, "osrt_sum"));
	assert_int_equal(run(out, sizeof(out), err, sizeof(err),
			     (const char *[]){"stats", "--help-reports", "nvtx_sum", NULL}),
			 0);
	assert_non_null(strstr(out, "nvtx_sum -- NVTX Range Summary\n"));
	assert_int_equal(
	    run(out, sizeof(out), err, sizeof(err), (const char *[]){"stats", "--help", NULL}), 0);
	assert_non_null(strstr(out, "--timeunit"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_missing),	  cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_not_sqlite),	  cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_no_tables),	  cmocka_unit_test(test_unknown_report),
	    cmocka_unit_test(test_output_exists), cmocka_unit_test(test_help_consistent),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
