/*
 * recipe_sum.c - the summary recipes over many reports: cuda_api_sum, cuda_gpu_kern_sum,
 * nvtx_sum, osrt_sum, mpi_sum, nccl_sum (nsys recipe names; nsys's tables rank_stats and
 * all_stats).
 *
 * map: the stats report of the same name (exporters/stats/, mpi_sum: mpi_event_sum) runs
 * on each report in its reader thread; its rows go to rank_stats with the Rank first.
 * reduce: all_stats, one row per name over all ranks: Total Time and Instances summed,
 * Avg = Total / Instances, Min and Max over every instance, StdDev of all instances
 * (pooled from the ranks' counts, means and standard deviations: exact), and the spread
 * across ranks of each rank's total for the name: Ranks (how many have it), Rank Min,
 * Rank Med, Rank Max, Max Rank (the rank with the largest total) and Imbalance (%) =
 * 100 * (Rank Max / mean of the ranks' totals - 1), the usual load-imbalance figure.
 *
 * nccl_sum: NCCL's own NVTX ranges (domain "NCCL": ncclAllReduce, ncclBroadcast, ... as
 * NCCL 2.x names them, NVTX3_FUNC_WITH_PARAMS with its registered __func__), grouped by
 * name and communicator; the communicator ("NCCL communicator ID") and the bytes
 * ("Message size [bytes]", NCCL's payload schema entries, src/include/nvtx_payload_schemas.h)
 * are read from the range's jsonText when the report holds the decoded payload there.
 */
#include <string.h>

#include "recipe.h"
#include "stats/nvtx_common.h"

struct sum_def {
	const char *report;  /* stats report run on each rank; NULL: nccl_sum's SQL */
	const char *count;   /* its count column ("Instances", "Num Calls") */
	const char *keys[3]; /* its name columns, NULL-terminated */
	const char *extra;   /* a column summed over ranks in all_stats (NULL: none) */
};

static const char stat_cols[] = "\"Time:ratio_%%\", \"Total Time:dur_ns\", \"%s\", \"Avg:dur_ns\", "
				"\"Med:dur_ns\", \"Min:dur_ns\", \"Max:dur_ns\", \"StdDev:dur_ns\"";

/* ", key, key..." and the extra column. */
static void add_keys(struct strbuf *sb, const struct sum_def *d, const char *prefix)
{
	for (int i = 0; d->keys[i]; i++) {
		strbuf_addf(sb, ", %s", prefix);
		stats_sql_ident(sb, d->keys[i]);
	}
	if (d->extra) {
		strbuf_addf(sb, ", %s", prefix);
		stats_sql_ident(sb, d->extra);
	}
}

static int sum_setup(struct recipe_ctx *c)
{
	const struct sum_def *d = c->recipe->data;
	struct strbuf sql = STRBUF_INIT;
	int ret;

	strbuf_addstr(&sql, "CREATE TABLE rank_raw (\"Rank\" INTEGER, ");
	strbuf_addf(&sql, stat_cols, d->count);
	add_keys(&sql, d, "");
	strbuf_addstr(&sql, ")");
	ret = recipe_exec_out(c, sql.buf);
	strbuf_release(&sql);
	return ret;
}

/* The communicator of a jsonText: NCCL's ids are 64-bit hashes, often above 2^63, which
 * json_extract() turns into a rounded REAL; SQLite 3.38's -> gives the number's own text
 * (a JSON string's without its quotes: ->>).  Older SQLite: json_extract. */
static void nccl_comm_sql(struct strbuf *sql)
{
	if (sqlite3_libversion_number() >= 3038000)
		strbuf_addstr(
		    sql, "CASE json_type(e.jsonText, '$.\"NCCL communicator ID\"')\n"
			 "      WHEN 'integer' THEN e.jsonText -> '$.\"NCCL communicator ID\"'\n"
			 "      ELSE e.jsonText ->> '$.\"NCCL communicator ID\"' END");
	else
		strbuf_addstr(sql, "json_extract(e.jsonText, '$.\"NCCL communicator ID\"')");
}

