/*
 * gprof-cli.c - entry point: global options and table dispatch of subcommands
 * (git.c's cmd_struct model).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmds.h"
#include "core/report.h"
#include "core/util.h"

struct cmd_struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct cmd_struct commands[] = {
    {"profile", cmd_profile, "launch an application and record a report"},
    {"stats", cmd_stats, "print summary reports from a report"},
    {"export", cmd_export, "export a report's tables as CSV or JSON Lines"},
    {"diff", cmd_diff, "compare two runs (or groups of runs) per name"},
    {"analyze", cmd_analyze, "run expert-system rules on reports: what is wrong, how to fix"},
    {"recipe", cmd_recipe, "one analysis over many reports (ranks): summaries, pace, straggler"},
    {"launch", cmd_launch, "run an application in a session, collection off"},
    {"start", cmd_start, "start collecting in a session (a window: one report)"},
    {"stop", cmd_stop, "stop collecting in a session and write the report"},
    {"cancel", cmd_cancel, "stop collecting in a session, writing nothing"},
    {"shutdown", cmd_shutdown, "end a session (and its application)"},
    {"sessions", cmd_sessions, "list the sessions ('sessions list')"},
    {"status", cmd_status, "a session's state, or what this machine allows (-e)"},
    {"dump", cmd_dump, "print the raw frames a recorder received (GPROF_CLI_DUMP_FRAMES)"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: gprof-cli [--version] [--help] <command> [<args>]\n\n"
		   "commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "   %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'gprof-cli <command> --help' describes a command; "
		   "man gprof-cli-<command> has the details.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return GP_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		if (argc > 2 && strcmp(argv[1], "help") == 0) {
			char *sub[] = {argv[2], "--help", NULL};
			for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
				if (!strcmp(commands[i].name, argv[2]))
					return commands[i].fn(2, sub);
		}
		usage(stdout);
		return GP_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-v")) {
		printf("%s %s (report schema: nsys export %s, gprof %s)\n", GP_PRODUCT_NAME,
		       GP_PRODUCT_VERSION, GP_NSYS_SCHEMA_VERSION, GP_SCHEMA_VERSION);
		return GP_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, argv[1]))
			return commands[i].fn(argc - 1, argv + 1);
	if (!strcmp(argv[1], "__gpu-metrics-process")) /* profile's own process: not listed */
		return cmd_metrics_process(argc - 1, argv + 1);
	error("'%s' is not a gprof-cli command", argv[1]);
	hint("the commands are profile, launch, start, stop, cancel, shutdown, sessions, status, "
	     "stats, export, diff and analyze; see 'gprof-cli --help'");
	return GP_EXIT_USAGE;
}
