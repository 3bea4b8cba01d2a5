/*
 * report_cuda.c - the recorder's table module for the cuda collector: decodes the
 * GP_REC_CUDA_* records of wire_cuda.h into the Nsight Systems export tables
 * (../shared/reference/nsys-sqlite-schema.md):
 *
 *   CUPTI_ACTIVITY_KIND_RUNTIME, _KERNEL, _MEMCPY, _MEMSET, _SYNCHRONIZATION, _GRAPH_TRACE,
 *   _CUDA_EVENT, CUDA_GPU_MEMORY_USAGE_EVENTS, TARGET_INFO_GPU, TARGET_INFO_CUDA_DEVICE,
 *   TARGET_INFO_CUDA_CONTEXT_INFO, TARGET_INFO_CUDA_STREAM, CUDA_GRAPH_EVENTS,
 *   CUDA_GRAPH_NODE_EVENTS, CUDA_CALLCHAINS.
 *
 * Like nsys, a table is created only when its first row arrives (a report of a run
 * without memsets has no MEMSET table).  The ENUM_* tables are core/report_enums.c's.
 *
 * Enum ids: the wire carries CUPTI's values; nsys numbers some of them differently
 * (checked against the nsys 2025.3 fixture, whose rows are real CUPTI records):
 *   - memory kinds (srcKind, dstKind, memKind): CUPTI PAGEABLE=1..MANAGED_STATIC=7 ->
 *     nsys 0..6, CUPTI UNKNOWN=0 -> nsys 7 (fixture: pinned->device copy has 1 -> 2);
 *   - launchType: CUPTI REGULAR=0 -> nsys REGULAR=1 (fixture launchType 1);
 *   - memoryOperationType: CUPTI ALLOCATION=1/RELEASE=2 -> nsys 0/1;
 *   - syncType: as nsys 2025.3 writes it, which is not CUPTI's value for stream syncs:
 *     CUPTI STREAM_SYNCHRONIZE=3 -> 2 (fixture, and nsys on the H200: every
 *     cudaStreamSynchronize row has 2), STREAM_WAIT_EVENT=2 -> 2 and CONTEXT_SYNCHRONIZE=4
 *     -> 4 (nsys on the H200: cudaStreamWaitEvent rows 2, cudaProfilerStop rows 4),
 *     EVENT_SYNCHRONIZE=1 -> 1;
 *   - copyKind and the stream flag have the same ids in both;
 *   - eventSyncId (SYNCHRONIZATION and CUDA_EVENT) is written as its low 32 bits, as nsys
 *     writes the synchronisation's (fixture: 4294967295 for "none"), so the two join.
 *
 * Backtraces (--cudabacktrace): a GP_REC_CUDA_CALLCHAIN arrives before the API record of
 * its call (the collector sends it from the API-exit callback; CUPTI hands the API record
 * over later); its frames become CUDA_CALLCHAINS rows (nsys's columns: id, symbol, module,
 * unresolved, originalIP, stackDepth 0 = the CUDA API function, core/report_symbols.h
 * report_callchain_write()) and the API row, found by (process, correlationId), gets the
 * chain's id as callchainId (NULL: none, as nsys).  Chains whose API record never came
 * (the call was filtered as noise, or lost) are counted in META_DATA_EXPORT
 * GPROF_CUDA_CALLCHAINS_UNJOINED.  With --python-backtrace=cuda a chain carries its thread's
 * Python frames, written before the native _PyEval_EvalFrameDefault frames that run them
 * (report_callchain_write_py()); GPROF_PYTHON_BACKTRACES counts the chains with Python
 * frames, GPROF_PYTHON_BACKTRACES_UNREAD those of a Python process whose frames could not
 * be read (a CPython version without a layout, memory not readable), said once.
 *
 * Kernel names arrive mangled (as CUPTI reports them); each distinct name is demangled
 * once here, spelled as nsys spells it (core/kernel_name.c), and the shortName is the base name
 * without scope, template arguments, return type and parameters ("_Z4tinyPfi" -> "tiny(float *,
 * int)" and "tiny"), as nsys computes it.  Names that do not demangle (extern "C", cuBLAS) are used
 * as they are for all three columns.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/kernel_name.h"
#include "core/report.h"
#include "core/report_cuda.h"
#include "core/report_symbols.h"
#include "core/util.h"
#include "core/wire.h"

_Static_assert(sizeof(struct gp_rec_cuda_api) == 40, "wire size");
_Static_assert(sizeof(struct gp_rec_cuda_kernel) % 8 == 0, "wire align");
_Static_assert(sizeof(struct gp_rec_cuda_memcpy) % 8 == 0, "wire align");
_Static_assert(sizeof(struct gp_rec_cuda_memset) % 8 == 0, "wire align");
_Static_assert(sizeof(struct gp_rec_cuda_sync) % 8 == 0, "wire align");
_Static_assert(sizeof(struct gp_rec_cuda_memory) % 8 == 0, "wire align");
_Static_assert(sizeof(struct gp_rec_cuda_graph_trace) % 8 == 0, "wire align");
_Static_assert(sizeof(struct gp_rec_cuda_graph_event) == 48, "wire size");
_Static_assert(sizeof(struct gp_rec_cuda_event) == 48, "wire size");
_Static_assert(sizeof(struct gp_rec_cuda_callchain) == 24, "wire size");
_Static_assert(sizeof(struct gp_rec_cuda_device) % 8 == 0, "wire align");
_Static_assert(sizeof(struct gp_rec_cuda_context) % 8 == 0, "wire align");
_Static_assert(sizeof(struct gp_rec_cuda_stream) % 8 == 0, "wire align");

/* ---- tables ---------------------------------------------------------------------- */

enum cuda_table {
	T_RUNTIME,
	T_KERNEL,
	T_MEMCPY,
	T_MEMSET,
	T_SYNC,
	T_MEMORY,
	T_GRAPH,
	T_GPU,
	T_CUDA_DEVICE,
	T_CONTEXT,
	T_STREAM,
	T_GRAPH_EVENTS,
	T_GRAPH_NODE_EVENTS,
	T_CUDA_EVENT,
	T_CALLCHAINS,
	T_COUNT
};

struct cuda_table_def {
	const char *ddl;
	const char *insert;
};

