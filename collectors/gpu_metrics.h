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

#endif
