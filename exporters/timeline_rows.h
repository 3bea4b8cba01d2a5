/*
 * timeline_rows.h - the rows of one query of the timeline walk (timeline.c) in (start ASC,
 * end DESC, rowid ASC) order: read straight from a statement that returns them so, or
 * sorted here, in C, from a statement that returns them in storage order.
 *
 * Why not SQLite's ORDER BY: its sorter copies every result row into its own record format
 * and compares them with the VDBE; for a table out of time order (gprof-cli's NVTX_EVENTS,
 * whose push/pop ranges are written at their pop; tables of several threads) that was
 * half of the export's time (bench_timeline, "shuffled").  Here each row is copied once
 * into an arena (a slot per column: a type byte and the value), the keys go into an index
 * sorted in C (a radix sort of the start times, or a merge of the runs in order), and the
 * rows are replayed from the arena where they are.  Memory is bounded: past
 * TL_ROWS_MEM bytes of rows the sorted index is written as a run to an unlinked temporary
 * file ($TMPDIR, default /tmp) and the runs are merged at the end, as an external sort
 * does (and as SQLite's sorter does past its cache).
 *
 * Keys are compared as SQLite orders integers: NULL before any number.  A key that is
 * neither an integer nor NULL (a REAL or TEXT start time) cannot be ordered here:
 * tl_rows_sort() then says TL_ROWS_FALLBACK before any row is handed out, and the caller
 * asks SQLite to sort instead.
 */
#ifndef GPROF_TIMELINE_ROWS_H
#define GPROF_TIMELINE_ROWS_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Rows of the arena before a run is written to the temporary file: 16 MiB (plus 32 bytes
 * of index per row); $GPROF_CLI_SORT_MEM (bytes) sets another limit (tests). */
#define TL_ROWS_MEM (16u << 20)

/* Bytes per column of a sorted row (struct tl_rows's row): the SQLite type, then 8 bytes:
 * the integer, the double's bits, or a TEXT or BLOB's 4-byte length and the 4-byte offset
 * of its bytes (NUL-terminated) from the row's first slot; zero for NULL. */
#define TL_ROWS_SLOT 9

/* tl_rows_sort()'s "sort in SQLite instead" (no row was handed out). */
#define TL_ROWS_FALLBACK (-2)

/* tl_rows_step() of rows read with tl_rows_verify(): this row comes before the one handed
 * out last (it is not handed out; the rows are not in order). */
#define TL_ROWS_UNORDERED (-3)

struct tl_rows_run;

/* A source of rows.  Owned by the caller (tl_rows_close() frees what it holds and
 * finalizes the statement); the current row's values stay valid until the next
 * tl_rows_step(). */
struct tl_rows {
	sqlite3_stmt *st; /* the statement read (owned) */
	int sorted;	  /* 1: rows from the sort below; 0: st's rows as they come */
	int ncol;	  /* columns handed out (the statement's, less the rowid when sorted) */
	/* the current row when sorted: ncol slots of TL_ROWS_SLOT bytes (the arena's or a
	 * run's buffer; not owned) */
	const unsigned char *row;
	/* the current row when not sorted: its columns' values as read (one
	 * sqlite3_column_value() per column and row, then plain reads: the walk tests a
	 * column for NULL and then reads it, two API calls with their mutex and error
	 * checks each otherwise) */
	sqlite3_value **val;
	uint32_t *gen_of, gen; /* val[i] is this row's when gen_of[i] == gen */
	/* tl_rows_verify(): the key columns checked (vstart < 0: none), the last row's keys,
	 * and whether every row was read, in order */
	int vstart, vend;
	int64_t vps, vpe;
	int verified;
	/* the sort */
	unsigned char *arena; /* encoded rows of the chunk being filled or replayed */
	size_t alen, acap;
	size_t limit;		 /* bytes of rows before a run is written */
	struct tl_rows_key *idx; /* the chunk's keys, sorted before the replay */
	size_t nidx, cidx, pos;
	int fd;			  /* temporary file of the runs; -1 none */
	uint64_t fsize;		  /* bytes written to it */
	struct tl_rows_run *runs; /* the runs, merged at the end */
	size_t nruns;
	int cur;	  /* run whose record is the current row; -1 none */
	char errmsg[160]; /* what failed, for tl_rows_step()'s SQLITE_IOERR */
};

/* Read st's rows in the order st returns them (st has an ORDER BY, or is in order).
 * Returns SQLITE_OK or SQLITE_NOMEM (rs->errmsg says it); the caller closes rs. */
int tl_rows_direct(struct tl_rows *rs, sqlite3_stmt *st);

