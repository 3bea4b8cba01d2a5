/*
 * cmd_diff.c - `gprof-cli diff [<options>] BASE.db NEW.db` and
 * `gprof-cli diff [<options>] BASE.db... -- NEW.db...`: compare two runs, or two groups
 * of runs, per CUDA kernel, CUDA API call, memory operation, NVTX range and OS runtime
 * call (exporters/diff.h), print the table in nsys's stats formats and, with --fail-on,
 * exit GP_EXIT_FINDING (5) when a name got slower than its threshold (man gprof-cli-diff).
 *
 * Order: parse options (usage errors exit 2); open and validate every report (bad input
 * exits 3, naming the file) -- before anything is printed; load, compare, print; then
 * check the --fail-on rules (one line per regression on stderr).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmds.h"
#include "core/util.h"
#include "exporters/diff.h"
#include "exporters/report_open.h"
#include "exporters/stats.h"

static const char usage_text[] =
    "usage: gprof-cli diff [<options>] BASE.db NEW.db\n"
    "   or: gprof-cli diff [<options>] BASE.db... -- NEW.db...\n"
    "\n"
    "Compare two runs (or two groups of runs) per CUDA kernel, CUDA API call, memory\n"
    "operation, NVTX range and OS runtime call: count, total, median and p95 before and\n"
    "after, the change of the chosen metric (Delta, Ratio), new and vanished names,\n"
    "sorted by the size of the change.  Options go before '--'.\n"
    "\n"
    "  -f, --format FMT      column, table, csv, tsv or json (default column)\n"
    "      --timeunit UNIT   unit of time columns: ns, us, ms, s (also nsec, usec, msec,\n"
    "                        nanoseconds, microseconds, milliseconds, seconds or a\n"
    "                        unique prefix); default ns\n"
    "      --metric METRIC   total, median or p95: the statistic that Delta, Ratio,\n"
    "                        Noise, the order and --fail-on use (default total)\n"
    "      --kind KIND[,KIND...]\n"
    "                        compare only kernel, api, memcpy, nvtx, osrt (default all)\n"
    "      --fail-on [KIND:]ratio:R[:NAME]\n"
    "                        exit 5 when the metric of a name (of KIND; NAME: that\n"
    "                        name or glob only) grew by more than the factor R, e.g.\n"
    "                        kernel:ratio:1.05; repeatable, the most specific rule wins\n"
    "  -q, --quiet           no title line above the column and table formats\n"
    "  -h, --help            print this help and exit\n"
    "\n"
    "With several runs per side each statistic is the median over the runs and Noise\n"
    "says whether the change lies outside the run-to-run spread (min/max overlap); a\n"
    "change within the spread does not fail --fail-on.  Exit status: 0 ok, 1 error,\n"
    "2 usage, 3 bad report, 5 regression past --fail-on.  See man gprof-cli-diff.\n";

enum {
	OPT_TIMEUNIT = 256,
	OPT_METRIC,
	OPT_KIND,
	OPT_FAIL_ON,
};

static const struct option longopts[] = {
    {"format", required_argument, NULL, 'f'},
    {"timeunit", required_argument, NULL, OPT_TIMEUNIT},
    {"metric", required_argument, NULL, OPT_METRIC},
    {"kind", required_argument, NULL, OPT_KIND},
    {"fail-on", required_argument, NULL, OPT_FAIL_ON},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Parse --kind's comma list into *mask (bits added). */
static int parse_kinds(const char *arg, unsigned *mask)
{
	char *copy = xstrdup(arg), *save = NULL, *tok;
	int ret = 0;

	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		enum diff_kind k;

		if (diff_parse_kind(tok, &k)) {
			error("unknown kind '%s' for --kind", tok);
			hint("use kernel, api, memcpy, nvtx or osrt (comma-separated)");
			ret = -1;
			break;
		}
		*mask |= DIFF_KIND_BIT(k);
	}
	free(copy);
	return ret;
}

/* The title line of the column and table formats. */
static void print_title(char *const *base, int nb, char *const *new, int nn, enum diff_metric m)
{
	printf(" ** Diff by %s (diff): ", diff_metric_name(m));
	if (nb == 1)
		printf("%s", base[0]);
	else
		printf("%d runs (%s ... %s)", nb, base[0], base[nb - 1]);
	printf(" -> ");
	if (nn == 1)
		printf("%s", new[0]);
	else
		printf("%d runs (%s ... %s)", nn, new[0], new[nn - 1]);
	printf("\n\n");
}

/* A side that has a kind's data in none of its reports while the other side has it:
 * every name of that kind would read as new or vanished; say why. */
