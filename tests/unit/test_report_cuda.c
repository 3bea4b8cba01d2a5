/*
 * test_report_cuda.c - the cuda table module (core/report_cuda.c) on hand-made
 * GP_REC_CUDA_* records sent through a real recorder channel: rows, enum mapping to
 * nsys ids, kernel-name demangling and shortName, device/context/stream info.
 * CPU only (no GPU, no CUPTI).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/recorder.h"
#include "core/report.h"
#include "core/report_cuda.h"
#include "core/util.h"
#include "core/wire.h"
#include "tests/testutil.h"

#define PID 4242u
#define TID 4243u
#define T0  1000000000ull /* session start (monotonic ns) */

/* ---- a tiny producer ----------------------------------------------------------------- */

enum {
	S_TINY = 1,
	S_LAUNCH,
	S_ADD,
	S_GEMM,
	S_GPU,
	S_CHIP,
	S_GETNAME,
	S_ANON,
};

static void send_session(int fd)
{
	struct gp_rec_hello *hello = tu_add_rec(GP_REC_HELLO, sizeof(*hello), TID);
	hello->pid = PID;
	hello->ppid = 1;
	hello->collector = GP_COLLECTOR_INJECT;
	hello->start_ns = T0;

	tu_add_string(S_TINY, "_Z4tinyPfi");
	tu_add_string(S_LAUNCH, "cudaLaunchKernel_v7000");
	tu_add_string(S_ADD, "_ZN2ns3addIfEEvPT_S2_i");
	tu_add_string(S_GEMM, "sm90_xmma_gemm_f32f32_tf32f32_f32_nn_n_cublas");
	tu_add_string(S_GPU, "NVIDIA H200");
	tu_add_string(S_CHIP, "GH100");
	tu_add_string(S_GETNAME, "cuKernelGetName");
	tu_add_string(S_ANON, "_ZN12_GLOBAL__N_16kernelEv");

	struct gp_rec_cuda_device *d = tu_add_rec(GP_REC_CUDA_DEVICE, sizeof(*d), 0);
	d->global_memory_bandwidth = 4814304000ull;
	d->global_memory_size = 150109880320ull;
	d->id = 0;
	d->name_sid = S_GPU;
	d->chip_sid = S_CHIP;
	d->l2_cache_size = 62914560;
	d->core_clock_rate = 1980000;
	d->num_multiprocessors = 132;
	d->cc_major = 9;
	d->cc_minor = 0;
	d->pci_domain = 0;
	d->pci_bus = 0;
	d->pci_device = 6;
	d->max_threads_per_block = 1024;
	for (int i = 0; i < 16; i++)
		d->uuid[i] = (uint8_t)(0xe9 + i);

	struct gp_rec_cuda_context *cx = tu_add_rec(GP_REC_CUDA_CONTEXT, sizeof(*cx), 0);
	cx->context_id = 1;
	cx->device_id = 0;
	cx->null_stream_id = 7;

	struct gp_rec_cuda_stream *st = tu_add_rec(GP_REC_CUDA_STREAM, sizeof(*st), 0);
	st->stream_id = 13;
	st->context_id = 1;
	st->priority = 0;
	st->flag = 1;

	struct gp_rec_cuda_api *a = tu_add_rec(GP_REC_CUDA_API, sizeof(*a), TID);
	a->start_ns = T0 + 1000;
	a->end_ns = T0 + 5000;
	a->correlation_id = 124;
	a->name_sid = S_LAUNCH;
	a->event_class = GP_CUDA_API_RUNTIME;
	a->cbid = 211;

	a = tu_add_rec(GP_REC_CUDA_API, sizeof(*a), TID + 1);
	a->start_ns = T0 + 6000;
	a->end_ns = T0 + 6100;
	a->correlation_id = 125;
	a->name_sid = S_GETNAME;
	a->return_value = 500;
	a->event_class = GP_CUDA_API_DRIVER;

	/* kernels: tiny x2, ns::add<float>, an unmangled cuBLAS name, an anonymous namespace */
	uint32_t names[] = {S_TINY, S_TINY, S_ADD, S_GEMM, S_ANON};
	for (int i = 0; i < 5; i++) {
		struct gp_rec_cuda_kernel *k = tu_add_rec(GP_REC_CUDA_KERNEL, sizeof(*k), 0);
		k->start_ns = T0 + 10000 + 1000 * (uint64_t)i;
		k->end_ns = k->start_ns + 500;
		k->grid_id = i + 1;
		k->device_id = 0;
		k->context_id = 1;
		k->stream_id = 13;
		k->correlation_id = 124 + (uint32_t)i;
		k->name_sid = names[i];
		k->grid_x = 256;
		k->grid_y = k->grid_z = 1;
		k->block_x = 256;
		k->block_y = k->block_z = 1;
		k->registers_per_thread = 16;
		k->launch_type = 0; /* CUPTI REGULAR */
		k->local_memory_total = 155713536;
		k->shared_memory_executed = 32768;
		k->graph_id = i == 2 ? 5 : 0;
		k->graph_node_id = i == 2 ? 77 : 0;
	}

	struct gp_rec_cuda_memcpy *m = tu_add_rec(GP_REC_CUDA_MEMCPY, sizeof(*m), 0);
	m->start_ns = T0 + 20000;
	m->end_ns = T0 + 34336;
	m->bytes = 262144;
	m->copy_count = 1;
	m->context_id = 1;
	m->stream_id = 13;
	m->correlation_id = 126;
	m->copy_kind = 1; /* HTOD */
	m->src_kind = 2;  /* CUPTI PINNED */
	m->dst_kind = 3;  /* CUPTI DEVICE */
	m->flags = GP_CUDA_MEMCPY_ASYNC;

	m = tu_add_rec(GP_REC_CUDA_MEMCPY, sizeof(*m), 0);
	m->start_ns = T0 + 40000;
	m->end_ns = T0 + 41000;
	m->bytes = 4096;
	m->context_id = 1;
	m->stream_id = 13;
	m->correlation_id = 127;
	m->copy_kind = 10; /* PTOP */
	m->src_kind = 3;
	m->dst_kind = 3;
	m->src_device_id = 0;
	m->dst_device_id = 1;
	m->src_context_id = 1;
	m->dst_context_id = 2;
	m->flags = GP_CUDA_MEMCPY_PTOP;

	struct gp_rec_cuda_memset *ms = tu_add_rec(GP_REC_CUDA_MEMSET, sizeof(*ms), 0);
	ms->start_ns = T0 + 50000;
	ms->end_ns = T0 + 50500;
	ms->bytes = 1024;
	ms->context_id = 1;
	ms->stream_id = 13;
	ms->correlation_id = 128;
	ms->value = 7;
	ms->memory_kind = 3; /* CUPTI DEVICE */

	struct gp_rec_cuda_sync *sy = tu_add_rec(GP_REC_CUDA_SYNC, sizeof(*sy), 0);
	sy->start_ns = T0 + 60000;
	sy->end_ns = T0 + 64561;
	sy->context_id = 1;
	sy->stream_id = 13;
	sy->correlation_id = 129;
	sy->cuda_event_id = UINT32_MAX;
	sy->cuda_event_sync_id = UINT64_MAX;
	sy->type = 3; /* CUPTI STREAM_SYNCHRONIZE */

	struct gp_rec_cuda_memory *mo = tu_add_rec(GP_REC_CUDA_MEMORY, sizeof(*mo), 0);
	mo->ts_ns = T0 + 70000;
	mo->address = 0x7f0000000000ull;
	mo->bytes = 1 << 20;
	mo->context_id = 1;
	mo->stream_id = UINT32_MAX;
	mo->correlation_id = 130;
	mo->operation_type = 1; /* CUPTI ALLOCATION */
	mo->memory_kind = 3;
	mo = tu_add_rec(GP_REC_CUDA_MEMORY, sizeof(*mo), 0);
	mo->ts_ns = T0 + 80000;
	mo->address = 0x7f0000000000ull;
	mo->bytes = 1 << 20;
	mo->context_id = 1;
	mo->stream_id = 13;
	mo->correlation_id = 131;
	mo->operation_type = 2; /* CUPTI RELEASE */
	mo->memory_kind = 3;
	mo->pool_type = 1;
	mo->pool_size = 1 << 21;
	mo->is_async = 1;

	struct gp_rec_cuda_graph_trace *g = tu_add_rec(GP_REC_CUDA_GRAPH_TRACE, sizeof(*g), 0);
	g->start_ns = T0 + 90000;
	g->end_ns = T0 + 95000;
	g->context_id = 1;
	g->stream_id = 13;
	g->correlation_id = 132;
	g->graph_id = 5;

	/* cudaEventRecord twice (the second with a GPU completion time) and a
	 * cudaEventSynchronize on the second: the sync record names the event's sync id */
	a = tu_add_rec(GP_REC_CUDA_API, sizeof(*a), TID);
	a->start_ns = T0 + 100000;
	a->end_ns = T0 + 101000;
	a->correlation_id = 140;
	a->name_sid = S_LAUNCH;
	for (int i = 0; i < 2; i++) {
		struct gp_rec_cuda_event *e = tu_add_rec(GP_REC_CUDA_EVENT, sizeof(*e), 0);
		e->device_id = 0;
		e->context_id = 1;
		e->stream_id = 13;
		e->correlation_id = 140 + (uint32_t)i;
		e->event_id = 9;
		e->cuda_event_sync_id = 70 + (uint64_t)i;
		e->device_ts_ns = i ? T0 + 104000 : 0;
	}
	sy = tu_add_rec(GP_REC_CUDA_SYNC, sizeof(*sy), 0);
	sy->start_ns = T0 + 103000;
	sy->end_ns = T0 + 105000;
	sy->context_id = 1;
	sy->stream_id = 13;
	sy->correlation_id = 142;
	sy->cuda_event_id = 9;
	sy->cuda_event_sync_id = 71;
	sy->type = 1; /* CUPTI EVENT_SYNCHRONIZE */

	/* cudaStreamWaitEvent (CUPTI 2) and cudaDeviceSynchronize (CUPTI 4) */
	for (uint32_t i = 0; i < 2; i++) {
		sy = tu_add_rec(GP_REC_CUDA_SYNC, sizeof(*sy), 0);
		sy->start_ns = T0 + 110000 + 1000 * (uint64_t)i;
		sy->end_ns = sy->start_ns + 500;
		sy->context_id = 1;
		sy->stream_id = i ? UINT32_MAX : 13;
		sy->correlation_id = 150 + i;
		sy->cuda_event_id = i ? UINT32_MAX : 9;
		sy->cuda_event_sync_id = UINT64_MAX;
		sy->type = i ? 4 : 2;
	}

	tu_send_frame(fd, PID, 0);
}

