/*
 * streams_app.c - a target for tests/e2e/test_session_tables.c: output on stdout and
 * stderr, as the application's streams that `profile` keeps (ProcessStreams).
 *
 *   streams_app print          "out: isatty=N" on stdout, "err: isatty=N" on stderr, then
 *                              a collector-style message and its hint on stderr
 *                              ("gprof-cli: warning: ..." / "hint: ..."); exit 0
 *   streams_app late <ready>   fork a child that, 300 ms later, prints "late" on stdout,
 *                              then creates <ready> and exits 0 (it was not killed by a
 *                              closed stdout); the parent exits 0 at once
 *   streams_app flood          print a line every millisecond for at most 10 s, exit 0
 *                              (SIGPIPE ends it sooner when nobody reads stdout)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "print")) {
		printf("out: isatty=%d\n", isatty(1));
		fflush(stdout);
		fprintf(stderr, "err: isatty=%d\n", isatty(2));
		fprintf(stderr, "gprof-cli: warning: streams_app: a collector's message\n"
				"hint: the fix it names\n");
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "late")) {
		pid_t pid = fork();

		if (pid < 0)
			return 1;
		if (pid == 0) {
			int fd;

			sleep_ms(300);
			printf("late\n");
			if (fflush(stdout) != 0)
				return 1;
			fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (fd >= 0)
				close(fd);
			return 0;
		}
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "flood")) {
		for (int i = 0; i < 10000; i++) {
			printf("line %d\n", i);
			fflush(stdout);
			sleep_ms(1);
		}
		return 0;
	}
	fprintf(stderr, "usage: streams_app print | late <ready> | flood\n");
	return 2;
}
