/*
 * wire_tap.c - the raw-frame tap file and record lines (see wire_tap.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"
#include "wire.h"
#include "wire_cuda.h"
#include "wire_metrics.h"
#include "wire_mpi.h"
#include "wire_tap.h"

/* ---- writing ------------------------------------------------------------------------ */

struct gp_tap {
	FILE *f;
	char *path;
	uint64_t entries, failed; /* entries appended; of those, not written */
};

struct gp_tap *gp_tap_create(const char *path, uint64_t session_start_ns,
			     int64_t session_start_utc_ns)
{
	struct gp_tap_hdr h;
	struct gp_tap *t;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	FILE *f;

	if (fd < 0) {
		error("cannot create the frame tap '%s': %s", path, strerror(errno));
		hint(errno == EEXIST ? "remove it or name another file in GPROF_CLI_DUMP_FRAMES"
				     : "name a file in a writable folder in GPROF_CLI_DUMP_FRAMES");
		return NULL;
	}
	f = fdopen(fd, "wb");
	if (!f) {
		error("cannot create the frame tap '%s': %s", path, strerror(errno));
		hint("name a file in a writable folder in GPROF_CLI_DUMP_FRAMES");
		close(fd);
		unlink(path);
		return NULL;
	}
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, GP_TAP_MAGIC, sizeof(h.magic));
	h.version = GP_TAP_VERSION;
	h.wire_version = GP_WIRE_VERSION;
	h.session_start_ns = session_start_ns;
	h.session_start_utc_ns = session_start_utc_ns;
	t = xcalloc(1, sizeof(*t));
	t->f = f;
	t->path = xstrdup(path);
	if (fwrite(&h, sizeof(h), 1, f) != 1)
		t->failed++;
	return t;
}

void gp_tap_write(struct gp_tap *t, uint32_t kind, uint32_t conn, uint32_t pid, const void *data,
		  uint32_t len)
{
	static const uint64_t zeros;
	struct gp_tap_entry e = {kind, conn, pid, kind == GP_TAP_FRAME ? len : 0};
	uint32_t n = kind == GP_TAP_FRAME ? gp_tap_stored(len) : 0;
	uint32_t pad = (8 - n % 8) % 8;

	t->entries++;
	if (fwrite(&e, sizeof(e), 1, t->f) != 1 || (n && fwrite(data, n, 1, t->f) != 1) ||
	    (pad && fwrite(&zeros, pad, 1, t->f) != 1))
		t->failed++;
}

int gp_tap_close(struct gp_tap *t)
{
	int ret = 0;

	if (fclose(t->f) != 0 && !t->failed)
		t->failed = 1; /* (the last buffer: at least one entry) */
	if (t->failed) {
		warning("frame tap '%s': %" PRIu64 " of %" PRIu64
			" entries could not be written; it is incomplete",
			t->path, t->failed, t->entries);
		hint("write the tap (GPROF_CLI_DUMP_FRAMES) where there is free space");
		ret = -1;
	}
	free(t->path);
	free(t);
	return ret;
}

/* ---- reading ------------------------------------------------------------------------ */

/* Open the tap file path and read its header into *hdr: the file, or NULL after one error
 * line and a hint. */
static FILE *tap_open(const char *path, struct gp_tap_hdr *hdr)
{
	FILE *f = fopen(path, "rb");

	if (!f) {
		error("cannot open '%s': %s", path, strerror(errno));
		hint("give a file written with GPROF_CLI_DUMP_FRAMES=FILE gprof-cli profile ...");
		return NULL;
	}
	if (fread(hdr, sizeof(*hdr), 1, f) != 1 ||
	    memcmp(hdr->magic, GP_TAP_MAGIC, sizeof(hdr->magic)) != 0) {
		error("'%s' is not a gprof-cli frame tap", path);
		hint("give a file written with GPROF_CLI_DUMP_FRAMES=FILE gprof-cli profile ...");
		fclose(f);
		return NULL;
	}
	if (hdr->version != GP_TAP_VERSION || hdr->wire_version != GP_WIRE_VERSION) {
		error("'%s': frame tap version %u, wire version %u; this gprof-cli reads %u and %u",
		      path, hdr->version, hdr->wire_version, GP_TAP_VERSION, GP_WIRE_VERSION);
		hint("read it with the gprof-cli that wrote it");
		fclose(f);
		return NULL;
	}
	return f;
}

