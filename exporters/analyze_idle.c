/*
 * analyze_idle.c - rule nvtx_gpu_idle (gprof-cli's own): a repeated NVTX range during
 * which the process's GPUs are mostly idle (data loading, preprocessing, logging,
 * checkpointing on the CPU while the GPU waits).  The fix is to overlap that work with
 * GPU work, or to move it to the GPU.
 *
 * Input (nsys schema): NVTX_EVENTS (push/pop and start/end ranges,
 * exporters/stats/cuda_common.h cuda_nvtx_build) and the GPU operations of
 * CUPTI_ACTIVITY_KIND_KERNEL, _MEMCPY and _MEMSET.  The projection of a range onto the
 * GPU is the time within [range start, range end] that at least one GPU operation of the
 * range's process runs (any device, any stream: the union, so overlapping operations
 * count once), computed by one sweep: the operations of a process merged into disjoint
 * intervals with running sums, then two binary searches per range.  Per (process, range
 * name): Instances, Range Time (summed), GPU Busy Time (summed projection), GPU Busy
 * (their ratio), Span Share (Range Time over the process's GPU span, first operation
 * start to last operation end).  Fires when Instances >= instances= (default 5), GPU Busy
 * < busy= % (default 10) and Span Share >= time= % (default 5).  Rows sorted by the idle
 * time (Range Time - GPU Busy Time).
 */
#include <inttypes.h>
#include <stdlib.h>

#include "exporters/analyze.h"
#include "exporters/stats/cuda_common.h"

static const struct analyze_arg args[] = {
    {"instances", 5, 1, INT64_MAX},
    {"busy", 10, 0, 100},
    {"time", 5, 0, 100},
    {NULL, 0, 0, 0},
};

/* The GPU operations of one process merged into disjoint sorted intervals; cum[i] is
 * the busy time of intervals 0..i-1. */
struct busy {
	int64_t *s, *e, *cum;
	size_t n, alloc;
};

static void busy_add(struct busy *b, int64_t s, int64_t e)
{
	if (e <= s)
		return;
	if (b->n && s <= b->e[b->n - 1]) { /* sorted by start: overlaps the last one */
		if (e > b->e[b->n - 1])
			b->e[b->n - 1] = e;
		return;
	}
	if (b->n == b->alloc) {
		b->alloc = b->alloc ? 2 * b->alloc : 1024;
		b->s = xrealloc(b->s, b->alloc * sizeof(*b->s));
		b->e = xrealloc(b->e, b->alloc * sizeof(*b->e));
	}
	b->s[b->n] = s;
	b->e[b->n] = e;
	b->n++;
}

static void busy_sum(struct busy *b)
{
	b->cum = xrealloc(b->cum, (b->n + 1) * sizeof(*b->cum));
	b->cum[0] = 0;
	for (size_t i = 0; i < b->n; i++)
		b->cum[i + 1] = stats_sat_add(b->cum[i], b->e[i] - b->s[i]);
}

