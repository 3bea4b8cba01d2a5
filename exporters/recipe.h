/*
 * recipe.h - `gprof-cli recipe NAME [options] REPORT...`: analyses over many reports at
 * once (one per rank of a distributed run), modelled on `nsys recipe` (nsys-cli.md
 * section 5; nsys's recipe names and, where nsys has them, its output tables: files,
 * rank_stats, all_stats), computed in C over the SQLite reports instead of Python.
 *
 * Running a recipe (recipe_run):
 *   1. one reader thread per report (at most --jobs, default the online CPUs) opens it
 *      (report_open_read), reads where it came from (GPROF_RANK..., core/report_origin.h;
 *      MPI_RANKS; else the report's place among the file names sorted, as nsys numbers
 *      them) and the extent of its events;
 *   2. the reports are put on one timeline (recipe_align): ranks of one boot of one host
 *      by CLOCK_MONOTONIC (SESSION_START_MONOTONIC_NS, exact), others through each
 *      report's clock anchor on CLOCK_REALTIME (precise to the hosts' clock sync:
 *      GPROF_CLOCK_SYNC_MAXERROR_NS), nsys's exports by utcEpochNs (nsys's alignment);
 *   3. the recipe's map runs on every report in the reader threads, writing rows into
 *      one in-memory SQLite database (struct recipe_ctx.out, under ctx->lock);
 *   4. its reduce builds the output tables there: SQL whose column names are the stats
 *      "Title:unit" aliases (exporters/stats.h), printed by the stats formatters, and
 *      with --output DIR written as DIR/<table>.csv; its picture (optional) draws
 *      DIR/<recipe>.svg (exporters/svg.h).
 *
 * Every recipe prints the table "files" first: Rank, File, Host, Local Rank, World Size,
 * Offset (ns from the first report's start on the common timeline), Alignment.
 */
#ifndef GPROF_RECIPE_H
#define GPROF_RECIPE_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>

#include "stats.h"

/* One input report. */
struct recipe_input {
	const char *path;   /* as given (borrowed from argv) */
	const char *label;  /* its file name without folders (points into path) */
	sqlite3 *db;	    /* open while the recipe runs (reader threads, then reduce) */
	long rank;	    /* GPROF_RANK, MPI_RANKS, or sorted place; unique per run */
	long local_rank;    /* GPROF_LOCAL_RANK, -1 unknown */
	long world_size;    /* GPROF_WORLD_SIZE, -1 unknown */
	char *host;	    /* TARGET_INFO_SYSTEM_ENV Hostname, else EXPORT_HOST; "" unknown */
	char *boot_id;	    /* GPROF_BOOT_ID; NULL unknown */
	int64_t mono_start; /* SESSION_START_MONOTONIC_NS; INT64_MIN unknown */
	int64_t anchor_mono, anchor_real; /* GPROF_CLOCK_ANCHOR_*; INT64_MIN unknown */
	int64_t utc_start;		  /* utcEpochNs; INT64_MIN unknown */
	int64_t sync_err;		  /* GPROF_CLOCK_SYNC_MAXERROR_NS; -1 unknown */
	int64_t t_min, t_max; /* extent of its events (report ns); t_min > t_max: none */
	int64_t offset;	      /* report ns + offset = common timeline ns (recipe_align) */
	int failed;	      /* reader: open or read failed (error printed) */
};

/* Options of one run (cli/cmd_recipe.c). */
struct recipe_opts {
	const char *name;	   /* --name: the NVTX range or kernel (pace, straggler); NULL */
	const char *collective;	   /* --collective: an NVTX range counted as a collective
				    * (straggler), besides MPI's and NCCL's; NULL */
	int bins;		   /* --bins, heatmaps (default 30) */
	double threshold;	   /* --threshold, straggler (default 0.7) */
	int jobs;		   /* --jobs reader threads; 0: the online CPUs */
	int no_align;		   /* --disable-alignment: every report starts at 0 (nsys) */
	struct stats_fmt_opts fmt; /* --format, --timeunit; banners unless -q */
	const char *outdir;	   /* --output DIR: CSV per table and the SVG; NULL */
	int force;		   /* --force-overwrite: replace DIR */
};

/* A run in progress: what the recipe's functions see. */
struct recipe_ctx {
	const struct recipe *recipe;
	const struct recipe_opts *o;
	struct recipe_input *in; /* sorted by rank */
	size_t n;
	sqlite3 *out;	       /* in-memory result database (stats functions registered) */
	pthread_mutex_t lock;  /* held around every use of out from a map */
	int64_t t0, t1;	       /* common timeline: first event, last event (ns) */
	const char *alignment; /* "monotonic", "realtime", "utcEpochNs", "none" */
	void *state;	       /* the recipe's own (setup allocates, reduce frees) */
};

