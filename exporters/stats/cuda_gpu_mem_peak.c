/*
 * cuda_gpu_mem_peak.c - "CUDA GPU Memory Peak" (gprof-cli's own; nsys has no such
 * report): the peak of device memory in use per process and device, when it happened,
 * which NVTX push/pop ranges were open at that instant, and each range's own peak.
 *
 * Input: CUDA_GPU_MEMORY_USAGE_EVENTS (nsys schema: start, globalPid, deviceId, memKind,
 * memoryOperationType 0 = allocation / 1 = deallocation, bytes), written by nsys or by
 * `gprof-cli profile --cuda-memory-usage=true`.  Host kinds (memKind 0 pageable,
 * 1 pinned) are left out: the report is about device memory.
 *
 * Method: per (process, device) the events are replayed in (start, rowid) order keeping
 * a running total of bytes allocated minus bytes freed.  The process peak is the first
 * time the total reaches its maximum.  A range instance's peak is the maximum of the
 * total while it is open: the total at its start, and after each event up to its end.
 */
#include "cuda_common.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const needs[] = {"CUDA_GPU_MEMORY_USAGE_EVENTS", NULL};

struct mev {
	int64_t t, level; /* event time (ns), bytes in use after it */
	int op;		  /* 0 alloc, 1 free, 2 neither (a known level: the host peak) */
};

struct mrange {
	char *name;
	int64_t start, end;
};

struct peak_ctx {
	sqlite3 *db;
	sqlite3_stmt *ins, *rq;
	int have_nvtx;
};

