/*
 * report_osrt.c - the osrt table module: one OSRT_API row per GP_REC_OSRT record,
 * in nsys's layout (nsys-sqlite-schema.md, OSRT_API): start, end, eventClass 27
 * (ENUM_NSYS_EVENT_CLASS TRACE_PROCESS_EVENT_OS_RUNTIME), globalTid, nameId (StringIds:
 * the interposed symbol), returnValue, nestingLevel (0-based), callchainId 0 (we take
 * no backtraces).
 */
#include <stdlib.h>

#include "report.h"
#include "util.h"

#define OSRT_EVENT_CLASS 27 /* TRACE_PROCESS_EVENT_OS_RUNTIME */

static sqlite3_stmt **stmt(struct report *r)
{
	return (sqlite3_stmt **)report_module_state(r, REPORT_MOD_OSRT);
}

static int osrt_create(struct report *r)
{
	report_exec(r, "CREATE TABLE OSRT_API (start INTEGER NOT NULL, end INTEGER NOT NULL, "
		       "eventClass INTEGER NOT NULL, globalTid INTEGER, nameId INTEGER NOT NULL, "
		       "returnValue INTEGER NOT NULL, nestingLevel INTEGER, "
		       "callchainId INTEGER NOT NULL)");
	*stmt(r) = report_prepare(r, "INSERT INTO OSRT_API (start, end, eventClass, globalTid, "
				     "nameId, returnValue, nestingLevel, callchainId) "
				     "VALUES (?, ?, 27, ?, ?, ?, ?, 0)");
	return 0;
}

static int osrt_handle(struct report *r, struct report_conn *c, const struct gp_rec_hdr *rec)
{
	const struct gp_rec_osrt *o = (const void *)rec;
	sqlite3_stmt *st = *stmt(r);
	int64_t name;

	if (rec->type != GP_REC_OSRT || rec->size < sizeof(*o))
		return -1;
	if (!report_span_ok(r, o->start_ns, o->end_ns))
		return report_count_bad_record(r);
	name = report_conn_string(c, o->name_sid);
	if (name < 0)
		name = report_string(r, "(unknown)", 9);
	sqlite3_bind_int64(st, 1, report_time(r, o->start_ns));
	sqlite3_bind_int64(st, 2, report_time(r, o->end_ns));
	sqlite3_bind_int64(st, 3, report_global_tid(report_conn_pid(c), o->h.tid));
	sqlite3_bind_int64(st, 4, name);
	sqlite3_bind_int64(st, 5, o->ret);
	sqlite3_bind_int64(st, 6, o->nesting);
	report_step(r, st);
	return 0;
}

static void osrt_release(struct report *r)
{
	sqlite3_finalize(*stmt(r));
	*stmt(r) = NULL;
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
