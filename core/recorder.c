/*
 * recorder.c - the record channel and the recorder's two threads (see recorder.h).
 *
 * Reader: epoll over the listening SOCK_SEQPACKET socket and the producer connections.
 * Each message is received whole into a pooled frame buffer (GP_FRAME_MAX bytes, recv
 * with MSG_TRUNC so an oversize message is seen as such) and appended to the queue.
 * A connection whose first message offered a shared-memory ring (wire.h "Rings") has
 * its frames copied out of the ring instead: the reader polls every ring each
 * RING_POLL_MS while any of them had data in the last RING_IDLE_MS, and otherwise
 * sleeps in epoll with `sleeping` set so that the next frame rings the doorbell.
 * The pool holds at most GP_RECORDER_QUEUE_MAX bytes of buffers.  When every buffer is
 * queued, the reader appends what comes next to the spool file instead (below), so it
 * never waits for the writer and the producers never wait for the reader; only without
 * a spool file does it wait (reader_stalls), and the producers with it.  Connection
 * open and close are queued as items too, so the writer sees each connection's frames
 * between its open and its close.
 *
 * Spool: an unlinked file next to the report (O_TMPFILE: nothing is left behind, even
 * after a kill) holding items as struct spool_item + data.  The queue and the spool are
 * one FIFO: when the pool runs dry the reader queues a Q_SPOOL marker and from then on
 * appends every item to the spool (a segment); the writer, reaching the marker, reads
 * the spool back in order, and ends the segment (spooling = 0, file truncated) once it
 * has read everything the reader appended and the reader is not appending; items after
 * that go to memory again.  A failed append (disk full) drops that frame and the rest of
 * the segment's frames, their records counted in spool_lost (not as lost frames), while
 * connection opens and closes, and the state records of the dropped frames (strings,
 * thread names, a goodbye: dropped_frame_state()), wait in memory for the segment's end:
 * later records still find their strings and threads.
 *
 * Writer: takes the whole queue at once, validates frames (gp_decode_frame), hands the
 * records to the report writer (report.c), and commits at least every
 * GP_RECORDER_COMMIT_MS, and when the queue has been idle for IDLE_COMMIT_MS.
 * The writer thread's nice value is WRITER_NICE_DEFAULT above the recorder's while the
 * application runs ($GPROF_CLI_WRITER_NICE, 0..19, sets the step; 0: none): where the
 * writer and the reader share a CPU (fewer free CPUs than the recorder has busy
 * threads), the reader gets it as soon as it wakes, and a producer does not wait for
 * ring room while the writer inserts rows (bench_nvtx, 20 M pairs on a 2-core VM: 63.5
 * ns of wall time per pair at nice 0 in one run of two, 25.8 at 5).  It stays mild: a
 * starved writer commits nothing and a killed recorder's report then holds nothing
 * (SCHED_IDLE and nice 19 both starve it on a loaded 2-core machine; nice 5 leaves it
 * a quarter of a CPU against one busy thread).  At the end recorder_finish() takes over
 * on its own thread (a thread cannot raise its own priority back without privileges):
 * the writer hands off between two items, and what is left is written by
 * recorder_finish(), with a progress line when stderr is a terminal.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>

#include "recorder_sink.h"
#include "recorder.h"
#include "recorder_internal.h"
#include "report.h"
#include "util.h"
#include "wire_tap.h"

#define IDLE_COMMIT_MS	  20 /* commit when no frame arrived for this long */
#define READ_BURST	  32 /* frames read from one connection before looking at others */
#define RETURN_BATCH	  16 /* buffers the writer gives back to the pool at once */
#define CHANNEL_NAME	  "channel"
#define RING_POLL_MS	  1	     /* poll the rings this often while they are busy */
#define RING_IDLE_MS	  20	     /* then sleep until a doorbell once idle this long */
#define RING_BURST	  64	     /* frames taken from one ring before looking at others */
#define SPOOL_READ	  (1u << 20) /* bytes the writer reads from the spool at once */
#define PROGRESS_AFTER_MS 500	     /* finishing: the first progress line after this long */
#define PROGRESS_EVERY_MS 250
#define REAP_EVERY_MS	  5    /* reap_check(): look at the unreaped this often */
#define REAP_LAST_MS	  1000 /* at the end: longest wait for them to be gone */
#define ACCEPT_BACKOFF_MS 20   /* out of fds: look at new connections again after this */
#define FD_RESERVE	  16   /* fds never given to connections (SQLite opens its journal) */

#define FINAL_ACCEPT_MS 5000 /* session over, out of fds: longest wait for a connection */

#define WRITER_NICE_DEFAULT 5 /* the writer's nice step while the app runs (file comment) */

/* One producer connection.  fd/list links belong to the reader; rc/seq to the
 * writer (it frees the struct when it handles the close item). */
struct rconn {
	int fd;
	uint32_t pid;
	struct rconn *prev, *next; /* reader's list of open connections */
	void *sc;		   /* the sink's state of this connection (conn_open) */
	struct gp_seq seq;
	uint32_t acked_epoch;  /* reader: latest GP_REC_FLUSH_ACK epoch */
	int late;	       /* reader: accepted after the shutdown request was seen */
	uint32_t accept_epoch; /* reader: the page's flush_epoch when accepted (sessions) */
	/* reader: the producer's ring (wire.h "Rings"), NULL: frames on the socket */
	struct gp_ring_hdr *ring;
	const unsigned char *ring_data;
	uint64_t ring_size, ring_tail; /* data bytes; bytes consumed (our own copy) */
	uint64_t messages;	       /* socket messages received */
	int ring_offered;	       /* a GP_FRAME_RING came: give a ring slot back at close */
	/* reader: frames the spool could not take (counted in spool_lost, not as lost
	 * frames: the writer adds them to seq at the close) and their highest seq + 1 */
	uint64_t sdrop_frames, sdrop_end;
	/* the producer's thread-buffer memfd (wire.h "Thread buffers"; -1: none; set by the
	 * reader, read and closed by the writer at the close); said_exit: the writer decoded
	 * its GP_REC_PROCESS_EXIT */
	int tbufs_fd, said_exit;
	dev_t tbufs_dev; /* the memfd's identity (fstat once, by the reader: tbufs_accept) */
	ino_t tbufs_ino;
	int forced; /* reader: closed by the recorder at the session end, not by the producer */
	/* writer: its list of open connections (wprev/wnext), and for a connection whose
	 * close waits for its process to be gone (unreaped list, `next` link), the pidfd */
	struct rconn *wprev, *wnext;
	int pidfd;
	uint32_t tap_conn; /* writer: the connection's number in the frame tap (from 1) */
};

enum qkind {
	Q_OPEN,
	Q_FRAME,
	Q_CLOSE,
	Q_SPOOL, /* the spool's turn in the FIFO */
	Q_WINDOW /* session: finish the window of recorder_window_stop() (struct window_req) */
};

/* recorder_window_stop()'s request (under mu): the reader waits for the flush acks of the
 * connections open at the close (as check_shutdown), then queues Q_WINDOW behind
 * everything they sent; the writer finishes the window's report and sets done. */
struct window_req {
	int pending, done;
	unsigned k;
	int cancel, result;
	uint32_t epoch;
	uint64_t deadline_ns;
	const struct report_app_status *app;
	char *path;
	int start; /* a start: done once acknowledged, nothing queued */
};
#define Q_SMALL 0x100u /* kind flag: a header-only item from malloc, not a pool buffer */

/* A queue item and frame buffer in one allocation (data is 8-byte aligned). */
struct qbuf {
	struct qbuf *next;
	struct rconn *conn;
	uint32_t kind;
	uint32_t len; /* message bytes as received (may exceed GP_FRAME_MAX: oversize) */
	uint64_t data[GP_FRAME_MAX / 8];
};

uint64_t recorder_test_queue_max, recorder_test_spool_max; /* recorder_internal.h */
int recorder_test_hold_writer;				   /* recorder_internal.h */

#define POOL_MAX                                                                                   \
	((recorder_test_queue_max ? recorder_test_queue_max : GP_RECORDER_QUEUE_MAX) /             \
	 sizeof(struct qbuf))
#define QHDR offsetof(struct qbuf, data)

/* An item in the spool file, followed by its data padded to 8 bytes. */
struct spool_item {
	uint32_t kind;
	uint32_t len;	    /* the qbuf's len (the data stored is min(len, GP_FRAME_MAX)) */
	struct rconn *conn; /* valid: the conn lives until the writer handles its close */
};

struct recorder {
	char *dir, *sock_path;
	int lfd, epfd, wakefd;
	pthread_t reader, writer;
	int reader_started, writer_started;
	struct record_sink *sink; /* where the writer sends records: one report, or the router */
	struct gp_tap *tap;	  /* the raw-frame tap (recorder_config.tap_path), or NULL */
	uint32_t tap_conns;	  /* writer: connections numbered in the tap so far */
	struct report_router *rt; /* repeat capture and sessions: the sink is the router (the
				     session's windows are opened and closed through it) */
	char *report_path;
	struct capture_settings cap;
	uint64_t session_start_ns;
	struct gp_control *ctl; /* the control page (wire.h) */
	int shutfd, timerfd;	/* capture shutdown eventfd; -y/--delay timer (reader) */
	_Atomic int shutdown_sent;
	/* reader: `shutdown` seen, waiting for flush acks (wire.h "Flush requests") */
	int shut_pending;
	uint32_t shut_epoch;
	uint64_t shut_deadline_ns;
	struct window_req win; /* interactive session (capture_settings.session) */
	/* recorder_config.expect, copied (names owned); have_expect: a list was given */
	struct recorder_expect *expect;
	size_t n_expect;
	int have_expect;

	pthread_mutex_t mu;
	pthread_cond_t cv_data, cv_space, cv_closed;
	struct qbuf *qhead, *qtail, *free_list;
	size_t nalloc;
	int writer_waiting, reader_waiting;
	int stop_reader, stop_writer;
	unsigned nopen;
	int handoff;   /* recorder_finish takes over from the writer thread */
	int finishing; /* the writer loop runs in recorder_finish */

	/* the spool (file comment); the counters and offsets are under mu */
	int spool_fd;		   /* -1: none (the reader waits for room instead) */
	int spooling;		   /* a segment is open: the reader appends to the spool */
	int spool_writing;	   /* the reader is appending an item right now */
	int spool_broken;	   /* an append failed in this segment: its frames are lost */
	uint64_t spool_w, spool_r; /* bytes appended / read back in this segment */
	uint64_t spool_bytes;	   /* bytes appended over the session */
	uint64_t spool_peak;	   /* largest spool_w - spool_r seen */
	uint64_t spool_lost;	   /* records of frames lost to failed appends */
	/* opens/closes, and the state records of frames the spool could not take
	 * (dropped_frame_state(): deferred_state_bytes of them so far), waiting for the
	 * segment's end */
	struct qbuf *deferred, *deferred_tail;
	size_t deferred_state_bytes;
	struct qbuf *spool_buf;	   /* reader: the item being appended */
	unsigned char *spool_rbuf; /* writer: read-back buffer (SPOOL_READ) */
	uint64_t queued_bytes;	   /* frame bytes in the memory queue */

