/*
 * test_hostmem.c - `gprof-cli profile --host-memory-usage=true` end to end
 * (collectors/hostmem.c, core/report_hostmem.c): tests/programs/hostmem_app's known
 * allocation patterns give exact rows in GPROF_HOST_MEMORY_*: the process peak inside the
 * "peak" range, a leak inside "leaky", realloc growth, a thread freeing what another
 * allocated, exact totals below the threshold, a fork child's own process row, the
 * threshold, and the same figures under jemalloc and tcmalloc when they are installed.
 * The stats reports cpu_mem_peak / mem_peak and the memory SVG are checked on the same
 * report.
 *
 * Environment: GPROF_CLI, BUILD (make check sets them).
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/testutil.h"

static char gprof[PATH_MAX];
static char app[PATH_MAX + 64];

/* What hostmem_app wrote: "key value" lines. */
struct expect {
	char text[4096];
};

static long long ex(const struct expect *e, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "%s ", key);
	for (p = e->text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, pat, strlen(pat)))
			return atoll(p + strlen(pat));
	fail_msg("hostmem_app wrote no '%s'", key);
	return 0;
}

/* Profile hostmem_app in dir with the extra switches (NULL-terminated) and app args;
 * db gets the report path, e the expected values. */
static void profile(const char *dir, const char *const *extra, const char *mode, char *db,
		    struct expect *e)
{
	char out[PATH_MAX - 8], exp[PATH_MAX];
	const char *args[24];
	int n = 0;
	struct tu_run *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	tu_pathf(out, dir, "run");
	tu_pathf(exp, dir, "expect.txt");
	args[n++] = "profile";
	args[n++] = "-t";
	args[n++] = "nvtx";
	args[n++] = "--host-memory-usage=true";
	args[n++] = "-o";
	args[n++] = out;
	for (; extra && *extra; extra++)
		args[n++] = *extra;
	args[n++] = app;
	args[n++] = exp;
	if (mode)
		args[n++] = mode;
	args[n] = NULL;
	tu_run_in(r, gprof, dir, args);
	tu_assert_status(r, 0);
	free(r);
	snprintf(db, PATH_MAX, "%s.db", out);
	tu_read_file(exp, e->text, sizeof(e->text));
	assert_int_equal(ex(e, "done"), 1);
}

#define TID(x) "(globalTid & 16777215)"
#define EV     "GPROF_HOST_MEMORY_EVENTS e JOIN StringIds s ON s.id = e.nameId"

