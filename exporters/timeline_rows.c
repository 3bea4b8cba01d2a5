/*
 * timeline_rows.c - a query's rows in time order, sorted in C when the table is not
 * (timeline_rows.h).
 *
 * A row in the arena and in a run: struct row_hdr (its keys and the length of what
 * follows), then per column a slot of TL_ROWS_SLOT bytes, a type byte (SQLITE_INTEGER,
 * _FLOAT, _TEXT, _BLOB, _NULL) and 8 bytes of value: the integer, the double, or for a
 * text or a blob its 4-byte length and the 4-byte offset of its bytes (and a NUL) from
 * the first slot, after the slots; 0 for NULL.  The replay hands out the slots as they are
 * (struct tl_rows's row), no copy; values are read with memcpy (no alignment).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "exporters/timeline_rows.h"

struct row_hdr {
	int64_t start, end, rowid;
	uint64_t len; /* bytes of the columns after the header */
};

/* The index of a chunk: a row's keys and where it is in the arena. */
struct tl_rows_key {
	int64_t start, end, rowid;
	uint64_t off;
};

/* A sorted run in the temporary file, read back through a buffer of its own. */
struct tl_rows_run {
	uint64_t pos, end;  /* next byte to read, end of the run (file offsets) */
	unsigned char *buf; /* buf[at..len) read, not used yet */
	size_t at, len, cap;
	struct row_hdr h; /* the current record's header (valid when has) */
	const unsigned char *data;
	int has;
};

#define RUN_BUF	  (64u << 10)
#define SPILL_BUF (1u << 20)

static void rows_init(struct tl_rows *rs, sqlite3_stmt *st)
{
	memset(rs, 0, sizeof(*rs));
	rs->st = st;
	rs->fd = -1;
	rs->cur = -1;
	rs->vstart = rs->vend = -1;
}

static int fail(struct tl_rows *rs, int rc, const char *what);

int tl_rows_direct(struct tl_rows *rs, sqlite3_stmt *st)
{
	size_t n;

	rows_init(rs, st);
	rs->ncol = sqlite3_column_count(st);
	n = rs->ncol > 0 ? (size_t)rs->ncol : 1;
	rs->val = calloc(n, sizeof(*rs->val));
	rs->gen_of = calloc(n, sizeof(*rs->gen_of));
	rs->gen = 1;
	if (!rs->val || !rs->gen_of)
		return fail(rs, SQLITE_NOMEM, "cannot read");
	return SQLITE_OK;
}

void tl_rows_verify(struct tl_rows *rs, int start_col, int end_col)
{
	rs->vstart = start_col;
	rs->vend = end_col;
	rs->vps = INT64_MIN;
	rs->vpe = INT64_MAX;
}

/* The current row (not sorted) comes after the last one in tl_rows_verify()'s order? */
static int row_in_order(struct tl_rows *rs)
{
	sqlite3_value *vs = tl_rows_val_(rs, rs->vstart);
	sqlite3_value *ve = rs->vend < 0 ? NULL : tl_rows_val_(rs, rs->vend);
	int ts = sqlite3_value_type(vs), te = ve ? sqlite3_value_type(ve) : SQLITE_NULL;
	int64_t s, e;

	if ((ts != SQLITE_INTEGER && ts != SQLITE_NULL) ||
	    (te != SQLITE_INTEGER && te != SQLITE_NULL))
		return 0;
	s = ts == SQLITE_NULL ? INT64_MIN : sqlite3_value_int64(vs);
	e = te == SQLITE_NULL ? INT64_MIN : sqlite3_value_int64(ve);
	if (s < rs->vps || (s == rs->vps && e > rs->vpe))
		return 0;
	rs->vps = s;
	rs->vpe = e;
	return 1;
}

void tl_rows_close(struct tl_rows *rs)
{
	sqlite3_finalize(rs->st);
	free(rs->val);
	free(rs->gen_of);
	free(rs->arena);
	free(rs->idx);
	for (size_t i = 0; i < rs->nruns; i++)
		free(rs->runs[i].buf);
	free(rs->runs);
	if (rs->fd >= 0)
		close(rs->fd);
	rows_init(rs, NULL);
}

