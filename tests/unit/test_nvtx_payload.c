/*
 * test_nvtx_payload.c - core/nvtx_payload.c: NVTX extended payloads to jsonText, record
 * by record (wire.h GP_REC_NVTX_SCHEMA / _ENUM and the event tail built by hand, as the
 * NVTX collector sends them): the exact JSON of each entry kind, natural offsets, enums
 * registered before and after the schema, schemas per domain, several payloads of one
 * event, and what is not decoded (unknown ids, unions, pointers, variable-length arrays,
 * payloads shorter than an entry) and malformed records and tails.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/nvtx_payload.h"

#define ID(n) ((1ull << 24) + (n)) /* NVTX_PAYLOAD_SCHEMA_ID_STATIC_START + n */

/* Entry types and flags (nvToolsExtPayload.h) */
#define T_INT8	   11
#define T_UINT16   14
#define T_INT	   5
#define T_INT64	   17
#define T_UINT64   18
#define T_FLOAT	   19
#define T_DOUBLE   20
#define T_LDOUBLE  21
#define T_SIZE	   22
#define T_ADDRESS  23
#define T_CSTRING  75
#define T_REGSTR   80
#define F_POINTER  (1u << 1)
#define F_FIXED	   (1u << 4)
#define F_ZEROTERM (2u << 4)
#define F_HIDE	   (1u << 9)

/* Strings of the fake connection: id i is names[i]. */
static const char *const names[] = {NULL,	  "comm", "bytes", "op", "Sum",	       "Max",
				    "say \"hi\"", "x",	  "f",	   "d",	 "registered", "name"};

static const char *text(void *ctx, uint32_t sid)
{
	(void)ctx;
	return sid < sizeof(names) / sizeof(names[0]) ? names[sid] : NULL;
}

static uint64_t buf[1024];

/* A GP_REC_NVTX_SCHEMA of n entries in buf; its size in *size. */
static const struct gp_rec_nvtx_schema *schema(uint64_t domain, uint64_t id, uint16_t type,
					       const struct gp_nvtx_schema_entry *e, uint16_t n,
					       size_t *size)
{
	struct gp_rec_nvtx_schema *r = (void *)buf;

	memset(buf, 0, sizeof(buf));
	r->h.type = GP_REC_NVTX_SCHEMA;
	*size = sizeof(*r) + n * sizeof(*e);
	r->h.size = (uint16_t)*size;
	r->domain = domain;
	r->schema_id = id;
	r->type = type;
	r->n = n;
	memcpy(r + 1, e, n * sizeof(*e));
	return r;
}

static void add_schema(struct nvtx_schemas *s, uint64_t domain, uint64_t id, uint16_t type,
		       const struct gp_nvtx_schema_entry *e, uint16_t n)
{
	size_t size;
	const struct gp_rec_nvtx_schema *r = schema(domain, id, type, e, n, &size);

	assert_int_equal(nvtx_schemas_add_schema(s, r, size), 0);
}

static void add_redop(struct nvtx_schemas *s, uint64_t domain)
{
	struct gp_rec_nvtx_enum *r = (void *)buf;
	struct gp_nvtx_enum_entry *e = (void *)(r + 1);

	memset(buf, 0, sizeof(buf));
	r->h.type = GP_REC_NVTX_ENUM;
	r->domain = domain;
	r->schema_id = ID(11);
	r->size = 4;
	r->n = 2;
	e[0] = (struct gp_nvtx_enum_entry){.value = 0, .name_sid = 4};
	e[1] = (struct gp_nvtx_enum_entry){.value = 2, .name_sid = 5};
	assert_int_equal(nvtx_schemas_add_enum(s, r, sizeof(*r) + 2 * sizeof(*e)), 0);
}

/* An event tail of the payloads (id[i], p[i], len[i]) in t; its bytes. */
static size_t tail(uint64_t *t, int n, const uint64_t *id, const void *const *p,
		   const uint32_t *len)
{
	struct gp_nvtx_ext *x = (void *)t;
	unsigned char *q = (unsigned char *)(x + 1);

	x->n = (uint32_t)n;
	x->pad = 0;
	for (int i = 0; i < n; i++) {
		struct gp_nvtx_ext_block *b = (void *)q;

		b->schema_id = id[i];
		b->len = len[i];
		b->pad = 0;
		memset(b + 1, 0, GP_REC_ALIGN(len[i]));
		memcpy(b + 1, p[i], len[i]);
		q += sizeof(*b) + GP_REC_ALIGN(len[i]);
	}
	return (size_t)(q - (unsigned char *)t);
}

