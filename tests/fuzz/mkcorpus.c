/*
 * mkcorpus.c - write the fuzzers' seed corpus (tests/fuzz/corpus/frame/, .../report/)
 * from the wire structs of core/wire*.h, so the seeds follow the wire format when it
 * changes: `make fuzz-corpus` rebuilds and reruns it; the output is committed.
 *
 * Usage: mkcorpus DIR  (writes DIR/frame/NAME and DIR/report/NAME; DIR/frame and
 * DIR/report must exist).  Formats: tests/fuzz/fuzz_frame.c, tests/fuzz/fuzz_report.c.
 * Seeds: every record type with plausible values (basic, cuda, mpi, metrics), and the
 * hostile inputs of issue 18 (string id 2^24-1, loss counts near 2^64, end before start,
 * a device bandwidth that overflows, never-ended start/end ranges, invalid UTF-8).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/wire.h"

#define T0 1000000000000ull /* the fuzzers' session start */

static unsigned char out[1 << 20]; /* the seed being built */
static size_t out_len;
static unsigned char rec[GP_FRAME_MAX]; /* the records of the frame being built */
static size_t rec_len;

static void *add(uint16_t type, size_t size, uint32_t tid)
{
	struct gp_rec_hdr *h;

	size = GP_REC_ALIGN(size);
	if (rec_len + size > sizeof(rec) - sizeof(struct gp_frame_hdr))
		abort();
	h = (void *)(rec + rec_len);
	memset(h, 0, size);
	h->type = type;
	h->size = (uint16_t)size;
	h->tid = tid;
	rec_len += size;
	return h;
}

static void string(uint32_t id, const char *s, size_t len)
{
	struct gp_rec_string *r = add(GP_REC_STRING, sizeof(*r) + len, 7);

	r->id = id;
	r->len = (uint32_t)len;
	memcpy(r->text, s, len);
}

static void str(uint32_t id, const char *s)
{
	string(id, s, strlen(s));
}

static void put(const void *p, size_t n)
{
	if (out_len + n > sizeof(out))
		abort();
	memcpy(out + out_len, p, n);
	out_len += n;
}

static void put_u16(size_t n)
{
	unsigned char b[2] = {(unsigned char)n, (unsigned char)(n >> 8)};
	put(b, 2);
}

/* fuzz_frame: one whole message (header included) per frame. */
static void frame_msg(uint64_t seq)
{
	struct gp_frame_hdr fh = {
	    GP_WIRE_MAGIC, GP_WIRE_VERSION, GP_FRAME_RECORDS, (uint32_t)rec_len, 1000, seq};

	put_u16(sizeof(fh) + rec_len);
	put(&fh, sizeof(fh));
	put(rec, rec_len);
	rec_len = 0;
}

/* fuzz_report: operation byte for connection k, then the records (header added there). */
static void report_frame(unsigned k)
{
	unsigned char op = (unsigned char)(k & 3);

	put(&op, 1);
	put_u16(rec_len);
	put(rec, rec_len);
	rec_len = 0;
}

static void report_op(unsigned k, unsigned op)
{
	unsigned char b = (unsigned char)((k & 3) | (op & 3) << 2);
	put(&b, 1);
}

static void save(const char *dir, const char *kind, const char *name)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, kind, name);
	f = fopen(path, "wb");
	if (!f || fwrite(out, 1, out_len, f) != out_len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	out_len = 0;
}

static void hello(uint32_t pid, uint32_t collector)
{
	struct gp_rec_hello *h = add(GP_REC_HELLO, sizeof(*h), pid);

	h->pid = pid;
	h->ppid = 1;
	h->collector = collector;
	h->exe_sid = 1;
	h->cmdline_sid = 2;
	h->start_ns = T0 + 10;
	str(1, "app");
	str(2, "app --flag");
}

static struct gp_rec_nvtx *nvtx(uint16_t type, uint64_t t0, uint64_t t1, uint64_t id, uint32_t sid,
				uint16_t flags)
{
	struct gp_rec_nvtx *e = add(type, sizeof(*e), 7);

	e->start_ns = t0;
	e->end_ns = t1;
	e->range_id = id;
	e->text_sid = sid;
	e->flags = flags;
	return e;
}

static void nvtx_end(uint64_t t, uint64_t id)
{
	struct gp_rec_nvtx_end *e = add(GP_REC_NVTX_END, sizeof(*e), 8);

	e->end_ns = t;
	e->range_id = id;
}

