/*
 * mpi_event_sum.c - "MPI Event Summary" (nsys stats report mpi_event_sum): time spent in
 * each MPI function, per source table (p2p, start-wait, other, collectives), over every
 * thread of the report.
 */
#include "mpi_common.h"

static const char *const needs[] = {"StringIds", NULL};

static const char *const selects[] = {
    "  SELECT 'p2p' AS source, end - start AS duration, textId FROM MPI_P2P_EVENTS",
    "  SELECT 'start-wait' AS source, end - start AS duration, textId FROM MPI_START_WAIT_EVENTS",
    "  SELECT 'other' AS source, end - start AS duration, textId FROM MPI_OTHER_EVENTS",
    "  SELECT 'collectives' AS source, end - start AS duration, textId\n"
    "  FROM MPI_COLLECTIVES_EVENTS",
};

static int query(sqlite3 *db, const struct stats_args *args, struct strbuf *sql)
{
	strbuf_addstr(sql, "WITH evts AS (\n");
	mpi_union(db, mpi_event_tables, selects, sql);
	strbuf_addstr(
	    sql,
	    "),\n"
	    "g AS (\n"
	    "  SELECT source, textId, sum(duration) AS total, count(*) AS num,\n"
	    "         avg(duration) AS av, median(duration) AS med, min(duration) AS mn,\n"
	    "         max(duration) AS mx, stdev(duration) AS sd,\n"
	    "         lower_quartile(duration) AS q1, upper_quartile(duration) AS q3\n"
	    "  FROM evts GROUP BY 1, 2)\n"
	    "SELECT round(100.0 * total / sum(total) OVER (), 1) AS \"Time:ratio_%\",\n"
	    "  total AS \"Total Time:dur_ns\", num AS \"Instances\",\n"
	    "  round(av, 1) AS \"Avg:dur_ns\", round(med, 1) AS \"Med:dur_ns\",\n"
	    "  mn AS \"Min:dur_ns\", mx AS \"Max:dur_ns\", round(sd, 1) AS \"StdDev:dur_ns\",\n"
	    "  source AS \"Source\", s.value AS \"Name\", q1 AS \"_Q1\", q3 AS \"_Q3\"\n"
	    "FROM g LEFT JOIN StringIds AS s ON s.id = g.textId\n"
	    "ORDER BY 2 DESC, \"Name\", \"Source\"");
	return 0;
}

const struct stats_report stats_report_mpi_event_sum = {
    .name = "mpi_event_sum",
    .display = "MPI Event Summary",
    .help = "mpi_event_sum -- MPI Event Summary\n"
	    "\n"
	    "    No arguments.\n"
	    "\n"
	    "    Output: all time values default to nanoseconds (see --timeunit)\n"
	    "        Time : share of the summed \"Total Time\" of the rows listed\n"
	    "        Total Time : total time used by all instances of this event\n"
	    "        Instances : number of instances of this event\n"
	    "        Avg, Med, Min, Max, StdDev : statistics of one instance's duration\n"
	    "        Source : the table of the event (p2p, start-wait, other, collectives)\n"
	    "        Name : the MPI function\n"
	    "\n"
	    "    Summary of the MPI calls traced with -t mpi.  \"Time\" is a share of the\n"
	    "    listed events' total, not of the application's run time.  An MPI_Waitall\n"
	    "    (and any start/wait/test call) counts once per request it was given, as\n"
	    "    nsys writes it.\n",
    .args = NULL,
    .needs = needs,
    .needs_any = mpi_event_tables,
    .any_what = "MPI event data",
    .query = query,
};
