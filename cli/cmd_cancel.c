/*
 * cmd_cancel.c - `gprof-cli cancel [--session=NAME]` (nsys cancel): close the session's
 * collection window without writing a report (the file `start` created is removed).  The
 * application keeps running.  Exit 6 when the session is unknown, stale or ended, or not
 * collecting.
 */
#include <getopt.h>
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
	static const struct option longopts[] = {
	    {"session", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char name[SESSION_NAME_MAX + 1];
	const char *session = NULL;
	struct strbuf ans = STRBUF_INIT;
	struct session_info info;
	int c, fd, rc;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		if (c == 's') {
			session = optarg;
		} else if (c == 'h') {
			cancel_help(stdout);
			return GP_EXIT_OK;
		} else {
			return gp_option_error("cancel", c == ':', argv[optind - 1]);
		}
	}
	if (optind < argc) {
		error("unexpected argument '%s'", argv[optind]);
		hint("see 'gprof-cli cancel --help'");
		return GP_EXIT_USAGE;
	}
	if (session && session_name_parse("--session", session, name) < 0)
		return GP_EXIT_USAGE;
	fd = session_find(session ? name : NULL, &info);
	if (fd < 0)
		return GP_EXIT_SESSION;
	rc = session_request(fd, info.name, "cmd=cancel\n", &ans);
	strbuf_release(&ans);
	return rc;
}
