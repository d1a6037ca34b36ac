/*
 * Finishing the schema model once every file of the app has been read:
 * names are resolved (classes and aliases are shared across files, so this
 * cannot happen while scanning), parent classes are merged into their
 * children, each constraint is checked against the type it is attached to,
 * and patterns are compiled with PCRE2 (JIT when available), once per load.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "annotation.h"
#include "json.h"

#define MAX_DEPTH 64

/* What kinds of value a type accepts, through names and unions. */
enum {
    ACCEPTS_STRING = 1,
    ACCEPTS_NUMBER = 2,
    ACCEPTS_ARRAY = 4,
    ACCEPTS_OTHER = 8,
    ACCEPTS_ANYTHING = 15,
};

static unsigned accepts(const mt_type_t *type, int depth)
{
    if (type == NULL || depth > MAX_DEPTH)
        return ACCEPTS_ANYTHING;
    switch (type->kind) {
    case MT_TYPE_ANY: return ACCEPTS_ANYTHING;
    case MT_TYPE_STRING: return ACCEPTS_STRING;
    case MT_TYPE_NUMBER:
    case MT_TYPE_INTEGER: return ACCEPTS_NUMBER;
    case MT_TYPE_ARRAY: return ACCEPTS_ARRAY;
    case MT_TYPE_LITERAL: return type->u.literal.is_string ? ACCEPTS_STRING : ACCEPTS_NUMBER;
    case MT_TYPE_NAME: return accepts(type->u.ref.target, depth + 1);
    case MT_TYPE_UNION: {
        unsigned mask = 0;
        for (size_t i = 0; i != type->u.any_of.num_members; i++)
            mask |= accepts(type->u.any_of.members[i], depth + 1);
        return mask;
    }
    default: return ACCEPTS_OTHER;
    }
}

static const char *describe(const mt_type_t *type, char *buf, size_t size, int depth)
{
    static const char *names[] = {"any", "nil", "string", "number", "integer", "boolean", "table"};
    char inner[256];
    if (depth > MAX_DEPTH) {
        snprintf(buf, size, "...");
        return buf;
    }
#define mt_type_describe(t, b, n) describe((t), (b), (n), depth + 1)
    switch (type->kind) {
    case MT_TYPE_ARRAY:
        snprintf(buf, size, "%s[]", mt_type_describe(type->u.items, inner, sizeof(inner)));
        break;
    case MT_TYPE_MAP:
        snprintf(buf, size, "table<string, %s>", mt_type_describe(type->u.items, inner, sizeof(inner)));
        break;
    case MT_TYPE_OBJECT:
        snprintf(buf, size, "%s", type->u.object.name ? type->u.object.name : "{...}");
        break;
    case MT_TYPE_UNION: {
        size_t len = 0;
        buf[0] = '\0';
        for (size_t i = 0; i != type->u.any_of.num_members && len < size; i++)
            len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? "|" : "",
                                    mt_type_describe(type->u.any_of.members[i], inner, sizeof(inner)));
        break;
    }
    case MT_TYPE_LITERAL:
        if (type->u.literal.is_string)
            snprintf(buf, size, "\"%s\"", type->u.literal.string);
        else
            snprintf(buf, size, "%lld", type->u.literal.integer);
        break;
    case MT_TYPE_NAME: snprintf(buf, size, "%s", type->u.ref.name); break;
    case MT_TYPE_REQUEST: snprintf(buf, size, "moontide.Request"); break;
    case MT_TYPE_PROVIDED: snprintf(buf, size, "%s", type->u.provided.name); break;
    default: snprintf(buf, size, "%s", names[type->kind]); break;
    }
#undef mt_type_describe
    size_t len = strlen(buf);
    if (type->nullable && len + 1 < size) {
        buf[len] = '?';
        buf[len + 1] = '\0';
    }
    return buf;
}

const char *mt_type_describe(const mt_type_t *type, char *buf, size_t size)
{
    return describe(type, buf, size, 0);
}

