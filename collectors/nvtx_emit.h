/*
 * nvtx_emit.h - the one way collectors write NVTX records (wire.h GP_REC_NVTX_EVENT,
 * GP_REC_NVTX_START, GP_REC_NVTX_DOMAIN), so every NVTX_EVENTS row, its StringIds text and
 * its domain come out of the recorder's nvtx module (core/report_nvtx.c) the same way.
 *
 * Used by the NVTX injection (collectors/nvtx.c: the application's own NVTX calls) and by
 * the cuBLAS/cuDNN collector (collectors/cudalibs.c: one push/pop range per library call
 * in the domain "cuBLAS" or "cuDNN", as nsys 2025.3 exports -t cublas).  Both run inside
 * the application on the producer runtime (producer.h): records are dropped (not counted)
 * outside a capture range, and NVTX_DOMAIN records are state records that pass the gate.
 */
#ifndef GPROF_NVTX_EMIT_H
#define GPROF_NVTX_EMIT_H

#include <stdint.h>
#include <string.h>

#include "producer.h"

/* The bits of gp_nvtx_entry.flags that go on the wire (GP_NVTX_*); the collectors keep
 * their own state in the bits above. */
#define GP_NVTX_WIRE_FLAGS 0x0fffu

/* One NVTX event as a collector holds it until it is emitted: a push/pop range while it
 * is open, a mark, or the start of a start/end range. */
struct gp_nvtx_entry {
	uint64_t start_ns; /* CLOCK_MONOTONIC ns (gp_now_ns) */
	/* the payload's bits, of kind ptype (enum gp_nvtx_payload); GP_NVTX_PAYLOAD_EXT: the
	 * address of the record's tail (struct gp_nvtx_ext and its blocks, wire.h), which the
	 * collector keeps until the entry is emitted */
	uint64_t payload;
	uint32_t sid;	   /* message string id (gp_intern, or a registered string); 0 = none */
	uint32_t category; /* NVTX category; 0 = none */
	uint32_t color;	   /* ARGB when flags has GP_NVTX_HAS_COLOR */
	uint16_t flags;	   /* GP_NVTX_* (wire bits) and collector bits above them */
	uint16_t ptype;	   /* enum gp_nvtx_payload */
	/* GP_NVTX_TEXT_INLINE in flags: the message's `sid` bytes (not NUL-terminated; the
	 * collector keeps them until the entry is emitted); else unused */
	const char *text;
};

/*
 * Record `e` as a GP_REC_NVTX_EVENT (a mark, or a push/pop range when e->flags has
 * GP_NVTX_PUSHPOP: end_ns is its pop, 0 with GP_NVTX_OPEN; sent as the compact
 * GP_REC_NVTX_PUSHPOP where that holds it) or a GP_REC_NVTX_START (a start/end range
 * `range_id`, end_ns 0).  `domain` is the collector's domain handle on
 * this connection (0 = the default domain; announce others with gp_nvtx_emit_domain),
 * `level` the push/pop nesting depth (0 = outermost), `tid` the thread the event belongs
 * to (0 = the calling thread).  With e->ptype GP_NVTX_PAYLOAD_EXT, e->payload is the
 * address of an extended-payload tail (wire.h struct gp_nvtx_ext and its blocks, built by
 * the collector) that is copied after the record; a tail of no block sends no payload.
 * Dropped silently outside a capture range or when the producer is not connected.
 */
static __attribute__((noinline)) void
gp_nvtx_emit_full(uint16_t type, const struct gp_nvtx_entry *e, uint64_t end_ns, uint64_t domain,
		  uint64_t range_id, uint32_t level, uint32_t tid);

