/*
 * nvtx_stress - many processes x many threads emitting NVTX push/pop ranges at full
 * speed, for the concurrency test in tests/e2e/test_nvtx.c and bench/.
 *
 * usage: nvtx_stress [PROCS [THREADS [RANGES]]]   (defaults 3 12 10000)
 *   forks PROCS children (no exec; the parent itself records nothing); each child runs
 *   THREADS threads, each recording exactly RANGES push/pop ranges: names cycle through
 *   4 literals, and every 100th range gets a unique "t<thread>-i<n>" name built in a
 *   stack buffer (exercises concurrent interning of new strings).  Nesting: ranges are
 *   pushed in pairs (outer, inner), so levels are 0 and 1.
 * Exit status 0 when every child exited 0.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nvtx3/nvToolsExt.h>

static long g_ranges = 10000;

static void *worker(void *arg)
{
	static const char *const names[4] = {"stress-a", "stress-b", "stress-c", "stress-d"};
	long t = (long)arg;
	char buf[48];

	for (long i = 0; i < g_ranges; i += 2) {
		const char *outer = names[i & 3];
		if (i % 100 == 0) {
			snprintf(buf, sizeof(buf), "t%ld-i%ld", t, i);
			outer = buf;
		}
		nvtxRangePushA(outer);
		if (i + 1 < g_ranges) {
			nvtxRangePushA(names[(i + 1) & 3]);
			nvtxRangePop();
		}
		nvtxRangePop();
	}
	return NULL;
}

static int child(int nthreads)
{
	pthread_t *t = calloc((size_t)nthreads, sizeof(*t));
	if (!t)
		return 1;
	for (long i = 0; i < nthreads; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)i) != 0)
			return 1;
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	free(t);
	return 0;
}

int main(int argc, char **argv)
{
	int procs = argc > 1 ? atoi(argv[1]) : 3;
	int threads = argc > 2 ? atoi(argv[2]) : 12;
	g_ranges = argc > 3 ? atol(argv[3]) : 10000;
	if (procs < 1 || threads < 1 || g_ranges < 0) {
		fprintf(stderr, "usage: nvtx_stress [PROCS [THREADS [RANGES]]]\n");
		return 2;
	}
	int failed = 0;
	for (int p = 0; p < procs; p++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("nvtx_stress: fork");
			return 1;
		}
		if (pid == 0)
			exit(child(threads) == 0 ? 0 : 1);
	}
	for (int p = 0; p < procs; p++) {
		int st;
		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed++;
	}
	return failed ? 1 : 0;
}
