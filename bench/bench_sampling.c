/*
 * bench_sampling.c - what CPU sampling at the default rate costs a CPU-bound program
 * (issue 15; core/sampler.h).
 *
 * Usage: bench_sampling [UNITS [ROUNDS]]      (default 2000 units, 7 rounds)
 *
 * tests/programs/cpu_hot UNITS work runs a fixed amount of work (UNITS million iterations
 * of a floating-point loop, about 1 ms each) and prints the CPU time it took (user and
 * system: the kernel's work for each sample, the timer interrupt and the stack copy, is
 * charged to the thread it interrupts; on a shared, loaded machine the wall time mostly
 * measures the other processes).  Each round
 * runs it, in this order:
 *   bare    alone;
 *   none    under `gprof-cli profile -t none -s none --cpuctxsw=none` (the profiler
 *           without sampling: launch and report, nothing in the loop);
 *   fp      under `profile -t none -b fp` (sampling every 1 ms of CPU time, frame
 *           pointers, context switches);
 *   dwarf   under `profile -t none` (the default: -b dwarf, 8 KiB of stack per sample);
 *   slow    the same with a worker 3x too slow to unwind (GPROF_CLI_SAMPLER_SLOW_US=3000:
 *           3 ms a sample, for one sample a ms): the sampler's reader still empties the
 *           kernel's rings and the worker's backlog is unwound after the exit, so its
 *           samples/run are dwarf's (ratio printed) and none are lost;
 * the program pinned to the last CPU, gprof-cli (and so the sampler's unwinding) to the
 * others, as on any machine with a spare core.  Printed per mode: the median CPU time of
 * the work, its ratio to bare's median of the same run, and the samples per run (the
 * report's GPROF_CPU_SAMPLES) and the records lost per run (GPROF_LOST_CPU_SAMPLES); the goal
 * is a ratio <= 1.02 for fp and dwarf, and for slow 1.00 of dwarf's samples with 0 lost.
 *
 * Environment: GPROF_CLI (the binary under test), BUILD (build folder).
 */
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/benchutil.h"

#define NMODES 5
static const char *const modes[NMODES] = {"bare", "none", "fp", "dwarf", "slow"};

static char cli[PATH_MAX], app[PATH_MAX], taskset[PATH_MAX], dir[64];

/* Run mode m once; returns the program's CPU time for the work (ns), sets *samples and
 * *lost. */
static double run_mode(int m, const char *units, long ncpu, long long *samples, long long *lost)
{
	char cpu[24], out[PATH_MAX], db[PATH_MAX + 8], buf[64] = {0};
	const char *argv[24];
	int n = 0, p[2], st;
	pid_t pid;
	ssize_t got;

	snprintf(cpu, sizeof(cpu), "%ld", ncpu - 1);
	snprintf(out, sizeof(out), "%s/r%d", dir, m);
	snprintf(db, sizeof(db), "%s.db", out);
	if (m > 0) {
		argv[n++] = cli;
		argv[n++] = "profile";
		argv[n++] = "-t";
		argv[n++] = "none";
		argv[n++] = "-f";
		argv[n++] = "-o";
		argv[n++] = out;
		if (m == 1) {
			argv[n++] = "-s";
			argv[n++] = "none";
			argv[n++] = "--cpuctxsw=none";
		} else if (m == 2) {
			argv[n++] = "-b";
			argv[n++] = "fp";
		}
	}
	if (ncpu > 1) {
		argv[n++] = taskset;
		argv[n++] = "-c";
		argv[n++] = cpu;
	}
	argv[n++] = app;
	argv[n++] = units;
	argv[n++] = "work";
	argv[n] = NULL;
	if (pipe(p) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		if (ncpu > 1) { /* gprof-cli on the other CPUs */
			cpu_set_t set;

			CPU_ZERO(&set);
			for (long c = 0; c < ncpu - 1 && c < CPU_SETSIZE; c++)
				CPU_SET(c, &set);
			sched_setaffinity(0, sizeof(set), &set);
		}
		dup2(p[1], 1);
		close(p[0]);
		if (m == 4)
			setenv("GPROF_CLI_SAMPLER_SLOW_US", "3000", 1);
		execv(argv[0], (char **)argv);
		_exit(127);
	}
	close(p[1]);
	got = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) || got <= 0)
		return -1;
	*samples = m > 1 ? bench_query_int(db, "SELECT CAST(value AS INTEGER) FROM "
					       "META_DATA_EXPORT WHERE name = 'GPROF_CPU_SAMPLES'")
			 : 0;
	*lost = m > 1 ? bench_query_int(db, "SELECT CAST(value AS INTEGER) FROM META_DATA_EXPORT "
					    "WHERE name = 'GPROF_LOST_CPU_SAMPLES'")
		      : 0;
	return atof(buf);
}

int main(int argc, char **argv)
{
	const char *units = argc > 1 ? argv[1] : "2000";
	int rounds = argc > 2 ? atoi(argv[2]) : 7;
	const char *g = getenv("GPROF_CLI"), *b = getenv("BUILD");
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	double *t[NMODES], med[NMODES];
	long long smp[NMODES] = {0}, lost[NMODES] = {0};

	snprintf(cli, sizeof(cli), "%s", g && *g ? g : "build/bin/gprof-cli");
	snprintf(app, sizeof(app), "%s/tests/programs/cpu_hot", b && *b ? b : "build");
	snprintf(taskset, sizeof(taskset), "/usr/bin/taskset");
	snprintf(dir, sizeof(dir), "/tmp/bench_sampling.XXXXXX");
	if (rounds < 1 || !mkdtemp(dir) || access(app, X_OK) != 0) {
		fprintf(stderr, "bench_sampling: cannot run '%s' (make %s)\n", app, app);
		return 1;
	}
	if (access(taskset, X_OK) != 0)
		ncpu = 1; /* no pinning */
	for (int m = 0; m < NMODES; m++)
		t[m] = calloc((size_t)rounds, sizeof(double));
	for (int r = 0; r < rounds; r++)
		for (int m = 0; m < NMODES; m++) {
			long long s = 0, l = 0;

			t[m][r] = run_mode(m, units, ncpu, &s, &l);
			lost[m] += l;
			if (t[m][r] < 0) {
				fprintf(stderr, "bench_sampling: mode %s failed\n", modes[m]);
				return 1;
			}
			smp[m] += s;
		}
	printf("cpu_hot %s work, %d rounds, median CPU time of the work (program on CPU %ld, "
	       "gprof-cli on the others)\n",
	       units, rounds, ncpu > 1 ? ncpu - 1 : 0);
	for (int m = 0; m < NMODES; m++) {
		qsort(t[m], (size_t)rounds, sizeof(double), bench_cmp_double);
		med[m] = t[m][rounds / 2];
		printf("  %-6s %9.1f ms  x%.4f", modes[m], med[m] / 1e6, med[m] / med[0]);
		if (m > 1)
			printf("  %lld samples/run, %lld lost/run", smp[m] / rounds,
			       lost[m] / rounds);
		if (m == 4 && smp[3])
			printf(" (x%.3f of dwarf's samples)", (double)smp[4] / (double)smp[3]);
		printf("\n");
		free(t[m]);
	}
	for (int m = 0; m < NMODES; m++) {
		char f[96];

		snprintf(f, sizeof(f), "%s/r%d.db", dir, m);
		unlink(f);
	}
	rmdir(dir);
	return 0;
}
