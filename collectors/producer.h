/*
 * producer.h - the producer runtime linked into every injected library: connects to
 * the recorder, buffers records per thread and flushes them as wire frames (wire.h).
 *
 * One copy of this runtime lives in each injection library (libgprof-osrt.so,
 * libgprof-inject.so) with hidden visibility; each copy opens its own connection,
 * so string ids are scoped per library per process.
 *
 * Hot path contract (the record path runs millions of times a second):
 *   - gp_rec_begin()/gp_rec_commit() take no lock shared between threads, make no
 *     syscall and never allocate, except when the thread's buffer is full (then one
 *     send) or on the thread's first record (buffer set-up).
 *   - never calls pthread_mutex_*, malloc, or any function osrt interposes: sends use
 *     raw syscalls, so it is safe inside osrt wrappers and before libc is initialised.
 *
 * Flushing: a thread's buffer is sent when full, by a background flusher thread at
 * least every $GPROF_CLI_FLUSH_MS (default 100 ms) and at once on a flush request
 * (the control page's flush_epoch, wire.h "Flush requests"; answered with
 * GP_REC_FLUSH_ACK), at thread exit, at process exit
 * (atexit + destructor), before exec, and from handlers for SIGSEGV, SIGBUS, SIGILL,
 * SIGFPE, SIGABRT, SIGTERM and SIGINT, which then chain to the app's handler or the
 * default action.  A forked child (pthread_atfork) drops the parent's buffers'
 * ownership, reconnects with its own pid and restarts the flusher.
 *
 * The buffers live in a memfd shared with the recorder (wire.h "Thread buffers"): what a
 * process could not flush (_exit, a crash under the application's own handler, SIGKILL)
 * is read by the recorder once the process is gone.  When the recorder itself is gone
 * (gprof-cli killed), the runtime stops collecting for good.
 *
 * Errors: nothing here fails loudly; records that cannot be buffered or sent are
 * counted and reported to the recorder in GP_REC_LOSS (a process out of file
 * descriptors for its connection keeps counting and connects once it can).
 */
#ifndef GPROF_PRODUCER_H
#define GPROF_PRODUCER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include "../core/wire.h"

#define GP_HIDDEN __attribute__((visibility("hidden")))
/* Branch hints (the kernel's likely()/unlikely()), the one definition for the collectors:
 * the record path's common case first. */
