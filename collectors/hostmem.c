/*
 * hostmem.c - the host memory collector (gprof-cli's own; nsys has none):
 * libgprof-hostmem.so, put first in LD_PRELOAD by `gprof-cli profile
 * --host-memory-usage=true`.  It interposes malloc, calloc, realloc, reallocarray, free,
 * posix_memalign, aligned_alloc, memalign, valloc, pvalloc, and mmap/mmap64/munmap/mremap
 * of anonymous memory, forwards each call to the next definition (RTLD_NEXT: glibc, or a
 * preloaded jemalloc/tcmalloc) and accounts for it (wire_hostmem.h).
 *
 * Why a library of its own (not a part of libgprof-osrt.so): the allocation hooks cost
 * every malloc of the application a call and some arithmetic; with their own library they
 * are loaded only when asked for, and -t osrt keeps its cost.  The library has its own
 * producer connection (GP_COLLECTOR_HOSTMEM).
 *
 * Accounting (every call, from the first one, also before the constructor ran):
 *   - a block counts its usable size (malloc_usable_size of the allocator that made it,
 *     asked right after the alloc and right before the free; an anonymous mapping its
 *     length rounded up to pages): the only size free() can learn without a table of every
 *     block, and the same at both ends, so the totals are exact.
 *   - per thread (a slot of a table in anonymous memory, reached through an initial-exec
 *     TLS pointer, no lock): call counts, bytes, the thread's current and peak.
 *   - per process: one atomic counter of bytes in use (fetch_add on alloc, fetch_sub on
 *     free), and the peak: a new maximum takes a small lock and stamps the time and the
 *     thread.  A free is subtracted before the block goes back to the allocator and an
 *     alloc added after it returned, so the counter never exceeds the bytes truly in use
 *     and its maximum is the exact peak of the calls in the order the counter saw them.
 * Recording: a call on a block of at least the threshold (--host-memory-threshold,
 * default 4096 bytes; requested size) appends one GP_REC_HOSTMEM_EVENT (time, thread,
 * address, sizes, the process's bytes in use after it, the caller's return address) and
 * puts the block into an address table (striped spin locks, open addressing); a free finds
 * whether its block was recorded there, only when its usable size reaches the threshold.
 * A block the table has no room for is counted (untracked) and its free not recorded.
 * Every 1024th call of a thread, at most once a millisecond per process, a
 * GP_REC_HOSTMEM_SAMPLE carries the process's bytes in use (the picture over time).  At
 * exit (gp_at_shutdown) one GP_REC_HOSTMEM_THREAD per thread slot and one
 * GP_REC_HOSTMEM_PROCESS.
 *
 * Safety:
 *   - dlsym bootstrap: until the real functions are resolved (dlsym itself calls calloc),
 *     allocations come from a static arena (a bump allocator, never freed; free() of an
 *     arena block does nothing, realloc() copies it out).
 *   - re-entrancy: the record path (the producer: buffer set-up, the flusher thread's
 *     pthread_create) may allocate; a thread-local busy flag turns the hooks into
 *     account-only pass-throughs while a record is written, so nothing recurses.
 *   - fork: the child keeps its parent's bytes in use (its heap is a copy) as its start,
 *     its peak starts there, its thread slots start at zero; with
 *     --trace-fork-before-exec=true it is reported as a process of its own.
 *   - other allocators: the mappings an allocator makes for its own heap (jemalloc and
 *     tcmalloc call mmap through the PLT; glibc's malloc does not) are not counted twice:
 *     an mmap, munmap or mremap made while the thread is inside one of the next
 *     allocator's functions (a thread-local depth around each forwarded call) is the
 *     allocator's and only forwarded.  Mappings an allocator makes from a thread of its
 *     own (jemalloc's background_thread, off by default) would count as the application's.
 */
#undef _FORTIFY_SOURCE

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "collectors/producer.h"

#define HM_EXPORT   __attribute__((visibility("default")))
#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define HM_TLS	    __attribute__((tls_model("initial-exec"))) __thread
#define HM_CALLER   ((uint64_t)(uintptr_t)__builtin_return_address(0))

/* ---- the next definitions ----------------------------------------------------------- */

struct hm_real {
	void *(*malloc)(size_t);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void *(*reallocarray)(void *, size_t, size_t);
	void (*free)(void *);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	void *(*memalign)(size_t, size_t);
	void *(*valloc)(size_t);
	void *(*pvalloc)(size_t);
	size_t (*usable)(void *);
	void *(*mmap)(void *, size_t, int, int, int, off_t);
	int (*munmap)(void *, size_t);
	void *(*mremap)(void *, size_t, size_t, int, ...);
};
static struct hm_real real;
static _Atomic int hm_resolved; /* 0 not yet, 1 in progress, 2 done */

/* The bootstrap arena: what is allocated while dlsym runs.  16-byte header (size). */
#define HM_ARENA_BYTES (256u << 10)
static _Alignas(64) unsigned char hm_arena[HM_ARENA_BYTES];
static _Atomic size_t hm_arena_used;

