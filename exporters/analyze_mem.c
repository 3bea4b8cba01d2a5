/*
 * analyze_mem.c - rule gpu_mem_leak (gprof-cli's own): GPU memory allocated inside
 * instances of a repeated NVTX range and never freed, so that memory use grows with the
 * iterations.
 *
 * Input (nsys schema): CUDA_GPU_MEMORY_USAGE_EVENTS (nsys --cuda-memory-usage=true, or
 * gprof-cli profile --cuda-memory-usage=true): allocations (memoryOperationType 0) and
 * frees (1) with their address; host kinds (memKind 0 pageable, 1 pinned) are left out,
 * as in cuda_gpu_mem_peak.  An allocation is leaked when no later event of its process,
 * device and address exists (no free before the report ends).  Its owner is the innermost
 * NVTX range open at the allocation on the thread whose API call made it (same
 * correlationId in CUPTI_ACTIVITY_KIND_RUNTIME), else on any thread of the process.
 * Per (process, device, range name): Instances (of the range), Leaking (instances that
 * leaked), Allocations, Leaked Bytes, Largest, First (time of the first leaked
 * allocation).  Fires when Leaking >= instances= (default 3): memory allocated once in
 * a range (model weights at start-up, a caching allocator's first pool) is not a leak;
 * memory that each iteration adds is.  Rows sorted by Leaked Bytes.
 */
#include <inttypes.h>
#include <string.h>

#include "exporters/analyze.h"
#include "exporters/stats/cuda_common.h"

static const struct analyze_arg args[] = {
    {"instances", 3, 1, INT64_MAX},
    {NULL, 0, 0, 0},
};

static int prepare(struct analyze_run *r)
{
	struct strbuf sb = STRBUF_INIT;
	int have_rt, rc;

	if (analyze_need(r, "StringIds", "%s file does not contain StringIds table.") ||
	    analyze_need(r, "CUDA_GPU_MEMORY_USAGE_EVENTS",
			 "%s could not be analyzed because it does not contain CUDA memory usage "
			 "data. Was it recorded with --cuda-memory-usage=true?") ||
	    analyze_need(r, "NVTX_EVENTS",
			 "%s could not be analyzed because it does not contain NVTX data. Does "
			 "the application mark its loop with NVTX ranges (profile -t nvtx)?"))
		return 1;
	if (cuda_nvtx_build(r->db))
		return -1;
	have_rt = stats_table_exists(r->db, "CUPTI_ACTIVITY_KIND_RUNTIME");
	strbuf_addstr(
	    &sb, "CREATE INDEX temp.gp_ml_rng ON GP_NVTX_RANGES (globalTid, startNS);"
		 "CREATE TEMP TABLE gp_ml AS SELECT * FROM (SELECT e.start AS start, "
		 "e.globalPid AS gpid, e.deviceId AS dev, e.bytes AS bytes, "
		 "e.memoryOperationType AS op, e.correlationId AS corr, lead(e.rowid) OVER "
		 "(PARTITION BY e.globalPid, e.deviceId, e.address ORDER BY e.start, e.rowid) "
		 "AS next FROM CUDA_GPU_MEMORY_USAGE_EVENTS AS e WHERE e.memKind NOT IN (0, 1)) "
		 "WHERE op = 0 AND next IS NULL;");
	/* the innermost range open at the allocation: on the calling thread, else any
	 * thread of the process */
	strbuf_addstr(&sb, "CREATE TEMP TABLE gp_ml_own AS SELECT l.*, coalesce(");
	if (have_rt)
		strbuf_addstr(&sb,
			      "(SELECT g.rangeId FROM temp.GP_NVTX_RANGES AS g WHERE "
			      "g.globalTid = (SELECT rt.globalTid FROM "
			      "main.CUPTI_ACTIVITY_KIND_RUNTIME AS rt WHERE rt.correlationId = "
			      "l.corr AND rt.globalTid & " CUDA_GPID_MASK " = l.gpid LIMIT 1) "
			      "AND g.startNS <= l.start AND g.endNS >= l.start ORDER BY g.level "
			      "DESC, g.startNS DESC LIMIT 1), ");
	strbuf_addstr(
	    &sb,
	    "(SELECT g.rangeId FROM temp.GP_NVTX_RANGES AS g WHERE g.globalTid & " CUDA_GPID_MASK
	    " = l.gpid AND g.startNS <= l.start AND g.endNS >= l.start ORDER BY "
	    "g.level DESC, g.startNS DESC LIMIT 1)) AS rangeId FROM temp.gp_ml AS l;");
	rc = stats_exec(r->db, sb.buf, "cannot find the leaked allocations");
	strbuf_release(&sb);
	if (rc)
		return -1;
	strbuf_addstr(
	    &r->sql,
	    "WITH o AS (SELECT l.*, g.name AS name FROM temp.gp_ml_own AS l "
	    "JOIN temp.GP_NVTX_RANGES AS g ON g.rangeId = l.rangeId),\n"
	    "n AS (SELECT globalTid & " CUDA_GPID_MASK " AS gpid, name, count(*) AS instances "
	    "FROM temp.GP_NVTX_RANGES GROUP BY 1, 2),\n"
	    "g AS (SELECT gpid, dev, name, count(DISTINCT rangeId) AS leaking, count(*) AS allocs, "
	    "total(bytes) AS leaked, max(bytes) AS largest, min(start) AS first FROM o "
	    "GROUP BY gpid, dev, name)\n"
	    "SELECT CASE WHEN substr(g.name, 1, 1) = ':' THEN substr(g.name, 2) "
	    "ELSE substr(g.name, instr(g.name, ':') + 1) || '@' || "
	    "substr(g.name, 1, instr(g.name, ':') - 1) END AS \"Range\",\n"
	    "  (g.gpid >> 24) & 0xFFFFFF AS \"PID\", g.dev AS \"Device ID\",\n"
	    "  n.instances AS \"Instances\", g.leaking AS \"Leaking\",\n"
	    "  g.allocs AS \"Allocations\", CAST(g.leaked AS INTEGER) AS \"Leaked Bytes:mem_B\",\n"
	    "  g.largest AS \"Largest:mem_B\", g.first AS \"First:ts_ns\"\n"
	    "FROM g JOIN n ON n.gpid = g.gpid AND n.name = g.name\n");
	strbuf_addf(&r->sql, "WHERE g.leaking >= %" PRId64 "\nORDER BY g.leaked DESC, 1",
		    analyze_arg(r, "instances"));
	analyze_add_limit(r, &r->sql);
	strbuf_addf(&r->noresult,
		    "No GPU memory leak found: no NVTX range left GPU memory allocated and "
		    "never freed in %" PRId64 " or more of its instances.",
		    analyze_arg(r, "instances"));
	return 0;
}

