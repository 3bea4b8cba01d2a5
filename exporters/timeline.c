/*
 * timeline.c - the event walk of the timeline export (timeline.h): reads each report with
 * one streaming query per table, ordered by start time (in storage order when that is
 * time order already: "ordered sources" below), filters, and hands tracks and events to
 * the Perfetto or the JSON writer.
 *
 * Sources, in this order for each report (each a "pass": the writer may close what is
 * open on its tracks at the end of one):
 *   NVTX_EVENTS             push/pop ranges -> "NVTX" row of the thread (nested slices),
 *                           start/end ranges -> "NVTX start/end" row (may overlap),
 *                           marks -> instants on "NVTX"; category = the domain's name
 *   CUPTI_ACTIVITY_KIND_RUNTIME -> "CUDA API" row; a flow starts at each call with GPU work
 *   KERNEL, MEMCPY, MEMSET, GRAPH_TRACE -> "CUDA HW (device N) / Stream M" of the process;
 *                           the flow from the call with the same correlationId ends there
 *                           (the four tables merged by start time, with a second read of
 *                           the API calls in step: no join, no IN list)
 *   OSRT_API                -> "OS runtime libraries" row
 *   MPI_*_EVENTS            -> "MPI" row
 *   CUDA_GPU_MEMORY_USAGE_EVENTS -> counter "CUDA memory usage (device N)" of the process
 *   GPROF_HOST_MEMORY_EVENTS, _SAMPLES (--host-memory-usage) -> counter "Host memory in use"
 *                           of the process (processBytes: exact at each recorded call)
 *   GPU_METRICS             -> counters "GPU metrics (<type>): <metric>"
 * Tables a report lacks are skipped.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/nsys_event_type.h"
#include "core/util.h"
#include "exporters/export.h"
#include "exporters/report_open.h"
#include "exporters/stats.h"
#include "exporters/stats/cuda_common.h"
#include "exporters/timeline.h"
#include "exporters/timeline_rows.h"

/* ---- a small map: 64-bit key -> pointer --------------------------------------------- */

struct map {
	uint64_t *keys;
	void **vals;
	unsigned char *used;
	size_t cap, n;
};

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

static void **map_slot(struct map *m, uint64_t key, int create)
{
	size_t i;

	if (!m->cap) {
		if (!create)
			return NULL;
		m->cap = 64;
		m->keys = xcalloc(m->cap, sizeof(*m->keys));
		m->vals = xcalloc(m->cap, sizeof(*m->vals));
		m->used = xcalloc(m->cap, 1);
	}
	for (i = mix64(key) & (m->cap - 1); m->used[i]; i = (i + 1) & (m->cap - 1))
		if (m->keys[i] == key)
			return &m->vals[i];
	if (!create)
		return NULL;
	if (2 * (m->n + 1) > m->cap) {
		struct map g = {0};

		g.cap = 2 * m->cap;
		g.keys = xcalloc(g.cap, sizeof(*g.keys));
		g.vals = xcalloc(g.cap, sizeof(*g.vals));
		g.used = xcalloc(g.cap, 1);
		for (size_t k = 0; k < m->cap; k++)
			if (m->used[k])
				*map_slot(&g, m->keys[k], 1) = m->vals[k];
		free(m->keys);
		free(m->vals);
		free(m->used);
		*m = g;
		return map_slot(m, key, 1);
	}
	m->used[i] = 1;
	m->keys[i] = key;
	m->vals[i] = NULL;
	m->n++;
	return &m->vals[i];
}

static void *map_get(struct map *m, uint64_t key)
{
	void **v = map_slot(m, key, 0);
	return v ? *v : NULL;
}

/* Remove key from m (linear probing: the entries after it move back to where a lookup
 * finds them); its value is the caller's. */
static void map_del(struct map *m, uint64_t key)
{
	size_t mask = m->cap - 1, i, j;

	if (!m->cap)
		return;
	for (i = mix64(key) & mask; m->used[i] && m->keys[i] != key; i = (i + 1) & mask)
		;
	if (!m->used[i])
		return;
	m->used[i] = 0;
	m->n--;
	for (j = (i + 1) & mask; m->used[j]; j = (j + 1) & mask) {
		size_t home = mix64(m->keys[j]) & mask;

		/* the entry at j stays when its home lies cyclically in (i, j] */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		m->keys[i] = m->keys[j];
		m->vals[i] = m->vals[j];
		m->used[i] = 1;
		m->used[j] = 0;
		i = j;
	}
}

static void map_free(struct map *m, void (*fn)(void *))
{
	for (size_t i = 0; fn && i < m->cap; i++)
		if (m->used[i])
			fn(m->vals[i]);
	free(m->keys);
	free(m->vals);
	free(m->used);
	memset(m, 0, sizeof(*m));
}

/* ---- the walk's state ------------------------------------------------------------------- */

enum row { ROW_NVTX, ROW_NVTX_SE, ROW_CUDA_API, ROW_OSRT, ROW_MPI, ROW_COUNT };

static const char *const row_names[ROW_COUNT] = {
    [ROW_NVTX] = "NVTX",	 [ROW_NVTX_SE] = "NVTX start/end",
    [ROW_CUDA_API] = "CUDA API", [ROW_OSRT] = "OS runtime libraries",
    [ROW_MPI] = "MPI",
};

enum key_kind { K_PROCESS = 1, K_THREAD, K_ROW, K_GPU, K_MEMORY, K_METRIC, K_HOSTMEM };

/* One report of the trace. */
struct rep {
	sqlite3 *db;
	const char *path;
	int index;
	int64_t off;	  /* add to the report's timestamps: the common base */
	struct map procs; /* pid -> PROCESSES.name (heap) */
	struct map thrds; /* globalTid -> thread name (heap) */
	struct map ranks; /* pid -> MPI rank + 1 (as a pointer-sized integer) */
	struct map doms;  /* NVTX domainId -> name (heap) */
	int doms_loaded;  /* doms holds every domain of the report */
	struct {	  /* whether the rows of a table are in time order (ordered_rows()) */
		const char *table, *where;
		int o;
	} order[16];
	int norder;
	int64_t ncut; /* CPU samples whose stacks were cut (said once the trace is written) */
};

struct window {
	int64_t s, e;
};

/*
 * The CUDA API calls of one report that have GPU work, for the flows (pass_cuda_api,
 * pass_gpu): one byte per (process, correlationId), in pages of 65536 correlationIds
 * allocated when one of them is used (CUPTI numbers a process's API calls 1, 2, ... so
 * the pages are dense: about 1 byte per API call, against the report's ~53 bytes per
 * event).  Bits 0-6: the number of GPU operations (KERNEL, MEMCPY, MEMSET, GRAPH_TRACE
 * rows) with that correlationId, CORR_MANY when 127 or more; bit 7 (CORR_API): the API
 * call is in the report.
 */
#define CORR_MANY 0x7f
#define CORR_API  0x80

struct corr_counts {
	struct map pages; /* (pid << 16 | correlationId >> 16) -> unsigned char[65536] */
	uint64_t last_key;
	unsigned char *last; /* the page of last_key */
};

/* An API call with GPU work still to come, while pass_gpu walks the GPU operations (the
 * map holds those whose call started and whose operations have not all started: the
 * GPU's queue, not the report). */
struct inflight {
	struct tl_track *track; /* the call's "CUDA API" row, NULL when a filter drops it */
	int64_t ts, dur;	/* the call, on the common base */
	int left;		/* its GPU operations not seen yet; -1 = CORR_MANY (kept) */
	struct inflight *next;	/* in the free list */
};

struct walk {
	const struct timeline_opts *o;
	struct tl_sink *sink;
	struct rep *reps;
	size_t nreps;
	struct map tracks[8]; /* by key_kind: key -> struct tl_track */
	uint64_t next_uuid;
	uint64_t ntracks; /* handed to the sink */
	uint64_t next_flow;
	/* flow ids already ended at a GPU operation: the next operations of the same call
	 * (the nodes of a graph launch) end none (direct-mapped; a collision only costs a
	 * terminating id Perfetto ignores) */
	uint64_t ended[4096];
	int64_t win_start, win_end; /* --start/--end on the common base */
	struct window *wins;	    /* --nvtx windows, sorted, disjoint */
	size_t nwins;
	int nvtx_filter;
	int status;		 /* first failure (enum gp_exit) */
	uint64_t skipped;	 /* events dropped by the filters */
	struct corr_counts corr; /* of the report being walked */
	int api_marked;		 /* corr has CORR_API (mark_calls()) */
	struct map inflight;	 /* (pid << 32 | correlationId) -> struct inflight */
	struct inflight *free_inflight;
	/* Optimistic reads (ordered_rows()): a table whose order is not known yet is read in
	 * rowid order, checked as it goes (tl_rows_verify()), with no scan of its order
	 * first; the first row out of order sets restart (and status, which stops the walk),
	 * and timeline_export() writes the trace again, with the order scans.  Only when
	 * the output is a file of ours, which can be emptied. */
	int optimistic, restart;
	struct { /* the optimistic reads open, to remember their tables' order */
		struct tl_rows *rs;
		struct rep *r;
		const char *table, *where;
	} verifying[8];
};

/* ---- tracks ----------------------------------------------------------------------------- */

static int32_t out_pid(const struct walk *w, const struct rep *r, int64_t pid)
{
	return w->nreps > 1 ? (int32_t)(((int64_t)(r->index + 1) << 22) | (pid & 0x3fffff))
			    : (int32_t)pid;
}

static int64_t out_tid(const struct walk *w, const struct rep *r, int64_t tid)
{
	return w->nreps > 1 ? ((int64_t)(r->index + 1) << 22) | (tid & 0x3fffff) : tid;
}

/* Hand t (and its parents first) to the sink once. */
static void emit_track(struct walk *w, struct tl_track *t)
{
	if (t->emitted)
		return;
	if (t->parent)
		emit_track(w, t->parent);
	t->emitted = 1;
	w->ntracks++;
	if (w->sink->track(w->sink, t) < 0 && !w->status)
		w->status = GP_EXIT_OUTPUT;
}

