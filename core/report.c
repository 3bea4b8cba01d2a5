/*
 * report.c - the report writer: creates the SQLite report in the Nsight Systems export
 * schema, interns strings, keeps per-connection decoding state, handles the common
 * record types (HELLO, STRING, THREAD_NAME, LOSS, PROCESS_EXIT; OVERHEAD through
 * report_session.c) and dispatches the others to the table modules (report_nvtx.c,
 * report_osrt.c, report_cuda.c).  Each commit's time becomes a PROFILER_OVERHEAD row
 * ("gprof-cli recorder: commit", on the recorder's thread: the recorder's own time).
 *
 * Only the recorder's writer thread calls in here (no locking).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "wire_decode.h"
#include "report.h"
#include "util.h"

#include "report_cuda.h"
#include "report_metrics.h"
#include "report_origin.h"
#include "report_par.h"
#include "report_session.h"

/* ---- small hash maps ------------------------------------------------------------ */

static uint64_t hash_bytes(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h | 1; /* 0 marks an empty slot */
}

/* The StringIds intern table: text -> id. */
struct str_entry {
	uint64_t hash; /* 0 = empty */
	char *text;
	uint32_t len;
	int64_t id;
};

struct str_table {
	struct str_entry *e;
	size_t cap, n;
};

static void str_table_grow(struct str_table *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 1024, i;
	struct str_entry *ne = xcalloc(ncap, sizeof(*ne));

	for (i = 0; i < t->cap; i++) {
		size_t j;

		if (!t->e[i].hash)
			continue;
		j = t->e[i].hash & (ncap - 1);
		while (ne[j].hash)
			j = (j + 1) & (ncap - 1);
		ne[j] = t->e[i];
	}
	free(t->e);
	t->e = ne;
	t->cap = ncap;
}

/* ---- report and connection state ------------------------------------------------- */

/* A string defined on one connection (GP_REC_STRING). */
struct conn_str {
	char *text; /* NUL-terminated copy; NULL = undefined */
	uint32_t len;
	int64_t gid; /* StringIds id, -1 until first asked for */
};

/* Strings of a connection: ids below nstrs in a dense array (producers number their
 * strings 1, 2, 3, ...), others (an id far above what the connection defined so far, e.g.
 * a forked child's new strings, or a crafted id) in `sparse`: id -> index into sp. */
struct report_conn {
	struct report *r;
	uint32_t pid;
	uint32_t exe_sid; /* HELLO's exe string id, until the string arrives */
	int helper;	  /* HELLO said GP_HELLO_HELPER: gprof-cli's own process */
	struct conn_str *strs;
	uint32_t nstrs;
	uint32_t ndefined; /* string ids defined on this connection */
	struct i64map sparse;
	struct conn_str *sp;
	size_t nsp, sp_alloc;
	size_t str_mem;	  /* bytes of this connection's strings counted in r->str_mem */
	uint64_t loss[4]; /* latest GP_REC_LOSS: dropped, failed_sends, cupti, zero_ts */
	void *slots[REPORT_MOD_MAX];
};

struct report {
	sqlite3 *db;
	char *path;
	uint64_t session_start_ns;
	int in_txn;

	sqlite3_stmt *st_string, *st_thread_ins, *st_thread_upd, *st_proc_ins, *st_proc_upd,
	    *st_meta_export, *st_meta_capture, *st_begin, *st_commit;

	struct str_table strings;
	int64_t next_string_id;
	struct i64map procs;   /* pid -> PROCESSES rowid */
	struct i64map threads; /* globalTid -> ThreadNames rowid */
	/* the rowids the next PROCESSES / ThreadNames rows get (given explicitly, so that a
	 * replay after a full disk gives every row the rowid its map entry holds) */
	int64_t next_proc_rowid, next_thread_rowid;

	const struct report_module *modules[REPORT_MOD_MAX];
	signed char block_module[256]; /* (type >> 8) -> module index, -1 none */
	void *module_state[REPORT_MOD_MAX];

	/* the last commit's [start, end] (CLOCK_MONOTONIC), written as a PROFILER_OVERHEAD
	 * row by the next report_begin (a commit cannot record itself); end 0 = none */
	uint64_t commit_start_ns, commit_end_ns;

	uint64_t loss_totals[4];
	uint64_t write_errors;
	uint64_t processes;
	uint64_t bad_records; /* refused by a range check (report_count_bad_record) */
	uint64_t over_limit;  /* dropped at a memory limit (report_count_over_limit) */
	size_t str_mem;	      /* bytes held by connection strings and the intern table */
	/* NVTX extended payloads not decoded, not copied (report_count_nvtx_payloads) */
	uint64_t nvtx_undecoded, nvtx_unsent;
	/* the application's waits for the recorder (report_count_app_wait) */
	uint64_t app_waits, app_wait_ns;

	/* Disk full (report.h "Disk full"): `full` once a write failed for want of space
	 * (SQLITE_FULL, or an I/O error writing); from then on no row is written.
	 * txn_rows: data rows written in the open transaction (lost with it on a rollback);
	 * lost_full: data rows not written because of the failure; reserve_fd: the file
	 * holding GP_REPORT_RESERVE_BYTES back for the closing rows (-1: none). */
	int full, opening;
	uint64_t txn_rows, lost_full;
	int reserve_fd;

	/* Writing resumes when space comes back (report.h "Disk full").  state_log: the SQL,
	 * values inlined, of every statement other than data rows and interned strings run
	 * (or, while full, not run) since the last commit, in order; StringIds rows from
	 * committed_string_id on are re-inserted from the intern table.  full_tables: tables
	 * a module created while full, made TEMP (in memory) so that its statements prepare;
	 * dropped when the replay has made the real ones.  ever_full: the disk filled up once
	 * (the report is not "finished cleanly").  resume_off: the log outgrew
	 * GP_REPORT_STATE_LOG_MAX (no resume before report_finish). */
	struct {
		char **v;
		size_t n, alloc, bytes;
	} state_log;
	struct {
		char **v;
		size_t n, alloc;
	} full_tables;
	int64_t committed_string_id;
	int ever_full, resume_off;
	/* the parallel writers of a backlog (core/report_par.h), NULL when off */
	struct report_par *par;
	uint64_t resume_check_ns;
	uint64_t resumes;
	uint64_t free_at_full; /* bytes free in the folder after the rollback */
};

/* Dense string ids: an id is put in the dense array while it is below this much more
 * than twice the ids defined so far; bytes counted per string besides its text. */
#define DENSE_SLACK  4096u
#define STR_OVERHEAD 48u
#define LOSS_SLACK   (1ull << 32) /* loss counters: at most this + 1 per ns of session */

sqlite3 *report_db(struct report *r)
{
	return r->db;
}

static void say_full(const struct report *r, int rc);

