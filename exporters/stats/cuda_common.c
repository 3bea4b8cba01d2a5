/* cuda_common.c - see cuda_common.h. */
#include "cuda_common.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cuda_exec(sqlite3 *db, const char *sql)
{
	return stats_exec(db, sql, "cannot prepare the CUDA report tables");
}

void cuda_api_name_sql(struct strbuf *sb, const char *expr)
{
	strbuf_addf(sb,
		    "CASE substr(%s, -6, 2) WHEN '_v' THEN substr(%s, 1, length(%s) - 6) "
		    "ELSE %s END",
		    expr, expr, expr, expr);
}

int cuda_gpuops_sql(sqlite3 *db, struct strbuf *sb)
{
	static const char *const tables[] = {"CUPTI_ACTIVITY_KIND_KERNEL",
					     "CUPTI_ACTIVITY_KIND_MEMCPY",
					     "CUPTI_ACTIVITY_KIND_MEMSET"};
	int n = 0;

	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		if (!stats_table_exists(db, tables[i]))
			continue;
		if (n++)
			strbuf_addstr(sb, " UNION ALL ");
		strbuf_addf(sb, "SELECT start, end, correlationId, globalPid FROM %s", tables[i]);
	}
	return n;
}

static const char *const memcpy_labels[] = {"Unknown",
					    "Host-to-Device",
					    "Device-to-Host",
					    "Host-to-Array",
					    "Array-to-Host",
					    "Array-to-Array",
					    "Array-to-Device",
					    "Device-to-Array",
					    "Device-to-Device",
					    "Host-to-Host",
					    "Peer-to-Peer",
					    "Unified Host-to-Device",
					    "Unified Device-to-Host",
					    "Unified Device-to-Device"};

const char *cuda_memcpy_label(int64_t kind)
{
	return kind >= 0 && kind < (int64_t)(sizeof(memcpy_labels) / sizeof(memcpy_labels[0]))
		   ? memcpy_labels[kind]
		   : "Unknown";
}

void cuda_memcpy_label_sql(sqlite3 *db, struct strbuf *sb, const char *expr)
{
	if (stats_table_exists(db, "ENUM_CUDA_MEMCPY_OPER")) {
		strbuf_addf(sb, "(SELECT label FROM ENUM_CUDA_MEMCPY_OPER WHERE id = %s)", expr);
		return;
	}
	strbuf_addf(sb, "CASE %s", expr);
	for (size_t i = 0; i < sizeof(memcpy_labels) / sizeof(memcpy_labels[0]); i++)
		strbuf_addf(sb, " WHEN %zu THEN '%s'", i, memcpy_labels[i]);
	strbuf_addstr(sb, " END");
}

int cuda_memops_sql(sqlite3 *db, struct strbuf *sb, const char *cols)
{
	int n = 0;

	if (stats_table_exists(db, "CUPTI_ACTIVITY_KIND_MEMCPY")) {
		strbuf_addstr(sb, "SELECT '[CUDA memcpy ' || ");
		cuda_memcpy_label_sql(db, sb, "copyKind");
		strbuf_addf(sb, " || ']' AS name, %s FROM CUPTI_ACTIVITY_KIND_MEMCPY", cols);
		n++;
	}
	if (stats_table_exists(db, "CUPTI_ACTIVITY_KIND_MEMSET")) {
		if (n++)
			strbuf_addstr(sb, " UNION ALL ");
		strbuf_addf(
		    sb, "SELECT '[CUDA memset]' AS name, %s FROM CUPTI_ACTIVITY_KIND_MEMSET", cols);
	}
	return n;
}

/* ---- NVTX ranges and containment -------------------------------------------------- */

struct nv_range {
	int64_t id, tid, start, end;
	int64_t parent; /* index into the array, -1 at top level */
	int level;
	char *stack;
};

struct nv_vec {
	size_t n, alloc;
	size_t *v;
};

static void vec_push(struct nv_vec *a, size_t x)
{
	GP_ALLOC_GROW(a->v, a->n + 1, a->alloc);
	a->v[a->n++] = x;
}

