/*
 * mem_svg.c - the memory-over-time picture (mem_svg.h).
 */
#include "mem_svg.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "exporters/stats.h"
#include "exporters/svg.h"

#define W      1000.0
#define H      440.0
#define PX0    90.0 /* plot area */
#define PX1    980.0
#define PY0    30.0
#define PY1    360.0
#define MAXSER 32

struct pt {
	int64_t t, v;
};

struct series {
	char label[96];
	struct pt *p;
	size_t n, cap;
};

struct pic {
	struct series s[MAXSER];
	size_t ns;
	int64_t tmin, tmax, vmax;
};

static void add_pt(struct series *s, int64_t t, int64_t v)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 256;
		s->p = xrealloc(s->p, s->cap * sizeof(*s->p));
	}
	s->p[s->n].t = t;
	s->p[s->n].v = v;
	s->n++;
}

/* Rows (key, label, t, value) in key, t order: one series per key; cumulative sums the
 * values (deltas), else they are levels. */
static int load(sqlite3 *db, struct pic *pc, const char *sql, int cumulative)
{
	sqlite3_stmt *q;
	int64_t key = INT64_MIN, level = 0;
	struct series *cur = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
		return error("cannot read the memory data: %s", sqlite3_errmsg(db));
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t k = sqlite3_column_int64(q, 0);

		if (!cur || k != key) {
			if (pc->ns == MAXSER)
				break;
			cur = &pc->s[pc->ns++];
			snprintf(cur->label, sizeof(cur->label), "%s",
				 (const char *)sqlite3_column_text(q, 1));
			key = k;
			level = 0;
		}
		int64_t t = sqlite3_column_int64(q, 2), v = sqlite3_column_int64(q, 3);
		level = cumulative ? level + v : v;
		add_pt(cur, t, level);
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return error("cannot read the memory data: %s", sqlite3_errmsg(db));
	return 0;
}

static double xof(const struct pic *pc, int64_t t)
{
	double span = (double)(pc->tmax - pc->tmin);

	return PX0 + (span > 0 ? (double)(t - pc->tmin) / span : 0) * (PX1 - PX0);
}

static double yof(const struct pic *pc, int64_t v)
{
	return PY1 - (pc->vmax > 0 ? (double)v / (double)pc->vmax : 0) * (PY1 - PY0);
}

/* The step line of s: per pixel column its lowest and highest value, then a horizontal
 * run at its last value to the next column. */
static void draw_series(struct svg *g, const struct pic *pc, const struct series *s,
			const char *color)
{
	if (!s->n)
		return;
	int64_t lo = s->p[0].v, hi = lo, last = lo;
	double cx = xof(pc, s->p[0].t);

	svg_line(g, PX0, yof(pc, 0), cx, yof(pc, 0), color, 1.5);
	svg_line(g, cx, yof(pc, 0), cx, yof(pc, lo), color, 1.5);
	for (size_t i = 1; i <= s->n; i++) {
		double nx = i < s->n ? xof(pc, s->p[i].t) : PX1;

		if (i < s->n && (int)nx == (int)cx) {
			int64_t v = s->p[i].v;
			lo = v < lo ? v : lo;
			hi = v > hi ? v : hi;
			last = v;
			continue;
		}
		if (hi > lo)
			svg_line(g, cx, yof(pc, lo), cx, yof(pc, hi), color, 1.5);
		svg_line(g, cx, yof(pc, last), nx, yof(pc, last), color, 1.5);
		if (i == s->n)
			break;
		svg_line(g, nx, yof(pc, last), nx, yof(pc, s->p[i].v), color, 1.5);
		cx = nx;
		lo = hi = last = s->p[i].v;
	}
}

/* A light version of category colour i for the range bands. */
static void band_color(unsigned i, char out[8])
{
	char c[8];
	unsigned r, g, b;

	svg_color_category(i, c);
	if (sscanf(c, "#%2x%2x%2x", &r, &g, &b) != 3)
		r = g = b = 0xcc;
	snprintf(out, 8, "#%02x%02x%02x", ((r & 0xff) + 3 * 255) / 4, ((g & 0xff) + 3 * 255) / 4,
		 ((b & 0xff) + 3 * 255) / 4);
}