const char *report_path(const struct report *r)
{
	return r->path;
}

struct report_par **report_par_slot(struct report *r)
{
	return &r->par;
}

int report_is_full(const struct report *r)
{
	return r->full;
}

void report_count_lost_rows(struct report *r, uint64_t rows, uint64_t rows_full)
{
	r->write_errors += rows;
	r->lost_full += rows_full;
	if (!rows_full)
		return;
	if (!r->ever_full) /* (said once, as report_set_full) */
		say_full(r, SQLITE_FULL);
	r->ever_full = 1; /* not "finished cleanly": the readers warn */
}

int64_t report_time(const struct report *r, uint64_t monotonic_ns)
{
	return (int64_t)(monotonic_ns - r->session_start_ns);
}

void **report_module_state(struct report *r, unsigned module_index)
{
	return &r->module_state[module_index];
}

void **report_conn_slot(struct report_conn *c, unsigned module_index)
{
	return &c->slots[module_index];
}

uint32_t report_conn_pid(const struct report_conn *c)
{
	return c->pid;
}

static inline uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

int report_count_bad_record(struct report *r)
{
	r->bad_records++;
	return REPORT_REC_REFUSED;
}

void report_count_app_wait(struct report *r, uint64_t ns)
{
	r->app_waits++;
	r->app_wait_ns = sat_add(r->app_wait_ns, ns);
}

void report_count_nvtx_payloads(struct report *r, uint64_t undecoded, uint64_t unsent)
{
	r->nvtx_undecoded = sat_add(r->nvtx_undecoded, undecoded);
	r->nvtx_unsent = sat_add(r->nvtx_unsent, unsent);
}

int report_count_over_limit(struct report *r, uint64_t n)
{
	r->over_limit = sat_add(r->over_limit, n);
	return REPORT_REC_REFUSED;
}

int report_time_ok(const struct report *r, uint64_t ts_ns)
{
	int64_t t = (int64_t)(ts_ns - r->session_start_ns); /* two's complement wrap */

	return t >= -GP_REPORT_TIME_BEFORE && t <= GP_REPORT_TIME_MAX;
}

int report_span_ok(const struct report *r, uint64_t start_ns, uint64_t end_ns)
{
	return end_ns >= start_ns && end_ns - start_ns <= (uint64_t)GP_REPORT_TIME_MAX &&
	       report_time_ok(r, start_ns) && report_time_ok(r, end_ns);
}

/* Is rc a failure to write for want of space (or any I/O error while writing)? */
static int write_failed(int rc)
{
	return (rc & 0xff) == SQLITE_FULL || (rc & 0xff) == SQLITE_IOERR;
}

/* ---- the state log: what a rollback takes that must come back (report.h "Disk full") */

static void state_log_clear(struct report *r)
{
	for (size_t i = 0; i < r->state_log.n; i++)
		sqlite3_free(r->state_log.v[i]);
	free(r->state_log.v);
	memset(&r->state_log, 0, sizeof(r->state_log));
}

/* Keep sql (sqlite3_malloc'ed: owned from here) for a replay; past the log's limit, or
 * without the text, the log is dropped and writing does not resume before the end. */
static void state_log_push(struct report *r, char *sql)
{
	if (!sql || r->resume_off ||
	    r->state_log.bytes + strlen(sql) + sizeof(char *) > GP_REPORT_STATE_LOG_MAX) {
		sqlite3_free(sql);
		if (!r->resume_off)
			state_log_clear(r);
		r->resume_off = 1;
		return;
	}
	GP_ALLOC_GROW(r->state_log.v, r->state_log.n + 1, r->state_log.alloc);
	r->state_log.v[r->state_log.n++] = sql;
	r->state_log.bytes += strlen(sql) + sizeof(char *);
}

static void free_strings(struct report *r);

/* Bytes free to us in the report's folder (0 when it cannot be told). */
static uint64_t folder_free_bytes(const struct report *r)
{
	char *tmp = xstrdup(r->path);
	struct statvfs v;
	uint64_t n = statvfs(dirname(tmp), &v) == 0 ? (uint64_t)v.f_bavail * v.f_frsize : 0;

	free(tmp);
	return n;
}

/* The error line and hint of a full disk. */
static void say_full(const struct report *r, int rc)
{
	char *tmp = xstrdup(r->path);

	error("cannot write report '%s': %s; the application goes on, its records are counted "
	      "as lost until there is room again",
	      r->path, sqlite3_errstr(rc));
	hint("free space in '%s', or write the report where there is more with -o", dirname(tmp));
	free(tmp);
}

/*
 * A write failed for want of space (report.h "Disk full"): roll the open transaction back
 * (its data rows counted lost; its state rows stay in the state log, its strings in the
 * intern table, for the replay), say it once, and write no more rows until there is room
 * again (report_begin).  The application is not affected: the recorder goes on reading
 * its records.
 */
static void report_set_full(struct report *r, int rc)
{
	if (r->full)
		return;
	r->full = 1;
	if (r->db && !sqlite3_get_autocommit(r->db))
		sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
	r->in_txn = 0;
	r->lost_full += r->txn_rows;
	r->txn_rows = 0;
	r->resume_check_ns = gp_monotonic_ns();
	r->free_at_full = folder_free_bytes(r);
	r->ever_full = 1;
	if (r->opening)
		return; /* report_open says it */
	say_full(r, rc);
}

sqlite3_stmt *report_prepare(struct report *r, const char *sql)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v3(r->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) == SQLITE_OK)
		return st;
	/* a table missing because its CREATE could not be written (disk full while the
	 * report is made): a statement that writes nothing, so that set-up ends normally */
	if (r->full && sqlite3_prepare_v2(r->db, "SELECT 0", -1, &st, NULL) == SQLITE_OK)
		return st;
	die("cannot prepare '%s' on report '%s': %s", sql, r->path, sqlite3_errmsg(r->db));
}

/*
 * report_exec() while the disk is full: sql goes into the state log, to be run when there
 * is room again; each table it creates is made TEMP (in memory: temp_store=MEMORY) meanwhile,
 * so that the module's statements on it prepare (unqualified names find TEMP first; once
 * the replay made the real table and the TEMP one is dropped, they prepare again on it).
 */