/* Drop active ranges that ended before `t`: they cannot contain anything starting later.
 * Past STATS_NVTX_DEPTH_MAX active ranges (a damaged report) the oldest are dropped too. */
static void vec_prune(struct nv_vec *a, const struct nv_range *r, int64_t t)
{
	size_t j = 0, skip = a->n > STATS_NVTX_DEPTH_MAX ? a->n - STATS_NVTX_DEPTH_MAX : 0;

	for (size_t i = skip; i < a->n; i++)
		if (r[a->v[i]].end >= t)
			a->v[j++] = a->v[i];
	a->n = j;
}

static int load_ranges(sqlite3 *db, struct nv_range **out, size_t *nout)
{
	sqlite3_stmt *st;
	struct nv_range *r = NULL;
	size_t n = 0, alloc = 0;

	if (sqlite3_prepare_v2(db,
			       "SELECT rangeId, globalTid, startNS, endNS FROM temp.GP_NVTX_RANGES "
			       "ORDER BY globalTid, startNS, endNS DESC, rangeId",
			       -1, &st, NULL) != SQLITE_OK)
		return error("cannot read the NVTX ranges: %s", sqlite3_errmsg(db));
	while (sqlite3_step(st) == SQLITE_ROW) {
		GP_ALLOC_GROW(r, n + 1, alloc);
		r[n].id = sqlite3_column_int64(st, 0);
		r[n].tid = sqlite3_column_int64(st, 1);
		r[n].start = sqlite3_column_int64(st, 2);
		r[n].end = sqlite3_column_int64(st, 3);
		r[n].parent = -1;
		r[n].level = 0;
		r[n].stack = NULL;
		n++;
	}
	sqlite3_finalize(st);
	*out = r;
	*nout = n;
	return 0;
}

/* Parent = tightest enclosing range on the same thread (nsys's NVTX_PARENT rule). */
static void link_parents(struct nv_range *r, size_t n)
{
	struct nv_vec act = {0, 0, NULL};

	for (size_t i = 0; i < n; i++) {
		int64_t best = -1;
		uint64_t bestt = 0;

		if (i == 0 || r[i].tid != r[i - 1].tid)
			act.n = 0;
		vec_prune(&act, r, r[i].start);
		for (size_t k = 0; k < act.n; k++) {
			const struct nv_range *p = &r[act.v[k]];
			uint64_t t, u;

			if (p->end < r[i].end)
				continue;
			/* p->start <= r[i].start (sort order) and p->end >= r[i].end: both
			 * distances fit in uint64; their sum saturates */
			t = (uint64_t)r[i].start - (uint64_t)p->start;
			u = (uint64_t)p->end - (uint64_t)r[i].end;
			t = t + u < t ? UINT64_MAX : t + u;
			if (best < 0 || t < bestt) {
				best = (int64_t)act.v[k];
				bestt = t;
			}
		}
		while (best >= 0 && r[best].level >= STATS_NVTX_DEPTH_MAX - 1)
			best = r[best].parent; /* damaged report: flatten (stats.h) */
		r[i].parent = best;
		r[i].level = best < 0 ? 0 : r[best].level + 1;
		r[i].stack = best < 0 ? xasprintf(":%lld", (long long)r[i].id)
				      : xasprintf("%s:%lld", r[best].stack, (long long)r[i].id);
		vec_push(&act, i);
	}
	free(act.v);
}

static int store_ranges(sqlite3 *db, const struct nv_range *r, size_t n)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db,
			       "UPDATE temp.GP_NVTX_RANGES SET parentId = ?2, level = ?3, "
			       "rangeStack = ?4 WHERE rangeId = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return error("cannot store the NVTX ranges: %s", sqlite3_errmsg(db));
	for (size_t i = 0; i < n; i++) {
		sqlite3_bind_int64(st, 1, r[i].id);
		if (r[i].parent < 0)
			sqlite3_bind_null(st, 2);
		else
			sqlite3_bind_int64(st, 2, r[r[i].parent].id);
		sqlite3_bind_int(st, 3, r[i].level);
		sqlite3_bind_text(st, 4, r[i].stack, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			sqlite3_finalize(st);
			return error("cannot store the NVTX ranges: %s", sqlite3_errmsg(db));
		}
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return 0;
}

