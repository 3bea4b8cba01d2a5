/*
 * cmd_sessions.c - `gprof-cli sessions list [-p true|false] [-f plain|json]` (nsys
 * sessions list): the user's sessions with their ID (the daemon's pid), state (idle,
 * collecting; stale: its daemon is gone; exited: its application ended), the
 * application's pid, the collection windows so far, what they trace, name and
 * application.  Stale and exited sessions are listed once and their files removed
 * (cli/session.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmds.h"
#include "cli/profile_options.h"
#include "cli/session.h"
#include "core/util.h"

static void sessions_help(FILE *f)
{
	fprintf(f, "usage: gprof-cli sessions list [-p true|false] [-f plain|json]\n"
		   "\n"
		   "List your sessions (nsys sessions list): ID, STATE (idle, collecting, stale,\n"
		   "exited), PID of the application, WINDOWS collected, TRACE, NAME, APPLICATION.\n"
		   "A stale session (its daemon is gone) or an exited one is listed once and then\n"
		   "removed.\n"
		   "\n"
		   "options:\n"
		   "  -p, --show-header[=true|false]\n"
		   "                                print the header line (default true)\n"
		   "  -f, --output-format=<fmt>     plain (default) or json (one object per line)\n"
		   "  -h, --help                    this text\n"
		   "\n"
		   "Exit status: 0; 1 the session directory cannot be read; 2 bad command line.\n"
		   "See 'man gprof-cli-sessions'.\n");
}

/* s as a JSON string body (quotes and control characters escaped). */
static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

int cmd_sessions(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"show-header", optional_argument, NULL, 'p'},
	    {"output-format", required_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct session_info *v;
	size_t n;
	int c, header = 1, json = 0;

	opterr = 0;
	optind = 0;
	if (argc < 2 || strcmp(argv[1], "list")) {
		if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
			sessions_help(stdout);
			return GP_EXIT_OK;
		}
		error(argc < 2 ? "sessions needs a subcommand" : "unknown sessions subcommand '%s'",
		      argc < 2 ? "" : argv[1]);
		hint("the subcommand is list: 'gprof-cli sessions list'");
		return GP_EXIT_USAGE;
	}
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "+:p::f:h", longopts, NULL)) != -1) {
		if (c == 'p') {
			const char *val = optarg;

			if (!val && optind < argc &&
			    (!strcmp(argv[optind], "true") || !strcmp(argv[optind], "false")))
				val = argv[optind++];
			if ((header = profile_parse_bool("show-header", val)) < 0)
				return GP_EXIT_USAGE;
		} else if (c == 'f') {
			if (strcmp(optarg, "plain") && strcmp(optarg, "json")) {
				error("invalid --output-format '%s': expected plain or json",
				      optarg);
				hint("e.g. 'gprof-cli sessions list -f json'");
				return GP_EXIT_USAGE;
			}
			json = !strcmp(optarg, "json");
		} else if (c == 'h') {
			sessions_help(stdout);
			return GP_EXIT_OK;
		} else {
			return gp_option_error("sessions list", c == ':', argv[optind - 1]);
		}
	}
	if (optind < argc) {
		error("unexpected argument '%s'", argv[optind]);
		hint("see 'gprof-cli sessions --help'");
		return GP_EXIT_USAGE;
	}
	if (session_list(&v, &n) < 0)
		return GP_EXIT_ERROR;
	if (!json && header)
		printf("%8s  %-10s  %8s  %7s  %-16s  %-24s  %s\n", "ID", "STATE", "PID", "WINDOWS",
		       "TRACE", "NAME", "APPLICATION");
	for (size_t i = 0; i < n; i++) {
		if (json) {
			printf("{\"id\":%ld,\"state\":", v[i].id);
			json_str(stdout, v[i].state);
			printf(",\"pid\":%ld,\"windows\":%u,\"trace\":", v[i].app_pid,
			       v[i].windows);
			json_str(stdout, v[i].trace);
			printf(",\"name\":");
			json_str(stdout, v[i].name);
			printf(",\"application\":");
			json_str(stdout, v[i].app);
			if (!strcmp(v[i].state, "exited"))
				printf(",\"exit_status\":%d", v[i].exit_status);
			printf("}\n");
		} else {
			printf("%8ld  %-10s  %8ld  %7u  %-16s  %-24s  %s\n", v[i].id, v[i].state,
			       v[i].app_pid, v[i].windows, v[i].trace, v[i].name, v[i].app);
		}
	}
	free(v);
	return GP_EXIT_OK;
}
