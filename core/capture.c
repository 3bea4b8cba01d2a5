/*
 * capture.c - capture ranges, recorder side (see capture.h): switch parsers, per-range
 * file names, the control page, and the router that splits a repeat capture into one
 * report per range (recorder_internal.h, "capture router").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>

#include "capture.h"
#include "recorder_sink.h"
#include "recorder.h"
#include "recorder_internal.h"
#include "report.h"
#include "util.h"

/* ---- parsers ------------------------------------------------------------------------ */

int capture_parse_mode(const char *s, uint32_t *mode, const char **why)
{
	static const char expect[] = "expected none, cudaProfilerApi or nvtx";

	if (!s || !strcmp(s, "none"))
		*mode = GP_CAPTURE_NONE;
	else if (!strcmp(s, "cudaProfilerApi"))
		*mode = GP_CAPTURE_CUDA;
	else if (!strcmp(s, "nvtx"))
		*mode = GP_CAPTURE_NVTX;
	else {
		*why = !strcmp(s, "hotkey") ? "hotkey capture needs a graphics application; "
					      "expected none, cudaProfilerApi or nvtx"
					    : expect;
		return -1;
	}
	return 0;
}

/* Parse a decimal N >= 1 that fills [s, end). */
static int parse_count(const char *s, size_t len, uint32_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 9)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v == 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int is_write_mode(const char *s, size_t len)
{
	return (len == 5 && !memcmp(s, "defer", 5)) || (len == 4 && !memcmp(s, "sync", 4)) ||
	       (len == 5 && !memcmp(s, "async", 5));
}

int capture_parse_end(const char *s, uint32_t *end, uint32_t *max_ranges, const char **why)
{
	static const char expect[] =
	    "expected none, stop, stop-shutdown, repeat[:N] or repeat-shutdown:N (N >= 1)";
	const char *colon, *rest;
	size_t head;

	*why = expect;
	if (!s || !*s)
		return -1;
	*max_ranges = 0;
	if (!strcmp(s, "none")) {
		*end = GP_CAPTURE_END_NONE;
		return 0;
	}
	if (!strcmp(s, "stop")) {
		*end = GP_CAPTURE_END_STOP;
		return 0;
	}
	if (!strcmp(s, "stop-shutdown")) {
		*end = GP_CAPTURE_END_STOP_SHUTDOWN;
		return 0;
	}
	colon = strchr(s, ':');
	head = colon ? (size_t)(colon - s) : strlen(s);
	if (head == 6 && !memcmp(s, "repeat", 6))
		*end = GP_CAPTURE_END_REPEAT;
	else if (head == 15 && !memcmp(s, "repeat-shutdown", 15))
		*end = GP_CAPTURE_END_REPEAT_SHUTDOWN;
	else
		return -1;
	if (!colon) {
		if (*end == GP_CAPTURE_END_REPEAT_SHUTDOWN) {
			*why = "repeat-shutdown needs the number of ranges: repeat-shutdown:N "
			       "(N >= 1)";
			return -1;
		}
		return 0;
	}
	rest = colon + 1;
	colon = strchr(rest, ':');
	/* repeat:N, repeat:N:mode, repeat:mode (nsys [UG-RST] optional write mode) */
	if (parse_count(rest, colon ? (size_t)(colon - rest) : strlen(rest), max_ranges) < 0) {
		if (*end == GP_CAPTURE_END_REPEAT && !colon && is_write_mode(rest, strlen(rest)))
			return 0;
		*why = "the number of ranges must be a whole number >= 1";
		return -1;
	}
	if (colon && !is_write_mode(colon + 1, strlen(colon + 1))) {
		*why = "the write mode after the range count must be defer, sync or async";
		return -1;
	}
	return 0;
}

int capture_parse_nvtx(const char *s, struct capture_nvtx_pattern *p, const char **why)
{
	const char *at = NULL, *q;
	size_t mlen, dlen, i, o;

	memset(p, 0, sizeof(*p));
	if (!s || !*s) {
		*why = "expected a range name: range, range@domain or range@*";
		return -1;
	}
	/* the last '@' not preceded by a backslash separates the domain */
	for (q = s; *q; q++) {
		if (*q == '\\' && q[1] == '@') {
			q++;
			continue;
		}
		if (*q == '@')
			at = q;
	}
	mlen = at ? (size_t)(at - s) : strlen(s);
	/* unescape the message: "\@" -> "@" */
	for (i = o = 0; i < mlen; i++) {
		if (s[i] == '\\' && i + 1 < mlen && s[i + 1] == '@')
			i++;
		if (o + 1 >= sizeof(p->message)) {
			*why = "the range name is too long (at most 255 bytes)";
			return -1;
		}
		p->message[o++] = s[i];
	}
	p->message[o] = '\0';
	if (o == 0) {
		*why = "the range name before '@' is empty";
		return -1;
	}
	if (!at)
		return 0;
	q = at + 1;
	dlen = strlen(q);
	if (dlen == 1 && q[0] == '*') {
		p->any_domain = 1;
		return 0;
	}
	if (dlen == 0) {
		*why = "the domain after '@' is empty (use range@* for any domain)";
		return -1;
	}
	for (i = o = 0; i < dlen; i++) {
		if (q[i] == '\\' && i + 1 < dlen && q[i + 1] == '@')
			i++;
		if (o + 1 >= sizeof(p->domain)) {
			*why = "the domain name is too long (at most 255 bytes)";
			return -1;
		}
		p->domain[o++] = q[i];
	}
	p->domain[o] = '\0';
	return 0;
}

