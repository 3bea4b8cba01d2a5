/*
 * osrt.c - the OS runtime (osrt) collector: LD_PRELOAD wrappers around the blocking
 * libc calls Nsight Systems traces (`nsys profile -t osrt`), one GP_REC_OSRT record
 * (wire.h) per call that took at least $GPROF_CLI_OSRT_THRESHOLD_NS (default 1000 ns).
 *
 * Linked with collectors/producer.c into libgprof-osrt.so; `gprof-cli profile -t osrt`
 * puts the library in LD_PRELOAD, so the exported wrappers below interpose the libc
 * symbols of the same name and forward to the next definition (RTLD_NEXT).
 *
 * Wrapper path (every wrapper):
 *   1. the real function pointer is cached in osrt_fns[]; it is resolved once, in the
 *      constructor or lazily by the first call that finds it NULL (a call made before the
 *      constructor ran, e.g. from another library's constructor).  Symbols that libc
 *      exports in several versions with different behaviour are resolved with dlvsym()
 *      and the default version (pthread_cond_wait@GLIBC_2.3.2: plain dlsym may return the
 *      pre-2.3.2 ABI and break condition variables), falling back to dlsym() elsewhere.
 *      While a thread is inside dlsym() for a symbol, a recursive call of the same wrapper
 *      (an interposed malloc calling back) uses the raw system call where there is one and
 *      fails with ENOSYS otherwise.
 *   2. when the collector is off (no "osrt" in $GPROF_CLI_TRACE, no channel, or before
 *      the constructor finished) the wrapper is a tail call to the real function behind
 *      one predictable branch.
 *   3. otherwise two time-stamp reads bracket the real call: the TSC (rdtsc, ~10 ns) on
 *      x86-64 with an invariant TSC, calibrated against CLOCK_MONOTONIC at start-up, or
 *      CLOCK_MONOTONIC through the vDSO elsewhere.  Only when the call took at least the
 *      threshold does the cold path convert both ticks on the process clock's line
 *      (gp_tsc_ns, the calibration every collector of the process shares; until its
 *      first calibration, read CLOCK_MONOTONIC and convert the duration), and append
 *      one record to the thread's producer buffer (no lock, no syscall, no malloc).
 *      errno is saved right after the real call and restored before returning, and the
 *      return value is returned untouched.  Lock and semaphore waits first try the
 *      non-blocking form (pthread_mutex_trylock, sem_trywait, ...): an acquired lock did
 *      not wait, so it costs no time stamps (only when the threshold is >=
 *      OSRT_TRY_MIN_NS).
 *
 * Nesting (OSRT_API.nestingLevel, as nsys): a thread-local depth counts the traced calls
 * in progress on the thread.  A traced call made while another one is running on the same
 * thread (a signal handler that sleeps inside an interrupted pause(), or a wrapper reached
 * through another interposer) is recorded with the outer depth as its 0-based nesting
 * level.  Calls made by the record path itself (the producer) are never recorded: a
 * thread-local busy flag turns wrappers into pass-throughs while a record is written.
 * libc's own internal calls (fopen -> open, system -> waitpid) bind inside libc and are
 * not seen, as with nsys.
 *
 * exec family: the producer buffers of every thread are flushed (gp_flush_all) before the
 * real exec so nothing recorded so far is lost; the new image inherits LD_PRELOAD and the
 * GPROF_CLI_* variables (put back when the new environment lacks them, see
 * osrt_capture_env) and is traced as its own process.  exec functions are not
 * recorded themselves.  In a vfork() child (same memory as the parent, different pid) the
 * flush is skipped: the buffers belong to the parent, which flushes them itself.
 *
 * fork: the producer reconnects in the child (pthread_atfork); the osrt child handler
 * forgets the string ids interned on the parent's connection.
 */
#undef _FORTIFY_SOURCE

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <cpuid.h>
#include <x86intrin.h>
#endif

#include "collectors/producer.h"

#define OSRT_EXPORT __attribute__((visibility("default")))
#define OSRT_TLS    __attribute__((tls_model("initial-exec"))) __thread

/*
 * The interposed symbols: X(symbol, version) where version is the default version to ask
 * dlvsym() for (NULL: plain dlsym).  Versions checked with objdump -T on glibc 2.36
 * x86-64; on other targets dlvsym fails and dlsym is used.
 */
