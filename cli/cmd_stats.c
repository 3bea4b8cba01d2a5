/*
 * cmd_stats.c - `gprof-cli stats [<options>] REPORT.db...`: print summary reports from
 * one or several reports, as `nsys stats` does (nsys-cli.md section 2; man
 * gprof-cli-stats).  Several reports (e.g. an MPI job's r.*.db): each report's tables in
 * turn, labelled by the Processing banner (or, with --quiet, a "==> FILE <==" line as
 * head(1) prints); with --merge one table per report over all of them, first column
 * "Report" (stats_run_merged()).
 *
 * Order: parse options; --help / --help-reports need no report; check every report
 * name and argument (usage errors exit 2); open and validate every report (bad input
 * exits 3, naming the file); resolve every output file and refuse existing ones without
 * --force-overwrite (exit 4) -- all before anything is printed or written.  Files are
 * written to a temporary name beside the target and renamed when complete.
 */
#include <errno.h>
#include <libgen.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cmds.h"
#include "core/util.h"
#include "exporters/report_open.h"
#include "exporters/stats.h"

static const char usage_text[] =
    "usage: gprof-cli stats [<options>] REPORT.db...\n"
    "\n"
    "Print summary reports (nsys stats reports) from report databases.\n"
    "\n"
    "  -r, --report NAME[:ARG...][,NAME...]\n"
    "                        reports to run, in order (repeatable); default: nvtx_sum,\n"
    "                        osrt_sum, cuda_api_sum, cuda_gpu_kern_sum,\n"
    "                        cuda_gpu_mem_time_sum, cuda_gpu_mem_size_sum\n"
    "  -f, --format FMT[,FMT...]\n"
    "                        column, table, csv, tsv or json (repeatable); default:\n"
    "                        column on the console, csv for files\n"
    "  -o, --output OUT[,OUT...]\n"
    "                        - (console, the default), . (the report path without its\n"
    "                        extension) or a PREFIX: writes PREFIX_<report>.<ext>\n"
    "      --timeunit UNIT   unit of time columns: ns, us, ms, s (also nsec, usec, msec,\n"
    "                        nanoseconds, microseconds, milliseconds, seconds or a\n"
    "                        unique prefix); default ns\n"
    "      --force-overwrite overwrite existing output files\n"
    "      --help-reports [NAME|ALL]\n"
    "                        list the reports, or describe one or all, and exit\n"
    "      --merge           with several reports: one table per report over all of\n"
    "                        them, first column Report (the file name)\n"
    "  -q, --quiet           print only the reports (no Processing/SKIPPED lines)\n"
    "  -h, --help            print this help and exit\n"
    "\n"
    "Report i uses format i and output i; a shorter format or output list repeats its\n"
    "last element.  Exit status: 0 ok, 1 error, 2 usage, 3 bad report, 4 output exists\n"
    "or cannot be written.  See man gprof-cli-stats.\n";

enum {
	OPT_TIMEUNIT = 256,
	OPT_FORCE,
	OPT_HELP_REPORTS,
	OPT_MERGE,
};

static const struct option longopts[] = {
    {"report", required_argument, NULL, 'r'},
    {"format", required_argument, NULL, 'f'},
    {"output", required_argument, NULL, 'o'},
    {"timeunit", required_argument, NULL, OPT_TIMEUNIT},
    {"force-overwrite", optional_argument, NULL, OPT_FORCE},
    {"help-reports", optional_argument, NULL, OPT_HELP_REPORTS},
    {"merge", no_argument, NULL, OPT_MERGE},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* A growable list of borrowed or owned strings. */
struct list {
	char **v;
	size_t n, alloc;
};

static void list_add(struct list *l, char *s)
{
	GP_ALLOC_GROW(l->v, l->n + 1, l->alloc);
	l->v[l->n++] = s;
}

/* Split a comma list (a copy is made) into l. */
static void list_add_split(struct list *l, const char *arg)
{
	char *copy = xstrdup(arg), *save = NULL, *tok;

	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		list_add(l, xstrdup(tok));
	free(copy);
}

static void list_free(struct list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), *prev, *cur, d;

	prev = xcalloc(lb + 1, sizeof(size_t));
	cur = xcalloc(lb + 1, sizeof(size_t));
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1,
			       sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			cur[j] = del < ins ? (del < sub ? del : sub) : (ins < sub ? ins : sub);
		}
		size_t *t = prev;
		prev = cur;
		cur = t;
	}
	d = prev[lb];
	free(prev);
	free(cur);
	return d;
}

