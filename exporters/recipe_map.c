/*
 * recipe_map.c - the heatmap recipes (nsys's cuda_gpu_time_util_map,
 * nccl_gpu_time_util_map, gpu_metric_util_map): the run's common timeline, from the first
 * to the last GPU event of all ranks, cut into --bins equal bins (default 30); per rank
 * and bin, how busy the GPU was.
 *
 *   cuda_gpu_time_util_map  Kernel Time: the time of the bin covered by at least one
 *                           kernel (the union of the kernels' intervals, so concurrent
 *                           kernels on several streams count once); Util (%) = that over
 *                           the bin's length
 *   nccl_gpu_time_util_map  the same for NCCL's kernels (names starting "nccl", as nsys
 *                           tells them apart) and for the other kernels (compute), and
 *                           their Overlap (both running): communication hidden behind
 *                           compute
 *   gpu_metric_util_map     the mean of the GPU metric samples (GPU_METRICS, -t
 *                           gpu-metrics) in the bin of SM Active (nsys "SMs Active", ours
 *                           sm__cycles_active), SM Issue (sm__inst_executed_realtime) and
 *                           Tensor Active (sm__pipe_tensor*): percentages of peak; empty
 *                           where the bin has no sample
 *
 * Table util_map: Rank, Bin, Start (ns on the common timeline), Duration (the bin's
 * length), then the recipe's columns.  Picture: ranks down, bins across, each cell
 * coloured by the first percentage.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "recipe.h"

enum map_kind { MAP_KERNEL, MAP_NCCL, MAP_METRIC };

/* The bins of the run: nb bins of width w from c->t0. */
static int64_t bin_width(const struct recipe_ctx *c)
{
	int64_t span = c->t1 - c->t0, nb = c->o->bins;

	return span <= 0 ? 1 : (span + nb - 1) / nb;
}

/* Add [s, e) (ns from c->t0) to acc[] (nb bins of width w). */
static void add_span(double *acc, int nb, int64_t w, int64_t s, int64_t e)
{
	if (s < 0)
		s = 0;
	if (e > (int64_t)nb * w)
		e = (int64_t)nb * w;
	for (int64_t b = s / w; s < e && b < nb; b++) {
		int64_t be = (b + 1) * w, x = e < be ? e : be;

		acc[b] += (double)(x - s);
		s = x;
	}
}

struct spans {
	int64_t *v; /* pairs start, end */
	size_t n, alloc;
};

static void spans_add(struct spans *sp, int64_t s, int64_t e)
{
	/* merge with the last span when they touch (rows come sorted by start) */
	if (sp->n && s <= sp->v[2 * sp->n - 1]) {
		if (e > sp->v[2 * sp->n - 1])
			sp->v[2 * sp->n - 1] = e;
		return;
	}
	if (sp->n == sp->alloc) {
		sp->alloc = sp->alloc ? 2 * sp->alloc : 1024;
		sp->v = xrealloc(sp->v, 2 * sp->alloc * sizeof(*sp->v));
	}
	sp->v[2 * sp->n] = s;
	sp->v[2 * sp->n + 1] = e;
	sp->n++;
}

/* The intersection of two sorted span lists into acc. */
static void add_overlap(double *acc, int nb, int64_t w, const struct spans *a,
			const struct spans *b)
{
	size_t i = 0, j = 0;

	while (i < a->n && j < b->n) {
		int64_t s = a->v[2 * i] > b->v[2 * j] ? a->v[2 * i] : b->v[2 * j];
		int64_t e = a->v[2 * i + 1] < b->v[2 * j + 1] ? a->v[2 * i + 1] : b->v[2 * j + 1];

		if (s < e)
			add_span(acc, nb, w, s, e);
		if (a->v[2 * i + 1] < b->v[2 * j + 1])
			i++;
		else
			j++;
	}
}

