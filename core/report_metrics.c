/*
 * report_metrics.c - the recorder's table module for the gpu-metrics collector
 * (wire_metrics.h, records 0x400-0x4ff).
 *
 * PM sampling (GP_REC_METRICS_SAMPLE) -> nsys's tables (nsys-cli.md §3.3):
 *   TARGET_INFO_GPU_METRICS(typeId, sourceId, typeName, metricId, metricName): one row per
 *     device and metric; typeId = sourceId = report_metrics_type_id(device) (GPU id in the
 *     low byte, as nsys),
 *     metricId = the metric's index in the device's sampling config;
 *   GPU_METRICS(rawTimestamp, timestamp, typeId, metricId, value): one row per sample and
 *     metric; rawTimestamp = the sample's end on CLOCK_MONOTONIC (the trace clock),
 *     timestamp = the same in report time; value rounded to an integer as nsys stores it.
 * Range profiler (GP_REC_METRICS_RANGE) -> ours, one row per range and metric:
 *   GPROF_RANGE_METRICS(rangeId, kind, start, end, globalTid, deviceId, contextId,
 *     correlationId, rangeIndex, nameId, mangledNameId, passes, metricId, metricNameId,
 *     value REAL): kind 'kernel' (auto range: one launch; correlationId joins
 *     CUPTI_ACTIVITY_KIND_KERNEL) or 'nvtx' (user range); nameId = the demangled kernel
 *     name as nsys writes it (or the NVTX message), mangledNameId = the name as CUPTI gave
 *     it; value as CUPTI evaluated it (double, not rounded).
 * Notes (GP_REC_METRICS_NOTE) -> META_DATA_CAPTURE (name, value) rows.
 * Tables are created with their first row, as the cuda module does.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/kernel_name.h"
#include "core/wire_decode.h"
#include "core/report.h"
#include "core/report_metrics.h"
#include "core/util.h"
#include "core/wire.h"

_Static_assert(sizeof(struct gp_rec_metrics_metric) == 24, "wire size");
_Static_assert(sizeof(struct gp_rec_metrics_sample) == 32, "wire size");
_Static_assert(sizeof(struct gp_rec_metrics_range) == 56, "wire size");
_Static_assert(sizeof(struct gp_rec_metrics_note) == 16, "wire size");

#define MAX_DEV 256

/* Per report. */
struct metrics_state {
	sqlite3_stmt *ins_info, *ins_sample, *ins_range;
	uint64_t info_done[MAX_DEV]; /* TARGET_INFO_GPU_METRICS rows written (bit = metric) */
	int64_t next_range_id;
	struct i64map demangled; /* mangled name's StringIds id -> demangled name's */
};

/* Per connection: metric names of each device's configs (StringIds ids and texts). */
struct metrics_conn {
	int64_t name_id[2][MAX_DEV][GP_METRICS_MAX]; /* [mode-1][device][index], 0 = none */
};

static const char ddl_info[] = "CREATE TABLE IF NOT EXISTS TARGET_INFO_GPU_METRICS ("
			       " typeId INTEGER NOT NULL, sourceId INTEGER NOT NULL,"
			       " typeName TEXT NOT NULL, metricId INTEGER NOT NULL,"
			       " metricName TEXT NOT NULL)";
static const char ddl_sample[] = "CREATE TABLE IF NOT EXISTS GPU_METRICS ("
				 " rawTimestamp INTEGER NOT NULL, timestamp INTEGER NOT NULL,"
				 " typeId INTEGER NOT NULL, metricId INTEGER NOT NULL,"
				 " value INTEGER NOT NULL)";
static const char ddl_range[] =
    "CREATE TABLE IF NOT EXISTS GPROF_RANGE_METRICS ("
    " rangeId INTEGER NOT NULL, kind TEXT NOT NULL, start INTEGER, end INTEGER,"
    " globalTid INTEGER, deviceId INTEGER NOT NULL, contextId INTEGER,"
    " correlationId INTEGER, rangeIndex INTEGER NOT NULL,"
    " nameId INTEGER REFERENCES StringIds(id), mangledNameId INTEGER REFERENCES StringIds(id),"
    " passes INTEGER NOT NULL, metricId INTEGER NOT NULL,"
    " metricNameId INTEGER NOT NULL REFERENCES StringIds(id), value REAL)";

