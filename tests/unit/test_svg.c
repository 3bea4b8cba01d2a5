/*
 * test_svg.c - the SVG writer (exporters/svg.c): escapes (XML specials, control
 * characters, invalid UTF-8), numbers, the colour scales, svg_write's all-or-nothing file;
 * and the document is well-formed XML for a real parser (xmllint, libxml2-utils; the test
 * is skipped, counted, without it).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exporters/svg.h"
#include "tests/testutil.h"

static void test_escape(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	static const char in[] = "a<b>&\"'\x01\xff\xc3\xa9\t";

	(void)state;
	svg_add_escaped(&sb, in, sizeof(in) - 1);
	assert_string_equal(sb.buf,
			    "a&lt;b&gt;&amp;&quot;&apos;\xef\xbf\xbd\xef\xbf\xbd\xc3\xa9\t");
	strbuf_release(&sb);
}

static void test_colors(void **state)
{
	char c[8];

	(void)state;
	svg_color_scale(0, c);
	assert_string_equal(c, "#440154");
	svg_color_scale(1, c);
	assert_string_equal(c, "#fde725");
	svg_color_scale(7, c); /* clamped */
	assert_string_equal(c, "#fde725");
	svg_color_scale(0.0 / 0.0, c); /* NaN as 0 */
	assert_string_equal(c, "#440154");
	svg_color_scale(0.5, c);
	assert_string_equal(c, "#21918c");
	svg_color_category(0, c);
	assert_string_equal(c, "#4e79a7");
	svg_color_category(10, c);
	assert_string_equal(c, "#4e79a7");
}

static void build(struct svg *s)
{
	svg_begin(s, 300, 120.5, "t <1> & \"q\"");
	svg_rect(s, 1.25, 2, 30, -4, "#ff0000", "rank 0: 1 < 2 \x02");
	svg_rect(s, 5, 6, 7, 8, "none", NULL);
	svg_line(s, 0, 0, 300, 120, "#000", 0.5);
	svg_text(s, 10, 20, 11, SVG_MIDDLE, "#333", "%s %d", "kern<T>\xfe", 3);
}

static void test_document(void **state)
{
	struct svg s;
	char *dir = tu_mkdtemp("/tmp/gprof-test-svg-XXXXXX"), path[512], cmd[1100];

	(void)state;
	assert_non_null(dir);
	build(&s);
	svg_end(&s);
	svg_end(&s); /* idempotent */
	assert_non_null(strstr(s.out.buf, "<title>t &lt;1&gt; &amp; &quot;q&quot;</title>"));
	assert_non_null(strstr(s.out.buf, "width=\"30\" height=\"0\""));
	assert_non_null(strstr(s.out.buf, "x=\"1.25\""));
	assert_non_null(strstr(s.out.buf, "height=\"120.50\""));
	assert_non_null(strstr(s.out.buf, "text-anchor=\"middle\""));
	assert_non_null(strstr(s.out.buf, ">kern&lt;T&gt;\xef\xbf\xbd 3</text>"));
	assert_int_equal(tu_count_lines(s.out.buf, "</svg>"), 1);
	snprintf(path, sizeof(path), "%s/a.svg", dir);
	assert_int_equal(svg_write(&s, path), 0);
	assert_int_equal(tu_count_entries(dir), 1); /* no .tmp left */
	svg_release(&s);
	if (system("command -v xmllint >/dev/null 2>&1") != 0) {
		tu_rm_rf(dir);
		free(dir);
		TU_SKIP("xmllint not found (apt-get install libxml2-utils)");
	}
	snprintf(cmd, sizeof(cmd), "xmllint --noout '%s' 2>&1", path);
	assert_int_equal(system(cmd), 0);
	tu_rm_rf(dir);
	free(dir);
}

static void test_write_fails_cleanly(void **state)
{
	struct svg s;
	char *dir = tu_mkdtemp("/tmp/gprof-test-svg-XXXXXX"), path[512];

	(void)state;
	build(&s);
	snprintf(path, sizeof(path), "%s/missing/a.svg", dir);
	assert_int_equal(svg_write(&s, path), -1);
	assert_int_equal(tu_count_entries(dir), 0);
	svg_release(&s);
	tu_rm_rf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escape),
	    cmocka_unit_test(test_colors),
	    cmocka_unit_test(test_document),
	    cmocka_unit_test(test_write_fails_cleanly),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