	/* finishing: progress line (stderr a terminal) */
	uint64_t fin_total, fin_done, fin_t0, fin_next;
	int fin_tty, fin_shown;

	struct rconn *open_list; /* reader only */
	unsigned nrings;	 /* reader: open connections with a ring */
	uint64_t ring_busy_ns;	 /* reader: last time a ring had data */
	int rings_asleep;	 /* reader: `sleeping` set in every ring */

	/* reader-only counters */
	uint64_t connections, reader_stalls, bytes;
	uint64_t ring_bad; /* ring offers and ring frames that broke wire.h's rules */
	/* fds the connections may hold (the limit less those open at the start and
	 * FD_RESERVE for SQLite's journal and the like), and hold now (socket + memfd each) */
	long fd_budget;
	_Atomic long conn_fds;
	uint64_t accept_waits;	   /* accept() out of fds: back-offs (accept_conns) */
	uint64_t accept_resume_ns; /* watch the listening socket again then (0: watched) */
	/* writer-only counters */
	struct gp_decode_counts dc;
	uint64_t recovered, abrupt; /* salvage(): records recovered, processes they came from */
	uint32_t *abrupt_pids;	    /* those processes (n_abrupt_pids) */
	size_t n_abrupt_pids, abrupt_alloc;
	unsigned char *salvage_buf; /* salvage(): one frame (GP_FRAME_MAX) */
	/* writer: open connections (Q_OPEN..Q_CLOSE), and closed ones whose thread buffers
	 * wait for their process to be gone (conn_closed(): "unreaped") */
	struct rconn *wopen, *unreaped;
	uint64_t reap_next_ns; /* reap_check(): next look at the unreaped */
	int txn_open;
	uint64_t txn_start_ns;
	uint64_t writer_cpu_ns;
};

/* ---- queue, pool and spool ----------------------------------------------------------- */

/* Append b to the memory queue (mu held). */
static void enqueue_locked(struct recorder *r, struct qbuf *b)
{
	b->next = NULL;
	if (r->qtail)
		r->qtail->next = b;
	else
		r->qhead = b;
	r->qtail = b;
	if ((b->kind & ~Q_SMALL) == Q_FRAME)
		r->queued_bytes += b->len;
	if (r->writer_waiting)
		pthread_cond_signal(&r->cv_data);
}

static struct qbuf *small_item(uint32_t kind, struct rconn *c)
{
	struct qbuf *b = xmalloc(QHDR);

	b->next = NULL;
	b->conn = c;
	b->kind = kind | Q_SMALL;
	b->len = 0;
	return b;
}

/*
 * The buffer for the reader's next item: a pool buffer while the memory queue has room
 * and no spool segment is open, else r->spool_buf (item_put() appends it to the spool;
 * a full pool opens a segment).  Without a spool file the reader waits for room
 * (reader_stalls).  Hand the buffer to item_put() or item_cancel().
 */
static struct qbuf *item_buf(struct recorder *r)
{
	struct qbuf *b = NULL;
	int stalled = 0;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		if (!r->spooling) {
			b = r->free_list;
			if (b) {
				r->free_list = b->next;
				break;
			}
			if (r->nalloc < POOL_MAX) {
				r->nalloc++;
				break;
			}
			if (r->spool_fd >= 0) {
				r->spooling = 1;
				enqueue_locked(r, small_item(Q_SPOOL, NULL));
			}
		}
		if (r->spooling) {
			r->spool_writing = 1;
			pthread_mutex_unlock(&r->mu);
			return r->spool_buf;
		}
		if (!stalled) {
			r->reader_stalls++;
			stalled = 1;
		}
		r->reader_waiting = 1;
		pthread_cond_wait(&r->cv_space, &r->mu);
		r->reader_waiting = 0;
	}
	pthread_mutex_unlock(&r->mu);
	if (!b)
		b = xmalloc(sizeof(*b));
	return b;
}

/* Give a chain of buffers (linked by next, `last` its tail) back to the pool. */
static void pool_put_chain(struct recorder *r, struct qbuf *first, struct qbuf *last)
{
	pthread_mutex_lock(&r->mu);
	last->next = r->free_list;
	r->free_list = first;
	if (r->reader_waiting)
		pthread_cond_signal(&r->cv_space);
	pthread_mutex_unlock(&r->mu);
}

/* The reader did not use the buffer item_buf() gave it. */
static void item_cancel(struct recorder *r, struct qbuf *b)
{
	if (b != r->spool_buf) {
		pool_put_chain(r, b, b);
		return;
	}
	pthread_mutex_lock(&r->mu);
	r->spool_writing = 0;
	if (r->writer_waiting)
		pthread_cond_signal(&r->cv_data);
	pthread_mutex_unlock(&r->mu);
}

/* Records in a frame of len bytes as received (what a frame lost to the spool held). */
static uint64_t frame_records(const void *frame, uint32_t len)
{
	const unsigned char *p = (const unsigned char *)frame + sizeof(struct gp_frame_hdr);
	const unsigned char *end =
	    (const unsigned char *)frame + (len < GP_FRAME_MAX ? len : GP_FRAME_MAX);
	uint64_t n = 0;

	while (p + sizeof(struct gp_rec_hdr) <= end) {
		const struct gp_rec_hdr *h = (const void *)p;

		if (h->size < sizeof(*h) || (h->size & 7) || h->size > (size_t)(end - p))
			break;
		n++;
		p += h->size;
	}
	return n;
}

/* Records of a frame the spool could not take that later records need: state (strings,
 * thread names, hello, CUDA devices...: gp_rec_is_state()), the producer's loss counters
 * and its goodbye.  Kept in memory, at most DEFERRED_STATE_MAX bytes in all. */
#define DEFERRED_STATE_MAX (8u << 20)

static int keep_when_dropped(uint16_t type)
{
	return gp_rec_is_state(type) || type == GP_REC_LOSS || type == GP_REC_PROCESS_EXIT ||
	       type == GP_REC_FLUSH_ACK;
}

/* A frame of the same header holding only frame's records that keep_when_dropped() (a
 * malloc'ed Q_FRAME | Q_SMALL item, its data after the header), or NULL when there are
 * none or no room is left for them.  *lost: the frame's other records (all of them when
 * NULL). */
static struct qbuf *dropped_frame_state(struct recorder *r, struct rconn *c, const void *frame,
					uint32_t len, uint64_t *lost)
{
	const unsigned char *p = (const unsigned char *)frame + sizeof(struct gp_frame_hdr);
	const unsigned char *end =
	    (const unsigned char *)frame + (len < GP_FRAME_MAX ? len : GP_FRAME_MAX);
	uint64_t all = 0, kept = 0;
	struct gp_frame_hdr fh;
	struct qbuf *b;
	unsigned char *out;

	*lost = frame_records(frame, len);
	if (len < sizeof(fh))
		return NULL;
	b = xmalloc(QHDR + (size_t)(end - (const unsigned char *)frame));
	out = (unsigned char *)b->data + sizeof(fh);
	for (; p + sizeof(struct gp_rec_hdr) <= end && all < *lost; all++) {
		const struct gp_rec_hdr *h = (const void *)p;

		if (keep_when_dropped(h->type)) { /* (frame_records() checked the sizes) */
			memcpy(out, p, h->size);
			out += h->size;
			kept++;
		}
		p += h->size;
	}
	memcpy(&fh, frame, sizeof(fh));
	fh.length = (uint32_t)(out - ((unsigned char *)b->data + sizeof(fh)));
	if (!kept || r->deferred_state_bytes + fh.length > DEFERRED_STATE_MAX) {
		free(b);
		return NULL;
	}
	memcpy(b->data, &fh, sizeof(fh));
	b->next = NULL;
	b->conn = c;
	b->kind = Q_FRAME | Q_SMALL;
	b->len = (uint32_t)sizeof(fh) + fh.length;
	r->deferred_state_bytes += fh.length;
	*lost -= kept;
	return b;
}

/* Queue the reader's item b (from item_buf()): in memory, or appended to the spool.
 * src: the frame's bytes (b->data, or where they are when b is r->spool_buf and they
 * were not copied into it: a ring; read padded to 8 bytes). */
static int spool_room(struct recorder *r, size_t n);

static void item_put_from(struct recorder *r, struct qbuf *b, uint32_t kind, struct rconn *c,
			  uint32_t len, const void *src)
{
	struct spool_item it;
	struct iovec iov[2];
	uint32_t data = kind == Q_FRAME ? (len < GP_FRAME_MAX ? len : GP_FRAME_MAX) : 0;
	size_t n = sizeof(it) + ((data + 7u) & ~7u);
	int ok = 0;

	b->kind = kind;
	b->conn = c;
	b->len = kind == Q_FRAME ? len : 0;
	if (b != r->spool_buf) {
		pthread_mutex_lock(&r->mu);
		enqueue_locked(r, b);
		pthread_mutex_unlock(&r->mu);
		return;
	}
	if (!r->spool_broken) { /* (only this thread sets it; the writer clears it with
				 * spooling, which this thread then sets again first) */
		memset(&it, 0, sizeof(it));
		it.kind = kind;
		it.len = b->len;
		it.conn = c;
		iov[0].iov_base = &it;
		iov[0].iov_len = sizeof(it);
		iov[1].iov_base = (void *)src;
		iov[1].iov_len = n - sizeof(it); /* the padding is the buffer's own bytes */
		ok = (!recorder_test_spool_max || r->spool_bytes + n <= recorder_test_spool_max) &&
		     spool_room(r, n) &&
		     pwritev(r->spool_fd, iov, 2, (off_t)r->spool_w) == (ssize_t)n;
	}
	pthread_mutex_lock(&r->mu);
	if (ok) {
		r->spool_w += n;
		r->spool_bytes += n;
		if (r->spool_w - r->spool_r > r->spool_peak)
			r->spool_peak = r->spool_w - r->spool_r;
	} else {
		r->spool_broken = 1;
		if (kind == Q_FRAME) {
			const struct gp_frame_hdr *fh = src;
			uint64_t lost;
			/* its state records are kept (later records need their strings and
			 * threads), the others counted lost */
			struct qbuf *d = dropped_frame_state(r, c, src, len, &lost);

			r->spool_lost += lost;
			if (d) { /* the frame arrives, with fewer records */
				if (r->deferred_tail)
					r->deferred_tail->next = d;
				else
					r->deferred = d;
				r->deferred_tail = d;
			} else {
				c->sdrop_frames++;
				if (len >= sizeof(*fh) && fh->seq < UINT64_MAX &&
				    fh->seq + 1 > c->sdrop_end)
					c->sdrop_end = fh->seq + 1;
			}
		} else { /* state: kept, after everything the segment holds */
			struct qbuf *d = small_item(kind, c);

			if (r->deferred_tail)
				r->deferred_tail->next = d;
			else
				r->deferred = d;
			r->deferred_tail = d;
		}
	}
	r->spool_writing = 0;
	if (r->writer_waiting)
		pthread_cond_signal(&r->cv_data);
	pthread_mutex_unlock(&r->mu);
}

