/*
 * cpu_hot.c - a CPU-bound program with known hot functions, for the CPU sampling tests
 * (tests/e2e/test_sampling.c) and the sampling benchmark (bench/bench_sampling.c).
 *
 *   cpu_hot MS                 main -> hot_run -> hot_middle -> hot_burn, MS ms of CPU time
 *   cpu_hot MS threads         the same in two more threads (hot_thread -> hot_middle ->
 *                              hot_burn), the main thread too
 *   cpu_hot MS fork            a forked child runs hot_child -> hot_middle -> hot_burn while
 *                              the parent runs hot_run
 *   cpu_hot MS sleep           hot_run, then hot_sleeper -> nanosleep(MS ms) (blocked)
 *   cpu_hot N naps             N sleeps of 200 us (hot_napper -> nanosleep): N voluntary
 *                              context switches, and as many switches back in
 *   cpu_hot N work             a fixed amount of work (N million loop iterations of
 *                              hot_burn's loop); prints its CPU time in ns (bench)
 *   cpu_hot MS jit             (x86-64) hot_jit calls machine code it wrote into an
 *                              anonymous executable mapping for MS ms: code with no
 *                              symbol, no file and no unwind tables, as a JIT's
 *
 * hot_burn spends nearly all its time in its own loop (it reads the thread's CPU clock
 * once per ~1M iterations), so at least 80 % of the samples of a thread land in it.
 * Built with -fno-omit-frame-pointer (Makefile), so -b fp unwinds it too.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noclone))

static volatile double sink;

static long long cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

NOINLINE static void hot_burn(long ms)
{
	long long end = cpu_ns() + ms * 1000000LL;
	double x = 1.0;

	do {
		for (int i = 0; i < 1000000; i++)
			x = x * 1.0000001 + 1e-9;
		sink = x;
	} while (cpu_ns() < end);
}

NOINLINE static void hot_middle(long ms)
{
	hot_burn(ms);
	sink += 1;
}

NOINLINE static void hot_run(long ms)
{
	hot_middle(ms);
	sink += 2;
}

NOINLINE static void *hot_thread(void *arg)
{
	hot_middle((long)arg);
	sink += 3;
	return NULL;
}

NOINLINE static void hot_child(long ms)
{
	hot_middle(ms);
	sink += 4;
}

NOINLINE static void hot_napper(long n)
{
	struct timespec ts = {0, 200000};

	for (long i = 0; i < n; i++)
		nanosleep(&ts, NULL);
	sink += 6;
}

NOINLINE static void hot_sleeper(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
	sink += 5;
}

/* N million iterations of hot_burn's loop; returns the CPU time the process spent on them
 * in ns (user and system: a sample's interrupt and stack copy are charged to the thread it
 * interrupts), which other processes on a loaded machine do not stretch as they do the
 * wall time */
NOINLINE static long long hot_work(long n)
{
	struct timespec a, b;
	double x = 1.0;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
	for (long k = 0; k < n; k++) {
		for (int i = 0; i < 1000000; i++)
			x = x * 1.0000001 + 1e-9;
		sink = x;
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
	return (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
}

/* x86-64: mov rcx, imm64; 1: dec rcx; jnz 1b; ret (a loop of `imm64` iterations) */
NOINLINE static int hot_jit(long ms)
{
#if defined(__x86_64__)
	static const unsigned char code[] = {0x48, 0xb9, 0,    0, 0, 0, 0, 0, 0, 0, /* mov rcx */
					     0x48, 0xff, 0xc9,			    /* dec rcx */
					     0x75, 0xfb,			    /* jnz -5 */
					     0xc3};				    /* ret */
	unsigned long long n = 2000000;
	long long end = cpu_ns() + ms * 1000000LL;
	unsigned char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED)
		return 5;
	memcpy(m, code, sizeof(code));
	memcpy(m + 2, &n, sizeof(n));
	__builtin___clear_cache((char *)m, (char *)m + sizeof(code));
	do
		((void (*)(void))m)();
	while (cpu_ns() < end);
	munmap(m, 4096);
	return 0;
#else
	(void)ms;
	return 6;
#endif
}

int main(int argc, char **argv)
{
	long ms = argc > 1 ? atol(argv[1]) : 300;
	const char *mode = argc > 2 ? argv[2] : "";

	if (!strcmp(mode, "threads")) {
		pthread_t t[2];

		for (int i = 0; i < 2; i++)
			if (pthread_create(&t[i], NULL, hot_thread, (void *)ms) != 0)
				return 2;
		hot_run(ms);
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
	} else if (!strcmp(mode, "fork")) {
		int ws;
		pid_t pid = fork();

		if (pid < 0)
			return 3;
		if (pid == 0) {
			hot_child(ms);
			_exit(0);
		}
		hot_run(ms);
		if (waitpid(pid, &ws, 0) != pid || !WIFEXITED(ws) || WEXITSTATUS(ws))
			return 4;
	} else if (!strcmp(mode, "naps")) {
		hot_napper(ms);
	} else if (!strcmp(mode, "work")) {
		printf("%lld\n", hot_work(ms));
	} else if (!strcmp(mode, "jit")) {
		return hot_jit(ms);
	} else if (!strcmp(mode, "sleep")) {
		hot_run(ms);
		hot_sleeper(ms);
	} else {
		hot_run(ms);
	}
	return 0;
}