static void basic_records(void)
{
	hello(1000, GP_COLLECTOR_INJECT);
	str(3, "step");
	str(4, "domain");
	str(5, "read");
	str(6, "worker");
	nvtx(GP_REC_NVTX_EVENT, T0 + 100, T0 + 200, 0, 3, GP_NVTX_PUSHPOP);
	nvtx(GP_REC_NVTX_EVENT, T0 + 150, T0 + 150, 0, 3, 0)->payload_type = GP_NVTX_PAYLOAD_U64;
	nvtx(GP_REC_NVTX_EVENT, T0 + 160, 0, 0, 3, GP_NVTX_PUSHPOP | GP_NVTX_OPEN);
	nvtx(GP_REC_NVTX_START, T0 + 300, 0, 42, 3, GP_NVTX_TEXT_REGISTERED);
	nvtx_end(T0 + 400, 42);
	nvtx_end(T0 + 500, 43); /* end before its start */
	nvtx(GP_REC_NVTX_START, T0 + 450, 0, 43, 3, GP_NVTX_HAS_COLOR)->domain = 9;
	struct gp_rec_nvtx_domain *d = add(GP_REC_NVTX_DOMAIN, sizeof(*d), 7);
	d->ts_ns = T0 + 50;
	d->domain = 9;
	d->name_sid = 4;
	struct gp_rec_nvtx_category *c = add(GP_REC_NVTX_CATEGORY, sizeof(*c), 7);
	c->ts_ns = T0 + 60;
	c->domain = 9;
	c->category = 2;
	c->name_sid = 6;
	struct gp_rec_osrt *o = add(GP_REC_OSRT, sizeof(*o), 7);
	o->start_ns = T0 + 600;
	o->end_ns = T0 + 900;
	o->ret = -1;
	o->name_sid = 5;
	struct gp_rec_thread_name *tn = add(GP_REC_THREAD_NAME, sizeof(*tn), 7);
	tn->tid = 8;
	tn->name_sid = 6;
	struct gp_rec_overhead *ov = add(GP_REC_OVERHEAD, sizeof(*ov), 7);
	ov->start_ns = T0 + 1;
	ov->end_ns = T0 + 9;
	ov->name_sid = 5;
	struct gp_rec_loss *l = add(GP_REC_LOSS, sizeof(*l), 7);
	l->dropped_records = 3;
	struct gp_rec_process_exit *x = add(GP_REC_PROCESS_EXIT, sizeof(*x), 7);
	x->ts_ns = T0 + 1000;
}

static void cuda_records(void)
{
	hello(1001, GP_COLLECTOR_INJECT);
	str(3, "_Z6kernelPfi");
	str(4, "cudaLaunchKernel_v7000");
	str(5, "NVIDIA H200");
	struct gp_rec_cuda_device *dv = add(GP_REC_CUDA_DEVICE, sizeof(*dv), 0);
	dv->name_sid = 5;
	dv->global_memory_bandwidth = 4814304000ull;
	dv->core_clock_rate = 1980000;
	struct gp_rec_cuda_context *cx = add(GP_REC_CUDA_CONTEXT, sizeof(*cx), 0);
	cx->context_id = 1;
	struct gp_rec_cuda_stream *sm = add(GP_REC_CUDA_STREAM, sizeof(*sm), 0);
	sm->stream_id = 7;
	sm->context_id = 1;
	struct gp_rec_cuda_api *a = add(GP_REC_CUDA_API, sizeof(*a), 7);
	a->start_ns = T0 + 100;
	a->end_ns = T0 + 200;
	a->correlation_id = 1;
	a->name_sid = 4;
	struct gp_rec_cuda_kernel *k = add(GP_REC_CUDA_KERNEL, sizeof(*k), 0);
	k->start_ns = T0 + 300;
	k->end_ns = T0 + 700;
	k->correlation_id = 1;
	k->name_sid = 3;
	k->stream_id = 7;
	k->grid_x = k->grid_y = k->grid_z = k->block_x = k->block_y = k->block_z = 1;
	struct gp_rec_cuda_memcpy *mc = add(GP_REC_CUDA_MEMCPY, sizeof(*mc), 0);
	mc->start_ns = T0 + 800;
	mc->end_ns = T0 + 900;
	mc->bytes = 4096;
	mc->copy_kind = 1;
	struct gp_rec_cuda_memset *ms = add(GP_REC_CUDA_MEMSET, sizeof(*ms), 0);
	ms->start_ns = T0 + 910;
	ms->end_ns = T0 + 920;
	ms->bytes = 64;
	struct gp_rec_cuda_sync *sy = add(GP_REC_CUDA_SYNC, sizeof(*sy), 7);
	sy->start_ns = T0 + 930;
	sy->end_ns = T0 + 990;
	struct gp_rec_cuda_memory *mo = add(GP_REC_CUDA_MEMORY, sizeof(*mo), 7);
	mo->ts_ns = T0 + 1000;
	mo->bytes = 1 << 20;
	mo->operation_type = 1;
	mo->stream_id = UINT32_MAX;
	struct gp_rec_cuda_graph_trace *g = add(GP_REC_CUDA_GRAPH_TRACE, sizeof(*g), 0);
	g->start_ns = T0 + 1100;
	g->end_ns = T0 + 1200;
	g->graph_id = 1;
	struct gp_rec_cuda_graph_event *ge = add(GP_REC_CUDA_GRAPH_EVENT, sizeof(*ge), 7);
	ge->ts_ns = T0 + 1050;
	ge->graph_id = 1;
	struct gp_rec_cuda_event *ev = add(GP_REC_CUDA_EVENT, sizeof(*ev), 0);
	ev->device_ts_ns = T0 + 1300;
	ev->event_id = 3;
}

