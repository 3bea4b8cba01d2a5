/*
 * testutil.c - helpers shared by the test binaries; contracts in testutil.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/recorder.h"
#include "core/wire.h"
#include "tests/testutil.h"

void tu_read_file(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, size - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
}

char *tu_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t n = 0, alloc = 4096, r;
	char *buf;

	if (!f)
		return NULL;
	buf = malloc(alloc);
	assert_non_null(buf);
	while ((r = fread(buf + n, 1, alloc - n - 1, f)) > 0) {
		n += r;
		if (alloc - n < 2) {
			buf = realloc(buf, alloc *= 2);
			assert_non_null(buf);
		}
	}
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = n;
	return buf;
}

void tu_write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		fail_msg("cannot write '%s': %s", path, strerror(errno));
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

int tu_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

char *tu_pathf(char *buf, const char *dir, const char *name)
{
	snprintf(buf, PATH_MAX, "%s/%s", dir, name);
	return buf;
}

const char *tu_fixture_dir(void)
{
	const char *d = getenv("GPROF_FIXTURES");

	return d && *d ? d : "../shared/fixtures";
}

char *tu_fixture(char *buf, const char *name)
{
	tu_pathf(buf, tu_fixture_dir(), name);
	if (access(buf, R_OK) != 0)
		TU_SKIP("fixture '%s' not found (the nsys fixtures go in ../shared/fixtures "
			"beside the checkout, or set GPROF_FIXTURES)",
			buf);
	return buf;
}

char *tu_fakegpu_dir(char *buf)
{
	const char *b = getenv("BUILD"), *old = getenv("LD_LIBRARY_PATH");
	char rel[PATH_MAX], *lib;

	snprintf(rel, sizeof(rel), "%s/tests/programs/fakegpu", b ? b : "build");
	if (!realpath(rel, buf))
		snprintf(buf, PATH_MAX, "%s", rel);
	lib = malloc(strlen(buf) + (old ? strlen(old) : 0) + 2);
	assert_non_null(lib);
	sprintf(lib, "%s%s%s", buf, old && *old ? ":" : "", old ? old : "");
	setenv("LD_LIBRARY_PATH", lib, 1);
	free(lib);
	return buf;
}

int tu_count_entries(const char *dir)
{
	char cmd[PATH_MAX + 64];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", dir);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_int_equal(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

int tu_count_lines(const char *s, const char *prefix)
{
	int n = 0;
	size_t len = strlen(prefix);

	while (*s) {
		if (!strncmp(s, prefix, len))
			n++;
		s = strchr(s, '\n');
		if (!s)
			break;
		s++;
	}
	return n;
}

int tu_total_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

void tu_assert_status(const struct tu_run *r, int want)
{
	if (r->status != want)
		fail_msg("status %d, stderr:\n%s", r->status, r->err);
}

void tu_assert_lines(const struct tu_run *r, const char *prefix, int want)
{
	int n = tu_count_lines(r->err, prefix);

	if (n != want)
		fail_msg("%d lines starting '%s' (want %d), stderr:\n%s", n, prefix, want, r->err);
}

void tu_assert_one_error(const struct tu_run *r, const char *what)
{
	tu_assert_lines(r, "gprof-cli: ", 1);
	assert_true(tu_total_lines(r->err) <= 2);
	assert_true(tu_total_lines(r->err) == 1 || tu_count_lines(r->err, "hint: ") == 1);
	assert_non_null(strstr(r->err, what));
}

pid_t tu_spawn(const char *prog, const char *const *args, const char *cwd, const char *out,
	       const char *err)
{
	const char *argv[64];
	int n = 0;
	pid_t pid;

	argv[n++] = prog;
	for (; *args && n < 63; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fo < 0 || fe < 0 || (cwd && chdir(cwd) < 0))
			_exit(250);
		dup2(fo, 1);
		dup2(fe, 2);
		execv(prog, (char **)argv);
		_exit(251);
	}
	return pid;
}

int tu_wait(pid_t pid)
{
	int ws;

	while (waitpid(pid, &ws, 0) < 0)
		assert_int_equal(errno, EINTR);
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

void tu_finish(pid_t pid, struct tu_run *r, const char *out, const char *err)
{
	r->status = tu_wait(pid);
	tu_read_file(out, r->out, sizeof(r->out));
	tu_read_file(err, r->err, sizeof(r->err));
	unlink(out);
	unlink(err);
}

void tu_run_in(struct tu_run *r, const char *prog, const char *cwd, const char *const *args)
{
	char out[PATH_MAX], err[PATH_MAX];

	snprintf(out, sizeof(out), "%s.out", cwd);
	snprintf(err, sizeof(err), "%s.err", cwd);
	tu_finish(tu_spawn(prog, args, cwd, out, err), r, out, err);
}

char *tu_mkdtemp(const char *template)
{
	char *dir = strdup(template);

	if (dir && !mkdtemp(dir)) {
		free(dir);
		return NULL;
	}
	return dir;
}

int tu_rm_rf(const char *dir)
{
	char cmd[PATH_MAX * 2 + 64];

	snprintf(cmd, sizeof(cmd), "chmod -R u+w '%s' 2>/dev/null; rm -rf '%s'", dir, dir);
	return system(cmd) == 0 ? 0 : -1;
}

int tu_setup_tmpdir(void **state)
{
	*state = tu_mkdtemp("/tmp/gprof-test-XXXXXX");
	return *state ? 0 : -1;
}

int tu_teardown_tmpdir(void **state)
{
	if (tu_rm_rf(*state) < 0)
		return -1;
	free(*state);
	return 0;
}

long long tu_db_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	long long v = LLONG_MIN;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("query '%s': %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

long long tu_query_int(const char *db, const char *sql)
{
	sqlite3 *h;
	long long v;

	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		fail_msg("cannot open '%s': %s", db, sqlite3_errmsg(h));
	v = tu_db_int(h, sql);
	sqlite3_close(h);
	return v;
}

long long tu_query_intf(const char *db, const char *fmt, ...)
{
	char sql[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	return tu_query_int(db, sql);
}

const char *tu_meta(const char *db, const char *table, const char *name, char *buf, size_t size)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	char sql[256];

	buf[0] = '\0';
	snprintf(sql, sizeof(sql), "SELECT value FROM %s WHERE name = ?", table);
	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(buf, size, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(h);
	return buf;
}

static unsigned char tu_frame[GP_FRAME_MAX];
static size_t tu_flen;

void *tu_add_rec(uint16_t type, size_t size, uint32_t tid)
{
	struct gp_rec_hdr *h = (void *)(tu_frame + sizeof(struct gp_frame_hdr) + tu_flen);

	size = GP_REC_ALIGN(size);
	memset(h, 0, size);
	h->type = type;
	h->size = (uint16_t)size;
	h->tid = tid;
	tu_flen += size;
	return h;
}

void tu_add_string(uint32_t id, const char *s)
{
	size_t len = strlen(s);
	struct gp_rec_string *r = tu_add_rec(GP_REC_STRING, sizeof(*r) + len, 0);

	r->id = id;
	r->len = (uint32_t)len;
	memcpy(r->text, s, len);
}

void tu_send_frame(int fd, uint32_t pid, uint64_t seq)
{
	struct gp_frame_hdr *f = (void *)tu_frame;
	size_t total = sizeof(*f) + tu_flen;

	f->magic = GP_WIRE_MAGIC;
	f->version = GP_WIRE_VERSION;
	f->type = GP_FRAME_RECORDS;
	f->length = (uint32_t)tu_flen;
	f->pid = pid;
	f->seq = seq;
	assert_int_equal(send(fd, tu_frame, total, 0), (ssize_t)total);
	tu_flen = 0;
}

void tu_record_session(const char *path, uint64_t t0, uint32_t pid, void (*send_fn)(int fd))
{
	struct recorder *rec;
	struct recorder_config cfg;
	struct report_app_status app;
	struct recorder_stats stats;
	struct sockaddr_un sa;
	int fd;

	memset(&cfg, 0, sizeof(cfg));
	cfg.report_path = path;
	cfg.session_start_ns = t0;
	cfg.session_start_utc_ns = 1700000000000000000ll;
	assert_int_equal(recorder_start(&rec, &cfg), 0);

	fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", recorder_channel_path(rec));
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	send_fn(fd);
	close(fd);

	memset(&app, 0, sizeof(app));
	app.pid = pid;
	app.end_ns = t0 + 1000000;
	assert_int_equal(recorder_finish(rec, &app, 2000, &stats), 0);
	assert_int_equal(stats.report.bad_frames, 0);
	recorder_stats_release(&stats);
}

int64_t tu_db_row_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

const char *tu_db_row_text(sqlite3 *db, const char *sql)
{
	static char buf[512];
	sqlite3_stmt *st;
	const unsigned char *t;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	t = sqlite3_column_text(st, 0);
	snprintf(buf, sizeof(buf), "%s", t ? (const char *)t : "<NULL>");
	sqlite3_finalize(st);
	return buf;
}

int tu_vsh_in(const char *dir, const char *fmt, va_list ap)
{
	char cmd[8192], full[8192 + 3 * 4096 + 64];
	int st;

	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	snprintf(full, sizeof(full), "cd '%s' && ( %s ) >'%s/out' 2>'%s/err'", dir, cmd, dir, dir);
	st = system(full);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}
