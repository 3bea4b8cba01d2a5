/*
 * recipe.c - running a recipe over many reports (recipe.h): reader threads, ranks, one
 * timeline, the files table, printing and the --output folder.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "recipe.h"
#include "report_open.h"

static const struct recipe *const all[] = {
    &recipe_cuda_api_sum,
    &recipe_cuda_gpu_kern_sum,
    &recipe_nvtx_sum,
    &recipe_osrt_sum,
    &recipe_mpi_sum,
    &recipe_nccl_sum,
    &recipe_nvtx_pace,
    &recipe_cuda_gpu_kern_pace,
    &recipe_nvtx_gpu_proj_pace,
    &recipe_cuda_gpu_time_util_map,
    &recipe_nccl_gpu_time_util_map,
    &recipe_gpu_metric_util_map,
    &recipe_straggler,
    NULL,
};

const struct recipe *const *recipe_all(void)
{
	return all;
}

const struct recipe *recipe_find(const char *name)
{
	for (const struct recipe *const *r = all; *r; r++)
		if (!strcmp((*r)->name, name))
			return *r;
	return NULL;
}

/* ---- helpers ---------------------------------------------------------------------- */

int recipe_exec_out(struct recipe_ctx *c, const char *sql)
{
	char *msg = NULL;
	int rc;

	pthread_mutex_lock(&c->lock);
	rc = sqlite3_exec(c->out, sql, NULL, NULL, &msg);
	pthread_mutex_unlock(&c->lock);
	if (rc != SQLITE_OK) {
		error("recipe %s: %s", c->recipe->name, msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

sqlite3_stmt *recipe_prepare(sqlite3 *db, const char *sql, const char *label)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		error("cannot read '%s': %s", label, sqlite3_errmsg(db));
		return NULL;
	}
	return st;
}

sqlite3_stmt *recipe_prepare_out(struct recipe_ctx *c, const char *sql)
{
	sqlite3_stmt *st;

	pthread_mutex_lock(&c->lock);
	st = recipe_prepare(c->out, sql, "(results)");
	pthread_mutex_unlock(&c->lock);
	return st;
}

void recipe_finalize_out(struct recipe_ctx *c, sqlite3_stmt *st)
{
	pthread_mutex_lock(&c->lock);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->lock);
}

int recipe_copy_rows(struct recipe_ctx *c, struct recipe_input *in, sqlite3_stmt *src,
		     sqlite3_stmt *ins)
{
	int ncol = sqlite3_column_count(src), rc, ret = 0;

	while ((rc = sqlite3_step(src)) == SQLITE_ROW) {
		pthread_mutex_lock(&c->lock);
		sqlite3_bind_int64(ins, 1, in->rank);
		for (int i = 0; i < ncol; i++)
			sqlite3_bind_value(ins, i + 2, sqlite3_column_value(src, i));
		if (sqlite3_step(ins) != SQLITE_DONE) {
			error("recipe %s: %s", c->recipe->name, sqlite3_errmsg(c->out));
			ret = -1;
		}
		sqlite3_reset(ins);
		pthread_mutex_unlock(&c->lock);
		if (ret)
			break;
	}
	if (!ret && rc != SQLITE_DONE) {
		error("cannot read '%s': %s", in->label, sqlite3_errmsg(sqlite3_db_handle(src)));
		ret = -1;
	}
	sqlite3_reset(src);
	return ret;
}

void recipe_nvtx_name_sql(struct strbuf *sb, const char *col, const char *name)
{
	char *q = sqlite3_mprintf("%Q", name);

	if (strchr(name, ':'))
		strbuf_addf(sb, "(%s = %s)", col, q);
	else
		strbuf_addf(sb, "(%s = ':' || %s OR %s = %s)", col, q, col, q);
	sqlite3_free(q);
}

/* ---- reading the inputs ------------------------------------------------------------ */

static int64_t meta_i64(sqlite3 *db, const char *table, const char *name, int64_t dflt)
{
	sqlite3_stmt *st;
	char sql[128];
	int64_t v = dflt;

	snprintf(sql, sizeof(sql), "SELECT value FROM %s WHERE name = ?1", table);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return dflt;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		char *end;
		long long x = strtoll(t, &end, 10);

		if (*t && !*end)
			v = x;
	}
	sqlite3_finalize(st);
	return v;
}