int64_t report_metrics_int_value(double v)
{
	if (!(v > 0)) /* NaN, negative, zero */
		return 0;
	if (v > 9.2e18)
		return INT64_MAX;
	return (int64_t)llround(v);
}

static struct metrics_state *state(struct report *r)
{
	void **slot = report_module_state(r, REPORT_MOD_GPU_METRICS);

	if (!*slot)
		*slot = xcalloc(1, sizeof(struct metrics_state));
	return *slot;
}

static struct metrics_conn *conn_state(struct report_conn *c)
{
	void **slot = report_conn_slot(c, REPORT_MOD_GPU_METRICS);

	if (!*slot)
		*slot = xcalloc(1, sizeof(struct metrics_conn));
	return *slot;
}

static int metrics_create(struct report *r)
{
	state(r);
	return 0;
}

static int on_metric(struct report *r, struct report_conn *c, const struct gp_rec_hdr *rec)
{
	const struct gp_rec_metrics_metric *m = (const void *)rec;
	struct metrics_conn *mc = conn_state(c);
	struct metrics_state *s = state(r);
	const char *name = report_conn_string_text(c, m->name_sid);
	int64_t id = report_conn_string(c, m->name_sid);

	if (m->mode < 1 || m->mode > 2 || m->device_id >= MAX_DEV || m->index >= GP_METRICS_MAX ||
	    !name || id < 0)
		return -1;
	mc->name_id[m->mode - 1][m->device_id][m->index] = id + 1;
	if (m->mode != GP_METRICS_MODE_SAMPLE || (s->info_done[m->device_id] >> m->index) & 1)
		return 0;
	if (!s->ins_info) {
		report_exec(r, ddl_info);
		s->ins_info = report_prepare(r, "INSERT INTO TARGET_INFO_GPU_METRICS VALUES "
						"(?,?,?,?,?)");
	}
	const char *chip = report_conn_string_text(c, m->chip_sid);
	char tname[128];
	snprintf(tname, sizeof(tname), "GPU %u%s%s PM sampling", m->device_id, chip ? " " : "",
		 chip ? chip : "");
	sqlite3_bind_int64(s->ins_info, 1, report_metrics_type_id(m->device_id));
	sqlite3_bind_int64(s->ins_info, 2, report_metrics_type_id(m->device_id)); /* as nsys */
	sqlite3_bind_text(s->ins_info, 3, tname, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s->ins_info, 4, m->index);
	sqlite3_bind_text(s->ins_info, 5, name, -1, SQLITE_TRANSIENT);
	report_step_state(r, s->ins_info); /* (a rollback replays it: info_done stays right) */
	s->info_done[m->device_id] |= 1ull << m->index;
	return 0;
}

static int on_sample(struct report *r, struct report_conn *c, const struct gp_rec_hdr *rec)
{
	const struct gp_rec_metrics_sample *m = (const void *)rec;
	struct metrics_state *s = state(r);

	if (m->nvalues > GP_METRICS_MAX || m->device_id >= MAX_DEV ||
	    rec->size < sizeof(*m) + m->nvalues * sizeof(double))
		return -1;
	if (!report_time_ok(r, m->end_ns))
		return report_count_bad_record(r);
	if (!s->ins_sample) {
		report_exec(r, ddl_sample);
		s->ins_sample = report_prepare(r, "INSERT INTO GPU_METRICS VALUES (?,?,?,?,?)");
	}
	for (uint32_t i = 0; i < m->nvalues; i++) {
		sqlite3_bind_int64(s->ins_sample, 1, (int64_t)m->end_ns);
		sqlite3_bind_int64(s->ins_sample, 2, report_time(r, m->end_ns));
		sqlite3_bind_int64(s->ins_sample, 3, report_metrics_type_id(m->device_id));
		sqlite3_bind_int64(s->ins_sample, 4, i);
		sqlite3_bind_int64(s->ins_sample, 5, report_metrics_int_value(m->values[i]));
		report_step(r, s->ins_sample);
	}
	return 0;
}

