/*
 * cmd_metrics_process.c - `gprof-cli __gpu-metrics-process LIBDIR`: the GPU metrics sampler
 * process that `profile` starts (cli/metrics_process.h); not a command for users.  Loads
 * LIBDIR/libgprof-inject.so and runs its gprof_gpu_metrics_process() with the pipe ends
 * gprof-cli left on descriptors 3 (ready) and 4 (stop).
 */
#include <dlfcn.h>
#include <stdio.h>

#include "cli/cmds.h"
#include "core/util.h"

int cmd_metrics_process(int argc, char **argv)
{
	char path[4096];
	void *h;
	int (*run)(int, int);

	if (argc != 2) {
		error("__gpu-metrics-process is started by 'gprof-cli profile', not by hand");
		hint("use 'gprof-cli profile -t gpu-metrics ...'");
		return GP_EXIT_USAGE;
	}
	snprintf(path, sizeof(path), "%s/libgprof-inject.so", argv[1]);
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	*(void **)&run = h ? dlsym(h, "gprof_gpu_metrics_process") : NULL;
	if (!run) {
		error("GPU metrics sampler: cannot load '%s': %s", path, dlerror());
		hint("build it with 'make', or point GPROF_CLI_LIBDIR at the folder holding it");
		return GP_EXIT_ERROR;
	}
	return run(3, 4);
}
