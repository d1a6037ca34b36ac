/*
 * Building an annotated handler's arguments. Strings from the URL and the
 * headers are converted strictly (validate.c); the JSON body is parsed into
 * a cJSON tree and validated on it, so a rejected body costs no Lua table.
 * Values that pass are pushed shaped by their type: a class keeps only the
 * fields it declares, arrays carry the array mark. Errors of every argument
 * are gathered into one 422 body; malformed JSON is answered alone, as one
 * json_invalid error.
 */
#include <lauxlib.h>
#include <string.h>
#include <strings.h>
#include "arguments.h"
#include "binding.h"
#include "json.h"
#include "providers.h"
#include "validate.h"

static const char *source_names[] = {"request", "path", "query", "header", "cookie", "body", "provider"};

typedef struct st_args_ctx_t {
    mt_call_t *call;
    lua_State *L;
    mt_verrors_t errors;
    mt_query_pair_t *query;
    size_t num_query;
    int query_parsed;
    size_t detail_start; /* where the error list begins in the output */
} args_ctx_t;

static int push_typed(lua_State *L, const mt_type_t *type, const cJSON *item, int depth);

void mt_field_push_name(lua_State *L, const mt_field_t *field)
{
    if (field->lua_name_ref > 0) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, field->lua_name_ref);
        return;
    }
    lua_pushstring(L, field->name);
    lua_pushvalue(L, -1);
    /* the schema is per process and so is this Lua state: the cache lives beside the field */
    ((mt_field_t *)field)->lua_name_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

static void push_array_mark(lua_State *L)
{
    mt_json_push_array_mt(L);
    lua_setmetatable(L, -2);
}


/*
 * Pushes the Lua function that makes an object type's table from its field
 * values, in declaration order:
 *   return function(v1, v2) return { ["name"] = v1, ["price"] = v2 } end
 * LuaJIT sizes that table once and compiles its stores, where a lua_rawset
 * per field goes through the C API each time. Made on first use and kept
 * with the type (the schema and the Lua state belong to one app
 * generation). Returns 0, pushing nothing, for a type with more fields than
 * a function takes parameters.
 */
#define CONSTRUCTOR_MAX_FIELDS 100

static int push_constructor(lua_State *L, const mt_type_t *type)
{
    int *ref = (int *)&type->u.object.lua_constructor_ref;
    if (*ref == 0) {
        *ref = -1;
        mt_buf_t src = {0};
        size_t n = type->u.object.num_fields;
        char param[32];
        int ok = n <= CONSTRUCTOR_MAX_FIELDS && mt_buf_append(&src, "return function(", 16) == 0;
        for (size_t i = 0; ok && i != n; i++)
            ok = mt_buf_append(&src, param, (size_t)snprintf(param, sizeof(param), "%sv%zu", i ? "," : "", i)) == 0;
        ok = ok && mt_buf_append(&src, ") return {", 10) == 0;
        for (size_t i = 0; ok && i != n; i++) {
            const char *name = type->u.object.fields[i].name;
            ok = mt_buf_append(&src, "[\"", 2) == 0;
            for (const unsigned char *c = (const unsigned char *)name; ok && *c != '\0'; c++) {
                char esc[8];
                size_t len = *c == '"' || *c == '\\' ? (size_t)snprintf(esc, sizeof(esc), "\\%c", *c)
                             : *c < 0x20 || *c >= 0x7f ? (size_t)snprintf(esc, sizeof(esc), "\\%03u", *c)
                                                       : (esc[0] = (char)*c, 1);
                ok = mt_buf_append(&src, esc, len) == 0;
            }
            ok = ok && mt_buf_append(&src, param, (size_t)snprintf(param, sizeof(param), "\"]=v%zu,", i)) == 0;
        }
        ok = ok && mt_buf_append(&src, "} end", 5) == 0;
        if (ok && luaL_loadbuffer(L, src.data, src.len, "=moontide.object") == 0 && lua_pcall(L, 0, 1, 0) == 0)
            *ref = luaL_ref(L, LUA_REGISTRYINDEX);
        else if (ok)
            lua_pop(L, 1); /* the error: the type is made field by field instead */
        mt_buf_free(&src);
    }
    if (*ref < 0)
        return 0;
    lua_rawgeti(L, LUA_REGISTRYINDEX, *ref);
    return 1;
}

/*
 * Pushes a validated value, keeping only what its type declares. Only
 * containers check the stack: an object holds its constructor and a value
 * per field (or its table, a field's name and value), while its children
 * push one value each.
 */
