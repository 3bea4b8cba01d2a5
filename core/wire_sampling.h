/*
 * wire_sampling.h - the records of the CPU sampler (core/sampler.c, `profile -s
 * process-tree`, `--cpuctxsw=process-tree`): record types 0x600-0x6ff of the wire format
 * (wire.h).  Included by wire.h.
 *
 * Unlike the injected collectors, the sampler runs inside gprof-cli: it reads the
 * kernel's perf_event ring buffers of the application's process tree (perf_event_open(2),
 * cpu-clock, user space only), unwinds and symbolises each sample there and sends the
 * result over one ordinary channel connection.  That connection is gprof-cli's own, so
 * every record names its process (`pid`) itself; h.tid is the sampled thread.  Times are
 * CLOCK_MONOTONIC ns (the perf events use clockid CLOCK_MONOTONIC).
 *
 * The recorder writes them in nsys's tables (Nsight Systems SQLite schema reference,
 * COMPOSITE_EVENTS, SAMPLING_CALLCHAINS, SCHED_EVENTS; core/report_sampling.c).
 */
#ifndef GPROF_WIRE_SAMPLING_H
#define GPROF_WIRE_SAMPLING_H

#include <stdint.h>

enum gp_rec_sampling_type {
	GP_REC_CPU_SAMPLE = 0x601,	/* struct gp_rec_cpu_sample: one CPU sample + its stack */
	GP_REC_SCHED = 0x602,		/* struct gp_rec_sched: a thread scheduled in or out */
	GP_REC_SAMPLING_LOSS = 0x603,	/* struct gp_rec_sampling_loss: cumulative counters */
	GP_REC_SAMPLING_CONFIG = 0x604, /* struct gp_rec_sampling_config: first, state */
};

/* nsys's ENUM_STACK_UNWIND_METHOD ids (read off an nsys 2025.3 export). */
#define GP_UNWIND_NONE	       0 /* Unknown: the sampled IP alone */
#define GP_UNWIND_FRAMEPOINTER 1 /* FramePointer: the kernel's PERF_SAMPLE_CALLCHAIN */
#define GP_UNWIND_DWARF	       7 /* DWARF_DF: a copy of the user stack unwound with libdw */
#define GP_UNWIND_LBR	       8 /* LBR */

/* One frame of a sample's stack.  symbol_sid / module_sid: string ids of this
 * connection; symbol_sid 0 = not resolved (written as "0x<ip>", unresolved = 1, as nsys),
 * module_sid 0 = the address is in no mapping the sampler knows ("[Unknown]"). */
struct gp_sample_frame {
	uint64_t ip; /* the instruction pointer (return address for callers) */
	uint32_t symbol_sid;
	uint32_t module_sid;
};

#define GP_SAMPLE_BROKEN                                                                           \
	0x1u			 /* the unwind stopped before the outermost frame: the writer      \
				  * adds nsys's "[Broken backtraces]" entry after the frames */
#define GP_SAMPLE_FRAMES_MAX 128 /* frames a sample carries at most (deeper: cut, BROKEN) */

/* GP_REC_CPU_SAMPLE: one sample of thread h.tid of process `pid`, leaf frame first.
 * Size: sizeof(struct gp_rec_cpu_sample) + nframes * sizeof(struct gp_sample_frame). */
struct gp_rec_cpu_sample {
	struct gp_rec_hdr h;
	uint32_t pid;
	uint32_t cpu;	  /* CPU it ran on */
	uint64_t time_ns; /* CLOCK_MONOTONIC */
	uint8_t unwind;	  /* GP_UNWIND_* of frames 1.. (frame 0 is the sampled IP) */
	uint8_t flags;	  /* GP_SAMPLE_* */
	uint16_t nframes; /* <= GP_SAMPLE_FRAMES_MAX */
	uint32_t reserved;
	struct gp_sample_frame frames[];
};

/* GP_REC_SCHED: thread h.tid of process `pid` was scheduled in (is_in 1) or out (0) on
 * `cpu` (perf's PERF_RECORD_SWITCH; a thread's last switch-out is its PERF_RECORD_EXIT).
 * thread_state: nsys's ENUM_SAMPLING_THREAD_STATE id of the row (0 Unknown; 5 Terminated for the
 * last switch-out of an exiting thread). */
struct gp_rec_sched {
	struct gp_rec_hdr h;
	uint32_t pid;
	uint32_t cpu;
	uint64_t time_ns; /* CLOCK_MONOTONIC */
	uint8_t is_in;
	uint8_t thread_state;
	uint8_t preempted; /* switched out while runnable (PERF_RECORD_MISC_SWITCH_OUT_PREEMPT) */
	uint8_t reserved[5];
};

/* GP_REC_SAMPLING_CONFIG: the sampler's first record, sent when it connects (before the
 * application runs): the writer creates the tables it will fill.  A state record
 * (wire.h gp_rec_is_state): every report of a repeat capture gets it. */
struct gp_rec_sampling_config {
	struct gp_rec_hdr h;
	uint8_t sample;	  /* 1: GP_REC_CPU_SAMPLE records follow (COMPOSITE_EVENTS, ...) */
	uint8_t cpuctxsw; /* 1: GP_REC_SCHED records follow (SCHED_EVENTS) */
	uint8_t unwind;	  /* GP_UNWIND_* of the samples */
	uint8_t reserved[5];
	uint64_t period_ns; /* CPU time between two samples of a thread */
};

/* GP_REC_SAMPLING_LOSS: the sampler's cumulative counters, sent last (the writer keeps
 * the largest of each). */
struct gp_rec_sampling_loss {
	struct gp_rec_hdr h;
	uint64_t samples;	  /* samples read from the kernel */
	uint64_t lost_samples;	  /* records the kernel dropped (PERF_RECORD_LOST: ring full) */
	uint64_t unwind_failures; /* samples whose unwind stopped early (GP_SAMPLE_BROKEN) */
	uint64_t switches;	  /* context-switch records read */
	uint64_t sampler_cpu_ns;  /* CPU time of gprof-cli's sampler thread (reading, unwinding,
				     symbols): its cost, outside the application */
	uint64_t python_unread;	  /* samples of a CPython thread whose Python frames could
				     not be read, or were none while its native stack ran
				     _PyEval_EvalFrameDefault (the process had ended, or the
				     thread had left that code, when the sampler came to them:
				     core/sampler_python.h) */
};

#endif