static void nccl_sql(struct strbuf *sql)
{
	strbuf_addstr(sql, "WITH " NVTX_RANGES_CTE ",\n"
			   "j AS (SELECT substr(n.name, 6) AS name, n.dur AS dur,\n"
			   "  CASE WHEN json_valid(e.jsonText) THEN\n    ");
	nccl_comm_sql(sql);
	strbuf_addstr(
	    sql, " END AS comm,\n"
		 "  CASE WHEN json_valid(e.jsonText) THEN\n"
		 "    json_extract(e.jsonText, '$.\"Message size [bytes]\"') END AS bytes\n"
		 "  FROM nvtx_rng AS n JOIN NVTX_EVENTS AS e ON e.rowid = n.rangeId\n"
		 "  WHERE n.name LIKE 'NCCL:%'),\n"
		 "g AS (SELECT name, comm, sum(dur) AS total, count(*) AS n, avg(dur) AS av,\n"
		 "  median(dur) AS med, min(dur) AS mn, max(dur) AS mx, stdev(dur) AS sd,\n"
		 "  sum(bytes) AS bytes FROM j GROUP BY 1, 2)\n"
		 "SELECT round(100.0 * total / sum(total) OVER (), 1) AS \"Time:ratio_%\",\n"
		 "  total AS \"Total Time:dur_ns\", n AS \"Instances\", round(av, 1) AS "
		 "\"Avg:dur_ns\",\n"
		 "  round(med, 1) AS \"Med:dur_ns\", mn AS \"Min:dur_ns\", mx AS \"Max:dur_ns\",\n"
		 "  round(sd, 1) AS \"StdDev:dur_ns\", name AS \"Name\", comm AS \"Comm\",\n"
		 "  bytes AS \"Size:mem_B\"\n"
		 "FROM g ORDER BY total DESC, name, comm");
}

static int sum_map(struct recipe_ctx *c, struct recipe_input *in)
{
	const struct sum_def *d = c->recipe->data;
	struct stats_args args = {0};
	struct strbuf sql = STRBUF_INIT, ins = STRBUF_INIT;
	sqlite3_stmt *st = NULL, *src = NULL, *ist = NULL;
	const char *skip_what = NULL;
	int ret = -1, rc;

	if (d->report) {
		rc = stats_prepare_report(in->db, stats_find(d->report), &args, in->label, &st,
					  &skip_what);
		if (rc == 1)
			return 0; /* this rank has none: it has no rows */
		if (rc < 0)
			return -1;
		strbuf_addstr(&sql, "SELECT ");
		strbuf_addf(&sql, stat_cols, d->count);
		add_keys(&sql, d, "");
		strbuf_addf(&sql, " FROM (%s)", sqlite3_sql(st));
		sqlite3_finalize(st);
	} else {
		if (!stats_table_exists(in->db, "NVTX_EVENTS"))
			return 0;
		strbuf_addstr(&sql, "SELECT ");
		strbuf_addf(&sql, stat_cols, d->count);
		add_keys(&sql, d, "");
		strbuf_addstr(&sql, " FROM (");
		nccl_sql(&sql);
		strbuf_addstr(&sql, ")");
	}
	src = recipe_prepare(in->db, sql.buf, in->label);
	if (!src)
		goto out;
	strbuf_addstr(&ins, "INSERT INTO rank_raw VALUES (?");
	for (int i = 0; i < sqlite3_column_count(src); i++)
		strbuf_addstr(&ins, ", ?");
	strbuf_addstr(&ins, ")");
	ist = recipe_prepare_out(c, ins.buf);
	if (!ist)
		goto out;
	ret = recipe_copy_rows(c, in, src, ist);
out:
	recipe_finalize_out(c, ist);
	sqlite3_finalize(src);
	strbuf_release(&sql);
	strbuf_release(&ins);
	return ret;
}

