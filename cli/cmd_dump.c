/*
 * cmd_dump.c - `gprof-cli dump [-o REPORT [-f]] FILE` (uftrace dump, perf report -D): the
 * raw frames a session's recorder received, written with GPROF_CLI_DUMP_FRAMES=FILE
 * (core/wire_tap.h), decoded one line per record; or, with -o, written into a report as
 * the recorder would have (core/recorder_sink.h recorder_replay_tap()).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmds.h"
#include "core/recorder.h"
#include "core/recorder_sink.h"
#include "core/util.h"
#include "core/wire_decode.h"
#include "core/wire_tap.h"

static void dump_help(FILE *f)
{
	fprintf(f, "usage: gprof-cli dump [options] <frames-file>\n"
		   "\n"
		   "Print the raw frames a session's recorder received (written by\n"
		   "GPROF_CLI_DUMP_FRAMES=<frames-file> gprof-cli profile ...), one line per\n"
		   "connection event and frame, and one per record: its type, pid/tid, then its\n"
		   "fields (timestamps in CLOCK_MONOTONIC ns, string ids as numbers).\n"
		   "\n"
		   "options:\n"
		   "  -o, --output=<report>         write the frames into this report instead, as\n"
		   "                                the recorder would have\n"
		   "  -f, --force-overwrite         replace an existing report\n"
		   "  -h, --help                    this text\n"
		   "\n"
		   "Exit status: 0; 1 the report could not be written; 2 bad command line; 3 the\n"
		   "frames file is missing, damaged or of another version; 4 the report exists\n"
		   "(no -f).  See 'man gprof-cli-dump'.\n");
}

static const struct option longopts[] = {
    {"output", required_argument, NULL, 'o'},
    {"force-overwrite", no_argument, NULL, 'f'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* What the dump keeps per connection (by its number) and in all. */
struct dump {
	struct gp_seq *seq; /* per connection number */
	size_t alloc;
	struct gp_decode_counts cnt;
	uint64_t conns;
	struct strbuf line;
	uint32_t pid; /* of the frame being decoded */
};

static int dump_record(void *ctx, const struct gp_rec_hdr *rec)
{
	struct dump *d = ctx;

	strbuf_reset(&d->line);
	strbuf_addstr(&d->line, "  ");
	gp_rec_describe(&d->line, d->pid, rec);
	puts(d->line.buf);
	return 0;
}

static int dump_entry(void *ctx, const struct gp_tap_entry *e, const void *data)
{
	struct dump *d = ctx;

	if (e->conn >= d->alloc) {
		size_t old = d->alloc;

		GP_ALLOC_GROW(d->seq, (size_t)e->conn + 1, d->alloc);
		memset(d->seq + old, 0, (d->alloc - old) * sizeof(*d->seq));
	}
	switch (e->kind) {
	case GP_TAP_OPEN:
		d->conns++;
		printf("open conn=%" PRIu32 " pid=%" PRIu32 "\n", e->conn, e->pid);
		break;
	case GP_TAP_CLOSE:
		printf("close conn=%" PRIu32 " pid=%" PRIu32 "\n", e->conn, e->pid);
		gp_seq_close(&d->seq[e->conn], &d->cnt);
		memset(&d->seq[e->conn], 0, sizeof(d->seq[0]));
		break;
	default: {
		struct gp_frame_hdr fh;

		memset(&fh, 0, sizeof(fh));
		memcpy(&fh, data, e->len < sizeof(fh) ? e->len : sizeof(fh));
		printf("frame conn=%" PRIu32 " pid=%" PRIu32 " seq=%" PRIu64 " bytes=%" PRIu32 "\n",
		       e->conn, fh.pid, fh.seq, e->len);
		d->pid = fh.pid;
		if (gp_decode_frame(data, e->len, &d->seq[e->conn], &d->cnt, dump_record, d) < 0)
			puts("  (bad frame: refused from here on, as the recorder does)");
		break;
	}
	}
	return 0;
}

int cmd_dump(int argc, char **argv)
{
	const char *output = NULL;
	struct gp_tap_hdr hdr;
	struct dump d;
	int c, force = 0, ret;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:fh", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case 'f':
			force = 1;
			break;
		case 'h':
			dump_help(stdout);
			return GP_EXIT_OK;
		default:
			return gp_option_error("dump", c == ':', argv[optind - 1]);
		}
	}
	if (optind + 1 != argc) {
		error(optind == argc ? "no frames file given" : "more than one frames file given");
		hint("gprof-cli dump <frames-file>; write one with GPROF_CLI_DUMP_FRAMES=<file> "
		     "gprof-cli profile ...");
		return GP_EXIT_USAGE;
	}
	if (output) {
		struct recorder_stats st;

		if (gp_tap_read_hdr(argv[optind], &hdr) < 0)
			return GP_EXIT_BAD_INPUT;
		if (!force && access(output, F_OK) == 0) {
			error("report '%s' exists", output);
			hint("remove it, name another with -o, or replace it with -f");
			return GP_EXIT_OUTPUT;
		}
		memset(&st, 0, sizeof(st));
		ret = recorder_replay_tap(argv[optind], output, force, NULL, &st);
		recorder_stats_release(&st);
		return ret < 0 ? GP_EXIT_ERROR : GP_EXIT_OK;
	}
	memset(&d, 0, sizeof(d));
	strbuf_init(&d.line, 256);
	ret = gp_tap_read(argv[optind], &hdr, dump_entry, &d);
	if (ret == 0)
		printf("# %" PRIu64 " connections, %" PRIu64 " frames (%" PRIu64 " bad, %" PRIu64
		       " lost), %" PRIu64 " records; session start %" PRIu64
		       " ns (CLOCK_MONOTONIC), %" PRId64 " ns (UTC)\n",
		       d.conns, d.cnt.frames, d.cnt.bad_frames, d.cnt.lost_frames, d.cnt.records,
		       hdr.session_start_ns, hdr.session_start_utc_ns);
	strbuf_release(&d.line);
	free(d.seq);
	if (fflush(stdout) != 0) {
		error("cannot write the dump: %s", strerror(errno));
		hint("check where standard output goes (disk full?)");
		return GP_EXIT_ERROR;
	}
	return ret < 0 ? GP_EXIT_BAD_INPUT : GP_EXIT_OK;
}
