/*
 * mpi_msg_size_sum.c - "MPI Message Size Summary" (nsys stats report mpi_msg_size_sum): the
 * bytes each MPI function moved, point to point (p2p) and collective (coll_send,
 * coll_recv: a collective's send and receive sizes, calls without one left out).
 */
#include "mpi_common.h"

static const char *const needs[] = {"StringIds", NULL};
static const char *const needs_any[] = {"MPI_P2P_EVENTS", "MPI_COLLECTIVES_EVENTS", NULL};

static const char *const tables[] = {"MPI_P2P_EVENTS", "MPI_COLLECTIVES_EVENTS",
				     "MPI_COLLECTIVES_EVENTS", NULL};
static const char *const selects[] = {
    "  SELECT 'p2p' AS source, size AS messageSize, textId FROM MPI_P2P_EVENTS",
    "  SELECT 'coll_send' AS source, size AS messageSize, textId FROM MPI_COLLECTIVES_EVENTS\n"
    "  WHERE size IS NOT NULL",
    "  SELECT 'coll_recv' AS source, recvSize AS messageSize, textId FROM MPI_COLLECTIVES_EVENTS\n"
    "  WHERE recvSize IS NOT NULL",
};

static int query(sqlite3 *db, const struct stats_args *args, struct strbuf *sql)
{
	strbuf_addstr(sql, "WITH evts AS (\n");
	mpi_union(db, tables, selects, sql);
	strbuf_addstr(sql,
		      "),\n"
		      "g AS (\n"
		      "  SELECT source, textId, sum(messageSize) AS total, count(*) AS num,\n"
		      "         avg(messageSize) AS av, median(messageSize) AS med,\n"
		      "         min(messageSize) AS mn, max(messageSize) AS mx,\n"
		      "         stdev(messageSize) AS sd, lower_quartile(messageSize) AS q1,\n"
		      "         upper_quartile(messageSize) AS q3\n"
		      "  FROM evts GROUP BY 1, 2)\n"
		      "SELECT total AS \"Total Message Volume:B\", num AS \"Instances\",\n"
		      "  round(av, 1) AS \"Avg:B\", round(med, 1) AS \"Med:B\", mn AS \"Min:B\",\n"
		      "  mx AS \"Max:B\", round(sd, 1) AS \"StdDev:B\", source AS \"Source\",\n"
		      "  s.value AS \"Name\", q1 AS \"_Q1\", q3 AS \"_Q3\"\n"
		      "FROM g LEFT JOIN StringIds AS s ON s.id = g.textId\n"
		      "ORDER BY 2 DESC, \"Name\", \"Source\"");
	return 0;
}

const struct stats_report stats_report_mpi_msg_size_sum = {
    .name = "mpi_msg_size_sum",
    .display = "MPI Message Size Summary",
    .help = "mpi_msg_size_sum -- MPI Message Size Summary\n"
	    "\n"
	    "    No arguments.\n"
	    "\n"
	    "    Output: message sizes are in bytes\n"
	    "        Total Message Volume : bytes of all instances of this function\n"
	    "        Instances : number of instances\n"
	    "        Avg, Med, Min, Max, StdDev : statistics of one message's size\n"
	    "        Source : p2p, coll_send or coll_recv\n"
	    "        Name : the MPI function\n"
	    "\n"
	    "    Message sizes of the point-to-point and collective MPI calls traced with\n"
	    "    -t mpi.  A collective's bytes sent are listed with Source coll_send, its\n"
	    "    bytes received with coll_recv; a collective that moves no data (MPI_Barrier)\n"
	    "    is not listed.\n",
    .args = NULL,
    .needs = needs,
    .needs_any = needs_any,
    .any_what = "MPI event data",
    .query = query,
};
