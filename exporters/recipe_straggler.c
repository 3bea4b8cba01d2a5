/*
 * recipe_straggler.c - `straggler` (gprof-cli's; nsys has nccl_straggler, which needs its
 * advanced NCCL tracing): per step, the slowest rank, by how much, and why.
 *
 * Steps: the instances of the NVTX range --name on each rank (instance k of every rank is
 * step k); without --name, the range of the first report with at least 2 instances and
 * the largest total time; without NVTX ranges, the detected iterations: from the end of
 * one call of the most frequent collective (MPI_COLLECTIVES_EVENTS, NCCL's NVTX ranges)
 * to the end of the next.
 *
 * In a synchronous step every rank takes as long as the slowest, the others wait in the
 * collective; so a rank is scored on its Own time = step duration - time inside
 * collectives (MPI_COLLECTIVES_EVENTS, NCCL ranges, and the NVTX range --collective, e.g.
 * the application's own range around a torch.distributed call on gloo).  The scores follow NVIDIA's
 * straggler detection (nvidia-resiliency-ext, straggler.Detector): relative = median Own of the
 * ranks / this rank's Own; historical = the rank's best (smallest) Own over the steps /
 * this step's Own; 1 is on pace, lower is slower; a score under --threshold (default
 * 0.7) flags the step.
 *
 * Reason: the slowest rank's step against the median rank's (the rank whose Own is the
 * median; the lower one for an even count), by what each spent where, clipped to the
 * step: GPU kernels (CUPTI_ACTIVITY_KIND_KERNEL: which kernel gained most), OS runtime
 * calls outside collectives (OSRT_API: a data loader's read/poll, a sleep), collectives
 * (which one took longer), CPU compute (Own minus kernels minus OS runtime: the NVTX
 * range inside the step that gained most, if any); the largest gain is the reason.  When
 * it is GPU kernels and the report has a GPU clock metric (GPU_METRICS, a "Clock" or
 * "cycles_elapsed.avg.per_second" name) lower by more than 5 % than the median rank's, the
 * reason is lower clocks.  "Others Waited" is how much longer the other ranks (median)
 * spent in collectives in that step than the slowest: their wait for it.
 *
 * Tables: steps (one row per step), rank_steps (every rank's every step: Duration,
 * Collective, Own, scores), rank_scores (per rank: steps, flagged, worst and mean
 * scores).  Picture: each rank's steps as bars coloured by Own against the median, the
 * flagged straggler of a step outlined in red.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "recipe.h"
#include "stats/nvtx_common.h"

struct strag {
	char *step_name; /* NVTX range; NULL: detected iterations */
	char *coll_name; /* the collective delimiting them */
};

/* Collectives of a report as TEMP table coll(start, end, name) with an index on start. */
static const char coll_sql[] = "CREATE TEMP TABLE coll (start INTEGER, end INTEGER, name TEXT);\n"
			       "CREATE INDEX temp.coll_start ON coll(start);\n";

