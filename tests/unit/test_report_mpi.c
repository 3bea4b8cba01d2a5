/*
 * test_report_mpi.c - the MPI table module (core/report_mpi.c) on hand-made GP_REC_MPI_*
 * records sent through a real recorder channel: one row per record in the table its
 * `table` names, nsys's columns, NULL for the columns a record does not set, StringIds
 * names, report times, and MPI_RANKS rows for every thread with events, also for a thread
 * whose events arrive before the process's rank.  CPU only (no MPI).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/report.h"
#include "core/wire.h"
#include "tests/testutil.h"

#define PID 5151u
#define TID 5152u
#define T0  2000000000ull /* session start (monotonic ns) */

enum { S_SEND = 1, S_ALLRED, S_BARRIER, S_WAITALL, S_INIT, S_IRECV };

static struct gp_rec_mpi_event *ev(uint32_t tid, uint32_t sid, uint8_t table, uint64_t start,
				   uint64_t end, uint16_t flags)
{
	struct gp_rec_mpi_event *e = tu_add_rec(GP_REC_MPI_EVENT, sizeof(*e), tid);

	e->start_ns = T0 + start;
	e->end_ns = T0 + end;
	e->name_sid = sid;
	e->table = table;
	e->flags = flags;
	return e;
}

static void send_session(int fd)
{
	struct gp_rec_hello *hello = tu_add_rec(GP_REC_HELLO, sizeof(*hello), TID);
	hello->pid = PID;
	hello->ppid = 1;
	hello->collector = GP_COLLECTOR_MPI;
	hello->start_ns = T0;
	tu_add_string(S_SEND, "MPI_Send");
	tu_add_string(S_ALLRED, "MPI_Allreduce");
	tu_add_string(S_BARRIER, "MPI_Barrier");
	tu_add_string(S_WAITALL, "MPI_Waitall");
	tu_add_string(S_INIT, "MPI_Init");
	tu_add_string(S_IRECV, "MPI_Irecv");

	/* a second thread's event before the rank is known */
	struct gp_rec_mpi_event *e = ev(TID + 1, S_IRECV, GP_MPI_P2P, 500, 600,
					GP_MPI_HAS_COMM | GP_MPI_HAS_TAG | GP_MPI_HAS_RANK |
					    GP_MPI_HAS_SIZE | GP_MPI_HAS_REQUEST);
	e->comm = 0x44000000u;
	e->tag = 9;
	e->rank = 3;
	e->size = 800;
	e->request = 0x7f00001000ull;

	struct gp_rec_mpi_rank *k = tu_add_rec(GP_REC_MPI_RANK, sizeof(*k), TID);
	k->ts_ns = T0 + 900;
	k->rank = 2;
	k->size = 4;
	k->impl = GP_MPI_IMPL_MPICH;

	ev(TID, S_INIT, GP_MPI_OTHER, 100, 1000, 0);
	e = ev(TID, S_SEND, GP_MPI_P2P, 1100, 1300,
	       GP_MPI_HAS_COMM | GP_MPI_HAS_TAG | GP_MPI_HAS_RANK | GP_MPI_HAS_SIZE);
	e->comm = 0x44000000u;
	e->tag = 100;
	e->rank = 0;
	e->size = 16;
	e = ev(TID, S_ALLRED, GP_MPI_COLLECTIVE, 1400, 41400,
	       GP_MPI_HAS_COMM | GP_MPI_HAS_SIZE | GP_MPI_HAS_RECV_SIZE);
	e->comm = 0x44000000u;
	e->size = 8;
	e->recv_size = 8;
	e->rank = 77; /* not flagged: rootRank stays NULL */
	e = ev(TID, S_BARRIER, GP_MPI_COLLECTIVE, 41500, 41600, GP_MPI_HAS_COMM);
	e->comm = 0x84000001u;
	for (int i = 0; i < 2; i++) {
		e = ev(TID, S_WAITALL, GP_MPI_START_WAIT, 42000, 43000, GP_MPI_HAS_REQUEST);
		e->request = 0x7f00001000ull + (uint64_t)i;
	}
	/* a third thread after the rank: its row at once */
	ev(TID + 2, S_BARRIER, GP_MPI_COLLECTIVE, 44000, 45000, 0);
	tu_send_frame(fd, PID, 0);
}

static char dir[64], path[128];
static sqlite3 *db;

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/gprof-test-mpi-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/r.db", dir);
	tu_record_session(path, T0, PID, send_session);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sqlite3_close(db);
	return tu_rm_rf(dir);
}

#define GTID(tid) ((1ll << 48) | ((long long)PID << 24) | (tid))