static void unknown_report(const char *name)
{
	struct strbuf close = STRBUF_INIT;

	error("unknown report '%s'", name);
	for (const struct stats_report *const *r = stats_reports(); *r; r++) {
		if (edit_distance(name, (*r)->name) <= 3 ||
		    (strlen(name) >= 4 && strstr((*r)->name, name))) {
			strbuf_addstr(&close, close.len ? ", " : "");
			strbuf_addstr(&close, (*r)->name);
		}
	}
	if (close.len)
		hint("did you mean: %s", close.buf);
	hint("'gprof-cli stats --help-reports' lists the reports");
	strbuf_release(&close);
}

static void print_report_help(const struct stats_report *r, FILE *f)
{
	/* help written in nsys's usage style starts with its own "name -- display" line */
	if (r->help && !strncmp(r->help, r->name, strlen(r->name))) {
		size_t len = strlen(r->help);
		fputs(r->help, f);
		if (len && r->help[len - 1] != '\n')
			fputc('\n', f);
		return;
	}
	fprintf(f, "%s -- %s\n", r->name, r->display);
	if (r->args && r->args[0]) {
		fprintf(f, "  arguments:");
		for (const char *const *a = r->args; *a; a++)
			fprintf(f, " :%s", *a);
		fputc('\n', f);
	}
	if (r->help) {
		const char *p = r->help;
		while (*p) {
			const char *nl = strchr(p, '\n');
			size_t len = nl ? (size_t)(nl - p) : strlen(p);
			fprintf(f, "  %.*s\n", (int)len, p);
			p += len + (nl != NULL);
		}
	}
}

static int help_reports(const char *which)
{
	if (!which) {
		printf("Available reports (gprof-cli stats --help-reports NAME describes one):\n");
		for (const struct stats_report *const *r = stats_reports(); *r; r++)
			printf("  %-24s %s\n", (*r)->name, (*r)->display);
		return GP_EXIT_OK;
	}
	if (!strcmp(which, "ALL")) {
		for (const struct stats_report *const *r = stats_reports(); *r; r++) {
			if (r != stats_reports())
				putchar('\n');
			print_report_help(*r, stdout);
		}
		return GP_EXIT_OK;
	}
	const struct stats_report *r = stats_find(which);
	if (!r) {
		unknown_report(which);
		return GP_EXIT_USAGE;
	}
	print_report_help(r, stdout);
	return GP_EXIT_OK;
}

static int parse_bool(const char *v, int *out)
{
	if (!v || !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes")) {
		*out = 1;
		return 0;
	}
	if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no")) {
		*out = 0;
		return 0;
	}
	return -1;
}

/* One planned report run. */
struct job {
	char *spec; /* owned copy, split in place */
	const char *name;
	struct stats_args args;
	const struct stats_report *r;
	enum stats_format format;
	const char *out; /* "-" (console), "." or a PREFIX */
};

static char *default_base(const char *db)
{
	const char *slash = strrchr(db, '/'), *dot = strrchr(db, '.');
	size_t len = strlen(db);

	if (dot && (!slash || dot > slash + 1))
		len = (size_t)(dot - db);
	return xasprintf("%.*s", (int)len, db);
}

/*
 * The output file of job j on input db: "." -> <db without extension>_<report>...;
 * PREFIX -> PREFIX_<report>... for one input (or --merge: db is NULL), and
 * PREFIX_<db's file name without extension>_<report>... for each of several inputs.
 */
static char *output_path(const char *out, const char *db, int several, const struct job *j)
{
	struct strbuf sb = STRBUF_INIT;
	char *base;

	if (!strcmp(out, ".")) {
		base = default_base(db);
	} else if (several && db) {
		const char *slash = strrchr(db, '/');
		char *name = default_base(slash ? slash + 1 : db);
		base = xasprintf("%s_%s", out, name);
		free(name);
	} else {
		base = xstrdup(out);
	}
	strbuf_addf(&sb, "%s_%s", base, j->name);
	for (int i = 0; i < j->args.nargs; i++) {
		strbuf_addch(&sb, '_');
		for (const char *p = j->args.args[i]; *p; p++)
			strbuf_addch(&sb, *p == '/' ? '-' : *p);
	}
	strbuf_addf(&sb, ".%s", stats_format_ext(j->format));
	free(base);
	return strbuf_detach(&sb, NULL);
}

