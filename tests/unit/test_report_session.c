/*
 * test_report_session.c - the session tables (core/report_session.c, core/report_sysenv.c)
 * on a real recorder: PROFILER_OVERHEAD from GP_REC_OVERHEAD records and the recorder's
 * commits, ProcessStreams and DIAGNOSTIC_EVENT from struct report_session and the loss
 * counters, TARGET_INFO_SYSTEM_ENV from this host; each table's columns as nsys 2025.3
 * declares them (the launchbench fixture).  CPU only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "core/recorder.h"
#include "core/report.h"
#include "core/report_session.h"
#include "core/util.h"
#include "core/wire.h"
#include "tests/testutil.h"

#define PID 5151u
#define TID 5152u
#define T0  2000000000ull /* session start (monotonic ns) */

enum { S_INIT = 1, S_FLUSH };

static void send_session(int fd)
{
	struct gp_rec_hello *hello = tu_add_rec(GP_REC_HELLO, sizeof(*hello), TID);
	hello->pid = PID;
	hello->ppid = 1;
	hello->collector = GP_COLLECTOR_OSRT;
	hello->start_ns = T0;
	tu_add_string(S_INIT, "Profiler connection set-up (libgprof-osrt.so)");
	tu_add_string(S_FLUSH, "Profiling data flush on process exit");

	struct gp_rec_overhead *o = tu_add_rec(GP_REC_OVERHEAD, sizeof(*o), TID);
	o->start_ns = T0 + 1000;
	o->end_ns = T0 + 3500;
	o->name_sid = S_INIT;
	o = tu_add_rec(GP_REC_OVERHEAD, sizeof(*o), TID + 1);
	o->start_ns = T0 + 900000;
	o->end_ns = T0 + 950000;
	o->name_sid = S_FLUSH;
	tu_send_frame(fd, PID, 0);
}

/* ---- fixture: one recorded session with session data ----------------------------------- */

static char dir[64], path[128];
static sqlite3 *db;
static const char out_text[] = "iters=3 ok\nline two\n";

static int setup(void **state)
{
	struct report_stream streams[2] = {{"stdout", out_text, sizeof(out_text) - 1},
					   {"stderr", "", 0}};
	struct report_diag diags[] = {
	    /* before the session: a negative timestamp */
	    {T0 - 500, REPORT_DIAG_DAEMON, REPORT_DIAG_WARNING, REPORT_DIAG_TS_TARGET, 0,
	     "NVTX_INJECTION64_PATH is already set"},
	    {T0 + 7000, REPORT_DIAG_INJECTION, REPORT_DIAG_ERROR, REPORT_DIAG_TS_TARGET, PID,
	     "cuda trace disabled: CUPTI not found; hint: install CUPTI"},
	};
	struct report_session sess = {PID, T0 + 100, streams, 2, diags, 2};
	/* two -t values with a check; the session has no record of either */
	static const struct recorder_expect expect[] = {{"cuda", 3}, {"gpu-metrics", 4}};
	struct recorder_config cfg;
	struct report_app_status app;
	struct recorder_stats st;
	struct recorder *rec;
	struct sockaddr_un sa;
	int fd;

	(void)state;
	strcpy(dir, "/tmp/gprof-test-session-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/r.db", dir);
	memset(&cfg, 0, sizeof(cfg));
	cfg.report_path = path;
	cfg.session_start_ns = T0;
	cfg.session_start_utc_ns = 1700000000000000000ll;
	cfg.expect = expect;
	cfg.n_expect = 2;
	assert_int_equal(recorder_start(&rec, &cfg), 0);
	fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", recorder_channel_path(rec));
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	send_session(fd);
	/* frame 5 after frame 0: 4 frames lost; and 12 records the producer dropped: two
	 * DIAGNOSTIC_EVENT warnings with their hints */
	struct gp_rec_loss *l = tu_add_rec(GP_REC_LOSS, sizeof(struct gp_rec_loss), TID);
	l->dropped_records = 12;
	tu_send_frame(fd, PID, 5);
	close(fd);
	memset(&app, 0, sizeof(app));
	app.pid = PID;
	app.end_ns = T0 + 1000000;
	app.session = &sess;
	assert_int_equal(recorder_finish(rec, &app, 2000, &st), 0);
	assert_int_equal(st.report.dropped_records, 12);
	recorder_stats_release(&st);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sqlite3_close(db);
	return tu_rm_rf(dir);
}

static int64_t q_int(const char *sql)
{
	return tu_db_row_int(db, sql);
}

static const char *q_text(const char *sql)
{
	return tu_db_row_text(db, sql);
}

