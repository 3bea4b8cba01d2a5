/*
 * analyze.h - `gprof-cli analyze`: expert-system rules over a report, modelled on `nsys
 * analyze` (../shared/reference/nsys-cli.md section 4).
 *
 * A rule reads the report (nsys export schema, written by nsys or gprof-cli) and returns
 * rows: each row is one problem found.  A rule that returns no row found nothing; one
 * that returns rows "fired" (what `analyze --fail-on` tests).  Rows are SQL whose result
 * columns are aliased "Title:unit" as for the stats reports (exporters/stats.h), so they
 * print through the same formatter (column, table, csv, tsv, json; --timeunit).
 *
 * Two kinds of rules:
 *   - nsys's own (flag ANALYZE_NSYS): cuda_memcpy_async, cuda_memcpy_sync,
 *     cuda_memset_sync, cuda_api_sync, gpu_gaps, gpu_time_util, dx12_mem_ops, with nsys's
 *     names, messages, columns, thresholds and arguments (analyze_nsys.c);
 *   - gprof-cli's own: launch_bound (analyze_launch.c), sync_in_loop (analyze_sync.c),
 *     copy_storm (analyze_copy.c), nvtx_gpu_idle (analyze_idle.c),
 *     gpu_mem_leak and gpu_mem_peak (analyze_mem.c), whose message names the place (NVTX
 *     range, stream)
 *     and the fix in plain words.
 *
 * Arguments follow nsys's "rule:arg=value:arg=value" syntax.  Every rule takes nsys's
 * common ones: rows=<n> (default 50, -1 no limit), start=<ns>, end=<ns> and
 * nvtx=<range[@domain]> (restrict the report to a time window: every table with start
 * and end columns is replaced by a TEMP view of the rows that overlap it, as nsys does;
 * queries that name main.<table> see all rows).
 */
#ifndef GPROF_ANALYZE_H
#define GPROF_ANALYZE_H

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>

#include "exporters/stats.h"

/* One integer argument a rule accepts beyond the common ones: name=<value> with
 * min <= value <= max, def when not given. */
struct analyze_arg {
	const char *name;
	int64_t def, min, max;
};

/* The run of one rule on one report (what a rule's callbacks see and fill). */
struct analyze_run {
	sqlite3 *db;	   /* the report, read-only; TEMP objects are dropped after the rule */
	const char *label; /* the report file as the user named it (messages) */
	const struct analyze_rule *rule;
	const struct stats_args *args; /* the rule's arguments, validated */
	int64_t rows;		       /* the row limit: rows=, default 50; -1 = no limit */
	struct strbuf sql;	       /* prepare() appends the SQL of the rows here */
	struct strbuf skip;	       /* prepare() returning 1: the SKIPPED message */
	struct strbuf advice;	       /* printed above the rows when there are rows */
	struct strbuf noresult;	       /* printed when there is no row */
};

#define ANALYZE_NSYS 1u /* one of nsys's rules (the "nsys" group, nsys's messages) */

struct analyze_rule {
	const char *name;    /* rule id, e.g. "gpu_gaps" */
	const char *display; /* display name, e.g. "GPU Gaps" */
	const char *help;    /* --help-rules text: what it finds, arguments, columns */
	unsigned flags;	     /* ANALYZE_NSYS or 0 */
	/* Arguments beyond rows/start/end/nvtx, terminated by a NULL name; NULL = none. */
	const struct analyze_arg *args;
	/*
	 * Check the tables the rule needs (missing: fill r->skip with the whole message,
	 * e.g. "<file> could not be analyzed because ...", return 1), create TEMP objects,
	 * append the rows' SQL to r->sql and fill r->advice and r->noresult.  Returns 0,
	 * 1 (skipped) or -1 after printing an error.
	 */
	int (*prepare)(struct analyze_run *r);
	/*
	 * Optional (NULL = the advice prepare() wrote stays): called when the rows are not
	 * empty, before they are printed, to rewrite r->advice from them (the rules that
	 * name the range, stream and savings of their first rows).  0, or -1 after an error.
	 */
	int (*explain)(struct analyze_run *r);
};

/* All rules, NULL-terminated, in run order: nsys's seven in nsys's order, then ours. */
const struct analyze_rule *const *analyze_rules(void);
/* Look a rule up by name ('-' and '_' are the same: launch-bound = launch_bound); NULL
 * when unknown. */
const struct analyze_rule *analyze_find(const char *name);

