/*
 * sampler.c - CPU sampling of the application's process tree with perf_event_open(2),
 * unwound and symbolised with elfutils' libdwfl (see sampler.h).
 *
 * Record layouts are the kernel's (include/uapi/linux/perf_event.h, "enum
 * perf_event_type"); with the sample_type below a PERF_RECORD_SAMPLE is
 *   u64 ip; u32 pid, tid; u64 time; u32 cpu, res;
 *   [fp]    u64 nr; u64 ips[nr];
 *   [dwarf] u64 abi; u64 regs[popcount(REGS_MASK)]; u64 size; u8 data[size]; u64 dyn_size;
 * and every other record ends with the sample_id trailer u32 pid, tid; u64 time;
 * u32 cpu, res (sample_id_all).
 *
 * Two threads.  The reader (sampler_main) copies every record out of the rings of all
 * CPUs every SAMPLER_POLL_MS (or sooner, when a ring is a quarter full: the wakeup
 * watermark) into a batch, and queues the batch; it does nothing else, so the rings are
 * emptied at that pace however long the unwinding takes.  The worker (worker_main) takes
 * the batches in order, sorts each one's records by time (so that a module mapped on one
 * CPU is known before a sample of another CPU lands in it), unwinds and symbolises the
 * samples and sends them.  The queue holds at most SAMPLER_QUEUE_MAX bytes; past that
 * the reader drops samples and switches (counted in queue_dropped) and keeps the
 * side-band records, so the module maps stay whole.  Per process: the executable mappings (MMAP2,
 * copied at fork, cleared at exec) and a Dwfl built from them, extended as mappings
 * come; per (process, address) a cache of the symbol found.
 */
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "report_symbols.h"
#include "sampler_python.h"
#include "sampler.h"
#include "util.h"
#include "wire.h"

/* x86-64 user registers for dwarf (asm/perf_regs.h: AX BX CX DX SI DI BP SP IP = 0..8,
 * R8..R15 = 16..23), in the order the kernel writes them */
#define REGS_MASK 0xff01ffull
#define NREGS	  17
enum { R_AX, R_BX, R_CX, R_DX, R_SI, R_DI, R_BP, R_SP, R_IP, R_R8 };

#define CTX_MARK ((uint64_t)-4095) /* PERF_CONTEXT_* markers are >= this */

struct map {
	uint64_t start, end, pgoff;
	uint32_t module_sid; /* the file name as a string id of the connection */
	char *path;	     /* owned */
	int in_dwfl;	     /* reported to the process's Dwfl */
};

struct proc {
	uint32_t pid;
	struct map *maps; /* sorted by start, not overlapping */
	size_t n, cap;
	Dwfl *dwfl;
	int attached, rebuild;	     /* dwfl_attach_state done; the Dwfl must be built anew */
	struct i64map syms;	     /* lookup address -> (symbol_sid << 32 | module_sid) */
	struct i64map tabidx;	     /* Dwfl_Module pointer -> index into tabs */
	struct report_symtab **tabs; /* the sorted tables of the Dwfl's modules, owned */
	size_t ntabs;
	uint64_t py_runtime;	     /* CPython's _PyRuntime, 0: none (sampler_python.h) */
	const struct py_offsets *py; /* its layout, NULL: a version without one */
	size_t py_checked;	     /* maps looked at for it */
};

/* One record copied out of a ring, ordered by (time, ring order). */
struct rec {
	uint64_t time, order;
	size_t off; /* into the arena */
};

/* Used batches kept for reuse at most, and the biggest kept (their arenas stay mapped:
 * no page faults for each read) */
#define SAMPLER_FREE_BATCHES	 4
#define SAMPLER_FREE_BATCH_BYTES (8u << 20)

/* The records of one read of the rings, queued from the reader to the worker. */
struct batch {
	struct batch *next;
	unsigned char *arena; /* the records, each at an 8-byte aligned offset */
	size_t alen, acap;
	struct rec *recs; /* in ring order; the worker sorts them */
	size_t nrecs, rcap;
	int ack; /* send a GP_REC_FLUSH_ACK of `epoch` after the records */
	uint32_t epoch;
};

/* The unwinder's view of one dwarf sample (libdwfl callbacks). */
struct unwind {
	pid_t tid;
	Dwarf_Word regs[NREGS]; /* DWARF numbering: rax rdx rcx rbx rsi rdi rbp rsp r8-r15 rip */
	const unsigned char *stack;
	uint64_t sp, stack_len;
	uint64_t pcs[GP_SAMPLE_FRAMES_MAX];
	unsigned char act[GP_SAMPLE_FRAMES_MAX];
	unsigned n;
};

struct ring {
	int fd;	     /* the cpu-clock event whose buffer this is */
	int side_fd; /* windows (cfg.collecting): the CPU's dummy event for the side-band
			records, its output into this buffer; else -1 */
	void *base;
	size_t size; /* data bytes (a power of two) */
};

struct sampler {
	struct sampler_config cfg;
	struct ring *rings;
	unsigned nrings;
	int sock, stopfd;
	pthread_t thread, worker;
	int started;	/* both threads run */
	int enabled;	/* windows (cfg.collecting): the cpu-clock events are on */
	uint32_t acked; /* cfg.flush_epoch: the last flush request queued (reader) */
	/* the queue from the reader to the worker, under qlock */
	pthread_mutex_t qlock;
	pthread_cond_t qcond; /* a batch queued, the reader done, or the worker done */
	struct batch *qhead, *qtail;
	struct batch *qfree; /* used batches kept for the reader (SAMPLER_FREE_BATCHES) */
	unsigned nfree;
	size_t qbytes;		/* bytes of the batches queued (arena and index) */
	size_t qsamples;	/* PERF_RECORD_SAMPLEs in them */
	int qdone, wdone;	/* the reader has queued its last batch; the worker finished */
	size_t qmax;		/* SAMPLER_QUEUE_MAX, or GPROF_CLI_SAMPLER_QUEUE_MB */
	unsigned slow_us;	/* GPROF_CLI_SAMPLER_SLOW_US: test-only delay per sample */
	uint64_t reader_cpu_ns; /* CPU time of the reader thread */
	/* the worker's */
	uint64_t seq;
	unsigned char frame[GP_FRAME_MAX];
	size_t flen;
	/* processes: pid -> index into procs */
	struct i64map pidx;
	struct proc **procs;
	size_t nprocs;
	/* strings sent on the connection: fnv-1a hash -> sid */
	struct i64map strs;
	uint32_t next_sid;
	uint64_t order; /* the reader's: records read so far */
	struct unwind uw;
	struct sampler_stats st;
	Dwfl_Callbacks dcb;
	char *debuginfo_path;
	int py_unknown_said; /* a CPython without a layout here was said */
};

