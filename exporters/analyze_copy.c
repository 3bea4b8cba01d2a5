/*
 * analyze_copy.c - rule copy_storm (gprof-cli's own): many tiny memory copies or sets,
 * e.g. one scalar copied to or from the GPU per element or per small tensor inside a
 * loop.  Each costs a CUDA API call (microseconds of CPU time, and for device-to-host
 * copies a wait for the GPU) for a few bytes; batched into one copy per iteration the
 * cost is paid once.
 *
 * Input (nsys schema): CUPTI_ACTIVITY_KIND_MEMCPY and _MEMSET, their API calls in
 * CUPTI_ACTIVITY_KIND_RUNTIME (same correlationId and process), NVTX_EVENTS (optional).
 * Each operation belongs to the innermost NVTX range containing its API call on the
 * calling thread (exporters/stats/cuda_common.h cuda_nvtx_build), or to no range.  Per
 * (process, range name, operation as cuda_gpu_mem_time_sum names it: "[CUDA memcpy
 * Host-to-Device]", "[CUDA memset]", ...): Count, Instances (of the range), Per Instance,
 * Med Size, Total Size, API Time (summed duration of the calls), Med API (median call),
 * GPU Time (summed).  Fires when Count >= count= (default 1000), Med Size <= bytes=
 * (default 4096) and, inside a range, Per Instance >= per= (default 10).  Rows sorted by
 * API Time.
 */
#include <inttypes.h>

#include "exporters/analyze.h"
#include "exporters/stats/cuda_common.h"

static const struct analyze_arg args[] = {
    {"count", 1000, 1, INT64_MAX},
    {"bytes", 4096, 0, INT64_MAX},
    {"per", 10, 1, INT64_MAX},
    {NULL, 0, 0, 0},
};

static int prepare(struct analyze_run *r)
{
	struct strbuf sb = STRBUF_INIT;
	int rc;

	if (analyze_need(r, "StringIds", "%s file does not contain StringIds table.") ||
	    analyze_need(r, "CUPTI_ACTIVITY_KIND_RUNTIME",
			 "%s could not be analyzed because it does not contain CUDA API data. "
			 "Does the application use CUDA runtime APIs?"))
		return 1;
	if (!stats_table_exists(r->db, "CUPTI_ACTIVITY_KIND_MEMCPY") &&
	    !stats_table_exists(r->db, "CUPTI_ACTIVITY_KIND_MEMSET"))
		return analyze_skip(r, "%s could not be analyzed because it does not contain CUDA "
				       "memcpy or memset data. Does the application copy or set "
				       "memory with CUDA?");
	if (cuda_nvtx_build(r->db))
		return -1;
	strbuf_addstr(&sb, "CREATE TEMP TABLE gp_cs AS WITH ops AS (");
	cuda_memops_sql(r->db, &sb, "start, end, bytes, correlationId, globalPid");
	strbuf_addstr(&sb,
		      ") SELECT ops.name AS op, ops.end - ops.start AS gd, ops.bytes AS bytes, "
		      "ops.globalPid AS gpid, rt.end - rt.start AS ad, c.rangeId AS inst, "
		      "g.name AS rname FROM ops "
		      "JOIN main.CUPTI_ACTIVITY_KIND_RUNTIME AS rt ON rt.correlationId = "
		      "ops.correlationId AND rt.globalTid & " CUDA_GPID_MASK " = ops.globalPid "
		      "LEFT JOIN temp.GP_NVTX_CONTAIN AS c ON c.correlationId = ops.correlationId "
		      "AND c.globalPid = ops.globalPid AND c.innermost = 1 "
		      "LEFT JOIN temp.GP_NVTX_RANGES AS g ON g.rangeId = c.rangeId;");
	rc = stats_exec(r->db, sb.buf, "cannot collect the memory operations");
	strbuf_release(&sb);
	if (rc)
		return -1;
	strbuf_addstr(
	    &r->sql,
	    "WITH g AS (SELECT gpid, rname, op, count(*) AS n, count(DISTINCT inst) AS inst, "
	    "median(bytes) AS mb, total(bytes) AS tb, total(ad) AS at, median(ad) AS ma, "
	    "total(gd) AS gt FROM temp.gp_cs GROUP BY gpid, rname, op)\n"
	    "SELECT CAST(g.at AS INTEGER) AS \"API Time:dur_ns\",\n"
	    "  CASE WHEN g.rname IS NULL THEN '[no NVTX range]' "
	    "WHEN substr(g.rname, 1, 1) = ':' THEN substr(g.rname, 2) "
	    "ELSE substr(g.rname, instr(g.rname, ':') + 1) || '@' || "
	    "substr(g.rname, 1, instr(g.rname, ':') - 1) END AS \"Range\",\n"
	    "  (g.gpid >> 24) & 0xFFFFFF AS \"PID\", g.op AS \"Operation\", g.n AS \"Count\",\n"
	    "  nullif(g.inst, 0) AS \"Instances\",\n"
	    "  CASE WHEN g.inst > 0 THEN round(1.0 * g.n / g.inst, 1) END AS \"Per Instance\",\n"
	    "  g.mb AS \"Med Size\", CAST(g.tb AS INTEGER) AS \"Total Size:mem_B\",\n"
	    "  round(g.ma, 1) AS \"Med API:dur_ns\", CAST(g.gt AS INTEGER) AS \"GPU Time:dur_ns\"\n"
	    "FROM g\n");
	strbuf_addf(&r->sql,
		    "WHERE g.n >= %" PRId64 " AND g.mb <= %" PRId64 " AND (g.rname IS NULL OR "
		    "g.n >= %" PRId64 " * g.inst)\nORDER BY g.at DESC, 2, 4",
		    analyze_arg(r, "count"), analyze_arg(r, "bytes"), analyze_arg(r, "per"));
	analyze_add_limit(r, &r->sql);
	strbuf_addf(&r->noresult,
		    "No copy storm found: no NVTX range or process made %" PRId64
		    " or more memory copies or sets of %" PRId64 " bytes or less (median).",
		    analyze_arg(r, "count"), analyze_arg(r, "bytes"));
	return 0;
}

