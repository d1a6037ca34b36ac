/*
 * The schema model: the types that annotations declare (SPEC §3), built once
 * when an app loads and owned by its generation's arena. The annotation
 * parser (annotation.c, type_parser.c) builds it, schema.c resolves names and
 * checks constraints against types, and the validator and binder read it.
 */
#ifndef MT_SCHEMA_H
#define MT_SCHEMA_H

#include <stddef.h>
#include "arena.h"

typedef enum {
    MT_TYPE_ANY,
    MT_TYPE_NIL,
    MT_TYPE_STRING,
    MT_TYPE_NUMBER,
    MT_TYPE_INTEGER,
    MT_TYPE_BOOLEAN,
    MT_TYPE_TABLE,   /* any object */
    MT_TYPE_ARRAY,   /* T[] */
    MT_TYPE_MAP,     /* table<string, T> */
    MT_TYPE_OBJECT,  /* a class, or an inline table { x: number } */
    MT_TYPE_UNION,   /* A|B */
    MT_TYPE_LITERAL, /* "draft" or 42 */
    MT_TYPE_NAME,    /* a class or alias, resolved after every file is read */
    MT_TYPE_REQUEST, /* moontide.Request */
    MT_TYPE_PROVIDED, /* a name given to app:provide: its provider makes the value */
} mt_type_kind_t;

enum {
    MT_HAS_MINIMUM = 1 << 0,
    MT_HAS_MAXIMUM = 1 << 1,
    MT_HAS_EXCLUSIVE_MINIMUM = 1 << 2,
    MT_HAS_EXCLUSIVE_MAXIMUM = 1 << 3,
    MT_HAS_MULTIPLE_OF = 1 << 4,
    MT_HAS_MIN_LENGTH = 1 << 5,
    MT_HAS_MAX_LENGTH = 1 << 6,
    MT_HAS_MIN_ITEMS = 1 << 7,
    MT_HAS_MAX_ITEMS = 1 << 8,
    MT_HAS_UNIQUE_ITEMS = 1 << 9,
    MT_HAS_PATTERN = 1 << 10,
    MT_HAS_FORMAT = 1 << 11,
};

typedef enum {
    MT_FORMAT_NONE,
    MT_FORMAT_EMAIL,
    MT_FORMAT_UUID,
    MT_FORMAT_DATE,
    MT_FORMAT_DATE_TIME,
    MT_FORMAT_URI,
    MT_FORMAT_IPV4,
    MT_FORMAT_IPV6,
} mt_format_t;

/* The {...} after a type: JSON Schema keywords plus where a parameter comes from. */
typedef struct st_mt_constraints_t {
    unsigned has; /* MT_HAS_* */
    double minimum, maximum, exclusive_minimum, exclusive_maximum, multiple_of;
    size_t min_length, max_length, min_items, max_items;
    int unique_items;
    const char *pattern;  /* as written */
    void *pattern_code;   /* pcre2_code *, compiled by schema.c */
    mt_format_t format;
    const char *default_json; /* JSON text, NULL when none */
    const char *example_json;
    int deprecated;
    const char *in;    /* "query", "header", "cookie", "path", "body"; NULL: decided by type */
    const char *alias; /* the name on the wire */
} mt_constraints_t;

typedef struct st_mt_type_t mt_type_t;

typedef struct st_mt_field_t {
    const char *name;
    int optional;
    mt_type_t *type;
    const char *description;
    const char *file;
    int line;
    /* Ready-made for the hot paths: */
    const char *wire_json; /* "wire name": as JSON text, made when the schema resolves */
    size_t wire_json_len;
    int lua_name_ref; /* registry reference to the name as a Lua string, made on first use (0: not yet) */
} mt_field_t;

/* The name a field has on the wire: its alias when it has one. */
#define MT_FIELD_WIRE_NAME(field)                                                                                          \
    ((field)->type->constraints != NULL && (field)->type->constraints->alias != NULL ? (field)->type->constraints->alias    \
                                                                                      : (field)->name)

struct st_mt_type_t {
    mt_type_kind_t kind;
    int nullable;            /* T? */
    mt_constraints_t *constraints; /* NULL when none */
    const char *file;
    int line;
    union {
        mt_type_t *items; /* ARRAY; MAP: the value type */
        struct {
            const char *name;   /* class name; NULL for an inline table */
            const char *parent; /* `: Parent`, merged in by schema.c */
            const char *description;
            mt_field_t *fields;
            size_t num_fields;
            int lua_constructor_ref; /* the function making its Lua tables (arguments.c): 0 not yet, -1 none */
        } object;
        struct {
            mt_type_t **members;
            size_t num_members;
        } any_of;
        struct {
            int is_string;
            const char *string;
            long long integer;
        } literal;
        struct {
            const char *name;
            mt_type_t *target; /* set by schema.c */
        } ref;
        struct {
            const char *name;
            size_t index; /* into the app's providers */
        } provided;
    } u;
};

#endif