/* StringIds id of the nsys-style demangled form of kernel name `mangled` (id mangled_id;
 * itself when it does not demangle), demangled once per name and report. */
static int64_t demangled_id(struct report *r, const char *mangled, int64_t mangled_id)
{
	int found;
	int64_t *id = i64map_get(&state(r)->demangled, mangled_id, mangled_id, &found);

	if (!found) {
		char *d = kernel_name_demangle(mangled);
		if (d)
			*id = report_string(r, d, strlen(d));
		free(d);
	}
	return *id;
}

static int on_range(struct report *r, struct report_conn *c, const struct gp_rec_hdr *rec)
{
	const struct gp_rec_metrics_range *m = (const void *)rec;
	struct metrics_state *s = state(r);
	struct metrics_conn *mc = conn_state(c);
	uint32_t pid = report_conn_pid(c);
	int64_t mangled = report_conn_string(c, m->name_sid), name = mangled;
	const char *text = report_conn_string_text(c, m->name_sid);

	if (m->nvalues > GP_METRICS_MAX || m->device_id >= MAX_DEV ||
	    (m->kind != GP_METRICS_RANGE_KERNEL && m->kind != GP_METRICS_RANGE_NVTX) ||
	    rec->size < sizeof(*m) + m->nvalues * sizeof(double))
		return -1;
	if ((m->start_ns && !report_time_ok(r, m->start_ns)) ||
	    (m->end_ns && !report_time_ok(r, m->end_ns)) ||
	    (m->start_ns && m->end_ns && !report_span_ok(r, m->start_ns, m->end_ns)))
		return report_count_bad_record(r);
	if (!s->ins_range) {
		report_exec(r, ddl_range);
		s->ins_range = report_prepare(r, "INSERT INTO GPROF_RANGE_METRICS VALUES "
						 "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
	}
	if (m->kind == GP_METRICS_RANGE_KERNEL && text && mangled >= 0)
		name = demangled_id(r, text, mangled);
	int64_t rid = ++s->next_range_id;
	sqlite3_stmt *st = s->ins_range;
	for (uint32_t i = 0; i < m->nvalues; i++) {
		int64_t mid = mc->name_id[GP_METRICS_MODE_RANGE - 1][m->device_id][i] - 1;
		if (mid < 0) {
			char buf[32];
			snprintf(buf, sizeof(buf), "metric%u", i);
			mid = report_string(r, buf, strlen(buf));
		}
		sqlite3_bind_int64(st, 1, rid);
		sqlite3_bind_text(st, 2, m->kind == GP_METRICS_RANGE_KERNEL ? "kernel" : "nvtx", -1,
				  SQLITE_STATIC);
		if (m->start_ns)
			sqlite3_bind_int64(st, 3, report_time(r, m->start_ns));
		else
			sqlite3_bind_null(st, 3);
		if (m->end_ns)
			sqlite3_bind_int64(st, 4, report_time(r, m->end_ns));
		else
			sqlite3_bind_null(st, 4);
		sqlite3_bind_int64(st, 5, report_global_tid(pid, rec->tid));
		sqlite3_bind_int64(st, 6, m->device_id);
		sqlite3_bind_int64(st, 7, m->context_id);
		if (m->kind == GP_METRICS_RANGE_KERNEL)
			sqlite3_bind_int64(st, 8, m->correlation_id);
		else
			sqlite3_bind_null(st, 8);
		sqlite3_bind_int64(st, 9, m->range_index);
		if (name >= 0)
			sqlite3_bind_int64(st, 10, name);
		else
			sqlite3_bind_null(st, 10);
		if (mangled >= 0 && m->kind == GP_METRICS_RANGE_KERNEL)
			sqlite3_bind_int64(st, 11, mangled);
		else
			sqlite3_bind_null(st, 11);
		sqlite3_bind_int64(st, 12, m->passes);
		sqlite3_bind_int64(st, 13, i);
		sqlite3_bind_int64(st, 14, mid);
		if (isnan(m->values[i]))
			sqlite3_bind_null(st, 15);
		else
			sqlite3_bind_double(st, 15, m->values[i]);
		report_step(r, st);
	}
	return 0;
}

static int on_note(struct report *r, struct report_conn *c, const struct gp_rec_hdr *rec)
{
	const struct gp_rec_metrics_note *m = (const void *)rec;
	const char *k = report_conn_string_text(c, m->key_sid);
	const char *v = report_conn_string_text(c, m->value_sid);

	if (!k)
		return -1;
	report_meta_capture(r, k, v);
	return 0;
}

static int metrics_handle(struct report *r, struct report_conn *c, const struct gp_rec_hdr *rec)
{
	switch (rec->type) {
	case GP_REC_METRICS_METRIC:
		return rec->size < sizeof(struct gp_rec_metrics_metric) ? -1 : on_metric(r, c, rec);
	case GP_REC_METRICS_SAMPLE:
		return rec->size < sizeof(struct gp_rec_metrics_sample) ? -1 : on_sample(r, c, rec);
	case GP_REC_METRICS_RANGE:
		return rec->size < sizeof(struct gp_rec_metrics_range) ? -1 : on_range(r, c, rec);
	case GP_REC_METRICS_NOTE:
		return rec->size < sizeof(struct gp_rec_metrics_note) ? -1 : on_note(r, c, rec);
	}
	return -1;
}

static void metrics_conn_close(struct report *r, struct report_conn *c)
{
	void **slot = report_conn_slot(c, REPORT_MOD_GPU_METRICS);
	struct metrics_conn *mc = *slot;

	if (!mc)
		return;
	free(mc);
	*slot = NULL;
}

static void metrics_release(struct report *r)
{
	void **slot = report_module_state(r, REPORT_MOD_GPU_METRICS);
	struct metrics_state *s = *slot;

	if (!s)
		return;
	sqlite3_finalize(s->ins_info);
	sqlite3_finalize(s->ins_sample);
	sqlite3_finalize(s->ins_range);
	i64map_free(&s->demangled);
	free(s);
	*slot = NULL;
}

static int metrics_finish(struct report *r)
{
	struct metrics_state *s = *report_module_state(r, REPORT_MOD_GPU_METRICS);
	int sampled = s && s->ins_sample;

	metrics_release(r);
	if (sampled)
		report_exec(r, "CREATE INDEX IF NOT EXISTS GPROF_GPU_METRICS_TIME ON "
			       "GPU_METRICS(typeId, metricId, timestamp)");
	return 0;
}

/* Capture ranges and sessions: a PM sample goes to the window that holds its end, none
 * outside the windows (gprof-cli's sampler process samples the whole run:
 * cli/metrics_process.h).  Range-mode records follow the default (by arrival). */
static int metrics_route(struct report_router *rt, uint32_t pid, const struct gp_rec_hdr *rec)
{
	(void)pid;
	if (rec->type == GP_REC_METRICS_SAMPLE && rec->size >= sizeof(struct gp_rec_metrics_sample))
		return report_route_window_at(rt,
					      ((const struct gp_rec_metrics_sample *)rec)->end_ns);
	return REPORT_ROUTE_DEFAULT;
}

const struct report_module report_module_metrics = {
    .name = "gpu-metrics",
    .first_type = 0x400,
    .last_type = 0x4ff,
    .create = metrics_create,
    .handle = metrics_handle,
    .conn_close = metrics_conn_close,
    .finish = metrics_finish,
    .release = metrics_release,
    .route = metrics_route,
};