static inline int key_before(const struct tl_rows_key *a, const struct tl_rows_key *b)
{
	if (a->start != b->start)
		return a->start < b->start;
	if (a->end != b->end)
		return a->end > b->end;
	return a->rowid < b->rowid;
}

/* Sort k[0..n) by key_before(): a bottom-up merge sort of its natural runs, run[0..nrun]
 * (run[j] .. run[j + 1] in order, run[nrun] == n; run has room for n + 1), the comparison
 * inlined (qsort()'s call per comparison was a fifth of a shuffled table's export).
 * Returns -1 when out of memory. */
static int merge_keys(struct tl_rows_key *k, size_t n, size_t *run, size_t nrun)
{
	struct tl_rows_key *tmp, *src = k, *dst;

	if (nrun < 2)
		return 0;
	tmp = malloc(n * sizeof(*k));
	if (!tmp)
		return -1;
	dst = tmp;
	while (nrun > 1) {
		size_t m = 0;

		for (size_t j = 0; j < nrun; j += 2) {
			size_t a = run[j], ae = run[j + 1], b = ae,
			       be = j + 2 <= nrun ? run[j + 2] : ae;
			size_t o = a;

			run[m++] = a;
			if (j + 1 >= nrun) { /* an odd run out: copied */
				memcpy(dst + a, src + a, (ae - a) * sizeof(*k));
				continue;
			}
			while (a < ae && b < be)
				dst[o++] = key_before(&src[b], &src[a]) ? src[b++] : src[a++];
			memcpy(dst + o, src + a, (ae - a) * sizeof(*k));
			o += ae - a;
			memcpy(dst + o, src + b, (be - b) * sizeof(*k));
		}
		run[m] = n;
		nrun = m;
		struct tl_rows_key *t = src;
		src = dst;
		dst = t;
	}
	if (src != k)
		memcpy(k, src, n * sizeof(*k));
	free(tmp);
	return 0;
}

/* The natural runs of k[0..n) into run (room for n + 1): returns their number, or max + 1
 * when there are more than max (run then incomplete). */
static size_t natural_runs(const struct tl_rows_key *k, size_t n, size_t *run, size_t max)
{
	size_t nrun = 0;

	for (size_t i = 0; i < n;) {
		if (nrun == max)
			return max + 1;
		run[nrun++] = i;
		for (i++; i < n && !key_before(&k[i], &k[i - 1]); i++)
			;
	}
	run[nrun] = n;
	return nrun;
}

/* A start time as an unsigned number in the same order (NULL's INT64_MIN is 0). */
static inline uint64_t ukey(int64_t v)
{
	return (uint64_t)v ^ ((uint64_t)1 << 63);
}

#define RADIX_BITS 11
#define RADIX	   (1u << RADIX_BITS)

/* Sort k[0..n) by start alone, stably, with an LSD radix sort of 64-bit words: a row's
 * start less the least start, shifted above its index (ib bits), RADIX_BITS of the start
 * per pass and only the passes whose digit varies.  Then the rows of one start (in the
 * order they came) are put in key_before() order, by insertion when few, else merged.
 * Returns 1 when done, 0 when the starts span too many bits for the index beside them
 * (the caller merges instead), -1 when out of memory. */
