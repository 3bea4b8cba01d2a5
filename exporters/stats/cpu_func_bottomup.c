/*
 * cpu_func_bottomup.c - CPU Sampling Bottom-Up (gprof-cli's own report: nsys stats has
 * none for its CPU samples): each thread's functions where the samples landed, with the
 * call paths that led there, from COMPOSITE_EVENTS and SAMPLING_CALLCHAINS.
 */
#include "exporters/stats.h"

#define CALLERS_MAX "8" /* callers shown per path */

static const char *const needs[] = {"StringIds", "COMPOSITE_EVENTS", "SAMPLING_CALLCHAINS", NULL};

static int query(sqlite3 *db, const struct stats_args *args, struct strbuf *sql)
{
	strbuf_addstr(
	    sql,
	    "WITH e AS (SELECT id, globalTid AS gtid FROM COMPOSITE_EVENTS),\n"
	    "tn AS (SELECT gtid, count(*) AS n FROM e GROUP BY gtid),\n"
	    "path AS (SELECT id, group_concat(v, ' <- ') AS callers FROM (\n"
	    "    SELECT c.id AS id, s.value AS v FROM SAMPLING_CALLCHAINS AS c\n"
	    "    JOIN StringIds AS s ON s.id = c.symbol\n"
	    "    WHERE c.stackDepth BETWEEN 1 AND " CALLERS_MAX "\n"
	    "    ORDER BY c.id, c.stackDepth) GROUP BY id),\n"
	    "leaf AS (SELECT c.id AS id, coalesce(s.value, '[unknown]') AS fn\n"
	    "    FROM SAMPLING_CALLCHAINS AS c LEFT JOIN StringIds AS s ON s.id = c.symbol\n"
	    "    WHERE c.stackDepth = 0),\n"
	    "g AS (SELECT e.gtid AS gtid, leaf.fn AS fn, coalesce(path.callers, '') AS callers,\n"
	    "    count(*) AS n FROM e JOIN leaf ON leaf.id = e.id\n"
	    "    LEFT JOIN path ON path.id = e.id GROUP BY 1, 2, 3),\n"
	    "lt AS (SELECT gtid, fn, sum(n) AS fn_n FROM g GROUP BY gtid, fn)\n"
	    "SELECT g.gtid / 0x1000000 % 0x1000000 AS \"PID\", g.gtid % 0x1000000 AS \"TID\",\n"
	    "  round(100.0 * lt.fn_n / tn.n, 1) AS \"Self:ratio_%\",\n"
	    "  round(100.0 * g.n / tn.n, 1) AS \"Path:ratio_%\", g.n AS \"Samples\",\n"
	    "  g.fn AS \"Function\", g.callers AS \"Callers\"\n"
	    "FROM g JOIN lt ON lt.gtid = g.gtid AND lt.fn = g.fn JOIN tn ON tn.gtid = g.gtid\n"
	    "ORDER BY tn.n DESC, g.gtid, lt.fn_n DESC, g.fn, g.n DESC, g.callers");
	return 0;
}

const struct stats_report stats_report_cpu_func_bottomup = {
    .name = "cpu_func_bottomup",
    .display = "CPU Sampling Bottom-Up",
    .help = "cpu_func_bottomup -- CPU Sampling Bottom-Up (gprof-cli's; nsys has none)\n"
	    "\n"
	    "    No arguments.\n"
	    "\n"
	    "    Output: one row per thread, function and call path, the busiest thread\n"
	    "    first, then its functions by self time, then their paths\n"
	    "        PID, TID : the sampled thread\n"
	    "        Self : share of the thread's samples taken in the function itself\n"
	    "        Path : share of the thread's samples taken there through this path\n"
	    "        Samples : the path's samples\n"
	    "        Function : where the samples landed (the leaf frame)\n"
	    "        Callers : its callers, innermost first (at most " CALLERS_MAX ")\n"
	    "\n"
	    "    The bottom-up view of each thread's CPU samples (profile -s): the functions\n"
	    "    the time was spent in, and who called them.\n",
    .args = NULL,
    .needs = needs,
    .skip_what = "CPU sampling data",
    .query = query,
};
