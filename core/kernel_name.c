/*
 * kernel_name.c - kernel names spelled as nsys spells them (kernel_name.h).
 *
 * libstdc++'s __cxa_demangle does the demangling.  Two passes around it give NVIDIA's
 * spelling:
 *
 *   1. A pre-pass walks the mangled name along the Itanium C++ ABI grammar
 *      (https://itanium-cxx-abi.github.io/cxx-abi/abi.html#mangling) and rewrites each
 *      template-parameter reference T_ / T<n>_ into the class name "T<n+2>" (T_ -> T1):
 *      both are one substitution candidate, so every S<n>_ back-reference still means
 *      what it meant, and libstdc++ prints "T1" where it would have printed the type.
 *      A function template nested in a local name (Z<encoding>E...) gets its return
 *      type (a builtin) as an ABI tag "[abi:GPRET<k>]", which libstdc++ prints after the
 *      function's name; the post-pass turns it into the return type in front of the
 *      name, where NVIDIA prints it (libstdc++ prints return types at the top level
 *      only).
 *   2. A post-pass over the demangled text (kernel_name_style).
 *
 * The pre-pass only copies and rewrites; it never decides what a name means.  When it
 * meets a production it does not follow (expressions, decltype, lambda template
 * parameters), the name is demangled without it.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/kernel_name.h"
#include "core/util.h"

/* libstdc++'s demangler (gprof-cli links -lstdc++). */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

/* ---- pre-pass over the mangled name ------------------------------------------------ */

#define RET_MAX	  32 /* return types marked per name */
#define DEPTH_MAX 256

struct mangled {
	const char *s;	   /* the mangled name */
	size_t i;	   /* parse position in s */
	struct strbuf out; /* the rewritten name */
	int bad;	   /* a production the pass does not follow */
	int depth;	   /* recursion depth */
	unsigned nret;	   /* return types marked */
	const char *ret[RET_MAX];
};

/* The name of the first of the builtin return-type codes that nested templates use. */
static const char *builtin_name(char c)
{
	static const struct {
		char code;
		const char *name;
	} b[] = {{'v', "void"},
		 {'b', "bool"},
		 {'c', "char"},
		 {'a', "signed char"},
		 {'h', "unsigned char"},
		 {'s', "short"},
		 {'t', "unsigned short"},
		 {'i', "int"},
		 {'j', "unsigned int"},
		 {'l', "long"},
		 {'m', "unsigned long"},
		 {'x', "long long"},
		 {'y', "unsigned long long"},
		 {'f', "float"},
		 {'d', "double"},
		 {'e', "long double"},
		 {'w', "wchar_t"}};

	for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++)
		if (b[i].code == c)
			return b[i].name;
	return NULL;
}

static char peek(const struct mangled *m, size_t k)
{
	for (size_t j = 0; j < k; j++)
		if (!m->s[m->i + j])
			return 0;
	return m->s[m->i + k];
}

/* Copy n bytes of the input to the output. */
static void take(struct mangled *m, size_t n)
{
	for (size_t j = 0; j < n; j++)
		if (!m->s[m->i + j]) {
			m->bad = 1;
			n = j;
			break;
		}
	strbuf_add(&m->out, m->s + m->i, n);
	m->i += n;
}

static int fail(struct mangled *m)
{
	m->bad = 1;
	return -1;
}

/* Copy a run of digits; returns how many. */
static size_t take_digits(struct mangled *m)
{
	size_t n = 0;

	while (isdigit((unsigned char)peek(m, n)))
		n++;
	take(m, n);
	return n;
}

/* <source-name> ::= <length> <identifier> */
static int source_name(struct mangled *m)
{
	size_t len = 0, d = 0;

	while (isdigit((unsigned char)peek(m, d))) {
		len = len * 10 + (size_t)(peek(m, d) - '0');
		if (len > 4096)
			return fail(m);
		d++;
	}
	if (!d)
		return fail(m);
	take(m, d + len);
	return m->bad ? -1 : 0;
}

static int type(struct mangled *m);
static int name(struct mangled *m, int *is_template, size_t *tag_at, int *tag_ok);
static int encoding(struct mangled *m, int nested);

