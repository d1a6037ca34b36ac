/*
 * Route opts to a handler doc. Types are written as in annotations (strings
 * such as "integer" or "Item[]", parsed by the same type parser), and a
 * parameter's constraints are the other keys of its table, read into the
 * same constraint structure:
 *
 *   app:get("/items/{id}", {
 *     params = { { "id", "integer", minimum = 1 }, { "q?", "string", maxLength = 50 } },
 *     returns = "Item", status = 200, summary = "Read one item.", tags = { "items" },
 *   }, function(id, q) ... end)
 */
#include <cjson/cJSON.h>
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "route_opts.h"
#include "type_parser.h"

typedef struct st_opts_ctx_t {
    mt_schema_t *schema;
    lua_State *L;
    const char *file;
    int line;
    char err[512];
} opts_ctx_t;

static const char *arena_string(opts_ctx_t *ctx, int index)
{
    size_t len;
    const char *s = lua_tolstring(ctx->L, index, &len);
    return s != NULL ? mt_arena_strndup(&ctx->schema->arena, s, len) : NULL;
}

static mt_type_t *parse_type(opts_ctx_t *ctx, const char *text, const char *what)
{
    mt_parse_ctx_t pc = {.arena = &ctx->schema->arena, .file = ctx->file, .line = ctx->line, .err = ctx->err,
                         .errsize = sizeof(ctx->err)};
    ctx->err[0] = '\0';
    const char *p = text;
    mt_type_t *type = mt_type_parse(&pc, &p);
    while (type != NULL && (*p == ' ' || *p == '\t'))
        p++;
    if (type != NULL && *p != '\0')
        snprintf(ctx->err, sizeof(ctx->err), "unexpected '%s' after the type", p), type = NULL;
    if (type == NULL)
        mt_schema_problem(ctx->schema, ctx->file, ctx->line, "%s: type \"%s\": %s", what, text, ctx->err);
    return type;
}

/* The table's string keys other than `skip` as a JSON object of constraints; NULL when it has none. */
static cJSON *constraint_keys(opts_ctx_t *ctx, int table, const char *const *skip)
{
    lua_State *L = ctx->L;
    cJSON *object = NULL;
    lua_pushnil(L);
    while (lua_next(L, table) != 0) {
        int skipped = lua_type(L, -2) != LUA_TSTRING;
        for (const char *const *s = skip; !skipped && *s != NULL; s++)
            skipped = strcmp(lua_tostring(L, -2), *s) == 0;
        if (!skipped) {
            mt_buf_t buf = {0};
            const char *err;
            cJSON *value = NULL;
            if (mt_json_encode(L, lua_gettop(L), &buf, &err) == 0 && mt_buf_append(&buf, "", 1) == 0)
                value = cJSON_Parse(buf.data);
            mt_buf_free(&buf);
            if (object == NULL)
                object = cJSON_CreateObject();
            if (value != NULL)
                cJSON_AddItemToObject(object, lua_tostring(L, -2), value);
        }
        lua_pop(L, 1);
    }
    return object;
}

static void read_param(opts_ctx_t *ctx, int entry, mt_handler_doc_t *doc, size_t position)
{
    static const char *skip[] = {"name", "type", "optional", "description", NULL};
    lua_State *L = ctx->L;
    char what[64];
    snprintf(what, sizeof(what), "opts.params[%zu]", position);
    lua_getfield(L, entry, "name");
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_rawgeti(L, entry, 1);
    }
    lua_getfield(L, entry, "type");
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_rawgeti(L, entry, 2);
    }
    if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING) {
        mt_schema_problem(ctx->schema, ctx->file, ctx->line, "%s: write { \"name\", \"type\", constraint = value, ... }",
                          what);
        lua_pop(L, 2);
        return;
    }
    mt_param_doc_t param = {.line = ctx->line};
    char *name = (char *)arena_string(ctx, -2);
    size_t len = strlen(name);
    if (len != 0 && name[len - 1] == '?')
        name[len - 1] = '\0', param.optional = 1;
    param.name = name;
    param.type = parse_type(ctx, lua_tostring(L, -1), what);
    lua_pop(L, 2);
    if (param.type == NULL)
        return;
    lua_getfield(L, entry, "optional");
    param.optional |= lua_toboolean(L, -1);
    lua_getfield(L, entry, "description");
    param.description = arena_string(ctx, -1);
    lua_pop(L, 2);
    cJSON *constraints = constraint_keys(ctx, entry, skip);
    if (constraints != NULL) {
        mt_parse_ctx_t pc = {.arena = &ctx->schema->arena, .file = ctx->file, .line = ctx->line, .err = ctx->err,
                             .errsize = sizeof(ctx->err)};
        ctx->err[0] = '\0';
        param.type->constraints = mt_constraints_from_json(&pc, constraints);
        cJSON_Delete(constraints);
        if (param.type->constraints == NULL) {
            mt_schema_problem(ctx->schema, ctx->file, ctx->line, "%s (%s): %s", what, param.name, ctx->err);
            return;
        }
    }
    doc->params[doc->num_params++] = param;
}