/* Sweep the launch calls (sorted like the ranges) against the ranges of their thread. */
static int contain_calls(sqlite3 *db, const struct nv_range *r, size_t n)
{
	sqlite3_stmt *q, *ins;
	struct nv_vec act = {0, 0, NULL};
	size_t next = 0;
	int64_t cur_tid = 0;
	int have_tid = 0, rc = 0;

	if (sqlite3_prepare_v2(db,
			       "SELECT r.globalTid, r.start, r.end, r.correlationId, "
			       "r.globalTid & " CUDA_GPID_MASK
			       " FROM CUPTI_ACTIVITY_KIND_RUNTIME AS r "
			       "WHERE r.globalTid IN (SELECT globalTid FROM temp.GP_NVTX_RANGES) "
			       "AND r.correlationId IN (SELECT correlationId FROM temp.GP_GPUOPS) "
			       "ORDER BY r.globalTid, r.start",
			       -1, &q, NULL) != SQLITE_OK)
		return error("cannot read the CUDA API calls: %s", sqlite3_errmsg(db));
	if (sqlite3_prepare_v2(db, "INSERT INTO temp.GP_NVTX_CONTAIN VALUES (?1, ?2, ?3, ?4)", -1,
			       &ins, NULL) != SQLITE_OK) {
		sqlite3_finalize(q);
		return error("cannot store the NVTX containment: %s", sqlite3_errmsg(db));
	}
	while (sqlite3_step(q) == SQLITE_ROW) {
		int64_t tid = sqlite3_column_int64(q, 0), cs = sqlite3_column_int64(q, 1),
			ce = sqlite3_column_int64(q, 2), corr = sqlite3_column_int64(q, 3),
			gpid = sqlite3_column_int64(q, 4);
		int64_t inner = -1;

		if (!have_tid || tid != cur_tid) {
			act.n = 0;
			have_tid = 1;
			cur_tid = tid;
			while (next < n && r[next].tid < tid)
				next++;
		}
		while (next < n && r[next].tid == tid && r[next].start <= cs)
			vec_push(&act, next++);
		vec_prune(&act, r, cs);
		for (size_t k = 0; k < act.n; k++) {
			const struct nv_range *p = &r[act.v[k]];

			if (p->end < ce)
				continue;
			if (inner < 0 || p->start > r[inner].start ||
			    (p->start == r[inner].start && p->end <= r[inner].end))
				inner = (int64_t)act.v[k];
		}
		for (size_t k = 0; inner >= 0 && k < act.n; k++) {
			const struct nv_range *p = &r[act.v[k]];

			if (p->end < ce)
				continue;
			sqlite3_bind_int64(ins, 1, corr);
			sqlite3_bind_int64(ins, 2, gpid);
			sqlite3_bind_int64(ins, 3, p->id);
			sqlite3_bind_int(ins, 4, (int64_t)act.v[k] == inner);
			if (sqlite3_step(ins) != SQLITE_DONE) {
				rc = error("cannot store the NVTX containment: %s",
					   sqlite3_errmsg(db));
				goto out;
			}
			sqlite3_reset(ins);
		}
	}
out:
	free(act.v);
	sqlite3_finalize(q);
	sqlite3_finalize(ins);
	return rc;
}

