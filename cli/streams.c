/*
 * streams.c - the tee of the application's stdout/stderr and the session's messages (see
 * streams.h).
 *
 * Collector lines on the application's stderr: "gprof-cli: warning: <text>" is a Warning;
 * another "gprof-cli: <text>" is an Error when it says that something requested is off
 * ("disabled", "failed", "cannot": e.g. "cuda trace disabled: ..."), else Info (e.g. the
 * gpu-metrics range mode's summary line); a "hint: <fix>" line right after one is appended
 * to it.  The text is stored without the "gprof-cli: " / "warning: " prefix (the severity
 * says it), as nsys stores its messages.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "cli/streams.h"

#define LINE_MAX_SCAN 4096 /* longer stderr lines are not collector messages */
#define READ_CHUNK    65536
#define DRAIN_READS   16 /* reads per stream after the stop deadline (1 MiB) */

/* ---- session log --------------------------------------------------------------------- */

void session_log_add(struct session_log *log, uint64_t ts_ns, int source, int severity,
		     uint32_t pid, const char *text, int hintable)
{
	pthread_mutex_lock(&log->mu);
	if (!severity) {
		if (log->last_open && log->n) {
			struct report_diag *d = &log->v[log->n - 1];
			char *joined = xasprintf("%s; hint: %s", d->text, text);

			free((char *)d->text);
			d->text = joined;
		}
		log->last_open = 0;
		pthread_mutex_unlock(&log->mu);
		return;
	}
	GP_ALLOC_GROW(log->v, log->n + 1, log->alloc);
	log->v[log->n++] = (struct report_diag){
	    .ts_ns = ts_ns,
	    .source = (uint8_t)source,
	    .severity = (uint8_t)severity,
	    .ts_type = REPORT_DIAG_TS_TARGET,
	    .pid = pid,
	    .text = xstrdup(text),
	};
	log->last_open = hintable;
	pthread_mutex_unlock(&log->mu);
}

void session_log_hook(void *ctx, int kind, const char *msg)
{
	session_log_add(ctx, gp_monotonic_ns(), REPORT_DIAG_DAEMON,
			kind == 'h'   ? 0
			: kind == 'w' ? REPORT_DIAG_WARNING
				      : REPORT_DIAG_ERROR,
			0, msg, 1);
}

struct report_diag *session_log_copy(struct session_log *log, size_t *n)
{
	struct report_diag *v;

	pthread_mutex_lock(&log->mu);
	v = xcalloc(log->n + 1, sizeof(*v));
	for (size_t i = 0; i < log->n; i++) {
		v[i] = log->v[i];
		v[i].text = xstrdup(log->v[i].text);
	}
	*n = log->n;
	pthread_mutex_unlock(&log->mu);
	return v;
}

void session_log_free_copy(struct report_diag *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free((char *)v[i].text);
	free(v);
}

void session_log_release(struct session_log *log)
{
	pthread_mutex_lock(&log->mu);
	for (size_t i = 0; i < log->n; i++)
		free((char *)log->v[i].text);
	free(log->v);
	log->v = NULL;
	log->n = log->alloc = 0;
	log->last_open = 0;
	pthread_mutex_unlock(&log->mu);
}

/* ---- channels --------------------------------------------------------------------------- */

/* A pseudo-terminal like the terminal `term`: its modes without output processing (the
 * bytes reach `term` as the application wrote them; term's own processing applies once),
 * its window size.  Sets read_fd (master) and child_fd (slave); 0 or -1 (errno). */
static int open_pty(struct stream_chan *c, int term)
{
	struct termios tio;
	struct winsize ws;
	char name[128];
	int m, s;

	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return -1;
	if (grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, name, sizeof(name)) != 0)
		goto fail;
	s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0)
		goto fail;
	if (tcgetattr(term, &tio) == 0 || tcgetattr(s, &tio) == 0) {
		tio.c_oflag &= ~(tcflag_t)OPOST;
		tcsetattr(s, TCSANOW, &tio);
	}
	if (ioctl(term, TIOCGWINSZ, &ws) == 0)
		ioctl(m, TIOCSWINSZ, &ws);
	c->read_fd = m;
	c->child_fd = s;
	c->is_pty = 1;
	return 0;
