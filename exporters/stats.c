/*
 * stats.c - the `gprof-cli stats` report registry and runner (nsys-cli.md section 2).
 *
 * The registry is exporters/stats_reports.def: one STATS_REPORT(name) line per report,
 * each defined as stats_report_<name> in exporters/stats/<name>.c (a line without its
 * file fails the link).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "exporters/report_open.h"
#include "exporters/stats.h"

/* Each STATS_REPORT(x) line of the .def (an X-macro), twice: the declaration of
 * stats_report_x, then its place in the registry. */
#define STATS_REPORT(x) extern const struct stats_report stats_report_##x;
#include "exporters/stats_reports.def"
#undef STATS_REPORT

#define STATS_REPORT(x) &stats_report_##x,
static const struct stats_report *const registry[] = {
#include "exporters/stats_reports.def"
    NULL,
};
#undef STATS_REPORT

const struct stats_report *const *stats_reports(void)
{
	return registry;
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

int stats_exec(sqlite3 *db, const char *sql, const char *what)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		error("%s: %s", what, msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int stats_table_exists(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st;
	int found = 0;

	if (sqlite3_prepare_v2(db,
			       "SELECT 1 FROM sqlite_master WHERE name = ?1 AND type IN "
			       "('table','view') UNION ALL SELECT 1 FROM sqlite_temp_master "
			       "WHERE name = ?1 AND type IN ('table','view')",
			       -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

int stats_column_exists(sqlite3 *db, const char *table, const char *col)
{
	sqlite3_stmt *st;
	int found = 0;

	if (sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2", -1, &st,
			       NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, col, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
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

/* The skip reason for table t of report r (needs_what, else skip_what, else t). */
static const char *skip_reason(const struct stats_report *r, size_t i, const char *t)
{
	if (r->needs_what && r->needs_what[i])
		return r->needs_what[i];
	return r->skip_what ? r->skip_what : t;
}

int stats_prepare_report(sqlite3 *db, const struct stats_report *r, const struct stats_args *args,
			 const char *label, sqlite3_stmt **st, const char **skip_what)
{
	struct strbuf sql = STRBUF_INIT;
	const char *tail = NULL;

	*st = NULL;
	if (check_args(r, args))
		return -1;
	for (size_t i = 0; r->needs && r->needs[i]; i++) {
		if (!stats_table_exists(db, r->needs[i])) {
			*skip_what = skip_reason(r, i, r->needs[i]);
			return 1;
		}
	}
	if (r->needs_any && r->needs_any[0]) {
		int any = 0;
		for (const char *const *t = r->needs_any; *t && !any; t++)
			any = stats_table_exists(db, *t);
		if (!any) {
			*skip_what = r->any_what ? r->any_what : r->needs_any[0];
			return 1;
		}
	}
	if (r->query(db, args, &sql)) {
		strbuf_release(&sql);
		return -1;
	}
	if (sqlite3_prepare_v2(db, sql.buf, (int)sql.len, st, &tail) != SQLITE_OK) {
		error("cannot run report '%s' on '%s': %s", r->name, label, sqlite3_errmsg(db));
		strbuf_release(&sql);
		*st = NULL;
		return -1;
	}
	strbuf_release(&sql);
	return 0;
}

int stats_run_report(sqlite3 *db, const struct stats_report *r, const struct stats_args *args,
		     const struct stats_fmt_opts *o, FILE *out)
{
	const char *label = o->label ? o->label : "report";
	const char *what = NULL;
	sqlite3_stmt *st = NULL;
	int ret;

	if (check_args(r, args))
		return -1;
	if (o->banners)
		fprintf(out, "Processing [%s] with [reports/%s.py]... \n", label, r->name);
	ret = stats_prepare_report(db, r, args, label, &st, &what);
	if (ret == 1 && o->banners)
		fprintf(out, "SKIPPED: %s does not contain %s.\n\n", label, what);
	if (ret)
		return ret;
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

void stats_sql_ident(struct strbuf *sb, const char *name)
{
	strbuf_addch(sb, '"');
	for (const char *p = name; *p; p++) {
		if (*p == '"')
			strbuf_addch(sb, '"');
		strbuf_addch(sb, *p);
	}
	strbuf_addch(sb, '"');
}

/* Create merged("Report", <st's columns>) on mem and an INSERT statement for it. */
static int merged_create(sqlite3 *mem, sqlite3_stmt *st, sqlite3_stmt **ins)
{
	struct strbuf sql = STRBUF_INIT;
	int n = sqlite3_column_count(st), rc;

	strbuf_addstr(&sql, "CREATE TABLE merged(\"Report\"");
	for (int i = 0; i < n; i++) {
		strbuf_addch(&sql, ',');
		stats_sql_ident(&sql, sqlite3_column_name(st, i));
	}
	strbuf_addch(&sql, ')');
	rc = sqlite3_exec(mem, sql.buf, NULL, NULL, NULL);
	strbuf_reset(&sql);
	strbuf_addstr(&sql, "INSERT INTO merged VALUES (?");
	for (int i = 0; i < n; i++)
		strbuf_addstr(&sql, ",?");
	strbuf_addch(&sql, ')');
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(mem, sql.buf, -1, ins, NULL);
	strbuf_release(&sql);
	if (rc != SQLITE_OK)
		return error("cannot build the merged table: %s", sqlite3_errmsg(mem));
	return 0;
}

/* Copy every row of st (from report label) into merged through ins. */
static int merged_copy(sqlite3 *mem, sqlite3_stmt *ins, sqlite3_stmt *st, const char *label,
		       int ncols)
{
	int rc;

	if (sqlite3_column_count(st) != ncols)
		return error("report '%s' has %d columns, the others %d: cannot merge", label,
			     sqlite3_column_count(st), ncols);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sqlite3_bind_text(ins, 1, label, -1, SQLITE_STATIC);
		for (int i = 0; i < ncols; i++)
			sqlite3_bind_value(ins, i + 2, sqlite3_column_value(st, i));
		if (sqlite3_step(ins) != SQLITE_DONE)
			return error("cannot build the merged table: %s", sqlite3_errmsg(mem));
		sqlite3_reset(ins);
	}
	if (rc != SQLITE_DONE)
		return error("cannot read report rows of '%s': %s", label,
			     sqlite3_errmsg(sqlite3_db_handle(st)));
	return 0;
}

int stats_run_merged(sqlite3 *const *dbs, const char *const *labels, size_t n,
		     const struct stats_report *r, const struct stats_args *args,
		     const struct stats_fmt_opts *o, FILE *out)
{
	const char *label = o->label ? o->label : "reports";
	sqlite3 *mem = NULL;
	sqlite3_stmt *ins = NULL, *sel = NULL;
	int ret = 0, ncols = -1, nskipped = 0;
	const char *what = NULL;

	if (check_args(r, args))
		return -1;
	if (sqlite3_open(":memory:", &mem) != SQLITE_OK) {
		sqlite3_close(mem);
		return error("cannot open an in-memory database for --merge");
	}
	sqlite3_exec(mem, "BEGIN", NULL, NULL, NULL);
	if (o->banners)
		fprintf(out, "Processing [%s] with [reports/%s.py]... \n", label, r->name);
	for (size_t i = 0; i < n && !ret; i++) {
		sqlite3_stmt *st = NULL;
		const char *why = NULL;
		int rc = stats_prepare_report(dbs[i], r, args, labels[i], &st, &why);
		if (rc < 0) {
			ret = -1;
			break;
		}
		if (rc == 1) {
			nskipped++;
			what = why;
			if (o->banners && (size_t)nskipped < n)
				fprintf(out, "SKIPPED: %s does not contain %s.\n", labels[i], why);
			continue;
		}
		if (ncols < 0) {
			ncols = sqlite3_column_count(st);
			ret = merged_create(mem, st, &ins);
		}
		if (!ret)
			ret = merged_copy(mem, ins, st, labels[i], ncols);
		sqlite3_finalize(st);
	}
	if (!ret && (size_t)nskipped == n) {
		if (o->banners)
			fprintf(out, "SKIPPED: %s do%s not contain %s.\n\n", label,
				n == 1 ? "es" : "", what);
		ret = 1;
	}
	if (!ret && sqlite3_prepare_v2(mem, "SELECT * FROM merged ORDER BY rowid", -1, &sel,
				       NULL) != SQLITE_OK)
		ret = error("cannot read the merged table: %s", sqlite3_errmsg(mem));
	if (!ret) {
		if (o->banners && (o->format == STATS_FMT_COLUMN || o->format == STATS_FMT_TABLE))
			fprintf(out, "\n ** %s (%s):\n\n", r->display, r->name);
		ret = stats_format_stmt(sel, o, out);
		if (!ret && o->banners)
			fputc('\n', out);
		if (!ret && ferror(out))
			ret = error("cannot write report '%s': %s", r->name, strerror(errno));
	}
	sqlite3_finalize(sel);
	sqlite3_finalize(ins);
	sqlite3_close(mem);
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
		if (r && stats_run_report(db, r, &none, &o, out) < 0) {
			status = GP_EXIT_ERROR;
			if (report_db_damaged(db)) {
				report_hint_damaged(db);
				status = GP_EXIT_BAD_INPUT;
				break; /* one error for the file, not one per report */
			}
		}
	}
	fflush(out);
	sqlite3_close(db);
	return status;
}
