/*
 * export.c - `gprof-cli export` writer (see export.h).
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "exporters/export.h"
#include "exporters/report_open.h"
#include "exporters/stats.h"

static const char *const string_ref_cols[] = {
    "nameId",	      "textId",	    "jsonTextId",  "filenameId", "contentId",
    "demangledName",  "shortName",  "mangledName", "symbol",	 "module",
    "CpuInstruction", "sourceFile", NULL,
};

int export_is_string_ref(const char *table, const char *col, const char *decltype)
{
	if (!strcmp(table, "StringIds") || !decltype || !strcasestr(decltype, "INT"))
		return 0;
	for (const char *const *c = string_ref_cols; *c; c++)
		if (!strcmp(col, *c))
			return 1;
	return 0;
}

char *export_default_output(const char *db_path, enum export_type t)
{
	const char *slash = strrchr(db_path, '/'), *dot = strrchr(db_path, '.');
	size_t len = strlen(db_path);

	if (dot && (!slash || dot > slash + 1))
		len = (size_t)(dot - db_path);
	return xasprintf("%.*s%s", (int)len, db_path,
			 t == EXPORT_CSV      ? "_csv"
			 : t == EXPORT_FOLDED ? ".folded"
					      : ".jsonl");
}

struct table {
	char *name;
	int ncols;    /* output columns */
	char **names; /* output column names */
	sqlite3_stmt *st;
};

/* The tables to export, in name order; patterns filter them. */
static int list_tables(sqlite3 *db, const struct export_opts *o, char ***out, size_t *n)
{
	regex_t *re = NULL;
	size_t nre = 0, alloc = 0;
	sqlite3_stmt *st;
	int rc, ret = GP_EXIT_OK;

	*out = NULL;
	*n = 0;
	for (const char *const *p = o->tables; p && *p; p++)
		nre++;
	if (nre) {
		re = xcalloc(nre, sizeof(*re));
		for (size_t i = 0; i < nre; i++) {
			if (regcomp(&re[i], o->tables[i], REG_ICASE | REG_NOSUB) != 0) {
				error("bad --tables pattern '%s'", o->tables[i]);
				hint("patterns are POSIX basic regular expressions, e.g. '^NVTX'");
				for (size_t k = 0; k < i; k++)
					regfree(&re[k]);
				free(re);
				return GP_EXIT_USAGE;
			}
		}
	}
	if (sqlite3_prepare_v2(db,
			       "SELECT name FROM sqlite_master WHERE type = 'table' "
			       "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
			       -1, &st, NULL) != SQLITE_OK) {
		ret = error("cannot list the report's tables: %s", sqlite3_errmsg(db));
		ret = GP_EXIT_ERROR;
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		int keep = !nre;
		for (size_t i = 0; i < nre && !keep; i++)
			keep = regexec(&re[i], name, 0, NULL, 0) == 0;
		if (!keep)
			continue;
		GP_ALLOC_GROW(*out, *n + 1, alloc);
		(*out)[(*n)++] = xstrdup(name);
	}
	if (rc != SQLITE_DONE) {
		error("cannot list the report's tables: %s", sqlite3_errmsg(db));
		ret = GP_EXIT_ERROR;
	}
	sqlite3_finalize(st);
	if (!ret && !*n) {
		error("no table of the report matches --tables");
		hint("'sqlite3 REPORT.db .tables' lists them");
		ret = GP_EXIT_USAGE;
	}
out:
	for (size_t i = 0; i < nre; i++)
		regfree(&re[i]);
	free(re);
	return ret;
}