/* A recipe. */
struct recipe {
	const char *name;    /* nsys's name where nsys has the recipe */
	const char *display; /* one line */
	const char *help;    /* --help-recipes NAME text: what, options, tables, columns */
	int needs_name;	     /* 1: --name is required; 2: optional (straggler) */
	const void *data;    /* the recipe's own constants, for functions several share */
	/* Tables printed after "files", in order; also the CSV names.  NULL-terminated. */
	const char *const *tables;
	/* Main thread, before the readers: create the tables map writes into.  0 / -1. */
	int (*setup)(struct recipe_ctx *c);
	/* A reader thread, once per report: read it and add rows to c->out (hold c->lock
	 * while using c->out).  0, or -1 after printing an error naming in->label. */
	int (*map)(struct recipe_ctx *c, struct recipe_input *in);
	/* Main thread, after every map: build the tables of `tables` in c->out.  0 / -1. */
	int (*reduce)(struct recipe_ctx *c);
	/* Optional: draw the result into the SVG file path.  0 / -1 (error printed). */
	int (*picture)(struct recipe_ctx *c, const char *path);
};

/* All recipes, NULL-terminated, in --help-recipes order; lookup by name (NULL unknown). */
const struct recipe *const *recipe_all(void);
const struct recipe *recipe_find(const char *name);

/*
 * Run recipe r over the n report files paths[] as o says, printing to out.  Returns an
 * exit status: GP_EXIT_OK; GP_EXIT_USAGE (--name missing), GP_EXIT_BAD_INPUT (a report
 * cannot be read: nothing printed, one error naming it), GP_EXIT_OUTPUT (--output exists
 * without --force-overwrite, or cannot be written: nothing left behind), GP_EXIT_ERROR.
 */
int recipe_run(const struct recipe *r, const struct recipe_opts *o, const char *const *paths,
	       size_t n, FILE *out);

/* ---- helpers for the recipes (recipe.c) ---- */

/* Run sql on c->out under c->lock (statements without rows).  0, or -1 after printing
 * "recipe <name>: <SQLite's message>". */
int recipe_exec_out(struct recipe_ctx *c, const char *sql);
/* Prepare sql on db (a report, or c->out); NULL after printing an error naming label. */
sqlite3_stmt *recipe_prepare(sqlite3 *db, const char *sql, const char *label);
/* recipe_prepare / sqlite3_finalize on c->out under c->lock (from a map). */
sqlite3_stmt *recipe_prepare_out(struct recipe_ctx *c, const char *sql);
void recipe_finalize_out(struct recipe_ctx *c, sqlite3_stmt *st);
/* Copy every row of src (prepared on a report) into c->out with ins (prepared on c->out,
 * parameters ?1 = in->rank, ?2.. = src's columns in order), under c->lock.  Steps src to
 * the end and resets it.  0, or -1 after printing an error naming in->label. */
int recipe_copy_rows(struct recipe_ctx *c, struct recipe_input *in, sqlite3_stmt *src,
		     sqlite3_stmt *ins);
/* The common-timeline start of report time t of in, minus c->t0 (ns from the first event
 * of the run). */
static inline int64_t recipe_time(const struct recipe_ctx *c, const struct recipe_input *in,
				  int64_t t)
{
	return stats_sat_sub(stats_sat_add(t, in->offset), c->t0);
}
/* Append to sb an SQL condition: the nvtx_rng name in column col (nvtx_common.h:
 * "<domain>:<message>") is `name`, given as "message" (default domain), ":message" or
 * "domain:message"; name is quoted as an SQL literal. */
void recipe_nvtx_name_sql(struct strbuf *sb, const char *col, const char *name);

/* SVG pictures shared by the recipes (recipe_svg.c): ranks down, time across.
 * A heatmap: value[r * nbins + b] in [0, 1] (NaN: no data, drawn grey), bins of equal
 * width from c->t0 to c->t1; title and the legend's label. */
int recipe_svg_heatmap(struct recipe_ctx *c, const char *path, const char *title, const char *what,
		       const double *value, int nbins);
/* Bars: nbar intervals on the common timeline (ns from c->t0) of rank index rix[i]
 * (into c->in), coloured by v[i] in [0, 1], with a tooltip each; mark[i] != 0 draws a red
 * outline (a straggler). */
struct recipe_bar {
	size_t rix;
	int64_t start, end;
	double v;
	int mark;
	char *tip; /* owned by the caller */
};
int recipe_svg_bars(struct recipe_ctx *c, const char *path, const char *title, const char *what,
		    const struct recipe_bar *bars, size_t nbar);
/* A growing list of bars. */
struct recipe_bars {
	struct recipe_bar *v;
	size_t n, alloc;
};
/* Append a zeroed bar for rank (rix: its index in c->in, c->n when not found). */
struct recipe_bar *recipe_bar_add(struct recipe_ctx *c, struct recipe_bars *b, long rank);
/* Free the list and every bar's tip. */
void recipe_bars_free(struct recipe_bars *b);

extern const struct recipe recipe_cuda_api_sum, recipe_cuda_gpu_kern_sum, recipe_nvtx_sum,
    recipe_osrt_sum, recipe_mpi_sum, recipe_nccl_sum, recipe_nvtx_pace, recipe_cuda_gpu_kern_pace,
    recipe_nvtx_gpu_proj_pace, recipe_cuda_gpu_time_util_map, recipe_nccl_gpu_time_util_map,
    recipe_gpu_metric_util_map, recipe_straggler;

#endif
