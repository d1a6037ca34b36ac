/*
 * Type expressions of SPEC §3 and the constraints table after them.
 *
 *   type    := postfix ('|' postfix)*
 *   postfix := primary ('[]' | '?')*
 *   primary := NAME | STRING | INTEGER | '(' type ')' | '{' field (',' field)* '}'
 *            | 'table' '<' type ',' type '>'
 *   field   := NAME ['?'] ':' type
 *
 * A type ends where the text can no longer continue it, so what follows
 * (a constraints table or a description) needs no separator. The constraints
 * table is Lua table syntax, read into cJSON values and then checked key by
 * key; `in` is accepted as a key although it is a Lua keyword.
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "type_parser.h"

#define MAX_DEPTH 32

static void *fail(mt_parse_ctx_t *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void *fail(mt_parse_ctx_t *ctx, const char *fmt, ...)
{
    if (ctx->err[0] == '\0') {
        va_list args;
        va_start(args, fmt);
        vsnprintf(ctx->err, ctx->errsize, fmt, args);
        va_end(args);
    }
    return NULL;
}

static void skip_space(const char **p)
{
    while (**p == ' ' || **p == '\t')
        (*p)++;
}

static int is_name_start(char c)
{
    return isalpha((unsigned char)c) || c == '_';
}

static int is_name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-';
}

static mt_type_t *new_type(mt_parse_ctx_t *ctx, mt_type_kind_t kind)
{
    mt_type_t *type = mt_arena_alloc(ctx->arena, sizeof(*type));
    type->kind = kind;
    type->file = ctx->file;
    type->line = ctx->line;
    return type;
}

/* A quoted string with Lua's escapes; returns its value in the arena, *p past the closing quote. */
static char *parse_quoted(mt_parse_ctx_t *ctx, const char **p)
{
    char quote = **p;
    const char *s = *p + 1;
    size_t cap = strlen(s) + 1, len = 0;
    char *out = mt_arena_alloc(ctx->arena, cap);
    for (; *s != quote; s++) {
        if (*s == '\0')
            return fail(ctx, "unfinished string %c...", quote);
        if (*s != '\\') {
            out[len++] = *s;
            continue;
        }
        switch (*++s) {
        case 'n': out[len++] = '\n'; break;
        case 't': out[len++] = '\t'; break;
        case 'r': out[len++] = '\r'; break;
        case '\\': out[len++] = '\\'; break;
        case '"': out[len++] = '"'; break;
        case '\'': out[len++] = '\''; break;
        default:
            if (isdigit((unsigned char)*s)) {
                int value = 0, digits = 0;
                while (digits < 3 && isdigit((unsigned char)*s))
                    value = value * 10 + (*s++ - '0'), digits++;
                s--;
                if (value > 255)
                    return fail(ctx, "escape \\%d is not a byte", value);
                out[len++] = (char)value;
            } else {
                return fail(ctx, "unknown escape \\%c in a string (write \\\\ for a backslash, or use [[...]])", *s);
            }
        }
    }
    *p = s + 1;
    out[len] = '\0';
    return out;
}

/* [[...]] or [=[...]=]: no escapes, handy for regular expressions. */
static char *parse_long_string(mt_parse_ctx_t *ctx, const char **p)
{
    const char *s = *p + 1;
    int level = 0;
    while (*s == '=')
        level++, s++;
    if (*s != '[')
        return fail(ctx, "expected [[ to start a long string");
    const char *start = ++s;
    for (; *s != '\0'; s++) {
        if (*s != ']')
            continue;
        const char *e = s + 1;
        int eq = 0;
        while (*e == '=')
            eq++, e++;
        if (eq == level && *e == ']') {
            *p = e + 1;
            return mt_arena_strndup(ctx->arena, start, (size_t)(s - start));
        }
    }
    return fail(ctx, "unfinished long string [[...");
}

static mt_type_t *parse_union(mt_parse_ctx_t *ctx, const char **p, int depth);

