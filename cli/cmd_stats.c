/* cmd_stats.c - `gprof-cli stats` (being written; see issue 2). */
#include "cli/cmds.h"
#include "core/util.h"

int cmd_stats(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	error("'stats' is not built yet");
	return GP_EXIT_ERROR;
}