static int exec_while_full(struct report *r, const char *sql)
{
	static const char create[] = "CREATE TABLE ";
	int ret = -1;

	state_log_push(r, sqlite3_mprintf("%s", sql));
	/* each statement of sql (our own DDL: no ';' inside a string) */
	for (const char *p = sql; *p;) {
		size_t len = strcspn(p, ";"), n;
		char *tsql, name[128];

		while (len && (*p == ' ' || *p == '\n' || *p == '\t'))
			p++, len--;
		if (len > sizeof(create) - 1 && !strncmp(p, create, sizeof(create) - 1)) {
			n = strcspn(p + sizeof(create) - 1, " (");
			if (n && n < sizeof(name) && n < len) {
				memcpy(name, p + sizeof(create) - 1, n);
				name[n] = '\0';
				tsql = sqlite3_mprintf("CREATE TEMP TABLE %.*s",
						       (int)(len - (sizeof(create) - 1)),
						       p + sizeof(create) - 1);
				if (tsql &&
				    sqlite3_exec(r->db, tsql, NULL, NULL, NULL) == SQLITE_OK) {
					GP_ALLOC_GROW(r->full_tables.v, r->full_tables.n + 1,
						      r->full_tables.alloc);
					r->full_tables.v[r->full_tables.n++] = xstrdup(name);
					ret = 0;
				}
				sqlite3_free(tsql);
			}
		}
		p += len;
		if (*p == ';')
			p++;
	}
	return ret;
}

int report_exec(struct report *r, const char *sql)
{
	char *err = NULL;
	int rc;

	if (r->full)
		return exec_while_full(r, sql);
	rc = sqlite3_exec(r->db, sql, NULL, NULL, &err);
	if (rc == SQLITE_OK) {
		if (r->in_txn) /* undone by a rollback: kept for the replay */
			state_log_push(r, sqlite3_mprintf("%s", sql));
		return 0;
	}
	sqlite3_free(err);
	if (write_failed(sqlite3_extended_errcode(r->db))) {
		report_set_full(r, sqlite3_extended_errcode(r->db));
		return r->opening ? -1 : exec_while_full(r, sql);
	}
	die("cannot run '%s' on report '%s': %s", sql, r->path, sqlite3_errmsg(r->db));
}

/* report_step*(): the statement writes `data` data rows (0: a state row, kept in the
 * state log when `log`: all but interned strings, which the intern table replays).
 * While the disk is full, data rows are counted lost and state rows wait in the log. */
static int step_row(struct report *r, sqlite3_stmt *st, unsigned data, int log)
{
	int rc;

	if (r->full) {
		if (!data && log)
			state_log_push(r, sqlite3_expanded_sql(st));
		sqlite3_reset(st);
		r->lost_full += (uint64_t)data;
		return data ? -1 : 0;
	}
	rc = sqlite3_step(st);
	sqlite3_reset(st); /* (the bindings stay: sqlite3_expanded_sql below has them) */
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		if (write_failed(rc)) {
			if (!data && log)
				state_log_push(r, sqlite3_expanded_sql(st));
			r->lost_full += (uint64_t)data;
			report_set_full(r, rc);
			return -1;
		}
		if (r->write_errors++ == 0)
			warning("cannot write to report '%s': %s", r->path, sqlite3_errstr(rc));
		return -1;
	}
	if (!data && log && r->in_txn) /* undone by a rollback: kept for the replay */
		state_log_push(r, sqlite3_expanded_sql(st));
	r->txn_rows += (uint64_t)data;
	return 0;
}

int report_step(struct report *r, sqlite3_stmt *st)
{
	return step_row(r, st, 1, 0);
}

int report_step_state(struct report *r, sqlite3_stmt *st)
{
	return step_row(r, st, 0, 1);
}

uint64_t report_txn_rows(const struct report *r)
{
	return r->txn_rows;
}

int report_step_rows(struct report *r, sqlite3_stmt *st, unsigned rows)
{
	return step_row(r, st, rows, 0);
}

int64_t report_string(struct report *r, const char *s, size_t len)
{
	struct str_table *t = &r->strings;
	uint64_t h = hash_bytes(s, len);
	size_t j;

	if ((t->n + 1) * 2 > t->cap)
		str_table_grow(t);
	j = h & (t->cap - 1);
	while (t->e[j].hash) {
		if (t->e[j].hash == h && t->e[j].len == len && !memcmp(t->e[j].text, s, len))
			return t->e[j].id;
		j = (j + 1) & (t->cap - 1);
	}
	if (r->str_mem + len + STR_OVERHEAD > GP_REPORT_STRING_MEM_MAX) {
		/* over the memory limit: a row of its own, not kept for de-duplication (the
		 * same text may get several ids; nothing is lost) */
		int64_t id = r->next_string_id++;

		sqlite3_bind_int64(r->st_string, 1, id);
		sqlite3_bind_text(r->st_string, 2, s, (int)len, SQLITE_TRANSIENT);
		report_step_state(r, r->st_string);
		return id;
	}
	r->str_mem += len + STR_OVERHEAD;
	t->e[j].hash = h;
	t->e[j].len = (uint32_t)len;
	t->e[j].text = xmalloc(len + 1);
	memcpy(t->e[j].text, s, len);
	t->e[j].text[len] = '\0';
	t->e[j].id = r->next_string_id++;
	t->n++;
	sqlite3_bind_int64(r->st_string, 1, t->e[j].id);
	sqlite3_bind_text(r->st_string, 2, t->e[j].text, (int)len, SQLITE_STATIC);
	step_row(r, r->st_string, 0, 0); /* (a rollback's replay takes it from the table) */
	return t->e[j].id;
}

/* The slot of string id sid on c, or NULL when sid was never defined there. */
static struct conn_str *conn_str_find(struct report_conn *c, uint32_t sid)
{
	int64_t *k;

	if (sid < c->nstrs)
		return &c->strs[sid];
	k = i64map_find(&c->sparse, sid);
	return k ? &c->sp[*k] : NULL;
}

int64_t report_conn_string(struct report_conn *c, uint32_t sid)
{
	struct conn_str *cs = sid ? conn_str_find(c, sid) : NULL;

	if (!cs || !cs->text)
		return -1;
	if (cs->gid < 0)
		cs->gid = report_string(c->r, cs->text, cs->len);
	return cs->gid;
}

const char *report_conn_string_text(struct report_conn *c, uint32_t sid)
{
	struct conn_str *cs = sid ? conn_str_find(c, sid) : NULL;

	return cs ? cs->text : NULL;
}

static void meta_row(struct report *r, sqlite3_stmt *st, const char *name, const char *value)
{
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	if (value)
		sqlite3_bind_text(st, 2, value, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 2);
	report_step_state(r, st);
}

void report_meta_export(struct report *r, const char *name, const char *value)
{
	meta_row(r, r->st_meta_export, name, value);
}

void report_meta_capture(struct report *r, const char *name, const char *value)
{
	meta_row(r, r->st_meta_capture, name, value);
}

static void meta_export_u64(struct report *r, const char *name, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	report_meta_export(r, name, buf);
}

static void flush_modules(struct report *r)
{
	unsigned i;

	for (i = 0; i < REPORT_MOD_MAX; i++)
		if (r->modules[i] && r->modules[i]->flush)
			r->modules[i]->flush(r);
}

void report_flush_modules(struct report *r)
{
	flush_modules(r);
}

