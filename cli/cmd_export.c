/*
 * cmd_export.c - `gprof-cli export [<options>] REPORT.db`: write the report's tables
 * as CSV files or JSON Lines (exporters/export.h; man gprof-cli-export).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmds.h"
#include "core/util.h"
#include "exporters/export.h"
#include "exporters/report_open.h"

static const char usage_text[] =
    "usage: gprof-cli export [<options>] REPORT.db\n"
    "\n"
    "Write a report's tables as CSV files (one per table) or JSON Lines.\n"
    "\n"
    "  -t, --type TYPE       csv or json (JSON Lines); default csv\n"
    "      --csv             same as --type csv\n"
    "  -o, --output PATH     csv: the directory (default: REPORT without its extension\n"
    "                        plus _csv); json: the file (default: REPORT without its\n"
    "                        extension plus .jsonl), - for standard output\n"
    "      --tables PATTERN[,PATTERN...]\n"
    "                        export only tables whose name matches one of the\n"
    "                        case-insensitive POSIX basic regular expressions\n"
    "  -f, --force-overwrite replace existing output files\n"
    "  -q, --quiet           no summary line on standard error\n"
    "  -h, --help            print this help and exit\n"
    "\n"
    "Columns holding a StringIds id (nameId, textId, ...) get a companion column\n"
    "<column>_value with the string.  Exit status: 0 ok, 1 error, 2 usage, 3 bad\n"
    "report, 4 output exists or cannot be written.  See man gprof-cli-export.\n";

enum {
	OPT_CSV = 256,
	OPT_TABLES,
};

static const struct option longopts[] = {
    {"type", required_argument, NULL, 't'},
    {"csv", no_argument, NULL, OPT_CSV},
    {"output", required_argument, NULL, 'o'},
    {"tables", required_argument, NULL, OPT_TABLES},
    {"force-overwrite", no_argument, NULL, 'f'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int cmd_export(int argc, char **argv)
{
	struct export_opts o = {.type = EXPORT_CSV};
	char *output = NULL, *tables_arg = NULL, **tables = NULL;
	int c, status = GP_EXIT_OK;
	size_t ntables = 0;
	sqlite3 *db;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":t:o:fqh", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (!strcmp(optarg, "csv")) {
				o.type = EXPORT_CSV;
			} else if (!strcmp(optarg, "json") || !strcmp(optarg, "jsonl") ||
				   !strcmp(optarg, "jsonlines")) {
				o.type = EXPORT_JSONL;
			} else {
				error("unknown export type '%s'", optarg);
				hint("use --type csv or --type json");
				status = GP_EXIT_USAGE;
				goto out;
			}
			break;
		case OPT_CSV:
			o.type = EXPORT_CSV;
			break;
		case 'o':
			free(output);
			output = xstrdup(optarg);
			break;
		case OPT_TABLES:
			free(tables_arg);
			tables_arg = xstrdup(optarg);
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
	if (optind + 1 != argc) {
		error(optind == argc ? "no report file given" : "more than one report file given");
		hint("usage: gprof-cli export [<options>] REPORT.db");
		status = GP_EXIT_USAGE;
		goto out;
	}
	if (output && !strcmp(output, "-") && o.type == EXPORT_CSV) {
		error("csv export cannot go to standard output (one file per table)");
		hint("use -o DIR, or --type json -o -");
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
	free(output);
	free(tables_arg);
	free(tables);
	return status;
}
