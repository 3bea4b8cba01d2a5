/*
 * report_session.c - ProcessStreams, DIAGNOSTIC_EVENT and PROFILER_OVERHEAD (see
 * report_session.h), in nsys's layout:
 *
 *   ProcessStreams (globalPid NOT NULL, filenameId NOT NULL, contentId NOT NULL): the
 *     launched process's globalPid, StringIds of "pid_<pid>_stdout.log" / "..._stderr.log"
 *     (the file names nsys gives the streams it saves; gprof-cli keeps no such file, the
 *     text is in the report) and of the stream's bytes; stdout first, an empty stream is an
 *     empty string (fixture: both rows, stderr '').
 *   DIAGNOSTIC_EVENT (timestamp, timestampType, source, severity, text NOT NULL, globalPid):
 *     rows sorted by timestamp (report ns, negative before the session start); the losses
 *     and the -t values that saw nothing at the stop time, as nsys's totals; nsys's
 *     session rows "Profiling has started." / "Profiling has stopped." (Analysis, Info,
 *     globalPid REPORT_DIAG_SESSION_GPID) and "Process was launched by the profiler, ..."
 *     (Daemon, Info, the app's globalPid), as the fixture has them.
 *   PROFILER_OVERHEAD (start, end NOT NULL, globalTid, nameId NOT NULL, returnValue NOT
 *     NULL): returnValue 0, as every fixture row.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "report_session.h"
#include "util.h"

_Static_assert(sizeof(struct gp_rec_overhead) == 32, "wire size");

struct session_state {
	sqlite3_stmt *overhead; /* PROFILER_OVERHEAD insert, NULL until the first row */
};

static struct session_state *state(struct report *r)
{
	void **slot = report_module_state(r, REPORT_MOD_SESSION);

	if (!*slot)
		*slot = xcalloc(1, sizeof(struct session_state));
	return *slot;
}

/* ---- PROFILER_OVERHEAD ------------------------------------------------------------------ */

void report_overhead(struct report *r, int64_t global_tid, uint64_t start_ns, uint64_t end_ns,
		     const char *name)
{
	struct session_state *s = state(r);
	sqlite3_stmt *st;

	if (!s->overhead) {
		report_exec(r, "CREATE TABLE PROFILER_OVERHEAD (start INTEGER NOT NULL, "
			       "end INTEGER NOT NULL, globalTid INTEGER, nameId INTEGER NOT NULL, "
			       "returnValue INTEGER NOT NULL)");
		s->overhead =
		    report_prepare(r, "INSERT INTO PROFILER_OVERHEAD (start, end, "
				      "globalTid, nameId, returnValue) VALUES (?, ?, ?, ?, 0)");
	}
	st = s->overhead;
	sqlite3_bind_int64(st, 1, report_time(r, start_ns));
	sqlite3_bind_int64(st, 2, report_time(r, end_ns < start_ns ? start_ns : end_ns));
	if (global_tid)
		sqlite3_bind_int64(st, 3, global_tid);
	else
		sqlite3_bind_null(st, 3);
	sqlite3_bind_int64(st, 4, report_string(r, name, strlen(name)));
	report_step_state(r, st);
}

int report_overhead_record(struct report *r, struct report_conn *c, const struct gp_rec_hdr *rec)
{
	const struct gp_rec_overhead *o = (const void *)rec;
	const char *name;

	if (rec->size < sizeof(*o))
		return -1;
	if (!report_span_ok(r, o->start_ns, o->end_ns))
		return report_count_bad_record(r);
	name = report_conn_string_text(c, o->name_sid);
	if (name && strcmp(name, GP_OVERHEAD_RECORDER_WAIT) == 0)
		report_count_app_wait(r, o->end_ns - o->start_ns);
	report_overhead(r, report_global_tid(report_conn_pid(c), o->h.tid), o->start_ns, o->end_ns,
			name ? name : "Unknown");
	return 0;
}

/* ---- losses ------------------------------------------------------------------------------ */

