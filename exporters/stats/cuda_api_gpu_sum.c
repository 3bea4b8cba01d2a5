/*
 * cuda_api_gpu_sum.c - "CUDA Summary (API/Kernels/MemOps)": CUDA API calls, kernels and
 * memory operations in one summary (nsys stats report cuda_api_gpu_sum).
 */
#include "cuda_common.h"

static const char *const args[] = {"nvtx-name", "base", "mangled", NULL};
static const char *const needs[] = {"StringIds", NULL};
static const char *const needs_any[] = {"CUPTI_ACTIVITY_KIND_RUNTIME", "CUPTI_ACTIVITY_KIND_KERNEL",
					"CUPTI_ACTIVITY_KIND_MEMCPY", "CUPTI_ACTIVITY_KIND_MEMSET",
					NULL};

static int query(sqlite3 *db, const struct stats_args *a, struct strbuf *sql)
{
	int n = 0;

	strbuf_addstr(sql, "WITH apigpu AS (");
	if (cuda_table_exists(db, "CUPTI_ACTIVITY_KIND_RUNTIME")) {
		strbuf_addstr(sql, "SELECT ");
		cuda_api_name_sql(sql, "s.value");
		strbuf_addstr(sql, " AS name, r.end - r.start AS dur, 'CUDA_API' AS category "
				   "FROM CUPTI_ACTIVITY_KIND_RUNTIME AS r "
				   "LEFT JOIN StringIds AS s ON s.id = r.nameId");
		n++;
	}
	if (cuda_table_exists(db, "CUPTI_ACTIVITY_KIND_KERNEL")) {
		if (cuda_kernel_view(db, a))
			return -1;
		if (n++)
			strbuf_addstr(sql, " UNION ALL ");
		strbuf_addstr(sql, "SELECT name, end - start AS dur, 'CUDA_KERNEL' AS category "
				   "FROM CUPTI_ACTIVITY_KIND_KERNEL_NAMED");
	}
	if (cuda_table_exists(db, "CUPTI_ACTIVITY_KIND_MEMCPY") ||
	    cuda_table_exists(db, "CUPTI_ACTIVITY_KIND_MEMSET")) {
		if (n++)
			strbuf_addstr(sql, " UNION ALL ");
		cuda_memops_sql(db, sql, "end - start AS dur, 'MEMORY_OPER' AS category");
	}
	if (!n)
		strbuf_addstr(sql, "SELECT NULL AS name, NULL AS dur, NULL AS category WHERE 0");
	strbuf_addstr(sql,
		      "), summary AS (SELECT name, category, sum(dur) AS total, count(*) AS num, "
		      "avg(dur) AS avg, median(dur) AS med, min(dur) AS min, max(dur) AS max, "
		      "stdev(dur) AS stddev, lower_quartile(dur) AS q1, upper_quartile(dur) AS q3 "
		      "FROM apigpu GROUP BY 1, 2), "
		      "totals AS (SELECT sum(total) AS total FROM summary) "
		      "SELECT round(total * 100.0 / (SELECT total FROM totals), 1) AS "
		      "\"Time:ratio_%\", total AS \"Total Time:dur_ns\", num AS \"Instances\", "
		      "round(avg, 1) AS \"Avg:dur_ns\", round(med, 1) AS \"Med:dur_ns\", "
		      "min AS \"Min:dur_ns\", max AS \"Max:dur_ns\", "
		      "round(stddev, 1) AS \"StdDev:dur_ns\", category AS \"Category\", "
		      "name AS \"Operation\", q1 AS \"_Q1\", q3 AS \"_Q3\" "
		      "FROM summary ORDER BY 2 DESC, name, category");
	return 0;
}

const struct stats_report stats_report_cuda_api_gpu_sum = {
    .name = "cuda_api_gpu_sum",
    .display = "CUDA Summary (API/Kernels/MemOps)",
    .help = "cuda_api_gpu_sum[:nvtx-name][:base|:mangled] -- CUDA Summary "
	    "(API/Kernels/MemOps)\n"
	    "\n"
	    "    nvtx-name, base, mangled - as for cuda_gpu_kern_sum (kernel names only).\n"
	    "\n"
	    "    Output: all time values default to nanoseconds\n"
	    "        Time : share of the summed \"Total Time\" of the rows listed\n"
	    "        Total Time : total time of all calls or executions\n"
	    "        Instances : number of calls or executions\n"
	    "        Avg, Med, Min, Max, StdDev : statistics of one duration\n"
	    "        Category : CUDA_API, CUDA_KERNEL or MEMORY_OPER\n"
	    "        Operation : API function, kernel, \"[CUDA memcpy <kind>]\" or\n"
	    "            \"[CUDA memset]\"\n"
	    "\n"
	    "    The cuda_api_sum, cuda_gpu_kern_sum and cuda_gpu_mem_time_sum rows in\n"
	    "    one table; \"Time\" is a share of all the time listed (CPU API time and\n"
	    "    GPU time added together), not of the application's time.\n",
    .args = args,
    .needs = needs,
    .skip_what = "StringIds table",
    .needs_any = needs_any,
    .any_what = "CUDA API, GPU kernel, nor memory operations data",
    .query = query,
};