/* "name:type:notnull,..." of a table, in column order. */
static const char *columns(const char *table)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
		 "SELECT group_concat(name || ':' || type || ':' || \"notnull\", ',') FROM "
		 "pragma_table_info('%s')",
		 table);
	return q_text(sql);
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_overhead(void **state)
{
	(void)state;
	assert_string_equal(columns("PROFILER_OVERHEAD"),
			    "start:INTEGER:1,end:INTEGER:1,globalTid:INTEGER:0,nameId:INTEGER:1,"
			    "returnValue:INTEGER:1");
	/* the collectors' ranges, in report time, on the thread that sent them */
	assert_int_equal(q_int("SELECT start * 10000 + end FROM PROFILER_OVERHEAD o JOIN StringIds "
			       "s ON s.id = o.nameId WHERE s.value LIKE 'Profiler connection%'"),
			 1000 * 10000 + 3500);
	assert_int_equal(q_int("SELECT globalTid FROM PROFILER_OVERHEAD o JOIN StringIds s ON "
			       "s.id = o.nameId WHERE s.value = 'Profiling data flush on process "
			       "exit'"),
			 report_global_tid(PID, TID + 1));
	assert_int_equal(q_int("SELECT count(*) FROM PROFILER_OVERHEAD WHERE returnValue != 0"), 0);
	/* the recorder's commits: on a thread of this process, end >= start */
	assert_true(q_int("SELECT count(*) FROM PROFILER_OVERHEAD o JOIN StringIds s ON s.id = "
			  "o.nameId WHERE s.value = 'gprof-cli recorder: commit'") >= 1);
	{
		char sql[256];

		snprintf(sql, sizeof(sql),
			 "SELECT count(*) FROM PROFILER_OVERHEAD o JOIN StringIds s ON s.id = "
			 "o.nameId WHERE s.value = 'gprof-cli recorder: commit' AND "
			 "globalTid / 16777216 %% 16777216 = %d AND end >= start",
			 (int)getpid());
		assert_int_equal(q_int(sql), q_int("SELECT count(*) FROM PROFILER_OVERHEAD o JOIN "
						   "StringIds s ON s.id = o.nameId WHERE s.value = "
						   "'gprof-cli recorder: commit'"));
	}
}

static void test_process_streams(void **state)
{
	(void)state;
	assert_string_equal(columns("ProcessStreams"),
			    "globalPid:INTEGER:1,filenameId:INTEGER:1,contentId:INTEGER:1");
	assert_int_equal(q_int("SELECT count(*) FROM ProcessStreams"), 2);
	/* stdout first, as nsys; NVIDIA's documented query: PID, filename, content */
	assert_string_equal(q_text("SELECT f.value FROM ProcessStreams p JOIN StringIds f ON f.id "
				   "= p.filenameId WHERE p.rowid = 1"),
			    "pid_5151_stdout.log");
	assert_string_equal(q_text("SELECT c.value FROM ProcessStreams p JOIN StringIds c ON c.id "
				   "= p.contentId WHERE p.rowid = 1"),
			    out_text);
	assert_int_equal(q_int("SELECT globalPid / 16777216 % 16777216 FROM ProcessStreams WHERE "
			       "rowid = 2"),
			 PID);
	assert_string_equal(q_text("SELECT f.value || '=' || c.value FROM ProcessStreams p JOIN "
				   "StringIds f ON f.id = p.filenameId JOIN StringIds c ON c.id = "
				   "p.contentId WHERE p.rowid = 2"),
			    "pid_5151_stderr.log=");
	assert_int_equal(q_int("SELECT globalPid FROM ProcessStreams WHERE rowid = 1"),
			 report_global_pid(PID));
}

static void test_diagnostics(void **state)
{
	(void)state;
	assert_string_equal(columns("DIAGNOSTIC_EVENT"),
			    "timestamp:INTEGER:1,timestampType:INTEGER:1,source:INTEGER:1,"
			    "severity:INTEGER:1,text:TEXT:1,globalPid:INTEGER:0");
	/* sorted by time: the pre-launch warning (negative), start, launch, the collector's
	 * line, the loss totals and stop at the end */
	assert_string_equal(q_text("SELECT group_concat(source || '/' || severity || '/' || "
				   "timestamp, ' ') FROM (SELECT * FROM DIAGNOSTIC_EVENT ORDER BY "
				   "rowid)"),
			    "2/2/-500 3/1/0 2/1/100 1/3/7000 3/2/1000000 3/2/1000000 3/2/1000000 "
			    "3/2/1000000 3/1/1000000");
	assert_string_equal(q_text("SELECT text FROM DIAGNOSTIC_EVENT WHERE rowid = 2"),
			    "Profiling has started.");
	assert_string_equal(q_text("SELECT text FROM DIAGNOSTIC_EVENT WHERE rowid = 9"),
			    "Profiling has stopped.");
	/* the -t values that recorded nothing */
	assert_string_equal(
	    q_text("SELECT group_concat(text, '|') FROM DIAGNOSTIC_EVENT WHERE "
		   "rowid IN (7, 8)"),
	    "no events collected for -t cuda|no events collected for -t gpu-metrics");
	assert_int_equal(q_int("SELECT count(*) FROM DIAGNOSTIC_EVENT WHERE globalPid = "
			       "-144115188075855872"),
			 2);
	assert_string_equal(q_text("SELECT text FROM DIAGNOSTIC_EVENT WHERE rowid = 3"),
			    "Process was launched by the profiler, see ProcessStreams for program "
			    "output");
	assert_int_equal(q_int("SELECT globalPid FROM DIAGNOSTIC_EVENT WHERE rowid = 4"),
			 report_global_pid(PID));
	assert_int_equal(q_int("SELECT globalPid FROM DIAGNOSTIC_EVENT WHERE rowid = 1"),
			 281474976710656ll);
	/* the losses in report_losses()'s words, host-timestamped like nsys's totals */
	assert_string_equal(q_text("SELECT text FROM DIAGNOSTIC_EVENT WHERE rowid = 5"),
			    "12 records dropped by the collectors (per-thread buffers full); hint: "
			    "flush more often with GPROF_CLI_FLUSH_MS=20, or raise "
			    "--osrt-threshold");
	assert_string_equal(q_text("SELECT text FROM DIAGNOSTIC_EVENT WHERE rowid = 6"),
			    "4 frames lost in transit; hint: a process was killed while sending; "
			    "its last buffer is incomplete");
	assert_int_equal(q_int("SELECT timestampType FROM DIAGNOSTIC_EVENT WHERE rowid = 5"), 2);
	/* the enum tables the columns reference, with nsys's rows */
	assert_string_equal(q_text("SELECT name FROM ENUM_DIAGNOSTIC_SOURCE_TYPE WHERE id = 1"),
			    "Injection");
	assert_string_equal(q_text("SELECT label FROM ENUM_DIAGNOSTIC_SEVERITY_LEVEL WHERE id = "
				   "2"),
			    "Warning");
	assert_string_equal(q_text("SELECT name FROM ENUM_DIAGNOSTIC_TIMESTAMP_SOURCE WHERE id = "
				   "2"),
			    "HostTimestamp");
}

