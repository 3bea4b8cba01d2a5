/*
 * cuda_api_sum.c - "CUDA API Summary": CUDA runtime and driver API calls grouped by
 * name (nsys stats report cuda_api_sum, nsys-cli.md 2.3).
 */
#include "cuda_common.h"

static const char *const needs[] = {"StringIds", "CUPTI_ACTIVITY_KIND_RUNTIME", NULL};

static int query(sqlite3 *db, const struct stats_args *args, struct strbuf *sql)
{
	strbuf_addstr(sql, "WITH api AS (SELECT ");
	cuda_api_name_sql(sql, "s.value");
	strbuf_addstr(sql,
		      " AS name, r.end - r.start AS dur FROM CUPTI_ACTIVITY_KIND_RUNTIME AS r "
		      "LEFT JOIN StringIds AS s ON s.id = r.nameId), "
		      "summary AS (SELECT name, sum(dur) AS total, count(*) AS num, "
		      "avg(dur) AS avg, median(dur) AS med, min(dur) AS min, max(dur) AS max, "
		      "stdev(dur) AS stddev, lower_quartile(dur) AS q1, upper_quartile(dur) AS q3 "
		      "FROM api GROUP BY 1), "
		      "totals AS (SELECT sum(total) AS total FROM summary) "
		      "SELECT round(total * 100.0 / (SELECT total FROM totals), 1) AS "
		      "\"Time:ratio_%\", total AS \"Total Time:dur_ns\", num AS \"Num Calls\", "
		      "round(avg, 1) AS \"Avg:dur_ns\", round(med, 1) AS \"Med:dur_ns\", "
		      "min AS \"Min:dur_ns\", max AS \"Max:dur_ns\", "
		      "round(stddev, 1) AS \"StdDev:dur_ns\", name AS \"Name\", "
		      "q1 AS \"_Q1\", q3 AS \"_Q3\" "
		      "FROM summary ORDER BY 2 DESC, name");
	return 0;
}

const struct stats_report stats_report_cuda_api_sum = {
    .name = "cuda_api_sum",
    .display = "CUDA API Summary",
    .help = "cuda_api_sum -- CUDA API Summary\n"
	    "\n"
	    "    No arguments.\n"
	    "\n"
	    "    Output: all time values default to nanoseconds\n"
	    "        Time : share of the summed \"Total Time\" of the calls listed\n"
	    "        Total Time : total time spent in all calls of this function\n"
	    "        Num Calls : number of calls\n"
	    "        Avg, Med, Min, Max, StdDev : statistics of one call's duration\n"
	    "        Name : CUDA runtime or driver function (a _vNNNN suffix is dropped)\n"
	    "\n"
	    "    Summary of the CUDA runtime and driver API calls of the report\n"
	    "    (CUPTI_ACTIVITY_KIND_RUNTIME).  \"Time\" is a share of the API time\n"
	    "    listed, not of the application's wall or CPU time.\n",
    .args = NULL,
    .needs = needs,
    .skip_what = "CUDA trace data",
    .query = query,
};
