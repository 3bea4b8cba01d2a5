/*
 * cmds.h - the subcommands of gprof-cli (git's builtin.h model).
 *
 * Adding a subcommand:
 *   1. write cli/cmd_<name>.c with `int cmd_<name>(int argc, char **argv)`: argv[0] is
 *      the subcommand name; return the process exit status (enum gp_exit in util.h, or
 *      the application's status for `profile`);
 *   2. declare it here and add a row to the table in cli/gprof-cli.c;
 *   3. write man/gprof-cli-<name>.1 and its --help text from cli/help/<name>.txt.
 */
#ifndef GPROF_CMDS_H
#define GPROF_CMDS_H

#include "exporters/stats.h"

int cmd_profile(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_recipe(int argc, char **argv);
int cmd_launch(int argc, char **argv);
int cmd_start(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_cancel(int argc, char **argv);
int cmd_shutdown(int argc, char **argv);
int cmd_sessions(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_dump(int argc, char **argv);
/* `__gpu-metrics-process LIBDIR`: the GPU metrics sampler process of `profile` (hidden;
 * cli/metrics_process.h). */
int cmd_metrics_process(int argc, char **argv);

/* What `launch` adds to profile's run: an interactive session (cli/session.h). */
struct session_launch {
	const char *name; /* --session-new, parsed; NULL: profile-<id>-<application> */
	int join;	  /* --session=name: take the pending session that `start
			   * --session-new=name` made and collect from the start */
};

/* The body of `profile` (cmd_profile.c), also run by `launch` with sl != NULL: then no
 * report is written at the start; the session's control socket is served while the
 * application runs (session_serve) and each start/stop window is a report of its own.
 * argv[0] is "profile"; returns the exit status as cmd_profile does. */
int profile_run(int argc, char **argv, const struct session_launch *sl);

/* Directory holding libgprof-osrt.so and libgprof-inject.so: $GPROF_CLI_LIBDIR, else
 * <dir of the gprof-cli executable>/../lib/gprof-cli.  Returns a static string. */
const char *gp_libdir(void);

/* Report a getopt_long failure of subcommand `cmd` in one line plus a hint:
 * missing_value != 0 for getopt's ':' (the option at `arg` needs a value), else an unknown
 * option `arg` (argv[optind - 1]).  Returns GP_EXIT_USAGE for the caller to exit with. */
int gp_option_error(const char *cmd, int missing_value, const char *arg);

/* The value of a reader command's --format (column, table, csv, tsv, json) and
 * --timeunit (ns, us, ms, s and their long spellings; exporters/stats.h): 0 with *out
 * set, or GP_EXIT_USAGE after one error line naming the value and a hint listing the
 * accepted ones. */
int gp_option_format(const char *arg, enum stats_format *out);
int gp_option_timeunit(const char *arg, enum stats_timeunit *out);

#endif
