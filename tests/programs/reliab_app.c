/*
 * reliab_app.c - a target for tests/e2e/test_reliability.c (issue 18): NVTX bursts that
 * end the way a test needs.  Every range is a push/pop range "reliab" (one record, one
 * NVTX_EVENTS row); every sleep is usleep(1500) (one OSRT_API row with -t osrt).
 *
 *   reliab_app burst <T> <N> <U>      T threads x N ranges, then U sleeps; exit 0
 *   reliab_app exit <N> <U> <code>    N ranges and U sleeps, then _exit(code): no atexit,
 *                                     no destructor
 *   reliab_app crash <N> segv|abort   N ranges, then a real fault or abort()
 *   reliab_app handler <N>            installs its own SIGSEGV handler (after the
 *                                     collectors set theirs), N ranges, then a fault; the
 *                                     handler _exit()s with 3
 *   reliab_app selfkill <N>           N ranges, then SIGKILL to itself
 *   reliab_app crashmt <T> <file>     T threads make ranges without end, each counting
 *                                     the ranges it ended in <file> (T 64-bit counters,
 *                                     shared); once each ended 20,000, the main thread
 *                                     installs a SIGSEGV handler that _exit()s with 3
 *                                     and faults
 *   reliab_app slow <ms> <done>       a range every ms for about 1.5 s (in steps of 1 ms);
 *                                     then prints a line on stdout and writes "ok
 *                                     <ranges>" to the file <done>; exit 7
 *   reliab_app procs <P> <N>          forks P children that each make one range and
 *                                     wait until every child is forked (a pipe closed
 *                                     by the parent: all P alive and connected at once),
 *                                     then wait 200 ms, make N more and _exit(0); exit 0
 *                                     when every child did
 *   reliab_app refill <N> <fill>      N ranges (the disk fills up); once the working folder
 *                                     has less than 256 KiB free (at most 30 s), a thread
 *                                     "late" makes 100 ranges "during"; then <fill> is
 *                                     removed and for 3 s the main thread and "late" each
 *                                     make a range a ms ("after", "late-after"); prints
 *                                     "refill: <n> after, <n> late-after" on stderr; exit 0
 *   reliab_app stall <N> <ms>         one range; stops its parent (gprof-cli: the recorder)
 *                                     with SIGSTOP and forks a child that sends it SIGCONT
 *                                     <ms> later; N ranges meanwhile (the ring fills up and
 *                                     the thread waits); exit 0 once the child did
 *   reliab_app emfile <N>             one range; close every fd but 0-2 (the collectors'
 *                                     sockets too), open /dev/null until EMFILE, N ranges
 *                                     and 300 ms of sleep (the flush cannot connect),
 *                                     then free 16 fds and N more ranges; exit 0
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nvtx3/nvToolsExt.h>

static long g_n;

static void ranges(long n)
{
	for (long i = 0; i < n; i++) {
		nvtxRangePushA("reliab");
		nvtxRangePop();
	}
}

static void sleeps(long u)
{
	for (long i = 0; i < u; i++)
		usleep(1500);
}

static volatile uint64_t *g_done; /* crashmt: ranges ended per thread (a shared file) */

static void *endless_thread(void *arg)
{
	volatile uint64_t *d = &g_done[(uintptr_t)arg];

	for (;;) {
		nvtxRangePushA("reliab");
		nvtxRangePop();
		*d += 1;
	}
	return NULL;
}

static void *burst_thread(void *arg)
{
	(void)arg;
	ranges(g_n);
	return NULL;
}

/* A real fault; not under UBSan (make SANITIZE=undefined), which would report the null
 * store and exit 1 instead.  The pointer is a global the compiler cannot see is NULL. */
int *volatile reliab_null;

__attribute__((no_sanitize("undefined"), noinline)) static void segfault(void)
{
	*reliab_null = 1;
}

static void on_segv(int sig)
{
	(void)sig;
	_exit(3);
}

static void sleep_ms(long ms);

static volatile int g_phase; /* refill: 1 "during", 2 "after" */
static long g_late_after;

static void ranges_for_ms(const char *text, long ms, long *n)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		nvtxRangePushA(text);
		nvtxRangePop();
		(*n)++;
		sleep_ms(1);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
}

static void *late_thread(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "late");
	for (int i = 0; i < 100; i++) {
		nvtxRangePushA("during");
		nvtxRangePop();
	}
	while (g_phase < 2)
		sleep_ms(1);
	ranges_for_ms("late-after", 3000, &g_late_after);
	return NULL;
}

