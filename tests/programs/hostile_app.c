/*
 * hostile_app.c - a target for tests/e2e/test_reliability.c: plays a damaged or forged
 * producer.  It connects to $GPROF_CLI_CHANNEL itself (no injection library needed) and
 * sends hand-made frames (core/wire.h), then exits 0.
 *
 *   hostile_app sid            one 72-byte frame defining string id 2^24-1 (the frame that
 *                              made the recorder allocate ~400 MB), and a mark naming it
 *   hostile_app ranges <N>     N start/end ranges started and never ended
 *   hostile_app startend <N>   N start/end ranges: all N starts, then all N ends
 *   hostile_app values         implausible fields: a loss count of 2^64-6, 402 push/pop
 *                              ranges that end before they start, a mark at time 2^64-1,
 *                              a CUDA device whose bandwidth overflows, a frame whose
 *                              sequence number claims 2^40 lost frames; and 10 good ranges
 *   hostile_app strings <N>    N distinct strings of 4000 bytes, each used by one mark
 *   hostile_app utf8           NVTX ranges named with invalid UTF-8, terminal escape
 *                              sequences and control characters (see TEXTS below)
 * Exit status 0, or 1 when the channel cannot be reached.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/wire.h"

static int fd;
static uint64_t seq;
static uint64_t frame[GP_FRAME_MAX / 8];
static size_t used = sizeof(struct gp_frame_hdr);

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void flush_frame(void)
{
	struct gp_frame_hdr *h = (void *)frame;

	if (used == sizeof(*h))
		return;
	h->magic = GP_WIRE_MAGIC;
	h->version = GP_WIRE_VERSION;
	h->type = GP_FRAME_RECORDS;
	h->length = (uint32_t)(used - sizeof(*h));
	h->pid = (uint32_t)getpid();
	h->seq = seq++;
	if (send(fd, frame, used, 0) != (ssize_t)used) {
		perror("hostile_app: send");
		exit(1);
	}
	used = sizeof(*h);
}

static void *rec(uint16_t type, size_t size)
{
	struct gp_rec_hdr *r;

	size = GP_REC_ALIGN(size);
	if (used + size > sizeof(frame))
		flush_frame();
	r = (void *)((char *)frame + used);
	memset(r, 0, size);
	r->type = type;
	r->size = (uint16_t)size;
	r->tid = (uint32_t)getpid();
	used += size;
	return r;
}

static void string(uint32_t id, const char *s, size_t len)
{
	struct gp_rec_string *r = rec(GP_REC_STRING, sizeof(*r) + len);

	r->id = id;
	r->len = (uint32_t)len;
	memcpy(r->text, s, len);
}

static void range(uint64_t t0, uint64_t t1, uint32_t sid)
{
	struct gp_rec_nvtx *e = rec(GP_REC_NVTX_EVENT, sizeof(*e));

	e->start_ns = t0;
	e->end_ns = t1;
	e->text_sid = sid;
	e->flags = GP_NVTX_PUSHPOP;
}

static void connect_channel(void)
{
	const char *path = getenv(GP_ENV_CHANNEL);
	struct sockaddr_un sa;
	struct gp_rec_hello *h;

	fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (!path || strlen(path) >= sizeof(sa.sun_path) || fd < 0) {
		fprintf(stderr, "hostile_app: no channel\n");
		exit(1);
	}
	strcpy(sa.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("hostile_app: connect");
		exit(1);
	}
	h = rec(GP_REC_HELLO, sizeof(*h));
	h->pid = (uint32_t)getpid();
	h->ppid = (uint32_t)getppid();
	h->collector = GP_COLLECTOR_INJECT;
	h->exe_sid = 1;
	h->start_ns = now_ns();
	string(1, "hostile_app", 11);
}

/* The texts of `utf8` mode, one range each. */
#define T(lit)                                                                                     \
	{                                                                                          \
		lit, sizeof(lit) - 1                                                               \
	}
