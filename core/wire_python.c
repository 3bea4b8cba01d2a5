/*
 * wire_python.c - CPython 3.11 and 3.12 frames of a thread, read from its process's
 * memory (see wire_python.h).  The offsets are those of CPython's
 * structures on x86-64, from its headers of each version (Include/internal/pycore_frame.h,
 * pycore_runtime.h, pycore_interp.h, Include/cpython/pystate.h, code.h, unicodeobject.h,
 * bytesobject.h), as tests/gpu/py_offsets_probe.py finds them in a running interpreter.
 */
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include "wire_python.h"

const struct py_offsets py311_offsets = {
    .version = 0x030b,
    .runtime_interp_head = 40,	    /* _PyRuntimeState.interpreters.head */
    .interp_threads_head = 16,	    /* PyInterpreterState.threads.head */
    .tstate_next = 8,		    /* PyThreadState.next */
    .tstate_cframe = 56,	    /* PyThreadState.cframe */
    .tstate_native_thread_id = 160, /* PyThreadState.native_thread_id */
    .cframe_current_frame = 8,	    /* _PyCFrame.current_frame (after use_tracing) */
    .frame_code = 32,		    /* _PyInterpreterFrame.f_code */
    .frame_previous = 48,	    /* _PyInterpreterFrame.previous */
    .frame_prev_instr = 56,	    /* _PyInterpreterFrame.prev_instr */
    .frame_is_entry = 68,	    /* _PyInterpreterFrame.is_entry */
    .frame_owner = 0,		    /* (not read: 3.11 has no shim frames) */
    .code_filename = 112,	    /* PyCodeObject.co_filename */
    .code_qualname = 128,	    /* PyCodeObject.co_qualname */
    .code_firstlineno = 72,	    /* PyCodeObject.co_firstlineno */
    .code_linetable = 136,	    /* PyCodeObject.co_linetable (bytes) */
    .code_adaptive = 184,	    /* PyCodeObject.co_code_adaptive (the code units) */
    .ascii_header = 48,		    /* sizeof(PyASCIIObject): with wstr */
    .compact_header = 72,	    /* sizeof(PyCompactUnicodeObject) */
    .bytes_data = 32,		    /* PyBytesObject.ob_sval */
    .var_size = 16,		    /* PyVarObject.ob_size */
};

/* 3.12: _PyInterpreterFrame reordered (f_code first), no is_entry (shim frames instead),
 * _PyCFrame without use_tracing, PyThreadState's tracing fields changed, PyInterpreterState
 * with more fields before threads, str without wstr, PyCodeObject with the
 * instrumentation fields before co_code_adaptive.  tests/gpu/py_offsets_probe.py found
 * every one in CPython 3.12.3 (Ubuntu 24.04's python3.12, the H200's PyTorch venv). */
const struct py_offsets py312_offsets = {
    .version = 0x030c,
    .runtime_interp_head = 40,	    /* _PyRuntimeState.interpreters.head: after five ints,
				       _finalizing and interpreters.mutex */
    .interp_threads_head = 72,	    /* PyInterpreterState.threads.head: after next, id,
				       id_refcount, requires_idref, id_mutex, _initialized,
				       finalizing, monitoring_version, last_restart_version and
				       threads.next_unique_id */
    .tstate_next = 8,		    /* PyThreadState.next (after prev) */
    .tstate_cframe = 56,	    /* PyThreadState.cframe: after interp, _status and six
				       ints (py_recursion_remaining .. what_event) */
    .tstate_native_thread_id = 144, /* PyThreadState.native_thread_id (after thread_id) */
    .cframe_current_frame = 0,	    /* _PyCFrame.current_frame: its first field now */
    .frame_code = 0,		    /* _PyInterpreterFrame.f_code */
    .frame_previous = 8,	    /* _PyInterpreterFrame.previous */
    .frame_prev_instr = 56,	    /* _PyInterpreterFrame.prev_instr: after f_funcobj, f_globals,
				       f_builtins, f_locals, frame_obj */
    .frame_is_entry = 0,	    /* (none in 3.12) */
    .frame_owner = 70,		    /* _PyInterpreterFrame.owner: after stacktop, return_offset */
    .code_filename = 112,	    /* PyCodeObject.co_filename */
    .code_qualname = 128,	    /* PyCodeObject.co_qualname */
    .code_firstlineno = 68,	    /* PyCodeObject.co_firstlineno (after co_stacksize) */
    .code_linetable = 136,	    /* PyCodeObject.co_linetable (bytes) */
    .code_adaptive = 192,	    /* PyCodeObject.co_code_adaptive: after _co_cached,
				       _co_instrumentation_version, _co_monitoring,
				       _co_firsttraceable and co_extra */
    .ascii_header = 40,		    /* sizeof(PyASCIIObject): length, hash, state; no wstr */
    .compact_header = 56,	    /* sizeof(PyCompactUnicodeObject): + utf8_length, utf8 */
    .bytes_data = 32,		    /* PyBytesObject.ob_sval (after ob_shash) */
    .var_size = 16,		    /* PyVarObject.ob_size */
};