/* Drop the TEMP tables made while the disk was full (their real ones exist now). */
static int drop_full_tables(struct report *r)
{
	for (size_t i = 0; i < r->full_tables.n; i++) {
		char *sql = sqlite3_mprintf("DROP TABLE temp.%s", r->full_tables.v[i]);
		int rc = sql ? sqlite3_exec(r->db, sql, NULL, NULL, NULL) : SQLITE_NOMEM;

		sqlite3_free(sql);
		if (rc != SQLITE_OK)
			return -1;
	}
	for (size_t i = 0; i < r->full_tables.n; i++)
		free(r->full_tables.v[i]);
	free(r->full_tables.v);
	memset(&r->full_tables, 0, sizeof(r->full_tables));
	return 0;
}

/*
 * Room again after a full disk (report.h "Disk full"): at most every
 * GP_REPORT_RESUME_CHECK_MS, and only with GP_REPORT_RESUME_FREE_BYTES free in the
 * report's folder (unless `force`: report_finish, with the reserve released), open a
 * transaction and put back what the rollback took: the strings interned since the last
 * commit, then the state log in its order (tables, processes, threads, metadata), then
 * drop the TEMP tables.  0: writing again, in a transaction; -1: still full.
 */
static int try_resume(struct report *r, int force)
{
	uint64_t now = gp_monotonic_ns();
	int rc = SQLITE_OK;

	if (!force) {
		/* room beyond what the rollback itself gave back (else: full again at once) */
		if (r->resume_off ||
		    now - r->resume_check_ns < GP_REPORT_RESUME_CHECK_MS * 1000000ull)
			return -1;
		r->resume_check_ns = now;
		if (folder_free_bytes(r) < r->free_at_full + GP_REPORT_RESUME_FREE_BYTES)
			return -1;
	}
	if (r->resume_off)
		return -1;
	rc = sqlite3_step(r->st_begin);
	sqlite3_reset(r->st_begin);
	if (rc != SQLITE_DONE)
		goto still_full;
	for (size_t i = 0; i < r->strings.cap && rc == SQLITE_DONE; i++) {
		const struct str_entry *e = &r->strings.e[i];

		if (!e->hash || e->id < r->committed_string_id)
			continue;
		sqlite3_bind_int64(r->st_string, 1, e->id);
		sqlite3_bind_text(r->st_string, 2, e->text, (int)e->len, SQLITE_STATIC);
		rc = sqlite3_step(r->st_string);
		sqlite3_reset(r->st_string);
	}
	if (rc != SQLITE_DONE)
		goto still_full;
	rc = SQLITE_OK;
	for (size_t i = 0; i < r->state_log.n && rc == SQLITE_OK; i++)
		rc = sqlite3_exec(r->db, r->state_log.v[i], NULL, NULL, NULL);
	if (rc != SQLITE_OK || drop_full_tables(r) < 0)
		goto still_full;
	r->full = 0;
	r->in_txn = 1;
	r->txn_rows = 0;
	if (force)
		return 0; /* (the end: the reserve's room) */
	r->resumes++;
	warning("report '%s': there is room again, writing resumed (%llu rows lost while the "
		"disk was full)",
		r->path, (unsigned long long)r->lost_full);
	return 0;

still_full:
	rc = sqlite3_extended_errcode(r->db);
	if (!sqlite3_get_autocommit(r->db))
		sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
	if (!write_failed(rc)) /* not for want of space: do not try again and again */
		r->resume_off = 1;
	return -1;
}

void report_begin(struct report *r)
{
	int rc;

	if (r->in_txn)
		return;
	if (r->full) {
		if (try_resume(r, 0) < 0)
			return;
	} else {
		rc = sqlite3_step(r->st_begin);
		sqlite3_reset(r->st_begin);
		if (rc != SQLITE_DONE) {
			if (write_failed(rc)) {
				report_set_full(r, rc);
				return;
			}
			r->write_errors++;
		}
		r->in_txn = 1;
		r->txn_rows = 0;
	}
	if (r->commit_end_ns) {
		/* the recorder's own time: its commits, on the thread that made them */
		report_overhead(r, report_global_tid((uint32_t)getpid(), (uint32_t)gettid()),
				r->commit_start_ns, r->commit_end_ns, "gprof-cli recorder: commit");
		r->commit_end_ns = 0;
	}
}

int report_commit(struct report *r)
{
	int rc;
	uint64_t t0;

	if (!r->in_txn || r->full)
		return r->full ? -1 : 0;
	flush_modules(r);
	if (r->full)
		return -1;
	t0 = gp_monotonic_ns();
	rc = sqlite3_step(r->st_commit);
	sqlite3_reset(r->st_commit);
	if (rc != SQLITE_DONE) {
		if (write_failed(rc)) {
			report_set_full(r, rc);
			return -1;
		}
		r->in_txn = 0;
		r->write_errors++;
		error("cannot commit to report '%s': %s", r->path, sqlite3_errmsg(r->db));
		return -1;
	}
	r->in_txn = 0;
	r->txn_rows = 0;
	state_log_clear(r);
	r->committed_string_id = r->next_string_id;
	r->commit_start_ns = t0;
	r->commit_end_ns = gp_monotonic_ns();
	return 0;
}

/* Hold GP_REPORT_RESERVE_BYTES of the report's file system back in an unlinked file (so
 * that nothing is left behind), released when the disk fills up: the closing rows then
 * fit.  Without it (no O_TMPFILE, no room even for it) a full disk removes the report. */
static void reserve_open(struct report *r)
{
	char *tmp = xstrdup(r->path), *dir = dirname(tmp);
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	r->reserve_fd = -1;
	if (fd >= 0 && posix_fallocate(fd, 0, GP_REPORT_RESERVE_BYTES) == 0)
		r->reserve_fd = fd;
	else if (fd >= 0)
		close(fd);
	free(tmp);
}

static void reserve_release(struct report *r)
{
	if (r->reserve_fd >= 0)
		close(r->reserve_fd);
	r->reserve_fd = -1;
}

/* ---- schema ------------------------------------------------------------------------ */

static const char schema_sql[] =
    "CREATE TABLE StringIds (id INTEGER NOT NULL PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE ThreadNames (nameId INTEGER NOT NULL, priority INTEGER, globalTid INTEGER);"
    "CREATE TABLE PROCESSES (globalPid INTEGER, pid INTEGER, name TEXT);"
    "CREATE TABLE TARGET_INFO_SESSION_START_TIME (utcEpochNs INTEGER, utcTime TEXT, "
    "localTime TEXT);"
    "CREATE TABLE META_DATA_CAPTURE (name TEXT NOT NULL, value TEXT);"
    "CREATE TABLE META_DATA_EXPORT (name TEXT NOT NULL, value TEXT);"
    "CREATE TABLE ANALYSIS_DETAILS (globalVid INTEGER NOT NULL, duration INTEGER NOT NULL, "
    "startTime INTEGER NOT NULL, stopTime INTEGER NOT NULL);";

