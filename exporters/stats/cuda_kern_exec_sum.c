/*
 * cuda_kern_exec_sum.c - "CUDA Kernel Launch & Exec Time Summary": per thread, device,
 * launch API and kernel, the API, queue, kernel and total times of each launch (nsys
 * stats report cuda_kern_exec_sum, nsys-cli.md 2.3).
 */
#include "cuda_common.h"

static const char *const args[] = {"nvtx-name", "base", "mangled", NULL};
static const char *const needs[] = {"StringIds", "CUPTI_ACTIVITY_KIND_KERNEL",
				    "CUPTI_ACTIVITY_KIND_RUNTIME", NULL};
static const char *const needs_what[] = {"StringIds table", "CUDA kernel data", "CUDA API data",
					 NULL};

static void stat5(struct strbuf *sql, const char *p, const char *v)
{
	strbuf_addf(sql,
		    "round(avg(%s), 1) AS \"%sAvg:dur_ns\", round(median(%s), 1) AS "
		    "\"%sMed:dur_ns\", min(%s) AS \"%sMin:dur_ns\", max(%s) AS \"%sMax:dur_ns\", "
		    "round(stdev(%s), 1) AS \"%sStdDev:dur_ns\", ",
		    v, p, v, p, v, p, v, p, v, p);
}

static int query(sqlite3 *db, const struct stats_args *a, struct strbuf *sql)
{
	if (cuda_kernel_view(db, a) || cuda_runtime_view(db))
		return -1;
	/* Queue time = kernel start - API end, counted only when >= 0 (QCount). */
	strbuf_addstr(sql, "WITH runkern AS (SELECT (r.globalTid >> 24) & 0xFFFFFF AS pid, "
			   "r.globalTid & 0xFFFFFF AS tid, k.deviceId AS dev, "
			   "r.end - r.start AS adur, "
			   "iif(k.start - r.end >= 0, k.start - r.end, NULL) AS qdur, "
			   "k.end - k.start AS kdur, max(r.end, k.end) - r.start AS tdur, ");
	cuda_api_name_sql(sql, "s.value");
	strbuf_addstr(sql, " AS api, k.name AS kern FROM CUPTI_ACTIVITY_KIND_KERNEL_NAMED AS k "
			   "JOIN temp.GP_RUNTIME_ONE AS r "
			   "ON k.correlationId = r.correlationId "
			   "AND k.globalPid = (r.globalTid & " CUDA_GPID_MASK ") "
			   "LEFT JOIN StringIds AS s ON s.id = r.nameId) "
			   "SELECT pid AS \"PID\", tid AS \"TID\", dev AS \"DevId\", "
			   "count(*) AS \"Count\", count(qdur) AS \"QCount\", ");
	stat5(sql, "T", "tdur");
	stat5(sql, "A", "adur");
	stat5(sql, "Q", "qdur");
	stat5(sql, "K", "kdur");
	strbuf_addstr(sql, "api AS \"API Name\", kern AS \"Kernel Name\" FROM runkern "
			   "GROUP BY 1, 2, 3, api, kern ORDER BY 6 DESC, 1, 2, 3, api, kern");
	return 0;
}

const struct stats_report stats_report_cuda_kern_exec_sum = {
    .name = "cuda_kern_exec_sum",
    .display = "CUDA Kernel Launch & Exec Time Summary",
    .help = "cuda_kern_exec_sum[:nvtx-name][:base|:mangled] -- CUDA Kernel Launch & Exec "
	    "Time Summary\n"
	    "\n"
	    "    nvtx-name, base, mangled - as for cuda_gpu_kern_sum.\n"
	    "\n"
	    "    Output: all time values default to nanoseconds\n"
	    "        PID, TID : process and thread that launched the kernel\n"
	    "        DevId : CUDA device that ran it\n"
	    "        Count : number of kernel executions\n"
	    "        QCount : executions with a queue time >= 0 (those in the Q columns)\n"
	    "        TAvg..TStdDev : total time, API start to the later of API end and\n"
	    "            kernel end\n"
	    "        AAvg..AStdDev : API time, the launch call's duration\n"
	    "        QAvg..QStdDev : queue time, API end to kernel start\n"
	    "        KAvg..KStdDev : kernel execution time\n"
	    "        API Name : the launch function (a _vNNNN suffix is dropped)\n"
	    "        Kernel Name : kernel name\n"
	    "\n"
	    "    Splits each launch into the API call on the CPU, the wait in the queue\n"
	    "    and the execution on the GPU.  A kernel that starts before its launch\n"
	    "    call returns has no queue time.\n",
    .args = args,
    .needs = needs,
    .skip_what = "CUDA kernel data",
    .needs_what = needs_what,
    .query = query,
};