static int sum_reduce(struct recipe_ctx *c)
{
	const struct sum_def *d = c->recipe->data;
	struct strbuf sql = STRBUF_INIT, k = STRBUF_INIT, ex = STRBUF_INIT, exname = STRBUF_INIT;
	int ret;

	for (int i = 0; d->keys[i]; i++) {
		if (i)
			strbuf_addstr(&k, ", ");
		stats_sql_ident(&k, d->keys[i]);
	}
	if (d->extra) {
		strbuf_addstr(&ex, "sum(");
		stats_sql_ident(&ex, d->extra);
		strbuf_addstr(&ex, ")");
		strbuf_addstr(&exname, ", extra AS ");
		stats_sql_ident(&exname, d->extra);
	} else {
		strbuf_addstr(&ex, "NULL");
	}
	/* rank_stats: the ranks in order, each as its stats report orders it */
	strbuf_addf(&sql,
		    "CREATE TABLE rank_stats AS SELECT * FROM rank_raw ORDER BY \"Rank\", "
		    "\"Total Time:dur_ns\" DESC, %s;\n",
		    k.buf);
	/* pooled variance: sum over ranks of (n-1) s^2 + n m^2, minus N M^2, over N - 1 */
	strbuf_addf(
	    &sql,
	    "CREATE TABLE all_stats AS\n"
	    "WITH r AS (SELECT *, \"Total Time:dur_ns\" AS tot, \"%s\" AS n,\n"
	    "  1.0 * \"Total Time:dur_ns\" / \"%s\" AS m, coalesce(\"StdDev:dur_ns\", 0) AS s,\n"
	    "  row_number() OVER (PARTITION BY %s ORDER BY \"Total Time:dur_ns\" DESC, \"Rank\")\n"
	    "    AS pos FROM rank_raw),\n"
	    "g AS (SELECT %s, sum(tot) AS total, sum(n) AS num, min(\"Min:dur_ns\") AS mn,\n"
	    "  max(\"Max:dur_ns\") AS mx,\n"
	    "  sum((n - 1) * s * s + n * m * m) AS q, count(*) AS ranks, min(tot) AS rmin,\n"
	    "  median(tot) AS rmed, max(tot) AS rmax, avg(tot) AS rmean,\n"
	    "  max(CASE WHEN pos = 1 THEN \"Rank\" END) AS maxrank, %s AS extra\n"
	    "  FROM r GROUP BY %s)\n"
	    "SELECT round(100.0 * total / sum(total) OVER (), 1) AS \"Time:ratio_%%\",\n"
	    "  total AS \"Total Time:dur_ns\", num AS \"%s\",\n"
	    "  round(1.0 * total / num, 1) AS \"Avg:dur_ns\", mn AS \"Min:dur_ns\",\n"
	    "  mx AS \"Max:dur_ns\",\n"
	    "  CASE WHEN num > 1 THEN round(sqrt(max(0, (q - num * (1.0 * total / num) *\n"
	    "    (1.0 * total / num)) / (num - 1))), 1) END AS \"StdDev:dur_ns\",\n"
	    "  ranks AS \"Ranks\", rmin AS \"Rank Min:dur_ns\", round(rmed, 1) AS \"Rank "
	    "Med:dur_ns\",\n"
	    "  rmax AS \"Rank Max:dur_ns\", maxrank AS \"Max Rank\",\n"
	    "  round(100.0 * (rmax / rmean - 1), 1) AS \"Imbalance:ratio_%%\", %s%s\n"
	    "FROM g ORDER BY total DESC, %s",
	    d->count, d->count, k.buf, k.buf, ex.buf, k.buf, d->count, k.buf, exname.buf, k.buf);
	ret = recipe_exec_out(c, sql.buf);
	strbuf_release(&sql);
	strbuf_release(&k);
	strbuf_release(&ex);
	strbuf_release(&exname);
	return ret;
}

