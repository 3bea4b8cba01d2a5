/*
 * cuda_gpu_mem_size_sum.c - "CUDA GPU MemOps Summary (by Size)": memory copies and sets
 * grouped by operation, by bytes (nsys stats report cuda_gpu_mem_size_sum).
 */
#include "cuda_common.h"

static const char *const needs_any[] = {"CUPTI_ACTIVITY_KIND_MEMCPY", "CUPTI_ACTIVITY_KIND_MEMSET",
					NULL};

static int query(sqlite3 *db, const struct stats_args *a, struct strbuf *sql)
{
	strbuf_addstr(sql, "WITH memops AS (");
	if (!cuda_memops_sql(db, sql, "bytes AS size"))
		strbuf_addstr(sql, "SELECT NULL AS name, NULL AS size WHERE 0");
	strbuf_addstr(sql,
		      "), summary AS (SELECT name, sum(size) AS total, count(*) AS num, "
		      "avg(size) AS avg, median(size) AS med, min(size) AS min, "
		      "max(size) AS max, stdev(size) AS stddev, lower_quartile(size) AS q1, "
		      "upper_quartile(size) AS q3 FROM memops GROUP BY 1) "
		      "SELECT total AS \"Total:mem_B\", num AS \"Count\", avg AS \"Avg:mem_B\", "
		      "med AS \"Med:mem_B\", min AS \"Min:mem_B\", max AS \"Max:mem_B\", "
		      "stddev AS \"StdDev:mem_B\", name AS \"Operation\", "
		      "q1 AS \"_Q1\", q3 AS \"_Q3\" "
		      "FROM summary ORDER BY 1 DESC, name");
	return 0;
}

const struct stats_report stats_report_cuda_gpu_mem_size_sum = {
    .name = "cuda_gpu_mem_size_sum",
    .display = "CUDA GPU MemOps Summary (by Size)",
    .help = "cuda_gpu_mem_size_sum -- CUDA GPU MemOps Summary (by Size)\n"
	    "\n"
	    "    No arguments.\n"
	    "\n"
	    "    Output: sizes in MB (10^6 bytes)\n"
	    "        Total : bytes moved or set by all executions of this operation\n"
	    "        Count : number of executions\n"
	    "        Avg, Med, Min, Max, StdDev : statistics of one execution's size\n"
	    "        Operation : \"[CUDA memcpy <kind>]\" or \"[CUDA memset]\"\n"
	    "\n"
	    "    Summary of the GPU memory operations (copies and sets) and the\n"
	    "    amount of memory they touch.\n",
    .args = NULL,
    .needs_any = needs_any,
    .any_what = "GPU memory data",
    .query = query,
};
