/* nvtx_startend_sum.c - NVTX Start/End Range Summary (nsys "nvtx_startend_sum"). */
#include "exporters/stats.h"
#include "exporters/stats/nvtx_common.h"

static const char *const needs[] = {"StringIds", "NVTX_EVENTS", NULL};

static int query(sqlite3 *db, const struct stats_args *args, struct strbuf *sql)
{
	nvtx_summary_sql(sql, "eventType = " NVTX_EV_STARTEND_S, 0);
	return 0;
}

const struct stats_report stats_report_nvtx_startend_sum = {
    .name = "nvtx_startend_sum",
    .display = "NVTX Start/End Range Summary",
    .help = "nvtx_startend_sum -- NVTX Start/End Range Summary\n"
	    "\n" NVTX_SUM_HELP_COLUMNS NVTX_SUM_HELP_RANGE
	    "    Summary of the NVTX start/end ranges (which may end on another\n"
	    "    thread) by name.\n",
    .args = NULL,
    .needs = needs,
    .skip_what = "NV Tools Extension (NVTX) data",
    .query = query,
};