#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/*
 * ---- The inline record path ---------------------------------------------------------
 *
 * gp_rec_begin(), gp_rec_commit(), gp_now_ns() and gp_intern() are inline: their common
 * case (the calling thread's buffer has room and is its own, the TSC conversion is
 * calibrated, the message pointer is in the thread's intern cache) makes no call; the
 * rest goes to the *_slow functions of producer.c.  The structures here are producer.c's
 * (its file comment describes them): nothing else may touch them.
 */

/* A frame under construction: header space followed by records. */
struct gp_frame {
	uint32_t len;  /* record bytes used after the header */
	uint32_t nrec; /* records held */
	_Alignas(8) unsigned char data[GP_FRAME_MAX];
};

#define GP_TCACHE 64
#define GP_TSEEN  512 /* hashes of texts gp_intern_once() saw once, per thread */

/* Per-thread intern cache entry: `ptr` last passed to gp_intern, `text` the table copy
 * (`len` bytes and a NUL).  head/mask: the text's first min(len + 1, 8) bytes (its NUL
 * included when it falls in them) as a little-endian word, and the mask of those bytes,
 * so that a hit on a short text is one masked word compare (gp_tcache_hit). */
struct gp_tcache_ent {
	const char *ptr;
	const char *text;
	uint64_t head;
	uint64_t mask;
	uint32_t len;
	uint32_t id;
};

/* The calling thread's copy of its runtime's TSC line (struct gp_clock below), which
 * gp_now_ns() converts with while gp_clk.seq still equals `gen` (UINT64_MAX: no copy);
 * refreshed by gp_now_ns_slow(), and dropped by it while that line is off.  The copy is the line
 * moved 2^32 ticks back, which converts every TSC value the line converts to the same ns, to the
 * last bit (tsc = the line's tsc - 2^32, ns = the line's ns - mult), with an unsigned multiply: any
 * TSC value from 2^32 ticks (over a second) before the line's tsc on.  `busy` while that refresh
 * writes it (a signal handler on the thread then leaves it alone). */
struct gp_tclock {
	uint64_t gen;
	uint64_t tsc, ns, mult;
	int busy;
};

/* One thread's buffer (producer.c's file comment explains `lock`, busy and steal).  The
 * frame comes first: a buffer is a slot of the shared thread-buffer memfd (wire.h "Thread
 * buffers"), which the recorder reads as a struct gp_slot_frame. */
struct gp_tbuf {
	struct gp_frame f;
	_Atomic int lock;
	_Atomic int busy;  /* membarrier mode: owner between begin and commit */
	_Atomic int steal; /* membarrier mode: a flusher owns the buffer */
	_Atomic int live;  /* 1 owned by a thread, 0 free for reuse */
	uint32_t tid;
	uint32_t pending; /* size reserved by gp_rec_begin */
	struct gp_tbuf *next;
	struct gp_tclock clk;
	struct gp_tcache_ent cache[GP_TCACHE];
	uint64_t seen[GP_TSEEN];
};

/* The calling thread's buffer (NULL before its first record). */
GP_HIDDEN extern __thread struct gp_tbuf *gp_t_buf __attribute__((tls_model("initial-exec")));
/* Buffer ownership by membarrier(2) (1) or by a CAS on `lock` (0: the slow path). */
GP_HIDDEN extern int gp_membar;

/* The TSC -> CLOCK_MONOTONIC ns conversion, ns = ns + (rdtsc - tsc) * mult / 2^32; a
 * seqlock (seq odd while written); `on` once calibrated.  Each copy of the runtime reads
 * its own; one calibration for the whole process writes them all (producer.c "the
 * clock").  prev_*: the line before this one (prev_mult 0: none), which gp_tsc_ns()
 * uses for a TSC value read before `tsc` (the moment this line took over): a time read
 * then was converted on it. */
struct gp_clock {
	_Atomic uint32_t seq;
	_Atomic int on;
	uint64_t tsc, ns, mult;
	uint64_t prev_tsc, prev_ns, prev_mult;
};
GP_HIDDEN extern struct gp_clock gp_clk;

static inline uint64_t gp_tsc_to_ns(uint64_t t, uint64_t tb, uint64_t nb, uint64_t m)
{
	__int128 d = (__int128)(int64_t)(t - tb) * (__int128)m;
	return nb + (uint64_t)(int64_t)(d >> 32);
}

/* The slow paths of the inline functions below (same contracts). */
GP_HIDDEN void *gp_rec_begin_slow(uint16_t type, size_t size);
GP_HIDDEN uint64_t gp_now_ns_slow(void);
GP_HIDDEN uint32_t gp_intern_slow(const char *s);

static inline uint64_t gp_rd64(const void *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* Is s exactly the n - 1 bytes of text followed by a NUL?  text is an intern table copy
 * (NUL-terminated, at least 8 readable bytes past it).  Word at a time while s's reads
 * stay in s's page (where they cannot fault, whatever s's length), else strncmp. */
static inline int gp_same_words(const char *s, const char *text, size_t n);
static inline int gp_same_text(const char *s, const char *text, size_t n)
{
	if (likely(((uintptr_t)s & 4095) + ((n + 7) & ~(size_t)7) <= 4096))
		return gp_same_words(s, text, n);
	return strncmp(text, s, n - 1) == 0 && s[n - 1] == '\0';
}
/* gp_same_text() where s's n bytes rounded up to 8 are known to be readable (in s's
 * page). */
static inline int gp_same_words(const char *s, const char *text, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8)
		if (gp_rd64(s + i) != gp_rd64(text + i))
			return 0;
	return i >= n || !((gp_rd64(s + i) ^ gp_rd64(text + i)) & (~0ull >> (64 - 8 * (n - i))));
}