/* The advice: the first rows (at most 3) in plain words, then the fix. */
static int explain(struct analyze_run *r)
{
	sqlite3_stmt *st;
	int rc;

	if (!(st = analyze_rows_stmt(r, "SELECT \"Range\", \"PID\", \"Device ID\", \"Instances\", "
					"\"Leaking\", \"Allocations\", \"Leaked Bytes:mem_B\" "
					"FROM temp.gp_analyze_rows ORDER BY rowid LIMIT 3")))
		return -1;
	strbuf_reset(&r->advice);
	strbuf_addstr(&r->advice, "GPU memory grows with the iterations: memory allocated "
				  "inside these NVTX ranges is never freed:\n");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		strbuf_addf(&r->advice,
			    "   - NVTX range '%s' (process %lld, device %lld"
			    "): %lld of %lld instances allocated and did not free "
			    "%lld block%s, %.3f MB in all.\n",
			    (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1),
			    sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 4),
			    sqlite3_column_int64(st, 3), sqlite3_column_int64(st, 5),
			    sqlite3_column_int64(st, 5) == 1 ? "" : "s",
			    sqlite3_column_double(st, 6) / 1e6);
	}
	if (analyze_rows_end(r, st, rc))
		return -1;
	strbuf_addstr(&r->advice,
		      "\nSuggestion: free what each iteration allocates (cudaFree / cudaFreeAsync "
		      "before the range ends), or allocate once before the loop and reuse the "
		      "buffer. In PyTorch, look for tensors kept alive across iterations (lists "
		      "of losses or outputs that still hold the graph: append loss.item() or "
		      "loss.detach()).");
	return 0;
}