#define OSRT_SYMBOLS(X)                                                                            \
	X(pthread_mutex_lock, NULL)                                                                \
	X(pthread_mutex_timedlock, NULL)                                                           \
	X(pthread_mutex_clocklock, NULL)                                                           \
	X(pthread_rwlock_rdlock, NULL)                                                             \
	X(pthread_rwlock_wrlock, NULL)                                                             \
	X(pthread_rwlock_timedrdlock, NULL)                                                        \
	X(pthread_rwlock_timedwrlock, NULL)                                                        \
	X(pthread_rwlock_clockrdlock, NULL)                                                        \
	X(pthread_rwlock_clockwrlock, NULL)                                                        \
	X(pthread_cond_wait, "GLIBC_2.3.2")                                                        \
	X(pthread_cond_timedwait, "GLIBC_2.3.2")                                                   \
	X(pthread_cond_clockwait, NULL)                                                            \
	X(pthread_barrier_wait, NULL)                                                              \
	X(pthread_join, NULL)                                                                      \
	X(pthread_timedjoin_np, NULL)                                                              \
	X(pthread_clockjoin_np, NULL)                                                              \
	X(pthread_create, NULL)                                                                    \
	X(sem_wait, NULL)                                                                          \
	X(sem_timedwait, NULL)                                                                     \
	X(sem_clockwait, NULL)                                                                     \
	X(sleep, NULL)                                                                             \
	X(usleep, NULL)                                                                            \
	X(nanosleep, NULL)                                                                         \
	X(clock_nanosleep, "GLIBC_2.17")                                                           \
	X(read, NULL)                                                                              \
	X(write, NULL)                                                                             \
	X(pread, NULL)                                                                             \
	X(pread64, NULL)                                                                           \
	X(pwrite, NULL)                                                                            \
	X(pwrite64, NULL)                                                                          \
	X(readv, NULL)                                                                             \
	X(writev, NULL)                                                                            \
	X(preadv, NULL)                                                                            \
	X(preadv64, NULL)                                                                          \
	X(pwritev, NULL)                                                                           \
	X(pwritev64, NULL)                                                                         \
	X(open, NULL)                                                                              \
	X(open64, NULL)                                                                            \
	X(openat, NULL)                                                                            \
	X(openat64, NULL)                                                                          \
	X(creat, NULL)                                                                             \
	X(creat64, NULL)                                                                           \
	X(close, NULL)                                                                             \
	X(fopen, NULL)                                                                             \
	X(fopen64, NULL)                                                                           \
	X(fdopen, NULL)                                                                            \
	X(freopen, NULL)                                                                           \
	X(fclose, NULL)                                                                            \
	X(fread, NULL)                                                                             \
	X(fwrite, NULL)                                                                            \
	X(fflush, NULL)                                                                            \
	X(fgets, NULL)                                                                             \
	X(getline, NULL)                                                                           \
	X(opendir, NULL)                                                                           \
	X(readdir, NULL)                                                                           \
	X(stat, NULL)                                                                              \
	X(lstat, NULL)                                                                             \
	X(fstat, NULL)                                                                             \
	X(stat64, NULL)                                                                            \
	X(lstat64, NULL)                                                                           \
	X(fstat64, NULL)                                                                           \
	X(unlink, NULL)                                                                            \
	X(rename, NULL)                                                                            \
	X(mkdir, NULL)                                                                             \
	X(ftruncate, NULL)                                                                         \
	X(poll, NULL)                                                                              \
	X(ppoll, NULL)                                                                             \
	X(select, NULL)                                                                            \
	X(pselect, NULL)                                                                           \
	X(epoll_wait, NULL)                                                                        \
	X(epoll_pwait, NULL)                                                                       \
	X(socket, NULL)                                                                            \
	X(socketpair, NULL)                                                                        \
	X(bind, NULL)                                                                              \
	X(listen, NULL)                                                                            \
	X(accept, NULL)                                                                            \
	X(accept4, NULL)                                                                           \
	X(connect, NULL)                                                                           \
	X(shutdown, NULL)                                                                          \
	X(send, NULL)                                                                              \
	X(sendto, NULL)                                                                            \
	X(sendmsg, NULL)                                                                           \
	X(sendmmsg, NULL)                                                                          \
	X(recv, NULL)                                                                              \
	X(recvfrom, NULL)                                                                          \
	X(recvmsg, NULL)                                                                           \
	X(recvmmsg, NULL)                                                                          \
	X(fsync, NULL)                                                                             \
	X(fdatasync, NULL)                                                                         \
	X(sync, NULL)                                                                              \
	X(syncfs, NULL)                                                                            \
	X(msync, NULL)                                                                             \
	X(wait, NULL)                                                                              \
	X(waitpid, NULL)                                                                           \
	X(wait3, NULL)                                                                             \
	X(wait4, NULL)                                                                             \
	X(waitid, NULL)                                                                            \
	X(ioctl, NULL)                                                                             \
	X(fcntl, NULL)                                                                             \
	X(fcntl64, NULL)                                                                           \
	X(flock, NULL)                                                                             \
	X(lockf, NULL)                                                                             \
	X(mmap, NULL)                                                                              \
	X(mmap64, NULL)                                                                            \
	X(munmap, NULL)                                                                            \
	X(sigwait, NULL)                                                                           \
	X(sigwaitinfo, NULL)                                                                       \
	X(sigtimedwait, NULL)                                                                      \
	X(sigsuspend, NULL)                                                                        \
	X(pause, NULL)                                                                             \
	X(system, NULL)                                                                            \
	X(popen, NULL)                                                                             \
	X(pclose, NULL)                                                                            \
	X(pipe, NULL)                                                                              \
	X(pipe2, NULL)                                                                             \
	X(dup, NULL)                                                                               \
	X(dup2, NULL)                                                                              \
	X(dup3, NULL)                                                                              \
	X(execve, NULL)                                                                            \
	X(execv, NULL)                                                                             \
	X(execvp, NULL)                                                                            \
	X(execvpe, NULL)                                                                           \
	X(fexecve, NULL)                                                                           \
	X(posix_spawn, "GLIBC_2.15")                                                               \
	X(posix_spawnp, "GLIBC_2.15")

enum osrt_id {
#define X(sym, ver) OSRT_##sym,
	OSRT_SYMBOLS(X)
#undef X
	    OSRT_N
};

/* One interposed function: the next definition (resolved once) and its name's string id
 * on this process's connection (0 until the first record of the function). */
struct osrt_fn {
	void *real;
	uint32_t sid;
	const char *name;
	const char *version;
};

static struct osrt_fn osrt_fns[OSRT_N] = {
#define X(sym, ver) [OSRT_##sym] = {NULL, 0, #sym, ver},
    OSRT_SYMBOLS(X)
#undef X
};

/* Per-thread state: traced calls in progress (the next call's nesting level), the busy
 * flag of the record path, and the symbol this thread is resolving (recursion guard). */
struct osrt_tls {
	uint32_t depth;
	uint32_t busy;
	int resolving; /* enum osrt_id + 1 while inside dlsym, else 0 */
};
static OSRT_TLS struct osrt_tls osrt_t;

/* Set once the constructor connected; read by every wrapper. */
static int osrt_on;
/* Set with osrt_on when the threshold allows the try-lock fast path. */
#define OSRT_TRY_MIN_NS 500
static int osrt_try;
/* 1 when time stamps are TSC ticks, 0 when CLOCK_MONOTONIC ns. */
static int osrt_use_tsc;
/* Threshold in time-stamp units (ticks or ns). */
static uint64_t osrt_thr;
static uint64_t osrt_thr_ns = 1000;
/* TSC calibration: ns per tick as 32.32 fixed point, refined over the run from the
 * reference pair (osrt_tsc0, osrt_ns0) taken at start-up. */
static uint64_t osrt_mult;
static uint64_t osrt_tsc0, osrt_ns0, osrt_span_ns;
/* getpid() of the process that owns the producer buffers (vfork detection). */
static pid_t osrt_pid;

static uint64_t osrt_ts(void)
{
#if defined(__x86_64__)
	if (likely(osrt_use_tsc))
		return __rdtsc();
#endif
	return gp_now_ns();
}

/* Resolve the next definition of osrt_fns[id]; NULL when not found or on recursion. */
static __attribute__((noinline, cold)) void *osrt_resolve(int id)
{
	struct osrt_fn *f = &osrt_fns[id];
	void *p = NULL;

	if (osrt_t.resolving == id + 1)
		return NULL;
	int prev = osrt_t.resolving;
	osrt_t.resolving = id + 1;
	if (f->version)
		p = dlvsym(RTLD_NEXT, f->name, f->version);
	if (!p)
		p = dlsym(RTLD_NEXT, f->name);
	osrt_t.resolving = prev;
	if (p)
		__atomic_store_n(&f->real, p, __ATOMIC_RELEASE);
	return p;
}

static uint64_t osrt_ticks_to_ns(uint64_t ticks)
{
	uint64_t mult = __atomic_load_n(&osrt_mult, __ATOMIC_RELAXED);

	return (uint64_t)(((unsigned __int128)ticks * mult) >> 32);
}

#if defined(__x86_64__)
static void osrt_clock_pair(uint64_t *tsc, uint64_t *ns);
#endif

/*
 * --osrt-backtrace-threshold (nsys's, default 80000 ns): a call that took at least this
 * long gets its backtrace, a GP_REC_OSRT_CALLCHAIN sent just before its GP_REC_OSRT
 * (OSRT_CALLCHAINS, joined by OSRT_API.callchainId).  Taken here, in the application's
 * thread, after the call returned: glibc's backtrace() (libgcc's unwinder over the
 * modules' .eh_frame, so code without frame pointers unwinds too), frames of this library
 * left out, and frame 0 the libc function itself; modules by dladdr().  The symbols are
 * found by the recorder in the files (core/report_osrt.c).  UINT64_MAX: off.
 */
