/*
 * sampler.h - CPU sampling and context switches of the application's process tree
 * (`profile -s process-tree`, `--cpuctxsw=process-tree`, `-b fp|dwarf`), the way
 * `perf record -e cpu-clock --call-graph ... -- cmd` does it, from gprof-cli's side:
 * nothing is injected into the application.
 *
 * sampler_open() opens one perf event per online CPU on the launched process while it
 * is still corked (cli/launch.h; perf_event_open(2): pid = the child, cpu = each CPU,
 * inherit = 1 so every thread and child process is covered, enable_on_exec = 1 so
 * counting starts at the exec): the software cpu-clock event (it works in VMs, where
 * hardware PMU events often do not), user space only (exclude_kernel), clock
 * CLOCK_MONOTONIC, with PERF_RECORD_MMAP2/COMM/FORK/EXIT side-band records for the module
 * maps and, with cpuctxsw, PERF_RECORD_SWITCH.  A reader thread of gprof-cli copies the
 * records out of the kernel's ring buffers every SAMPLER_POLL_MS (sooner when one is a
 * quarter full) into a queue of at most SAMPLER_QUEUE_MAX bytes, and does nothing else, so
 * the rings never fill for want of reading.  A worker thread takes the queue in order,
 * orders each read's records by time, unwinds each sample
 * (fp: the kernel's PERF_SAMPLE_CALLCHAIN; dwarf: PERF_SAMPLE_REGS_USER + STACK_USER
 * unwound with elfutils' libdwfl from the module's .eh_frame/.debug_frame), symbolises
 * the frames with libdwfl (ELF symbol tables; C++ names demangled as nsys shows them,
 * core/kernel_name.h) and sends wire records (core/wire_sampling.h) to the recorder over an
 * ordinary channel connection: the same queue, spool and writer as every collector.
 * Frames it cannot resolve (JIT code, stripped code, [vdso]) are kept, unresolved.
 *
 * Costs in the application: the kernel's work per sample (a timer interrupt, and for
 * dwarf a copy of SAMPLER_STACK_BYTES of the user stack); the unwinding and symbol
 * lookups run in gprof-cli (bench/RESULTS.md, "CPU sampling").
 *
 * When the worker falls behind (many busy threads, few CPUs left to gprof-cli) the queue
 * grows; at the end sampler_stop() waits until it is used up (and says so when that takes
 * over SAMPLER_BACKLOG_SAID_S).  Python frames (--python-sampling) are read from the live
 * process by the worker, so a backlog delays their reading: more samples without their
 * Python frames then, each counted (python_unread).  When the queue is full the reader
 * drops samples and switches, counted (queue_dropped), and keeps the module maps.
 *
 * Test-only environment (man/gprof-cli-profile.1, ENVIRONMENT):
 *   GPROF_CLI_SAMPLER_SLOW_US=N   the worker sleeps N us (at most 1 s) before each sample:
 *                                 a slow unwinder, to show that the rings do not overflow;
 *   GPROF_CLI_SAMPLER_QUEUE_MB=N  the queue's bound in MiB (1 .. SAMPLER_QUEUE_MAX), to
 *                                 show that drops past it are counted.
 */
#ifndef GPROF_SAMPLER_H
#define GPROF_SAMPLER_H

#include <stdint.h>
#include <sys/types.h>

#define SAMPLER_POLL_MS 20 /* ms between reads of the ring buffers */
/* --python-sampling: ms between reads; the Python frames are read from the process when
 * its samples are read, so the sooner the fewer threads have left the sampled code */
#define SAMPLER_PYTHON_POLL_MS	  4
#define SAMPLER_STACK_BYTES	  8192 /* dwarf: bytes of user stack copied per sample (perf's) */
#define SAMPLER_RING_MEM_MAX	  (64u << 20) /* bytes of ring buffers over all CPUs at most */
#define SAMPLER_DEFAULT_PERIOD_NS 1000000     /* 1 ms of CPU time: nsys's 1000 Hz default rate */
/* bytes of records read and not yet unwound at most (the reader's queue; about 30 s of
 * dwarf samples of 1 thread at 1 kHz, 2 s of 16 busy threads) */
#define SAMPLER_QUEUE_MAX      (256u << 20)
#define SAMPLER_BACKLOG_SAID_S 1 /* sampler_stop(): a backlog is said after this many s */

/* -b/--backtrace (nsys's values). */
enum sampler_backtrace {
	SAMPLER_BT_NONE = 0, /* the sampled instruction pointer only */
	SAMPLER_BT_FP,	     /* frame pointers (the kernel's callchain) */
	SAMPLER_BT_DWARF,    /* a copy of the user stack unwound with libdwfl */
	SAMPLER_BT_LBR,	     /* last branch records: needs a hardware PMU; falls back to fp */
};