/* Initialise the runtime for this process: read $GPROF_CLI_CHANNEL, connect, send
 * GP_REC_HELLO (collector = enum gp_collector_id).  Idempotent and thread-safe;
 * returns 0 when connected, -1 when there is no channel (not under gprof-cli) or the
 * connection failed (then every other call is a cheap no-op). */
GP_HIDDEN int gp_producer_init(uint32_t collector);

/* Non-zero once gp_producer_init succeeded in this process. */
GP_HIDDEN int gp_producer_active(void);

/* The control page (below); declared here for the inline record path. */
GP_HIDDEN extern struct gp_control *gp_ctl;

/* gp_rec_begin()'s common case alone, for record paths that take their own slow path,
 * in two steps: b = gp_t_buf (may be NULL), sz = the record's size rounded up to 8
 * (GP_REC_ALIGN).  gp_rec_can_begin(): 1 when collecting, with b set up in membarrier
 * mode, room for sz bytes and b not reserved (loads only: nothing changes, no call); then
 * gp_rec_claim() (nothing else recorded on the thread in between) reserves the record,
 * fills its header and returns it, or NULL having changed nothing when a flusher holds b.
 * Commit it with gp_rec_commit_in(b, sz) (not gp_rec_commit).  gp_rec_try_begin(): both,
 * NULL when either fails; nothing is counted. */
static inline int gp_rec_can_begin(const struct gp_tbuf *b, uint32_t sz)
{
	return likely(b && gp_membar &&
		      atomic_load_explicit(&gp_ctl->collecting, memory_order_relaxed) &&
		      b->f.len + sz <= GP_FRAME_MAX - sizeof(struct gp_frame_hdr) &&
		      !atomic_load_explicit(&b->busy, memory_order_relaxed));
}
static inline void *gp_rec_claim(struct gp_tbuf *b, uint16_t type, uint32_t sz)
{
	/* the owner's side of buf_lock_owner() (producer.c) */
	atomic_store_explicit(&b->busy, 1, memory_order_relaxed);
	atomic_signal_fence(memory_order_seq_cst);
	if (likely(!atomic_load_explicit(&b->steal, memory_order_acquire))) {
		struct gp_rec_hdr *h =
		    (struct gp_rec_hdr *)(b->f.data + sizeof(struct gp_frame_hdr) + b->f.len);
		h->type = type;
		h->size = (uint16_t)sz;
		h->tid = b->tid;
		return h;
	}
	atomic_store_explicit(&b->busy, 0, memory_order_release);
	return NULL;
}
static inline void *gp_rec_try_begin(struct gp_tbuf *b, uint16_t type, uint32_t sz)
{
	return gp_rec_can_begin(b, sz) ? gp_rec_claim(b, type, sz) : NULL;
}
/* Publish the record of sz bytes that gp_rec_claim(b, ..., sz) reserved. */
static inline void gp_rec_commit_in(struct gp_tbuf *b, uint32_t sz)
{
	b->f.len += sz;
	b->f.nrec++;
	atomic_store_explicit(&b->busy, 0, memory_order_release);
}

/* Reserve `size` bytes (header included, rounded up to 8) for a record of `type` in
 * the calling thread's buffer and fill its header (type, size, tid).  Returns NULL when
 * inactive or out of space after a flush attempt (the record is counted as dropped).
 * The caller fills the payload and then calls gp_rec_commit() with the same pointer;
 * nothing else may be recorded on this thread in between.  size <= GP_FRAME_MAX - 24. */
static inline void *gp_rec_begin(uint16_t type, size_t size)
{
	struct gp_tbuf *b = gp_t_buf;
	uint32_t sz = GP_REC_ALIGN((uint32_t)size);
	void *h = gp_rec_try_begin(b, type, sz);

	if (likely(h != NULL)) {
		b->pending = sz;
		return h;
	}
	return gp_rec_begin_slow(type, size);
}
/* Same without the capture gate: for records that belong to a capture window although
 * they are produced after it closed (CUPTI activity buffers delivered after
 * cuProfilerStop: kernels, memcpys, and the API records of the window).  The recorder
 * routes them (report_module.route, report.h).  Commit with gp_rec_commit(). */
