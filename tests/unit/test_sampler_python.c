/*
 * test_sampler_python.c - the CPython frame reader of --python-sampling and
 * --python-backtrace=cuda (core/wire_python.c): the layout chosen by file name and by the
 * Py_Version read from a process; the 3.11 and 3.12 tables against the field sizes of CPython's
 * structures and against tests/gpu/py_offsets_probe.py's copy (which the H200 run compares with a
 * live 3.12); py_read_frames walking interpreter state laid out in this process's memory as each
 * table says (3.12's shim frames skipped, the frames above them marked entry frames; -b dwarf's
 * stack copy taking precedence; the same state after an unreadable page, which py_walk's window
 * read stops at); py_line_of on a location table CPython 3.11 wrote.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/sampler_python.h"

static void test_by_name(void **state)
{
	(void)state;
	assert_ptr_equal(py_offsets_for_name("python3.11"), &py311_offsets);
	assert_ptr_equal(py_offsets_for_name("/usr/bin/python3.12"), &py312_offsets);
	assert_ptr_equal(py_offsets_for_name("/opt/x/lib/libpython3.12.so.1.0"), &py312_offsets);
	assert_ptr_equal(py_offsets_for_name("libpython3.11.so"), &py311_offsets);
	assert_null(py_offsets_for_name("/usr/bin/python3"));
	assert_null(py_offsets_for_name("python"));
	assert_null(py_offsets_for_name("python3.1"));
	assert_null(py_offsets_for_name("python3.13"));
	assert_null(py_offsets_for_name("python3.12-config"));
	assert_null(py_offsets_for_name("libpython3.10.so.1.0"));
	assert_null(py_offsets_for_name("/usr/lib/x86_64-linux-gnu/libc.so.6"));

	assert_true(py_maybe_python("/opt/torch/.venv/bin/python"));
	assert_true(py_maybe_python("python3"));
	assert_true(py_maybe_python("/usr/lib/libpython3.13.so.1.0"));
	assert_false(py_maybe_python("/usr/lib/x86_64-linux-gnu/libc.so.6"));
	assert_false(py_maybe_python("/usr/bin/perl"));
}

static void test_by_version(void **state)
{
	unsigned long v312 = 0x030c03f0, v313 = 0x030d00f0, junk = 0x12345678, hex = 1;

	(void)state;
	assert_ptr_equal(py_offsets_for_version(0x030b07f0), &py311_offsets);
	assert_ptr_equal(py_offsets_for_version(0x030c05f0), &py312_offsets);
	assert_null(py_offsets_for_version(0x030a0cf0));
	assert_null(py_offsets_for_version(0x030d00f0));
	/* the version read from the process wins over the name ("python3" says nothing,
	 * "python3.11" is overridden) */
	assert_ptr_equal(py_offsets_of_process(getpid(), (uintptr_t)&v312, "python3", &hex),
			 &py312_offsets);
	assert_int_equal(hex, v312);
	assert_ptr_equal(py_offsets_of_process(getpid(), (uintptr_t)&v312, "python3.11", &hex),
			 &py312_offsets);
	/* a version without a table: none, whatever the name */
	assert_null(py_offsets_of_process(getpid(), (uintptr_t)&v313, "python3.12", &hex));
	assert_int_equal(hex, v313);
	/* no Py_Version, or not a 3.x value there: the name decides */
	assert_ptr_equal(py_offsets_of_process(getpid(), 0, "/usr/bin/python3.12", &hex),
			 &py312_offsets);
	assert_int_equal(hex, 0);
	assert_ptr_equal(py_offsets_of_process(getpid(), (uintptr_t)&junk, "python3.11", &hex),
			 &py311_offsets);
	assert_null(py_offsets_of_process(getpid(), 0, "python3", &hex));
}

/* The tables against the sizes of the fields that precede each one in CPython's
 * structures (x86-64: pointers and Py_ssize_t 8 bytes, int 4). */