static int map_setup(struct recipe_ctx *c, enum map_kind kind)
{
	static const char *const cols[] = {
	    "\"Kernel Time:dur_ns\" INTEGER, \"Util:ratio_%\" REAL",
	    "\"Comm Time:dur_ns\" INTEGER, \"Compute Time:dur_ns\" INTEGER, \"Overlap "
	    "Time:dur_ns\" "
	    "INTEGER, \"Comm:ratio_%\" REAL, \"Compute:ratio_%\" REAL, \"Overlap:ratio_%\" REAL",
	    "\"SM Active:ratio_%\" REAL, \"SM Issue:ratio_%\" REAL, \"Tensor Active:ratio_%\" "
	    "REAL, \"Samples\" INTEGER",
	};
	char *sql = xasprintf("CREATE TABLE util_raw (\"Rank\" INTEGER, \"Bin\" INTEGER, "
			      "\"Start:ts_ns\" INTEGER, \"Duration:dur_ns\" INTEGER, %s)",
			      cols[kind]);
	int ret = recipe_exec_out(c, sql);

	free(sql);
	return ret;
}

/* Insert the rank's nb rows: acc has nv values per bin (times, or sums for metrics with
 * the sample counts in cnt). */
static int map_insert(struct recipe_ctx *c, struct recipe_input *in, enum map_kind kind,
		      const double *acc, const double *cnt, int nv)
{
	int nb = c->o->bins;
	int64_t w = bin_width(c);
	sqlite3_stmt *ins;
	int ret = 0;
	char *sql = xasprintf("INSERT INTO util_raw VALUES (?, ?, ?, ?%s)",
			      kind == MAP_KERNEL ? ", ?, ?" : ", ?, ?, ?, ?, ?, ?");

	if (kind == MAP_METRIC) {
		free(sql);
		sql = xasprintf("INSERT INTO util_raw VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
	}
	pthread_mutex_lock(&c->lock);
	ins = recipe_prepare(c->out, sql, "(results)");
	for (int b = 0; ins && b < nb && !ret; b++) {
		int64_t len = w;
		int k = 5;

		if (c->t0 + (int64_t)(b + 1) * w > c->t1)
			len = c->t1 - c->t0 - (int64_t)b * w;
		if (len <= 0)
			len = 1;
		sqlite3_bind_int64(ins, 1, in->rank);
		sqlite3_bind_int64(ins, 2, b);
		sqlite3_bind_int64(ins, 3, c->t0 + (int64_t)b * w);
		sqlite3_bind_int64(ins, 4, len);
		if (kind == MAP_METRIC) {
			for (int v = 0; v < nv; v++) {
				if (cnt[b * nv + v] > 0)
					sqlite3_bind_double(
					    ins, k++,
					    round(10.0 * acc[b * nv + v] / cnt[b * nv + v]) / 10.0);
				else
					sqlite3_bind_null(ins, k++);
			}
			double samples = 0;
			for (int v = 0; v < nv; v++)
				samples += cnt[b * nv + v];
			sqlite3_bind_int64(ins, k, (int64_t)samples);
		} else {
			for (int v = 0; v < nv; v++)
				sqlite3_bind_int64(ins, k++, (int64_t)acc[b * nv + v]);
			for (int v = 0; v < nv; v++)
				sqlite3_bind_double(
				    ins, k++, round(1000.0 * acc[b * nv + v] / (double)len) / 10.0);
		}
		if (sqlite3_step(ins) != SQLITE_DONE) {
			error("recipe %s: %s", c->recipe->name, sqlite3_errmsg(c->out));
			ret = -1;
		}
		sqlite3_reset(ins);
	}
	if (!ins)
		ret = -1;
	sqlite3_finalize(ins);
	pthread_mutex_unlock(&c->lock);
	free(sql);
	return ret;
}

static int map_kernels(struct recipe_ctx *c, struct recipe_input *in, enum map_kind kind)
{
	int nb = c->o->bins, nv = kind == MAP_KERNEL ? 1 : 3, rc;
	int64_t w = bin_width(c);
	double *acc = xcalloc((size_t)nb * nv, sizeof(double)), *tmp;
	struct spans comm = {0}, comp = {0};
	sqlite3_stmt *st = NULL;
	int ret = -1;

	if (stats_table_exists(in->db, "CUPTI_ACTIVITY_KIND_KERNEL")) {
		st = recipe_prepare(
		    in->db,
		    kind == MAP_KERNEL ? "SELECT start, end, 0 FROM CUPTI_ACTIVITY_KIND_KERNEL "
					 "ORDER BY start"
				       : "SELECT k.start, k.end, coalesce(s.value LIKE 'nccl%', 0) "
					 "FROM CUPTI_ACTIVITY_KIND_KERNEL AS k LEFT JOIN StringIds "
					 "AS s ON s.id = k.shortName ORDER BY k.start",
		    in->label);
		if (!st)
			goto out;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			int64_t s = recipe_time(c, in, sqlite3_column_int64(st, 0));
			int64_t e = recipe_time(c, in, sqlite3_column_int64(st, 1));

			if (e > s)
				spans_add(sqlite3_column_int(st, 2) ? &comm : &comp, s, e);
		}
		if (rc != SQLITE_DONE) {
			error("cannot read '%s': %s", in->label, sqlite3_errmsg(in->db));
			goto out;
		}
	}
	/* per bin: [v0, v1, v2] = comm, compute, overlap (kernel map: v0 = all kernels) */
	tmp = xcalloc((size_t)nb, sizeof(double));
	for (int which = 0; which < nv; which++) {
		const struct spans *sp = kind == MAP_KERNEL ? &comp : which == 0 ? &comm : &comp;

		memset(tmp, 0, (size_t)nb * sizeof(double));
		if (which == 2)
			add_overlap(tmp, nb, w, &comm, &comp);
		else
			for (size_t i = 0; i < sp->n; i++)
				add_span(tmp, nb, w, sp->v[2 * i], sp->v[2 * i + 1]);
		for (int b = 0; b < nb; b++)
			acc[b * nv + which] = tmp[b];
	}
	free(tmp);
	ret = map_insert(c, in, kind, acc, NULL, nv);
out:
	sqlite3_finalize(st);
	free(comm.v);
	free(comp.v);
	free(acc);
	return ret;
}