/* Check that `path` may be created; prints the error + hint and returns -1 if not. */
static int check_output_path(const char *path, int force)
{
	struct stat sb;
	char *tmp, *dir;
	int ret = 0;

	if (!force && lstat(path, &sb) == 0) {
		error("report '%s' already exists", path);
		hint("use -f/--force-overwrite to replace it, or name another file with -o");
		return -1;
	}
	if (force && lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		error("cannot create report '%s': it is a directory", path);
		hint("name a file with -o");
		return -1;
	}
	tmp = xstrdup(path);
	dir = dirname(tmp);
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		error("cannot create report '%s': folder '%s' does not exist", path, dir);
		hint("create the folder first, or name another location with -o");
		ret = -1;
	} else if (access(dir, W_OK | X_OK) != 0) {
		error("cannot create report '%s': folder '%s' is not writable", path, dir);
		hint("name a location you can write to with -o");
		ret = -1;
	}
	free(tmp);
	return ret;
}

void report_unlink_files(const char *path)
{
	char *p;

	unlink(path);
	p = xasprintf("%s-wal", path);
	unlink(p);
	free(p);
	p = xasprintf("%s-shm", path);
	unlink(p);
	free(p);
	p = xasprintf("%s-journal", path);
	unlink(p);
	free(p);
}

static void format_time(char *buf, size_t n, int64_t utc_ns, int local)
{
	time_t t = (time_t)(utc_ns / 1000000000);
	struct tm tm;

	if (local)
		localtime_r(&t, &tm);
	else
		gmtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
}

static void setup_modules(struct report *r)
{
	unsigned i, b;

	r->modules[REPORT_MOD_NVTX] = &report_module_nvtx;
	r->modules[REPORT_MOD_OSRT] = &report_module_osrt;
	r->modules[REPORT_MOD_CUDA] = &report_module_cuda;
	r->modules[REPORT_MOD_GPU_METRICS] = &report_module_metrics;
	r->modules[REPORT_MOD_MPI] = &report_module_mpi;
	r->modules[REPORT_MOD_SAMPLING] = &report_module_sampling;
	r->modules[REPORT_MOD_HOSTMEM] = &report_module_hostmem;
	memset(r->block_module, -1, sizeof(r->block_module));
	for (i = 0; i < REPORT_MOD_MAX; i++) {
		const struct report_module *m = r->modules[i];

		if (!m)
			continue;
		for (b = m->first_type >> 8; b <= (unsigned)(m->last_type >> 8); b++)
			r->block_module[b] = (signed char)i;
	}
}

struct report *report_open(const struct report_config *cfg)
{
	struct report *r;
	char buf[64], tbuf[64];
	sqlite3_stmt *st;
	size_t i;
	int rc;

	if (check_output_path(cfg->path, cfg->force_overwrite) < 0)
		return NULL;
	if (cfg->force_overwrite)
		report_unlink_files(cfg->path);

	/* Before SQLite initialises: no global malloc statistics (a mutex per malloc). */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	r = xcalloc(1, sizeof(*r));
	r->path = xstrdup(cfg->path);
	r->session_start_ns = cfg->session_start_ns;
	r->reserve_fd = -1;
	r->opening = 1;
	rc = sqlite3_open_v2(r->path, &r->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
				 SQLITE_OPEN_EXCLUSIVE,
			     NULL);
	if (rc != SQLITE_OK) {
		error("cannot create report '%s': %s", r->path,
		      r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(rc));
		report_discard(r);
		return NULL;
	}
	/*
	 * Fast bulk writing that stays consistent if we are killed: a rollback journal
	 * (kept between transactions: PERSIST) holds the original of every page a
	 * transaction changes, and pages appended past the old end of the file (almost
	 * all of ours) need no journal at all, so unlike WAL nothing is written twice and
	 * there is no checkpoint at the end.  No fsync: we protect against the recorder
	 * dying, not the machine.
	 */
	if (sqlite3_exec(
		r->db,
		"PRAGMA page_size=8192; PRAGMA journal_mode=PERSIST; PRAGMA synchronous=OFF;"
		"PRAGMA cache_size=-8192; PRAGMA temp_store=MEMORY;",
		NULL, NULL, NULL) != SQLITE_OK) {
		error("cannot create report '%s': %s", r->path, sqlite3_errmsg(r->db));
		report_discard(r);
		return NULL;
	}
	r->st_begin = report_prepare(r, "BEGIN");
	r->st_commit = report_prepare(r, "COMMIT");
	report_begin(r);
	report_exec(r, schema_sql);
	r->st_string = report_prepare(r, "INSERT INTO StringIds (id, value) VALUES (?, ?)");
	r->st_thread_ins = report_prepare(r, "INSERT INTO ThreadNames (nameId, priority, "
					     "globalTid, rowid) VALUES (?, ?, ?, ?)");
	r->st_thread_upd =
	    report_prepare(r, "UPDATE ThreadNames SET nameId = ?, priority = ? WHERE rowid = ?");
	r->st_proc_ins = report_prepare(
	    r, "INSERT INTO PROCESSES (globalPid, pid, name, rowid) VALUES (?, ?, ?, ?)");
	r->st_proc_upd = report_prepare(r, "UPDATE PROCESSES SET name = ? WHERE rowid = ?");
	r->st_meta_export =
	    report_prepare(r, "INSERT INTO META_DATA_EXPORT (name, value) VALUES (?, ?)");
	r->st_meta_capture =
	    report_prepare(r, "INSERT INTO META_DATA_CAPTURE (name, value) VALUES (?, ?)");

	if (report_create_enums(r) < 0)
		goto fail;
	report_sysenv_write(r);
	setup_modules(r);
	for (i = 0; i < REPORT_MOD_MAX; i++)
		if (r->modules[i] && r->modules[i]->create && r->modules[i]->create(r) < 0)
			goto fail;

	st = report_prepare(r, "INSERT INTO TARGET_INFO_SESSION_START_TIME "
			       "(utcEpochNs, utcTime, localTime) VALUES (?, ?, ?)");
	sqlite3_bind_int64(st, 1, cfg->session_start_utc_ns);
	format_time(buf, sizeof(buf), cfg->session_start_utc_ns, 0);
	format_time(tbuf, sizeof(tbuf), cfg->session_start_utc_ns, 1);
	sqlite3_bind_text(st, 2, buf, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, tbuf, -1, SQLITE_TRANSIENT);
	report_step_state(r, st);
	sqlite3_finalize(st);

