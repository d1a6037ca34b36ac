/*
 * libFuzzer target for body validation (validate.c) and the JSON paths on
 * either side of it (json_decode.c, json_encode.c).
 *
 * The first byte picks what the rest is ('a' is 0, 'b' 1, ...; other bytes
 * wrap around):
 *   0 .. NUM_TYPES-1  a JSON body, validated against one of the types of
 *                     SCHEMA below, as a request body is;
 *   NUM_TYPES         a string from the URL or a header, converted and
 *                     validated for each ---@param of SCHEMA's handler;
 *   NUM_TYPES+1       annotation text, a NUL byte, then a JSON body: when
 *                     the annotations load without problems, the body is
 *                     validated against each type they declare.
 * Every JSON body that parses is also pushed to Lua and encoded back, as a
 * handler's argument and return value are.
 *
 * Besides the sanitizers' reports it checks what clients rely on: the error
 * list is JSON text with one object per counted error, and encoding is
 * stable (what it writes is JSON text, and decodes and encodes again to the
 * same value). JSON text here is RFC 8259's, in UTF-8, with no raw control
 * characters (neither writer puts whitespace between tokens).
 */
#include <cjson/cJSON.h>
#include <lauxlib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "annotation.h"
#include "json.h"
#include "validate.h"

/* Written with long strings for patterns: Lua quoted strings know few escapes. */
static const char SCHEMA[] =
    "---@class Dims\n"
    "---@field w number\n"
    "---@field h number\n"
    "\n"
    "---@alias Status\n"
    "---| \"draft\"\n"
    "---| \"published\"\n"
    "\n"
    "---An item for sale.\n"
    "---@class Item\n"
    "---@field name string {minLength=1, maxLength=100} Display name.\n"
    "---@field price number {exclusiveMinimum=0}\n"
    "---@field tags? string[] {maxItems=3, uniqueItems=true}\n"
    "---@field status Status\n"
    "---@field dims? Dims\n"
    "---@field note? string? {default=\"none\"}\n"
    "\n"
    "---@class Special: Item\n"
    "---@field sku string {pattern=[[^[A-Z]{3}-\\d{4}$]]}\n"
    "---@field name string {pattern=[[^\\p{Lu}]], maxLength=8}\n"
    "\n"
    "---@class Contact\n"
    "---@field email string {format=\"email\"}\n"
    "---@field id string {format=\"uuid\"}\n"
    "---@field born? string {format=\"date\"}\n"
    "---@field seen? string {format=\"date-time\"}\n"
    "---@field site? string {format=\"uri\"}\n"
    "---@field v4? string {format=\"ipv4\"}\n"
    "---@field v6? string {format=\"ipv6\"}\n"
    "\n"
    "---@class Numbers\n"
    "---@field i integer {minimum=-5, maximum=1000000}\n"
    "---@field n? number {exclusiveMaximum=1e10, multipleOf=0.25}\n"
    "---@field m? integer {multipleOf=3, exclusiveMinimum=-1e300}\n"
    "---@field b? boolean\n"
    "---@field any? any\n"
    "---@field t? table\n"
    "---@field lit? 1|2|\"three\"\n"
    "---@field opt? nil|string\n"
    "---@field huge? integer[] {minItems=2}\n"
    "\n"
    "---@class Tree\n"
    "---@field label string\n"
    "---@field children? Tree[] {maxItems=4}\n"
    "---@field meta? table<string, integer|string|boolean>\n"
    "\n"
    "---@alias Shape Dims|Item|{ kind: \"circle\", r: number }\n"
    "---@alias Counts table<string, integer>\n"
    "---@alias Ids integer[] {minItems=1, maxItems=50, uniqueItems=true}\n"
    "---@alias Matrix number[][]\n"
    "---@alias Deep (string|integer|Deep[])[]?\n"
    "\n"
    "---@param id integer {minimum=1}\n"
    "---@param q? string {maxLength=5, pattern=[[^[a-z]*$]]}\n"
    "---@param limit? integer {default=10, maximum=100}\n"
    "---@param flag? boolean\n"
    "---@param ratio? number {minimum=0}\n"
    "---@param kind? \"a\"|\"b\"\n"
    "---@param mix? integer|string\n"
    "---@param n? 1|2|3\n"
    "---@param day? string {format=\"date\"}\n"
    "---@param when? string {format=\"date-time\"}\n"
    "---@param ip? string {format=\"ipv6\"}\n"
    "---@param st? Status\n"
    "---@param tag? string[] {maxItems=2}\n"
    "---@param x_id? string {in=\"header\", format=\"uuid\"}\n"
    "app:get(\"/items/{id}\", function() end)\n";

