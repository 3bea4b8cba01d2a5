/*
 * wire.h - the one binary wire format between the injected collectors (producers)
 * and the recorder (gprof-cli profile).
 *
 * Transport: each producer (one per injection library per process) connects a
 * SOCK_SEQPACKET Unix socket to the path in $GPROF_CLI_CHANNEL.  Every message on
 * that connection is one frame:  struct gp_frame_hdr  followed by `length` bytes of
 * records.  SEQPACKET keeps message boundaries and sends each message atomically,
 * so frames from many threads and processes never tear or interleave.  A frame is at
 * most GP_FRAME_MAX bytes.  Where the recorder grants one, the frames travel through a
 * shared-memory ring instead, in the same order (see "Rings" below).
 *
 * Records: struct gp_rec_hdr followed by the type's payload; `size` covers header +
 * payload and is a multiple of 8 (records are 8-byte aligned inside a frame).  All
 * integers are native-endian (producer and recorder run on one host).  Timestamps
 * are CLOCK_MONOTONIC nanoseconds, as read by the producer; the recorder converts
 * them to report time (ns since session start, see report.h).
 *
 * Strings are interned per connection: a producer sends GP_REC_STRING (id, bytes)
 * once, before the first record that names the id, and later records carry only the
 * 32-bit id.  String id 0 means "no string".  The recorder maps (connection, id) to a
 * report StringIds id.
 *
 * Versioning: bump GP_WIRE_VERSION on any incompatible change; the recorder rejects
 * (and counts as bad frames) frames of another version.
 *
 * Adding a record type: add the enum value and payload struct here (or in
 * wire_cuda.h for the cuda collector), a handler in the recorder's table module
 * (core/report_*.c), and a decode test in tests/unit/test_wire.c.
 */
#ifndef GPROF_WIRE_H
#define GPROF_WIRE_H

#include <stdint.h>

#define GP_WIRE_MAGIC	0x46525047u /* "GPRF" little-endian */
#define GP_WIRE_VERSION 1
#define GP_FRAME_MAX	(64 * 1024) /* bytes, header included */

/* Environment variables set by `gprof-cli profile` for the injected libraries. */
#define GP_ENV_CHANNEL	      "GPROF_CLI_CHANNEL"	    /* socket path */
#define GP_ENV_SESSION	      "GPROF_CLI_SESSION"	    /* session id (decimal), for sanity */
#define GP_ENV_TRACE	      "GPROF_CLI_TRACE"		    /* comma list of enabled collectors */
#define GP_ENV_OSRT_THRESHOLD "GPROF_CLI_OSRT_THRESHOLD_NS" /* decimal ns, default 1000 */
#define GP_ENV_FLUSH_MS	      "GPROF_CLI_FLUSH_MS"	    /* producer flush period, default 100 */
#define GP_ENV_OPTIONS	      "GPROF_CLI_OPTIONS"	    /* collector-specific key=value;... */
/* "dev:ino,dev:ino" of the application's stdout and stderr when they lead to gprof-cli
 * (its tee): a producer that finds the recorder gone points them at /dev/null. */
#define GP_ENV_STREAMS "GPROF_CLI_STREAMS"
/* Set (to "1") in gprof-cli's GPU metrics sampler process only: its HELLO says
 * GP_HELLO_HELPER. */
#define GP_ENV_HELPER "GPROF_CLI_HELPER"

/* Frame types. */
enum gp_frame_type {
	GP_FRAME_RECORDS = 1, /* payload: a sequence of records */
	GP_FRAME_RING = 2,    /* payload: struct gp_ring_offer (see "Rings" below) */
	GP_FRAME_TBUFS = 3,   /* no payload; a memfd in SCM_RIGHTS ("Thread buffers" below) */
};

/* Frame header: the first 24 bytes of every message. */
struct gp_frame_hdr {
	uint32_t magic;	  /* GP_WIRE_MAGIC */
	uint16_t version; /* GP_WIRE_VERSION */
	uint16_t type;	  /* enum gp_frame_type */
	uint32_t length;  /* payload bytes after this header */
	uint32_t pid;	  /* sending process (getpid()) */
	uint64_t seq;	  /* per-connection frame counter from 0; a gap = lost frames */
};

/* Record header: first 8 bytes of every record. */
struct gp_rec_hdr {
	uint16_t type; /* enum gp_rec_type */
	uint16_t size; /* bytes of header + payload, multiple of 8, >= 8 */
	uint32_t tid;  /* OS thread id (gettid()) that produced the record */
};

/* Record types.  0x001-0x0ff common, 0x100-0x1ff nvtx, 0x200-0x2ff osrt,
 * 0x300-0x3ff cuda (wire_cuda.h), 0x400-0x4ff gpu-metrics, 0x500-0x5ff mpi (wire_mpi.h),
 * 0x600-0x6ff CPU sampling (wire_sampling.h), 0x700-0x7ff host memory (wire_hostmem.h). */
enum gp_rec_type {
	GP_REC_HELLO = 0x001,	     /* struct gp_rec_hello: first record of a connection */
	GP_REC_STRING = 0x002,	     /* struct gp_rec_string */
	GP_REC_THREAD_NAME = 0x003,  /* struct gp_rec_thread_name */
	GP_REC_LOSS = 0x004,	     /* struct gp_rec_loss */
	GP_REC_PROCESS_EXIT = 0x005, /* struct gp_rec_process_exit */
	GP_REC_CAPTURE = 0x006,	     /* struct gp_rec_capture: a capture range started/stopped */
	GP_REC_FLUSH_ACK = 0x007,    /* struct gp_rec_flush_ack: flush request `epoch` done */
	GP_REC_OVERHEAD = 0x008,     /* struct gp_rec_overhead: the profiler's own time */