/* Prepare the streaming SELECT of one table, with StringIds companions. */
static int prepare_table(sqlite3 *db, struct table *t)
{
	struct strbuf q = STRBUF_INIT, joins = STRBUF_INIT, sql = STRBUF_INIT;
	sqlite3_stmt *info;
	int rc, nref = 0, have_strings = stats_table_exists(db, "StringIds");
	size_t alloc = 0;

	strbuf_addstr(&q, "PRAGMA table_info(");
	stats_sql_ident(&q, t->name);
	strbuf_addch(&q, ')');
	if (sqlite3_prepare_v2(db, q.buf, -1, &info, NULL) != SQLITE_OK) {
		strbuf_release(&q);
		return error("cannot read the columns of table '%s': %s", t->name,
			     sqlite3_errmsg(db));
	}
	strbuf_addstr(&sql, "SELECT ");
	t->ncols = 0;
	while ((rc = sqlite3_step(info)) == SQLITE_ROW) {
		const char *col = (const char *)sqlite3_column_text(info, 1);
		const char *type = (const char *)sqlite3_column_text(info, 2);
		int ref = have_strings && export_is_string_ref(t->name, col, type);
		GP_ALLOC_GROW(t->names, (size_t)t->ncols + 2, alloc);
		if (t->ncols)
			strbuf_addstr(&sql, ", ");
		strbuf_addstr(&sql, "t.");
		stats_sql_ident(&sql, col);
		t->names[t->ncols++] = xstrdup(col);
		if (ref) {
			nref++;
			strbuf_addf(&sql, ", s%d.value", nref);
			t->names[t->ncols++] = xasprintf("%s_value", col);
			strbuf_addf(&joins, " LEFT JOIN StringIds AS s%d ON s%d.id = t.", nref,
				    nref);
			stats_sql_ident(&joins, col);
		}
	}
	sqlite3_finalize(info);
	strbuf_addstr(&sql, " FROM ");
	stats_sql_ident(&sql, t->name);
	strbuf_addstr(&sql, " AS t");
	strbuf_addstr(&sql, joins.buf);
	rc = rc == SQLITE_DONE ? sqlite3_prepare_v2(db, sql.buf, -1, &t->st, NULL) : rc;
	if (rc != SQLITE_OK)
		error("cannot read table '%s': %s", t->name, sqlite3_errmsg(db));
	strbuf_release(&q);
	strbuf_release(&joins);
	strbuf_release(&sql);
	return rc == SQLITE_OK ? 0 : -1;
}

static void release_table(struct table *t)
{
	for (int i = 0; i < t->ncols; i++)
		free(t->names[i]);
	free(t->names);
	sqlite3_finalize(t->st);
	memset(t, 0, sizeof(*t));
}

/* A REAL with the fewest digits (up to 17) that read back to the same double. */
static void add_real(struct strbuf *sb, double d)
{
	char buf[40];

	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	strbuf_addstr(sb, buf);
}

static void add_value(struct strbuf *sb, sqlite3_stmt *st, int i, int json)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_NULL:
		if (json)
			strbuf_addstr(sb, "null");
		break;
	case SQLITE_INTEGER:
		strbuf_addf(sb, "%lld", (long long)sqlite3_column_int64(st, i));
		break;
	case SQLITE_FLOAT: {
		double d = sqlite3_column_double(st, i);
		if (!isfinite(d))
			strbuf_addstr(sb, json ? "null"
					       : (isnan(d) ? "NaN"
						  : d > 0  ? "Inf"
							   : "-Inf"));
		else
			add_real(sb, d);
		break;
	}
	case SQLITE_BLOB: {
		const unsigned char *b = sqlite3_column_blob(st, i);
		int n = sqlite3_column_bytes(st, i);
		if (json)
			strbuf_addch(sb, '"');
		for (int k = 0; k < n; k++)
			strbuf_addf(sb, "%02x", b[k]);
		if (json)
			strbuf_addch(sb, '"');
		break;
	}
	default: {
		const char *s = (const char *)sqlite3_column_text(st, i);
		size_t n = (size_t)sqlite3_column_bytes(st, i);
		if (json)
			stats_add_json_string(sb, s, n);
		else
			stats_add_csv_field(sb, s, n);
	}
	}
}

static int flush(struct strbuf *sb, FILE *f, const char *what)
{
	if (sb->len && fwrite(sb->buf, 1, sb->len, f) != sb->len)
		return error("cannot write '%s': %s", what, strerror(errno));
	strbuf_reset(sb);
	return 0;
}

/* Stream table t to f.  Counts rows into *rows.  0, -1 (write error) or -2 (the report
 * could not be read). */