void report_losses(const struct report_stats *st,
		   void (*fn)(void *ctx, const char *message, const char *hint), void *ctx)
{
	char msg[256];

	if (st->dropped_records) {
		snprintf(msg, sizeof(msg),
			 "%llu records dropped by the collectors (per-thread buffers full)",
			 (unsigned long long)st->dropped_records);
		fn(ctx, msg,
		   "flush more often with GPROF_CLI_FLUSH_MS=20, or raise --osrt-threshold");
	}
	if (st->failed_sends) {
		snprintf(msg, sizeof(msg), "%llu frames could not be sent to gprof-cli",
			 (unsigned long long)st->failed_sends);
		fn(ctx, msg,
		   "the application closed or replaced the channel socket, or had no file "
		   "descriptor left to open one (EMFILE); keep GPROF_CLI_CHANNEL's folder in "
		   "place, raise ulimit -n");
	}
	if (st->spool_lost) {
		snprintf(msg, sizeof(msg),
			 "%llu records lost: the spool file next to the report could not take "
			 "them (disk full?)",
			 (unsigned long long)st->spool_lost);
		fn(ctx, msg,
		   "free space in the report's folder, or write the report (-o) where there "
		   "is more");
	}
	if (st->lost_frames) {
		snprintf(msg, sizeof(msg), "%llu frames lost in transit",
			 (unsigned long long)st->lost_frames);
		fn(ctx, msg, "a process was killed while sending; its last buffer is incomplete");
	}
	if (st->bad_frames) {
		snprintf(msg, sizeof(msg), "%llu malformed frames rejected",
			 (unsigned long long)st->bad_frames);
		fn(ctx, msg,
		   "the injection libraries do not match this gprof-cli; rebuild, or set "
		   "GPROF_CLI_LIBDIR to the matching folder");
	}
	if (st->bad_records) {
		snprintf(msg, sizeof(msg),
			 "%llu records refused: a field out of range (id, size, time or count)",
			 (unsigned long long)st->bad_records);
		fn(ctx, msg,
		   "a process wrote damaged or forged records to the record channel; check what "
		   "else the application loads with LD_PRELOAD");
	}
	if (st->over_limit) {
		snprintf(msg, sizeof(msg),
			 "%llu records dropped at the recorder's memory limits (strings, open "
			 "ranges)",
			 (unsigned long long)st->over_limit);
		fn(ctx, msg,
		   "end start/end ranges the application leaves open, or use fewer distinct "
		   "NVTX messages (registered strings)");
	}
	if (st->cupti_dropped) {
		snprintf(msg, sizeof(msg), "%llu CUDA activity records dropped by CUPTI",
			 (unsigned long long)st->cupti_dropped);
		fn(ctx, msg,
		   "flush more often with GPROF_CLI_FLUSH_MS=20, or leave "
		   "--cuda-trace-all-apis=false");
	}
	if (st->zero_timestamps) {
		snprintf(msg, sizeof(msg), "%llu GPU records skipped for zero timestamps",
			 (unsigned long long)st->zero_timestamps);
		fn(ctx, msg, NULL);
	}
	if (st->recovered) {
		snprintf(msg, sizeof(msg),
			 "%llu records recovered from the buffers of %llu process%s that ended "
			 "without flushing them (_exit, a crash, a kill)",
			 (unsigned long long)st->recovered, (unsigned long long)st->abrupt_exits,
			 st->abrupt_exits == 1 ? "" : "es");
		fn(ctx, msg, NULL);
	}
	if (st->nvtx_payloads_undecoded) {
		snprintf(msg, sizeof(msg),
			 "%llu NVTX extended payloads not decoded: their schema was not registered "
			 "or uses what gprof-cli does not decode (GPROF_NVTX_PAYLOADS_UNDECODED)",
			 (unsigned long long)st->nvtx_payloads_undecoded);
		fn(ctx, msg,
		   "register each schema (nvtxPayloadSchemaRegister) in the domain of its events, "
		   "before them; unions, pointers and variable-length entries stay undecoded");
	}
	if (st->nvtx_payloads_unsent) {
		snprintf(
		    msg, sizeof(msg),
		    "%llu NVTX extended payloads not recorded: over %d bytes, of unknown size, "
		    "or given at a pop/end or to a deferred event (GPROF_NVTX_PAYLOADS_UNSENT)",
		    (unsigned long long)st->nvtx_payloads_unsent, GP_NVTX_EXT_BYTES_MAX);
		fn(ctx, msg, NULL);
	}
	if (st->accept_waits) {
		snprintf(msg, sizeof(msg),
			 "gprof-cli ran out of file descriptors %llu time%s: new processes waited "
			 "to connect (nothing lost)",
			 (unsigned long long)st->accept_waits, st->accept_waits == 1 ? "" : "s");
		fn(ctx, msg, "raise the limit of open files (ulimit -Hn) for gprof-cli");
	}
	if (st->disk_full_lost) {
		snprintf(msg, sizeof(msg),
			 "%llu rows not written: the disk filled up while the report was written "
			 "(it holds what was written before)",
			 (unsigned long long)st->disk_full_lost);
		fn(ctx, msg,
		   "free space in the report's folder, or write the report (-o) where there "
		   "is more");
	}
	if (st->write_errors) {
		snprintf(msg, sizeof(msg), "%llu records could not be written to the report",
			 (unsigned long long)st->write_errors);
		fn(ctx, msg, "check free space in the report's folder");
	}
}

