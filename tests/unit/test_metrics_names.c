/*
 * test_metrics_names.c - the PM-sampling helpers of core/metrics_names.h that the injected
 * collector (collectors/gpu_metrics.c) uses without CUPTI: counter-domain prefixes of the
 * default set, base-metric names for close-match suggestions, and the
 * --gpu-metrics-devices list.  CPU only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/metrics_names.h"

static void test_unprefixed(void **state)
{
	(void)state;
	assert_string_equal(
	    gp_metric_unprefixed("FBSP.TriageCompute.dramc__read_throughput.avg.pct"),
	    "dramc__read_throughput.avg.pct");
	assert_string_equal(gp_metric_unprefixed("TriageCompute.sm__throughput.avg"),
			    "sm__throughput.avg");
	assert_null(gp_metric_unprefixed("dramc__read_throughput.avg"));
	/* "TriageCompute" after the counter is not a prefix */
	assert_null(gp_metric_unprefixed("sm__x.TriageCompute.y"));
	/* every prefixed default name has an unprefixed fallback that is a valid name */
	for (size_t i = 0; gp_metrics_default_sample[i]; i++) {
		const char *u = gp_metric_unprefixed(gp_metrics_default_sample[i]);
		assert_true(gp_metric_name_valid(gp_metrics_default_sample[i]));
		if (u)
			assert_true(gp_metric_name_valid(u));
		/* never the sampled-garbage duration (cupti-design.md §5) */
		assert_null(strstr(gp_metrics_default_sample[i], "gpu__time_duration"));
	}
}

static void test_base_len(void **state)
{
	const char *a =
	    "FBSP.TriageCompute.dramc__read_throughput.avg.pct_of_peak_sustained_elapsed";

	(void)state;
	assert_int_equal(gp_metric_base_len(a),
			 strlen("FBSP.TriageCompute.dramc__read_throughput"));
	assert_int_equal(gp_metric_base_len("gr__cycles_active"), strlen("gr__cycles_active"));
	assert_int_equal(gp_metric_base_len("gr__cycles_active.sum"), strlen("gr__cycles_active"));
	assert_int_equal(gp_metric_base_len("noname"), strlen("noname"));
}

static void test_suggest_base(void **state)
{
	/* what the collector does with an unknown name: suggest base metrics near its base */
	static const char *const bases[] = {"dramc__read_throughput", "dramc__write_throughput",
					    "dram__read_throughput", "gr__cycles_active", NULL};
	const char *name = "dramc__read_througput.avg.pct_of_peak_sustained_elapsed", *out[4];
	char base[128];

	(void)state;
	snprintf(base, sizeof(base), "%.*s", (int)gp_metric_base_len(name), name);
	size_t k = gp_metric_suggest(base, bases, (size_t)-1, out, 4);
	assert_true(k >= 1);
	assert_string_equal(out[0], "dramc__read_throughput");
	for (size_t i = 0; i < k; i++)
		assert_string_not_equal(out[i], "gr__cycles_active");
}

static void test_devices(void **state)
{
	int ids[4] = {-1, -1, -1, -1};

	(void)state;
	assert_int_equal(gp_metrics_parse_devices("all", ids, 4), -1);
	assert_int_equal(gp_metrics_parse_devices("cuda-visible", ids, 4), -1);
	assert_int_equal(gp_metrics_parse_devices(NULL, ids, 4), -1);
	assert_int_equal(gp_metrics_parse_devices("none", ids, 4), 0);
	assert_int_equal(gp_metrics_parse_devices("3", ids, 4), 1);
	assert_int_equal(ids[0], 3);
	assert_int_equal(gp_metrics_parse_devices("0,2,2,1", ids, 4), 3);
	assert_int_equal(ids[0], 0);
	assert_int_equal(ids[1], 2);
	assert_int_equal(ids[2], 1);
	assert_int_equal(gp_metrics_parse_devices("0,1,2,3,4,5", ids, 4), 4); /* at most max */
	assert_int_equal(gp_metrics_parse_devices("1,", ids, 4), -2);
	assert_int_equal(gp_metrics_parse_devices(",1", ids, 4), -2);
	assert_int_equal(gp_metrics_parse_devices("256", ids, 4), -2);
	assert_int_equal(gp_metrics_parse_devices("gpu0", ids, 4), -2);
	assert_int_equal(gp_metrics_parse_devices("12345", ids, 4), -2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unprefixed),
	    cmocka_unit_test(test_base_len),
	    cmocka_unit_test(test_suggest_base),
	    cmocka_unit_test(test_devices),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