/* The checks that hold at the default threshold under any allocator. */
static void check_patterns(const char *db, const struct expect *e, int forked)
{
	long long main_tid = ex(e, "tid_main"), ta = ex(e, "tid_a"), tb = ex(e, "tid_b");
	long long ts = ex(e, "tid_s"), u10000 = ex(e, "usable_10000");
	long long u32 = ex(e, "usable_32"), u48 = ex(e, "usable_48");
	long long before, at_p1, at_p2;

	/* the peak: p2 on top of p1, inside "peak"; the process peak is that value, reached
	 * by the main thread inside the range */
	at_p1 = tu_query_intf(db,
			      "SELECT processBytes FROM " EV " WHERE s.value = 'malloc' AND "
			      "bytes = 1048576 AND " TID(e) " = %lld",
			      main_tid);
	at_p2 = tu_query_intf(db, "SELECT processBytes FROM " EV " WHERE s.value = 'calloc' AND "
				  "bytes = 2097152 AND memoryOperationType = 0");
	assert_int_equal(at_p2 - at_p1, ex(e, "usable_p2"));
	assert_int_equal(tu_query_intf(db,
				       "SELECT peakBytes FROM GPROF_HOST_MEMORY_PROCESSES WHERE "
				       "(globalPid >> 24 & 16777215) = %lld",
				       main_tid),
			 at_p2);
	assert_int_equal(
	    tu_query_intf(db,
			  "SELECT count(*) FROM GPROF_HOST_MEMORY_PROCESSES p, NVTX_EVENTS n "
			  "LEFT JOIN StringIds t ON t.id = n.textId WHERE "
			  "coalesce(n.text, t.value) = 'peak' "
			  "AND p.peakTime BETWEEN n.start AND n.end AND "
			  "(p.peakGlobalTid & 16777215) = %lld",
			  main_tid),
	    1);
	/* frees give the bytes back exactly */
	before =
	    tu_query_intf(db, "SELECT processBytes FROM " EV " WHERE s.value = 'free' AND bytes = "
			      "1048576");
	assert_int_equal(at_p1 - ex(e, "usable_p1"), before);

	/* the leak: allocated inside "leaky", never freed */
	assert_int_equal(tu_query_intf(db,
				       "SELECT count(*) FROM " EV
				       " WHERE address = %lld AND bytes = "
				       "100000 AND memoryOperationType = 0",
				       ex(e, "leak_addr")),
			 1);
	assert_int_equal(
	    tu_query_intf(db,
			  "SELECT count(*) FROM GPROF_HOST_MEMORY_EVENTS WHERE address = "
			  "%lld AND memoryOperationType = 1 AND bytes = 100000",
			  ex(e, "leak_addr")),
	    0);

	/* realloc growth: 8192 -> 16384 -> 65536: two frees and two allocs named realloc */
	assert_int_equal(tu_query_intf(db,
				       "SELECT count(*) FROM " EV " WHERE s.value = 'realloc' "
				       "AND memoryOperationType = 0 AND bytes IN (16384, 65536)"),
			 2);
	assert_int_equal(tu_query_intf(db,
				       "SELECT count(*) FROM " EV " WHERE s.value = 'realloc' "
				       "AND memoryOperationType = 1 AND bytes IN (8192, 16384)"),
			 2);
	assert_int_equal(tu_query_intf(db,
				       "SELECT usableBytes FROM " EV " WHERE s.value = "
				       "'realloc' AND memoryOperationType = 0 AND bytes = 65536"),
			 ex(e, "usable_g3"));
	assert_int_equal(tu_query_intf(db, "SELECT count(*) FROM " EV " WHERE s.value IN "
					   "('posix_memalign', 'aligned_alloc')"),
			 2);
	assert_int_equal(ex(e, "aligned"), 1);

	/* an anonymous mapping and its unmapping in two halves */
	assert_int_equal(tu_query_intf(db, "SELECT count(*) FROM " EV " WHERE s.value = 'mmap' AND "
					   "bytes = 262144 AND usableBytes = 262144"),
			 1);
	assert_int_equal(tu_query_intf(db, "SELECT sum(bytes) FROM " EV " WHERE s.value = "
					   "'munmap' AND memoryOperationType = 1"),
			 262144);
	/* the PROT_NONE reservation of 1 GiB is not memory in use */
	assert_int_equal(tu_query_int(db, "SELECT count(*) FROM GPROF_HOST_MEMORY_EVENTS WHERE "
					  "bytes >= 1073741824"),
			 0);

	/* A allocates 32 blocks, B frees them: the same addresses, the bytes on each side */
	assert_int_equal(tu_query_intf(db,
				       "SELECT count(*) FROM GPROF_HOST_MEMORY_EVENTS a JOIN "
				       "GPROF_HOST_MEMORY_EVENTS b ON a.address = b.address AND "
				       "b.start > a.start WHERE a.memoryOperationType = 0 AND "
				       "b.memoryOperationType = 1 AND a.bytes = 10000 AND "
				       "(a.globalTid & 16777215) = %lld AND "
				       "(b.globalTid & 16777215) = %lld",
				       ta, tb),
			 32);
	assert_int_equal(tu_query_intf(db,
				       "SELECT currentBytes FROM GPROF_HOST_MEMORY_THREADS WHERE "
				       "(globalTid & 16777215) = %lld",
				       ta),
			 32 * u10000);
	assert_int_equal(tu_query_intf(db,
				       "SELECT currentBytes FROM GPROF_HOST_MEMORY_THREADS WHERE "
				       "(globalTid & 16777215) = %lld",
				       tb),
			 -32 * u10000);

	/* below the threshold: exact counts and bytes of thread S, no event */
	assert_int_equal(
	    tu_query_intf(db,
			  "SELECT count(*) FROM GPROF_HOST_MEMORY_THREADS WHERE "
			  "(globalTid & 16777215) = %lld AND allocs = 1010 AND frees = 1000 "
			  "AND belowAllocs = 1010 AND belowFrees = 1000 AND "
			  "allocBytes = %lld AND freeBytes = %lld AND currentBytes = %lld "
			  "AND peakBytes = %lld",
			  ts, 1000 * u32 + 10 * u48, 1000 * u32, 10 * u48,
			  10 * u48 > u32 ? 10 * u48 : u32),
	    1);
	assert_int_equal(tu_query_intf(db,
				       "SELECT count(*) FROM GPROF_HOST_MEMORY_EVENTS WHERE "
				       "(globalTid & 16777215) = %lld",
				       ts),
			 0);

	/* the process's totals add up: start + allocated - freed = current, and the threads'
	 * rows sum to the process's */
	assert_int_equal(tu_query_int(db, "SELECT count(*) FROM GPROF_HOST_MEMORY_PROCESSES WHERE "
					  "startBytes + allocBytes - freeBytes != currentBytes"),
			 0);
	assert_int_equal(
	    tu_query_int(db, "SELECT count(*) FROM GPROF_HOST_MEMORY_PROCESSES p WHERE allocs != "
			     "(SELECT sum(allocs) FROM GPROF_HOST_MEMORY_THREADS t WHERE "
			     "(t.globalTid >> 24) = (p.globalPid >> 24)) OR belowFreeBytes != "
			     "(SELECT sum(belowFreeBytes) FROM GPROF_HOST_MEMORY_THREADS t WHERE "
			     "(t.globalTid >> 24) = (p.globalPid >> 24))"),
	    0);
	assert_int_equal(tu_query_int(db, "SELECT count(*) FROM GPROF_HOST_MEMORY_PROCESSES WHERE "
					  "untrackedBlocks != 0"),
			 0);

	if (forked) {
		long long child = ex(e, "child_pid");
		long long start =
		    tu_query_intf(db,
				  "SELECT startBytes FROM GPROF_HOST_MEMORY_PROCESSES "
				  "WHERE (globalPid >> 24 & 16777215) = %lld",
				  child);

		/* the child starts with its parent's bytes, its alloc is its own */
		assert_true(start > 0);
		assert_int_equal(
		    tu_query_intf(db,
				  "SELECT processBytes FROM GPROF_HOST_MEMORY_EVENTS "
				  "WHERE (globalTid >> 24 & 16777215) = %lld AND bytes = "
				  "300000",
				  child),
		    start + ex(e, "usable_child"));
		assert_int_equal(
		    tu_query_intf(db,
				  "SELECT peakBytes - startBytes FROM "
				  "GPROF_HOST_MEMORY_PROCESSES WHERE (globalPid >> 24 & "
				  "16777215) = %lld",
				  child),
		    ex(e, "usable_child"));
	}
}

