/*
 * test_timeline.c - `gprof-cli export --type perfetto|chrome-json` (exporters/timeline.h).
 *
 * The Perfetto output is decoded with `protoc --decode` against
 * tests/proto/perfetto_subset.proto (Perfetto's field numbers; skipped without protoc) and
 * checked: tracks and their names, slice counts per row, every track's BEGIN/END in time
 * order and nested, interned names resolved, flow ids paired (each API call's flow_ids
 * ends at a terminating_flow_ids), counter values.  The JSON is parsed with a strict
 * JSON reader and checked against the Trace Event Format: every event has ph, ts in µs
 * with at most three decimals; X has dur >= 0; B/E balanced and b/e paired per id; flow
 * s/f paired; metadata names.
 *
 * Inputs: a small report built here with SQL (exact expectations, and a golden decoded
 * trace: tests/fixtures/timeline_small.pftrace.txt); reports of the CPU programs
 * nvtx_app and osrt_app profiled with -t nvtx,osrt (counts against the report's own
 * tables); the nsys fixture (CUDA kernels and memcpy: stream tracks and flows).
 *
 * Environment: GPROF_CLI, BUILD (make check sets them), GPROF_SRCDIR (default .),
 * GPROF_FIXTURES; GPROF_UPDATE_GOLDEN=1 rewrites the golden trace from this run's output
 * (after a deliberate change of the format: review its diff before committing it).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/testutil.h"

static const char *gprof, *build, *srcdir;
static char *tmp;
static struct tu_run run_result;

/* ---- running gprof-cli ------------------------------------------------------------------ */

/* Run gprof-cli with the NULL-terminated args in tmp; the result in run_result. */
static struct tu_run *gp(const char *first, ...)
{
	const char *args[64];
	char out[PATH_MAX], err[PATH_MAX];
	int n = 0;
	va_list ap;

	args[n++] = first;
	va_start(ap, first);
	for (const char *a; (a = va_arg(ap, const char *)) && n < 63;)
		args[n++] = a;
	va_end(ap);
	args[n] = NULL;
	tu_pathf(out, tmp, ".out");
	tu_pathf(err, tmp, ".err");
	tu_finish(tu_spawn(gprof, args, tmp, out, err), &run_result, out, err);
	return &run_result;
}

static char *tpath(const char *name)
{
	static char buf[8][PATH_MAX];
	static int k;

	k = (k + 1) % 8;
	return tu_pathf(buf[k], tmp, name);
}

/* ---- a report made with SQL --------------------------------------------------------------
 * pid 100, threads 100 ("main") and 101 ("worker"), session start utc.
 *   NVTX push/pop on 100: outer [1000,9000] > inner [2000,3000], inner2 [3000,5000];
 *     dompush [9500,9600] in domain 1 "mydom", colour 0xff00ff00; mark "tick" at 4000;
 *   NVTX start/end on 100: A [1500,6000], B [5000,8000] (they overlap: two lanes);
 *   CUDA API on 100: cudaLaunchKernel [2100,2500] corr 7, cudaMemcpy [3100,3900] corr 8,
 *     cudaFree [6000,6100] corr 9 (no GPU work);
 *   GPU: kernel k1 [2600,4600] device 0 stream 7 corr 7, grid (2,1,1) block (128,1,1);
 *     memcpy HtoD [4700,5200] stream 7 corr 8, 4096 bytes; memset [5300,5400] stream 14;
 *   OSRT on 101: read [7000,7500];
 *   GPU memory on device 0: +1 MiB at 1200, +2 MiB at 2000, -1 MiB at 8000.
 */
#define GTID(pid, tid) ((1LL << 48) | ((long long)(pid) << 24) | (tid))

static void make_report(const char *path, long long utc, int pid)
{
	sqlite3 *db;
	char *sql;
	long long g0 = GTID(pid, pid), g1 = GTID(pid, pid + 1), gp0 = GTID(pid, 0);

	unlink(path);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sql = sqlite3_mprintf(
	    "CREATE TABLE StringIds (id INTEGER NOT NULL PRIMARY KEY, value TEXT NOT NULL);"
	    "INSERT INTO StringIds VALUES (1,'main'),(2,'worker'),(3,'cudaLaunchKernel'),"
	    " (4,'cudaMemcpy'),(5,'cudaFree'),(6,'k1(int)'),(7,'k1'),(8,'read'),(9,'inner2');"
	    "CREATE TABLE ThreadNames (nameId INTEGER NOT NULL, priority INTEGER, globalTid "
	    " INTEGER);"
	    "INSERT INTO ThreadNames VALUES (1,0,%lld),(2,0,%lld);"
	    "CREATE TABLE PROCESSES (globalPid INTEGER, pid INTEGER, name TEXT);"
	    "INSERT INTO PROCESSES VALUES (%lld,%d,'app');"
	    "CREATE TABLE TARGET_INFO_SESSION_START_TIME (utcEpochNs INTEGER, utcTime TEXT,"
	    " localTime TEXT);"
	    "INSERT INTO TARGET_INFO_SESSION_START_TIME VALUES (%lld,'','');"
	    "CREATE TABLE NVTX_EVENTS (start INTEGER NOT NULL, end INTEGER, eventType INTEGER"
	    " NOT NULL, rangeId INTEGER, category INTEGER, color INTEGER, text TEXT, globalTid"
	    " INTEGER, endGlobalTid INTEGER, textId INTEGER, domainId INTEGER, uint64Value"
	    " INTEGER, int64Value INTEGER, doubleValue REAL, uint32Value INTEGER, int32Value"
	    " INTEGER, floatValue REAL, jsonTextId INTEGER, jsonText TEXT, binaryData TEXT);"
	    "INSERT INTO NVTX_EVENTS (start,end,eventType,text,textId,globalTid,domainId,color,"
	    " uint64Value) VALUES"
	    " (500,NULL,75,'mydom',NULL,%lld,1,NULL,NULL),"
	    " (1000,9000,59,'outer',NULL,%lld,0,NULL,NULL),"
	    " (2000,3000,59,'inner',NULL,%lld,0,NULL,42),"
	    " (3000,5000,59,NULL,9,%lld,0,NULL,NULL),"
	    " (9500,9600,59,'dompush',NULL,%lld,1,4278255360,NULL),"
	    " (4000,NULL,34,'tick',NULL,%lld,0,NULL,NULL),"
	    " (1500,6000,60,'A',NULL,%lld,0,NULL,NULL),"
	    " (5000,8000,60,'B',NULL,%lld,0,NULL,NULL);"
	    "CREATE TABLE CUPTI_ACTIVITY_KIND_RUNTIME (start INTEGER NOT NULL, end INTEGER NOT"
	    " NULL, eventClass INTEGER NOT NULL, globalTid INTEGER, correlationId INTEGER,"
	    " nameId INTEGER NOT NULL, returnValue INTEGER NOT NULL, callchainId INTEGER);"
	    "INSERT INTO CUPTI_ACTIVITY_KIND_RUNTIME VALUES (2100,2500,0,%lld,7,3,0,NULL),"
	    " (3100,3900,0,%lld,8,4,0,NULL),(6000,6100,0,%lld,9,5,0,NULL);"
	    "CREATE TABLE CUPTI_ACTIVITY_KIND_KERNEL (start INTEGER NOT NULL, end INTEGER NOT"
	    " NULL, deviceId INTEGER NOT NULL, contextId INTEGER NOT NULL, greenContextId"
	    " INTEGER, streamId INTEGER NOT NULL, correlationId INTEGER, globalPid INTEGER,"
	    " demangledName INTEGER NOT NULL, shortName INTEGER NOT NULL, mangledName INTEGER,"
	    " launchType INTEGER, cacheConfig INTEGER, registersPerThread INTEGER NOT NULL,"
	    " gridX INTEGER NOT NULL, gridY INTEGER NOT NULL, gridZ INTEGER NOT NULL, blockX"
	    " INTEGER NOT NULL, blockY INTEGER NOT NULL, blockZ INTEGER NOT NULL,"
	    " staticSharedMemory INTEGER NOT NULL, dynamicSharedMemory INTEGER NOT NULL,"
	    " localMemoryPerThread INTEGER NOT NULL, localMemoryTotal INTEGER NOT NULL, gridId"
	    " INTEGER NOT NULL, sharedMemoryExecuted INTEGER, graphNodeId INTEGER,"
	    " sharedMemoryLimitConfig INTEGER);"
	    "INSERT INTO CUPTI_ACTIVITY_KIND_KERNEL VALUES (2600,4600,0,1,0,7,7,%lld,6,7,NULL,1,"
	    " 0,32,2,1,1,128,1,1,0,256,0,0,1,0,NULL,0);"
	    "CREATE TABLE CUPTI_ACTIVITY_KIND_MEMCPY (start INTEGER NOT NULL, end INTEGER NOT"
	    " NULL, deviceId INTEGER NOT NULL, contextId INTEGER NOT NULL, greenContextId"
	    " INTEGER, streamId INTEGER NOT NULL, correlationId INTEGER, globalPid INTEGER,"
	    " bytes INTEGER NOT NULL, copyKind INTEGER NOT NULL, deprecatedSrcId INTEGER,"
	    " srcKind INTEGER, dstKind INTEGER, srcDeviceId INTEGER, srcContextId INTEGER,"
	    " dstDeviceId INTEGER, dstContextId INTEGER, migrationCause INTEGER, graphNodeId"
	    " INTEGER, virtualAddress INTEGER, copyCount INTEGER);"
	    "INSERT INTO CUPTI_ACTIVITY_KIND_MEMCPY VALUES (4700,5200,0,1,0,7,8,%lld,4096,1,"
	    " NULL,0,2,0,1,0,1,NULL,NULL,NULL,1);"
	    "CREATE TABLE CUPTI_ACTIVITY_KIND_MEMSET (start INTEGER NOT NULL, end INTEGER NOT"
	    " NULL, deviceId INTEGER NOT NULL, contextId INTEGER NOT NULL, greenContextId"
	    " INTEGER, streamId INTEGER NOT NULL, correlationId INTEGER, globalPid INTEGER,"
	    " value INTEGER NOT NULL, bytes INTEGER NOT NULL, graphNodeId INTEGER, memKind"
	    " INTEGER);"
	    "INSERT INTO CUPTI_ACTIVITY_KIND_MEMSET VALUES (5300,5400,0,1,0,14,NULL,%lld,0,512,"
	    " NULL,2);"
	    "CREATE TABLE OSRT_API (start INTEGER NOT NULL, end INTEGER NOT NULL, eventClass"
	    " INTEGER NOT NULL, globalTid INTEGER, nameId INTEGER NOT NULL, returnValue INTEGER"
	    " NOT NULL, nestingLevel INTEGER, callchainId INTEGER NOT NULL);"
	    "INSERT INTO OSRT_API VALUES (7000,7500,27,%lld,8,64,0,0);"
	    "CREATE TABLE CUDA_GPU_MEMORY_USAGE_EVENTS (start INTEGER NOT NULL, globalPid"
	    " INTEGER NOT NULL, deviceId INTEGER NOT NULL, contextId INTEGER NOT NULL, address"
	    " INTEGER NOT NULL, pc INTEGER NOT NULL, bytes INTEGER NOT NULL, memKind INTEGER"
	    " NOT NULL, memoryOperationType INTEGER NOT NULL, name TEXT, correlationId"
	    " INTEGER, streamId INTEGER);"
	    "INSERT INTO CUDA_GPU_MEMORY_USAGE_EVENTS VALUES"
	    " (1200,%lld,0,1,4096,0,1048576,2,0,NULL,NULL,NULL),"
	    " (2000,%lld,0,1,8192,0,2097152,2,0,NULL,NULL,NULL),"
	    " (8000,%lld,0,1,4096,0,1048576,2,1,NULL,NULL,NULL);",
	    g0, g1, gp0, pid, utc, g0, g0, g0, g0, g0, g0, g0, g0, g0, g0, g0, gp0, gp0, gp0, g1,
	    gp0, gp0, gp0);
	assert_non_null(sql);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("make_report: %s", sqlite3_errmsg(db));
	sqlite3_free(sql);
	sqlite3_close(db);
}

