/*
 * wire_metrics.h - wire records of the gpu-metrics collector (collectors/gpu_metrics.c),
 * record types 0x400-0x4ff.  Included by wire.h; decoded by core/report_metrics.c.
 *
 * Two modes (see man gprof-cli-profile, --gpu-metrics-mode):
 *   sample  CUPTI PM sampling (cupti_pmsampling.h): one GP_REC_METRICS_SAMPLE per sample
 *           and device -> nsys tables GPU_METRICS / TARGET_INFO_GPU_METRICS;
 *   range   CUPTI range profiler (cupti_range_profiler.h): one GP_REC_METRICS_RANGE per
 *           kernel launch (auto range, kernel replay) or NVTX range (user range)
 *           -> our table GPROF_RANGE_METRICS.
 * GP_REC_METRICS_METRIC names the metrics of a device's configuration once, before the
 * first sample or range that uses it; values then arrive as arrays indexed like it.
 * Timestamps are CLOCK_MONOTONIC ns (the producers' clock: PM sampling times follow
 * the CUPTI timestamp callback registered by the cuda collector, cupti-design.md §5).
 */
#ifndef GPROF_WIRE_METRICS_H
#define GPROF_WIRE_METRICS_H

#include <stdint.h>

enum gp_metrics_rec_type {
	GP_REC_METRICS_METRIC = 0x401, /* struct gp_rec_metrics_metric (state) */
	GP_REC_METRICS_SAMPLE = 0x402, /* struct gp_rec_metrics_sample */
	GP_REC_METRICS_RANGE = 0x403,  /* struct gp_rec_metrics_range */
	GP_REC_METRICS_NOTE = 0x404,   /* struct gp_rec_metrics_note (state) */
};

/* Modes (struct gp_rec_metrics_metric.mode). */
enum gp_metrics_mode {
	GP_METRICS_MODE_SAMPLE = 1, /* PM sampling */
	GP_METRICS_MODE_RANGE = 2,  /* range profiler */
};

/* Kinds of range (struct gp_rec_metrics_range.kind). */
enum gp_metrics_range_kind {
	GP_METRICS_RANGE_KERNEL = 1, /* auto range: one kernel launch */
	GP_METRICS_RANGE_NVTX = 2,   /* user range: one NVTX push/pop range */
};

/* Most values one sample or range record carries (the record stays < 1 KiB). */
#define GP_METRICS_MAX 64

/* GP_REC_METRICS_METRIC (24 bytes): metric `index` of device `device_id`'s config in
 * `mode` is the metric named name_sid (Perfworks name, e.g.
 * "dram__throughput.avg.pct_of_peak_sustained_elapsed"). */
struct gp_rec_metrics_metric {
	struct gp_rec_hdr h;
	uint32_t device_id; /* CUDA device ordinal */
	uint16_t mode;	    /* enum gp_metrics_mode */
	uint16_t index;	    /* 0 .. GP_METRICS_MAX-1 */
	uint32_t name_sid;  /* string id of the metric name */
	uint32_t chip_sid;  /* string id of the chip name ("GH100"); 0 = unknown */
};

/* GP_REC_METRICS_SAMPLE (32 + 8n bytes): one PM sample of device_id over
 * [start_ns, end_ns]; values[i] is metric i of the device's sample config, as
 * cuptiProfilerHostEvaluateToGpuValues returned it (double). */
struct gp_rec_metrics_sample {
	struct gp_rec_hdr h;
	uint64_t start_ns; /* CLOCK_MONOTONIC ns */
	uint64_t end_ns;
	uint32_t device_id;
	uint32_t nvalues; /* <= GP_METRICS_MAX */
	double values[];
};

/* GP_REC_METRICS_RANGE (56 + 8n bytes): one profiled range.  Kernel ranges carry the
 * launch's correlationId (CUPTI callback data, joins CUPTI_ACTIVITY_KIND_KERNEL) and the
 * kernel name as the launch callback saw it (symbolName, mangled); NVTX ranges carry the
 * range's message.  start_ns/end_ns: host times of the launch / push..pop (0 = unknown).
 * passes: replay passes the config needed (> 1 = the range ran that many times). */
struct gp_rec_metrics_range {
	struct gp_rec_hdr h; /* h.tid: the launching / pushing thread */
	uint64_t start_ns;
	uint64_t end_ns;
	uint32_t device_id, context_id;
	uint32_t correlation_id; /* 0 for NVTX ranges */
	uint32_t range_index;	 /* CUPTI range index, 0-based, per context, in order */
	uint32_t name_sid;	 /* kernel (mangled) or NVTX range name */
	uint16_t kind;		 /* enum gp_metrics_range_kind */
	uint16_t passes;
	uint32_t nvalues; /* <= GP_METRICS_MAX */
	uint32_t pad;
	double values[];
};

/* GP_REC_METRICS_NOTE (16 bytes): a fact about the metrics run for META_DATA_CAPTURE
 * (e.g. "GPU_METRICS:REPLAY_PASSES" = "8", "GPU_METRICS:ERROR" = the error line). */
struct gp_rec_metrics_note {
	struct gp_rec_hdr h;
	uint32_t key_sid;
	uint32_t value_sid;
};

#endif