fail : {
	int e = errno;

	close(m);
	errno = e;
	return -1;
}
}

void stream_tee_open(struct stream_tee *t, int quiet)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->mu, NULL);
	t->wake_fd = -1;
	for (int i = 0; i < 2; i++) {
		struct stream_chan *c = &t->ch[i];
		int fd = i + 1, p[2];

		c->name = i ? "stderr" : "stdout";
		c->read_fd = c->child_fd = -1;
		c->out_fd = quiet ? -1 : fd;
		strbuf_init(&c->data, 0);
		strbuf_init(&c->line, 0);
		if (!quiet && fcntl(fd, F_GETFD) < 0)
			continue; /* closed: the application inherits it closed, as before */
		if (!quiet && isatty(fd)) {
			if (open_pty(c, fd) == 0)
				continue;
		} else if (pipe2(p, O_CLOEXEC) == 0) {
			c->read_fd = p[0];
			c->child_fd = p[1];
			continue;
		}
		warning("cannot capture the application's %s: %s; it is not stored in the report",
			c->name, strerror(errno));
	}
	for (int i = 0; i < 2; i++)
		if (t->ch[i].read_fd >= 0)
			fcntl(t->ch[i].read_fd, F_SETFL,
			      fcntl(t->ch[i].read_fd, F_GETFL) | O_NONBLOCK);
}

int stream_tee_child_fd(const struct stream_tee *t, int fd)
{
	return fd == 1 || fd == 2 ? t->ch[fd - 1].child_fd : -1;
}

/* ---- the reader ----------------------------------------------------------------------- */

/* Write all of buf to fd (which may be non-blocking).  0, or -1 with errno. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && errno == EAGAIN) {
			struct pollfd p = {fd, POLLOUT, 0};

			poll(&p, 1, 100);
		} else {
			return -1;
		}
	}
	return 0;
}

static void close_chan(struct stream_chan *c)
{
	c->eof = 1;
	if (c->read_fd >= 0)
		close(c->read_fd);
	c->read_fd = -1;
}

/* A complete stderr line: a collector message goes to the log. */
static void scan_line(struct stream_tee *t, const char *line)
{
	static const char pre[] = "gprof-cli: ";
	const char *msg;
	int sev;

	if (!t->log)
		return;
	if (!strncmp(line, "hint: ", 6)) {
		session_log_add(t->log, gp_monotonic_ns(), REPORT_DIAG_INJECTION, 0, t->app_pid,
				line + 6, 0);
		return;
	}
	if (strncmp(line, pre, sizeof(pre) - 1)) {
		pthread_mutex_lock(&t->log->mu);
		t->log->last_open = 0; /* the application's own line: no hint follows */
		pthread_mutex_unlock(&t->log->mu);
		return;
	}
	msg = line + sizeof(pre) - 1;
	if (!strncmp(msg, "warning: ", 9)) {
		msg += 9;
		sev = REPORT_DIAG_WARNING;
	} else if (strstr(msg, "disabled") || strstr(msg, "failed") || strstr(msg, "cannot")) {
		sev = REPORT_DIAG_ERROR;
	} else {
		sev = REPORT_DIAG_INFO;
	}
	session_log_add(t->log, gp_monotonic_ns(), REPORT_DIAG_INJECTION, sev, t->app_pid, msg, 1);
}

static void scan(struct stream_tee *t, struct stream_chan *c, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n' || buf[i] == '\r') { /* \r: progress bars redraw a line */
			if (c->line.len && c->line.len <= LINE_MAX_SCAN)
				scan_line(t, c->line.buf);
			strbuf_reset(&c->line);
		} else if (c->line.len <= LINE_MAX_SCAN) {
			strbuf_addch(&c->line, buf[i]);
		}
	}
}

/* Read what c has (at most `reads` reads; 0 = until it would block).  Returns 1 when it
 * read something. */