/* <template-param> ::= T_ | T <number> _   ->   the class name T<number + 2> */
static int template_param(struct mangled *m)
{
	unsigned long idx = 0;
	char nm[24];

	m->i++; /* 'T' */
	if (peek(m, 0) != '_') {
		if (!isdigit((unsigned char)peek(m, 0)))
			return fail(m);
		idx = strtoul(m->s + m->i, NULL, 10) + 1;
		while (isdigit((unsigned char)peek(m, 0)))
			m->i++;
		if (peek(m, 0) != '_')
			return fail(m);
	}
	m->i++; /* '_' */
	snprintf(nm, sizeof(nm), "T%lu", idx + 1);
	strbuf_addf(&m->out, "%zu%s", strlen(nm), nm);
	return 0;
}

/* <substitution> ::= S_ | S <seq-id> _ | St | Sa | Sb | Ss | Si | So | Sd */
static int substitution(struct mangled *m)
{
	size_t n = 1;

	if (strchr("tabsiod", peek(m, 1)) && peek(m, 1)) {
		take(m, 2);
		return 0;
	}
	while (isdigit((unsigned char)peek(m, n)) || isupper((unsigned char)peek(m, n)))
		n++;
	if (peek(m, n) != '_')
		return fail(m);
	take(m, n + 1);
	return 0;
}

static int template_arg(struct mangled *m);

/* <template-args> ::= I <template-arg>+ E */
static int template_args(struct mangled *m)
{
	take(m, 1); /* 'I' */
	while (!m->bad && peek(m, 0) != 'E') {
		if (!peek(m, 0) || template_arg(m) < 0)
			return fail(m);
	}
	take(m, 1);
	return m->bad ? -1 : 0;
}

/* <expr-primary> ::= L <type> <value> E | L _Z <encoding> E */
static int expr_primary(struct mangled *m)
{
	take(m, 1); /* 'L' */
	if (peek(m, 0) == '_' && peek(m, 1) == 'Z') {
		take(m, 2);
		if (encoding(m, 1) < 0)
			return -1;
	} else {
		if (type(m) < 0)
			return -1;
		while (peek(m, 0) && peek(m, 0) != 'E')
			take(m, 1);
	}
	if (peek(m, 0) != 'E')
		return fail(m);
	take(m, 1);
	return 0;
}

static int template_arg(struct mangled *m)
{
	switch (peek(m, 0)) {
	case 'L':
		return expr_primary(m);
	case 'J': /* argument pack */
		take(m, 1);
		while (!m->bad && peek(m, 0) != 'E')
			if (!peek(m, 0) || template_arg(m) < 0)
				return fail(m);
		take(m, 1);
		return m->bad ? -1 : 0;
	case 'X': /* expression */
		return fail(m);
	default:
		return type(m);
	}
}

/* [<discriminator>] ::= _ <digit> | __ <number> _ */
static void discriminator(struct mangled *m)
{
	if (peek(m, 0) != '_')
		return;
	if (isdigit((unsigned char)peek(m, 1))) {
		take(m, 2);
	} else if (peek(m, 1) == '_' && isdigit((unsigned char)peek(m, 2))) {
		take(m, 2);
		take_digits(m);
		if (peek(m, 0) == '_')
			take(m, 1);
	}
}

/*
 * <unqualified-name>: source name, operator name, ctor/dtor, closure or unnamed type,
 * with any ABI tags.  *tag_at: the output offset where an ABI tag of this name goes.
 */
