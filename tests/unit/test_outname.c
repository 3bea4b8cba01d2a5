/* test_outname.c - `-o` name expansion (core/outname.h): %q{VAR}, %h, %p (two-step), %n with
 * existing files, %%, the .db suffix, and every bad pattern with its message. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/testutil.h"

#include "core/outname.h"

static char *env[] = {"OMPI_COMM_WORLD_RANK=3", "EMPTY=", "PCT=50%", "SLURM_PROCID=7", NULL};
static char tmpdir[64];

static int setup(void **state)
{
	strcpy(tmpdir, "/tmp/gprof-outname-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int teardown(void **state)
{
	return tu_rm_rf(tmpdir);
}

static struct outname_ctx ctx(pid_t pid)
{
	struct outname_ctx c = {.envp = env, .hostname = "node7", .pid = pid};

	return c;
}

/* Expand and check the result string and return value. */
static void expect(const char *pattern, pid_t pid, const char *want, int want_ret)
{
	struct outname_ctx c = ctx(pid);
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;

	assert_int_equal(outname_expand(pattern, &c, &out, &err), want_ret);
	assert_string_equal(out.buf, want);
	assert_int_equal(err.len, 0);
	strbuf_release(&out);
	strbuf_release(&err);
}

static void expect_bad(const char *pattern, const char *want_err, const char *want_hint)
{
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT, hint = STRBUF_INIT;
	struct outname_ctx c = ctx(42);

	c.hint = &hint;
	assert_int_equal(outname_expand(pattern, &c, &out, &err), -1);
	assert_string_equal(err.buf, want_err);
	if (want_hint)
		assert_string_equal(hint.buf, want_hint);
	strbuf_release(&out);
	strbuf_release(&err);
	strbuf_release(&hint);
}

static void test_plain_and_suffix(void **state)
{
	expect("out", 42, "out.db", 0);
	expect("out.db", 42, "out.db", 0);
	expect("dir/sub/out.sqlite", 42, "dir/sub/out.sqlite", 0); /* nsys's export suffix */
	expect("out.sqlite3", 42, "out.sqlite3.db", 0);
	expect("out.db.bak", 42, "out.db.bak.db", 0);
	expect(".db", 42, ".db", 0);
	expect("a%%b", 42, "a%b.db", 0);
	expect("%%p", 0, "%p.db", 0); /* a literal "%p" is not a pid request */
	expect("100%%", 42, "100%.db", 0);

	/* no suffix, other suffix */
	struct outname_ctx c = ctx(42);
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	c.suffix = "";
	assert_int_equal(outname_expand("r", &c, &out, &err), 0);
	assert_string_equal(out.buf, "r");
	strbuf_reset(&out);
	c.suffix = ".sqlite";
	assert_int_equal(outname_expand("r.%q{SLURM_PROCID}", &c, &out, &err), 0);
	assert_string_equal(out.buf, "r.7.sqlite");
	strbuf_reset(&out);
	c.suffix = ".json"; /* only the default suffix accepts .sqlite as well */
	assert_int_equal(outname_expand("r.sqlite", &c, &out, &err), 0);
	assert_string_equal(out.buf, "r.sqlite.json");
	strbuf_reset(&out);
	assert_int_equal(outname_expand("r.7.sqlite", &c, &out, &err), 0);
	/* out is appended to */
	assert_int_equal(outname_expand("s", &c, &out, &err), 0);
	assert_string_equal(out.buf, "r.7.sqlite.jsons.json");
	strbuf_release(&out);
	strbuf_release(&err);
}

static void test_substitutions(void **state)
{
	expect("r.%q{OMPI_COMM_WORLD_RANK}", 42, "r.3.db", 0);
	expect("%h-%q{SLURM_PROCID}-%p", 1234, "node7-7-1234.db", 0);
	expect("x%q{EMPTY}y", 42, "xy.db", 0);	    /* set but empty is not missing */
	expect("load%q{PCT}", 42, "load50%.db", 0); /* values are not expanded again */
	expect("%p%p", 99, "9999.db", 0);
	expect("%h", 42, "node7.db", 0);
}

static void test_process_env_and_hostname(void **state)
{
	struct outname_ctx c = {0};
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	char host[256], want[300];

	setenv("GPROF_OUTNAME_TEST", "abc", 1);
	c.pid = 5;
	assert_int_equal(outname_expand("%q{GPROF_OUTNAME_TEST}_%h_%p", &c, &out, &err), 0);
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	snprintf(want, sizeof(want), "abc_%s_5.db", host);
	assert_string_equal(out.buf, want);
	unsetenv("GPROF_OUTNAME_TEST");
	strbuf_reset(&out);
	/* the process environment is not consulted when envp is given */
	c.envp = env;
	assert_int_equal(outname_expand("%q{HOME}", &c, &out, &err), -1);
	strbuf_release(&out);
	strbuf_release(&err);
}