static inline int hm_in_arena(const void *p)
{
	return (const unsigned char *)p >= hm_arena &&
	       (const unsigned char *)p < hm_arena + HM_ARENA_BYTES;
}

static void *hm_arena_alloc(size_t n, size_t align)
{
	size_t a = align < 16 ? 16 : align, old, start, end;

	if (n > HM_ARENA_BYTES)
		return NULL;
	old = atomic_load(&hm_arena_used);
	do {
		start = (old + 16 + a - 1) & ~(a - 1);
		end = start + ((n + 15) & ~(size_t)15);
		if (end > HM_ARENA_BYTES)
			return NULL;
	} while (!atomic_compare_exchange_weak(&hm_arena_used, &old, end));
	memcpy(hm_arena + start - 16, &n, sizeof(n));
	return hm_arena + start; /* static memory: zero, never reused */
}

static size_t hm_arena_size(const void *p)
{
	size_t n;

	memcpy(&n, (const unsigned char *)p - 16, sizeof(n));
	return n;
}

static void *hm_sym(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

static size_t hm_no_usable(void *p)
{
	(void)p;
	return 0;
}

/* Resolve every next definition once.  Returns 1 when they are usable, 0 while the
 * resolution runs (the caller then uses the arena or the raw system call). */
static __attribute__((noinline, cold)) int hm_resolve(void)
{
	int st = 0;

	if (atomic_compare_exchange_strong(&hm_resolved, &st, 1)) {
		real.calloc = hm_sym("calloc");
		real.malloc = hm_sym("malloc");
		real.free = hm_sym("free");
		real.realloc = hm_sym("realloc");
		real.reallocarray = hm_sym("reallocarray");
		real.posix_memalign = hm_sym("posix_memalign");
		real.aligned_alloc = hm_sym("aligned_alloc");
		real.memalign = hm_sym("memalign");
		real.valloc = hm_sym("valloc");
		real.pvalloc = hm_sym("pvalloc");
		real.usable = hm_sym("malloc_usable_size");
		real.mmap = hm_sym("mmap");
		real.munmap = hm_sym("munmap");
		real.mremap = hm_sym("mremap");
		if (!real.usable) /* an allocator without it: nothing can be counted */
			real.usable = hm_no_usable;
		atomic_store(&hm_resolved, 2);
		return 1;
	}
	return st == 2;
}

#define HM_READY()                                                                                 \
	(likely(atomic_load_explicit(&hm_resolved, memory_order_acquire) == 2) || hm_resolve())

/* ---- accounting ---------------------------------------------------------------------- */

/*
 * The usable size of block p.  When the next malloc is glibc's (hm_init checks, after the
 * resolution: hm_glibc), read from the chunk header as glibc's malloc_usable_size does
 * for a block in use (malloc/malloc.c musable(): the chunk size less one size word, two
 * for an mmapped chunk; glibc built without memory tagging, as Debian's): the same value
 * without the call and without reading the next chunk's header.  Else the allocator's
 * malloc_usable_size.
 */
static int hm_glibc;
static inline uint64_t hm_usable_hdr(const void *p)
{
	size_t h = ((const size_t *)p)[-1], cs = h & ~(size_t)7;

	return (h & 2) ? cs - 2 * sizeof(size_t) : cs - sizeof(size_t);
}
static inline uint64_t hm_usable(void *p)
{
	if (likely(hm_glibc))
		return hm_usable_hdr(p);
	return real.usable(p);
}

/* One thread's counters (a slot of hm_slots). */
struct hm_thread {
	struct gp_hostmem_counts n;
	int64_t cur, peak;
	uint32_t tid;
	uint32_t calls;		     /* sample countdown */
	_Alignas(8) uint32_t shared; /* the overflow slot: updated with atomics */
	uint32_t pad;
};

#define HM_SLOTS 65536u
static struct hm_thread *hm_slots; /* HM_SLOTS + 1 (the last one is the overflow slot) */
static _Atomic uint32_t hm_nslots;
static HM_TLS struct hm_thread *hm_t;
static HM_TLS int hm_busy; /* inside the record path: account, do not record */
/* Inside the next allocator's malloc/free/...: its own mmap calls (jemalloc and tcmalloc
 * call mmap through the PLT for their heaps) are forwarded, not counted a second time. */
static HM_TLS int hm_inside;
static int hm_other_alloc = 1; /* 0 once hm_init found the next malloc to be glibc's */
#define HM_INSIDE(call)                                                                            \
	do {                                                                                       \
		if (likely(!hm_other_alloc)) {                                                     \
			call;                                                                      \
		} else {                                                                           \
			hm_inside++;                                                               \
			call;                                                                      \
			hm_inside--;                                                               \
		}                                                                                  \
	} while (0)

static _Alignas(64) _Atomic int64_t hm_cur;
static _Alignas(64) _Atomic int64_t hm_peak;
static uint64_t hm_peak_ns;
static uint32_t hm_peak_tid;
static _Atomic int hm_peak_lock;
static int64_t hm_start_bytes;
static _Atomic uint64_t hm_untracked;
static _Atomic uint64_t hm_last_sample_ns;

static int hm_on;	       /* recording: the producer is connected */
static uint64_t hm_thr = 4096; /* --host-memory-threshold (bytes) */

static uint32_t hm_gettid(void)
{
	return (uint32_t)syscall(SYS_gettid);
}

static __attribute__((noinline, cold)) struct hm_thread *hm_thread_slot(void)
{
	struct hm_thread *s = __atomic_load_n(&hm_slots, __ATOMIC_ACQUIRE);

	if (!s) {
		/* HM_SLOTS + 1 slots, touched as used; raw mmap: never our own hook */
		struct hm_thread *m = gp_map_anon((HM_SLOTS + 1) * sizeof(*m), 0), *exp = NULL;

		if (!m)
			return NULL;
		if (!__atomic_compare_exchange_n(&hm_slots, &exp, m, 0, __ATOMIC_ACQ_REL,
						 __ATOMIC_ACQUIRE))
			syscall(SYS_munmap, m, (HM_SLOTS + 1) * sizeof(*m));
		s = __atomic_load_n(&hm_slots, __ATOMIC_ACQUIRE);
	}
	uint32_t i = atomic_fetch_add(&hm_nslots, 1);
	if (i >= HM_SLOTS) {
		atomic_store(&hm_nslots, HM_SLOTS);
		s[HM_SLOTS].shared = 1;
		hm_t = &s[HM_SLOTS];
	} else {
		s[i].tid = hm_gettid();
		hm_t = &s[i];
	}
	hm_t->calls = 1024;
	return hm_t;
}

static __attribute__((noinline, cold)) void hm_new_peak(int64_t c)
{
	while (atomic_exchange_explicit(&hm_peak_lock, 1, memory_order_acquire))
		;
	if (c > atomic_load_explicit(&hm_peak, memory_order_relaxed)) {
		atomic_store_explicit(&hm_peak, c, memory_order_relaxed);
		hm_peak_ns = gp_now_ns();
		hm_peak_tid = hm_t && hm_t->tid ? hm_t->tid : hm_gettid();
	}
	atomic_store_explicit(&hm_peak_lock, 0, memory_order_release);
}

static inline void hm_add_shared(uint64_t *p, uint64_t v)
{
	__atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}

static __attribute__((noinline, cold)) void hm_sample(void);

/* Count an alloc of u usable bytes (rec: it is recorded); returns the process's bytes in
 * use after it. */
static inline int64_t hm_count_alloc(uint64_t u, int rec)
{
	struct hm_thread *t = hm_t;

	if (unlikely(!t) && !(t = hm_thread_slot()))
		return atomic_fetch_add_explicit(&hm_cur, (int64_t)u, memory_order_relaxed) +
		       (int64_t)u;
	if (likely(!t->shared)) {
		t->n.allocs++;
		t->n.alloc_bytes += u;
		if (unlikely(rec)) {
			t->n.rec_allocs++;
			t->n.rec_alloc_bytes += u;
		}
		t->cur += (int64_t)u;
		if (t->cur > t->peak)
			t->peak = t->cur;
	} else {
		hm_add_shared(&t->n.allocs, 1);
		hm_add_shared(&t->n.alloc_bytes, u);
		if (rec) {
			hm_add_shared(&t->n.rec_allocs, 1);
			hm_add_shared(&t->n.rec_alloc_bytes, u);
		}
		hm_add_shared((uint64_t *)&t->cur, u);
	}
	int64_t c =
	    atomic_fetch_add_explicit(&hm_cur, (int64_t)u, memory_order_relaxed) + (int64_t)u;
	if (unlikely(c > atomic_load_explicit(&hm_peak, memory_order_relaxed)))
		hm_new_peak(c);
	if (unlikely(--t->calls == 0)) {
		t->calls = 1024;
		hm_sample();
	}
	return c;
}

/* Count a free of u usable bytes; returns the process's bytes in use after it. */
static inline int64_t hm_count_free(uint64_t u, int rec)
{
	struct hm_thread *t = hm_t;

	if (unlikely(!t) && !(t = hm_thread_slot()))
		return atomic_fetch_sub_explicit(&hm_cur, (int64_t)u, memory_order_relaxed) -
		       (int64_t)u;
	if (likely(!t->shared)) {
		t->n.frees++;
		t->n.free_bytes += u;
		if (unlikely(rec)) {
			t->n.rec_frees++;
			t->n.rec_free_bytes += u;
		}
		t->cur -= (int64_t)u;
	} else {
		hm_add_shared(&t->n.frees, 1);
		hm_add_shared(&t->n.free_bytes, u);
		if (rec) {
			hm_add_shared(&t->n.rec_frees, 1);
			hm_add_shared(&t->n.rec_free_bytes, u);
		}
		hm_add_shared((uint64_t *)&t->cur, (uint64_t) - (int64_t)u);
	}
	return atomic_fetch_sub_explicit(&hm_cur, (int64_t)u, memory_order_relaxed) - (int64_t)u;
}

/* ---- the address table of recorded blocks ---------------------------------------------- */

#define HM_STRIPES     64u
#define HM_STRIPE_ENTS 8192u /* a power of two; 16 bytes each */

struct hm_ent {
	uint64_t addr; /* 0: empty */
	uint64_t size; /* requested bytes */
};
struct hm_stripe {
	_Atomic int lock;
	uint32_t used;
	struct hm_ent *ents;
};
static struct hm_stripe hm_tab[HM_STRIPES];
static struct hm_ent *hm_tab_mem;

static inline uint64_t hm_hash(uint64_t a)
{
	a ^= a >> 33;
	a *= 0xff51afd7ed558ccdull;
	a ^= a >> 33;
	return a;
}

static struct hm_stripe *hm_stripe_lock(uint64_t addr, uint64_t *h)
{
	struct hm_stripe *s;

	*h = hm_hash(addr);
	s = &hm_tab[*h % HM_STRIPES];
	while (atomic_exchange_explicit(&s->lock, 1, memory_order_acquire))
		;
	if (!s->ents) {
		struct hm_ent *m = __atomic_load_n(&hm_tab_mem, __ATOMIC_ACQUIRE);
		const size_t bytes = (size_t)HM_STRIPES * HM_STRIPE_ENTS * sizeof(struct hm_ent);

		if (!m) { /* one mapping for every stripe, touched as used */
			struct hm_ent *exp = NULL;

			m = gp_map_anon(bytes, 0);
			if (m && !__atomic_compare_exchange_n(&hm_tab_mem, &exp, m, 0,
							      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
				syscall(SYS_munmap, m, bytes);
				m = exp;
			}
		}
		if (m)
			s->ents = m + (size_t)(s - hm_tab) * HM_STRIPE_ENTS;
	}
	return s;
}

static inline void hm_stripe_unlock(struct hm_stripe *s)
{
	atomic_store_explicit(&s->lock, 0, memory_order_release);
}

/* Remember recorded block addr (size asked for); 0, or -1 when there is no room. */
static int hm_tab_put(uint64_t addr, uint64_t size)
{
	uint64_t h;
	struct hm_stripe *s = hm_stripe_lock(addr, &h);
	int rc = -1;

	if (s->ents && s->used < HM_STRIPE_ENTS * 3 / 4) {
		uint32_t i = (uint32_t)(h >> 6) & (HM_STRIPE_ENTS - 1);

		while (s->ents[i].addr && s->ents[i].addr != addr)
			i = (i + 1) & (HM_STRIPE_ENTS - 1);
		if (!s->ents[i].addr)
			s->used++;
		s->ents[i].addr = addr;
		s->ents[i].size = size;
		rc = 0;
	}
	hm_stripe_unlock(s);
	return rc;
}

/* Forget block addr; returns 1 and its size when it was recorded, else 0.  Backward-shift
 * deletion keeps every probe chain whole without tombstones. */
static int hm_tab_take(uint64_t addr, uint64_t *size)
{
	uint64_t h;
	struct hm_stripe *s = hm_stripe_lock(addr, &h);
	const uint32_t mask = HM_STRIPE_ENTS - 1;
	int found = 0;

	if (s->ents) {
		uint32_t i = (uint32_t)(h >> 6) & mask;

		while (s->ents[i].addr && s->ents[i].addr != addr)
			i = (i + 1) & mask;
		if (s->ents[i].addr == addr && addr) {
			*size = s->ents[i].size;
			found = 1;
			s->used--;
			for (uint32_t j = (i + 1) & mask; s->ents[j].addr; j = (j + 1) & mask) {
				uint32_t home = (uint32_t)(hm_hash(s->ents[j].addr) >> 6) & mask;
				/* move j back into the hole i when its home is not in (i, j] */
				if (((j - home) & mask) >= ((j - i) & mask)) {
					s->ents[i] = s->ents[j];
					i = j;
				}
			}
			s->ents[i].addr = 0;
		}
	}
	hm_stripe_unlock(s);
	return found;
}

/* ---- records ----------------------------------------------------------------------------- */

static __attribute__((noinline, cold)) void hm_emit(int op, int fn, uint64_t addr, uint64_t size,
						    uint64_t usable, int64_t cur, uint64_t caller)
{
	struct gp_rec_hostmem_event *r;

	r = gp_rec_begin(GP_REC_HOSTMEM_EVENT, sizeof(*r));
	if (r) {
		r->ts_ns = gp_now_ns();
		r->addr = addr;
		r->size = size;
		r->usable = usable;
		r->process_bytes = cur;
		r->caller = caller;
		r->op = (uint16_t)op;
		r->fn = (uint16_t)fn;
		r->pad = 0;
		gp_rec_commit(r);
	}
}

/* An alloc of n bytes asked for (usable u) at p was counted; record it when it is at least
 * the threshold.  Returns 1 when it was recorded (the block is in the table). */
static __attribute__((noinline, cold)) void hm_record_alloc(void *p, uint64_t n, uint64_t u,
							    int64_t cur, int fn, uint64_t caller)
{
	int saved = errno;

	hm_busy = 1;
	if (hm_tab_put((uint64_t)(uintptr_t)p, n) == 0)
		hm_emit(GP_HOSTMEM_OP_ALLOC, fn, (uint64_t)(uintptr_t)p, n, u, cur, caller);
	else
		atomic_fetch_add_explicit(&hm_untracked, 1, memory_order_relaxed);
	hm_busy = 0;
	errno = saved;
}

static __attribute__((noinline, cold)) void hm_record_free(uint64_t addr, uint64_t size, uint64_t u,
							   int64_t cur, int fn, uint64_t caller)
{
	int saved = errno;

	hm_busy = 1;
	hm_emit(GP_HOSTMEM_OP_FREE, fn, addr, size, u, cur, caller);
	hm_busy = 0;
	errno = saved;
}

static __attribute__((noinline, cold)) void hm_sample(void)
{
	uint64_t now, last;

	if (!hm_on || hm_busy || !gp_collecting())
		return;
	now = gp_now_ns();
	last = atomic_load_explicit(&hm_last_sample_ns, memory_order_relaxed);
	if (now - last < 1000000 || !atomic_compare_exchange_strong(&hm_last_sample_ns, &last, now))
		return;
	int saved = errno;
	hm_busy = 1;
	struct gp_rec_hostmem_sample *r = gp_rec_begin(GP_REC_HOSTMEM_SAMPLE, sizeof(*r));
	if (r) {
		r->ts_ns = now;
		r->process_bytes = atomic_load_explicit(&hm_cur, memory_order_relaxed);
		r->peak_bytes = atomic_load_explicit(&hm_peak, memory_order_relaxed);
		gp_rec_commit(r);
	}
	hm_busy = 0;
	errno = saved;
}

/* The common end of every allocating hook: p came back for n bytes asked for. */
static inline void hm_on_alloc(void *p, size_t n, int fn, uint64_t caller)
{
	uint64_t u = hm_usable(p);
	int rec = n >= hm_thr && hm_on && !hm_busy;
	int64_t c = hm_count_alloc(u, rec);

	if (unlikely(rec))
		hm_record_alloc(p, n, u, c, fn, caller);
}

/* Before p goes back to the allocator (p not NULL, not in the arena). */
static inline void hm_on_free(void *p, int fn, uint64_t caller)
{
	uint64_t u = hm_usable(p), size = 0;
	/* a recorded block leaves the table even when its free cannot be recorded now */
	int rec = u >= hm_thr && hm_on && hm_tab_take((uint64_t)(uintptr_t)p, &size) && !hm_busy;
	int64_t c = hm_count_free(u, rec);

	if (unlikely(rec))
		hm_record_free((uint64_t)(uintptr_t)p, size, u, c, fn, caller);
}

/* ---- the allocation hooks ------------------------------------------------------------------ */

HM_EXPORT void *malloc(size_t n)
{
	if (!HM_READY() || unlikely(!real.malloc))
		return hm_arena_alloc(n, 16);
	void *p;
	HM_INSIDE(p = real.malloc(n));
	if (likely(p != NULL))
		hm_on_alloc(p, n, GP_HOSTMEM_MALLOC, HM_CALLER);
	return p;
}

HM_EXPORT void free(void *p)
{
	if (unlikely(!p) || unlikely(hm_in_arena(p)))
		return;
	if (!HM_READY() || unlikely(!real.free))
		return; /* cannot happen: a block not from the arena came from the allocator */
	hm_on_free(p, GP_HOSTMEM_FREE, HM_CALLER);
	HM_INSIDE(real.free(p));
}

HM_EXPORT void *calloc(size_t n, size_t m)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, m, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	if (!HM_READY() || unlikely(!real.calloc))
		return hm_arena_alloc(bytes, 16);
	void *p;
	HM_INSIDE(p = real.calloc(n, m));
	if (likely(p != NULL))
		hm_on_alloc(p, bytes, GP_HOSTMEM_CALLOC, HM_CALLER);
	return p;
}

/* realloc and reallocarray: the old block is counted out before the call (and back in
 * when the call fails), the new one in after it. */
static void *hm_realloc(void *p, size_t n, int fn, uint64_t caller)
{
	if (p && hm_in_arena(p)) {
		void *q = malloc(n);
		size_t old = hm_arena_size(p);
		if (q)
			memcpy(q, p, old < n ? old : n);
		return q;
	}
	if (!HM_READY() || unlikely(!real.realloc))
		return hm_arena_alloc(n, 16);
	if (!p) {
		void *q;
		HM_INSIDE(q = real.realloc(NULL, n));
		if (q)
			hm_on_alloc(q, n, fn, caller);
		return q;
	}
	uint64_t u = hm_usable(p), size = 0;
	int rec = u >= hm_thr && hm_on && hm_tab_take((uint64_t)(uintptr_t)p, &size);
	void *q;
	HM_INSIDE(q = real.realloc(p, n));
	if (!q && n) {
		/* failed: the old block is still there */
		if (rec)
			hm_tab_put((uint64_t)(uintptr_t)p, size);
		return q;
	}
	int64_t c = hm_count_free(u, rec && !hm_busy);
	if (unlikely(rec) && !hm_busy)
		hm_record_free((uint64_t)(uintptr_t)p, size, u, c, fn, caller);
	if (q)
		hm_on_alloc(q, n, fn, caller);
	return q;
}

HM_EXPORT void *realloc(void *p, size_t n)
{
	return hm_realloc(p, n, GP_HOSTMEM_REALLOC, HM_CALLER);
}

HM_EXPORT void *reallocarray(void *p, size_t n, size_t m)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, m, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	return hm_realloc(p, bytes, GP_HOSTMEM_REALLOCARRAY, HM_CALLER);
}

