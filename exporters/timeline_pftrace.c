/*
 * timeline_pftrace.c - the Perfetto writer of the timeline export (timeline.h).
 *
 * Output: Perfetto's `Trace` message, a stream of `TracePacket`s (field 1, length
 * delimited), written with a small protobuf wire encoder of our own (varints, fixed64,
 * length-delimited nested messages) from the field numbers of Perfetto's published
 * protos/perfetto/trace/perfetto_trace.proto (TracePacket, TrackDescriptor,
 * ProcessDescriptor, ThreadDescriptor, CounterDescriptor, TrackEvent, DebugAnnotation,
 * InternedData).  tests/proto/perfetto_subset.proto lists the subset, for protoc --decode.
 * A nested message gets a one-byte length first and is moved when it turns out longer, so
 * every length is the shortest varint.
 *
 * All packets are on one sequence (trusted_packet_sequence_id 1); the first clears the
 * incremental state, the others that use interned names say they need it.  Event names,
 * categories and argument names are interned (InternedData.event_names,
 * event_categories, debug_annotation_names) in the packet that first uses them, up to
 * MAX_INTERNED names; later new names go inline (TrackEvent.name).
 *
 * Slices are TYPE_SLICE_BEGIN / TYPE_SLICE_END pairs.  Every track keeps a stack of the
 * ends of its open slices: a slice that starts at or after the top's end closes it first,
 * so each track's packets are in time order and nest.  A slice that would overlap the
 * open one without nesting in it (NVTX start/end ranges, or rows whose data overlaps) goes
 * on another lane: a sibling track of the same name (Perfetto's UI shows same-named
 * siblings as one row).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "exporters/timeline.h"

/* TracePacket */
#define F_PACKET		1 /* Trace.packet */
#define F_TP_TIMESTAMP		8
#define F_TP_SEQ_ID		10
#define F_TP_TRACK_EVENT	11
#define F_TP_INTERNED		12
#define F_TP_SEQ_FLAGS		13
#define F_TP_TRACK_DESC		60
#define SEQ_INCREMENTAL_CLEARED 1
#define SEQ_NEEDS_INCREMENTAL	2
/* TrackDescriptor */
#define F_TD_UUID		1
#define F_TD_NAME		2
#define F_TD_PROCESS		3
#define F_TD_THREAD		4
#define F_TD_PARENT		5
#define F_TD_COUNTER		8
#define F_TD_CHILD_ORDERING	11
#define F_TD_SIBLING_RANK	12
#define CHILD_ORDERING_EXPLICIT 3
#define F_PD_PID		1
#define F_PD_NAME		6
#define F_THD_PID		1
#define F_THD_TID		2
#define F_THD_NAME		5
#define F_CD_UNIT		3
#define UNIT_COUNT		2
#define UNIT_SIZE_BYTES		3
/* TrackEvent */
#define F_TE_CATEGORY_IIDS	  3
#define F_TE_DEBUG		  4
#define F_TE_TYPE		  9
#define F_TE_NAME_IID		  10
#define F_TE_TRACK_UUID		  11
#define F_TE_CATEGORIES		  22
#define F_TE_NAME		  23
#define F_TE_COUNTER		  30
#define F_TE_DOUBLE_COUNTER	  44
#define F_TE_FLOW_IDS		  47
#define F_TE_TERMINATING_FLOW_IDS 48
#define TYPE_SLICE_BEGIN	  1
#define TYPE_SLICE_END		  2
#define TYPE_INSTANT		  3
#define TYPE_COUNTER		  4
/* DebugAnnotation */
#define F_DA_NAME_IID 1
#define F_DA_INT      4
#define F_DA_DOUBLE   5
#define F_DA_STRING   6
/* InternedData: event_categories 1, event_names 2, debug_annotation_names 3; each entry
 * {iid 1, name 2} */
#define F_ID_CATEGORIES 1
#define F_ID_NAMES	2
#define F_ID_ANN_NAMES	3
/* CPU samples: TracePacket.perf_sample (PerfSample: cpu 1, pid 2, tid 3, callstack_iid 4,
 * cpu_mode 5), their stacks interned in InternedData: function_names 5 and mapping_paths 17
 * (InternedString {iid 1, str 2}), frames 6 (Frame {iid 1, function_name_id 2, mapping_id
 * 3, rel_pc 4}), callstacks 7 (Callstack {iid 1, frame_ids 2, the outermost frame first}),
 * mappings 19 (Mapping {iid 1, path_string_ids 7}) */
