/*
 * test_frames_golden.c - the report writer as "frames in, rows out" (issue 16): each raw
 * frame tap in tests/fixtures/frames/<name>.frames (GPROF_CLI_DUMP_FRAMES of a real
 * `gprof-cli profile` run, core/wire_tap.h) is replayed into a report
 * (recorder_replay_tap(), core/recorder_sink.h: the recorder's sink and decoder) and
 * every non-empty table that depends only on the frames is printed, one line per row in
 * rowid order, and compared with tests/fixtures/frames/<name>.rows.
 *
 * Left out: ENUM_* (constant), META_DATA_EXPORT / META_DATA_CAPTURE and
 * TARGET_INFO_SYSTEM_ENV (this machine and this gprof-cli's version), and the recorder's own
 * commit rows of PROFILER_OVERHEAD (their times are the replay's).  The application's end
 * is fixed at 10 s after the session start, so the stop rows do not move either.
 *
 * A change of the writer that changes rows fails here, with the first line that differs;
 * when the change is meant, rewrite the .rows files with
 *   GPROF_UPDATE_GOLDEN=1 make check   (or run this binary alone with it)
 * and review their diff in the commit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/recorder.h"
#include "core/recorder_sink.h"
#include "core/util.h"
#include "core/wire_tap.h"
#include "tests/testutil.h"

/* The taps in tests/fixtures/frames/, and what each holds. */
static const char *const fixtures[] = {
    "nvtx_osrt", /* tests/programs/nvtx_app under -t nvtx,osrt: NVTX push/pop, start/end,
		    marks, domains, categories, registered strings, payloads; OS runtime
		    calls; two connections of one process */
};

/* Tables whose rows do not depend on the frames alone (file comment). */
static int left_out(const char *table)
{
	return !strncmp(table, "ENUM_", 5) || !strcmp(table, "META_DATA_EXPORT") ||
	       !strcmp(table, "META_DATA_CAPTURE") || !strcmp(table, "TARGET_INFO_SYSTEM_ENV");
}

static void add_value(struct strbuf *sb, sqlite3_stmt *st, int i)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_NULL:
		strbuf_addstr(sb, "NULL");
		break;
	case SQLITE_INTEGER:
		strbuf_addf(sb, "%lld", (long long)sqlite3_column_int64(st, i));
		break;
	case SQLITE_FLOAT:
		strbuf_addf(sb, "%.17g", sqlite3_column_double(st, i));
		break;
	case SQLITE_BLOB: {
		const unsigned char *b = sqlite3_column_blob(st, i);

		strbuf_addstr(sb, "x'");
		for (int k = 0; k < sqlite3_column_bytes(st, i); k++)
			strbuf_addf(sb, "%02x", b[k]);
		strbuf_addch(sb, '\'');
		break;
	}
	default: { /* text: newlines and '|' escaped, so that a row stays one line */
		const char *t = (const char *)sqlite3_column_text(st, i);

		for (; *t; t++)
			if (*t == '\n')
				strbuf_addstr(sb, "\\n");
			else if (*t == '|' || *t == '\\')
				strbuf_addf(sb, "\\%c", *t);
			else
				strbuf_addch(sb, *t);
	}
	}
}

/* The rows of every table of the report db that the golden holds. */
static char *report_rows(const char *db_path)
{
	struct strbuf sb = STRBUF_INIT;
	sqlite3 *db;
	sqlite3_stmt *tables;

	assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT name FROM sqlite_master WHERE type = 'table' "
					    "ORDER BY name",
					    -1, &tables, NULL),
			 SQLITE_OK);
	while (sqlite3_step(tables) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(tables, 0);
		char *sql;
		sqlite3_stmt *st;
		size_t head, rows = 0;

		if (left_out(t))
			continue;
		if (!strcmp(t, "PROFILER_OVERHEAD"))
			sql = xasprintf(
			    "SELECT * FROM PROFILER_OVERHEAD WHERE nameId NOT IN (SELECT id "
			    "FROM StringIds WHERE value LIKE 'gprof-cli recorder:%%') "
			    "ORDER BY rowid");
		else
			sql = xasprintf("SELECT * FROM \"%s\" ORDER BY rowid", t);
		assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
		head = sb.len;
		strbuf_addf(&sb, "== %s\n", t);
		while (sqlite3_step(st) == SQLITE_ROW) {
			for (int i = 0; i < sqlite3_column_count(st); i++) {
				if (i)
					strbuf_addch(&sb, '|');
				add_value(&sb, st, i);
			}
			strbuf_addch(&sb, '\n');
			rows++;
		}
		if (!rows) /* a table created empty: not the frames' business */
			strbuf_splice(&sb, head, sb.len - head, "", 0);
		sqlite3_finalize(st);
		free(sql);
	}
	sqlite3_finalize(tables);
	sqlite3_close(db);
	return strbuf_detach(&sb, NULL);
}

