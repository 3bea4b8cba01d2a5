/*
 * cuda_common.h - shared pieces of the CUDA stats reports (exporters/stats/cuda_*.c,
 * nvtx_kern_sum.c, nvtx_gpu_proj_*.c, cuda_gpu_mem_peak.c).
 *
 * Everything here reads only nsys-schema tables and columns
 * (../shared/reference/nsys-sqlite-schema.md) and builds TEMP objects on the report's
 * connection, so the same code serves nsys exports and gprof-cli reports.
 *
 * Semantics follow nsys's stats scripts (nsys-cli.md section 2.2-2.3):
 *  - kernel names: demangledName by default, shortName with :base, mangledName with
 *    :mangled (falling back to demangledName where it is NULL or the column is absent);
 *  - :nvtx-name prefixes a kernel's name with "<innermost NVTX range>/", the range being
 *    the innermost push/pop or start/end range on the launching thread that contains the
 *    kernel's launch API call;
 *  - NVTX range names are "<domain name>:<message>" (":<message>" in the default domain);
 *  - a GPU operation is "contained" by a range when the CUDA API call that launched it
 *    (same correlationId, same process) lies within [range start, range end] on the
 *    range's thread; only ranges that start and end on the same thread count, and an
 *    unterminated range ends at the last NVTX range timestamp.
 */
#ifndef GPROF_STATS_CUDA_COMMON_H
#define GPROF_STATS_CUDA_COMMON_H

#include <sqlite3.h>

#include "../stats.h"

#include "core/nsys_event_type.h" /* NVTX_EVENTS.eventType ids */

/* The globalPid part of a globalTid (nsys: globalTid & 0xFFFFFFFFFF000000). */
#define CUDA_GPID_MASK "0xFFFFFFFFFF000000"

/* Run one or more statements; on failure error("cannot ...: <sqlite msg>") and -1. */
int cuda_exec(sqlite3 *db, const char *sql);

/* Append the SQL expression that drops a CUDA API version suffix from the string
 * expression `expr` ("cudaLaunchKernel_v7000" -> "cudaLaunchKernel": when the 6th- and
 * 5th-from-last characters are "_v", the last 6 characters go; nsys-cli.md 2.2). */
void cuda_api_name_sql(struct strbuf *sb, const char *expr);

/*
 * (Re)create TEMP VIEW CUPTI_ACTIVITY_KIND_KERNEL_NAMED: every column of
 * CUPTI_ACTIVITY_KIND_KERNEL plus kernelRowId (its rowid) and `name` (TEXT), chosen by args "base",
 * "mangled" and "nvtx-name" as described above (nsys's kernel_helper view of the same name).  With
 * nvtx-name it builds the NVTX tables first (cuda_nvtx_build).  0, or -1 after error().
 */
int cuda_kernel_view(sqlite3 *db, const struct stats_args *args);

/*
 * (Re)create TEMP VIEW GP_RUNTIME_ONE: CUPTI_ACTIVITY_KIND_RUNTIME with one row per
 * (correlationId, process) -- what a GPU activity's correlationId names.  Joining GPU rows
 * to it gives at most one row per GPU row, so a damaged or crafted report whose API rows
 * share correlation ids cannot turn the join into a cross join.  0, or -1 after error().
 */
int cuda_runtime_view(sqlite3 *db);

/* Append "SELECT start, end, correlationId, globalPid FROM <t>" joined by UNION ALL for
 * each of CUPTI_ACTIVITY_KIND_KERNEL/MEMCPY/MEMSET that exists.  Returns how many. */
int cuda_gpuops_sql(sqlite3 *db, struct strbuf *sb);

/* Append the memory operations as "SELECT <name> AS name, <cols> FROM <table>" joined
 * by UNION ALL, for each of CUPTI_ACTIVITY_KIND_MEMCPY / _MEMSET that exists; <cols>
 * may use the columns the two tables share (start, end, bytes, deviceId, ...).  The
 * name is "[CUDA memcpy <ENUM_CUDA_MEMCPY_OPER.label>]" or "[CUDA memset]" (nsys;
 * the labels of nsys 2025 are built in for reports that lack the ENUM table).
 * Returns how many tables were used. */
int cuda_memops_sql(sqlite3 *db, struct strbuf *sb, const char *cols);

/* The label of ENUM_CUDA_MEMCPY_OPER id `kind` ("Host-to-Device", ...; nsys's labels),
 * "Unknown" for an id outside the enum.  A static string. */
const char *cuda_memcpy_label(int64_t kind);
/* The SQL expression naming memcpy kind `expr` ("Host-to-Device", ...). */
void cuda_memcpy_label_sql(sqlite3 *db, struct strbuf *sb, const char *expr);