static int map_metrics(struct recipe_ctx *c, struct recipe_input *in)
{
	int nb = c->o->bins, rc, ret = -1;
	int64_t w = bin_width(c);
	double *acc = xcalloc((size_t)nb * 3, sizeof(double)),
	       *cnt = xcalloc((size_t)nb * 3, sizeof(double));
	sqlite3_stmt *st = NULL;

	if (stats_table_exists(in->db, "GPU_METRICS") &&
	    stats_table_exists(in->db, "TARGET_INFO_GPU_METRICS")) {
		st = recipe_prepare(
		    in->db,
		    "WITH m AS (SELECT DISTINCT metricId, CASE\n"
		    "  WHEN metricName LIKE 'SM%Active%' OR metricName LIKE '%sm__cycles_active%'\n"
		    "    THEN 0\n"
		    "  WHEN metricName LIKE 'SM Issue%' OR metricName LIKE "
		    "'%sm__inst_executed_realtime%'\n"
		    "    THEN 1\n"
		    "  WHEN metricName LIKE 'Tensor%Active%' OR metricName LIKE '%pipe_tensor%'\n"
		    "    THEN 2 END AS k FROM TARGET_INFO_GPU_METRICS)\n"
		    "SELECT g.timestamp, m.k, g.value FROM GPU_METRICS AS g JOIN m\n"
		    "  ON m.metricId = g.metricId WHERE m.k IS NOT NULL",
		    in->label);
		if (!st)
			goto out;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			int64_t t = recipe_time(c, in, sqlite3_column_int64(st, 0));
			int k = sqlite3_column_int(st, 1);
			int64_t b = t / w;

			if (t < 0 || b >= nb || k < 0 || k > 2)
				continue;
			acc[b * 3 + k] += sqlite3_column_double(st, 2);
			cnt[b * 3 + k] += 1;
		}
		if (rc != SQLITE_DONE) {
			error("cannot read '%s': %s", in->label, sqlite3_errmsg(in->db));
			goto out;
		}
	}
	ret = map_insert(c, in, MAP_METRIC, acc, cnt, 3);
out:
	sqlite3_finalize(st);
	free(acc);
	free(cnt);
	return ret;
}

static int map_reduce(struct recipe_ctx *c)
{
	return recipe_exec_out(c, "CREATE TABLE util_map AS SELECT * FROM util_raw ORDER BY "
				  "\"Rank\", \"Bin\"");
}

