/*
 * mpi_steps.c - a training loop in miniature for the straggler recipe
 * (tests/e2e/test_recipe.c): every rank runs STEPS steps (argv[1], default 8), each an
 * NVTX range "step" holding an NVTX range "compute" (BASE_MS of CPU time, argv[2],
 * default 20, burnt on this thread's CPU clock so that the work is the same whatever the
 * machine's load) and then an NVTX range "allreduce" around an MPI_Allreduce of 1024
 * doubles.
 *
 * Made slow in known steps:
 *   rank 2, steps 2 and 3: EXTRA_MS (argv[3], default 80) more compute inside "compute";
 *   rank 1, step 5: a sleep of EXTRA_MS (nanosleep, an OS runtime call) between
 *   "compute" and the MPI_Allreduce, as a stalled data loader would.
 * (Ranks that do not exist in a smaller run simply are not slow.)  Prints "rank R of N:
 * S steps" and exits 0; non-zero on an MPI error.  Built with mpicc by the Makefile.
 */
#include <mpi.h>
#include <nvtx3/nvToolsExt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Burn ms of this thread's CPU time; returns a value that depends on the work. */
static double burn(double ms)
{
	double end = cpu_ms() + ms, x = 1;

	while (cpu_ms() < end)
		for (int i = 0; i < 1000; i++)
			x = x * 1.0000001 + 1e-9;
	return x;
}

int main(int argc, char **argv)
{
	int steps = argc > 1 ? atoi(argv[1]) : 8;
	double base = argc > 2 ? atof(argv[2]) : 20, extra = argc > 3 ? atof(argv[3]) : 80;
	double in[1024], out[1024], acc = 0;
	int rank, n;

	if (MPI_Init(&argc, &argv) != MPI_SUCCESS)
		return 1;
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &n);
	for (int i = 0; i < 1024; i++)
		in[i] = rank + i;
	MPI_Barrier(MPI_COMM_WORLD);
	for (int s = 0; s < steps; s++) {
		nvtxRangePushA("step");
		nvtxRangePushA("compute");
		acc += burn(base + (rank == 2 && (s == 2 || s == 3) ? extra : 0));
		nvtxRangePop();
		if (rank == 1 && s == 5) {
			struct timespec ts = {
			    .tv_sec = (time_t)(extra / 1000),
			    .tv_nsec = (long)((extra - 1000 * (long)(extra / 1000)) * 1e6)};
			while (nanosleep(&ts, &ts) != 0)
				;
		}
		nvtxRangePushA("allreduce");
		if (MPI_Allreduce(in, out, 1024, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD) !=
		    MPI_SUCCESS)
			return 1;
		nvtxRangePop();
		nvtxRangePop();
	}
	MPI_Finalize();
	printf("rank %d of %d: %d steps (%g)\n", rank, n, steps, acc > 0 ? 1.0 : 0.0);
	return 0;
}