static uint64_t osrt_bt_thr_ns = 80000;

static __attribute__((noinline, cold)) void osrt_backtrace(struct osrt_fn *f)
{
	Dl_info self;
	const void *skip[1];
	int k = 0;
	struct gp_rec_osrt_callchain *r;
	struct gp_osrt_frame fr[GP_OSRT_FRAMES_MAX];

	skip[0] = dladdr((void *)osrt_backtrace, &self) ? self.dli_fbase : NULL;
	if (f->real && gp_frame_of(&fr[k], f->real) == 0) /* the libc function */
		k++;
	/* then its callers, without this library (the record path and the wrapper) */
	k += gp_backtrace(fr + k, GP_OSRT_FRAMES_MAX - k, skip, 1);
	r = gp_rec_begin(GP_REC_OSRT_CALLCHAIN, sizeof(*r) + (size_t)k * sizeof(fr[0]));
	if (r) {
		r->nframes = (uint32_t)k;
		memcpy(r->frames, fr, (size_t)k * sizeof(fr[0]));
		gp_rec_commit(r);
	}
}

/* The cold path: a call of `id` took [t0, t1) time-stamp units at nesting `lvl` and
 * returned `ret`.  Appends one GP_REC_OSRT; errno is preserved. */
static __attribute__((noinline, cold)) void osrt_record(int id, uint64_t t0, uint64_t t1,
							int64_t ret, uint32_t lvl)
{
	int saved_errno = errno;
	struct osrt_fn *f = &osrt_fns[id];
	uint64_t start_ns, end_ns;

	if ((int64_t)(t1 - t0) < 0) /* TSC not synchronised between cores */
		return;
	osrt_t.busy = 1;
	if (osrt_use_tsc && (end_ns = gp_tsc_ns(t1)) != 0) {
		/* the ticks on the process clock's line: the time every other record has, and
		 * the call's own end (not this later moment, which a preemption may delay) */
		start_ns = gp_tsc_ns(t0);
	} else if (osrt_use_tsc) {
		/* the process clock is not on the TSC (yet: its first calibration comes some ms
		 * after start-up): now on it, and the call's ticks at our own rate */
		end_ns = gp_now_ns();
#if defined(__x86_64__)
		/* refine the rate once the run is twice as long as the last time, from a tight
		 * (tsc, ns) pair: not from (t1, end_ns), which a preemption in between can
		 * set apart by any time (a rate 9x too high under load) */
		if (end_ns - osrt_ns0 > 2 * __atomic_load_n(&osrt_span_ns, __ATOMIC_RELAXED)) {
			uint64_t tc, nc;
			osrt_clock_pair(&tc, &nc);
			if (tc > osrt_tsc0 && nc > osrt_ns0) {
				double m = (double)(nc - osrt_ns0) * 4294967296.0 /
					   (double)(tc - osrt_tsc0);
				__atomic_store_n(&osrt_mult, (uint64_t)m, __ATOMIC_RELAXED);
				__atomic_store_n(&osrt_span_ns, nc - osrt_ns0, __ATOMIC_RELAXED);
			}
		}
#endif
		start_ns = end_ns - osrt_ticks_to_ns(t1 - t0);
	} else {
		start_ns = t0;
		end_ns = t1;
	}
	uint32_t sid = __atomic_load_n(&f->sid, __ATOMIC_RELAXED);
	if (!sid) {
		sid = gp_intern(f->name);
		__atomic_store_n(&f->sid, sid, __ATOMIC_RELAXED);
	}
	if (end_ns - start_ns >= osrt_bt_thr_ns)
		osrt_backtrace(f);
	struct gp_rec_osrt *r = gp_rec_begin(GP_REC_OSRT, sizeof(*r));
	if (r) {
		r->start_ns = start_ns;
		r->end_ns = end_ns;
		r->ret = ret;
		r->name_sid = sid;
		r->nesting = lvl;
		gp_rec_commit(r);
	}
	osrt_t.busy = 0;
	errno = saved_errno;
}

/*
 * The body of a traced wrapper: `fn` is the symbol, `rtype` its return type, `fallback`
 * the statement run when the real function cannot be resolved, and the rest the
 * arguments to forward.
 */
