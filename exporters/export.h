/*
 * export.h - `gprof-cli export`: write a report's tables as CSV files or JSON Lines
 * (nsys export --type jsonlines layout: one object per row with a "table" field).
 *
 * CSV: one RFC 4180 file per table, DIR/<table>.csv (CRLF line ends, header row of
 * column names, fields quoted when they hold , " CR or LF, NULL as an empty field,
 * REAL with up to 17 significant digits so it reads back exactly, BLOB as hex).
 * Columns that hold a StringIds id (nameId, textId, jsonTextId, filenameId,
 * contentId, demangledName, shortName, mangledName, symbol, module, CpuInstruction,
 * sourceFile, typed INTEGER) get an extra column "<column>_value" right after them
 * with the string.  JSON Lines carries the same fields (NULL as null).
 * Rows are streamed from SQLite; nothing is held per table.  Outputs are written to a
 * temporary name and renamed into place only when everything succeeded.
 */
#ifndef GPROF_EXPORT_H
#define GPROF_EXPORT_H

#include <sqlite3.h>
#include <stdio.h>

enum export_type {
	EXPORT_CSV = 0,
	EXPORT_JSONL,
	EXPORT_FOLDED, /* collapsed stacks of the CPU samples (exporters/export_folded.c) */
};

struct export_opts {
	enum export_type type;
	/* CSV: the directory (default "<report without extension>_csv");
	 * JSONL: the file (default "<report without extension>.jsonl"), "-" = stdout. */
	const char *output;
	int force;		   /* replace existing outputs */
	const char *const *tables; /* NULL, or NULL-terminated case-insensitive POSIX BREs:
				      a table is exported when one matches part of its name */
	int quiet;		   /* no summary line on stderr */
};

/*
 * `--type folded`: the CPU samples (COMPOSITE_EVENTS, SAMPLING_CALLCHAINS) as collapsed
 * stacks for flame graphs, one "process;thread;outermost;...;leaf COUNT" line per distinct
 * stack, to o->output ("-": standard output).  Returns GP_EXIT_OK, GP_EXIT_BAD_INPUT (no
 * sampling tables: error and hint printed), GP_EXIT_OUTPUT or GP_EXIT_ERROR; on failure
 * no output file is left behind.
 */
int export_folded(sqlite3 *db, const struct export_opts *o);

/* Default output for report path db_path and type t (heap string, caller frees). */
char *export_default_output(const char *db_path, enum export_type t);

/*
 * Export db (opened with report_open_read()) as o says.  Returns an exit status:
 * GP_EXIT_OK; GP_EXIT_USAGE (bad --tables pattern, no table matched); GP_EXIT_OUTPUT
 * (output exists without force, cannot be created or written); GP_EXIT_BAD_INPUT (the
 * report is damaged: SQLite found it corrupt while reading); GP_EXIT_ERROR (other SQLite
 * error).  The error is printed; on failure no output file is left behind.
 */
int export_report(sqlite3 *db, const struct export_opts *o);

/*
 * Open path for writing under a temporary name beside it ("<path>.tmpXXXXXX", mode 0644);
 * "-" is standard output (*tmp = NULL).  An existing path without force is refused.
 * Returns GP_EXIT_OK with *f and *tmp (heap string, handed to export_output_close()), or
 * GP_EXIT_OUTPUT after printing the error and a hint.
 */
int export_output_open(const char *path, int force, FILE **f, char **tmp);

/*
 * Finish an output opened with export_output_open(): close f (flush it for standard
 * output), then rename tmp to path when status is GP_EXIT_OK, else remove tmp.  Returns
 * status, or GP_EXIT_OUTPUT when closing or renaming failed (printed).  Frees tmp.
 */
int export_output_close(FILE *f, const char *path, char *tmp, int status);

/* Non-zero when column `col` (declared type `decltype`) of `table` references
 * StringIds(id) and gets a "<col>_value" companion. */
int export_is_string_ref(const char *table, const char *col, const char *decltype);

#endif
