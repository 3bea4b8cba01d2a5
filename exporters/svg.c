/*
 * svg.c - the SVG writer (svg.h).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stats.h"
#include "svg.h"

/* Numbers as SVG wants them: no exponent, at most 2 decimals, NaN/inf as 0. */
static void add_num(struct strbuf *out, double v)
{
	if (!isfinite(v))
		v = 0;
	if (v == floor(v) && fabs(v) < 1e15)
		strbuf_addf(out, "%.0f", v);
	else
		strbuf_addf(out, "%.2f", v);
}

void svg_add_escaped(struct strbuf *out, const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		uint32_t cp;
		size_t n;

		switch (c) {
		case '&':
			strbuf_addstr(out, "&amp;");
			i++;
			continue;
		case '<':
			strbuf_addstr(out, "&lt;");
			i++;
			continue;
		case '>':
			strbuf_addstr(out, "&gt;");
			i++;
			continue;
		case '"':
			strbuf_addstr(out, "&quot;");
			i++;
			continue;
		case '\'':
			strbuf_addstr(out, "&apos;");
			i++;
			continue;
		default:
			break;
		}
		n = stats_utf8_len(s + i, len - i, &cp);
		/* XML 1.0 Char: tab, LF, CR, >= 0x20 except the surrogates, FFFE and FFFF */
		if (!n || (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0xfffe ||
		    cp == 0xffff) {
			strbuf_addstr(out, "\xef\xbf\xbd");
			i += n ? n : 1;
			continue;
		}
		strbuf_add(out, s + i, n);
		i += n;
	}
}

static void add_attr_text(struct strbuf *out, const char *s)
{
	svg_add_escaped(out, s, strlen(s));
}

void svg_begin(struct svg *s, double width, double height, const char *title)
{
	strbuf_init(&s->out, 4096);
	s->width = width;
	s->height = height;
	s->ended = 0;
	strbuf_addstr(&s->out,
		      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		      "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"");
	add_num(&s->out, width);
	strbuf_addstr(&s->out, "\" height=\"");
	add_num(&s->out, height);
	strbuf_addstr(&s->out, "\" viewBox=\"0 0 ");
	add_num(&s->out, width);
	strbuf_addch(&s->out, ' ');
	add_num(&s->out, height);
	strbuf_addstr(&s->out, "\" font-family=\"sans-serif\">\n");
	if (title) {
		strbuf_addstr(&s->out, "<title>");
		add_attr_text(&s->out, title);
		strbuf_addstr(&s->out, "</title>\n");
	}
	svg_rect(s, 0, 0, width, height, "#ffffff", NULL);
}

void svg_rect(struct svg *s, double x, double y, double w, double h, const char *fill,
	      const char *tooltip)
{
	if (!(w > 0))
		w = 0;
	if (!(h > 0))
		h = 0;
	strbuf_addstr(&s->out, "<rect x=\"");
	add_num(&s->out, x);
	strbuf_addstr(&s->out, "\" y=\"");
	add_num(&s->out, y);
	strbuf_addstr(&s->out, "\" width=\"");
	add_num(&s->out, w);
	strbuf_addstr(&s->out, "\" height=\"");
	add_num(&s->out, h);
	strbuf_addstr(&s->out, "\" fill=\"");
	add_attr_text(&s->out, fill);
	if (tooltip) {
		strbuf_addstr(&s->out, "\"><title>");
		add_attr_text(&s->out, tooltip);
		strbuf_addstr(&s->out, "</title></rect>\n");
	} else {
		strbuf_addstr(&s->out, "\"/>\n");
	}
}

void svg_line(struct svg *s, double x1, double y1, double x2, double y2, const char *stroke,
	      double width)
{
	strbuf_addstr(&s->out, "<line x1=\"");
	add_num(&s->out, x1);
	strbuf_addstr(&s->out, "\" y1=\"");
	add_num(&s->out, y1);
	strbuf_addstr(&s->out, "\" x2=\"");
	add_num(&s->out, x2);
	strbuf_addstr(&s->out, "\" y2=\"");
	add_num(&s->out, y2);
	strbuf_addstr(&s->out, "\" stroke=\"");
	add_attr_text(&s->out, stroke);
	strbuf_addstr(&s->out, "\" stroke-width=\"");
	add_num(&s->out, width);
	strbuf_addstr(&s->out, "\"/>\n");
}

void svg_text(struct svg *s, double x, double y, double size, enum svg_anchor anchor,
	      const char *fill, const char *fmt, ...)
{
	static const char *const anchors[] = {"start", "middle", "end"};
	struct strbuf t = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&t, fmt, ap);
	va_end(ap);
	strbuf_addstr(&s->out, "<text x=\"");
	add_num(&s->out, x);
	strbuf_addstr(&s->out, "\" y=\"");
	add_num(&s->out, y);
	strbuf_addstr(&s->out, "\" font-size=\"");
	add_num(&s->out, size);
	strbuf_addf(&s->out, "\" text-anchor=\"%s\" fill=\"", anchors[anchor % 3]);
	add_attr_text(&s->out, fill);
	strbuf_addstr(&s->out, "\">");
	svg_add_escaped(&s->out, t.buf, t.len);
	strbuf_addstr(&s->out, "</text>\n");
	strbuf_release(&t);
}

void svg_end(struct svg *s)
{
	if (!s->ended)
		strbuf_addstr(&s->out, "</svg>\n");
	s->ended = 1;
}

int svg_write(struct svg *s, const char *path)
{
	char *tmp = xasprintf("%s.tmp", path);
	FILE *f;
	int ok;

	svg_end(s);
	f = fopen(tmp, "we");
	if (!f) {
		error("cannot write '%s': %s", path, strerror(errno));
		free(tmp);
		return -1;
	}
	ok = fwrite(s->out.buf, 1, s->out.len, f) == s->out.len;
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path) != 0) {
		error("cannot write '%s': %s", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

void svg_release(struct svg *s)
{
	strbuf_release(&s->out);
}

void svg_color_scale(double v, char out[8])
{
	/* viridis at 0, .25, .5, .75, 1 */
	static const unsigned char stops[5][3] = {
	    {68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
	double x;
	int i;

	if (!(v > 0))
		v = 0;
	if (v > 1)
		v = 1;
	x = v * 4;
	i = (int)x;
	if (i > 3)
		i = 3;
	x -= i;
	snprintf(out, 8, "#%02x%02x%02x",
		 (unsigned)lround(stops[i][0] + (stops[i + 1][0] - stops[i][0]) * x),
		 (unsigned)lround(stops[i][1] + (stops[i + 1][1] - stops[i][1]) * x),
		 (unsigned)lround(stops[i][2] + (stops[i + 1][2] - stops[i][2]) * x));
}

void svg_color_category(unsigned i, char out[8])
{
	static const char *const pal[10] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
					    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

	snprintf(out, 8, "%s", pal[i % 10]);
}
