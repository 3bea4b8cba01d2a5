/*
 * report_hostmem.c - the table module of the host memory collector (collectors/hostmem.c,
 * wire_hostmem.h; `gprof-cli profile --host-memory-usage=true`).  nsys traces no host
 * allocations, so these tables are ours (GPROF_*, man gprof-cli-profile "HOST MEMORY"); like
 * nsys's tables, each is created with its first row.  Times are report ns, sizes bytes,
 * addresses integers:
 *
 *   GPROF_HOST_MEMORY_EVENTS (start, globalTid, memoryOperationType, nameId, address,
 *       bytes, usableBytes, processBytes, callerAddress): one row per recorded call (a block
 *       of at least the threshold, or its free).  memoryOperationType as nsys's
 *       CUDA_GPU_MEMORY_USAGE_EVENTS (0 allocation, 1 deallocation); nameId the function
 *       (StringIds: malloc, realloc, mmap, ...); bytes what the alloc asked for (a free: its
 *       alloc's); usableBytes what the block counts in use; processBytes the process's bytes
 *       in use right after the call, exact (every call below the threshold included);
 *       callerAddress the interposed call's return address (not symbolized).
 *   GPROF_HOST_MEMORY_SAMPLES (start, globalPid, processBytes, peakBytes): the process's
 *       bytes in use over time, at most one row a millisecond.
 *   GPROF_HOST_MEMORY_THREADS (globalTid, allocs, frees, allocBytes, freeBytes, belowAllocs,
 *       belowFrees, belowAllocBytes, belowFreeBytes, currentBytes, peakBytes): each thread's
 *       exact totals at the process's exit; below* the calls under the threshold (not
 *       events); currentBytes allocated minus freed by the thread (negative when it freed
 *       what others allocated), peakBytes its maximum.
 *   GPROF_HOST_MEMORY_PROCESSES (globalPid, end, threshold, startBytes, currentBytes,
 *       peakBytes, peakTime, peakGlobalTid, threads, allocs, frees, allocBytes, freeBytes,
 *       belowAllocs, belowFrees, belowAllocBytes, belowFreeBytes, untrackedBlocks): the
 *       process's exact totals at its exit: peakBytes is the most bytes in use at once,
 *       peakTime when it was first reached and peakGlobalTid by which thread.
 *
 * Losses: events the producer could not buffer are counted with every other record
 * (GPROF_LOST_DROPPED_RECORDS); the totals rows are exact whatever was lost.
 */
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "util.h"

_Static_assert(sizeof(struct gp_rec_hostmem_event) == 64, "wire size");
_Static_assert(sizeof(struct gp_rec_hostmem_sample) == 32, "wire size");
_Static_assert(sizeof(struct gp_rec_hostmem_thread) == 96, "wire size");
_Static_assert(sizeof(struct gp_rec_hostmem_process) == 136, "wire size");

enum hm_table { T_EVENTS, T_SAMPLES, T_THREADS, T_PROCESSES, T_COUNT };

static const struct {
	const char *ddl, *insert;
} table_defs[T_COUNT] = {
    [T_EVENTS] = {"CREATE TABLE GPROF_HOST_MEMORY_EVENTS (start INTEGER NOT NULL,"
		  " globalTid INTEGER NOT NULL, memoryOperationType INTEGER NOT NULL,"
		  " nameId INTEGER NOT NULL, address INTEGER NOT NULL, bytes INTEGER NOT NULL,"
		  " usableBytes INTEGER NOT NULL, processBytes INTEGER NOT NULL,"
		  " callerAddress INTEGER)",
		  "INSERT INTO GPROF_HOST_MEMORY_EVENTS VALUES (?,?,?,?,?,?,?,?,?)"},
    [T_SAMPLES] = {"CREATE TABLE GPROF_HOST_MEMORY_SAMPLES (start INTEGER NOT NULL,"
		   " globalPid INTEGER NOT NULL, processBytes INTEGER NOT NULL,"
		   " peakBytes INTEGER NOT NULL)",
		   "INSERT INTO GPROF_HOST_MEMORY_SAMPLES VALUES (?,?,?,?)"},
    [T_THREADS] = {"CREATE TABLE GPROF_HOST_MEMORY_THREADS (globalTid INTEGER NOT NULL,"
		   " allocs INTEGER NOT NULL, frees INTEGER NOT NULL, allocBytes INTEGER NOT NULL,"
		   " freeBytes INTEGER NOT NULL, belowAllocs INTEGER NOT NULL,"
		   " belowFrees INTEGER NOT NULL, belowAllocBytes INTEGER NOT NULL,"
		   " belowFreeBytes INTEGER NOT NULL, currentBytes INTEGER NOT NULL,"
		   " peakBytes INTEGER NOT NULL)",
		   "INSERT INTO GPROF_HOST_MEMORY_THREADS VALUES (?,?,?,?,?,?,?,?,?,?,?)"},
    [T_PROCESSES] = {"CREATE TABLE GPROF_HOST_MEMORY_PROCESSES (globalPid INTEGER NOT NULL,"
		     " end INTEGER NOT NULL, threshold INTEGER NOT NULL,"
		     " startBytes INTEGER NOT NULL, currentBytes INTEGER NOT NULL,"
		     " peakBytes INTEGER NOT NULL, peakTime INTEGER, peakGlobalTid INTEGER,"
		     " threads INTEGER NOT NULL, allocs INTEGER NOT NULL, frees INTEGER NOT NULL,"
		     " allocBytes INTEGER NOT NULL, freeBytes INTEGER NOT NULL,"
		     " belowAllocs INTEGER NOT NULL, belowFrees INTEGER NOT NULL,"
		     " belowAllocBytes INTEGER NOT NULL, belowFreeBytes INTEGER NOT NULL,"
		     " untrackedBlocks INTEGER NOT NULL)",
		     "INSERT INTO GPROF_HOST_MEMORY_PROCESSES VALUES "
		     "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"},
};