static const char *const TYPES[] = {"Item",   "Special", "Contact", "Numbers", "Tree", "Shape",
                                    "Counts", "Ids",     "Matrix",  "Deep",    "Status"};
#define NUM_TYPES (sizeof(TYPES) / sizeof(TYPES[0]))
#define MODE_STRING NUM_TYPES
#define MODE_ANNOTATION (NUM_TYPES + 1)
#define NUM_MODES (NUM_TYPES + 2)

/* Annotations from the input may declare many types; the first few are enough. */
#define MAX_FUZZED_TYPES 8

static mt_schema_t *schema;         /* SCHEMA, loaded once */
static const mt_type_t *types[NUM_TYPES];
static const mt_handler_doc_t *doc; /* its handler */
static lua_State *L;

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_validate: %s\n", what);
        abort();
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    schema = mt_schema_new();
    mt_annotation_scan(schema, "schema.lua", SCHEMA, sizeof(SCHEMA) - 1);
    mt_schema_resolve(schema);
    for (size_t i = 0; i != schema->num_problems; i++)
        fprintf(stderr, "fuzz_validate: %s\n", schema->problems[i]);
    check(schema->num_problems == 0, "the built-in schema does not load");
    for (size_t i = 0; i != NUM_TYPES; i++) {
        const mt_named_type_t *named = mt_schema_find_type(schema, TYPES[i]);
        check(named != NULL, "a type of the built-in schema is missing");
        types[i] = named->type;
    }
    check(schema->num_docs == 1, "the built-in schema has no handler");
    doc = schema->docs;
    L = luaL_newstate();
    check(L != NULL, "no Lua state");
    mt_json_init(L);
    return 0;
}

/* RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF. */
static int valid_utf8(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text, *end = s + len;
    while (s < end) {
        unsigned c = *s;
        size_t n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
        if (n == 0 || n > (size_t)(end - s))
            return 0;
        unsigned cp = n == 1 ? c : c & (0x7f >> n);
        for (size_t i = 1; i < n; i++) {
            if ((s[i] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((n == 3 && cp < 0x800) || (cp >= 0xd800 && cp <= 0xdfff) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
            return 0;
        s += n;
    }
    return 1;
}

/*
 * Parses what moontide wrote, or NULL when it is no JSON text. Not with
 * mt_json_parse: bodies are held to more than RFC 8259 (no \u0000), output is not.
 */
static cJSON *json_text(const char *text, size_t len)
{
    for (size_t i = 0; i != len; i++)
        if ((unsigned char)text[i] < 0x20)
            return NULL;
    if (!valid_utf8(text, len))
        return NULL;
    const char *end = NULL;
    cJSON *parsed = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (parsed != NULL && end != text + len) {
        cJSON_Delete(parsed);
        return NULL;
    }
    return parsed;
}

/* The error list, wrapped in [ ], must be JSON with one object per counted error. */
static void check_errors(const mt_verrors_t *errors, const mt_buf_t *out)
{
    mt_buf_t list = {0};
    mt_buf_append(&list, "[", 1);
    if (out->len != 0)
        mt_buf_append(&list, out->data, out->len);
    mt_buf_append(&list, "]", 1);
    cJSON *parsed = json_text(list.data, list.len);
    check(parsed != NULL, "the error list is not JSON text");
    check((size_t)cJSON_GetArraySize(parsed) == errors->count, "the error count differs from the error list");
    for (const cJSON *e = parsed->child; e != NULL; e = e->next) {
        check(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "type")), "an error without a type");
        check(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(e, "loc")), "an error without a loc");
        check(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "msg")), "an error without a msg");
    }
    cJSON_Delete(parsed);
    mt_buf_free(&list);
}

static void validate_body(const mt_type_t *type, const cJSON *body)
{
    mt_buf_t out = {0};
    mt_verrors_t errors;
    mt_verrors_init(&errors, &out, "body");
    size_t added = mt_validate_json(type, body, &errors);
    check(added == errors.count, "mt_validate_json miscounted its errors");
    check(errors.depth == 1, "the loc stack is unbalanced after validation");
    check_errors(&errors, &out);
    mt_buf_free(&out);
}