#define SPOOL_KEEP_FREE_MAX (64ull << 20) /* the spool leaves this much free at most */

/* May the spool take n more bytes?  It leaves a quarter of its file system (at most
 * SPOOL_KEEP_FREE_MAX) free for the report itself: on a disk that fills up, the report's
 * rows come before the spool's backlog (recorder.h). */
static int spool_room(struct recorder *r, size_t n)
{
	struct statvfs vfs;
	uint64_t avail, keep;

	if (fstatvfs(r->spool_fd, &vfs) != 0 || !vfs.f_blocks)
		return 1;
	avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	keep = (uint64_t)vfs.f_blocks * vfs.f_frsize / 4;
	if (keep > SPOOL_KEEP_FREE_MAX)
		keep = SPOOL_KEEP_FREE_MAX;
	return avail >= keep + n;
}

static void item_put(struct recorder *r, struct qbuf *b, uint32_t kind, struct rconn *c,
		     uint32_t len)
{
	item_put_from(r, b, kind, c, len, b->data);
}

/* Open the spool file next to the report (see the file comment).  0 or -1 (a warning
 * was printed: the application may then wait for the report). */
static int spool_open(struct recorder *r)
{
	char *dir = xstrdup(r->report_path), *slash = strrchr(dir, '/');
	int fd;

	if (slash)
		slash[slash == dir] = '\0';
	else
		strcpy(dir, ".");
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) { /* a file system without O_TMPFILE: a named file, unlinked at once */
		char *tmpl = xasprintf("%s/.gprof-cli-spool-XXXXXX", dir);

		fd = mkostemp(tmpl, O_CLOEXEC);
		if (fd >= 0)
			unlink(tmpl);
		free(tmpl);
	}
	if (fd < 0)
		warning("cannot create a spool file in '%s' (%s): the application may wait for "
			"the report when events come faster than it is written",
			dir, strerror(errno));
	free(dir);
	r->spool_fd = fd;
	return fd < 0 ? -1 : 0;
}

/* ---- reader ------------------------------------------------------------------------ */

static int ring_drain(struct recorder *r, struct rconn *c, int limit);

static void close_conn(struct recorder *r, struct rconn *c)
{
	if (c->ring) {
		/* the producer is gone or closed our socket: whatever it published before
		 * is still in the ring */
		atomic_store(&c->ring->closed, 1);
		ring_drain(r, c, INT32_MAX);
		munmap(c->ring, GP_RING_HDR_BYTES + c->ring_size);
		c->ring = NULL;
		r->nrings--;
	}
	if (c->ring_offered && r->ctl)
		atomic_fetch_add(&r->ctl->ring_slots, 1);
	epoll_ctl(r->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	atomic_fetch_sub(&r->conn_fds, 1);
	c->fd = -1;
	if (c->prev)
		c->prev->next = c->next;
	else
		r->open_list = c->next;
	if (c->next)
		c->next->prev = c->prev;
	item_put(r, item_buf(r), Q_CLOSE, c, 0);
	pthread_mutex_lock(&r->mu);
	r->nopen--;
	pthread_cond_broadcast(&r->cv_closed);
	pthread_mutex_unlock(&r->mu);
}

/* A frame holding only a GP_REC_FLUSH_ACK (the producer sends it alone): remember its
 * epoch for check_shutdown().  The writer decodes (and ignores) it like any frame. */
static void note_flush_ack(struct rconn *c, const void *frame, size_t n)
{
	const struct gp_frame_hdr *fh = frame;
	const struct gp_rec_flush_ack *a = (const void *)(fh + 1);

	if (n != sizeof(*fh) + sizeof(*a) || fh->magic != GP_WIRE_MAGIC ||
	    fh->length != sizeof(*a) || a->h.type != GP_REC_FLUSH_ACK || a->h.size != sizeof(*a))
		return;
	if ((int32_t)(a->epoch - c->acked_epoch) > 0)
		c->acked_epoch = a->epoch;
}

/* Map the ring offered by the first message of c (b, n bytes, the memfd `fd`, which is
 * closed here).  0, or -1 when the offer is malformed or cannot be mapped (the
 * connection is then ended: counted as a bad frame). */
static int ring_accept(struct recorder *r, struct rconn *c, const struct qbuf *b, size_t n, int fd)
{
	const struct gp_frame_hdr *fh = (const void *)b->data;
	const struct gp_ring_offer *o = (const void *)(fh + 1);
	struct gp_ring_hdr *h;
	struct stat sb;
	uint64_t size;
	void *m;

	c->ring_offered = 1;
	if (n != sizeof(*fh) + sizeof(*o) || fh->magic != GP_WIRE_MAGIC ||
	    fh->version != GP_WIRE_VERSION || fh->length != sizeof(*o)) {
		close(fd);
		return -1;
	}
	size = o->data_bytes;
	if (size < 2 * GP_FRAME_MAX || size > (256u << 20) || (size & (size - 1)) ||
	    fstat(fd, &sb) != 0 || (uint64_t)sb.st_size < GP_RING_HDR_BYTES + size) {
		close(fd);
		return -1;
	}
	m = mmap(NULL, GP_RING_HDR_BYTES + size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return -1;
	h = m;
	if (h->magic != GP_RING_MAGIC || h->version != GP_RING_VERSION || h->data_bytes != size) {
		munmap(m, GP_RING_HDR_BYTES + size);
		return -1;
	}
	c->ring = h;
	c->ring_data = (const unsigned char *)m + GP_RING_HDR_BYTES;
	c->ring_size = size;
	c->ring_tail = atomic_load(&h->tail);
	r->nrings++;
	r->rings_asleep = 0;
	return 0;
}

/* Copy up to `limit` frames out of c's ring into the queue and give their space back.
 * Returns the frames taken; a frame that breaks the ring's rules ends the ring (a bad
 * frame; the connection closes at its end of file). */
static int ring_drain(struct recorder *r, struct rconn *c, int limit)
{
	struct gp_ring_hdr *h = c->ring;
	uint64_t mask = c->ring_size - 1, tail = c->ring_tail, head;
	int k = 0;

	if (!h)
		return 0;
	head = atomic_load_explicit(&h->head, memory_order_acquire);
	while (tail != head && k < limit) {
		uint64_t off = tail & mask, rem = c->ring_size - off, need;
		struct gp_frame_hdr fh;
		struct qbuf *b;

		if (head - tail > c->ring_size || (head & 7))
			goto bad;
		if (rem < sizeof(fh)) { /* too little room before the end: skipped */
			tail += rem;
			continue;
		}
		memcpy(&fh, c->ring_data + off, sizeof(fh));
		if (fh.magic == 0) { /* skip to the start */
			if (head - tail < rem)
				goto bad;
			tail += rem;
			continue;
		}
		need = (sizeof(fh) + (uint64_t)fh.length + 7) & ~7ull;
		if (fh.length > GP_FRAME_MAX - sizeof(fh) || need > rem || need > head - tail)
			goto bad;
		b = item_buf(r);
		note_flush_ack(c, c->ring_data + off, sizeof(fh) + fh.length);
		r->bytes += sizeof(fh) + fh.length;
		if (b == r->spool_buf) { /* straight from the ring to the spool file */
			item_put_from(r, b, Q_FRAME, c, (uint32_t)(sizeof(fh) + fh.length),
				      c->ring_data + off);
		} else {
			/* decoded from this private copy, whatever the producer writes now */
			memcpy(b->data, c->ring_data + off, sizeof(fh) + fh.length);
			item_put(r, b, Q_FRAME, c, (uint32_t)(sizeof(fh) + fh.length));
		}
		tail += need;
		k++;
		if (k % 16 == 0 || tail == head) { /* space back early: the producer may wait */
			c->ring_tail = tail;
			atomic_store(&h->tail, tail);
			atomic_fetch_add(&h->tail_seq, 1);
			if (atomic_load(&h->waiting) && atomic_exchange(&h->waiting, 0))
				syscall(SYS_futex, (uint32_t *)&h->tail_seq, FUTEX_WAKE, INT32_MAX,
					NULL, NULL, 0);
			head = atomic_load_explicit(&h->head, memory_order_acquire);
		}
	}
	c->ring_tail = tail;
	atomic_store(&h->tail, tail);
	return k;
bad:
	r->ring_bad++;
	atomic_store(&h->closed, 1);
	munmap(h, GP_RING_HDR_BYTES + c->ring_size);
	c->ring = NULL;
	r->nrings--;
	return k;
}

/* Drain every ring once (RING_BURST frames each).  Returns the frames taken; *more:
 * set when a ring still had frames after its burst. */
static int rings_poll(struct recorder *r, int *more)
{
	struct rconn *c;
	int k = 0;

	if (!r->nrings)
		return 0;
	for (c = r->open_list; c; c = c->next) {
		if (!c->ring)
			continue;
		k += ring_drain(r, c, RING_BURST);
		if (c->ring &&
		    c->ring_tail != atomic_load_explicit(&c->ring->head, memory_order_relaxed))
			*more = 1;
	}
	return k;
}

/* Poll the rings and say how long epoll may sleep (ms, -1 = until an event): while they
 * are busy, RING_POLL_MS; once idle for RING_IDLE_MS, set every `sleeping` (wire.h:
 * then look once more) and sleep until a doorbell. */
static int rings_timeout(struct recorder *r)
{
	struct rconn *c;
	uint64_t now;
	int more = 0;

	if (!r->nrings)
		return -1;
	now = gp_monotonic_ns();
	if (rings_poll(r, &more) > 0) {
		r->ring_busy_ns = now;
		return more ? 0 : RING_POLL_MS; /* behind: straight back */
	}
	if (r->rings_asleep)
		return -1;
	if (now - r->ring_busy_ns < RING_IDLE_MS * 1000000ull)
		return RING_POLL_MS;
	for (c = r->open_list; c; c = c->next)
		if (c->ring)
			atomic_store(&c->ring->sleeping, 1);
	if (rings_poll(r, &more) > 0) {
		for (c = r->open_list; c; c = c->next)
			if (c->ring)
				atomic_store(&c->ring->sleeping, 0);
		r->ring_busy_ns = now;
		return RING_POLL_MS;
	}
	r->rings_asleep = 1;
	return -1;
}

/* Keep the thread-buffer memfd a producer offered (wire.h "Thread buffers") when it is
 * one: a memfd of the size the format says (else closed, ignored). */
static void tbufs_accept(struct recorder *r, struct rconn *c, int fd)
{
	struct stat sb;

	if (fstat(fd, &sb) != 0 ||
	    (uint64_t)sb.st_size != (uint64_t)GP_TBUFS_SLOTS * GP_TBUF_STRIDE) {
		close(fd);
		return;
	}
	if (c->tbufs_fd >= 0)
		close(c->tbufs_fd);
	else
		atomic_fetch_add(&r->conn_fds, 1);
	c->tbufs_dev = sb.st_dev;
	c->tbufs_ino = sb.st_ino;
	/* (after its identity: tbufs_taken_over() reads both on the writer thread) */
	__atomic_store_n(&c->tbufs_fd, fd, __ATOMIC_RELEASE);
}

/* One message of at most len bytes from socket sock into buf without waiting
 * (MSG_TRUNC: the message's real length comes back); a descriptor passed with it
 * (SCM_RIGHTS, close-on-exec) into *fd, else *fd = -1.  recvmsg's result. */
static ssize_t recv_with_fd(int sock, void *buf, size_t len, int *fd)
{
	union {
		struct cmsghdr c;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = {buf, len};
	struct msghdr mh;
	ssize_t n;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	*fd = -1;
	n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);
	if (n >= 0 && mh.msg_controllen >= CMSG_LEN(sizeof(int))) {
		struct cmsghdr *ch = CMSG_FIRSTHDR(&mh);

		if (ch && ch->cmsg_level == SOL_SOCKET && ch->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(ch), sizeof(int));
	}
	return n;
}

/* Read up to `limit` messages from c; returns 1 when the connection was closed. */
static int read_conn(struct recorder *r, struct rconn *c, int limit)
{
	int k;

	for (k = 0; k < limit; k++) {
		struct qbuf *b;
		ssize_t n;
		int fd;

		if (c->ring) {
			/* doorbells, and the thread-buffer memfd offer (other fds are closed) */
			struct gp_frame_hdr tmp;

			n = recv_with_fd(c->fd, &tmp, sizeof(tmp), &fd);
			if (n > 0) {
				if (fd >= 0 && n == (ssize_t)sizeof(tmp) &&
				    tmp.type == GP_FRAME_TBUFS && tmp.magic == GP_WIRE_MAGIC)
					tbufs_accept(r, c, fd);
				else if (fd >= 0)
					close(fd);
				r->rings_asleep = 0;
				continue;
			}
			if (fd >= 0)
				close(fd);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return 0;
			close_conn(r, c);
			return 1;
		}
		b = item_buf(r);
		n = recv_with_fd(c->fd, b->data, GP_FRAME_MAX, &fd);
		if (n > 0 && c->messages++ == 0 && fd >= 0 &&
		    ((const struct gp_frame_hdr *)b->data)->type == GP_FRAME_RING) {
			int ok = ring_accept(r, c, b, (size_t)n, fd) == 0;

			item_cancel(r, b);
			if (ok)
				continue;
			r->ring_bad++;
			close_conn(r, c);
			return 1;
		}
		if (n == (ssize_t)sizeof(struct gp_frame_hdr) && fd >= 0 &&
		    ((const struct gp_frame_hdr *)b->data)->type == GP_FRAME_TBUFS &&
		    ((const struct gp_frame_hdr *)b->data)->magic == GP_WIRE_MAGIC) {
			tbufs_accept(r, c, fd);
			item_cancel(r, b);
			continue;
		}
		if (fd >= 0)
			close(fd); /* fds are only welcome with a ring or buffers offer */
		if (n > 0) {
			note_flush_ack(c, b->data, (size_t)n);
			r->bytes += (uint64_t)n;
			item_put(r, b, Q_FRAME, c, n > UINT32_MAX ? UINT32_MAX : (uint32_t)n);
			continue;
		}
		item_cancel(r, b);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		close_conn(r, c);
		return 1;
	}
	return 0;
}

static void accept_conns(struct recorder *r)
{
	for (;;) {
		int fd;

		/* a connection holds 2 fds (socket, memfd) and takes a third for a moment
		 * (its ring's memfd) */
		if (atomic_load(&r->conn_fds) + 3 > r->fd_budget) {
			/* the fds left are SQLite's and the spool's (below) */
			errno = EMFILE;
			fd = -1;
		} else {
			fd = accept4(r->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		}
		struct ucred cred;
		socklen_t len = sizeof(cred);
		struct epoll_event ev;
		struct rconn *c;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* out of fds: the connection waits in the backlog (its producer
				 * in connect()); stop watching the listening socket for
				 * ACCEPT_BACKOFF_MS instead of spinning on it */
				epoll_ctl(r->epfd, EPOLL_CTL_DEL, r->lfd, NULL);
				r->accept_resume_ns =
				    gp_monotonic_ns() + ACCEPT_BACKOFF_MS * 1000000ull;
				r->accept_waits++;
			}
			return; /* EAGAIN: on the next event */
		}
		atomic_fetch_add(&r->conn_fds, 1);
		c = xcalloc(1, sizeof(*c));
		c->fd = fd;
		c->tbufs_fd = -1;
		c->late = r->shut_pending; /* its flusher never saw the request: no ack */
		c->accept_epoch = r->ctl ? atomic_load(&r->ctl->flush_epoch) : 0;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
			c->pid = (uint32_t)cred.pid;
		item_put(r, item_buf(r), Q_OPEN, c, 0);
		c->next = r->open_list;
		if (c->next)
			c->next->prev = c;
		r->open_list = c;
		r->connections++;
		pthread_mutex_lock(&r->mu);
		r->nopen++;
		pthread_mutex_unlock(&r->mu);
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev);
	}
}

