/*
 * cuda_gpu_trace.c - "CUDA GPU Trace": every kernel, memory copy and memory set, by
 * start time (nsys stats report cuda_gpu_trace, nsys-cli.md 2.3).
 */
#include "cuda_common.h"

static const char *const args[] = {"nvtx-name", "base", "mangled", NULL};
static const char *const needs[] = {"StringIds", "TARGET_INFO_GPU", NULL};
static const char *const needs_what[] = {"StringIds table", "TARGET_INFO_GPU table", NULL};
static const char *const needs_any[] = {"CUPTI_ACTIVITY_KIND_KERNEL", "CUPTI_ACTIVITY_KIND_MEMCPY",
					"CUPTI_ACTIVITY_KIND_MEMSET", NULL};

/* Device column: "<TARGET_INFO_GPU.name> (<deviceId>)". */
static void device_sql(sqlite3 *db, struct strbuf *sql, const char *alias)
{
	if (stats_table_exists(db, "TARGET_INFO_GPU"))
		strbuf_addf(sql,
			    "printf('%%s (%%d)', (SELECT name FROM TARGET_INFO_GPU WHERE id = "
			    "%s.deviceId LIMIT 1), %s.deviceId)",
			    alias, alias);
	else
		strbuf_addf(sql, "printf('%%s (%%d)', NULL, %s.deviceId)", alias);
}

static void green_sql(sqlite3 *db, struct strbuf *sql, const char *table, const char *alias)
{
	if (stats_column_exists(db, table, "greenContextId"))
		strbuf_addf(sql, "%s.greenContextId", alias);
	else
		strbuf_addstr(sql, "NULL");
}

static void memkind_sql(sqlite3 *db, struct strbuf *sql, const char *expr)
{
	if (stats_table_exists(db, "ENUM_CUDA_MEM_KIND"))
		strbuf_addf(sql, "(SELECT label FROM ENUM_CUDA_MEM_KIND WHERE id = %s)", expr);
	else
		strbuf_addstr(sql, "NULL");
}