/* ---- DIAGNOSTIC_EVENT -------------------------------------------------------------------- */

/* One row to write: report time and owned text. */
struct diag_row {
	int64_t ts;
	int ts_type, source, severity;
	int64_t gpid;
	char *text;
	size_t seq; /* input order: the tie-break that keeps the sort stable */
};

struct diag_list {
	struct diag_row *v;
	size_t n, alloc;
};

static void diag_add(struct diag_list *l, int64_t ts, int ts_type, int source, int severity,
		     int64_t gpid, char *text)
{
	GP_ALLOC_GROW(l->v, l->n + 1, l->alloc);
	l->v[l->n] = (struct diag_row){ts, ts_type, source, severity, gpid, text, l->n};
	l->n++;
}

static int diag_cmp(const void *a, const void *b)
{
	const struct diag_row *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

struct loss_ctx {
	struct diag_list *l;
	int64_t ts;
};

static void loss_row(void *ctx, const char *message, const char *hint)
{
	struct loss_ctx *x = ctx;

	diag_add(x->l, x->ts, REPORT_DIAG_TS_HOST, REPORT_DIAG_ANALYSIS, REPORT_DIAG_WARNING,
		 (int64_t)(GP_VM_ID << 48),
		 hint ? xasprintf("%s; hint: %s", message, hint) : xstrdup(message));
}

static void write_diags(struct report *r, const struct report_session *s,
			const struct report_stats *st, int64_t stop)
{
	struct diag_list l = {0};
	struct loss_ctx lx = {&l, stop};
	sqlite3_stmt *ins;
	size_t i;

	diag_add(&l, 0, REPORT_DIAG_TS_TARGET, REPORT_DIAG_ANALYSIS, REPORT_DIAG_INFO,
		 REPORT_DIAG_SESSION_GPID, xstrdup("Profiling has started."));
	if (s && s->app_pid && s->app_start_ns)
		diag_add(&l, report_time(r, s->app_start_ns), REPORT_DIAG_TS_TARGET,
			 REPORT_DIAG_DAEMON, REPORT_DIAG_INFO, report_global_pid(s->app_pid),
			 xstrdup(s->nstreams ? "Process was launched by the profiler, see "
					       "ProcessStreams for program output"
					     : "Process was launched by the profiler"));
	for (i = 0; s && i < s->ndiags; i++) {
		const struct report_diag *d = &s->diags[i];

		diag_add(&l, report_time(r, d->ts_ns), d->ts_type, d->source, d->severity,
			 d->pid ? report_global_pid(d->pid) : (int64_t)(GP_VM_ID << 48),
			 xstrdup(d->text ? d->text : ""));
	}
	report_losses(st, loss_row, &lx);
	/* -t values that recorded nothing (report_stats.not_seen; `profile` prints them) */
	for (const char *p = st->not_seen; p && *p;) {
		size_t n = strcspn(p, ",");

		diag_add(&l, stop, REPORT_DIAG_TS_HOST, REPORT_DIAG_ANALYSIS, REPORT_DIAG_WARNING,
			 (int64_t)(GP_VM_ID << 48),
			 xasprintf("no events collected for -t %.*s", (int)n, p));
		p += n + (p[n] == ',');
	}
	diag_add(&l, stop, REPORT_DIAG_TS_TARGET, REPORT_DIAG_ANALYSIS, REPORT_DIAG_INFO,
		 REPORT_DIAG_SESSION_GPID, xstrdup("Profiling has stopped."));
	qsort(l.v, l.n, sizeof(*l.v), diag_cmp);

	report_exec(r, "CREATE TABLE DIAGNOSTIC_EVENT (timestamp INTEGER NOT NULL, "
		       "timestampType INTEGER NOT NULL, source INTEGER NOT NULL, "
		       "severity INTEGER NOT NULL, text TEXT NOT NULL, globalPid INTEGER)");
	ins = report_prepare(r, "INSERT INTO DIAGNOSTIC_EVENT (timestamp, timestampType, source, "
				"severity, text, globalPid) VALUES (?, ?, ?, ?, ?, ?)");
	for (i = 0; i < l.n; i++) {
		sqlite3_bind_int64(ins, 1, l.v[i].ts);
		sqlite3_bind_int(ins, 2, l.v[i].ts_type);
		sqlite3_bind_int(ins, 3, l.v[i].source);
		sqlite3_bind_int(ins, 4, l.v[i].severity);
		sqlite3_bind_text(ins, 5, l.v[i].text, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 6, l.v[i].gpid);
		report_step_state(r, ins);
		free(l.v[i].text);
	}
	sqlite3_finalize(ins);
	free(l.v);
}

/* ---- ProcessStreams ----------------------------------------------------------------------- */

static void write_streams(struct report *r, const struct report_session *s)
{
	sqlite3_stmt *ins;
	size_t i;

	if (!s || !s->app_pid || !s->nstreams)
		return;
	report_exec(r, "CREATE TABLE ProcessStreams (globalPid INTEGER NOT NULL, "
		       "filenameId INTEGER NOT NULL, contentId INTEGER NOT NULL)");
	ins = report_prepare(r, "INSERT INTO ProcessStreams (globalPid, filenameId, contentId) "
				"VALUES (?, ?, ?)");
	for (i = 0; i < s->nstreams; i++) {
		const struct report_stream *st = &s->streams[i];
		char *file = xasprintf("pid_%u_%s.log", s->app_pid, st->name);

		sqlite3_bind_int64(ins, 1, report_global_pid(s->app_pid));
		sqlite3_bind_int64(ins, 2, report_string(r, file, strlen(file)));
		sqlite3_bind_int64(ins, 3, report_string(r, st->data ? st->data : "", st->len));
		report_step_state(r, ins);
		free(file);
	}
	sqlite3_finalize(ins);
}

void report_session_release(struct report *r)
{
	void **slot = report_module_state(r, REPORT_MOD_SESSION);
	struct session_state *ss = *slot;

	if (ss) {
		sqlite3_finalize(ss->overhead);
		free(ss);
		*slot = NULL;
	}
}

void report_session_finish(struct report *r, const struct report_session *s,
			   const struct report_stats *st, int64_t stop)
{
	write_streams(r, s);
	write_diags(r, s, st, stop);
	report_session_release(r);
}