static int radix_keys(struct tl_rows_key *k, size_t n, size_t *run)
{
	uint64_t lo = UINT64_MAX, hi = 0, *a, *b;
	uint32_t(*cnt)[RADIX];
	struct tl_rows_key *out;
	unsigned ib = 0, rb = 0, npass;

	for (size_t i = 0; i < n; i++) {
		uint64_t u = ukey(k[i].start);

		lo = u < lo ? u : lo;
		hi = u > hi ? u : hi;
	}
	while (ib < 64 && (n - 1) >> ib)
		ib++;
	while (rb < 64 && (hi - lo) >> rb)
		rb++;
	if (ib + rb > 64 || n > UINT32_MAX)
		return 0;
	npass = (rb + RADIX_BITS - 1) / RADIX_BITS;
	a = malloc(n * sizeof(*a));
	b = malloc(n * sizeof(*b));
	cnt = calloc(npass > 3 ? npass : 3, sizeof(*cnt));
	out = malloc(n * sizeof(*out));
	if (!a || !b || !cnt || !out) {
		free(a);
		free(b);
		free(cnt);
		free(out);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t d = ukey(k[i].start) - lo;

		a[i] = d << ib | i;
		if (npass <= 3) { /* (those past npass counted, not used) */
			cnt[0][d & (RADIX - 1)]++;
			cnt[1][(d >> RADIX_BITS) & (RADIX - 1)]++;
			cnt[2][(d >> 2 * RADIX_BITS) & (RADIX - 1)]++;
		} else {
			for (unsigned p = 0; p < npass; p++)
				cnt[p][(d >> (p * RADIX_BITS)) & (RADIX - 1)]++;
		}
	}
	for (unsigned p = 0; p < npass; p++) {
		unsigned sh = ib + p * RADIX_BITS;
		uint32_t sum = 0, *c = cnt[p];
		uint64_t *t;

		if (c[(a[0] >> sh) & (RADIX - 1)] == n)
			continue; /* one digit for all: the pass would not move a row */
		for (unsigned d = 0; d < RADIX; d++) {
			uint32_t x = c[d];

			c[d] = sum;
			sum += x;
		}
		for (size_t i = 0; i < n; i++)
			b[c[(a[i] >> sh) & (RADIX - 1)]++] = a[i];
		t = a;
		a = b;
		b = t;
	}
	uint64_t mask = ib < 64 ? ((uint64_t)1 << ib) - 1 : UINT64_MAX;

	size_t tie = n; /* the first row of the same start as the one before it */

	out[0] = k[a[0] & mask];
	for (size_t i = 1; i < n; i++) {
		out[i] = k[a[i] & mask];
		if (out[i].start == out[i - 1].start && tie == n)
			tie = i - 1;
	}
	free(a);
	free(b);
	free(cnt);
	/* the rows of one start: end DESC, rowid */
	for (size_t i = tie; i < n;) {
		size_t j = i + 1;

		while (j < n && out[j].start == out[i].start)
			j++;
		if (j - i <= 16) {
			for (size_t x = i + 1; x < j; x++) {
				struct tl_rows_key v = out[x];
				size_t y = x;

				for (; y > i && key_before(&v, &out[y - 1]); y--)
					out[y] = out[y - 1];
				out[y] = v;
			}
		} else if (merge_keys(out + i, j - i, run,
				      natural_runs(out + i, j - i, run, SIZE_MAX)) < 0) {
			free(out);
			return -1;
		}
		i = j;
	}
	memcpy(k, out, n * sizeof(*k));
	free(out);
	return 1;
}

/* Sort k[0..n) by key_before(): merged when k is a few runs in order (a table nearly in
 * order, as gprof-cli's NVTX_EVENTS), else by radix_keys().  Returns -1 when out of
 * memory. */
static int sort_keys(struct tl_rows_key *k, size_t n)
{
	size_t *run, nrun;
	int rc = 0;

	if (n < 2)
		return 0;
	run = malloc((n + 1) * sizeof(*run));
	if (!run)
		return -1;
	/* a merge pass per doubling of the runs, against a few radix passes */
	nrun = natural_runs(k, n, run, n > 64 ? 16 : SIZE_MAX);
	if (nrun > 16 && n > 64) {
		rc = radix_keys(k, n, run);
		if (rc == 0)
			nrun = natural_runs(k, n, run, SIZE_MAX);
	}
	if (rc == 0)
		rc = merge_keys(k, n, run, nrun);
	free(run);
	return rc < 0 ? -1 : 0;
}

static int hdr_before(const struct row_hdr *a, const struct row_hdr *b)
{
	if (a->start != b->start)
		return a->start < b->start;
	if (a->end != b->end)
		return a->end > b->end;
	return a->rowid < b->rowid;
}

static int fail(struct tl_rows *rs, int rc, const char *what)
{
	snprintf(rs->errmsg, sizeof(rs->errmsg), "%s: %s", what,
		 rc == SQLITE_NOMEM ? "out of memory" : strerror(errno));
	return rc;
}

/* Room for n more bytes in the arena. */
static int arena_reserve(struct tl_rows *rs, size_t n)
{
	if (rs->alen + n <= rs->acap)
		return 0;
	size_t cap = rs->acap ? rs->acap : rs->limit + (1u << 16);
	while (cap < rs->alen + n)
		cap *= 2;
	unsigned char *p = realloc(rs->arena, cap);
	if (!p)
		return -1;
	rs->arena = p;
	rs->acap = cap;
	return 0;
}

