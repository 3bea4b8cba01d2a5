/*
 * analyze_nsys.c - nsys's expert-system rules (nsys-cli.md section 4): cuda_memcpy_async,
 * cuda_memcpy_sync, cuda_memset_sync, cuda_api_sync, gpu_gaps, gpu_time_util and
 * dx12_mem_ops, with nsys 2025.3's names, messages, columns, thresholds and arguments,
 * so that `gprof-cli analyze` prints what `nsys analyze` prints on the same export
 * (tests/e2e/test_analyze.c compares them byte for byte on the nsys fixture).
 *
 * Where nsys's behaviour is a choice we keep it (gpu_time_util's "%%" in its message,
 * cuda_memset_sync reusing the synchronisation-API messages, the 64 KB = 64000 bytes
 * cut of cuda_memcpy_sync); where it is an accident of its SQL we do the evident thing
 * and say so in the rule's help: memcpy/memset rows are matched to their API call
 * within the same process, gpu_gaps applies rows= after sorting (not before), and
 * cuda_api_sync's process= and thread= filter (nsys 2025.3 accepts and ignores them).
 */
#include <inttypes.h>
#include <string.h>

#include "exporters/analyze.h"

/* ---- messages (nsys 2025.3's wording) ------------------------------------------------ */

#define NO_CUDA_RUNTIME                                                                            \
	"%s could not be analyzed because it does not contain the required CUDA data. Does the "   \
	"application use CUDA runtime APIs?"
#define NO_CUDA_MEMCPY                                                                             \
	"%s could not be analyzed because it does not contain the required CUDA data. Does the "   \
	"application use CUDA memcpy APIs?"
#define NO_CUDA_MEMSET                                                                             \
	"%s could not be analyzed because it does not contain the required CUDA data. Does the "   \
	"application use CUDA memset APIs?"
#define NO_STRINGIDS "%s file does not contain StringIds table."
#define NO_MEM_KIND  "%s does not contain ENUM_CUDA_MEM_KIND table."
#define NO_GREEN_CTX                                                                               \
	"%s could not be analyzed due to missing 'greenContextId'. Please re-export the report "   \
	"file with a recent version of Nsight Systems."
#define NO_GPU_OPS                                                                                 \
	"%s could not be analyzed because it does not contain the required data. Does the "        \
	"application launch GPU operations?"

#define SYNC_API_ADVICE                                                                            \
	"The following are synchronization APIs that block the host until all issued CUDA calls "  \
	"are complete.\n\nSuggestions:\n   1. Avoid excessive use of synchronization.\n   2. Use " \
	"asynchronous CUDA event calls, such as cudaStreamWaitEvent() and "                        \
	"cudaEventSynchronize(), to prevent host synchronization."
#define SYNC_API_NORESULT "There were no problems detected related to synchronization APIs."

#define GPU_IDLE_SUGGESTIONS                                                                       \
	"Suggestions:\n   1. Use CPU sampling data, OS Runtime blocked state backtraces, and/or "  \
	"OS Runtime APIs related to thread synchronization to understand if a sluggish or "        \
	"blocked CPU is causing the gaps.\n   2. Add NVTX annotations to CPU code to understand "  \
	"the reason behind the gaps."

/* The common arguments, as every nsys rule's usage lists them. */
#define COMMON_ARGS_HELP                                                                           \
	"    Arguments (rule:arg=value:...):\n"                                                    \
	"        rows=<limit>   at most this many rows (default 50; -1: no limit)\n"               \
	"        start=<ns>     only data recorded after this time\n"                              \
	"        end=<ns>       only data recorded before this time\n"                             \
	"        nvtx=<range[@domain]>\n"                                                          \
	"                       only data inside the first instance of this NVTX range\n"          \
	"                       (@domain when not in the default domain); start= and end=\n"       \
	"                       win over the range's times\n"

static int need_green(struct analyze_run *r, const char *table)
{
	if (stats_column_exists(r->db, table, "greenContextId"))
		return 0;
	return analyze_skip(r, NO_GREEN_CTX);
}

/* ---- cuda_memcpy_async / cuda_memcpy_sync ------------------------------------------- */

