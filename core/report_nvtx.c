/*
 * report_nvtx.c - the nvtx table module: NVTX_EVENTS rows as Nsight Systems writes them
 * (nsys-sqlite-schema.md, NVTX_EVENTS; eventType from ENUM_NSYS_EVENT_TYPE):
 *   59 NvtxPushPopRange   start, end (NULL if never popped), text|textId, globalTid
 *   60 NvtxStartEndRange  start, end (NULL if never ended), rangeId, globalTid of the
 *                         starting thread, endGlobalTid of the ending one
 *   34 NvtxMark           start, end NULL
 *   75 NvtxDomainCreate   start, text = domain name, domainId
 *   76 NvtxDomainDestroy  start, domainId
 *   33 NvtxCategory       start, category, text = category name, domainId
 * Non-registered messages go to `text`, registered strings to `textId`; colour (ARGB) to
 * `color`; the payload to the matching *Value column; unset columns are NULL.  An NVTX
 * extended payload (wire.h "NVTX extended payloads": NCCL's communicator, message size,
 * ...) goes to `jsonText`, decoded with the connection's registered schemas
 * (GP_REC_NVTX_SCHEMA / _ENUM, core/nvtx_payload.h: one flat JSON object); jsonTextId and
 * binaryData stay NULL.  Payloads decoded are counted in META_DATA_EXPORT
 * GPROF_NVTX_PAYLOADS, those not decoded (unknown or unsupported schema) and those the
 * collector did not copy (GP_REC_NVTX_UNSENT) in GPROF_NVTX_PAYLOADS_UNDECODED / _UNSENT
 * (report_count_nvtx_payloads(), said at the end of `profile`).
 *
 * Domain handles are per producer connection; each (connection, handle) gets a
 * report-unique domainId (0 = the default domain).  Start/end ranges are paired by
 * (connection, range id) in a hash map; an end may arrive before its start (the two
 * threads flush independently).  Starts still unmatched when the connection closes
 * are written with a NULL end.
 *
 * Bounded memory (issue 18): at most NVTX_PENDING_MAX halves wait for their other half
 * in a report, at most NVTX_DOMAINS_MAX domain handles are mapped per connection.  A
 * start past the limit is written at once with a NULL end (kept, so ranges never ended
 * lose nothing); an end that then finds no start is dropped, as is a record naming one
 * domain handle too many; each dropped record counts once in GPROF_LOST_OVER_LIMIT.
 * The jsonText of starts waiting for their end takes at most NVTX_PENDING_JSON_MAX
 * bytes; past it a start keeps its times but loses its jsonText (GPROF_LOST_OVER_LIMIT).
 * A connection keeps at most NVTX_SCHEMAS_MAX payload schemas and enums (the same).
 * Times are range-checked (report_span_ok): a bad one refuses the record
 * (GPROF_LOST_BAD_RECORDS); an end before its start leaves the start open.  The maps
 * hash producer-chosen keys with a per-process random seed, so crafted keys cannot make
 * every probe collide.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "nsys_event_type.h"
#include "nvtx_payload.h"
#include "report.h"
#include "report_par.h"
#include "util.h"

/* Column positions in the insert statements below. */
enum {
	C_START = 1,
	C_END,
	C_TYPE,
	C_TEXT,
	C_TEXTID,
	C_GTID,
	C_DOMAIN,
	C_COLOR,
	C_CATEGORY,
	C_RANGEID,
	C_ENDGTID,
	C_U64,
	C_I64,
	C_DOUBLE,
	C_U32,
	C_I32,
	C_FLOAT,
	C_JSON,
};

/* Rows without payload or range id ("fast" rows) are batched and inserted BATCH at a
 * time with one multi-row INSERT: SQLite's per-statement cost is then paid once per
 * batch (1.5x the rows per CPU second of single-row inserts at 32, 1.1x more at 128).
 * A batch of nothing but "simple" rows - push/pop ranges of the default domain with an
 * end and a text, no textId, colour or category: what nearly every NVTX range is - goes
 * through a statement that binds 4 values per row and writes the constant columns as
 * literals (1.4x the rows per CPU second of the 9-value batch). */
#define BATCH	    128
#define FAST_COLS   9
#define SIMPLE_COLS 4

#define NVTX_PENDING_MAX      32768	 /* start/end halves waiting per report (~4 MB at most) */
#define NVTX_DOMAINS_MAX      65536	 /* domain handles per connection */
#define NVTX_PENDING_JSON_MAX (4u << 20) /* jsonText bytes of waiting starts, per report */