/* Check, as tl_rows_direct()'s rows are stepped, that they come in (start_col ASC, end_col
 * DESC; -1: none) order, the order tl_rows_sort() gives, as SQLite orders integers (NULL
 * first): tl_rows_step() says TL_ROWS_UNORDERED at the first row that does not (or whose
 * key is a REAL or TEXT, which SQLite orders otherwise), and rs->verified is 1 once it
 * said SQLITE_DONE after rows all in order.  Call after tl_rows_direct(), before the first
 * step. */
void tl_rows_verify(struct tl_rows *rs, int start_col, int end_col);

/* Read every row of st (in storage order; its last column the rowid) and sort them by
 * columns start_col (ASC) and end_col (DESC; -1: none), then the rowid.  Returns SQLITE_OK
 * (rows ready for tl_rows_step()), TL_ROWS_FALLBACK (a key column held a REAL or TEXT:
 * nothing handed out; the caller closes rs and sorts in SQLite), an SQLite error code of
 * st's (sqlite3_errmsg() of its connection says it), or SQLITE_IOERR / SQLITE_NOMEM for
 * the temporary file or memory (rs->errmsg says it).  rs owns st from the call on, and
 * the caller closes it in every case (tl_rows_close()). */
int tl_rows_sort(struct tl_rows *rs, sqlite3_stmt *st, int start_col, int end_col);

/* Make the next row current: SQLITE_ROW, SQLITE_DONE, TL_ROWS_UNORDERED (tl_rows_verify()),
 * or an error as tl_rows_sort()'s. */
int tl_rows_step(struct tl_rows *rs);

/* Finalize the statement and free the sort's memory and file; rs may be reused. */
void tl_rows_close(struct tl_rows *rs);

/* (Not sorted: column i's value of the current row, asked from SQLite once per row.) */
static inline sqlite3_value *tl_rows_val_(struct tl_rows *rs, int i)
{
	if (rs->gen_of[i] != rs->gen) {
		rs->val[i] = sqlite3_column_value(rs->st, i);
		rs->gen_of[i] = rs->gen;
	}
	return rs->val[i];
}

/* (Sorted: column i's type and its 8 bytes of value, TL_ROWS_SLOT.) */
static inline int tl_rows_styp_(const struct tl_rows *rs, int i)
{
	return rs->row[(size_t)i * TL_ROWS_SLOT];
}

static inline uint64_t tl_rows_sval_(const struct tl_rows *rs, int i)
{
	uint64_t v;

	memcpy(&v, rs->row + (size_t)i * TL_ROWS_SLOT + 1, 8);
	return v;
}

static inline const char *tl_rows_stext_(const struct tl_rows *rs, int i)
{
	uint32_t off;

	memcpy(&off, rs->row + (size_t)i * TL_ROWS_SLOT + 5, 4);
	return (const char *)rs->row + off;
}

/* (Sorted: column i, of any type, as tl_rows_int() and tl_rows_double() read it; they
 * read an INTEGER themselves.) */
int64_t tl_rows_sint_(const struct tl_rows *rs, int i);
double tl_rows_sdouble_(const struct tl_rows *rs, int i);

/* The current row's column i (0-based, < ncol) as sqlite3_column_int64(), _double(),
 * _text() (NULL for SQL NULL; when sorted, NULL too for an INTEGER or REAL column, where
 * SQLite would convert: the walk reads no number as text) and its type
 * (SQLITE_INTEGER, ...).  Straight from the statement when not sorted: the walk reads
 * few columns of some rows (and fetching every column of every row cost more).  When
 * sorted, a BLOB or NULL reads as 0, a TEXT's number is parsed when asked. */
static inline int64_t tl_rows_int(struct tl_rows *rs, int i)
{
	if (__builtin_expect(!rs->sorted, 1))
		return sqlite3_value_int64(tl_rows_val_(rs, i));
	return tl_rows_styp_(rs, i) == SQLITE_INTEGER ? (int64_t)tl_rows_sval_(rs, i)
						      : tl_rows_sint_(rs, i);
}

static inline double tl_rows_double(struct tl_rows *rs, int i)
{
	if (__builtin_expect(!rs->sorted, 1))
		return sqlite3_value_double(tl_rows_val_(rs, i));
	return tl_rows_styp_(rs, i) == SQLITE_INTEGER ? (double)(int64_t)tl_rows_sval_(rs, i)
						      : tl_rows_sdouble_(rs, i);
}

static inline const char *tl_rows_text(struct tl_rows *rs, int i)
{
	if (__builtin_expect(!rs->sorted, 1))
		return (const char *)sqlite3_value_text(tl_rows_val_(rs, i));
	int t = tl_rows_styp_(rs, i);

	return t == SQLITE_TEXT || t == SQLITE_BLOB ? tl_rows_stext_(rs, i) : NULL;
}

static inline int tl_rows_type(struct tl_rows *rs, int i)
{
	return rs->sorted ? tl_rows_styp_(rs, i) : sqlite3_value_type(tl_rows_val_(rs, i));
}

#endif
