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
 * Extended payloads (nvtx3/nvToolsExtPayload.h, the payload extension NCCL uses): the
 * injection also exports InitializeInjectionNvtxExtension (nvtxDetail/nvtxExtInit.h), which
 * each NVTX instance calls once per extension module; for the payload module
 * (NVTX_EXT_PAYLOAD_MODULEID) it fills the module's function slots.  Schema and enum
 * registrations go out at once as GP_REC_NVTX_SCHEMA / GP_REC_NVTX_ENUM (state records,
 * names interned); an event whose attributes carry NVTX_PAYLOAD_TYPE_EXT (or a
 * nvtx*Payload call) copies its payload bytes and schema ids into the record's tail
 * (wire.h "NVTX extended payloads"): a push copies them into a per-thread pool slot
 * (NV_PL_SLOTS open ranges with payloads per thread, mmap'd on first use) that the pop
 * emits and frees.  What is not copied (over GP_NVTX_EXT_BYTES_MAX bytes, size unknown,
 * past GP_NVTX_EXT_MAX per event or NV_PL_SLOTS open, pop/end payloads, deferred events)
 * is counted in a GP_REC_NVTX_UNSENT; the recorder decodes the rest to jsonText.
 *
 * Handles: a domain handle is its small integer id (never dereferenced by NVTX, only
 * passed back), a registered string handle is the string's interned id, so neither
 * needs memory.  Wide (wchar_t, UTF-32 on Linux) strings are converted to UTF-8 in a
 * stack buffer.
 */
#define NVTX_NO_IMPL
#include <nvtx3/nvToolsExt.h>
#include <nvtx3/nvToolsExtPayload.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
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

/* An extended-payload tail at its largest (wire.h struct gp_nvtx_ext and its blocks). */
#define NV_EXT_CAP                                                                                 \
	(sizeof(struct gp_nvtx_ext) +                                                              \
	 GP_NVTX_EXT_MAX * (sizeof(struct gp_nvtx_ext_block) + GP_NVTX_EXT_BYTES_MAX))
#define NV_PL_SLOTS 32 /* open push/pop ranges with a payload, per thread */

/* One thread's payload copies of its open push/pop ranges (slot i in use: bit i). */
struct nv_pool {
	uint32_t used;
	uint32_t pad;
	uint64_t slot[NV_PL_SLOTS][NV_EXT_CAP / 8];
};

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
	struct nv_pool *pool; /* NULL until the thread's first push with a payload */
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
	/* GP_NVTX_PAYLOAD_EXT: the application's nvtxPayloadData_t array (next entries; valid
	 * for the call only) */
	const nvtxPayloadData_t *ext;
	uint32_t next;
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
	} else if (a->payloadType == NVTX_PAYLOAD_TYPE_EXT && a->payload.ullValue) {
		/* NVTX_PAYLOAD_EVTATTR_SET*: an nvtxPayloadData_t array, its length in reserved0 */
		o->ptype = GP_NVTX_PAYLOAD_EXT;
		o->ext = (const nvtxPayloadData_t *)(uintptr_t)a->payload.ullValue;
		o->next = a->reserved0 > 0 ? (uint32_t)a->reserved0 : 1;
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
	if (t->pool)
		t->pool->used = 0;
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
	if (t->pool)
		t->pool->used = 0;
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

/* ---- extended payloads: the copies ---------------------------------------------------- */

/* Registered payload schemas, for a payload given with size SIZE_MAX ("the tool figures
 * it out"): its schema's static size.  Appended under g_schema_lock, read without it. */
#define NV_MAX_SCHEMAS 512
static struct {
	uint64_t domain, id, size;
} g_schemas[NV_MAX_SCHEMAS];
static _Atomic uint32_t g_n_schemas;
static _Atomic int g_schema_lock;

/* The static size of schema id in domain (the latest registration); 0 = unknown. */
static uint64_t schema_static_size(uint64_t domain, uint64_t id)
{
	uint32_t n = atomic_load_explicit(&g_n_schemas, memory_order_acquire);

	while (n--)
		if (g_schemas[n].id == id && g_schemas[n].domain == domain)
			return g_schemas[n].size;
	return 0;
}

/* Count n payloads that are not copied (GP_REC_NVTX_UNSENT); only while collecting. */
static __attribute__((noinline)) void nv_unsent(uint64_t n)
{
	struct gp_rec_nvtx_unsent *r;

	if (!n || !gp_collecting())
		return;
	r = gp_rec_begin(GP_REC_NVTX_UNSENT, sizeof(*r));
	if (!r)
		return;
	r->payloads = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
	r->pad = 0;
	gp_rec_commit(r);
}

/* Copy the payloads of a (a->ext, a->next of them) in domain into buf (NV_EXT_CAP bytes,
 * 8-aligned) as a record tail (wire.h struct gp_nvtx_ext and its blocks); the ones that do
 * not fit the bounds are counted as unsent.  Returns the blocks copied (0: no tail). */
static uint32_t ext_build(uint64_t *buf, const struct nv_attr *a, uint64_t domain)
{
	struct gp_nvtx_ext *x = (struct gp_nvtx_ext *)buf;
	unsigned char *p = (unsigned char *)(x + 1);
	uint32_t n = 0, look = a->next < GP_NVTX_EXT_MAX ? a->next : GP_NVTX_EXT_MAX;
	uint64_t unsent = a->next - look; /* past GP_NVTX_EXT_MAX: not even read */

	for (uint32_t i = 0; i < look; i++) {
		const nvtxPayloadData_t *d = &a->ext[i];
		uint64_t len =
		    d->size == SIZE_MAX ? schema_static_size(domain, d->schemaId) : d->size;
		struct gp_nvtx_ext_block *b = (struct gp_nvtx_ext_block *)p;

		if (!d->payload || len == 0 || len > GP_NVTX_EXT_BYTES_MAX) {
			unsent++;
			continue;
		}
		b->schema_id = d->schemaId;
		b->len = (uint32_t)len;
		b->pad = 0;
		memcpy(b + 1, d->payload, len);
		memset((unsigned char *)(b + 1) + len, 0, GP_REC_ALIGN(len) - len);
		p += sizeof(*b) + GP_REC_ALIGN(len);
		n++;
	}
	x->n = n;
	x->pad = 0;
	nv_unsent(unsent);
	return n;
}

/* Emit e (its attributes a carry extended payloads) with its payloads copied now. */
static __attribute__((noinline)) void emit_ext(uint16_t type, struct gp_nvtx_entry *e,
					       uint64_t end_ns, uint64_t domain, uint64_t range_id,
					       const struct nv_attr *a)
{
	uint64_t buf[NV_EXT_CAP / 8];

	if (ext_build(buf, a, domain)) {
		e->payload = (uint64_t)(uintptr_t)buf;
	} else {
		e->ptype = GP_NVTX_PAYLOAD_NONE;
		e->payload = 0;
	}
	gp_nvtx_emit(type, e, end_ns, domain, range_id, 0, 0);
}

/* gp_nvtx_emit() of a mark or start e with attributes a (level 0, the calling thread). */
static inline void emit_attr(uint16_t type, struct gp_nvtx_entry *e, uint64_t end_ns,
			     uint64_t domain, uint64_t range_id, const struct nv_attr *a)
{
	if (unlikely(a->ptype == GP_NVTX_PAYLOAD_EXT))
		emit_ext(type, e, end_ns, domain, range_id, a);
	else
		gp_nvtx_emit(type, e, end_ns, domain, range_id, 0, 0);
}

/* A push with extended payloads: copy them into a free slot of t's pool, which e points
 * to until its pop (pool_free); none free, or nothing to copy: e has no payload. */
static __attribute__((noinline)) void push_ext(struct nv_thread *t, struct gp_nvtx_entry *e,
					       const struct nv_attr *a, uint64_t domain)
{
	e->ptype = GP_NVTX_PAYLOAD_NONE;
	e->payload = 0;
	if (!t->pool) {
		t->pool = gp_map_anon(sizeof(*t->pool), 0);
		if (!t->pool) {
			nv_unsent(a->next);
			return;
		}
	}
	if (t->pool->used == ~0u) {
		nv_unsent(a->next);
		return;
	}
	int i = __builtin_ctz(~t->pool->used);
	if (ext_build(t->pool->slot[i], a, domain)) {
		t->pool->used |= 1u << i;
		e->ptype = GP_NVTX_PAYLOAD_EXT;
		e->payload = (uint64_t)(uintptr_t)t->pool->slot[i];
	}
}

/* The pool slot of e (a popped range with a payload) is free again. */
static inline void pool_free(struct nv_thread *t, const struct gp_nvtx_entry *e)
{
	size_t i = ((uintptr_t)e->payload - (uintptr_t)t->pool->slot) / sizeof(t->pool->slot[0]);

	if (i < NV_PL_SLOTS)
		t->pool->used &= ~(1u << i);
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
		if (unlikely(a->ptype == GP_NVTX_PAYLOAD_EXT))
			push_ext(t, e, a, domain);
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
		if (unlikely(e->ptype == GP_NVTX_PAYLOAD_EXT))
			pool_free(t, e);
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

/* A message's text into row (a t->itext row, NV_INLINE_MAX bytes) in one pass, a word
 * at a time while the reads stay in msg's page: returns its length n (1..NV_INLINE_MAX
 * - 1; the last word's bytes past n zeroed) with *h its seen hash (producer.h
 * gp_seen_start), or 0 for "", a longer text, or one whose word reads would leave the
 * page before its NUL (then gp_intern_once_slow takes it).  The word holding the NUL is
 * found by the borrow test, exact on its lowest zero byte. */
static inline size_t take_text(char *row, const char *msg, uint64_t *h)
{
	size_t room = 4096 - ((uintptr_t)msg & 4095), i = 0;
	uint64_t hh = gp_seen_start();

	for (; i < NV_INLINE_MAX && i + 8 <= room; i += 8) {
		uint64_t w = gp_rd64(msg + i);
		uint64_t z = (w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull;

		if (z) {
			size_t k = (size_t)__builtin_ctzll(z) >> 3; /* bytes before the NUL */

			w &= k ? ~0ull >> (64 - 8 * k) : 0;
			memcpy(row + i, &w, 8);
			*h = gp_seen_end(hh, w, i + k);
			return i + k;
		}
		memcpy(row + i, &w, 8);
		gp_seen_word(&hh, w);
	}
	return 0;
}

/* nvtxRangePushA's every case but the common one (push_a).  A message not in the
 * thread's intern cache while collecting (PyTorch's emit_nvtx names every op anew):
 * interned or kept as text by gp_intern_once_slow() and pushed here, as push_msg() and
 * push_at() would; the rest through push_msg(). */
static __attribute__((noinline)) int push_a_slow(const char *msg)
{
	struct nv_thread *t = t_nv;
	struct gp_tbuf *b = gp_t_buf;

	if (likely(t && b && msg && !gp_range_nvtx_on && gp_collecting())) {
		struct nv_stack *st = &t->st[0];
		uint32_t d = st->depth++, sid = 0;
		struct gp_nvtx_entry *e;
		size_t n;
		uint64_t h;

		if (unlikely(d >= NV_DEPTH)) {
			gp_count_dropped(1);
			return (int)d;
		}
		/* as gp_intern_once_slow() would, in one pass over the text for most */
		n = take_text(t->itext[d], msg, &h);
		if (likely(n != 0)) {
			uint64_t *seen = gp_seen_slot(b, h);

			if (unlikely(*seen == h)) { /* the second time: a text that comes back */
				sid = gp_intern_slow(msg);
				n = 0;
			} else {
				*seen = h;
			}
		} else {
			sid = gp_intern_once_slow(msg, NV_INLINE_MAX, &n);
			if (n)
				memcpy(t->itext[d], msg, n);
		}
		e = &st->e[d];
		e->category = 0;
		e->color = 0;
		e->ptype = GP_NVTX_PAYLOAD_NONE;
		e->payload = 0;
		if (n) {
			e->text = t->itext[d];
			e->sid = (uint32_t)n;
			e->flags = GP_NVTX_PUSHPOP | GP_NVTX_TEXT_INLINE;
		} else {
			e->sid = sid;
			e->flags = GP_NVTX_PUSHPOP;
		}
		e->start_ns = gp_now_ns();
		return (int)d;
	}
	return push_msg(NV_ASCII, msg, 0);
}

/* push_a's common case where the thread's clock line is not current (the TSC not in use,
 * or a new line): the entry st->e[d] filled but its time, which gp_now_ns() gives. */
static __attribute__((noinline)) int push_a_clock(struct nv_stack *st, uint32_t d)
{
	st->e[d].start_ns = gp_now_ns();
	st->depth = d + 1;
	return (int)d;
}

/* nvtxRangePushA.  The common case without a call: collecting, no
 * --gpu-metrics-ranges, the thread set up, its default stack below NV_DEPTH, the message
 * in its intern cache (the text the thread pushed last at that address) and the thread's
 * clock line current (gp_now_ns_try; else push_a_clock): the entry gets what push_at()
 * would give it (no category, colour or payload).  Anything else goes to push_a_slow()
 * before any change (the entry above the stack's top is not part of it). */
static int NVTX_API push_a(const char *msg)
{
	struct nv_thread *t = t_nv;
	struct gp_tbuf *b = gp_t_buf;

	if (likely(t && b && !gp_range_nvtx_on && gp_collecting())) {
		struct nv_stack *st = &t->st[0];
		uint32_t d = st->depth;
		uint32_t sid = gp_tcache_find_in(b, msg, 0);

		if (likely(sid && d < NV_DEPTH)) {
			struct gp_nvtx_entry *e = &st->e[d];
			uint64_t now;

			e->sid = sid;
			e->category = 0;
			e->color = 0;
			e->flags = GP_NVTX_PUSHPOP;
			e->ptype = GP_NVTX_PAYLOAD_NONE;
			e->payload = 0;
			if (unlikely(!gp_now_ns_try(b, &now)))
				return push_a_clock(st, d);
			e->start_ns = now;
			st->depth = d + 1;
			return (int)d;
		}
	}
	return push_a_slow(msg);
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

/* nvtxRangePop's every case but the common one (pop0). */
static __attribute__((noinline)) int pop0_slow(void)
{
	if (unlikely(gp_range_nvtx_on))
		gp_range_nvtx_pop();
	return pop(0);
}

/* Two adjacent 16-bit fields (an entry's flags and ptype, a record's level and flags),
 * to read or write both as one 32-bit word. */
struct nv_u16x2 {
	uint16_t lo, hi;
};
_Static_assert(offsetof(struct gp_nvtx_entry, ptype) == offsetof(struct gp_nvtx_entry, flags) + 2,
	       "entry_kind reads flags and ptype as one word");
_Static_assert(offsetof(struct gp_rec_nvtx_pushpop, flags) ==
		   offsetof(struct gp_rec_nvtx_pushpop, level) + 2,
	       "pop0_fast writes level and flags as one word");

/* e's flags and ptype as one word, to compare with entry_kind_of(). */
static inline uint32_t entry_kind(const struct gp_nvtx_entry *e)
{
	uint32_t w;

	memcpy(&w, &e->flags, 4);
	return w;
}
static inline uint32_t entry_kind_of(uint16_t flags, uint16_t ptype)
{
	uint32_t w;

	memcpy(&w, &(struct nv_u16x2){flags, ptype}, 4);
	return w;
}

/* pop0()'s common case for a range with (text 1) or without (0) its message as text in
 * t->itext (GP_NVTX_TEXT_INLINE): t = t_nv, b = gp_t_buf; slow: where every other case
 * goes.  The thread's default stack holds a range pushed while collecting with no
 * category, colour or payload (what push_a pushes), the thread's clock line is current
 * (or anyclock: the time from gp_now_ns_slow() when it is not) and its buffer takes the
 * record at once (gp_rec_can_begin, asked before the clock is read, and gp_rec_claim): it
 * goes out as the GP_REC_NVTX_PUSHPOP that pop() would emit, without a call.  Anything
 * else goes to slow() before any change. */
static inline __attribute__((always_inline)) int
pop0_fast(struct nv_thread *t, struct gp_tbuf *b, int text, int anyclock, int (*slow)(void))
{
	if (likely(t && !gp_range_nvtx_on)) {
		struct nv_stack *st = &t->st[0];
		uint32_t d = st->depth - 1;
		uint16_t flags = text ? GP_NVTX_PUSHPOP | GP_NVTX_TEXT_INLINE : GP_NVTX_PUSHPOP;
		const struct gp_nvtx_entry *e = &st->e[d < NV_DEPTH ? d : 0];
		uint32_t n = text ? e->sid : 0; /* (checked below) */
		uint32_t sz = (uint32_t)sizeof(struct gp_rec_nvtx_pushpop) + GP_REC_ALIGN(n);
		uint64_t end;

		if (likely(d < NV_DEPTH &&
			   entry_kind(e) == entry_kind_of(flags, GP_NVTX_PAYLOAD_NONE) &&
			   !e->category && (!text || n - 1 < NV_INLINE_MAX) &&
			   gp_rec_can_begin(b, sz) &&
			   (gp_now_ns_try(b, &end) || (anyclock && (end = gp_now_ns_slow(), 1))))) {
			struct gp_rec_nvtx_pushpop *p = gp_rec_claim(b, GP_REC_NVTX_PUSHPOP, sz);

			if (likely(p != NULL)) {
				uint64_t start = e->start_ns;

				if (unlikely(end < start)) /* clock switch-over noise */
					end = start;
				p->start_ns = start;
				p->end_ns = end;
				p->text_sid = e->sid;
				memcpy(&p->level, &(struct nv_u16x2){(uint16_t)d, flags}, 4);
				if (text) {
					/* push_at's copy (e->text, NV_INLINE_MAX bytes: the words
					 * read stay in it), the last word's bytes past n zeroed */
					const char *src = t->itext[d];
					char *dst = (char *)(p + 1);
					uint32_t i = 0;
					uint64_t w;

					for (; i + 8 < n; i += 8) {
						w = gp_rd64(src + i);
						memcpy(dst + i, &w, 8);
					}
					w = gp_rd64(src + i) & (~0ull >> (64 - 8 * (n - i)));
					memcpy(dst + i, &w, 8);
				}
				st->depth = d;
				gp_rec_commit_in(b, sz);
				return (int)d;
			}
		}
	}
	return slow();
}

/* pop0() past its common case: pop0_fast() of a range whose message went as text
 * (GP_NVTX_TEXT_INLINE), or of one that did not with any clock (gp_now_ns_slow when the
 * thread's line is not current); else pop0_slow(). */
static __attribute__((noinline)) int pop0_other(void)
{
	struct nv_thread *t = t_nv;
	uint32_t d;

	if (t && (d = t->st[0].depth - 1) < NV_DEPTH &&
	    t->st[0].e[d].flags == (GP_NVTX_PUSHPOP | GP_NVTX_TEXT_INLINE))
		return pop0_fast(t, gp_t_buf, 1, 0, pop0_slow);
	return pop0_fast(t, gp_t_buf, 0, 1, pop0_slow);
}

/* nvtxRangePop: pop0_fast(), else pop0_other(). */
static int NVTX_API pop0(void)
{
	return pop0_fast(t_nv, gp_t_buf, 0, 0, pop0_other);
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
	emit_attr(GP_REC_NVTX_START, &e, 0, domain, id, a);
	return id;
}

static nvtxRangeId_t start(uint64_t domain, const struct nv_attr *a)
{
	uint64_t id = atomic_fetch_add_explicit(&g_next_range, 1, memory_order_relaxed);
	struct gp_nvtx_entry e = entry_of(a, gp_now_ns());
	emit_attr(GP_REC_NVTX_START, &e, 0, domain, id, a);
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
	emit_attr(GP_REC_NVTX_EVENT, &e, e.start_ns, domain, 0, &a);
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

/* ---- the payload extension (nvToolsExtPayload.h) ------------------------------------- */

/* Ids the collector hands out where the application gives none (schemas, enums, scopes,
 * time domains: NVTX_*_ID_DYNAMIC_START and up). */
static _Atomic uint64_t g_next_dyn_id = NVTX_PAYLOAD_SCHEMA_ID_DYNAMIC_START;

static uint64_t NVTX_API schema_register(nvtxDomainHandle_t dom,
					 const nvtxPayloadSchemaAttr_t *attr)
{
	uint32_t sids[GP_NVTX_SCHEMA_ENTRIES_MAX], name_sid;
	uint64_t id, domain = (uintptr_t)dom, size = 0;
	size_t n = 0;
	uint16_t type = 0;
	struct gp_rec_nvtx_schema *r;

	if (!attr || !(attr->fieldMask & NVTX_PAYLOAD_SCHEMA_ATTR_FIELD_ENTRIES) ||
	    !(attr->fieldMask & NVTX_PAYLOAD_SCHEMA_ATTR_FIELD_NUM_ENTRIES) || !attr->entries)
		return 0;
	id = attr->fieldMask & NVTX_PAYLOAD_SCHEMA_ATTR_FIELD_SCHEMA_ID
		 ? attr->schemaId
		 : atomic_fetch_add(&g_next_dyn_id, 1);
	if (!id)
		return 0;
	if (attr->fieldMask & NVTX_PAYLOAD_SCHEMA_ATTR_FIELD_STATIC_SIZE)
		size = attr->payloadStaticSize;
	if (attr->numEntries <= GP_NVTX_SCHEMA_ENTRIES_MAX) { /* else: sent as undecodable */
		n = attr->numEntries;
		type = attr->fieldMask & NVTX_PAYLOAD_SCHEMA_ATTR_FIELD_TYPE ? (uint16_t)attr->type
									     : 0;
	}
	while (atomic_exchange_explicit(&g_schema_lock, 1, memory_order_acquire))
		;
	uint32_t k = atomic_load_explicit(&g_n_schemas, memory_order_relaxed);
	if (k < NV_MAX_SCHEMAS) {
		g_schemas[k].domain = domain;
		g_schemas[k].id = id;
		g_schemas[k].size = size;
		atomic_store_explicit(&g_n_schemas, k + 1, memory_order_release);
	}
	atomic_store_explicit(&g_schema_lock, 0, memory_order_release);
	/* names first: nothing else may be recorded between gp_rec_begin and the commit */
	name_sid = attr->fieldMask & NVTX_PAYLOAD_SCHEMA_ATTR_FIELD_NAME ? intern_a(attr->name) : 0;
	for (size_t i = 0; i < n; i++)
		sids[i] = intern_a(attr->entries[i].name);
	r = gp_rec_begin(GP_REC_NVTX_SCHEMA, sizeof(*r) + n * sizeof(struct gp_nvtx_schema_entry));
	if (!r)
		return id;
	r->domain = domain;
	r->schema_id = id;
	r->static_size = size;
	r->name_sid = name_sid;
	r->type = type;
	r->n = (uint16_t)n;
	r->flags =
	    attr->fieldMask & NVTX_PAYLOAD_SCHEMA_ATTR_FIELD_FLAGS ? (uint32_t)attr->flags : 0;
	r->pack_align = attr->fieldMask & NVTX_PAYLOAD_SCHEMA_ATTR_FIELD_ALIGNMENT
			    ? (uint32_t)attr->packAlign
			    : 0;
	struct gp_nvtx_schema_entry *we = (struct gp_nvtx_schema_entry *)(r + 1);
	for (size_t i = 0; i < n; i++) {
		const nvtxPayloadSchemaEntry_t *e = &attr->entries[i];
		we[i] = (struct gp_nvtx_schema_entry){.type = e->type,
						      .offset = e->offset,
						      .array_len = e->arrayOrUnionDetail,
						      .name_sid = sids[i],
						      .flags = (uint32_t)e->flags};
	}
	gp_rec_commit(r);
	return id;
}

static uint64_t NVTX_API enum_register(nvtxDomainHandle_t dom, const nvtxPayloadEnumAttr_t *attr)
{
	uint32_t sids[GP_NVTX_ENUM_ENTRIES_MAX], name_sid;
	uint64_t id;
	size_t n;
	struct gp_rec_nvtx_enum *r;

	if (!attr || !(attr->fieldMask & NVTX_PAYLOAD_ENUM_ATTR_FIELD_ENTRIES) ||
	    !(attr->fieldMask & NVTX_PAYLOAD_ENUM_ATTR_FIELD_NUM_ENTRIES) || !attr->entries)
		return 0;
	id = attr->fieldMask & NVTX_PAYLOAD_ENUM_ATTR_FIELD_SCHEMA_ID
		 ? attr->schemaId
		 : atomic_fetch_add(&g_next_dyn_id, 1);
	if (!id)
		return 0;
	n = attr->numEntries < GP_NVTX_ENUM_ENTRIES_MAX ? attr->numEntries
							: GP_NVTX_ENUM_ENTRIES_MAX;
	name_sid = attr->fieldMask & NVTX_PAYLOAD_ENUM_ATTR_FIELD_NAME ? intern_a(attr->name) : 0;
	for (size_t i = 0; i < n; i++)
		sids[i] = intern_a(attr->entries[i].name);
	r = gp_rec_begin(GP_REC_NVTX_ENUM, sizeof(*r) + n * sizeof(struct gp_nvtx_enum_entry));
	if (!r)
		return id;
	r->domain = (uintptr_t)dom;
	r->schema_id = id;
	r->name_sid = name_sid;
	r->size = attr->fieldMask & NVTX_PAYLOAD_ENUM_ATTR_FIELD_SIZE && attr->sizeOfEnum <= 8
		      ? (uint16_t)attr->sizeOfEnum
		      : (uint16_t)sizeof(int);
	r->n = (uint16_t)n;
	struct gp_nvtx_enum_entry *we = (struct gp_nvtx_enum_entry *)(r + 1);
	for (size_t i = 0; i < n; i++)
		we[i] = (struct gp_nvtx_enum_entry){.value = attr->entries[i].value,
						    .name_sid = sids[i],
						    .is_flag = attr->entries[i].isFlag != 0};
	gp_rec_commit(r);
	return id;
}

/* The attributes of a nvtx*Payload call: no message, its payloads. */
static inline struct nv_attr payload_attr(const nvtxPayloadData_t *pd, size_t count)
{
	return (struct nv_attr){.ptype = pd && count ? GP_NVTX_PAYLOAD_EXT : GP_NVTX_PAYLOAD_NONE,
				.ext = pd,
				.next = count > UINT32_MAX ? UINT32_MAX : (uint32_t)count};
}

static void NVTX_API mark_payload(nvtxDomainHandle_t dom, const nvtxPayloadData_t *pd, size_t count)
{
	struct nv_attr a = payload_attr(pd, count);

	if (unlikely(!gp_collecting()))
		return;
	struct gp_nvtx_entry e = entry_of(&a, gp_now_ns());
	emit_attr(GP_REC_NVTX_EVENT, &e, e.start_ns, (uintptr_t)dom, 0, &a);
}

static int NVTX_API push_payload(nvtxDomainHandle_t dom, const nvtxPayloadData_t *pd, size_t count)
{
	struct nv_attr a = payload_attr(pd, count);

	if (unlikely(!gp_collecting()))
		return push_skip((uintptr_t)dom);
	return push((uintptr_t)dom, &a);
}

/* A pop's payloads are not recorded (the range took its payloads at the push): counted. */
static int NVTX_API pop_payload(nvtxDomainHandle_t dom, const nvtxPayloadData_t *pd, size_t count)
{
	if (pd && count)
		nv_unsent(count);
	return pop((uintptr_t)dom);
}

static nvtxRangeId_t NVTX_API start_payload(nvtxDomainHandle_t dom, const nvtxPayloadData_t *pd,
					    size_t count)
{
	struct nv_attr a = payload_attr(pd, count);

	if (unlikely(!gp_collecting()))
		return atomic_fetch_add_explicit(&g_next_range, 1, memory_order_relaxed);
	return start((uintptr_t)dom, &a);
}

static void NVTX_API end_payload(nvtxDomainHandle_t dom, nvtxRangeId_t id,
				 const nvtxPayloadData_t *pd, size_t count)
{
	(void)dom;
	if (pd && count)
		nv_unsent(count);
	end_range(id);
}

static uint8_t NVTX_API domain_is_enabled(nvtxDomainHandle_t dom)
{
	(void)dom;
	return 1;
}

/* Scopes and time domains: ids handed out, nothing recorded (no event uses them: deferred
 * events are not recorded). */
static uint64_t NVTX_API scope_register(nvtxDomainHandle_t dom, const nvtxScopeAttr_t *attr)
{
	(void)dom;
	if (attr && attr->structSize >= sizeof(*attr) && attr->scopeId)
		return attr->scopeId;
	return atomic_fetch_add(&g_next_dyn_id, 1);
}

static int64_t NVTX_API timestamp_get(void)
{
	return (int64_t)gp_now_ns();
}

static uint64_t NVTX_API time_domain_register(nvtxDomainHandle_t dom,
					      const nvtxTimeDomainAttr_t *attr)
{
	(void)dom;
	if (attr && attr->timeDomainId)
		return attr->timeDomainId;
	return atomic_fetch_add(&g_next_dyn_id, 1);
}

static void NVTX_API timer_source(nvtxDomainHandle_t dom, uint64_t tdom, uint64_t flags,
				  int64_t (*fn)(void))
{
	(void)dom, (void)tdom, (void)flags, (void)fn;
}

static void NVTX_API timer_source_data(nvtxDomainHandle_t dom, uint64_t tdom, uint64_t flags,
				       int64_t (*fn)(void *), void *data)
{
	(void)dom, (void)tdom, (void)flags, (void)fn, (void)data;
}

static void NVTX_API time_sync_point(nvtxDomainHandle_t dom, uint64_t tdom1, uint64_t tdom2,
				     int64_t ts1, int64_t ts2)
{
	(void)dom, (void)tdom1, (void)tdom2, (void)ts1, (void)ts2;
}

static void NVTX_API time_sync_table(nvtxDomainHandle_t dom, uint64_t src, uint64_t dst,
				     const nvtxSyncPoint_t *points, size_t count)
{
	(void)dom, (void)src, (void)dst, (void)points, (void)count;
}

static void NVTX_API time_conversion(nvtxDomainHandle_t dom, uint64_t src, uint64_t dst,
				     double slope, int64_t ts_src, int64_t ts_dst)
{
	(void)dom, (void)src, (void)dst, (void)slope, (void)ts_src, (void)ts_dst;
}

/* Deferred events (their own timestamps, in payloads): not recorded, counted. */
static void NVTX_API event_submit(nvtxDomainHandle_t dom, const nvtxPayloadData_t *pd, size_t n)
{
	(void)dom;
	if (pd)
		nv_unsent(n);
}

static void NVTX_API event_batch_submit(nvtxDomainHandle_t dom, const nvtxEventBatch_t *batch)
{
	uint64_t size;

	if (!batch)
		return;
	size = schema_static_size((uintptr_t)dom, batch->eventSchemaId);
	nv_unsent(size ? (batch->size + size - 1) / size : 1);
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

static const struct slot payload_slots[] = {
    {NVTX3EXT_CBID_nvtxPayloadSchemaRegister, FP(schema_register)},
    {NVTX3EXT_CBID_nvtxPayloadEnumRegister, FP(enum_register)},
    {NVTX3EXT_CBID_nvtxMarkPayload, FP(mark_payload)},
    {NVTX3EXT_CBID_nvtxRangePushPayload, FP(push_payload)},
    {NVTX3EXT_CBID_nvtxRangePopPayload, FP(pop_payload)},
    {NVTX3EXT_CBID_nvtxRangeStartPayload, FP(start_payload)},
    {NVTX3EXT_CBID_nvtxRangeEndPayload, FP(end_payload)},
    {NVTX3EXT_CBID_nvtxDomainIsEnabled, FP(domain_is_enabled)},
    {NVTX3EXT_CBID_nvtxTimestampGet, FP(timestamp_get)},
    {NVTX3EXT_CBID_nvtxTimeDomainRegister, FP(time_domain_register)},
    {NVTX3EXT_CBID_nvtxTimerSource, FP(timer_source)},
    {NVTX3EXT_CBID_nvtxTimerSourceWithData, FP(timer_source_data)},
    {NVTX3EXT_CBID_nvtxScopeRegister, FP(scope_register)},
    {NVTX3EXT_CBID_nvtxTimeSyncPoint, FP(time_sync_point)},
    {NVTX3EXT_CBID_nvtxTimeSyncPointTable, FP(time_sync_table)},
    {NVTX3EXT_CBID_nvtxTimestampConversionFactor, FP(time_conversion)},
    {NVTX3EXT_CBID_nvtxEventSubmit, FP(event_submit)},
    {NVTX3EXT_CBID_nvtxEventBatchSubmit, FP(event_batch_submit)},
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

/* NVTX3 extension entry point (nvtxDetail/nvtxExtInit.h): each NVTX instance calls it once
 * per extension module it uses, with that module's segments of function slots.  Fills the
 * payload module's (NVTX_EXT_PAYLOAD_MODULEID; slot ids NVTX3EXT_CBID_*, the same from
 * compatibility id 0x0101 on) and returns 1; 0 for any other module (counters, memory:
 * their calls stay no-ops) or when NVTX is not traced. */
GP_EXPORT int InitializeInjectionNvtxExtension(nvtxExtModuleInfo_t *info)
{
	if (!info || info->structSize < sizeof(*info) || !nvtx_enable())
		return 0;
	if (info->moduleId != NVTX_EXT_PAYLOAD_MODULEID || info->compatId < 0x0101 ||
	    info->segmentsCount < 1 || !info->segments || !info->segments[0].functionSlots)
		return 0;
	const nvtxExtModuleSegment_t *seg = &info->segments[0];
	for (size_t i = 0; i < sizeof(payload_slots) / sizeof(payload_slots[0]); i++)
		if (payload_slots[i].id < seg->slotCount)
			seg->functionSlots[payload_slots[i].id] = (intptr_t)payload_slots[i].fn;
	return 1;
}
