/*
 * test_manpages.c - --help and the man pages do not contradict each other: every long
 * option that `gprof-cli <cmd> --help` shows is in the OPTIONS section of
 * man/gprof-cli-<cmd>.1 and vice versa (profile, stats, export, diff, analyze, recipe); every man
 * page is clean under `mandoc -Tlint -Wwarning` when mandoc is installed.
 *
 * Environment: GPROF_CLI (the binary, default build/bin/gprof-cli); the man pages are
 * read from $GPROF_SRCDIR/man (default ./man: make check runs in the source tree).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OPTS 64

struct optset {
	int n;
	char name[MAX_OPTS][48]; /* long names without the leading "--" */
};

static const char *gprof;
static char mandir[PATH_MAX - 64];

static void add_opt(struct optset *s, const char *name, size_t len)
{
	if (len == 0 || len >= sizeof(s->name[0]))
		return;
	for (int i = 0; i < s->n; i++)
		if (strlen(s->name[i]) == len && !strncmp(s->name[i], name, len))
			return;
	assert_true(s->n < MAX_OPTS);
	memcpy(s->name[s->n], name, len);
	s->name[s->n][len] = '\0';
	s->n++;
}

static int has_opt(const struct optset *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->name[i], name))
			return 1;
	return 0;
}

static size_t opt_len(const char *p)
{
	size_t n = 0;

	while (islower((unsigned char)p[n]) || isdigit((unsigned char)p[n]) || p[n] == '-')
		n++;
	return n;
}

/* Long options in the option column of --help: lines whose first non-blank character
 * is '-'; the column ends at the first run of two spaces after the option text. */
static void help_options(const char *cmd, struct optset *s)
{
	char line[1024], command[PATH_MAX + 64];
	FILE *p;

	snprintf(command, sizeof(command), "'%s' %s --help 2>/dev/null", gprof, cmd);
	p = popen(command, "r");
	assert_non_null(p);
	memset(s, 0, sizeof(*s));
	while (fgets(line, sizeof(line), p)) {
		char *q = line;
		char *end;

		while (*q == ' ' || *q == '\t')
			q++;
		if (*q != '-')
			continue;
		end = strstr(q, "  ");
		if (end)
			*end = '\0';
		while ((q = strstr(q, "--")) != NULL) {
			size_t n;

			q += 2;
			n = opt_len(q);
			if (n && islower((unsigned char)*q))
				add_opt(s, q, n);
			q += n;
		}
	}
	assert_int_equal(pclose(p), 0); /* --help exits 0 */
}

/* Long options of the OPTIONS section of a man page: mdoc `.It ... Fl -name` items
 * (and `Fl \-name`), or man(7) tag lines after .TP / .IP with \-\-name. */
static void man_options(const char *cmd, struct optset *s)
{
	char path[PATH_MAX], line[1024];
	int in_options = 0, tag_next = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/gprof-cli-%s.1", mandir, cmd);
	f = fopen(path, "r");
	if (!f)
		fail_msg("man page '%s' is missing", path);
	memset(s, 0, sizeof(*s));
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, ".Sh ", 4) || !strncmp(line, ".SH ", 4)) {
			in_options = strstr(line, "OPTIONS") != NULL;
			continue;
		}
		if (!in_options)
			continue;
		if (!strncmp(line, ".It", 3)) {
			/* mdoc: words after each Fl macro until the next macro */
			int in_fl = 0;

			for (char *w = strtok(line + 3, " \t\n"); w; w = strtok(NULL, " \t\n")) {
				if (!strcmp(w, "Fl")) {
					in_fl = 1;
				} else if (isupper((unsigned char)w[0]) && strlen(w) <= 3) {
					in_fl = 0;
				} else if (in_fl) {
					if (!strncmp(w, "\\-", 2))
						w += 2;
					else if (w[0] == '-')
						w += 1;
					else
						continue;
					add_opt(s, w, opt_len(w));
				}
			}
			continue;
		}
		if (!strncmp(line, ".TP", 3)) {
			tag_next = 1;
			continue;
		}
		if (tag_next || !strncmp(line, ".IP", 3)) {
			/* man(7): normalise \- and font escapes, then find --name */
			char norm[1024];
			size_t n = 0;

			tag_next = 0;
			for (const char *q = line; *q && n < sizeof(norm) - 1; q++) {
				if (q[0] == '\\' && q[1] == '-') {
					norm[n++] = '-';
					q++;
				} else if (q[0] == '\\' && q[1] == 'f' && q[2]) {
					q += 2;
				} else {
					norm[n++] = *q;
				}
			}
			norm[n] = '\0';
			for (char *q = norm; (q = strstr(q, "--")) != NULL;) {
				q += 2;
				n = opt_len(q);
				add_opt(s, q, n);
				q += n;
			}
		}
	}
	fclose(f);
}

