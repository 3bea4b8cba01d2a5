/*
 * fake_cublaslt.c - a fake libcublasLt.so.13 for tests/e2e/test_cudalibs.c: the real
 * prototypes (cublasLt.h) and symbol version (libcublasLt.map).  cublasLtMatmul only
 * checks that it was given the matrices.
 */
#include <stdlib.h>

#include <cublasLt.h>

#include "fake_common.h"

#define FAKE_EXPORT __attribute__((visibility("default")))

struct cublasLtContext {
	int dummy;
};

FAKE_EXPORT cublasStatus_t cublasLtCreate(cublasLtHandle_t *lightHandle)
{
	fake_work();
	*lightHandle = calloc(1, sizeof(**lightHandle));
	return *lightHandle ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_ALLOC_FAILED;
}

FAKE_EXPORT cublasStatus_t cublasLtDestroy(cublasLtHandle_t lightHandle)
{
	fake_work();
	free(lightHandle);
	return CUBLAS_STATUS_SUCCESS;
}

FAKE_EXPORT cublasStatus_t cublasLtMatmul(
    cublasLtHandle_t lightHandle, cublasLtMatmulDesc_t computeDesc, const void *alpha,
    const void *A, cublasLtMatrixLayout_t Adesc, const void *B, cublasLtMatrixLayout_t Bdesc,
    const void *beta, const void *C, cublasLtMatrixLayout_t Cdesc, void *D,
    cublasLtMatrixLayout_t Ddesc, const cublasLtMatmulAlgo_t *algo, void *workspace,
    size_t workspaceSizeInBytes, cudaStream_t stream)
{
	fake_work();
	return alpha && A && B && beta && C && D ? CUBLAS_STATUS_SUCCESS
						 : CUBLAS_STATUS_INVALID_VALUE;
}