static mt_type_t *parse_inline_table(mt_parse_ctx_t *ctx, const char **p, int depth)
{
    mt_type_t *type = new_type(ctx, MT_TYPE_OBJECT);
    size_t cap = 0;
    (*p)++; /* '{' */
    for (;;) {
        skip_space(p);
        if (**p == '}') {
            (*p)++;
            return type;
        }
        if (!is_name_start(**p))
            return fail(ctx, "expected a field name in the inline table, found '%.10s'", *p);
        const char *name = *p;
        while (isalnum((unsigned char)**p) || **p == '_')
            (*p)++;
        mt_field_t field = {.name = mt_arena_strndup(ctx->arena, name, (size_t)(*p - name)), .file = ctx->file,
                            .line = ctx->line};
        if (**p == '?')
            field.optional = 1, (*p)++;
        skip_space(p);
        if (**p != ':')
            return fail(ctx, "expected ':' after field '%s' in the inline table", field.name);
        (*p)++;
        skip_space(p);
        if ((field.type = parse_union(ctx, p, depth + 1)) == NULL)
            return NULL;
        for (size_t i = 0; i != type->u.object.num_fields; i++)
            if (strcmp(type->u.object.fields[i].name, field.name) == 0)
                return fail(ctx, "field '%s' appears twice in the inline table", field.name);
        if (type->u.object.num_fields == cap) {
            cap = cap ? cap * 2 : 4;
            mt_field_t *grown = mt_arena_alloc(ctx->arena, cap * sizeof(*grown));
            if (type->u.object.num_fields)
                memcpy(grown, type->u.object.fields, type->u.object.num_fields * sizeof(*grown));
            type->u.object.fields = grown;
        }
        type->u.object.fields[type->u.object.num_fields++] = field;
        skip_space(p);
        if (**p == ',')
            (*p)++;
        else if (**p != '}')
            return fail(ctx, "expected ',' or '}' in the inline table, found '%.10s'", *p);
    }
}

static const struct {
    const char *name;
    mt_type_kind_t kind;
} builtin_types[] = {
    {"string", MT_TYPE_STRING}, {"number", MT_TYPE_NUMBER},   {"integer", MT_TYPE_INTEGER},
    {"boolean", MT_TYPE_BOOLEAN}, {"any", MT_TYPE_ANY},       {"table", MT_TYPE_TABLE},
    {"nil", MT_TYPE_NIL},       {"moontide.Request", MT_TYPE_REQUEST},
};

static mt_type_t *parse_primary(mt_parse_ctx_t *ctx, const char **p, int depth)
{
    if (depth > MAX_DEPTH)
        return fail(ctx, "type nested too deeply");
    skip_space(p);
    char c = **p;
    if (c == '(') {
        (*p)++;
        mt_type_t *inner = parse_union(ctx, p, depth + 1);
        if (inner == NULL)
            return NULL;
        skip_space(p);
        if (**p != ')')
            return fail(ctx, "expected ')' to close '('");
        (*p)++;
        return inner;
    }
    if (c == '{')
        return parse_inline_table(ctx, p, depth);
    if (c == '"' || c == '\'') {
        mt_type_t *type = new_type(ctx, MT_TYPE_LITERAL);
        type->u.literal.is_string = 1;
        if ((type->u.literal.string = parse_quoted(ctx, p)) == NULL)
            return NULL;
        return type;
    }
    if (isdigit((unsigned char)c) || (c == '-' && isdigit((unsigned char)(*p)[1]))) {
        char *end;
        errno = 0;
        long long value = strtoll(*p, &end, 10);
        if (errno != 0 || *end == '.')
            return fail(ctx, "a literal type must be a string or an integer, found '%.20s'", *p);
        mt_type_t *type = new_type(ctx, MT_TYPE_LITERAL);
        type->u.literal.integer = value;
        *p = end;
        return type;
    }
    if (!is_name_start(c))
        return fail(ctx, c == '\0' ? "a type is missing" : "expected a type, found '%.20s'", *p);
    const char *start = *p;
    while (is_name_char(**p))
        (*p)++;
    size_t len = (size_t)(*p - start);
    if (len == 5 && memcmp(start, "table", 5) == 0 && **p == '<') {
        (*p)++;
        mt_type_t *key = parse_union(ctx, p, depth + 1);
        if (key == NULL)
            return NULL;
        if (key->kind != MT_TYPE_STRING || key->nullable)
            return fail(ctx, "a map's keys must be strings: write table<string, T>");
        skip_space(p);
        if (**p != ',')
            return fail(ctx, "expected ',' in table<string, T>");
        (*p)++;
        mt_type_t *type = new_type(ctx, MT_TYPE_MAP);
        if ((type->u.items = parse_union(ctx, p, depth + 1)) == NULL)
            return NULL;
        skip_space(p);
        if (**p != '>')
            return fail(ctx, "expected '>' to close table<string, T>");
        (*p)++;
        return type;
    }
    for (size_t i = 0; i < sizeof(builtin_types) / sizeof(builtin_types[0]); i++)
        if (strlen(builtin_types[i].name) == len && memcmp(builtin_types[i].name, start, len) == 0)
            return new_type(ctx, builtin_types[i].kind);
    mt_type_t *type = new_type(ctx, MT_TYPE_NAME);
    type->u.ref.name = mt_arena_strndup(ctx->arena, start, len);
    return type;
}

