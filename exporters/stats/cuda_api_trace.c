/*
 * cuda_api_trace.c - "CUDA API Trace": every CUDA runtime and driver API call, by start
 * time (nsys stats report cuda_api_trace, nsys-cli.md 2.3).
 */
#include "cuda_common.h"

static const char *const needs[] = {"StringIds", "CUPTI_ACTIVITY_KIND_RUNTIME", NULL};

static int query(sqlite3 *db, const struct stats_args *a, struct strbuf *sql)
{
	int tn = stats_table_exists(db, "ThreadNames");

	strbuf_addstr(sql, "SELECT r.start AS \"Start:ts_ns\", r.end - r.start AS "
			   "\"Duration:dur_ns\", ");
	cuda_api_name_sql(sql, "s.value");
	strbuf_addstr(sql,
		      " AS \"Name\", r.returnValue AS \"Result\", "
		      "r.correlationId AS \"CorrID\", (r.globalTid >> 24) & 0xFFFFFF AS \"Pid\", "
		      "r.globalTid & 0xFFFFFF AS \"Tid\", ");
	if (tn)
		strbuf_addstr(sql, "t.priority AS \"T-Pri\", ts.value AS \"Thread Name\" ");
	else
		strbuf_addstr(sql, "NULL AS \"T-Pri\", NULL AS \"Thread Name\" ");
	strbuf_addstr(sql, "FROM CUPTI_ACTIVITY_KIND_RUNTIME AS r "
			   "LEFT JOIN StringIds AS s ON s.id = r.nameId ");
	/* ThreadNames may hold several rows per thread (renames): take the last one. */
	if (tn)
		strbuf_addstr(sql, "LEFT JOIN (SELECT globalTid, priority, nameId FROM ThreadNames "
				   "WHERE rowid IN (SELECT max(rowid) FROM ThreadNames GROUP BY "
				   "globalTid)) AS t ON t.globalTid = r.globalTid "
				   "LEFT JOIN StringIds AS ts ON ts.id = t.nameId ");
	strbuf_addstr(sql, "ORDER BY 1, r.correlationId");
	return 0;
}

const struct stats_report stats_report_cuda_api_trace = {
    .name = "cuda_api_trace",
    .display = "CUDA API Trace",
    .help = "cuda_api_trace -- CUDA API Trace\n"
	    "\n"
	    "    No arguments.\n"
	    "\n"
	    "    Output: all time values default to nanoseconds\n"
	    "        Start : call start timestamp\n"
	    "        Duration : call duration\n"
	    "        Name : CUDA runtime or driver function (a _vNNNN suffix is dropped)\n"
	    "        Result : the call's return value (0 = success)\n"
	    "        CorrID : correlation ID, shared with the GPU work the call launched\n"
	    "        Pid, Tid : process and thread that made the call\n"
	    "        T-Pri : thread priority\n"
	    "        Thread Name : name of the calling thread\n"
	    "\n"
	    "    Every CUDA API call of the report, sorted by start time.\n",
    .args = NULL,
    .needs = needs,
    .skip_what = "CUDA trace data",
    .query = query,
};
