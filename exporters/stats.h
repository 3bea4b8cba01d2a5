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
 * and add one line STATS_REPORT(<name>) to exporters/stats_reports.def (the registry,
 * in --help-reports order).
 */
#ifndef GPROF_STATS_H
#define GPROF_STATS_H

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>

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
	/* Optional (NULL = unused), parallel to `needs`: the <skip_what> for each table, as
	 * nsys's scripts word them per table (e.g. "CUDA kernel data" for
	 * CUPTI_ACTIVITY_KIND_KERNEL, "CUDA API data" for CUPTI_ACTIVITY_KIND_RUNTIME); a
	 * NULL entry falls back to skip_what. */
	const char *const *needs_what;
	/* Optional (NULL = unused), NULL-terminated: the report needs at least one of these
	 * tables (e.g. KERNEL, MEMCPY, MEMSET); when none exists it is skipped with
	 * "SKIPPED: <file> does not contain <any_what>." (nsys: "GPU trace data"). */
	const char *const *needs_any;
	const char *any_what;
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
 * runtime does) and percentile(x, p) (p in 0..100, linear interpolation as the quartiles;
 * gprof-cli's own, for `diff`) on db (exporters/stats_funcs.c).  0 or -1. */
int stats_register_functions(sqlite3 *db);

/* ---- running and formatting reports (exporters/stats.c, exporters/stats_format.c) ---- */

/* Output formats of `stats --format` (nsys's column, table, csv, tsv, json). */
enum stats_format {
	STATS_FMT_COLUMN = 0, /* aligned columns, thousands separators (nsys "column") */
	STATS_FMT_TABLE,      /* column plus box borders */
	STATS_FMT_CSV,	      /* RFC 4180 quoting, LF line ends, no separators (as nsys) */
	STATS_FMT_TSV,	      /* tab-separated; tabs/newlines inside values become spaces */
	STATS_FMT_JSON,	      /* one JSON array of objects keyed by column title */
};

/* --timeunit: the unit of :dur_ns / :ts_ns columns. */
enum stats_timeunit {
	STATS_TU_NS = 0,
	STATS_TU_US,
	STATS_TU_MS,
	STATS_TU_S,
};

/* How one report is printed. */
struct stats_fmt_opts {
	enum stats_format format;
	enum stats_timeunit timeunit;
	/* Non-zero: print nsys's console banners around the table ("Processing [<label>]
	 * with [reports/<name>.py]... ", " ** <display> (<name>):" for column/table, and
	 * the SKIPPED line); zero: print the formatted rows only. */
	int banners;
	/* Shown in the banners and SKIPPED line: the report file as the user named it. */
	const char *label;
};

/* "column" -> STATS_FMT_COLUMN etc.  0, or -1 when unknown. */
int stats_parse_format(const char *s, enum stats_format *out);
/* Output file extension of a format ("txt", "csv", "tsv", "json"). */
const char *stats_format_ext(enum stats_format f);
/* ns/nsec/nanoseconds/us/usec/micro.../ms/msec/milli.../s/sec/seconds; a unique prefix of
 * the long names also matches (nsys's longest-prefix rule).  0, or -1 when unknown. */
int stats_parse_timeunit(const char *s, enum stats_timeunit *out);
/* "ns", "us", "ms", "s". */
const char *stats_timeunit_name(enum stats_timeunit u);

/* Split "name:arg:arg" in place (the string is modified: ':' become NULs): *name points
 * at the report name, args at the rest.  0, or -1 (error printed) for more than 16 args. */
int stats_split_spec(char *spec, const char **name, struct stats_args *args);

/* Run sql (statements without results: temp tables, views) on db.  0, or -1 after
 * printing "<what>: <SQLite's message>". */
int stats_exec(sqlite3 *db, const char *sql, const char *what);

/* a - b and a + b clamped to [INT64_MIN, INT64_MAX]: report values are untrusted (a
 * damaged or crafted report may hold any int64), so C arithmetic on them saturates
 * instead of overflowing. */
static inline int64_t stats_sat_sub(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_sub_overflow(a, b, &r))
		return b < 0 ? INT64_MAX : INT64_MIN;
	return r;
}
static inline int64_t stats_sat_add(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

/* NVTX nesting computed in C (nvtx_pushpop_trace, the NVTX parents and containment of
 * the cuda/nvtx reports) follows at most this many enclosing ranges per thread: a damaged
 * or crafted report with deeper nesting is flattened at this depth (ranges deeper than it
 * get the range at this depth as parent), so the work stays O(rows x STATS_NVTX_DEPTH_MAX)
 * instead of quadratic. */
#define STATS_NVTX_DEPTH_MAX 128

/* Non-zero when db has a table or view called `name`, in its main schema or a TEMP one
 * a report created. */
int stats_table_exists(sqlite3 *db, const char *name);
/* Non-zero when table `table` of db has a column called `col` (older nsys exports lack
 * some, e.g. greenContextId); 0 when it has not, or the table does not exist. */
int stats_column_exists(sqlite3 *db, const char *table, const char *col);
/* Append `name` to sb as an SQL identifier: in double quotes, each '"' doubled. */
void stats_sql_ident(struct strbuf *sb, const char *name);

/*
 * Run report r on db and print it to out as o says.  Checks r->needs (missing table:
 * returns 1 = skipped; with o->banners the SKIPPED line is printed to out), validates
 * args against r->args, builds the query and formats its rows.  Returns 0 when
 * printed, 1 when skipped, -1 after printing an error (bad arg, SQL error, write error).
 * db must have the functions of stats_register_functions() (report_open_read() does it).
 */
int stats_run_report(sqlite3 *db, const struct stats_report *r, const struct stats_args *args,
		     const struct stats_fmt_opts *o, FILE *out);

/*
 * Check r's tables and args on db and prepare its query without running it: *st gets the
 * statement (caller finalizes) whose column names are the "Title:unit" aliases.
 * Returns 0; 1 when db lacks a table r needs (*skip_what = the nsys wording of what is
 * missing, e.g. "NV Tools Extension (NVTX) data"; nothing printed); -1 after printing an
 * error (bad arg, SQL error; label names the report file in it).
 */
int stats_prepare_report(sqlite3 *db, const struct stats_report *r, const struct stats_args *args,
			 const char *label, sqlite3_stmt **st, const char **skip_what);

/*
 * `stats --merge`: run report r on each of the n reports dbs[i] and print ONE table: a
 * first column "Report" holding labels[i] (the file name as given), then r's columns,
 * rows in input order and, within one input, in r's order.  Statistics are per input
 * (nvtx_sum gives one row per (Report, Range)); they are not recomputed over the union.
 * Inputs lacking r's tables are left out (with o->banners a "SKIPPED: <label> ..." line
 * each); when all lack them returns 1 (o->label names them all in the SKIPPED line).
 * o->label is the "Processing [...]" banner text.  Rows are gathered in an in-memory
 * SQLite table, so values keep their types and units.  Returns 0, 1, or -1 after printing
 * an error (bad arg, SQL error, column sets that differ, write error).
 */
int stats_run_merged(sqlite3 *const *dbs, const char *const *labels, size_t n,
		     const struct stats_report *r, const struct stats_args *args,
		     const struct stats_fmt_opts *o, FILE *out);

/*
 * Format every row of st (a prepared, not yet stepped statement whose column names are
 * "Title:unit" aliases) to out.  Steps st to the end; does not finalize it.
 * Returns 0, or -1 after printing an error (SQLite step error, write error).
 */
int stats_format_stmt(sqlite3_stmt *st, const struct stats_fmt_opts *o, FILE *out);

/* nsys's default report list restricted to the reports we have, NULL-terminated:
 * nvtx_sum, osrt_sum, cuda_api_sum, cuda_gpu_kern_sum, cuda_gpu_mem_time_sum,
 * cuda_gpu_mem_size_sum. */
const char *const *stats_default_reports(void);

/*
 * For `profile --stats`: open report_path (report_open_read()), print the default report
 * set in column format with nsys's banners to out (skipped reports get their SKIPPED
 * line).  Returns an exit status: GP_EXIT_OK, GP_EXIT_BAD_INPUT (report unusable, error
 * printed) or GP_EXIT_ERROR.
 */
int stats_print_default(const char *report_path, FILE *out);

/* ---- formatter pieces (exporters/stats_format.c), exposed for unit tests ---- */

/* Column units parsed from "Title:unit" aliases. */
enum stats_unit {
	STATS_UNIT_NONE = 0,
	STATS_UNIT_DUR_NS, /* :dur_ns */
	STATS_UNIT_TS_NS,  /* :ts_ns */
	STATS_UNIT_RATIO,  /* :ratio_% */
	STATS_UNIT_MEM_B,  /* :mem_B  (bytes, shown as MB) */
	STATS_UNIT_THRU_B, /* :thru_B (bytes/s, shown as MB/s) */
	STATS_UNIT_ADDR,   /* :addr_uint (plain integer) */
	STATS_UNIT_FACTOR, /* :factor (gprof-cli's own: a ratio such as 1.050, 3 decimals) */
};

/* Parse a column alias: *unit gets the unit, the display title (with " (ns)" etc.) is
 * appended to title; returns non-zero when the column is hidden (leading '_'). */
int stats_parse_title(const char *alias, enum stats_timeunit tu, enum stats_unit *unit,
		      struct strbuf *title);
/*
 * Append the text of one value as the formats print it: NULL -> "" ; TEXT as is;
 * INTEGER in ns units and no unit as an integer; REAL with 1 decimal; ratio 1 decimal;
 * mem/thru bytes / 1e6 with 3 decimals; factor 3 decimals; times in us/ms/s with 3/6/9
 * decimals.
 * thousands: insert ',' every three integer digits (column/table formats).
 * Returns the SQLite type of the value (SQLITE_NULL, SQLITE_TEXT, ...).
 */
int stats_format_value(sqlite3_value *v, enum stats_unit unit, enum stats_timeunit tu,
		       int thousands, struct strbuf *out);
/* Insert thousands separators into the integer part of a formatted number
 * ("-1234567.5" -> "-1,234,567.5"), appending to out. */
void stats_add_thousands(struct strbuf *out, const char *num);
/* Append s centred in width (extra blank on the right, Python's '{:^w}'). */
void stats_add_centered(struct strbuf *out, const char *s, size_t width);
/* Append s as one RFC 4180 CSV field (quoted when it holds , " CR or LF); bytes that are
 * not valid UTF-8 become U+FFFD, one per byte. */
void stats_add_csv_field(struct strbuf *out, const char *s, size_t len);
/* Append s for a terminal (column/table formats): invalid UTF-8 bytes as U+FFFD, control
 * characters (C0, DEL, C1) as escapes: \n \r \t \e \xHH \u0085. */
void stats_add_terminal_text(struct strbuf *out, const char *s, size_t len);
/* Length (1-4) of the valid UTF-8 sequence at p[0..len) and its code point in *cp, or 0
 * when p[0] does not start one (invalid, overlong, surrogate, above U+10FFFF, cut short
 * at len). */
size_t stats_utf8_len(const char *p, size_t len, uint32_t *cp);
/* Append s as a JSON string literal (quotes, backslash, control characters escaped;
 * bytes that are not valid UTF-8 written as \ufffd). */
void stats_add_json_string(struct strbuf *out, const char *s, size_t len);

#endif
