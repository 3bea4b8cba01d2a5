/*
 * analyze_launch.c - rule launch_bound (gprof-cli's own): the GPU idles between many
 * short kernels while the CPU launches them one by one.  The fix is to launch the region
 * as one CUDA graph (or to fuse the kernels), which removes the per-kernel launch cost.
 *
 * Input (nsys schema): CUPTI_ACTIVITY_KIND_KERNEL, their launch calls in
 * CUPTI_ACTIVITY_KIND_RUNTIME (same correlationId and process), NVTX_EVENTS.
 * Kernels launched by a graph launch (cudaGraphLaunch / cuGraphLaunch, or with a
 * graphNodeId) are left out: they are already what the rule recommends.
 *
 * Regions: every NVTX push/pop or start/end range that contains the launch call of a
 * kernel (on the launching thread; exporters/stats/cuda_common.h cuda_nvtx_build) is an
 * instance of its range name; a process none of whose launches lie in a range is one
 * region per stream, from its first launch call to its last kernel's end.  Per (process,
 * range name, stream), over the instances:
 *   Kernels       kernels launched in the instances;
 *   Med Kernel    median kernel duration;
 *   Med Launch    median duration of the launch call (cudaLaunchKernel, ...);
 *   Med Interval  median time between two consecutive launch calls of one thread: what
 *                 the CPU needs per kernel, launch call plus the host code between;
 *   Med Gap       median GPU idle time between consecutive kernels of the stream;
 *   Wall          summed instance time (range start to the later of range end and the
 *                 last kernel's end);
 *   Kernel Time   summed kernel time (kernels of one stream do not overlap);
 *   GPU Busy      Kernel Time / Wall;  Rate: kernels per ms of Wall;
 *   Savings       Wall - Kernel Time: the most a graph replay can save (the GPU would
 *                 run the kernels back to back).
 * The rule fires for a group when all of: Kernels >= kernels= (default 100); Med Kernel
 * < Med Interval (the CPU needs longer to issue a kernel than the GPU to run it);
 * GPU Busy < busy= % (default 50); Rate >= rate= per ms (default 10, i.e. 10,000
 * launches/s); Med Gap <= gap= ns (default 50,000: the GPU waits on launches, not on a
 * stall of another kind).  Rows sorted by Savings.
 */
#include <inttypes.h>
#include <string.h>

#include "exporters/analyze.h"
#include "exporters/stats/cuda_common.h"

static const struct analyze_arg args[] = {
    {"kernels", 100, 1, INT64_MAX}, {"busy", 50, 0, 100}, {"rate", 10, 0, INT64_MAX},
    {"gap", 50000, 0, INT64_MAX},   {NULL, 0, 0, 0},
};