static int check_args(const struct job *j)
{
	for (int i = 0; i < j->args.nargs; i++) {
		const char *a = j->args.args[i];
		int ok = 0;
		for (const char *const *k = j->r->args; k && *k && !ok; k++) {
			size_t n = strlen(*k);
			ok = !strncmp(a, *k, n) && (a[n] == '\0' || a[n] == '=');
		}
		if (!ok) {
			error("report '%s' has no argument '%s'", j->name, a);
			hint("'gprof-cli stats --help-reports %s' lists its arguments", j->name);
			return -1;
		}
	}
	return 0;
}

/* Where a job's output goes: the inputs (one, or all of them with --merge). */
struct target {
	sqlite3 *const *dbs;
	const char *const *labels;
	size_t n;
	int merge;
	const char *label; /* banner text */
};

static int run_job(const struct job *j, const struct target *t, const struct stats_fmt_opts *o,
		   FILE *out)
{
	if (t->merge)
		return stats_run_merged(t->dbs, t->labels, t->n, j->r, &j->args, o, out);
	return stats_run_report(t->dbs[0], j->r, &j->args, o, out);
}

/* Exit status after a failed job on t (its error printed): GP_EXIT_BAD_INPUT, with a
 * hint, when SQLite found one of its reports damaged, else GP_EXIT_ERROR. */
static int job_error_status(const struct target *t)
{
	for (size_t i = 0; i < t->n; i++) {
		if (report_db_damaged(t->dbs[i])) {
			report_hint_damaged(t->dbs[i]);
			return GP_EXIT_BAD_INPUT;
		}
	}
	return GP_EXIT_ERROR;
}

/* Run job j into a temporary file, then rename it over path. */
static int run_to_file(const struct job *j, const struct target *t, const char *path,
		       const struct stats_fmt_opts *base, int quiet)
{
	struct stats_fmt_opts o = *base;
	char *tmp = xasprintf("%s.tmpXXXXXX", path);
	const char *what = NULL;
	int fd, ret, status = GP_EXIT_ERROR;
	FILE *f;

	o.format = j->format;
	o.banners = 0;
	o.label = t->label;
	if (!quiet)
		printf("Processing [%s] with [reports/%s.py]... \n", t->label, j->name);
	fd = mkstemp(tmp);
	if (fd < 0) {
		error("cannot create '%s': %s", path, strerror(errno));
		free(tmp);
		return GP_EXIT_OUTPUT;
	}
	fchmod(fd, 0644);
	f = fdopen(fd, "w");
	ret = run_job(j, t, &o, f);
	if (ret < 0)
		status = job_error_status(t);
	if (fclose(f) != 0 && ret >= 0)
		ret = error("cannot write '%s': %s", path, strerror(errno));
	if (ret == 0 && rename(tmp, path) != 0)
		ret = error("cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
	if (ret != 0)
		unlink(tmp);
	if (ret == 1 && !quiet) {
		sqlite3_stmt *st = NULL;
		/* ask again for the exact wording of what is missing */
		if (stats_prepare_report(t->dbs[0], j->r, &j->args, t->label, &st, &what) != 1)
			what = NULL;
		sqlite3_finalize(st);
		printf("SKIPPED: %s does not contain %s.\n", t->label,
		       what		 ? what
		       : j->r->skip_what ? j->r->skip_what
					 : "the tables it needs");
	}
	if (!quiet)
		putchar('\n');
	free(tmp);
	return ret < 0 ? status : GP_EXIT_OK;
}

/* The folder of output file path must exist and be writable: else one error line and a
 * hint, -1 (checked before any report runs, so a bad --output gives one error, not one
 * per report). */
static int check_output_folder(const char *path)
{
	char *tmp = xstrdup(path), *dir = dirname(tmp);
	struct stat sb;
	int ret = 0;

	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		error("cannot write '%s': folder '%s' does not exist", path, dir);
		hint("create the folder first, or give --output a prefix in an existing folder");
		ret = -1;
	} else if (access(dir, W_OK | X_OK) != 0) {
		error("cannot write '%s': folder '%s' is not writable", path, dir);
		hint("give --output a prefix in a folder you can write to");
		ret = -1;
	}
	free(tmp);
	return ret;
}

