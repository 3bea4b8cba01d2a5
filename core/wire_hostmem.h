/*
 * wire_hostmem.h - the records of the host memory collector (collectors/hostmem.c,
 * libgprof-hostmem.so, `gprof-cli profile --host-memory-usage=true`; gprof-cli's own, nsys
 * has no host allocation tracing): record types 0x700-0x7ff of the wire format (wire.h).
 * Included by wire.h.  The report writer is core/report_hostmem.c (GPROF_HOST_MEMORY_*).
 *
 * Sizes are bytes, times CLOCK_MONOTONIC ns (the producer's gp_now_ns(), the clock of
 * every other record).  "In use" bytes count each block by its usable size
 * (malloc_usable_size of the allocator in use; mmap: the length rounded up to pages): the
 * one size free() can learn without a table of every block, so the totals are exact for
 * every call, below the threshold too.  `size` of an event is what the caller asked for.
 */
#ifndef GPROF_WIRE_HOSTMEM_H
#define GPROF_WIRE_HOSTMEM_H

#include <stdint.h>

enum gp_rec_hostmem_type {
	GP_REC_HOSTMEM_EVENT = 0x701,	/* struct gp_rec_hostmem_event: one recorded call */
	GP_REC_HOSTMEM_SAMPLE = 0x702,	/* struct gp_rec_hostmem_sample: process bytes in use */
	GP_REC_HOSTMEM_THREAD = 0x703,	/* struct gp_rec_hostmem_thread: a thread's totals */
	GP_REC_HOSTMEM_PROCESS = 0x704, /* struct gp_rec_hostmem_process: the process's */
};

/* The interposed function of an event (struct gp_rec_hostmem_event.fn); the report names
 * it in StringIds by gp_hostmem_fn_name(). */
enum gp_hostmem_fn {
	GP_HOSTMEM_MALLOC = 0,
	GP_HOSTMEM_CALLOC = 1,
	GP_HOSTMEM_REALLOC = 2, /* a realloc: the old block's free and the new block's alloc */
	GP_HOSTMEM_FREE = 3,
	GP_HOSTMEM_POSIX_MEMALIGN = 4,
	GP_HOSTMEM_ALIGNED_ALLOC = 5,
	GP_HOSTMEM_MEMALIGN = 6,
	GP_HOSTMEM_VALLOC = 7,
	GP_HOSTMEM_PVALLOC = 8,
	GP_HOSTMEM_MMAP = 9,	/* anonymous mappings only */
	GP_HOSTMEM_MUNMAP = 10, /* of recorded anonymous mappings */
	GP_HOSTMEM_MREMAP = 11,
	GP_HOSTMEM_REALLOCARRAY = 12,
	GP_HOSTMEM_FN_COUNT
};

/* The function's name as the application calls it ("malloc", ...); "?" when out of range. */
static inline const char *gp_hostmem_fn_name(unsigned fn)
{
	static const char *const names[GP_HOSTMEM_FN_COUNT] = {
	    "malloc", "calloc",	 "realloc", "free",   "posix_memalign", "aligned_alloc", "memalign",
	    "valloc", "pvalloc", "mmap",    "munmap", "mremap",		"reallocarray"};
	return fn < GP_HOSTMEM_FN_COUNT ? names[fn] : "?";
}

/* struct gp_rec_hostmem_event.op: nsys's memoryOperationType values
 * (CUDA_GPU_MEMORY_USAGE_EVENTS: 0 allocation, 1 deallocation). */
#define GP_HOSTMEM_OP_ALLOC 0
#define GP_HOSTMEM_OP_FREE  1

/* GP_REC_HOSTMEM_EVENT (64 bytes): a call on a block of at least the threshold
 * (--host-memory-threshold), or the free of such a block.  A realloc is a free event of
 * the old block (when it was recorded) and an alloc event of the new one (when recorded).
 * -> GPROF_HOST_MEMORY_EVENTS. */
struct gp_rec_hostmem_event {
	struct gp_rec_hdr h;
	uint64_t ts_ns;	       /* CLOCK_MONOTONIC ns, after the call returned */
	uint64_t addr;	       /* the block's address */
	uint64_t size;	       /* alloc: bytes asked for; free: the bytes its alloc asked for */
	uint64_t usable;       /* bytes it counts in use (malloc_usable_size / pages) */
	int64_t process_bytes; /* the process's bytes in use right after the call (exact) */
	uint64_t caller;       /* return address of the interposed call (0: unknown) */
	uint16_t op;	       /* GP_HOSTMEM_OP_* */
	uint16_t fn;	       /* enum gp_hostmem_fn */
	uint32_t pad;
};

/* GP_REC_HOSTMEM_SAMPLE (32 bytes): the process's bytes in use at ts_ns, at most one a
 * millisecond, taken by a thread's every 1024th call (and at exit).
 * -> GPROF_HOST_MEMORY_SAMPLES. */
struct gp_rec_hostmem_sample {
	struct gp_rec_hdr h;
	uint64_t ts_ns;
	int64_t process_bytes; /* in use at ts_ns */
	int64_t peak_bytes;    /* the process's peak so far */
};

/* A thread's or a process's call counts and bytes (usable bytes): all calls, and those
 * that were recorded (>= threshold); the calls below the threshold are the difference. */
struct gp_hostmem_counts {
	uint64_t allocs, frees; /* blocks allocated and freed (a realloc: one each) */
	uint64_t alloc_bytes, free_bytes;
	uint64_t rec_allocs, rec_frees; /* of those: recorded as events */
	uint64_t rec_alloc_bytes, rec_free_bytes;
};

/* GP_REC_HOSTMEM_THREAD (88 bytes): thread `tid`'s totals at the process's exit (a thread
 * that ended earlier keeps its last values).  current: bytes this thread allocated minus
 * bytes it freed (negative when it freed what others allocated); peak: its maximum.
 * -> GPROF_HOST_MEMORY_THREADS. */
struct gp_rec_hostmem_thread {
	struct gp_rec_hdr h;
	uint32_t tid;
	uint32_t pad;
	struct gp_hostmem_counts n;
	int64_t current, peak;
};

/* GP_REC_HOSTMEM_PROCESS (128 bytes): the process's totals at its exit (exit(), return
 * from main; not after a fatal signal or _exit: then the samples and events remain).
 * -> GPROF_HOST_MEMORY_PROCESSES. */
struct gp_rec_hostmem_process {
	struct gp_rec_hdr h;
	uint64_t ts_ns;	    /* when the totals were taken */
	uint64_t threshold; /* --host-memory-threshold, bytes */
	int64_t current;    /* bytes in use at ts_ns */
	int64_t peak;	    /* the most bytes in use at once (exact) */
	uint64_t peak_ns;   /* when the peak was first reached */
	uint32_t peak_tid;  /* the thread whose call reached it */
	uint32_t threads;   /* threads that made a call (GP_REC_HOSTMEM_THREAD rows) */
	struct gp_hostmem_counts n;
	uint64_t untracked;   /* recorded blocks the address table had no room for: their
			       * free is counted but not recorded as an event */
	uint64_t start_bytes; /* bytes in use when the process started (a fork child: its
			       * parent's at the fork) */
};

#endif
