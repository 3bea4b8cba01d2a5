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

/* A module's sized symbols sorted by address, for lookups in O(log n): libdwfl's
 * dwfl_module_addrinfo() scans the whole symbol table for each address (1.1 ms each in
 * libLLVM's 46 k symbols here; libtorch has hundreds of thousands).  The symbols it looks
 * at (named, defined, not section/file/TLS), in its two sets: those from its first global
 * index on, searched first, and the local ones before it. */
struct symx {
	uint64_t value, size; /* the address range [value, value + size) */
	uint32_t idx;	      /* dwfl_module_getsym_info() index */
	uint8_t bind;	      /* libdwfl's order: global 3, weak 2, local 1, other 0 */
};

struct symset {
	struct symx *sized; /* sorted by value */
	uint64_t *maxend;   /* maxend[j]: the largest value + size of sized[0..j] */
	uint64_t *labels;   /* the sizeless symbols' values, sorted */
	size_t nsized, nlabels;
};

struct report_symtab {
	struct symset set[2]; /* [0] global (searched first), [1] local */
};

void report_symtab_free(struct report_symtab *t)
{
	for (int k = 0; k < 2; k++) {
		free(t->set[k].sized);
		free(t->set[k].maxend);
		free(t->set[k].labels);
	}
	free(t);
}