static const struct cuda_table_def table_defs[T_COUNT] = {
    [T_RUNTIME] = {"CREATE TABLE CUPTI_ACTIVITY_KIND_RUNTIME ("
		   " start INTEGER NOT NULL, end INTEGER NOT NULL,"
		   " eventClass INTEGER NOT NULL, globalTid INTEGER, correlationId INTEGER,"
		   " nameId INTEGER NOT NULL, returnValue INTEGER NOT NULL,"
		   " callchainId INTEGER)",
		   "INSERT INTO CUPTI_ACTIVITY_KIND_RUNTIME VALUES (?,?,?,?,?,?,?,?)"},
    [T_KERNEL] =
	{"CREATE TABLE CUPTI_ACTIVITY_KIND_KERNEL ("
	 " start INTEGER NOT NULL, end INTEGER NOT NULL,"
	 " deviceId INTEGER NOT NULL, contextId INTEGER NOT NULL,"
	 " greenContextId INTEGER, streamId INTEGER NOT NULL,"
	 " correlationId INTEGER, globalPid INTEGER,"
	 " demangledName INTEGER NOT NULL, shortName INTEGER NOT NULL,"
	 " mangledName INTEGER, launchType INTEGER, cacheConfig INTEGER,"
	 " registersPerThread INTEGER NOT NULL,"
	 " gridX INTEGER NOT NULL, gridY INTEGER NOT NULL, gridZ INTEGER NOT NULL,"
	 " blockX INTEGER NOT NULL, blockY INTEGER NOT NULL, blockZ INTEGER NOT NULL,"
	 " staticSharedMemory INTEGER NOT NULL, dynamicSharedMemory INTEGER NOT NULL,"
	 " localMemoryPerThread INTEGER NOT NULL, localMemoryTotal INTEGER NOT NULL,"
	 " gridId INTEGER NOT NULL, sharedMemoryExecuted INTEGER,"
	 " graphNodeId INTEGER, sharedMemoryLimitConfig INTEGER, graphId INTEGER)",
	 "INSERT INTO CUPTI_ACTIVITY_KIND_KERNEL VALUES (?,?,?,?,0,?,?,?,?,?,?,?,?,?,?,?,?,"
	 "?,?,?,?,?,?,?,?,?,?,?,?)"},
    [T_MEMCPY] = {"CREATE TABLE CUPTI_ACTIVITY_KIND_MEMCPY ("
		  " start INTEGER NOT NULL, end INTEGER NOT NULL,"
		  " deviceId INTEGER NOT NULL, contextId INTEGER NOT NULL,"
		  " greenContextId INTEGER, streamId INTEGER NOT NULL,"
		  " correlationId INTEGER, globalPid INTEGER, bytes INTEGER NOT NULL,"
		  " copyKind INTEGER NOT NULL, deprecatedSrcId INTEGER, srcKind INTEGER,"
		  " dstKind INTEGER, srcDeviceId INTEGER, srcContextId INTEGER,"
		  " dstDeviceId INTEGER, dstContextId INTEGER, migrationCause INTEGER,"
		  " graphNodeId INTEGER, virtualAddress INTEGER, copyCount INTEGER)",
		  "INSERT INTO CUPTI_ACTIVITY_KIND_MEMCPY VALUES (?,?,?,?,0,?,?,?,?,?,NULL,?,?,?,?,"
		  "?,?,NULL,?,NULL,?)"},
    [T_MEMSET] = {"CREATE TABLE CUPTI_ACTIVITY_KIND_MEMSET ("
		  " start INTEGER NOT NULL, end INTEGER NOT NULL,"
		  " deviceId INTEGER NOT NULL, contextId INTEGER NOT NULL,"
		  " greenContextId INTEGER, streamId INTEGER NOT NULL,"
		  " correlationId INTEGER, globalPid INTEGER, value INTEGER NOT NULL,"
		  " bytes INTEGER NOT NULL, graphNodeId INTEGER, memKind INTEGER)",
		  "INSERT INTO CUPTI_ACTIVITY_KIND_MEMSET VALUES (?,?,?,?,0,?,?,?,?,?,?,?)"},
    [T_SYNC] =
	{"CREATE TABLE CUPTI_ACTIVITY_KIND_SYNCHRONIZATION ("
	 " start INTEGER NOT NULL, end INTEGER NOT NULL,"
	 " deviceId INTEGER NOT NULL, contextId INTEGER NOT NULL,"
	 " greenContextId INTEGER, streamId INTEGER NOT NULL,"
	 " correlationId INTEGER, globalPid INTEGER, deprecatedSyncType INTEGER,"
	 " syncType INTEGER NOT NULL, eventId INTEGER NOT NULL, eventSyncId INTEGER)",
	 "INSERT INTO CUPTI_ACTIVITY_KIND_SYNCHRONIZATION VALUES (?,?,?,?,NULL,?,?,?,NULL,?,?,"
	 "?)"},
    [T_MEMORY] =
	{"CREATE TABLE CUDA_GPU_MEMORY_USAGE_EVENTS ("
	 " start INTEGER NOT NULL, globalPid INTEGER NOT NULL,"
	 " deviceId INTEGER NOT NULL, contextId INTEGER NOT NULL,"
	 " address INTEGER NOT NULL, pc INTEGER NOT NULL, bytes INTEGER NOT NULL,"
	 " memKind INTEGER NOT NULL, memoryOperationType INTEGER NOT NULL, name TEXT,"
	 " correlationId INTEGER, streamId INTEGER, localMemoryPoolAddress INTEGER,"
	 " localMemoryPoolReleaseThreshold INTEGER, localMemoryPoolSize INTEGER,"
	 " localMemoryPoolUtilizedSize INTEGER, importedMemoryPoolAddress INTEGER,"
	 " importedMemoryPoolProcessId INTEGER)",
	 "INSERT INTO CUDA_GPU_MEMORY_USAGE_EVENTS VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
	 "?,?)"},
    [T_GRAPH] = {"CREATE TABLE CUPTI_ACTIVITY_KIND_GRAPH_TRACE ("
		 " start INTEGER NOT NULL, end INTEGER NOT NULL,"
		 " deviceId INTEGER NOT NULL, contextId INTEGER NOT NULL,"
		 " greenContextId INTEGER, streamId INTEGER NOT NULL,"
		 " correlationId INTEGER, globalPid INTEGER, graphId INTEGER,"
		 " graphExecId INTEGER)",
		 "INSERT INTO CUPTI_ACTIVITY_KIND_GRAPH_TRACE VALUES (?,?,?,?,0,?,?,?,?,NULL)"},
    [T_GPU] = {"CREATE TABLE TARGET_INFO_GPU ("
	       " vmId INTEGER NOT NULL, id INTEGER NOT NULL, name TEXT, busLocation TEXT,"
	       " isDiscrete INTEGER, l2CacheSize INTEGER, totalMemory INTEGER,"
	       " memoryBandwidth INTEGER, clockRate INTEGER, smCount INTEGER,"
	       " pwGpuId INTEGER, uuid TEXT, luid INTEGER, chipName TEXT, cuDevice INTEGER,"
	       " ctxswDevPath TEXT, ctrlDevPath TEXT, revision INTEGER, nodeMask INTEGER,"
	       " constantMemory INTEGER, maxIPC INTEGER, maxRegistersPerBlock INTEGER,"
	       " maxShmemPerBlock INTEGER, maxShmemPerBlockOptin INTEGER,"
	       " maxShmemPerSm INTEGER, maxRegistersPerSm INTEGER, threadsPerWarp INTEGER,"
	       " asyncEngines INTEGER, maxWarpsPerSm INTEGER, maxBlocksPerSm INTEGER,"
	       " maxThreadsPerBlock INTEGER, maxBlockDimX INTEGER, maxBlockDimY INTEGER,"
	       " maxBlockDimZ INTEGER, maxGridDimX INTEGER, maxGridDimY INTEGER,"
	       " maxGridDimZ INTEGER, computeMajor INTEGER, computeMinor INTEGER,"
	       " smMajor INTEGER, smMinor INTEGER)",
	       "INSERT INTO TARGET_INFO_GPU VALUES (?,?,?,?,1,?,?,?,?,?,?,?,0,?,?,NULL,NULL,NULL,"
	       "0,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"},
    [T_CUDA_DEVICE] = {"CREATE TABLE TARGET_INFO_CUDA_DEVICE ("
		       " gpuId INTEGER, cudaId INTEGER NOT NULL, pid INTEGER NOT NULL)",
		       "INSERT INTO TARGET_INFO_CUDA_DEVICE VALUES (?,?,?)"},
    [T_CONTEXT] = {"CREATE TABLE TARGET_INFO_CUDA_CONTEXT_INFO ("
		   " nullStreamId INTEGER NOT NULL, hwId INTEGER NOT NULL,"
		   " vmId INTEGER NOT NULL, processId INTEGER NOT NULL,"
		   " deviceId INTEGER NOT NULL, contextId INTEGER NOT NULL,"
		   " parentContextId INTEGER, isGreenContext INTEGER)",
		   "INSERT INTO TARGET_INFO_CUDA_CONTEXT_INFO VALUES (?,0,?,?,?,?,?,?)"},
    [T_STREAM] = {"CREATE TABLE TARGET_INFO_CUDA_STREAM ("
		  " streamId INTEGER NOT NULL, hwId INTEGER NOT NULL, vmId INTEGER NOT NULL,"
		  " processId INTEGER NOT NULL, contextId INTEGER NOT NULL,"
		  " priority INTEGER NOT NULL, flag INTEGER NOT NULL)",
		  "INSERT INTO TARGET_INFO_CUDA_STREAM VALUES (?,0,?,?,?,?,?)"},
    [T_GRAPH_EVENTS] = {"CREATE TABLE CUDA_GRAPH_EVENTS ("
			" start INTEGER NOT NULL, end INTEGER NOT NULL,"
			" eventClass INTEGER NOT NULL, globalTid INTEGER,"
			" nameId INTEGER NOT NULL, graphId INTEGER, originalGraphId INTEGER,"
			" graphExecId INTEGER)",
			"INSERT INTO CUDA_GRAPH_EVENTS VALUES (?,?,?,?,?,?,?,?)"},
    [T_GRAPH_NODE_EVENTS] = {"CREATE TABLE CUDA_GRAPH_NODE_EVENTS ("
			     " start INTEGER NOT NULL, end INTEGER NOT NULL,"
			     " eventClass INTEGER NOT NULL, globalTid INTEGER,"
			     " nameId INTEGER NOT NULL, graphNodeId INTEGER NOT NULL,"
			     " originalGraphNodeId INTEGER)",
			     "INSERT INTO CUDA_GRAPH_NODE_EVENTS VALUES (?,?,?,?,?,?,?)"},
    /* nsys export schema 3.28.1 (Analysis Guide, "SQLite Schema Reference"); the 2025.3
     * fixture has no event records.  greenContextId NULL as in SYNCHRONIZATION. */
    [T_CUDA_EVENT] = {"CREATE TABLE CUPTI_ACTIVITY_KIND_CUDA_EVENT ("
		      " timestamp INTEGER, deviceId INTEGER NOT NULL,"
		      " contextId INTEGER NOT NULL, greenContextId INTEGER,"
		      " streamId INTEGER NOT NULL, correlationId INTEGER, globalPid INTEGER,"
		      " eventId INTEGER NOT NULL, eventSyncId INTEGER)",
		      "INSERT INTO CUPTI_ACTIVITY_KIND_CUDA_EVENT VALUES (?,?,?,NULL,?,?,?,?,?)"},
    /* nsys's CUDA_CALLCHAINS (nsys-cli.md, the export schema): the sampling callchains'
     * columns less kernelMode, thumbCode, specialEntry and unwindMethod; the parameters
     * are report_callchain_write()'s */
    [T_CALLCHAINS] = {"CREATE TABLE CUDA_CALLCHAINS ("
		      " id INTEGER NOT NULL, symbol INTEGER NOT NULL, module INTEGER NOT NULL,"
		      " unresolved INTEGER, originalIP INTEGER, stackDepth INTEGER NOT NULL,"
		      " PRIMARY KEY (id, stackDepth))",
		      "INSERT INTO CUDA_CALLCHAINS VALUES (?,?,?,?,?,?)"},
};

