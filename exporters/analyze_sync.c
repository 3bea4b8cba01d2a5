/*
 * analyze_sync.c - rule sync_in_loop (gprof-cli's own): a CUDA synchronisation call in
 * (nearly) every instance of a repeated NVTX range, i.e. inside the loop that range
 * marks.  Each such call drains the GPU's queue: the CPU waits for the GPU, then the GPU
 * waits for the CPU to launch the next iteration's first work.
 *
 * Input (nsys schema): NVTX_EVENTS (push/pop and start/end ranges), the calls in
 * CUPTI_ACTIVITY_KIND_RUNTIME named cudaDeviceSynchronize, cudaStreamSynchronize,
 * cudaEventSynchronize, cuCtxSynchronize, cuStreamSynchronize or cuEventSynchronize
 * (any version suffix).  A call belongs to a range instance when it starts inside it on
 * the range's thread.  Per (process, range name): Instances, With Sync (instances with at
 * least one call), Sync Calls, Sync Time (their summed duration), Range Time (summed
 * instance duration), Sync Share = Sync Time / Range Time, APIs (the functions called).
 * Fires when Instances >= iterations= (default 10) and With Sync >= share= % of them
 * (default 50) and Sync Share >= time= % (default 0).  Rows sorted by Sync Time.
 */
#include <inttypes.h>

#include "exporters/analyze.h"
#include "exporters/stats/cuda_common.h"

static const struct analyze_arg args[] = {
    {"iterations", 10, 1, INT64_MAX},
    {"share", 50, 0, 100},
    {"time", 0, 0, 100},
    {NULL, 0, 0, 0},
};

static int prepare(struct analyze_run *r)
{
	struct strbuf sb = STRBUF_INIT;
	int rc;

	if (analyze_need(r, "StringIds", "%s file does not contain StringIds table.") ||
	    analyze_need(r, "NVTX_EVENTS",
			 "%s could not be analyzed because it does not contain NVTX data. Does "
			 "the application mark its loop with NVTX ranges (profile -t nvtx)?") ||
	    analyze_need(r, "CUPTI_ACTIVITY_KIND_RUNTIME",
			 "%s could not be analyzed because it does not contain CUDA API data. "
			 "Does the application use CUDA runtime APIs?"))
		return 1;
	if (cuda_nvtx_build(r->db))
		return -1;
	strbuf_addstr(&sb, "CREATE TEMP TABLE gp_sync AS SELECT rt.start AS start, rt.end AS end, "
			   "rt.globalTid AS tid, ");
	cuda_api_name_sql(&sb, "s.value");
	strbuf_addstr(&sb,
		      " AS api FROM CUPTI_ACTIVITY_KIND_RUNTIME AS rt "
		      "JOIN StringIds AS s ON s.id = rt.nameId WHERE s.value LIKE "
		      "'cudaDeviceSynchronize%' OR s.value LIKE 'cudaStreamSynchronize%' OR "
		      "s.value LIKE 'cudaEventSynchronize%' OR s.value LIKE 'cuCtxSynchronize%' "
		      "OR s.value LIKE 'cuStreamSynchronize%' OR s.value LIKE "
		      "'cuEventSynchronize%';"
		      "CREATE INDEX temp.gp_sync_tid ON gp_sync (tid, start);");
	rc = stats_exec(r->db, sb.buf, "cannot collect the synchronisation calls");
	strbuf_release(&sb);
	if (rc)
		return -1;
	strbuf_addstr(
	    &r->sql,
	    "WITH j AS (SELECT g.rangeId AS id, g.name AS name, g.globalTid AS tid, "
	    "g.endNS - g.startNS AS dur, s.start AS ss, s.end - s.start AS sd, s.api AS api "
	    "FROM temp.GP_NVTX_RANGES AS g LEFT JOIN temp.gp_sync AS s ON s.tid = g.globalTid "
	    "AND s.start >= g.startNS AND s.start < g.endNS),\n"
	    "i AS (SELECT id, name, tid, max(dur) AS dur, count(ss) AS n, total(sd) AS t "
	    "FROM j GROUP BY id),\n"
	    "g AS (SELECT (tid >> 24) & 0xFFFFFF AS pid, name, count(*) AS instances, "
	    "sum(n > 0) AS withsync, sum(n) AS calls, total(t) AS synct, total(dur) AS rt "
	    "FROM i GROUP BY 1, 2),\n"
	    "a AS (SELECT pid, name, group_concat(api, ', ') AS apis FROM (SELECT DISTINCT "
	    "(tid >> 24) & 0xFFFFFF AS pid, name, api FROM j WHERE api IS NOT NULL "
	    "ORDER BY 1, 2, 3) GROUP BY 1, 2)\n"
	    "SELECT CASE WHEN substr(g.name, 1, 1) = ':' THEN substr(g.name, 2) "
	    "ELSE substr(g.name, instr(g.name, ':') + 1) || '@' || "
	    "substr(g.name, 1, instr(g.name, ':') - 1) END AS \"Range\",\n"
	    "  g.pid AS \"PID\", g.instances AS \"Instances\", g.withsync AS \"With Sync\",\n"
	    "  g.calls AS \"Sync Calls\", CAST(g.synct AS INTEGER) AS \"Sync Time:dur_ns\",\n"
	    "  CAST(g.rt AS INTEGER) AS \"Range Time:dur_ns\",\n"
	    "  round(CASE WHEN g.rt > 0 THEN 100.0 * g.synct / g.rt ELSE 0 END, 1) AS "
	    "\"Sync Share:ratio_%\",\n"
	    "  a.apis AS \"APIs\"\n"
	    "FROM g JOIN a ON a.pid = g.pid AND a.name = g.name\n");
	strbuf_addf(&r->sql,
		    "WHERE g.instances >= %" PRId64 " AND 100 * g.withsync >= %" PRId64
		    " * g.instances AND (CASE WHEN g.rt > 0 THEN 100.0 * g.synct / g.rt ELSE 0 END)"
		    " >= %" PRId64 "\nORDER BY g.synct DESC, g.calls DESC, 1",
		    analyze_arg(r, "iterations"), analyze_arg(r, "share"), analyze_arg(r, "time"));
	analyze_add_limit(r, &r->sql);
	strbuf_addf(&r->noresult,
		    "No synchronization inside a loop found: no NVTX range with %" PRId64
		    " or more instances has a CUDA synchronization call in %" PRId64
		    "%% or more of them.",
		    analyze_arg(r, "iterations"), analyze_arg(r, "share"));
	return 0;
}