/* The "a.db, b.db, c.db" banner label of --merge. */
static char *join_labels(char *const *v, size_t n)
{
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < n; i++) {
		if (i)
			strbuf_addstr(&sb, ", ");
		strbuf_addstr(&sb, v[i]);
	}
	return strbuf_detach(&sb, NULL);
}

int cmd_stats(int argc, char **argv)
{
	struct list reports = {0}, formats = {0}, outputs = {0};
	struct stats_fmt_opts o = {.format = STATS_FMT_COLUMN, .timeunit = STATS_TU_NS};
	int quiet = 0, force = 0, help_rep = 0, merge = 0, c, status = GP_EXIT_OK;
	const char *help_rep_arg = NULL;
	char **inputs, **paths = NULL, *merged_label = NULL;
	struct job *jobs = NULL;
	size_t njobs = 0, nin = 0, nout = 0;
	sqlite3 **dbs = NULL;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":r:f:o:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			list_add_split(&reports, optarg);
			break;
		case 'f':
			list_add_split(&formats, optarg);
			break;
		case 'o':
			list_add_split(&outputs, optarg);
			break;
		case OPT_TIMEUNIT:
			if ((status = gp_option_timeunit(optarg, &o.timeunit)))
				goto out;
			break;
		case OPT_FORCE:
			if (parse_bool(optarg, &force)) {
				error("bad value '%s' for --force-overwrite", optarg);
				hint("use --force-overwrite or --force-overwrite=true|false");
				status = GP_EXIT_USAGE;
				goto out;
			}
			break;
		case OPT_HELP_REPORTS:
			help_rep = 1;
			help_rep_arg = optarg;
			/* nsys style "--help-reports NAME" (space-separated) */
			if (!optarg && optind < argc && argv[optind][0] != '-' &&
			    (!strcmp(argv[optind], "ALL") || stats_find(argv[optind]) ||
			     optind + 1 == argc))
				help_rep_arg = argv[optind++];
			break;
		case OPT_MERGE:
			merge = 1;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			goto out;
		default:
			status = gp_option_error("stats", c == ':', argv[optind - 1]);
			goto out;
		}
	}
	if (help_rep) {
		status = help_reports(help_rep_arg);
		goto out;
	}
	if (optind == argc) {
		error("no report file given");
		hint("usage: gprof-cli stats [<options>] REPORT.db...");
		status = GP_EXIT_USAGE;
		goto out;
	}
	inputs = argv + optind;
	nin = (size_t)(argc - optind);
	for (size_t i = 0; i < nin; i++) {
		for (size_t k = 0; k < i; k++) {
			if (!strcmp(inputs[i], inputs[k])) {
				error("report '%s' given twice", inputs[i]);
				status = GP_EXIT_USAGE;
				goto out;
			}
		}
	}

	if (!reports.n)
		for (const char *const *n = stats_default_reports(); *n; n++)
			if (stats_find(*n))
				list_add(&reports, xstrdup(*n));
	jobs = xcalloc(reports.n ? reports.n : 1, sizeof(*jobs));
	for (size_t i = 0; i < reports.n; i++, njobs++) {
		struct job *j = &jobs[i];
		const char *out = outputs.n ? outputs.v[i < outputs.n ? i : outputs.n - 1] : "-";
		const char *fmt = formats.n ? formats.v[i < formats.n ? i : formats.n - 1] : ".";

		j->out = out;
		j->spec = xstrdup(reports.v[i]);
		if (stats_split_spec(j->spec, &j->name, &j->args)) {
			status = GP_EXIT_USAGE;
			goto out;
		}
		j->r = stats_find(j->name);
		if (!j->r) {
			unknown_report(j->name);
			status = GP_EXIT_USAGE;
			njobs++;
			goto out;
		}
		if (!strcmp(fmt, ".")) {
			j->format = strcmp(out, "-") ? STATS_FMT_CSV : STATS_FMT_COLUMN;
		} else if ((status = gp_option_format(fmt, &j->format))) {
			njobs++;
			goto out;
		}
		if (out[0] == '@') {
			error("output '%s': piping into a command is not supported", out);
			hint("write to a file with --output PREFIX, or pipe gprof-cli's output");
			status = GP_EXIT_USAGE;
			njobs++;
			goto out;
		}
		if (merge && !strcmp(out, ".")) {
			error("output '.' names one file per report; --merge writes one for all");
			hint("give --output a PREFIX: it writes PREFIX_<report>.<ext>");
			status = GP_EXIT_USAGE;
			njobs++;
			goto out;
		}
		if (check_args(j)) {
			status = GP_EXIT_USAGE;
			njobs++;
			goto out;
		}
	}

	/* open every report before printing anything: one bad file fails the whole run */
	dbs = xcalloc(nin, sizeof(*dbs));
	for (size_t i = 0; i < nin; i++) {
		dbs[i] = report_open_read(inputs[i]);
		if (!dbs[i]) {
			if (nin > 1)
				hint("nothing was printed; fix or leave out '%s'", inputs[i]);
			status = GP_EXIT_BAD_INPUT;
			goto out;
		}
	}

	/* output files: paths[f * njobs + i] for input f (merge: f = 0 only) */
	nout = (merge ? 1 : nin) * njobs;
	paths = xcalloc(nout ? nout : 1, sizeof(*paths));
	for (size_t p = 0; p < nout; p++) {
		const struct job *j = &jobs[p % njobs];
		const char *db = merge ? NULL : inputs[p / njobs];
		struct stat sb;
		if (!strcmp(j->out, "-"))
			continue;
		paths[p] = output_path(j->out, db, nin > 1, j);
		for (size_t k = 0; k < p; k++) {
			if (paths[k] && !strcmp(paths[k], paths[p])) {
				error("two reports would both write '%s'", paths[p]);
				hint("give each report its own --output PREFIX");
				status = GP_EXIT_USAGE;
				goto out;
			}
		}
		if (!force && stat(paths[p], &sb) == 0) {
			error("output '%s' exists", paths[p]);
			hint("use --force-overwrite to replace it, or another --output prefix");
			status = GP_EXIT_OUTPUT;
			goto out;
		}
		if (check_output_folder(paths[p]) < 0) {
			status = GP_EXIT_OUTPUT;
			goto out;
		}
	}

	if (merge)
		merged_label = join_labels(inputs, nin);
	for (size_t f = 0; f < (merge ? 1 : nin); f++) {
		struct target t = {
		    .dbs = merge ? dbs : &dbs[f],
		    .labels = merge ? (const char *const *)inputs : (const char *const *)&inputs[f],
		    .n = merge ? nin : 1,
		    .merge = merge,
		    .label = merge ? merged_label : inputs[f],
		};
		int headed = 0;
		for (size_t i = 0; i < njobs; i++) {
			struct job *j = &jobs[i];
			const char *path = paths[f * njobs + i];
			int rc;
			if (path) {
				rc = run_to_file(j, &t, path, &o, quiet);
				if (rc && !status)
					status = rc;
				if (rc == GP_EXIT_BAD_INPUT)
					break; /* damaged: one error for the file */
				continue;
			}
			/* with --quiet there are no banners: label each input's block */
			if (quiet && !merge && nin > 1 && !headed) {
				printf("%s==> %s <==\n", f ? "\n" : "", inputs[f]);
				headed = 1;
			}
			o.format = j->format;
			o.banners = !quiet;
			o.label = t.label;
			rc = run_job(j, &t, &o, stdout);
			if (rc < 0) {
				rc = job_error_status(&t);
				if (!status)
					status = rc;
				if (rc == GP_EXIT_BAD_INPUT)
					break; /* damaged: one error for the file */
			}
		}
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		error("cannot write to standard output: %s", strerror(errno));
		status = GP_EXIT_OUTPUT;
	}
out:
	for (size_t i = 0; dbs && i < nin; i++)
		if (dbs[i])
			sqlite3_close(dbs[i]);
	free(dbs);
	for (size_t i = 0; i < nout; i++)
		free(paths[i]);
	free(paths);
	free(merged_label);
	for (size_t i = 0; i < njobs; i++)
		free(jobs[i].spec);
	free(jobs);
	list_free(&reports);
	list_free(&formats);
	list_free(&outputs);
	return status;
}