static int push_typed(lua_State *L, const mt_type_t *type, const cJSON *item, int depth)
{
    type = mt_type_resolved(type);
    if (type == NULL || MT_JSON_IS(item, cJSON_NULL))
        return mt_json_push(L, item);
    switch (type->kind) {
    case MT_TYPE_OBJECT: {
        size_t n = type->u.object.num_fields;
        if (depth > MT_JSON_MAX_DEPTH || !lua_checkstack(L, (int)n + 4))
            return -1;
        int by_constructor = push_constructor(L, type);
        if (!by_constructor)
            lua_createtable(L, 0, (int)n);
        mt_json_members_t members;
        mt_json_members_init(&members, item);
        for (size_t i = 0; i != n; i++) {
            const mt_field_t *field = type->u.object.fields + i;
            const cJSON *child = mt_json_members_find(&members, MT_FIELD_WIRE_NAME(field));
            const char *default_json = field->type->constraints ? field->type->constraints->default_json : NULL;
            int absent = child == NULL ? default_json == NULL : MT_JSON_IS(child, cJSON_NULL);
            if (!by_constructor) {
                if (absent)
                    continue;
                mt_field_push_name(L, field);
            }
            mt_json_error_t err;
            if (absent)
                lua_pushnil(L);
            else if (child == NULL ? mt_json_decode(L, default_json, strlen(default_json), &err) != 0
                                   : push_typed(L, field->type, child, depth + 1) != 0)
                return -1;
            if (!by_constructor)
                lua_rawset(L, -3);
        }
        if (by_constructor)
            lua_call(L, (int)n, 1);
        return 0;
    }
    case MT_TYPE_ARRAY: {
        if (depth > MT_JSON_MAX_DEPTH || !lua_checkstack(L, 4))
            return -1;
        lua_createtable(L, cJSON_GetArraySize(item), 0);
        int n = 0;
        for (const cJSON *child = item->child; child != NULL; child = child->next) {
            if (MT_JSON_IS(child, cJSON_NULL))
                lua_pushlightuserdata(L, NULL);
            else if (push_typed(L, type->u.items, child, depth + 1) != 0)
                return -1;
            lua_rawseti(L, -2, ++n);
        }
        push_array_mark(L);
        return 0;
    }
    case MT_TYPE_MAP:
        if (depth > MT_JSON_MAX_DEPTH || !lua_checkstack(L, 4))
            return -1;
        lua_createtable(L, 0, cJSON_GetArraySize(item));
        for (const cJSON *child = item->child; child != NULL; child = child->next) {
            if (MT_JSON_IS(child, cJSON_NULL))
                continue;
            if (push_typed(L, type->u.items, child, depth + 1) != 0)
                return -1;
            lua_setfield(L, -2, child->string);
        }
        return 0;
    default: /* scalars, unions, any, table: as parsed (mt_json_push checks the stack itself) */
        return mt_json_push(L, item);
    }
}

/* push_typed from the top: nothing is left pushed when it fails. */
static int push_value(lua_State *L, const mt_type_t *type, const cJSON *item)
{
    int top = lua_gettop(L);
    if (push_typed(L, type, item, 0) == 0)
        return 0;
    lua_settop(L, top);
    return -1;
}

/* Pushes a parameter's default (JSON text), or nil. */
static void push_default(args_ctx_t *ctx, const mt_binding_arg_t *arg)
{
    const char *json = arg->type->constraints ? arg->type->constraints->default_json : NULL;
    mt_json_error_t err;
    if (json == NULL || mt_json_decode(ctx->L, json, strlen(json), &err) != 0)
        lua_pushnil(ctx->L);
}

static void begin_loc(args_ctx_t *ctx, const mt_binding_arg_t *arg)
{
    ctx->errors.depth = 0;
    const char *root = source_names[arg->source];
    mt_verrors_push_key(&ctx->errors, root, strlen(root));
    if (arg->source != MT_FROM_BODY)
        mt_verrors_push_key(&ctx->errors, arg->wire_name, strlen(arg->wire_name));
}

static void missing(args_ctx_t *ctx, const mt_binding_arg_t *arg)
{
    if (arg->optional) {
        push_default(ctx, arg);
        return;
    }
    begin_loc(ctx, arg);
    mt_verrors_add(&ctx->errors, "missing", "Field required", NULL, NULL);
    lua_pushnil(ctx->L);
}

