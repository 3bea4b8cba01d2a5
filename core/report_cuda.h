/*
 * report_cuda.h - helpers of the cuda table module (core/report_cuda.c) that tests and
 * the CUDA stats reports may use.  The module itself is `report_module_cuda`.
 */
#ifndef GPROF_REPORT_CUDA_H
#define GPROF_REPORT_CUDA_H

#include <stddef.h>

#include "core/report.h"

/* The recorder's table module for GP_REC_CUDA_* records (wire_cuda.h). */
extern const struct report_module report_module_cuda;

#endif
