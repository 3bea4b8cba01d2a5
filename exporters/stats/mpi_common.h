/*
 * mpi_common.h - SQL shared by the MPI stats reports (mpi_event_sum, mpi_event_trace,
 * mpi_msg_size_sum), which read the tables nsys exports for `-t mpi` (core/report_mpi.c):
 * MPI_P2P_EVENTS, MPI_START_WAIT_EVENTS, MPI_OTHER_EVENTS, MPI_COLLECTIVES_EVENTS, and
 * MPI_RANKS.  Like nsys's scripts, a report unions the event tables the file has (a table is
 * written only when it has rows) and is skipped when it has none.
 */
#ifndef GPROF_STATS_MPI_COMMON_H
#define GPROF_STATS_MPI_COMMON_H

#include "exporters/stats.h"

/* The four event tables, in the order nsys's scripts union them. */
static const char *const mpi_event_tables[] = {"MPI_P2P_EVENTS", "MPI_START_WAIT_EVENTS",
					       "MPI_OTHER_EVENTS", "MPI_COLLECTIVES_EVENTS", NULL};

/* Append to sql the SELECT of each table in `tables` (NULL-terminated, parallel to
 * `selects`: one SELECT text per table, NULL = skip) that exists in db, joined with
 * UNION ALL.  Returns the number of SELECTs appended (0: no MPI data). */
static inline int mpi_union(sqlite3 *db, const char *const *tables, const char *const *selects,
			    struct strbuf *sql)
{
	int n = 0;

	for (int i = 0; tables[i]; i++) {
		if (!selects[i] || !stats_table_exists(db, tables[i]))
			continue;
		if (n++)
			strbuf_addstr(sql, "\n  UNION ALL\n");
		strbuf_addstr(sql, selects[i]);
	}
	return n;
}

#endif
