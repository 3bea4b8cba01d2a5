/*
 * bench_recorder.c - recorder ingest benchmark (issue 2, "Benchmarks").
 *
 * A forked sender process writes frames full of NVTX push/pop records to the record
 * channel; the recorder (in this process) decodes them and writes NVTX_EVENTS.
 * Printed, each with its target, against a baseline measured in the same run:
 *   - baseline: a plain prepared-statement INSERT loop of the same rows into a fresh
 *     SQLite file in one transaction (what SQLite alone does per CPU second here);
 *   - ingest rate: records per CPU second of the writer thread (the "one core" of the
 *     target, >= 3 M/s; immune to other load on the machine), and per wall second
 *     with the sender going as fast as it can;
 *   - paced run at 1 M records/s: records lost (target 0);
 *   - recorder peak RSS (VmHWM of this process; target <= 64 MB);
 *   - report bytes per event (file size / events; target <= 40);
 *   - wall from the sender's exit to recorder_finish() returning (target <= 0.5 s
 *     for 1 M events).
 * Usage: bench_recorder [EVENTS]   (default 2000000; env BENCH_PACED_SECONDS, default 2)
 *
 * Drain mode (issue 17, core/report_par.h): bench_recorder -d [EVENTS [ROUNDS [K]]]
 * (defaults 20000000, 3, the writers the host gets: report_par_writers() without
 * $GPROF_CLI_DRAIN_WRITERS).  The recorder's writer thread is held
 * (recorder_test_hold_writer), so every event is backlog when the sender exits, as after
 * a run that outpaced the writer; recorder_finish() then writes it with one writer
 * (GPROF_CLI_DRAIN_WRITERS=1: the baseline) and with K parallel writers, alternately in
 * the same run.  Printed per run and as medians: sender exit -> report ready (s), events
 * per second of that wall time (target >= 3 M), writer CPU, the report's NVTX_EVENTS rows
 * (must be every event), and the recorder's peak RSS at the end (target <= 64 MB).
 */
#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/benchutil.h"
#include "core/recorder.h"
#include "core/recorder_internal.h"
#include "core/report_par.h"
#include "core/util.h"
#include "core/wire.h"

#define PER_FRAME ((GP_FRAME_MAX - sizeof(struct gp_frame_hdr)) / sizeof(struct gp_rec_nvtx))

static uint64_t frame[GP_FRAME_MAX / 8];

