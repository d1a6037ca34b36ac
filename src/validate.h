/*
 * Validation in C against the schema model (SPEC §3, §4): a parsed JSON body
 * (a cJSON tree, before any Lua table exists) or a string from the path,
 * query, a header or a cookie, converted strictly. Every error is written in
 * FastAPI's (Pydantic v2's) shape, with Pydantic's type names and wording,
 * into one JSON array so a request's errors are answered together.
 */
#ifndef MT_VALIDATE_H
#define MT_VALIDATE_H

#include <cjson/cJSON.h>
#include "buf.h"
#include "schema.h"

#define MT_LOC_MAX 64

typedef struct st_mt_loc_t {
    const char *key; /* NULL for an array index */
    size_t key_len;
    long index;
} mt_loc_t;

typedef struct st_mt_verrors_t {
    mt_buf_t *out;  /* error objects, comma separated, without the enclosing [ ] */
    size_t count;
    mt_loc_t loc[MT_LOC_MAX];
    int depth;
    const char *input_text; /* when set, the input every error reports: these input_len bytes as sent, a JSON string */
    size_t input_len;
} mt_verrors_t;

/* Starts a collector writing into `out`; loc starts with `root` ("body", "query", ...). */
void mt_verrors_init(mt_verrors_t *errors, mt_buf_t *out, const char *root);
void mt_verrors_push_key(mt_verrors_t *errors, const char *key, size_t len);
void mt_verrors_push_index(mt_verrors_t *errors, long index);
void mt_verrors_pop(mt_verrors_t *errors);

/* Records one error; input_json and ctx_json (the inside of an object) may be NULL. */
void mt_verrors_add(mt_verrors_t *errors, const char *type, const char *msg, const char *input_json, const char *ctx_json);

/* Validates a JSON value (NULL: absent). Returns the number of errors it added. */
size_t mt_validate_json(const mt_type_t *type, const cJSON *value, mt_verrors_t *errors);

/*
 * Converts a string from the URL or a header to the JSON value the type
 * wants (strict: "1.5" is no integer, booleans are true/false/1/0/yes/no/on/off)
 * and validates it. Returns the value (the caller deletes it), or NULL with
 * errors added.
 */
cJSON *mt_validate_string(const mt_type_t *type, const char *text, size_t len, mt_verrors_t *errors);

/*
 * mt_validate_string without the heap, for the usual parameter types (a
 * string shorter than copy_size, an integer): the value goes into `node`, on
 * the caller's stack, a string's text into `copy`. Returns 1 when the value
 * fits, 0 with errors added, -1 when the type or text needs
 * mt_validate_string instead.
 */
int mt_validate_scalar(const mt_type_t *type, const char *text, size_t len, mt_verrors_t *errors, cJSON *node,
                       char *copy, size_t copy_size);

#endif
