/*
 * test_cudalibs.c - end-to-end tests of the cuBLAS/cuDNN collector (collectors/cudalibs.c,
 * `gprof-cli profile -t cublas,cudnn`): profiles tests/programs/cudalibs_app, which loads
 * an extension library with dlopen(RTLD_LOCAL) whose dependencies are fake
 * libcublas.so.13, libcublasLt.so.13 and libcudnn.so.9 (tests/programs/cudalibs: the real
 * sonames, prototypes and symbol versions), and checks the report's NVTX_EVENTS rows
 * against what nsys 2025.3 writes for -t cublas: one NvtxDomainCreate row (eventType 75)
 * 'cuBLAS' / 'cuDNN', one push/pop range (eventType 59) per call with textId -> the
 * function's name, the domain's domainId and the calling thread's globalTid.
 *
 * What cudalibs_app calls (tests/programs/cudalibs/fake_ext.c), ITERS = 5:
 *   main thread    cublasCreate_v2, cublasSetStream_v2, 5 x cublasSgemm_v2 (each calls
 *                  cublasLtMatmul inside the fake cuBLAS: not an API call of the app),
 *                  cublasLtCreate, cublasLtMatmul, cublasLtDestroy, cublasCdotu,
 *                  cublasDestroy_v2                                   -> 12 cuBLAS rows
 *   worker thread  cudnnCreate, cudnnSetStream, cudnnCreateActivationDescriptor,
 *                  cudnnSetActivationDescriptor, cudnnGetActivationDescriptor,
 *                  cudnnDestroyActivationDescriptor, cudnnBackendExecute, cudnnDestroy
 *                                                                     -> 8 cuDNN rows
 * It exits 1 when a call through the wrappers returned a wrong value, and writes
 * "<main tid> <worker tid> <preloaded>" to the file named by its first argument.
 * Where the real cuBLAS 13 / cuDNN 9 are installed, test_real_libraries also runs
 * tests/programs/cudalibs/real_app against them (skipped elsewhere).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/testutil.h"

#define ITERS  5
#define N_BLAS 12 /* cuBLAS rows of one run (above) */
#define N_DNN  8  /* cuDNN rows */

static char gprof[PATH_MAX];
static char app[PATH_MAX];

/* The folder of path, in a static buffer. */
static const char *dirname_of(const char *path)
{
	static char buf[PATH_MAX];
	char *slash;

	snprintf(buf, sizeof(buf), "%s", path);
	slash = strrchr(buf, '/');
	if (slash)
		*slash = '\0';
	return buf;
}

/* What cudalibs_app wrote: its two threads' ids and whether the collector was mapped. */
struct app_out {
	long main_tid, worker_tid;
	int preloaded;
};

/* Profile cudalibs_app with -t trace (and `more`, one more profile option, unless NULL)
 * into dir/r.db, the app's own arguments after OUT being app_args (ITERS [fork]); assert
 * that gprof-cli and the app succeeded and read the app's line into *o. */
static void profile_with(const char *dir, const char *trace, const char *more, const char *app_args,
			 struct app_out *o)
{
	char out[PATH_MAX], err[PATH_MAX], rep[PATH_MAX], line[PATH_MAX], buf[256];
	char iters[16], mode[16];
	const char *args[12];
	struct tu_run r;
	int k = 0, n = sscanf(app_args, "%15s %15s", iters, mode);

	assert_true(n >= 1);
	tu_pathf(rep, dir, "r");
	tu_pathf(line, dir, "app.txt");
	args[k++] = "profile";
	args[k++] = "-t";
	args[k++] = trace;
	if (more)
		args[k++] = more;
	args[k++] = "-o";
	args[k++] = rep;
	args[k++] = app;
	args[k++] = line;
	args[k++] = iters;
	if (n > 1)
		args[k++] = mode;
	args[k] = NULL;
	snprintf(out, sizeof(out), "%s.out", dir);
	snprintf(err, sizeof(err), "%s.err", dir);
	tu_finish(tu_spawn(gprof, args, NULL, out, err), &r, out, err);
	tu_assert_status(&r, 0);
	tu_read_file(line, buf, sizeof(buf));
	assert_int_equal(sscanf(buf, "%ld %ld %d", &o->main_tid, &o->worker_tid, &o->preloaded), 3);
}