static void test_tables(void **state)
{
	const struct py_offsets *o = &py312_offsets, *p = &py311_offsets;

	(void)state;
	assert_int_equal(p->version, 0x030b);
	assert_int_equal(o->version, 0x030c);
	/* _PyInterpreterFrame 3.12: f_code, previous, f_funcobj, f_globals, f_builtins,
	 * f_locals, frame_obj, prev_instr, int stacktop, uint16_t return_offset, char owner */
	assert_int_equal(o->frame_code, 0);
	assert_int_equal(o->frame_previous, o->frame_code + 8);
	assert_int_equal(o->frame_prev_instr, o->frame_previous + 6 * 8);
	assert_int_equal(o->frame_owner, o->frame_prev_instr + 8 + 4 + 2);
	assert_int_equal(o->frame_is_entry, 0);
	/* 3.11: f_func, f_globals, f_builtins, f_locals, f_code, frame_obj, previous,
	 * prev_instr, int stacktop, bool is_entry; no owner read */
	assert_int_equal(p->frame_code, 4 * 8);
	assert_int_equal(p->frame_previous, p->frame_code + 2 * 8);
	assert_int_equal(p->frame_prev_instr, p->frame_previous + 8);
	assert_int_equal(p->frame_is_entry, p->frame_prev_instr + 8 + 4);
	assert_int_equal(p->frame_owner, 0);
	/* _PyCFrame: 3.11 has uint8_t use_tracing first, 3.12 not */
	assert_int_equal(p->cframe_current_frame, 8);
	assert_int_equal(o->cframe_current_frame, 0);
	/* PyThreadState 3.12: prev, next, interp, _status (4), six ints, cframe, then seven
	 * pointers (c_profilefunc .. dict), int gilstate_counter (padded), async_exc,
	 * thread_id, native_thread_id */
	assert_int_equal(o->tstate_next, 8);
	assert_int_equal(o->tstate_cframe, 3 * 8 + 4 + 6 * 4 + 4 /* padding */);
	assert_int_equal(o->tstate_native_thread_id, o->tstate_cframe + 8 + 7 * 8 + 8 + 8 + 8);
	/* PyCodeObject 3.12: PyVarObject (24), three pointers, 12 ints (the last co_version),
	 * then two pointers before co_filename, co_name, co_qualname, co_linetable */
	assert_int_equal(o->code_firstlineno, 24 + 3 * 8 + 5 * 4);
	assert_int_equal(o->code_filename, 24 + 3 * 8 + 12 * 4 + 2 * 8);
	assert_int_equal(o->code_qualname, o->code_filename + 2 * 8);
	assert_int_equal(o->code_linetable, o->code_qualname + 8);
	/* then co_weakreflist, _co_cached, _co_instrumentation_version, _co_monitoring,
	 * int _co_firsttraceable (padded), co_extra */
	assert_int_equal(o->code_adaptive, o->code_linetable + 8 + 5 * 8 + 8);
	/* same file, name, line table places in both; the code units further on in 3.12 */
	assert_int_equal(o->code_filename, p->code_filename);
	assert_int_equal(o->code_qualname, p->code_qualname);
	assert_int_equal(o->code_linetable, p->code_linetable);
	assert_true(o->code_adaptive > p->code_adaptive);
	/* str: PyObject (16), length, hash, state (4, padded): 40; 3.11 adds wstr (48);
	 * compact adds utf8_length and utf8 (3.11: and wstr_length) */
	assert_int_equal(o->ascii_header, 16 + 8 + 8 + 8);
	assert_int_equal(o->compact_header, o->ascii_header + 2 * 8);
	assert_int_equal(p->ascii_header, o->ascii_header + 8);
	assert_int_equal(p->compact_header, p->ascii_header + 3 * 8);
	/* bytes: PyVarObject, ob_shash, ob_sval */
	assert_int_equal(o->var_size, 16);
	assert_int_equal(o->bytes_data, 32);
	assert_int_equal(p->bytes_data, 32);
}

#define FIELD(f)                                                                                   \
	{                                                                                          \
#f, offsetof(struct py_offsets, f)                                                 \
	}