/* The columns both memcpy rules print, from m (MEMCPY), rt (its API call), s (its name). */
#define MEMCPY_COLUMNS                                                                             \
	"SELECT m.end - m.start AS \"Duration:dur_ns\", m.start AS \"Start:ts_ns\",\n"             \
	"  sk.label AS \"Src Kind\", dk.label AS \"Dst Kind\", m.bytes AS \"Bytes:mem_B\",\n"      \
	"  (m.globalPid >> 24) & 0xFFFFFF AS \"PID\", m.deviceId AS \"Device ID\",\n"              \
	"  m.contextId AS \"Context ID\", nullif(m.greenContextId, 0) AS \"Green Context ID\",\n"  \
	"  m.streamId AS \"Stream ID\", s.value AS \"API Name\"\n"                                 \
	"FROM CUPTI_ACTIVITY_KIND_MEMCPY AS m\n"                                                   \
	"JOIN main.CUPTI_ACTIVITY_KIND_RUNTIME AS rt ON rt.correlationId = m.correlationId\n"      \
	"  AND rt.globalTid >> 24 = m.globalPid >> 24\n"                                           \
	"JOIN StringIds AS s ON s.id = rt.nameId\n"                                                \
	"LEFT JOIN ENUM_CUDA_MEM_KIND AS sk ON sk.id = m.srcKind\n"                                \
	"LEFT JOIN ENUM_CUDA_MEM_KIND AS dk ON dk.id = m.dstKind\n"

static int memcpy_needs(struct analyze_run *r)
{
	return analyze_need(r, "StringIds", NO_STRINGIDS) ||
	       analyze_need(r, "CUPTI_ACTIVITY_KIND_RUNTIME", NO_CUDA_RUNTIME) ||
	       analyze_need(r, "CUPTI_ACTIVITY_KIND_MEMCPY", NO_CUDA_MEMCPY) ||
	       analyze_need(r, "ENUM_CUDA_MEM_KIND", NO_MEM_KIND) ||
	       need_green(r, "CUPTI_ACTIVITY_KIND_MEMCPY");
}

static int memcpy_async_prepare(struct analyze_run *r)
{
	if (memcpy_needs(r))
		return 1;
	strbuf_addstr(
	    &r->sql, MEMCPY_COLUMNS
	    "WHERE s.value LIKE 'cudaMemcpy%Async%' AND (m.srcKind = 0 OR m.dstKind = 0)\n"
	    "ORDER BY 1 DESC, m.start");
	analyze_add_limit(r, &r->sql);
	strbuf_addstr(
	    &r->advice,
	    "The following APIs use PAGEABLE memory which causes asynchronous CUDA memcpy "
	    "operations to block and be executed synchronously. This leads to low GPU "
	    "utilization.\n\nSuggestion: If applicable, use PINNED memory instead.");
	strbuf_addstr(&r->noresult, "There were no problems detected related to memcpy operations "
				    "using pageable memory.");
	return 0;
}

static int memcpy_sync_prepare(struct analyze_run *r)
{
	if (memcpy_needs(r))
		return 1;
	strbuf_addstr(&r->sql, MEMCPY_COLUMNS
		      "WHERE s.value LIKE 'cudaMemcpy%' AND s.value NOT LIKE '%Async%'\n"
		      "  AND NOT (m.bytes <= 64000 AND m.copyKind = 1)\n"
		      "  AND NOT (m.srcDeviceId IS NOT NULL AND m.srcDeviceId = m.dstDeviceId)\n"
		      "ORDER BY 1 DESC, m.start");
	analyze_add_limit(r, &r->sql);
	strbuf_addstr(&r->advice, "The following are synchronous memory transfers that block the "
				  "host. This does not include host to device transfers of a "
				  "memory block of 64 KB or less.\n\nSuggestion: Use "
				  "cudaMemcpy*Async() APIs instead.");
	strbuf_addstr(&r->noresult,
		      "There were no problems detected related to synchronous memcpy operations.");
	return 0;
}

#define MEMCPY_COLUMNS_HELP                                                                        \
	"    Output: times in nanoseconds unless --timeunit says otherwise\n"                      \
	"        Duration : duration of the memcpy on the GPU\n"                                   \
	"        Start : start of the memcpy on the GPU\n"                                         \
	"        Src Kind, Dst Kind : memory kind of the source and destination\n"                 \
	"        Bytes : bytes copied (shown as MB)\n"                                             \
	"        PID, Device ID, Context ID, Green Context ID, Stream ID\n"                        \
	"        API Name : the CUDA runtime function that issued the copy\n"