static const struct py_offsets *const py_tables[] = {&py311_offsets, &py312_offsets};

const struct py_offsets *py_offsets_for_name(const char *path)
{
	const char *b = strrchr(path, '/');
	char exe[32], lib[40]; /* (room for any two %u: GCC checks the format) */

	b = b ? b + 1 : path;
	for (size_t i = 0; i < sizeof(py_tables) / sizeof(py_tables[0]); i++) {
		unsigned v = py_tables[i]->version;

		snprintf(exe, sizeof(exe), "python%u.%u", v >> 8, v & 0xff);
		snprintf(lib, sizeof(lib), "libpython%u.%u.so", v >> 8, v & 0xff);
		if (!strcmp(b, exe) || !strncmp(b, lib, strlen(lib)))
			return py_tables[i];
	}
	return NULL;
}

const struct py_offsets *py_offsets_for_version(unsigned long hexversion)
{
	for (size_t i = 0; i < sizeof(py_tables) / sizeof(py_tables[0]); i++)
		if (hexversion >> 16 == py_tables[i]->version)
			return py_tables[i];
	return NULL;
}

int py_maybe_python(const char *path)
{
	const char *b = strrchr(path, '/');

	b = b ? b + 1 : path;
	return !strncmp(b, "python", 6) || !strncmp(b, "libpython", 9);
}

static int rd(pid_t pid, uint64_t addr, void *buf, size_t n)
{
	struct iovec l = {buf, n}, r = {(void *)(uintptr_t)addr, n};

	return addr && process_vm_readv(pid, &l, 1, &r, 1, 0) == (ssize_t)n ? 0 : -1;
}

static uint64_t rd_ptr(pid_t pid, uint64_t addr, int *err)
{
	uint64_t v = 0;

	if (rd(pid, addr, &v, sizeof(v)) < 0)
		*err = 1;
	return v;
}

const struct py_offsets *py_offsets_of_process(pid_t pid, uint64_t py_version, const char *path,
					       unsigned long *hexversion)
{
	unsigned long v = 0;

	*hexversion = 0;
	if (py_version && rd(pid, py_version, &v, sizeof(v)) == 0 && v >> 24 == 3) {
		*hexversion = v;
		return py_offsets_for_version(v);
	}
	return py_offsets_for_name(path);
}

/* A str object's text into buf (ASCII and Latin-1 compact strings; others "?"). */
static void rd_str(pid_t pid, const struct py_offsets *o, uint64_t obj, char *buf, size_t size)
{
	unsigned char hdr[40]; /* PyASCIIObject up to state, in 3.11 and 3.12 */
	uint64_t len;
	uint32_t state;
	size_t n;

	snprintf(buf, size, "?");
	if (!obj || rd(pid, obj, hdr, sizeof(hdr)) < 0)
		return;
	memcpy(&len, hdr + 16, 8);
	memcpy(&state, hdr + 32, 4);
	/* state: interned 2 bits, kind 3, compact 1, ascii 1, then 3.11's ready or 3.12's
	 * statically_allocated */
	if (!(state & (1u << 5)) || ((state >> 2) & 7) != 1)
		return; /* not compact, or not one byte per character */
	n = len < size - 1 ? (size_t)len : size - 1;
	if (rd(pid, obj + ((state & (1u << 6)) ? o->ascii_header : o->compact_header), buf, n) < 0)
		n = 0;
	buf[n] = 0;
	if (!(state & (1u << 6))) /* Latin-1: keep ASCII, mark the rest */
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)buf[i] >= 0x80)
				buf[i] = '?';
}

static int varint(const unsigned char *t, size_t len, size_t *i)
{
	unsigned v = 0, shift = 0;

	while (*i < len) {
		unsigned char b = t[(*i)++];

		v |= (unsigned)(b & 63) << shift;
		shift += 6;
		if (!(b & 64) || shift > 24)
			break;
	}
	return (int)v;
}