/* tests/gpu/py_offsets_probe.py's EXPECTED tables are the C tables, field by field. */
static void test_probe_agrees(void **state)
{
	static const struct {
		const char *name;
		size_t off;
	} fields[] = {FIELD(runtime_interp_head),
		      FIELD(interp_threads_head),
		      FIELD(tstate_next),
		      FIELD(tstate_cframe),
		      FIELD(tstate_native_thread_id),
		      FIELD(cframe_current_frame),
		      FIELD(frame_code),
		      FIELD(frame_previous),
		      FIELD(frame_prev_instr),
		      FIELD(frame_is_entry),
		      FIELD(frame_owner),
		      FIELD(code_filename),
		      FIELD(code_qualname),
		      FIELD(code_firstlineno),
		      FIELD(code_linetable),
		      FIELD(code_adaptive),
		      FIELD(ascii_header),
		      FIELD(compact_header),
		      FIELD(bytes_data),
		      FIELD(var_size)};
	const size_t nf = sizeof(fields) / sizeof(fields[0]);
	FILE *f = fopen("tests/gpu/py_offsets_probe.py", "r");
	const struct py_offsets *t = NULL;
	char line[256];
	int seen[2] = {0, 0};

	(void)state;
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char name[64];
		unsigned minor;
		size_t v;

		if (strstr(line, "FRAME_OWNED_BY_CSTACK = "))
			break; /* past EXPECTED */
		if (sscanf(line, " (3, %u): {", &minor) == 1) {
			t = py_offsets_for_version(0x03000000ul | minor << 16);
			assert_non_null(t);
			continue;
		}
		if (!t || sscanf(line, " \"%63[a-z_]\": %zu,", name, &v) != 2)
			continue;
		for (size_t i = 0; i <= nf; i++) {
			if (i == nf)
				fail_msg("probe field %s is not in struct py_offsets", name);
			if (strcmp(fields[i].name, name))
				continue;
			if (*(const size_t *)((const char *)t + fields[i].off) != v)
				fail_msg("%s: %zu in the probe, %zu in the table of 3.%u", name, v,
					 *(const size_t *)((const char *)t + fields[i].off),
					 t->version & 0xff);
			seen[t == &py312_offsets]++;
			break;
		}
	}
	fclose(f);
	assert_int_equal(seen[0], nf);
	assert_int_equal(seen[1], nf);
}

/* ---- interpreter state laid out in this process, as a table says ---------------------- */

struct fake {
	unsigned char *mem;
	size_t used;
};

static uint64_t carve(struct fake *m, size_t n)
{
	uint64_t at = (uintptr_t)m->mem + m->used;

	m->used += (n + 15) & ~(size_t)15;
	assert_true(m->used <= 65536);
	return at;
}

static void put64(uint64_t at, uint64_t v)
{
	memcpy((void *)(uintptr_t)at, &v, 8);
}

/* A compact str (one byte per character): ASCII, or Latin-1 when it has bytes >= 0x80. */
static uint64_t fake_str(struct fake *m, const struct py_offsets *o, const char *text)
{
	size_t n = strlen(text);
	int ascii = 1;
	uint64_t s;
	uint32_t state;

	for (size_t i = 0; i < n; i++)
		ascii &= (unsigned char)text[i] < 0x80;
	s = carve(m, o->compact_header + n + 1);
	put64(s + 16, n);
	state = 1u << 2 | 1u << 5 | (unsigned)ascii << 6; /* kind 1, compact, ascii */
	memcpy((void *)(uintptr_t)(s + 32), &state, 4);
	memcpy((void *)(uintptr_t)(s + (ascii ? o->ascii_header : o->compact_header)), text, n);
	return s;
}

/* A code object first at line `first` whose location table gives units 0-3 that line,
 * units 4-7 the line two further on ("no column" entries). */
static uint64_t fake_code(struct fake *m, const struct py_offsets *o, const char *name,
			  const char *file, int first)
{
	static const unsigned char table[] = {0x80 | 13 << 3 | 3, 0x00, 0x80 | 13 << 3 | 3, 0x04};
	uint64_t c = carve(m, o->code_adaptive + 16), lt = carve(m, o->bytes_data + 8);

	put64(c + o->code_qualname, fake_str(m, o, name));
	put64(c + o->code_filename, fake_str(m, o, file));
	memcpy((void *)(uintptr_t)(c + o->code_firstlineno), &first, 4);
	put64(lt + o->var_size, sizeof(table));
	memcpy((void *)(uintptr_t)(lt + o->bytes_data), table, sizeof(table));
	put64(c + o->code_linetable, lt);
	return c;
}