static inline __attribute__((always_inline)) void
gp_nvtx_emit(uint16_t type, const struct gp_nvtx_entry *e, uint64_t end_ns, uint64_t domain,
	     uint64_t range_id, uint32_t level, uint32_t tid)
{
	if (likely(type == GP_REC_NVTX_EVENT && (e->flags & GP_NVTX_PUSHPOP) && !domain &&
		   !e->category && !(e->flags & GP_NVTX_HAS_COLOR) &&
		   e->ptype == GP_NVTX_PAYLOAD_NONE && level <= 0xffff)) {
		size_t n = e->flags & GP_NVTX_TEXT_INLINE ? e->sid : 0;
		struct gp_rec_nvtx_pushpop *p =
		    gp_rec_begin(GP_REC_NVTX_PUSHPOP, sizeof(*p) + GP_REC_ALIGN(n));
		if (unlikely(!p))
			return;
		if (n) {
			memcpy(p + 1, e->text, n);
			memset((char *)(p + 1) + n, 0, GP_REC_ALIGN(n) - n);
		}
		if (tid)
			p->h.tid = tid;
		p->start_ns = e->start_ns;
		p->end_ns = end_ns;
		p->text_sid = e->sid;
		p->level = (uint16_t)level;
		p->flags = (uint16_t)(e->flags & GP_NVTX_WIRE_FLAGS);
		gp_rec_commit(p);
		return;
	}
	gp_nvtx_emit_full(type, e, end_ns, domain, range_id, level, tid);
}

/* Bytes of an extended-payload tail (struct gp_nvtx_ext and its n blocks, wire.h) as a
 * collector built it: 0 when it holds no block. */
static inline size_t gp_nvtx_ext_size(const void *ext)
{
	const struct gp_nvtx_ext *x = ext;
	const unsigned char *p = (const unsigned char *)(x + 1);

	for (uint32_t i = 0; i < x->n; i++) {
		const struct gp_nvtx_ext_block *b = (const void *)p;
		p += sizeof(*b) + GP_REC_ALIGN(b->len);
	}
	return x->n ? (size_t)(p - (const unsigned char *)ext) : 0;
}

/* gp_nvtx_emit() of a record that needs the full GP_REC_NVTX_EVENT / _START. */
static __attribute__((noinline, unused)) void
gp_nvtx_emit_full(uint16_t type, const struct gp_nvtx_entry *e, uint64_t end_ns, uint64_t domain,
		  uint64_t range_id, uint32_t level, uint32_t tid)
{
	uint32_t sid = e->flags & GP_NVTX_TEXT_INLINE ? gp_intern_n(e->text, e->sid) : e->sid;
	const void *ext =
	    e->ptype == GP_NVTX_PAYLOAD_EXT ? (const void *)(uintptr_t)e->payload : NULL;
	size_t ext_len = ext ? gp_nvtx_ext_size(ext) : 0;
	struct gp_rec_nvtx *r = gp_rec_begin(type, sizeof(*r) + ext_len);
	if (unlikely(!r))
		return;
	if (ext_len)
		memcpy(r + 1, ext, ext_len);
	if (tid)
		r->h.tid = tid;
	r->start_ns = e->start_ns;
	r->end_ns = end_ns;
	r->range_id = range_id;
	r->domain = domain;
	r->text_sid = sid;
	r->category = e->category;
	r->color = e->color;
	r->flags = (uint16_t)(e->flags & GP_NVTX_WIRE_FLAGS & ~GP_NVTX_TEXT_INLINE);
	r->payload_type = ext_len
			      ? GP_NVTX_PAYLOAD_EXT
			      : (e->ptype == GP_NVTX_PAYLOAD_EXT ? GP_NVTX_PAYLOAD_NONE : e->ptype);
	r->payload.u64 = ext ? 0 : e->payload;
	r->level = level;
	r->pad = 0;
	gp_rec_commit(r);
}

/* Record the creation (destroy = 0) of domain handle `domain` (non-zero, unique on this
 * connection) named by string id `name_sid`, or its destruction (destroy = 1, name_sid
 * 0), at ts_ns (CLOCK_MONOTONIC ns), on the calling thread.  -> NVTX_EVENTS eventType
 * 75 / 76.  A state record: it passes the capture gate and lands in every per-range
 * report. */
static inline void gp_nvtx_emit_domain(uint64_t ts_ns, uint64_t domain, uint32_t name_sid,
				       uint32_t destroy)
{
	struct gp_rec_nvtx_domain *r = gp_rec_begin(GP_REC_NVTX_DOMAIN, sizeof(*r));
	if (!r)
		return;
	r->ts_ns = ts_ns;
	r->domain = domain;
	r->name_sid = name_sid;
	r->destroy = destroy;
	gp_rec_commit(r);
}

#endif
