/*
 * nvtx_pushpop_trace.c - NVTX Push/Pop Range Trace (nsys "nvtx_pushpop_trace").
 *
 * Nesting is computed per thread with a stack: ranges of one thread sorted by start
 * (then longer first, then earlier row) are pushed; a range whose interval does not
 * fit inside the stack top pops it.  The enclosing range of a push/pop range is the
 * innermost range of the same thread that contains it (nsys: the "tightest" parent).
 * The result goes into TEMP table gp_nvtx_pushpop (recomputed on every run) and the
 * report selects from it.  Output conventions as nsys: RangeId is the NVTX_EVENTS
 * rowid, RangeStack ":<root id>:...:<own id>", NameTree the name prefixed with "--"
 * per level, rows ordered by start then duration.
 */
#include <stdlib.h>
#include <string.h>

#include "exporters/stats.h"
#include "exporters/stats/nvtx_common.h"

static const char *const needs[] = {"StringIds", "NVTX_EVENTS", NULL};

struct rng {
	int64_t id, start, end, tid;
	int64_t parent; /* rangeId, 0 = none */
	int64_t dur_child;
	int64_t nchild;
	int level;
	char *stack;
};

static int exec(sqlite3 *db, const char *sql)
{
	return stats_exec(db, sql, "nvtx_pushpop_trace");
}

static int query(sqlite3 *db, const struct stats_args *args, struct strbuf *sql)
{
	sqlite3_stmt *st = NULL, *ins = NULL;
	struct rng *r = NULL;
	size_t n = 0, alloc = 0, *stack = NULL, depth = 0;
	int rc, ret = -1;
	struct strbuf sb = STRBUF_INIT;

	if (exec(db, "DROP TABLE IF EXISTS temp.gp_nvtx_pushpop;"
		     "CREATE TEMP TABLE gp_nvtx_pushpop (rangeId INTEGER PRIMARY KEY, "
		     "parentId INTEGER, lvl INTEGER, numChild INTEGER, durChild INTEGER, "
		     "rangeStack TEXT)"))
		return -1;
	strbuf_addstr(&sb, "WITH " NVTX_RANGES_CTE "\n"
			   "SELECT rangeId, start, end, globalTid FROM nvtx_rng\n"
			   "WHERE eventType = " NVTX_EV_PUSHPOP_S "\n"
			   "ORDER BY globalTid, start, end DESC, rangeId");
	if (sqlite3_prepare_v2(db, sb.buf, -1, &st, NULL) != SQLITE_OK) {
		error("nvtx_pushpop_trace: %s", sqlite3_errmsg(db));
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct rng *x;
		if (n == alloc) {
			alloc = alloc ? alloc * 2 : 256;
			r = xrealloc(r, alloc * sizeof(*r));
			stack = xrealloc(stack, alloc * sizeof(*stack));
		}
		x = &r[n];
		memset(x, 0, sizeof(*x));
		x->id = sqlite3_column_int64(st, 0);
		x->start = sqlite3_column_int64(st, 1);
		x->end = sqlite3_column_int64(st, 2);
		x->tid = sqlite3_column_int64(st, 3);
		/* new thread: empty the stack */
		if (n && r[n - 1].tid != x->tid)
			depth = 0;
		while (depth && !(r[stack[depth - 1]].start <= x->start &&
				  x->end <= r[stack[depth - 1]].end))
			depth--;
		if (depth >= STATS_NVTX_DEPTH_MAX) /* damaged report: flatten (stats.h) */
			depth = STATS_NVTX_DEPTH_MAX - 1;
		strbuf_reset(&sb);
		if (depth) {
			struct rng *p = &r[stack[depth - 1]];
			x->parent = p->id;
			x->level = (int)depth;
			p->nchild++;
			p->dur_child = stats_sat_add(p->dur_child, stats_sat_sub(x->end, x->start));
			strbuf_addstr(&sb, p->stack);
		}
		strbuf_addf(&sb, ":%lld", (long long)x->id);
		x->stack = xstrdup(sb.buf);
		stack[depth++] = n;
		n++;
	}
	if (rc != SQLITE_DONE) {
		error("nvtx_pushpop_trace: %s", sqlite3_errmsg(db));
		goto out;
	}
	if (exec(db, "BEGIN"))
		goto out;
	if (sqlite3_prepare_v2(db,
			       "INSERT INTO temp.gp_nvtx_pushpop VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
			       -1, &ins, NULL) != SQLITE_OK) {
		error("nvtx_pushpop_trace: %s", sqlite3_errmsg(db));
		exec(db, "ROLLBACK");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		sqlite3_bind_int64(ins, 1, r[i].id);
		if (r[i].parent)
			sqlite3_bind_int64(ins, 2, r[i].parent);
		else
			sqlite3_bind_null(ins, 2);
		sqlite3_bind_int(ins, 3, r[i].level);
		sqlite3_bind_int64(ins, 4, r[i].nchild);
		sqlite3_bind_int64(ins, 5, r[i].dur_child);
		sqlite3_bind_text(ins, 6, r[i].stack, -1, SQLITE_STATIC);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			error("nvtx_pushpop_trace: %s", sqlite3_errmsg(db));
			exec(db, "ROLLBACK");
			goto out;
		}
		sqlite3_reset(ins);
	}
	if (exec(db, "COMMIT"))
		goto out;

	strbuf_addstr(sql,
		      "WITH " NVTX_RANGES_CTE "\n"
		      "SELECT r.start AS \"Start:ts_ns\", r.end AS \"End:ts_ns\",\n"
		      "  r.dur AS \"Duration:dur_ns\", p.durChild AS \"DurChild:dur_ns\",\n"
		      "  r.dur - p.durChild AS \"DurNonChild:dur_ns\", r.name AS \"Name\",\n"
		      "  (r.globalTid >> 24) & 0xFFFFFF AS \"PID\",\n"
		      "  r.globalTid & 0xFFFFFF AS \"TID\", p.lvl AS \"Lvl\",\n"
		      "  p.numChild AS \"NumChild\", r.rangeId AS \"RangeId\",\n"
		      "  p.parentId AS \"ParentId\", p.rangeStack AS \"RangeStack\",\n"
		      "  substr('--------------------------------------------------------'\n"
		      "         || '--------------------------------------------------------',\n"
		      "         1, 2 * p.lvl) || r.name AS \"NameTree\"\n"
		      "FROM nvtx_rng AS r JOIN temp.gp_nvtx_pushpop AS p ON p.rangeId = r.rangeId\n"
		      "ORDER BY r.start, r.dur, r.rangeId");
	ret = 0;