static long perf_open(struct perf_event_attr *a, pid_t pid, int cpu)
{
	return syscall(SYS_perf_event_open, a, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

/* ---- the connection ------------------------------------------------------------------ */

static void send_frame(struct sampler *s)
{
	struct gp_frame_hdr *fh = (void *)s->frame;

	if (s->flen <= sizeof(*fh))
		return;
	fh->magic = GP_WIRE_MAGIC;
	fh->version = GP_WIRE_VERSION;
	fh->type = GP_FRAME_RECORDS;
	fh->length = (uint32_t)(s->flen - sizeof(*fh));
	fh->pid = (uint32_t)getpid();
	fh->seq = s->seq;
	if (s->sock >= 0) {
		ssize_t n;

		do
			n = send(s->sock, s->frame, s->flen, MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		if (n == (ssize_t)s->flen) {
			s->seq++;
		} else {
			close(s->sock); /* the recorder is gone: count what is not sent */
			s->sock = -1;
		}
	}
	if (s->sock < 0) {
		const unsigned char *p = s->frame + sizeof(*fh);

		while (p < s->frame + s->flen) {
			const struct gp_rec_hdr *h = (const void *)p;

			s->st.lost_sends += h->type != GP_REC_STRING;
			p += h->size;
		}
	}
	s->flen = sizeof(*fh);
}

/* Room for `n` bytes of records in the frame (sends it when full); returns the place. */
static void *frame_room(struct sampler *s, size_t n)
{
	void *p;

	if (s->flen + n > sizeof(s->frame))
		send_frame(s);
	p = s->frame + s->flen;
	memset(p, 0, n);
	s->flen += n;
	return p;
}

static uint64_t fnv1a(const char *t, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)t[i]) * 1099511628211ull;
	return h == (uint64_t)I64_EMPTY ? h + 1 : h;
}

/* The string id of `t` on the connection, defining it first when new.  Strings longer
 * than GP_STRING_MAX are cut (as the collectors do). */
static uint32_t intern(struct sampler *s, const char *t)
{
	size_t n = strlen(t);
	int found;
	int64_t *v;
	struct gp_rec_string *r;

	if (n > GP_STRING_MAX)
		n = GP_STRING_MAX;
	v = i64map_get(&s->strs, (int64_t)fnv1a(t, n), 0, &found);
	if (found)
		return (uint32_t)*v;
	*v = ++s->next_sid;
	r = frame_room(s, GP_REC_ALIGN(sizeof(*r) + n));
	r->h.type = GP_REC_STRING;
	r->h.size = (uint16_t)GP_REC_ALIGN(sizeof(*r) + n);
	r->id = s->next_sid;
	r->len = (uint32_t)n;
	memcpy(r->text, t, n);
	return s->next_sid;
}

/* ---- processes and their modules ----------------------------------------------------- */

static struct proc *proc_get(struct sampler *s, uint32_t pid)
{
	int found;
	int64_t *v = i64map_get(&s->pidx, pid, (int64_t)s->nprocs, &found);
	struct proc *p;

	if (found)
		return s->procs[*v];
	if (s->nprocs % 64 == 0)
		s->procs = xrealloc(s->procs, (s->nprocs + 64) * sizeof(*s->procs));
	p = xcalloc(1, sizeof(*p));
	p->pid = pid;
	s->procs[s->nprocs++] = p;
	return p;
}

static void proc_drop_dwfl(struct proc *p)
{
	for (size_t i = 0; i < p->ntabs; i++)
		report_symtab_free(p->tabs[i]);
	free(p->tabs);
	p->tabs = NULL;
	p->ntabs = 0;
	i64map_free(&p->tabidx);
	if (p->dwfl)
		dwfl_end(p->dwfl);
	p->dwfl = NULL;
	p->attached = 0;
	for (size_t i = 0; i < p->n; i++)
		p->maps[i].in_dwfl = 0;
	i64map_free(&p->syms);
}

static void proc_clear(struct proc *p)
{
	proc_drop_dwfl(p);
	p->py_runtime = 0;
	p->py = NULL;
	p->py_checked = 0;
	for (size_t i = 0; i < p->n; i++)
		free(p->maps[i].path);
	p->n = 0;
}

/* A file libdwfl can open: a path, not "[vdso]", "//anon", "/memfd:..." or deleted. */
static int elf_file(const char *path)
{
	return path[0] == '/' && strncmp(path, "/memfd:", 7) && !strstr(path, " (deleted)") &&
	       access(path, R_OK) == 0;
}

static void add_map(struct sampler *s, struct proc *p, uint64_t start, uint64_t len, uint64_t pgoff,
		    const char *path)
{
	uint64_t end = start + len;
	size_t i, j, k, replaced = 0;

	/* a new mapping replaces what it overlaps */
	for (i = j = 0; i < p->n; i++) {
		if (p->maps[i].start < end && p->maps[i].end > start) {
			if (p->maps[i].in_dwfl)
				p->rebuild = 1; /* the Dwfl knows the old module there */
			free(p->maps[i].path);
			replaced++;
			continue;
		}
		p->maps[j++] = p->maps[i];
	}
	p->n = j;
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 32;
		p->maps = xrealloc(p->maps, p->cap * sizeof(*p->maps));
	}
	for (k = 0; k < p->n && p->maps[k].start < start; k++)
		;
	memmove(&p->maps[k + 1], &p->maps[k], (p->n - k) * sizeof(*p->maps));
	p->maps[k] = (struct map){start, end, pgoff, intern(s, path), xstrdup(path), 0};
	p->n++;
	/* addresses looked up in what it replaces resolve anew; those that had no mapping
	 * are looked up again by symbolize(); the others keep their symbols (a program that
	 * loads libraries all along would otherwise look every address up again each time,
	 * and libdwfl's lookup scans the module's whole symbol table) */
	if (replaced)
		i64map_free(&p->syms);
}

static struct map *find_map(struct proc *p, uint64_t addr)
{
	size_t lo = 0, hi = p->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (addr < p->maps[mid].start)
			hi = mid;
		else if (addr >= p->maps[mid].end)
			lo = mid + 1;
		else
			return &p->maps[mid];
	}
	return NULL;
}

static const Dwfl_Thread_Callbacks thread_callbacks;

/* The process's Dwfl with every ELF mapping reported (built or extended here). */
static Dwfl *proc_dwfl(struct sampler *s, struct proc *p)
{
	int added = 0;

	if (p->rebuild) {
		proc_drop_dwfl(p);
		p->rebuild = 0;
	}
	if (!p->dwfl) {
		p->dwfl = dwfl_begin(&s->dcb);
		if (!p->dwfl)
			return NULL;
	}
	for (size_t i = 0; i < p->n; i++) {
		struct map *m = &p->maps[i];

		if (m->in_dwfl)
			continue;
		m->in_dwfl = 1; /* (tried once) */
		if (!elf_file(m->path))
			continue;
		if (!added++)
			dwfl_report_begin_add(p->dwfl);
		dwfl_report_elf(p->dwfl, m->path, m->path, -1, m->start - m->pgoff, false);
	}
	if (added)
		dwfl_report_end(p->dwfl, NULL, NULL);
	return p->dwfl;
}

