/* osrt_sum.c - OS Runtime Summary (nsys stats report "osrt_sum"). */
#include "exporters/stats.h"

static const char *const needs[] = {"StringIds", "OSRT_API", NULL};

static int query(sqlite3 *db, const struct stats_args *args, struct strbuf *sql)
{
	strbuf_addstr(sql,
		      "WITH g AS (\n"
		      "  SELECT o.nameId AS nameId, sum(o.end - o.start) AS total,\n"
		      "         count(*) AS n, avg(o.end - o.start) AS av,\n"
		      "         median(o.end - o.start) AS med, min(o.end - o.start) AS mn,\n"
		      "         max(o.end - o.start) AS mx, stdev(o.end - o.start) AS sd,\n"
		      "         lower_quartile(o.end - o.start) AS q1,\n"
		      "         upper_quartile(o.end - o.start) AS q3\n"
		      "  FROM OSRT_API AS o GROUP BY o.nameId)\n"
		      "SELECT round(100.0 * total / sum(total) OVER (), 1) AS \"Time:ratio_%\",\n"
		      "  total AS \"Total Time:dur_ns\", n AS \"Num Calls\",\n"
		      "  round(av, 1) AS \"Avg:dur_ns\", round(med, 1) AS \"Med:dur_ns\",\n"
		      "  mn AS \"Min:dur_ns\", mx AS \"Max:dur_ns\",\n"
		      "  round(sd, 1) AS \"StdDev:dur_ns\",\n"
		      "  coalesce(s.value, '[unknown ' || g.nameId || ']') AS \"Name\",\n"
		      "  q1 AS \"_Q1\", q3 AS \"_Q3\"\n"
		      "FROM g LEFT JOIN StringIds AS s ON s.id = g.nameId\n"
		      "ORDER BY total DESC, \"Name\"");
	return 0;
}

const struct stats_report stats_report_osrt_sum = {
    .name = "osrt_sum",
    .display = "OS Runtime Summary",
    .help = "osrt_sum -- OS Runtime Summary\n"
	    "\n"
	    "    No arguments.\n"
	    "\n"
	    "    Output: all time values default to nanoseconds (see --timeunit)\n"
	    "        Time : share of the summed \"Total Time\" of the calls listed\n"
	    "        Total Time : total time spent in all calls of this function\n"
	    "        Num Calls : number of calls\n"
	    "        Avg, Med, Min, Max, StdDev : statistics of one call's duration\n"
	    "        Name : the libc function\n"
	    "\n"
	    "    Summary of the OS runtime calls longer than the run's --osrt-threshold.\n",
    .args = NULL,
    .needs = needs,
    .skip_what = "OS Runtime trace data",
    .query = query,
};