/*
 * ECMA-262 (JSON Schema's regex dialect) knows Unicode properties by their
 * long names; PCRE2 10.42 only by the short ones.
 */
static const char *rewrite_properties(mt_schema_t *schema, const char *pattern)
{
    static const char *names[][2] = {
        {"Letter", "L"},          {"Cased_Letter", "LC"},   {"Uppercase_Letter", "Lu"}, {"Lowercase_Letter", "Ll"},
        {"Titlecase_Letter", "Lt"}, {"Modifier_Letter", "Lm"}, {"Other_Letter", "Lo"},  {"Mark", "M"},
        {"Number", "N"},          {"Decimal_Number", "Nd"}, {"digit", "Nd"},           {"Letter_Number", "Nl"},
        {"Other_Number", "No"},   {"Punctuation", "P"},     {"Symbol", "S"},           {"Separator", "Z"},
        {"Space_Separator", "Zs"}, {"Other", "C"},          {"Control", "Cc"},
    };
    if (strstr(pattern, "\\p{") == NULL && strstr(pattern, "\\P{") == NULL)
        return pattern;
    size_t len = strlen(pattern);
    char *out = mt_arena_alloc(&schema->arena, len + 1), *o = out;
    for (const char *p = pattern; *p != '\0';) {
        if (p[0] == '\\' && (p[1] == 'p' || p[1] == 'P') && p[2] == '{') {
            const char *close = strchr(p + 3, '}');
            for (size_t i = 0; close != NULL && i < sizeof(names) / sizeof(names[0]); i++) {
                if ((size_t)(close - p - 3) == strlen(names[i][0]) && memcmp(p + 3, names[i][0], strlen(names[i][0])) == 0) {
                    o += sprintf(o, "\\%c{%s}", p[1], names[i][1]);
                    p = close + 1;
                    goto next;
                }
            }
        }
        if (p[0] == '\\' && p[1] != '\0')
            *o++ = *p++; /* an escaped character is copied with its backslash */
        *o++ = *p++;
    next:;
    }
    *o = '\0';
    return out;
}

static void compile_pattern(mt_schema_t *schema, mt_type_t *type)
{
    mt_constraints_t *c = type->constraints;
    int code;
    PCRE2_SIZE offset;
    /* ECMA-262 semantics: $ only at the very end, \d and \w ASCII-only (no PCRE2_UCP) */
    const char *pattern = rewrite_properties(schema, c->pattern);
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_DOLLAR_ENDONLY, &code,
                                   &offset, NULL);
    if (re == NULL) {
        PCRE2_UCHAR message[256];
        pcre2_get_error_message(code, message, sizeof(message));
        mt_schema_problem(schema, type->file, type->line, "pattern '%s' is not a valid regular expression: %s (at "
                          "character %zu)", c->pattern, (char *)message, (size_t)offset);
        return;
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* falls back to the interpreter when JIT is unavailable */
    void **grown = realloc(schema->patterns, (schema->num_patterns + 1) * sizeof(void *));
    if (grown == NULL) {
        pcre2_code_free(re);
        return;
    }
    schema->patterns = grown;
    grown[schema->num_patterns++] = re;
    c->pattern_code = re;
}

