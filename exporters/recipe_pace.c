/*
 * recipe_pace.c - the pace recipes (nsys's nvtx_pace, cuda_gpu_kern_pace,
 * nvtx_gpu_proj_pace): every instance of one NVTX range / kernel / NVTX range projected
 * onto the GPU (--name), per rank, on the common timeline: is each rank keeping pace,
 * step after step?
 *
 * Instances are numbered per rank from 0 in start order (nsys's pace "iterations"), so
 * instance k of every rank is the same training step when each rank runs the range once
 * per step.  Tables:
 *   pace        Rank, Instance, Start (ns on the common timeline from the first report's
 *               session start), End, Duration, Gap (start minus the previous instance's
 *               end on the rank; empty for the first)
 *   pace_stats  per Instance over the ranks: Ranks, Min, Med, Max duration, Max Rank
 *               (the rank with the longest), Start Spread and End Spread (latest minus
 *               earliest start / end: how far apart the ranks run)
 * Picture: one row of bars per rank, one bar per instance, coloured by its duration from
 * the shortest (dark) to the longest (yellow).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "recipe.h"
#include "stats/nvtx_common.h"

enum pace_kind { PACE_NVTX, PACE_KERNEL, PACE_PROJ };

static int pace_setup(struct recipe_ctx *c)
{
	return recipe_exec_out(c, "CREATE TABLE pace_raw (\"Rank\" INTEGER, start INTEGER, end "
				  "INTEGER)");
}

static int pace_map(struct recipe_ctx *c, struct recipe_input *in)
{
	enum pace_kind kind = *(const enum pace_kind *)c->recipe->data;
	struct strbuf sql = STRBUF_INIT;
	sqlite3_stmt *src = NULL, *ins = NULL;
	int ret = -1;

	if (kind == PACE_NVTX) {
		if (!stats_table_exists(in->db, "NVTX_EVENTS"))
			return 0;
		strbuf_addstr(&sql, "WITH " NVTX_RANGES_CTE "\nSELECT start, end FROM nvtx_rng "
				    "WHERE ");
		recipe_nvtx_name_sql(&sql, "name", c->o->name);
		strbuf_addstr(&sql, " ORDER BY start");
	} else if (kind == PACE_KERNEL) {
		char *q = sqlite3_mprintf("%Q", c->o->name);

		if (!stats_table_exists(in->db, "CUPTI_ACTIVITY_KIND_KERNEL")) {
			sqlite3_free(q);
			return 0;
		}
		strbuf_addf(&sql,
			    "SELECT start, end FROM CUPTI_ACTIVITY_KIND_KERNEL WHERE shortName IN "
			    "(SELECT id FROM StringIds WHERE value = %s) OR demangledName IN "
			    "(SELECT id FROM StringIds WHERE value = %s) ORDER BY start",
			    q, q);
		sqlite3_free(q);
	} else {
		struct stats_args args = {0};
		const char *skip = NULL;
		sqlite3_stmt *st = NULL;
		int rc = stats_prepare_report(in->db, stats_find("nvtx_gpu_proj_trace"), &args,
					      in->label, &st, &skip);

		if (rc == 1)
			return 0;
		if (rc < 0)
			return -1;
		strbuf_addf(&sql,
			    "SELECT \"Projected Start:ts_ns\", \"Projected Start:ts_ns\" + "
			    "\"Projected Duration:dur_ns\" FROM (%s) WHERE ",
			    sqlite3_sql(st));
		recipe_nvtx_name_sql(&sql, "\"Name\"", c->o->name);
		strbuf_addstr(&sql, " ORDER BY 1");
		sqlite3_finalize(st);
	}
	src = recipe_prepare(in->db, sql.buf, in->label);
	if (!src)
		goto out;
	ins = recipe_prepare_out(c, "INSERT INTO pace_raw VALUES (?, ?, ?)");
	if (ins)
		ret = recipe_copy_rows(c, in, src, ins);
out:
	recipe_finalize_out(c, ins);
	sqlite3_finalize(src);
	strbuf_release(&sql);
	return ret;
}

static int pace_reduce(struct recipe_ctx *c)
{
	return recipe_exec_out(
	    c, "CREATE TABLE pace AS\n"
	       "WITH p AS (SELECT r.\"Rank\" AS rk, r.start + f.\"Offset:dur_ns\" AS s,\n"
	       "  r.end + f.\"Offset:dur_ns\" AS e FROM pace_raw AS r JOIN files AS f\n"
	       "  ON f.\"Rank\" = r.\"Rank\")\n"
	       "SELECT rk AS \"Rank\",\n"
	       "  row_number() OVER (PARTITION BY rk ORDER BY s, e) - 1 AS \"Instance\",\n"
	       "  s AS \"Start:ts_ns\", e AS \"End:ts_ns\", e - s AS \"Duration:dur_ns\",\n"
	       "  s - lag(e) OVER (PARTITION BY rk ORDER BY s, e) AS \"Gap:dur_ns\"\n"
	       "FROM p ORDER BY rk, s, e;\n"
	       "CREATE TABLE pace_stats AS\n"
	       "WITH q AS (SELECT *, row_number() OVER (PARTITION BY \"Instance\"\n"
	       "  ORDER BY \"Duration:dur_ns\" DESC, \"Rank\") AS pos FROM pace)\n"
	       "SELECT \"Instance\", count(*) AS \"Ranks\", min(\"Duration:dur_ns\") AS "
	       "\"Min:dur_ns\",\n"
	       "  round(median(\"Duration:dur_ns\"), 1) AS \"Med:dur_ns\",\n"
	       "  max(\"Duration:dur_ns\") AS \"Max:dur_ns\",\n"
	       "  max(CASE WHEN pos = 1 THEN \"Rank\" END) AS \"Max Rank\",\n"
	       "  max(\"Start:ts_ns\") - min(\"Start:ts_ns\") AS \"Start Spread:dur_ns\",\n"
	       "  max(\"End:ts_ns\") - min(\"End:ts_ns\") AS \"End Spread:dur_ns\"\n"
	       "FROM q GROUP BY \"Instance\" ORDER BY \"Instance\"");
}

static int pace_picture(struct recipe_ctx *c, const char *path)
{
	sqlite3_stmt *st = recipe_prepare(
	    c->out,
	    "SELECT \"Rank\", \"Instance\", \"Start:ts_ns\", \"End:ts_ns\", \"Duration:dur_ns\", "
	    "(SELECT min(\"Duration:dur_ns\") FROM pace), (SELECT max(\"Duration:dur_ns\") FROM "
	    "pace) FROM pace",
	    "(results)");
	struct recipe_bars bars = {0};
	char *title;
	int ret;

	if (!st)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		long rank = (long)sqlite3_column_int64(st, 0);
		int64_t mn = sqlite3_column_int64(st, 5), mx = sqlite3_column_int64(st, 6),
			d = sqlite3_column_int64(st, 4);
		struct recipe_bar *b = recipe_bar_add(c, &bars, rank);

		b->start = sqlite3_column_int64(st, 2);
		b->end = sqlite3_column_int64(st, 3);
		b->v = mx > mn ? (double)(d - mn) / (double)(mx - mn) : 0.5;
		b->tip = xasprintf("rank %ld, instance %lld: %.3f ms", rank,
				   (long long)sqlite3_column_int64(st, 1), d / 1e6);
	}
	sqlite3_finalize(st);
	title = xasprintf("%s %s: each instance per rank", c->recipe->name, c->o->name);
	ret = recipe_svg_bars(c, path, title, "duration (short to long)", bars.v, bars.n);
	free(title);
	recipe_bars_free(&bars);
	return ret;
}

static const char *const pace_tables[] = {"pace", "pace_stats", NULL};

#define PACE_HELP_TABLES                                                                           \
	"  Tables: files, pace (Rank, Instance, Start and End on the common timeline,\n"           \
	"  Duration, Gap since the previous instance), pace_stats (per Instance: Ranks, Min,\n"    \
	"  Med, Max duration, Max Rank, Start Spread, End Spread).  Picture: one bar per\n"        \
	"  instance and rank, coloured by duration.\n"

static const enum pace_kind kinds[] = {PACE_NVTX, PACE_KERNEL, PACE_PROJ};

#define PACE_RECIPE(id, kind, disp, helptext)                                                      \
	const struct recipe recipe_##id = {                                                        \
	    .name = #id,                                                                           \
	    .display = disp,                                                                       \
	    .help = helptext PACE_HELP_TABLES,                                                     \
	    .needs_name = 1,                                                                       \
	    .data = &kinds[kind],                                                                  \
	    .tables = pace_tables,                                                                 \
	    .setup = pace_setup,                                                                   \
	    .map = pace_map,                                                                       \
	    .reduce = pace_reduce,                                                                 \
	    .picture = pace_picture,                                                               \
	}

PACE_RECIPE(nvtx_pace, PACE_NVTX, "NVTX Range Pace",
	    "nvtx_pace --name RANGE -- NVTX Range Pace\n"
	    "  Every instance of the NVTX push/pop or start/end range RANGE (\"step\",\n"
	    "  \":step\" or \"domain:step\") on every rank.\n");
PACE_RECIPE(cuda_gpu_kern_pace, PACE_KERNEL, "CUDA GPU Kernel Pace",
	    "cuda_gpu_kern_pace --name KERNEL -- CUDA GPU Kernel Pace\n"
	    "  Every run of the kernel KERNEL (its short or demangled name) on every rank.\n");
PACE_RECIPE(nvtx_gpu_proj_pace, PACE_PROJ, "NVTX GPU Projection Pace",
	    "nvtx_gpu_proj_pace --name RANGE -- NVTX GPU Projection Pace\n"
	    "  Every instance of the NVTX range RANGE projected onto the GPU (from the first\n"
	    "  start to the last end of the GPU work it launched, as nvtx_gpu_proj_trace) on\n"
	    "  every rank.\n");
