/*
 * Reading `---` blocks. A block is a run of lines starting with `---` (not
 * `----`); it ends at the first other line, and if that line directly follows
 * it the block "stands above" it. Inside a block, `---@class` opens a class
 * that the `---@field` lines after it fill, `---@alias` names a type (or opens
 * a `---| member` list), and everything else — plain lines, `---@param`,
 * `---@return`, `---@status`, `---@response`, `---@tag`, `---@deprecated` —
 * describes whatever function the block stands above. LuaLS tags that
 * moontide has no use for (`---@type`, `---@see`, ...) are left alone.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include "annotation.h"
#include "type_parser.h"

mt_schema_t *mt_schema_new(void)
{
    return calloc(1, sizeof(mt_schema_t));
}

void mt_schema_free(mt_schema_t *schema)
{
    if (schema == NULL)
        return;
    for (size_t i = 0; i != schema->num_problems; i++)
        free(schema->problems[i]);
    free(schema->problems);
    for (size_t i = 0; i != schema->num_patterns; i++)
        pcre2_code_free(schema->patterns[i]);
    free(schema->patterns);
    free(schema->types);
    free(schema->docs);
    mt_arena_free(&schema->arena);
    free(schema);
}

static void add_problem(mt_schema_t *schema, const char *text)
{
    for (size_t i = 0; i != schema->num_problems; i++)
        if (strcmp(schema->problems[i], text) == 0)
            return; /* e.g. a provider's problem, met again by each route that uses it */
    char **grown = realloc(schema->problems, (schema->num_problems + 1) * sizeof(char *));
    if (grown == NULL)
        return;
    schema->problems = grown;
    if ((grown[schema->num_problems] = strdup(text)) != NULL)
        schema->num_problems++;
}

void mt_schema_problem(mt_schema_t *schema, const char *file, int line, const char *fmt, ...)
{
    char message[1024], text[1536];
    va_list args;
    va_start(args, fmt);
    vsnprintf(message, sizeof(message), fmt, args);
    va_end(args);
    snprintf(text, sizeof(text), "%s:%d: %s", file, line, message);
    add_problem(schema, text);
}

void mt_schema_problem_line(mt_schema_t *schema, const char *fmt, ...)
{
    char text[1536];
    va_list args;
    va_start(args, fmt);
    vsnprintf(text, sizeof(text), fmt, args);
    va_end(args);
    add_problem(schema, text);
}

/* Appends one element to an arena array, doubling its capacity when full. */
static void *arena_push(mt_arena_t *arena, void *items, size_t *count, size_t elem)
{
    size_t n = *count;
    if (n == 0 || (n & (n - 1)) == 0) { /* capacity is the next power of two */
        void *grown = mt_arena_alloc(arena, (n == 0 ? 1 : n * 2) * elem);
        if (n != 0)
            memcpy(grown, items, n * elem);
        items = grown;
    }
    (*count)++;
    return items;
}

#define PUSH(arena, array, count) ((array) = arena_push((arena), (array), &(count), sizeof(*(array))), &(array)[(count)-1])

typedef struct st_scanner_t {
    mt_schema_t *schema;
    const char *file;
    int line;
    char err[512];
    mt_type_t *open_class;       /* the class ---@field lines go to */
    mt_named_type_t *open_alias; /* the alias ---| lines go to */
    mt_handler_doc_t doc;        /* what the block says about a function */
    int doc_used;
    char *text;                  /* plain lines: summary, then description */
    size_t text_len;
} scanner_t;

