/*
 * analyze.c - the `gprof-cli analyze` rule registry, argument checks, nsys's time-window
 * filter and the runner that prints a rule's findings as nsys analyze does (analyze.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/nsys_event_type.h"
#include "exporters/analyze.h"

/* nsys's rules in `nsys analyze`'s order (the "nsys" group), then gprof-cli's */
/* clang-format off */
static const struct analyze_rule *const registry[] = {
	&analyze_rule_cuda_memcpy_async,
	&analyze_rule_cuda_memcpy_sync,
	&analyze_rule_cuda_memset_sync,
	&analyze_rule_cuda_api_sync,
	&analyze_rule_gpu_gaps,
	&analyze_rule_gpu_time_util,
	&analyze_rule_dx12_mem_ops,
	&analyze_rule_launch_bound,
	&analyze_rule_sync_in_loop,
	&analyze_rule_copy_storm,
	&analyze_rule_nvtx_gpu_idle,
	&analyze_rule_gpu_mem_leak,
	&analyze_rule_gpu_mem_peak,
	NULL,
};
/* clang-format on */

const struct analyze_rule *const *analyze_rules(void)
{
	return registry;
}

/* Names compare with '-' and '_' as the same character. */
static int same_name(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a == '-' ? '_' : *a, y = *b == '-' ? '_' : *b;
		if (x != y)
			return 0;
	}
	return *a == *b;
}

const struct analyze_rule *analyze_find(const char *name)
{
	for (const struct analyze_rule *const *r = registry; *r; r++)
		if (same_name((*r)->name, name))
			return *r;
	return NULL;
}

/* ---- arguments ------------------------------------------------------------------ */

/* nsys's common arguments of every rule (start/end: ns; rows: -1 = no limit). */
static const struct analyze_arg common_args[] = {
    {"rows", 50, -1, INT64_MAX},
    {"start", 0, 0, INT64_MAX},
    {"end", INT64_MAX, 0, INT64_MAX},
    {NULL, 0, 0, 0},
};

/* The spec of integer argument `name` of ru (NULL when it has none). */
static const struct analyze_arg *arg_spec(const struct analyze_rule *ru, const char *name,
					  size_t len)
{
	for (const struct analyze_arg *a = common_args; a->name; a++)
		if (strlen(a->name) == len && !strncmp(a->name, name, len))
			return a;
	for (const struct analyze_arg *a = ru->args; a && a->name; a++)
		if (strlen(a->name) == len && !strncmp(a->name, name, len))
			return a;
	return NULL;
}

static int parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!*s)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

int analyze_check_args(const struct analyze_rule *ru, const struct stats_args *args)
{
	int64_t start = 0, end = INT64_MAX;

	for (int i = 0; args && i < args->nargs; i++) {
		const char *a = args->args[i], *eq = strchr(a, '=');
		size_t len = eq ? (size_t)(eq - a) : strlen(a);
		const struct analyze_arg *spec;
		int64_t v;

		if (len == 4 && !strncmp(a, "nvtx", 4)) {
			if (!eq || !eq[1]) {
				error("rule '%s': argument 'nvtx' needs a range name", ru->name);
				hint("write %s:nvtx=<range>[@<domain>]", ru->name);
				return -1;
			}
			continue;
		}
		spec = arg_spec(ru, a, len);
		if (!spec) {
			error("rule '%s' has no argument '%.*s'", ru->name, (int)len, a);
			hint("'gprof-cli analyze --help-rules %s' lists its arguments", ru->name);
			return -1;
		}
		if (!eq || parse_i64(eq + 1, &v) || v < spec->min || v > spec->max) {
			error("rule '%s': bad value '%s' for argument '%s'", ru->name,
			      eq ? eq + 1 : "", spec->name);
			if (spec->max >= INT64_MAX / 1000000)
				hint("give %s=<integer>, at least %" PRId64, spec->name, spec->min);
			else
				hint("give %s=<integer> from %" PRId64 " to %" PRId64, spec->name,
				     spec->min, spec->max);
			return -1;
		}
		if (!strcmp(spec->name, "start"))
			start = v;
		if (!strcmp(spec->name, "end"))
			end = v;
	}
	if (start > end) {
		error("rule '%s': the start time (%" PRId64 ") is after the end time (%" PRId64 ")",
		      ru->name, start, end);
		hint("give start=<ns> before end=<ns>");
		return -1;
	}
	return 0;
}