/* The advice: the first rows (at most 3) in plain words, then the fix. */
static int explain(struct analyze_run *r)
{
	sqlite3_stmt *st;
	int rc;

	if (!(st = analyze_rows_stmt(
		  r, "SELECT \"Range\", \"Instances\", \"With Sync\", \"Sync Calls\", "
		     "\"Sync Time:dur_ns\", \"Sync Share:ratio_%\", \"APIs\", \"PID\" "
		     "FROM temp.gp_analyze_rows ORDER BY rowid LIMIT 3")))
		return -1;
	strbuf_reset(&r->advice);
	strbuf_addstr(&r->advice,
		      "The host waits for the GPU inside a loop: a CUDA "
		      "synchronization call in nearly every iteration of these NVTX ranges:\n");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		strbuf_addf(&r->advice,
			    "   - '%s' (process %lld): ", (const char *)sqlite3_column_text(st, 0),
			    sqlite3_column_int64(st, 7));
		analyze_add_count(&r->advice, sqlite3_column_int64(st, 2));
		strbuf_addstr(&r->advice, " of ");
		analyze_add_count(&r->advice, sqlite3_column_int64(st, 1));
		strbuf_addf(&r->advice, " instances call %s, ",
			    (const char *)sqlite3_column_text(st, 6));
		analyze_add_count(&r->advice, sqlite3_column_int64(st, 3));
		strbuf_addstr(&r->advice, " calls taking ");
		analyze_add_duration(&r->advice, sqlite3_column_double(st, 4));
		strbuf_addf(&r->advice, " (%.1f%% of the range's time).\n",
			    sqlite3_column_double(st, 5));
	}
	if (analyze_rows_end(r, st, rc))
		return -1;
	strbuf_addstr(&r->advice,
		      "\nEach call empties the GPU's queue: the CPU waits for the GPU to finish, "
		      "then the GPU waits for the CPU to launch the next iteration's work.\n\n"
		      "Suggestion: move the synchronization out of the loop (once after it), or "
		      "wait only where the host needs a result: cudaEventRecord after the work "
		      "that produces it, cudaEventSynchronize (or cudaStreamWaitEvent between "
		      "streams) where it is used. In PyTorch, avoid .item(), .cpu(), "
		      "torch.cuda.synchronize() and printing tensors inside the loop.");
	return 0;
}

const struct analyze_rule analyze_rule_sync_in_loop = {
    .name = "sync_in_loop",
    .display = "CUDA Synchronization Inside a Loop",
    .args = args,
    .help = "sync_in_loop[:<arg>...] -- CUDA Synchronization Inside a Loop (gprof-cli)\n"
	    "\n"
	    "    Arguments (rule:arg=value:...): rows=, start=, end=, nvtx= as for nsys's rules,\n"
	    "    and:\n"
	    "        iterations=<n> ranges with at least n instances (default 10)\n"
	    "        share=<percent>\n"
	    "                       a sync call in at least this share of them (default 50)\n"
	    "        time=<percent> the calls take at least this share of the range's time\n"
	    "                       (default 0)\n"
	    "\n"
	    "    Output: times in nanoseconds unless --timeunit says otherwise\n"
	    "        Range : the NVTX range (message, @domain when not the default one)\n"
	    "        PID : process\n"
	    "        Instances : instances of the range\n"
	    "        With Sync : instances with at least one synchronization call\n"
	    "        Sync Calls, Sync Time : the calls and their summed duration\n"
	    "        Range Time : summed duration of the instances\n"
	    "        Sync Share : Sync Time / Range Time\n"
	    "        APIs : the synchronization functions called\n"
	    "\n"
	    "    Finds repeated NVTX ranges (loop iterations) that call cudaDeviceSynchronize,\n"
	    "    cudaStreamSynchronize, cudaEventSynchronize or their driver API forms\n"
	    "    (cuCtx/cuStream/cuEventSynchronize) in most instances, on the range's thread.\n"
	    "    Each call drains the GPU's queue.  Fix: synchronize once after the loop, or\n"
	    "    with events only where the host needs a result.\n",
    .prepare = prepare,
    .explain = explain,
};