char *capture_range_path(const char *report_path, unsigned index)
{
	size_t n = strlen(report_path);

	if (n > 3 && !strcmp(report_path + n - 3, ".db"))
		n -= 3;
	return xasprintf("%.*s.%u.db", (int)n, report_path, index);
}

const char *capture_mode_name(uint32_t mode)
{
	switch (mode) {
	case GP_CAPTURE_CUDA:
		return "cudaProfilerApi";
	case GP_CAPTURE_NVTX:
		return "nvtx";
	default:
		return "none";
	}
}

const char *capture_end_name(uint32_t end, uint32_t max_ranges, char *buf, size_t n)
{
	switch (end) {
	case GP_CAPTURE_END_STOP:
		snprintf(buf, n, "stop");
		break;
	case GP_CAPTURE_END_NONE:
		snprintf(buf, n, "none");
		break;
	case GP_CAPTURE_END_REPEAT:
		if (max_ranges)
			snprintf(buf, n, "repeat:%u", max_ranges);
		else
			snprintf(buf, n, "repeat");
		break;
	case GP_CAPTURE_END_REPEAT_SHUTDOWN:
		snprintf(buf, n, "repeat-shutdown:%u", max_ranges);
		break;
	default:
		snprintf(buf, n, "stop-shutdown");
		break;
	}
	return buf;
}

/* ---- the control page ------------------------------------------------------------------ */

struct gp_control *capture_control_create(const char *dir, const struct capture_settings *s,
					  uint64_t session_start_ns)
{
	char *path = xasprintf("%s/%s", dir, GP_CONTROL_NAME);
	struct gp_control *c;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)sizeof(*c)) < 0) {
		error("cannot create the capture control file '%s': %s", path, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(path);
		}
		free(path);
		return NULL;
	}
	c = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (c == MAP_FAILED) {
		error("cannot map the capture control file '%s': %s", path, strerror(errno));
		unlink(path);
		free(path);
		return NULL;
	}
	free(path);
	/* the file is new: all zero */
	c->magic = GP_CONTROL_MAGIC;
	c->version = GP_CONTROL_VERSION;
	c->size = sizeof(*c);
#if defined(__x86_64__)
	gp_tsc_sample(gp_monotonic_ns, &c->tsc_sample, &c->tsc_sample_ns);
#endif
	c->mode = s ? s->mode : GP_CAPTURE_NONE;
	c->end = s ? s->end : GP_CAPTURE_END_STOP_SHUTDOWN;
	c->max_ranges = s ? s->max_ranges : 0;
	if (s && s->mode == GP_CAPTURE_NVTX) {
		memcpy(c->nvtx_message, s->nvtx.message, sizeof(c->nvtx_message));
		memcpy(c->nvtx_domain, s->nvtx.domain, sizeof(c->nvtx_domain));
		c->nvtx_message[sizeof(c->nvtx_message) - 1] = '\0';
		c->nvtx_domain[sizeof(c->nvtx_domain) - 1] = '\0';
		c->nvtx_any_domain = (uint32_t)s->nvtx.any_domain;
	}
	if (s && s->delay_ns)
		c->armed_ns = session_start_ns + s->delay_ns;
	c->session = s && s->session;
	if (s && s->session && (c->mode == GP_CAPTURE_CUDA || c->mode == GP_CAPTURE_NVTX)) {
		/* a session with a trigger: one range per start, none until a start arms it */
		c->end = GP_CAPTURE_END_STOP;
		atomic_store(&c->done, 1);
	}
	if (c->mode == GP_CAPTURE_NONE && !(s && (s->delay_ns || s->session))) {
		/* one window for the whole session, open from the start */
		atomic_store(&c->win[0].start_ns, session_start_ns);
		atomic_store(&c->nwindows, 1);
		atomic_store(&c->done, 1);
		atomic_store(&c->collecting, 1);
	}
	return c;
}