/* Module mod's sorted table (built at its first lookup, kept with p's Dwfl). */
static const struct report_symtab *symtab_of(struct proc *p, Dwfl_Module *mod)
{
	int found;
	int64_t *v = i64map_get(&p->tabidx, (int64_t)(uintptr_t)mod, (int64_t)p->ntabs, &found);

	if (found)
		return p->tabs[*v];
	if (p->ntabs % 16 == 0)
		p->tabs = xrealloc_array(p->tabs, p->ntabs + 16, sizeof(*p->tabs));
	p->tabs[p->ntabs] = report_symtab_new(mod);
	return p->tabs[p->ntabs++];
}

/* The symbol and module string ids of `addr` (a lookup address: pc, or pc - 1 for a
 * return address) in process p: (symbol_sid << 32) | module_sid, symbol_sid 0 when not
 * resolved, module_sid 0 when no mapping holds it. */
static uint64_t symbolize(struct sampler *s, struct proc *p, uint64_t addr)
{
	int found;
	int64_t *v = i64map_find(&p->syms, (int64_t)(addr & INT64_MAX));
	struct map *m = NULL;
	uint64_t res = 0;

	/* (no mapping held it when looked up: one mapped since may) */
	if (v && ((uint32_t)*v || !(m = find_map(p, addr))))
		return (uint64_t)*v;
	if (!v)
		m = find_map(p, addr);
	if (m) {
		Dwfl *d = proc_dwfl(s, p);
		Dwfl_Module *mod = d ? dwfl_addrmodule(d, addr) : NULL;
		const char *name = mod ? report_symtab_name(symtab_of(p, mod), mod, addr) : NULL;

		res = m->module_sid;
		if (name && *name) {
			char *shown = report_symbol_name(name); /* as nsys spells it */

			res |= (uint64_t)intern(s, shown) << 32;
			free(shown);
		}
	}
	v = i64map_get(&p->syms, (int64_t)(addr & INT64_MAX), 0, &found);
	*v = (int64_t)res;
	return res;
}

/* ---- unwinding (libdwfl's thread callbacks over the copied registers and stack) ------- */

static pid_t cb_next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	struct sampler *s = arg;

	if (*thread_argp)
		return 0;
	*thread_argp = s;
	return s->uw.tid;
}

static bool cb_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct sampler *s = arg;

	if (addr < s->uw.sp || addr - s->uw.sp + sizeof(*result) > s->uw.stack_len)
		return false;
	memcpy(result, s->uw.stack + (addr - s->uw.sp), sizeof(*result));
	return true;
}

static bool cb_set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
	struct sampler *s = thread_arg;

	return dwfl_thread_state_registers(thread, 0, NREGS, s->uw.regs);
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
    .next_thread = cb_next_thread,
    .memory_read = cb_memory_read,
    .set_initial_registers = cb_set_initial_registers,
};

static int cb_frame(Dwfl_Frame *state, void *arg)
{
	struct sampler *s = arg;
	Dwarf_Addr pc;
	bool act;

	if (!dwfl_frame_pc(state, &pc, &act))
		return -1;
	s->uw.pcs[s->uw.n] = pc;
	s->uw.act[s->uw.n] = act;
	return ++s->uw.n >= GP_SAMPLE_FRAMES_MAX ? DWARF_CB_ABORT : DWARF_CB_OK;
}

/* Unwind the dwarf sample in s->uw (regs, stack) of process p.  Returns 0 when the
 * unwinder reached the outermost frame, -1 when it stopped early (frames so far kept). */
static int unwind_dwarf(struct sampler *s, struct proc *p)
{
	Dwfl *d = proc_dwfl(s, p);
	int rc;

	s->uw.n = 0;
	if (!d)
		return -1;
	if (!p->attached) {
		if (!dwfl_attach_state(d, NULL, (pid_t)p->pid, &thread_callbacks, s))
			return -1;
		p->attached = 1;
	}
	rc = dwfl_getthread_frames(d, s->uw.tid, cb_frame, s);
	return rc == 0 || (rc == DWARF_CB_ABORT && s->uw.n < GP_SAMPLE_FRAMES_MAX) ? 0 : -1;
}

/* ---- records --------------------------------------------------------------------------- */

struct sample_id { /* the sample_id_all trailer */
	uint32_t pid, tid;
	uint64_t time;
	uint32_t cpu, res;
};

static void trailer(const struct perf_event_header *h, struct sample_id *id)
{
	memcpy(id, (const unsigned char *)h + h->size - sizeof(*id), sizeof(*id));
}

/* CPython's _PyRuntime in process p (its executable or libpython exports it), once p maps
 * one, and p->py its layout (by the Py_Version it exports, else by the file's name); 0
 * when it maps none, or one of a version without a layout (said once). */
static uint64_t py_runtime(struct sampler *s, struct proc *p)
{
	if (p->py_checked == p->n)
		return p->py ? p->py_runtime : 0;
	p->py_checked = p->n;
	for (size_t i = 0; i < p->n && !p->py_runtime; i++) {
		uint64_t version = 0;
		unsigned long hex;
		Dwfl *d;
		Dwfl_Module *m;
		int nsym;

		if (!py_maybe_python(p->maps[i].path) || !(d = proc_dwfl(s, p)) ||
		    !(m = dwfl_addrmodule(d, p->maps[i].start)))
			continue;
		nsym = dwfl_module_getsymtab(m);
		for (int k = 1; k < nsym && !(p->py_runtime && version); k++) {
			GElf_Sym sym;
			GElf_Addr addr;
			const char *name =
			    dwfl_module_getsym_info(m, k, &sym, &addr, NULL, NULL, NULL);

			if (!name || sym.st_shndx == SHN_UNDEF)
				continue;
			if (!strcmp(name, "_PyRuntime"))
				p->py_runtime = addr;
			else if (!strcmp(name, "Py_Version"))
				version = addr;
		}
		if (!p->py_runtime)
			continue;
		p->py = py_offsets_of_process((pid_t)p->pid, version, p->maps[i].path, &hex);
		if (p->py || s->py_unknown_said++)
			continue;
		if (hex)
			warning("--python-sampling: process %u runs CPython %lu.%lu, whose frames "
				"gprof-cli cannot read: its samples have no Python frames",
				p->pid, hex >> 24, (hex >> 16) & 0xff);
		else
			warning("--python-sampling: process %u runs a CPython (%s) of a version "
				"gprof-cli cannot read or tell: its samples have no Python frames",
				p->pid, p->maps[i].path);
		hint("CPython 3.11 and 3.12 are read (said once, for the first such process)");
	}
	return p->py ? p->py_runtime : 0;
}

/* Python frames (CPython 3.11 and 3.12, --python-sampling): interleave the thread's
 * Python frames with the native ones in fr[0..*n) (at most GP_SAMPLE_FRAMES_MAX): each native
 * _PyEval_EvalFrameDefault is preceded (leaf first) by the Python frames it runs, up to
 * its entry frame; Python frames left when the native stack has no more of them go last.
 * A Python frame: symbol "qualname (file.py:line)", module the file, ip 0. */
static void add_python_frames(struct sampler *s, struct proc *p, uint32_t tid,
			      struct gp_sample_frame *fr, unsigned *n)
{
	struct py_frame py[PY_FRAMES_MAX];
	struct gp_sample_frame out[GP_SAMPLE_FRAMES_MAX];
	uint64_t rt;
	uint32_t eval;
	int np, j = 0;
	unsigned k = 0;

