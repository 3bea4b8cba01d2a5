/*
 * real_app.c - calls into the real libcublas.so.13, libcublasLt.so.13 and libcudnn.so.9
 * (linked, found through the CUDA toolkit's lib64), for tests/e2e/test_cudalibs.c: only
 * functions that work without a GPU, plus cublasCreate_v2 and cudnnCreate, which fail
 * cleanly without one.  Built only where the libraries and cudnn.h are installed
 * (Makefile: REAL_CUDALIBS).  Prints one line of every result, which must be the same
 * with and without the collector's wrappers in between:
 *   <status> <major>.<minor> <cublasLt version> <cuDNN version> <cuDNN error string>
 *   <cuBLAS status string> <cublasCreate_v2 status> <cudnnCreate status>
 */
#include <stdio.h>

#include <cublasLt.h>
#include <cublas_api.h>
#include <cudnn.h>

int main(void)
{
	int major = -1, minor = -1;
	cublasStatus_t s = cublasGetProperty(MAJOR_VERSION, &major);
	cublasHandle_t h = NULL;
	cudnnHandle_t d = NULL;

	cublasGetProperty(MINOR_VERSION, &minor);
	size_t lt = cublasLtGetVersion();
	size_t dnn = cudnnGetVersion();
	const char *e = cudnnGetErrorString(CUDNN_STATUS_BAD_PARAM);
	const char *c = cublasGetStatusString(CUBLAS_STATUS_INVALID_VALUE);
	cublasStatus_t sc = cublasCreate_v2(&h);
	cudnnStatus_t sd = cudnnCreate(&d);
	printf("%d %d.%d %zu %zu %s %s %d %d\n", (int)s, major, minor, lt, dnn, e, c, (int)sc,
	       (int)sd);
	if (sc == CUBLAS_STATUS_SUCCESS)
		cublasDestroy_v2(h);
	if (sd == CUDNN_STATUS_SUCCESS)
		cudnnDestroy(d);
	return 0;
}
