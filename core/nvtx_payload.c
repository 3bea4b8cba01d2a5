/*
 * nvtx_payload.c - NVTX extended payloads to JSON (nvtx_payload.h).
 *
 * Entry types and flags are the NVTX payload extension's (nvtx3/nvToolsExtPayload.h,
 * NVTX_PAYLOAD_ENTRY_TYPE_*, NVTX_PAYLOAD_ENTRY_FLAG_*); their numbers are written out
 * here so the recorder does not need the NVTX headers.  Sizes are the x86-64 Linux ones
 * (the application runs on the recorder's host: wire.h, native layout).
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nvtx_payload.h"

/* NVTX_PAYLOAD_ENTRY_FLAG_* */
#define EF_POINTER     (1u << 1)
#define EF_OFF_BASE    (1u << 2)
#define EF_OFF_HERE    (1u << 3)
#define EF_ARRAY(f)    (((f) >> 4) & 7u) /* 0 none, 1 fixed size, 2.. variable */
#define EF_ARRAY_FIXED 1u
#define EF_HIDE	       (1u << 9)

/* NVTX_PAYLOAD_SCHEMA_TYPE_STATIC, _DYNAMIC */
#define ST_STATIC  1
#define ST_DYNAMIC 2

/* NVTX_PAYLOAD_SCHEMA_ID_STATIC_START: entry types from here on are schema / enum ids */
#define ID_STATIC_START (1ull << 24)

#define ARRAY_MAX 4096 /* elements of a fixed-size array entry */

/* How an entry's value is written. */
enum pk { PK_BAD, PK_INT, PK_UINT, PK_FLOAT, PK_STR, PK_ADDR, PK_REGSTR, PK_ENUM };

struct pl_entry {
	uint64_t offset;   /* bytes from the payload's start */
	uint64_t type;	   /* PK_ENUM: the enum's id */
	uint32_t size;	   /* bytes of one element (PK_STR: of the char array) */
	uint32_t count;	   /* elements: 1, or the length of a fixed-size array */
	uint32_t name_sid; /* 0: "entry<i>" */
	uint8_t kind;	   /* enum pk */
	uint8_t array;	   /* written as a JSON array */
	uint8_t hide;	   /* NVTX_PAYLOAD_ENTRY_FLAG_HIDE: left out */
};

struct pl_enum_ent {
	uint64_t value;
	uint32_t name_sid;
};

struct pl_schema {
	uint64_t domain, id;
	int is_enum;
	int bad;	       /* a schema whose payloads are not decoded (nvtx_payload.h) */
	uint32_t n;	       /* entries */
	uint32_t enum_size;    /* is_enum: bytes of a value */
	struct pl_entry *e;    /* !is_enum: n entries */
	struct pl_enum_ent *v; /* is_enum: n enumerators */
};

struct nvtx_schemas {
	struct pl_schema *v;
	size_t n, alloc;
	struct i64map idx; /* key(domain, id) -> index in v (verified on lookup) */
};

static int64_t key(uint64_t domain, uint64_t id)
{
	uint64_t k = id * 0x9e3779b97f4a7c15ull ^ (domain + 1) * 0xc2b2ae3d27d4eb4full;

	return (int64_t)k == I64_EMPTY ? (int64_t)(k ^ 1) : (int64_t)k;
}

static const struct pl_schema *find(const struct nvtx_schemas *s, uint64_t domain, uint64_t id)
{
	const int64_t *i = i64map_find(&s->idx, key(domain, id));

	if (!i || s->v[*i].domain != domain || s->v[*i].id != id)
		return NULL;
	return &s->v[*i];
}

struct nvtx_schemas *nvtx_schemas_new(void)
{
	return xcalloc(1, sizeof(struct nvtx_schemas));
}

static void schema_clear(struct pl_schema *p)
{
	free(p->e);
	free(p->v);
	memset(p, 0, sizeof(*p));
}

