/*
 * producer.c - the producer runtime (see producer.h for the contract).
 *
 * Layout of the state:
 *
 *   connection  one SOCK_SEQPACKET socket to $GPROF_CLI_CHANNEL per process, guarded by
 *               the "send lock" (a futex mutex, g_slock).  The send lock also guards the
 *               frame sequence counter, the pending-strings frame, the shared scratch
 *               frame used by the flushers and inserts into the intern table.
 *   thread      one struct gp_tbuf per thread (mmap'd once, 64 KiB frame inside),
 *               pushed on a global lock-free list and reused after the thread exits.
 *               Its `lock` word is the ownership protocol between the owning thread
 *               and everybody else (flusher thread, exit, signal handlers):
 *                 0 free, 1 held by the owner (between gp_rec_begin and gp_rec_commit,
 *                 or while it sends its own full buffer), 2 held by a flusher.
 *               The owner takes it with one uncontended CAS; a flusher only ever
 *               try-locks it, and only while it already holds the send lock, copies the
 *               records into the scratch frame, resets the buffer and releases it before
 *               the (possibly blocking) send, so the owner waits at most one memcpy.
 *               Because every frame is sent with the send lock held and a flusher takes
 *               the send lock before it empties a buffer, the frames of one thread leave
 *               in the order its records were written.
 *   strings     content-hash table (open addressing, lock-free readers, inserts under
 *               the send lock) mapping text to ids, with a 64-entry per-thread cache
 *               keyed by pointer (hit = pointer compare + strncmp).
 *
 *   ring        the connection's shared-memory ring (wire.h "Rings"), when the recorder
 *               granted one: every frame is copied into it under the send lock instead
 *               of being sent, so a frame costs a memcpy, not a system call and a
 *               wake-up of the recorder.  Frames enter the ring in the order they would
 *               have been sent, so everything below holds for both transports.
 *
 * String ordering (thread A interns "x", thread B uses it first): a new string's
 * GP_REC_STRING is appended, under the send lock, to a connection-level pending frame
 * before gp_intern() returns the id.  Every frame is sent with the send lock held, and
 * the pending frame is sent first whenever it is non-empty, so a string definition
 * always precedes, on the connection, every frame that can name it.  A new connection
 * (reconnect after the app closed our fd, or a forked child) replays the whole table
 * right after GP_REC_HELLO, so ids stay valid across connections.
 *
 * Every syscall goes through syscall(2) so that the osrt interposers never see the
 * producer's own calls; no malloc and no pthread_mutex anywhere.
 */
#include "producer.h"

#include <dlfcn.h>
#include <link.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define HDR ((uint32_t)sizeof(struct gp_frame_hdr))
#define CAP (GP_FRAME_MAX - HDR) /* record bytes per frame */

/* ---- small syscall helpers (never through interposable libc wrappers) ---------- */

static inline long sys_ret(long r)
{
	return r < 0 ? -errno : r;
}

static void sys_sleep_ns(uint64_t ns)
{
	struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
	syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &ts, NULL);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* mmap/munmap through syscall(2): the osrt collector interposes the libc ones, and the
 * runtime's own buffers must not show up as the application's OS runtime calls. */
static void *sys_mmap(size_t len, int prot, int flags, int fd)
{
	return (void *)syscall(SYS_mmap, NULL, len, prot, flags, fd, (off_t)0);
}

/* Replace [addr, addr + len) with a private copy-on-write view of memfd fd. */
static void sys_mmap_fixed(void *addr, size_t len, int fd)
{
	syscall(SYS_mmap, addr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, (off_t)0);
}

void *gp_map_anon(size_t len, int populate)
{
	void *p = sys_mmap(len, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | (populate ? MAP_POPULATE : 0), -1);
	return p == MAP_FAILED ? NULL : p;
}

static void sys_munmap(void *p, size_t len)
{
	syscall(SYS_munmap, p, len);
}

/* Send one message of len bytes on socket sock with file descriptor pass_fd in
 * SCM_RIGHTS (the ring's and the thread buffers' memfds).  sendmsg's result. */
static long send_with_fd(int sock, void *msg, size_t len, int pass_fd)
{
	union {
		struct cmsghdr c;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = {msg, len};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cm.buf,
			    .msg_controllen = sizeof(cm.buf)};

	memset(&cm, 0, sizeof(cm));
	cm.c.cmsg_level = SOL_SOCKET;
	cm.c.cmsg_type = SCM_RIGHTS;
	cm.c.cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(&cm.c), &pass_fd, sizeof(int));
	return syscall(SYS_sendmsg, sock, &mh, MSG_NOSIGNAL);
}

static inline uint32_t sys_gettid(void)
{
	return (uint32_t)syscall(SYS_gettid);
}

static inline uint32_t sys_getpid(void)
{
	return (uint32_t)syscall(SYS_getpid);
}

/* ---- the send lock: a 3-state futex mutex (Drepper, "Futexes are tricky") ------- */

static _Atomic int g_slock;

