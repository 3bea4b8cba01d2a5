/*
 * nccl_like.c - NVTX ranges shaped like NCCL 2.x's, without a GPU, for the nccl_sum recipe
 * (tests/e2e/test_recipe.c).  NCCL opens an NVTX domain "NCCL" and marks each API call
 * with NVTX3_FUNC_WITH_PARAMS: a push/pop range in that domain whose message is the
 * function's registered name (__func__: "ncclAllReduce", "ncclBroadcast", ...;
 * NVIDIA/nccl src/include/nvtx.h, src/collectives.cc).  This program does the same with
 * the C API: nvtxDomainCreateA("NCCL"), nvtxDomainRegisterStringA, nvtxDomainRangePushEx
 * / nvtxDomainRangePop; the "work" inside is a sleep.
 *
 * Per run: ITERS (argv[1], default 4) times ncclAllReduce (SLEEP_US, argv[2], default
 * 2000 us, 10x as long when $RANK is 1: a slow rank), then ncclBroadcast (500 us); plus
 * one ncclCommInitRank first.  A default-domain range "step" wraps each iteration.
 */
#include <nvtx3/nvToolsExt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void sleep_us(long us)
{
	struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};

	while (nanosleep(&ts, &ts) != 0)
		;
}

static void range(nvtxDomainHandle_t d, nvtxStringHandle_t name, long us)
{
	nvtxEventAttributes_t a;

	memset(&a, 0, sizeof(a));
	a.version = NVTX_VERSION;
	a.size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
	a.messageType = NVTX_MESSAGE_TYPE_REGISTERED;
	a.message.registered = name;
	nvtxDomainRangePushEx(d, &a);
	sleep_us(us);
	nvtxDomainRangePop(d);
}

int main(int argc, char **argv)
{
	int iters = argc > 1 ? atoi(argv[1]) : 4;
	long us = argc > 2 ? atol(argv[2]) : 2000;
	const char *rank = getenv("RANK");
	nvtxDomainHandle_t d = nvtxDomainCreateA("NCCL");
	nvtxStringHandle_t init = nvtxDomainRegisterStringA(d, "ncclCommInitRank");
	nvtxStringHandle_t allreduce = nvtxDomainRegisterStringA(d, "ncclAllReduce");
	nvtxStringHandle_t bcast = nvtxDomainRegisterStringA(d, "ncclBroadcast");

	if (rank && !strcmp(rank, "1"))
		us *= 10;
	range(d, init, 300);
	for (int i = 0; i < iters; i++) {
		nvtxRangePushA("step");
		range(d, allreduce, us);
		range(d, bcast, 500);
		nvtxRangePop();
	}
	return 0;
}