	GP_REC_NVTX_EVENT = 0x101,    /* struct gp_rec_nvtx: mark or complete push/pop range */
	GP_REC_NVTX_START = 0x102,    /* struct gp_rec_nvtx: start of a start/end range */
	GP_REC_NVTX_END = 0x103,      /* struct gp_rec_nvtx_end */
	GP_REC_NVTX_DOMAIN = 0x104,   /* struct gp_rec_nvtx_domain: create or destroy */
	GP_REC_NVTX_CATEGORY = 0x105, /* struct gp_rec_nvtx_category */
	GP_REC_NVTX_PUSHPOP = 0x106,  /* struct gp_rec_nvtx_pushpop: compact push/pop range */
	GP_REC_NVTX_SCHEMA = 0x107,   /* struct gp_rec_nvtx_schema: a payload schema (state) */
	GP_REC_NVTX_ENUM = 0x108,     /* struct gp_rec_nvtx_enum: a payload enum (state) */
	GP_REC_NVTX_UNSENT = 0x109,   /* struct gp_rec_nvtx_unsent: payloads not copied */

	GP_REC_OSRT = 0x201,	       /* struct gp_rec_osrt */
	GP_REC_OSRT_CALLCHAIN = 0x202, /* struct gp_rec_osrt_callchain: the next GP_REC_OSRT's */
};

/* Which collector sent a connection's records (struct gp_rec_hello.collector). */
enum gp_collector_id {
	GP_COLLECTOR_INJECT = 1,   /* libgprof-inject.so: nvtx + cuda (+ gpu-metrics) */
	GP_COLLECTOR_OSRT = 2,	   /* libgprof-osrt.so */
	GP_COLLECTOR_MPI = 3,	   /* libgprof-mpi.so */
	GP_COLLECTOR_CUDALIBS = 4, /* libgprof-cudalibs.so: cuBLAS, cuDNN (NVTX records) */
	GP_COLLECTOR_HOSTMEM = 6,  /* libgprof-hostmem.so: host allocations (--host-memory-usage) */
};

/* GP_REC_HELLO: identifies the process behind a connection.  Followed in the same
 * frame by a GP_REC_STRING for exe_sid/cmdline_sid when non-zero. */
struct gp_rec_hello {
	struct gp_rec_hdr h;
	uint32_t pid, ppid;
	uint32_t collector;   /* enum gp_collector_id */
	uint32_t exe_sid;     /* string id: process name (comm or argv[0] basename) */
	uint32_t cmdline_sid; /* string id: full command line, args separated by ' ' */
	uint32_t flags;	      /* GP_HELLO_* */
	uint64_t start_ns;    /* when the producer initialised (CLOCK_MONOTONIC ns) */
};
#define GP_HELLO_FORKED 0x1u /* process was forked from a traced parent (no exec) */
/* gprof-cli's own GPU metrics sampler process (cli/metrics_process.h, $GPROF_CLI_HELPER):
 * its records are the report's, but it is not a process of the application (no PROCESSES
 * or ThreadNames rows, not counted as one). */
#define GP_HELLO_HELPER 0x2u

/* GP_REC_STRING: defines string id `id` on this connection.  `len` bytes of text
 * follow (not NUL-terminated on the wire, padded to 8). */
struct gp_rec_string {
	struct gp_rec_hdr h;
	uint32_t id;
	uint32_t len;
	char text[]; /* len bytes, UTF-8 */
};
#define GP_STRING_MAX 4000 /* producers truncate longer strings to this many bytes */

/* GP_REC_THREAD_NAME: thread `h.tid`... or `tid` (nvtxNameOsThread names others). */
struct gp_rec_thread_name {
	struct gp_rec_hdr h;
	uint32_t tid;	   /* the named thread */
	uint32_t name_sid; /* string id of the name */
	uint32_t priority; /* nsys ThreadNames.priority; 0 = unknown */
	uint32_t pad;
};

/* GP_REC_LOSS: cumulative producer-side loss counters of this connection (the
 * recorder keeps the latest values it saw; the last one at close is final). */
struct gp_rec_loss {
	struct gp_rec_hdr h;
	uint64_t dropped_records; /* records that could not be buffered or sent */
	uint64_t failed_sends;	  /* frames whose send() failed (each may hold many records) */
	uint64_t cupti_dropped;	  /* CUPTI cuptiActivityGetNumDroppedRecords total (cuda) */
	uint64_t zero_timestamps; /* GPU records with start or end == 0 (cuda), skipped */
};

/* GP_REC_PROCESS_EXIT: sent by the exit/fatal-signal flush; status is the exit()
 * status or 128+signal. */
struct gp_rec_process_exit {
	struct gp_rec_hdr h;
	uint64_t ts_ns;
	int32_t status;
	uint32_t pad;
};

/* GP_REC_CAPTURE: sent (unbuffered, right after the control page was flipped) by the
 * producer whose gp_capture_start()/gp_capture_stop() opened or closed capture window
 * `window`.  The control page (struct gp_control) is what the recorder routes by; this
 * record tells it when and why, and wakes it up for the shutdown check. */
