/*
 * session.c - interactive sessions: the session directory, session names, the control
 * socket and its requests (see session.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli/cmds.h"
#include "cli/session.h"
#include "core/outname.h"
#include "core/util.h"

#define REQUEST_MAX	(64u << 10) /* bytes of a request or answer */
#define REQUEST_WAIT_MS 5000	    /* how long the daemon waits for a request */

int session_dir(char *buf, size_t size)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	struct stat st;

	if (xdg && xdg[0] == '/')
		snprintf(buf, size, "%s/gprof-cli", xdg);
	else
		snprintf(buf, size, "/tmp/gprof-cli-%u", (unsigned)getuid());
	if (mkdir(buf, 0700) < 0 && errno != EEXIST) {
		error("cannot create the session directory '%s': %s", buf, strerror(errno));
		hint("check that %s is writable, or set XDG_RUNTIME_DIR to a folder of yours",
		     xdg && xdg[0] == '/' ? xdg : "/tmp");
		return -1;
	}
	if (lstat(buf, &st) < 0) {
		error("cannot read the session directory '%s': %s", buf, strerror(errno));
		hint("set XDG_RUNTIME_DIR to a folder of yours");
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != getuid()) {
		error("the session directory '%s' is not a directory of yours", buf);
		hint("another user or a link holds that name: set XDG_RUNTIME_DIR to a folder of "
		     "yours");
		return -1;
	}
	if (st.st_mode & 077) {
		error("the session directory '%s' is open to other users (mode %03o)", buf,
		      (unsigned)(st.st_mode & 0777));
		hint("run 'chmod 700 %s'", buf);
		return -1;
	}
	return 0;
}

int session_name_parse(const char *opt, const char *value, char *out)
{
	struct strbuf name = STRBUF_INIT, err = STRBUF_INIT, fix = STRBUF_INIT;
	struct outname_ctx ctx = {.suffix = "", .hint = &fix};
	int r = outname_expand(value, &ctx, &name, &err);
	size_t i;

	if (r < 0) {
		error("invalid %s: %s", opt, err.buf);
		hint("%s", fix.len ? fix.buf : "a session name may use %q{VAR}, %h and %%");
		goto fail;
	}
	if (r & OUTNAME_PID_PENDING) {
		error("invalid %s '%s': %%p and %%n have no meaning in a session name", opt, value);
		hint("use %%q{VAR}, %%h or plain text");
		goto fail;
	}
	for (i = 0; i < name.len; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-",
			    name.buf[i]))
			break;
	if (!name.len || name.len > SESSION_NAME_MAX || i < name.len || name.buf[0] == '.') {
		error("invalid %s '%s': a session name is 1 to %d letters, digits, '.', '_', '+' "
		      "or '-', not starting with '.'",
		      opt, name.buf, SESSION_NAME_MAX);
		hint("for example %s=srv", opt);
		goto fail;
	}
	memcpy(out, name.buf, name.len + 1);
	strbuf_release(&name);
	strbuf_release(&err);
	strbuf_release(&fix);
	return 0;
fail:
	strbuf_release(&name);
	strbuf_release(&err);
	strbuf_release(&fix);
	return -1;
}

const char *session_kv(const char *kv, const char *key, char *buf, size_t size)
{
	size_t kl = strlen(key);
	const char *p;

	for (p = kv; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		size_t len = strcspn(p, "\n");

		if (len > kl && !strncmp(p, key, kl) && p[kl] == '=') {
			len -= kl + 1;
			if (len >= size)
				len = size - 1;
			memcpy(buf, p + kl + 1, len);
			buf[len] = '\0';
			return buf;
		}
	}
	return NULL;
}

