/*
 * The request object: a small userdata whose fields are built on first read
 * (query, headers, params, body, json) and cached for the rest of the request.
 * A handler that reads nothing costs one userdata and no table.
 */
#include <arpa/inet.h>
#include <lauxlib.h>
#include <string.h>
#include "json.h"
#include "lua_api.h"
#include "request.h"

#define REQUEST_MT "moontide.Request"

typedef struct st_mt_request_ud_t {
    mt_call_t *call; /* NULL once the request has ended */
} mt_request_ud_t;

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

size_t mt_url_decode(char *s, size_t len, int plus)
{
    size_t out = 0;
    for (size_t i = 0; i < len; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < len && (hi = hex_value(s[i + 1])) >= 0 && (lo = hex_value(s[i + 2])) >= 0) {
            s[out++] = (char)(hi << 4 | lo);
            i += 2;
        } else if (s[i] == '+' && plus) {
            s[out++] = ' ';
        } else {
            s[out++] = s[i];
        }
    }
    return out;
}

int mt_cookie_next(const char **cursor, const char *end, mt_slice_t *name, mt_slice_t *value)
{
    const char *p = *cursor;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == ';'))
            p++;
        const char *semi = memchr(p, ';', (size_t)(end - p));
        if (semi == NULL)
            semi = end;
        const char *eq = memchr(p, '=', (size_t)(semi - p));
        if (eq != NULL) {
            *name = (mt_slice_t){p, (size_t)(eq - p)};
            *value = (mt_slice_t){eq + 1, (size_t)(semi - eq - 1)};
            *cursor = semi;
            return 1;
        }
        p = semi;
    }
    *cursor = end;
    return 0;
}

static mt_call_t *check_call(lua_State *L)
{
    mt_request_ud_t *ud = luaL_checkudata(L, 1, REQUEST_MT);
    if (ud->call == NULL)
        luaL_error(L, "the request object was used after its request ended");
    return ud->call;
}

/* Pushes a decoded copy of raw URL text (h2o memory is not NUL-terminated). */
static void push_decoded(lua_State *L, mt_call_t *call, const char *raw, size_t len, int plus)
{
    char *copy = h2o_mem_alloc_pool(&call->req->pool, len + 1);
    memcpy(copy, raw, len);
    lua_pushlstring(L, copy, mt_url_decode(copy, len, plus));
}

static void push_params(lua_State *L, mt_call_t *call)
{
    lua_createtable(L, 0, (int)call->num_params);
    for (size_t i = 0; i != call->num_params; i++) {
        push_decoded(L, call, call->params[i].base, call->params[i].len, 0);
        lua_setfield(L, -2, call->route->param_names[i]);
    }
}

/* Adds value (on top) under key (below it) to the table at `table`; a repeated key becomes a list. */
static void add_multi(lua_State *L, int table)
{
    lua_pushvalue(L, -2);
    lua_rawget(L, table);
    switch (lua_type(L, -1)) {
    case LUA_TNIL:
        lua_pop(L, 1);
        lua_rawset(L, table);
        return;
    case LUA_TSTRING: /* second value: make a list of both */
        lua_createtable(L, 2, 0);
        lua_insert(L, -2);
        lua_rawseti(L, -2, 1);
        lua_insert(L, -2);
        lua_rawseti(L, -2, 2);
        mt_json_push_array_mt(L);
        lua_setmetatable(L, -2);
        lua_rawset(L, table);
        return;
    default: /* a list already */
        lua_insert(L, -2);
        lua_rawseti(L, -2, (int)lua_objlen(L, -2) + 1);
        lua_pop(L, 2);
    }
}

size_t mt_query_parse(h2o_req_t *req, mt_query_pair_t **pairs)
{
    *pairs = NULL;
    if (req->query_at == SIZE_MAX)
        return 0;
    const char *p = req->path.base + req->query_at + 1, *end = req->path.base + req->path.len;
    size_t cap = 1, n = 0;
    for (const char *c = p; c < end; c++)
        cap += *c == '&';
    *pairs = h2o_mem_alloc_pool(&req->pool, cap * sizeof(mt_query_pair_t));
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        if (amp == NULL)
            amp = end;
        if (amp != p) { /* "key=value", or "key" alone (an empty value) */
            const char *eq = memchr(p, '=', (size_t)(amp - p));
            const char *key_end = eq != NULL ? eq : amp, *value = eq != NULL ? eq + 1 : amp;
            mt_query_pair_t *pair = *pairs + n++;
            pair->key = h2o_mem_alloc_pool(&req->pool, (size_t)(amp - p) + 2);
            memcpy(pair->key, p, (size_t)(key_end - p));
            pair->key_len = mt_url_decode(pair->key, (size_t)(key_end - p), 1);
            pair->value = pair->key + (key_end - p) + 1;
            memcpy(pair->value, value, (size_t)(amp - value));
            pair->value_len = mt_url_decode(pair->value, (size_t)(amp - value), 1);
        }
        p = amp + 1;
    }
    return n;
}

