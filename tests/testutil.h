/*
 * testutil.h - helpers shared by the cmocka test binaries (tests/unit, tests/e2e):
 * running a command with its output captured, temp folders, small files, and one-value
 * queries on a report.  Linked into every test binary (Makefile: $(B)/obj/tests/testutil.o).
 *
 * Helpers that can fail on a test's own inputs fail the running cmocka test
 * (assert_*, fail_msg); the ones meant for setup/teardown return an error instead.
 */
#ifndef GPROF_TESTS_TESTUTIL_H
#define GPROF_TESTS_TESTUTIL_H

#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Output of one captured run: exit status (-1 when it did not exit normally) and the
 * first 64 KiB - 1 of its stdout and stderr, NUL-terminated. */
struct tu_run {
	int status;
	char out[65536];
	char err[65536];
};

/* Read up to size - 1 bytes of path into buf, NUL-terminated; buf is "" when path cannot
 * be opened. */
void tu_read_file(const char *path, char *buf, size_t size);

/* The whole of path, NUL-terminated, in a malloc'd buffer the caller frees; *len (when
 * not NULL) gets its length in bytes.  NULL when path cannot be opened. */
char *tu_slurp(const char *path, size_t *len);

/* Write text to path (created or truncated); fails the test on any error. */
void tu_write_text(const char *path, const char *text);

/* 1 when something (a file, folder or link) stands at path, else 0. */
int tu_exists(const char *path);

/* "dir/name" into buf (PATH_MAX bytes); returns buf. */
char *tu_pathf(char *buf, const char *dir, const char *name);

/* The folder of the nsys fixtures too large for tests/fixtures: $GPROF_FIXTURES (make
 * check sets it to ../shared/fixtures beside the repository root), else
 * "../shared/fixtures" (a test binary run by hand from the repository root). */
const char *tu_fixture_dir(void);

/* buf (PATH_MAX bytes) = the fixture file `name` in tu_fixture_dir(); the running test is
 * skipped, saying which file is missing (TU_SKIP), when it cannot be read. */
char *tu_fixture(char *buf, const char *name);

/* The fake GPU libraries (tests/programs/fakegpu/: CUPTI, libcuda, the CUDA runtime) of
 * the build $BUILD (default "build"): buf (PATH_MAX bytes) = their folder, absolute when
 * it exists, and that folder is put first on LD_LIBRARY_PATH (for the applications the
 * tests profile).  Returns buf. */
char *tu_fakegpu_dir(char *buf);

/* Skip the running test, printing "skip: <why>" (printf-style) first: tests/run-tests.sh
 * counts skipped tests and shows each one's reason. */
#define TU_SKIP(...)                                                                               \
	do {                                                                                       \
		print_message("skip: " __VA_ARGS__);                                               \
		print_message("\n");                                                               \
		skip();                                                                            \
	} while (0)

/* Number of entries in dir other than . and .. (fails the test when it cannot list). */
int tu_count_entries(const char *dir);

/* Number of lines of s starting with prefix. */
int tu_count_lines(const char *s, const char *prefix);

/* Number of newline characters in s. */
int tu_total_lines(const char *s);

/* Assert that r exited with status want; on failure the message shows r's stderr. */
void tu_assert_status(const struct tu_run *r, int want);
/* Fail unless r->err holds exactly want lines starting with prefix; the failure message
 * shows the whole stderr (what a CI log needs to say which line came or went). */
void tu_assert_lines(const struct tu_run *r, const char *prefix, int want);

/* Assert that r's stderr is one "gprof-cli: " error line naming `what` (a substring),
 * followed by at most one "hint: " line. */
void tu_assert_one_error(const struct tu_run *r, const char *what);

/* Start prog with argv[1..] = args (NULL-terminated, at most 62), in cwd (NULL: keep),
 * its stdout and stderr written to the files out and err (truncated).  The child exits
 * 250 when it cannot open them or enter cwd, 251 when exec fails.  Returns the pid. */
