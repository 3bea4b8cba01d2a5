/*
 * mpi_dlmod.c - the module tests/programs/mpi/mpi_dlopen.c loads with dlopen(RTLD_LOCAL):
 * built with mpicc -shared, so libmpi comes in as its dependency, in the module's local
 * scope only.  mpi_dl_run(K): MPI_Init, K MPI_Allreduce of one int over MPI_COMM_WORLD,
 * one MPI_Barrier, MPI_Finalize; prints "dlopen rank R: sum S" and returns 0 (1 on an MPI
 * error).
 */
#include <mpi.h>
#include <stdio.h>

__attribute__((visibility("default"))) int mpi_dl_run(int k)
{
	int rank = 0, one = 1, sum = 0;

	if (MPI_Init(NULL, NULL) != MPI_SUCCESS)
		return 1;
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	for (int i = 0; i < k; i++)
		if (MPI_Allreduce(&one, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS)
			return 1;
	if (MPI_Barrier(MPI_COMM_WORLD) != MPI_SUCCESS)
		return 1;
	printf("dlopen rank %d: sum %d\n", rank, sum);
	MPI_Finalize();
	return 0;
}
