/*
 * bench_recipe.c - `gprof-cli recipe cuda_gpu_kern_sum` over N reports against the
 * baseline a user has without it: `gprof-cli stats -r cuda_gpu_kern_sum` run report by
 * report (figures in bench/RESULTS.md, issue 13).
 *
 * Makes one report of EVENTS events (bench_make_launch_report: NVTX range,
 * cudaLaunchKernel, kernel per iteration: EVENTS / 3 kernels) and N copies of it
 * (r.0.db ... : distinct files, as N ranks write), then times, each as a child process
 * of $GPROF_CLI with stdout to /dev/null, in the same run:
 *   - stats:  `stats -q -r cuda_gpu_kern_sum r.i.db` for i = 0 .. N-1, one after the other
 *   - recipe --jobs 1: the recipe with one reader (the per-report cost, plus its reduce)
 *   - recipe: the recipe with a reader per online CPU (the default)
 * and prints wall and CPU seconds of each and the ratios to the baseline's wall time.
 * Each is run twice and the faster kept (the first run also warms the page cache).
 *
 * usage: bench_recipe [N [EVENTS]]   (default 8 reports of 3000000 events: 1 M kernels)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/benchutil.h"
#include "core/util.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct timing {
	double wall, cpu;
};

/* Run argv (NULL-terminated) with stdout to /dev/null; its wall and CPU time. */
static struct timing run(char *const argv[])
{
	struct timing t;
	struct rusage ru;
	double t0;
	int st;
	pid_t pid;

	fflush(stdout); /* the child must not print what this process has buffered */
	t0 = now();
	pid = fork();

	if (pid < 0)
		die("bench_recipe: fork failed");
	if (pid == 0) {
		if (!freopen("/dev/null", "w", stdout))
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	if (wait4(pid, &st, 0, &ru) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		die("bench_recipe: '%s %s' failed", argv[0], argv[1]);
	t.wall = now() - t0;
	t.cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec +
		ru.ru_stime.tv_usec * 1e-6;
	return t;
}

static void add(struct timing *a, struct timing b)
{
	a->wall += b.wall;
	a->cpu += b.cpu;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 8;
	long events = argc > 2 ? atol(argv[2]) : 3000000;
	const char *gprof = getenv("GPROF_CLI");
	char dir[] = "/tmp/bench-recipe-XXXXXX", **paths;
	char *base, *cmd, *rargv[2 * 256 + 8];
	struct timing best[3];
	static const char *const names[] = {"stats, report by report", "recipe --jobs 1",
					    "recipe (all CPUs)"};
	struct stat sb;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1 || n > 256 || events < 3) {
		fprintf(stderr, "usage: bench_recipe [N (1-256) [EVENTS]]\n");
		return 2;
	}
	if (!gprof || !*gprof)
		gprof = "build/bin/gprof-cli";
	if (!mkdtemp(dir))
		die("bench_recipe: mkdtemp failed");
	base = xasprintf("%s/base.db", dir);
	bench_make_launch_report(base, events);
	stat(base, &sb);
	paths = xcalloc((size_t)n, sizeof(*paths));
	for (int i = 0; i < n; i++) {
		paths[i] = xasprintf("%s/r.%d.db", dir, i);
		cmd = xasprintf("cp '%s' '%s'", base, paths[i]);
		if (system(cmd) != 0)
			die("bench_recipe: %s failed", cmd);
		free(cmd);
	}
	printf("%d reports of %ld events (%ld kernels) each, %.1f MB each; %ld online CPUs\n", n,
	       (events / 3) * 3, events / 3, sb.st_size / 1e6, ncpu);
	for (int mode = 0; mode < 3; mode++) {
		for (int rep = 0; rep < 2; rep++) {
			struct timing t = {0, 0};

			if (mode == 0) {
				for (int i = 0; i < n; i++) {
					char *a[] = {(char *)gprof,	  "stats",  "-q", "-r",
						     "cuda_gpu_kern_sum", paths[i], NULL};
					add(&t, run(a));
				}
			} else {
				int k = 0;

				rargv[k++] = (char *)gprof;
				rargv[k++] = "recipe";
				rargv[k++] = "cuda_gpu_kern_sum";
				rargv[k++] = "-q";
				if (mode == 1) {
					rargv[k++] = "--jobs";
					rargv[k++] = "1";
				}
				for (int i = 0; i < n; i++)
					rargv[k++] = paths[i];
				rargv[k] = NULL;
				t = run(rargv);
			}
			if (rep == 0 || t.wall < best[mode].wall)
				best[mode] = t;
		}
		printf("  %-26s %7.2f s wall %7.2f s cpu  %.2fx the baseline's wall\n", names[mode],
		       best[mode].wall, best[mode].cpu, best[mode].wall / best[0].wall);
	}
	for (int i = 0; i < n; i++) {
		unlink(paths[i]);
		free(paths[i]);
	}
	unlink(base);
	free(base);
	free(paths);
	rmdir(dir);
	return 0;
}
