/*
 * test_wire.c - frame and record validation of the recorder (gp_decode_frame in
 * core/recorder.c): good frames, bad magic/version/type/length, torn and short
 * records, unknown types, oversize messages, sequence gaps and reordering.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "core/recorder_internal.h"
#include "core/wire.h"

struct frame {
	uint64_t buf[GP_FRAME_MAX / 8 + 8];
	size_t len;
};

static struct gp_frame_hdr *hdr(struct frame *f)
{
	return (struct gp_frame_hdr *)f->buf;
}

static void frame_init(struct frame *f, uint64_t seq)
{
	memset(f, 0, sizeof(*f));
	hdr(f)->magic = GP_WIRE_MAGIC;
	hdr(f)->version = GP_WIRE_VERSION;
	hdr(f)->type = GP_FRAME_RECORDS;
	hdr(f)->pid = 42;
	hdr(f)->seq = seq;
	f->len = sizeof(struct gp_frame_hdr);
}

/* Append a record of `type` and `size` bytes (header filled, payload zero). */
static void *frame_add(struct frame *f, uint16_t type, uint16_t size)
{
	struct gp_rec_hdr *h = (struct gp_rec_hdr *)((char *)f->buf + f->len);

	h->type = type;
	h->size = size;
	h->tid = 7;
	f->len += size;
	hdr(f)->length = (uint32_t)(f->len - sizeof(struct gp_frame_hdr));
	return h;
}

/* Record sink: accepts the types gp_rec_min_size knows, remembers their types. */
struct sink {
	int n;
	uint16_t types[64];
};

static int sink_fn(void *ctx, const struct gp_rec_hdr *rec)
{
	struct sink *s = ctx;

	if (gp_rec_min_size(rec->type) == 0)
		return -1;
	if (s->n < 64)
		s->types[s->n] = rec->type;
	s->n++;
	return 0;
}

/* Refuses GP_REC_LOSS records (counted by the callback, as report_count_bad_record()
 * does); accepts the others like sink_fn. */
static int refusing_fn(void *ctx, const struct gp_rec_hdr *rec)
{
	if (rec->type == GP_REC_LOSS)
		return 1;
	return sink_fn(ctx, rec);
}

static void add_nvtx(struct frame *f)
{
	frame_add(f, GP_REC_NVTX_EVENT, sizeof(struct gp_rec_nvtx));
}

static void test_good_frame(void **state)
{
	static struct frame f;
	struct gp_decode_counts cnt = {0};
	struct gp_seq seq = {0};
	struct sink s = {0};
	struct gp_rec_string *str;

	frame_init(&f, 0);
	add_nvtx(&f);
	str = frame_add(&f, GP_REC_STRING, GP_REC_ALIGN(sizeof(struct gp_rec_string) + 5));
	str->id = 1;
	str->len = 5;
	memcpy(str->text, "hello", 5);
	frame_add(&f, GP_REC_OSRT, sizeof(struct gp_rec_osrt));
	assert_int_equal(gp_decode_frame(f.buf, f.len, &seq, &cnt, sink_fn, &s), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.types[0], GP_REC_NVTX_EVENT);
	assert_int_equal(s.types[1], GP_REC_STRING);
	assert_int_equal(s.types[2], GP_REC_OSRT);
	assert_int_equal(cnt.frames, 1);
	assert_int_equal(cnt.records, 3);
	assert_int_equal(cnt.bad_frames, 0);
	gp_seq_close(&seq, &cnt);
	assert_int_equal(cnt.lost_frames, 0);
}

static void expect_bad(struct frame *f, size_t len, int want_records)
{
	struct gp_decode_counts cnt = {0};
	struct gp_seq seq = {0};
	struct sink s = {0};

	assert_int_equal(gp_decode_frame(f->buf, len, &seq, &cnt, sink_fn, &s), -1);
	assert_int_equal(cnt.bad_frames, 1);
	assert_int_equal(cnt.records, want_records);
	assert_int_equal(s.n, want_records);
}

