/*
 * cudabt_app.c - the application of tests/e2e/test_cudabt.c, linked with the fake runtime
 * (fake_cudart.c): main -> launch_step (N cudaLaunchKernel), main -> copy_step (N
 * cudaMemcpy), then one cudaDeviceSynchronize and one cudaEventCreate from main.  Usage:
 * cudabt_app [N] (default 5).  Built with frame pointers and without inlining of the steps,
 * so that each call's backtrace is API function, step, main.
 */
#include <stdio.h>
#include <stdlib.h>

int cudaLaunchKernel(const void *func, void **args);
int cudaMemcpy(void *dst, const void *src, size_t n, int kind);
int cudaDeviceSynchronize(void);
int cudaEventCreate(void **event);

static char host[64], dev[64];

static __attribute__((noinline)) int launch_step(int n)
{
	int bad = 0;

	for (int i = 0; i < n; i++)
		bad += cudaLaunchKernel((const void *)launch_step, NULL) != 0;
	__asm__ volatile("" ::: "memory");
	return bad;
}

static __attribute__((noinline)) int copy_step(int n)
{
	int bad = 0;

	for (int i = 0; i < n; i++)
		bad += cudaMemcpy(dev, host, sizeof(host), 1) != 0;
	__asm__ volatile("" ::: "memory");
	return bad;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 5, bad;
	void *ev;

	bad = launch_step(n);
	bad += copy_step(n);
	bad += cudaDeviceSynchronize() != 0;
	bad += cudaEventCreate(&ev) != 0;
	printf("cudabt_app: %d launches, %d copies, %d errors\n", n, n, bad);
	return bad != 0;
}