const struct analyze_rule analyze_rule_gpu_mem_leak = {
    .name = "gpu_mem_leak",
    .display = "GPU Memory Leaked Inside a Loop",
    .args = args,
    .help = "gpu_mem_leak[:<arg>...] -- GPU Memory Leaked Inside a Loop (gprof-cli)\n"
	    "\n"
	    "    Arguments (rule:arg=value:...): rows=, start=, end=, nvtx= as for nsys's rules,\n"
	    "    and:\n"
	    "        instances=<n>  at least n instances of the range leaked (default 3)\n"
	    "\n"
	    "    Output: times in nanoseconds unless --timeunit says otherwise\n"
	    "        Range : the innermost NVTX range open at the allocations\n"
	    "        PID, Device ID : where\n"
	    "        Instances : instances of the range\n"
	    "        Leaking : instances that allocated memory never freed\n"
	    "        Allocations : allocations never freed\n"
	    "        Leaked Bytes, Largest : their summed and largest size (shown as MB)\n"
	    "        First : time of the first of them\n"
	    "\n"
	    "    Needs a report recorded with --cuda-memory-usage=true.  An allocation of GPU\n"
	    "    memory (host pageable and pinned memory left out) is leaked when no free of\n"
	    "    its address follows before the report ends.  Memory allocated once (start-up,\n"
	    "    a caching allocator's pools) is not reported; memory that several instances of\n"
	    "    a range leave behind is.\n",
    .prepare = prepare,
    .explain = explain,
};

/* ---- gpu_mem_peak ----------------------------------------------------------------------- */

/*
 * gpu_mem_peak (gprof-cli's own): a process's GPU memory in use comes within share= % of
 * the device's memory (TARGET_INFO_GPU.totalMemory): the next allocation may fail.  The
 * peak and the NVTX ranges open at it come from the stats report cuda_gpu_mem_peak (the
 * same replay of CUDA_GPU_MEMORY_USAGE_EVENTS); the innermost open range owns the peak.
 */
static const struct analyze_arg peak_args[] = {
    {"share", 90, 0, 100},
    {NULL, 0, 0, 0},
};

static int peak_prepare(struct analyze_run *r)
{
	const struct stats_report *rep = stats_find("cuda_gpu_mem_peak");
	struct strbuf sb = STRBUF_INIT;
	int rc;

	if (analyze_need(r, "StringIds", "%s file does not contain StringIds table.") ||
	    analyze_need(r, "CUDA_GPU_MEMORY_USAGE_EVENTS",
			 "%s could not be analyzed because it does not contain CUDA memory usage "
			 "data. Was it recorded with --cuda-memory-usage=true?") ||
	    analyze_need(r, "TARGET_INFO_GPU",
			 "%s could not be analyzed because it does not say how much memory its "
			 "GPUs have (no TARGET_INFO_GPU table)."))
		return 1;
	if (!rep)
		return error("the stats report cuda_gpu_mem_peak is missing");
	strbuf_addstr(&sb, "CREATE TEMP TABLE gp_mp AS ");
	if (rep->query(r->db, NULL, &sb)) {
		strbuf_release(&sb);
		return -1;
	}
	rc = stats_exec(r->db, sb.buf, "cannot compute the GPU memory peak");
	strbuf_release(&sb);
	if (rc)
		return -1;
	strbuf_addf(
	    &r->sql,
	    "WITH p AS (SELECT m.*, (SELECT max(g.totalMemory) FROM TARGET_INFO_GPU AS g "
	    "WHERE g.id = m.\"DevId\") AS total FROM temp.gp_mp AS m WHERE m.\"Range\" IS NULL)\n"
	    "SELECT p.\"Peak:mem_B\" AS \"Peak:mem_B\", p.total AS \"Device Memory:mem_B\",\n"
	    "  round(100.0 * p.\"Peak:mem_B\" / p.total, 1) AS \"Share:ratio_%%\",\n"
	    "  p.\"PID\" AS \"PID\", p.\"DevId\" AS \"Device ID\",\n"
	    "  p.\"Peak Time:ts_ns\" AS \"Peak Time:ts_ns\",\n"
	    "  CASE WHEN substr(p.\"Open At Peak\", 1, 1) = ':' THEN "
	    "substr(replace(p.\"Open At Peak\", ' < :', ' < '), 2) "
	    "ELSE replace(p.\"Open At Peak\", ' < :', ' < ') END AS \"Open At Peak\"\n"
	    "FROM p\n"
	    "WHERE p.total > 0 AND 100.0 * p.\"Peak:mem_B\" >= %" PRId64 " * p.total\n"
	    "ORDER BY 3 DESC, 4, 5",
	    analyze_arg(r, "share"));
	analyze_add_limit(r, &r->sql);
	strbuf_addf(&r->noresult,
		    "No GPU memory pressure found: no process used %" PRId64
		    "%% or more of a GPU's memory at once.",
		    analyze_arg(r, "share"));
	return 0;
}