static struct tl_track *new_track(struct walk *w, enum key_kind kind, uint64_t key,
				  enum tl_track_kind tk, struct tl_track *parent, char *name)
{
	struct tl_track *t = xcalloc(1, sizeof(*t));

	t->uuid = w->next_uuid++;
	t->kind = tk;
	t->parent = parent;
	t->name = name;
	if (parent) {
		t->pid = parent->pid;
		t->tid = parent->tid;
	}
	*map_slot(&w->tracks[kind], key, 1) = t;
	return t;
}

static uint64_t rkey(const struct rep *r, uint64_t a)
{
	return ((uint64_t)r->index << 48) ^ a;
}

static struct tl_track *process_track(struct walk *w, struct rep *r, int64_t pid)
{
	uint64_t key = rkey(r, (uint64_t)pid & 0xffffff);
	struct tl_track *t = map_get(&w->tracks[K_PROCESS], key);
	const char *pname;
	uintptr_t rank;
	char *name;

	if (t)
		return t;
	pname = map_get(&r->procs, (uint64_t)pid);
	rank = (uintptr_t)map_get(&r->ranks, (uint64_t)pid);
	if (w->nreps > 1 && rank)
		name = xasprintf("%s [rank %u]", pname ? pname : "process", (unsigned)(rank - 1));
	else if (w->nreps > 1)
		name = xasprintf("%s [%s]", pname ? pname : "process", r->path);
	else if (rank)
		name = xasprintf("%s [rank %u]", pname ? pname : "process", (unsigned)(rank - 1));
	else
		name = xstrdup(pname ? pname : "process");
	t = new_track(w, K_PROCESS, key, TL_TRACK_PROCESS, NULL, name);
	t->pid = out_pid(w, r, pid);
	t->sort_index = rank ? (int)rank : r->index * 1000 + 1000000;
	return t;
}

static struct tl_track *thread_track(struct walk *w, struct rep *r, int64_t gtid)
{
	uint64_t key = rkey(r, (uint64_t)gtid & 0xffffffffffffULL);
	struct tl_track *t = map_get(&w->tracks[K_THREAD], key);
	int64_t pid = (gtid >> 24) & 0xffffff, tid = gtid & 0xffffff;
	struct tl_track *p;
	const char *tname;

	if (t)
		return t;
	p = process_track(w, r, pid);
	tname = map_get(&r->thrds, (uint64_t)gtid);
	t = new_track(w, K_THREAD, key, TL_TRACK_THREAD, p,
		      tname	   ? xstrdup(tname)
		      : tid == pid ? xstrdup(p->name)
				   : xasprintf("Thread %" PRId64, tid));
	t->tid = out_tid(w, r, tid);
	t->sort_index = tid == pid ? 0 : 1;
	return t;
}

static struct tl_track *row_track(struct walk *w, struct rep *r, int64_t gtid, enum row row)
{
	uint64_t key = rkey(r, ((uint64_t)gtid & 0xffffffffffffULL) | ((uint64_t)row << 40));
	struct tl_track *t = map_get(&w->tracks[K_ROW], key);

	if (t)
		return t;
	t = new_track(w, K_ROW, key, TL_TRACK_ROW, thread_track(w, r, gtid),
		      xstrdup(row_names[row]));
	t->sort_index = (int)row;
	return t;
}

static struct tl_track *gpu_track(struct walk *w, struct rep *r, int64_t pid, int64_t dev,
				  int64_t stream)
{
	uint64_t key =
	    rkey(r, mix64(((uint64_t)pid << 40) ^ ((uint64_t)dev << 32) ^ (uint64_t)stream));
	struct tl_track *t = map_get(&w->tracks[K_GPU], key);

	if (t)
		return t;
	t = new_track(w, K_GPU, key, TL_TRACK_ROW, process_track(w, r, pid),
		      xasprintf("CUDA HW (device %" PRId64 ") / Stream %" PRId64, dev, stream));
	t->sort_index = 100 + (int)(dev & 0xff);
	return t;
}

static void free_track(void *p)
{
	struct tl_track *t = p;

	free(t->name);
	free(t);
}

/* ---- filters ------------------------------------------------------------------------------ */

static int pid_ok(const struct walk *w, int64_t pid)
{
	for (size_t i = 0; i < w->o->npids; i++)
		if (w->o->pids[i] == pid)
			return 1;
	return !w->o->npids;
}

/* Keep an event of process pid over [ts, end] (common base) named name? */
static int keep(struct walk *w, int64_t pid, int64_t ts, int64_t end, const char *name)
{
	const struct timeline_opts *o = w->o;

	if (end < ts)
		end = ts;
	if (end < w->win_start || ts > w->win_end)
		goto drop;
	if (!pid_ok(w, pid))
		goto drop;
	if (w->nvtx_filter) {
		size_t lo = 0, hi = w->nwins; /* first window ending at or after ts */

		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (w->wins[mid].e < ts)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == w->nwins || w->wins[lo].s > end)
			goto drop;
	}
	if (o->name_re && regexec(o->name_re, name ? name : "", 0, NULL, 0) != 0)
		goto drop;
	return 1;
drop:
	w->skipped++;
	return 0;
}

/* ---- reading ------------------------------------------------------------------------------ */

static sqlite3_stmt *prepare(struct walk *w, struct rep *r, const char *sql)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK) {
		int damaged = report_db_damaged(r->db);

		error("cannot read report '%s': %s", r->path, sqlite3_errmsg(r->db));
		if (damaged)
			report_hint_damaged(r->db);
		if (!w->status)
			w->status = damaged ? GP_EXIT_BAD_INPUT : GP_EXIT_ERROR;
		return NULL;
	}
	return st;
}

/* A read of r failed with rc (an SQLite code): say so, once; msg: what failed when it
 * was not SQLite (the sort's temporary file), else NULL. */
static void read_failed(struct walk *w, struct rep *r, const char *msg)
{
	int damaged = !msg && report_db_damaged(r->db);

	if (w->status)
		return;
	error("cannot read report '%s': %s", r->path, msg ? msg : sqlite3_errmsg(r->db));
	if (damaged)
		report_hint_damaged(r->db);
	else if (msg)
		hint("set TMPDIR to a folder with free space for the sort of a table out of time "
		     "order");
	w->status = damaged ? GP_EXIT_BAD_INPUT : GP_EXIT_ERROR;
}

/* After the last sqlite3_step(): rc must be SQLITE_DONE. */
static void finish(struct walk *w, struct rep *r, sqlite3_stmt *st, int rc)
{
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		read_failed(w, r, NULL);
	sqlite3_finalize(st);
}

static void order_memo(struct rep *r, const char *table, const char *where, int o);

/* The optimistic read rs (w->verifying) is over: when o >= 0, its table is (1) or is not
 * (0) in time order. */
static void verified(struct walk *w, struct tl_rows *rs, int o)
{
	for (size_t i = 0; i < sizeof(w->verifying) / sizeof(w->verifying[0]); i++) {
		if (w->verifying[i].rs != rs)
			continue;
		if (o >= 0)
			order_memo(w->verifying[i].r, w->verifying[i].table, w->verifying[i].where,
				   o);
		w->verifying[i].rs = NULL;
	}
}

/* The same for a source of rows (ordered_rows()). */
static void finish_rows(struct walk *w, struct rep *r, struct tl_rows *rs, int rc)
{
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		read_failed(w, r, rs->errmsg[0] ? rs->errmsg : NULL);
	verified(w, rs, rs->verified ? 1 : -1);
	tl_rows_close(rs);
}

/* tl_rows_step() for the walk: the first row out of order of an optimistic read stops the
 * walk, to start again (struct walk); that is not an error (SQLITE_DONE). */
static int rows_step(struct walk *w, struct tl_rows *rs)
{
	int rc = tl_rows_step(rs);

	if (rc != TL_ROWS_UNORDERED)
		return rc;
	verified(w, rs, 0);
	if (!w->status) {
		w->restart = 1;
		w->status = GP_EXIT_ERROR;
	}
	return SQLITE_DONE;
}

static int has(struct rep *r, const char *table)
{
	return stats_table_exists(r->db, table);
}

static const char *sq_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

static int64_t sq_int(sqlite3_stmt *st, int i)
{
	return sqlite3_column_int64(st, i);
}

static int sq_null(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL;
}

/* The same on the current row of a source of rows (ordered_rows()). */
static const char *col_text(struct tl_rows *rs, int i)
{
	return tl_rows_text(rs, i);
}

static int64_t col_int(struct tl_rows *rs, int i)
{
	return tl_rows_int(rs, i);
}

static int col_null(struct tl_rows *rs, int i)
{
	return tl_rows_type(rs, i) == SQLITE_NULL;
}

/* Load "SELECT key, text" rows into m (text copied). */
static void load_names(struct walk *w, struct rep *r, struct map *m, const char *sql)
{
	sqlite3_stmt *st = prepare(w, r, sql);
	int rc;

	if (!st)
		return;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *s = sq_text(st, 1);
		void **v;

		if (!s)
			continue;
		v = map_slot(m, (uint64_t)sq_int(st, 0), 1);
		free(*v);
		*v = xstrdup(s);
	}
	finish(w, r, st, rc);
}

/* ---- ordered sources ------------------------------------------------------------------
 * Every pass reads its rows by (start ASC, end DESC).  Sorting a table is most of the
 * cost of a read (SQLite's sorter copies the whole row, strings included), and many
 * tables hold their rows in that order already (nsys's exports: every table of the
 * fixture; gprof-cli's recorder for one thread or one stream, but it writes an NVTX
 * push/pop range at its pop, after the ranges nested in it): one scan of (start, end) in
 * rowid order, without a sort, tells, and the pass then reads in rowid order (free on a
 * rowid table).  Otherwise it sorts, with the rowid breaking ties so that both ways give
 * the same order.  When the trace goes to a file of ours, that scan is skipped: the pass
 * reads in rowid order at once and checks the order as it goes; a row out of order (a
 * table not in order: found at its first rows, as a rule) empties the file and the export
 * starts again, this time with the scans (struct walk, timeline_export()).  The scans were
 * a third of the export of a report in order (bench_timeline: 3 of the 6 reads of its
 * rows, with the flows' scan of the API calls). */