/* The text after "name=" of the last argument called name, or NULL. */
static const char *arg_value(const struct stats_args *args, const char *name)
{
	size_t n = strlen(name);
	const char *found = NULL;

	for (int i = 0; args && i < args->nargs; i++)
		if (!strncmp(args->args[i], name, n) && args->args[i][n] == '=')
			found = args->args[i] + n + 1;
	return found;
}

int64_t analyze_arg(const struct analyze_run *r, const char *name)
{
	const struct analyze_arg *spec = arg_spec(r->rule, name, strlen(name));
	const char *v = arg_value(r->args, name);
	int64_t out;

	if (v && !parse_i64(v, &out))
		return out;
	return spec ? spec->def : 0;
}

const char *analyze_arg_text(const struct analyze_run *r, const char *name)
{
	return arg_value(r->args, name);
}

/* ---- helpers for the rules ------------------------------------------------------- */

int analyze_need(struct analyze_run *r, const char *t, const char *msg)
{
	return stats_table_exists(r->db, t) ? 0 : analyze_skip(r, msg);
}

int analyze_skip(struct analyze_run *r, const char *msg)
{
	strbuf_reset(&r->skip);
	for (const char *p = msg; *p; p++) {
		if (p[0] == '%' && p[1] == 's') {
			strbuf_addstr(&r->skip, r->label);
			p++;
		} else {
			strbuf_addch(&r->skip, *p);
		}
	}
	return 1;
}

void analyze_add_count(struct strbuf *sb, int64_t n)
{
	char num[32];

	snprintf(num, sizeof(num), "%" PRId64, n);
	stats_add_thousands(sb, num);
}

void analyze_add_duration(struct strbuf *sb, double ns)
{
	if (ns < 1e3)
		strbuf_addf(sb, "%.0f ns", ns);
	else if (ns < 1e6)
		strbuf_addf(sb, "%.1f us", ns / 1e3);
	else if (ns < 1e9)
		strbuf_addf(sb, "%.1f ms", ns / 1e6);
	else
		strbuf_addf(sb, "%.2f s", ns / 1e9);
}

void analyze_add_limit(const struct analyze_run *r, struct strbuf *sb)
{
	if (r->rows >= 0)
		strbuf_addf(sb, " LIMIT %" PRId64, r->rows);
}

sqlite3_stmt *analyze_rows_stmt(struct analyze_run *r, const char *sql)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) == SQLITE_OK)
		return st;
	error("cannot read the rows of rule '%s': %s", r->rule->name, sqlite3_errmsg(r->db));
	return NULL;
}

int analyze_rows_end(struct analyze_run *r, sqlite3_stmt *st, int rc)
{
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return 0;
	return error("cannot read the rows of rule '%s': %s", r->rule->name, sqlite3_errmsg(r->db));
}

void analyze_wrap(struct strbuf *out, const char *text, size_t width)
{
	const char *p = text;

	while (*p) {
		const char *nl = strchr(p, '\n');
		const char *end = nl ? nl : p + strlen(p);
		size_t col = 0;
		int first = 1;

		/* leading blanks of the line are kept and not counted */
		while (p < end && *p == ' ') {
			strbuf_addch(out, ' ');
			p++;
		}
		while (p < end) {
			const char *w = p;
			size_t wl;

			while (p < end && *p != ' ')
				p++;
			wl = (size_t)(p - w);
			/* a run of blanks between words is one separator */
			while (p < end && *p == ' ')
				p++;
			if (!first && col + 1 + wl > width) {
				strbuf_addch(out, '\n');
				col = 0;
			} else if (!first) {
				strbuf_addch(out, ' ');
				col++;
			}
			strbuf_add(out, w, wl);
			col += wl;
			first = 0;
		}
		if (!nl)
			break;
		strbuf_addch(out, '\n');
		p = nl + 1;
	}
}

