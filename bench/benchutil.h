/*
 * benchutil.h - helpers shared by the benchmarks (bench/bench_*.c): finding this binary
 * and the injection library built next to it, CPU pinning, running this binary as a
 * measured child, and one-integer queries on a report.  Linked into every benchmark
 * (Makefile: $(B)/obj/bench/benchutil.o).
 */
#ifndef GPROF_BENCH_BENCHUTIL_H
#define GPROF_BENCH_BENCHUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

/* This binary's path into self (size bytes) and the library `name` of the build layout
 * ($BUILD/bench/X -> $BUILD/lib/gprof-cli/NAME) into lib (size bytes).  0 when lib is
 * readable; otherwise prints an error and a hint ("make") and returns -1.  Dies when
 * /proc/self/exe cannot be read. */
int bench_find_lib(char *self, char *lib, size_t size, const char *name);

/* Pin the calling process (and the threads it starts later) to CPU 0 when there are 2+
 * CPUs; the benchmarked children run on CPUs 1.. (bench_child_ns). */
void bench_pin_cpu0(void);
/* Give the calling thread back the CPUs it had before bench_pin_cpu0() (threads it
 * starts after inherit them): the recorder's drain after the application's exit runs
 * where `profile`'s would, on every CPU (its parallel writers: core/report_par.h). */
void bench_unpin(void);

/* Run `self --child ARGS...` (args NULL-terminated, at most 14) with env entries added
 * (NULL-terminated, may be NULL), on CPUs 1.. when there are 2+; returns the number the
 * child printed on stdout (its ns per operation), -1 when it failed. */
double bench_child_ns(const char *self, char *const args[], char *const env[]);
/* The same for a child that prints two numbers: returns the first, *second the second
 * (-1 when missing). */
double bench_child_ns2(const char *self, char *const args[], char *const env[], double *second);

/* Best ns per nvtxRangePushA("bench") + nvtxRangePop() pair over reps repetitions of
 * pairs pairs, not counting the first (a warm-up: page faults, interning), sleeping
 * pause_ns between repetitions so that the recorder drains each burst. */
double bench_nvtx_pairs_best(long pairs, int reps, long pause_ns);

/* First column of the first row of sql on the report file path, as an integer; -1 when
 * the report cannot be opened, sql fails or returns no row. */
long long bench_query_int(const char *path, const char *sql);

/* This process's peak resident set (VmHWM of /proc/self/status) in KiB; -1 when unknown. */
long bench_vm_hwm_kb(void);

/* Write a report of about n events (n / 3 iterations of a CUDA launch loop: an NVTX range
 * "iteration", a cudaLaunchKernel and its kernel "tiny", one every 6 us) in nsys's tables
 * with their full nsys columns, to path (replaced).  Dies on an SQLite error.  Used by
 * bench_timeline and bench_recipe. */
void bench_make_launch_report(const char *path, long n);
/* Print one line saying which clock the producer reads on this host (collectors/producer.c
 * clk_init: the TSC when the kernel's clocksource is "tsc" and /proc/cpuinfo has
 * constant_tsc and nonstop_tsc, else clock_gettime), with the facts it decides on, so a
 * benchmark's per-event figures can be read against it. */
void bench_print_clock(void);
/* One time-stamp read as the producer makes it where it can: rdtsc on x86-64 (ticks),
 * else CLOCK_MONOTONIC (ns).  For per-read costs and floors, not for durations; inline,
 * so that a loop of them costs what the reads cost. */
static inline uint64_t bench_tsc(void)
{
#if defined(__x86_64__)
	return __rdtsc();
#else
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
#endif
}
/* qsort() comparator of doubles, ascending. */
int bench_cmp_double(const void *a, const void *b);

#endif