static void slock(void)
{
	int c = 0;
	if (atomic_compare_exchange_strong_explicit(&g_slock, &c, 1, memory_order_acquire,
						    memory_order_relaxed))
		return;
	if (c != 2)
		c = atomic_exchange_explicit(&g_slock, 2, memory_order_acquire);
	while (c != 0) {
		syscall(SYS_futex, &g_slock, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
		c = atomic_exchange_explicit(&g_slock, 2, memory_order_acquire);
	}
}

static int strylock(void)
{
	int c = 0;
	return atomic_compare_exchange_strong_explicit(&g_slock, &c, 1, memory_order_acquire,
						       memory_order_relaxed);
}

static void sunlock(void)
{
	if (atomic_exchange_explicit(&g_slock, 0, memory_order_release) == 2)
		syscall(SYS_futex, &g_slock, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* ---- state ----------------------------------------------------------------------- */

/* struct gp_frame, struct gp_tbuf: producer.h ("The inline record path"). */

enum { ST_UNINIT, ST_INITING, ST_ACTIVE, ST_INACTIVE };

static _Atomic int g_state = ST_UNINIT;
static uint32_t g_collector;
static uint32_t g_pid;
static int g_fd = -1;
static int g_broken; /* the recorder went away: drop silently (counted) */
/* The last connection attempt found no free file descriptor (EMFILE/ENFILE, the
 * application's): while g_broken, a send tries again at most once per flush period
 * (g_retry_ns), and what could not be sent meanwhile is counted (GP_REC_LOSS, reported once
 * connected).  Send lock. */
static int g_need_connect;
static uint64_t g_retry_ns;
int gp_membar;	       /* ownership by membarrier(2) instead of a CAS (see buf_trylock) */
static uint64_t g_seq; /* next frame sequence number on this connection */
static uint64_t g_start_ns;
static uint64_t g_init_t0, g_init_t1; /* gp_producer_init's own time (CLOCK_MONOTONIC) */
static uint32_t g_hello_flags;
static int g_trace_fork; /* "trace-fork-before-exec=1" in $GPROF_CLI_OPTIONS */
static uint64_t g_flush_ns = 100 * 1000000ull;
static struct sockaddr_un g_addr;
static dev_t g_sock_dev;
static ino_t g_sock_ino;

/* The connection's ring (wire.h "Rings"), NULL: frames go through the socket.  Send lock. */
static struct gp_ring_hdr *g_ring;
static unsigned char *g_ring_data;
static uint64_t g_ring_head;	    /* bytes published (our copy of g_ring->head) */
static int g_ring_off;		    /* GPROF_CLI_RING=0: never make a ring */
static _Atomic int g_ring_populate; /* a new ring for the flusher to pre-fault */
#define RING_MAP_BYTES ((size_t)GP_RING_HDR_BYTES + GP_RING_BYTES)

static char g_exe[256];
static uint32_t g_exe_len;
static char g_cmdline[GP_STRING_MAX];
static uint32_t g_cmdline_len;
#define SID_EXE	    1u
#define SID_CMDLINE 2u

/* Pending GP_REC_STRING records, and the flushers' copy / the final frame (send lock):
 * slots 1 and 2 of the thread-buffer memfd when there is one, else these. */
static struct gp_frame g_sbuf_mem, g_scratch_mem;
static struct gp_frame *g_sbufp = &g_sbuf_mem, *g_scratchp = &g_scratch_mem;
#define g_sbuf	  (*g_sbufp)
#define g_scratch (*g_scratchp)
static struct gp_frame g_ctl; /* HELLO + string replay of a new connection */

/* The thread-buffer memfd (wire.h "Thread buffers"), mapped whole at g_tbufs; NULL: every
 * buffer is private (no memfd, or a forked child). */
static struct gp_tbufs_hdr *g_tbufs;
static unsigned char *g_tbufs_base; /* the mapping (stays after a fork: private there) */
static int g_tbufs_fd = -1;
#define TBUFS_BYTES ((size_t)GP_TBUFS_SLOTS * GP_TBUF_STRIDE)
_Static_assert(sizeof(struct gp_tbuf) <= GP_TBUF_STRIDE, "a thread buffer fits a slot");
_Static_assert(__builtin_offsetof(struct gp_tbuf, f) == 0, "the frame starts the slot");
_Static_assert(__builtin_offsetof(struct gp_frame, data) ==
		   __builtin_offsetof(struct gp_slot_frame, data),
	       "struct gp_frame is a struct gp_slot_frame");

static _Atomic(struct gp_tbuf *) g_bufs;
__thread struct gp_tbuf *gp_t_buf __attribute__((tls_model("initial-exec")));
/* tid whose GP_REC_THREAD_NAME was sent (a thread that records again after its buffer
 * was retired at exit must not re-send the prctl name over an nvtxNameOsThread one). */
static __thread uint32_t t_named __attribute__((tls_model("initial-exec")));
/* The calling thread's waits for ring room not yet recorded (ring_wait_locked): the first
 * wait's start and the last one's end (CLOCK_MONOTONIC ns; t_wait0 0: none).  Recorded
 * as one GP_OVERHEAD_RECORDER_WAIT by the thread's next hand-off of its own buffer
 * (buf_send_owned) or, on the flusher thread, after its flush (wait_record). */
static __thread uint64_t t_wait0 __attribute__((tls_model("initial-exec")));
static __thread uint64_t t_wait1 __attribute__((tls_model("initial-exec")));
static pthread_key_t g_key;
static _Atomic int g_key_ok;

static _Atomic uint64_t g_dropped, g_failed_sends, g_cupti_dropped, g_zero_ts;
static uint64_t g_loss_sent[4];

static _Atomic int g_flusher_pid;
/* The last flush-request epoch this library answered (or the page's epoch when it was
 * mapped).  Kept outside the flusher thread: the flusher starts lazily with the first
 * thread buffer, possibly after a request it must still answer. */
static _Atomic uint32_t g_acked_epoch;
static volatile int g_in_signal;
static _Atomic int g_shutdown_pid;
static _Atomic int g_signal_pid;

static void (*g_shutdown_fns[8])(int);

/* The control page (wire.h): the recorder's shared page once mapped, else this one. */
static struct gp_control g_local_ctl = {.collecting = 1};
/* ... and this one once the recorder is gone (recorder_gone()): nothing is collected. */
static struct gp_control g_dead_ctl;
/* $GPROF_CLI_STREAMS: (dev, ino) of stdout and stderr when they lead to gprof-cli. */
static uint64_t g_streams[2][2];
static int g_nstreams;
struct gp_control *gp_ctl = &g_local_ctl;
static _Atomic int g_n_shutdown;
/* A list of at most 4 void(void) callbacks, registered once each (gp_at_flush_request,
 * gp_at_capture_change); run in registration order. */
struct hook_list {
	void (*fns[4])(void);
	_Atomic int n;
};
static struct hook_list g_flushreq_hooks, g_capchg_hooks;
static void hooks_run(struct hook_list *l);

/* ---- intern table ---------------------------------------------------------------- */

#define ITAB_BITS  18
#define ITAB_SIZE  (1u << ITAB_BITS)
#define ITAB_LIMIT (ITAB_SIZE - ITAB_SIZE / 4) /* keep probe chains short */
/* An entry's home slot: the hash's top bits (its bit 0 is always set, str_hash) */
#define ITAB_HOME(h) ((uint32_t)((h) >> (64 - ITAB_BITS)))
#define ARENA_SIZE   (64u << 20)

struct ient {
	_Atomic uint64_t hash; /* 0 = empty; published last (release) */
	uint32_t id;
	uint32_t off; /* arena offset of the text (NUL-terminated) */
};

static struct ient *g_itab;
static char *g_arena;
static uint32_t g_arena_used = 8; /* offset 0 unused */
static uint32_t g_itab_count;
static uint32_t g_next_sid = 3; /* 1, 2: exe and cmdline (GP_REC_HELLO) */

static inline uint64_t rd64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* 64-bit hash, 8 bytes per step (a multiply-xorshift mix); never returns 0. */
static uint64_t str_hash(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	uint64_t h = gp_seen_start(), t = 0;
	size_t i = 0;

	for (; i + 8 <= n; i += 8)
		gp_seen_word(&h, rd64(p + i));
	for (size_t k = 0; i + k < n; k++)
		t |= (uint64_t)p[i + k] << (8 * k);
	return gp_seen_end(h, t, n);
}

static inline uint32_t arena_len(uint32_t off)
{
	uint32_t len;
	memcpy(&len, g_arena + off - 4, 4);
	return len;
}

/* Look `s` up; returns the entry or NULL.  Lock-free. */
static struct ient *itab_find(uint64_t h, const char *s, size_t n)
{
	for (uint32_t i = ITAB_HOME(h);; i = (i + 1) & (ITAB_SIZE - 1)) {
		uint64_t eh = atomic_load_explicit(&g_itab[i].hash, memory_order_acquire);
		if (eh == 0)
			return NULL;
		if (eh == h && arena_len(g_itab[i].off) == n &&
		    memcmp(g_arena + g_itab[i].off, s, n) == 0)
			return &g_itab[i];
	}
}

/* ---- frames and the connection --------------------------------------------------- */

static int connect_locked(void);
static uint64_t mono_ns(void);

/* Is g_fd still our socket?  (The app may have closed it and reused the number.) */
static int fd_is_ours(void)
{
	struct stat st;
	if (g_fd < 0 || syscall(SYS_fstat, g_fd, &st) != 0)
		return 0;
	return S_ISSOCK(st.st_mode) && st.st_dev == g_sock_dev && st.st_ino == g_sock_ino;
}

/* ---- the ring (wire.h "Rings") ------------------------------------------------------ */

/* One doorbell message: the recorder went to sleep and wants to look at the ring. */
static void ring_doorbell(void)
{
	char b = 0;
	long r = sys_ret(syscall(SYS_sendto, g_fd, &b, 1, MSG_DONTWAIT | MSG_NOSIGNAL, NULL, 0));
	if (r == -EPIPE || r == -ECONNRESET || r == -ENOTCONN)
		g_broken = 1;
}

/* Is the recorder's end of our socket gone?  (It never sends us anything, so a peek
 * returns 0 at end of file and -EAGAIN while it is there.) */
static int peer_gone(void)
{
	char b;
	long r = sys_ret(syscall(SYS_recvfrom, g_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT, NULL, NULL));
	return r == 0 || r == -ECONNRESET || r == -ENOTCONN || r == -EBADF;
}

/* The calling thread waited for the recorder from t0 (CLOCK_MONOTONIC ns) until now: keep
 * it in t_wait0/t_wait1 for buf_send_owned() or wait_record().  Not in a signal handler
 * (there the wait is not recorded). */
static void wait_note(uint64_t t0)
{
	if (!g_in_signal) {
		t_wait0 = t_wait0 ? t_wait0 : t0;
		t_wait1 = mono_ns();
	}
}

/* Wait until `need` bytes are free in the ring.  0, or -1 when the recorder went away
 * (g_broken) or, in a signal handler, after about 200 ms; a wait goes to wait_note(). */

static int ring_wait_locked(uint64_t need)
{
	struct gp_ring_hdr *h = g_ring;
	uint64_t t0 = 0;
	for (unsigned i = 1;; i++) {
		if (g_ring_head + need - atomic_load_explicit(&h->tail, memory_order_acquire) <=
		    GP_RING_BYTES) {
			if (t0)
				wait_note(t0);
			return 0;
		}
		if (!t0)
			t0 = mono_ns();
		uint32_t seq = atomic_load(&h->tail_seq);
		atomic_store(&h->waiting, 1);
		if (g_ring_head + need - atomic_load(&h->tail) <= GP_RING_BYTES)
			return 0;
		if (atomic_load(&h->sleeping) && atomic_exchange(&h->sleeping, 0))
			ring_doorbell();
		struct timespec ts = {0, 10000000};
		syscall(SYS_futex, (uint32_t *)&h->tail_seq, FUTEX_WAIT, seq, &ts, NULL, 0);
		if (i % 10 == 0 && (g_broken || peer_gone())) {
			g_broken = 1;
			wait_note(t0);
			return -1;
		}
		if (g_in_signal && i >= 20)
			return -1;
	}
}

/* Copy one frame (n bytes, header filled) into the ring and publish it.  0 or -1. */
static int ring_put_locked(const void *frame, uint32_t n)
{
	struct gp_ring_hdr *h = g_ring;
	uint64_t need = (n + 7u) & ~7ull, off = g_ring_head & (GP_RING_BYTES - 1);
	uint64_t pad = off + need > GP_RING_BYTES ? GP_RING_BYTES - off : 0;
	if (ring_wait_locked(pad + need) != 0)
		return -1;
	if (pad >= HDR) {
		uint32_t zero = 0; /* magic 0: skip to the start */
		memcpy(g_ring_data + off, &zero, sizeof(zero));
	}
	memcpy(g_ring_data + ((g_ring_head + pad) & (GP_RING_BYTES - 1)), frame, n);
	g_ring_head += pad + need;
	atomic_store(&h->head, g_ring_head); /* sequentially consistent: before `sleeping` */
	if (atomic_load(&h->sleeping) && atomic_exchange(&h->sleeping, 0))
		ring_doorbell();
	return 0;
}

/* Drop this process's mapping of the ring (the recorder keeps its own until it has read
 * everything). */
static void ring_close_locked(void)
{
	if (g_ring)
		sys_munmap(g_ring, RING_MAP_BYTES);
	g_ring = NULL;
	g_ring_data = NULL;
}

/* Offer a new ring on the freshly connected socket fd when the recorder has a slot:
 * memfd, map, GP_FRAME_RING with the memfd in SCM_RIGHTS.  Without one (no control page,
 * no slot left, GPROF_CLI_RING=0, any failure) frames go through the socket. */
static void ring_open_locked(int fd)
{
	struct gp_control *c = gp_ctl;
	if (c == &g_local_ctl || g_ring_off)
		return;
	int32_t n = atomic_load(&c->ring_slots);
	do
		if (n <= 0)
			return;
	while (!atomic_compare_exchange_weak(&c->ring_slots, &n, n - 1));
	int mfd = (int)syscall(SYS_memfd_create, "gprof-cli-ring", MFD_CLOEXEC);
	void *m = MAP_FAILED;
	if (mfd >= 0 && syscall(SYS_ftruncate, mfd, (off_t)RING_MAP_BYTES) == 0)
		m = sys_mmap(RING_MAP_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, mfd);
	if (m != MAP_FAILED) {
		struct gp_ring_hdr *h = m;
		struct {
			struct gp_frame_hdr fh;
			struct gp_ring_offer o;
		} msg;

		/* a forked child must never write into its parent's ring */
		syscall(SYS_madvise, m, RING_MAP_BYTES, MADV_DONTFORK);
		h->magic = GP_RING_MAGIC;
		h->version = GP_RING_VERSION;
		h->data_bytes = GP_RING_BYTES;
		memset(&msg, 0, sizeof(msg));
		msg.fh.magic = GP_WIRE_MAGIC;
		msg.fh.version = GP_WIRE_VERSION;
		msg.fh.type = GP_FRAME_RING;
		msg.fh.length = sizeof(msg.o);
		msg.fh.pid = g_pid;
		msg.o.data_bytes = GP_RING_BYTES;
		if (send_with_fd(fd, &msg, sizeof(msg), mfd) == (long)sizeof(msg)) {
			/* the recorder gives the slot back when the connection ends */
			syscall(SYS_close, mfd);
			g_ring = h;
			g_ring_data = (unsigned char *)m + GP_RING_HDR_BYTES;
			g_ring_head = 0;
			atomic_store(&g_ring_populate, 1);
			return;
		}
		sys_munmap(m, RING_MAP_BYTES);
	}
	if (mfd >= 0)
		syscall(SYS_close, mfd);
	atomic_fetch_add(&c->ring_slots, 1);
}

/* Send one frame (records at f->data+HDR, f->len bytes).  Send lock held.  Returns 0,
 * or -1 when the frame is lost (counted). */
static int send_raw_locked(struct gp_frame *f)
{
	static int connecting;
	if (g_broken && g_need_connect && !g_in_signal && !connecting) {
		uint64_t now = mono_ns();
		if (now >= g_retry_ns) {
			g_retry_ns = now + g_flush_ns;
			connecting = 1;
			if (connect_locked() == 0)
				g_need_connect = 0;
			connecting = 0;
		}
	}
	if (g_broken)
		goto lost;
	for (int attempt = 0; attempt < 2; attempt++) {
		long r = -EBADF;
		if (!connecting && (!fd_is_ours() || (g_ring && atomic_load(&g_ring->closed))))
			goto reconnect;
		struct gp_frame_hdr *fh = (struct gp_frame_hdr *)f->data;
		fh->magic = GP_WIRE_MAGIC;
		fh->version = GP_WIRE_VERSION;
		fh->type = GP_FRAME_RECORDS;
		fh->length = f->len;
		fh->pid = g_pid;
		fh->seq = g_seq;
		if (g_ring) {
			if (ring_put_locked(f->data, HDR + f->len) != 0)
				break;
			g_seq++;
			return 0;
		}
		/* without a ring: a send that would block is a wait for the recorder */
		r = sys_ret(syscall(SYS_sendto, g_fd, f->data, (size_t)HDR + f->len,
				    MSG_NOSIGNAL | MSG_DONTWAIT, NULL, 0));
		if (r == -EAGAIN || r == -EINTR) {
			uint64_t t0 = mono_ns();

			do
				r = sys_ret(syscall(SYS_sendto, g_fd, f->data, (size_t)HDR + f->len,
						    MSG_NOSIGNAL, NULL, 0));
			while (r == -EINTR && !g_in_signal);
			wait_note(t0);
		}
		if (r >= 0) {
			g_seq++;
			return 0;
		}
	reconnect:
		if ((r == -EBADF || r == -ENOTSOCK) && attempt == 0 && !g_in_signal &&
		    !connecting) {
			/* our fd was closed under us (e.g. a daemon closing all fds) */
			connecting = 1;
			int rc = connect_locked();
			connecting = 0;
			if (rc == 0)
				continue;
		}
		if (r == -EPIPE || r == -ECONNRESET || r == -ECONNREFUSED || r == -ENOTCONN ||
		    r == -EBADF || r == -ENOTSOCK)
			g_broken = 1;
		break;
	}
lost:
	atomic_fetch_add_explicit(&g_failed_sends, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&g_dropped, f->nrec, memory_order_relaxed);
	return -1;
}

/* Send a frame, preceded by the pending strings.  Send lock held.  Resets f. */
/* Empty frame f after a send: a shared slot's header then says so (wire.h "Thread
 * buffers": the recorder reads a dead process's non-empty slots). */
static inline void frame_reset(struct gp_frame *f)
{
	f->len = f->nrec = 0;
	((struct gp_frame_hdr *)f->data)->seq = UINT64_MAX;
}

static void send_frame_locked(struct gp_frame *f)
{
	if (f != &g_sbuf && g_sbuf.len) {
		send_raw_locked(&g_sbuf);
		frame_reset(&g_sbuf);
	}
	if (f->len)
		send_raw_locked(f);
	frame_reset(f);
}

/* Append a GP_REC_STRING for (id, text) to frame f (sending f first when full). */
static void append_string_locked(struct gp_frame *f, uint32_t id, const char *s, uint32_t n)
{
	uint32_t size = GP_REC_ALIGN((uint32_t)sizeof(struct gp_rec_string) + n);
	if (f->len + size > CAP)
		send_frame_locked(f);
	struct gp_rec_string *r = (struct gp_rec_string *)(f->data + HDR + f->len);
	r->h.type = GP_REC_STRING;
	r->h.size = (uint16_t)size;
	r->h.tid = gp_t_buf ? gp_t_buf->tid : sys_gettid();
	r->id = id;
	r->len = n;
	memcpy(r->text, s, n);
	memset(r->text + n, 0, size - sizeof(*r) - n);
	f->len += size;
	f->nrec++;
}

static uint32_t read_file(const char *path, char *buf, uint32_t cap)
{
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	uint32_t n = 0;
	while (n < cap) {
		long r = syscall(SYS_read, fd, buf + n, cap - n);
		if (r <= 0)
			break;
		n += (uint32_t)r;
	}
	syscall(SYS_close, fd);
	return n;
}

/* Process name (argv[0] basename, else comm) and command line, once per process. */
static void read_identity(void)
{
	uint32_t n = read_file("/proc/self/cmdline", g_cmdline, sizeof(g_cmdline));
	while (n && g_cmdline[n - 1] == '\0')
		n--;
	const char *a0 = g_cmdline, *base = g_cmdline;
	size_t a0len = strnlen(g_cmdline, n);
	for (size_t i = 0; i < a0len; i++)
		if (a0[i] == '/')
			base = a0 + i + 1;
	size_t blen = a0len - (size_t)(base - a0);
	if (blen && blen < sizeof(g_exe)) {
		memcpy(g_exe, base, blen);
		g_exe_len = (uint32_t)blen;
	} else {
		uint32_t c = read_file("/proc/self/comm", g_exe, sizeof(g_exe) - 1);
		while (c && (g_exe[c - 1] == '\n' || g_exe[c - 1] == '\0'))
			c--;
		g_exe_len = c;
	}
	for (uint32_t i = 0; i < n; i++)
		if (g_cmdline[i] == '\0')
			g_cmdline[i] = ' ';
	g_cmdline_len = n;
}

/* The size of this process's file descriptor table now (FDSize in /proc/self/status; 64,
 * the kernel's first size, when it cannot be read). */
static long fd_table_size(void)
{
	char buf[2048];
	uint32_t n = read_file("/proc/self/status", buf, sizeof(buf) - 1);
	const char *p;

	buf[n] = '\0';
	p = strstr(buf, "\nFDSize:");
	return p ? strtol(p + 8, NULL, 10) : 64;
}

/* Move fd out of the way of apps that expect low fd numbers free; returns the new one.
 * As high as 1000, but within the table the process has: growing it (past its first 64
 * entries) makes the kernel wait for an RCU grace period when the process has threads
 * (expand_fdtable), and the application's first NVTX or CUDA call with it (17-40 ms
 * measured on a 2-core VM). */
static int fd_high(int fd)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur >= 256) {
		long want = rl.rlim_cur > 1024 ? 1000 : (long)rl.rlim_cur - 64;
		long size = fd_table_size();

		if (want >= size)
			want = size - 16;
		if (want <= fd)
			return fd;
		int hi = (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, want);
		if (hi >= 0) {
			syscall(SYS_close, fd);
			fd = hi;
		}
	}
	return fd;
}

/* Create the thread-buffer memfd and map it (wire.h "Thread buffers"); without one every
 * buffer stays private (not readable after a crash). */
static void tbufs_open(void)
{
	int fd = (int)syscall(SYS_memfd_create, "gprof-cli-tbufs", MFD_CLOEXEC);
	void *m = MAP_FAILED;
	if (fd < 0)
		return;
	if (syscall(SYS_ftruncate, fd, (off_t)TBUFS_BYTES) == 0)
		m = sys_mmap(TBUFS_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd);
	if (m == MAP_FAILED) {
		syscall(SYS_close, fd);
		return;
	}
	g_tbufs_fd = fd_high(fd);
	g_tbufs_base = m;
	g_tbufs = m;
	g_tbufs->magic = GP_TBUFS_MAGIC;
	g_tbufs->version = GP_TBUFS_VERSION;
	g_tbufs->stride = GP_TBUF_STRIDE;
	atomic_store(&g_tbufs->nslots, GP_TBUF_FIRST);
	g_sbufp = (struct gp_frame *)(g_tbufs_base + 1 * (size_t)GP_TBUF_STRIDE);
	g_scratchp = (struct gp_frame *)(g_tbufs_base + 2 * (size_t)GP_TBUF_STRIDE);
	memcpy(g_sbufp, &g_sbuf_mem, sizeof(g_sbuf_mem));
}

/* A slot for a new thread buffer, or NULL when there is no memfd or no slot left. */
static void *tbufs_slot(void)
{
	if (!g_tbufs)
		return NULL;
	uint32_t k = atomic_load(&g_tbufs->nslots);
	do
		if (k >= GP_TBUFS_SLOTS)
			return NULL;
	while (!atomic_compare_exchange_weak(&g_tbufs->nslots, &k, k + 1));
	return g_tbufs_base + (size_t)k * GP_TBUF_STRIDE;
}

/* Pass the memfd to the recorder on the new connection fd (its own message). */
static void tbufs_offer(int fd)
{
	struct gp_frame_hdr fh;

	if (!g_tbufs || g_tbufs_fd < 0)
		return;
	memset(&fh, 0, sizeof(fh));
	fh.magic = GP_WIRE_MAGIC;
	fh.version = GP_WIRE_VERSION;
	fh.type = GP_FRAME_TBUFS;
	fh.pid = g_pid;
	send_with_fd(fd, &fh, sizeof(fh), g_tbufs_fd);
}

/* A forked child: its view of the parent's memfd becomes a private copy (what it writes
 * stays its own), and it makes no new slots there and offers none. */
static void tbufs_fork_child(void)
{
	if (!g_tbufs)
		return;
	sys_mmap_fixed(g_tbufs_base, TBUFS_BYTES, g_tbufs_fd);
	syscall(SYS_close, g_tbufs_fd);
	g_tbufs_fd = -1;
	g_tbufs = NULL;
}

void gp_exec_detach(int detached)
{
	if (g_tbufs)
		atomic_store(&g_tbufs->detached, (uint32_t)detached);
}

/* Open a new connection, send GP_REC_HELLO (+ exe/cmdline strings) and replay every
 * interned string.  Send lock held (or single-threaded).  Returns 0 or -1. */
static int connect_locked(void)
{
	int fd = (int)syscall(SYS_socket, AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		/* out of file descriptors: connect again later ("EMFILE" at send_raw_locked) */
		g_need_connect = errno == EMFILE || errno == ENFILE;
		return -1;
	}
	if (syscall(SYS_connect, fd, &g_addr, sizeof(g_addr)) != 0) {
		int e = errno;
		syscall(SYS_close, fd);
		g_need_connect = 0; /* nobody listens: no point in trying again */
		errno = e;
		return -1;
	}
	fd = fd_high(fd);
	int sndbuf = 4 << 20;
	syscall(SYS_setsockopt, fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	struct stat st;
	if (syscall(SYS_fstat, fd, &st) != 0) {
		syscall(SYS_close, fd);
		return -1;
	}
	if (g_fd >= 0 && fd_is_ours())
		syscall(SYS_close, g_fd);
	g_fd = fd;
	g_sock_dev = st.st_dev;
	g_sock_ino = st.st_ino;
	g_seq = 0;
	g_broken = 0;
	ring_close_locked();
	ring_open_locked(fd);
	tbufs_offer(fd);

	struct gp_frame *f = &g_ctl;
	f->len = f->nrec = 0;
	g_sbuf.len = g_sbuf.nrec = 0; /* replayed below */
	struct gp_rec_hello *h = (struct gp_rec_hello *)(f->data + HDR);
	memset(h, 0, sizeof(*h));
	h->h.type = GP_REC_HELLO;
	h->h.size = sizeof(*h);
	h->h.tid = sys_gettid();
	h->pid = g_pid;
	h->ppid = (uint32_t)syscall(SYS_getppid);
	h->collector = g_collector;
	h->exe_sid = g_exe_len ? SID_EXE : 0;
	h->cmdline_sid = g_cmdline_len ? SID_CMDLINE : 0;
	h->flags = g_hello_flags;
	h->start_ns = g_start_ns;
	f->len = sizeof(*h);
	f->nrec = 1;
	if (g_exe_len)
		append_string_locked(f, SID_EXE, g_exe, g_exe_len);
	if (g_cmdline_len)
		append_string_locked(f, SID_CMDLINE, g_cmdline, g_cmdline_len);
	for (uint32_t i = 0; g_itab && i < ITAB_SIZE; i++) {
		if (atomic_load_explicit(&g_itab[i].hash, memory_order_acquire) == 0)
			continue;
		uint32_t off = g_itab[i].off;
		append_string_locked(f, g_itab[i].id, g_arena + off, arena_len(off));
	}
	send_frame_locked(f);
	return g_broken ? -1 : 0;
}

/* ---- interning -------------------------------------------------------------------- */

/* Keep at most GP_STRING_MAX bytes, not cutting a UTF-8 sequence. */
static size_t clamp_len(const char *s, size_t n)
{
	if (n <= GP_STRING_MAX)
		return n;
	n = GP_STRING_MAX;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

/* Intern s[0..n) (n already clamped); *text gets the table copy (NULL when the table
 * is full and the string was sent without being kept). */
static uint32_t intern_slow(const char *s, size_t n, uint64_t h, const char **text)
{
	struct ient *e;
	uint32_t id;
	*text = NULL;
	slock();
	e = itab_find(h, s, n);
	if (e) {
		id = e->id;
		*text = g_arena + e->off;
		sunlock();
		return id;
	}
	id = g_next_sid++;
	uint32_t need = (uint32_t)((n + 1 + 4 + 3) & ~(size_t)3);
	if (g_itab_count < ITAB_LIMIT && g_arena_used + need + 8 <= ARENA_SIZE) {
		uint32_t len = (uint32_t)n, off = g_arena_used + 4;
		memcpy(g_arena + g_arena_used, &len, 4);
		memcpy(g_arena + off, s, n);
		g_arena[off + n] = '\0';
		g_arena_used += need;
		uint32_t i = ITAB_HOME(h);
		while (atomic_load_explicit(&g_itab[i].hash, memory_order_relaxed))
			i = (i + 1) & (ITAB_SIZE - 1);
		g_itab[i].id = id;
		g_itab[i].off = off;
		atomic_store_explicit(&g_itab[i].hash, h, memory_order_release);
		g_itab_count++;
		*text = g_arena + off;
	}
	/* Table full: still correct (a fresh id, sent now), just not de-duplicated. */
	append_string_locked(&g_sbuf, id, s, (uint32_t)n);
	sunlock();
	return id;
}

uint32_t gp_intern_n(const char *s, size_t len)
{
	const char *text;
	if (atomic_load_explicit(&g_state, memory_order_relaxed) != ST_ACTIVE || !s)
		return 0;
	len = clamp_len(s, len);
	uint64_t h = str_hash(s, len);
	struct ient *e = itab_find(h, s, len);
	if (e)
		return e->id;
	return intern_slow(s, len, h, &text);
}

static struct gp_tbuf *tbuf_get(void);

/* gp_intern_slow() once s[0..n) (n clamped) is hashed (h): look it up, intern it when
 * new, and remember the pointer in the thread's cache slot c. */
static uint32_t intern_at(struct gp_tcache_ent *c, const char *s, size_t n, uint64_t h)
{
	const char *text;
	uint32_t id;
	struct ient *e = itab_find(h, s, n);
	if (e) {
		id = e->id;
		text = g_arena + e->off;
	} else {
		id = intern_slow(s, n, h, &text);
	}
	if (text && s[n] == '\0') {
		size_t k = n + 1 < 8 ? n + 1 : 8;
		uint64_t head = 0;
		memcpy(&head, text, k); /* (little-endian: byte i is bits 8i..8i+7) */
		c->ptr = s;
		c->text = text;
		c->mask = ~0ull >> (64 - 8 * k);
		c->head = head;
		c->len = (uint32_t)n;
		c->id = id;
	}
	return id;
}

uint32_t gp_intern_slow(const char *s)
{
	if (unlikely(!s))
		return 0;
	struct gp_tbuf *b = gp_t_buf;
	if (unlikely(!b) && !(b = tbuf_get()))
		return 0;
	struct gp_tcache_ent *c = &b->cache[((uintptr_t)s >> 3) & (GP_TCACHE - 1)];
	if (likely(c->ptr == s) && gp_tcache_hit(c, s, 1))
		return c->id;
	size_t n = clamp_len(s, strnlen(s, GP_STRING_MAX + 1));
	return intern_at(c, s, n, str_hash(s, n));
}

uint32_t gp_intern_once_slow(const char *s, size_t max, size_t *np)
{
	*np = 0;
	if (unlikely(!s))
		return 0;
	struct gp_tbuf *b = gp_t_buf;
	if (unlikely(!b) && !(b = tbuf_get()))
		return 0;
	struct gp_tcache_ent *c = &b->cache[((uintptr_t)s >> 3) & (GP_TCACHE - 1)];
	if (likely(c->ptr == s) && gp_tcache_hit(c, s, 1))
		return c->id;
	size_t n = strnlen(s, max + 1);
	if (n > max || n > GP_STRING_MAX || n == 0)
		return gp_intern_slow(s);
	uint64_t h = str_hash(s, n);
	uint64_t *seen = gp_seen_slot(b, h);
	if (*seen == h) /* the second time: a text that comes back is interned */
		return intern_at(c, s, n, h);
	*seen = h;
	*np = n;
	return 0;
}

/* ---- the clock ----------------------------------------------------------------------
 *
 * CLOCK_MONOTONIC through the vDSO costs ~45 ns on some VMs, two of them per NVTX
 * range.  Where the kernel itself derives CLOCK_MONOTONIC from an invariant TSC
 * (clocksource "tsc", constant_tsc + nonstop_tsc), gp_now_ns() instead converts rdtsc
 * linearly: ns = ns_base + (tsc - tsc_base) * mult / 2^32.  The flusher thread
 * recalibrates against clock_gettime every flush period and steers mult so that the
 * conversion stays continuous (never jumps back) while converging on CLOCK_MONOTONIC
 * (NTP slew included); steps over 1 ms (suspend, migration) are taken as they are.
 * The first calibration is made by the first gp_now_ns() call at least CLK_FIRST_NS
 * after the initial sample (whichever thread: a burst of records right after start-up
 * does not pay clock_gettime for a whole flush period); later ones by the flusher.  The
 * initial sample is the recorder's, taken as it started (wire.h gp_control.tsc_sample),
 * when the control page has one: the line then starts at the process's first
 * time-stamp after that, usually its very first.
 * Until then, and where the TSC is not usable (or GPROF_CLI_TSC=0), gp_now_ns() calls
 * clock_gettime.  GPROF_CLI_TSC=1 (benchmarks) uses the TSC whatever the kernel's
 * clocksource, as long as constant_tsc and nonstop_tsc are there.
 *
 * One clock per process.  Every injection library links its own copy of this runtime,
 * and a process often holds several (-t nvtx,osrt,mpi: three).  Two lines calibrated
 * apart disagree by tens of ns to microseconds: enough to put an MPI or OS runtime call
 * before the NVTX range around it.  So the copies share one calibration:
 * gprof_cli_clock_v2 (default visibility; the dynamic linker binds it, in every copy, to
 * the first definition in the process's global scope, the first LD_PRELOAD'ed collector,
 * which a dlopen'ed libgprof-inject.so also looks in before itself) holds the sample,
 * the current line and the list of the copies' lines, and whoever calibrates publishes
 * the same line into every copy's gp_clk.  Readers stay on their copy's own (hidden)
 * gp_clk: no indirection on the record path; and each thread converts on a copy of that
 * line in its buffer (producer.h struct gp_tclock, refreshed by clk_read_copy), used while
 * the line's seq is the one it was copied at: no seqlock loop per read.  Each line is a
 * seqlock; its writers (and
 * the shared state) are serialised by the shared lock, which holds the holder's pid so
 * that a child forked while a thread held it can take it over.  Change struct
 * gp_clock_set or struct gp_clock (producer.h) and the name's version changes with them
 * (libraries of two builds in one process then keep a clock each). */

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#if defined(__x86_64__)
#include <x86intrin.h>
#define HAVE_TSC   1
#define CLK_COPIES 8
/* The process's clock, shared by the copies (see above); all but `usable` under `lock`. */
struct gp_clock_set {
	_Atomic int lock;	  /* pid of the holder's process; 0 free */
	int init;		  /* the TSC checks were made */
	_Atomic int usable;	  /* TSC eligible on this host */
	uint64_t cal_tsc, cal_ns; /* last calibration sample */
	struct gp_clock line;	  /* the line, published before the copies' */
	int n;
	struct gp_clock *copy[CLK_COPIES];
};
__attribute__((visibility("default"))) struct gp_clock_set gprof_cli_clock_v2;

struct gp_clock gp_clk;		 /* this copy's line (producer.h), which gp_now_ns() reads */
static _Atomic int g_clk_joined; /* gp_clk is in the shared list (clk_init) */
/* First calibration: 20 ms of baseline (a shorter one leaves the first line microseconds
 * off CLOCK_MONOTONIC by the next calibration). */
#define CLK_FIRST_NS 20000000ull

static void clk_publish(struct gp_clock *c, uint64_t tb, uint64_t nb, uint64_t m)
{
	uint32_t q = atomic_load_explicit(&c->seq, memory_order_relaxed);
	atomic_store_explicit(&c->seq, q + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	if (atomic_load_explicit(&c->on, memory_order_relaxed)) {
		c->prev_tsc = c->tsc;
		c->prev_ns = c->ns;
		c->prev_mult = c->mult;
	}
	c->tsc = tb;
	c->ns = nb;
	c->mult = m;
	atomic_store_explicit(&c->seq, q + 2, memory_order_release);
	atomic_store_explicit(&c->on, 1, memory_order_release);
}

/* The new line, into the shared state, then into every copy (lock held).  A copy whose
 * own line is not on yet reads the shared one (gp_now_ns_slow), so no copy reads
 * clock_gettime once any copy reads the TSC. */
static void clk_publish_all(struct gp_clock_set *s, uint64_t tb, uint64_t nb, uint64_t m)
{
	clk_publish(&s->line, tb, nb, m);
	for (int i = 0; i < s->n; i++)
		clk_publish(s->copy[i], tb, nb, m);
}

/* Line c's time at TSC value t; now (rdtsc) when t is 0.  A t read before the line took
 * over converts on the line before it, as gp_now_ns() did then: the two lines meet at
 * the moment of the change but differ before it (by up to microseconds after a steered
 * calibration), and an OS runtime call that straddles a recalibration must not start
 * before the NVTX range pushed just before it. */
struct clk_line {
	uint32_t seq;		/* the line's seq when it was read */
	uint64_t tsc, ns, mult; /* as struct gp_clock's */
};

/* clk_read(), and the line it converted with into *used (NULL: not wanted). */
static uint64_t clk_read_line(struct gp_clock *c, uint64_t t, struct clk_line *used)
{
	uint32_t q;
	uint64_t tb, nb, m, now;
	do {
		q = atomic_load_explicit(&c->seq, memory_order_acquire);
		tb = c->tsc;
		nb = c->ns;
		m = c->mult;
		now = t ? t : __rdtsc();
		if (t && (int64_t)(t - tb) < 0 && c->prev_mult) {
			tb = c->prev_tsc;
			nb = c->prev_ns;
			m = c->prev_mult;
		}
		atomic_thread_fence(memory_order_acquire);
	} while ((q & 1) || q != atomic_load_explicit(&c->seq, memory_order_relaxed));
	if (used)
		*used = (struct clk_line){q, tb, nb, m};
	return gp_tsc_to_ns(now, tb, nb, m);
}

static uint64_t clk_read(struct gp_clock *c, uint64_t t)
{
	return clk_read_line(c, t, NULL);
}

static int file_has(const char *path, const char *word, size_t cap)
{
	char buf[16384];
	uint32_t n = read_file(path, buf, (uint32_t)(cap < sizeof(buf) ? cap : sizeof(buf)) - 1);
	buf[n] = '\0';
	return strstr(buf, word) != NULL;
}

/* Take the shared lock: 1 when taken.  A holder's pid other than ours is a thread of the
 * process this one was forked from, which will never release it here: taken over, with
 * a fresh calibration sample (the lines themselves: clk_fork_child).  wait: how many
 * 50 us pauses to wait for a holder of this process. */
static int clk_lock(struct gp_clock_set *s, int wait)
{
	int me = (int)sys_getpid();
	for (int i = 0;; i++) {
		int h = atomic_load_explicit(&s->lock, memory_order_relaxed);
		if (h != me) {
			if (!atomic_compare_exchange_strong_explicit(
				&s->lock, &h, me, memory_order_acquire, memory_order_relaxed))
				continue;
			if (h != 0 && atomic_load_explicit(&s->usable, memory_order_relaxed)) {
				gp_tsc_sample(mono_ns, &s->cal_tsc, &s->cal_ns);
			}
			return 1;
		}
		if (i >= wait)
			return 0;
		sys_sleep_ns(50000);
	}
}

static void clk_unlock(struct gp_clock_set *s)
{
	atomic_store_explicit(&s->lock, 0, memory_order_release);
}

/* Init: join the process's clock; the first copy decides whether the TSC may be used and
 * takes the first sample; a copy that comes after the first calibration takes its line. */
static void clk_init(void)
{
	struct gp_clock_set *s = &gprof_cli_clock_v2;
	if (!clk_lock(s, 2000))
		return; /* held 100 ms: this copy reads the shared line (gp_now_ns_slow) */
	if (!s->init) {
		const char *e = getenv("GPROF_CLI_TSC");
		s->init = 1;
		int force = e && *e == '1';
		if (!(e && *e == '0') &&
		    (force ||
		     file_has("/sys/devices/system/clocksource/clocksource0/current_clocksource",
			      "tsc", 64)) &&
		    file_has("/proc/cpuinfo", " constant_tsc", 16384) &&
		    file_has("/proc/cpuinfo", " nonstop_tsc", 16384)) {
			gp_tsc_sample(mono_ns, &s->cal_tsc, &s->cal_ns);
			/* the recorder's older sample, when there is one (wire.h gp_control) */
			if (gp_ctl->tsc_sample_ns && gp_ctl->tsc_sample_ns < s->cal_ns &&
			    gp_ctl->tsc_sample < s->cal_tsc) {
				s->cal_tsc = gp_ctl->tsc_sample;
				s->cal_ns = gp_ctl->tsc_sample_ns;
			}
			atomic_store_explicit(&s->usable, 1, memory_order_release);
		}
	}
	if (s->n < CLK_COPIES) {
		s->copy[s->n++] = &gp_clk;
		g_clk_joined = 1;
		if (atomic_load_explicit(&s->line.on, memory_order_relaxed))
			clk_publish(&gp_clk, s->line.tsc, s->line.ns, s->line.mult);
	}
	clk_unlock(s);
}

/* Recalibrate: the first time at least CLK_FIRST_NS after the initial sample, later at
 * least 20 ms after the previous sample.  Skipped while another thread calibrates.  A new
 * line starts where the old one is at the moment it is published (not at the sample,
 * which may be long gone when the calibrating thread was preempted in between), so that
 * no reader sees time go back. */
static void clk_calibrate(void)
{
	struct gp_clock_set *s = &gprof_cli_clock_v2;
	uint64_t t = 0, n = 0, w; /* (gp_tsc_sample sets t, n; GCC cannot see it once inlined) */
	if (!g_clk_joined || !atomic_load_explicit(&s->usable, memory_order_acquire) ||
	    !clk_lock(s, 0))
		return;
	int on = atomic_load_explicit(&s->line.on, memory_order_relaxed);
	w = gp_tsc_sample(mono_ns, &t, &n);
	if (n - s->cal_ns < (on ? 20000000ull : CLK_FIRST_NS) || t <= s->cal_tsc) {
		clk_unlock(s);
		return;
	}
	uint64_t dt = t - s->cal_tsc, dn = n - s->cal_ns;
	if (!on) {
		/* readers have used clock_gettime so far: start the line at the sample's
		 * latest possible time, never before what they read */
		uint64_t m = (uint64_t)(((unsigned __int128)dn << 32) / dt);
		clk_publish_all(s, t, n + gp_tsc_to_ns(w, 0, 0, m), m);
	} else {
		uint64_t c = gp_tsc_to_ns(t, s->line.tsc, s->line.ns, s->line.mult);
		int64_t err = (int64_t)(n - c);
		if (err > 1000000 || err < -1000000) {
			clk_publish_all(s, t, n, (uint64_t)(((unsigned __int128)dn << 32) / dt));
		} else {
			/* continue from where the line is now and absorb err over the next
			 * period of the same length */
			int64_t target = (int64_t)dn + err;
			if (target < (int64_t)dn / 2)
				target = (int64_t)dn / 2;
			uint64_t m = (uint64_t)(((unsigned __int128)(uint64_t)target << 32) / dt);
			uint64_t tp = __rdtsc();
			clk_publish_all(s, tp,
					gp_tsc_to_ns(tp, s->line.tsc, s->line.ns, s->line.mult), m);
		}
	}
	s->cal_tsc = t;
	s->cal_ns = n;
	clk_unlock(s);
}

/* Leave the shared list (the destructor: this library may be unloaded, its gp_clk with
 * it; the line it has stays valid). */
static void clk_leave(void)
{
	struct gp_clock_set *s = &gprof_cli_clock_v2;
	if (!g_clk_joined || !clk_lock(s, 200))
		return;
	for (int i = 0; i < s->n; i++)
		if (s->copy[i] == &gp_clk)
			s->copy[i--] = s->copy[--s->n];
	g_clk_joined = 0;
	clk_unlock(s);
}

/* In a forked child: a thread of the parent may have been publishing into a line; its
 * readers would wait for the end of that forever.  Such a line is off (clock_gettime, or
 * the shared line) until the next calibration publishes a whole one again. */
static void clk_fork_child(void)
{
	struct gp_clock *c[2] = {&gprof_cli_clock_v2.line, &gp_clk};
	for (int i = 0; i < 2; i++) {
		uint32_t q = atomic_load_explicit(&c[i]->seq, memory_order_relaxed);
		if (q & 1) {
			atomic_store_explicit(&c[i]->on, 0, memory_order_relaxed);
			atomic_store_explicit(&c[i]->seq, q + 1, memory_order_release);
		}
	}
}

/* gp_now_ns() on this copy's line (on), read under its seqlock, which b (the calling
 * thread's buffer; NULL: none) keeps a copy of for the next reads (producer.h struct
 * gp_tclock).  The copy is written between busy = 1 and busy = 0 with gen UINT64_MAX
 * meanwhile, so a signal handler's read on this thread in between neither uses nor writes
 * a half-written copy. */
static uint64_t clk_read_copy(struct gp_tbuf *b)
{
	struct clk_line l;
	uint64_t now = clk_read_line(&gp_clk, 0, &l);

	if (b && !b->clk.busy) {
		b->clk.busy = 1;
		atomic_signal_fence(memory_order_seq_cst);
		b->clk.gen = UINT64_MAX;
		atomic_signal_fence(memory_order_seq_cst);
		b->clk.tsc = l.tsc - (1ull << 32); /* (struct gp_tclock) */
		b->clk.ns = l.ns - l.mult;
		b->clk.mult = l.mult;
		atomic_signal_fence(memory_order_seq_cst);
		b->clk.gen = l.seq;
		atomic_signal_fence(memory_order_seq_cst);
		b->clk.busy = 0;
	}
	return now;
}

/* gp_now_ns() when the calling thread's copy of the line is stale or missing: this copy's
 * line once on (the thread's copy refreshed: clk_read_copy); while it is off (the thread's
 * copy dropped), the shared
 * line once on (a calibration is publishing, this copy's line was reset in a forked
 * child, or this copy could not join), else clock_gettime, and the calibration itself
 * once CLK_FIRST_NS passed since the initial sample. */
uint64_t gp_now_ns_slow(void)
{
	struct gp_clock_set *s = &gprof_cli_clock_v2;
	struct gp_tbuf *b = gp_t_buf;
	if (atomic_load_explicit(&gp_clk.on, memory_order_acquire))
		return clk_read_copy(b);
	if (b && !b->clk.busy)
		b->clk.gen = UINT64_MAX; /* gp_now_ns_try: no TSC read until the line is on */
	if (atomic_load_explicit(&s->line.on, memory_order_acquire))
		return clk_read(&s->line, 0);
	uint64_t n = mono_ns();
	if (g_clk_joined && atomic_load_explicit(&s->usable, memory_order_acquire) &&
	    n - s->cal_ns >= CLK_FIRST_NS)
		clk_calibrate();
	return n;
}

uint64_t gp_tsc_ns(uint64_t t)
{
	if (atomic_load_explicit(&gp_clk.on, memory_order_acquire))
		return clk_read(&gp_clk, t);
	if (atomic_load_explicit(&gprof_cli_clock_v2.line.on, memory_order_acquire))
		return clk_read(&gprof_cli_clock_v2.line, t);
	return 0;
}

#else
static void clk_init(void)
{
}

static void clk_calibrate(void)
{
}

static void clk_leave(void)
{
}

static void clk_fork_child(void)
{
}

uint64_t gp_now_ns_slow(void)
{
	return mono_ns();
}

uint64_t gp_tsc_ns(uint64_t t)
{
	(void)t;
	return 0;
}
#endif

/* ---- thread buffers --------------------------------------------------------------- */

/* Take b's lock as a non-owner.  spins: how many extra attempts (0 = try once). */
static int buf_trylock(struct gp_tbuf *b, int spins)
{
	if (gp_membar) {
		/* Asymmetric Dekker: the owner only stores busy and loads steal (no fence);
		 * membarrier(2) puts a full barrier on every running thread of the process
		 * between our store of steal and our load of busy.  Non-owners hold the send
		 * lock here, so there is one stealer at a time. */
		for (int i = 0;; i++) {
			atomic_store_explicit(&b->steal, 1, memory_order_relaxed);
			if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0 &&
			    !atomic_load_explicit(&b->busy, memory_order_acquire))
				return 1;
			atomic_store_explicit(&b->steal, 0, memory_order_release);
			if (i >= (spins > 2 ? 2 : spins))
				return 0;
			cpu_relax();
		}
	}
	for (int i = 0;; i++) {
		int z = 0;
		if (atomic_compare_exchange_strong_explicit(&b->lock, &z, 2, memory_order_acquire,
							    memory_order_relaxed))
			return 1;
		if (i >= spins)
			return 0;
		cpu_relax();
	}
}

/* Release what buf_trylock() took. */
static inline void buf_unlock_other(struct gp_tbuf *b)
{
	if (gp_membar)
		atomic_store_explicit(&b->steal, 0, memory_order_release);
	else
		atomic_store_explicit(&b->lock, 0, memory_order_release);
}

/* The owner releases its buffer (gp_rec_commit, or a failed gp_rec_begin). */
static inline void buf_unlock_owner(struct gp_tbuf *b)
{
	if (gp_membar)
		atomic_store_explicit(&b->busy, 0, memory_order_release);
	else
		atomic_store_explicit(&b->lock, 0, memory_order_release);
}

/* The owner takes its buffer; 0 when re-entered (signal handler) mid-record. */
static inline int buf_lock_owner(struct gp_tbuf *b)
{
	if (likely(gp_membar)) {
		if (unlikely(atomic_load_explicit(&b->busy, memory_order_relaxed)))
			return 0;
		for (;;) {
			atomic_store_explicit(&b->busy, 1, memory_order_relaxed);
			atomic_signal_fence(memory_order_seq_cst);
			if (likely(!atomic_load_explicit(&b->steal, memory_order_acquire)))
				return 1;
			atomic_store_explicit(&b->busy, 0, memory_order_release);
			for (unsigned i = 1; atomic_load_explicit(&b->steal, memory_order_acquire);
			     i++) {
				if (i % 256 == 0)
					syscall(SYS_sched_yield);
				else
					cpu_relax();
			}
		}
	}
	int z = 0;
	if (likely(atomic_compare_exchange_strong_explicit(&b->lock, &z, 1, memory_order_acquire,
							   memory_order_relaxed)))
		return 1;
	if (z == 1)
		return 0;
	for (unsigned i = 1;; i++) { /* a flusher copies us out: at most a memcpy */
		z = 0;
		if (atomic_compare_exchange_weak_explicit(&b->lock, &z, 1, memory_order_acquire,
							  memory_order_relaxed))
			return 1;
		if (i % 256 == 0)
			syscall(SYS_sched_yield);
		else
			cpu_relax();
	}
}

/* Flush b from another thread (or the owner outside begin/commit).  wait: keep trying
 * for about 200 ms when b is busy (exit path); else try once.  Returns 1 if b was
 * emptied or empty. */
static int flush_buf(struct gp_tbuf *b, int wait)
{
	for (int tries = 0;; tries++) {
		if (atomic_load_explicit(&b->lock, memory_order_relaxed) == 0 && b->f.len == 0)
			return 1;
		if (g_in_signal) {
			if (!strylock())
				return 0;
		} else {
			slock();
		}
		if (buf_trylock(b, 64)) {
			if (b->f.len) {
				memcpy(g_scratch.data + HDR, b->f.data + HDR, b->f.len);
				g_scratch.len = b->f.len;
				g_scratch.nrec = b->f.nrec;
				b->f.len = b->f.nrec = 0;
			}
			buf_unlock_other(b);
			send_frame_locked(&g_scratch);
			sunlock();
			return 1;
		}
		sunlock();
		if (!wait || g_in_signal || tries >= 2000)
			return 0;
		sys_sleep_ns(100000);
	}
}

/* A GP_REC_OVERHEAD's fields past its header: [t0, t1] spent on string id sid. */
static inline void overhead_fill(struct gp_rec_overhead *o, uint64_t t0, uint64_t t1, uint32_t sid)
{
	o->start_ns = t0;
	o->end_ns = t1;
	o->name_sid = sid;
	o->pad = 0;
}

/* The calling thread's waits for ring room (t_wait0, t_wait1) as a GP_REC_OVERHEAD
 * GP_OVERHEAD_RECORDER_WAIT put straight into b, which it owns and has just emptied; a
 * record that does not fit is counted as dropped.  Not in a signal handler. */
static void wait_put_owned(struct gp_tbuf *b)
{
	uint64_t t0 = t_wait0, t1 = t_wait1;
	uint32_t sid;
	struct gp_rec_overhead *o;

	t_wait0 = 0;
	sid = gp_intern(GP_OVERHEAD_RECORDER_WAIT); /* (may hand off g_sbuf: send lock only) */
	if (!sid)
		return;
	if (b->f.len + sizeof(*o) > CAP) {
		atomic_fetch_add_explicit(&g_dropped, 1, memory_order_relaxed);
		return;
	}
	o = (struct gp_rec_overhead *)(b->f.data + HDR + b->f.len);
	o->h.type = GP_REC_OVERHEAD;
	o->h.size = sizeof(*o);
	o->h.tid = b->tid;
	overhead_fill(o, t0, t1, sid);
	b->f.len += sizeof(*o);
	b->f.nrec++;
}

/* The flusher's waits for ring room (t_wait0, t_wait1) as a GP_OVERHEAD_RECORDER_WAIT on its
 * own buffer (gp_overhead), after a flush and outside the send lock. */
static void wait_record(void)
{
	uint64_t t0 = t_wait0, t1 = t_wait1;

	if (t0) {
		t_wait0 = 0;
		gp_overhead(t0, t1, GP_OVERHEAD_RECORDER_WAIT);
	}
}

/* The owner (holding b->lock == 1) sends its own full buffer; a wait for ring room
 * goes into the emptied buffer as a GP_OVERHEAD_RECORDER_WAIT (wait_put_owned). */
static void buf_send_owned(struct gp_tbuf *b)
{
	if (g_in_signal) {
		if (!strylock())
			return;
	} else {
		slock();
	}
	send_frame_locked(&b->f);
	sunlock();
	if (unlikely(t_wait0) && !g_in_signal)
		wait_put_owned(b);
}

static void send_loss_locked(struct gp_frame *f);

static void flush_all(int wait)
{
	for (struct gp_tbuf *b = atomic_load_explicit(&g_bufs, memory_order_acquire); b;
	     b = b->next) {
		if (!flush_buf(b, wait) && b->f.nrec && wait)
			atomic_fetch_add_explicit(&g_dropped, b->f.nrec, memory_order_relaxed);
	}
	if (g_in_signal ? strylock() : (slock(), 1)) {
		send_frame_locked(&g_sbuf);
		sunlock();
	}
}

/* Answer flush request `epoch` (wire.h "Flush requests"): flush every thread buffer,
 * waiting briefly for one held mid-record, then send GP_REC_FLUSH_ACK in a frame of its
 * own.  Not from a signal handler. */
static void flush_request(uint32_t epoch)
{
	uint64_t t0 = gp_now_ns();
	hooks_run(&g_flushreq_hooks);
	for (struct gp_tbuf *b = atomic_load_explicit(&g_bufs, memory_order_acquire); b;
	     b = b->next)
		flush_buf(b, 1);
	slock();
	send_frame_locked(&g_sbuf);
	struct gp_frame *f = &g_scratch;
	f->len = f->nrec = 0;
	struct gp_rec_flush_ack *a = (struct gp_rec_flush_ack *)(f->data + HDR);
	memset(a, 0, sizeof(*a));
	a->h.type = GP_REC_FLUSH_ACK;
	a->h.size = sizeof(*a);
	a->h.tid = sys_gettid();
	a->epoch = epoch;
	f->len = sizeof(*a);
	f->nrec = 1;
	send_frame_locked(f);
	sunlock();
	/* goes out with this thread's next flush (the ack frame holds the ack alone) */
	gp_overhead(t0, gp_now_ns(), "Profiling data flush on capture range end");
}

void gp_flush_all(void)
{
	if (atomic_load_explicit(&g_state, memory_order_relaxed) == ST_ACTIVE)
		flush_all(0);
}

void gp_flush_thread(void)
{
	struct gp_tbuf *b = gp_t_buf;
	if (b)
		flush_buf(b, 1);
}

/* Wait until the flush period has passed or a flush request (gp_control.flush_epoch,
 * wire.h "Flush requests") moved the epoch away from `seen`. */
static void flusher_wait(uint32_t seen)
{
	_Atomic uint32_t *w = &gp_ctl->flush_epoch;
	uint64_t end = mono_ns() + g_flush_ns;
	for (;;) {
		if (atomic_load_explicit(w, memory_order_acquire) != seen)
			return;
		uint64_t now = mono_ns();
		if (now >= end)
			return;
		uint64_t left = end - now;
		struct timespec ts = {(time_t)(left / 1000000000u), (long)(left % 1000000000u)};
		/* shared futex: the page is MAP_SHARED between processes */
		syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT, seen, &ts, NULL, 0);
	}
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* Pre-fault a new ring here, so that the application's threads do not take its page
 * faults on their first pass through it (a kernel before 5.14 refuses: then they do). */
static void ring_populate(void)
{
	if (!atomic_exchange(&g_ring_populate, 0))
		return;
	slock();
	void *m = g_ring;
	sunlock();
	if (m)
		syscall(SYS_madvise, m, RING_MAP_BYTES, MADV_POPULATE_WRITE);
}

/* Read $GPROF_CLI_STREAMS (at init). */
static void streams_init(void)
{
	const char *e = getenv(GP_ENV_STREAMS);
	char *end;

	for (g_nstreams = 0; e && *e && g_nstreams < 2; g_nstreams++) {
		g_streams[g_nstreams][0] = strtoull(e, &end, 10);
		if (*end != ':')
			break;
		g_streams[g_nstreams][1] = strtoull(end + 1, &end, 10);
		e = *end == ',' ? end + 1 : end;
	}
}

/* gprof-cli is gone: stdout and stderr that still lead to its tee now lead nowhere (the
 * next write would end the application with SIGPIPE, or fail with EIO on its terminal):
 * point them at /dev/null. */
static void streams_to_null(void)
{
	for (int fd = 1; fd <= 2; fd++) {
		struct stat st;
		if (syscall(SYS_fstat, fd, &st) != 0)
			continue;
		for (int i = 0; i < g_nstreams; i++) {
			if ((uint64_t)st.st_dev != g_streams[i][0] ||
			    (uint64_t)st.st_ino != g_streams[i][1])
				continue;
			int n =
			    (int)syscall(SYS_openat, AT_FDCWD, "/dev/null", O_WRONLY | O_CLOEXEC);
			if (n >= 0) {
				syscall(SYS_dup3, n, fd, 0);
				syscall(SYS_close, n);
			}
			break;
		}
	}
}

/*
 * Recorder death (flusher thread, each period): when the recorder's end of our socket is
 * closed and a new connection is refused, gprof-cli is gone.  Collection stops for good
 * (the dead control page: every collector's record path returns at its first check, CUPTI
 * is switched off by the capture-change hooks), stdout/stderr that led to gprof-cli lead
 * to /dev/null, and the flusher ends: the application goes on untraced, at no cost.
 * Returns 1 when it is gone.
 */
static int recorder_gone(void)
{
	int gone, killed;
	if (gp_ctl == &g_dead_ctl)
		return 1;
	slock();
	gone = g_fd >= 0 && fd_is_ours() && peer_gone() && connect_locked() != 0;
	/* refused: the channel is still there, nobody listens (gprof-cli was killed); else
	 * it was removed (the session ended with the application left running, and gprof-cli
	 * handed its output over to a process that forwards it) */
	killed = gone && errno == ECONNREFUSED;
	if (gone)
		g_broken = 1;
	sunlock();
	if (!gone)
		return 0;
	gp_ctl = &g_dead_ctl;
	hooks_run(&g_capchg_hooks);
	if (killed)
		streams_to_null();
	return 1;
}

static void *flusher_main(void *arg)
{
	(void)arg;
	int me = (int)sys_getpid();
	uint32_t seen = atomic_load(&g_acked_epoch);
	uint32_t was_collecting = (uint32_t)gp_collecting();
	prctl(PR_SET_NAME, "gprof-flush", 0, 0, 0);
	while (atomic_load_explicit(&g_flusher_pid, memory_order_relaxed) == me) {
		ring_populate();
		flusher_wait(seen);
		if ((int)sys_getpid() != me || recorder_gone())
			break;
		/* a window opened or closed elsewhere (another process, the recorder) */
		if ((uint32_t)gp_collecting() != was_collecting) {
			was_collecting = (uint32_t)gp_collecting();
			hooks_run(&g_capchg_hooks);
		}
		uint32_t ep = atomic_load_explicit(&gp_ctl->flush_epoch, memory_order_acquire);
		if (ep != seen) {
			flush_request(ep);
			atomic_store(&g_acked_epoch, ep);
			seen = ep;
		} else {
			flush_all(0);
		}
		wait_record();
		clk_calibrate();
		uint64_t cur[4] = {atomic_load(&g_dropped), atomic_load(&g_failed_sends),
				   atomic_load(&g_cupti_dropped), atomic_load(&g_zero_ts)};
		if (memcmp(cur, g_loss_sent, sizeof(cur)) != 0) {
			slock();
			send_loss_locked(&g_scratch);
			send_frame_locked(&g_scratch);
			sunlock();
		}
	}
	return NULL;
}

static void start_flusher(void)
{
	int me = (int)sys_getpid(), cur = atomic_load(&g_flusher_pid);
	if (cur == me || !atomic_compare_exchange_strong(&g_flusher_pid, &cur, me))
		return;
	pthread_attr_t a;
	pthread_t t;
	sigset_t all, old;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&a, 64 << 10);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old); /* the flusher inherits "all blocked" */
	/* glibc refuses (EINVAL) a stack that cannot hold the process's static TLS, which
	 * an application with large __thread data exceeds 64 KiB with: then the default */
	if (pthread_create(&t, &a, flusher_main, NULL) != 0) {
		pthread_attr_destroy(&a);
		pthread_attr_init(&a);
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &a, flusher_main, NULL) != 0)
			atomic_store(&g_flusher_pid, 0);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&a);
}