int gp_tap_read_hdr(const char *path, struct gp_tap_hdr *hdr)
{
	FILE *f = tap_open(path, hdr);

	if (!f)
		return -1;
	fclose(f);
	return 0;
}

int gp_tap_read(const char *path, struct gp_tap_hdr *hdr, gp_tap_fn fn, void *ctx)
{
	FILE *f = tap_open(path, hdr);
	struct gp_tap_entry e;
	uint64_t buf[GP_FRAME_MAX / 8];
	uint64_t at = sizeof(*hdr);
	int ret = 0;

	if (!f)
		return -1;
	while (fread(&e, sizeof(e), 1, f) == 1) {
		uint32_t n = 0, pad;

		if (e.kind == GP_TAP_FRAME) {
			n = gp_tap_stored(e.len);
			pad = (8 - n % 8) % 8;
			if (fread(buf, 1, (size_t)n + pad, f) != (size_t)n + pad) {
				error("'%s': the frame at byte %" PRIu64 " is cut short", path, at);
				hint(
				    "the tap was not closed (gprof-cli killed?): what comes before "
				    "was printed");
				ret = -1;
				break;
			}
			n += pad;
		} else if (e.kind != GP_TAP_OPEN && e.kind != GP_TAP_CLOSE) {
			error("'%s': unknown entry kind %u at byte %" PRIu64, path, e.kind, at);
			hint("the file is damaged");
			ret = -1;
			break;
		}
		at += sizeof(e) + n;
		ret = fn(ctx, &e, e.kind == GP_TAP_FRAME ? buf : NULL);
		if (ret)
			break;
	}
	if (!ret && ferror(f)) {
		error("cannot read '%s': %s", path, strerror(errno));
		hint("check the file");
		ret = -1;
	}
	fclose(f);
	return ret;
}

/* ---- record lines ------------------------------------------------------------------- */

enum fkind { F_U8, F_U16, F_U32, F_I32, F_U64, F_I64, F_X64 };

struct fdesc {
	const char *name;
	uint16_t off;
	uint8_t kind;
};

struct rdesc {
	uint16_t type;
	const char *name;
	uint16_t size;		 /* bytes the fields need (sizeof the struct) */
	const struct fdesc *fld; /* ends with a NULL name; NULL: none described */
};

#define FLD(st, m, k)                                                                              \
	{                                                                                          \
#m, (uint16_t)offsetof(struct st, m), k                                            \
	}
#define END                                                                                        \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

static const struct fdesc f_hello[] = {
    FLD(gp_rec_hello, pid, F_U32),	   FLD(gp_rec_hello, ppid, F_U32),
    FLD(gp_rec_hello, collector, F_U32),   FLD(gp_rec_hello, exe_sid, F_U32),
    FLD(gp_rec_hello, cmdline_sid, F_U32), FLD(gp_rec_hello, flags, F_U32),
    FLD(gp_rec_hello, start_ns, F_U64),	   END};
static const struct fdesc f_string[] = {FLD(gp_rec_string, id, F_U32),
					FLD(gp_rec_string, len, F_U32), END};
static const struct fdesc f_thread_name[] = {FLD(gp_rec_thread_name, tid, F_U32),
					     FLD(gp_rec_thread_name, name_sid, F_U32),
					     FLD(gp_rec_thread_name, priority, F_U32), END};
static const struct fdesc f_loss[] = {
    FLD(gp_rec_loss, dropped_records, F_U64), FLD(gp_rec_loss, failed_sends, F_U64),
    FLD(gp_rec_loss, cupti_dropped, F_U64), FLD(gp_rec_loss, zero_timestamps, F_U64), END};
static const struct fdesc f_exit[] = {FLD(gp_rec_process_exit, ts_ns, F_U64),
				      FLD(gp_rec_process_exit, status, F_I32), END};
static const struct fdesc f_capture[] = {
    FLD(gp_rec_capture, ts_ns, F_U64), FLD(gp_rec_capture, window, F_U32),
    FLD(gp_rec_capture, action, F_U16), FLD(gp_rec_capture, reason, F_U16), END};
