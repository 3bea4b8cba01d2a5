/*
 * test_capture.c - unit tests of the capture-range switch parsers and the per-range
 * report file names (core/capture.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/capture.h"

static void test_parse_mode(void **state)
{
	uint32_t m = 99;
	const char *why = NULL;

	(void)state;
	assert_int_equal(capture_parse_mode("none", &m, &why), 0);
	assert_int_equal(m, GP_CAPTURE_NONE);
	assert_int_equal(capture_parse_mode("cudaProfilerApi", &m, &why), 0);
	assert_int_equal(m, GP_CAPTURE_CUDA);
	assert_int_equal(capture_parse_mode("nvtx", &m, &why), 0);
	assert_int_equal(m, GP_CAPTURE_NVTX);
	assert_int_equal(capture_parse_mode("NVTX", &m, &why), -1);
	assert_string_equal(why, "expected none, cudaProfilerApi or nvtx");
	assert_int_equal(capture_parse_mode("hotkey", &m, &why), -1);
	assert_non_null(strstr(why, "graphics"));
	assert_int_equal(capture_parse_mode("", &m, &why), -1);
}

static void test_parse_end(void **state)
{
	uint32_t e = 99, n = 99;
	const char *why = NULL;

	(void)state;
	assert_int_equal(capture_parse_end("stop-shutdown", &e, &n, &why), 0);
	assert_int_equal(e, GP_CAPTURE_END_STOP_SHUTDOWN);
	assert_int_equal(n, 0);
	assert_int_equal(capture_parse_end("stop", &e, &n, &why), 0);
	assert_int_equal(e, GP_CAPTURE_END_STOP);
	assert_int_equal(capture_parse_end("none", &e, &n, &why), 0);
	assert_int_equal(e, GP_CAPTURE_END_NONE);
	assert_int_equal(capture_parse_end("repeat", &e, &n, &why), 0);
	assert_int_equal(e, GP_CAPTURE_END_REPEAT);
	assert_int_equal(n, 0);
	assert_int_equal(capture_parse_end("repeat:3", &e, &n, &why), 0);
	assert_int_equal(e, GP_CAPTURE_END_REPEAT);
	assert_int_equal(n, 3);
	assert_int_equal(capture_parse_end("repeat-shutdown:12", &e, &n, &why), 0);
	assert_int_equal(e, GP_CAPTURE_END_REPEAT_SHUTDOWN);
	assert_int_equal(n, 12);
	assert_int_equal(capture_parse_end("repeat:4:sync", &e, &n, &why), 0);
	assert_int_equal(n, 4);
	assert_int_equal(capture_parse_end("repeat:async", &e, &n, &why), 0);
	assert_int_equal(n, 0);
	/* bad values */
	assert_int_equal(capture_parse_end("repeat:x", &e, &n, &why), -1);
	assert_string_equal(why, "the number of ranges must be a whole number >= 1");
	assert_int_equal(capture_parse_end("repeat:0", &e, &n, &why), -1);
	assert_int_equal(capture_parse_end("repeat:", &e, &n, &why), -1);
	assert_int_equal(capture_parse_end("repeat:-1", &e, &n, &why), -1);
	assert_int_equal(capture_parse_end("repeat-shutdown", &e, &n, &why), -1);
	assert_non_null(strstr(why, "repeat-shutdown:N"));
	assert_int_equal(capture_parse_end("repeat:3:later", &e, &n, &why), -1);
	assert_int_equal(capture_parse_end("stopp", &e, &n, &why), -1);
	assert_int_equal(capture_parse_end("", &e, &n, &why), -1);
	assert_int_equal(capture_parse_end("repeat:1234567890", &e, &n, &why), -1);
}

static void test_parse_nvtx(void **state)
{
	struct capture_nvtx_pattern p;
	const char *why = NULL;
	char big[300];

	(void)state;
	assert_int_equal(capture_parse_nvtx("step", &p, &why), 0);
	assert_string_equal(p.message, "step");
	assert_string_equal(p.domain, "");
	assert_int_equal(p.any_domain, 0);

	assert_int_equal(capture_parse_nvtx("step@dom", &p, &why), 0);
	assert_string_equal(p.message, "step");
	assert_string_equal(p.domain, "dom");
	assert_int_equal(p.any_domain, 0);

	assert_int_equal(capture_parse_nvtx("step@*", &p, &why), 0);
	assert_string_equal(p.message, "step");
	assert_int_equal(p.any_domain, 1);

	/* escaped '@' belongs to the message */
	assert_int_equal(capture_parse_nvtx("a\\@b", &p, &why), 0);
	assert_string_equal(p.message, "a@b");
	assert_string_equal(p.domain, "");
	/* several unescaped '@': the last one separates the domain */
	assert_int_equal(capture_parse_nvtx("a@b@c", &p, &why), 0);
	assert_string_equal(p.message, "a@b");
	assert_string_equal(p.domain, "c");
	assert_int_equal(capture_parse_nvtx("x\\@y@d\\@e", &p, &why), 0);
	assert_string_equal(p.message, "x@y");
	assert_string_equal(p.domain, "d@e");
	/* a backslash not before '@' stays */
	assert_int_equal(capture_parse_nvtx("a\\b", &p, &why), 0);
	assert_string_equal(p.message, "a\\b");

	/* bad values */
	assert_int_equal(capture_parse_nvtx("", &p, &why), -1);
	assert_non_null(strstr(why, "range name"));
	assert_int_equal(capture_parse_nvtx(NULL, &p, &why), -1);
	assert_int_equal(capture_parse_nvtx("@dom", &p, &why), -1);
	assert_int_equal(capture_parse_nvtx("step@", &p, &why), -1);
	assert_non_null(strstr(why, "domain"));
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(capture_parse_nvtx(big, &p, &why), -1);
}

static void test_range_path(void **state)
{
	char *p;

	(void)state;
	p = capture_range_path("report1.db", 1);
	assert_string_equal(p, "report1.1.db");
	free(p);
	p = capture_range_path("out/dir/run.db", 12);
	assert_string_equal(p, "out/dir/run.12.db");
	free(p);
	p = capture_range_path("run", 3);
	assert_string_equal(p, "run.3.db");
	free(p);
	p = capture_range_path(".db", 2); /* nothing before the suffix: keep it */
	assert_string_equal(p, ".db.2.db");
	free(p);
}

static void test_names(void **state)
{
	char buf[32];

	(void)state;
	assert_string_equal(capture_mode_name(GP_CAPTURE_CUDA), "cudaProfilerApi");
	assert_string_equal(capture_mode_name(GP_CAPTURE_NVTX), "nvtx");
	assert_string_equal(capture_mode_name(GP_CAPTURE_NONE), "none");
	assert_string_equal(capture_end_name(GP_CAPTURE_END_REPEAT, 3, buf, sizeof(buf)),
			    "repeat:3");
	assert_string_equal(capture_end_name(GP_CAPTURE_END_REPEAT, 0, buf, sizeof(buf)), "repeat");
	assert_string_equal(capture_end_name(GP_CAPTURE_END_REPEAT_SHUTDOWN, 2, buf, sizeof(buf)),
			    "repeat-shutdown:2");
	assert_string_equal(capture_end_name(GP_CAPTURE_END_STOP_SHUTDOWN, 0, buf, sizeof(buf)),
			    "stop-shutdown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_mode), cmocka_unit_test(test_parse_end),
	    cmocka_unit_test(test_parse_nvtx), cmocka_unit_test(test_range_path),
	    cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