static int read_chan(struct stream_tee *t, struct stream_chan *c, int reads)
{
	char buf[READ_CHUNK];
	int got = 0;

	for (int k = 0; !c->eof && (!reads || k < reads); k++) {
		ssize_t n = read(c->read_fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) { /* EOF; EIO: a pty whose last writer closed */
			close_chan(c);
			break;
		}
		got = 1;
		c->total += (uint64_t)n;
		if (c->data.len < STREAM_TEE_MAX)
			strbuf_add(&c->data, buf,
				   (size_t)n < STREAM_TEE_MAX - c->data.len
				       ? (size_t)n
				       : STREAM_TEE_MAX - c->data.len);
		if (c == &t->ch[1])
			scan(t, c, buf, (size_t)n);
		if (c->out_fd >= 0 && write_all(c->out_fd, buf, (size_t)n) < 0) {
			if (errno == EPIPE) {
				/* nobody reads gprof-cli's stream any more: the application
				 * gets its EPIPE / SIGPIPE as it would have without us */
				close_chan(c);
				break;
			}
			c->out_fd = -1; /* keep capturing, stop showing */
		}
	}
	return got;
}

static void *reader_main(void *arg)
{
	struct stream_tee *t = arg;

	for (;;) {
		struct pollfd p[3];
		struct stream_chan *who[2];
		int n = 0, timeout = -1, stopping;
		uint64_t deadline;

		for (int i = 0; i < 2; i++)
			if (t->ch[i].read_fd >= 0 && !t->ch[i].eof) {
				p[n] = (struct pollfd){t->ch[i].read_fd, POLLIN, 0};
				who[n++] = &t->ch[i];
			}
		if (!n)
			break;
		pthread_mutex_lock(&t->mu);
		stopping = t->stopping;
		deadline = t->stop_deadline_ns;
		pthread_mutex_unlock(&t->mu);
		if (stopping) {
			uint64_t now = gp_monotonic_ns();

			if (now >= deadline) {
				for (int i = 0; i < n; i++)
					read_chan(t, who[i], DRAIN_READS);
				break;
			}
			timeout = (int)((deadline - now + 999999) / 1000000);
		}
		p[n] = (struct pollfd){t->wake_fd, POLLIN, 0};
		if (poll(p, (nfds_t)n + 1, timeout) < 0 && errno != EINTR)
			break;
		if (p[n].revents & POLLIN) {
			uint64_t v;

			if (read(t->wake_fd, &v, sizeof(v)) < 0)
				(void)0;
		}
		for (int i = 0; i < n; i++)
			if (p[i].revents)
				read_chan(t, who[i], 1);
	}
	return NULL;
}

int stream_tee_start(struct stream_tee *t, uint32_t app_pid, struct session_log *log)
{
	sigset_t all, old;
	int any = 0;

	t->app_pid = app_pid;
	t->log = log;
	for (int i = 0; i < 2; i++) {
		if (t->ch[i].child_fd >= 0)
			close(t->ch[i].child_fd);
		t->ch[i].child_fd = -1;
		any |= t->ch[i].read_fd >= 0;
	}
	if (!any)
		return 0;
	t->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->wake_fd < 0) {
		warning("cannot capture the application's output: %s", strerror(errno));
		return -1;
	}
	/* no signal in the reader: SIGPIPE comes back as EPIPE (see read_chan) */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&t->thread, NULL, reader_main, t) == 0)
		t->running = 1;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!t->running) {
		warning("cannot capture the application's output: cannot start a thread");
		return -1;
	}
	return 0;
}

void stream_tee_stop(struct stream_tee *t, int wait_ms)
{
	uint64_t one = 1;

	if (!t->running)
		return;
	pthread_mutex_lock(&t->mu);
	t->stopping = 1;
	t->stop_deadline_ns =
	    gp_monotonic_ns() + (uint64_t)(wait_ms > 0 ? wait_ms : 0) * 1000000ull;
	pthread_mutex_unlock(&t->mu);
	if (write(t->wake_fd, &one, sizeof(one)) < 0)
		(void)0;
	pthread_join(t->thread, NULL);
	t->running = 0;
}

