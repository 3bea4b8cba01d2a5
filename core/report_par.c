/*
 * report_par.c - parallel writers for the bulk tables of a report (report_par.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nsys_event_type.h"
#include "report.h"
#include "report_par.h"
#include "util.h"

#define PAR_ROWS	2048	     /* rows of a batch at most */
#define PAR_COLS	9	     /* cells of a row (the widest table's) */
#define PAR_TEXT	(128u << 10) /* text bytes of a batch (>= GP_STRING_MAX + NVTX's) */
#define PAR_MULTI	64	     /* rows of one multi-row INSERT */
#define PAR_BATCH_BYTES (sizeof(struct par_batch))

/* A kind of row: its table, the columns bound (ncols) and then those given as the SQL
 * literals `lits` (the same in every row). */
struct par_table {
	const char *name, *cols, *lits;
	unsigned ncols;
};

static const struct par_table tables[REPORT_PAR_TABLES] = {
    [REPORT_PAR_NVTX] =
	{"NVTX_EVENTS", "start, end, eventType, text, textId, globalTid, domainId, color, category",
	 "", 9},
    /* (4 values a row instead of 9: 1.4x the rows per CPU second, report_nvtx.c) */
    [REPORT_PAR_NVTX_PUSHPOP] = {"NVTX_EVENTS", "start, end, text, globalTid, eventType, domainId",
				 ", " NVTX_EV_PUSHPOP_S ", 0", 4},
    [REPORT_PAR_OSRT] = {"OSRT_API",
			 "start, end, eventClass, globalTid, nameId, returnValue, nestingLevel, "
			 "callchainId",
			 "", 8},
};

struct par_batch {
	struct par_batch *next;
	unsigned table, rows;
	size_t tlen;
	struct report_par_cell cells[PAR_ROWS * PAR_COLS];
	char text[PAR_TEXT];
};

struct par_writer {
	struct report_par *p;
	pthread_t thread;
	int started;
	sqlite3 *db;
	sqlite3_stmt *one[REPORT_PAR_TABLES], *multi[REPORT_PAR_TABLES];
	uint64_t rows[REPORT_PAR_TABLES]; /* rows in its database, per table */
	uint64_t lost;			  /* rows SQLite refused (lost_full: for want of space) */
	int full, err;			  /* an error seen: SQLITE_FULL/IOERR, other */
	char errmsg[160];
	uint64_t cpu_ns;
};

struct report_par {
	unsigned k;
	struct par_writer w[REPORT_PAR_MAX];
	pthread_mutex_t mu;
	pthread_cond_t cv_work, cv_free;
	struct par_batch *queue, *queue_tail, *free_list;
	int stopping;
	struct par_batch *cur[REPORT_PAR_TABLES]; /* batches being filled (main thread) */
	struct par_batch *last_batch; /* the batch of the row report_par_row() returned */
};

/* ---- how many --------------------------------------------------------------------------- */

unsigned report_par_writers(void)
{
	const char *env = getenv(REPORT_PAR_ENV);
	cpu_set_t set;
	long n = -1;

	if (env && *env) {
		char *end;
		long v = strtol(env, &end, 10);

		if (!*end && v >= 1 && v <= REPORT_PAR_MAX)
			return (unsigned)v;
		warning("%s=%s is not a number of writers from 1 to %d; using the CPU count",
			REPORT_PAR_ENV, env, REPORT_PAR_MAX);
	}
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	if (n < 1)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < REPORT_PAR_MIN_CPUS)
		return 1;
	return n > REPORT_PAR_MAX ? REPORT_PAR_MAX : (unsigned)n;
}

/* ---- the writers ------------------------------------------------------------------------ */

static int write_failed(int rc)
{
	rc &= 0xff;
	return rc == SQLITE_FULL || rc == SQLITE_IOERR;
}

