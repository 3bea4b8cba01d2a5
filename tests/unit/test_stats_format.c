/*
 * test_stats_format.c - the stats formatters: thousands separators, rounding, titles
 * and units, centring, CSV quoting, JSON escaping, and whole tables in every format.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exporters/stats.h"

static void test_thousands(void **state)
{
	static const char *const cases[][2] = {
	    {"0", "0"},		  {"999", "999"},	 {"1000", "1,000"},
	    {"-1234", "-1,234"},  {"123456", "123,456"}, {"1234567.5", "1,234,567.5"},
	    {"78.643", "78.643"}, {"-999.0", "-999.0"},	 {"1000000000", "1,000,000,000"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct strbuf sb = STRBUF_INIT;
		stats_add_thousands(&sb, cases[i][0]);
		assert_string_equal(sb.buf, cases[i][1]);
		strbuf_release(&sb);
	}
}

static void test_centered(void **state)
{
	struct strbuf sb = STRBUF_INIT;

	stats_add_centered(&sb, "Avg (ns)", 13); /* pad 5: 2 left, 3 right */
	assert_string_equal(sb.buf, "  Avg (ns)   ");
	strbuf_reset(&sb);
	stats_add_centered(&sb, "Name", 22);
	assert_string_equal(sb.buf, "         Name         ");
	strbuf_reset(&sb);
	stats_add_centered(&sb, "Range", 10);
	assert_string_equal(sb.buf, "  Range   ");
	strbuf_reset(&sb);
	stats_add_centered(&sb, "Total Time (ns)", 15);
	assert_string_equal(sb.buf, "Total Time (ns)");
	strbuf_release(&sb);
}

static void test_csv_json_escape(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	const char *s;

	s = "plain";
	stats_add_csv_field(&sb, s, strlen(s));
	assert_string_equal(sb.buf, "plain");
	strbuf_reset(&sb);
	s = "tiny(float *, int)";
	stats_add_csv_field(&sb, s, strlen(s));
	assert_string_equal(sb.buf, "\"tiny(float *, int)\"");
	strbuf_reset(&sb);
	s = "say \"hi\"";
	stats_add_csv_field(&sb, s, strlen(s));
	assert_string_equal(sb.buf, "\"say \"\"hi\"\"\"");
	strbuf_reset(&sb);
	s = "two\nlines";
	stats_add_csv_field(&sb, s, strlen(s));
	assert_string_equal(sb.buf, "\"two\nlines\"");
	strbuf_reset(&sb);
	s = " 256    1    1"; /* leading blanks are not quoted (nsys) */
	stats_add_csv_field(&sb, s, strlen(s));
	assert_string_equal(sb.buf, " 256    1    1");
	strbuf_reset(&sb);
	s = "q\"b\\n\nt\t\x01";
	stats_add_json_string(&sb, s, strlen(s));
	assert_string_equal(sb.buf, "\"q\\\"b\\\\n\\nt\\t\\u0001\"");
	strbuf_release(&sb);
}

/* Invalid UTF-8 (issue 18): U+FFFD per bad byte, "\ufffd" in JSON; terminal text with
 * every control character escaped. */
static void test_invalid_utf8_and_controls(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	const char *s = "a\xff\xc3(\xe2\x82\xed\xa0\x80\xc0\xaf\xf4\x90\x80\x80 \xc3\xa9";
	uint32_t cp;

	assert_int_equal(stats_utf8_len("\xc3\xa9", 2, &cp), 2);
	assert_int_equal(cp, 0xe9);
	assert_int_equal(stats_utf8_len("\xf0\x9f\x98\x80", 4, &cp), 4);
	assert_int_equal(cp, 0x1f600);
	assert_int_equal(stats_utf8_len("\xf0\x9f\x98", 3, &cp), 0);	 /* cut short */
	assert_int_equal(stats_utf8_len("\xe0\x80\x80", 3, &cp), 0);	 /* overlong */
	assert_int_equal(stats_utf8_len("\xed\xbf\xbf", 3, &cp), 0);	 /* surrogate */
	assert_int_equal(stats_utf8_len("\xf4\x90\x80\x80", 4, &cp), 0); /* > U+10FFFF */

	stats_add_json_string(&sb, s, strlen(s));
	assert_string_equal(sb.buf, "\"a\\ufffd\\ufffd(\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd"
				    "\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd \xc3\xa9\"");
	strbuf_reset(&sb);
	stats_add_csv_field(&sb, "x\xff,y", 4);
	assert_string_equal(sb.buf, "\"x\xef\xbf\xbd,y\"");
	strbuf_reset(&sb);
	s = "\x1b[2J\r\n\t\x07\x7f\xc2\x85|\xff";
	stats_add_terminal_text(&sb, s, strlen(s));
	assert_string_equal(sb.buf, "\\e[2J\\r\\n\\t\\x07\\x7f\\u0085|\xef\xbf\xbd");
	strbuf_release(&sb);
}

static sqlite3 *db_with(const char *sql)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	return db;
}