	struct py_stack st = {s->uw.stack, s->uw.sp, s->uw.stack_len};

	if (!s->cfg.python || !(rt = py_runtime(s, p)))
		return;
	np = py_read_frames((pid_t)p->pid, p->py, rt, (pid_t)tid,
			    s->cfg.backtrace == SAMPLER_BT_DWARF ? &st : NULL, py, PY_FRAMES_MAX);
	eval = intern(s, "_PyEval_EvalFrameDefault");
	if (np == 0) { /* none, while the native stack was running Python code: the thread had
			* left it (or was finalizing) when the sampler came to read */
		for (unsigned i = 0; i < *n && np == 0; i++)
			if (fr[i].symbol_sid == eval)
				np = -1;
	}
	if (np < 0)
		s->st.python_unread++;
	if (np <= 0)
		return;
	for (unsigned i = 0; i <= *n && k < GP_SAMPLE_FRAMES_MAX; i++) {
		int here = i < *n ? fr[i].symbol_sid == eval : 1;

		while (here && j < np && k < GP_SAMPLE_FRAMES_MAX) {
			const char *b = strrchr(py[j].file, '/');
			char name[sizeof(py[j].name) + sizeof(py[j].file) + 16];

			snprintf(name, sizeof(name), "%s (%s:%d)", py[j].name,
				 b ? b + 1 : py[j].file, py[j].line);
			out[k].ip = 0;
			out[k].symbol_sid = intern(s, name);
			out[k].module_sid = intern(s, py[j].file);
			k++;
			if (py[j++].is_entry && i < *n)
				break; /* the rest belongs to outer _PyEval_EvalFrameDefault calls
					*/
		}
		if (i < *n && k < GP_SAMPLE_FRAMES_MAX)
			out[k++] = fr[i];
	}
	memcpy(fr, out, k * sizeof(fr[0]));
	*n = k;
}

/* Is ip in the dynamic loader (ld-linux*.so)?  A stack that ends there ends in its entry
 * code (_start, _dl_start_user: unnamed where ld.so has no symbol table), not broken. */
static int in_loader(struct proc *p, uint64_t ip)
{
	struct map *m = find_map(p, ip);

	return m && strstr(m->path, "/ld-linux") != NULL;
}

/* Is string id sid the name of a process's or thread's first function? */
static int outermost(struct sampler *s, uint32_t sid)
{
	static const char *const names[] = {"_start",  "_dl_start_user", "__clone3",
					    "__clone", "clone3",	 "clone"};

	for (size_t i = 0; sid && i < sizeof(names) / sizeof(names[0]); i++)
		if (sid == intern(s, names[i]))
			return 1;
	return 0;
}

static void emit_sample(struct sampler *s, const struct perf_event_header *h)
{
	const unsigned char *q = (const void *)(h + 1), *end = (const unsigned char *)h + h->size;
	uint64_t ip, time, pcs[GP_SAMPLE_FRAMES_MAX];
	uint32_t pid, tid, cpu;
	unsigned n = 0, method = GP_UNWIND_NONE, broken = 0;
	unsigned char act[GP_SAMPLE_FRAMES_MAX];
	struct gp_rec_cpu_sample *r;
	struct proc *p;

	if (h->size < sizeof(*h) + 32)
		return;
	memcpy(&ip, q, 8);
	memcpy(&pid, q + 8, 4);
	memcpy(&tid, q + 12, 4);
	memcpy(&time, q + 16, 8);
	memcpy(&cpu, q + 24, 4);
	q += 32;
	if (s->cfg.collecting && !s->cfg.collecting(s->cfg.collecting_arg, time))
		return; /* outside the capture ranges / windows: not taken */
	s->st.samples++;
	s->uw.stack_len = 0; /* (no stack copy yet for this sample) */
	if (!s->cfg.sample)
		return;
	p = proc_get(s, pid);
	pcs[n] = ip;
	act[n++] = 1;
	if (s->cfg.backtrace == SAMPLER_BT_FP || s->cfg.backtrace == SAMPLER_BT_LBR) {
		uint64_t nr, v;

		method = GP_UNWIND_FRAMEPOINTER;
		if (q + 8 > end)
			return;
		memcpy(&nr, q, 8);
		q += 8;
		int seen_ip = 0;

		for (uint64_t i = 0; i < nr && q + 8 <= end; i++, q += 8) {
			memcpy(&v, q, 8);
			if (v >= CTX_MARK)
				continue; /* PERF_CONTEXT_USER */
			if (!seen_ip++ && v == ip)
				continue; /* the sampled IP again (frame 0) */
			if (n == GP_SAMPLE_FRAMES_MAX) {
				broken = 1;
				break;
			}
			pcs[n] = v;
			act[n++] = 0;
		}
	} else if (s->cfg.backtrace == SAMPLER_BT_DWARF) {
		uint64_t abi, regs[NREGS], size, dyn = 0;

		method = GP_UNWIND_DWARF;
		if (q + 8 > end)
			return;
		memcpy(&abi, q, 8);
		q += 8;
		if (abi && q + sizeof(regs) <= end) {
			memcpy(regs, q, sizeof(regs));
			q += sizeof(regs);
		} else {
			abi = 0; /* no user registers (a kernel thread) */
		}
		size = 0;
		if (q + 8 <= end) {
			memcpy(&size, q, 8);
			q += 8;
		}
		if (size && q + size + 8 <= end)
			memcpy(&dyn, q + size, 8);
		if (abi) {
			struct unwind *u = &s->uw;

			u->tid = (pid_t)tid;
			u->regs[0] = regs[R_AX];
			u->regs[1] = regs[R_DX];
			u->regs[2] = regs[R_CX];
			u->regs[3] = regs[R_BX];
			u->regs[4] = regs[R_SI];
			u->regs[5] = regs[R_DI];
			u->regs[6] = regs[R_BP];
			u->regs[7] = regs[R_SP];
			for (int i = 0; i < 8; i++)
				u->regs[8 + i] = regs[R_R8 + i];
			u->regs[16] = regs[R_IP];
			u->stack = q;
			u->sp = regs[R_SP];
			u->stack_len = dyn < size ? dyn : size;
			broken = unwind_dwarf(s, p) < 0;
			if (u->n) {
				n = u->n;
				memcpy(pcs, u->pcs, n * sizeof(pcs[0]));
				memcpy(act, u->act, n);
			}
		} else {
			broken = 1;
		}
	}
	s->st.unwind_failures += broken;
	{ /* the strings the frames define go first, then the sample */
		struct gp_sample_frame fr[GP_SAMPLE_FRAMES_MAX];
		size_t sz;

		for (unsigned i = 0; i < n; i++) {
			uint64_t sm = symbolize(s, p, act[i] || !pcs[i] ? pcs[i] : pcs[i] - 1);

			fr[i].ip = pcs[i];
			fr[i].symbol_sid = (uint32_t)(sm >> 32);
			fr[i].module_sid = (uint32_t)sm;
		}
		add_python_frames(s, p, tid, fr, &n);
		/* the entry points whose unwind tables do not mark the end of the stack (ld.so's
		 * _start and _dl_start_user): a stack that reached one is complete */
		if (broken && n &&
		    (outermost(s, fr[n - 1].symbol_sid) || in_loader(p, fr[n - 1].ip))) {
			broken = 0;
			s->st.unwind_failures--;
		}
		sz = sizeof(*r) + n * sizeof(fr[0]);
		r = frame_room(s, sz);
		r->h.type = GP_REC_CPU_SAMPLE;
		r->h.size = (uint16_t)sz;
		r->h.tid = tid;
		r->pid = pid;
		r->cpu = cpu;
		r->time_ns = time;
		r->unwind = (uint8_t)method;
		r->flags = broken ? GP_SAMPLE_BROKEN : 0;
		r->nframes = (uint16_t)n;
		memcpy(r->frames, fr, n * sizeof(fr[0]));
	}
}