static void test_patterns(void **state)
{
	char db[PATH_MAX];
	struct expect e;
	const char *extra[] = {"--trace-fork-before-exec=true", NULL};

	profile(*state, extra, "fork", db, &e);
	check_patterns(db, &e, 1);
	/* the call sites: return addresses into hostmem_app */
	assert_int_equal(tu_query_int(db, "SELECT count(*) FROM GPROF_HOST_MEMORY_EVENTS WHERE "
					  "bytes = 1048576 AND callerAddress IS NULL"),
			 0);

	/* the stats reports: the host peak owned by "peak", the leak inside "leaky" */
	struct tu_run *r = calloc(1, sizeof(*r));
	const char *args[] = {"stats", "-r", "cpu_mem_peak,mem_peak", "-f", "csv", db, NULL};
	char want[256];
	assert_non_null(r);
	tu_run_in(r, gprof, *state, args);
	tu_assert_status(r, 0);
	snprintf(want, sizeof(want), "host,%lld,peak,", ex(&e, "tid_main"));
	const char *row = strstr(r->out, want);
	assert_non_null(row);
	assert_true(strstr(row, ",:peak") && strstr(row, ",:peak") < strchr(row, '\n'));
	assert_non_null(strstr(r->out, ",1,:leaky"));
	assert_int_equal(tu_count_lines(r->out, "leak,"), 2); /* the leak, the child's */
	snprintf(want, sizeof(want), "%lld,:peak,1,", ex(&e, "tid_main"));
	assert_int_equal(tu_count_lines(r->out, want), 1);
	assert_non_null(strstr(strstr(r->out, want), ",Yes,"));
	free(r);
}

