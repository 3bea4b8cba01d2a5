/*
 * cuda_gpu_kern_sum.c - "CUDA GPU Kernel Summary": kernel executions grouped by name
 * (nsys stats report cuda_gpu_kern_sum, nsys-cli.md 2.3).
 */
#include "cuda_common.h"

static int query(sqlite3 *db, const struct stats_args *a, struct strbuf *sql)
{
	if (cuda_kernel_view(db, a))
		return -1;
	strbuf_addstr(sql,
		      "WITH summary AS (SELECT name, sum(end - start) AS total, count(*) AS num, "
		      "avg(end - start) AS avg, median(end - start) AS med, "
		      "min(end - start) AS min, max(end - start) AS max, "
		      "stdev(end - start) AS stddev, lower_quartile(end - start) AS q1, "
		      "upper_quartile(end - start) AS q3 "
		      "FROM CUPTI_ACTIVITY_KIND_KERNEL_NAMED GROUP BY 1), "
		      "totals AS (SELECT sum(total) AS total FROM summary) "
		      "SELECT round(total * 100.0 / (SELECT total FROM totals), 1) AS "
		      "\"Time:ratio_%\", total AS \"Total Time:dur_ns\", num AS \"Instances\", "
		      "round(avg, 1) AS \"Avg:dur_ns\", round(med, 1) AS \"Med:dur_ns\", "
		      "min AS \"Min:dur_ns\", max AS \"Max:dur_ns\", "
		      "round(stddev, 1) AS \"StdDev:dur_ns\", name AS \"Name\", "
		      "q1 AS \"_Q1\", q3 AS \"_Q3\" "
		      "FROM summary ORDER BY 2 DESC, 3, name");
	return 0;
}

const struct stats_report stats_report_cuda_gpu_kern_sum = {
    .name = "cuda_gpu_kern_sum",
    .display = "CUDA GPU Kernel Summary",
    .help = "cuda_gpu_kern_sum[:nvtx-name][:base|:mangled] -- CUDA GPU Kernel Summary\n"
	    "\n"
	    "    nvtx-name - prefix each kernel name with the innermost NVTX range that\n"
	    "        contains its launch call, as \"<range>/<kernel>\".\n"
	    "    base - summarise over the base (short) kernel name instead of the\n"
	    "        templated, demangled one.\n"
	    "    mangled - summarise over the raw mangled name (the demangled name where\n"
	    "        the report has none).\n"
	    "\n"
	    "    Output: all time values default to nanoseconds\n"
	    "        Time : share of the summed \"Total Time\" of the kernels listed\n"
	    "        Total Time : total GPU execution time of all instances\n"
	    "        Instances : number of executions\n"
	    "        Avg, Med, Min, Max, StdDev : statistics of one execution's duration\n"
	    "        Name : kernel name\n"
	    "\n"
	    "    Summary of the CUDA kernels executed and their execution times.  \"Time\"\n"
	    "    is a share of the kernel time listed, not of the application's time.\n",
    .args = cuda_kern_args,
    .needs = cuda_kern_needs,
    .skip_what = "CUDA kernel data",
    .query = query,
};