/* Watch the listening socket again once the accept back-off is over (accept_conns);
 * returns the epoll timeout (ms) until then, -1 when not backing off. */
static int accept_resume(struct recorder *r)
{
	struct epoll_event ev;
	uint64_t now;

	if (!r->accept_resume_ns)
		return -1;
	now = gp_monotonic_ns();
	if (now < r->accept_resume_ns)
		return (int)((r->accept_resume_ns - now + 999999) / 1000000);
	r->accept_resume_ns = 0;
	ev.events = EPOLLIN;
	ev.data.ptr = &r->lfd;
	epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->lfd, &ev);
	return -1;
}

/* The producer that closed the last range set the page's `shutdown` before sending its
 * GP_REC_CAPTURE frame, so the reader sees it when that frame wakes it up.  It also made
 * a flush request (wire.h "Flush requests"): the notification waits until every
 * connection open then has acknowledged it, or GP_FLUSH_ACK_WAIT_MS passed.  Returns the
 * epoll timeout (ms) to come back with: -1 = none needed. */
static int check_shutdown(struct recorder *r)
{
	uint64_t one = 1, now;
	struct rconn *c;

	if (r->shutfd < 0 || atomic_load_explicit(&r->shutdown_sent, memory_order_relaxed) ||
	    !atomic_load_explicit(&r->ctl->shutdown, memory_order_acquire))
		return -1;
	now = gp_monotonic_ns();
	if (!r->shut_pending) {
		r->shut_pending = 1;
		r->shut_epoch = atomic_load_explicit(&r->ctl->flush_epoch, memory_order_acquire);
		r->shut_deadline_ns = now + GP_FLUSH_ACK_WAIT_MS * 1000000ull;
	}
	if (now < r->shut_deadline_ns)
		for (c = r->open_list; c; c = c->next)
			if (!c->late && (int32_t)(c->acked_epoch - r->shut_epoch) < 0)
				return (int)((r->shut_deadline_ns - now + 999999) / 1000000);
	atomic_store(&r->shutdown_sent, 1);
	if (write(r->shutfd, &one, sizeof(one)) < 0)
		(void)0;
	return -1;
}

/* Session: a window stop is pending (struct window_req): once every connection accepted
 * before its flush request acknowledged it, or GP_FLUSH_ACK_WAIT_MS passed, queue Q_WINDOW.
 * Returns the epoll timeout (ms) to come back with: -1 = none needed. */
static int check_window(struct recorder *r)
{
	struct rconn *c;
	uint64_t now;
	int pending;

	pthread_mutex_lock(&r->mu);
	pending = r->win.pending;
	pthread_mutex_unlock(&r->mu);
	if (!pending)
		return -1;
	now = gp_monotonic_ns();
	if (now < r->win.deadline_ns)
		for (c = r->open_list; c; c = c->next)
			if ((int32_t)(c->accept_epoch - r->win.epoch) < 0 &&
			    (int32_t)(c->acked_epoch - r->win.epoch) < 0)
				return (int)((r->win.deadline_ns - now + 999999) / 1000000);
	pthread_mutex_lock(&r->mu);
	r->win.pending = 0;
	if (r->win.start) { /* every collector runs with the window open */
		r->win.done = 1;
		pthread_cond_broadcast(&r->cv_closed);
	}
	pthread_mutex_unlock(&r->mu);
	if (!r->win.start)
		item_put(r, item_buf(r), Q_WINDOW, NULL, 0);
	return -1;
}

static void *reader_main(void *arg)
{
	struct recorder *r = arg;
	struct epoll_event evs[64];
	int timeout = -1;

	for (;;) {
		int n = epoll_wait(r->epfd, evs, 64, timeout), i, stop;

		if (n < 0 && errno != EINTR)
			break;
		for (i = 0; i < n; i++) {
			void *tag = evs[i].data.ptr;

			if (tag == &r->lfd) {
				accept_conns(r);
			} else if (tag == &r->timerfd) {
				uint64_t v;

				if (read(r->timerfd, &v, sizeof(v)) == sizeof(v))
					capture_control_open_delay_window(r->ctl,
									  gp_monotonic_ns());
			} else if (tag == &r->wakefd) {
				uint64_t v;

				if (read(r->wakefd, &v, sizeof(v)) < 0)
					(void)0;
			} else {
				read_conn(r, tag, READ_BURST);
			}
		}
		{
			int rt = rings_timeout(r);

			int wt = check_window(r);

			timeout = check_shutdown(r);
			if (rt >= 0 && (timeout < 0 || rt < timeout))
				timeout = rt;
			if (wt >= 0 && (timeout < 0 || wt < timeout))
				timeout = wt;
			wt = accept_resume(r);
			if (wt >= 0 && (timeout < 0 || wt < timeout))
				timeout = wt;
		}
		pthread_mutex_lock(&r->mu);
		stop = r->stop_reader;
		pthread_mutex_unlock(&r->mu);
		if (stop)
			break;
	}
	/* Session over: take what is still readable, then close what is left open; and the
	 * connections still waiting to be accepted (out of fds: a few at a time, as the
	 * writer closes the ones before; at most FINAL_ACCEPT_MS while none can be taken). */
	for (uint64_t give_up = gp_monotonic_ns() + FINAL_ACCEPT_MS * 1000000ull;;) {
		r->accept_resume_ns = 0;
		accept_conns(r);
		if (!r->open_list) {
			if (!r->accept_resume_ns || gp_monotonic_ns() > give_up)
				break; /* the backlog is empty */
			usleep(1000);
			continue;
		}
		while (r->open_list) {
			struct rconn *c = r->open_list;

			if (!read_conn(r, c, INT32_MAX)) {
				c->forced = 1; /* (its process may well be alive: no wait) */
				close_conn(r, c);
			}
		}
		give_up = gp_monotonic_ns() + FINAL_ACCEPT_MS * 1000000ull;
	}
	return NULL;
}