static int map_picture(struct recipe_ctx *c, const char *path, const char *col, const char *what)
{
	int nb = c->o->bins;
	double *v = xmalloc((size_t)nb * c->n * sizeof(double));
	char *sql = xasprintf("SELECT \"Rank\", \"Bin\", \"%s\" FROM util_map", col);
	sqlite3_stmt *st = recipe_prepare(c->out, sql, "(results)");
	char *title;
	int ret;

	free(sql);
	for (size_t i = 0; i < (size_t)nb * c->n; i++)
		v[i] = NAN;
	if (!st) {
		free(v);
		return -1;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		long rank = (long)sqlite3_column_int64(st, 0);
		int b = sqlite3_column_int(st, 1);
		size_t rix = 0;

		while (rix < c->n && c->in[rix].rank != rank)
			rix++;
		if (rix < c->n && b >= 0 && b < nb && sqlite3_column_type(st, 2) != SQLITE_NULL)
			v[rix * nb + b] = sqlite3_column_double(st, 2) / 100.0;
	}
	sqlite3_finalize(st);
	title = xasprintf("%s: %s per rank and time bin", c->recipe->name, what);
	ret = recipe_svg_heatmap(c, path, title, what, v, nb);
	free(title);
	free(v);
	return ret;
}

/* What each heatmap reads and draws. */
struct map_def {
	enum map_kind kind;
	const char *col;  /* the column drawn */
	const char *what; /* its legend */
};

static int map_setup_any(struct recipe_ctx *c)
{
	return map_setup(c, ((const struct map_def *)c->recipe->data)->kind);
}

static int map_any(struct recipe_ctx *c, struct recipe_input *in)
{
	enum map_kind kind = ((const struct map_def *)c->recipe->data)->kind;

	return kind == MAP_METRIC ? map_metrics(c, in) : map_kernels(c, in, kind);
}

static int map_picture_any(struct recipe_ctx *c, const char *path)
{
	const struct map_def *d = c->recipe->data;

	return map_picture(c, path, d->col, d->what);
}

static const struct map_def def_kern = {MAP_KERNEL, "Util:ratio_%", "GPU kernel busy (%)"};
static const struct map_def def_nccl = {MAP_NCCL, "Comm:ratio_%", "NCCL kernel busy (%)"};
static const struct map_def def_metric = {MAP_METRIC, "SM Active:ratio_%", "SM Active (%)"};

static const char *const map_tables[] = {"util_map", NULL};

#define MAP_HELP_TABLES                                                                            \
	"  --bins N cuts the run (first to last GPU event of all ranks, on the common\n"           \
	"  timeline) into N equal bins (default 30).  Table util_map: Rank, Bin, Start,\n"         \
	"  Duration (the bin's), then the values below.  Picture: ranks down, bins across.\n"

const struct recipe recipe_cuda_gpu_time_util_map = {
    .name = "cuda_gpu_time_util_map",
    .display = "CUDA GPU Time Utilization Heatmap",
    .help = "cuda_gpu_time_util_map -- CUDA GPU Time Utilization Heatmap\n"
	    "  Per rank and bin: Kernel Time (the bin's time covered by at least one kernel;\n"
	    "  concurrent kernels count once) and Util (%).\n" MAP_HELP_TABLES,
    .data = &def_kern,
    .tables = map_tables,
    .setup = map_setup_any,
    .map = map_any,
    .reduce = map_reduce,
    .picture = map_picture_any,
};

const struct recipe recipe_nccl_gpu_time_util_map = {
    .name = "nccl_gpu_time_util_map",
    .display = "NCCL GPU Time Utilization Heatmap",
    .help = "nccl_gpu_time_util_map -- NCCL GPU Time Utilization Heatmap\n"
	    "  Per rank and bin: Comm Time (kernels named nccl*), Compute Time (the other\n"
	    "  kernels), Overlap Time (both at once) and each as a share of the bin "
	    "(%).\n" MAP_HELP_TABLES,
    .data = &def_nccl,
    .tables = map_tables,
    .setup = map_setup_any,
    .map = map_any,
    .reduce = map_reduce,
    .picture = map_picture_any,
};

const struct recipe recipe_gpu_metric_util_map = {
    .name = "gpu_metric_util_map",
    .display = "GPU Metric Utilization Heatmap",
    .help = "gpu_metric_util_map -- GPU Metric Utilization Heatmap\n"
	    "  Per rank and bin: the mean of the GPU metric samples (-t gpu-metrics) of SM\n"
	    "  Active, SM Issue and Tensor Active (% of peak), and the number of Samples;\n"
	    "  empty where a bin has none.\n" MAP_HELP_TABLES,
    .data = &def_metric,
    .tables = map_tables,
    .setup = map_setup_any,
    .map = map_any,
    .reduce = map_reduce,
    .picture = map_picture_any,
};
