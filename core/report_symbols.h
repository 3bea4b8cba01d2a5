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

/* Files opened so far, each with its symbol table (one Dwfl per file).  Not thread-safe. */
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

#endif