#define F_TP_PERF_SAMPLE    66
#define F_PS_CPU	    1
#define F_PS_PID	    2
#define F_PS_TID	    3
#define F_PS_CALLSTACK	    4
#define F_PS_CPU_MODE	    5
#define CPU_MODE_USER	    2
#define F_ID_FUNCTION_NAMES 5
#define F_ID_FRAMES	    6
#define F_ID_CALLSTACKS	    7
#define F_ID_MAPPING_PATHS  17
#define F_ID_MAPPINGS	    19

#define SEQ_ID	     1
#define MAX_DEPTH    8	       /* nesting of the messages we write */
#define MAX_INTERNED (1 << 18) /* interned strings per kind */
#define MAX_LANES    256
#define MAX_STACK    1024

/* ---- protobuf wire encoding ----------------------------------------------------------- */

/*
 * A buffer messages are encoded into.  The scalar writes below (varints, fixed64, a
 * nested message's tag and length) do not check for room: a packet starts with
 * pb_reserve(p, PB_SLACK), more than the scalar fields of any packet take (a track event
 * with TL_MAX_ARGS arguments and its interned entries: < 700 bytes), and a string (the one
 * write that checks) leaves PB_SLACK bytes of room after it; one check per packet and
 * string instead of one per field.  Writers of longer runs of scalars (a CPU sample's
 * frames) reserve for them.
 */
struct pb {
	uint8_t *b;
	size_t len, cap;
	size_t open[MAX_DEPTH]; /* offset of the length byte of each open message */
	int depth;
};

/* Bytes a tag and a varint or fixed64 value take at most (field numbers < 2^11). */
#define PB_FIELD_MAX 12
/* Room for the scalar fields of one packet (see struct pb). */
#define PB_SLACK 1024

static void __attribute__((noinline)) pb_grow(struct pb *p, size_t n)
{
	size_t cap = p->cap ? p->cap : 4096;

	while (cap - p->len < n)
		cap *= 2;
	p->b = xrealloc(p->b, cap);
	p->cap = cap;
}

/* Room for n more bytes. */
static inline void pb_reserve(struct pb *p, size_t n)
{
	if (p->cap - p->len < n)
		pb_grow(p, n);
}

/*
 * Cursor writes: d is where the next byte goes (room reserved as above); each returns the
 * cursor after what it wrote.  The hot paths (track events, slice ends) keep their cursor
 * in a local variable, in a register: through struct pb every byte stored would reload b
 * and len (a byte store may alias them).  Offsets into p, not pointers, keep the open
 * messages: a string write may move the buffer.
 */
