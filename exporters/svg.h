/*
 * svg.h - a small SVG 1.1 writer (W3C "Scalable Vector Graphics (SVG) 1.1", sections 9
 * basic shapes, 10 text): a document is built in memory and written whole, so a picture
 * is either complete or absent.  Standalone SVG: any browser or rsvg opens it, no tool of
 * ours is needed.  Coordinates are user units (px at the default scale), origin top left.
 *
 * Text is escaped for XML (& < > " ' as entities); bytes that are not valid UTF-8 and
 * control characters XML 1.0 forbids become U+FFFD, so any name from a report is safe.
 *
 *     struct svg s;
 *     svg_begin(&s, 800, 400, "title");
 *     svg_rect(&s, 10, 10, 100, 20, "#3b528b", "tooltip");
 *     svg_text(&s, 10, 50, 12, SVG_START, "#000", "rank %d", 3);
 *     svg_write(&s, "out.svg");   // or use s.out.buf
 *     svg_release(&s);
 */
#ifndef GPROF_SVG_H
#define GPROF_SVG_H

#include "../core/util.h"

/* text-anchor of svg_text. */
enum svg_anchor {
	SVG_START = 0,
	SVG_MIDDLE,
	SVG_END,
};

/* A document being built; out holds its text (valid XML once svg_end or svg_write ran). */
struct svg {
	struct strbuf out;
	double width, height; /* user units */
	int ended;
};

/* Start a document of width x height user units with a white background; title (may be
 * NULL) becomes the <title> element (shown by browsers as the tab name). */
void svg_begin(struct svg *s, double width, double height, const char *title);
/* A rectangle; fill is a CSS colour ("#rrggbb", "none"); tooltip (may be NULL) a <title>
 * child, shown on hover.  Negative or NaN sizes are drawn as 0. */
void svg_rect(struct svg *s, double x, double y, double w, double h, const char *fill,
	      const char *tooltip);
/* A line of stroke width `width`. */
void svg_line(struct svg *s, double x1, double y1, double x2, double y2, const char *stroke,
	      double width);
/* Text at (x, y) (the baseline), font size in user units, printf-style. */
void svg_text(struct svg *s, double x, double y, double size, enum svg_anchor anchor,
	      const char *fill, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
/* Close the document (idempotent). */
void svg_end(struct svg *s);
/* svg_end, then write the document to path (created or truncated; written to path.tmp
 * and renamed, so a reader never sees half a picture).  0, or -1 after printing one error
 * line naming path (nothing left behind). */
int svg_write(struct svg *s, const char *path);
/* Free the document's memory. */
void svg_release(struct svg *s);

/* Append s[0..len) to out escaped for XML text or an attribute value (see the top). */
void svg_add_escaped(struct strbuf *out, const char *s, size_t len);

/* A colour for v in [0, 1] (clamped; NaN as 0) on a perceptually uniform scale from dark
 * blue (0) to yellow (1) (viridis's end points and three inner stops, interpolated in
 * RGB), as "#rrggbb" into out (8 bytes). */
void svg_color_scale(double v, char out[8]);
/* A colour for category i (0, 1, ...) from a 10-colour qualitative palette (Tableau 10),
 * repeating; into out (8 bytes). */
void svg_color_category(unsigned i, char out[8]);

#endif