pid_t tu_spawn(const char *prog, const char *const *args, const char *cwd, const char *out,
	       const char *err);

/* Wait for pid (retrying on EINTR); returns its exit status, -1 when it did not exit
 * normally. */
int tu_wait(pid_t pid);

/* Wait for pid, then fill r from the files out and err and remove them. */
void tu_finish(pid_t pid, struct tu_run *r, const char *out, const char *err);

/* Run prog with args (NULL-terminated) in cwd and wait: r gets its status, stdout and
 * stderr, captured in the files <cwd>.out and <cwd>.err beside cwd (so that cwd holds only
 * what prog wrote) and removed after. */
void tu_run_in(struct tu_run *r, const char *prog, const char *cwd, const char *const *args);

/* Run the shell command fmt/ap (formatted into 8 KiB) in folder dir, its stdout into
 * dir/out and its stderr into dir/err (truncated); returns its exit status (128 when it
 * did not exit normally). */
int tu_vsh_in(const char *dir, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Make a fresh folder from template (ending in XXXXXX) in a malloc'd string the caller
 * frees; NULL on failure. */
char *tu_mkdtemp(const char *template);

/* Remove dir and all below it (made writable first); 0 on success, -1 on failure. */
int tu_rm_rf(const char *dir);

/* cmocka group/test fixtures: *state = a fresh "/tmp/gprof-test-XXXXXX" folder (from
 * tu_mkdtemp); the teardown removes it (tu_rm_rf) and frees the name.  -1 on failure. */
int tu_setup_tmpdir(void **state);
int tu_teardown_tmpdir(void **state);

/* First column of the first row of sql on db, as an integer; LLONG_MIN when there is no
 * row.  Fails the test when sql does not prepare. */
long long tu_db_int(sqlite3 *db, const char *sql);

/* Same on the report file db (opened read-only for the query). */
long long tu_query_int(const char *db, const char *sql);

/* Same with printf-style sql (formatted into 4 KiB). */
long long tu_query_intf(const char *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The `value` of the row `name` of table (META_DATA_EXPORT / META_DATA_CAPTURE) of the
 * report file db, into buf of size bytes ("" when absent); returns buf. */
const char *tu_meta(const char *db, const char *table, const char *name, char *buf, size_t size);

/* ---- hand-made wire frames (core/wire.h) for tests that feed a real recorder ---------- */

/* Append a zeroed record of `size` bytes (rounded up by GP_REC_ALIGN) with header type and
 * tid to the one pending frame (a static GP_FRAME_MAX buffer in testutil.c); returns the
 * record for the caller to fill.  The caller keeps the frame under GP_FRAME_MAX. */
void *tu_add_rec(uint16_t type, size_t size, uint32_t tid);

/* Append a GP_REC_STRING record defining StringId id as s. */
void tu_add_string(uint32_t id, const char *s);

/* Send the pending frame (GP_FRAME_RECORDS from pid, sequence seq) on the connected
 * SOCK_SEQPACKET fd as one packet, fail the test when the send is short, and empty it. */
void tu_send_frame(int fd, uint32_t pid, uint64_t seq);

/* Record the report path (core/recorder.h): start a recorder with session start t0
 * (monotonic ns) and UTC start 1700000000000000000 ns, connect to its channel, call
 * send_fn(fd), then finish it for app pid (ended at t0 + 1 ms, 2000 ms drain) and assert
 * that no frame was bad.  Fails the test on any error. */
void tu_record_session(const char *path, uint64_t t0, uint32_t pid, void (*send_fn)(int fd));

/* First column of the first row of sql on db as an integer / as text copied to a static
 * 512-byte buffer ("<NULL>" for NULL); fail the test when sql does not prepare or gives
 * no row. */
int64_t tu_db_row_int(sqlite3 *db, const char *sql);
const char *tu_db_row_text(sqlite3 *db, const char *sql);

#endif