/*
 * Check args (split by stats_split_spec()) against rule ru: every one must be rows, start,
 * end, nvtx or one of ru->args, given as name=value with an integer in range (nvtx: any
 * text; start <= end).  Returns 0, or -1 after printing one error line and a hint.
 */
int analyze_check_args(const struct analyze_rule *ru, const struct stats_args *args);

/* The value of integer argument `name` of r (its default when not given). */
int64_t analyze_arg(const struct analyze_run *r, const char *name);
/* The text of argument `name` of r, or NULL when not given. */
const char *analyze_arg_text(const struct analyze_run *r, const char *name);

/* Options of one `analyze` run (the command line). */
struct analyze_opts {
	enum stats_format format;
	enum stats_timeunit timeunit;
	int quiet; /* no "Processing [...]" / SKIPPED lines */
};

/*
 * Run rule ru with args on db (report `label`) and print what it found to out, as nsys
 * analyze does: "Processing [<label>] with [rules/<name>.py]... " (ours: "[rules/<name>]"),
 * then either "SKIPPED: <why>", or " ** <display> (<name>):", the advice (wrapped as analyze_wrap()
 * says columns) and the rows, or the no-result message.  csv, tsv and json print the rows only (an
 * empty table when none).  TEMP objects the rule made are dropped afterwards. Returns the number of
 * rows found (>= 0; 0 also when skipped), or -1 after printing an error (SQL error, write error).
 */
int64_t analyze_run_rule(sqlite3 *db, const char *label, const struct analyze_rule *ru,
			 const struct stats_args *args, const struct analyze_opts *o, FILE *out);

/* Append text wrapped as nsys 2025.3 prints rule messages: each '\n'-separated line is
 * filled with words to at most `width` characters not counting its leading blanks, which
 * are kept (nsys: 79); continuation lines start at column 0; a word longer than width
 * stays whole on a line of its own. */
void analyze_wrap(struct strbuf *out, const char *text, size_t width);

/* ---- helpers for the rules ---- */

/* Skip the rule: r->skip gets msg with "%s" replaced by r->label.  Returns 1 (what
 * prepare() returns for a skipped rule). */
int analyze_skip(struct analyze_run *r, const char *msg);
/* Non-zero when db lacks table t: then analyze_skip(r, msg). */
int analyze_need(struct analyze_run *r, const char *t, const char *msg);
/* Append n with thousands separators ("30,000"). */
void analyze_add_count(struct strbuf *sb, int64_t n);
/* Append a duration for a sentence: "850 ns", "4.6 us", "160.3 ms", "2.50 s". */
void analyze_add_duration(struct strbuf *sb, double ns);
/* Append to sb the "LIMIT n" of r's row limit (nothing for -1). */
void analyze_add_limit(const struct analyze_run *r, struct strbuf *sb);

/* For a rule's advice: prepare `sql`, a query over the rule's rows
 * (temp.gp_analyze_rows).  The statement (the caller steps it, then analyze_rows_end),
 * or NULL after an error line naming the rule. */
sqlite3_stmt *analyze_rows_stmt(struct analyze_run *r, const char *sql);
/* Finalize st after its steps; rc is the last sqlite3_step() result.  0 when that was
 * SQLITE_DONE, else -1 after an error line naming the rule. */
int analyze_rows_end(struct analyze_run *r, sqlite3_stmt *st, int rc);

/* The rules (defined in analyze_nsys.c, analyze_launch.c, analyze_sync.c, analyze_copy.c,
 * analyze_idle.c, analyze_mem.c). */
extern const struct analyze_rule analyze_rule_cuda_memcpy_async;
extern const struct analyze_rule analyze_rule_cuda_memcpy_sync;
extern const struct analyze_rule analyze_rule_cuda_memset_sync;
extern const struct analyze_rule analyze_rule_cuda_api_sync;
extern const struct analyze_rule analyze_rule_gpu_gaps;
extern const struct analyze_rule analyze_rule_gpu_time_util;
extern const struct analyze_rule analyze_rule_dx12_mem_ops;
extern const struct analyze_rule analyze_rule_launch_bound;
extern const struct analyze_rule analyze_rule_sync_in_loop;
extern const struct analyze_rule analyze_rule_copy_storm;
extern const struct analyze_rule analyze_rule_nvtx_gpu_idle;
extern const struct analyze_rule analyze_rule_gpu_mem_leak;
extern const struct analyze_rule analyze_rule_gpu_mem_peak;

#endif
