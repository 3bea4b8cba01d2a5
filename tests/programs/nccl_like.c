/*
 * nccl_like.c - NVTX ranges shaped like NCCL 2.x's, without a GPU, for the nccl_sum recipe
 * (tests/e2e/test_recipe.c) and the NVTX extended-payload decoding (tests/e2e/test_nvtx.c).
 * NCCL opens an NVTX domain "NCCL" and marks each API call with NVTX3_FUNC_WITH_PARAMS: a
 * push/pop range in that domain whose message is the function's registered name
 * (__func__: "ncclAllReduce", "ncclBroadcast", ...) and whose attributes carry an NVTX
 * extended payload (NCCL 2.19+: payloadType NVTX_PAYLOAD_TYPE_EXT, an nvtxPayloadData_t
 * {schema id, size, address} of a small struct) in the layout of a static schema NCCL
 * registers with nvtxPayloadSchemaRegister; the reduction operation is an enum registered
 * with nvtxPayloadEnumRegister (NVIDIA/nccl src/include/nvtx.h, nvtx_payload_schemas.h,
 * src/init_nvtx.cc).  This program does the same with the C API of the nvtx3 headers
 * (nvToolsExt.h, nvToolsExtPayload.h): nvtxDomainCreateA("NCCL"),
 * nvtxDomainRegisterStringA, the schema and enum registrations, nvtxDomainRangePushEx with
 * the payload / nvtxDomainRangePop; the "work" inside is a sleep.  The schemas have the
 * entry names, types and ids NCCL uses; the structs and values are this program's.
 *
 * Per run: ITERS (argv[1], default 4) times ncclAllReduce (SLEEP_US, argv[2], default
 * 2000 us, 10x as long when $RANK is 1: a slow rank), then ncclBroadcast (500 us); plus
 * one ncclCommInitRank first.  A default-domain range "step" wraps each iteration.
 * Payloads (COMM = 17293822569102704642 = 0xf000000000000002, above 2^63 as NCCL's
 * communicator hashes often are):
 *   ncclCommInitRank  {"NCCL communicator ID":COMM,"No. of ranks":$WORLD_SIZE (1),
 *                      "Rank":$RANK (0),"CUDA device":$RANK}
 *   ncclAllReduce     {"NCCL communicator ID":COMM,"Message size [bytes]":1048576,
 *                      "Reduction operation":"Sum"}
 *   ncclBroadcast     {"NCCL communicator ID":COMM,"Message size [bytes]":4096,"Root":0}
 *
 * With "extra" as argv[3], after the iterations (each in domain "NCCL" unless said):
 *   - a push/pop range "mixed" with a schema of natural offsets (all 0) and other types:
 *     {"i8":-5,"u16":65535,"dbl":0.25,"name":"ring","op":7,"arr":[1,2,3]}
 *     (int8, uint16, double, char[8], the reduction enum with a value it does not name, a
 *     fixed-size int32 array of 3; a hidden entry is left out);
 *   - a start/end range "startend" with an ncclAllReduce payload of 64 bytes and "Max";
 *   - a mark through nvtxMarkPayload with a ncclBroadcast payload of 8 bytes, root 2;
 *   - a range "unknown" whose payload names a schema never registered (1 undecoded);
 *   - a range "big" with a payload of 300 bytes (over the 256 copied: 1 unsent);
 *   - a range "union" of a union schema (1 undecoded).
 */
#include <nvtx3/nvToolsExt.h>
#include <nvtx3/nvToolsExtPayload.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COMM 0xf000000000000002ull

/* NCCL's static schema ids (nvtx.h NVTX_SID_*) and its reduction enum's id */
#define SID(n)	      (NVTX_PAYLOAD_SCHEMA_ID_STATIC_START + (n))
#define SID_INIT      SID(0)
#define SID_ALLREDUCE SID(5)
#define SID_BCAST     SID(6)
#define SID_REDOP     SID(11)
#define SID_MIXED     SID(100)
#define SID_UNION     SID(101)
#define SID_NEVER     SID(102)

struct p_init {
	uint64_t comm;
	int nranks, rank, dev;
};

struct p_allreduce {
	uint64_t comm;
	size_t bytes;
	int op; /* ncclRedOp_t: 0 Sum, 1 Prod, 2 Max, 3 Min, 4 Avg */
};

struct p_bcast { /* (comm and bytes where p_allreduce has them) */
	uint64_t comm;
	size_t bytes;
	int root;
};

struct p_mixed {
	int8_t i8;
	uint16_t u16;
	double dbl;
	char name[8];
	int op;
	int32_t arr[3];
	int hidden;
};

static nvtxDomainHandle_t dom;

static void sleep_us(long us)
{
	struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};

	while (nanosleep(&ts, &ts) != 0)
		;
}