/* %p with pid 0: first step keeps %p (and %n), escapes literal '%', returns PENDING. */
static void test_pid_two_steps(void **state)
{
	struct outname_ctx c = ctx(0);
	struct strbuf first = STRBUF_INIT, final = STRBUF_INIT, err = STRBUF_INIT;

	assert_int_equal(outname_expand("r%%.%q{PCT}.%h.%p.%n", &c, &first, &err),
			 OUTNAME_PID_PENDING);
	assert_string_equal(first.buf, "r%%.50%%.node7.%p.%n.db");
	c.pid = 4321;
	char cwd[4096];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(tmpdir), 0); /* %n looks in the working directory */
	assert_int_equal(outname_expand(first.buf, &c, &final, &err), 0);
	assert_int_equal(chdir(cwd), 0);
	assert_string_equal(final.buf, "r%.50%.node7.4321.1.db");
	assert_int_equal(err.len, 0);

	/* errors are found in the first step, before any fork */
	strbuf_reset(&first);
	c.pid = 0;
	assert_int_equal(outname_expand("%p.%q{NOPE}", &c, &first, &err), -1);
	assert_string_equal(err.buf,
			    "cannot expand output name '%p.%q{NOPE}': environment variable 'NOPE' "
			    "is not set");
	/* without %p, pid 0 gives the final name at once */
	strbuf_reset(&first);
	strbuf_reset(&err);
	assert_int_equal(outname_expand("r%%%h", &c, &first, &err), 0);
	assert_string_equal(first.buf, "r%node7.db");
	strbuf_release(&first);
	strbuf_release(&final);
	strbuf_release(&err);
}

static void touch(const char *name)
{
	char p[256];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	close(fd);
}

static void expect_in_tmp(const char *pattern, const char *want)
{
	char p[256], w[256];

	snprintf(p, sizeof(p), "%s/%s", tmpdir, pattern);
	snprintf(w, sizeof(w), "%s/%s", tmpdir, want);
	expect(p, 42, w, 0);
}

static void test_number(void **state)
{
	char sub[128];

	expect_in_tmp("report%n", "report1.db");
	touch("report1.db");
	touch("report2.db");
	touch("report4.db");
	touch("report3"); /* only the .db name counts */
	expect_in_tmp("report%n", "report3.db");
	touch("report3.db");
	expect_in_tmp("report%n", "report5.db");
	expect_in_tmp(OUTNAME_DEFAULT, "report5.db");
	/* every %n gets the same number; the name tested is the whole expansion */
	touch("a1-1.db");
	expect_in_tmp("a%n-%n", "a2-2.db");
	/* a directory of that name is taken too */
	snprintf(sub, sizeof(sub), "%s/d1.db", tmpdir);
	assert_int_equal(mkdir(sub, 0755), 0);
	expect_in_tmp("d%n.db", "d2.db");
	/* with %q, %h and %p */
	touch("r.3.node7.42.1.db");
	expect_in_tmp("r.%q{OMPI_COMM_WORLD_RANK}.%h.%p.%n", "r.3.node7.42.2.db");
	/* a missing folder: nothing exists, so 1 (the writer reports the folder) */
	expect_in_tmp("nodir/x%n", "nodir/x1.db");
}

static void test_bad_patterns(void **state)
{
	expect_bad("r.%q{OMPI_COMM_WORLD_SIZE}",
		   "cannot expand output name 'r.%q{OMPI_COMM_WORLD_SIZE}': environment variable "
		   "'OMPI_COMM_WORLD_SIZE' is not set",
		   "set OMPI_COMM_WORLD_SIZE in the environment (or with -e "
		   "OMPI_COMM_WORLD_SIZE=VALUE), or change -o");
	expect_bad("r.%q{RANK",
		   "bad output name 'r.%q{RANK': '%q{' at character 3 has no closing '}'",
		   "write %q{VAR} for the value of VAR");
	expect_bad("r.%qRANK",
		   "bad output name 'r.%qRANK': '%q' at character 3 is not followed by '{'", NULL);
	expect_bad("%q{}", "bad output name '%q{}': '%q{}' at character 1 names no variable", NULL);
	expect_bad("report%x",
		   "bad output name 'report%x': unknown substitution '%x' at character 7",
		   "valid substitutions: %q{VAR}, %h, %p, %n, %%");
	expect_bad("a%N", "bad output name 'a%N': unknown substitution '%N' at character 2", NULL);
	expect_bad("50%", "bad output name '50%': lone '%' at character 3",
		   "write '%%' for a literal '%'");
	expect_bad("", "bad output name '': the name is empty",
		   "give a file name, e.g. -o report%n");
	expect_bad("%q{EMPTY}", "bad output name '%q{EMPTY}': it expands to an empty name", NULL);
	expect_bad("out/", "bad output name 'out/': 'out/' is a directory name",
		   "add a file name, e.g. -o out/report%n");
	expect_bad("r%q{EMPTY}/", "bad output name 'r%q{EMPTY}/': 'r/' is a directory name", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_and_suffix),
	    cmocka_unit_test(test_substitutions),
	    cmocka_unit_test(test_process_env_and_hostname),
	    cmocka_unit_test_setup_teardown(test_pid_two_steps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_number, setup, teardown),
	    cmocka_unit_test(test_bad_patterns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
