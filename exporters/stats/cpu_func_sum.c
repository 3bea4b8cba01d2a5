/*
 * cpu_func_sum.c - CPU Sampling Function Summary (gprof-cli's own report: nsys stats has
 * none for its CPU samples): the flat function table of each thread, from
 * COMPOSITE_EVENTS and SAMPLING_CALLCHAINS (profile -s process-tree, or nsys's sampling).
 */
#include "exporters/stats.h"

static const char *const needs[] = {"StringIds", "COMPOSITE_EVENTS", "SAMPLING_CALLCHAINS", NULL};

static int query(sqlite3 *db, const struct stats_args *args, struct strbuf *sql)
{
	strbuf_addstr(
	    sql,
	    "WITH e AS (SELECT id, globalTid AS gtid FROM COMPOSITE_EVENTS),\n"
	    "tn AS (SELECT gtid, count(*) AS n FROM e GROUP BY gtid),\n"
	    "fr AS (SELECT DISTINCT c.id AS id, c.symbol AS symbol, c.module AS module,\n"
	    "         e.gtid AS gtid FROM SAMPLING_CALLCHAINS AS c JOIN e ON e.id = c.id),\n"
	    "tot AS (SELECT gtid, symbol, module, count(*) AS total FROM fr\n"
	    "         GROUP BY gtid, symbol, module),\n"
	    "self AS (SELECT e.gtid AS gtid, c.symbol AS symbol, c.module AS module,\n"
	    "         count(*) AS self FROM SAMPLING_CALLCHAINS AS c JOIN e ON e.id = c.id\n"
	    "         WHERE c.stackDepth = 0 GROUP BY 1, 2, 3)\n"
	    "SELECT tot.gtid / 0x1000000 % 0x1000000 AS \"PID\", tot.gtid % 0x1000000 AS \"TID\",\n"
	    "  round(100.0 * coalesce(self.self, 0) / tn.n, 1) AS \"Self:ratio_%\",\n"
	    "  round(100.0 * tot.total / tn.n, 1) AS \"Total:ratio_%\",\n"
	    "  coalesce(self.self, 0) AS \"Self Samples\", tot.total AS \"Total Samples\",\n"
	    "  coalesce(s.value, '[unknown ' || tot.symbol || ']') AS \"Function\",\n"
	    "  coalesce(m.value, '') AS \"Module\"\n"
	    "FROM tot JOIN tn ON tn.gtid = tot.gtid\n"
	    "LEFT JOIN self ON self.gtid = tot.gtid AND self.symbol = tot.symbol\n"
	    "  AND self.module = tot.module\n"
	    "LEFT JOIN StringIds AS s ON s.id = tot.symbol\n"
	    "LEFT JOIN StringIds AS m ON m.id = tot.module\n"
	    "WHERE coalesce(s.value, '') != '[Broken backtraces]'\n"
	    "ORDER BY tn.n DESC, tot.gtid, \"Self Samples\" DESC, \"Total Samples\" DESC,\n"
	    "  \"Function\"");
	return 0;
}

const struct stats_report stats_report_cpu_func_sum = {
    .name = "cpu_func_sum",
    .display = "CPU Sampling Function Summary",
    .help = "cpu_func_sum -- CPU Sampling Function Summary (gprof-cli's; nsys has none)\n"
	    "\n"
	    "    No arguments.\n"
	    "\n"
	    "    Output: one row per thread and function, the busiest thread first\n"
	    "        PID, TID : the sampled thread\n"
	    "        Self : share of the thread's samples taken in the function itself\n"
	    "        Total : share of the thread's samples with the function on the stack\n"
	    "        Self Samples, Total Samples : the same as counts\n"
	    "        Function : the symbol (0x... when unresolved)\n"
	    "        Module : the file it is in\n"
	    "\n"
	    "    The flat function table of each thread's CPU samples (profile -s).\n",
    .args = NULL,
    .needs = needs,
    .skip_what = "CPU sampling data",
    .query = query,
};