#define OSRT_REAL(fn, fallback)                                                                    \
	__typeof__(&fn) real_ = (__typeof__(&fn))osrt_fns[OSRT_##fn].real;                         \
	if (unlikely(!real_)) {                                                                    \
		real_ = (__typeof__(&fn))osrt_resolve(OSRT_##fn);                                  \
		if (!real_) {                                                                      \
			fallback;                                                                  \
		}                                                                                  \
	}

#define OSRT_BODY(fn, rtype, fallback, ...)                                                        \
	do {                                                                                       \
		OSRT_REAL(fn, fallback);                                                           \
		struct osrt_tls *t_ = &osrt_t;                                                     \
		if (likely(!osrt_on) || unlikely(t_->busy) || !gp_collecting())                    \
			return real_(__VA_ARGS__);                                                 \
		uint32_t lvl_ = t_->depth++;                                                       \
		uint64_t t0_ = osrt_ts();                                                          \
		rtype r_ = real_(__VA_ARGS__);                                                     \
		uint64_t t1_ = osrt_ts();                                                          \
		t_->depth = lvl_;                                                                  \
		if (unlikely(t1_ - t0_ >= osrt_thr))                                               \
			osrt_record(OSRT_##fn, t0_, t1_, (int64_t)(intptr_t)r_, lvl_);             \
		return r_;                                                                         \
	} while (0)

/* Fallbacks: the raw system call, or an ENOSYS failure in the function's convention. */
#define FB_SYS(rtype, ...) return (rtype)syscall(__VA_ARGS__)
#define FB_ERRNO(val)                                                                              \
	do {                                                                                       \
		errno = ENOSYS;                                                                    \
		return val;                                                                        \
	} while (0)
#define FB_PTHREAD return ENOSYS

/* Define the exported wrapper `rtype fn params` whose body is OSRT_BODY(fn, rtype,
 * fallback, args...): one line per wrapped function. */
#define OSRT_WRAP(rtype, fn, params, fallback, ...)                                                \
	OSRT_EXPORT rtype fn params                                                                \
	{                                                                                          \
		OSRT_BODY(fn, rtype, fallback, __VA_ARGS__);                                       \
	}

/* ---- initialisation ---------------------------------------------------------------- */

#if defined(__x86_64__)
/* One (tsc, ns) pair read close together: the TSC mid-point around a CLOCK_MONOTONIC
 * read, retried until the bracket is tight (not preempted in between). */
static void osrt_clock_pair(uint64_t *tsc, uint64_t *ns)
{
	uint64_t best = UINT64_MAX;

	for (int i = 0; i < 8; i++) {
		uint64_t a = __rdtsc();
		uint64_t n = gp_now_ns();
		uint64_t b = __rdtsc();
		if (b - a < best) {
			best = b - a;
			*tsc = a + (b - a) / 2;
			*ns = n;
		}
	}
}

/* Use the TSC when the CPU says it is invariant (constant rate, runs in deep C-states):
 * measure its rate against CLOCK_MONOTONIC over 200 us; later records refine it. */
static void osrt_setup_tsc(void)
{
	unsigned a, b, c, d;
	uint64_t tsc1, ns1;

	if (!__get_cpuid(0x80000007, &a, &b, &c, &d) || !(d & (1u << 8)))
		return;
	osrt_clock_pair(&osrt_tsc0, &osrt_ns0);
	while (gp_now_ns() - osrt_ns0 < 200000)
		;
	osrt_clock_pair(&tsc1, &ns1);
	if (tsc1 <= osrt_tsc0)
		return;
	double ns_per_tick = (double)(ns1 - osrt_ns0) / (double)(tsc1 - osrt_tsc0);
	if (ns_per_tick < 0.01 || ns_per_tick > 100.0)
		return;
	osrt_mult = (uint64_t)(ns_per_tick * 4294967296.0);
	osrt_span_ns = ns1 - osrt_ns0;
	osrt_thr = (uint64_t)((double)osrt_thr_ns / ns_per_tick);
	osrt_use_tsc = 1;
}
#endif

static void osrt_atfork_child(void)
{
	osrt_pid = (pid_t)syscall(SYS_getpid);
	for (int i = 0; i < OSRT_N; i++)
		__atomic_store_n(&osrt_fns[i].sid, 0, __ATOMIC_RELAXED);
}

/* Before an exec replaces the image: send every buffered record (not in a vfork child,
 * whose buffers are the parent's). */
static void osrt_before_exec(void)
{
	if (osrt_on && (pid_t)syscall(SYS_getpid) == osrt_pid) {
		gp_flush_all();
		gp_exec_detach(1);
	}
}

/* The exec returned: it failed, the image goes on recording. */
static void osrt_exec_failed(void)
{
	if (osrt_on && (pid_t)syscall(SYS_getpid) == osrt_pid)
		gp_exec_detach(0);
}

/*
 * The injection environment of this process (LD_PRELOAD, GPROF_CLI_*, the NVTX and CUDA
 * injection paths set by `gprof-cli profile`), captured at start-up.  The strings of the
 * initial environment are never freed (setenv/unsetenv only replace pointers in
 * environ), so the pointers stay valid.  An exec whose environment lost one of them
 * (execve with a fresh envp, `env -i`, unsetenv) gets it back, so the new image is
 * traced too, as nsys traces the whole process tree.
 */
#define OSRT_ENV_MAX 16
static const char *osrt_env[OSRT_ENV_MAX];
static int osrt_nenv;

static void osrt_capture_env(void)
{
	static const char *const keep[] = {"LD_PRELOAD=", "GPROF_CLI_",
					   "NVTX_INJECTION64_PATH=", "CUDA_INJECTION64_PATH="};

	for (char **e = environ; e && *e && osrt_nenv < OSRT_ENV_MAX; e++)
		for (size_t k = 0; k < sizeof(keep) / sizeof(keep[0]); k++)
			if (!strncmp(*e, keep[k], strlen(keep[k]))) {
				osrt_env[osrt_nenv++] = *e;
				break;
			}
}

/* Non-zero when envp defines the variable of the "NAME=value" string var. */
static int osrt_env_has(char *const envp[], const char *var)
{
	size_t n = (size_t)(strchr(var, '=') - var) + 1;

	for (; envp && *envp; envp++)
		if (!strncmp(*envp, var, n))
			return 1;
	return 0;
}

/* Number of captured variables missing from envp (0 when not tracing). */
static int osrt_env_missing(char *const envp[])
{
	int n = 0;

	if (!osrt_on)
		return 0;
	for (int i = 0; i < osrt_nenv; i++)
		n += !osrt_env_has(envp, osrt_env[i]);
	return n;
}

/* Fill out (room for count(envp) + missing + 1) with envp plus the missing variables. */
static char **osrt_env_fill(char **out, char *const envp[])
{
	size_t n = 0;

	for (char *const *e = envp; e && *e; e++)
		out[n++] = *e;
	for (int i = 0; i < osrt_nenv; i++)
		if (!osrt_env_has(envp, osrt_env[i]))
			out[n++] = (char *)osrt_env[i];
	out[n] = NULL;
	return out;
}

static size_t osrt_env_count(char *const envp[])
{
	size_t n = 0;

	while (envp && envp[n])
		n++;
	return n;
}

/* Declare `name`: envp, or on the stack envp completed with the injection variables. */
#define OSRT_ENV(name, envp)                                                                       \
	int miss_##name = osrt_env_missing(envp);                                                  \
	char *buf_##name[miss_##name ? osrt_env_count(envp) + (size_t)miss_##name + 1 : 1];        \
	char *const *name = miss_##name ? osrt_env_fill(buf_##name, envp) : (envp)

static __attribute__((constructor)) void osrt_init(void)
{
	for (int i = 0; i < OSRT_N; i++)
		if (!osrt_fns[i].real)
			osrt_resolve(i);

	if (!gp_traced("osrt", 0))
		return;
	const char *thr = getenv(GP_ENV_OSRT_THRESHOLD);
	if (thr && *thr) {
		char *end;
		unsigned long long v = strtoull(thr, &end, 10);
		if (*end == '\0')
			osrt_thr_ns = v;
	}
	if (gp_producer_init(GP_COLLECTOR_OSRT) != 0)
		return;
	{
		char v[32], *end;
		unsigned long long bt;

		if (gp_option("osrt-backtrace-threshold", v, sizeof(v))) {
			bt = strtoull(v, &end, 10);
			if (*end == '\0')
				osrt_bt_thr_ns = bt ? bt : UINT64_MAX; /* 0: none */
		}
		if (osrt_bt_thr_ns != UINT64_MAX) { /* load libgcc's unwinder now, not in a call */
			void *ips[2];

			backtrace(ips, 2);
		}
	}
	osrt_pid = (pid_t)syscall(SYS_getpid);
	osrt_thr = osrt_thr_ns;
#if defined(__x86_64__)
	osrt_setup_tsc();
#endif
	pthread_atfork(NULL, NULL, osrt_atfork_child);
	osrt_capture_env();
	osrt_try = osrt_thr_ns >= OSRT_TRY_MIN_NS;
	__atomic_store_n(&osrt_on, 1, __ATOMIC_RELEASE);
}

/* ---- threads and synchronisation --------------------------------------------------- */

/*
 * Lock-type waits try the non-blocking form first when tracing with a threshold of at
 * least OSRT_TRY_MIN_NS: an acquired lock did not wait (one CAS cannot take that long),
 * so it is under the threshold and costs no time stamps.  Lower thresholds time every
 * call, as nsys would record them.  The try
 * form takes the same fast path as the blocking one (one CAS for a glibc mutex) and
 * returns the same codes except EBUSY (would block), after which the blocking call runs
 * timed as usual and gives its own result (EDEADLK for an error-checking mutex the
 * caller owns, etc.).
 */
#define OSRT_TRY_PTHREAD(try_call)                                                                 \
	do {                                                                                       \
		if (likely(osrt_try)) {                                                            \
			int tr_ = (try_call);                                                      \
			if (tr_ != EBUSY)                                                          \
				return tr_;                                                        \
		}                                                                                  \
	} while (0)

/* A blocking pthread wrapper `int fn params` that first tries `trylock` (OSRT_TRY_PTHREAD)
 * and times only the blocking call (OSRT_BODY with args...). */
#define OSRT_WRAP_TRY(fn, params, trylock, ...)                                                    \
	OSRT_EXPORT int fn params                                                                  \
	{                                                                                          \
		OSRT_TRY_PTHREAD(trylock);                                                         \
		OSRT_BODY(fn, int, FB_PTHREAD, __VA_ARGS__);                                       \
	}

OSRT_WRAP_TRY(pthread_mutex_lock, (pthread_mutex_t * m), pthread_mutex_trylock(m), m)

OSRT_WRAP_TRY(pthread_mutex_timedlock,
	      (pthread_mutex_t *restrict m, const struct timespec *restrict abstime),
	      pthread_mutex_trylock(m), m, abstime)

OSRT_WRAP_TRY(pthread_mutex_clocklock,
	      (pthread_mutex_t *restrict m, clockid_t clk, const struct timespec *restrict abstime),
	      pthread_mutex_trylock(m), m, clk, abstime)

OSRT_WRAP_TRY(pthread_rwlock_rdlock, (pthread_rwlock_t * l), pthread_rwlock_tryrdlock(l), l)

OSRT_WRAP_TRY(pthread_rwlock_wrlock, (pthread_rwlock_t * l), pthread_rwlock_trywrlock(l), l)

OSRT_WRAP_TRY(pthread_rwlock_timedrdlock,
	      (pthread_rwlock_t *restrict l, const struct timespec *restrict abstime),
	      pthread_rwlock_tryrdlock(l), l, abstime)

OSRT_WRAP_TRY(pthread_rwlock_timedwrlock,
	      (pthread_rwlock_t *restrict l, const struct timespec *restrict abstime),
	      pthread_rwlock_trywrlock(l), l, abstime)

OSRT_WRAP_TRY(pthread_rwlock_clockrdlock,
	      (pthread_rwlock_t *restrict l, clockid_t clk,
	       const struct timespec *restrict abstime),
	      pthread_rwlock_tryrdlock(l), l, clk, abstime)

OSRT_WRAP_TRY(pthread_rwlock_clockwrlock,
	      (pthread_rwlock_t *restrict l, clockid_t clk,
	       const struct timespec *restrict abstime),
	      pthread_rwlock_trywrlock(l), l, clk, abstime)

OSRT_WRAP(int, pthread_cond_wait, (pthread_cond_t *restrict c, pthread_mutex_t *restrict m),
	  FB_PTHREAD, c, m)

OSRT_WRAP(int, pthread_cond_timedwait,
	  (pthread_cond_t *restrict c, pthread_mutex_t *restrict m,
	   const struct timespec *restrict abstime),
	  FB_PTHREAD, c, m, abstime)

OSRT_WRAP(int, pthread_cond_clockwait,
	  (pthread_cond_t *restrict c, pthread_mutex_t *restrict m, clockid_t clk,
	   const struct timespec *restrict abstime),
	  FB_PTHREAD, c, m, clk, abstime)

OSRT_WRAP(int, pthread_barrier_wait, (pthread_barrier_t * b), FB_PTHREAD, b)

OSRT_WRAP(int, pthread_join, (pthread_t th, void **ret), FB_PTHREAD, th, ret)

OSRT_WRAP(int, pthread_timedjoin_np, (pthread_t th, void **ret, const struct timespec *abstime),
	  FB_PTHREAD, th, ret, abstime)

OSRT_WRAP(int, pthread_clockjoin_np,
	  (pthread_t th, void **ret, clockid_t clk, const struct timespec *abstime), FB_PTHREAD, th,
	  ret, clk, abstime)

OSRT_EXPORT int pthread_create(pthread_t *restrict th, const pthread_attr_t *restrict attr,
			       void *(*start)(void *), void *restrict arg)
{
	OSRT_BODY(pthread_create, int, FB_PTHREAD, th, attr, start, arg);
}

/* Semaphores likewise with sem_trywait (errno restored when it would block). */
#define OSRT_TRY_SEM(s)                                                                            \
	do {                                                                                       \
		if (likely(osrt_try)) {                                                            \
			int saved_ = errno;                                                        \
			if (sem_trywait(s) == 0)                                                   \
				return 0;                                                          \
			errno = saved_;                                                            \
		}                                                                                  \
	} while (0)

OSRT_EXPORT int sem_wait(sem_t *s)
{
	OSRT_TRY_SEM(s);
	OSRT_BODY(sem_wait, int, FB_ERRNO(-1), s);
}

OSRT_EXPORT int sem_timedwait(sem_t *restrict s, const struct timespec *restrict abstime)
{
	OSRT_TRY_SEM(s);
	OSRT_BODY(sem_timedwait, int, FB_ERRNO(-1), s, abstime);
}

OSRT_EXPORT int sem_clockwait(sem_t *restrict s, clockid_t clk,
			      const struct timespec *restrict abstime)
{
	OSRT_TRY_SEM(s);
	OSRT_BODY(sem_clockwait, int, FB_ERRNO(-1), s, clk, abstime);
}

/* ---- sleeps --------------------------------------------------------------------------- */

OSRT_WRAP(unsigned int, sleep, (unsigned int seconds), FB_ERRNO(seconds), seconds)

OSRT_WRAP(int, usleep, (useconds_t usec), FB_ERRNO(-1), usec)

OSRT_WRAP(int, nanosleep, (const struct timespec *req, struct timespec *rem),
	  FB_SYS(int, SYS_nanosleep, req, rem), req, rem)

OSRT_WRAP(int, clock_nanosleep,
	  (clockid_t clk, int flags, const struct timespec *req, struct timespec *rem), FB_PTHREAD,
	  clk, flags, req, rem)

/* ---- file descriptors and files ------------------------------------------------------ */

OSRT_WRAP(ssize_t, read, (int fd, void *buf, size_t n), FB_SYS(ssize_t, SYS_read, fd, buf, n), fd,
	  buf, n)

OSRT_WRAP(ssize_t, write, (int fd, const void *buf, size_t n),
	  FB_SYS(ssize_t, SYS_write, fd, buf, n), fd, buf, n)

OSRT_WRAP(ssize_t, pread, (int fd, void *buf, size_t n, off_t off),
	  FB_SYS(ssize_t, SYS_pread64, fd, buf, n, off), fd, buf, n, off)

OSRT_WRAP(ssize_t, pread64, (int fd, void *buf, size_t n, off64_t off),
	  FB_SYS(ssize_t, SYS_pread64, fd, buf, n, off), fd, buf, n, off)

OSRT_WRAP(ssize_t, pwrite, (int fd, const void *buf, size_t n, off_t off),
	  FB_SYS(ssize_t, SYS_pwrite64, fd, buf, n, off), fd, buf, n, off)

OSRT_WRAP(ssize_t, pwrite64, (int fd, const void *buf, size_t n, off64_t off),
	  FB_SYS(ssize_t, SYS_pwrite64, fd, buf, n, off), fd, buf, n, off)

OSRT_WRAP(ssize_t, readv, (int fd, const struct iovec *iov, int cnt),
	  FB_SYS(ssize_t, SYS_readv, fd, iov, cnt), fd, iov, cnt)

OSRT_WRAP(ssize_t, writev, (int fd, const struct iovec *iov, int cnt),
	  FB_SYS(ssize_t, SYS_writev, fd, iov, cnt), fd, iov, cnt)

OSRT_WRAP(ssize_t, preadv, (int fd, const struct iovec *iov, int cnt, off_t off), FB_ERRNO(-1), fd,
	  iov, cnt, off)

OSRT_WRAP(ssize_t, preadv64, (int fd, const struct iovec *iov, int cnt, off64_t off), FB_ERRNO(-1),
	  fd, iov, cnt, off)

OSRT_WRAP(ssize_t, pwritev, (int fd, const struct iovec *iov, int cnt, off_t off), FB_ERRNO(-1), fd,
	  iov, cnt, off)

OSRT_WRAP(ssize_t, pwritev64, (int fd, const struct iovec *iov, int cnt, off64_t off), FB_ERRNO(-1),
	  fd, iov, cnt, off)

/* open(2) reads its third argument only when the flags create a file. */
#define OSRT_OPEN_MODE(flags, mode)                                                                \
	do {                                                                                       \
		if ((flags) & (O_CREAT | __O_TMPFILE)) {                                           \
			va_list ap_;                                                               \
			va_start(ap_, flags);                                                      \
			mode = (mode_t)va_arg(ap_, int);                                           \
			va_end(ap_);                                                               \
		}                                                                                  \
	} while (0)

OSRT_EXPORT int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	OSRT_OPEN_MODE(flags, mode);
	OSRT_BODY(open, int, FB_SYS(int, SYS_openat, AT_FDCWD, path, flags, mode), path, flags,
		  mode);
}

OSRT_EXPORT int open64(const char *path, int flags, ...)
{
	mode_t mode = 0;
	OSRT_OPEN_MODE(flags, mode);
	OSRT_BODY(open64, int, FB_SYS(int, SYS_openat, AT_FDCWD, path, flags | O_LARGEFILE, mode),
		  path, flags, mode);
}

OSRT_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	OSRT_OPEN_MODE(flags, mode);
	OSRT_BODY(openat, int, FB_SYS(int, SYS_openat, dirfd, path, flags, mode), dirfd, path,
		  flags, mode);
}

OSRT_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	OSRT_OPEN_MODE(flags, mode);
	OSRT_BODY(openat64, int, FB_SYS(int, SYS_openat, dirfd, path, flags | O_LARGEFILE, mode),
		  dirfd, path, flags, mode);
}