static void warn_missing_kinds(const struct diff *d, unsigned mask)
{
	static const char *const what[DIFF_NKINDS] = {
	    "CUDA kernel data", "CUDA API data", "GPU memory data",
	    "NV Tools Extension (NVTX) data", "OS Runtime trace data"};

	for (int k = 0; k < DIFF_NKINDS; k++) {
		if (!(mask & DIFF_KIND_BIT(k)))
			continue;
		for (int s = 0; s < 2; s++)
			if (!d->has_kind[s][k] && d->has_kind[!s][k])
				warning("the %s reports do not contain %s: its names show as %s",
					s ? "NEW" : "BASE", what[k], s ? "vanished" : "new");
	}
}

/* "1,234 ns" / "1.234 us" for the messages (stats_format_value's rules). */
static void add_time(struct strbuf *sb, sqlite3_value *v, enum stats_timeunit tu)
{
	if (sqlite3_value_type(v) == SQLITE_NULL) {
		strbuf_addstr(sb, "-");
		return;
	}
	stats_format_value(v, STATS_UNIT_DUR_NS, tu, 1, sb);
	strbuf_addf(sb, " %s", stats_timeunit_name(tu));
}

/*
 * Check every row against the rules: print one line per regression (and a warning per
 * change past a threshold that lies within the run-to-run spread).  Returns the number of
 * regressions, or -1 after an error.
 */
static int check_rules(struct diff *d, unsigned mask, const struct diff_rule *rules, size_t nrules,
		       enum diff_metric m, enum stats_timeunit tu)
{
	sqlite3_stmt *st = NULL;
	struct strbuf sb = STRBUF_INIT;
	int rc, count = 0;

	if (diff_prepare_rows(d, mask, &st))
		return -1;
	/* columns: 0 Delta, 1 Ratio, 10 Noise, 13 Name, 14 _kind, 15 _before, 16 _after */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int kind = sqlite3_column_int(st, 14);
		const char *name = (const char *)sqlite3_column_text(st, 13);
		const char *noise = (const char *)sqlite3_column_text(st, 10);
		const struct diff_rule *r;
		double ratio;

		if (sqlite3_column_type(st, 1) == SQLITE_NULL)
			continue; /* new or vanished: no ratio */
		r = diff_rule_for(rules, nrules, kind, name ? name : "");
		ratio = sqlite3_column_double(st, 1);
		if (!r || !(ratio > r->ratio))
			continue;
		strbuf_reset(&sb);
		strbuf_addf(&sb, "%s '", diff_kind_name((enum diff_kind)kind));
		/* names are the application's bytes: no control characters to the terminal */
		stats_add_terminal_text(&sb, name ? name : "", name ? strlen(name) : 0);
		strbuf_addf(&sb, "': %s ", diff_metric_name(m));
		add_time(&sb, sqlite3_column_value(st, 15), tu);
		strbuf_addstr(&sb, " -> ");
		add_time(&sb, sqlite3_column_value(st, 16), tu);
		strbuf_addf(&sb, ", ratio %.3f > %g (--fail-on=%s)", ratio, r->ratio, r->spec);
		if (noise && !strcmp(noise, "within")) {
			warning("within the run-to-run spread, not failing: %s", sb.buf);
			continue;
		}
		error("regression: %s", sb.buf);
		count++;
	}
	if (rc != SQLITE_DONE) {
		error("diff: cannot read the comparison: %s", sqlite3_errmsg(d->mem));
		count = -1;
	}
	sqlite3_finalize(st);
	strbuf_release(&sb);
	return count;
}