static const struct fdesc f_flush_ack[] = {FLD(gp_rec_flush_ack, epoch, F_U32), END};
static const struct fdesc f_overhead[] = {FLD(gp_rec_overhead, start_ns, F_U64),
					  FLD(gp_rec_overhead, end_ns, F_U64),
					  FLD(gp_rec_overhead, name_sid, F_U32), END};
static const struct fdesc f_nvtx[] = {
    FLD(gp_rec_nvtx, start_ns, F_U64),	   FLD(gp_rec_nvtx, end_ns, F_U64),
    FLD(gp_rec_nvtx, range_id, F_U64),	   FLD(gp_rec_nvtx, domain, F_U64),
    FLD(gp_rec_nvtx, text_sid, F_U32),	   FLD(gp_rec_nvtx, category, F_U32),
    FLD(gp_rec_nvtx, color, F_U32),	   FLD(gp_rec_nvtx, flags, F_U16),
    FLD(gp_rec_nvtx, payload_type, F_U16), FLD(gp_rec_nvtx, payload, F_X64),
    FLD(gp_rec_nvtx, level, F_U32),	   END};
static const struct fdesc f_nvtx_end[] = {FLD(gp_rec_nvtx_end, end_ns, F_U64),
					  FLD(gp_rec_nvtx_end, range_id, F_U64), END};
static const struct fdesc f_nvtx_domain[] = {
    FLD(gp_rec_nvtx_domain, ts_ns, F_U64), FLD(gp_rec_nvtx_domain, domain, F_U64),
    FLD(gp_rec_nvtx_domain, name_sid, F_U32), FLD(gp_rec_nvtx_domain, destroy, F_U32), END};
static const struct fdesc f_nvtx_category[] = {
    FLD(gp_rec_nvtx_category, ts_ns, F_U64), FLD(gp_rec_nvtx_category, domain, F_U64),
    FLD(gp_rec_nvtx_category, category, F_U32), FLD(gp_rec_nvtx_category, name_sid, F_U32), END};
static const struct fdesc f_nvtx_pushpop[] = {
    FLD(gp_rec_nvtx_pushpop, start_ns, F_U64), FLD(gp_rec_nvtx_pushpop, end_ns, F_U64),
    FLD(gp_rec_nvtx_pushpop, text_sid, F_U32), FLD(gp_rec_nvtx_pushpop, level, F_U16),
    FLD(gp_rec_nvtx_pushpop, flags, F_U16),    END};
static const struct fdesc f_nvtx_schema[] = {FLD(gp_rec_nvtx_schema, domain, F_U64),
					     FLD(gp_rec_nvtx_schema, schema_id, F_X64),
					     FLD(gp_rec_nvtx_schema, static_size, F_U64),
					     FLD(gp_rec_nvtx_schema, name_sid, F_U32),
					     FLD(gp_rec_nvtx_schema, type, F_U16),
					     FLD(gp_rec_nvtx_schema, n, F_U16),
					     FLD(gp_rec_nvtx_schema, flags, F_U32),
					     FLD(gp_rec_nvtx_schema, pack_align, F_U32),
					     END};
static const struct fdesc f_nvtx_enum[] = {
    FLD(gp_rec_nvtx_enum, domain, F_U64),   FLD(gp_rec_nvtx_enum, schema_id, F_X64),
    FLD(gp_rec_nvtx_enum, name_sid, F_U32), FLD(gp_rec_nvtx_enum, size, F_U16),
    FLD(gp_rec_nvtx_enum, n, F_U16),	    END};
static const struct fdesc f_nvtx_unsent[] = {FLD(gp_rec_nvtx_unsent, payloads, F_U32), END};
static const struct fdesc f_osrt[] = {
    FLD(gp_rec_osrt, start_ns, F_U64), FLD(gp_rec_osrt, end_ns, F_U64),
    FLD(gp_rec_osrt, ret, F_I64),      FLD(gp_rec_osrt, name_sid, F_U32),
    FLD(gp_rec_osrt, nesting, F_U32),  END};
static const struct fdesc f_cuda_api[] = {
    FLD(gp_rec_cuda_api, start_ns, F_U64),	 FLD(gp_rec_cuda_api, end_ns, F_U64),
    FLD(gp_rec_cuda_api, correlation_id, F_U32), FLD(gp_rec_cuda_api, name_sid, F_U32),
    FLD(gp_rec_cuda_api, return_value, F_I32),	 FLD(gp_rec_cuda_api, event_class, F_U16),
    FLD(gp_rec_cuda_api, cbid, F_U16),		 END};
