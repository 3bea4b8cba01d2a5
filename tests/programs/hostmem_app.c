/*
 * hostmem_app.c - known host allocation patterns for --host-memory-usage
 * (tests/e2e/test_hostmem.c).  Writes what the report must hold to the file argv[1] as
 * "key value" lines (usable sizes as the allocator in use reports them, thread ids), so
 * the test compares exact figures under glibc, jemalloc or tcmalloc alike.
 *
 *   hostmem_app OUT [fork]
 *
 * Phases, each in an NVTX push/pop range of the main thread:
 *   "setup"  keep = malloc(65536), freed at the end
 *   "leaky"  leak = malloc(100000), never freed
 *   "peak"   p1 = malloc(1 MiB), p2 = calloc(1, 2 MiB): the process peak; both freed
 *   "grow"   realloc(NULL, 8192) -> 16384 -> 65536, then free
 *   "align"  posix_memalign(64, 8192), aligned_alloc(4096, 16384), both freed
 *   "map"    mmap 256 KiB anonymous, munmap its first half, then the rest; a 1 GiB
 *            PROT_NONE reservation (not counted) mapped and unmapped
 *   "cross"  thread A allocates 32 blocks of 10000 bytes, thread B frees them
 *   "small"  thread S: 1000 x (malloc(32), free), then 10 x malloc(48) kept
 *   "fork"   (with "fork") the child allocates 300000 bytes, never freed, and exits
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nvtx3/nvToolsExt.h>

#define NCROSS 32

static FILE *out;
static void *cross[NCROSS];

/* Keep the compiler from eliding an allocation it can see unused. */
static void sink(void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

static unsigned long tid(void)
{
	return (unsigned long)syscall(SYS_gettid);
}

static void *thread_a(void *arg)
{
	(void)arg;
	fprintf(out, "tid_a %lu\n", tid());
	for (int i = 0; i < NCROSS; i++) {
		cross[i] = malloc(10000);
		sink(cross[i]);
	}
	fprintf(out, "usable_10000 %zu\n", malloc_usable_size(cross[0]));
	return NULL;
}

static void *thread_b(void *arg)
{
	(void)arg;
	fprintf(out, "tid_b %lu\n", tid());
	for (int i = 0; i < NCROSS; i++)
		free(cross[i]);
	return NULL;
}

static size_t u32, u48;
static unsigned long tid_s;

static void *thread_s(void *arg)
{
	void *keep[10];

	(void)arg;
	tid_s = tid();
	for (int i = 0; i < 1000; i++) {
		void *p = malloc(32);
		sink(p);
		if (i == 0)
			u32 = malloc_usable_size(p);
		free(p);
	}
	for (int i = 0; i < 10; i++) {
		keep[i] = malloc(48);
		sink(keep[i]);
	}
	u48 = malloc_usable_size(keep[0]);
	return NULL;
}

static void run(void *(*fn)(void *))
{
	pthread_t t;

	pthread_create(&t, NULL, fn, NULL);
	pthread_join(t, NULL);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	out = fopen(argv[1], "w");
	if (!out)
		return 2;
	setvbuf(out, NULL, _IONBF, 0);
	fprintf(out, "tid_main %lu\n", tid());

	nvtxRangePushA("setup");
	void *keep = malloc(65536);
	sink(keep);
	fprintf(out, "usable_keep %zu\n", malloc_usable_size(keep));
	nvtxRangePop();

	nvtxRangePushA("leaky");
	void *leak = malloc(100000);
	sink(leak);
	fprintf(out, "leak_addr %lu\nusable_leak %zu\n", (unsigned long)leak,
		malloc_usable_size(leak));
	nvtxRangePop();

	nvtxRangePushA("peak");
	void *p1 = malloc(1 << 20);
	sink(p1);
	void *p2 = calloc(1, 2 << 20);
	sink(p2);
	size_t up1 = malloc_usable_size(p1), up2 = malloc_usable_size(p2);
	free(p2);
	free(p1);
	fprintf(out, "usable_p1 %zu\nusable_p2 %zu\n", up1, up2);
	nvtxRangePop();

	nvtxRangePushA("grow");
	void *g = realloc(NULL, 8192);
	sink(g);
	size_t ug1 = malloc_usable_size(g);
	g = realloc(g, 16384);
	size_t ug2 = malloc_usable_size(g);
	g = realloc(g, 65536);
	size_t ug3 = malloc_usable_size(g);
	free(g);
	fprintf(out, "usable_g1 %zu\nusable_g2 %zu\nusable_g3 %zu\n", ug1, ug2, ug3);
	nvtxRangePop();

	nvtxRangePushA("align");
	void *a1 = NULL, *a2;
	if (posix_memalign(&a1, 64, 8192))
		return 3;
	a2 = aligned_alloc(4096, 16384);
	sink(a2);
	fprintf(out, "aligned %d\n",
		((unsigned long)a1 % 64 == 0 && (unsigned long)a2 % 4096 == 0));
	free(a1);
	free(a2);
	nvtxRangePop();

	nvtxRangePushA("map");
	char *m = mmap(NULL, 256 << 10, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return 3;
	m[0] = 1;
	munmap(m, 128 << 10);
	munmap(m + (128 << 10), 128 << 10);
	/* a reservation: address space only, not counted */
	void *rsv =
	    mmap(NULL, 1ul << 30, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (rsv != MAP_FAILED)
		munmap(rsv, 1ul << 30);
	nvtxRangePop();

	nvtxRangePushA("cross");
	run(thread_a);
	run(thread_b);
	nvtxRangePop();

	nvtxRangePushA("small");
	run(thread_s);
	fprintf(out, "tid_s %lu\nusable_32 %zu\nusable_48 %zu\n", tid_s, u32, u48);
	nvtxRangePop();

	if (argc > 2 && !strcmp(argv[2], "fork")) {
		nvtxRangePushA("fork");
		pid_t c = fork();
		if (c == 0) {
			void *cl = malloc(300000);
			sink(cl);
			fprintf(out, "child_pid %ld\nusable_child %zu\n", (long)getpid(),
				malloc_usable_size(cl));
			exit(0);
		}
		int st;
		waitpid(c, &st, 0);
		nvtxRangePop();
	}
	free(keep);
	fprintf(out, "done 1\n");
	fclose(out);
	return 0;
}