/* The JSON of one payload p (len bytes) of schema id in domain; "" when none decodes.
 * *undec: the payloads not decoded. */
static const char *json1(struct nvtx_schemas *s, uint64_t domain, uint64_t id, const void *p,
			 uint32_t len, uint64_t *undec)
{
	static char out[1024];
	uint64_t t[128], dec = 0;
	struct strbuf sb = STRBUF_INIT;
	size_t n = tail(t, 1, &id, &p, &len);

	*undec = 0;
	assert_int_equal(nvtx_ext_check(t, n), 0);
	nvtx_payload_json(s, domain, t, text, NULL, &sb, &dec, undec);
	assert_int_equal(dec + *undec, 1);
	snprintf(out, sizeof(out), "%s", sb.buf);
	strbuf_release(&sb);
	return out;
}

/* NCCL's AllReduce: uint64 communicator, size_t bytes, the reduction enum. */
struct allreduce {
	uint64_t comm;
	size_t bytes;
	int op;
};

static const struct gp_nvtx_schema_entry allreduce_e[] = {
    {.type = T_UINT64, .offset = offsetof(struct allreduce, comm), .name_sid = 1},
    {.type = T_SIZE, .offset = offsetof(struct allreduce, bytes), .name_sid = 2},
    {.type = ID(11), .offset = offsetof(struct allreduce, op), .name_sid = 3},
};

static void test_nccl_allreduce(void **state)
{
	struct nvtx_schemas *s = nvtx_schemas_new();
	struct allreduce a = {0xf000000000000002ull, 1048576, 0};
	uint64_t undec;

	(void)state;
	add_redop(s, 3);
	add_schema(s, 3, ID(5), 1, allreduce_e, 3);
	assert_string_equal(json1(s, 3, ID(5), &a, sizeof(a), &undec),
			    "{\"comm\":17293822569102704642,\"bytes\":1048576,\"op\":\"Sum\"}");
	assert_int_equal(undec, 0);
	a.op = 2;
	assert_string_equal(json1(s, 3, ID(5), &a, sizeof(a), &undec),
			    "{\"comm\":17293822569102704642,\"bytes\":1048576,\"op\":\"Max\"}");
	a.op = -1; /* not an enumerator: the C int */
	assert_string_equal(json1(s, 3, ID(5), &a, sizeof(a), &undec),
			    "{\"comm\":17293822569102704642,\"bytes\":1048576,\"op\":-1}");
	/* the same id in another domain is another schema: unknown there */
	assert_string_equal(json1(s, 4, ID(5), &a, sizeof(a), &undec), "");
	assert_int_equal(undec, 1);
	/* a payload shorter than its last entry's end: not decoded */
	assert_string_equal(json1(s, 3, ID(5), &a, 16, &undec), "");
	assert_int_equal(undec, 1);
	nvtx_schemas_free(s);
}

/* The enum registered after the schema (NCCL registers it at init: either order works). */
static void test_enum_after_schema(void **state)
{
	struct nvtx_schemas *s = nvtx_schemas_new();
	struct allreduce a = {7, 64, 2};
	uint64_t undec;

	(void)state;
	add_schema(s, 0, ID(5), 1, allreduce_e, 3);
	assert_string_equal(json1(s, 0, ID(5), &a, sizeof(a), &undec),
			    "{\"comm\":7,\"bytes\":64,\"op\":2}");
	add_redop(s, 0);
	assert_string_equal(json1(s, 0, ID(5), &a, sizeof(a), &undec),
			    "{\"comm\":7,\"bytes\":64,\"op\":\"Max\"}");
	nvtx_schemas_free(s);
}

struct kinds {
	int8_t i8;	/* 0 */
	uint16_t u16;	/* 2 */
	float f;	/* 4 */
	double d;	/* 8 */
	char name[6];	/* 16 */
	int64_t arr[2]; /* 24 */
	int hidden;	/* 40 */
	void *addr;	/* 48 */
	uint64_t reg;	/* 56 */
	int anon;	/* 64 */
};

