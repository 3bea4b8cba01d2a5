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

#include <stdint.h>
#include <stdlib.h>

static const char *const any[] = {"GPROF_HOST_MEMORY_EVENTS", "CUDA_GPU_MEMORY_USAGE_EVENTS", NULL};

/* A recorded host allocation or free (GPROF_HOST_MEMORY_EVENTS), for the block table. */
struct hm_ev {
	int64_t tid, t, addr, bytes, caller; /* globalTid; start (ns); address; bytes; caller */
	int64_t freed;			     /* alloc: its free's start, -1 never freed */
	int op, has_caller;		     /* 0 alloc, 1 free; callerAddress not NULL */
	int range;			     /* alloc: index in the range list, -1 none */
};

/* Events of one process and address by time, an allocation before a free at one time. */
static int cmp_addr(const void *a, const void *b)
{
	const struct hm_ev *x = a, *y = b;

	if ((x->tid >> 24) != (y->tid >> 24))
		return (x->tid >> 24) < (y->tid >> 24) ? -1 : 1;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->op - y->op;
}

/* Allocations by thread, then time. */
static int cmp_thread(const void *a, const void *b)
{
	const struct hm_ev *x = a, *y = b;

	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return x->t < y->t ? -1 : x->t > y->t;
}

struct hm_range {
	int64_t tid, start, end;
	char *name;
};

/*
 * temp.GP_HM_BLOCKS (p = globalTid >> 24, start, address, bytes, caller, range, freed):
 * each recorded allocation with the start of the first free of its address in its process
 * at or after it (NULL: never freed) and the innermost push/pop range open on its thread
 * at its start (the latest-starting range of temp.GP_NVTX_RANGES containing it).  Both are
 * found by sorted sweeps, O(n log n): correlated subqueries per allocation took minutes
 * on a 200 k-event report.  0, or -1 after error().
 */
