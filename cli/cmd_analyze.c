/*
 * cmd_analyze.c - `gprof-cli analyze [<options>] REPORT...`: run expert-system rules on
 * reports and print what they find, as `nsys analyze` does (nsys-cli.md section 4; man
 * gprof-cli-analyze; the rules are in exporters/analyze*.c).
 *
 * Order: parse options; --help / --help-rules need no report; check every rule name and
 * argument and the --fail-on list (usage errors exit 2); open and validate every report
 * (bad input exits 3, naming the file) -- all before anything is printed.  Then each
 * report's rules in turn.  Exit 0, or 5 when a rule that --fail-on names found something
 * in any report (CI gates), 1 on an error while running.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmds.h"
#include "core/util.h"
#include "exporters/analyze.h"
#include "exporters/report_open.h"

static const char usage_text[] =
    "usage: gprof-cli analyze [<options>] REPORT.db...\n"
    "\n"
    "Run expert-system rules on reports and print the problems they find (nsys analyze's\n"
    "rules, and gprof-cli's: launch_bound, sync_in_loop, copy_storm, nvtx_gpu_idle,\n"
    "gpu_mem_leak, gpu_mem_peak).\n"
    "\n"
    "  -r, --rule NAME[:ARG=VALUE...][,NAME...]\n"
    "                        rules to run, in order (repeatable); 'all' (default): every\n"
    "                        rule, 'nsys': nsys's seven; e.g. gpu_gaps:gap=100:rows=-1\n"
    "  -f, --format FMT      column (default), table, csv, tsv or json\n"
    "      --timeunit UNIT   unit of time columns: ns, us, ms, s (also nsec, usec, msec,\n"
    "                        seconds or a unique prefix); default ns\n"
    "      --fail-on RULE[,RULE...]\n"
    "                        exit 5 when one of these rules ('all': any) finds something\n"
    "      --help-rules [NAME|ALL]\n"
    "                        list the rules, or describe one or all, and exit\n"
    "  -q, --quiet           print only the findings (no Processing/SKIPPED lines)\n"
    "  -h, --help            print this help and exit\n"
    "\n"
    "Exit status: 0 ok (findings included, unless --fail-on names their rule), 1 error,\n"
    "2 usage, 3 bad report, 5 a --fail-on rule found something.  See man\n"
    "gprof-cli-analyze.\n";

enum {
	OPT_TIMEUNIT = 256,
	OPT_HELP_RULES,
	OPT_FAIL_ON,
};

static const struct option longopts[] = {
    {"rule", required_argument, NULL, 'r'},
    {"format", required_argument, NULL, 'f'},
    {"timeunit", required_argument, NULL, OPT_TIMEUNIT},
    {"fail-on", required_argument, NULL, OPT_FAIL_ON},
    {"help-rules", optional_argument, NULL, OPT_HELP_RULES},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* One rule to run: its spec (owned, split in place by stats_split_spec) and arguments. */
struct job {
	char *spec;
	const char *name;
	struct stats_args args;
	const struct analyze_rule *r;
	int fail;      /* named by --fail-on */
	int64_t found; /* rows found over all reports */
};

struct jobs {
	struct job *v;
	size_t n, alloc;
};

static struct job *job_add(struct jobs *j, const char *spec)
{
	GP_ALLOC_GROW(j->v, j->n + 1, j->alloc);
	memset(&j->v[j->n], 0, sizeof(j->v[0]));
	j->v[j->n].spec = xstrdup(spec);
	return &j->v[j->n++];
}

static void unknown_rule(const char *name)
{
	error("unknown rule '%s'", name);
	hint("'gprof-cli analyze --help-rules' lists the rules; 'all' and 'nsys' name groups");
}

static int in_group(const struct analyze_rule *r, const char *group)
{
	return !strcmp(group, "all") || (!strcmp(group, "nsys") && (r->flags & ANALYZE_NSYS));
}

/* Add the rules of one --rule element ("name:args", "all", "nsys"). */
static int add_rule_spec(struct jobs *jobs, const char *spec)
{
	struct job *j;

	if (!strncmp(spec, "all:", 4) || !strncmp(spec, "nsys:", 5)) {
		error("rule group '%.*s' takes no arguments", (int)strcspn(spec, ":"), spec);
		hint("give arguments to one rule: --rule gpu_gaps:gap=100");
		return -1;
	}
	if (!strcmp(spec, "all") || !strcmp(spec, "nsys")) {
		for (const struct analyze_rule *const *r = analyze_rules(); *r; r++) {
			if (in_group(*r, spec)) {
				j = job_add(jobs, (*r)->name);
				j->name = j->spec;
				j->r = *r;
			}
		}
		return 0;
	}
	j = job_add(jobs, spec);
	if (stats_split_spec(j->spec, &j->name, &j->args))
		return -1;
	j->r = analyze_find(j->name);
	if (!j->r) {
		unknown_rule(j->name);
		return -1;
	}
	return analyze_check_args(j->r, &j->args);
}

static int parse_rules(struct jobs *jobs, const char *arg)
{
	char *copy = xstrdup(arg), *save = NULL, *tok;
	int ret = 0;

	for (tok = strtok_r(copy, ",", &save); tok && !ret; tok = strtok_r(NULL, ",", &save))
		ret = add_rule_spec(jobs, tok);
	free(copy);
	return ret;
}

