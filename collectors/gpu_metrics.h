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

/* Load the profiler entry points from libcupti (handle from dlopen) and start PM
 * sampling on the devices of $GPROF_CLI_OPTIONS.  Errors: one line on stderr and a
 * GP_REC_METRICS_NOTE "GPU_METRICS:ERROR"; the rest of the profile goes on. */
GP_HIDDEN void gp_metrics_start(void *cupti_handle);
/* Stop sampling, decode what is left, disable (call after every other CUPTI use). */
GP_HIDDEN void gp_metrics_stop(void);

/*
 * Range mode (collectors/gpu_range.c, --gpu-metrics-mode=range): CUPTI range profiler
 * (cupti_range_profiler.h, cupti-design.md §4).  The cuda collector owns the CUPTI
 * subscription and forwards to these hooks; every one is a cheap no-op unless
 * $GPROF_CLI_TRACE names gpu-metrics and $GPROF_CLI_OPTIONS has gpu-metrics-mode=range.
 */
#include <cupti.h>

/* In setup(), after subscribing: resolve the range-profiler entry points from the libcupti
 * handle and enable the driver-API callbacks it needs on `subscriber`. */
GP_HIDDEN void gp_range_init(void *cupti_handle, CUpti_SubscriberHandle subscriber);
/* CUPTI_CBID_RESOURCE_CONTEXT_CREATED / _DESTROY_STARTING of context `ctx`. */
GP_HIDDEN void gp_range_context_created(CUcontext ctx);
GP_HIDDEN void gp_range_context_destroy(CUcontext ctx);
/* Does the range profiler want driver-API callback `cbid` (e.g. kernel launches)? */
GP_HIDDEN int gp_range_wants(CUpti_CallbackId cbid);
/* A wanted driver-API callback; `data` is the CUpti_CallbackData. */
GP_HIDDEN void gp_range_driver_callback(CUpti_CallbackId cbid, const void *data);
/* Process end: stop, decode and send what is left, disable (before gp_metrics_stop). */
GP_HIDDEN void gp_range_stop(void);

#endif
