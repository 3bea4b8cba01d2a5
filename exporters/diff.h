/*
 * diff.h - compare two reports, or two groups of reports, per name (`gprof-cli diff`,
 * man gprof-cli-diff).  gprof-cli's own table: nsys has no diff command.
 *
 * What is compared: five kinds of timed items, each grouped by name as the nsys stats
 * report of that kind names them:
 *   kernel  CUDA kernels, demangled name (cuda_gpu_kern_sum)
 *   api     CUDA runtime/driver calls, name without _vNNNN (cuda_api_sum)
 *   memcpy  GPU memory copies by kind, and memsets: "[CUDA memcpy Host-to-Device]",
 *           "[CUDA memset]" (cuda_gpu_mem_time_sum)
 *   nvtx    NVTX push/pop and start/end ranges, "<domain>:<message>" (nvtx_sum)
 *   osrt    OS runtime calls, the libc function (osrt_sum)
 * Per run (one report) and name: count, total, median and p95 (linear interpolation,
 * exporters/stats_funcs.c) of the durations in ns.  Per side (BASE, NEW) the value of
 * each statistic is the median over the side's runs: count and total count a run
 * without the name as 0, median and p95 leave it out.
 *
 * Noise (several runs per side): min/max overlap of the per-run values of the chosen
 * metric.  "outside" when every run of one side lies strictly above every run of the
 * other, "within" when the ranges overlap or touch, NULL when a side has fewer than two
 * runs with a value.
 *
 * Everything is computed in an in-memory SQLite database (with stats_register_functions())
 * so that the result prints through stats_format_stmt() in nsys's formats.
 */
#ifndef GPROF_DIFF_H
#define GPROF_DIFF_H

#include <sqlite3.h>

enum diff_kind {
	DIFF_KERNEL = 0,
	DIFF_API,
	DIFF_MEMCPY,
	DIFF_NVTX,
	DIFF_OSRT,
	DIFF_NKINDS,
};

/* Bit mask of every kind (DIFF_KIND_ALL) and of one kind (DIFF_KIND_BIT(k)). */
#define DIFF_KIND_BIT(k) (1u << (k))
#define DIFF_KIND_ALL	 ((1u << DIFF_NKINDS) - 1)

/* The statistic that Delta, Ratio, Noise, the order and --fail-on use. */
enum diff_metric {
	DIFF_METRIC_TOTAL = 0,
	DIFF_METRIC_MEDIAN,
	DIFF_METRIC_P95,
};

/* "kernel", "api", "memcpy", "nvtx", "osrt". */
const char *diff_kind_name(enum diff_kind k);
/* Parse a kind name (also the plurals "kernels", "apis", "memcpys"); 0, or -1 unknown. */
int diff_parse_kind(const char *s, enum diff_kind *out);
/* "total", "median" (also "med"), "p95" -> *out; 0, or -1 unknown. */
int diff_parse_metric(const char *s, enum diff_metric *out);
/* "total", "median", "p95". */
const char *diff_metric_name(enum diff_metric m);

/* One comparison in progress: the in-memory database and what was loaded into it. */
struct diff {
	sqlite3 *mem;		      /* owned; closed by diff_release() */
	int nruns[2];		      /* reports loaded per side (0 = BASE, 1 = NEW) */
	int has_kind[2][DIFF_NKINDS]; /* reports per side that hold the kind's table(s) */
};

/* Open the in-memory database.  0, or -1 after printing an error. */
int diff_init(struct diff *d);
/* Close the database; d may be zeroed or half-initialised. */
void diff_release(struct diff *d);

/*
 * Read every kind's per-name statistics of one report (report: a connection from
 * report_open_read(), which registered median()/percentile()) as the next run of side
 * (0 = BASE, 1 = NEW).  A kind whose tables the report lacks adds no rows.  label names
 * the report in errors.  Returns 0, or -1 after printing an error (the caller checks
 * report_db_damaged(report) for the exit status).
 */
int diff_add_report(struct diff *d, int side, sqlite3 *report, const char *label);

/*
 * Compare the two sides on metric m: (re)build the result table.  0, or -1 after
 * printing an error.  Call after every diff_add_report().
 */
int diff_compute(struct diff *d, enum diff_metric m);

/*
 * The result rows of the kinds in mask (DIFF_KIND_BIT bits), sorted by |Delta| (largest
 * first), then kind and name, as a prepared statement whose columns carry the
 * "Title:unit" aliases of stats_format_stmt(): Delta:dur_ns, Ratio:factor,
 * Total Before:dur_ns, Total After:dur_ns, Count Before, Count After, Med Before:dur_ns,
 * Med After:dur_ns, P95 Before:dur_ns, P95 After:dur_ns, Noise, Status, Kind, Name; and
 * hidden _kind (enum diff_kind), _before and _after (the metric's value per side).
 * Status is "new", "vanished", "slower", "faster" or "same" (by Delta).  Ratio is NULL
 * for new and vanished names.  *st is finalized by the caller.  0, or -1 after an error.
 */
int diff_prepare_rows(struct diff *d, unsigned mask, sqlite3_stmt **st);

/* --fail-on rule "[KIND:]ratio:R[:NAME]": fail when the metric's ratio NEW/BASE of a
 * matching name is above R. */
struct diff_rule {
	int kind;	  /* enum diff_kind, or -1 for every kind */
	double ratio;	  /* > 0 */
	const char *name; /* NULL: every name; else an exact name or an fnmatch(3) glob;
			     points into the spec string given to diff_parse_rule() */
	const char *spec; /* the spec as given (for the messages) */
};

/* Parse spec (kept: r points into it) into r.  0, or -1 after printing an error and a
 * hint (a usage error). */
int diff_parse_rule(const char *spec, struct diff_rule *r);

/*
 * The rule that applies to (kind, name): the most specific of rules[0..n) that match
 * (kind and name > name > kind > neither; the later one wins a tie), or NULL when none
 * matches.
 */
const struct diff_rule *diff_rule_for(const struct diff_rule *rules, size_t n, int kind,
				      const char *name);

#endif
