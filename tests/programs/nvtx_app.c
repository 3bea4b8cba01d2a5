/*
 * nvtx_app - a multi-threaded NVTX3 program with deterministic event counts, profiled
 * by tests/e2e/test_nvtx.c.  Links only libc/pthread/dl: NVTX3 is header-only and
 * loads the injection from $NVTX_INJECTION64_PATH.
 *
 * usage: nvtx_app [--fork] [--dso LIB] [--close-fds] [--abort] [--verbose]
 *        nvtx_app --texts
 *   --fork     also fork a child (no exec) that records FORK_RANGES push/pop ranges
 *   --close-fds  close every fd above 2 after the marks, as daemons do (the injection
 *              must reconnect to the recorder by path)
 *   --abort    end with "open-at-abort" pushed and abort() instead of returning
 *   --dso LIB  dlopen LIB (this file built with -shared -DNVTX_APP_DSO) and call its
 *              nvtx_app_dso_work(): a second NVTX instance in the process
 *
 * What it records (the test asserts these numbers):
 *   main thread "nvtx-main" (nvtxNameOsThreadA):
 *     10 x outer > middle > inner             push/pop, levels 0, 1, 2
 *     "sleep20" around a 20 ms sleep          push/pop
 *     L"wide-\u00fc\u00ef" (nvtxRangePushW)   push/pop, UTF-8 text
 *     "ex-range" (PushEx: ARGB 0xff00ff00, category 7, uint64 payload 42)
 *     category 7 named "cat-seven"
 *     marks: 3 x "mark-a", "mark-ex" (double payload 2.5), L"mark-w", and
 *            "domB-mark" in domain domB
 *     start/end "cross-thread" started here, ended by worker 0
 *     start "never-ended" (never ended -> NULL end)
 *     "open-at-exit" pushed and never popped (NULL end)
 *   domains "domA", "domB"; registered strings "reg-a" (domA), "reg-b" (domB);
 *   categories domA:1 "domA-cat1", domB:2 "domB-cat2"; domB destroyed at the end.
 *   NWORKERS threads "worker-N" (nvtxNameOsThreadA), each:
 *     ITER x { domA push (registered "reg-a", category 1) > "w-default" >
 *              domB push (registered "reg-b", int32 payload i) }
 *     start/end "worker-se" on itself
 *     "open-at-thread-exit" pushed and never popped (NULL end)
 *
 * --texts records only messages that test the collector's word-at-a-time text reads
 * (the exact texts are in test_nvtx.c test_message_texts), each pushed and popped:
 *   for L = 1..80: the L bytes 'a' + (L + i) % 26, i = 0..L-1, ending with its NUL at
 *     the last byte of a page whose next page is PROT_NONE (a read past the NUL's word
 *     faults), twice (the second time a text the thread saw once: interned);
 *   "op_0" .. "op_999" written in turn into one buffer (each seen once);
 *   "abc" followed in its buffer by 0x01 bytes after the NUL, twice;
 *   "gr\u00fc\u00dfe-\u00fcn\u00efc\u00f6d\u00e9" (UTF-8), twice.
 */
#include <dlfcn.h>
#include <sys/mman.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include <nvtx3/nvToolsExt.h>

#define NWORKERS    4
#define ITER	    100
#define FORK_RANGES 10
#define DSO_RANGES  7

static uint32_t os_tid(void)
{
	return (uint32_t)syscall(SYS_gettid);
}

#ifdef NVTX_APP_DSO
/* Built as a shared library: a second NVTX instance in the process. */
int nvtx_app_dso_work(void)
{
	for (int i = 0; i < DSO_RANGES; i++) {
		nvtxRangePushA("dso-range");
		nvtxRangePop();
	}
	return DSO_RANGES;
}
#else

static nvtxDomainHandle_t dom_a, dom_b;
static nvtxStringHandle_t reg_a, reg_b;
static nvtxRangeId_t cross_id;
static pthread_barrier_t started;

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

static void *worker(void *arg)
{
	int n = (int)(long)arg;
	char name[32];

	snprintf(name, sizeof(name), "worker-%d", n);
	nvtxNameOsThreadA(os_tid(), name);
	pthread_barrier_wait(&started);
	if (n == 0)
		nvtxRangeEnd(cross_id); /* started on the main thread */

	nvtxEventAttributes_t a = {0};
	a.version = NVTX_VERSION;
	a.size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
	a.messageType = NVTX_MESSAGE_TYPE_REGISTERED;
	nvtxEventAttributes_t b = a;
	a.message.registered = reg_a;
	a.category = 1;
	b.message.registered = reg_b;
	b.payloadType = NVTX_PAYLOAD_TYPE_INT32;
	for (int i = 0; i < ITER; i++) {
		nvtxDomainRangePushEx(dom_a, &a);
		nvtxRangePushA("w-default");
		b.payload.iValue = i;
		nvtxDomainRangePushEx(dom_b, &b);
		nvtxDomainRangePop(dom_b);
		nvtxRangePop();
		nvtxDomainRangePop(dom_a);
	}
	nvtxRangeId_t id = nvtxRangeStartA("worker-se");
	nvtxRangeEnd(id);
	nvtxRangePushA("open-at-thread-exit");
	return NULL;
}

static int fork_child(void)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		for (int i = 0; i < FORK_RANGES; i++) {
			nvtxRangePushA("child-range");
			nvtxRangePop();
		}
		exit(0);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	return 0;
}

static void range(const char *msg)
{
	nvtxRangePushA(msg);
	nvtxRangePop();
}

