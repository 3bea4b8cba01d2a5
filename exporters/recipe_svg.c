/*
 * recipe_svg.c - the recipes' pictures (recipe.h): ranks down, the common timeline
 * across, a time axis in ms or s, a colour legend; drawn with exporters/svg.h.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "recipe.h"
#include "svg.h"

#define WIDTH  1200.0
#define LEFT   120.0 /* rank labels */
#define RIGHT  30.0
#define TOP    50.0
#define BOTTOM 80.0 /* axis and legend */

static double row_height(size_t n)
{
	double h = 600.0 / (n ? (double)n : 1.0);

	return h > 28 ? 28 : h < 6 ? 6 : h;
}

/* Title, rank labels, the time axis from t0 to t1 (ns) and the legend; returns the plot's
 * height. */
static double frame(struct svg *s, struct recipe_ctx *c, const char *title, const char *what,
		    int64_t t0, int64_t t1)
{
	double rh = row_height(c->n), ph = rh * (double)c->n, pw = WIDTH - LEFT - RIGHT;
	double span = (double)(t1 > t0 ? t1 - t0 : 1);
	int use_s = span >= 10e9;

	svg_begin(s, WIDTH, TOP + ph + BOTTOM, title);
	svg_text(s, LEFT, 24, 16, SVG_START, "#000000", "%s", title);
	svg_text(s, LEFT, 42, 11, SVG_START, "#555555", "%zu ranks, %s alignment", c->n,
		 c->alignment);
	for (size_t i = 0; i < c->n; i++) {
		if (rh >= 9 || i % (size_t)ceil(9 / rh) == 0)
			svg_text(s, LEFT - 6, TOP + rh * (double)i + rh * 0.5 + 4,
				 rh >= 12 ? 11 : 8, SVG_END, "#000000", "rank %ld%s%s",
				 c->in[i].rank, c->in[i].host[0] ? " " : "", c->in[i].host);
	}
	svg_line(s, LEFT, TOP + ph, LEFT + pw, TOP + ph, "#000000", 1);
	for (int k = 0; k <= 5; k++) {
		double x = LEFT + pw * k / 5.0, t = (double)t0 + span * k / 5.0;

		svg_line(s, x, TOP + ph, x, TOP + ph + 5, "#000000", 1);
		svg_text(s, x, TOP + ph + 18, 11, SVG_MIDDLE, "#000000",
			 use_s ? "%.2f s" : "%.1f ms", use_s ? t / 1e9 : t / 1e6);
	}
	svg_text(s, LEFT + pw / 2, TOP + ph + 34, 11, SVG_MIDDLE, "#000000",
		 "time on the common timeline (from the first report's start)");
	/* legend: the scale from 0 to 1 */
	for (int k = 0; k < 20; k++) {
		char col[8];

		svg_color_scale(k / 19.0, col);
		svg_rect(s, LEFT + k * 10, TOP + ph + 50, 10, 12, col, NULL);
	}
	svg_text(s, LEFT + 206, TOP + ph + 60, 11, SVG_START, "#000000", "%s: low to high", what);
	return ph;
}

int recipe_svg_heatmap(struct recipe_ctx *c, const char *path, const char *title, const char *what,
		       const double *value, int nbins)
{
	struct svg s;
	double rh = row_height(c->n), pw = WIDTH - LEFT - RIGHT, cw = pw / (nbins ? nbins : 1);
	int64_t w = c->t1 > c->t0 ? (c->t1 - c->t0 + nbins - 1) / nbins : 1;
	int ret;

	frame(&s, c, title, what, c->t0, c->t0 + w * nbins);
	for (size_t r = 0; r < c->n; r++) {
		for (int b = 0; b < nbins; b++) {
			double v = value[r * (size_t)nbins + (size_t)b];
			char col[8], *tip;

			if (isnan(v))
				snprintf(col, sizeof(col), "#dddddd");
			else
				svg_color_scale(v, col);
			tip = isnan(v) ? xasprintf("rank %ld, bin %d: no data", c->in[r].rank, b)
				       : xasprintf("rank %ld, bin %d: %.1f %%", c->in[r].rank, b,
						   100 * v);
			svg_rect(&s, LEFT + cw * b, TOP + rh * (double)r, cw + 0.3, rh - 1, col,
				 tip);
			free(tip);
		}
	}
	ret = svg_write(&s, path);
	svg_release(&s);
	return ret;
}

int recipe_svg_bars(struct recipe_ctx *c, const char *path, const char *title, const char *what,
		    const struct recipe_bar *bars, size_t nbar)
{
	struct svg s;
	double rh = row_height(c->n), pw = WIDTH - LEFT - RIGHT;
	int64_t t0 = INT64_MAX, t1 = INT64_MIN;
	int ret;

	for (size_t i = 0; i < nbar; i++) {
		if (bars[i].start < t0)
			t0 = bars[i].start;
		if (bars[i].end > t1)
			t1 = bars[i].end;
	}
	if (t0 > t1)
		t0 = t1 = 0;
	frame(&s, c, title, what, t0, t1);
	for (size_t i = 0; i < nbar; i++) {
		double span = (double)(t1 > t0 ? t1 - t0 : 1);
		double x = LEFT + pw * (double)(bars[i].start - t0) / span;
		double w = pw * (double)(bars[i].end - bars[i].start) / span;
		double y = TOP + rh * (double)bars[i].rix;
		char col[8];

		if (bars[i].rix >= c->n)
			continue;
		svg_color_scale(bars[i].v, col);
		if (bars[i].mark)
			svg_rect(&s, x - 2, y - 1, (w < 1 ? 1 : w) + 4, rh + 1, "#d62728", NULL);
		svg_rect(&s, x, y + 1, w < 1 ? 1 : w, rh - 3, col, bars[i].tip);
	}
	ret = svg_write(&s, path);
	svg_release(&s);
	return ret;
}

struct recipe_bar *recipe_bar_add(struct recipe_ctx *c, struct recipe_bars *b, long rank)
{
	struct recipe_bar *bar;
	size_t rix = 0;

	while (rix < c->n && c->in[rix].rank != rank)
		rix++;
	if (b->n == b->alloc) {
		b->alloc = b->alloc ? 2 * b->alloc : 256;
		b->v = xrealloc(b->v, b->alloc * sizeof(*b->v));
	}
	bar = &b->v[b->n++];
	memset(bar, 0, sizeof(*bar));
	bar->rix = rix;
	return bar;
}

void recipe_bars_free(struct recipe_bars *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->v[i].tip);
	free(b->v);
	memset(b, 0, sizeof(*b));
}
