/*
 * nvtx.c - the NVTX collector: an NVTX3 injection (cupti-design.md section 6) that turns
 * NVTX calls into wire records (wire.h, GP_REC_NVTX_*) through the producer runtime.
 *
 * Handshake (nvtx3/nvtxDetail/nvtxInit.h, NVTX_LOAD_SEQUENCE_VERSION 2): every NVTX
 * instance in the process (one per DSO that includes the header-only NVTX3) dlopens
 * $NVTX_INJECTION64_PATH on its first NVTX call and calls InitializeInjectionNvtx2 with
 * its own export-table getter; each call fills that instance's CORE, CORE2, CUDA and
 * CUDART function tables with the same handlers, so all instances share one state.
 *
 * Push/pop ranges live on a per-thread, per-domain stack (NV_DEPTH deep; deeper pushes
 * are counted as dropped) and are emitted once, at the pop, with both times and the
 * nesting level.  Ranges still open when a thread exits or the process exits (a
 * gp_at_shutdown callback walks every thread's stacks) are emitted with GP_NVTX_OPEN and
 * end 0.  Start/end ranges get a process-wide id and emit GP_REC_NVTX_START at the start
 * and GP_REC_NVTX_END on whichever thread ends them; the recorder pairs them.
 *
 * Capture ranges (core/capture.h): while the control page says "not collecting",
 * pushes only keep the stack depth (an entry marked NV_SKIP: no clock read, no
 * interning), pops of such entries emit nothing, and marks/starts/ends return at once.
 * Under -c nvtx the push/start whose message and domain match -p (read from the page)
 * opens a window (gp_capture_start at its start time) and is marked NV_TRIG; its pop/end
 * emits the range and then closes the window (gp_capture_stop at its end time).  Matching
 * follows nsys (message@domain, message@*, message = default domain) but, unlike nsys's
 * default, matches plain ASCII/Unicode messages as well as registered strings: set
 * NSYS_NVTX_PROFILER_REGISTER_ONLY=1 in the application's environment for nsys's
 * registered-only behaviour.
 *
 * Handles: a domain handle is its small integer id (never dereferenced by NVTX, only
 * passed back), a registered string handle is the string's interned id, so neither
 * needs memory.  Wide (wchar_t, UTF-32 on Linux) strings are converted to UTF-8 in a
 * stack buffer.
 */
#define NVTX_NO_IMPL
#include <nvtx3/nvToolsExt.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <wchar.h>

#include "gpu_metrics.h"
#include "nvtx_emit.h"
#include "producer.h"

#define GP_EXPORT __attribute__((visibility("default")))

#define NV_DEPTH      256 /* push/pop levels kept per domain stack */
#define NV_STACKS     8	  /* domain stacks per thread (0 = default domain) */
#define NV_INLINE_MAX 64  /* longest default-domain message sent as text (gp_intern_once) */

struct nv_stack {
	uint64_t domain; /* 0 = default domain (stack 0) or a free slot (stacks 1..) */
	uint32_t depth;	 /* current depth, may exceed NV_DEPTH (those levels are dropped) */
	uint32_t pad;
	struct gp_nvtx_entry e[NV_DEPTH]; /* the open push/pop ranges */
};

/* One thread's NVTX state; mmap'd on its first NVTX call, reused after it exits. */
struct nv_thread {
	struct nv_thread *next;
	_Atomic int live;
	uint32_t tid;
	struct nv_stack st[NV_STACKS];
	/* the default domain's messages sent as text (GP_NVTX_TEXT_INLINE), per level:
	 * copied at the push, since the application may reuse its buffer before the pop */
	char itext[NV_DEPTH][NV_INLINE_MAX];
};

static __thread struct nv_thread *t_nv __attribute__((tls_model("initial-exec")));
static _Atomic(struct nv_thread *) g_threads;
static pthread_key_t g_nv_key;
static _Atomic int g_enabled; /* 1 on, -1 off (not traced / no recorder) */
static _Atomic uint64_t g_next_range = 1;

/* Internal entry flags (above the wire's GP_NVTX_* bits, masked off on the wire). */
#define NV_SKIP 0x4000u /* pushed outside a capture range: pop emits nothing */
#define NV_TRIG 0x8000u /* the -p range that opened the capture window */

/* -c nvtx: the pattern (from the control page) and matching state. */
static int g_trig_on;		      /* capture mode nvtx */
static int g_register_only;	      /* NSYS_NVTX_PROFILER_REGISTER_ONLY=1 */
static uint32_t g_pat_sid;	      /* string id of the pattern message (registered match) */
static _Atomic uint64_t g_trig_range; /* start/end range id that opened the window */

/* Decoded event attributes. */
struct nv_attr {
	uint32_t sid; /* message string id; with GP_NVTX_TEXT_INLINE the length of text */
	uint32_t category;
	uint32_t color;
	uint16_t flags;
	uint16_t ptype;
	uint64_t payload;
	const char *text; /* GP_NVTX_TEXT_INLINE: the application's message (push time only) */
};