/* What to collect.  All borrowed for sampler_start() only. */
struct sampler_config {
	pid_t pid;	     /* the launched process, corked before its exec */
	const char *channel; /* the recorder's channel socket (recorder_channel_path()) */
	int sample;	     /* 1: CPU samples (COMPOSITE_EVENTS, SAMPLING_CALLCHAINS) */
	int cpuctxsw;	     /* 1: context switches (SCHED_EVENTS) */
	enum sampler_backtrace backtrace;
	uint64_t period_ns; /* CPU time between two samples of a thread (ns, cpu-clock) */
	int python;	    /* --python-sampling: CPython 3.11 frames (sampler_python.h) */
	/* Capture ranges and sessions (`launch`): non-zero when the recorder collects at
	 * time ts_ns (0: now; recorder_collecting()).  The sampler thread switches the
	 * cpu-clock events on and off to follow it at each read (every SAMPLER_POLL_MS), a
	 * dummy event per CPU (PERF_COUNT_SW_DUMMY, as perf's tracking event) keeps the
	 * side-band records (module maps, comm, fork, exit) meanwhile, and the samples and
	 * switches taken outside the windows (up to SAMPLER_POLL_MS at each edge) are not
	 * sent.  NULL: always collecting (a plain `profile`).  Called on the sampler's
	 * thread: thread-safe. */
	int (*collecting)(void *arg, uint64_t ts_ns);
	/* With `collecting`: the recorder's flush request counter (recorder_flush_epoch();
	 * the same arg).  At each read the sampler sends what it read, then acknowledges
	 * a new value (GP_REC_FLUSH_ACK), as the collectors' flushers do: a window's start
	 * and stop wait for it at most one read.  NULL: no acknowledgements. */
	uint32_t (*flush_epoch)(void *arg);
	void *collecting_arg;
};

/* Counters of a finished sampler, printed by `profile` and stored in the report
 * (META_DATA_EXPORT GPROF_CPU_SAMPLES, GPROF_LOST_CPU_SAMPLES, GPROF_CPU_UNWIND_FAILURES,
 * GPROF_SCHED_SWITCHES: core/report_sampling.c). */
struct sampler_stats {
	uint64_t samples;	  /* samples read */
	uint64_t lost_samples;	  /* records the kernel dropped, ring full (PERF_RECORD_LOST) */
	uint64_t queue_dropped;	  /* samples and switches read but dropped, queue full; the
				     report's GPROF_LOST_CPU_SAMPLES is the sum of the two */
	uint64_t unwind_failures; /* samples whose unwind stopped before the outermost frame */
	uint64_t switches;	  /* context-switch records read */
	uint64_t lost_sends;	  /* records not sent: the recorder's socket failed */
	uint64_t cpu_ns;	  /* CPU time of the sampler's two threads (ns) */
	uint64_t python_unread;	  /* samples of Python threads without their Python frames */
};

struct sampler;

/*
 * Open the events on cfg->pid (corked, not yet exec'd) and their ring buffers; call before
 * recorder_start() (the recorder budgets the file descriptors it finds open then).
 * Returns 0 and sets *out; or 1 when sampling is not possible here (perf_event_open
 * refused: kernel.perf_event_paranoid, no permission, no perf support, out of file
 * descriptors): one warning line and a hint were printed, *out is NULL and the session
 * goes on without samples.  Nothing to do (neither sample nor cpuctxsw): returns 0 with
 * *out NULL.
 */
int sampler_open(struct sampler **out, const struct sampler_config *cfg);

/* Connect to the recorder's channel socket (recorder_channel_path()), send
 * GP_REC_SAMPLING_CONFIG (the report's tables are created now, before the application
 * runs) and start the reader thread.  collecting_arg: the argument of the config's
 * `collecting` (the recorder, made after sampler_open()).  *s NULL: nothing to do, 0.
 * Returns 0, or 1 after one warning line: the sampler is freed and *s set to NULL, the
 * session goes on. */
int sampler_start(struct sampler **s, const char *channel, void *collecting_arg);

/* Call once the application has exited (or the session ends): read what the rings still
 * hold, send it and the counters, close the connection, free everything.  s may be NULL
 * (then *st is zeroed), or opened and never started (then it is only freed).  Call before
 * recorder_finish(): the recorder waits for the connection to close. */
void sampler_stop(struct sampler *s, struct sampler_stats *st);

#endif