/* A context switch of thread tid (pid) on cpu at time: a GP_REC_SCHED. */
static void emit_sched(struct sampler *s, uint32_t pid, uint32_t tid, uint32_t cpu, uint64_t time,
		       int in, int preempted, int state)
{
	struct gp_rec_sched *r = frame_room(s, sizeof(*r));

	r->h.type = GP_REC_SCHED;
	r->h.size = sizeof(*r);
	r->h.tid = tid;
	r->pid = pid;
	r->cpu = cpu;
	r->time_ns = time;
	r->is_in = (uint8_t)in;
	r->preempted = (uint8_t)preempted;
	r->thread_state = (uint8_t)state;
}

static void emit_switch(struct sampler *s, const struct perf_event_header *h)
{
	struct sample_id id;

	trailer(h, &id);
	if (s->cfg.collecting && !s->cfg.collecting(s->cfg.collecting_arg, id.time))
		return;
	s->st.switches++;
	if (s->cfg.cpuctxsw)
		emit_sched(s, id.pid, id.tid, id.cpu, id.time,
			   !(h->misc & PERF_RECORD_MISC_SWITCH_OUT),
			   !!(h->misc & PERF_RECORD_MISC_SWITCH_OUT_PREEMPT), 0);
}

static void handle_record(struct sampler *s, const struct perf_event_header *h)
{
	const unsigned char *q = (const void *)(h + 1);
	struct sample_id id;
	uint32_t pid, ppid, tid;

	switch (h->type) {
	case PERF_RECORD_SAMPLE:
		emit_sample(s, h);
		break;
	case PERF_RECORD_SWITCH:
		emit_switch(s, h);
		break;
	case PERF_RECORD_MMAP2:
	case PERF_RECORD_MMAP: {
		uint64_t addr, len, pgoff;
		size_t name_off = h->type == PERF_RECORD_MMAP2 ? 8 + 24 + 24 + 8 : 8 + 24;
		const char *name = (const char *)q + name_off;

		if (h->size < sizeof(*h) + name_off + sizeof(id) + 1)
			break;
		memcpy(&pid, q, 4);
		memcpy(&addr, q + 8, 8);
		memcpy(&len, q + 16, 8);
		memcpy(&pgoff, q + 24, 8);
		if (!memchr(name, 0, (size_t)((const char *)h + h->size - name)))
			break;
		add_map(s, proc_get(s, pid), addr, len, pgoff, name);
		break;
	}
	case PERF_RECORD_COMM:
		if (h->misc & PERF_RECORD_MISC_COMM_EXEC) {
			memcpy(&pid, q, 4);
			proc_clear(proc_get(s, pid)); /* a new program: its maps follow */
		}
		break;
	case PERF_RECORD_FORK:
		memcpy(&pid, q, 4);
		memcpy(&ppid, q + 4, 4);
		if (pid != ppid) { /* a new process: the parent's mappings */
			struct proc *c = proc_get(s, pid), *pp = proc_get(s, ppid);

			proc_clear(c);
			for (size_t i = 0; i < pp->n; i++)
				add_map(s, c, pp->maps[i].start,
					pp->maps[i].end - pp->maps[i].start, pp->maps[i].pgoff,
					pp->maps[i].path);
		}
		break;
	case PERF_RECORD_EXIT: /* the thread's events end here, before its last switch-out:
				* that one is this record, Terminated (5), as nsys writes it */
		memcpy(&pid, q, 4);
		memcpy(&tid, q + 8, 4);
		trailer(h, &id);
		if (s->cfg.cpuctxsw)
			emit_sched(s, pid, tid, id.cpu, id.time, 0, 0, 5);
		break;
	case PERF_RECORD_LOST: {
		uint64_t lost;

		memcpy(&lost, q + 8, 8);
		s->st.lost_samples += lost;
		break;
	}
	default:
		break;
	}
}

static uint64_t record_time(const struct perf_event_header *h)
{
	struct sample_id id;
	uint64_t t;

	if (h->type == PERF_RECORD_SAMPLE) {
		memcpy(&t, (const unsigned char *)(h + 1) + 16, 8);
		return t;
	}
	trailer(h, &id);
	return id.time;
}