struct gp_rec_capture {
	struct gp_rec_hdr h;
	uint64_t ts_ns;	 /* window start or stop (CLOCK_MONOTONIC ns) */
	uint32_t window; /* 0-based window index (gp_control.win[]) */
	uint16_t action; /* GP_CAPTURE_ACTION_* */
	uint16_t reason; /* enum gp_capture_reason */
};
#define GP_CAPTURE_ACTION_START 1
#define GP_CAPTURE_ACTION_STOP	2

/* GP_REC_FLUSH_ACK: sent in a frame of its own (no other record in it) by a producer
 * after it flushed every thread buffer it could take in answer to gp_control.flush_epoch
 * reaching `epoch` (see "Flush requests" below).  Every record the producer had buffered
 * when it saw the request precedes this frame on the connection. */
struct gp_rec_flush_ack {
	struct gp_rec_hdr h;
	uint32_t epoch; /* the gp_control.flush_epoch value the flush answered */
	uint32_t pad;
};

/* GP_REC_OVERHEAD (32 bytes): [start_ns, end_ns] that the collectors' runtime itself spent
 * on thread h.tid of the application (connection set-up, the data flush at process exit or
 * at the end of a capture range; collectors/producer.h gp_overhead()).  Sent past the
 * capture gate.  -> PROFILER_OVERHEAD (core/report_session.c), nameId = name_sid. */
struct gp_rec_overhead {
	struct gp_rec_hdr h;
	uint64_t start_ns; /* CLOCK_MONOTONIC ns */
	uint64_t end_ns;
	uint32_t name_sid; /* string id: what the time was spent on */
	uint32_t pad;
};

/* GP_REC_OVERHEAD's name for time a thread of the application spent waiting for room in
 * its ring (wire.h "Rings"): the recorder's reader had not yet copied out what was there.
 * One record per hand-off that waited, [first wait, room found]; the recorder counts them
 * (report_stats.app_waits, app_wait_ns) and `profile` says so. */
#define GP_OVERHEAD_RECORDER_WAIT "Waiting for the recorder"

/* NVTX payload kinds, matching nvtxPayloadType_t values (nvToolsExt.h) so the
 * recorder can put the value into NVTX_EVENTS.{uint64,int64,double,uint32,int32,float}Value. */
enum gp_nvtx_payload {
	GP_NVTX_PAYLOAD_NONE = 0,
	GP_NVTX_PAYLOAD_U64 = 1,
	GP_NVTX_PAYLOAD_I64 = 2,
	GP_NVTX_PAYLOAD_DOUBLE = 3,
	GP_NVTX_PAYLOAD_U32 = 4,
	GP_NVTX_PAYLOAD_I32 = 5,
	GP_NVTX_PAYLOAD_FLOAT = 6,
	/* an NVTX extended payload (nvToolsExtPayload.h NVTX_PAYLOAD_TYPE_EXT, 0xDFBD0009,
	 * which does not fit in 16 bits): a struct gp_nvtx_ext tail follows the record */
	GP_NVTX_PAYLOAD_EXT = 0x100,
};

/* Flags of struct gp_rec_nvtx. */
#define GP_NVTX_HAS_COLOR	0x1u /* color holds an ARGB value */
#define GP_NVTX_TEXT_REGISTERED 0x2u /* text_sid is a registered string (-> textId column) */
#define GP_NVTX_PUSHPOP		0x4u /* GP_REC_NVTX_EVENT: a push/pop range (else a mark) */
#define GP_NVTX_OPEN		0x8u /* push/pop range still open at process exit (end = 0) */
#define GP_NVTX_TEXT_INLINE                                                                        \
	0x10u /* GP_REC_NVTX_PUSHPOP: text_sid bytes of message text                               \
	       * follow the record (a message not interned) */

/* GP_REC_NVTX_EVENT / GP_REC_NVTX_START.
 * Mark: start_ns = end_ns = time of the mark.  Push/pop: emitted at the pop with both
 * times (ranges still open at exit: flag GP_NVTX_OPEN, end_ns 0 -> NULL end).  Start:
 * end_ns 0; the matching GP_REC_NVTX_END carries the same range_id. */
struct gp_rec_nvtx {
	struct gp_rec_hdr h;
	uint64_t start_ns;
	uint64_t end_ns;
	uint64_t range_id;     /* nvtxRangeId_t for start/end ranges, else 0 */
	uint64_t domain;       /* producer's domain handle id; 0 = default domain */
	uint32_t text_sid;     /* message string id; 0 = none */
	uint32_t category;     /* NVTX category; 0 = none */
	uint32_t color;	       /* ARGB when GP_NVTX_HAS_COLOR */
	uint16_t flags;	       /* GP_NVTX_* */
	uint16_t payload_type; /* enum gp_nvtx_payload */
	union {
		uint64_t u64;
		int64_t i64;
		double d;
		uint32_t u32;
		int32_t i32;
		float f;
	} payload;
	uint32_t level; /* push/pop nesting depth (0 = outermost), else 0 */
	uint32_t pad;
};

/* GP_REC_NVTX_PUSHPOP (32 bytes, 72 for GP_REC_NVTX_EVENT): the common push/pop range in
 * less than half the bytes - default domain, no category, colour or payload, nesting
 * depth below 65536.  The recorder decodes it as the GP_REC_NVTX_EVENT that
 * gp_nvtx_pushpop_expand() makes of it.  Producers pick it where it fits (nvtx_emit.h).
 * With GP_NVTX_TEXT_INLINE, text_sid is the length (at most GP_STRING_MAX) of the
 * message text that follows the 32 bytes (size = 32 + the length rounded up to 8): a
 * message seen once (PyTorch's emit_nvtx names every op uniquely) costs its bytes, not
 * an interned string the producer and the recorder keep for the whole run. */
