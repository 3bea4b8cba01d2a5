/*
 * gpu_metrics.h - hooks of the gpu-metrics collector (collectors/gpu_metrics.c) for the
 * cuda collector, which owns the one CUPTI subscription of the process (CUPTI <= 13.2).
 * cuda.c calls gp_metrics_start() at the end of InitializeInjection (after the timestamp
 * callback is registered, so PM samples share the trace clock) and gp_metrics_stop()
 * from its teardown.  Both are no-ops unless $GPROF_CLI_TRACE names gpu-metrics.
 */
#ifndef GPROF_GPU_METRICS_H
#define GPROF_GPU_METRICS_H

#include "producer.h"

/* In InitializeInjection: load the profiler entry points from libcupti (handle from
 * dlopen) and read the sampling options of $GPROF_CLI_OPTIONS.  Starts nothing: inside
 * cuInit the profiler cannot initialise yet (cuptiProfilerInitialize returned
 * CUPTI_ERROR_UNKNOWN there on the H200). */
GP_HIDDEN void gp_metrics_start(void *cupti_handle);
/* Start PM sampling on the devices asked for, once: called at
 * CUPTI_CBID_RESOURCE_CU_INIT_FINISHED (last_chance 0: a profiler that cannot initialise
 * yet is tried again later, silently) and at every CUPTI_CBID_RESOURCE_CONTEXT_CREATED
 * before the atexit re-registration (last_chance 1).  Errors: one line on stderr and a
 * GP_REC_METRICS_NOTE "GPU_METRICS:ERROR"/"WARNING"; the rest of the profile goes on. */
GP_HIDDEN void gp_metrics_ready(int last_chance);
/* Stop sampling, decode what is left, disable (call after every other CUPTI use). */
GP_HIDDEN void gp_metrics_stop(void);
/* A problem of the sampling mode: one line "gprof-cli: gpu-metrics: <line>" on stderr (cut
 * at 1 KiB, still ending in a newline) and the META_DATA_CAPTURE row GPU_METRICS:<key> =
 * line (key "ERROR", "WARNING", "LOSS"). */
GP_HIDDEN void gp_metrics_problem(const char *key, const char *line);
/* Devices being sampled now (0 when nothing started: the reason was said). */
GP_HIDDEN int gp_metrics_devices_sampling(void);

/*
 * gprof-cli's GPU metrics sampler process (collectors/gpu_metrics_process.c, started by
 * cli/metrics_process.c before the application): PM sampling runs there, as nsys's daemon
 * samples, so that the application pays nothing for decoding and the samples cover the run
 * from its launch.  Loads libcupti and libcuda, registers the CLOCK_MONOTONIC timestamp
 * callback (gp_now_ns: the trace clock), cuInit, starts sampling on the devices of
 * $GPROF_CLI_OPTIONS (gp_metrics_start/ready), writes one byte to ready_fd ('R' sampling,
 * 'N' not: the reason was printed and stored), then waits until stop_fd reads EOF, stops,
 * decodes and sends what is left.  Returns the process exit status (0; 1 when the
 * producer could not connect).  Exported: gprof-cli dlopens this library and calls it.
 */
__attribute__((visibility("default"))) int gprof_gpu_metrics_process(int ready_fd, int stop_fd);

/*
 * Range mode (collectors/gpu_range.c, --gpu-metrics-mode=range): CUPTI range profiler
 * (cupti_range_profiler.h, cupti-design.md §4).  The cuda collector owns the CUPTI
 * subscription and forwards to these hooks; every one is a cheap no-op unless
 * $GPROF_CLI_TRACE names gpu-metrics and $GPROF_CLI_OPTIONS has gpu-metrics-mode=range.
 */
#include "collectors/cupti.h"

/* The fix for CUPTI_ERROR_INSUFFICIENT_PRIVILEGES (performance counters restricted to
 * admin users), for the hint lines of both metrics modes (cupti-design.md §4.3). */
#define GP_COUNTERS_FIX                                                                            \
	"run as root or with CAP_PERFMON/CAP_SYS_ADMIN, or load the nvidia module with "           \
	"NVreg_RestrictProfilingToAdminUsers=0 (https://developer.nvidia.com/ERR_NVGPUCTRPERM)"

/* Send a GP_REC_METRICS_NOTE: META_DATA_CAPTURE row (key, value), e.g.
 * ("GPU_METRICS:REPLAY_PASSES", "16"); value NULL = "".  Strings are interned here. */
GP_HIDDEN void gp_metrics_note(const char *key, const char *value);

/* In setup(), after subscribing: resolve the range-profiler entry points from the libcupti
 * handle and enable the driver-API callbacks it needs on `subscriber`. */
GP_HIDDEN void gp_range_init(void *cupti_handle, CUpti_SubscriberHandle subscriber);
/* CUPTI_CBID_RESOURCE_CONTEXT_CREATED / _DESTROY_STARTING of context `ctx`. */
GP_HIDDEN void gp_range_context_created(CUcontext ctx);
GP_HIDDEN void gp_range_context_destroy(CUcontext ctx);
/* Does the range profiler want API callback `cbid` of `domain` (CUPTI_CB_DOMAIN_RUNTIME_API
 * or _DRIVER_API)?  Kernel-range mode wants the kernel and graph launches of both. */
GP_HIDDEN int gp_range_wants(CUpti_CallbackDomain domain, CUpti_CallbackId cbid);
/* A wanted API callback; `data` is the CUpti_CallbackData (enter and exit). */
GP_HIDDEN void gp_range_api_callback(CUpti_CallbackDomain domain, CUpti_CallbackId cbid,
				     const void *data);
/* NVTX user ranges (--gpu-metrics-ranges=nvtx): non-zero while nvtx.c should forward its
 * push/pop calls (every domain) to gp_range_nvtx_push/pop; 0 otherwise, so the NVTX fast
 * path pays one load.  name_sid: the range's message as a string id of this library's
 * connection (gp_intern, or a registered string's id), 0 = none. */
GP_HIDDEN extern volatile int gp_range_nvtx_on;
/* 1 in kernel-range mode (set by gp_range_init): kernels are serialised by the replay, so
 * the cuda collector traces CUPTI_ACTIVITY_KIND_KERNEL instead of CONCURRENT_KERNEL. */
GP_HIDDEN extern int gp_range_serial_kernels;
GP_HIDDEN void gp_range_nvtx_push(uint32_t name_sid);
GP_HIDDEN void gp_range_nvtx_pop(void);
/* Process end: stop, decode and send what is left, disable (before gp_metrics_stop). */
GP_HIDDEN void gp_range_stop(void);

#endif