static char *format(sqlite3 *db, const char *sql, enum stats_format f, enum stats_timeunit tu)
{
	struct stats_fmt_opts o = {.format = f, .timeunit = tu};
	sqlite3_stmt *st;
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(stats_format_stmt(st, &o, mem), 0);
	sqlite3_finalize(st);
	fclose(mem);
	return buf;
}

static void test_values_and_titles(void **state)
{
	sqlite3 *db = db_with("CREATE TABLE t(a, b, c, d, e, f);"
			      "INSERT INTO t VALUES (1234567, 2674.25, 52.44, 262144, "
			      "'x, y', NULL);");
	char *out;

	out = format(db,
		     "SELECT a AS \"Total:dur_ns\", b AS \"Avg:dur_ns\", c AS \"Time:ratio_%\", "
		     "d AS \"Size:mem_B\", d AS \"Rate:thru_B\", e AS \"Name\", f AS \"Opt\", "
		     "a AS \"_hidden\", a AS \"Count\" FROM t",
		     STATS_FMT_CSV, STATS_TU_NS);
	assert_string_equal(out,
			    "Total (ns),Avg (ns),Time (%),Size (MB),Rate (MB/s),Name,Opt,Count\n"
			    "1234567,2674.2,52.4,0.262,0.262,\"x, y\",,1234567\n");
	free(out);
	/* microseconds / milliseconds / seconds: scaled with 3 / 6 / 9 decimals */
	out = format(db, "SELECT a AS \"T:dur_ns\", b AS \"S:ts_ns\" FROM t", STATS_FMT_CSV,
		     STATS_TU_US);
	assert_string_equal(out, "T (us),S (us)\n1234.567,2.674\n");
	free(out);
	out = format(db, "SELECT a AS \"T:dur_ns\" FROM t", STATS_FMT_CSV, STATS_TU_MS);
	assert_string_equal(out, "T (ms)\n1.234567\n");
	free(out);
	out = format(db, "SELECT a AS \"T:dur_ns\" FROM t", STATS_FMT_COLUMN, STATS_TU_S);
	assert_string_equal(out, "    T (s)   \n -----------\n 0.001234567\n");
	free(out);
	sqlite3_close(db);
}

static void test_layouts(void **state)
{
	sqlite3 *db = db_with("CREATE TABLE t(n, v, s);"
			      "INSERT INTO t VALUES ('alpha', 1234, 1.25), ('b\"q', 5, NULL);");
	const char *q = "SELECT v AS \"Total:dur_ns\", s AS \"Avg:dur_ns\", n AS \"Name\" FROM t";
	char *out;

	out = format(db, q, STATS_FMT_COLUMN, STATS_TU_NS);
	assert_string_equal(out, " Total (ns)  Avg (ns)  Name \n"
				 " ----------  --------  -----\n"
				 "      1,234       1.2  alpha\n"
				 "          5            b\"q  \n");
	free(out);
	out = format(db, q, STATS_FMT_TABLE, STATS_TU_NS);
	assert_string_equal(out, "+------------+----------+-------+\n"
				 "| Total (ns) | Avg (ns) | Name  |\n"
				 "+------------+----------+-------+\n"
				 "|      1,234 |      1.2 | alpha |\n"
				 "|          5 |          | b\"q   |\n"
				 "+------------+----------+-------+\n");
	free(out);
	out = format(db, q, STATS_FMT_TSV, STATS_TU_NS);
	assert_string_equal(out, "Total (ns)\tAvg (ns)\tName\n1234\t1.2\talpha\n5\t\tb\"q\n");
	free(out);
	out = format(db, q, STATS_FMT_JSON, STATS_TU_NS);
	assert_string_equal(out,
			    "[\n"
			    "  {\"Total (ns)\": 1234, \"Avg (ns)\": 1.2, \"Name\": \"alpha\"},\n"
			    "  {\"Total (ns)\": 5, \"Avg (ns)\": null, \"Name\": \"b\\\"q\"}\n"
			    "]\n");
	free(out);
	/* UTF-8 text is measured in characters, as nsys does */
	out = format(db, "SELECT 'w\xc3\xbc\xc3\xaf' AS \"Name\" UNION ALL SELECT 'abcdef'",
		     STATS_FMT_COLUMN, STATS_TU_NS);
	assert_string_equal(out, "  Name \n ------\n w\xc3\xbc\xc3\xaf   \n abcdef\n");
	free(out);
	/* no rows: titles only (json: an empty array) */
	out = format(db, "SELECT v AS \"Count\" FROM t WHERE 0", STATS_FMT_COLUMN, STATS_TU_NS);
	assert_string_equal(out, " Count\n -----\n");
	free(out);
	out = format(db, "SELECT v AS \"Count\" FROM t WHERE 0", STATS_FMT_JSON, STATS_TU_NS);
	assert_string_equal(out, "[]\n");
	free(out);
	sqlite3_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_thousands),	    cmocka_unit_test(test_centered),
	    cmocka_unit_test(test_csv_json_escape), cmocka_unit_test(test_values_and_titles),
	    cmocka_unit_test(test_layouts),
	    cmocka_unit_test(test_invalid_utf8_and_controls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
