/*
 * report_symbols.c - function names of code addresses with elfutils' libdwfl (see
 * report_symbols.h).
 */
#include <elfutils/libdwfl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_name.h"
#include "report.h"
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

/* name is top, or top less a trailing "_v<digits>" (cuptiGetCallbackName's spelling) */
static int is_top(const char *name, const char *top)
{
	size_t n = strlen(top), k = n;

	if (!strcmp(name, top))
		return 1;
	while (k > 0 && top[k - 1] >= '0' && top[k - 1] <= '9')
		k--;
	if (k < n && k >= 2 && top[k - 1] == 'v' && top[k - 2] == '_')
		return strlen(name) == k - 2 && !strncmp(name, top, k - 2);
	return 0;
}

/* One CUDA_CALLCHAINS-style row: ?1 id .. ?6 stackDepth (report_callchain_write()). */
static void callchain_row(struct report *r, sqlite3_stmt *ins, int64_t id, int64_t sym, int64_t mod,
			  int unresolved, uint64_t ip, uint32_t depth)
{
	sqlite3_bind_int64(ins, 1, id);
	sqlite3_bind_int64(ins, 2, sym);
	sqlite3_bind_int64(ins, 3, mod);
	sqlite3_bind_int(ins, 4, unresolved);
	sqlite3_bind_int64(ins, 5, (int64_t)ip);
	sqlite3_bind_int(ins, 6, (int)depth);
	report_step(r, ins);
}

/* Python frame f as a row at `depth`: symbol "qualname (file.py:line)", module the file,
 * originalIP 0, as the sampler writes them (core/sampler.c add_python_frames()). */
static void python_row(struct report *r, sqlite3_stmt *ins, int64_t id,
		       const struct report_py_frame *f, uint32_t depth)
{
	const char *file = f->file ? f->file : "?";
	const char *b = strrchr(file, '/');
	char *name = xasprintf("%s (%s:%d)", f->name ? f->name : "?", b ? b + 1 : file, f->line);

	callchain_row(r, ins, id, report_string(r, name, strlen(name)),
		      report_string(r, file, strlen(file)), 0, 0, depth);
	free(name);
}

uint32_t report_callchain_write(struct report *r, struct report_conn *c,
				struct report_symbols **syms, sqlite3_stmt *ins, int64_t id,
				const struct gp_osrt_frame *frames, uint32_t n, const char *top)
{
	return report_callchain_write_py(r, c, syms, ins, id, frames, n, top, NULL, 0);
}

uint32_t report_callchain_write_py(struct report *r, struct report_conn *c,
				   struct report_symbols **syms, sqlite3_stmt *ins, int64_t id,
				   const struct gp_osrt_frame *frames, uint32_t n, const char *top,
				   const struct report_py_frame *py, uint32_t npy)
{
	char *names[64];
	uint32_t first = 0, rows = 0, j = 0;

	if (n > sizeof(names) / sizeof(names[0]))
		n = sizeof(names) / sizeof(names[0]);
	if (!*syms)
		*syms = report_symbols_new();
	for (uint32_t i = 0; i < n; i++) {
		const char *path = report_conn_string_text(c, frames[i].module_sid);

		names[i] =
		    path ? report_symbols_find(*syms, path, frames[i].offset, frames[i].ip, i > 0)
			 : NULL;
	}
	for (uint32_t i = 0; top && i < n; i++)
		if (names[i] && is_top(names[i], top)) {
			first = i;
			break;
		}
	for (uint32_t i = first; i < n; i++) {
		const struct gp_osrt_frame *f = &frames[i];
		const char *path = report_conn_string_text(c, f->module_sid);
		char buf[24];
		int64_t sym, mod = path ? report_conn_string(c, f->module_sid)
					: report_string(r, "[Unknown]", 9);

		/* the Python frames a native _PyEval_EvalFrameDefault runs go before it, up to
		 * its entry frame */
		while (names[i] && j < npy && !strcmp(names[i], "_PyEval_EvalFrameDefault")) {
			python_row(r, ins, id, &py[j], rows++);
			if (py[j++].entry)
				break;
		}
		if (names[i]) {
			sym = report_string(r, names[i], strlen(names[i]));
		} else {
			int len = snprintf(buf, sizeof(buf), "0x%" PRIx64, f->ip);

			sym = report_string(r, buf, (size_t)len);
		}
		callchain_row(r, ins, id, sym, mod, names[i] == NULL, f->ip, rows++);
	}
	while (j < npy) /* frames of no native _PyEval_EvalFrameDefault left: outermost */
		python_row(r, ins, id, &py[j++], rows++);
	for (uint32_t i = 0; i < n; i++)
		free(names[i]);
	return rows;
}