struct gp_rec_nvtx_pushpop {
	struct gp_rec_hdr h;
	uint64_t start_ns; /* CLOCK_MONOTONIC ns */
	uint64_t end_ns;   /* 0 with GP_NVTX_OPEN */
	uint32_t text_sid; /* message string id; 0 = none */
	uint16_t level;	   /* push/pop nesting depth (0 = outermost) */
	uint16_t flags;	   /* GP_NVTX_* (GP_NVTX_PUSHPOP set) */
};

/* The GP_REC_NVTX_EVENT equivalent of a GP_REC_NVTX_PUSHPOP (e->h.size = sizeof(*e)). */
static inline void gp_nvtx_pushpop_expand(const struct gp_rec_nvtx_pushpop *p,
					  struct gp_rec_nvtx *e)
{
	*e = (struct gp_rec_nvtx){.h = {GP_REC_NVTX_EVENT, sizeof(*e), p->h.tid},
				  .start_ns = p->start_ns,
				  .end_ns = p->end_ns,
				  .text_sid = p->text_sid,
				  .flags = (uint16_t)(p->flags | GP_NVTX_PUSHPOP),
				  .level = p->level};
}

/*
 * NVTX extended payloads (the NVTX payload extension, nvtx3/nvToolsExtPayload.h; NCCL 2.19+
 * attaches one to each API call's range: communicator, message size, reduction, ...).
 *
 * A GP_REC_NVTX_EVENT / GP_REC_NVTX_START whose payload_type is GP_NVTX_PAYLOAD_EXT carries,
 * after its 72 bytes, a struct gp_nvtx_ext and then `n` blocks: a struct
 * gp_nvtx_ext_block and its `len` bytes of the application's payload (a copy, taken when
 * the event happened: at the push for a push/pop range), padded to 8.  payload.u64 is 0.
 * The bytes are in the layout of schema `schema_id` of the event's domain, which a
 * GP_REC_NVTX_SCHEMA (or, for an enum, GP_REC_NVTX_ENUM) announced earlier on the same
 * connection; the recorder decodes them to NVTX_EVENTS.jsonText (core/report_nvtx.c).
 * Bounds: at most GP_NVTX_EXT_MAX blocks per event and GP_NVTX_EXT_BYTES_MAX payload
 * bytes per block; a payload past either bound, or of unknown size, is not copied: the
 * collector counts it in a GP_REC_NVTX_UNSENT instead.
 */
#define GP_NVTX_EXT_MAX	      4	  /* payload blocks per event */
#define GP_NVTX_EXT_BYTES_MAX 256 /* bytes of one payload */

struct gp_nvtx_ext {
	uint32_t n;   /* blocks that follow (1..GP_NVTX_EXT_MAX) */
	uint32_t pad; /* 0 */
};

struct gp_nvtx_ext_block {
	uint64_t schema_id; /* nvtxPayloadData_t.schemaId: a schema or enum id of the domain */
	uint32_t len;	    /* payload bytes that follow (<= GP_NVTX_EXT_BYTES_MAX), padded to 8 */
	uint32_t pad;	    /* 0 */
};

/* GP_REC_NVTX_SCHEMA (48 bytes + 32 per entry): nvtxPayloadSchemaRegister of schema
 * `schema_id` (the id the call returned: the application's static id, or one the collector
 * made from NVTX_PAYLOAD_SCHEMA_ID_DYNAMIC_START up) in domain `domain`.  `n` struct
 * gp_nvtx_schema_entry follow, in the schema's order.  Fields follow nvtxPayloadSchemaAttr_t
 * and nvtxPayloadSchemaEntry_t (nvToolsExtPayload.h); strings are interned ids.  A schema
 * of more than GP_NVTX_SCHEMA_ENTRIES_MAX entries is sent with n = 0 and type 0 (invalid):
 * the recorder cannot decode its payloads and counts them.  A state record: it passes the
 * capture gate and lands in every per-range report. */
#define GP_NVTX_SCHEMA_ENTRIES_MAX 128

struct gp_rec_nvtx_schema {
	struct gp_rec_hdr h;
	uint64_t domain;      /* producer's domain handle id; 0 = default domain */
	uint64_t schema_id;   /* NVTX_PAYLOAD_SCHEMA_ID_STATIC_START and up */
	uint64_t static_size; /* payloadStaticSize in bytes; 0 = not given */
	uint32_t name_sid;    /* string id of the schema's name; 0 = none */
	uint16_t type;	      /* NVTX_PAYLOAD_SCHEMA_TYPE_* (1 static, 2 dynamic, 3/4 unions) */
	uint16_t n;	      /* entries that follow */
	uint32_t flags;	      /* NVTX_PAYLOAD_SCHEMA_FLAG_* */
	uint32_t pack_align;  /* packAlign in bytes; 0 = natural alignment */
};