void nvtx_schemas_free(struct nvtx_schemas *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		schema_clear(&s->v[i]);
	free(s->v);
	i64map_free(&s->idx);
	free(s);
}

/* The slot for (domain, id): the one it had, else a new one; NULL at NVTX_SCHEMAS_MAX. */
static struct pl_schema *slot(struct nvtx_schemas *s, uint64_t domain, uint64_t id)
{
	int found;
	int64_t *i;

	i = i64map_find(&s->idx, key(domain, id));
	if (i && s->v[*i].domain == domain && s->v[*i].id == id) {
		schema_clear(&s->v[*i]);
	} else {
		if (s->n >= NVTX_SCHEMAS_MAX)
			return NULL;
		GP_ALLOC_GROW(s->v, s->n + 1, s->alloc);
		memset(&s->v[s->n], 0, sizeof(s->v[s->n]));
		i = i64map_get(&s->idx, key(domain, id), 0, &found);
		*i = (int64_t)s->n++; /* (a colliding key now leads here: the other is lost) */
	}
	s->v[*i].domain = domain;
	s->v[*i].id = id;
	return &s->v[*i];
}

/* Kind and element size of a predefined entry type (PK_BAD: not decoded). */
static enum pk type_info(uint64_t t, uint32_t *size)
{
	static const struct {
		uint8_t kind, size;
	} tab[81] = {
	    [1] = {PK_INT, 1},	  /* CHAR */
	    [2] = {PK_UINT, 1},	  /* UCHAR */
	    [3] = {PK_INT, 2},	  /* SHORT */
	    [4] = {PK_UINT, 2},	  /* USHORT */
	    [5] = {PK_INT, 4},	  /* INT */
	    [6] = {PK_UINT, 4},	  /* UINT */
	    [7] = {PK_INT, 8},	  /* LONG */
	    [8] = {PK_UINT, 8},	  /* ULONG */
	    [9] = {PK_INT, 8},	  /* LONGLONG */
	    [10] = {PK_UINT, 8},  /* ULONGLONG */
	    [11] = {PK_INT, 1},	  /* INT8 */
	    [12] = {PK_UINT, 1},  /* UINT8 */
	    [13] = {PK_INT, 2},	  /* INT16 */
	    [14] = {PK_UINT, 2},  /* UINT16 */
	    [15] = {PK_INT, 4},	  /* INT32 */
	    [16] = {PK_UINT, 4},  /* UINT32 */
	    [17] = {PK_INT, 8},	  /* INT64 */
	    [18] = {PK_UINT, 8},  /* UINT64 */
	    [19] = {PK_FLOAT, 4}, /* FLOAT */
	    [20] = {PK_FLOAT, 8}, /* DOUBLE */
	    [22] = {PK_UINT, 8},  /* SIZE */
	    [23] = {PK_ADDR, 8},  /* ADDRESS */
	    [25] = {PK_UINT, 1},  /* CHAR8 */
	    [26] = {PK_UINT, 2},  /* CHAR16 */
	    [27] = {PK_UINT, 4},  /* CHAR32 */
	    [32] = {PK_UINT, 1},  /* BYTE */
	    [43] = {PK_FLOAT, 4}, /* FLOAT32 */
	    [44] = {PK_FLOAT, 8}, /* FLOAT64 */
	    [68] = {PK_UINT, 4},  /* CATEGORY */
	    [69] = {PK_UINT, 4},  /* COLOR_ARGB */
	    [70] = {PK_UINT, 8},  /* SCOPE_ID */
	    [71] = {PK_UINT, 4},  /* PID_UINT32 */
	    [72] = {PK_UINT, 8},  /* PID_UINT64 */
	    [73] = {PK_UINT, 4},  /* TID_UINT32 */
	    [74] = {PK_UINT, 8},  /* TID_UINT64 */
	    [75] = {PK_STR, 1},	  /* CSTRING (embedded, fixed size) */
	    [76] = {PK_STR, 1},	  /* CSTRING_UTF8 */
	    [80] = {PK_REGSTR, 8} /* NVTX_REGISTERED_STRING_HANDLE (gprof-cli's: a string id) */
	};

