/*
 * cmd_stop.c - `gprof-cli stop [--session=NAME]` (nsys stop): close the session's
 * collection window and return once its report is complete, printing "Generated:" and
 * its path as profile does (and the default stats when `start --stats` asked for them).
 * The application keeps running.  Exit 6 when the session is unknown, stale or ended, or
 * not collecting.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmds.h"
#include "cli/session.h"
#include "core/util.h"
#include "exporters/stats.h"

static void stop_help(FILE *f)
{
	fprintf(f,
		"usage: gprof-cli stop [--session=<name>]\n"
		"\n"
		"Stop collecting in a session (nsys stop): the collection window that 'gprof-cli\n"
		"start' opened is written as one report; the application keeps running.  Returns\n"
		"when the report is complete and prints its path after 'Generated:'.\n"
		"\n"
		"options:\n"
		"      --session=<name>          the session (default: the only one running)\n"
		"  -h, --help                    this text\n"
		"\n"
		"Exit status: 0; 1 the report could not be completed; 2 bad command line; 6 no\n"
		"such session, stale or ended, or not collecting.  See 'man gprof-cli-stop'.\n");
}

int cmd_stop(int argc, char **argv)
{
	char path[PATH_MAX], abs[PATH_MAX], v[8];
	struct strbuf ans = STRBUF_INIT;
	int rc = session_command(argc, argv, "stop", stop_help, "cmd=stop\n", &ans);

	if (rc == 0 && ans.len && session_kv(ans.buf, "generated", path, sizeof(path))) {
		if (!realpath(path, abs))
			snprintf(abs, sizeof(abs), "%s", path);
		fprintf(stderr, "Generated:\n    %s\n", abs);
		if (session_kv(ans.buf, "stats", v, sizeof(v)) && atoi(v)) {
			fflush(stderr);
			stats_print_default(abs, stdout);
			fflush(stdout);
		}
	}
	strbuf_release(&ans);
	return rc;
}