GP_HIDDEN void *gp_rec_begin_ungated(uint16_t type, size_t size);
/* Publish the record reserved by gp_rec_begin(). */
static inline void gp_rec_commit(void *rec)
{
	struct gp_tbuf *b = gp_t_buf;

	(void)rec;
	b->f.len += b->pending;
	b->f.nrec++;
	if (likely(gp_membar))
		atomic_store_explicit(&b->busy, 0, memory_order_release);
	else
		atomic_store_explicit(&b->lock, 0, memory_order_release);
}

/* Record [start_ns, end_ns] (CLOCK_MONOTONIC, gp_now_ns()) as time the profiler itself
 * spent on the calling thread, on `name` (e.g. "CUPTI buffer processing"): a GP_REC_OVERHEAD
 * past the capture gate (-> PROFILER_OVERHEAD).  The runtime records its own connection
 * set-up, its flush at process exit and at the end of a capture range.  Not in a signal
 * handler; a no-op when inactive. */
GP_HIDDEN void gp_overhead(uint64_t start_ns, uint64_t end_ns, const char *name);

/* Does the cache entry c, whose ptr is s, still hold s's text?  The first 8 bytes as one
 * masked word (where that read stays in s's page), the rest word at a time
 * (gp_same_text).  may_call 0: no call is made, and a text whose reads would need one (a
 * page boundary within its first len + 8 bytes) gives 0 (not known to be a hit). */
static inline int gp_tcache_hit(const struct gp_tcache_ent *c, const char *s, int may_call)
{
	if (likely(((uintptr_t)s & 4095) <= 4096 - 8)) {
		if ((gp_rd64(s) & c->mask) != c->head)
			return 0;
		if (likely(c->len < 8))
			return 1;
		if (!may_call) {
			if (((uintptr_t)s & 4095) + 8 + (c->len & ~(uint32_t)7) > 4096)
				return 0; /* (len & ~7: len - 7 bytes rounded up to 8) */
			return gp_same_words(s + 8, c->text + 8, (size_t)c->len - 7);
		}
		return gp_same_text(s + 8, c->text + 8, (size_t)c->len - 7);
	}
	return may_call && gp_same_text(s, c->text, (size_t)c->len + 1);
}
/* gp_tcache_find() in thread buffer b (the calling thread's gp_t_buf, not NULL); may_call
 * as gp_tcache_hit's (0: a miss may be a hit that needed a call to be sure). */
static inline uint32_t gp_tcache_find_in(const struct gp_tbuf *b, const char *s, int may_call)
{
	if (likely(s != NULL)) {
		const struct gp_tcache_ent *c = &b->cache[((uintptr_t)s >> 3) & (GP_TCACHE - 1)];

		if (likely(c->ptr == s) && gp_tcache_hit(c, s, may_call))
			return c->id;
	}
	return 0;
}

/* Intern a NUL-terminated string (at most GP_STRING_MAX bytes are kept) and return its
 * id on this connection (>= 1), sending GP_REC_STRING the first time.  Equal content
 * gives the same id.  Returns 0 when inactive.  Thread-safe.  Inline: the pointer the
 * thread passed last in its cache slot, with the same content. */
/* The fast path of both: the id in the calling thread's cache slot of pointer s when
 * that slot holds s with the same content, else 0. */
static inline uint32_t gp_tcache_find(const char *s)
{
	struct gp_tbuf *b = gp_t_buf;

	return likely(b != NULL) ? gp_tcache_find_in(b, s, 1) : 0;
}
static inline uint32_t gp_intern(const char *s)
{
	uint32_t id = gp_tcache_find(s);

	return likely(id != 0) ? id : gp_intern_slow(s);
}
/* Same, for `len` bytes that need not be NUL-terminated. */
GP_HIDDEN uint32_t gp_intern_n(const char *s, size_t len);

