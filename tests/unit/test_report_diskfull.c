/*
 * test_report_diskfull.c - a full disk's rollback and what comes back (core/report.c, report.h
 * "Disk full"), driven record by record: SQLite's max_page_count makes the report "full" at
 * a chosen size (SQLITE_FULL, as a full file system does).  While full, a thread is named
 * and a CUDA API record and the sampler's configuration make their modules create their
 * tables (the sampling ones in one statement list); the transaction that held the
 * first thread's name is rolled back.  When there is room again (report_finish, after the
 * reserve), the report holds both threads with their names, the table the module made
 * while full (a real one, no TEMP leftover), every data row either kept or counted in
 * GPROF_LOST_DISK_FULL, and says it is not finished cleanly.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/report.h"
#include "core/util.h"
#include "core/wire.h"
#include "core/wire_cuda.h"
#include "core/wire_sampling.h"
#include "tests/testutil.h"

#define PID  6161u
#define TID1 6161u
#define TID2 6162u
#define T0   3000000000ull /* session start (monotonic ns) */

static unsigned char buf[8192];

static const struct gp_rec_hdr *string_rec(uint32_t id, const char *text)
{
	struct gp_rec_string *s = (void *)buf;
	size_t len = strlen(text);

	memset(buf, 0, sizeof(buf));
	s->h.type = GP_REC_STRING;
	s->h.size = (uint16_t)((sizeof(*s) + len + 7) & ~7u);
	s->h.tid = TID1;
	s->id = id;
	s->len = (uint32_t)len;
	memcpy(s->text, text, len);
	return &s->h;
}

static const struct gp_rec_hdr *thread_rec(uint32_t tid, uint32_t sid)
{
	struct gp_rec_thread_name *t = (void *)buf;

	memset(buf, 0, sizeof(*t));
	t->h.type = GP_REC_THREAD_NAME;
	t->h.size = sizeof(*t);
	t->h.tid = tid;
	t->name_sid = sid;
	return &t->h;
}

static const struct gp_rec_hdr *range_rec(uint32_t tid, uint32_t sid, uint64_t at)
{
	struct gp_rec_nvtx *n = (void *)buf;

	memset(buf, 0, sizeof(*n));
	n->h.type = GP_REC_NVTX_EVENT;
	n->h.size = sizeof(*n);
	n->h.tid = tid;
	n->start_ns = T0 + at;
	n->end_ns = T0 + at + 10;
	n->text_sid = sid;
	n->flags = GP_NVTX_PUSHPOP;
	return &n->h;
}

static const struct gp_rec_hdr *api_rec(uint32_t tid, uint32_t sid, uint64_t at)
{
	struct gp_rec_cuda_api *a = (void *)buf;

	memset(buf, 0, sizeof(*a));
	a->h.type = GP_REC_CUDA_API;
	a->h.size = sizeof(*a);
	a->h.tid = tid;
	a->start_ns = T0 + at;
	a->end_ns = T0 + at + 5;
	a->correlation_id = 7;
	a->name_sid = sid;
	a->event_class = 1;
	return &a->h;
}

static const struct gp_rec_hdr *sampling_config_rec(void)
{
	struct gp_rec_sampling_config *k = (void *)buf;

	memset(buf, 0, sizeof(*k));
	k->h.type = GP_REC_SAMPLING_CONFIG;
	k->h.size = sizeof(*k);
	k->h.tid = TID1;
	k->sample = 1;
	k->cpuctxsw = 1;
	k->unwind = GP_UNWIND_FRAMEPOINTER;
	k->period_ns = 1000000;
	return &k->h;
}

static const struct gp_rec_hdr *hello_rec(void)
{
	struct gp_rec_hello *h = (void *)buf;

	memset(buf, 0, sizeof(*h));
	h->h.type = GP_REC_HELLO;
	h->h.size = sizeof(*h);
	h->h.tid = TID1;
	h->pid = PID;
	h->ppid = 1;
	h->collector = GP_COLLECTOR_INJECT;
	h->start_ns = T0;
	return &h->h;
}

static long long q(const char *db, const char *sql)
{
	return tu_query_int(db, sql);
}

