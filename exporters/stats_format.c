/*
 * stats_format.c - print a report's rows as nsys's stats formatters do: column, table,
 * csv, tsv, json (../shared/reference/nsys-cli.md section 2.2).
 *
 * column layout (reproduces nsys 2025.3 byte for byte): every line starts with one
 * blank; columns are separated by two blanks; a column is as wide as its widest value
 * or title; titles are centred (extra blank on the right); a line of dashes the width
 * of each column follows; numeric columns are right-aligned, text columns (any TEXT
 * value) left-aligned and padded, so lines keep their trailing blanks.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exporters/stats.h"

/*
 * Text from a report is untrusted: NVTX messages are whatever the application passed,
 * byte for byte.  Every text output is valid UTF-8: a byte that does not start a valid
 * UTF-8 sequence (a stray continuation byte, a truncated or overlong sequence, a UTF-16
 * surrogate, a code point above U+10FFFF) becomes U+FFFD, one per byte, written "\ufffd"
 * in JSON and as the character itself elsewhere.  JSON escapes the control characters
 * U+0000-U+001F as JSON requires; column and table output (a terminal) shows every
 * control character as an escape (\n, \r, \t, \e, \xHH, \u0085), so a report cannot
 * move the cursor, change colours or retitle the terminal.  csv keeps them (quoted).
 */
#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD in UTF-8 */

size_t stats_utf8_len(const char *p, size_t len, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *)p;
	uint32_t c, min;
	size_t n;

	if (!len)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, c = s[0] & 0x1f, min = 0x80;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, c = s[0] & 0x0f, min = 0x800;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, c = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Append s[0..len) with invalid UTF-8 bytes replaced by U+FFFD (csv, tsv). */
static void add_valid_utf8(struct strbuf *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = stats_utf8_len(s + i, len - i, &cp);

		if (n)
			strbuf_add(out, s + i, n);
		else
			strbuf_addstr(out, REPLACEMENT);
		i += n ? n : 1;
	}
}

void stats_add_terminal_text(struct strbuf *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = stats_utf8_len(s + i, len - i, &cp);

		if (!n)
			strbuf_addstr(out, REPLACEMENT);
		else if (cp == '\n')
			strbuf_addstr(out, "\\n");
		else if (cp == '\r')
			strbuf_addstr(out, "\\r");
		else if (cp == '\t')
			strbuf_addstr(out, "\\t");
		else if (cp == 0x1b)
			strbuf_addstr(out, "\\e");
		else if (cp < 0x20 || cp == 0x7f)
			strbuf_addf(out, "\\x%02x", (unsigned)cp);
		else if (cp >= 0x80 && cp <= 0x9f)
			strbuf_addf(out, "\\u%04x", (unsigned)cp);
		else
			strbuf_add(out, s + i, n);
		i += n ? n : 1;
	}
}

/* Display width of UTF-8 text: code points, not bytes (as nsys's Python counts). */
static size_t text_width(const char *s, size_t len)
{
	size_t w = 0;

	for (size_t i = 0; i < len; i++)
		w += ((unsigned char)s[i] & 0xC0) != 0x80;
	return w;
}

static const struct {
	const char *suffix;
	enum stats_unit unit;
} units[] = {
    {"dur_ns", STATS_UNIT_DUR_NS},
    {"ts_ns", STATS_UNIT_TS_NS},
    {"ratio_%", STATS_UNIT_RATIO},
    {"mem_B", STATS_UNIT_MEM_B},
    {"thru_B", STATS_UNIT_THRU_B},
    {"addr_uint", STATS_UNIT_ADDR},
    /* plain byte counts (the MPI reports' aliases): the title without a unit, the value as is */
    {"mem_b", STATS_UNIT_NONE},
    {"B", STATS_UNIT_NONE},
    /* gprof-cli's own: `diff`'s ratios (no title suffix, 3 decimals) */
    {"factor", STATS_UNIT_FACTOR},
};

int stats_parse_title(const char *alias, enum stats_timeunit tu, enum stats_unit *unit,
		      struct strbuf *title)
{
	const char *colon = strrchr(alias, ':');
	size_t len = strlen(alias);

	*unit = STATS_UNIT_NONE;
	if (colon) {
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if (!strcmp(colon + 1, units[i].suffix)) {
				*unit = units[i].unit;
				len = (size_t)(colon - alias);
				break;
			}
		}
	}
	strbuf_add(title, alias, len);
	switch (*unit) {
	case STATS_UNIT_DUR_NS:
	case STATS_UNIT_TS_NS:
		strbuf_addf(title, " (%s)", stats_timeunit_name(tu));
		break;
	case STATS_UNIT_RATIO:
		strbuf_addstr(title, " (%)");
		break;
	case STATS_UNIT_MEM_B:
		strbuf_addstr(title, " (MB)");
		break;
	case STATS_UNIT_THRU_B:
		strbuf_addstr(title, " (MB/s)");
		break;
	default:
		break;
	}
	return alias[0] == '_';
}

