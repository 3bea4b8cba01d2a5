/*
 * recorder_sink.c - the report sink: the record_sink interface (recorder_sink.h) over one
 * report (report.h).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "recorder_sink.h"
#include "recorder.h"
#include "recorder_internal.h"
#include "report.h"
#include "report_par.h"
#include "util.h"
#include "wire_decode.h"
#include "wire_tap.h"

struct report_sink {
	struct record_sink sink; /* first: the sink's address is the struct's */
	struct report *rep;
	char *path;
	const struct gp_control *ctl;
	uint64_t session_start_ns;
	int window;
};

static void *rs_conn_open(struct record_sink *s, uint32_t pid)
{
	return report_conn_open(((struct report_sink *)s)->rep, pid);
}

static int rs_record(struct record_sink *s, void *conn, const struct gp_rec_hdr *rec)
{
	return report_record(((struct report_sink *)s)->rep, conn, rec);
}

static void rs_conn_close(struct record_sink *s, void *conn)
{
	report_conn_close(((struct report_sink *)s)->rep, conn);
}

static void rs_begin(struct record_sink *s)
{
	report_begin(((struct report_sink *)s)->rep);
}

static int rs_commit(struct record_sink *s)
{
	return report_commit(((struct report_sink *)s)->rep);
}

static uint64_t rs_txn_rows(struct record_sink *s)
{
	return report_txn_rows(((struct report_sink *)s)->rep);
}

static int rs_finish(struct record_sink *s, const struct report_app_status *app,
		     struct recorder_stats *st)
{
	struct report_sink *x = (struct report_sink *)s;
	int window = x->window, ret;

	if (window == REPORT_SINK_FIRST_RANGE)
		window = st->capture_ranges ? 0 : -1;
	if (window >= 0 && x->ctl)
		capture_window_meta(x->rep, x->ctl, x->session_start_ns, (unsigned)window);
	ret = report_finish(x->rep, app, &st->report);
	record_sink_add_path(st, x->path);
	free(x->path);
	free(x);
	return ret;
}

static void rs_discard(struct record_sink *s)
{
	struct report_sink *x = (struct report_sink *)s;

	report_discard(x->rep);
	free(x->path);
	free(x);
}

static int rs_drain(struct record_sink *s, unsigned k, uint64_t *cpu_ns)
{
	struct report *rep = ((struct report_sink *)s)->rep;

	return k ? report_par_start(rep, k) : report_par_stop(rep, cpu_ns);
}

unsigned record_sink_drain_writers(uint64_t bytes)
{
	const char *env = getenv(REPORT_PAR_ENV);
	unsigned k;

	if (!bytes)
		return 1;
	k = report_par_writers();
	if (bytes < RECORD_SINK_DRAIN_BYTES && !(env && *env))
		return 1;
	return k;
}

static const struct record_sink_ops report_sink_ops = {
    .conn_open = rs_conn_open,
    .record = rs_record,
    .conn_close = rs_conn_close,
    .begin = rs_begin,
    .commit = rs_commit,
    .txn_rows = rs_txn_rows,
    .finish = rs_finish,
    .discard = rs_discard,
    .drain = rs_drain,
};

struct record_sink *report_sink_open(const struct report_config *cfg, const struct gp_control *ctl,
				     int window)
{
	struct report *rep = report_open(cfg);
	struct report_sink *x;

	if (!rep)
		return NULL;
	x = xcalloc(1, sizeof(*x));
	x->sink.ops = &report_sink_ops;
	x->rep = rep;
	x->path = xstrdup(cfg->path);
	x->ctl = ctl;
	x->session_start_ns = cfg->session_start_ns;
	x->window = window;
	return &x->sink;
}

void record_sink_add_path(struct recorder_stats *st, const char *path)
{
	st->report_paths = xrealloc_array(st->report_paths, st->n_reports + 2, sizeof(char *));
	st->report_paths[st->n_reports++] = xstrdup(path);
	st->report_paths[st->n_reports] = NULL;
}

/* ---- replaying a frame tap ------------------------------------------------------------ */

struct replay_conn {
	void *sc; /* the sink's state; NULL: not open */
	struct gp_seq seq;
};