HM_EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
	if (!HM_READY() || unlikely(!real.posix_memalign)) {
		*out = hm_arena_alloc(n, align);
		return *out ? 0 : ENOMEM;
	}
	int rc;
	HM_INSIDE(rc = real.posix_memalign(out, align, n));
	if (rc == 0 && *out)
		hm_on_alloc(*out, n, GP_HOSTMEM_POSIX_MEMALIGN, HM_CALLER);
	return rc;
}

/* aligned_alloc, memalign, valloc, pvalloc: the same shape. */
#define HM_ALIGNED_HOOK(name, FN, params, align, n, ...)                                           \
	HM_EXPORT void *name params                                                                \
	{                                                                                          \
		if (!HM_READY() || unlikely(!real.name))                                           \
			return hm_arena_alloc(n, align);                                           \
		void *p;                                                                           \
		HM_INSIDE(p = real.name(__VA_ARGS__));                                             \
		if (likely(p != NULL))                                                             \
			hm_on_alloc(p, n, FN, HM_CALLER);                                          \
		return p;                                                                          \
	}
HM_ALIGNED_HOOK(aligned_alloc, GP_HOSTMEM_ALIGNED_ALLOC, (size_t a, size_t n), a, n, a, n)
HM_ALIGNED_HOOK(memalign, GP_HOSTMEM_MEMALIGN, (size_t a, size_t n), a, n, a, n)
HM_ALIGNED_HOOK(valloc, GP_HOSTMEM_VALLOC, (size_t n), 4096, n, n)
HM_ALIGNED_HOOK(pvalloc, GP_HOSTMEM_PVALLOC, (size_t n), 4096, n, n)