static void thread_exit(void *arg)
{
	struct gp_tbuf *b = arg;
	if (!b)
		return;
	flush_buf(b, 1);
	if (gp_t_buf == b)
		gp_t_buf = NULL;
	atomic_store_explicit(&b->live, 0, memory_order_release);
}

void gp_emit_thread_name(uint32_t tid, uint32_t name_sid)
{
	struct gp_rec_thread_name *r = gp_rec_begin(GP_REC_THREAD_NAME, sizeof(*r));
	if (!r)
		return;
	r->tid = tid;
	r->name_sid = name_sid;
	r->priority = 0;
	r->pad = 0;
	gp_rec_commit(r);
}

/* Emit GP_REC_THREAD_NAME for the calling thread (name from prctl(PR_GET_NAME)). */
static void emit_thread_name(struct gp_tbuf *b)
{
	char name[17] = {0};
	if (syscall(SYS_prctl, PR_GET_NAME, name, 0, 0, 0) != 0 || !name[0])
		return;
	gp_emit_thread_name(b->tid, gp_intern_n(name, strlen(name)));
}

/* First record of a thread: find a free buffer or map a new one. */
static __attribute__((noinline)) struct gp_tbuf *tbuf_get(void)
{
	if (atomic_load_explicit(&g_state, memory_order_acquire) != ST_ACTIVE)
		return NULL;
	struct gp_tbuf *b;
	for (b = atomic_load_explicit(&g_bufs, memory_order_acquire); b; b = b->next) {
		int z = 0;
		if (atomic_load_explicit(&b->live, memory_order_relaxed) == 0 &&
		    atomic_compare_exchange_strong(&b->live, &z, 1))
			break;
	}
	if (!b) {
		void *m = tbufs_slot();
		if (!m)
			m = gp_map_anon(sizeof(*b), 0);
		if (!m) {
			atomic_fetch_add_explicit(&g_dropped, 1, memory_order_relaxed);
			return NULL;
		}
		b = m;
		atomic_store(&b->live, 1);
		struct gp_tbuf *head = atomic_load(&g_bufs);
		do
			b->next = head;
		while (!atomic_compare_exchange_weak(&g_bufs, &head, b));
	}
	memset(b->cache, 0, sizeof(b->cache));
	memset(b->seen, 0, sizeof(b->seen));
	b->clk.busy = 0;
	b->clk.gen = UINT64_MAX; /* no copy of the clock's line yet */
	b->tid = sys_gettid();
	gp_t_buf = b;
	if (!g_in_signal) { /* neither is async-signal-safe */
		if (atomic_load(&g_key_ok))
			pthread_setspecific(g_key, b);
		start_flusher();
	}
	if (t_named != b->tid) {
		t_named = b->tid;
		emit_thread_name(b);
	}
	return b;
}