static char *query_text(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	char *v = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		v = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

static int64_t query_i64(sqlite3 *db, const char *sql, int64_t dflt)
{
	sqlite3_stmt *st;
	int64_t v = dflt;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return dflt;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Tables whose [start, end] make a report's extent for the heatmaps. */
static const char *const extent_tables[] = {"CUPTI_ACTIVITY_KIND_KERNEL", NULL};

static void read_input(struct recipe_ctx *c, struct recipe_input *in)
{
	sqlite3 *db = report_open_read(in->path);

	if (!db) {
		in->failed = 1;
		return;
	}
	in->db = db;
	in->rank = meta_i64(db, "META_DATA_CAPTURE", "GPROF_RANK", -1);
	if (in->rank < 0 && stats_table_exists(db, "MPI_RANKS"))
		in->rank = query_i64(db,
				     "SELECT min(rank) FROM MPI_RANKS HAVING count(DISTINCT "
				     "rank) = 1",
				     -1);
	in->local_rank = meta_i64(db, "META_DATA_CAPTURE", "GPROF_LOCAL_RANK", -1);
	in->world_size = meta_i64(db, "META_DATA_CAPTURE", "GPROF_WORLD_SIZE", -1);
	in->host = query_text(db, "SELECT value FROM TARGET_INFO_SYSTEM_ENV WHERE name = "
				  "'Hostname'");
	if (!in->host)
		in->host = report_read_meta(db, "EXPORT_HOST");
	if (!in->host)
		in->host = xstrdup("");
	in->boot_id = query_text(db, "SELECT value FROM META_DATA_CAPTURE WHERE name = "
				     "'GPROF_BOOT_ID'");
	in->mono_start = meta_i64(db, "META_DATA_CAPTURE", "SESSION_START_MONOTONIC_NS", INT64_MIN);
	in->anchor_mono =
	    meta_i64(db, "META_DATA_CAPTURE", "GPROF_CLOCK_ANCHOR_MONOTONIC_NS", INT64_MIN);
	in->anchor_real =
	    meta_i64(db, "META_DATA_CAPTURE", "GPROF_CLOCK_ANCHOR_REALTIME_NS", INT64_MIN);
	in->sync_err = meta_i64(db, "META_DATA_CAPTURE", "GPROF_CLOCK_SYNC_MAXERROR_NS", -1);
	in->utc_start =
	    query_i64(db, "SELECT utcEpochNs FROM TARGET_INFO_SESSION_START_TIME", INT64_MIN);
	in->t_min = INT64_MAX;
	in->t_max = INT64_MIN;
	if (c->recipe->tables && strstr(c->recipe->name, "_util_map")) {
		for (const char *const *t = extent_tables; *t; t++) {
			char sql[160];

			if (!stats_table_exists(db, *t))
				continue;
			snprintf(sql, sizeof(sql), "SELECT min(start) FROM %s", *t);
			int64_t a = query_i64(db, sql, INT64_MAX);
			snprintf(sql, sizeof(sql), "SELECT max(end) FROM %s", *t);
			int64_t b = query_i64(db, sql, INT64_MIN);
			if (a < in->t_min)
				in->t_min = a;
			if (b > in->t_max)
				in->t_max = b;
		}
		if (!strcmp(c->recipe->name, "gpu_metric_util_map") &&
		    stats_table_exists(db, "GPU_METRICS")) {
			int64_t a =
			    query_i64(db, "SELECT min(timestamp) FROM GPU_METRICS", INT64_MAX);
			int64_t b =
			    query_i64(db, "SELECT max(timestamp) FROM GPU_METRICS", INT64_MIN);
			if (a < in->t_min)
				in->t_min = a;
			if (b > in->t_max)
				in->t_max = b;
		}
	}
}

/* ---- threads ------------------------------------------------------------------------ */

struct pool {
	struct recipe_ctx *c;
	int phase; /* 0: read, 1: map */
	size_t next;
	int failed;
	pthread_mutex_t lock;
};

static void *worker(void *arg)
{
	struct pool *p = arg;

	for (;;) {
		size_t i;

		pthread_mutex_lock(&p->lock);
		i = p->next++;
		pthread_mutex_unlock(&p->lock);
		if (i >= p->c->n)
			return NULL;
		if (p->phase == 0) {
			read_input(p->c, &p->c->in[i]);
			if (p->c->in[i].failed) {
				pthread_mutex_lock(&p->lock);
				p->failed = 1;
				pthread_mutex_unlock(&p->lock);
			}
		} else if (p->c->recipe->map(p->c, &p->c->in[i]) < 0) {
			pthread_mutex_lock(&p->lock);
			p->failed = 1;
			pthread_mutex_unlock(&p->lock);
		}
	}
}

/* Run phase over every input in min(jobs, n) threads; 0, or -1 when one failed. */
static int run_phase(struct recipe_ctx *c, int phase)
{
	struct pool p = {.c = c, .phase = phase};
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nt = c->o->jobs > 0 ? (size_t)c->o->jobs : (size_t)(ncpu > 0 ? ncpu : 1);
	pthread_t *t;
	size_t started = 0;

	if (nt > c->n)
		nt = c->n;
	if (nt > 256)
		nt = 256;
	pthread_mutex_init(&p.lock, NULL);
	t = xcalloc(nt, sizeof(*t));
	for (size_t i = 1; i < nt; i++)
		if (pthread_create(&t[started], NULL, worker, &p) == 0)
			started++;
	worker(&p); /* the main thread reads too */
	for (size_t i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	free(t);
	pthread_mutex_destroy(&p.lock);
	return p.failed ? -1 : 0;
}

/* ---- ranks and the timeline ---------------------------------------------------------- */

static int cmp_path(const void *a, const void *b)
{
	return strcmp(((const struct recipe_input *)a)->path,
		      ((const struct recipe_input *)b)->path);
}

static int cmp_rank(const void *a, const void *b)
{
	long x = ((const struct recipe_input *)a)->rank, y = ((const struct recipe_input *)b)->rank;

	return x < y ? -1 : x > y;
}

/* Ranks from the reports when every one has its own; else the sorted file names' order
 * (nsys's numbering), said once. */
static void assign_ranks(struct recipe_ctx *c)
{
	int ok = 1;

	qsort(c->in, c->n, sizeof(c->in[0]), cmp_path);
	for (size_t i = 0; i < c->n && ok; i++) {
		if (c->in[i].rank < 0)
			ok = 0;
		for (size_t j = 0; j < i && ok; j++)
			if (c->in[j].rank == c->in[i].rank)
				ok = 0;
	}
	if (!ok) {
		if (c->n > 1 && c->o->fmt.banners)
			fprintf(stderr,
				"gprof-cli: ranks are not recorded in every report (or repeat): "
				"numbered by file name\n");
		for (size_t i = 0; i < c->n; i++)
			c->in[i].rank = (long)i;
	}
	qsort(c->in, c->n, sizeof(c->in[0]), cmp_rank);
}

static void align(struct recipe_ctx *c)
{
	int mono = 1, anchor = 1, utc = 1;
	int64_t base = INT64_MAX;

	for (size_t i = 0; i < c->n; i++) {
		struct recipe_input *in = &c->in[i];

		if (in->mono_start == INT64_MIN || !in->boot_id || !c->in[0].boot_id ||
		    strcmp(in->boot_id, c->in[0].boot_id))
			mono = 0;
		if (in->mono_start == INT64_MIN || in->anchor_mono == INT64_MIN ||
		    in->anchor_real == INT64_MIN)
			anchor = 0;
		if (in->utc_start == INT64_MIN)
			utc = 0;
	}
	c->alignment = c->o->no_align ? "none"
		       : mono	      ? "monotonic"
		       : anchor	      ? "realtime"
		       : utc	      ? "utcEpochNs"
				      : "none";
	for (size_t i = 0; i < c->n; i++) {
		struct recipe_input *in = &c->in[i];

		if (!strcmp(c->alignment, "monotonic"))
			in->offset = in->mono_start;
		else if (!strcmp(c->alignment, "realtime"))
			in->offset = in->mono_start - in->anchor_mono + in->anchor_real;
		else if (!strcmp(c->alignment, "utcEpochNs"))
			in->offset = in->utc_start;
		else
			in->offset = 0;
		if (in->offset < base)
			base = in->offset;
	}
	c->t0 = INT64_MAX;
	c->t1 = INT64_MIN;
	for (size_t i = 0; i < c->n; i++) {
		struct recipe_input *in = &c->in[i];

		in->offset -= base;
		if (in->t_min <= in->t_max) {
			if (in->t_min + in->offset < c->t0)
				c->t0 = in->t_min + in->offset;
			if (in->t_max + in->offset > c->t1)
				c->t1 = in->t_max + in->offset;
		}
	}
	if (c->t0 > c->t1) {
		c->t0 = 0;
		c->t1 = 0;
	}
}

/* The files table: what each rank is and how it was placed on the timeline. */
static int files_table(struct recipe_ctx *c)
{
	sqlite3_stmt *st;
	int ret = 0;

	if (recipe_exec_out(c, "CREATE TABLE files (\"Rank\" INTEGER, \"File\" TEXT, \"Host\" "
			       "TEXT, \"Local Rank\" INTEGER, \"World Size\" INTEGER, "
			       "\"Offset:dur_ns\" INTEGER, \"Alignment\" TEXT, "
			       "\"Clock Error:dur_ns\" INTEGER)"))
		return -1;
	st = recipe_prepare(c->out, "INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			    "(results)");
	if (!st)
		return -1;
	for (size_t i = 0; i < c->n && !ret; i++) {
		struct recipe_input *in = &c->in[i];

		sqlite3_bind_int64(st, 1, in->rank);
		sqlite3_bind_text(st, 2, in->label, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, in->host, -1, SQLITE_STATIC);
		if (in->local_rank >= 0)
			sqlite3_bind_int64(st, 4, in->local_rank);
		else
			sqlite3_bind_null(st, 4);
		if (in->world_size >= 0)
			sqlite3_bind_int64(st, 5, in->world_size);
		else
			sqlite3_bind_null(st, 5);
		sqlite3_bind_int64(st, 6, in->offset);
		sqlite3_bind_text(st, 7, c->alignment, -1, SQLITE_STATIC);
		/* how far this rank's times may be off the others': 0 on one CLOCK_MONOTONIC;
		 * the host's sync error on CLOCK_REALTIME; unknown otherwise */
		if (!strcmp(c->alignment, "monotonic"))
			sqlite3_bind_int64(st, 8, 0);
		else if (!strcmp(c->alignment, "realtime") && in->sync_err >= 0)
			sqlite3_bind_int64(st, 8, in->sync_err);
		else
			sqlite3_bind_null(st, 8);
		if (sqlite3_step(st) != SQLITE_DONE) {
			error("recipe %s: %s", c->recipe->name, sqlite3_errmsg(c->out));
			ret = -1;
		}
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return ret;
}

/* ---- output ------------------------------------------------------------------------- */

static int print_table(struct recipe_ctx *c, const char *table, const struct stats_fmt_opts *fo,
		       FILE *out)
{
	struct strbuf sql = STRBUF_INIT;
	sqlite3_stmt *st;
	int ret;

	strbuf_addstr(&sql, "SELECT * FROM ");
	stats_sql_ident(&sql, table);
	st = recipe_prepare(c->out, sql.buf, "(results)");
	strbuf_release(&sql);
	if (!st)
		return -1;
	if (fo->banners && (fo->format == STATS_FMT_COLUMN || fo->format == STATS_FMT_TABLE))
		fprintf(out, "\n ** %s (%s): %s\n\n", c->recipe->display, c->recipe->name, table);
	ret = stats_format_stmt(st, fo, out);
	sqlite3_finalize(st);
	return ret;
}

static int write_csv(struct recipe_ctx *c, const char *dir, const char *table)
{
	char *path = xasprintf("%s/%s.csv", dir, table);
	struct stats_fmt_opts o = c->o->fmt;
	FILE *f = fopen(path, "wx");
	int ret;

	if (!f) {
		error("cannot write '%s': %s", path, strerror(errno));
		free(path);
		return -1;
	}
	o.format = STATS_FMT_CSV;
	o.banners = 0;
	ret = print_table(c, table, &o, f);
	if (fclose(f) != 0 && !ret) {
		error("cannot write '%s': %s", path, strerror(errno));
		ret = -1;
	}
	free(path);
	return ret;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Remove dir and everything below it (links are removed, not followed). */
static int remove_tree(const char *dir)
{
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Create dir (replacing it with force); 0, or an exit status after one error line. */
static int make_outdir(const char *dir, int force)
{
	struct stat sb;

	if (lstat(dir, &sb) == 0) {
		if (!force) {
			error("output folder '%s' exists", dir);
			hint("remove it, or add --force-overwrite to replace it");
			return GP_EXIT_OUTPUT;
		}
		if (!S_ISDIR(sb.st_mode)) {
			error("output '%s' exists and is not a folder", dir);
			hint("name a folder with --output");
			return GP_EXIT_OUTPUT;
		}
		if (remove_tree(dir) != 0) {
			error("cannot replace '%s': %s", dir, strerror(errno));
			return GP_EXIT_OUTPUT;
		}
	}
	if (mkdir(dir, 0777) != 0) {
		error("cannot create output folder '%s': %s", dir, strerror(errno));
		hint("check that its parent folder exists and is writable");
		return GP_EXIT_OUTPUT;
	}
	return 0;
}

static int write_outdir(struct recipe_ctx *c, const char *dir)
{
	char *path;
	int ret;

	ret = write_csv(c, dir, "files");
	for (const char *const *t = c->recipe->tables; *t && !ret; t++)
		ret = write_csv(c, dir, *t);
	if (!ret && c->recipe->picture) {
		path = xasprintf("%s/%s.svg", dir, c->recipe->name);
		ret = c->recipe->picture(c, path);
		free(path);
	}
	return ret;
}

int recipe_run(const struct recipe *r, const struct recipe_opts *o, const char *const *paths,
	       size_t n, FILE *out)
{
	struct recipe_ctx c = {.recipe = r, .o = o, .n = n};
	int status = GP_EXIT_OK, made_dir = 0;

	if (r->needs_name == 1 && !o->name) {
		error("recipe '%s' needs --name", r->name);
		hint("give the %s to follow: gprof-cli recipe %s --name NAME REPORT...",
		     strstr(r->name, "kern") ? "kernel" : "NVTX range", r->name);
		return GP_EXIT_USAGE;
	}
	pthread_mutex_init(&c.lock, NULL);
	c.in = xcalloc(n, sizeof(*c.in));
	for (size_t i = 0; i < n; i++) {
		const char *slash = strrchr(paths[i], '/');

		c.in[i].path = paths[i];
		c.in[i].label = slash ? slash + 1 : paths[i];
	}
	if (run_phase(&c, 0) < 0) {
		if (n > 1)
			hint("nothing was computed; fix or leave out the report named above");
		status = GP_EXIT_BAD_INPUT;
		goto out;
	}
	assign_ranks(&c);
	align(&c);
	if (sqlite3_open(":memory:", &c.out) != SQLITE_OK || stats_register_functions(c.out) < 0) {
		error("recipe %s: cannot open an in-memory database", r->name);
		status = GP_EXIT_ERROR;
		goto out;
	}
	if (o->outdir) {
		status = make_outdir(o->outdir, o->force);
		if (status)
			goto out;
		made_dir = 1;
	}
	if (files_table(&c) < 0 || (r->setup && r->setup(&c) < 0) || run_phase(&c, 1) < 0 ||
	    r->reduce(&c) < 0) {
		status = GP_EXIT_ERROR;
		goto out;
	}
	if (o->fmt.banners)
		fprintf(out, "Processing %zu report%s with recipe %s (%s alignment)...\n", n,
			n == 1 ? "" : "s", r->name, c.alignment);
	if (print_table(&c, "files", &o->fmt, out) < 0) {
		status = GP_EXIT_ERROR;
		goto out;
	}
	for (const char *const *t = r->tables; *t; t++) {
		if (print_table(&c, *t, &o->fmt, out) < 0) {
			status = GP_EXIT_ERROR;
			goto out;
		}
	}
	if (o->outdir && write_outdir(&c, o->outdir) < 0)
		status = GP_EXIT_OUTPUT;
	else if (o->outdir && o->fmt.banners)
		fprintf(stderr, "Generated:\n    %s\n", o->outdir);
	if (fflush(out) != 0 || ferror(out)) {
		error("cannot write to standard output: %s", strerror(errno));
		status = GP_EXIT_OUTPUT;
	}
out:
	if (status && made_dir)
		remove_tree(o->outdir);
	free(c.state);
	if (c.out)
		sqlite3_close(c.out);
	for (size_t i = 0; i < n; i++) {
		if (c.in[i].db)
			sqlite3_close(c.in[i].db);
		free(c.in[i].host);
		free(c.in[i].boot_id);
	}
	free(c.in);
	pthread_mutex_destroy(&c.lock);
	return status;
}
