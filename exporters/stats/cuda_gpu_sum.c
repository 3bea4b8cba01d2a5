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
	return cuda_category_sum_sql(db, a, 0, sql);
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