/* ---- the decoded Perfetto trace --------------------------------------------------------- */

enum { TK_ROW, TK_PROCESS, TK_THREAD, TK_COUNTER };

struct dtrack {
	uint64_t uuid, parent;
	int kind;
	long long pid, tid;
	char name[200];
};

struct devent {
	long long ts;
	int type; /* 1 begin, 2 end, 3 instant, 4 counter */
	uint64_t uuid, name_iid, cat_iid, flow_out, flow_in;
	long long counter;
	char name[200]; /* inline name or resolved */
	int nargs;
};

struct dtrace {
	struct dtrack *tracks;
	size_t ntracks;
	struct devent *ev;
	size_t nev;
	char (*names)[200]; /* by iid */
	size_t nnames;
	char (*cats)[200];
	size_t ncats;
	char *text; /* protoc's output */
};

static int have_protoc(void)
{
	return system("protoc --version >/dev/null 2>&1") == 0;
}

/* protoc's text string: keep it as printed (escapes and all) */
static void str_value(const char *v, char *out, size_t n)
{
	const char *q = strchr(v, '"');
	size_t k = 0;

	out[0] = '\0';
	if (!q)
		return;
	for (q++; *q && !(*q == '"' && q[-1] != '\\') && k + 1 < n; q++)
		out[k++] = *q;
	out[k] = '\0';
}

static void set_interned(char (**arr)[200], size_t *n, uint64_t iid, const char *s)
{
	if (iid >= *n) {
		size_t m = iid + 64;

		*arr = realloc(*arr, m * sizeof(**arr));
		memset(*arr + *n, 0, (m - *n) * sizeof(**arr));
		*n = m;
	}
	snprintf((*arr)[iid], sizeof((*arr)[iid]), "%s", s);
}

/* Decode path with protoc into *t (the test fails when protoc fails). */
static void decode(const char *path, struct dtrace *t)
{
	char cmd[3 * PATH_MAX], line[4096], out[PATH_MAX];
	char stack[16][48];
	int depth = 0;
	struct devent ev;
	struct dtrack tr;
	int has_ev = 0, has_tr = 0;
	uint64_t iid = 0;
	char iname[200] = "";
	size_t cap_ev = 0, cap_tr = 0;
	FILE *f;

	memset(t, 0, sizeof(*t));
	snprintf(out, sizeof(out), "%s.txt", path);
	snprintf(cmd, sizeof(cmd),
		 "protoc --decode=gprof.perfetto.Trace -I '%s/tests/proto' "
		 "'%s/tests/proto/perfetto_subset.proto' < '%s' > '%s'",
		 srcdir, srcdir, path, out);
	assert_int_equal(system(cmd), 0);
	t->text = tu_slurp(out, NULL);
	assert_non_null(t->text);
	f = fopen(out, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *colon;
		const char *parent;

		while (*p == ' ')
			p++;
		if (*p == '}') {
			const char *closing = stack[--depth];

			if (!strcmp(closing, "event_names"))
				set_interned(&t->names, &t->nnames, iid, iname);
			else if (!strcmp(closing, "event_categories"))
				set_interned(&t->cats, &t->ncats, iid, iname);
			else if (!strcmp(closing, "packet")) {
				if (has_ev) {
					if (t->nev == cap_ev) {
						cap_ev = cap_ev ? 2 * cap_ev : 1024;
						t->ev = realloc(t->ev, cap_ev * sizeof(*t->ev));
					}
					t->ev[t->nev++] = ev;
				}
				if (has_tr) {
					if (t->ntracks == cap_tr) {
						cap_tr = cap_tr ? 2 * cap_tr : 64;
						t->tracks =
						    realloc(t->tracks, cap_tr * sizeof(*t->tracks));
					}
					t->tracks[t->ntracks++] = tr;
				}
			}
			continue;
		}
		colon = strchr(p, ':');
		if (!colon) { /* "name {" */
			char *sp = strchr(p, ' ');

			assert_non_null(sp);
			assert_true(depth < 16);
			snprintf(stack[depth], sizeof(stack[depth]), "%.*s", (int)(sp - p), p);
			if (!strcmp(stack[depth], "packet")) {
				memset(&ev, 0, sizeof(ev));
				memset(&tr, 0, sizeof(tr));
				has_ev = has_tr = 0;
			} else if (!strcmp(stack[depth], "track_event")) {
				has_ev = 1;
			} else if (!strcmp(stack[depth], "track_descriptor")) {
				has_tr = 1;
			} else if (!strcmp(stack[depth], "process")) {
				tr.kind = TK_PROCESS;
			} else if (!strcmp(stack[depth], "thread")) {
				tr.kind = TK_THREAD;
			} else if (!strcmp(stack[depth], "counter")) {
				tr.kind = TK_COUNTER;
			} else if (!strcmp(stack[depth], "debug_annotations")) {
				ev.nargs++;
			} else if (!strcmp(stack[depth], "event_names") ||
				   !strcmp(stack[depth], "event_categories")) {
				iid = 0;
				iname[0] = '\0';
			}
			depth++;
			continue;
		}
		*colon = '\0';
		parent = depth ? stack[depth - 1] : "";
		if (!strcmp(parent, "packet") && !strcmp(p, "timestamp")) {
			ev.ts = atoll(colon + 1);
		} else if (!strcmp(parent, "track_event")) {
			if (!strcmp(p, "type"))
				ev.type = strstr(colon + 1, "BEGIN")	 ? 1
					  : strstr(colon + 1, "END")	 ? 2
					  : strstr(colon + 1, "INSTANT") ? 3
									 : 4;
			else if (!strcmp(p, "track_uuid"))
				ev.uuid = strtoull(colon + 1, NULL, 10);
			else if (!strcmp(p, "name_iid"))
				ev.name_iid = strtoull(colon + 1, NULL, 10);
			else if (!strcmp(p, "name"))
				str_value(colon + 1, ev.name, sizeof(ev.name));
			else if (!strcmp(p, "category_iids"))
				ev.cat_iid = strtoull(colon + 1, NULL, 10);
			else if (!strcmp(p, "flow_ids"))
				ev.flow_out = strtoull(colon + 1, NULL, 10);
			else if (!strcmp(p, "terminating_flow_ids"))
				ev.flow_in = strtoull(colon + 1, NULL, 10);
			else if (!strcmp(p, "counter_value"))
				ev.counter = atoll(colon + 1);
		} else if (!strcmp(parent, "track_descriptor")) {
			if (!strcmp(p, "uuid"))
				tr.uuid = strtoull(colon + 1, NULL, 10);
			else if (!strcmp(p, "parent_uuid"))
				tr.parent = strtoull(colon + 1, NULL, 10);
			else if (!strcmp(p, "name"))
				str_value(colon + 1, tr.name, sizeof(tr.name));
		} else if (!strcmp(parent, "process") || !strcmp(parent, "thread")) {
			if (!strcmp(p, "pid"))
				tr.pid = atoll(colon + 1);
			else if (!strcmp(p, "tid"))
				tr.tid = atoll(colon + 1);
			else if (!strcmp(p, "process_name") || !strcmp(p, "thread_name"))
				str_value(colon + 1, tr.name, sizeof(tr.name));
		} else if (!strcmp(parent, "event_names") || !strcmp(parent, "event_categories")) {
			if (!strcmp(p, "iid"))
				iid = strtoull(colon + 1, NULL, 10);
			else if (!strcmp(p, "name"))
				str_value(colon + 1, iname, sizeof(iname));
		}
	}
	fclose(f);
	assert_int_equal(depth, 0);
	for (size_t i = 0; i < t->nev; i++) /* resolve interned names */
		if (t->ev[i].name_iid) {
			assert_true(t->ev[i].name_iid < t->nnames);
			assert_true(t->names[t->ev[i].name_iid][0] != '\0' ||
				    t->ev[i].name_iid < t->nnames);
			snprintf(t->ev[i].name, sizeof(t->ev[i].name), "%s",
				 t->names[t->ev[i].name_iid]);
		}
}