/* ---- anonymous mappings ------------------------------------------------------------------ */

/*
 * The application's anonymous mappings that can be used (not PROT_NONE: a reservation made
 * usable later by mprotect is not counted; mprotect is not interposed), [addr, addr + len)
 * page-rounded, in a table under
 * one lock (mmap is a system call: the lock is small beside it).  munmap and mremap of a
 * part shrink or split an entry.  Mappings of every size are counted; those of at least
 * the threshold are recorded (and their unmappings).
 */
#define HM_MAPS 4096
struct hm_map {
	uint64_t addr, len;
	uint32_t rec; /* recorded */
};
static struct hm_map *hm_maps;
static uint32_t hm_nmaps;
static _Atomic int hm_maps_lock;
static long hm_page = 4096;

static void hm_maps_take(void)
{
	while (atomic_exchange_explicit(&hm_maps_lock, 1, memory_order_acquire))
		;
	if (!hm_maps)
		hm_maps = gp_map_anon(HM_MAPS * sizeof(*hm_maps), 0);
}

static void hm_maps_give(void)
{
	atomic_store_explicit(&hm_maps_lock, 0, memory_order_release);
}

static uint64_t hm_pages(uint64_t len)
{
	return (len + (uint64_t)hm_page - 1) & ~((uint64_t)hm_page - 1);
}