static int prepare(struct analyze_run *r)
{
	struct strbuf sb = STRBUF_INIT;
	int graph_col, rc;

	if (analyze_need(r, "StringIds", "%s file does not contain StringIds table.") ||
	    analyze_need(r, "CUPTI_ACTIVITY_KIND_KERNEL",
			 "%s could not be analyzed because it does not contain CUDA kernel "
			 "data. Does the application launch CUDA kernels (profile -t cuda)?") ||
	    analyze_need(r, "CUPTI_ACTIVITY_KIND_RUNTIME",
			 "%s could not be analyzed because it does not contain CUDA API data. "
			 "Does the application use CUDA runtime APIs?"))
		return 1;
	if (cuda_nvtx_build(r->db))
		return -1;
	graph_col = stats_column_exists(r->db, "CUPTI_ACTIVITY_KIND_KERNEL", "graphNodeId");
	/* one row per kernel launched by a call of its own */
	strbuf_addf(&sb,
		    "CREATE TEMP TABLE gp_lb_k AS SELECT k.start AS ks, k.end AS ke, "
		    "k.streamId AS stream, k.deviceId AS dev, k.globalPid AS gpid, "
		    "k.correlationId AS corr, rt.start AS ls, rt.end AS le, rt.globalTid AS tid "
		    "FROM CUPTI_ACTIVITY_KIND_KERNEL AS k "
		    "JOIN main.CUPTI_ACTIVITY_KIND_RUNTIME AS rt ON rt.correlationId = "
		    "k.correlationId AND rt.globalTid & " CUDA_GPID_MASK " = k.globalPid "
		    "JOIN StringIds AS s ON s.id = rt.nameId "
		    "WHERE s.value NOT LIKE 'cudaGraphLaunch%%' AND s.value NOT LIKE "
		    "'cuGraphLaunch%%'%s;",
		    graph_col ? " AND k.graphNodeId IS NULL" : "");
	/* the kernels of each region instance: NVTX ranges, or the whole stream */
	strbuf_addstr(&sb,
		      "CREATE TEMP TABLE gp_lb_rows AS "
		      "SELECT c.rangeId AS inst, g.name AS name, g.startNS AS rs, g.endNS AS re, "
		      "k.* FROM gp_lb_k AS k JOIN temp.GP_NVTX_CONTAIN AS c "
		      "ON c.correlationId = k.corr AND c.globalPid = k.gpid "
		      "JOIN temp.GP_NVTX_RANGES AS g ON g.rangeId = c.rangeId "
		      "UNION ALL SELECT NULL, NULL, NULL, NULL, k.* FROM gp_lb_k AS k "
		      "WHERE k.gpid NOT IN (SELECT globalPid FROM temp.GP_NVTX_CONTAIN);");
	rc = stats_exec(r->db, sb.buf, "cannot collect the kernel launches");
	strbuf_release(&sb);
	if (rc)
		return -1;

	strbuf_addstr(
	    &r->sql,
	    "WITH x AS (SELECT *, ks - lag(ke) OVER (PARTITION BY inst, gpid, stream ORDER BY ks) "
	    "AS gap, ls - lag(ls) OVER (PARTITION BY inst, gpid, stream, tid ORDER BY ls) AS ivl "
	    "FROM temp.gp_lb_rows),\n"
	    "i AS (SELECT inst, name, gpid, stream, max(dev) AS dev, count(*) AS n, "
	    "total(ke - ks) AS busy, coalesce(max(max(re), max(ke)) - min(rs), max(ke) - min(ls)) "
	    "AS wall FROM x GROUP BY inst, gpid, stream),\n"
	    "g AS (SELECT name, gpid, stream, count(*) AS instances, sum(n) AS kernels, "
	    "max(dev) AS dev, total(busy) AS busy, total(wall) AS wall FROM i "
	    "GROUP BY name, gpid, stream),\n"
	    "m AS (SELECT name, gpid, stream, median(ke - ks) AS mk, median(le - ls) AS ml, "
	    "median(ivl) AS mi, median(gap) AS mg FROM x GROUP BY name, gpid, stream)\n"
	    "SELECT CAST(g.wall - g.busy AS INTEGER) AS \"Savings:dur_ns\",\n"
	    "  CASE WHEN g.name IS NULL THEN '[no NVTX range]' "
	    "WHEN substr(g.name, 1, 1) = ':' THEN substr(g.name, 2) "
	    "ELSE substr(g.name, instr(g.name, ':') + 1) || '@' || "
	    "substr(g.name, 1, instr(g.name, ':') - 1) END AS \"Range\",\n"
	    "  g.instances AS \"Instances\", (g.gpid >> 24) & 0xFFFFFF AS \"PID\",\n"
	    "  g.dev AS \"Device ID\", g.stream AS \"Stream ID\", g.kernels AS \"Kernels\",\n"
	    "  round(m.mk, 1) AS \"Med Kernel:dur_ns\", round(m.ml, 1) AS \"Med Launch:dur_ns\",\n"
	    "  round(m.mi, 1) AS \"Med Interval:dur_ns\", round(m.mg, 1) AS \"Med Gap:dur_ns\",\n"
	    "  round(g.kernels * 1000000.0 / g.wall, 1) AS \"Rate (/ms)\",\n"
	    "  round(100.0 * g.busy / g.wall, 1) AS \"GPU Busy:ratio_%\",\n"
	    "  CAST(g.wall AS INTEGER) AS \"Wall:dur_ns\", CAST(g.busy AS INTEGER) AS "
	    "\"Kernel Time:dur_ns\"\n"
	    "FROM g JOIN m ON m.name IS g.name AND m.gpid = g.gpid AND m.stream = g.stream\n");
	strbuf_addf(&r->sql,
		    "WHERE g.wall > 0 AND g.kernels >= %" PRId64 " AND m.mk < coalesce(m.mi, m.ml)"
		    " AND 100.0 * g.busy / g.wall < %" PRId64 " AND g.kernels * 1000000.0 / g.wall"
		    " >= %" PRId64 " AND coalesce(m.mg, 0) <= %" PRId64 "\n"
		    "ORDER BY 1 DESC, \"Range\", g.stream",
		    analyze_arg(r, "kernels"), analyze_arg(r, "busy"), analyze_arg(r, "rate"),
		    analyze_arg(r, "gap"));
	analyze_add_limit(r, &r->sql);
	strbuf_addf(&r->noresult,
		    "No launch-bound region found: no NVTX range or stream launched %" PRId64
		    " or more kernels that each ran shorter than the CPU took to launch one, "
		    "with the GPU busy less than %" PRId64 "%% of the time.",
		    analyze_arg(r, "kernels"), analyze_arg(r, "busy"));
	return 0;
}

