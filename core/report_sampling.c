/*
 * report_sampling.c - the CPU sampling table module: GP_REC_CPU_SAMPLE, GP_REC_SCHED and
 * GP_REC_SAMPLING_LOSS (core/wire_sampling.h, sent by core/sampler.c) into nsys's tables,
 * with nsys's columns and values (Nsight Systems SQLite schema reference; rows compared
 * with an nsys 2025.3 export, shared/fixtures):
 *
 *   COMPOSITE_EVENTS      one row per sample: id (1, 2, ...), start, cpu, threadState 1
 *                         (Running), globalTid, cpuCycles 1 (nsys writes 1 for a real
 *                         sample: "filter cpuCycles = 1 or weight by SUM(cpuCycles)");
 *   SAMPLING_CALLCHAINS   one row per frame, leaf first (stackDepth 0): symbol and module
 *                         StringIds (an unresolved frame: symbol "0x<ip>", unresolved 1),
 *                         kernelMode 0, thumbCode 0, specialEntry NULL, originalIP,
 *                         unwindMethod (ENUM_STACK_UNWIND_METHOD); a stack the unwinder could
 *                         not finish ends with nsys's "[Broken backtraces]" entry (symbol and
 *                         module that text, originalIP NULL, unwindMethod 0);
 *   SCHED_EVENTS          one row per context switch: start, cpu, isSchedIn, globalTid,
 *                         threadState (0, or 5 Terminated for an exiting thread's last
 *                         switch-out: perf's PERF_RECORD_EXIT, as nsys), threadBlock NULL.
 *
 * The tables are created when the sampler connects (GP_REC_SAMPLING_CONFIG, before the
 * application runs; for want of it, with the first record), only those asked for: a
 * report without sampling has none (as nsys with --sample=none --cpuctxsw=none).  The ENUM tables
 * come from report_enums.c.  The sampler's counters go to META_DATA_EXPORT at the end:
 * GPROF_CPU_SAMPLES, GPROF_LOST_CPU_SAMPLES, GPROF_CPU_UNWIND_FAILURES,
 * GPROF_SCHED_SWITCHES, GPROF_SAMPLER_CPU_NS (the sampler thread's CPU time),
 * GPROF_PYTHON_FRAMES_UNREAD (samples of Python threads without their Python frames).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "util.h"

#define BROKEN_TEXT  "[Broken backtraces]"
#define UNKNOWN_TEXT "[Unknown]"

struct sampling_state {
	sqlite3_stmt *ins_event, *ins_frame, *ins_sched;
	int have_samples, have_sched;
	int64_t next_id;
	struct gp_rec_sampling_loss loss; /* the largest counters seen */
	int have_loss;
};

static struct sampling_state **slot(struct report *r)
{
	return (struct sampling_state **)report_module_state(r, REPORT_MOD_SAMPLING);
}

static int sampling_create(struct report *r)
{
	struct sampling_state *s = xcalloc(1, sizeof(*s));

	s->next_id = 1;
	*slot(r) = s;
	return 0;
}

static void create_samples(struct report *r, struct sampling_state *s)
{
	report_exec(r, "CREATE TABLE COMPOSITE_EVENTS (id INTEGER NOT NULL PRIMARY KEY, "
		       "start INTEGER NOT NULL, cpu INTEGER, threadState INTEGER, "
		       "globalTid INTEGER, cpuCycles INTEGER NOT NULL);"
		       "CREATE TABLE SAMPLING_CALLCHAINS (id INTEGER NOT NULL, "
		       "symbol INTEGER NOT NULL, module INTEGER NOT NULL, kernelMode INTEGER, "
		       "thumbCode INTEGER, unresolved INTEGER, specialEntry INTEGER, "
		       "originalIP INTEGER, unwindMethod INTEGER, stackDepth INTEGER NOT NULL, "
		       "PRIMARY KEY (id, stackDepth))");
	s->ins_event = report_prepare(r, "INSERT INTO COMPOSITE_EVENTS VALUES (?, ?, ?, 1, ?, 1)");
	s->ins_frame = report_prepare(r, "INSERT INTO SAMPLING_CALLCHAINS (id, symbol, module, "
					 "kernelMode, thumbCode, unresolved, specialEntry, "
					 "originalIP, unwindMethod, stackDepth) "
					 "VALUES (?, ?, ?, 0, 0, ?, NULL, ?, ?, ?)");
	s->have_samples = 1;
}