/* One distinct kernel name: StringIds ids of its three forms. */
struct kname {
	int64_t mangled; /* StringIds id of the name as sent */
	int64_t demangled;
	int64_t shortname;
};

/* The module's state in one report (report_module_state(r, REPORT_MOD_CUDA)): a repeat
 * capture has several reports open at once, each with its own statements and ids. */
struct cuda_state {
	sqlite3_stmt *stmts[T_COUNT];
	struct kname *knames; /* the distinct names, in first-seen order */
	size_t knames_n, knames_alloc;
	struct i64map kname_ix; /* mangled id -> index in knames */
	uint64_t gpus_seen[4];	/* devices already in TARGET_INFO_GPU (once per device) */
	/* --cudabacktrace: (pid << 32 | correlationId) -> CUDA_CALLCHAINS id of the call whose
	 * API record has not come yet (0 once written) */
	struct i64map chains;
	int64_t chains_made, chains_joined;
	/* --python-backtrace=cuda: chains with Python frames, and those whose thread's Python
	 * frames were not read (a CPython gprof-cli cannot read; memory not readable) */
	int64_t py_chains, py_version, py_unread;
	struct report_symbols *syms;
};

static struct cuda_state *cuda_state(struct report *r)
{
	void **slot = report_module_state(r, REPORT_MOD_CUDA);