OSRT_EXPORT int creat(const char *path, mode_t mode)
{
	OSRT_BODY(creat, int,
		  FB_SYS(int, SYS_openat, AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode), path,
		  mode);
}

OSRT_EXPORT int creat64(const char *path, mode_t mode)
{
	OSRT_BODY(creat64, int,
		  FB_SYS(int, SYS_openat, AT_FDCWD, path,
			 O_CREAT | O_WRONLY | O_TRUNC | O_LARGEFILE, mode),
		  path, mode);
}

OSRT_WRAP(int, close, (int fd), FB_SYS(int, SYS_close, fd), fd)

OSRT_WRAP(FILE *, fopen, (const char *restrict path, const char *restrict mode), FB_ERRNO(NULL),
	  path, mode)

OSRT_WRAP(FILE *, fopen64, (const char *restrict path, const char *restrict mode), FB_ERRNO(NULL),
	  path, mode)

OSRT_WRAP(FILE *, fdopen, (int fd, const char *mode), FB_ERRNO(NULL), fd, mode)

OSRT_WRAP(FILE *, freopen,
	  (const char *restrict path, const char *restrict mode, FILE *restrict stream),
	  FB_ERRNO(NULL), path, mode, stream)

OSRT_WRAP(int, fclose, (FILE * stream), FB_ERRNO(EOF), stream)

