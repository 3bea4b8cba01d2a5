/*
 * mem_peak.c - "Memory Peak, Host and GPU" (gprof-cli's own): host and GPU memory of each
 * process side by side - the peaks and the NVTX ranges open at each, then the host
 * allocation sites that held the most bytes at the host peak, and the host leaks.
 *
 * Input: the host memory tables (--host-memory-usage=true; cpu_mem_peak.c) and/or
 * CUDA_GPU_MEMORY_USAGE_EVENTS (--cuda-memory-usage=true, or nsys's).  Rows (Section):
 *   host        the host peak (exact), when, the ranges open at it (cpu_mem_peak)
 *   gpu         one per device: the device memory peak (cuda_gpu_mem_peak)
 *   pinned      page-locked host memory the CUDA driver allocated (cudaHostAlloc,
 *               cudaMallocHost, cudaHostRegister: memKind 1), its peak; not in `host`,
 *               which counts malloc/mmap
 *   site        the top 10 call sites (the interposed call's return address, not
 *               symbolized) by bytes of recorded blocks still allocated at the host peak
 *   leak        the top 10 (call site, NVTX range) by bytes of recorded blocks never
 *               freed; Range is the innermost push/pop range open on the allocating
 *               thread at the allocation
 * A site or leak's NVTX range is resolved by time containment on the thread, from
 * NVTX_EVENTS (temp.GP_NVTX_RANGES).  Blocks below --host-memory-threshold are in the
 * peaks but not in site/leak rows (not recorded).
 */
#include "cuda_common.h"

static const char *const any[] = {"GPROF_HOST_MEMORY_EVENTS", "CUDA_GPU_MEMORY_USAGE_EVENTS", NULL};

/* The innermost push/pop range open on e's thread at e.start (SQL expression). */
#define RANGE_AT                                                                                   \
	"(SELECT r.name FROM temp.GP_NVTX_RANGES r WHERE r.globalTid = e.globalTid AND "           \
	"r.style = 'PushPop' AND r.startNS <= e.start AND r.endNS >= e.start "                     \
	"ORDER BY r.startNS DESC LIMIT 1)"