/* gp_intern() for messages that are often used only once (an NVTX range named per call,
 * as PyTorch's emit_nvtx does): the string's id when the calling thread has seen it
 * before (its intern cache, or a second sighting of the same text - a per-thread table
 * of GP_TSEEN text hashes - then interned as gp_intern() does); else 0 with *n = its
 * length (>= 1), and the caller sends the text itself (GP_NVTX_TEXT_INLINE).  Strings
 * longer than `max` bytes go to gp_intern(); NULL and "" give 0 with *n = 0.
 * Thread-safe. */
GP_HIDDEN uint32_t gp_intern_once_slow(const char *s, size_t max, size_t *n);

/* The hash gp_intern_once() keeps per text it has seen once (struct gp_tbuf.seen), in
 * steps for a caller that reads the text a word at a time itself: h = gp_seen_start();
 * gp_seen_word(&h, w) for each of its n / 8 whole words (little-endian loads); then
 * gp_seen_end(h, t, n) with t the last n % 8 bytes as a word (0 when none).  Never 0. */
static inline uint64_t gp_seen_start(void)
{
	return 0x9e3779b97f4a7c15ull;
}
static inline void gp_seen_word(uint64_t *h, uint64_t w)
{
	*h = (*h ^ w) * 0xc4ceb9fe1a85ec53ull;
	*h ^= *h >> 29;
}
static inline uint64_t gp_seen_end(uint64_t h, uint64_t t, size_t n)
{
	h = (h ^ t ^ (n * 0xff51afd7ed558ccdull)) * 0xc4ceb9fe1a85ec53ull;
	return (h ^ (h >> 32)) | 1;
}
/* b's seen-table slot of hash h (b: the calling thread's buffer). */
static inline uint64_t *gp_seen_slot(struct gp_tbuf *b, uint64_t h)
{
	return &b->seen[(h >> 32) & (GP_TSEEN - 1)];
}
static inline uint32_t gp_intern_once(const char *s, size_t max, size_t *n)
{
	uint32_t id = gp_tcache_find(s);

	*n = 0;
	return likely(id != 0) ? id : gp_intern_once_slow(s, max, n);
}

/* The calling thread's OS id (gettid()), cached per thread. */
GP_HIDDEN uint32_t gp_tid(void);
/* The fast case of gp_now_ns(), without a call: b = gp_t_buf (NULL before the thread's
 * first record).  The TSC read and converted on the thread's copy of the line (struct
 * gp_tclock) into *ns when the line has not changed since the copy (gp_clk.seq, read
 * after the TSC, still equals the copy's gen: the line was current when the TSC was
 * read): returns 1.  Else 0 with *ns untouched (gp_now_ns_slow() then reads the time and
 * refreshes the copy); without a copy (gen UINT64_MAX: the TSC not in use) before reading
 * the TSC. */
static inline int gp_now_ns_try(const struct gp_tbuf *b, uint64_t *ns)
{
#if defined(__x86_64__)
	if (likely(b != NULL && b->clk.gen != UINT64_MAX)) {
		uint64_t t = __rdtsc();

		atomic_signal_fence(memory_order_seq_cst);
		if (likely(atomic_load_explicit(&gp_clk.seq, memory_order_acquire) == b->clk.gen)) {
			*ns = b->clk.ns +
			      (uint64_t)(((unsigned __int128)(t - b->clk.tsc) * b->clk.mult) >> 32);
			return 1;
		}
	}
#else
	(void)b;
	(void)ns;
#endif
	return 0;
}
/* CLOCK_MONOTONIC now in ns: the calibrated TSC where usable (producer.c "the clock"),
 * else clock_gettime through the vDSO; no syscall. */
static inline uint64_t gp_now_ns(void)
{
	uint64_t ns;

	return likely(gp_now_ns_try(gp_t_buf, &ns)) ? ns : gp_now_ns_slow();
}

/* gp_now_ns()'s time at TSC value `tsc` (an rdtsc of this host), on the same calibration
 * as every collector of the process; 0 while that clock does not run on the TSC (before
 * its first calibration, or where the TSC is not used).  Not inline: for cold paths. */