const struct analyze_rule analyze_rule_cuda_memcpy_async = {
    .name = "cuda_memcpy_async",
    .display = "CUDA Async Memcpy with Pageable Memory",
    .flags = ANALYZE_NSYS,
    .help = "cuda_memcpy_async[:<arg>...] -- CUDA Async Memcpy with Pageable Memory\n"
	    "\n" COMMON_ARGS_HELP "\n" MEMCPY_COLUMNS_HELP "\n"
	    "    Finds cudaMemcpy*Async() copies from or to pageable host memory: the driver\n"
	    "    stages them through a pinned buffer and the call returns only when the copy\n"
	    "    is done, so they are synchronous after all.  Rows sorted by duration.\n",
    .prepare = memcpy_async_prepare,
};

const struct analyze_rule analyze_rule_cuda_memcpy_sync = {
    .name = "cuda_memcpy_sync",
    .display = "CUDA Synchronous Memcpy",
    .flags = ANALYZE_NSYS,
    .help = "cuda_memcpy_sync[:<arg>...] -- CUDA Synchronous Memcpy\n"
	    "\n" COMMON_ARGS_HELP "\n" MEMCPY_COLUMNS_HELP "\n"
	    "    Finds synchronous copies (cudaMemcpy*() without Async) that block the host,\n"
	    "    except copies within one device and host-to-device copies of 64,000 bytes\n"
	    "    or less.  Rows sorted by duration.\n",
    .prepare = memcpy_sync_prepare,
};

/* ---- cuda_memset_sync ------------------------------------------------------------------- */

static int memset_sync_prepare(struct analyze_run *r)
{
	if (analyze_need(r, "StringIds", NO_STRINGIDS) ||
	    analyze_need(r, "CUPTI_ACTIVITY_KIND_RUNTIME", NO_CUDA_RUNTIME) ||
	    analyze_need(r, "CUPTI_ACTIVITY_KIND_MEMSET", NO_CUDA_MEMSET) ||
	    analyze_need(r, "ENUM_CUDA_MEM_KIND", NO_MEM_KIND) ||
	    need_green(r, "CUPTI_ACTIVITY_KIND_MEMSET"))
		return 1;
	strbuf_addstr(&r->sql,
		      "SELECT m.end - m.start AS \"Duration:dur_ns\", m.start AS \"Start:ts_ns\",\n"
		      "  k.label AS \"Memory Kind\", m.bytes AS \"Bytes:mem_B\",\n"
		      "  (m.globalPid >> 24) & 0xFFFFFF AS \"PID\", m.deviceId AS \"Device ID\",\n"
		      "  m.contextId AS \"Context ID\",\n"
		      "  nullif(m.greenContextId, 0) AS \"Green Context ID\",\n"
		      "  m.streamId AS \"Stream ID\", s.value AS \"API Name\"\n"
		      "FROM CUPTI_ACTIVITY_KIND_MEMSET AS m\n"
		      "JOIN main.CUPTI_ACTIVITY_KIND_RUNTIME AS rt ON rt.correlationId = "
		      "m.correlationId\n"
		      "  AND rt.globalTid >> 24 = m.globalPid >> 24\n"
		      "JOIN StringIds AS s ON s.id = rt.nameId\n"
		      "LEFT JOIN ENUM_CUDA_MEM_KIND AS k ON k.id = m.memKind\n"
		      "WHERE s.value LIKE 'cudaMemset%' AND s.value NOT LIKE '%async%'\n"
		      "  AND m.memKind IN (1, 4)\n"
		      "ORDER BY 1 DESC, m.start");
	analyze_add_limit(r, &r->sql);
	/* nsys 2025.3 prints the synchronisation-API messages for this rule */
	strbuf_addstr(&r->advice, SYNC_API_ADVICE);
	strbuf_addstr(&r->noresult, SYNC_API_NORESULT);
	return 0;
}

const struct analyze_rule analyze_rule_cuda_memset_sync = {
    .name = "cuda_memset_sync",
    .display = "CUDA Synchronous Memset",
    .flags = ANALYZE_NSYS,
    .help = "cuda_memset_sync[:<arg>...] -- CUDA Synchronous Memset\n"
	    "\n" COMMON_ARGS_HELP "\n"
	    "    Output: times in nanoseconds unless --timeunit says otherwise\n"
	    "        Duration, Start : of the memset on the GPU\n"
	    "        Memory Kind : kind of the memory set\n"
	    "        Bytes : bytes set (shown as MB)\n"
	    "        PID, Device ID, Context ID, Green Context ID, Stream ID\n"
	    "        API Name : the CUDA runtime function\n"
	    "\n"
	    "    Finds synchronous memsets (cudaMemset*() without Async) of pinned host memory\n"
	    "    or managed (unified) memory.  Rows sorted by duration.\n",
    .prepare = memset_sync_prepare,
};