/* Mark the jobs --fail-on names; every name must be a rule that runs. */
static int parse_fail_on(struct jobs *jobs, const char *arg)
{
	char *copy = xstrdup(arg), *save = NULL, *tok;
	int ret = 0;

	for (tok = strtok_r(copy, ",", &save); tok && !ret; tok = strtok_r(NULL, ",", &save)) {
		const struct analyze_rule *r = analyze_find(tok);
		int marked = 0;

		if (!r && strcmp(tok, "all") && strcmp(tok, "nsys")) {
			unknown_rule(tok);
			ret = -1;
			break;
		}
		for (size_t i = 0; i < jobs->n; i++) {
			if (r ? jobs->v[i].r == r : in_group(jobs->v[i].r, tok)) {
				jobs->v[i].fail = 1;
				marked = 1;
			}
		}
		if (!marked) {
			error("--fail-on names rule '%s', which --rule does not run", tok);
			hint("add it to --rule, or leave it out of --fail-on");
			ret = -1;
		}
	}
	free(copy);
	return ret;
}

static void print_rule_help(const struct analyze_rule *r)
{
	size_t len = strlen(r->help);

	fputs(r->help, stdout);
	if (len && r->help[len - 1] != '\n')
		putchar('\n');
}

static int help_rules(const char *which)
{
	if (!which) {
		printf("Available rules (gprof-cli analyze --help-rules NAME describes one):\n");
		for (const struct analyze_rule *const *r = analyze_rules(); *r; r++)
			printf("  %-20s %s%s\n", (*r)->name, (*r)->display,
			       (*r)->flags & ANALYZE_NSYS ? "" : " (gprof-cli)");
		return GP_EXIT_OK;
	}
	if (!strcmp(which, "ALL")) {
		for (const struct analyze_rule *const *r = analyze_rules(); *r; r++) {
			if (r != analyze_rules())
				putchar('\n');
			print_rule_help(*r);
		}
		return GP_EXIT_OK;
	}
	const struct analyze_rule *r = analyze_find(which);
	if (!r) {
		unknown_rule(which);
		return GP_EXIT_USAGE;
	}
	print_rule_help(r);
	return GP_EXIT_OK;
}

int cmd_analyze(int argc, char **argv)
{
	struct analyze_opts o = {.format = STATS_FMT_COLUMN, .timeunit = STATS_TU_NS};
	struct jobs jobs = {0};
	const char *fail_on = NULL, *help_arg = NULL;
	int help_rules_asked = 0, c, status = GP_EXIT_OK;
	char **inputs;
	size_t nin = 0;
	sqlite3 **dbs = NULL;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":r:f:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (parse_rules(&jobs, optarg)) {
				status = GP_EXIT_USAGE;
				goto out;
			}
			break;
		case 'f':
			if ((status = gp_option_format(optarg, &o.format)))
				goto out;
			break;
		case OPT_TIMEUNIT:
			if ((status = gp_option_timeunit(optarg, &o.timeunit)))
				goto out;
			break;
		case OPT_FAIL_ON:
			fail_on = optarg;
			break;
		case OPT_HELP_RULES:
			help_rules_asked = 1;
			help_arg = optarg;
			/* nsys style "--help-rules NAME" (space-separated) */
			if (!optarg && optind < argc && argv[optind][0] != '-' &&
			    (!strcmp(argv[optind], "ALL") || analyze_find(argv[optind]) ||
			     optind + 1 == argc))
				help_arg = argv[optind++];
			break;
		case 'q':
			o.quiet = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			goto out;
		default:
			status = gp_option_error("analyze", c == ':', argv[optind - 1]);
			goto out;
		}
	}
	if (help_rules_asked) {
		status = help_rules(help_arg);
		goto out;
	}
	if (optind == argc) {
		error("no report file given");
		hint("usage: gprof-cli analyze [<options>] REPORT.db...");
		status = GP_EXIT_USAGE;
		goto out;
	}
	if (!jobs.n)
		parse_rules(&jobs, "all");
	if (fail_on && parse_fail_on(&jobs, fail_on)) {
		status = GP_EXIT_USAGE;
		goto out;
	}
	inputs = argv + optind;
	nin = (size_t)(argc - optind);

	/* open every report before printing anything: one bad file fails the whole run */
	dbs = xcalloc(nin, sizeof(*dbs));
	for (size_t i = 0; i < nin; i++) {
		dbs[i] = report_open_read(inputs[i]);
		if (!dbs[i]) {
			if (nin > 1)
				hint("nothing was analyzed; fix or leave out '%s'", inputs[i]);
			status = GP_EXIT_BAD_INPUT;
			goto out;
		}
	}
	for (size_t f = 0; f < nin; f++) {
		for (size_t i = 0; i < jobs.n; i++) {
			struct job *j = &jobs.v[i];
			int64_t n = analyze_run_rule(dbs[f], inputs[f], j->r, &j->args, &o, stdout);

			if (n < 0) {
				if (report_db_damaged(dbs[f])) {
					report_hint_damaged(dbs[f]);
					status = GP_EXIT_BAD_INPUT;
					break; /* one error for the file, not one per rule */
				}
				if (!status)
					status = GP_EXIT_ERROR;
				continue;
			}
			j->found += n;
		}
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		error("cannot write to standard output: %s", strerror(errno));
		status = GP_EXIT_OUTPUT;
	}
	if (!status) {
		for (size_t i = 0; i < jobs.n; i++) {
			if (jobs.v[i].fail && jobs.v[i].found > 0) {
				error("rule '%s' found %lld problem%s (--fail-on)", jobs.v[i].name,
				      (long long)jobs.v[i].found, jobs.v[i].found == 1 ? "" : "s");
				status = GP_EXIT_FINDING;
			}
		}
	}
out:
	for (size_t i = 0; dbs && i < nin; i++)
		if (dbs[i])
			sqlite3_close(dbs[i]);
	free(dbs);
	for (size_t i = 0; i < jobs.n; i++)
		free(jobs.v[i].spec);
	free(jobs.v);
	return status;
}
