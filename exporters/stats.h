/*
 * stats.h - `gprof-cli stats` report framework, modelled on nsys's stats scripts
 * (../shared/reference/nsys-cli.md section 2).
 *
 * A report is SQL over the report database whose result columns are aliased
 * "Title:unit" as in nsys's scripts:
 *     :dur_ns  -> "Title (ns)" (scaled by --timeunit), values printed with thousands
 *                 separators; REAL values with 1 decimal
 *     :ts_ns   -> "Title (ns)" (scaled by --timeunit)
 *     :ratio_% -> "Title (%)", 1 decimal
 *     :mem_B   -> "Title (MB)", bytes / 1e6 with 3 decimals
 *     :thru_B  -> "Title (MB/s)"
 *     no unit  -> as is;  a leading '_' hides the column.
 * The formatter (exporters/stats_format.c) turns the result into column, table, csv,
 * tsv or json output.
 *
 * Adding a report: write exporters/stats/<name>.c defining
 *     const struct stats_report stats_report_<name> = { ... };
 * and add one line STATS_REPORT(<name>) to exporters/stats_reports.def.  Reports whose
 * file does not exist yet are weak symbols and simply not listed.
 */
#ifndef GPROF_STATS_H
#define GPROF_STATS_H

#include <sqlite3.h>

#include "../core/util.h"

/* Parsed report arguments: "cuda_gpu_kern_sum:base:nvtx-name" -> name + args. */
struct stats_args {
	int nargs;
	const char *args[16]; /* borrowed from the command line */
};

/* Non-zero when `arg` (e.g. "base") was given. */
int stats_has_arg(const struct stats_args *a, const char *arg);

struct stats_report {
	const char *name;	 /* report id, e.g. "nvtx_sum" */
	const char *display;	 /* nsys display name, e.g. "NVTX Range Summary" */
	const char *help;	 /* --help-reports text: what it shows, args, columns */
	const char *const *args; /* recognised args, NULL-terminated (NULL = none) */
	/* Tables the report needs; when one is missing the report is skipped with
	 * "SKIPPED: <file> does not contain <skip_what>." (nsys wording). */
	const char *const *needs;
	const char *skip_what; /* e.g. "NV Tools Extension (NVTX) data" */
	/*
	 * Build the query.  May create TEMP tables/views on db first.  Appends the SQL
	 * whose rows are the report to *sql.  Returns 0, or -1 after printing an error.
	 */
	int (*query)(sqlite3 *db, const struct stats_args *args, struct strbuf *sql);
};

/* All known reports, NULL-terminated, in registry order. */
const struct stats_report *const *stats_reports(void);
/* Look a report up by name; NULL when unknown. */
const struct stats_report *stats_find(const char *name);

/* Register median(), stdev(), lower_quartile(), upper_quartile() (as nsys's stats
 * runtime does) on db.  0 or -1. */
int stats_register_functions(sqlite3 *db);

#endif