static int fill_ranges_sql(sqlite3 *db)
{
	struct strbuf sb = STRBUF_INIT;
	int rc;
	int same_tid_end = stats_column_exists(db, "NVTX_EVENTS", "endGlobalTid");

	strbuf_addf(&sb,
		    "INSERT INTO temp.GP_NVTX_RANGES (rangeId, startNS, endNS, globalTid, name, "
		    "style) "
		    "WITH mm AS (SELECT max(max(start), coalesce(max(end), max(start))) AS mx "
		    "  FROM NVTX_EVENTS WHERE eventType IN (%d, %d, %d, %d)), "
		    "dom AS (SELECT ne.domainId AS id, ne.globalTid & 0x0000FFFFFF000000 AS gpid, "
		    "  coalesce(s.value, ne.text) AS name, min(ne.start) AS first "
		    "  FROM NVTX_EVENTS AS ne LEFT JOIN StringIds AS s ON ne.textId = s.id "
		    "  WHERE ne.eventType = %d GROUP BY 1, 2) "
		    "SELECT ne.rowid, ne.start, ifnull(ne.end, (SELECT mx FROM mm)), ne.globalTid, "
		    "  coalesce(d.name, '') || ':' || coalesce(s.value, ne.text, ''), "
		    "  CASE WHEN ne.eventType IN (%d, %d) THEN 'PushPop' ELSE 'StartEnd' END "
		    "FROM NVTX_EVENTS AS ne "
		    "LEFT JOIN dom AS d ON ne.domainId = d.id "
		    "  AND (ne.globalTid & 0x0000FFFFFF000000) = d.gpid "
		    "LEFT JOIN StringIds AS s ON ne.textId = s.id "
		    "WHERE ne.eventType IN (%d, %d, %d, %d)",
		    NVTX_EV_PUSHPOP, NVTX_EV_STARTEND, NVTXT_EV_PUSHPOP, NVTXT_EV_STARTEND,
		    NVTX_EV_DOMAIN_CREATE, NVTX_EV_PUSHPOP, NVTXT_EV_PUSHPOP, NVTX_EV_PUSHPOP,
		    NVTX_EV_STARTEND, NVTXT_EV_PUSHPOP, NVTXT_EV_STARTEND);
	/* A range that ends on another thread does not count (nsys: endGlobalTid IS NULL;
	 * a writer may also store the start thread itself there). */
	if (same_tid_end)
		strbuf_addstr(&sb,
			      " AND (ne.endGlobalTid IS NULL OR ne.endGlobalTid = ne.globalTid)");
	rc = cuda_exec(db, sb.buf);
	strbuf_release(&sb);
	return rc;
}

int cuda_runtime_view(sqlite3 *db)
{
	return cuda_exec(db, "DROP VIEW IF EXISTS temp.GP_RUNTIME_ONE; "
			     "CREATE TEMP VIEW GP_RUNTIME_ONE AS SELECT * "
			     "FROM CUPTI_ACTIVITY_KIND_RUNTIME "
			     "GROUP BY correlationId, globalTid & " CUDA_GPID_MASK);
}

int cuda_nvtx_build(sqlite3 *db)
{
	struct strbuf sb = STRBUF_INIT;
	struct nv_range *r = NULL;
	size_t n = 0;
	int rc = -1;

	if (stats_table_exists(db, "GP_NVTX_CONTAIN"))
		return 0;
	if (cuda_exec(db, "SAVEPOINT gp_nvtx_build"))
		return -1;
	if (cuda_exec(db, "CREATE TEMP TABLE GP_NVTX_RANGES (rangeId INTEGER PRIMARY KEY, "
			  "startNS INTEGER, endNS INTEGER, globalTid INTEGER, name TEXT, "
			  "style TEXT, parentId INTEGER, level INTEGER, rangeStack TEXT);"
			  "CREATE TEMP TABLE GP_NVTX_CONTAIN (correlationId INTEGER, "
			  "globalPid INTEGER, rangeId INTEGER, innermost INTEGER);"))
		goto out;

	strbuf_addstr(&sb, "CREATE TEMP TABLE GP_GPUOPS AS ");
	if (!cuda_gpuops_sql(db, &sb))
		strbuf_addstr(&sb, "SELECT NULL AS start, NULL AS end, NULL AS correlationId, "
				   "NULL AS globalPid WHERE 0");
	strbuf_addstr(&sb, "; CREATE INDEX temp.GP_GPUOPS_CORR ON GP_GPUOPS (correlationId)");
	if (cuda_exec(db, sb.buf))
		goto out;

	if (stats_table_exists(db, "NVTX_EVENTS") && stats_table_exists(db, "StringIds")) {
		if (fill_ranges_sql(db) || load_ranges(db, &r, &n))
			goto out;
		link_parents(r, n);
		if (store_ranges(db, r, n))
			goto out;
		if (stats_table_exists(db, "CUPTI_ACTIVITY_KIND_RUNTIME") &&
		    contain_calls(db, r, n))
			goto out;
	}
	if (cuda_exec(db, "CREATE INDEX temp.GP_NVTX_CONTAIN_CORR ON GP_NVTX_CONTAIN "
			  "(correlationId, globalPid);"
			  "CREATE INDEX temp.GP_NVTX_RANGES_PARENT ON GP_NVTX_RANGES (parentId);"))
		goto out;
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		free(r[i].stack);
	free(r);
	strbuf_release(&sb);
	if (rc) {
		sqlite3_exec(db, "ROLLBACK TO gp_nvtx_build; RELEASE gp_nvtx_build", NULL, NULL,
			     NULL);
		return -1;
	}
	return cuda_exec(db, "RELEASE gp_nvtx_build");
}