/* A threshold above the leak: the leak is counted, not recorded; p1, p2 and the
 * mapping are. */
static void test_threshold(void **state)
{
	char db[PATH_MAX];
	struct expect e;
	const char *extra[] = {"--host-memory-threshold=200000", NULL};

	profile(*state, extra, NULL, db, &e);
	assert_int_equal(tu_query_int(db, "SELECT count(*) FROM GPROF_HOST_MEMORY_EVENTS WHERE "
					  "memoryOperationType = 0 AND bytes < 200000"),
			 0);
	assert_int_equal(tu_query_int(db, "SELECT count(*) FROM GPROF_HOST_MEMORY_EVENTS WHERE "
					  "memoryOperationType = 0"),
			 3);
	assert_int_equal(tu_query_int(db, "SELECT threshold FROM GPROF_HOST_MEMORY_PROCESSES"),
			 200000);
	/* the peak is the same whether its calls are recorded or not: p1 + p2 + what was in
	 * use before, and the leak below the threshold is in it */
	long long peak = tu_query_int(db, "SELECT peakBytes FROM GPROF_HOST_MEMORY_PROCESSES");
	long long at_p2 =
	    tu_query_int(db, "SELECT processBytes FROM GPROF_HOST_MEMORY_EVENTS WHERE "
			     "bytes = 2097152 AND memoryOperationType = 0");
	assert_int_equal(peak, at_p2);
	assert_int_equal(tu_query_int(db, "SELECT belowAllocs FROM GPROF_HOST_MEMORY_PROCESSES") +
			     3,
			 tu_query_int(db, "SELECT allocs FROM GPROF_HOST_MEMORY_PROCESSES"));
}

/* export --type mem-svg: a picture with the host line, the ranges, the legend; refused
 * without data and over an existing file without -f; the timeline export has the host
 * memory counter track of each process. */
static void test_pictures(void **state)
{
	char db[PATH_MAX], svg[PATH_MAX], json[PATH_MAX], *text;
	struct expect e;
	struct tu_run *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	profile(*state, NULL, NULL, db, &e);
	tu_pathf(svg, *state, "mem.svg");
	const char *a1[] = {"export", "--type", "mem-svg", "-o", svg, db, NULL};
	tu_run_in(r, gprof, *state, a1);
	tu_assert_status(r, 0);
	text = tu_slurp(svg, NULL);
	assert_non_null(text);
	assert_non_null(strstr(text, "<svg"));
	assert_non_null(strstr(text, "</svg>"));
	char want[64];
	snprintf(want, sizeof(want), "host pid %lld (peak ", ex(&e, "tid_main"));
	assert_non_null(strstr(text, want));
	assert_non_null(strstr(text, "<title>:cross") || strstr(text, "<title>cross"));
	assert_true(tu_count_lines(text, "<line ") > 10);
	free(text);
	/* an existing file is kept without -f */
	tu_run_in(r, gprof, *state, a1);
	tu_assert_status(r, 4);
	/* the timeline: a "Host memory in use" counter with the exact peak among its values */
	tu_pathf(json, *state, "t.json");
	const char *a2[] = {"export", "--type", "chrome-json", "-o", json, db, NULL};
	tu_run_in(r, gprof, *state, a2);
	tu_assert_status(r, 0);
	text = tu_slurp(json, NULL);
	assert_non_null(text);
	assert_non_null(strstr(text, "Host memory in use"));
	snprintf(want, sizeof(want), "%lld",
		 tu_query_int(db, "SELECT peakBytes FROM GPROF_HOST_MEMORY_PROCESSES"));
	assert_non_null(strstr(text, want));
	free(text);
	free(r);
}