static int write_table(struct table *t, FILE *f, const char *what, int json, uint64_t *rows)
{
	struct strbuf sb = STRBUF_INIT, tname = STRBUF_INIT;
	int rc, ret = 0;

	if (json) {
		stats_add_json_string(&tname, t->name, strlen(t->name));
	} else {
		for (int i = 0; i < t->ncols; i++) {
			if (i)
				strbuf_addch(&sb, ',');
			stats_add_csv_field(&sb, t->names[i], strlen(t->names[i]));
		}
		strbuf_addstr(&sb, "\r\n");
	}
	while ((rc = sqlite3_step(t->st)) == SQLITE_ROW) {
		if (json) {
			strbuf_addstr(&sb, "{\"table\":");
			strbuf_addstr(&sb, tname.buf);
			for (int i = 0; i < t->ncols; i++) {
				strbuf_addch(&sb, ',');
				stats_add_json_string(&sb, t->names[i], strlen(t->names[i]));
				strbuf_addch(&sb, ':');
				add_value(&sb, t->st, i, 1);
			}
			strbuf_addstr(&sb, "}\n");
		} else {
			for (int i = 0; i < t->ncols; i++) {
				if (i)
					strbuf_addch(&sb, ',');
				add_value(&sb, t->st, i, 0);
			}
			strbuf_addstr(&sb, "\r\n");
		}
		(*rows)++;
		if (sb.len >= 1 << 16 && (ret = flush(&sb, f, what)))
			break;
	}
	if (!ret && rc != SQLITE_DONE) {
		error("cannot read table '%s': %s", t->name,
		      sqlite3_errmsg(sqlite3_db_handle(t->st)));
		ret = -2;
	}
	if (!ret)
		ret = flush(&sb, f, what);
	strbuf_release(&sb);
	strbuf_release(&tname);
	return ret;
}

/* Exit status for a failed read of db (the error is printed): GP_EXIT_BAD_INPUT, with a
 * hint, when SQLite found the file damaged, else GP_EXIT_ERROR. */
static int read_error_status(sqlite3 *db)
{
	if (!report_db_damaged(db))
		return GP_EXIT_ERROR;
	report_hint_damaged(db);
	return GP_EXIT_BAD_INPUT;
}

static int path_exists(const char *p)
{
	struct stat sb;
	return lstat(p, &sb) == 0;
}

/* Remove the staging directory and what it holds (only files we created). */
static void remove_stage(const char *stage, char **files, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *p = xasprintf("%s/%s", stage, files[i]);
		unlink(p);
		free(p);
	}
	rmdir(stage);
}

static int export_csv(sqlite3 *db, const struct export_opts *o, char **tables, size_t ntables,
		      uint64_t *rows)
{
	const char *dir = o->output;
	struct stat sb;
	int dir_exists = stat(dir, &sb) == 0, status = GP_EXIT_OK;
	char *stage, **files = xcalloc(ntables, sizeof(char *));
	size_t nfiles = 0;

	if (dir_exists && !S_ISDIR(sb.st_mode)) {
		error("output '%s' exists and is not a directory", dir);
		hint("give another directory with -o DIR");
		free(files);
		return GP_EXIT_OUTPUT;
	}
	if (dir_exists && !o->force) {
		for (size_t i = 0; i < ntables; i++) {
			char *p = xasprintf("%s/%s.csv", dir, tables[i]);
			int ex = path_exists(p);
			if (ex) {
				error("output '%s' exists", p);
				hint("use --force-overwrite to replace it, or another -o DIR");
			}
			free(p);
			if (ex) {
				free(files);
				return GP_EXIT_OUTPUT;
			}
		}
	}
	stage =
	    dir_exists ? xasprintf("%s/.gprof-export-XXXXXX", dir) : xasprintf("%s.tmpXXXXXX", dir);
	if (!mkdtemp(stage)) {
		error("cannot create '%s': %s", dir, strerror(errno));
		if (errno == ENOENT)
			hint("create the parent folder first");
		free(stage);
		free(files);
		return GP_EXIT_OUTPUT;
	}
	for (size_t i = 0; i < ntables && !status; i++) {
		struct table t = {.name = tables[i]};
		char *path;
		FILE *f;

		files[nfiles++] = xasprintf("%s.csv", tables[i]);
		path = xasprintf("%s/%s", stage, files[nfiles - 1]);
		if (prepare_table(db, &t)) {
			status = read_error_status(db);
		} else if (!(f = fopen(path, "w"))) {
			error("cannot create '%s/%s': %s", dir, files[nfiles - 1], strerror(errno));
			status = GP_EXIT_OUTPUT;
		} else {
			int wr = write_table(&t, f, path, 0, rows);

			if (wr)
				status = wr == -2 ? read_error_status(db) : GP_EXIT_OUTPUT;
			if (fclose(f) != 0 && !status) {
				error("cannot write '%s/%s': %s", dir, files[nfiles - 1],
				      strerror(errno));
				status = GP_EXIT_OUTPUT;
			}
		}
		release_table(&t);
		free(path);
	}
	if (!status && !dir_exists) {
		if (rename(stage, dir) != 0) {
			error("cannot rename '%s' to '%s': %s", stage, dir, strerror(errno));
			status = GP_EXIT_OUTPUT;
		}
	} else if (!status) {
		for (size_t i = 0; i < nfiles && !status; i++) {
			char *from = xasprintf("%s/%s", stage, files[i]);
			char *to = xasprintf("%s/%s", dir, files[i]);
			if (rename(from, to) != 0) {
				error("cannot move '%s' to '%s': %s", from, to, strerror(errno));
				status = GP_EXIT_OUTPUT;
			}
			free(from);
			free(to);
		}
		rmdir(stage);
	}
	if (status)
		remove_stage(stage, files, nfiles);
	for (size_t i = 0; i < nfiles; i++)
		free(files[i]);
	free(files);
	free(stage);
	return status;
}