/* Line number (1-based) of the first difference of a and b, and that line of each. */
static void first_difference(const char *a, const char *b)
{
	int line = 1;

	while (*a && *a == *b) {
		if (*a == '\n')
			line++;
		a++, b++;
	}
	while (line > 1 && a[-1] != '\n')
		a--, b--;
	fail_msg("rows differ from line %d:\n  expected: %.*s\n  got:      %.*s", line,
		 (int)strcspn(a, "\n"), a, (int)strcspn(b, "\n"), b);
}

static void check_fixture(const char *dir, const char *name)
{
	char tap[256], golden[256], db[512];
	struct gp_tap_hdr hdr;
	struct recorder_stats st;
	struct report_app_status app = {.pid = 0, .exit_status = 0, .signaled = 0};
	char *rows, *want;
	size_t n;

	snprintf(tap, sizeof(tap), "tests/fixtures/frames/%s.frames", name);
	snprintf(golden, sizeof(golden), "tests/fixtures/frames/%s.rows", name);
	snprintf(db, sizeof(db), "%s/%s.db", dir, name);
	assert_int_equal(gp_tap_read_hdr(tap, &hdr), 0);
	app.end_ns = hdr.session_start_ns + 10000000000ull;
	memset(&st, 0, sizeof(st));
	assert_int_equal(recorder_replay_tap(tap, db, 0, &app, &st), 0);
	assert_int_equal(st.n_reports, 1);
	assert_string_equal(st.report_paths[0], db);
	/* the frames are a clean run's: nothing refused or lost */
	assert_true(st.report.records > 0);
	assert_int_equal(st.report.bad_frames, 0);
	assert_int_equal(st.report.lost_frames, 0);
	assert_int_equal(st.report.bad_records, 0);
	recorder_stats_release(&st);
	rows = report_rows(db);
	if (getenv("GPROF_UPDATE_GOLDEN") && *getenv("GPROF_UPDATE_GOLDEN")) {
		tu_write_text(golden, rows);
		fprintf(stderr, "wrote %s\n", golden);
	}
	want = tu_slurp(golden, &n);
	if (strcmp(want, rows))
		first_difference(want, rows);
	free(want);
	free(rows);
}

static void test_frames_in_rows_out(void **state)
{
	const char *dir = *state;

	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++)
		check_fixture(dir, fixtures[i]);
}

/* The same frames twice give the same rows (no time, address or order of this run
 * leaks into them), and a replay into an existing report without force is refused. */
static void test_replay_deterministic(void **state)
{
	const char *dir = *state;
	char tap[256], a[512], b[512];
	struct gp_tap_hdr hdr;
	struct recorder_stats st;
	struct report_app_status app = {0};
	char *ra, *rb;

	snprintf(tap, sizeof(tap), "tests/fixtures/frames/%s.frames", fixtures[0]);
	snprintf(a, sizeof(a), "%s/a.db", dir);
	snprintf(b, sizeof(b), "%s/b.db", dir);
	assert_int_equal(gp_tap_read_hdr(tap, &hdr), 0);
	app.end_ns = hdr.session_start_ns + 10000000000ull;
	memset(&st, 0, sizeof(st));
	assert_int_equal(recorder_replay_tap(tap, a, 0, &app, &st), 0);
	recorder_stats_release(&st);
	memset(&st, 0, sizeof(st));
	assert_int_equal(recorder_replay_tap(tap, b, 0, &app, &st), 0);
	recorder_stats_release(&st);
	ra = report_rows(a);
	rb = report_rows(b);
	assert_string_equal(ra, rb);
	free(ra);
	free(rb);
	memset(&st, 0, sizeof(st));
	assert_int_equal(recorder_replay_tap(tap, a, 0, &app, &st), -1); /* exists, no force */
	assert_int_equal(st.n_reports, 0);
	recorder_stats_release(&st);
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lines of each "== table" block of rows sorted (content order, not rowid order). */
static char *sorted_blocks(const char *rows)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p = rows;

	while (*p) {
		const char *head_end = strchr(p, '\n'), *q;
		char **lines = NULL;
		size_t n = 0, alloc = 0;

		assert_non_null(head_end);
		strbuf_add(&sb, p, (size_t)(head_end - p) + 1);
		for (q = head_end + 1; *q && strncmp(q, "== ", 3);) {
			const char *e = strchr(q, '\n');

			GP_ALLOC_GROW(lines, n + 1, alloc);
			lines[n] = xmalloc((size_t)(e - q) + 2);
			memcpy(lines[n], q, (size_t)(e - q) + 1);
			lines[n++][e - q + 1] = '\0';
			q = e + 1;
		}
		qsort(lines, n, sizeof(*lines), cmp_line);
		for (size_t i = 0; i < n; i++) {
			strbuf_addstr(&sb, lines[i]);
			free(lines[i]);
		}
		free(lines);
		p = q;
	}
	return strbuf_detach(&sb, NULL);
}