/* ---- cuda_api_sync ---------------------------------------------------------------------- */

static const struct analyze_arg api_sync_args[] = {
    {"process", -1, -1, 0xFFFFFF},
    {"thread", -1, -1, 0xFFFFFF},
    {NULL, 0, 0, 0},
};

static int api_sync_prepare(struct analyze_run *r)
{
	int64_t pid = analyze_arg(r, "process"), tid = analyze_arg(r, "thread");

	if (analyze_need(r, "StringIds", NO_STRINGIDS) ||
	    analyze_need(r, "CUPTI_ACTIVITY_KIND_RUNTIME", NO_CUDA_RUNTIME))
		return 1;
	strbuf_addstr(
	    &r->sql,
	    "SELECT rt.end - rt.start AS \"Duration:dur_ns\", rt.start AS \"Start:ts_ns\",\n"
	    "  (rt.globalTid >> 24) & 0xFFFFFF AS \"PID\", rt.globalTid & 0xFFFFFF AS "
	    "\"TID\",\n"
	    "  s.value AS \"API Name\"\n"
	    "FROM CUPTI_ACTIVITY_KIND_RUNTIME AS rt JOIN StringIds AS s ON s.id = "
	    "rt.nameId\n"
	    "WHERE (s.value LIKE 'cudaDeviceSynchronize%' OR s.value LIKE "
	    "'cudaStreamSynchronize%')");
	if (pid >= 0)
		strbuf_addf(&r->sql, " AND (rt.globalTid >> 24) & 0xFFFFFF = %" PRId64, pid);
	if (tid >= 0)
		strbuf_addf(&r->sql, " AND rt.globalTid & 0xFFFFFF = %" PRId64, tid);
	strbuf_addstr(&r->sql, "\nORDER BY 1 DESC, rt.start");
	analyze_add_limit(r, &r->sql);
	strbuf_addstr(&r->advice, SYNC_API_ADVICE);
	strbuf_addstr(&r->noresult, SYNC_API_NORESULT);
	return 0;
}

const struct analyze_rule analyze_rule_cuda_api_sync = {
    .name = "cuda_api_sync",
    .display = "CUDA Synchronization APIs",
    .flags = ANALYZE_NSYS,
    .args = api_sync_args,
    .help = "cuda_api_sync[:<arg>...] -- CUDA Synchronization APIs\n"
	    "\n" COMMON_ARGS_HELP "        process=<pid>  only this process (default: all)\n"
	    "        thread=<tid>   only this thread (default: all)\n"
	    "\n"
	    "    Output: times in nanoseconds unless --timeunit says otherwise\n"
	    "        Duration, Start : of the call\n"
	    "        PID, TID : process and thread that called it\n"
	    "        API Name : cudaDeviceSynchronize or cudaStreamSynchronize (with nsys's\n"
	    "            version suffix)\n"
	    "\n"
	    "    Finds the calls of cudaDeviceSynchronize() and cudaStreamSynchronize(), which\n"
	    "    block the host until the work issued before them is done.  Rows sorted by\n"
	    "    duration.\n",
    .prepare = api_sync_prepare,
};

/* ---- GPU operations (gpu_gaps, gpu_time_util) ------------------------------------------ */

/*
 * Append, for each graphics/compute API whose tables the report has, the SQL of its GPU
 * operations as "(start, end, pid, globalId, deviceId, contextId, api)" rows -- CUDA:
 * kernels, memcpys and memsets; Vulkan, OpenGL, DX12: their *_WORKLOAD tables -- plus
 * the profiler overhead of that API (PROFILER_OVERHEAD rows with the API's overhead
 * names) inside each (process, device)'s span, as nsys counts it as busy time.
 * Each API's rows become TEMP TABLE gp_ops_<i> (made once: the rules read it per chunk);
 * returns how many, or -1 after an error.
 */