/* Converts and validates one string, then pushes it (nil after an error). */
static void push_string_value(args_ctx_t *ctx, const mt_binding_arg_t *arg, const char *text, size_t len)
{
    begin_loc(ctx, arg);
    cJSON node;
    char copy[256];
    switch (mt_validate_scalar(arg->type, text, len, &ctx->errors, &node, copy, sizeof(copy))) {
    case 1:
        if (node.type == cJSON_String)
            lua_pushlstring(ctx->L, text, len);
        else
            lua_pushnumber(ctx->L, node.valuedouble);
        return;
    case 0:
        lua_pushnil(ctx->L);
        return;
    }
    cJSON *value = mt_validate_string(arg->type, text, len, &ctx->errors);
    if (value == NULL || push_value(ctx->L, arg->type, value) != 0)
        lua_pushnil(ctx->L);
    cJSON_Delete(value);
}

static void parse_query(args_ctx_t *ctx)
{
    ctx->query_parsed = 1;
    ctx->num_query = mt_query_parse(ctx->call->req, &ctx->query);
}

static int is_list(const mt_type_t *type)
{
    type = mt_type_resolved(type);
    return type != NULL && type->kind == MT_TYPE_ARRAY;
}

static void bind_query(args_ctx_t *ctx, const mt_binding_arg_t *arg)
{
    if (!ctx->query_parsed)
        parse_query(ctx);
    size_t name_len = strlen(arg->wire_name), found = 0, last = 0;
    for (size_t i = 0; i != ctx->num_query; i++) {
        if (ctx->query[i].key_len == name_len && memcmp(ctx->query[i].key, arg->wire_name, name_len) == 0)
            found++, last = i;
    }
    if (found == 0) {
        missing(ctx, arg);
        return;
    }
    if (!is_list(arg->type)) { /* a repeated key: the last value counts, as in FastAPI */
        push_string_value(ctx, arg, ctx->query[last].value, ctx->query[last].value_len);
        return;
    }
    /* a list: every value, each converted to the item type, then the list's own constraints */
    const mt_type_t *list = mt_type_resolved(arg->type);
    cJSON *array = cJSON_CreateArray();
    size_t errors_before = ctx->errors.count;
    long index = 0;
    begin_loc(ctx, arg);
    for (size_t i = 0; i != ctx->num_query; i++) {
        if (ctx->query[i].key_len != name_len || memcmp(ctx->query[i].key, arg->wire_name, name_len) != 0)
            continue;
        mt_verrors_push_index(&ctx->errors, index++);
        cJSON *item = mt_validate_string(list->u.items, ctx->query[i].value, ctx->query[i].value_len, &ctx->errors);
        mt_verrors_pop(&ctx->errors);
        if (item != NULL)
            cJSON_AddItemToArray(array, item);
    }
    if (ctx->errors.count == errors_before && mt_validate_json(arg->type, array, &ctx->errors) == 0 &&
        push_value(ctx->L, arg->type, array) == 0) {
        cJSON_Delete(array);
        return;
    }
    cJSON_Delete(array);
    lua_pushnil(ctx->L);
}

static void bind_header(args_ctx_t *ctx, const mt_binding_arg_t *arg)
{
    h2o_headers_t *headers = &ctx->call->req->headers;
    if (strcasecmp(arg->wire_name, "x-request-id") == 0)
        mt_call_id(ctx->call); /* made on first use */
    ssize_t at = h2o_find_header_by_str(headers, arg->wire_name, strlen(arg->wire_name), -1);
    if (at < 0) {
        missing(ctx, arg);
        return;
    }
    h2o_iovec_t value = headers->entries[at].value;
    push_string_value(ctx, arg, value.base, value.len);
}

static void bind_cookie(args_ctx_t *ctx, const mt_binding_arg_t *arg)
{
    h2o_headers_t *headers = &ctx->call->req->headers;
    size_t name_len = strlen(arg->wire_name);
    for (ssize_t at = -1; (at = h2o_find_header(headers, H2O_TOKEN_COOKIE, at)) >= 0;) {
        const char *p = headers->entries[at].value.base, *end = p + headers->entries[at].value.len;
        mt_slice_t name, value;
        while (mt_cookie_next(&p, end, &name, &value)) {
            if (name.len == name_len && memcmp(name.base, arg->wire_name, name_len) == 0) {
                push_string_value(ctx, arg, value.base, value.len);
                return;
            }
        }
    }
    missing(ctx, arg);
}

static void bind_path(args_ctx_t *ctx, const mt_binding_arg_t *arg)
{
    mt_call_t *call = ctx->call;
    mt_slice_t raw = call->params[arg->path_index];
    char *decoded = h2o_mem_alloc_pool(&call->req->pool, raw.len + 1);
    memcpy(decoded, raw.base, raw.len);
    size_t len = mt_url_decode(decoded, raw.len, 0);
    push_string_value(ctx, arg, decoded, len);
}

