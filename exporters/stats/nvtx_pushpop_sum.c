/* nvtx_pushpop_sum.c - NVTX Push/Pop Range Summary (nsys "nvtx_pushpop_sum"). */
#include "exporters/stats.h"
#include "exporters/stats/nvtx_common.h"

static const char *const needs[] = {"StringIds", "NVTX_EVENTS", NULL};

static int query(sqlite3 *db, const struct stats_args *args, struct strbuf *sql)
{
	nvtx_summary_sql(sql, "eventType = " NVTX_EV_PUSHPOP_S, 0);
	return 0;
}

const struct stats_report stats_report_nvtx_pushpop_sum = {
    .name = "nvtx_pushpop_sum",
    .display = "NVTX Push/Pop Range Summary",
    .help = "nvtx_pushpop_sum -- NVTX Push/Pop Range Summary\n"
	    "\n" NVTX_SUM_HELP_COLUMNS NVTX_SUM_HELP_RANGE
	    "    Summary of the NVTX push/pop ranges by name.\n",
    .args = NULL,
    .needs = needs,
    .skip_what = "NV Tools Extension (NVTX) data",
    .query = query,
};