void stats_add_thousands(struct strbuf *out, const char *num)
{
	const char *p = num, *end;
	size_t digits, i;

	if (*p == '-' || *p == '+')
		strbuf_addch(out, *p++);
	for (end = p; *end >= '0' && *end <= '9'; end++)
		;
	digits = (size_t)(end - p);
	for (i = 0; i < digits; i++) {
		if (i && (digits - i) % 3 == 0)
			strbuf_addch(out, ',');
		strbuf_addch(out, p[i]);
	}
	strbuf_addstr(out, end);
}

static void add_number(struct strbuf *out, const char *num, int thousands)
{
	if (thousands)
		stats_add_thousands(out, num);
	else
		strbuf_addstr(out, num);
}

static const double tu_div[] = {1.0, 1e3, 1e6, 1e9};
static const int tu_decimals[] = {1, 3, 6, 9};

int stats_format_value(sqlite3_value *v, enum stats_unit unit, enum stats_timeunit tu,
		       int thousands, struct strbuf *out)
{
	int type = sqlite3_value_type(v);
	char num[64];
	double d;

	switch (type) {
	case SQLITE_NULL:
		return type;
	case SQLITE_TEXT:
	case SQLITE_BLOB:
		strbuf_add(out, sqlite3_value_text(v), (size_t)sqlite3_value_bytes(v));
		return SQLITE_TEXT;
	default:
		break;
	}
	d = sqlite3_value_double(v);
	switch (unit) {
	case STATS_UNIT_DUR_NS:
	case STATS_UNIT_TS_NS:
		if (tu == STATS_TU_NS && type == SQLITE_INTEGER)
			snprintf(num, sizeof(num), "%lld", (long long)sqlite3_value_int64(v));
		else
			snprintf(num, sizeof(num), "%.*f", tu_decimals[tu], d / tu_div[tu]);
		break;
	case STATS_UNIT_RATIO:
		snprintf(num, sizeof(num), "%.1f", d);
		break;
	case STATS_UNIT_FACTOR:
		snprintf(num, sizeof(num), "%.3f", d);
		break;
	case STATS_UNIT_MEM_B:
	case STATS_UNIT_THRU_B:
		snprintf(num, sizeof(num), "%.3f", d / 1e6);
		break;
	case STATS_UNIT_ADDR:
		if (type == SQLITE_INTEGER)
			snprintf(num, sizeof(num), "%lld", (long long)sqlite3_value_int64(v));
		else
			snprintf(num, sizeof(num), "%.0f", d);
		strbuf_addstr(out, num);
		return type;
	default:
		if (type == SQLITE_INTEGER)
			snprintf(num, sizeof(num), "%lld", (long long)sqlite3_value_int64(v));
		else
			snprintf(num, sizeof(num), "%.1f", d);
		break;
	}
	if (type == SQLITE_FLOAT && !isfinite(d)) {
		strbuf_addstr(out, isnan(d) ? "nan" : (d > 0 ? "inf" : "-inf"));
		return type;
	}
	add_number(out, num, thousands);
	return type;
}

void stats_add_centered(struct strbuf *out, const char *s, size_t width)
{
	size_t len = text_width(s, strlen(s)), pad = len < width ? width - len : 0, left = pad / 2;

	for (size_t i = 0; i < left; i++)
		strbuf_addch(out, ' ');
	strbuf_addstr(out, s);
	for (size_t i = left; i < pad; i++)
		strbuf_addch(out, ' ');
}

void stats_add_csv_field(struct strbuf *out, const char *s, size_t len)
{
	int quote = 0;
	size_t start = 0;

	for (size_t i = 0; i < len && !quote; i++)
		quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
	if (!quote) {
		add_valid_utf8(out, s, len);
		return;
	}
	strbuf_addch(out, '"');
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"') {
			add_valid_utf8(out, s + start, i + 1 - start);
			strbuf_addch(out, '"');
			start = i + 1;
		}
	}
	add_valid_utf8(out, s + start, len - start);
	strbuf_addch(out, '"');
}

void stats_add_json_string(struct strbuf *out, const char *s, size_t len)
{
	strbuf_addch(out, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		uint32_t cp;
		size_t n;

		if (c >= 0x80) {
			n = stats_utf8_len(s + i, len - i, &cp);
			if (n)
				strbuf_add(out, s + i, n);
			else
				strbuf_addstr(out, "\\ufffd");
			i += n ? n - 1 : 0;
			continue;
		}
		switch (c) {
		case '"':
			strbuf_addstr(out, "\\\"");
			break;
		case '\\':
			strbuf_addstr(out, "\\\\");
			break;
		case '\n':
			strbuf_addstr(out, "\\n");
			break;
		case '\r':
			strbuf_addstr(out, "\\r");
			break;
		case '\t':
			strbuf_addstr(out, "\\t");
			break;
		case '\b':
			strbuf_addstr(out, "\\b");
			break;
		case '\f':
			strbuf_addstr(out, "\\f");
			break;
		default:
			if (c < 0x20)
				strbuf_addf(out, "\\u%04x", c);
			else
				strbuf_addch(out, (char)c);
		}
	}
	strbuf_addch(out, '"');
}

