/*
 * fake_ext.c - libcudalibs_ext.so, the "extension module" of tests/e2e/test_cudalibs.c:
 * it depends on the fake libcublas.so.13, libcublasLt.so.13 and libcudnn.so.9 (DT_NEEDED,
 * found through its $ORIGIN run path) and calls them through its PLT, and cudalibs_app
 * loads it with dlopen(RTLD_LOCAL) - the way PyTorch's extension modules load the real
 * libraries.  Each function checks the results, so a wrapper that passed an argument or
 * a return value wrongly fails the test.
 */
#include <cublas.h>
#include <cublasLt.h>

#include "fake_cudnn.h"

#define FAKE_EXPORT __attribute__((visibility("default")))

/* cudalibs_app finds them with dlsym: no header */
FAKE_EXPORT int ext_blas(int iters);
FAKE_EXPORT int ext_dnn(void);

/*
 * cuBLAS calls on the calling thread: cublasCreate_v2, cublasSetStream_v2, `iters` x
 * cublasSgemm_v2 (each also calls cublasLtMatmul inside the fake cuBLAS), cublasLtCreate,
 * cublasLtMatmul, cublasLtDestroy, cublasCdotu (legacy API, result by value),
 * cublasDestroy_v2.  Returns 0 when every call returned what it should, else the number
 * of the failed step.
 */
FAKE_EXPORT int ext_blas(int iters)
{
	const float A[4] = {1, 2, 3, 4}, B[4] = {5, 6, 7, 8}, alpha = 1, beta = 0;
	const float want[4] = {23, 34, 31, 46}; /* column-major A * B */
	const cuComplex x[2] = {{1, 2}, {3, 4}}, y[2] = {{5, 6}, {7, 8}};
	float C[4] = {0, 0, 0, 0}; /* beta * C with beta = 0 is NaN for a NaN C */
	cublasHandle_t h;
	cublasLtHandle_t lt;
	cuComplex d;

	if (cublasCreate_v2(&h) != CUBLAS_STATUS_SUCCESS)
		return 1;
	if (cublasSetStream_v2(h, (cudaStream_t)0) != CUBLAS_STATUS_SUCCESS)
		return 2;
	for (int i = 0; i < iters; i++) {
		if (cublasSgemm_v2(h, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &alpha, A, 2, B, 2, &beta,
				   C, 2) != CUBLAS_STATUS_SUCCESS)
			return 3;
		for (int k = 0; k < 4; k++)
			if (C[k] != want[k])
				return 4;
	}
	if (cublasLtCreate(&lt) != CUBLAS_STATUS_SUCCESS)
		return 5;
	if (cublasLtMatmul(lt, NULL, &alpha, A, NULL, B, NULL, &beta, C, NULL, C, NULL, NULL, NULL,
			   0, (cudaStream_t)0) != CUBLAS_STATUS_SUCCESS)
		return 6;
	if (cublasLtDestroy(lt) != CUBLAS_STATUS_SUCCESS)
		return 7;
	/* (1+2i)(5+6i) + (3+4i)(7+8i) = (-7+16i) + (-11+52i) */
	d = cublasCdotu(2, x, 1, y, 1);
	if (d.x != -18 || d.y != 68)
		return 8;
	if (cublasDestroy_v2(h) != CUBLAS_STATUS_SUCCESS)
		return 9;
	return 0;
}

/*
 * cuDNN calls on the calling thread: cudnnCreate, cudnnSetStream,
 * cudnnCreateActivationDescriptor, cudnnSetActivationDescriptor (a double argument),
 * cudnnGetActivationDescriptor, cudnnDestroyActivationDescriptor, cudnnBackendExecute,
 * cudnnDestroy.  Returns 0 when every call returned what it should, else the step.
 */
FAKE_EXPORT int ext_dnn(void)
{
	cudnnHandle_t h;
	cudnnActivationDescriptor_t a;
	cudnnActivationMode_t mode;
	cudnnNanPropagation_t nan;
	double coef = 0;
	int plan = 1, pack = 2;

	if (cudnnCreate(&h) != CUDNN_STATUS_SUCCESS)
		return 1;
	if (cudnnSetStream(h, (cudaStream_t)0) != CUDNN_STATUS_SUCCESS)
		return 2;
	if (cudnnCreateActivationDescriptor(&a) != CUDNN_STATUS_SUCCESS)
		return 3;
	if (cudnnSetActivationDescriptor(a, CUDNN_ACTIVATION_CLIPPED_RELU, CUDNN_PROPAGATE_NAN,
					 6.25) != CUDNN_STATUS_SUCCESS)
		return 4;
	if (cudnnGetActivationDescriptor(a, &mode, &nan, &coef) != CUDNN_STATUS_SUCCESS ||
	    mode != CUDNN_ACTIVATION_CLIPPED_RELU || nan != CUDNN_PROPAGATE_NAN || coef != 6.25)
		return 5;
	if (cudnnDestroyActivationDescriptor(a) != CUDNN_STATUS_SUCCESS)
		return 6;
	if (cudnnBackendExecute(h, &plan, &pack) != CUDNN_STATUS_SUCCESS)
		return 7;
	if (cudnnDestroy(h) != CUDNN_STATUS_SUCCESS)
		return 8;
	return 0;
}