/* Busy time before t. */
static int64_t busy_before(const struct busy *b, int64_t t)
{
	size_t lo = 0, hi = b->n; /* first interval with s >= t */

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (b->s[mid] < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return 0;
	/* interval lo-1 starts before t: count it up to t */
	return b->cum[lo - 1] + ((b->e[lo - 1] < t ? b->e[lo - 1] : t) - b->s[lo - 1]);
}

/* Fill temp.gp_idle(rangeId, busy) for every range of GP_NVTX_RANGES. */
static int project(sqlite3 *db)
{
	struct strbuf sb = STRBUF_INIT;
	sqlite3_stmt *ops = NULL, *rng = NULL, *ins = NULL;
	struct busy b = {0};
	int64_t cur = 0;
	int have = 0, rc = -1, step;

	strbuf_addstr(&sb, "SELECT globalPid, start, end FROM (");
	cuda_gpuops_sql(db, &sb);
	strbuf_addstr(&sb, ") WHERE start > 0 ORDER BY globalPid, start");
	if (stats_exec(db, "CREATE TEMP TABLE gp_idle (rangeId INTEGER PRIMARY KEY, busy INTEGER)",
		       "cannot project the NVTX ranges") ||
	    sqlite3_prepare_v2(db, sb.buf, -1, &ops, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "SELECT rangeId, globalTid & " CUDA_GPID_MASK ", startNS, endNS "
			       "FROM temp.GP_NVTX_RANGES ORDER BY 2",
			       -1, &rng, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO temp.gp_idle VALUES (?1, ?2)", -1, &ins, NULL) !=
		SQLITE_OK) {
		error("cannot project the NVTX ranges onto the GPU: %s", sqlite3_errmsg(db));
		goto out;
	}
	step = sqlite3_step(ops);
	while ((rc = sqlite3_step(rng)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(rng, 0), gpid = sqlite3_column_int64(rng, 1),
			s = sqlite3_column_int64(rng, 2), e = sqlite3_column_int64(rng, 3),
			busy = 0;

		if (!have || gpid != cur) { /* load this process's operations */
			b.n = 0;
			while (step == SQLITE_ROW && sqlite3_column_int64(ops, 0) < gpid)
				step = sqlite3_step(ops);
			while (step == SQLITE_ROW && sqlite3_column_int64(ops, 0) == gpid) {
				busy_add(&b, sqlite3_column_int64(ops, 1),
					 sqlite3_column_int64(ops, 2));
				step = sqlite3_step(ops);
			}
			busy_sum(&b);
			cur = gpid;
			have = 1;
		}
		if (e > s && b.n)
			busy = busy_before(&b, e) - busy_before(&b, s);
		sqlite3_bind_int64(ins, 1, id);
		sqlite3_bind_int64(ins, 2, busy);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			error("cannot store the NVTX projection: %s", sqlite3_errmsg(db));
			goto out;
		}
		sqlite3_reset(ins);
	}
	if (rc != SQLITE_DONE || (step != SQLITE_ROW && step != SQLITE_DONE)) {
		error("cannot project the NVTX ranges onto the GPU: %s", sqlite3_errmsg(db));
		rc = -1;
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(ops);
	sqlite3_finalize(rng);
	sqlite3_finalize(ins);
	free(b.s);
	free(b.e);
	free(b.cum);
	strbuf_release(&sb);
	return rc;
}

static int prepare(struct analyze_run *r)
{
	struct strbuf sb = STRBUF_INIT;
	int n;

	if (analyze_need(r, "StringIds", "%s file does not contain StringIds table.") ||
	    analyze_need(r, "NVTX_EVENTS",
			 "%s could not be analyzed because it does not contain NVTX data. Does "
			 "the application mark its phases with NVTX ranges (profile -t nvtx)?"))
		return 1;
	n = cuda_gpuops_sql(r->db, &sb);
	strbuf_release(&sb);
	if (!n)
		return analyze_skip(r, "%s could not be analyzed because it does not contain the "
				       "required data. Does the application launch GPU "
				       "operations?");
	if (cuda_nvtx_build(r->db) || project(r->db))
		return -1;
	strbuf_addstr(&r->sql, "WITH span AS (SELECT globalPid AS gpid, max(end) - min(start) AS "
			       "span FROM (");
	cuda_gpuops_sql(r->db, &r->sql);
	strbuf_addstr(
	    &r->sql,
	    ") WHERE start > 0 GROUP BY globalPid),\n"
	    "g AS (SELECT g.globalTid & " CUDA_GPID_MASK " AS gpid, g.name AS name, count(*) AS n, "
	    "total(g.endNS - g.startNS) AS rt, total(i.busy) AS bt FROM temp.GP_NVTX_RANGES AS g "
	    "JOIN temp.gp_idle AS i ON i.rangeId = g.rangeId GROUP BY 1, 2)\n"
	    "SELECT CAST(g.rt - g.bt AS INTEGER) AS \"Idle Time:dur_ns\",\n"
	    "  CASE WHEN substr(g.name, 1, 1) = ':' THEN substr(g.name, 2) "
	    "ELSE substr(g.name, instr(g.name, ':') + 1) || '@' || "
	    "substr(g.name, 1, instr(g.name, ':') - 1) END AS \"Range\",\n"
	    "  (g.gpid >> 24) & 0xFFFFFF AS \"PID\", g.n AS \"Instances\",\n"
	    "  CAST(g.rt AS INTEGER) AS \"Range Time:dur_ns\",\n"
	    "  CAST(g.bt AS INTEGER) AS \"GPU Busy Time:dur_ns\",\n"
	    "  round(100.0 * g.bt / g.rt, 1) AS \"GPU Busy:ratio_%\",\n"
	    "  round(100.0 * g.rt / s.span, 1) AS \"Span Share:ratio_%\"\n"
	    "FROM g JOIN span AS s ON s.gpid = g.gpid\n");
	strbuf_addf(&r->sql,
		    "WHERE g.rt > 0 AND s.span > 0 AND g.n >= %" PRId64
		    " AND 100.0 * g.bt < %" PRId64 " * g.rt AND 100.0 * g.rt >= %" PRId64
		    " * s.span\nORDER BY 1 DESC, 2, 3",
		    analyze_arg(r, "instances"), analyze_arg(r, "busy"), analyze_arg(r, "time"));
	analyze_add_limit(r, &r->sql);
	strbuf_addf(&r->noresult,
		    "No GPU-idle NVTX range found: no range with %" PRId64
		    " or more instances kept the GPU busy less than %" PRId64
		    "%% of its time while taking %" PRId64 "%% or more of the GPU's active span.",
		    analyze_arg(r, "instances"), analyze_arg(r, "busy"), analyze_arg(r, "time"));
	return 0;
}

/* The advice: the first rows (at most 3) in plain words, then the fix. */
static int explain(struct analyze_run *r)
{
	sqlite3_stmt *st;
	int rc;

	if (!(st = analyze_rows_stmt(
		  r, "SELECT \"Range\", \"PID\", \"Instances\", \"Range Time:dur_ns\", "
		     "\"GPU Busy:ratio_%\", \"Span Share:ratio_%\", \"Idle Time:dur_ns\" "
		     "FROM temp.gp_analyze_rows ORDER BY rowid LIMIT 3")))
		return -1;
	strbuf_reset(&r->advice);
	strbuf_addstr(&r->advice, "The GPU waits while these NVTX ranges run:\n");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		strbuf_addf(&r->advice, "   - '%s' (process %lld, ",
			    (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1));
		analyze_add_count(&r->advice, sqlite3_column_int64(st, 2));
		strbuf_addstr(&r->advice, " instances): ");
		analyze_add_duration(&r->advice, sqlite3_column_double(st, 3));
		strbuf_addf(&r->advice,
			    " in all, %.1f%% of the GPU's active span; the GPU was busy %.1f%% of "
			    "it, idle ",
			    sqlite3_column_double(st, 5), sqlite3_column_double(st, 4));
		analyze_add_duration(&r->advice, sqlite3_column_double(st, 6));
		strbuf_addstr(&r->advice, ".\n");
	}
	if (analyze_rows_end(r, st, rc))
		return -1;
	strbuf_addstr(&r->advice,
		      "\nSuggestion: overlap this work with the GPU's: prepare the next batch "
		      "while the GPU runs the current one (a loader thread or process, "
		      "PyTorch DataLoader workers with pin_memory=True and "
		      "non_blocking=True copies), save and log asynchronously, or move the work "
		      "itself to the GPU.");
	return 0;
}

const struct analyze_rule analyze_rule_nvtx_gpu_idle = {
    .name = "nvtx_gpu_idle",
    .display = "NVTX Ranges with an Idle GPU",
    .args = args,
    .help = "nvtx_gpu_idle[:<arg>...] -- NVTX Ranges with an Idle GPU (gprof-cli)\n"
	    "\n"
	    "    Arguments (rule:arg=value:...): rows=, start=, end=, nvtx= as for nsys's rules,\n"
	    "    and:\n"
	    "        instances=<n>  ranges with at least n instances (default 5)\n"
	    "        busy=<percent> the GPU busy less than this share of them (default 10)\n"
	    "        time=<percent> taking at least this share of the GPU's active span\n"
	    "                       (default 5)\n"
	    "\n"
	    "    Output: times in nanoseconds unless --timeunit says otherwise\n"
	    "        Idle Time : Range Time - GPU Busy Time\n"
	    "        Range : the NVTX range (message, @domain when not the default one)\n"
	    "        PID, Instances : process, instances of the range\n"
	    "        Range Time : summed duration of the instances\n"
	    "        GPU Busy Time : summed time some GPU operation of the process ran\n"
	    "            during an instance (overlapping operations count once)\n"
	    "        GPU Busy : GPU Busy Time / Range Time\n"
	    "        Span Share : Range Time / the process's GPU span (first GPU operation\n"
	    "            to the end of the last)\n"
	    "\n"
	    "    Finds repeated NVTX ranges during which the process's GPUs are mostly idle:\n"
	    "    CPU work the GPU waits for.  Fix: overlap it with GPU work, or move it to\n"
	    "    the GPU.\n",
    .prepare = prepare,
    .explain = explain,
};
