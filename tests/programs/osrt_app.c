/*
 * osrt_app.c - a deterministic workload for the osrt collector's end-to-end test
 * (tests/e2e/test_osrt.c).  Usage: osrt_app PIDFILE
 *
 * What it does, in order (counts are per process; every wait is at least 1 ms so it is
 * recorded under the default 1000 ns threshold):
 *   1. mutex contention: a helper thread takes a mutex and holds it for 20 ms
 *      (clock_nanosleep) three times; each time the main thread blocks in
 *      pthread_mutex_lock on it -> 3 pthread_mutex_lock calls of >= 5 ms on main,
 *      3 clock_nanosleep of 20 ms on the helper.
 *   2. sleeps: usleep(10000) x 5 and nanosleep(15 ms) x 4 on main.
 *   3. pipe: a writer thread sleeps 30 ms (clock_nanosleep) and writes "hello"; main is
 *      blocked in read() meanwhile -> one read of >= 20 ms returning 5.
 *   4. condition variable and semaphore: a thread waits 20 ms in select(), signals a
 *      condvar main waits on (pthread_cond_wait >= 5 ms, once), waits 20 ms in poll()
 *      and posts a semaphore main waits on (sem_wait >= 5 ms, once).
 *   5. file I/O in a mkdtemp folder: open, 4 x write(64 KiB), fsync, close; fopen,
 *      4 x fread(64 KiB), fclose; unlink.
 *   6. errno: read/close/fcntl on fd -1 give -1 and EBADF, open of a missing path gives
 *      ENOENT, a successful usleep(1) leaves errno untouched.
 *   7. nesting: with SIGALRM blocked, a 20 ms one-shot timer, then sigsuspend(); the
 *      SIGALRM handler sleeps 2 ms in nanosleep, so that nanosleep is nested in
 *      sigsuspend (nestingLevel 1); sigsuspend returns -1 with EINTR.
 *   8. a forked child (no exec) sleeps usleep(20000) once and exits 0.
 *   9. a forked child execs osrt_exec_child (next to this binary) with execve and an
 *      environment of its own that lacks LD_PRELOAD and GPROF_CLI_* (the collector puts
 *      them back); the child sleeps usleep(30000) twice and exits 0.
 *  10. posix_spawn of osrt_exec_child with an empty environment (same completion).
 * Main waits for each child with waitpid (returning the child's pid).  Every party that
 * ends one of main's waits first waits (polling /proc with raw system calls, untraced)
 * until main is blocked, so each of main's waits is long whatever the scheduling.  Totals on main:
 * usleep 5, nanosleep 5 (one nested), pthread_mutex_lock >= 5 ms: 3.
 *
 * PIDFILE receives "main=<pid> fork=<pid> exec=<pid> spawn=<pid>\n".  Exit status 0 when every
 * check passed, else the number of the failed step (and a message on stderr).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHECK(step, cond)                                                                          \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "osrt_app: step %d: check failed: %s (errno %d)\n", step,  \
				#cond, errno);                                                     \
			exit(step);                                                                \
		}                                                                                  \
	} while (0)

static void sleep_ms_clock(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
}

static void wait_until(atomic_int *v, int want)
{
	while (atomic_load(v) != want)
		sched_yield();
}

/* Wait until thread `tid` of process `pid` sleeps (state S in /proc), i.e. is blocked in
 * the call under test, so that the wait it is about to see is certain to be long even on
 * a loaded machine.  Raw system calls: these reads must not show up in the trace. */
static void wait_blocked(pid_t pid, pid_t tid)
{
	char path[64], buf[512];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	for (;;) {
		int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY);
		if (fd < 0)
			return;
		long n = syscall(SYS_read, fd, buf, sizeof(buf) - 1);
		syscall(SYS_close, fd);
		if (n <= 0)
			return;
		buf[n] = 0;
		const char *p = strrchr(buf, ')');
		if (p && p[1] == ' ' && p[2] == 'S')
			return;
		sched_yield();
	}
}

static pid_t main_pid; /* the main thread's tid = the process id */

/* 1. mutex contention */
static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static atomic_int go, locked;

static void *holder(void *arg)
{
	(void)arg;
	for (int i = 1; i <= 3; i++) {
		wait_until(&go, i);
		pthread_mutex_lock(&mtx);
		atomic_store(&locked, i);
		wait_blocked(main_pid, main_pid);
		sleep_ms_clock(20);
		pthread_mutex_unlock(&mtx);
	}
	return NULL;
}

/* 3. pipe writer */
static int pfd[2];

static void *pipe_writer(void *arg)
{
	(void)arg;
	wait_blocked(main_pid, main_pid);
	sleep_ms_clock(30);
	if (write(pfd[1], "hello", 5) != 5)
		abort();
	return NULL;
}

/* 4. condvar + semaphore */
static pthread_mutex_t cmtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int flag;
static sem_t sem;
static atomic_int at_cond, at_sem; /* main is about to wait on the condvar / semaphore */

static void *signaller(void *arg)
{
	(void)arg;
	struct timeval tv = {0, 20000};
	wait_until(&at_cond, 1);
	wait_blocked(main_pid, main_pid);
	select(0, NULL, NULL, NULL, &tv);
	pthread_mutex_lock(&cmtx);
	flag = 1;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&cmtx);
	wait_until(&at_sem, 1);
	wait_blocked(main_pid, main_pid);
	poll(NULL, 0, 20);
	sem_post(&sem);
	return NULL;
}

/* 7. nesting */
static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	int saved = errno;
	struct timespec ts = {0, 2000000};
	nanosleep(&ts, NULL);
	alarms++;
	errno = saved;
}