/* The advice: the first rows (at most 3) in plain words, then the fix. */
static int explain(struct analyze_run *r)
{
	sqlite3_stmt *st;
	int rc;

	if (!(st = analyze_rows_stmt(
		  r, "SELECT \"Range\", \"Instances\", \"PID\", \"Stream ID\", \"Kernels\", "
		     "\"Med Kernel:dur_ns\", \"Med Launch:dur_ns\", "
		     "\"Med Interval:dur_ns\", \"GPU Busy:ratio_%\", \"Wall:dur_ns\", "
		     "\"Savings:dur_ns\" FROM temp.gp_analyze_rows ORDER BY rowid LIMIT 3")))
		return -1;
	strbuf_reset(&r->advice);
	strbuf_addstr(&r->advice, "The GPU is idle between many short kernels while the CPU "
				  "launches them one at a time (launch-bound):\n");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *range = (const char *)sqlite3_column_text(st, 0);
		int64_t inst = sqlite3_column_int64(st, 1), pid = sqlite3_column_int64(st, 2),
			stream = sqlite3_column_int64(st, 3), kern = sqlite3_column_int64(st, 4),
			wall = sqlite3_column_int64(st, 9), save = sqlite3_column_int64(st, 10);
		double mk = sqlite3_column_double(st, 5), ml = sqlite3_column_double(st, 6),
		       busy = sqlite3_column_double(st, 8);
		int has_ivl = sqlite3_column_type(st, 7) != SQLITE_NULL;
		double mi = has_ivl ? sqlite3_column_double(st, 7) : ml;
		int nvtx = strcmp(range, "[no NVTX range]") != 0;

		strbuf_addstr(&r->advice, "   - ");
		if (nvtx)
			strbuf_addf(&r->advice,
				    "NVTX range '%s' (%" PRId64 " instance%s), stream %" PRId64
				    " of process %" PRId64 ": ",
				    range, inst, inst == 1 ? "" : "s", stream, pid);
		else
			strbuf_addf(&r->advice,
				    "stream %" PRId64 " of process %" PRId64
				    " (no NVTX range around its launches): ",
				    stream, pid);
		analyze_add_count(&r->advice, kern);
		strbuf_addstr(&r->advice, " kernels of ");
		analyze_add_duration(&r->advice, mk);
		strbuf_addstr(&r->advice, " (median), launched one every ");
		analyze_add_duration(&r->advice, mi);
		strbuf_addstr(&r->advice, " (the launch call itself: ");
		analyze_add_duration(&r->advice, ml);
		strbuf_addf(&r->advice, "); the GPU was busy %.1f%% of ", busy);
		analyze_add_duration(&r->advice, (double)wall);
		strbuf_addstr(&r->advice, ". A CUDA graph would save up to ");
		analyze_add_duration(&r->advice, (double)save);
		strbuf_addstr(&r->advice, ".\n");
	}
	if (analyze_rows_end(r, st, rc))
		return -1;
	strbuf_addstr(&r->advice,
		      "\nSuggestion: capture this region in a CUDA graph and replay it: "
		      "cudaStreamBeginCapture / cudaStreamEndCapture / cudaGraphInstantiate once, "
		      "then one cudaGraphLaunch per iteration (PyTorch: torch.cuda.CUDAGraph or "
		      "torch.compile(mode=\"reduce-overhead\")); or fuse the small kernels into "
		      "fewer, larger ones. The saving is the region's time minus its kernel time "
		      "(upper bound: the GPU runs the kernels back to back).");
	return 0;
}

