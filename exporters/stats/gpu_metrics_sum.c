/*
 * gpu_metrics_sum.c - "GPU Metrics Summary" (gprof-cli's own; nsys's nearest is the
 * gpu_metric_util_sum recipe): statistics of each PM-sampled metric (GPU_METRICS,
 * `profile -t gpu-metrics`) over the whole run ("[all]") and within each NVTX range
 * name (push/pop and start/end ranges of NVTX_EVENTS, when the report has them).
 *
 * A sample belongs to a range instance when its timestamp (the sample's end) lies in
 * [start, end] of the instance; a sample inside several instances of one name counts
 * once per instance.  Percentiles are nearest-rank: P90 = the ceil(0.9 n)-th smallest.
 * Values are GPU_METRICS.value (integers, as nsys stores them).
 */
#include "core/nsys_event_type.h"
#include "exporters/stats.h"

static const char *const needs[] = {"GPU_METRICS", "TARGET_INFO_GPU_METRICS", NULL};

static int query(sqlite3 *db, const struct stats_args *args, struct strbuf *sql)
{
	strbuf_addstr(sql, "WITH s AS ("
			   " SELECT '[all]' AS rng, 0 AS ord, typeId, metricId, value"
			   " FROM GPU_METRICS");
	if (stats_table_exists(db, "NVTX_EVENTS") && stats_table_exists(db, "StringIds"))
		strbuf_addstr(sql, " UNION ALL SELECT COALESCE(e.text, si.value, '[unnamed]'), 1,"
				   " g.typeId, g.metricId, g.value"
				   " FROM NVTX_EVENTS AS e"
				   " LEFT JOIN StringIds AS si ON si.id = e.textId"
				   " JOIN GPU_METRICS AS g"
				   "  ON g.timestamp >= e.start AND g.timestamp <= e.end"
				   " WHERE e.eventType IN (" NVTX_EV_PUSHPOP_S
				   ", " NVTX_EV_STARTEND_S ")"
				   " AND e.end IS NOT NULL");
	strbuf_addstr(
	    sql, "), r AS (SELECT rng, ord, typeId, metricId, value,"
		 " ROW_NUMBER() OVER (PARTITION BY rng, typeId, metricId ORDER BY value) AS rn,"
		 " COUNT(*) OVER (PARTITION BY rng, typeId, metricId) AS n FROM s)"
		 " SELECT n AS \"Samples\", AVG(value) AS \"Mean\", MIN(value) AS \"Min\","
		 " median(value) AS \"Med\","
		 " MIN(CASE WHEN rn >= (9 * n + 9) / 10 THEN value END) AS \"P90\","
		 " MIN(CASE WHEN rn >= (99 * n + 99) / 100 THEN value END) AS \"P99\","
		 " MAX(value) AS \"Max\", r.typeId & 255 AS \"GPU\","
		 " COALESCE(t.metricName, 'metric ' || r.metricId) AS \"Metric\", rng AS \"Range\""
		 " FROM r LEFT JOIN (SELECT DISTINCT typeId, metricId, metricName"
		 "  FROM TARGET_INFO_GPU_METRICS) AS t"
		 "  ON t.typeId = r.typeId AND t.metricId = r.metricId"
		 " GROUP BY ord, rng, r.typeId, r.metricId"
		 " ORDER BY ord, rng, r.typeId, r.metricId");
	return 0;
}

const struct stats_report stats_report_gpu_metrics_sum = {
    .name = "gpu_metrics_sum",
    .display = "GPU Metrics Summary",
    .help = "gpu_metrics_sum -- GPU Metrics Summary\n"
	    "\n"
	    "    No arguments.\n"
	    "\n"
	    "    Output:\n"
	    "        Samples : PM samples of the metric in the range\n"
	    "        Mean, Min, Med, P90, P99, Max : statistics of the sampled values\n"
	    "            (nearest-rank percentiles)\n"
	    "        GPU : device id (TARGET_INFO_GPU_METRICS.typeId & 0xFF)\n"
	    "        Metric : the sampled metric's name\n"
	    "        Range : [all] for the whole run, else an NVTX range name (samples whose\n"
	    "            timestamp falls inside an instance of that range)\n"
	    "\n"
	    "    Statistics of the metrics sampled over time (profile -t gpu-metrics).\n",
    .args = NULL,
    .needs = needs,
    .skip_what = "GPU metrics data",
    .query = query,
};