struct gp_nvtx_schema_entry {
	uint64_t type;	    /* NVTX_PAYLOAD_ENTRY_TYPE_*, or a schema/enum id of the domain */
	uint64_t offset;    /* byte offset in the payload; 0 after the first entry = not given
			       (natural alignment after the previous entry) */
	uint64_t array_len; /* arrayOrUnionDetail: string or array length, union selector */
	uint32_t name_sid;  /* string id of the entry's name; 0 = none */
	uint32_t flags;	    /* NVTX_PAYLOAD_ENTRY_FLAG_* (all fit in 32 bits) */
};

/* GP_REC_NVTX_ENUM (32 bytes + 16 per entry): nvtxPayloadEnumRegister of enum
 * `schema_id` in domain `domain` (nvtxPayloadEnumAttr_t, nvtxPayloadEnum_t); `n` struct
 * gp_nvtx_enum_entry follow (at most GP_NVTX_ENUM_ENTRIES_MAX: later ones are left out and
 * their values decode as numbers).  A schema entry whose type is this id holds a value of
 * `size` bytes.  A state record, as GP_REC_NVTX_SCHEMA. */
#define GP_NVTX_ENUM_ENTRIES_MAX 256

struct gp_rec_nvtx_enum {
	struct gp_rec_hdr h;
	uint64_t domain;    /* producer's domain handle id; 0 = default domain */
	uint64_t schema_id; /* the id nvtxPayloadEnumRegister returned */
	uint32_t name_sid;  /* string id of the enum's name; 0 = none */
	uint16_t size;	    /* sizeOfEnum: bytes of a value (1, 2, 4 or 8) */
	uint16_t n;	    /* entries that follow */
};

struct gp_nvtx_enum_entry {
	uint64_t value;	   /* the enumerator's value */
	uint32_t name_sid; /* string id of its name */
	uint32_t is_flag;  /* nvtxPayloadEnum_t.isFlag: a bit of a bit set */
};

/* GP_REC_NVTX_UNSENT: extended payloads the NVTX collector saw but did not copy (larger
 * than GP_NVTX_EXT_BYTES_MAX, of unknown size (SIZE_MAX), past GP_NVTX_EXT_MAX on one
 * event, given to nvtxRangePopPayload / nvtxRangeEndPayload, or of deferred events
 * (nvtxEventSubmit, nvtxEventBatchSubmit), which gprof-cli does not record).  The recorder
 * adds them up (META_DATA_EXPORT GPROF_NVTX_PAYLOADS_UNSENT, a warning). */
struct gp_rec_nvtx_unsent {
	struct gp_rec_hdr h;
	uint32_t payloads; /* payloads not copied by this call */
	uint32_t pad;
};

/* GP_REC_NVTX_END: end of the start/end range `range_id`, on thread h.tid. */
struct gp_rec_nvtx_end {
	struct gp_rec_hdr h;
	uint64_t end_ns;
	uint64_t range_id;
};

/* GP_REC_NVTX_DOMAIN: nvtxDomainCreate (destroy=0) or nvtxDomainDestroy (destroy=1). */
struct gp_rec_nvtx_domain {
	struct gp_rec_hdr h;
	uint64_t ts_ns;
	uint64_t domain;   /* producer's domain handle id (non-zero) */
	uint32_t name_sid; /* string id of the domain name */
	uint32_t destroy;
};

/* GP_REC_NVTX_CATEGORY: nvtxNameCategory / nvtxDomainNameCategory. */
struct gp_rec_nvtx_category {
	struct gp_rec_hdr h;
	uint64_t ts_ns;
	uint64_t domain;
	uint32_t category;
	uint32_t name_sid;
};

/* GP_REC_OSRT: one OS runtime call that took at least the threshold. */
struct gp_rec_osrt {
	struct gp_rec_hdr h;
	uint64_t start_ns;
	uint64_t end_ns;
	int64_t ret;	   /* return value as the call returned it (pointers as integers) */
	uint32_t name_sid; /* string id of the interposed symbol, e.g. "pthread_mutex_lock" */
	uint32_t nesting;  /* 0-based nesting level (a traced call inside a traced call) */
};

/* GP_REC_OSRT_CALLCHAIN: the backtrace of the thread's next GP_REC_OSRT (sent just before
 * it, on the same thread), for calls of at least --osrt-backtrace-threshold ns (nsys's
 * OSRT_CALLCHAINS).  Frames innermost first: frame 0 is the libc function itself; each
 * frame names its module (a string id: the file's path) and its offset from the module's
 * load address (dladdr's dli_fbase), so the recorder can find the symbol in the file. */
struct gp_osrt_frame {
	uint64_t ip;	 /* the address in the process */
	uint64_t offset; /* ip - the module's load address */
	uint32_t module_sid;
	uint32_t reserved;
};
#define GP_OSRT_FRAMES_MAX 24 /* nsys's --osrt-backtrace-depth default */
struct gp_rec_osrt_callchain {
	struct gp_rec_hdr h;
	uint32_t nframes; /* <= GP_OSRT_FRAMES_MAX */
	uint32_t reserved;
	struct gp_osrt_frame frames[];
};