void *gp_rec_begin_slow(uint16_t type, size_t size)
{
	if (unlikely(!atomic_load_explicit(&gp_ctl->collecting, memory_order_relaxed)) &&
	    !gp_rec_is_state(type))
		return NULL; /* outside every capture range: refused, not a loss */
	return gp_rec_begin_ungated(type, size);
}

void *gp_rec_begin_ungated(uint16_t type, size_t size)
{
	struct gp_tbuf *b = gp_t_buf;
	if (unlikely(!b) && !(b = tbuf_get()))
		return NULL;
	size = GP_REC_ALIGN(size);
	if (unlikely(size > CAP || !buf_lock_owner(b))) {
		atomic_fetch_add_explicit(&g_dropped, 1, memory_order_relaxed);
		return NULL;
	}
	if (unlikely(b->f.len + size > CAP)) {
		buf_send_owned(b);
		if (b->f.len + size > CAP) {
			buf_unlock_owner(b);
			atomic_fetch_add_explicit(&g_dropped, 1, memory_order_relaxed);
			return NULL;
		}
	}
	struct gp_rec_hdr *h = (struct gp_rec_hdr *)(b->f.data + HDR + b->f.len);
	h->type = type;
	h->size = (uint16_t)size;
	h->tid = b->tid;
	b->pending = (uint32_t)size;
	return h;
}

