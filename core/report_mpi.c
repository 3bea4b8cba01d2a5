/*
 * report_mpi.c - the recorder's table module for the MPI collector (collectors/mpi.c,
 * wire_mpi.h): the tables nsys 2025.x exports for `-t mpi`, with nsys's columns (Nsight
 * Systems "SQLite Schema Reference"):
 *
 *   MPI_RANKS (globalTid, rank)                      one row per thread with MPI events
 *   MPI_P2P_EVENTS (start, end, globalTid, textId, commHandle, tag, remoteRank, size,
 *                   requestHandle)
 *   MPI_COLLECTIVES_EVENTS (start, end, globalTid, textId, commHandle, rootRank, size,
 *                           recvSize, requestHandle)
 *   MPI_START_WAIT_EVENTS (start, end, globalTid, textId, requestHandle)
 *   MPI_OTHER_EVENTS (start, end, globalTid, textId)
 *
 * textId is the MPI function's name in StringIds; times are report ns; sizes bytes; ranks
 * those of the call's communicator (MPI_RANKS.rank: MPI_COMM_WORLD).  A column the record
 * does not set (GP_MPI_HAS_*) is NULL, as nsys leaves it (e.g. size and recvSize of
 * MPI_Barrier: nsys's mpi_msg_size_sum skips NULL sizes).  Like nsys, a table is created
 * with its first row.  The schema's 2026 additions (commUid) and MPI_COMMUNICATORS are not
 * written.
 *
 * MPI_RANKS: a process's MPI_COMM_WORLD rank arrives once (GP_REC_MPI_RANK, after
 * MPI_Init); every thread of the process with an MPI event gets a row, whichever came first
 * (a thread's events may reach the recorder before the rank record: they are kept per
 * connection until it comes).
 */
#include <stdlib.h>

#include "report.h"
#include "util.h"

_Static_assert(sizeof(struct gp_rec_mpi_event) == 72, "wire size");
_Static_assert(sizeof(struct gp_rec_mpi_rank) == 32, "wire size");

enum mpi_table { T_RANKS, T_P2P, T_COLL, T_START_WAIT, T_OTHER, T_COUNT };

static const struct {
	const char *ddl, *insert;
} table_defs[T_COUNT] = {
    [T_RANKS] = {"CREATE TABLE MPI_RANKS (globalTid INTEGER NOT NULL, rank INTEGER NOT NULL)",
		 "INSERT INTO MPI_RANKS VALUES (?,?)"},
    [T_P2P] = {"CREATE TABLE MPI_P2P_EVENTS (start INTEGER NOT NULL, end INTEGER,"
	       " globalTid INTEGER, textId INTEGER, commHandle INTEGER, tag INTEGER,"
	       " remoteRank INTEGER, size INTEGER, requestHandle INTEGER)",
	       "INSERT INTO MPI_P2P_EVENTS VALUES (?,?,?,?,?,?,?,?,?)"},
    [T_COLL] = {"CREATE TABLE MPI_COLLECTIVES_EVENTS (start INTEGER NOT NULL, end INTEGER,"
		" globalTid INTEGER, textId INTEGER, commHandle INTEGER, rootRank INTEGER,"
		" size INTEGER, recvSize INTEGER, requestHandle INTEGER)",
		"INSERT INTO MPI_COLLECTIVES_EVENTS VALUES (?,?,?,?,?,?,?,?,?)"},
    [T_START_WAIT] = {"CREATE TABLE MPI_START_WAIT_EVENTS (start INTEGER NOT NULL, end INTEGER,"
		      " globalTid INTEGER, textId INTEGER, requestHandle INTEGER)",
		      "INSERT INTO MPI_START_WAIT_EVENTS VALUES (?,?,?,?,?)"},
    [T_OTHER] = {"CREATE TABLE MPI_OTHER_EVENTS (start INTEGER NOT NULL, end INTEGER,"
		 " globalTid INTEGER, textId INTEGER)",
		 "INSERT INTO MPI_OTHER_EVENTS VALUES (?,?,?,?)"},
};

/* The module's state in one report (a repeat capture has several reports open). */
struct mpi_state {
	sqlite3_stmt *stmts[T_COUNT];
	struct i64map ranked; /* globalTid -> 1: has its MPI_RANKS row */
};

/* Per connection: the process's world rank once known, and the threads with events
 * before that. */
struct mpi_conn {
	int have_rank;
	int32_t rank;
	uint32_t *pending; /* tids (h.tid) waiting for the rank */
	size_t npending, cap;
};

static struct mpi_state *mpi_state(struct report *r)
{
	void **slot = report_module_state(r, REPORT_MOD_MPI);

	if (!*slot)
		*slot = xcalloc(1, sizeof(struct mpi_state));
	return *slot;
}

static struct mpi_conn *mpi_conn(struct report_conn *c)
{
	void **slot = report_conn_slot(c, REPORT_MOD_MPI);

	if (!*slot)
		*slot = xcalloc(1, sizeof(struct mpi_conn));
	return *slot;
}

static sqlite3_stmt *table_stmt(struct report *r, enum mpi_table t)
{
	struct mpi_state *s = mpi_state(r);

	if (!s->stmts[t]) {
		report_exec(r, table_defs[t].ddl);
		s->stmts[t] = report_prepare(r, table_defs[t].insert);
	}
	return s->stmts[t];
}

/* The MPI_RANKS row of thread tid of c's process, once per globalTid. */
static void rank_row(struct report *r, struct report_conn *c, int32_t rank, uint32_t tid)
{
	int64_t gtid = report_global_tid(report_conn_pid(c), tid);
	int found;

	i64map_get(&mpi_state(r)->ranked, gtid, 1, &found);
	if (found)
		return;
	sqlite3_stmt *st = table_stmt(r, T_RANKS);
	sqlite3_bind_int64(st, 1, gtid);
	sqlite3_bind_int64(st, 2, rank);
	report_step(r, st);
}