static int query(sqlite3 *db, const struct stats_args *a, struct strbuf *sql)
{
	int host = stats_table_exists(db, "GPROF_HOST_MEMORY_EVENTS");
	int gpu = stats_table_exists(db, "CUDA_GPU_MEMORY_USAGE_EVENTS");

	(void)a;
	if (cuda_exec(db, "DROP TABLE IF EXISTS temp.GP_MEMP;"
			  "CREATE TEMP TABLE GP_MEMP (section TEXT, sord INTEGER, pid INTEGER, "
			  "what TEXT, bytes INTEGER, t INTEGER, n INTEGER, ranges TEXT)"))
		return -1;
	if (host) {
		if (stats_host_mem_peak_build(db, "GP_HOST_MEM_PEAK") ||
		    cuda_exec(
			db,
			"INSERT INTO temp.GP_MEMP SELECT 'host', 0, pid, 'peak', peak, "
			"peakTime, allocs, openAtPeak FROM temp.GP_HOST_MEM_PEAK WHERE ord = 0"))
			return -1;
		/* each recorded block with the time of its free (NULL: never freed) */
		if (cuda_exec(
			db, "DROP TABLE IF EXISTS temp.GP_HM_BLOCKS;"
			    "CREATE TEMP TABLE GP_HM_BLOCKS AS SELECT e.globalTid >> 24 AS p, "
			    "e.start, e.address, e.bytes, e.callerAddress AS caller, " RANGE_AT
			    " AS range, (SELECT min(f.start) FROM GPROF_HOST_MEMORY_EVENTS f WHERE "
			    "f.memoryOperationType = 1 AND f.address = e.address AND "
			    "(f.globalTid >> 24) = (e.globalTid >> 24) AND f.start >= e.start) "
			    "AS freed FROM GPROF_HOST_MEMORY_EVENTS e WHERE "
			    "e.memoryOperationType = 0"))
			return -1;
		if (cuda_exec(
			db,
			"INSERT INTO temp.GP_MEMP SELECT 'site', 3, p & 16777215, "
			"printf('0x%x', caller), sum(bytes), NULL, count(*), group_concat(DISTINCT "
			"range) FROM temp.GP_HM_BLOCKS b JOIN (SELECT pid, peakTime FROM "
			"temp.GP_HOST_MEM_PEAK WHERE ord = 0) k ON k.pid = (b.p & 16777215) WHERE "
			"b.start <= (SELECT coalesce(min(x.start), k.peakTime) FROM "
			"GPROF_HOST_MEMORY_EVENTS x WHERE (x.globalTid >> 24 & 16777215) = k.pid "
			"AND "
			"x.start >= k.peakTime AND x.processBytes = (SELECT peak FROM "
			"temp.GP_HOST_MEM_PEAK WHERE ord = 0 AND pid = k.pid)) AND (b.freed IS "
			"NULL OR "
			"b.freed > k.peakTime) GROUP BY p, caller ORDER BY sum(bytes) DESC LIMIT "
			"10;"
			"INSERT INTO temp.GP_MEMP SELECT 'leak', 4, p & 16777215, printf('0x%x', "
			"caller), "
			"sum(bytes), min(start), count(*), range FROM temp.GP_HM_BLOCKS WHERE "
			"freed IS "
			"NULL GROUP BY p, caller, range ORDER BY sum(bytes) DESC LIMIT 10"))
			return -1;
	}
	if (gpu) {
		if (stats_mem_peak_build(db, "GP_GPU_MEM_PEAK", STATS_GPU_MEM_EVENTS, 0) ||
		    cuda_exec(db,
			      "INSERT INTO temp.GP_MEMP SELECT 'gpu', 1, pid, 'device ' || dev, "
			      "peak, peakTime, allocs, openAtPeak FROM temp.GP_GPU_MEM_PEAK "
			      "WHERE ord = 0") ||
		    stats_mem_peak_build(
			db, "GP_PIN_MEM_PEAK",
			"SELECT globalPid, 0, start, memoryOperationType, bytes "
			"FROM CUDA_GPU_MEMORY_USAGE_EVENTS WHERE memoryOperationType "
			"IN (0, 1) AND memKind = 1 ORDER BY globalPid, start, rowid",
			0) ||
		    cuda_exec(
			db, "INSERT INTO temp.GP_MEMP SELECT 'pinned', 2, pid, 'peak', peak, "
			    "peakTime, allocs, openAtPeak FROM temp.GP_PIN_MEM_PEAK WHERE ord = 0"))
			return -1;
	}
	strbuf_addstr(sql, "SELECT section AS \"Section\", pid AS \"PID\", what AS \"What\", "
			   "bytes AS \"Bytes:mem_B\", t AS \"Time:ts_ns\", n AS \"Count\", "
			   "ranges AS \"NVTX\" FROM temp.GP_MEMP ORDER BY pid, sord, bytes DESC");
	return 0;
}

const struct stats_report stats_report_mem_peak = {
    .name = "mem_peak",
    .display = "Memory Peak, Host and GPU",
    .help = "mem_peak -- Memory Peak, Host and GPU (gprof-cli; not in nsys)\n"
	    "\n"
	    "    No arguments.  Needs a report recorded with --host-memory-usage=true\n"
	    "    and/or --cuda-memory-usage=true.\n"
	    "\n"
	    "    Output: sizes in MB (10^6 bytes), times in nanoseconds\n"
	    "        Section : host (malloc/mmap peak, exact), gpu (device memory peak, one\n"
	    "            row per device), pinned (CUDA page-locked host memory peak), site\n"
	    "            (top 10 call sites by recorded bytes still allocated at the host\n"
	    "            peak), leak (top 10 call sites and ranges by recorded bytes never\n"
	    "            freed)\n"
	    "        PID : process\n"
	    "        What : peak, device N, or the call site's return address (not\n"
	    "            symbolized: resolve it against the process's mappings)\n"
	    "        Bytes : the peak, or the bytes of the site's or leak's blocks\n"
	    "        Time : when the peak was first reached; leak: the first allocation\n"
	    "        Count : peaks: recorded allocations; site/leak: blocks\n"
	    "        NVTX : peaks: the ranges open on any thread of the process at the\n"
	    "            peak, innermost first, joined by \" < \"; site/leak: the innermost\n"
	    "            range open on the allocating thread at the allocation\n"
	    "\n"
	    "    Blocks below --host-memory-threshold count in the peaks, not in the\n"
	    "    site and leak rows.\n",
    .args = NULL,
    .needs = NULL,
    .needs_any = any,
    .any_what = "host or GPU memory usage data",
    .skip_what = "host or GPU memory usage data",
    .query = query,
};