static inline uint8_t *put_varint(uint8_t *d, uint64_t v)
{
	while (v >= 0x80) {
		*d++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*d++ = (uint8_t)v;
	return d;
}

static inline uint8_t *put_uint(uint8_t *d, unsigned field, uint64_t v)
{
	return put_varint(put_varint(d, (uint64_t)field << 3), v);
}

static inline uint8_t *put_fixed64(uint8_t *d, unsigned field, uint64_t v)
{
	d = put_varint(d, ((uint64_t)field << 3) | 1);
	for (int i = 0; i < 8; i++)
		d[i] = (uint8_t)(v >> (8 * i));
	return d + 8;
}

static inline uint8_t *put_double(uint8_t *d, unsigned field, double x)
{
	uint64_t v;

	memcpy(&v, &x, sizeof(v));
	return put_fixed64(d, field, v);
}

/* A length-delimited field of n bytes: room for them, and PB_SLACK after, reserved here
 * (the cursor returned may be in a new buffer). */
static inline uint8_t *put_bytes(struct pb *p, uint8_t *d, unsigned field, const void *s, size_t n)
{
	p->len = (size_t)(d - p->b);
	pb_reserve(p, PB_FIELD_MAX + n + PB_SLACK);
	d = put_varint(p->b + p->len, ((uint64_t)field << 3) | 2);
	d = put_varint(d, n);
	memcpy(d, s, n);
	return d + n;
}

/* Open a nested message: its tag and a one-byte length at offset *at of p, for
 * put_end(). */
static inline uint8_t *put_begin(struct pb *p, uint8_t *d, unsigned field, size_t *at)
{
	d = put_varint(d, ((uint64_t)field << 3) | 2);
	*at = (size_t)(d - p->b);
	*d++ = 0;
	return d;
}

/* (put_end() of a message of 128 bytes or more: its length takes k > 1 bytes, the
 * message moves) */
static uint8_t *__attribute__((noinline)) put_end_long(struct pb *p, uint8_t *d, size_t at)
{
	uint8_t tmp[10];
	size_t n = (size_t)(d - p->b) - at - 1;
	size_t k = (size_t)(put_varint(tmp, n) - tmp);

	p->len = (size_t)(d - p->b);
	pb_reserve(p, k - 1 + PB_SLACK);
	memmove(p->b + at + k, p->b + at + 1, n);
	memcpy(p->b + at, tmp, k);
	p->len += k - 1;
	return p->b + p->len;
}

/* Close the message opened at offset at: its length, the shortest varint. */
static inline uint8_t *put_end(struct pb *p, uint8_t *d, size_t at)
{
	size_t n = (size_t)(d - p->b) - at - 1;

	if (n >= 0x80)
		return put_end_long(p, d, at);
	p->b[at] = (uint8_t)n;
	return d;
}

/* The same on p's end (p->len), the open messages on p->open. */
static inline void pb_uint(struct pb *p, unsigned field, uint64_t v)
{
	uint8_t *d = put_uint(p->b + p->len, field, v);

	p->len = (size_t)(d - p->b);
}

static inline void pb_bytes(struct pb *p, unsigned field, const void *data, size_t n)
{
	uint8_t *d = put_bytes(p, p->b + p->len, field, data, n);

	p->len = (size_t)(d - p->b);
}

static inline void pb_str(struct pb *p, unsigned field, const char *s)
{
	pb_bytes(p, field, s, strlen(s));
}

static inline void pb_begin(struct pb *p, unsigned field)
{
	size_t at;
	uint8_t *d = put_begin(p, p->b + p->len, field, &at);

	p->len = (size_t)(d - p->b);
	p->open[p->depth++] = at;
}

static inline void pb_end(struct pb *p)
{
	size_t at = p->open[--p->depth];
	uint8_t *d = put_end(p, p->b + p->len, at);

	p->len = (size_t)(d - p->b);
}

/* ---- interning ------------------------------------------------------------------------- */

/* Strings to iids: open addressing, keys compared by length first. */
struct intern_table {
	char **keys;	/* NULL = empty slot; heap copies */
	uint32_t *lens; /* strlen(keys[i]) */
	uint64_t *iids; /* iid of keys[i] */
	size_t cap, n;
	const char *last; /* the key added last */
};

/* A hash of the n bytes at s, eight at a time. */
static uint64_t str_hash(const char *s, size_t n)
{
	uint64_t h = (uint64_t)n * 0x9e3779b97f4a7c15ULL, w;

	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 29;
	}
	for (w = 0; n; n--)
		w = (w << 8) | (unsigned char)s[n - 1];
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 32);
}

/* iid of s (n bytes), 0 when not interned yet; *slot = where it is, or would go */
static uint64_t intern_find(struct intern_table *t, const char *s, size_t n, size_t *slot)
{
	size_t i;

	if (!t->cap) {
		t->cap = 1024;
		t->keys = xcalloc(t->cap, sizeof(*t->keys));
		t->lens = xcalloc(t->cap, sizeof(*t->lens));
		t->iids = xcalloc(t->cap, sizeof(*t->iids));
	}
	for (i = str_hash(s, n) & (t->cap - 1); t->keys[i]; i = (i + 1) & (t->cap - 1))
		if (t->lens[i] == n && !memcmp(t->keys[i], s, n))
			break;
	*slot = i;
	return t->keys[i] ? t->iids[i] : 0;
}

static uint64_t intern_add(struct intern_table *t, const char *s, size_t n, size_t slot)
{
	t->keys[slot] = xmalloc(n + 1);
	memcpy(t->keys[slot], s, n);
	t->keys[slot][n] = '\0';
	t->last = t->keys[slot];
	t->lens[slot] = (uint32_t)n;
	t->iids[slot] = ++t->n;
	if (2 * t->n > t->cap) { /* grow: rehash */
		size_t cap = 2 * t->cap;
		char **keys = xcalloc(cap, sizeof(*keys));
		uint32_t *lens = xcalloc(cap, sizeof(*lens));
		uint64_t *iids = xcalloc(cap, sizeof(*iids));

		for (size_t i = 0; i < t->cap; i++) {
			size_t j;

			if (!t->keys[i])
				continue;
			for (j = str_hash(t->keys[i], t->lens[i]) & (cap - 1); keys[j];
			     j = (j + 1) & (cap - 1))
				;
			keys[j] = t->keys[i];
			lens[j] = t->lens[i];
			iids[j] = t->iids[i];
		}
		free(t->keys);
		free(t->lens);
		free(t->iids);
		t->keys = keys;
		t->lens = lens;
		t->iids = iids;
		t->cap = cap;
	}
	return t->n;
}