static const struct {
	const char *s;
	size_t len;
} TEXTS[] = {
    T("bad \xff\xfe bytes"),
    T("\x1b[31mred\x1b[0m \x1b]0;title\x07"),
    T("line\nbreak\ttab\rcr"),
    T("cut \xe2\x82"),
    T("surrogate \xed\xa0\x80"),
    T("overlong \xc0\xaf"),
    T("c1 \xc2\x9b"
      "31m"),
    T("ok \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 \"quoted\",comma"),
};

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	uint64_t t0;

	connect_channel();
	t0 = now_ns();
	if (!strcmp(mode, "sid")) {
		flush_frame();
		string((1u << 24) - 1, "crafted!", 8); /* 24 + 16 + 8 + the header = 72 bytes */
		flush_frame();
		range(t0, t0 + 1000, (1u << 24) - 1);
	} else if (!strcmp(mode, "ranges") && argc > 2) {
		uint64_t n = strtoull(argv[2], NULL, 10);

		for (uint64_t i = 1; i <= n; i++) {
			struct gp_rec_nvtx *e = rec(GP_REC_NVTX_START, sizeof(*e));

			e->start_ns = t0 + i;
			e->range_id = i;
		}
	} else if (!strcmp(mode, "startend") && argc > 2) {
		uint64_t n = strtoull(argv[2], NULL, 10);

		for (uint64_t i = 1; i <= n; i++) {
			struct gp_rec_nvtx *e = rec(GP_REC_NVTX_START, sizeof(*e));

			e->start_ns = t0 + i;
			e->range_id = i;
		}
		for (uint64_t i = 1; i <= n; i++) {
			struct gp_rec_nvtx_end *e = rec(GP_REC_NVTX_END, sizeof(*e));

			e->end_ns = t0 + n + i;
			e->range_id = i;
		}
	} else if (!strcmp(mode, "values")) {
		struct gp_rec_loss *l = rec(GP_REC_LOSS, sizeof(*l));
		struct gp_rec_cuda_device *d;
		struct gp_rec_nvtx *m;

		l->dropped_records = UINT64_MAX - 5;
		for (int i = 0; i < 402; i++)
			range(t0 + 1000 + (uint64_t)i, t0 + (uint64_t)i, 0);
		m = rec(GP_REC_NVTX_EVENT, sizeof(*m));
		m->start_ns = m->end_ns = UINT64_MAX;
		d = rec(GP_REC_CUDA_DEVICE, sizeof(*d));
		d->global_memory_bandwidth = UINT64_MAX / 3;
		for (int i = 0; i < 10; i++)
			range(t0 + 100 * (uint64_t)i, t0 + 100 * (uint64_t)i + 50, 1);
		flush_frame();
		seq = 1ull << 40; /* "2^40 frames lost": refused as a bad frame */
		range(t0, t0 + 1, 0);
		flush_frame();
	} else if (!strcmp(mode, "strings") && argc > 2) {
		uint32_t n = (uint32_t)strtoul(argv[2], NULL, 10);
		static char text[GP_STRING_MAX];

		for (uint32_t i = 0; i < n; i++) {
			memset(text, 'a' + (int)(i % 26), sizeof(text));
			snprintf(text, 16, "%010u", i);
			text[10] = ' ';
			string(2 + i, text, sizeof(text));
			range(t0 + i, t0 + i + 1, 2 + i);
		}
	} else if (!strcmp(mode, "utf8")) {
		for (uint32_t i = 0; i < sizeof(TEXTS) / sizeof(TEXTS[0]); i++) {
			string(10 + i, TEXTS[i].s, TEXTS[i].len);
			range(t0 + 1000 * i, t0 + 1000 * i + 500, 10 + i);
		}
	} else {
		fprintf(stderr,
			"usage: hostile_app sid|ranges N|startend N|values|strings N|utf8\n");
		return 2;
	}
	flush_frame();
	close(fd);
	return 0;
}
