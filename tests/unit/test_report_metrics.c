/*
 * test_report_metrics.c - the gpu-metrics table module (core/report_metrics.c) and its
 * three stats reports (gpu_kern_metrics, gpu_range_metrics, gpu_metrics_sum) on
 * hand-made GP_REC_METRICS_* records sent through a real recorder channel: nsys's
 * GPU_METRICS / TARGET_INFO_GPU_METRICS rows with their typeId/metricId encoding, our
 * GPROF_RANGE_METRICS joined to kernels by correlationId, the replay note in META, and
 * the reports' exact numbers.  CPU only (no GPU, no CUPTI).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/recorder.h"
#include "core/report.h"
#include "core/report_metrics.h"
#include "core/util.h"
#include "core/wire.h"
#include "exporters/stats.h"
#include "tests/testutil.h"

#define PID 5151u
#define TID 5152u
#define T0  2000000000ull /* session start (monotonic ns) */

enum {
	S_CHIP = 1,
	S_DRAMC,
	S_IPC,
	S_TIME,
	S_DRAM,
	S_COPY,
	S_FMA,
	S_STEP,
	S_KEY,
	S_VAL,
	S_GRAPH,
};

static void add_metric(uint16_t mode, uint16_t index, uint32_t sid)
{
	struct gp_rec_metrics_metric *m = tu_add_rec(GP_REC_METRICS_METRIC, sizeof(*m), 0);

	m->device_id = 0;
	m->mode = mode;
	m->index = index;
	m->name_sid = sid;
	m->chip_sid = S_CHIP;
}

static void add_range(uint16_t kind, uint32_t name, uint32_t corr, uint32_t idx, uint64_t t0,
		      uint64_t t1, double v0, double v1)
{
	struct gp_rec_metrics_range *r =
	    tu_add_rec(GP_REC_METRICS_RANGE, sizeof(*r) + 2 * sizeof(double), TID);

	r->start_ns = t0;
	r->end_ns = t1;
	r->device_id = 0;
	r->context_id = 1;
	r->correlation_id = corr;
	r->range_index = idx;
	r->name_sid = name;
	r->kind = kind;
	r->passes = 2;
	r->nvalues = 2;
	r->values[0] = v0;
	r->values[1] = v1;
}