static void test_full_then_room(void **state)
{
	char path[PATH_MAX];
	struct report_config cfg = {.session_start_ns = T0, .session_start_utc_ns = 1};
	struct report_app_status app = {.pid = PID, .exit_status = 0, .end_ns = T0 + 1000000};
	struct report_stats st = {0};
	struct report *r;
	struct report_conn *c;
	sqlite3 *db;
	sqlite3_stmt *s;
	long long pages = 0, kept, lost;
	uint64_t sent = 0;

	cfg.path = tu_pathf(path, *state, "r.db");
	r = report_open(&cfg);
	assert_non_null(r);
	c = report_conn_open(r, PID);
	report_begin(r);
	assert_int_equal(report_record(r, c, hello_rec()), 0);
	assert_int_equal(report_record(r, c, string_rec(1, "main")), 0);
	assert_int_equal(report_record(r, c, string_rec(2, "range")), 0);
	for (int i = 0; i < 100; i++, sent++) /* committed: kept */
		assert_int_equal(report_record(r, c, range_rec(TID1, 2, 10 + (uint64_t)i)), 0);
	assert_int_equal(report_commit(r), 0);

	/* the file may grow by 8 pages from here: then SQLITE_FULL */
	db = report_db(r);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA page_count", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	pages = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	{
		char sql[64];

		snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld", pages + 8);
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	}
	report_begin(r);
	/* the main thread's name in the transaction that the full disk rolls back */
	assert_int_equal(report_record(r, c, thread_rec(TID1, 1)), 0);
	for (int i = 0; i < 20000; i++, sent++)
		report_record(r, c, range_rec(TID1, 2, 100 + (uint64_t)i * 20));
	assert_int_equal(report_commit(r), -1); /* full */

	/* while full: a new thread's name and string, a table a module makes, rows (lost) */
	report_begin(r);
	assert_int_equal(report_record(r, c, string_rec(3, "late")), 0);
	assert_int_equal(report_record(r, c, thread_rec(TID2, 3)), 0);
	assert_int_equal(report_record(r, c, string_rec(4, "cudaLaunchKernel_v7000")), 0);
	assert_int_equal(report_record(r, c, api_rec(TID2, 4, 500000)), 0);
	sent++;
	/* the sampling tables: several CREATE TABLE in one statement list */
	assert_int_equal(report_record(r, c, sampling_config_rec()), 0);
	for (int i = 0; i < 100; i++, sent++)
		report_record(r, c, range_rec(TID2, 2, 600000 + (uint64_t)i * 20));
	assert_int_equal(report_commit(r), -1);

	/* room again */
	assert_int_equal(sqlite3_exec(db, "PRAGMA max_page_count = 1000000", NULL, NULL, NULL),
			 SQLITE_OK);
	report_conn_close(r, c);
	assert_int_equal(report_finish(r, &app, &st), 0);

	kept = q(path, "SELECT count(*) FROM NVTX_EVENTS") +
	       q(path, "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_RUNTIME");
	lost = q(path, "SELECT CAST(value AS INTEGER) FROM META_DATA_EXPORT WHERE name = "
		       "'GPROF_LOST_DISK_FULL'");
	print_message("%llu rows made, %lld kept, %lld lost (disk full)\n",
		      (unsigned long long)sent, kept, lost);
	assert_true(lost > 0);
	assert_int_equal(kept, 100);
	assert_int_equal((uint64_t)(kept + lost), sent);
	assert_int_equal(st.disk_full_lost, (uint64_t)lost);
	/* both threads named, the rolled-back name and the one made while full */
	assert_int_equal(q(path, "SELECT count(*) FROM ThreadNames t JOIN StringIds s ON s.id = "
				 "t.nameId WHERE (t.globalTid % 16777216 = 6161 AND s.value = "
				 "'main') OR (t.globalTid % 16777216 = 6162 AND s.value = 'late')"),
			 2);
	assert_int_equal(q(path, "SELECT count(*) FROM ThreadNames"), 2);
	assert_int_equal(q(path, "SELECT count(*) FROM PROCESSES"), 1);
	/* the tables made while full are in the file */
	assert_int_equal(q(path, "SELECT count(*) FROM sqlite_master WHERE name IN "
				 "('CUPTI_ACTIVITY_KIND_RUNTIME', 'COMPOSITE_EVENTS', "
				 "'SAMPLING_CALLCHAINS', 'SCHED_EVENTS')"),
			 4);
	assert_int_equal(q(path, "SELECT count(*) FROM pragma_integrity_check WHERE "
				 "integrity_check = 'ok'"),
			 1);
	assert_int_equal(q(path, "SELECT count(*) FROM META_DATA_EXPORT WHERE name = "
				 "'GPROF_FINISHED_CLEANLY' AND value = 'false'"),
			 1);
	assert_int_equal(q(path, "SELECT CAST(value AS INTEGER) FROM META_DATA_EXPORT WHERE "
				 "name = 'GPROF_DISK_FULL_RESUMES'"),
			 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_full_then_room, tu_setup_tmpdir,
					    tu_teardown_tmpdir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