static nvtxPayloadSchemaEntry_t ent(uint64_t type, const char *name, size_t off)
{
	nvtxPayloadSchemaEntry_t e;

	memset(&e, 0, sizeof(e));
	e.type = type;
	e.name = name;
	e.offset = off;
	return e;
}

static void schema(uint64_t id, const char *name, uint64_t type, const nvtxPayloadSchemaEntry_t *e,
		   size_t n, size_t size)
{
	nvtxPayloadSchemaAttr_t a;

	memset(&a, 0, sizeof(a));
	a.fieldMask =
	    NVTX_PAYLOAD_SCHEMA_ATTR_FIELD_NAME | NVTX_PAYLOAD_SCHEMA_ATTR_FIELD_TYPE |
	    NVTX_PAYLOAD_SCHEMA_ATTR_FIELD_ENTRIES | NVTX_PAYLOAD_SCHEMA_ATTR_FIELD_NUM_ENTRIES |
	    NVTX_PAYLOAD_SCHEMA_ATTR_FIELD_STATIC_SIZE | NVTX_PAYLOAD_SCHEMA_ATTR_FIELD_SCHEMA_ID;
	a.name = name;
	a.type = type;
	a.entries = e;
	a.numEntries = n;
	a.payloadStaticSize = size;
	a.schemaId = id;
	nvtxPayloadSchemaRegister(dom, &a);
}

static void register_all(void)
{
	static const nvtxPayloadEnum_t redop[] = {
	    {"Sum", 0, 0}, {"Product", 1, 0}, {"Max", 2, 0}, {"Min", 3, 0}, {"Avg", 4, 0}};
	nvtxPayloadEnumAttr_t ea;
	nvtxPayloadSchemaEntry_t e[8];

	memset(&ea, 0, sizeof(ea));
	ea.fieldMask = NVTX_PAYLOAD_ENUM_ATTR_FIELD_ENTRIES |
		       NVTX_PAYLOAD_ENUM_ATTR_FIELD_NUM_ENTRIES |
		       NVTX_PAYLOAD_ENUM_ATTR_FIELD_SIZE | NVTX_PAYLOAD_ENUM_ATTR_FIELD_SCHEMA_ID;
	ea.entries = redop;
	ea.numEntries = 5;
	ea.sizeOfEnum = sizeof(int);
	ea.schemaId = SID_REDOP;
	nvtxPayloadEnumRegister(dom, &ea);

	e[0] = ent(NVTX_PAYLOAD_ENTRY_TYPE_UINT64, "NCCL communicator ID",
		   offsetof(struct p_init, comm));
	e[1] = ent(NVTX_PAYLOAD_ENTRY_TYPE_INT, "No. of ranks", offsetof(struct p_init, nranks));
	e[2] = ent(NVTX_PAYLOAD_ENTRY_TYPE_INT, "Rank", offsetof(struct p_init, rank));
	e[3] = ent(NVTX_PAYLOAD_ENTRY_TYPE_INT, "CUDA device", offsetof(struct p_init, dev));
	schema(SID_INIT, "CommInitRank", NVTX_PAYLOAD_SCHEMA_TYPE_STATIC, e, 4,
	       sizeof(struct p_init));

	/* a collective's: communicator and message size first (both structs begin alike) */
	e[0] = ent(NVTX_PAYLOAD_ENTRY_TYPE_UINT64, "NCCL communicator ID",
		   offsetof(struct p_allreduce, comm));
	e[1] = ent(NVTX_PAYLOAD_ENTRY_TYPE_SIZE, "Message size [bytes]",
		   offsetof(struct p_allreduce, bytes));
	e[2] = ent(SID_REDOP, "Reduction operation", offsetof(struct p_allreduce, op));
	schema(SID_ALLREDUCE, "AllReduce", NVTX_PAYLOAD_SCHEMA_TYPE_STATIC, e, 3,
	       sizeof(struct p_allreduce));
	e[2] = ent(NVTX_PAYLOAD_ENTRY_TYPE_INT, "Root", offsetof(struct p_bcast, root));
	schema(SID_BCAST, "Broadcast", NVTX_PAYLOAD_SCHEMA_TYPE_STATIC, e, 3,
	       sizeof(struct p_bcast));
}

/* A push/pop range `name` in domain dom with one payload (NULL: none) of schema id. */
static void range(nvtxStringHandle_t name, uint64_t id, const void *p, size_t size, long us)
{
	nvtxEventAttributes_t a;
	nvtxPayloadData_t pd = {id, size, p};

	memset(&a, 0, sizeof(a));
	a.version = NVTX_VERSION;
	a.size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
	a.messageType = NVTX_MESSAGE_TYPE_REGISTERED;
	a.message.registered = name;
	if (p) {
		a.payloadType = NVTX_PAYLOAD_TYPE_EXT;
		a.payload.ullValue = (uint64_t)(uintptr_t)&pd;
		a.reserved0 = 1;
	}
	nvtxDomainRangePushEx(dom, &a);
	sleep_us(us);
	nvtxDomainRangePop(dom);
}