static int svarint(const unsigned char *t, size_t len, size_t *i)
{
	int v = varint(t, len, i);

	return v & 1 ? -(v >> 1) : v >> 1;
}

int py_line_of(const unsigned char *t, size_t len, int first, int addr)
{
	int line = first, at = 0;
	size_t i = 0;

	while (i < len) {
		unsigned char b = t[i++];
		int code = (b >> 3) & 15, n = (b & 7) + 1;

		if (!(b & 128))
			return 0;	 /* out of step: not a 3.11 table */
		if (code == 15) {	 /* no location */
		} else if (code == 14) { /* long form */
			line += svarint(t, len, &i);
			varint(t, len, &i);
			varint(t, len, &i);
			varint(t, len, &i);
		} else if (code == 13) { /* no column */
			line += svarint(t, len, &i);
		} else if (code >= 10) { /* one-line forms: line delta code - 10 */
			line += code - 10;
			i += 2;
		} else { /* short forms: the same line */
			i += 1;
		}
		if (addr >= at && addr < at + n)
			return code == 15 ? 0 : line;
		at += n;
	}
	return 0;
}

/* The bytes of a frame and of a code object the walk reads, in one read each: up to the
 * last field either layout uses (frame: is_entry/owner at 68/70; code: co_linetable at 136) */
#define FRAME_BYTES 72
#define CODE_BYTES  144

static uint64_t get64(const unsigned char *b, size_t off)
{
	uint64_t v;

	memcpy(&v, b + off, 8);
	return v;
}

/* A window of the process's memory read in one process_vm_readv(2): the pages of an
 * address and up to WIN_BYTES below it.  A thread's frames are pushed on its data stack
 * (consecutive, the older at lower addresses), so one read usually holds a whole chain. */
#define WIN_BYTES 16384
struct win {
	uint64_t lo, hi; /* the bytes held: [lo, hi) */
	uint64_t base;	 /* the address of buf[0] */
	unsigned char buf[WIN_BYTES];
};

/* n bytes at addr, from w (read first when it does not hold them); NULL when unreadable. */
static const unsigned char *win_get(pid_t pid, struct win *w, uint64_t addr, size_t n)
{
	struct iovec l[WIN_BYTES / 4096], r[WIN_BYTES / 4096];
	uint64_t first = addr & ~4095ull, top = (addr + n + 4095) & ~4095ull, base;
	ssize_t got;
	int k = 0;

	/* (a frame chain read while it changes can hold any address: no addr + n here, which
	 * wraps near 2^64 into the window and sent a read far outside buf) */
	if (addr >= w->lo && addr < w->hi && w->hi - addr >= n)
		return w->buf + (addr - w->base);
	if (!addr || top - first > WIN_BYTES || top < first)
		return NULL;
	base = top - WIN_BYTES; /* buf[0] is this address */
	/* the pages of [addr, addr + n) first, then the ones below, nearest first: a read
	 * that stops at an unmapped page keeps what came before it */
	l[k] = (struct iovec){w->buf + (first - base), top - first};
	r[k++] = (struct iovec){(void *)(uintptr_t)first, top - first};
	for (uint64_t p = first - 4096; p >= base && p < first && k < WIN_BYTES / 4096; p -= 4096) {
		l[k] = (struct iovec){w->buf + (p - base), 4096};
		r[k++] = (struct iovec){(void *)(uintptr_t)p, 4096};
	}
	got = process_vm_readv(pid, l, (unsigned long)k, r, (unsigned long)k, 0);
	if (got < (ssize_t)(top - first)) {
		w->lo = w->hi = 0;
		return NULL;
	}
	w->base = base;
	w->hi = top;
	w->lo = first - (((uint64_t)got - (top - first)) & ~4095ull);
	return w->buf + (addr - base);
}