static void test_bad_header(void **state)
{
	static struct frame f;

	frame_init(&f, 0);
	add_nvtx(&f);
	hdr(&f)->magic = 0x12345678;
	expect_bad(&f, f.len, 0);

	frame_init(&f, 0);
	add_nvtx(&f);
	hdr(&f)->version = GP_WIRE_VERSION + 1;
	expect_bad(&f, f.len, 0);

	frame_init(&f, 0);
	add_nvtx(&f);
	hdr(&f)->type = 99;
	expect_bad(&f, f.len, 0);

	/* length says more than was received, and less */
	frame_init(&f, 0);
	add_nvtx(&f);
	expect_bad(&f, f.len - 8, 0);
	frame_init(&f, 0);
	add_nvtx(&f);
	hdr(&f)->length -= 8;
	expect_bad(&f, f.len, 0);

	/* shorter than a frame header */
	frame_init(&f, 0);
	expect_bad(&f, 10, 0);
}

static void test_oversize(void **state)
{
	static struct frame f;

	frame_init(&f, 0);
	add_nvtx(&f);
	/* the message was longer than GP_FRAME_MAX (recv MSG_TRUNC reports the real size) */
	hdr(&f)->length = GP_FRAME_MAX + 100 - sizeof(struct gp_frame_hdr);
	expect_bad(&f, GP_FRAME_MAX + 100, 0);
}

static void test_torn_records(void **state)
{
	static struct frame f;
	struct gp_rec_hdr *h;

	/* size not a multiple of 8: first record good, second torn, third skipped */
	frame_init(&f, 0);
	add_nvtx(&f);
	h = frame_add(&f, GP_REC_OSRT, sizeof(struct gp_rec_osrt));
	h->size = sizeof(struct gp_rec_osrt) - 4;
	add_nvtx(&f);
	expect_bad(&f, f.len, 1);

	/* size 0 */
	frame_init(&f, 0);
	h = frame_add(&f, GP_REC_NVTX_EVENT, sizeof(struct gp_rec_nvtx));
	h->size = 0;
	expect_bad(&f, f.len, 0);

	/* record runs past the end of the frame */
	frame_init(&f, 0);
	add_nvtx(&f);
	h = frame_add(&f, GP_REC_NVTX_EVENT, sizeof(struct gp_rec_nvtx));
	h->size = sizeof(struct gp_rec_nvtx) + 64;
	expect_bad(&f, f.len, 1);

	/* known type shorter than its struct */
	frame_init(&f, 0);
	frame_add(&f, GP_REC_OSRT, 16);
	expect_bad(&f, f.len, 0);

	/* unknown type */
	frame_init(&f, 0);
	add_nvtx(&f);
	frame_add(&f, 0x0fff, 16);
	expect_bad(&f, f.len, 1);

	/* trailing bytes that are not a whole record header */
	frame_init(&f, 0);
	add_nvtx(&f);
	f.len += 4;
	hdr(&f)->length += 4;
	expect_bad(&f, f.len, 1);
}

static void test_seq_gap_and_reorder(void **state)
{
	static struct frame f;
	struct gp_decode_counts cnt = {0};
	struct gp_seq seq = {0};
	struct sink s = {0};
	uint64_t order[] = {0, 1, 3, 2, 7, 8}; /* 4, 5, 6 never arrive */
	size_t i;

	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		frame_init(&f, order[i]);
		add_nvtx(&f);
		assert_int_equal(gp_decode_frame(f.buf, f.len, &seq, &cnt, sink_fn, &s), 0);
	}
	assert_int_equal(cnt.frames, 6);
	assert_int_equal(cnt.records, 6);
	assert_int_equal(cnt.bad_frames, 0);
	gp_seq_close(&seq, &cnt);
	assert_int_equal(cnt.lost_frames, 3);
}