static int ops_views(struct analyze_run *r)
{
	static const struct {
		const char *api, *tables[3], *gid, *dev, *ctx, *overhead;
	} apis[] = {
	    {"cuda",
	     {"CUPTI_ACTIVITY_KIND_KERNEL", "CUPTI_ACTIVITY_KIND_MEMCPY",
	      "CUPTI_ACTIVITY_KIND_MEMSET"},
	     "globalPid",
	     "deviceId",
	     "contextId",
	     "'CUDA profiling data flush overhead', 'CUDA profiling stop overhead', "
	     "'CUDA profiling overhead'"},
	    {"vulkan",
	     {"VULKAN_WORKLOAD"},
	     "globalTid",
	     "gpu",
	     "contextId",
	     "'Vulkan profiling overhead'"},
	    {"opengl",
	     {"OPENGL_WORKLOAD"},
	     "globalTid",
	     "gpu",
	     "contextId",
	     "'OpenGL profiling overhead'"},
	    {"dx12",
	     {"DX12_WORKLOAD"},
	     "globalTid",
	     "gpu",
	     "shortContextId",
	     "'DX12 profiling overhead'"},
	};
	struct strbuf sb = STRBUF_INIT;
	int nviews = 0;

	for (size_t a = 0; a < sizeof(apis) / sizeof(apis[0]); a++) {
		int ntab = 0;

		strbuf_reset(&sb);
		strbuf_addf(&sb, "CREATE TEMP TABLE gp_ops_%d AS WITH raw AS (", nviews);
		for (int t = 0; t < 3 && apis[a].tables[t]; t++) {
			if (!stats_table_exists(r->db, apis[a].tables[t]))
				continue;
			strbuf_addf(
			    &sb,
			    "%sSELECT start, end, (%s >> 24) & 0xFFFFFF AS pid, %s AS "
			    "globalId, %s AS deviceId, %s AS contextId, '%s' AS api FROM %s "
			    "WHERE start > 0",
			    ntab ? " UNION ALL " : "", apis[a].gid, apis[a].gid, apis[a].dev,
			    apis[a].ctx, apis[a].api, apis[a].tables[t]);
			ntab++;
		}
		if (!ntab)
			continue;
		strbuf_addstr(&sb, ")");
		if (stats_table_exists(r->db, "PROFILER_OVERHEAD")) {
			strbuf_addf(
			    &sb,
			    ", span AS (SELECT min(start) AS start, max(end) AS end, pid, "
			    "globalId, deviceId, contextId, api FROM raw GROUP BY deviceId, "
			    "pid) "
			    "SELECT o.start, o.end, sp.pid, sp.globalId, sp.deviceId, "
			    "sp.contextId, sp.api FROM PROFILER_OVERHEAD AS o "
			    "JOIN StringIds AS s ON s.id = o.nameId AND s.value IN (%s) "
			    "JOIN span AS sp ON sp.pid = (o.globalTid >> 24) & 0xFFFFFF "
			    "AND o.start > sp.start AND o.end < sp.end "
			    "UNION ALL SELECT * FROM raw",
			    apis[a].overhead);
		} else {
			strbuf_addstr(&sb, " SELECT * FROM raw");
		}
		if (stats_exec(r->db, sb.buf, "cannot collect the GPU operations") < 0) {
			strbuf_release(&sb);
			return -1;
		}
		nviews++;
	}
	strbuf_release(&sb);
	return nviews;
}

/* gpu_gaps ------------------------------------------------------------------------------- */

static const struct analyze_arg gaps_args[] = {
    {"gap", 500, 0, INT64_MAX / 1000000},
    {NULL, 0, 0, 0},
};

static int gaps_prepare(struct analyze_run *r)
{
	int64_t gap = analyze_arg(r, "gap");
	int nviews = ops_views(r);

	if (nviews < 0)
		return -1;
	if (nviews == 0)
		return analyze_skip(r, NO_GPU_OPS);
	if (analyze_need(r, "StringIds", NO_STRINGIDS))
		return 1;
	/*
	 * Per (process, device): the i-th smallest end and the (i+1)-th smallest start
	 * bound an idle interval when end < start (every operation that started before
	 * has ended).  Overlapping operations never form one.
	 */
	strbuf_addstr(&r->sql, "WITH gaps AS (");
	for (int v = 0; v < nviews; v++)
		strbuf_addf(
		    &r->sql,
		    "%sSELECT * FROM (WITH s AS (SELECT ROW_NUMBER() OVER (ORDER BY pid, "
		    "deviceId, start) AS n, start, pid, deviceId FROM gp_ops_%d), "
		    "e AS (SELECT ROW_NUMBER() OVER (ORDER BY pid, deviceId, end) AS n, end, "
		    "pid, globalId, deviceId, contextId, api FROM gp_ops_%d) "
		    "SELECT s.start - e.end AS duration, e.end AS gapStart, e.pid AS pid, "
		    "e.globalId AS globalId, e.deviceId AS deviceId, e.contextId AS "
		    "contextId, e.api AS api FROM s JOIN e ON s.n - 1 = e.n "
		    "AND s.deviceId = e.deviceId AND s.pid = e.pid "
		    "WHERE s.start - e.end > %" PRId64 " AND e.end < s.start)",
		    v ? " UNION ALL " : "", v, v, gap * 1000000);
	strbuf_addstr(
	    &r->sql, ")\nSELECT ROW_NUMBER() OVER (ORDER BY duration DESC, gapStart) AS \"Row#\",\n"
		     "  duration AS \"Duration:dur_ns\", gapStart AS \"Start:ts_ns\", pid AS "
		     "\"PID\",\n"
		     "  deviceId AS \"Device ID\", contextId AS \"Context ID\",\n"
		     "  globalId AS \"_Global ID\", api AS \"_API\"\n"
		     "FROM gaps ORDER BY 1");
	analyze_add_limit(r, &r->sql);
	strbuf_addf(&r->advice,
		    "The following are ranges where a GPU is idle for more than %" PRId64
		    "ms. Addressing these gaps might improve application "
		    "performance.\n\n" GPU_IDLE_SUGGESTIONS,
		    gap);
	strbuf_addf(&r->noresult,
		    "There were no problems detected with GPU utilization. GPU was not found to be "
		    "idle for more than %" PRId64 "ms.",
		    gap);
	return 0;
}