static int disk_full_here(void)
{
	struct statvfs v;

	return statvfs(".", &v) == 0 && (unsigned long long)v.f_bavail * v.f_frsize < (256u << 10);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	if (!strcmp(mode, "burst") && argc > 4) {
		long t = atol(argv[2]), u = atol(argv[4]);
		pthread_t th[64];

		g_n = atol(argv[3]);
		if (t < 1 || t > 64)
			return 2;
		for (long i = 1; i < t; i++)
			pthread_create(&th[i], NULL, burst_thread, NULL);
		ranges(g_n);
		for (long i = 1; i < t; i++)
			pthread_join(th[i], NULL);
		sleeps(u);
		return 0;
	}
	if (!strcmp(mode, "refill") && argc > 3) {
		pthread_t th;
		long after = 0;
		int waited = 0;

		ranges(atol(argv[2]));
		while (!disk_full_here() && waited++ < 30000)
			sleep_ms(1);
		g_phase = 1;
		pthread_create(&th, NULL, late_thread, NULL);
		sleep_ms(300);
		if (unlink(argv[3]) != 0)
			return 2;
		g_phase = 2;
		ranges_for_ms("after", 3000, &after);
		pthread_join(th, NULL);
		fprintf(stderr, "refill: %ld after, %ld late-after\n", after, g_late_after);
		return 0;
	}
	if (!strcmp(mode, "exit") && argc > 4) {
		ranges(atol(argv[2]));
		sleeps(atol(argv[3]));
		_exit(atoi(argv[4]));
	}
	if (!strcmp(mode, "crash") && argc > 3) {
		ranges(atol(argv[2]));
		if (!strcmp(argv[3], "abort"))
			abort();
		segfault();
		return 1;
	}
	if (!strcmp(mode, "handler") && argc > 2) {
		nvtxMarkA("start"); /* the collectors are loaded and set their handlers */
		signal(SIGSEGV, on_segv);
		ranges(atol(argv[2]));
		segfault();
		return 1;
	}
	if (!strcmp(mode, "crashmt") && argc > 3) {
		long t = atol(argv[2]);
		int fd = open(argv[3], O_RDWR | O_CREAT | O_TRUNC, 0644);
		pthread_t th;

		if (t < 1 || t > 64 || fd < 0 || ftruncate(fd, 64 * 8) != 0)
			return 2;
		g_done = mmap(NULL, 64 * 8, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (g_done == MAP_FAILED)
			return 2;
		for (long i = 0; i < t; i++)
			pthread_create(&th, NULL, endless_thread, (void *)(uintptr_t)i);
		for (long i = 0; i < t; i++) /* every thread mid-burst */
			while (g_done[i] < 20000)
				sleep_ms(1);
		signal(SIGSEGV, on_segv);
		segfault();
		return 1;
	}
	if (!strcmp(mode, "selfkill") && argc > 2) {
		ranges(atol(argv[2]));
		kill(getpid(), SIGKILL);
		return 1;
	}
	if (!strcmp(mode, "slow") && argc > 3) {
		long ms = atol(argv[2]), n = 0;
		struct timespec t0, t;
		FILE *f;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		do {
			nvtxRangePushA("slow");
			sleep_ms(ms);
			nvtxRangePop();
			n++;
			clock_gettime(CLOCK_MONOTONIC, &t);
		} while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < 1500);
		printf("slow: %ld ranges\n", n); /* (gprof-cli may be gone: no SIGPIPE) */
		fflush(stdout);
		f = fopen(argv[3], "w");
		if (!f)
			return 1;
		fprintf(f, "ok %ld\n", n);
		fclose(f);
		return 7;
	}
	if (!strcmp(mode, "procs") && argc > 3) {
		long p = atol(argv[2]), n = atol(argv[3]);
		int st, bad = 0, go[2];
		char c;

		if (pipe(go) < 0)
			return 2;
		for (long i = 0; i < p; i++) {
			pid_t pid = fork();

			if (pid < 0)
				return 2;
			if (pid == 0) {
				close(go[1]);
				ranges(1);
				while (read(go[0], &c, 1) < 0 && errno == EINTR)
					; /* EOF once the parent forked every child */
				sleep_ms(200);
				ranges(n);
				_exit(0);
			}
		}
		close(go[1]);
		close(go[0]);
		while (wait(&st) > 0)
			bad |= !WIFEXITED(st) || WEXITSTATUS(st) != 0;
		return bad;
	}
	if (!strcmp(mode, "stall") && argc > 3) {
		pid_t rec = getppid(), helper;
		int st;

		ranges(1);
		if (kill(rec, SIGSTOP) != 0)
			return 2;
		helper = fork();
		if (helper == 0) {
			sleep_ms(atoi(argv[3]));
			_exit(kill(rec, SIGCONT) == 0 ? 0 : 2);
		}
		if (helper < 0) {
			kill(rec, SIGCONT);
			return 2;
		}
		ranges(atol(argv[2]));
		return waitpid(helper, &st, 0) == helper && WIFEXITED(st) && !WEXITSTATUS(st) ? 0
											      : 2;
	}
	if (!strcmp(mode, "emfile") && argc > 2) {
		long n = atol(argv[2]);
		struct rlimit rl = {256, 256};
		int fds[256], k = 0;

		ranges(1);
		setrlimit(RLIMIT_NOFILE, &rl);
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
		for (;;) {
			int fd = open("/dev/null", O_RDONLY);

			if (fd < 0)
				break;
			if (k < 256)
				fds[k++] = fd;
		}
		if (errno != EMFILE)
			return 2;
		ranges(n);
		sleep_ms(300);
		for (int i = 0; i < 16 && k > 0; i++)
			close(fds[--k]);
		ranges(n);
		return 0;
	}
	fprintf(stderr, "usage: reliab_app burst|exit|crash|handler|selfkill|slow|emfile ...\n");
	return 2;
}