static void test_min_sizes(void **state)
{
	assert_int_equal(gp_rec_min_size(GP_REC_HELLO), sizeof(struct gp_rec_hello));
	assert_int_equal(gp_rec_min_size(GP_REC_NVTX_START), sizeof(struct gp_rec_nvtx));
	assert_int_equal(gp_rec_min_size(GP_REC_OSRT), sizeof(struct gp_rec_osrt));
	assert_int_equal(gp_rec_min_size(GP_REC_OVERHEAD), 32);
	assert_int_equal(sizeof(struct gp_rec_overhead), 32);
	assert_int_equal(gp_rec_min_size(0x0fff), 0);
	assert_int_equal(sizeof(struct gp_frame_hdr), 24);
	assert_int_equal(sizeof(struct gp_rec_nvtx) % 8, 0);
	assert_int_equal(sizeof(struct gp_rec_osrt) % 8, 0);
	/* NVTX extended payloads: the sizes wire.h states, all multiples of 8 */
	assert_int_equal(gp_rec_min_size(GP_REC_NVTX_SCHEMA), 48);
	assert_int_equal(sizeof(struct gp_rec_nvtx_schema), 48);
	assert_int_equal(sizeof(struct gp_nvtx_schema_entry), 32);
	assert_int_equal(gp_rec_min_size(GP_REC_NVTX_ENUM), 32);
	assert_int_equal(sizeof(struct gp_rec_nvtx_enum), 32);
	assert_int_equal(sizeof(struct gp_nvtx_enum_entry), 16);
	assert_int_equal(gp_rec_min_size(GP_REC_NVTX_UNSENT), 16);
	assert_int_equal(sizeof(struct gp_nvtx_ext), 8);
	assert_int_equal(sizeof(struct gp_nvtx_ext_block), 16);
	assert_int_equal(GP_NVTX_EXT_BYTES_MAX % 8, 0);
	/* the largest record of each fits a record's 16-bit size */
	assert_true(sizeof(struct gp_rec_nvtx) + sizeof(struct gp_nvtx_ext) +
			GP_NVTX_EXT_MAX *
			    (sizeof(struct gp_nvtx_ext_block) + GP_NVTX_EXT_BYTES_MAX) <=
		    UINT16_MAX);
	assert_true(sizeof(struct gp_rec_nvtx_schema) +
			GP_NVTX_SCHEMA_ENTRIES_MAX * sizeof(struct gp_nvtx_schema_entry) <=
		    UINT16_MAX);
	assert_true(sizeof(struct gp_rec_nvtx_enum) +
			GP_NVTX_ENUM_ENTRIES_MAX * sizeof(struct gp_nvtx_enum_entry) <=
		    UINT16_MAX);
	/* schemas and enums are state: they pass the capture gate */
	assert_true(gp_rec_is_state(GP_REC_NVTX_SCHEMA));
	assert_true(gp_rec_is_state(GP_REC_NVTX_ENUM));
	assert_false(gp_rec_is_state(GP_REC_NVTX_UNSENT));
}

/* A record the callback refuses is skipped and not counted (the frame goes on, it is no
 * bad frame); a sequence number GP_SEQ_JUMP_MAX past the highest seen is a bad frame,
 * so a crafted one cannot claim 2^64 lost frames. */
static void test_refused_record_and_seq_jump(void **state)
{
	static struct frame f;
	struct gp_decode_counts cnt = {0};
	struct gp_seq seq = {0};
	struct sink s = {0};

	frame_init(&f, 0);
	add_nvtx(&f);
	frame_add(&f, GP_REC_LOSS, sizeof(struct gp_rec_loss));
	add_nvtx(&f);
	assert_int_equal(gp_decode_frame(f.buf, f.len, &seq, &cnt, refusing_fn, &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(cnt.records, 2);
	assert_int_equal(cnt.bad_frames, 0);
	assert_int_equal(cnt.block_records[1], 2);

	frame_init(&f, 1 + GP_SEQ_JUMP_MAX);
	add_nvtx(&f);
	assert_int_equal(gp_decode_frame(f.buf, f.len, &seq, &cnt, refusing_fn, &s), -1);
	assert_int_equal(cnt.bad_frames, 1);
	assert_int_equal(s.n, 2);
	frame_init(&f, GP_SEQ_JUMP_MAX); /* the largest jump still taken */
	add_nvtx(&f);
	assert_int_equal(gp_decode_frame(f.buf, f.len, &seq, &cnt, refusing_fn, &s), 0);
	gp_seq_close(&seq, &cnt);
	assert_int_equal(cnt.lost_frames, GP_SEQ_JUMP_MAX - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_frame),
	    cmocka_unit_test(test_bad_header),
	    cmocka_unit_test(test_oversize),
	    cmocka_unit_test(test_torn_records),
	    cmocka_unit_test(test_seq_gap_and_reorder),
	    cmocka_unit_test(test_min_sizes),
	    cmocka_unit_test(test_refused_record_and_seq_jump),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