/* "DIR/NAME<suffix>" into buf; -1 when it does not fit in a socket address. */
static int session_path(char *buf, size_t size, const char *dir, const char *name,
			const char *suffix)
{
	int n = snprintf(buf, size, "%s/%s%s", dir, name, suffix);

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

static void info_parse(const char *text, struct session_info *in)
{
	char v[32];

	memset(in, 0, sizeof(*in));
	session_kv(text, "name", in->name, sizeof(in->name));
	session_kv(text, "trace", in->trace, sizeof(in->trace));
	session_kv(text, "app", in->app, sizeof(in->app));
	if (session_kv(text, "id", v, sizeof(v)))
		in->id = atol(v);
	if (session_kv(text, "app_pid", v, sizeof(v)))
		in->app_pid = atol(v);
	if (session_kv(text, "created", v, sizeof(v)))
		in->created = atoll(v);
	if (!session_kv(text, "state", in->state, sizeof(in->state)))
		snprintf(in->state, sizeof(in->state), "idle");
	if (session_kv(text, "exit", v, sizeof(v)))
		in->exit_status = atoi(v);
	session_kv(text, "output", in->output, sizeof(in->output));
	if (session_kv(text, "force", v, sizeof(v)))
		in->force = atoi(v);
	if (session_kv(text, "stats", v, sizeof(v)))
		in->stats = atoi(v);
}

/* Read NAME.info of dir into *in; -1 when it is missing or unreadable. */
static int info_read(const char *dir, const char *name, struct session_info *in)
{
	char path[4200], text[4096];
	ssize_t n;
	int fd;

	if (session_path(path, sizeof(path), dir, name, ".info") < 0)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0)
		return -1;
	text[n] = '\0';
	info_parse(text, in);
	if (!in->name[0])
		snprintf(in->name, sizeof(in->name), "%s", name);
	return 0;
}

static void remove_files(const char *dir, const char *name)
{
	char path[4200];

	if (session_path(path, sizeof(path), dir, name, ".sock") == 0)
		unlink(path);
	if (session_path(path, sizeof(path), dir, name, ".info") == 0)
		unlink(path);
}

/* Connect to NAME.sock of dir.  Returns the fd; -1 with errno (ECONNREFUSED / ENOENT: no
 * daemon; EPERM: the daemon runs as another user). */
