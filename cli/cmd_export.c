/*
 * cmd_export.c - `gprof-cli export [<options>] REPORT.db`: write the report's tables
 * as CSV files or JSON Lines (exporters/export.h), or one or more reports as a timeline
 * trace for Perfetto or chrome://tracing (exporters/timeline.h; man gprof-cli-export).
 */
#include <getopt.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmds.h"
#include "core/capture.h"
#include "core/util.h"
#include "exporters/export.h"
#include "exporters/report_open.h"
#include "exporters/mem_svg.h"
#include "exporters/timeline.h"

static const char usage_text[] =
    "usage: gprof-cli export [<options>] REPORT.db\n"
    "   or: gprof-cli export --type perfetto|chrome-json [<options>] REPORT.db...\n"
    "   or: gprof-cli export --type mem-svg [-o FILE] REPORT.db\n"
    "\n"
    "Write a report's tables as CSV files (one per table) or JSON Lines, or reports as\n"
    "a timeline trace for the Perfetto UI (ui.perfetto.dev) or chrome://tracing.\n"
    "\n"
    "  -t, --type TYPE       csv, json (JSON Lines), folded (the CPU samples as\n"
    "                        collapsed stacks for flame graphs), perfetto (protobuf\n"
    "                        trace), chrome-json (Trace Event Format) or mem-svg\n"
    "                        (host and GPU memory in use over time, NVTX ranges\n"
    "                        shaded); default csv\n"
    "      --csv             same as --type csv\n"
    "  -o, --output PATH     csv: the directory (default: REPORT without its extension\n"
    "                        plus _csv); json, folded, perfetto, chrome-json, mem-svg:\n"
    "                        the file (default: REPORT without its extension plus\n"
    "                        .jsonl, .folded, .pftrace, .json or .svg), - for\n"
    "                        standard output\n"
    "      --tables PATTERN[,PATTERN...]\n"
    "                        export only tables whose name matches one of the\n"
    "                        case-insensitive POSIX basic regular expressions\n"
    "  -f, --force-overwrite replace existing output files\n"
    "\n"
    "Timeline filters (perfetto, chrome-json); times count from the session start,\n"
    "in ns or with a unit (us, ms, s):\n"
    "      --start TIME      drop events that end before TIME\n"
    "      --end TIME        drop events that start after TIME\n"
    "      --nvtx RANGE[@DOMAIN]\n"
    "                        keep only events overlapping an instance of the NVTX\n"
    "                        range RANGE (of DOMAIN; @* for any domain)\n"
    "      --name REGEX      keep only slices whose name matches the POSIX extended\n"
    "                        regular expression\n"
    "      --pid PID[,PID...]\n"
    "                        keep only these processes\n"
    "\n"
    "  -q, --quiet           no summary line on standard error\n"
    "  -h, --help            print this help and exit\n"
    "\n"
    "Columns holding a StringIds id (nameId, textId, ...) get a companion column\n"
    "<column>_value with the string.  Exit status: 0 ok, 1 error, 2 usage, 3 bad\n"
    "report, 4 output exists or cannot be written.  See man gprof-cli-export.\n";

enum {
	OPT_CSV = 256,
	OPT_TABLES,
	OPT_START,
	OPT_END,
	OPT_NVTX,
	OPT_NAME,
	OPT_PID,
};

