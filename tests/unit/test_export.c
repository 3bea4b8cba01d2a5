/*
 * test_export.c - `export`: CSV files (RFC 4180, parsed back), StringIds companion
 * columns, JSON Lines, --tables, and refusing to overwrite (nothing written).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/testutil.h"

#include "core/util.h"
#include "exporters/export.h"
#include "exporters/report_open.h"

static char tmpdir[] = "/tmp/gprof-test-export-XXXXXX";
static char dbpath[256];

static int setup(void **state)
{
	sqlite3 *db;

	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(dbpath, sizeof(dbpath), "%s/r.db", tmpdir);
	if (sqlite3_open(dbpath, &db) != SQLITE_OK)
		return -1;
	if (sqlite3_exec(
		db,
		"CREATE TABLE StringIds (id INTEGER NOT NULL PRIMARY KEY, value TEXT "
		"NOT NULL);"
		"INSERT INTO StringIds VALUES (1, 'read'), (2, 'a,b \"c\"\nd');"
		"CREATE TABLE OSRT_API (start INTEGER NOT NULL, end INTEGER NOT NULL, "
		"nameId INTEGER NOT NULL, returnValue INTEGER NOT NULL);"
		"INSERT INTO OSRT_API VALUES (10, 20, 1, -1), (30, 45, 2, 0), (5, 6, 9, 0);"
		"CREATE TABLE META_DATA_EXPORT (name TEXT NOT NULL, value TEXT);"
		"INSERT INTO META_DATA_EXPORT VALUES ('x', NULL), ('ratio', '0.5');"
		"CREATE TABLE R (v REAL, t TEXT);"
		"INSERT INTO R VALUES (0.1, 'tab\there'), (1e300, '');",
		NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	sqlite3_close(db);
	return 0;
}

static int teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);
	int rc = system(cmd);
	free(cmd);
	return rc;
}

/* The whole of path (the test fails when it cannot be read); free() it. */
static char *slurp(const char *path)
{
	char *buf = tu_slurp(path, NULL);

	assert_non_null(buf);
	return buf;
}

/* A small RFC 4180 reader: records of fields; checks CRLF record ends. */
struct csv {
	char *f[64][8];
	int nf[64];
	int nrec;
};

static void csv_parse(const char *s, struct csv *c)
{
	struct strbuf fld = STRBUF_INIT;

	memset(c, 0, sizeof(*c));
	while (*s) {
		int n = 0;
		for (;;) {
			strbuf_reset(&fld);
			if (*s == '"') {
				s++;
				for (;;) {
					assert_true(*s != '\0'); /* unterminated quote */
					if (*s == '"' && s[1] == '"') {
						strbuf_addch(&fld, '"');
						s += 2;
					} else if (*s == '"') {
						s++;
						break;
					} else {
						strbuf_addch(&fld, *s++);
					}
				}
			} else {
				while (*s && *s != ',' && *s != '\r' && *s != '\n' && *s != '"')
					strbuf_addch(&fld, *s++);
				assert_true(*s != '"'); /* bare quote inside a field */
			}
			c->f[c->nrec][n++] = xstrdup(fld.buf);
			if (*s == ',') {
				s++;
				continue;
			}
			assert_true(s[0] == '\r' && s[1] == '\n'); /* CRLF after each record */
			s += 2;
			break;
		}
		c->nf[c->nrec++] = n;
	}
	strbuf_release(&fld);
}

static void csv_free(struct csv *c)
{
	for (int r = 0; r < c->nrec; r++)
		for (int i = 0; i < c->nf[r]; i++)
			free(c->f[r][i]);
}

