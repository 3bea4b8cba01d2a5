/*
 * cuda_gpu_mem_time_sum.c - "CUDA GPU MemOps Summary (by Time)": memory copies and sets
 * grouped by operation, by duration (nsys stats report cuda_gpu_mem_time_sum).
 */
#include "cuda_common.h"

static const char *const needs_any[] = {"CUPTI_ACTIVITY_KIND_MEMCPY", "CUPTI_ACTIVITY_KIND_MEMSET",
					NULL};

static int query(sqlite3 *db, const struct stats_args *a, struct strbuf *sql)
{
	strbuf_addstr(sql, "WITH memops AS (");
	if (!cuda_memops_sql(db, sql, "end - start AS dur"))
		strbuf_addstr(sql, "SELECT NULL AS name, NULL AS dur WHERE 0");
	strbuf_addstr(sql,
		      "), summary AS (SELECT name, sum(dur) AS total, count(*) AS num, "
		      "avg(dur) AS avg, median(dur) AS med, min(dur) AS min, max(dur) AS max, "
		      "stdev(dur) AS stddev, lower_quartile(dur) AS q1, upper_quartile(dur) AS q3 "
		      "FROM memops GROUP BY 1), "
		      "totals AS (SELECT sum(total) AS total FROM summary) "
		      "SELECT round(total * 100.0 / (SELECT total FROM totals), 1) AS "
		      "\"Time:ratio_%\", total AS \"Total Time:dur_ns\", num AS \"Count\", "
		      "round(avg, 1) AS \"Avg:dur_ns\", round(med, 1) AS \"Med:dur_ns\", "
		      "min AS \"Min:dur_ns\", max AS \"Max:dur_ns\", "
		      "round(stddev, 1) AS \"StdDev:dur_ns\", name AS \"Operation\", "
		      "q1 AS \"_Q1\", q3 AS \"_Q3\" "
		      "FROM summary ORDER BY 2 DESC, name");
	return 0;
}

const struct stats_report stats_report_cuda_gpu_mem_time_sum = {
    .name = "cuda_gpu_mem_time_sum",
    .display = "CUDA GPU MemOps Summary (by Time)",
    .help = "cuda_gpu_mem_time_sum -- CUDA GPU MemOps Summary (by Time)\n"
	    "\n"
	    "    No arguments.\n"
	    "\n"
	    "    Output: all time values default to nanoseconds\n"
	    "        Time : share of the summed \"Total Time\" of the operations listed\n"
	    "        Total Time : total GPU time of all executions of this operation\n"
	    "        Count : number of executions\n"
	    "        Avg, Med, Min, Max, StdDev : statistics of one execution's duration\n"
	    "        Operation : \"[CUDA memcpy <kind>]\" or \"[CUDA memset]\"\n"
	    "\n"
	    "    Summary of the GPU memory operations (copies and sets) and their\n"
	    "    execution times.\n",
    .args = NULL,
    .needs_any = needs_any,
    .any_what = "GPU memory data",
    .query = query,
};