static int connect_daemon(const char *dir, const char *name)
{
	struct sockaddr_un a;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd;

	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	if (session_path(a.sun_path, sizeof(a.sun_path), dir, name, ".sock") < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != getuid()) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

/* Read everything from fd until EOF (or REQUEST_MAX bytes, or wait_ms without data when
 * wait_ms >= 0) into sb.  0, or -1 on a timeout or error. */
static int read_all(int fd, struct strbuf *sb, int wait_ms)
{
	char buf[4096];

	for (;;) {
		ssize_t n;

		if (wait_ms >= 0) {
			struct pollfd p = {fd, POLLIN, 0};

			if (poll(&p, 1, wait_ms) <= 0)
				return -1;
		}
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		strbuf_add(sb, buf, (size_t)n);
		if (sb->len > REQUEST_MAX)
			return -1;
	}
}

static int write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Ask a live daemon for its status and merge the answer into *in. */
static void ask_status(int fd, struct session_info *in)
{
	struct strbuf ans = STRBUF_INIT;
	char v[32];

	if (write_all(fd, "cmd=status\n", 11) == 0 && shutdown(fd, SHUT_WR) == 0 &&
	    read_all(fd, &ans, -1) == 0) {
		session_kv(ans.buf, "state", in->state, sizeof(in->state));
		session_kv(ans.buf, "output", in->output, sizeof(in->output));
		if (session_kv(ans.buf, "windows", v, sizeof(v)))
			in->windows = (unsigned)atoi(v);
		if (session_kv(ans.buf, "app_pid", v, sizeof(v)))
			in->app_pid = atol(v);
	}
	strbuf_release(&ans);
	close(fd);
}

static int cmp_info(const void *a, const void *b)
{
	return strcmp(((const struct session_info *)a)->name,
		      ((const struct session_info *)b)->name);
}

int session_list(struct session_info **out, size_t *n)
{
	char dir[4096];
	struct session_info *v = NULL;
	size_t nv = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	*out = NULL;
	*n = 0;
	if (session_dir(dir, sizeof(dir)) < 0)
		return -1;
	d = opendir(dir);
	if (!d) {
		error("cannot list the session directory '%s': %s", dir, strerror(errno));
		hint("check its permissions (it should be yours, mode 700)");
		return -1;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char name[SESSION_NAME_MAX + 1];
		struct session_info in;
		int fd;

		if (len <= 5 || len - 5 > SESSION_NAME_MAX || strcmp(de->d_name + len - 5, ".info"))
			continue;
		memcpy(name, de->d_name, len - 5);
		name[len - 5] = '\0';
		if (info_read(dir, name, &in) < 0)
			continue;
		fd = strcmp(in.state, "exited") && strcmp(in.state, "pending")
			 ? connect_daemon(dir, name)
			 : -1;
		if (fd >= 0) {
			ask_status(fd, &in);
		} else if (!strcmp(in.state, "pending")) {
			/* waits for its launch: kept */
		} else {
			if (strcmp(in.state, "exited"))
				snprintf(in.state, sizeof(in.state), "stale");
			remove_files(dir, name); /* shown this once */
		}
		GP_ALLOC_GROW(v, nv + 1, cap);
		v[nv++] = in;
	}
	closedir(d);
	if (nv)
		qsort(v, nv, sizeof(*v), cmp_info);
	*out = v;
	*n = nv;
	return 0;
}

int session_find(const char *name, struct session_info *info)
{
	char dir[4096];
	int fd;

	if (!name) { /* the only live session */
		struct session_info *v;
		size_t n, live = 0, i, pick = 0;

		if (session_list(&v, &n) < 0)
			return -1;
		for (i = 0; i < n; i++)
			if (strcmp(v[i].state, "stale") && strcmp(v[i].state, "exited") &&
			    strcmp(v[i].state, "pending")) {
				live++;
				pick = i;
			}
		if (live != 1) {
			if (live == 0) {
				error("no session is running");
				hint(
				    "start one with 'gprof-cli launch [--session-new=NAME] <app>'");
			} else {
				error("%zu sessions are running: say which one", live);
				hint("add --session=NAME ('gprof-cli sessions list' shows them)");
			}
			free(v);
			return -1;
		}
		name = v[pick].name;
		fd = session_dir(dir, sizeof(dir)) < 0 ? -1 : 0;
		if (fd == 0) {
			char nm[SESSION_NAME_MAX + 1];

			snprintf(nm, sizeof(nm), "%s", name);
			free(v);
			return session_find(nm, info);
		}
		free(v);
		return -1;
	}
	if (session_dir(dir, sizeof(dir)) < 0)
		return -1;
	if (info_read(dir, name, info) < 0) {
		error("no session named '%s'", name);
		hint("'gprof-cli sessions list' shows the sessions; "
		     "'gprof-cli launch --session-new=%s <app>' makes one",
		     name);
		return -1;
	}
	if (!strcmp(info->state, "exited")) {
		error("session '%s' has ended: its application exited with status %d", name,
		      info->exit_status);
		hint("launch it again: 'gprof-cli launch --session-new=%s <app>'", name);
		return -1;
	}
	if (!strcmp(info->state, "pending")) {
		error("session '%s' has not launched its application yet", name);
		hint("launch it: 'gprof-cli launch --session=%s <app>'", name);
		return -1;
	}
	fd = connect_daemon(dir, name);
	if (fd < 0) {
		if (errno == EPERM) {
			error("session '%s' belongs to another user", name);
			hint("a session can only be used by the user who launched it");
			return -1;
		}
		remove_files(dir, name);
		error("session '%s' is stale: its daemon (pid %ld) is gone", name, info->id);
		hint("its files were removed; launch it again with 'gprof-cli launch "
		     "--session-new=%s <app>'",
		     name);
		return -1;
	}
	return fd;
}

int session_request(int fd, const char *name, const char *req, struct strbuf *answer)
{
	char msg[1024], fix[1024], code[16];

	if (write_all(fd, req, strlen(req)) < 0 || shutdown(fd, SHUT_WR) < 0 ||
	    read_all(fd, answer, -1) < 0 || !answer->len) {
		close(fd);
		error("session '%s' ended before answering", name);
		hint("'gprof-cli sessions list' shows what is left of it");
		return GP_EXIT_SESSION;
	}
	close(fd);
	if (session_kv(answer->buf, "error", msg, sizeof(msg))) {
		error("%s", msg);
		if (session_kv(answer->buf, "hint", fix, sizeof(fix)))
			hint("%s", fix);
		if (session_kv(answer->buf, "exit", code, sizeof(code)) && atoi(code) > 0)
			return atoi(code);
		return GP_EXIT_SESSION;
	}
	return 0;
}

int session_pending_create(const char *name, const char *output, int force, int stats)
{
	char dir[4096], path[4200], tmp[4300];
	struct session_info in;
	FILE *f;
	int fd;

	if (session_dir(dir, sizeof(dir)) < 0)
		return -1;
	fd = connect_daemon(dir, name);
	if (fd >= 0 || errno == EPERM) {
		if (fd >= 0)
			close(fd);
		error("session '%s' already exists", name);
		hint(
		    "start collecting in it with 'gprof-cli start --session=%s', or choose another "
		    "name",
		    name);
		return -1;
	}
	if (info_read(dir, name, &in) == 0 && !strcmp(in.state, "pending")) {
		error("session '%s' is already waiting for its launch", name);
		hint("launch it: 'gprof-cli launch --session=%s <app>'", name);
		return -1;
	}
	remove_files(dir, name); /* a stale session or a tombstone of that name */
	if (session_path(path, sizeof(path), dir, name, ".info") < 0) {
		error("cannot create session '%s': the session directory path '%s' is too long",
		      name, dir);
		hint("set XDG_RUNTIME_DIR to a shorter folder");
		return -1;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f) {
		error("cannot create session '%s' in '%s': %s", name, dir, strerror(errno));
		hint("check that the session directory is writable");
		return -1;
	}
	fprintf(f,
		"name=%s\nid=0\napp_pid=0\ntrace=\napp=\ncreated=%lld\nstate=pending\n"
		"output=%s\nforce=%d\nstats=%d\n",
		name, (long long)time(NULL), output, force, stats);
	if (fclose(f) != 0 || rename(tmp, path) < 0) {
		unlink(tmp);
		error("cannot create session '%s' in '%s': %s", name, dir, strerror(errno));
		hint("check that the session directory is writable");
		return -1;
	}
	return 0;
}

int session_pending_take(const char *name, struct session_info *info)
{
	char dir[4096];

	if (session_dir(dir, sizeof(dir)) < 0)
		return -1;
	if (info_read(dir, name, info) < 0) {
		error("no session named '%s' waits for a launch", name);
		hint("make it first with 'gprof-cli start --session-new=%s', or name a new one "
		     "here with --session-new=%s",
		     name, name);
		return -1;
	}
	if (strcmp(info->state, "pending")) {
		int fd = connect_daemon(dir, name);

		if (fd >= 0)
			close(fd);
		error("session '%s' is not waiting for a launch (%s)", name,
		      fd >= 0 ? "it runs its application already" : "it has ended");
		hint("name a new session with --session-new");
		return -1;
	}
	remove_files(dir, name);
	return 0;
}

/* ---- daemon side ------------------------------------------------------------------- */

void session_server_write_info(struct session_server *s)
{
	char path[4200], tmp[4300];
	FILE *f;

	if (session_path(path, sizeof(path), s->dir, s->name, ".info") < 0)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f)
		return;
	fprintf(f, "name=%s\nid=%ld\napp_pid=%ld\ntrace=%s\napp=%s\ncreated=%lld\n", s->name,
		s->info.id, s->info.app_pid, s->info.trace, s->info.app, s->info.created);
	if (!strcmp(s->info.state, "exited"))
		fprintf(f, "state=exited\nexit=%d\n", s->info.exit_status);
	if (fclose(f) == 0)
		rename(tmp, path);
	else
		unlink(tmp);
}

