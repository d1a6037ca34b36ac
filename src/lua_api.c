/*
 * moontide.core: the functions the framework's Lua library calls. Errors
 * raised by handlers (moontide.raise) and raw responses (moontide.response)
 * are tables with a metatable kept in the registry, so the C side that turns
 * a handler's outcome into HTTP can recognise them without calling Lua.
 */
#include <lauxlib.h>
#include <stdio.h>
#include "async.h"
#include "handler.h"
#include "json.h"
#include "lua_api.h"
#include "providers.h"
#include "response.h"
#include "shared.h"
#include "stream.h"

int mt_lua_has_mt(lua_State *L, int index, const char *registry_key)
{
    if (!lua_getmetatable(L, index)) /* most values: a table without one (a string's is never ours) */
        return 0;
    lua_getfield(L, LUA_REGISTRYINDEX, registry_key);
    int same = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return same;
}

static int check_status(lua_State *L, int index, const char *fname)
{
    if (lua_type(L, index) != LUA_TNUMBER)
        return luaL_error(L, "%s: status must be an integer from 100 to 599, got %s", fname, luaL_typename(L, index));
    lua_Number n = lua_tonumber(L, index);
    if (n != (int)n || n < 100 || n > 599)
        return luaL_error(L, "%s: status must be an integer from 100 to 599, got %f", fname, n);
    return (int)n;
}

static void check_headers(lua_State *L, int index, const char *fname)
{
    if (!lua_isnoneornil(L, index) && !lua_istable(L, index))
        luaL_error(L, "%s: headers must be a table of name = value, got %s", fname, luaL_typename(L, index));
}

int mt_lua_raise_detail(lua_State *L, int status)
{
    lua_createtable(L, 0, 3);
    lua_insert(L, -2);
    lua_setfield(L, -2, "detail");
    lua_pushinteger(L, status);
    lua_setfield(L, -2, "status");
    lua_getfield(L, LUA_REGISTRYINDEX, MT_HTTP_ERROR_MT);
    lua_setmetatable(L, -2);
    return lua_error(L);
}

int mt_lua_traceback(lua_State *L)
{
    luaL_traceback(L, L, lua_isstring(L, 1) ? lua_tostring(L, 1) : "(error object is not a string)", 1);
    return 1;
}

/* raise(status, detail[, headers]) */
static int core_raise(lua_State *L)
{
    int status = check_status(L, 1, "moontide.raise");
    check_headers(L, 3, "moontide.raise");
    lua_settop(L, 3);
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, status);
    lua_setfield(L, -2, "status");
    lua_pushvalue(L, 2);
    lua_setfield(L, -2, "detail");
    lua_pushvalue(L, 3);
    lua_setfield(L, -2, "headers");
    lua_getfield(L, LUA_REGISTRYINDEX, MT_HTTP_ERROR_MT);
    lua_setmetatable(L, -2);
    return lua_error(L);
}

/* response{status=, headers=, body=} */
static int core_response(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_createtable(L, 0, 3);
    lua_getfield(L, 1, "status");
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushinteger(L, 200);
    } else {
        check_status(L, -1, "moontide.response");
    }
    lua_setfield(L, -2, "status");
    lua_getfield(L, 1, "headers");
    check_headers(L, -1, "moontide.response");
    lua_setfield(L, -2, "headers");
    lua_getfield(L, 1, "body");
    lua_setfield(L, -2, "body");
    lua_getfield(L, LUA_REGISTRYINDEX, MT_RESPONSE_MT);
    lua_setmetatable(L, -2);
    return 1;
}

/* array([t]): marks t (or a new table) as a JSON array */
static int core_array(lua_State *L)
{
    if (lua_isnoneornil(L, 1)) {
        lua_settop(L, 0);
        lua_newtable(L);
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    mt_json_push_array_mt(L);
    lua_setmetatable(L, 1);
    return 1;
}

static int core_json_encode(lua_State *L)
{
    luaL_checkany(L, 1);
    mt_buf_t buf = {0};
    const char *err;
    if (mt_json_encode(L, 1, &buf, &err) != 0) {
        mt_buf_free(&buf);
        return luaL_error(L, "moontide.json.encode: %s", err);
    }
    lua_pushlstring(L, buf.data, buf.len);
    mt_buf_free(&buf);
    return 1;
}

/* json.decode(text) -> value, or nil and a message with the byte offset */
static int core_json_decode(lua_State *L)
{
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    mt_json_error_t err;
    if (mt_json_decode(L, text, len, &err) != 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "%s (at byte %d)", err.reason, (int)err.offset);
        return 2;
    }
    return 1;
}

/*
 * add_headers{name = value}: headers for the response of the running request,
 * whatever the handler then returns or raises (a provider's RateLimit-*
 * headers, say). Checked as a handler's headers are; content-type is the
 * handler's to choose.
 */
static int core_add_headers(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    mt_call_t *call = mt_call_current(L);
    if (call == NULL || call->stream != NULL)
        return luaL_error(L, "moontide.add_headers: call it from a handler or a provider, before the response starts");
    h2o_req_t *req = call->req;
    size_t before = req->res.headers.size;
    int has_content_type = 0;
    char err[256];
    if (mt_response_collect_headers(req, L, 1, &req->res.headers, &has_content_type, err, sizeof(err)) != 0 ||
        (has_content_type && snprintf(err, sizeof(err), "content-type is set by what the handler returns") > 0)) {
        req->res.headers.size = before;
        return luaL_error(L, "moontide.add_headers: %s", err);
    }
    return 0;
}

static const luaL_Reg core_functions[] = {
    {"add_headers", core_add_headers},
    {"raise", core_raise},
    {"response", core_response},
    {"array", core_array},
    {"json_encode", core_json_encode},
    {"json_decode", core_json_decode},
    {NULL, NULL},
};

static int luaopen_moontide_core(lua_State *L)
{
    lua_newtable(L);
    luaL_register(L, NULL, core_functions);
    lua_pushlightuserdata(L, NULL);
    lua_setfield(L, -2, "null");
    lua_pushliteral(L, MT_VERSION);
    lua_setfield(L, -2, "version");
    mt_async_register(L);
    mt_stream_register(L);
    mt_shared_register(L);
    return 1;
}

static void new_named_mt(lua_State *L, const char *name)
{
    lua_newtable(L);
    lua_pushstring(L, name);
    lua_setfield(L, -2, "__name");
    lua_setfield(L, LUA_REGISTRYINDEX, name);
}

void mt_lua_api_open(lua_State *L)
{
    mt_json_init(L);
    mt_providers_open(L);
    new_named_mt(L, MT_HTTP_ERROR_MT);
    new_named_mt(L, MT_RESPONSE_MT);
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "preload");
    lua_pushcfunction(L, luaopen_moontide_core);
    lua_setfield(L, -2, "moontide.core");
    lua_pop(L, 2);
}