/* ---- writer ------------------------------------------------------------------------ */

/* gp_decode_frame()'s callback: one record of connection c to the sink. */
struct rec_ctx {
	struct record_sink *sink;
	struct rconn *c;
};

static int on_record(void *ctx, const struct gp_rec_hdr *rec)
{
	struct rec_ctx *x = ctx;

	if (rec->type == GP_REC_PROCESS_EXIT)
		x->c->said_exit = 1;
	return x->sink->ops->record(x->sink, x->c->sc, rec);
}

static void writer_begin(struct recorder *r)
{
	if (!r->txn_open) {
		if (r->sink->ops->begin)
			r->sink->ops->begin(r->sink);
		r->txn_open = 1;
		r->txn_start_ns = gp_monotonic_ns();
	}
}

static void writer_commit(struct recorder *r)
{
	if (r->txn_open) {
		r->sink->ops->commit(r->sink);
		r->txn_open = 0;
	}
}

/* Q_WINDOW: finish the window of r->win with the session's counters so far, and wake up
 * recorder_window_stop(). */
static void finish_window(struct recorder *r)
{
	struct recorder_stats st;
	char *path = NULL;
	int ret;

	writer_commit(r);
	memset(&st, 0, sizeof(st));
	st.frames = r->dc.frames;
	st.report.records = r->dc.records;
	st.report.bad_frames = r->dc.bad_frames;
	st.report.lost_frames = r->dc.lost_frames;
	st.capture_ranges = atomic_load(&r->ctl->nwindows);
	ret = capture_router_finish_window(r->rt, r->win.k, r->win.app, &st, r->win.cancel, &path);
	pthread_mutex_lock(&r->mu);
	r->win.result = ret;
	r->win.path = path;
	r->win.done = 1;
	pthread_cond_broadcast(&r->cv_closed);
	pthread_mutex_unlock(&r->mu);
}

static void handle(struct recorder *r, uint32_t kind, struct rconn *c, const void *data,
		   uint32_t len);

/* Count pid once in r->abrupt (a process has one connection per collector library). */
static void count_pid(struct recorder *r, uint32_t pid)
{
	for (size_t i = 0; i < r->n_abrupt_pids; i++)
		if (r->abrupt_pids[i] == pid)
			return;
	GP_ALLOC_GROW(r->abrupt_pids, r->n_abrupt_pids + 1, r->abrupt_alloc);
	r->abrupt_pids[r->n_abrupt_pids++] = pid;
	r->abrupt++;
}

/* Has the process behind pidfd ended (a zombie counts: it runs no more code)? */
static int pidfd_gone(int pidfd)
{
	struct pollfd p = {pidfd, POLLIN, 0};

	return poll(&p, 1, 0) == 1;
}

/* Is c's process gone?  1 gone, 0 alive, -1 cannot tell (no pidfd_open here: the
 * recorder does not guess).  *pidfd gets a pidfd of a live process (-1 otherwise), for
 * the caller to watch.  A process that ended without its exit flush closes its socket
 * while it exits, so it can still look alive for a while (on a loaded machine for many
 * milliseconds): the caller waits for it (reap_check()), it never gives up on it. */
static int process_gone(const struct rconn *c, int *pidfd)
{
	int fd;

	*pidfd = -1;
	if (!c->pid)
		return -1;
	fd = (int)syscall(SYS_pidfd_open, (pid_t)c->pid, 0);
	if (fd < 0)
		return errno == ESRCH ? 1 : -1; /* reaped already */
	if (pidfd_gone(fd)) {
		close(fd);
		return 1;
	}
	*pidfd = fd;
	return 0;
}

/*
 * c's connection ended: when its process is gone, write the records it left in its thread
 * buffers (wire.h "Thread buffers": an exit that skipped the exit flush, a crash under
 * the application's own handler, SIGKILL, a thread blocked in a send), each non-empty
 * slot as a frame of the connection, after everything it sent.  Then close c's fds.
 */
static void salvage(struct recorder *r, struct rconn *c, int gone)
{
	const size_t bytes = (size_t)GP_TBUFS_SLOTS * GP_TBUF_STRIDE;
	const struct gp_tbufs_hdr *h;
	unsigned char *m = MAP_FAILED;
	uint64_t before = r->dc.records, end = c->seq.end; /* (salvaged frames move seq.end) */
	uint32_t n;

	if (c->tbufs_fd >= 0)
		m = mmap(NULL, bytes, PROT_READ, MAP_SHARED, c->tbufs_fd, 0);
	h = (const void *)m;
	if (m == MAP_FAILED || h->magic != GP_TBUFS_MAGIC || h->version != GP_TBUFS_VERSION ||
	    h->stride != GP_TBUF_STRIDE || atomic_load(&h->detached) || !gone)
		goto out;
	if (!r->salvage_buf)
		r->salvage_buf = xmalloc(GP_FRAME_MAX);
	n = atomic_load(&h->nslots);
	for (uint32_t k = 1; k < n && k < GP_TBUFS_SLOTS; k++) {
		const struct gp_slot_frame *sf = (const void *)(m + (size_t)k * GP_TBUF_STRIDE);
		struct gp_frame_hdr fh;
		uint32_t len = sf->len;

		memcpy(&fh, sf->data, sizeof(fh));
		if (!len || len > GP_FRAME_MAX - sizeof(fh) ||
		    (fh.magic == GP_WIRE_MAGIC && fh.seq != UINT64_MAX && fh.seq < end))
			continue; /* empty, or sent before the process died */
		fh.magic = GP_WIRE_MAGIC;
		fh.version = GP_WIRE_VERSION;
		fh.type = GP_FRAME_RECORDS;
		fh.length = len;
		fh.pid = c->pid;
		fh.seq = c->seq.end;
		memcpy(r->salvage_buf, &fh, sizeof(fh));
		memcpy(r->salvage_buf + sizeof(fh), sf->data + sizeof(fh), len);
		handle(r, Q_FRAME, c, r->salvage_buf, (uint32_t)(sizeof(fh) + len));
	}
	if (r->dc.records > before) {
		r->recovered += r->dc.records - before;
		count_pid(r, c->pid);
	}
out:
	if (m != MAP_FAILED)
		munmap(m, bytes);
	if (c->tbufs_fd >= 0) {
		close(c->tbufs_fd);
		atomic_fetch_sub(&r->conn_fds, 1);
	}
	c->tbufs_fd = -1;
}

static void handle(struct recorder *r, uint32_t kind, struct rconn *c, const void *data,
		   uint32_t len);

/* The end of c's close: its thread buffers' records when its process is gone (gone:
 * salvage()), then its last frame count, the sink's close, c freed. */
static void conn_end(struct recorder *r, struct rconn *c, int gone)
{
	salvage(r, c, gone);
	if (c->pidfd >= 0) {
		close(c->pidfd);
		atomic_fetch_sub(&r->conn_fds, 1);
	}
	if (r->tap)
		gp_tap_write(r->tap, GP_TAP_CLOSE, c->tap_conn, c->pid, NULL, 0);
	r->sink->ops->conn_close(r->sink, c->sc);
	/* frames the spool could not take are in spool_lost: not a gap here */
	c->seq.frames += c->sdrop_frames;
	if (c->sdrop_end > c->seq.end)
		c->seq.end = c->sdrop_end;
	gp_seq_close(&c->seq, &r->dc);
	free(c);
}

/* Is the memfd of c also the one of an open connection (its process connected again:
 * that connection's close reads the buffers, with its own frame numbers)?  No system
 * call: the identities were taken when the memfds came (tbufs_accept). */
static int tbufs_taken_over(const struct recorder *r, const struct rconn *c)
{
	if (__atomic_load_n(&c->tbufs_fd, __ATOMIC_ACQUIRE) < 0)
		return 0;
	for (const struct rconn *o = r->wopen; o; o = o->wnext)
		if (o->pid == c->pid && __atomic_load_n(&o->tbufs_fd, __ATOMIC_ACQUIRE) >= 0 &&
		    o->tbufs_dev == c->tbufs_dev && o->tbufs_ino == c->tbufs_ino)
			return 1;
	return 0;
}

/*
 * c's connection ended (Q_CLOSE).  A producer that said goodbye, or whose connection the
 * recorder closed, left nothing behind.  Otherwise its thread buffers hold what it did
 * not send (wire.h "Thread buffers") once its process is gone; a process that is still
 * alive either closed the socket itself (it connects again and sends them) or is still
 * exiting (its socket closes before it is reaped): c waits in the unreaped list until
 * either shows (reap_check()).  Nothing is given up on, however long an exit takes.
 */
static void conn_closed(struct recorder *r, struct rconn *c)
{
	int pidfd, gone;

	if (c->tbufs_fd < 0 || tbufs_taken_over(r, c)) {
		conn_end(r, c, 0);
		return;
	}
	gone = process_gone(c, &pidfd);
	if (c->said_exit || c->forced) { /* (its buffers were flushed, or it lives on) */
		if (pidfd >= 0)
			close(pidfd);
		conn_end(r, c, gone == 1);
		return;
	}
	if (gone != 0) {
		conn_end(r, c, gone == 1);
		return;
	}
	c->pidfd = pidfd;
	atomic_fetch_add(&r->conn_fds, 1);
	c->next = r->unreaped;
	r->unreaped = c;
}

/*
 * Look at the unreaped connections (conn_closed()), at most every REAP_EVERY_MS unless
 * final: one whose memfd an open connection took over ends without reading it; one whose
 * process is gone (or any, when final: the session is over, what a process still alive
 * wrote is read as it stands) ends with its thread buffers read.
 */
static void reap_check(struct recorder *r, int final)
{
	uint64_t now = gp_monotonic_ns();
	struct rconn **pp = &r->unreaped;

	if (!r->unreaped || (!final && now < r->reap_next_ns))
		return;
	r->reap_next_ns = now + REAP_EVERY_MS * 1000000ull;
	while (*pp) {
		struct rconn *c = *pp;
		int taken = tbufs_taken_over(r, c);

		if (!taken && !final && !pidfd_gone(c->pidfd)) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		writer_begin(r);
		conn_end(r, c, !taken);
	}
}