/* Count out [a, a + len) of the tracked mappings (lock held); fn names the call. */
static void hm_maps_remove(uint64_t a, uint64_t len, int fn, uint64_t caller)
{
	uint64_t e = a + hm_pages(len);

	for (uint32_t i = 0; hm_maps && i < hm_nmaps; i++) {
		struct hm_map *m = &hm_maps[i];
		uint64_t me = m->addr + m->len, lo = a > m->addr ? a : m->addr,
			 hi = e < me ? e : me;

		if (lo >= hi)
			continue;
		uint64_t cut = hi - lo;
		int rec = (int)m->rec && hm_on;
		if (lo > m->addr && hi < me) { /* the middle: split */
			if (hm_nmaps < HM_MAPS)
				hm_maps[hm_nmaps++] = (struct hm_map){hi, me - hi, m->rec};
			else
				atomic_fetch_add_explicit(&hm_untracked, 1, memory_order_relaxed);
			m->len = lo - m->addr;
		} else if (lo > m->addr) {
			m->len = lo - m->addr;
		} else if (hi < me) {
			m->addr = hi;
			m->len = me - hi;
		} else {
			*m = hm_maps[--hm_nmaps];
			i--;
		}
		int64_t c = hm_count_free(cut, rec && !hm_busy);
		if (rec && !hm_busy)
			hm_record_free(lo, cut, cut, c, fn, caller);
	}
}

