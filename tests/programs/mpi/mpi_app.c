/*
 * mpi_app.c - an MPI program for tests/e2e/test_mpi.c: every rank runs K iterations
 * (argv[1], default 5), each made of two NVTX push/pop ranges (NVTX3, header-only):
 * "rank<r>:iter" around the rank's own work, then "rank<r>:wait" around an
 * MPI_Allreduce and an MPI_Barrier.  Rank 1 is deliberately slow: it sleeps SLOW_MS
 * (argv[2], default 50 ms) inside each of its "iter" ranges, so the other ranks spend
 * about that long in their "wait" ranges.  Prints "rank R of N: K iterations, sum S" and
 * exits 0; non-zero on an MPI error.  Built with mpicc by the Makefile's MPI rule.
 */
#include <mpi.h>
#include <nvtx3/nvToolsExt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0)
		;
}

int main(int argc, char **argv)
{
	int rank = 0, size = 0, iters = argc > 1 ? atoi(argv[1]) : 5;
	long slow_ms = argc > 2 ? atol(argv[2]) : 50;
	long local, sum = 0;
	char name[64], wait[64];

	if (MPI_Init(&argc, &argv) != MPI_SUCCESS)
		return 1;
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	snprintf(name, sizeof(name), "rank%d:iter", rank);
	snprintf(wait, sizeof(wait), "rank%d:wait", rank);
	for (int i = 0; i < iters; i++) {
		nvtxRangePushA(name);
		if (rank == 1)
			sleep_ms(slow_ms);
		local = rank + i;
		nvtxRangePop();
		nvtxRangePushA(wait);
		if (MPI_Allreduce(&local, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD) !=
		    MPI_SUCCESS)
			return 1;
		if (MPI_Barrier(MPI_COMM_WORLD) != MPI_SUCCESS)
			return 1;
		nvtxRangePop();
	}
	printf("rank %d of %d: %d iterations, sum %ld\n", rank, size, iters, sum);
	MPI_Finalize();
	return 0;
}