static void push_query(lua_State *L, mt_call_t *call)
{
    mt_query_pair_t *pairs;
    size_t n = mt_query_parse(call->req, &pairs);
    lua_createtable(L, 0, (int)n);
    int table = lua_gettop(L);
    for (size_t i = 0; i != n; i++) {
        lua_pushlstring(L, pairs[i].key, pairs[i].key_len);
        lua_pushlstring(L, pairs[i].value, pairs[i].value_len);
        add_multi(L, table);
    }
}

/* Repeated headers are joined with ", " ("; " for cookie), as RFC 9110 allows. */
static void push_headers(lua_State *L, mt_call_t *call)
{
    mt_call_id(call); /* the ID is one of the request's headers */
    h2o_headers_t *headers = &call->req->headers;
    lua_createtable(L, 0, (int)headers->size);
    for (size_t i = 0; i != headers->size; i++) {
        h2o_header_t *h = headers->entries + i;
        lua_pushlstring(L, h->name->base, h->name->len);
        lua_pushvalue(L, -1);
        lua_rawget(L, -3);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            lua_pushlstring(L, h->value.base, h->value.len);
        } else {
            int is_cookie = h->name->len == 6 && memcmp(h->name->base, "cookie", 6) == 0;
            lua_pushstring(L, is_cookie ? "; " : ", ");
            lua_pushlstring(L, h->value.base, h->value.len);
            lua_concat(L, 3);
        }
        lua_rawset(L, -3);
    }
}

const char *mt_request_client_address(h2o_req_t *req, char *text, size_t size)
{
    struct sockaddr_storage ss;
    socklen_t len = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
    const void *addr = NULL;
    if (len != 0 && ss.ss_family == AF_INET)
        addr = &((struct sockaddr_in *)&ss)->sin_addr;
    else if (len != 0 && ss.ss_family == AF_INET6)
        addr = &((struct sockaddr_in6 *)&ss)->sin6_addr;
    return addr != NULL ? inet_ntop(ss.ss_family, addr, text, (socklen_t)size) : NULL;
}

static void push_client(lua_State *L, mt_call_t *call)
{
    char text[INET6_ADDRSTRLEN];
    const char *address = mt_request_client_address(call->req, text, sizeof(text));
    if (address != NULL)
        lua_pushstring(L, address);
    else
        lua_pushnil(L);
}

/* The body as JSON; malformed JSON raises a 422 with one json_invalid error. */
static void push_json(lua_State *L, mt_call_t *call)
{
    h2o_iovec_t body = call->req->entity;
    mt_json_error_t err;
    if (body.base == NULL || body.len == 0) {
        lua_pushnil(L);
        return;
    }
    if (mt_json_decode(L, body.base, body.len, &err) == 0)
        return;
    /* {"detail":[{"type":"json_invalid","loc":["body",offset],"msg":"JSON decode error","input":{},"ctx":{"error":...}}]} */
    lua_createtable(L, 1, 0);
    lua_createtable(L, 0, 5);
    lua_pushliteral(L, "json_invalid");
    lua_setfield(L, -2, "type");
    lua_createtable(L, 2, 0);
    lua_pushliteral(L, "body");
    lua_rawseti(L, -2, 1);
    lua_pushinteger(L, (lua_Integer)err.offset);
    lua_rawseti(L, -2, 2);
    lua_setfield(L, -2, "loc");
    lua_pushliteral(L, "JSON decode error");
    lua_setfield(L, -2, "msg");
    lua_newtable(L);
    lua_setfield(L, -2, "input");
    lua_createtable(L, 0, 1);
    lua_pushstring(L, err.reason);
    lua_setfield(L, -2, "error");
    lua_setfield(L, -2, "ctx");
    lua_rawseti(L, -2, 1);
    mt_lua_raise_detail(L, 422);
}

typedef void (*field_builder_t)(lua_State *L, mt_call_t *call);

/* Builds a table-valued field once and keeps it in the call's cache. */
static int cached_field(lua_State *L, mt_call_t *call, const char *name, field_builder_t build)
{
    if (call->cache_ref == LUA_NOREF) {
        lua_newtable(L);
        call->cache_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, call->cache_ref);
    lua_getfield(L, -1, name);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        build(L, call);
        lua_pushvalue(L, -1);
        lua_setfield(L, -3, name);
    }
    return 1;
}

