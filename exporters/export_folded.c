/*
 * export_folded.c - `gprof-cli export --type folded`: the CPU samples of a report as
 * collapsed stacks, the input of flame graph tools (Brendan Gregg's flamegraph.pl,
 * speedscope, inferno): one line per distinct stack,
 *
 *     <process>;<thread>;<outermost frame>;...;<leaf frame> <samples>
 *
 * process = "<name> (<pid>)" from PROCESSES, or "pid <pid>"; thread = "<name> (<tid>)"
 * from ThreadNames, or "tid <tid>"; frames = the SAMPLING_CALLCHAINS symbols (an
 * unresolved frame is its address "0x...", a stack the unwinder could not finish starts
 * with "[Broken backtraces]", as nsys shows them), with ';' in a name written ':'.
 * Lines are sorted by text.  Works on nsys's exports too (the same tables).
 */
#include <stdio.h>
#include <string.h>

#include "core/util.h"
#include "exporters/export.h"
#include "exporters/stats.h"

/* One line per (thread, stack), built in SQL: the frames of each sample joined root
 * first (the inner query is ordered by id, then stackDepth from the outermost). */
static const char folded_sql[] =
    "WITH f AS (SELECT id, group_concat(v, ';') AS stack FROM (\n"
    "    SELECT c.id AS id, replace(s.value, ';', ':') AS v\n"
    "    FROM SAMPLING_CALLCHAINS AS c JOIN StringIds AS s ON s.id = c.symbol\n"
    "    ORDER BY c.id, c.stackDepth DESC)\n"
    "  GROUP BY id),\n"
    "t AS (SELECT e.globalTid AS gtid, f.stack AS stack, count(*) AS n\n"
    "  FROM COMPOSITE_EVENTS AS e JOIN f ON f.id = e.id GROUP BY 1, 2)\n"
    "SELECT coalesce((SELECT replace(p.name, ';', ':') || ' (' || p.pid || ')' FROM PROCESSES "
    "AS p\n"
    "                 WHERE p.globalPid = t.gtid / 0x1000000 * 0x1000000 LIMIT 1),\n"
    "                'pid ' || (t.gtid / 0x1000000 % 0x1000000)) || ';' ||\n"
    "       coalesce((SELECT replace(s.value, ';', ':') || ' (' || (t.gtid % 0x1000000) || ')'\n"
    "                 FROM ThreadNames AS tn JOIN StringIds AS s ON s.id = tn.nameId\n"
    "                 WHERE tn.globalTid = t.gtid LIMIT 1),\n"
    "                'tid ' || (t.gtid % 0x1000000)) || ';' || t.stack AS line,\n"
    "       t.n\n"
    "FROM t ORDER BY 1";

int export_folded(sqlite3 *db, const struct export_opts *o)
{
	static const char *const needs[] = {"COMPOSITE_EVENTS", "SAMPLING_CALLCHAINS", "StringIds",
					    "PROCESSES", "ThreadNames"};
	sqlite3_stmt *st = NULL;
	unsigned long long lines = 0, samples = 0;
	FILE *f;
	char *tmp;
	int status, rc;

	for (size_t i = 0; i < sizeof(needs) / sizeof(needs[0]); i++)
		if (!stats_table_exists(db, needs[i])) {
			error("the report has no CPU samples (no %s table)", needs[i]);
			hint("profile with CPU sampling on: -s process-tree (the default)");
			return GP_EXIT_BAD_INPUT;
		}
	if (sqlite3_prepare_v2(db, folded_sql, -1, &st, NULL) != SQLITE_OK) {
		error("cannot read the CPU samples: %s", sqlite3_errmsg(db));
		return GP_EXIT_ERROR;
	}
	status = export_output_open(o->output, o->force, &f, &tmp);
	if (status) {
		sqlite3_finalize(st);
		return status;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		fprintf(f, "%s %lld\n", (const char *)sqlite3_column_text(st, 0),
			(long long)sqlite3_column_int64(st, 1));
		lines++;
		samples += (unsigned long long)sqlite3_column_int64(st, 1);
	}
	if (rc != SQLITE_DONE) {
		error("cannot read the CPU samples: %s", sqlite3_errmsg(db));
		status = rc == SQLITE_CORRUPT ? GP_EXIT_BAD_INPUT : GP_EXIT_ERROR;
	}
	sqlite3_finalize(st);
	status = export_output_close(f, o->output, tmp, status);
	if (!status && !o->quiet)
		fprintf(stderr, "gprof-cli: exported %llu samples (%llu stacks) to '%s'\n", samples,
			lines, o->output);
	return status;
}
