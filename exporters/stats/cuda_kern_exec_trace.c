/*
 * cuda_kern_exec_trace.c - "CUDA Kernel Launch & Exec Time Trace": each kernel with its
 * launch call, queue time and execution (nsys stats report cuda_kern_exec_trace).
 */
#include "cuda_common.h"

static const char *const args[] = {"nvtx-name", "base", "mangled", NULL};
static const char *const needs[] = {"StringIds", "CUPTI_ACTIVITY_KIND_KERNEL",
				    "CUPTI_ACTIVITY_KIND_RUNTIME", NULL};
static const char *const needs_what[] = {"StringIds table", "CUDA kernel data", "CUDA API data",
					 NULL};

static int query(sqlite3 *db, const struct stats_args *a, struct strbuf *sql)
{
	if (cuda_kernel_view(db, a) || cuda_runtime_view(db))
		return -1;
	strbuf_addstr(sql, "SELECT r.start AS \"API Start:ts_ns\", "
			   "r.end - r.start AS \"API Dur:dur_ns\", "
			   "iif(k.start - r.end >= 0, r.end, NULL) AS \"Queue Start:ts_ns\", "
			   "iif(k.start - r.end >= 0, k.start - r.end, NULL) AS "
			   "\"Queue Dur:dur_ns\", k.start AS \"Kernel Start:ts_ns\", "
			   "k.end - k.start AS \"Kernel Dur:dur_ns\", "
			   "max(r.end, k.end) - r.start AS \"Total Dur:dur_ns\", "
			   "(r.globalTid >> 24) & 0xFFFFFF AS \"PID\", "
			   "r.globalTid & 0xFFFFFF AS \"TID\", k.deviceId AS \"DevId\", ");
	cuda_api_name_sql(sql, "s.value");
	strbuf_addstr(sql, " AS \"API Function\", "
			   "printf('%4d %4d %4d', k.gridX, k.gridY, k.gridZ) AS \"GridXYZ\", "
			   "printf('%4d %4d %4d', k.blockX, k.blockY, k.blockZ) AS \"BlockXYZ\", "
			   "k.name AS \"Kernel Name\" FROM CUPTI_ACTIVITY_KIND_KERNEL_NAMED AS k "
			   "JOIN temp.GP_RUNTIME_ONE AS r "
			   "ON k.correlationId = r.correlationId "
			   "AND k.globalPid = (r.globalTid & " CUDA_GPID_MASK ") "
			   "LEFT JOIN StringIds AS s ON s.id = r.nameId "
			   "ORDER BY 1, k.start");
	return 0;
}

const struct stats_report stats_report_cuda_kern_exec_trace = {
    .name = "cuda_kern_exec_trace",
    .display = "CUDA Kernel Launch & Exec Time Trace",
    .help = "cuda_kern_exec_trace[:nvtx-name][:base|:mangled] -- CUDA Kernel Launch & "
	    "Exec Time Trace\n"
	    "\n"
	    "    nvtx-name, base, mangled - as for cuda_gpu_kern_sum.\n"
	    "\n"
	    "    Output: all time values default to nanoseconds\n"
	    "        API Start, API Dur : the launch call\n"
	    "        Queue Start, Queue Dur : API end to kernel start (empty when the\n"
	    "            kernel started before the call returned)\n"
	    "        Kernel Start, Kernel Dur : the execution on the GPU\n"
	    "        Total Dur : API start to the later of API end and kernel end\n"
	    "        PID, TID : process and thread that launched the kernel\n"
	    "        DevId : CUDA device that ran it\n"
	    "        API Function : the launch function (a _vNNNN suffix is dropped)\n"
	    "        GridXYZ, BlockXYZ : grid and block dimensions\n"
	    "        Kernel Name : kernel name\n"
	    "\n"
	    "    One row per kernel execution, sorted by launch call start.\n",
    .args = args,
    .needs = needs,
    .skip_what = "CUDA kernel data",
    .needs_what = needs_what,
    .query = query,
};
