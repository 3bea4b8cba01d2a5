/*
 * test_capture_router.c - the recorder's capture-window router (core/capture.c,
 * --capture-range-end=repeat) on hand-made records: a CUDA graph's creation events
 * (tagged GP_CUDA_WINDOW_FROM | k, wire_cuda.h) land in the report of window k and of
 * every later window, also when they reach the recorder after window k closed, as nsys
 * writes them (issue 10); the state log replayed into later ranges is bounded and what
 * it drops counted (issue 18).  CPU only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/capture.h"
#include "core/recorder.h"
#include "core/recorder_internal.h"
#include "core/util.h"
#include "core/wire.h"
#include "core/wire_cuda.h"
#include "tests/testutil.h"

#define PID 5151u
#define TID 5152u

/* A graph-creation record of graph `id` tagged for window `from` and later ones. */
struct tagged_graph_event {
	struct gp_rec_cuda_graph_event e;
	struct gp_cuda_window_tag tag;
};

static void send_graph_event(struct report_router *rt, struct capture_conn *cc, uint64_t ts,
			     uint32_t id, uint32_t from)
{
	struct tagged_graph_event r;

	memset(&r, 0, sizeof(r));
	r.e.h.type = GP_REC_CUDA_GRAPH_EVENT;
	r.e.h.size = sizeof(r);
	r.e.h.tid = TID;
	r.e.ts_ns = ts;
	r.e.graph_id = id;
	r.e.event_class = GP_CUDA_GRAPH_CREATION;
	r.tag.window = GP_CUDA_WINDOW_FROM | from;
	r.tag.magic = GP_CUDA_WINDOW_MAGIC;
	assert_int_equal(capture_record(rt, cc, &r.e.h), 0);
}

/* Publish window k's start (and stop, 0 = still open) as a producer would. */
static void open_window(struct gp_control *ctl, uint32_t k, uint64_t start, uint64_t stop)
{
	atomic_store(&ctl->win[k].start_ns, start);
	atomic_store(&ctl->win[k].stop_ns, stop);
	atomic_store(&ctl->nwindows, k + 1);
}

/* A repeat-capture router on its own control page, with one connection of process PID,
 * writing <dir>/<name>.<k>.db. */
struct router_fx {
	char path[256];
	uint64_t t0; /* session start (CLOCK_MONOTONIC ns) */
	struct report_config cfg;
	struct gp_control *ctl;
	struct report_router *rt;
	struct capture_conn *cc;
	struct recorder_stats st;
};

static void router_fx_open(struct router_fx *fx, const char *dir, const char *name, uint32_t mode)
{
	struct capture_settings cs = {.mode = mode, .end = GP_CAPTURE_END_REPEAT};

	memset(fx, 0, sizeof(*fx));
	fx->t0 = gp_monotonic_ns();
	snprintf(fx->path, sizeof(fx->path), "%s/%s.db", dir, name);
	fx->cfg.path = fx->path;
	fx->cfg.session_start_ns = fx->t0;
	fx->cfg.session_start_utc_ns = gp_realtime_ns();
	fx->ctl = capture_control_create(dir, &cs, fx->t0);
	assert_non_null(fx->ctl);
	fx->rt = capture_router_new(&fx->cfg, 0, fx->ctl);
	assert_non_null(fx->rt);
	fx->cc = capture_conn_open(fx->rt, PID);
}

/* Close the connection and finish every window's report (the application ended at
 * end_ns); n of them must have been written. */
static void router_fx_finish(struct router_fx *fx, uint64_t end_ns, size_t n)
{
	struct report_app_status app = {.pid = PID, .exit_status = 0, .end_ns = end_ns};

	capture_conn_close(fx->rt, fx->cc);
	assert_int_equal(capture_router_finish(fx->rt, &app, &fx->st), 0);
	assert_int_equal(fx->st.n_reports, n); /* (the reports written: fx->st.report_paths) */
}

static void router_fx_free(struct router_fx *fx, const char *dir)
{
	recorder_stats_release(&fx->st);
	capture_router_free(fx->rt);
	capture_control_destroy(fx->ctl, dir);
}