static mt_type_t *parse_postfix(mt_parse_ctx_t *ctx, const char **p, int depth)
{
    mt_type_t *type = parse_primary(ctx, p, depth);
    while (type != NULL) {
        if (++depth > MAX_DEPTH) /* each [] nests the type one level deeper */
            return fail(ctx, "type nested too deeply");
        if ((*p)[0] == '[' && (*p)[1] != ']')
            return fail(ctx, "expected ']' after '[' (an array is written T[])");
        if ((*p)[0] == '[' && (*p)[1] == ']') {
            mt_type_t *array = new_type(ctx, MT_TYPE_ARRAY);
            array->u.items = type;
            type = array;
            *p += 2;
        } else if (**p == '?') {
            type->nullable = 1;
            (*p)++;
        } else {
            break;
        }
    }
    return type;
}

static mt_type_t *parse_union(mt_parse_ctx_t *ctx, const char **p, int depth)
{
    mt_type_t *first = parse_postfix(ctx, p, depth);
    if (first == NULL)
        return NULL;
    const char *after = *p;
    skip_space(&after);
    if (*after != '|')
        return first;
    mt_type_t *type = new_type(ctx, MT_TYPE_UNION);
    size_t cap = 0;
    for (mt_type_t *member = first;;) {
        if (member->kind == MT_TYPE_NIL) { /* A|nil and nil|A are A? */
            type->nullable = 1;
        } else {
            if (type->u.any_of.num_members == cap) {
                mt_type_t **grown = mt_arena_alloc(ctx->arena, (cap ? cap * 2 : 4) * sizeof(*grown));
                if (cap != 0)
                    memcpy(grown, type->u.any_of.members, cap * sizeof(*grown));
                type->u.any_of.members = grown;
                cap = cap ? cap * 2 : 4;
            }
            type->u.any_of.members[type->u.any_of.num_members++] = member;
        }
        if (*after != '|')
            break;
        *p = after + 1;
        if ((member = parse_postfix(ctx, p, depth)) == NULL)
            return NULL;
        after = *p;
        skip_space(&after);
    }
    if (type->u.any_of.num_members == 1) { /* only `T|nil` */
        mt_type_t *only = type->u.any_of.members[0];
        only->nullable |= type->nullable;
        return only;
    }
    return type;
}

mt_type_t *mt_type_parse(mt_parse_ctx_t *ctx, const char **p)
{
    mt_type_t *type = parse_union(ctx, p, 0);
    if (type != NULL && type->kind == MT_TYPE_NIL)
        return fail(ctx, "nil alone is not a type a value can have");
    return type;
}

/* ---- constraints: a Lua table literal read into cJSON ---- */

static cJSON *parse_lua_value(mt_parse_ctx_t *ctx, const char **p, int depth);

static cJSON *parse_lua_table(mt_parse_ctx_t *ctx, const char **p, int depth)
{
    if (depth > MAX_DEPTH)
        return fail(ctx, "table nested too deeply");
    (*p)++; /* '{' */
    cJSON *array = cJSON_CreateArray(), *object = cJSON_CreateObject();
    for (;;) {
        skip_space(p);
        if (**p == '}') {
            (*p)++;
            break;
        }
        char *key = NULL;
        if (is_name_start(**p)) {
            const char *start = *p;
            while (isalnum((unsigned char)**p) || **p == '_')
                (*p)++;
            const char *end = *p;
            skip_space(p);
            if (**p == '=') {
                key = mt_arena_strndup(ctx->arena, start, (size_t)(end - start));
                (*p)++;
            } else {
                *p = start; /* not a key: a value such as true */
            }
        } else if ((*p)[0] == '[' && ((*p)[1] == '"' || (*p)[1] == '\'')) {
            (*p)++;
            if ((key = parse_quoted(ctx, p)) == NULL)
                goto fail;
            skip_space(p);
            if (**p != ']')
                goto expected_bracket;
            (*p)++;
            skip_space(p);
            if (**p != '=')
                goto expected_equals;
            (*p)++;
        }
        cJSON *value = parse_lua_value(ctx, p, depth + 1);
        if (value == NULL)
            goto fail;
        if (key != NULL) {
            if (cJSON_GetObjectItemCaseSensitive(object, key) != NULL) {
                cJSON_Delete(value);
                fail(ctx, "key '%s' appears twice", key);
                goto fail;
            }
            cJSON_AddItemToObject(object, key, value);
        } else {
            cJSON_AddItemToArray(array, value);
        }
        skip_space(p);
        if (**p == ',' || **p == ';')
            (*p)++;
        else if (**p != '}') {
            fail(ctx, "expected ',' or '}' in the table, found '%.10s'", *p);
            goto fail;
        }
    }
    if (cJSON_GetArraySize(array) != 0 && cJSON_GetArraySize(object) != 0) {
        fail(ctx, "a table mixes list items and keys");
        goto fail;
    }
    if (cJSON_GetArraySize(array) != 0) {
        cJSON_Delete(object);
        return array;
    }
    cJSON_Delete(array);
    return object;
expected_bracket:
    fail(ctx, "expected ']' after a [\"key\"]");
    goto fail;
expected_equals:
    fail(ctx, "expected '=' after a key");
fail:
    cJSON_Delete(array);
    cJSON_Delete(object);
    return NULL;
}

