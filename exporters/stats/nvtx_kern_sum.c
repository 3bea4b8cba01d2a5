/*
 * nvtx_kern_sum.c - "NVTX Range Kernel Summary": kernels grouped by the NVTX ranges that
 * contain their launch calls (nsys stats report nvtx_kern_sum, nsys-cli.md 2.3).
 */
#include "cuda_common.h"

#include <string.h>

static const char *const args[] = {"base", "mangled", NULL};
static const char *const needs[] = {"StringIds", "NVTX_EVENTS", "CUPTI_ACTIVITY_KIND_KERNEL",
				    "CUPTI_ACTIVITY_KIND_RUNTIME", NULL};
static const char *const needs_what[] = {"StringIds table", "NV Tools Extension (NVTX) data",
					 "CUDA kernel data", "CUDA API data", NULL};

static int query(sqlite3 *db, const struct stats_args *a, struct strbuf *sql)
{
	struct stats_args plain = *a;
	int n = 0;

	/* the range is a column of its own here: never prefix the kernel name with it */
	for (int i = 0; i < a->nargs; i++)
		if (strcmp(a->args[i], "nvtx-name"))
			plain.args[n++] = a->args[i];
	plain.nargs = n;
	if (cuda_nvtx_build(db) || cuda_kernel_view(db, &plain) || cuda_runtime_view(db))
		return -1;
	/* A kernel counts once in every range that contains its launch call; a kernel
	 * launched outside any range forms the row with an empty range. */
	strbuf_addstr(sql,
		      "WITH combo AS (SELECT g.name AS name, g.style AS style, "
		      "c.rangeId AS nvtxid, k.kernelRowId AS kernid, k.end - k.start AS kdur, "
		      "(r.globalTid >> 24) & 0xFFFFFF AS pid, r.globalTid & 0xFFFFFF AS tid, "
		      "k.name AS kern FROM CUPTI_ACTIVITY_KIND_KERNEL_NAMED AS k "
		      "LEFT JOIN temp.GP_RUNTIME_ONE AS r "
		      "ON k.correlationId = r.correlationId "
		      "AND k.globalPid = (r.globalTid & " CUDA_GPID_MASK ") "
		      "LEFT JOIN temp.GP_NVTX_CONTAIN AS c ON c.correlationId = r.correlationId "
		      "AND c.globalPid = (r.globalTid & " CUDA_GPID_MASK ") "
		      "LEFT JOIN temp.GP_NVTX_RANGES AS g ON g.rangeId = c.rangeId) "
		      "SELECT name AS \"NVTX Range\", style AS \"Style\", pid AS \"PID\", "
		      "tid AS \"TID\", count(DISTINCT nvtxid) AS \"NVTX Inst\", "
		      "count(DISTINCT kernid) AS \"Kern Inst\", "
		      "sum(kdur) AS \"Total Time:dur_ns\", round(avg(kdur), 1) AS \"Avg:dur_ns\", "
		      "round(median(kdur), 1) AS \"Med:dur_ns\", min(kdur) AS \"Min:dur_ns\", "
		      "max(kdur) AS \"Max:dur_ns\", round(stdev(kdur), 1) AS \"StdDev:dur_ns\", "
		      "kern AS \"Kernel Name\" FROM combo "
		      "GROUP BY pid, tid, name, style, kern ORDER BY 1, 3, 4, 7 DESC, kern");
	return 0;
}

const struct stats_report stats_report_nvtx_kern_sum = {
    .name = "nvtx_kern_sum",
    .display = "NVTX Range Kernel Summary",
    .help = "nvtx_kern_sum[:base|:mangled] -- NVTX Range Kernel Summary\n"
	    "\n"
	    "    base, mangled - as for cuda_gpu_kern_sum.\n"
	    "\n"
	    "    Output: all time values default to nanoseconds\n"
	    "        NVTX Range : range name, \"<domain>:<message>\" (empty for kernels\n"
	    "            launched outside every range)\n"
	    "        Style : PushPop or StartEnd\n"
	    "        PID, TID : process and thread of the ranges and launches\n"
	    "        NVTX Inst : number of range instances that contain this kernel\n"
	    "        Kern Inst : number of kernel executions in the row\n"
	    "        Total Time : total execution time of those kernels\n"
	    "        Avg, Med, Min, Max, StdDev : statistics of one execution's duration\n"
	    "        Kernel Name : kernel name\n"
	    "\n"
	    "    A kernel is contained by an NVTX range when the API call that launched\n"
	    "    it lies within the range, on the range's thread (the execution itself\n"
	    "    may end after the range).  A kernel inside nested ranges counts in each\n"
	    "    of them.  Only ranges that start and end on the same thread count.\n",
    .args = args,
    .needs = needs,
    .skip_what = "CUDA kernel data",
    .needs_what = needs_what,
    .query = query,
};
