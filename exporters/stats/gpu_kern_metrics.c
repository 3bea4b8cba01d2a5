/*
 * gpu_kern_metrics.c - "GPU Kernel Metrics Summary" (gprof-cli's own; nsys has no such
 * report, Nsight Compute answers it per launch): per kernel name and metric, over the
 * launches the range profiler measured (`profile -t gpu-metrics --gpu-metrics-mode=range`),
 * the number of instances and the metric's mean, minimum and maximum.
 *
 * Input: GPROF_RANGE_METRICS rows of kind 'kernel' (core/report_metrics.c).  Rows are
 * ordered by kernel name (its first measured launch first), then by the metric's
 * position in the configured set.
 */
#include "exporters/stats.h"

static const char *const needs[] = {"StringIds", "GPROF_RANGE_METRICS", NULL};

static int query(sqlite3 *db, const struct stats_args *args, struct strbuf *sql)
{
	strbuf_addstr(sql,
		      "SELECT COUNT(DISTINCT r.rangeId) AS \"Instances\","
		      " AVG(r.value) AS \"Mean\", MIN(r.value) AS \"Min\","
		      " MAX(r.value) AS \"Max\", m.value AS \"Metric\","
		      " COALESCE(n.value, '[unknown]') AS \"Name\", MIN(r.rangeId) AS _first,"
		      " r.metricId AS _mid"
		      " FROM GPROF_RANGE_METRICS AS r"
		      " JOIN StringIds AS m ON m.id = r.metricNameId"
		      " LEFT JOIN StringIds AS n ON n.id = r.nameId"
		      " WHERE r.kind = 'kernel'"
		      " GROUP BY r.nameId, r.metricId"
		      " ORDER BY MIN(MIN(r.rangeId)) OVER (PARTITION BY r.nameId), r.metricId");
	return 0;
}

const struct stats_report stats_report_gpu_kern_metrics = {
    .name = "gpu_kern_metrics",
    .display = "GPU Kernel Metrics Summary",
    .help = "gpu_kern_metrics -- GPU Kernel Metrics Summary\n"
	    "\n"
	    "    No arguments.\n"
	    "\n"
	    "    Output:\n"
	    "        Instances : kernel launches measured\n"
	    "        Mean, Min, Max : statistics of the metric over those launches, in the\n"
	    "            metric's own unit (ns for gpu__time_duration.sum, % for *.pct and\n"
	    "            *pct_of_peak*, a count for *.sum)\n"
	    "        Metric : the CUPTI (Perfworks) metric name\n"
	    "        Name : the kernel's demangled name\n"
	    "\n"
	    "    Per-kernel hardware metrics from the CUPTI range profiler (profile -t\n"
	    "    gpu-metrics --gpu-metrics-mode=range), one row per kernel name and metric.\n"
	    "    Kernels were replayed once per pass: their timings are not comparable\n"
	    "    with a trace run (META_DATA_CAPTURE GPU_METRICS:REPLAY_PASSES).\n",
    .args = NULL,
    .needs = needs,
    .skip_what = "GPU range metrics data",
    .query = query,
};