/*
 * ---- The control page: capture ranges (nsys -c/--capture-range, --capture-range-end) ----
 *
 * The recorder creates the file GP_CONTROL_NAME next to the channel socket (same folder
 * as $GPROF_CLI_CHANNEL), sizes it to sizeof(struct gp_control) and maps it MAP_SHARED;
 * every producer maps it read-write at gp_producer_init().  The settings part is written
 * once by the recorder before the application starts; the state part is shared:
 *
 *   collecting  1 while records are taken: gp_rec_begin() returns NULL for everything but
 *               state records (gp_rec_is_state()) while it is 0.  Hot path: one load.
 *   win[k]      capture window k: start/stop CLOCK_MONOTONIC ns (stop 0 = still open).
 *               Written by whoever opens/closes the window (a producer in
 *               gp_capture_start/stop, or the recorder for -y/--delay) *before* it
 *               flips `collecting`, so a record that passed the gate always finds its
 *               window published here when the recorder decodes it.
 *   nwindows    windows opened so far (release-store after win[k].start).
 *   done        no further window will open (stop / stop-shutdown after the first
 *               window, repeat:N after N, or GP_CAPTURE_MAX_WINDOWS reached).
 *   shutdown    the session should end now (stop-shutdown, repeat-shutdown:N reached):
 *               the recorder signals `profile`, which sends --kill's signal.
 *   lock        a spin lock (0/1) held only during a start/stop transition.
 *   flush_epoch flush requests (below); only ever incremented.
 *   ring_slots  shared-memory rings the recorder still accepts ("Rings" above).
 *
 * Flush requests.  Each process holds one producer runtime per injection library
 * (libgprof-osrt.so, libgprof-inject.so), each with its own buffers and connection, so
 * the library whose trigger closes a window cannot flush the others' buffers itself.
 * Instead, gp_capture_stop() increments flush_epoch and FUTEX_WAKEs every waiter on
 * that word (a shared futex: the page is MAP_SHARED), and every producer's flusher
 * thread waits on that word (FUTEX_WAIT with its flush period as timeout) instead of
 * sleeping.  A flusher that finds flush_epoch != the value it saw last flushes every
 * thread buffer (waiting briefly for buffers held mid-record) and then sends
 * GP_REC_FLUSH_ACK(epoch) in a frame of its own.  The stopping producer does the same
 * for itself, synchronously, before it sets `shutdown`.  The recorder, once it sees
 * `shutdown`, delays the shutdown notification (recorder_shutdown_fd) until every
 * connection open at that moment has acknowledged an epoch >= the page's flush_epoch,
 * or GP_FLUSH_ACK_WAIT_MS passed (a producer without a flusher thread yet has nothing
 * buffered and never answers), so --kill's signal, SIGKILL included, finds the
 * window's records of every library already on the recorder's side of the socket.
 * Without a page (no recorder control file) a producer behaves as mode none.
 */
#define GP_CONTROL_NAME	       "control"   /* file name next to the channel socket */
#define GP_CONTROL_MAGIC       0x4c544347u /* "GCTL" */
#define GP_CONTROL_VERSION     3
#define GP_CAPTURE_MAX_WINDOWS 1024
#define GP_CAPTURE_TEXT_MAX    256 /* bytes of an nvtx pattern part, NUL included */
#define GP_FLUSH_ACK_WAIT_MS   200 /* longest the recorder waits for flush acks (ms) */

/* -c/--capture-range. */
enum gp_capture_mode {
	GP_CAPTURE_NONE = 0, /* collect from the start (or after -y/--delay) */
	GP_CAPTURE_CUDA = 1, /* cudaProfilerApi: cu/cudaProfilerStart .. Stop */
	GP_CAPTURE_NVTX = 2, /* nvtx: the push/pop or start/end range named by -p */
	/* an interactive session (gprof-cli launch): the recorder opens and closes the
	 * windows (start / stop); the application has no trigger.  The collectors treat it
	 * as a capture mode: records go to the window that holds their time, CUPTI's kinds
	 * follow the windows */
	GP_CAPTURE_SESSION = 3,
};

/* --capture-range-end.  0 is nsys's default, stop-shutdown. */
enum gp_capture_end {
	GP_CAPTURE_END_STOP_SHUTDOWN = 0,   /* first range only, then end the session */
	GP_CAPTURE_END_STOP = 1,	    /* first range only, the app runs on */
	GP_CAPTURE_END_NONE = 2,	    /* range ends are ignored: collect until exit */
	GP_CAPTURE_END_REPEAT = 3,	    /* one report per range, up to max_ranges (0 = all) */
	GP_CAPTURE_END_REPEAT_SHUTDOWN = 4, /* repeat, then end the session after max_ranges */
};

/* Why a window opened or closed (gp_capture_window.reason, gp_rec_capture.reason). */
enum gp_capture_reason {
	GP_CAPTURE_REASON_NONE = 0,
	GP_CAPTURE_REASON_NVTX = 1,	    /* the -p range was pushed/started, popped/ended */
	GP_CAPTURE_REASON_CUDA = 2,	    /* cuProfilerStart / cuProfilerStop */
	GP_CAPTURE_REASON_DELAY = 3,	    /* -y/--delay expired (recorder) */
	GP_CAPTURE_REASON_PROCESS_EXIT = 4, /* reserved: window closed by the end of the app */
	GP_CAPTURE_REASON_SESSION = 5,	    /* gprof-cli start / stop (the recorder) */
};

struct gp_capture_window {
	_Atomic uint64_t start_ns; /* CLOCK_MONOTONIC ns */
	_Atomic uint64_t stop_ns;  /* 0 = open */
	uint32_t pid;		   /* process that opened it (0 = the recorder) */
	uint32_t reason;	   /* enum gp_capture_reason of the start */
};