static void intern_free(struct intern_table *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->keys[i]);
	free(t->keys);
	free(t->lens);
	free(t->iids);
}

/* ---- the sink --------------------------------------------------------------------------- */

struct lane {
	uint64_t uuid;
	int64_t *ends; /* ends of the open slices, innermost last */
	int n, cap;
};

struct pf_track {
	struct tl_track *t;
	struct lane *lanes;
	int nlanes;
};

/* A string interned in the packet being built. */
struct new_string {
	unsigned kind; /* F_ID_* */
	uint64_t iid;
	const char *s;
	size_t n; /* strlen(s) */
};

#define OUT_BUF (256 * 1024) /* packets gathered for one fwrite() */
#define NCACHE	64	     /* argument names and categories known by address */

/* Interned strings known by their address (argument names: static strings; categories:
 * strings that live until the export ends, timeline.h). */
struct addr_cache {
	struct {
		const char *key; /* NULL: empty */
		uint64_t iid;
	} e[NCACHE];
	size_t n;
};

struct pf {
	struct tl_sink sink;
	/* the packets: each is encoded in place after the ones before it (a Trace.packet
	 * field), written out past OUT_BUF bytes */
	struct pb out;
	struct addr_cache ann, cat;
	/* the name of the last event of each category (by the category's address, as cat) and
	 * its iid: a loop's events repeat their names; name is the names table's copy */
	struct {
		const char *cat, *name;
		size_t n;
		uint64_t iid;
	} last[NCACHE];
	struct intern_table names, cats, anns;
	/* CPU samples' interning (pf_sample()): function names, module paths, mappings by
	 * path, frames by "function:mapping", callstacks by their frames; and the
	 * InternedData of the packet being built */
	struct intern_table fnames, mpaths, maps, frames, stacks;
	struct pb sid;
	struct strbuf key; /* a frame's or a callstack's interning key */
	struct new_string news[TL_MAX_ARGS + 2];
	int nnews;
	struct pf_track **tracks; /* every track with slices, for pass_end() */
	size_t ntracks, tracks_cap;
	uint64_t next_lane_uuid;
	int failed;
};

static int flush_out(struct pf *pf)
{
	if (pf->out.len && fwrite(pf->out.b, 1, pf->out.len, pf->sink.out) != pf->out.len)
		pf->failed = 1;
	pf->out.len = 0;
	return pf->failed ? -1 : 0;
}

/* iid of s (n bytes) in table t (F_ID_* kind), interning it in this packet when new; 0
 * when the table is full (write the string inline).  *key (when not NULL): the table's
 * copy of s (it lives until the sink is freed). */
static uint64_t iid_of(struct pf *pf, struct intern_table *t, unsigned kind, const char *s,
		       size_t n, const char **key)
{
	size_t slot = 0;
	uint64_t iid = intern_find(t, s, n, &slot);
	const char *copy = NULL;

	if (iid) {
		copy = t->keys[slot];
	} else if (t->n < MAX_INTERNED) {
		iid = intern_add(t, s, n, slot);
		copy = t->last;
		pf->news[pf->nnews++] = (struct new_string){kind, iid, s, n};
	}
	if (key)
		*key = copy;
	return iid;
}

/* A slot of NCACHE for address p (a multiplicative hash). */
static inline size_t addr_slot(const void *p)
{
	return (size_t)(((uintptr_t)p * 0x9e3779b97f4a7c15ULL) >> 32) & (NCACHE - 1);
}

/* iid of the string at address s (that lives until the export ends) through cache c
 * (open addressing on the address; once half full, new addresses are looked up by their
 * text each time). */
static inline uint64_t iid_by_addr(struct pf *pf, struct addr_cache *c, struct intern_table *t,
				   unsigned kind, const char *s)
{
	size_t i = addr_slot(s);
	uint64_t iid;

	for (; c->e[i].key; i = (i + 1) & (NCACHE - 1))
		if (c->e[i].key == s)
			return c->e[i].iid;
	iid = iid_of(pf, t, kind, s, strlen(s), NULL);
	if (2 * (c->n + 1) <= NCACHE) {
		c->e[i].key = s;
		c->e[i].iid = iid;
		c->n++;
	}
	return iid;
}

/* Start a packet (a Trace.packet field in pf->out): its timestamp (none when ts < 0) and
 * sequence, with room for its scalar fields. */