struct replay {
	struct record_sink *sink;
	struct report_config cfg;
	struct replay_conn *conns; /* by connection number */
	size_t nconns, alloc;
	struct gp_decode_counts cnt;
	int failed;	/* the report could not be created */
	unsigned drain; /* parallel writers for the tap (record_sink_drain_writers()) */
};

/* The size of the tap file (0 when unknown). */
static uint64_t tap_bytes(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 && sb.st_size > 0 ? (uint64_t)sb.st_size : 0;
}

struct replay_rec {
	struct record_sink *sink;
	void *sc;
};

static int replay_one(void *ctx, const struct gp_rec_hdr *rec)
{
	struct replay_rec *y = ctx;

	return y->sink->ops->record(y->sink, y->sc, rec);
}

static int replay_entry(void *ctx, const struct gp_tap_entry *e, const void *data)
{
	struct replay *x = ctx;
	struct replay_conn *c;

	if (!x->sink) {
		x->sink = report_sink_open(&x->cfg, NULL, REPORT_SINK_FIRST_RANGE);
		if (!x->sink) {
			x->failed = 1;
			return -1;
		}
		if (x->drain >= 2) /* (not started: one warning, the report's connection alone) */
			x->sink->ops->drain(x->sink, x->drain, NULL);
	}
	if (e->conn >= x->alloc) {
		size_t old = x->alloc;

		GP_ALLOC_GROW(x->conns, (size_t)e->conn + 1, x->alloc);
		memset(x->conns + old, 0, (x->alloc - old) * sizeof(*x->conns));
	}
	c = &x->conns[e->conn];
	if (e->kind == GP_TAP_OPEN) {
		if (!c->sc)
			c->sc = x->sink->ops->conn_open(x->sink, e->pid);
		return 0;
	}
	if (!c->sc) /* (a damaged tap: a frame or close of a connection never opened) */
		c->sc = x->sink->ops->conn_open(x->sink, e->pid);
	x->sink->ops->begin(x->sink);
	if (e->kind == GP_TAP_FRAME) {
		struct replay_rec y = {x->sink, c->sc};

		gp_decode_frame(data, e->len, &c->seq, &x->cnt, replay_one, &y);
		return 0;
	}
	x->sink->ops->conn_close(x->sink, c->sc);
	gp_seq_close(&c->seq, &x->cnt);
	memset(c, 0, sizeof(*c));
	return 0;
}

int recorder_replay_tap(const char *tap_path, const char *report_path, int force,
			const struct report_app_status *app, struct recorder_stats *st)
{
	struct replay x;
	struct gp_tap_hdr hdr;
	int ret;

	memset(&x, 0, sizeof(x));
	x.cfg.path = report_path;
	x.cfg.force_overwrite = force;
	/* the session start comes with the header, read before the first entry */
	ret = gp_tap_read_hdr(tap_path, &hdr);
	if (ret < 0)
		return -1;
	x.cfg.session_start_ns = hdr.session_start_ns;
	x.cfg.session_start_utc_ns = hdr.session_start_utc_ns;
	x.drain = record_sink_drain_writers(tap_bytes(tap_path));
	ret = gp_tap_read(tap_path, &hdr, replay_entry, &x);
	if (!x.sink && !x.failed) /* an empty tap: an empty report */
		x.sink = report_sink_open(&x.cfg, NULL, REPORT_SINK_FIRST_RANGE);
	if (!x.sink) {
		free(x.conns);
		return -1;
	}
	if (ret < 0) { /* the tap could not be read: no report */
		x.sink->ops->discard(x.sink);
		free(x.conns);
		return -1;
	}
	for (size_t i = 0; i < x.alloc; i++) /* connections the tap left open */
		if (x.conns[i].sc) {
			x.sink->ops->begin(x.sink);
			x.sink->ops->conn_close(x.sink, x.conns[i].sc);
			gp_seq_close(&x.conns[i].seq, &x.cnt);
		}
	free(x.conns);
	x.sink->ops->commit(x.sink);
	st->frames += x.cnt.frames;
	st->report.records += x.cnt.records;
	st->report.bad_frames += x.cnt.bad_frames;
	st->report.lost_frames += x.cnt.lost_frames;
	return x.sink->ops->finish(x.sink, app, st);
}