void gp_overhead(uint64_t start_ns, uint64_t end_ns, const char *name)
{
	uint32_t sid = gp_intern(name);
	if (!sid)
		return;
	struct gp_rec_overhead *o = gp_rec_begin_ungated(GP_REC_OVERHEAD, sizeof(*o));
	if (!o)
		return;
	overhead_fill(o, start_ns, end_ns, sid);
	gp_rec_commit(o);
}

uint32_t gp_tid(void)
{
	struct gp_tbuf *b = gp_t_buf;
	if (likely(b))
		return b->tid;
	b = tbuf_get();
	return b ? b->tid : sys_gettid();
}

int gp_producer_active(void)
{
	return atomic_load_explicit(&g_state, memory_order_relaxed) == ST_ACTIVE;
}

void gp_count_dropped(uint64_t records)
{
	atomic_fetch_add_explicit(&g_dropped, records, memory_order_relaxed);
}

void gp_count_cupti_loss(uint64_t dropped, uint64_t zero_timestamps)
{
	atomic_fetch_add_explicit(&g_cupti_dropped, dropped, memory_order_relaxed);
	atomic_fetch_add_explicit(&g_zero_ts, zero_timestamps, memory_order_relaxed);
}

void gp_at_shutdown(void (*fn)(int in_signal))
{
	int n = atomic_load(&g_n_shutdown);
	for (int i = 0; i < n; i++)
		if (g_shutdown_fns[i] == fn)
			return;
	n = atomic_fetch_add(&g_n_shutdown, 1);
	if (n >= 8) {
		atomic_fetch_sub(&g_n_shutdown, 1);
		return;
	}
	g_shutdown_fns[n] = fn;
}