static double secs(uint64_t ns)
{
	return (double)ns / 1e9;
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static size_t frame_add(size_t len, uint16_t type, size_t size)
{
	struct gp_rec_hdr *h = (struct gp_rec_hdr *)((char *)frame + len);

	memset(h, 0, size);
	h->type = type;
	h->size = (uint16_t)size;
	h->tid = (uint32_t)gettid();
	return len + size;
}

static int send_frame(int fd, size_t len, uint64_t seq)
{
	struct gp_frame_hdr *fh = (struct gp_frame_hdr *)frame;

	fh->magic = GP_WIRE_MAGIC;
	fh->version = GP_WIRE_VERSION;
	fh->type = GP_FRAME_RECORDS;
	fh->length = (uint32_t)(len - sizeof(*fh));
	fh->pid = (uint32_t)getpid();
	fh->seq = seq;
	return send(fd, frame, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

/* The sender: HELLO + strings, then `events` push/pop ranges; `rate` records/s (0 = as
 * fast as possible). */
static void sender(const char *path, uint64_t events, uint64_t rate)
{
	struct sockaddr_un sa;
	struct gp_rec_hello *hello;
	struct gp_rec_string *s;
	uint64_t seq = 0, sent = 0, t0, base;
	size_t len;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		_exit(1);
	len = sizeof(struct gp_frame_hdr);
	hello = (void *)((char *)frame + len);
	len = frame_add(len, GP_REC_HELLO, sizeof(*hello));
	hello->pid = (uint32_t)getpid();
	hello->exe_sid = 1;
	s = (void *)((char *)frame + len);
	len = frame_add(len, GP_REC_STRING, GP_REC_ALIGN(sizeof(*s) + 11));
	s->id = 1;
	s->len = 11;
	memcpy(s->text, "bench_recor", 11);
	s = (void *)((char *)frame + len);
	len = frame_add(len, GP_REC_STRING, GP_REC_ALIGN(sizeof(*s) + 9));
	s->id = 2;
	s->len = 9;
	memcpy(s->text, "iteration", 9);
	if (send_frame(fd, len, seq++) < 0)
		_exit(2);

	/* one frame of records, re-timed before each send */
	len = sizeof(struct gp_frame_hdr);
	while (len + sizeof(struct gp_rec_nvtx) <= GP_FRAME_MAX)
		len = frame_add(len, GP_REC_NVTX_EVENT, sizeof(struct gp_rec_nvtx));
	t0 = gp_monotonic_ns();
	base = t0;
	while (sent < events) {
		uint64_t n = events - sent < PER_FRAME ? events - sent : PER_FRAME, i;
		struct gp_rec_nvtx *e = (void *)((char *)frame + sizeof(struct gp_frame_hdr));

		for (i = 0; i < n; i++) {
			e[i].start_ns = base + (sent + i) * 300;
			e[i].end_ns = e[i].start_ns + 200;
			e[i].text_sid = 2;
			e[i].flags = GP_NVTX_PUSHPOP;
		}
		if (send_frame(fd, sizeof(struct gp_frame_hdr) + n * sizeof(struct gp_rec_nvtx),
			       seq++) < 0)
			_exit(3);
		sent += n;
		if (rate) {
			uint64_t due = t0 + sent * 1000000000ull / rate, now = gp_monotonic_ns();

			if (due > now) {
				struct timespec ts = {(time_t)((due - now) / 1000000000ull),
						      (long)((due - now) % 1000000000ull)};
				nanosleep(&ts, NULL);
			}
		}
	}
	_exit(0);
}

struct run {
	double total_s;	     /* fork -> finish returned */
	double tail_s;	     /* sender exit -> finish returned */
	uint64_t records;    /* records written (stats) */
	uint64_t lost;	     /* bad + lost frames + write errors */
	uint64_t stalls;     /* reader stalls */
	double writer_cpu_s; /* writer thread CPU time */
	off_t file_size;     /* report bytes */
	long long rows;	     /* NVTX_EVENTS rows of the report */
};

static int run_once(const char *dir, uint64_t events, uint64_t rate, struct run *out)
{
	char path[256];
	struct recorder_config cfg;
	struct recorder *rec;
	struct recorder_stats st;
	struct report_app_status app = {0};
	struct stat sb;
	uint64_t t0, texit;
	pid_t pid;
	int status;

	snprintf(path, sizeof(path), "%s/bench.db", dir);
	memset(&cfg, 0, sizeof(cfg));
	cfg.report_path = path;
	cfg.force_overwrite = 1;
	cfg.session_start_ns = gp_monotonic_ns();
	cfg.session_start_utc_ns = gp_realtime_ns();
	if (recorder_start(&rec, &cfg) < 0)
		return -1;
	t0 = gp_monotonic_ns();
	pid = fork();
	if (pid == 0)
		sender(recorder_channel_path(rec), events, rate);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "bench_recorder: sender failed\n");
		return -1;
	}
	texit = gp_monotonic_ns();
	app.pid = pid;
	app.end_ns = texit;
	if (recorder_finish(rec, &app, 1000, &st) < 0)
		return -1;
	out->total_s = secs(gp_monotonic_ns() - t0);
	out->tail_s = secs(gp_monotonic_ns() - texit);
	out->records = st.report.records;
	out->lost = st.report.bad_frames + st.report.lost_frames + st.report.write_errors +
		    st.report.dropped_records;
	out->stalls = st.reader_stalls;
	out->writer_cpu_s = secs(st.writer_cpu_ns);
	out->file_size = stat(path, &sb) == 0 ? sb.st_size : -1;
	out->rows = bench_query_int(path, "SELECT COUNT(*) FROM NVTX_EVENTS");
	unlink(path);
	return 0;
}

/* Drain mode (file comment): rounds x (K = 1, K = k), alternately. */
static int drain_bench(const char *dir, uint64_t events, int rounds, unsigned k)
{
	double tail[2][64], cpu[2][64];
	unsigned ks[2] = {1, k};
	char kv[16];
	int n = 0;

	if (rounds > 64)
		rounds = 64;
	recorder_test_hold_writer = 1;
	printf("bench_recorder -d: %llu NVTX push/pop records, all of them backlog at the "
	       "sender's exit (writer held); K=1 (one writer, the baseline) vs K=%u, "
	       "alternately\n",
	       (unsigned long long)events, k);
	printf("  %-5s %-3s %10s %12s %10s %12s\n", "round", "K", "exit->rep s", "M ev/s wall",
	       "cpu s", "rows");
	for (int i = 0; i < rounds; i++, n++) {
		for (int j = 0; j < 2; j++) {
			struct run r;

			snprintf(kv, sizeof(kv), "%u", ks[j]);
			setenv(REPORT_PAR_ENV, kv, 1);
			if (run_once(dir, events, 0, &r) < 0)
				return -1;
			tail[j][i] = r.tail_s;
			cpu[j][i] = r.writer_cpu_s;
			printf("  %-5d %-3u %10.3f %12.2f %10.2f %12lld%s\n", i + 1, ks[j],
			       r.tail_s, events / r.tail_s / 1e6, r.writer_cpu_s, r.rows,
			       r.rows == (long long)events ? "" : "  ROWS MISSING");
			if (r.rows != (long long)events)
				return -1;
		}
	}
	for (int j = 0; j < 2; j++) {
		qsort(tail[j], (size_t)n, sizeof(double), bench_cmp_double);
		qsort(cpu[j], (size_t)n, sizeof(double), bench_cmp_double);
	}
	printf("  median K=1: %.3f s, %.2f M ev/s;  K=%u: %.3f s, %.2f M ev/s (target >= 3); "
	       "K=%u / K=1: %.2fx the rate\n",
	       tail[0][n / 2], events / tail[0][n / 2] / 1e6, k, tail[1][n / 2],
	       events / tail[1][n / 2] / 1e6, k, tail[0][n / 2] / tail[1][n / 2]);
	printf("  writer CPU median K=1 %.2f s, K=%u %.2f s (all writers); recorder peak RSS "
	       "%.1f MB (target <= 64)\n",
	       cpu[0][n / 2], k, cpu[1][n / 2], bench_vm_hwm_kb() / 1024.0);
	return 0;
}

/* Baseline: the same rows straight into SQLite, one transaction, prepared statement. */
static double baseline(const char *dir, uint64_t events, off_t *size)
{
	char path[256];
	sqlite3 *db;
	sqlite3_stmt *st;
	struct stat sb;
	uint64_t t0, i, gtid = (1ull << 48) | (1234ull << 24) | 1234ull;
	double s;

	snprintf(path, sizeof(path), "%s/baseline.db", dir);
	unlink(path);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	sqlite3_exec(db,
		     "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
		     "CREATE TABLE NVTX_EVENTS (start INTEGER NOT NULL, end INTEGER, eventType "
		     "INTEGER NOT NULL, rangeId INTEGER, category INTEGER, color INTEGER, text "
		     "TEXT, globalTid INTEGER, endGlobalTid INTEGER, textId INTEGER, domainId "
		     "INTEGER, uint64Value INTEGER, int64Value INTEGER, doubleValue REAL, "
		     "uint32Value INTEGER, int32Value INTEGER, floatValue REAL, jsonTextId "
		     "INTEGER, jsonText TEXT, binaryData TEXT)",
		     NULL, NULL, NULL);
	sqlite3_prepare_v2(db,
			   "INSERT INTO NVTX_EVENTS (start, end, eventType, text, globalTid, "
			   "domainId) VALUES (?, ?, 59, ?, ?, 0)",
			   -1, &st, NULL);
	t0 = cpu_ns(); /* single-threaded here: process CPU time = this loop's */
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	for (i = 0; i < events; i++) {
		sqlite3_bind_int64(st, 1, (int64_t)(1000000 + i * 300));
		sqlite3_bind_int64(st, 2, (int64_t)(1000000 + i * 300 + 200));
		sqlite3_bind_text(st, 3, "iteration", 9, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (int64_t)gtid);
		sqlite3_step(st);
		sqlite3_reset(st);
	}
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	s = secs(cpu_ns() - t0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	*size = stat(path, &sb) == 0 ? sb.st_size : -1;
	unlink(path);
	return s;
}

int main(int argc, char **argv)
{
	uint64_t events = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
	const char *ps = getenv("BENCH_PACED_SECONDS");
	uint64_t paced_s = ps ? strtoull(ps, NULL, 10) : 2;
	char dir[] = "/tmp/gprof-bench-rec-XXXXXX";
	struct run fast, one_m, paced;
	double base_s;
	off_t base_size = 0;
	long hwm;

	signal(SIGPIPE, SIG_IGN);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	if (argc > 1 && !strcmp(argv[1], "-d")) {
		unsigned k = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 10) : 0;
		int ret;

		if (!k) {
			unsetenv(REPORT_PAR_ENV);
			k = report_par_writers();
		}
		ret = drain_bench(dir, argc > 2 ? strtoull(argv[2], NULL, 10) : 20000000,
				  argc > 3 ? atoi(argv[3]) : 3, k);
		rmdir(dir);
		return ret < 0 ? 1 : 0;
	}
	/* recorder runs first, so that VmHWM is the recorder's alone */
	if (run_once(dir, events, 0, &fast) < 0 || run_once(dir, 1000000, 0, &one_m) < 0 ||
	    run_once(dir, paced_s * 1000000, 1000000, &paced) < 0) {
		rmdir(dir);
		return 1;
	}
	hwm = bench_vm_hwm_kb();
	base_s = baseline(dir, events, &base_size);
	rmdir(dir);

	printf("bench_recorder: %llu NVTX push/pop records per run, %zu per frame\n",
	       (unsigned long long)events, (size_t)PER_FRAME);
	printf("  baseline: plain SQLite INSERT loop      %8.2f M rows/s    per CPU second "
	       "(%.1f bytes/row)\n",
	       events / base_s / 1e6, (double)base_size / events);
	printf("  ingest rate per writer CPU second       %8.2f M rec/s    target >= 3    "
	       "(%.2fx baseline)\n",
	       fast.records / fast.writer_cpu_s / 1e6,
	       (fast.records / fast.writer_cpu_s) / (events / base_s));
	printf("  ingest rate, wall (sender unthrottled)  %8.2f M rec/s                   "
	       "(%llu records, %llu reader stalls)\n",
	       fast.records / fast.total_s / 1e6, (unsigned long long)fast.records,
	       (unsigned long long)fast.stalls);
	printf("  lost at 1 M rec/s paced for %llus        %8llu          target 0       "
	       "(%llu of %llu records written)\n",
	       (unsigned long long)paced_s, (unsigned long long)paced.lost,
	       (unsigned long long)paced.records, (unsigned long long)(paced_s * 1000000 + 3));
	printf("  report bytes per event                  %8.1f          target <= 40   "
	       "(baseline table %.1f)\n",
	       (double)fast.file_size / events, (double)base_size / events);
	printf("  sender exit -> report ready, 1 M events %8.3f s        target <= 0.5\n",
	       one_m.tail_s);
	printf("  recorder peak RSS (VmHWM)               %8.1f MB       target <= 64\n",
	       hwm / 1024.0);
	return 0;
}
