/*
 * stats.c - the `gprof-cli stats` report registry and runner (nsys-cli.md section 2).
 *
 * The registry is exporters/stats_reports.def.  A report whose file
 * exporters/stats/<name>.c does not exist yet is not listed: each entry below is a
 * strong reference guarded by __has_include, because a weak reference would not pull
 * the report's object out of libgprof.a.  Adding a report = its file + one .def line +
 * one REF_ block here (the build fails with "REF_<name> undeclared" until it is added).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "exporters/report_open.h"
#include "exporters/stats.h"

#if __has_include("exporters/stats/nvtx_sum.c")
extern const struct stats_report stats_report_nvtx_sum;
#define REF_nvtx_sum &stats_report_nvtx_sum
#else
#define REF_nvtx_sum NULL
#endif
#if __has_include("exporters/stats/nvtx_pushpop_sum.c")
extern const struct stats_report stats_report_nvtx_pushpop_sum;
#define REF_nvtx_pushpop_sum &stats_report_nvtx_pushpop_sum
#else
#define REF_nvtx_pushpop_sum NULL
#endif
#if __has_include("exporters/stats/nvtx_startend_sum.c")
extern const struct stats_report stats_report_nvtx_startend_sum;
#define REF_nvtx_startend_sum &stats_report_nvtx_startend_sum
#else
#define REF_nvtx_startend_sum NULL
#endif
#if __has_include("exporters/stats/nvtx_pushpop_trace.c")
extern const struct stats_report stats_report_nvtx_pushpop_trace;
#define REF_nvtx_pushpop_trace &stats_report_nvtx_pushpop_trace
#else
#define REF_nvtx_pushpop_trace NULL
#endif
#if __has_include("exporters/stats/osrt_sum.c")
extern const struct stats_report stats_report_osrt_sum;
#define REF_osrt_sum &stats_report_osrt_sum
#else
#define REF_osrt_sum NULL
#endif
#if __has_include("exporters/stats/cuda_api_sum.c")
extern const struct stats_report stats_report_cuda_api_sum;
#define REF_cuda_api_sum &stats_report_cuda_api_sum
#else
#define REF_cuda_api_sum NULL
#endif
#if __has_include("exporters/stats/cuda_api_trace.c")
extern const struct stats_report stats_report_cuda_api_trace;
#define REF_cuda_api_trace &stats_report_cuda_api_trace
#else
#define REF_cuda_api_trace NULL
#endif
#if __has_include("exporters/stats/cuda_gpu_kern_sum.c")
extern const struct stats_report stats_report_cuda_gpu_kern_sum;
#define REF_cuda_gpu_kern_sum &stats_report_cuda_gpu_kern_sum
#else
#define REF_cuda_gpu_kern_sum NULL
#endif
#if __has_include("exporters/stats/cuda_gpu_kern_gb_sum.c")
extern const struct stats_report stats_report_cuda_gpu_kern_gb_sum;
#define REF_cuda_gpu_kern_gb_sum &stats_report_cuda_gpu_kern_gb_sum
#else
#define REF_cuda_gpu_kern_gb_sum NULL
#endif
#if __has_include("exporters/stats/cuda_gpu_mem_time_sum.c")
extern const struct stats_report stats_report_cuda_gpu_mem_time_sum;
#define REF_cuda_gpu_mem_time_sum &stats_report_cuda_gpu_mem_time_sum
#else
#define REF_cuda_gpu_mem_time_sum NULL
#endif
#if __has_include("exporters/stats/cuda_gpu_mem_size_sum.c")
extern const struct stats_report stats_report_cuda_gpu_mem_size_sum;
#define REF_cuda_gpu_mem_size_sum &stats_report_cuda_gpu_mem_size_sum
#else
#define REF_cuda_gpu_mem_size_sum NULL
#endif
#if __has_include("exporters/stats/cuda_gpu_sum.c")
extern const struct stats_report stats_report_cuda_gpu_sum;
#define REF_cuda_gpu_sum &stats_report_cuda_gpu_sum
#else
#define REF_cuda_gpu_sum NULL
#endif
#if __has_include("exporters/stats/cuda_api_gpu_sum.c")
extern const struct stats_report stats_report_cuda_api_gpu_sum;
#define REF_cuda_api_gpu_sum &stats_report_cuda_api_gpu_sum
#else
#define REF_cuda_api_gpu_sum NULL
#endif
#if __has_include("exporters/stats/cuda_gpu_trace.c")
extern const struct stats_report stats_report_cuda_gpu_trace;
#define REF_cuda_gpu_trace &stats_report_cuda_gpu_trace
#else
#define REF_cuda_gpu_trace NULL
#endif
#if __has_include("exporters/stats/cuda_kern_exec_sum.c")
extern const struct stats_report stats_report_cuda_kern_exec_sum;
#define REF_cuda_kern_exec_sum &stats_report_cuda_kern_exec_sum
#else
#define REF_cuda_kern_exec_sum NULL
#endif
#if __has_include("exporters/stats/cuda_kern_exec_trace.c")
extern const struct stats_report stats_report_cuda_kern_exec_trace;
#define REF_cuda_kern_exec_trace &stats_report_cuda_kern_exec_trace
#else
#define REF_cuda_kern_exec_trace NULL
#endif
#if __has_include("exporters/stats/nvtx_kern_sum.c")
extern const struct stats_report stats_report_nvtx_kern_sum;
#define REF_nvtx_kern_sum &stats_report_nvtx_kern_sum
#else
#define REF_nvtx_kern_sum NULL
#endif
#if __has_include("exporters/stats/nvtx_gpu_proj_sum.c")
extern const struct stats_report stats_report_nvtx_gpu_proj_sum;
#define REF_nvtx_gpu_proj_sum &stats_report_nvtx_gpu_proj_sum
#else
#define REF_nvtx_gpu_proj_sum NULL
#endif
#if __has_include("exporters/stats/nvtx_gpu_proj_trace.c")
extern const struct stats_report stats_report_nvtx_gpu_proj_trace;
#define REF_nvtx_gpu_proj_trace &stats_report_nvtx_gpu_proj_trace
#else
#define REF_nvtx_gpu_proj_trace NULL
#endif
#if __has_include("exporters/stats/cuda_gpu_mem_peak.c")
extern const struct stats_report stats_report_cuda_gpu_mem_peak;
#define REF_cuda_gpu_mem_peak &stats_report_cuda_gpu_mem_peak
#else
#define REF_cuda_gpu_mem_peak NULL
#endif

#define STATS_REPORT(x) REF_##x,
static const struct stats_report *const registry[] = {
#include "exporters/stats_reports.def"
};
#undef STATS_REPORT

#define NREGISTRY (sizeof(registry) / sizeof(registry[0]))

const struct stats_report *const *stats_reports(void)
{
	static const struct stats_report *list[NREGISTRY + 1];
	static int built;

	if (!built) {
		size_t n = 0;
		for (size_t i = 0; i < NREGISTRY; i++)
			if (registry[i] && registry[i]->name)
				list[n++] = registry[i];
		list[n] = NULL;
		built = 1;
	}
	return list;
}

const struct stats_report *stats_find(const char *name)
{
	for (const struct stats_report *const *r = stats_reports(); *r; r++)
		if (!strcmp((*r)->name, name))
			return *r;
	return NULL;
}

/* "arg" and "arg=value" both name arg. */
static int arg_is(const char *given, const char *arg)
{
	size_t n = strlen(arg);
	return !strncmp(given, arg, n) && (given[n] == '\0' || given[n] == '=');
}

