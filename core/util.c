/* util.c - see util.h. */
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

const char *gp_progname = "gprof-cli";
char strbuf_empty[1];

static void (*msg_hook)(void *ctx, int kind, const char *msg);
static void *msg_hook_ctx;

void gp_set_message_hook(void (*fn)(void *ctx, int kind, const char *msg), void *ctx)
{
	msg_hook_ctx = ctx;
	msg_hook = fn;
}

/* Print "<progname>: <kind><msg>" (kind may be "") or, when hint_line, "hint: <msg>". */
static void vreport(const char *kind, int hint_line, const char *fmt, va_list ap)
{
	char msg[4096];
	void (*hook)(void *, int, const char *) = msg_hook;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (hint_line)
		fprintf(stderr, "hint: %s\n", msg);
	else
		fprintf(stderr, "%s: %s%s\n", gp_progname, kind, msg);
	if (hook)
		hook(msg_hook_ctx, hint_line ? 'h' : kind[0] == 'w' ? 'w' : 'e', msg);
}

#define REPORT(kind, hint_line)                                                                    \
	do {                                                                                       \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		vreport(kind, hint_line, fmt, ap);                                                 \
		va_end(ap);                                                                        \
	} while (0)

void die(const char *fmt, ...)
{
	REPORT("", 0);
	exit(GP_EXIT_ERROR);
}

int error(const char *fmt, ...)
{
	REPORT("", 0);
	return -1;
}

void warning(const char *fmt, ...)
{
	REPORT("warning: ", 0);
}

void hint(const char *fmt, ...)
{
	REPORT("", 1);
}

static void *check_alloc(void *p, size_t n)
{
	if (!p && n)
		die("out of memory allocating %zu bytes", n);
	return p;
}

void *xmalloc(size_t n)
{
	return check_alloc(malloc(n ? n : 1), n ? n : 1);
}

void *xcalloc(size_t nmemb, size_t size)
{
	return check_alloc(calloc(nmemb ? nmemb : 1, size ? size : 1), 1);
}

void *xrealloc(void *p, size_t n)
{
	return check_alloc(realloc(p, n ? n : 1), n ? n : 1);
}

void *xrealloc_array(void *p, size_t nmemb, size_t size)
{
	if (size && nmemb > SIZE_MAX / size)
		die("out of memory: %zu elements of %zu bytes", nmemb, size);
	return xrealloc(p, nmemb * size);
}

char *xstrdup(const char *s)
{
	return check_alloc(strdup(s), strlen(s) + 1);
}

char *xasprintf(const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	return strbuf_detach(&sb, NULL);
}

void strbuf_init(struct strbuf *sb, size_t hint_size)
{
	sb->len = 0;
	sb->alloc = 0;
	sb->buf = strbuf_empty;
	if (hint_size)
		strbuf_grow(sb, hint_size);
}

void strbuf_release(struct strbuf *sb)
{
	if (sb->alloc)
		free(sb->buf);
	strbuf_init(sb, 0);
}

void strbuf_reset(struct strbuf *sb)
{
	sb->len = 0;
	if (sb->alloc)
		sb->buf[0] = '\0';
}

void strbuf_grow(struct strbuf *sb, size_t extra)
{
	size_t need = sb->len + extra + 1;

	if (need <= sb->alloc)
		return;
	size_t n = sb->alloc ? sb->alloc : 64;
	while (n < need)
		n *= 2;
	if (!sb->alloc) {
		sb->buf = xmalloc(n);
		sb->buf[0] = '\0';
	} else {
		sb->buf = xrealloc(sb->buf, n);
	}
	sb->alloc = n;
}

void strbuf_add(struct strbuf *sb, const void *data, size_t len)
{
	strbuf_grow(sb, len);
	memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
}

void strbuf_splice(struct strbuf *sb, size_t pos, size_t len, const void *data, size_t dlen)
{
	strbuf_grow(sb, dlen);
	memmove(sb->buf + pos + dlen, sb->buf + pos + len, sb->len - pos - len + 1);
	memcpy(sb->buf + pos, data, dlen);
	sb->len = sb->len + dlen - len;
}

void strbuf_addstr(struct strbuf *sb, const char *s)
{
	strbuf_add(sb, s, strlen(s));
}