static void problem(scanner_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(scanner_t *s, const char *fmt, ...)
{
    char message[1024];
    va_list args;
    va_start(args, fmt);
    vsnprintf(message, sizeof(message), fmt, args);
    va_end(args);
    mt_schema_problem(s->schema, s->file, s->line, "%s", message);
}

static mt_parse_ctx_t parse_ctx(scanner_t *s)
{
    s->err[0] = '\0';
    return (mt_parse_ctx_t){.arena = &s->schema->arena, .file = s->file, .line = s->line, .err = s->err,
                            .errsize = sizeof(s->err)};
}

static void skip_space(const char **p)
{
    while (**p == ' ' || **p == '\t')
        (*p)++;
}

/* Reads an identifier; returns its arena copy (NULL when there is none). */
static const char *read_name(scanner_t *s, const char **p, int dotted)
{
    const char *start = *p;
    while (isalnum((unsigned char)**p) || **p == '_' || (dotted && **p == '.'))
        (*p)++;
    if (*p == start || isdigit((unsigned char)*start))
        return NULL;
    return mt_arena_strndup(&s->schema->arena, start, (size_t)(*p - start));
}

/* The rest of a line as a description: an optional leading '#' dropped, NULL when empty. */
static const char *read_description(scanner_t *s, const char *p)
{
    skip_space(&p);
    if (*p == '#') {
        p++;
        skip_space(&p);
    }
    size_t len = strlen(p);
    while (len != 0 && isspace((unsigned char)p[len - 1]))
        len--;
    return len != 0 ? mt_arena_strndup(&s->schema->arena, p, len) : NULL;
}

/* TYPE [CONSTRAINTS]: the type with its constraints attached; *p is left after them. */
static mt_type_t *read_type(scanner_t *s, const char **p, const char *what)
{
    mt_parse_ctx_t ctx = parse_ctx(s);
    skip_space(p);
    mt_type_t *type = mt_type_parse(&ctx, p);
    if (type != NULL) {
        const char *after = *p;
        skip_space(&after);
        if (*after == '{') {
            *p = after;
            type->constraints = mt_constraints_parse(&ctx, p);
            if (type->constraints == NULL)
                type = NULL;
        }
    }
    if (type == NULL)
        problem(s, "%s: %s", what, s->err);
    return type;
}

void mt_schema_add_type(mt_schema_t *schema, const char *name, mt_type_t *type, int is_class, const char *file,
                        int line)
{
    mt_named_type_t *grown = realloc(schema->types, (schema->num_types + 1) * sizeof(*grown));
    if (grown == NULL)
        return;
    schema->types = grown;
    grown[schema->num_types++] = (mt_named_type_t){name, type, is_class, file, line};
}

static void add_named(scanner_t *s, const char *name, mt_type_t *type, int is_class)
{
    mt_schema_add_type(s->schema, name, type, is_class, s->file, s->line);
}

static void tag_class(scanner_t *s, const char *p)
{
    skip_space(&p);
    if (*p == '(') /* LuaLS attributes: ---@class (exact) Name */
        while (*p != '\0' && *p++ != ')')
            ;
    skip_space(&p);
    const char *name = read_name(s, &p, 1);
    if (name == NULL) {
        problem(s, "---@class needs a name: ---@class Name[: Parent]");
        return;
    }
    mt_type_t *type = mt_arena_alloc(&s->schema->arena, sizeof(*type));
    type->kind = MT_TYPE_OBJECT;
    type->file = s->file;
    type->line = s->line;
    type->u.object.name = name;
    skip_space(&p);
    if (*p == ':') {
        p++;
        skip_space(&p);
        if ((type->u.object.parent = read_name(s, &p, 1)) == NULL) {
            problem(s, "---@class %s: a parent class name must follow ':'", name);
            return;
        }
    }
    /* plain lines before the tag describe the class */
    if (s->text_len != 0) {
        type->u.object.description = mt_arena_strndup(&s->schema->arena, s->text, s->text_len);
        s->text_len = 0;
    }
    add_named(s, name, type, 1);
    s->open_class = type;
    s->open_alias = NULL;
}

static void tag_field(scanner_t *s, const char *p)
{
    if (s->open_class == NULL) {
        problem(s, "---@field outside a class: put it under a ---@class line");
        return;
    }
    skip_space(&p);
    static const char *visibility[] = {"public ", "private ", "protected ", "package "};
    for (size_t i = 0; i < 4; i++)
        if (strncmp(p, visibility[i], strlen(visibility[i])) == 0)
            p += strlen(visibility[i]);
    skip_space(&p);
    mt_field_t field = {.file = s->file, .line = s->line};
    if ((field.name = read_name(s, &p, 0)) == NULL) {
        problem(s, "---@field needs a name: ---@field name[?] TYPE [CONSTRAINTS] [description]");
        return;
    }
    if (*p == '?')
        field.optional = 1, p++;
    if ((field.type = read_type(s, &p, field.name)) == NULL)
        return;
    field.description = read_description(s, p);
    mt_type_t *c = s->open_class;
    for (size_t i = 0; i != c->u.object.num_fields; i++) {
        if (strcmp(c->u.object.fields[i].name, field.name) == 0) {
            problem(s, "class %s has two fields named '%s'", c->u.object.name, field.name);
            return;
        }
    }
    *PUSH(&s->schema->arena, c->u.object.fields, c->u.object.num_fields) = field;
}

static void tag_alias(scanner_t *s, const char *p)
{
    skip_space(&p);
    const char *name = read_name(s, &p, 1);
    if (name == NULL) {
        problem(s, "---@alias needs a name: ---@alias Name TYPE");
        return;
    }
    s->open_class = NULL;
    skip_space(&p);
    if (*p == '\0') { /* members follow on ---| lines */
        mt_type_t *type = mt_arena_alloc(&s->schema->arena, sizeof(*type));
        type->kind = MT_TYPE_UNION;
        type->file = s->file;
        type->line = s->line;
        add_named(s, name, type, 0);
        s->open_alias = &s->schema->types[s->schema->num_types - 1];
        return;
    }
    mt_type_t *type = read_type(s, &p, name);
    if (type != NULL)
        add_named(s, name, type, 0);
    s->open_alias = NULL;
}

/* ---| "member" [# description] */
static void alias_member(scanner_t *s, const char *p)
{
    if (s->open_alias == NULL) {
        problem(s, "a ---| line must follow an ---@alias Name line");
        return;
    }
    if (*p == '>' || *p == '+')
        p++;
    mt_type_t *member = read_type(s, &p, s->open_alias->name);
    if (member == NULL)
        return;
    mt_type_t *u = s->open_alias->type;
    *PUSH(&s->schema->arena, u->u.any_of.members, u->u.any_of.num_members) = member;
}

static void tag_param(scanner_t *s, const char *p)
{
    skip_space(&p);
    mt_param_doc_t param = {.line = s->line};
    if ((param.name = read_name(s, &p, 0)) == NULL) {
        problem(s, "---@param needs a name: ---@param name[?] TYPE [CONSTRAINTS] [description]");
        return;
    }
    if (*p == '?')
        param.optional = 1, p++;
    if ((param.type = read_type(s, &p, param.name)) == NULL)
        return;
    param.description = read_description(s, p);
    for (size_t i = 0; i != s->doc.num_params; i++) {
        if (strcmp(s->doc.params[i].name, param.name) == 0) {
            problem(s, "two ---@param lines name '%s'", param.name);
            return;
        }
    }
    *PUSH(&s->schema->arena, s->doc.params, s->doc.num_params) = param;
    s->doc_used = 1;
}

static int read_status(scanner_t *s, const char **p, const char *tag)
{
    skip_space(p);
    char *end;
    long code = strtol(*p, &end, 10);
    if (end == *p || code < 100 || code > 599) {
        problem(s, "%s needs an HTTP status code from 100 to 599", tag);
        return -1;
    }
    *p = end;
    return (int)code;
}

static void tag_return(scanner_t *s, const char *p)
{
    if (s->doc.returns != NULL) {
        problem(s, "a handler has one ---@return (its response model)");
        return;
    }
    if ((s->doc.returns = read_type(s, &p, "---@return")) == NULL)
        return;
    s->doc.returns_description = read_description(s, p);
    s->doc.returns_line = s->line;
    s->doc_used = 1;
}

static void tag_response(scanner_t *s, const char *p)
{
    mt_response_doc_t response = {.line = s->line};
    if ((response.status = read_status(s, &p, "---@response")) < 0)
        return;
    skip_space(&p);
    if (*p != '#' && *p != '\0' && (response.type = read_type(s, &p, "---@response")) == NULL)
        return;
    response.description = read_description(s, p);
    *PUSH(&s->schema->arena, s->doc.responses, s->doc.num_responses) = response;
    s->doc_used = 1;
}

static void tag_tag(scanner_t *s, const char *p)
{
    const char *name = read_description(s, p);
    if (name == NULL) {
        problem(s, "---@tag needs a name");
        return;
    }
    *PUSH(&s->schema->arena, s->doc.tags, s->doc.num_tags) = name;
    s->doc_used = 1;
}

static void add_text(scanner_t *s, const char *p)
{
    size_t len = strlen(p);
    char *grown = realloc(s->text, s->text_len + len + 2);
    if (grown == NULL)
        return;
    s->text = grown;
    if (s->text_len != 0)
        s->text[s->text_len++] = '\n';
    memcpy(s->text + s->text_len, p, len);
    s->text_len += len;
    s->text[s->text_len] = '\0';
}

static void doc_line(scanner_t *s, const char *p)
{
    if (*p == ' ')
        p++; /* the space after --- */
    if (*p == '|') {
        alias_member(s, p + 1);
        return;
    }
    if (*p != '@') {
        if (s->open_class == NULL && s->open_alias == NULL) {
            size_t len = strlen(p);
            while (len && isspace((unsigned char)p[len - 1]))
                len--;
            char line[1024];
            snprintf(line, sizeof(line), "%.*s", (int)len, p);
            if (s->text_len != 0 || line[0] != '\0') /* leading blank lines are not text */
                add_text(s, line);
        }
        return;
    }
    p++;
    const char *tag = p;
    while (isalpha((unsigned char)*p))
        p++;
    size_t len = (size_t)(p - tag);
#define IS(name) (len == sizeof(name) - 1 && memcmp(tag, name, len) == 0)
    if (IS("class")) {
        tag_class(s, p);
    } else if (IS("field")) {
        tag_field(s, p);
    } else if (IS("alias")) {
        tag_alias(s, p);
    } else if (IS("param")) {
        tag_param(s, p);
    } else if (IS("return")) {
        tag_return(s, p);
    } else if (IS("status")) {
        int status = read_status(s, &p, "---@status");
        if (status > 0) {
            s->doc.status = status;
            s->doc_used = 1;
        }
    } else if (IS("response")) {
        tag_response(s, p);
    } else if (IS("tag")) {
        tag_tag(s, p);
    } else if (IS("deprecated")) {
        s->doc.deprecated = 1;
        s->doc_used = 1;
    }
#undef IS
}

/* Ends the current block; `next_line` is the line after it. */
static void end_block(scanner_t *s, int first_line, int next_line)
{
    if (s->text_len != 0 && s->open_class == NULL && s->open_alias == NULL) {
        char *text = s->text;
        size_t summary_len = strcspn(text, "\n");
        s->doc.summary = mt_arena_strndup(&s->schema->arena, text, summary_len);
        const char *rest = text + summary_len;
        while (*rest == '\n')
            rest++;
        if (*rest != '\0')
            s->doc.description = mt_arena_strndup(&s->schema->arena, rest, strlen(rest));
        s->doc_used = 1;
    }
    if (s->doc_used) {
        mt_schema_t *schema = s->schema;
        mt_handler_doc_t *grown = realloc(schema->docs, (schema->num_docs + 1) * sizeof(*grown));
        if (grown != NULL) {
            schema->docs = grown;
            s->doc.file = s->file;
            s->doc.line = next_line;
            s->doc.first_line = first_line;
            grown[schema->num_docs++] = s->doc;
        }
    }
    memset(&s->doc, 0, sizeof(s->doc));
    s->doc_used = 0;
    s->text_len = 0;
    s->open_class = NULL;
    s->open_alias = NULL;
}

void mt_annotation_scan(mt_schema_t *schema, const char *file, const char *text, size_t len)
{
    scanner_t s = {.schema = schema, .file = mt_arena_strndup(&schema->arena, file, strlen(file))};
    const char *p = text, *end = text + len;
    int in_block = 0, first_line = 0;
    char *line = malloc(len + 1);
    if (line == NULL)
        return;
    for (s.line = 1; p < end; s.line++) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL)
            eol = end;
        size_t n = (size_t)(eol - p);
        if (n != 0 && p[n - 1] == '\r')
            n--;
        memcpy(line, p, n);
        line[n] = '\0';
        const char *q = line;
        skip_space(&q);
        int is_doc = q[0] == '-' && q[1] == '-' && q[2] == '-' && q[3] != '-';
        if (is_doc) {
            if (!in_block)
                in_block = 1, first_line = s.line;
            doc_line(&s, q + 3);
        } else if (in_block) {
            end_block(&s, first_line, s.line);
            in_block = 0;
        }
        p = eol + 1;
    }
    if (in_block)
        end_block(&s, first_line, s.line);
    free(line);
    free(s.text);
}

const mt_handler_doc_t *mt_schema_find_doc(const mt_schema_t *schema, const char *file, int line)
{
    for (size_t i = 0; i != schema->num_docs; i++)
        if (schema->docs[i].line == line && strcmp(schema->docs[i].file, file) == 0)
            return schema->docs + i;
    return NULL;
}

const mt_named_type_t *mt_schema_find_type(const mt_schema_t *schema, const char *name)
{
    for (size_t i = 0; i != schema->num_types; i++)
        if (strcmp(schema->types[i].name, name) == 0)
            return schema->types + i;
    return NULL;
}
