/*
 * test_metrics_config.c - the --gpu-metrics-* switches (cli/profile_options.c), metric
 * sets (core/metrics_set.c: built-ins and YAML files with FILE:LINE:COL errors) and
 * close-match suggestions for unknown metric names (core/metrics_names.h).  CPU only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "cli/profile_options.h"
#include "core/metrics_names.h"
#include "core/metrics_set.h"
#include "core/util.h"
#include "core/wire.h"

static char dir[64];

/* Write `text` to dir/name and return the path (static buffer). */
static const char *write_yaml(const char *name, const char *text)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

/* Run metrics_set_resolve with stderr captured; returns its result, *err = stderr text. */
static int resolve(const char *spec, int mode, struct strbuf *out, char *err, size_t n)
{
	char epath[128];
	int saved = dup(2), rc;
	FILE *f;

	snprintf(epath, sizeof(epath), "%s/stderr", dir);
	f = fopen(epath, "w+");
	assert_non_null(f);
	fflush(stderr);
	dup2(fileno(f), 2);
	rc = metrics_set_resolve(spec, mode, out);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	size_t len = fread(err, 1, n - 1, f);
	err[len] = 0;
	fclose(f);
	return rc;
}

static void test_builtin_sets(void **state)
{
	struct strbuf out = STRBUF_INIT;
	char err[512];

	(void)state;
	assert_int_equal(resolve(NULL, GP_METRICS_MODE_RANGE, &out, err, sizeof(err)), 8);
	assert_string_equal(
	    out.buf, "gpu__time_duration.sum,sm__throughput.avg.pct_of_peak_sustained_elapsed,"
		     "dram__throughput.avg.pct_of_peak_sustained_elapsed,"
		     "sm__warps_active.avg.pct_of_peak_sustained_active,"
		     "sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_active,"
		     "l1tex__t_sector_hit_rate.pct,lts__t_sector_hit_rate.pct,"
		     "sm__inst_executed.sum");
	strbuf_reset(&out);
	/* sampling: the collector takes the chip's nsys set (an empty list here) */
	assert_int_equal(resolve("default", GP_METRICS_MODE_SAMPLE, &out, err, sizeof(err)), 0);
	assert_string_equal(out.buf ? out.buf : "", "");
	assert_int_equal(resolve(NULL, GP_METRICS_MODE_SAMPLE, &out, err, sizeof(err)), 0);
	assert_int_equal(resolve("gh100", GP_METRICS_MODE_SAMPLE, &out, err, sizeof(err)), 0);
	assert_int_equal(resolve("gh100", GP_METRICS_MODE_RANGE, &out, err, sizeof(err)), -1);
	strbuf_reset(&out);
	assert_int_equal(resolve("minimal", GP_METRICS_MODE_RANGE, &out, err, sizeof(err)), 1);
	assert_string_equal(out.buf, "gpu__time_duration.sum");
	strbuf_reset(&out);
	assert_int_equal(resolve("fancy", GP_METRICS_MODE_RANGE, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown GPU metric set 'fancy'"));
	strbuf_release(&out);
}

/* nsys 2025.3's GH100 set (GpuMetrics/gh100.config): the 22 rows nsys's report of the H200
 * holds, in its metricId order, then the optional NVLink/CTC rows between them; every
 * evaluated name a valid PM-sampling metric, the sampling fallback without gpu__time. */
static void test_nsys_set_gh100(void **state)
{
	static const char *const want[] = {
	    "GPC Clock Frequency [MHz]",
	    "SYS Clock Frequency [MHz]",
	    "GR Active [Throughput %]",
	    "SMs Active [Throughput %]",
	    "SM Issue [Throughput %]",
	    "Tensor Active [Throughput %]",
	    "Vertex/Tess/Geometry Warps in Flight [Throughput %]",
	    "Vertex/Tess/Geometry Warps in Flight [Avg]",
	    "Vertex/Tess/Geometry Warps in Flight [Avg Warps per Cycle]",
	    "Pixel Warps in Flight [Throughput %]",
	    "Pixel Warps in Flight [Avg]",
	    "Pixel Warps in Flight [Avg Warps per Cycle]",
	    "Compute Warps in Flight [Throughput %]",
	    "Compute Warps in Flight [Avg]",
	    "Compute Warps in Flight [Avg Warps per Cycle]",
	    "Unallocated Warps in Active SMs [Throughput %]",
	    "Unallocated Warps in Active SMs [Avg]",
	    "Unallocated Warps in Active SMs [Avg Warps per Cycle]",
	    "DRAM Read Bandwidth [Throughput %]",
	    "DRAM Write Bandwidth [Throughput %]",
	    "PCIe RX Throughput [Throughput %]",
	    "PCIe TX Throughput [Throughput %]",
	};
	size_t n = 0, k = 0, optional = 0;
	const char *alias = NULL;
	const struct gp_nsys_metric *set = gp_nsys_metric_set("GH100", &n, &alias);

	(void)state;
	assert_non_null(set);
	assert_string_equal(alias, "gh100");
	assert_int_equal(n, 32);
	for (size_t i = 0; i < n; i++) {
		assert_true(gp_metric_name_valid(set[i].cupti));
		optional += set[i].optional;
		if (!strncmp(set[i].name, "NVLink", 6) || !strncmp(set[i].name, "CTC", 3)) {
			assert_true(set[i].optional);
			continue;
		}
		assert_true(k < sizeof(want) / sizeof(want[0]));
		assert_string_equal(set[i].name, want[k]);
		k++;
	}
	assert_int_equal(k, 22);
	assert_int_equal(optional, 12); /* 8 NVLink, 2 CTC, 2 PCIe */
	assert_string_equal(set[0].cupti, "gpc__cycles_elapsed.avg.per_second");
	assert_string_equal(set[2].cupti, "gr__cycles_active.sum.pct_of_peak_sustained_elapsed");
	assert_null(gp_nsys_metric_set("GA100", &n, &alias));
	assert_int_equal(n, 0);
	for (size_t i = 0; gp_metrics_default_sample[i]; i++)
		assert_null(strstr(gp_metrics_default_sample[i], "gpu__time_duration"));
}

static void test_yaml_ok(void **state)
{
	struct strbuf out = STRBUF_INIT;
	char err[512];
	const char *p = write_yaml("ok.yaml", "# mine\n"
					      "name: memory\n"
					      "mode: range\n"
					      "metrics:\n"
					      "  - dram__bytes_read.sum\n"
					      "  - dram__bytes_write.sum\n"
					      "  - lts__t_sector_hit_rate.pct\n");
	char spec[160];

	(void)state;
	snprintf(spec, sizeof(spec), "file:%s", p);
	assert_int_equal(resolve(spec, GP_METRICS_MODE_RANGE, &out, err, sizeof(err)), 3);
	assert_string_equal(
	    out.buf, "dram__bytes_read.sum,dram__bytes_write.sum,lts__t_sector_hit_rate.pct");
	strbuf_reset(&out);
	/* written for range mode: refused in sampling mode, at the mode value */
	assert_int_equal(resolve(spec, GP_METRICS_MODE_SAMPLE, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "ok.yaml:3:7: this metric set is for another"));
	strbuf_release(&out);
}

static void test_yaml_errors(void **state)
{
	struct strbuf out = STRBUF_INIT;
	char err[512], spec[160];

	(void)state;
	/* unknown metric at line 3, column 5, with a suggestion */
	snprintf(spec, sizeof(spec), "file:%s",
		 write_yaml("bad1.yaml", "metrics:\n  - gpu__time_duration.sum\n  - "
					 "dram_throughput.avg.pct_of_peak_sustained_elapsed\n"));
	assert_int_equal(resolve(spec, GP_METRICS_MODE_RANGE, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bad1.yaml:3:5: unknown GPU metric "
				    "'dram_throughput.avg.pct_of_peak_sustained_elapsed'"));
	assert_non_null(strstr(err, "did you mean: dram__throughput.avg.pct_of_peak_sustained_"
				    "elapsed"));
	strbuf_reset(&out);
	/* unknown key */
	snprintf(spec, sizeof(spec), "file:%s", write_yaml("bad2.yaml", "metric:\n  - a__b\n"));
	assert_int_equal(resolve(spec, GP_METRICS_MODE_RANGE, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bad2.yaml:1:1: unknown key 'metric'"));
	strbuf_reset(&out);
	/* YAML syntax error */
	snprintf(spec, sizeof(spec), "file:%s",
		 write_yaml("bad3.yaml", "metrics: [a__b,\n  - c\n"));
	assert_int_equal(resolve(spec, GP_METRICS_MODE_RANGE, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bad3.yaml:2:"));
	strbuf_reset(&out);
	/* duplicate, nested, empty, missing file */
	snprintf(spec, sizeof(spec), "file:%s",
		 write_yaml("bad4.yaml", "metrics:\n  - sm__inst_executed.sum\n"
					 "  - sm__inst_executed.sum\n"));
	assert_int_equal(resolve(spec, GP_METRICS_MODE_RANGE, &out, err, sizeof(err)), -1);
	assert_non_null(
	    strstr(err, "bad4.yaml:3:5: GPU metric 'sm__inst_executed.sum' listed twice"));
	strbuf_reset(&out);
	snprintf(spec, sizeof(spec), "file:%s",
		 write_yaml("bad5.yaml", "metrics:\n  - {name: a__b}\n"));
	assert_int_equal(resolve(spec, GP_METRICS_MODE_RANGE, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bad5.yaml:2:5: a metric is one name"));
	strbuf_reset(&out);
	snprintf(spec, sizeof(spec), "file:%s", write_yaml("bad6.yaml", "name: x\n"));
	assert_int_equal(resolve(spec, GP_METRICS_MODE_RANGE, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no metrics listed"));
	strbuf_reset(&out);
	snprintf(spec, sizeof(spec), "file:%s/missing.yaml", dir);
	assert_int_equal(resolve(spec, GP_METRICS_MODE_RANGE, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot open metric set"));
	strbuf_release(&out);
}

static void test_suggest(void **state)
{
	const char *near[4];
	static const char *const cand[] = {"sm__throughput.avg.pct_of_peak_sustained_elapsed",
					   "dram__throughput.avg.pct_of_peak_sustained_elapsed",
					   "sm__inst_executed.sum", "gpu__time_duration.sum", NULL};
	size_t k;

	(void)state;
	assert_int_equal(gp_metric_distance("kitten", "sitting"), 3);
	assert_int_equal(gp_metric_distance("", "abc"), 3);
	k = gp_metric_suggest("sm__inst_exec.sum", cand, (size_t)-1, near, 4);
	assert_int_equal(k, 1);
	assert_string_equal(near[0], "sm__inst_executed.sum");
	/* the same counter with another rollup is offered too, after the close spellings */
	k = gp_metric_suggest("sm__throughput.max", cand, 4, near, 4);
	assert_int_equal(k, 1);
	assert_string_equal(near[0], "sm__throughput.avg.pct_of_peak_sustained_elapsed");
	k = gp_metric_suggest("gpu__time_duration.avg", cand, (size_t)-1, near, 4);
	assert_int_equal(k, 1);
	assert_string_equal(near[0], "gpu__time_duration.sum");
	assert_int_equal(gp_metric_suggest("completely_else", cand, (size_t)-1, near, 4), 0);
	assert_true(gp_metric_name_valid("sm__inst_executed.sum"));
	assert_true(
	    gp_metric_name_valid("TPC.TriageCompute.sm__pipe_tensor_op_hmma_cycles_active"));
	assert_false(gp_metric_name_valid("dram_throughput"));
	assert_false(gp_metric_name_valid("sm__x..sum"));
	assert_false(gp_metric_name_valid("sm__x sum"));
}

static int parse(struct profile_options *o, const char *const *args)
{
	char *argv[32];
	int argc = 0;

	for (; args[argc]; argc++)
		argv[argc] = (char *)args[argc];
	argv[argc] = NULL;
	profile_options_init(o);
	return profile_options_parse(o, argc, argv);
}

static void test_switches(void **state)
{
	struct profile_options o;

	(void)state;
	const char *const a1[] = {"profile", "-t", "cuda,gpu-metrics", "app", NULL};
	assert_int_equal(parse(&o, a1), 0);
	assert_true(o.trace & PROFILE_TRACE_GPU_METRICS);
	assert_int_equal(o.gpu_metrics_frequency, 10000);
	assert_int_equal(o.gpu_metrics_mode, GP_METRICS_MODE_SAMPLE);
	assert_null(o.gpu_metrics_devices);
	profile_options_release(&o);

	const char *const a2[] = {"profile",
				  "-t",
				  "nvtx",
				  "--gpu-metrics-devices=0,1",
				  "--gpu-metrics-frequency=200000",
				  "--gpu-metrics-mode=range",
				  "--gpu-metrics-ranges=nvtx",
				  "--gpu-metrics-set=file:m.yaml",
				  "app",
				  NULL};
	assert_int_equal(parse(&o, a2), 0);
	assert_int_equal(o.trace, PROFILE_TRACE_NVTX | PROFILE_TRACE_GPU_METRICS);
	assert_string_equal(o.gpu_metrics_devices, "0,1");
	assert_int_equal(o.gpu_metrics_frequency, 200000);
	assert_int_equal(o.gpu_metrics_mode, GP_METRICS_MODE_RANGE);
	assert_int_equal(o.gpu_metrics_ranges_nvtx, 1);
	assert_string_equal(o.gpu_metrics_set, "file:m.yaml");
	profile_options_release(&o);

	const char *const bad[][5] = {
	    {"profile", "--gpu-metrics-frequency=9", "app", NULL},
	    {"profile", "--gpu-metrics-frequency=200001", "app", NULL},
	    {"profile", "--gpu-metrics-frequency=10k", "app", NULL},
	    {"profile", "--gpu-metrics-devices=0,", "app", NULL},
	    {"profile", "--gpu-metrics-devices=some", "app", NULL},
	    {"profile", "--gpu-metrics-mode=kernel", "app", NULL},
	    {"profile", "--gpu-metrics-ranges=cuda", "app", NULL},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int saved = dup(2), devnull = open("/dev/null", 1);
		dup2(devnull, 2);
		int rc = parse(&o, bad[i]);
		dup2(saved, 2);
		close(saved);
		close(devnull);
		assert_int_equal(rc, -1);
		profile_options_release(&o);
	}
	const char *const a3[] = {"profile", "--gpu-metrics-devices=none", "-t", "cuda", "app",
				  NULL};
	assert_int_equal(parse(&o, a3), 0);
	assert_int_equal(o.trace, PROFILE_TRACE_CUDA);
	profile_options_release(&o);
}

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/gprof-test-mcfg-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_builtin_sets), cmocka_unit_test(test_nsys_set_gh100),
	    cmocka_unit_test(test_yaml_ok),	 cmocka_unit_test(test_yaml_errors),
	    cmocka_unit_test(test_suggest),	 cmocka_unit_test(test_switches),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
