/*
 * timeline_json.c - the Trace Event Format writer of the timeline export (timeline.h):
 * the JSON that chrome://tracing, Perfetto's UI and speedscope read.
 *
 * {"displayTimeUnit":"ns","traceEvents":[ one event per line ]}; ts and dur in µs with
 * three decimals (exact ns).  Tracks become:
 *   - processes: "M" process_name (and process_sort_index) events;
 *   - threads: "M" thread_name; the thread's rows (NVTX, CUDA API, OS runtime, MPI) all go
 *     on the thread itself, so that NVTX ranges enclose the calls made inside them;
 *   - GPU stream rows: a pseudo thread each (tid TID_GPU_BASE + n in the process), named
 *     "CUDA HW (device N) / Stream M";
 *   - counters: "C" events named after the track, the value under "value" (or "bytes").
 * Slices are complete events ("X" with dur), NVTX start/end ranges async pairs ("b"/"e"
 * with an id, category = domain), marks thread-scoped instants ("i", "s":"t").  An API call
 * -> GPU work arrow is a flow pair: "s" on the API call's thread inside the call and "f"
 * with "bp":"e" inside the GPU work, one id per pair.  The format has no free slice
 * colour (only a fixed palette of "cname"s), so the NVTX colour stays an argument.
 */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "exporters/stats.h"
#include "exporters/timeline.h"

#define TID_GPU_BASE 1000000000LL /* above any Linux tid (pid_max <= 2^22) */

/* A node of the samples' stack tree (the Trace Event Format's "stackFrames": a frame and
 * its caller's node; id = index + 1). */
struct js_frame {
	char *name, *module;
	uint64_t parent; /* 0: outermost */
};

struct js {
	struct tl_sink sink;
	struct strbuf line;
	struct js_frame *frames; /* the stack tree of the samples, written at the end */
	size_t nframes, frames_cap;
	struct i64map frame_ids; /* hash of (parent, name, module) -> id (probed on collision) */
	int64_t next_gpu_tid;
	uint64_t next_async;
	int first;
	int failed;
};

/* A track's JSON tid (sink_id holds the pseudo tid of a process's rows, set in
 * js_track()). */
static int64_t track_tid(const struct tl_track *t)
{
	return t->sink_id ? t->sink_id : t->tid;
}

/* Room for n more bytes (and the NUL) in b: strbuf_grow()'s test, inline. */
static inline void room(struct strbuf *b, size_t n)
{
	if (b->len + n >= b->alloc)
		strbuf_grow(b, n);
}