/* (start, end) of consecutive rows, in (start ASC, end DESC) order so far? */
struct order_check {
	int64_t ps, pe;
	int ok;
};

#define ORDER_CHECK_INIT                                                                           \
	{                                                                                          \
		INT64_MIN, INT64_MAX, 1                                                            \
	}

/* Take the row of st whose start and end are columns is and ie (ie < 0: one key).  The
 * columns are read as values (one API call each; the value's type and integer are then
 * plain reads): these scans read every row of the large tables. */
static void order_feed(struct order_check *c, sqlite3_stmt *st, int is, int ie)
{
	sqlite3_value *vs = sqlite3_column_value(st, is);
	sqlite3_value *ve = ie < 0 ? NULL : sqlite3_column_value(st, ie);
	int ts = sqlite3_value_type(vs), te = ve ? sqlite3_value_type(ve) : SQLITE_NULL;
	/* as SQLite orders them: NULL before any number */
	int64_t s = ts == SQLITE_NULL ? INT64_MIN : sqlite3_value_int64(vs);
	int64_t e = te == SQLITE_NULL ? INT64_MIN : sqlite3_value_int64(ve);

	if ((ts != SQLITE_INTEGER && ts != SQLITE_NULL) ||
	    (te != SQLITE_INTEGER && te != SQLITE_NULL))
		c->ok = 0; /* a real or a text: leave the comparisons to SQLite */
	else if (s < c->ps || (s == c->ps && e > c->pe))
		c->ok = 0;
	c->ps = s;
	c->pe = e;
}

/* Remember rowid_ordered()'s answer o for table (and where) of r. */
static void order_memo(struct rep *r, const char *table, const char *where, int o)
{
	if (r->norder < (int)(sizeof(r->order) / sizeof(r->order[0]))) {
		r->order[r->norder].table = table;
		r->order[r->norder].where = where;
		r->order[r->norder++].o = o;
	}
}

/* 1 when the rows of table (as alias a; those where where, or all when NULL) in rowid
 * order are in (start ASC, end DESC) order (end NULL: one key); 0 when not; -1 when the
 * table has no rowid (or cannot be read: the pass's own query reports that). */
static int rowid_ordered(struct rep *r, const char *table, const char *a, const char *start,
			 const char *end, const char *where)
{
	struct strbuf sql = STRBUF_INIT;
	struct order_check c = ORDER_CHECK_INIT;
	sqlite3_stmt *st;
	int rc;

	strbuf_addf(&sql, "SELECT %s.%s, %s%s%s FROM %s %s%s%s ORDER BY %s.rowid", a, start,
		    end ? a : "", end ? "." : "", end ? end : "NULL", table, a,
		    where ? " WHERE " : "", where ? where : "", a);
	rc = sqlite3_prepare_v2(r->db, sql.buf, -1, &st, NULL);
	strbuf_release(&sql);
	if (rc != SQLITE_OK)
		return -1;
	while (c.ok && (rc = sqlite3_step(st)) == SQLITE_ROW)
		order_feed(&c, st, 0, 1);
	sqlite3_finalize(st);
	return c.ok && rc == SQLITE_DONE;
}

/* rowid_ordered()'s answer for table (and where) of r when known, else -2. */
static int order_known(const struct rep *r, const char *table, const char *where)
{
	for (int i = 0; i < r->norder; i++)
		if (!strcmp(r->order[i].table, table) && r->order[i].where == where)
			return r->order[i].o;
	return -2;
}

/* Open rs on the rows of "SELECT <cols> FROM <from>" in (start ASC, end DESC) order:
 * table (alias a in from; of its rows, those where `where`, or all when NULL, are to be in
 * order: from may hold more, which the caller skips) read in rowid order when
 * rowid_ordered() says it is in that order; else read in storage order and sorted in C
 * (timeline_rows.h), start and end being columns start_col and end_col (-1: no end) of
 * cols; SQLite sorts when the table has no rowid or its times are not integers.  An
 * optimistic walk reads a table whose order is not known yet in rowid order, checked as
 * it goes (every row of from), instead of that scan (struct walk).  Returns 0, or -1 when
 * nothing can be read (said, w->status set). */
static int ordered_rows(struct walk *w, struct rep *r, struct tl_rows *rs, const char *cols,
			const char *from, const char *table, const char *a, const char *start,
			const char *end, const char *where, int start_col, int end_col)
{
	struct strbuf sql = STRBUF_INIT;
	sqlite3_stmt *st;
	int o = order_known(r, table, where), rc;

	if (o == -2 && w->optimistic) {
		strbuf_addf(&sql, "SELECT %s FROM %s ORDER BY %s.rowid", cols, from, a);
		rc = sqlite3_prepare_v2(r->db, sql.buf, -1, &st, NULL);
		strbuf_release(&sql);
		if (rc == SQLITE_OK) {
			if (tl_rows_direct(rs, st) != SQLITE_OK) {
				read_failed(w, r, rs->errmsg);
				tl_rows_close(rs);
				return -1;
			}
			tl_rows_verify(rs, start_col, end_col);
			for (size_t i = 0; i < sizeof(w->verifying) / sizeof(w->verifying[0]); i++)
				if (!w->verifying[i].rs) {
					w->verifying[i].rs = rs;
					w->verifying[i].r = r;
					w->verifying[i].table = table;
					w->verifying[i].where = where;
					break;
				}
			return 0;
		}
		/* no rowid (or an error, which the query below says) */
	}
	if (o == -2) {
		o = rowid_ordered(r, table, a, start, end, where);
		order_memo(r, table, where, o);
	}
	if (o == 0) { /* storage order, the rowid last, sorted here */
		strbuf_addf(&sql, "SELECT %s, %s.rowid FROM %s", cols, a, from);
		st = prepare(w, r, sql.buf);
		strbuf_release(&sql);
		if (!st)
			return -1;
		rc = tl_rows_sort(rs, st, start_col, end_col);
		if (rc == SQLITE_OK)
			return 0;
		if (rc != TL_ROWS_FALLBACK) {
			read_failed(w, r, rs->errmsg[0] ? rs->errmsg : NULL);
			tl_rows_close(rs);
			return -1;
		}
		tl_rows_close(rs);
	}
	strbuf_addf(&sql, "SELECT %s FROM %s", cols, from);
	if (o == 1) {
		strbuf_addf(&sql, " ORDER BY %s.rowid", a);
	} else {
		strbuf_addf(&sql, " ORDER BY %s.%s", a, start);
		if (end)
			strbuf_addf(&sql, ", %s.%s DESC", a, end);
		if (o == 0)
			strbuf_addf(&sql, ", %s.rowid", a);
	}
	st = prepare(w, r, sql.buf);
	strbuf_release(&sql);
	if (!st)
		return -1;
	if (tl_rows_direct(rs, st) != SQLITE_OK) {
		read_failed(w, r, rs->errmsg);
		tl_rows_close(rs);
		return -1;
	}
	return 0;
}

/* e zeroed but for its arguments (written as nargs grows; zeroing the TL_MAX_ARGS of them
 * for every row was 1.5 % of an export), of type and category cat. */
static inline void event_init(struct tl_event *e, enum tl_event_type type, const char *cat)
{
	memset(e, 0, offsetof(struct tl_event, args));
	e->type = type;
	e->cat = cat;
}

static void add_arg_int(struct tl_event *e, const char *name, int64_t v)
{
	if (e->nargs < TL_MAX_ARGS)
		e->args[e->nargs++] = (struct tl_arg){.name = name, .type = TL_ARG_INT, .i = v};
}

static void add_arg_str(struct tl_event *e, const char *name, const char *s)
{
	if (e->nargs < TL_MAX_ARGS)
		e->args[e->nargs++] = (struct tl_arg){.name = name, .type = TL_ARG_STR, .s = s};
}

static void add_arg_double(struct tl_event *e, const char *name, double d)
{
	if (e->nargs < TL_MAX_ARGS)
		e->args[e->nargs++] = (struct tl_arg){.name = name, .type = TL_ARG_DOUBLE, .d = d};
}

static void deliver(struct walk *w, struct tl_event *e)
{
	emit_track(w, e->track);
	if (e->flow_src)
		emit_track(w, e->flow_src->track);
	if (!w->status && w->sink->event(w->sink, e) < 0)
		w->status = GP_EXIT_OUTPUT;
}

static void pass_end(struct walk *w)
{
	if (!w->status && w->sink->pass_end(w->sink) < 0)
		w->status = GP_EXIT_OUTPUT;
}

/* ---- the passes ----------------------------------------------------------------------- */

/* The NVTX_EVENTS rows pass_nvtx() reads (as alias e; it skips the others in C, cheaper
 * than SQLite's IN, an index lookup per row); load_nvtx_names() checks their order under
 * this very pointer. */
static const char nvtx_where[] = "e.eventType IN (" NSYS_STR(
    NVTX_EV_MARK) "," NVTX_EV_PUSHPOP_S "," NVTX_EV_STARTEND_S
		  "," NSYS_STR(NVTXT_EV_PUSHPOP) "," NSYS_STR(NVTXT_EV_STARTEND) ")";

static int nvtx_event_read(int64_t type)
{
	return type == NVTX_EV_MARK || type == NVTX_EV_PUSHPOP || type == NVTX_EV_STARTEND ||
	       type == NVTXT_EV_PUSHPOP || type == NVTXT_EV_STARTEND;
}

static void load_nvtx_names(struct walk *w, struct rep *r);
static void load_domains(struct walk *w, struct rep *r);

