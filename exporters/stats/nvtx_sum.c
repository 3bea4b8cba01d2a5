/* nvtx_sum.c - NVTX Range Summary (nsys stats report "nvtx_sum"). */
#include "exporters/stats.h"
#include "exporters/stats/nvtx_common.h"

static const char *const needs[] = {"StringIds", "NVTX_EVENTS", NULL};

static int query(sqlite3 *db, const struct stats_args *args, struct strbuf *sql)
{
	nvtx_summary_sql(sql, "1", 1);
	return 0;
}

const struct stats_report stats_report_nvtx_sum = {
    .name = "nvtx_sum",
    .display = "NVTX Range Summary",
    .help = "NVTX push/pop and start/end ranges grouped by style and name.\n"
	    "No arguments.\n"
	    "Columns: Time (%) share of the listed ranges' total time; Total Time; "
	    "Instances; Avg, Med, Min, Max, StdDev (sample) of the range durations; "
	    "Style (PushPop or StartEnd); Range (\"<domain>:<message>\", \":<message>\" "
	    "for the default domain).\n"
	    "A range never ended lasts to the last NVTX timestamp.",
    .args = NULL,
    .needs = needs,
    .skip_what = "NV Tools Extension (NVTX) data",
    .query = query,
};