OSRT_WRAP(size_t, fread, (void *restrict ptr, size_t size, size_t n, FILE *restrict stream),
	  FB_ERRNO(0), ptr, size, n, stream)

OSRT_WRAP(size_t, fwrite, (const void *restrict ptr, size_t size, size_t n, FILE *restrict stream),
	  FB_ERRNO(0), ptr, size, n, stream)

OSRT_WRAP(int, fflush, (FILE * stream), FB_ERRNO(EOF), stream)

OSRT_WRAP(char *, fgets, (char *restrict s, int n, FILE *restrict stream), FB_ERRNO(NULL), s, n,
	  stream)

OSRT_WRAP(ssize_t, getline, (char **restrict line, size_t *restrict n, FILE *restrict stream),
	  FB_ERRNO(-1), line, n, stream)

OSRT_WRAP(DIR *, opendir, (const char *path), FB_ERRNO(NULL), path)

OSRT_WRAP(struct dirent *, readdir, (DIR * dir), FB_ERRNO(NULL), dir)

OSRT_WRAP(int, stat, (const char *restrict path, struct stat *restrict st), FB_ERRNO(-1), path, st)

OSRT_WRAP(int, lstat, (const char *restrict path, struct stat *restrict st), FB_ERRNO(-1), path, st)

OSRT_WRAP(int, fstat, (int fd, struct stat *st), FB_ERRNO(-1), fd, st)

OSRT_WRAP(int, stat64, (const char *restrict path, struct stat64 *restrict st), FB_ERRNO(-1), path,
	  st)

OSRT_WRAP(int, lstat64, (const char *restrict path, struct stat64 *restrict st), FB_ERRNO(-1), path,
	  st)

OSRT_WRAP(int, fstat64, (int fd, struct stat64 *st), FB_ERRNO(-1), fd, st)

OSRT_WRAP(int, unlink, (const char *path), FB_SYS(int, SYS_unlinkat, AT_FDCWD, path, 0), path)

OSRT_WRAP(int, rename, (const char *from, const char *to),
	  FB_SYS(int, SYS_renameat, AT_FDCWD, from, AT_FDCWD, to), from, to)

OSRT_WRAP(int, mkdir, (const char *path, mode_t mode),
	  FB_SYS(int, SYS_mkdirat, AT_FDCWD, path, mode), path, mode)

OSRT_WRAP(int, ftruncate, (int fd, off_t len), FB_SYS(int, SYS_ftruncate, fd, len), fd, len)

OSRT_WRAP(int, fsync, (int fd), FB_SYS(int, SYS_fsync, fd), fd)

OSRT_WRAP(int, fdatasync, (int fd), FB_SYS(int, SYS_fdatasync, fd), fd)

OSRT_EXPORT void sync(void)
{
	OSRT_REAL(sync, syscall(SYS_sync); return );
	struct osrt_tls *t = &osrt_t;
	if (likely(!osrt_on) || unlikely(t->busy) || !gp_collecting()) {
		real_();
		return;
	}
	uint32_t lvl = t->depth++;
	uint64_t t0 = osrt_ts();
	real_();
	uint64_t t1 = osrt_ts();
	t->depth = lvl;
	if (unlikely(t1 - t0 >= osrt_thr))
		osrt_record(OSRT_sync, t0, t1, 0, lvl);
}