static void pass_nvtx(struct walk *w, struct rep *r)
{
	struct tl_rows rows, *st = &rows;
	int rc;

	if (!has(r, "NVTX_EVENTS"))
		return;
	if (!w->optimistic && order_known(r, "NVTX_EVENTS", nvtx_where) == -2)
		load_nvtx_names(w, r); /* the order, and the domains in the same scan */
	if (ordered_rows(w, r, st,
			 "e.start, e.end, e.eventType, COALESCE(e.text, s.value), e.globalTid,"
			 " e.domainId, e.color, e.category,"
			 " COALESCE(e.int64Value, e.uint64Value, e.int32Value, e.uint32Value),"
			 " COALESCE(e.doubleValue, e.floatValue)",
			 "NVTX_EVENTS e LEFT JOIN StringIds s ON s.id = e.textId", "NVTX_EVENTS",
			 "e", "start", "end", nvtx_where, 0, 1) < 0)
		return;
	while (!w->status && (rc = rows_step(w, st)) == SQLITE_ROW) {
		struct tl_event e;
		int64_t type = col_int(st, 2), gtid, ts, end;
		const char *text, *dom = NULL;
		char color[8];

		if (!nvtx_event_read(type))
			continue;
		event_init(&e, TL_INSTANT, NULL);
		gtid = col_int(st, 4);
		ts = col_int(st, 0) + r->off;
		end = col_null(st, 1) ? ts : col_int(st, 1) + r->off;
		text = col_text(st, 3);
		if (!col_null(st, 5) && col_int(st, 5) != 0) {
			if (!r->doms_loaded)
				load_domains(w, r);
			dom = map_get(&r->doms, (uint64_t)col_int(st, 5));
		}
		if (!keep(w, (gtid >> 24) & 0xffffff, ts, end, text))
			continue;
		e.name = text ? text : "";
		e.cat = dom ? dom : "NVTX";
		e.ts = ts;
		if (type == NVTX_EV_MARK) {
			e.type = TL_INSTANT;
			e.track = row_track(w, r, gtid, ROW_NVTX);
		} else {
			e.type = type == NVTX_EV_PUSHPOP || type == NVTXT_EV_PUSHPOP ? TL_SLICE
										     : TL_RANGE;
			e.dur = end - ts;
			e.track =
			    row_track(w, r, gtid, e.type == TL_SLICE ? ROW_NVTX : ROW_NVTX_SE);
		}
		if (dom)
			add_arg_str(&e, "domain", dom);
		if (!col_null(st, 6)) {
			snprintf(color, sizeof(color), "#%06x",
				 (unsigned)(col_int(st, 6) & 0xffffff));
			add_arg_str(&e, "color", color);
		}
		if (!col_null(st, 7))
			add_arg_int(&e, "category", col_int(st, 7));
		if (!col_null(st, 8))
			add_arg_int(&e, "payload", col_int(st, 8));
		else if (!col_null(st, 9))
			add_arg_double(&e, "payload", tl_rows_double(st, 9));
		deliver(w, &e);
	}
	finish_rows(w, r, st, w->status ? SQLITE_DONE : rc);
	pass_end(w);
}

/* Append the column list cols of table: "?name" is a column older exports may lack,
 * written as NULL when table has none of that name. */
static void add_cols(struct strbuf *sql, struct rep *r, const char *table, const char *cols)
{
	for (const char *p = cols; *p;) {
		const char *q = strchr(p, '?');
		size_t n;
		char name[64];

		if (!q) {
			strbuf_addstr(sql, p);
			break;
		}
		strbuf_add(sql, p, (size_t)(q - p));
		for (n = 0; q[1 + n] && (isalnum((unsigned char)q[1 + n]) || q[1 + n] == '_'); n++)
			;
		snprintf(name, sizeof(name), "%.*s", (int)n, q + 1);
		strbuf_addstr(sql, stats_column_exists(r->db, table, name) ? name : "NULL");
		p = q + 1 + n;
	}
}

/* The kernel, memcpy, memset and graph tables: one query each, with the same columns
 * (kind, start, end, deviceId, streamId, correlationId, globalPid, name, a1..a9); "?name"
 * is a column older exports may lack (add_cols). */
static const struct {
	const char *table, *cols, *join;
} gpu_parts[] = {
    {"CUPTI_ACTIVITY_KIND_KERNEL",
     "0, g.start, g.end, g.deviceId, g.streamId, g.correlationId, g.globalPid, s.value,"
     " g.gridX, g.gridY, g.gridZ, g.blockX, g.blockY, g.blockZ, g.registersPerThread,"
     " g.staticSharedMemory + g.dynamicSharedMemory, ?graphNodeId",
     " LEFT JOIN StringIds s ON s.id = g.demangledName"},
    {"CUPTI_ACTIVITY_KIND_MEMCPY",
     "1, start, end, deviceId, streamId, correlationId, globalPid, NULL, bytes, copyKind,"
     " ?srcKind, ?dstKind, NULL, NULL, NULL, NULL, ?graphNodeId",
     ""},
    {"CUPTI_ACTIVITY_KIND_MEMSET",
     "2, start, end, deviceId, streamId, correlationId, globalPid, NULL, bytes, value,"
     " ?memKind, NULL, NULL, NULL, NULL, NULL, ?graphNodeId",
     ""},
    {"CUPTI_ACTIVITY_KIND_GRAPH_TRACE",
     "3, start, end, deviceId, streamId, correlationId, globalPid, NULL, ?graphId, NULL,"
     " NULL, NULL, NULL, NULL, NULL, NULL, NULL",
     ""},
};

#define NGPU_PARTS (sizeof(gpu_parts) / sizeof(gpu_parts[0]))

/* Perfetto flow id of the call with correlationId corr in process pid of report r. */
static uint64_t flow_id(const struct rep *r, int64_t pid, int64_t corr)
{
	return ((uint64_t)(r->index + 1) << 56) | (((uint64_t)pid & 0xffffff) << 32) |
	       ((uint64_t)corr & 0xffffffff);
}

/* The byte of (pid, corr) in c (struct corr_counts), its page allocated when create;
 * NULL when not create and the page does not exist. */
static unsigned char *corr_slot(struct corr_counts *c, int64_t pid, int64_t corr, int create)
{
	uint64_t key = (((uint64_t)pid & 0xffffff) << 16) | (((uint64_t)corr & 0xffffffff) >> 16);
	unsigned char *page = c->last;

	if (!page || c->last_key != key) {
		void **v = map_slot(&c->pages, key, create);

		if (!v)
			return NULL;
		if (!*v)
			*v = xcalloc(65536, 1);
		page = c->last = *v;
		c->last_key = key;
	}
	return &page[(uint64_t)corr & 0xffff];
}

static void corr_free(struct corr_counts *c)
{
	map_free(&c->pages, free);
	memset(c, 0, sizeof(*c));
}

/* One scan of table's (id, correlationId) in storage order, id a globalPid or globalTid
 * column: each row with both goes to row() with its process and correlationId.  With
 * with_order, (start, end) too, and whether the table is in time order is remembered for
 * ordered_rows() (rowid_ordered()'s answer without a scan of its own).  0, or -1 when it
 * cannot be read (said). */
static int scan_correlations(struct walk *w, struct rep *r, const char *table, const char *id,
			     void (*row)(struct corr_counts *c, int64_t pid, int64_t corr),
			     int with_order)
{
	struct strbuf sql = STRBUF_INIT;
	struct order_check c = ORDER_CHECK_INIT;
	sqlite3_stmt *st = NULL;
	int rc, rowid = 0;

	if (with_order) {
		strbuf_addf(&sql, "SELECT %s, correlationId, start, end FROM %s ORDER BY rowid", id,
			    table);
		rowid = sqlite3_prepare_v2(r->db, sql.buf, -1, &st, NULL) == SQLITE_OK;
		strbuf_reset(&sql); /* !rowid: no rowid, no order by it */
	}
	if (!rowid) {
		strbuf_addf(&sql, "SELECT %s, correlationId%s FROM %s", id,
			    with_order ? ", start, end" : "", table);
		st = prepare(w, r, sql.buf);
	}
	strbuf_release(&sql);
	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sqlite3_value *id = sqlite3_column_value(st, 0),
			      *corr = sqlite3_column_value(st, 1);

		if (rowid && c.ok)
			order_feed(&c, st, 2, 3);
		if (sqlite3_value_type(id) != SQLITE_NULL &&
		    sqlite3_value_type(corr) != SQLITE_NULL)
			row(&w->corr, (sqlite3_value_int64(id) >> 24) & 0xffffff,
			    sqlite3_value_int64(corr));
	}
	if (rc == SQLITE_DONE && with_order)
		order_memo(r, table, NULL, rowid ? c.ok : -1);
	finish(w, r, st, rc);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* scan_correlations() rows: one more GPU operation of the call (saturating at CORR_MANY) */
static void count_op(struct corr_counts *c, int64_t pid, int64_t corr)
{
	unsigned char *slot = corr_slot(c, pid, corr, 1);

	if ((*slot & CORR_MANY) != CORR_MANY)
		(*slot)++;
}

/* ... and an API call that has GPU work is in the report (CORR_API: pass_cuda reads ahead
 * for it when its GPU work comes first; mark_calls()) */
static void mark_api(struct corr_counts *c, int64_t pid, int64_t corr)
{
	unsigned char *slot = corr_slot(c, pid, corr, 0);

	if (slot && (*slot & CORR_MANY))
		*slot |= CORR_API;
}

/* Count the GPU operations of each (process, correlationId) of r into w->corr, one scan
 * per GPU table (which checks the table's order too, unless known or read optimistically:
 * ordered_rows()).  Returns the number of GPU tables. */
static int count_gpu_ops(struct walk *w, struct rep *r)
{
	int n = 0;

	for (size_t i = 0; i < NGPU_PARTS && !w->status; i++) {
		const char *t = gpu_parts[i].table;

		if (!has(r, t))
			continue;
		n++;
		if (scan_correlations(w, r, t, "globalPid", count_op,
				      !w->optimistic && order_known(r, t, NULL) == -2) < 0)
			break;
	}
	return n;
}

