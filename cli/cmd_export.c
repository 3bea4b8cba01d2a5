/* cmd_export.c - `gprof-cli export` (being written; see issue 2). */
#include "cli/cmds.h"
#include "core/util.h"

int cmd_export(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	error("'export' is not built yet");
	return GP_EXIT_ERROR;
}