static int exec_db(sqlite3 *db, const char *sql, const char *label)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		error("cannot read '%s': %s", label, msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int build_coll(sqlite3 *db, const char *label, const char *nvtx_coll)
{
	if (exec_db(db, "DROP TABLE IF EXISTS temp.coll", label) || exec_db(db, coll_sql, label))
		return -1;
	if (stats_table_exists(db, "MPI_COLLECTIVES_EVENTS") &&
	    exec_db(db,
		    "INSERT INTO coll SELECT e.start, e.end, s.value FROM MPI_COLLECTIVES_EVENTS "
		    "AS e LEFT JOIN StringIds AS s ON s.id = e.textId WHERE e.end >= e.start",
		    label))
		return -1;
	if (stats_table_exists(db, "NVTX_EVENTS") &&
	    exec_db(db,
		    "INSERT INTO coll WITH " NVTX_RANGES_CTE
		    " SELECT start, end, substr(name, 6) FROM nvtx_rng WHERE name LIKE 'NCCL:%'",
		    label))
		return -1;
	if (nvtx_coll && stats_table_exists(db, "NVTX_EVENTS")) {
		struct strbuf sql = STRBUF_INIT;
		int ret;

		strbuf_addstr(&sql, "INSERT INTO coll WITH " NVTX_RANGES_CTE
				    " SELECT start, end, name FROM nvtx_rng WHERE ");
		recipe_nvtx_name_sql(&sql, "name", nvtx_coll);
		ret = exec_db(db, sql.buf, label);
		strbuf_release(&sql);
		if (ret)
			return -1;
	}
	/* the union of the collectives' intervals, as disjoint pieces: a collective that an
	 * NVTX range (--collective) and the MPI tracer both see counts once */
	return exec_db(db,
		       "DROP TABLE IF EXISTS temp.coll_u; CREATE TEMP TABLE coll_u AS SELECT "
		       "max(start, coalesce(pm, start)) AS start, end FROM (SELECT start, end, "
		       "max(end) OVER (ORDER BY start, end ROWS BETWEEN UNBOUNDED PRECEDING AND 1 "
		       "PRECEDING) AS pm FROM coll) WHERE end > coalesce(pm, start); CREATE INDEX "
		       "temp.coll_u_start ON coll_u(start)",
		       label);
}

/* Pick the steps from the first report (main thread, before the readers). */
static int strag_setup(struct recipe_ctx *c)
{
	struct strag *g = xcalloc(1, sizeof(*g));
	sqlite3 *db = c->in[0].db;
	sqlite3_stmt *st;

	c->state = g;
	if (c->o->name) {
		g->step_name = xstrdup(c->o->name);
	} else if (stats_table_exists(db, "NVTX_EVENTS")) {
		st = recipe_prepare(db,
				    "WITH " NVTX_RANGES_CTE " SELECT name FROM nvtx_rng WHERE name "
				    "NOT LIKE 'NCCL:%' GROUP BY name HAVING count(*) >= 2 ORDER BY "
				    "sum(dur) DESC, name LIMIT 1",
				    c->in[0].label);
		if (!st)
			return -1;
		if (sqlite3_step(st) == SQLITE_ROW)
			g->step_name = xstrdup((const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
	}
	if (!g->step_name) {
		if (build_coll(db, c->in[0].label, c->o->collective))
			return -1;
		st = recipe_prepare(db,
				    "SELECT name FROM coll GROUP BY name HAVING count(*) >= 2 "
				    "ORDER BY count(*) DESC, name LIMIT 1",
				    c->in[0].label);
		if (!st)
			return -1;
		if (sqlite3_step(st) == SQLITE_ROW)
			g->coll_name = xstrdup((const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
		if (!g->coll_name) {
			error("no steps in '%s': no NVTX range repeats and no collective either",
			      c->in[0].label);
			hint("name the step's NVTX range with --name, or trace with -t nvtx,mpi");
			return -1;
		}
	}
	if (c->o->fmt.banners)
		fprintf(stderr, "gprof-cli: straggler steps: %s '%s'\n",
			g->step_name ? "NVTX range" : "iterations ending with collective",
			g->step_name ? g->step_name : g->coll_name);
	return recipe_exec_out(
	    c, "CREATE TABLE step_raw (\"Rank\" INTEGER, step INTEGER, start INTEGER, end INTEGER,"
	       " coll INTEGER);\n"
	       "CREATE TABLE detail (\"Rank\" INTEGER, step INTEGER, cat TEXT, name TEXT, t "
	       "INTEGER);\n"
	       "CREATE TABLE clock (\"Rank\" INTEGER, step INTEGER, mhz REAL)");
}

/* Rows of "step, category, name, time" for events of `from` (start, end, name columns)
 * attributed to the step they start in, clipped to its end; `where` filters. */
static void detail_sql(struct strbuf *sb, const char *cat, const char *from, const char *where)
{
	strbuf_addf(
	    sb,
	    "SELECT x.k, '%s', x.name, sum(min(x.end, st.e) - x.start) FROM (\n"
	    "  SELECT (SELECT k FROM steps WHERE s <= o.start ORDER BY s DESC LIMIT 1) AS k,"
	    "  o.start AS start, o.end AS end, o.name AS name FROM (%s) AS o WHERE %s) AS x\n"
	    "JOIN steps AS st ON st.k = x.k WHERE x.start < st.e AND x.end >= x.start\n"
	    "GROUP BY 1, 3",
	    cat, from, where);
}

static int strag_map(struct recipe_ctx *c, struct recipe_input *in)
{
	struct strag *g = c->state;
	struct strbuf sql = STRBUF_INIT;
	sqlite3 *db = in->db;
	sqlite3_stmt *src = NULL, *ins = NULL;
	int ret = -1;

	if (build_coll(db, in->label, c->o->collective) ||
	    exec_db(db,
		    "DROP TABLE IF EXISTS temp.steps; CREATE TEMP TABLE steps (k INTEGER PRIMARY "
		    "KEY, s INTEGER, e INTEGER); CREATE INDEX temp.steps_s ON steps(s); "
		    "DROP TABLE IF EXISTS temp.step_tids; CREATE TEMP TABLE step_tids "
		    "(globalTid INTEGER PRIMARY KEY)",
		    in->label))
		goto out;
	if (g->step_name) {
		if (!stats_table_exists(db, "NVTX_EVENTS")) {
			ret = 0;
			goto out;
		}
		strbuf_addstr(&sql, "INSERT INTO steps SELECT row_number() OVER (ORDER BY start) "
				    "- 1, start, end FROM (WITH " NVTX_RANGES_CTE
				    " SELECT start, end FROM nvtx_rng WHERE ");
		recipe_nvtx_name_sql(&sql, "name", g->step_name);
		strbuf_addstr(&sql, ");\n");
		/* the threads that run the steps: their OS runtime waits are the step's (a
		 * library's helper threads poll all the time, e.g. gloo's, NCCL's) */
		strbuf_addstr(&sql, "INSERT OR IGNORE INTO step_tids WITH " NVTX_RANGES_CTE
				    " SELECT globalTid FROM nvtx_rng WHERE ");
		recipe_nvtx_name_sql(&sql, "name", g->step_name);
	} else {
		char *q = sqlite3_mprintf("%Q", g->coll_name);

		strbuf_addf(&sql,
			    "INSERT INTO steps SELECT k - 1, s, e FROM (SELECT row_number() OVER "
			    "(ORDER BY end) - 1 AS k, lag(end) OVER (ORDER BY end) AS s, end AS e "
			    "FROM coll WHERE name = %s) WHERE s IS NOT NULL",
			    q);
		sqlite3_free(q);
	}
	if (exec_db(db, sql.buf, in->label))
		goto out;

	/* the steps with their collective time */
	strbuf_reset(&sql);
	strbuf_addstr(&sql,
		      "SELECT st.k, st.s, st.e, coalesce((SELECT sum(max(0, min(c.end, st.e)"
		      " - max(c.start, st.s))) FROM coll_u AS c WHERE c.start < st.e AND "
		      "c.start >= coalesce((SELECT max(p.start) FROM coll_u AS p WHERE p.start "
		      "<= st.s), st.s) AND c.end > st.s), 0) FROM steps AS st ORDER BY st.k");
	src = recipe_prepare(db, sql.buf, in->label);
	ins = recipe_prepare_out(c, "INSERT INTO step_raw VALUES (?, ?, ?, ?, ?)");
	if (!src || !ins || recipe_copy_rows(c, in, src, ins))
		goto out;
	sqlite3_finalize(src);
	recipe_finalize_out(c, ins);
	ins = recipe_prepare_out(c, "INSERT INTO detail VALUES (?, ?, ?, ?, ?)");
	src = NULL;
	if (!ins)
		goto out;

	/* where the time went, per step */
	strbuf_reset(&sql);
	detail_sql(&sql, "collective", "SELECT start, end, name FROM coll", "1");
	if (stats_table_exists(db, "CUPTI_ACTIVITY_KIND_KERNEL")) {
		strbuf_addstr(&sql, "\nUNION ALL\n");
		detail_sql(&sql, "kernel",
			   "SELECT k.start, k.end, coalesce(s.value, '?') AS name FROM "
			   "CUPTI_ACTIVITY_KIND_KERNEL AS k LEFT JOIN StringIds AS s ON s.id = "
			   "k.shortName",
			   "1");
	}
	if (stats_table_exists(db, "OSRT_API")) {
		strbuf_addstr(&sql, "\nUNION ALL\n");
		detail_sql(&sql, "osrt",
			   "SELECT a.start, a.end, coalesce(s.value, '?') AS name FROM OSRT_API AS "
			   "a LEFT JOIN StringIds AS s ON s.id = a.nameId WHERE NOT EXISTS (SELECT "
			   "1 FROM step_tids) OR a.globalTid IN (SELECT globalTid FROM step_tids)",
			   "coalesce((SELECT c.end FROM coll AS c WHERE c.start <= o.start ORDER "
			   "BY c.start DESC LIMIT 1), -1) < o.end");
	}
	if (stats_table_exists(db, "NVTX_EVENTS")) {
		char *not_step = NULL;
		struct strbuf w = STRBUF_INIT;

		strbuf_addstr(&w, "o.name NOT LIKE 'NCCL:%' AND NOT ");
		if (g->step_name)
			recipe_nvtx_name_sql(&w, "o.name", g->step_name);
		else
			strbuf_addstr(&w, "0");
		if (c->o->collective) {
			strbuf_addstr(&w, " AND NOT ");
			recipe_nvtx_name_sql(&w, "o.name", c->o->collective);
		}
		not_step = strbuf_detach(&w, NULL);
		strbuf_addstr(&sql, "\nUNION ALL\n");
		detail_sql(&sql, "nvtx",
			   "WITH " NVTX_RANGES_CTE " SELECT start, end, name FROM nvtx_rng",
			   not_step);
		free(not_step);
	}
	src = recipe_prepare(db, sql.buf, in->label);
	if (!src || recipe_copy_rows(c, in, src, ins))
		goto out;
	sqlite3_finalize(src);
	src = NULL;

	/* the GPU clock per step, where a clock metric was sampled */
	if (stats_table_exists(db, "GPU_METRICS") &&
	    stats_table_exists(db, "TARGET_INFO_GPU_METRICS")) {
		recipe_finalize_out(c, ins);
		ins = recipe_prepare_out(c, "INSERT INTO clock VALUES (?, ?, ?)");
		src = recipe_prepare(
		    db,
		    "SELECT st.k, avg(g.value) FROM steps AS st JOIN GPU_METRICS AS g ON "
		    "g.timestamp >= st.s AND g.timestamp < st.e WHERE g.metricId IN (SELECT "
		    "metricId FROM TARGET_INFO_GPU_METRICS WHERE metricName LIKE '%Clock%' OR "
		    "metricName LIKE '%cycles_elapsed.avg.per_second%') GROUP BY st.k",
		    in->label);
		if (!src || !ins || recipe_copy_rows(c, in, src, ins))
			goto out;
	}
	ret = 0;
out:
	recipe_finalize_out(c, ins);
	sqlite3_finalize(src);
	strbuf_release(&sql);
	return ret;
}

/* What the slowest rank s spent more than the median rank m in step k: the reason. */
static void reason(struct recipe_ctx *c, int64_t k, long s, long m, int64_t own_delta,
		   struct strbuf *why, struct strbuf *detail)
{
	static const char *const cats[] = {"kernel", "osrt", "collective", "nvtx"};
	double tot[4] = {0}, best_d[4] = {0};
	char *best_n[4] = {NULL};
	sqlite3_stmt *st = recipe_prepare(
	    c->out,
	    "SELECT cat, name, sum(CASE \"Rank\" WHEN ?2 THEN t ELSE -t END) AS d FROM detail "
	    "WHERE step = ?1 AND \"Rank\" IN (?2, ?3) GROUP BY 1, 2 ORDER BY d DESC",
	    "(results)");
	double cpu, clk_s = NAN, clk_m = NAN;
	int pick = -1;

	if (!st)
		return;
	sqlite3_bind_int64(st, 1, k);
	sqlite3_bind_int64(st, 2, s);
	sqlite3_bind_int64(st, 3, m);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *cat = (const char *)sqlite3_column_text(st, 0);
		double d = sqlite3_column_double(st, 2);

		for (int i = 0; i < 4; i++) {
			if (strcmp(cat, cats[i]))
				continue;
			tot[i] += d;
			if (!best_n[i] || d > best_d[i]) {
				free(best_n[i]);
				best_n[i] = xstrdup((const char *)sqlite3_column_text(st, 1));
				best_d[i] = d;
			}
		}
	}
	sqlite3_finalize(st);
	/* CPU compute: own time not in kernels nor OS runtime calls */
	cpu = (double)own_delta - tot[0] - tot[1];
	{
		double cand[4] = {tot[0], tot[1], tot[2], cpu};

		for (int i = 0; i < 4; i++)
			if (cand[i] > 0 && (pick < 0 || cand[i] > cand[pick]))
				pick = i;
	}
	st = recipe_prepare(c->out,
			    "SELECT \"Rank\", mhz FROM clock WHERE step = ?1 AND \"Rank\" "
			    "IN (?2, ?3)",
			    "(results)");
	if (st) {
		sqlite3_bind_int64(st, 1, k);
		sqlite3_bind_int64(st, 2, s);
		sqlite3_bind_int64(st, 3, m);
		while (sqlite3_step(st) == SQLITE_ROW) {
			if (sqlite3_column_int64(st, 0) == s)
				clk_s = sqlite3_column_double(st, 1);
			else
				clk_m = sqlite3_column_double(st, 1);
		}
		sqlite3_finalize(st);
	}
	switch (pick) {
	case 0:
		if (clk_s < 0.95 * clk_m) {
			strbuf_addstr(why, "lower GPU clocks");
			strbuf_addf(detail, "clock %.0f vs %.0f; kernels +%.3f ms (%s)", clk_s,
				    clk_m, tot[0] / 1e6, best_n[0] ? best_n[0] : "?");
		} else {
			strbuf_addstr(why, "more GPU kernel time");
			strbuf_addf(detail, "%s +%.3f ms", best_n[0] ? best_n[0] : "?",
				    best_d[0] / 1e6);
		}
		break;
	case 1:
		strbuf_addstr(why, "CPU-side wait (OS runtime)");
		strbuf_addf(detail, "%s +%.3f ms", best_n[1] ? best_n[1] : "?", best_d[1] / 1e6);
		break;
	case 2:
		strbuf_addstr(why, "longer collective");
		strbuf_addf(detail, "%s +%.3f ms", best_n[2] ? best_n[2] : "?", best_d[2] / 1e6);
		break;
	case 3:
		strbuf_addstr(why, "CPU-side compute");
		if (best_n[3] && best_d[3] > 0.5 * cpu)
			strbuf_addf(detail, "in NVTX range %s +%.3f ms",
				    best_n[3] + (best_n[3][0] == ':'), best_d[3] / 1e6);
		else
			strbuf_addf(detail, "outside traced calls +%.3f ms", cpu / 1e6);
		break;
	default:
		strbuf_addstr(why, "none found");
		break;
	}
	for (int i = 0; i < 4; i++)
		free(best_n[i]);
}

static int strag_reduce(struct recipe_ctx *c)
{
	struct strag *g = c->state;
	sqlite3_stmt *st, *ins;
	double thr = c->o->threshold;
	int ret = 0;
	char *sql;

	sql = xasprintf(
	    "CREATE TABLE rank_steps AS\n"
	    "WITH r AS (SELECT s.\"Rank\" AS rk, s.step AS k, s.start + f.\"Offset:dur_ns\" AS t,\n"
	    "  s.end - s.start AS dur, s.coll AS coll, max(1, s.end - s.start - s.coll) AS own\n"
	    "  FROM step_raw AS s JOIN files AS f ON f.\"Rank\" = s.\"Rank\"),\n"
	    "m AS (SELECT k, median(own) AS med FROM r GROUP BY k),\n"
	    "b AS (SELECT rk, min(own) AS best FROM r GROUP BY rk)\n"
	    "SELECT rk AS \"Rank\", r.k AS \"Step\", t AS \"Start:ts_ns\", dur AS "
	    "\"Duration:dur_ns\",\n"
	    "  coll AS \"Collective:dur_ns\", own AS \"Own:dur_ns\",\n"
	    "  round(min(1.0 * m.med / own, 9.999), 3) AS \"Relative Score:factor\",\n"
	    "  round(1.0 * b.best / own, 3) AS \"Historical Score:factor\",\n"
	    "  CASE WHEN 1.0 * m.med / own < %.17g THEN 'relative'\n"
	    "       WHEN 1.0 * b.best / own < %.17g THEN 'historical' ELSE '' END AS \"Flag\"\n"
	    "FROM r JOIN m ON m.k = r.k JOIN b USING (rk) ORDER BY rk, r.k;\n"
	    "CREATE TABLE steps (\"Step\" INTEGER, \"Start:ts_ns\" INTEGER, \"Slowest Rank\" "
	    "INTEGER,\n"
	    "  \"Own Time:dur_ns\" INTEGER, \"Median Own:dur_ns\" INTEGER, \"Excess:dur_ns\" "
	    "INTEGER,\n"
	    "  \"Relative Score:factor\" REAL, \"Historical Score:factor\" REAL, \"Straggler\" "
	    "TEXT,\n"
	    "  \"Reason\" TEXT, \"Detail\" TEXT, \"Others Waited:dur_ns\" INTEGER);\n"
	    "CREATE TABLE rank_scores AS SELECT \"Rank\", count(*) AS \"Steps\",\n"
	    "  sum(\"Flag\" = 'relative') AS \"Flagged\",\n"
	    "  min(\"Relative Score:factor\") AS \"Min Relative:factor\",\n"
	    "  round(avg(\"Relative Score:factor\"), 3) AS \"Mean Relative:factor\",\n"
	    "  min(\"Historical Score:factor\") AS \"Min Historical:factor\"\n"
	    "FROM rank_steps GROUP BY \"Rank\" ORDER BY \"Rank\"",
	    thr, thr);
	ret = recipe_exec_out(c, sql);
	free(sql);
	if (ret)
		return -1;
	/* per step: ranks by Own, the slowest last; the median rank at (n - 1) / 2 */
	st = recipe_prepare(
	    c->out,
	    "SELECT \"Step\", \"Rank\", \"Own:dur_ns\", \"Start:ts_ns\", \"Collective:dur_ns\",\n"
	    "  \"Relative Score:factor\", \"Historical Score:factor\", \"Flag\",\n"
	    "  count(*) OVER (PARTITION BY \"Step\") AS n,\n"
	    "  row_number() OVER (PARTITION BY \"Step\" ORDER BY \"Own:dur_ns\", \"Rank\") - 1 AS "
	    "pos\n"
	    "FROM rank_steps ORDER BY \"Step\", pos",
	    "(results)");
	ins = recipe_prepare(
	    c->out, "INSERT INTO steps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "(results)");
	if (!st || !ins) {
		sqlite3_finalize(st);
		sqlite3_finalize(ins);
		return -1;
	}
	{
		/* gather one step's rows, then write its line */
		int64_t cur = -1, n = 0, med_own = 0, med_start = 0, *coll = NULL;
		long med_rank = -1, *ranks = NULL;
		size_t alloc = 0;
		int rc;

		do {
			rc = sqlite3_step(st);
			int64_t k = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -2;

			if (k != cur && cur >= 0 && n > 0) {
				/* the previous step is complete: its slowest is the last row seen
				 */
				int64_t own_s = coll[2 * (n - 1) + 1], waited;
				long slow = ranks[n - 1];
				struct strbuf why = STRBUF_INIT, det = STRBUF_INIT;
				int64_t *others = xcalloc((size_t)n, sizeof(*others));
				size_t no = 0;
				double rel = med_own > 0 ? (double)med_own / (double)own_s : 1;

				for (int64_t i = 0; i + 1 < n; i++)
					others[no++] = coll[2 * i] - coll[2 * (n - 1)];
				/* median of the others' extra collective time */
				for (size_t a = 1; a < no; a++)
					for (size_t b = a; b > 0 && others[b - 1] > others[b];
					     b--) {
						int64_t x = others[b];
						others[b] = others[b - 1];
						others[b - 1] = x;
					}
				waited = no ? others[(no - 1) / 2] : 0;
				free(others);
				if (n > 1)
					reason(c, cur, slow, med_rank, own_s - med_own, &why, &det);
				else
					strbuf_addstr(&why, "one rank");
				sqlite3_bind_int64(ins, 1, cur);
				sqlite3_bind_int64(ins, 2, med_start);
				sqlite3_bind_int64(ins, 3, slow);
				sqlite3_bind_int64(ins, 4, own_s);
				sqlite3_bind_int64(ins, 5, med_own);
				sqlite3_bind_int64(ins, 6, own_s - med_own);
				sqlite3_bind_double(
				    ins, 7, round(1000 * (rel > 9.999 ? 9.999 : rel)) / 1000);
				sqlite3_bind_null(ins, 8);
				sqlite3_bind_text(ins, 9, "", -1, SQLITE_STATIC);
				sqlite3_bind_text(ins, 10, why.buf, -1, SQLITE_TRANSIENT);
				sqlite3_bind_text(ins, 11, det.buf, -1, SQLITE_TRANSIENT);
				sqlite3_bind_int64(ins, 12, waited > 0 ? waited : 0);
				{
					/* historical score and flag: the slowest rank's row */
					sqlite3_stmt *h = recipe_prepare(
					    c->out,
					    "SELECT \"Historical Score:factor\", \"Flag\" FROM "
					    "rank_steps WHERE \"Step\" = ?1 AND \"Rank\" = ?2",
					    "(results)");
					if (h) {
						sqlite3_bind_int64(h, 1, cur);
						sqlite3_bind_int64(h, 2, slow);
						if (sqlite3_step(h) == SQLITE_ROW) {
							sqlite3_bind_value(
							    ins, 8, sqlite3_column_value(h, 0));
							sqlite3_bind_text(
							    ins, 9,
							    (const char *)sqlite3_column_text(h, 1),
							    -1, SQLITE_TRANSIENT);
						}
						sqlite3_finalize(h);
					}
				}
				if (sqlite3_step(ins) != SQLITE_DONE) {
					error("recipe straggler: %s", sqlite3_errmsg(c->out));
					ret = -1;
				}
				sqlite3_reset(ins);
				strbuf_release(&why);
				strbuf_release(&det);
			}
			if (rc != SQLITE_ROW)
				break;
			if (k != cur) {
				cur = k;
				n = 0;
			}
			if ((size_t)n == alloc) {
				alloc = alloc ? 2 * alloc : 64;
				ranks = xrealloc(ranks, alloc * sizeof(*ranks));
				coll = xrealloc(coll, 2 * alloc * sizeof(*coll));
			}
			ranks[n] = (long)sqlite3_column_int64(st, 1);
			coll[2 * n] = sqlite3_column_int64(st, 4);
			coll[2 * n + 1] = sqlite3_column_int64(st, 2);
			if (sqlite3_column_int64(st, 9) == (sqlite3_column_int64(st, 8) - 1) / 2) {
				med_rank = ranks[n];
				med_own = coll[2 * n + 1];
				med_start = sqlite3_column_int64(st, 3);
			}
			n++;
		} while (!ret);
		free(ranks);
		free(coll);
	}
	sqlite3_finalize(st);
	sqlite3_finalize(ins);
	free(g->step_name);
	free(g->coll_name);
	g->step_name = g->coll_name = NULL;
	return ret;
}

static int strag_picture(struct recipe_ctx *c, const char *path)
{
	sqlite3_stmt *st = recipe_prepare(
	    c->out,
	    "SELECT r.\"Rank\", r.\"Step\", r.\"Start:ts_ns\", r.\"Start:ts_ns\" + "
	    "r.\"Duration:dur_ns\", r.\"Relative Score:factor\", r.\"Own:dur_ns\", "
	    "coalesce(s.\"Straggler\" = 'relative' AND s.\"Slowest Rank\" = r.\"Rank\", 0), "
	    "s.\"Reason\" FROM rank_steps AS r LEFT JOIN steps AS s ON s.\"Step\" = r.\"Step\"",
	    "(results)");
	struct recipe_bars bars = {0};
	double thr = c->o->threshold;
	int ret;

	if (!st)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		long rank = (long)sqlite3_column_int64(st, 0);
		double rel = sqlite3_column_double(st, 4);
		struct recipe_bar *b = recipe_bar_add(c, &bars, rank);

		b->start = sqlite3_column_int64(st, 2);
		b->end = sqlite3_column_int64(st, 3);
		/* 0 on pace (relative >= 1) .. 1 at the threshold and beyond */
		b->v = rel >= 1 ? 0 : thr < 1 ? (1 - rel) / (1 - thr) : 1;
		if (b->v > 1)
			b->v = 1;
		b->mark = sqlite3_column_int(st, 6);
		b->tip = xasprintf("rank %ld, step %lld: own %.3f ms, relative %.3f%s%s", rank,
				   (long long)sqlite3_column_int64(st, 1),
				   sqlite3_column_int64(st, 5) / 1e6, rel,
				   b->mark ? ", straggler: " : "",
				   b->mark ? (const char *)sqlite3_column_text(st, 7) : "");
	}
	sqlite3_finalize(st);
	ret = recipe_svg_bars(c, path, "straggler: each rank's steps (red outline: the straggler)",
			      "own time against the median rank", bars.v, bars.n);
	recipe_bars_free(&bars);
	return ret;
}

static const char *const strag_tables[] = {"steps", "rank_scores", "rank_steps", NULL};

const struct recipe recipe_straggler = {
    .name = "straggler",
    .display = "Straggler Detection",
    .help = "straggler [--name RANGE] [--threshold T] -- Straggler Detection (gprof-cli)\n"
	    "  Per step (instance k of the NVTX range RANGE on every rank; without --name the\n"
	    "  range of the first report with 2 or more instances and the most time; without\n"
	    "  NVTX the iterations between calls of the most frequent collective) the slowest\n"
	    "  rank by Own time (step minus time in collectives: MPI_COLLECTIVES_EVENTS, NCCL's\n"
	    "  ranges), by how much, and why, against the median rank: more GPU kernel time\n"
	    "  (which kernel), lower GPU clocks (a clock metric of -t gpu-metrics), a CPU-side\n"
	    "  wait (which OS runtime call: a data loader's read, a sleep), CPU-side compute\n"
	    "  (which NVTX range inside the step), or a longer collective (which one).\n"
	    "  Scores as NVIDIA's straggler detection: relative = median Own / Own, historical\n"
	    "  = the rank's best Own / Own; below --threshold (default 0.7) flags the step.\n"
	    "  Tables: steps (Step, Start, Slowest Rank, Own Time, Median Own, Excess, Relative\n"
	    "  Score, Historical Score, Straggler: relative|historical|empty, Reason, Detail,\n"
	    "  Others Waited: how much longer the other ranks sat in collectives), rank_scores\n"
	    "  (per rank: Steps, Flagged, Min Relative, Mean Relative, Min Historical),\n"
	    "  rank_steps (every rank's steps).  Picture: the steps of each rank coloured by\n"
	    "  relative slowness, the flagged straggler outlined in red.\n",
    .needs_name = 2,
    .tables = strag_tables,
    .setup = strag_setup,
    .map = strag_map,
    .reduce = strag_reduce,
    .picture = strag_picture,
};