/* The API calls of r that have GPU work: CORR_API in w->corr, one scan of the API table.
 * Done when a GPU operation comes before its call was read (rare: clocks that disagree,
 * or a call not in the report), not before the walk: calls read before their GPU work
 * are found in the in-flight map. */
static void mark_calls(struct walk *w, struct rep *r)
{
	w->api_marked = 1;
	scan_correlations(w, r, "CUPTI_ACTIVITY_KIND_RUNTIME", "globalTid", mark_api, 0);
}

/* The API call of st's row (start, end, globalTid, correlationId, name, returnValue) as a
 * slice on its thread: its track, or NULL when the filters drop it. */
static struct tl_track *api_event(struct walk *w, struct rep *r, struct tl_rows *st)
{
	struct tl_event e;
	int64_t gtid = col_int(st, 2), pid = (gtid >> 24) & 0xffffff;
	int has_corr = !col_null(st, 3), ops = 0;
	int64_t corr = col_int(st, 3), ret;

	if (has_corr && w->corr.pages.n) {
		unsigned char *slot = corr_slot(&w->corr, pid, corr, 0);

		ops = slot ? *slot & CORR_MANY : 0;
	}
	event_init(&e, TL_SLICE, "cuda_api");
	e.ts = col_int(st, 0) + r->off;
	e.dur = col_int(st, 1) + r->off - e.ts;
	e.name = col_text(st, 4);
	if (!e.name)
		e.name = "";
	if (!keep(w, pid, e.ts, e.ts + e.dur, e.name))
		return NULL;
	e.track = row_track(w, r, gtid, ROW_CUDA_API);
	if (has_corr) {
		add_arg_int(&e, "correlationId", corr);
		if (ops)
			e.flow_out = flow_id(r, pid, corr);
	}
	if ((ret = col_int(st, 5)) != 0)
		add_arg_int(&e, "returnValue", ret);
	deliver(w, &e);
	return e.track;
}

/* "(a, b, c)" as printf's "(%lld, %lld, %lld)" writes it, for the grid and block of every
 * kernel (printf was 4 % of the export, perf), kept for the next kernel of the same. */
struct triple {
	int64_t v[3];
	char s[72];
};

static void fmt_triple(struct triple *t, int64_t a, int64_t b, int64_t c)
{
	char *p = t->s;

	if (*p && t->v[0] == a && t->v[1] == b && t->v[2] == c)
		return;
	t->v[0] = a;
	t->v[1] = b;
	t->v[2] = c;
	*p++ = '(';
	for (int i = 0; i < 3; i++) {
		uint64_t u = t->v[i] < 0 ? -(uint64_t)t->v[i] : (uint64_t)t->v[i];
		char tmp[20];
		int n = 0;

		if (i) {
			*p++ = ',';
			*p++ = ' ';
		}
		if (t->v[i] < 0)
			*p++ = '-';
		do
			tmp[n++] = (char)('0' + u % 10);
		while ((u /= 10) != 0);
		while (n)
			*p++ = tmp[--n];
	}
	*p++ = ')';
	*p = '\0';
}

/* A query read in step with others (pass_gpu): its current row's start and end. */
struct cursor {
	struct tl_rows st;
	int rc;		    /* of the last sqlite3_step() */
	int row;	    /* a row is current */
	int64_t start, end; /* as SQLite orders them: NULL first */
	int64_t ts, te;	    /* start and end as read (0 for NULL) */
};

static void cursor_step(struct walk *w, struct cursor *c)
{
	c->rc = rows_step(w, &c->st);
	c->row = c->rc == SQLITE_ROW;
	if (c->row) { /* NULL sorts first, as in SQLite */
		c->ts = col_int(&c->st, 1);
		c->te = col_int(&c->st, 2);
		c->start = col_null(&c->st, 1) ? INT64_MIN : c->ts;
		c->end = col_null(&c->st, 2) ? INT64_MIN : c->te;
	}
}

/* Read and write the API calls of cursor a (api_event()'s columns) that start at or before
 * ts (the report's time), and on until the call of key (pid << 32 | correlationId) is in
 * the in-flight map when want: a GPU operation may start before its call when clocks
 * disagree.  The calls with GPU work go into the in-flight map. */
static void api_read(struct walk *w, struct rep *r, struct cursor *a, int64_t ts, uint64_t key,
		     int want)
{
	while (a->row && !w->status) {
		struct tl_rows *st = &a->st;
		int64_t gtid = col_int(st, 2), pid = (gtid >> 24) & 0xffffff, corr;
		unsigned char *slot;
		struct tl_track *track;

		if (col_int(st, 0) > ts && (!want || map_get(&w->inflight, key)))
			break;
		track = api_event(w, r, st);
		corr = col_int(st, 3);
		slot = col_null(st, 3) ? NULL : corr_slot(&w->corr, pid, corr, 0);
		if (slot && (*slot & CORR_MANY)) {
			void **v = map_slot(
			    &w->inflight, ((uint64_t)pid << 32) | ((uint64_t)corr & 0xffffffff), 1);

			if (!*v) { /* (a second call of the same id keeps the first) */
				struct inflight *f = w->free_inflight;

				if (f)
					w->free_inflight = f->next;
				else
					f = xcalloc(1, sizeof(*f));
				f->ts = col_int(st, 0) + r->off;
				f->dur = col_int(st, 1) + r->off - f->ts;
				f->left = (*slot & CORR_MANY) == CORR_MANY ? -1 : *slot & CORR_MANY;
				f->track = track; /* NULL: the filters dropped the call */
				*v = f;
			}
		}
		a->rc = rows_step(w, &a->st);
		a->row = a->rc == SQLITE_ROW;
	}
}

/* The CUDA API calls and their GPU operations in one walk by start time: the API calls as
 * slices on their threads, the GPU tables read in step (kernels, memcpy, memset, graphs on
 * their device/stream tracks); the flow from each API call ends at its first GPU
 * operation, found in the in-flight map the API calls with GPU work go into as they are
 * read (a GPU operation starts after its call; one that starts before, clock skew, reads
 * the calls ahead until its own).  One read of each table (before: the API calls twice). */
static void pass_cuda(struct walk *w, struct rep *r)
{
	struct cursor src[NGPU_PARTS], api = {0};
	int has_api = 0;
	struct triple grid, block;
	size_t nsrc = 0;

	grid.s[0] = block.s[0] = '\0';
	/* flows: the GPU operations per call (which calls are in the report: mark_calls()) */
	w->api_marked = 0;
	if (has(r, "CUPTI_ACTIVITY_KIND_RUNTIME"))
		count_gpu_ops(w, r);

	for (size_t i = 0; i < NGPU_PARTS && !w->status; i++) {
		struct strbuf cols = STRBUF_INIT, from = STRBUF_INIT;
		int k;

		if (!has(r, gpu_parts[i].table))
			continue;
		add_cols(&cols, r, gpu_parts[i].table, gpu_parts[i].cols);
		strbuf_addf(&from, "%s g%s", gpu_parts[i].table, gpu_parts[i].join);
		k = ordered_rows(w, r, &src[nsrc].st, cols.buf, from.buf, gpu_parts[i].table, "g",
				 "start", "end", NULL, 1, 2);
		strbuf_release(&cols);
		strbuf_release(&from);
		if (k == 0)
			cursor_step(w, &src[nsrc++]);
	}
	if (has(r, "CUPTI_ACTIVITY_KIND_RUNTIME") && !w->status &&
	    ordered_rows(w, r, &api.st,
			 "r.start, r.end, r.globalTid, r.correlationId, s.value, r.returnValue",
			 "CUPTI_ACTIVITY_KIND_RUNTIME r LEFT JOIN StringIds s ON s.id = r.nameId",
			 "CUPTI_ACTIVITY_KIND_RUNTIME", "r", "start", "end", NULL, 0, 1) == 0) {
		has_api = 1;
		api.rc = rows_step(w, &api.st);
		api.row = api.rc == SQLITE_ROW;
	}
	while (!w->status) {
		struct tl_event e;
		struct tl_flow_src fsrc;
		struct cursor *g = NULL;
		struct inflight call = {0};
		struct tl_rows *st;
		int64_t kind, pid, corr, dev, stream;
		int in_report = 0, has_corr;
		char name[64];

		for (size_t i = 0; i < nsrc; i++) /* the earliest; ties: the table order */
			if (src[i].row && (!g || src[i].start < g->start ||
					   (src[i].start == g->start && src[i].end > g->end)))
				g = &src[i];
		if (!g)
			break;
		if (has_api) /* the API calls up to it first */
			api_read(w, r, &api, g->start, 0, 0);
		if (w->status)
			break;
		st = &g->st;
		event_init(&e, TL_SLICE, NULL);
		kind = col_int(st, 0);
		pid = (col_int(st, 6) >> 24) & 0xffffff;
		has_corr = !col_null(st, 5);
		corr = col_int(st, 5);
		if (has_api && has_corr && !col_null(st, 6)) {
			uint64_t key = ((uint64_t)pid << 32) | ((uint64_t)corr & 0xffffffff);
			struct inflight *f = map_get(&w->inflight, key);

			if (!f) { /* its call not read yet, or not in the report */
				unsigned char *slot;

				if (!w->api_marked)
					mark_calls(w, r);
				slot = corr_slot(&w->corr, pid, corr, 0);
				if (slot && (*slot & CORR_API)) { /* it is: read on to it */
					api_read(w, r, &api, g->start, key, 1);
					f = map_get(&w->inflight, key);
				}
			}
			if (f) {
				call = *f;
				in_report = 1;
				if (f->left > 0 && --f->left == 0) { /* its last operation */
					map_del(&w->inflight, key);
					f->next = w->free_inflight;
					w->free_inflight = f;
				}
			}
		}
		e.ts = g->ts + r->off;
		e.dur = g->te + r->off - e.ts;
		switch (kind) {
		case 0:
			e.name = col_text(st, 7);
			if (!e.name)
				e.name = "";
			e.cat = "cuda_kernel";
			break;
		case 1: {
			int64_t k = col_int(st, 9);

			snprintf(name, sizeof(name), "[CUDA memcpy %s]", cuda_memcpy_label(k));
			e.name = name;
			e.cat = "cuda_memcpy";
			break;
		}
		case 2:
			e.name = "[CUDA memset]";
			e.cat = "cuda_memset";
			break;
		default:
			snprintf(name, sizeof(name), "[CUDA graph %" PRId64 "]", col_int(st, 8));
			e.name = name;
			e.cat = "cuda_graph";
			break;
		}
		if (!keep(w, pid, e.ts, e.ts + e.dur, e.name)) {
			cursor_step(w, g);
			continue;
		}
		dev = col_int(st, 3);
		stream = col_int(st, 4);
		e.track = gpu_track(w, r, pid, dev, stream);
		if (kind == 0) {
			fmt_triple(&grid, col_int(st, 8), col_int(st, 9), col_int(st, 10));
			fmt_triple(&block, col_int(st, 11), col_int(st, 12), col_int(st, 13));
			add_arg_str(&e, "grid", grid.s);
			add_arg_str(&e, "block", block.s);
			add_arg_int(&e, "registersPerThread", col_int(st, 14));
			add_arg_int(&e, "sharedMemory", col_int(st, 15));
		} else if (kind == 1) {
			add_arg_int(&e, "bytes", col_int(st, 8));
		} else if (kind == 2) {
			add_arg_int(&e, "bytes", col_int(st, 8));
			add_arg_int(&e, "value", col_int(st, 9));
		} else {
			add_arg_int(&e, "graphId", col_int(st, 8));
		}
		if (!col_null(st, 16))
			add_arg_int(&e, "graphNodeId", col_int(st, 16));
		add_arg_int(&e, "device", dev);
		add_arg_int(&e, "stream", stream);
		if (has_corr)
			add_arg_int(&e, "correlationId", corr);
		if (in_report) {
			uint64_t *slot;

			e.flow_in = flow_id(r, pid, corr);
			slot = &w->ended[mix64(e.flow_in) & 4095];
			if (*slot == e.flow_in) /* another operation of that call */
				e.flow_in = 0;
			else
				*slot = e.flow_in;
			if (call.track) { /* the call is kept by the filters */
				fsrc.track = call.track;
				fsrc.ts = call.ts;
				fsrc.dur = call.dur;
				fsrc.id = ++w->next_flow;
				e.flow_src = &fsrc;
			}
		}
		deliver(w, &e);
		cursor_step(w, g);
	}
	if (has_api) /* the calls after the last GPU operation */
		api_read(w, r, &api, INT64_MAX, 0, 0);
	for (size_t i = 0; i < nsrc; i++)
		finish_rows(w, r, &src[i].st, w->status || src[i].row ? SQLITE_DONE : src[i].rc);
	if (has_api)
		finish_rows(w, r, &api.st, w->status || api.row ? SQLITE_DONE : api.rc);
	map_free(&w->inflight, free);
	corr_free(&w->corr);
	if (nsrc || has_api)
		pass_end(w);
}