/* Append st's current row to the arena and its keys to the index (the keys taken from the
 * columns as they are copied: one API call per column). */
static int add_row(struct tl_rows *rs, int start_col, int end_col)
{
	sqlite3_stmt *st = rs->st;
	struct row_hdr h = {INT64_MIN, INT64_MIN, 0, 0};
	size_t at = rs->alen, slots = (size_t)rs->ncol * TL_ROWS_SLOT, tail = slots;
	unsigned char *p;
	int t;

	if (arena_reserve(rs, sizeof(h) + slots))
		return SQLITE_NOMEM;
	p = rs->arena + at + sizeof(h);
	for (int i = 0; i < rs->ncol; i++, p += TL_ROWS_SLOT) {
		sqlite3_value *cv = sqlite3_column_value(st, i);

		t = sqlite3_value_type(cv);
		*p = (unsigned char)t;
		if (t == SQLITE_INTEGER) {
			int64_t v = sqlite3_value_int64(cv);

			memcpy(p + 1, &v, 8);
		} else if (t == SQLITE_FLOAT) {
			double d = sqlite3_value_double(cv);

			memcpy(p + 1, &d, 8);
		} else if (t == SQLITE_TEXT || t == SQLITE_BLOB) {
			const void *s = t == SQLITE_TEXT ? (const void *)sqlite3_value_text(cv)
							 : sqlite3_value_blob(cv);
			uint32_t n = (uint32_t)sqlite3_value_bytes(cv), off = (uint32_t)tail;
			size_t base = at + sizeof(h);

			if (tail + n + 1 > UINT32_MAX)
				return fail(rs, SQLITE_NOMEM, "cannot sort a row this large");
			rs->alen = base + tail;
			if (arena_reserve(rs, (size_t)n + 1))
				return SQLITE_NOMEM;
			p = rs->arena + base + (size_t)i * TL_ROWS_SLOT;
			memcpy(p + 1, &n, 4);
			memcpy(p + 5, &off, 4);
			if (n)
				memcpy(rs->arena + base + tail, s, n);
			rs->arena[base + tail + n] = '\0';
			tail += (size_t)n + 1;
		} else {
			memset(p + 1, 0, 8);
		}
	}
	/* the keys from their slots: NULL first, a REAL or TEXT one SQLite orders otherwise */
	p = rs->arena + at + sizeof(h);
	for (int k = 0; k < 2; k++) {
		int c = k ? end_col : start_col;
		const unsigned char *q = p + (size_t)c * TL_ROWS_SLOT;

		if (c < 0 || *q == SQLITE_NULL)
			continue;
		if (*q != SQLITE_INTEGER)
			return TL_ROWS_FALLBACK;
		memcpy(k ? &h.end : &h.start, q + 1, 8);
	}
	h.rowid = sqlite3_column_int64(st, rs->ncol);
	h.len = tail;
	rs->alen = at + sizeof(h) + tail;
	memcpy(rs->arena + at, &h, sizeof(h));
	if (rs->nidx == rs->cidx) {
		size_t c = rs->cidx ? rs->cidx * 2 : 4096;
		struct tl_rows_key *k = realloc(rs->idx, c * sizeof(*k));

		if (!k)
			return SQLITE_NOMEM;
		rs->idx = k;
		rs->cidx = c;
	}
	rs->idx[rs->nidx++] = (struct tl_rows_key){h.start, h.end, h.rowid, at};
	return SQLITE_OK;
}