/* Thread tid of c had an MPI event: its MPI_RANKS row now, or when the rank arrives. */
static void thread_seen(struct report *r, struct report_conn *c, uint32_t tid)
{
	struct mpi_conn *mc = mpi_conn(c);

	if (mc->have_rank) {
		rank_row(r, c, mc->rank, tid);
		return;
	}
	for (size_t i = 0; i < mc->npending; i++)
		if (mc->pending[i] == tid)
			return;
	GP_ALLOC_GROW(mc->pending, mc->npending + 1, mc->cap);
	mc->pending[mc->npending++] = tid;
}

static void bind_opt(sqlite3_stmt *st, int i, int have, int64_t v)
{
	if (have)
		sqlite3_bind_int64(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

static int h_event(struct report *r, struct report_conn *c, const struct gp_rec_mpi_event *e)
{
	static const enum mpi_table tables[] = {[GP_MPI_P2P] = T_P2P,
						[GP_MPI_COLLECTIVE] = T_COLL,
						[GP_MPI_START_WAIT] = T_START_WAIT,
						[GP_MPI_OTHER] = T_OTHER};
	unsigned f = e->flags;
	sqlite3_stmt *st;
	int64_t name;

	if (e->table < GP_MPI_P2P || e->table > GP_MPI_OTHER)
		return -1;
	if (!report_span_ok(r, e->start_ns, e->end_ns))
		return report_count_bad_record(r);
	st = table_stmt(r, tables[e->table]);
	name = report_conn_string(c, e->name_sid);
	if (name < 0)
		name = report_string(r, "(unknown)", 9);
	sqlite3_bind_int64(st, 1, report_time(r, e->start_ns));
	sqlite3_bind_int64(st, 2, report_time(r, e->end_ns));
	sqlite3_bind_int64(st, 3, report_global_tid(report_conn_pid(c), e->h.tid));
	sqlite3_bind_int64(st, 4, name);
	switch (e->table) {
	case GP_MPI_P2P:
		bind_opt(st, 5, f & GP_MPI_HAS_COMM, (int64_t)e->comm);
		bind_opt(st, 6, f & GP_MPI_HAS_TAG, e->tag);
		bind_opt(st, 7, f & GP_MPI_HAS_RANK, e->rank);
		bind_opt(st, 8, f & GP_MPI_HAS_SIZE, (int64_t)e->size);
		bind_opt(st, 9, f & GP_MPI_HAS_REQUEST, (int64_t)e->request);
		break;
	case GP_MPI_COLLECTIVE:
		bind_opt(st, 5, f & GP_MPI_HAS_COMM, (int64_t)e->comm);
		bind_opt(st, 6, f & GP_MPI_HAS_RANK, e->rank);
		bind_opt(st, 7, f & GP_MPI_HAS_SIZE, (int64_t)e->size);
		bind_opt(st, 8, f & GP_MPI_HAS_RECV_SIZE, (int64_t)e->recv_size);
		bind_opt(st, 9, f & GP_MPI_HAS_REQUEST, (int64_t)e->request);
		break;
	case GP_MPI_START_WAIT:
		bind_opt(st, 5, f & GP_MPI_HAS_REQUEST, (int64_t)e->request);
		break;
	default:
		break;
	}
	report_step(r, st);
	thread_seen(r, c, e->h.tid);
	return 0;
}

static int h_rank(struct report *r, struct report_conn *c, const struct gp_rec_mpi_rank *k)
{
	struct mpi_conn *mc = mpi_conn(c);

	mc->have_rank = 1;
	mc->rank = k->rank;
	for (size_t i = 0; i < mc->npending; i++)
		rank_row(r, c, mc->rank, mc->pending[i]);
	mc->npending = 0;
	return 0;
}

static int mpi_handle(struct report *r, struct report_conn *c, const struct gp_rec_hdr *rec)
{
	switch (rec->type) {
	case GP_REC_MPI_EVENT:
		if (rec->size < sizeof(struct gp_rec_mpi_event))
			return -1;
		return h_event(r, c, (const struct gp_rec_mpi_event *)rec);
	case GP_REC_MPI_RANK:
		if (rec->size < sizeof(struct gp_rec_mpi_rank))
			return -1;
		return h_rank(r, c, (const struct gp_rec_mpi_rank *)rec);
	default:
		return -1;
	}
}

static void mpi_conn_close(struct report *r, struct report_conn *c)
{
	void **slot = report_conn_slot(c, REPORT_MOD_MPI);
	struct mpi_conn *mc = *slot;

	(void)r;
	if (!mc)
		return;
	free(mc->pending);
	free(mc);
	*slot = NULL;
}

static void mpi_release(struct report *r)
{
	void **slot = report_module_state(r, REPORT_MOD_MPI);
	struct mpi_state *s = *slot;

	if (!s)
		return;
	for (int t = 0; t < T_COUNT; t++)
		sqlite3_finalize(s->stmts[t]);
	i64map_free(&s->ranked);
	free(s);
	*slot = NULL;
}

static int mpi_finish(struct report *r)
{
	mpi_release(r);
	return 0; /* no index, as nsys */
}

const struct report_module report_module_mpi = {
    .name = "mpi",
    .first_type = 0x500,
    .last_type = 0x5ff,
    .create = NULL,
    .handle = mpi_handle,
    .conn_close = mpi_conn_close,
    .finish = mpi_finish,
    .release = mpi_release,
};