GP_HIDDEN uint64_t gp_tsc_ns(uint64_t tsc);

/* Flush the calling thread's buffer now (one send if non-empty). */
GP_HIDDEN void gp_flush_thread(void);
/* Flush every thread's buffer (flusher thread, exit, fatal signals). */
GP_HIDDEN void gp_flush_all(void);

/* Before an exec (detached 1, after gp_flush_all) and when it failed (0): the recorder
 * then does not look for this process's records in its thread buffers when the
 * connection ends (wire.h "Thread buffers"). */
GP_HIDDEN void gp_exec_detach(int detached);

/* Add to this connection's loss counters (reported in the next GP_REC_LOSS). */
GP_HIDDEN void gp_count_dropped(uint64_t records);
GP_HIDDEN void gp_count_cupti_loss(uint64_t dropped, uint64_t zero_timestamps);

/*
 * Capture ranges (wire.h, "The control page").
 *
 * gp_producer_init() maps the recorder's control page (GP_CONTROL_NAME next to
 * $GPROF_CLI_CHANNEL).  While the page says collecting = 0, gp_rec_begin() returns NULL
 * (not counted as a drop) for every record type except the state records
 * (gp_rec_is_state()).  Without a page the runtime behaves as capture mode none.
 */

/* gp_ctl (declared above): the mapped control page, or a process-local page with
 * collecting = 1 and mode none when the recorder has none (before gp_producer_init, and
 * when not under gprof-cli).  Never NULL. */

/* 1 while records are being collected.  Hot path (one load): collectors may test it
 * first to skip work (clock reads, interning) for records that would be refused. */
static inline int gp_collecting(void)
{
	return (int)__atomic_load_n(&gp_ctl->collecting, __ATOMIC_RELAXED);
}

/* The capture mode of the session (enum gp_capture_mode); GP_CAPTURE_NONE without page. */
static inline uint32_t gp_capture_mode(void)
{
	return gp_ctl->mode;
}

/*
 * Open a capture window at ts_ns (CLOCK_MONOTONIC ns, e.g. the gp_now_ns() of the
 * trigger; report times of the window start there).  Call it from the trigger
 * (cuProfilerStart for mode cudaProfilerApi, the -p range's push/start for nvtx).
 * Publishes win[k] in the page, then sets collecting = 1, then sends GP_REC_CAPTURE at
 * once (not buffered).  Returns the 0-based window index, or -1 when nothing changed:
 * not under gprof-cli, mode none, already collecting, the session is done (no more
 * ranges), or before the -y/--delay time.  Thread-safe; not async-signal-safe.
 */
GP_HIDDEN int gp_capture_start(uint64_t ts_ns, uint32_t reason);

/*
 * Close the open capture window at ts_ns (cuProfilerStop, the -p range's pop/end).
 * Sets win[k].stop, collecting = 0, `done` when no further range will be captured
 * (stop, stop-shutdown, repeat:N reached) and `shutdown` for stop-shutdown /
 * repeat-shutdown:N reached; then makes a flush request (increments the page's
 * flush_epoch and wakes every producer's flusher, this process's other library and other
 * processes included), flushes every thread buffer of this library and sends
 * GP_REC_FLUSH_ACK, sets `shutdown` when due, and sends GP_REC_CAPTURE.  The recorder
 * holds the shutdown notification until the other producers acknowledged the request
 * (wire.h "Flush requests"), so --kill sigkill loses none of the window's records.  With
 * --capture-range-end=none range ends are ignored (returns -1, keeps collecting).
 * Returns the closed window's index, or -1 when nothing changed.
 */
GP_HIDDEN int gp_capture_stop(uint64_t ts_ns, uint32_t reason);

/* Register a callback run at process exit / fatal signal before the final flush (e.g.
 * NVTX closes open ranges, CUDA flushes CUPTI buffers).  At most 8; in_signal is 1 when
 * called from a signal handler (only async-signal-safe work then). */
GP_HIDDEN void gp_at_shutdown(void (*fn)(int in_signal));