static void pass_osrt(struct walk *w, struct rep *r)
{
	struct tl_rows rows, *st = &rows;
	int rc;

	if (!has(r, "OSRT_API") ||
	    ordered_rows(w, r, st, "o.start, o.end, o.globalTid, s.value, o.returnValue",
			 "OSRT_API o LEFT JOIN StringIds s ON s.id = o.nameId", "OSRT_API", "o",
			 "start", "end", NULL, 0, 1) < 0)
		return;
	while (!w->status && (rc = rows_step(w, st)) == SQLITE_ROW) {
		struct tl_event e = {.type = TL_SLICE, .cat = "osrt"};
		int64_t gtid = col_int(st, 2);

		e.ts = col_int(st, 0) + r->off;
		e.dur = col_int(st, 1) + r->off - e.ts;
		e.name = col_text(st, 3) ? col_text(st, 3) : "";
		if (!keep(w, (gtid >> 24) & 0xffffff, e.ts, e.ts + e.dur, e.name))
			continue;
		e.track = row_track(w, r, gtid, ROW_OSRT);
		if (col_int(st, 4)) /* as for API calls: only a non-zero return value */
			add_arg_int(&e, "returnValue", col_int(st, 4));
		deliver(w, &e);
	}
	finish_rows(w, r, st, w->status ? SQLITE_DONE : rc);
	pass_end(w);
}

static void pass_mpi(struct walk *w, struct rep *r)
{
	static const struct {
		const char *table, *cols;
	} parts[] = {
	    {"MPI_P2P_EVENTS", "start, end, globalTid, textId, tag, remoteRank, size, NULL"},
	    {"MPI_COLLECTIVES_EVENTS", "start, end, globalTid, textId, NULL, NULL, size, rootRank"},
	    {"MPI_START_WAIT_EVENTS", "start, end, globalTid, textId, NULL, NULL, NULL, NULL"},
	    {"MPI_OTHER_EVENTS", "start, end, globalTid, textId, NULL, NULL, NULL, NULL"},
	};
	static const char *const argn[] = {"tag", "remoteRank", "size", "rootRank"};
	struct strbuf sql = STRBUF_INIT;
	sqlite3_stmt *st;
	int rc, n = 0;

	strbuf_addstr(&sql, "SELECT m.*, s.value FROM (");
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (!has(r, parts[i].table))
			continue;
		strbuf_addf(&sql, "%sSELECT %s FROM %s", n++ ? " UNION ALL " : "", parts[i].cols,
			    parts[i].table);
	}
	strbuf_addstr(&sql, ") m LEFT JOIN StringIds s ON s.id = m.textId"
			    " ORDER BY m.start, m.end DESC");
	st = n ? prepare(w, r, sql.buf) : NULL;
	strbuf_release(&sql);
	if (!st)
		return;
	while (!w->status && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct tl_event e = {.type = TL_SLICE, .cat = "mpi"};
		int64_t gtid = sq_int(st, 2);

		e.ts = sq_int(st, 0) + r->off;
		e.dur = sq_null(st, 1) ? 0 : sq_int(st, 1) + r->off - e.ts;
		e.name = sq_text(st, 8) ? sq_text(st, 8) : "";
		if (!keep(w, (gtid >> 24) & 0xffffff, e.ts, e.ts + e.dur, e.name))
			continue;
		e.track = row_track(w, r, gtid, ROW_MPI);
		for (int i = 0; i < 4; i++)
			if (!sq_null(st, 4 + i))
				add_arg_int(&e, argn[i], sq_int(st, 4 + i));
		deliver(w, &e);
	}
	finish(w, r, st, w->status ? SQLITE_DONE : rc);
	pass_end(w);
}

/* CPU samples (COMPOSITE_EVENTS, their stacks in SAMPLING_CALLCHAINS: profile -s): each a
 * TL_SAMPLE on its thread, its stack leaf first.  The frames come joined to their sample
 * through SAMPLING_CALLCHAINS' (id, stackDepth) key; the samples in time order (as stored
 * when they are, as the sampler writes them; else sorted by SQLite: samples are a few
 * thousand per second of a thread, not the bulk of a report). */
#define SAMPLE_FRAMES_MAX 256

static void pass_samples(struct walk *w, struct rep *r)
{
	struct tl_frame fr[SAMPLE_FRAMES_MAX];
	size_t at[2 * SAMPLE_FRAMES_MAX]; /* fr's strings in text: SQLite's last a step */
	struct strbuf sql = STRBUF_INIT, text = STRBUF_INIT;
	sqlite3_stmt *st;
	int rc, n = 0, o, have = 0, cut = 0;
	int64_t id = 0, ts = 0, gtid = 0, cpu = 0, ncut = 0;

	if (!has(r, "COMPOSITE_EVENTS") || !has(r, "SAMPLING_CALLCHAINS"))
		return;
	o = rowid_ordered(r, "COMPOSITE_EVENTS", "c", "start", NULL, NULL);
	strbuf_addf(&sql,
		    "SELECT c.id, c.start, c.globalTid, c.cpu, f.stackDepth, sym.value, mod.value"
		    " FROM COMPOSITE_EVENTS c JOIN SAMPLING_CALLCHAINS f ON f.id = c.id"
		    " LEFT JOIN StringIds sym ON sym.id = f.symbol"
		    " LEFT JOIN StringIds mod ON mod.id = f.module ORDER BY %s, f.stackDepth",
		    o == 1 ? "c.rowid" : "c.start, c.id");
	st = prepare(w, r, sql.buf);
	strbuf_release(&sql);
	if (!st)
		return;
	for (;;) {
		rc = w->status ? SQLITE_DONE : sqlite3_step(st);
		if (have && (rc != SQLITE_ROW || sq_int(st, 0) != id)) { /* the sample is whole */
			int64_t pid = (gtid >> 24) & 0xffffff;

			for (int i = 0; i < n; i++) { /* (text is where it will stay now) */
				fr[i].name = text.buf + at[2 * i];
				fr[i].module = text.buf + at[2 * i + 1];
			}
			if (n && keep(w, pid, ts, ts, fr[0].name)) {
				struct tl_event e = {.type = TL_SAMPLE, .cat = "cpu_sample"};

				e.track = thread_track(w, r, gtid);
				e.ts = ts;
				e.name = fr[0].name;
				e.frames = fr;
				e.nframes = n;
				e.cpu = (int32_t)cpu;
				deliver(w, &e);
			}
			ncut += cut;
			have = n = cut = 0;
			strbuf_reset(&text);
		}
		if (rc != SQLITE_ROW)
			break;
		if (!have) {
			have = 1;
			id = sq_int(st, 0);
			ts = sq_int(st, 1) + r->off;
			gtid = sq_int(st, 2);
			cpu = sq_int(st, 3);
		}
		if (n < SAMPLE_FRAMES_MAX) {
			for (int k = 0; k < 2; k++) {
				const char *v = sq_text(st, 5 + k);

				at[2 * n + k] = text.len;
				strbuf_addstr(&text, v ? v : "");
				strbuf_addch(&text, '\0');
			}
			n++;
		} else {
			cut = 1;
		}
	}
	strbuf_release(&text);
	r->ncut = ncut; /* said when the trace is written (a walk may start again) */
	finish(w, r, st, rc);
	pass_end(w);
}