/* One visible result column. */
struct col {
	int idx; /* SQLite column index */
	enum stats_unit unit;
	struct strbuf title;
	size_t width;
	int left; /* text column: left-aligned */
};

struct cols {
	struct col *c;
	int n;
};

static void cols_init(struct cols *cs, sqlite3_stmt *st, enum stats_timeunit tu)
{
	int n = sqlite3_column_count(st);

	cs->c = xcalloc((size_t)(n ? n : 1), sizeof(*cs->c));
	cs->n = 0;
	for (int i = 0; i < n; i++) {
		struct col *c = &cs->c[cs->n];
		strbuf_init(&c->title, 0);
		if (stats_parse_title(sqlite3_column_name(st, i), tu, &c->unit, &c->title)) {
			strbuf_release(&c->title);
			continue;
		}
		c->idx = i;
		c->width = text_width(c->title.buf, c->title.len);
		cs->n++;
	}
}

static void cols_release(struct cols *cs)
{
	for (int i = 0; i < cs->n; i++)
		strbuf_release(&cs->c[i].title);
	free(cs->c);
}

static int step_error(sqlite3_stmt *st)
{
	return error("cannot read report rows: %s", sqlite3_errmsg(sqlite3_db_handle(st)));
}

static int write_out(FILE *out, const struct strbuf *sb)
{
	if (sb->len && fwrite(sb->buf, 1, sb->len, out) != sb->len)
		return error("cannot write report output: %s", strerror(errno));
	return 0;
}

/* column and table: collect every cell, then lay them out. */
static int format_aligned(sqlite3_stmt *st, const struct stats_fmt_opts *o, struct cols *cs,
			  FILE *out)
{
	char **cells = NULL;
	size_t nrows = 0, alloc = 0;
	struct strbuf sb = STRBUF_INIT, line = STRBUF_INIT, esc = STRBUF_INIT;
	int rc, ret = 0, table = o->format == STATS_FMT_TABLE;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (nrows == alloc) {
			alloc = alloc ? alloc * 2 : 64;
			cells = xrealloc(cells, alloc * (size_t)cs->n * sizeof(char *));
		}
		for (int i = 0; i < cs->n; i++) {
			struct col *c = &cs->c[i];
			int type;
			strbuf_reset(&sb);
			type = stats_format_value(sqlite3_column_value(st, c->idx), c->unit,
						  o->timeunit, 1, &sb);
			if (type == SQLITE_TEXT) {
				c->left = 1;
				strbuf_reset(&esc);
				stats_add_terminal_text(&esc, sb.buf, sb.len);
				strbuf_reset(&sb);
				strbuf_add(&sb, esc.buf, esc.len);
			}
			if (text_width(sb.buf, sb.len) > c->width)
				c->width = text_width(sb.buf, sb.len);
			cells[nrows * (size_t)cs->n + (size_t)i] = xstrdup(sb.buf);
		}
		nrows++;
	}
	if (rc != SQLITE_DONE)
		ret = step_error(st);

	if (!ret) {
		const char *lead = table ? "| " : " ";
		const char *sep = table ? " | " : "  ";
		const char *tail = table ? " |" : "";
		struct strbuf border = STRBUF_INIT;

		if (table) {
			strbuf_addch(&border, '+');
			for (int i = 0; i < cs->n; i++) {
				for (size_t k = 0; k < cs->c[i].width + 2; k++)
					strbuf_addch(&border, '-');
				strbuf_addch(&border, '+');
			}
			strbuf_addch(&border, '\n');
			strbuf_addstr(&line, border.buf);
		}
		strbuf_addstr(&line, lead);
		for (int i = 0; i < cs->n; i++) {
			if (i)
				strbuf_addstr(&line, sep);
			stats_add_centered(&line, cs->c[i].title.buf, cs->c[i].width);
		}
		strbuf_addstr(&line, tail);
		strbuf_addch(&line, '\n');
		if (table) {
			strbuf_addstr(&line, border.buf);
		} else {
			strbuf_addstr(&line, lead);
			for (int i = 0; i < cs->n; i++) {
				if (i)
					strbuf_addstr(&line, sep);
				for (size_t k = 0; k < cs->c[i].width; k++)
					strbuf_addch(&line, '-');
			}
			strbuf_addch(&line, '\n');
		}
		for (size_t r = 0; r < nrows && !ret; r++) {
			strbuf_addstr(&line, lead);
			for (int i = 0; i < cs->n; i++) {
				const char *cell = cells[r * (size_t)cs->n + (size_t)i];
				size_t len = strlen(cell),
				       pad = cs->c[i].width - text_width(cell, len);
				if (i)
					strbuf_addstr(&line, sep);
				if (!cs->c[i].left)
					for (size_t k = 0; k < pad; k++)
						strbuf_addch(&line, ' ');
				strbuf_add(&line, cell, len);
				if (cs->c[i].left)
					for (size_t k = 0; k < pad; k++)
						strbuf_addch(&line, ' ');
			}
			strbuf_addstr(&line, tail);
			strbuf_addch(&line, '\n');
			if (line.len > 65536) {
				ret = write_out(out, &line);
				strbuf_reset(&line);
			}
		}
		if (table && nrows)
			strbuf_addstr(&line, border.buf);
		if (!ret)
			ret = write_out(out, &line);
		strbuf_release(&border);
	}
	for (size_t i = 0; i < nrows * (size_t)cs->n; i++)
		free(cells[i]);
	free(cells);
	strbuf_release(&sb);
	strbuf_release(&esc);
	strbuf_release(&line);
	return ret;
}