static int unqualified_name(struct mangled *m, size_t *tag_at, int *tag_ok)
{
	char c = peek(m, 0), d = peek(m, 1);

	*tag_ok = 0;
	if (c == 'L') /* internal linkage */
		take(m, 1), c = peek(m, 0), d = peek(m, 1);
	if (isdigit((unsigned char)c)) {
		if (source_name(m) < 0)
			return -1;
		*tag_ok = 1;
	} else if (c == 'U' && d == 't') { /* Ut [<number>] _ */
		take(m, 2);
		take_digits(m);
		if (peek(m, 0) != '_')
			return fail(m);
		take(m, 1);
	} else if (c == 'U' && d == 'l') { /* Ul <lambda-sig> E [<number>] _ */
		take(m, 2);
		if (peek(m, 0) == 'T') /* explicit template parameters of the lambda */
			return fail(m);
		while (!m->bad && peek(m, 0) != 'E')
			if (!peek(m, 0) || type(m) < 0)
				return fail(m);
		take(m, 1);
		take_digits(m);
		if (peek(m, 0) != '_')
			return fail(m);
		take(m, 1);
	} else if (c == 'C' && d >= '1' && d <= '5') {
		take(m, 2);
	} else if (c == 'D' && d >= '0' && d <= '5') {
		take(m, 2);
	} else if (c == 'c' && d == 'v') { /* conversion operator */
		take(m, 2);
		if (type(m) < 0)
			return -1;
	} else if (c == 'l' && d == 'i') { /* literal operator */
		take(m, 2);
		if (source_name(m) < 0)
			return -1;
	} else if (c == 'v' && isdigit((unsigned char)d)) { /* vendor operator */
		take(m, 2);
		if (source_name(m) < 0)
			return -1;
	} else if (islower((unsigned char)c) && islower((unsigned char)d)) {
		take(m, 2);
		*tag_ok = 1;
	} else {
		return fail(m);
	}
	while (peek(m, 0) == 'B') { /* <abi-tag> ::= B <source-name> */
		take(m, 1);
		if (source_name(m) < 0)
			return -1;
	}
	*tag_at = m->out.len;
	return m->bad ? -1 : 0;
}

/* <nested-name> ::= N [<CV-qualifiers>] [<ref-qualifier>] <prefix> <unqualified-name> E */
static int nested_name(struct mangled *m, int *is_template, size_t *tag_at, int *tag_ok)
{
	take(m, 1); /* 'N' */
	while (strchr("rVK", peek(m, 0)) && peek(m, 0))
		take(m, 1);
	if (peek(m, 0) == 'R' || peek(m, 0) == 'O')
		take(m, 1);
	while (!m->bad && peek(m, 0) != 'E') {
		char c = peek(m, 0);
		*is_template = 0;
		if (!c)
			return fail(m);
		if (c == 'S') {
			*tag_ok = 0;
			if (substitution(m) < 0)
				return -1;
		} else if (c == 'T') {
			*tag_ok = 0;
			if (template_param(m) < 0)
				return -1;
		} else if (c == 'I') {
			if (template_args(m) < 0)
				return -1;
			*is_template = 1;
		} else if (c == 'M') { /* closure in a data member's initializer */
			take(m, 1);
		} else if (c == 'D' &&
			   (peek(m, 1) == 't' || peek(m, 1) == 'T' || peek(m, 1) == 'C')) {
			return fail(m);
		} else if (unqualified_name(m, tag_at, tag_ok) < 0) {
			return -1;
		}
	}
	take(m, 1);
	return m->bad ? -1 : 0;
}

/* <local-name> ::= Z <encoding> E <entity name> [<discriminator>] | Z <encoding> E s [..] */
static int local_name(struct mangled *m, int *is_template, size_t *tag_at, int *tag_ok)
{
	take(m, 1); /* 'Z' */
	if (encoding(m, 1) < 0)
		return -1;
	if (peek(m, 0) != 'E')
		return fail(m);
	take(m, 1);
	*is_template = 0;
	*tag_ok = 0;
	if (peek(m, 0) == 's') {
		take(m, 1);
	} else if (peek(m, 0) == 'd') {
		return fail(m);
	} else if (name(m, is_template, tag_at, tag_ok) < 0) {
		return -1;
	}
	discriminator(m);
	return m->bad ? -1 : 0;
}

/*
 * <name>.  *is_template: the name ends with template arguments (so a function of that
 * name has its return type encoded); *tag_at / *tag_ok: where an ABI tag on its last
 * unqualified name can go (not after a substitution or template parameter).
 */
