/*
 * report_symbols.c - function names of code addresses with elfutils' libdwfl (see
 * report_symbols.h).
 */
#include <elfutils/libdwfl.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_name.h"
#include "report_symbols.h"
#include "util.h"

struct sym_file {
	char *path;
	Dwfl *dwfl; /* NULL: the file could not be read */
	Dwfl_Module *mod;
	Dwarf_Addr start, end; /* the module's addresses (reported at base 0) */
};

struct report_symbols {
	struct i64map idx; /* fnv-1a of the path -> index in files */
	struct sym_file *files;
	size_t n;
	Dwfl_Callbacks cb;
	char *debuginfo_path;
};

char *report_symbol_name(const char *elf_name)
{
	size_t n = elf_name[0] ? strcspn(elf_name + 1, "@") + 1 : 0; /* (a leading @ stays) */
	char *bare = xasprintf("%.*s", (int)n, elf_name);
	char *dm = bare[0] == '_' && bare[1] == 'Z' ? kernel_name_demangle(bare) : NULL;

	if (!dm)
		return bare;
	free(bare);
	return dm;
}

int report_symbols_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
				  Dwarf_Addr base, const char *file_name,
				  const char *debuglink_file, GElf_Word debuglink_crc,
				  char **debuginfo_file_name)
{
	return -1;
}

struct report_symbols *report_symbols_new(void)
{
	struct report_symbols *s = xcalloc(1, sizeof(*s));

	s->cb.find_elf = dwfl_build_id_find_elf;
	s->cb.find_debuginfo = report_symbols_find_debuginfo;
	s->cb.debuginfo_path = &s->debuginfo_path;
	return s;
}

void report_symbols_free(struct report_symbols *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		if (s->files[i].dwfl)
			dwfl_end(s->files[i].dwfl);
		free(s->files[i].path);
	}
	free(s->files);
	i64map_free(&s->idx);
	free(s);
}

static int64_t path_key(const char *p)
{
	uint64_t h = 1469598103934665603ull;

	for (; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	return (int64_t)(h & INT64_MAX);
}

static struct sym_file *open_file(struct report_symbols *s, const char *path)
{
	int found;
	int64_t *v = i64map_get(&s->idx, path_key(path), (int64_t)s->n, &found);
	struct sym_file *f;

	if (found && !strcmp(s->files[*v].path, path))
		return &s->files[*v];
	if (found) /* (a hash collision: the file is opened again, not cached) */
		*v = (int64_t)s->n;
	if (s->n % 16 == 0)
		s->files = xrealloc(s->files, (s->n + 16) * sizeof(*s->files));
	f = &s->files[s->n++];
	memset(f, 0, sizeof(*f));
	f->path = xstrdup(path);
	f->dwfl = path[0] == '/' ? dwfl_begin(&s->cb) : NULL;
	if (f->dwfl) {
		dwfl_report_begin(f->dwfl);
		f->mod = dwfl_report_elf(f->dwfl, path, path, -1, 0, false);
		dwfl_report_end(f->dwfl, NULL, NULL);
		if (f->mod)
			dwfl_module_info(f->mod, NULL, &f->start, &f->end, NULL, NULL, NULL, NULL);
	}
	return f;
}

char *report_symbols_find(struct report_symbols *s, const char *path, uint64_t offset, uint64_t ip,
			  int ret)
{
	struct sym_file *f = path ? open_file(s, path) : NULL;
	uint64_t addr;
	const char *name;
	GElf_Off off;
	GElf_Sym sym;

	if (!f || !f->mod)
		return NULL;
	addr = offset >= f->start && offset < f->end ? offset : ip;
	if (ret && addr)
		addr--;
	name = dwfl_module_addrinfo(f->mod, addr, &off, &sym, NULL, NULL, NULL);
	return name && *name ? report_symbol_name(name) : NULL;
}
