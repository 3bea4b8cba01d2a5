/*
 * serve_app - a "server" that runs until told to stop, for the interactive-session tests
 * (tests/e2e/test_sessions.c): it serves requests sent by the test through a FIFO, so
 * that the test knows exactly which requests fall inside a collection window.
 *
 * usage: serve_app CMD_FIFO ACK_FIFO
 *   Opens CMD_FIFO for reading, then ACK_FIFO for writing (the test opens them in the
 *   same order), then reads one command per line:
 *     req N   serve N requests; request i (numbered from 1 over the whole run) is one
 *             NVTX push/pop range "request" holding a mark "req" with int64 payload i
 *             and one 200 us nanosleep() (an OSRT_API row); then writes "ok I\n" to
 *             ACK_FIFO, I being the last request's number;
 *     quit    exit 0 (after "bye\n").
 *   End of file on CMD_FIFO also exits 0.  Nothing else makes NVTX events; the only
 *   other OS runtime calls are the FIFO reads and writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nvtx3/nvToolsExt.h>

static void serve(long i)
{
	nvtxEventAttributes_t a;
	struct timespec ts = {0, 200000};

	nvtxRangePushA("request");
	memset(&a, 0, sizeof(a));
	a.version = NVTX_VERSION;
	a.size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
	a.messageType = NVTX_MESSAGE_TYPE_ASCII;
	a.message.ascii = "req";
	a.payloadType = NVTX_PAYLOAD_TYPE_INT64;
	a.payload.llValue = i;
	nvtxMarkEx(&a);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	nvtxRangePop();
}

int main(int argc, char **argv)
{
	char line[128];
	long served = 0;
	FILE *in, *out;

	if (argc != 3) {
		fprintf(stderr, "usage: serve_app CMD_FIFO ACK_FIFO\n");
		return 2;
	}
	in = fopen(argv[1], "r");
	out = in ? fopen(argv[2], "w") : NULL;
	if (!in || !out) {
		perror("serve_app: open");
		return 1;
	}
	while (fgets(line, sizeof(line), in)) {
		long n;

		if (!strncmp(line, "quit", 4)) {
			fprintf(out, "bye\n");
			fflush(out);
			return 0;
		}
		if (sscanf(line, "req %ld", &n) != 1 || n < 0) {
			fprintf(stderr, "serve_app: bad command '%s'\n", line);
			return 2;
		}
		while (n-- > 0)
			serve(++served);
		fprintf(out, "ok %ld\n", served);
		fflush(out);
	}
	return 0;
}
