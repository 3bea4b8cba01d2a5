/*
 * nvtx_gpu_proj_sum.c - "NVTX GPU Projection Summary": NVTX ranges projected onto the
 * GPU work they launched, summarised by name and style (nsys stats report
 * nvtx_gpu_proj_sum, nsys-cli.md 2.3).
 */
#include "cuda_common.h"

static int query(sqlite3 *db, const struct stats_args *a, struct strbuf *sql)
{
	if (cuda_nvtx_build(db))
		return -1;
	cuda_nvtx_proj_sql(sql);
	strbuf_addstr(sql,
		      "SELECT name AS \"Range\", style AS \"Style\", "
		      "sum(projDuration) AS \"Total Proj Time:dur_ns\", "
		      "sum(nvtxDuration) AS \"Total Range Time:dur_ns\", "
		      "count(*) AS \"Range Instances\", "
		      "round(avg(projDuration), 1) AS \"Proj Avg:dur_ns\", "
		      "round(median(projDuration), 1) AS \"Proj Med:dur_ns\", "
		      "min(projDuration) AS \"Proj Min:dur_ns\", "
		      "max(projDuration) AS \"Proj Max:dur_ns\", "
		      "round(stdev(projDuration), 1) AS \"Proj StdDev:dur_ns\", "
		      "sum(opNb) AS \"Total GPU Ops\", round(avg(opNb), 1) AS \"Avg GPU Ops\", "
		      "round(avg(level), 1) AS \"Avg Range Lvl\", "
		      "round(avg(childNb), 1) AS \"Avg Num Child\" "
		      "FROM proj GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2");
	return 0;
}

const struct stats_report stats_report_nvtx_gpu_proj_sum = {
    .name = "nvtx_gpu_proj_sum",
    .display = "NVTX GPU Projection Summary",
    .help = "nvtx_gpu_proj_sum -- NVTX GPU Projection Summary\n"
	    "\n"
	    "    No arguments.\n"
	    "\n"
	    "    Output: all time values default to nanoseconds\n"
	    "        Range : range name, \"<domain>:<message>\"\n"
	    "        Style : PushPop or StartEnd\n"
	    "        Total Proj Time : summed projected time of the instances\n"
	    "        Total Range Time : summed original (CPU) time of the instances\n"
	    "        Range Instances : instances that enclose at least one GPU operation\n"
	    "        Proj Avg, Med, Min, Max, StdDev : statistics of one projected time\n"
	    "        Total GPU Ops : GPU operations (launch calls) enclosed\n"
	    "        Avg GPU Ops : per instance\n"
	    "        Avg Range Lvl : average nesting depth (0 = top level)\n"
	    "        Avg Num Child : average number of child ranges with GPU operations\n"
	    "\n"
	    "    Projects each NVTX range from the CPU onto the GPU: a GPU operation\n"
	    "    (kernel, memcpy, memset) belongs to a range when the API call that\n"
	    "    launched it lies within the range on the range's thread; the projected\n"
	    "    range runs from the start of its first GPU operation to the end of its\n"
	    "    last.  Child time is not subtracted, so projected totals may exceed the\n"
	    "    run time.  Only ranges that start and end on the same thread count.\n",
    .args = NULL,
    .needs = cuda_nvtx_proj_needs,
    .skip_what = "NV Tools Extension (NVTX) data",
    .needs_what = cuda_nvtx_proj_needs_what,
    .needs_any = cuda_nvtx_proj_needs_any,
    .any_what = "GPU operation data",
    .query = query,
};