static void test_graph_events_from_window(void **state)
{
	char *dir = *state, one[300];
	struct router_fx fx;

	router_fx_open(&fx, dir, "g", GP_CAPTURE_CUDA);
	struct report_router *rt = fx.rt;
	struct capture_conn *cc = fx.cc;
	uint64_t t0 = fx.t0;

	struct gp_rec_hello hello;
	memset(&hello, 0, sizeof(hello));
	hello.h.type = GP_REC_HELLO;
	hello.h.size = sizeof(hello);
	hello.h.tid = TID;
	hello.pid = PID;
	hello.ppid = 1;
	hello.collector = GP_COLLECTOR_INJECT;
	hello.start_ns = t0;
	assert_int_equal(capture_record(rt, cc, &hello.h), 0);

	/* graph 1 made before any range, delivered after range 1 opened and closed and
	 * range 2 opened: ranges 1 and 2 (and 3, below) */
	open_window(fx.ctl, 0, t0 + 1000, t0 + 2000);
	open_window(fx.ctl, 1, t0 + 3000, 0);
	send_graph_event(rt, cc, t0 + 100, 1, 0);
	/* graph 2 made inside range 2: ranges 2 and 3, not 1 */
	send_graph_event(rt, cc, t0 + 3500, 2, 1);
	atomic_store(&fx.ctl->win[1].stop_ns, t0 + 4000);
	/* range 3: the connection joins it with its first record there */
	open_window(fx.ctl, 2, t0 + 5000, t0 + 6000);
	struct gp_rec_capture cap;
	memset(&cap, 0, sizeof(cap));
	cap.h.type = GP_REC_CAPTURE;
	cap.h.size = sizeof(cap);
	cap.h.tid = TID;
	cap.ts_ns = t0 + 5000;
	cap.window = 2;
	cap.action = GP_CAPTURE_ACTION_START;
	assert_int_equal(capture_record(rt, cc, &cap.h), 0);
	/* graph 3 made between ranges 3 and 4 (none opens): no report */
	send_graph_event(rt, cc, t0 + 7000, 3, 3);

	router_fx_finish(&fx, t0 + 8000, 3);
	const char *want[] = {"1", "1,2", "1,2"};
	for (size_t k = 0; k < 3; k++) {
		sqlite3 *db;

		snprintf(one, sizeof(one), "%s/g.%zu.db", dir, k + 1);
		assert_string_equal(fx.st.report_paths[k], one);
		assert_int_equal(sqlite3_open_v2(one, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
		assert_string_equal(tu_db_row_text(db,
						   "SELECT group_concat(graphId) FROM (SELECT "
						   "graphId FROM CUDA_GRAPH_EVENTS ORDER BY 1)"),
				    want[k]);
		sqlite3_close(db);
	}
	router_fx_free(&fx, dir);
}

/* A GP_REC_STRING record of id `id` holding `len` bytes of text. */
static void send_string(struct report_router *rt, struct capture_conn *cc, uint32_t id, size_t len)
{
	union {
		struct gp_rec_string s;
		unsigned char b[sizeof(struct gp_rec_string) + 1024];
	} r;

	memset(&r, 0, sizeof(r));
	r.s.h.type = GP_REC_STRING;
	r.s.h.size = (uint16_t)GP_REC_ALIGN(sizeof(r.s) + len);
	r.s.h.tid = TID;
	r.s.id = id;
	r.s.len = (uint32_t)len;
	snprintf(r.s.text, len + 1, "%0*u", (int)len, id);
	assert_int_equal(capture_record(rt, cc, &r.s.h), 0);
}

/* The state log is bounded (here at 64 KiB): of 200 strings of 1000 bytes sent before
 * the connection's first event, the ones past the bound are not kept, the marks naming
 * them have no text in either range's report, and each is counted once
 * (GPROF_LOST_OVER_LIMIT in both reports, recorder_stats.report.over_limit). */
static void test_state_log_bounded(void **state)
{
	char *dir = *state, one[300];
	struct router_fx fx;
	long long kept, named[2];

	capture_test_log_max = 64 << 10;
	router_fx_open(&fx, dir, "s", GP_CAPTURE_NVTX);
	struct report_router *rt = fx.rt;
	struct capture_conn *cc = fx.cc;
	uint64_t t0 = fx.t0;

	open_window(fx.ctl, 0, t0 + 1000, 0);
	for (uint32_t id = 1; id <= 200; id++)
		send_string(rt, cc, id, 1000);
	for (int k = 0; k < 2; k++) {
		if (k == 1) {
			atomic_store(&fx.ctl->win[0].stop_ns, t0 + 2000000);
			open_window(fx.ctl, 1, t0 + 3000000, 0);
		}
		for (uint32_t id = 1; id <= 200; id++) {
			struct gp_rec_nvtx m;

			memset(&m, 0, sizeof(m));
			m.h.type = GP_REC_NVTX_EVENT;
			m.h.size = sizeof(m);
			m.h.tid = TID;
			m.start_ns = m.end_ns = t0 + 1000000 + 3000000 * (uint64_t)k + id;
			m.text_sid = id;
			assert_int_equal(capture_record(rt, cc, &m.h), 0);
		}
	}
	atomic_store(&fx.ctl->win[1].stop_ns, t0 + 4000000);
	router_fx_finish(&fx, t0 + 5000000, 2);
	kept = (64 << 10) / GP_REC_ALIGN(sizeof(struct gp_rec_string) + 1000);
	for (size_t k = 0; k < 2; k++) {
		sqlite3 *db;

		snprintf(one, sizeof(one), "%s/s.%zu.db", dir, k + 1);
		assert_int_equal(sqlite3_open_v2(one, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
		assert_int_equal(tu_db_int(db, "SELECT count(*) FROM NVTX_EVENTS"), 200);
		named[k] = tu_db_int(db, "SELECT count(*) FROM NVTX_EVENTS WHERE text IS NOT NULL "
					 "OR textId IS NOT NULL");
		assert_int_equal(tu_db_int(db, "SELECT value FROM META_DATA_EXPORT WHERE name = "
					       "'GPROF_LOST_OVER_LIMIT'"),
				 200 - kept);
		sqlite3_close(db);
	}
	/* (the connection joins a range's report with its first event there: the log is
	 * all either report got) */
	assert_int_equal(named[0], kept);
	assert_int_equal(named[1], kept);
	assert_int_equal(fx.st.report.over_limit, 200 - kept);
	router_fx_free(&fx, dir);
	capture_test_log_max = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_graph_events_from_window, tu_setup_tmpdir,
					    tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_state_log_bounded, tu_setup_tmpdir,
					    tu_teardown_tmpdir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