static void validate_string(const mt_type_t *type, const char *text, size_t len)
{
    mt_buf_t out = {0};
    mt_verrors_t errors;
    mt_verrors_init(&errors, &out, "query");
    cJSON *value = mt_validate_string(type, text, len, &errors);
    check((value != NULL) == (errors.count == 0), "mt_validate_string returned a value with errors, or none without");
    check_errors(&errors, &out);
    cJSON_Delete(value);
    mt_buf_free(&out);
}

/* Pushes a value to Lua and encodes it; returns the JSON text's tree, or NULL when it cannot be encoded. */
static cJSON *round_trip(const cJSON *value)
{
    int top = lua_gettop(L);
    if (mt_json_push(L, value) != 0) { /* nested too deeply */
        check(lua_gettop(L) == top, "mt_json_push left the stack unbalanced");
        return NULL;
    }
    check(lua_gettop(L) == top + 1, "mt_json_push pushed other than one value");
    mt_buf_t out = {0};
    const char *reason = NULL;
    int rc = mt_json_encode(L, -1, &out, &reason);
    check(lua_gettop(L) == top + 1, "mt_json_encode left the stack unbalanced");
    lua_settop(L, top);
    cJSON *parsed = NULL;
    if (rc == 0) {
        parsed = json_text(out.data, out.len);
        check(parsed != NULL, "mt_json_encode wrote something that is not JSON text");
    } else {
        check(reason != NULL, "mt_json_encode failed without a reason");
    }
    mt_buf_free(&out);
    return parsed;
}

/*
 * Encoding writes invalid UTF-8 as U+FFFD, so two keys that differ only there
 * come out the same: for such input the value settles one round trip later.
 */
static void push_and_encode(const cJSON *body, int utf8)
{
    cJSON *once = round_trip(body);
    if (once == NULL)
        return;
    cJSON *twice = round_trip(once);
    check(twice != NULL, "what mt_json_encode wrote cannot be encoded again");
    if (!utf8) {
        cJSON *thrice = round_trip(twice);
        check(thrice != NULL, "what mt_json_encode wrote cannot be encoded again");
        cJSON_Delete(once);
        once = twice;
        twice = thrice;
    }
    check(cJSON_Compare(once, twice, 1), "encoding is not stable: a second round trip changed the value");
    cJSON_Delete(once);
    cJSON_Delete(twice);
}

static void fuzz_body(const mt_type_t *const *against, size_t count, const char *text, size_t len)
{
    mt_json_error_t err;
    cJSON *body = mt_json_parse(text, len, &err);
    if (body == NULL) {
        check(err.reason != NULL && err.offset <= len, "a parse error without a reason, or past the end of the input");
        return;
    }
    for (size_t i = 0; i != count; i++)
        validate_body(against[i], body);
    push_and_encode(body, valid_utf8(text, len));
    cJSON_Delete(body);
}

static void fuzz_annotations(const char *data, size_t size)
{
    const char *nul = memchr(data, '\0', size);
    if (nul == NULL)
        return;
    mt_schema_t *fuzzed = mt_schema_new();
    mt_annotation_scan(fuzzed, "fuzz.lua", data, (size_t)(nul - data));
    mt_schema_resolve(fuzzed);
    if (fuzzed->num_problems == 0) { /* an app with problems does not load: nothing is validated against it */
        const mt_type_t *against[MAX_FUZZED_TYPES];
        size_t count = 0;
        for (size_t i = 0; i != fuzzed->num_types && count < MAX_FUZZED_TYPES; i++)
            against[count++] = fuzzed->types[i].type;
        const char *body = nul + 1;
        size_t len = size - (size_t)(body - data);
        fuzz_body(against, count, body, len);
        for (size_t d = 0; d != fuzzed->num_docs; d++)
            for (size_t p = 0; p != fuzzed->docs[d].num_params && p < MAX_FUZZED_TYPES; p++)
                validate_string(fuzzed->docs[d].params[p].type, body, len);
    }
    mt_schema_free(fuzzed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t mode = (data[0] >= 'a' ? data[0] - 'a' : data[0]) % NUM_MODES;
    const char *rest = (const char *)data + 1;
    size_t len = size - 1;
    if (mode < NUM_TYPES) {
        fuzz_body(types + mode, 1, rest, len);
    } else if (mode == MODE_STRING) {
        for (size_t p = 0; p != doc->num_params; p++)
            validate_string(doc->params[p].type, rest, len);
    } else {
        fuzz_annotations(rest, len);
    }
    lua_settop(L, 0);
    return 0;
}
