/*
 * sampler_python.c - CPython 3.11 frames of a sampled thread, read from the process's
 * memory (see sampler_python.h).
 */
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include "sampler_python.h"

const struct py_offsets py311_offsets = {
    .runtime_interp_head = 40,	    /* _PyRuntimeState.interpreters.head */
    .interp_threads_head = 16,	    /* PyInterpreterState.threads.head */
    .tstate_next = 8,		    /* PyThreadState.next */
    .tstate_cframe = 56,	    /* PyThreadState.cframe */
    .tstate_native_thread_id = 160, /* PyThreadState.native_thread_id */
    .cframe_current_frame = 8,	    /* _PyCFrame.current_frame */
    .frame_code = 32,		    /* _PyInterpreterFrame.f_code */
    .frame_previous = 48,	    /* _PyInterpreterFrame.previous */
    .frame_prev_instr = 56,	    /* _PyInterpreterFrame.prev_instr */
    .frame_is_entry = 68,	    /* _PyInterpreterFrame.is_entry */
    .code_filename = 112,	    /* PyCodeObject.co_filename */
    .code_qualname = 128,	    /* PyCodeObject.co_qualname */
    .code_firstlineno = 72,	    /* PyCodeObject.co_firstlineno */
    .code_linetable = 136,	    /* PyCodeObject.co_linetable (bytes) */
    .code_adaptive = 184,	    /* PyCodeObject.co_code_adaptive (the code units) */
    .ascii_header = 48,		    /* sizeof(PyASCIIObject) */
    .compact_header = 72,	    /* sizeof(PyCompactUnicodeObject) */
    .bytes_data = 32,		    /* PyBytesObject.ob_sval */
    .var_size = 16,		    /* PyVarObject.ob_size */
};

int py_is_python311(const char *path)
{
	const char *b = strrchr(path, '/');

	b = b ? b + 1 : path;
	return !strcmp(b, "python3.11") || !strncmp(b, "libpython3.11.so", 16);
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

/* A str object's text into buf (ASCII and Latin-1 compact strings; others "?"). */
static void rd_str(pid_t pid, uint64_t obj, char *buf, size_t size)
{
	const struct py_offsets *o = &py311_offsets;
	unsigned char hdr[48];
	uint64_t len;
	uint32_t state;
	size_t n;

	snprintf(buf, size, "?");
	if (!obj || rd(pid, obj, hdr, sizeof(hdr)) < 0)
		return;
	memcpy(&len, hdr + 16, 8);
	memcpy(&state, hdr + 32, 4);
	/* state: interned 2 bits, kind 3, compact 1, ascii 1, ready 1 */
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

int py_read_frames(pid_t pid, uint64_t runtime, pid_t tid, const struct py_stack *st,
		   struct py_frame *out, int max)
{
	const struct py_offsets *o = &py311_offsets;
	int err = 0, n = 0, guard = 0;
	uint64_t interp, ts, frame = 0;

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
	while (frame && n < max && guard++ < 8192) {
		uint64_t code = rd_ptr(pid, frame + o->frame_code, &err);
		uint64_t instr = rd_ptr(pid, frame + o->frame_prev_instr, &err);
		struct py_frame *f = &out[n];
		unsigned char entry = 0, table[4096];
		uint64_t lt, tlen = 0;
		int first = 0;

		if (err || !code)
			break;
		rd(pid, frame + o->frame_is_entry, &entry, 1);
		rd_str(pid, rd_ptr(pid, code + o->code_qualname, &err), f->name, sizeof(f->name));
		rd_str(pid, rd_ptr(pid, code + o->code_filename, &err), f->file, sizeof(f->file));
		rd(pid, code + o->code_firstlineno, &first, sizeof(first));
		lt = rd_ptr(pid, code + o->code_linetable, &err);
		f->line = 0;
		if (lt && rd(pid, lt + o->var_size, &tlen, sizeof(tlen)) == 0 && tlen &&
		    tlen <= sizeof(table) &&
		    rd(pid, lt + o->bytes_data, table, (size_t)tlen) == 0 &&
		    instr >= code + o->code_adaptive)
			f->line = py_line_of(table, (size_t)tlen, first,
					     (int)((instr - (code + o->code_adaptive)) / 2));
		f->is_entry = entry != 0;
		n++;
		frame = rd_ptr(pid, frame + o->frame_previous, &err);
	}
	return n;
}