static const char *const sum_tables[] = {"all_stats", "rank_stats", NULL};

#define SUM_HELP_TABLES                                                                            \
	"  Tables: files (Rank, File, Host, ...), all_stats (one row per name over all\n"          \
	"  ranks: Time (%), Total Time, Instances, Avg, Min, Max, StdDev of every instance,\n"     \
	"  then the spread of the ranks' totals: Ranks, Rank Min, Rank Med, Rank Max, Max\n"       \
	"  Rank, Imbalance (%) = 100 * (Rank Max / mean - 1)), rank_stats (the stats\n"            \
	"  report's rows of each rank, Rank first).\n"

#define SUM_RECIPE(id, def, disp, helptext)                                                        \
	const struct recipe recipe_##id = {                                                        \
	    .name = #id,                                                                           \
	    .display = disp,                                                                       \
	    .help = helptext SUM_HELP_TABLES,                                                      \
	    .data = &def,                                                                          \
	    .tables = sum_tables,                                                                  \
	    .setup = sum_setup,                                                                    \
	    .map = sum_map,                                                                        \
	    .reduce = sum_reduce,                                                                  \
	}

static const struct sum_def def_cuda_api = {
    .report = "cuda_api_sum", .count = "Num Calls", .keys = {"Name"}};
static const struct sum_def def_kern = {
    .report = "cuda_gpu_kern_sum", .count = "Instances", .keys = {"Name"}};
static const struct sum_def def_nvtx = {
    .report = "nvtx_sum", .count = "Instances", .keys = {"Style", "Range"}};
static const struct sum_def def_osrt = {
    .report = "osrt_sum", .count = "Num Calls", .keys = {"Name"}};
static const struct sum_def def_mpi = {
    .report = "mpi_event_sum", .count = "Instances", .keys = {"Source", "Name"}};
static const struct sum_def def_nccl = {
    .count = "Instances", .keys = {"Name", "Comm"}, .extra = "Size:mem_B"};

SUM_RECIPE(cuda_api_sum, def_cuda_api, "CUDA API Summary over ranks",
	   "cuda_api_sum -- CUDA API Summary over ranks\n"
	   "  The stats report cuda_api_sum on every report, and over all of them.\n");
SUM_RECIPE(cuda_gpu_kern_sum, def_kern, "CUDA GPU Kernel Summary over ranks",
	   "cuda_gpu_kern_sum -- CUDA GPU Kernel Summary over ranks\n"
	   "  The stats report cuda_gpu_kern_sum on every report, and over all of them.\n");
SUM_RECIPE(nvtx_sum, def_nvtx, "NVTX Range Summary over ranks",
	   "nvtx_sum -- NVTX Range Summary over ranks\n"
	   "  The stats report nvtx_sum on every report, and over all of them.\n");
SUM_RECIPE(osrt_sum, def_osrt, "OS Runtime Summary over ranks",
	   "osrt_sum -- OS Runtime Summary over ranks\n"
	   "  The stats report osrt_sum on every report, and over all of them.\n");
SUM_RECIPE(mpi_sum, def_mpi, "MPI Summary over ranks",
	   "mpi_sum -- MPI Summary over ranks\n"
	   "  The stats report mpi_event_sum (-t mpi) on every report, and over all of them.\n");
SUM_RECIPE(nccl_sum, def_nccl, "NCCL Summary over ranks",
	   "nccl_sum -- NCCL Summary over ranks\n"
	   "  NCCL's own NVTX ranges (domain NCCL: ncclAllReduce, ncclAllGather, ...) on every\n"
	   "  report, by name and communicator: Comm and Size (MB) are NCCL's payload entries\n"
	   "  \"NCCL communicator ID\" and \"Message size [bytes]\" where the report holds them\n"
	   "  decoded in NVTX_EVENTS.jsonText, else empty.\n");
