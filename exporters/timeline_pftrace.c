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

struct pb {
	uint8_t *b;
	size_t len, cap;
	size_t open[MAX_DEPTH]; /* offset of the length byte of each open message */
	int depth;
};

static void pb_room(struct pb *p, size_t n)
{
	GP_ALLOC_GROW(p->b, p->len + n, p->cap);
}

static inline size_t varint_put(uint8_t *d, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		d[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	d[n++] = (uint8_t)v;
	return n;
}

static inline void pb_varint(struct pb *p, uint64_t v)
{
	pb_room(p, 10);
	p->len += varint_put(p->b + p->len, v);
}

static inline void pb_tag(struct pb *p, unsigned field, unsigned wire)
{
	pb_varint(p, ((uint64_t)field << 3) | wire);
}

static inline void pb_uint(struct pb *p, unsigned field, uint64_t v)
{
	pb_tag(p, field, 0);
	pb_varint(p, v);
}

static inline void pb_fixed64(struct pb *p, unsigned field, uint64_t v)
{
	pb_tag(p, field, 1);
	pb_room(p, 8);
	for (int i = 0; i < 8; i++)
		p->b[p->len++] = (uint8_t)(v >> (8 * i));
}

static inline void pb_double(struct pb *p, unsigned field, double d)
{
	uint64_t v;

	memcpy(&v, &d, sizeof(v));
	pb_fixed64(p, field, v);
}

static void pb_bytes(struct pb *p, unsigned field, const void *data, size_t n)
{
	pb_tag(p, field, 2);
	pb_varint(p, n);
	pb_room(p, n);
	memcpy(p->b + p->len, data, n);
	p->len += n;
}

static inline void pb_str(struct pb *p, unsigned field, const char *s)
{
	pb_bytes(p, field, s, strlen(s));
}

/* Open a nested message: its tag and a one-byte length to fix in pb_end(). */
static void pb_begin(struct pb *p, unsigned field)
{
	pb_tag(p, field, 2);
	pb_room(p, 1);
	p->open[p->depth++] = p->len;
	p->b[p->len++] = 0;
}

static void pb_end(struct pb *p)
{
	size_t at = p->open[--p->depth];
	size_t n = p->len - at - 1;
	uint8_t tmp[10];
	size_t k = varint_put(tmp, n);

	if (k > 1) {
		pb_room(p, k - 1);
		memmove(p->b + at + k, p->b + at + 1, n);
		p->len += k - 1;
	}
	memcpy(p->b + at, tmp, k);
}

/* ---- interning ------------------------------------------------------------------------- */

struct intern_table {
	char **keys;	/* NULL = empty slot */
	uint64_t *iids; /* iid of keys[i] */
	size_t cap, n;
};

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* iid of s, 0 when not interned yet (*slot = where it would go) */
static uint64_t intern_find(struct intern_table *t, const char *s, size_t *slot)
{
	size_t i;

	if (!t->cap) {
		t->cap = 1024;
		t->keys = xcalloc(t->cap, sizeof(*t->keys));
		t->iids = xcalloc(t->cap, sizeof(*t->iids));
	}
	for (i = str_hash(s) & (t->cap - 1); t->keys[i]; i = (i + 1) & (t->cap - 1))
		if (!strcmp(t->keys[i], s))
			return t->iids[i];
	*slot = i;
	return 0;
}

static uint64_t intern_add(struct intern_table *t, const char *s, size_t slot)
{
	t->keys[slot] = xstrdup(s);
	t->iids[slot] = ++t->n;
	if (2 * t->n > t->cap) { /* grow: rehash */
		size_t cap = 2 * t->cap;
		char **keys = xcalloc(cap, sizeof(*keys));
		uint64_t *iids = xcalloc(cap, sizeof(*iids));

		for (size_t i = 0; i < t->cap; i++) {
			size_t j;

			if (!t->keys[i])
				continue;
			for (j = str_hash(t->keys[i]) & (cap - 1); keys[j]; j = (j + 1) & (cap - 1))
				;
			keys[j] = t->keys[i];
			iids[j] = t->iids[i];
		}
		free(t->keys);
		free(t->iids);
		t->keys = keys;
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
};

#define OUT_BUF (256 * 1024)

struct pf {
	struct tl_sink sink;
	struct pb pkt; /* the packet being built */
	uint8_t *out;  /* packets waiting for one fwrite() */
	size_t nout;
	const char *ann_key[64]; /* argument names by address (static strings) -> iid */
	uint64_t ann_iid[64];
	const char *cat_key[16]; /* categories by address (tl_event.cat) -> iid */
	uint64_t cat_iid[16];
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
	if (pf->nout && fwrite(pf->out, 1, pf->nout, pf->sink.out) != pf->nout)
		pf->failed = 1;
	pf->nout = 0;
	return pf->failed ? -1 : 0;
}

/* Append the packet built in pf->pkt to the output as a Trace.packet field. */
static int flush_packet(struct pf *pf)
{
	size_t n = pf->pkt.len;

	if (pf->nout + n + 11 > OUT_BUF && flush_out(pf) < 0)
		return -1;
	if (n + 11 > OUT_BUF) { /* a packet larger than the buffer */
		uint8_t hdr[11];
		size_t k;

		hdr[0] = (F_PACKET << 3) | 2;
		k = 1 + varint_put(hdr + 1, n);
		if (fwrite(hdr, 1, k, pf->sink.out) != k ||
		    fwrite(pf->pkt.b, 1, n, pf->sink.out) != n)
			pf->failed = 1;
	} else {
		pf->out[pf->nout++] = (F_PACKET << 3) | 2;
		pf->nout += varint_put(pf->out + pf->nout, n);
		memcpy(pf->out + pf->nout, pf->pkt.b, n);
		pf->nout += n;
	}
	pf->pkt.len = 0;
	return pf->failed ? -1 : 0;
}

/* iid of s in table t (F_ID_* kind), interning it in this packet when new; 0 when the
 * table is full (write the string inline). */
static uint64_t iid_of(struct pf *pf, struct intern_table *t, unsigned kind, const char *s)
{
	size_t slot = 0;
	uint64_t iid = intern_find(t, s, &slot);

	if (iid || t->n >= MAX_INTERNED)
		return iid;
	iid = intern_add(t, s, slot);
	pf->news[pf->nnews++] = (struct new_string){kind, iid, s};
	return iid;
}

static void packet_start(struct pf *pf, int64_t ts)
{
	struct pb *p = &pf->pkt;

	p->len = 0;
	pf->nnews = 0;
	if (ts >= 0)
		pb_uint(p, F_TP_TIMESTAMP, (uint64_t)ts);
	pb_uint(p, F_TP_SEQ_ID, SEQ_ID);
}

/* The interned data of this packet, then the packet itself. */
static int packet_finish(struct pf *pf)
{
	struct pb *p = &pf->pkt;

	if (pf->nnews) {
		pb_begin(p, F_TP_INTERNED);
		for (int i = 0; i < pf->nnews; i++) {
			pb_begin(p, pf->news[i].kind);
			pb_uint(p, 1, pf->news[i].iid);
			pb_str(p, 2, pf->news[i].s);
			pb_end(p);
		}
		pb_end(p);
	}
	return flush_packet(pf);
}

static int pf_track(struct tl_sink *s, struct tl_track *t)
{
	struct pf *pf = s->priv;
	struct pb *p = &pf->pkt;

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
	return flush_packet(pf);
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
	struct pb *p = &pf->pkt;

	packet_start(pf, ts);
	pb_uint(p, F_TP_SEQ_FLAGS, SEQ_NEEDS_INCREMENTAL);
	pb_begin(p, F_TP_TRACK_EVENT);
	pb_uint(p, F_TE_TYPE, TYPE_SLICE_END);
	pb_uint(p, F_TE_TRACK_UUID, uuid);
	pb_end(p);
	return flush_packet(pf);
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
		struct pb *p = &pf->pkt;

		l->uuid = pf->next_lane_uuid++;
		packet_start(pf, -1);
		pb_begin(p, F_TP_TRACK_DESC);
		pb_uint(p, F_TD_UUID, l->uuid);
		if (ps->t->parent)
			pb_uint(p, F_TD_PARENT, ps->t->parent->uuid);
		pb_str(p, F_TD_NAME, ps->t->name);
		pb_uint(p, F_TD_SIBLING_RANK, (uint64_t)(int64_t)ps->t->sort_index);
		pb_end(p);
		flush_packet(pf);
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

static void write_args(struct pf *pf, const struct tl_event *e)
{
	struct pb *p = &pf->pkt;

	for (int i = 0; i < e->nargs; i++) {
		const struct tl_arg *a = &e->args[i];
		size_t slot = ((uintptr_t)a->name >> 3) & 63;
		uint64_t iid;

		if (pf->ann_key[slot] == a->name) { /* the names are static strings */
			iid = pf->ann_iid[slot];
		} else {
			iid = iid_of(pf, &pf->anns, F_ID_ANN_NAMES, a->name);
			pf->ann_key[slot] = a->name;
			pf->ann_iid[slot] = iid;
		}

		pb_begin(p, F_TE_DEBUG);
		if (iid)
			pb_uint(p, F_DA_NAME_IID, iid);
		else
			pb_str(p, 10, a->name); /* DebugAnnotation.name */
		switch (a->type) {
		case TL_ARG_INT:
			pb_uint(p, F_DA_INT, (uint64_t)a->i);
			break;
		case TL_ARG_DOUBLE:
			pb_double(p, F_DA_DOUBLE, a->d);
			break;
		case TL_ARG_STR:
			pb_str(p, F_DA_STRING, a->s ? a->s : "");
			break;
		}
		pb_end(p);
	}
}

/* iid of key in t, adding it when new (*added = 1: write its entry in this packet). */
static uint64_t sample_iid(struct intern_table *t, const char *key, int *added)
{
	size_t slot = 0;
	uint64_t iid = intern_find(t, key, &slot);

	*added = !iid;
	return iid ? iid : intern_add(t, key, slot);
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
	struct pb *p = &pf->pkt, *id = &pf->sid;
	uint64_t frame[256];
	struct strbuf *key = &pf->key;
	int n = e->nframes < 256 ? e->nframes : 256, added;
	uint64_t stack;

	id->len = 0;
	id->depth = 0;
	for (int i = 0; i < n; i++) {
		const struct tl_frame *f = &e->frames[i];
		uint64_t fn = sample_iid(&pf->fnames, f->name, &added), map = 0;

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
		pb_room(p, id->len);
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
	return flush_packet(pf);
}

static int pf_event(struct tl_sink *s, const struct tl_event *e)
{
	struct pf *pf = s->priv;
	struct pb *p = &pf->pkt;
	uint64_t uuid = e->track->uuid;
	int64_t end = e->ts + (e->dur > 0 ? e->dur : 0);
	unsigned type;

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
	pb_uint(p, F_TP_SEQ_FLAGS, SEQ_NEEDS_INCREMENTAL);
	pb_begin(p, F_TP_TRACK_EVENT);
	pb_uint(p, F_TE_TYPE, type);
	pb_uint(p, F_TE_TRACK_UUID, uuid);
	if (type == TYPE_COUNTER) {
		int64_t iv = (int64_t)e->value;

		if ((double)iv == e->value)
			pb_uint(p, F_TE_COUNTER, (uint64_t)iv);
		else
			pb_double(p, F_TE_DOUBLE_COUNTER, e->value);
	} else {
		uint64_t iid = iid_of(pf, &pf->names, F_ID_NAMES, e->name ? e->name : "");

		if (iid)
			pb_uint(p, F_TE_NAME_IID, iid);
		else
			pb_str(p, F_TE_NAME, e->name ? e->name : "");
		if (e->cat) {
			size_t slot = ((uintptr_t)e->cat >> 3) & 15;

			if (pf->cat_key[slot] == e->cat) {
				iid = pf->cat_iid[slot];
			} else {
				iid = iid_of(pf, &pf->cats, F_ID_CATEGORIES, e->cat);
				pf->cat_key[slot] = e->cat;
				pf->cat_iid[slot] = iid;
			}
			if (iid)
				pb_uint(p, F_TE_CATEGORY_IIDS, iid);
			else
				pb_str(p, F_TE_CATEGORIES, e->cat);
		}
		write_args(pf, e);
		if (e->flow_out)
			pb_fixed64(p, F_TE_FLOW_IDS, e->flow_out);
		if (e->flow_in)
			pb_fixed64(p, F_TE_TERMINATING_FLOW_IDS, e->flow_in);
	}
	pb_end(p);
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
	free(pf->pkt.b);
	free(pf->out);
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
	pf->out = xmalloc(OUT_BUF);
	pf->next_lane_uuid = 1ULL << 62; /* the walk numbers its tracks from 1 */
	/* the first packet: this sequence starts with empty incremental state */
	packet_start(pf, -1);
	pb_uint(&pf->pkt, F_TP_SEQ_FLAGS, SEQ_INCREMENTAL_CLEARED);
	flush_packet(pf);
	return &pf->sink;
}

void tl_sink_free(struct tl_sink *s)
{
	if (s)
		s->destroy(s);
}