	if (t >= sizeof(tab) / sizeof(tab[0]) || tab[t].kind == PK_BAD)
		return PK_BAD;
	*size = tab[t].size;
	return (enum pk)tab[t].kind;
}

/* Fill e from the wire entry w (index i, its offset not yet placed); 0, or -1 when the
 * entry is of a kind not decoded. */
static int entry_of(const struct nvtx_schemas *s, uint64_t domain,
		    const struct gp_nvtx_schema_entry *w, struct pl_entry *e)
{
	uint32_t size = 0, arr = EF_ARRAY(w->flags);
	enum pk k;

	memset(e, 0, sizeof(*e));
	e->name_sid = w->name_sid;
	e->hide = (w->flags & EF_HIDE) != 0;
	e->count = 1;
	if (w->flags & (EF_POINTER | EF_OFF_BASE | EF_OFF_HERE))
		return -1;
	if (w->type >= ID_STATIC_START) {
		const struct pl_schema *en = find(s, domain, w->type);

		if (en && (!en->is_enum || en->bad))
			return -1; /* a nested schema, or an enum of no integer size */
		k = PK_ENUM;
		size = en ? en->enum_size : (uint32_t)sizeof(int); /* (a C enum, until known) */
		e->type = w->type;
	} else {
		k = type_info(w->type, &size);
	}
	if (k == PK_BAD)
		return -1;
	if (k == PK_STR || ((w->type == 1 || w->type == 25) && arr == EF_ARRAY_FIXED)) {
		/* an embedded char array: CSTRING with arrayOrUnionDetail bytes */
		if (w->array_len == 0 || w->array_len > ARRAY_MAX || (arr && arr != EF_ARRAY_FIXED))
			return -1;
		k = PK_STR;
		size = (uint32_t)w->array_len;
	} else if (arr == EF_ARRAY_FIXED) {
		if (w->array_len == 0 || w->array_len > ARRAY_MAX)
			return -1;
		e->count = (uint32_t)w->array_len;
		e->array = 1;
	} else if (arr) {
		return -1; /* zero-terminated or variable length */
	}
	e->kind = (uint8_t)k;
	e->size = size;
	return 0;
}

int nvtx_schemas_add_schema(struct nvtx_schemas *s, const struct gp_rec_nvtx_schema *rec,
			    size_t size)
{
	const struct gp_nvtx_schema_entry *w = (const void *)(rec + 1);
	struct pl_schema *p;
	uint64_t end = 0;

	if (size < sizeof(*rec) || rec->n > GP_NVTX_SCHEMA_ENTRIES_MAX ||
	    (size - sizeof(*rec)) / sizeof(*w) < rec->n)
		return -1;
	p = slot(s, rec->domain, rec->schema_id);
	if (!p)
		return 1;
	p->n = rec->n;
	p->e = xcalloc(rec->n ? rec->n : 1, sizeof(*p->e));
	p->bad = rec->n == 0 || (rec->type != ST_STATIC && rec->type != ST_DYNAMIC);
	for (uint32_t i = 0; i < rec->n && !p->bad; i++) {
		struct pl_entry *e = &p->e[i];
		uint64_t align;

		if (entry_of(s, rec->domain, &w[i], e) < 0) {
			p->bad = 1;
			break;
		}
		align = e->kind == PK_STR ? 1 : e->size;
		if (rec->pack_align && rec->pack_align < align)
			align = rec->pack_align;
		/* offset 0 after the first entry: natural alignment after the previous one */
		e->offset = i == 0 || w[i].offset ? w[i].offset : (end + align - 1) / align * align;
		if (e->offset > UINT32_MAX) {
			p->bad = 1;
			break;
		}
		end = e->offset + (uint64_t)e->size * e->count;
	}
	return 0;
}

