/*
 * diff.c - per-name statistics of reports and their comparison (exporters/diff.h,
 * `gprof-cli diff`).
 *
 * Each report is summarised on its own connection (one GROUP BY per kind, with the
 * median() and percentile() aggregates of stats_funcs.c) and the rows go to an
 * in-memory database:
 *   runs(side, run)                              one row per report loaded
 *   per_run(side, run, kind, name, n, total, med, p95)
 * diff_compute() then fills in the runs that lack a name, takes the median over each
 * side's runs and joins the two sides into `result`.
 */
#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "exporters/diff.h"
#include "exporters/stats.h"
#include "exporters/stats/cuda_common.h"
#include "exporters/stats/nvtx_common.h"

static const char *const kind_names[DIFF_NKINDS] = {"kernel", "api", "memcpy", "nvtx", "osrt"};
static const char *const kind_plurals[DIFF_NKINDS] = {"kernels", "apis", "memcpys", "nvtx",
						      "osrts"};

const char *diff_kind_name(enum diff_kind k)
{
	return (unsigned)k < DIFF_NKINDS ? kind_names[k] : "?";
}

int diff_parse_kind(const char *s, enum diff_kind *out)
{
	for (int k = 0; k < DIFF_NKINDS; k++) {
		if (!strcmp(s, kind_names[k]) || !strcmp(s, kind_plurals[k])) {
			*out = (enum diff_kind)k;
			return 0;
		}
	}
	return -1;
}

int diff_parse_metric(const char *s, enum diff_metric *out)
{
	if (!strcmp(s, "total"))
		*out = DIFF_METRIC_TOTAL;
	else if (!strcmp(s, "median") || !strcmp(s, "med"))
		*out = DIFF_METRIC_MEDIAN;
	else if (!strcmp(s, "p95"))
		*out = DIFF_METRIC_P95;
	else
		return -1;
	return 0;
}

const char *diff_metric_name(enum diff_metric m)
{
	return m == DIFF_METRIC_MEDIAN ? "median" : m == DIFF_METRIC_P95 ? "p95" : "total";
}