static cJSON *parse_lua_value(mt_parse_ctx_t *ctx, const char **p, int depth)
{
    skip_space(p);
    const char *s = *p;
    if (*s == '{')
        return parse_lua_table(ctx, p, depth);
    if (*s == '"' || *s == '\'') {
        char *str = parse_quoted(ctx, p);
        return str != NULL ? cJSON_CreateString(str) : NULL;
    }
    if (*s == '[' && (s[1] == '[' || s[1] == '=')) {
        char *str = parse_long_string(ctx, p);
        return str != NULL ? cJSON_CreateString(str) : NULL;
    }
    if (strncmp(s, "true", 4) == 0 && !is_name_char(s[4])) {
        *p += 4;
        return cJSON_CreateTrue();
    }
    if (strncmp(s, "false", 5) == 0 && !is_name_char(s[5])) {
        *p += 5;
        return cJSON_CreateFalse();
    }
    if (strncmp(s, "nil", 3) == 0 && !is_name_char(s[3])) {
        *p += 3;
        return cJSON_CreateNull();
    }
    if (isdigit((unsigned char)*s) || ((*s == '-' || *s == '.') && (isdigit((unsigned char)s[1]) || s[1] == '.'))) {
        char *end;
        errno = 0;
        double n = strtod(s, &end);
        if (end == s || errno != 0 || !isfinite(n))
            return fail(ctx, "'%.20s' is not a number", s);
        *p = end;
        return cJSON_CreateNumber(n);
    }
    return fail(ctx, "expected a value (a number, a string, true, false or a table), found '%.20s'", s);
}

static const struct {
    const char *name;
    mt_format_t format;
} formats[] = {
    {"email", MT_FORMAT_EMAIL}, {"uuid", MT_FORMAT_UUID}, {"date", MT_FORMAT_DATE}, {"date-time", MT_FORMAT_DATE_TIME},
    {"uri", MT_FORMAT_URI},     {"ipv4", MT_FORMAT_IPV4}, {"ipv6", MT_FORMAT_IPV6},
};

static int set_number(mt_parse_ctx_t *ctx, const cJSON *item, double *out)
{
    if (!cJSON_IsNumber(item)) {
        fail(ctx, "constraint '%s' must be a number", item->string);
        return -1;
    }
    *out = item->valuedouble;
    return 0;
}

static int set_count(mt_parse_ctx_t *ctx, const cJSON *item, size_t *out)
{
    double n = item->valuedouble;
    if (!cJSON_IsNumber(item) || n < 0 || n != floor(n) || n > 1e15) {
        fail(ctx, "constraint '%s' must be a whole number, 0 or more", item->string);
        return -1;
    }
    *out = (size_t)n;
    return 0;
}

static const char *arena_json(mt_parse_ctx_t *ctx, const cJSON *item)
{
    char *text = cJSON_PrintUnformatted(item);
    char *copy = mt_arena_strndup(ctx->arena, text, strlen(text));
    cJSON_free(text);
    return copy;
}