void strbuf_addch(struct strbuf *sb, int c)
{
	char ch = (char)c;

	strbuf_add(sb, &ch, 1);
}

void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	/* into the room there is, and once more when it was too small (git's strbuf_vaddf;
	 * vsnprintf(NULL, 0, ...) made gcc 12 warn "null format string" under UBSan) */
	strbuf_grow(sb, 64);
	va_copy(cp, ap);
	n = vsnprintf(sb->buf + sb->len, sb->alloc - sb->len, fmt, cp);
	va_end(cp);
	if (n < 0) {
		sb->buf[sb->len] = '\0';
		return;
	}
	if ((size_t)n >= sb->alloc - sb->len) {
		strbuf_grow(sb, (size_t)n);
		vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	}
	sb->len += (size_t)n;
}

void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(sb, fmt, ap);
	va_end(ap);
}

char *strbuf_detach(struct strbuf *sb, size_t *len)
{
	char *r;

	if (len)
		*len = sb->len;
	r = sb->alloc ? sb->buf : xstrdup("");
	strbuf_init(sb, 0);
	return r;
}

uint64_t gp_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int64_t gp_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + (int64_t)ts.tv_nsec;
}

int gp_parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+') {
		errno = EINVAL;
		return -1;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	if (*end) {
		errno = EINVAL;
		return -1;
	}
	*out = v;
	return 0;
}

/* ---- i64map (util.h) ---------------------------------------------------------- */

/* The seed of every i64map's hash, random per process and set before main() (so that
 * every map and thread sees the same): the keys are often ids a producer chose (string
 * ids, domain handles), and with a fixed, invertible mix a hostile one could choose ids
 * that all collide (issue 18). */
static uint64_t i64_seed;

__attribute__((constructor)) static void i64map_seed(void)
{
	if (getrandom(&i64_seed, sizeof(i64_seed), GRND_NONBLOCK) != (ssize_t)sizeof(i64_seed))
		i64_seed = gp_monotonic_ns() * 0x9e3779b97f4a7c15ull;
}

static uint64_t hash64(uint64_t x)
{
	x ^= i64_seed;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static void i64map_grow(struct i64map *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 64, i;
	int64_t *nk = xmalloc(ncap * sizeof(*nk)), *nv = xmalloc(ncap * sizeof(*nv));

	for (i = 0; i < ncap; i++)
		nk[i] = I64_EMPTY;
	for (i = 0; i < m->cap; i++) {
		size_t j;

		if (m->keys[i] == I64_EMPTY)
			continue;
		j = hash64((uint64_t)m->keys[i]) & (ncap - 1);
		while (nk[j] != I64_EMPTY)
			j = (j + 1) & (ncap - 1);
		nk[j] = m->keys[i];
		nv[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	m->keys = nk;
	m->vals = nv;
	m->cap = ncap;
}

int64_t *i64map_get(struct i64map *m, int64_t key, int64_t init, int *found)
{
	size_t j;

	if ((m->n + 1) * 2 > m->cap)
		i64map_grow(m);
	j = hash64((uint64_t)key) & (m->cap - 1);
	while (m->keys[j] != I64_EMPTY) {
		if (m->keys[j] == key) {
			*found = 1;
			return &m->vals[j];
		}
		j = (j + 1) & (m->cap - 1);
	}
	m->keys[j] = key;
	m->vals[j] = init;
	m->n++;
	*found = 0;
	return &m->vals[j];
}

int64_t *i64map_find(const struct i64map *m, int64_t key)
{
	size_t j;

	if (!m->n)
		return NULL;
	j = hash64((uint64_t)key) & (m->cap - 1);
	while (m->keys[j] != I64_EMPTY) {
		if (m->keys[j] == key)
			return &m->vals[j];
		j = (j + 1) & (m->cap - 1);
	}
	return NULL;
}

void i64map_free(struct i64map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

char *gp_read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	char *ok;

	if (!f)
		return NULL;
	ok = fgets(buf, (int)size, f);
	fclose(f);
	if (!ok)
		return NULL;
	buf[strcspn(buf, "\n")] = '\0';
	return buf[0] ? buf : NULL;
}
