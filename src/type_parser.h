/*
 * Parsing one annotation's type expression (`string[]`, `"a"|"b"`,
 * `table<string, Item>`, `{ x: number, y?: string }`, ...) and the
 * constraints table that may follow it (`{minLength=1, in="header"}`).
 */
#ifndef MT_TYPE_PARSER_H
#define MT_TYPE_PARSER_H

#include "schema.h"

typedef struct st_mt_parse_ctx_t {
    mt_arena_t *arena;
    const char *file;
    int line;
    char *err; /* the first error, "message" without FILE:LINE */
    size_t errsize;
} mt_parse_ctx_t;

/* Parses a type at *p and moves *p past it. NULL (with ctx->err) when malformed. */
mt_type_t *mt_type_parse(mt_parse_ctx_t *ctx, const char **p);

/* Parses the Lua-syntax table at *p (at '{') and moves *p past it. NULL (with ctx->err) when malformed. */
mt_constraints_t *mt_constraints_parse(mt_parse_ctx_t *ctx, const char **p);

struct cJSON;

/* The same, from a JSON object of keyword = value (routes built in code). */
mt_constraints_t *mt_constraints_from_json(mt_parse_ctx_t *ctx, const struct cJSON *table);

#endif
