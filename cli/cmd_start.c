/*
 * cmd_start.c - `gprof-cli start [--session=NAME] [-o FILE] [-f] [--stats]` (nsys start):
 * open a collection window in a session that `gprof-cli launch` runs (cli/session.h);
 * or, with --session-new=NAME, make a session before its application (nsys's start
 * before launch): `gprof-cli launch --session=NAME <app>` then collects into -o from the
 * application's start.
 * Until `stop` (report written), `cancel` (nothing written) or the application's exit
 * (report written), every collector of the session records; the window is one report.
 *
 * -o expands like profile's (core/outname.h: %q{VAR} from this command's environment, %h,
 * %p = the application's pid, %n, %%; default report%n), relative to this command's
 * working directory; an existing file is refused without -f (exit 4), before the session
 * is asked.  Exit 6 for the session errors of cli/session.h (unknown, stale, ended,
 * already collecting).
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cmds.h"
#include "cli/profile_options.h"
#include "cli/session.h"
#include "core/outname.h"
#include "core/util.h"

static void start_help(FILE *f)
{
	fprintf(
	    f,
	    "usage: gprof-cli start [--session=<name> | --session-new=<name>] [-o <file>] [-f]\n"
	    "                       [--stats]\n"
	    "\n"
	    "Start collecting in a session made by 'gprof-cli launch' (nsys start).  The\n"
	    "collection window ends with 'gprof-cli stop' (its report is written), 'gprof-cli\n"
	    "cancel' (nothing is written) or the application's exit (written).\n"
	    "\n"
	    "options:\n"
	    "      --session=<name>          the session (default: the only one running)\n"
	    "      --session-new=<name>      before the application: make session <name>;\n"
	    "                                'gprof-cli launch --session=<name> <app>' runs\n"
	    "                                it and collects from its start\n"
	    "  -o, --output=<file>           report file; expands %%q{VAR}, %%h, %%p (application\n"
	    "                                pid), %%n and %%%%; .db appended when missing\n"
	    "                                (default report%%n)\n"
	    "  -f, --force-overwrite[=true|false]\n"
	    "                                replace an existing report\n"
	    "      --stats[=true|false]      'gprof-cli stop' prints the default stats reports\n"
	    "  -h, --help                    this text\n"
	    "\n"
	    "Exit status: 0; 2 bad command line; 4 the report exists (no -f) or cannot be\n"
	    "written; 6 no such session, stale or ended, or already collecting.\n"
	    "See 'man gprof-cli-start'.\n");
}

/* A boolean switch: --x, --x=true|false, or --x true|false (the next word). */
static int bool_arg(const char *name, int argc, char **argv)
{
	const char *v = optarg;

	if (!v && optind < argc &&
	    (!strcmp(argv[optind], "true") || !strcmp(argv[optind], "false")))
		v = argv[optind++];
	return profile_parse_bool(name, v);
}

int cmd_start(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"session", required_argument, NULL, 's'},
	    {"session-new", required_argument, NULL, 'n'},
	    {"output", required_argument, NULL, 'o'},
	    {"force-overwrite", optional_argument, NULL, 'f'},
	    {"stats", optional_argument, NULL, 'S'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char name[SESSION_NAME_MAX + 1], cwd[PATH_MAX];
	const char *session = NULL, *session_new = NULL, *output = OUTNAME_DEFAULT;
	struct strbuf path = STRBUF_INIT, err = STRBUF_INIT, fix = STRBUF_INIT, ans = STRBUF_INIT;
	struct session_info info;
	struct stat st;
	char *req = NULL;
	int force = 0, stats = 0, c, fd, rc;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+:o:f::h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			session = optarg;
			break;
		case 'n':
			session_new = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case 'f':
			if ((force = bool_arg("force-overwrite", argc, argv)) < 0)
				return GP_EXIT_USAGE;
			break;
		case 'S':
			if ((stats = bool_arg("stats", argc, argv)) < 0)
				return GP_EXIT_USAGE;
			break;
		case 'h':
			start_help(stdout);
			return GP_EXIT_OK;
		default:
			return gp_option_error("start", c == ':', argv[optind - 1]);
		}
	}
	if (optind < argc) {
		error("unexpected argument '%s'", argv[optind]);
		hint("start takes no application: 'gprof-cli launch <app>' runs it");
		return GP_EXIT_USAGE;
	}
	if (session && session_new) {
		error("--session and --session-new name two sessions");
		hint("--session-new=NAME makes a session for 'gprof-cli launch --session=NAME'; "
		     "--session=NAME starts collecting in a running one");
		return GP_EXIT_USAGE;
	}
	if (session_new) { /* before the application: a pending session (session.h) */
		if (session_name_parse("--session-new", session_new, name) < 0)
			return GP_EXIT_USAGE;
		fd = -1;
		memset(&info, 0, sizeof(info));
	} else {
		if (session && session_name_parse("--session", session, name) < 0)
			return GP_EXIT_USAGE;
		fd = session_find(session ? name : NULL, &info);
		if (fd < 0)
			return GP_EXIT_SESSION;
	}
	{
		struct outname_ctx ctx = {.pid = (pid_t)info.app_pid, .hint = &fix};
		int r = outname_expand(output, &ctx, &path, &err);

		if (r > 0) { /* %p before the application exists */
			strbuf_reset(&err);
			strbuf_addf(&err,
				    "cannot expand output name '%s': %%p is the pid of an "
				    "application not launched yet",
				    output);
			strbuf_reset(&fix);
			strbuf_addstr(&fix, "leave %p out of -o with --session-new");
			r = -1;
		}
		if (r < 0) {
			if (fd >= 0)
				close(fd);
			error("%s", err.buf);
			hint("%s", fix.len ? fix.buf : "see 'gprof-cli start --help'");
			rc = GP_EXIT_USAGE;
			goto out;
		}
	}
	if (path.buf[0] != '/') {
		if (!getcwd(cwd, sizeof(cwd))) {
			if (fd >= 0)
				close(fd);
			error("cannot tell the current directory for '%s'", path.buf);
			hint("give -o an absolute path");
			rc = GP_EXIT_OUTPUT;
			goto out;
		}
		strbuf_splice(&path, 0, 0, "/", 1);
		strbuf_splice(&path, 0, 0, cwd, strlen(cwd));
	}
	if (strchr(path.buf, '\n')) {
		if (fd >= 0)
			close(fd);
		error("invalid output name '%s': it holds a newline", output);
		hint("choose a name without newlines");
		rc = GP_EXIT_USAGE;
		goto out;
	}
	if (!force && lstat(path.buf, &st) == 0) {
		if (fd >= 0)
			close(fd);
		error("report '%s' already exists", path.buf);
		hint("add -f (--force-overwrite=true) to replace it, or choose another -o");
		rc = GP_EXIT_OUTPUT;
		goto out;
	}
	if (session_new) {
		rc = session_pending_create(name, path.buf, force, stats) < 0 ? GP_EXIT_SESSION : 0;
		goto out;
	}
	req = xasprintf("cmd=start\noutput=%s\nforce=%d\nstats=%d\n", path.buf, force, stats);
	rc = session_request(fd, info.name, req, &ans);
out:
	free(req);
	strbuf_release(&path);
	strbuf_release(&err);
	strbuf_release(&fix);
	strbuf_release(&ans);
	return rc;
}
