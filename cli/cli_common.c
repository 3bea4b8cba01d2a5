/*
 * cli_common.c - helpers shared by the subcommands (declared in cli/cmds.h).  Kept out of
 * gprof-cli.c so that they are part of libgprof.a with the commands that call them.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmds.h"
#include "core/util.h"

const char *gp_libdir(void)
{
	static char dir[PATH_MAX + 32];
	const char *env = getenv("GPROF_CLI_LIBDIR");
	char exe[PATH_MAX];
	ssize_t n;
	char *slash;

	if (env && *env)
		return env;
	if (dir[0])
		return dir;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return "/usr/local/lib/gprof-cli";
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	snprintf(dir, sizeof(dir), "%s/../lib/gprof-cli", exe);
	return dir;
}

int gp_option_error(const char *cmd, int missing_value, const char *arg)
{
	if (missing_value)
		error("option '%s' needs a value", arg);
	else
		error("unknown option '%s'", arg);
	hint("see 'gprof-cli %s --help'", cmd);
	return GP_EXIT_USAGE;
}

int gp_option_format(const char *arg, enum stats_format *out)
{
	if (!stats_parse_format(arg, out))
		return 0;
	error("unknown format '%s'", arg);
	hint("use column, table, csv, tsv or json");
	return GP_EXIT_USAGE;
}

int gp_option_timeunit(const char *arg, enum stats_timeunit *out)
{
	if (!stats_parse_timeunit(arg, out))
		return 0;
	error("unknown time unit '%s'", arg);
	hint("use ns, us, ms or s (or nsec, usec, msec, seconds, ...)");
	return GP_EXIT_USAGE;
}
