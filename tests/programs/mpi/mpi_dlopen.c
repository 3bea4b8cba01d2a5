/*
 * mpi_dlopen.c - MPI loaded late and privately, as Python loads mpi4py: this program is not
 * linked with libmpi; it dlopens its first argument, a module built with mpicc (mpi_dlmod.c,
 * which links libmpi), with RTLD_NOW | RTLD_LOCAL, so libmpi is not in the global symbol
 * scope, and calls the module's mpi_dl_run(K).  tests/e2e/test_mpi.c profiles it with
 * -t mpi: the module's MPI calls must still be traced.  Exits with mpi_dl_run's status, 2
 * when the module cannot be loaded.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	void *mod;
	int (*run)(int);

	if (argc < 2) {
		fprintf(stderr, "usage: mpi_dlopen MODULE.so [K]\n");
		return 2;
	}
	mod = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!mod) {
		fprintf(stderr, "mpi_dlopen: %s\n", dlerror());
		return 2;
	}
	*(void **)&run = dlsym(mod, "mpi_dl_run");
	if (!run) {
		fprintf(stderr, "mpi_dlopen: %s\n", dlerror());
		return 2;
	}
	return run(argc > 2 ? atoi(argv[2]) : 3);
}