/* The advice: the first rows (at most 3) in plain words, then the fix. */
static int explain(struct analyze_run *r)
{
	sqlite3_stmt *st;
	int rc;

	if (!(st = analyze_rows_stmt(
		  r, "SELECT \"Range\", \"PID\", \"Operation\", \"Count\", \"Instances\", "
		     "\"Per Instance\", \"Med Size\", \"API Time:dur_ns\", \"Med API:dur_ns\" "
		     "FROM temp.gp_analyze_rows ORDER BY rowid LIMIT 3")))
		return -1;
	strbuf_reset(&r->advice);
	strbuf_addstr(&r->advice, "Many tiny memory operations, each a CUDA call of its own:\n");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *range = (const char *)sqlite3_column_text(st, 0);

		if (sqlite3_column_type(st, 4) != SQLITE_NULL)
			strbuf_addf(&r->advice, "   - NVTX range '%s' (process %lld): ", range,
				    sqlite3_column_int64(st, 1));
		else
			strbuf_addf(&r->advice, "   - process %lld (outside NVTX ranges): ",
				    sqlite3_column_int64(st, 1));
		analyze_add_count(&r->advice, sqlite3_column_int64(st, 3));
		strbuf_addf(&r->advice, " %s of %.0f bytes (median)",
			    (const char *)sqlite3_column_text(st, 2), sqlite3_column_double(st, 6));
		if (sqlite3_column_type(st, 4) != SQLITE_NULL)
			strbuf_addf(&r->advice, ", %.1f per instance",
				    sqlite3_column_double(st, 5));
		strbuf_addstr(&r->advice, ", costing ");
		analyze_add_duration(&r->advice, sqlite3_column_double(st, 7));
		strbuf_addstr(&r->advice, " of CUDA calls (");
		analyze_add_duration(&r->advice, sqlite3_column_double(st, 8));
		strbuf_addstr(&r->advice, " each).\n");
	}
	if (analyze_rows_end(r, st, rc))
		return -1;
	strbuf_addstr(&r->advice,
		      "\nSuggestion: batch them: gather the values in one (pinned) buffer and copy "
		      "it once per iteration with cudaMemcpyAsync, set contiguous memory with one "
		      "cudaMemsetAsync, or keep the data on the GPU. In PyTorch, avoid .item(), "
		      ".tolist(), .cpu() and torch.tensor(python_list, device=\"cuda\") per "
		      "element inside the loop.");
	return 0;
}

const struct analyze_rule analyze_rule_copy_storm = {
    .name = "copy_storm",
    .display = "Tiny CUDA Memory Operations",
    .args = args,
    .help = "copy_storm[:<arg>...] -- Tiny CUDA Memory Operations (gprof-cli)\n"
	    "\n"
	    "    Arguments (rule:arg=value:...): rows=, start=, end=, nvtx= as for nsys's rules,\n"
	    "    and:\n"
	    "        count=<n>      at least n operations of one kind (default 1000)\n"
	    "        bytes=<n>      of at most n bytes, median (default 4096)\n"
	    "        per=<n>        inside an NVTX range: at least n per instance (default 10)\n"
	    "\n"
	    "    Output: times in nanoseconds unless --timeunit says otherwise\n"
	    "        API Time : summed duration of the CUDA calls that issued them\n"
	    "        Range : innermost NVTX range of the calls, or [no NVTX range]\n"
	    "        PID : process\n"
	    "        Operation : [CUDA memcpy Host-to-Device], [CUDA memset], ...\n"
	    "        Count, Instances, Per Instance : operations, instances of the range\n"
	    "        Med Size : median bytes;  Total Size : bytes in all (shown as MB)\n"
	    "        Med API : median call duration;  GPU Time : summed GPU duration\n"
	    "\n"
	    "    Finds many tiny copies or memsets of one kind in one NVTX range (or a\n"
	    "    process): each costs a CUDA call for a few bytes.  Fix: batch them into\n"
	    "    one copy per iteration, or keep the data on the GPU.\n",
    .prepare = prepare,
    .explain = explain,
};