/* First index with t >= x (n when none). */
static size_t lower(const struct mev *e, size_t n, int64_t x)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (e[mid].t < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* First index with t > x (n when none). */
static size_t upper(const struct mev *e, size_t n, int64_t x)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (e[mid].t <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int insert_row(struct peak_ctx *c, int64_t gpid, int64_t dev, const char *range,
		      int64_t inst, int64_t peak, int64_t when, int64_t allocs, int64_t frees,
		      const char *owns, const char *open, int64_t ord)
{
	sqlite3_stmt *s = c->ins;

	sqlite3_bind_int64(s, 1, (gpid >> 24) & 0xFFFFFF);
	sqlite3_bind_int64(s, 2, dev);
	if (range)
		sqlite3_bind_text(s, 3, range, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, 3);
	if (inst >= 0)
		sqlite3_bind_int64(s, 4, inst);
	else
		sqlite3_bind_null(s, 4);
	sqlite3_bind_int64(s, 5, peak);
	sqlite3_bind_int64(s, 6, when);
	sqlite3_bind_int64(s, 7, allocs);
	sqlite3_bind_int64(s, 8, frees);
	if (owns)
		sqlite3_bind_text(s, 9, owns, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, 9);
	if (open)
		sqlite3_bind_text(s, 10, open, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, 10);
	sqlite3_bind_int64(s, 11, ord);
	if (sqlite3_step(s) != SQLITE_DONE) {
		sqlite3_reset(s);
		return error("cannot store the memory peak rows: %s", sqlite3_errmsg(c->db));
	}
	sqlite3_reset(s);
	return 0;
}

/* Push/pop ranges of process gpid, sorted by name then start. */
static int load_proc_ranges(struct peak_ctx *c, int64_t gpid, struct mrange **out, size_t *nout)
{
	struct mrange *r = NULL;
	size_t n = 0, alloc = 0;

	*out = NULL;
	*nout = 0;
	if (!c->have_nvtx)
		return 0;
	sqlite3_bind_int64(c->rq, 1, gpid);
	while (sqlite3_step(c->rq) == SQLITE_ROW) {
		const unsigned char *nm = sqlite3_column_text(c->rq, 0);

		GP_ALLOC_GROW(r, n + 1, alloc);
		r[n].name = xstrdup(nm ? (const char *)nm : "");
		r[n].start = sqlite3_column_int64(c->rq, 1);
		r[n].end = sqlite3_column_int64(c->rq, 2);
		n++;
	}
	sqlite3_reset(c->rq);
	*out = r;
	*nout = n;
	return 0;
}

static int cmp_open(const void *a, const void *b)
{
	const struct mrange *x = *(const struct mrange *const *)a;
	const struct mrange *y = *(const struct mrange *const *)b;

	/* innermost first: latest start, then earliest end */
	if (x->start != y->start)
		return x->start > y->start ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return 0;
}

static int emit_group(struct peak_ctx *c, int64_t gpid, int64_t dev, const struct mev *e, size_t n)
{
	struct mrange *r;
	size_t nr, i, j, nopen = 0;
	int64_t peak = 0, when = 0, allocs = 0, frees = 0, ord = 1;
	const struct mrange **open;
	struct strbuf os = STRBUF_INIT;
	int rc = 0;

	for (i = 0; i < n; i++) {
		if (i == 0 || e[i].level > peak) {
			peak = e[i].level;
			when = e[i].t;
		}
		allocs += e[i].op == 0;
		frees += e[i].op == 1;
	}
	if (load_proc_ranges(c, gpid, &r, &nr))
		return -1;

	/* ranges open at the peak instant, innermost first */
	open = xcalloc(nr ? nr : 1, sizeof(*open));
	for (i = 0; i < nr; i++)
		if (r[i].start <= when && r[i].end >= when)
			open[nopen++] = &r[i];
	qsort(open, nopen, sizeof(*open), cmp_open);
	for (i = 0; i < nopen; i++) {
		if (i)
			strbuf_addstr(&os, " < ");
		strbuf_addstr(&os, open[i]->name);
	}
	rc = insert_row(c, gpid, dev, NULL, -1, peak, when, allocs, frees, NULL,
			nopen ? os.buf : NULL, 0);

	/* one row per range name: the highest peak of its instances */
	for (i = 0; rc == 0 && i < nr; i = j) {
		int64_t rpeak = -1, rwhen = 0, ra = 0, rf = 0, inst = 0;
		int owns = 0;

		for (j = i; j < nr && !strcmp(r[j].name, r[i].name); j++) {
			size_t k0 = upper(e, n, r[j].start), lo = lower(e, n, r[j].start);
			size_t hi = upper(e, n, r[j].end);
			int64_t p = k0 ? e[k0 - 1].level : 0, pw = r[j].start;

			for (size_t k = k0; k < hi; k++)
				if (e[k].level > p) {
					p = e[k].level;
					pw = e[k].t;
				}
			for (size_t k = lo; k < hi; k++) {
				ra += e[k].op == 0;
				rf += e[k].op == 1;
			}
			if (p > rpeak) {
				rpeak = p;
				rwhen = pw;
			}
			if (r[j].start <= when && r[j].end >= when)
				owns = 1;
			inst++;
		}
		rc = insert_row(c, gpid, dev, r[i].name, inst, rpeak, rwhen, ra, rf,
				owns ? "Yes" : "No", NULL, ord++);
	}
	for (i = 0; i < nr; i++)
		free(r[i].name);
	free(r);
	free(open);
	strbuf_release(&os);
	return rc;
}

int stats_mem_peak_build(sqlite3 *db, const char *table, const char *events, int absolute)
{
	struct peak_ctx c = {db, NULL, NULL, 0};
	sqlite3_stmt *q = NULL;
	struct mev *e = NULL;
	size_t n = 0, alloc = 0;
	int64_t gpid = 0, dev = 0, level = 0;
	int rc = -1, step;
	struct strbuf sql = STRBUF_INIT;

	if (cuda_nvtx_build(db))
		return -1;
	strbuf_addf(&sql,
		    "DROP TABLE IF EXISTS temp.%s;"
		    "CREATE TEMP TABLE %s (pid INTEGER, dev INTEGER, range TEXT, "
		    "inst INTEGER, peak INTEGER, peakTime INTEGER, allocs INTEGER, "
		    "frees INTEGER, owns TEXT, openAtPeak TEXT, ord INTEGER)",
		    table, table);
	if (cuda_exec(db, sql.buf))
		goto out;
	strbuf_reset(&sql);
	strbuf_addf(&sql, "INSERT INTO temp.%s VALUES (?,?,?,?,?,?,?,?,?,?,?)", table);
	c.have_nvtx = stats_table_exists(db, "NVTX_EVENTS");
	if (sqlite3_prepare_v2(db, sql.buf, -1, &c.ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "SELECT name, startNS, endNS FROM temp.GP_NVTX_RANGES "
			       "WHERE style = 'PushPop' AND (globalTid & " CUDA_GPID_MASK ") = ?1 "
			       "ORDER BY name, startNS",
			       -1, &c.rq, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, events, -1, &q, NULL) != SQLITE_OK) {
		error("cannot read the memory usage events: %s", sqlite3_errmsg(db));
		goto out;
	}
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t p = sqlite3_column_int64(q, 0), d = sqlite3_column_int64(q, 1);
		int op = sqlite3_column_int(q, 3);

		if (n && (p != gpid || d != dev)) {
			if (emit_group(&c, gpid, dev, e, n))
				goto out;
			n = 0;
		}
		if (!n)
			level = 0;
		gpid = p;
		dev = d;
		if (absolute)
			level = sqlite3_column_int64(q, 4);
		else
			level += op == 0 ? sqlite3_column_int64(q, 4) : -sqlite3_column_int64(q, 4);
		GP_ALLOC_GROW(e, n + 1, alloc);
		e[n].t = sqlite3_column_int64(q, 2);
		e[n].level = level;
		e[n].op = op;
		n++;
	}
	if (step != SQLITE_DONE) {
		error("cannot read the memory usage events: %s", sqlite3_errmsg(db));
		goto out;
	}
	if (n && emit_group(&c, gpid, dev, e, n))
		goto out;
	rc = 0;
out:
	strbuf_release(&sql);
	free(e);
	sqlite3_finalize(q);
	sqlite3_finalize(c.ins);
	sqlite3_finalize(c.rq);
	return rc;
}

static int query(sqlite3 *db, const struct stats_args *a, struct strbuf *sql)
{
	if (stats_mem_peak_build(db, "GP_MEM_PEAK", STATS_GPU_MEM_EVENTS, 0))
		return -1;
	strbuf_addstr(sql, "SELECT pid AS \"PID\", dev AS \"DevId\", range AS \"Range\", "
			   "inst AS \"Instances\", peak AS \"Peak:mem_B\", "
			   "peakTime AS \"Peak Time:ts_ns\", allocs AS \"Allocs\", "
			   "frees AS \"Frees\", owns AS \"Owns Peak\", "
			   "openAtPeak AS \"Open At Peak\" FROM temp.GP_MEM_PEAK "
			   "ORDER BY pid, dev, ord = 0 DESC, peak DESC, range");
	return 0;
}

const struct stats_report stats_report_cuda_gpu_mem_peak = {
    .name = "cuda_gpu_mem_peak",
    .display = "CUDA GPU Memory Peak",
    .help = "cuda_gpu_mem_peak -- CUDA GPU Memory Peak (gprof-cli; not in nsys)\n"
	    "\n"
	    "    No arguments.  Needs a report recorded with --cuda-memory-usage=true.\n"
	    "\n"
	    "    Output: sizes in MB (10^6 bytes), times in nanoseconds\n"
	    "        PID : process\n"
	    "        DevId : CUDA device\n"
	    "        Range : empty on the process row; else an NVTX push/pop range name,\n"
	    "            \"<domain>:<message>\", of a thread of that process\n"
	    "        Instances : instances of the range\n"
	    "        Peak : process row: the most device memory in use at once;\n"
	    "            range row: the most in use while an instance was open\n"
	    "        Peak Time : when that peak was first reached\n"
	    "        Allocs, Frees : allocation and free events (range row: those that\n"
	    "            happened while an instance was open)\n"
	    "        Owns Peak : Yes when an instance of the range was open at the\n"
	    "            process peak\n"
	    "        Open At Peak : process row: the ranges open on any thread of the\n"
	    "            process at the peak, innermost first, joined by \" < \"\n"
	    "\n"
	    "    Replays CUDA_GPU_MEMORY_USAGE_EVENTS (allocations add bytes, frees\n"
	    "    subtract them; host pageable and pinned memory left out) per process\n"
	    "    and device, and says which NVTX ranges own the peak.  Rows: the\n"
	    "    process row first, then ranges by peak, largest first.\n",
    .args = NULL,
    .needs = needs,
    .skip_what = "CUDA memory usage data",
    .query = query,
};
