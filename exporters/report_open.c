/*
 * report_open.c - open and validate a report database (see report_open.h).
 *
 * The checks run before SQLite sees the file, from the 100-byte SQLite header
 * (https://www.sqlite.org/fileformat.html section 1.3): magic "SQLite format 3\0",
 * page size at offset 16 (big-endian u16, 1 = 65536), database size in pages at
 * offset 28 (valid when the change counter at 24 equals the version-valid-for number
 * at 92), so a cut-short copy is named "truncated" instead of failing later with
 * "database disk image is malformed".
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exporters/report_open.h"
#include "exporters/stats.h"

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void hint_report(void)
{
	hint("give a report written by 'gprof-cli profile' (NAME.db) or exported by "
	     "'nsys export --type sqlite'");
}

/* Check the file itself; 0 or -1 after printing the error. */
static int check_file(const char *path)
{
	unsigned char hdr[100];
	struct stat sb;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		error("cannot open report '%s': %s", path, strerror(errno));
		if (errno == ENOENT)
			hint("record one with 'gprof-cli profile -o NAME ./app' (writes NAME.db)");
		return -1;
	}
	if (fstat(fd, &sb) < 0) {
		error("cannot stat report '%s': %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (S_ISDIR(sb.st_mode)) {
		close(fd);
		error("cannot open report '%s': Is a directory", path);
		return -1;
	}
	if (sb.st_size == 0) {
		close(fd);
		error("report '%s' is empty", path);
		hint("the run that wrote it did not get to create its tables; record it again");
		return -1;
	}
	n = pread(fd, hdr, sizeof(hdr), 0);
	close(fd);
	if (n < 0) {
		error("cannot read report '%s': %s", path, strerror(errno));
		return -1;
	}
	if (n < (ssize_t)sizeof(hdr) || memcmp(hdr, "SQLite format 3", 16) != 0) {
		error("'%s' is not an SQLite database", path);
		hint_report();
		return -1;
	}
	uint32_t page = (uint32_t)hdr[16] << 8 | hdr[17];
	if (page == 1)
		page = 65536;
	uint32_t pages = be32(hdr + 28);
	/* a writer killed mid-transaction may have counted pages it never wrote: its hot
	 * journal (report_open_read rolls it back) restores the size the header says */
	char journal[PATH_MAX];
	int hot = snprintf(journal, sizeof(journal), "%s-journal", path) < (int)sizeof(journal) &&
		  access(journal, F_OK) == 0;
	if (!hot && be32(hdr + 24) == be32(hdr + 92) && pages && page >= 512) {
		uint64_t want = (uint64_t)pages * page;
		if ((uint64_t)sb.st_size < want) {
			error("report '%s' is truncated (%lld of %llu bytes)", path,
			      (long long)sb.st_size, (unsigned long long)want);
			hint("the file was cut short (interrupted copy or full disk); copy or "
			     "record it again");
			return -1;
		}
	}
	return 0;
}

int report_db_damaged(sqlite3 *db)
{
	int rc = sqlite3_errcode(db);

	return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB;
}

void report_hint_damaged(sqlite3 *db)
{
	const char *path = sqlite3_db_filename(db, "main");

	hint("report '%s' is damaged (a bad copy, or a disk error): record it again, or keep "
	     "what still reads with 'sqlite3 %s .recover'",
	     path ? path : "?", path ? path : "REPORT.db");
}

char *report_read_meta(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st;
	char *val = NULL;

	if (sqlite3_prepare_v2(db, "SELECT value FROM META_DATA_EXPORT WHERE name = ?1", -1, &st,
			       NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		val = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return val;
}

sqlite3 *report_open_read(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st;
	char *clean, *full;
	int rc, attempt;

	if (check_file(path))
		return NULL;
	for (attempt = 0;; attempt++) {
		/* NOMUTEX: a connection is used by one thread at a time (the readers' rule);
		 * without it every sqlite3_column_*() takes the connection's mutex (12 % of the
		 * timeline export, perf, issue 14) */
		rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
		if (rc != SQLITE_OK) {
			error("cannot open report '%s': %s", path,
			      db ? sqlite3_errmsg(db) : "out of memory");
			sqlite3_close(db);
			return NULL;
		}
		sqlite3_busy_timeout(db, 2000);
		rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &st, NULL);
		if (rc == SQLITE_OK) {
			rc = sqlite3_step(st);
			rc = rc == SQLITE_ROW ? SQLITE_OK : rc;
			sqlite3_finalize(st);
		}
		if (rc == SQLITE_OK || attempt > 0 ||
		    sqlite3_extended_errcode(db) != SQLITE_READONLY_ROLLBACK)
			break;
		/* A recorder killed mid-transaction left a hot rollback journal, which only
		 * a read-write connection may roll back: do that once, then read. */
		sqlite3_close(db);
		db = NULL;
		rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL, NULL,
					  NULL);
		if (rc != SQLITE_OK) {
			error("cannot read report '%s': its writer was killed mid-transaction and "
			      "the rollback failed: %s",
			      path, db ? sqlite3_errmsg(db) : "out of memory");
			hint(
			    "make the report and its folder writable (the rollback rewrites it and "
			    "removes '%s-journal'), then read it again",
			    path);
			sqlite3_close(db);
			return NULL;
		}
		sqlite3_close(db);
		db = NULL;
		warning("report '%s' was left mid-transaction by a killed writer; rolled back to "
			"its last commit",
			path);
	}
	if (rc != SQLITE_OK) {
		if (rc == SQLITE_NOTADB)
			error("'%s' is not an SQLite database", path);
		else
			error("cannot read report '%s': %s", path, sqlite3_errmsg(db));
		hint_report();
		sqlite3_close(db);
		return NULL;
	}
	if (!stats_table_exists(db, "StringIds")) {
		error("'%s' is not a gprof-cli or nsys report: it has no StringIds table", path);
		hint_report();
		sqlite3_close(db);
		return NULL;
	}
	clean = report_read_meta(db, "GPROF_FINISHED_CLEANLY");
	full = report_read_meta(db, "GPROF_LOST_DISK_FULL");
	if (full && strcmp(full, "0"))
		warning("report '%s' is incomplete: the disk filled up while it was written (%s "
			"rows not written)",
			path, full);
	else if (clean && (!strcmp(clean, "false") || !strcmp(clean, "0")))
		warning("report '%s' was not finished cleanly; data may be incomplete (gprof-cli "
			"was killed or crashed while recording)",
			path);
	free(full);
	free(clean);
	if (stats_register_functions(db)) {
		sqlite3_close(db);
		return NULL;
	}
	return db;
}