int cmd_diff(int argc, char **argv)
{
	struct stats_fmt_opts o = {.format = STATS_FMT_COLUMN, .timeunit = STATS_TU_NS};
	enum diff_metric metric = DIFF_METRIC_TOTAL;
	unsigned mask = 0;
	struct diff_rule *rules = NULL;
	size_t nrules = 0, rules_alloc = 0;
	int c, quiet = 0, status = GP_EXIT_OK, sep = -1, nb = 0, nn = 0, nfiles;
	char **files = NULL, **base, **new;
	sqlite3 **dbs = NULL;
	sqlite3_stmt *st = NULL;
	struct diff d = {0};

	/* "--" separates BASE reports from NEW ones: find it before getopt (which would
	 * drop it), and parse options only in front of it */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			sep = i;
			break;
		}
	}
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(sep < 0 ? argc : sep, argv, ":f:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if ((status = gp_option_format(optarg, &o.format)))
				goto out;
			break;
		case OPT_TIMEUNIT:
			if ((status = gp_option_timeunit(optarg, &o.timeunit)))
				goto out;
			break;
		case OPT_METRIC:
			if (diff_parse_metric(optarg, &metric)) {
				error("unknown metric '%s' for --metric", optarg);
				hint("use total, median or p95");
				status = GP_EXIT_USAGE;
				goto out;
			}
			break;
		case OPT_KIND:
			if (parse_kinds(optarg, &mask)) {
				status = GP_EXIT_USAGE;
				goto out;
			}
			break;
		case OPT_FAIL_ON:
			GP_ALLOC_GROW(rules, nrules + 1, rules_alloc);
			if (diff_parse_rule(optarg, &rules[nrules])) {
				status = GP_EXIT_USAGE;
				goto out;
			}
			nrules++;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			goto out;
		default:
			status = gp_option_error("diff", c == ':', argv[optind - 1]);
			goto out;
		}
	}
	if (!mask)
		mask = DIFF_KIND_ALL;

	/* the report files: BASE NEW, or BASE... -- NEW... (getopt moved the files before
	 * sep to argv[optind..sep)) */
	if (sep < 0) {
		if (argc - optind != 2) {
			error(argc - optind < 2 ? "diff needs two reports, BASE and NEW"
						: "diff of more than two reports needs '--' "
						  "between the BASE and the NEW ones");
			hint("usage: gprof-cli diff BASE.db NEW.db, or gprof-cli diff "
			     "base-*.db -- new-*.db");
			status = GP_EXIT_USAGE;
			goto out;
		}
		nb = nn = 1;
		base = argv + optind;
		new = argv + optind + 1;
	} else {
		nb = sep - optind;
		nn = argc - sep - 1;
		base = argv + optind;
		new = argv + sep + 1;
		if (nb < 1 || nn < 1) {
			error("no %s report given %s '--'", nb < 1 ? "BASE" : "NEW",
			      nb < 1 ? "before" : "after");
			hint("usage: gprof-cli diff base-*.db -- new-*.db");
			status = GP_EXIT_USAGE;
			goto out;
		}
		/* an option after "--" (where only NEW reports go) that is not a file */
		for (int i = 0; i < nn; i++) {
			if (new[i][0] == '-' && new[i][1] && access(new[i], F_OK) != 0) {
				error("option '%s' after '--': only NEW reports go there", new[i]);
				hint("put the options before the BASE reports");
				status = GP_EXIT_USAGE;
				goto out;
			}
		}
	}
	for (int s = 0; s < 2; s++) {
		char **v = s ? new : base;
		int n = s ? nn : nb;

		for (int i = 0; i < n; i++)
			for (int k = 0; k < i; k++)
				if (!strcmp(v[i], v[k])) {
					error("report '%s' given twice among the %s reports", v[i],
					      s ? "NEW" : "BASE");
					hint("each run counts once; leave out the copy");
					status = GP_EXIT_USAGE;
					goto out;
				}
	}

	/* open every report before printing anything: one bad file fails the whole run */
	nfiles = nb + nn;
	files = xcalloc((size_t)nfiles, sizeof(*files));
	dbs = xcalloc((size_t)nfiles, sizeof(*dbs));
	for (int i = 0; i < nfiles; i++) {
		files[i] = i < nb ? base[i] : new[i - nb];
		dbs[i] = report_open_read(files[i]);
		if (!dbs[i]) {
			status = GP_EXIT_BAD_INPUT;
			goto out;
		}
	}
	if (diff_init(&d)) {
		status = GP_EXIT_ERROR;
		goto out;
	}
	for (int i = 0; i < nfiles; i++) {
		if (diff_add_report(&d, i >= nb, dbs[i], files[i])) {
			if (report_db_damaged(dbs[i])) {
				report_hint_damaged(dbs[i]);
				status = GP_EXIT_BAD_INPUT;
			} else {
				status = GP_EXIT_ERROR;
			}
			goto out;
		}
	}
	if (diff_compute(&d, metric) || diff_prepare_rows(&d, mask, &st)) {
		status = GP_EXIT_ERROR;
		goto out;
	}
	warn_missing_kinds(&d, mask);
	if (!quiet && (o.format == STATS_FMT_COLUMN || o.format == STATS_FMT_TABLE))
		print_title(base, nb, new, nn, metric);
	if (stats_format_stmt(st, &o, stdout)) {
		status = GP_EXIT_ERROR;
		goto out;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		error("cannot write to standard output: %s", strerror(errno));
		status = GP_EXIT_OUTPUT;
		goto out;
	}
	if (nrules) {
		int n = check_rules(&d, mask, rules, nrules, metric, o.timeunit);

		if (n < 0) {
			status = GP_EXIT_ERROR;
		} else if (n > 0) {
			error("%d regression%s past the --fail-on thresholds", n,
			      n == 1 ? "" : "s");
			status = GP_EXIT_FINDING;
		}
	}
out:
	sqlite3_finalize(st);
	diff_release(&d);
	for (int i = 0; dbs && i < nb + nn; i++)
		if (dbs[i])
			sqlite3_close(dbs[i]);
	free(dbs);
	free(files);
	free(rules);
	return status;
}