static inline void packet_start(struct pf *pf, int64_t ts)
{
	struct pb *p = &pf->out;

	pb_reserve(p, PB_SLACK);
	pb_begin(p, F_PACKET);
	pf->nnews = 0;
	if (ts >= 0)
		pb_uint(p, F_TP_TIMESTAMP, (uint64_t)ts);
	pb_uint(p, F_TP_SEQ_ID, SEQ_ID);
}

/* Close the packet; write the buffer out past OUT_BUF bytes. */
static inline int packet_end(struct pf *pf)
{
	pb_end(&pf->out);
	if (pf->out.len >= OUT_BUF)
		return flush_out(pf);
	return pf->failed ? -1 : 0;
}

/* The interned data of this packet, then its end. */
static int packet_finish(struct pf *pf)
{
	struct pb *p = &pf->out;

	if (pf->nnews) {
		pb_begin(p, F_TP_INTERNED);
		for (int i = 0; i < pf->nnews; i++) {
			pb_begin(p, pf->news[i].kind);
			pb_uint(p, 1, pf->news[i].iid);
			pb_bytes(p, 2, pf->news[i].s, pf->news[i].n);
			pb_end(p);
		}
		pb_end(p);
	}
	return packet_end(pf);
}

static int pf_track(struct tl_sink *s, struct tl_track *t)
{
	struct pf *pf = s->priv;
	struct pb *p = &pf->out;

	packet_start(pf, -1);
	pb_begin(p, F_TP_TRACK_DESC);
	pb_uint(p, F_TD_UUID, t->uuid);
	switch (t->kind) {
	case TL_TRACK_PROCESS:
		pb_begin(p, F_TD_PROCESS);
		pb_uint(p, F_PD_PID, (uint64_t)(int64_t)t->pid);
		pb_str(p, F_PD_NAME, t->name);
		pb_end(p);
		pb_uint(p, F_TD_CHILD_ORDERING, CHILD_ORDERING_EXPLICIT);
		break;
	case TL_TRACK_THREAD:
		pb_begin(p, F_TD_THREAD);
		pb_uint(p, F_THD_PID, (uint64_t)(int64_t)t->pid);
		pb_uint(p, F_THD_TID, (uint64_t)t->tid);
		pb_str(p, F_THD_NAME, t->name);
		pb_end(p);
		pb_uint(p, F_TD_CHILD_ORDERING, CHILD_ORDERING_EXPLICIT);
		break;
	case TL_TRACK_ROW:
	case TL_TRACK_COUNTER:
		if (t->parent)
			pb_uint(p, F_TD_PARENT, t->parent->uuid);
		pb_str(p, F_TD_NAME, t->name);
		pb_uint(p, F_TD_SIBLING_RANK, (uint64_t)(int64_t)t->sort_index);
		if (t->kind == TL_TRACK_COUNTER) {
			pb_begin(p, F_TD_COUNTER);
			pb_uint(p, F_CD_UNIT,
				t->unit && !strcmp(t->unit, "bytes") ? UNIT_SIZE_BYTES
								     : UNIT_COUNT);
			pb_end(p);
		}
		break;
	}
	pb_end(p);
	return packet_end(pf);
}

static struct pf_track *track_state(struct pf *pf, struct tl_track *t)
{
	struct pf_track *ps = t->priv;

	if (ps)
		return ps;
	ps = xcalloc(1, sizeof(*ps));
	ps->t = t;
	t->priv = ps;
	GP_ALLOC_GROW(pf->tracks, pf->ntracks + 1, pf->tracks_cap);
	pf->tracks[pf->ntracks++] = ps;
	return ps;
}

/* A slice end on lane uuid at ts. */
static int write_end(struct pf *pf, uint64_t uuid, int64_t ts)
{
	struct pb *p = &pf->out;
	size_t pkt, te;
	uint8_t *d;

	pb_reserve(p, PB_SLACK);
	d = put_begin(p, p->b + p->len, F_PACKET, &pkt);
	d = put_uint(d, F_TP_TIMESTAMP, (uint64_t)ts);
	d = put_uint(d, F_TP_SEQ_ID, SEQ_ID);
	d = put_uint(d, F_TP_SEQ_FLAGS, SEQ_NEEDS_INCREMENTAL);
	d = put_begin(p, d, F_TP_TRACK_EVENT, &te);
	d = put_uint(d, F_TE_TYPE, TYPE_SLICE_END);
	d = put_uint(d, F_TE_TRACK_UUID, uuid);
	d = put_end(p, d, te);
	d = put_end(p, d, pkt);
	p->len = (size_t)(d - p->b);
	if (p->len >= OUT_BUF)
		return flush_out(pf);
	return pf->failed ? -1 : 0;
}