static int write_all(int fd, const void *p, size_t n, uint64_t off)
{
	const char *c = p;

	while (n) {
		ssize_t k = pwrite(fd, c, n, (off_t)off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		c += k;
		n -= (size_t)k;
		off += (uint64_t)k;
	}
	return 0;
}

/* Write the chunk, sorted, as a run to the temporary file (made at the first run). */
static int spill(struct tl_rows *rs)
{
	const char *dir = getenv("TMPDIR");
	unsigned char *out;
	size_t n = 0;
	struct tl_rows_run *r;

	if (rs->fd < 0) {
		rs->fd = open(dir && *dir ? dir : "/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (rs->fd < 0) {
			char path[4096];

			snprintf(path, sizeof(path), "%s/gprof-cli-sort-XXXXXX",
				 dir && *dir ? dir : "/tmp");
			rs->fd = mkstemp(path);
			if (rs->fd >= 0)
				unlink(path);
		}
		if (rs->fd < 0)
			return fail(rs, SQLITE_IOERR, "cannot create a temporary file to sort in");
	}
	if (sort_keys(rs->idx, rs->nidx) < 0)
		return fail(rs, SQLITE_NOMEM, "cannot sort");
	r = realloc(rs->runs, (rs->nruns + 1) * sizeof(*r));
	if (!r)
		return fail(rs, SQLITE_NOMEM, "cannot sort");
	rs->runs = r;
	r = &rs->runs[rs->nruns];
	memset(r, 0, sizeof(*r));
	r->pos = rs->fsize;
	/* the rows in order, through a buffer of SPILL_BUF bytes */
	out = malloc(SPILL_BUF);
	if (!out)
		return fail(rs, SQLITE_NOMEM, "cannot sort");
	for (size_t i = 0; i <= rs->nidx; i++) {
		struct row_hdr h = {0};
		size_t len = 0;

		if (i < rs->nidx) {
			memcpy(&h, rs->arena + rs->idx[i].off, sizeof(h));
			len = sizeof(h) + h.len;
		}
		if (n && (i == rs->nidx || n + len > SPILL_BUF)) {
			if (write_all(rs->fd, out, n, rs->fsize) < 0) {
				free(out);
				return fail(rs, SQLITE_IOERR,
					    "cannot write the temporary file to sort in");
			}
			rs->fsize += n;
			n = 0;
		}
		if (i == rs->nidx)
			break;
		if (len > SPILL_BUF) { /* a row larger than the buffer: on its own */
			if (write_all(rs->fd, rs->arena + rs->idx[i].off, len, rs->fsize) < 0) {
				free(out);
				return fail(rs, SQLITE_IOERR,
					    "cannot write the temporary file to sort in");
			}
			rs->fsize += len;
			continue;
		}
		memcpy(out + n, rs->arena + rs->idx[i].off, len);
		n += len;
	}
	r->end = rs->fsize;
	free(out);
	rs->nruns++;
	rs->alen = 0;
	rs->nidx = 0;
	return SQLITE_OK;
}

/* Make run r's next record current (r->has 0 at its end). */
static int run_next(struct tl_rows *rs, struct tl_rows_run *r)
{
	size_t need = sizeof(struct row_hdr);

	r->at += r->has ? sizeof(r->h) + r->h.len : 0;
	r->has = 0;
	for (int pass = 0; pass < 2; pass++) {
		if (r->len - r->at < need) { /* refill: keep what is left, read more */
			size_t left = r->len - r->at, want;

			if (r->pos >= r->end && left == 0)
				return SQLITE_OK;
			if (r->cap < need || r->cap < RUN_BUF) {
				size_t c = need > RUN_BUF ? need : RUN_BUF;
				unsigned char *b = malloc(c);

				if (!b)
					return fail(rs, SQLITE_NOMEM, "cannot sort");
				if (left)
					memcpy(b, r->buf + r->at, left);
				free(r->buf);
				r->buf = b;
				r->cap = c;
			} else if (left) {
				memmove(r->buf, r->buf + r->at, left);
			}
			r->at = 0;
			r->len = left;
			want = r->cap - left;
			if (want > r->end - r->pos)
				want = (size_t)(r->end - r->pos);
			while (want) {
				ssize_t k = pread(rs->fd, r->buf + r->len, want, (off_t)r->pos);

				if (k < 0 && errno == EINTR)
					continue;
				if (k <= 0)
					return fail(rs, SQLITE_IOERR,
						    "cannot read the temporary file to sort in");
				r->len += (size_t)k;
				r->pos += (uint64_t)k;
				want -= (size_t)k;
			}
			if (r->len - r->at < need)
				return fail(rs, SQLITE_IOERR, "temporary sort file ends early");
		}
		if (pass == 0) {
			memcpy(&r->h, r->buf + r->at, sizeof(r->h));
			need = sizeof(r->h) + r->h.len;
		}
	}
	r->data = r->buf + r->at + sizeof(r->h);
	r->has = 1;
	return SQLITE_OK;
}

/* TL_ROWS_MEM, or $GPROF_CLI_SORT_MEM bytes (tests: runs and their merge on small tables) */
static size_t mem_limit(void)
{
	const char *e = getenv("GPROF_CLI_SORT_MEM");
	char *end;
	unsigned long long v;

	if (!e || !*e)
		return TL_ROWS_MEM;
	v = strtoull(e, &end, 10);
	return *end || v == 0 ? TL_ROWS_MEM : (size_t)v;
}

int tl_rows_sort(struct tl_rows *rs, sqlite3_stmt *st, int start_col, int end_col)
{
	size_t limit;
	int rc;

	rows_init(rs, st);
	rs->ncol = sqlite3_column_count(st) - 1;
	rs->sorted = 1;
	if (rs->ncol < 1 || start_col >= rs->ncol || end_col >= rs->ncol)
		return SQLITE_MISUSE;
	rs->limit = limit = mem_limit();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (rs->alen >= limit && (rc = spill(rs)) != SQLITE_OK)
			break;
		if ((rc = add_row(rs, start_col, end_col)) != SQLITE_OK)
			break;
	}
	if (rc == SQLITE_DONE && rs->nruns && rs->nidx && (rc = spill(rs)) == SQLITE_OK)
		rc = SQLITE_DONE; /* the last chunk, to be merged with the others */
	if (rc == SQLITE_DONE) {
		for (size_t i = 0; i < rs->nruns && rc == SQLITE_DONE; i++)
			if (run_next(rs, &rs->runs[i]) != SQLITE_OK)
				rc = SQLITE_IOERR;
		if (!rs->nruns) {
			if (sort_keys(rs->idx, rs->nidx) < 0)
				rc = fail(rs, SQLITE_NOMEM, "cannot sort");
		} else { /* merged from the file: the chunk's memory goes */
			free(rs->arena);
			free(rs->idx);
			rs->arena = NULL;
			rs->idx = NULL;
			rs->alen = rs->acap = rs->nidx = rs->cidx = 0;
		}
	}
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int64_t tl_rows_sint_(const struct tl_rows *rs, int i)
{
	switch (tl_rows_styp_(rs, i)) {
	case SQLITE_INTEGER:
		return (int64_t)tl_rows_sval_(rs, i);
	case SQLITE_FLOAT:
		return (int64_t)tl_rows_sdouble_(rs, i);
	case SQLITE_TEXT:
		return strtoll(tl_rows_stext_(rs, i), NULL, 10);
	default:
		return 0;
	}
}

double tl_rows_sdouble_(const struct tl_rows *rs, int i)
{
	uint64_t v = tl_rows_sval_(rs, i);
	double d;

	switch (tl_rows_styp_(rs, i)) {
	case SQLITE_INTEGER:
		return (double)(int64_t)v;
	case SQLITE_FLOAT:
		memcpy(&d, &v, 8);
		return d;
	case SQLITE_TEXT:
		return (double)strtoll(tl_rows_stext_(rs, i), NULL, 10);
	default:
		return 0;
	}
}

int tl_rows_step(struct tl_rows *rs)
{
	if (!rs->sorted) {
		int rc;

		rs->gen++;
		rc = sqlite3_step(rs->st);
		if (rs->vstart >= 0) {
			if (rc == SQLITE_ROW && !row_in_order(rs))
				return TL_ROWS_UNORDERED;
			rs->verified = rc == SQLITE_DONE;
		}
		return rc;
	}
	if (!rs->nruns) {
		if (rs->pos >= rs->nidx)
			return SQLITE_DONE;
		rs->row = rs->arena + rs->idx[rs->pos++].off + sizeof(struct row_hdr);
		return SQLITE_ROW;
	}
	if (rs->cur >= 0 && run_next(rs, &rs->runs[rs->cur]) != SQLITE_OK)
		return SQLITE_IOERR;
	rs->cur = -1;
	for (size_t i = 0; i < rs->nruns; i++)
		if (rs->runs[i].has &&
		    (rs->cur < 0 || hdr_before(&rs->runs[i].h, &rs->runs[rs->cur].h)))
			rs->cur = (int)i;
	if (rs->cur < 0)
		return SQLITE_DONE;
	rs->row = rs->runs[rs->cur].data;
	return SQLITE_ROW;
}
