/*
 * benchutil.c - helpers shared by the benchmarks; contracts in benchutil.h.
 */
#include <limits.h>
#include <sched.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nvtx3/nvToolsExt.h>

#include "bench/benchutil.h"
#include "core/util.h"

int bench_find_lib(char *self, char *lib, size_t size, const char *name)
{
	ssize_t n = readlink("/proc/self/exe", self, size - 1);
	char *slash;

	if (n <= 0)
		die("cannot read '/proc/self/exe'");
	self[n] = '\0';
	snprintf(lib, size, "%s", self);
	slash = strrchr(lib, '/');
	*slash = '\0';
	slash = strrchr(lib, '/');
	snprintf(slash ? slash : lib, size - (size_t)((slash ? slash : lib) - lib),
		 "/lib/gprof-cli/%s", name);
	if (access(lib, R_OK) != 0) {
		error("cannot find the injection library '%s'", lib);
		hint("build it first: make");
		return -1;
	}
	return 0;
}

static cpu_set_t pin_saved;
static int pin_have;

void bench_pin_cpu0(void)
{
	if (sysconf(_SC_NPROCESSORS_ONLN) > 1) {
		cpu_set_t set;

		pin_have = sched_getaffinity(0, sizeof(pin_saved), &pin_saved) == 0;
		CPU_ZERO(&set);
		CPU_SET(0, &set);
		sched_setaffinity(0, sizeof(set), &set);
	}
}

void bench_unpin(void)
{
	if (pin_have)
		sched_setaffinity(0, sizeof(pin_saved), &pin_saved);
}

double bench_child_ns(const char *self, char *const args[], char *const env[])
{
	double second;

	return bench_child_ns2(self, args, env, &second);
}