	for (i = 0; i < cfg->n_capture_meta; i++)
		report_meta_capture(r, cfg->capture_meta[i].name, cfg->capture_meta[i].value);
	/* the report's own path: a capture range's or a session window's, not the command's */
	report_meta_capture(r, "GPROF_OUTPUT", r->path);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)cfg->session_start_ns);
	report_meta_capture(r, "SESSION_START_MONOTONIC_NS", buf);
	report_origin_write(r);

	report_meta_export(r, "EXPORT_PRODUCT_NAME", GP_PRODUCT_NAME);
	report_meta_export(r, "EXPORT_PRODUCT_VERSION", GP_PRODUCT_VERSION);
	report_meta_export(r, "EXPORT_SCHEMA_VERSION", GP_NSYS_SCHEMA_VERSION);
	{
		unsigned maj = 0, min = 0, mic = 0;

		sscanf(GP_NSYS_SCHEMA_VERSION, "%u.%u.%u", &maj, &min, &mic);
		meta_export_u64(r, "EXPORT_SCHEMA_VERSION_MAJOR", maj);
		meta_export_u64(r, "EXPORT_SCHEMA_VERSION_MINOR", min);
		meta_export_u64(r, "EXPORT_SCHEMA_VERSION_MICRO", mic);
	}
	report_meta_export(r, "GPROF_SCHEMA_VERSION", GP_SCHEMA_VERSION);
	format_time(buf, sizeof(buf), gp_realtime_ns(), 0);
	report_meta_export(r, "EXPORT_TIME_UTC", buf);
	if (gethostname(tbuf, sizeof(tbuf)) != 0)
		strcpy(tbuf, "");
	tbuf[sizeof(tbuf) - 1] = '\0';
	report_meta_export(r, "EXPORT_HOST", tbuf);
	for (i = 0; i < cfg->n_capture_meta; i++)
		if (!strcmp(cfg->capture_meta[i].name, "GPROF_COMMAND_LINE"))
			report_meta_export(r, "GPROF_COMMAND_LINE", cfg->capture_meta[i].value);
	report_meta_export(r, "GPROF_FINISHED_CLEANLY", "false");
	if (report_commit(r) < 0)
		goto fail;
	r->opening = 0;
	r->committed_string_id = r->next_string_id;
	reserve_open(r);
	return r;

fail:
	if (r->full) {
		char *tmp = xstrdup(r->path);

		error("cannot create report '%s': the disk is full", r->path);
		hint("free space in '%s', or write the report where there is more with -o",
		     dirname(tmp));
		free(tmp);
	} else {
		error("cannot create report '%s'", r->path);
	}
	report_discard(r);
	return NULL;
}

static void finalize_common(struct report *r)
{
	sqlite3_stmt **sts[] = {&r->st_string,	     &r->st_thread_ins, &r->st_thread_upd,
				&r->st_proc_ins,     &r->st_proc_upd,	&r->st_meta_export,
				&r->st_meta_capture, &r->st_begin,	&r->st_commit};
	size_t i;

	for (i = 0; i < sizeof(sts) / sizeof(sts[0]); i++) {
		sqlite3_finalize(*sts[i]);
		*sts[i] = NULL;
	}
}

/* Forget the StringIds intern table (its memory leaves r->str_mem). */
static void free_strings(struct report *r)
{
	size_t i;

	for (i = 0; i < r->strings.cap; i++) {
		if (!r->strings.e[i].hash)
			continue;
		r->str_mem -= r->strings.e[i].len + STR_OVERHEAD;
		free(r->strings.e[i].text);
	}
	free(r->strings.e);
	memset(&r->strings, 0, sizeof(r->strings));
}

static void free_report(struct report *r)
{
	free_strings(r);
	state_log_clear(r);
	for (size_t i = 0; i < r->full_tables.n; i++)
		free(r->full_tables.v[i]);
	free(r->full_tables.v);
	reserve_release(r);
	i64map_free(&r->procs);
	i64map_free(&r->threads);
	free(r->path);
	free(r);
}

void report_discard(struct report *r)
{
	size_t i;

	report_par_abort(r);
	/* the modules' state and statements first: sqlite3_close_v2 keeps a connection
	 * with statements left open until they are finalized, i.e. forever */
	for (i = 0; i < REPORT_MOD_MAX; i++)
		if (r->modules[i] && r->modules[i]->release)
			r->modules[i]->release(r);
	report_session_release(r);
	if (r->db) {
		finalize_common(r);
		sqlite3_close_v2(r->db);
	}
	report_unlink_files(r->path);
	free_report(r);
}

/* ---- connections and common records ------------------------------------------------ */

struct report_conn *report_conn_open(struct report *r, uint32_t pid)
{
	struct report_conn *c = xcalloc(1, sizeof(*c));

	c->r = r;
	c->pid = pid;
	return c;
}

void report_conn_close(struct report *r, struct report_conn *c)
{
	unsigned i;

	for (i = 0; i < REPORT_MOD_MAX; i++)
		if (r->modules[i] && r->modules[i]->conn_close)
			r->modules[i]->conn_close(r, c);
	flush_modules(r); /* batched rows may point at this connection's strings */
	for (i = 0; i < 4; i++)
		r->loss_totals[i] = sat_add(r->loss_totals[i], c->loss[i]);
	for (i = 0; i < c->nstrs; i++)
		free(c->strs[i].text);
	free(c->strs);
	for (i = 0; i < c->nsp; i++)
		free(c->sp[i].text);
	free(c->sp);
	i64map_free(&c->sparse);
	r->str_mem -= c->str_mem;
	free(c);
}