/* Returns -1 when the body is not JSON: that error alone is the answer. */
static int bind_body(args_ctx_t *ctx, const mt_binding_arg_t *arg)
{
    h2o_iovec_t body = ctx->call->req->entity;
    if (body.base == NULL || body.len == 0) {
        missing(ctx, arg);
        return 0;
    }
    mt_json_error_t err;
    cJSON *root = mt_json_parse(body.base, body.len, &err);
    if (root == NULL) {
        mt_buf_t ctx_json = {0};
        char offset[32];
        ctx->errors.count = 0; /* malformed JSON is answered alone */
        ctx->errors.out->len = ctx->detail_start;
        ctx->errors.depth = 0;
        mt_verrors_push_key(&ctx->errors, "body", 4);
        snprintf(offset, sizeof(offset), "%zu", err.offset);
        mt_buf_append(&ctx_json, "\"error\":", 8);
        mt_json_encode_string(&ctx_json, err.reason, strlen(err.reason));
        mt_buf_append(&ctx_json, "", 1);
        /* loc is ["body", offset]: an index entry */
        mt_verrors_push_index(&ctx->errors, (long)err.offset);
        mt_verrors_add(&ctx->errors, "json_invalid", "JSON decode error", "{}", ctx_json.data);
        mt_buf_free(&ctx_json);
        return -1;
    }
    begin_loc(ctx, arg);
    if (MT_JSON_IS(root, cJSON_NULL) && arg->optional)
        lua_pushnil(ctx->L);
    else if (mt_validate_json(arg->type, root, &ctx->errors) != 0 || push_value(ctx->L, arg->type, root) != 0)
        lua_pushnil(ctx->L);
    mt_json_delete(root);
    return 0;
}

/* Pushes one plan's arguments (a provider's value stands as nil: the runner puts it in). Returns -1 at a malformed body. */
static int push_plan(args_ctx_t *ctx, const mt_binding_t *plan)
{
    for (size_t i = 0; i != plan->num_args; i++) {
        const mt_binding_arg_t *arg = plan->args + i;
        if (arg->doc == NULL) { /* an argument without ---@param */
            lua_pushnil(ctx->L);
            continue;
        }
        switch (arg->source) {
        case MT_FROM_REQUEST: mt_request_push(ctx->L, ctx->call); break;
        case MT_FROM_PATH: bind_path(ctx, arg); break;
        case MT_FROM_QUERY: bind_query(ctx, arg); break;
        case MT_FROM_HEADER: bind_header(ctx, arg); break;
        case MT_FROM_COOKIE: bind_cookie(ctx, arg); break;
        case MT_FROM_PROVIDER: lua_pushnil(ctx->L); break;
        case MT_FROM_BODY:
            if (bind_body(ctx, arg) != 0)
                return -1;
            break;
        }
    }
    return 0;
}

int mt_arguments_push(mt_call_t *call, lua_State *co, mt_buf_t *detail)
{
    const mt_route_t *route = call->route;
    args_ctx_t ctx; /* not zeroed as a whole: the error locations are 1.5 KB, written before they are read */
    ctx.call = call;
    ctx.L = co;
    ctx.query = NULL;
    ctx.num_query = 0;
    ctx.query_parsed = 0;
    int top = lua_gettop(co), pushed = 0;
    detail->len = 0;
    mt_buf_append(detail, "{\"detail\":[", 11);
    ctx.errors.out = detail;
    ctx.errors.count = 0;
    ctx.errors.depth = 0;
    ctx.errors.input_text = NULL;
    ctx.detail_start = detail->len;
    /* the providers' arguments first, in the order they run, then the handler's: one 422 holds every error */
    for (size_t s = 0; s <= route->num_steps; s++) {
        const mt_binding_t *plan = s < route->num_steps ? route->steps[s].plan : route->binding;
        size_t count = plan != NULL ? plan->num_args : 1;
        if (!lua_checkstack(co, (int)count + 8)) { /* at most 64 arguments each: not expected to fail */
            mt_verrors_add(&ctx.errors, "value_error", "Value error, too many arguments", NULL, NULL);
            goto invalid;
        }
        if (plan == NULL)
            mt_request_push(co, call); /* a provider without ---@param takes the request object */
        else if (push_plan(&ctx, plan) != 0)
            goto invalid;
        pushed += (int)count;
    }
    if (ctx.errors.count == 0) {
        detail->len = 0;
        return pushed;
    }
invalid:
    mt_buf_append(detail, "]}", 2);
    lua_settop(co, top);
    return -1;
}