static const struct fdesc f_cuda_kernel[] = {FLD(gp_rec_cuda_kernel, start_ns, F_U64),
					     FLD(gp_rec_cuda_kernel, end_ns, F_U64),
					     FLD(gp_rec_cuda_kernel, grid_id, F_I64),
					     FLD(gp_rec_cuda_kernel, graph_node_id, F_U64),
					     FLD(gp_rec_cuda_kernel, device_id, F_U32),
					     FLD(gp_rec_cuda_kernel, context_id, F_U32),
					     FLD(gp_rec_cuda_kernel, stream_id, F_U32),
					     FLD(gp_rec_cuda_kernel, correlation_id, F_U32),
					     FLD(gp_rec_cuda_kernel, name_sid, F_U32),
					     FLD(gp_rec_cuda_kernel, graph_id, F_U32),
					     FLD(gp_rec_cuda_kernel, grid_x, F_I32),
					     FLD(gp_rec_cuda_kernel, grid_y, F_I32),
					     FLD(gp_rec_cuda_kernel, grid_z, F_I32),
					     FLD(gp_rec_cuda_kernel, block_x, F_I32),
					     FLD(gp_rec_cuda_kernel, block_y, F_I32),
					     FLD(gp_rec_cuda_kernel, block_z, F_I32),
					     FLD(gp_rec_cuda_kernel, registers_per_thread, F_U16),
					     END};
static const struct fdesc f_cuda_memcpy[] = {
    FLD(gp_rec_cuda_memcpy, start_ns, F_U64),  FLD(gp_rec_cuda_memcpy, end_ns, F_U64),
    FLD(gp_rec_cuda_memcpy, bytes, F_U64),     FLD(gp_rec_cuda_memcpy, copy_count, F_U64),
    FLD(gp_rec_cuda_memcpy, device_id, F_U32), FLD(gp_rec_cuda_memcpy, context_id, F_U32),
    FLD(gp_rec_cuda_memcpy, stream_id, F_U32), FLD(gp_rec_cuda_memcpy, correlation_id, F_U32),
    FLD(gp_rec_cuda_memcpy, copy_kind, F_U8),  FLD(gp_rec_cuda_memcpy, src_kind, F_U8),
    FLD(gp_rec_cuda_memcpy, dst_kind, F_U8),   END};
static const struct fdesc f_cuda_memset[] = {FLD(gp_rec_cuda_memset, start_ns, F_U64),
					     FLD(gp_rec_cuda_memset, end_ns, F_U64),
					     FLD(gp_rec_cuda_memset, bytes, F_U64),
					     FLD(gp_rec_cuda_memset, device_id, F_U32),
					     FLD(gp_rec_cuda_memset, context_id, F_U32),
					     FLD(gp_rec_cuda_memset, stream_id, F_U32),
					     FLD(gp_rec_cuda_memset, correlation_id, F_U32),
					     FLD(gp_rec_cuda_memset, value, F_U32),
					     END};
static const struct fdesc f_cuda_sync[] = {FLD(gp_rec_cuda_sync, start_ns, F_U64),
					   FLD(gp_rec_cuda_sync, end_ns, F_U64),
					   FLD(gp_rec_cuda_sync, device_id, F_U32),
					   FLD(gp_rec_cuda_sync, context_id, F_U32),
					   FLD(gp_rec_cuda_sync, stream_id, F_U32),
					   FLD(gp_rec_cuda_sync, correlation_id, F_U32),
					   FLD(gp_rec_cuda_sync, cuda_event_id, F_U32),
					   FLD(gp_rec_cuda_sync, type, F_U32),
					   END};
static const struct fdesc f_cuda_context[] = {FLD(gp_rec_cuda_context, context_id, F_U32),
					      FLD(gp_rec_cuda_context, device_id, F_U32),
					      FLD(gp_rec_cuda_context, null_stream_id, F_U16), END};
static const struct fdesc f_cuda_stream[] = {
    FLD(gp_rec_cuda_stream, stream_id, F_U32), FLD(gp_rec_cuda_stream, context_id, F_U32),
    FLD(gp_rec_cuda_stream, priority, F_U32), FLD(gp_rec_cuda_stream, flag, F_U32), END};