/* Every kind, at natural offsets (all 0), names escaped, no name: "entry<i>". */
static void test_kinds(void **state)
{
	const struct gp_nvtx_schema_entry e[] = {
	    {.type = T_INT8, .name_sid = 7},
	    {.type = T_UINT16, .name_sid = 6},
	    {.type = T_FLOAT, .name_sid = 8},
	    {.type = T_DOUBLE, .name_sid = 9},
	    {.type = T_CSTRING, .array_len = 6, .name_sid = 11},
	    {.type = T_INT64, .flags = F_FIXED, .array_len = 2, .name_sid = 7},
	    {.type = T_INT, .flags = F_HIDE, .name_sid = 7},
	    {.type = T_ADDRESS, .name_sid = 7},
	    {.type = T_REGSTR, .name_sid = 10},
	    {.type = T_INT},
	};
	struct kinds k;
	struct nvtx_schemas *s = nvtx_schemas_new();
	uint64_t undec;

	(void)state;
	memset(&k, 0, sizeof(k));
	k.i8 = -128;
	k.u16 = 65535;
	k.f = 1.5f;
	k.d = -0.1;
	memcpy(k.name, "a\"b\\\n", 6); /* no NUL: all 6 bytes */
	k.arr[0] = INT64_MIN;
	k.arr[1] = 42;
	k.hidden = 5;
	k.addr = (void *)(uintptr_t)0xdead0;
	k.reg = 11; /* the string "name" */
	k.anon = 3;
	add_schema(s, 1, ID(200), 2, e, 10);
	assert_string_equal(
	    json1(s, 1, ID(200), &k, sizeof(k), &undec),
	    "{\"x\":-128,\"say \\\"hi\\\"\":65535,\"f\":1.5,\"d\":-0.10000000000000001,"
	    "\"name\":\"a\\\"b\\\\\\u000a\",\"x\":[-9223372036854775808,42],"
	    "\"x\":\"0xdead0\",\"registered\":\"name\",\"entry9\":3}");
	k.d = NAN; /* not a JSON number */
	k.f = INFINITY;
	k.reg = 999; /* not a string of the connection: the number */
	assert_non_null(
	    strstr(json1(s, 1, ID(200), &k, sizeof(k), &undec), "\"f\":null,\"d\":null,"));
	assert_non_null(strstr(json1(s, 1, ID(200), &k, sizeof(k), &undec), "\"registered\":999,"));
	nvtx_schemas_free(s);
}

/* Several payloads of one event: one object; one not decoded is left out and counted. */
static void test_several(void **state)
{
	const struct gp_nvtx_schema_entry e1[] = {{.type = T_INT, .name_sid = 7}};
	const struct gp_nvtx_schema_entry e2[] = {{.type = T_DOUBLE, .name_sid = 9}};
	struct nvtx_schemas *s = nvtx_schemas_new();
	int x = 4;
	double d = 2.5;
	uint64_t ids[3] = {ID(1), ID(99), ID(2)}, t[64], dec = 0, undec = 0;
	const void *p[3] = {&x, &x, &d};
	uint32_t len[3] = {4, 4, 8};
	struct strbuf sb = STRBUF_INIT;
	size_t n;

	(void)state;
	add_schema(s, 0, ID(1), 1, e1, 1);
	add_schema(s, 0, ID(2), 1, e2, 1);
	n = tail(t, 3, ids, p, len);
	assert_int_equal(nvtx_ext_check(t, n), 0);
	assert_int_equal(nvtx_payload_json(s, 0, t, text, NULL, &sb, &dec, &undec), 2);
	assert_string_equal(sb.buf, "{\"x\":4,\"d\":2.5}");
	assert_int_equal(dec, 2);
	assert_int_equal(undec, 1);
	/* the first not decoded: no stray comma */
	strbuf_reset(&sb);
	ids[0] = ID(98);
	n = tail(t, 3, ids, p, len);
	assert_int_equal(nvtx_payload_json(s, 0, t, text, NULL, &sb, &dec, &undec), 1);
	assert_string_equal(sb.buf, "{\"d\":2.5}");
	strbuf_release(&sb);
	nvtx_schemas_free(s);
}

