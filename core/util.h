/*
 * util.h - error vocabulary, allocation wrappers and a growable string for gprof-cli.
 *
 * Follows git's usage.c / strbuf.h conventions: die() prints "gprof-cli: <msg>" and
 * exits, error() prints and returns -1, warning() prints and returns nothing, and
 * hint() prints the "hint: <fix>" line that follows an error.  Messages are lower-case,
 * say what failed first, quote the subject, and carry no trailing period.
 *
 * Used by the gprof-cli binary only (never by the injected collectors, which must not
 * allocate or print on the app's hot path).
 */
#ifndef GPROF_UTIL_H
#define GPROF_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdnoreturn.h>

/* Documented process exit statuses of gprof-cli itself (man/gprof-cli.1, EXIT STATUS).
 * `profile` instead exits with the application's status when the application ran. */
enum gp_exit {
	GP_EXIT_OK = 0,
	GP_EXIT_ERROR = 1,	/* generic failure (I/O, SQLite, internal) */
	GP_EXIT_USAGE = 2,	/* bad command line or config */
	GP_EXIT_BAD_INPUT = 3,	/* report missing, unreadable, not a report, or lacks data */
	GP_EXIT_OUTPUT = 4,	/* output exists (no -f) or cannot be written */
	GP_EXIT_FINDING = 5,	/* a --fail-on gate tripped (analyze: a rule it names fired;
				   diff: a name regressed past its threshold) */
	GP_EXIT_SESSION = 6,	/* interactive sessions: unknown, stale, ended, busy (already
				 * collecting / nothing to stop), another user's (cli/session.h) */
	GP_EXIT_NOEXEC = 126,	/* application found but not executable */
	GP_EXIT_NOTFOUND = 127, /* application not found */
};

/* Program name used as the message prefix ("gprof-cli"). */
extern const char *gp_progname;

/* Print "gprof-cli: <fmt>" to stderr and exit(GP_EXIT_ERROR).  Never returns. */
noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "gprof-cli: <fmt>" to stderr; returns -1 (git error()). */
int error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "gprof-cli: warning: <fmt>" to stderr. */
void warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "hint: <fmt>" to stderr (the line after an error that says how to fix it). */
void hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Also hand every message the functions above print to fn (after printing it): kind 'e'
 * (error, die), 'w' (warning) or 'h' (hint); msg without the "gprof-cli: " / "warning: " /
 * "hint: " prefix, valid for the call.  One hook at a time; fn NULL removes it.  fn may be
 * called from any thread (it must lock what it shares).  `profile` keeps its run's messages
 * for DIAGNOSTIC_EVENT this way (cli/streams.h). */
void gp_set_message_hook(void (*fn)(void *ctx, int kind, const char *msg), void *ctx);

/* Allocation wrappers: die("out of memory ...") on failure, never return NULL.
 * Ownership: the caller frees with free(). */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* xrealloc(p, nmemb * size), dying ("out of memory") when the product overflows size_t. */
void *xrealloc_array(void *p, size_t nmemb, size_t size);

/*
 * Array growth, the one way (git's ALLOC_GROW): make room for at least nr elements in the
 * array x of alloc elements.  When nr > alloc, alloc becomes max(nr, (alloc + 16) * 3 / 2)
 * and x is reallocated (xrealloc_array: it may move; the new elements are uninitialized);
 * otherwise nothing happens.  x and alloc are lvalues, evaluated more than once.
 *   GP_ALLOC_GROW(v, n + 1, alloc);
 *   v[n++] = item;
 */
#define GP_ALLOC_NR(a) (((a) + 16) * 3 / 2)
#define GP_ALLOC_GROW(x, nr, alloc)                                                                \
	do {                                                                                       \
		if ((size_t)(nr) > (size_t)(alloc)) {                                              \
			size_t gp_grow_n_ = GP_ALLOC_NR((size_t)(alloc));                          \
                                                                                                   \
			if (gp_grow_n_ < (size_t)(nr))                                             \
				gp_grow_n_ = (size_t)(nr);                                         \
			(x) = xrealloc_array((x), gp_grow_n_, sizeof(*(x)));                       \
			(alloc) = gp_grow_n_;                                                      \
		}                                                                                  \
	} while (0)
/* printf into a new heap string (caller frees). */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Growable NUL-terminated byte string (git's strbuf).  buf is always valid after
 * strbuf_init (points at a static "" until the first append); release with strbuf_release. */
struct strbuf {
	size_t len;   /* bytes used, excluding the terminating NUL */
	size_t alloc; /* bytes allocated (0 while buf is the static empty string) */
	char *buf;
};
#define STRBUF_INIT                                                                                \
	{                                                                                          \
		0, 0, strbuf_empty                                                                 \
	}
extern char strbuf_empty[];
void strbuf_init(struct strbuf *sb, size_t hint_size);
void strbuf_release(struct strbuf *sb);
void strbuf_reset(struct strbuf *sb);
/* Grow so that at least `extra` more bytes fit. */
void strbuf_grow(struct strbuf *sb, size_t extra);
void strbuf_add(struct strbuf *sb, const void *data, size_t len);
/* Replace the len bytes at pos (pos + len <= sb->len) with dlen bytes of data (git's
 * strbuf_splice); len 0 inserts, dlen 0 deletes.  Keeps the NUL terminator. */
void strbuf_splice(struct strbuf *sb, size_t pos, size_t len, const void *data, size_t dlen);
void strbuf_addstr(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, int c);
/* Append printf-style formatted text; strbuf_vaddf takes a va_list. */
void strbuf_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Detach the buffer (caller frees) and reset sb to empty. */
char *strbuf_detach(struct strbuf *sb, size_t *len);

/* CLOCK_MONOTONIC now, in ns: the one clock of every collector and the recorder. */
uint64_t gp_monotonic_ns(void);
/* CLOCK_REALTIME now, in ns since the Unix epoch (the session's wall-clock anchor). */
int64_t gp_realtime_ns(void);

/* Parse a base-10 unsigned integer that must fill the whole string; 0 on success,
 * -1 (errno EINVAL/ERANGE) otherwise. */
int gp_parse_u64(const char *s, uint64_t *out);

/* The first line of file `path` without its newline, into buf (size bytes, longer lines
 * cut); returns buf, or NULL when the file cannot be read or the line is empty (e.g.
 * /proc/sys/kernel/perf_event_paranoid). */
char *gp_read_line(const char *path, char *buf, size_t size);

/* int64 key -> int64 value, open addressing (core/util.c): the one hash map of the record
 * and writer side.  Key INT64_MIN is the empty marker and cannot be stored.  The hash is
 * seeded per process (keys a producer chose cannot be made to collide); the slot order is
 * not the insertion order.  Zero-initialise; release with i64map_free. */
struct i64map {
	int64_t *keys;
	int64_t *vals;
	size_t cap, n; /* slots (a power of two), keys stored */
};
#define I64_EMPTY INT64_MIN

/* A pointer to key's value, valid until the next i64map_get; inserts `init` when key is
 * absent.  *found: 1 when it was there.  Never fails (xmalloc dies on OOM). */
int64_t *i64map_get(struct i64map *m, int64_t key, int64_t init, int *found);
/* A pointer to key's value (valid until the next i64map_get), or NULL when absent. */
int64_t *i64map_find(const struct i64map *m, int64_t key);
/* Free the map's memory and zero it (it may be used again). */
void i64map_free(struct i64map *m);

#endif