/* Close the slices of lane l that end at or before ts. */
static int close_until(struct pf *pf, struct lane *l, int64_t ts)
{
	while (l->n && l->ends[l->n - 1] <= ts)
		if (write_end(pf, l->uuid, l->ends[--l->n]) < 0)
			return -1;
	return 0;
}

/* A new lane of track ps: a sibling track of the same name. */
static struct lane *add_lane(struct pf *pf, struct pf_track *ps)
{
	struct lane *l;

	ps->lanes = xrealloc(ps->lanes, (size_t)(ps->nlanes + 1) * sizeof(*ps->lanes));
	l = &ps->lanes[ps->nlanes];
	memset(l, 0, sizeof(*l));
	if (ps->nlanes == 0) {
		l->uuid = ps->t->uuid;
	} else {
		struct pb *p = &pf->out;

		l->uuid = pf->next_lane_uuid++;
		packet_start(pf, -1);
		pb_begin(p, F_TP_TRACK_DESC);
		pb_uint(p, F_TD_UUID, l->uuid);
		if (ps->t->parent)
			pb_uint(p, F_TD_PARENT, ps->t->parent->uuid);
		pb_str(p, F_TD_NAME, ps->t->name);
		pb_uint(p, F_TD_SIBLING_RANK, (uint64_t)(int64_t)ps->t->sort_index);
		pb_end(p);
		packet_end(pf);
	}
	ps->nlanes++;
	return l;
}

/* The lane where [ts, end] nests, after closing what ended before ts on the lanes looked
 * at; a new lane when none fits. */
static struct lane *place(struct pf *pf, struct pf_track *ps, int64_t ts, int64_t *end)
{
	struct lane *l;

	for (int i = 0; i < ps->nlanes; i++) {
		l = &ps->lanes[i];
		if (close_until(pf, l, ts) < 0)
			return NULL;
		if (l->n < MAX_STACK && (l->n == 0 || *end <= l->ends[l->n - 1]))
			return l;
	}
	if (ps->nlanes < MAX_LANES)
		return add_lane(pf, ps);
	/* no room: nest in the last lane, cut at the open slice's end */
	l = &ps->lanes[ps->nlanes - 1];
	if (l->n >= MAX_STACK)
		return NULL;
	if (l->n && *end > l->ends[l->n - 1])
		*end = l->ends[l->n - 1];
	return l;
}

/* The arguments of e as DebugAnnotations at cursor d. */
static uint8_t *write_args(struct pf *pf, uint8_t *d, const struct tl_event *e)
{
	struct pb *p = &pf->out;

	for (int i = 0; i < e->nargs; i++) {
		const struct tl_arg *a = &e->args[i];
		/* the names are static strings */
		uint64_t iid = iid_by_addr(pf, &pf->ann, &pf->anns, F_ID_ANN_NAMES, a->name);
		size_t at;

		d = put_begin(p, d, F_TE_DEBUG, &at);
		if (iid)
			d = put_uint(d, F_DA_NAME_IID, iid);
		else /* DebugAnnotation.name */
			d = put_bytes(p, d, 10, a->name, strlen(a->name));
		switch (a->type) {
		case TL_ARG_INT:
			d = put_uint(d, F_DA_INT, (uint64_t)a->i);
			break;
		case TL_ARG_DOUBLE:
			d = put_double(d, F_DA_DOUBLE, a->d);
			break;
		case TL_ARG_STR: {
			const char *s = a->s ? a->s : "";

			d = put_bytes(p, d, F_DA_STRING, s, strlen(s));
			break;
		}
		}
		d = put_end(p, d, at);
	}
	return d;
}

/* iid of key in t, adding it when new (*added = 1: write its entry in this packet). */
static uint64_t sample_iid(struct intern_table *t, const char *key, int *added)
{
	size_t slot = 0, n = strlen(key);
	uint64_t iid = intern_find(t, key, n, &slot);

	*added = !iid;
	return iid ? iid : intern_add(t, key, n, slot);
}

/* An InternedString entry {iid, str} of field `field` in the packet's InternedData. */
static void sample_string(struct pb *id, unsigned field, uint64_t iid, const char *s)
{
	pb_begin(id, field);
	pb_uint(id, 1, iid);
	pb_str(id, 2, s);
	pb_end(id);
}

/* A CPU sample: a PerfSample packet whose callstack (and its frames, function names and
 * mappings, when new) is interned in the same packet. */
