/*
 * nvtx_payload.h - NVTX extended payloads decoded to JSON text for NVTX_EVENTS.jsonText
 * (the writer's side of wire.h "NVTX extended payloads"; used by core/report_nvtx.c).
 *
 * A connection's payload schemas and enums (GP_REC_NVTX_SCHEMA, GP_REC_NVTX_ENUM) are kept
 * in a struct nvtx_schemas, keyed by (producer domain handle, schema id), as the NVTX
 * payload extension scopes them (nvtx3/nvToolsExtPayload.h: "A static payload schema ID
 * must be unique within the domain").  A payload in the layout of one of them becomes the
 * members of one flat JSON object, in the schema's order:
 *
 *   {"NCCL communicator ID":12715772615376301750,"Message size [bytes]":4096,
 *    "Reduction operation":"Sum"}
 *
 * Keys are the entries' names (an entry without a name: "entry<i>", i from 0).  Values:
 * integers of every width, size_t, the NVTX category, colour, scope, pid and tid types as
 * JSON integers (exact, unsigned ones up to 2^64 - 1); float and double as numbers with
 * their precision (%.9g, %.17g; NaN and infinities as null); an enum value as its
 * enumerator's name (a string), or as an integer when no enumerator has it; an embedded
 * fixed-size char array (CSTRING, CSTRING_UTF8, CHAR with arrayOrUnionDetail = n bytes) as
 * a string up to its first NUL; an address as a "0x..." string; a registered string handle
 * as its text; a fixed-size array (NVTX_PAYLOAD_ENTRY_FLAG_ARRAY_FIXED_SIZE) of the numeric
 * types as a JSON array.  Entries flagged NVTX_PAYLOAD_ENTRY_FLAG_HIDE are left out.
 * An entry's offset is the registered one, or (0 after the first entry) the next offset
 * of its natural alignment (x86-64 sizes: long, size_t and pointers 8 bytes), as the
 * extension's header says.
 *
 * Not decoded (the whole payload counts as undecoded): unknown schema ids, unions,
 * nested schemas, pointers and offsets to other data (NVTX_PAYLOAD_ENTRY_FLAG_POINTER,
 * _OFFSET_FROM_*), zero-terminated and variable-length arrays, long double, 128-bit and
 * 16-bit float types, wide and UTF-16/32 strings, and a payload shorter than an entry's
 * end.
 */
#ifndef GPROF_NVTX_PAYLOAD_H
#define GPROF_NVTX_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"
#include "wire.h"

/* Schemas and enums kept per connection, at most NVTX_SCHEMAS_MAX of them. */
#define NVTX_SCHEMAS_MAX 4096

struct nvtx_schemas;

/* A new, empty store (never NULL: dies on OOM).  Free with nvtx_schemas_free(). */
struct nvtx_schemas *nvtx_schemas_new(void);
/* Free s and everything it holds; NULL is a no-op. */
void nvtx_schemas_free(struct nvtx_schemas *s);

/* Add (or replace: same domain and id) the schema of record rec, which is `size` bytes
 * (header included, as on the wire).  0; -1 when the record is malformed (shorter than
 * its entries: the caller refuses it); 1 when the store already holds NVTX_SCHEMAS_MAX
 * (not kept: the caller counts it over the limit). */
int nvtx_schemas_add_schema(struct nvtx_schemas *s, const struct gp_rec_nvtx_schema *rec,
			    size_t size);
/* The same for an enum (GP_REC_NVTX_ENUM). */
int nvtx_schemas_add_enum(struct nvtx_schemas *s, const struct gp_rec_nvtx_enum *rec, size_t size);

/* String ids of the connection to text (borrowed, NULL when unknown). */
typedef const char *(*nvtx_text_fn)(void *ctx, uint32_t sid);

/* Check the extended-payload tail of a record (struct gp_nvtx_ext and its blocks, `len`
 * bytes from `tail`): 0 when well-formed (1..GP_NVTX_EXT_MAX blocks, each at most
 * GP_NVTX_EXT_BYTES_MAX bytes, all inside len), else -1. */
int nvtx_ext_check(const void *tail, size_t len);

/* Decode the payloads of a checked tail (nvtx_ext_check) of an event in producer domain
 * `domain` into one JSON object, appended to out (nothing appended when no payload
 * decodes).  Names and registered strings are looked up with text(ctx, sid).  Adds to
 * *decoded and *undecoded the payloads that did and did not decode.  Returns the
 * number that decoded. */
unsigned nvtx_payload_json(const struct nvtx_schemas *s, uint64_t domain, const void *tail,
			   nvtx_text_fn text, void *ctx, struct strbuf *out, uint64_t *decoded,
			   uint64_t *undecoded);

#endif