static void writer_error(struct par_writer *w, int rc, uint64_t rows)
{
	w->lost += rows;
	if (write_failed(rc))
		w->full = 1;
	else
		w->err = 1;
	if (!w->errmsg[0])
		snprintf(w->errmsg, sizeof(w->errmsg), "%s", sqlite3_errmsg(w->db));
}

static sqlite3_stmt *writer_stmt(struct par_writer *w, unsigned t, unsigned rows)
{
	sqlite3_stmt **slot = rows > 1 ? &w->multi[t] : &w->one[t];
	struct strbuf sb = STRBUF_INIT;

	if (*slot)
		return *slot;
	strbuf_addf(&sb, "INSERT INTO %s (%s) VALUES ", tables[t].name, tables[t].cols);
	for (unsigned i = 0; i < rows; i++) {
		strbuf_addstr(&sb, i ? ", (?" : "(?");
		for (unsigned c = 1; c < tables[t].ncols; c++)
			strbuf_addstr(&sb, ", ?");
		strbuf_addf(&sb, "%s)", tables[t].lits);
	}
	if (sqlite3_prepare_v3(w->db, sb.buf, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL) !=
	    SQLITE_OK)
		die("cannot prepare '%.60s...' on a drain writer's database: %s", sb.buf,
		    sqlite3_errmsg(w->db));
	strbuf_release(&sb);
	return *slot;
}

/* Insert `rows` rows of batch b from row `first` with one statement. */
static void writer_insert(struct par_writer *w, const struct par_batch *b, unsigned first,
			  unsigned rows)
{
	unsigned nc = tables[b->table].ncols;
	sqlite3_stmt *st = writer_stmt(w, b->table, rows);
	int rc;

	for (unsigned i = 0; i < rows; i++) {
		const struct report_par_cell *c = &b->cells[(size_t)(first + i) * PAR_COLS];

		for (unsigned j = 0; j < nc; j++) {
			int col = (int)(i * nc + j + 1);

			if (c[j].kind == 1)
				sqlite3_bind_int64(st, col, c[j].v);
			else if (c[j].kind == 2)
				sqlite3_bind_text(st, col, b->text + c[j].v, (int)c[j].len,
						  SQLITE_STATIC);
			else
				sqlite3_bind_null(st, col);
		}
	}
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		writer_error(w, rc, rows);
	else
		w->rows[b->table] += rows;
}