static int symx_cmp(const void *a, const void *b)
{
	const struct symx *x = a, *y = b;

	if (x->value != y->value)
		return x->value < y->value ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Room for one more of v[0..n) elements of `size` bytes (64, then doubled). */
static void *grow(void *v, size_t n, size_t size)
{
	return !n || (n >= 64 && (n & (n - 1)) == 0) ? xrealloc_array(v, n ? 2 * n : 64, size) : v;
}

struct report_symtab *report_symtab_new(Dwfl_Module *mod)
{
	int nsym = dwfl_module_getsymtab(mod);
	int first_global = dwfl_module_getsymtab_first_global(mod);
	struct report_symtab *t = xcalloc(1, sizeof(*t));

	for (int i = 1; i < nsym; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		const char *name = dwfl_module_getsym_info(mod, i, &sym, &addr, NULL, NULL, NULL);
		int type = GELF_ST_TYPE(sym.st_info), bind = GELF_ST_BIND(sym.st_info);
		struct symset *set = &t->set[i < first_global];

		if (!name || !*name || sym.st_shndx == SHN_UNDEF || type == STT_SECTION ||
		    type == STT_FILE || type == STT_TLS)
			continue;
		if (!sym.st_size) {
			set->labels = grow(set->labels, set->nlabels, sizeof(*set->labels));
			set->labels[set->nlabels++] = addr;
			continue;
		}
		set->sized = grow(set->sized, set->nsized, sizeof(*set->sized));
		set->sized[set->nsized++] = (struct symx){addr, sym.st_size, (uint32_t)i,
							  bind == STB_GLOBAL ? 3
							  : bind == STB_WEAK ? 2
									     : bind == STB_LOCAL};
	}
	for (int k = 0; k < 2; k++) {
		struct symset *set = &t->set[k];

		if (set->nsized)
			qsort(set->sized, set->nsized, sizeof(*set->sized), symx_cmp);
		if (set->nlabels)
			qsort(set->labels, set->nlabels, sizeof(*set->labels), u64_cmp);
		set->maxend = xrealloc_array(NULL, set->nsized ? set->nsized : 1, sizeof(uint64_t));
		for (size_t j = 0; j < set->nsized; j++) {
			uint64_t end = set->sized[j].value + set->sized[j].size;

			set->maxend[j] = j && set->maxend[j - 1] > end ? set->maxend[j - 1] : end;
		}
	}
	return t;
}

static int symx_idx_cmp(const void *a, const void *b)
{
	const struct symx *x = *(const struct symx *const *)a, *y = *(const struct symx *const *)b;

	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* libdwfl's choice among the sized symbols of `set` that hold addr, taken in table order
 * as its scan takes them: its index, 0 when none holds it, -1 when too many do. */
static int symset_pick(const struct symset *set, uint64_t addr)
{
	const struct symx *in[64], *best = NULL;
	size_t lo = 0, hi = set->nsized, n = 0;

	while (lo < hi) { /* lo: how many have value <= addr */
		size_t mid = (lo + hi) / 2;

		if (set->sized[mid].value <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo && set->maxend[lo - 1] > addr; lo--) {
		const struct symx *e = &set->sized[lo - 1];

		if (addr - e->value < e->size) {
			if (n == sizeof(in) / sizeof(in[0]))
				return -1;
			in[n++] = e;
		}
	}
	if (n > 1)
		qsort(in, n, sizeof(in[0]), symx_idx_cmp);
	for (size_t i = 0; i < n; i++) { /* (dwfl_module_addrsym.c, try_sym_value) */
		const struct symx *e = in[i];

		if (!best || best->value < e->value || best->bind < e->bind ||
		    (best->value == e->value && best->size > e->size && best->bind <= e->bind))
			best = e;
	}
	return best ? (int)best->idx : 0;
}

/* Is v (sorted, n) holding x? */
static int u64_has(const uint64_t *v, size_t n, uint64_t x)
{
	return n && bsearch(&x, v, n, sizeof(*v), u64_cmp) != NULL;
}

/* Could libdwfl name addr, which no sized symbol holds, after a label of set?  Its label
 * must be at or below addr and at or above the end of every sized symbol that starts
 * at or below addr (its min_label). */
static int symset_label_may(const struct symset *set, uint64_t addr, uint64_t min_label)
{
	size_t lo = 0, hi = set->nlabels;

	while (lo < hi) { /* lo: how many labels are <= addr */
		size_t mid = (lo + hi) / 2;

		if (set->labels[mid] <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && set->labels[lo - 1] >= min_label;
}

/* The largest end of the sized symbols of set that start at or below addr (0: none). */
static uint64_t symset_maxend(const struct symset *set, uint64_t addr)
{
	size_t lo = 0, hi = set->nsized;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (set->sized[mid].value <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? set->maxend[lo - 1] : 0;
}

const char *report_symtab_name(const struct report_symtab *t, Dwfl_Module *mod, uint64_t addr)
{
	GElf_Sym sym;
	GElf_Addr at;
	GElf_Off off;
	int idx = symset_pick(&t->set[0], addr);
	/* (libdwfl searches the locals unless a global symbol holds addr or a global label is
	 * at addr) */
	int locals = !idx && !u64_has(t->set[0].labels, t->set[0].nlabels, addr);

	if (locals)
		idx = symset_pick(&t->set[1], addr);
	if (idx > 0)
		return dwfl_module_getsym_info(mod, idx, &sym, &at, NULL, NULL, NULL);
	if (!idx) { /* none holds it: a label may name it, else nothing does */
		uint64_t g = symset_maxend(&t->set[0], addr);
		uint64_t l = locals ? symset_maxend(&t->set[1], addr) : 0;
		uint64_t min_label = g > l ? g : l;

		if (!symset_label_may(&t->set[0], addr, min_label) &&
		    !symset_label_may(&t->set[1], addr, min_label))
			return NULL;
	}
	return dwfl_module_addrinfo(mod, addr, &off, &sym, NULL, NULL, NULL);
}

struct sym_file {
	char *path;
	Dwfl *dwfl; /* NULL: the file could not be read */
	Dwfl_Module *mod;
	struct report_symtab *tab; /* mod's sorted table, built at its first lookup */
	Dwarf_Addr start, end;	   /* the module's addresses (reported at base 0) */
};

/* The names found so far: a backtrace's frames repeat (a loop's launches share their
 * callers), and each lookup demangles. */
struct sym_name {
	uint32_t file; /* index in files */
	uint64_t addr; /* the lookup address */
	char *name;    /* report_symbol_name(); NULL: none */
};

struct report_symbols {
	struct i64map idx; /* fnv-1a of the path -> index in files */
	struct sym_file *files;
	size_t n;
	struct i64map name_idx; /* hash of (file, addr) -> index in names */
	struct sym_name *names;
	size_t nnames;
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
		if (s->files[i].tab)
			report_symtab_free(s->files[i].tab);
		if (s->files[i].dwfl)
			dwfl_end(s->files[i].dwfl);
		free(s->files[i].path);
	}
	for (size_t i = 0; i < s->nnames; i++)
		free(s->names[i].name);
	free(s->names);
	free(s->files);
	i64map_free(&s->idx);
	i64map_free(&s->name_idx);
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
	uint32_t file;
	uint64_t addr, h;
	const char *name;
	struct sym_name *e;
	int64_t *v;
	int found;

	if (!f || !f->mod)
		return NULL;
	addr = offset >= f->start && offset < f->end ? offset : ip;
	if (ret && addr)
		addr--;
	file = (uint32_t)(f - s->files);
	h = (addr ^ ((uint64_t)file * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull;
	v = i64map_get(&s->name_idx, (int64_t)(h & INT64_MAX), (int64_t)s->nnames, &found);
	if (found && s->names[*v].file == file && s->names[*v].addr == addr)
		return s->names[*v].name ? xstrdup(s->names[*v].name) : NULL;
	if (found) /* (a hash collision: looked up again, the first one kept) */
		v = NULL;
	if (!f->tab)
		f->tab = report_symtab_new(f->mod);
	name = report_symtab_name(f->tab, f->mod, addr);
	if (!v)
		return name && *name ? report_symbol_name(name) : NULL;
	if (s->nnames % 256 == 0)
		s->names = xrealloc_array(s->names, s->nnames + 256, sizeof(*s->names));
	e = &s->names[s->nnames++];
	e->file = file;
	e->addr = addr;
	e->name = name && *name ? report_symbol_name(name) : NULL;
	return e->name ? xstrdup(e->name) : NULL;
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