int session_server_open(struct session_server *s, const char *name, const struct session_info *info)
{
	struct sockaddr_un a;
	mode_t old;
	int fd, r;

	s->lfd = -1;
	s->shutdown_fd = -1;
	if (session_dir(s->dir, sizeof(s->dir)) < 0)
		return -1;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->info = *info;
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	if (session_path(a.sun_path, sizeof(a.sun_path), s->dir, name, ".sock") < 0) {
		error("cannot create session '%s': the session directory path '%s' is too long",
		      name, s->dir);
		hint("set XDG_RUNTIME_DIR to a shorter folder");
		return -1;
	}
	fd = connect_daemon(s->dir, name);
	if (fd >= 0 || errno == EPERM) {
		if (fd >= 0)
			close(fd);
		error("session '%s' already exists", name);
		hint("choose another name with --session-new, or end it with 'gprof-cli shutdown "
		     "--session=%s'",
		     name);
		return -1;
	}
	{
		struct session_info in;

		if (info_read(s->dir, name, &in) == 0 && !strcmp(in.state, "pending")) {
			error("session '%s' already exists: it waits for its launch", name);
			hint("launch it with 'gprof-cli launch --session=%s <app>'", name);
			return -1;
		}
	}
	remove_files(s->dir, name); /* a stale session or a tombstone of that name */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto fail;
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (r < 0 || listen(fd, 16) < 0) {
		close(fd);
		goto fail;
	}
	s->lfd = fd;
	session_server_write_info(s);
	return 0;
fail:
	error("cannot create session '%s' in '%s': %s", name, s->dir, strerror(errno));
	hint("check that the session directory is writable");
	return -1;
}