	if (!*slot)
		*slot = xcalloc(1, sizeof(struct cuda_state));
	return *slot;
}

/* The prepared insert of table t, creating the table on first use. */
static sqlite3_stmt *table_stmt(struct report *r, enum cuda_table t)
{
	struct cuda_state *s = cuda_state(r);

	if (!s->stmts[t]) {
		report_exec(r, table_defs[t].ddl);
		s->stmts[t] = report_prepare(r, table_defs[t].insert);
	}
	return s->stmts[t];
}

/* ---- kernel names ---------------------------------------------------------------- */

/* Look up (or demangle once and intern) the three name ids of kernel name `sid` on c. */
static const struct kname *kernel_name(struct report *r, struct report_conn *c, uint32_t sid)
{
	int64_t mangled = report_conn_string(c, sid);
	const char *text = report_conn_string_text(c, sid);
	struct cuda_state *s = cuda_state(r);
	struct kname *k;
	int64_t *ix;
	char *dem;
	size_t b, e;
	int found;

	if (mangled < 0 || !text) {
		text = "<unknown>";
		mangled = report_string(r, text, strlen(text));
	}
	ix = i64map_get(&s->kname_ix, mangled, (int64_t)s->knames_n, &found);
	if (found)
		return &s->knames[*ix];
	GP_ALLOC_GROW(s->knames, s->knames_n + 1, s->knames_alloc);
	k = &s->knames[s->knames_n++];
	k->mangled = mangled;
	dem = kernel_name_demangle(text);
	if (dem) {
		size_t dl = strlen(dem);
		k->demangled = report_string(r, dem, dl);
		if (kernel_name_short(dem, dl, &b, &e) == 0)
			k->shortname = report_string(r, dem + b, e - b);
		else
			k->shortname = k->demangled;
	} else {
		k->demangled = mangled;
		k->shortname = mangled;
	}
	free(dem);
	return k;
}

/* ---- enum mappings (see the header comment) -------------------------------------- */

static int64_t nsys_mem_kind(unsigned cupti)
{
	return cupti >= 1 && cupti <= 7 ? (int64_t)cupti - 1 : 7;
}

static int64_t nsys_sync_type(unsigned cupti)
{
	return cupti == 3 ? 2 : cupti <= 4 ? (int64_t)cupti : 0;
}

static int64_t nsys_launch_type(unsigned cupti)
{
	return cupti <= 2 ? (int64_t)cupti + 1 : 0;
}

/* ---- binding helpers --------------------------------------------------------------- */

static void bind_i64(sqlite3_stmt *st, int i, int64_t v)
{
	sqlite3_bind_int64(st, i, v);
}