int main(int argc, char **argv)
{
	pthread_t t;
	char buf[65536];

	if (argc != 2) {
		fprintf(stderr, "usage: osrt_app PIDFILE\n");
		return 2;
	}
	main_pid = getpid();

	/* 1 */
	CHECK(1, pthread_create(&t, NULL, holder, NULL) == 0);
	for (int i = 1; i <= 3; i++) {
		atomic_store(&go, i);
		wait_until(&locked, i);
		CHECK(1, pthread_mutex_lock(&mtx) == 0);
		pthread_mutex_unlock(&mtx);
	}
	CHECK(1, pthread_join(t, NULL) == 0);

	/* 2 */
	for (int i = 0; i < 5; i++)
		CHECK(2, usleep(10000) == 0);
	for (int i = 0; i < 4; i++) {
		struct timespec ts = {0, 15000000};
		CHECK(2, nanosleep(&ts, NULL) == 0);
	}

	/* 3 */
	CHECK(3, pipe(pfd) == 0);
	CHECK(3, pthread_create(&t, NULL, pipe_writer, NULL) == 0);
	CHECK(3, read(pfd[0], buf, sizeof(buf)) == 5);
	CHECK(3, memcmp(buf, "hello", 5) == 0);
	CHECK(3, pthread_join(t, NULL) == 0);
	CHECK(3, close(pfd[0]) == 0 && close(pfd[1]) == 0);

	/* 4 */
	CHECK(4, sem_init(&sem, 0, 0) == 0);
	CHECK(4, pthread_create(&t, NULL, signaller, NULL) == 0);
	pthread_mutex_lock(&cmtx);
	atomic_store(&at_cond, 1);
	while (!flag)
		CHECK(4, pthread_cond_wait(&cond, &cmtx) == 0);
	pthread_mutex_unlock(&cmtx);
	atomic_store(&at_sem, 1);
	CHECK(4, sem_wait(&sem) == 0);
	CHECK(4, pthread_join(t, NULL) == 0);

	/* 5 */
	char dir[] = "/tmp/osrt_app.XXXXXX", path[64];
	CHECK(5, mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/data", dir);
	memset(buf, 'x', sizeof(buf));
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	CHECK(5, fd >= 0);
	for (int i = 0; i < 4; i++)
		CHECK(5, write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf));
	CHECK(5, fsync(fd) == 0);
	CHECK(5, close(fd) == 0);
	FILE *f = fopen(path, "r");
	CHECK(5, f != NULL);
	for (int i = 0; i < 4; i++)
		CHECK(5, fread(buf, 1, sizeof(buf), f) == sizeof(buf));
	CHECK(5, fclose(f) == 0);
	CHECK(5, unlink(path) == 0);
	CHECK(5, rmdir(dir) == 0);

	/* 6 */
	errno = 0;
	CHECK(6, read(-1, buf, 1) == -1 && errno == EBADF);
	errno = 0;
	CHECK(6, close(-1) == -1 && errno == EBADF);
	errno = 0;
	CHECK(6, fcntl(-1, F_GETFD) == -1 && errno == EBADF);
	errno = 0;
	CHECK(6, open("/nonexistent-osrt-app/x", O_RDONLY) == -1 && errno == ENOENT);
	errno = 4242;
	CHECK(6, usleep(1) == 0 && errno == 4242);

	/* 7 */
	sigset_t alrm, old;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	CHECK(7, sigaction(SIGALRM, &sa, NULL) == 0);
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	CHECK(7, sigprocmask(SIG_BLOCK, &alrm, &old) == 0);
	struct itimerval it = {{0, 0}, {0, 20000}};
	CHECK(7, setitimer(ITIMER_REAL, &it, NULL) == 0);
	sigset_t during = old;
	sigdelset(&during, SIGALRM);
	errno = 0;
	CHECK(7, sigsuspend(&during) == -1 && errno == EINTR);
	CHECK(7, alarms == 1);
	CHECK(7, sigprocmask(SIG_SETMASK, &old, NULL) == 0);

	/* 8 */
	int st;
	pid_t fork_pid = fork();
	CHECK(8, fork_pid >= 0);
	if (fork_pid == 0) {
		wait_blocked(main_pid, main_pid);
		usleep(20000);
		exit(0);
	}
	CHECK(8, waitpid(fork_pid, &st, 0) == fork_pid);
	CHECK(8, WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* 9 */
	char child[4096];
	const char *slash = strrchr(argv[0], '/');
	snprintf(child, sizeof(child), "%.*sosrt_exec_child",
		 slash ? (int)(slash - argv[0] + 1) : 0, argv[0]);
	pid_t exec_pid = fork();
	CHECK(9, exec_pid >= 0);
	if (exec_pid == 0) {
		char *cargv[] = {"osrt_exec_child", NULL};
		char *cenv[] = {"OSRT_APP_CHILD=1", NULL};
		wait_blocked(main_pid, main_pid);
		execve(child, cargv, cenv);
		_exit(127);
	}
	CHECK(9, waitpid(exec_pid, &st, 0) == exec_pid);
	CHECK(9, WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* 10 */
	pid_t spawn_pid;
	char *sargv[] = {"osrt_exec_child", NULL};
	char *senv[] = {NULL};
	CHECK(10, posix_spawn(&spawn_pid, child, NULL, NULL, sargv, senv) == 0);
	CHECK(10, waitpid(spawn_pid, &st, 0) == spawn_pid);
	CHECK(10, WIFEXITED(st) && WEXITSTATUS(st) == 0);

	FILE *pf = fopen(argv[1], "w");
	CHECK(11, pf != NULL);
	fprintf(pf, "main=%d fork=%d exec=%d spawn=%d\n", (int)getpid(), (int)fork_pid,
		(int)exec_pid, (int)spawn_pid);
	CHECK(11, fclose(pf) == 0);
	return 0;
}