int cuda_kernel_view(sqlite3 *db, const struct stats_args *args)
{
	struct strbuf sb = STRBUF_INIT;
	const char *col = "demangledName";
	int nvtx = stats_has_arg(args, "nvtx-name");
	int rc;

	if (stats_has_arg(args, "base"))
		col = "shortName";
	else if (stats_has_arg(args, "mangled") &&
		 stats_column_exists(db, "CUPTI_ACTIVITY_KIND_KERNEL", "mangledName"))
		col = "mangledName";
	if (nvtx && cuda_nvtx_build(db))
		return -1;

	strbuf_addf(&sb,
		    "DROP VIEW IF EXISTS temp.CUPTI_ACTIVITY_KIND_KERNEL_NAMED; "
		    "CREATE TEMP VIEW CUPTI_ACTIVITY_KIND_KERNEL_NAMED AS SELECT k.*, k.rowid AS "
		    "kernelRowId, "
		    "%s s.value "
		    "AS name FROM CUPTI_ACTIVITY_KIND_KERNEL AS k "
		    "LEFT JOIN StringIds AS s ON s.id = coalesce(k.%s, k.demangledName)",
		    nvtx ? "ifnull(g.name || '/', '') ||" : "", col);
	if (nvtx)
		strbuf_addstr(&sb, " LEFT JOIN temp.GP_NVTX_CONTAIN AS c "
				   "ON c.correlationId = k.correlationId "
				   "AND c.globalPid = k.globalPid AND c.innermost = 1 "
				   "LEFT JOIN temp.GP_NVTX_RANGES AS g ON g.rangeId = c.rangeId");
	rc = cuda_exec(db, sb.buf);
	strbuf_release(&sb);
	return rc;
}

void cuda_nvtx_proj_sql(struct strbuf *sb)
{
	/* p0: per range, its GPU ops; child: per parent, children that have GPU ops */
	strbuf_addstr(sb, "WITH p0 AS MATERIALIZED (SELECT c.rangeId AS rangeId, "
			  "min(o.start) AS projStart, max(o.end) - min(o.start) AS projDuration, "
			  "count(DISTINCT c.correlationId) AS opNb "
			  "FROM temp.GP_NVTX_CONTAIN AS c "
			  "JOIN temp.GP_GPUOPS AS o ON o.correlationId = c.correlationId "
			  "AND o.globalPid = c.globalPid GROUP BY c.rangeId), "
			  "child AS (SELECT g.parentId AS parentId, count(*) AS childNb "
			  "FROM p0 JOIN temp.GP_NVTX_RANGES AS g ON g.rangeId = p0.rangeId "
			  "WHERE g.parentId IS NOT NULL GROUP BY g.parentId), "
			  "proj AS (SELECT g.name AS name, g.style AS style, g.rangeId AS rangeId, "
			  "g.parentId AS parentId, g.rangeStack AS rangeStack, g.level AS level, "
			  "ifnull(ch.childNb, 0) AS childNb, "
			  "(g.globalTid >> 24) & 0xFFFFFF AS pid, g.globalTid & 0xFFFFFF AS tid, "
			  "g.startNS AS nvtxStart, g.endNS - g.startNS AS nvtxDuration, "
			  "p0.projStart AS projStart, p0.projDuration AS projDuration, "
			  "p0.opNb AS opNb FROM p0 JOIN temp.GP_NVTX_RANGES AS g "
			  "ON g.rangeId = p0.rangeId "
			  "LEFT JOIN child AS ch ON ch.parentId = g.rangeId) ");
}

