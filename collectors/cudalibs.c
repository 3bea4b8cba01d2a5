/*
 * cudalibs.c - the cuBLAS and cuDNN collector (nsys -t cublas, -t cudnn): LD_PRELOAD
 * wrappers around every public function of libcublas, libcublasLt and libcudnn, one NVTX
 * push/pop range per call in the domain "cuBLAS" or "cuDNN" whose message is the
 * function's exported name (cublasCreate_v2, cublasLtMatmul, cudnnBackendExecute).
 *
 * What nsys does, and why this follows it: nsys 2025.3.1 `profile -t cublas,cudnn` and
 * `export --type sqlite` write no CUBLAS_EVENTS or CUDNN_EVENTS table.  Its cuBLAS calls are
 * NVTX_EVENTS rows: one NvtxDomainCreate (eventType 75, text 'cuBLAS') and one push/pop
 * range (eventType 59) per call with textId -> StringIds (the function name), that
 * domainId, the calling thread's globalTid and start/end in ns.  They do not come from
 * NVTX calls inside the libraries (gprof-cli's own NVTX injection receives none from
 * them): nsys intercepts the API.  So does this collector, and it writes the same rows
 * through the NVTX record path (nvtx_emit.h), so `stats -r nvtx_sum` lists them as
 * "cuBLAS:cublasSgemm_v2" as nsys does.
 *
 * Mechanism.  `gprof-cli profile` puts libgprof-cudalibs.so in LD_PRELOAD only when -t
 * names cublas or cudnn (no cost otherwise).  A preloaded library is in the global
 * lookup scope, which the dynamic linker searches before an object's own dependencies,
 * so calls from libraries loaded late with dlopen(RTLD_LOCAL) (PyTorch's extension
 * modules, which pull in libcublas and libcudnn as their dependencies) bind to these
 * wrappers too.  The wrappers are generated from the real prototypes
 * (scripts/gen-cudalibs.py -> cudalibs_gen.h) and carry the symbol version of the library
 * they stand for (cudalibs.map: cublasSgemm_v2@@libcublas.so.13): a caller linked against
 * another major version (cublasSgemm_v2@libcublas.so.12) is not bound to them, so a
 * wrapper never forwards a call with the wrong prototype.  The real function is looked up
 * with dlopen(soname, RTLD_NOLOAD) + dlvsym(handle, name, soname): RTLD_NEXT cannot see an
 * object loaded with RTLD_LOCAL.  The NOLOAD dlopen adds a reference that is never
 * dropped, so a traced library is never unloaded.
 *
 * Wrapper path (GL_WRAP): load the cached real pointer (resolved once, on the first call;
 * the first call of a library whose domain is traced also connects the producer); when
 * the library is not traced, the call is nested in a traced call on this thread, or no
 * capture range is open, tail-call the real function.  Otherwise read the clock, call,
 * read the clock again and append one GP_REC_NVTX_EVENT to the thread's producer buffer
 * (no lock, no syscall, no allocation; the function's name is interned once).
 *
 * What is not seen: calls a library makes inside itself (all three are linked
 * -Bsymbolic) or into its own sub-libraries (libcudnn.so.9 dlopens libcudnn_ops/cnn/adv
 * and binds their symbols by version libcudnn_ops.so.9, not libcudnn.so.9); calls into
 * libcublasLt made by libcublas while it runs a traced call (nested: only the outermost
 * call is recorded, as an application-level API trace); functions reached through
 * dlsym(handle, name) on the library's own handle; callers bound to another major
 * version than the one generated (cuBLAS 13, cuDNN 9).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "collectors/nvtx_emit.h"
#include "collectors/producer.h"

#define GL_EXPORT __attribute__((visibility("default")))

/* NVTX domains: their handle on this connection, name and -t value. */
enum gl_dom {
	GL_DOM_CUBLAS = 1, /* libcublas + libcublasLt */
	GL_DOM_CUDNN = 2,  /* libcudnn */
	GL_N_DOMS
};