/* Which columns of a fast row are NULL. */
enum { N_END = 1, N_TEXT = 2, N_TEXTID = 4, N_COLOR = 8, N_CATEGORY = 16 };

struct fast_row {
	int64_t start, end, textid, gtid, domain, color, category;
	const char *text; /* borrowed from the connection's strings (flushed before freed) */
	int type;
	unsigned nulls;
};

struct nvtx_state {
	sqlite3_stmt *st_fast;	 /* one fast row */
	sqlite3_stmt *st_batch;	 /* BATCH fast rows */
	sqlite3_stmt *st_simple; /* BATCH simple rows */
	sqlite3_stmt *st_full;	 /* any row */
	int64_t next_domain;
	size_t pending; /* halves waiting in every connection's map */
	int nrows;
	int nsimple; /* of which simple */
	struct fast_row rows[BATCH];
	/* texts that came with their record (GP_NVTX_TEXT_INLINE), for the batched rows:
	 * BATCH texts fit, emptied at each flush; itext: the one of the record at hand */
	char *tarena;
	size_t tlen;
	const char *itext;
	uint64_t payloads;   /* extended payloads decoded (GPROF_NVTX_PAYLOADS) */
	size_t pending_json; /* bytes of the waiting starts' jsonText */
};

/* A start/end range waiting for its other half. */
struct pending {
	uint64_t range_id; /* key; 0 = empty slot */
	int has_start, has_end;
	struct gp_rec_nvtx start;
	char *json; /* the start's jsonText (owned; counted in pending_json), or NULL */
	uint64_t end_ns;
	uint32_t end_tid;
};

struct nvtx_conn {
	/* producer domain handle -> domainId (at most NVTX_DOMAINS_MAX handles) */
	struct i64map dom;
	/* range id -> pending (linear probing, backward-shift deletion) */
	struct pending *pend;
	size_t pend_cap, pend_n;
	uint64_t spilled;	      /* starts written at once (NULL end) because of the limit */
	struct nvtx_schemas *schemas; /* payload schemas and enums; NULL until the first */
};

static uint64_t hash_seed;

static inline size_t hash_slot(uint64_t x, size_t cap)
{
	x ^= hash_seed;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return (size_t)x & (cap - 1);
}

static struct nvtx_state *state(struct report *r)
{
	return *report_module_state(r, REPORT_MOD_NVTX);
}

static struct nvtx_conn *conn_state(struct report_conn *c)
{
	void **slot = report_conn_slot(c, REPORT_MOD_NVTX);

	if (!*slot)
		*slot = xcalloc(1, sizeof(struct nvtx_conn));
	return *slot;
}

static int64_t domain_id(struct report *r, struct report_conn *c, uint64_t handle)
{
	struct nvtx_conn *nc;
	int64_t *id;
	int found;

	if (handle == 0)
		return 0;
	if ((int64_t)handle == I64_EMPTY) /* (the map's empty key: no producer's handle) */
		return -1;
	nc = conn_state(c);
	if (nc->dom.n >= NVTX_DOMAINS_MAX) {
		id = i64map_find(&nc->dom, (int64_t)handle);
		return id ? *id : -1; /* -1: one handle too many */
	}
	id = i64map_get(&nc->dom, (int64_t)handle, 0, &found);
	if (!found)
		*id = state(r)->next_domain++;
	return *id;
}

/* The half waiting under range_id, else a new empty one (range_id set), else NULL when
 * the report already holds NVTX_PENDING_MAX halves. */
static struct pending *pending_get(struct nvtx_state *s, struct nvtx_conn *nc, uint64_t range_id)
{
	size_t j;