struct hm_state {
	sqlite3_stmt *stmts[T_COUNT];
	int64_t names[GP_HOSTMEM_FN_COUNT]; /* StringIds of the function names, 0 = not yet */
};

static struct hm_state *hm_state(struct report *r)
{
	void **slot = report_module_state(r, REPORT_MOD_HOSTMEM);

	if (!*slot)
		*slot = xcalloc(1, sizeof(struct hm_state));
	return *slot;
}

/* The insert statement of table t, creating the table with its first row. */
static sqlite3_stmt *hm_stmt(struct report *r, enum hm_table t)
{
	struct hm_state *s = hm_state(r);

	if (!s->stmts[t]) {
		if (report_exec(r, table_defs[t].ddl) < 0)
			return NULL;
		s->stmts[t] = report_prepare(r, table_defs[t].insert);
	}
	return s->stmts[t];
}

static int hm_create(struct report *r)
{
	(void)r;
	return 0;
}

/* Bind the counts as (all, below the threshold) columns from position i. */
static int bind_counts(sqlite3_stmt *st, int i, const struct gp_hostmem_counts *n)
{
	sqlite3_bind_int64(st, i++, (int64_t)n->allocs);
	sqlite3_bind_int64(st, i++, (int64_t)n->frees);
	sqlite3_bind_int64(st, i++, (int64_t)n->alloc_bytes);
	sqlite3_bind_int64(st, i++, (int64_t)n->free_bytes);
	sqlite3_bind_int64(st, i++, (int64_t)(n->allocs - n->rec_allocs));
	sqlite3_bind_int64(st, i++, (int64_t)(n->frees - n->rec_frees));
	sqlite3_bind_int64(st, i++, (int64_t)(n->alloc_bytes - n->rec_alloc_bytes));
	sqlite3_bind_int64(st, i++, (int64_t)(n->free_bytes - n->rec_free_bytes));
	return i;
}

static int counts_ok(const struct gp_hostmem_counts *n)
{
	return n->rec_allocs <= n->allocs && n->rec_frees <= n->frees &&
	       n->rec_alloc_bytes <= n->alloc_bytes && n->rec_free_bytes <= n->free_bytes &&
	       n->allocs <= INT64_MAX && n->frees <= INT64_MAX && n->alloc_bytes <= INT64_MAX &&
	       n->free_bytes <= INT64_MAX;
}

static int hm_event(struct report *r, struct report_conn *c, const struct gp_rec_hdr *rec)
{
	const struct gp_rec_hostmem_event *e = (const void *)rec;
	struct hm_state *s = hm_state(r);
	sqlite3_stmt *st;

	if (rec->size < sizeof(*e))
		return -1;
	if (!report_time_ok(r, e->ts_ns) || e->op > GP_HOSTMEM_OP_FREE ||
	    e->fn >= GP_HOSTMEM_FN_COUNT || e->addr > INT64_MAX || e->size > INT64_MAX ||
	    e->usable > INT64_MAX || e->caller > INT64_MAX)
		return report_count_bad_record(r);
	if (!s->names[e->fn]) {
		const char *nm = gp_hostmem_fn_name(e->fn);
		s->names[e->fn] = report_string(r, nm, strlen(nm));
	}
	if (!(st = hm_stmt(r, T_EVENTS)))
		return 0;
	sqlite3_bind_int64(st, 1, report_time(r, e->ts_ns));
	sqlite3_bind_int64(st, 2, report_global_tid(report_conn_pid(c), e->h.tid));
	sqlite3_bind_int64(st, 3, e->op);
	sqlite3_bind_int64(st, 4, s->names[e->fn]);
	sqlite3_bind_int64(st, 5, (int64_t)e->addr);
	sqlite3_bind_int64(st, 6, (int64_t)e->size);
	sqlite3_bind_int64(st, 7, (int64_t)e->usable);
	sqlite3_bind_int64(st, 8, e->process_bytes);
	if (e->caller)
		sqlite3_bind_int64(st, 9, (int64_t)e->caller);
	else
		sqlite3_bind_null(st, 9);
	report_step(r, st);
	return 0;
}