/* Write one item: a connection's open or close, or a frame (data, len bytes). */
static void handle(struct recorder *r, uint32_t kind, struct rconn *c, const void *data,
		   uint32_t len)
{
	switch (kind) {
	case Q_OPEN:
		if (r->tap) {
			c->tap_conn = ++r->tap_conns;
			gp_tap_write(r->tap, GP_TAP_OPEN, c->tap_conn, c->pid, NULL, 0);
		}
		c->sc = r->sink->ops->conn_open(r->sink, c->pid);
		c->pidfd = -1;
		c->wprev = NULL;
		c->wnext = r->wopen;
		if (r->wopen)
			r->wopen->wprev = c;
		r->wopen = c;
		break;
	case Q_FRAME: {
		struct rec_ctx x = {r->sink, c};

		if (r->tap)
			gp_tap_write(r->tap, GP_TAP_FRAME, c->tap_conn, c->pid, data, len);
		writer_begin(r);
		gp_decode_frame(data, len, &c->seq, &r->dc, on_record, &x);
		r->fin_done += len;
		break;
	}
	case Q_CLOSE:
		writer_begin(r);
		if (c->wprev)
			c->wprev->wnext = c->wnext;
		else
			r->wopen = c->wnext;
		if (c->wnext)
			c->wnext->wprev = c->wprev;
		conn_closed(r, c);
		break;
	case Q_WINDOW:
		finish_window(r);
		break;
	}
}

/* Finishing with stderr a terminal: "writing the report: N%" now and then, once it takes
 * longer than PROGRESS_AFTER_MS; done: clear the line. */
static void progress(struct recorder *r, int done)
{
	uint64_t now;

	if (!r->finishing || !r->fin_tty)
		return;
	if (done) {
		if (r->fin_shown)
			fputs("\r\033[K", stderr);
		return;
	}
	now = gp_monotonic_ns();
	if (now < r->fin_next)
		return;
	r->fin_next = now + PROGRESS_EVERY_MS * 1000000ull;
	if (!r->fin_total)
		return;
	fprintf(stderr, "\rgprof-cli: writing the report: %3u%% (%.1f of %.1f MB)\033[K",
		(unsigned)(r->fin_done >= r->fin_total ? 100 : r->fin_done * 100 / r->fin_total),
		(double)r->fin_done / 1e6, (double)r->fin_total / 1e6);
	r->fin_shown = 1;
}

/* Once per item: commit when the transaction is old, progress, and 1 when the writer
 * thread should hand off to recorder_finish() now. */
static int after_item(struct recorder *r)
{
	/* also every GP_REPORT_TXN_ROWS rows: a transaction the full disk rolls back loses
	 * no more (core/report.h "Disk full") */
	if (r->txn_open &&
	    (gp_monotonic_ns() - r->txn_start_ns >= GP_RECORDER_COMMIT_MS * 1000000ull ||
	     (r->sink->ops->txn_rows && r->sink->ops->txn_rows(r->sink) >= GP_REPORT_TXN_ROWS)))
		writer_commit(r);
	progress(r, 0);
	reap_check(r, 0);
	return !r->finishing && __atomic_load_n(&r->handoff, __ATOMIC_RELAXED);
}

/*
 * The writer's turn of the spool (a Q_SPOOL item): read back and write everything the
 * reader appended, until the segment ends (file comment).  Returns 0 at its end, 1 when
 * the writer thread must hand off first (the segment goes on where it stopped).
 */
static int spool_segment(struct recorder *r)
{
	for (;;) {
		uint64_t avail, at, want;
		ssize_t n;
		size_t off = 0;

		pthread_mutex_lock(&r->mu);
		while (r->spool_w == r->spool_r && r->spool_writing) {
			r->writer_waiting = 1;
			pthread_cond_wait(&r->cv_data, &r->mu);
			r->writer_waiting = 0;
		}
		avail = r->spool_w - r->spool_r;
		at = r->spool_r;
		if (!avail) { /* caught up, and the reader is not appending: the end */
			r->spooling = 0;
			r->spool_broken = 0;
			r->spool_w = r->spool_r = 0;
			if (ftruncate(r->spool_fd, 0) < 0)
				(void)0;   /* (only frees the disk space early) */
			if (r->deferred) { /* the memory queue is empty since the marker */
				r->deferred_tail->next = r->qhead;
				r->qhead = r->deferred;
				if (!r->qtail)
					r->qtail = r->deferred_tail;
				r->deferred = r->deferred_tail = NULL;
			}
			pthread_mutex_unlock(&r->mu);
			return 0;
		}
		pthread_mutex_unlock(&r->mu);
		want = avail < SPOOL_READ ? avail : SPOOL_READ;
		n = pread(r->spool_fd, r->spool_rbuf, want, (off_t)at);
		if (n <= 0) { /* cannot read back what was written: the rest is lost */
			pthread_mutex_lock(&r->mu);
			r->spool_lost++; /* (at least one frame: the exact count is unknown) */
			r->spool_r = r->spool_w;
			pthread_mutex_unlock(&r->mu);
			continue;
		}
		while (off + sizeof(struct spool_item) <= (size_t)n) {
			struct spool_item it;
			uint32_t data;
			size_t sz;

			memcpy(&it, r->spool_rbuf + off, sizeof(it));
			data = it.kind == Q_FRAME ? (it.len < GP_FRAME_MAX ? it.len : GP_FRAME_MAX)
						  : 0;
			sz = sizeof(it) + ((data + 7u) & ~7u);
			if (off + sz > (size_t)n)
				break; /* the rest of it in the next read */
			handle(r, it.kind, it.conn, r->spool_rbuf + off + sizeof(it), it.len);
			off += sz;
			if (after_item(r))
				break;
		}
		pthread_mutex_lock(&r->mu);
		r->spool_r += off;
		pthread_mutex_unlock(&r->mu);
		posix_fadvise(r->spool_fd, (off_t)at, (off_t)off, POSIX_FADV_DONTNEED);
		if (!r->finishing && __atomic_load_n(&r->handoff, __ATOMIC_RELAXED))
			return 1;
	}
}

/* Put items the writer took back at the head of the queue (handoff). */
static void unshift_items(struct recorder *r, struct qbuf *first)
{
	struct qbuf *last = first;

	if (!first)
		return;
	while (last->next)
		last = last->next;
	pthread_mutex_lock(&r->mu);
	last->next = r->qhead;
	r->qhead = first;
	if (!r->qtail)
		r->qtail = last;
	pthread_mutex_unlock(&r->mu);
}

/*
 * Write queued items in order.  The writer thread (finishing 0) returns when
 * recorder_finish() asks for the handoff (what it had taken goes back to the queue) or,
 * on an error path, at stop_writer with nothing queued; recorder_finish() (finishing 1)
 * returns once everything is written.
 */
static void writer_loop(struct recorder *r)
{
	for (;;) {
		struct qbuf *list, *ret_first = NULL, *ret_last = NULL;
		int nret = 0;

		pthread_mutex_lock(&r->mu);
		while (!r->qhead) {
			if ((!r->finishing && r->handoff) || r->stop_writer) {
				pthread_mutex_unlock(&r->mu);
				writer_commit(r);
				return;
			}
			r->writer_waiting = 1;
			if (r->txn_open || r->unreaped) {
				struct timespec ts;
				int rc;

				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_nsec +=
				    (r->txn_open ? IDLE_COMMIT_MS : REAP_EVERY_MS) * 1000000L;
				if (ts.tv_nsec >= 1000000000L) {
					ts.tv_sec++;
					ts.tv_nsec -= 1000000000L;
				}
				rc = pthread_cond_timedwait(&r->cv_data, &r->mu, &ts);
				r->writer_waiting = 0;
				if (rc == ETIMEDOUT && !r->qhead) {
					pthread_mutex_unlock(&r->mu);
					reap_check(r, 0);
					writer_commit(r); /* idle */
					pthread_mutex_lock(&r->mu);
				}
			} else {
				pthread_cond_wait(&r->cv_data, &r->mu);
				r->writer_waiting = 0;
			}
		}
		list = r->qhead;
		r->qhead = r->qtail = NULL;
		for (struct qbuf *b = list; b; b = b->next)
			if (b->kind == Q_FRAME)
				r->queued_bytes -= b->len;
		pthread_mutex_unlock(&r->mu);

		while (list) {
			struct qbuf *b = list;

			list = b->next;
			if (b->kind & Q_SMALL) {
				if (b->kind == (Q_SPOOL | Q_SMALL)) {
					if (ret_first) { /* the reader may need them */
						pool_put_chain(r, ret_first, ret_last);
						ret_first = ret_last = NULL;
						nret = 0;
					}
					if (spool_segment(r)) {
						b->next = list;
						unshift_items(r, b);
						return;
					}
				} else if (b->kind ==
					   (Q_FRAME | Q_SMALL)) { /* dropped_frame_state() */
					handle(r, Q_FRAME, b->conn, b->data, b->len);
				} else {
					handle(r, b->kind & ~Q_SMALL, b->conn, NULL, 0);
				}
				free(b);
			} else {
				handle(r, b->kind, b->conn, b->data, b->len);
				b->next = ret_first;
				ret_first = b;
				if (!ret_last)
					ret_last = b;
				if (++nret == RETURN_BATCH) {
					pool_put_chain(r, ret_first, ret_last);
					ret_first = ret_last = NULL;
					nret = 0;
				}
			}
			if (after_item(r)) {
				if (ret_first)
					pool_put_chain(r, ret_first, ret_last);
				unshift_items(r, list);
				return;
			}
		}
		if (ret_first)
			pool_put_chain(r, ret_first, ret_last);
	}
}

static void *writer_main(void *arg)
{
	struct recorder *r = arg;
	const char *env = getenv("GPROF_CLI_WRITER_NICE");
	int nice = env && *env ? atoi(env) : WRITER_NICE_DEFAULT;
	struct timespec cpu;

	if (nice > 0) { /* the reader and the application first (file comment) */
		id_t tid = (id_t)syscall(SYS_gettid);
		int cur;

		errno = 0;
		cur = getpriority(PRIO_PROCESS, tid); /* (-1 is a valid nice value) */
		if (errno)
			cur = 0;
		setpriority(PRIO_PROCESS, tid, cur + nice < 19 ? cur + nice : 19);
	}
	if (recorder_test_hold_writer) { /* all of it for recorder_finish() */
		pthread_mutex_lock(&r->mu);
		while (!r->handoff && !r->stop_writer)
			pthread_cond_wait(&r->cv_data, &r->mu);
		pthread_mutex_unlock(&r->mu);
	}
	writer_loop(r);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
	r->writer_cpu_ns = (uint64_t)cpu.tv_sec * 1000000000ull + (uint64_t)cpu.tv_nsec;
	return NULL;
}

