/*
 * fake_cudnn.h - the few cuDNN 9 declarations the fake libcudnn.so.9 (fake_cudnn.c) and
 * the test extension (fake_ext.c) use, copied from cudnn_graph.h and cudnn_ops.h 9.19 (the
 * cuDNN headers are not part of the CUDA toolkit, so the tests do not depend on them).
 */
#ifndef GPROF_TESTS_FAKE_CUDNN_H
#define GPROF_TESTS_FAKE_CUDNN_H

#include <driver_types.h> /* cudaStream_t */

typedef struct cudnnContext *cudnnHandle_t;
typedef struct cudnnActivationStruct *cudnnActivationDescriptor_t;
typedef void *cudnnBackendDescriptor_t;

typedef enum {
	CUDNN_STATUS_SUCCESS = 0,
	CUDNN_STATUS_NOT_INITIALIZED = 1001,
	CUDNN_STATUS_BAD_PARAM = 2000,
} cudnnStatus_t;

typedef enum {
	CUDNN_ACTIVATION_SIGMOID = 0,
	CUDNN_ACTIVATION_RELU = 1,
	CUDNN_ACTIVATION_TANH = 2,
	CUDNN_ACTIVATION_CLIPPED_RELU = 3,
} cudnnActivationMode_t;

typedef enum {
	CUDNN_NOT_PROPAGATE_NAN = 0,
	CUDNN_PROPAGATE_NAN = 1,
} cudnnNanPropagation_t;

cudnnStatus_t cudnnCreate(cudnnHandle_t *handle);
cudnnStatus_t cudnnDestroy(cudnnHandle_t handle);
cudnnStatus_t cudnnSetStream(cudnnHandle_t handle, cudaStream_t streamId);
cudnnStatus_t cudnnCreateActivationDescriptor(cudnnActivationDescriptor_t *activationDesc);
cudnnStatus_t cudnnSetActivationDescriptor(cudnnActivationDescriptor_t activationDesc,
					   cudnnActivationMode_t mode,
					   cudnnNanPropagation_t reluNanOpt, double coef);
cudnnStatus_t cudnnGetActivationDescriptor(const cudnnActivationDescriptor_t activationDesc,
					   cudnnActivationMode_t *mode,
					   cudnnNanPropagation_t *reluNanOpt, double *coef);
cudnnStatus_t cudnnDestroyActivationDescriptor(cudnnActivationDescriptor_t activationDesc);
cudnnStatus_t cudnnBackendExecute(cudnnHandle_t handle, cudnnBackendDescriptor_t executionPlan,
				  cudnnBackendDescriptor_t variantPack);

#endif