static int rec_cmp(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* ---- the reader: rings -> queue ----------------------------------------------------- */

static size_t batch_bytes(const struct batch *b)
{
	return b->acap + b->rcap * sizeof(*b->recs);
}

static void batch_free(struct batch *b)
{
	free(b->arena);
	free(b->recs);
	free(b);
}

/* Batch b used (or not queued): kept for the reader's next read, or freed. */
static void batch_done(struct sampler *s, struct batch *b)
{
	if (batch_bytes(b) <= SAMPLER_FREE_BATCH_BYTES) {
		pthread_mutex_lock(&s->qlock);
		if (s->nfree < SAMPLER_FREE_BATCHES) {
			b->next = s->qfree;
			s->qfree = b;
			s->nfree++;
			b = NULL;
		}
		pthread_mutex_unlock(&s->qlock);
	}
	if (b)
		batch_free(b);
}

/* Is the record at h one that may be dropped when the queue is full (a sample or a
 * switch; not a side-band record, which the module maps need)?  Counted in
 * queue_dropped when it would have been kept (inside the windows). */
static int drop_record(struct sampler *s, const struct perf_event_header *h)
{
	if (h->type != PERF_RECORD_SAMPLE && h->type != PERF_RECORD_SWITCH)
		return 0;
	if (!s->cfg.collecting || h->size < sizeof(*h) + sizeof(struct sample_id) ||
	    s->cfg.collecting(s->cfg.collecting_arg, record_time(h)))
		s->st.queue_dropped++;
	return 1;
}

/* Copy every record out of every ring into a batch and queue it, with a flush
 * acknowledgement of `epoch` after it when ack; nothing is queued when there is neither.
 * Records are copied out even when the queue is full (the ring is emptied either way):
 * then the samples and switches are dropped and counted. */
static void read_rings(struct sampler *s, int ack, uint32_t epoch)
{
	struct batch *b;
	size_t queued, nsamples = 0;

	pthread_mutex_lock(&s->qlock);
	queued = s->qbytes; /* (it only shrinks until this batch is queued) */
	b = s->qfree;
	if (b) {
		s->qfree = b->next;
		s->nfree--;
	}
	pthread_mutex_unlock(&s->qlock);
	if (b) {
		b->next = NULL;
		b->alen = b->nrecs = 0;
	} else {
		b = xcalloc(1, sizeof(*b));
	}
	for (unsigned i = 0; i < s->nrings; i++) {
		struct ring *rg = &s->rings[i];
		struct perf_event_mmap_page *pg = rg->base;
		unsigned char *data = (unsigned char *)rg->base + pg->data_offset;
		uint64_t head = __atomic_load_n(&pg->data_head, __ATOMIC_ACQUIRE);
		uint64_t tail = pg->data_tail;

		while (tail < head) {
			struct perf_event_header h;
			size_t at = tail & (rg->size - 1), first, room;
			unsigned char *rec;

			memcpy(&h, data + at, sizeof(h)); /* (8-byte aligned: never split) */
			if (h.size < sizeof(h) || tail + h.size > head)
				break;
			room = (b->alen + h.size) * 2;
			if (b->alen + h.size > b->acap &&
			    queued + batch_bytes(b) - b->acap + room > s->qmax)
				room = b->alen + h.size; /* near the bound: no slack */
			if (b->alen + h.size > b->acap) {
				b->acap = room;
				b->arena = xrealloc(b->arena, b->acap);
			}
			rec = b->arena + b->alen;
			first = rg->size - at < h.size ? rg->size - at : h.size;
			memcpy(rec, data + at, first);
			memcpy(rec + first, data, h.size - first);
			tail += h.size;
			if (queued + batch_bytes(b) + sizeof(*b->recs) > s->qmax &&
			    drop_record(s, (const void *)rec))
				continue; /* (the arena space is reused by the next record) */
			if (b->nrecs == b->rcap) {
				b->rcap = b->rcap ? 2 * b->rcap : 1024;
				b->recs = xrealloc(b->recs, b->rcap * sizeof(*b->recs));
			}
			b->recs[b->nrecs].off = b->alen;
			b->recs[b->nrecs].order = s->order++;
			b->recs[b->nrecs].time = h.size >= sizeof(h) + sizeof(struct sample_id)
						     ? record_time((const void *)rec)
						     : 0;
			b->nrecs++;
			nsamples += h.type == PERF_RECORD_SAMPLE;
			b->alen += (h.size + 7u) & ~(size_t)7u;
		}
		__atomic_store_n(&pg->data_tail, tail, __ATOMIC_RELEASE);
	}
	if (!b->nrecs && !ack) {
		batch_done(s, b);
		return;
	}
	b->ack = ack;
	b->epoch = epoch;
	pthread_mutex_lock(&s->qlock);
	*(s->qtail ? &s->qtail->next : &s->qhead) = b;
	s->qtail = b;
	s->qbytes += batch_bytes(b);
	s->qsamples += nsamples;
	pthread_cond_broadcast(&s->qcond);
	pthread_mutex_unlock(&s->qlock);
}

/* Windows (sampler_config.collecting): the cpu-clock events on while the recorder
 * collects, off between windows (the application pays no sampling there); the dummy
 * events keep the module maps, so samples in a later window still resolve. */
static void follow_windows(struct sampler *s)
{
	int on = s->cfg.collecting(s->cfg.collecting_arg, 0) != 0;

	if (on == s->enabled)
		return;
	for (unsigned i = 0; i < s->nrings; i++)
		ioctl(s->rings[i].fd, on ? PERF_EVENT_IOC_ENABLE : PERF_EVENT_IOC_DISABLE, 0);
	s->enabled = on;
}

/* Set *flag (qdone, wdone) under the queue's lock and wake its waiters. */
static void queue_flag(struct sampler *s, int *flag)
{
	pthread_mutex_lock(&s->qlock);
	*flag = 1;
	pthread_cond_broadcast(&s->qcond);
	pthread_mutex_unlock(&s->qlock);
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec cpu;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
	return (uint64_t)cpu.tv_sec * 1000000000ull + (uint64_t)cpu.tv_nsec;
}

/* The reader thread: the rings every poll interval, or as soon as one of them is a
 * quarter full (its wakeup watermark), until sampler_stop() writes stopfd. */
static void *sampler_main(void *arg)
{
	struct sampler *s = arg;
	struct pollfd *pfd = xcalloc(s->nrings + 1, sizeof(*pfd));
	int ms = s->cfg.python ? SAMPLER_PYTHON_POLL_MS : SAMPLER_POLL_MS;
	struct timespec next, now;

	pfd[0] = (struct pollfd){s->stopfd, POLLIN, 0};
	for (unsigned i = 0; i < s->nrings; i++)
		pfd[i + 1] = (struct pollfd){s->rings[i].fd, POLLIN, 0};
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		int64_t left;
		uint32_t epoch;

		next.tv_nsec += ms * 1000000L;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000L;
		}
		/* until the next read is due, or a ring reaches its watermark */
		for (;;) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			left = (int64_t)(next.tv_sec - now.tv_sec) * 1000 +
			       (next.tv_nsec - now.tv_nsec) / 1000000;
			if (left <= 0 || poll(pfd, s->nrings + 1, (int)left) != 0)
				break;
		}
		if (pfd[0].revents)
			break;
		for (unsigned i = 1; i <= s->nrings; i++)
			if (pfd[i].revents & (POLLHUP | POLLERR | POLLNVAL))
				pfd[i].fd = -1; /* (its tasks are gone: read by the clock only) */
		if (left > 0) /* (read early: the next one is due an interval after this) */
			next = now;
		/* (the request read first: what the batch holds covers it) */
		epoch = s->cfg.flush_epoch ? s->cfg.flush_epoch(s->cfg.collecting_arg) : 0;
		if (s->cfg.collecting)
			follow_windows(s);
		read_rings(s, s->cfg.flush_epoch && epoch != s->acked, epoch);
		s->acked = epoch;
	}
	read_rings(s, 0, 0); /* what came since (the application is gone: nothing more comes) */
	free(pfd);
	s->reader_cpu_ns = thread_cpu_ns();
	queue_flag(s, &s->qdone);
	return NULL;
}

/* ---- the worker: queue -> unwinding, symbols -> the recorder ---------------------------- */

/* Acknowledge flush request `epoch` in a frame of its own (the recorder's reader looks for
 * a frame that holds only the acknowledgement), after everything read before it. */
static void send_flush_ack(struct sampler *s, uint32_t epoch)
{
	struct gp_rec_flush_ack *a;

	send_frame(s); /* (empty after a batch: a no-op then) */
	a = frame_room(s, sizeof(*a));
	a->h.type = GP_REC_FLUSH_ACK;
	a->h.size = sizeof(*a);
	a->h.tid = (uint32_t)s->cfg.pid;
	a->epoch = epoch;
	send_frame(s);
}