const char *const cuda_kern_args[] = {"nvtx-name", "base", "mangled", NULL};
const char *const cuda_kern_needs[] = {"StringIds", "CUPTI_ACTIVITY_KIND_KERNEL", NULL};
const char *const cuda_nvtx_proj_needs[] = {"StringIds", "NVTX_EVENTS",
					    "CUPTI_ACTIVITY_KIND_RUNTIME", NULL};
const char *const cuda_nvtx_proj_needs_what[] = {
    "StringIds table", "NV Tools Extension (NVTX) data", "CUDA API data", NULL};
const char *const cuda_nvtx_proj_needs_any[] = {
    "CUPTI_ACTIVITY_KIND_KERNEL", "CUPTI_ACTIVITY_KIND_MEMCPY", "CUPTI_ACTIVITY_KIND_MEMSET", NULL};

int cuda_category_sum_sql(sqlite3 *db, const struct stats_args *a, int with_api, struct strbuf *sql)
{
	int n = 0;

	strbuf_addstr(sql, "WITH apigpu AS (");
	if (with_api && stats_table_exists(db, "CUPTI_ACTIVITY_KIND_RUNTIME")) {
		strbuf_addstr(sql, "SELECT ");
		cuda_api_name_sql(sql, "s.value");
		strbuf_addstr(sql, " AS name, r.end - r.start AS dur, 'CUDA_API' AS category "
				   "FROM CUPTI_ACTIVITY_KIND_RUNTIME AS r "
				   "LEFT JOIN StringIds AS s ON s.id = r.nameId");
		n++;
	}
	if (stats_table_exists(db, "CUPTI_ACTIVITY_KIND_KERNEL")) {
		if (cuda_kernel_view(db, a))
			return -1;
		if (n++)
			strbuf_addstr(sql, " UNION ALL ");
		strbuf_addstr(sql, "SELECT name, end - start AS dur, 'CUDA_KERNEL' AS category "
				   "FROM CUPTI_ACTIVITY_KIND_KERNEL_NAMED");
	}
	if (stats_table_exists(db, "CUPTI_ACTIVITY_KIND_MEMCPY") ||
	    stats_table_exists(db, "CUPTI_ACTIVITY_KIND_MEMSET")) {
		if (n++)
			strbuf_addstr(sql, " UNION ALL ");
		cuda_memops_sql(db, sql, "end - start AS dur, 'MEMORY_OPER' AS category");
	}
	if (!n)
		strbuf_addstr(sql, "SELECT NULL AS name, NULL AS dur, NULL AS category WHERE 0");
	strbuf_addstr(sql,
		      "), summary AS (SELECT name, category, sum(dur) AS total, count(*) AS num, "
		      "avg(dur) AS avg, median(dur) AS med, min(dur) AS min, max(dur) AS max, "
		      "stdev(dur) AS stddev, lower_quartile(dur) AS q1, upper_quartile(dur) AS q3 "
		      "FROM apigpu GROUP BY 1, 2), "
		      "totals AS (SELECT sum(total) AS total FROM summary) "
		      "SELECT round(total * 100.0 / (SELECT total FROM totals), 1) AS "
		      "\"Time:ratio_%\", total AS \"Total Time:dur_ns\", num AS \"Instances\", "
		      "round(avg, 1) AS \"Avg:dur_ns\", round(med, 1) AS \"Med:dur_ns\", "
		      "min AS \"Min:dur_ns\", max AS \"Max:dur_ns\", "
		      "round(stddev, 1) AS \"StdDev:dur_ns\", category AS \"Category\", "
		      "name AS \"Operation\", q1 AS \"_Q1\", q3 AS \"_Q3\" "
		      "FROM summary ORDER BY 2 DESC, name, category");
	return 0;
}