/* ---- nsys's time window (start=, end=, nvtx=) ----------------------------------- */

/* nvtx=<range[@domain]>: the first push/pop or start/end range (by start) whose
 * "message" plus "@domain" (nothing for the default domain) is spec.  1 found, 0 not,
 * -1 after an error. */
static int find_nvtx(sqlite3 *db, const char *spec, int64_t *start, int64_t *end, int64_t *gtid)
{
	static const char sql[] =
	    "WITH dom AS (SELECT domainId, globalTid >> 24 AS gp, text FROM NVTX_EVENTS "
	    "WHERE eventType = " NVTX_EV_DOMAIN_CREATE_S ") "
	    "SELECT e.start, e.end, e.globalTid FROM main.NVTX_EVENTS AS e "
	    "LEFT JOIN dom ON dom.domainId = e.domainId AND dom.gp = e.globalTid >> 24 "
	    "LEFT JOIN StringIds AS s ON s.id = e.textId "
	    "WHERE e.eventType IN (" NVTX_EV_PUSHPOP_S ", " NVTX_EV_STARTEND_S
	    ", " NVTXT_EV_PUSHPOP_S ", " NVTXT_EV_STARTEND_S ") "
	    "AND coalesce(e.text, s.value) || coalesce('@' || dom.text, '') = ?1 "
	    "ORDER BY 1 LIMIT 1";
	sqlite3_stmt *st;
	int rc;

	if (!stats_table_exists(db, "NVTX_EVENTS"))
		return 0;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return error("cannot look up NVTX range '%s': %s", spec, sqlite3_errmsg(db));
	sqlite3_bind_text(st, 1, spec, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*start = sqlite3_column_int64(st, 0);
		*end = sqlite3_column_type(st, 1) == SQLITE_NULL ? INT64_MAX
								 : sqlite3_column_int64(st, 1);
		*gtid = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return error("cannot look up NVTX range '%s': %s", spec, sqlite3_errmsg(db));
	return rc == SQLITE_ROW;
}

/*
 * Replace every table with start and end columns by a TEMP view of the rows that
 * overlap [start, end) (nsys's filter; with nvtx=, only the range's thread for a push/pop
 * range off the main thread, else its process).  0, 1 when the NVTX range is not in the
 * report (r->skip says so), -1 after an error.
 */
static int apply_window(struct analyze_run *r)
{
	const char *nvtx = analyze_arg_text(r, "nvtx");
	int64_t start = 0, end = INT64_MAX, gtid = 0;
	int have_start = analyze_arg_text(r, "start") != NULL,
	    have_end = analyze_arg_text(r, "end") != NULL, by_thread = 0, by_process = 0;
	struct strbuf sb = STRBUF_INIT;
	char **tables = NULL;
	size_t n = 0, alloc = 0;
	sqlite3_stmt *st;
	int ret = 0;

	if (!nvtx && !have_start && !have_end)
		return 0;
	if (nvtx) {
		int found = find_nvtx(r->db, nvtx, &start, &end, &gtid);
		if (found < 0)
			return -1;
		if (!found) {
			strbuf_addf(&r->skip, "NVTX range '%s' could not be found.", nvtx);
			return 1;
		}
		by_thread = ((gtid >> 24) & 0xFFFFFF) != (gtid & 0xFFFFFF);
		by_process = !by_thread;
	}
	if (have_start)
		start = analyze_arg(r, "start");
	if (have_end)
		end = analyze_arg(r, "end");
	if (start > end) {
		strbuf_addstr(&r->skip, "The start time cannot be greater than the end time.");
		return 1;
	}
	if (sqlite3_prepare_v2(
		r->db,
		"SELECT name FROM main.sqlite_master WHERE type IN ('table', 'view') "
		"ORDER BY name",
		-1, &st, NULL) != SQLITE_OK)
		return error("cannot list the tables of '%s': %s", r->label, sqlite3_errmsg(r->db));
	while (sqlite3_step(st) == SQLITE_ROW) {
		GP_ALLOC_GROW(tables, n + 1, alloc);
		tables[n++] = xstrdup((const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	for (size_t i = 0; i < n && !ret; i++) {
		const char *t = tables[i];
		if (!stats_column_exists(r->db, t, "start") ||
		    !stats_column_exists(r->db, t, "end"))
			continue;
		strbuf_reset(&sb);
		strbuf_addstr(&sb, "CREATE TEMP VIEW ");
		stats_sql_ident(&sb, t);
		strbuf_addstr(&sb, " AS SELECT rowid, * FROM main.");
		stats_sql_ident(&sb, t);
		strbuf_addf(&sb,
			    " WHERE ((start >= %" PRId64 " AND start < %" PRId64
			    ") OR (end >= %" PRId64 " AND end < %" PRId64 ") OR (start < %" PRId64
			    " AND end >= %" PRId64 "))",
			    start, end, start, end, start, end);
		if (by_thread || by_process) {
			if (stats_column_exists(r->db, t, "globalTid")) {
				if (by_thread)
					strbuf_addf(&sb, " AND globalTid = %" PRId64, gtid);
				else
					strbuf_addf(&sb, " AND globalTid >> 24 = %" PRId64,
						    gtid >> 24);
			} else if (stats_column_exists(r->db, t, "globalPid")) {
				strbuf_addf(&sb, " AND globalPid >> 24 = %" PRId64, gtid >> 24);
			} else {
				continue;
			}
		}
		ret = stats_exec(r->db, sb.buf, "cannot apply the time window");
	}
	for (size_t i = 0; i < n; i++)
		free(tables[i]);
	free(tables);
	strbuf_release(&sb);
	return ret;
}

/* Drop every TEMP object (the window views, the rule's tables): the next rule starts
 * from the report as it is. */
static void drop_temp(sqlite3 *db)
{
	struct strbuf sb = STRBUF_INIT;
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db,
			       "SELECT type, name FROM sqlite_temp_master WHERE type IN "
			       "('view', 'table') ORDER BY type = 'table'",
			       -1, &st, NULL) != SQLITE_OK)
		return;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *type = (const char *)sqlite3_column_text(st, 0);
		strbuf_addstr(&sb, !strcmp(type, "view") ? "DROP VIEW temp." : "DROP TABLE temp.");
		stats_sql_ident(&sb, (const char *)sqlite3_column_text(st, 1));
		strbuf_addstr(&sb, ";");
	}
	sqlite3_finalize(st);
	if (sb.len)
		sqlite3_exec(db, sb.buf, NULL, NULL, NULL);
	strbuf_release(&sb);
}

/* ---- running a rule ----------------------------------------------------------------- */

/* Append text for a terminal, line by line: the messages name NVTX ranges and API
 * functions, which are the application's bytes; control characters and invalid UTF-8
 * become escapes as in the tables (stats_add_terminal_text), the line breaks stay. */
static void add_terminal_lines(struct strbuf *out, const char *text)
{
	strbuf_reset(out);
	for (const char *p = text;;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		stats_add_terminal_text(out, p, len);
		if (!nl)
			break;
		strbuf_addch(out, '\n');
		p = nl + 1;
	}
}

/* nsys's line under a table cut at rows= rows ("" when not cut). */
static void row_limit_message(const struct analyze_run *r, int64_t n, struct strbuf *sb)
{
	if (r->rows <= 0 || n < r->rows)
		return;
	if (r->rows == 1)
		strbuf_addstr(sb, "Only the top result is displayed. More data may be available.");
	else
		strbuf_addf(sb,
			    "Only the top %" PRId64 " results are displayed. More data may be "
			    "available.",
			    n);
}

static int64_t count_rows(sqlite3 *db)
{
	sqlite3_stmt *st;
	int64_t n = -1;

	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM temp.gp_analyze_rows", -1, &st, NULL) ==
	    SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	return n;
}

int64_t analyze_run_rule(sqlite3 *db, const char *label, const struct analyze_rule *ru,
			 const struct stats_args *args, const struct analyze_opts *o, FILE *out)
{
	struct analyze_run r = {
	    .db = db,
	    .label = label,
	    .rule = ru,
	    .args = args,
	    .sql = STRBUF_INIT,
	    .skip = STRBUF_INIT,
	    .advice = STRBUF_INIT,
	    .noresult = STRBUF_INIT,
	};
	struct strbuf text = STRBUF_INIT, make = STRBUF_INIT;
	int aligned = o->format == STATS_FMT_COLUMN || o->format == STATS_FMT_TABLE;
	int64_t n = 0;
	int rc;

	r.rows = analyze_arg(&r, "rows");
	if (!o->quiet)
		fprintf(out, "Processing [%s] with [rules/%s%s]... \n", label, ru->name,
			ru->flags & ANALYZE_NSYS ? ".py" : "");
	rc = apply_window(&r);
	if (!rc)
		rc = ru->prepare(&r);
	if (rc == 1) {
		if (!o->quiet)
			fprintf(out, "SKIPPED: %s\n\n", r.skip.buf);
		goto done;
	}
	if (rc < 0) {
		n = -1;
		goto done;
	}
	strbuf_addstr(&make, "CREATE TEMP TABLE gp_analyze_rows AS ");
	strbuf_add(&make, r.sql.buf, r.sql.len);
	if (stats_exec(db, make.buf, "cannot run rule") < 0 || (n = count_rows(db)) < 0) {
		error("rule '%s' failed on '%s'", ru->name, label);
		n = -1;
		goto done;
	}
	if (n > 0 && ru->explain && ru->explain(&r) < 0) {
		n = -1;
		goto done;
	}
	if (aligned) {
		fprintf(out, "\n ** %s (%s):\n\n", ru->display, ru->name);
		analyze_wrap(&text, n > 0 ? r.advice.buf : r.noresult.buf, 79);
		add_terminal_lines(&make, text.buf);
		fprintf(out, "%s\n\n", make.buf);
	}
	if (n > 0 || !aligned) {
		struct stats_fmt_opts fo = {
		    .format = o->format,
		    .timeunit = o->timeunit,
		    .banners = 0,
		    .label = label,
		};
		sqlite3_stmt *st;

		if (sqlite3_prepare_v2(db, "SELECT * FROM temp.gp_analyze_rows ORDER BY rowid", -1,
				       &st, NULL) != SQLITE_OK) {
			error("cannot read the rows of rule '%s': %s", ru->name,
			      sqlite3_errmsg(db));
			n = -1;
			goto done;
		}
		if (stats_format_stmt(st, &fo, out) < 0)
			n = -1;
		sqlite3_finalize(st);
		if (n < 0)
			goto done;
		/* nsys: a blank line, then the row-limit line and two more */
		if (aligned || !o->quiet)
			fputc('\n', out);
		strbuf_reset(&text);
		if (aligned)
			row_limit_message(&r, n, &text);
		if (text.len)
			fprintf(out, "%s\n\n\n", text.buf);
	}
	if (ferror(out))
		n = error("cannot write the output of rule '%s': %s", ru->name, strerror(errno));
done:
	drop_temp(db);
	strbuf_release(&r.sql);
	strbuf_release(&r.skip);
	strbuf_release(&r.advice);
	strbuf_release(&r.noresult);
	strbuf_release(&text);
	strbuf_release(&make);
	return n;
}