static int hm_handle(struct report *r, struct report_conn *c, const struct gp_rec_hdr *rec)
{
	uint32_t pid = report_conn_pid(c);
	sqlite3_stmt *st;

	switch (rec->type) {
	case GP_REC_HOSTMEM_EVENT:
		return hm_event(r, c, rec);
	case GP_REC_HOSTMEM_SAMPLE: {
		const struct gp_rec_hostmem_sample *m = (const void *)rec;

		if (rec->size < sizeof(*m))
			return -1;
		if (!report_time_ok(r, m->ts_ns))
			return report_count_bad_record(r);
		if (!(st = hm_stmt(r, T_SAMPLES)))
			return 0;
		sqlite3_bind_int64(st, 1, report_time(r, m->ts_ns));
		sqlite3_bind_int64(st, 2, report_global_pid(pid));
		sqlite3_bind_int64(st, 3, m->process_bytes);
		sqlite3_bind_int64(st, 4, m->peak_bytes);
		report_step(r, st);
		return 0;
	}
	case GP_REC_HOSTMEM_THREAD: {
		const struct gp_rec_hostmem_thread *t = (const void *)rec;

		if (rec->size < sizeof(*t))
			return -1;
		if (!counts_ok(&t->n))
			return report_count_bad_record(r);
		if (!(st = hm_stmt(r, T_THREADS)))
			return 0;
		sqlite3_bind_int64(st, 1, report_global_tid(pid, t->tid));
		int i = bind_counts(st, 2, &t->n);
		sqlite3_bind_int64(st, i++, t->current);
		sqlite3_bind_int64(st, i, t->peak);
		report_step_state(r, st);
		return 0;
	}
	case GP_REC_HOSTMEM_PROCESS: {
		const struct gp_rec_hostmem_process *p = (const void *)rec;

		if (rec->size < sizeof(*p))
			return -1;
		if (!report_time_ok(r, p->ts_ns) || !counts_ok(&p->n) ||
		    (p->peak_ns && !report_time_ok(r, p->peak_ns)) || p->threshold > INT64_MAX ||
		    p->start_bytes > INT64_MAX || p->untracked > INT64_MAX)
			return report_count_bad_record(r);
		if (!(st = hm_stmt(r, T_PROCESSES)))
			return 0;
		sqlite3_bind_int64(st, 1, report_global_pid(pid));
		sqlite3_bind_int64(st, 2, report_time(r, p->ts_ns));
		sqlite3_bind_int64(st, 3, (int64_t)p->threshold);
		sqlite3_bind_int64(st, 4, (int64_t)p->start_bytes);
		sqlite3_bind_int64(st, 5, p->current);
		sqlite3_bind_int64(st, 6, p->peak);
		if (p->peak_ns) {
			sqlite3_bind_int64(st, 7, report_time(r, p->peak_ns));
			sqlite3_bind_int64(st, 8, report_global_tid(pid, p->peak_tid));
		} else {
			sqlite3_bind_null(st, 7);
			sqlite3_bind_null(st, 8);
		}
		sqlite3_bind_int64(st, 9, p->threads);
		int i = bind_counts(st, 10, &p->n);
		sqlite3_bind_int64(st, i, (int64_t)p->untracked);
		report_step_state(r, st);
		return 0;
	}
	}
	return -1;
}

static void hm_release(struct report *r)
{
	void **slot = report_module_state(r, REPORT_MOD_HOSTMEM);
	struct hm_state *s = *slot;

	if (!s)
		return;
	for (int i = 0; i < T_COUNT; i++)
		sqlite3_finalize(s->stmts[i]);
	free(s);
	*slot = NULL;
}

static int hm_finish(struct report *r)
{
	hm_release(r);
	return 0;
}

const struct report_module report_module_hostmem = {
    .name = "hostmem",
    .first_type = 0x700,
    .last_type = 0x7ff,
    .create = hm_create,
    .handle = hm_handle,
    .conn_close = NULL,
    .finish = hm_finish,
    .release = hm_release,
};
