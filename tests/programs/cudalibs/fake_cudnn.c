/*
 * fake_cudnn.c - a fake libcudnn.so.9 for tests/e2e/test_cudalibs.c: a few functions with
 * the real prototypes (fake_cudnn.h, from the cuDNN 9 headers) and symbol version
 * (libcudnn.map).  The activation descriptor keeps what it is given, so a test reads back
 * a double argument through the collector's wrappers.
 */
#include <stdlib.h>

#include "fake_cudnn.h"
#include "fake_common.h"

#define FAKE_EXPORT __attribute__((visibility("default")))

struct cudnnContext {
	cudaStream_t stream;
};

struct cudnnActivationStruct {
	cudnnActivationMode_t mode;
	cudnnNanPropagation_t nan;
	double coef;
};

FAKE_EXPORT cudnnStatus_t cudnnCreate(cudnnHandle_t *handle)
{
	fake_work();
	*handle = calloc(1, sizeof(**handle));
	return *handle ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_NOT_INITIALIZED;
}

FAKE_EXPORT cudnnStatus_t cudnnDestroy(cudnnHandle_t handle)
{
	fake_work();
	free(handle);
	return CUDNN_STATUS_SUCCESS;
}

FAKE_EXPORT cudnnStatus_t cudnnSetStream(cudnnHandle_t handle, cudaStream_t streamId)
{
	fake_work();
	handle->stream = streamId;
	return CUDNN_STATUS_SUCCESS;
}

FAKE_EXPORT cudnnStatus_t cudnnCreateActivationDescriptor(cudnnActivationDescriptor_t *d)
{
	fake_work();
	*d = calloc(1, sizeof(**d));
	return *d ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_NOT_INITIALIZED;
}

FAKE_EXPORT cudnnStatus_t cudnnSetActivationDescriptor(cudnnActivationDescriptor_t d,
						       cudnnActivationMode_t mode,
						       cudnnNanPropagation_t reluNanOpt,
						       double coef)
{
	fake_work();
	d->mode = mode;
	d->nan = reluNanOpt;
	d->coef = coef;
	return CUDNN_STATUS_SUCCESS;
}

FAKE_EXPORT cudnnStatus_t cudnnGetActivationDescriptor(const cudnnActivationDescriptor_t d,
						       cudnnActivationMode_t *mode,
						       cudnnNanPropagation_t *reluNanOpt,
						       double *coef)
{
	fake_work();
	*mode = d->mode;
	*reluNanOpt = d->nan;
	*coef = d->coef;
	return CUDNN_STATUS_SUCCESS;
}

FAKE_EXPORT cudnnStatus_t cudnnDestroyActivationDescriptor(cudnnActivationDescriptor_t d)
{
	fake_work();
	free(d);
	return CUDNN_STATUS_SUCCESS;
}

FAKE_EXPORT cudnnStatus_t cudnnBackendExecute(cudnnHandle_t handle,
					      cudnnBackendDescriptor_t executionPlan,
					      cudnnBackendDescriptor_t variantPack)
{
	fake_work();
	return handle && executionPlan && variantPack ? CUDNN_STATUS_SUCCESS
						      : CUDNN_STATUS_BAD_PARAM;
}
