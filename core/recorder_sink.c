/*
 * recorder_sink.c - the report sink: the record_sink interface (recorder_sink.h) over one
 * report (report.h).
 */
#include <stdlib.h>
#include <string.h>

#include "recorder_sink.h"
#include "recorder.h"
#include "recorder_internal.h"
#include "report.h"
#include "util.h"

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

static const struct record_sink_ops report_sink_ops = {
    .conn_open = rs_conn_open,
    .record = rs_record,
    .conn_close = rs_conn_close,
    .begin = rs_begin,
    .commit = rs_commit,
    .txn_rows = rs_txn_rows,
    .finish = rs_finish,
    .discard = rs_discard,
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
	st->report_paths = xrealloc(st->report_paths, (st->n_reports + 2) * sizeof(char *));
	st->report_paths[st->n_reports++] = xstrdup(path);
	st->report_paths[st->n_reports] = NULL;
}