static int name(struct mangled *m, int *is_template, size_t *tag_at, int *tag_ok)
{
	char c = peek(m, 0);

	*is_template = 0;
	*tag_ok = 0;
	if (++m->depth > DEPTH_MAX)
		return fail(m);
	if (c == 'N') {
		if (nested_name(m, is_template, tag_at, tag_ok) < 0)
			return -1;
	} else if (c == 'Z') {
		if (local_name(m, is_template, tag_at, tag_ok) < 0)
			return -1;
	} else {
		if (c == 'S' && peek(m, 1) == 't') {
			take(m, 2);
			if (unqualified_name(m, tag_at, tag_ok) < 0)
				return -1;
		} else if (c == 'S') {
			if (substitution(m) < 0)
				return -1;
		} else if (unqualified_name(m, tag_at, tag_ok) < 0) {
			return -1;
		}
		if (peek(m, 0) == 'I') {
			if (template_args(m) < 0)
				return -1;
			*is_template = 1;
		}
	}
	m->depth--;
	return m->bad ? -1 : 0;
}

/* <type> (the productions kernel names use; others fail the pass) */
static int type(struct mangled *m)
{
	char c = peek(m, 0), d = peek(m, 1);
	int t;
	size_t at;

	if (++m->depth > DEPTH_MAX)
		return fail(m);
	if (c && strchr("vwbcahstijlmxynofdegz", c)) {
		take(m, 1);
	} else if (c == 'u') { /* vendor extended type */
		take(m, 1);
		source_name(m);
	} else if (c == 'D') {
		if (d == 'p') { /* pack expansion */
			take(m, 2);
			type(m);
		} else if (d == 'v' || d == 'F' || d == 'B' || d == 'U') {
			/* Dv <n> _ <type> | DF <n> [_xb] | DB <n> _ | DU <n> _ */
			take(m, 2);
			if (!take_digits(m))
				return fail(m);
			if (peek(m, 0) && strchr("_xb", peek(m, 0)))
				take(m, 1);
			else
				return fail(m);
			if (d == 'v')
				type(m);
		} else if (d && strchr("defhisuacn", d)) {
			take(m, 2);
		} else {
			return fail(m);
		}
	} else if (c == 'r' || c == 'V' || c == 'K' || c == 'P' || c == 'R' || c == 'O' ||
		   c == 'C' || c == 'G') {
		take(m, 1);
		type(m);
	} else if (c == 'U') { /* vendor qualifier */
		take(m, 1);
		if (source_name(m) == 0 && peek(m, 0) == 'I')
			template_args(m);
		type(m);
	} else if (c == 'F') { /* function type */
		take(m, 1);
		if (peek(m, 0) == 'Y')
			take(m, 1);
		while (!m->bad && peek(m, 0) != 'E') {
			if ((peek(m, 0) == 'R' || peek(m, 0) == 'O') && peek(m, 1) == 'E') {
				take(m, 1);
				break;
			}
			if (!peek(m, 0) || type(m) < 0)
				return fail(m);
		}
		take(m, 1);
	} else if (c == 'A') { /* array */
		take(m, 1);
		take_digits(m);
		if (peek(m, 0) != '_')
			return fail(m);
		take(m, 1);
		type(m);
	} else if (c == 'M') { /* pointer to member */
		take(m, 1);
		if (type(m) == 0)
			type(m);
	} else if (c == 'T' && (d == '_' || isdigit((unsigned char)d))) {
		if (template_param(m) == 0 && peek(m, 0) == 'I')
			template_args(m);
	} else if (c == 'T' && (d == 's' || d == 'u' || d == 'e')) {
		take(m, 2);
		name(m, &t, &at, &t);
	} else if (c == 'S' && peek(m, 1) != 't') {
		if (substitution(m) == 0 && peek(m, 0) == 'I')
			template_args(m);
	} else if (c == 'N' || c == 'Z' || c == 'S' || isdigit((unsigned char)c)) {
		int tag_ok;
		name(m, &t, &at, &tag_ok);
	} else {
		return fail(m);
	}
	m->depth--;
	return m->bad ? -1 : 0;
}

/*
 * <encoding> ::= <name> <bare-function-type> | <name>.  nested: inside a local name
 * (parameters end at its 'E') or an expression; there a function template's builtin
 * return type is marked with an ABI tag for the post-pass.
 */
