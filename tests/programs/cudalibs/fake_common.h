/*
 * fake_common.h - shared by the fake cuBLAS/cuDNN libraries of tests/e2e/test_cudalibs.c
 * (fake_cublas.c, fake_cublaslt.c, fake_cudnn.c): the work each fake function does.
 */
#ifndef GPROF_TESTS_FAKE_COMMON_H
#define GPROF_TESTS_FAKE_COMMON_H

#include <stdint.h>
#include <time.h>

/* Spin for about 20 us (CLOCK_MONOTONIC) without a system call the osrt collector would
 * trace, so that every traced call lasts long enough for start < end in the report. */
static inline void fake_work(void)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	do
		clock_gettime(CLOCK_MONOTONIC, &b);
	while ((int64_t)(b.tv_sec - a.tv_sec) * 1000000000 + (b.tv_nsec - a.tv_nsec) < 20000);
}

#endif
