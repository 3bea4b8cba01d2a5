/*
 * report_open.h - open a report database read-only and check that it is one, for the
 * commands that read reports (`stats`, `export`, and `profile --stats`).
 *
 * A report is an SQLite file in the Nsight Systems export schema, written by gprof-cli
 * or exported by nsys (../shared/reference/nsys-sqlite-schema.md).  The checks, each
 * answered with one error line naming the file (and a hint line when there is a fix):
 *   - the file is missing, unreadable, a directory, or empty;
 *   - it does not start with the SQLite header ("not an SQLite database");
 *   - it is shorter than its header says (truncated: a copy cut short or a crashed
 *     writer);
 *   - SQLite cannot read its schema (corrupt);
 *   - it has no StringIds table (an SQLite file, but not a report).
 * A report whose META_DATA_EXPORT row GPROF_FINISHED_CLEANLY is "false" gets a warning
 * and is still opened (partial data is better than none, as perf does).
 */
#ifndef GPROF_REPORT_OPEN_H
#define GPROF_REPORT_OPEN_H

#include <sqlite3.h>

/*
 * Open path read-only, validate it as above and register the stats aggregate
 * functions (stats_register_functions()) on the connection.  Returns the handle (the
 * caller closes it with sqlite3_close()), or NULL after printing the error; the exit
 * status for that case is GP_EXIT_BAD_INPUT.  Nothing is written to the file.
 */
sqlite3 *report_open_read(const char *path);

/* 1 when the last failed call on db failed because the file is damaged (SQLITE_CORRUPT,
 * SQLITE_NOTADB: "database disk image is malformed"), else 0.  Call it right after the
 * failure, before other calls on db.  Such a failure exits with GP_EXIT_BAD_INPUT. */
int report_db_damaged(sqlite3 *db);
/* Print the hint line for a damaged report (after the error line that names the
 * failure). */
void report_hint_damaged(sqlite3 *db);

/* The META_DATA_EXPORT value for name (heap string, caller frees), or NULL when the
 * table or row is absent. */
char *report_read_meta(sqlite3 *db, const char *name);

#endif