static void send_session(int fd)
{
	struct gp_rec_hello *hello = tu_add_rec(GP_REC_HELLO, sizeof(*hello), TID);
	hello->pid = PID;
	hello->ppid = 1;
	hello->collector = GP_COLLECTOR_INJECT;
	hello->start_ns = T0;

	tu_add_string(S_CHIP, "GH100");
	tu_add_string(S_DRAMC, "dramc__read_throughput.avg.pct_of_peak_sustained_elapsed");
	tu_add_string(S_IPC, "sm__inst_executed_realtime.avg.per_cycle_active");
	tu_add_string(S_TIME, "gpu__time_duration.sum");
	tu_add_string(S_DRAM, "dram__throughput.avg.pct_of_peak_sustained_elapsed");
	tu_add_string(S_COPY, "_Z4copyPfS_i");
	tu_add_string(S_FMA, "fma_loop");
	tu_add_string(S_STEP, "step");
	tu_add_string(S_KEY, "GPU_METRICS:REPLAY_PASSES");
	tu_add_string(S_VAL, "2");
	tu_add_string(S_GRAPH, "[CUDA graph kernel node]");

	/* sampling: 2 metrics, 10 samples of 100 us: dramc 10..100, ipc 1.4..10.4 */
	add_metric(GP_METRICS_MODE_SAMPLE, 0, S_DRAMC);
	add_metric(GP_METRICS_MODE_SAMPLE, 1, S_IPC);
	for (int i = 0; i < 10; i++) {
		struct gp_rec_metrics_sample *s =
		    tu_add_rec(GP_REC_METRICS_SAMPLE, sizeof(*s) + 2 * sizeof(double), 0);
		s->end_ns = T0 + (uint64_t)(i + 1) * 100000;
		s->start_ns = s->end_ns - 100000;
		s->device_id = 0;
		s->nvalues = 2;
		s->values[0] = 10.0 * (i + 1);
		s->values[1] = 1.4 + i;
	}
	/* an NVTX push/pop range "step" over samples 3..6 (ends 300..600 us) */
	struct gp_rec_nvtx *n = tu_add_rec(GP_REC_NVTX_EVENT, sizeof(*n), TID);
	n->start_ns = T0 + 250000;
	n->end_ns = T0 + 650000;
	n->text_sid = S_STEP;
	n->flags = GP_NVTX_PUSHPOP;
	tu_send_frame(fd, PID, 0);

	/* range profiler: 2 metrics; 3 copies, 1 fma, 2 NVTX ranges */
	add_metric(GP_METRICS_MODE_RANGE, 0, S_TIME);
	add_metric(GP_METRICS_MODE_RANGE, 1, S_DRAM);
	add_range(GP_METRICS_RANGE_KERNEL, S_COPY, 11, 0, T0 + 1000, 0, 1000, 80);
	add_range(GP_METRICS_RANGE_KERNEL, S_COPY, 12, 1, T0 + 2000, 0, 2000, 90);
	add_range(GP_METRICS_RANGE_KERNEL, S_FMA, 13, 2, T0 + 3000, 0, 5000, 5);
	add_range(GP_METRICS_RANGE_KERNEL, S_COPY, 14, 3, T0 + 4000, 0, 3000, 100);
	/* a graph launch's kernel node (collectors/gpu_range.c names it so) and a range the
	 * collector could not join to a launch (name 0) */
	add_range(GP_METRICS_RANGE_KERNEL, S_GRAPH, 15, 4, T0 + 5000, T0 + 6000, 700, 3);
	add_range(GP_METRICS_RANGE_KERNEL, 0, 0, 5, 0, 0, 800, 4);
	add_range(GP_METRICS_RANGE_NVTX, S_STEP, 0, 0, T0 + 10000, T0 + 30000, 10000, 50);
	add_range(GP_METRICS_RANGE_NVTX, S_STEP, 0, 1, T0 + 40000, T0 + 70000, 20000, 70);
	struct gp_rec_metrics_note *note = tu_add_rec(GP_REC_METRICS_NOTE, sizeof(*note), 0);
	note->key_sid = S_KEY;
	note->value_sid = S_VAL;
	tu_send_frame(fd, PID, 1);
}

static char dir[64], path[128];
static sqlite3 *db;

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/gprof-test-metrics-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/r.db", dir);
	tu_record_session(path, T0, PID, send_session);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(stats_register_functions(db), 0);
	return 0;
}

