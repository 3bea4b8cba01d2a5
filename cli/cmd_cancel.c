/*
 * cmd_cancel.c - `gprof-cli cancel [--session=NAME]` (nsys cancel): close the session's
 * collection window without writing a report (the file `start` created is removed).  The
 * application keeps running.  Exit 6 when the session is unknown, stale or ended, or not
 * collecting.
 */
#include <stdio.h>

#include "cli/cmds.h"
#include "cli/session.h"
#include "core/util.h"

static void cancel_help(FILE *f)
{
	fprintf(f,
		"usage: gprof-cli cancel [--session=<name>]\n"
		"\n"
		"Abandon the collection window of a session (nsys cancel): no report is written\n"
		"and the application keeps running.\n"
		"\n"
		"options:\n"
		"      --session=<name>          the session (default: the only one running)\n"
		"  -h, --help                    this text\n"
		"\n"
		"Exit status: 0; 2 bad command line; 6 no such session, stale or ended, or not\n"
		"collecting.  See 'man gprof-cli-cancel'.\n");
}

int cmd_cancel(int argc, char **argv)
{
	struct strbuf ans = STRBUF_INIT;
	int rc = session_command(argc, argv, "cancel", cancel_help, "cmd=cancel\n", &ans);

	strbuf_release(&ans);
	return rc;
}
