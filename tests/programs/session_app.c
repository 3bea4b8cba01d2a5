/*
 * session_app.c - a target for the session-length tests of tests/e2e/test_profile.c
 * (--duration, --kill, --stop-on-exit, --wait).  Each "tick" is one NVTX push/pop range
 * named "session:tick" around a 10 ms sleep.
 *
 *   session_app work <ms> <ready>         tick for <ms> ms, creating <ready> after the
 *                                         first tick; exit 0
 *   session_app ignore-term <ms> <ready>  the same with SIGTERM ignored
 *   session_app fork <ticks> <ready>      fork a child that ticks <ticks> times, creates
 *                                         <ready> and exits 0; the parent exits 0 at once
 *   session_app fork-sleep <ms> <pidfile> fork a child that sleeps <ms> ms; write the
 *                                         child's pid to <pidfile>, then sleep <ms> ms too
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nvtx3/nvToolsExt.h>

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd >= 0)
		close(fd);
}

static void tick(void)
{
	nvtxRangePushA("session:tick");
	sleep_ms(10);
	nvtxRangePop();
}

static int work(long ms, const char *ready)
{
	for (long t = 0; t < ms; t += 10) {
		tick();
		if (t == 0)
			touch(ready);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: session_app work|ignore-term|fork|fork-sleep <n> <file>\n");
		return 2;
	}
	if (!strcmp(argv[1], "work"))
		return work(atol(argv[2]), argv[3]);
	if (!strcmp(argv[1], "ignore-term")) {
		signal(SIGTERM, SIG_IGN);
		return work(atol(argv[2]), argv[3]);
	}
	if (!strcmp(argv[1], "fork")) {
		pid_t pid = fork();

		if (pid < 0)
			return 1;
		if (pid == 0) {
			int n = atoi(argv[2]);

			for (int i = 0; i < n; i++)
				tick();
			touch(argv[3]);
			return 0;
		}
		nvtxMarkA("session:parent-exit");
		return 0;
	}
	if (!strcmp(argv[1], "fork-sleep")) {
		long ms = atol(argv[2]);
		pid_t pid = fork();
		FILE *f;

		if (pid < 0)
			return 1;
		if (pid == 0) {
			sleep_ms(ms);
			return 0;
		}
		f = fopen(argv[3], "w");
		if (f) {
			fprintf(f, "%d\n", (int)pid);
			fclose(f);
		}
		sleep_ms(ms);
		return 0;
	}
	fprintf(stderr, "session_app: unknown mode '%s'\n", argv[1]);
	return 2;
}