static void dtrace_free(struct dtrace *t)
{
	free(t->tracks);
	free(t->ev);
	free(t->names);
	free(t->cats);
	free(t->text);
}

static const struct dtrack *track_by_uuid(const struct dtrace *t, uint64_t uuid)
{
	for (size_t i = 0; i < t->ntracks; i++)
		if (t->tracks[i].uuid == uuid)
			return &t->tracks[i];
	return NULL;
}

static int count_tracks(const struct dtrace *t, const char *name)
{
	int n = 0;

	for (size_t i = 0; i < t->ntracks; i++)
		n += !strcmp(t->tracks[i].name, name);
	return n;
}

/* Slice begins (type 1) or instants (3) on tracks named row (NULL: any) with name
 * (NULL: any). */
static int count_events(const struct dtrace *t, int type, const char *row, const char *name)
{
	int n = 0;

	for (size_t i = 0; i < t->nev; i++) {
		const struct devent *e = &t->ev[i];
		const struct dtrack *k;

		if (e->type != type || (name && strcmp(e->name, name)))
			continue;
		k = track_by_uuid(t, e->uuid);
		assert_non_null(k); /* every event is on a described track */
		if (!row || !strcmp(k->name, row))
			n++;
	}
	return n;
}

struct flow_end {
	uint64_t id;
	long long ts;
};