static int encoding(struct mangled *m, int nested)
{
	int is_template = 0, tag_ok = 0;
	size_t tag_at = 0;

	if (peek(m, 0) == 'T' || peek(m, 0) == 'G') /* special names: not kernels */
		return fail(m);
	if (name(m, &is_template, &tag_at, &tag_ok) < 0)
		return -1;
	if (!peek(m, 0) || peek(m, 0) == 'E' || peek(m, 0) == '.')
		return 0;
	if (is_template) { /* the return type comes first */
		const char *ret = builtin_name(peek(m, 0));
		if (nested && ret && tag_ok && m->nret < RET_MAX) {
			char nm[16], tag[24];
			int n;
			snprintf(nm, sizeof(nm), "GPRET%u", m->nret);
			n = snprintf(tag, sizeof(tag), "B%zu%s", strlen(nm), nm);
			strbuf_splice(&m->out, tag_at, 0, tag, (size_t)n);
			m->ret[m->nret++] = ret;
		}
		if (type(m) < 0)
			return -1;
	}
	while (!m->bad && peek(m, 0) && peek(m, 0) != 'E' && peek(m, 0) != '.')
		if (type(m) < 0)
			return -1;
	return m->bad ? -1 : 0;
}

/* ---- post-pass over the demangled text -------------------------------------------- */

/* Integer literal suffixes of libstdc++'s demangler -> the type NVIDIA's demangler casts
 * to ("10" -> "(int)10", "7u" -> "(unsigned int)7", "5l" -> "(long)5"). */
static const struct {
	const char *suffix, *type;
} lit_types[] = {{"ull", "unsigned long long"}, {"ll", "long long"}, {"ul", "unsigned long"},
		 {"u", "unsigned int"},		{"l", "long"},	     {"", "int"}};

/*
 * Inside <...>, an argument that is an integer literal becomes "(type)value" and
 * true/false become "(bool)1"/"(bool)0"; "(anonymous namespace)" becomes "<unnamed>".
 * (char literals already print as "(char)97" in both.)
 */
static void style_literals(const char *in, struct strbuf *out)
{
	int depth = 0;

	for (size_t i = 0; in[i];) {
		char c = in[i];
		size_t o = out->len;
		int arg_start = depth > 0 && o > 0 &&
				(out->buf[o - 1] == '<' ||
				 (o > 1 && out->buf[o - 2] == ',' && out->buf[o - 1] == ' '));
		if (!strncmp(in + i, "(anonymous namespace)", 21)) {
			strbuf_addstr(out, "<unnamed>");
			i += 21;
			continue;
		}
		if (arg_start) {
			size_t j = i + (in[i] == '-'), d = j;
			while (isdigit((unsigned char)in[d]))
				d++;
			if (d > j) {
				for (size_t t = 0; t < sizeof(lit_types) / sizeof(lit_types[0]);
				     t++) {
					size_t sl = strlen(lit_types[t].suffix);
					if (strncmp(in + d, lit_types[t].suffix, sl) ||
					    (in[d + sl] != ',' && in[d + sl] != '>'))
						continue;
					strbuf_addf(out, "(%s)%.*s", lit_types[t].type,
						    (int)(d - i), in + i);
					i = d + sl;
					goto next;
				}
			}
			if (!strncmp(in + i, "true", 4) && (in[i + 4] == ',' || in[i + 4] == '>')) {
				strbuf_addstr(out, "(bool)1");
				i += 4;
				continue;
			}
			if (!strncmp(in + i, "false", 5) &&
			    (in[i + 5] == ',' || in[i + 5] == '>')) {
				strbuf_addstr(out, "(bool)0");
				i += 5;
				continue;
			}
		}
		if (c == '<')
			depth++;
		else if (c == '>' && depth > 0)
			depth--;
		strbuf_addch(out, c);
		i++;
	next:;
	}
}