static const struct {
	const char *name;  /* NVTX domain name, as nsys writes it */
	const char *trace; /* -t value ($GPROF_CLI_TRACE) */
} gl_doms[GL_N_DOMS] = {
    [GL_DOM_CUBLAS] = {"cuBLAS", "cublas"},
    [GL_DOM_CUDNN] = {"cuDNN", "cudnn"},
};

/* A wrapped library (cudalibs_gen.h gl_libs[]). */
struct gl_lib {
	const char *soname; /* also the symbol version of its functions */
	int domain;	    /* enum gl_dom */
};

/* A wrapped function (cudalibs_gen.h gl_fns[]). */
struct gl_fn {
	const char *name; /* exported name = the range's message */
	int lib;	  /* enum gl_lib_id */
};

#include "collectors/cudalibs_gen.h" /* gl_libs[GL_N_LIBS], gl_fns[GL_N_FNS] */

static void *gl_resolve(int id);
static void gl_record(int id, uint64_t t0);

/* Resolved real functions, by function index (written once, read by every call). */
static void *gl_real[GL_N_FNS];
/* 1 when calls of library i are recorded (its domain is traced and the producer is up). */
static int gl_on[GL_N_LIBS];
/* A traced call is running on this thread: calls it makes are not recorded. */
static __thread int gl_busy __attribute__((tls_model("initial-exec")));

/* The body of the wrapper `fn` (function index id, library lib): see the file comment.
 * `fail` is returned when the real function cannot be found (cudalibs_gen.h: the
 * library's "not initialized" status, else 0). */
#define GL_WRAP(rtype, id, lib, fn, params, args, fail)                                            \
	GL_EXPORT rtype fn params                                                                  \
	{                                                                                          \
		__typeof__(&fn) real_ =                                                            \
		    (__typeof__(&fn))__atomic_load_n(&gl_real[id], __ATOMIC_ACQUIRE);              \
		if (unlikely(!real_) && !(real_ = (__typeof__(&fn))gl_resolve(id)))                \
			return (rtype){fail};                                                      \
		if (likely(!gl_on[lib]) || gl_busy || !gp_collecting())                            \
			return real_ args;                                                         \
		gl_busy = 1;                                                                       \
		uint64_t t0_ = gp_now_ns();                                                        \
		rtype r_ = real_ args;                                                             \
		gl_record(id, t0_);                                                                \
		gl_busy = 0;                                                                       \
		return r_;                                                                         \
	}

#define GL_WRAP_VOID(id, lib, fn, params, args)                                                    \
	GL_EXPORT void fn params                                                                   \
	{                                                                                          \
		__typeof__(&fn) real_ =                                                            \
		    (__typeof__(&fn))__atomic_load_n(&gl_real[id], __ATOMIC_ACQUIRE);              \
		if (unlikely(!real_) && !(real_ = (__typeof__(&fn))gl_resolve(id)))                \
			return;                                                                    \
		if (likely(!gl_on[lib]) || gl_busy || !gp_collecting()) {                          \
			real_ args;                                                                \
			return;                                                                    \
		}                                                                                  \
		gl_busy = 1;                                                                       \
		uint64_t t0_ = gp_now_ns();                                                        \
		real_ args;                                                                        \
		gl_record(id, t0_);                                                                \
		gl_busy = 0;                                                                       \
	}

#include "collectors/cudalibs_gen.h" /* the wrappers */

/* string id of each function's name on this connection (0 = not interned yet) */
static uint32_t gl_sid[GL_N_FNS];
/* dlopen(RTLD_NOLOAD) handle of each library once it was found */
static void *gl_handle[GL_N_LIBS];
/* domain d is traced ($GPROF_CLI_TRACE, read by the constructor) */
static int gl_want[GL_N_DOMS];
/* the domain's NvtxDomainCreate record went out on this connection */
static int gl_dom_sent[GL_N_DOMS];
/* the producer: 0 not tried, 1 connected, -1 not under gprof-cli / failed */
static int gl_state;

/* One line on stderr with the raw write system call (osrt must not see it as the
 * application's write). */
static void gl_say(const char *a, const char *b, const char *c)
{
	const char *parts[] = {"gprof-cli: ", a, b, c, "\n"};

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		if (parts[i])
			(void)!syscall(SYS_write, 2, parts[i], strlen(parts[i]));
}