/* The backlog's parallel writers (core/report_par.h; a replay is all backlog): with
 * GPROF_CLI_DRAIN_WRITERS=4 every table holds the golden rows (NVTX_EVENTS and OSRT_API in
 * the writers' order, so each table's rows compared sorted), with the same StringIds ids. */
static void test_replay_parallel(void **state)
{
	const char *dir = *state;
	char tap[256], golden[256], db[512];
	struct gp_tap_hdr hdr;
	struct recorder_stats st;
	struct report_app_status app = {0};
	char *want, *got, *ws, *gs;

	snprintf(tap, sizeof(tap), "tests/fixtures/frames/%s.frames", fixtures[0]);
	snprintf(golden, sizeof(golden), "tests/fixtures/frames/%s.rows", fixtures[0]);
	snprintf(db, sizeof(db), "%s/par.db", dir);
	assert_int_equal(gp_tap_read_hdr(tap, &hdr), 0);
	app.end_ns = hdr.session_start_ns + 10000000000ull;
	memset(&st, 0, sizeof(st));
	setenv("GPROF_CLI_DRAIN_WRITERS", "4", 1);
	assert_int_equal(recorder_replay_tap(tap, db, 0, &app, &st), 0);
	unsetenv("GPROF_CLI_DRAIN_WRITERS");
	assert_int_equal(st.report.write_errors, 0);
	recorder_stats_release(&st);
	want = tu_slurp(golden, NULL);
	assert_non_null(want);
	got = report_rows(db);
	ws = sorted_blocks(want);
	gs = sorted_blocks(got);
	if (strcmp(ws, gs))
		first_difference(ws, gs);
	assert_string_equal(ws, gs);
	free(want);
	free(got);
	free(ws);
	free(gs);
}

/* `gprof-cli dump`: one line per record (as many as the replay decoded), each naming its
 * type and pid/tid; the summary line; a file that is no tap and an existing -o report
 * are refused with one error line. */
static void test_dump_command(void **state)
{
	const char *dir = *state, *g = getenv("GPROF_CLI");
	char gprof[PATH_MAX], tap[PATH_MAX], out[512], err[512], db[512], summary[128];
	struct recorder_stats st;
	struct tu_run r;
	char *text;

	/* absolute: the error cases run in dir */
	assert_non_null(realpath(g && *g ? g : "build/bin/gprof-cli", gprof));
	assert_non_null(realpath("tests/fixtures/frames/nvtx_osrt.frames", tap));
	snprintf(out, sizeof(out), "%s/dump.out", dir);
	snprintf(err, sizeof(err), "%s/dump.err", dir);
	snprintf(db, sizeof(db), "%s/r.db", dir);
	memset(&st, 0, sizeof(st));
	assert_int_equal(recorder_replay_tap(tap, db, 0, NULL, &st), 0);
	{
		const char *args[] = {"dump", tap, NULL};

		/* (the whole output, from the file: a tu_run holds 64 KiB only) */
		assert_int_equal(tu_wait(tu_spawn(gprof, args, NULL, out, err)), 0);
	}
	text = tu_slurp(out, NULL);
	assert_non_null(text);
	assert_int_equal(tu_count_lines(text, "  ") - tu_count_lines(text, "  (bad"),
			 (int)st.report.records);
	assert_int_equal(tu_count_lines(text, "open conn="), tu_count_lines(text, "close conn="));
	assert_true(tu_count_lines(text, "  NVTX_PUSHPOP ") > 0);
	assert_true(tu_count_lines(text, "  OSRT ") > 0);
	assert_true(tu_count_lines(text, "  HELLO ") > 0);
	snprintf(summary, sizeof(summary), "(0 bad, 0 lost), %llu records;",
		 (unsigned long long)st.report.records);
	assert_non_null(strstr(text, summary));
	free(text);
	remove(out);
	remove(err);
	recorder_stats_release(&st);
	{
		const char *args[] = {"dump", db, NULL}; /* a report, not a tap */

		tu_run_in(&r, gprof, dir, args);
	}
	tu_assert_status(&r, 3);
	tu_assert_one_error(&r, "is not a gprof-cli frame tap");
	{
		const char *args[] = {"dump", "-o", db, tap, NULL};

		tu_run_in(&r, gprof, dir, args);
	}
	tu_assert_status(&r, 4);
	tu_assert_one_error(&r, "exists");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_frames_in_rows_out, tu_setup_tmpdir,
					    tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_replay_deterministic, tu_setup_tmpdir,
					    tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_replay_parallel, tu_setup_tmpdir,
					    tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_dump_command, tu_setup_tmpdir, tu_teardown_tmpdir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
