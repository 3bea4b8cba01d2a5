/*
 * cmd_shutdown.c - `gprof-cli shutdown [--session=NAME] [--kill=SIG]` (nsys shutdown):
 * end a session.  An open collection window is cancelled (nsys), the application's
 * process group gets --kill's signal (default sigterm; none leaves it running), and the
 * command returns once the session has ended.  Exit 6 when the session is unknown, stale
 * or ended.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cmds.h"
#include "cli/profile_options.h"
#include "cli/session.h"
#include "core/util.h"

static void shutdown_help(FILE *f)
{
	fprintf(f, "usage: gprof-cli shutdown [--session=<name>] [--kill=<signal>]\n"
		   "\n"
		   "End a session (nsys shutdown): a collection still open is cancelled (no\n"
		   "report), the application's process group gets the --kill signal, and the\n"
		   "command returns when the session has ended.\n"
		   "\n"
		   "options:\n"
		   "      --session=<name>          the session (default: the only one running)\n"
		   "      --kill=<signal>           none, sigterm (default), sigkill or a signal\n"
		   "                                number; none leaves the application running\n"
		   "  -h, --help                    this text\n"
		   "\n"
		   "Exit status: 0; 2 bad command line; 6 no such session, stale or ended.\n"
		   "See 'man gprof-cli-shutdown'.\n");
}

int cmd_shutdown(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"session", required_argument, NULL, 's'},
	    {"kill", required_argument, NULL, 'k'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char name[SESSION_NAME_MAX + 1], *req;
	const char *session = NULL;
	struct strbuf ans = STRBUF_INIT;
	struct session_info info;
	int c, fd, rc, sig = SIGTERM;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		if (c == 's') {
			session = optarg;
		} else if (c == 'k') {
			if (profile_parse_kill(optarg, &sig) < 0) {
				error("invalid --kill '%s': expected none, sigterm, sigkill or a "
				      "signal number",
				      optarg);
				hint("e.g. --kill=sigkill");
				return GP_EXIT_USAGE;
			}
		} else if (c == 'h') {
			shutdown_help(stdout);
			return GP_EXIT_OK;
		} else {
			return gp_option_error("shutdown", c == ':', argv[optind - 1]);
		}
	}
	if (optind < argc) {
		error("unexpected argument '%s'", argv[optind]);
		hint("see 'gprof-cli shutdown --help'");
		return GP_EXIT_USAGE;
	}
	if (session && session_name_parse("--session", session, name) < 0)
		return GP_EXIT_USAGE;
	fd = session_find(session ? name : NULL, &info);
	if (fd < 0)
		return GP_EXIT_SESSION;
	req = xasprintf("cmd=shutdown\nkill=%d\n", sig);
	rc = session_request(fd, info.name, req, &ans);
	free(req);
	strbuf_release(&ans);
	return rc;
}