/* ---- start / finish ---------------------------------------------------------------- */

static void free_recorder(struct recorder *r)
{
	while (r->free_list) {
		struct qbuf *b = r->free_list;

		r->free_list = b->next;
		free(b);
	}
	while (r->unreaped) { /* (a recorder given up on: nothing more is written) */
		struct rconn *c = r->unreaped;

		r->unreaped = c->next;
		if (c->tbufs_fd >= 0)
			close(c->tbufs_fd);
		close(c->pidfd);
		free(c);
	}
	while (r->deferred) {
		struct qbuf *d = r->deferred;

		r->deferred = d->next;
		free(d);
	}
	if (r->spool_fd >= 0)
		close(r->spool_fd);
	free(r->spool_buf);
	free(r->spool_rbuf);
	free(r->salvage_buf);
	free(r->abrupt_pids);
	if (r->lfd >= 0)
		close(r->lfd);
	if (r->epfd >= 0)
		close(r->epfd);
	if (r->wakefd >= 0)
		close(r->wakefd);
	if (r->shutfd >= 0)
		close(r->shutfd);
	if (r->timerfd >= 0)
		close(r->timerfd);
	if (r->ctl)
		capture_control_destroy(r->ctl, r->dir);
	free(r->report_path);
	for (size_t i = 0; i < r->n_expect; i++)
		free((char *)r->expect[i].name);
	free(r->expect);
	if (r->sock_path)
		unlink(r->sock_path);
	if (r->dir)
		rmdir(r->dir);
	free(r->sock_path);
	free(r->dir);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv_data);
	pthread_cond_destroy(&r->cv_space);
	pthread_cond_destroy(&r->cv_closed);
	free(r);
}

/*
 * Channel folders are "$TMPDIR/gprof-cli-<pid>-XXXXXX" (pid: the recorder's).  A recorder
 * that was killed (SIGKILL, OOM) leaves its folder with the socket and the control file;
 * the next recorder removes such folders when they belong to this user, their pid is gone
 * (kill(pid, 0): ESRCH), nobody listens on the socket (a recorder in another pid
 * namespace sharing /tmp still answers), and they are older than a minute.  Only the
 * files a recorder creates are removed; a folder holding anything else stays.
 */
#define STALE_AGE_S 60

static void clean_stale_channels(const char *tmp)
{
	DIR *d = opendir(tmp);
	struct dirent *e;
	time_t now = time(NULL);

	if (!d)
		return;
	while ((e = readdir(d))) {
		char *dir, *sock, *ctl, *end;
		struct sockaddr_un sa;
		struct stat sb;
		long pid;
		int fd, alive = 0;

		if (strncmp(e->d_name, "gprof-cli-", 10))
			continue;
		pid = strtol(e->d_name + 10, &end, 10);
		if (pid <= 0 || *end != '-' || strlen(end + 1) != 6 || (pid_t)pid == getpid() ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		dir = xasprintf("%s/%s", tmp, e->d_name);
		if (lstat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode) || sb.st_uid != getuid() ||
		    now - sb.st_mtime < STALE_AGE_S) {
			free(dir);
			continue;
		}
		sock = xasprintf("%s/%s", dir, CHANNEL_NAME);
		ctl = xasprintf("%s/%s", dir, GP_CONTROL_NAME);
		fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		memset(&sa, 0, sizeof(sa));
		sa.sun_family = AF_UNIX;
		if (fd >= 0 && strlen(sock) < sizeof(sa.sun_path)) {
			strcpy(sa.sun_path, sock);
			alive = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		}
		if (fd >= 0)
			close(fd);
		if (!alive) {
			unlink(sock);
			unlink(ctl);
			rmdir(dir);
		}
		free(sock);
		free(ctl);
		free(dir);
	}
	closedir(d);
}

static int setup_channel(struct recorder *r)
{
	const char *tmp = getenv("TMPDIR");
	struct sockaddr_un sa;
	struct epoll_event ev;
	char *tmpl;

	if (!tmp || !*tmp)
		tmp = "/tmp";
	clean_stale_channels(tmp);
	tmpl = xasprintf("%s/gprof-cli-%d-XXXXXX", tmp, (int)getpid());
	if (!mkdtemp(tmpl)) {
		error("cannot create the record channel folder in '%s': %s", tmp, strerror(errno));
		hint("set TMPDIR to a writable folder");
		free(tmpl);
		return -1;
	}
	r->dir = tmpl;
	r->sock_path = xasprintf("%s/%s", r->dir, CHANNEL_NAME);
	if (strlen(r->sock_path) >= sizeof(sa.sun_path)) {
		error("cannot create the record channel '%s': path too long", r->sock_path);
		hint("set TMPDIR to a shorter path");
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, r->sock_path);
	r->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (r->lfd < 0 || bind(r->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(r->lfd, 512) < 0) {
		error("cannot create the record channel '%s': %s", r->sock_path, strerror(errno));
		return -1;
	}
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	r->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->epfd < 0 || r->wakefd < 0) {
		error("cannot set up the record channel '%s': %s", r->sock_path, strerror(errno));
		return -1;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = &r->lfd;
	epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->lfd, &ev);
	ev.data.ptr = &r->wakefd;
	epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->wakefd, &ev);
	return 0;
}

/* Remove what recorder_start created (error path). */
static void discard_reports(struct recorder *r)
{
	if (r->sink)
		r->sink->ops->discard(r->sink);
	r->sink = NULL;
	r->rt = NULL;
}