out:
	for (size_t i = 0; i < n; i++)
		free(r[i].stack);
	free(r);
	free(stack);
	sqlite3_finalize(st);
	sqlite3_finalize(ins);
	strbuf_release(&sb);
	return ret;
}

const struct stats_report stats_report_nvtx_pushpop_trace = {
    .name = "nvtx_pushpop_trace",
    .display = "NVTX Push/Pop Range Trace",
    .help = "nvtx_pushpop_trace -- NVTX Push/Pop Range Trace\n"
	    "\n"
	    "    No arguments.\n"
	    "\n"
	    "    Output: all time values default to nanoseconds (see --timeunit)\n"
	    "        Start, End, Duration : the range's timestamps and duration\n"
	    "        DurChild : total duration of the direct child ranges\n"
	    "        DurNonChild : Duration minus DurChild\n"
	    "        Name : \"<domain>:<message>\"\n"
	    "        PID, TID : process and thread\n"
	    "        Lvl : stack level, 0 for an outermost range\n"
	    "        NumChild : number of direct child ranges\n"
	    "        RangeId : the range's NVTX_EVENTS rowid\n"
	    "        ParentId : RangeId of the enclosing range (empty at level 0)\n"
	    "        RangeStack : \":<id>:<id>...\" from the outermost range to this one\n"
	    "        NameTree : Name prefixed with \"--\" per level\n"
	    "\n"
	    "    Every NVTX push/pop range, nested per thread, sorted by start.\n",
    .args = NULL,
    .needs = needs,
    .skip_what = "NV Tools Extension (NVTX) data",
    .query = query,
};