static void extra(void)
{
	nvtxPayloadSchemaEntry_t e[8];
	struct p_mixed m = {-5, 65535, 0.25, "ring", 7, {1, 2, 3}, 99};
	struct p_allreduce ar = {COMM, 64, 2};
	struct p_bcast bc = {COMM, 8, 2};
	static char big[300];
	nvtxEventAttributes_t a;
	nvtxPayloadData_t pd = {SID_ALLREDUCE, sizeof(ar), &ar};
	nvtxRangeId_t id;

	/* natural offsets: every offset 0 */
	e[0] = ent(NVTX_PAYLOAD_ENTRY_TYPE_INT8, "i8", 0);
	e[1] = ent(NVTX_PAYLOAD_ENTRY_TYPE_UINT16, "u16", 0);
	e[2] = ent(NVTX_PAYLOAD_ENTRY_TYPE_DOUBLE, "dbl", 0);
	e[3] = ent(NVTX_PAYLOAD_ENTRY_TYPE_CSTRING, "name", 0);
	e[3].arrayOrUnionDetail = sizeof(m.name);
	e[4] = ent(SID_REDOP, "op", 0);
	e[5] = ent(NVTX_PAYLOAD_ENTRY_TYPE_INT32, "arr", 0);
	e[5].flags = NVTX_PAYLOAD_ENTRY_FLAG_ARRAY_FIXED_SIZE;
	e[5].arrayOrUnionDetail = 3;
	e[6] = ent(NVTX_PAYLOAD_ENTRY_TYPE_INT, "hidden", 0);
	e[6].flags = NVTX_PAYLOAD_ENTRY_FLAG_HIDE;
	schema(SID_MIXED, "Mixed", NVTX_PAYLOAD_SCHEMA_TYPE_STATIC, e, 7, sizeof(m));
	e[0] = ent(NVTX_PAYLOAD_ENTRY_TYPE_INT, "a", 0);
	e[1] = ent(NVTX_PAYLOAD_ENTRY_TYPE_FLOAT, "b", 0);
	schema(SID_UNION, "Union", NVTX_PAYLOAD_SCHEMA_TYPE_UNION, e, 2, 4);

	range(nvtxDomainRegisterStringA(dom, "mixed"), SID_MIXED, &m, sizeof(m), 100);

	memset(&a, 0, sizeof(a));
	a.version = NVTX_VERSION;
	a.size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
	a.messageType = NVTX_MESSAGE_TYPE_ASCII;
	a.message.ascii = "startend";
	a.payloadType = NVTX_PAYLOAD_TYPE_EXT;
	a.payload.ullValue = (uint64_t)(uintptr_t)&pd;
	a.reserved0 = 1;
	id = nvtxDomainRangeStartEx(dom, &a);
	sleep_us(100);
	nvtxDomainRangeEnd(dom, id);

	pd = (nvtxPayloadData_t){SID_BCAST, sizeof(bc), &bc};
	nvtxMarkPayload(dom, &pd, 1);

	range(nvtxDomainRegisterStringA(dom, "unknown"), SID_NEVER, &ar, sizeof(ar), 100);
	range(nvtxDomainRegisterStringA(dom, "big"), SID_ALLREDUCE, big, sizeof(big), 100);
	range(nvtxDomainRegisterStringA(dom, "union"), SID_UNION, &m, 4, 100);
}

int main(int argc, char **argv)
{
	int iters = argc > 1 ? atoi(argv[1]) : 4;
	long us = argc > 2 ? atol(argv[2]) : 2000;
	const char *rank = getenv("RANK"), *world = getenv("WORLD_SIZE");
	int r = rank ? atoi(rank) : 0;
	struct p_init init = {COMM, world ? atoi(world) : 1, r, r};
	struct p_allreduce ar = {COMM, 1048576, 0};
	struct p_bcast bc = {COMM, 4096, 0};

	dom = nvtxDomainCreateA("NCCL");
	register_all();
	nvtxStringHandle_t s_init = nvtxDomainRegisterStringA(dom, "ncclCommInitRank");
	nvtxStringHandle_t s_allreduce = nvtxDomainRegisterStringA(dom, "ncclAllReduce");
	nvtxStringHandle_t s_bcast = nvtxDomainRegisterStringA(dom, "ncclBroadcast");

	if (r == 1)
		us *= 10;
	range(s_init, SID_INIT, &init, sizeof(init), 300);
	for (int i = 0; i < iters; i++) {
		nvtxRangePushA("step");
		range(s_allreduce, SID_ALLREDUCE, &ar, sizeof(ar), us);
		range(s_bcast, SID_BCAST, &bc, sizeof(bc), 500);
		nvtxRangePop();
	}
	if (argc > 3 && !strcmp(argv[3], "extra"))
		extra();
	return 0;
}
