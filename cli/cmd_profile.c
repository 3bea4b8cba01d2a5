/* cmd_profile.c - `gprof-cli profile` (being written; see issue 2). */
#include "cli/cmds.h"
#include "core/util.h"

int cmd_profile(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	error("'profile' is not built yet");
	return GP_EXIT_ERROR;
}
