/*
 * report_symbols.h - function names of code addresses, from the modules' ELF symbol
 * tables (elfutils' libdwfl), for the call stacks the recorder writes: the CPU sampler's
 * frames (core/sampler.c) and the OS runtime backtraces (core/report_osrt.c,
 * OSRT_CALLCHAINS).  Names are spelled as nsys shows them: C++ demangled
 * (core/kernel_name.h), without the ELF symbol version ("__libc_start_main", not
 * "__libc_start_main@@GLIBC_2.34").
 */
#ifndef GPROF_REPORT_SYMBOLS_H
#define GPROF_REPORT_SYMBOLS_H

#include <sqlite3.h>
#include <stdint.h>

/* The name to show for ELF symbol `elf_name`: without its version, demangled when it is a
 * C++ name.  Returns a new string (caller frees). */
char *report_symbol_name(const char *elf_name);

/* libdwfl's find_debuginfo callback, which finds none: symbols come from the files' own
 * symbol tables (.symtab, else .dynsym: the internal functions of a stripped library stay
 * unresolved, as nsys shows them), unwind tables from their .eh_frame.  Loading separate
 * debug information (/usr/lib/debug) cost the sampler ~1 ms a sample, decompressing it
 * again for every process; the sampler fell behind and Python frames were lost. */
#include <elfutils/libdwfl.h>
int report_symbols_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
				  Dwarf_Addr base, const char *file_name,
				  const char *debuglink_file, GElf_Word debuglink_crc,
				  char **debuginfo_file_name);

/*
 * A module's symbols sorted by address, for lookups in O(log n) that name what
 * dwfl_module_addrinfo() names (the symbols' order and bindings decide as in libdwfl),
 * which scans the whole symbol table for each address: 1.1 ms an address in libLLVM's
 * 46 k symbols on the H200 host, more in libtorch's hundreds of thousands.
 * report_symtab_new(): built from mod's symbol table (dwfl_module_getsymtab()); never
 * NULL (a table without symbols names nothing); freed with report_symtab_free(), before
 * mod's Dwfl ends.  report_symtab_name(): the (ELF, undemangled) name of the symbol of
 * addr, an address of mod as libdwfl reports it (a return address already less 1); where
 * no sized symbol holds addr, libdwfl's own lookup decides.  The string is libdwfl's
 * (valid while mod is); NULL when none.
 */
struct report_symtab;
struct report_symtab *report_symtab_new(Dwfl_Module *mod);
void report_symtab_free(struct report_symtab *t);
const char *report_symtab_name(const struct report_symtab *t, Dwfl_Module *mod, uint64_t addr);

/* Files opened so far, each with its symbol table (one Dwfl per file) and the names
 * looked up in it (report_symbols_find() looks up an address once).  Not thread-safe. */
struct report_symbols;

struct report_symbols *report_symbols_new(void);
void report_symbols_free(struct report_symbols *s);

/*
 * The name of the function holding an address of module `path`: `offset` is the
 * address less the module's load address (dladdr's dli_fbase; the ELF virtual address of
 * a position-independent file), `ip` the address itself (used for a fixed-address
 * executable, whose symbols are at their run-time addresses).  ret: the address is a
 * return address (a caller's frame): the call instruction before it is looked up.
 * Returns a new string (report_symbol_name(); caller frees), or NULL when the file cannot
 * be read or has no symbol there.
 */
char *report_symbols_find(struct report_symbols *s, const char *path, uint64_t offset, uint64_t ip,
			  int ret);

/*
 * The rows of one backtrace in a callchain table of nsys's layout (OSRT_CALLCHAINS,
 * CUDA_CALLCHAINS): `ins` is the table's prepared insert, whose parameters are, in this
 * order, ?1 id, ?2 symbol (StringIds: the function's name, "0x<ip>" when unresolved),
 * ?3 module (StringIds: the file's path, "[Unknown]" when no module holds the address),
 * ?4 unresolved (1 when no symbol was found), ?5 originalIP, ?6 stackDepth (0-based);
 * the other columns are the statement's own constants.  frames[0..n) come from the wire
 * innermost first (struct gp_osrt_frame: module path string ids of connection c); every
 * frame but the first is a return address.  `top`: NULL, or the name of the function
 * that must be frame 0 (a CUDA API function): the frames before the innermost frame whose
 * symbol is `top` (or `top` less a "_v<digits>" suffix, as CUPTI spells some names) are
 * left out (the CUDA driver's and runtime's internals above the API entry); when no frame
 * has that name, every frame is kept.  *syms is created on first use (the caller frees it
 * with report_symbols_free()).  Returns the number of rows written.
 */
struct report;
struct report_conn;
struct gp_osrt_frame;
uint32_t report_callchain_write(struct report *r, struct report_conn *c,
				struct report_symbols **syms, sqlite3_stmt *ins, int64_t id,
				const struct gp_osrt_frame *frames, uint32_t n, const char *top);

/* One Python frame of a backtrace (--python-backtrace=cuda), innermost first: the texts
 * are borrowed (the connection's strings); entry: the first Python frame of its
 * _PyEval_EvalFrameDefault call (core/wire_python.h). */
struct report_py_frame {
	const char *name; /* co_qualname; NULL: "?" */
	const char *file; /* co_filename; NULL: "?" */
	int line;	  /* 0: unknown */
	int entry;
};

/*
 * report_callchain_write() with the thread's Python frames py[0..npy) interleaved as the
 * sampler does (core/sampler.c add_python_frames()): before each native
 * _PyEval_EvalFrameDefault frame the Python frames it runs, up to its entry frame; those left
 * when the native frames have no more of them go last.  A Python row: symbol
 * "qualname (file.py:line)" (the file's base name), module the file's path, unresolved 0,
 * originalIP 0.  Returns the number of rows written (native and Python).
 */
uint32_t report_callchain_write_py(struct report *r, struct report_conn *c,
				   struct report_symbols **syms, sqlite3_stmt *ins, int64_t id,
				   const struct gp_osrt_frame *frames, uint32_t n, const char *top,
				   const struct report_py_frame *py, uint32_t npy);

#endif