static void mpi_metrics_records(void)
{
	hello(1002, GP_COLLECTOR_MPI);
	str(3, "MPI_Send");
	str(4, "sm__cycles_elapsed.avg");
	str(5, "GH100");
	str(6, "metrics-set");
	str(7, "default");
	struct gp_rec_mpi_rank *rk = add(GP_REC_MPI_RANK, sizeof(*rk), 7);
	rk->ts_ns = T0 + 5;
	rk->rank = 0;
	rk->size = 2;
	struct gp_rec_mpi_event *e = add(GP_REC_MPI_EVENT, sizeof(*e), 7);
	e->start_ns = T0 + 100;
	e->end_ns = T0 + 200;
	e->name_sid = 3;
	e->table = GP_MPI_P2P;
	e->flags = GP_MPI_HAS_COMM | GP_MPI_HAS_TAG | GP_MPI_HAS_RANK | GP_MPI_HAS_SIZE;
	e->size = 1024;
	e->rank = 1;
	struct gp_rec_metrics_metric *m = add(GP_REC_METRICS_METRIC, sizeof(*m), 0);
	m->mode = 1;
	m->name_sid = 4;
	m->chip_sid = 5;
	struct gp_rec_metrics_sample *s = add(GP_REC_METRICS_SAMPLE, sizeof(*s) + 8, 0);
	s->start_ns = T0 + 100;
	s->end_ns = T0 + 200;
	s->nvalues = 1;
	s->values[0] = 42.5;
	struct gp_rec_metrics_range *rg = add(GP_REC_METRICS_RANGE, sizeof(*rg) + 8, 7);
	rg->start_ns = T0 + 300;
	rg->end_ns = T0 + 400;
	rg->kind = 1;
	rg->nvalues = 1;
	rg->values[0] = 1.0;
	struct gp_rec_metrics_note *n = add(GP_REC_METRICS_NOTE, sizeof(*n), 0);
	n->key_sid = 6;
	n->value_sid = 7;
}

/* The hostile records of issue 18, each alone in a frame so the others still decode. */
static void hostile(void (*emit)(void))
{
	struct gp_rec_string *s = add(GP_REC_STRING, sizeof(*s) + 8, 7);
	s->id = (1u << 24) - 1; /* the 72-byte frame that allocated ~400 MB */
	s->len = 8;
	memcpy(s->text, "crafted!", 8);
	emit();
	struct gp_rec_loss *l = add(GP_REC_LOSS, sizeof(*l), 7);
	l->dropped_records = UINT64_MAX - 5;
	l->failed_sends = UINT64_MAX;
	emit();
	nvtx(GP_REC_NVTX_EVENT, T0 + 500, T0 + 100, 0, 0, GP_NVTX_PUSHPOP); /* end < start */
	nvtx(GP_REC_NVTX_EVENT, UINT64_MAX, 0, 0, 0, 0);
	emit();
	struct gp_rec_cuda_device *dv = add(GP_REC_CUDA_DEVICE, sizeof(*dv), 0);
	dv->global_memory_bandwidth = UINT64_MAX / 3; /* * 1000 overflowed int64 */
	dv->core_clock_rate = UINT32_MAX;
	emit();
	string(9, "\xff\xfe\x1b[31mred\x07\n\xc3(\xe2\x82", 16); /* bad UTF-8, controls */
	nvtx(GP_REC_NVTX_EVENT, T0 + 10, T0 + 20, 0, 9, GP_NVTX_PUSHPOP);
	emit();
	for (uint64_t i = 1; i <= 100; i++) /* never-ended start/end ranges */
		nvtx(GP_REC_NVTX_START, T0 + i, 0, i, 0, 0);
	emit();
}

static uint64_t frame_seq;
static void emit_frame(void)
{
	frame_msg(frame_seq++);
}
static void emit_report(void)
{
	report_frame(0);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "tests/fuzz/corpus";

	/* fuzz_frame */
	basic_records();
	frame_msg(0);
	save(dir, "frame", "basic");
	cuda_records();
	frame_msg(0);
	mpi_metrics_records();
	frame_msg(1);
	save(dir, "frame", "cuda-mpi-metrics");
	frame_seq = 0;
	hostile(emit_frame);
	frame_msg(1ull << 40); /* a crafted sequence number: 2^40 frames "lost" */
	save(dir, "frame", "hostile");

	/* fuzz_report */
	basic_records();
	report_frame(0);
	report_op(0, 3);
	report_op(0, 2);
	save(dir, "report", "basic");
	cuda_records();
	report_frame(1);
	mpi_metrics_records();
	report_frame(2);
	save(dir, "report", "cuda-mpi-metrics");
	hello(1000, GP_COLLECTOR_INJECT);
	report_frame(0);
	hostile(emit_report);
	report_op(0, 2);
	save(dir, "report", "hostile");
	return 0;
}