/* profile_with() with no more option and the default ITERS. */
static void profile(const char *dir, const char *trace, struct app_out *o)
{
	profile_with(dir, trace, NULL, "5", o);
}

static long long q(const char *dir, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One integer from the report dir/r.db. */
static long long q(const char *dir, const char *fmt, ...)
{
	char db[PATH_MAX], sql[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	return tu_query_int(tu_pathf(db, dir, "r.db"), sql);
}

/* Push/pop rows named `name` in the domain created with the name `domain`. */
static long long calls(const char *dir, const char *domain, const char *name)
{
	return q(dir,
		 "SELECT count(*) FROM NVTX_EVENTS e JOIN StringIds s ON s.id = e.textId "
		 "WHERE e.eventType = 59 AND s.value = '%s' AND e.domainId = (SELECT domainId "
		 "FROM NVTX_EVENTS WHERE eventType = 75 AND text = '%s')",
		 name, domain);
}

/* The rows of one domain, as nsys writes them: one create row before every range, ranges
 * with textId (text NULL), start < end, all on thread tid of process pid (globalTid). */
static void check_domain(const char *dir, const char *domain, long long n, long tid)
{
	char sel[256];

	snprintf(sel, sizeof(sel),
		 "FROM NVTX_EVENTS WHERE eventType = 59 AND domainId = (SELECT domainId FROM "
		 "NVTX_EVENTS WHERE eventType = 75 AND text = '%s')",
		 domain);
	assert_int_equal(q(dir,
			   "SELECT count(*) FROM NVTX_EVENTS WHERE eventType = 75 AND "
			   "text = '%s' AND textId IS NULL AND end IS NULL",
			   domain),
			 1);
	assert_int_equal(q(dir, "SELECT count(*) %s", sel), n);
	assert_int_equal(q(dir,
			   "SELECT count(*) %s AND text IS NULL AND textId IS NOT NULL AND "
			   "start < end AND category IS NULL AND color IS NULL",
			   sel),
			 n);
	/* globalTid: tid in bits 0-23, pid in bits 24-47 (nsys), the pid being the app's */
	assert_int_equal(q(dir, "SELECT count(*) %s AND (globalTid & 16777215) = %ld", sel, tid),
			 n);
	assert_int_equal(q(dir, "SELECT count(DISTINCT globalTid >> 24) %s", sel), 1);
	assert_int_equal(
	    q(dir,
	      "SELECT count(*) %s AND ((globalTid >> 24) & 16777215) = (SELECT pid FROM "
	      "PROCESSES)",
	      sel),
	    n);
	/* the create row comes first */
	assert_int_equal(q(dir,
			   "SELECT count(*) %s AND start < (SELECT start FROM NVTX_EVENTS "
			   "WHERE eventType = 75 AND text = '%s')",
			   sel, domain),
			 0);
}

static void check_blas(const char *dir, long tid)
{
	check_domain(dir, "cuBLAS", N_BLAS, tid);
	assert_int_equal(calls(dir, "cuBLAS", "cublasCreate_v2"), 1);
	assert_int_equal(calls(dir, "cuBLAS", "cublasSetStream_v2"), 1);
	assert_int_equal(calls(dir, "cuBLAS", "cublasSgemm_v2"), ITERS);
	assert_int_equal(calls(dir, "cuBLAS", "cublasLtCreate"), 1);
	/* the app's own call only: the 5 made inside cublasSgemm_v2 are not API calls */
	assert_int_equal(calls(dir, "cuBLAS", "cublasLtMatmul"), 1);
	assert_int_equal(calls(dir, "cuBLAS", "cublasLtDestroy"), 1);
	assert_int_equal(calls(dir, "cuBLAS", "cublasCdotu"), 1);
	assert_int_equal(calls(dir, "cuBLAS", "cublasDestroy_v2"), 1);
	/* ranges of one thread do not overlap: no call was recorded inside another */
	assert_int_equal(q(dir,
			   "SELECT count(*) FROM NVTX_EVENTS a JOIN NVTX_EVENTS b ON "
			   "a.eventType = 59 AND b.eventType = 59 AND a.rowid < b.rowid AND "
			   "a.globalTid = b.globalTid AND a.start < b.end AND b.start < a.end"),
			 0);
}

static void check_dnn(const char *dir, long tid)
{
	static const char *const names[] = {
	    "cudnnCreate",
	    "cudnnSetStream",
	    "cudnnCreateActivationDescriptor",
	    "cudnnSetActivationDescriptor",
	    "cudnnGetActivationDescriptor",
	    "cudnnDestroyActivationDescriptor",
	    "cudnnBackendExecute",
	    "cudnnDestroy",
	};

	check_domain(dir, "cuDNN", N_DNN, tid);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_int_equal(calls(dir, "cuDNN", names[i]), 1);
}

/* -t cublas,cudnn,nvtx: both domains, each call once, on the thread that made it. */
static void test_cublas_cudnn(void **state)
{
	const char *dir = *state;
	struct app_out o;

	profile(dir, "cublas,cudnn,nvtx", &o);
	assert_int_equal(o.preloaded, 1);
	check_blas(dir, o.main_tid);
	check_dnn(dir, o.worker_tid);
	assert_int_equal(q(dir, "SELECT count(*) FROM NVTX_EVENTS WHERE eventType = 75"), 2);
	assert_int_equal(q(dir, "SELECT count(*) FROM NVTX_EVENTS"), 2 + N_BLAS + N_DNN);
	/* the two domains have their own domainId */
	assert_int_equal(q(dir, "SELECT count(DISTINCT domainId) FROM NVTX_EVENTS"), 2);
	/* one string per function name, shared by its rows */
	assert_int_equal(q(dir, "SELECT count(DISTINCT textId) FROM NVTX_EVENTS WHERE "
				"eventType = 59"),
			 8 + N_DNN);
}

/* -t cublas,nvtx: cuDNN's wrappers forward without recording (the app checks results). */
static void test_cublas_only(void **state)
{
	const char *dir = *state;
	struct app_out o;

	profile(dir, "cublas,nvtx", &o);
	assert_int_equal(o.preloaded, 1);
	check_blas(dir, o.main_tid);
	assert_int_equal(q(dir, "SELECT count(*) FROM NVTX_EVENTS"), 1 + N_BLAS);
}

/* -t cudnn: cuDNN rows only, on the worker thread. */
static void test_cudnn_only(void **state)
{
	const char *dir = *state;
	struct app_out o;

	profile(dir, "cudnn", &o);
	assert_int_equal(o.preloaded, 1);
	check_dnn(dir, o.worker_tid);
	assert_int_equal(q(dir, "SELECT count(*) FROM NVTX_EVENTS"), 1 + N_DNN);
}

/* Without cublas/cudnn the collector is not even loaded and nothing is recorded. */
static void test_not_traced(void **state)
{
	const char *dir = *state;
	struct app_out o;

	profile(dir, "nvtx,osrt", &o);
	assert_int_equal(o.preloaded, 0);
	assert_int_equal(q(dir, "SELECT count(*) FROM sqlite_master WHERE name = 'NVTX_EVENTS'") ==
				 0 ||
			     q(dir, "SELECT count(*) FROM NVTX_EVENTS") == 0,
			 1);
}

/* With osrt (both LD_PRELOAD'd): the same rows; the collector's own work (its socket,
 * its flushes) is not the application's OS runtime calls. */
static void test_with_osrt(void **state)
{
	const char *dir = *state;
	struct app_out o;

	profile(dir, "cublas,cudnn,nvtx,osrt", &o);
	assert_int_equal(o.preloaded, 1);
	check_blas(dir, o.main_tid);
	check_dnn(dir, o.worker_tid);
	assert_int_equal(q(dir, "SELECT count(*) FROM OSRT_API o JOIN StringIds s ON "
				"s.id = o.nameId WHERE s.value IN ('socket', 'connect', 'sendmsg', "
				"'sendto', 'send')"),
			 0);
}

/* stats -r nvtx_sum lists the calls as "<domain>:<function>", as nsys does. */
static void test_nvtx_sum(void **state)
{
	const char *dir = *state;
	char rep[PATH_MAX], out[PATH_MAX], err[PATH_MAX];
	struct app_out o;
	struct tu_run r;

	profile(dir, "cublas,cudnn", &o);
	tu_pathf(rep, dir, "r.db");
	const char *args[] = {"stats", "-r", "nvtx_sum", "-f", "csv", rep, NULL};
	snprintf(out, sizeof(out), "%s.out", dir);
	snprintf(err, sizeof(err), "%s.err", dir);
	tu_finish(tu_spawn(gprof, args, NULL, out, err), &r, out, err);
	tu_assert_status(&r, 0);
	/* csv: Time,Total Time,Instances,Avg,Med,Min,Max,StdDev,Style,Range */
	const char *l = strstr(r.out, ",PushPop,cuBLAS:cublasSgemm_v2");
	assert_non_null(l);
	while (l > r.out && l[-1] != '\n')
		l--;
	long long n = 0;
	assert_int_equal(sscanf(l, "%*[^,],%*[^,],%lld,", &n), 1);
	assert_int_equal(n, ITERS);
	assert_non_null(strstr(r.out, ",PushPop,cuDNN:cudnnBackendExecute"));
	int rows = 0;
	for (const char *p = r.out; (p = strstr(p, ",PushPop,")); p++)
		rows++;
	assert_int_equal(rows, 8 + N_DNN); /* one row per function */
}

/* --trace-fork-before-exec=true: the cuDNN calls of a forked child are recorded in the
 * child's process, after a domain-create row of its own (its connection is new); the
 * parent's cuBLAS rows stay in the parent. */
static void test_fork_child(void **state)
{
	const char *dir = *state;
	struct app_out o;

	profile_with(dir, "cublas,cudnn", "--trace-fork-before-exec=true", "5 fork", &o);
	assert_int_equal(o.preloaded, 1);
	assert_int_equal(q(dir, "SELECT count(*) FROM PROCESSES"), 2);
	assert_int_equal(q(dir,
			   "SELECT count(*) FROM NVTX_EVENTS e JOIN StringIds s ON "
			   "s.id = e.textId WHERE e.eventType = 59 AND s.value LIKE 'cublas%%' "
			   "AND (e.globalTid & 16777215) = %ld AND "
			   "((e.globalTid >> 24) & 16777215) = %ld",
			   o.main_tid, o.main_tid),
			 N_BLAS);
	/* the child: pid = tid = worker tid */
	assert_int_equal(q(dir,
			   "SELECT count(*) FROM NVTX_EVENTS e JOIN StringIds s ON "
			   "s.id = e.textId WHERE e.eventType = 59 AND s.value LIKE 'cudnn%%' "
			   "AND (e.globalTid & 16777215) = %ld AND "
			   "((e.globalTid >> 24) & 16777215) = %ld AND e.domainId = (SELECT "
			   "domainId FROM NVTX_EVENTS WHERE eventType = 75 AND text = 'cuDNN' "
			   "AND ((globalTid >> 24) & 16777215) = %ld)",
			   o.worker_tid, o.worker_tid, o.worker_tid),
			 N_DNN);
	assert_int_equal(q(dir, "SELECT count(*) FROM NVTX_EVENTS WHERE eventType = 75"), 2);
	assert_int_equal(q(dir, "SELECT count(*) FROM NVTX_EVENTS"), 2 + N_BLAS + N_DNN);
}

/* The real libraries where they are installed (build/tests/programs/cudalibs/real_app,
 * built by the Makefile only then): the wrappers find the real functions by their
 * symbol versions, the results are those of the run without them, and the calls are
 * recorded - cublasCreate_v2 and cudnnCreate once each, whatever they return (no GPU
 * here), and nothing the libraries call inside them. */
static void test_real_libraries(void **state)
{
	const char *dir = *state;
	char real[PATH_MAX + 32], rep[PATH_MAX], out[PATH_MAX], err[PATH_MAX];
	struct tu_run plain, r;

	snprintf(real, sizeof(real), "%s/cudalibs/real_app", dirname_of(app));
	if (!tu_exists(real))
		skip();
	snprintf(out, sizeof(out), "%s.out", dir);
	snprintf(err, sizeof(err), "%s.err", dir);
	const char *none[] = {NULL};
	tu_finish(tu_spawn(real, none, NULL, out, err), &plain, out, err);
	tu_assert_status(&plain, 0);
	assert_true(strlen(plain.out) > 10);
	const char *args[] = {"profile", "-t", "cublas,cudnn", "-o", tu_pathf(rep, dir, "r"),
			      real,	 NULL};
	tu_finish(tu_spawn(gprof, args, NULL, out, err), &r, out, err);
	tu_assert_status(&r, 0);
	assert_non_null(strstr(r.out, plain.out));
	assert_int_equal(calls(dir, "cuBLAS", "cublasGetProperty"), 2);
	assert_int_equal(calls(dir, "cuBLAS", "cublasLtGetVersion"), 1);
	assert_int_equal(calls(dir, "cuBLAS", "cublasGetStatusString"), 1);
	assert_int_equal(calls(dir, "cuBLAS", "cublasCreate_v2"), 1);
	assert_int_equal(calls(dir, "cuDNN", "cudnnGetVersion"), 1);
	assert_int_equal(calls(dir, "cuDNN", "cudnnGetErrorString"), 1);
	assert_int_equal(calls(dir, "cuDNN", "cudnnCreate"), 1);
	/* a handle was made only with a GPU: then its destroy call too */
	long long destroys = q(dir, "SELECT count(*) FROM NVTX_EVENTS e JOIN StringIds s ON "
				    "s.id = e.textId WHERE s.value IN ('cublasDestroy_v2', "
				    "'cudnnDestroy')");
	assert_int_equal(q(dir, "SELECT count(*) FROM NVTX_EVENTS WHERE eventType = 59"),
			 8 + destroys);
}

int main(void)
{
	const char *g = getenv("GPROF_CLI");
	const char *b = getenv("BUILD");
	char buf[PATH_MAX];

	if (!realpath(g && *g ? g : "build/bin/gprof-cli", gprof)) {
		fprintf(stderr, "test_cudalibs: gprof-cli not found (set GPROF_CLI)\n");
		return 1;
	}
	snprintf(buf, sizeof(buf), "%s/tests/programs/cudalibs_app", b && *b ? b : "build");
	if (!realpath(buf, app)) {
		fprintf(stderr, "test_cudalibs: '%s' not found (set BUILD)\n", buf);
		return 1;
	}
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, tu_setup_tmpdir, tu_teardown_tmpdir)
	    T(test_cublas_cudnn), T(test_cublas_only), T(test_cudnn_only), T(test_not_traced),
	    T(test_with_osrt),	  T(test_nvtx_sum),    T(test_fork_child), T(test_real_libraries),
#undef T
	};
	return cmocka_run_group_tests_name("cudalibs", tests, NULL, NULL);
}