void session_server_answer(int fd, const char *kv)
{
	write_all(fd, kv, strlen(kv));
	close(fd);
}

void session_server_refuse(int fd, int status, const char *hint_text, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	strbuf_addstr(&sb, "error=");
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	strbuf_addf(&sb, "\nhint=%s\nexit=%d\n", hint_text, status);
	session_server_answer(fd, sb.buf);
	strbuf_release(&sb);
}

int session_server_accept(struct session_server *s, struct strbuf *req)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd;

	if (s->lfd < 0)
		return -1;
	fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != getuid()) {
		session_server_refuse(fd, GP_EXIT_SESSION,
				      "a session can only be used by the user who launched it",
				      "session '%s' belongs to another user", s->name);
		return -1;
	}
	strbuf_reset(req);
	if (read_all(fd, req, REQUEST_WAIT_MS) < 0) {
		session_server_refuse(fd, GP_EXIT_USAGE,
				      "send one request and shut the socket's write side",
				      "incomplete request to session '%s'", s->name);
		return -1;
	}
	return fd;
}

void session_server_close(struct session_server *s, int exit_status)
{
	char path[4200];

	if (s->lfd >= 0)
		close(s->lfd);
	s->lfd = -1;
	if (session_path(path, sizeof(path), s->dir, s->name, ".sock") == 0)
		unlink(path);
	if (s->shutdown_fd >= 0) {
		char ans[64];

		snprintf(ans, sizeof(ans), "ended=1\napp_status=%d\n", exit_status);
		session_server_answer(s->shutdown_fd, ans);
		s->shutdown_fd = -1;
	}
	if (exit_status >= 0) {
		snprintf(s->info.state, sizeof(s->info.state), "exited");
		s->info.exit_status = exit_status;
		session_server_write_info(s);
	} else if (session_path(path, sizeof(path), s->dir, s->name, ".info") == 0) {
		unlink(path);
	}
}

int session_command(int argc, char **argv, const char *cmd, void (*help)(FILE *f), const char *req,
		    struct strbuf *answer)
{
	static const struct option longopts[] = {
	    {"session", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char name[SESSION_NAME_MAX + 1];
	const char *session = NULL;
	struct session_info info;
	int c, fd;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		if (c == 's') {
			session = optarg;
		} else if (c == 'h') {
			help(stdout);
			return GP_EXIT_OK;
		} else {
			return gp_option_error(cmd, c == ':', argv[optind - 1]);
		}
	}
	if (optind < argc) {
		error("unexpected argument '%s'", argv[optind]);
		hint("see 'gprof-cli %s --help'", cmd);
		return GP_EXIT_USAGE;
	}
	if (session && session_name_parse("--session", session, name) < 0)
		return GP_EXIT_USAGE;
	fd = session_find(session ? name : NULL, &info);
	if (fd < 0)
		return GP_EXIT_SESSION;
	return session_request(fd, info.name, req, answer);
}
