/*
 * cupti.h - the injection library's one handle on libcupti, below every CUPTI user
 * (collectors/cuda.c, gpu_metrics.c, gpu_range.c): they call down into this file, never
 * into each other for CUPTI.  CUPTI is never a link-time dependency of
 * libgprof-inject.so: it is dlopen'd here and each user resolves its entry points with
 * dlsym on the handle.  Follows ../shared/reference/cupti-design.md (CUPTI 13.0).
 */
#ifndef GPROF_COLLECTORS_CUPTI_H
#define GPROF_COLLECTORS_CUPTI_H

#include <cupti.h>

#include "collectors/producer.h"

/* The libcupti.so.13 handle: a copy the application already loaded first (PyTorch ships
 * its own; sharing it keeps one CUPTI in the process), else dlopen of the soname, else
 * $CUDA_HOME and /usr/local/cuda under extras/CUPTI/lib64, lib64 and lib.  Opened once
 * (later calls return the same handle); NULL when no copy loads.  Also resolves
 * cuptiGetResultString for gp_cupti_result_text().  Never closed (CUPTI's own exit
 * handlers run from it).  Call from CUPTI's initialisation path (one thread). */
GP_HIDDEN void *gp_cupti_open(void);

/* CUPTI's text for result r (cuptiGetResultString), or "CUPTI error" before
 * gp_cupti_open() succeeded or when CUPTI has none; a static string (CUPTI-owned). */
GP_HIDDEN const char *gp_cupti_result_text(CUptiResult r);

#endif