static void create_sched(struct report *r, struct sampling_state *s)
{
	report_exec(r, "CREATE TABLE SCHED_EVENTS (start INTEGER NOT NULL, cpu INTEGER NOT NULL, "
		       "isSchedIn INTEGER NOT NULL, globalTid INTEGER, threadState INTEGER, "
		       "threadBlock INTEGER)");
	s->ins_sched = report_prepare(r, "INSERT INTO SCHED_EVENTS VALUES (?, ?, ?, ?, ?, NULL)");
	s->have_sched = 1;
}

static int64_t conn_string_or(struct report *r, struct report_conn *c, uint32_t sid,
			      const char *fallback)
{
	int64_t id = sid ? report_conn_string(c, sid) : -1;

	return id >= 0 ? id : report_string(r, fallback, strlen(fallback));
}

static void frame_row(struct report *r, struct sampling_state *s, int64_t id, int64_t sym,
		      int64_t mod, int unresolved, const uint64_t *ip, int method, unsigned depth)
{
	sqlite3_stmt *st = s->ins_frame;

	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, sym);
	sqlite3_bind_int64(st, 3, mod);
	sqlite3_bind_int(st, 4, unresolved);
	if (ip)
		sqlite3_bind_int64(st, 5, (int64_t)*ip);
	else
		sqlite3_bind_null(st, 5);
	sqlite3_bind_int(st, 6, method);
	sqlite3_bind_int(st, 7, (int)depth);
	report_step(r, st);
}

static int handle_sample(struct report *r, struct report_conn *c, struct sampling_state *s,
			 const struct gp_rec_cpu_sample *e)
{
	int64_t id;
	unsigned i;

	if (e->nframes > GP_SAMPLE_FRAMES_MAX ||
	    e->h.size < sizeof(*e) + (size_t)e->nframes * sizeof(e->frames[0]) ||
	    !report_time_ok(r, e->time_ns) || !e->pid || e->unwind > GP_UNWIND_LBR)
		return report_count_bad_record(r);
	if (!s->have_samples)
		create_samples(r, s);
	id = s->next_id++;
	sqlite3_bind_int64(s->ins_event, 1, id);
	sqlite3_bind_int64(s->ins_event, 2, report_time(r, e->time_ns));
	sqlite3_bind_int64(s->ins_event, 3, e->cpu);
	sqlite3_bind_int64(s->ins_event, 4, report_global_tid(e->pid, e->h.tid));
	report_step(r, s->ins_event);
	for (i = 0; i < e->nframes; i++) {
		const struct gp_sample_frame *f = &e->frames[i];
		int64_t sym = f->symbol_sid ? report_conn_string(c, f->symbol_sid) : -1;
		int64_t mod = conn_string_or(r, c, f->module_sid, UNKNOWN_TEXT);

		if (sym < 0) {
			char buf[24];
			int n = snprintf(buf, sizeof(buf), "0x%" PRIx64, f->ip);

			sym = report_string(r, buf, (size_t)n);
		}
		frame_row(r, s, id, sym, mod, f->symbol_sid == 0, &f->ip, e->unwind, i);
	}
	if (e->flags & GP_SAMPLE_BROKEN) {
		int64_t b = report_string(r, BROKEN_TEXT, strlen(BROKEN_TEXT));

		frame_row(r, s, id, b, b, 0, NULL, GP_UNWIND_NONE, i);
	}
	return 0;
}

static int handle_sched(struct report *r, struct sampling_state *s, const struct gp_rec_sched *e)
{
	if (!report_time_ok(r, e->time_ns) || !e->pid || e->is_in > 1 || e->thread_state > 10)
		return report_count_bad_record(r);
	if (!s->have_sched)
		create_sched(r, s);
	sqlite3_bind_int64(s->ins_sched, 1, report_time(r, e->time_ns));
	sqlite3_bind_int64(s->ins_sched, 2, e->cpu);
	sqlite3_bind_int(s->ins_sched, 3, e->is_in);
	sqlite3_bind_int64(s->ins_sched, 4, report_global_tid(e->pid, e->h.tid));
	sqlite3_bind_int(s->ins_sched, 5, e->thread_state);
	report_step(r, s->ins_sched);
	return 0;
}