/* Sort one batch's records by time and use them (unwinding, symbols, sends). */
static void process_batch(struct sampler *s, struct batch *b)
{
	if (b->nrecs) /* (qsort of a NULL array is undefined, even of none) */
		qsort(b->recs, b->nrecs, sizeof(*b->recs), rec_cmp);
	for (size_t i = 0; i < b->nrecs; i++) {
		const struct perf_event_header *h = (const void *)(b->arena + b->recs[i].off);

		if (s->slow_us && h->type == PERF_RECORD_SAMPLE) {
			struct timespec d = {(time_t)(s->slow_us / 1000000),
					     (long)(s->slow_us % 1000000) * 1000};

			nanosleep(&d, NULL);
		}
		handle_record(s, h);
	}
	send_frame(s);
	if (b->ack)
		send_flush_ack(s, b->epoch);
}

/* The oldest batch queued (left queued: its bytes count until it is used), waiting for
 * one; NULL when the reader is done and none is left. */
static struct batch *queue_next(struct sampler *s)
{
	struct batch *b;

	pthread_mutex_lock(&s->qlock);
	for (;;) {
		b = s->qhead;
		if (b || s->qdone)
			break;
		pthread_cond_wait(&s->qcond, &s->qlock);
	}
	pthread_mutex_unlock(&s->qlock);
	return b;
}

/* The worker thread: the batches in the order read, until the reader is done and the
 * queue empty. */
static void *worker_main(void *arg)
{
	struct sampler *s = arg;

	struct batch *b;

	while ((b = queue_next(s))) {
		size_t n = 0;

		process_batch(s, b);
		for (size_t i = 0; i < b->nrecs; i++)
			n +=
			    ((const struct perf_event_header *)(b->arena + b->recs[i].off))->type ==
			    PERF_RECORD_SAMPLE;
		pthread_mutex_lock(&s->qlock);
		s->qhead = b->next; /* (dequeued once used: qbytes bounds what is held) */
		if (!s->qhead)
			s->qtail = NULL;
		s->qbytes -= batch_bytes(b);
		s->qsamples -= n;
		pthread_mutex_unlock(&s->qlock);
		batch_done(s, b);
	}
	s->st.cpu_ns = thread_cpu_ns();
	queue_flag(s, &s->wdone);
	return NULL;
}

/* ---- start / stop ---------------------------------------------------------------------- */

static void say_unavailable(const char *what, int err)
{
	char buf[16] = "?";
	FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			snprintf(buf, sizeof(buf), "?");
		buf[strcspn(buf, "\n")] = 0;
		fclose(f);
	}
	warning("CPU sampling and context switches off: %s: %s (kernel.perf_event_paranoid = %s)",
		what, strerror(err), buf);
	hint("run as root, or lower the setting (sysctl kernel.perf_event_paranoid=2), or give "
	     "-s none --cpuctxsw=none");
}

static void free_sampler(struct sampler *s)
{
	for (unsigned i = 0; i < s->nrings; i++) {
		if (s->rings[i].base)
			munmap(s->rings[i].base, s->rings[i].size + (size_t)sysconf(_SC_PAGESIZE));
		if (s->rings[i].side_fd >= 0)
			close(s->rings[i].side_fd);
		close(s->rings[i].fd);
	}
	free(s->rings);
	for (struct batch *b = s->qfree, *next; b; b = next) {
		next = b->next;
		batch_free(b);
	}
	for (struct batch *b = s->qhead, *next; b; b = next) { /* (none after a stop) */
		next = b->next;
		batch_free(b);
	}
	pthread_mutex_destroy(&s->qlock);
	pthread_cond_destroy(&s->qcond);
	for (size_t i = 0; i < s->nprocs; i++) {
		proc_clear(s->procs[i]);
		free(s->procs[i]->maps);
		free(s->procs[i]);
	}
	free(s->procs);
	i64map_free(&s->pidx);
	i64map_free(&s->strs);
	if (s->sock >= 0)
		close(s->sock);
	if (s->stopfd >= 0)
		close(s->stopfd);
	free(s);
}

static int connect_channel(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(a.sun_path))
		return -1;
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

