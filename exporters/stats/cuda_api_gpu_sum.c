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
	return cuda_category_sum_sql(db, a, 1, sql);
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