static const struct option longopts[] = {
    {"type", required_argument, NULL, 't'},
    {"csv", no_argument, NULL, OPT_CSV},
    {"output", required_argument, NULL, 'o'},
    {"tables", required_argument, NULL, OPT_TABLES},
    {"start", required_argument, NULL, OPT_START},
    {"end", required_argument, NULL, OPT_END},
    {"nvtx", required_argument, NULL, OPT_NVTX},
    {"name", required_argument, NULL, OPT_NAME},
    {"pid", required_argument, NULL, OPT_PID},
    {"force-overwrite", no_argument, NULL, 'f'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Add the comma list of process ids in arg to *pids; -1 on a bad one. */
static int parse_pids(const char *arg, int32_t **pids, size_t *n)
{
	char *copy = xstrdup(arg), *save = NULL;
	size_t alloc = *n;
	int ret = 0;

	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		uint64_t v;

		if (gp_parse_u64(t, &v) || v == 0 || v > 0xffffff) {
			ret = -1;
			break;
		}
		GP_ALLOC_GROW(*pids, *n + 1, alloc);
		(*pids)[(*n)++] = (int32_t)v;
	}
	free(copy);
	return ret || !*n ? -1 : 0;
}

/* export --type perfetto|chrome-json of the reports paths[0..n-1]. */
static int export_timeline(char **paths, size_t n, struct timeline_opts *to, const char *output)
{
	sqlite3 **dbs = xcalloc(n, sizeof(*dbs));
	char *out = NULL;
	int status = GP_EXIT_OK;
	size_t i;

	if (!output && n > 1) {
		error("%zu reports given without -o", n);
		hint("name the trace they go into: -o FILE");
		free(dbs);
		return GP_EXIT_USAGE;
	}
	out = output ? xstrdup(output) : timeline_default_output(paths[0], to->type);
	to->output = out;
	for (i = 0; i < n; i++) {
		dbs[i] = report_open_read(paths[i]);
		if (!dbs[i]) {
			status = GP_EXIT_BAD_INPUT;
			break;
		}
	}
	if (!status)
		status = timeline_export(dbs, (const char *const *)paths, n, to);
	for (i = 0; i < n; i++)
		if (dbs[i])
			sqlite3_close(dbs[i]);
	free(dbs);
	free(out);
	return status;
}

int cmd_export(int argc, char **argv)
{
	struct export_opts o = {.type = EXPORT_CSV};
	struct timeline_opts to = {.end = INT64_MAX};
	struct capture_nvtx_pattern nvtx;
	char *output = NULL, *tables_arg = NULL, **tables = NULL;
	const char *name_arg = NULL;
	int c, status = GP_EXIT_OK, timeline = 0, memsvg = 0, have_re = 0, filters = 0;
	int32_t *pids = NULL;
	size_t ntables = 0, npids = 0;
	regex_t re;
	sqlite3 *db;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":t:o:fqh", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			timeline = 0;
			memsvg = 0;
			if (!strcmp(optarg, "csv")) {
				o.type = EXPORT_CSV;
			} else if (!strcmp(optarg, "json") || !strcmp(optarg, "jsonl") ||
				   !strcmp(optarg, "jsonlines")) {
				o.type = EXPORT_JSONL;
			} else if (!strcmp(optarg, "folded")) {
				o.type = EXPORT_FOLDED;
			} else if (!strcmp(optarg, "perfetto") || !strcmp(optarg, "pftrace")) {
				timeline = 1;
				to.type = TIMELINE_PERFETTO;
			} else if (!strcmp(optarg, "chrome-json") || !strcmp(optarg, "chrome")) {
				timeline = 1;
				to.type = TIMELINE_CHROME_JSON;
			} else if (!strcmp(optarg, "mem-svg")) {
				memsvg = 1;
			} else {
				error("unknown export type '%s'", optarg);
				hint("use --type csv, json, folded, perfetto, chrome-json or "
				     "mem-svg");
				status = GP_EXIT_USAGE;
				goto out;
			}
			break;
		case OPT_CSV:
			o.type = EXPORT_CSV;
			timeline = 0;
			memsvg = 0;
			break;
		case 'o':
			free(output);
			output = xstrdup(optarg);
			break;
		case OPT_TABLES:
			free(tables_arg);
			tables_arg = xstrdup(optarg);
			break;
		case OPT_START:
		case OPT_END:
			if (timeline_parse_time(optarg, c == OPT_START ? &to.start : &to.end)) {
				error("invalid --%s '%s'", c == OPT_START ? "start" : "end",
				      optarg);
				hint("give a time from the session start: ns, or a number with us, "
				     "ms "
				     "or s (e.g. 1.5s)");
				status = GP_EXIT_USAGE;
				goto out;
			}
			filters = 1;
			break;
		case OPT_NVTX: {
			const char *why;

			if (capture_parse_nvtx(optarg, &nvtx, &why) < 0) {
				error("invalid --nvtx '%s': %s", optarg, why);
				hint("give a range name, e.g. --nvtx=step, step@domain or step@*");
				status = GP_EXIT_USAGE;
				goto out;
			}
			to.nvtx = nvtx.message;
			to.nvtx_domain = nvtx.domain;
			to.nvtx_any_domain = nvtx.any_domain;
			filters = 1;
			break;
		}
		case OPT_NAME:
			name_arg = optarg;
			filters = 1;
			break;
		case OPT_PID:
			if (parse_pids(optarg, &pids, &npids)) {
				error("invalid --pid '%s'", optarg);
				hint("give process ids separated by commas, e.g. --pid 1234,1240");
				status = GP_EXIT_USAGE;
				goto out;
			}
			filters = 1;
			break;
		case 'f':
			o.force = 1;
			break;
		case 'q':
			o.quiet = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			goto out;
		default:
			status = gp_option_error("export", c == ':', argv[optind - 1]);
			goto out;
		}
	}
	if (optind == argc || (!timeline && optind + 1 != argc)) {
		error(optind == argc ? "no report file given" : "more than one report file given");
		hint(optind == argc ? "usage: gprof-cli export [<options>] REPORT.db"
				    : "only --type perfetto and chrome-json take several reports");
		status = GP_EXIT_USAGE;
		goto out;
	}
	if (!timeline && filters) {
		error("--start, --end, --nvtx, --name and --pid filter timeline exports only");
		hint("add --type perfetto or --type chrome-json");
		status = GP_EXIT_USAGE;
		goto out;
	}
	if (timeline && tables_arg) {
		error("--tables selects tables of csv and json exports only");
		hint("filter a timeline with --start, --end, --nvtx, --name or --pid");
		status = GP_EXIT_USAGE;
		goto out;
	}
	if (to.end < to.start) {
		error("--end is before --start");
		hint("give an --end after the --start");
		status = GP_EXIT_USAGE;
		goto out;
	}
	if (name_arg) {
		int rc = regcomp(&re, name_arg, REG_EXTENDED | REG_NOSUB);

		if (rc) {
			char why[128];

			regerror(rc, &re, why, sizeof(why));
			error("invalid --name '%s': %s", name_arg, why);
			hint("give a POSIX extended regular expression, e.g. --name "
			     "'^cuda(Memcpy|Launch)'");
			status = GP_EXIT_USAGE;
			goto out;
		}
		have_re = 1;
		to.name_re = &re;
	}
	if (memsvg) { /* exporters/mem_svg.c */
		if (filters || tables_arg || (output && !strcmp(output, "-"))) {
			error("--type mem-svg takes no filters, --tables or -o -");
			hint("gprof-cli export --type mem-svg [-o FILE.svg] REPORT.db");
			status = GP_EXIT_USAGE;
			goto out;
		}
		if (!output) {
			const char *in = argv[optind], *dot = strrchr(in, '.');
			size_t n = dot && dot > strrchr(in, '/') ? (size_t)(dot - in) : strlen(in);
			output = xasprintf("%.*s.svg", (int)n, in);
		}
		db = report_open_read(argv[optind]);
		if (!db) {
			status = GP_EXIT_BAD_INPUT;
			goto out;
		}
		status = mem_svg_export(db, output, o.force, o.quiet);
		sqlite3_close(db);
		goto out;
	}
	if (timeline) {
		to.force = o.force;
		to.quiet = o.quiet;
		to.pids = pids;
		to.npids = npids;
		status = export_timeline(argv + optind, (size_t)(argc - optind), &to, output);
		goto out;
	}
	if (output && !strcmp(output, "-") && o.type == EXPORT_CSV) {
		error("csv export cannot go to standard output (one file per table)");
		hint("use -o DIR, or --type json -o -");
		status = GP_EXIT_USAGE;
		goto out;
	}
	if (tables_arg && o.type == EXPORT_FOLDED) {
		error("--tables selects tables of csv and json exports only");
		hint("--type folded writes the CPU samples' stacks");
		status = GP_EXIT_USAGE;
		goto out;
	}
	if (tables_arg) {
		char *save = NULL;
		tables = xcalloc(strlen(tables_arg) + 2, sizeof(char *));
		for (char *t = strtok_r(tables_arg, ",", &save); t; t = strtok_r(NULL, ",", &save))
			tables[ntables++] = t;
		o.tables = (const char *const *)tables;
	}
	if (!output)
		output = export_default_output(argv[optind], o.type);
	o.output = output;

	db = report_open_read(argv[optind]);
	if (!db) {
		status = GP_EXIT_BAD_INPUT;
		goto out;
	}
	status = export_report(db, &o);
	sqlite3_close(db);
out:
	if (have_re)
		regfree(&re);
	free(pids);
	free(output);
	free(tables_arg);
	free(tables);
	return status;
}