size_t stream_tee_streams(struct stream_tee *t, struct report_stream out[2])
{
	size_t n = 0;

	for (int i = 0; i < 2; i++) {
		struct stream_chan *c = &t->ch[i];

		if (c->read_fd < 0 && !c->eof)
			continue; /* passed through, not captured */
		out[n].name = c->name;
		out[n].data = c->data.buf;
		out[n].len = c->data.len;
		n++;
		if (c->total > c->data.len && t->log) {
			char *msg =
			    xasprintf("the application's %s was %llu bytes; the report keeps "
				      "the first %u",
				      c->name, (unsigned long long)c->total, STREAM_TEE_MAX);

			session_log_add(t->log, gp_monotonic_ns(), REPORT_DIAG_DAEMON,
					REPORT_DIAG_WARNING, t->app_pid, msg, 0);
			free(msg);
		}
	}
	return n;
}

/* In the forwarding process: close every fd but 0, 1, 2 and the channels (it must hold no
 * writer of its own channels, nor anything else of gprof-cli's). */
static void close_other_fds(const struct stream_tee *t)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);

		if (fd > 2 && fd != dirfd(d) && fd != t->ch[0].read_fd && fd != t->ch[1].read_fd)
			close(fd);
	}
	closedir(d);
}

/* The forwarding process: copy each still-open channel to its output until it closes. */
static void forward_until_closed(struct stream_tee *t)
{
	char buf[READ_CHUNK];

	signal(SIGPIPE, SIG_DFL);
	close_other_fds(t);
	for (;;) {
		struct pollfd p[2];
		struct stream_chan *who[2];
		int n = 0;

		for (int i = 0; i < 2; i++)
			if (t->ch[i].read_fd >= 0 && !t->ch[i].eof) {
				fcntl(t->ch[i].read_fd, F_SETFL,
				      fcntl(t->ch[i].read_fd, F_GETFL) & ~O_NONBLOCK);
				p[n] = (struct pollfd){t->ch[i].read_fd, POLLIN, 0};
				who[n++] = &t->ch[i];
			}
		if (!n)
			_exit(0);
		if (poll(p, (nfds_t)n, -1) < 0 && errno != EINTR)
			_exit(0);
		for (int i = 0; i < n; i++) {
			ssize_t got;

			if (!p[i].revents)
				continue;
			got = read(who[i]->read_fd, buf, sizeof(buf));
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0 || (who[i]->out_fd >= 0 &&
					 write_all(who[i]->out_fd, buf, (size_t)got) < 0))
				close_chan(who[i]);
		}
	}
}

void stream_tee_finish(struct stream_tee *t)
{
	int open = 0;

	stream_tee_stop(t, 0);
	for (int i = 0; i < 2; i++) {
		if (t->ch[i].child_fd >= 0) /* started never */
			close(t->ch[i].child_fd);
		t->ch[i].child_fd = -1;
		open |= t->ch[i].read_fd >= 0 && !t->ch[i].eof;
	}
	/* Writers are left (processes still running): they keep their output.  gprof-cli has
	 * no other thread now, so a plain fork is safe. */
	if (open) {
		pid_t pid = fork();

		if (pid == 0) {
			forward_until_closed(t);
			_exit(0);
		}
		if (pid < 0)
			warning("cannot hand the application's output over: %s; processes still "
				"running lose it",
				strerror(errno));
	}
	for (int i = 0; i < 2; i++) {
		if (t->ch[i].read_fd >= 0)
			close(t->ch[i].read_fd);
		t->ch[i].read_fd = -1;
		strbuf_release(&t->ch[i].data);
		strbuf_release(&t->ch[i].line);
	}
	if (t->wake_fd >= 0)
		close(t->wake_fd);
	t->wake_fd = -1;
}

void session_capture_fill(struct session_capture *c, struct stream_tee *t, struct session_log *log,
			  uint32_t app_pid, uint64_t app_start_ns)
{
	memset(c, 0, sizeof(*c));
	c->s.app_pid = app_pid;
	c->s.app_start_ns = app_start_ns;
	if (t) {
		c->s.nstreams = stream_tee_streams(t, c->streams);
		c->s.streams = c->s.nstreams ? c->streams : NULL;
	}
	c->diags = session_log_copy(log, &c->ndiags);
	c->s.diags = c->diags;
	c->s.ndiags = c->ndiags;
}

void session_capture_release(struct session_capture *c)
{
	session_log_free_copy(c->diags, c->ndiags);
	memset(c, 0, sizeof(*c));
}