int sampler_open(struct sampler **out, const struct sampler_config *cfg)
{
	struct perf_event_attr a, side;
	struct sampler *s;
	long ncpu = sysconf(_SC_NPROCESSORS_CONF), page = sysconf(_SC_PAGESIZE);
	size_t pages = 1024; /* 4 MiB a CPU at most: SAMPLER_POLL_MS of dwarf samples many times */
	char what[96];
	const char *env;
	uint64_t v;

	*out = NULL;
	if (!cfg->sample && !cfg->cpuctxsw)
		return 0;
	if (ncpu < 1)
		ncpu = 1;
	while (pages > 8 && (size_t)ncpu * pages * (size_t)page > SAMPLER_RING_MEM_MAX)
		pages /= 2;
	if (cfg->backtrace != SAMPLER_BT_DWARF && pages > 128)
		pages = 128;

	a = (struct perf_event_attr){
	    .size = sizeof(a),
	    .type = PERF_TYPE_SOFTWARE,
	    .config = PERF_COUNT_SW_CPU_CLOCK,
	    /* context switches alone: a sample now and then keeps it cheap */
	    .sample_period = cfg->sample ? cfg->period_ns : 1000000000ull,
	    .sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CPU,
	    .disabled = 1,
	    .inherit = 1,	 /* every thread and child process */
	    .enable_on_exec = 1, /* from the application's exec on */
	    .exclude_kernel = 1,
	    .exclude_hv = 1,
	    .exclude_callchain_kernel = 1,
	    .mmap = 1, /* executable mappings, comm (exec), fork and exit: the module maps */
	    .mmap2 = 1,
	    .comm = 1,
	    .comm_exec = 1,
	    .task = 1,
	    .sample_id_all = 1,
	    .context_switch = cfg->cpuctxsw ? 1 : 0,
	    .use_clockid = 1,
	    .clockid = CLOCK_MONOTONIC,
	    .watermark = 1,
	};
	if (cfg->collecting) {
		/* windows: the side-band records come from a dummy event that stays on (as
		 * perf's tracking event), the cpu-clock event is switched with the windows */
		side = a;
		side.config = PERF_COUNT_SW_DUMMY;
		side.sample_period = 0;
		side.context_switch = 0;
		a.mmap = a.mmap2 = a.comm = a.comm_exec = a.task = 0;
	}
	if (cfg->sample && (cfg->backtrace == SAMPLER_BT_FP || cfg->backtrace == SAMPLER_BT_LBR))
		a.sample_type |= PERF_SAMPLE_CALLCHAIN;
	if (cfg->sample && cfg->backtrace == SAMPLER_BT_DWARF) {
		a.sample_type |= PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
		a.sample_regs_user = REGS_MASK;
		a.sample_stack_user = SAMPLER_STACK_BYTES;
	}

	s = xcalloc(1, sizeof(*s));
	s->cfg = *cfg;
	s->sock = s->stopfd = -1;
	pthread_mutex_init(&s->qlock, NULL);
	pthread_cond_init(&s->qcond, NULL);
	s->qmax = SAMPLER_QUEUE_MAX;
	if ((env = getenv("GPROF_CLI_SAMPLER_QUEUE_MB")) && *env && !gp_parse_u64(env, &v) && v &&
	    v <= (SAMPLER_QUEUE_MAX >> 20))
		s->qmax = (size_t)v << 20;
	if ((env = getenv("GPROF_CLI_SAMPLER_SLOW_US")) && *env && !gp_parse_u64(env, &v) &&
	    v <= 1000000)
		s->slow_us = (unsigned)v;
	s->flen = sizeof(struct gp_frame_hdr);
	s->rings = xcalloc((size_t)ncpu, sizeof(*s->rings));
	for (long cpu = 0; cpu < ncpu; cpu++) {
		struct ring *rg = &s->rings[s->nrings];
		size_t np = pages;
		long fd;

		a.wakeup_watermark = (uint32_t)(np * (size_t)page / 4);
		fd = perf_open(&a, cfg->pid, (int)cpu);
		if (fd < 0) {
			if (errno == ENODEV || errno == EINVAL || errno == ENXIO)
				continue; /* an offline CPU */
			snprintf(what, sizeof(what), "perf_event_open (cpu-clock, pid %d, cpu %ld)",
				 (int)cfg->pid, cpu);
			say_unavailable(what, errno);
			free_sampler(s);
			return 1;
		}
		rg->fd = (int)fd;
		rg->side_fd = -1;
		s->nrings++;
		for (;;) {
			rg->base = mmap(NULL, (np + 1) * (size_t)page, PROT_READ | PROT_WRITE,
					MAP_SHARED, rg->fd, 0);
			if (rg->base != MAP_FAILED || np <= 2)
				break;
			np /= 2; /* over the locked-memory limit (perf_event_mlock_kb) */
		}
		if (rg->base == MAP_FAILED) {
			rg->base = NULL;
			snprintf(what, sizeof(what), "mmap of the perf ring buffer (cpu %ld)", cpu);
			say_unavailable(what, errno);
			free_sampler(s);
			return 1;
		}
		rg->size = np * (size_t)page;
		if (cfg->collecting) {
			fd = perf_open(&side, cfg->pid, (int)cpu);
			if (fd < 0 || ioctl((int)fd, PERF_EVENT_IOC_SET_OUTPUT, rg->fd) != 0) {
				snprintf(what, sizeof(what),
					 "perf_event_open (dummy, side-band into cpu %ld's buffer)",
					 cpu);
				say_unavailable(what, errno);
				if (fd >= 0)
					close((int)fd);
				free_sampler(s);
				return 1;
			}
			rg->side_fd = (int)fd;
		}
	}
	if (!s->nrings) {
		say_unavailable("perf_event_open: no CPU", ENODEV);
		free_sampler(s);
		return 1;
	}
	s->stopfd = eventfd(0, EFD_CLOEXEC);
	if (s->stopfd < 0) {
		say_unavailable("eventfd", errno);
		free_sampler(s);
		return 1;
	}
	s->dcb.find_elf = dwfl_build_id_find_elf;
	s->dcb.find_debuginfo = report_symbols_find_debuginfo;
	s->dcb.debuginfo_path = &s->debuginfo_path;
	*out = s;
	return 0;
}

int sampler_start(struct sampler **sp, const char *channel, void *collecting_arg)
{
	struct sampler *s = *sp;
	struct gp_rec_sampling_config *k;

	if (!s)
		return 0;
	s->cfg.collecting_arg = collecting_arg;
	s->sock = connect_channel(channel);
	if (s->sock < 0) {
		warning("CPU sampling off: cannot connect to the recorder's channel '%s': %s",
			channel, strerror(errno));
		goto fail;
	}
	k = frame_room(s, sizeof(*k));
	k->h.type = GP_REC_SAMPLING_CONFIG;
	k->h.size = sizeof(*k);
	k->h.tid = (uint32_t)s->cfg.pid;
	k->sample = (uint8_t)s->cfg.sample;
	k->cpuctxsw = (uint8_t)s->cfg.cpuctxsw;
	k->unwind = s->cfg.backtrace == SAMPLER_BT_DWARF  ? GP_UNWIND_DWARF
		    : s->cfg.backtrace == SAMPLER_BT_NONE ? GP_UNWIND_NONE
							  : GP_UNWIND_FRAMEPOINTER;
	k->period_ns = s->cfg.period_ns;
	send_frame(s);	/* the tables exist before the application runs */
	s->enabled = 1; /* (enable_on_exec: on from the exec; the reader follows the windows) */
	if (pthread_create(&s->worker, NULL, worker_main, s) != 0) {
		warning("CPU sampling off: cannot start its threads");
		goto fail;
	}
	if (pthread_create(&s->thread, NULL, sampler_main, s) != 0) {
		warning("CPU sampling off: cannot start its threads");
		queue_flag(s, &s->qdone);
		pthread_join(s->worker, NULL);
		goto fail;
	}
	s->started = 1;
	return 0;
fail:
	free_sampler(s);
	*sp = NULL;
	return 1;
}

void sampler_stop(struct sampler *s, struct sampler_stats *st)
{
	uint64_t one = 1;
	struct gp_rec_sampling_loss *l;
	struct timespec until;

	memset(st, 0, sizeof(*st));
	if (!s)
		return;
	if (!s->started) { /* opened, never started (the session failed to start) */
		free_sampler(s);
		return;
	}
	for (unsigned i = 0; i < s->nrings; i++) { /* children left running */
		ioctl(s->rings[i].fd, PERF_EVENT_IOC_DISABLE, 0);
		if (s->rings[i].side_fd >= 0)
			ioctl(s->rings[i].side_fd, PERF_EVENT_IOC_DISABLE, 0);
	}
	if (write(s->stopfd, &one, sizeof(one)) != sizeof(one))
		one = 0;
	pthread_join(s->thread, NULL);
	/* the worker's backlog is used fully: said when that takes long */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += SAMPLER_BACKLOG_SAID_S;
	pthread_mutex_lock(&s->qlock);
	while (!s->wdone && pthread_cond_timedwait(&s->qcond, &s->qlock, &until) == 0)
		;
	if (!s->wdone)
		fprintf(stderr,
			"gprof-cli: CPU sampling: unwinding the %zu samples still queued (%.1f "
			"MiB) before the report is finished\n",
			s->qsamples, (double)s->qbytes / (1 << 20));
	pthread_mutex_unlock(&s->qlock);
	pthread_join(s->worker, NULL);
	s->st.cpu_ns += s->reader_cpu_ns;
	l = frame_room(s, sizeof(*l));
	l->h.type = GP_REC_SAMPLING_LOSS;
	l->h.size = sizeof(*l);
	l->samples = s->st.samples;
	l->lost_samples = s->st.lost_samples + s->st.queue_dropped; /* every record lost */
	l->unwind_failures = s->st.unwind_failures;
	l->switches = s->st.switches;
	l->sampler_cpu_ns = s->st.cpu_ns;
	l->python_unread = s->st.python_unread;
	send_frame(s);
	*st = s->st;
	free_sampler(s);
}
