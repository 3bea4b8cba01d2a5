/*
 * nvtx_gpu_proj_trace.c - "NVTX GPU Projection Trace": each NVTX range projected onto
 * the GPU work it launched (nsys stats report nvtx_gpu_proj_trace, nsys-cli.md 2.3).
 */
#include "cuda_common.h"

static int query(sqlite3 *db, const struct stats_args *a, struct strbuf *sql)
{
	if (cuda_nvtx_build(db))
		return -1;
	cuda_nvtx_proj_sql(sql);
	strbuf_addstr(sql,
		      "SELECT name AS \"Name\", projStart AS \"Projected Start:ts_ns\", "
		      "projDuration AS \"Projected Duration:dur_ns\", "
		      "nvtxStart AS \"Orig Start:ts_ns\", "
		      "nvtxDuration AS \"Orig Duration:dur_ns\", style AS \"Style\", "
		      "pid AS \"PID\", tid AS \"TID\", opNb AS \"NumGPUOps\", level AS \"Lvl\", "
		      "childNb AS \"NumChild\", rangeId AS \"RangeId\", "
		      "parentId AS \"ParentId\", rangeStack AS \"RangeStack\" "
		      "FROM proj ORDER BY projStart, projDuration DESC, rangeId");
	return 0;
}

const struct stats_report stats_report_nvtx_gpu_proj_trace = {
    .name = "nvtx_gpu_proj_trace",
    .display = "NVTX GPU Projection Trace",
    .help = "nvtx_gpu_proj_trace -- NVTX GPU Projection Trace\n"
	    "\n"
	    "    No arguments.\n"
	    "\n"
	    "    Output: all time values default to nanoseconds\n"
	    "        Name : range name, \"<domain>:<message>\"\n"
	    "        Projected Start : start of the first enclosed GPU operation\n"
	    "        Projected Duration : to the end of the last enclosed GPU operation\n"
	    "        Orig Start, Orig Duration : the range on the CPU\n"
	    "        Style : PushPop or StartEnd\n"
	    "        PID, TID : process and thread of the range\n"
	    "        NumGPUOps : GPU operations (launch calls) enclosed\n"
	    "        Lvl : nesting depth, 0 at top level\n"
	    "        NumChild : child ranges that enclose GPU operations too\n"
	    "        RangeId : ID of the range (its NVTX_EVENTS row)\n"
	    "        ParentId : RangeId of the tightest enclosing range on the thread\n"
	    "        RangeStack : RangeIds from the outermost range down, \":a:b:c\"\n"
	    "\n"
	    "    One row per NVTX range that encloses GPU work (see nvtx_gpu_proj_sum\n"
	    "    for the projection rule), sorted by projected start.\n",
    .args = NULL,
    .needs = cuda_nvtx_proj_needs,
    .skip_what = "NV Tools Extension (NVTX) data",
    .needs_what = cuda_nvtx_proj_needs_what,
    .needs_any = cuda_nvtx_proj_needs_any,
    .any_what = "GPU operation data",
    .query = query,
};
