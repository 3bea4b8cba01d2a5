/*
 * test_streams.c - cli/streams.c in-process: the session log (hints joined to their
 * message, util.h's message hook), the tee on pipes (bytes kept and forwarded, collector
 * lines of stderr turned into messages, -w false keeps without showing), EPIPE handed back
 * to the writer, and the forwarding process that takes over channels still open.
 * The test's own fd 1 is pointed at a pipe while a tee forwards to it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/streams.h"
#include "core/report_session.h"
#include "core/util.h"
#include "tests/testutil.h"

/* Write s to fd (all of it). */
static void put(int fd, const char *s)
{
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* Point fd (1 or 2) at a new pipe; returns its read end (non-blocking), *saved the old
 * fd. */
static int capture_fd(int fd, int *saved)
{
	int p[2];

	fflush(stdout);
	fflush(stderr);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	*saved = dup(fd);
	assert_true(dup2(p[1], fd) == fd);
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	return p[0];
}

static void restore_fd(int fd, int saved)
{
	dup2(saved, fd);
	close(saved);
}

static int capture_stdout(int *saved)
{
	return capture_fd(1, saved);
}

static void restore_stdout(int saved)
{
	restore_fd(1, saved);
}

/* What is readable on fd within ms, NUL-terminated into buf. */
static const char *slurp(int fd, char *buf, size_t size, int ms)
{
	size_t len = 0;
	struct pollfd p = {fd, POLLIN, 0};

	while (len + 1 < size && poll(&p, 1, ms) > 0) {
		ssize_t n = read(fd, buf + len, size - 1 - len);

		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
}

static void test_log_hints(void **state)
{
	struct session_log log = SESSION_LOG_INIT;
	struct report_diag *v;
	size_t n;

	(void)state;
	session_log_add(&log, 10, REPORT_DIAG_DAEMON, REPORT_DIAG_WARNING, 0, "first", 1);
	session_log_add(&log, 11, REPORT_DIAG_DAEMON, 0, 0, "do this", 0);
	session_log_add(&log, 12, REPORT_DIAG_DAEMON, 0, 0, "a second hint is dropped", 0);
	session_log_add(&log, 13, REPORT_DIAG_INJECTION, REPORT_DIAG_ERROR, 77, "second", 0);
	session_log_add(&log, 14, REPORT_DIAG_INJECTION, 0, 77, "not for a message that takes none",
			0);
	/* util.h's hook: error/warning/hint in gprof-cli's words */
	gp_set_message_hook(session_log_hook, &log);
	warning("the %s warning", "hooked");
	hint("fix it");
	error("an error");
	gp_set_message_hook(NULL, NULL);
	warning("not kept");

	v = session_log_copy(&log, &n);
	assert_int_equal(n, 4);
	assert_string_equal(v[0].text, "first; hint: do this");
	assert_int_equal(v[0].ts_ns, 10);
	assert_string_equal(v[1].text, "second");
	assert_int_equal(v[1].pid, 77);
	assert_int_equal(v[1].severity, REPORT_DIAG_ERROR);
	assert_string_equal(v[2].text, "the hooked warning; hint: fix it");
	assert_int_equal(v[2].severity, REPORT_DIAG_WARNING);
	assert_int_equal(v[2].source, REPORT_DIAG_DAEMON);
	assert_int_equal(v[2].ts_type, REPORT_DIAG_TS_TARGET);
	assert_string_equal(v[3].text, "an error");
	assert_int_equal(v[3].severity, REPORT_DIAG_ERROR);
	session_log_free_copy(v, n);
	session_log_release(&log);
}

/* -w true on pipes: every byte forwarded and kept; collector lines of stderr scanned. */
static void test_tee_forwards_and_keeps(void **state)
{
	struct session_log log = SESSION_LOG_INIT;
	struct session_capture cap;
	struct stream_tee t;
	char buf[4096];
	int saved, rd, saved2, rd2;

	(void)state;
	rd = capture_stdout(&saved);
	rd2 = capture_fd(2, &saved2);
	stream_tee_open(&t, 0);
	assert_true(stream_tee_child_fd(&t, 1) >= 0);
	assert_true(stream_tee_child_fd(&t, 2) >= 0);
	assert_false(t.ch[0].is_pty); /* fd 1 is a pipe: a pipe, as the app would have had */
	put(stream_tee_child_fd(&t, 1), "out 1\nout 2\n");
	put(stream_tee_child_fd(&t, 2),
	    "app says\n"
	    "gprof-cli: warning: 3 records dropped\n"
	    "hint: flush more often\n"
	    "gprof-cli: cuda trace disabled: CUPTI missing\n"
	    "progress 10%\rgprof-cli: gpu-metrics range mode: 2 metrics\r"
	    "plain\n"
	    "hint: not a collector's\n");
	assert_int_equal(stream_tee_start(&t, 4242, &log), 0);
	stream_tee_stop(&t, 2000); /* the writers closed: returns at EOF */
	restore_fd(2, saved2);
	restore_stdout(saved);
	assert_string_equal(slurp(rd, buf, sizeof(buf), 100), "out 1\nout 2\n");
	close(rd);
	assert_int_equal(strncmp(slurp(rd2, buf, sizeof(buf), 100), "app says\ngprof-cli: ", 20),
			 0);
	close(rd2);

	session_capture_fill(&cap, &t, &log, 4242, 99);
	assert_int_equal(cap.s.nstreams, 2);
	assert_string_equal(cap.s.streams[0].name, "stdout");
	assert_int_equal(cap.s.streams[0].len, 12);
	assert_memory_equal(cap.s.streams[0].data, "out 1\nout 2\n", 12);
	assert_string_equal(cap.s.streams[1].name, "stderr");
	assert_int_equal(cap.s.app_start_ns, 99);
	assert_int_equal(cap.s.ndiags, 3);
	assert_string_equal(cap.s.diags[0].text, "3 records dropped; hint: flush more often");
	assert_int_equal(cap.s.diags[0].severity, REPORT_DIAG_WARNING);
	assert_int_equal(cap.s.diags[0].source, REPORT_DIAG_INJECTION);
	assert_int_equal(cap.s.diags[0].pid, 4242);
	assert_string_equal(cap.s.diags[1].text, "cuda trace disabled: CUPTI missing");
	assert_int_equal(cap.s.diags[1].severity, REPORT_DIAG_ERROR);
	assert_string_equal(cap.s.diags[2].text, "gpu-metrics range mode: 2 metrics");
	assert_int_equal(cap.s.diags[2].severity, REPORT_DIAG_INFO);
	session_capture_release(&cap);
	stream_tee_finish(&t);
	session_log_release(&log);
}

/* -w false: kept, nothing shown. */
static void test_tee_quiet(void **state)
{
	struct session_log log = SESSION_LOG_INIT;
	struct report_stream s[2];
	struct stream_tee t;
	char buf[256];
	int saved, rd;

	(void)state;
	rd = capture_stdout(&saved);
	stream_tee_open(&t, 1);
	put(stream_tee_child_fd(&t, 1), "hidden\n");
	assert_int_equal(stream_tee_start(&t, 1, &log), 0);
	stream_tee_stop(&t, 2000);
	restore_stdout(saved);
	assert_string_equal(slurp(rd, buf, sizeof(buf), 50), "");
	close(rd);
	assert_int_equal(stream_tee_streams(&t, s), 2);
	assert_int_equal(s[0].len, 7);
	assert_memory_equal(s[0].data, "hidden\n", 7);
	assert_int_equal(s[1].len, 0);
	stream_tee_finish(&t);
	session_log_release(&log);
}

/* Nobody reads gprof-cli's stdout any more: the writer gets EPIPE, as it would have. */
static void test_tee_epipe(void **state)
{
	struct stream_tee t;
	int saved, p[2], w;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	fflush(stdout);
	assert_int_equal(pipe(p), 0);
	saved = dup(1);
	dup2(p[1], 1);
	close(p[1]);
	close(p[0]); /* no reader */
	stream_tee_open(&t, 0);
	w = dup(stream_tee_child_fd(&t, 1));
	put(w, "lost\n");
	assert_int_equal(stream_tee_start(&t, 1, NULL), 0);
	stream_tee_stop(&t, 3000); /* the channel closes on EPIPE: both at EOF */
	restore_stdout(saved);
	errno = 0;
	assert_int_equal(write(w, "x\n", 2), -1);
	assert_int_equal(errno, EPIPE);
	close(w);
	stream_tee_finish(&t);
	signal(SIGPIPE, SIG_DFL);
}

/* A writer still running when the session ends keeps its output: a forwarding process. */
static void test_tee_handoff(void **state)
{
	struct stream_tee t;
	char buf[256];
	int saved, rd, w;
	pid_t fwd;

	(void)state;
	rd = capture_stdout(&saved);
	stream_tee_open(&t, 0);
	w = dup(stream_tee_child_fd(&t, 1));
	put(w, "before\n");
	assert_int_equal(stream_tee_start(&t, 1, NULL), 0);
	stream_tee_stop(&t, 100); /* w still open: the deadline ends it */
	assert_string_equal(slurp(rd, buf, sizeof(buf), 100), "before\n");
	assert_false(t.ch[0].eof);
	stream_tee_finish(&t); /* forks the forwarder */
	restore_stdout(saved);
	put(w, "after the session\n");
	assert_string_equal(slurp(rd, buf, sizeof(buf), 2000), "after the session\n");
	close(w); /* the last writer: the forwarder ends */
	fwd = waitpid(-1, NULL, 0);
	assert_true(fwd > 0);
	close(rd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_log_hints),	cmocka_unit_test(test_tee_forwards_and_keeps),
	    cmocka_unit_test(test_tee_quiet),	cmocka_unit_test(test_tee_epipe),
	    cmocka_unit_test(test_tee_handoff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