static int query(sqlite3 *db, const struct stats_args *a, struct strbuf *sql)
{
	int n = 0;

	strbuf_addstr(sql, "WITH recs AS (");
	if (stats_table_exists(db, "CUPTI_ACTIVITY_KIND_KERNEL")) {
		if (cuda_kernel_view(db, a))
			return -1;
		strbuf_addstr(sql,
			      "SELECT k.start AS start, k.end - k.start AS duration, "
			      "k.gridX AS gridX, k.gridY AS gridY, k.gridZ AS gridZ, "
			      "k.blockX AS blockX, k.blockY AS blockY, k.blockZ AS blockZ, "
			      "k.registersPerThread AS regs, k.staticSharedMemory AS ssmem, "
			      "k.dynamicSharedMemory AS dsmem, NULL AS bytes, NULL AS srckind, "
			      "NULL AS dstkind, ");
		device_sql(db, sql, "k");
		strbuf_addstr(sql, " AS device, k.contextId AS context, ");
		green_sql(db, sql, "CUPTI_ACTIVITY_KIND_KERNEL", "k");
		strbuf_addstr(sql, " AS green, k.streamId AS stream, k.name AS name, "
				   "k.correlationId AS corr "
				   "FROM CUPTI_ACTIVITY_KIND_KERNEL_NAMED AS k");
		n++;
	}
	if (stats_table_exists(db, "CUPTI_ACTIVITY_KIND_MEMCPY")) {
		if (n++)
			strbuf_addstr(sql, " UNION ALL ");
		strbuf_addstr(sql, "SELECT m.start, m.end - m.start, NULL, NULL, NULL, NULL, NULL, "
				   "NULL, NULL, NULL, NULL, m.bytes, ");
		memkind_sql(db, sql, "m.srcKind");
		strbuf_addstr(sql, ", ");
		memkind_sql(db, sql, "m.dstKind");
		strbuf_addstr(sql, ", ");
		device_sql(db, sql, "m");
		strbuf_addstr(sql, ", m.contextId, ");
		green_sql(db, sql, "CUPTI_ACTIVITY_KIND_MEMCPY", "m");
		strbuf_addstr(sql, ", m.streamId, '[CUDA memcpy ' || ");
		cuda_memcpy_label_sql(db, sql, "m.copyKind");
		strbuf_addstr(sql, " || ']', m.correlationId FROM CUPTI_ACTIVITY_KIND_MEMCPY AS m");
	}
	if (stats_table_exists(db, "CUPTI_ACTIVITY_KIND_MEMSET")) {
		if (n++)
			strbuf_addstr(sql, " UNION ALL ");
		strbuf_addstr(sql, "SELECT m.start, m.end - m.start, NULL, NULL, NULL, NULL, NULL, "
				   "NULL, NULL, NULL, NULL, m.bytes, ");
		memkind_sql(db, sql, "m.memKind");
		strbuf_addstr(sql, ", NULL, ");
		device_sql(db, sql, "m");
		strbuf_addstr(sql, ", m.contextId, ");
		green_sql(db, sql, "CUPTI_ACTIVITY_KIND_MEMSET", "m");
		strbuf_addstr(sql, ", m.streamId, '[CUDA memset]', m.correlationId "
				   "FROM CUPTI_ACTIVITY_KIND_MEMSET AS m");
	}
	if (!n)
		strbuf_addstr(sql,
			      "SELECT NULL AS start, NULL AS duration, NULL AS gridX, NULL AS "
			      "gridY, NULL AS gridZ, NULL AS blockX, NULL AS blockY, NULL AS "
			      "blockZ, NULL AS regs, NULL AS ssmem, NULL AS dsmem, NULL AS bytes, "
			      "NULL AS srckind, NULL AS dstkind, NULL AS device, NULL AS "
			      "context, NULL AS green, NULL AS stream, NULL AS name, NULL AS corr "
			      "WHERE 0");
	/* Throughput as nsys computes it: bytes * (1e9 / duration), integer division. */
	strbuf_addstr(sql,
		      ") SELECT start AS \"Start:ts_ns\", duration AS \"Duration:dur_ns\", "
		      "corr AS \"CorrId\", gridX AS \"GrdX\", gridY AS \"GrdY\", "
		      "gridZ AS \"GrdZ\", blockX AS \"BlkX\", blockY AS \"BlkY\", "
		      "blockZ AS \"BlkZ\", regs AS \"Reg/Trd\", ssmem AS \"StcSMem:mem_B\", "
		      "dsmem AS \"DymSMem:mem_B\", bytes AS \"Bytes:mem_B\", "
		      "CASE WHEN bytes IS NULL THEN NULL "
		      "ELSE bytes * (1000000000 / duration) END AS \"Throughput:thru_B\", "
		      "srckind AS \"SrcMemKd\", dstkind AS \"DstMemKd\", device AS \"Device\", "
		      "context AS \"Ctx\", NULLIF(green, 0) AS \"GreenCtx\", "
		      "stream AS \"Strm\", name AS \"Name\" FROM recs ORDER BY start, corr");
	return 0;
}

const struct stats_report stats_report_cuda_gpu_trace = {
    .name = "cuda_gpu_trace",
    .display = "CUDA GPU Trace",
    .help = "cuda_gpu_trace[:nvtx-name][:base|:mangled] -- CUDA GPU Trace\n"
	    "\n"
	    "    nvtx-name, base, mangled - as for cuda_gpu_kern_sum (kernel names only).\n"
	    "\n"
	    "    Output: all time values default to nanoseconds\n"
	    "        Start : start timestamp\n"
	    "        Duration : execution time\n"
	    "        CorrId : correlation ID of the launching API call\n"
	    "        GrdX, GrdY, GrdZ, BlkX, BlkY, BlkZ : kernel grid and block sizes\n"
	    "        Reg/Trd : registers per thread\n"
	    "        StcSMem, DymSMem : static and dynamic shared memory (MB)\n"
	    "        Bytes : size of a memory operation (MB)\n"
	    "        Throughput : memory operation throughput (MB/s)\n"
	    "        SrcMemKd : memcpy source memory kind, or memset memory kind\n"
	    "        DstMemKd : memcpy destination memory kind\n"
	    "        Device : GPU name and device ID\n"
	    "        Ctx, GreenCtx, Strm : context, green context and stream IDs\n"
	    "        Name : kernel name, \"[CUDA memcpy <kind>]\" or \"[CUDA memset]\"\n"
	    "\n"
	    "    Every kernel and memory operation of the report, sorted by start time.\n",
    .args = args,
    .needs = needs,
    .skip_what = "StringIds table",
    .needs_what = needs_what,
    .needs_any = needs_any,
    .any_what = "GPU trace data",
    .query = query,
};