static void set_process_name(struct report *r, uint32_t pid, const char *name)
{
	int found;
	int64_t *rowid = i64map_get(&r->procs, pid, 0, &found);

	if (!found) {
		sqlite3_bind_int64(r->st_proc_ins, 1, report_global_pid(pid));
		sqlite3_bind_int64(r->st_proc_ins, 2, pid);
		if (name)
			sqlite3_bind_text(r->st_proc_ins, 3, name, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(r->st_proc_ins, 3);
		*rowid = ++r->next_proc_rowid;
		sqlite3_bind_int64(r->st_proc_ins, 4, *rowid);
		report_step_state(r, r->st_proc_ins);
		r->processes++;
	} else if (name) {
		sqlite3_bind_text(r->st_proc_upd, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(r->st_proc_upd, 2, *rowid);
		report_step_state(r, r->st_proc_upd);
	}
}

static int handle_hello(struct report *r, struct report_conn *c, const struct gp_rec_hello *h)
{
	if (h->pid)
		c->pid = h->pid;
	if (h->flags & GP_HELLO_HELPER) { /* not the application's: no process or thread rows */
		c->helper = 1;
		c->exe_sid = 0;
		return 0;
	}
	c->exe_sid = h->exe_sid;
	set_process_name(r, c->pid, report_conn_string_text(c, h->exe_sid));
	return 0;
}

/* The slot for a new definition of string id `id` on c (dense or sparse). */
static struct conn_str *conn_str_slot(struct report_conn *c, uint32_t id)
{
	struct conn_str *cs = conn_str_find(c, id);
	int found;
	int64_t *k;

	if (cs)
		return cs;
	if ((uint64_t)id < 2ull * c->ndefined + DENSE_SLACK) {
		uint32_t n = c->nstrs ? c->nstrs : 64;

		while (n <= id)
			n *= 2;
		c->strs = xrealloc(c->strs, n * sizeof(*c->strs));
		memset(c->strs + c->nstrs, 0, (n - c->nstrs) * sizeof(*c->strs));
		/* ids that moved from the sparse map into the dense range */
		for (size_t i = 0; i < c->sparse.cap && c->sparse.n; i++) {
			int64_t key = c->sparse.keys[i];

			if (key != I64_EMPTY && key >= c->nstrs && key < n) {
				c->strs[key] = c->sp[c->sparse.vals[i]];
				c->sp[c->sparse.vals[i]].text = NULL;
				c->sp[c->sparse.vals[i]].len = 0;
			}
		}
		c->nstrs = n;
		return &c->strs[id];
	}
	k = i64map_get(&c->sparse, id, (int64_t)c->nsp, &found);
	if (c->nsp == c->sp_alloc) {
		c->sp_alloc = c->sp_alloc ? 2 * c->sp_alloc : 64;
		c->sp = xrealloc(c->sp, c->sp_alloc * sizeof(*c->sp));
	}
	memset(&c->sp[*k], 0, sizeof(c->sp[*k]));
	c->nsp++;
	return &c->sp[*k];
}

static int handle_string(struct report *r, struct report_conn *c, const struct gp_rec_string *s)
{
	struct conn_str *cs;
	size_t mem = (size_t)s->len + STR_OVERHEAD;

	if (s->id == 0 || s->len > GP_STRING_MAX || (size_t)s->h.size < sizeof(*s) + (size_t)s->len)
		return report_count_bad_record(r);
	cs = conn_str_find(c, s->id);
	if (cs && cs->text)
		mem = s->len > cs->len ? s->len - cs->len : 0; /* a redefinition */
	if (r->str_mem + mem > GP_REPORT_STRING_MEM_MAX)
		return report_count_over_limit(r, 1); /* records naming it get no text */
	if (!cs || !cs->text)
		c->ndefined++;
	cs = conn_str_slot(c, s->id);
	if (cs->text) {
		flush_modules(r); /* a redefinition: batched rows may point at the old text */
		r->str_mem -= cs->len + STR_OVERHEAD;
		c->str_mem -= cs->len + STR_OVERHEAD;
	}
	r->str_mem += s->len + STR_OVERHEAD;
	c->str_mem += s->len + STR_OVERHEAD;
	free(cs->text);
	cs->text = xmalloc((size_t)s->len + 1);
	memcpy(cs->text, s->text, s->len);
	cs->text[s->len] = '\0';
	cs->len = s->len;
	cs->gid = -1;
	if (s->id == c->exe_sid) {
		set_process_name(r, c->pid, cs->text);
		c->exe_sid = 0;
	}
	return 0;
}

static int handle_thread_name(struct report *r, struct report_conn *c,
			      const struct gp_rec_thread_name *t)
{
	int64_t gtid = report_global_tid(c->pid, t->tid ? t->tid : t->h.tid);
	int64_t name = report_conn_string(c, t->name_sid);
	int found;
	int64_t *rowid;

	if (name < 0 || c->helper)
		return 0; /* nothing to name it with, or gprof-cli's own thread */
	rowid = i64map_get(&r->threads, gtid, 0, &found);
	if (!found) {
		sqlite3_bind_int64(r->st_thread_ins, 1, name);
		sqlite3_bind_int64(r->st_thread_ins, 2, t->priority);
		sqlite3_bind_int64(r->st_thread_ins, 3, gtid);
		*rowid = ++r->next_thread_rowid;
		sqlite3_bind_int64(r->st_thread_ins, 4, *rowid);
		report_step_state(r, r->st_thread_ins);
	} else {
		sqlite3_bind_int64(r->st_thread_upd, 1, name);
		sqlite3_bind_int64(r->st_thread_upd, 2, t->priority);
		sqlite3_bind_int64(r->st_thread_upd, 3, *rowid);
		report_step_state(r, r->st_thread_upd);
	}
	return 0;
}

/* The producer's cumulative loss counters.  Plausible: none smaller than the last ones
 * seen on the connection, none larger than LOSS_SLACK + the ns since the session
 * started (nothing drops more than one record per ns).  Else refused, the last kept. */
static int handle_loss(struct report *r, struct report_conn *c, const struct gp_rec_loss *l)
{
	const uint64_t v[4] = {l->dropped_records, l->failed_sends, l->cupti_dropped,
			       l->zero_timestamps};
	uint64_t now = gp_monotonic_ns(), max = LOSS_SLACK;

	if (now > r->session_start_ns)
		max += now - r->session_start_ns;
	for (unsigned i = 0; i < 4; i++)
		if (v[i] < c->loss[i] || v[i] > max)
			return report_count_bad_record(r);
	memcpy(c->loss, v, sizeof(v));
	return 0;
}

int report_record(struct report *r, struct report_conn *c, const struct gp_rec_hdr *rec)
{
	size_t min = gp_rec_min_size(rec->type);
	int mi;

	if (min && rec->size < min)
		return -1;
	switch (rec->type) {
	case GP_REC_HELLO:
		return handle_hello(r, c, (const struct gp_rec_hello *)rec);
	case GP_REC_STRING:
		return handle_string(r, c, (const struct gp_rec_string *)rec);
	case GP_REC_THREAD_NAME:
		return handle_thread_name(r, c, (const struct gp_rec_thread_name *)rec);
	case GP_REC_LOSS:
		return handle_loss(r, c, (const struct gp_rec_loss *)rec);
	case GP_REC_OVERHEAD:
		return report_overhead_record(r, c, rec);
	case GP_REC_PROCESS_EXIT:
	case GP_REC_FLUSH_ACK: /* the recorder's reader acts on it (recorder.c) */
	case GP_REC_CAPTURE:   /* the windows are read from the control page */
		return 0;
	default:
		break;
	}
	mi = r->block_module[rec->type >> 8];
	if (mi < 0)
		return -1;
	return r->modules[mi]->handle(r, c, rec);
}

const struct report_module *report_module_for_type(uint16_t type)
{
	const struct report_module *mods[] = {&report_module_nvtx,   &report_module_osrt,
					      &report_module_cuda,   &report_module_metrics,
					      &report_module_mpi,    &report_module_sampling,
					      &report_module_hostmem};
	size_t i;

	for (i = 0; i < sizeof(mods) / sizeof(mods[0]); i++)
		if (mods[i] && type >= mods[i]->first_type && type <= mods[i]->last_type)
			return mods[i];
	return NULL;
}

/* ---- finish ---------------------------------------------------------------------- */

int report_finish(struct report *r, const struct report_app_status *app, struct report_stats *st)
{
	sqlite3_stmt *s;
	char buf[32];
	int64_t stop;
	int ret = 0, was_full;
	size_t i;

	/* the parallel writers' rows first: the modules' finish writes alone, then indexes */
	if (report_par_stop(r, NULL) < 0)
		ret = -1;
	was_full = r->full;
	if (was_full) {
		/* the closing rows go into the room the reserve held back, after what the
		 * rollback took; when that does not fit, the closing rows alone (a table made
		 * while full is dropped: rows for it fail as write errors, said) */
		reserve_release(r);
		if (try_resume(r, 1) < 0) {
			state_log_clear(r);
			drop_full_tables(r);
			r->full = 0;
		}
	}
	report_begin(r);
	st->processes += r->processes;
	st->dropped_records += r->loss_totals[0];
	st->failed_sends += r->loss_totals[1];
	st->cupti_dropped += r->loss_totals[2];
	st->zero_timestamps += r->loss_totals[3];
	st->bad_records += r->bad_records;
	st->over_limit += r->over_limit;
	st->nvtx_payloads_undecoded += r->nvtx_undecoded;
	st->nvtx_payloads_unsent += r->nvtx_unsent;
	st->app_waits += r->app_waits;
	st->app_wait_ns += r->app_wait_ns;

	if (app) {
		snprintf(buf, sizeof(buf), "%d", (int)app->pid);
		report_meta_export(r, "GPROF_APP_PID", buf);
		snprintf(buf, sizeof(buf), "%d", app->exit_status);
		report_meta_export(r, "GPROF_APP_EXIT_STATUS", buf);
		report_meta_export(r, "GPROF_APP_SIGNALED", app->signaled ? "true" : "false");
	}
	stop = report_time(r, app && app->end_ns ? app->end_ns : gp_monotonic_ns());
	if (stop < 0)
		stop = 0;
	s = report_prepare(r, "INSERT INTO ANALYSIS_DETAILS (globalVid, duration, startTime, "
			      "stopTime) VALUES (?, ?, 0, ?)");
	sqlite3_bind_int64(s, 1, (int64_t)(GP_VM_ID << 48));
	sqlite3_bind_int64(s, 2, stop);
	sqlite3_bind_int64(s, 3, stop);
	report_step(r, s);
	sqlite3_finalize(s);

	flush_modules(r);
	for (i = 0; i < REPORT_MOD_MAX; i++)
		if (r->modules[i] && r->modules[i]->finish && r->modules[i]->finish(r) < 0)
			ret = -1;

	st->disk_full_lost += r->lost_full; /* (said in DIAGNOSTIC_EVENT too) */
	report_session_finish(r, app ? app->session : NULL, st, stop);
	st->write_errors += r->write_errors;
	meta_export_u64(r, "GPROF_RECORDS", st->records);
	meta_export_u64(r, "GPROF_LOST_DROPPED_RECORDS", st->dropped_records);
	meta_export_u64(r, "GPROF_LOST_BAD_FRAMES", st->bad_frames);
	meta_export_u64(r, "GPROF_LOST_FRAMES", st->lost_frames);
	meta_export_u64(r, "GPROF_LOST_FAILED_SENDS", st->failed_sends);
	meta_export_u64(r, "GPROF_LOST_CUPTI_RECORDS", st->cupti_dropped);
	meta_export_u64(r, "GPROF_ZERO_TIMESTAMPS", st->zero_timestamps);
	meta_export_u64(r, "GPROF_WRITE_ERRORS", st->write_errors);
	meta_export_u64(r, "GPROF_LOST_BAD_RECORDS", st->bad_records);
	meta_export_u64(r, "GPROF_LOST_OVER_LIMIT", st->over_limit);
	meta_export_u64(r, "GPROF_LOST_SPOOL_RECORDS", st->spool_lost);
	meta_export_u64(r, "GPROF_NVTX_PAYLOADS_UNDECODED", st->nvtx_payloads_undecoded);
	meta_export_u64(r, "GPROF_NVTX_PAYLOADS_UNSENT", st->nvtx_payloads_unsent);
	meta_export_u64(r, "GPROF_SPOOL_BYTES", st->spool_bytes);
	meta_export_u64(r, "GPROF_LOST_DISK_FULL", r->lost_full);
	meta_export_u64(r, "GPROF_RECOVERED_RECORDS", st->recovered);
	meta_export_u64(r, "GPROF_ABRUPT_EXITS", st->abrupt_exits);
	meta_export_u64(r, "GPROF_ACCEPT_WAITS", st->accept_waits);
	meta_export_u64(r, "GPROF_APP_WAITS", st->app_waits);
	meta_export_u64(r, "GPROF_APP_WAIT_NS", st->app_wait_ns);
	if (st->not_seen)
		report_meta_export(r, "GPROF_TRACE_NOT_SEEN", st->not_seen);
	if (r->ever_full)
		meta_export_u64(r, "GPROF_DISK_FULL_RESUMES", r->resumes);
	/* a report the disk filled up stays "not finished cleanly": the readers warn */
	if (!r->ever_full)
		report_exec(r, "UPDATE META_DATA_EXPORT SET value = 'true' "
			       "WHERE name = 'GPROF_FINISHED_CLEANLY'");
	if (report_commit(r) < 0 && !r->full)
		ret = -1;
	if (r->full) {
		/* not even the closing rows fit: a report that cannot say what it lost is
		 * removed (report.h "Disk full") */
		char *tmp = xstrdup(r->path);

		for (i = 0; i < REPORT_MOD_MAX; i++)
			if (r->modules[i] && r->modules[i]->release)
				r->modules[i]->release(r);
		finalize_common(r);
		sqlite3_close_v2(r->db);
		r->db = NULL;
		report_unlink_files(r->path);
		error("cannot complete report '%s': the disk is full; removed it", r->path);
		hint("free space in '%s', or write the report where there is more with -o",
		     dirname(tmp));
		free(tmp);
		free_report(r);
		return -1;
	}

	finalize_common(r);
	if (sqlite3_exec(r->db, "PRAGMA journal_mode=DELETE;", NULL, NULL, NULL) != SQLITE_OK) {
		error("cannot complete report '%s': %s", r->path, sqlite3_errmsg(r->db));
		ret = -1;
	}
	if (sqlite3_close(r->db) != SQLITE_OK) {
		error("cannot close report '%s': %s", r->path, sqlite3_errmsg(r->db));
		sqlite3_close_v2(r->db);
		ret = -1;
	}
	r->db = NULL;
	free_report(r);
	return ret;
}