static int is_ident(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

static int is_open(char c)
{
	return c == '(' || c == '<' || c == '[' || c == '{';
}

static int is_close(char c)
{
	return c == ')' || c == '>' || c == ']' || c == '}';
}

/* Given s[0..*end) ending with a closing bracket, move *end back to its opening one. */
static int strip_group(const char *s, size_t *end)
{
	size_t i = *end;
	int depth = 0;

	while (i > 0) {
		char c = s[--i];
		if (is_close(c))
			depth++;
		else if (is_open(c) && --depth == 0) {
			*end = i;
			return 0;
		}
	}
	return -1;
}

/*
 * Where the qualified name (or type) ending at s[end] starts: back over identifiers,
 * "::", bracket groups and, with spaces, words ("unsigned int", "operator()() const::"),
 * to a '<', '(' or ',' at depth 0.
 */
static size_t name_start(const char *s, size_t end, int spaces)
{
	size_t i = end;

	while (i > 0) {
		char c = s[i - 1];
		if (is_ident(c) || c == ':' || (spaces && c == ' ' && i >= 2 && s[i - 2] != ',')) {
			i--;
		} else if (is_close(c)) {
			size_t j = i;
			if (strip_group(s, &j) < 0)
				break;
			i = j;
		} else {
			break;
		}
	}
	while (s[i] == ' ')
		i++;
	return i;
}

/* Replace s[at, at + len) with the string repl. */
static void splice(struct strbuf *sb, size_t at, size_t len, const char *repl)
{
	strbuf_splice(sb, at, len, repl, strlen(repl));
}

/* "[abi:GPRET<k>]" markers of the pre-pass -> the return type before the name. */
static void style_return_types(struct strbuf *sb, const char *const *ret, unsigned nret)
{
	char *p;

	while ((p = strstr(sb->buf, "[abi:GPRET"))) {
		size_t at = (size_t)(p - sb->buf), e = at + 10, start;
		unsigned k = 0;
		char ins[40];
		while (isdigit((unsigned char)sb->buf[e]))
			k = k * 10 + (unsigned)(sb->buf[e++] - '0');
		if (sb->buf[e] != ']')
			break;
		splice(sb, at, e + 1 - at, "");
		if (k >= nret)
			continue;
		start = name_start(sb->buf, at, 0);
		snprintf(ins, sizeof(ins), "%s ", ret[k]);
		splice(sb, start, 0, ins);
	}
}

/* "{lambda(float)#1}" -> "[lambda(float) (instance 1)]" */
static void style_lambdas(struct strbuf *sb)
{
	size_t from = 0;
	char *p;

	while ((p = strstr(sb->buf + from, "{lambda("))) {
		size_t at = (size_t)(p - sb->buf), i = at + 7, n;
		int depth = 0;
		char num[32], repl[48];
		do {
			if (sb->buf[i] == '(')
				depth++;
			else if (sb->buf[i] == ')')
				depth--;
			i++;
		} while (sb->buf[i] && depth > 0);
		from = at + 1;
		if (depth || sb->buf[i] != '#')
			continue;
		n = 0;
		while (isdigit((unsigned char)sb->buf[i + 1 + n]) && n < sizeof(num) - 1) {
			num[n] = sb->buf[i + 1 + n];
			n++;
		}
		num[n] = 0;
		if (!n || sb->buf[i + 1 + n] != '}')
			continue;
		sb->buf[at] = '[';
		snprintf(repl, sizeof(repl), " (instance %s)]", num);
		splice(sb, i, n + 2, repl);
	}
}

/* "operator()" -> "operator ()", as for every symbolic operator */
static void style_operators(struct strbuf *sb)
{
	size_t from = 0;
	char *p;

	while ((p = strstr(sb->buf + from, "operator"))) {
		size_t at = (size_t)(p - sb->buf);
		char next = sb->buf[at + 8];
		from = at + 8;
		if ((at > 0 && is_ident(sb->buf[at - 1])) || !next || is_ident(next) || next == ' ')
			continue;
		splice(sb, at + 8, 0, " ");
	}
}

/* "T const" -> "const T" for a type T (not a member function's "() const"). */
static void style_const(struct strbuf *sb)
{
	size_t from = 0;
	char *p;

	while ((p = strstr(sb->buf + from, " const"))) {
		size_t at = (size_t)(p - sb->buf), start;
		char prev = at ? sb->buf[at - 1] : 0, next = sb->buf[at + 6];
		from = at + 6;
		if (is_ident(next) || next == ':' ||
		    !(is_ident(prev) || prev == '>' || prev == '}'))
			continue;
		start = name_start(sb->buf, at, 1);
		if (start >= at)
			continue;
		splice(sb, at, 6, "");
		splice(sb, start, 0, "const ");
	}
}

/* The whole post-pass; ret/nret: the pre-pass's marked return types. */
static char *style(const char *in, const char *const *ret, unsigned nret)
{
	struct strbuf a = STRBUF_INIT, out = STRBUF_INIT;

	style_literals(in, &a);
	style_return_types(&a, ret, nret);
	style_lambdas(&a);
	style_operators(&a);
	style_const(&a);
	for (size_t i = 0; i < a.len; i++) {
		char c = a.buf[i], prev = i ? a.buf[i - 1] : ' ';
		if ((c == '*' || c == '&') && prev != ' ' && prev != '*' && prev != '&' &&
		    prev != '(')
			strbuf_addch(&out, ' ');
		/* "> >" -> ">>" */
		if (c == ' ' && prev == '>' && a.buf[i + 1] == '>')
			continue;
		strbuf_addch(&out, c);
	}
	strbuf_release(&a);
	return strbuf_detach(&out, NULL);
}

char *kernel_name_style(const char *demangled)
{
	return style(demangled, NULL, 0);
}

char *kernel_name_demangle(const char *mangled)
{
	struct mangled m;
	char *d = NULL, *res;
	int status = -1;

	if (!mangled || mangled[0] != '_' || mangled[1] != 'Z')
		return NULL;
	memset(&m, 0, sizeof(m));
	m.s = mangled;
	m.i = 2;
	strbuf_init(&m.out, strlen(mangled) + 64);
	strbuf_add(&m.out, "_Z", 2);
	if (encoding(&m, 0) == 0 && !m.bad && (!m.s[m.i] || m.s[m.i] == '.')) {
		strbuf_addstr(&m.out, mangled + m.i); /* a clone suffix (".isra.0") */
		d = __cxa_demangle(m.out.buf, NULL, NULL, &status);
		if (status != 0) {
			free(d);
			d = NULL;
		}
	}
	strbuf_release(&m.out);
	if (!d) { /* without the pre-pass: types substituted, no nested return types */
		m.nret = 0;
		d = __cxa_demangle(mangled, NULL, NULL, &status);
		if (!d || status != 0) {
			free(d);
			return NULL;
		}
	}
	res = style(d, m.ret, m.nret);
	free(d);
	return res;
}

/* ---- shortName ----------------------------------------------------------------------- */

int kernel_name_short(const char *s, size_t len, size_t *start, size_t *end)
{
	size_t e = len, b = 0, i;
	int depth = 0;

	while (e > 0 && s[e - 1] == ' ')
		e--;
	/* cv/ref qualifiers of member functions: "f(int) const" */
	if (e >= 6 && !memcmp(s + e - 6, " const", 6))
		e -= 6;
	if (e == 0 || s[e - 1] != ')' || strip_group(s, &e) < 0)
		return -1;
	while (e > 0 && s[e - 1] == ' ')
		e--;
	/* "operator()"-style names keep their brackets; template args go */
	if (e > 0 && s[e - 1] == '>' && !(e >= 9 && !memcmp(s + e - 9, "operator>", 9))) {
		size_t t = e;
		if (strip_group(s, &t) == 0)
			e = t;
	}
	for (i = 0; i < e; i++) {
		char c = s[i];
		if (is_open(c))
			depth++;
		else if (is_close(c))
			depth--;
		else if (depth == 0 && c == ' ')
			b = i + 1;
		else if (depth == 0 && c == ':' && i + 1 < e && s[i + 1] == ':') {
			b = i + 2;
			i++;
		}
	}
	if (b >= e)
		return -1;
	*start = b;
	*end = e;
	return 0;
}
