/*
 * cuda_gpu_python_sum.c - "CUDA GPU Summary by Python Line" (gprof-cli's own report: nsys
 * stats has none): the GPU time of the kernels, memory copies and memory sets, each joined
 * to the CUDA API call that launched it (correlationId, same process) and that call's
 * backtrace (CUPTI_ACTIVITY_KIND_RUNTIME.callchainId -> CUDA_CALLCHAINS), summed per launch
 * site: the innermost Python frame of the backtrace (profile --python-backtrace=cuda,
 * "function (file.py:line)"), else, for a chain without Python frames (a C++ thread, a
 * report taken without --python-backtrace), its innermost frame below the API function
 * that is not in libcuda or libcudart.  GPU work whose launch has no backtrace (under the
 * --cudabacktrace threshold, or a class not asked for) is one row, "[no CUDA backtrace]".
 * Columns as nsys's *_sum reports (osrt_sum's order).
 */
#include "cuda_common.h"

static const char *const needs[] = {"StringIds", "CUPTI_ACTIVITY_KIND_RUNTIME", "CUDA_CALLCHAINS",
				    NULL};
static const char *const needs_what[] = {NULL, "CUDA API data", "CUDA backtrace data", NULL};
static const char *const needs_any[] = {"CUPTI_ACTIVITY_KIND_KERNEL", "CUPTI_ACTIVITY_KIND_MEMCPY",
					"CUPTI_ACTIVITY_KIND_MEMSET", NULL};

static int query(sqlite3 *db, const struct stats_args *args, struct strbuf *sql)
{
	strbuf_addstr(sql, "WITH g AS (");
	cuda_gpuops_sql(db, sql);
	strbuf_addstr(
	    sql,
	    "),\n"
	    /* each chain's launch site: the depth of its innermost Python frame (originalIP 0),
	     * else of its innermost frame below the API function outside the CUDA libraries */
	    "d AS (SELECT c.id AS id,\n"
	    "    coalesce(min(CASE WHEN c.originalIP = 0 THEN c.stackDepth END),\n"
	    "      min(CASE WHEN c.stackDepth > 0 AND coalesce(m.value, '') NOT LIKE "
	    "'%/libcuda.so%'\n"
	    "        AND coalesce(m.value, '') NOT LIKE '%/libcudart.so%' THEN c.stackDepth END))\n"
	    "      AS depth\n"
	    "  FROM CUDA_CALLCHAINS AS c LEFT JOIN StringIds AS m ON m.id = c.module\n"
	    "  GROUP BY c.id),\n"
	    "site AS (SELECT c.id AS id, c.symbol AS symbol FROM CUDA_CALLCHAINS AS c\n"
	    "  JOIN d ON d.id = c.id AND d.depth = c.stackDepth),\n"
	    "op AS (SELECT g.end - g.start AS dur,\n"
	    "    CASE WHEN r.callchainId IS NULL THEN '[no CUDA backtrace]'\n"
	    "      ELSE coalesce(s.value, '[unknown ' || r.callchainId || ']') END AS name\n"
	    "  FROM g JOIN CUPTI_ACTIVITY_KIND_RUNTIME AS r\n"
	    "    ON r.correlationId = g.correlationId\n"
	    "    AND (r.globalTid & " CUDA_GPID_MASK ") = g.globalPid\n"
	    "  LEFT JOIN site ON site.id = r.callchainId\n"
	    "  LEFT JOIN StringIds AS s ON s.id = site.symbol),\n"
	    "t AS (SELECT name, sum(dur) AS total, count(*) AS n, avg(dur) AS av,\n"
	    "    median(dur) AS med, min(dur) AS mn, max(dur) AS mx, stdev(dur) AS sd,\n"
	    "    lower_quartile(dur) AS q1, upper_quartile(dur) AS q3\n"
	    "  FROM op GROUP BY name)\n"
	    "SELECT round(100.0 * total / sum(total) OVER (), 1) AS \"Time:ratio_%\",\n"
	    "  total AS \"Total Time:dur_ns\", n AS \"Instances\",\n"
	    "  round(av, 1) AS \"Avg:dur_ns\", round(med, 1) AS \"Med:dur_ns\",\n"
	    "  mn AS \"Min:dur_ns\", mx AS \"Max:dur_ns\", round(sd, 1) AS \"StdDev:dur_ns\",\n"
	    "  name AS \"Name\", q1 AS \"_Q1\", q3 AS \"_Q3\"\n"
	    "FROM t ORDER BY total DESC, \"Name\"");
	return 0;
}

/* --help-reports cuda_gpu_python_sum */
static const char help[] =
    "cuda_gpu_python_sum -- CUDA GPU Summary by Python Line (gprof-cli's; nsys has "
    "none)\n"
    "\n"
    "    No arguments.\n"
    "\n"
    "    Output: all time values default to nanoseconds (see --timeunit)\n"
    "        Time : share of the summed \"Total Time\" of the rows listed\n"
    "        Total Time : GPU time of the kernels, copies and sets launched there\n"
    "        Instances : number of them\n"
    "        Avg, Med, Min, Max, StdDev : statistics of one's GPU time\n"
    "        Name : the launch site: \"function (file.py:line)\", the innermost\n"
    "            Python frame of the launching CUDA call's backtrace; for a\n"
    "            backtrace without Python frames its innermost native frame\n"
    "            outside libcuda and libcudart; \"[no CUDA backtrace]\" for\n"
    "            GPU work whose launch has none\n"
    "\n"
    "    Which Python line launched the most GPU time: each GPU operation is\n"
    "    joined to its CUDA API call by correlationId and to that call's\n"
    "    backtrace (profile --cudabacktrace=all:0 --python-backtrace=cuda).\n";

const struct stats_report stats_report_cuda_gpu_python_sum = {
    .name = "cuda_gpu_python_sum",
    .display = "CUDA GPU Summary by Python Line",
    .help = help,
    .query = query,
    .needs = needs,
    .needs_what = needs_what,
    .skip_what = "CUDA backtrace data",
    .needs_any = needs_any,
    .any_what = "GPU trace data", /* no arguments (.args NULL) */
};