/* Add fn to l unless it is there or l is full. */
static void hooks_add(struct hook_list *l, void (*fn)(void))
{
	int n = atomic_load(&l->n);
	for (int i = 0; i < n && i < 4; i++)
		if (l->fns[i] == fn)
			return;
	n = atomic_fetch_add(&l->n, 1);
	if (n >= 4) {
		atomic_fetch_sub(&l->n, 1);
		return;
	}
	l->fns[n] = fn;
}

static void hooks_run(struct hook_list *l)
{
	int n = atomic_load(&l->n);
	for (int i = 0; i < n && i < 4; i++)
		if (l->fns[i])
			l->fns[i]();
}

void gp_at_flush_request(void (*fn)(void))
{
	hooks_add(&g_flushreq_hooks, fn);
}

void gp_at_capture_change(void (*fn)(void))
{
	hooks_add(&g_capchg_hooks, fn);
}

/* ---- exit, signals, fork ------------------------------------------------------------ */

/* Append GP_REC_LOSS (cumulative counters) to f.  Send lock held. */
static void send_loss_locked(struct gp_frame *f)
{
	struct gp_rec_loss *l = (struct gp_rec_loss *)(f->data + HDR + f->len);
	memset(l, 0, sizeof(*l));
	l->h.type = GP_REC_LOSS;
	l->h.size = sizeof(*l);
	l->h.tid = sys_gettid();
	l->dropped_records = atomic_load(&g_dropped);
	l->failed_sends = atomic_load(&g_failed_sends);
	l->cupti_dropped = atomic_load(&g_cupti_dropped);
	l->zero_timestamps = atomic_load(&g_zero_ts);
	g_loss_sent[0] = l->dropped_records;
	g_loss_sent[1] = l->failed_sends;
	g_loss_sent[2] = l->cupti_dropped;
	g_loss_sent[3] = l->zero_timestamps;
	f->len += sizeof(*l);
	f->nrec++;
}

