/*
 * wire_decode.h - reading the wire format (wire.h) back: frame validation, records
 * handed to a callback one by one, per-connection sequence tracking and the minimum
 * sizes of the common record types.  The wire layer: the recorder (core/recorder.c),
 * the report writer (core/report.c, whose modules check record sizes), the fuzz
 * targets and the tests use it; it uses nothing above wire.h.
 */
#ifndef GPROF_WIRE_DECODE_H
#define GPROF_WIRE_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* Record type blocks counted per block by gp_decode_frame(): type >> 8 below this
 * (wire.h: 0 common, 1 nvtx, 2 osrt, 3 cuda, 4 gpu-metrics, ...). */
#define GP_DECODE_BLOCKS 16

/* Counters updated by gp_decode_frame(). */
struct gp_decode_counts {
	uint64_t frames;      /* frames whose header was valid */
	uint64_t records;     /* records the callback accepted (not those it refused) */
	uint64_t bad_frames;  /* bad header, or a torn / unknown / short record */
	uint64_t lost_frames; /* frames missing by sequence number (see gp_seq_close) */
	/* accepted records per type block (type >> 8), and of those the events (records
	 * for which wire.h gp_rec_is_state() is false): what a collector saw at all */
	uint64_t block_records[GP_DECODE_BLOCKS];
	uint64_t block_events[GP_DECODE_BLOCKS];
};

/* Per-connection sequence tracking.  Frames of one connection may arrive out of order
 * (several producer threads send on one socket, each frame's seq taken before its
 * send), so loss is counted when the connection closes: frames missing below the
 * highest sequence number seen. */
struct gp_seq {
	uint64_t end;	 /* highest seq seen + 1 */
	uint64_t frames; /* valid frames received */
};

/* A frame whose seq is this far or more past the highest seen so far is refused as bad
 * (a producer numbers its frames 0, 1, 2, ...: a crafted seq would claim 2^64 lost). */
#define GP_SEQ_JUMP_MAX (1ull << 20)

/* Add the frames a closed connection lost (seq->end - seq->frames) to cnt. */
void gp_seq_close(const struct gp_seq *seq, struct gp_decode_counts *cnt);

/* Callback for one framed record; returns 0 (accepted), a positive value when it refused
 * the record and counted that itself (report.h REPORT_REC_REFUSED: the record is skipped,
 * the frame goes on), or -1 when the record is unknown or bad (a bad frame). */
typedef int (*gp_rec_fn)(void *ctx, const struct gp_rec_hdr *rec);

/*
 * Validate one received frame and hand its records to fn in order.
 *   buf, nbytes: the message as received (nbytes is the real message length, which may
 *                exceed GP_FRAME_MAX when recv() truncated it: only min(nbytes,
 *                GP_FRAME_MAX) bytes of buf are read);
 *   seq:         the connection's sequence tracking (see struct gp_seq).
 * Frame checks: size >= header, <= GP_FRAME_MAX, magic, version, type,
 * header.length == nbytes - header, and seq < seq->end + GP_SEQ_JUMP_MAX.  Record
 * checks: size >= 8, multiple of 8, fits in the frame, and >= gp_rec_min_size() for the
 * types it knows; then fn decides.
 * Returns 0 when the whole frame was good, -1 when it counted a bad frame (records
 * before the bad one were delivered; the rest of the frame is skipped).
 */
int gp_decode_frame(const void *buf, size_t nbytes, struct gp_seq *seq,
		    struct gp_decode_counts *cnt, gp_rec_fn fn, void *ctx);

/* Smallest valid size (bytes, header included) of a common/nvtx/osrt record type from
 * wire.h, or 0 for a type this table does not know (e.g. cuda: its module checks). */
size_t gp_rec_min_size(uint16_t type);

#endif