static void read_responses(opts_ctx_t *ctx, int table, mt_handler_doc_t *doc)
{
    lua_State *L = ctx->L;
    size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, table) != 0)
        n++, lua_pop(L, 1);
    mt_response_doc_t *responses = mt_arena_alloc(&ctx->schema->arena, (n + doc->num_responses + 1) * sizeof(*responses));
    memcpy(responses, doc->responses, doc->num_responses * sizeof(*responses));
    doc->responses = responses;
    lua_pushnil(L);
    while (lua_next(L, table) != 0) {
        mt_response_doc_t response = {.line = ctx->line, .status = (int)lua_tointeger(L, -2)};
        if (lua_type(L, -2) != LUA_TNUMBER || response.status < 100 || response.status > 599) {
            mt_schema_problem(ctx->schema, ctx->file, ctx->line, "opts.responses: keys are status codes from 100 to 599");
        } else if (lua_type(L, -1) == LUA_TSTRING) {
            response.description = arena_string(ctx, -1);
            doc->responses[doc->num_responses++] = response;
        } else if (lua_istable(L, -1)) {
            lua_getfield(L, -1, "description");
            response.description = arena_string(ctx, -1);
            lua_getfield(L, -2, "type");
            if (lua_isstring(L, -1))
                response.type = parse_type(ctx, lua_tostring(L, -1), "opts.responses");
            lua_pop(L, 2);
            doc->responses[doc->num_responses++] = response;
        } else {
            mt_schema_problem(ctx->schema, ctx->file, ctx->line,
                              "opts.responses[%d]: a description, or { type = \"T\", description = \"...\" }", response.status);
        }
        lua_pop(L, 1);
    }
}

const mt_handler_doc_t *mt_route_opts_doc(mt_schema_t *schema, lua_State *L, int index, const mt_handler_doc_t *base,
                                          const char *file, int line)
{
    static const char *doc_keys[] = {"params", "returns", "status", "summary", "description", "tags", "deprecated",
                                     "responses", NULL};
    int says_something = 0;
    for (const char *const *k = doc_keys; *k != NULL; k++) {
        lua_getfield(L, index, *k);
        says_something |= !lua_isnil(L, -1);
        lua_pop(L, 1);
    }
    if (!says_something)
        return base;
    opts_ctx_t ctx = {.schema = schema, .L = L, .file = mt_arena_strndup(&schema->arena, file, strlen(file)), .line = line};
    mt_handler_doc_t *doc = mt_arena_alloc(&schema->arena, sizeof(*doc));
    if (base != NULL)
        *doc = *base;
    doc->file = ctx.file;
    doc->line = line;

    lua_getfield(L, index, "params");
    if (lua_istable(L, -1)) {
        int params = lua_gettop(L);
        if (base != NULL && base->num_params != 0)
            mt_schema_problem(schema, file, line, "parameters are given both by ---@param lines and by opts.params: "
                                                  "keep one");
        size_t n = lua_objlen(L, params);
        doc->params = mt_arena_alloc(&schema->arena, (n + 1) * sizeof(*doc->params));
        doc->num_params = 0;
        for (size_t i = 1; i <= n; i++) {
            lua_rawgeti(L, params, (int)i);
            if (lua_istable(L, -1))
                read_param(&ctx, lua_gettop(L), doc, i);
            else
                mt_schema_problem(schema, file, line, "opts.params[%zu]: expected a table", i);
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);

    lua_getfield(L, index, "returns");
    if (lua_isstring(L, -1)) {
        doc->returns = parse_type(&ctx, lua_tostring(L, -1), "opts.returns");
        doc->returns_line = line;
    }
    lua_getfield(L, index, "status");
    if (lua_isnumber(L, -1)) {
        doc->status = (int)lua_tointeger(L, -1);
        if (doc->status < 100 || doc->status > 599 || lua_tonumber(L, -1) != doc->status)
            mt_schema_problem(schema, file, line, "opts.status must be an HTTP status code from 100 to 599");
    }
    lua_getfield(L, index, "summary");
    if (lua_isstring(L, -1))
        doc->summary = arena_string(&ctx, -1);
    lua_getfield(L, index, "description");
    if (lua_isstring(L, -1))
        doc->description = arena_string(&ctx, -1);
    lua_getfield(L, index, "deprecated");
    if (lua_isboolean(L, -1))
        doc->deprecated = lua_toboolean(L, -1);
    lua_getfield(L, index, "tags");
    if (lua_istable(L, -1)) {
        size_t n = lua_objlen(L, -1);
        doc->tags = mt_arena_alloc(&schema->arena, (n + 1) * sizeof(char *));
        doc->num_tags = 0;
        for (size_t i = 1; i <= n; i++) {
            lua_rawgeti(L, -1, (int)i);
            if (lua_isstring(L, -1))
                doc->tags[doc->num_tags++] = arena_string(&ctx, -1);
            lua_pop(L, 1);
        }
    }
    lua_getfield(L, index, "responses");
    if (lua_istable(L, -1))
        read_responses(&ctx, lua_gettop(L), doc);
    lua_pop(L, 7);
    mt_schema_resolve_doc(schema, doc);
    return doc;
}