/* Register a callback run at the start of every flush request (a capture range ended:
 * wire.h "Flush requests"), before this library's thread buffers are flushed and the
 * GP_REC_FLUSH_ACK is sent.  Used by collectors that hold records outside the producer's
 * buffers (the cuda collector drains CUPTI's activity buffers here, so a range's GPU records
 * reach the recorder before a stop-shutdown kill).  Runs on the flusher thread or on the
 * thread that ended the range; never in a signal handler.  At most 4; duplicates ignored. */
GP_HIDDEN void gp_at_flush_request(void (*fn)(void));

/* The value of option `key` in $GPROF_CLI_OPTIONS ("key=value;key=value", written by
 * `gprof-cli profile`, cli/cmd_profile.c), copied into buf (size bytes, truncated and
 * always NUL-terminated); returns buf, or NULL when the key is absent.  Reads the
 * environment: call it at set-up, not on a record path. */
GP_HIDDEN const char *gp_option(const char *key, char *buf, size_t size);

/* Record a GP_REC_THREAD_NAME (-> ThreadNames): thread `tid` (OS thread id, gettid) is
 * named by string id `name_sid` (gp_intern).  Dropped like any record outside a capture
 * range or when the connection is down. */
GP_HIDDEN void gp_emit_thread_name(uint32_t tid, uint32_t name_sid);

/* Does $GPROF_CLI_TRACE (the -t list, comma-separated) name collector `name` ("cuda",
 * "gpu-metrics", ...)?  1 or 0; `dflt` when the variable is not set. */
GP_HIDDEN int gp_traced(const char *name, int dflt);

/* Register a callback run when collection may have switched on or off (gp_collecting()
 * changed): synchronously inside gp_capture_start() (after collecting = 1) and
 * gp_capture_stop() (after the flush request) of this library, and on the flusher thread,
 * at most one flush period late, for windows opened or closed by another process or
 * library.  The callback reads gp_collecting() itself and must be idempotent (it may run
 * more than once per change).  The cuda collector switches CUPTI's activity kinds here.
 * Not in a signal handler.  At most 4; duplicates ignored. */
GP_HIDDEN void gp_at_capture_change(void (*fn)(void));

/* Map `len` bytes of zeroed private anonymous memory with the raw mmap system call (so the
 * osrt collector never sees the profiler's own allocations as the app's mmap calls).
 * populate != 0 pre-faults the pages (MAP_POPULATE).  Returns NULL on failure.  Ownership:
 * the caller; the memory is never unmapped by the producer. */
GP_HIDDEN void *gp_map_anon(size_t len, int populate);

/*
 * Backtraces taken in the application's thread (the osrt collector's long calls,
 * --osrt-backtrace-threshold; the cuda collector's API calls, --cudabacktrace), as wire
 * frames (struct gp_osrt_frame, wire.h): the address, its offset from its module's load
 * address and the module's path as a string id, so that the recorder finds the symbols in
 * the files (core/report_symbols.h).
 *
 * gp_frame_of(): fills *out with the frame of code address `addr`; returns 0, or -1 (out
 * untouched) when dladdr() knows no module there.
 *
 * gp_backtrace(): the calling thread's return addresses, innermost first, with glibc's
 * backtrace() (libgcc's unwinder over the modules' .eh_frame: code without frame pointers
 * unwinds too); frames in the modules whose load addresses (dladdr's dli_fbase) are
 * skip[0..nskip) are left out (the collector's own library; CUPTI's); frames no module
 * holds are kept with module_sid 0.  Writes at most `max` frames to `out` and returns
 * their number.  Costs one unwind and a dladdr() per frame (µs): only on a cold path.
 * The first call in a process loads libgcc's unwinder (dlopen): make it at start-up, not
 * inside a traced call.
 */
struct gp_osrt_frame;
GP_HIDDEN int gp_frame_of(struct gp_osrt_frame *out, const void *addr);
GP_HIDDEN int gp_backtrace(struct gp_osrt_frame *out, int max, const void *const *skip, int nskip);

#endif