/* --texts (file comment). */
static int texts(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *m =
	    mmap(NULL, 2 * (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char buf[32];

	if (m == MAP_FAILED || mprotect(m + pg, (size_t)pg, PROT_NONE) != 0)
		return 1;
	for (int len = 1; len <= 80; len++) {
		char *s = m + pg - (len + 1);

		for (int i = 0; i < len; i++)
			s[i] = (char)('a' + (len + i) % 26);
		s[len] = '\0';
		range(s);
		range(s);
	}
	for (int i = 0; i < 1000; i++) {
		snprintf(buf, sizeof(buf), "op_%d", i);
		range(buf);
	}
	memset(buf, 1, sizeof(buf));
	memcpy(buf, "abc", 4);
	range(buf);
	range(buf);
	range("gr\xc3\xbc\xc3\x9f"
	      "e-\xc3\xbcn\xc3\xaf"
	      "c\xc3\xb6"
	      "d\xc3\xa9");
	range("gr\xc3\xbc\xc3\x9f"
	      "e-\xc3\xbcn\xc3\xaf"
	      "c\xc3\xb6"
	      "d\xc3\xa9");
	return 0;
}

int main(int argc, char **argv)
{
	int verbose = 0, do_fork = 0, close_fds = 0, do_abort = 0;
	const char *dso = NULL;

	if (argc == 2 && !strcmp(argv[1], "--texts"))
		return texts();

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--verbose"))
			verbose = 1;
		else if (!strcmp(argv[i], "--fork"))
			do_fork = 1;
		else if (!strcmp(argv[i], "--close-fds"))
			close_fds = 1;
		else if (!strcmp(argv[i], "--abort"))
			do_abort = 1;
		else if (!strcmp(argv[i], "--dso") && i + 1 < argc)
			dso = argv[++i];
		else {
			fprintf(stderr, "usage: nvtx_app [--fork] [--dso LIB] [--close-fds] "
					"[--abort] [--verbose]\n");
			return 2;
		}
	}

	nvtxNameOsThreadA(os_tid(), "nvtx-main");
	dom_a = nvtxDomainCreateA("domA");
	dom_b = nvtxDomainCreateA("domB");
	reg_a = nvtxDomainRegisterStringA(dom_a, "reg-a");
	reg_b = nvtxDomainRegisterStringA(dom_b, "reg-b");
	nvtxDomainNameCategoryA(dom_a, 1, "domA-cat1");
	nvtxDomainNameCategoryA(dom_b, 2, "domB-cat2");
	nvtxNameCategoryA(7, "cat-seven");

	for (int i = 0; i < 10; i++) {
		nvtxRangePushA("outer");
		nvtxRangePushA("middle");
		nvtxRangePushA("inner");
		nvtxRangePop();
		nvtxRangePop();
		nvtxRangePop();
	}
	nvtxRangePushA("sleep20");
	sleep_ms(20);
	nvtxRangePop();
	nvtxRangePushW(L"wide-\u00fc\u00ef");
	nvtxRangePop();

	nvtxEventAttributes_t ex = {0};
	ex.version = NVTX_VERSION;
	ex.size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
	ex.colorType = NVTX_COLOR_ARGB;
	ex.color = 0xff00ff00u;
	ex.category = 7;
	ex.payloadType = NVTX_PAYLOAD_TYPE_UNSIGNED_INT64;
	ex.payload.ullValue = 42;
	ex.messageType = NVTX_MESSAGE_TYPE_ASCII;
	ex.message.ascii = "ex-range";
	nvtxRangePushEx(&ex);
	nvtxRangePop();

	for (int i = 0; i < 3; i++)
		nvtxMarkA("mark-a");
	nvtxEventAttributes_t mk = {0};
	mk.version = NVTX_VERSION;
	mk.size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
	mk.payloadType = NVTX_PAYLOAD_TYPE_DOUBLE;
	mk.payload.dValue = 2.5;
	mk.messageType = NVTX_MESSAGE_TYPE_ASCII;
	mk.message.ascii = "mark-ex";
	nvtxMarkEx(&mk);
	nvtxMarkW(L"mark-w");
	mk.payloadType = 0;
	mk.message.ascii = "domB-mark";
	nvtxDomainMarkEx(dom_b, &mk);

	if (close_fds)
		for (int fd = 3; fd < 4096; fd++)
			close(fd);
	if (do_fork && fork_child() != 0) {
		fprintf(stderr, "nvtx_app: forked child failed\n");
		return 1;
	}
	if (dso) {
		void *h = dlopen(dso, RTLD_NOW | RTLD_LOCAL);
		int (*work)(void) = h ? (int (*)(void))dlsym(h, "nvtx_app_dso_work") : NULL;
		if (!work || work() != DSO_RANGES) {
			fprintf(stderr, "nvtx_app: cannot run '%s': %s\n", dso, dlerror());
			return 1;
		}
	}

	cross_id = nvtxRangeStartA("cross-thread");
	pthread_t t[NWORKERS];
	pthread_barrier_init(&started, NULL, NWORKERS + 1);
	for (long i = 0; i < NWORKERS; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	pthread_barrier_wait(&started);
	for (int i = 0; i < NWORKERS; i++)
		pthread_join(t[i], NULL);

	nvtxRangeStartA("never-ended");
	nvtxDomainDestroy(dom_b);
	nvtxRangePushA("open-at-exit");
	if (verbose)
		printf("nvtx_app: done\n");
	if (do_abort) {
		nvtxRangePushA("open-at-abort");
		fflush(stdout);
		abort();
	}
	return 0;
}
#endif
