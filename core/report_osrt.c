/*
 * report_osrt.c - the osrt table module: one OSRT_API row per GP_REC_OSRT record,
 * in nsys's layout (nsys-sqlite-schema.md, OSRT_API): start, end, eventClass 27
 * (ENUM_NSYS_EVENT_CLASS TRACE_PROCESS_EVENT_OS_RUNTIME), globalTid, nameId (StringIds:
 * the interposed symbol), returnValue, nestingLevel (0-based), callchainId.
 *
 * Backtraces (--osrt-backtrace-threshold): a GP_REC_OSRT_CALLCHAIN comes just before the
 * GP_REC_OSRT of its call, on the same thread; its frames become OSRT_CALLCHAINS rows
 * (nsys's columns, as SAMPLING_CALLCHAINS: id, symbol, module, kernelMode 0, thumbCode
 * 0, unresolved, specialEntry NULL, originalIP, unwindMethod 6 DWARF_EH (libgcc's
 * .eh_frame unwinder in the application), stackDepth 0 = the libc function) with the
 * symbols found in the modules' files (core/report_symbols.h), and the call's row gets
 * their id as callchainId (0: none, as nsys).
 */
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "report_par.h"
#include "report_symbols.h"
#include "util.h"

#define OSRT_EVENT_CLASS 27 /* TRACE_PROCESS_EVENT_OS_RUNTIME */
#define UNWIND_DWARF_EH	 6  /* ENUM_STACK_UNWIND_METHOD */

struct osrt_state {
	sqlite3_stmt *ins, *ins_frame;
	int64_t next_chain;
	struct i64map pending; /* tid -> the callchain id of its next call */
	struct report_symbols *syms;
};

static struct osrt_state **slot(struct report *r)
{
	return (struct osrt_state **)report_module_state(r, REPORT_MOD_OSRT);
}

static int osrt_create(struct report *r)
{
	struct osrt_state *s = xcalloc(1, sizeof(*s));

	*slot(r) = s;
	s->next_chain = 1;
	report_exec(r, "CREATE TABLE OSRT_API (start INTEGER NOT NULL, end INTEGER NOT NULL, "
		       "eventClass INTEGER NOT NULL, globalTid INTEGER, nameId INTEGER NOT NULL, "
		       "returnValue INTEGER NOT NULL, nestingLevel INTEGER, "
		       "callchainId INTEGER NOT NULL);"
		       "CREATE TABLE OSRT_CALLCHAINS (id INTEGER NOT NULL, "
		       "symbol INTEGER NOT NULL, module INTEGER NOT NULL, kernelMode INTEGER, "
		       "thumbCode INTEGER, unresolved INTEGER, specialEntry INTEGER, "
		       "originalIP INTEGER, unwindMethod INTEGER, stackDepth INTEGER NOT NULL, "
		       "PRIMARY KEY (id, stackDepth))");
	s->ins = report_prepare(r, "INSERT INTO OSRT_API (start, end, eventClass, globalTid, "
				   "nameId, returnValue, nestingLevel, callchainId) "
				   "VALUES (?, ?, 27, ?, ?, ?, ?, ?)");
	s->ins_frame = report_prepare(r, "INSERT INTO OSRT_CALLCHAINS VALUES (?, ?, ?, 0, 0, ?, "
					 "NULL, ?, 6, ?)");
	return 0;
}

static int handle_callchain(struct report *r, struct report_conn *c, struct osrt_state *s,
			    const struct gp_rec_osrt_callchain *k)
{
	int64_t id;
	int found;

	if (k->nframes > GP_OSRT_FRAMES_MAX ||
	    k->h.size < sizeof(*k) + (size_t)k->nframes * sizeof(k->frames[0]))
		return report_count_bad_record(r);
	id = s->next_chain++;
	report_callchain_write(r, c, &s->syms, s->ins_frame, id, k->frames, k->nframes, NULL);
	*i64map_get(&s->pending, k->h.tid, 0, &found) = id;
	return 0;
}

static int osrt_handle(struct report *r, struct report_conn *c, const struct gp_rec_hdr *rec)
{
	struct osrt_state *s = *slot(r);
	const struct gp_rec_osrt *o = (const void *)rec;
	int64_t name, *chain;

	if (rec->type == GP_REC_OSRT_CALLCHAIN && rec->size >= sizeof(struct gp_rec_osrt_callchain))
		return handle_callchain(r, c, s, (const void *)rec);
	if (rec->type != GP_REC_OSRT || rec->size < sizeof(*o))
		return -1;
	chain = i64map_find(&s->pending, o->h.tid);
	if (!report_span_ok(r, o->start_ns, o->end_ns)) {
		if (chain)
			*chain = 0;
		return report_count_bad_record(r);
	}
	name = report_conn_string(c, o->name_sid);
	if (name < 0)
		name = report_string(r, "(unknown)", 9);
	if (report_par_on(r)) { /* to the parallel writers (report_par.h) */
		struct report_par_cell *v = report_par_row(r, REPORT_PAR_OSRT, 0);

		report_par_int(v, 0, report_time(r, o->start_ns));
		report_par_int(v, 1, report_time(r, o->end_ns));
		report_par_int(v, 2, 27);
		report_par_int(v, 3, report_global_tid(report_conn_pid(c), o->h.tid));
		report_par_int(v, 4, name);
		report_par_int(v, 5, o->ret);
		report_par_int(v, 6, o->nesting);
		report_par_int(v, 7, chain ? *chain : 0);
		if (chain)
			*chain = 0;
		return 0;
	}
	sqlite3_bind_int64(s->ins, 1, report_time(r, o->start_ns));
	sqlite3_bind_int64(s->ins, 2, report_time(r, o->end_ns));
	sqlite3_bind_int64(s->ins, 3, report_global_tid(report_conn_pid(c), o->h.tid));
	sqlite3_bind_int64(s->ins, 4, name);
	sqlite3_bind_int64(s->ins, 5, o->ret);
	sqlite3_bind_int64(s->ins, 6, o->nesting);
	sqlite3_bind_int64(s->ins, 7, chain ? *chain : 0);
	if (chain)
		*chain = 0; /* (the next call of the thread has its own, or none) */
	report_step(r, s->ins);
	return 0;
}

static void osrt_release(struct report *r)
{
	struct osrt_state *s = *slot(r);

	if (!s)
		return;
	sqlite3_finalize(s->ins);
	sqlite3_finalize(s->ins_frame);
	i64map_free(&s->pending);
	report_symbols_free(s->syms);
	free(s);
	*slot(r) = NULL;
}

static int osrt_finish(struct report *r)
{
	osrt_release(r);
	return 0; /* no index, as nsys (see report_nvtx.c) */
}

const struct report_module report_module_osrt = {
    .name = "osrt",
    .first_type = 0x200,
    .last_type = 0x2ff,
    .create = osrt_create,
    .handle = osrt_handle,
    .conn_close = NULL,
    .finish = osrt_finish,
    .release = osrt_release,
};
