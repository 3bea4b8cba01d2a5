/*
 * test_report_symbols.c - the symbol lookup of the CPU sampler and of the callchain
 * writers (core/report_symbols.c: report_symtab_name(), each module's sized symbols
 * sorted by address) names every address as libdwfl's dwfl_module_addrinfo() does, which
 * it replaces because it scans the whole symbol table for each address; and
 * report_symbols_find(), which keeps the names it found, names an address alike the first
 * time and after.  Modules: libc (versioned aliases at one address: realloc and
 * __libc_realloc, glob and glob64), libstdc++ (C1/C2 constructor aliases, labels) and this
 * test's own executable (a full .symtab, local and global symbols); in each, 5,000
 * addresses spread over the module and the first, second and last byte of every third
 * symbol (libdwfl's own lookup, the reference, takes 0.1-1 ms each).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>

#include <elfutils/libdwfl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/report_symbols.h"

static char *g_debuginfo;
static const Dwfl_Callbacks g_cb = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .debuginfo_path = &g_debuginfo,
};

/* Compare the two lookups at addr; returns 1 when addr has a symbol. */
static int same_name(const struct report_symtab *t, Dwfl_Module *m, uint64_t addr)
{
	GElf_Off off;
	GElf_Sym sym;
	const char *want = dwfl_module_addrinfo(m, addr, &off, &sym, NULL, NULL, NULL);
	const char *got = report_symtab_name(t, m, addr);

	if ((want == NULL) != (got == NULL) || (want && strcmp(want, got)))
		fail_msg("%#llx: dwfl_module_addrinfo %s, sorted table %s",
			 (unsigned long long)addr, want ? want : "(none)", got ? got : "(none)");
	return want != NULL;
}

static void check_module(const char *path)
{
	Dwfl *d = dwfl_begin(&g_cb);
	struct report_symtab *t;
	Dwfl_Module *m;
	GElf_Addr lo, hi;
	int nsym, named = 0, tried = 0;

	assert_non_null(d);
	dwfl_report_begin(d);
	m = dwfl_report_elf(d, path, path, -1, 0x10000000, false);
	dwfl_report_end(d, NULL, NULL);
	if (!m) {
		dwfl_end(d);
		print_message("%s: not readable here, skipped\n", path);
		return;
	}
	dwfl_module_info(m, NULL, &lo, &hi, NULL, NULL, NULL, NULL);
	nsym = dwfl_module_getsymtab(m);
	assert_true(nsym > 10);
	t = report_symtab_new(m);
	srand(1);
	for (int i = 0; i < 5000; i++, tried++)
		named += same_name(t, m, lo + (uint64_t)((double)rand() / RAND_MAX * (hi - lo)));
	for (int i = 1; i < nsym; i += 3) { /* (libdwfl's own lookup is the slow part) */
		GElf_Sym sym;
		GElf_Addr at;

		if (!dwfl_module_getsym_info(m, i, &sym, &at, NULL, NULL, NULL) ||
		    sym.st_shndx == SHN_UNDEF)
			continue;
		named += same_name(t, m, at) + same_name(t, m, at + 1);
		tried += 2;
		if (sym.st_size > 1) {
			named += same_name(t, m, at + sym.st_size - 1);
			tried++;
		}
	}
	print_message("%s: %d symbols, %d addresses, %d named alike, none differently\n", path,
		      nsym, tried, named);
	assert_true(named * 2 > tried);
	report_symtab_free(t);
	dwfl_end(d);
}

/* state: the module's path. */
static void test_module(void **state)
{
	check_module(*state);
}

/* report_symbols_find() in libc: a return address of a function's body names it, the
 * second lookup (from the kept names) as the first, with the symbol's version taken off;
 * an address past the file names nothing, twice; a file that does not exist, nothing. */
static void test_find_kept(void **state)
{
	static const Dwfl_Callbacks own_cb = {
	    /* (report_symbols' own: the file's symbols, no separate debug information) */
	    .find_elf = dwfl_build_id_find_elf,
	    .find_debuginfo = report_symbols_find_debuginfo,
	    .debuginfo_path = &g_debuginfo,
	};
	const char *libc = "/lib/x86_64-linux-gnu/libc.so.6";
	Dwfl *d = dwfl_begin(&own_cb);
	struct report_symbols *s = report_symbols_new();
	Dwfl_Module *m;
	GElf_Addr lo, hi;
	int nsym, checked = 0;

	dwfl_report_begin(d);
	m = dwfl_report_elf(d, libc, libc, -1, 0, false);
	dwfl_report_end(d, NULL, NULL);
	if (!m) {
		dwfl_end(d);
		report_symbols_free(s);
		skip();
	}
	dwfl_module_info(m, NULL, &lo, &hi, NULL, NULL, NULL, NULL);
	nsym = dwfl_module_getsymtab(m);
	for (int i = 1; i < nsym && checked < 200; i += 7) {
		GElf_Sym sym;
		GElf_Addr at;
		GElf_Off off;
		const char *want;
		char *first, *again, *bare;

		if (!dwfl_module_getsym_info(m, i, &sym, &at, NULL, NULL, NULL) ||
		    sym.st_shndx == SHN_UNDEF || sym.st_size < 4 ||
		    GELF_ST_TYPE(sym.st_info) != STT_FUNC)
			continue;
		want = dwfl_module_addrinfo(m, at + 1, &off, &sym, NULL, NULL, NULL);
		first = report_symbols_find(s, libc, at + 2, at + 2, 1); /* (looked up at + 1) */
		again = report_symbols_find(s, libc, at + 2, at + 2, 1);
		bare = want ? report_symbol_name(want) : NULL;
		assert_non_null(first);
		assert_non_null(again);
		assert_non_null(bare);
		assert_string_equal(first, bare);
		assert_string_equal(again, bare);
		assert_null(strchr(first, '@'));
		free(first);
		free(again);
		free(bare);
		checked++;
	}
	assert_true(checked > 50);
	assert_null(report_symbols_find(s, libc, hi + 4096, hi + 4096, 0));
	assert_null(report_symbols_find(s, libc, hi + 4096, hi + 4096, 0));
	assert_null(report_symbols_find(s, "/nonexistent/libnothing.so", 16, 16, 0));
	report_symbols_free(s);
	dwfl_end(d);
}

int main(void)
{
	static char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	struct CMUnitTest tests[4] = {
	    cmocka_unit_test_prestate(test_module, "/lib/x86_64-linux-gnu/libc.so.6"),
	    cmocka_unit_test_prestate(test_module, "/lib/x86_64-linux-gnu/libstdc++.so.6"),
	    cmocka_unit_test_prestate(test_module, self),
	    cmocka_unit_test(test_find_kept),
	};

	self[n > 0 ? n : 0] = 0;
	tests[0].name = "libc (versioned aliases)";
	tests[1].name = "libstdc++ (constructor aliases, labels)";
	tests[2].name = "own executable (.symtab, locals)";
	return cmocka_run_group_tests(tests, NULL, NULL);
}