/* csv, tsv, json: stream row by row. */
static int format_stream(sqlite3_stmt *st, const struct stats_fmt_opts *o, struct cols *cs,
			 FILE *out)
{
	struct strbuf line = STRBUF_INIT, cell = STRBUF_INIT;
	int rc, ret = 0, nrows = 0;

	if (o->format == STATS_FMT_JSON) {
		strbuf_addstr(&line, "[");
	} else {
		for (int i = 0; i < cs->n; i++) {
			struct strbuf *t = &cs->c[i].title;
			if (i)
				strbuf_addch(&line, o->format == STATS_FMT_CSV ? ',' : '\t');
			if (o->format == STATS_FMT_CSV)
				stats_add_csv_field(&line, t->buf, t->len);
			else
				strbuf_add(&line, t->buf, t->len);
		}
		strbuf_addch(&line, '\n');
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (o->format == STATS_FMT_JSON)
			strbuf_addstr(&line, nrows ? ",\n  {" : "\n  {");
		for (int i = 0; i < cs->n; i++) {
			struct col *c = &cs->c[i];
			int type;
			strbuf_reset(&cell);
			type = stats_format_value(sqlite3_column_value(st, c->idx), c->unit,
						  o->timeunit, 0, &cell);
			switch (o->format) {
			case STATS_FMT_CSV:
				if (i)
					strbuf_addch(&line, ',');
				stats_add_csv_field(&line, cell.buf, cell.len);
				break;
			case STATS_FMT_TSV:
				if (i)
					strbuf_addch(&line, '\t');
				for (size_t k = 0; k < cell.len; k++)
					if (cell.buf[k] == '\t' || cell.buf[k] == '\n' ||
					    cell.buf[k] == '\r')
						cell.buf[k] = ' ';
				add_valid_utf8(&line, cell.buf, cell.len);
				break;
			default:
				if (i)
					strbuf_addstr(&line, ", ");
				stats_add_json_string(&line, c->title.buf, c->title.len);
				strbuf_addstr(&line, ": ");
				if (type == SQLITE_NULL)
					strbuf_addstr(&line, "null");
				else if (type == SQLITE_TEXT)
					stats_add_json_string(&line, cell.buf, cell.len);
				else if (!strcmp(cell.buf, "nan") || strstr(cell.buf, "inf"))
					strbuf_addstr(&line, "null");
				else
					strbuf_add(&line, cell.buf, cell.len);
			}
		}
		strbuf_addstr(&line, o->format == STATS_FMT_JSON ? "}" : "\n");
		nrows++;
		if (line.len > 65536) {
			if ((ret = write_out(out, &line)))
				break;
			strbuf_reset(&line);
		}
	}
	if (!ret && rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = step_error(st);
	if (!ret) {
		if (o->format == STATS_FMT_JSON)
			strbuf_addstr(&line, nrows ? "\n]\n" : "]\n");
		ret = write_out(out, &line);
	}
	strbuf_release(&line);
	strbuf_release(&cell);
	return ret;
}

int stats_format_stmt(sqlite3_stmt *st, const struct stats_fmt_opts *o, FILE *out)
{
	struct cols cs;
	int ret;

	cols_init(&cs, st, o->timeunit);
	if (o->format == STATS_FMT_COLUMN || o->format == STATS_FMT_TABLE)
		ret = format_aligned(st, o, &cs, out);
	else
		ret = format_stream(st, o, &cs, out);
	cols_release(&cs);
	return ret;
}