struct gp_control {
	/* settings: written by the recorder before the application starts */
	uint32_t magic, version, size;
	uint32_t mode;		  /* enum gp_capture_mode */
	uint32_t end;		  /* enum gp_capture_end */
	uint32_t max_ranges;	  /* repeat:N / repeat-shutdown:N; 0 = unlimited */
	uint64_t armed_ns;	  /* triggers before this CLOCK_MONOTONIC time are ignored (-y) */
	uint32_t nvtx_any_domain; /* -p range@* */
	/* 1 in an interactive session (gprof-cli launch): `done` then means "no window armed
	 * now", not "no window ever again": a later `start` may arm one */
	uint32_t session;
	char nvtx_message[GP_CAPTURE_TEXT_MAX]; /* -p message, unescaped */
	char nvtx_domain[GP_CAPTURE_TEXT_MAX];	/* "" = default domain (unless any) */
	/* A time-stamp counter sample the recorder took as it made the page (x86-64; 0 and 0
	 * elsewhere): rdtsc value tsc_sample read at CLOCK_MONOTONIC tsc_sample_ns (the middle
	 * of the tightest of 5 rdtsc / clock_gettime / rdtsc reads).  A process whose clock
	 * has no line yet takes it as its first calibration sample (collectors/producer.c
	 * "the clock"): the line then starts at its first time-stamp once CLK_FIRST_NS has
	 * passed since the recorder's start, not CLK_FIRST_NS after the process's own, and
	 * its first milliseconds are not read through clock_gettime.  Same host: one TSC. */
	uint64_t tsc_sample, tsc_sample_ns; /* (gp_tsc_sample below) */
	/* state: shared by the recorder and every producer */
	_Alignas(64) _Atomic uint32_t collecting;
	_Atomic uint32_t lock;
	_Atomic uint32_t nwindows;
	_Atomic uint32_t done;
	_Atomic uint32_t shutdown;
	_Atomic uint32_t flush_epoch; /* flush requests made so far (futex word) */
	/* rings the recorder still accepts ("Rings" above): a producer takes one (CAS
	 * decrement) before it offers a ring, and uses the socket alone when there is none;
	 * the recorder gives it back when the connection ends */
	_Atomic int32_t ring_slots;
	struct gp_capture_window win[GP_CAPTURE_MAX_WINDOWS];
};

#if defined(__x86_64__)
#include <x86intrin.h>
/* A (TSC, CLOCK_MONOTONIC) pair read as close together as can be: the middle of the
 * tightest of 5 rdtsc / mono() / rdtsc reads into *tsc (ticks) and its mono() into *ns
 * (ns); returns that read's window in ticks (the pair's uncertainty).  mono: the
 * caller's CLOCK_MONOTONIC in ns.  gp_control.tsc_sample (the recorder) and every
 * calibration sample of a producer's clock (collectors/producer.c "the clock") are
 * taken with it. */
static inline uint64_t gp_tsc_sample(uint64_t (*mono)(void), uint64_t *tsc, uint64_t *ns)
{
	uint64_t best = UINT64_MAX;

	for (int i = 0; i < 5; i++) {
		uint64_t a = __rdtsc(), n = mono(), b = __rdtsc();

		if (b - a < best) {
			best = b - a;
			*tsc = a + (b - a) / 2;
			*ns = n;
		}
	}
	return best;
}
#endif

/*
 * ---- Rings: frames through shared memory ----
 *
 * A producer that may (gp_control.ring_slots, below) moves its frames through a ring of
 * shared memory instead of sending each one: no system call and no wake-up of the
 * recorder per frame.  It creates a memfd of GP_RING_HDR_BYTES + GP_RING_BYTES, maps it,
 * and makes its first message on the new connection a frame of type GP_FRAME_RING
 * (payload struct gp_ring_offer) carrying the memfd in SCM_RIGHTS.  From then on every
 * frame of the connection goes through the ring, in the order it would have been sent,
 * and the socket carries only doorbells (any message: the recorder discards them) and
 * the connection's end.
 *
 * Ring layout: struct gp_ring_hdr in the first GP_RING_HDR_BYTES, then `data_bytes`
 * (a power of two) of data.  `head` (producer) and `tail` (recorder) count bytes since
 * the start and only grow; the data in [tail, head) is frames, each as it would be sent
 * (struct gp_frame_hdr + records) padded to 8 bytes, at offset pos % data_bytes.  A
 * frame never wraps: when it does not fit before the end, the producer skips to the
 * start, writing a 0 magic at the skip point when at least a frame header fits there
 * (the recorder skips a rest smaller than a frame header, or one with magic 0).
 * The producer writes a frame, then publishes head (release); when the ring is full it
 * sets `waiting` and FUTEX_WAITs on tail_seq (a shared futex), checking that the
 * recorder is still there.  The recorder reads head (acquire), consumes, publishes tail
 * (release), increments tail_seq and FUTEX_WAKEs it when `waiting` was set.
 * Doorbell: a recorder going to sleep sets `sleeping`, then looks at every ring once more
 * (sequentially consistent on both sides); a producer that finds `sleeping` set after
 * publishing clears it and sends one doorbell.  A busy recorder polls its rings.
 * `closed`: the recorder saw the connection end (the application closed our socket):
 * the producer reconnects (and makes a new ring) before its next frame.
 * A frame a hostile producer writes wrong (bad magic, length, or past head) ends the
 * connection (counted as a bad frame).
 */
#define GP_RING_MAGIC	  0x474e5247u /* "GRNG" */
#define GP_RING_VERSION	  1
#define GP_RING_HDR_BYTES 4096u	     /* the header page before the data */
#define GP_RING_BYTES	  (4u << 20) /* data bytes of a producer's ring */
#define GP_RING_SLOTS	  8	     /* rings a recorder accepts at once (gp_control) */