/* The value a counter had at --start, when its samples before it were dropped. */
static void carry_in(struct walk *w, struct tl_track *t)
{
	struct tl_event c = {.type = TL_COUNTER, .track = t, .ts = w->win_start};

	c.value = (double)t->acc_before;
	t->skipped = 0;
	deliver(w, &c);
}

/* A counter sample of value t->acc at ts (common base) on t, after the value carried in
 * at --start. */
static void counter(struct walk *w, struct tl_track *t, int64_t pid, int64_t ts)
{
	struct tl_event e = {.type = TL_COUNTER, .track = t, .ts = ts, .value = (double)t->acc};

	if (pid >= 0 && !pid_ok(w, pid))
		return;
	if (ts < w->win_start) {
		t->skipped = 1;
		t->acc_before = t->acc;
		return;
	}
	if (t->skipped)
		carry_in(w, t);
	if (ts <= w->win_end)
		deliver(w, &e);
}

/* After a counter pass: the tracks whose samples all came before --start get their
 * value there. */
static void carry_all(struct walk *w, enum key_kind kind)
{
	struct map *m = &w->tracks[kind];

	for (size_t i = 0; i < m->cap && !w->status; i++)
		if (m->used[i] && ((struct tl_track *)m->vals[i])->skipped)
			carry_in(w, m->vals[i]);
}

static void pass_memory(struct walk *w, struct rep *r)
{
	struct tl_rows rows, *st = &rows;
	int rc;

	if (!has(r, "CUDA_GPU_MEMORY_USAGE_EVENTS") ||
	    ordered_rows(w, r, st,
			 "m.start, m.globalPid, m.deviceId, m.bytes, m.memoryOperationType",
			 "CUDA_GPU_MEMORY_USAGE_EVENTS m", "CUDA_GPU_MEMORY_USAGE_EVENTS", "m",
			 "start", NULL, NULL, 0, -1) < 0)
		return;
	while (!w->status && (rc = rows_step(w, st)) == SQLITE_ROW) {
		int64_t pid = (col_int(st, 1) >> 24) & 0xffffff, dev = col_int(st, 2);
		uint64_t key = rkey(r, ((uint64_t)pid << 16) | ((uint64_t)dev & 0xffff));
		struct tl_track *t = map_get(&w->tracks[K_MEMORY], key);
		if (!t) {
			t = new_track(w, K_MEMORY, key, TL_TRACK_COUNTER, process_track(w, r, pid),
				      xasprintf("CUDA memory usage (device %" PRId64 ")", dev));
			t->unit = "bytes";
			t->sort_index = 200 + (int)(dev & 0xff);
		}
		t->acc += col_int(st, 4) == 0 ? col_int(st, 3) : -col_int(st, 3);
		counter(w, t, pid, col_int(st, 0) + r->off);
	}
	finish_rows(w, r, st, w->status ? SQLITE_DONE : rc);
	carry_all(w, K_MEMORY);
	pass_end(w);
}

/* The host memory in use of each process (--host-memory-usage): the exact value after
 * every recorded call and at every sample. */
static void pass_host_memory(struct walk *w, struct rep *r)
{
	sqlite3_stmt *st;
	int rc;

	if (!has(r, "GPROF_HOST_MEMORY_EVENTS"))
		return;
	st = prepare(w, r,
		     has(r, "GPROF_HOST_MEMORY_SAMPLES")
			 ? "SELECT start, globalTid, processBytes, rowid AS o FROM "
			   "GPROF_HOST_MEMORY_EVENTS UNION ALL SELECT start, globalPid, "
			   "processBytes, -1 FROM GPROF_HOST_MEMORY_SAMPLES ORDER BY 1, 4"
			 : "SELECT start, globalTid, processBytes FROM GPROF_HOST_MEMORY_EVENTS "
			   "ORDER BY start, rowid");
	if (!st)
		return;
	while (!w->status && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t pid = (sq_int(st, 1) >> 24) & 0xffffff;
		uint64_t key = rkey(r, (uint64_t)pid);
		struct tl_track *t = map_get(&w->tracks[K_HOSTMEM], key);
		if (!t) {
			t = new_track(w, K_HOSTMEM, key, TL_TRACK_COUNTER, process_track(w, r, pid),
				      xstrdup("Host memory in use"));
			t->unit = "bytes";
			t->sort_index = 199;
		}
		t->acc = sq_int(st, 2);
		counter(w, t, pid, sq_int(st, 0) + r->off);
	}
	finish(w, r, st, w->status ? SQLITE_DONE : rc);
	carry_all(w, K_HOSTMEM);
	pass_end(w);
}

static void pass_metrics(struct walk *w, struct rep *r)
{
	struct tl_rows rows, *st = &rows;
	sqlite3_stmt *names = NULL;
	int rc;

	if (!has(r, "GPU_METRICS"))
		return;
	if (has(r, "TARGET_INFO_GPU_METRICS"))
		names = prepare(w, r,
				"SELECT typeName, metricName FROM TARGET_INFO_GPU_METRICS"
				" WHERE typeId = ? AND metricId = ?");
	if (ordered_rows(w, r, st, "m.timestamp, m.typeId, m.metricId, m.value", "GPU_METRICS m",
			 "GPU_METRICS", "m", "timestamp", NULL, NULL, 0, -1) < 0) {
		sqlite3_finalize(names);
		return;
	}
	while (!w->status && (rc = rows_step(w, st)) == SQLITE_ROW) {
		int64_t type = col_int(st, 1), metric = col_int(st, 2);
		uint64_t key = rkey(r, ((uint64_t)type << 24) ^ (uint64_t)metric);
		struct tl_track *t = map_get(&w->tracks[K_METRIC], key);

		if (!t) {
			char *name = NULL;

			if (names) {
				sqlite3_reset(names);
				sqlite3_bind_int64(names, 1, type);
				sqlite3_bind_int64(names, 2, metric);
				if (sqlite3_step(names) == SQLITE_ROW)
					name =
					    xasprintf("GPU metrics (%s): %s",
						      sq_text(names, 0) ? sq_text(names, 0) : "",
						      sq_text(names, 1) ? sq_text(names, 1) : "");
			}
			if (!name)
				name = xasprintf("GPU metrics (%" PRId64 "): metric %" PRId64, type,
						 metric);
			if (w->nreps > 1) {
				char *n2 = xasprintf("%s [%s]", name, r->path);

				free(name);
				name = n2;
			}
			t = new_track(w, K_METRIC, key, TL_TRACK_COUNTER, NULL, name);
			t->sort_index = 300;
		}
		t->acc = col_int(st, 3);
		counter(w, t, -1, col_int(st, 0) + r->off);
	}
	finish_rows(w, r, st, w->status ? SQLITE_DONE : rc);
	sqlite3_finalize(names);
	carry_all(w, K_METRIC);
	pass_end(w);
}

/* ---- setup ------------------------------------------------------------------------------- */

static int64_t query_int(sqlite3 *db, const char *sql, int64_t dflt)
{
	sqlite3_stmt *st;
	int64_t v = dflt;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return dflt;
	if (sqlite3_step(st) == SQLITE_ROW && !sq_null(st, 0))
		v = sq_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* A NvtxDomainCreate row of st (domain id in column id_col, name in text_col) into
 * r->doms: the last row of an id names it; a row without either is skipped. */
static void domain_name_row(struct rep *r, sqlite3_stmt *st, int id_col, int text_col)
{
	const char *s = sq_text(st, text_col);
	void **v;

	if (!s || sq_null(st, id_col))
		return;
	v = map_slot(&r->doms, (uint64_t)sq_int(st, id_col), 1);
	free(*v);
	*v = xstrdup(s);
}

/* The NVTX domains' names into r->doms, and in the same scan (in rowid order) whether
 * the rows pass_nvtx() reads are in time order (rowid_ordered()'s answer, remembered):
 * one read of NVTX_EVENTS before the pass instead of two. */
static void load_nvtx_names(struct walk *w, struct rep *r)
{
	struct order_check c = ORDER_CHECK_INIT;
	sqlite3_stmt *st;
	int rc, rowid = 1;

	r->doms_loaded = 1;
	if (sqlite3_prepare_v2(r->db,
			       "SELECT eventType, start, end, domainId, text FROM NVTX_EVENTS"
			       " ORDER BY rowid",
			       -1, &st, NULL) != SQLITE_OK) {
		rowid = 0; /* no rowid: no order by it */
		st = prepare(w, r, "SELECT eventType, start, end, domainId, text FROM NVTX_EVENTS");
	}
	if (!st)
		return;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t type = sq_int(st, 0);

		if (type == NVTX_EV_DOMAIN_CREATE)
			domain_name_row(r, st, 3, 4);
		else if (c.ok && nvtx_event_read(type)) {
			order_feed(&c, st, 1, 2);
		}
	}
	if (rc == SQLITE_DONE)
		order_memo(r, "NVTX_EVENTS", nvtx_where, rowid ? c.ok : -1);
	finish(w, r, st, rc);
}

/* The NVTX domains' names alone into r->doms (load_nvtx_names()'s, without the order):
 * their NvtxDomainCreate rows, in rowid order (the last of an id is its name). */
