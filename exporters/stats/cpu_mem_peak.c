/*
 * cpu_mem_peak.c - "CPU Memory Peak" (gprof-cli's own; nsys has no host allocation
 * tracing): cuda_gpu_mem_peak's layout for host memory.  Per process, the most host memory
 * in use at once, when it was first reached, the NVTX push/pop ranges open at that instant
 * and each range's own peak.
 *
 * Input: GPROF_HOST_MEMORY_EVENTS (processBytes: the process's bytes in use after each
 * recorded call, exact) and GPROF_HOST_MEMORY_PROCESSES (the exact peak and its time,
 * which calls below the threshold may have reached between two events), written by
 * `gprof-cli profile --host-memory-usage=true`.  Replayed with stats_mem_peak_build()
 * (cuda_common.h), as cuda_gpu_mem_peak replays the GPU events.
 */
#include "cuda_common.h"

static const char *const needs[] = {"GPROF_HOST_MEMORY_EVENTS", NULL};

int stats_host_mem_peak_build(sqlite3 *db, const char *table)
{
	struct strbuf sql = STRBUF_INIT;
	int rc;

	strbuf_addstr(&sql, "SELECT gpid, -1, t, op, level FROM ("
			    "SELECT (globalTid & " CUDA_GPID_MASK ") AS gpid, start AS t, "
			    "memoryOperationType AS op, processBytes AS level, rowid AS r "
			    "FROM GPROF_HOST_MEMORY_EVENTS");
	if (stats_table_exists(db, "GPROF_HOST_MEMORY_PROCESSES"))
		strbuf_addstr(&sql, " UNION ALL SELECT globalPid, peakTime, 2, peakBytes, -1 "
				    "FROM GPROF_HOST_MEMORY_PROCESSES WHERE peakTime IS NOT NULL");
	strbuf_addstr(&sql, ") ORDER BY gpid, t, r");
	rc = stats_mem_peak_build(db, table, sql.buf, 1);
	strbuf_release(&sql);
	return rc;
}

static int query(sqlite3 *db, const struct stats_args *a, struct strbuf *sql)
{
	(void)a;
	if (stats_host_mem_peak_build(db, "GP_HOST_MEM_PEAK"))
		return -1;
	strbuf_addstr(sql, "SELECT pid AS \"PID\", range AS \"Range\", "
			   "inst AS \"Instances\", peak AS \"Peak:mem_B\", "
			   "peakTime AS \"Peak Time:ts_ns\", allocs AS \"Allocs\", "
			   "frees AS \"Frees\", owns AS \"Owns Peak\", "
			   "openAtPeak AS \"Open At Peak\" FROM temp.GP_HOST_MEM_PEAK "
			   "ORDER BY pid, ord = 0 DESC, peak DESC, range");
	return 0;
}

const struct stats_report stats_report_cpu_mem_peak = {
    .name = "cpu_mem_peak",
    .display = "CPU Memory Peak",
    .help = "cpu_mem_peak -- CPU Memory Peak (gprof-cli; not in nsys)\n"
	    "\n"
	    "    No arguments.  Needs a report recorded with --host-memory-usage=true.\n"
	    "\n"
	    "    Output: sizes in MB (10^6 bytes), times in nanoseconds\n"
	    "        PID : process\n"
	    "        Range : empty on the process row; else an NVTX push/pop range name\n"
	    "            of a thread of that process\n"
	    "        Instances : instances of the range\n"
	    "        Peak : process row: the most host memory in use at once (exact,\n"
	    "            calls below the threshold included); range row: the most in use\n"
	    "            at a recorded call while an instance was open\n"
	    "        Peak Time : when that peak was first reached\n"
	    "        Allocs, Frees : recorded allocations and frees (range row: those\n"
	    "            that happened while an instance was open)\n"
	    "        Owns Peak : Yes when an instance of the range was open at the\n"
	    "            process peak\n"
	    "        Open At Peak : process row: the ranges open on any thread of the\n"
	    "            process at the peak, innermost first, joined by \" < \"\n"
	    "\n"
	    "    Host memory is counted in usable bytes (malloc_usable_size; mappings in\n"
	    "    pages).  Rows: the process row first, then ranges by peak, largest\n"
	    "    first.  The layout of cuda_gpu_mem_peak, without a device.\n",
    .args = NULL,
    .needs = needs,
    .skip_what = "host memory usage data (--host-memory-usage=true)",
    .query = query,
};