static int teardown(void **state)
{
	char cmd[160];

	(void)state;
	sqlite3_close(db);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int64_t q_int(const char *sql)
{
	return tu_db_row_int(db, sql);
}

static const char *q_text(const char *sql)
{
	return tu_db_row_text(db, sql);
}

/* Run report `spec` in CSV and return its text (caller frees). */
static char *run_csv(const char *spec, int *ret)
{
	char buf[128], *name_end;
	struct stats_args a = {0};
	struct stats_fmt_opts o = {.format = STATS_FMT_CSV, .timeunit = STATS_TU_NS};
	const char *name;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	snprintf(buf, sizeof(buf), "%s", spec);
	name_end = buf;
	assert_int_equal(stats_split_spec(name_end, &name, &a), 0);
	const struct stats_report *r = stats_find(name);
	assert_non_null(r);
	*ret = stats_run_report(db, r, &a, &o, f);
	fclose(f);
	return out;
}

static void test_sampled_tables(void **state)
{
	(void)state;
	int64_t type_id = (int64_t)((1ull << 48) | (1ull << 32)); /* nsys 2025.3, GPU 0 */

	assert_int_equal(report_metrics_type_id(0), type_id);
	assert_int_equal(report_metrics_type_id(3) & 0xFF, 3);
	assert_int_equal(q_int("SELECT COUNT(*) FROM TARGET_INFO_GPU_METRICS"), 2);
	assert_string_equal(
	    q_text("SELECT metricName FROM TARGET_INFO_GPU_METRICS WHERE metricId = 1"),
	    "sm__inst_executed_realtime.avg.per_cycle_active");
	assert_string_equal(q_text("SELECT typeName FROM TARGET_INFO_GPU_METRICS LIMIT 1"),
			    "GPU 0 GH100 PM sampling");
	assert_int_equal(q_int("SELECT typeId FROM TARGET_INFO_GPU_METRICS LIMIT 1"), type_id);
	assert_int_equal(q_int("SELECT sourceId FROM TARGET_INFO_GPU_METRICS LIMIT 1"), type_id);
	assert_int_equal(q_int("SELECT COUNT(*) FROM GPU_METRICS"), 20);
	/* report time = monotonic - session start; raw = monotonic */
	assert_int_equal(q_int("SELECT MIN(timestamp) FROM GPU_METRICS"), 100000);
	assert_int_equal(q_int("SELECT MAX(rawTimestamp) FROM GPU_METRICS"), (int64_t)T0 + 1000000);
	assert_int_equal(q_int("SELECT SUM(value) FROM GPU_METRICS WHERE metricId = 0"), 550);
	/* 1.4 .. 10.4 rounded: 1 .. 10 */
	assert_int_equal(q_int("SELECT SUM(value) FROM GPU_METRICS WHERE metricId = 1"), 55);
	assert_int_equal(q_int("SELECT typeof(value) = 'integer' FROM GPU_METRICS LIMIT 1"), 1);
	assert_int_equal(report_metrics_int_value(-3.0), 0);
	assert_int_equal(report_metrics_int_value(99.5), 100);
}

static void test_range_table(void **state)
{
	(void)state;
	/* 8 ranges x 2 metrics */
	assert_int_equal(q_int("SELECT COUNT(*) FROM GPROF_RANGE_METRICS"), 16);
	assert_int_equal(q_int("SELECT COUNT(DISTINCT rangeId) FROM GPROF_RANGE_METRICS"), 8);
	assert_string_equal(q_text("SELECT s.value FROM GPROF_RANGE_METRICS r JOIN StringIds s"
				   " ON s.id = r.nameId WHERE r.correlationId = 15"),
			    "[CUDA graph kernel node]");
	assert_int_equal(q_int("SELECT COUNT(*) FROM GPROF_RANGE_METRICS WHERE kind = 'kernel'"
			       " AND nameId IS NULL AND start IS NULL AND rangeIndex = 5"),
			 2);
	assert_string_equal(q_text("SELECT s.value FROM GPROF_RANGE_METRICS r JOIN StringIds s"
				   " ON s.id = r.nameId WHERE r.correlationId = 12"),
			    "copy(float *, float *, int)");
	assert_string_equal(q_text("SELECT s.value FROM GPROF_RANGE_METRICS r JOIN StringIds s"
				   " ON s.id = r.mangledNameId WHERE r.correlationId = 12"),
			    "_Z4copyPfS_i");
	assert_string_equal(q_text("SELECT s.value FROM GPROF_RANGE_METRICS r JOIN StringIds s"
				   " ON s.id = r.nameId WHERE r.correlationId = 13"),
			    "fma_loop");
	assert_string_equal(q_text("SELECT s.value FROM GPROF_RANGE_METRICS r JOIN StringIds s"
				   " ON s.id = r.metricNameId WHERE r.correlationId = 14"
				   " AND r.metricId = 1"),
			    "dram__throughput.avg.pct_of_peak_sustained_elapsed");
	assert_int_equal(q_int("SELECT value FROM GPROF_RANGE_METRICS WHERE correlationId = 14"
			       " AND metricId = 1"),
			 100);
	assert_int_equal(q_int("SELECT COUNT(*) FROM GPROF_RANGE_METRICS WHERE kind = 'nvtx'"
			       " AND correlationId IS NULL AND mangledNameId IS NULL"),
			 4);
	assert_int_equal(q_int("SELECT end - start FROM GPROF_RANGE_METRICS WHERE kind = 'nvtx'"
			       " AND rangeIndex = 1 LIMIT 1"),
			 30000);
	assert_int_equal(q_int("SELECT globalTid FROM GPROF_RANGE_METRICS LIMIT 1"),
			 report_global_tid(PID, TID));
	assert_int_equal(q_int("SELECT MAX(passes) FROM GPROF_RANGE_METRICS"), 2);
	assert_string_equal(q_text("SELECT value FROM META_DATA_CAPTURE"
				   " WHERE name = 'GPU_METRICS:REPLAY_PASSES'"),
			    "2");
}

static void check_report(const char *spec, const char *want)
{
	int ret = -1;
	char *out = run_csv(spec, &ret);

	assert_int_equal(ret, 0);
	assert_string_equal(out, want);
	free(out);
}

static void test_kern_metrics(void **state)
{
	(void)state;
	check_report(
	    "gpu_kern_metrics",
	    "Instances,Mean,Min,Max,Metric,Name\n"
	    "3,2000.0,1000.0,3000.0,gpu__time_duration.sum,\"copy(float *, float *, int)\"\n"
	    "3,90.0,80.0,100.0,dram__throughput.avg.pct_of_peak_sustained_elapsed,"
	    "\"copy(float *, float *, int)\"\n"
	    "1,5000.0,5000.0,5000.0,gpu__time_duration.sum,fma_loop\n"
	    "1,5.0,5.0,5.0,dram__throughput.avg.pct_of_peak_sustained_elapsed,fma_loop\n"
	    "1,700.0,700.0,700.0,gpu__time_duration.sum,[CUDA graph kernel node]\n"
	    "1,3.0,3.0,3.0,dram__throughput.avg.pct_of_peak_sustained_elapsed,"
	    "[CUDA graph kernel node]\n"
	    "1,800.0,800.0,800.0,gpu__time_duration.sum,[unknown]\n"
	    "1,4.0,4.0,4.0,dram__throughput.avg.pct_of_peak_sustained_elapsed,[unknown]\n");
}

static void test_range_metrics(void **state)
{
	(void)state;
	check_report("gpu_range_metrics",
		     "Instances,Mean,Min,Max,Metric,Range\n"
		     "2,15000.0,10000.0,20000.0,gpu__time_duration.sum,step\n"
		     "2,60.0,50.0,70.0,dram__throughput.avg.pct_of_peak_sustained_elapsed,step\n");
	check_report("gpu_range_metrics:trace",
		     "Start (ns),Duration (ns),Value,Metric,Range\n"
		     "10000,20000,10000.0,gpu__time_duration.sum,step\n"
		     "10000,20000,50.0,dram__throughput.avg.pct_of_peak_sustained_elapsed,step\n"
		     "40000,30000,20000.0,gpu__time_duration.sum,step\n"
		     "40000,30000,70.0,dram__throughput.avg.pct_of_peak_sustained_elapsed,step\n");
}

static void test_metrics_sum(void **state)
{
	(void)state;
	check_report(
	    "gpu_metrics_sum",
	    "Samples,Mean,Min,Med,P90,P99,Max,GPU,Metric,Range\n"
	    "10,55.0,10,55.0,90,100,100,0,dramc__read_throughput.avg.pct_of_peak_sustained_elapsed,"
	    "[all]\n"
	    "10,5.5,1,5.5,9,10,10,0,sm__inst_executed_realtime.avg.per_cycle_active,[all]\n"
	    "4,45.0,30,45.0,60,60,60,0,dramc__read_throughput.avg.pct_of_peak_sustained_elapsed,"
	    "step\n"
	    "4,4.5,3,4.5,6,6,6,0,sm__inst_executed_realtime.avg.per_cycle_active,step\n");
}

static void test_skipped_without_tables(void **state)
{
	sqlite3 *empty;
	int ret;
	char *out = NULL;
	size_t len = 0;
	FILE *f;
	struct stats_args a = {0};
	struct stats_fmt_opts o = {.format = STATS_FMT_CSV};
	static const char *const reps[] = {"gpu_kern_metrics", "gpu_range_metrics",
					   "gpu_metrics_sum"};

	(void)state;
	assert_int_equal(sqlite3_open(":memory:", &empty), SQLITE_OK);
	for (size_t i = 0; i < 3; i++) {
		f = open_memstream(&out, &len);
		ret = stats_run_report(empty, stats_find(reps[i]), &a, &o, f);
		fclose(f);
		assert_int_equal(ret, 1);
		free(out);
		out = NULL;
	}
	sqlite3_close(empty);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sampled_tables), cmocka_unit_test(test_range_table),
	    cmocka_unit_test(test_kern_metrics),   cmocka_unit_test(test_range_metrics),
	    cmocka_unit_test(test_metrics_sum),	   cmocka_unit_test(test_skipped_without_tables),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