/* One TARGET_INFO_SYSTEM_ENV property as report_sysenv_rows() gives it. */
struct prop {
	char name[64];
	int name_enum;
	char value[512];
};
static struct prop props[64];
static int nprops;

static void take_prop(void *ctx, const char *name, int name_enum, const char *value)
{
	(void)ctx;
	assert_true(nprops < 64);
	snprintf(props[nprops].name, sizeof(props[nprops].name), "%s", name);
	props[nprops].name_enum = name_enum;
	snprintf(props[nprops].value, sizeof(props[nprops].value), "%s", value);
	nprops++;
}

static const char *prop(const char *name)
{
	for (int i = 0; i < nprops; i++)
		if (!strcmp(props[i].name, name))
			return props[i].value;
	return NULL;
}

static void test_system_env(void **state)
{
	struct utsname u;
	char host[256], sql[2048];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	(void)state;
	assert_string_equal(
	    columns("TARGET_INFO_SYSTEM_ENV"),
	    "globalVid:INTEGER:0,devStateName:TEXT:1,name:TEXT:1,nameEnum:INTEGER:1,"
	    "value:TEXT:1");
	nprops = 0;
	report_sysenv_rows(take_prop, NULL);
	/* the report holds exactly what the host answered, in nameEnum order */
	assert_int_equal(q_int("SELECT count(*) FROM TARGET_INFO_SYSTEM_ENV"), nprops);
	for (int i = 0; i < nprops; i++) {
		if (i)
			assert_true(props[i].name_enum > props[i - 1].name_enum);
		if (!strcmp(props[i].name, "CpuInfo") || strchr(props[i].value, '\''))
			continue;
		snprintf(sql, sizeof(sql),
			 "SELECT count(*) FROM TARGET_INFO_SYSTEM_ENV WHERE rowid = %d AND name = "
			 "'%.63s' AND nameEnum = %d AND value = '%.511s' AND globalVid = "
			 "281474976710656 "
			 "AND devStateName = 'Local (CLI)'",
			 i + 1, props[i].name, props[i].name_enum, props[i].value);
		assert_int_equal(q_int(sql), 1);
	}
	/* the values nsys names them by, checked against the system's own answers */
	assert_int_equal(uname(&u), 0);
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	assert_string_equal(prop("Hostname"), host);
	assert_string_equal(prop("CpuArchitecture"), u.machine);
	assert_string_equal(prop("HardwarePlatform"), u.machine);
	assert_string_equal(prop("SoftwareReleaseVersion"), u.release);
	assert_string_equal(prop("KernelVersion"), u.version);
	assert_int_equal(atol(prop("CpuCores")), ncpu);
	assert_string_equal(q_text("SELECT value FROM TARGET_INFO_SYSTEM_ENV WHERE nameEnum = 619"),
			    host);
	assert_int_equal(q_int("SELECT json_array_length(value, '$.items') FROM "
			       "TARGET_INFO_SYSTEM_ENV WHERE name = 'CpuInfo'"),
			 ncpu);
	if (tu_exists("/etc/os-release"))
		assert_non_null(prop("OsDescription"));
	if (tu_exists("/proc/sys/kernel/perf_event_paranoid"))
		assert_non_null(prop("LinuxParanoidLevel"));
	assert_int_equal(strncmp(prop("SystemUID"), "pid:[", 5), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_overhead),
	    cmocka_unit_test(test_process_streams),
	    cmocka_unit_test(test_diagnostics),
	    cmocka_unit_test(test_system_env),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