int nvtx_schemas_add_enum(struct nvtx_schemas *s, const struct gp_rec_nvtx_enum *rec, size_t size)
{
	const struct gp_nvtx_enum_entry *w = (const void *)(rec + 1);
	struct pl_schema *p;

	if (size < sizeof(*rec) || rec->n > GP_NVTX_ENUM_ENTRIES_MAX ||
	    (size - sizeof(*rec)) / sizeof(*w) < rec->n)
		return -1;
	p = slot(s, rec->domain, rec->schema_id);
	if (!p)
		return 1;
	p->is_enum = 1;
	p->n = rec->n;
	p->enum_size = rec->size;
	p->bad = rec->size != 1 && rec->size != 2 && rec->size != 4 && rec->size != 8;
	p->v = xcalloc(rec->n ? rec->n : 1, sizeof(*p->v));
	for (uint32_t i = 0; i < rec->n; i++) {
		p->v[i].value = w[i].value;
		p->v[i].name_sid = w[i].name_sid;
	}
	return 0;
}

int nvtx_ext_check(const void *tail, size_t len)
{
	const struct gp_nvtx_ext *x = tail;
	size_t at = sizeof(*x);

	if (len < sizeof(*x) || x->n == 0 || x->n > GP_NVTX_EXT_MAX)
		return -1;
	for (uint32_t i = 0; i < x->n; i++) {
		const struct gp_nvtx_ext_block *b = (const void *)((const char *)tail + at);

		if (len - at < sizeof(*b) || b->len > GP_NVTX_EXT_BYTES_MAX ||
		    len - at - sizeof(*b) < GP_REC_ALIGN(b->len))
			return -1;
		at += sizeof(*b) + GP_REC_ALIGN(b->len);
	}
	return 0;
}

/* Cut out back to its first n bytes (n <= out->len). */
static void cut(struct strbuf *out, size_t n)
{
	if (n < out->len) {
		out->len = n;
		out->buf[n] = '\0';
	}
}

/* s as a JSON string (quoted, escaped), at most n bytes, up to its first NUL. */
static void json_str(struct strbuf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	strbuf_addch(out, '"');
	for (size_t i = 0; i < n && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			strbuf_addch(out, '\\');
			strbuf_addch(out, (char)c);
		} else if (c < 0x20) {
			strbuf_addstr(out, "\\u00");
			strbuf_addch(out, hex[c >> 4]);
			strbuf_addch(out, hex[c & 15]);
		} else {
			strbuf_addch(out, (char)c);
		}
	}
	strbuf_addch(out, '"');
}

static uint64_t rd_u(const unsigned char *p, uint32_t size)
{
	uint8_t v1;
	uint16_t v2;
	uint32_t v4;
	uint64_t v8 = 0;

	switch (size) {
	case 1:
		memcpy(&v1, p, 1);
		return v1;
	case 2:
		memcpy(&v2, p, 2);
		return v2;
	case 4:
		memcpy(&v4, p, 4);
		return v4;
	default:
		memcpy(&v8, p, 8);
		return v8;
	}
}

static int64_t rd_i(const unsigned char *p, uint32_t size)
{
	uint64_t u = rd_u(p, size);

	if (size < 8 && (u >> (8 * size - 1)) & 1)
		u |= ~0ull << (8 * size);
	return (int64_t)u;
}