int stats_has_arg(const struct stats_args *a, const char *arg)
{
	for (int i = 0; a && i < a->nargs; i++)
		if (arg_is(a->args[i], arg))
			return 1;
	return 0;
}

static const char *const format_names[] = {"column", "table", "csv", "tsv", "json"};
static const char *const format_exts[] = {"txt", "txt", "csv", "tsv", "json"};

int stats_parse_format(const char *s, enum stats_format *out)
{
	for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++) {
		if (!strcmp(s, format_names[i])) {
			*out = (enum stats_format)i;
			return 0;
		}
	}
	return -1;
}

const char *stats_format_name(enum stats_format f)
{
	return format_names[f];
}

const char *stats_format_ext(enum stats_format f)
{
	return format_exts[f];
}

int stats_parse_timeunit(const char *s, enum stats_timeunit *out)
{
	static const struct {
		const char *name;
		enum stats_timeunit tu;
	} exact[] =
	    {
		{"ns", STATS_TU_NS}, {"us", STATS_TU_US}, {"ms", STATS_TU_MS},
		{"s", STATS_TU_S},   {"sec", STATS_TU_S},
	    },
	  longs[] = {
	      {"nsec", STATS_TU_NS},   {"nanoseconds", STATS_TU_NS},
	      {"usec", STATS_TU_US},   {"microseconds", STATS_TU_US},
	      {"msec", STATS_TU_MS},   {"milliseconds", STATS_TU_MS},
	      {"seconds", STATS_TU_S},
	  };
	size_t len = strlen(s);
	int found = -1;

	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++) {
		if (!strcmp(s, exact[i].name)) {
			*out = exact[i].tu;
			return 0;
		}
	}
	if (!len)
		return -1;
	/* a prefix of the long names: all candidates must agree on the unit */
	for (size_t i = 0; i < sizeof(longs) / sizeof(longs[0]); i++) {
		if (!strncmp(s, longs[i].name, len)) {
			if (found >= 0 && found != (int)longs[i].tu)
				return -1;
			found = (int)longs[i].tu;
		}
	}
	if (found < 0)
		return -1;
	*out = (enum stats_timeunit)found;
	return 0;
}

