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
    .help = "nvtx_sum -- NVTX Range Summary\n"
	    "\n" NVTX_SUM_HELP_COLUMNS "        Style : PushPop or StartEnd\n" NVTX_SUM_HELP_RANGE
	    "    Summary of the NVTX push/pop and start/end ranges by style and name.\n",
    .args = NULL,
    .needs = needs,
    .skip_what = "NV Tools Extension (NVTX) data",
    .query = query,
};