	if (nc->pend_cap) {
		for (j = hash_slot(range_id, nc->pend_cap); nc->pend[j].range_id;
		     j = (j + 1) & (nc->pend_cap - 1))
			if (nc->pend[j].range_id == range_id)
				return &nc->pend[j];
	}
	if (s->pending >= NVTX_PENDING_MAX)
		return NULL;
	if ((nc->pend_n + 1) * 2 > nc->pend_cap) {
		size_t ncap = nc->pend_cap ? nc->pend_cap * 2 : 64, i;
		struct pending *np = xcalloc(ncap, sizeof(*np));

		for (i = 0; i < nc->pend_cap; i++) {
			if (!nc->pend[i].range_id)
				continue;
			j = hash_slot(nc->pend[i].range_id, ncap);
			while (np[j].range_id)
				j = (j + 1) & (ncap - 1);
			np[j] = nc->pend[i];
		}
		free(nc->pend);
		nc->pend = np;
		nc->pend_cap = ncap;
	}
	j = hash_slot(range_id, nc->pend_cap);
	while (nc->pend[j].range_id)
		j = (j + 1) & (nc->pend_cap - 1);
	memset(&nc->pend[j], 0, sizeof(nc->pend[j]));
	nc->pend[j].range_id = range_id;
	nc->pend_n++;
	s->pending++;
	return &nc->pend[j];
}

/* Keep json (owned, may be NULL) as a waiting start's jsonText: json, or NULL (freed and
 * counted) past NVTX_PENDING_JSON_MAX. */
static char *pending_json_keep(struct report *r, char *json)
{
	struct nvtx_state *s = state(r);
	size_t n = json ? strlen(json) + 1 : 0;

	if (!json)
		return NULL;
	if (s->pending_json + n > NVTX_PENDING_JSON_MAX) {
		free(json);
		report_count_over_limit(r, 1);
		return NULL;
	}
	s->pending_json += n;
	return json;
}

/* Free a waiting start's jsonText. */
static void pending_json_drop(struct nvtx_state *s, char **json)
{
	if (*json) {
		s->pending_json -= strlen(*json) + 1;
		free(*json);
		*json = NULL;
	}
}

