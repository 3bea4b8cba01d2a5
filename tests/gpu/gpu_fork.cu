// gpu_fork.cu - fork before any CUDA use: the child uses CUDA on its own (5 kernels)
// and is traced as its own process; then the parent (10 kernels) forks a second child
// after CUDA use that must exit cleanly without touching the parent's CUPTI state.
#include <sys/wait.h>
#include <unistd.h>
#include "gpu_common.h"

__global__ void child_k(int *x)
{
	x[threadIdx.x] = 1;
}
__global__ void parent_k(int *x)
{
	x[threadIdx.x] = 2;
}

static void run(bool child, int count)
{
	int *d;
	CK(cudaMalloc(&d, 64 * sizeof(int)));
	for (int i = 0; i < count; i++) {
		if (child)
			child_k<<<1, 64>>>(d);
		else
			parent_k<<<1, 64>>>(d);
	}
	CK(cudaDeviceSynchronize());
	CK(cudaFree(d));
}

int main()
{
	int status = 0;
	pid_t pid = fork();
	if (pid == 0) {
		run(true, 5);
		exit(0);
	}
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "first child failed (status %d)\n", status);
		return 1;
	}
	run(false, 10);
	fflush(stdout);
	pid = fork(); // after CUDA use: the child must not touch CUPTI
	if (pid == 0)
		exit(0);
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "second child failed (status %d)\n", status);
		return 1;
	}
	printf("done\n");
	EXPECT("all", "==", 5, KERNELS_NAMED("child_k"));
	EXPECT("all", "==", 10, KERNELS_NAMED("parent_k"));
	EXPECT("all", "==", 2, "SELECT count(DISTINCT globalPid) FROM CUPTI_ACTIVITY_KIND_KERNEL");
	EXPECT("all", "==", 2, "SELECT count(DISTINCT pid) FROM TARGET_INFO_CUDA_DEVICE");
	return 0;
}
