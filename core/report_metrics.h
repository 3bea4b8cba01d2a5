/*
 * report_metrics.h - the gpu-metrics table module (core/report_metrics.c): decodes the
 * GP_REC_METRICS_* records of wire_metrics.h into
 *   TARGET_INFO_GPU_METRICS, GPU_METRICS    (nsys schema, nsys-cli.md §3.3), and
 *   GPROF_RANGE_METRICS                     (ours; man gprof-cli-profile, REPORT TABLES).
 */
#ifndef GPROF_REPORT_METRICS_H
#define GPROF_REPORT_METRICS_H

#include <stdint.h>

#include "core/report.h"

/* The recorder's table module for record types 0x400-0x4ff. */
extern const struct report_module report_module_metrics;

/* Source id of PM-sampled metrics in the typeId (bits 32..47), as nsys 2025.3 writes it. */
#define GP_METRICS_SOURCE_ID 1

/* nsys typeId of a GPU's sampled metrics: <hwId:8><vmId:8><sourceId:16><typeId:32>, the
 * GPU id in the low 8 bits (nsys-cli.md §3.2: "typeId & 0xFF AS gpuId").  nsys 2025.3.1 on
 * the H200 wrote 0x0001000100000000 for GPU 0, and the same number in
 * TARGET_INFO_GPU_METRICS.sourceId; so do we. */
static inline int64_t report_metrics_type_id(uint32_t device_id)
{
	return (int64_t)((GP_VM_ID << 48) | ((uint64_t)GP_METRICS_SOURCE_ID << 32) |
			 (device_id & 0xFFu));
}

/* GPU_METRICS.value of a sampled metric value: rounded to the nearest integer (nsys
 * stores integers; percentages are 0..100), negative and NaN values as 0. */
int64_t report_metrics_int_value(double v);

#endif