static int peak_explain(struct analyze_run *r)
{
	sqlite3_stmt *st;
	int rc;

	if (!(st = analyze_rows_stmt(
		  r, "SELECT \"Peak:mem_B\", \"Device Memory:mem_B\", \"Share:ratio_%\", "
		     "\"PID\", \"Device ID\", \"Peak Time:ts_ns\", \"Open At Peak\" "
		     "FROM temp.gp_analyze_rows ORDER BY rowid LIMIT 3")))
		return -1;
	strbuf_reset(&r->advice);
	strbuf_addstr(&r->advice, "GPU memory is nearly full: the next allocation may fail "
				  "with out of memory.\n");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *open = (const char *)sqlite3_column_text(st, 6);

		strbuf_addf(&r->advice,
			    "   - process %lld uses up to %.3f GB of device %lld's %.3f GB "
			    "(%.1f%%), first at %.3f s",
			    sqlite3_column_int64(st, 3), sqlite3_column_double(st, 0) / 1e9,
			    sqlite3_column_int64(st, 4), sqlite3_column_double(st, 1) / 1e9,
			    sqlite3_column_double(st, 2), sqlite3_column_double(st, 5) / 1e9);
		if (open && *open) {
			size_t n = strcspn(open, "<");

			while (n && open[n - 1] == ' ')
				n--;
			strbuf_addf(&r->advice, ", inside NVTX range '%.*s' (open: %s).\n", (int)n,
				    open, open);
		} else {
			strbuf_addstr(&r->advice, ", outside any NVTX range.\n");
		}
	}
	if (analyze_rows_end(r, st, rc))
		return -1;
	strbuf_addstr(&r->advice,
		      "\nSuggestion: lower what is live at the peak, inside the range named: free "
		      "or reuse buffers that are no longer needed before it, split the work "
		      "(smaller batch or sequence chunks), recompute instead of keeping "
		      "(activation checkpointing). `gprof-cli stats -r cuda_gpu_mem_peak` lists "
		      "every range's own peak.");
	return 0;
}

const struct analyze_rule analyze_rule_gpu_mem_peak = {
    .name = "gpu_mem_peak",
    .display = "GPU Memory Nearly Full",
    .args = peak_args,
    .help = "gpu_mem_peak[:<arg>...] -- GPU Memory Nearly Full (gprof-cli)\n"
	    "\n"
	    "    Arguments (rule:arg=value:...): rows=, start=, end=, nvtx= as for nsys's rules,\n"
	    "    and:\n"
	    "        share=<percent> the peak uses at least this share of the device's memory\n"
	    "                       (default 90)\n"
	    "\n"
	    "    Output: sizes in MB (10^6 bytes), times in nanoseconds unless --timeunit says\n"
	    "    otherwise\n"
	    "        Peak : the most GPU memory the process had allocated at once\n"
	    "        Device Memory : the device's memory (TARGET_INFO_GPU.totalMemory)\n"
	    "        Share : Peak / Device Memory\n"
	    "        PID, Device ID : where\n"
	    "        Peak Time : when the peak was first reached\n"
	    "        Open At Peak : the NVTX ranges open then, innermost first: the first\n"
	    "            owns the peak\n"
	    "\n"
	    "    Needs a report recorded with --cuda-memory-usage=true.  The peak is the\n"
	    "    stats report cuda_gpu_mem_peak's (allocations add, frees subtract; host\n"
	    "    pageable and pinned memory left out).  Memory the driver, the CUDA context\n"
	    "    or other processes hold is not in the report, so the real margin is smaller.\n",
    .prepare = peak_prepare,
    .explain = peak_explain,
};