/* The control page, the report(s), the -y timer and the shutdown eventfd. */
static int setup_capture(struct recorder *r, const struct recorder_config *cfg)
{
	const struct capture_settings *cs = &cfg->capture;
	const struct report_config rc = {
	    .path = cfg->report_path,
	    .force_overwrite = cfg->force_overwrite,
	    .session_start_ns = cfg->session_start_ns,
	    .session_start_utc_ns = cfg->session_start_utc_ns,
	    .capture_meta = cfg->capture_meta,
	    .n_capture_meta = cfg->n_capture_meta,
	};
	struct epoll_event ev;

	r->ctl = capture_control_create(r->dir, cs, cfg->session_start_ns);
	if (!r->ctl)
		return -1;
	atomic_store(&r->ctl->ring_slots, GP_RING_SLOTS); /* wire.h "Rings" */
	if (capture_is_repeat(cs) || cs->session) {
		r->rt = capture_router_new(&rc, cs->session, r->ctl);
		if (r->rt)
			r->sink = capture_router_sink(r->rt);
	} else {
		r->sink = report_sink_open(&rc, r->ctl, REPORT_SINK_FIRST_RANGE);
	}
	if (!r->sink)
		return -1;
	if (cs->mode != GP_CAPTURE_NONE && (cs->end == GP_CAPTURE_END_STOP_SHUTDOWN ||
					    cs->end == GP_CAPTURE_END_REPEAT_SHUTDOWN)) {
		r->shutfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (r->shutfd < 0)
			goto fail;
	}
	if (cs->mode == GP_CAPTURE_NONE && cs->delay_ns) {
		struct itimerspec its;
		uint64_t at = cfg->session_start_ns + cs->delay_ns;

		memset(&its, 0, sizeof(its));
		its.it_value.tv_sec = (time_t)(at / 1000000000ull);
		its.it_value.tv_nsec = (long)(at % 1000000000ull);
		r->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (r->timerfd < 0 ||
		    timerfd_settime(r->timerfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
			goto fail;
		ev.events = EPOLLIN;
		ev.data.ptr = &r->timerfd;
		epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->timerfd, &ev);
	}
	return 0;
fail:
	error("cannot set up the capture range timer: %s", strerror(errno));
	discard_reports(r);
	return -1;
}

int recorder_start(struct recorder **out, const struct recorder_config *cfg)
{
	struct recorder *r = xcalloc(1, sizeof(*r));
	sigset_t all, old;

	r->lfd = r->epfd = r->wakefd = r->shutfd = r->timerfd = r->spool_fd = -1;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv_data, NULL);
	pthread_cond_init(&r->cv_space, NULL);
	pthread_cond_init(&r->cv_closed, NULL);
	r->cap = cfg->capture;
	r->session_start_ns = cfg->session_start_ns;
	r->report_path = xstrdup(cfg->report_path);
	r->have_expect = cfg->expect != NULL;
	r->n_expect = cfg->n_expect < 32 ? cfg->n_expect : 32;
	r->expect = xcalloc(r->n_expect + 1, sizeof(*r->expect));
	for (size_t i = 0; i < r->n_expect; i++) {
		r->expect[i].name = xstrdup(cfg->expect[i].name);
		r->expect[i].block = cfg->expect[i].block;
	}

	{
		/* one fd per producer connection (and ring): the hard limit, not the soft one
		 * (the application, forked already, keeps its own) */
		struct rlimit rl;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	if (setup_channel(r) < 0) {
		free_recorder(r);
		return -1;
	}
	if (setup_capture(r, cfg) < 0) {
		free_recorder(r);
		return -1;
	}
	if (cfg->tap_path && *cfg->tap_path) {
		r->tap =
		    gp_tap_create(cfg->tap_path, cfg->session_start_ns, cfg->session_start_utc_ns);
		if (!r->tap) {
			discard_reports(r);
			free_recorder(r);
			return -1;
		}
	}
	r->spool_buf = xmalloc(sizeof(*r->spool_buf));
	r->spool_rbuf = xmalloc(SPOOL_READ);
	spool_open(r); /* without one (warned) the reader waits for room instead */
	{
		struct rlimit rl;
		DIR *d = opendir("/proc/self/fd");
		long open_fds = 64; /* (without /proc: a guess) */

		if (d) {
			for (open_fds = -3; readdir(d);) /* less ".", ".." and d's own */
				open_fds++;
			closedir(d);
		}
		r->fd_budget = LONG_MAX;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
		    rl.rlim_cur < (rlim_t)LONG_MAX)
			r->fd_budget = (long)rl.rlim_cur - open_fds - FD_RESERVE;
	}
	/* The threads take no signals: SIGINT/SIGTERM/SIGCHLD stay with the caller. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&r->writer, NULL, writer_main, r) == 0)
		r->writer_started = 1;
	if (r->writer_started && pthread_create(&r->reader, NULL, reader_main, r) == 0)
		r->reader_started = 1;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!r->reader_started) {
		error("cannot start the recorder threads: %s", strerror(errno));
		if (r->writer_started) {
			pthread_mutex_lock(&r->mu);
			r->stop_writer = 1;
			pthread_cond_signal(&r->cv_data);
			pthread_mutex_unlock(&r->mu);
			pthread_join(r->writer, NULL);
		}
		discard_reports(r);
		if (r->tap) {
			gp_tap_close(r->tap);
			unlink(cfg->tap_path);
		}
		free_recorder(r);
		return -1;
	}
	*out = r;
	return 0;
}

/* recorder_finish(): write what the writer thread left (queue and spool) on this thread,
 * with a progress line on a terminal; a backlog of RECORD_SINK_DRAIN_BYTES or more with
 * parallel writers for the bulk tables (record_sink_ops.drain). */
static void finish_writing(struct recorder *r)
{
	struct timespec c0, c1;
	uint64_t now = gp_monotonic_ns(), par_cpu = 0;
	unsigned k;

	pthread_mutex_lock(&r->mu);
	r->stop_writer = 1;
	r->finishing = 1;
	r->fin_total = r->spool_w - r->spool_r;
	for (struct qbuf *b = r->qhead; b; b = b->next)
		if (b->kind == Q_FRAME)
			r->fin_total += b->len;
	pthread_mutex_unlock(&r->mu);
	r->fin_done = 0;
	r->fin_tty = isatty(STDERR_FILENO);
	r->fin_t0 = now;
	r->fin_next = now + PROGRESS_AFTER_MS * 1000000ull;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
	/* a backlog: the bulk tables' rows by parallel writers (core/report_par.h), merged
	 * below; the rest (and all decoding) on this thread */
	k = r->sink->ops->drain ? record_sink_drain_writers(r->fin_total) : 1;
	if (k >= 2) {
		writer_commit(r);
		if (r->sink->ops->drain(r->sink, k, NULL) < 0)
			k = 1;
	}
	writer_loop(r);
	/* connections whose process was still exiting: every one is gone by now, or soon
	 * (the application has ended); what one still alive wrote is read as it stands */
	for (uint64_t end = gp_monotonic_ns() + REAP_LAST_MS * 1000000ull;
	     r->unreaped && gp_monotonic_ns() < end;) {
		struct timespec ts = {0, REAP_EVERY_MS * 1000000L};

		nanosleep(&ts, NULL);
		r->reap_next_ns = 0;
		reap_check(r, 0);
	}
	reap_check(r, 1);
	if (k >= 2) { /* (rows the writers lost are said and counted there) */
		writer_commit(r);
		if (r->fin_shown)
			fprintf(stderr,
				"\rgprof-cli: writing the report: merging the tables of %u "
				"writers\033[K",
				k);
		r->sink->ops->drain(r->sink, 0, &par_cpu);
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
	progress(r, 1);
	r->writer_cpu_ns += (uint64_t)(c1.tv_sec - c0.tv_sec) * 1000000000ull +
			    (uint64_t)c1.tv_nsec - (uint64_t)c0.tv_nsec + par_cpu;
}

/* Fill the expect_* fields of st from the session's per-block counts (writer joined). */
static void expect_check(const struct recorder *r, struct recorder_stats *st)
{
	struct strbuf names = STRBUF_INIT;

	if (!r->have_expect)
		return;
	for (size_t i = 0; i < r->n_expect; i++) {
		unsigned b = r->expect[i].block;

		if (b < GP_DECODE_BLOCKS && r->dc.block_records[b])
			st->expect_started |= 1u << i;
		if (b < GP_DECODE_BLOCKS && r->dc.block_events[b])
			continue;
		st->expect_not_seen |= 1u << i;
		if (names.len)
			strbuf_addch(&names, ',');
		strbuf_addstr(&names, r->expect[i].name);
	}
	st->report.not_seen = strbuf_detach(&names, NULL);
}

int recorder_finish(struct recorder *r, const struct report_app_status *app, int linger_ms,
		    struct recorder_stats *stats)
{
	struct recorder_stats st;
	uint64_t deadline =
	    gp_monotonic_ns() + (uint64_t)(linger_ms > 0 ? linger_ms : 0) * 1000000ull;
	uint64_t one = 1;
	int ret;

	/* Wait for the producers to hang up (at most linger_ms). */
	pthread_mutex_lock(&r->mu);
	while (r->nopen > 0) {
		uint64_t now = gp_monotonic_ns();
		struct timespec ts;
		uint64_t wait_ns;

		if (now >= deadline)
			break;
		wait_ns = deadline - now;
		if (wait_ns > 5000000ull)
			wait_ns =
			    5000000ull; /* re-check: connections might be only accepted later */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (time_t)(wait_ns / 1000000000ull);
		ts.tv_nsec += (long)(wait_ns % 1000000000ull);
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&r->cv_closed, &r->mu, &ts);
	}
	r->stop_reader = 1;
	pthread_mutex_unlock(&r->mu);
	if (write(r->wakefd, &one, sizeof(one)) < 0)
		(void)0;
	pthread_join(r->reader, NULL);

	/* The writer thread hands off (file comment); this thread writes the rest. */
	pthread_mutex_lock(&r->mu);
	__atomic_store_n(&r->handoff, 1, __ATOMIC_RELAXED); /* (read unlocked by after_item) */
	pthread_cond_signal(&r->cv_data);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->writer, NULL);
	finish_writing(r);

	memset(&st, 0, sizeof(st));
	st.connections = r->connections;
	st.frames = r->dc.frames;
	st.report.records = r->dc.records;
	st.bytes = r->bytes;
	st.report.bad_frames = r->dc.bad_frames + r->ring_bad;
	st.report.lost_frames = r->dc.lost_frames;
	st.reader_stalls = r->reader_stalls;
	st.report.spool_bytes = r->spool_bytes;
	st.spool_peak = r->spool_peak;
	st.report.spool_lost = r->spool_lost;
	st.writer_cpu_ns = r->writer_cpu_ns;
	st.report.recovered = r->recovered;
	st.report.accept_waits = r->accept_waits;
	st.report.abrupt_exits = r->abrupt;
	st.capture_ranges = recorder_capture_ranges(r);
	expect_check(r, &st);
	ret = r->sink->ops->finish(r->sink, app, &st);
	r->sink = NULL;
	r->rt = NULL;
	if (r->tap) /* (a tap that could not be written whole: a warning) */
		gp_tap_close(r->tap);
	if (stats)
		*stats = st;
	else
		recorder_stats_release(&st);
	free_recorder(r);
	return ret;
}

const char *recorder_channel_path(const struct recorder *r)
{
	return r->sock_path;
}

unsigned recorder_open_connections(struct recorder *r)
{
	unsigned n;

	pthread_mutex_lock(&r->mu);
	n = r->nopen;
	pthread_mutex_unlock(&r->mu);
	return n;
}

void recorder_stats_release(struct recorder_stats *stats)
{
	size_t i;

	for (i = 0; i < stats->n_reports; i++)
		free(stats->report_paths[i]);
	free(stats->report_paths);
	stats->report_paths = NULL;
	stats->n_reports = 0;
	free(stats->report.not_seen);
	stats->report.not_seen = NULL;
}

int recorder_shutdown_fd(struct recorder *r)
{
	return r->shutfd;
}

int recorder_shutdown_requested(struct recorder *r)
{
	return r->ctl && r->cap.mode != GP_CAPTURE_NONE &&
	       atomic_load_explicit(&r->ctl->shutdown, memory_order_acquire);
}

/* Hand the reader a window request (struct window_req) and wait until it is done:
 * for a stop, the window's report is written; for a start, every connection acknowledged
 * flush epoch `epoch`.  Returns the writer's result (0 for a start). */
static int window_request(struct recorder *r, int k, int cancel, uint32_t epoch,
			  const struct report_app_status *app, int start, char **path)
{
	uint64_t one = 1;
	int ret;

	pthread_mutex_lock(&r->mu);
	memset(&r->win, 0, sizeof(r->win));
	r->win.pending = 1;
	r->win.start = start;
	r->win.k = (unsigned)k;
	r->win.cancel = cancel;
	r->win.epoch = epoch;
	r->win.deadline_ns = gp_monotonic_ns() + GP_FLUSH_ACK_WAIT_MS * 1000000ull;
	r->win.app = app;
	pthread_mutex_unlock(&r->mu);
	if (write(r->wakefd, &one, sizeof(one)) < 0)
		(void)0;
	pthread_mutex_lock(&r->mu);
	while (!r->win.done)
		pthread_cond_wait(&r->cv_closed, &r->mu);
	ret = r->win.result;
	if (path)
		*path = r->win.path;
	else
		free(r->win.path);
	r->win.path = NULL;
	pthread_mutex_unlock(&r->mu);
	return ret;
}

int recorder_window_start(struct recorder *r, const char *path, int force)
{
	int k;

	if (!r->rt || !r->cap.session)
		return -1;
	k = capture_router_session_open(r->rt, path, force, gp_monotonic_ns());
	/* return once every collector saw the window open (the cuda collector switches
	 * CUPTI's kinds on first), at most GP_FLUSH_ACK_WAIT_MS */
	if (k >= 0 && r->cap.mode == GP_CAPTURE_SESSION)
		window_request(r, k, 0, atomic_load(&r->ctl->flush_epoch), NULL, 1, NULL);
	return k;
}

int recorder_window_stop(struct recorder *r, const struct report_app_status *app, int cancel,
			 char **path)
{
	uint32_t epoch;
	int k;

	*path = NULL;
	if (!r->rt || !r->cap.session)
		return -1;
	if (r->cap.mode == GP_CAPTURE_CUDA || r->cap.mode == GP_CAPTURE_NVTX) {
		/* armed by a start: the range it saw, if any */
		int open;

		k = capture_router_session_disarm(r->rt, &open);
		if (k < 0)
			return 1;
		if (open)
			capture_control_session_close(r->ctl, gp_monotonic_ns(), &epoch);
		/* the flushes of a range the application closed itself are older */
		epoch = atomic_load(&r->ctl->flush_epoch);
	} else {
		k = capture_control_session_close(r->ctl, gp_monotonic_ns(), &epoch);
		if (k < 0)
			return -1;
	}
	return window_request(r, k, cancel, epoch, app, 0, path);
}

int recorder_window_open(struct recorder *r)
{
	return r->ctl && r->cap.session && atomic_load(&r->ctl->collecting);
}

int recorder_collecting(void *r, uint64_t ts_ns)
{
	const struct recorder *rec = r;

	if (!rec->ctl || (rec->cap.mode == GP_CAPTURE_NONE && !rec->cap.delay_ns))
		return 1;
	if (!ts_ns)
		return atomic_load_explicit(&rec->ctl->collecting, memory_order_acquire) != 0;
	return capture_control_window_at(rec->ctl, ts_ns) >= 0;
}

uint32_t recorder_flush_epoch(void *r)
{
	const struct recorder *rec = r;

	return rec->ctl ? atomic_load_explicit(&rec->ctl->flush_epoch, memory_order_acquire) : 0;
}

unsigned recorder_capture_ranges(struct recorder *r)
{
	if (!r->ctl || (r->cap.mode == GP_CAPTURE_NONE && !r->cap.delay_ns))
		return 0;
	return atomic_load_explicit(&r->ctl->nwindows, memory_order_acquire);
}
