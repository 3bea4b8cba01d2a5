/*
 * exit_with.c - a target for tests/e2e/test_profile.c: ends in the way it is told.
 *
 *   exit_with <N>                  exit with status N
 *   exit_with signal <N>           kill itself with signal N (SIGSEGV by a real fault)
 *   exit_with args <a>...          print each argument on its own line, exit 0
 *   exit_with env <NAME>           print $NAME; exit 0 when set, 1 when not
 *   exit_with closefds <N>         close every fd, then push/pop N NVTX ranges around
 *                                  2 ms sleeps (osrt) and exit 0
 *   exit_with nvtx <N>             same without closing fds
 *   exit_with nest <N>             N NVTX ranges "exit_with:nest", each around one
 *                                  read() of a byte of /dev/zero (osrt, with
 *                                  --osrt-threshold 0): a call of one collector right
 *                                  inside a range of another; exit 0
 *   exit_with sleep <ms> <ready>   create the file <ready>, then sleep <ms> ms (in 10 ms
 *                                  steps, so signals end it promptly) and exit 0
 *   exit_with exec <prog> <a>...   execvp prog
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

static void nvtx_work(int n)
{
	for (int i = 0; i < n; i++) {
		nvtxRangePushA("exit_with:work");
		sleep_ms(2);
		nvtxRangePop();
	}
	nvtxMarkA("exit_with:done");
}

/* A real fault; not under UBSan (make SANITIZE=undefined), which would report the null
 * store and exit 1 instead. */
__attribute__((no_sanitize("undefined"))) static void segfault(void)
{
	int *volatile p = NULL; /* the compiler cannot see it is NULL */

	*p = 1;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(
		    stderr,
		    "usage: exit_with <N> | signal <N> | args ... | env <NAME> | "
		    "closefds <N> | nvtx <N> | nest <N> | sleep <ms> <ready> | exec <prog> ...\n");
		return 2;
	}
	if (!strcmp(argv[1], "signal") && argc > 2) {
		int sig = atoi(argv[2]);

		if (sig == SIGSEGV)
			segfault();
		raise(sig);
		return 99;
	}
	if (!strcmp(argv[1], "args")) {
		for (int i = 2; i < argc; i++)
			printf("%s\n", argv[i]);
		return 0;
	}
	if (!strcmp(argv[1], "env") && argc > 2) {
		const char *v = getenv(argv[2]);

		if (!v)
			return 1;
		printf("%s\n", v);
		return 0;
	}
	if (!strcmp(argv[1], "closefds") && argc > 2) {
		for (int fd = 0; fd < 1024; fd++)
			close(fd);
		nvtx_work(atoi(argv[2]));
		return 0;
	}
	if (!strcmp(argv[1], "nvtx") && argc > 2) {
		nvtx_work(atoi(argv[2]));
		return 0;
	}
	if (!strcmp(argv[1], "nest") && argc > 2) {
		int fd = open("/dev/zero", O_RDONLY);
		char c;

		for (int i = atoi(argv[2]); i > 0; i--) {
			nvtxRangePushA("exit_with:nest");
			if (read(fd, &c, 1) != 1)
				return 1;
			nvtxRangePop();
		}
		return 0;
	}
	if (!strcmp(argv[1], "sleep") && argc > 3) {
		long ms = atol(argv[2]);
		int fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0)
			close(fd);
		for (long t = 0; t < ms; t += 10)
			sleep_ms(10);
		return 0;
	}
	if (!strcmp(argv[1], "exec") && argc > 2) {
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		return 127;
	}
	return atoi(argv[1]);
}