const char *stats_timeunit_name(enum stats_timeunit u)
{
	static const char *const names[] = {"ns", "us", "ms", "s"};
	return names[u];
}

int stats_split_spec(char *spec, const char **name, struct stats_args *args)
{
	char *p = strchr(spec, ':');

	*name = spec;
	args->nargs = 0;
	while (p) {
		*p++ = '\0';
		if (args->nargs == (int)(sizeof(args->args) / sizeof(args->args[0])))
			return error("too many arguments for report '%s' (at most 16)", spec);
		args->args[args->nargs++] = p;
		p = strchr(p, ':');
	}
	return 0;
}

int stats_table_exists(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st;
	int found = 0;

	if (sqlite3_prepare_v2(db,
			       "SELECT 1 FROM sqlite_master WHERE type IN ('table','view') "
			       "AND name = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	if (!found) {
		/* TEMP views/tables a report may have created */
		if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_temp_master WHERE name = ?1", -1,
				       &st, NULL) != SQLITE_OK)
			return 0;
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		found = sqlite3_step(st) == SQLITE_ROW;
		sqlite3_finalize(st);
	}
	return found;
}

static int check_args(const struct stats_report *r, const struct stats_args *a)
{
	for (int i = 0; a && i < a->nargs; i++) {
		int ok = 0;
		for (const char *const *k = r->args; k && *k && !ok; k++)
			ok = arg_is(a->args[i], *k);
		if (!ok) {
			error("report '%s' has no argument '%s'", r->name, a->args[i]);
			hint("'gprof-cli stats --help-reports %s' lists its arguments", r->name);
			return -1;
		}
	}
	return 0;
}

int stats_run_report(sqlite3 *db, const struct stats_report *r, const struct stats_args *args,
		     const struct stats_fmt_opts *o, FILE *out)
{
	const char *label = o->label ? o->label : "report";
	struct strbuf sql = STRBUF_INIT;
	sqlite3_stmt *st = NULL;
	const char *tail = NULL;
	int ret;

	if (check_args(r, args))
		return -1;
	if (o->banners)
		fprintf(out, "Processing [%s] with [reports/%s.py]... \n", label, r->name);
	for (const char *const *t = r->needs; t && *t; t++) {
		if (!stats_table_exists(db, *t)) {
			if (o->banners)
				fprintf(out, "SKIPPED: %s does not contain %s.\n\n", label,
					r->skip_what ? r->skip_what : *t);
			return 1;
		}
	}
	if (r->query(db, args, &sql)) {
		strbuf_release(&sql);
		return -1;
	}
	if (sqlite3_prepare_v2(db, sql.buf, (int)sql.len, &st, &tail) != SQLITE_OK) {
		error("cannot run report '%s' on '%s': %s", r->name, label, sqlite3_errmsg(db));
		strbuf_release(&sql);
		return -1;
	}
	strbuf_release(&sql);
	if (o->banners && (o->format == STATS_FMT_COLUMN || o->format == STATS_FMT_TABLE))
		fprintf(out, "\n ** %s (%s):\n\n", r->display, r->name);
	ret = stats_format_stmt(st, o, out);
	sqlite3_finalize(st);
	if (!ret && o->banners)
		fputc('\n', out);
	if (!ret && ferror(out))
		ret = error("cannot write report '%s': %s", r->name, strerror(errno));
	return ret;
}

const char *const *stats_default_reports(void)
{
	static const char *const defaults[] = {
	    "nvtx_sum",
	    "osrt_sum",
	    "cuda_api_sum",
	    "cuda_gpu_kern_sum",
	    "cuda_gpu_mem_time_sum",
	    "cuda_gpu_mem_size_sum",
	    NULL,
	};
	return defaults;
}

int stats_print_default(const char *report_path, FILE *out)
{
	struct stats_fmt_opts o = {
	    .format = STATS_FMT_COLUMN,
	    .timeunit = STATS_TU_NS,
	    .banners = 1,
	    .label = report_path,
	};
	struct stats_args none = {0};
	sqlite3 *db = report_open_read(report_path);
	int status = GP_EXIT_OK;

	if (!db)
		return GP_EXIT_BAD_INPUT;
	for (const char *const *n = stats_default_reports(); *n; n++) {
		const struct stats_report *r = stats_find(*n);
		if (r && stats_run_report(db, r, &none, &o, out) < 0)
			status = GP_EXIT_ERROR;
	}
	fflush(out);
	sqlite3_close(db);
	return status;
}