/* A frame running code at code unit `unit`, `entry`: 3.11's is_entry byte; 3.12 marks
 * entries with a shim frame below (owner FRAME_OWNED_BY_CSTACK). */
static uint64_t fake_frame(struct fake *m, const struct py_offsets *o, uint64_t code, int unit,
			   int entry)
{
	uint64_t f = carve(m, 80);

	put64(f + o->frame_code, code);
	put64(f + o->frame_prev_instr, code + o->code_adaptive + 2 * (uint64_t)unit);
	if (o->frame_is_entry)
		*(unsigned char *)(uintptr_t)(f + o->frame_is_entry) = (unsigned char)entry;
	return f;
}

static void link_frames(struct fake *m, const struct py_offsets *o, const uint64_t *f,
			const int *entry, int n, uint64_t shim_code)
{
	for (int i = 0; i < n; i++) {
		uint64_t below = i + 1 < n ? f[i + 1] : 0;

		if (entry[i] && o->frame_owner) {
			uint64_t shim = fake_frame(m, o, shim_code, 0, 0);

			*(unsigned char *)(uintptr_t)(shim + o->frame_owner) =
			    PY_FRAME_OWNED_BY_CSTACK;
			put64(shim + o->frame_previous, below);
			below = shim;
		}
		put64(f[i] + o->frame_previous, below);
	}
}

/* The walk over fake interpreter state laid out as `o` says; guarded: the state starts
 * right after a page that cannot be read (PROT_NONE), as a thread's first data stack chunk
 * may follow an unmapped page: py_walk's window read stops there and keeps what it read. */