const struct analyze_rule analyze_rule_gpu_gaps = {
    .name = "gpu_gaps",
    .display = "GPU Gaps",
    .flags = ANALYZE_NSYS,
    .args = gaps_args,
    .help = "gpu_gaps[:<arg>...] -- GPU Gaps\n"
	    "\n" COMMON_ARGS_HELP "        gap=<ms>       only gaps longer than this many ms "
	    "(default 500)\n"
	    "\n"
	    "    Output: times in nanoseconds unless --timeunit says otherwise\n"
	    "        Row# : rank of the gap, longest first\n"
	    "        Duration, Start : of the gap\n"
	    "        PID, Device ID, Context ID : where the GPU was idle\n"
	    "\n"
	    "    Finds the time a GPU was idle, per process and device, between the start of\n"
	    "    its first operation (CUDA kernel, memcpy, memset; Vulkan, OpenGL, DX12\n"
	    "    workloads) and the end of its last.  Profiler overhead (PROFILER_OVERHEAD\n"
	    "    rows named 'CUDA profiling overhead' and the like) counts as busy time: the\n"
	    "    user cannot remove it.\n",
    .prepare = gaps_prepare,
};

/* gpu_time_util ---------------------------------------------------------------------------- */

static const struct analyze_arg util_args[] = {
    {"threshold", 50, 0, 1000000},
    {"chunks", 30, 1, 1000},
    {NULL, 0, 0, 0},
};

