/* outname.c - `-o` name expansion (%q{VAR}, %h, %p, %n, %%); see outname.h. */
#include "core/outname.h"

#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_NUMBER 1000000 /* %n gives up after report1 .. report999999 */

static const char *env_lookup(const struct outname_ctx *ctx, const char *name, size_t len)
{
	if (!ctx->envp) {
		char *n = xmalloc(len + 1);
		const char *v;

		memcpy(n, name, len);
		n[len] = '\0';
		v = getenv(n);
		free(n);
		return v;
	}
	for (char *const *e = ctx->envp; *e; e++)
		if (!strncmp(*e, name, len) && (*e)[len] == '=')
			return *e + len + 1;
	return NULL;
}

static void add_escaped(struct strbuf *out, const char *s, int escape)
{
	for (; *s; s++) {
		if (*s == '%' && escape)
			strbuf_addch(out, '%');
		strbuf_addch(out, *s);
	}
}

static int bad(const struct outname_ctx *ctx, struct strbuf *err, const char *pattern,
	       const char *fix, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int bad(const struct outname_ctx *ctx, struct strbuf *err, const char *pattern,
	       const char *fix, const char *fmt, ...)
{
	va_list ap;

	strbuf_addf(err, "bad output name '%s': ", pattern);
	va_start(ap, fmt);
	strbuf_vaddf(err, fmt, ap);
	va_end(ap);
	if (ctx->hint && fix)
		strbuf_addstr(ctx->hint, fix);
	return -1;
}

#define SUBST_HINT "valid substitutions: %q{VAR}, %h, %p, %n, %%"

/*
 * One pass over pattern.  number > 0: %n becomes it; number == 0: %n is kept.  pending: %p
 * is kept and every literal '%' is written as "%%" (the result is a pattern).  Sets *has_n.
 */
static int expand_once(const char *pattern, const struct outname_ctx *ctx, const char *host,
		       unsigned number, int pending, struct strbuf *out, struct strbuf *err,
		       int *has_n)
{
	*has_n = 0;
	for (const char *p = pattern; *p; p++) {
		size_t pos = (size_t)(p - pattern) + 1;

		if (*p != '%') {
			if (pending)
				add_escaped(out, (char[]){*p, 0}, 1);
			else
				strbuf_addch(out, *p);
			continue;
		}
		switch (p[1]) {
		case '%':
			strbuf_addstr(out, pending ? "%%" : "%");
			p++;
			break;
		case 'h':
			add_escaped(out, host, pending);
			p++;
			break;
		case 'p':
			if (pending)
				strbuf_addstr(out, "%p");
			else
				strbuf_addf(out, "%ld", (long)ctx->pid);
			p++;
			break;
		case 'n':
			*has_n = 1;
			if (number)
				strbuf_addf(out, "%u", number);
			else
				strbuf_addstr(out, "%n");
			p++;
			break;
		case 'q': {
			const char *name, *close, *val;

			if (p[2] != '{')
				return bad(ctx, err, pattern, "write %q{VAR} for the value of VAR",
					   "'%%q' at character %zu is not followed by '{'", pos);
			name = p + 3;
			close = strchr(name, '}');
			if (!close)
				return bad(ctx, err, pattern, "write %q{VAR} for the value of VAR",
					   "'%%q{' at character %zu has no closing '}'", pos);
			if (close == name)
				return bad(ctx, err, pattern, "write %q{VAR} for the value of VAR",
					   "'%%q{}' at character %zu names no variable", pos);
			val = env_lookup(ctx, name, (size_t)(close - name));
			if (!val) {
				strbuf_addf(err,
					    "cannot expand output name '%s': environment variable "
					    "'%.*s' is not set",
					    pattern, (int)(close - name), name);
				if (ctx->hint)
					strbuf_addf(ctx->hint,
						    "set %.*s in the environment (or with -e "
						    "%.*s=VALUE), or change -o",
						    (int)(close - name), name, (int)(close - name),
						    name);
				return -1;
			}
			add_escaped(out, val, pending);
			p = close;
			break;
		}
		case '\0':
			return bad(ctx, err, pattern, "write '%%' for a literal '%'",
				   "lone '%%' at character %zu", pos);
		default:
			return bad(ctx, err, pattern, SUBST_HINT,
				   "unknown substitution '%%%c' at character %zu", p[1], pos);
		}
	}
	return 0;
}

static int ends_with(const struct strbuf *out, size_t start, const char *suffix)
{
	size_t sl = strlen(suffix);

	return out->len - start >= sl && !memcmp(out->buf + out->len - sl, suffix, sl);
}

/* Append suffix unless the name has it (or, for the default suffix, OUTNAME_ALT_SUFFIX). */
static void add_suffix(struct strbuf *out, size_t start, const char *suffix, int dflt)
{
	if (ends_with(out, start, suffix) || (dflt && ends_with(out, start, OUTNAME_ALT_SUFFIX)))
		return;
	strbuf_addstr(out, suffix);
}

int outname_expand(const char *pattern, const struct outname_ctx *ctx, struct strbuf *out,
		   struct strbuf *err)
{
	const char *suffix = ctx->suffix ? ctx->suffix : OUTNAME_SUFFIX;
	char hostbuf[HOST_NAME_MAX + 1];
	const char *host = ctx->hostname;
	size_t start = out->len;
	int pending, has_n;

	if (!*pattern) {
		strbuf_addstr(err, "bad output name '': the name is empty");
		if (ctx->hint)
			strbuf_addstr(ctx->hint, "give a file name, e.g. -o " OUTNAME_DEFAULT);
		return -1;
	}
	if (!host) {
		if (gethostname(hostbuf, sizeof(hostbuf)))
			strcpy(hostbuf, "localhost");
		hostbuf[sizeof(hostbuf) - 1] = '\0';
		host = hostbuf;
	}
	/* %p pending only when the pattern holds a real %p (not %%p) */
	pending = 0;
	if (!ctx->pid) {
		for (const char *p = pattern; *p; p++) {
			if (*p != '%')
				continue;
			if (p[1] == 'p')
				pending = 1;
			if (p[1])
				p++;
		}
	}
	if (expand_once(pattern, ctx, host, 0, pending, out, err, &has_n))
		return -1;
	if (out->len == start) {
		strbuf_addf(err, "bad output name '%s': it expands to an empty name", pattern);
		if (ctx->hint)
			strbuf_addstr(ctx->hint, "give a file name, e.g. -o " OUTNAME_DEFAULT);
		return -1;
	}
	if (out->buf[out->len - 1] == '/') {
		strbuf_addf(err, "bad output name '%s': '%s' is a directory name", pattern,
			    out->buf + start);
		if (ctx->hint)
			strbuf_addf(ctx->hint, "add a file name, e.g. -o %s%s", pattern,
				    OUTNAME_DEFAULT);
		return -1;
	}
	if (pending) {
		add_suffix(out, start, suffix, !ctx->suffix);
		return OUTNAME_PID_PENDING;
	}
	if (has_n) {
		struct stat st;
		unsigned n;

		for (n = 1; n < MAX_NUMBER; n++) {
			out->len = start;
			out->buf[start] = '\0';
			if (expand_once(pattern, ctx, host, n, 0, out, err, &has_n))
				return -1;
			add_suffix(out, start, suffix, !ctx->suffix);
			if (lstat(out->buf + start, &st))
				return 0; /* free (or unreachable: the writer says why) */
		}
		strbuf_addf(err, "cannot expand output name '%s': no free number up to %u", pattern,
			    MAX_NUMBER - 1);
		if (ctx->hint)
			strbuf_addstr(ctx->hint, "remove old reports or choose another -o name");
		return -1;
	}
	add_suffix(out, start, suffix, !ctx->suffix);
	return 0;
}