/* What is not decoded: each schema's payloads count as undecoded. */
static void test_not_decoded(void **state)
{
	const struct gp_nvtx_schema_entry ptr[] = {{.type = T_INT, .flags = F_POINTER}};
	const struct gp_nvtx_schema_entry zt[] = {{.type = T_CSTRING, .flags = F_ZEROTERM}};
	const struct gp_nvtx_schema_entry ld[] = {{.type = T_LDOUBLE}};
	const struct gp_nvtx_schema_entry nested[] = {{.type = ID(1)}};
	const struct gp_nvtx_schema_entry one[] = {{.type = T_INT, .name_sid = 7}};
	struct nvtx_schemas *s = nvtx_schemas_new();
	uint64_t p[4] = {0}, undec;

	(void)state;
	add_schema(s, 0, ID(1), 1, one, 1);
	add_schema(s, 0, ID(2), 1, ptr, 1);
	add_schema(s, 0, ID(3), 1, zt, 1);
	add_schema(s, 0, ID(4), 1, ld, 1);
	add_schema(s, 0, ID(5), 1, nested, 1);
	add_schema(s, 0, ID(6), 3, one, 1); /* a union */
	add_schema(s, 0, ID(7), 0, one, 0); /* too many entries: sent without them */
	assert_string_equal(json1(s, 0, ID(1), p, 4, &undec), "{\"x\":0}");
	for (int i = 2; i <= 7; i++) {
		assert_string_equal(json1(s, 0, ID(i), p, sizeof(p), &undec), "");
		assert_int_equal(undec, 1);
	}
	/* an enum of 3 bytes (no integer type): its entries are not decoded */
	{
		struct gp_rec_nvtx_enum *r = (void *)buf;
		const struct gp_nvtx_schema_entry odd[] = {{.type = ID(12), .name_sid = 7}};

		memset(buf, 0, sizeof(buf));
		r->domain = 0;
		r->schema_id = ID(12);
		r->size = 3;
		assert_int_equal(nvtx_schemas_add_enum(s, r, sizeof(*r)), 0);
		add_schema(s, 0, ID(8), 1, odd, 1);
		assert_string_equal(json1(s, 0, ID(8), p, sizeof(p), &undec), "");
		assert_int_equal(undec, 1);
	}
	/* an enum id is no payload schema */
	add_redop(s, 0);
	assert_string_equal(json1(s, 0, ID(11), p, 4, &undec), "");
	/* re-registered: the new layout */
	add_schema(s, 0, ID(2), 1, one, 1);
	assert_string_equal(json1(s, 0, ID(2), p, 4, &undec), "{\"x\":0}");
	nvtx_schemas_free(s);
}

/* Malformed records and tails are refused, not read past their end. */
static void test_malformed(void **state)
{
	const struct gp_nvtx_schema_entry one[] = {{.type = T_INT, .name_sid = 7}};
	struct nvtx_schemas *s = nvtx_schemas_new();
	uint64_t t[64], id = ID(1);
	int x = 1;
	const void *p = &x;
	uint32_t len = 4;
	size_t size, n;
	const struct gp_rec_nvtx_schema *r;

	(void)state;
	r = schema(0, ID(1), 1, one, 1, &size);
	assert_int_equal(nvtx_schemas_add_schema(s, r, size - 8), -1); /* entries cut */
	((struct gp_rec_nvtx_schema *)r)->n = GP_NVTX_SCHEMA_ENTRIES_MAX + 1;
	assert_int_equal(nvtx_schemas_add_schema(s, r, size), -1);
	n = tail(t, 1, &id, &p, &len);
	assert_int_equal(nvtx_ext_check(t, n), 0);
	assert_int_equal(nvtx_ext_check(t, n - 8), -1); /* the block's bytes cut */
	assert_int_equal(nvtx_ext_check(t, 4), -1);
	((struct gp_nvtx_ext *)t)->n = 0;
	assert_int_equal(nvtx_ext_check(t, n), -1);
	((struct gp_nvtx_ext *)t)->n = GP_NVTX_EXT_MAX + 1;
	assert_int_equal(nvtx_ext_check(t, sizeof(t)), -1);
	((struct gp_nvtx_ext *)t)->n = 1;
	((struct gp_nvtx_ext_block *)(t + 1))->len = GP_NVTX_EXT_BYTES_MAX + 8;
	assert_int_equal(nvtx_ext_check(t, sizeof(t)), -1);
	nvtx_schemas_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nccl_allreduce), cmocka_unit_test(test_enum_after_schema),
	    cmocka_unit_test(test_kinds),	   cmocka_unit_test(test_several),
	    cmocka_unit_test(test_not_decoded),	   cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