int export_output_open(const char *path, int force, FILE **f, char **tmp)
{
	int fd;

	*tmp = NULL;
	*f = stdout;
	if (!strcmp(path, "-"))
		return GP_EXIT_OK;
	if (!force && path_exists(path)) {
		error("output '%s' exists", path);
		hint("use --force-overwrite to replace it, or another -o FILE");
		return GP_EXIT_OUTPUT;
	}
	*tmp = xasprintf("%s.tmpXXXXXX", path);
	fd = mkstemp(*tmp);
	if (fd < 0) {
		error("cannot create '%s': %s", path, strerror(errno));
		if (errno == ENOENT)
			hint("create the parent folder first");
		free(*tmp);
		*tmp = NULL;
		return GP_EXIT_OUTPUT;
	}
	fchmod(fd, 0644);
	*f = fdopen(fd, "w");
	if (!*f) {
		error("cannot create '%s': %s", path, strerror(errno));
		close(fd);
		unlink(*tmp);
		free(*tmp);
		*tmp = NULL;
		return GP_EXIT_OUTPUT;
	}
	return GP_EXIT_OK;
}

int export_output_close(FILE *f, const char *path, char *tmp, int status)
{
	if (!tmp) { /* standard output */
		if (fflush(f) != 0 && !status) {
			error("cannot write to standard output: %s", strerror(errno));
			status = GP_EXIT_OUTPUT;
		}
		return status;
	}
	if (fclose(f) != 0 && !status) {
		error("cannot write '%s': %s", path, strerror(errno));
		status = GP_EXIT_OUTPUT;
	}
	if (!status && rename(tmp, path) != 0) {
		error("cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
		status = GP_EXIT_OUTPUT;
	}
	if (status)
		unlink(tmp);
	free(tmp);
	return status;
}

static int export_jsonl(sqlite3 *db, const struct export_opts *o, char **tables, size_t ntables,
			uint64_t *rows)
{
	int status;
	char *tmp;
	FILE *f;

	status = export_output_open(o->output, o->force, &f, &tmp);
	if (status)
		return status;
	for (size_t i = 0; i < ntables && !status; i++) {
		struct table t = {.name = tables[i]};
		int wr;

		if (prepare_table(db, &t))
			status = read_error_status(db);
		else if ((wr = write_table(&t, f, o->output, 1, rows)))
			status = wr == -2 ? read_error_status(db) : GP_EXIT_OUTPUT;
		release_table(&t);
	}
	return export_output_close(f, o->output, tmp, status);
}

int export_report(sqlite3 *db, const struct export_opts *o)
{
	char **tables = NULL;
	size_t ntables = 0;
	uint64_t rows = 0;
	int status;

	if (o->type == EXPORT_FOLDED)
		return export_folded(db, o);
	status = list_tables(db, o, &tables, &ntables);
	if (!status) {
		if (o->type == EXPORT_CSV)
			status = export_csv(db, o, tables, ntables, &rows);
		else
			status = export_jsonl(db, o, tables, ntables, &rows);
	}
	if (!status && !o->quiet)
		fprintf(stderr, "gprof-cli: exported %zu tables (%llu rows) to '%s'\n", ntables,
			(unsigned long long)rows, o->output);
	for (size_t i = 0; i < ntables; i++)
		free(tables[i]);
	free(tables);
	return status;
}