OSRT_WRAP(int, syncfs, (int fd), FB_SYS(int, SYS_syncfs, fd), fd)

OSRT_WRAP(int, msync, (void *addr, size_t len, int flags), FB_SYS(int, SYS_msync, addr, len, flags),
	  addr, len, flags)

/* The one optional pointer-sized argument of ioctl/fcntl (read whether or not the
 * request has one, as glibc does) into `void *var`; `last` is the last named parameter. */
#define OSRT_VA_PTR(var, last)                                                                     \
	void *var;                                                                                 \
	do {                                                                                       \
		va_list ap_;                                                                       \
		va_start(ap_, last);                                                               \
		var = va_arg(ap_, void *);                                                         \
		va_end(ap_);                                                                       \
	} while (0)

OSRT_EXPORT int ioctl(int fd, unsigned long req, ...)
{
	OSRT_VA_PTR(arg, req);
	OSRT_BODY(ioctl, int, FB_SYS(int, SYS_ioctl, fd, req, arg), fd, req, arg);
}

OSRT_EXPORT int fcntl(int fd, int cmd, ...)
{
	OSRT_VA_PTR(arg, cmd);
	OSRT_BODY(fcntl, int, FB_SYS(int, SYS_fcntl, fd, cmd, arg), fd, cmd, arg);
}

OSRT_EXPORT int fcntl64(int fd, int cmd, ...)
{
	OSRT_VA_PTR(arg, cmd);
	OSRT_BODY(fcntl64, int, FB_SYS(int, SYS_fcntl, fd, cmd, arg), fd, cmd, arg);
}

OSRT_WRAP(int, flock, (int fd, int op), FB_SYS(int, SYS_flock, fd, op), fd, op)

OSRT_WRAP(int, lockf, (int fd, int cmd, off_t len), FB_ERRNO(-1), fd, cmd, len)

OSRT_WRAP(void *, mmap, (void *addr, size_t len, int prot, int flags, int fd, off_t off),
	  FB_SYS(void *, SYS_mmap, addr, len, prot, flags, fd, off), addr, len, prot, flags, fd,
	  off)

OSRT_WRAP(void *, mmap64, (void *addr, size_t len, int prot, int flags, int fd, off64_t off),
	  FB_SYS(void *, SYS_mmap, addr, len, prot, flags, fd, off), addr, len, prot, flags, fd,
	  off)

OSRT_WRAP(int, munmap, (void *addr, size_t len), FB_SYS(int, SYS_munmap, addr, len), addr, len)

OSRT_WRAP(int, pipe, (int fds[2]), FB_SYS(int, SYS_pipe2, fds, 0), fds)

OSRT_WRAP(int, pipe2, (int fds[2], int flags), FB_SYS(int, SYS_pipe2, fds, flags), fds, flags)

OSRT_WRAP(int, dup, (int fd), FB_SYS(int, SYS_dup, fd), fd)

OSRT_WRAP(int, dup2, (int fd, int fd2), FB_SYS(int, SYS_dup3, fd, fd2, 0), fd, fd2)

OSRT_WRAP(int, dup3, (int fd, int fd2, int flags), FB_SYS(int, SYS_dup3, fd, fd2, flags), fd, fd2,
	  flags)

/* ---- polling ---------------------------------------------------------------------------- */

OSRT_WRAP(int, poll, (struct pollfd * fds, nfds_t n, int timeout), FB_ERRNO(-1), fds, n, timeout)

OSRT_WRAP(int, ppoll,
	  (struct pollfd * fds, nfds_t n, const struct timespec *timeout, const sigset_t *mask),
	  FB_ERRNO(-1), fds, n, timeout, mask)

OSRT_WRAP(int, select,
	  (int n, fd_set *restrict r, fd_set *restrict w, fd_set *restrict e,
	   struct timeval *restrict timeout),
	  FB_ERRNO(-1), n, r, w, e, timeout)

OSRT_WRAP(int, pselect,
	  (int n, fd_set *restrict r, fd_set *restrict w, fd_set *restrict e,
	   const struct timespec *restrict timeout, const sigset_t *restrict mask),
	  FB_ERRNO(-1), n, r, w, e, timeout, mask)

OSRT_WRAP(int, epoll_wait, (int epfd, struct epoll_event *ev, int max, int timeout), FB_ERRNO(-1),
	  epfd, ev, max, timeout)

OSRT_WRAP(int, epoll_pwait,
	  (int epfd, struct epoll_event *ev, int max, int timeout, const sigset_t *mask),
	  FB_ERRNO(-1), epfd, ev, max, timeout, mask)

/* ---- sockets ------------------------------------------------------------------------------ */

OSRT_WRAP(int, socket, (int domain, int type, int proto),
	  FB_SYS(int, SYS_socket, domain, type, proto), domain, type, proto)

OSRT_WRAP(int, socketpair, (int domain, int type, int proto, int sv[2]),
	  FB_SYS(int, SYS_socketpair, domain, type, proto, sv), domain, type, proto, sv)

OSRT_WRAP(int, bind, (int fd, __CONST_SOCKADDR_ARG addr, socklen_t len), FB_ERRNO(-1), fd, addr,
	  len)

OSRT_WRAP(int, listen, (int fd, int backlog), FB_SYS(int, SYS_listen, fd, backlog), fd, backlog)

OSRT_WRAP(int, accept, (int fd, __SOCKADDR_ARG addr, socklen_t *restrict len), FB_ERRNO(-1), fd,
	  addr, len)

OSRT_WRAP(int, accept4, (int fd, __SOCKADDR_ARG addr, socklen_t *restrict len, int flags),
	  FB_ERRNO(-1), fd, addr, len, flags)

OSRT_WRAP(int, connect, (int fd, __CONST_SOCKADDR_ARG addr, socklen_t len), FB_ERRNO(-1), fd, addr,
	  len)

OSRT_WRAP(int, shutdown, (int fd, int how), FB_SYS(int, SYS_shutdown, fd, how), fd, how)

OSRT_WRAP(ssize_t, send, (int fd, const void *buf, size_t n, int flags),
	  FB_SYS(ssize_t, SYS_sendto, fd, buf, n, flags, NULL, 0), fd, buf, n, flags)

OSRT_WRAP(ssize_t, sendto,
	  (int fd, const void *buf, size_t n, int flags, __CONST_SOCKADDR_ARG addr, socklen_t alen),
	  FB_ERRNO(-1), fd, buf, n, flags, addr, alen)

OSRT_WRAP(ssize_t, sendmsg, (int fd, const struct msghdr *msg, int flags),
	  FB_SYS(ssize_t, SYS_sendmsg, fd, msg, flags), fd, msg, flags)

OSRT_WRAP(int, sendmmsg, (int fd, struct mmsghdr *vec, unsigned int n, int flags),
	  FB_SYS(int, SYS_sendmmsg, fd, vec, n, flags), fd, vec, n, flags)

