/*
 * libFuzzer target for the annotation parser (annotation.c, type_parser.c,
 * schema.c). The input is the text of one Lua file, scanned and resolved the
 * way an app load does it; then every type in the model, nested ones
 * included, is written back with mt_type_describe. Besides the sanitizers'
 * reports, it checks what a load relies on: each problem carries the file's
 * FILE:LINE, each handler doc is found again at its line, and a description
 * always fits its buffer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "annotation.h"

#define FILE_NAME "fuzz.lua"

/* Far below what the parser allows in depth: only our own walk is limited. */
#define WALK_DEPTH 64

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_annotation: %s\n", what);
        abort();
    }
}

static void describe(const mt_type_t *type)
{
    char buf[64]; /* small, so long descriptions are truncated, never overrun */
    buf[sizeof(buf) - 1] = 'X';
    const char *text = mt_type_describe(type, buf, sizeof(buf) - 1);
    check(text == buf && strlen(buf) < sizeof(buf) - 1 && buf[sizeof(buf) - 1] == 'X',
          "mt_type_describe overran its buffer");
}

/* Describes a type and everything inside it; names are not followed (classes are walked from the type list). */
static void walk(const mt_type_t *type, int depth)
{
    if (type == NULL || depth > WALK_DEPTH)
        return;
    describe(type);
    switch (type->kind) {
    case MT_TYPE_ARRAY:
    case MT_TYPE_MAP:
        walk(type->u.items, depth + 1);
        break;
    case MT_TYPE_OBJECT:
        for (size_t i = 0; i != type->u.object.num_fields; i++) {
            check(type->u.object.fields[i].name != NULL && type->u.object.fields[i].type != NULL, "a field without a name or type");
            walk(type->u.object.fields[i].type, depth + 1);
        }
        break;
    case MT_TYPE_UNION:
        for (size_t i = 0; i != type->u.any_of.num_members; i++)
            walk(type->u.any_of.members[i], depth + 1);
        break;
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mt_schema_t *schema = mt_schema_new();
    check(schema != NULL, "out of memory");
    mt_annotation_scan(schema, FILE_NAME, (const char *)data, size);
    size_t scanned = schema->num_problems;
    size_t added = mt_schema_resolve(schema);
    check(schema->num_problems == scanned + added, "mt_schema_resolve miscounted its problems");
    for (size_t i = 0; i != schema->num_problems; i++)
        check(strncmp(schema->problems[i], FILE_NAME ":", sizeof(FILE_NAME)) == 0, "a problem without FILE:LINE");

    for (size_t i = 0; i != schema->num_types; i++) {
        const mt_named_type_t *named = schema->types + i;
        check(named->name != NULL && named->type != NULL, "a named type without a name or type");
        check(mt_schema_find_type(schema, named->name) != NULL, "a named type that mt_schema_find_type does not find");
        walk(named->type, 0);
    }
    for (size_t i = 0; i != schema->num_docs; i++) {
        const mt_handler_doc_t *doc = schema->docs + i;
        check(mt_schema_find_doc(schema, FILE_NAME, doc->line) != NULL, "a handler doc not found at its line");
        for (size_t p = 0; p != doc->num_params; p++)
            walk(doc->params[p].type, 0);
        walk(doc->returns, 0);
        for (size_t r = 0; r != doc->num_responses; r++)
            walk(doc->responses[r].type, 0);
    }
    mt_schema_free(schema);
    return 0;
}
