/*
 * fake_cublas.c - a fake libcublas.so.13 for tests/e2e/test_cudalibs.c: a few functions
 * with the real prototypes (cublas.h, cublas_api.h) and symbol version (libcublas.map), so
 * the cuBLAS collector's wrappers bind to the fake's callers exactly as to the real
 * library's.  Host memory stands in for the device's.
 *
 * cublasSgemm_v2 computes C = alpha * A * B + beta * C (column-major, no transpose) and
 * then calls cublasLtMatmul as the real cuBLAS does for its GEMMs: a call from inside a
 * traced call, which the collector must not record.
 */
#include <stdlib.h>

#include <cublas.h>
#include <cublasLt.h>

#include "fake_common.h"

#define FAKE_EXPORT __attribute__((visibility("default")))

struct cublasContext {
	cudaStream_t stream;
};

FAKE_EXPORT cublasStatus_t cublasCreate_v2(cublasHandle_t *handle)
{
	fake_work();
	*handle = calloc(1, sizeof(**handle));
	return *handle ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_ALLOC_FAILED;
}

FAKE_EXPORT cublasStatus_t cublasDestroy_v2(cublasHandle_t handle)
{
	fake_work();
	free(handle);
	return CUBLAS_STATUS_SUCCESS;
}

FAKE_EXPORT cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t streamId)
{
	fake_work();
	handle->stream = streamId;
	return CUBLAS_STATUS_SUCCESS;
}

FAKE_EXPORT cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, cublasOperation_t transa,
					  cublasOperation_t transb, int m, int n, int k,
					  const float *alpha, const float *A, int lda,
					  const float *B, int ldb, const float *beta, float *C,
					  int ldc)
{
	fake_work();
	if (!handle || transa != CUBLAS_OP_N || transb != CUBLAS_OP_N)
		return CUBLAS_STATUS_INVALID_VALUE;
	for (int j = 0; j < n; j++)
		for (int i = 0; i < m; i++) {
			float s = 0;
			for (int p = 0; p < k; p++)
				s += A[i + p * lda] * B[p + j * ldb];
			/* as BLAS: with beta 0, C is not read (the caller may leave it unset,
			 * and 0 * NaN would be NaN) */
			C[i + j * ldc] = *alpha * s + (*beta != 0 ? *beta * C[i + j * ldc] : 0);
		}
	/* the real cuBLAS runs its GEMMs through cublasLt */
	return cublasLtMatmul(NULL, NULL, alpha, A, NULL, B, NULL, beta, C, NULL, C, NULL, NULL,
			      NULL, 0, handle->stream);
}

/* Legacy API (cublas.h): the result is returned by value. */
FAKE_EXPORT cuComplex cublasCdotu(int n, const cuComplex *x, int incx, const cuComplex *y, int incy)
{
	cuComplex s = {0, 0};

	fake_work();
	for (int i = 0; i < n; i++) {
		cuComplex a = x[i * incx], b = y[i * incy];
		s.x += a.x * b.x - a.y * b.y;
		s.y += a.x * b.y + a.y * b.x;
	}
	return s;
}