static void pending_del(struct nvtx_state *s, struct nvtx_conn *nc, struct pending *p)
{
	size_t cap = nc->pend_cap, i = (size_t)(p - nc->pend), j = i;

	pending_json_drop(s, &p->json);

	for (;;) {
		size_t k;

		j = (j + 1) & (cap - 1);
		if (!nc->pend[j].range_id)
			break;
		k = hash_slot(nc->pend[j].range_id, cap);
		/* move j back to i unless its home k lies cyclically in (i, j] */
		if ((i <= j) ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		nc->pend[i] = nc->pend[j];
		i = j;
	}
	nc->pend[i].range_id = 0;
	nc->pend_n--;
	s->pending--;
}

static void bind_row(sqlite3_stmt *st, int b, const struct fast_row *w)
{
	sqlite3_bind_int64(st, b + C_START, w->start);
	if (w->nulls & N_END)
		sqlite3_bind_null(st, b + C_END);
	else
		sqlite3_bind_int64(st, b + C_END, w->end);
	sqlite3_bind_int(st, b + C_TYPE, w->type);
	if (w->nulls & N_TEXT)
		sqlite3_bind_null(st, b + C_TEXT);
	else
		sqlite3_bind_text(st, b + C_TEXT, w->text, -1, SQLITE_STATIC);
	if (w->nulls & N_TEXTID)
		sqlite3_bind_null(st, b + C_TEXTID);
	else
		sqlite3_bind_int64(st, b + C_TEXTID, w->textid);
	sqlite3_bind_int64(st, b + C_GTID, w->gtid);
	sqlite3_bind_int64(st, b + C_DOMAIN, w->domain);
	if (w->nulls & N_COLOR)
		sqlite3_bind_null(st, b + C_COLOR);
	else
		sqlite3_bind_int64(st, b + C_COLOR, w->color);
	if (w->nulls & N_CATEGORY)
		sqlite3_bind_null(st, b + C_CATEGORY);
	else
		sqlite3_bind_int64(st, b + C_CATEGORY, w->category);
}

/* A "simple" row (see BATCH): st_simple's 4 values say all of it. */
static int is_simple(const struct fast_row *w)
{
	return w->type == NVTX_EV_PUSHPOP && w->domain == 0 &&
	       (w->nulls & (N_END | N_TEXT | N_TEXTID | N_COLOR | N_CATEGORY)) ==
		   (N_TEXTID | N_COLOR | N_CATEGORY);
}

/* The same row to the parallel writers (report_par.h; the column order of st_fast). */
static void par_row(struct report *r, const struct fast_row *w)
{
	size_t tn = (w->nulls & N_TEXT) ? 0 : strlen(w->text);
	struct report_par_cell *c;

	if (is_simple(w)) {
		c = report_par_row(r, REPORT_PAR_NVTX_PUSHPOP, tn);
		report_par_int(c, 0, w->start);
		report_par_int(c, 1, w->end);
		report_par_text(r, c, 2, w->text, tn);
		report_par_int(c, 3, w->gtid);
		return;
	}
	c = report_par_row(r, REPORT_PAR_NVTX, tn);

	report_par_int(c, C_START - 1, w->start);
	if (!(w->nulls & N_END))
		report_par_int(c, C_END - 1, w->end);
	report_par_int(c, C_TYPE - 1, w->type);
	if (!(w->nulls & N_TEXT))
		report_par_text(r, c, C_TEXT - 1, w->text, tn);
	if (!(w->nulls & N_TEXTID))
		report_par_int(c, C_TEXTID - 1, w->textid);
	report_par_int(c, C_GTID - 1, w->gtid);
	report_par_int(c, C_DOMAIN - 1, w->domain);
	if (!(w->nulls & N_COLOR))
		report_par_int(c, C_COLOR - 1, w->color);
	if (!(w->nulls & N_CATEGORY))
		report_par_int(c, C_CATEGORY - 1, w->category);
}

static void nvtx_flush(struct report *r)
{
	struct nvtx_state *s = state(r);
	int k;

	if (!s || !s->nrows)
		return;
	if (report_par_on(r)) {
		for (k = 0; k < s->nrows; k++)
			par_row(r, &s->rows[k]);
	} else if (s->nsimple == BATCH) {
		for (k = 0; k < BATCH; k++) {
			const struct fast_row *w = &s->rows[k];

			sqlite3_bind_int64(s->st_simple, k * SIMPLE_COLS + 1, w->start);
			sqlite3_bind_int64(s->st_simple, k * SIMPLE_COLS + 2, w->end);
			sqlite3_bind_text(s->st_simple, k * SIMPLE_COLS + 3, w->text, -1,
					  SQLITE_STATIC);
			sqlite3_bind_int64(s->st_simple, k * SIMPLE_COLS + 4, w->gtid);
		}
		report_step_rows(r, s->st_simple, BATCH);
	} else if (s->nrows == BATCH) {
		for (k = 0; k < BATCH; k++)
			bind_row(s->st_batch, k * FAST_COLS, &s->rows[k]);
		report_step_rows(r, s->st_batch, BATCH);
	} else {
		for (k = 0; k < s->nrows; k++) {
			bind_row(s->st_fast, 0, &s->rows[k]);
			report_step(r, s->st_fast);
		}
	}
	s->nrows = 0;
	s->nsimple = 0;
	s->tlen = 0;
}

#define TARENA_BYTES ((size_t)BATCH * (GP_STRING_MAX + 1))

/* Keep n bytes of text that came with a record until its row is written (NUL added). */
static const char *keep_text(struct report *r, const char *text, size_t n)
{
	struct nvtx_state *s = state(r);
	char *t;

	if (!s->tarena)
		s->tarena = xmalloc(TARENA_BYTES);
	if (s->tlen + n + 1 > TARENA_BYTES)
		nvtx_flush(r); /* (only when records were refused after their text was kept) */
	t = s->tarena + s->tlen;
	memcpy(t, text, n);
	t[n] = '\0';
	s->tlen += n + 1;
	return t;
}

/* Start a fast row in the batch (flushed when full by add_done()). */
static struct fast_row *add_row(struct report *r)
{
	struct nvtx_state *s = state(r);

	return &s->rows[s->nrows];
}

static void add_done(struct report *r)
{
	struct nvtx_state *s = state(r);

	s->nsimple += is_simple(&s->rows[s->nrows]);
	if (++s->nrows == BATCH)
		nvtx_flush(r);
}

/* Fill text/textId of a fast row from a message string id. */
static void row_text(struct fast_row *w, struct report_conn *c, uint32_t sid, uint16_t flags)
{
	if (sid && (flags & GP_NVTX_TEXT_REGISTERED)) {
		int64_t id = report_conn_string(c, sid);

		w->nulls |= N_TEXT;
		if (id >= 0)
			w->textid = id;
		else
			w->nulls |= N_TEXTID;
	} else {
		w->text = sid ? report_conn_string_text(c, sid) : NULL;
		w->nulls |= N_TEXTID | (w->text ? 0 : N_TEXT);
	}
}

static void bind_payload(sqlite3_stmt *st, const struct gp_rec_nvtx *e)
{
	int col;

	for (col = C_U64; col <= C_FLOAT; col++)
		sqlite3_bind_null(st, col);
	switch (e->payload_type) {
	case GP_NVTX_PAYLOAD_U64:
		sqlite3_bind_int64(st, C_U64, (int64_t)e->payload.u64);
		break;
	case GP_NVTX_PAYLOAD_I64:
		sqlite3_bind_int64(st, C_I64, e->payload.i64);
		break;
	case GP_NVTX_PAYLOAD_DOUBLE:
		sqlite3_bind_double(st, C_DOUBLE, e->payload.d);
		break;
	case GP_NVTX_PAYLOAD_U32:
		sqlite3_bind_int64(st, C_U32, e->payload.u32);
		break;
	case GP_NVTX_PAYLOAD_I32:
		sqlite3_bind_int64(st, C_I32, e->payload.i32);
		break;
	case GP_NVTX_PAYLOAD_FLOAT:
		sqlite3_bind_double(st, C_FLOAT, e->payload.f);
		break;
	default:
		break;
	}
}

static const char *conn_text(void *ctx, uint32_t sid)
{
	return report_conn_string_text(ctx, sid);
}

static struct nvtx_schemas *schemas_of(struct nvtx_conn *nc)
{
	if (!nc->schemas)
		nc->schemas = nvtx_schemas_new();
	return nc->schemas;
}

/* The jsonText of e, a record of rec_size bytes whose payload_type is GP_NVTX_PAYLOAD_EXT
 * and whose tail nvtx_ext_check() accepted: malloc'd, or NULL when no payload decoded
 * (each one not decoded is counted). */
static char *payload_json(struct report *r, struct report_conn *c, const struct gp_rec_nvtx *e)
{
	struct strbuf sb = STRBUF_INIT;
	uint64_t undecoded = 0;

	nvtx_payload_json(schemas_of(conn_state(c)), e->domain, e + 1, conn_text, c, &sb,
			  &state(r)->payloads, &undecoded);
	if (undecoded)
		report_count_nvtx_payloads(r, undecoded, 0);
	if (!sb.len) {
		strbuf_release(&sb);
		return NULL;
	}
	return strbuf_detach(&sb, NULL);
}

/* Insert one range/mark.  end_ns 0 = NULL end; end_tid 0 = NULL endGlobalTid; json: its
 * jsonText (borrowed) or NULL.  0, or REPORT_REC_REFUSED when its domain handle is one
 * too many (counted). */
static int insert_event(struct report *r, struct report_conn *c, const struct gp_rec_nvtx *e,
			int type, uint64_t end_ns, uint32_t end_tid, const char *json)
{
	struct nvtx_state *s = state(r);
	uint32_t pid = report_conn_pid(c);
	struct fast_row *w, row;
	int full = type == NVTX_EV_STARTEND || e->payload_type != GP_NVTX_PAYLOAD_NONE || json;
	int64_t domain = domain_id(r, c, e->domain);

	if (domain < 0)
		return report_count_over_limit(r, 1);
	w = full ? &row : add_row(r);
	w->nulls = 0;
	w->start = report_time(r, e->start_ns);
	if (end_ns)
		w->end = report_time(r, end_ns);
	else
		w->nulls |= N_END;
	w->type = type;
	row_text(w, c, e->text_sid, e->flags);
	if (s->itext) {
		w->text = s->itext;
		w->nulls &= ~N_TEXT;
	}
	w->gtid = report_global_tid(pid, e->h.tid);
	w->domain = domain;
	if (e->flags & GP_NVTX_HAS_COLOR)
		w->color = e->color;
	else
		w->nulls |= N_COLOR;
	if (e->category)
		w->category = e->category;
	else
		w->nulls |= N_CATEGORY;
	if (!full) {
		add_done(r);
		return 0;
	}
	nvtx_flush(r); /* keep arrival order */
	bind_row(s->st_full, 0, w);
	if (type == NVTX_EV_STARTEND)
		sqlite3_bind_int64(s->st_full, C_RANGEID, (int64_t)e->range_id);
	else
		sqlite3_bind_null(s->st_full, C_RANGEID);
	if (end_tid)
		sqlite3_bind_int64(s->st_full, C_ENDGTID, report_global_tid(pid, end_tid));
	else
		sqlite3_bind_null(s->st_full, C_ENDGTID);
	bind_payload(s->st_full, e);
	if (json)
		sqlite3_bind_text(s->st_full, C_JSON, json, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s->st_full, C_JSON);
	report_step(r, s->st_full); /* a failure is counted as a write error */
	return 0;
}

/* Insert a row that is not a range (domain create/destroy, category).  0, or
 * REPORT_REC_REFUSED (bad time, one domain too many: counted). */
static int insert_simple(struct report *r, struct report_conn *c, uint32_t tid, uint64_t ts,
			 int type, uint32_t name_sid, uint64_t domain, uint32_t category)
{
	int64_t dom;
	struct fast_row *w;

	if (!report_time_ok(r, ts))
		return report_count_bad_record(r);
	dom = domain_id(r, c, domain);
	if (dom < 0)
		return report_count_over_limit(r, 1);
	w = add_row(r);

	w->nulls = N_END | N_TEXTID | N_COLOR;
	w->start = report_time(r, ts);
	w->type = type;
	w->text = name_sid ? report_conn_string_text(c, name_sid) : NULL;
	if (!w->text)
		w->nulls |= N_TEXT;
	w->gtid = report_global_tid(report_conn_pid(c), tid);
	w->domain = dom;
	if (category)
		w->category = category;
	else
		w->nulls |= N_CATEGORY;
	add_done(r);
	return 0;
}

static int nvtx_create(struct report *r)
{
	struct nvtx_state *s = xcalloc(1, sizeof(*s));

	report_exec(r, "CREATE TABLE NVTX_EVENTS ("
		       "start INTEGER NOT NULL, end INTEGER, eventType INTEGER NOT NULL, "
		       "rangeId INTEGER, category INTEGER, color INTEGER, text TEXT, "
		       "globalTid INTEGER, endGlobalTid INTEGER, textId INTEGER, "
		       "domainId INTEGER, uint64Value INTEGER, int64Value INTEGER, "
		       "doubleValue REAL, uint32Value INTEGER, int32Value INTEGER, "
		       "floatValue REAL, jsonTextId INTEGER, jsonText TEXT, binaryData TEXT)");
	s->st_fast = report_prepare(r, "INSERT INTO NVTX_EVENTS (start, end, eventType, text, "
				       "textId, globalTid, domainId, color, category) "
				       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
	s->st_full = report_prepare(
	    r, "INSERT INTO NVTX_EVENTS (start, end, eventType, text, textId, globalTid, "
	       "domainId, color, category, rangeId, endGlobalTid, uint64Value, int64Value, "
	       "doubleValue, uint32Value, int32Value, floatValue, jsonText) "
	       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	{
		struct strbuf sb = STRBUF_INIT;
		int k;

		strbuf_addstr(&sb, "INSERT INTO NVTX_EVENTS (start, end, eventType, text, textId, "
				   "globalTid, domainId, color, category) VALUES ");
		for (k = 0; k < BATCH; k++)
			strbuf_addstr(&sb, k ? ", (?, ?, ?, ?, ?, ?, ?, ?, ?)"
					     : "(?, ?, ?, ?, ?, ?, ?, ?, ?)");
		s->st_batch = report_prepare(r, sb.buf);
		strbuf_reset(&sb);
		strbuf_addstr(&sb,
			      "INSERT INTO NVTX_EVENTS (start, end, eventType, text, globalTid, "
			      "domainId) VALUES ");
		for (k = 0; k < BATCH; k++)
			strbuf_addf(&sb, "%s(?, ?, %d, ?, ?, 0)", k ? ", " : "", NVTX_EV_PUSHPOP);
		s->st_simple = report_prepare(r, sb.buf);
		strbuf_release(&sb);
	}
	s->next_domain = 1;
	while (!hash_seed && getrandom(&hash_seed, sizeof(hash_seed), GRND_NONBLOCK) < 0)
		hash_seed = (uint64_t)gp_monotonic_ns() * 0x9e3779b97f4a7c15ull;
	*report_module_state(r, REPORT_MOD_NVTX) = s;
	return 0;
}

static int nvtx_handle(struct report *r, struct report_conn *c, const struct gp_rec_hdr *rec)
{
	struct nvtx_state *s = state(r);

	switch (rec->type) {
	case GP_REC_NVTX_PUSHPOP: {
		const struct gp_rec_nvtx_pushpop *p = (const void *)rec;
		struct gp_rec_nvtx e;
		int rc;

		if (rec->size < sizeof(*p))
			return -1;
		gp_nvtx_pushpop_expand(p, &e);
		if (!(p->flags & GP_NVTX_TEXT_INLINE))
			return nvtx_handle(r, c, &e.h);
		if (p->text_sid > GP_STRING_MAX || sizeof(*p) + p->text_sid > rec->size ||
		    (p->flags & GP_NVTX_TEXT_REGISTERED))
			return report_count_bad_record(r);
		e.text_sid = 0;
		e.flags &= (uint16_t)~GP_NVTX_TEXT_INLINE;
		s->itext = keep_text(r, (const char *)(p + 1), p->text_sid);
		rc = nvtx_handle(r, c, &e.h);
		s->itext = NULL;
		return rc;
	}
	case GP_REC_NVTX_EVENT: {
		const struct gp_rec_nvtx *e = (const void *)rec;
		int open = (e->flags & GP_NVTX_OPEN) != 0, rc;
		char *json = NULL;

		if (rec->size < sizeof(*e))
			return -1;
		if (e->payload_type == GP_NVTX_PAYLOAD_EXT &&
		    nvtx_ext_check(e + 1, rec->size - sizeof(*e)) < 0)
			return report_count_bad_record(r);
		if (!(e->flags & GP_NVTX_PUSHPOP) ? !report_time_ok(r, e->start_ns)
		    : open			  ? !report_time_ok(r, e->start_ns)
						  : !report_span_ok(r, e->start_ns, e->end_ns))
			return report_count_bad_record(r);
		if (e->payload_type == GP_NVTX_PAYLOAD_EXT)
			json = payload_json(r, c, e);
		if (!(e->flags & GP_NVTX_PUSHPOP))
			rc = insert_event(r, c, e, NVTX_EV_MARK, 0, 0, json);
		else
			rc = insert_event(r, c, e, NVTX_EV_PUSHPOP, open ? 0 : e->end_ns, 0, json);
		free(json);
		return rc;
	}
	case GP_REC_NVTX_START: {
		const struct gp_rec_nvtx *e = (const void *)rec;
		struct nvtx_conn *nc = conn_state(c);
		struct pending *p;
		char *json = NULL;
		int rc = 0;

		if (rec->size < sizeof(*e))
			return -1;
		if (e->payload_type == GP_NVTX_PAYLOAD_EXT &&
		    nvtx_ext_check(e + 1, rec->size - sizeof(*e)) < 0)
			return report_count_bad_record(r);
		if (!report_time_ok(r, e->start_ns))
			return report_count_bad_record(r);
		if (e->payload_type == GP_NVTX_PAYLOAD_EXT)
			json = payload_json(r, c, e);
		p = e->range_id ? pending_get(s, nc, e->range_id) : NULL;
		if (!p) {
			/* range id 0 (cannot be ended) or the limit: keep the start now (its end,
			 * if any, is counted lost) */
			nc->spilled += e->range_id != 0;
			rc = insert_event(r, c, e, NVTX_EV_STARTEND, 0, 0, json);
			free(json);
			return rc;
		}
		if (p->has_start) { /* a range id started twice: the first stays open */
			insert_event(r, c, &p->start, NVTX_EV_STARTEND, 0, 0, p->json);
			pending_json_drop(s, &p->json);
			p->start = *e;
			p->json = pending_json_keep(r, json);
			return 0;
		}
		if (p->has_end) {
			int bad = !report_span_ok(r, e->start_ns, p->end_ns);

			rc = insert_event(r, c, e, NVTX_EV_STARTEND, bad ? 0 : p->end_ns,
					  bad ? 0 : p->end_tid, json);
			free(json);
			pending_del(s, nc, p);
			return bad ? report_count_bad_record(r) : rc; /* (the end's fault) */
		}
		p->has_start = 1;
		p->start = *e;
		p->json = pending_json_keep(r, json);
		return 0;
	}
	case GP_REC_NVTX_END: {
		const struct gp_rec_nvtx_end *e = (const void *)rec;
		struct nvtx_conn *nc = conn_state(c);
		struct pending *p;

		if (rec->size < sizeof(*e))
			return -1;
		if (!report_time_ok(r, e->end_ns))
			return report_count_bad_record(r);
		if (e->range_id == 0)
			return 0;
		p = pending_get(s, nc, e->range_id);
		if (!p)
			return report_count_over_limit(r, 1);
		if (p->has_start) {
			int bad = !report_span_ok(r, p->start.start_ns, e->end_ns);

			insert_event(r, c, &p->start, NVTX_EV_STARTEND, bad ? 0 : e->end_ns,
				     bad ? 0 : e->h.tid, p->json);
			pending_del(s, nc, p);
			return bad ? report_count_bad_record(r) : 0;
		}
		if (p->has_end) /* ended twice: the later end is refused */
			return report_count_bad_record(r);
		p->has_end = 1;
		p->end_ns = e->end_ns;
		p->end_tid = e->h.tid;
		return 0;
	}
	case GP_REC_NVTX_DOMAIN: {
		const struct gp_rec_nvtx_domain *d = (const void *)rec;

		if (rec->size < sizeof(*d) || d->domain == 0)
			return -1;
		return insert_simple(r, c, d->h.tid, d->ts_ns,
				     d->destroy ? NVTX_EV_DOMAIN_DESTROY : NVTX_EV_DOMAIN_CREATE,
				     d->destroy ? 0 : d->name_sid, d->domain, 0);
	}
	case GP_REC_NVTX_CATEGORY: {
		const struct gp_rec_nvtx_category *k = (const void *)rec;

		if (rec->size < sizeof(*k))
			return -1;
		return insert_simple(r, c, k->h.tid, k->ts_ns, NVTX_EV_CATEGORY, k->name_sid,
				     k->domain, k->category);
	}
	case GP_REC_NVTX_SCHEMA:
	case GP_REC_NVTX_ENUM: {
		struct nvtx_schemas *sch = schemas_of(conn_state(c));
		int rc = rec->type == GP_REC_NVTX_SCHEMA
			     ? nvtx_schemas_add_schema(sch, (const void *)rec, rec->size)
			     : nvtx_schemas_add_enum(sch, (const void *)rec, rec->size);

		return rc > 0 ? report_count_over_limit(r, 1) : rc;
	}
	case GP_REC_NVTX_UNSENT: {
		const struct gp_rec_nvtx_unsent *u = (const void *)rec;

		if (rec->size < sizeof(*u))
			return -1;
		report_count_nvtx_payloads(r, 0, u->payloads);
		return 0;
	}
	default:
		return -1;
	}
}

static void nvtx_conn_close(struct report *r, struct report_conn *c)
{
	void **slot = report_conn_slot(c, REPORT_MOD_NVTX);
	struct nvtx_conn *nc = *slot;
	size_t i;

	if (!nc)
		return;
	/* starts never ended: NULL end (as nsys); ends without a start are dropped */
	for (i = 0; i < nc->pend_cap; i++) {
		if (nc->pend[i].range_id && nc->pend[i].has_start)
			insert_event(r, c, &nc->pend[i].start, NVTX_EV_STARTEND, 0, 0,
				     nc->pend[i].json);
		else if (nc->pend[i].range_id && nc->spilled)
			report_count_over_limit(r, 1); /* its start was written without it */
		pending_json_drop(state(r), &nc->pend[i].json);
	}
	state(r)->pending -= nc->pend_n;
	free(nc->pend);
	i64map_free(&nc->dom);
	nvtx_schemas_free(nc->schemas);
	free(nc);
	*slot = NULL;
}

static void nvtx_release(struct report *r)
{
	struct nvtx_state *s = state(r);

	if (!s)
		return;
	sqlite3_finalize(s->st_fast);
	sqlite3_finalize(s->st_batch);
	sqlite3_finalize(s->st_simple);
	free(s->tarena);
	sqlite3_finalize(s->st_full);
	free(s);
	*report_module_state(r, REPORT_MOD_NVTX) = NULL;
}

static int nvtx_finish(struct report *r)
{
	struct nvtx_state *s = state(r);
	char buf[32];

	if (s) {
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)s->payloads);
		report_meta_export(r, "GPROF_NVTX_PAYLOADS", buf);
	}
	nvtx_flush(r);
	nvtx_release(r);
	/* No index: nsys writes none, and one costs ~13 bytes per event and a sort at
	 * the end of the session (readers scan NVTX_EVENTS once per stats report). */
	return 0;
}

const struct report_module report_module_nvtx = {
    .name = "nvtx",
    .first_type = 0x100,
    .last_type = 0x1ff,
    .create = nvtx_create,
    .handle = nvtx_handle,
    .conn_close = nvtx_conn_close,
    .finish = nvtx_finish,
    .release = nvtx_release,
    .flush = nvtx_flush,
};