/* Append a GP_REC_OVERHEAD (name_sid != 0) to frame f (send lock held). */
static void add_overhead_locked(struct gp_frame *f, uint64_t t0, uint64_t t1, uint32_t name_sid)
{
	if (!name_sid || !t1)
		return;
	struct gp_rec_overhead *o = (struct gp_rec_overhead *)(f->data + HDR + f->len);
	memset(o, 0, sizeof(*o));
	o->h.type = GP_REC_OVERHEAD;
	o->h.size = sizeof(*o);
	o->h.tid = sys_gettid();
	o->start_ns = t0;
	o->end_ns = t1;
	o->name_sid = name_sid;
	f->len += sizeof(*o);
	f->nrec++;
}

/* Final frame: GP_REC_LOSS (+ the GP_REC_OVERHEAD rows of the connection set-up and of the
 * exit flush [t0, t1], outside signal handlers) + GP_REC_PROCESS_EXIT. */
static void send_final(int status, uint64_t t0, uint64_t t1)
{
	uint32_t init_sid = 0, exit_sid = 0;
	if (!g_in_signal) { /* interning takes the send lock: before it */
		const char *init = g_collector == GP_COLLECTOR_OSRT
				       ? "Profiler connection set-up (libgprof-osrt.so)"
				   : g_collector == GP_COLLECTOR_INJECT
				       ? "Profiler connection set-up (libgprof-inject.so)"
				       : "Profiler connection set-up";
		const char *flush = "Profiling data flush on process exit";
		init_sid = gp_intern_n(init, strlen(init));
		exit_sid = gp_intern_n(flush, strlen(flush));
	}
	if (g_in_signal ? !strylock() : (slock(), 0))
		return;
	struct gp_frame *f = &g_scratch;
	f->len = f->nrec = 0;
	send_loss_locked(f);
	add_overhead_locked(f, g_init_t0, g_init_t1, init_sid);
	add_overhead_locked(f, t0, t1, exit_sid);
	struct gp_rec_process_exit *e = (struct gp_rec_process_exit *)(f->data + HDR + f->len);
	e->h.type = GP_REC_PROCESS_EXIT;
	e->h.size = sizeof(*e);
	e->h.tid = sys_gettid();
	e->ts_ns = gp_now_ns();
	e->status = status;
	e->pad = 0;
	f->len += sizeof(*e);
	f->nrec++;
	send_frame_locked(f);
	sunlock();
}

static void run_shutdown_fns(int in_signal)
{
	int n = atomic_load(&g_n_shutdown);
	for (int i = n - 1; i >= 0; i--)
		if (g_shutdown_fns[i])
			g_shutdown_fns[i](in_signal);
}

/* Normal exit (atexit, then the destructor).  The first call in a process runs the
 * callbacks and sends the final LOSS/PROCESS_EXIT; a later call (destructor after
 * atexit) only flushes what was recorded in between.  The exit() status is not known
 * here: PROCESS_EXIT carries -1 and the recorder keeps the status from waitpid. */
static void producer_exit(void)
{
	if (atomic_load(&g_state) != ST_ACTIVE)
		return;
	int me = (int)sys_getpid(), prev = atomic_exchange(&g_shutdown_pid, me);
	if (prev == me) {
		flush_all(1);
		return;
	}
	uint64_t t0 = gp_now_ns();
	g_retry_ns = 0; /* out of fds so far: one more try now */
	run_shutdown_fns(0);
	flush_all(1);
	send_final(-1, t0, gp_now_ns());
}

/* Register this process for membarrier(2) while it may still have one thread (a
 * library loaded with it: LD_PRELOAD'ed libgprof-osrt.so, under gprof-cli only): with
 * threads, the kernel makes the registration wait for an RCU grace period (10 ms
 * measured on a 2-core VM, at the application's first NVTX or CUDA call), and
 * gp_producer_init()'s own registration then finds it done. */
__attribute__((constructor)) static void producer_early(void)
{
	const char *ch = getenv(GP_ENV_CHANNEL), *mb = getenv("GPROF_CLI_MEMBARRIER");
	long q;

	if (!ch || !*ch || (mb && *mb == '0'))
		return;
	q = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
	if (q > 0 && (q & MEMBARRIER_CMD_PRIVATE_EXPEDITED))
		syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0);
}

static void producer_atexit(void)
{
	producer_exit();
}

__attribute__((destructor)) static void producer_fini(void)
{
	producer_exit();
	clk_leave();
}

static const int g_sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTERM, SIGINT};
#define NSIGS ((int)(sizeof(g_sigs) / sizeof(g_sigs[0])))
static struct sigaction g_old_sa[NSIGS];

static void on_signal(int sig, siginfo_t *si, void *uctx)
{
	int idx = 0, saved_errno = errno;
	while (idx < NSIGS && g_sigs[idx] != sig)
		idx++;
	struct sigaction *old = &g_old_sa[idx < NSIGS ? idx : 0];
	int dies = !(old->sa_flags & SA_SIGINFO) && old->sa_handler == SIG_DFL;
	int me = (int)sys_getpid(), prev = atomic_exchange(&g_signal_pid, me);
	if (prev != me && atomic_load(&g_state) == ST_ACTIVE) {
		g_in_signal = 1;
		run_shutdown_fns(1);
		flush_all(0);
		if (dies)
			send_final(128 + sig, 0, 0);
		g_in_signal = 0;
		if (!dies)
			atomic_store(&g_signal_pid, 0); /* the app's handler may go on */
	}
	errno = saved_errno;
	if (idx >= NSIGS)
		return;
	if (old->sa_flags & SA_SIGINFO) {
		old->sa_sigaction(sig, si, uctx);
	} else if (old->sa_handler == SIG_IGN) {
		return;
	} else if (old->sa_handler != SIG_DFL) {
		old->sa_handler(sig);
	} else {
		/* default action: restore it and re-raise (faults re-trigger on return) */
		struct sigaction dfl;
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		sigaction(sig, &dfl, NULL);
		sigset_t s;
		sigemptyset(&s);
		sigaddset(&s, sig);
		syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, &s, NULL, sizeof(long) * 1);
		syscall(SYS_tgkill, sys_getpid(), sys_gettid(), sig);
	}
}

static void install_signals(void)
{
	for (int i = 0; i < NSIGS; i++) {
		struct sigaction sa, old;
		if (sigaction(g_sigs[i], NULL, &old) != 0)
			continue;
		if (!(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_IGN)
			continue; /* ignored signals stay ignored (nohup etc.) */
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_signal;
		sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
		sigemptyset(&sa.sa_mask);
		g_old_sa[i] = old;
		sigaction(g_sigs[i], &sa, NULL);
	}
}

static void fork_prepare(void)
{
	if (atomic_load(&g_state) == ST_ACTIVE)
		slock(); /* the child gets a consistent table, frames and connection */
}

static void fork_parent(void)
{
	if (atomic_load(&g_state) == ST_ACTIVE)
		sunlock();
}

static void fork_child(void)
{
	clk_fork_child();
	if (atomic_load(&g_state) != ST_ACTIVE)
		return;
	/* the parent's ring is not mapped here (MADV_DONTFORK) and stays the parent's */
	g_ring = NULL;
	g_ring_data = NULL;
	tbufs_fork_child();
	if (!g_trace_fork) {
		/* nsys --trace-fork-before-exec=false: the child is traced from its exec on
		 * (the new image loads the collectors afresh); until then every record is
		 * refused at the state check, and the parent's connection is not shared. */
		atomic_store(&g_slock, 0);
		gp_t_buf = NULL; /* the next record finds the state and gives up */
		atomic_store_explicit(&g_state, ST_INACTIVE, memory_order_release);
		if (g_fd >= 0)
			syscall(SYS_close, g_fd);
		g_fd = -1;
		return;
	}
	/* The child has only the forking thread; every buffer holds parent records
	 * (the parent sends those), so empty all of them and start over. */
	for (struct gp_tbuf *b = atomic_load(&g_bufs); b; b = b->next) {
		b->f.len = b->f.nrec = 0;
		atomic_store(&b->lock, 0);
		atomic_store(&b->busy, 0);
		atomic_store(&b->steal, 0);
		atomic_store(&b->live, 0);
	}
	gp_t_buf = NULL; /* next record re-registers the thread (new tid, name, flusher) */
	atomic_store(&g_slock, 0);
	atomic_store(&g_flusher_pid, 0);
	atomic_store(&g_shutdown_pid, 0);
	atomic_store(&g_signal_pid, 0);
	atomic_store(&g_dropped, 0);
	atomic_store(&g_failed_sends, 0);
	atomic_store(&g_cupti_dropped, 0);
	atomic_store(&g_zero_ts, 0);
	memset(g_loss_sent, 0, sizeof(g_loss_sent));
	g_pid = sys_getpid();
	if (gp_membar && syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0))
		gp_membar = 0; /* single-threaded here: switching modes is safe */
	g_hello_flags |= GP_HELLO_FORKED;
	g_start_ns = gp_now_ns();
	int old = g_fd;
	g_fd = -1;
	if (connect_locked() != 0) {
		g_broken = 1;
	}
	if (old >= 0 && old != g_fd)
		syscall(SYS_close, old);
}

/* ---- capture ranges: the control page ------------------------------------------------ */

/* Map GP_CONTROL_NAME from the channel's folder; keep the local page when absent. */
static void map_control(const char *channel)
{
	char path[sizeof(g_addr.sun_path) + sizeof(GP_CONTROL_NAME) + 2];
	const char *slash = strrchr(channel, '/');
	size_t dlen = slash ? (size_t)(slash - channel) : 0;
	if (!slash || dlen + 1 + sizeof(GP_CONTROL_NAME) > sizeof(path))
		return;
	memcpy(path, channel, dlen);
	path[dlen] = '/';
	memcpy(path + dlen + 1, GP_CONTROL_NAME, sizeof(GP_CONTROL_NAME));
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return;
	struct stat st;
	void *m = MAP_FAILED;
	if (syscall(SYS_fstat, fd, &st) == 0 && (size_t)st.st_size >= sizeof(struct gp_control))
		m = sys_mmap(sizeof(struct gp_control), PROT_READ | PROT_WRITE, MAP_SHARED, fd);
	syscall(SYS_close, fd);
	if (m == MAP_FAILED)
		return;
	struct gp_control *c = m;
	if (c->magic != GP_CONTROL_MAGIC || c->version != GP_CONTROL_VERSION ||
	    c->size != sizeof(struct gp_control)) {
		sys_munmap(m, sizeof(struct gp_control));
		return;
	}
	atomic_store(&g_acked_epoch, atomic_load_explicit(&c->flush_epoch, memory_order_acquire));
	gp_ctl = c;
}