static void walk(const struct py_offsets *o, int guarded)
{
	unsigned char *map =
	    mmap(NULL, 4096 + 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct fake m = {map + 4096, 0};
	uint64_t rt, interp, ts_other, ts, cf, code[3], f[3], shim_code;
	static const int entry[3] = {0, 1, 1};
	struct py_frame out[8];
	unsigned char stack[64];
	struct py_stack st;
	int n;

	assert_true(map != MAP_FAILED);
	if (guarded)
		assert_int_equal(mprotect(map, 4096, PROT_NONE), 0);
	rt = carve(&m, 256);
	interp = carve(&m, 256);
	ts_other = carve(&m, 256);
	ts = carve(&m, 256);
	cf = carve(&m, 32);
	put64(rt + o->runtime_interp_head, interp);
	put64(interp + o->interp_threads_head, ts_other);
	put64(ts_other + o->tstate_native_thread_id, 1111);
	put64(ts_other + o->tstate_next, ts);
	put64(ts + o->tstate_native_thread_id, 4242);
	put64(ts + o->tstate_cframe, cf);
	code[0] = fake_code(&m, o, "Model.forward", "/w/model.py", 40);
	code[1] = fake_code(&m, o, "train", "/w/caf\xe9.py", 10);
	code[2] = fake_code(&m, o, "<module>", "/w/main.py", 1);
	shim_code = fake_code(&m, o, "<shim>", "<shim>", 0);
	f[0] = fake_frame(&m, o, code[0], 5, entry[0]);
	f[1] = fake_frame(&m, o, code[1], 2, entry[1]);
	f[2] = fake_frame(&m, o, code[2], 7, entry[2]);
	link_frames(&m, o, f, entry, 3, shim_code);
	put64(cf + o->cframe_current_frame, f[0]);

	n = py_read_frames(getpid(), o, rt, 4242, NULL, out, 8);
	assert_int_equal(n, 3);
	assert_string_equal(out[0].name, "Model.forward");
	assert_string_equal(out[0].file, "/w/model.py");
	assert_int_equal(out[0].line, 42);
	assert_int_equal(out[0].is_entry, 0);
	assert_string_equal(out[1].name, "train");
	assert_string_equal(out[1].file, "/w/caf?.py"); /* Latin-1: ASCII kept */
	assert_int_equal(out[1].line, 10);
	assert_int_equal(out[1].is_entry, 1);
	assert_string_equal(out[2].name, "<module>");
	assert_int_equal(out[2].line, 3);
	assert_int_equal(out[2].is_entry, 1);
	/* at most max */
	assert_int_equal(py_read_frames(getpid(), o, rt, 4242, NULL, out, 2), 2);
	/* -b dwarf: the _PyCFrame as the sample's stack copy holds it (one frame out) */
	memset(stack, 0, sizeof(stack));
	memcpy(stack + 16 + o->cframe_current_frame, &f[1], 8);
	st = (struct py_stack){stack, cf - 16, sizeof(stack)};
	n = py_read_frames(getpid(), o, rt, 4242, &st, out, 8);
	assert_int_equal(n, 2);
	assert_string_equal(out[0].name, "train");
	/* a thread without a thread state; a runtime that cannot be read */
	assert_int_equal(py_read_frames(getpid(), o, rt, 999, NULL, out, 8), 0);
	assert_int_equal(py_read_frames(getpid(), o, 8, 4242, NULL, out, 8), -1);
	/* a chain read while it changes: a `previous` near 2^64 ends the walk there (it
	 * crashed the sampler: the window test's addr + n wrapped into the window) */
	put64(f[0] + o->frame_previous, UINT64_MAX - 7);
	assert_int_equal(py_read_frames(getpid(), o, rt, 4242, NULL, out, 8), 1);
	assert_string_equal(out[0].name, "Model.forward");
	munmap(map, 4096 + 65536);
}

static void test_walk_311(void **state)
{
	(void)state;
	walk(&py311_offsets, 0);
	walk(&py311_offsets, 1);
}

static void test_walk_312(void **state)
{
	(void)state;
	walk(&py312_offsets, 0);
	walk(&py312_offsets, 1);
}

/* A location table CPython 3.11 compiled (def f(a, b) over 10 lines, with a
 * comprehension split over two lines, a long-form entry and negative line deltas) and the
 * line of each code unit per its co_lines(); 3.12 keeps the format. */
static void test_line_table(void **state)
{
	static const unsigned char t[] = {
	    0xf8, 0x80, 0x00, 0xd8, 0x08, 0x09, 0x88, 0x41, 0x89, 0x05, 0x80, 0x41, 0xd8, 0x07,
	    0x08, 0x88, 0x31, 0x82, 0x75, 0x80, 0x75, 0xf0, 0x02, 0x01, 0x0d, 0x20, 0xf0, 0x00,
	    0x01, 0x0d, 0x20, 0xf0, 0x00, 0x01, 0x0d, 0x20, 0xf0, 0x00, 0x01, 0x0d, 0x20, 0xdd,
	    0x16, 0x1b, 0x98, 0x41, 0x91, 0x68, 0x94, 0x68, 0xf0, 0x03, 0x01, 0x0d, 0x20, 0xf1,
	    0x00, 0x01, 0x0d, 0x20, 0xf4, 0x00, 0x01, 0x0d, 0x20, 0x88, 0x01, 0x88, 0x01, 0xf0,
	    0x06, 0x00, 0x0d, 0x11, 0x88, 0x01, 0xe0, 0x0c, 0x0d, 0xd8, 0x0c, 0x0d, 0xf0, 0x03,
	    0x01, 0x0c, 0x0f, 0xf0, 0x00, 0x01, 0x05, 0x0f};
	static const int lines[47] = {0, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3,  4, 4, 4,
				      4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,  5, 5, 4,
				      4, 4, 4, 4, 4, 4, 4, 4, 4, 7, 7, 9, 10, 9, 9};

	(void)state;
	for (int u = 0; u < 47; u++)
		assert_int_equal(py_line_of(t, sizeof(t), 1, u), lines[u]);
	assert_int_equal(py_line_of(t, sizeof(t), 1, 47), 0); /* past the end */
	assert_int_equal(py_line_of(t, sizeof(t), 101, 13), 104);
	assert_int_equal(py_line_of((const unsigned char *)"\x01\x02", 2, 1, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_by_name),    cmocka_unit_test(test_by_version),
	    cmocka_unit_test(test_tables),     cmocka_unit_test(test_probe_agrees),
	    cmocka_unit_test(test_walk_311),   cmocka_unit_test(test_walk_312),
	    cmocka_unit_test(test_line_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
