/*
 * cuda_gpu_sum.c - "CUDA GPU Summary (Kernels/MemOps)": kernels and memory operations
 * in one summary (nsys stats report cuda_gpu_sum, like nvprof --print-gpu-summary).
 */
#include "cuda_common.h"

static const char *const args[] = {"nvtx-name", "base", "mangled", NULL};
static const char *const needs_any[] = {"CUPTI_ACTIVITY_KIND_KERNEL", "CUPTI_ACTIVITY_KIND_MEMCPY",
					"CUPTI_ACTIVITY_KIND_MEMSET", NULL};

static int query(sqlite3 *db, const struct stats_args *a, struct strbuf *sql)
{
	int n = 0;

	strbuf_addstr(sql, "WITH gpu AS (");
	if (cuda_table_exists(db, "CUPTI_ACTIVITY_KIND_KERNEL")) {
		if (cuda_kernel_view(db, a))
			return -1;
		strbuf_addstr(sql, "SELECT name, end - start AS dur, 'CUDA_KERNEL' AS category "
				   "FROM CUPTI_ACTIVITY_KIND_KERNEL_NAMED");
		n++;
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
		      "FROM gpu GROUP BY 1, 2), "
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

const struct stats_report stats_report_cuda_gpu_sum = {
    .name = "cuda_gpu_sum",
    .display = "CUDA GPU Summary (Kernels/MemOps)",
    .help = "cuda_gpu_sum[:nvtx-name][:base|:mangled] -- CUDA GPU Summary "
	    "(Kernels/MemOps)\n"
	    "\n"
	    "    nvtx-name, base, mangled - as for cuda_gpu_kern_sum (kernel names only).\n"
	    "\n"
	    "    Output: all time values default to nanoseconds\n"
	    "        Time : share of the summed \"Total Time\" of the rows listed\n"
	    "        Total Time : total GPU time of all executions\n"
	    "        Instances : number of executions\n"
	    "        Avg, Med, Min, Max, StdDev : statistics of one execution's duration\n"
	    "        Category : CUDA_KERNEL or MEMORY_OPER\n"
	    "        Operation : kernel name, \"[CUDA memcpy <kind>]\" or \"[CUDA memset]\"\n"
	    "\n"
	    "    Summary of all GPU work: kernels and memory operations together.\n",
    .args = args,
    .needs_any = needs_any,
    .any_what = "GPU kernel/memory operations data",
    .query = query,
};