void capture_control_destroy(struct gp_control *c, const char *dir)
{
	char *path;

	if (!c)
		return;
	munmap(c, sizeof(*c));
	path = xasprintf("%s/%s", dir, GP_CONTROL_NAME);
	unlink(path);
	free(path);
}

int capture_control_open_delay_window(struct gp_control *c, uint64_t now_ns)
{
	if (atomic_load(&c->nwindows) || atomic_load(&c->done))
		return -1;
	atomic_store(&c->win[0].start_ns, now_ns);
	c->win[0].reason = GP_CAPTURE_REASON_DELAY;
	atomic_store_explicit(&c->nwindows, 1, memory_order_release);
	atomic_store(&c->done, 1);
	atomic_store_explicit(&c->collecting, 1, memory_order_release);
	return 0;
}

/* The page's spin lock, as the producers take it (collectors/producer.c ctl_lock). */
static void page_lock(struct gp_control *c)
{
	unsigned i;

	for (i = 1; atomic_exchange_explicit(&c->lock, 1, memory_order_acquire); i++) {
		struct timespec ts = {0, 50000};

		if (i > 20000)
			break; /* a producer died holding it: take it */
		nanosleep(&ts, NULL);
	}
}

static void page_unlock(struct gp_control *c)
{
	atomic_store_explicit(&c->lock, 0, memory_order_release);
}