static int mem_exec(struct diff *d, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(d->mem, sql, NULL, NULL, &msg) != SQLITE_OK) {
		error("diff: cannot compute the comparison: %s", msg ? msg : "unknown error");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int diff_init(struct diff *d)
{
	memset(d, 0, sizeof(*d));
	if (sqlite3_open(":memory:", &d->mem) != SQLITE_OK) {
		error("diff: cannot open an in-memory database: %s",
		      d->mem ? sqlite3_errmsg(d->mem) : "out of memory");
		return -1;
	}
	if (stats_register_functions(d->mem))
		return -1;
	return mem_exec(d, "CREATE TABLE runs (side INTEGER, run INTEGER);"
			   "CREATE TABLE per_run (side INTEGER, run INTEGER, kind INTEGER, "
			   "name TEXT, n INTEGER, total INTEGER, med REAL, p95 REAL);"
			   "CREATE INDEX per_run_key ON per_run (kind, name, side, run);");
}

void diff_release(struct diff *d)
{
	if (d->mem)
		sqlite3_close(d->mem);
	d->mem = NULL;
}

/*
 * Append to sql the "SELECT name, dur" of kind k on report db (columns name TEXT, dur
 * INTEGER ns).  Returns 1 when the report has the kind's tables, 0 when not (nothing
 * appended), -1 after an error.
 */
static int kind_source(sqlite3 *db, enum diff_kind k, struct strbuf *sql)
{
	static const struct stats_args noargs;

	if (!stats_table_exists(db, "StringIds"))
		return 0;
	switch (k) {
	case DIFF_KERNEL:
		if (!stats_table_exists(db, "CUPTI_ACTIVITY_KIND_KERNEL"))
			return 0;
		if (cuda_kernel_view(db, &noargs))
			return -1;
		strbuf_addstr(sql, "SELECT name, end - start AS dur "
				   "FROM temp.CUPTI_ACTIVITY_KIND_KERNEL_NAMED");
		return 1;
	case DIFF_API:
		if (!stats_table_exists(db, "CUPTI_ACTIVITY_KIND_RUNTIME"))
			return 0;
		strbuf_addstr(sql, "SELECT ");
		cuda_api_name_sql(sql, "s.value");
		strbuf_addstr(sql, " AS name, r.end - r.start AS dur "
				   "FROM CUPTI_ACTIVITY_KIND_RUNTIME AS r "
				   "LEFT JOIN StringIds AS s ON s.id = r.nameId");
		return 1;
	case DIFF_MEMCPY:
		return cuda_memops_sql(db, sql, "end - start AS dur") > 0;
	case DIFF_NVTX:
		if (!stats_table_exists(db, "NVTX_EVENTS"))
			return 0;
		strbuf_addstr(sql, "WITH " NVTX_RANGES_CTE " SELECT name, dur FROM nvtx_rng");
		return 1;
	case DIFF_OSRT:
		if (!stats_table_exists(db, "OSRT_API"))
			return 0;
		strbuf_addstr(sql, "SELECT coalesce(s.value, '[unknown ' || o.nameId || ']') AS "
				   "name, o.end - o.start AS dur FROM OSRT_API AS o "
				   "LEFT JOIN StringIds AS s ON s.id = o.nameId");
		return 1;
	default:
		return 0;
	}
}

/* Copy the per-name statistics of kind k of report db into per_run. */
static int add_kind(struct diff *d, int side, int run, sqlite3 *db, enum diff_kind k,
		    const char *label)
{
	struct strbuf sql = STRBUF_INIT;
	sqlite3_stmt *src = NULL, *ins = NULL;
	int rc, ret = 0;

	strbuf_addstr(&sql, "SELECT name, count(*), sum(dur), median(dur), percentile(dur, 95) "
			    "FROM (");
	rc = kind_source(db, k, &sql);
	if (rc <= 0) {
		strbuf_release(&sql);
		return rc;
	}
	d->has_kind[side][k]++;
	strbuf_addstr(&sql, ") GROUP BY name");
	if (sqlite3_prepare_v2(db, sql.buf, -1, &src, NULL) != SQLITE_OK) {
		ret = error("cannot read the %s data of '%s': %s", kind_names[k], label,
			    sqlite3_errmsg(db));
		goto out;
	}
	if (sqlite3_prepare_v2(d->mem, "INSERT INTO per_run VALUES (?, ?, ?, ?, ?, ?, ?, ?)", -1,
			       &ins, NULL) != SQLITE_OK) {
		ret = error("diff: cannot store statistics: %s", sqlite3_errmsg(d->mem));
		goto out;
	}
	while ((rc = sqlite3_step(src)) == SQLITE_ROW) {
		sqlite3_bind_int(ins, 1, side);
		sqlite3_bind_int(ins, 2, run);
		sqlite3_bind_int(ins, 3, (int)k);
		if (sqlite3_column_type(src, 0) == SQLITE_NULL)
			sqlite3_bind_text(ins, 4, "[unknown]", -1, SQLITE_STATIC);
		else
			sqlite3_bind_value(ins, 4, sqlite3_column_value(src, 0));
		for (int c = 1; c <= 4; c++)
			sqlite3_bind_value(ins, c + 4, sqlite3_column_value(src, c));
		if (sqlite3_step(ins) != SQLITE_DONE) {
			ret = error("diff: cannot store statistics: %s", sqlite3_errmsg(d->mem));
			goto out;
		}
		sqlite3_reset(ins);
	}
	if (rc != SQLITE_DONE)
		ret = error("cannot read the %s data of '%s': %s", kind_names[k], label,
			    sqlite3_errmsg(db));
out:
	sqlite3_finalize(src);
	sqlite3_finalize(ins);
	strbuf_release(&sql);
	return ret;
}

int diff_add_report(struct diff *d, int side, sqlite3 *report, const char *label)
{
	int run = d->nruns[side];
	char sql[96];

	if (mem_exec(d, "BEGIN"))
		return -1;
	for (int k = 0; k < DIFF_NKINDS; k++) {
		if (add_kind(d, side, run, report, (enum diff_kind)k, label) < 0) {
			mem_exec(d, "ROLLBACK");
			return -1;
		}
	}
	snprintf(sql, sizeof(sql), "INSERT INTO runs VALUES (%d, %d); COMMIT", side, run);
	if (mem_exec(d, sql))
		return -1;
	d->nruns[side]++;
	return 0;
}

/* An integral REAL (a median of counts or totals over runs) as INTEGER, so that it
 * prints without decimals. */
#define INTEGRAL(x)                                                                                \
	"CASE WHEN " x " = CAST(" x " AS INTEGER) THEN CAST(" x " AS INTEGER) ELSE " x " END"

int diff_compute(struct diff *d, enum diff_metric m)
{
	static const char *const metric_col[] = {"total", "med", "p95"};
	struct strbuf sql = STRBUF_INIT;
	int ret;

	strbuf_addf(&sql,
		    "DROP TABLE IF EXISTS filled; DROP TABLE IF EXISTS sides;"
		    "DROP TABLE IF EXISTS result;"
		    /* every (kind, name) in every run; a run without the name: n = total = 0 */
		    "CREATE TABLE filled AS SELECT i.kind AS kind, i.name AS name, r.side AS side,"
		    " r.run AS run, coalesce(p.n, 0) AS n, coalesce(p.total, 0) AS total,"
		    " p.med AS med, p.p95 AS p95, p.n IS NOT NULL AS present "
		    "FROM (SELECT DISTINCT kind, name FROM per_run) AS i CROSS JOIN runs AS r "
		    "LEFT JOIN per_run AS p ON p.kind = i.kind AND p.name = i.name"
		    " AND p.side = r.side AND p.run = r.run;"
		    "CREATE TABLE sides AS SELECT kind, name, side, median(n) AS n,"
		    " median(total) AS total, median(med) AS med, median(p95) AS p95,"
		    " median(%s) AS m, min(%s) AS lo, max(%s) AS hi, count(%s) AS nm,"
		    " max(present) AS present "
		    "FROM filled GROUP BY kind, name, side;",
		    metric_col[m], metric_col[m], metric_col[m], metric_col[m]);
	strbuf_addstr(
	    &sql,
	    "CREATE TABLE result AS SELECT b.kind AS kind, b.name AS name,"
	    " " INTEGRAL("b.n") " AS n0, " INTEGRAL(
		"a.n") " AS n1,"
		       " " INTEGRAL("b.total") " AS t0, " INTEGRAL(
			   "a.total") " AS t1,"
				      " b.med AS med0, a.med AS med1, b.p95 AS p0, a.p95 AS p1,"
				      " " INTEGRAL("b.m") " AS before, " INTEGRAL(
					  "a.m") " AS after,"
						 " CASE WHEN b.present = 0 OR a.present = 0 THEN "
						 "NULL"
						 "  ELSE a.m / nullif(b.m, 0) END AS ratio,"
						 " CASE WHEN b.nm < 2 OR a.nm < 2 THEN NULL"
						 "  WHEN b.hi < a.lo OR a.hi < b.lo THEN 'outside' "
						 "ELSE 'within' END AS noise,"
						 " b.present AS present0, a.present AS present1 "
						 "FROM sides AS b JOIN sides AS a ON a.kind = "
						 "b.kind AND a.name = b.name"
						 " AND b.side = 0 AND a.side = 1;"
						 "ALTER TABLE result ADD COLUMN delta;"
						 "UPDATE result SET delta = ");
	strbuf_addstr(&sql, INTEGRAL("(coalesce(after, 0) - coalesce(before, 0))") ";");
	ret = mem_exec(d, sql.buf);
	strbuf_release(&sql);
	return ret;
}

int diff_prepare_rows(struct diff *d, unsigned mask, sqlite3_stmt **st)
{
	char *sql = xasprintf(
	    "SELECT delta AS \"Delta:dur_ns\", ratio AS \"Ratio:factor\","
	    " t0 AS \"Total Before:dur_ns\", t1 AS \"Total After:dur_ns\","
	    " n0 AS \"Count Before\", n1 AS \"Count After\","
	    " round(med0, 1) AS \"Med Before:dur_ns\", round(med1, 1) AS \"Med After:dur_ns\","
	    " round(p0, 1) AS \"P95 Before:dur_ns\", round(p1, 1) AS \"P95 After:dur_ns\","
	    " noise AS \"Noise\","
	    " CASE WHEN NOT present0 THEN 'new' WHEN NOT present1 THEN 'vanished'"
	    "  WHEN delta > 0 THEN 'slower' WHEN delta < 0 THEN 'faster' ELSE 'same' END"
	    " AS \"Status\","
	    " CASE kind WHEN 0 THEN 'kernel' WHEN 1 THEN 'api' WHEN 2 THEN 'memcpy'"
	    "  WHEN 3 THEN 'nvtx' ELSE 'osrt' END AS \"Kind\", name AS \"Name\","
	    " kind AS \"_kind\", before AS \"_before\", after AS \"_after\" "
	    "FROM result WHERE (%u >> kind) & 1 ORDER BY abs(delta) DESC, kind, name",
	    mask);
	int rc = sqlite3_prepare_v2(d->mem, sql, -1, st, NULL);

	free(sql);
	if (rc != SQLITE_OK)
		return error("diff: cannot read the comparison: %s", sqlite3_errmsg(d->mem));
	return 0;
}

int diff_parse_rule(const char *spec, struct diff_rule *r)
{
	const char *p = spec, *colon;
	char *end;

	memset(r, 0, sizeof(*r));
	r->kind = -1;
	r->spec = spec;
	colon = strchr(p, ':');
	if (colon && strncmp(p, "ratio:", 6)) {
		char kind[16];
		enum diff_kind k;
		size_t len = (size_t)(colon - p);

		if (len >= sizeof(kind) ||
		    (memcpy(kind, p, len), kind[len] = '\0', diff_parse_kind(kind, &k))) {
			error("bad --fail-on '%s': unknown kind '%.*s'", spec, (int)len, p);
			hint("kinds are kernel, api, memcpy, nvtx and osrt, e.g. "
			     "--fail-on=kernel:ratio:1.05");
			return -1;
		}
		r->kind = (int)k;
		p = colon + 1;
	}
	if (strncmp(p, "ratio:", 6)) {
		error("bad --fail-on '%s': expected 'ratio:R'", spec);
		hint("write --fail-on=[KIND:]ratio:R[:NAME], e.g. --fail-on=kernel:ratio:1.05");
		return -1;
	}
	p += 6;
	r->ratio = strtod(p, &end);
	if (end == p || (*end && *end != ':') || !(r->ratio > 0) || !isfinite(r->ratio)) {
		error("bad --fail-on '%s': the ratio must be a number above 0", spec);
		hint("write --fail-on=[KIND:]ratio:R[:NAME], e.g. --fail-on=ratio:1.05 "
		     "(5 %% slower)");
		return -1;
	}
	if (*end == ':') {
		if (!end[1]) {
			error("bad --fail-on '%s': empty name after the ratio", spec);
			hint("leave out the last ':' to apply the threshold to every name");
			return -1;
		}
		r->name = end + 1;
	}
	return 0;
}

const struct diff_rule *diff_rule_for(const struct diff_rule *rules, size_t n, int kind,
				      const char *name)
{
	const struct diff_rule *best = NULL;
	int best_score = -1;

	for (size_t i = 0; i < n; i++) {
		const struct diff_rule *r = &rules[i];
		int score;

		if (r->kind >= 0 && r->kind != kind)
			continue;
		if (r->name && strcmp(r->name, name) && fnmatch(r->name, name, 0))
			continue;
		score = (r->name ? 2 : 0) + (r->kind >= 0);
		if (score >= best_score) {
			best = r;
			best_score = score;
		}
	}
	return best;
}