static void gl_atfork_child(void)
{
	/* the child's connection is new: announce the domains on it again (string ids
	 * stay valid, the producer replays its table) */
	for (int d = 0; d < GL_N_DOMS; d++)
		__atomic_store_n(&gl_dom_sent[d], 0, __ATOMIC_RELAXED);
}

/* Connect the producer once per process (the first call of a traced library). */
static int gl_connect(void)
{
	static int lock;
	int s = __atomic_load_n(&gl_state, __ATOMIC_ACQUIRE);

	if (s)
		return s;
	while (__atomic_exchange_n(&lock, 1, __ATOMIC_ACQUIRE))
		;
	s = __atomic_load_n(&gl_state, __ATOMIC_RELAXED);
	if (!s) {
		s = gp_producer_init(GP_COLLECTOR_CUDALIBS) == 0 ? 1 : -1;
		if (s == 1)
			pthread_atfork(NULL, NULL, gl_atfork_child);
		__atomic_store_n(&gl_state, s, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&lock, 0, __ATOMIC_RELEASE);
	return s;
}

/* Find the real function `id` in its library (already loaded: its caller depends on it)
 * and cache it; on the library's first call, start recording it when its domain is
 * traced.  NULL (after one line on stderr) when the library or the function is missing. */
static __attribute__((noinline, cold)) void *gl_resolve(int id)
{
	const struct gl_fn *f = &gl_fns[id];
	const struct gl_lib *l = &gl_libs[f->lib];
	void *h = __atomic_load_n(&gl_handle[f->lib], __ATOMIC_ACQUIRE);
	void *p = NULL;

	if (!h) {
		h = dlopen(l->soname, RTLD_NOLOAD | RTLD_NOW);
		if (h)
			__atomic_store_n(&gl_handle[f->lib], h, __ATOMIC_RELEASE);
	}
	if (h) {
		p = dlvsym(h, f->name, l->soname);
		if (!p) /* a build of the library without symbol versions */
			p = dlsym(h, f->name);
	}
	if (!p) {
		gl_say(f->name, h ? ": not exported by " : ": library not loaded: ", l->soname);
		return NULL;
	}
	__atomic_store_n(&gl_real[id], p, __ATOMIC_RELEASE);
	if (gl_want[l->domain] && !__atomic_load_n(&gl_on[f->lib], __ATOMIC_RELAXED) &&
	    gl_connect() == 1)
		__atomic_store_n(&gl_on[f->lib], 1, __ATOMIC_RELEASE);
	return p;
}

/* A traced call of function `id` that started at t0 has returned: one push/pop range. */
static __attribute__((noinline)) void gl_record(int id, uint64_t t0)
{
	uint64_t end = gp_now_ns();
	int dom = gl_libs[gl_fns[id].lib].domain;
	uint32_t sid = __atomic_load_n(&gl_sid[id], __ATOMIC_RELAXED);

	if (unlikely(!__atomic_load_n(&gl_dom_sent[dom], __ATOMIC_RELAXED)) &&
	    !__atomic_exchange_n(&gl_dom_sent[dom], 1, __ATOMIC_ACQ_REL))
		gp_nvtx_emit_domain(t0, (uint64_t)dom, gp_intern(gl_doms[dom].name), 0);
	if (unlikely(!sid)) {
		sid = gp_intern(gl_fns[id].name);
		__atomic_store_n(&gl_sid[id], sid, __ATOMIC_RELAXED);
	}
	if (unlikely(end < t0)) /* clock switch-over noise */
		end = t0;
	struct gp_nvtx_entry e = {
	    .start_ns = t0, .sid = sid, .flags = GP_NVTX_PUSHPOP | GP_NVTX_TEXT_REGISTERED};
	gp_nvtx_emit(GP_REC_NVTX_EVENT, &e, end, (uint64_t)dom, 0, 0, 0);
}

/* Which domains are traced: read once, before the application runs. */
static __attribute__((constructor)) void gl_init(void)
{
	for (int d = 1; d < GL_N_DOMS; d++)
		gl_want[d] = gp_traced(gl_doms[d].trace, 0);
}