static const struct fdesc f_cuda_device[] = {
    FLD(gp_rec_cuda_device, id, F_U32), FLD(gp_rec_cuda_device, name_sid, F_U32),
    FLD(gp_rec_cuda_device, cc_major, F_U32), FLD(gp_rec_cuda_device, cc_minor, F_U32), END};
static const struct fdesc f_mpi_event[] = {
    FLD(gp_rec_mpi_event, start_ns, F_U64), FLD(gp_rec_mpi_event, end_ns, F_U64),
    FLD(gp_rec_mpi_event, size, F_U64),	    FLD(gp_rec_mpi_event, name_sid, F_U32),
    FLD(gp_rec_mpi_event, tag, F_I32),	    FLD(gp_rec_mpi_event, rank, F_I32),
    FLD(gp_rec_mpi_event, table, F_U8),	    END};
static const struct fdesc f_mpi_rank[] = {FLD(gp_rec_mpi_rank, ts_ns, F_U64),
					  FLD(gp_rec_mpi_rank, rank, F_I32),
					  FLD(gp_rec_mpi_rank, size, F_I32), END};
static const struct fdesc f_metrics_range[] = {
    FLD(gp_rec_metrics_range, start_ns, F_U64),	 FLD(gp_rec_metrics_range, end_ns, F_U64),
    FLD(gp_rec_metrics_range, device_id, F_U32), FLD(gp_rec_metrics_range, name_sid, F_U32),
    FLD(gp_rec_metrics_range, nvalues, F_U32),	 END};
static const struct fdesc f_metrics_sample[] = {
    FLD(gp_rec_metrics_sample, start_ns, F_U64), FLD(gp_rec_metrics_sample, end_ns, F_U64),
    FLD(gp_rec_metrics_sample, device_id, F_U32), FLD(gp_rec_metrics_sample, nvalues, F_U32), END};

#define REC(t, st, f)                                                                              \
	{                                                                                          \
		GP_REC_##t, #t, (uint16_t)sizeof(struct st), f                                     \
	}
static const struct rdesc recs[] = {
    REC(HELLO, gp_rec_hello, f_hello),
    REC(STRING, gp_rec_string, f_string),
    REC(THREAD_NAME, gp_rec_thread_name, f_thread_name),
    REC(LOSS, gp_rec_loss, f_loss),
    REC(PROCESS_EXIT, gp_rec_process_exit, f_exit),
    REC(CAPTURE, gp_rec_capture, f_capture),
    REC(FLUSH_ACK, gp_rec_flush_ack, f_flush_ack),
    REC(OVERHEAD, gp_rec_overhead, f_overhead),
    REC(NVTX_EVENT, gp_rec_nvtx, f_nvtx),
    REC(NVTX_START, gp_rec_nvtx, f_nvtx),
    REC(NVTX_END, gp_rec_nvtx_end, f_nvtx_end),
    REC(NVTX_DOMAIN, gp_rec_nvtx_domain, f_nvtx_domain),
    REC(NVTX_CATEGORY, gp_rec_nvtx_category, f_nvtx_category),
    REC(NVTX_PUSHPOP, gp_rec_nvtx_pushpop, f_nvtx_pushpop),
    REC(NVTX_SCHEMA, gp_rec_nvtx_schema, f_nvtx_schema),
    REC(NVTX_ENUM, gp_rec_nvtx_enum, f_nvtx_enum),
    REC(NVTX_UNSENT, gp_rec_nvtx_unsent, f_nvtx_unsent),
    REC(OSRT, gp_rec_osrt, f_osrt),
    REC(CUDA_API, gp_rec_cuda_api, f_cuda_api),
    REC(CUDA_KERNEL, gp_rec_cuda_kernel, f_cuda_kernel),
    REC(CUDA_MEMCPY, gp_rec_cuda_memcpy, f_cuda_memcpy),
    REC(CUDA_MEMSET, gp_rec_cuda_memset, f_cuda_memset),
    REC(CUDA_SYNC, gp_rec_cuda_sync, f_cuda_sync),
    REC(CUDA_MEMORY, gp_rec_hdr, NULL),
    REC(CUDA_GRAPH_TRACE, gp_rec_hdr, NULL),
    REC(CUDA_DEVICE, gp_rec_cuda_device, f_cuda_device),
    REC(CUDA_CONTEXT, gp_rec_cuda_context, f_cuda_context),
    REC(CUDA_STREAM, gp_rec_cuda_stream, f_cuda_stream),
    REC(CUDA_GRAPH_EVENT, gp_rec_hdr, NULL),
    REC(CUDA_EVENT, gp_rec_hdr, NULL),
    REC(METRICS_METRIC, gp_rec_hdr, NULL),
    REC(METRICS_SAMPLE, gp_rec_metrics_sample, f_metrics_sample),
    REC(METRICS_RANGE, gp_rec_metrics_range, f_metrics_range),
    REC(METRICS_NOTE, gp_rec_hdr, NULL),
    REC(MPI_EVENT, gp_rec_mpi_event, f_mpi_event),
    REC(MPI_RANK, gp_rec_mpi_rank, f_mpi_rank),
};

