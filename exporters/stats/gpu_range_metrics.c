/*
 * gpu_range_metrics.c - "GPU Range Metrics" (gprof-cli's own): hardware metrics of the
 * NVTX ranges the range profiler measured (`--gpu-metrics-mode=range
 * --gpu-metrics-ranges=nvtx`, one CUPTI user range per NVTX push/pop range), per range
 * name and metric: instances, mean, minimum and maximum.  With the arg `trace`, one row
 * per range instance and metric instead, in time order.
 *
 * Input: GPROF_RANGE_METRICS rows of kind 'nvtx' (core/report_metrics.c).
 */
#include "exporters/stats.h"

static const char *const needs[] = {"StringIds", "GPROF_RANGE_METRICS", NULL};
static const char *const args_ok[] = {"trace", NULL};

static int query(sqlite3 *db, const struct stats_args *args, struct strbuf *sql)
{
	if (stats_has_arg(args, "trace")) {
		strbuf_addstr(sql, "SELECT r.start AS \"Start:ts_ns\","
				   " r.end - r.start AS \"Duration:dur_ns\","
				   " r.value AS \"Value\", m.value AS \"Metric\","
				   " COALESCE(n.value, '[unknown]') AS \"Range\""
				   " FROM GPROF_RANGE_METRICS AS r"
				   " JOIN StringIds AS m ON m.id = r.metricNameId"
				   " LEFT JOIN StringIds AS n ON n.id = r.nameId"
				   " WHERE r.kind = 'nvtx'"
				   " ORDER BY r.start, r.rangeId, r.metricId");
		return 0;
	}
	strbuf_addstr(sql,
		      "SELECT COUNT(DISTINCT r.rangeId) AS \"Instances\","
		      " AVG(r.value) AS \"Mean\", MIN(r.value) AS \"Min\","
		      " MAX(r.value) AS \"Max\", m.value AS \"Metric\","
		      " COALESCE(n.value, '[unknown]') AS \"Range\""
		      " FROM GPROF_RANGE_METRICS AS r"
		      " JOIN StringIds AS m ON m.id = r.metricNameId"
		      " LEFT JOIN StringIds AS n ON n.id = r.nameId"
		      " WHERE r.kind = 'nvtx'"
		      " GROUP BY r.nameId, r.metricId"
		      " ORDER BY MIN(MIN(r.rangeId)) OVER (PARTITION BY r.nameId), r.metricId");
	return 0;
}

const struct stats_report stats_report_gpu_range_metrics = {
    .name = "gpu_range_metrics",
    .display = "GPU Range Metrics",
    .help = "gpu_range_metrics[:trace] -- GPU Range Metrics\n"
	    "\n"
	    "    trace : one row per range instance and metric (Start, Duration, Value,\n"
	    "        Metric, Range) instead of the summary\n"
	    "\n"
	    "    Output (summary):\n"
	    "        Instances : range instances measured\n"
	    "        Mean, Min, Max : statistics of the metric over those instances\n"
	    "        Metric : the CUPTI (Perfworks) metric name\n"
	    "        Range : the NVTX range's message\n"
	    "\n"
	    "    Hardware metrics per NVTX range from the CUPTI range profiler (profile -t\n"
	    "    gpu-metrics,nvtx --gpu-metrics-mode=range --gpu-metrics-ranges=nvtx).\n",
    .args = args_ok,
    .needs = needs,
    .skip_what = "GPU range metrics data",
    .query = query,
};
