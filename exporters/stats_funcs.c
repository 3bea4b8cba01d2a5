/*
 * stats_funcs.c - the SQL aggregate functions nsys's stats scripts call: median(),
 * stdev(), lower_quartile(), upper_quartile(); and percentile(), gprof-cli's own.
 *
 * Definitions (checked against nsys 2025.3 output on the launchbench fixture):
 *   - median(x): middle value of the sorted non-NULL values; for an even count the mean
 *     of the two middle values (517,379.5 on the fixture).  Always REAL.
 *   - stdev(x): sample standard deviation (divisor n - 1; 54,571.7 on the fixture, the
 *     population one would be 54,480.6); 0.0 for a single value.  Welford's update.
 *   - lower_quartile(x), upper_quartile(x): the 25th and 75th percentiles with linear
 *     interpolation between closest ranks (position p * (n - 1) in the sorted values,
 *     numpy's default "linear" method).
 *   - percentile(x, p): the p-th percentile (0 <= p <= 100) by the same rule (gprof-cli's
 *     own, used by `diff` for p95); p is read from the first row; NULL when p is NULL or
 *     out of range.
 * NULL inputs are ignored; with no input every function returns NULL.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "exporters/stats.h"

/* Values kept by median() and the quartiles (they need the whole sorted set). */
struct vals {
	double *v;
	size_t n, alloc;
	double p;  /* percentile(): the fraction asked for (0..1), NAN when invalid */
	int p_set; /* percentile(): p read (from the first row) */
};

static void vals_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct vals *a;

	if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
		return;
	a = sqlite3_aggregate_context(ctx, sizeof(*a));
	if (!a) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	if (a->n == a->alloc) {
		size_t na = a->alloc ? a->alloc * 2 : 64;
		double *nv = sqlite3_realloc64(a->v, na * sizeof(double));
		if (!nv) {
			sqlite3_result_error_nomem(ctx);
			return;
		}
		a->v = nv;
		a->alloc = na;
	}
	a->v[a->n++] = sqlite3_value_double(argv[0]);
}

/* percentile(x, p): keep x as vals_step does, and p (0..100) from the first row. */
static void percentile_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct vals *a = sqlite3_aggregate_context(ctx, sizeof(*a));

	if (!a) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	if (!a->p_set) {
		double p = sqlite3_value_double(argv[1]);

		a->p_set = 1;
		a->p = sqlite3_value_type(argv[1]) == SQLITE_NULL || !(p >= 0.0 && p <= 100.0)
			   ? NAN
			   : p / 100.0;
	}
	vals_step(ctx, 1, argv);
}

static int cmp_double(const void *pa, const void *pb)
{
	double a = *(const double *)pa, b = *(const double *)pb;
	return (a > b) - (a < b);
}

/* Percentile p (0..1) of the sorted values, linear interpolation. */
static double percentile(const double *v, size_t n, double p)
{
	double pos = p * (double)(n - 1);
	size_t lo = (size_t)floor(pos);
	double frac = pos - (double)lo;

	if (lo + 1 >= n)
		return v[n - 1];
	return v[lo] + (v[lo + 1] - v[lo]) * frac;
}

static void vals_final(sqlite3_context *ctx, int which)
{
	struct vals *a = sqlite3_aggregate_context(ctx, 0);

	if (!a || !a->n) {
		sqlite3_result_null(ctx);
		if (a)
			sqlite3_free(a->v);
		return;
	}
	qsort(a->v, a->n, sizeof(double), cmp_double);
	if (which == 3 && isnan(a->p)) {
		sqlite3_result_null(ctx);
	} else if (which == 3) {
		sqlite3_result_double(ctx, percentile(a->v, a->n, a->p));
	} else if (which == 0) {
		size_t m = a->n / 2;
		double med = (a->n & 1) ? a->v[m] : (a->v[m - 1] + a->v[m]) / 2.0;
		sqlite3_result_double(ctx, med);
	} else {
		sqlite3_result_double(ctx, percentile(a->v, a->n, which == 1 ? 0.25 : 0.75));
	}
	sqlite3_free(a->v);
	a->v = NULL;
}

static void median_final(sqlite3_context *ctx)
{
	vals_final(ctx, 0);
}

static void lq_final(sqlite3_context *ctx)
{
	vals_final(ctx, 1);
}

static void uq_final(sqlite3_context *ctx)
{
	vals_final(ctx, 2);
}

static void percentile_final(sqlite3_context *ctx)
{
	vals_final(ctx, 3);
}

/* Welford's running mean and sum of squared differences. */
struct welford {
	int64_t n;
	double mean, m2;
};

static void stdev_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct welford *w;
	double x, d;

	if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
		return;
	w = sqlite3_aggregate_context(ctx, sizeof(*w));
	if (!w) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	x = sqlite3_value_double(argv[0]);
	w->n++;
	d = x - w->mean;
	w->mean += d / (double)w->n;
	w->m2 += d * (x - w->mean);
}

static void stdev_final(sqlite3_context *ctx)
{
	struct welford *w = sqlite3_aggregate_context(ctx, 0);

	if (!w || !w->n)
		sqlite3_result_null(ctx);
	else if (w->n == 1)
		sqlite3_result_double(ctx, 0.0);
	else
		sqlite3_result_double(ctx, sqrt(w->m2 / (double)(w->n - 1)));
}

int stats_register_functions(sqlite3 *db)
{
	static const struct {
		const char *name;
		int nargs;
		void (*step)(sqlite3_context *, int, sqlite3_value **);
		void (*final)(sqlite3_context *);
	} fns[] = {
	    {"median", 1, vals_step, median_final},
	    {"lower_quartile", 1, vals_step, lq_final},
	    {"upper_quartile", 1, vals_step, uq_final},
	    {"stdev", 1, stdev_step, stdev_final},
	    {"percentile", 2, percentile_step, percentile_final},
	};

	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		int rc = sqlite3_create_function(db, fns[i].name, fns[i].nargs,
						 SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, NULL,
						 fns[i].step, fns[i].final);
		if (rc != SQLITE_OK)
			return error("cannot register SQL function '%s': %s", fns[i].name,
				     sqlite3_errmsg(db));
	}
	return 0;
}