static int util_prepare(struct analyze_run *r)
{
	int64_t thr = analyze_arg(r, "threshold"), chunks = analyze_arg(r, "chunks");
	int nviews = ops_views(r);

	if (nviews < 0)
		return -1;
	if (nviews == 0)
		return analyze_skip(r, NO_GPU_OPS);
	if (analyze_need(r, "StringIds", NO_STRINGIDS))
		return 1;
	/*
	 * Per (process, device) the span from the first start to the last end is cut into
	 * `chunks` chunks of ceil(span / chunks) ns (the last one ends at the span's end);
	 * a chunk's use is the time operations cover in it (overlaps add up) over its
	 * length.  Runs of consecutive chunks under the threshold become one row with the
	 * length-weighted average, rounded to 0.1 %.
	 */
	strbuf_addf(&r->sql,
		    "WITH RECURSIVE ids(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM ids "
		    "WHERE i + 1 < %" PRId64 "), low AS (",
		    chunks);
	for (int v = 0; v < nviews; v++)
		strbuf_addf(
		    &r->sql,
		    "%sSELECT * FROM (WITH span AS (SELECT min(start) AS start, max(end) AS end, "
		    "(max(end) - min(start) + %" PRId64 " - 1) / %" PRId64 " AS size, pid, "
		    "globalId, deviceId, contextId, api FROM gp_ops_%d GROUP BY deviceId, pid), "
		    "chunk AS (SELECT ids.i AS i, span.start + ids.i * span.size AS cstart, "
		    "min(span.start + (ids.i + 1) * span.size, span.end) AS cend, span.pid AS "
		    "pid, span.globalId AS globalId, span.deviceId AS deviceId, span.contextId "
		    "AS contextId, span.api AS api FROM span JOIN ids "
		    "WHERE span.start + ids.i * span.size < min(span.start + (ids.i + 1) * "
		    "span.size, span.end)), "
		    "used AS (SELECT c.i AS i, c.cstart AS cstart, c.cend AS cend, "
		    "c.cend - c.cstart AS size, "
		    "CAST(total(CASE WHEN o.start IS NULL THEN 0 ELSE min(o.end, c.cend) - "
		    "max(o.start, c.cstart) END) AS REAL) / (c.cend - c.cstart) * 100 AS pct, "
		    "c.pid AS pid, c.globalId AS globalId, c.deviceId AS deviceId, c.contextId "
		    "AS contextId, c.api AS api FROM chunk AS c LEFT JOIN gp_ops_%d AS o "
		    "ON o.deviceId = c.deviceId AND o.pid = c.pid AND o.start < c.cend "
		    "AND o.end > c.cstart GROUP BY c.i, c.deviceId, c.pid HAVING pct < %" PRId64
		    "), "
		    "grp AS (SELECT *, i - ROW_NUMBER() OVER (PARTITION BY pid, deviceId ORDER BY "
		    "i) AS g FROM used) "
		    "SELECT min(cstart) AS start, max(cend) - min(cstart) AS duration, "
		    "round(total(size * pct) / total(size), 1) AS average, pid, globalId, "
		    "deviceId, contextId, api FROM grp GROUP BY g, deviceId, pid)",
		    v ? " UNION ALL " : "", chunks, chunks, v, v, thr);
	strbuf_addstr(&r->sql,
		      ")\nSELECT ROW_NUMBER() OVER (ORDER BY average, duration) AS \"Row#\",\n"
		      "  average AS \"In-Use:ratio_%\", duration AS \"Duration:dur_ns\",\n"
		      "  start AS \"Start:ts_ns\", pid AS \"PID\", deviceId AS \"Device ID\",\n"
		      "  contextId AS \"Context ID\", globalId AS \"_Global ID\", api AS \"_API\"\n"
		      "FROM low ORDER BY 1");
	analyze_add_limit(r, &r->sql);
	/* "%%" is in nsys 2025.3's output as such */
	strbuf_addf(&r->advice,
		    "The following are time regions with an average GPU utilization below %" PRId64
		    "%%%%. Addressing the gaps might improve application "
		    "performance.\n\n" GPU_IDLE_SUGGESTIONS,
		    thr);
	strbuf_addf(&r->noresult,
		    "There were no problems detected with GPU utilization. No time regions have an "
		    "average GPU utilization below %" PRId64 "%%%%.",
		    thr);
	return 0;
}

const struct analyze_rule analyze_rule_gpu_time_util = {
    .name = "gpu_time_util",
    .display = "GPU Time Utilization",
    .flags = ANALYZE_NSYS,
    .args = util_args,
    .help = "gpu_time_util[:<arg>...] -- GPU Time Utilization\n"
	    "\n" COMMON_ARGS_HELP "        threshold=<percent>\n"
	    "                       only regions used less than this (default 50)\n"
	    "        chunks=<n>     cut each span into n equal chunks, 1 to 1000 (default 30)\n"
	    "\n"
	    "    Output: times in nanoseconds unless --timeunit says otherwise\n"
	    "        Row# : rank of the region, least used first\n"
	    "        In-Use : share of the region's time the GPU was running operations\n"
	    "        Duration, Start : of the region\n"
	    "        PID, Device ID, Context ID : where\n"
	    "\n"
	    "    Per process and device, the span from the start of the first GPU operation\n"
	    "    to the end of the last is cut into equal chunks (ceil(span / n) ns each;\n"
	    "    the last ends with the span, and rounding can leave fewer than n).  A\n"
	    "    chunk's use is the time operations (and profiler overhead) cover in it over\n"
	    "    its length: time use, not resource use, and overlapping operations can\n"
	    "    take it past 100%.  Runs of consecutive chunks under the threshold are one\n"
	    "    row with their length-weighted average.\n",
    .prepare = util_prepare,
};

/* ---- dx12_mem_ops ---------------------------------------------------------------------- */