static int pf_sample(struct pf *pf, const struct tl_event *e)
{
	struct pb *p = &pf->out, *id = &pf->sid;
	uint64_t frame[256];
	struct strbuf *key = &pf->key;
	int n = e->nframes < 256 ? e->nframes : 256, added;
	uint64_t stack;

	id->len = 0;
	id->depth = 0;
	for (int i = 0; i < n; i++) {
		const struct tl_frame *f = &e->frames[i];
		uint64_t fn = sample_iid(&pf->fnames, f->name, &added), map = 0;

		pb_reserve(id, PB_SLACK); /* this frame's scalar fields */
		if (added)
			sample_string(id, F_ID_FUNCTION_NAMES, fn, f->name);
		if (f->module[0]) {
			map = sample_iid(&pf->maps, f->module, &added);
			if (added) {
				uint64_t path = sample_iid(&pf->mpaths, f->module, &added);

				sample_string(id, F_ID_MAPPING_PATHS, path, f->module);
				pb_begin(id, F_ID_MAPPINGS);
				pb_uint(id, 1, map);
				pb_uint(id, 7, path);
				pb_end(id);
			}
		}
		strbuf_reset(key);
		strbuf_addf(key, "%llu:%llu", (unsigned long long)fn, (unsigned long long)map);
		frame[i] = sample_iid(&pf->frames, key->buf, &added);
		if (added) {
			pb_begin(id, F_ID_FRAMES);
			pb_uint(id, 1, frame[i]);
			pb_uint(id, 2, fn);
			if (map) {
				pb_uint(id, 3, map);
				pb_uint(id, 4,
					0); /* rel_pc: the frame is named, not re-symbolised */
			}
			pb_end(id);
		}
	}
	strbuf_reset(key);
	for (int i = n - 1; i >= 0; i--) /* outermost first, as Callstack.frame_ids */
		strbuf_addf(key, "%llu,", (unsigned long long)frame[i]);
	stack = sample_iid(&pf->stacks, key->buf, &added);
	if (added) {
		pb_reserve(id, (size_t)n * PB_FIELD_MAX + PB_SLACK);
		pb_begin(id, F_ID_CALLSTACKS);
		pb_uint(id, 1, stack);
		for (int i = n - 1; i >= 0; i--)
			pb_uint(id, 2, frame[i]);
		pb_end(id);
	}

	packet_start(pf, e->ts);
	pb_uint(p, F_TP_SEQ_FLAGS, SEQ_NEEDS_INCREMENTAL);
	if (id->len) {
		pb_begin(p, F_TP_INTERNED);
		pb_reserve(p, id->len + PB_SLACK);
		memcpy(p->b + p->len, id->b, id->len);
		p->len += id->len;
		pb_end(p);
	}
	pb_begin(p, F_TP_PERF_SAMPLE);
	pb_uint(p, F_PS_CPU, (uint64_t)(uint32_t)e->cpu);
	pb_uint(p, F_PS_PID, (uint64_t)(uint32_t)e->track->pid);
	pb_uint(p, F_PS_TID, (uint64_t)(uint32_t)e->track->tid);
	pb_uint(p, F_PS_CALLSTACK, stack);
	pb_uint(p, F_PS_CPU_MODE, CPU_MODE_USER);
	pb_end(p);
	pf->sink.events++;
	return packet_end(pf);
}