static int cmp_flow(const void *a, const void *b)
{
	const struct flow_end *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Flow pairs: an API event with flow_ids and a GPU event with the same id in
 * terminating_flow_ids, the call first.  Ids started twice fail the test. */
static size_t count_flow_pairs(const struct dtrace *t)
{
	struct flow_end *out = calloc(t->nev + 1, sizeof(*out)),
			*in = calloc(t->nev + 1, sizeof(*in));
	size_t nout = 0, nin = 0, pairs = 0, j = 0;

	assert_non_null(out);
	assert_non_null(in);
	for (size_t i = 0; i < t->nev; i++) {
		if (t->ev[i].flow_out)
			out[nout++] = (struct flow_end){t->ev[i].flow_out, t->ev[i].ts};
		if (t->ev[i].flow_in)
			in[nin++] = (struct flow_end){t->ev[i].flow_in, t->ev[i].ts};
	}
	qsort(out, nout, sizeof(*out), cmp_flow);
	qsort(in, nin, sizeof(*in), cmp_flow);
	for (size_t i = 0; i < nout; i++) {
		if (i)
			assert_true(out[i].id != out[i - 1].id);
		while (j < nin && in[j].id < out[i].id)
			j++;
		if (j < nin && in[j].id == out[i].id) {
			assert_true(out[i].ts <= in[j].ts);
			pairs++;
		}
	}
	free(out);
	free(in);
	return pairs;
}

/* Every track: packets in time order, each END closes an open BEGIN, nothing left open;
 * every track's parent is described; every flow id started once ends once. */
static void check_structure(const struct dtrace *t)
{
	size_t n = t->ntracks;
	long long *last = calloc(n, sizeof(*last));
	int *depth = calloc(n, sizeof(*depth));
	long long(*open)[64] = calloc(n, sizeof(*open));
	size_t nflows;

	assert_non_null(last);
	for (size_t i = 0; i < n; i++) {
		last[i] = -1;
		if (t->tracks[i].parent)
			assert_non_null(track_by_uuid(t, t->tracks[i].parent));
	}
	for (size_t i = 0; i < t->nev; i++) {
		const struct devent *e = &t->ev[i];
		size_t k = (size_t)(track_by_uuid(t, e->uuid) - t->tracks);

		if (e->type != 1 && e->type != 2)
			continue;
		if (e->ts < last[k])
			fail_msg("track '%s': packet at %lld after %lld", t->tracks[k].name, e->ts,
				 last[k]);
		last[k] = e->ts;
		if (e->type == 1) {
			assert_true(depth[k] < 64);
			open[k][depth[k]++] = e->ts;
		} else {
			if (depth[k] == 0)
				fail_msg("track '%s': END at %lld with no open slice",
					 t->tracks[k].name, e->ts);
			assert_true(e->ts >= open[k][--depth[k]]);
		}
	}
	for (size_t i = 0; i < n; i++)
		if (depth[i])
			fail_msg("track '%s': %d slices left open", t->tracks[i].name, depth[i]);
	nflows = 0;
	for (size_t i = 0; i < t->nev; i++)
		nflows += t->ev[i].flow_out != 0;
	if (count_flow_pairs(t) != nflows)
		fail_msg("%zu flows start, %zu of them end", nflows, count_flow_pairs(t));
	free(last);
	free(depth);
	free(open);
}

/* ---- a strict JSON reader and the Trace Event Format checks ----------------------------- */

struct jev {
	char ph[4], name[200], cat[64], id[32], bp[4], sval[200];
	char ts[40], dur[40];
	long long pid, tid, sf;
	int has_ts, has_dur, has_pid, has_args, has_sf;
};

struct jcheck {
	size_t n;
	int x, b, e, s, f, i, c, m, B, E, P;
	int frames;	      /* entries of "stackFrames" */
	char names[512][200]; /* X/b/i names, for lookups */
	int nnames;
	struct jev first_x; /* the first X event */
};

static const char *jp;

static void jws(void)
{
	while (*jp == ' ' || *jp == '\n' || *jp == '\r' || *jp == '\t')
		jp++;
}

/* A JSON string at jp into out (escapes kept as \uXXXX only for checking). */
static void jstring(char *out, size_t n)
{
	size_t k = 0;

	assert_true(*jp == '"');
	for (jp++; *jp != '"'; jp++) {
		assert_true(*jp && (unsigned char)*jp >= 0x20);
		if (*jp == '\\') {
			jp++;
			assert_non_null(strchr("\"\\/bfnrtu", *jp));
			if (*jp == 'u')
				for (int i = 0; i < 4; i++)
					assert_true(isxdigit((unsigned char)*++jp));
		}
		if (out && k + 1 < n)
			out[k++] = *jp;
	}
	jp++;
	if (out)
		out[k] = '\0';
}

static void jnumber(char *out, size_t n)
{
	const char *s = jp;

	if (*jp == '-')
		jp++;
	assert_true(isdigit((unsigned char)*jp));
	while (isdigit((unsigned char)*jp))
		jp++;
	if (*jp == '.') {
		jp++;
		assert_true(isdigit((unsigned char)*jp));
		while (isdigit((unsigned char)*jp))
			jp++;
	}
	if (*jp == 'e' || *jp == 'E') {
		jp++;
		if (*jp == '+' || *jp == '-')
			jp++;
		assert_true(isdigit((unsigned char)*jp));
		while (isdigit((unsigned char)*jp))
			jp++;
	}
	if (out)
		snprintf(out, n, "%.*s", (int)(jp - s), s);
}

static void jvalue(void);

/* After a member of an object or array: 1 when another follows (its ',' taken), 0 at the
 * close (taken; it must be `close`). */
static int jmore(char close)
{
	jws();
	if (*jp == ',') {
		jp++;
		return 1;
	}
	assert_true(*jp++ == close);
	return 0;
}

static void jvalue(void)
{
	jws();
	if (*jp == '"') {
		jstring(NULL, 0);
	} else if (*jp == '{' || *jp == '[') {
		char close = *jp == '{' ? '}' : ']';
		int obj = *jp == '{';

		jp++;
		jws();
		if (*jp == close) {
			jp++;
			return;
		}
		do {
			if (obj) {
				jws();
				jstring(NULL, 0);
				jws();
				assert_true(*jp++ == ':');
			}
			jvalue();
		} while (jmore(close));
	} else if (!strncmp(jp, "true", 4) || !strncmp(jp, "null", 4)) {
		jp += 4;
	} else if (!strncmp(jp, "false", 5)) {
		jp += 5;
	} else {
		jnumber(NULL, 0);
	}
}

/* One event object at jp. */
static void jevent(struct jev *e)
{
	memset(e, 0, sizeof(*e));
	jws();
	assert_true(*jp++ == '{');
	for (;;) {
		char key[64];

		jws();
		jstring(key, sizeof(key));
		jws();
		assert_true(*jp++ == ':');
		jws();
		if (!strcmp(key, "ph"))
			jstring(e->ph, sizeof(e->ph));
		else if (!strcmp(key, "name"))
			jstring(e->name, sizeof(e->name));
		else if (!strcmp(key, "cat"))
			jstring(e->cat, sizeof(e->cat));
		else if (!strcmp(key, "bp"))
			jstring(e->bp, sizeof(e->bp));
		else if (!strcmp(key, "s"))
			jstring(e->sval, sizeof(e->sval));
		else if (!strcmp(key, "ts")) {
			jnumber(e->ts, sizeof(e->ts));
			e->has_ts = 1;
		} else if (!strcmp(key, "dur")) {
			jnumber(e->dur, sizeof(e->dur));
			e->has_dur = 1;
		} else if (!strcmp(key, "id")) {
			if (*jp == '"')
				jstring(e->id, sizeof(e->id));
			else
				jnumber(e->id, sizeof(e->id));
		} else if (!strcmp(key, "sf")) {
			char num[32];

			jnumber(num, sizeof(num));
			e->sf = atoll(num);
			e->has_sf = 1;
		} else if (!strcmp(key, "pid") || !strcmp(key, "tid")) {
			char num[32];

			jnumber(num, sizeof(num));
			*(key[0] == 'p' ? &e->pid : &e->tid) = atoll(num);
			e->has_pid |= key[0] == 'p';
		} else {
			e->has_args |= !strcmp(key, "args");
			jvalue();
		}
		if (!jmore('}'))
			return;
	}
}

/* ts "123.456": µs with at most three decimals */
static void check_us(const char *v)
{
	const char *dot = strchr(v, '.');

	assert_true(v[0] != '\0');
	assert_null(strchr(v, 'e'));
	if (dot)
		assert_true(strlen(dot + 1) <= 3);
}

/* Parse and check the Trace Event Format JSON at path; counts into *c. */
static void check_json(const char *path, struct jcheck *c)
{
	char *buf = tu_slurp(path, NULL);
	struct jev e;
	/* open b ids and s ids: small test traces keep them in arrays */
	static char bids[200000][32], sids[200000][32];
	static long long psf[200000], parent[200001]; /* samples' nodes; node -> parent + 1 */
	size_t nb = 0, ns = 0, np = 0;
	int bdepth[64] = {0};

	assert_non_null(buf);
	memset(c, 0, sizeof(*c));
	jp = buf;
	jws();
	assert_true(*jp++ == '{');
	for (;;) {
		char key[64];

		jws();
		jstring(key, sizeof(key));
		jws();
		assert_true(*jp++ == ':');
		jws();
		if (!strcmp(key, "traceEvents")) {
			assert_true(*jp++ == '[');
			jws();
			while (*jp != ']') {
				jevent(&e);
				c->n++;
				assert_true(e.ph[0] != '\0');
				if (strcmp(e.ph, "M"))
					assert_true(e.has_ts);
				if (e.has_ts)
					check_us(e.ts);
				assert_true(e.has_pid);
				switch (e.ph[0]) {
				case 'X':
					assert_true(e.has_dur);
					check_us(e.dur);
					assert_true(e.dur[0] != '-');
					if (!c->x++)
						c->first_x = e;
					break;
				case 'B':
					c->B++;
					bdepth[e.tid & 63]++;
					break;
				case 'E':
					c->E++;
					assert_true(bdepth[e.tid & 63]-- > 0);
					break;
				case 'b':
					c->b++;
					assert_true(e.id[0] != '\0');
					assert_true(nb < 200000);
					snprintf(bids[nb++], 32, "%s", e.id);
					break;
				case 'e': {
					size_t k;

					c->e++;
					for (k = 0; k < nb && strcmp(bids[k], e.id); k++)
						;
					if (k == nb)
						fail_msg("async end id %s without a begin", e.id);
					bids[k][0] = '\0'; /* each begin ends once */
					break;
				}
				case 's':
					c->s++;
					assert_true(ns < 200000);
					snprintf(sids[ns++], 32, "%s", e.id);
					break;
				case 'f': {
					size_t k;

					c->f++;
					assert_string_equal(e.bp, "e");
					for (k = 0; k < ns && strcmp(sids[k], e.id); k++)
						;
					if (k == ns)
						fail_msg("flow end id %s without a start", e.id);
					sids[k][0] = '\0';
					break;
				}
				case 'i':
					c->i++;
					assert_string_equal(e.sval, "t");
					break;
				case 'C':
					c->c++;
					assert_true(e.has_args);
					break;
				case 'M':
					c->m++;
					assert_true(e.has_args);
					break;
				case 'P': /* a sample: its stack node, checked below */
					c->P++;
					assert_true(e.has_sf && e.sf > 0);
					assert_true(np < 200000);
					psf[np++] = e.sf;
					break;
				default:
					fail_msg("unexpected ph '%s'", e.ph);
				}
				if ((e.ph[0] == 'X' || e.ph[0] == 'b' || e.ph[0] == 'i') &&
				    c->nnames < 512)
					snprintf(c->names[c->nnames++], 200, "%s", e.name);
				jws();
				if (*jp == ',')
					jp++;
				jws();
			}
			jp++;
		} else if (!strcmp(key, "stackFrames")) { /* {"id":{"name",...,"parent":"id"}} */
			memset(parent, 0, sizeof(parent));
			assert_true(*jp++ == '{');
			jws();
			while (*jp != '}') {
				char id[32], k2[64], num[32];
				long long n, par = 0;
				int named = 0;

				jstring(id, sizeof(id));
				n = atoll(id);
				assert_true(n > 0 && n <= 200000 && parent[n] == 0);
				jws();
				assert_true(*jp++ == ':');
				jws();
				assert_true(*jp++ == '{');
				do {
					jws();
					jstring(k2, sizeof(k2));
					jws();
					assert_true(*jp++ == ':');
					jws();
					if (!strcmp(k2, "parent")) {
						jstring(num, sizeof(num));
						par = atoll(num);
						assert_true(par > 0);
					} else {
						named |= !strcmp(k2, "name");
						jvalue();
					}
				} while (jmore('}'));
				assert_true(named);
				parent[n] = par + 1;
				c->frames++;
				jws();
				if (*jp == ',')
					jp++;
				jws();
			}
			jp++;
		} else {
			jvalue();
		}
		if (!jmore('}'))
			break;
	}
	for (size_t k = 0; k < np; k++) { /* every sample's node, and its callers, exist */
		long long n = psf[k];
		int depth = 0;

		while (n) {
			assert_true(n <= 200000 && parent[n] != 0 && depth++ < 10000);
			n = parent[n] - 1;
		}
	}
	jws();
	assert_true(*jp == '\0'); /* nothing after the object */
	for (size_t k = 0; k < nb; k++)
		if (bids[k][0])
			fail_msg("async begin id %s never ends", bids[k]);
	for (size_t k = 0; k < ns; k++)
		if (sids[k][0])
			fail_msg("flow start id %s never ends", sids[k]);
	for (int k = 0; k < 64; k++)
		assert_int_equal(bdepth[k], 0);
	free(buf);
}

static int json_has_name(const struct jcheck *c, const char *name)
{
	for (int i = 0; i < c->nnames; i++)
		if (!strcmp(c->names[i], name))
			return 1;
	return 0;
}

/* ---- tests: the small report -------------------------------------------------------- */

static void test_small_perfetto(void **state)
{
	struct dtrace t;
	const struct dtrack *k;
	long long mem[8];
	int nmem = 0;
	char *golden, gpath[PATH_MAX];

	if (!have_protoc())
		TU_SKIP("protoc not installed (Debian protobuf-compiler)");
	make_report(tpath("small.db"), 1700000000000000000LL, 100);
	tu_assert_status(gp("export", "--type", "perfetto", "small.db", NULL), 0);
	assert_non_null(strstr(run_result.err, "exported 17 events"));
	decode(tpath("small.pftrace"), &t);
	check_structure(&t);

	/* tracks, named as nsys names its rows */
	assert_int_equal(count_tracks(&t, "app"), 1);
	assert_int_equal(count_tracks(&t, "main"), 1);
	assert_int_equal(count_tracks(&t, "worker"), 1);
	assert_int_equal(count_tracks(&t, "NVTX"), 1);
	assert_int_equal(count_tracks(&t, "NVTX start/end"), 2); /* A and B overlap */
	assert_int_equal(count_tracks(&t, "CUDA API"), 1);
	assert_int_equal(count_tracks(&t, "OS runtime libraries"), 1);
	assert_int_equal(count_tracks(&t, "CUDA HW (device 0) / Stream 7"), 1);
	assert_int_equal(count_tracks(&t, "CUDA HW (device 0) / Stream 14"), 1);
	assert_int_equal(count_tracks(&t, "CUDA memory usage (device 0)"), 1);
	for (size_t i = 0; i < t.ntracks; i++) {
		k = &t.tracks[i];
		if (k->kind == TK_THREAD)
			assert_int_equal(k->pid, 100);
		if (!strcmp(k->name, "NVTX") || !strcmp(k->name, "CUDA API"))
			assert_string_equal(track_by_uuid(&t, k->parent)->name, "main");
		if (!strcmp(k->name, "OS runtime libraries"))
			assert_string_equal(track_by_uuid(&t, k->parent)->name, "worker");
		if (!strncmp(k->name, "CUDA HW", 7) || k->kind == TK_COUNTER)
			assert_string_equal(track_by_uuid(&t, k->parent)->name, "app");
	}

	/* slices per row; names interned and resolved (inner2 from StringIds) */
	assert_int_equal(count_events(&t, 1, "NVTX", NULL), 4);
	assert_int_equal(count_events(&t, 1, "NVTX", "inner2"), 1);
	assert_int_equal(count_events(&t, 3, "NVTX", "tick"), 1);
	assert_int_equal(count_events(&t, 1, "NVTX start/end", NULL), 2);
	assert_int_equal(count_events(&t, 1, "CUDA API", NULL), 3);
	assert_int_equal(count_events(&t, 1, "CUDA HW (device 0) / Stream 7", "k1(int)"), 1);
	assert_int_equal(
	    count_events(&t, 1, "CUDA HW (device 0) / Stream 7", "[CUDA memcpy Host-to-Device]"),
	    1);
	assert_int_equal(count_events(&t, 1, "CUDA HW (device 0) / Stream 14", "[CUDA memset]"), 1);
	assert_int_equal(count_events(&t, 1, "OS runtime libraries", "read"), 1);
	assert_int_equal(count_events(&t, 2, NULL, NULL), count_events(&t, 1, NULL, NULL));

	/* nesting on NVTX: outer opens first and closes last (9000), inner2 starts at 3000
	 * right after inner's END at 3000 */
	for (size_t i = 0; i < t.nev; i++) {
		if (strcmp(t.ev[i].name, "inner2"))
			continue;
		assert_int_equal(t.ev[i].ts, 3000);
		assert_int_equal(t.ev[i - 1].type, 2); /* inner's END just before */
		assert_int_equal(t.ev[i - 1].ts, 3000);
	}

	/* arguments and categories */
	assert_non_null(strstr(t.text, "string_value: \"(2, 1, 1)\""));
	assert_non_null(strstr(t.text, "string_value: \"(128, 1, 1)\""));
	assert_non_null(strstr(t.text, "string_value: \"#00ff00\""));
	assert_non_null(strstr(t.text, "name: \"mydom\""));
	assert_non_null(strstr(t.text, "int_value: 4096"));

	/* flows: launch -> kernel, memcpy -> copy; cudaFree has none */
	assert_int_equal(count_flow_pairs(&t), 2);
	for (size_t i = 0; i < t.nev; i++)
		if (!strcmp(t.ev[i].name, "cudaFree"))
			assert_int_equal(t.ev[i].flow_out, 0);

	/* memory in use: 1 MiB, 3 MiB, 2 MiB */
	for (size_t i = 0; i < t.nev; i++)
		if (t.ev[i].type == 4 && nmem < 8)
			mem[nmem++] = t.ev[i].counter;
	assert_int_equal(nmem, 3);
	assert_int_equal(mem[0], 1048576);
	assert_int_equal(mem[1], 3145728);
	assert_int_equal(mem[2], 2097152);

	/* and the whole decoded trace as committed */
	tu_pathf(gpath, srcdir, "tests/fixtures/timeline_small.pftrace.txt");
	if (getenv("GPROF_UPDATE_GOLDEN")) /* after a deliberate change of the output */
		tu_write_text(gpath, t.text);
	golden = tu_slurp(gpath, NULL);
	if (!golden)
		fail_msg("golden trace '%s' missing", gpath);
	if (strcmp(golden, t.text)) {
		char cmd[3 * PATH_MAX];

		snprintf(cmd, sizeof(cmd), "diff -u '%s' '%s.txt' | head -40", gpath,
			 tpath("small.pftrace"));
		if (system(cmd) < 0)
			fail_msg("diff failed");
		fail_msg("decoded trace differs from %s", gpath);
	}
	free(golden);
	dtrace_free(&t);
}

static void test_small_json(void **state)
{
	struct jcheck c;
	char *text;

	make_report(tpath("small.db"), 1700000000000000000LL, 100);
	tu_assert_status(gp("export", "-t", "chrome-json", "-o", "small.json", "small.db", NULL),
			 0);
	check_json(tpath("small.json"), &c);
	assert_int_equal(c.x, 4 + 3 + 3 + 1); /* NVTX push/pop, API, GPU, OSRT */
	assert_int_equal(c.b, 2);
	assert_int_equal(c.e, 2);
	assert_int_equal(c.i, 1);
	assert_int_equal(c.s, 2);
	assert_int_equal(c.f, 2);
	assert_int_equal(c.c, 3);
	assert_true(json_has_name(&c, "inner2"));
	assert_true(json_has_name(&c, "k1(int)"));
	/* ts and dur in µs: outer is [1000, 9000] ns */
	assert_string_equal(c.first_x.name, "outer");
	assert_string_equal(c.first_x.ts, "1.000");
	assert_string_equal(c.first_x.dur, "8.000");
	text = tu_slurp(tpath("small.json"), NULL);
	assert_non_null(strstr(text, "\"thread_name\",\"pid\":100,\"tid\":1000000000,"
				     "\"args\":{\"name\":\"CUDA HW (device 0) / Stream 7\"}"));
	assert_non_null(strstr(text, "{\"ph\":\"C\",\"name\":\"CUDA memory usage (device 0)\","
				     "\"ts\":2.000,\"pid\":100,\"args\":{\"bytes\":3145728}}"));
	assert_non_null(strstr(text, "\"color\":\"#00ff00\""));
	free(text);
}

/* The filters, on the JSON (no protoc needed). */
static void test_filters(void **state)
{
	struct jcheck c;

	make_report(tpath("small.db"), 1700000000000000000LL, 100);
	/* [4.5 µs, 7 µs]: outer, inner2, A, B, kernel (ends 4600), memcpy, memset, cudaFree,
	 * read (starts at 7000); memory: 3 MiB carried in at 4500 */
	tu_assert_status(gp("export", "-t", "chrome-json", "-f", "-o", "f.json", "--start", "4.5us",
			    "--end", "7000", "small.db", NULL),
			 0);
	check_json(tpath("f.json"), &c);
	assert_int_equal(c.x, 2 + 3 + 1 + 1);
	assert_int_equal(c.b, 2);
	assert_true(json_has_name(&c, "cudaFree"));
	assert_false(json_has_name(&c, "inner"));
	assert_false(json_has_name(&c, "tick"));
	assert_int_equal(c.c, 1); /* the value at --start; the free at 8000 is after --end */
	assert_int_equal(c.s, 0); /* the kernel's launch [2100, 2500] is outside */

	/* --nvtx inner: [2000, 3000] */
	tu_assert_status(gp("export", "-t", "chrome-json", "-f", "-o", "f.json", "--nvtx=inner",
			    "small.db", NULL),
			 0);
	check_json(tpath("f.json"), &c);
	assert_true(json_has_name(&c, "inner"));
	assert_true(json_has_name(&c, "outer"));
	assert_true(json_has_name(&c, "inner2")); /* starts at 3000: touches */
	assert_true(json_has_name(&c, "cudaLaunchKernel"));
	assert_true(json_has_name(&c, "k1(int)"));
	assert_false(json_has_name(&c, "cudaMemcpy"));
	assert_false(json_has_name(&c, "read"));
	assert_int_equal(c.s, 1);

	/* --nvtx dompush@mydom, and a range of that name in the default domain: none */
	tu_assert_status(gp("export", "-t", "chrome-json", "-f", "-o", "f.json",
			    "--nvtx=dompush@mydom", "small.db", NULL),
			 0);
	check_json(tpath("f.json"), &c);
	assert_true(json_has_name(&c, "dompush"));
	assert_int_equal(c.x, 1);
	tu_assert_status(gp("export", "-t", "chrome-json", "-f", "-o", "f.json", "--nvtx=dompush",
			    "small.db", NULL),
			 0);
	assert_non_null(strstr(run_result.err, "no instance of NVTX range 'dompush'"));
	check_json(tpath("f.json"), &c);
	assert_int_equal(c.x + c.b + c.i, 0); /* counters are cut by time and pid only */

	/* --name */
	tu_assert_status(gp("export", "-t", "chrome-json", "-f", "-o", "f.json", "--name",
			    "^cuda|CUDA memcpy", "small.db", NULL),
			 0);
	check_json(tpath("f.json"), &c);
	assert_int_equal(c.x, 4);
	assert_int_equal(c.s, 1); /* cudaMemcpy -> its copy; the kernel is not kept */

	/* --pid */
	tu_assert_status(
	    gp("export", "-t", "chrome-json", "-f", "-o", "f.json", "--pid", "5", "small.db", NULL),
	    0);
	check_json(tpath("f.json"), &c);
	assert_int_equal(c.n, 0);
	tu_assert_status(gp("export", "-t", "chrome-json", "-f", "-o", "f.json", "--pid", "5,100",
			    "small.db", NULL),
			 0);
	check_json(tpath("f.json"), &c);
	assert_int_equal(c.x, 11);
}

/* Two reports (ranks) in one trace: two process groups, the second moved by the
 * difference of the session starts (1 ms). */
static void test_several_reports(void **state)
{
	struct jcheck c;
	char *text;

	make_report(tpath("r.0.db"), 1700000000000000000LL, 100);
	make_report(tpath("r.1.db"), 1700000000001000000LL, 100);
	tu_assert_status(
	    gp("export", "-t", "chrome-json", "-o", "r.json", "r.0.db", "r.1.db", NULL), 0);
	assert_non_null(strstr(run_result.err, "from 2 reports"));
	check_json(tpath("r.json"), &c);
	assert_int_equal(c.x, 22);
	assert_int_equal(c.s, 4);
	text = tu_slurp(tpath("r.json"), NULL);
	/* pids (report + 1) << 22 | pid; names carry the report */
	assert_non_null(
	    strstr(text, "\"pid\":4194404,\"tid\":0,\"args\":{\"name\":\"app [r.0.db]\"}"));
	assert_non_null(
	    strstr(text, "\"pid\":8388708,\"tid\":0,\"args\":{\"name\":\"app [r.1.db]\"}"));
	/* "outer" of the second report at 1000 ns + 1 ms */
	assert_non_null(strstr(text, "{\"ph\":\"X\",\"name\":\"outer\",\"cat\":\"NVTX\","
				     "\"ts\":1001.000,\"pid\":8388708,\"tid\":8388708,"));
	free(text);
	if (have_protoc()) {
		struct dtrace t;

		tu_assert_status(
		    gp("export", "-t", "perfetto", "-o", "r.pftrace", "r.0.db", "r.1.db", NULL), 0);
		decode(tpath("r.pftrace"), &t);
		check_structure(&t);
		assert_int_equal(count_tracks(&t, "app [r.0.db]"), 1);
		assert_int_equal(count_tracks(&t, "app [r.1.db]"), 1);
		assert_int_equal(count_flow_pairs(&t), 4);
		dtrace_free(&t);
	}
}

/* MPI rows, the rank in the process name, GPU metrics counters. */
static void test_mpi_and_metrics(void **state)
{
	sqlite3 *db;
	struct jcheck c;
	char *text, *sql;

	make_report(tpath("m.db"), 1700000000000000000LL, 100);
	assert_int_equal(sqlite3_open(tpath("m.db"), &db), SQLITE_OK);
	sql = sqlite3_mprintf(
	    "INSERT INTO StringIds VALUES (20, 'MPI_Send'), (21, 'MPI_Allreduce');"
	    "CREATE TABLE MPI_RANKS (globalTid INTEGER NOT NULL, rank INTEGER NOT NULL);"
	    "INSERT INTO MPI_RANKS VALUES (%lld, 3);"
	    "CREATE TABLE MPI_P2P_EVENTS (start INTEGER NOT NULL, end INTEGER, globalTid INTEGER,"
	    " textId INTEGER, commHandle INTEGER, tag INTEGER, remoteRank INTEGER, size INTEGER,"
	    " requestHandle INTEGER);"
	    "INSERT INTO MPI_P2P_EVENTS VALUES (8100, 8200, %lld, 20, 1, 7, 1, 4096, NULL);"
	    "CREATE TABLE MPI_COLLECTIVES_EVENTS (start INTEGER NOT NULL, end INTEGER, globalTid"
	    " INTEGER, textId INTEGER, commHandle INTEGER, rootRank INTEGER, size INTEGER,"
	    " recvSize INTEGER, requestHandle INTEGER);"
	    "INSERT INTO MPI_COLLECTIVES_EVENTS VALUES (8300, 8800, %lld, 21, 1, NULL, 64, 64,"
	    " NULL);"
	    "CREATE TABLE TARGET_INFO_GPU_METRICS (typeId INTEGER NOT NULL, sourceId INTEGER NOT"
	    " NULL, typeName TEXT NOT NULL, metricId INTEGER NOT NULL, metricName TEXT NOT NULL);"
	    "INSERT INTO TARGET_INFO_GPU_METRICS VALUES (65536, 65536, 'GH100', 1, 'SM Active'),"
	    " (65536, 65536, 'GH100', 2, 'DRAM Bandwidth');"
	    "CREATE TABLE GPU_METRICS (rawTimestamp INTEGER NOT NULL, timestamp INTEGER NOT NULL,"
	    " typeId INTEGER NOT NULL, metricId INTEGER NOT NULL, value INTEGER NOT NULL);"
	    "INSERT INTO GPU_METRICS VALUES (0, 1000, 65536, 1, 10), (0, 1000, 65536, 2, 5),"
	    " (0, 2000, 65536, 1, 80), (0, 2000, 65536, 2, 60), (0, 3000, 65536, 1, 0);",
	    GTID(100, 100), GTID(100, 100), GTID(100, 100));
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s", sqlite3_errmsg(db));
	sqlite3_free(sql);
	sqlite3_close(db);

	tu_assert_status(gp("export", "-t", "chrome-json", "m.db", NULL), 0);
	check_json(tpath("m.json"), &c);
	assert_int_equal(c.x, 11 + 2);
	assert_int_equal(c.c, 3 + 5);
	assert_true(json_has_name(&c, "MPI_Allreduce"));
	text = tu_slurp(tpath("m.json"), NULL);
	assert_non_null(strstr(text, "\"args\":{\"name\":\"app [rank 3]\"}"));
	assert_non_null(strstr(text, "\"tag\":7,\"remoteRank\":1,\"size\":4096"));
	assert_non_null(strstr(text, "{\"ph\":\"C\",\"name\":\"GPU metrics (GH100): SM Active\","
				     "\"ts\":2.000,\"pid\":0,\"args\":{\"value\":80}}"));
	free(text);
	/* --start carries each counter's value in */
	tu_assert_status(gp("export", "-t", "chrome-json", "-f", "--start", "2500", "m.db", NULL),
			 0);
	check_json(tpath("m.json"), &c);
	/* memory: 3 MiB at 2500, 2 MiB at 8000; SM Active: 80 at 2500, 0 at 3000; DRAM
	 * Bandwidth: 60 at 2500 (all its samples came before) */
	assert_int_equal(c.c, 2 + 2 + 1);
	if (have_protoc()) {
		struct dtrace t;

		tu_assert_status(gp("export", "-t", "perfetto", "m.db", NULL), 0);
		decode(tpath("m.pftrace"), &t);
		check_structure(&t);
		assert_int_equal(count_tracks(&t, "app [rank 3]"), 1);
		assert_int_equal(count_tracks(&t, "MPI"), 1);
		assert_int_equal(count_events(&t, 1, "MPI", NULL), 2);
		assert_int_equal(count_tracks(&t, "GPU metrics (GH100): SM Active"), 1);
		assert_int_equal(count_tracks(&t, "GPU metrics (GH100): DRAM Bandwidth"), 1);
		assert_int_equal(count_events(&t, 4, "GPU metrics (GH100): DRAM Bandwidth", NULL),
				 2);
		dtrace_free(&t);
	}
}

/* An older export without the optional GPU columns (graphNodeId, srcKind, memKind): the
 * same events. */
static void test_older_columns(void **state)
{
	sqlite3 *db;
	struct jcheck c;

	make_report(tpath("old.db"), 1700000000000000000LL, 100);
	assert_int_equal(sqlite3_open(tpath("old.db"), &db), SQLITE_OK);
	if (sqlite3_exec(db,
			 "ALTER TABLE CUPTI_ACTIVITY_KIND_KERNEL DROP COLUMN graphNodeId;"
			 "ALTER TABLE CUPTI_ACTIVITY_KIND_MEMCPY DROP COLUMN graphNodeId;"
			 "ALTER TABLE CUPTI_ACTIVITY_KIND_MEMCPY DROP COLUMN srcKind;"
			 "ALTER TABLE CUPTI_ACTIVITY_KIND_MEMSET DROP COLUMN memKind;",
			 NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s", sqlite3_errmsg(db));
	sqlite3_close(db);
	tu_assert_status(gp("export", "-t", "chrome-json", "old.db", NULL), 0);
	check_json(tpath("old.json"), &c);
	assert_int_equal(c.x, 11);
	assert_int_equal(c.s, 2);
}

/* Run sql on the report at path. */
static void report_exec(const char *path, const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", path, sqlite3_errmsg(db));
	sqlite3_close(db);
}

/* Export report db as JSON: x complete events ("X") and arrows flow pairs ("s" and "f"). */
static void check_json_counts(const char *db, int x, int arrows)
{
	struct jcheck c;

	tu_assert_status(
	    gp("export", "-t", "chrome-json", "--force", "-o", "counts.json", db, NULL), 0);
	check_json(tpath("counts.json"), &c);
	assert_int_equal(c.x, x);
	assert_int_equal(c.s, arrows);
	assert_int_equal(c.f, arrows);
}

/* A copy of report src at dst whose event tables hold their rows in the order of the SQL
 * expression order (same schema, same rows): "random()" shuffles them. */
static void reorder_copy(const char *src, const char *dst, const char *order)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	char *sql;

	unlink(dst);
	assert_int_equal(sqlite3_open(dst, &db), SQLITE_OK);
	sql = sqlite3_mprintf("ATTACH %Q AS src; BEGIN;", src);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("reorder_copy: %s", sqlite3_errmsg(db));
	sqlite3_free(sql);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT name, sql FROM src.sqlite_master"
					    " WHERE type = 'table'",
					    -1, &st, NULL),
			 SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		int events = !strcmp(name, "NVTX_EVENTS") ||
			     !strncmp(name, "CUPTI_ACTIVITY_", 15) || !strcmp(name, "OSRT_API") ||
			     !strcmp(name, "CUDA_GPU_MEMORY_USAGE_EVENTS");

		sql = sqlite3_mprintf("%s; INSERT INTO main.\"%w\" SELECT * FROM src.\"%w\"%s%s;",
				      (const char *)sqlite3_column_text(st, 1), name, name,
				      events ? " ORDER BY " : "", events ? order : "");
		if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
			fail_msg("reorder_copy %s: %s", name, sqlite3_errmsg(db));
		sqlite3_free(sql);
	}
	sqlite3_finalize(st);
	if (sqlite3_exec(db, "COMMIT; DETACH src;", NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("reorder_copy: %s", sqlite3_errmsg(db));
	sqlite3_close(db);
}

/* Export reports a and b (file names in tmp) as type and fail unless the traces are the
 * same bytes. */
static void assert_same_trace(const char *a, const char *b, const char *type)
{
	char *ta, *tb;
	size_t la, lb;

	tu_assert_status(gp("export", "-t", type, "--force", "-o", "a.trace", a, NULL), 0);
	tu_assert_status(gp("export", "-t", type, "--force", "-o", "b.trace", b, NULL), 0);
	ta = tu_slurp(tpath("a.trace"), &la);
	tb = tu_slurp(tpath("b.trace"), &lb);
	assert_non_null(ta);
	assert_non_null(tb);
	if (la != lb || memcmp(ta, tb, la))
		fail_msg("%s trace of %s (%zu bytes) differs from %s's (%zu bytes)", type, b, lb, a,
			 la);
	free(ta);
	free(tb);
}

/* The walk reads a table in storage order when that is time order already and sorts it
 * otherwise: the trace is the same either way.  The small report's NVTX rows are out of
 * order, its copy sorted; the nsys fixture is in order, its copy shuffled. */
static void test_storage_order(void **state)
{
	static const char *const types[] = {"perfetto", "chrome-json"};
	char fx[PATH_MAX];

	make_report(tpath("small.db"), 1700000000000000000LL, 100);
	reorder_copy(tpath("small.db"), tpath("sorted.db"), "start");
	for (int i = 0; i < 2; i++)
		assert_same_trace("small.db", "sorted.db", types[i]);
	tu_fixture(fx, "nsys-2025.3-launchbench.sqlite");
	reorder_copy(fx, tpath("shuffled.db"), "random()");
	for (int i = 0; i < 2; i++)
		assert_same_trace(fx, "shuffled.db", types[i]);
	/* in order but for its last row (the first kernel, moved to the end): read in storage
	 * order without a scan of its order first, the kernel table is found out of order at
	 * the end, megabytes of trace written; the file is emptied and the walk starts again,
	 * with the scans: the same trace (to a file, and to standard output, which is never
	 * read so) */
	reorder_copy(fx, tpath("late.db"), "rowid");
	report_exec(
	    tpath("late.db"),
	    "INSERT INTO CUPTI_ACTIVITY_KIND_KERNEL SELECT * FROM CUPTI_ACTIVITY_KIND_KERNEL"
	    " WHERE rowid = (SELECT min(rowid) FROM CUPTI_ACTIVITY_KIND_KERNEL);"
	    "DELETE FROM CUPTI_ACTIVITY_KIND_KERNEL"
	    " WHERE rowid = (SELECT min(rowid) FROM CUPTI_ACTIVITY_KIND_KERNEL);");
	for (int i = 0; i < 2; i++) {
		const char *args[] = {"export", "-t", types[i], "-o", "-", "late.db", NULL};
		char *ta, *tb;
		size_t la, lb;

		assert_same_trace(fx, "late.db", types[i]);
		assert_int_equal(
		    tu_wait(tu_spawn(gprof, args, tmp, tpath("stdout.trace"), tpath("stdout.err"))),
		    0);
		ta = tu_slurp(tpath("b.trace"), &la);
		tb = tu_slurp(tpath("stdout.trace"), &lb);
		assert_non_null(ta);
		assert_non_null(tb);
		if (la != lb || memcmp(ta, tb, la))
			fail_msg("%s trace of late.db on standard output (%zu bytes) differs from "
				 "the file's (%zu bytes)",
				 types[i], lb, la);
		free(ta);
		free(tb);
	}
	/* the sort in runs of 64 KiB written to a temporary file and merged: the same */
	setenv("GPROF_CLI_SORT_MEM", "65536", 1);
	assert_same_trace(fx, "shuffled.db", "perfetto");
	/* ... and a temporary folder that cannot be written: an error, no trace left */
	setenv("TMPDIR", tpath("no-such-folder"), 1);
	{
		struct tu_run *r = gp("export", "-t", "perfetto", "-o", "nofolder.pftrace",
				      tpath("shuffled.db"), NULL);

		assert_int_not_equal(r->status, 0);
		tu_assert_one_error(r, "cannot create a temporary file to sort in");
		assert_non_null(strstr(r->err, "hint: set TMPDIR"));
		assert_int_equal(access(tpath("nofolder.pftrace"), F_OK), -1);
	}
	unsetenv("TMPDIR");
	unsetenv("GPROF_CLI_SORT_MEM");
}

/* Flows whatever the order of the rows: a kernel that starts before its launch call (GPU
 * and CPU clocks disagree), a call with two GPU operations (one arrow each in JSON, the
 * Perfetto flow ends at the first), GPU work whose call is not in the report. */
static void test_flow_order(void **state)
{
	static const char skew[] =
	    "UPDATE CUPTI_ACTIVITY_KIND_KERNEL SET start = 2050 WHERE correlationId = 7;"
	    "INSERT INTO CUPTI_ACTIVITY_KIND_KERNEL SELECT 4620, 4650, deviceId, contextId,"
	    " greenContextId, streamId, 8, globalPid, demangledName, shortName, mangledName,"
	    " launchType, cacheConfig, registersPerThread, gridX, gridY, gridZ, blockX, blockY,"
	    " blockZ, staticSharedMemory, dynamicSharedMemory, localMemoryPerThread,"
	    " localMemoryTotal, gridId, sharedMemoryExecuted, graphNodeId,"
	    " sharedMemoryLimitConfig FROM CUPTI_ACTIVITY_KIND_KERNEL;"
	    "INSERT INTO CUPTI_ACTIVITY_KIND_KERNEL SELECT 8200, 8300, deviceId, contextId,"
	    " greenContextId, streamId, 99, globalPid, demangledName, shortName, mangledName,"
	    " launchType, cacheConfig, registersPerThread, gridX, gridY, gridZ, blockX, blockY,"
	    " blockZ, staticSharedMemory, dynamicSharedMemory, localMemoryPerThread,"
	    " localMemoryTotal, gridId, sharedMemoryExecuted, graphNodeId,"
	    " sharedMemoryLimitConfig FROM CUPTI_ACTIVITY_KIND_KERNEL WHERE start = 2050;";

	make_report(tpath("skew.db"), 1700000000000000000LL, 100);
	report_exec(tpath("skew.db"), skew);
	reorder_copy(tpath("skew.db"), tpath("skew-shuffled.db"), "random()");
	for (int k = 0; k < 2; k++) {
		const char *db_name = k ? "skew-shuffled.db" : "skew.db";

		/* 13 slices; arrows: k1 (before its call), k1 and the memcpy of cudaMemcpy;
		 * corr 99 has no call */
		check_json_counts(db_name, 4 + 3 + 5 + 1, 3);
		if (have_protoc()) {
			struct dtrace t;
			int in = 0, out = 0;

			tu_assert_status(gp("export", "-t", "perfetto", "--force", "-o",
					    "skew.pftrace", db_name, NULL),
					 0);
			decode(tpath("skew.pftrace"), &t);
			for (size_t i = 0; i < t.nev; i++) {
				in += t.ev[i].flow_in != 0;
				out += t.ev[i].flow_out != 0;
			}
			assert_int_equal(out, 2); /* cudaLaunchKernel, cudaMemcpy */
			assert_int_equal(in, 2);  /* k1, and the first op of cudaMemcpy */
			dtrace_free(&t);
		}
	}
}

/* Errors: one line and a hint, the documented status, nothing overwritten. */
static void test_errors(void **state)
{
	char *before;

	make_report(tpath("small.db"), 1700000000000000000LL, 100);
	tu_write_text(tpath("exists.pftrace"), "keep me\n");
	tu_assert_status(gp("export", "-t", "perfetto", "-o", "exists.pftrace", "small.db", NULL),
			 4);
	tu_assert_one_error(&run_result, "exists.pftrace");
	before = tu_slurp(tpath("exists.pftrace"), NULL);
	assert_string_equal(before, "keep me\n");
	free(before);
	tu_assert_status(gp("export", "-t", "perfetto", "--start", "soon", "small.db", NULL), 2);
	tu_assert_one_error(&run_result, "--start");
	tu_assert_status(gp("export", "-t", "perfetto", "--name", "(", "small.db", NULL), 2);
	tu_assert_one_error(&run_result, "--name");
	tu_assert_status(gp("export", "-t", "perfetto", "--pid", "x", "small.db", NULL), 2);
	tu_assert_one_error(&run_result, "--pid");
	tu_assert_status(gp("export", "-t", "perfetto", "--nvtx=", "small.db", NULL), 2);
	tu_assert_one_error(&run_result, "--nvtx");
	tu_assert_status(gp("export", "-t", "csv", "--start", "1s", "small.db", NULL), 2);
	tu_assert_one_error(&run_result, "timeline");
	tu_assert_status(gp("export", "-t", "perfetto", "small.db", "small.db", NULL), 2);
	tu_assert_one_error(&run_result, "-o");
	tu_assert_status(
	    gp("export", "-t", "perfetto", "--end", "1", "--start", "2", "small.db", NULL), 2);
	tu_assert_status(gp("export", "-t", "perfetto", "-o", "x.pftrace", "missing.db", NULL), 3);
	assert_false(tu_exists(tpath("x.pftrace")));
}

/* ---- tests: reports of the CPU programs --------------------------------------------- */

static void profile(const char *name, const char *prog, const char *arg)
{
	char exe[PATH_MAX];

	snprintf(exe, sizeof(exe), "%s/tests/programs/%s", build, prog);
	tu_assert_status(gp("profile", "-t", "nvtx,osrt", "-f", "-o", name, exe, arg, NULL), 0);
}

static void test_cpu_programs(void **state)
{
	char db[PATH_MAX];
	struct jcheck c;

	/* nvtx_app: every push/pop and start/end range and mark of the report */
	profile("nv", "nvtx_app", NULL);
	tu_pathf(db, tmp, "nv.db");
	tu_assert_status(gp("export", "-t", "chrome-json", "nv.db", NULL), 0);
	check_json(tpath("nv.json"), &c);
	assert_int_equal(c.x, tu_query_int(db, "SELECT count(*) FROM NVTX_EVENTS WHERE "
					       "eventType = 59") +
				  tu_query_int(db, "SELECT count(*) FROM OSRT_API"));
	assert_int_equal(c.b, tu_query_int(db, "SELECT count(*) FROM NVTX_EVENTS WHERE "
					       "eventType = 60"));
	assert_int_equal(c.i, tu_query_int(db, "SELECT count(*) FROM NVTX_EVENTS WHERE "
					       "eventType = 34"));
	assert_true(json_has_name(&c, "outer"));
	assert_true(json_has_name(&c, "cross-thread"));
	if (have_protoc()) {
		struct dtrace t;

		tu_assert_status(gp("export", "-t", "perfetto", "nv.db", NULL), 0);
		decode(tpath("nv.pftrace"), &t);
		check_structure(&t);
		assert_int_equal(count_events(&t, 1, "NVTX", NULL),
				 tu_query_int(db, "SELECT count(*) FROM NVTX_EVENTS WHERE "
						  "eventType = 59"));
		assert_int_equal(count_events(&t, 1, "NVTX", "inner"), 10);
		assert_int_equal(count_events(&t, 1, "NVTX start/end", NULL),
				 tu_query_int(db, "SELECT count(*) FROM NVTX_EVENTS WHERE "
						  "eventType = 60"));
		assert_int_equal(count_events(&t, 3, "NVTX", NULL),
				 tu_query_int(db, "SELECT count(*) FROM NVTX_EVENTS WHERE "
						  "eventType = 34"));
		assert_int_equal(count_events(&t, 1, "OS runtime libraries", NULL),
				 tu_query_int(db, "SELECT count(*) FROM OSRT_API"));
		/* outer > middle > inner: a middle BEGIN comes while an outer is open */
		assert_non_null(strstr(t.text, "name: \"domA\""));
		dtrace_free(&t);
	}

	/* osrt_app: every OS runtime call on its thread's row */
	profile("os", "osrt_app", tpath("os.pid"));
	tu_pathf(db, tmp, "os.db");
	tu_assert_status(gp("export", "-t", "chrome-json", "os.db", NULL), 0);
	check_json(tpath("os.json"), &c);
	assert_int_equal(c.x, tu_query_int(db, "SELECT count(*) FROM OSRT_API") +
				  tu_query_int(db, "SELECT count(*) FROM NVTX_EVENTS WHERE "
						   "eventType = 59"));
	assert_true(json_has_name(&c, "nanosleep"));
	assert_true(json_has_name(&c, "pthread_mutex_lock"));
	if (have_protoc()) {
		struct dtrace t;

		tu_assert_status(gp("export", "-t", "perfetto", "os.db", NULL), 0);
		decode(tpath("os.pftrace"), &t);
		check_structure(&t);
		assert_int_equal(count_events(&t, 1, "OS runtime libraries", NULL),
				 tu_query_int(db, "SELECT count(*) FROM OSRT_API"));
		assert_int_equal(count_events(&t, 1, "OS runtime libraries", "nanosleep"),
				 tu_query_int(db, "SELECT count(*) FROM OSRT_API o JOIN StringIds "
						  "s ON s.id = o.nameId WHERE s.value = "
						  "'nanosleep'"));
		dtrace_free(&t);
	}
}

/* ---- tests: the nsys fixture (CUDA) ---------------------------------------------------- */

static void test_nsys_fixture(void **state)
{
	char fx[PATH_MAX];

	tu_fixture(fx, "nsys-2025.3-launchbench.sqlite");
	/* 300 NVTX + 60909 API + 30001 kernels + 600 memcpy; one arrow per GPU op */
	check_json_counts(fx, 300 + 60909 + 30001 + 600, 30601);
	if (have_protoc()) {
		struct dtrace t;
		int pairs = 0;

		tu_assert_status(gp("export", "-t", "perfetto", "-o", "fx.pftrace", fx, NULL), 0);
		decode(tpath("fx.pftrace"), &t);
		check_structure(&t);
		assert_int_equal(count_tracks(&t, "CUDA HW (device 0) / Stream 13"), 1);
		assert_int_equal(count_events(&t, 1, "CUDA HW (device 0) / Stream 13", NULL),
				 30601);
		assert_int_equal(
		    count_events(&t, 1, "CUDA HW (device 0) / Stream 13", "tiny(float *, int)"),
		    30001);
		assert_int_equal(count_events(&t, 1, "CUDA API", NULL), 60909);
		assert_int_equal(count_events(&t, 1, "NVTX", "iteration"), 300);
		/* every GPU op's terminating flow id started at one API call, earlier */
		pairs = (int)count_flow_pairs(&t);
		assert_int_equal(pairs, 30601);
		dtrace_free(&t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_small_perfetto),  cmocka_unit_test(test_small_json),
	    cmocka_unit_test(test_filters),	    cmocka_unit_test(test_several_reports),
	    cmocka_unit_test(test_mpi_and_metrics), cmocka_unit_test(test_older_columns),
	    cmocka_unit_test(test_errors),	    cmocka_unit_test(test_cpu_programs),
	    cmocka_unit_test(test_nsys_fixture),    cmocka_unit_test(test_storage_order),
	    cmocka_unit_test(test_flow_order),
	};
	int rc;

	gprof = getenv("GPROF_CLI");
	if (!gprof || !*gprof)
		gprof = "build/bin/gprof-cli";
	build = getenv("BUILD");
	if (!build || !*build)
		build = "build";
	srcdir = getenv("GPROF_SRCDIR");
	if (!srcdir || !*srcdir)
		srcdir = ".";
	tmp = tu_mkdtemp("/tmp/gprof-test-timeline-XXXXXX");
	if (!tmp)
		return 1;
	{ /* absolute srcdir: gprof-cli runs in tmp */
		static char abs[PATH_MAX];

		if (!realpath(srcdir, abs))
			return 1;
		srcdir = abs;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	tu_rm_rf(tmp);
	free(tmp);
	return rc;
}