static const struct rdesc *rdesc_of(uint16_t type)
{
	for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++)
		if (recs[i].type == type)
			return &recs[i];
	return NULL;
}

static void add_field(struct strbuf *sb, const unsigned char *p, const struct fdesc *f)
{
	union {
		uint8_t u8;
		uint16_t u16;
		uint32_t u32;
		int32_t i32;
		uint64_t u64;
		int64_t i64;
	} v;

	p += f->off;
	switch (f->kind) {
	case F_U8:
		memcpy(&v.u8, p, 1);
		strbuf_addf(sb, " %s=%u", f->name, v.u8);
		break;
	case F_U16:
		memcpy(&v.u16, p, 2);
		strbuf_addf(sb, " %s=%u", f->name, v.u16);
		break;
	case F_U32:
		memcpy(&v.u32, p, 4);
		strbuf_addf(sb, " %s=%" PRIu32, f->name, v.u32);
		break;
	case F_I32:
		memcpy(&v.i32, p, 4);
		strbuf_addf(sb, " %s=%" PRId32, f->name, v.i32);
		break;
	case F_U64:
		memcpy(&v.u64, p, 8);
		strbuf_addf(sb, " %s=%" PRIu64, f->name, v.u64);
		break;
	case F_I64:
		memcpy(&v.i64, p, 8);
		strbuf_addf(sb, " %s=%" PRId64, f->name, v.i64);
		break;
	default:
		memcpy(&v.u64, p, 8);
		strbuf_addf(sb, " %s=0x%" PRIx64, f->name, v.u64);
		break;
	}
}

/* text as a C string literal: quotes, backslashes and bytes outside printable ASCII escaped */
static void add_quoted(struct strbuf *sb, const char *s, size_t len)
{
	strbuf_addch(sb, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			strbuf_addf(sb, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			strbuf_addf(sb, "\\x%02x", c);
		else
			strbuf_addch(sb, (char)c);
	}
	strbuf_addch(sb, '"');
}

void gp_rec_describe(struct strbuf *sb, uint32_t pid, const struct gp_rec_hdr *rec)
{
	const struct rdesc *d = rdesc_of(rec->type);
	const unsigned char *p = (const void *)rec;

	if (d)
		strbuf_addstr(sb, d->name);
	else
		strbuf_addf(sb, "type=0x%04x", rec->type);
	strbuf_addf(sb, " %" PRIu32 "/%" PRIu32 " size=%u", pid, rec->tid, rec->size);
	if (d && d->fld && rec->size >= d->size) {
		for (const struct fdesc *f = d->fld; f->name; f++)
			add_field(sb, p, f);
		if (rec->type == GP_REC_STRING) {
			const struct gp_rec_string *s = (const void *)rec;
			size_t room = rec->size - sizeof(*s);

			strbuf_addstr(sb, " text=");
			add_quoted(sb, s->text, s->len < room ? s->len : room);
		}
		return;
	}
	if (d && d->fld)
		strbuf_addstr(sb, " (short)");
	if (rec->size > sizeof(*rec)) {
		strbuf_addstr(sb, " data=");
		for (size_t off = sizeof(*rec); off + 8 <= rec->size; off += 8) {
			uint64_t w;

			memcpy(&w, p + off, 8);
			strbuf_addf(sb, "%s%016" PRIx64, off > sizeof(*rec) ? "," : "", w);
		}
	}
}