/* Append the n bytes at s to b. */
static inline void add_mem(struct strbuf *b, const char *s, size_t n)
{
	room(b, n);
	memcpy(b->buf + b->len, s, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

/* Append a string literal (no strlen) or one byte. */
#define ADD_LIT(b, lit) add_mem(b, lit, sizeof(lit) - 1)

static inline void add_ch(struct strbuf *b, char c)
{
	room(b, 1);
	b->buf[b->len++] = c;
	b->buf[b->len] = '\0';
}

/* "00" ... "99": two decimal digits at a time */
static const char digits2[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* The decimal digits of u, written backwards to end: where they start. */
static inline char *fmt_u64(char *end, uint64_t u)
{
	while (u >= 100) {
		unsigned r = (unsigned)(u % 100);

		u /= 100;
		end -= 2;
		memcpy(end, digits2 + 2 * r, 2);
	}
	if (u >= 10) {
		end -= 2;
		memcpy(end, digits2 + 2 * u, 2);
	} else {
		*--end = (char)('0' + u);
	}
	return end;
}

/* ns as µs with three decimals */
static void add_us(struct strbuf *b, int64_t ns)
{
	char tmp[32], *end = tmp + sizeof(tmp), *p = end - 3;
	uint64_t v = ns < 0 ? (uint64_t)(-(ns + 1)) + 1 : (uint64_t)ns;
	unsigned frac = (unsigned)(v % 1000);

	p[0] = (char)('0' + frac / 100);
	memcpy(p + 1, digits2 + 2 * (frac % 100), 2);
	*--p = '.';
	p = fmt_u64(p, v / 1000);
	if (ns < 0)
		*--p = '-';
	add_mem(b, p, (size_t)(end - p));
}

static void add_int(struct strbuf *b, int64_t v)
{
	char tmp[24], *end = tmp + sizeof(tmp), *p;

	p = fmt_u64(end, v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v);
	if (v < 0)
		*--p = '-';
	add_mem(b, p, (size_t)(end - p));
}

/* Any of the 8 bytes of w not printable ASCII, '"' or '\\' (add_str()'s test, a word at a
 * time): never 0 when one is; may say 1 when none is (the exact escaper runs then). */
static inline int needs_escape8(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
	uint64_t q = w ^ (0x22 * ones), bs = w ^ (0x5c * ones);

	return ((w | ((w - 0x20 * ones) & ~w) | ((q - ones) & ~q) | ((bs - ones) & ~bs)) & high) !=
	       0;
}

/* s as a JSON string (stats_add_json_string(); a string of printable ASCII without '"'
 * or '\\', the names of a trace as a rule, copied as it is). */
static void add_str(struct strbuf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0, i = 0;

	for (uint64_t w; i + 8 <= n; i += 8) {
		memcpy(&w, s + i, 8);
		if (needs_escape8(w))
			break;
	}
	for (; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') {
			stats_add_json_string(b, s, n);
			return;
		}
	}
	room(b, n + 2);
	b->buf[b->len] = '"';
	if (n)
		memcpy(b->buf + b->len + 1, s, n);
	b->buf[b->len + n + 1] = '"';
	b->len += n + 2;
	b->buf[b->len] = '\0';
}

static void add_double(struct strbuf *b, double d)
{
	if (d != d || d > 1e308 || d < -1e308) /* JSON has no NaN or infinities */
		ADD_LIT(b, "null");
	else
		strbuf_addf(b, "%.17g", d);
}

/* Start the next event: the separator of the array, unless it is the first. */
static void next(struct js *js)
{
	if (!js->first)
		ADD_LIT(&js->line, ",\n");
	js->first = 0;
}

/* Write what was built once it is large (end: in any case). */
static int emit(struct js *js, int end)
{
	if (js->line.len < (end ? 1 : 256 * 1024))
		return js->failed ? -1 : 0;
	if (fwrite(js->line.buf, 1, js->line.len, js->sink.out) != js->line.len)
		js->failed = 1;
	strbuf_reset(&js->line);
	return js->failed ? -1 : 0;
}

/* "pid":P,"tid":T of track t */
static void add_ids(struct strbuf *b, const struct tl_track *t)
{
	ADD_LIT(b, "\"pid\":");
	add_int(b, t->pid);
	ADD_LIT(b, ",\"tid\":");
	add_int(b, track_tid(t));
}

static void add_meta(struct js *js, const char *what, const struct tl_track *t, const char *key,
		     const char *sval, int64_t ival)
{
	struct strbuf *b = &js->line;

	next(js);
	ADD_LIT(b, "{\"ph\":\"M\",\"name\":\"");
	strbuf_addstr(b, what);
	ADD_LIT(b, "\",");
	add_ids(b, t);
	ADD_LIT(b, ",\"args\":{\"");
	strbuf_addstr(b, key);
	ADD_LIT(b, "\":");
	if (sval)
		add_str(b, sval);
	else
		add_int(b, ival);
	ADD_LIT(b, "}}");
	emit(js, 0);
}

static int js_track(struct tl_sink *s, struct tl_track *t)
{
	struct js *js = s->priv;

	switch (t->kind) {
	case TL_TRACK_PROCESS:
		add_meta(js, "process_name", t, "name", t->name, 0);
		add_meta(js, "process_sort_index", t, "sort_index", NULL, t->sort_index);
		break;
	case TL_TRACK_THREAD:
		add_meta(js, "thread_name", t, "name", t->name, 0);
		break;
	case TL_TRACK_ROW:
		/* rows of a thread share its tid; rows of a process are pseudo threads */
		if (t->parent && t->parent->kind == TL_TRACK_PROCESS) {
			t->sink_id = js->next_gpu_tid++;
			add_meta(js, "thread_name", t, "name", t->name, 0);
			add_meta(js, "thread_sort_index", t, "sort_index", NULL,
				 1000 + t->sort_index);
		}
		break;
	case TL_TRACK_COUNTER:
		break;
	}
	return js->failed ? -1 : 0;
}

static void add_args(struct strbuf *b, const struct tl_event *e)
{
	if (!e->nargs)
		return;
	ADD_LIT(b, ",\"args\":{");
	for (int i = 0; i < e->nargs; i++) {
		const struct tl_arg *a = &e->args[i];

		if (i)
			add_ch(b, ',');
		add_str(b, a->name);
		add_ch(b, ':');
		switch (a->type) {
		case TL_ARG_INT:
			add_int(b, a->i);
			break;
		case TL_ARG_DOUBLE:
			add_double(b, a->d);
			break;
		case TL_ARG_STR:
			add_str(b, a->s);
			break;
		}
	}
	add_ch(b, '}');
}

/* {"ph":"<ph>","name":...,"cat":...,"ts":...,pid,tid */
static void add_head(struct js *js, const char *ph, const struct tl_event *e,
		     const struct tl_track *t, int64_t ts)
{
	struct strbuf *b = &js->line;

	next(js);
	ADD_LIT(b, "{\"ph\":\"");
	strbuf_addstr(b, ph);
	ADD_LIT(b, "\",\"name\":");
	add_str(b, e->name);
	ADD_LIT(b, ",\"cat\":");
	add_str(b, e->cat ? e->cat : "");
	ADD_LIT(b, ",\"ts\":");
	add_us(b, ts);
	add_ch(b, ',');
	add_ids(b, t);
}

static uint64_t frame_hash(uint64_t parent, const char *name, const char *module)
{
	uint64_t h = 1469598103934665603ULL ^ parent; /* FNV-1a */

	for (const char *c = name; *c; c++)
		h = (h ^ (unsigned char)*c) * 1099511628211ULL;
	h = (h ^ 0xff) * 1099511628211ULL;
	for (const char *c = module; *c; c++)
		h = (h ^ (unsigned char)*c) * 1099511628211ULL;
	return h;
}

/* The id of the stack-tree node (parent, f), made when new. */
static uint64_t frame_id(struct js *js, uint64_t parent, const struct tl_frame *f)
{
	uint64_t h = frame_hash(parent, f->name, f->module);

	for (;; h++) { /* a different node under the same hash: the next key */
		int found;
		int64_t *v = i64map_get(&js->frame_ids, (int64_t)h, 0, &found);
		const struct js_frame *n;

		if (!found) {
			GP_ALLOC_GROW(js->frames, js->nframes + 1, js->frames_cap);
			js->frames[js->nframes] =
			    (struct js_frame){xstrdup(f->name), xstrdup(f->module), parent};
			*v = (int64_t)++js->nframes;
			return (uint64_t)*v;
		}
		n = &js->frames[*v - 1];
		if (n->parent == parent && !strcmp(n->name, f->name) &&
		    !strcmp(n->module, f->module))
			return (uint64_t)*v;
	}
}

static int js_event(struct tl_sink *s, const struct tl_event *e)
{
	struct js *js = s->priv;
	struct strbuf *b = &js->line;

	if (js->failed)
		return -1;
	switch (e->type) {
	case TL_SLICE:
		add_head(js, "X", e, e->track, e->ts);
		ADD_LIT(b, ",\"dur\":");
		add_us(b, e->dur > 0 ? e->dur : 0);
		add_args(b, e);
		add_ch(b, '}');
		emit(js, 0);
		break;
	case TL_RANGE: {
		uint64_t id = ++js->next_async;

		add_head(js, "b", e, e->track, e->ts);
		ADD_LIT(b, ",\"id\":");
		add_int(b, (int64_t)id);
		add_args(b, e);
		add_ch(b, '}');
		emit(js, 0);
		add_head(js, "e", e, e->track, e->ts + (e->dur > 0 ? e->dur : 0));
		ADD_LIT(b, ",\"id\":");
		add_int(b, (int64_t)id);
		add_ch(b, '}');
		emit(js, 0);
		break;
	}
	case TL_INSTANT:
		add_head(js, "i", e, e->track, e->ts);
		ADD_LIT(b, ",\"s\":\"t\"");
		add_args(b, e);
		add_ch(b, '}');
		emit(js, 0);
		break;
	case TL_SAMPLE: { /* "P" with its stack node ("sf") in "stackFrames" */
		uint64_t sf = 0;

		for (int i = e->nframes - 1; i >= 0; i--)
			sf = frame_id(js, sf, &e->frames[i]);
		add_head(js, "P", e, e->track, e->ts);
		ADD_LIT(b, ",\"sf\":");
		add_int(b, (int64_t)sf);
		ADD_LIT(b, ",\"args\":{\"cpu\":");
		add_int(b, e->cpu);
		ADD_LIT(b, "}}");
		emit(js, 0);
		break;
	}
	case TL_COUNTER:
		next(js);
		ADD_LIT(b, "{\"ph\":\"C\",\"name\":");
		add_str(b, e->track->name);
		ADD_LIT(b, ",\"ts\":");
		add_us(b, e->ts);
		ADD_LIT(b, ",\"pid\":");
		add_int(b, e->track->pid);
		ADD_LIT(b, ",\"args\":{\"");
		strbuf_addstr(b, e->track->unit ? e->track->unit : "value");
		ADD_LIT(b, "\":");
		add_double(b, e->value);
		ADD_LIT(b, "}}");
		emit(js, 0);
		break;
	}
	if (e->flow_src) {
		const struct tl_flow_src *f = e->flow_src;
		struct tl_event fe = {.name = "launch", .cat = "cuda_flow"};

		/* inside the API call and inside the GPU work (the middle of each) */
		add_head(js, "s", &fe, f->track, f->ts + f->dur / 2);
		ADD_LIT(b, ",\"id\":");
		add_int(b, (int64_t)f->id);
		add_ch(b, '}');
		emit(js, 0);
		add_head(js, "f", &fe, e->track, e->ts + e->dur / 2);
		ADD_LIT(b, ",\"bp\":\"e\",\"id\":");
		add_int(b, (int64_t)f->id);
		add_ch(b, '}');
		emit(js, 0);
	}
	s->events++;
	return js->failed ? -1 : 0;
}

static int js_pass_end(struct tl_sink *s)
{
	return ((struct js *)s->priv)->failed ? -1 : 0;
}

static int js_end(struct tl_sink *s)
{
	struct js *js = s->priv;

	ADD_LIT(&js->line, "\n]");
	if (js->nframes) { /* the samples' stack tree */
		ADD_LIT(&js->line, ",\"stackFrames\":{");
		for (size_t i = 0; i < js->nframes; i++) {
			const struct js_frame *f = &js->frames[i];

			strbuf_addstr(&js->line, i ? ",\n\"" : "\n\"");
			add_int(&js->line, (int64_t)i + 1);
			ADD_LIT(&js->line, "\":{\"name\":");
			add_str(&js->line, f->name);
			ADD_LIT(&js->line, ",\"category\":");
			add_str(&js->line, f->module);
			if (f->parent) {
				ADD_LIT(&js->line, ",\"parent\":\"");
				add_int(&js->line, (int64_t)f->parent);
				add_ch(&js->line, '"');
			}
			add_ch(&js->line, '}');
			emit(js, 0);
		}
		add_ch(&js->line, '}');
	}
	ADD_LIT(&js->line, "}\n");
	if (emit(js, 1) < 0 || fflush(s->out) != 0 || ferror(s->out))
		js->failed = 1;
	return js->failed ? -1 : 0;
}

static void js_destroy(struct tl_sink *s)
{
	struct js *js = s->priv;

	strbuf_release(&js->line);
	for (size_t i = 0; i < js->nframes; i++) {
		free(js->frames[i].name);
		free(js->frames[i].module);
	}
	free(js->frames);
	i64map_free(&js->frame_ids);
	free(js);
}

struct tl_sink *tl_json_sink(FILE *out)
{
	struct js *js = xcalloc(1, sizeof(*js));

	js->sink.track = js_track;
	js->sink.event = js_event;
	js->sink.pass_end = js_pass_end;
	js->sink.end = js_end;
	js->sink.destroy = js_destroy;
	js->sink.out = out;
	js->sink.priv = js;
	js->first = 1;
	js->next_gpu_tid = TID_GPU_BASE;
	strbuf_init(&js->line, 300 * 1024);
	if (fputs("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n", out) < 0)
		js->failed = 1;
	return &js->sink;
}