static int pf_event(struct tl_sink *s, const struct tl_event *e)
{
	struct pf *pf = s->priv;
	struct pb *p = &pf->out;
	uint64_t uuid = e->track->uuid;
	int64_t end = e->ts + (e->dur > 0 ? e->dur : 0);
	unsigned type;
	size_t te;
	uint8_t *d;

	if (pf->failed)
		return -1;
	if (e->type == TL_SAMPLE)
		return pf_sample(pf, e);
	switch (e->type) {
	case TL_SLICE:
	case TL_RANGE: {
		struct lane *l = place(pf, track_state(pf, e->track), e->ts, &end);

		if (!l)
			return pf->failed ? -1 : 0;
		uuid = l->uuid;
		GP_ALLOC_GROW(l->ends, l->n + 1, l->cap);
		l->ends[l->n++] = end;
		type = TYPE_SLICE_BEGIN;
		break;
	}
	case TL_INSTANT:
		type = TYPE_INSTANT;
		break;
	case TL_COUNTER:
	default:
		type = TYPE_COUNTER;
		break;
	}
	packet_start(pf, e->ts);
	d = p->b + p->len;
	d = put_uint(d, F_TP_SEQ_FLAGS, SEQ_NEEDS_INCREMENTAL);
	d = put_begin(p, d, F_TP_TRACK_EVENT, &te);
	d = put_uint(d, F_TE_TYPE, type);
	d = put_uint(d, F_TE_TRACK_UUID, uuid);
	if (type == TYPE_COUNTER) {
		int64_t iv = (int64_t)e->value;

		if ((double)iv == e->value)
			d = put_uint(d, F_TE_COUNTER, (uint64_t)iv);
		else
			d = put_double(d, F_TE_DOUBLE_COUNTER, e->value);
	} else {
		const char *name = e->name ? e->name : "";
		size_t n = strlen(name), k = addr_slot(e->cat);
		uint64_t iid;

		if (pf->last[k].name && pf->last[k].cat == e->cat && pf->last[k].n == n &&
		    !memcmp(pf->last[k].name, name, n)) {
			iid = pf->last[k].iid;
		} else {
			iid = iid_of(pf, &pf->names, F_ID_NAMES, name, n, &pf->last[k].name);
			pf->last[k].cat = e->cat;
			pf->last[k].n = n;
			pf->last[k].iid = iid;
		}

		if (iid)
			d = put_uint(d, F_TE_NAME_IID, iid);
		else
			d = put_bytes(p, d, F_TE_NAME, name, n);
		if (e->cat) {
			iid = iid_by_addr(pf, &pf->cat, &pf->cats, F_ID_CATEGORIES, e->cat);
			if (iid)
				d = put_uint(d, F_TE_CATEGORY_IIDS, iid);
			else
				d = put_bytes(p, d, F_TE_CATEGORIES, e->cat, strlen(e->cat));
		}
		d = write_args(pf, d, e);
		if (e->flow_out)
			d = put_fixed64(d, F_TE_FLOW_IDS, e->flow_out);
		if (e->flow_in)
			d = put_fixed64(d, F_TE_TERMINATING_FLOW_IDS, e->flow_in);
	}
	d = put_end(p, d, te);
	p->len = (size_t)(d - p->b);
	s->events++;
	return packet_finish(pf);
}

static int pf_pass_end(struct tl_sink *s)
{
	struct pf *pf = s->priv;

	for (size_t i = 0; i < pf->ntracks; i++)
		for (int k = 0; k < pf->tracks[i]->nlanes; k++)
			if (close_until(pf, &pf->tracks[i]->lanes[k], INT64_MAX) < 0)
				return -1;
	return pf->failed ? -1 : 0;
}

static int pf_end(struct tl_sink *s)
{
	if (pf_pass_end(s) < 0 || flush_out(s->priv) < 0 || fflush(s->out) != 0 || ferror(s->out))
		return -1;
	return 0;
}

static void pf_destroy(struct tl_sink *s)
{
	struct pf *pf = s->priv;

	for (size_t i = 0; i < pf->ntracks; i++) {
		for (int k = 0; k < pf->tracks[i]->nlanes; k++)
			free(pf->tracks[i]->lanes[k].ends);
		free(pf->tracks[i]->lanes);
		pf->tracks[i]->t->priv = NULL;
		free(pf->tracks[i]);
	}
	free(pf->tracks);
	intern_free(&pf->names);
	intern_free(&pf->cats);
	intern_free(&pf->anns);
	intern_free(&pf->fnames);
	intern_free(&pf->mpaths);
	intern_free(&pf->maps);
	intern_free(&pf->frames);
	intern_free(&pf->stacks);
	free(pf->sid.b);
	strbuf_release(&pf->key);
	free(pf->out.b);
	free(pf);
}

struct tl_sink *tl_pftrace_sink(FILE *out)
{
	struct pf *pf = xcalloc(1, sizeof(*pf));

	pf->key = (struct strbuf)STRBUF_INIT;
	pf->sink.track = pf_track;
	pf->sink.event = pf_event;
	pf->sink.pass_end = pf_pass_end;
	pf->sink.end = pf_end;
	pf->sink.destroy = pf_destroy;
	pf->sink.out = out;
	pf->sink.priv = pf;
	pb_reserve(&pf->out, OUT_BUF + PB_SLACK);
	pf->next_lane_uuid = 1ULL << 62; /* the walk numbers its tracks from 1 */
	/* the first packet: this sequence starts with empty incremental state */
	packet_start(pf, -1);
	pb_uint(&pf->out, F_TP_SEQ_FLAGS, SEQ_INCREMENTAL_CLEARED);
	packet_end(pf);
	return &pf->sink;
}

void tl_sink_free(struct tl_sink *s)
{
	if (s)
		s->destroy(s);
}