static void hm_maps_add(uint64_t a, uint64_t len, int fn, uint64_t caller)
{
	uint64_t n = hm_pages(len);
	int rec = len >= hm_thr && hm_on && !hm_busy;

	if (hm_maps && hm_nmaps < HM_MAPS) {
		hm_maps[hm_nmaps++] = (struct hm_map){a, n, (uint32_t)rec};
	} else {
		atomic_fetch_add_explicit(&hm_untracked, 1, memory_order_relaxed);
		return; /* not counted: its munmap could not be matched */
	}
	int64_t c = hm_count_alloc(n, rec);
	if (rec) {
		int saved = errno;
		hm_busy = 1;
		hm_emit(GP_HOSTMEM_OP_ALLOC, fn, a, len, n, c, caller);
		hm_busy = 0;
		errno = saved;
	}
}

/* An mmap made by the allocator for its own heap (see hm_inside). */
static inline int hm_by_allocator(void)
{
	return hm_inside != 0;
}

static void *hm_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off,
		     uint64_t caller)
{
	void *p;

	if (!HM_READY() || unlikely(!real.mmap))
		return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
	p = real.mmap(addr, len, prot, flags, fd, off);
	/* an anonymous mapping that can be used (PROT_NONE reserves address space only: the
	 * CUDA driver reserves terabytes so); MAP_FIXED replaces what was there */
	int anon = (flags & MAP_ANONYMOUS) && prot != PROT_NONE;
	if (p != MAP_FAILED && (anon || (flags & MAP_FIXED)) && !hm_by_allocator()) {
		int saved = errno;
		hm_maps_take();
		if (flags & MAP_FIXED)
			hm_maps_remove((uint64_t)(uintptr_t)p, len, GP_HOSTMEM_MMAP, caller);
		if (anon)
			hm_maps_add((uint64_t)(uintptr_t)p, len, GP_HOSTMEM_MMAP, caller);
		hm_maps_give();
		errno = saved;
	}
	return p;
}