/*
 * Build, once per connection (no-op when they already exist):
 *   temp.GP_NVTX_RANGES(rangeId INTEGER PRIMARY KEY  -- NVTX_EVENTS.rowid
 *                       startNS, endNS INTEGER       -- ns; NULL end -> last NVTX ts
 *                       globalTid INTEGER, name TEXT ("domain:message"),
 *                       style TEXT ('PushPop'|'StartEnd'),
 *                       parentId INTEGER             -- tightest enclosing range on the
 *                                                       same thread, NULL at top level
 *                       level INTEGER                -- 0 at top level
 *                       rangeStack TEXT)             -- ":<root id>:...:<own id>"
 *   temp.GP_NVTX_CONTAIN(correlationId, globalPid, rangeId, innermost)
 *       one row per (CUDA API call that launched a GPU op, range containing it);
 *       innermost = 1 on the row of the innermost such range.
 * Ranges come from NVTX_EVENTS types 59/60/70/71; the containment is computed by one
 * sweep per thread (ranges and calls sorted by start), O((R + C) * depth).
 * Tables that are absent (no NVTX_EVENTS, no CUPTI_ACTIVITY_KIND_RUNTIME, no GPU op
 * tables) give empty result tables.  0, or -1 after error().
 */
int cuda_nvtx_build(sqlite3 *db);

/*
 * Append "WITH proj AS (...)" (after cuda_nvtx_build): one row per NVTX range that
 * contains at least one GPU operation launch, columns
 *   name, style, rangeId, parentId, rangeStack, level (0 = top), childNb (children
 *   that have GPU operations too), pid, tid, nvtxStart, nvtxDuration (ns),
 *   projStart = first start of the enclosed GPU ops, projDuration = last end - projStart,
 *   opNb = number of distinct launch calls (correlationIds) enclosed.
 * nsys's nvtx_gpu_proj_trace / _sum semantics (nsys-cli.md 2.3).
 */
void cuda_nvtx_proj_sql(struct strbuf *sb);

/* Shared table lists (stats_report .args/.needs/.needs_what/.needs_any, NULL-terminated)
 * of the kernel reports (cuda_gpu_kern_sum, cuda_gpu_kern_gb_sum) and of the NVTX GPU
 * projection reports (nvtx_gpu_proj_sum, nvtx_gpu_proj_trace). */
extern const char *const cuda_kern_args[];
extern const char *const cuda_kern_needs[];
extern const char *const cuda_nvtx_proj_needs[];
extern const char *const cuda_nvtx_proj_needs_what[];
extern const char *const cuda_nvtx_proj_needs_any[];

/*
 * SQL of the category summaries (cuda_gpu_sum; cuda_api_gpu_sum with with_api != 0):
 * kernels (through cuda_kernel_view, so :base/:mangled/:nvtx-name apply), memory
 * operations and, with with_api, CUDA API calls, one row per (Operation, Category) with
 * nsys's columns.  Appends to *sql; 0, or -1 after printing an error.
 */
int cuda_category_sum_sql(sqlite3 *db, const struct stats_args *args, int with_api,
			  struct strbuf *sql);

/*
 * Memory peaks (exporters/stats/cuda_gpu_mem_peak.c; cuda_gpu_mem_peak, cpu_mem_peak,
 * mem_peak).  events: SQL whose rows are (globalPid, device, time ns, op, value) in
 * (globalPid, device, time) order; op 0 allocation, 1 free, 2 neither (a known level);
 * value is the bytes of the operation (absolute = 0: a running total is kept per process
 * and device) or the bytes in use after it (absolute = 1).  Fills temp.<table>(pid, dev,
 * range, inst, peak, peakTime, allocs, frees, owns, openAtPeak, ord): per (process,
 * device) one row with range NULL (the peak, when first reached, the NVTX push/pop ranges
 * open at that instant innermost first joined by " < ") and one per range name (ord > 0:
 * its instances' highest peak, the allocs/frees while open, owns = "Yes" when open at
 * the peak).  Builds the NVTX tables first (cuda_nvtx_build).  0, or -1 after error().
 */
int stats_mem_peak_build(sqlite3 *db, const char *table, const char *events, int absolute);

/* The GPU events of CUDA_GPU_MEMORY_USAGE_EVENTS for stats_mem_peak_build() (device
 * memory: memKind 0 pageable and 1 pinned host memory left out). */
#define STATS_GPU_MEM_EVENTS                                                                       \
	"SELECT globalPid, deviceId, start, memoryOperationType, bytes "                           \
	"FROM CUDA_GPU_MEMORY_USAGE_EVENTS "                                                       \
	"WHERE memoryOperationType IN (0, 1) AND memKind NOT IN (0, 1) "                           \
	"ORDER BY globalPid, deviceId, start, rowid"

/* stats_mem_peak_build() on the host memory tables (GPROF_HOST_MEMORY_EVENTS, and the
 * exact peak of GPROF_HOST_MEMORY_PROCESSES as a known level) into temp.<table>, device
 * -1 (exporters/stats/cpu_mem_peak.c).  0, or -1 after error(). */
int stats_host_mem_peak_build(sqlite3 *db, const char *table);

#endif