static void test_p2p(void **state)
{
	(void)state;
	assert_int_equal(tu_db_row_int(db, "SELECT count(*) FROM MPI_P2P_EVENTS"), 2);
	assert_string_equal(tu_db_row_text(db,
					   "SELECT group_concat(start || ',' || end || ',' || "
					   "s.value || ',' || commHandle || ',' || tag || ',' || "
					   "remoteRank || ',' || size || ',' || "
					   "coalesce(requestHandle, 'NULL'), ';') FROM "
					   "(SELECT * FROM MPI_P2P_EVENTS ORDER BY start) e "
					   "JOIN StringIds s ON s.id = e.textId"),
			    "500,600,MPI_Irecv,1140850688,9,3,800,545460850688;"
			    "1100,1300,MPI_Send,1140850688,100,0,16,NULL");
	assert_int_equal(tu_db_row_int(db, "SELECT globalTid FROM MPI_P2P_EVENTS WHERE tag = 100"),
			 GTID(TID));
}

static void test_collectives(void **state)
{
	(void)state;
	assert_int_equal(tu_db_row_int(db, "SELECT count(*) FROM MPI_COLLECTIVES_EVENTS"), 3);
	assert_string_equal(tu_db_row_text(db,
					   "SELECT coalesce(rootRank, 'NULL') || ',' || size || "
					   "',' || recvSize || ',' || "
					   "coalesce(requestHandle, 'NULL') FROM "
					   "MPI_COLLECTIVES_EVENTS WHERE start = 1400"),
			    "NULL,8,8,NULL");
	/* a barrier moves no data: size and recvSize NULL, as nsys's mpi_msg_size_sum expects */
	assert_int_equal(tu_db_row_int(db,
				       "SELECT count(*) FROM MPI_COLLECTIVES_EVENTS WHERE "
				       "size IS NULL AND recvSize IS NULL AND rootRank IS NULL"),
			 2);
	assert_int_equal(tu_db_row_int(db, "SELECT commHandle FROM MPI_COLLECTIVES_EVENTS WHERE "
					   "start = 41500"),
			 0x84000001ll);
	assert_int_equal(tu_db_row_int(db, "SELECT count(*) FROM MPI_COLLECTIVES_EVENTS WHERE "
					   "start = 44000 AND commHandle IS NULL"),
			 1);
}

static void test_start_wait_other(void **state)
{
	(void)state;
	assert_string_equal(tu_db_row_text(db, "SELECT group_concat(start || ',' || end || ',' || "
					       "requestHandle, ';') FROM MPI_START_WAIT_EVENTS"),
			    "42000,43000,545460850688;42000,43000,545460850689");
	assert_string_equal(tu_db_row_text(db, "SELECT s.value || ',' || start || ',' || end FROM "
					       "MPI_OTHER_EVENTS e JOIN StringIds s ON "
					       "s.id = e.textId"),
			    "MPI_Init,100,1000");
	/* nsys's columns, in nsys's order */
	assert_string_equal(tu_db_row_text(db, "SELECT group_concat(name) FROM "
					       "pragma_table_info('MPI_START_WAIT_EVENTS')"),
			    "start,end,globalTid,textId,requestHandle");
	assert_string_equal(tu_db_row_text(db, "SELECT group_concat(name) FROM "
					       "pragma_table_info('MPI_P2P_EVENTS')"),
			    "start,end,globalTid,textId,commHandle,tag,remoteRank,size,"
			    "requestHandle");
	assert_string_equal(tu_db_row_text(db, "SELECT group_concat(name) FROM "
					       "pragma_table_info('MPI_COLLECTIVES_EVENTS')"),
			    "start,end,globalTid,textId,commHandle,rootRank,size,recvSize,"
			    "requestHandle");
}

static void test_ranks(void **state)
{
	(void)state;
	/* one row per thread with events: the early thread, the rank's, the late one */
	assert_int_equal(tu_db_row_int(db, "SELECT count(*) FROM MPI_RANKS"), 3);
	assert_int_equal(tu_db_row_int(db, "SELECT count(DISTINCT globalTid) FROM MPI_RANKS"), 3);
	assert_int_equal(tu_db_row_int(db, "SELECT count(*) FROM MPI_RANKS WHERE rank = 2"), 3);
	char sql[160];
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM MPI_RANKS WHERE globalTid IN (%lld, %lld, %lld)", GTID(TID),
		 GTID(TID + 1), GTID(TID + 2));
	assert_int_equal(tu_db_row_int(db, sql), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_p2p),
	    cmocka_unit_test(test_collectives),
	    cmocka_unit_test(test_start_wait_other),
	    cmocka_unit_test(test_ranks),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