/* Bind v, or NULL when v == 0 (optional ids such as graphNodeId). */
static void bind_opt(sqlite3_stmt *st, int i, int64_t v)
{
	if (v)
		sqlite3_bind_int64(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

/* Bind the columns every CUPTI activity table starts with (start, end, deviceId,
 * contextId, streamId, correlationId, globalPid; times in report ns) from column 1;
 * returns the next column. */
static int bind_activity(struct report *r, struct report_conn *c, sqlite3_stmt *st,
			 uint64_t start_ns, uint64_t end_ns, int64_t device_id, int64_t context_id,
			 int64_t stream_id, int64_t correlation_id)
{
	int i = 1;

	bind_i64(st, i++, report_time(r, start_ns));
	bind_i64(st, i++, report_time(r, end_ns));
	bind_i64(st, i++, device_id);
	bind_i64(st, i++, context_id);
	bind_i64(st, i++, stream_id);
	bind_i64(st, i++, correlation_id);
	bind_i64(st, i++, report_global_pid(report_conn_pid(c)));
	return i;
}

/* ---- record handlers ------------------------------------------------------------- */

/* A handler's row: a failed write is the report's to count (disk full: GPROF_LOST_DISK_FULL;
 * else a write error), not a malformed record (-1 would count a bad frame and skip the rest
 * of the frame). */
static int put_row(struct report *r, sqlite3_stmt *st)
{
	report_step(r, st);
	return 0;
}

static int h_api(struct report *r, struct report_conn *c, const void *p)
{
	const struct gp_rec_cuda_api *a = p;
	struct cuda_state *s = cuda_state(r);
	sqlite3_stmt *st = table_stmt(r, T_RUNTIME);
	int64_t name = report_conn_string(c, a->name_sid), *chain;

	if (name < 0)
		name = report_string(r, "<unknown>", 9);
	bind_i64(st, 1, report_time(r, a->start_ns));
	bind_i64(st, 2, report_time(r, a->end_ns));
	bind_i64(st, 3, a->event_class);
	bind_i64(st, 4, report_global_tid(report_conn_pid(c), a->h.tid));
	bind_i64(st, 5, a->correlation_id);
	bind_i64(st, 6, name);
	bind_i64(st, 7, a->return_value);
	chain =
	    s->chains_made
		? i64map_find(&s->chains, ((int64_t)report_conn_pid(c) << 32) | a->correlation_id)
		: NULL;
	bind_opt(st, 8, chain ? *chain : 0);
	if (chain && *chain) {
		s->chains_joined++;
		*chain = 0;
	}
	return put_row(r, st);
}

static int h_callchain(struct report *r, struct report_conn *c, const void *p)
{
	const struct gp_rec_cuda_callchain *k = p;
	struct cuda_state *s = cuda_state(r);
	const char *top = report_conn_string_text(c, k->api_sid);
	int64_t id;
	int found;

	struct report_py_frame py[GP_CUDA_PY_FRAMES_MAX];
	const struct gp_cuda_py_frame *w;

	if (k->nframes > GP_CUDA_FRAMES_MAX || k->npy > GP_CUDA_PY_FRAMES_MAX ||
	    k->h.size < sizeof(*k) + (size_t)k->nframes * sizeof(k->frames[0]) +
			    (size_t)k->npy * sizeof(*w))
		return report_count_bad_record(r);
	w = (const void *)(k->frames + k->nframes);
	for (uint32_t i = 0; i < k->npy; i++) {
		struct gp_cuda_py_frame f;

		memcpy(&f, &w[i], sizeof(f));
		py[i].name = report_conn_string_text(c, f.name_sid);
		py[i].file = report_conn_string_text(c, f.file_sid);
		py[i].line = f.line;
		py[i].entry = (f.flags & GP_CUDA_PY_ENTRY) != 0;
	}
	s->py_chains += k->npy > 0;
	s->py_version += k->py_state == GP_CUDA_PY_VERSION;
	s->py_unread += k->py_state == GP_CUDA_PY_UNREAD;
	id = ++s->chains_made;
	report_callchain_write_py(r, c, &s->syms, table_stmt(r, T_CALLCHAINS), id, k->frames,
				  k->nframes, top, py, k->npy);
	*i64map_get(&s->chains, ((int64_t)report_conn_pid(c) << 32) | k->correlation_id, 0,
		    &found) = id;
	return 0;
}

static int h_kernel(struct report *r, struct report_conn *c, const void *p)
{
	const struct gp_rec_cuda_kernel *k = p;
	const struct kname *n = kernel_name(r, c, k->name_sid);
	sqlite3_stmt *st = table_stmt(r, T_KERNEL);
	int i = bind_activity(r, c, st, k->start_ns, k->end_ns, k->device_id, k->context_id,
			      k->stream_id, k->correlation_id);
	bind_i64(st, i++, n->demangled);
	bind_i64(st, i++, n->shortname);
	bind_i64(st, i++, n->mangled);
	bind_i64(st, i++, nsys_launch_type(k->launch_type));
	/* nsys writes 1 where CUPTI reports requested = 0 (fixture and H200 runs) */
	bind_i64(st, i++, (k->cache_config & 0xF) < 3 ? (k->cache_config & 0xF) + 1 : 0);
	bind_i64(st, i++, k->registers_per_thread);
	bind_i64(st, i++, k->grid_x);
	bind_i64(st, i++, k->grid_y);
	bind_i64(st, i++, k->grid_z);
	bind_i64(st, i++, k->block_x);
	bind_i64(st, i++, k->block_y);
	bind_i64(st, i++, k->block_z);
	bind_i64(st, i++, k->static_shared_memory);
	bind_i64(st, i++, k->dynamic_shared_memory);
	bind_i64(st, i++, k->local_memory_per_thread);
	bind_i64(st, i++, (int64_t)k->local_memory_total);
	bind_i64(st, i++, k->grid_id);
	bind_i64(st, i++, k->shared_memory_executed);
	bind_opt(st, i++, (int64_t)k->graph_node_id);
	bind_i64(st, i++, k->shmem_limit_config);
	bind_opt(st, i++, k->graph_id);
	return put_row(r, st);
}

static int h_memcpy(struct report *r, struct report_conn *c, const void *p)
{
	const struct gp_rec_cuda_memcpy *m = p;
	sqlite3_stmt *st = table_stmt(r, T_MEMCPY);
	int ptop = m->flags & GP_CUDA_MEMCPY_PTOP;
	int i = bind_activity(r, c, st, m->start_ns, m->end_ns, m->device_id, m->context_id,
			      m->stream_id, m->correlation_id);
	bind_i64(st, i++, (int64_t)m->bytes);
	bind_i64(st, i++, m->copy_kind);
	bind_i64(st, i++, nsys_mem_kind(m->src_kind));
	bind_i64(st, i++, nsys_mem_kind(m->dst_kind));
	if (ptop) {
		bind_i64(st, i++, m->src_device_id);
		bind_i64(st, i++, m->src_context_id);
		bind_i64(st, i++, m->dst_device_id);
		bind_i64(st, i++, m->dst_context_id);
	} else {
		for (int k = 0; k < 4; k++)
			sqlite3_bind_null(st, i++);
	}
	bind_opt(st, i++, (int64_t)m->graph_node_id);
	bind_i64(st, i++, m->copy_count ? (int64_t)m->copy_count : 1);
	return put_row(r, st);
}

static int h_memset(struct report *r, struct report_conn *c, const void *p)
{
	const struct gp_rec_cuda_memset *m = p;
	sqlite3_stmt *st = table_stmt(r, T_MEMSET);
	int i = bind_activity(r, c, st, m->start_ns, m->end_ns, m->device_id, m->context_id,
			      m->stream_id, m->correlation_id);
	bind_i64(st, i++, m->value);
	bind_i64(st, i++, (int64_t)m->bytes);
	bind_opt(st, i++, (int64_t)m->graph_node_id);
	bind_i64(st, i++, nsys_mem_kind(m->memory_kind));
	return put_row(r, st);
}

static int h_sync(struct report *r, struct report_conn *c, const void *p)
{
	const struct gp_rec_cuda_sync *s = p;
	sqlite3_stmt *st = table_stmt(r, T_SYNC);
	int i = bind_activity(r, c, st, s->start_ns, s->end_ns, s->device_id, s->context_id,
			      s->stream_id, s->correlation_id);
	bind_i64(st, i++, nsys_sync_type(s->type));
	bind_i64(st, i++, s->cuda_event_id);
	bind_i64(st, i++, (int64_t)(uint32_t)s->cuda_event_sync_id);
	return put_row(r, st);
}

/* cudaEventRecord: timestamp is the GPU completion time, 0 when CUPTI did not collect it
 * (the schema's "0 if not collected"; nsys collects it only with --cuda-event-trace). */
static int h_cuda_event(struct report *r, struct report_conn *c, const void *p)
{
	const struct gp_rec_cuda_event *e = p;
	sqlite3_stmt *st = table_stmt(r, T_CUDA_EVENT);

	if (e->device_ts_ns && !report_time_ok(r, e->device_ts_ns))
		return report_count_bad_record(r);
	bind_i64(st, 1, e->device_ts_ns ? report_time(r, e->device_ts_ns) : 0);
	bind_i64(st, 2, e->device_id);
	bind_i64(st, 3, e->context_id);
	bind_i64(st, 4, e->stream_id);
	bind_i64(st, 5, e->correlation_id);
	bind_i64(st, 6, report_global_pid(report_conn_pid(c)));
	bind_i64(st, 7, e->event_id);
	bind_i64(st, 8, (int64_t)(uint32_t)e->cuda_event_sync_id);
	return put_row(r, st);
}

static int h_memory(struct report *r, struct report_conn *c, const void *p)
{
	const struct gp_rec_cuda_memory *m = p;
	sqlite3_stmt *st = table_stmt(r, T_MEMORY);
	const char *name = m->name_sid ? report_conn_string_text(c, m->name_sid) : NULL;
	int i = 1;

	bind_i64(st, i++, report_time(r, m->ts_ns));
	bind_i64(st, i++, report_global_pid(report_conn_pid(c)));
	bind_i64(st, i++, m->device_id);
	bind_i64(st, i++, m->context_id);
	bind_i64(st, i++, (int64_t)m->address);
	bind_i64(st, i++, (int64_t)m->pc);
	bind_i64(st, i++, (int64_t)m->bytes);
	bind_i64(st, i++, nsys_mem_kind(m->memory_kind));
	bind_i64(st, i++, m->operation_type == 2 ? 1 : 0);
	if (name)
		sqlite3_bind_text(st, i++, name, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i++);
	bind_opt(st, i++, m->correlation_id);
	if (m->stream_id != UINT32_MAX)
		bind_i64(st, i++, m->stream_id);
	else
		sqlite3_bind_null(st, i++);
	if (m->pool_type == 1) { /* CUPTI_ACTIVITY_MEMORY_POOL_TYPE_LOCAL */
		bind_i64(st, i++, (int64_t)m->pool_address);
		bind_i64(st, i++, (int64_t)m->pool_release_threshold);
		bind_i64(st, i++, (int64_t)m->pool_size);
		bind_i64(st, i++, (int64_t)m->pool_utilized_size);
		sqlite3_bind_null(st, i++);
		sqlite3_bind_null(st, i++);
	} else if (m->pool_type == 2) { /* IMPORTED */
		for (int k = 0; k < 4; k++)
			sqlite3_bind_null(st, i++);
		bind_i64(st, i++, (int64_t)m->pool_address);
		bind_i64(st, i++, (int64_t)m->pool_size);
	} else {
		for (int k = 0; k < 6; k++)
			sqlite3_bind_null(st, i++);
	}
	return put_row(r, st);
}

static int h_graph(struct report *r, struct report_conn *c, const void *p)
{
	const struct gp_rec_cuda_graph_trace *g = p;
	sqlite3_stmt *st = table_stmt(r, T_GRAPH);
	int i = bind_activity(r, c, st, g->start_ns, g->end_ns, g->device_id, g->context_id,
			      g->stream_id, g->correlation_id);
	bind_i64(st, i++, g->graph_id);
	return put_row(r, st);
}

/* Graph and graph node creation (nameId: the texts nsys 2025.3 writes for each class). */
static int h_graph_event(struct report *r, struct report_conn *c, const void *p)
{
	const struct gp_rec_cuda_graph_event *g = p;
	int node = g->event_class == GP_CUDA_GRAPH_NODE_CREATION;
	const char *name = node						  ? "Graph Node Creation"
			   : g->event_class == GP_CUDA_GRAPHEXEC_CREATION ? "GraphExec Creation"
			   : g->event_class == GP_CUDA_GRAPH_CLONE	  ? "Graph Clone"
									  : "Graph Creation";
	sqlite3_stmt *st = table_stmt(r, node ? T_GRAPH_NODE_EVENTS : T_GRAPH_EVENTS);
	int64_t t = report_time(r, g->ts_ns);

	bind_i64(st, 1, t);
	bind_i64(st, 2, t);
	bind_i64(st, 3, g->event_class);
	bind_i64(st, 4, report_global_tid(report_conn_pid(c), g->h.tid));
	bind_i64(st, 5, report_string(r, name, strlen(name)));
	if (node) {
		bind_i64(st, 6, (int64_t)g->graph_node_id);
		bind_opt(st, 7, (int64_t)g->original_graph_node_id);
	} else {
		bind_opt(st, 6, g->graph_id);
		bind_opt(st, 7, g->original_graph_id);
		bind_opt(st, 8, g->graph_exec_id);
	}
	return put_row(r, st);
}

static int h_device(struct report *r, struct report_conn *c, const void *p)
{
	const struct gp_rec_cuda_device *d = p;
	const char *name = report_conn_string_text(c, d->name_sid);
	const char *chip = d->chip_sid ? report_conn_string_text(c, d->chip_sid) : NULL;
	const uint8_t *u = d->uuid;
	sqlite3_stmt *st;
	char uuid[40], bus[32];
	int i = 1;

	uint64_t *seen = cuda_state(r)->gpus_seen;

	if (d->global_memory_bandwidth > (uint64_t)INT64_MAX / 1000)
		return report_count_bad_record(r); /* KB/s -> B/s would overflow */
	if (d->id < 256 && !(seen[d->id / 64] & (1ull << (d->id % 64)))) {
		seen[d->id / 64] |= 1ull << (d->id % 64);
		st = table_stmt(r, T_GPU);
		snprintf(uuid, sizeof(uuid),
			 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
			 u[12], u[13], u[14], u[15]);
		bind_i64(st, i++, (int64_t)(GP_VM_ID << 48));
		bind_i64(st, i++, d->id);
		if (name)
			sqlite3_bind_text(st, i++, name, -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(st, i++);
		if (d->pci_bus != UINT32_MAX) {
			snprintf(bus, sizeof(bus), "%04x:%02x:%02x.0", d->pci_domain, d->pci_bus,
				 d->pci_device);
			sqlite3_bind_text(st, i++, bus, -1, SQLITE_TRANSIENT);
		} else {
			sqlite3_bind_null(st, i++);
		}
		bind_i64(st, i++, d->l2_cache_size);
		bind_i64(st, i++, (int64_t)d->global_memory_size);
		bind_i64(st, i++, (int64_t)(d->global_memory_bandwidth * 1000)); /* KB/s -> B/s */
		bind_i64(st, i++, (int64_t)d->core_clock_rate * 1000);		 /* kHz -> Hz */
		bind_i64(st, i++, d->num_multiprocessors);
		bind_i64(st, i++, d->id); /* pwGpuId */
		sqlite3_bind_text(st, i++, uuid, -1, SQLITE_TRANSIENT);
		if (chip)
			sqlite3_bind_text(st, i++, chip, -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(st, i++);
		bind_i64(st, i++, d->id); /* cuDevice */
		bind_i64(st, i++, d->constant_memory_size);
		bind_i64(st, i++, d->max_ipc == UINT32_MAX ? 0 : d->max_ipc); /* nsys: 0 */
		bind_i64(st, i++, d->max_registers_per_block);
		bind_i64(st, i++, d->max_shared_memory_per_block);
		bind_i64(st, i++, d->max_shared_memory_per_block_optin);
		bind_i64(st, i++, d->max_shared_memory_per_mp);
		bind_i64(st, i++, d->max_registers_per_mp);
		bind_i64(st, i++, d->threads_per_warp);
		bind_i64(st, i++, d->num_memcpy_engines);
		bind_i64(st, i++, d->max_warps_per_mp);
		bind_i64(st, i++, d->max_blocks_per_mp);
		bind_i64(st, i++, d->max_threads_per_block);
		for (int k = 0; k < 3; k++)
			bind_i64(st, i++, d->max_block_dim[k]);
		for (int k = 0; k < 3; k++)
			bind_i64(st, i++, d->max_grid_dim[k]);
		bind_i64(st, i++, d->cc_major);
		bind_i64(st, i++, d->cc_minor);
		bind_i64(st, i++, d->cc_major);
		bind_i64(st, i++, d->cc_minor);
		/* once per device (gpus_seen): a state row, put back after a rollback */
		report_step_state(r, st);
	}
	st = table_stmt(r, T_CUDA_DEVICE);
	bind_i64(st, 1, d->id);
	bind_i64(st, 2, d->id);
	bind_i64(st, 3, report_conn_pid(c));
	return put_row(r, st);
}

static int h_context(struct report *r, struct report_conn *c, const void *p)
{
	const struct gp_rec_cuda_context *x = p;
	sqlite3_stmt *st = table_stmt(r, T_CONTEXT);

	bind_i64(st, 1, x->null_stream_id);
	bind_i64(st, 2, (int64_t)GP_VM_ID);
	bind_i64(st, 3, report_conn_pid(c));
	bind_i64(st, 4, x->device_id);
	bind_i64(st, 5, x->context_id);
	bind_i64(st, 6, x->parent_context_id);
	bind_i64(st, 7, x->is_green_context);
	return put_row(r, st);
}

static int h_stream(struct report *r, struct report_conn *c, const void *p)
{
	const struct gp_rec_cuda_stream *s = p;
	sqlite3_stmt *st = table_stmt(r, T_STREAM);

	bind_i64(st, 1, s->stream_id);
	bind_i64(st, 2, (int64_t)GP_VM_ID);
	bind_i64(st, 3, report_conn_pid(c));
	bind_i64(st, 4, s->context_id);
	bind_i64(st, 5, s->priority);
	bind_i64(st, 6, s->flag);
	return put_row(r, st);
}

/* ---- module ---------------------------------------------------------------------- */

struct cuda_handler {
	size_t size; /* minimum record size */
	int (*fn)(struct report *r, struct report_conn *c, const void *rec);
	/* offsets of the record's uint64 start and end times (ns), 0 = none: range-checked
	 * (report_span_ok, or report_time_ok with a start only) before fn sees the record */
	size_t t0, t1;
};

#define SPAN(type) offsetof(struct type, start_ns), offsetof(struct type, end_ns)

static const struct cuda_handler handlers[] = {
    [GP_REC_CUDA_API - 0x300] = {sizeof(struct gp_rec_cuda_api), h_api, SPAN(gp_rec_cuda_api)},
    [GP_REC_CUDA_KERNEL - 0x300] = {sizeof(struct gp_rec_cuda_kernel), h_kernel,
				    SPAN(gp_rec_cuda_kernel)},
    [GP_REC_CUDA_MEMCPY - 0x300] = {sizeof(struct gp_rec_cuda_memcpy), h_memcpy,
				    SPAN(gp_rec_cuda_memcpy)},
    [GP_REC_CUDA_MEMSET - 0x300] = {sizeof(struct gp_rec_cuda_memset), h_memset,
				    SPAN(gp_rec_cuda_memset)},
    [GP_REC_CUDA_SYNC - 0x300] = {sizeof(struct gp_rec_cuda_sync), h_sync, SPAN(gp_rec_cuda_sync)},
    [GP_REC_CUDA_MEMORY - 0x300] = {sizeof(struct gp_rec_cuda_memory), h_memory,
				    offsetof(struct gp_rec_cuda_memory, ts_ns), 0},
    [GP_REC_CUDA_GRAPH_TRACE - 0x300] = {sizeof(struct gp_rec_cuda_graph_trace), h_graph,
					 SPAN(gp_rec_cuda_graph_trace)},
    [GP_REC_CUDA_DEVICE - 0x300] = {sizeof(struct gp_rec_cuda_device), h_device},
    [GP_REC_CUDA_CONTEXT - 0x300] = {sizeof(struct gp_rec_cuda_context), h_context},
    [GP_REC_CUDA_STREAM - 0x300] = {sizeof(struct gp_rec_cuda_stream), h_stream},
    [GP_REC_CUDA_GRAPH_EVENT - 0x300] = {sizeof(struct gp_rec_cuda_graph_event), h_graph_event,
					 offsetof(struct gp_rec_cuda_graph_event, ts_ns), 0},
    [GP_REC_CUDA_EVENT - 0x300] = {sizeof(struct gp_rec_cuda_event), h_cuda_event},
    [GP_REC_CUDA_CALLCHAIN - 0x300] = {sizeof(struct gp_rec_cuda_callchain), h_callchain},
};

static int cuda_create(struct report *r)
{
	cuda_state(r);
	return 0;
}

static int cuda_handle(struct report *r, struct report_conn *c, const struct gp_rec_hdr *rec)
{
	unsigned idx = rec->type - 0x300u;

	const struct cuda_handler *hd;
	uint64_t t0, t1;

	if (idx >= sizeof(handlers) / sizeof(handlers[0]) || !handlers[idx].fn ||
	    rec->size < handlers[idx].size)
		return -1;
	hd = &handlers[idx];
	if (hd->t0) {
		memcpy(&t0, (const char *)rec + hd->t0, sizeof(t0));
		if (hd->t1)
			memcpy(&t1, (const char *)rec + hd->t1, sizeof(t1));
		if (hd->t1 ? !report_span_ok(r, t0, t1) : !report_time_ok(r, t0))
			return report_count_bad_record(r);
	}
	return hd->fn(r, c, rec);
}

static void cuda_release(struct report *r)
{
	void **slot = report_module_state(r, REPORT_MOD_CUDA);
	struct cuda_state *s = *slot;

	for (int t = 0; s && t < T_COUNT; t++)
		if (s->stmts[t])
			sqlite3_finalize(s->stmts[t]);
	if (s) {
		free(s->knames);
		i64map_free(&s->kname_ix);
		i64map_free(&s->chains);
		report_symbols_free(s->syms);
	}
	free(s);
	*slot = NULL;
}

static int cuda_finish(struct report *r)
{
	struct cuda_state *s = cuda_state(r);

	if (s->chains_made) { /* --cudabacktrace: the chains made, and those no call joined */
		char v[24];

		snprintf(v, sizeof(v), "%lld", (long long)s->chains_made);
		report_meta_export(r, "GPROF_CUDA_CALLCHAINS", v);
		snprintf(v, sizeof(v), "%lld", (long long)(s->chains_made - s->chains_joined));
		report_meta_export(r, "GPROF_CUDA_CALLCHAINS_UNJOINED", v);
	}
	if (s->py_chains || s->py_version || s->py_unread) { /* --python-backtrace=cuda */
		char v[24];

		snprintf(v, sizeof(v), "%lld", (long long)s->py_chains);
		report_meta_export(r, "GPROF_PYTHON_BACKTRACES", v);
		snprintf(v, sizeof(v), "%lld", (long long)(s->py_version + s->py_unread));
		report_meta_export(r, "GPROF_PYTHON_BACKTRACES_UNREAD", v);
	}
	if (s->py_version) {
		warning("--python-backtrace=cuda: %lld CUDA backtraces have no Python frames: the "
			"application runs a CPython whose frames gprof-cli cannot read",
			(long long)s->py_version);
		hint("CPython 3.11 and 3.12 are read");
	} else if (s->py_unread) {
		warning("--python-backtrace=cuda: the Python frames of %lld CUDA backtraces could "
			"not be read (META_DATA_EXPORT GPROF_PYTHON_BACKTRACES_UNREAD)",
			(long long)s->py_unread);
		hint("the calling thread's frames were changing or its memory was not readable; "
		     "the native frames are kept");
	}
	cuda_release(r);
	/* kernel/copy -> API joins (cuda_api_gpu_sum, cuda_gpu_trace) go by correlationId */
	if (sqlite3_table_column_metadata(report_db(r), NULL, "CUPTI_ACTIVITY_KIND_RUNTIME",
					  "correlationId", NULL, NULL, NULL, NULL,
					  NULL) == SQLITE_OK)
		report_exec(r, "CREATE INDEX IF NOT EXISTS GPROF_RUNTIME_CORRELATION ON "
			       "CUPTI_ACTIVITY_KIND_RUNTIME(correlationId)");
	return 0;
}

/*
 * Repeat captures (report.h report_module.route): an event record tagged by the
 * collector (struct gp_cuda_window_tag after the record's struct, wire_cuda.h) goes to
 * the window it names: the collector knows which range launched a kernel (its
 * correlationId) even when CUPTI delivers it after the range closed; one tagged
 * GP_CUDA_WINDOW_FROM | k (graph creation) goes to window k and every later one.
 * Untagged records follow the recorder's default rule.
 */
static int cuda_route(struct report_router *rt, uint32_t pid, const struct gp_rec_hdr *rec)
{
	unsigned idx = rec->type - 0x300u;
	struct gp_cuda_window_tag t;
	size_t base;

	(void)rt;
	(void)pid;
	if (idx >= sizeof(handlers) / sizeof(handlers[0]) || !handlers[idx].fn)
		return REPORT_ROUTE_DEFAULT;
	base = handlers[idx].size;
	if (rec->type == GP_REC_CUDA_CALLCHAIN && rec->size >= base) /* after the frames */
		base += (size_t)((const struct gp_rec_cuda_callchain *)(const void *)rec)->nframes *
			    sizeof(struct gp_osrt_frame) +
			(size_t)((const struct gp_rec_cuda_callchain *)(const void *)rec)->npy *
			    sizeof(struct gp_cuda_py_frame);
	if (rec->size < base + sizeof(t))
		return REPORT_ROUTE_DEFAULT;
	memcpy(&t, (const char *)rec + base, sizeof(t));
	if (t.magic == GP_CUDA_WINDOW_MAGIC && (t.window & GP_CUDA_WINDOW_FROM) &&
	    (t.window & ~GP_CUDA_WINDOW_FROM) < GP_CAPTURE_MAX_WINDOWS)
		return REPORT_ROUTE_FROM(t.window & ~GP_CUDA_WINDOW_FROM);
	if (t.magic != GP_CUDA_WINDOW_MAGIC || t.window >= GP_CAPTURE_MAX_WINDOWS)
		return REPORT_ROUTE_DEFAULT;
	return (int)t.window;
}

const struct report_module report_module_cuda = {
    .name = "cuda",
    .first_type = 0x300,
    .last_type = 0x3ff,
    .create = cuda_create,
    .handle = cuda_handle,
    .conn_close = NULL,
    .finish = cuda_finish,
    .release = cuda_release,
    .route = cuda_route,
};
