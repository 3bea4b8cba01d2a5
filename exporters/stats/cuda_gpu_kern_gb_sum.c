/*
 * cuda_gpu_kern_gb_sum.c - "CUDA GPU Kernel/Grid/Block Summary": kernel executions
 * grouped by name, grid and block shape (nsys stats report cuda_gpu_kern_gb_sum).
 */
#include "cuda_common.h"

static int query(sqlite3 *db, const struct stats_args *a, struct strbuf *sql)
{
	if (cuda_kernel_view(db, a))
		return -1;
	strbuf_addstr(sql,
		      "WITH summary AS (SELECT name, "
		      "printf('%4d %4d %4d', gridX, gridY, gridZ) AS grid, "
		      "printf('%4d %4d %4d', blockX, blockY, blockZ) AS block, "
		      "sum(end - start) AS total, count(*) AS num, "
		      "avg(end - start) AS avg, median(end - start) AS med, "
		      "min(end - start) AS min, max(end - start) AS max, "
		      "stdev(end - start) AS stddev, lower_quartile(end - start) AS q1, "
		      "upper_quartile(end - start) AS q3 "
		      "FROM CUPTI_ACTIVITY_KIND_KERNEL_NAMED GROUP BY 1, 2, 3), "
		      "totals AS (SELECT sum(total) AS total FROM summary) "
		      "SELECT round(total * 100.0 / (SELECT total FROM totals), 1) AS "
		      "\"Time:ratio_%\", total AS \"Total Time:dur_ns\", num AS \"Instances\", "
		      "round(avg, 1) AS \"Avg:dur_ns\", round(med, 1) AS \"Med:dur_ns\", "
		      "min AS \"Min:dur_ns\", max AS \"Max:dur_ns\", "
		      "round(stddev, 1) AS \"StdDev:dur_ns\", grid AS \"GridXYZ\", "
		      "block AS \"BlockXYZ\", name AS \"Name\", q1 AS \"_Q1\", q3 AS \"_Q3\" "
		      "FROM summary ORDER BY 2 DESC, 3, name, grid, block");
	return 0;
}

const struct stats_report stats_report_cuda_gpu_kern_gb_sum = {
    .name = "cuda_gpu_kern_gb_sum",
    .display = "CUDA GPU Kernel/Grid/Block Summary",
    .help = "cuda_gpu_kern_gb_sum[:nvtx-name][:base|:mangled] -- CUDA GPU "
	    "Kernel/Grid/Block Summary\n"
	    "\n"
	    "    nvtx-name, base, mangled - as for cuda_gpu_kern_sum.\n"
	    "\n"
	    "    Output: all time values default to nanoseconds\n"
	    "        Time : share of the summed \"Total Time\" of the rows listed\n"
	    "        Total Time : total GPU execution time of all instances\n"
	    "        Instances : number of executions\n"
	    "        Avg, Med, Min, Max, StdDev : statistics of one execution's duration\n"
	    "        GridXYZ : grid dimensions X Y Z\n"
	    "        BlockXYZ : block dimensions X Y Z\n"
	    "        Name : kernel name\n"
	    "\n"
	    "    Summary of the CUDA kernels executed, one row per kernel name and\n"
	    "    launch shape (grid and block dimensions).\n",
    .args = cuda_kern_args,
    .needs = cuda_kern_needs,
    .skip_what = "CUDA kernel data",
    .query = query,
};
