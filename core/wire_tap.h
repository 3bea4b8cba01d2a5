/*
 * wire_tap.h - the raw-frame tap (wire layer): the frames the recorder received, written
 * to a file as they were decoded, read back, and each record as one line of text (uftrace
 * `dump`, perf `report -D`).
 *
 * `gprof-cli profile` writes the tap when GPROF_CLI_DUMP_FRAMES names a file
 * (man/gprof-cli-profile.1, ENVIRONMENT); `gprof-cli dump FILE` prints it
 * (cli/cmd_dump.c); the writer tests replay tap files in tests/fixtures/frames/ into a
 * report and compare its rows ("frames in, rows out", tests/unit/test_frames_golden.c).
 *
 * File format (ours; little-endian, as the wire): struct gp_tap_hdr, then one entry per
 * event of a producer connection in the order the recorder's writer handled them:
 * struct gp_tap_entry and, for a frame, its bytes as received (at most GP_FRAME_MAX of
 * them), padded with zeros to a multiple of 8.  Connections are numbered from 1 in the
 * order they opened.
 */
#ifndef GPROF_WIRE_TAP_H
#define GPROF_WIRE_TAP_H

#include <stdint.h>
#include <stdio.h>

#include "util.h"
#include "wire.h"

#define GP_TAP_MAGIC   "GPFRAMES" /* 8 bytes, no NUL */
#define GP_TAP_VERSION 1u

struct gp_tap_hdr {
	char magic[8];		      /* GP_TAP_MAGIC */
	uint32_t version;	      /* GP_TAP_VERSION */
	uint32_t wire_version;	      /* GP_WIRE_VERSION of the frames */
	uint64_t session_start_ns;    /* CLOCK_MONOTONIC ns of report time 0 */
	int64_t session_start_utc_ns; /* CLOCK_REALTIME ns at the same instant */
};

enum gp_tap_kind {
	GP_TAP_OPEN = 1,  /* a producer connection of process pid opened (no data) */
	GP_TAP_FRAME = 2, /* one frame of the connection: len bytes as received */
	GP_TAP_CLOSE = 3, /* the connection closed (no data) */
};

struct gp_tap_entry {
	uint32_t kind; /* enum gp_tap_kind */
	uint32_t conn; /* connection number, from 1 */
	uint32_t pid;  /* the connection's process (0 until its first frame says) */
	uint32_t len;  /* GP_TAP_FRAME: the message length as received (it may exceed
			  GP_FRAME_MAX: then GP_FRAME_MAX bytes follow); else 0 */
};

/* Bytes of frame data stored after an entry of message length len (before padding). */
static inline uint32_t gp_tap_stored(uint32_t len)
{
	return len > GP_FRAME_MAX ? GP_FRAME_MAX : len;
}

struct gp_tap; /* an open tap file being written */

/* Create the tap file path (O_EXCL: an existing file is an error, nothing overwritten)
 * and write its header.  NULL after one error line and a hint. */
struct gp_tap *gp_tap_create(const char *path, uint64_t session_start_ns,
			     int64_t session_start_utc_ns);
/* Append one entry (data: len bytes of a frame, GP_TAP_FRAME only; NULL otherwise).  A
 * write that fails is counted, not retried: gp_tap_close() says how many. */
void gp_tap_write(struct gp_tap *t, uint32_t kind, uint32_t conn, uint32_t pid, const void *data,
		  uint32_t len);
/* Flush and close t, free it.  0, or -1 after a warning line naming the file and the
 * entries that could not be written (and a hint). */
int gp_tap_close(struct gp_tap *t);

/* Callback of gp_tap_read(): one entry, data = its stored frame bytes (NULL for open and
 * close).  Return 0 to go on, non-zero to stop reading (gp_tap_read returns it). */
typedef int (*gp_tap_fn)(void *ctx, const struct gp_tap_entry *e, const void *data);

/* Read the tap file path: fill *hdr, then call fn for each entry in order.  Returns 0 at
 * the end of the file, fn's non-zero value, or -1 after one error line and a hint (cannot
 * open, not a tap file, another version, an entry cut short). */
int gp_tap_read(const char *path, struct gp_tap_hdr *hdr, gp_tap_fn fn, void *ctx);

/* Read only the header of the tap file path into *hdr.  0, or -1 after one error line and
 * a hint (as gp_tap_read). */
int gp_tap_read_hdr(const char *path, struct gp_tap_hdr *hdr);

/* Append one line (no newline) describing rec, sent by process pid: its type name (or
 * type=0x... when unknown), pid/tid, then its fields as name=value: timestamps in
 * CLOCK_MONOTONIC ns (*_ns), string ids (*_sid) as numbers, a string record's text
 * quoted with C escapes.  Fields this build does not describe are printed as the
 * record's payload in 64-bit hex words (data=...). */
void gp_rec_describe(struct strbuf *sb, uint32_t pid, const struct gp_rec_hdr *rec);

#endif