static void load_domains(struct walk *w, struct rep *r)
{
#define DOMAINS_SQL                                                                                \
	"SELECT domainId, text FROM NVTX_EVENTS WHERE eventType = " NVTX_EV_DOMAIN_CREATE_S
	sqlite3_stmt *st;
	int rc;

	r->doms_loaded = 1;
	if (sqlite3_prepare_v2(r->db, DOMAINS_SQL " ORDER BY rowid", -1, &st, NULL) != SQLITE_OK)
		st = prepare(w, r, DOMAINS_SQL); /* no rowid */
#undef DOMAINS_SQL
	if (!st)
		return;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		domain_name_row(r, st, 0, 1);
	finish(w, r, st, rc);
}

static void load_report(struct walk *w, struct rep *r)
{
	if (has(r, "PROCESSES"))
		load_names(w, r, &r->procs, "SELECT pid, name FROM PROCESSES");
	if (has(r, "ThreadNames"))
		load_names(w, r, &r->thrds,
			   "SELECT t.globalTid, s.value FROM ThreadNames t"
			   " JOIN StringIds s ON s.id = t.nameId");
	if (has(r, "MPI_RANKS")) {
		sqlite3_stmt *st = prepare(w, r, "SELECT globalTid, rank FROM MPI_RANKS");
		int rc;

		if (!st)
			return;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			*map_slot(&r->ranks, (uint64_t)((sq_int(st, 0) >> 24) & 0xffffff), 1) =
			    (void *)(uintptr_t)(sq_int(st, 1) + 1);
		finish(w, r, st, rc);
	}
}

static int cmp_window(const void *a, const void *b)
{
	const struct window *x = a, *y = b;

	return x->s < y->s ? -1 : x->s > y->s;
}

/* The instances of the --nvtx range in every report, merged into disjoint windows. */
static int load_nvtx_windows(struct walk *w)
{
	const struct timeline_opts *o = w->o;
	size_t cap = 0, k = 0;

	w->nvtx_filter = 1;
	for (size_t i = 0; i < w->nreps && !w->status; i++) {
		struct rep *r = &w->reps[i];
		sqlite3_stmt *st;
		int rc;

		if (!has(r, "NVTX_EVENTS"))
			continue;
		if (!r->doms_loaded)
			load_domains(w, r);
		st = prepare(w, r,
			     "SELECT e.start, e.end, e.domainId FROM NVTX_EVENTS e"
			     " LEFT JOIN StringIds s ON s.id = e.textId"
			     " WHERE e.eventType IN (" NVTX_EV_PUSHPOP_S "," NVTX_EV_STARTEND_S
			     "," NSYS_STR(NVTXT_EV_PUSHPOP) "," NSYS_STR(
				 NVTXT_EV_STARTEND) ")"
						    " AND COALESCE(e.text, s.value) = ?1 AND e.end "
						    "IS NOT NULL");
		if (!st)
			break;
		sqlite3_bind_text(st, 1, o->nvtx, -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			int64_t dom = sq_null(st, 2) ? 0 : sq_int(st, 2);
			const char *dname = dom ? map_get(&r->doms, (uint64_t)dom) : NULL;

			if (!o->nvtx_any_domain && (o->nvtx_domain && o->nvtx_domain[0]
							? !dname || strcmp(dname, o->nvtx_domain)
							: dom != 0))
				continue;
			GP_ALLOC_GROW(w->wins, w->nwins + 1, cap);
			w->wins[w->nwins].s = sq_int(st, 0) + r->off;
			w->wins[w->nwins++].e = sq_int(st, 1) + r->off;
		}
		finish(w, r, st, rc);
	}
	if (w->status)
		return w->status;
	if (w->nwins) /* qsort's base must not be NULL */
		qsort(w->wins, w->nwins, sizeof(*w->wins), cmp_window);
	for (size_t i = 0; i < w->nwins; i++) { /* merge overlapping windows */
		if (k && w->wins[i].s <= w->wins[k - 1].e) {
			if (w->wins[i].e > w->wins[k - 1].e)
				w->wins[k - 1].e = w->wins[i].e;
		} else {
			w->wins[k++] = w->wins[i];
		}
	}
	w->nwins = k;
	if (!k)
		warning("no instance of NVTX range '%s' in the report%s: the trace is empty",
			w->o->nvtx, w->nreps > 1 ? "s" : "");
	return GP_EXIT_OK;
}

int timeline_parse_time(const char *s, int64_t *ns)
{
	static const struct {
		const char *unit;
		double mul;
	} units[] = {{"", 1}, {"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}};
	char *end;
	double v;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v != v)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit))
			continue;
		v *= units[i].mul;
		if (v > 9.2e18)
			return -1;
		*ns = (int64_t)(v + 0.5);
		return 0;
	}
	return -1;
}

char *timeline_default_output(const char *db_path, enum timeline_type t)
{
	const char *slash = strrchr(db_path, '/'), *dot = strrchr(db_path, '.');
	size_t len = strlen(db_path);

	if (dot && (!slash || dot > slash + 1))
		len = (size_t)(dot - db_path);
	return xasprintf("%.*s%s", (int)len, db_path,
			 t == TIMELINE_PERFETTO ? ".pftrace" : ".json");
}

static void free_rep(struct rep *r)
{
	map_free(&r->procs, free);
	map_free(&r->thrds, free);
	map_free(&r->ranks, NULL);
	map_free(&r->doms, free);
}

/* Free what a walk over the reports made (its sink, tracks, the flows' state) and set it
 * back to its start, for another (struct walk: optimistic reads). */
static void walk_clear(struct walk *w)
{
	tl_sink_free(w->sink); /* first: it unhooks its state from the tracks */
	w->sink = NULL;
	for (size_t k = 0; k < sizeof(w->tracks) / sizeof(w->tracks[0]); k++)
		map_free(&w->tracks[k], free_track);
	map_free(&w->inflight, free);
	corr_free(&w->corr);
	while (w->free_inflight) {
		struct inflight *f = w->free_inflight;

		w->free_inflight = f->next;
		free(f);
	}
	w->next_uuid = 1;
	w->ntracks = w->next_flow = w->skipped = 0;
	memset(w->ended, 0, sizeof(w->ended));
	memset(w->verifying, 0, sizeof(w->verifying));
	w->status = w->restart = w->api_marked = 0;
	for (size_t i = 0; i < w->nreps; i++)
		w->reps[i].ncut = 0;
}

/* Every report into w->sink, pass after pass, to the sink's end; a failure stops them. */
static void walk_reports(struct walk *w)
{
	static void (*const passes[])(struct walk *, struct rep *) = {
	    pass_nvtx,	  pass_cuda,   pass_osrt,	 pass_mpi,
	    pass_samples, pass_memory, pass_host_memory, pass_metrics,
	};

	for (size_t i = 0; i < w->nreps; i++)
		for (size_t k = 0; k < sizeof(passes) / sizeof(passes[0]) && !w->status; k++)
			passes[k](w, &w->reps[i]);
	if (!w->status && w->sink->end(w->sink) < 0)
		w->status = GP_EXIT_OUTPUT;
}

int timeline_export(sqlite3 *const *dbs, const char *const *paths, size_t n,
		    const struct timeline_opts *o)
{
	struct walk w = {.o = o, .next_uuid = 1};
	int64_t base = INT64_MAX;
	char *tmp = NULL;
	FILE *f = NULL;
	int status;

	w.nreps = n;
	w.reps = xcalloc(n, sizeof(*w.reps));
	for (size_t i = 0; i < n; i++) {
		int64_t utc =
		    query_int(dbs[i], "SELECT utcEpochNs FROM TARGET_INFO_SESSION_START_TIME", 0);

		w.reps[i] =
		    (struct rep){.db = dbs[i], .path = paths[i], .index = (int)i, .off = utc};
		if (utc < base)
			base = utc;
	}
	for (size_t i = 0; i < n; i++) {
		w.reps[i].off -= base;
		load_report(&w, &w.reps[i]);
	}
	status = w.status;
	/* time 0 of the earliest report is the session start (gprof-cli's reports start
	 * there; nsys's count from their session start too) */
	w.win_start = o->start > 0 ? o->start : INT64_MIN;
	w.win_end = o->end;
	if (!status && o->nvtx)
		status = load_nvtx_windows(&w);
	if (!status)
		status = export_output_open(o->output, o->force, &f, &tmp);
	if (!status) {
		uint64_t events = 0;

		setvbuf(f, NULL, _IOFBF, 1 << 20);
		w.optimistic = tmp != NULL; /* a file of ours, which can be emptied */
		for (;;) {
			w.sink =
			    o->type == TIMELINE_PERFETTO ? tl_pftrace_sink(f) : tl_json_sink(f);
			walk_reports(&w);
			events = w.sink->events;
			if (!w.restart)
				break;
			/* a table read optimistically is out of order: again, with the scans */
			walk_clear(&w);
			w.optimistic = 0;
			if (fflush(f) != 0 || ftruncate(fileno(f), 0) != 0 ||
			    fseek(f, 0, SEEK_SET) != 0) {
				w.status = GP_EXIT_OUTPUT;
				break;
			}
		}
		for (size_t i = 0; i < n; i++)
			if (w.reps[i].ncut)
				warning("%" PRId64
					" CPU samples of '%s' have stacks deeper than %d "
					"frames: their outermost frames are not in the trace",
					w.reps[i].ncut, w.reps[i].path, SAMPLE_FRAMES_MAX);
		if (w.status == GP_EXIT_OUTPUT)
			error("cannot write '%s': %s", o->output, strerror(errno));
		status = export_output_close(f, o->output, tmp, w.status);
		if (!status && !o->quiet)
			fprintf(
			    stderr,
			    "gprof-cli: exported %llu events on %llu tracks from %zu report%s to "
			    "'%s'%s\n",
			    (unsigned long long)events, (unsigned long long)w.ntracks, n,
			    n == 1 ? "" : "s", o->output,
			    w.skipped ? " (filters dropped the others)" : "");
	}
	walk_clear(&w);
	for (size_t i = 0; i < n; i++)
		free_rep(&w.reps[i]);
	free(w.reps);
	free(w.wins);
	return status;
}