static int build_blocks(sqlite3 *db)
{
	sqlite3_stmt *q = NULL, *ins = NULL;
	struct hm_ev *e = NULL;
	struct hm_range *r = NULL;
	size_t n = 0, ealloc = 0, nr = 0, ralloc = 0, na = 0;
	size_t *stack = NULL;
	int rc = -1, step;

	if (cuda_exec(db, "DROP TABLE IF EXISTS temp.GP_HM_BLOCKS;"
			  "CREATE TEMP TABLE GP_HM_BLOCKS (p INTEGER, start INTEGER, address "
			  "INTEGER, bytes INTEGER, caller INTEGER, range TEXT, freed INTEGER)"))
		return -1;
	if (sqlite3_prepare_v2(db,
			       "SELECT globalTid, start, memoryOperationType, address, bytes, "
			       "callerAddress FROM GPROF_HOST_MEMORY_EVENTS "
			       "WHERE memoryOperationType IN (0, 1)",
			       -1, &q, NULL) != SQLITE_OK)
		goto sqlerr;
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		GP_ALLOC_GROW(e, n + 1, ealloc);
		e[n].tid = sqlite3_column_int64(q, 0);
		e[n].t = sqlite3_column_int64(q, 1);
		e[n].op = sqlite3_column_int(q, 2);
		e[n].addr = sqlite3_column_int64(q, 3);
		e[n].bytes = sqlite3_column_int64(q, 4);
		e[n].has_caller = sqlite3_column_type(q, 5) != SQLITE_NULL;
		e[n].caller = sqlite3_column_int64(q, 5);
		e[n].freed = -1;
		e[n].range = -1;
		n++;
	}
	if (step != SQLITE_DONE)
		goto sqlerr;
	sqlite3_finalize(q);
	q = NULL;

	/* the first free at or after each allocation: walk each address backwards */
	if (n)
		qsort(e, n, sizeof(*e), cmp_addr);
	int64_t next_free = -1;
	for (size_t i = n; i-- > 0;) {
		if (i + 1 == n || (e[i].tid >> 24) != (e[i + 1].tid >> 24) ||
		    e[i].addr != e[i + 1].addr)
			next_free = -1;
		if (e[i].op == 1)
			next_free = e[i].t;
		else
			e[i].freed = next_free;
	}
	for (size_t i = 0; i < n; i++) /* keep the allocations */
		if (e[i].op == 0)
			e[na++] = e[i];
	if (na)
		qsort(e, na, sizeof(*e), cmp_thread);

	/* the innermost range open at each allocation: ranges by thread and start, a stack */
	if (sqlite3_prepare_v2(db,
			       "SELECT globalTid, startNS, endNS, name FROM temp.GP_NVTX_RANGES "
			       "WHERE style = 'PushPop' ORDER BY globalTid, startNS",
			       -1, &q, NULL) != SQLITE_OK)
		goto sqlerr;
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		const unsigned char *nm = sqlite3_column_text(q, 3);

		GP_ALLOC_GROW(r, nr + 1, ralloc);
		r[nr].tid = sqlite3_column_int64(q, 0);
		r[nr].start = sqlite3_column_int64(q, 1);
		r[nr].end = sqlite3_column_int64(q, 2);
		r[nr].name = xstrdup(nm ? (const char *)nm : "");
		nr++;
	}
	if (step != SQLITE_DONE)
		goto sqlerr;
	sqlite3_finalize(q);
	q = NULL;
	stack = xcalloc(nr ? nr : 1, sizeof(*stack));
	size_t j = 0, top = 0;
	for (size_t i = 0; i < na; i++) {
		if (i == 0 || e[i].tid != e[i - 1].tid) { /* a new thread */
			top = 0;
			while (j < nr && r[j].tid < e[i].tid)
				j++;
		}
		/* ranges that started by now; those ended before now never contain a later
		 * allocation of the thread, so the stack's top is the latest open one */
		while (j < nr && r[j].tid == e[i].tid && r[j].start <= e[i].t)
			stack[top++] = j++;
		while (top && r[stack[top - 1]].end < e[i].t)
			top--;
		e[i].range = top ? (int)stack[top - 1] : -1;
	}

	if (sqlite3_prepare_v2(db, "INSERT INTO temp.GP_HM_BLOCKS VALUES (?,?,?,?,?,?,?)", -1, &ins,
			       NULL) != SQLITE_OK)
		goto sqlerr;
	int txn = sqlite3_get_autocommit(db) && !cuda_exec(db, "BEGIN");
	for (size_t i = 0; i < na; i++) {
		sqlite3_bind_int64(ins, 1, e[i].tid >> 24);
		sqlite3_bind_int64(ins, 2, e[i].t);
		sqlite3_bind_int64(ins, 3, e[i].addr);
		sqlite3_bind_int64(ins, 4, e[i].bytes);
		if (e[i].has_caller)
			sqlite3_bind_int64(ins, 5, e[i].caller);
		else
			sqlite3_bind_null(ins, 5);
		if (e[i].range >= 0)
			sqlite3_bind_text(ins, 6, r[e[i].range].name, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(ins, 6);
		if (e[i].freed >= 0)
			sqlite3_bind_int64(ins, 7, e[i].freed);
		else
			sqlite3_bind_null(ins, 7);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			if (txn)
				cuda_exec(db, "ROLLBACK");
			goto sqlerr;
		}
		sqlite3_reset(ins);
	}
	if (txn && cuda_exec(db, "COMMIT"))
		goto out;
	rc = 0;
	goto out;
sqlerr:
	error("cannot read the host memory events: %s", sqlite3_errmsg(db));
out:
	sqlite3_finalize(q);
	sqlite3_finalize(ins);
	for (size_t i = 0; i < nr; i++)
		free(r[i].name);
	free(r);
	free(e);
	free(stack);
	return rc;
}

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
		/* each recorded block with the time of its free (NULL: never freed), and the
		 * bound of the host peak per process: the first recorded call at or after the
		 * peak time that shows the peak level (the peak time itself when none) */
		if (build_blocks(db) ||
		    cuda_exec(
			db, "DROP TABLE IF EXISTS temp.GP_HM_PEAKB;"
			    "CREATE TEMP TABLE GP_HM_PEAKB AS SELECT k.pid AS pid, k.peakTime "
			    "AS peakTime, (SELECT coalesce(min(x.start), k.peakTime) FROM "
			    "GPROF_HOST_MEMORY_EVENTS x WHERE (x.globalTid >> 24 & 16777215) = "
			    "k.pid AND x.start >= k.peakTime AND x.processBytes = k.peak) AS bound "
			    "FROM temp.GP_HOST_MEM_PEAK k WHERE k.ord = 0"))
			return -1;
		if (cuda_exec(
			db,
			"INSERT INTO temp.GP_MEMP SELECT 'site', 3, p & 16777215, "
			"printf('0x%x', caller), sum(bytes), NULL, count(*), group_concat(DISTINCT "
			"range) FROM temp.GP_HM_BLOCKS b JOIN temp.GP_HM_PEAKB k ON k.pid = "
			"(b.p & 16777215) WHERE b.start <= k.bound AND (b.freed IS NULL OR "
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