static void *writer_main(void *arg)
{
	struct par_writer *w = arg;
	struct report_par *p = w->p;
	struct timespec cpu;

	for (;;) {
		struct par_batch *b;
		unsigned i = 0;

		pthread_mutex_lock(&p->mu);
		while (!p->queue && !p->stopping)
			pthread_cond_wait(&p->cv_work, &p->mu);
		b = p->queue;
		if (b) {
			p->queue = b->next;
			if (!p->queue)
				p->queue_tail = NULL;
		}
		pthread_mutex_unlock(&p->mu);
		if (!b)
			break;
		if (!w->full) {
			for (; i + PAR_MULTI <= b->rows; i += PAR_MULTI)
				writer_insert(w, b, i, PAR_MULTI);
			for (; i < b->rows; i++)
				writer_insert(w, b, i, 1);
		} else {
			w->lost += b->rows; /* the disk is full: the rest is lost, counted */
		}
		pthread_mutex_lock(&p->mu);
		b->next = p->free_list;
		p->free_list = b;
		pthread_cond_signal(&p->cv_free);
		pthread_mutex_unlock(&p->mu);
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
	w->cpu_ns = (uint64_t)cpu.tv_sec * 1000000000ull + (uint64_t)cpu.tv_nsec;
	return NULL;
}

/* ---- start / stop ----------------------------------------------------------------------- */

static void writer_close(struct par_writer *w)
{
	for (unsigned t = 0; t < REPORT_PAR_TABLES; t++) {
		sqlite3_finalize(w->one[t]);
		sqlite3_finalize(w->multi[t]);
		w->one[t] = w->multi[t] = NULL;
	}
	if (w->db)
		sqlite3_close_v2(w->db);
	w->db = NULL;
}

/* The CREATE TABLE statement of table `name` of the report (malloc'd), or NULL. */
static char *table_sql(struct report *r, const char *name)
{
	sqlite3_stmt *st;
	char *sql = NULL;

	if (sqlite3_prepare_v2(report_db(r),
			       "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
			       -1, &st, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		sql = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return sql;
}

/* Create writer i's database next to the report (file comment) with the bulk tables as
 * the report has them; unlinked once open.  0, or -1 with a message in *why. */
static int writer_open(struct report *r, struct par_writer *w, unsigned i, char **why)
{
	char *path = NULL;
	int fd = -1;

	for (unsigned n = 0; n < 100 && fd < 0; n++) {
		free(path);
		path = n ? xasprintf("%s.drain%u.%u", report_path(r), i, n)
			 : xasprintf("%s.drain%u", report_path(r), i);
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		*why = xasprintf("cannot create '%s': %s", path, strerror(errno));
		free(path);
		return -1;
	}
	close(fd);
	if (sqlite3_open_v2(path, &w->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
		SQLITE_OK ||
	    sqlite3_exec(w->db,
			 "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; "
			 "PRAGMA locking_mode=EXCLUSIVE; PRAGMA temp_store=MEMORY; "
			 "PRAGMA cache_size=-2048;", /* 2 MiB */
			 NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	for (unsigned t = 0; t < REPORT_PAR_TABLES; t++) {
		char *sql;
		int rc;
		unsigned u;

		for (u = 0; u < t && strcmp(tables[u].name, tables[t].name); u++)
			;
		if (u < t)
			continue; /* made already */
		sql = table_sql(r, tables[t].name);
		rc = sql ? sqlite3_exec(w->db, sql, NULL, NULL, NULL) : SQLITE_ERROR;
		free(sql);
		if (rc != SQLITE_OK)
			goto fail;
	}
	/* one transaction for all of it (journal off: a commit costs nothing) */
	if (sqlite3_exec(w->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	unlink(path);
	free(path);
	return 0;
fail:
	*why = xasprintf("cannot set up '%s': %s", path,
			 w->db ? sqlite3_errmsg(w->db) : "out of memory");
	writer_close(w);
	unlink(path);
	free(path);
	return -1;
}

static void par_free(struct report_par *p)
{
	for (unsigned t = 0; t < REPORT_PAR_TABLES; t++)
		free(p->cur[t]);
	while (p->free_list) {
		struct par_batch *b = p->free_list;

		p->free_list = b->next;
		free(b);
	}
	while (p->queue) {
		struct par_batch *b = p->queue;

		p->queue = b->next;
		free(b);
	}
	for (unsigned i = 0; i < p->k; i++)
		writer_close(&p->w[i]);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv_work);
	pthread_cond_destroy(&p->cv_free);
	free(p);
}

int report_par_start(struct report *r, unsigned k)
{
	struct report_par **slot = report_par_slot(r);
	struct report_par *p;
	char *why = NULL;

	if (*slot || k < 2 || report_is_full(r)) /* (full: report.c counts what it cannot
						    write, and resumes) */
		return *slot ? 0 : -1;
	if (k > REPORT_PAR_MAX)
		k = REPORT_PAR_MAX;
	report_flush_modules(r);
	report_commit(r);
	p = xcalloc(1, sizeof(*p));
	p->k = k;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv_work, NULL);
	pthread_cond_init(&p->cv_free, NULL);
	for (unsigned i = 0; i < k; i++) {
		p->w[i].p = p;
		if (writer_open(r, &p->w[i], i, &why) < 0) {
			warning("the report's backlog is written by one thread: %s", why);
			free(why);
			par_free(p);
			return -1;
		}
	}
	for (unsigned i = 0; i < 2 * k + REPORT_PAR_TABLES; i++) { /* (report_par.h "Memory") */
		struct par_batch *b = xmalloc(sizeof(*b));

		b->next = p->free_list;
		p->free_list = b;
	}
	for (unsigned i = 0; i < k; i++) {
		if (pthread_create(&p->w[i].thread, NULL, writer_main, &p->w[i]) != 0) {
			warning("the report's backlog is written by one thread: cannot start a "
				"thread: %s",
				strerror(errno));
			pthread_mutex_lock(&p->mu);
			p->stopping = 1;
			pthread_cond_broadcast(&p->cv_work);
			pthread_mutex_unlock(&p->mu);
			for (unsigned j = 0; j < i; j++)
				pthread_join(p->w[j].thread, NULL);
			par_free(p);
			return -1;
		}
		p->w[i].started = 1;
	}
	*slot = p;
	return 0;
}

int report_par_on(struct report *r)
{
	return *report_par_slot(r) != NULL;
}

/* Hand batch b to the writers. */
static void send_batch(struct report_par *p, struct par_batch *b)
{
	b->next = NULL;
	pthread_mutex_lock(&p->mu);
	if (p->queue_tail)
		p->queue_tail->next = b;
	else
		p->queue = b;
	p->queue_tail = b;
	pthread_cond_signal(&p->cv_work);
	pthread_mutex_unlock(&p->mu);
}

struct report_par_cell *report_par_row(struct report *r, enum report_par_table t, size_t text_bytes)
{
	struct report_par *p = *report_par_slot(r);
	struct par_batch *b = p->cur[t];
	struct report_par_cell *row;

	if (b && (b->rows == PAR_ROWS || b->tlen + text_bytes > PAR_TEXT)) {
		send_batch(p, b);
		b = p->cur[t] = NULL;
	}
	if (!b) {
		pthread_mutex_lock(&p->mu);
		while (!p->free_list)
			pthread_cond_wait(&p->cv_free, &p->mu);
		b = p->free_list;
		p->free_list = b->next;
		pthread_mutex_unlock(&p->mu);
		b->table = t;
		b->rows = 0;
		b->tlen = 0;
		p->cur[t] = b;
	}
	row = &b->cells[(size_t)b->rows++ * PAR_COLS];
	for (unsigned j = 0; j < tables[t].ncols; j++)
		row[j].kind = 0;
	p->last_batch = b;
	return row;
}

void report_par_int(struct report_par_cell *row, unsigned col, int64_t v)
{
	row[col].kind = 1;
	row[col].v = v;
}

void report_par_text(struct report *r, struct report_par_cell *row, unsigned col, const char *s,
		     size_t n)
{
	struct par_batch *b = (*report_par_slot(r))->last_batch;

	memcpy(b->text + b->tlen, s, n);
	row[col].kind = 2;
	row[col].v = (int64_t)b->tlen;
	row[col].len = (uint32_t)n;
	b->tlen += n;
}

/* Stop and join the writers (their queue written first). */
static void par_join(struct report_par *p)
{
	for (unsigned t = 0; t < REPORT_PAR_TABLES; t++) {
		if (p->cur[t] && p->cur[t]->rows)
			send_batch(p, p->cur[t]);
		else
			free(p->cur[t]);
		p->cur[t] = NULL;
	}
	pthread_mutex_lock(&p->mu);
	p->stopping = 1;
	pthread_cond_broadcast(&p->cv_work);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->k; i++)
		if (p->w[i].started)
			pthread_join(p->w[i].thread, NULL);
}

/* Append writer w's tables to the report's (file comment).  Rows not appended are added
 * to *lost / *lost_full. */
static void merge_writer(struct report *r, struct par_writer *w, uint64_t *lost,
			 uint64_t *lost_full)
{
	char *sql;
	int rc;

	for (unsigned t = 0; t < REPORT_PAR_TABLES; t++)
		if (w->one[t] || w->multi[t]) { /* (statements hold no lock once reset) */
			sqlite3_finalize(w->one[t]);
			sqlite3_finalize(w->multi[t]);
			w->one[t] = w->multi[t] = NULL;
		}
	/* a failed write may have rolled the writer's whole transaction back: its rows are
	 * gone then, counted as the failure was */
	rc = sqlite3_get_autocommit(w->db) ? (w->full ? SQLITE_FULL : SQLITE_ERROR)
					   : sqlite3_exec(w->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK && w->full)
		rc = SQLITE_FULL;
	sql = sqlite3_mprintf("ATTACH %Q AS rep; PRAGMA rep.synchronous=OFF; "
			      "PRAGMA rep.journal_mode=PERSIST;",
			      report_path(r));
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(w->db, sql, NULL, NULL, NULL);
	sqlite3_free(sql);
	for (unsigned t = 0; t < REPORT_PAR_TABLES; t++) {
		uint64_t rows = 0;
		unsigned u;

		for (u = 0; u < t && strcmp(tables[u].name, tables[t].name); u++)
			;
		if (u < t)
			continue; /* (merged with the first kind of row of its table) */
		for (u = t; u < REPORT_PAR_TABLES; u++)
			if (!strcmp(tables[u].name, tables[t].name))
				rows += w->rows[u];
		if (!rows)
			continue;
		if (rc == SQLITE_OK) {
			sql = sqlite3_mprintf("BEGIN IMMEDIATE; INSERT INTO rep.%s SELECT * FROM "
					      "main.%s; COMMIT;",
					      tables[t].name, tables[t].name);
			rc = sqlite3_exec(w->db, sql, NULL, NULL, NULL);
			sqlite3_free(sql);
			if (rc != SQLITE_OK) {
				snprintf(w->errmsg, sizeof(w->errmsg), "%s", sqlite3_errmsg(w->db));
				sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
			}
		}
		if (rc != SQLITE_OK)
			*(write_failed(rc) ? lost_full : lost) += rows;
	}
	sqlite3_exec(w->db, "DETACH rep", NULL, NULL, NULL);
}

int report_par_stop(struct report *r, uint64_t *cpu_ns)
{
	struct report_par **slot = report_par_slot(r);
	struct report_par *p = *slot;
	uint64_t lost = 0, lost_full = 0, cpu = 0;
	const char *msg = NULL;

	if (cpu_ns)
		*cpu_ns = 0;
	if (!p)
		return 0;
	report_flush_modules(r); /* the modules' batched rows: still to the writers */
	report_commit(r);
	par_join(p);
	*slot = NULL; /* the report writes alone again */
	for (unsigned i = 0; i < p->k; i++) {
		struct par_writer *w = &p->w[i];

		cpu += w->cpu_ns;
		lost += w->err ? w->lost : 0;
		lost_full += w->full ? w->lost : 0;
		if (report_is_full(r)) { /* nothing more goes in: counted as lost */
			for (unsigned t = 0; t < REPORT_PAR_TABLES; t++)
				lost_full += w->rows[t];
		} else {
			merge_writer(r, w, &lost, &lost_full);
		}
		if (w->errmsg[0] && !msg)
			msg = w->errmsg;
		writer_close(w); /* its file's space back before the next merge */
	}
	if (lost) { /* (a full disk is said by report_count_lost_rows, as report.c says it) */
		error("cannot write %llu rows of report '%s' with parallel writers: %s",
		      (unsigned long long)lost, report_path(r), msg ? msg : "SQLite error");
		hint("set %s=1 to write the report with one thread", REPORT_PAR_ENV);
	}
	report_count_lost_rows(r, lost, lost_full);
	if (cpu_ns)
		*cpu_ns = cpu;
	par_free(p);
	return lost || lost_full ? -1 : 0;
}

void report_par_abort(struct report *r)
{
	struct report_par **slot = report_par_slot(r);
	struct report_par *p = *slot;

	if (!p)
		return;
	*slot = NULL;
	for (unsigned t = 0; t < REPORT_PAR_TABLES; t++) { /* nothing more to write */
		free(p->cur[t]);
		p->cur[t] = NULL;
	}
	par_join(p);
	par_free(p);
}
