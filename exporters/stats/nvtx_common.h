/*
 * nvtx_common.h - SQL shared by the NVTX stats reports (nvtx_sum, nvtx_pushpop_sum,
 * nvtx_startend_sum, nvtx_pushpop_trace).
 *
 * Range names follow nsys: "<domain name>:<message>", where the domain name comes from
 * the domain's NvtxDomainCreate row (eventType 75, matched on domainId within the same
 * process, i.e. globalTid bits 24..47) and is empty for the default domain, so a range
 * "iteration" in the default domain is ":iteration".  The message is NVTX_EVENTS.text,
 * or the registered string StringIds[textId].  A range never ended (NULL end) lasts to
 * the last timestamp in NVTX_EVENTS.
 */
#ifndef GPROF_STATS_NVTX_COMMON_H
#define GPROF_STATS_NVTX_COMMON_H

#include "core/nsys_event_type.h"

/* Common table expressions: nvtx_dom(id, gpid, name), nvtx_last(t) and
 * nvtx_rng(rangeId, start, end, dur, eventType, globalTid, name) over the push/pop
 * and start/end ranges.  Used as the start of a WITH clause (no trailing comma). */
#define NVTX_RANGES_CTE                                                                            \
	"nvtx_dom AS (\n"                                                                          \
	"  SELECT e.domainId AS id, (e.globalTid >> 24) & 0xFFFFFF AS gpid,\n"                     \
	"         max(coalesce(e.text, s.value)) AS name\n"                                        \
	"  FROM NVTX_EVENTS AS e LEFT JOIN StringIds AS s ON s.id = e.textId\n"                    \
	"  WHERE e.eventType = " NVTX_EV_DOMAIN_CREATE_S " GROUP BY 1, 2),\n"                      \
	"nvtx_last AS (SELECT max(max(start), coalesce(max(end), 0)) AS t\n"                       \
	"  FROM NVTX_EVENTS),\n"                                                                   \
	"nvtx_rng AS (\n"                                                                          \
	"  SELECT e.rowid AS rangeId, e.start AS start,\n"                                         \
	"         coalesce(e.end, (SELECT t FROM nvtx_last)) AS end,\n"                            \
	"         coalesce(e.end, (SELECT t FROM nvtx_last)) - e.start AS dur,\n"                  \
	"         e.eventType AS eventType, e.globalTid AS globalTid,\n"                           \
	"         coalesce(d.name, '') || ':' || coalesce(e.text, s.value, '') AS name\n"          \
	"  FROM NVTX_EVENTS AS e\n"                                                                \
	"  LEFT JOIN StringIds AS s ON s.id = e.textId\n"                                          \
	"  LEFT JOIN nvtx_dom AS d ON d.id = e.domainId\n"                                         \
	"       AND d.gpid = (e.globalTid >> 24) & 0xFFFFFF\n"                                     \
	"  WHERE e.eventType IN (" NVTX_EV_PUSHPOP_S ", " NVTX_EV_STARTEND_S "))"

/* The summary SELECT over nvtx_rng rows matching `where` (an SQL condition), grouped
 * by style and name; with_style adds the Style column.  Appends a complete statement. */
static inline void nvtx_summary_sql(struct strbuf *sql, const char *where, int with_style)
{
	strbuf_addstr(sql, "WITH " NVTX_RANGES_CTE ",\n"
			   "g AS (\n"
			   "  SELECT CASE eventType WHEN " NVTX_EV_PUSHPOP_S
			   " THEN 'PushPop' ELSE 'StartEnd' END "
			   "AS style, name,\n"
			   "         sum(dur) AS total, count(*) AS n, avg(dur) AS av,\n"
			   "         median(dur) AS med, min(dur) AS mn, max(dur) AS mx,\n"
			   "         stdev(dur) AS sd, lower_quartile(dur) AS q1,\n"
			   "         upper_quartile(dur) AS q3\n"
			   "  FROM nvtx_rng WHERE ");
	strbuf_addstr(sql, where);
	strbuf_addstr(sql,
		      "\n  GROUP BY 1, 2)\n"
		      "SELECT round(100.0 * total / sum(total) OVER (), 1) AS \"Time:ratio_%\",\n"
		      "  total AS \"Total Time:dur_ns\", n AS \"Instances\",\n"
		      "  round(av, 1) AS \"Avg:dur_ns\", round(med, 1) AS \"Med:dur_ns\",\n"
		      "  mn AS \"Min:dur_ns\", mx AS \"Max:dur_ns\",\n"
		      "  round(sd, 1) AS \"StdDev:dur_ns\",\n");
	if (with_style)
		strbuf_addstr(sql, "  style AS \"Style\",\n");
	strbuf_addstr(sql, "  name AS \"Range\", q1 AS \"_Q1\", q3 AS \"_Q3\"\n"
			   "FROM g ORDER BY total DESC, name, style");
}

/* The help text the three NVTX summaries share (nsys-cli.md section 3): the columns up
 * to StdDev, then (after nvtx_sum's Style line) the Range column and the note on open
 * ranges.  Each report adds its title line before and its one-line summary after. */
#define NVTX_SUM_HELP_COLUMNS                                                                      \
	"    No arguments.\n"                                                                      \
	"\n"                                                                                       \
	"    Output: all time values default to nanoseconds (see --timeunit)\n"                    \
	"        Time : share of the summed \"Total Time\" of the ranges listed\n"                 \
	"        Total Time : total duration of all instances of this range\n"                     \
	"        Instances : number of instances\n"                                                \
	"        Avg, Med, Min, Max, StdDev : statistics of one instance's duration\n"             \
	"            (StdDev is the sample standard deviation)\n"
#define NVTX_SUM_HELP_RANGE                                                                        \
	"        Range : \"<domain>:<message>\"; \":<message>\" in the default domain\n"           \
	"\n"                                                                                       \
	"    A range that never ended lasts to the last NVTX timestamp.\n"                         \
	"\n"

#endif
