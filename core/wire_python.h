/*
 * wire_python.h - the Python frames of a CPython 3.11 or 3.12 thread, read from a process's
 * memory with process_vm_readv(2) (fault-safe: an address gone or not mapped fails the
 * read, never the reader), as py-spy does in its non-blocking mode.  Two users: gprof-cli's
 * sampler reads a sampled thread of another process (`profile --python-sampling`,
 * core/sampler.c), and the cuda collector reads its own calling thread (pid getpid()) at
 * the exit of a CUDA API call it backtraces (`--python-backtrace=cuda`, collectors/cuda.c):
 * hence the wire layer, which both the recorder and the injected library link.  The walk:
 * _PyRuntime (an exported symbol of the python3.1x executable or libpython3.1x) ->
 * interpreters.head -> threads.head -> the PyThreadState whose native_thread_id is the sampled
 * thread -> cframe->current_frame -> the _PyInterpreterFrame chain (previous), each frame's code
 * object (co_qualname, co_filename, co_firstlineno, co_linetable) and the instruction it
 * is at (prev_instr), whose line the location table gives (the same format in 3.11 and
 * 3.12).  The layout is chosen per process: by Py_Version (PY_VERSION_HEX, exported by
 * 3.11 and later) read from the process, else by the file's name.  The offsets are
 * CPython's on x86-64, one table per version (wire_python.c);
 * tests/gpu/py_offsets_probe.py finds them in a running interpreter and compares.
 *
 * 3.11 marks the first frame of each _PyEval_EvalFrameDefault call (is_entry); 3.12
 * instead puts a shim frame, owned by the C stack, below it: the reader skips shims and
 * marks the frame above one as the entry frame.
 *
 * The memory is read when the sampler processes the sample, up to SAMPLER_POLL_MS later,
 * not at the sample's instant.  With -b dwarf the innermost frame is the one of the
 * sample (from its copy of the C stack), the frames' code objects and lines are read
 * later: a frame popped and reused in between shows its new function (py-spy's
 * non-blocking mode has the same limit; with -b fp the whole chain is read later).  A
 * process already gone gives none.  Read by the thread itself (the cuda collector), the
 * frame chain is the reader's own and holds still; the thread-state list may change under
 * it (threads starting, ending): a pointer gone fails its read, and every loop is bounded.
 */
#ifndef GPROF_WIRE_PYTHON_H
#define GPROF_WIRE_PYTHON_H

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

/* A CPython version's x86-64 offsets (bytes) this reader uses; 0 for a field the version
 * does not have (frame_is_entry in 3.12, frame_owner in 3.11). */
struct py_offsets {
	unsigned version; /* major << 8 | minor: 0x030b for 3.11 */
	size_t runtime_interp_head, interp_threads_head, tstate_next, tstate_cframe,
	    tstate_native_thread_id, cframe_current_frame, frame_code, frame_previous,
	    frame_prev_instr, frame_is_entry, frame_owner, code_filename, code_qualname,
	    code_firstlineno, code_linetable, code_adaptive, ascii_header, compact_header,
	    bytes_data, var_size;
};
extern const struct py_offsets py311_offsets, py312_offsets;

/* _PyInterpreterFrame.owner of 3.12's shim frames (FRAME_OWNED_BY_CSTACK). */
#define PY_FRAME_OWNED_BY_CSTACK 3

/* The table of a CPython interpreter or library by its file name ("python3.12",
 * "/usr/lib/libpython3.11.so.1.0"); NULL for other names, "python3" among them. */
const struct py_offsets *py_offsets_for_name(const char *path);

/* The table of PY_VERSION_HEX `hexversion` (0x030c05f0 is 3.12.5); NULL when none. */
const struct py_offsets *py_offsets_for_version(unsigned long hexversion);

/* 1 when the file's name may be a CPython interpreter or library ("python", "python3",
 * "python3.12", "libpython3.12.so.1.0"): the sampler looks in it for _PyRuntime. */
int py_maybe_python(const char *path);

/*
 * The table for process `pid` whose file `path` holds _PyRuntime: by the Py_Version
 * variable at `py_version` in its memory (0: the file exports none), else by the name.
 * NULL when the version has no table.  *hexversion gets the version read (0: none).
 */
const struct py_offsets *py_offsets_of_process(pid_t pid, uint64_t py_version, const char *path,
					       unsigned long *hexversion);

/* The sample's copy of the thread's user stack (-b dwarf): `len` bytes from address sp. */
struct py_stack {
	const unsigned char *data;
	uint64_t sp, len;
};

/*
 * Read the Python frames of thread `tid` of process `pid` whose _PyRuntime is at
 * `runtime`, laid out as `o` says: up to `max` into out, innermost first.  st (NULL: none): the
 * sample's stack copy; the innermost frame is then taken from it (the _PyCFrame of the running
 * _PyEval_EvalFrameDefault lives on the C stack), as it was at the sample, and only the
 * frames' contents are read later.  Returns the number read (0: the thread runs no
 * Python code, or has no thread state), or -1 when the memory could not be read (the
 * process is gone, or reading is not allowed).
 */
int py_read_frames(pid_t pid, const struct py_offsets *o, uint64_t runtime, pid_t tid,
		   const struct py_stack *st, struct py_frame *out, int max);

/* A Python frame as py_walk() finds it: its code object and the fields of it that name the
 * frame, read in one go; equal refs name the same function and line (a caller may cache
 * py_describe()'s answer by it: a code object freed and another made at its address would
 * need the same name, file and table objects to compare equal). */
struct py_code_ref {
	uint64_t code;		     /* the PyCodeObject (0: none) */
	uint64_t qualname, filename; /* its co_qualname, co_filename (str objects) */
	uint64_t linetable;	     /* its co_linetable (bytes object) */
	int64_t addr;		     /* the code unit being run (-1: unknown) */
	int32_t first;		     /* co_firstlineno */
	int32_t pad;
};
struct py_frame_ref {
	struct py_code_ref ref; /* all 0 but code when the code object could not be read */
	int is_entry;		/* as struct py_frame's */
};

/*
 * py_read_frames()'s walk alone: the frames of thread `tid`, innermost first, up to `max`
 * (at most PY_FRAMES_MAX) into out (3.12's shim frames skipped, as py_read_frames()).  Few
 * reads: the frames come through a 16 KiB window of memory (the thread's data stack holds
 * a chain's frames side by side: one process_vm_readv(2) for most chains), the code
 * objects in one batched read.  Same returns.  The cuda collector walks its own thread
 * with it on every backtraced call and names a frame with py_describe() only when its
 * cache has no name for the ref (~10 us for 22 frames on the CPU test machine).
 */
int py_walk(pid_t pid, const struct py_offsets *o, uint64_t runtime, pid_t tid,
	    const struct py_stack *st, struct py_frame_ref *out, int max);

/* The name, file and line of the frame `ref` (is_entry left alone): "?" for a text that
 * could not be read, line 0 when unknown. */
void py_describe(pid_t pid, const struct py_offsets *o, const struct py_code_ref *ref,
		 struct py_frame *f);

/* The line of code-unit index `addr` in a CPython 3.11/3.12 location table (co_linetable,
 * `len` bytes) of a code object whose first line is `first`; 0 when not found.
 * (Objects/locations.md, "Format of the locations table".) */
int py_line_of(const unsigned char *table, size_t len, int first, int addr);

#endif
