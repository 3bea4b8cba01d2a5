/*
 * test_recorder.c - the recorder and report writer end to end through their API:
 * recorder_start(), forked sender processes writing hand-made wire frames to the
 * channel, recorder_finish(), then SQL on the report.  Covers row counts under
 * concurrency (many threads and processes), StringIds/ThreadNames/PROCESSES, NVTX
 * push/pop, marks, start/end pairing (cross-thread, end before start, never ended),
 * domains, categories, registered strings, colours and payloads, OSRT_API, ENUM tables,
 * META rows, bad and lost frames, report-exists / missing-folder errors, a recorder
 * SIGKILLed mid-run, and the trace values a session did not see (recorder_config.expect).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/recorder.h"
#include "core/recorder_internal.h"
#include "core/report.h"
#include "core/util.h"
#include "core/wire.h"
#include "exporters/report_open.h"

/* ---- a tiny producer ------------------------------------------------------------- */

struct tx {
	int fd;
	uint64_t seq; /* next frame sequence number (atomic: threads share a connection) */
};

struct fb {
	uint64_t buf[GP_FRAME_MAX / 8];
	size_t len;
};

static int tx_open(struct tx *t, const char *path)
{
	struct sockaddr_un sa;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, path);
	t->seq = 0;
	t->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (t->fd < 0 || connect(t->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	return 0;
}

static void fb_init(struct fb *f)
{
	f->len = sizeof(struct gp_frame_hdr);
}

static int fb_send(struct tx *t, struct fb *f)
{
	struct gp_frame_hdr *h = (struct gp_frame_hdr *)f->buf;

	if (f->len == sizeof(*h))
		return 0;
	h->magic = GP_WIRE_MAGIC;
	h->version = GP_WIRE_VERSION;
	h->type = GP_FRAME_RECORDS;
	h->length = (uint32_t)(f->len - sizeof(*h));
	h->pid = (uint32_t)getpid();
	h->seq = __atomic_fetch_add(&t->seq, 1, __ATOMIC_RELAXED);
	if (send(t->fd, f->buf, f->len, MSG_NOSIGNAL) != (ssize_t)f->len)
		return -1;
	fb_init(f);
	return 0;
}

/* Reserve a zeroed record; sends the frame first when it would not fit. */
static void *fb_rec(struct tx *t, struct fb *f, uint16_t type, size_t size, uint32_t tid)
{
	struct gp_rec_hdr *h;

	size = GP_REC_ALIGN(size);
	if (f->len + size > GP_FRAME_MAX)
		fb_send(t, f);
	h = (struct gp_rec_hdr *)((char *)f->buf + f->len);
	memset(h, 0, size);
	h->type = type;
	h->size = (uint16_t)size;
	h->tid = tid;
	f->len += size;
	return h;
}

static void put_string(struct tx *t, struct fb *f, uint32_t id, const char *s)
{
	size_t n = strlen(s);
	struct gp_rec_string *r = fb_rec(t, f, GP_REC_STRING, sizeof(*r) + n, 1);

	r->id = id;
	r->len = (uint32_t)n;
	memcpy(r->text, s, n);
}

static void put_hello(struct tx *t, struct fb *f, uint32_t exe_sid, const char *exe)
{
	struct gp_rec_hello *h = fb_rec(t, f, GP_REC_HELLO, sizeof(*h), (uint32_t)gettid());

	h->pid = (uint32_t)getpid();
	h->ppid = (uint32_t)getppid();
	h->collector = GP_COLLECTOR_INJECT;
	h->exe_sid = exe_sid;
	h->start_ns = gp_monotonic_ns();
	put_string(t, f, exe_sid, exe);
}

static struct gp_rec_nvtx *put_nvtx(struct tx *t, struct fb *f, uint16_t type, uint32_t tid,
				    uint64_t start, uint64_t end, uint32_t text_sid, uint16_t flags)
{
	struct gp_rec_nvtx *e = fb_rec(t, f, type, sizeof(*e), tid);

	e->start_ns = start;
	e->end_ns = end;
	e->text_sid = text_sid;
	e->flags = flags;
	return e;
}

static void put_end(struct tx *t, struct fb *f, uint32_t tid, uint64_t end, uint64_t range_id)
{
	struct gp_rec_nvtx_end *e = fb_rec(t, f, GP_REC_NVTX_END, sizeof(*e), tid);

	e->end_ns = end;
	e->range_id = range_id;
}

/* ---- recorder and report helpers --------------------------------------------------- */

struct fixture {
	char dir[64];
	char path[128];
	struct recorder_config cfg;
	struct recorder *rec;
	struct recorder_stats st;
	sqlite3 *db;
};

static struct report_meta capture_meta[] = {
    {"GPROF_COMMAND_LINE", "./app --flag"},
    {"OS_RUNTIME_OPTIONS:DURATION_THRESHOLD_NS", "1000"},
};

static void fx_init(struct fixture *fx)
{
	memset(fx, 0, sizeof(*fx));
	strcpy(fx->dir, "/tmp/gprof-test-rec-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/report.db", fx->dir);
	fx->cfg.report_path = fx->path;
	fx->cfg.session_start_ns = gp_monotonic_ns();
	fx->cfg.session_start_utc_ns = gp_realtime_ns();
	fx->cfg.capture_meta = capture_meta;
	fx->cfg.n_capture_meta = 2;
}

static void fx_start(struct fixture *fx)
{
	assert_int_equal(recorder_start(&fx->rec, &fx->cfg), 0);
}

static void fx_finish(struct fixture *fx)
{
	struct report_app_status app = {
	    .pid = 1234, .exit_status = 3, .signaled = 0, .end_ns = gp_monotonic_ns()};

	assert_int_equal(recorder_finish(fx->rec, &app, 2000, &fx->st), 0);
	assert_int_equal(sqlite3_open_v2(fx->path, &fx->db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
}

static void fx_cleanup(struct fixture *fx)
{
	char cmd[200];

	recorder_stats_release(&fx->st);
	if (fx->db)
		sqlite3_close(fx->db);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	assert_int_equal(system(cmd), 0);
}

static int64_t q_int(sqlite3 *db, const char *fmt, ...)
{
	char sql[1024];
	sqlite3_stmt *st;
	int64_t v = -999;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("bad sql %s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_type(st, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static char *q_text(sqlite3 *db, const char *fmt, ...)
{
	static char out[4][512];
	static int k;
	char sql[1024], *o = out[k++ & 3];
	sqlite3_stmt *st;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	strcpy(o, "(none)");
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("bad sql %s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(o, 512, "%s",
			 sqlite3_column_type(st, 0) == SQLITE_NULL
			     ? "(null)"
			     : (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return o;
}

static void wait_ok(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- tests ------------------------------------------------------------------------- */

struct basic_info {
	pid_t pid, tid;
	uint64_t t0;
};

static void test_basic(void **state)
{
	struct fixture fx;
	int pfd[2];
	struct basic_info bi;
	pid_t pid;

	fx_init(&fx);
	fx_start(&fx);
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	if (pid == 0) {
		static struct fb f;
		struct tx t;
		struct gp_rec_thread_name *tn;
		struct gp_rec_osrt *o;
		struct gp_rec_loss *l;
		int i;

		bi.pid = getpid();
		bi.tid = gettid();
		bi.t0 = gp_monotonic_ns();
		if (tx_open(&t, recorder_channel_path(fx.rec)) < 0)
			_exit(1);
		fb_init(&f);
		put_hello(&t, &f, 1, "myapp");
		put_string(&t, &f, 2, "work");
		put_string(&t, &f, 3, "main-thread");
		put_string(&t, &f, 4, "read");
		tn = fb_rec(&t, &f, GP_REC_THREAD_NAME, sizeof(*tn), bi.tid);
		tn->tid = bi.tid;
		tn->name_sid = 3;
		tn->priority = 5;
		for (i = 0; i < 10; i++)
			put_nvtx(&t, &f, GP_REC_NVTX_EVENT, bi.tid, bi.t0 + i * 1000u,
				 bi.t0 + i * 1000u + 500, 2, GP_NVTX_PUSHPOP);
		for (i = 0; i < 3; i++)
			put_nvtx(&t, &f, GP_REC_NVTX_EVENT, bi.tid, bi.t0 + 20000, bi.t0 + 20000, 2,
				 0);
		o = fb_rec(&t, &f, GP_REC_OSRT, sizeof(*o), bi.tid);
		o->start_ns = bi.t0 + 100;
		o->end_ns = bi.t0 + 5100;
		o->ret = 42;
		o->name_sid = 4;
		l = fb_rec(&t, &f, GP_REC_LOSS, sizeof(*l), bi.tid);
		l->dropped_records = 2;
		l->failed_sends = 1;
		if (fb_send(&t, &f) < 0)
			_exit(2);
		if (write(pfd[1], &bi, sizeof(bi)) != sizeof(bi))
			_exit(3);
		_exit(0);
	}
	assert_int_equal(read(pfd[0], &bi, sizeof(bi)), sizeof(bi));
	close(pfd[0]);
	close(pfd[1]);
	wait_ok(pid);
	fx_finish(&fx);

	assert_int_equal(fx.st.connections, 1);
	assert_int_equal(fx.st.report.processes, 1);
	assert_int_equal(fx.st.frames, 1);
	assert_int_equal(fx.st.report.records, 21); /* hello+4 strings+name+10+3+osrt+loss */
	assert_int_equal(fx.st.report.bad_frames, 0);
	assert_int_equal(fx.st.report.lost_frames, 0);
	assert_int_equal(fx.st.report.dropped_records, 2);
	assert_int_equal(fx.st.report.failed_sends, 1);

	assert_int_equal(q_int(fx.db, "select count(*) from NVTX_EVENTS where eventType = 59 "
				      "and text = 'work' and textId is null and end - start = 500"),
			 10);
	assert_int_equal(q_int(fx.db, "select min(start) from NVTX_EVENTS where eventType = 59"),
			 (int64_t)(bi.t0 - fx.cfg.session_start_ns));
	assert_int_equal(q_int(fx.db, "select count(*) from NVTX_EVENTS where eventType = 34 "
				      "and end is null and domainId = 0 and color is null"),
			 3);
	assert_int_equal(q_int(fx.db, "select count(distinct globalTid) from NVTX_EVENTS"), 1);
	assert_int_equal(q_int(fx.db, "select globalTid from NVTX_EVENTS limit 1"),
			 report_global_tid(bi.pid, bi.tid));
	assert_string_equal(q_text(fx.db,
				   "select s.value from ThreadNames t join StringIds s "
				   "on s.id = t.nameId where t.globalTid = %lld",
				   (long long)report_global_tid(bi.pid, bi.tid)),
			    "main-thread");
	assert_int_equal(q_int(fx.db, "select priority from ThreadNames"), 5);
	assert_string_equal(q_text(fx.db, "select name from PROCESSES where pid = %d", bi.pid),
			    "myapp");
	assert_int_equal(q_int(fx.db, "select globalPid from PROCESSES"),
			 report_global_pid(bi.pid));
	assert_int_equal(q_int(fx.db, "select count(*) from OSRT_API o join StringIds s on "
				      "s.id = o.nameId where s.value = 'read' and o.returnValue = "
				      "42 and o.eventClass = 27 and o.end - o.start = 5000 and "
				      "o.nestingLevel = 0 and o.callchainId = 0"),
			 1);
	assert_string_equal(q_text(fx.db, "select value from META_DATA_EXPORT where name = "
					  "'GPROF_FINISHED_CLEANLY'"),
			    "true");
	assert_string_equal(q_text(fx.db, "select value from META_DATA_EXPORT where name = "
					  "'GPROF_RECORDS'"),
			    "21");
	assert_string_equal(q_text(fx.db, "select value from META_DATA_EXPORT where name = "
					  "'GPROF_LOST_DROPPED_RECORDS'"),
			    "2");
	assert_string_equal(q_text(fx.db, "select value from META_DATA_EXPORT where name = "
					  "'GPROF_APP_EXIT_STATUS'"),
			    "3");
	assert_string_equal(q_text(fx.db, "select value from META_DATA_EXPORT where name = "
					  "'GPROF_COMMAND_LINE'"),
			    "./app --flag");
	assert_string_equal(q_text(fx.db, "select value from META_DATA_EXPORT where name = "
					  "'EXPORT_PRODUCT_NAME'"),
			    "gprof-cli");
	assert_string_equal(q_text(fx.db, "select value from META_DATA_CAPTURE where name = "
					  "'OS_RUNTIME_OPTIONS:DURATION_THRESHOLD_NS'"),
			    "1000");
	assert_int_equal(q_int(fx.db,
			       "select count(*) from META_DATA_CAPTURE where name = "
			       "'SESSION_START_MONOTONIC_NS' and value = '%llu'",
			       (unsigned long long)fx.cfg.session_start_ns),
			 1);
	fx_cleanup(&fx);
}

/* ---- concurrency: NPROC processes x NTHR threads x NRANGES ranges ---------------- */

#define NPROC	3
#define NTHR	12
#define NRANGES 10000

struct sender_arg {
	struct tx *t;
	int idx;
};

static void *sender_thread(void *p)
{
	struct sender_arg *a = p;
	struct fb *f = malloc(sizeof(*f));
	uint32_t tid = (uint32_t)gettid();
	uint64_t t0 = gp_monotonic_ns();
	int i;

	fb_init(f);
	for (i = 0; i < NRANGES; i++)
		put_nvtx(a->t, f, GP_REC_NVTX_EVENT, tid, t0 + (uint64_t)i * 10,
			 t0 + (uint64_t)i * 10 + 5, 2, GP_NVTX_PUSHPOP);
	fb_send(a->t, f);
	free(f);
	return NULL;
}

static void test_concurrency(void **state)
{
	struct fixture fx;
	pid_t pids[NPROC];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)] = "";
	int p, pfd[2];

	/* fork before the recorder's threads exist, and send the children its socket's path:
	 * a child forked while a recorder thread holds ASan's allocator lock (make
	 * SANITIZE=address) would wait for it forever in its first malloc */
	fx_init(&fx);
	assert_int_equal(pipe(pfd), 0);
	for (p = 0; p < NPROC; p++) {
		pids[p] = fork();
		if (pids[p] == 0) {
			static struct fb f;
			static struct tx t;
			pthread_t th[NTHR];
			struct sender_arg args[NTHR];
			int i;

			close(pfd[1]);
			if (read(pfd[0], path, sizeof(path)) != (ssize_t)sizeof(path) ||
			    tx_open(&t, path) < 0)
				_exit(1);
			fb_init(&f);
			put_hello(&t, &f, 1, "worker");
			put_string(&t, &f, 2, "range");
			fb_send(&t, &f);
			for (i = 0; i < NTHR; i++) {
				args[i].t = &t;
				args[i].idx = i;
				pthread_create(&th[i], NULL, sender_thread, &args[i]);
			}
			for (i = 0; i < NTHR; i++)
				pthread_join(th[i], NULL);
			_exit(0);
		}
	}
	close(pfd[0]);
	fx_start(&fx);
	snprintf(path, sizeof(path), "%s", recorder_channel_path(fx.rec));
	for (p = 0; p < NPROC; p++) /* one whole path each (at most PIPE_BUF: atomic) */
		assert_int_equal(write(pfd[1], path, sizeof(path)), (ssize_t)sizeof(path));
	close(pfd[1]);
	for (p = 0; p < NPROC; p++)
		wait_ok(pids[p]);
	fx_finish(&fx);
	assert_int_equal(fx.st.connections, NPROC);
	assert_int_equal(fx.st.report.processes, NPROC);
	assert_int_equal(fx.st.report.bad_frames, 0);
	assert_int_equal(fx.st.report.lost_frames, 0);
	assert_int_equal(q_int(fx.db, "select count(*) from NVTX_EVENTS where text = 'range'"),
			 NPROC * NTHR * NRANGES);
	assert_int_equal(q_int(fx.db, "select count(distinct globalTid) from NVTX_EVENTS"),
			 NPROC * NTHR);
	assert_int_equal(q_int(fx.db, "select count(*) from PROCESSES where name = 'worker'"),
			 NPROC);
	assert_int_equal(q_int(fx.db, "select max(c) from (select count(*) c from NVTX_EVENTS "
				      "group by globalTid)"),
			 NRANGES);
	fx_cleanup(&fx);
}

/* ---- shared-memory rings (wire.h "Rings") --------------------------------------------- */

#define TRING_BYTES (128u << 10) /* small, so that frames wrap around it */

struct tring {
	struct gp_ring_hdr *h;
	unsigned char *data;
	uint64_t head;
};

/* Offer a ring of TRING_BYTES on t (the connection's first message). */
static int tring_open(struct tx *t, struct tring *r)
{
	size_t len = GP_RING_HDR_BYTES + TRING_BYTES;
	int mfd = memfd_create("test-ring", MFD_CLOEXEC);
	struct {
		struct gp_frame_hdr fh;
		struct gp_ring_offer o;
	} msg;
	union {
		struct cmsghdr c;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = {&msg, sizeof(msg)};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cm.buf,
			    .msg_controllen = sizeof(cm.buf)};
	void *m;

	if (mfd < 0 || ftruncate(mfd, (off_t)len) < 0)
		return -1;
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (m == MAP_FAILED)
		return -1;
	r->h = m;
	r->data = (unsigned char *)m + GP_RING_HDR_BYTES;
	r->head = 0;
	r->h->magic = GP_RING_MAGIC;
	r->h->version = GP_RING_VERSION;
	r->h->data_bytes = TRING_BYTES;
	memset(&msg, 0, sizeof(msg));
	msg.fh.magic = GP_WIRE_MAGIC;
	msg.fh.version = GP_WIRE_VERSION;
	msg.fh.type = GP_FRAME_RING;
	msg.fh.length = sizeof(msg.o);
	msg.o.data_bytes = TRING_BYTES;
	memset(&cm, 0, sizeof(cm));
	cm.c.cmsg_level = SOL_SOCKET;
	cm.c.cmsg_type = SCM_RIGHTS;
	cm.c.cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(&cm.c), &mfd, sizeof(int));
	if (sendmsg(t->fd, &mh, MSG_NOSIGNAL) != (ssize_t)sizeof(msg))
		return -1;
	close(mfd);
	return 0;
}

/* Put frame f into the ring as the producer runtime does (wait for space, skip to the
 * start where it does not fit, publish, ring the doorbell when asked). */
static void tring_put(struct tx *t, struct tring *r, struct fb *f)
{
	struct gp_frame_hdr *h = (struct gp_frame_hdr *)f->buf;
	uint64_t need = (f->len + 7) & ~7ull, off = r->head & (TRING_BYTES - 1);
	uint64_t pad = off + need > TRING_BYTES ? TRING_BYTES - off : 0;

	h->magic = GP_WIRE_MAGIC;
	h->version = GP_WIRE_VERSION;
	h->type = GP_FRAME_RECORDS;
	h->length = (uint32_t)(f->len - sizeof(*h));
	h->pid = (uint32_t)getpid();
	h->seq = t->seq++;
	while (r->head + pad + need - atomic_load(&r->h->tail) > TRING_BYTES)
		usleep(100);
	if (pad >= sizeof(*h))
		memset(r->data + off, 0, 4);
	memcpy(r->data + ((r->head + pad) & (TRING_BYTES - 1)), f->buf, f->len);
	r->head += pad + need;
	atomic_store(&r->h->head, r->head);
	if (atomic_exchange(&r->h->sleeping, 0))
		send(t->fd, "", 1, MSG_NOSIGNAL);
	fb_init(f);
}

static void test_ring(void **state)
{
	struct fixture fx;
	pid_t pid;

	fx_init(&fx);
	fx_start(&fx);
	pid = fork();
	if (pid == 0) {
		static struct fb f;
		struct tx t, t2;
		struct tring r, r2;
		uint64_t t0 = gp_monotonic_ns();

		if (tx_open(&t, recorder_channel_path(fx.rec)) < 0 || tring_open(&t, &r) < 0)
			_exit(1);
		fb_init(&f);
		put_hello(&t, &f, 1, "ringer");
		put_string(&t, &f, 2, "ring-range");
		tring_put(&t, &r, &f);
		/* 300 frames of 100 compact ranges (~3.3 KiB each) wrap the 128 KiB ring
		 * several times; a pause now and then lets the recorder fall asleep and
		 * need a doorbell */
		for (int k = 0; k < 300; k++) {
			for (int i = 0; i < 100; i++) {
				struct gp_rec_nvtx_pushpop *p =
				    fb_rec(&t, &f, GP_REC_NVTX_PUSHPOP, sizeof(*p), 77);

				p->start_ns = t0 + (uint64_t)(k * 100 + i) * 10;
				p->end_ns = p->start_ns + 5;
				p->text_sid = 2;
				p->flags = GP_NVTX_PUSHPOP;
			}
			tring_put(&t, &r, &f);
			if (k % 100 == 99)
				usleep(60000);
		}
		/* a second connection whose ring holds a frame longer than the ring allows */
		if (tx_open(&t2, recorder_channel_path(fx.rec)) < 0 || tring_open(&t2, &r2) < 0)
			_exit(2);
		{
			struct gp_frame_hdr bad = {GP_WIRE_MAGIC,      GP_WIRE_VERSION,
						   GP_FRAME_RECORDS,   GP_FRAME_MAX,
						   (uint32_t)getpid(), 0};

			memcpy(r2.data, &bad, sizeof(bad));
			atomic_store(&r2.h->head, (uint64_t)(sizeof(bad) + 8));
			send(t2.fd, "", 1, MSG_NOSIGNAL);
		}
		_exit(0);
	}
	wait_ok(pid);
	fx_finish(&fx);
	assert_int_equal(q_int(fx.db, "select count(*) from NVTX_EVENTS where eventType = 59 and "
				      "text = 'ring-range' and end - start = 5"),
			 30000);
	assert_int_equal(q_int(fx.db, "select count(*) from NVTX_EVENTS"), 30000);
	assert_int_equal(fx.st.report.lost_frames, 0);
	assert_int_equal(fx.st.report.bad_frames, 1);
	fx_cleanup(&fx);
}

/* ---- the spool (recorder.c): frames past the memory queue, and a full disk ------------ */

/* One process sends `frames` frames of 1000 compact ranges (and its hello + string);
 * returns the records sent. */
static uint64_t spool_sender(struct fixture *fx, int frames)
{
	pid_t pid = fork();

	if (pid == 0) {
		static struct fb f;
		struct tx t;
		uint64_t t0 = gp_monotonic_ns();

		if (tx_open(&t, recorder_channel_path(fx->rec)) < 0)
			_exit(1);
		fb_init(&f);
		put_hello(&t, &f, 1, "spooler");
		put_string(&t, &f, 2, "spooled");
		fb_send(&t, &f);
		for (int k = 0; k < frames; k++) {
			if (k == frames - 1) { /* state in the last frame (the spool is full) */
				struct gp_rec_thread_name *n;

				put_string(&t, &f, 3, "late-name");
				n = fb_rec(&t, &f, GP_REC_THREAD_NAME, sizeof(*n), 9);
				n->tid = 9;
				n->name_sid = 3;
			}
			for (int i = 0; i < 1000; i++) {
				struct gp_rec_nvtx_pushpop *p =
				    fb_rec(&t, &f, GP_REC_NVTX_PUSHPOP, sizeof(*p), 9);

				p->start_ns = t0 + (uint64_t)(k * 1000 + i) * 10;
				p->end_ns = p->start_ns + 3;
				p->text_sid = 2;
				p->flags = GP_NVTX_PUSHPOP;
			}
			if (fb_send(&t, &f) < 0)
				_exit(2);
		}
		_exit(0);
	}
	wait_ok(pid);
	return (uint64_t)frames * 1000;
}

static void test_spool(void **state)
{
	struct fixture fx;
	uint64_t sent;

	/* no room in memory at all: every item goes through the spool file */
	recorder_test_queue_max = 1;
	fx_init(&fx);
	fx_start(&fx);
	sent = spool_sender(&fx, 300);
	fx_finish(&fx);
	recorder_test_queue_max = 0;
	assert_int_equal(q_int(fx.db, "select count(*) from NVTX_EVENTS where text = 'spooled' "
				      "and end - start = 3"),
			 sent);
	assert_int_equal(q_int(fx.db, "select count(*) from PROCESSES"), 1);
	assert_true(fx.st.report.spool_bytes > sent * sizeof(struct gp_rec_nvtx_pushpop));
	assert_int_equal(fx.st.report.spool_lost, 0);
	assert_int_equal(fx.st.report.lost_frames, 0);
	assert_int_equal(fx.st.reader_stalls, 0);
	assert_int_equal(q_int(fx.db, "select value from META_DATA_EXPORT where name = "
				      "'GPROF_SPOOL_BYTES'"),
			 (int64_t)fx.st.report.spool_bytes);
	fx_cleanup(&fx);
}

static void test_spool_disk_full(void **state)
{
	struct fixture fx;
	uint64_t sent, rows;

	/* the spool takes 1 MiB, then fails as a full disk does: frames are lost and
	 * counted to the record, the connection's state (open, close) is kept */
	recorder_test_queue_max = 1;
	recorder_test_spool_max = 1u << 20;
	fx_init(&fx);
	fx_start(&fx);
	sent = spool_sender(&fx, 300);
	fx_finish(&fx);
	recorder_test_queue_max = 0;
	recorder_test_spool_max = 0;
	rows = (uint64_t)q_int(fx.db, "select count(*) from NVTX_EVENTS where text = 'spooled'");
	assert_true(fx.st.report.spool_lost > 0);
	assert_int_equal(rows + fx.st.report.spool_lost, sent);
	assert_int_equal(fx.st.report.lost_frames, 0); /* counted once: in spool_lost */
	/* the state records of a frame the spool dropped are kept: the thread's name */
	assert_string_equal(q_text(fx.db, "select s.value from ThreadNames t join StringIds s on "
					  "s.id = t.nameId"),
			    "late-name");
	assert_int_equal(q_int(fx.db, "select count(*) from PROCESSES"), 1);
	assert_int_equal(q_int(fx.db, "select value from META_DATA_EXPORT where name = "
				      "'GPROF_LOST_SPOOL_RECORDS'"),
			 (int64_t)fx.st.report.spool_lost);
	assert_string_equal(q_text(fx.db, "select value from META_DATA_EXPORT where name = "
					  "'GPROF_FINISHED_CLEANLY'"),
			    "true");
	fx_cleanup(&fx);
}

/* ---- start/end pairing, domains, categories, registered strings, payloads ---------- */

static void test_nvtx_kinds(void **state)
{
	struct fixture fx;
	pid_t pid;

	fx_init(&fx);
	fx_start(&fx);
	pid = fork();
	if (pid == 0) {
		static struct fb f;
		struct tx t, t2;
		uint64_t t0 = gp_monotonic_ns();
		struct gp_rec_nvtx *e;
		struct gp_rec_nvtx_domain *d;
		struct gp_rec_nvtx_category *k;
		struct gp_rec_nvtx_pushpop *p;

		if (tx_open(&t, recorder_channel_path(fx.rec)) < 0 ||
		    tx_open(&t2, recorder_channel_path(fx.rec)) < 0)
			_exit(1);
		fb_init(&f);
		put_hello(&t, &f, 1, "kinds");
		put_string(&t, &f, 2, "se");
		put_string(&t, &f, 3, "registered");
		put_string(&t, &f, 4, "dom1");
		put_string(&t, &f, 5, "cat-name");
		fb_send(&t, &f);
		/* range 1: starts on thread 100, ends on thread 200 (next frame) */
		e = put_nvtx(&t, &f, GP_REC_NVTX_START, 100, t0 + 1000, 0, 2, 0);
		e->range_id = 1;
		fb_send(&t, &f);
		put_end(&t, &f, 200, t0 + 3000, 1);
		fb_send(&t, &f);
		/* range 2: the end arrives before the start */
		put_end(&t, &f, 200, t0 + 9000, 2);
		fb_send(&t, &f);
		e = put_nvtx(&t, &f, GP_REC_NVTX_START, 100, t0 + 4000, 0, 2, 0);
		e->range_id = 2;
		/* range 3: never ended */
		e = put_nvtx(&t, &f, GP_REC_NVTX_START, 100, t0 + 5000, 0, 2, 0);
		e->range_id = 3;
		/* domain 7 with a category, a registered string, colour and payload */
		d = fb_rec(&t, &f, GP_REC_NVTX_DOMAIN, sizeof(*d), 100);
		d->ts_ns = t0 + 10;
		d->domain = 7;
		d->name_sid = 4;
		k = fb_rec(&t, &f, GP_REC_NVTX_CATEGORY, sizeof(*k), 100);
		k->ts_ns = t0 + 20;
		k->domain = 7;
		k->category = 9;
		k->name_sid = 5;
		e = put_nvtx(&t, &f, GP_REC_NVTX_EVENT, 100, t0 + 6000, t0 + 7000, 3,
			     GP_NVTX_PUSHPOP | GP_NVTX_TEXT_REGISTERED | GP_NVTX_HAS_COLOR);
		e->domain = 7;
		e->category = 9;
		e->color = 0xFF00FF00u;
		e->payload_type = GP_NVTX_PAYLOAD_DOUBLE;
		e->payload.d = 2.5;
		e = put_nvtx(&t, &f, GP_REC_NVTX_EVENT, 100, t0 + 6100, 0, 2,
			     GP_NVTX_PUSHPOP | GP_NVTX_OPEN);
		e->payload_type = GP_NVTX_PAYLOAD_I32;
		e->payload.i32 = -5;
		d = fb_rec(&t, &f, GP_REC_NVTX_DOMAIN, sizeof(*d), 100);
		d->ts_ns = t0 + 8000;
		d->domain = 7;
		d->destroy = 1;
		/* compact push/pop ranges (GP_REC_NVTX_PUSHPOP): one popped, one left open
		 * with a registered message */
		p = fb_rec(&t, &f, GP_REC_NVTX_PUSHPOP, sizeof(*p), 300);
		p->start_ns = t0 + 11000;
		p->end_ns = t0 + 11500;
		p->text_sid = 2;
		p->level = 1;
		p->flags = GP_NVTX_PUSHPOP;
		p = fb_rec(&t, &f, GP_REC_NVTX_PUSHPOP, sizeof(*p), 300);
		p->start_ns = t0 + 12000;
		p->text_sid = 3;
		p->flags = GP_NVTX_PUSHPOP | GP_NVTX_OPEN | GP_NVTX_TEXT_REGISTERED;
		/* a message sent as text (GP_NVTX_TEXT_INLINE), and one whose length runs
		 * past its record (refused, counted) */
		p = fb_rec(&t, &f, GP_REC_NVTX_PUSHPOP, sizeof(*p) + 16, 301);
		p->start_ns = t0 + 13000;
		p->end_ns = t0 + 13250;
		p->text_sid = 11;
		p->flags = GP_NVTX_PUSHPOP | GP_NVTX_TEXT_INLINE;
		memcpy(p + 1, "inline-text", 11);
		p = fb_rec(&t, &f, GP_REC_NVTX_PUSHPOP, sizeof(*p) + 16, 301);
		p->start_ns = t0 + 14000;
		p->end_ns = t0 + 14250;
		p->text_sid = 17;
		p->flags = GP_NVTX_PUSHPOP | GP_NVTX_TEXT_INLINE;
		fb_send(&t, &f);
		/* a second connection with the same domain handle: another domainId */
		put_hello(&t2, &f, 1, "kinds");
		put_string(&t2, &f, 2, "dom-other");
		d = fb_rec(&t2, &f, GP_REC_NVTX_DOMAIN, sizeof(*d), 100);
		d->ts_ns = t0 + 30;
		d->domain = 7;
		d->name_sid = 2;
		fb_send(&t2, &f);
		_exit(0);
	}
	wait_ok(pid);
	fx_finish(&fx);
	assert_int_equal(fx.st.report.bad_frames, 0);
	assert_int_equal(fx.st.report.processes, 1);

	/* start/end: 3 rows, rangeId set, cross-thread endGlobalTid */
	assert_int_equal(q_int(fx.db, "select count(*) from NVTX_EVENTS where eventType = 60"), 3);
	assert_int_equal(q_int(fx.db, "select end - start from NVTX_EVENTS where eventType = 60 "
				      "and rangeId = 1"),
			 2000);
	assert_int_equal(q_int(fx.db, "select endGlobalTid & 16777215 from NVTX_EVENTS where "
				      "eventType = 60 and rangeId = 1"),
			 200);
	assert_int_equal(q_int(fx.db, "select globalTid & 16777215 from NVTX_EVENTS where "
				      "eventType = 60 and rangeId = 1"),
			 100);
	assert_int_equal(q_int(fx.db, "select end - start from NVTX_EVENTS where eventType = 60 "
				      "and rangeId = 2"),
			 5000);
	assert_int_equal(q_int(fx.db, "select count(*) from NVTX_EVENTS where eventType = 60 and "
				      "rangeId = 3 and end is null and endGlobalTid is null"),
			 1);
	assert_string_equal(q_text(fx.db, "select text from NVTX_EVENTS where rangeId = 3"), "se");

	/* domains: two creates with distinct non-zero ids, one destroy */
	assert_int_equal(q_int(fx.db, "select count(distinct domainId) from NVTX_EVENTS where "
				      "eventType = 75 and domainId > 0"),
			 2);
	assert_string_equal(q_text(fx.db, "select group_concat(text, ',') from (select text from "
					  "NVTX_EVENTS where eventType = 75 order by text)"),
			    "dom-other,dom1");
	assert_int_equal(q_int(fx.db, "select count(*) from NVTX_EVENTS a join NVTX_EVENTS b on "
				      "a.domainId = b.domainId where a.eventType = 75 and a.text "
				      "= 'dom1' and b.eventType = 76"),
			 1);
	/* category row */
	assert_int_equal(q_int(fx.db, "select count(*) from NVTX_EVENTS n join NVTX_EVENTS d on "
				      "d.domainId = n.domainId and d.eventType = 75 where "
				      "n.eventType = 33 and n.category = 9 and n.text = "
				      "'cat-name' and d.text = 'dom1'"),
			 1);
	/* registered string, colour, payload, category, domain on a push/pop range */
	assert_int_equal(q_int(fx.db,
			       "select count(*) from NVTX_EVENTS n join StringIds s on "
			       "s.id = n.textId where n.eventType = 59 and n.text is null "
			       "and s.value = 'registered' and n.color = %lld and "
			       "n.doubleValue = 2.5 and n.category = 9 and n.end - n.start "
			       "= 1000 and n.uint64Value is null",
			       (long long)0xFF00FF00u),
			 1);
	/* a push/pop range still open at exit: NULL end, int32 payload */
	assert_int_equal(q_int(fx.db, "select count(*) from NVTX_EVENTS where eventType = 59 and "
				      "end is null and int32Value = -5 and domainId = 0"),
			 1);
	/* the compact records: the same rows as GP_REC_NVTX_EVENT would give */
	assert_int_equal(q_int(fx.db, "select count(*) from NVTX_EVENTS where eventType = 59 and "
				      "globalTid & 16777215 = 300 and end - start = 500 and text = "
				      "'se' and textId is null and domainId = 0 and color is null "
				      "and category is null and uint64Value is null"),
			 1);
	assert_int_equal(q_int(fx.db, "select count(*) from NVTX_EVENTS n join StringIds s on "
				      "s.id = n.textId where n.eventType = 59 and n.globalTid & "
				      "16777215 = 300 and n.end is null and n.text is null and "
				      "s.value = 'registered'"),
			 1);
	assert_int_equal(q_int(fx.db, "select count(*) from NVTX_EVENTS where globalTid & "
				      "16777215 = 301"),
			 1);
	assert_int_equal(q_int(fx.db,
			       "select count(*) from NVTX_EVENTS where eventType = 59 and "
			       "text = 'inline-text' and textId is null and end - start = 250"),
			 1);
	assert_int_equal(fx.st.report.bad_records, 1);
	fx_cleanup(&fx);
}

static void test_schema_and_enums(void **state)
{
	struct fixture fx;
	char wal[160];
	struct stat sb;

	fx_init(&fx);
	fx_start(&fx);
	fx_finish(&fx);
	assert_string_equal(q_text(fx.db, "pragma integrity_check"), "ok");
	assert_string_equal(q_text(fx.db, "pragma journal_mode"), "delete");
	snprintf(wal, sizeof(wal), "%s-wal", fx.path);
	assert_int_equal(stat(wal, &sb), -1);
	snprintf(wal, sizeof(wal), "%s-journal", fx.path);
	assert_int_equal(stat(wal, &sb), -1);
	assert_int_equal(q_int(fx.db, "select count(*) from sqlite_master where type = 'table' "
				      "and name like 'ENUM_%%'"),
			 20);
	assert_int_equal(q_int(fx.db, "select count(*) from ENUM_NSYS_EVENT_CLASS"), 89);
	assert_int_equal(q_int(fx.db, "select count(*) from ENUM_NSYS_EVENT_TYPE"), 150);
	assert_string_equal(q_text(fx.db, "select name || '|' || label from "
					  "ENUM_NSYS_EVENT_CLASS where id = 27"),
			    "TRACE_PROCESS_EVENT_OS_RUNTIME|OSRT runtime");
	assert_string_equal(q_text(fx.db, "select name from ENUM_NSYS_EVENT_TYPE where id = 59"),
			    "NvtxPushPopRange");
	assert_string_equal(q_text(fx.db, "select label from ENUM_CUDA_MEMCPY_OPER where id = 1"),
			    "Host-to-Device");
	assert_int_equal(q_int(fx.db, "select count(*) from ENUM_SCHEDULING_THREAD_BLOCK"), 53);
	/* tables and NOT NULL columns as nsys */
	assert_int_equal(q_int(fx.db, "select count(*) from pragma_table_info('NVTX_EVENTS')"), 20);
	assert_int_equal(q_int(fx.db, "select \"notnull\" from pragma_table_info('OSRT_API') "
				      "where name = 'callchainId'"),
			 1);
	assert_int_equal(q_int(fx.db, "select \"notnull\" from pragma_table_info('ThreadNames') "
				      "where name = 'nameId'"),
			 1);
	assert_int_equal(q_int(fx.db, "select utcEpochNs from TARGET_INFO_SESSION_START_TIME"),
			 fx.cfg.session_start_utc_ns);
	assert_int_equal(q_int(fx.db, "select globalVid from ANALYSIS_DETAILS"), (int64_t)1 << 48);
	assert_int_equal(q_int(fx.db, "select startTime from ANALYSIS_DETAILS"), 0);
	assert_true(q_int(fx.db, "select stopTime from ANALYSIS_DETAILS") > 0);
	assert_string_equal(q_text(fx.db, "select value from META_DATA_EXPORT where name = "
					  "'EXPORT_SCHEMA_VERSION'"),
			    GP_NSYS_SCHEMA_VERSION);
	assert_string_equal(q_text(fx.db, "select value from META_DATA_EXPORT where name = "
					  "'EXPORT_SCHEMA_VERSION_MINOR'"),
			    "20");
	assert_int_equal(q_int(fx.db, "select count(*) from META_DATA_EXPORT where name = "
				      "'GPROF_FINISHED_CLEANLY'"),
			 1);
	fx_cleanup(&fx);
}

static void test_bad_and_lost_frames(void **state)
{
	struct fixture fx;
	pid_t pid;

	fx_init(&fx);
	fx_start(&fx);
	pid = fork();
	if (pid == 0) {
		static struct fb f;
		struct tx t;
		uint64_t t0 = gp_monotonic_ns();
		char junk[100];

		if (tx_open(&t, recorder_channel_path(fx.rec)) < 0)
			_exit(1);
		fb_init(&f);
		put_hello(&t, &f, 1, "bad");
		fb_send(&t, &f); /* seq 0 */
		memset(junk, 0x5a, sizeof(junk));
		send(t.fd, junk, sizeof(junk), 0); /* bad magic */
		t.seq = 3;			   /* frames 1 and 2 lost */
		put_nvtx(&t, &f, GP_REC_NVTX_EVENT, 1, t0, t0 + 1, 0, GP_NVTX_PUSHPOP);
		fb_rec(&t, &f, 0x0ff0, 16, 1); /* unknown type: rest of frame skipped */
		put_nvtx(&t, &f, GP_REC_NVTX_EVENT, 1, t0, t0 + 1, 0, GP_NVTX_PUSHPOP);
		fb_send(&t, &f); /* seq 3 */
		_exit(0);
	}
	wait_ok(pid);
	fx_finish(&fx);
	assert_int_equal(fx.st.report.bad_frames, 2);
	assert_int_equal(fx.st.report.lost_frames, 2);
	assert_int_equal(fx.st.frames, 2);
	assert_int_equal(q_int(fx.db, "select count(*) from NVTX_EVENTS"), 1);
	assert_string_equal(q_text(fx.db, "select value from META_DATA_EXPORT where name = "
					  "'GPROF_LOST_BAD_FRAMES'"),
			    "2");
	assert_string_equal(q_text(fx.db, "select value from META_DATA_EXPORT where name = "
					  "'GPROF_LOST_FRAMES'"),
			    "2");
	fx_cleanup(&fx);
}

static int count_dir(const char *dir)
{
	char cmd[200];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", dir);
	p = popen(cmd, "r");
	if (p && fscanf(p, "%d", &n) != 1)
		n = -1;
	if (p)
		pclose(p);
	return n;
}

static void test_report_exists(void **state)
{
	struct fixture fx;
	char buf[64] = {0};
	struct recorder *r = NULL;
	int fd;

	fx_init(&fx);
	fd = open(fx.path, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "keep me", 7), 7);
	close(fd);
	assert_int_equal(recorder_start(&r, &fx.cfg), -1);
	fd = open(fx.path, O_RDONLY);
	assert_int_equal(read(fd, buf, sizeof(buf)), 7);
	close(fd);
	assert_string_equal(buf, "keep me");
	assert_int_equal(count_dir(fx.dir), 1); /* nothing created beside it */

	fx.cfg.force_overwrite = 1;
	fx_start(&fx);
	fx_finish(&fx);
	assert_string_equal(q_text(fx.db, "pragma integrity_check"), "ok");
	fx_cleanup(&fx);
}

static void test_missing_folder(void **state)
{
	struct fixture fx;
	struct recorder *r = NULL;
	char p[160];

	fx_init(&fx);
	snprintf(p, sizeof(p), "%s/nope/report.db", fx.dir);
	fx.cfg.report_path = p;
	assert_int_equal(recorder_start(&r, &fx.cfg), -1);
	assert_int_equal(count_dir(fx.dir), 0);

	if (geteuid() != 0) { /* root writes anywhere */
		snprintf(p, sizeof(p), "%s/ro", fx.dir);
		assert_int_equal(mkdir(p, 0555), 0);
		snprintf(p, sizeof(p), "%s/ro/report.db", fx.dir);
		assert_int_equal(recorder_start(&r, &fx.cfg), -1);
		snprintf(p, sizeof(p), "%s/ro", fx.dir);
		assert_int_equal(count_dir(p), 0);
		chmod(p, 0755);
	}
	fx_cleanup(&fx);
}

/* The recorder runs in a child that is SIGKILLed after the frames were sent and a
 * commit period passed; the report must open, pass integrity_check and hold them. */
#define KILL_EVENTS 5000

/* In a forked child: start the recorder of fx, connect as process "victim" and send
 * `events` push/pop ranges named `text` over `tids` threads, then write the channel path
 * to fd `path_fd` (the parent cleans up after killing the child).  The connection's fd. */
static int victim_send(struct fixture *fx, int path_fd, const char *text, int events, uint32_t tids)
{
	static struct fb f;
	struct tx t;
	uint64_t t0;

	if (recorder_start(&fx->rec, &fx->cfg) < 0 ||
	    tx_open(&t, recorder_channel_path(fx->rec)) < 0)
		_exit(1);
	t0 = gp_monotonic_ns();
	fb_init(&f);
	put_hello(&t, &f, 1, "victim");
	put_string(&t, &f, 2, text);
	for (int i = 0; i < events; i++)
		put_nvtx(&t, &f, GP_REC_NVTX_EVENT, 1 + (uint32_t)i % tids, t0 + i, t0 + i + 1, 2,
			 GP_NVTX_PUSHPOP);
	fb_send(&t, &f);
	if (write(path_fd, recorder_channel_path(fx->rec),
		  strlen(recorder_channel_path(fx->rec)) + 1) < 0)
		_exit(3);
	return t.fd;
}

/* Remove what a killed recorder could not: its channel socket `chan` (a path, changed
 * here), its control file and their folder. */
static void remove_channel(char *chan)
{
	unlink(chan);
	strcpy(strrchr(chan, '/') + 1, GP_CONTROL_NAME);
	unlink(chan);
	*strrchr(chan, '/') = '\0';
	rmdir(chan);
}

static void test_killed_recorder(void **state)
{
	struct fixture fx;
	int pfd[2];
	pid_t pid;
	char chan[256];
	int status;

	fx_init(&fx);
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	if (pid == 0) {
		victim_send(&fx, pfd[1], "before-kill", KILL_EVENTS, 1);
		for (;;)
			pause(); /* the connection stays open: no close, no finish */
	}
	close(pfd[1]);
	memset(chan, 0, sizeof(chan));
	assert_true(read(pfd[0], chan, sizeof(chan) - 1) > 0);
	close(pfd[0]);
	usleep((GP_RECORDER_COMMIT_MS + 1000) * 1000);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));

	assert_int_equal(sqlite3_open_v2(fx.path, &fx.db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_string_equal(q_text(fx.db, "pragma integrity_check"), "ok");
	assert_int_equal(q_int(fx.db, "select count(*) from NVTX_EVENTS where text = "
				      "'before-kill'"),
			 KILL_EVENTS);
	assert_string_equal(q_text(fx.db, "select value from META_DATA_EXPORT where name = "
					  "'GPROF_FINISHED_CLEANLY'"),
			    "false");
	assert_string_equal(q_text(fx.db, "select name from PROCESSES"), "victim");
	fx_cleanup(&fx);
	remove_channel(chan);
}

/* A rollback journal with a live header: a transaction was open when the writer died. */
static int journal_hot(const char *db_path)
{
	static const unsigned char magic[8] = {0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7};
	unsigned char hdr[8] = {0};
	char p[256];
	int fd, hot;

	snprintf(p, sizeof(p), "%s-journal", db_path);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	hot = read(fd, hdr, sizeof(hdr)) == (ssize_t)sizeof(hdr) && !memcmp(hdr, magic, 8);
	close(fd);
	return hot;
}

/* The recorder is SIGKILLed while frames stream in, so a transaction is open and its
 * journal hot: a plain read-only open cannot read the report, report_open_read() (what
 * `stats` and `export` use) rolls the journal back and reads everything committed. */
static void test_killed_mid_transaction(void **state)
{
	struct fixture fx;
	int pfd[2], status, hot = 0;
	pid_t pid;
	char chan[256];
	sqlite3 *db;

	(void)state;
	fx_init(&fx);
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	if (pid == 0) {
		static struct fb f;
		struct tx t;
		uint64_t t0, i;

		if (recorder_start(&fx.rec, &fx.cfg) < 0)
			_exit(1);
		if (tx_open(&t, recorder_channel_path(fx.rec)) < 0)
			_exit(2);
		fb_init(&f);
		put_hello(&t, &f, 1, "victim");
		put_string(&t, &f, 2, "streaming");
		fb_send(&t, &f);
		if (write(pfd[1], recorder_channel_path(fx.rec),
			  strlen(recorder_channel_path(fx.rec)) + 1) < 0)
			_exit(3);
		t0 = gp_monotonic_ns();
		for (i = 0;; i++) /* never idle: the writer always has a transaction open */
			put_nvtx(&t, &f, GP_REC_NVTX_EVENT, 1, t0 + i, t0 + i + 1, 2,
				 GP_NVTX_PUSHPOP);
	}
	close(pfd[1]);
	memset(chan, 0, sizeof(chan));
	assert_true(read(pfd[0], chan, sizeof(chan) - 1) > 0);
	close(pfd[0]);
	/* past the first commit, then kill while a transaction is open (up to ~10 s of tries:
	 * on a loaded CI machine the writer thread may get little CPU) */
	for (int k = 0; k < 2000 && !hot; k++) {
		usleep(k == 0 ? (GP_RECORDER_COMMIT_MS + 300) * 1000 : 5000);
		if (journal_hot(fx.path)) {
			kill(pid, SIGSTOP); /* freeze it, then look again: still hot? */
			hot = journal_hot(fx.path);
			if (!hot)
				kill(pid, SIGCONT);
		}
	}
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_true(hot);

	/* a plain read-only connection cannot roll the journal back */
	assert_int_equal(sqlite3_open_v2(fx.path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "SELECT count(*) FROM NVTX_EVENTS", NULL, NULL, NULL),
			     SQLITE_OK);
	assert_int_equal(sqlite3_extended_errcode(db), SQLITE_READONLY_ROLLBACK);
	sqlite3_close(db);

	db = report_open_read(fx.path);
	assert_non_null(db);
	assert_false(journal_hot(fx.path));
	assert_string_equal(q_text(db, "pragma integrity_check"), "ok");
	assert_true(q_int(db, "select count(*) from NVTX_EVENTS where text = 'streaming'") > 0);
	assert_string_equal(q_text(db, "select name from PROCESSES"), "victim");
	assert_string_equal(q_text(db, "select value from META_DATA_EXPORT where name = "
				       "'GPROF_FINISHED_CLEANLY'"),
			    "false");
	sqlite3_close(db);
	/* a second open finds nothing left to roll back */
	db = report_open_read(fx.path);
	assert_non_null(db);
	sqlite3_close(db);
	fx_cleanup(&fx);
	unlink(chan);
	strcpy(strrchr(chan, '/') + 1, GP_CONTROL_NAME); /* and its control file */
	unlink(chan);
	*strrchr(chan, '/') = '\0';
	rmdir(chan);
}

/* One session with an expect list: send `kinds` (bit 0: a CUDA device record, a state
 * record; 1: a CUDA API call; 2: an NVTX mark; 3: an OSRT call) from one process. */
static void run_expect(struct fixture *fx, const struct recorder_expect *expect, size_t n,
		       unsigned kinds)
{
	pid_t pid;

	fx_init(fx);
	fx->cfg.expect = expect;
	fx->cfg.n_expect = n;
	fx_start(fx);
	pid = fork();
	if (pid == 0) {
		static struct fb f;
		struct tx t;
		uint64_t t0 = gp_monotonic_ns();

		if (tx_open(&t, recorder_channel_path(fx->rec)) < 0)
			_exit(1);
		fb_init(&f);
		put_hello(&t, &f, 1, "app");
		put_string(&t, &f, 2, "GPU 0");
		put_string(&t, &f, 3, "cudaMalloc_v3020");
		if (kinds & 1) {
			struct gp_rec_cuda_device *d =
			    fb_rec(&t, &f, GP_REC_CUDA_DEVICE, sizeof(*d), 0);

			d->name_sid = 2;
			d->threads_per_warp = 32;
		}
		if (kinds & 2) {
			struct gp_rec_cuda_api *a = fb_rec(&t, &f, GP_REC_CUDA_API, sizeof(*a), 1);

			a->start_ns = t0;
			a->end_ns = t0 + 100;
			a->correlation_id = 1;
			a->name_sid = 3;
		}
		if (kinds & 4)
			put_nvtx(&t, &f, GP_REC_NVTX_EVENT, 1, t0, t0, 2, 0);
		if (kinds & 8) {
			struct gp_rec_osrt *o = fb_rec(&t, &f, GP_REC_OSRT, sizeof(*o), 1);

			o->start_ns = t0;
			o->end_ns = t0 + 5000;
			o->name_sid = 3;
		}
		_exit(fb_send(&t, &f) < 0 ? 2 : 0);
	}
	wait_ok(pid);
	fx_finish(fx);
}

/* recorder_config.expect: which trace values saw no event in the session, in the stats and
 * in META_DATA_EXPORT GPROF_TRACE_NOT_SEEN (what `profile` warns about at the end). */
static void test_expect_not_seen(void **state)
{
	static const struct recorder_expect expect[] = {
	    {"cuda", 3}, {"nvtx", 1}, {"gpu-metrics", 4}, {"osrt", 2}};
	struct fixture fx;

	/* a CUDA device (state) but no CUDA event; an NVTX mark; no sample; an OSRT call */
	run_expect(&fx, expect, 4, 1 | 4 | 8);
	assert_int_equal(fx.st.expect_not_seen, 1u << 0 | 1u << 2);
	assert_int_equal(fx.st.expect_started, 1u << 0 | 1u << 1 | 1u << 3);
	assert_string_equal(fx.st.report.not_seen, "cuda,gpu-metrics");
	assert_string_equal(q_text(fx.db, "select value from META_DATA_EXPORT where name = "
					  "'GPROF_TRACE_NOT_SEEN'"),
			    "cuda,gpu-metrics");
	recorder_stats_release(&fx.st);
	assert_null(fx.st.report.not_seen);
	fx_cleanup(&fx);

	/* nothing of CUDA at all (the application never initialised it) */
	run_expect(&fx, expect, 2, 4);
	assert_int_equal(fx.st.expect_not_seen, 1u << 0);
	assert_int_equal(fx.st.expect_started, 1u << 1);
	assert_string_equal(fx.st.report.not_seen, "cuda");
	recorder_stats_release(&fx.st);
	fx_cleanup(&fx);

	/* an API call: CUDA seen, the row is empty */
	run_expect(&fx, expect, 2, 1 | 2 | 4);
	assert_int_equal(fx.st.expect_not_seen, 0);
	assert_int_equal(fx.st.expect_started, 1u << 0 | 1u << 1);
	assert_string_equal(fx.st.report.not_seen, "");
	assert_string_equal(q_text(fx.db, "select value from META_DATA_EXPORT where name = "
					  "'GPROF_TRACE_NOT_SEEN'"),
			    "");
	recorder_stats_release(&fx.st);
	fx_cleanup(&fx);

	/* an empty list still writes the row; no list writes none */
	run_expect(&fx, expect, 0, 4);
	assert_string_equal(fx.st.report.not_seen, "");
	recorder_stats_release(&fx.st);
	fx_cleanup(&fx);
	run_expect(&fx, NULL, 0, 1);
	assert_null(fx.st.report.not_seen);
	assert_int_equal(q_int(fx.db, "select count(*) from META_DATA_EXPORT where name = "
				      "'GPROF_TRACE_NOT_SEEN'"),
			 0);
	recorder_stats_release(&fx.st);
	fx_cleanup(&fx);
}

/* ---- the backlog's parallel writers (core/report_par.h) ---------------------------- */

#define DRAIN_TIDS   4
#define DRAIN_RANGES 12000 /* per thread */

/* FNV-1a over every value of every row of sql's result, in its order. */
static uint64_t q_digest(sqlite3 *db, const char *sql, int64_t *rows)
{
	sqlite3_stmt *st;
	uint64_t h = 1469598103934665603ull;

	*rows = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("bad sql %s: %s", sql, sqlite3_errmsg(db));
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (int i = 0; i < sqlite3_column_count(st); i++) {
			const unsigned char *t = sqlite3_column_text(st, i);

			for (t = t ? t : (const unsigned char *)"\x01NULL"; *t; t++)
				h = (h ^ *t) * 1099511628211ull;
			h = (h ^ '|') * 1099511628211ull;
		}
		(*rows)++;
	}
	sqlite3_finalize(st);
	return h;
}

/* One process, DRAIN_TIDS threads (fixed tids), times fixed from the session start: per
 * thread DRAIN_RANGES push/pop ranges (the simple rows), a coloured range with a category
 * every third (other bulk rows), an OS runtime call every second, a registered string
 * (textId) every 1000th; interleaved across the threads. */
static void drain_sender(struct fixture *fx)
{
	pid_t pid = fork();

	if (pid == 0) {
		static struct fb f;
		struct tx t;
		uint64_t base = fx->cfg.session_start_ns + 1000000;
		uint32_t sid = 100;

		if (tx_open(&t, recorder_channel_path(fx->rec)) < 0)
			_exit(1);
		fb_init(&f);
		put_hello(&t, &f, 1, "drainer");
		put_string(&t, &f, 2, "range");
		put_string(&t, &f, 3, "pthread_mutex_lock");
		for (int i = 0; i < DRAIN_RANGES; i++)
			for (uint32_t k = 0; k < DRAIN_TIDS; k++) {
				uint32_t tid = 101 + k;
				uint64_t t0 = base + ((uint64_t)i * DRAIN_TIDS + k) * 1000;
				struct gp_rec_nvtx *e;

				put_nvtx(&t, &f, GP_REC_NVTX_EVENT, tid, t0, t0 + 100, 2,
					 GP_NVTX_PUSHPOP);
				if (i % 3 == 0) {
					e = put_nvtx(&t, &f, GP_REC_NVTX_EVENT, tid, t0 + 1,
						     t0 + 50, 2,
						     GP_NVTX_PUSHPOP | GP_NVTX_HAS_COLOR);
					e->color = 0xff00ff00u + (uint32_t)i;
					e->category = 1 + (uint32_t)i % 5;
				}
				if (i % 2 == 0) {
					struct gp_rec_osrt *o =
					    fb_rec(&t, &f, GP_REC_OSRT, sizeof(*o), tid);

					o->start_ns = t0 + 200;
					o->end_ns = t0 + 700 + (uint64_t)i;
					o->ret = i % 7 ? 0 : -1;
					o->name_sid = 3;
					o->nesting = (uint32_t)i % 2;
				}
				if (i % 1000 == 999) {
					char name[32];

					snprintf(name, sizeof(name), "unique-%u-%d", tid, i);
					put_string(&t, &f, ++sid, name);
					put_nvtx(&t, &f, GP_REC_NVTX_EVENT, tid, t0 + 2, t0 + 3,
						 sid, GP_NVTX_PUSHPOP | GP_NVTX_TEXT_REGISTERED);
				}
			}
		if (fb_send(&t, &f) < 0)
			_exit(2);
		_exit(0);
	}
	wait_ok(pid);
}

/* What one run of drain_sender gives with $GPROF_CLI_DRAIN_WRITERS=k, everything written
 * by recorder_finish() (the writer thread held): digests of the bulk tables' rows sorted
 * by content (tids, not the sender's pid), in rowid order, and of StringIds. */
struct drain_out {
	uint64_t nvtx, nvtx_order, osrt, osrt_order, strings;
	int64_t nvtx_rows, osrt_rows, string_rows, files_left, write_errors;
};

static void drain_run(const char *k, struct drain_out *o)
{
	static const char nvtx_cols[] =
	    "start, end, eventType, text, textId, globalTid & 16777215, "
	    "domainId, color, category, rangeId, endGlobalTid, jsonText";
	static const char osrt_cols[] = "start, end, eventClass, globalTid & 16777215, nameId, "
					"returnValue, nestingLevel, callchainId";
	struct fixture fx;
	char sql[512];
	int64_t n;

	setenv("GPROF_CLI_DRAIN_WRITERS", k, 1);
	recorder_test_hold_writer = 1;
	fx_init(&fx);
	fx_start(&fx);
	drain_sender(&fx);
	fx_finish(&fx);
	recorder_test_hold_writer = 0;
	unsetenv("GPROF_CLI_DRAIN_WRITERS");
	snprintf(sql, sizeof(sql), "SELECT %s FROM NVTX_EVENTS ORDER BY %s", nvtx_cols, nvtx_cols);
	o->nvtx = q_digest(fx.db, sql, &o->nvtx_rows);
	snprintf(sql, sizeof(sql), "SELECT %s FROM NVTX_EVENTS ORDER BY rowid", nvtx_cols);
	o->nvtx_order = q_digest(fx.db, sql, &n);
	snprintf(sql, sizeof(sql), "SELECT %s FROM OSRT_API ORDER BY %s", osrt_cols, osrt_cols);
	o->osrt = q_digest(fx.db, sql, &o->osrt_rows);
	snprintf(sql, sizeof(sql), "SELECT %s FROM OSRT_API ORDER BY rowid", osrt_cols);
	o->osrt_order = q_digest(fx.db, sql, &n);
	o->strings =
	    q_digest(fx.db, "SELECT id, value FROM StringIds ORDER BY id", &o->string_rows);
	o->write_errors = q_int(fx.db, "SELECT value FROM META_DATA_EXPORT WHERE name = "
				       "'GPROF_WRITE_ERRORS'");
	o->files_left = count_dir(fx.dir); /* the report alone: the writers' files are gone */
	assert_string_equal(q_text(fx.db, "SELECT value FROM META_DATA_EXPORT WHERE name = "
					  "'GPROF_FINISHED_CLEANLY'"),
			    "true");
	fx_cleanup(&fx);
}

static void test_drain_writers(void **state)
{
	struct drain_out one, four;
	int64_t ranges = (int64_t)DRAIN_TIDS * DRAIN_RANGES;

	drain_run("1", &one);
	drain_run("4", &four);
	/* every row, with the same ids, whatever the writers */
	assert_int_equal(one.nvtx_rows, ranges + ranges / 3 + (ranges % 3 != 0) * DRAIN_TIDS +
					    DRAIN_TIDS * (DRAIN_RANGES / 1000));
	assert_int_equal(one.osrt_rows, ranges / 2);
	assert_int_equal(four.nvtx_rows, one.nvtx_rows);
	assert_int_equal(four.osrt_rows, one.osrt_rows);
	assert_int_equal(four.string_rows, one.string_rows);
	assert_true(four.nvtx == one.nvtx);
	assert_true(four.osrt == one.osrt);
	assert_true(four.strings == one.strings);
	assert_int_equal(one.write_errors, 0);
	assert_int_equal(four.write_errors, 0);
	assert_int_equal(one.files_left, 1);
	assert_int_equal(four.files_left, 1);
	/* the 4 writers wrote them: NVTX rows come back in the writers' order (the kinds of
	 * rows batched apart), not in arrival order as with one writer */
	assert_true(four.nvtx_order != one.nvtx_order);
}

/* A recorder killed while its parallel writers drain the backlog or merge their rows: the
 * report opens, is intact, holds at most what was sent and says it was not finished; the
 * writers' files are gone (unlinked once open).  Killed at a few points of the drain. */
static void test_drain_killed(void **state)
{
	static const int delays_ms[] = {20, 100, 140, 180, 220, 260, 300};
	const int events = 600000;

	for (size_t d = 0; d < sizeof(delays_ms) / sizeof(delays_ms[0]); d++) {
		struct fixture fx;
		int pfd[2], status;
		pid_t pid;
		char chan[256], cmd[256];
		int64_t rows;

		fx_init(&fx);
		assert_int_equal(pipe(pfd), 0);
		pid = fork();
		if (pid == 0) {
			struct report_app_status app = {.pid = 1, .end_ns = 0};
			struct recorder_stats st;

			setenv("GPROF_CLI_DRAIN_WRITERS", "4", 1);
			recorder_test_hold_writer = 1;
			close(victim_send(&fx, pfd[1], "drained", events, 3));
			recorder_finish(fx.rec, &app, 1000, &st); /* killed in here */
			_exit(0);
		}
		close(pfd[1]);
		memset(chan, 0, sizeof(chan));
		assert_true(read(pfd[0], chan, sizeof(chan) - 1) > 0);
		close(pfd[0]);
		usleep((useconds_t)delays_ms[d] * 1000);
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_int_equal(sqlite3_open_v2(fx.path, &fx.db, SQLITE_OPEN_READWRITE, NULL),
				 SQLITE_OK);
		assert_string_equal(q_text(fx.db, "pragma integrity_check"), "ok");
		rows = q_int(fx.db, "select count(*) from NVTX_EVENTS");
		assert_true(rows >= 0 && rows <= events);
		if (WIFSIGNALED(status)) /* (else it finished first: then every row) */
			assert_string_equal(q_text(fx.db, "select value from META_DATA_EXPORT "
							  "where name = 'GPROF_FINISHED_CLEANLY'"),
					    "false");
		else
			assert_int_equal(rows, events);
		snprintf(cmd, sizeof(cmd), "ls -A '%s' | grep -q drain", fx.dir);
		assert_int_not_equal(system(cmd), 0); /* grep found none */
		fx_cleanup(&fx);
		remove_channel(chan);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_basic),
	    cmocka_unit_test(test_concurrency),
	    cmocka_unit_test(test_nvtx_kinds),
	    cmocka_unit_test(test_ring),
	    cmocka_unit_test(test_spool),
	    cmocka_unit_test(test_spool_disk_full),
	    cmocka_unit_test(test_schema_and_enums),
	    cmocka_unit_test(test_bad_and_lost_frames),
	    cmocka_unit_test(test_report_exists),
	    cmocka_unit_test(test_missing_folder),
	    cmocka_unit_test(test_killed_recorder),
	    cmocka_unit_test(test_killed_mid_transaction),
	    cmocka_unit_test(test_expect_not_seen),
	    cmocka_unit_test(test_drain_writers),
	    cmocka_unit_test(test_drain_killed),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
