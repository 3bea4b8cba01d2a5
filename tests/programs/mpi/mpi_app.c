/*
 * mpi_app.c - an MPI program for tests/e2e/test_mpi.c: every rank runs K iterations
 * (argv[1], default 5), each made of two NVTX push/pop ranges (NVTX3, header-only):
 * "rank<r>:iter" around the rank's own work, then "rank<r>:wait" around an
 * MPI_Allreduce and an MPI_Barrier.  Rank 1 is deliberately slow: it sleeps SLOW_MS
 * (argv[2], default 50 ms) inside each of its "iter" ranges, so the other ranks spend
 * about that long in their "wait" ranges.  Prints "rank R of N: K iterations, sum S" and
 * exits 0; non-zero on an MPI error.  Built with mpicc by the Makefile's MPI rule.
 *
 * With a third argument "calls" (4 ranks or more), the loop is followed by a fixed set of
 * MPI calls whose rows tests/e2e/test_mpi.c counts under -t mpi (per rank r of n, left =
 * r-1, right = r+1 modulo n): 2 MPI_Sendrecv of 256 ints right/from left (tag 7); 3 rounds
 * of MPI_Irecv from left + MPI_Isend right of 100 doubles (tag 9) + MPI_Waitall; rank 0
 * MPI_Recv's 4 ints from MPI_ANY_SOURCE / MPI_ANY_TAG three times while every other rank
 * MPI_Send's 4 ints to 0 with tag 100 + r; MPI_Bcast of 10 ints from root 2; MPI_Reduce of
 * 3 doubles to root 0; MPI_Allgather of 2 ints; MPI_Alltoall of 1 int per rank; MPI_Gather
 * of 1 int to root 1; MPI_Scatter of 2 ints from root 3; MPI_Comm_split by parity, one
 * MPI_Allreduce of a long on the half, MPI_Comm_free; MPI_Ibarrier + MPI_Wait, then
 * MPI_Wait on the (now null) request.
 */
#include <mpi.h>
#include <nvtx3/nvToolsExt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0)
		;
}

#define CHECK(call)                                                                                \
	do {                                                                                       \
		if ((call) != MPI_SUCCESS)                                                         \
			return 1;                                                                  \
	} while (0)

/* The "calls" phase (see the top of the file). */
static int calls(int rank, int n)
{
	int left = (rank + n - 1) % n, right = (rank + 1) % n;
	int ring_out[256], ring_in[256], small[4] = {rank}, ten[10] = {0}, two[2] = {rank, rank};
	int all2[8], mine[4] = {rank, rank, rank, rank}, a2a[4], one = rank, got[4], sc[8] = {0},
		     part[2];
	double dout[100] = {0}, din[100], red[3] = {1, 2, 3}, redout[3];
	long lone = rank, lsum = 0;
	MPI_Request req[2];
	MPI_Status sts[2];
	MPI_Comm half;

	for (int i = 0; i < 256; i++)
		ring_out[i] = rank;
	for (int k = 0; k < 2; k++)
		CHECK(MPI_Sendrecv(ring_out, 256, MPI_INT, right, 7, ring_in, 256, MPI_INT, left, 7,
				   MPI_COMM_WORLD, MPI_STATUS_IGNORE));
	for (int k = 0; k < 3; k++) {
		CHECK(MPI_Irecv(din, 100, MPI_DOUBLE, left, 9, MPI_COMM_WORLD, &req[0]));
		CHECK(MPI_Isend(dout, 100, MPI_DOUBLE, right, 9, MPI_COMM_WORLD, &req[1]));
		CHECK(MPI_Waitall(2, req, sts));
	}
	if (rank == 0) {
		for (int k = 1; k < n && k < 4; k++)
			CHECK(MPI_Recv(got, 4, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD,
				       MPI_STATUS_IGNORE));
	} else if (rank < 4) {
		CHECK(MPI_Send(small, 4, MPI_INT, 0, 100 + rank, MPI_COMM_WORLD));
	}
	CHECK(MPI_Bcast(ten, 10, MPI_INT, 2, MPI_COMM_WORLD));
	CHECK(MPI_Reduce(red, redout, 3, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD));
	CHECK(MPI_Allgather(two, 2, MPI_INT, n == 4 ? all2 : NULL, 2, MPI_INT, MPI_COMM_WORLD));
	CHECK(MPI_Alltoall(mine, 1, MPI_INT, a2a, 1, MPI_INT, MPI_COMM_WORLD));
	CHECK(MPI_Gather(&one, 1, MPI_INT, got, 1, MPI_INT, 1, MPI_COMM_WORLD));
	CHECK(MPI_Scatter(sc, 2, MPI_INT, part, 2, MPI_INT, 3, MPI_COMM_WORLD));
	CHECK(MPI_Comm_split(MPI_COMM_WORLD, rank % 2, rank, &half));
	CHECK(MPI_Allreduce(&lone, &lsum, 1, MPI_LONG, MPI_SUM, half));
	CHECK(MPI_Comm_free(&half));
	CHECK(MPI_Ibarrier(MPI_COMM_WORLD, &req[0]));
	CHECK(MPI_Wait(&req[0], MPI_STATUS_IGNORE));
	CHECK(MPI_Wait(&req[0], MPI_STATUS_IGNORE)); /* MPI_REQUEST_NULL now */
	return 0;
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
	if (argc > 3 && !strcmp(argv[3], "calls") && (size < 4 || calls(rank, size) != 0))
		return 1;
	printf("rank %d of %d: %d iterations, sum %ld\n", rank, size, iters, sum);
	MPI_Finalize();
	return 0;
}