HM_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return hm_mmap(addr, len, prot, flags, fd, off, HM_CALLER);
}

HM_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return hm_mmap(addr, len, prot, flags, fd, off, HM_CALLER);
}

HM_EXPORT int munmap(void *addr, size_t len)
{
	uint64_t caller = HM_CALLER;

	if (!HM_READY() || unlikely(!real.munmap))
		return (int)syscall(SYS_munmap, addr, len);
	int rc = real.munmap(addr, len);
	if (rc == 0 && hm_nmaps && !hm_by_allocator()) {
		int saved = errno;
		hm_maps_take();
		hm_maps_remove((uint64_t)(uintptr_t)addr, len, GP_HOSTMEM_MUNMAP, caller);
		hm_maps_give();
		errno = saved;
	}
	return rc;
}

HM_EXPORT void *mremap(void *old, size_t oldlen, size_t newlen, int flags, ...)
{
	uint64_t caller = HM_CALLER;
	void *want = NULL, *p;
	va_list ap;

	if (flags & MREMAP_FIXED) {
		va_start(ap, flags);
		want = va_arg(ap, void *);
		va_end(ap);
	}
	if (!HM_READY() || unlikely(!real.mremap))
		return (void *)syscall(SYS_mremap, old, oldlen, newlen, flags, want);
	p = (flags & MREMAP_FIXED) ? real.mremap(old, oldlen, newlen, flags, want)
				   : real.mremap(old, oldlen, newlen, flags);
	if (p == MAP_FAILED || hm_by_allocator())
		return p;
	int saved = errno;
	hm_maps_take();
	for (uint32_t i = 0; i < hm_nmaps; i++)
		if (hm_maps[i].addr <= (uint64_t)(uintptr_t)old &&
		    (uint64_t)(uintptr_t)old < hm_maps[i].addr + hm_maps[i].len) {
			/* a tracked mapping moved or changed size: out at the old place (only
			 * the old length; MREMAP_DONTUNMAP keeps the old pages mapped), in at
			 * the new */
			if (!(flags & MREMAP_DONTUNMAP))
				hm_maps_remove((uint64_t)(uintptr_t)old, oldlen, GP_HOSTMEM_MREMAP,
					       caller);
			hm_maps_add((uint64_t)(uintptr_t)p, newlen, GP_HOSTMEM_MREMAP, caller);
			break;
		}
	hm_maps_give();
	errno = saved;
	return p;
}

/* ---- exit and fork --------------------------------------------------------------------- */