OSRT_WRAP(ssize_t, recv, (int fd, void *buf, size_t n, int flags),
	  FB_SYS(ssize_t, SYS_recvfrom, fd, buf, n, flags, NULL, NULL), fd, buf, n, flags)

OSRT_WRAP(ssize_t, recvfrom,
	  (int fd, void *restrict buf, size_t n, int flags, __SOCKADDR_ARG addr,
	   socklen_t *restrict alen),
	  FB_ERRNO(-1), fd, buf, n, flags, addr, alen)

OSRT_WRAP(ssize_t, recvmsg, (int fd, struct msghdr *msg, int flags),
	  FB_SYS(ssize_t, SYS_recvmsg, fd, msg, flags), fd, msg, flags)

OSRT_WRAP(int, recvmmsg,
	  (int fd, struct mmsghdr *vec, unsigned int n, int flags, struct timespec *timeout),
	  FB_SYS(int, SYS_recvmmsg, fd, vec, n, flags, timeout), fd, vec, n, flags, timeout)

/* ---- processes and signals -------------------------------------------------------------- */

OSRT_WRAP(pid_t, wait, (int *status), FB_SYS(pid_t, SYS_wait4, -1, status, 0, NULL), status)

OSRT_WRAP(pid_t, waitpid, (pid_t pid, int *status, int options),
	  FB_SYS(pid_t, SYS_wait4, pid, status, options, NULL), pid, status, options)

OSRT_WRAP(pid_t, wait3, (int *status, int options, struct rusage *ru),
	  FB_SYS(pid_t, SYS_wait4, -1, status, options, ru), status, options, ru)

OSRT_WRAP(pid_t, wait4, (pid_t pid, int *status, int options, struct rusage *ru),
	  FB_SYS(pid_t, SYS_wait4, pid, status, options, ru), pid, status, options, ru)

OSRT_WRAP(int, waitid, (idtype_t type, id_t id, siginfo_t *info, int options),
	  FB_SYS(int, SYS_waitid, type, id, info, options, NULL), type, id, info, options)

OSRT_WRAP(int, sigwait, (const sigset_t *restrict set, int *restrict sig), FB_PTHREAD, set, sig)

OSRT_WRAP(int, sigwaitinfo, (const sigset_t *restrict set, siginfo_t *restrict info), FB_ERRNO(-1),
	  set, info)

OSRT_WRAP(int, sigtimedwait,
	  (const sigset_t *restrict set, siginfo_t *restrict info,
	   const struct timespec *restrict timeout),
	  FB_ERRNO(-1), set, info, timeout)

OSRT_WRAP(int, sigsuspend, (const sigset_t *set), FB_ERRNO(-1), set)

OSRT_WRAP(int, pause, (void), FB_ERRNO(-1))

OSRT_WRAP(int, system, (const char *cmd), FB_ERRNO(-1), cmd)

OSRT_WRAP(FILE *, popen, (const char *cmd, const char *mode), FB_ERRNO(NULL), cmd, mode)

OSRT_WRAP(int, pclose, (FILE * stream), FB_ERRNO(-1), stream)

/* ---- exec family: flush, then replace the image (not recorded) -------------------------- */

OSRT_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	OSRT_REAL(execve, FB_SYS(int, SYS_execve, path, argv, envp));
	OSRT_ENV(env, envp);
	osrt_before_exec();
	int rc_ = real_(path, argv, env);
	osrt_exec_failed();
	return rc_;
}

OSRT_EXPORT int execv(const char *path, char *const argv[])
{
	OSRT_REAL(execv, FB_SYS(int, SYS_execve, path, argv, environ));
	if (osrt_env_missing(environ))
		return execve(path, argv, environ);
	osrt_before_exec();
	int rc_ = real_(path, argv);
	osrt_exec_failed();
	return rc_;
}

OSRT_EXPORT int execvp(const char *file, char *const argv[])
{
	OSRT_REAL(execvp, FB_ERRNO(-1));
	if (osrt_env_missing(environ))
		return execvpe(file, argv, environ);
	osrt_before_exec();
	int rc_ = real_(file, argv);
	osrt_exec_failed();
	return rc_;
}

OSRT_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	OSRT_REAL(execvpe, FB_ERRNO(-1));
	OSRT_ENV(env, envp);
	osrt_before_exec();
	int rc_ = real_(file, argv, env);
	osrt_exec_failed();
	return rc_;
}

OSRT_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	OSRT_REAL(fexecve, FB_ERRNO(-1));
	OSRT_ENV(env, envp);
	osrt_before_exec();
	int rc_ = real_(fd, argv, env);
	osrt_exec_failed();
	return rc_;
}

/* execl/execlp/execle: gather the variadic argument list into an array on the stack
 * (no malloc) and call the array form. */
#define OSRT_GATHER_ARGS(arg0, argv, ap, envp_out)                                                 \
	size_t argc_ = 1;                                                                          \
	va_list ap;                                                                                \
	va_start(ap, arg0);                                                                        \
	while (va_arg(ap, const char *))                                                           \
		argc_++;                                                                           \
	va_end(ap);                                                                                \
	const char *argv[argc_ + 1];                                                               \
	argv[0] = arg0;                                                                            \
	va_start(ap, arg0);                                                                        \
	for (size_t i_ = 1; i_ <= argc_; i_++)                                                     \
		argv[i_] = va_arg(ap, const char *);                                               \
	envp_out;                                                                                  \
	va_end(ap)

OSRT_EXPORT int execl(const char *path, const char *arg, ...)
{
	OSRT_GATHER_ARGS(arg, argv, ap, (void)0);
	return execv(path, (char *const *)argv);
}

OSRT_EXPORT int execlp(const char *file, const char *arg, ...)
{
	OSRT_GATHER_ARGS(arg, argv, ap, (void)0);
	return execvp(file, (char *const *)argv);
}

OSRT_EXPORT int execle(const char *path, const char *arg, ...)
{
	char *const *envp;
	OSRT_GATHER_ARGS(arg, argv, ap, envp = va_arg(ap, char *const *));
	return execve(path, (char *const *)argv, envp);
}

/* posix_spawn: not recorded (nsys does not either); only the environment is completed so
 * the spawned program is traced.  GLIBC_2.15 is the current version on x86-64 (the
 * GLIBC_2.2.5 one reports exec failures differently). */
OSRT_EXPORT int posix_spawn(pid_t *restrict pid, const char *restrict path,
			    const posix_spawn_file_actions_t *fa,
			    const posix_spawnattr_t *restrict attr, char *const argv[restrict],
			    char *const envp[restrict])
{
	OSRT_REAL(posix_spawn, FB_PTHREAD);
	OSRT_ENV(env, envp);
	return real_(pid, path, fa, attr, argv, env);
}

OSRT_EXPORT int posix_spawnp(pid_t *restrict pid, const char *restrict file,
			     const posix_spawn_file_actions_t *fa,
			     const posix_spawnattr_t *restrict attr, char *const argv[restrict],
			     char *const envp[restrict])
{
	OSRT_REAL(posix_spawnp, FB_PTHREAD);
	OSRT_ENV(env, envp);
	return real_(pid, file, fa, attr, argv, env);
}
