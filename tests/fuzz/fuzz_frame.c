/*
 * fuzz_frame.c - libFuzzer target for frame decoding (core/recorder.c gp_decode_frame).
 *
 * Input: a sequence of messages, each a little-endian u16 length followed by that many
 * bytes (the last one takes what is left), decoded in order as the frames of one
 * connection, as the recorder's writer does.  The callback reads every byte of each
 * record it is given (ASan sees an over-read) and refuses some types, the way a table
 * module does.  Checked after each input: every message counted once (valid or bad),
 * records accepted <= what fits in the frames, and the connection's lost-frame count
 * stays below GP_SEQ_JUMP_MAX per frame (no crafted 2^64 loss).
 *
 * Built and run by `make check-fuzz` (tests/fuzz/run-fuzz.sh); seeds in
 * tests/fuzz/corpus/frame/ (tests/fuzz/mkcorpus.c writes them).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/recorder_internal.h"
#include "core/wire.h"

static uint64_t sink;

static int on_record(void *ctx, const struct gp_rec_hdr *rec)
{
	const unsigned char *p = (const void *)rec;

	(void)ctx;
	for (size_t i = 0; i < rec->size; i++)
		sink += p[i];
	if (rec->type == 0x0ff0)
		return -1; /* unknown: a bad frame */
	if (rec->type == GP_REC_LOSS)
		return 1; /* refused by the module (counted there) */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint64_t buf[GP_FRAME_MAX / 8 + 1];
	struct gp_decode_counts cnt;
	struct gp_seq seq = {0};
	uint64_t msgs = 0, bytes = 0;

	memset(&cnt, 0, sizeof(cnt));
	while (size > 0) {
		size_t n = size;

		if (size >= 2) {
			n = (size_t)data[0] | (size_t)data[1] << 8;
			data += 2;
			size -= 2;
			if (n > size)
				n = size;
		}
		/* the recorder receives at most GP_FRAME_MAX bytes and passes the real
		 * message length (MSG_TRUNC): model an oversize message by its length */
		memcpy(buf, data, n < GP_FRAME_MAX ? n : GP_FRAME_MAX);
		gp_decode_frame(buf, n, &seq, &cnt, on_record, NULL);
		msgs++;
		bytes += n;
		data += n;
		size -= n;
	}
	gp_seq_close(&seq, &cnt);
	if (cnt.frames + cnt.bad_frames < msgs || cnt.frames > msgs)
		abort(); /* a message neither decoded nor counted bad, or counted twice */
	if (cnt.records > bytes / sizeof(struct gp_rec_hdr))
		abort();
	if (cnt.lost_frames > (msgs + 1) * GP_SEQ_JUMP_MAX)
		abort(); /* an implausible loss count got through */
	return 0;
}