static int request_index(lua_State *L)
{
    mt_call_t *call = check_call(L);
    h2o_req_t *req = call->req;
    size_t len;
    const char *key = luaL_checklstring(L, 2, &len);
    switch (len) {
    case 2:
        if (memcmp(key, "id", 2) == 0) {
            h2o_iovec_t id = mt_call_id(call);
            lua_pushlstring(L, id.base, id.len);
            return 1;
        }
        break;
    case 4:
        if (memcmp(key, "path", 4) == 0) {
            lua_pushlstring(L, req->path.base, req->query_at != SIZE_MAX ? req->query_at : req->path.len);
            return 1;
        }
        if (memcmp(key, "body", 4) == 0) {
            lua_pushlstring(L, req->entity.base != NULL ? req->entity.base : "", req->entity.len);
            return 1;
        }
        if (memcmp(key, "json", 4) == 0)
            return cached_field(L, call, "json", push_json);
        break;
    case 5:
        if (memcmp(key, "query", 5) == 0)
            return cached_field(L, call, "query", push_query);
        break;
    case 6:
        if (memcmp(key, "method", 6) == 0) {
            lua_pushlstring(L, req->method.base, req->method.len);
            return 1;
        }
        if (memcmp(key, "params", 6) == 0)
            return cached_field(L, call, "params", push_params);
        if (memcmp(key, "client", 6) == 0) {
            push_client(L, call);
            return 1;
        }
        break;
    case 7:
        if (memcmp(key, "headers", 7) == 0)
            return cached_field(L, call, "headers", push_headers);
        break;
    case 12:
        if (memcmp(key, "http_version", 12) == 0) {
            if (req->version >= 0x200)
                lua_pushliteral(L, "2");
            else if (req->version == 0x101)
                lua_pushliteral(L, "1.1");
            else
                lua_pushliteral(L, "1.0");
            return 1;
        }
        break;
    }
    return luaL_error(L, "request has no field '%s' (fields: id, method, path, params, query, headers, body, json, client, "
                         "http_version)", key);
}

static int request_newindex(lua_State *L)
{
    return luaL_error(L, "the request object is read-only");
}

static int request_tostring(lua_State *L)
{
    mt_request_ud_t *ud = luaL_checkudata(L, 1, REQUEST_MT);
    if (ud->call == NULL) {
        lua_pushliteral(L, "moontide.Request (ended)");
        return 1;
    }
    h2o_req_t *req = ud->call->req;
    lua_pushliteral(L, "moontide.Request (");
    lua_pushlstring(L, req->method.base, req->method.len);
    lua_pushliteral(L, " ");
    lua_pushlstring(L, req->path.base, req->path.len);
    lua_pushliteral(L, ")");
    lua_concat(L, 5);
    return 1;
}

void mt_request_open(mt_app_t *app)
{
    lua_State *L = app->L;
    static const luaL_Reg methods[] = {
        {"__index", request_index},
        {"__newindex", request_newindex},
        {"__tostring", request_tostring},
        {NULL, NULL},
    };
    luaL_newmetatable(L, REQUEST_MT);
    luaL_register(L, NULL, methods);
    lua_pushliteral(L, REQUEST_MT);
    lua_setfield(L, -2, "__name");
    app->request_mt_ref = luaL_ref(L, LUA_REGISTRYINDEX); /* the registry still names it, for luaL_checkudata */
    lua_newtable(L);
    app->request_anchors_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

/* The object is anchored (anchors[co_ref]) until mt_request_release, which
 * writes into it: Lua may drop it long before the request is over. co_ref
 * names the call's coroutine, so it is unique among calls in flight. */
void mt_request_push(lua_State *L, mt_call_t *call)
{
    mt_app_t *app = call->app;
    lua_rawgeti(L, LUA_REGISTRYINDEX, app->request_anchors_ref);
    if (call->ud != NULL) {
        lua_rawgeti(L, -1, call->co_ref);
        lua_remove(L, -2);
        return;
    }
    mt_request_ud_t *ud = lua_newuserdata(L, sizeof(*ud));
    ud->call = call;
    lua_rawgeti(L, LUA_REGISTRYINDEX, app->request_mt_ref);
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_rawseti(L, -3, call->co_ref);
    lua_remove(L, -2);
    call->ud = ud;
}

void mt_request_release(mt_call_t *call)
{
    mt_app_t *app = call->app;
    lua_State *L = app->L;
    if (call->ud != NULL) {
        call->ud->call = NULL;
        call->ud = NULL;
        lua_rawgeti(L, LUA_REGISTRYINDEX, app->request_anchors_ref);
        lua_pushnil(L);
        lua_rawseti(L, -2, call->co_ref);
        lua_pop(L, 1);
    }
    if (call->cache_ref != LUA_NOREF) /* most handlers never read a request field */
        luaL_unref(L, LUA_REGISTRYINDEX, call->cache_ref);
    if (call->co_finished && call->co != NULL && app->num_idle_threads < MT_APP_MAX_IDLE_THREADS) {
        /* a coroutine whose function returned (or never ran) is like a new one: keep it for the next request */
        lua_settop(call->co, 0);
        app->idle_threads[app->num_idle_threads++] = (struct st_mt_idle_thread_t){call->co, call->co_ref};
    } else {
        luaL_unref(L, LUA_REGISTRYINDEX, call->co_ref);
    }
    call->cache_ref = call->co_ref = LUA_NOREF;
    call->co = NULL;
}
