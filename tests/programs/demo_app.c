/*
 * demo_app.c - the sample that `make demo` profiles with `-t nvtx,osrt`.
 *
 * Four worker threads each run a few NVTX-annotated "steps": a compute loop, a
 * contended mutex, a short sleep, and a write+fsync of a temporary file; the main
 * thread pipes a message to a reader thread that blocks on read().  Finishes in
 * about 0.3 s and prints one line.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nvtx3/nvToolsExt.h>

#define N_WORKERS 4
#define N_STEPS	  5

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static double shared_total;
static int pipe_fds[2];

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static double compute(int n)
{
	double x = 0;

	for (int i = 1; i <= n; i++)
		x += 1.0 / ((double)i * i);
	return x;
}

static void *worker(void *arg)
{
	int id = (int)(long)arg;
	char name[16];
	char path[] = "/tmp/gprof-demo-XXXXXX";
	int fd = mkstemp(path);

	snprintf(name, sizeof(name), "worker %d", id);
	nvtxNameOsThreadA((uint32_t)gettid(), name);
	if (fd >= 0)
		unlink(path);
	for (int step = 0; step < N_STEPS; step++) {
		double r;

		nvtxRangePushA("step");

		nvtxRangePushA("compute");
		r = compute(200000 * (id + 1));
		nvtxRangePop();

		nvtxRangePushA("update shared state");
		pthread_mutex_lock(&lock);
		shared_total += r;
		sleep_ms(2); /* hold the lock so that the others wait */
		pthread_mutex_unlock(&lock);
		nvtxRangePop();

		nvtxRangePushA("save");
		if (fd >= 0) {
			char line[64];
			int len = snprintf(line, sizeof(line), "%d %d %f\n", id, step, r);

			if (write(fd, line, (size_t)len) != len)
				perror("write");
			fsync(fd);
		}
		nvtxRangePop();

		sleep_ms(5);
		nvtxRangePop();
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void *reader(void *arg)
{
	char buf[64];
	ssize_t n;

	(void)arg;
	nvtxNameOsThreadA((uint32_t)gettid(), "reader");
	nvtxRangePushA("wait for message");
	n = read(pipe_fds[0], buf, sizeof(buf) - 1); /* blocks until main writes */
	nvtxRangePop();
	if (n > 0)
		nvtxMarkA("message received");
	return NULL;
}

int main(void)
{
	pthread_t workers[N_WORKERS], rd;

	nvtxNameOsThreadA((uint32_t)gettid(), "main");
	if (pipe(pipe_fds) < 0) {
		perror("pipe");
		return 1;
	}
	nvtxRangePushA("demo");
	pthread_create(&rd, NULL, reader, NULL);
	for (long i = 0; i < N_WORKERS; i++)
		pthread_create(&workers[i], NULL, worker, (void *)i);

	sleep_ms(50);
	if (write(pipe_fds[1], "hello", 5) != 5)
		perror("write");

	for (int i = 0; i < N_WORKERS; i++)
		pthread_join(workers[i], NULL);
	pthread_join(rd, NULL);
	nvtxRangePop();

	printf("demo_app: %d threads x %d steps, total %.6f\n", N_WORKERS, N_STEPS, shared_total);
	return 0;
}
