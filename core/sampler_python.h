/*
 * sampler_python.h - the Python frames of a sampled CPython 3.11 thread (`profile -s
 * process-tree`; nsys --python-sampling), read by gprof-cli's sampler (core/sampler.c) from
 * the process's memory (process_vm_readv(2)), as py-spy does in its non-blocking mode:
 * _PyRuntime (an exported symbol of the python3.11 executable or libpython3.11) ->
 * interpreters.head -> threads.head -> the PyThreadState whose native_thread_id is the
 * sampled thread -> cframe->current_frame -> the _PyInterpreterFrame chain (previous),
 * each frame's code object (co_qualname, co_filename, co_firstlineno, co_linetable) and
 * the instruction it is at (prev_instr), whose line the 3.11 location table gives.  The
 * offsets are CPython 3.11's on x86-64 (Include/internal, checked against the installed
 * headers by tests/unit/test_sampler_python.c when they are there).
 *
 * The memory is read when the sampler processes the sample, up to SAMPLER_POLL_MS later,
 * not at the sample's instant.  With -b dwarf the innermost frame is the one of the
 * sample (from its copy of the C stack), the frames' code objects and lines are read
 * later: a frame popped and reused in between shows its new function (py-spy's
 * non-blocking mode has the same limit; with -b fp the whole chain is read later).  A
 * process already gone gives none.
 */
#ifndef GPROF_SAMPLER_PYTHON_H
#define GPROF_SAMPLER_PYTHON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PY_FRAMES_MAX 64 /* Python frames read per sample at most */

/* One Python frame, innermost first. */
struct py_frame {
	char name[128]; /* co_qualname, e.g. "Model.forward" */
	char file[256]; /* co_filename */
	int line;	/* the line being run (0: unknown) */
	int is_entry;	/* the first Python frame of its _PyEval_EvalFrameDefault call */
};

/* CPython 3.11 x86-64 offsets (bytes) this reader uses. */
struct py_offsets {
	size_t runtime_interp_head, interp_threads_head, tstate_next, tstate_cframe,
	    tstate_native_thread_id, cframe_current_frame, frame_code, frame_previous,
	    frame_prev_instr, frame_is_entry, code_filename, code_qualname, code_firstlineno,
	    code_linetable, code_adaptive, ascii_header, compact_header, bytes_data, var_size;
};
extern const struct py_offsets py311_offsets;

/* 1 when the file name is CPython 3.11's interpreter or library ("python3.11",
 * "libpython3.11.so.1.0"), whose _PyRuntime this reader understands. */
int py_is_python311(const char *path);

/* The sample's copy of the thread's user stack (-b dwarf): `len` bytes from address sp. */
struct py_stack {
	const unsigned char *data;
	uint64_t sp, len;
};

/*
 * Read the Python frames of thread `tid` of process `pid` whose _PyRuntime is at
 * `runtime`: up to `max` into out, innermost first.  st (NULL: none): the sample's stack
 * copy; the innermost frame is then taken from it (the _PyCFrame of the running
 * _PyEval_EvalFrameDefault lives on the C stack), as it was at the sample, and only the
 * frames' contents are read later.  Returns the number read (0: the thread runs no
 * Python code, or has no thread state), or -1 when the memory could not be read (the
 * process is gone, or reading is not allowed).
 */
int py_read_frames(pid_t pid, uint64_t runtime, pid_t tid, const struct py_stack *st,
		   struct py_frame *out, int max);

/* The line of code-unit index `addr` in a CPython 3.11 location table (co_linetable,
 * `len` bytes) of a code object whose first line is `first`; 0 when not found.
 * (Objects/locations.md, "Format of the locations table".) */
int py_line_of(const unsigned char *table, size_t len, int first, int addr);

#endif