static void keep_max(uint64_t *a, uint64_t b)
{
	if (b > *a)
		*a = b;
}

static int sampling_handle(struct report *r, struct report_conn *c, const struct gp_rec_hdr *rec)
{
	struct sampling_state *s = *slot(r);

	switch (rec->type) {
	case GP_REC_CPU_SAMPLE:
		return handle_sample(r, c, s, (const struct gp_rec_cpu_sample *)rec);
	case GP_REC_SCHED:
		return handle_sched(r, s, (const struct gp_rec_sched *)rec);
	case GP_REC_SAMPLING_CONFIG: {
		const struct gp_rec_sampling_config *k = (const void *)rec;

		if (k->sample && !s->have_samples)
			create_samples(r, s);
		if (k->cpuctxsw && !s->have_sched)
			create_sched(r, s);
		return 0;
	}
	case GP_REC_SAMPLING_LOSS: {
		const struct gp_rec_sampling_loss *l = (const void *)rec;

		keep_max(&s->loss.samples, l->samples);
		keep_max(&s->loss.lost_samples, l->lost_samples);
		keep_max(&s->loss.unwind_failures, l->unwind_failures);
		keep_max(&s->loss.switches, l->switches);
		keep_max(&s->loss.sampler_cpu_ns, l->sampler_cpu_ns);
		keep_max(&s->loss.python_unread, l->python_unread);
		s->have_loss = 1;
		return 0;
	}
	default:
		return -1;
	}
}

static void sampling_release(struct report *r)
{
	struct sampling_state *s = *slot(r);

	if (!s)
		return;
	sqlite3_finalize(s->ins_event);
	sqlite3_finalize(s->ins_frame);
	sqlite3_finalize(s->ins_sched);
	free(s);
	*slot(r) = NULL;
}

static void meta_u64(struct report *r, const char *name, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	report_meta_export(r, name, buf);
}

static int sampling_finish(struct report *r)
{
	struct sampling_state *s = *slot(r);

	if (s && s->have_loss) {
		meta_u64(r, "GPROF_CPU_SAMPLES", s->loss.samples);
		meta_u64(r, "GPROF_LOST_CPU_SAMPLES", s->loss.lost_samples);
		meta_u64(r, "GPROF_CPU_UNWIND_FAILURES", s->loss.unwind_failures);
		meta_u64(r, "GPROF_SCHED_SWITCHES", s->loss.switches);
		meta_u64(r, "GPROF_SAMPLER_CPU_NS", s->loss.sampler_cpu_ns);
		meta_u64(r, "GPROF_PYTHON_FRAMES_UNREAD", s->loss.python_unread);
	}
	if (s && s->have_sched) /* the pitfalls doc's LEAD(start) OVER (PARTITION BY globalTid) */
		report_exec(r, "CREATE INDEX IF NOT EXISTS SCHED_EVENTS_TID ON SCHED_EVENTS "
			       "(globalTid, start)");
	sampling_release(r);
	return 0;
}

/* Capture ranges and sessions: a sample or a context switch goes to the window that holds
 * its time, none outside the windows (the sampler takes them whenever the application
 * runs, and stops its events between windows only at its next read: core/sampler.h). */
static int sampling_route(struct report_router *rt, uint32_t pid, const struct gp_rec_hdr *rec)
{
	(void)pid;
	if (rec->type == GP_REC_CPU_SAMPLE && rec->size >= sizeof(struct gp_rec_cpu_sample))
		return report_route_window_at(rt, ((const struct gp_rec_cpu_sample *)rec)->time_ns);
	if (rec->type == GP_REC_SCHED && rec->size >= sizeof(struct gp_rec_sched))
		return report_route_window_at(rt, ((const struct gp_rec_sched *)rec)->time_ns);
	return REPORT_ROUTE_DEFAULT;
}

const struct report_module report_module_sampling = {
    .name = "sampling",
    .first_type = 0x600,
    .last_type = 0x6ff,
    .create = sampling_create,
    .handle = sampling_handle,
    .conn_close = NULL,
    .finish = sampling_finish,
    .release = sampling_release,
    .route = sampling_route,
};