/* One element of entry e at p. */
static void json_value(const struct nvtx_schemas *s, uint64_t domain, const struct pl_entry *e,
		       const unsigned char *p, nvtx_text_fn text, void *ctx, struct strbuf *out)
{
	switch ((enum pk)e->kind) {
	case PK_INT:
		strbuf_addf(out, "%" PRId64, rd_i(p, e->size));
		break;
	case PK_UINT:
		strbuf_addf(out, "%" PRIu64, rd_u(p, e->size));
		break;
	case PK_FLOAT: {
		double d;
		float f;

		if (e->size == 4) {
			memcpy(&f, p, 4);
			d = f;
		} else {
			memcpy(&d, p, 8);
		}
		if (!isfinite(d))
			strbuf_addstr(out, "null");
		else
			strbuf_addf(out, e->size == 4 ? "%.9g" : "%.17g", d);
		break;
	}
	case PK_STR:
		json_str(out, (const char *)p, e->size);
		break;
	case PK_ADDR:
		strbuf_addf(out, "\"0x%" PRIx64 "\"", rd_u(p, 8));
		break;
	case PK_REGSTR: {
		uint64_t sid = rd_u(p, 8);
		const char *t = sid && sid <= UINT32_MAX ? text(ctx, (uint32_t)sid) : NULL;

		if (t)
			json_str(out, t, strlen(t));
		else
			strbuf_addf(out, "%" PRIu64, sid);
		break;
	}
	case PK_ENUM: {
		const struct pl_schema *en = find(s, domain, e->type);
		uint64_t v = rd_u(p, e->size);

		for (uint32_t i = 0; en && en->is_enum && i < en->n; i++) {
			const char *t;

			if (en->v[i].value != v)
				continue;
			t = text(ctx, en->v[i].name_sid);
			if (t) {
				json_str(out, t, strlen(t));
				return;
			}
		}
		strbuf_addf(out, "%" PRId64, rd_i(p, e->size)); /* (C enums are ints) */
		break;
	}
	default:
		strbuf_addstr(out, "null");
		break;
	}
}

/* The members of one payload (len bytes at p) of schema sc, after a ',' unless first;
 * -1 (out unchanged) when an entry lies past len. */
static int json_members(const struct nvtx_schemas *s, uint64_t domain, const struct pl_schema *sc,
			const unsigned char *p, uint32_t len, nvtx_text_fn text, void *ctx,
			struct strbuf *out, int first)
{
	size_t was = out->len;

	for (uint32_t i = 0; i < sc->n; i++) {
		const struct pl_entry *e = &sc->e[i];
		const char *name;

		if (e->offset + (uint64_t)e->size * e->count > len) {
			cut(out, was);
			return -1;
		}
		if (e->hide)
			continue;
		if (!first)
			strbuf_addch(out, ',');
		first = 0;
		name = e->name_sid ? text(ctx, e->name_sid) : NULL;
		if (name)
			json_str(out, name, strlen(name));
		else
			strbuf_addf(out, "\"entry%u\"", i);
		strbuf_addch(out, ':');
		if (e->array)
			strbuf_addch(out, '[');
		for (uint32_t k = 0; k < e->count; k++) {
			if (k)
				strbuf_addch(out, ',');
			json_value(s, domain, e, p + e->offset + (uint64_t)k * e->size, text, ctx,
				   out);
		}
		if (e->array)
			strbuf_addch(out, ']');
	}
	return 0;
}

unsigned nvtx_payload_json(const struct nvtx_schemas *s, uint64_t domain, const void *tail,
			   nvtx_text_fn text, void *ctx, struct strbuf *out, uint64_t *decoded,
			   uint64_t *undecoded)
{
	const struct gp_nvtx_ext *x = tail;
	const unsigned char *p = (const unsigned char *)(x + 1);
	size_t start = out->len;
	unsigned ok = 0;

	for (uint32_t i = 0; i < x->n; i++) {
		const struct gp_nvtx_ext_block *b = (const void *)p;
		const struct pl_schema *sc = find(s, domain, b->schema_id);

		if (!ok)
			strbuf_addch(out, '{');
		if (sc && !sc->is_enum && !sc->bad &&
		    json_members(s, domain, sc, (const unsigned char *)(b + 1), b->len, text, ctx,
				 out, out->len == start + 1) == 0)
			ok++;
		else if (!ok)
			cut(out, start);
		p += sizeof(*b) + GP_REC_ALIGN(b->len);
	}
	if (ok)
		strbuf_addch(out, '}');
	*decoded += ok;
	*undecoded += x->n - ok;
	return ok;
}