static void check_command(const char *cmd)
{
	struct optset help, man;
	int bad = 0;

	help_options(cmd, &help);
	man_options(cmd, &man);
	assert_true(help.n > 0);
	for (int i = 0; i < help.n; i++)
		if (!has_opt(&man, help.name[i])) {
			fprintf(stderr, "'--%s' is in '%s --help' but not in gprof-cli-%s.1\n",
				help.name[i], cmd, cmd);
			bad++;
		}
	for (int i = 0; i < man.n; i++)
		if (!has_opt(&help, man.name[i])) {
			fprintf(stderr, "'--%s' is in gprof-cli-%s.1 but not in '%s --help'\n",
				man.name[i], cmd, cmd);
			bad++;
		}
	assert_int_equal(bad, 0);
}

static void test_profile_help_matches_man(void **state)
{
	struct optset help;

	check_command("profile");
	/* and the parser above really sees the options */
	help_options("profile", &help);
	assert_true(has_opt(&help, "trace"));
	assert_true(has_opt(&help, "cuda-trace-all-apis"));
	assert_true(has_opt(&help, "cuda-flush-interval"));
	assert_true(has_opt(&help, "mpi-impl"));
	assert_true(has_opt(&help, "host-memory-threshold"));
	assert_true(has_opt(&help, "cudabacktrace"));
	assert_true(has_opt(&help, "python-backtrace"));
	assert_int_equal(help.n, 40);
}

static void test_stats_help_matches_man(void **state)
{
	check_command("stats");
}

static void test_export_help_matches_man(void **state)
{
	check_command("export");
}

/* `dump` (issue 16: the raw-frame tap) */
static void test_dump_help_matches_man(void **state)
{
	struct optset help;

	check_command("dump");
	help_options("dump", &help);
	assert_true(has_opt(&help, "output"));
}

/* The interactive-session commands (issue 11): launch, start, stop, cancel, shutdown,
 * sessions, status. */
static void test_session_help_matches_man(void **state)
{
	static const char *const cmds[] = {"launch",   "start",	   "stop",  "cancel",
					   "shutdown", "sessions", "status"};
	struct optset help;

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		check_command(cmds[i]);
	help_options("launch", &help);
	assert_true(has_opt(&help, "session-new"));
	assert_true(has_opt(&help, "trace"));
	assert_false(has_opt(&help, "output")); /* start's */
}

static void test_diff_help_matches_man(void **state)
{
	check_command("diff");
}

static void test_analyze_help_matches_man(void **state)
{
	check_command("analyze");
}

static void test_recipe_help_matches_man(void **state)
{
	check_command("recipe");
}

static void test_mandoc_lint(void **state)
{
	const char *pages[] = {"gprof-cli",	     "gprof-cli-profile",  "gprof-cli-stats",
			       "gprof-cli-export",   "gprof-cli-diff",	   "gprof-cli-launch",
			       "gprof-cli-start",    "gprof-cli-stop",	   "gprof-cli-cancel",
			       "gprof-cli-shutdown", "gprof-cli-sessions", "gprof-cli-status",
			       "gprof-cli-analyze",  "gprof-cli-recipe"};
	char cmd[PATH_MAX + 128], out[4096];

	if (system("command -v mandoc >/dev/null 2>&1") != 0)
		skip();
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		FILE *p;
		size_t n;

		snprintf(cmd, sizeof(cmd), "mandoc -Tlint -Wwarning '%s/%s.1' 2>&1", mandir,
			 pages[i]);
		p = popen(cmd, "r");
		assert_non_null(p);
		n = fread(out, 1, sizeof(out) - 1, p);
		out[n] = '\0';
		if (pclose(p) != 0 || n)
			fail_msg("mandoc -Tlint -Wwarning %s.1:\n%s", pages[i], out);
	}
}

int main(void)
{
	const char *src = getenv("GPROF_SRCDIR");
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_profile_help_matches_man),
	    cmocka_unit_test(test_stats_help_matches_man),
	    cmocka_unit_test(test_export_help_matches_man),
	    cmocka_unit_test(test_dump_help_matches_man),
	    cmocka_unit_test(test_session_help_matches_man),
	    cmocka_unit_test(test_diff_help_matches_man),
	    cmocka_unit_test(test_analyze_help_matches_man),
	    cmocka_unit_test(test_recipe_help_matches_man),
	    cmocka_unit_test(test_mandoc_lint),
	};

	gprof = getenv("GPROF_CLI");
	if (!gprof || !*gprof)
		gprof = "build/bin/gprof-cli";
	snprintf(mandir, sizeof(mandir), "%s/man", src && *src ? src : ".");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