static int apply_constraint(mt_parse_ctx_t *ctx, mt_constraints_t *c, const cJSON *item)
{
    const char *key = item->string;
#define NUMBER(name, field, flag)                                                                                          \
    if (strcmp(key, name) == 0) {                                                                                          \
        c->has |= flag;                                                                                                    \
        return set_number(ctx, item, &c->field);                                                                           \
    }
#define COUNT(name, field, flag)                                                                                           \
    if (strcmp(key, name) == 0) {                                                                                          \
        c->has |= flag;                                                                                                    \
        return set_count(ctx, item, &c->field);                                                                            \
    }
    NUMBER("minimum", minimum, MT_HAS_MINIMUM)
    NUMBER("maximum", maximum, MT_HAS_MAXIMUM)
    NUMBER("exclusiveMinimum", exclusive_minimum, MT_HAS_EXCLUSIVE_MINIMUM)
    NUMBER("exclusiveMaximum", exclusive_maximum, MT_HAS_EXCLUSIVE_MAXIMUM)
    COUNT("minLength", min_length, MT_HAS_MIN_LENGTH)
    COUNT("maxLength", max_length, MT_HAS_MAX_LENGTH)
    COUNT("minItems", min_items, MT_HAS_MIN_ITEMS)
    COUNT("maxItems", max_items, MT_HAS_MAX_ITEMS)
#undef NUMBER
#undef COUNT
    if (strcmp(key, "multipleOf") == 0) {
        c->has |= MT_HAS_MULTIPLE_OF;
        if (set_number(ctx, item, &c->multiple_of) != 0)
            return -1;
        if (!(c->multiple_of > 0)) {
            fail(ctx, "constraint 'multipleOf' must be greater than 0");
            return -1;
        }
        return 0;
    }
    if (strcmp(key, "uniqueItems") == 0 || strcmp(key, "deprecated") == 0) {
        if (!cJSON_IsBool(item)) {
            fail(ctx, "constraint '%s' must be true or false", key);
            return -1;
        }
        if (key[0] == 'u') {
            c->unique_items = cJSON_IsTrue(item);
            c->has |= MT_HAS_UNIQUE_ITEMS;
        } else {
            c->deprecated = cJSON_IsTrue(item);
        }
        return 0;
    }
    if (strcmp(key, "default") == 0) {
        c->default_json = arena_json(ctx, item);
        return 0;
    }
    if (strcmp(key, "example") == 0) {
        c->example_json = arena_json(ctx, item);
        return 0;
    }
    if (!cJSON_IsString(item)) {
        if (strcmp(key, "pattern") == 0 || strcmp(key, "format") == 0 || strcmp(key, "in") == 0 ||
            strcmp(key, "alias") == 0) {
            fail(ctx, "constraint '%s' must be a string", key);
            return -1;
        }
        fail(ctx, "unknown constraint '%s'", key);
        return -1;
    }
    const char *value = mt_arena_strndup(ctx->arena, item->valuestring, strlen(item->valuestring));
    if (strcmp(key, "pattern") == 0) {
        c->pattern = value;
        c->has |= MT_HAS_PATTERN;
    } else if (strcmp(key, "format") == 0) {
        for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
            if (strcmp(formats[i].name, value) == 0)
                c->format = formats[i].format;
        if (c->format == MT_FORMAT_NONE) {
            fail(ctx, "unknown format '%s' (known: email, uuid, date, date-time, uri, ipv4, ipv6)", value);
            return -1;
        }
        c->has |= MT_HAS_FORMAT;
    } else if (strcmp(key, "in") == 0) {
        static const char *places[] = {"query", "header", "cookie", "path", "body"};
        for (size_t i = 0; i < 5; i++)
            if (strcmp(places[i], value) == 0)
                c->in = places[i];
        if (c->in == NULL) {
            fail(ctx, "'in' must be \"query\", \"header\", \"cookie\", \"path\" or \"body\", not \"%s\"", value);
            return -1;
        }
    } else if (strcmp(key, "alias") == 0) {
        c->alias = value;
    } else {
        fail(ctx, "unknown constraint '%s'", key);
        return -1;
    }
    return 0;
}

mt_constraints_t *mt_constraints_from_json(mt_parse_ctx_t *ctx, const cJSON *table)
{
    if (cJSON_IsArray(table) && cJSON_GetArraySize(table) != 0)
        return fail(ctx, "constraints are written {name=value, ...}");
    mt_constraints_t *c = mt_arena_alloc(ctx->arena, sizeof(*c));
    for (const cJSON *item = table->child; item != NULL; item = item->next)
        if (apply_constraint(ctx, c, item) != 0)
            return NULL;
    return c;
}

mt_constraints_t *mt_constraints_parse(mt_parse_ctx_t *ctx, const char **p)
{
    cJSON *table = parse_lua_table(ctx, p, 0);
    if (table == NULL)
        return NULL;
    mt_constraints_t *c = mt_constraints_from_json(ctx, table);
    cJSON_Delete(table);
    return c;
}