/* Each constraint has to make sense for the values the type accepts. */
static void check_constraints(mt_schema_t *schema, mt_type_t *type)
{
    mt_constraints_t *c = type->constraints;
    unsigned mask = accepts(type, 0);
    char name[256];
    static const struct {
        unsigned flag;
        const char *keyword;
        unsigned needs;
        const char *what;
    } rules[] = {
        {MT_HAS_MIN_LENGTH, "minLength", ACCEPTS_STRING, "strings"},
        {MT_HAS_MAX_LENGTH, "maxLength", ACCEPTS_STRING, "strings"},
        {MT_HAS_PATTERN, "pattern", ACCEPTS_STRING, "strings"},
        {MT_HAS_FORMAT, "format", ACCEPTS_STRING, "strings"},
        {MT_HAS_MINIMUM, "minimum", ACCEPTS_NUMBER, "numbers"},
        {MT_HAS_MAXIMUM, "maximum", ACCEPTS_NUMBER, "numbers"},
        {MT_HAS_EXCLUSIVE_MINIMUM, "exclusiveMinimum", ACCEPTS_NUMBER, "numbers"},
        {MT_HAS_EXCLUSIVE_MAXIMUM, "exclusiveMaximum", ACCEPTS_NUMBER, "numbers"},
        {MT_HAS_MULTIPLE_OF, "multipleOf", ACCEPTS_NUMBER, "numbers"},
        {MT_HAS_MIN_ITEMS, "minItems", ACCEPTS_ARRAY, "arrays"},
        {MT_HAS_MAX_ITEMS, "maxItems", ACCEPTS_ARRAY, "arrays"},
        {MT_HAS_UNIQUE_ITEMS, "uniqueItems", ACCEPTS_ARRAY, "arrays"},
    };
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
        if ((c->has & rules[i].flag) && !(mask & rules[i].needs))
            mt_schema_problem(schema, type->file, type->line, "constraint '%s' does not fit type %s (it applies to %s)",
                              rules[i].keyword, mt_type_describe(type, name, sizeof(name)), rules[i].what);
    }
    if ((c->has & MT_HAS_MIN_LENGTH) && (c->has & MT_HAS_MAX_LENGTH) && c->min_length > c->max_length)
        mt_schema_problem(schema, type->file, type->line, "minLength %zu is greater than maxLength %zu", c->min_length,
                          c->max_length);
    if ((c->has & MT_HAS_MIN_ITEMS) && (c->has & MT_HAS_MAX_ITEMS) && c->min_items > c->max_items)
        mt_schema_problem(schema, type->file, type->line, "minItems %zu is greater than maxItems %zu", c->min_items,
                          c->max_items);
    if ((c->has & MT_HAS_PATTERN) && (mask & ACCEPTS_STRING))
        compile_pattern(schema, type);
}

static void prepare_field(mt_schema_t *schema, mt_field_t *field)
{
    if (field->wire_json != NULL)
        return; /* an inline table met again */
    const char *wire = MT_FIELD_WIRE_NAME(field);
    mt_buf_t json = {0};
    if (mt_json_encode_string(&json, wire, strlen(wire)) == 0 && mt_buf_append(&json, ":", 1) == 0) {
        field->wire_json = mt_arena_strndup(&schema->arena, json.data, json.len);
        field->wire_json_len = field->wire_json != NULL ? json.len : 0;
    }
    mt_buf_free(&json);
}

static void resolve_type(mt_schema_t *schema, mt_type_t *type, int depth)
{
    if (type == NULL || depth > MAX_DEPTH)
        return;
    switch (type->kind) {
    case MT_TYPE_NAME: {
        if (type->u.ref.target != NULL)
            break;
        const mt_named_type_t *named = mt_schema_find_type(schema, type->u.ref.name);
        if (named == NULL)
            mt_schema_problem(schema, type->file, type->line, "unknown type '%s' (not a built-in type, class, alias or app:provide name)",
                              type->u.ref.name);
        else
            type->u.ref.target = named->type;
        break;
    }
    case MT_TYPE_ARRAY:
    case MT_TYPE_MAP:
        resolve_type(schema, type->u.items, depth + 1);
        break;
    case MT_TYPE_OBJECT:
        if (type->u.object.name == NULL) /* named classes are resolved once, from the type list */
            for (size_t i = 0; i != type->u.object.num_fields; i++) {
                resolve_type(schema, type->u.object.fields[i].type, depth + 1);
                prepare_field(schema, type->u.object.fields + i);
            }
        break;
    case MT_TYPE_UNION:
        for (size_t i = 0; i != type->u.any_of.num_members; i++)
            resolve_type(schema, type->u.any_of.members[i], depth + 1);
        break;
    default:
        break;
    }
    if (type->constraints != NULL)
        check_constraints(schema, type);
}