/* Payload of the GP_FRAME_RING frame (the connection's first message). */
struct gp_ring_offer {
	uint64_t data_bytes; /* GP_RING_BYTES */
};

struct gp_ring_hdr {
	uint32_t magic;				/* GP_RING_MAGIC */
	uint32_t version;			/* GP_RING_VERSION */
	uint64_t data_bytes;			/* a power of two */
	_Alignas(64) _Atomic uint64_t head;	/* producer: bytes published */
	_Alignas(64) _Atomic uint64_t tail;	/* recorder: bytes consumed */
	_Atomic uint32_t tail_seq;		/* recorder: +1 per tail update (futex word) */
	_Atomic uint32_t waiting;		/* producer: waiting for space */
	_Alignas(64) _Atomic uint32_t sleeping; /* recorder: asleep, wants a doorbell */
	_Atomic uint32_t closed;		/* recorder: connection over, reconnect */
};

/*
 * ---- Thread buffers in shared memory: what a process that dies leaves behind ----
 *
 * A producer keeps its thread buffers, its pending-strings frame and its scratch frame in
 * one memfd of GP_TBUFS_SLOTS slots of GP_TBUF_STRIDE bytes (a sparse file: a slot takes
 * memory once used), and passes it to the recorder on each new connection in a message of
 * its own: a struct gp_frame_hdr of type GP_FRAME_TBUFS (length 0) carrying the memfd in
 * SCM_RIGHTS.  Slot 0 holds struct gp_tbufs_hdr; slot 1 the pending strings, slot 2 the
 * scratch frame, slots 3.. the thread buffers, in that order of age.  Each slot starts
 * with a frame under construction, struct gp_slot_frame: `len` bytes of complete records
 * after the frame header space (a record is counted in `len` once it is committed).  The
 * header space holds the frame header the frame was last sent with, or seq UINT64_MAX once
 * the frame was emptied after a send.
 *
 * When a connection ends and its process is gone (an exit that skipped the exit flush:
 * _exit, a crash under a handler of the application's, SIGKILL, a thread blocked in a
 * send), the recorder reads the slots in order and decodes each non-empty one as a frame
 * of the connection, except a frame whose header says it was sent already (magic, and a
 * seq below the connection's next expected one): every record the process committed
 * reaches the report.  A process that execs sets `detached` first (its buffers are flushed
 * then); a forked child keeps private copies and has none (its records are flushed as
 * before).  Buffers past GP_TBUFS_SLOTS threads alive at once are private.
 */
#define GP_TBUFS_MAGIC	 0x46425447u /* "GTBF" */
#define GP_TBUFS_VERSION 1
#define GP_TBUF_STRIDE	 (80u << 10) /* bytes per slot (a multiple of the page size) */
#define GP_TBUFS_SLOTS	 1024u	     /* slots in a producer's memfd */
#define GP_TBUF_FIRST	 3u	     /* the first thread buffer's slot */

/* Slot 0 of a producer's thread-buffer memfd. */
struct gp_tbufs_hdr {
	uint32_t magic;		   /* GP_TBUFS_MAGIC */
	uint32_t version;	   /* GP_TBUFS_VERSION */
	uint32_t stride;	   /* GP_TBUF_STRIDE */
	_Atomic uint32_t nslots;   /* slots handed out so far (GP_TBUF_FIRST..GP_TBUFS_SLOTS) */
	_Atomic uint32_t detached; /* 1: the process exec'd; nothing to read here */
	uint32_t pad;
};

/* The start of every slot but 0 (the producer's struct gp_frame). */
struct gp_slot_frame {
	uint32_t len;  /* bytes of complete records after the frame header space */
	uint32_t nrec; /* records in them */
	/* struct gp_frame_hdr, then `len` bytes of records (GP_FRAME_MAX in all) */
	_Alignas(8) unsigned char data[];
};

/* Records that describe state rather than events: they pass the capture gate and the
 * recorder copies them into every per-range report. */
static inline int gp_rec_is_state(uint16_t type)
{
	return type == GP_REC_HELLO || type == GP_REC_STRING || type == GP_REC_THREAD_NAME ||
	       type == GP_REC_CAPTURE || type == GP_REC_NVTX_DOMAIN ||
	       type == GP_REC_NVTX_CATEGORY || type == GP_REC_NVTX_SCHEMA ||
	       type == GP_REC_NVTX_ENUM || (type >= 0x308 && type <= 0x30a) || type == 0x401 ||
	       type == 0x404 || type == 0x502 || type == 0x604;
	/* 0x308-0x30a: GP_REC_CUDA_DEVICE, _CONTEXT, _STREAM (wire_cuda.h);
	 * 0x401, 0x404: GP_REC_METRICS_METRIC, _NOTE (wire_metrics.h);
	 * 0x502: GP_REC_MPI_RANK (wire_mpi.h);
	 * 0x604: GP_REC_SAMPLING_CONFIG (wire_sampling.h) */
}

/* Round a record payload size up to the wire's 8-byte alignment. */
#define GP_REC_ALIGN(n) (((n) + 7u) & ~7u)

#include "wire_cuda.h"
#include "wire_hostmem.h"
#include "wire_metrics.h"
#include "wire_mpi.h"
#include "wire_sampling.h"

#endif