/* ---- fixture ------------------------------------------------------------------------ */

static char dir[64], path[128];
static sqlite3 *db;

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/gprof-test-cuda-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/r.db", dir);
	tu_record_session(path, T0, PID, send_session);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	return 0;
}

static int teardown(void **state)
{
	char cmd[160];

	(void)state;
	sqlite3_close(db);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* First column of the first row of `sql` as an integer (fails the test when no row). */
static int64_t q_int(const char *sql)
{
	return tu_db_row_int(db, sql);
}

/* First column of the first row as text, copied to a static buffer ("<NULL>" for NULL). */
static const char *q_text(const char *sql)
{
	return tu_db_row_text(db, sql);
}

/* ---- tests --------------------------------------------------------------------------- */

static void test_runtime(void **state)
{
	(void)state;
	assert_int_equal(q_int("SELECT count(*) FROM CUPTI_ACTIVITY_KIND_RUNTIME"), 3);
	assert_int_equal(q_int("SELECT start FROM CUPTI_ACTIVITY_KIND_RUNTIME WHERE "
			       "correlationId = 124"),
			 1000);
	assert_int_equal(q_int("SELECT end FROM CUPTI_ACTIVITY_KIND_RUNTIME WHERE "
			       "correlationId = 124"),
			 5000);
	assert_int_equal(q_int("SELECT globalTid FROM CUPTI_ACTIVITY_KIND_RUNTIME WHERE "
			       "correlationId = 124"),
			 report_global_tid(PID, TID));
	assert_string_equal(q_text("SELECT s.value FROM CUPTI_ACTIVITY_KIND_RUNTIME r JOIN "
				   "StringIds s ON s.id = r.nameId WHERE correlationId = 124"),
			    "cudaLaunchKernel_v7000");
	assert_int_equal(q_int("SELECT eventClass FROM CUPTI_ACTIVITY_KIND_RUNTIME WHERE "
			       "correlationId = 125"),
			 1);
	assert_int_equal(q_int("SELECT returnValue FROM CUPTI_ACTIVITY_KIND_RUNTIME WHERE "
			       "correlationId = 125"),
			 500);
	assert_int_equal(q_int("SELECT globalTid FROM CUPTI_ACTIVITY_KIND_RUNTIME WHERE "
			       "correlationId = 125"),
			 report_global_tid(PID, TID + 1));
}

static void test_kernel_names(void **state)
{
	(void)state;
	assert_int_equal(q_int("SELECT count(*) FROM CUPTI_ACTIVITY_KIND_KERNEL"), 5);
	/* the fixture's own kernel, as nsys wrote it */
	assert_string_equal(
	    q_text("SELECT d.value FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN StringIds "
		   "d ON d.id = k.demangledName WHERE correlationId = 124"),
	    "tiny(float *, int)");
	assert_string_equal(
	    q_text("SELECT d.value FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN StringIds "
		   "d ON d.id = k.shortName WHERE correlationId = 124"),
	    "tiny");
	assert_string_equal(
	    q_text("SELECT d.value FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN StringIds "
		   "d ON d.id = k.mangledName WHERE correlationId = 124"),
	    "_Z4tinyPfi");
	/* same name: same ids, each string stored once */
	assert_int_equal(q_int("SELECT count(DISTINCT demangledName) FROM "
			       "CUPTI_ACTIVITY_KIND_KERNEL WHERE correlationId IN (124, 125)"),
			 1);
	assert_int_equal(q_int("SELECT count(*) FROM StringIds WHERE value = 'tiny(float *, int)'"),
			 1);
	/* templated, namespaced: a parameter typed by a template parameter prints as T1 */
	assert_string_equal(
	    q_text("SELECT d.value FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN StringIds "
		   "d ON d.id = k.demangledName WHERE correlationId = 126"),
	    "void ns::add<float>(T1 *, T1 *, int)"); /* as nsys: T1 = float */
	assert_string_equal(
	    q_text("SELECT d.value FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN StringIds "
		   "d ON d.id = k.shortName WHERE correlationId = 126"),
	    "add");
	/* not mangled: the name as it is, in all three columns */
	assert_int_equal(q_int("SELECT demangledName = mangledName AND shortName = mangledName "
			       "FROM CUPTI_ACTIVITY_KIND_KERNEL WHERE correlationId = 127"),
			 1);
	assert_string_equal(
	    q_text("SELECT d.value FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN StringIds "
		   "d ON d.id = k.shortName WHERE correlationId = 128"),
	    "kernel");
}

static void test_kernel_columns(void **state)
{
	(void)state;
	assert_int_equal(q_int("SELECT start FROM CUPTI_ACTIVITY_KIND_KERNEL WHERE "
			       "correlationId = 124"),
			 10000);
	assert_int_equal(q_int("SELECT end - start FROM CUPTI_ACTIVITY_KIND_KERNEL WHERE "
			       "correlationId = 124"),
			 500);
	assert_int_equal(q_int("SELECT globalPid FROM CUPTI_ACTIVITY_KIND_KERNEL WHERE "
			       "correlationId = 124"),
			 report_global_pid(PID));
	assert_int_equal(q_int("SELECT launchType FROM CUPTI_ACTIVITY_KIND_KERNEL WHERE "
			       "correlationId = 124"),
			 1);
	assert_int_equal(q_int("SELECT gridX * blockX + registersPerThread FROM "
			       "CUPTI_ACTIVITY_KIND_KERNEL WHERE correlationId = 124"),
			 256 * 256 + 16);
	assert_int_equal(q_int("SELECT localMemoryTotal FROM CUPTI_ACTIVITY_KIND_KERNEL WHERE "
			       "correlationId = 124"),
			 155713536);
	assert_int_equal(q_int("SELECT graphNodeId IS NULL AND graphId IS NULL FROM "
			       "CUPTI_ACTIVITY_KIND_KERNEL WHERE correlationId = 124"),
			 1);
	assert_int_equal(q_int("SELECT graphNodeId * 10 + graphId FROM CUPTI_ACTIVITY_KIND_KERNEL "
			       "WHERE correlationId = 126"),
			 775);
}

static void test_copies_sets_syncs(void **state)
{
	(void)state;
	assert_int_equal(q_int("SELECT count(*) FROM CUPTI_ACTIVITY_KIND_MEMCPY"), 2);
	/* nsys memory kinds: pinned 1, device 2 (CUPTI 2, 3) */
	assert_int_equal(q_int("SELECT copyKind * 100 + srcKind * 10 + dstKind FROM "
			       "CUPTI_ACTIVITY_KIND_MEMCPY WHERE correlationId = 126"),
			 112);
	assert_int_equal(q_int("SELECT bytes FROM CUPTI_ACTIVITY_KIND_MEMCPY WHERE "
			       "correlationId = 126"),
			 262144);
	assert_int_equal(q_int("SELECT srcDeviceId IS NULL AND dstDeviceId IS NULL FROM "
			       "CUPTI_ACTIVITY_KIND_MEMCPY WHERE correlationId = 126"),
			 1);
	assert_int_equal(q_int("SELECT copyKind * 1000 + srcDeviceId * 100 + dstDeviceId * 10 + "
			       "dstContextId FROM CUPTI_ACTIVITY_KIND_MEMCPY WHERE correlationId = "
			       "127"),
			 10012);
	assert_int_equal(q_int("SELECT memKind * 100 + value FROM CUPTI_ACTIVITY_KIND_MEMSET"),
			 207);
	/* cudaStreamSynchronize: nsys writes syncType 2 (fixture) */
	assert_int_equal(q_int("SELECT syncType FROM CUPTI_ACTIVITY_KIND_SYNCHRONIZATION "
			       "WHERE correlationId = 129"),
			 2);
	/* the other CUPTI types keep their ids (nsys 2025.3 on the H200: cudaStreamWaitEvent
	 * 2, the context sync of cudaProfilerStop 4) */
	assert_string_equal(q_text("SELECT group_concat(syncType) FROM (SELECT syncType FROM "
				   "CUPTI_ACTIVITY_KIND_SYNCHRONIZATION WHERE correlationId IN "
				   "(142, 150, 151) ORDER BY correlationId)"),
			    "1,2,4");
	assert_int_equal(q_int("SELECT eventId FROM CUPTI_ACTIVITY_KIND_SYNCHRONIZATION WHERE "
			       "correlationId = 129"),
			 4294967295ll);
	assert_int_equal(q_int("SELECT end - start FROM CUPTI_ACTIVITY_KIND_SYNCHRONIZATION WHERE "
			       "correlationId = 129"),
			 4561);
	assert_int_equal(q_int("SELECT graphId FROM CUPTI_ACTIVITY_KIND_GRAPH_TRACE"), 5);
}

/* CUPTI_ACTIVITY_KIND_CUDA_EVENT: nsys's columns in nsys's order, one row per record,
 * joined to its API call by correlationId and to the synchronisation by eventSyncId. */
static void test_cuda_events(void **state)
{
	(void)state;
	assert_string_equal(q_text("SELECT group_concat(name || ':' || type || ':' || \"notnull\", "
				   "',') FROM pragma_table_info('CUPTI_ACTIVITY_KIND_CUDA_EVENT')"),
			    "timestamp:INTEGER:0,deviceId:INTEGER:1,contextId:INTEGER:1,"
			    "greenContextId:INTEGER:0,streamId:INTEGER:1,correlationId:INTEGER:0,"
			    "globalPid:INTEGER:0,eventId:INTEGER:1,eventSyncId:INTEGER:0");
	assert_int_equal(q_int("SELECT count(*) FROM CUPTI_ACTIVITY_KIND_CUDA_EVENT"), 2);
	/* no GPU time collected: 0, as the schema says */
	assert_int_equal(q_int("SELECT timestamp FROM CUPTI_ACTIVITY_KIND_CUDA_EVENT WHERE "
			       "correlationId = 140"),
			 0);
	assert_int_equal(q_int("SELECT timestamp FROM CUPTI_ACTIVITY_KIND_CUDA_EVENT WHERE "
			       "correlationId = 141"),
			 104000);
	assert_int_equal(q_int("SELECT deviceId * 1000 + contextId * 100 + streamId FROM "
			       "CUPTI_ACTIVITY_KIND_CUDA_EVENT WHERE correlationId = 140"),
			 113);
	assert_int_equal(q_int("SELECT greenContextId IS NULL FROM CUPTI_ACTIVITY_KIND_CUDA_EVENT "
			       "WHERE correlationId = 140"),
			 1);
	assert_int_equal(q_int("SELECT globalPid FROM CUPTI_ACTIVITY_KIND_CUDA_EVENT WHERE "
			       "correlationId = 140"),
			 report_global_pid(PID));
	assert_int_equal(
	    q_int("SELECT r.start FROM CUPTI_ACTIVITY_KIND_CUDA_EVENT e JOIN "
		  "CUPTI_ACTIVITY_KIND_RUNTIME r USING (correlationId) WHERE e.eventId = "
		  "9"),
	    100000);
	assert_int_equal(q_int("SELECT e.correlationId FROM CUPTI_ACTIVITY_KIND_CUDA_EVENT e JOIN "
			       "CUPTI_ACTIVITY_KIND_SYNCHRONIZATION s ON s.eventSyncId = "
			       "e.eventSyncId AND s.eventId = e.eventId"),
			 141);
}

static void test_memory_usage(void **state)
{
	(void)state;
	assert_int_equal(q_int("SELECT count(*) FROM CUDA_GPU_MEMORY_USAGE_EVENTS"), 2);
	assert_int_equal(q_int("SELECT memoryOperationType * 10 + memKind FROM "
			       "CUDA_GPU_MEMORY_USAGE_EVENTS WHERE correlationId = 130"),
			 2);
	assert_int_equal(q_int("SELECT streamId IS NULL FROM CUDA_GPU_MEMORY_USAGE_EVENTS WHERE "
			       "correlationId = 130"),
			 1);
	assert_int_equal(q_int("SELECT memoryOperationType FROM CUDA_GPU_MEMORY_USAGE_EVENTS "
			       "WHERE correlationId = 131"),
			 1);
	assert_int_equal(q_int("SELECT localMemoryPoolSize FROM CUDA_GPU_MEMORY_USAGE_EVENTS "
			       "WHERE correlationId = 131"),
			 1 << 21);
	assert_int_equal(q_int("SELECT start FROM CUDA_GPU_MEMORY_USAGE_EVENTS WHERE "
			       "correlationId = 130"),
			 70000);
}

static void test_target_info(void **state)
{
	(void)state;
	assert_string_equal(q_text("SELECT name FROM TARGET_INFO_GPU"), "NVIDIA H200");
	assert_string_equal(q_text("SELECT chipName FROM TARGET_INFO_GPU"), "GH100");
	assert_string_equal(q_text("SELECT busLocation FROM TARGET_INFO_GPU"), "0000:00:06.0");
	assert_int_equal(q_int("SELECT memoryBandwidth FROM TARGET_INFO_GPU"), 4814304000000ll);
	assert_int_equal(q_int("SELECT clockRate FROM TARGET_INFO_GPU"), 1980000000ll);
	assert_int_equal(q_int("SELECT smCount * 100 + computeMajor * 10 + computeMinor FROM "
			       "TARGET_INFO_GPU"),
			 13290);
	assert_int_equal(q_int("SELECT vmId FROM TARGET_INFO_GPU"), 281474976710656ll);
	assert_string_equal(q_text("SELECT uuid FROM TARGET_INFO_GPU"),
			    "e9eaebec-edee-eff0-f1f2-f3f4f5f6f7f8");
	assert_int_equal(q_int("SELECT pid FROM TARGET_INFO_CUDA_DEVICE"), PID);
	assert_int_equal(q_int("SELECT nullStreamId * 10 + contextId FROM "
			       "TARGET_INFO_CUDA_CONTEXT_INFO"),
			 71);
	assert_int_equal(q_int("SELECT streamId * 10 + flag FROM TARGET_INFO_CUDA_STREAM"), 131);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_runtime),	   cmocka_unit_test(test_kernel_names),
	    cmocka_unit_test(test_kernel_columns), cmocka_unit_test(test_copies_sets_syncs),
	    cmocka_unit_test(test_memory_usage),   cmocka_unit_test(test_target_info),
	    cmocka_unit_test(test_cuda_events),

	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
