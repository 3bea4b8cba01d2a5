/*
 * mpi_event_trace.c - "MPI Event Trace" (nsys stats report mpi_event_trace): every MPI
 * event row in time order, with its thread, rank, peer or root, tag and sizes.
 */
#include "mpi_common.h"

static const char *const needs[] = {"StringIds", NULL};

/* Each table's rows as (source, start, end, globalTid, textId, size, collSendSize,
 * collRecvSize, tag, remoteRank, rootRank), every column named (any table may come first). */
#define MPI_TRACE_COLS(src, size, send, recv, tag, peer, root)                                     \
	"  SELECT '" src "' AS source, start, end, globalTid, textId, " size " AS size, " send     \
	" AS collSendSize,\n         " recv " AS collRecvSize, " tag " AS tag, " peer              \
	" AS remoteRank, " root " AS rootRank\n"
static const char *const selects[] = {
    MPI_TRACE_COLS("p2p", "size", "NULL", "NULL", "tag", "remoteRank",
		   "NULL") "  FROM MPI_P2P_EVENTS",
    MPI_TRACE_COLS("start-wait", "NULL", "NULL", "NULL", "NULL", "NULL",
		   "NULL") "  FROM MPI_START_WAIT_EVENTS",
    MPI_TRACE_COLS("other", "NULL", "NULL", "NULL", "NULL", "NULL",
		   "NULL") "  FROM MPI_OTHER_EVENTS",
    MPI_TRACE_COLS("collectives", "NULL", "size", "recvSize", "NULL", "NULL",
		   "rootRank") "  FROM MPI_COLLECTIVES_EVENTS",
};

static int query(sqlite3 *db, const struct stats_args *args, struct strbuf *sql)
{
	int ranks = stats_table_exists(db, "MPI_RANKS");

	strbuf_addstr(sql, "WITH evts AS (\n");
	mpi_union(db, mpi_event_tables, selects, sql);
	strbuf_addf(
	    sql,
	    ")\n"
	    "SELECT e.start AS \"Start:ts_ns\", e.end AS \"End:ts_ns\",\n"
	    "  e.end - e.start AS \"Duration:dur_ns\", s.value AS \"Event\",\n"
	    "  (e.globalTid >> 24) & 0x00FFFFFF AS \"Pid\", e.globalTid & 0x00FFFFFF AS \"Tid\",\n"
	    "  e.tag AS \"Tag\", %s AS \"Rank\", e.remoteRank AS \"PeerRank\",\n"
	    "  e.rootRank AS \"RootRank\", e.size AS \"Size:mem_b\",\n"
	    "  e.collSendSize AS \"CollSendSize:mem_b\",\n"
	    "  e.collRecvSize AS \"CollRecvSize:mem_b\"\n"
	    "FROM evts AS e LEFT JOIN StringIds AS s ON s.id = e.textId\n"
	    "ORDER BY 1, e.globalTid",
	    ranks ? "(SELECT min(r.rank) FROM MPI_RANKS AS r WHERE r.globalTid = e.globalTid)"
		  : "NULL");
	return 0;
}

const struct stats_report stats_report_mpi_event_trace = {
    .name = "mpi_event_trace",
    .display = "MPI Event Trace",
    .help = "mpi_event_trace -- MPI Event Trace\n"
	    "\n"
	    "    No arguments.\n"
	    "\n"
	    "    Output: all time values default to nanoseconds (see --timeunit)\n"
	    "        Start, End, Duration : the event's times\n"
	    "        Event : the MPI function\n"
	    "        Pid, Tid : the process and thread that called it\n"
	    "        Tag : message tag (point to point)\n"
	    "        Rank : the process's rank in MPI_COMM_WORLD\n"
	    "        PeerRank : the other rank of a send or receive\n"
	    "        RootRank : the root of a rooted collective (MPI_Bcast, MPI_Reduce, ...)\n"
	    "        Size : message size in bytes (send and receive)\n"
	    "        CollSendSize, CollRecvSize : bytes sent and received by a collective\n"
	    "\n"
	    "    Every MPI event traced with -t mpi, in time order.  An MPI_Sendrecv whose\n"
	    "    send and receive differ in rank, tag or size is two rows, the send and the\n"
	    "    receive; one row means both halves are alike.  Ranks other than Rank are\n"
	    "    ranks of the call's communicator.\n",
    .args = NULL,
    .needs = needs,
    .needs_any = mpi_event_tables,
    .any_what = "MPI event data",
    .query = query,
};
