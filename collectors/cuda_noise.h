/*
 * cuda_noise.h - the CUDA API calls the cuda collector does not record unless
 * cuda-trace-all-apis=1 (nsys's "skip some API calls", CUDA_SKIP_SOME_API_CALLS).
 *
 * nsys documents the switch but not its list (User Guide, CUDA trace, names
 * cudaConfigureCall, cudaSetupArgument and cudaHostGetDevicePointers as examples; no fuller
 * list was found in NVIDIA's docs), so this list is nsys 2025.3's default filter as measured:
 * cuda_api_sum of nsys and of gprof-cli on the same programs on the H200 (launchbench,
 * mbv2 and a PyTorch training run; bench/RESULTS-gpu.md, issue 10 section 5) list the same
 * names.  What that evidence fixed:
 *   - nsys hides: cudaGetErrorString, cudaDeviceGetAttribute, cudaFuncGet/SetAttribute(s),
 *     the occupancy queries, cuFuncGet/SetAttribute, cuCtxGetLimit (a PyTorch run), and
 *     cuDevicePrimaryCtxRelease, cuModuleGetFunction, cudaDeviceGetStreamPriorityRange,
 *     cudaGetSymbolAddress (issue 10: recorded by gprof-cli, not by nsys);
 *   - nsys shows: cuGetProcAddress_v2, cuKernelGetName (once per cudart launch: a third of
 *     the records of a launch-bound app) and cudaStreamIsCapturing_v10000, so they are
 *     recorded (they were filtered before issue 10);
 *   - the capture-range matrix on PyTorch engines (tests/gpu/engine_matrix.py: CUDA graphs,
 *     torch.compile, two streams): nsys hides cuGetErrorString, cuStreamGetCtx,
 *     cudaStreamGetPriority and cudaSetDevice, and shows cuKernelGetAttribute.
 * A call's other ABI versions follow it (cuDevicePrimaryCtxRelease_v2 is hidden with
 * cuDevicePrimaryCtxRelease; cuGetProcAddress and cudaStreamIsCapturing_ptsz_v10000 are
 * shown with cuGetProcAddress_v2 and cudaStreamIsCapturing_v10000): an inference, the
 * evidence names one version each.  The remaining entries are the high-volume queries of
 * kineto's and wprof's lists (../shared/reference/cupti-design.md section 3.3) and the
 * calls CUPTI itself makes to describe a device, none of which nsys 2025.3 recorded in those
 * runs.  Shared with bench/gpu/cupti_floor.c so that the floor filters exactly the same.
 * Values are CUPTI callback ids (cupti_runtime_cbid.h, cupti_driver_cbid.h).
 */
#ifndef GPROF_CUDA_NOISE_H
#define GPROF_CUDA_NOISE_H

#include <cupti.h>

static const CUpti_CallbackId gp_cuda_noisy_runtime[] = {
    CUPTI_RUNTIME_TRACE_CBID_cudaGetDevice_v3020,
    CUPTI_RUNTIME_TRACE_CBID_cudaGetDeviceCount_v3020,
    CUPTI_RUNTIME_TRACE_CBID_cudaGetLastError_v3020,
    CUPTI_RUNTIME_TRACE_CBID_cudaPeekAtLastError_v3020,
    CUPTI_RUNTIME_TRACE_CBID_cudaGetErrorString_v3020,
    CUPTI_RUNTIME_TRACE_CBID_cudaConfigureCall_v3020,
    CUPTI_RUNTIME_TRACE_CBID_cudaSetupArgument_v3020,
    CUPTI_RUNTIME_TRACE_CBID_cudaHostGetDevicePointer_v3020,
    CUPTI_RUNTIME_TRACE_CBID_cudaDeviceGetAttribute_v5000,
    CUPTI_RUNTIME_TRACE_CBID_cudaFuncGetAttributes_v3020,
    CUPTI_RUNTIME_TRACE_CBID_cudaFuncSetAttribute_v9000,
    CUPTI_RUNTIME_TRACE_CBID_cudaDriverGetVersion_v3020,
    CUPTI_RUNTIME_TRACE_CBID_cudaRuntimeGetVersion_v3020,
    CUPTI_RUNTIME_TRACE_CBID_cudaOccupancyMaxActiveBlocksPerMultiprocessor_v6000,
    CUPTI_RUNTIME_TRACE_CBID_cudaOccupancyMaxActiveBlocksPerMultiprocessor_v6050,
    CUPTI_RUNTIME_TRACE_CBID_cudaOccupancyMaxActiveBlocksPerMultiprocessorWithFlags_v7000,
    CUPTI_RUNTIME_TRACE_CBID_cudaDeviceGetStreamPriorityRange_v5050,
    CUPTI_RUNTIME_TRACE_CBID_cudaGetSymbolAddress_v3020,
    CUPTI_RUNTIME_TRACE_CBID_cudaStreamGetPriority_v5050,
    CUPTI_RUNTIME_TRACE_CBID_cudaStreamGetPriority_ptsz_v7000,
    CUPTI_RUNTIME_TRACE_CBID_cudaSetDevice_v3020,
};

static const CUpti_CallbackId gp_cuda_noisy_driver[] = {
    CUPTI_DRIVER_TRACE_CBID_cuCtxGetCurrent,
    CUPTI_DRIVER_TRACE_CBID_cuCtxGetDevice,
    CUPTI_DRIVER_TRACE_CBID_cuCtxGetLimit,
    CUPTI_DRIVER_TRACE_CBID_cuDevicePrimaryCtxGetState,
    CUPTI_DRIVER_TRACE_CBID_cuFuncGetAttribute,
    CUPTI_DRIVER_TRACE_CBID_cuFuncSetAttribute,
    CUPTI_DRIVER_TRACE_CBID_cuOccupancyMaxActiveBlocksPerMultiprocessor,
    CUPTI_DRIVER_TRACE_CBID_cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags,
    CUPTI_DRIVER_TRACE_CBID_cuPointerGetAttribute,
    CUPTI_DRIVER_TRACE_CBID_cuPointerGetAttributes,
    CUPTI_DRIVER_TRACE_CBID_cuDeviceGet,
    CUPTI_DRIVER_TRACE_CBID_cuDeviceGetCount,
    CUPTI_DRIVER_TRACE_CBID_cuDeviceGetAttribute,
    CUPTI_DRIVER_TRACE_CBID_cuDeviceGetName,
    CUPTI_DRIVER_TRACE_CBID_cuDeviceGetUuid,
    CUPTI_DRIVER_TRACE_CBID_cuDeviceGetUuid_v2,
    CUPTI_DRIVER_TRACE_CBID_cuDeviceTotalMem_v2,
    CUPTI_DRIVER_TRACE_CBID_cuDriverGetVersion,
    CUPTI_DRIVER_TRACE_CBID_cuDevicePrimaryCtxRelease,
    CUPTI_DRIVER_TRACE_CBID_cuDevicePrimaryCtxRelease_v2,
    CUPTI_DRIVER_TRACE_CBID_cuModuleGetFunction,
    CUPTI_DRIVER_TRACE_CBID_cuGetErrorString,
    CUPTI_DRIVER_TRACE_CBID_cuStreamGetCtx,
    CUPTI_DRIVER_TRACE_CBID_cuStreamGetCtx_ptsz,
    CUPTI_DRIVER_TRACE_CBID_cuStreamGetCtx_v2,
    CUPTI_DRIVER_TRACE_CBID_cuStreamGetCtx_v2_ptsz,
};

#endif