static void test_csv_roundtrip(void **state)
{
	struct export_opts o = {.type = EXPORT_CSV, .quiet = 1};
	char *out = xasprintf("%s/out_csv", tmpdir), *p, *text;
	sqlite3 *db = report_open_read(dbpath);
	struct csv c;

	assert_non_null(db);
	o.output = out;
	assert_int_equal(export_report(db, &o), GP_EXIT_OK);

	p = xasprintf("%s/OSRT_API.csv", out);
	text = slurp(p);
	csv_parse(text, &c);
	assert_int_equal(c.nrec, 4);
	assert_int_equal(c.nf[0], 5);
	assert_string_equal(c.f[0][2], "nameId");
	assert_string_equal(c.f[0][3], "nameId_value");
	assert_string_equal(c.f[1][0], "10");
	assert_string_equal(c.f[1][3], "read");
	assert_string_equal(c.f[1][4], "-1");
	assert_string_equal(c.f[2][3], "a,b \"c\"\nd"); /* round-trips through quoting */
	assert_string_equal(c.f[3][2], "9");
	assert_string_equal(c.f[3][3], ""); /* dangling id: empty */
	csv_free(&c);
	free(text);
	free(p);

	p = xasprintf("%s/StringIds.csv", out);
	text = slurp(p);
	assert_string_equal(text, "id,value\r\n1,read\r\n2,\"a,b \"\"c\"\"\nd\"\r\n");
	free(text);
	free(p);

	p = xasprintf("%s/R.csv", out);
	text = slurp(p);
	assert_string_equal(text, "v,t\r\n0.1,tab\there\r\n1e+300,\r\n");
	free(text);
	free(p);

	/* exists: refused without force, nothing changed; replaced with force */
	assert_int_equal(export_report(db, &o), GP_EXIT_OUTPUT);
	o.force = 1;
	assert_int_equal(export_report(db, &o), GP_EXIT_OK);
	/* no staging leftovers */
	DIR *d = opendir(out);
	struct dirent *e;
	int files = 0;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			files++;
		else
			assert_true(!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."));
	closedir(d);
	assert_int_equal(files, 4);
	sqlite3_close(db);
	free(out);
}

static void test_jsonl_and_tables(void **state)
{
	const char *pats[] = {"^osrt", "meta_data", NULL};
	struct export_opts o = {.type = EXPORT_JSONL, .quiet = 1, .tables = pats};
	char *out = xasprintf("%s/r.jsonl", tmpdir), *text;
	sqlite3 *db = report_open_read(dbpath);

	assert_non_null(db);
	o.output = out;
	assert_int_equal(export_report(db, &o), GP_EXIT_OK);
	text = slurp(out);
	assert_string_equal(
	    text,
	    "{\"table\":\"META_DATA_EXPORT\",\"name\":\"x\",\"value\":null}\n"
	    "{\"table\":\"META_DATA_EXPORT\",\"name\":\"ratio\",\"value\":\"0.5\"}\n"
	    "{\"table\":\"OSRT_API\",\"start\":10,\"end\":20,\"nameId\":1,\"nameId_value\":"
	    "\"read\",\"returnValue\":-1}\n"
	    "{\"table\":\"OSRT_API\",\"start\":30,\"end\":45,\"nameId\":2,\"nameId_value\":"
	    "\"a,b \\\"c\\\"\\nd\",\"returnValue\":0}\n"
	    "{\"table\":\"OSRT_API\",\"start\":5,\"end\":6,\"nameId\":9,\"nameId_value\":null,"
	    "\"returnValue\":0}\n");
	free(text);
	/* exists: refused, file unchanged */
	assert_int_equal(export_report(db, &o), GP_EXIT_OUTPUT);
	/* nothing matches: usage error, no file */
	const char *none[] = {"^nosuch$", NULL};
	char *out2 = xasprintf("%s/none.jsonl", tmpdir);
	o.tables = none;
	o.output = out2;
	assert_int_equal(export_report(db, &o), GP_EXIT_USAGE);
	assert_int_equal(access(out2, F_OK), -1);
	/* unwritable place: output error, nothing left */
	o.tables = NULL;
	o.output = "/nonexistent-dir/x.jsonl";
	assert_int_equal(export_report(db, &o), GP_EXIT_OUTPUT);
	o.type = EXPORT_CSV;
	o.output = "/nonexistent-dir/x_csv";
	assert_int_equal(export_report(db, &o), GP_EXIT_OUTPUT);
	sqlite3_close(db);
	free(out);
	free(out2);
}

static void test_string_ref_rule(void **state)
{
	assert_true(export_is_string_ref("NVTX_EVENTS", "textId", "INTEGER"));
	assert_true(export_is_string_ref("CUPTI_ACTIVITY_KIND_KERNEL", "shortName", "INTEGER"));
	assert_false(
	    export_is_string_ref("CUPTI_ACTIVITY_KIND_KERNEL", "correlationId", "INTEGER"));
	assert_false(export_is_string_ref("NVTX_EVENTS", "text", "TEXT"));
	assert_false(export_is_string_ref("StringIds", "nameId", "INTEGER"));
	char *d = export_default_output("dir.x/run.db", EXPORT_CSV);
	assert_string_equal(d, "dir.x/run_csv");
	free(d);
	d = export_default_output("dir.x/run", EXPORT_JSONL);
	assert_string_equal(d, "dir.x/run.jsonl");
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_csv_roundtrip),
	    cmocka_unit_test(test_jsonl_and_tables),
	    cmocka_unit_test(test_string_ref_rule),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