int py_walk(pid_t pid, const struct py_offsets *o, uint64_t runtime, pid_t tid,
	    const struct py_stack *st, struct py_frame_ref *out, int max)
{
	int err = 0, n = 0, guard = 0;
	uint64_t interp, ts, frame = 0, instr[PY_FRAMES_MAX];
	struct iovec l[PY_FRAMES_MAX], r[PY_FRAMES_MAX];
	unsigned char cb[PY_FRAMES_MAX][CODE_BYTES];
	struct win w;
	ssize_t got;

	interp = rd_ptr(pid, runtime + o->runtime_interp_head, &err);
	ts = interp ? rd_ptr(pid, interp + o->interp_threads_head, &err) : 0;
	for (; ts && !err && guard < 4096; guard++) {
		if (rd_ptr(pid, ts + o->tstate_native_thread_id, &err) == (uint64_t)tid) {
			uint64_t cf = rd_ptr(pid, ts + o->tstate_cframe, &err);

			uint64_t at = cf + o->cframe_current_frame;

			/* the _PyCFrame is on the C stack of _PyEval_EvalFrameDefault: in the
			 * sample's copy of the stack, its frame as it was at the sample */
			if (cf && st && at >= st->sp && at - st->sp + 8 <= st->len)
				memcpy(&frame, st->data + (at - st->sp), 8);
			else
				frame = cf ? rd_ptr(pid, at, &err) : 0;
			break;
		}
		ts = rd_ptr(pid, ts + o->tstate_next, &err);
	}
	if (err)
		return -1;
	if (max > PY_FRAMES_MAX)
		max = PY_FRAMES_MAX;
	w.lo = w.hi = 0;
	while (frame && n < max && guard++ < 8192) {
		const unsigned char *fb = win_get(pid, &w, frame, FRAME_BYTES);
		uint64_t code;

		if (!fb || !(code = get64(fb, o->frame_code)))
			break;
		if (o->frame_owner && fb[o->frame_owner] == PY_FRAME_OWNED_BY_CSTACK) {
			/* 3.12's shim below the first frame of a _PyEval_EvalFrameDefault call:
			 * not a Python function; the frame above it is that call's entry */
			if (n > 0)
				out[n - 1].is_entry = 1;
			frame = get64(fb, o->frame_previous);
			continue;
		}
		memset(&out[n], 0, sizeof(out[n]));
		out[n].ref.code = code;
		out[n].is_entry = o->frame_is_entry && fb[o->frame_is_entry] != 0;
		instr[n] = get64(fb, o->frame_prev_instr);
		l[n] = (struct iovec){cb[n], CODE_BYTES};
		r[n] = (struct iovec){(void *)(uintptr_t)code, CODE_BYTES};
		n++;
		frame = get64(fb, o->frame_previous);
	}
	/* the code objects in one read; past one that fails, one read each */
	got = n ? process_vm_readv(pid, l, (unsigned long)n, r, (unsigned long)n, 0) : 0;
	for (int i = 0; i < n; i++) {
		struct py_code_ref *f = &out[i].ref;
		uint64_t code = f->code;

		if ((got < 0 || (size_t)got < (size_t)(i + 1) * CODE_BYTES) &&
		    rd(pid, code, cb[i], CODE_BYTES) < 0)
			continue;
		f->qualname = get64(cb[i], o->code_qualname);
		f->filename = get64(cb[i], o->code_filename);
		f->linetable = get64(cb[i], o->code_linetable);
		memcpy(&f->first, cb[i] + o->code_firstlineno, sizeof(f->first));
		f->addr = instr[i] >= code + o->code_adaptive
			      ? (int64_t)((instr[i] - (code + o->code_adaptive)) / 2)
			      : -1;
	}
	return n;
}

void py_describe(pid_t pid, const struct py_offsets *o, const struct py_code_ref *ref,
		 struct py_frame *f)
{
	unsigned char table[4096];
	uint64_t tlen = 0;

	rd_str(pid, o, ref->qualname, f->name, sizeof(f->name));
	rd_str(pid, o, ref->filename, f->file, sizeof(f->file));
	f->line = 0;
	if (ref->linetable && ref->addr >= 0 && ref->addr <= INT32_MAX &&
	    rd(pid, ref->linetable + o->var_size, &tlen, sizeof(tlen)) == 0 && tlen &&
	    tlen <= sizeof(table) &&
	    rd(pid, ref->linetable + o->bytes_data, table, (size_t)tlen) == 0)
		f->line = py_line_of(table, (size_t)tlen, ref->first, (int)ref->addr);
}

int py_read_frames(pid_t pid, const struct py_offsets *o, uint64_t runtime, pid_t tid,
		   const struct py_stack *st, struct py_frame *out, int max)
{
	struct py_frame_ref refs[PY_FRAMES_MAX];
	int n = py_walk(pid, o, runtime, tid, st, refs, max < PY_FRAMES_MAX ? max : PY_FRAMES_MAX);

	for (int i = 0; i < n; i++) {
		py_describe(pid, o, &refs[i].ref, &out[i]);
		out[i].is_entry = refs[i].is_entry;
	}
	return n;
}