/* The transition lock; a holder that died is overridden after about a second. */
static void ctl_lock(struct gp_control *c)
{
	for (unsigned i = 1; atomic_exchange_explicit(&c->lock, 1, memory_order_acquire); i++) {
		if (i % 64 == 0)
			sys_sleep_ns(50000);
		else
			cpu_relax();
		if (i > 64 * 20000)
			break;
	}
}

static void ctl_unlock(struct gp_control *c)
{
	atomic_store_explicit(&c->lock, 0, memory_order_release);
}

/* Send GP_REC_CAPTURE in a frame of its own, now. */
static void send_capture(uint32_t window, uint16_t action, uint64_t ts, uint32_t reason)
{
	slock();
	struct gp_frame *f = &g_scratch;
	f->len = f->nrec = 0;
	struct gp_rec_capture *r = (struct gp_rec_capture *)(f->data + HDR);
	memset(r, 0, sizeof(*r));
	r->h.type = GP_REC_CAPTURE;
	r->h.size = sizeof(*r);
	r->h.tid = gp_t_buf ? gp_t_buf->tid : sys_gettid();
	r->ts_ns = ts;
	r->window = window;
	r->action = action;
	r->reason = (uint16_t)reason;
	f->len = sizeof(*r);
	f->nrec = 1;
	send_frame_locked(f);
	sunlock();
}

/* May a trigger of `reason` act in this session's mode? */
static int capture_usable(struct gp_control *c, uint32_t reason)
{
	if (c == &g_local_ctl || c->mode == GP_CAPTURE_NONE ||
	    atomic_load_explicit(&g_state, memory_order_acquire) != ST_ACTIVE)
		return 0;
	if (reason == GP_CAPTURE_REASON_CUDA && c->mode != GP_CAPTURE_CUDA)
		return 0;
	if (reason == GP_CAPTURE_REASON_NVTX && c->mode != GP_CAPTURE_NVTX)
		return 0;
	return 1;
}

int gp_capture_start(uint64_t ts_ns, uint32_t reason)
{
	struct gp_control *c = gp_ctl;
	if (!capture_usable(c, reason) || atomic_load(&c->collecting) || atomic_load(&c->done))
		return -1;
	if (c->armed_ns && ts_ns < c->armed_ns)
		return -1; /* -y/--delay not over yet */
	int k = -1;
	ctl_lock(c);
	if (!atomic_load(&c->collecting) && !atomic_load(&c->done)) {
		uint32_t n = atomic_load(&c->nwindows);
		if (n >= GP_CAPTURE_MAX_WINDOWS) {
			atomic_store(&c->done, 1);
		} else {
			struct gp_capture_window *w = &c->win[n];
			atomic_store(&w->stop_ns, 0);
			atomic_store(&w->start_ns, ts_ns);
			w->pid = g_pid;
			w->reason = reason;
			atomic_store_explicit(&c->nwindows, n + 1, memory_order_release);
			atomic_store_explicit(&c->collecting, 1, memory_order_release);
			k = (int)n;
		}
	}
	ctl_unlock(c);
	if (k >= 0) {
		hooks_run(&g_capchg_hooks);
		send_capture((uint32_t)k, GP_CAPTURE_ACTION_START, ts_ns, reason);
	}
	return k;
}

int gp_capture_stop(uint64_t ts_ns, uint32_t reason)
{
	struct gp_control *c = gp_ctl;
	if (!capture_usable(c, reason) || c->end == GP_CAPTURE_END_NONE ||
	    !atomic_load(&c->collecting))
		return -1;
	int k = -1, shut = 0;
	ctl_lock(c);
	uint32_t n = atomic_load(&c->nwindows);
	if (atomic_load(&c->collecting) && n > 0) {
		struct gp_capture_window *w = &c->win[n - 1];
		uint64_t start = atomic_load(&w->start_ns);
		atomic_store(&w->stop_ns, ts_ns > start ? ts_ns : start + 1);
		atomic_store_explicit(&c->collecting, 0, memory_order_release);
		int last = c->end == GP_CAPTURE_END_STOP ||
			   c->end == GP_CAPTURE_END_STOP_SHUTDOWN ||
			   (c->max_ranges && n >= c->max_ranges) || n >= GP_CAPTURE_MAX_WINDOWS;
		if (last) {
			atomic_store(&c->done, 1);
			shut = c->end == GP_CAPTURE_END_STOP_SHUTDOWN ||
			       c->end == GP_CAPTURE_END_REPEAT_SHUTDOWN;
		}
		k = (int)(n - 1);
	}
	ctl_unlock(c);
	if (k >= 0) {
		/* Everything recorded in the window leaves before the recorder can ask for the
		 * shutdown (its signal would find records still buffered): ask every producer
		 * of the session (the other library's included) to flush, flush our own, then
		 * set `shutdown`, then send the frame that wakes the recorder up to see it.
		 * The recorder waits for the others' acks (wire.h "Flush requests"). */
		uint32_t ep = atomic_fetch_add(&c->flush_epoch, 1) + 1;
		syscall(SYS_futex, (uint32_t *)&c->flush_epoch, FUTEX_WAKE, INT32_MAX, NULL, NULL,
			0);
		flush_request(ep);
		atomic_store(&g_acked_epoch, ep);
		hooks_run(&g_capchg_hooks);
		if (shut)
			atomic_store(&c->shutdown, 1);
		send_capture((uint32_t)k, GP_CAPTURE_ACTION_STOP, ts_ns, reason);
	}
	return k;
}

const char *gp_option(const char *key, char *buf, size_t size)
{
	const char *s = getenv(GP_ENV_OPTIONS);
	size_t kl = strlen(key);

	for (; s && *s; s = strchr(s, ';') ? strchr(s, ';') + 1 : NULL) {
		size_t len = strcspn(s, ";");
		if (len <= kl || strncmp(s, key, kl) || s[kl] != '=')
			continue;
		len -= kl + 1;
		if (len >= size)
			len = size - 1;
		memcpy(buf, s + kl + 1, len);
		buf[len] = 0;
		return buf;
	}
	return NULL;
}

int gp_traced(const char *name, int dflt)
{
	const char *t = getenv(GP_ENV_TRACE), *p;
	size_t n = strlen(name);

	if (!t)
		return dflt;
	for (p = t; (p = strstr(p, name)); p += n)
		if ((p == t || p[-1] == ',') && (p[n] == 0 || p[n] == ','))
			return 1;
	return 0;
}

int gp_producer_init(uint32_t collector)
{
	int s = atomic_load_explicit(&g_state, memory_order_acquire);
	if (s == ST_ACTIVE)
		return 0;
	if (s == ST_INACTIVE)
		return -1;
	s = ST_UNINIT;
	if (!atomic_compare_exchange_strong(&g_state, &s, ST_INITING)) {
		while ((s = atomic_load(&g_state)) == ST_INITING)
			sys_sleep_ns(100000);
		return s == ST_ACTIVE ? 0 : -1;
	}
	g_init_t0 = mono_ns();
	const char *path = getenv(GP_ENV_CHANNEL);
	if (!path || !*path || strlen(path) >= sizeof(g_addr.sun_path))
		goto inactive;
	const char *fl = getenv(GP_ENV_FLUSH_MS);
	if (fl && *fl) {
		long ms = strtol(fl, NULL, 10);
		if (ms > 0 && ms < 100000)
			g_flush_ns = (uint64_t)ms * 1000000ull;
	}
	g_addr.sun_family = AF_UNIX;
	strcpy(g_addr.sun_path, path);
	map_control(path);
	g_collector = collector;
	g_pid = sys_getpid();
	if (getenv(GP_ENV_HELPER))
		g_hello_flags |= GP_HELLO_HELPER;
	{
		char v[8];
		g_trace_fork = gp_option("trace-fork-before-exec", v, sizeof(v)) && v[0] == '1';
	}
	{
		const char *rg = getenv("GPROF_CLI_RING");
		g_ring_off = rg && *rg == '0';
	}
	clk_init();
	{
		long q = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
		const char *mb = getenv("GPROF_CLI_MEMBARRIER");
		gp_membar =
		    q > 0 && (q & MEMBARRIER_CMD_PRIVATE_EXPEDITED) && !(mb && *mb == '0') &&
		    syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
	}
	g_start_ns = gp_now_ns();
	g_itab = sys_mmap(ITAB_SIZE * sizeof(struct ient), PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1);
	g_arena = sys_mmap(ARENA_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1);
	if (g_itab == MAP_FAILED || g_arena == MAP_FAILED)
		goto inactive;
	read_identity();
	streams_init();
	tbufs_open();
	slock();
	int rc = connect_locked();
	if (rc != 0 && g_need_connect)
		rc = 0, g_broken = 1; /* no fd now: active, connected later (send_raw_locked) */
	sunlock();
	if (rc != 0)
		goto inactive;
	if (pthread_key_create(&g_key, thread_exit) == 0)
		atomic_store(&g_key_ok, 1);
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	atexit(producer_atexit);
	install_signals();
	g_init_t1 = mono_ns();
	atomic_store_explicit(&g_state, ST_ACTIVE, memory_order_release);
	return 0;
inactive:
	atomic_store_explicit(&g_state, ST_INACTIVE, memory_order_release);
	return -1;
}

/* ---- backtraces (producer.h) -------------------------------------------------------- */

/* The module of code address addr: its mapping's start (dladdr()'s dli_fbase) and file
 * name (the executable's own path for the main program), through glibc's
 * _dl_find_object(), the lookup made for unwinders (lock-free, a binary search).
 * dladdr() also looks for the nearest symbol, a walk of the module's whole dynamic
 * symbol table: for libtorch's hundreds of thousands of symbols, milliseconds per
 * PyTorch backtrace.  Returns 0, or -1 when no module holds addr (JIT code). */
#if defined(DLFO_STRUCT_HAS_EH_DBASE)
static char exe_path[4096]; /* the executable's path, read once (module_of()) */
static pthread_once_t exe_once = PTHREAD_ONCE_INIT;

static void read_exe_path(void)
{
	ssize_t n = readlink("/proc/self/exe", exe_path, sizeof(exe_path) - 1);

	exe_path[n > 0 ? n : 0] = '\0';
}
#endif

static int module_of(const void *addr, const void **base, const char **name)
{
#if defined(DLFO_STRUCT_HAS_EH_DBASE)
	struct dl_find_object f;

	if (_dl_find_object((void *)addr, &f) != 0)
		return -1;
	*base = f.dlfo_map_start;
	*name = f.dlfo_link_map ? f.dlfo_link_map->l_name : NULL;
	if (!*name || !**name) { /* the main program */
		pthread_once(&exe_once, read_exe_path);
		*name = exe_path[0] ? exe_path : NULL;
	}
	return 0;
#else
	Dl_info di;

	if (!dladdr(addr, &di))
		return -1;
	*base = di.dli_fbase;
	*name = di.dli_fname;
	return 0;
#endif
}

int gp_frame_of(struct gp_osrt_frame *out, const void *addr)
{
	const void *base;
	const char *name;

	if (module_of(addr, &base, &name) < 0)
		return -1;
	out->ip = (uint64_t)(uintptr_t)addr;
	out->offset = out->ip - (uint64_t)(uintptr_t)base;
	out->module_sid = name ? gp_intern(name) : 0;
	out->reserved = 0;
	return 0;
}

int gp_backtrace(struct gp_osrt_frame *out, int max, const void *const *skip, int nskip)
{
	void *ips[64];
	int n = backtrace(ips, (int)(sizeof(ips) / sizeof(ips[0]))), k = 0;

	for (int i = 0; i < n && k < max; i++) {
		const void *base = NULL;
		const char *name = NULL;
		int j = 0;

		if (module_of(ips[i], &base, &name) <
		    0) { /* JIT or unknown code: kept, unresolved */
			name = NULL;
			j = nskip;
		}
		while (j < nskip && base != skip[j])
			j++;
		if (j < nskip)
			continue;
		out[k].ip = (uint64_t)(uintptr_t)ips[i];
		out[k].offset = name ? out[k].ip - (uint64_t)(uintptr_t)base : out[k].ip;
		out[k].module_sid = name ? gp_intern(name) : 0;
		out[k++].reserved = 0;
	}
	return k;
}