/* ---- strings ------------------------------------------------------------------------- */

/* Convert a wide string to UTF-8 into buf (cap >= GP_STRING_MAX + 4); returns bytes. */
static size_t wide_to_utf8(const wchar_t *w, char *buf)
{
	size_t n = 0;
	for (; *w && n + 4 <= GP_STRING_MAX; w++) {
		uint32_t c = (uint32_t)*w;
		if (c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			c = 0xfffd;
		if (c < 0x80) {
			buf[n++] = (char)c;
		} else if (c < 0x800) {
			buf[n++] = (char)(0xc0 | (c >> 6));
			buf[n++] = (char)(0x80 | (c & 0x3f));
		} else if (c < 0x10000) {
			buf[n++] = (char)(0xe0 | (c >> 12));
			buf[n++] = (char)(0x80 | ((c >> 6) & 0x3f));
			buf[n++] = (char)(0x80 | (c & 0x3f));
		} else {
			buf[n++] = (char)(0xf0 | (c >> 18));
			buf[n++] = (char)(0x80 | ((c >> 12) & 0x3f));
			buf[n++] = (char)(0x80 | ((c >> 6) & 0x3f));
			buf[n++] = (char)(0x80 | (c & 0x3f));
		}
	}
	return n;
}

static uint32_t intern_w(const wchar_t *w)
{
	char buf[GP_STRING_MAX + 8];
	if (!w)
		return 0;
	return gp_intern_n(buf, wide_to_utf8(w, buf));
}

static inline uint32_t intern_a(const char *s)
{
	return s ? gp_intern(s) : 0;
}

/* Decode nvtxEventAttributes_t (checking size before reading, as nvToolsExt.h asks). */
static void decode_attr(const nvtxEventAttributes_t *a, struct nv_attr *o)
{
	memset(o, 0, sizeof(*o));
	if (!a || a->size < NVTX_EVENT_ATTRIB_STRUCT_SIZE)
		return;
	o->category = a->category;
	if (a->colorType == NVTX_COLOR_ARGB) {
		o->flags |= GP_NVTX_HAS_COLOR;
		o->color = a->color;
	}
	if (a->payloadType >= NVTX_PAYLOAD_TYPE_UNSIGNED_INT64 &&
	    a->payloadType <= NVTX_PAYLOAD_TYPE_FLOAT) {
		/* nvtxPayloadType_t values equal enum gp_nvtx_payload */
		o->ptype = (uint16_t)a->payloadType;
		switch (a->payloadType) {
		case NVTX_PAYLOAD_TYPE_UNSIGNED_INT32:
		case NVTX_PAYLOAD_TYPE_INT32:
		case NVTX_PAYLOAD_TYPE_FLOAT:
			o->payload = 0;
			memcpy(&o->payload, &a->payload, 4);
			break;
		default:
			memcpy(&o->payload, &a->payload, 8);
			break;
		}
	}
	switch (a->messageType) {
	case NVTX_MESSAGE_TYPE_ASCII:
		o->sid = intern_a(a->message.ascii);
		break;
	case NVTX_MESSAGE_TYPE_UNICODE:
		o->sid = intern_w(a->message.unicode);
		break;
	case NVTX_MESSAGE_TYPE_REGISTERED:
		o->sid = (uint32_t)(uintptr_t)a->message.registered;
		if (o->sid)
			o->flags |= GP_NVTX_TEXT_REGISTERED;
		break;
	default:
		break;
	}
}

/* ---- per-thread state ------------------------------------------------------------------ */

/* Emit every range still open on t (as GP_NVTX_OPEN, end 0) and empty its stacks. */
static void close_open_ranges(struct nv_thread *t)
{
	for (int s = 0; s < NV_STACKS; s++) {
		struct nv_stack *st = &t->st[s];
		uint32_t d = st->depth < NV_DEPTH ? st->depth : NV_DEPTH;
		for (uint32_t i = 0; i < d; i++) {
			struct gp_nvtx_entry e = st->e[i];
			if (e.flags & NV_SKIP)
				continue;
			e.flags |= GP_NVTX_OPEN;
			gp_nvtx_emit(GP_REC_NVTX_EVENT, &e, 0, st->domain, 0, i, t->tid);
		}
		st->depth = 0;
		if (s)
			st->domain = 0;
	}
}

static void nv_thread_exit(void *arg)
{
	struct nv_thread *t = arg;
	if (!t)
		return;
	close_open_ranges(t);
	if (t_nv == t)
		t_nv = NULL;
	atomic_store_explicit(&t->live, 0, memory_order_release);
}

static void nv_shutdown(int in_signal)
{
	(void)in_signal;
	for (struct nv_thread *t = atomic_load(&g_threads); t; t = t->next)
		if (atomic_load_explicit(&t->live, memory_order_acquire))
			close_open_ranges(t);
}

static __attribute__((noinline)) struct nv_thread *nv_thread_setup(void)
{
	struct nv_thread *t;
	if (atomic_load_explicit(&g_enabled, memory_order_relaxed) != 1)
		return NULL;
	for (t = atomic_load(&g_threads); t; t = t->next) {
		int z = 0;
		if (atomic_load_explicit(&t->live, memory_order_relaxed) == 0 &&
		    atomic_compare_exchange_strong(&t->live, &z, 1))
			break;
	}
	if (!t) {
		void *m = gp_map_anon(sizeof(*t), 0);
		if (!m) {
			gp_count_dropped(1);
			return NULL;
		}
		t = m;
		atomic_store(&t->live, 1);
		struct nv_thread *head = atomic_load(&g_threads);
		do
			t->next = head;
		while (!atomic_compare_exchange_weak(&g_threads, &head, t));
	}
	for (int s = 0; s < NV_STACKS; s++) {
		t->st[s].depth = 0;
		t->st[s].domain = 0;
	}
	t->tid = gp_tid();
	t_nv = t;
	pthread_setspecific(g_nv_key, t);
	return t;
}

static inline struct nv_thread *nvt(void)
{
	struct nv_thread *t = t_nv;
	if (likely(t))
		return t;
	return nv_thread_setup();
}

/* The stack of `domain` on t; create: claim a free slot when there is none yet. */
static inline struct nv_stack *stack_of(struct nv_thread *t, uint64_t domain, int create)
{
	if (likely(domain == 0))
		return &t->st[0];
	struct nv_stack *free_slot = NULL;
	for (int s = 1; s < NV_STACKS; s++) {
		if (t->st[s].domain == domain)
			return &t->st[s];
		if (!free_slot && (t->st[s].domain == 0 || t->st[s].depth == 0))
			free_slot = &t->st[s];
	}
	if (!create || !free_slot)
		return NULL;
	free_slot->domain = domain;
	free_slot->depth = 0;
	return free_slot;
}

/* ---- push/pop, start/end, marks ------------------------------------------------------ */

/* Push outside a capture range: keep the depth only. */
static int push_skip(uint64_t domain)
{
	struct nv_thread *t = nvt();
	if (unlikely(!t))
		return NVTX_NO_PUSH_POP_TRACKING;
	struct nv_stack *st = stack_of(t, domain, 1);
	if (unlikely(!st))
		return NVTX_NO_PUSH_POP_TRACKING;
	uint32_t d = st->depth++;
	if (likely(d < NV_DEPTH))
		st->e[d].flags = NV_SKIP;
	return (int)d;
}

static inline int push_at(uint64_t domain, const struct nv_attr *a, uint64_t ts, uint16_t trig);

static inline int push(uint64_t domain, const struct nv_attr *a)
{
	return push_at(domain, a, 0, 0);
}

static inline int push_at(uint64_t domain, const struct nv_attr *a, uint64_t ts, uint16_t trig)
{
	struct nv_thread *t = nvt();
	if (unlikely(!t))
		return NVTX_NO_PUSH_POP_TRACKING;
	struct nv_stack *st = stack_of(t, domain, 1);
	if (unlikely(!st)) {
		gp_count_dropped(1);
		return NVTX_NO_PUSH_POP_TRACKING;
	}
	uint32_t d = st->depth++;
	if (likely(d < NV_DEPTH)) {
		struct gp_nvtx_entry *e = &st->e[d];
		e->sid = a->sid;
		e->category = a->category;
		e->color = a->color;
		e->flags = (uint16_t)(a->flags | GP_NVTX_PUSHPOP | trig);
		e->ptype = a->ptype;
		e->payload = a->payload;
		if (unlikely(a->flags & GP_NVTX_TEXT_INLINE)) { /* (domain 0 only: take_msg) */
			memcpy(t->itext[d], a->text, a->sid);
			e->text = t->itext[d];
		}
		e->start_ns = ts ? ts : gp_now_ns();
	} else {
		gp_count_dropped(1);
	}
	return (int)d;
}

static inline int pop(uint64_t domain)
{
	struct nv_thread *t = nvt();
	if (unlikely(!t))
		return NVTX_NO_PUSH_POP_TRACKING;
	struct nv_stack *st = stack_of(t, domain, 0);
	if (unlikely(!st || st->depth == 0))
		return -1; /* pop without push */
	uint32_t d = --st->depth;
	if (likely(d < NV_DEPTH)) {
		struct gp_nvtx_entry *e = &st->e[d];
		if (unlikely(e->flags & (NV_SKIP | NV_TRIG))) {
			if (e->flags & NV_SKIP)
				return (int)d;
		}
		uint64_t end = gp_now_ns();
		if (unlikely(end < e->start_ns)) /* clock switch-over noise */
			end = e->start_ns;
		gp_nvtx_emit(GP_REC_NVTX_EVENT, e, end, domain, 0, d, 0);
		if (unlikely(e->flags & NV_TRIG))
			gp_capture_stop(end, GP_CAPTURE_REASON_NVTX);
	}
	return (int)d;
}

/* ---- capture triggers (-c nvtx -p) ----------------------------------------------------- */

/* Does `domain` (0 = default) match the pattern's domain part? */
static int trig_domain(uint64_t domain);

/* Is this message (one of ascii, wide, registered id) in `domain` the -p range?  Only
 * asked outside a capture range. */
static int is_trigger(uint64_t domain, const char *ascii, const wchar_t *wide, uint32_t reg)
{
	if (!g_trig_on || atomic_load_explicit(&gp_ctl->done, memory_order_relaxed) ||
	    !trig_domain(domain))
		return 0;
	if (reg)
		return reg == g_pat_sid;
	if (g_register_only)
		return 0;
	if (ascii)
		return strcmp(ascii, gp_ctl->nvtx_message) == 0;
	if (wide) {
		char buf[GP_STRING_MAX + 8];
		size_t n = wide_to_utf8(wide, buf);
		buf[n] = '\0';
		return strcmp(buf, gp_ctl->nvtx_message) == 0;
	}
	return 0;
}

static int attr_is_trigger(uint64_t domain, const nvtxEventAttributes_t *a)
{
	if (!g_trig_on || !a || a->size < NVTX_EVENT_ATTRIB_STRUCT_SIZE)
		return 0;
	switch (a->messageType) {
	case NVTX_MESSAGE_TYPE_ASCII:
		return a->message.ascii && is_trigger(domain, a->message.ascii, NULL, 0);
	case NVTX_MESSAGE_TYPE_UNICODE:
		return a->message.unicode && is_trigger(domain, NULL, a->message.unicode, 0);
	case NVTX_MESSAGE_TYPE_REGISTERED:
		return a->message.registered &&
		       is_trigger(domain, NULL, NULL, (uint32_t)(uintptr_t)a->message.registered);
	default:
		return 0;
	}
}

/* ---- push, start, mark: the A, W and Ex forms funnel into one place each ------------- */

/* Which form the handler's message argument has. */
enum nv_form { NV_ASCII, NV_WIDE, NV_ATTR };

/* Decode msg (a const char *, const wchar_t * or nvtxEventAttributes_t * by form) in
 * domain into *a.  Outside a capture range (off) only when it is the -p range: returns
 * whether it is, leaving *a unset when not.  once (push of the default domain): an ASCII
 * message this thread has not seen before comes back as text (GP_NVTX_TEXT_INLINE,
 * gp_intern_once) instead of being interned.  Always inlined with a constant form, so
 * each handler keeps only its own branch (the hot path is as before the funnel). */
static inline __attribute__((always_inline)) int
take_msg(enum nv_form form, const void *msg, uint64_t domain, int off, struct nv_attr *a, int once)
{
	if (off) {
		int trig = form == NV_ATTR    ? attr_is_trigger(domain, msg)
			   : form == NV_ASCII ? msg && is_trigger(domain, msg, NULL, 0)
					      : msg && is_trigger(domain, NULL, msg, 0);
		if (!trig)
			return 0;
	}
	if (form == NV_ATTR) {
		decode_attr(msg, a);
	} else if (form == NV_ASCII && once) { /* a message seen once goes as text */
		size_t n;

		*a = (struct nv_attr){.sid = gp_intern_once(msg, NV_INLINE_MAX, &n)};
		if (n) {
			a->sid = (uint32_t)n;
			a->flags = GP_NVTX_TEXT_INLINE;
			a->text = msg;
		}
	} else {
		*a = (struct nv_attr){.sid = form == NV_ASCII ? intern_a(msg) : intern_w(msg)};
	}
	return 1;
}

/* The entry of a range with attributes a, started at start_ns. */
static inline struct gp_nvtx_entry entry_of(const struct nv_attr *a, uint64_t start_ns)
{
	return (struct gp_nvtx_entry){.start_ns = start_ns,
				      .sid = a->sid,
				      .category = a->category,
				      .color = a->color,
				      .flags = a->flags,
				      .ptype = a->ptype,
				      .payload = a->payload};
}

/* A push outside a capture range: open the window when it is the -p range. */
static __attribute__((noinline)) int push_off(uint64_t domain, int trigger, const struct nv_attr *a)
{
	if (!trigger)
		return push_skip(domain);
	uint64_t ts = gp_now_ns();
	if (gp_capture_start(ts, GP_CAPTURE_REASON_NVTX) >= 0)
		return push_at(domain, a, ts, NV_TRIG);
	return gp_collecting() ? push_at(domain, a, 0, 0) : push_skip(domain);
}

/* --gpu-metrics-ranges=nvtx: open a CUPTI user range for this push (gpu_range.c). */
static __attribute__((noinline)) void range_push(enum nv_form form, const void *msg)
{
	struct nv_attr a = {0};
	if (form == NV_ATTR)
		decode_attr(msg, &a);
	else if (msg)
		a.sid = form == NV_ASCII ? intern_a(msg) : intern_w(msg);
	gp_range_nvtx_push(a.sid);
}

static inline __attribute__((always_inline)) int push_msg(enum nv_form form, const void *msg,
							  uint64_t domain)
{
	struct nv_attr a;
	if (unlikely(gp_range_nvtx_on))
		range_push(form, msg);
	if (unlikely(!gp_collecting()))
		return push_off(domain, take_msg(form, msg, domain, 1, &a, 0), &a);
	take_msg(form, msg, domain, 0, &a, domain == 0);
	return push(domain, &a);
}

static int NVTX_API push_a(const char *msg)
{
	return push_msg(NV_ASCII, msg, 0);
}

static int NVTX_API push_w(const wchar_t *msg)
{
	return push_msg(NV_WIDE, msg, 0);
}

static int NVTX_API push_ex(const nvtxEventAttributes_t *attr)
{
	return push_msg(NV_ATTR, attr, 0);
}

static int NVTX_API dom_push_ex(nvtxDomainHandle_t dom, const nvtxEventAttributes_t *attr)
{
	return push_msg(NV_ATTR, attr, (uintptr_t)dom);
}

static int NVTX_API pop0(void)
{
	if (unlikely(gp_range_nvtx_on))
		gp_range_nvtx_pop();
	return pop(0);
}

static int NVTX_API dom_pop(nvtxDomainHandle_t dom)
{
	if (unlikely(gp_range_nvtx_on))
		gp_range_nvtx_pop();
	return pop((uintptr_t)dom);
}

/* A start outside a capture range: open the window when it is the -p range; else an
 * id that records nothing. */
static __attribute__((noinline)) nvtxRangeId_t start_off(uint64_t domain, int trigger,
							 const struct nv_attr *a)
{
	uint64_t id = atomic_fetch_add_explicit(&g_next_range, 1, memory_order_relaxed);
	if (!trigger)
		return id;
	struct gp_nvtx_entry e = entry_of(a, gp_now_ns());
	if (gp_capture_start(e.start_ns, GP_CAPTURE_REASON_NVTX) < 0 && !gp_collecting())
		return id;
	atomic_store(&g_trig_range, id);
	gp_nvtx_emit(GP_REC_NVTX_START, &e, 0, domain, id, 0, 0);
	return id;
}

static nvtxRangeId_t start(uint64_t domain, const struct nv_attr *a)
{
	uint64_t id = atomic_fetch_add_explicit(&g_next_range, 1, memory_order_relaxed);
	struct gp_nvtx_entry e = entry_of(a, gp_now_ns());
	gp_nvtx_emit(GP_REC_NVTX_START, &e, 0, domain, id, 0, 0);
	return id;
}

static inline __attribute__((always_inline)) nvtxRangeId_t
start_msg(enum nv_form form, const void *msg, uint64_t domain)
{
	struct nv_attr a;
	if (unlikely(!gp_collecting()))
		return start_off(domain, take_msg(form, msg, domain, 1, &a, 0), &a);
	take_msg(form, msg, domain, 0, &a, 0);
	return start(domain, &a);
}

static nvtxRangeId_t NVTX_API start_a(const char *msg)
{
	return start_msg(NV_ASCII, msg, 0);
}

static nvtxRangeId_t NVTX_API start_w(const wchar_t *msg)
{
	return start_msg(NV_WIDE, msg, 0);
}

static nvtxRangeId_t NVTX_API start_ex(const nvtxEventAttributes_t *attr)
{
	return start_msg(NV_ATTR, attr, 0);
}

static nvtxRangeId_t NVTX_API dom_start_ex(nvtxDomainHandle_t dom,
					   const nvtxEventAttributes_t *attr)
{
	return start_msg(NV_ATTR, attr, (uintptr_t)dom);
}

static void end_range(nvtxRangeId_t id)
{
	if (!id)
		return;
	int trig = unlikely(atomic_load_explicit(&g_trig_range, memory_order_relaxed) == id);
	if (!trig && unlikely(!gp_collecting()))
		return;
	uint64_t now = gp_now_ns();
	struct gp_rec_nvtx_end *r = gp_rec_begin(GP_REC_NVTX_END, sizeof(*r));
	if (r) {
		r->end_ns = now;
		r->range_id = id;
		gp_rec_commit(r);
	}
	if (trig) {
		uint64_t want = id;
		if (atomic_compare_exchange_strong(&g_trig_range, &want, 0))
			gp_capture_stop(now, GP_CAPTURE_REASON_NVTX);
	}
}

static void NVTX_API end0(nvtxRangeId_t id)
{
	end_range(id);
}

static void NVTX_API dom_end(nvtxDomainHandle_t dom, nvtxRangeId_t id)
{
	(void)dom;
	end_range(id);
}

static inline __attribute__((always_inline)) void mark_msg(enum nv_form form, const void *msg,
							   uint64_t domain)
{
	if (unlikely(!gp_collecting()))
		return;
	struct nv_attr a;
	take_msg(form, msg, domain, 0, &a, 0);
	if (unlikely(!gp_collecting())) /* the window closed meanwhile */
		return;
	struct gp_nvtx_entry e = entry_of(&a, gp_now_ns());
	gp_nvtx_emit(GP_REC_NVTX_EVENT, &e, e.start_ns, domain, 0, 0, 0);
}

static void NVTX_API mark_a(const char *msg)
{
	mark_msg(NV_ASCII, msg, 0);
}

static void NVTX_API mark_w(const wchar_t *msg)
{
	mark_msg(NV_WIDE, msg, 0);
}

static void NVTX_API mark_ex(const nvtxEventAttributes_t *attr)
{
	mark_msg(NV_ATTR, attr, 0);
}

static void NVTX_API dom_mark_ex(nvtxDomainHandle_t dom, const nvtxEventAttributes_t *attr)
{
	mark_msg(NV_ATTR, attr, (uintptr_t)dom);
}

/* ---- names: categories, threads, domains, registered strings ---------------------------- */

static void name_category(uint64_t domain, uint32_t category, uint32_t sid)
{
	struct gp_rec_nvtx_category *r = gp_rec_begin(GP_REC_NVTX_CATEGORY, sizeof(*r));
	if (!r)
		return;
	r->ts_ns = gp_now_ns();
	r->domain = domain;
	r->category = category;
	r->name_sid = sid;
	gp_rec_commit(r);
}

static void NVTX_API name_category_a(uint32_t category, const char *name)
{
	name_category(0, category, intern_a(name));
}

static void NVTX_API name_category_w(uint32_t category, const wchar_t *name)
{
	name_category(0, category, intern_w(name));
}

static void NVTX_API dom_name_category_a(nvtxDomainHandle_t dom, uint32_t category,
					 const char *name)
{
	name_category((uintptr_t)dom, category, intern_a(name));
}

static void NVTX_API dom_name_category_w(nvtxDomainHandle_t dom, uint32_t category,
					 const wchar_t *name)
{
	name_category((uintptr_t)dom, category, intern_w(name));
}

static void name_thread(uint32_t tid, uint32_t sid)
{
	if (sid)
		gp_emit_thread_name(tid, sid);
}

static void NVTX_API name_os_thread_a(uint32_t tid, const char *name)
{
	name_thread(tid, intern_a(name));
}

static void NVTX_API name_os_thread_w(uint32_t tid, const wchar_t *name)
{
	name_thread(tid, intern_w(name));
}

/* Domains: name string id -> small id; the same name gives the same handle. */
#define NV_MAX_DOMAINS 1024
static struct {
	uint32_t sid;
	uint32_t live;
	uint32_t match; /* the -p pattern's domain */
} g_domains[NV_MAX_DOMAINS + 1];

static int trig_domain(uint64_t domain)
{
	if (gp_ctl->nvtx_any_domain)
		return 1;
	if (domain == 0)
		return gp_ctl->nvtx_domain[0] == '\0';
	return domain <= NV_MAX_DOMAINS && g_domains[domain].match;
}
static _Atomic int g_dom_lock;
static uint32_t g_n_domains;

static nvtxDomainHandle_t domain_create(uint32_t sid, const char *name)
{
	int match =
	    g_trig_on && name && gp_ctl->nvtx_domain[0] && strcmp(name, gp_ctl->nvtx_domain) == 0;
	uint32_t id = 0, fresh = 0;
	while (atomic_exchange_explicit(&g_dom_lock, 1, memory_order_acquire))
		;
	for (uint32_t i = 1; i <= g_n_domains; i++)
		if (g_domains[i].sid == sid) {
			id = i;
			break;
		}
	if (!id && g_n_domains < NV_MAX_DOMAINS) {
		id = ++g_n_domains;
		g_domains[id].sid = sid;
		g_domains[id].match = (uint32_t)match;
	}
	if (id && !g_domains[id].live) {
		g_domains[id].live = 1;
		fresh = 1;
	}
	atomic_store_explicit(&g_dom_lock, 0, memory_order_release);
	if (!id) {
		gp_count_dropped(1);
		return NULL; /* too many domains: their events go to the default domain */
	}
	if (fresh)
		gp_nvtx_emit_domain(gp_now_ns(), id, sid, 0);
	return (nvtxDomainHandle_t)(uintptr_t)id;
}

static nvtxDomainHandle_t NVTX_API domain_create_a(const char *name)
{
	return domain_create(intern_a(name), name);
}

static nvtxDomainHandle_t NVTX_API domain_create_w(const wchar_t *name)
{
	char buf[GP_STRING_MAX + 8];
	if (!name)
		return domain_create(0, NULL);
	size_t n = wide_to_utf8(name, buf);
	buf[n] = '\0';
	return domain_create(gp_intern_n(buf, n), buf);
}

static void NVTX_API domain_destroy(nvtxDomainHandle_t dom)
{
	uint32_t id = (uint32_t)(uintptr_t)dom, was = 0;
	if (!id || id > NV_MAX_DOMAINS)
		return;
	while (atomic_exchange_explicit(&g_dom_lock, 1, memory_order_acquire))
		;
	was = g_domains[id].live;
	g_domains[id].live = 0;
	atomic_store_explicit(&g_dom_lock, 0, memory_order_release);
	if (was)
		gp_nvtx_emit_domain(gp_now_ns(), id, 0, 1);
}

static nvtxStringHandle_t NVTX_API register_string_a(nvtxDomainHandle_t dom, const char *s)
{
	(void)dom;
	return (nvtxStringHandle_t)(uintptr_t)intern_a(s);
}

static nvtxStringHandle_t NVTX_API register_string_w(nvtxDomainHandle_t dom, const wchar_t *s)
{
	(void)dom;
	return (nvtxStringHandle_t)(uintptr_t)intern_w(s);
}

/* Resources (nvtxDomainResourceCreate): accepted, not recorded (no report table). */
static _Atomic uintptr_t g_next_resource = 1;

static nvtxResourceHandle_t NVTX_API resource_create(nvtxDomainHandle_t dom,
						     nvtxResourceAttributes_t *attr)
{
	(void)dom;
	(void)attr;
	return (nvtxResourceHandle_t)atomic_fetch_add(&g_next_resource, 1);
}

static void NVTX_API resource_destroy(nvtxResourceHandle_t res)
{
	(void)res;
}

static void NVTX_API initialize(const void *reserved)
{
	(void)reserved;
}

/* CUDA / CUDART object naming (nvToolsExtCuda.h, nvToolsExtCudaRt.h): installed so the
 * calls are cheap and safe; the wire format has no record for them yet (nsys event types
 * 97-99 NvtxNameCudaDevice/Context/Stream), so the names are only interned. */
static void NVTX_API name_obj_a(void *obj, const char *name)
{
	(void)obj;
	(void)intern_a(name);
}

static void NVTX_API name_obj_w(void *obj, const wchar_t *name)
{
	(void)obj;
	(void)intern_w(name);
}

static void NVTX_API name_dev_a(int dev, const char *name)
{
	(void)dev;
	(void)intern_a(name);
}

static void NVTX_API name_dev_w(int dev, const wchar_t *name)
{
	(void)dev;
	(void)intern_w(name);
}

/* ---- the handshake ------------------------------------------------------------------ */

struct slot {
	unsigned id;
	NvtxFunctionPointer fn;
};

#define FP(f) ((NvtxFunctionPointer)(void (*)(void))(f))

static const struct slot core_slots[] = {
    {NVTX_CBID_CORE_MarkEx, FP(mark_ex)},
    {NVTX_CBID_CORE_MarkA, FP(mark_a)},
    {NVTX_CBID_CORE_MarkW, FP(mark_w)},
    {NVTX_CBID_CORE_RangeStartEx, FP(start_ex)},
    {NVTX_CBID_CORE_RangeStartA, FP(start_a)},
    {NVTX_CBID_CORE_RangeStartW, FP(start_w)},
    {NVTX_CBID_CORE_RangeEnd, FP(end0)},
    {NVTX_CBID_CORE_RangePushEx, FP(push_ex)},
    {NVTX_CBID_CORE_RangePushA, FP(push_a)},
    {NVTX_CBID_CORE_RangePushW, FP(push_w)},
    {NVTX_CBID_CORE_RangePop, FP(pop0)},
    {NVTX_CBID_CORE_NameCategoryA, FP(name_category_a)},
    {NVTX_CBID_CORE_NameCategoryW, FP(name_category_w)},
    {NVTX_CBID_CORE_NameOsThreadA, FP(name_os_thread_a)},
    {NVTX_CBID_CORE_NameOsThreadW, FP(name_os_thread_w)},
};

static const struct slot core2_slots[] = {
    {NVTX_CBID_CORE2_DomainMarkEx, FP(dom_mark_ex)},
    {NVTX_CBID_CORE2_DomainRangeStartEx, FP(dom_start_ex)},
    {NVTX_CBID_CORE2_DomainRangeEnd, FP(dom_end)},
    {NVTX_CBID_CORE2_DomainRangePushEx, FP(dom_push_ex)},
    {NVTX_CBID_CORE2_DomainRangePop, FP(dom_pop)},
    {NVTX_CBID_CORE2_DomainResourceCreate, FP(resource_create)},
    {NVTX_CBID_CORE2_DomainResourceDestroy, FP(resource_destroy)},
    {NVTX_CBID_CORE2_DomainNameCategoryA, FP(dom_name_category_a)},
    {NVTX_CBID_CORE2_DomainNameCategoryW, FP(dom_name_category_w)},
    {NVTX_CBID_CORE2_DomainRegisterStringA, FP(register_string_a)},
    {NVTX_CBID_CORE2_DomainRegisterStringW, FP(register_string_w)},
    {NVTX_CBID_CORE2_DomainCreateA, FP(domain_create_a)},
    {NVTX_CBID_CORE2_DomainCreateW, FP(domain_create_w)},
    {NVTX_CBID_CORE2_DomainDestroy, FP(domain_destroy)},
    {NVTX_CBID_CORE2_Initialize, FP(initialize)},
};

static const struct slot cuda_slots[] = {
    {NVTX_CBID_CUDA_NameCuDeviceA, FP(name_dev_a)},
    {NVTX_CBID_CUDA_NameCuDeviceW, FP(name_dev_w)},
    {NVTX_CBID_CUDA_NameCuContextA, FP(name_obj_a)},
    {NVTX_CBID_CUDA_NameCuContextW, FP(name_obj_w)},
    {NVTX_CBID_CUDA_NameCuStreamA, FP(name_obj_a)},
    {NVTX_CBID_CUDA_NameCuStreamW, FP(name_obj_w)},
    {NVTX_CBID_CUDA_NameCuEventA, FP(name_obj_a)},
    {NVTX_CBID_CUDA_NameCuEventW, FP(name_obj_w)},
};

static const struct slot cudart_slots[] = {
    {NVTX_CBID_CUDART_NameCudaDeviceA, FP(name_dev_a)},
    {NVTX_CBID_CUDART_NameCudaDeviceW, FP(name_dev_w)},
    {NVTX_CBID_CUDART_NameCudaStreamA, FP(name_obj_a)},
    {NVTX_CBID_CUDART_NameCudaStreamW, FP(name_obj_w)},
    {NVTX_CBID_CUDART_NameCudaEventA, FP(name_obj_a)},
    {NVTX_CBID_CUDART_NameCudaEventW, FP(name_obj_w)},
};

static int fill(const NvtxExportTableCallbacks *cb, NvtxCallbackModule mod,
		const struct slot *slots, size_t n)
{
	NvtxFunctionTable table = NULL;
	unsigned int size = 0;
	if (!cb->GetModuleFunctionTable(mod, &table, &size) || !table)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (slots[i].id < size && table[slots[i].id])
			*table[slots[i].id] = slots[i].fn;
	return 1;
}

/* Once per process: decide whether NVTX is traced and set up the runtime. */
static int nvtx_enable(void)
{
	int e = atomic_load(&g_enabled);
	if (e)
		return e == 1;
	static _Atomic int lock;
	while (atomic_exchange_explicit(&lock, 1, memory_order_acquire))
		;
	e = atomic_load(&g_enabled);
	if (!e) {
		e = -1;
		if (gp_traced("nvtx", 0) && gp_producer_init(GP_COLLECTOR_INJECT) == 0 &&
		    pthread_key_create(&g_nv_key, nv_thread_exit) == 0) {
			gp_at_shutdown(nv_shutdown);
			if (gp_capture_mode() == GP_CAPTURE_NVTX && gp_ctl->nvtx_message[0]) {
				const char *ro = getenv("NSYS_NVTX_PROFILER_REGISTER_ONLY");
				g_register_only = ro && ro[0] == '1';
				g_pat_sid = gp_intern(gp_ctl->nvtx_message);
				g_trig_on = 1;
			}
			e = 1;
		}
		atomic_store(&g_enabled, e);
	}
	atomic_store_explicit(&lock, 0, memory_order_release);
	return e == 1;
}

/* NVTX3 injection entry point (nvtxInit.h): returns 1 when the tables were filled, 0 to
 * leave NVTX a no-op (nvtx not in $GPROF_CLI_TRACE, no recorder, or a bad table). */
GP_EXPORT int InitializeInjectionNvtx2(NvtxGetExportTableFunc_t get)
{
	if (!get || !nvtx_enable())
		return 0;
	const NvtxExportTableCallbacks *cb = get(NVTX_ETID_CALLBACKS);
	const NvtxExportTableVersionInfo *vi = get(NVTX_ETID_VERSIONINFO);
	if (!cb || cb->struct_size < sizeof(*cb) || !cb->GetModuleFunctionTable)
		return 0;
	if (vi && vi->struct_size >= sizeof(*vi) && vi->SetInjectionNvtxVersion)
		vi->SetInjectionNvtxVersion(NVTX_VERSION);
	if (!fill(cb, NVTX_CB_MODULE_CORE, core_slots, sizeof(core_slots) / sizeof(core_slots[0])))
		return 0;
	fill(cb, NVTX_CB_MODULE_CORE2, core2_slots, sizeof(core2_slots) / sizeof(core2_slots[0]));
	fill(cb, NVTX_CB_MODULE_CUDA, cuda_slots, sizeof(cuda_slots) / sizeof(cuda_slots[0]));
	fill(cb, NVTX_CB_MODULE_CUDART, cudart_slots,
	     sizeof(cudart_slots) / sizeof(cudart_slots[0]));
	return 1;
}