/* A flush request (wire.h "Flush requests"); returns the new epoch. */
static uint32_t page_flush_request(struct gp_control *c)
{
	uint32_t ep = atomic_fetch_add(&c->flush_epoch, 1) + 1;

	syscall(SYS_futex, (uint32_t *)&c->flush_epoch, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
	return ep;
}

int capture_control_session_open(struct gp_control *c, uint64_t now_ns)
{
	int k = -1;

	page_lock(c);
	if (!atomic_load(&c->collecting)) {
		uint32_t n = atomic_load(&c->nwindows);

		if (n < GP_CAPTURE_MAX_WINDOWS) {
			struct gp_capture_window *w = &c->win[n];

			atomic_store(&w->stop_ns, 0);
			atomic_store(&w->start_ns, now_ns);
			w->pid = 0;
			w->reason = GP_CAPTURE_REASON_SESSION;
			atomic_store_explicit(&c->nwindows, n + 1, memory_order_release);
			atomic_store_explicit(&c->collecting, 1, memory_order_release);
			k = (int)n;
		}
	}
	page_unlock(c);
	if (k >= 0)
		page_flush_request(c);
	return k;
}

int capture_control_session_close(struct gp_control *c, uint64_t now_ns, uint32_t *epoch)
{
	int k = -1;

	page_lock(c);
	if (atomic_load(&c->collecting)) {
		uint32_t n = atomic_load(&c->nwindows);
		struct gp_capture_window *w = &c->win[n - 1];
		uint64_t start = atomic_load(&w->start_ns);

		atomic_store(&w->stop_ns, now_ns > start ? now_ns : start + 1);
		atomic_store_explicit(&c->collecting, 0, memory_order_release);
		k = (int)n - 1;
	}
	page_unlock(c);
	if (k >= 0)
		*epoch = page_flush_request(c);
	return k;
}

/* ---- the capture router (repeat: one report per window) -------------------------------- */

struct cwin {
	struct record_sink *sink; /* its report; NULL until the window's first record, or after
				    failure */
	char *path;
	int failed;
	int finished; /* session: written (or cancelled) by capture_router_finish_window */
	uint64_t start_ns, stop_ns; /* cached from the page (stop 0 = open) */
};

/* Session: the report of a window opened by capture_router_session_open(), made on the
 * control thread before the window was published; the writer takes it at first use. */
struct preset {
	_Atomic(struct record_sink *) sink;
	char *path;
};

struct capture_conn {
	struct capture_conn *prev, *next; /* the router's list of open connections */
	uint32_t pid;
	void **rc; /* per window: its report sink's conn, NULL until the window sees it */
	size_t nrc;
	unsigned char *log; /* the connection's state records, in arrival order */
	size_t log_len, log_cap;
};

/* Bytes of state log (the records every later window's report replays: strings, thread
 * names, HELLO, domains, CUDA devices, a CUDA graph's creation...) the router keeps, all
 * connections together: the recorder's memory stays bounded (recorder.h).  A state record
 * past it still reaches the reports the connection is in already, not the windows it
 * joins later; each is counted once in recorder_stats.report.over_limit (and in
 * GPROF_LOST_OVER_LIMIT of every report the router finishes). */
#define CAPTURE_LOG_MAX (16u << 20)
uint64_t capture_test_log_max; /* recorder_internal.h */

struct report_router {
	struct record_sink sink;  /* first: capture_router_sink() */
	struct report_config cfg; /* path points at base_path */
	char *base_path;
	struct report_meta *meta;
	struct gp_control *ctl;
	struct cwin *win;
	size_t nwin, capwin;
	uint64_t dropped;	    /* records of a window whose report could not be created */
	struct capture_conn *conns; /* open connections (capture_conn_open .. _close) */
	struct preset *preset;	    /* session: GP_CAPTURE_MAX_WINDOWS entries, else NULL */
	unsigned armed;		    /* session with a trigger: the armed window + 1, 0 = none */
	size_t log_bytes;	    /* state log bytes of the open connections (CAPTURE_LOG_MAX) */
	uint64_t log_dropped;	    /* state records not kept for later windows */
};

/* Bring the cached windows up to date with the page. */
static void refresh(struct report_router *rt)
{
	uint32_t n = atomic_load_explicit(&rt->ctl->nwindows, memory_order_acquire);
	size_t k;

	if (n > GP_CAPTURE_MAX_WINDOWS)
		n = GP_CAPTURE_MAX_WINDOWS;
	if (n > rt->capwin) {
		size_t old = rt->capwin;

		GP_ALLOC_GROW(rt->win, n, rt->capwin);
		memset(rt->win + old, 0, (rt->capwin - old) * sizeof(*rt->win));
	}
	for (k = rt->nwin; k < n; k++)
		rt->win[k].start_ns = atomic_load(&rt->ctl->win[k].start_ns);
	rt->nwin = n;
	for (k = n; k-- > 0;) {
		if (rt->win[k].stop_ns)
			break;
		rt->win[k].stop_ns = atomic_load(&rt->ctl->win[k].stop_ns);
	}
}

int report_route_window_near(struct report_router *rt, uint64_t ts_ns)
{
	size_t k;

	refresh(rt);
	if (!rt->nwin)
		return -1;
	for (k = rt->nwin; k-- > 0;) {
		const struct cwin *w = &rt->win[k];

		if (ts_ns < w->start_ns)
			continue;
		if (!w->stop_ns || ts_ns <= w->stop_ns || k + 1 == rt->nwin)
			return (int)k;
		/* in the gap between window k and k + 1: the closer one */
		return ts_ns - w->stop_ns <= rt->win[k + 1].start_ns - ts_ns ? (int)k : (int)k + 1;
	}
	return 0;
}

int capture_control_window_at(const struct gp_control *c, uint64_t ts_ns)
{
	uint32_t n = atomic_load_explicit(&c->nwindows, memory_order_acquire);

	if (n > GP_CAPTURE_MAX_WINDOWS)
		n = GP_CAPTURE_MAX_WINDOWS;
	while (n-- > 0) {
		uint64_t stop;

		if (ts_ns < atomic_load(&c->win[n].start_ns))
			continue;
		stop = atomic_load(&c->win[n].stop_ns);
		return !stop || ts_ns <= stop ? (int)n : -1;
	}
	return -1;
}

int report_route_window_at(struct report_router *rt, uint64_t ts_ns)
{
	int k = capture_control_window_at(rt->ctl, ts_ns);

	refresh(rt); /* (after: rt->nwin covers k) */
	return k < 0 ? REPORT_ROUTE_DROP : k;
}

/* The time at which the producer let a record pass the gate (0 = none). */
static uint64_t gate_time(const struct gp_rec_hdr *rec)
{
	switch (rec->type) {
	case GP_REC_NVTX_EVENT: {
		const struct gp_rec_nvtx *e = (const void *)rec;

		return (e->flags & GP_NVTX_PUSHPOP) && e->end_ns ? e->end_ns : e->start_ns;
	}
	case GP_REC_NVTX_PUSHPOP: {
		const struct gp_rec_nvtx_pushpop *e = (const void *)rec;

		return e->end_ns ? e->end_ns : e->start_ns;
	}
	case GP_REC_NVTX_START:
		return ((const struct gp_rec_nvtx *)rec)->start_ns;
	case GP_REC_NVTX_END:
		return ((const struct gp_rec_nvtx_end *)rec)->end_ns;
	case GP_REC_OSRT:
		return ((const struct gp_rec_osrt *)rec)->end_ns;
	case GP_REC_OVERHEAD:
		return ((const struct gp_rec_overhead *)rec)->start_ns;
	default:
		return 0;
	}
}

struct report_router *capture_router_new(const struct report_config *cfg, int session,
					 struct gp_control *ctl)
{
	struct report_router *rt = xcalloc(1, sizeof(*rt));
	struct record_sink *probe;
	size_t i;

	rt->ctl = ctl;
	rt->cfg = *cfg;
	rt->base_path = xstrdup(cfg->path);
	rt->cfg.path = rt->base_path;
	rt->meta = xcalloc(cfg->n_capture_meta + 1, sizeof(*rt->meta));
	for (i = 0; i < cfg->n_capture_meta; i++) {
		rt->meta[i].name = xstrdup(cfg->capture_meta[i].name);
		rt->meta[i].value =
		    cfg->capture_meta[i].value ? xstrdup(cfg->capture_meta[i].value) : NULL;
	}
	rt->cfg.capture_meta = rt->meta;
	if (session) { /* each window's report is made when it opens */
		rt->preset = xcalloc(GP_CAPTURE_MAX_WINDOWS, sizeof(*rt->preset));
		return rt;
	}
	/* Check now that the first range's report can be created (folder, existing file),
	 * so that a bad -o fails before the application starts. */
	{
		struct report_config c = rt->cfg;
		char *p = capture_range_path(rt->base_path, 1);

		c.path = p;
		probe = report_sink_open(&c, NULL, 0);
		free(p);
	}
	if (!probe) {
		capture_router_free(rt);
		return NULL;
	}
	probe->ops->discard(probe);
	return rt;
}

void capture_router_free(struct report_router *rt)
{
	size_t i;

	for (i = 0; i < rt->cfg.n_capture_meta; i++) {
		free((char *)rt->meta[i].name);
		free((char *)rt->meta[i].value);
	}
	free(rt->meta);
	for (i = 0; i < rt->capwin; i++)
		free(rt->win[i].path);
	free(rt->win);
	if (rt->preset) {
		for (i = 0; i < GP_CAPTURE_MAX_WINDOWS; i++) {
			struct record_sink *s = atomic_load(&rt->preset[i].sink);

			if (s) /* never taken by the writer */
				s->ops->discard(s);
			free(rt->preset[i].path);
		}
		free(rt->preset);
	}
	free(rt->base_path);
	free(rt);
}

/* The report sink of window k, created on first use; NULL when it could not be. */
static struct record_sink *win_report(struct report_router *rt, size_t k)
{
	struct cwin *w = &rt->win[k];

	if (w->sink || w->failed || w->finished)
		return w->sink;
	if (rt->preset) { /* session: the report made when the window opened */
		w->sink = atomic_exchange(&rt->preset[k].sink, NULL);
		if (!w->sink) {
			w->failed = 1;
			return NULL;
		}
		w->path = xstrdup(rt->preset[k].path);
		w->sink->ops->begin(w->sink);
		return w->sink;
	}
	w->path = capture_range_path(rt->base_path, (unsigned)k + 1);
	{
		struct report_config c = rt->cfg;

		c.path = w->path;
		w->sink = report_sink_open(&c, rt->ctl, (int)k);
	}
	if (!w->sink) {
		w->failed = 1;
		return NULL;
	}
	w->sink->ops->begin(w->sink);
	return w->sink;
}

struct capture_conn *capture_conn_open(struct report_router *rt, uint32_t pid)
{
	struct capture_conn *cc = xcalloc(1, sizeof(*cc));

	cc->pid = pid;
	cc->next = rt->conns;
	if (cc->next)
		cc->next->prev = cc;
	rt->conns = cc;
	return cc;
}

/* The connection's decoding state in window k's report, replaying its state log into
 * it the first time. */
static void *conn_in(struct report_router *rt, struct capture_conn *cc, size_t k)
{
	struct record_sink *s = win_report(rt, k);
	size_t off;

	if (!s)
		return NULL;
	if (k >= cc->nrc) {
		size_t old = cc->nrc;

		GP_ALLOC_GROW(cc->rc, k + 1, cc->nrc);
		memset(cc->rc + old, 0, (cc->nrc - old) * sizeof(*cc->rc));
	}
	if (cc->rc[k])
		return cc->rc[k];
	s->ops->begin(s);
	cc->rc[k] = s->ops->conn_open(s, cc->pid);
	for (off = 0; off < cc->log_len;) {
		const struct gp_rec_hdr *h = (const void *)(cc->log + off);

		s->ops->record(s, cc->rc[k], h);
		off += h->size;
	}
	return cc->rc[k];
}

static void log_append(struct report_router *rt, struct capture_conn *cc,
		       const struct gp_rec_hdr *rec)
{
	if (rt->log_bytes + rec->size >
	    (capture_test_log_max ? capture_test_log_max : CAPTURE_LOG_MAX)) {
		rt->log_dropped++; /* (the reports open now have it) */
		return;
	}
	rt->log_bytes += rec->size;
	GP_ALLOC_GROW(cc->log, cc->log_len + rec->size, cc->log_cap);
	memcpy(cc->log + cc->log_len, rec, rec->size);
	cc->log_len += rec->size;
}

/* Hand rec of connection state rc to window k's report sink. */
static inline int win_record(struct report_router *rt, size_t k, void *rc,
			     const struct gp_rec_hdr *rec)
{
	struct record_sink *s = rt->win[k].sink;

	return s->ops->record(s, rc, rec);
}

/* Combine record() results of one record in several reports: -1 (bad) wins,
 * then REPORT_REC_REFUSED, then 0. */
static int merge_rc(int ret, int rc)
{
	return ret < 0 || rc < 0 ? -1 : ret > rc ? ret : rc;
}

/* Hand rec to every window report this connection is in. */
static int broadcast(struct report_router *rt, struct capture_conn *cc,
		     const struct gp_rec_hdr *rec)
{
	size_t k;
	int ret = 0;

	for (k = 0; k < cc->nrc && k < rt->nwin; k++)
		if (cc->rc[k] && rt->win[k].sink)
			ret = merge_rc(ret, win_record(rt, k, cc->rc[k], rec));
	return ret;
}

/* Hand rec to the reports of window first and every later window opened so far
 * (REPORT_ROUTE_FROM), joining the connection to them; then keep it in the state log for
 * the windows still to open.  Window first may have closed before rec arrived (CUPTI and
 * the rings deliver late): rec still belongs to it. */
static int broadcast_from(struct report_router *rt, struct capture_conn *cc, size_t first,
			  const struct gp_rec_hdr *rec)
{
	void *rc;
	size_t k;
	int ret = 0;

	refresh(rt);
	for (k = first; k < rt->nwin; k++) {
		rc = conn_in(rt, cc, k); /* replays the log without rec */
		if (rc)
			ret = merge_rc(ret, win_record(rt, k, rc, rec));
		else
			rt->dropped++;
	}
	log_append(rt, cc, rec);
	return ret;
}

int capture_record(struct report_router *rt, struct capture_conn *cc, const struct gp_rec_hdr *rec)
{
	const struct report_module *m;
	void *rc;
	int k = REPORT_ROUTE_DEFAULT;
	size_t min = gp_rec_min_size(rec->type);

	if (min && rec->size < min)
		return -1;
	if (rec->type == GP_REC_FLUSH_ACK)
		return 0; /* the recorder's reader acts on it */
	if (rec->type == GP_REC_LOSS || rec->type == GP_REC_PROCESS_EXIT) {
		refresh(rt);
		return broadcast(rt, cc, rec);
	}
	if (rec->type == GP_REC_CAPTURE) {
		refresh(rt);
		k = (int)((const struct gp_rec_capture *)rec)->window;
		if ((size_t)k < rt->nwin)
			conn_in(rt, cc, (size_t)k); /* an empty range still gets its process */
		return 0;
	}
	if (gp_rec_is_state(rec->type)) {
		if (rec->type == GP_REC_STRING && rec->size < sizeof(struct gp_rec_string))
			return -1;
		log_append(rt, cc, rec);
		refresh(rt);
		return broadcast(rt, cc, rec);
	}
	m = report_module_for_type(rec->type);
	if (!m && rec->type != GP_REC_OVERHEAD) /* the profiler's own time: by its start */
		return -1;
	if (m && m->route)
		k = m->route(rt, cc->pid, rec);
	if (k == REPORT_ROUTE_ALL) {
		log_append(rt, cc, rec);
		refresh(rt);
		return broadcast(rt, cc, rec);
	}
	if (k == REPORT_ROUTE_DROP)
		return 0;
	if (k <= REPORT_ROUTE_FROM(0)) /* e.g. a CUDA graph's creation */
		return broadcast_from(rt, cc, REPORT_ROUTE_FROM_WINDOW(k), rec);
	if (k < 0) {
		uint64_t ts = gate_time(rec);

		k = ts ? report_route_window_near(rt, ts) : (refresh(rt), (int)rt->nwin - 1);
	} else {
		refresh(rt);
	}
	if (k < 0 || (size_t)k >= rt->nwin) {
		rt->dropped++; /* no window (yet): cannot place it */
		return 0;
	}
	rc = conn_in(rt, cc, (size_t)k);
	if (!rc) {
		rt->dropped++;
		return 0;
	}
	return win_record(rt, (size_t)k, rc, rec);
}

void capture_conn_close(struct report_router *rt, struct capture_conn *cc)
{
	size_t k;

	for (k = 0; k < cc->nrc; k++)
		if (cc->rc[k] && k < rt->nwin && rt->win[k].sink) {
			struct record_sink *s = rt->win[k].sink;

			s->ops->begin(s);
			s->ops->conn_close(s, cc->rc[k]);
		}
	if (cc->prev)
		cc->prev->next = cc->next;
	else
		rt->conns = cc->next;
	if (cc->next)
		cc->next->prev = cc->prev;
	free(cc->rc);
	rt->log_bytes -= cc->log_len;
	free(cc->log);
	free(cc);
}

void capture_commit(struct report_router *rt)
{
	size_t k;

	for (k = 0; k < rt->nwin; k++)
		if (rt->win[k].sink)
			rt->win[k].sink->ops->commit(rt->win[k].sink);
}

/* META_DATA_CAPTURE rows describing window k (report time ns). */
void capture_window_meta(struct report *rep, const struct gp_control *ctl, uint64_t session_start,
			 unsigned index)
{
	char buf[32];
	uint64_t start = atomic_load(&ctl->win[index].start_ns);
	uint64_t stop = atomic_load(&ctl->win[index].stop_ns);

	report_begin(rep);
	snprintf(buf, sizeof(buf), "%u", index + 1);
	report_meta_capture(rep, "GPROF_CAPTURE_RANGE", buf);
	snprintf(buf, sizeof(buf), "%lld", (long long)(start - session_start));
	report_meta_capture(rep, "GPROF_CAPTURE_RANGE_START", buf);
	if (stop) {
		snprintf(buf, sizeof(buf), "%lld", (long long)(stop - session_start));
		report_meta_capture(rep, "GPROF_CAPTURE_RANGE_STOP", buf);
	}
}

/* Finish the report sink of a window with the counters of st (the report's own added into
 * st->report) and take the file it wrote (*path, caller frees; NULL: none). */
static int finish_sink(struct record_sink *s, const struct report_app_status *app,
		       struct recorder_stats *st, char **path)
{
	struct recorder_stats one = *st;
	int ret;

	one.report_paths = NULL;
	one.n_reports = 0;
	ret = s->ops->finish(s, app, &one);
	*path = one.n_reports ? one.report_paths[0] : NULL;
	for (size_t i = 1; i < one.n_reports; i++)
		free(one.report_paths[i]);
	free(one.report_paths);
	st->report = one.report;
	return ret;
}

int capture_router_finish(struct report_router *rt, const struct report_app_status *app,
			  struct recorder_stats *st)
{
	size_t k;
	int ret = 0;
	struct recorder_stats total = *st;

	refresh(rt);
	for (k = 0; k < rt->nwin; k++) {
		struct recorder_stats one = *st;
		struct record_sink *s;
		char *path;

		one.report.over_limit += rt->log_dropped; /* (every report says it; counted once) */
		if (rt->win[k].finished)
			continue;      /* session: written at its stop */
		s = win_report(rt, k); /* an empty range still gets its report */
		if (!s) {
			ret = -1;
			continue;
		}
		rt->win[k].sink = NULL;
		if (finish_sink(s, app, &one, &path) < 0)
			ret = -1;
		if (path) {
			record_sink_add_path(&total, path);
			free(path);
		}
		/* per-report figures: the largest (every report saw the same loss records) */
		if (one.report.processes > total.report.processes)
			total.report.processes = one.report.processes;
		if (one.report.dropped_records > total.report.dropped_records)
			total.report.dropped_records = one.report.dropped_records;
		if (one.report.failed_sends > total.report.failed_sends)
			total.report.failed_sends = one.report.failed_sends;
		if (one.report.cupti_dropped > total.report.cupti_dropped)
			total.report.cupti_dropped = one.report.cupti_dropped;
		if (one.report.zero_timestamps > total.report.zero_timestamps)
			total.report.zero_timestamps = one.report.zero_timestamps;
		total.report.write_errors += one.report.write_errors - st->report.write_errors;
		total.report.bad_records += one.report.bad_records - st->report.bad_records;
		total.report.nvtx_payloads_undecoded +=
		    one.report.nvtx_payloads_undecoded - st->report.nvtx_payloads_undecoded;
		total.report.nvtx_payloads_unsent +=
		    one.report.nvtx_payloads_unsent - st->report.nvtx_payloads_unsent;
		total.report.app_waits += one.report.app_waits - st->report.app_waits;
		total.report.app_wait_ns += one.report.app_wait_ns - st->report.app_wait_ns;
		total.report.over_limit +=
		    one.report.over_limit - st->report.over_limit - rt->log_dropped;
		total.report.disk_full_lost +=
		    one.report.disk_full_lost - st->report.disk_full_lost;
	}
	total.capture_unrouted = rt->dropped;
	total.report.over_limit += rt->log_dropped;
	*st = total;
	return ret;
}

int capture_router_session_open(struct report_router *rt, const char *path, int force,
				uint64_t now_ns)
{
	struct report_config c = rt->cfg;
	struct record_sink *rep;
	uint32_t n = atomic_load_explicit(&rt->ctl->nwindows, memory_order_acquire);
	int k;

	if (!rt->preset || atomic_load(&rt->ctl->collecting) || n >= GP_CAPTURE_MAX_WINDOWS)
		return -1;
	c.path = path;
	c.force_overwrite = force;
	rep = report_sink_open(&c, rt->ctl, (int)n);
	if (!rep)
		return -1;
	free(rt->preset[n].path);
	rt->preset[n].path = xstrdup(path);
	atomic_store(&rt->preset[n].sink, rep);
	if (rt->ctl->mode == GP_CAPTURE_CUDA || rt->ctl->mode == GP_CAPTURE_NVTX) {
		/* the application's trigger opens it */
		page_lock(rt->ctl);
		atomic_store(&rt->ctl->done, 0);
		page_unlock(rt->ctl);
		rt->armed = n + 1;
		return (int)n;
	}
	k = capture_control_session_open(rt->ctl, now_ns);
	if (k != (int)n) { /* (cannot happen: this thread alone opens windows) */
		if (atomic_exchange(&rt->preset[n].sink, NULL))
			rep->ops->discard(rep);
		return -1;
	}
	return k;
}

int capture_router_session_disarm(struct report_router *rt, int *open)
{
	struct gp_control *c = rt->ctl;
	unsigned k = rt->armed - 1;
	uint32_t n;
	int coll;

	*open = 0;
	if (!rt->armed)
		return -1;
	rt->armed = 0;
	page_lock(c);
	atomic_store(&c->done, 1);
	n = atomic_load(&c->nwindows);
	coll = (int)atomic_load(&c->collecting);
	page_unlock(c);
	if (n == k) { /* no range since the start: its report goes */
		struct record_sink *rep = atomic_exchange(&rt->preset[k].sink, NULL);

		if (rep)
			rep->ops->discard(rep);
		return -1;
	}
	*open = coll;
	return (int)k;
}

int capture_router_finish_window(struct report_router *rt, unsigned k,
				 const struct report_app_status *app, struct recorder_stats *st,
				 int cancel, char **path)
{
	struct capture_conn *cc;
	struct record_sink *s;
	int ret = 0;

	*path = NULL;
	refresh(rt);
	if (k >= rt->nwin || rt->win[k].finished)
		return -1;
	s = win_report(rt, k); /* an empty window still gets its report */
	if (!s) {
		rt->win[k].finished = 1;
		return -1;
	}
	for (cc = rt->conns; cc; cc = cc->next)
		if (k < cc->nrc && cc->rc[k]) {
			s->ops->begin(s);
			s->ops->conn_close(s, cc->rc[k]);
			cc->rc[k] = NULL;
		}
	rt->win[k].sink = NULL;
	rt->win[k].finished = 1;
	if (cancel) {
		*path = xstrdup(rt->win[k].path);
		s->ops->discard(s);
	} else {
		ret = finish_sink(s, app, st, path);
	}
	return ret;
}

void capture_router_discard(struct report_router *rt)
{
	size_t k;

	for (k = 0; k < rt->nwin; k++)
		if (rt->win[k].sink) {
			rt->win[k].sink->ops->discard(rt->win[k].sink);
			rt->win[k].sink = NULL;
		}
}

/* ---- the router as the recorder's sink (recorder_sink.h) ------------------------------- */

static void *router_conn_open(struct record_sink *s, uint32_t pid)
{
	return capture_conn_open((struct report_router *)s, pid);
}

static int router_record(struct record_sink *s, void *conn, const struct gp_rec_hdr *rec)
{
	return capture_record((struct report_router *)s, conn, rec);
}

static void router_conn_close(struct record_sink *s, void *conn)
{
	capture_conn_close((struct report_router *)s, conn);
}

static int router_commit(struct record_sink *s)
{
	capture_commit((struct report_router *)s);
	return 0;
}

static int router_finish(struct record_sink *s, const struct report_app_status *app,
			 struct recorder_stats *st)
{
	struct report_router *rt = (struct report_router *)s;
	int ret = capture_router_finish(rt, app, st);

	capture_router_free(rt);
	return ret;
}

static void router_discard(struct record_sink *s)
{
	struct report_router *rt = (struct report_router *)s;

	capture_router_discard(rt);
	capture_router_free(rt);
}

static const struct record_sink_ops router_sink_ops = {
    .conn_open = router_conn_open,
    .record = router_record,
    .conn_close = router_conn_close,
    .begin = NULL, /* each window's report sink is begun as records reach it */
    .commit = router_commit,
    .txn_rows = NULL,
    .finish = router_finish,
    .discard = router_discard,
};

struct record_sink *capture_router_sink(struct report_router *rt)
{
	rt->sink.ops = &router_sink_ops;
	return &rt->sink;
}