const struct analyze_rule analyze_rule_launch_bound = {
    .name = "launch_bound",
    .display = "CUDA Launch-Bound Regions",
    .args = args,
    .help = "launch_bound[:<arg>...] -- CUDA Launch-Bound Regions (gprof-cli)\n"
	    "\n"
	    "    Arguments (rule:arg=value:...): rows=, start=, end=, nvtx= as for nsys's rules,\n"
	    "    and:\n"
	    "        kernels=<n>    at least n kernels in the region (default 100)\n"
	    "        busy=<percent> GPU busy less than this share of the region (default 50)\n"
	    "        rate=<n>       at least n kernel launches per ms of the region (default 10)\n"
	    "        gap=<ns>       median idle gap between kernels at most this (default 50000)\n"
	    "\n"
	    "    Output: times in nanoseconds unless --timeunit says otherwise\n"
	    "        Savings : Wall - Kernel Time, the most a CUDA graph can save\n"
	    "        Range : the NVTX range (message, @domain when not the default one), or\n"
	    "            [no NVTX range] for a process without ranges around its launches\n"
	    "        Instances : instances of the range that launched kernels\n"
	    "        PID, Device ID, Stream ID : where the kernels ran\n"
	    "        Kernels : kernels launched in the region (graph launches left out)\n"
	    "        Med Kernel : median kernel duration\n"
	    "        Med Launch : median duration of the launch call (cudaLaunchKernel, ...)\n"
	    "        Med Interval : median time between consecutive launch calls of a thread\n"
	    "        Med Gap : median GPU idle time between consecutive kernels\n"
	    "        Rate (/ms) : kernels launched per ms of Wall\n"
	    "        GPU Busy : Kernel Time / Wall\n"
	    "        Wall : summed time of the instances (range start to the later of its end\n"
	    "            and its last kernel's end)\n"
	    "        Kernel Time : summed kernel time\n"
	    "\n"
	    "    Finds regions where the GPU idles between many short kernels because the CPU\n"
	    "    launches them one at a time: the median kernel is shorter than the median\n"
	    "    interval between launch calls, launches come fast (rate=), the gaps between\n"
	    "    kernels are small (gap=) and the GPU is mostly idle (busy=).  Fix: capture the\n"
	    "    region once as a CUDA graph and replay it (cudaGraphLaunch; PyTorch\n"
	    "    torch.cuda.CUDAGraph, torch.compile mode=\"reduce-overhead\"), or fuse kernels.\n"
	    "    Kernels launched by a graph are not counted, so a region replayed as a graph\n"
	    "    does not fire.\n",
    .prepare = prepare,
    .explain = explain,
};