static int dx12_prepare(struct analyze_run *r)
{
	if (analyze_need(r, "StringIds", NO_STRINGIDS) ||
	    analyze_need(r, "DX12_API",
			 "%s could not be analyzed because it does not contain the required DX12 "
			 "data. Does the application use DX12 APIs?") ||
	    analyze_need(r, "DX12_MEMORY_OPERATION",
			 "%s could not be analyzed because it does not contain the required DX12 "
			 "data. Does the application perform DX12 memory operations?"))
		return 1;
	strbuf_addstr(
	    &r->sql,
	    "SELECT * FROM (SELECT a.end - a.start AS \"Duration:dur_ns\", a.start AS "
	    "\"Start:ts_ns\",\n"
	    "  a.globalTid & 0xFFFFFF AS \"TID\", m.gpu AS \"Device ID\",\n"
	    "  CASE\n"
	    "    WHEN s.value LIKE 'ID3D12Device::CreateHeap%' AND m.heapFlags & 0x1000 = 0\n"
	    "      THEN 'D3D12_HEAP_CREATED_WITH_ZEROING'\n"
	    "    WHEN s.value LIKE 'ID3D12Device::CreateCommittedResource%'\n"
	    "      AND m.heapFlags & 0x1000 = 0\n"
	    "      THEN 'D3D12_COMMITTED_RESOURCE_CREATED_WITH_ZEROING'\n"
	    "    WHEN s.value = 'ID3D12Resource::ReadFromSubresource' AND m.heapType = 1\n"
	    "      THEN 'D3D12_READ_FROM_UPLOAD_HEAP_SUBRESOURCE'\n"
	    "    WHEN s.value = 'ID3D12Resource::ReadFromSubresource' AND m.cpuPageProperty = 2\n"
	    "      THEN 'D3D12_READ_FROM_SUBRESOURCE_TO_WRITE_COMBINE_PAGE'\n"
	    "    WHEN s.value = 'ID3D12Resource::WriteToSubresource' AND m.heapType = 2\n"
	    "      THEN 'D3D12_WRITE_TO_READBACK_HEAP_SUBRESOURCE'\n"
	    "    WHEN s.value = 'ID3D12Resource::WriteToSubresource' AND m.cpuPageProperty = 3\n"
	    "      THEN 'D3D12_WRITE_TO_SUBRESOURCE_FROM_WRITE_BACK_PAGE'\n"
	    "  END AS \"Warning Type\", a.globalTid AS \"_Global ID\"\n"
	    "FROM DX12_MEMORY_OPERATION AS m JOIN DX12_API AS a ON a.id = m.traceEventId\n"
	    "JOIN StringIds AS s ON s.id = a.nameId)\n"
	    "WHERE \"Warning Type\" IS NOT NULL ORDER BY 1 DESC, 2");
	analyze_add_limit(r, &r->sql);
	strbuf_addstr(&r->advice, "The following are host-side memory operations that can be "
				  "blocking and result in stuttering.\n\nFor more information on "
				  "each warning, use the option '--help-rules=dx12_mem_ops'.");
	strbuf_addstr(&r->noresult,
		      "There were no problems detected related to memory operations.");
	return 0;
}

const struct analyze_rule analyze_rule_dx12_mem_ops = {
    .name = "dx12_mem_ops",
    .display = "DX12 Memory Operations",
    .flags = ANALYZE_NSYS,
    .help = "dx12_mem_ops[:<arg>...] -- DX12 Memory Operations\n"
	    "\n" COMMON_ARGS_HELP "\n"
	    "    Output: times in nanoseconds unless --timeunit says otherwise\n"
	    "        Duration, Start : of the DX12 call\n"
	    "        TID : thread that made it\n"
	    "        Device ID : the GPU\n"
	    "        Warning Type : what is wrong with it (below)\n"
	    "\n"
	    "    Finds host-side DX12 memory operations that can block (Windows reports from\n"
	    "    nsys only; gprof-cli never records DX12):\n"
	    "      D3D12_HEAP_CREATED_WITH_ZEROING, D3D12_COMMITTED_RESOURCE_CREATED_WITH_\n"
	    "        ZEROING: add D3D12_HEAP_FLAG_CREATE_NOT_ZEROED to skip the zeroing;\n"
	    "      D3D12_READ_FROM_UPLOAD_HEAP_SUBRESOURCE, D3D12_READ_FROM_SUBRESOURCE_TO_\n"
	    "        WRITE_COMBINE_PAGE: upload heaps and write-combine pages are slow to\n"
	    "        read back on the CPU;\n"
	    "      D3D12_WRITE_TO_READBACK_HEAP_SUBRESOURCE, D3D12_WRITE_TO_SUBRESOURCE_FROM_\n"
	    "        WRITE_BACK_PAGE: readback heaps and write-back pages are slow to upload\n"
	    "        from.\n",
    .prepare = dx12_prepare,
};
