/*
 * cudalibs_app.c - the application of tests/e2e/test_cudalibs.c: loads the "extension"
 * build/tests/programs/cudalibs/libcudalibs_ext.so with dlopen(RTLD_LOCAL), as Python
 * loads PyTorch's extension modules, whose dependencies are the fake libcublas.so.13,
 * libcublasLt.so.13 and libcudnn.so.9; then runs ext_blas(ITERS) on the main thread and
 * ext_dnn() on a second thread.
 *
 * Usage: cudalibs_app OUT [ITERS [fork]]   (ITERS defaults to 5)
 * With "fork", ext_dnn() runs in a forked child (its only thread) instead of a thread.
 * Writes one line to OUT: "<main tid> <worker tid> <preloaded>", preloaded being 1 when
 * libgprof-cudalibs.so is mapped in the process (the worker tid is the child's pid with
 * "fork").  Exits 0 when every library call returned what it should, 1 otherwise (the
 * failed step on stderr).
 */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int (*ext_dnn)(void);
static int dnn_rc;
static long dnn_tid;

static void *worker(void *arg)
{
	(void)arg;
	dnn_tid = syscall(SYS_gettid);
	dnn_rc = ext_dnn();
	return NULL;
}

/* 1 when a mapping of the process is libgprof-cudalibs.so. */
static int preloaded(void)
{
	char line[4096];
	int found = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return -1;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, "/libgprof-cudalibs.so") != NULL;
	fclose(f);
	return found;
}

int main(int argc, char **argv)
{
	char exe[PATH_MAX], path[PATH_MAX + 64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	int iters = argc > 2 ? atoi(argv[2]) : 5, rc;
	pthread_t t;
	FILE *out;

	if (argc < 2 || n <= 0) {
		fprintf(stderr, "usage: cudalibs_app OUT [ITERS]\n");
		return 2;
	}
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	snprintf(path, sizeof(path), "%s/cudalibs/libcudalibs_ext.so", exe);
	void *ext = dlopen(path, RTLD_LOCAL | RTLD_NOW);
	if (!ext) {
		fprintf(stderr, "cudalibs_app: %s\n", dlerror());
		return 1;
	}
	int (*ext_blas)(int) = (int (*)(int))dlsym(ext, "ext_blas");
	ext_dnn = (int (*)(void))dlsym(ext, "ext_dnn");
	if (!ext_blas || !ext_dnn) {
		fprintf(stderr, "cudalibs_app: %s\n", dlerror());
		return 1;
	}
	rc = ext_blas(iters);
	if (rc)
		fprintf(stderr, "cudalibs_app: cuBLAS step %d failed\n", rc);
	if (argc > 3 && !strcmp(argv[3], "fork")) {
		int st;
		pid_t pid = fork();

		if (pid == 0) /* exit (not _exit): the collectors flush at exit */
			exit(ext_dnn());
		if (pid < 0 || waitpid(pid, &st, 0) != pid)
			return 1;
		dnn_tid = pid;
		dnn_rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
	} else if (pthread_create(&t, NULL, worker, NULL) || pthread_join(t, NULL)) {
		return 1;
	}
	if (dnn_rc)
		fprintf(stderr, "cudalibs_app: cuDNN step %d failed\n", dnn_rc);
	out = fopen(argv[1], "w");
	if (!out)
		return 1;
	fprintf(out, "%ld %ld %d\n", (long)syscall(SYS_gettid), dnn_tid, preloaded());
	fclose(out);
	return rc || dnn_rc ? 1 : 0;
}