static void test_off(void **state)
{
	char out[PATH_MAX - 8], exp[PATH_MAX], db[PATH_MAX], svg[PATH_MAX];
	struct tu_run *r = calloc(1, sizeof(*r));
	const char *args[] = {"profile", "-t", "nvtx", "-o", out, app, exp, NULL};

	assert_non_null(r);
	tu_pathf(out, *state, "run");
	tu_pathf(exp, *state, "expect.txt");
	tu_run_in(r, gprof, *state, args);
	tu_assert_status(r, 0);
	snprintf(db, sizeof(db), "%s.db", out);
	assert_int_equal(tu_query_int(db, "SELECT count(*) FROM sqlite_master WHERE name LIKE "
					  "'GPROF_HOST_MEMORY%'"),
			 0);
	/* no memory data: the picture is one error line, exit 3, no file */
	tu_pathf(svg, *state, "none.svg");
	const char *a1[] = {"export", "--type", "mem-svg", "-o", svg, db, NULL};
	tu_run_in(r, gprof, *state, a1);
	tu_assert_status(r, 3);
	tu_assert_one_error(r, "no memory usage data");
	assert_false(tu_exists(svg));
	free(r);
}

/* Another allocator preloaded: its heap mappings are not counted twice, the figures are
 * its usable sizes. */
static void with_allocator(void **state, const char *const *candidates, const char *what)
{
	char db[PATH_MAX], pre[PATH_MAX + 16];
	struct expect e;
	const char *lib = NULL;

	for (; *candidates; candidates++)
		if (access(*candidates, R_OK) == 0) {
			lib = *candidates;
			break;
		}
	if (!lib)
		TU_SKIP("%s is not installed (Debian: scripts/install-deps.sh installs it)", what);
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", lib);
	const char *extra[] = {"-e", pre, NULL};
	profile(*state, extra, NULL, db, &e);
	check_patterns(db, &e, 0);
}

static void test_jemalloc(void **state)
{
	static const char *const libs[] = {"/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
					   "/usr/lib/aarch64-linux-gnu/libjemalloc.so.2",
					   "/usr/lib64/libjemalloc.so.2", NULL};
	with_allocator(state, libs, "jemalloc (libjemalloc2)");
}

static void test_tcmalloc(void **state)
{
	static const char *const libs[] = {"/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4",
					   "/usr/lib/aarch64-linux-gnu/libtcmalloc_minimal.so.4",
					   "/usr/lib64/libtcmalloc_minimal.so.4", NULL};
	with_allocator(state, libs, "tcmalloc (libtcmalloc-minimal4)");
}

int main(void)
{
	const char *g = getenv("GPROF_CLI"), *b = getenv("BUILD");

	snprintf(gprof, sizeof(gprof), "%s", g ? g : "build/bin/gprof-cli");
	snprintf(app, sizeof(app), "%s/tests/programs/hostmem_app", b ? b : "build");
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_patterns, tu_setup_tmpdir, tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_threshold, tu_setup_tmpdir, tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_pictures, tu_setup_tmpdir, tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_off, tu_setup_tmpdir, tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_jemalloc, tu_setup_tmpdir, tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_tcmalloc, tu_setup_tmpdir, tu_teardown_tmpdir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