double bench_child_ns2(const char *self, char *const args[], char *const env[], double *second)
{
	int p[2], st, n = 0;
	char buf[64] = {0};
	char *argv[16];
	ssize_t got;
	pid_t pid;

	argv[n++] = (char *)self;
	argv[n++] = "--child";
	for (; args && *args && n < 15; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	if (pipe(p) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

		if (ncpu > 1) {
			cpu_set_t set;

			CPU_ZERO(&set);
			for (long c = 1; c < ncpu && c < CPU_SETSIZE; c++)
				CPU_SET(c, &set);
			sched_setaffinity(0, sizeof(set), &set);
		}
		dup2(p[1], 1);
		close(p[0]);
		for (int i = 0; env && env[i]; i++)
			putenv(env[i]);
		execv(self, argv);
		_exit(127);
	}
	close(p[1]);
	got = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	waitpid(pid, &st, 0);
	*second = -1;
	if (got <= 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	{
		char *end;
		double first = strtod(buf, &end);

		if (end != buf && *end == ' ')
			*second = strtod(end, NULL);
		return first;
	}
}

long long bench_query_int(const char *path, const char *sql)
{
	long long v = -1;
	sqlite3 *db;
	sqlite3_stmt *s;

	if (sqlite3_open(path, &db) == SQLITE_OK) {
		if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
			if (sqlite3_step(s) == SQLITE_ROW)
				v = sqlite3_column_int64(s, 0);
			sqlite3_finalize(s);
		}
	}
	sqlite3_close(db);
	return v;
}

double bench_nvtx_pairs_best(long pairs, int reps, long pause_ns)
{
	double best = 1e30;

	for (int r = 0; r < reps; r++) {
		uint64_t t0 = gp_monotonic_ns();
		for (long i = 0; i < pairs; i++) {
			nvtxRangePushA("bench");
			nvtxRangePop();
		}
		double ns = (double)(gp_monotonic_ns() - t0) / (double)pairs;
		if (r > 0 && ns < best)
			best = ns;
		struct timespec pause = {0, pause_ns};
		nanosleep(&pause, NULL);
	}
	return best;
}

long bench_vm_hwm_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void exec_or_die(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		die("bench: %s", err);
}

void bench_make_launch_report(const char *path, long n)
{
	sqlite3 *db;
	sqlite3_stmt *nv, *rt, *k;
	long iters = n / 3;
	const long long gtid = (1LL << 48) | (4242LL << 24) | 4242,
			gpid = (1LL << 48) | (4242LL << 24);

	unlink(path);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		die("bench: cannot create '%s'", path);
	exec_or_die(db,
		    "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; BEGIN;"
		    "CREATE TABLE StringIds (id INTEGER NOT NULL PRIMARY KEY, value TEXT NOT NULL);"
		    "INSERT INTO StringIds VALUES (1,'cudaLaunchKernel'),(2,'tiny(float *, int)'),"
		    " (3,'tiny'),(4,'_Z4tinyPfi'),(5,'iteration');"
		    "CREATE TABLE PROCESSES (globalPid INTEGER, pid INTEGER, name TEXT);"
		    "INSERT INTO PROCESSES VALUES (281492157145088, 4242, 'bench');"
		    "CREATE TABLE ThreadNames (nameId INTEGER NOT NULL, priority INTEGER,"
		    " globalTid INTEGER);"
		    "CREATE TABLE TARGET_INFO_SESSION_START_TIME (utcEpochNs INTEGER, utcTime TEXT,"
		    " localTime TEXT);"
		    "INSERT INTO TARGET_INFO_SESSION_START_TIME VALUES (1700000000000000000,'','');"
		    "CREATE TABLE NVTX_EVENTS (start INTEGER NOT NULL, end INTEGER, eventType "
		    "INTEGER NOT NULL, rangeId INTEGER, category INTEGER, color INTEGER, text TEXT,"
		    " globalTid INTEGER, endGlobalTid INTEGER, textId INTEGER, domainId INTEGER,"
		    " uint64Value INTEGER, int64Value INTEGER, doubleValue REAL, uint32Value"
		    " INTEGER, int32Value INTEGER, floatValue REAL, jsonTextId INTEGER, jsonText"
		    " TEXT, binaryData TEXT);"
		    "CREATE TABLE CUPTI_ACTIVITY_KIND_RUNTIME (start INTEGER NOT NULL, end INTEGER"
		    " NOT NULL, eventClass INTEGER NOT NULL, globalTid INTEGER, correlationId"
		    " INTEGER, nameId INTEGER NOT NULL, returnValue INTEGER NOT NULL, callchainId"
		    " INTEGER);"
		    "CREATE TABLE CUPTI_ACTIVITY_KIND_KERNEL (start INTEGER NOT NULL, end INTEGER"
		    " NOT NULL, deviceId INTEGER NOT NULL, contextId INTEGER NOT NULL,"
		    " greenContextId INTEGER, streamId INTEGER NOT NULL, correlationId INTEGER,"
		    " globalPid INTEGER, demangledName INTEGER NOT NULL, shortName INTEGER NOT"
		    " NULL, mangledName INTEGER, launchType INTEGER, cacheConfig INTEGER,"
		    " registersPerThread INTEGER NOT NULL, gridX INTEGER NOT NULL, gridY INTEGER"
		    " NOT NULL, gridZ INTEGER NOT NULL, blockX INTEGER NOT NULL, blockY INTEGER"
		    " NOT NULL, blockZ INTEGER NOT NULL, staticSharedMemory INTEGER NOT NULL,"
		    " dynamicSharedMemory INTEGER NOT NULL, localMemoryPerThread INTEGER NOT NULL,"
		    " localMemoryTotal INTEGER NOT NULL, gridId INTEGER NOT NULL,"
		    " sharedMemoryExecuted INTEGER, graphNodeId INTEGER, sharedMemoryLimitConfig"
		    " INTEGER);");
	if (sqlite3_prepare_v2(db,
			       "INSERT INTO NVTX_EVENTS (start, end, eventType, text, globalTid,"
			       " domainId) VALUES (?, ?, 59, 'iteration', ?, 0)",
			       -1, &nv, NULL) ||
	    sqlite3_prepare_v2(
		db,
		"INSERT INTO CUPTI_ACTIVITY_KIND_RUNTIME VALUES (?, ?, 0, ?, ?, 1, 0,"
		" NULL)",
		-1, &rt, NULL) ||
	    sqlite3_prepare_v2(
		db,
		"INSERT INTO CUPTI_ACTIVITY_KIND_KERNEL VALUES (?, ?, 0, 1, 0, 13, ?,"
		" ?, 2, 3, 4, 1, 0, 16, 256, 1, 1, 256, 1, 1, 0, 0, 0, 155713536, ?,"
		" 32768, NULL, 0)",
		-1, &k, NULL))
		die("bench: %s", sqlite3_errmsg(db));
	for (long i = 0; i < iters; i++) {
		long long t = 1000000 + i * 6000LL; /* an iteration every 6 µs */

		sqlite3_bind_int64(nv, 1, t);
		sqlite3_bind_int64(nv, 2, t + 5000);
		sqlite3_bind_int64(nv, 3, gtid);
		sqlite3_step(nv);
		sqlite3_reset(nv);
		sqlite3_bind_int64(rt, 1, t + 500);
		sqlite3_bind_int64(rt, 2, t + 3000);
		sqlite3_bind_int64(rt, 3, gtid);
		sqlite3_bind_int64(rt, 4, i + 1);
		sqlite3_step(rt);
		sqlite3_reset(rt);
		sqlite3_bind_int64(k, 1, t + 3500);
		sqlite3_bind_int64(k, 2, t + 5500);
		sqlite3_bind_int64(k, 3, i + 1);
		sqlite3_bind_int64(k, 4, gpid);
		sqlite3_bind_int64(k, 5, i + 1);
		sqlite3_step(k);
		sqlite3_reset(k);
	}
	sqlite3_finalize(nv);
	sqlite3_finalize(rt);
	sqlite3_finalize(k);
	exec_or_die(db, "COMMIT;");
	sqlite3_close(db);
}

/* Does the first `limit` bytes of file `path` contain `what`? */
static int file_contains(const char *path, const char *what, size_t limit)
{
	char *buf = malloc(limit + 1);
	FILE *f = fopen(path, "r");
	size_t n = 0;
	int found = 0;

	if (buf && f) {
		n = fread(buf, 1, limit, f);
		buf[n] = 0;
		found = strstr(buf, what) != NULL;
	}
	if (f)
		fclose(f);
	free(buf);
	return found;
}

void bench_print_clock(void)
{
	char src[64] = "?";
	FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
	int ctsc = file_contains("/proc/cpuinfo", " constant_tsc", 16384);
	int ntsc = file_contains("/proc/cpuinfo", " nonstop_tsc", 16384);

	if (f) {
		if (fgets(src, sizeof(src), f))
			src[strcspn(src, "\n")] = 0;
		fclose(f);
	}
	const char *e = getenv("GPROF_CLI_TSC");
	int tsc =
	    !(e && *e == '0') && ((e && *e == '1') || !strncmp(src, "tsc", 3)) && ctsc && ntsc;

	printf("clock: clocksource %s, constant_tsc %s, nonstop_tsc %s%s: the producer reads %s\n",
	       src, ctsc ? "yes" : "no", ntsc ? "yes" : "no",
	       e && *e ? (*e == '1' ? ", GPROF_CLI_TSC=1" : ", GPROF_CLI_TSC=0") : "",
	       tsc ? "the TSC" : "clock_gettime");
}