static void draw_ranges(sqlite3 *db, struct svg *g, const struct pic *pc)
{
	sqlite3_stmt *q;
	unsigned i = 0;

	if (!stats_table_exists(db, "NVTX_EVENTS") ||
	    sqlite3_prepare_v2(
		db,
		"WITH r AS (SELECT n.start, n.end, coalesce(n.text, s.value, '') "
		"AS name, n.globalTid AS tid FROM NVTX_EVENTS n LEFT JOIN "
		"StringIds s ON s.id = n.textId WHERE n.eventType = 59 AND n.end "
		"IS NOT NULL) SELECT start, end, name FROM r WHERE NOT EXISTS "
		"(SELECT 1 FROM r o WHERE o.tid = r.tid AND o.start <= r.start AND "
		"o.end >= r.end AND (o.start < r.start OR o.end > r.end)) AND end >= "
		"?1 AND start <= ?2 ORDER BY start",
		-1, &q, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(q, 1, pc->tmin);
	sqlite3_bind_int64(q, 2, pc->tmax);
	while (sqlite3_step(q) == SQLITE_ROW) {
		int64_t a = sqlite3_column_int64(q, 0), b = sqlite3_column_int64(q, 1);
		const char *nm = (const char *)sqlite3_column_text(q, 2);
		double x0 = xof(pc, a < pc->tmin ? pc->tmin : a);
		double x1 = xof(pc, b > pc->tmax ? pc->tmax : b);
		char col[8], tip[512];

		band_color(i++, col);
		snprintf(tip, sizeof(tip), "%s: %.3f .. %.3f ms", nm ? nm : "", (double)a / 1e6,
			 (double)b / 1e6);
		svg_rect(g, x0, PY0, x1 - x0 < 1 ? 1 : x1 - x0, PY1 - PY0, col, tip);
		if (x1 - x0 >= 30 && nm)
			svg_text(g, (x0 + x1) / 2, PY0 - 4, 10, SVG_MIDDLE, "#444444", "%.24s", nm);
	}
	sqlite3_finalize(q);
}

static void fmt_bytes(char *out, size_t n, double v)
{
	if (v >= 1024.0 * 1024 * 1024)
		snprintf(out, n, "%.2f GiB", v / (1024.0 * 1024 * 1024));
	else if (v >= 1024.0 * 1024)
		snprintf(out, n, "%.1f MiB", v / (1024.0 * 1024));
	else
		snprintf(out, n, "%.0f KiB", v / 1024.0);
}

static void draw_axes(struct svg *g, const struct pic *pc)
{
	char lab[32];

	svg_line(g, PX0, PY1, PX1, PY1, "#000000", 1);
	svg_line(g, PX0, PY0, PX0, PY1, "#000000", 1);
	for (int k = 0; k <= 4; k++) {
		double v = (double)pc->vmax * k / 4, y = yof(pc, (int64_t)v);
		int64_t t = pc->tmin + (pc->tmax - pc->tmin) * k / 4;

		fmt_bytes(lab, sizeof(lab), v);
		svg_line(g, PX0 - 4, y, PX0, y, "#000000", 1);
		svg_text(g, PX0 - 6, y + 4, 10, SVG_END, "#000000", "%s", lab);
		svg_line(g, xof(pc, t), PY1, xof(pc, t), PY1 + 4, "#000000", 1);
		svg_text(g, xof(pc, t), PY1 + 16, 10, SVG_MIDDLE, "#000000", "%.1f ms",
			 (double)t / 1e6);
	}
	svg_text(g, (PX0 + PX1) / 2, PY1 + 32, 11, SVG_MIDDLE, "#000000",
		 "time since the session start");
}

int mem_svg_export(sqlite3 *db, const char *path, int force, int quiet)
{
	struct pic pc;
	struct svg g;
	int host = stats_table_exists(db, "GPROF_HOST_MEMORY_EVENTS");
	int samples = stats_table_exists(db, "GPROF_HOST_MEMORY_SAMPLES");
	int gpu = stats_table_exists(db, "CUDA_GPU_MEMORY_USAGE_EVENTS");
	int rc = GP_EXIT_OK;

	memset(&pc, 0, sizeof(pc));
	if (!host && !gpu) {
		error("the report holds no memory usage data");
		hint("record it with gprof-cli profile --host-memory-usage=true and/or "
		     "--cuda-memory-usage=true");
		return GP_EXIT_BAD_INPUT;
	}
	if (!force && access(path, F_OK) == 0) {
		error("'%s' exists", path);
		hint("use -f to overwrite it, or another -o");
		return GP_EXIT_OUTPUT;
	}
	if (host) {
		struct strbuf sql = STRBUF_INIT;

		strbuf_addstr(&sql, "SELECT p, 'host pid ' || (p & 16777215), t, v FROM ("
				    "SELECT globalTid >> 24 AS p, start AS t, processBytes AS v, "
				    "rowid AS r FROM GPROF_HOST_MEMORY_EVENTS");
		if (samples)
			strbuf_addstr(&sql, " UNION ALL SELECT globalPid >> 24, start, "
					    "processBytes, -1 FROM GPROF_HOST_MEMORY_SAMPLES");
		strbuf_addstr(&sql, ") ORDER BY p, t, r");
		rc = load(db, &pc, sql.buf, 0);
		strbuf_release(&sql);
	}
	if (!rc && gpu)
		rc = load(db, &pc,
			  "SELECT globalPid * 256 + deviceId, 'GPU ' || deviceId || ' pid ' || "
			  "(globalPid >> 24 & 16777215), start, CASE memoryOperationType WHEN 0 "
			  "THEN bytes ELSE -bytes END FROM CUDA_GPU_MEMORY_USAGE_EVENTS WHERE "
			  "memoryOperationType IN (0, 1) AND memKind NOT IN (0, 1) ORDER BY "
			  "globalPid, deviceId, start, rowid",
			  1);
	if (!rc && gpu)
		rc = load(db, &pc,
			  "SELECT globalPid, 'pinned pid ' || (globalPid >> 24 & 16777215), start, "
			  "CASE memoryOperationType WHEN 0 THEN bytes ELSE -bytes END FROM "
			  "CUDA_GPU_MEMORY_USAGE_EVENTS WHERE memoryOperationType IN (0, 1) AND "
			  "memKind = 1 ORDER BY globalPid, start, rowid",
			  1);
	if (rc)
		goto out;
	pc.tmin = INT64_MAX;
	pc.tmax = INT64_MIN;
	for (size_t i = 0; i < pc.ns; i++)
		for (size_t k = 0; k < pc.s[i].n; k++) {
			const struct pt *p = &pc.s[i].p[k];
			pc.tmin = p->t < pc.tmin ? p->t : pc.tmin;
			pc.tmax = p->t > pc.tmax ? p->t : pc.tmax;
			pc.vmax = p->v > pc.vmax ? p->v : pc.vmax;
		}
	if (pc.tmin > pc.tmax) {
		error("the report's memory tables have no rows");
		hint("the application allocated nothing at or above --host-memory-threshold "
		     "and no GPU memory");
		rc = GP_EXIT_BAD_INPUT;
		goto out;
	}
	if (pc.tmax == pc.tmin)
		pc.tmax = pc.tmin + 1;
	{ /* room before the first event and after the last one */
		int64_t pad = (pc.tmax - pc.tmin) / 50;
		pc.tmin -= pad;
		pc.tmax += pad;
	}
	svg_begin(&g, W, H, "gprof-cli: memory in use over time");
	draw_ranges(db, &g, &pc);
	draw_axes(&g, &pc);
	double lx = PX0;
	for (size_t i = 0; i < pc.ns; i++) {
		char peak[32];
		int64_t pk = 0;

		for (size_t k = 0; k < pc.s[i].n; k++)
			pk = pc.s[i].p[k].v > pk ? pc.s[i].p[k].v : pk;
		char color[8];

		svg_color_category((unsigned)i, color);
		draw_series(&g, &pc, &pc.s[i], color);
		fmt_bytes(peak, sizeof(peak), (double)pk);
		svg_line(&g, lx, H - 26 + 14 * (double)(i / 4) - 4, lx + 16,
			 H - 26 + 14 * (double)(i / 4) - 4, color, 3);
		svg_text(&g, lx + 20, H - 26 + 14 * (double)(i / 4), 10, SVG_START, "#000000",
			 "%s (peak %s)", pc.s[i].label, peak);
		lx = i % 4 == 3 ? PX0 : lx + 225;
	}
	if (svg_write(&g, path) < 0)
		rc = GP_EXIT_OUTPUT;
	else if (!quiet)
		fprintf(stderr, "Exported memory picture (%zu lines) to %s\n", pc.ns, path);
	svg_release(&g);
out:
	for (size_t i = 0; i < pc.ns; i++)
		free(pc.s[i].p);
	return rc;
}
