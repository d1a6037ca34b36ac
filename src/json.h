/*
 * JSON between the wire and Lua, both directions in C.
 *
 * Encoding (Lua -> JSON): a table is an array when it carries the array
 * metatable (moontide.array) or when its keys are exactly 1..n; any other
 * table, including an empty one, is an object whose keys are strings or
 * numbers. moontide.null (a NULL light userdata) is JSON null. Numbers with
 * an integral value print as integers. Non-finite numbers, cycles, functions
 * and other values that JSON cannot hold are errors, never bad output.
 *
 * Decoding (JSON -> Lua) uses cJSON. Arrays get the array metatable so they
 * encode back as arrays; null is nil in an object (the key is absent) and
 * moontide.null inside an array, so positions are kept.
 */
#ifndef MT_JSON_H
#define MT_JSON_H

#include <stddef.h>
#include <lua.h>
#include "buf.h"

#define MT_JSON_MAX_DEPTH 1000

/* Creates the array metatable in the registry of L. */
void mt_json_init(lua_State *L);

/* Pushes the array metatable (a registry lookup by light userdata: no string interning). */
void mt_json_push_array_mt(lua_State *L);

/*
 * Appends the JSON text of the value at `index` to `out`. Returns 0, or -1
 * with *err set to a static message (and `out` holding a partial text the
 * caller must discard).
 */
int mt_json_encode(lua_State *L, int index, mt_buf_t *out, const char **err);

/*
 * Writes a finite number as JSON into text (32 bytes): integral values as
 * integers, others in a short form that reads back as the same double.
 * Returns the length (no NUL is written).
 */
size_t mt_json_format_number(double n, char *text);

/* Length of the valid UTF-8 sequence at s (at most `left` bytes), or 0 (overlong, surrogate, past U+10FFFF). */
size_t mt_utf8_sequence(const unsigned char *s, size_t left);

/* Appends `len` bytes of `str` as a JSON string literal, quotes included. */
int mt_json_encode_string(mt_buf_t *out, const char *str, size_t len);

typedef struct st_mt_json_error_t {
    size_t offset;      /* byte offset of the error in the input */
    const char *reason; /* static text */
} mt_json_error_t;

/*
 * Parses `len` bytes and pushes the decoded value. Returns 0, or -1 with
 * *err filled and nothing pushed. Trailing non-space bytes are an error.
 */
int mt_json_decode(lua_State *L, const char *json, size_t len, mt_json_error_t *err);

struct cJSON;

/* cJSON_IsNull and the like without a call into libcjson per value (NULL is none of them); kind is cJSON_NULL, ... */
#define MT_JSON_IS(item, kind) ((item) != NULL && ((item)->type & 0xff) == (kind))

/* Parses like mt_json_decode but returns the cJSON tree (the caller deletes it), or NULL with *err filled. */
struct cJSON *mt_json_parse(const char *json, size_t len, mt_json_error_t *err);

/* The member of a parsed JSON object named `name`, or NULL; the first one when a key repeats. */
const struct cJSON *mt_json_member(const struct cJSON *object, const char *name);

/*
 * Looks up an object's members one declared field after another: when the
 * JSON sends them in that order (the usual case), each is found with one
 * comparison instead of a scan. The answers are mt_json_member's.
 */
typedef struct st_mt_json_members_t {
    const struct cJSON *object;
    const struct cJSON *next; /* the member after the last one found */
    int in_order;             /* every member before `next` was found, so none of them repeats a later name */
} mt_json_members_t;

void mt_json_members_init(mt_json_members_t *members, const struct cJSON *object);
const struct cJSON *mt_json_members_find(mt_json_members_t *members, const char *name);

/* Pushes a cJSON value as Lua (the same mapping as mt_json_decode). Returns 0, or -1 (nothing pushed) when too deep. */
int mt_json_push(lua_State *L, const struct cJSON *item);

/*
 * Makes cJSON allocate from a region reused across requests (json_alloc.c).
 * Called once per process; memory cJSON hands out must then be released with
 * cJSON_free or cJSON_Delete, never free().
 */
void mt_json_use_region(void);

/*
 * A tree parsed wholly into the region is freed at once: mt_json_parse notes
 * the region's count of pieces before (mark) and after (parsed), and
 * mt_json_delete drops them in one step when given that tree, unchanged
 * since; any other tree goes to cJSON_Delete.
 */
typedef struct st_mt_json_region_mark_t {
    size_t live, misses;
} mt_json_region_mark_t;

mt_json_region_mark_t mt_json_region_mark(void);
void mt_json_region_parsed(const struct cJSON *root, mt_json_region_mark_t mark);
void mt_json_delete(struct cJSON *root);

#endif