/* Prepends the fields of `cls`'s parents (a child's field of the same name wins). */
static void merge_parents(mt_schema_t *schema, mt_named_type_t *named)
{
    mt_type_t *cls = named->type;
    const char *parent_name = cls->u.object.parent;
    int hops = 0;
    while (parent_name != NULL) {
        const mt_named_type_t *parent = mt_schema_find_type(schema, parent_name);
        if (parent == NULL || !parent->is_class) {
            mt_schema_problem(schema, named->file, named->line, "class %s: parent '%s' is %s", named->name, parent_name,
                              parent == NULL ? "not a known class" : "an alias, not a class");
            return;
        }
        if (++hops > MAX_DEPTH || parent->type == cls) {
            mt_schema_problem(schema, named->file, named->line, "class %s inherits from itself", named->name);
            return;
        }
        const mt_type_t *p = parent->type;
        size_t n = cls->u.object.num_fields, added = 0;
        mt_field_t *fields = mt_arena_alloc(&schema->arena, (n + p->u.object.num_fields) * sizeof(*fields));
        for (size_t i = 0; i != p->u.object.num_fields; i++) {
            int overridden = 0;
            for (size_t j = 0; j != n; j++)
                overridden |= strcmp(cls->u.object.fields[j].name, p->u.object.fields[i].name) == 0;
            if (!overridden)
                fields[added++] = p->u.object.fields[i];
        }
        if (n != 0)
            memcpy(fields + added, cls->u.object.fields, n * sizeof(*fields));
        cls->u.object.fields = fields;
        cls->u.object.num_fields = n + added;
        parent_name = p->u.object.parent;
    }
}

size_t mt_schema_resolve(mt_schema_t *schema)
{
    size_t before = schema->num_problems;
    for (size_t i = 0; i != schema->num_types; i++) {
        for (size_t j = 0; j != i; j++) {
            if (strcmp(schema->types[i].name, schema->types[j].name) == 0) {
                mt_schema_problem(schema, schema->types[i].file, schema->types[i].line,
                                  "type '%s' is already defined at %s:%d", schema->types[i].name, schema->types[j].file,
                                  schema->types[j].line);
                break;
            }
        }
    }
    /* each class's own fields first: merged parents share their field types, resolved once */
    for (size_t i = 0; i != schema->num_types; i++) {
        mt_type_t *type = schema->types[i].type;
        if (schema->types[i].is_class) {
            for (size_t f = 0; f != type->u.object.num_fields; f++) {
                resolve_type(schema, type->u.object.fields[f].type, 1);
                prepare_field(schema, type->u.object.fields + f);
            }
        } else {
            if (type->kind == MT_TYPE_UNION && type->u.any_of.num_members == 0)
                mt_schema_problem(schema, schema->types[i].file, schema->types[i].line,
                                  "alias %s has no members: follow it with ---| lines", schema->types[i].name);
            resolve_type(schema, type, 0);
            /* an alias that is only a name of itself can never be a value */
            const mt_type_t *t = type;
            for (int hops = 0; t != NULL && t->kind == MT_TYPE_NAME && hops <= MAX_DEPTH; hops++)
                t = t->u.ref.target;
            if (t != NULL && t->kind == MT_TYPE_NAME)
                mt_schema_problem(schema, schema->types[i].file, schema->types[i].line, "alias %s refers to itself",
                                  schema->types[i].name);
        }
    }
    for (size_t i = 0; i != schema->num_types; i++)
        if (schema->types[i].is_class)
            merge_parents(schema, schema->types + i);
    for (size_t i = 0; i != schema->num_docs; i++)
        mt_schema_resolve_doc(schema, schema->docs + i);
    return schema->num_problems - before;
}

void mt_schema_resolve_doc(mt_schema_t *schema, mt_handler_doc_t *doc)
{
    for (size_t p = 0; p != doc->num_params; p++)
        resolve_type(schema, doc->params[p].type, 0);
    resolve_type(schema, doc->returns, 0);
    for (size_t r = 0; r != doc->num_responses; r++)
        resolve_type(schema, doc->responses[r].type, 0);
}