static void hm_shutdown(int in_signal)
{
	struct hm_thread *s = __atomic_load_n(&hm_slots, __ATOMIC_ACQUIRE);
	uint32_t n = atomic_load(&hm_nslots), threads = 0;
	struct gp_hostmem_counts tot = {0};

	/* the records go through this thread's buffer: not from a signal handler, where the
	 * interrupted code may hold it */
	if (in_signal || !hm_on)
		return;
	hm_busy = 1;
	for (uint32_t i = 0; s && i <= HM_SLOTS; i++) {
		if (i >= n && i != HM_SLOTS)
			continue;
		const struct hm_thread *t = &s[i];
		if (!t->n.allocs && !t->n.frees)
			continue;
		struct gp_rec_hostmem_thread *r = gp_rec_begin(GP_REC_HOSTMEM_THREAD, sizeof(*r));
		threads++;
		tot.allocs += t->n.allocs;
		tot.frees += t->n.frees;
		tot.alloc_bytes += t->n.alloc_bytes;
		tot.free_bytes += t->n.free_bytes;
		tot.rec_allocs += t->n.rec_allocs;
		tot.rec_frees += t->n.rec_frees;
		tot.rec_alloc_bytes += t->n.rec_alloc_bytes;
		tot.rec_free_bytes += t->n.rec_free_bytes;
		if (!r)
			continue;
		r->tid = i == HM_SLOTS ? 0 : t->tid;
		r->pad = 0;
		r->n = t->n;
		r->current = t->cur;
		r->peak = t->peak;
		gp_rec_commit(r);
	}
	struct gp_rec_hostmem_process *p = gp_rec_begin(GP_REC_HOSTMEM_PROCESS, sizeof(*p));
	if (p) {
		while (atomic_exchange_explicit(&hm_peak_lock, 1, memory_order_acquire))
			;
		p->ts_ns = gp_now_ns();
		p->threshold = hm_thr;
		p->current = atomic_load(&hm_cur);
		p->peak = atomic_load(&hm_peak);
		p->peak_ns = hm_peak_ns;
		p->peak_tid = hm_peak_tid;
		atomic_store_explicit(&hm_peak_lock, 0, memory_order_release);
		p->threads = threads;
		p->n = tot;
		p->untracked = atomic_load(&hm_untracked);
		p->start_bytes = (uint64_t)hm_start_bytes;
		gp_rec_commit(p);
	}
	hm_busy = 0;
}

static void hm_fork_child(void)
{
	struct hm_thread *s = hm_slots, *me = hm_t;
	uint32_t n = atomic_load(&hm_nslots);

	/* one thread now: the heap is the parent's copy, its bytes in use our start */
	if (s) {
		for (uint32_t i = 0; i < n && i < HM_SLOTS; i++)
			memset(&s[i], 0, sizeof(s[i]));
		memset(&s[HM_SLOTS], 0, sizeof(s[HM_SLOTS]));
	}
	atomic_store(&hm_nslots, 0);
	hm_t = NULL;
	(void)me;
	hm_start_bytes = atomic_load(&hm_cur);
	atomic_store(&hm_peak, hm_start_bytes);
	atomic_store(&hm_peak_lock, 0);
	atomic_store(&hm_untracked, 0);
	hm_peak_ns = gp_now_ns();
	hm_peak_tid = hm_gettid();
	for (unsigned i = 0; i < HM_STRIPES; i++)
		atomic_store(&hm_tab[i].lock, 0);
	atomic_store(&hm_maps_lock, 0);
	/* the producer (its own atfork handler) decides whether the child records
	 * (--trace-fork-before-exec); a child that does not keeps counting, unseen */
	hm_on = hm_on && gp_producer_active();
}

/* Is the next malloc glibc's (defined in libc.so.6, the same function as its
 * __libc_malloc)?  Then its usable sizes come from the chunk headers (hm_usable) and its
 * calls need no depth count (glibc's malloc makes its mmap calls inside libc, never
 * through our mmap).  Both switches change between two calls of one block only in a way
 * that gives the same value (hm_usable is malloc_usable_size's value). */
static void hm_check_glibc(void)
{
	Dl_info di;
	void *libc_malloc = dlsym(RTLD_DEFAULT, "__libc_malloc");

	if (!real.malloc || !real.usable || !libc_malloc || !dladdr((void *)real.malloc, &di) ||
	    !di.dli_fname || !strstr(di.dli_fname, "libc.so"))
		return;
	if (libc_malloc != (void *)real.malloc)
		return;
	/* check the header arithmetic against the real function once */
	void *a = real.malloc(24), *b = real.malloc(200000);
	int same =
	    a && b && hm_usable_hdr(a) == real.usable(a) && hm_usable_hdr(b) == real.usable(b);
	real.free(a);
	real.free(b);
	if (!same)
		return;
	hm_other_alloc = 0;
	hm_glibc = 1;
}

static __attribute__((constructor)) void hm_init(void)
{
	char v[64];

	if (!HM_READY())
		return;
	hm_page = sysconf(_SC_PAGESIZE) > 0 ? sysconf(_SC_PAGESIZE) : 4096;
	hm_check_glibc();
	if (gp_option("host-memory-threshold", v, sizeof(v))) {
		char *end;
		unsigned long long t = strtoull(v, &end, 10);
		if (*end == '\0')
			hm_thr = t;
	}
	if (!gp_option("host-memory-usage", v, sizeof(v)) || v[0] != '1')
		return; /* not asked for: count, record nothing */
	int up = gp_producer_init(GP_COLLECTOR_HOSTMEM) == 0;
	/* after the producer's: its child handler runs first, ours asks it whether the child
	 * records (handlers run in registration order) */
	pthread_atfork(NULL, NULL, hm_fork_child);
	if (!up)
		return;
	gp_at_shutdown(hm_shutdown);
	__atomic_store_n(&hm_on, 1, __ATOMIC_RELEASE);
}
