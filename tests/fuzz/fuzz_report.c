/*
 * fuzz_report.c - libFuzzer target for the report writer: frames decoded into a real
 * report (core/report*.c through gp_decode_frame) in a temporary folder, as the
 * recorder's writer thread does, then the report finished (META rows, indexes, close).
 *
 * Input: a sequence of operations.  Each starts with one byte: bits 0-1 pick one of four
 * connections (opened on first use, pid 1000 + index), bits 2-3 the operation:
 *   0  a frame: u16 length L (little endian), then L bytes of records; the target puts
 *      a valid frame header in front (magic, version, length, the connection's next seq)
 *   1  a raw message: u16 length L, then L bytes passed as received (header included)
 *   2  close the connection (its modules flush what they hold, e.g. open ranges)
 *   3  commit (report_commit, then a new transaction)
 * Records name times relative to the session start T0 as the producers' CLOCK_MONOTONIC
 * values would be.  libFuzzer's -malloc_limit_mb (tests/fuzz/run-fuzz.sh) turns any
 * single allocation above the recorder's memory bound into a failure.
 *
 * Speed: creating a report (every table, the ENUM rows) costs more than most inputs, so
 * one report takes REUSE inputs in a row (each input's connections are closed at its
 * end, so what it leaves behind is the report's interned strings and ids); the report is
 * then finished and a new one created.  To replay a failure alone run the target on the
 * one file: it is then the only input of its report.
 *
 * Seeds: tests/fuzz/corpus/report/ (tests/fuzz/mkcorpus.c).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/recorder.h"
#include "core/recorder_internal.h"
#include "core/report.h"
#include "core/util.h"
#include "core/wire.h"

#define T0    1000000000000ull /* session start, monotonic ns */
#define NCONN 4
#define REUSE 32

static char dir[] = "/dev/shm/gprof-fuzz-report-XXXXXX";
static char path[256];
static struct report *rep;
static unsigned uses;
static struct report_stats st;

static void finish_report(void)
{
	if (!rep)
		return;
	if (report_finish(rep, NULL, &st) < 0)
		abort();
	memset(&st, 0, sizeof(st)); /* (not_seen stays NULL: nothing owned) */
	report_unlink_files(path);
	rep = NULL;
}

static void remove_dir(void)
{
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/r.db", dir);
	atexit(remove_dir);
	atexit(finish_report); /* (runs first) */
	return 0;
}

struct fctx {
	struct report *rep;
	struct report_conn *rc;
};

static int on_record(void *ctx, const struct gp_rec_hdr *rec)
{
	struct fctx *x = ctx;

	return report_record(x->rep, x->rc, rec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint64_t buf[GP_FRAME_MAX / 8 + 1];
	struct report_conn *conns[NCONN] = {0};
	struct gp_seq seqs[NCONN];
	uint64_t next_seq[NCONN] = {0};
	struct gp_decode_counts cnt;
	struct report_config cfg;

	if (!rep) {
		memset(&cfg, 0, sizeof(cfg));
		cfg.path = path;
		cfg.force_overwrite = 1;
		cfg.session_start_ns = T0;
		cfg.session_start_utc_ns = 1700000000000000000ll;
		rep = report_open(&cfg);
		if (!rep)
			abort();
	}
	memset(&cnt, 0, sizeof(cnt));
	memset(seqs, 0, sizeof(seqs));
	report_begin(rep);
	while (size > 0) {
		unsigned k = data[0] & 3, op = (data[0] >> 2) & 3;
		size_t n = 0;

		data++;
		size--;
		if (op <= 1) {
			if (size < 2)
				break;
			n = (size_t)data[0] | (size_t)data[1] << 8;
			data += 2;
			size -= 2;
			if (n > size)
				n = size;
		}
		if (op == 2) {
			if (conns[k]) {
				report_conn_close(rep, conns[k]);
				gp_seq_close(&seqs[k], &cnt);
				conns[k] = NULL;
				memset(&seqs[k], 0, sizeof(seqs[k]));
				next_seq[k] = 0;
			}
			continue;
		}
		if (op == 3) {
			report_commit(rep);
			report_begin(rep);
			continue;
		}
		if (!conns[k])
			conns[k] = report_conn_open(rep, 1000 + k);
		if (op == 0) {
			struct gp_frame_hdr *fh = (void *)buf;
			size_t room = GP_FRAME_MAX - sizeof(*fh), len = n < room ? n : room;

			fh->magic = GP_WIRE_MAGIC;
			fh->version = GP_WIRE_VERSION;
			fh->type = GP_FRAME_RECORDS;
			fh->length = (uint32_t)len;
			fh->pid = 1000 + k;
			fh->seq = next_seq[k]++;
			memcpy(fh + 1, data, len);
			struct fctx x = {rep, conns[k]};
			gp_decode_frame(buf, sizeof(*fh) + len, &seqs[k], &cnt, on_record, &x);
		} else {
			struct fctx x = {rep, conns[k]};

			memcpy(buf, data, n < GP_FRAME_MAX ? n : GP_FRAME_MAX);
			gp_decode_frame(buf, n, &seqs[k], &cnt, on_record, &x);
		}
		data += n;
		size -= n;
	}
	for (unsigned k = 0; k < NCONN; k++)
		if (conns[k]) {
			report_conn_close(rep, conns[k]);
			gp_seq_close(&seqs[k], &cnt);
		}
	st.records += cnt.records;
	st.bad_frames += cnt.bad_frames;
	st.lost_frames += cnt.lost_frames;
	if (++uses % REUSE == 0)
		finish_report();
	else
		report_commit(rep);
	return 0;
}
